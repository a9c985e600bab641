"""A running step's progress: recorded on its StepRun at most once a second (``StepProgress``), and read
back as planned, sent and remaining per step with an ETA from each system's rate limit (``run_progress``),
for the run page, its JSON status URL and ``manage.py sync``."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from sync.clients.servicefusion.pacing import DOCUMENTED_LIMIT, DOCUMENTED_WINDOW
from sync.clients.stats import request_count
from sync.models import OutboxItem, StepRun, SyncRun

__all__ = ["STEP_KINDS", "StepProgress", "format_progress", "run_progress", "step_view"]

logger = logging.getLogger("sync")

Kind = OutboxItem.Kind
State = OutboxItem.State
#: the outbox kinds each push step plans and sends, and the system each kind is written to
STEP_KINDS: dict[str, tuple[str, ...]] = {
    "pushPortfoliosToSF": (Kind.PORTFOLIO_CUSTOMER, Kind.BUILDING_CUSTOMER),
    "pushLeaseTenantsToSF": (Kind.TENANT_CUSTOMER,),
    "pushWorkOrdersToSF": (Kind.JOB, Kind.PW_JOB_LINK),
    "pushJobUpdatesToPW": (Kind.PW_STATUS,),
}
KIND_SYSTEM = {Kind.PW_JOB_LINK: "pw", Kind.PW_STATUS: "pw"}  # every other kind is written to SF
#: rows still to be attempted in this run (a failed row waits for its retry)
REMAINING = (State.PLANNED, State.SENDING, State.FAILED)
SYSTEM_NAMES = {"sf": "ServiceFusion", "pw": "PropertyWare"}
FINISHED = (StepRun.Status.SUCCEEDED, StepRun.Status.FAILED, StepRun.Status.SKIPPED)


class StepProgress:
    """Writes one step's progress to its StepRun, from any thread, at most every ``interval`` seconds.

    ``tick()`` is called on every API call, listed record and count, so it returns at once unless a
    write is due. Inside a transaction it waits for the next tick: a write there would hold the step's
    row until the commit. A failure to record progress is logged, never the step's.
    """

    interval = 1.0

    def __init__(self, ctx: Any, on_write=None) -> None:
        self.ctx = ctx
        self.on_write = on_write
        self._lock = threading.Lock()
        self._last = time.monotonic()  # the step's start was just recorded

    def tick(self) -> None:
        if time.monotonic() - self._last < self.interval or connection.in_atomic_block:
            return
        if getattr(self.ctx.step_run, "pk", None) is None:
            return  # a step run outside a recorded run (tests that drive the outbox directly)
        if not self._lock.acquire(blocking=False):
            return  # another thread is writing this very moment
        try:
            self._last = time.monotonic()
            snapshot = self.snapshot()
            StepRun.objects.filter(pk=self.ctx.step_run.pk).update(progress=snapshot)
        except Exception:  # noqa: BLE001 - progress is a display, the step goes on without it
            logger.debug("progress of %s not recorded", self.ctx.name, exc_info=True)
            return
        finally:
            self._lock.release()
        if self.on_write is not None:
            self.on_write({"event": "step_progress", "step": self.ctx.name, "progress": snapshot,
                           "started_at": self.ctx.step_run.started_at})

    def snapshot(self) -> dict[str, Any]:
        """What the step has done so far: requests and records per system, the outbox rows of its kinds
        that this run planned (by system and state), its counts, and each system's rate (per second)."""
        ctx = self.ctx
        requests: dict[str, int] = {}
        read = 0
        rates: dict[str, float] = {}
        for system, meter in list(ctx.meters.items()):
            read += meter.items
            stats = _client_stats(ctx, system)
            requests[system] = request_count(stats) if stats is not None else meter.snapshot()["calls"]
            rate = _rate_per_second(system, stats)
            if rate:
                rates[system] = rate
        out: dict[str, Any] = {"at": timezone.now().isoformat(), "requests": requests, "read": read,
                               "counts": dict(ctx.counts), "rate": rates}
        kinds = STEP_KINDS.get(ctx.name)
        if kinds and ctx.run_id is not None:
            out["outbox"] = outbox_tally(ctx.run_id, kinds)
        return out


def outbox_tally(run_id: int, kinds) -> dict[str, dict[str, int]]:
    """``{system: {state: rows}}`` over the rows of ``kinds`` this run planned or claimed."""
    tally: dict[str, dict[str, int]] = {}
    rows = OutboxItem.objects.filter(run_id=run_id, kind__in=list(kinds))
    for row in rows.values("kind", "state").annotate(n=Count("id")).order_by():
        by_state = tally.setdefault(KIND_SYSTEM.get(row["kind"], "sf"), {})
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["n"]
    return tally


def _client_stats(ctx, system: str) -> dict | None:
    wrapped = getattr(ctx, "_clients", {}).get(system)
    stats = getattr(getattr(wrapped, "client", None), "stats", None)
    return stats if isinstance(stats, dict) else None


def _rate_per_second(system: str, stats: dict | None) -> float | None:
    """The most requests per second ``system`` allows this process: ServiceFusion's advertised allowance
    (60/min until a response shows one) under SF_RATE_LIMIT_CAP; PropertyWare's PW_MAX_RPS (0: no cap,
    None)."""
    if system == "sf":
        stats = stats or {}
        # The refill rate the headers show (X-Rate-Limit-Limit over the time to a full allowance), else
        # the advertised allowance over SF's documented minute.
        per_second = float(stats.get("refill_per_second") or 0) or (
            float(stats.get("rate_limit") or DOCUMENTED_LIMIT) / DOCUMENTED_WINDOW
        )
        cap = float(stats.get("rate_cap") or settings.SERVICEFUSION.get("RATE_LIMIT_CAP") or 0)
        return min(per_second, cap / 60.0) if cap else per_second
    if system == "pw":
        return float(settings.PROPERTYWARE.get("MAX_RPS") or 0) or None
    return None


# --- reading it back ---------------------------------------------------------------------------------------


def step_view(name: str, status: str, progress: dict | None, started_at=None, now=None) -> dict[str, Any]:
    """One step's planned, sent, held, failed, ignored, remaining rows (push steps; None for reads), its
    records read and requests, and the seconds its remaining requests need at each system's rate."""
    p = progress or {}
    now = now or timezone.now()
    requests = {k: int(v) for k, v in (p.get("requests") or {}).items()}
    view: dict[str, Any] = {"name": name, "status": status, "read": int(p.get("read") or 0),
                            "requests": requests, "updated_at": p.get("at")}
    tally = p.get("outbox")
    if tally is None and name not in STEP_KINDS:
        view.update(planned=None, sent=None, held=None, failed=None, ignored=None, dry_run=None,
                    remaining=None, to_plan=None)
        view["remaining_requests"], view["eta_seconds"] = {}, (0.0 if status in FINISHED else None)
        return view
    tally = tally or {}
    totals: dict[str, int] = {}
    remaining_by: dict[str, int] = {}
    settled_by: dict[str, int] = {}
    for system, states in tally.items():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
        remaining_by[system] = sum(n for s, n in states.items() if s in REMAINING)
        settled_by[system] = sum(n for s, n in states.items() if s not in REMAINING)
    planned = sum(totals.values())
    remaining = sum(remaining_by.values())
    # While it runs, candidates the step counted but has not planned yet are work still to come.
    candidates = int((p.get("counts") or {}).get("candidates") or 0)
    to_plan = max(0, candidates - planned) if status == StepRun.Status.RUNNING else 0
    view.update(
        planned=planned,
        sent=totals.get(State.SENT, 0),
        held=totals.get(State.HELD, 0),
        failed=totals.get(State.DEAD, 0),
        ignored=totals.get(State.IGNORED, 0),
        dry_run=totals.get(State.DRY_RUN, 0),
        remaining=remaining,
        to_plan=to_plan,
    )
    if status in FINISHED:
        view["remaining_requests"], view["eta_seconds"] = {}, 0.0
        return view
    if status != StepRun.Status.RUNNING:
        view["remaining_requests"], view["eta_seconds"] = {}, None
        return view
    # Requests still to make per system: rows left (and still to plan, as SF rows) times the requests
    # each settled row of that system has taken so far (1 before any has settled).
    left: dict[str, float] = {}
    for system in set(remaining_by) | set(requests) | ({"sf"} if to_plan else set()):
        rows = remaining_by.get(system, 0) + (to_plan if system == "sf" else 0)
        settled = settled_by.get(system, 0)
        per_row = requests.get(system, 0) / settled if settled and requests.get(system) else 1.0
        if rows:
            left[system] = round(rows * per_row, 1)
    view["remaining_requests"] = left
    view["eta_seconds"] = _seconds(left, p.get("rate") or {}, requests, started_at, now)
    return view


def _seconds(left: dict[str, float], rates: dict, requests: dict, started_at, now) -> float | None:
    """The longest any system needs for its requests left at its rate limit (systems work in parallel);
    a system with no cap (PW_MAX_RPS=0) goes at the rate it has kept so far in this step."""
    worst = 0.0
    for system, n in left.items():
        rate = rates.get(system)
        if not rate and started_at and requests.get(system):
            elapsed = (now - started_at).total_seconds()
            rate = requests[system] / elapsed if elapsed > 0 else None
        if not rate:
            return None
        worst = max(worst, n / float(rate))
    return round(worst, 1)


def run_progress(run: SyncRun) -> dict[str, Any]:
    """A run's progress as a JSON-ready dict: per step planned, sent, remaining and its ETA, and the run's
    ETA (the slowest system's remaining requests at its rate limit, over the steps under way). Steps not
    started yet are not in the ETA (their work is not known): ``eta_complete`` says whether any is left."""
    now = timezone.now()
    rows = list(run.steps.order_by("position", "id"))
    steps = [step_view(s.name, s.status, s.progress, s.started_at, now) for s in rows]
    running = run.status == SyncRun.Status.RUNNING
    rates: dict[str, float] = {}
    for s in rows:  # the latest step's view of each system's rate wins
        rates.update((s.progress or {}).get("rate") or {})
    left: dict[str, float] = {}
    unknown = False
    for view in steps:
        if view["status"] == StepRun.Status.RUNNING:
            if view["eta_seconds"] is None:
                unknown = True
            for system, n in view["remaining_requests"].items():
                left[system] = left.get(system, 0.0) + n
    eta = None
    if running:
        eta = _seconds(left, rates, {}, None, now) if not unknown else None
    pending = any(v["status"] == StepRun.Status.PENDING for v in steps)
    updated = max((v["updated_at"] for v in steps if v["updated_at"]), default=None)
    return {
        "run_id": run.pk,
        "status": run.status,
        "running": running,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "updated_at": updated,
        "eta_seconds": eta if running else 0.0,
        "eta_at": (now + timedelta(seconds=eta)).isoformat() if running and eta is not None else None,
        "eta_complete": running and not pending and not unknown,
        "remaining_requests": {k: round(v, 1) for k, v in left.items()},
        "rates_per_minute": {k: round(v * 60, 1) for k, v in rates.items()},
        "steps": steps,
    }


# --- text ---------------------------------------------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_progress(view: dict[str, Any], rates: dict | None = None) -> str:
    """One line for a step under way: ``planned 120, sent 40, held 1, failed 0, remaining 79; ServiceFusion
    81 requests left at 60/min; ETA 1 min 21 s`` (a read: records read and requests so far)."""
    parts = []
    if view.get("planned") is None:
        parts.append(f"read {view['read']}")
    else:
        parts.append(
            f"planned {view['planned']}, sent {view['sent']}, held {view['held']}, failed {view['failed']}, "
            f"remaining {view['remaining']}"
            + (f" (+{view['to_plan']} to plan)" if view.get("to_plan") else "")
        )
    calls = ", ".join(f"{SYSTEM_NAMES.get(k, k)} {v}" for k, v in sorted(view["requests"].items()))
    if calls:
        parts.append(f"requests {calls}")
    for system, n in sorted((view.get("remaining_requests") or {}).items()):
        rate = (rates or {}).get(system)
        at = f" at {rate * 60:g}/min" if rate else ""
        parts.append(f"{SYSTEM_NAMES.get(system, system)} {n:g} requests left{at}")
    if view["status"] == StepRun.Status.RUNNING:
        parts.append(f"ETA {duration_text(view.get('eta_seconds'))}")
    return f"{view['name']}: " + "; ".join(parts)
