"""The questions the warehouse history exists for, and the two lookups the sync relies on (R40). Times are
aware datetimes; "on a date" means at the end of that day in the project's time zone. Tombstoned (deleted)
records are never part of a state: they existed until their deletion only.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Least, Lower
from django.utils import timezone

from .models import CustomerMapping, DimBuilding, FactWorkOrder


def work_order_versions(work_order_id: int, *, source_system: str = "pw") -> QuerySet:
    """Every version of one work order, oldest first (including a tombstone if it was deleted)."""
    return FactWorkOrder.objects.filter(source_system=source_system, work_order_id=work_order_id).order_by(
        "valid_from"
    )


def work_orders_as_of(ts: dt.datetime) -> QuerySet:
    """The version of every work order that existed at ``ts``."""
    _require_aware(ts)
    return FactWorkOrder.objects.as_of(ts)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the project's time zone."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return timezone.make_aware(midnight, timezone.get_default_timezone())


def open_work_orders_per_portfolio(day: dt.date, open_statuses: Iterable[str]) -> dict[int | None, int]:
    """{portfolio_id: number of work orders open at the end of ``day``}; statuses compare case-blind."""
    statuses = sorted({s.strip().lower() for s in open_statuses})
    if not statuses:
        raise ValueError("open_statuses is empty: no status counts as open")
    close = end_of_day(day)
    rows = (
        FactWorkOrder.objects.filter(valid_from__lt=close, is_deleted=False)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=close))
        .annotate(status_key=Lower("status"))
        .filter(status_key__in=statuses)
        .values("portfolio_id")
        .annotate(open=Count("pk"))
        .order_by("portfolio_id")
    )
    return {row["portfolio_id"]: row["open"] for row in rows}


def time_in_status(
    work_order_id: int | None = None, *, until: dt.datetime | None = None, source_system: str = "pw"
):
    """How long work orders spent in each status, the current version counted up to ``until`` (now).

    For one work order: {status: timedelta}. For all (work_order_id None): {work_order_id: {status: …}}.
    Versions that change another tracked field keep counting toward the same status; time after a
    deletion counts toward nothing.
    """
    until = until or timezone.now()
    _require_aware(until)
    # A version still open, or closed after ``until``, counts up to ``until``.
    end = Least(Coalesce("valid_to", Value(until)), Value(until))
    duration = ExpressionWrapper(end - F("valid_from"), output_field=DurationField())
    versions = FactWorkOrder.objects.filter(
        source_system=source_system, is_deleted=False, valid_from__lt=until
    )
    if work_order_id is not None:
        versions = versions.filter(work_order_id=work_order_id)
    totals = (
        versions.values("work_order_id", "status")
        .annotate(spent=Sum(duration))
        .order_by("work_order_id", "status")
    )
    result: dict[int, dict[str, dt.timedelta]] = defaultdict(dict)
    for row in totals:
        result[row["work_order_id"]][row["status"]] = row["spent"]
    if work_order_id is not None:
        return dict(result.get(work_order_id, {}))
    return dict(result)


def unmapped_buildings() -> QuerySet:
    """Current, active buildings with no ServiceFusion customer (R40, R12)."""
    mapped = CustomerMapping.objects.filter(entity_type="building", sf_customer_id__isnull=False).values(
        "pw_building_id"
    )
    return DimBuilding.objects.current().filter(active=True).exclude(building_id__in=mapped).order_by(
        "building_id"
    )


def work_orders_without_job(
    *,
    statuses: Iterable[str] | None = None,
    portfolio_id: int | None = None,
    building_id: int | None = None,
) -> QuerySet:
    """Current work orders with no ServiceFusion job (R40), optionally by status, portfolio or building."""
    rows = FactWorkOrder.objects.current().filter(sf_job_id__isnull=True)
    if statuses is not None:
        rows = rows.annotate(status_key=Lower("status")).filter(
            status_key__in=sorted({s.strip().lower() for s in statuses})
        )
    if portfolio_id is not None:
        rows = rows.filter(portfolio_id=portfolio_id)
    if building_id is not None:
        rows = rows.filter(building_id=building_id)
    return rows.order_by("work_order_id")


def _require_aware(ts) -> None:
    if not isinstance(ts, dt.datetime) or timezone.is_naive(ts):
        raise ValueError(f"expected an aware datetime, got {ts!r}")
