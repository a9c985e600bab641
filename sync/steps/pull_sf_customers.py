"""getSFCustomers: every SF customer (with contacts, locations, custom fields) into sf_customer_cache and
dim_customer, and customer_mappings refreshed from the PW ids customers carry in custom fields.
"""

from __future__ import annotations

import dataclasses
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from sync.engine.cursors import finish_pass, get_cursor, is_fresh, start_pass
from sync.loaders.mappings import pw_ids_of_customer, save_mapping
from sync.loaders.rows import chunks, count_merge, load, text
from warehouse.models import CustomerMapping, DimCustomer, SfCustomerCache


def _plain(items) -> list[dict]:
    return json.loads(json.dumps([dataclasses.asdict(i) for i in items or ()], cls=DjangoJSONEncoder))


def cache_row(c, now) -> SfCustomerCache:
    return SfCustomerCache(
        sf_customer_id=int(c.id),
        name=text(c.name),
        parent_customer_id=int(c.parent_customer_id) if c.parent_customer_id else None,
        contacts=_plain(c.contacts),
        locations=_plain(c.locations),
        custom_fields=json.loads(json.dumps(dict(c.custom_fields or {}), cls=DjangoJSONEncoder)),
        fetched_at=now,
    )


def customer_record(c) -> dict:
    return {
        "source_system": "sf",
        "customer_id": int(c.id),
        "customer_name": text(c.name),
        "parent_customer_id": int(c.parent_customer_id) if c.parent_customer_id else None,
        "account_number": text(c.account_number),
    }


# Customers the sync creates itself go through here into the cache and dim_customer when they are created
# (pushPortfoliosToSF), so they never wait for the next listing.
def store_customers(customers, *, now, sync_run_id=None, full=False) -> tuple[int, int]:
    """Upsert cache rows for ``customers`` (also used after a customer is created); returns (new, updated)."""
    rows = [cache_row(c, now) for c in customers]
    existing = dict(
        SfCustomerCache.objects.filter(sf_customer_id__in=[r.sf_customer_id for r in rows]).values_list(
            "sf_customer_id", "pk"
        )
    )
    new = [r for r in rows if r.sf_customer_id not in existing]
    old = []
    for r in rows:
        if r.sf_customer_id in existing:
            r.pk = existing[r.sf_customer_id]
            old.append(r)
    SfCustomerCache.objects.bulk_create(new, batch_size=500)
    SfCustomerCache.objects.bulk_update(
        old,
        ["name", "parent_customer_id", "contacts", "locations", "custom_fields", "fetched_at"],
        batch_size=500,
    )
    return len(new), len(old)


def run(ctx) -> None:
    started = timezone.now()
    cursor = get_cursor("servicefusion", "customers")
    # A listing is always the whole account, so it is a cache (R11: "cached 1 hour"): an incremental run
    # within SYNC_SF_CUSTOMER_CACHE_SECONDS of the last complete listing reads nothing; --full always lists.
    ttl = float(settings.SYNC["SF_CUSTOMER_CACHE_SECONDS"])
    if not ctx.full and is_fresh(cursor, ttl_seconds=ttl, now=started):
        ctx.count("cache_fresh")
        ctx.count(
            "mapped_buildings",
            CustomerMapping.objects.filter(entity_type="building", status="mapped").count(),
        )
        return
    start_pass(cursor, started=started, mode="full")
    # v1 has no updated-since filter on customers: the listing is always complete (50 per page).
    customers = list(ctx.sf.iter_customers())
    ctx.count("customers_read", len(customers))
    flags = ctx.flags
    with transaction.atomic():
        new, updated = 0, 0
        for part in chunks(customers, 500):
            n, u = store_customers(part, now=started)
            new, updated = new + n, updated + u
        ctx.count("cache_new", new)
        if ctx.full:
            seen = {int(c.id) for c in customers}
            gone = SfCustomerCache.objects.exclude(sf_customer_id__in=seen) if len(seen) < 30000 else None
            if gone is not None:
                ctx.count("cache_removed", gone.delete()[0])
        count_merge(
            ctx,
            load(ctx, DimCustomer, [customer_record(c) for c in customers], system="sf"),
            "customers",
        )
        linked = 0
        for c in customers:
            portfolio_id, building_id = pw_ids_of_customer(c.custom_fields or {}, flags)
            if portfolio_id is None and building_id is None:
                continue
            linked += save_mapping(
                "building" if building_id is not None else "portfolio",
                portfolio_id=portfolio_id,
                building_id=building_id,
                sf_customer_id=int(c.id),
                method="custom_field",
                confidence=1.0,
                only_if_unmapped=True,
            )
        ctx.count("mappings_linked", linked)
        finish_pass(cursor, synced_to=started, count=len(customers))
    ctx.count(
        "mapped_buildings", CustomerMapping.objects.filter(entity_type="building", status="mapped").count()
    )
