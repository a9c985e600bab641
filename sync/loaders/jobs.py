"""SF jobs into fact_jobs: the record a job becomes, the merge, and the statuses known by name (used by
getSFJobs and by the job handler right after a job is created)."""

from __future__ import annotations

import re

from sync.loaders.rows import text, version_keys
from warehouse.models import DimCustomer, DimStatus, FactJob, FactWorkOrder
from warehouse.scd import merge

CHECK_NUMBER = re.compile(r"^WO-(\d+)$")


def work_order_id_of(job, label: str) -> int | None:
    """The PW work order a job belongs to: the custom field with its id, else a ``WO-<id>`` check number."""
    fields = {str(k).strip().lower(): v for k, v in (job.custom_fields or {}).items()}
    value = text(fields.get(label.lower()))
    if value.isdigit():
        return int(value)
    match = CHECK_NUMBER.match(text(job.check_number))
    return int(match.group(1)) if match else None


def job_record(job, label: str, statuses: dict) -> dict:
    status = statuses.get(text(job.status).lower(), {})
    return {
        "source_system": "sf",
        "job_id": int(job.id),
        "number": text(job.number),
        "customer_id": int(job.customer_id) if job.customer_id else None,
        "check_number": text(job.check_number),
        "po_number": text(job.po_number),
        "work_order_id": work_order_id_of(job, label),
        "status": text(job.status),
        "status_code": status.get("sf_code", ""),
        "status_category": status.get("sf_category", ""),
        "category": text(job.category),
        "priority": text(job.priority),
        "description": job.description or "",
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "closed_at": job.closed_at,
    }



def store_jobs(jobs, *, flags, statuses: dict, sync_run_id, change_reason: str, full: bool = False):
    """Merge SF jobs into fact_jobs (also used right after a job is created); ``full``: the whole set."""
    label = flags.sf_job_cf_work_order_id
    records = [job_record(j, label, statuses) for j in jobs]
    customers = version_keys(DimCustomer, "customer_id", (r["customer_id"] for r in records))
    work_orders = version_keys(FactWorkOrder, "work_order_id", (r["work_order_id"] for r in records))
    for r in records:
        r["customer_key"] = customers.get(r["customer_id"])
        r["work_order_key"] = work_orders.get(r["work_order_id"])
    return merge(
        FactJob,
        records,
        sync_run_id=sync_run_id,
        change_reason=change_reason,
        full=full,
        scope={"source_system": "sf"} if full else None,
    )


def statuses_by_name() -> dict:
    return {
        name.lower(): {"sf_code": code, "sf_category": cat}
        for name, code, cat in DimStatus.objects.filter(source_system="sf").values_list(
            "name", "sf_code", "sf_category"
        )
    }
