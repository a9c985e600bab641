"""bench_warehouse: how fast the SCD2 merge loads and re-merges work orders on the configured database, with
a PostgreSQL COPY of the same rows as the ceiling. Runs in a rolled-back transaction, with negative ids.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from warehouse.models import FactWorkOrder
from warehouse.scd import merge

STATUSES = ["Open", "In Progress", "Waiting on Parts", "Scheduled", "Completed", "Closed"]
CATEGORIES = ["Plumbing", "HVAC", "Electrical", "Appliance", "General"]


def synthetic_work_orders(rows: int, seed: int = 0) -> list[dict]:
    """Work orders shaped like the PropertyWare pull's, every field filled, ids negative."""
    rng = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    records = []
    for i in range(1, rows + 1):
        unit = 500_000 + rng.randrange(20_000)
        created = base + dt.timedelta(minutes=rng.randrange(600_000))
        records.append({
            "work_order_id": -i,
            "number": 100_000 + i,
            "portfolio_id": 1_000 + rng.randrange(250),
            "building_id": 10_000 + rng.randrange(400),
            "unit_id": unit,
            "unit_ids": [unit],
            "vendor_id": 3_000 + rng.randrange(60),
            "lease_id": 70_000 + rng.randrange(5_000),
            "status": rng.choice(STATUSES),
            "priority": rng.choice(["Low", "Normal", "High"]),
            "category": rng.choice(CATEGORIES),
            "type": "Service Request",
            "description": f"Tenant reports issue #{i}: " + "dripping tap in kitchen " * rng.randrange(1, 4),
            "location": f"P{i % 250} | B{i % 400}",
            "source": "Portal",
            "created_date": created,
            "start_date": created + dt.timedelta(days=1),
            "completed_date": None,
            "cost_estimate": Decimal(rng.randrange(5_000, 90_000)) / 100,
            "total_cost": Decimal(rng.randrange(0, 90_000)) / 100,
            "hour_estimate": rng.randrange(1, 16) / 2,
            "total_hours": rng.randrange(0, 16) / 2,
            "sf_job_id": None,
        })
    return records


class Command(BaseCommand):
    help = "Measure SCD2 merge throughput (initial load, incremental merge) against PostgreSQL COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000, help="work orders per batch")
        parser.add_argument("--changed", type=float, default=0.1, help="fraction with a Type-2 change")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--repeat", type=int, default=1, help="runs; each figure is the best of them (as timeit reports)"
        )

    def handle(self, *args, rows: int, changed: float, seed: int, repeat: int, **options):
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        if repeat < 1:
            raise CommandError("--repeat must be at least 1")
        if not 0 <= changed <= 1:
            raise CommandError("--changed must be a fraction between 0 and 1")
        records = synthetic_work_orders(rows, seed)
        rng = random.Random(seed + 1)
        # The incremental merge gives a fraction of rows a Type-2 change.
        changed_ids = set(rng.sample(range(rows), round(rows * changed)))
        incremental = [
            {**r, "status": "Reopened"} if i in changed_ids else r for i, r in enumerate(records)
        ]
        vendor = connection.vendor
        self.stdout.write(f"database: {vendor} ({connection.settings_dict['NAME']}), rows: {rows:,}, "
                          f"changed: {len(changed_ids):,} ({changed:.0%}), runs: {repeat}")
        runs = [self._run(records, incremental, vendor) for _ in range(repeat)]
        initial_s, first = min((r[0] for r in runs), key=lambda timing: timing[0])
        inc_s, second = min((r[1] for r in runs), key=lambda timing: timing[0])
        copy_s = min(r[2] for r in runs) if vendor == "postgresql" else None

        self.stdout.write(_line("initial load", rows, initial_s, first))
        self.stdout.write(_line("incremental merge", rows, inc_s, second))
        if copy_s is None:
            self.stdout.write("COPY ceiling:       not available (COPY needs PostgreSQL)")
            return
        self.stdout.write(_line("COPY (scratch)", rows, copy_s))
        self.stdout.write(f"merge / COPY time:  {inc_s / copy_s:>12.2f}x")


    @staticmethod
    def _run(records, incremental, vendor):
        """One run in a transaction that is rolled back: (initial, incremental, COPY) timings."""
        t0 = timezone.now()
        with transaction.atomic():
            initial = _timed(lambda: merge(FactWorkOrder, records, at=t0))
            # Autovacuum keeps a live table's statistics current, but cannot see this uncommitted load.
            _analyze()
            later = _timed(lambda: merge(FactWorkOrder, incremental, at=t0 + dt.timedelta(hours=1)))
            copy_s = _copy_seconds(records) if vendor == "postgresql" else None
            transaction.set_rollback(True)
        return initial, later, copy_s


def _line(label: str, rows: int, seconds: float, result=None) -> str:
    text = f"{label + ':':<20}{rows / seconds:>12,.0f} rows/s  ({seconds:.2f} s)"
    return f"{text}  {result}" if result is not None else text


def _analyze() -> None:
    if connection.vendor in ("postgresql", "sqlite"):
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(FactWorkOrder._meta.db_table)}")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _copy_seconds(records: list[dict]) -> float:
    """The same rows, same columns, COPY'd into a scratch temporary table shaped like fact_work_orders."""
    columns = list(records[0])
    json_columns = {"unit_ids"}
    with connection.cursor() as cursor:
        column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE bench_copy ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                column_list, sql.Identifier(FactWorkOrder._meta.db_table)
            )
        )
        start = time.perf_counter()
        with cursor.cursor.copy(sql.SQL("COPY bench_copy ({}) FROM STDIN").format(column_list)) as copy:
            for record in records:
                copy.write_row(
                    [json.dumps(record[c]) if c in json_columns else record[c] for c in columns]
                )
        return time.perf_counter() - start
