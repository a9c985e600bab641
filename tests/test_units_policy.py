"""Unit validation (R22-R25): wrong units are never sent to a technician; the job's unit is decided once, when
it is planned; the work order is held for staff while safe mode is on; staff corrections are kept with the
original; single-family buildings are their own unit."""
import pytest

from sync.models import UnitCorrection
from sync.policies.flags import read_flags, set_flag
from sync.policies.units import (
    UNIT_IS_BUILDING,
    UNIT_NOT_IN_BUILDING,
    UnitDecision,
    apply_unit_correction,
    building_facts,
    decide_job_unit,
    flag_unit_problem,
    held_work_order_ids,
    unit_cases,
    validate_unit,
)
from tests.warehouse_rows import building, versions, work_order
from warehouse.models import DimUnit, FactWorkOrder, FactWorkOrderOriginal
from warehouse.scd import merge

MULTI = {"building_id": 100, "multi_unit": True}
FLAT = {"building_id": 200, "multi_unit": False}


# --- the pure rules --------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit_ids,expected", [
    ([], UnitDecision(None, True)),  # R22: none → building-level
    ([101], UnitDecision(101, False)),  # one → that unit
    ([101, 102], UnitDecision(None, True)),  # several → building-level, no problem
])
def test_unit_selection(unit_ids, expected):
    assert validate_unit({"building_id": 100, "unit_ids": unit_ids}, MULTI, {101, 102}) == expected


def test_unit_equal_to_building_is_cleared_in_a_multi_unit_building():
    decision = validate_unit({"building_id": 100, "unit_ids": [100]}, MULTI, {101, 102})
    assert (decision.unit_id, decision.building_level, decision.code, decision.original_unit_id) == (
        None, True, UNIT_IS_BUILDING, 100)
    assert "multi-unit building 100" in decision.problem


def test_more_than_one_unit_makes_a_building_multi_unit():
    flagged_single = {"building_id": 100, "multi_unit": False}
    assert validate_unit({"building_id": 100, "unit_ids": [100]}, flagged_single, {101, 102}).code == (
        UNIT_IS_BUILDING)


@pytest.mark.parametrize("units", [set(), {201}])
def test_a_single_family_building_is_its_own_unit(units):
    assert validate_unit({"building_id": 200, "unit_ids": [200]}, FLAT, units) == UnitDecision(200, False)


def test_a_unit_outside_the_building_is_cleared():
    decision = validate_unit({"building_id": 100, "unit_ids": [555]}, MULTI, {101, 102})
    assert (decision.unit_id, decision.code, decision.original_unit_id) == (None, UNIT_NOT_IN_BUILDING, 555)
    unknown = validate_unit({"building_id": 900, "unit_ids": [901]}, None, set())
    assert unknown.code == UNIT_NOT_IN_BUILDING and "does not hold" in unknown.problem


def test_a_missing_unit_is_never_filled_with_the_building():
    assert validate_unit({"building_id": 100, "unit_ids": []}, MULTI, {101}) == UnitDecision(None, True)
    assert validate_unit({"building_id": 100, "unit_id": None}, MULTI, {101}) == UnitDecision(None, True)


def test_a_chosen_unit_id_is_checked_as_it_is():
    # A warehouse row (before the push, R24 "again") carries unit_id; unit_ids only says what PW sent.
    assert validate_unit({"building_id": 100, "unit_id": 101, "unit_ids": [100]}, MULTI, {101}) == (
        UnitDecision(101, False))
    assert validate_unit({"building_id": 100, "unit_id": 100, "unit_ids": [100]}, MULTI, {101}).cleared


# --- against the warehouse ---------------------------------------------------------------------------------

needs_db = pytest.mark.django_db


def _setup():
    building(100, multi_unit=True, units=(101, 102))
    building(200, multi_unit=False)
    return building_facts()


@needs_db
def test_building_facts_reads_current_buildings_and_units():
    buildings, units = _setup()
    assert buildings[100]["multi_unit"] is True and buildings[200]["multi_unit"] is False
    assert units[100] == {101, 102} and units[200] == set()


def _plan(record, buildings, units, flags=None):
    """What planning does with a work order as the pull recorded it: decide its job's unit once, opening a
    correction case for a unit cleared the first time."""
    flags = flags or read_flags()
    merge(FactWorkOrder, [record], sync_run_id=7)
    wo = FactWorkOrder.objects.current().values().get(work_order_id=record["work_order_id"])
    cases = unit_cases([wo["work_order_id"]]).get(wo["work_order_id"], {})
    unit = decide_job_unit(wo, buildings.get(wo["building_id"]), units[wo["building_id"]], cases,
                           safe_mode=flags.safe_mode)
    if unit.open_case:
        flag_unit_problem(wo["work_order_id"], unit.decision, building_id=wo["building_id"], flags=flags,
                          sync_run_id=7)
    return unit


def _as_pulled(work_order_id, building_id, unit_ids, **fields):
    unit_id = unit_ids[0] if len(unit_ids) == 1 else None
    return {"work_order_id": work_order_id, "building_id": building_id, "unit_ids": unit_ids,
            "unit_id": unit_id, "building_level": unit_id is None, **fields}


@needs_db
def test_planning_clears_the_unit_and_holds_the_push_once():
    buildings, units = _setup()
    record = _as_pulled(1, 100, [100], status="Scheduled", description="Leak")
    unit = _plan(record, buildings, units)
    assert (unit.decision.unit_id, unit.decision.code, unit.open_case) == (None, UNIT_IS_BUILDING, True)
    assert unit.hold == f"unit problem: {unit.decision.problem} (held for unit correction)"
    row = FactWorkOrder.objects.current().get(work_order_id=1)
    assert (row.unit_id, row.unit_ids) == (100, [100])  # the warehouse keeps what PropertyWare said
    correction = UnitCorrection.objects.get(work_order_id=1)
    assert (correction.state, correction.original_unit_id, correction.problem_code) == (
        "held", 100, UNIT_IS_BUILDING)
    assert correction.sync_run_id == 7
    assert held_work_order_ids() == {1}
    # Planned again: still one case, still held, and nothing more written.
    again = _plan(record, buildings, units)
    assert again.hold == unit.hold and not again.open_case
    assert UnitCorrection.objects.count() == 1 and len(versions(1)) == 1
    assert not FactWorkOrderOriginal.objects.exists()


@needs_db
def test_with_safe_mode_off_the_work_order_goes_building_level_at_once():
    buildings, units = _setup()
    set_flag("SAFE_MODE", "false", reason="test")
    unit = _plan(_as_pulled(2, 100, [555]), buildings, units)
    assert (unit.decision.unit_id, unit.decision.building_level, unit.hold) == (None, True, "")
    correction = UnitCorrection.objects.get(work_order_id=2)
    assert correction.state == "released" and correction.reason.startswith("automatic: SAFE_MODE off")
    assert held_work_order_ids() == set()


@needs_db
def test_a_valid_unit_passes_untouched():
    buildings, units = _setup()
    unit = _plan(_as_pulled(3, 100, [101]), buildings, units)
    assert (unit.decision, unit.hold, unit.open_case) == (UnitDecision(101, False), "", False)
    unit = _plan(_as_pulled(4, 200, [200]), buildings, units)
    assert unit.decision.unit_id == 200  # single-family
    assert not UnitCorrection.objects.exists() and not FactWorkOrderOriginal.objects.exists()


@needs_db
def test_staff_correct_the_unit_and_the_push_is_released(django_user_model):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    record = _as_pulled(5, 100, [100], description="Broken window")
    _plan(record, buildings, units)
    correction = apply_unit_correction(UnitCorrection.objects.get(work_order_id=5), 102, staff,
                                       "tenant confirmed unit 2B")
    assert (correction.state, correction.corrected_unit_id) == ("corrected", 102)
    assert correction.decided_by == staff
    assert correction.decided_at is not None
    old, new = versions(5)
    assert (old.unit_id, old.is_current, old.valid_to) == (100, False, new.valid_from)
    assert (new.unit_id, new.building_level, new.unit_problem, new.is_current) == (102, False, "", True)
    assert new.unit_key_id == DimUnit.objects.current().get(unit_id=102).unit_key
    assert new.change_reason == "unit corrected by ops: tenant confirmed unit 2B"
    assert new.description == "Broken window"  # everything else carried over
    assert FactWorkOrderOriginal.objects.get(work_order_id=5).unit_id == 100
    assert held_work_order_ids() == set()
    unit = _plan({**record, "unit_id": 102, "building_level": False}, buildings, units)
    assert (unit.decision.unit_id, unit.hold) == (102, "")
    # The next pull still says unit 100: the job still goes to the unit staff chose.
    unit = _plan(record, buildings, units)
    assert (unit.decision, unit.hold, unit.open_case) == (UnitDecision(102, False), "", False)
    assert UnitCorrection.objects.count() == 1


@needs_db
def test_staff_may_release_a_work_order_building_level(django_user_model):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    record = _as_pulled(6, 100, [777])
    _plan(record, buildings, units)
    correction = apply_unit_correction(UnitCorrection.objects.get(work_order_id=6), None, staff,
                                       "common-area job")
    assert correction.state == "released" and held_work_order_ids() == set()
    row = FactWorkOrder.objects.current().get(work_order_id=6)
    assert (row.unit_id, row.building_level) == (None, True)
    unit = _plan(record, buildings, units)  # pulled again with the bad unit: building-level, not held
    assert (unit.decision.unit_id, unit.hold, unit.open_case) == (None, "", False)


@needs_db
def test_a_correction_must_name_a_unit_of_the_building_and_give_a_reason(django_user_model):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    _plan(_as_pulled(8, 100, [100]), buildings, units)
    correction = UnitCorrection.objects.get(work_order_id=8)
    with pytest.raises(ValueError, match="not a unit of building 100"):
        apply_unit_correction(correction, 201, staff, "typo")
    with pytest.raises(ValueError, match="reason"):
        apply_unit_correction(correction, 101, staff, " ")
    correction.refresh_from_db()
    assert correction.state == "held" and len(versions(8)) == 1


@needs_db
def test_a_work_order_row_is_checked_as_stored():
    buildings, units = _setup()
    row = work_order(9, building_id=100, unit_id=100)  # loaded before the rules existed
    as_stored = {"building_id": row.building_id, "unit_id": row.unit_id, "unit_ids": row.unit_ids}
    decision = validate_unit(as_stored, buildings[100], units[100])
    assert decision.code == UNIT_IS_BUILDING
