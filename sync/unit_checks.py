"""The engine's use of the unit policy (sync.units): the warehouse context a decision needs (the
building and its units), and the unit corrections opened for staff when a unit is cleared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sync.units import validate_unit
from warehouse.models import DimBuilding, DimUnit

__all__ = ["UnitContext", "record_corrections"]


class UnitContext:
    """Current buildings and the units under each, read once per step."""

    def __init__(self, buildings: Mapping[int, dict], units_by_building: Mapping[int, set[int]]) -> None:
        self.buildings = buildings
        self.units_by_building = units_by_building

    @classmethod
    def load(cls) -> UnitContext:
        buildings = {
            row["building_id"]: row
            for row in DimBuilding.objects.filter(is_current=True).values(
                "building_id",
                "portfolio_id",
                "multi_unit",
                "rentable",
                "active",
                "address",
                "address2",
                "city",
                "state",
                "zip",
                "country",
                "name",
                "abbreviation",
            )
        }
        units: dict[int, set[int]] = defaultdict(set)
        for unit_id, building_id in DimUnit.objects.filter(is_current=True).values_list(
            "unit_id", "building_id"
        ):
            units[building_id].add(unit_id)
        return cls(buildings, units)

    def decide(self, wo):
        """UnitDecision for a work order (a PW record or a mapping with building_id / unit_ids)."""
        data = _as_mapping(wo)
        building_id = data.get("building_id")
        return validate_unit(
            data, self.buildings.get(building_id), set(self.units_by_building.get(building_id, ()))
        )


def _as_mapping(wo) -> dict:
    if isinstance(wo, Mapping):
        data = dict(wo)
    else:
        data = {
            "work_order_id": int(wo.id),
            "building_id": int(wo.building_id) if wo.building_id else None,
            "unit_ids": [int(u) for u in (wo.unit_ids or ())],
        }
    ids = list(data.get("unit_ids") or ())
    data.setdefault("unit_id", ids[0] if len(ids) == 1 else None)
    data.setdefault("id", data.get("work_order_id"))
    return data


def record_corrections(items: Iterable[tuple], *, sync_run_id: int | None) -> int:
    """Open a unit correction per work order whose unit was cleared (one per bad unit, kept across pulls)."""
    from sync.models import UnitCorrection

    created = 0
    for wo, decision in items:
        data = _as_mapping(wo)
        original = data.get("unit_id")
        if original is None:
            ids = data.get("unit_ids") or []
            original = ids[0] if ids else None
        if original is None:
            continue  # nothing was cleared (e.g. several units: building-level by rule R22)
        _, was_created = UnitCorrection.objects.get_or_create(
            work_order_id=data["work_order_id"],
            original_unit_id=original,
            defaults={
                "building_id": data.get("building_id"),
                "problem_code": getattr(decision, "code", "") or "unit_cleared",
                "problem": (decision.problem or "")[:255],
                "sync_run_id": sync_run_id,
            },
        )
        created += was_created
    return created
