"""The warehouse-wide analytics screens: open work orders per portfolio by day, time in status, ages of open
work orders in SLA buckets and jobs per day; each a chart, a table and a CSV export (read-only)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from warehouse import analytics
from warehouse.queries import open_work_orders_per_portfolio

from .analytics_common import csv_response, open_statuses, range_days, render_page, requires, wants_csv
from .charts import PALETTE, FloatSeries, Series, daily_bars_svg, daily_lines_svg, grouped_bars_svg

TOP_PORTFOLIOS = 5  # lines drawn beside the total
LISTED_PORTFOLIOS = 100  # rows of the table; the export has every portfolio


@requires("warehouse.view_factworkorder")
def open_by_portfolio(request):
    days = range_days(request)
    day_list, statuses = analytics.day_range(days), open_statuses()
    if wants_csv(request):
        data = analytics.open_per_portfolio_by_day(day_list, statuses)
        names = analytics.portfolio_names(data.by_portfolio)
        header = ["portfolio_id", "portfolio_name", *(d.isoformat() for d in data.days)]
        rows = [
            [pid, names.get(pid, "") if pid is not None else "", *counts]
            for pid, counts in data.by_portfolio.items()
        ]
        return csv_response(
            f"open-work-orders-per-portfolio-{days}d.csv", header, [*rows, ["", "total", *data.total]]
        )
    # The page needs every portfolio's first and last day only, and the busiest few portfolios' days.
    today = open_work_orders_per_portfolio(day_list[-1], statuses)
    first = open_work_orders_per_portfolio(day_list[0], statuses)
    ranked = sorted(set(today) | set(first), key=lambda p: (-today.get(p, 0), -first.get(p, 0), p or 0))
    top = [p for p in ranked[:TOP_PORTFOLIOS] if p is not None]
    total = analytics.open_per_portfolio_by_day(day_list, statuses, combined=True).total
    busiest = analytics.open_per_portfolio_by_day(day_list, statuses, portfolio_ids=top).by_portfolio
    names = analytics.portfolio_names(ranked[:LISTED_PORTFOLIOS])
    series = [FloatSeries("All portfolios", total, PALETTE[0])] + [
        FloatSeries(names.get(pid, str(pid)), busiest.get(pid, [0] * days), PALETTE[i + 1])
        for i, pid in enumerate(top)
    ]
    chart = daily_lines_svg(
        day_list, series, title=f"Open work orders at the end of each day, last {days} days"
    )
    table = [
        {
            "portfolio_id": pid,
            "name": names.get(pid, "") if pid is not None else "(none)",
            "first": first.get(pid, 0),
            "last": today.get(pid, 0),
        }
        for pid in ranked[:LISTED_PORTFOLIOS]
    ]
    return render_page(
        request,
        "admin/analytics/open_by_portfolio.html",
        "Open work orders per portfolio",
        days=days,
        chart=chart,
        table=table,
        total_today=total[-1],
        total_first=total[0],
        portfolios=len(ranked),
        listed_limit=LISTED_PORTFOLIOS,
    )


def _days(value: float) -> float:
    return round(value, 2)


@requires("warehouse.view_factworkorder")
def time_in_status(request):
    days = range_days(request)
    since = timezone.now() - dt.timedelta(days=days)
    data = analytics.time_in_status_summary(since, open_statuses())
    if wants_csv(request):
        rows = [
            ["status", "", s.group, s.work_orders, _days(s.median_days), _days(s.p90_days)]
            for s in data.by_status
        ]
        rows += [
            ["category", s.group, "(open)", s.work_orders, _days(s.median_days), _days(s.p90_days)]
            for s in data.by_category
        ]
        rows += [
            ["category_status", category, s.group, s.work_orders, _days(s.median_days), _days(s.p90_days)]
            for category, spreads in data.by_category_status.items()
            for s in spreads
        ]
        return csv_response(
            f"time-in-status-{days}d.csv",
            ["group", "category", "status", "work_orders", "median_days", "p90_days"],
            rows,
        )

    def chart(spreads, title):
        labels = [s.group for s in spreads]
        return grouped_bars_svg(
            labels,
            [
                FloatSeries("median", [_days(s.median_days) for s in spreads], PALETTE[0]),
                FloatSeries("p90", [_days(s.p90_days) for s in spreads], PALETTE[1]),
            ],
            title=title,
            unit=" d",
        )

    return render_page(
        request,
        "admin/analytics/time_in_status.html",
        "Time in status",
        days=days,
        chart=chart(data.by_status, f"Days in each status (stays begun in the last {days} days)"),
        category_chart=chart(data.by_category, f"Days open, per category (last {days} days)"),
        by_status=data.by_status,
        by_category=data.by_category,
        by_category_status=data.by_category_status,
    )


@requires("warehouse.view_factworkorder")
def sla_ages(request):
    counts = analytics.sla_buckets(open_statuses())
    buckets = analytics.SLA_BUCKETS
    if wants_csv(request):
        return csv_response(
            "open-work-order-ages.csv",
            ["sla_bucket", "min_days", "max_days", "open_work_orders"],
            [[b.label, b.min_days, b.max_days, n] for b, n in zip(buckets, counts, strict=True)],
        )
    chart = grouped_bars_svg(
        [b.label for b in buckets],
        [FloatSeries("open work orders", counts, PALETTE[0])],
        title="Open work orders by age",
    )
    return render_page(
        request,
        "admin/analytics/sla_ages.html",
        "Ages of open work orders",
        chart=chart,
        rows=list(zip(buckets, counts, strict=True)),
        total=sum(counts),
    )


@requires("warehouse.view_factjob")
def jobs_per_day(request):
    days = range_days(request)
    day_list = analytics.day_range(days)
    created, completed = analytics.jobs_per_day(day_list)
    if wants_csv(request):
        return csv_response(
            f"jobs-per-day-{days}d.csv",
            ["date", "created", "completed"],
            [[d.isoformat(), c, k] for d, c, k in zip(day_list, created, completed, strict=True)],
        )
    chart = daily_bars_svg(
        day_list,
        [Series("created", created, PALETTE[0]), Series("completed", completed, PALETTE[2])],
        title=f"ServiceFusion jobs created and completed per day, last {days} days",
    )
    return render_page(
        request,
        "admin/analytics/jobs_per_day.html",
        "Jobs created and completed",
        days=days,
        chart=chart,
        created=sum(created),
        completed=sum(completed),
        rows=[(d, c, k) for d, c, k in zip(day_list, created, completed, strict=True) if c or k][::-1],
    )
