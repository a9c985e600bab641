"""``python manage.py fix_unit_ids [--dry-run] [--work-order ID …]``: find current work orders whose unit
breaks R24 (a unit id equal to the building id of a multi-unit building, or a unit not in the building)
and correct them: print each change, write new versions, keep the originals, open correction cases."""
from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand
from django.db import transaction

from sync.policies.flags import read_flags
from sync.policies.units import building_facts, correct_units, flag_unit_problem, validate_unit
from warehouse.models import FactWorkOrder

BATCH = 500


class Command(BaseCommand):
    help = "Find and correct work orders whose unit id is wrong for their building (R24)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing.")
        parser.add_argument("--work-order", type=int, action="append", dest="work_orders", metavar="ID",
                            help="Only this work order (repeatable).")

    def handle(self, *args, dry_run: bool = False, work_orders: list[int] | None = None, **options):
        flags = read_flags()
        rows = FactWorkOrder.objects.current().order_by("work_order_id")
        if work_orders:
            rows = rows.filter(work_order_id__in=work_orders)
        buildings, units = building_facts()
        checked, by_code, pending = 0, Counter(), []
        for row in rows.values().iterator(chunk_size=2000):
            checked += 1
            building_id = row["building_id"]
            decision = validate_unit(row, buildings.get(building_id), units.get(building_id, set()))
            if not decision.cleared:
                continue
            by_code[decision.code] += 1
            self.stdout.write(
                f"WO {row['work_order_id']} (building {row['building_id']}): unit {row['unit_id']} → none, "
                f"building-level — {decision.problem}"
            )
            pending.append((row, decision))
        if not dry_run:
            # Written after the scan, so the cursor never reads rows this command is replacing.
            for start in range(0, len(pending), BATCH):
                self._apply(pending[start:start + BATCH], flags)
        total = sum(by_code.values())
        verb = "would correct" if dry_run else "corrected"
        detail = ", ".join(f"{code}: {n}" for code, n in sorted(by_code.items()))
        summary = f"checked {checked} current work orders; {verb} {total}"
        summary += f" ({detail})" if detail else ""
        summary += " — dry run, nothing written" if dry_run else ""
        self.stdout.write(summary)

    @staticmethod
    def _apply(items, flags) -> None:
        with transaction.atomic():
            correct_units(items, change_reason="fix_unit_ids: unit cleared (R24)")
            for row, decision in items:
                flag_unit_problem(row["work_order_id"], decision, building_id=row["building_id"], flags=flags)
