"""Analytics screens about one record: a work order's SCD2 history (every version, what changed, when and in
which sync run) and one portfolio's open work by building; each with a chart and a CSV export (read-only)."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone

from warehouse import analytics
from warehouse.models import DimPortfolio, FactJob

from .analytics_common import csv_response, open_statuses, render_page, requires, wants_csv
from .charts import PALETTE, FloatSeries, Span, grouped_bars_svg, timeline_svg

CHART_BUILDINGS = 15  # buildings drawn; the table and the export list them all
LISTED_WORK_ORDERS = 200  # oldest open work orders listed on the page; the export has every one


@requires("warehouse.view_factworkorder")
def work_order_history(request, work_order_id: int):
    history = analytics.work_order_history(work_order_id)
    if not history:
        raise Http404(f"No versions of work order {work_order_id} in the warehouse")
    if wants_csv(request):
        rows = []
        for n, v in enumerate(history, 1):
            head = [
                n,
                v.row.valid_from.isoformat(),
                v.row.valid_to.isoformat() if v.row.valid_to else "",
                v.row.sync_run_id,
                v.row.change_reason,
                v.row.is_deleted,
                v.row.status,
            ]
            changes = v.changes or [("(first version)", "", "")]
            rows += [[*head, name, before, after] for name, before, after in changes]
        return csv_response(
            f"work-order-{work_order_id}-history.csv",
            [
                "version",
                "valid_from",
                "valid_to",
                "sync_run_id",
                "change_reason",
                "is_deleted",
                "status",
                "field",
                "before",
                "after",
            ],
            rows,
        )
    now = timezone.now()
    colours: dict[str, str] = {}
    spans = []
    for n, v in enumerate(history, 1):
        label = "deleted" if v.row.is_deleted else (v.row.status or "(no status)")
        colour = "#999999" if v.row.is_deleted else colours.setdefault(label, PALETTE[len(colours) % 7])
        note = f"version {n}" + (f", sync run {v.row.sync_run_id}" if v.row.sync_run_id else "")
        spans.append(Span(label, v.row.valid_from, v.row.valid_to or now, colour, note))
    jobs = FactJob.objects.filter(is_current=True, work_order_id=work_order_id).order_by("job_id")
    return render_page(
        request,
        "admin/analytics/work_order_history.html",
        f"Work order {work_order_id}: history",
        work_order_id=work_order_id,
        versions=list(enumerate(history, 1)),
        current=history[-1].row,
        chart=timeline_svg(spans, title=f"Work order {work_order_id}: status over time"),
        jobs=jobs,
    )


@requires("warehouse.view_factworkorder", "warehouse.view_dimbuilding")
def portfolio_open_work(request, portfolio_id: int):
    statuses = open_statuses()
    now = timezone.now()
    buildings = analytics.portfolio_open_work(portfolio_id, statuses, now=now)
    names = {b.building_id: b.name for b in buildings}
    rows = (
        analytics.open_now(statuses, now)
        .filter(portfolio_id=portfolio_id)
        .order_by("born", "work_order_id")
        .values("work_order_id", "number", "building_id", "status", "category", "born", "bucket")
    )
    buckets = analytics.SLA_BUCKETS
    if wants_csv(request):
        return csv_response(
            f"portfolio-{portfolio_id}-open-work-orders.csv",
            [
                "work_order_id",
                "number",
                "building_id",
                "building_name",
                "status",
                "category",
                "created",
                "age_days",
                "sla_bucket",
            ],
            (
                [
                    r["work_order_id"],
                    r["number"],
                    r["building_id"],
                    names.get(r["building_id"], ""),
                    r["status"],
                    r["category"],
                    r["born"].isoformat(),
                    round((now - r["born"]).total_seconds() / 86400, 2),
                    buckets[r["bucket"]].label,
                ]
                for r in rows.iterator()
            ),
        )
    portfolio = DimPortfolio.objects.current().filter(portfolio_id=portfolio_id).first()
    if portfolio is None and not buildings:
        raise Http404(f"No portfolio {portfolio_id} in the warehouse")
    shown = buildings[:CHART_BUILDINGS]
    chart = grouped_bars_svg(
        [b.name or str(b.building_id) for b in shown],
        [
            FloatSeries(bucket.label, [b.buckets[i] for b in shown], PALETTE[i])
            for i, bucket in enumerate(buckets)
        ],
        title=f"Open work orders by building and age (busiest {len(shown)})",
    )
    listed = [
        {
            **r,
            "age_days": (now - r["born"]).total_seconds() / 86400,
            "bucket_label": buckets[r["bucket"]].label,
            "building_name": names.get(r["building_id"], ""),
        }
        for r in rows[:LISTED_WORK_ORDERS]
    ]
    return render_page(
        request,
        "admin/analytics/portfolio.html",
        f"Portfolio {portfolio_id}{': ' + portfolio.name if portfolio else ''} — open work orders",
        portfolio_id=portfolio_id,
        chart=chart,
        buildings=buildings,
        buckets=buckets,
        work_orders=listed,
        total=sum(b.total for b in buildings),
        listed_limit=LISTED_WORK_ORDERS,
    )
