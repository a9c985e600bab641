"""How the outbox writes jobs: POST /jobs for a work order (``job:WO-<id>``), with recovery by check
number before any second POST (R35), and the new job id written back to PropertyWare
(``pw:link:WO-<id>``: the sfJobId custom field when the organisation has it, else a note; R21).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sync.dedup import link_work_order_to_job
from sync.errors import AlreadyClosed, NotFound
from sync.models import OutboxItem
from sync.outbox import Hold, Ignore, WriteHandler, is_remote_id, plan
from sync.status import is_open
from sync.units import building_facts, validate_unit
from warehouse.models import FactWorkOrder

__all__ = ["JobHandler", "PwLinkHandler", "link_key", "record_job_id"]


def link_key(work_order_id: int) -> str:
    return f"pw:link:WO-{work_order_id}"


def record_job_id(ctx, work_order_id: int, job, *, reason: str) -> None:
    """The SF job id onto the work order (a new fact_work_orders version) and the job into fact_jobs."""
    from sync.steps.pull_sf_jobs import statuses_by_name, store_jobs

    link_work_order_to_job(work_order_id, int(job.id), reason=reason, sync_run_id=ctx.run_id)
    store_jobs(
        [job], flags=ctx.flags, statuses=statuses_by_name(), sync_run_id=ctx.run_id, change_reason=reason
    )


class JobHandler(WriteHandler):
    kind = OutboxItem.Kind.JOB
    system = "sf"

    def __init__(self) -> None:
        self._jobs: dict[int, object] = {}  # row pk → the Job the write returned, for apply()

    def validate(self, ctx, body, context) -> str:
        """Safe mode (R20, §9): mapped customer, required fields, building/unit consistency, still open."""
        wo_id = context["work_order_id"]
        if not is_remote_id(ctx, body.get("customer_name")):
            return "the building's SF customer is not mapped"
        if body.get("check_number") != f"WO-{wo_id}" or not (body.get("description") or "").strip():
            return "check number or description missing"
        unit_id, building_id = context.get("unit_id"), context.get("building_id")
        if unit_id:
            buildings, units = building_facts([building_id])
            decision = validate_unit(
                {"building_id": building_id, "unit_id": unit_id},
                buildings.get(building_id),
                units.get(building_id, set()),
            )
            if decision.cleared:
                return decision.problem
        current = (
            FactWorkOrder.objects.filter(is_current=True, work_order_id=wo_id)
            .values("status", "sf_job_id")
            .first()
        )
        if current is None:
            return "the work order is no longer in PropertyWare"
        if not is_open(current["status"], ctx.flags):
            return f"the work order is no longer open ({current['status']})"
        return ""

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
        linked = (
            FactWorkOrder.objects.filter(
                is_current=True, work_order_id=row.context["work_order_id"], sf_job_id__isnull=False
            )
            .values_list("sf_job_id", flat=True)
            .first()
        )
        if linked:
            raise Ignore(f"work order already has SF job {linked}", {"id": linked})
        job = ctx.sf.create_job(row.payload)
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
        # Planned in the same transaction that records the job: the link back to PW is never lost.
        plan(
            link_key(wo_id),
            OutboxItem.Kind.PW_JOB_LINK,
            {"sf_job_id": int(result["id"]), "sf_job_number": result.get("number", "")},
            run_id=ctx.run_id,
            dry_run=False,
            context={"work_order_id": wo_id, "pw_field": row.context.get("pw_field", "")},
        )


class PwLinkHandler(WriteHandler):
    """R21: the SF job id into the PW work order's custom field, else a note."""

    kind = OutboxItem.Kind.PW_JOB_LINK
    system = "pw"

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
            return {"id": row.payload["sf_job_id"], "via": "custom_field"}
        return None

    def send(self, ctx, row):
        wo_id, field = row.context["work_order_id"], row.context.get("pw_field")
        try:
            if field:
                ctx.pw.update_work_order(wo_id, custom_fields={field: str(row.payload["sf_job_id"])})
                return {
                    "id": row.payload["sf_job_id"],
                    "via": "custom_field",
                    "at": timezone.now().isoformat(),
                }
            subject, body = self._note(row)
            note = ctx.pw.attach_note(wo_id, subject, body)
            return {"id": row.payload["sf_job_id"], "via": "note", "note_id": getattr(note, "id", None)}
        except (AlreadyClosed, NotFound) as exc:
            raise Hold(f"PW work order {wo_id} cannot take the job id: {exc}") from exc
