"""getSFInvoices: SF invoices into fact_transactions (what each job billed), tied to the job, work order,
portfolio and building through the invoice's PO number (``WO-<PW id>``, as our jobs carry it).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from sync.loading import chunks, current_rows, date_key, text
from sync.steps.pull_sf_jobs import CHECK_NUMBER
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


def run(ctx) -> None:
    invoices = list(ctx.sf.iter_invoices())  # v1 invoices take no filters: always the whole list
    ctx.count("invoices_read", len(invoices))
    for batch in chunks(invoices, 500):
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
        ctx.count("transactions_new", len(new))
        ctx.count("transactions_updated", len(changed))


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
