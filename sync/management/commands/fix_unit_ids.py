"""``python manage.py fix_unit_ids [--dry-run] [--work-order ID …]``: print and correct the current work
orders whose unit breaks R24 (``sync.policies.unit_fixes.fix_unit_ids`` does the work)."""
from __future__ import annotations

from greenlight.dbcheck import SchemaCommand
from sync.policies.unit_fixes import fix_unit_ids


class Command(SchemaCommand):
    help = "Find and correct work orders whose unit id is wrong for their building (R24)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing.")
        parser.add_argument("--work-order", type=int, action="append", dest="work_orders", metavar="ID",
                            help="Only this work order (repeatable).")

    def handle(self, *args, dry_run: bool = False, work_orders: list[int] | None = None, **options):
        result = fix_unit_ids(dry_run=dry_run, work_orders=work_orders, echo=self.stdout.write)
        self.stdout.write(result.summary)
