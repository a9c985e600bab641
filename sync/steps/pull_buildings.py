"""getPWBuildings: PW buildings and their units into dim_building and dim_unit (incremental by cursor, in
committed batches; --full reads everything and tombstones what PW no longer has)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sync.engine.cursors import finish_pass, save_progress, start_pw_pass
from sync.engine.refused import Refused
from sync.loaders.rows import batch_size, chunks, count_merge, load, text, version_keys
from warehouse.models import DimBuilding, DimPortfolio, DimUnit

ADDRESS = ("address", "address2", "city", "state", "zip", "country")


def building_record(b) -> dict:
    return {
        "source_system": "pw",
        "building_id": int(b.id),
        "portfolio_id": int(b.portfolio_id) if b.portfolio_id else None,
        "name": text(b.name),
        "abbreviation": text(b.abbreviation),
        **{f: text(getattr(b, f)) for f in ADDRESS},
        "multi_unit": bool(b.multi_unit),
        "rentable": bool(b.rentable),
        "active": bool(b.active),
    }


def unit_record(u) -> dict:
    return {
        "source_system": "pw",
        "unit_id": int(u.id),
        "building_id": int(u.building_id) if u.building_id else None,
        "name": text(u.name),
        "abbreviation": text(u.abbreviation),
        **{f: text(getattr(u, f)) for f in ADDRESS},
        "active": bool(u.active),
    }


def _load(ctx, *, entity: str, model, records_iter, parent_model, parent_field: str, key_field: str) -> None:
    started = timezone.now()
    cursor, this_pass = start_pw_pass(entity, started=started, full=ctx.full)  # resumed if cut short
    bound = this_pass.bound
    refused = Refused(ctx, entity)
    records = records_iter(bound, this_pass.pages, refused)
    # A full pass is one batch (its merge must see the whole set to find deletions); an incremental one
    # commits every batch with its cursor, so a killed pull keeps what it had read.
    size = 10**9 if ctx.full else batch_size()
    total = 0
    for batch in chunks((r for r in records), size):
        keys = version_keys(parent_model, parent_field, (r[parent_field] for r in batch))
        for r in batch:
            r[key_field] = keys.get(r[parent_field])
        with transaction.atomic():
            result = load(ctx, model, batch, full=refused.full(ctx.full))
            save_progress(cursor, read=total + len(batch), page=this_pass.pages.done)
        total += len(batch)
        count_merge(ctx, result, entity)
    if refused.full(ctx.full) and total == 0:
        with transaction.atomic():  # PW has none left: the full reconciliation tombstones them all
            count_merge(ctx, load(ctx, model, [], full=True), entity)
    ctx.count(f"{entity}_read", total)
    since = bound.isoformat() if bound else None
    finish_pass(cursor, synced_to=refused.synced_to(this_pass.started), since=since, count=total)


def run(ctx) -> None:
    pw = ctx.pw
    # Buildings name their portfolio by label: resolve it through the portfolios the previous step merged
    # rather than listing them all again (the client lists them only for a label these lack). A lazy
    # queryset: read only once a building comes back.
    portfolios = DimPortfolio.objects.filter(is_current=True).values(
        "name", "abbreviation", ID=F("portfolio_id")
    )
    _load(
        ctx,
        entity="buildings",
        model=DimBuilding,
        records_iter=lambda bound, pages, refused: (
            building_record(b)
            for b in pw.iter_buildings(
                modified_since=bound, portfolios=portfolios, pages=pages, on_malformed=refused
            )
        ),
        parent_model=DimPortfolio,
        parent_field="portfolio_id",
        key_field="portfolio_key",
    )
    _load(
        ctx,
        entity="units",
        model=DimUnit,
        records_iter=lambda bound, pages, refused: (
            unit_record(u) for u in pw.iter_units(modified_since=bound, pages=pages, on_malformed=refused)
        ),
        parent_model=DimBuilding,
        parent_field="building_id",
        key_field="building_key",
    )
