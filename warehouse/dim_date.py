"""Rows of the dim_date calendar (keys, calendar parts, weekends, US federal holidays as the ``holidays``
package observes them, the "unknown" row), and its extension a year ahead as time passes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays

from .keys import date_key
from .models import DimDate

# Far more than a warehouse needs; stops a typo such as 20250 from building millions of rows.
MAX_DAYS = 366 * 200
UPDATE_FIELDS = [
    "date", "year", "quarter", "month", "day", "weekday", "is_weekend", "is_holiday", "holiday_name", "label",
]


@dataclass(frozen=True)
class LoadResult:
    days: int  # calendar days in the range (the unknown row not counted)
    holidays: int


def unknown_row() -> DimDate:
    return DimDate(date_key=DimDate.UNKNOWN_KEY, date=None, label="Unknown")


def calendar_rows(start: dt.date, end: dt.date) -> list[DimDate]:
    """One DimDate per day from ``start`` to ``end`` inclusive."""
    if end < start:
        raise ValueError(f"the range is reversed: end {end.isoformat()} is before start {start.isoformat()}")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ValueError(f"{days} days is more than the {MAX_DAYS} a calendar load allows")
    federal = holidays.country_holidays("US", years=range(start.year, end.year + 1))
    rows = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        name = federal.get(day) or ""
        rows.append(
            DimDate(
                date_key=date_key(day),
                date=day,
                year=day.year,
                quarter=(day.month - 1) // 3 + 1,
                month=day.month,
                day=day.day,
                weekday=day.weekday(),
                is_weekend=day.weekday() >= 5,
                is_holiday=bool(name),
                holiday_name=name,
                label=day.isoformat(),
            )
        )
    return rows


def load_dim_date(start: dt.date, end: dt.date) -> LoadResult:
    """Insert or refresh the calendar for the range, and the unknown row; running it again changes nothing."""
    rows = [unknown_row(), *calendar_rows(start, end)]
    DimDate.objects.bulk_create(
        rows, batch_size=1000, update_conflicts=True, unique_fields=["date_key"], update_fields=UPDATE_FIELDS
    )
    return LoadResult(days=len(rows) - 1, holidays=sum(r.is_holiday for r in rows))


#: The calendar is extended once fewer than this many days of it are left.
EXTEND_WHEN_DAYS_LEFT = 90


def calendar_end() -> dt.date | None:
    """The last day the calendar holds (None when it holds none)."""
    return DimDate.objects.exclude(date_key=DimDate.UNKNOWN_KEY).order_by("-date_key").values_list(
        "date", flat=True).first()


def extend_dim_date(today: dt.date) -> LoadResult | None:
    """Add the days through the end of next year once the calendar ends within EXTEND_WHEN_DAYS_LEFT days
    of ``today`` (or is empty); None when it reaches far enough already."""
    last = calendar_end()
    if last is not None and last >= today + dt.timedelta(days=EXTEND_WHEN_DAYS_LEFT):
        return None
    start = last + dt.timedelta(days=1) if last is not None else dt.date(today.year, 1, 1)
    return load_dim_date(start, dt.date(today.year + 1, 12, 31))
