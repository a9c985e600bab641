"""Planning writes: one keyed outbox row per intended write, upserted in the caller's transaction, and
the settling of rows that turn out unneeded or already done (design §Plan).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sync.loaders.rows import chunks
from sync.models import OutboxItem
from sync.outbox.protocol import mock_id, row_planned

__all__ = ["hold_again", "plan", "plan_write", "settle_found", "settle_unneeded"]

State = OutboxItem.State


def _announce() -> None:
    row_planned.send(sender=OutboxItem)


def plan(
    key: str,
    kind: str,
    payload: dict,
    *,
    run_id: int | None,
    dry_run: bool,
    context: dict | None = None,
    hold_reason: str = "",
) -> tuple[OutboxItem, str]:
    """Upsert the row for one intended write; returns (row, outcome).

    outcome: "planned", "held", "dry_run", or "settled" when the row was already sent, dead, ignored or
    mid-send (those are never re-planned; staff retry dead ones). A dry run only creates or refreshes
    dry-run rows and leaves rows of real runs alone. Call inside the transaction of the warehouse state
    the write comes from.
    """
    now = timezone.now()
    context = context or {}
    row = OutboxItem.objects.select_for_update().filter(key=key).first()
    if row is not None and (row.state in OutboxItem.SETTLED or row.review):
        return row, "settled"
    if dry_run:
        if row is not None and row.state != State.DRY_RUN:
            return row, "settled"  # a real run planned it: a dry run does not touch it
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.DRY_RUN,
            "hold_reason": hold_reason,
            "result": {} if hold_reason else {"id": mock_id(key)},
            "run_id": run_id,
            "updated_at": now,
        }
        outcome = "held" if hold_reason else "dry_run"
    elif hold_reason:
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.HELD,
            "hold_reason": hold_reason,
            "run_id": run_id,
            "updated_at": now,
            "result": {},
        }
        outcome = "held"
    else:
        keep_failed = row is not None and row.state == State.FAILED
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.FAILED if keep_failed else State.PLANNED,
            "hold_reason": "",
            "run_id": run_id,
            "updated_at": now,
            "result": {},
        }
        if row is not None and row.state == State.DRY_RUN:
            values["attempts"] = 0
        outcome = "planned"
    if row is None:
        row = OutboxItem.objects.create(key=key, **values)
    else:
        changed = [k for k, v in values.items() if getattr(row, k) != v and k != "updated_at"]
        if changed:
            for k, v in values.items():
                setattr(row, k, v)
            row.save(update_fields=list(values))
    if outcome == "planned":
        transaction.on_commit(_announce)
    return row, outcome


def settle_unneeded(key: str, reason: str) -> int:
    """A planned or held write turned out unnecessary (e.g. the record was matched): ignore it."""
    return OutboxItem.objects.filter(key=key, state__in=[State.PLANNED, State.HELD, State.FAILED]).update(
        state=State.IGNORED, hold_reason=reason, updated_at=timezone.now()
    )


def settle_found(key: str, result: dict) -> int:
    """An earlier, interrupted write of ours turned out to have happened (found by a read): sent."""
    now = timezone.now()
    return (
        OutboxItem.objects.filter(key=key, ambiguous=True)
        .exclude(state=State.SENT)
        .update(
            state=State.SENT,
            ambiguous=False,
            result={**result, "recovered": True},
            sent_at=now,
            updated_at=now,
            hold_reason="",
            next_attempt_at=None,
        )
    )


def hold_again(ctx, kind: str, rows: list[tuple[str, dict, dict, str]]) -> list[tuple[str, dict, dict, str]]:
    """Rows a step holds on every run until staff or the data change something: (key, payload, context,
    hold reason). Those whose row already holds exactly that (held, not in review, nothing sent) become
    this run's held rows in one UPDATE, as ``plan`` would leave them; the rest are returned, for ``plan``
    one by one. A dry run returns them all."""
    if ctx.dry_run or not rows:
        return rows
    wanted = {key: (payload, context, reason) for key, payload, context, reason in rows}
    same: list[str] = []
    for part in chunks(wanted, 500):  # well under SQLite's variable limit
        found = OutboxItem.objects.filter(key__in=part, kind=kind, state=State.HELD, review=False).values(
            "key", "payload", "context", "hold_reason", "result"
        )
        same += [
            r["key"]
            for r in found
            if not r["result"] and (r["payload"], r["context"], r["hold_reason"]) == wanted[r["key"]]
        ]
    now = timezone.now()
    for part in chunks(same, 500):
        OutboxItem.objects.filter(key__in=part, state=State.HELD).update(run_id=ctx.run_id, updated_at=now)
    if same:
        ctx.count("held", len(same))
    done = set(same)
    return [row for row in rows if row[0] not in done]


def plan_write(
    ctx, key: str, kind: str, payload: dict, *, context: dict | None = None, hold_reason: str = ""
) -> tuple[OutboxItem, str]:
    """``plan`` for a step (its run, its dry-run flag), counting the outcome on the step. Once the run's
    budget has run out no row is planned (OutOfBudget): the continuation plans the rest, by the same keys."""
    budget = getattr(ctx, "budget", None)
    if budget is not None:
        budget.check()
    row, outcome = plan(
        key, kind, payload, run_id=ctx.run_id, dry_run=ctx.dry_run, context=context, hold_reason=hold_reason
    )
    ctx.count({"planned": "planned", "held": "held", "dry_run": "planned"}.get(outcome, "already_planned"))
    return row, outcome
