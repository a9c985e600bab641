"""How the outbox writes jobs: POST /jobs for a work order (``job:WO-<id>``) once PropertyWare confirms it
as planned, with recovery by check number before any second POST (R35); the new job id back to PropertyWare
(``pw:link:WO-<id>``: the sfJobId custom field when the work order has it, else a note; R21)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sync.errors import AlreadyClosed, NotFound
from sync.loaders.jobs import statuses_by_name, store_jobs
from sync.models import OutboxItem
from sync.outbox.planning import plan
from sync.outbox.propertyware import READ_PAGE, PwReads, PwWorkOrderWriter, record_pw_status
from sync.outbox.protocol import Hold, Ignore, WriteHandler, is_remote_id
from sync.policies.dedup_records import link_work_order_to_job
from sync.policies.status import StatusMap, is_open, load_status_map, normalise_status, status_update_for
from warehouse.models import FactJob, FactWorkOrder

__all__ = ["JobHandler", "PwLinkHandler", "job_key", "link_key", "record_job_id", "unplanned_change"]


def job_key(work_order_id: int) -> str:
    return f"job:WO-{work_order_id}"


def link_key(work_order_id: int) -> str:
    return f"pw:link:WO-{work_order_id}"


def unplanned_change(ctx, context: dict, fresh) -> str:
    """PW_WO_VERIFY_STRICT (§9): why a job planned from ``context`` must not be created from PropertyWare's
    copy ``fresh`` now, or "". Its building and units are what the planned customer and unit were decided
    from, so a change there waits for the next pull and plan; a status change only under strict mode."""
    changed = []
    if context.get("building_id") != (int(fresh.building_id) if fresh.building_id else None):
        changed.append("building")
    if "unit_ids" in context and sorted(context["unit_ids"]) != sorted(int(u) for u in fresh.unit_ids or ()):
        changed.append("unit")
    status_changed = "status" in context and (
        normalise_status(context["status"]) != normalise_status(fresh.status)
    )
    if status_changed and ctx.flags.pw_wo_verify_strict:
        changed.append("status")
    elif status_changed:
        ctx.count("verify_warnings")
    if not changed:
        return ""
    what = ", ".join(changed)
    return f"changed in PropertyWare since it was planned ({what}): planned again after the next pull"


def record_job_id(ctx, work_order_id: int, job, *, reason: str) -> None:
    """The SF job id onto the work order (a new fact_work_orders version) and the job into fact_jobs."""
    link_work_order_to_job(work_order_id, int(job.id), reason=reason, sync_run_id=ctx.run_id)
    store_jobs(
        [job], flags=ctx.flags, statuses=statuses_by_name(), sync_run_id=ctx.run_id, change_reason=reason
    )


class JobHandler(WriteHandler):
    """Creates the job planned on the row, as planned: the unit and location were decided when it was
    planned and are not decided again. PropertyWare is read first (a batch of due rows a call, shared with
    the link's write through ``reads``): a work order closed or changed there since the pull gets no job."""

    kind = OutboxItem.Kind.JOB
    system = "sf"
    # Gathering a page of due rows costs one PW read for all of them.
    min_batch = READ_PAGE

    def __init__(self, reads: PwReads | None = None) -> None:
        self.reads = reads or PwReads()
        self._jobs: dict[int, object] = {}  # row pk → the Job the write returned, for apply()
        self._status_map: StatusMap | None = None  # read on first use, once per step

    def validate(self, ctx, body, context) -> str:
        """Safe mode (R20, §9): mapped customer, required fields, the work order still in the warehouse."""
        wo_id = context["work_order_id"]
        if not is_remote_id(ctx, body.get("customer_name")):
            return "the building's SF customer is not mapped"
        if body.get("check_number") != f"WO-{wo_id}" or not (body.get("description") or "").strip():
            return "check number or description missing"
        current = (
            FactWorkOrder.objects.filter(is_current=True, work_order_id=wo_id)
            .values("status", "sf_job_id")
            .first()
        )
        if current is None:
            return "the work order is no longer in PropertyWare"
        return ""  # no longer open or already linked: send() settles the row without writing

    def recover(self, ctx, row):
        # Only jobs touched since the row was planned can be ours (a day's margin for clock skew): without
        # a PO-number hit the client scans the job listing, which must stay short.
        since = row.created_at - timedelta(days=1)
        jobs = ctx.sf.find_jobs_by_check_number(row.payload["check_number"], updated_since=since)
        if not jobs:
            return None
        job = min(jobs, key=lambda j: int(j.id))  # the first one created is the one we keep
        self._jobs[row.pk] = job
        return {"id": int(job.id), "number": str(job.number or "")}

    def send(self, ctx, row):
        # Checked whatever SAFE_MODE says: a row planned in an earlier run may have outlived its reason.
        current = (
            FactWorkOrder.objects.filter(is_current=True, work_order_id=row.context["work_order_id"])
            .values("sf_job_id", "status")
            .first()
        )
        if current and current["sf_job_id"]:
            raise Ignore(
                f"work order already has SF job {current['sf_job_id']}", {"id": current["sf_job_id"]}
            )
        if current is None or not is_open(current["status"], ctx.flags):
            raise Ignore("the work order is no longer open in PropertyWare")
        wo_id = row.context["work_order_id"]
        fresh = self.reads.take(ctx, self.kind, wo_id, batch=READ_PAGE)
        if fresh is None:
            raise Ignore("the work order is no longer in PropertyWare")
        if not is_open(fresh.status, ctx.flags):
            raise Ignore(f"closed in PropertyWare ({fresh.status})")
        changed = unplanned_change(ctx, row.context, fresh)
        if changed:
            raise Hold(changed)
        job = ctx.sf.create_job(row.payload)
        self.reads.hand_over(wo_id, fresh)  # the job id's write-back starts from this copy
        self._jobs[row.pk] = job
        return {"id": int(job.id), "number": str(job.number or "")}

    def apply(self, ctx, row, result) -> None:
        wo_id = row.context["work_order_id"]
        job = self._jobs.pop(row.pk, None)
        if job is not None:
            record_job_id(
                ctx,
                wo_id,
                job,
                reason="SF job created"
                if not result.get("recovered")
                else "SF job found after an interrupted create",
            )
        payload = {"sf_job_id": int(result["id"]), "sf_job_number": result.get("number", "")}
        pw_field = row.context.get("pw_field", "")
        if pw_field:
            # The job's first status goes in the same PW update as its id (one write, not two); a
            # status that closes the work order is left to pushJobUpdatesToPW, which also closes it.
            update = self._first_status(ctx, wo_id, int(result["id"]))
            if update is not None and not update.closed:
                payload["status"] = update.pw_status
        # Planned in the same transaction that records the job: the link back to PW is never lost.
        plan(
            link_key(wo_id),
            OutboxItem.Kind.PW_JOB_LINK,
            payload,
            run_id=ctx.run_id,
            dry_run=False,
            context={"work_order_id": wo_id, "pw_field": pw_field},
        )

    def _first_status(self, ctx, wo_id: int, job_id: int):
        """R28 for a job just created: the PW status its SF status maps to, or None when PW has it."""
        job = (
            FactJob.objects.current()
            .filter(job_id=job_id)
            .values("status", "status_code", "status_category")
            .first()
        )
        wo = FactWorkOrder.objects.current().filter(work_order_id=wo_id).values("status").first()
        if job is None or wo is None:
            return None
        if self._status_map is None:
            self._status_map = load_status_map()
        return status_update_for(
            wo["status"],
            job["status"],
            ctx.flags,
            code=job["status_code"],
            category=job["status_category"],
            status_map=self._status_map,
        )


class PwLinkHandler(PwWorkOrderWriter):
    """R21: the SF job id into the PW work order's custom field when it has one (``context.pw_field``), else
    a note; with the custom field, the job's first status (R28) goes in the same update, which leaves out a
    unit PW would refuse (``PwWorkOrderWriter.update``)."""

    kind = OutboxItem.Kind.PW_JOB_LINK
    # Most links start from the copy their job's check read (handed over): nothing to gather.
    min_batch = 1

    def _note(self, row) -> tuple[str, str]:
        p = row.payload
        return (
            "ServiceFusion job",
            f"ServiceFusion job #{p.get('sf_job_number') or '?'} (id {p['sf_job_id']})",
        )

    def recover(self, ctx, row):
        field = row.context.get("pw_field")
        if not field:
            return None  # a second note is harmless; notes cannot be listed to check
        wo = ctx.pw.get_work_order(row.context["work_order_id"])
        if wo is not None and str((wo.custom_fields or {}).get(field, "")).strip() == str(
            row.payload["sf_job_id"]
        ):
            # The status went in the same update as the id: it is there too (PW may have changed it
            # since; pushJobUpdatesToPW compares again).
            return {"id": row.payload["sf_job_id"], "via": "custom_field", "status": wo.status}
        return None

    def send(self, ctx, row):
        wo_id, field = row.context["work_order_id"], row.context.get("pw_field")
        try:
            fresh = self.fresh(ctx, wo_id) if field else None
            if field and fresh is None:
                raise NotFound(f"work order {wo_id} does not exist", system="pw", operation="updateWorkOrder")
            if field and fresh is not None and field in (fresh.custom_fields or {}):
                changes: dict = {"custom_fields": {field: str(row.payload["sf_job_id"])}}
                status = row.payload.get("status")
                # Never reopen or re-status a work order PW has closed meanwhile (R28: closed stays closed).
                if status and is_open(fresh.status, ctx.flags):
                    changes["status"] = status
                updated, cleared = self.update(ctx, fresh, **changes)
                return {
                    "id": row.payload["sf_job_id"],
                    "via": "custom_field",
                    "status": updated.status if "status" in changes else None,
                    "at": timezone.now().isoformat(),
                    **({"units_cleared": cleared} if cleared else {}),
                }
            subject, body = self._note(row)
            note = ctx.pw.attach_note(wo_id, subject, body)
            return {"id": row.payload["sf_job_id"], "via": "note", "note_id": getattr(note, "id", None)}
        except (AlreadyClosed, NotFound) as exc:
            raise Hold(f"PW work order {wo_id} cannot take the job id: {exc}") from exc

    def apply(self, ctx, row, result) -> None:
        self.record_cleared_units(ctx, row, result)
        if result.get("status"):
            record_pw_status(
                ctx,
                row.context["work_order_id"],
                result["status"],
                reason=f"status from SF job {row.payload['sf_job_id']} (with its id)",
            )
