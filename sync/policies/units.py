"""Unit-id validation (business rules §6, R22-R25): which unit a work order's job goes to — decided once,
when the job is planned (``decide_job_unit``) — and the warehouse side: staff corrections, the originals
kept in ``fact_work_orders_original``, and the correction cases that hold a push while SAFE_MODE is on."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from sync.loaders.fact_edits import current_work_order, work_order_record
from sync.models import UnitCorrection
from sync.policies.flags import Flags
from warehouse.models import DimBuilding, DimUnit, FactWorkOrder, FactWorkOrderOriginal
from warehouse.scd import merge

__all__ = [
    "UNIT_IS_BUILDING",
    "UNIT_NOT_IN_BUILDING",
    "JobUnit",
    "UnitDecision",
    "apply_unit_correction",
    "building_facts",
    "correct_units",
    "decide_job_unit",
    "flag_unit_problem",
    "held_work_order_ids",
    "is_multi_unit",
    "keep_originals",
    "select_unit",
    "unit_cases",
    "unit_ids_by_building",
    "validate_unit",
]

UNIT_IS_BUILDING = "unit_is_building"
UNIT_NOT_IN_BUILDING = "unit_not_in_building"


@dataclass(frozen=True)
class UnitDecision:
    """Where a work order's job goes: ``unit_id`` (None = building level) and, when the unit id PropertyWare
    sent was cleared, why (``problem``, ``code``) and what it was (``original_unit_id``)."""

    unit_id: int | None
    building_level: bool
    problem: str = ""
    code: str = ""
    original_unit_id: int | None = None

    @property
    def cleared(self) -> bool:
        return bool(self.code)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _work_order_id(wo: Any) -> int | None:
    return _int(_get(wo, "work_order_id", _get(wo, "id")))


def select_unit(wo: Any) -> int | None:
    """R22: the unit a work order names. A chosen ``unit_id`` (a warehouse row, a staff correction) is
    taken as it is; otherwise ``unit_ids``: none or several → building level, exactly one → that unit."""
    chosen = "unit_id" in wo if isinstance(wo, Mapping) else hasattr(wo, "unit_id")
    if chosen:
        return _int(_get(wo, "unit_id"))
    unit_ids = list(_get(wo, "unit_ids") or ())
    return _int(unit_ids[0]) if len(unit_ids) == 1 else None


def is_multi_unit(building: Mapping | None, unit_ids_in_building: set[int]) -> bool:
    """R23: multi-unit if PropertyWare says so or the warehouse holds more than one unit for it."""
    return bool(building is not None and _get(building, "multi_unit")) or len(unit_ids_in_building) > 1


def validate_unit(wo: Mapping, building: Mapping | None, unit_ids_in_building: set[int]) -> UnitDecision:
    """Apply R22-R24 to one work order.

    ``wo`` holds ``building_id`` and either ``unit_id`` (already chosen) or ``unit_ids`` (as PropertyWare
    sent them); ``building`` is its current ``dim_building`` row (or None if unknown);
    ``unit_ids_in_building`` the unit ids ``dim_unit`` holds for that building.

    - a unit equal to the building id in a multi-unit building is cleared (R24.1); in a single-family
      building it is the building itself (R13) and stays;
    - any other unit must be one of the building's units, else it is cleared (R24.2);
    - a missing unit is never filled in (R24.3): the job goes to the building.
    """
    building_id = _int(_get(wo, "building_id"))
    unit_id = select_unit(wo)
    if unit_id is None:
        return UnitDecision(None, True)
    units = {int(u) for u in unit_ids_in_building}
    multi = is_multi_unit(building, units)
    if unit_id == building_id and building is not None and not multi:
        return UnitDecision(unit_id, False)  # single-family: the building is its own unit
    if unit_id == building_id and multi:
        return UnitDecision(
            None, True, f"unit id {unit_id} is the building id of multi-unit building {building_id}",
            UNIT_IS_BUILDING, unit_id,
        )
    if unit_id in units:
        return UnitDecision(unit_id, False)
    where = (f"building {building_id}" if building is not None
             else f"building {building_id}, which the warehouse does not hold")
    return UnitDecision(None, True, f"unit {unit_id} is not a unit of {where}", UNIT_NOT_IN_BUILDING, unit_id)


# --- warehouse side ------------------------------------------------------------------------------------

def building_facts(building_ids: Iterable[int] | None = None) -> tuple[dict[int, dict], dict[int, set[int]]]:
    """Current buildings by id and the unit ids of each, as ``validate_unit`` wants them (two queries)."""
    buildings = DimBuilding.objects.current()
    if building_ids is not None:
        building_ids = list(set(building_ids))
        buildings = buildings.filter(building_id__in=building_ids)
    by_id = {row["building_id"]: row for row in buildings.values("building_id", "multi_unit", "name")}
    return by_id, unit_ids_by_building(building_ids)


def unit_ids_by_building(building_ids: Iterable[int] | None = None) -> dict[int, set[int]]:
    """The current unit ids of each building (of every building when None), as ``validate_unit`` wants."""
    units = DimUnit.objects.current()
    if building_ids is not None:
        units = units.filter(building_id__in=list(set(building_ids)))
    unit_ids: dict[int, set[int]] = defaultdict(set)
    for building_id, unit_id in units.values_list("building_id", "unit_id"):
        unit_ids[building_id].add(unit_id)
    return unit_ids


def _json_safe(row: Mapping) -> dict:
    return json.loads(json.dumps(dict(row), cls=DjangoJSONEncoder))


def keep_originals(rows: Iterable[Mapping], *, sync_run_id: int | None = None,
                   received_at: datetime | None = None) -> int:
    """Keep each work order as first received in ``fact_work_orders_original`` (R25); a work order that
    already has its original keeps it. Returns how many were stored."""
    received_at = received_at or timezone.now()
    objs = []
    for row in rows:
        wo_id = _work_order_id(row)
        assert wo_id is not None  # every work order carries its id
        objs.append(FactWorkOrderOriginal(
            source_system=_get(row, "source_system") or "pw", work_order_id=wo_id, received_at=received_at,
            sync_run_id=sync_run_id, unit_id=_int(_get(row, "unit_id", select_unit(row))),
            building_id=_int(_get(row, "building_id")), unit_ids=list(_get(row, "unit_ids") or []),
            status=_get(row, "status") or "", payload=_json_safe(row),
        ))
    existing = set(FactWorkOrderOriginal.objects.filter(
        work_order_id__in=[o.work_order_id for o in objs]).values_list("work_order_id", flat=True))
    fresh = [o for o in objs if o.work_order_id not in existing]
    FactWorkOrderOriginal.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _unit_keys(unit_ids: Iterable[int]) -> dict[int | None, int]:
    current = DimUnit.objects.current().filter(unit_id__in=list(unit_ids))
    return dict(current.values_list("unit_id", "unit_key"))


def correct_units(items: Iterable[tuple[Mapping, UnitDecision]], *, change_reason: str,
                  sync_run_id: int | None = None, at: datetime | None = None):
    """Write the decided unit onto current ``fact_work_orders`` rows as new versions (one set-based merge),
    keeping each row as it was in ``fact_work_orders_original`` first. Returns the MergeResult."""
    items = list(items)
    keep_originals([row for row, _ in items], sync_run_id=sync_run_id)
    keys = _unit_keys(d.unit_id for _, d in items if d.unit_id is not None)
    records = []
    for row, decision in items:
        records.append(work_order_record(
            row, unit_id=decision.unit_id, building_level=decision.building_level,
            unit_problem=decision.problem[:255], unit_key=keys.get(decision.unit_id),
        ))
    return merge(FactWorkOrder, records, at=at, sync_run_id=sync_run_id, change_reason=change_reason[:200])


def flag_unit_problem(work_order_id: int, decision: UnitDecision, *, building_id: int | None, flags: Flags,
                      sync_run_id: int | None = None) -> UnitCorrection:
    """Open (or find) the correction case for a cleared unit: held while SAFE_MODE is on, else released
    building-level at once. The same bad unit on the same work order is one case however often pulled."""
    held = flags.safe_mode
    correction, _ = UnitCorrection.objects.get_or_create(
        work_order_id=work_order_id, original_unit_id=decision.original_unit_id,
        defaults={
            "building_id": building_id, "problem_code": decision.code, "problem": decision.problem[:255],
            "sync_run_id": sync_run_id,
            "state": UnitCorrection.State.HELD if held else UnitCorrection.State.RELEASED,
            "reason": "" if held else "automatic: SAFE_MODE off, pushed building-level",
            "decided_at": None if held else timezone.now(),
        },
    )
    return correction


@dataclass(frozen=True)
class JobUnit:
    """Where a work order's job goes (``decision``); ``hold``: why it waits for staff instead;
    ``open_case``: the unit was cleared and no correction case names it yet."""

    decision: UnitDecision
    hold: str = ""
    open_case: bool = False


def unit_cases(work_order_ids: Iterable[int] | None = None) -> dict[int, dict[int, Mapping]]:
    """The correction cases of these work orders (all when None): work order → original unit → case."""
    rows = UnitCorrection.objects.all()
    if work_order_ids is not None:
        rows = rows.filter(work_order_id__in=list(set(work_order_ids)))
    out: dict[int, dict[int, Mapping]] = defaultdict(dict)
    for case in rows.values("work_order_id", "original_unit_id", "state", "corrected_unit_id", "problem"):
        out[case["work_order_id"]][case["original_unit_id"]] = case
    return out


def decide_job_unit(wo: Mapping, building: Mapping | None, unit_ids_in_building: set[int],
                    cases: Mapping[int, Mapping], *, safe_mode: bool) -> JobUnit:
    """R22-R24 for a work order's job, with staff's decisions (``cases``: its correction cases by original
    unit, from ``unit_cases``). A case still held keeps the job waiting while SAFE_MODE is on; a unit staff
    corrected is used for the unit PropertyWare keeps sending; a released one goes building-level; a newly
    cleared unit waits in safe mode and goes building-level without it."""
    held = next((c for c in cases.values() if c["state"] == UnitCorrection.State.HELD), None)
    if held is not None and safe_mode:
        why = f"unit problem: {held['problem']} (held for unit correction)"
        return JobUnit(UnitDecision(None, True), hold=why)
    decision = validate_unit(wo, building, unit_ids_in_building)
    if not decision.cleared:
        return JobUnit(decision)
    assert decision.original_unit_id is not None  # cleared: the unit it names
    case = cases.get(decision.original_unit_id)
    if case is not None and case["state"] == UnitCorrection.State.CORRECTED:
        chosen = {"building_id": _get(wo, "building_id"), "unit_id": case["corrected_unit_id"]}
        staff_choice = validate_unit(chosen, building, unit_ids_in_building)
        if not staff_choice.cleared:
            return JobUnit(staff_choice)
    if case is not None and case["state"] == UnitCorrection.State.RELEASED:
        return JobUnit(decision)
    hold = f"unit problem: {decision.problem} (held for unit correction)" if safe_mode else ""
    return JobUnit(decision, hold=hold, open_case=case is None)


def held_work_order_ids() -> set[int]:
    """Work orders whose push waits for a unit correction."""
    return set(UnitCorrection.objects.filter(state=UnitCorrection.State.HELD)
               .values_list("work_order_id", flat=True))


def apply_unit_correction(correction: UnitCorrection, unit_id: int | None, user,
                          reason: str) -> UnitCorrection:
    """Staff decide a held work order: ``unit_id`` the right unit (corrected) or None (released to go
    building-level). Writes a new ``fact_work_orders`` version and releases the push.

    The unit must belong to the work order's building (or be the building itself when single-family).
    """
    if not (reason or "").strip():
        raise ValueError("a reason is required to correct a unit")
    with transaction.atomic():
        current = current_work_order(correction.work_order_id)
        if current is None:
            raise ValueError(f"work order {correction.work_order_id} has no current row in fact_work_orders")
        if unit_id is None:
            decision = UnitDecision(None, True, correction.problem, correction.problem_code,
                                    correction.original_unit_id)
            state = UnitCorrection.State.RELEASED
        else:
            buildings, units = building_facts([current["building_id"]])
            decision = validate_unit({"building_id": current["building_id"], "unit_id": unit_id},
                                     buildings.get(current["building_id"]), units[current["building_id"]])
            if decision.cleared:
                raise ValueError(f"cannot correct work order {correction.work_order_id}: {decision.problem}")
            state = UnitCorrection.State.CORRECTED
        who = getattr(user, "get_username", lambda: "system")()
        correct_units([(current, decision)], change_reason=f"unit {state} by {who}: {reason.strip()}")
        correction.state = state
        correction.corrected_unit_id = unit_id
        correction.decided_by = user
        correction.decided_at = timezone.now()
        correction.reason = reason.strip()
        correction.save()
    return correction
