"""fix_unit_ids, the one implementation behind the management command, the django-q2 task and the admin
button: find current work orders whose unit breaks R24 and correct them (new versions, originals kept,
correction cases opened)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from sync.models import UnitCorrection
from sync.policies.flags import read_flags
from sync.policies.units import building_facts, correct_units, flag_unit_problem, validate_unit
from warehouse.models import FactWorkOrder

__all__ = ["CHANGE_REASON", "UnitFixResult", "fix_unit_ids"]

CHANGE_REASON = "fix_unit_ids: unit cleared (R24)"
BATCH = 500


@dataclass
class UnitFixResult:
    """What a pass found: each change as a line, how many rows it checked, the corrections by problem
    code, and the correction case of each correction (none in a dry run)."""

    dry_run: bool
    lines: list[str] = field(default_factory=list)
    checked: int = 0
    by_code: Counter = field(default_factory=Counter)
    cases: list[UnitCorrection] = field(default_factory=list)

    @property
    def summary(self) -> str:
        verb = "would correct" if self.dry_run else "corrected"
        detail = ", ".join(f"{code}: {n}" for code, n in sorted(self.by_code.items()))
        text = f"checked {self.checked} current work orders; {verb} {sum(self.by_code.values())}"
        text += f" ({detail})" if detail else ""
        return text + (" — dry run, nothing written" if self.dry_run else "")


def fix_unit_ids(*, dry_run: bool = False, work_orders: Iterable[int] | None = None,
                 echo: Callable[[str], object] | None = None) -> UnitFixResult:
    """Check current work orders (or only ``work_orders``) against R24 and, unless ``dry_run``, correct
    those that break it. ``echo`` receives each change as it is found."""
    flags = read_flags()
    result = UnitFixResult(dry_run=dry_run)
    rows = FactWorkOrder.objects.current().order_by("work_order_id")
    if work_orders:
        rows = rows.filter(work_order_id__in=list(work_orders))
    buildings, units = building_facts()
    pending = []
    for row in rows.values().iterator(chunk_size=2000):
        result.checked += 1
        building_id = row["building_id"]
        decision = validate_unit(row, buildings.get(building_id), units.get(building_id, set()))
        if not decision.cleared:
            continue
        result.by_code[decision.code] += 1
        line = (f"WO {row['work_order_id']} (building {building_id}): unit {row['unit_id']} → none, "
                f"building-level — {decision.problem}")
        result.lines.append(line)
        if echo is not None:
            echo(line)
        pending.append((row, decision))
    if not dry_run:
        # Written after the scan, so the cursor never reads rows this pass is replacing.
        for start in range(0, len(pending), BATCH):
            with transaction.atomic():
                part = pending[start:start + BATCH]
                correct_units(part, change_reason=CHANGE_REASON)
                result.cases += [
                    flag_unit_problem(row["work_order_id"], d, building_id=row["building_id"], flags=flags)
                    for row, d in part
                ]
    return result
