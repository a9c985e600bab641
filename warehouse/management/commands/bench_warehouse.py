"""bench_warehouse: how fast the SCD2 merge loads and re-merges work orders on the configured database, with
a PostgreSQL COPY of the same rows (a prepared CSV) as the ceiling. Runs in a rolled-back transaction.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import time
from decimal import Decimal

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from greenlight.dbcheck import SchemaCommand, database_label
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


class Command(SchemaCommand):
    help = "Measure SCD2 merge throughput (initial load, incremental merge) against PostgreSQL COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000, help="work orders per batch")
        parser.add_argument("--changed", type=float, default=0.1, help="fraction with a Type-2 change")
        parser.add_argument("--new", type=float, default=0.01, help="fraction added as new work orders")
        parser.add_argument("--deleted", type=float, default=0.005, help="fraction left out (tombstoned)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--repeat", type=int, default=1, help="runs; each figure is the best of them (as timeit reports)"
        )

    def handle(self, *args, rows: int, changed: float, new: float, deleted: float, seed: int, repeat: int,
               **options):
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        if repeat < 1:
            raise CommandError("--repeat must be at least 1")
        for name, fraction in (("--changed", changed), ("--new", new), ("--deleted", deleted)):
            if not 0 <= fraction <= 1:
                raise CommandError(f"{name} must be a fraction between 0 and 1")
        n_new = round(rows * new)
        records = synthetic_work_orders(rows + n_new, seed)
        records, added = records[:rows], records[rows:]
        rng = random.Random(seed + 1)
        # The incremental batch gives a fraction of rows a Type-2 change, leaves a fraction out and adds
        # new ones; it is a full reconciliation, so the ones left out are tombstoned.
        changed_ids = set(rng.sample(range(rows), round(rows * changed)))
        deleted_ids = set(rng.sample(range(rows), round(rows * deleted)))
        incremental = [
            {**r, "status": "Reopened"} if i in changed_ids else r
            for i, r in enumerate(records) if i not in deleted_ids
        ] + added
        vendor = connection.vendor
        self.stdout.write(f"database: {database_label()}, rows: {rows:,}, "
                          f"changed: {len(changed_ids):,} ({changed:.0%}), runs: {repeat}; "
                          f"new: {n_new:,}, deleted: {len(deleted_ids):,}, full reconciliation")
        runs = []
        for _ in range(repeat):
            # Each run is rolled back, which leaves its rows dead in the table: vacuumed away before the next
            # run, or every run would scan the debris of the ones before (a full read of the open versions
            # took 85 ms instead of 30 with a few runs' worth).
            self.stdout.write(_vacuum())
            runs.append(self._run(records, incremental, vendor))
        initial_s, first = min((r[0] for r in runs), key=lambda timing: timing[0])
        inc_s, second = min((r[1] for r in runs), key=lambda timing: timing[0])

        self.stdout.write(_line("initial load", rows, initial_s, first))
        self.stdout.write(_line("incremental merge", len(incremental), inc_s, second))
        if vendor != "postgresql":
            self.stdout.write("COPY ceiling:       not available (COPY needs PostgreSQL)")
            return
        copy_s = min(r[2] for r in runs)
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
            later = _timed(lambda: merge(
                FactWorkOrder, incremental, at=t0 + dt.timedelta(hours=1), full=True,
                scope={"work_order_id__lt": 0},  # the benchmark's own rows only
            ))
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


def _vacuum() -> str:
    """VACUUM the work-order table and say how big it is. VACUUM cannot run inside a transaction: called
    within one (as by a test), the table is only measured."""
    table = FactWorkOrder._meta.db_table
    rows = FactWorkOrder.objects.count()
    if connection.vendor != "postgresql":
        return f"{table}: {rows:,} rows"
    with connection.cursor() as cursor:
        done = "not vacuumed (inside a transaction)" if connection.in_atomic_block else "vacuumed"
        if not connection.in_atomic_block:
            cursor.execute(f"VACUUM {connection.ops.quote_name(table)}")
        cursor.execute("SELECT pg_relation_size(%s)", [table])
        return f"{table} {done}: {rows:,} rows, {cursor.fetchone()[0] / 2**20:,.1f} MiB"


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _copy_seconds(records: list[dict]) -> float:
    """The same rows and columns, written to an in-memory CSV first and then COPY'd in one stream into a
    scratch temporary table shaped like fact_work_orders: what the server's COPY costs, with no per-row
    Python in the timed part."""
    columns = list(records[0])
    json_columns = {"unit_ids"}
    buffer = io.StringIO()
    out = csv.writer(buffer)
    for record in records:
        # NULL is an unquoted empty field in COPY's CSV format, which the csv module writes for None.
        out.writerow([json.dumps(record[c]) if c in json_columns else record[c] for c in columns])
    data = buffer.getvalue().encode()
    with connection.cursor() as cursor:
        column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE bench_copy ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                column_list, sql.Identifier(FactWorkOrder._meta.db_table)
            )
        )
        statement = sql.SQL("COPY bench_copy ({}) FROM STDIN (FORMAT csv)").format(column_list)
        start = time.perf_counter()
        with cursor.cursor.copy(statement) as copy:
            copy.write(data)
        seconds = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_copy")
        if cursor.fetchone()[0] != len(records):
            raise CommandError("the COPY ceiling did not load every row")
        return seconds
