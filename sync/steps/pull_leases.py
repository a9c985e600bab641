"""getPWLeases: PW leases into fact_leases and their tenants into dim_tenant.
Batches commit with the cursor; --full reads them in one batch, so the merge tombstones the rest.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sync.engine.cursors import finish_pass, save_progress, start_pw_pass
from sync.engine.refused import Refused
from sync.loaders.rows import batch_size, chunks, count_merge, current_rows, load, text, version_keys
from warehouse.models import DimBuilding, DimTenant, DimUnit, FactLease

# SOAP has no lease-status filter (R2), so activity is decided here: ``active`` or status Active / Active -
# Notice Given.
ACTIVE_STATUSES = frozenset({"active", "active - notice given"})


def is_active(lease) -> bool:
    return bool(lease.active) or " ".join(text(lease.status).lower().split()) in ACTIVE_STATUSES


def lease_record(lease, active: bool) -> dict:
    return {
        "source_system": "pw",
        "lease_id": int(lease.id),
        "building_id": int(lease.building_id) if lease.building_id else None,
        "unit_id": int(lease.unit_id) if lease.unit_id else None,
        "primary_contact_id": int(lease.primary_contact_id) if lease.primary_contact_id else None,
        "tenant_contact_ids": sorted(int(c.id) for c in lease.tenants or ()),
        "name": text(lease.name),
        "status": text(lease.status),
        "active": active,
        "start_date": lease.start_date,
        "end_date": lease.end_date,
        "move_in_date": lease.move_in_date,
        "move_out_date": lease.move_out_date,
    }


def tenant_record(contact, lease) -> dict:
    phone = next((p for p in (contact.mobile_phone, contact.home_phone, contact.work_phone) if text(p)), "")
    return {
        "source_system": "pw",
        "contact_id": int(contact.id),
        "first_name": text(contact.first_name),
        "last_name": text(contact.last_name),
        "email": text(contact.email),
        "phone": text(phone),
        "lease_id": int(lease.id),
        "is_primary": int(contact.id) == int(lease.primary_contact_id or 0),
    }


def run(ctx) -> None:
    started = timezone.now()
    cursor, this_pass = start_pw_pass("leases", started=started, full=ctx.full)  # resumed if cut short
    bound = this_pass.bound
    size = 10**9 if ctx.full else batch_size()
    total = 0
    refused = Refused(ctx, "leases")
    rows = ctx.pw.iter_leases(modified_since=bound, pages=this_pass.pages, on_malformed=refused)
    for batch in chunks(rows, size):
        known = current_rows(FactLease, "lease_id", [int(x.id) for x in batch])
        leases: list[dict] = []
        tenants: list[dict] = []
        for lease in batch:
            # Active leases are loaded with their tenants; a lease already in the warehouse that is no longer
            # active gets a new version saying so.
            active = is_active(lease)
            if active:
                leases.append(lease_record(lease, True))
                tenants.extend(tenant_record(c, lease) for c in lease.tenants or ())
            elif int(lease.id) in known:
                leases.append(lease_record(lease, False))
        _add_keys(leases, tenants)
        with transaction.atomic():
            count_merge(
                ctx,
                load(ctx, FactLease, leases, full=refused.full(ctx.full)),
                "leases",
            )
            count_merge(
                ctx,
                load(ctx, DimTenant, tenants, full=refused.full(ctx.full)),
                "tenants",
            )
            save_progress(cursor, read=total + len(batch), page=this_pass.pages.done)
        total += len(batch)
        ctx.count("leases_active", sum(1 for r in leases if r["active"]))
    ctx.count("leases_read", total)
    since = bound.isoformat() if bound else None
    finish_pass(cursor, synced_to=refused.synced_to(this_pass.started), since=since, count=total)


def _add_keys(leases: list[dict], tenants: list[dict]) -> None:
    buildings = version_keys(DimBuilding, "building_id", (r["building_id"] for r in leases))
    units = version_keys(DimUnit, "unit_id", (r["unit_id"] for r in leases))
    for r in leases:
        r["building_key"] = buildings.get(r["building_id"])
        r["unit_key"] = units.get(r["unit_id"])
