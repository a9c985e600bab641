"""pushJobUpdatesToPW: SF wins on job status (R28, R29): the status-mapped SF status of each linked job whose
status differs is written into its PW work order by read-modify-write, in rows ``pw:status:WO-<id>:<SF
status>``. Runs whatever ENABLE_SERVICE_FUSION says.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync.errors import AlreadyClosed, NotFound
from sync.loaders.rows import BY_ID_UP_TO, current_rows, text
from sync.models import OutboxItem
from sync.outbox.planning import plan_write
from sync.outbox.propertyware import PwWorkOrderWriter, record_pw_status
from sync.outbox.protocol import Conflict, Ignore
from sync.outbox.sender import Sender
from sync.policies.status import StatusUpdate, is_open, load_status_map, normalise_status, status_update_for
from warehouse.models import FactJob, FactWorkOrder

PW_STATUS = OutboxItem.Kind.PW_STATUS


def status_key(work_order_id: int, sf_status: str) -> str:
    return f"pw:status:WO-{work_order_id}:{text(sf_status)}"


# A closed SF status also sets completedDate and, with PW_CLOSE_ON_SF_CLOSED, closes the work order; the
# update leaves out a unit PW would refuse (PwWorkOrderWriter.update). Conflicts (PW closed while SF open,
# PW work order missing, "already closed") are held for review and never retried.
class PwStatusHandler(PwWorkOrderWriter):
    kind = PW_STATUS

    def validate(self, ctx, payload, context) -> str:
        return "" if (payload.get("status") or "").strip() else "status is empty"

    def send(self, ctx, row):
        wo_id, target = row.context["work_order_id"], row.payload["status"]
        # Read first (in a batch, moments ago): the update echoes every other field (R29).
        fresh = self.fresh(ctx, wo_id)
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
        cleared: dict = {}
        try:
            if needs_update:
                _, cleared = self.update(ctx, fresh, **changes)
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
        if cleared:
            result["units_cleared"] = cleared
        return result

    def apply(self, ctx, row, result) -> None:
        self.record_cleared_units(ctx, row, result)
        record_pw_status(
            ctx,
            row.context["work_order_id"],
            result["status"],
            completed_date=parse_datetime(result["completed_date"]) if result.get("completed_date") else None,
            reason=f"status from SF job {row.context.get('job_id')}",
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


def _status_pairs() -> list[tuple[str, str, str, str]]:
    """Each distinct (SF status, code, category, PW status) among the SF jobs and the work orders they
    are linked to (a work order linked to another job is not this job's), in one grouped join.

    Plain SQL: the two tables are joined by the work order's natural key, which the ORM cannot express
    without a foreign key, and grouping there leaves a few dozen rows to read instead of every job.
    """
    jobs, work_orders = (connection.ops.quote_name(m._meta.db_table) for m in (FactJob, FactWorkOrder))
    # The table names are the models' own; values go as parameters.
    sql = (
        f"SELECT j.status, j.status_code, j.status_category, w.status FROM {jobs} j "  # noqa: S608
        f"JOIN {work_orders} w ON w.work_order_id = j.work_order_id AND w.is_current = %s "
        "WHERE j.is_current = %s AND (w.sf_job_id IS NULL OR w.sf_job_id = j.job_id) "
        "GROUP BY j.status, j.status_code, j.status_category, w.status"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, True])
        return cursor.fetchall()


def _writes_for(pairs, flags, status_map) -> dict[tuple[str, str, str, str], StatusUpdate]:
    """The update for each pair whose jobs have a status to write back (R28): SF's status differs from
    PW's, and not both closed (a closed work order is never pushed again)."""
    out = {}
    for sf_status, code, category, pw_status in pairs:
        update = status_update_for(pw_status, sf_status, flags, code=code, category=category,
                                   status_map=status_map)
        if update is not None and (is_open(pw_status, flags) or not update.closed):
            out[(sf_status, code, category, pw_status)] = update
    return out


def run(ctx) -> None:
    # Most jobs agree with their work order: only the jobs of the pairs that differ are read.
    writes = _writes_for(_status_pairs(), ctx.flags, load_status_map())
    jobs = list(
        FactJob.objects.filter(
            is_current=True, work_order_id__isnull=False, status__in=sorted({w[0] for w in writes})
        )
        .order_by("job_id")
        .values(
            "job_id", "work_order_id", "status", "status_code", "status_category", "closed_at", "updated_at"
        )
    ) if writes else []
    # After a status change across the board, read every work order in one pass rather than by id.
    ids = [j["work_order_id"] for j in jobs] if len(jobs) <= BY_ID_UP_TO else None
    work_orders = current_rows(FactWorkOrder, "work_order_id", ids, ["status", "sf_job_id"])
    for job in jobs:
        wo = work_orders.get(job["work_order_id"])
        if wo is None or (wo["sf_job_id"] and wo["sf_job_id"] != job["job_id"]):
            continue  # not a work order we hold, or another job is the one linked to it
        update = writes.get((job["status"], job["status_code"], job["status_category"], wo["status"]))
        if update is None:
            continue  # the same status, or both closed
        key = status_key(job["work_order_id"], job["status"])
        hold = ""
        if not is_open(wo["status"], ctx.flags):
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
        # When SF says the job changed: the write-back's lag counts from it (sync.observability.freshness).
        changed = job["updated_at"].isoformat() if job["updated_at"] else None
        context = {"work_order_id": job["work_order_id"], "job_id": job["job_id"], "sf_status": job["status"],
                   "sf_updated_at": changed}
        with transaction.atomic():
            row, outcome = plan_write(ctx, key, PW_STATUS, payload, context=context, hold_reason=hold)
            if hold and outcome == "held" and not ctx.dry_run:
                OutboxItem.objects.filter(pk=row.pk).update(review=True)  # a conflict: staff decide
    if not ctx.dry_run:
        Sender(ctx, [PwStatusHandler()]).drain(count_as="updated")
