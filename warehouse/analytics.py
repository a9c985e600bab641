"""The aggregates behind the back-office analytics screens: open work orders by day, time in status, ages in
SLA buckets, jobs per day, one work order's versions and a portfolio's open work. Set-based, one SQL for
SQLite and PostgreSQL; "open" is always the caller's status list, compared case-blind.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, Lower, TruncDate
from django.utils import timezone

from .models import DimBuilding, DimPortfolio, FactJob, FactWorkOrder
from .queries import end_of_day


@dataclass(frozen=True)
class SlaBucket:
    label: str
    min_days: int
    max_days: int | None  # None: no upper bound


# The age buckets every screen and export uses: a work order of age a falls where min <= a < max.
SLA_BUCKETS: tuple[SlaBucket, ...] = (
    SlaBucket("< 1 day", 0, 1),
    SlaBucket("1–3 days", 1, 3),
    SlaBucket("3–7 days", 3, 7),
    SlaBucket("7–14 days", 7, 14),
    SlaBucket("14–30 days", 14, 30),
    SlaBucket("> 30 days", 30, None),
)

NO_CATEGORY = "(none)"

# The fields a version's history shows a change of, in the order staff read them.
HISTORY_FIELDS = FactWorkOrder.SCD_TYPE2_FIELDS + ("portfolio_id", "building_level", "unit_problem")


def day_range(days: int, *, today: dt.date | None = None) -> list[dt.date]:
    """The last ``days`` calendar days up to today (project time zone), oldest first."""
    today = today or timezone.localdate()
    return [today - dt.timedelta(days=days - 1 - i) for i in range(days)]


def _statuses(open_statuses: Iterable[str]) -> list[str]:
    statuses = sorted({" ".join(s.split()).lower() for s in open_statuses if s.strip()})
    if not statuses:
        raise ValueError("open_statuses is empty: no status counts as open")
    return statuses


def _open_versions(open_statuses: Iterable[str]):
    return (
        FactWorkOrder.objects.filter(source_system="pw", is_deleted=False)
        .annotate(status_key=Lower("status"))
        .filter(status_key__in=_statuses(open_statuses))
    )


def _local_date(column: str) -> TruncDate:
    return TruncDate(column, tzinfo=timezone.get_current_timezone())


@dataclass
class OpenByDay:
    days: list[dt.date]
    by_portfolio: dict[int | None, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> list[int]:
        return [sum(col) for col in zip(*self.by_portfolio.values(), strict=True)] or [0] * len(self.days)


def open_per_portfolio_by_day(
    days: Sequence[dt.date],
    open_statuses: Iterable[str],
    *,
    portfolio_ids: Iterable[int] | None = None,
    combined: bool = False,
) -> OpenByDay:
    """Work orders open at the end of each day, per portfolio (the same count as
    queries.open_work_orders_per_portfolio, for a whole range in three grouped queries); only
    ``portfolio_ids`` when given; with ``combined``, one series for all of them, keyed None.

    Open at the end of D ⇔ the version began on or before D and did not end on or before D, so the count is
    a running sum of versions begun minus versions ended.
    """
    first, last = days[0], days[-1]
    window_start, window_end = end_of_day(first - dt.timedelta(days=1)), end_of_day(last)
    versions = (
        _open_versions(open_statuses)
        .filter(valid_from__lt=window_end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=window_start))
    )
    if portfolio_ids is not None:
        versions = versions.filter(portfolio_id__in=list(portfolio_ids))
    key = Value(None, output_field=IntegerField()) if combined else F("portfolio_id")
    versions = versions.annotate(key=key)
    before = dict(
        versions.filter(valid_from__lt=window_start).values_list("key").annotate(n=Count("pk")).order_by()
    )
    began = (
        versions.filter(valid_from__gte=window_start)
        .annotate(day=_local_date("valid_from"))
        .values_list("key", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    ended = (
        versions.filter(valid_to__lt=window_end)
        .annotate(day=_local_date("valid_to"))
        .values_list("key", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    index = {day: i for i, day in enumerate(days)}
    delta: dict[int | None, list[int]] = defaultdict(lambda: [0] * len(days))
    for pid, n in before.items():
        delta[pid][0] += n
    for pid, day, n in began:
        delta[pid][index[day]] += n
    for pid, day, n in ended:
        delta[pid][index[day]] -= n
    result = OpenByDay(days=list(days))
    for pid in sorted(delta, key=lambda p: (p is None, p or 0)):
        counts = list(accumulate(delta[pid]))
        if any(counts):
            result.by_portfolio[pid] = counts
    return result


def portfolio_names(portfolio_ids: Iterable[int | None]) -> dict[int, str]:
    ids = [p for p in portfolio_ids if p is not None]
    return dict(
        DimPortfolio.objects.current().filter(portfolio_id__in=ids).values_list("portfolio_id", "name")
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th quantile of sorted values by linear interpolation between closest ranks (as PostgreSQL's
    percentile_cont)."""
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Spread:
    group: str
    work_orders: int
    median_days: float
    p90_days: float


def _spread(group: str, seconds: list[float]) -> Spread:
    seconds.sort()
    return Spread(group, len(seconds), percentile(seconds, 0.5) / 86400, percentile(seconds, 0.9) / 86400)


@dataclass
class TimeInStatus:
    by_status: list[Spread]
    by_category: list[Spread]  # time spent in open statuses, per category
    by_category_status: dict[str, list[Spread]]


def time_in_status_summary(
    since: dt.datetime, open_statuses: Iterable[str], *, until: dt.datetime | None = None
) -> TimeInStatus:
    """Median and p90 of the time a work order spent in each status, over stays that began since ``since``
    (the current stay counted up to ``until``, now); and per category, of the time spent open."""
    until = until or timezone.now()
    end = Least(Coalesce("valid_to", Value(until)), Value(until))
    duration = ExpressionWrapper(end - F("valid_from"), output_field=DurationField())
    rows = (
        FactWorkOrder.objects.filter(
            source_system="pw", is_deleted=False, valid_from__gte=since, valid_from__lt=until
        )
        .values_list("work_order_id", "category", "status")
        .annotate(spent=Sum(duration))
        .order_by()
    )
    if connection.vendor == "postgresql":
        return _time_in_status_sql(rows, _statuses(open_statuses))
    return _time_in_status_python(rows, set(_statuses(open_statuses)))


def _time_in_status_python(rows, open_set: set[str]) -> TimeInStatus:
    # One grouped row per (work order, category, status); the spread of those sums is left to Python because
    # SQLite has no percentile aggregate.
    by_status: dict[str, list[float]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    open_time: dict[tuple[str, int], float] = defaultdict(float)
    is_open: dict[str, bool] = {}
    for wo, category, status, spent in rows:
        seconds = spent.total_seconds()
        category = category or NO_CATEGORY
        by_status[status].append(seconds)
        by_pair[(category, status)].append(seconds)
        if status not in is_open:
            is_open[status] = " ".join(status.split()).lower() in open_set
        if is_open[status]:
            open_time[(category, wo)] += seconds
    by_category: dict[str, list[float]] = defaultdict(list)
    for (category, _wo), seconds in open_time.items():
        by_category[category].append(seconds)
    pairs: dict[str, list[Spread]] = defaultdict(list)
    for (category, status), values in sorted(by_pair.items()):
        pairs[category].append(_spread(status, values))
    return TimeInStatus(
        by_status=[_spread(s, v) for s, v in sorted(by_status.items())],
        by_category=[_spread(c, v) for c, v in sorted(by_category.items())],
        by_category_status=dict(pairs),
    )


# The same figures as _time_in_status_python, with PostgreSQL's percentile_cont over the grouped rows: the
# large dataset's stays would otherwise all travel to Python. One sort serves both status groupings, and
# byte order ("C") sorts much faster than the locale's, and as Python sorts.
_SPREADS_SQL = """
WITH stays AS (SELECT work_order_id AS wo, COALESCE(NULLIF(category, ''), %s) COLLATE "C" AS category,
                      status COLLATE "C" AS status, EXTRACT(EPOCH FROM spent)::float8 AS s
               FROM ({inner}) AS grouped),
open_time AS (SELECT category, wo, SUM(s) AS s FROM stays
              WHERE lower(status) = ANY(%s) GROUP BY category, wo)
SELECT CASE WHEN GROUPING(category) = 1 THEN 'status' ELSE 'pair' END, category, status, COUNT(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.9) WITHIN GROUP (ORDER BY s)
FROM stays GROUP BY GROUPING SETS ((status, category), (status))
UNION ALL
SELECT 'category', category, NULL, COUNT(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s) FROM open_time GROUP BY category
ORDER BY 1, 2, 3
"""


def _time_in_status_sql(rows, open_statuses: list[str]) -> TimeInStatus:
    inner, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_SPREADS_SQL.format(inner=inner), [NO_CATEGORY, *params, open_statuses])
        found = cursor.fetchall()
    result = TimeInStatus(by_status=[], by_category=[], by_category_status={})
    for kind, category, status, n, median, p90 in found:
        if kind == "status":
            result.by_status.append(Spread(status, n, median / 86400, p90 / 86400))
        elif kind == "category":
            result.by_category.append(Spread(category, n, median / 86400, p90 / 86400))
        else:
            result.by_category_status.setdefault(category, []).append(
                Spread(status, n, median / 86400, p90 / 86400)
            )
    return result


def _bucket_case(now: dt.datetime) -> tuple[Case, Coalesce]:
    """The index into SLA_BUCKETS of a work order's age (created date, else its version's start)."""
    born = Coalesce("created_date", "valid_from")
    whens = [
        When(**{"born__gt": now - dt.timedelta(days=b.max_days)}, then=Value(i))
        for i, b in enumerate(SLA_BUCKETS)
        if b.max_days is not None
    ]
    return Case(*whens, default=Value(len(SLA_BUCKETS) - 1), output_field=IntegerField()), born


def open_now(open_statuses: Iterable[str], now: dt.datetime | None = None):
    """Current open work orders annotated with ``bucket`` (index into SLA_BUCKETS) and ``born``."""
    now = now or timezone.now()
    bucket, born = _bucket_case(now)
    return (
        FactWorkOrder.objects.current()
        .filter(source_system="pw")
        .annotate(status_key=Lower("status"))
        .filter(status_key__in=_statuses(open_statuses))
        .annotate(born=born)
        .annotate(bucket=bucket)
    )


def sla_buckets(
    open_statuses: Iterable[str], *, now: dt.datetime | None = None, portfolio_id: int | None = None
) -> list[int]:
    """How many current open work orders fall in each SLA bucket, in SLA_BUCKETS order."""
    rows = open_now(open_statuses, now)
    if portfolio_id is not None:
        rows = rows.filter(portfolio_id=portfolio_id)
    counts = dict(rows.values_list("bucket").annotate(n=Count("pk")).order_by())
    return [counts.get(i, 0) for i in range(len(SLA_BUCKETS))]


def jobs_per_day(days: Sequence[dt.date]) -> tuple[list[int], list[int]]:
    """(created, completed) ServiceFusion jobs per day, from the jobs' current versions."""
    start, end = end_of_day(days[0] - dt.timedelta(days=1)), end_of_day(days[-1])
    jobs = FactJob.objects.filter(is_current=True)
    created = dict(
        jobs.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=_local_date("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    completed = dict(
        jobs.filter(closed_at__gte=start, closed_at__lt=end)
        .annotate(day=_local_date("closed_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [created.get(d, 0) for d in days], [completed.get(d, 0) for d in days]


@dataclass
class Version:
    row: FactWorkOrder
    changes: list[tuple[str, object, object]]  # (field, before, after); empty for the first version


def work_order_history(work_order_id: int) -> list[Version]:
    """Every SCD2 version of a PropertyWare work order, oldest first, each with what changed from the last."""
    rows = list(
        FactWorkOrder.objects.filter(source_system="pw", work_order_id=work_order_id).order_by("valid_from")
    )
    history: list[Version] = []
    previous: FactWorkOrder | None = None
    for row in rows:
        changes: list[tuple[str, object, object]] = []
        if previous is not None:
            changes = [
                (name, getattr(previous, name), getattr(row, name))
                for name in HISTORY_FIELDS
                if getattr(previous, name) != getattr(row, name)
            ]
            if row.is_deleted and not previous.is_deleted:
                changes.append(("is_deleted", False, True))
        history.append(Version(row, changes))
        previous = row
    return history


@dataclass
class BuildingOpen:
    building_id: int | None
    name: str
    buckets: list[int]
    statuses: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.buckets)


def portfolio_open_work(
    portfolio_id: int, open_statuses: Iterable[str], *, now: dt.datetime | None = None
) -> list[BuildingOpen]:
    """A portfolio's buildings with open work orders: counts per SLA bucket and per status, busiest first."""
    rows = open_now(open_statuses, now).filter(portfolio_id=portfolio_id)
    buckets: dict[int | None, list[int]] = defaultdict(lambda: [0] * len(SLA_BUCKETS))
    for building_id, bucket, n in (
        rows.values_list("building_id", "bucket").annotate(n=Count("pk")).order_by()
    ):
        buckets[building_id][bucket] = n
    statuses: dict[int | None, dict[str, int]] = defaultdict(dict)
    for building_id, status, n in (
        rows.values_list("building_id", "status").annotate(n=Count("pk")).order_by()
    ):
        statuses[building_id][status] = n
    names = dict(
        DimBuilding.objects.current()
        .filter(building_id__in=[b for b in buckets if b is not None])
        .values_list("building_id", "name")
    )
    out = [
        BuildingOpen(b, names.get(b, "") if b is not None else "(no building)", counts, statuses[b])
        for b, counts in buckets.items()
    ]
    return sorted(out, key=lambda b: (-b.total, b.building_id or 0))
