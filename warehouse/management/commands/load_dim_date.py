"""load_dim_date: fill dim_date for a range of days (idempotent) and make sure the unknown row exists."""
from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from greenlight.dbcheck import SchemaCommand
from warehouse.dim_date import load_dim_date


def _date(option: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date; expected YYYY-MM-DD") from None


class Command(SchemaCommand):
    help = "Fill dim_date from --start to --end (inclusive), with weekends and US federal holidays."

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD")

    def handle(self, *args, start: str, end: str, **options):
        first, last = _date("--start", start), _date("--end", end)
        try:
            result = load_dim_date(first, last)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"dim_date: {result.days} days from {first.isoformat()} to {last.isoformat()} "
            f"({result.holidays} federal holidays) and the unknown row (key 0)"
        )
