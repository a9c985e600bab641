"""getSFInvoices: SF invoices into fact_transactions (what each job billed), tied to the job, work order,
portfolio and building through the invoice's PO number (``WO-<PW id>``, as our jobs carry it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sync.clients.paging import PageMark
from sync.engine.cursors import finish_pass, save_progress, start_sf_pass
from sync.engine.refused import Refused
from sync.loaders.jobs import CHECK_NUMBER
from sync.loaders.rows import batch_size, chunks, current_rows, date_key, text
from warehouse.models import FactJob, FactTransaction, FactWorkOrder

FIELDS = (
    "job_id",
    "work_order_id",
    "portfolio_id",
    "building_id",
    "number",
    "total",
    "is_paid",
    "invoice_date",
    "date_key",
)


# v1 invoices take no filters, but they sort by ``updated_at``: an incremental run lists them newest first
# and stops at the cursor (the newest ``updated_at`` seen, on SF's clock, less SYNC_SF_JOBS_OVERLAP_SECONDS),
# so a quiet run reads one page. The first run and --full read every invoice, which also re-derives the
# links of invoices that did not change.
def changed_invoices(sf, bound: datetime | None, pages: PageMark | None = None, refused=None) -> Iterator:
    """Invoices updated at or after ``bound`` (every invoice when None), from page 1 or ``pages.first``."""
    if bound is None:
        yield from sf.iter_invoices(pages=pages, on_malformed=refused)
        return
    for inv in sf.iter_invoices(sort="-updated_at", pages=pages, on_malformed=refused):
        if inv.updated_at is not None and inv.updated_at < bound:
            return  # newest first: the rest are older; leaving the listing stops its paging
        yield inv


def run(ctx) -> None:
    started = timezone.now()
    # A pass cut short is taken up at the page it had committed (cursors.start_pass says why that page).
    cursor, this_pass = start_sf_pass("invoices", started=started, full=ctx.full)
    bound, newest = this_pass.bound, this_pass.newest
    total = 0
    refused = Refused(ctx, "invoices")
    for batch in chunks(changed_invoices(ctx.sf, bound, this_pass.pages, refused), batch_size()):
        total += len(batch)
        stamps = [inv.updated_at for inv in batch if inv.updated_at]
        if stamps and (newest is None or max(stamps) > newest):
            newest = max(stamps)
        wo_ids = {}
        for inv in batch:
            match = CHECK_NUMBER.match(text(inv.po_number))
            wo_ids[int(inv.id)] = int(match.group(1)) if match else None
        work_orders = current_rows(
            FactWorkOrder,
            "work_order_id",
            {w for w in wo_ids.values() if w},
            ["portfolio_id", "building_id", "sf_job_id"],
        )
        jobs = dict(
            FactJob.objects.filter(
                is_current=True, work_order_id__in=[w for w in wo_ids.values() if w]
            ).values_list("work_order_id", "job_id")
        )
        rows = []
        for inv in batch:
            wo_id = wo_ids[int(inv.id)]
            wo = work_orders.get(wo_id, {})
            day = inv.date or (inv.created_at.date() if inv.created_at else None)
            rows.append(
                FactTransaction(
                    source_system="sf",
                    invoice_id=int(inv.id),
                    job_id=jobs.get(wo_id) or wo.get("sf_job_id"),
                    work_order_id=wo_id,
                    portfolio_id=wo.get("portfolio_id"),
                    building_id=wo.get("building_id"),
                    number=text(inv.number),
                    total=inv.total,
                    is_paid=bool(inv.is_paid),
                    invoice_date=day,
                    date_key_id=date_key(day),
                )
            )
        existing = {
            t.invoice_id: t
            for t in FactTransaction.objects.filter(
                source_system="sf", invoice_id__in=[r.invoice_id for r in rows]
            )
        }
        new = [r for r in rows if r.invoice_id not in existing]
        changed = []
        for r in rows:
            old = existing.get(r.invoice_id)
            if old is not None and _values(old) != _values(r):
                r.pk = old.pk
                changed.append(r)
        with transaction.atomic():
            FactTransaction.objects.bulk_create(new)
            FactTransaction.objects.bulk_update(changed, FIELDS)
            save_progress(
                cursor, read=total, page=this_pass.pages.done, newest=newest.isoformat() if newest else None
            )
        ctx.count("transactions_new", len(new))
        ctx.count("transactions_updated", len(changed))
    ctx.count("invoices_read", total)
    # Like the jobs cursor: SF's clock, the newest updated_at seen (None keeps the old one).
    since = bound.isoformat() if bound else None
    finish_pass(cursor, synced_to=refused.synced_to(newest), since=since, count=total)


def _values(t: FactTransaction) -> tuple:
    total = None if t.total is None else Decimal(t.total).quantize(Decimal("0.01"))
    return (
        t.job_id,
        t.work_order_id,
        t.portfolio_id,
        t.building_id,
        t.number,
        total,
        t.is_paid,
        t.invoice_date,
        t.date_key_id,
    )
