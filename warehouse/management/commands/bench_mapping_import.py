"""``python manage.py bench_mapping_import [--rows 20000]``: times reading and checking, dry run, import and
re-check of a customer-mapping file, in one transaction that is rolled back. Prints figures; asserts nothing.
"""
from __future__ import annotations

import time

from django.db import transaction

from greenlight.dbcheck import SchemaCommand
from warehouse.mapping_import import FORMATS, check_dataset, read_dataset
from warehouse.models import DimBuilding, DimPortfolio
from warehouse.resources import HEADER_LINE, CustomerMappingResource
from warehouse.scd import merge

PORTFOLIO = 990_000_001  # far from real PropertyWare ids
FIRST_BUILDING = 990_000_000_000


class Rollback(Exception):
    pass


class Command(SchemaCommand):
    help = "Time a customer-mapping import of N rows (in a rolled-back transaction)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20_000)

    def _timed(self, label: str, fn):
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{label:<44} {elapsed:8.2f} s  ({elapsed / self.rows * 1000:.2f} ms/row)")
        return result

    def handle(self, *args, rows: int, **options):
        self.rows = rows
        lines = [HEADER_LINE] + [f"building,{PORTFOLIO},{FIRST_BUILDING + i},,create" for i in range(rows)]
        data = ("\r\n".join(lines) + "\r\n").encode()
        try:
            with transaction.atomic():
                merge(DimPortfolio, [{"portfolio_id": PORTFOLIO, "name": "Benchmark"}])
                merge(DimBuilding, [{"building_id": FIRST_BUILDING + i, "portfolio_id": PORTFOLIO,
                                     "name": f"Bench {i}"} for i in range(rows)])
                dataset = self._timed(f"read and check {rows:,} rows",
                                      lambda: self._read(data))
                resource = CustomerMappingResource
                check = self._timed("dry run (preview / background check)",
                                    lambda: resource().import_data(dataset, dry_run=True))
                done = self._timed("import", lambda: resource().import_data(dataset, use_transactions=True))
                again = self._timed("dry run of the same file (all unchanged)",
                                    lambda: resource().import_data(dataset, dry_run=True))
                self.stdout.write(f"new {check.totals['new']:,}; imported {done.totals['new']:,}; "
                                  f"unchanged on re-check {again.totals['skip']:,}")
                raise Rollback
        except Rollback:
            self.stdout.write("rolled back: nothing kept")

    @staticmethod
    def _read(data: bytes):
        dataset = read_dataset(data, FORMATS[0], max_rows=data.count(b"\n"))
        check_dataset(dataset)
        return dataset
