"""getPWWorkOrders: PW work orders as PropertyWare sent them into fact_work_orders (SCD2; the unit a job
goes to is decided when it is planned), with vendors (dim_vendor) and the PW statuses seen (dim_status).
Incremental runs read what changed since the cursor in batches committed with it; --full reads all."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sync.engine.cursors import finish_pass, get_cursor, save_progress, start_pw_pass
from sync.engine.refused import Refused
from sync.loaders.rows import (
    batch_size,
    chunks,
    count_merge,
    current_rows,
    date_key,
    load,
    text,
    version_keys,
)
from sync.policies.status import is_open
from sync.policies.units import select_unit
from warehouse.models import (
    DimBuilding,
    DimPortfolio,
    DimStatus,
    DimUnit,
    DimVendor,
    FactWorkOrder,
)


def vendor_record(v) -> dict:
    return {
        "source_system": "pw",
        "vendor_id": int(v.id),
        "name": text(v.name),
        "company_name": text(v.company_name),
        "email": text(v.email),
        "phone": text(v.phone),
        "active": bool(v.active),
    }


def _int_or_none(value):
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def work_order_record(wo, sf_job_id) -> dict:
    """The fact_work_orders record as received, its unit the one PropertyWare names (R22: a single entry of
    unitIDs); whether a job may go there is R24's question, asked when the job is planned."""
    vendor_ids = [int(v) for v in (wo.vendor_ids or ())]
    unit_ids = [int(u) for u in (wo.unit_ids or ())]
    unit_id = select_unit({"unit_ids": unit_ids})
    return {
        "source_system": "pw",
        "work_order_id": int(wo.id),
        "number": _int_or_none(wo.number),
        "portfolio_id": int(wo.portfolio_id) if wo.portfolio_id else None,
        "building_id": int(wo.building_id) if wo.building_id else None,
        "unit_ids": unit_ids,
        "unit_id": unit_id,
        "building_level": unit_id is None,
        "unit_problem": "",
        "vendor_id": vendor_ids[0] if vendor_ids else None,
        "lease_id": int(wo.lease_id) if wo.lease_id else None,
        "status": text(wo.status),
        "priority": text(wo.priority),
        # Picklist values are kept verbatim (PW matches them exactly, e.g. "HVAC ").
        "category": wo.category or "",
        "type": text(wo.type),
        "description": wo.description or "",
        "location": text(wo.location),
        "source": text(wo.source),
        "created_date": wo.created_date,
        "start_date": wo.start_date,
        "completed_date": wo.completed_date,
        "cost_estimate": wo.cost_estimate,
        "total_cost": wo.total_cost,
        "hour_estimate": wo.hour_estimate,
        "total_hours": wo.total_hours,
        "sf_job_id": sf_job_id,
        "created_date_key": date_key(wo.created_date),
    }


def _load_batch(ctx, batch, statuses: set, full: bool, cursor, read_so_far: int, page: int):
    ids = [int(wo.id) for wo in batch]
    known = current_rows(FactWorkOrder, "work_order_id", ids, ["sf_job_id"])
    field = ctx.flags.pw_sf_job_id_field
    with transaction.atomic():
        records = []
        for wo in batch:
            # The SF job id PW carries wins (we wrote it there); else keep the one already known.
            sf_job_id = _int_or_none((wo.custom_fields or {}).get(field)) if field else None
            if sf_job_id is None:
                sf_job_id = (known.get(int(wo.id)) or {}).get("sf_job_id")
            records.append(work_order_record(wo, sf_job_id))
            statuses.add(text(wo.status))
        _add_dimension_keys(records)
        result = load(ctx, FactWorkOrder, records, full=full)
        save_progress(cursor, read=read_so_far + len(batch), page=page)
    count_merge(ctx, result, "work_orders")


def _add_dimension_keys(records: list[dict]) -> None:
    for model, id_field, key_field in (
        (DimPortfolio, "portfolio_id", "portfolio_key"),
        (DimBuilding, "building_id", "building_key"),
        (DimUnit, "unit_id", "unit_key"),
        (DimVendor, "vendor_id", "vendor_key"),
    ):
        keys = version_keys(model, id_field, (r[id_field] for r in records))
        for r in records:
            r[key_field] = keys.get(r[id_field])


def _load_statuses(ctx, names: set) -> None:
    existing = set(DimStatus.objects.filter(source_system="pw").values_list("name", flat=True))
    new = [
        DimStatus(source_system="pw", name=n, is_open=is_open(n, ctx.flags))
        for n in sorted(names - existing)
        if n
    ]
    DimStatus.objects.bulk_create(new, ignore_conflicts=True)
    # The open set is a flag: keep is_open true to the flags this step read.
    for row in DimStatus.objects.filter(source_system="pw"):
        if row.is_open != is_open(row.name, ctx.flags):
            DimStatus.objects.filter(pk=row.pk).update(is_open=not row.is_open)


def _pull_vendors(ctx) -> None:
    """getVendors (unfiltered, unpaged) into dim_vendor, unless the reply is the one merged last time
    (its SHA-256 is kept in the vendors cursor); --full always merges."""
    cursor = get_cursor("propertyware", "vendors")
    previous = None if ctx.full else (cursor.state or {}).get("reply_digest")
    listing = ctx.pw.vendors_if_changed(previous)
    if listing.records is None:
        ctx.count("vendors_unchanged", 1)
        return
    vendors = [vendor_record(v) for v in listing.records]
    with transaction.atomic():
        count_merge(ctx, load(ctx, DimVendor, vendors), "vendors")
        finish_pass(cursor, synced_to=timezone.now(), count=len(vendors), reply_digest=listing.digest)
    ctx.count("vendors_read", len(vendors))


def run(ctx) -> None:
    pw = ctx.pw
    started = timezone.now()

    _pull_vendors(ctx)

    # No lookback window: the cursor already covers everything since the previous pass (the legacy
    # sync, which kept no cursor, re-read 30 days on every run); --full re-reads everything. A pass cut
    # short is taken up at the page it had committed (cursors.start_pass says why that page).
    cursor, this_pass = start_pw_pass("work_orders", started=started, full=ctx.full)
    bound = this_pass.bound
    statuses: set[str] = set()
    total = 0
    # Full: one batch, so the merge sees the whole set and can tombstone what PW no longer has.
    size = 10**9 if ctx.full else batch_size()
    refused = Refused(ctx, "work_orders")
    rows = pw.iter_work_orders(modified_since=bound, pages=this_pass.pages, on_malformed=refused)
    for batch in chunks(rows, size):
        _load_batch(ctx, batch, statuses, refused.full(ctx.full), cursor, total, this_pass.pages.done)
        total += len(batch)
    if refused.full(ctx.full) and total == 0:
        with transaction.atomic():
            count_merge(
                ctx,
                load(ctx, FactWorkOrder, [], full=True),
                "work_orders",
            )
    _load_statuses(ctx, statuses)
    ctx.count("work_orders_read", total)
    since = bound.isoformat() if bound else None
    finish_pass(cursor, synced_to=refused.synced_to(this_pass.started), since=since, count=total)
