"""What a run did, as a dict (the ``sync --json`` output and the demo's report) and as text lines."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count, Q

from sync.models import OutboxItem, SyncRun

__all__ = ["format_summary", "summarize"]

CREATES = {
    OutboxItem.Kind.PORTFOLIO_CUSTOMER: "customers",
    OutboxItem.Kind.BUILDING_CUSTOMER: "customers",
    OutboxItem.Kind.TENANT_CUSTOMER: "customers",
    OutboxItem.Kind.JOB: "jobs",
}
PW_WRITES = {OutboxItem.Kind.PW_JOB_LINK: "job_links", OutboxItem.Kind.PW_STATUS: "status_updates"}


def summarize(run: SyncRun, *, report_limit: int = 50) -> dict[str, Any]:
    """Counts, created/linked/held/failed, API calls and seconds per system, and (dry run) the writes it
    would have made."""
    steps = list(run.steps.all())
    ran = [s for s in steps if s.flags]
    rows = OutboxItem.objects.filter(run=run)
    by_state: dict[str, Counter] = defaultdict(Counter)
    for kind, state, held, n in _grouped(rows):
        # A dry run holds rows too: they stay dry-run rows but count as held.
        by_state[OutboxItem.State.HELD if held and state == OutboxItem.State.DRY_RUN else state][kind] += n
    created: Counter = Counter()
    for kind, n in by_state[OutboxItem.State.SENT].items():
        if kind in CREATES:
            created[CREATES[kind]] += n
    pw_writes = Counter(
        {PW_WRITES[k]: n for k, n in by_state[OutboxItem.State.SENT].items() if k in PW_WRITES}
    )
    linked = sum(int((s.counts or {}).get("linked", 0)) for s in steps)
    out: dict[str, Any] = {
        "run_id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        # Each step ran with the flag as it read it; the run was a dry run if every step that ran was.
        "dry_run": all(s.flags.get("DRY_RUN") for s in ran) if ran else run.dry_run,
        "full": run.full,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": round(run.duration.total_seconds(), 3) if run.duration else None,
        "created": dict(created),
        "pw_updates": dict(pw_writes),
        "linked": linked,
        "held": dict(by_state[OutboxItem.State.HELD]),
        "failed": dict(by_state[OutboxItem.State.DEAD] + by_state[OutboxItem.State.FAILED]),
        "planned_dry_run": dict(by_state[OutboxItem.State.DRY_RUN]),
        "api": {
            system: {
                "calls": d.get("calls", 0),
                "requests": d.get("requests", 0),
                "errors": d.get("errors", 0),
                "seconds": d.get("seconds", 0.0),
            }
            for system, d in (run.api_calls or {}).items()
        },
        "errors": run.errors.count(),
        "steps": [
            {
                "name": s.name,
                "status": s.status,
                "message": s.message,
                "seconds": round((s.finished_at - s.started_at).total_seconds(), 3)
                if s.started_at and s.finished_at
                else None,
                "counts": s.counts,
                "dry_run": (s.flags or {}).get("DRY_RUN"),
            }
            for s in steps
        ],
        "error_summary": run.error_summary,
    }
    dry = rows.filter(state=OutboxItem.State.DRY_RUN).order_by("id")
    if dry.exists():
        out["dry_run_report"] = [
            {"key": r.key, "kind": r.kind, "id": (r.result or {}).get("id"), "hold_reason": r.hold_reason}
            for r in dry[:report_limit]
        ]
        out["dry_run_report_total"] = dry.count()
    return out


def _grouped(rows):
    held = Q(hold_reason="") | Q(hold_reason__isnull=True)
    for row in rows.annotate(held=~held).values("kind", "state", "held").annotate(n=Count("id")):
        yield row["kind"], row["state"], row["held"], row["n"]


def format_summary(data: dict[str, Any]) -> list[str]:
    """Human-readable lines for the command and the demo."""
    lines = [
        f"Run {data['run_id']}: {data['status']}"
        + (" (dry run)" if data.get("dry_run") else "")
        + (" (full)" if data.get("full") else "")
        + (f" in {data['seconds']:.1f}s" if data.get("seconds") is not None else "")
    ]
    for step in data["steps"]:
        secs = f"{step['seconds']:.1f}s" if step["seconds"] is not None else "-"
        lines.append(f"  {step['name']:<22} {step['status']:<9} {secs:>8}  {step['message'][:150]}")

    def fmt(d):
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"

    lines.append(
        f"  created: {fmt(data['created'])}; PW updates: {fmt(data['pw_updates'])}; linked: {data['linked']}"
    )
    lines.append(
        f"  held: {fmt(data['held'])}; failed: {fmt(data['failed'])}; errors logged: {data['errors']}"
    )
    if data.get("planned_dry_run"):
        lines.append(f"  dry run, would write: {fmt(data['planned_dry_run'])}")
    for system, api in sorted(data["api"].items()):
        name = {"pw": "PropertyWare", "sf": "ServiceFusion"}.get(system, system)
        lines.append(
            f"  {name}: {api['calls']} calls ({api['requests']} HTTP requests), {api['errors']} errors, "
            f"{api['seconds']:.1f}s in calls"
        )
    if data.get("error_summary"):
        lines.append(f"  failed steps: {data['error_summary']}")
    return lines
