"""getPWPortfolios: every PW portfolio into dim_portfolio, from the one unfiltered listing every run makes
(not merged again when byte for byte the last one merged); --full always merges and tombstones the missing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sync.engine.cursors import finish_pass, get_cursor, start_pass
from sync.loaders.rows import count_merge, load, text
from warehouse.models import DimPortfolio


def record(p) -> dict:
    return {
        "source_system": "pw",
        "portfolio_id": int(p.id),
        "name": text(p.name),
        "abbreviation": text(p.abbreviation),
        "active": bool(p.active),
        "owner_first_name": text(p.owner_first_name),
        "owner_last_name": text(p.owner_last_name),
        "owner_email": text(p.owner_email),
    }


def run(ctx) -> None:
    started = timezone.now()
    cursor = get_cursor("propertyware", "portfolios")
    # getAllPortfolios has no filter: the SHA-256 of the last reply merged, kept in the cursor, spares
    # parsing and merging an unchanged one.
    previous = None if ctx.full else (cursor.state or {}).get("reply_digest")
    start_pass(cursor, started=started, mode="full" if ctx.full else "all")
    listing = ctx.pw.portfolios_if_changed(previous)
    if listing.records is None:
        ctx.count("portfolios_unchanged", 1)
        finish_pass(cursor, synced_to=started)
        return
    # getAllPortfolios returns the whole set in one listing: it is merged and the cursor moved together.
    records = [record(p) for p in listing.records]
    ctx.count("portfolios_read", len(records))
    with transaction.atomic():
        result = load(ctx, DimPortfolio, records)
        finish_pass(cursor, synced_to=started, count=len(records), reply_digest=listing.digest)
    count_merge(ctx, result, "portfolios")
