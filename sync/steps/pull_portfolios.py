"""getPWPortfolios: every PW portfolio into dim_portfolio (one listing; --full tombstones the missing)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sync.cursors import finish_pass, get_cursor, start_pass
from sync.loading import count_merge, load, text
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
    start_pass(cursor, started=started, mode="full" if ctx.full else "all")
    # getAllPortfolios returns the whole set in one listing: it is merged and the cursor moved together.
    records = [record(p) for p in ctx.pw.iter_portfolios()]
    ctx.count("portfolios_read", len(records))
    with transaction.atomic():
        result = load(ctx, DimPortfolio, records)
        finish_pass(cursor, synced_to=started, count=len(records))
    count_merge(ctx, result, "portfolios")
