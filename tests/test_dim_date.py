"""load_dim_date fills the calendar idempotently, with the unknown row, weekends and federal holidays."""
import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from warehouse.keys import date_key
from warehouse.models import DimDate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_calendar():
    """The loader's tests start from an empty calendar, not the one the migrations filled."""
    DimDate.objects.all().delete()


def test_the_command_fills_every_day_of_the_range_and_the_unknown_row(capsys):
    call_command("load_dim_date", start="2024-12-30", end="2025-01-05")

    assert DimDate.objects.count() == 8
    unknown = DimDate.objects.get(date_key=0)
    assert (unknown.date, unknown.label, unknown.is_holiday) == (None, "Unknown", False)
    new_year = DimDate.objects.get(date_key=20250101)
    assert (new_year.date, new_year.year, new_year.quarter, new_year.month, new_year.day) == (
        dt.date(2025, 1, 1), 2025, 1, 1, 1,
    )
    assert (new_year.weekday, new_year.is_weekend, new_year.is_holiday) == (2, False, True)
    assert new_year.holiday_name == "New Year's Day" and new_year.label == "2025-01-01"
    assert [d.date_key for d in DimDate.objects.filter(is_weekend=True)] == [20250104, 20250105]
    assert "7 days" in capsys.readouterr().out


def test_running_it_again_changes_nothing():
    call_command("load_dim_date", start="2025-07-01", end="2025-07-31")
    before = list(DimDate.objects.values())

    call_command("load_dim_date", start="2025-07-01", end="2025-07-31")

    assert list(DimDate.objects.values()) == before


def test_overlapping_ranges_extend_the_calendar():
    call_command("load_dim_date", start="2025-01-01", end="2025-01-10")
    call_command("load_dim_date", start="2025-01-05", end="2025-01-20")

    assert DimDate.objects.exclude(date_key=0).count() == 20


def test_federal_holidays_include_the_observed_weekday():
    call_command("load_dim_date", start="2023-01-01", end="2023-12-31")

    holidays = dict(DimDate.objects.filter(is_holiday=True).values_list("date_key", "holiday_name"))
    assert holidays[20230704] == "Independence Day"
    assert holidays[20231123] == "Thanksgiving Day"
    assert holidays[20230102] == "New Year's Day (observed)"  # 1 January 2023 was a Sunday
    assert holidays[20230619] == "Juneteenth National Independence Day"
    assert 20230214 not in holidays
    assert len(holidays) == 13


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-13-01", "2025-12-31", "--start: '2025-13-01' is not a date"),
        ("2025-01-01", "tomorrow", "--end: 'tomorrow' is not a date"),
        ("2025-02-01", "2025-01-01", "reversed"),
        ("1800-01-01", "2200-01-01", "more than"),
    ],
)
def test_bad_ranges_are_refused_with_a_clear_error(start, end, message):
    with pytest.raises(CommandError, match=message):
        call_command("load_dim_date", start=start, end=end)
    assert not DimDate.objects.exists()


def test_date_keys_read_dates_and_times_in_the_project_time_zone():
    assert date_key(dt.date(2025, 3, 9)) == 20250309
    assert date_key(dt.datetime(2025, 3, 9, 23, 59, tzinfo=dt.UTC)) == 20250309
    assert date_key(None) == 0
