"""pushJobUpdatesToPW: SF wins on job status (R28, R29). For each SF job linked to a PW work order whose
status differs, the SF status (through the staff-edited status mapping) is written into PW by
read-modify-write; a closed SF status also sets completedDate and, with PW_CLOSE_ON_SF_CLOSED, closes the
work order. Conflicts (PW closed while SF open, PW work order missing, "already closed") are held for
review and never retried. Rows: ``pw:status:WO-<id>:<SF status>``. Runs whatever ENABLE_SERVICE_FUSION says.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync.errors import AlreadyClosed, IntegrationError, NotFound
from sync.fact_edits import current_work_order, work_order_record
from sync.loading import chunks, current_rows, text
from sync.models import OutboxItem
from sync.outbox import Conflict, Ignore, Sender, WriteHandler, plan_write
from sync.status import is_open, load_status_map, normalise_status, status_update_for
from warehouse.models import FactJob, FactWorkOrder
from warehouse.scd import merge

PW_STATUS = OutboxItem.Kind.PW_STATUS


def status_key(work_order_id: int, sf_status: str) -> str:
    return f"pw:status:WO-{work_order_id}:{text(sf_status)}"


class _Prefetched(NamedTuple):
    """What ``send`` reads of a prefetched work order: its status (a record carries its whole PW DTO,
    thousands held until their rows are sent)."""

    status: str


class PwStatusHandler(WriteHandler):
    kind = PW_STATUS
    system = "pw"

    def __init__(self) -> None:
        self.fresh: dict[int, object] = {}

    def prefetch(self, ctx) -> None:
        """Read the work orders about to be updated, 50 per call, instead of one call each."""
        ids = list(
            OutboxItem.objects.due().filter(kind=PW_STATUS).values_list("context__work_order_id", flat=True)
        )
        for part in chunks(sorted({int(i) for i in ids if i}), 50):
            try:
                found = {int(wo.id): _Prefetched(wo.status) for wo in ctx.pw.iter_work_orders(ids=part)}
            except IntegrationError as exc:  # each row then reads its own work order
                ctx.error(
                    "pushJobUpdatesToPW.prefetch",
                    exc,
                    recovery="read one by one",
                    system="pw",
                    with_stack=False,
                )
                continue
            self.fresh.update({wo_id: found.get(wo_id) for wo_id in part})

    def validate(self, ctx, payload, context) -> str:
        return "" if (payload.get("status") or "").strip() else "status is empty"

    def send(self, ctx, row):
        wo_id, target = row.context["work_order_id"], row.payload["status"]
        # Read first (prefetched moments ago): the update echoes every other field (R29).
        fresh = self.fresh.pop(wo_id) if wo_id in self.fresh else ctx.pw.get_work_order(wo_id)
        if fresh is None:
            raise Conflict(f"conflict: PW work order {wo_id} is missing")
        needs_update = normalise_status(fresh.status) != normalise_status(target)
        # A retry after the update went through but the close did not still closes.
        needs_close = bool(row.payload.get("close")) and normalise_status(fresh.status) != "closed"
        if not needs_update and not needs_close:
            raise Ignore(f"PW already has status {fresh.status}", {"id": wo_id, "status": fresh.status})
        warehouse = (
            FactWorkOrder.objects.filter(is_current=True, work_order_id=wo_id).values("status").first()
        )
        if (
            ctx.flags.pw_wo_verify_strict
            and warehouse
            and normalise_status(warehouse["status"]) != normalise_status(fresh.status)
        ):
            raise Conflict(
                f"strict verification: PW status is {fresh.status!r}, the warehouse has "
                f"{warehouse['status']!r}"
            )
        if not is_open(fresh.status, ctx.flags) and not row.payload.get("closed"):
            raise Conflict(
                f"conflict: PW work order is closed ({fresh.status}) while the SF job is open "
                f"({row.context.get('sf_status')})"
            )
        changes: dict = {"status": target}
        completed = (
            parse_datetime(row.payload.get("completed_date") or "") if row.payload.get("closed") else None
        )
        if row.payload.get("closed"):
            changes["completed_date"] = completed or timezone.now()
        try:
            if needs_update:
                ctx.pw.update_work_order(wo_id, **changes)
            if needs_close:
                ctx.pw.close_work_order(
                    wo_id,
                    completed_date=changes["completed_date"],
                    comments=f"Closed in ServiceFusion (job {row.context.get('job_id')})",
                )
        except AlreadyClosed as exc:
            raise Conflict(f"conflict: {exc}") from exc
        except NotFound as exc:
            raise Conflict(f"conflict: PW work order {wo_id} is missing ({exc})") from exc
        result = {"id": wo_id, "status": "Closed" if row.payload.get("close") else target}
        if "completed_date" in changes:
            result["completed_date"] = changes["completed_date"].isoformat()
        return result

    def apply(self, ctx, row, result) -> None:
        changes: dict = {"status": result["status"]}
        if result.get("completed_date"):
            changes["completed_date"] = parse_datetime(result["completed_date"])
        current = current_work_order(row.context["work_order_id"])
        if current is not None:
            merge(
                FactWorkOrder,
                [work_order_record(current, **changes)],
                sync_run_id=ctx.run_id,
                change_reason=f"status from SF job {row.context.get('job_id')}",
            )


def _reopen_if_new_transition(key: str, updated_at: datetime | None) -> None:
    """The same SF status again after a change in between is a new write: let it be planned."""
    row = OutboxItem.objects.filter(
        key=key, state__in=[OutboxItem.State.SENT, OutboxItem.State.IGNORED], review=False
    ).first()
    if row and updated_at and row.sent_at and updated_at > row.sent_at:
        OutboxItem.objects.filter(pk=row.pk).update(
            state=OutboxItem.State.PLANNED, attempts=0, updated_at=timezone.now()
        )


def run(ctx) -> None:
    status_map = load_status_map()
    jobs = list(
        FactJob.objects.filter(is_current=True, work_order_id__isnull=False)
        .order_by("job_id")
        .values(
            "job_id", "work_order_id", "status", "status_code", "status_category", "closed_at", "updated_at"
        )
    )
    work_orders = current_rows(
        FactWorkOrder, "work_order_id", [j["work_order_id"] for j in jobs], ["status", "sf_job_id"]
    )
    for job in jobs:
        wo = work_orders.get(job["work_order_id"])
        if wo is None or (wo["sf_job_id"] and wo["sf_job_id"] != job["job_id"]):
            continue  # not a work order we hold, or another job is the one linked to it
        update = status_update_for(
            wo["status"],
            job["status"],
            ctx.flags,
            code=job["status_code"],
            category=job["status_category"],
            status_map=status_map,
        )
        if update is None:
            continue
        key = status_key(job["work_order_id"], job["status"])
        hold = ""
        if not is_open(wo["status"], ctx.flags):
            if update.closed:
                continue  # both closed: a closed work order is never pushed again (R28)
            hold = (
                f"conflict: PW work order is closed ({wo['status']}) "
                f"while the SF job is open ({job['status']})"
            )
        _reopen_if_new_transition(key, job["updated_at"])
        payload = {
            "status": update.pw_status,
            "closed": update.closed,
            "close": update.close_work_order,
            "completed_date": job["closed_at"].isoformat() if job["closed_at"] else None,
        }
        context = {"work_order_id": job["work_order_id"], "job_id": job["job_id"], "sf_status": job["status"]}
        with transaction.atomic():
            row, outcome = plan_write(ctx, key, PW_STATUS, payload, context=context, hold_reason=hold)
            if hold and outcome == "held" and not ctx.dry_run:
                OutboxItem.objects.filter(pk=row.pk).update(review=True)  # a conflict: staff decide
    if not ctx.dry_run:
        handler = PwStatusHandler()
        handler.prefetch(ctx)
        Sender(ctx, [handler]).drain(count_as="updated")
