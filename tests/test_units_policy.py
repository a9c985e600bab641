"""Unit validation (R22-R25): wrong units are never sent to a technician; the original is kept; the work
order is held for staff while safe mode is on; single-family buildings are their own unit."""
import pytest

from sync.models import UnitCorrection
from sync.policies.flags import read_flags, set_flag
from sync.policies.signals import work_order_released
from sync.policies.units import (
    UNIT_IS_BUILDING,
    UNIT_NOT_IN_BUILDING,
    UnitDecision,
    apply_unit_correction,
    apply_unit_rules,
    building_facts,
    held_work_order_ids,
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


def _ingest(record, buildings, units, flags=None):
    out, decision = apply_unit_rules(record, buildings.get(record["building_id"]),
                                     units[record["building_id"]], flags=flags or read_flags(), sync_run_id=7)
    merge(FactWorkOrder, [out], sync_run_id=7)
    return out, decision


@needs_db
def test_ingest_clears_the_unit_keeps_the_original_and_holds_the_push():
    buildings, units = _setup()
    record = {"work_order_id": 1, "building_id": 100, "unit_ids": [100], "status": "Scheduled",
              "description": "Leak"}
    out, decision = _ingest(record, buildings, units)
    assert (out["unit_id"], out["building_level"], decision.code) == (None, True, UNIT_IS_BUILDING)
    row = FactWorkOrder.objects.current().get(work_order_id=1)
    assert (row.unit_id, row.building_level, row.unit_problem) == (None, True, decision.problem)
    original = FactWorkOrderOriginal.objects.get(work_order_id=1)
    assert (original.unit_id, original.unit_ids, original.sync_run_id) == (100, [100], 7)
    assert original.payload["unit_ids"] == [100] and "unit_id" not in original.payload
    correction = UnitCorrection.objects.get(work_order_id=1)
    assert (correction.state, correction.original_unit_id, correction.problem_code) == (
        "held", 100, UNIT_IS_BUILDING)
    assert held_work_order_ids() == {1}
    # Pulled again: still one case, one original.
    _ingest(record, buildings, units)
    assert UnitCorrection.objects.count() == 1 and FactWorkOrderOriginal.objects.count() == 1
    assert len(versions(1)) == 1


@needs_db
def test_with_safe_mode_off_the_work_order_goes_building_level_at_once():
    buildings, units = _setup()
    set_flag("SAFE_MODE", "false", reason="test")
    _ingest({"work_order_id": 2, "building_id": 100, "unit_ids": [555]}, buildings, units)
    correction = UnitCorrection.objects.get(work_order_id=2)
    assert correction.state == "released" and correction.reason.startswith("automatic: SAFE_MODE off")
    assert held_work_order_ids() == set()


@needs_db
def test_a_valid_unit_passes_untouched():
    buildings, units = _setup()
    out, decision = _ingest({"work_order_id": 3, "building_id": 100, "unit_ids": [101]}, buildings, units)
    assert (out["unit_id"], out["building_level"], out["unit_problem"]) == (101, False, "")
    out, _ = _ingest({"work_order_id": 4, "building_id": 200, "unit_ids": [200]}, buildings, units)
    assert out["unit_id"] == 200  # single-family
    assert not UnitCorrection.objects.exists() and not FactWorkOrderOriginal.objects.exists()


@needs_db
def test_staff_correct_the_unit_and_the_push_is_released(django_user_model,
                                                         django_capture_on_commit_callbacks):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    record = {"work_order_id": 5, "building_id": 100, "unit_ids": [100], "description": "Broken window"}
    _ingest(record, buildings, units)
    released = []
    work_order_released.connect(lambda **kw: released.append(kw), weak=False, dispatch_uid="t-units")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            correction = apply_unit_correction(UnitCorrection.objects.get(work_order_id=5), 102, staff,
                                               "tenant confirmed unit 2B")
    finally:
        work_order_released.disconnect(dispatch_uid="t-units")
    assert (correction.state, correction.corrected_unit_id) == ("corrected", 102)
    assert correction.decided_by == staff
    assert correction.decided_at is not None
    old, new = versions(5)
    assert (old.unit_id, old.is_current, old.valid_to) == (None, False, new.valid_from)
    assert (new.unit_id, new.building_level, new.unit_problem, new.is_current) == (102, False, "", True)
    assert new.unit_key_id == DimUnit.objects.current().get(unit_id=102).unit_key
    assert new.change_reason == "unit corrected by ops: tenant confirmed unit 2B"
    assert new.description == "Broken window"  # everything else carried over
    assert FactWorkOrderOriginal.objects.get(work_order_id=5).unit_id == 100
    assert held_work_order_ids() == set()
    assert [(r["work_order_id"], r["source"]) for r in released] == [(5, "unit_correction")]
    # The next pull still says unit 100: the staff correction is applied again, not undone.
    out, decision = _ingest(record, buildings, units)
    assert (out["unit_id"], decision.cleared) == (102, False)
    assert len(versions(5)) == 2


@needs_db
def test_staff_may_release_a_work_order_building_level(django_user_model):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    _ingest({"work_order_id": 6, "building_id": 100, "unit_ids": [777]}, buildings, units)
    correction = apply_unit_correction(UnitCorrection.objects.get(work_order_id=6), None, staff,
                                       "common-area job")
    assert correction.state == "released" and held_work_order_ids() == set()
    row = FactWorkOrder.objects.current().get(work_order_id=6)
    assert (row.unit_id, row.building_level) == (None, True)


@needs_db
def test_a_correction_must_name_a_unit_of_the_building_and_give_a_reason(django_user_model):
    buildings, units = _setup()
    staff = django_user_model.objects.create_user("ops")
    _ingest({"work_order_id": 8, "building_id": 100, "unit_ids": [100]}, buildings, units)
    correction = UnitCorrection.objects.get(work_order_id=8)
    with pytest.raises(ValueError, match="not a unit of building 100"):
        apply_unit_correction(correction, 201, staff, "typo")
    with pytest.raises(ValueError, match="reason"):
        apply_unit_correction(correction, 101, staff, " ")
    correction.refresh_from_db()
    assert correction.state == "held" and len(versions(8)) == 1


@needs_db
def test_a_work_order_row_is_rechecked_before_the_push():
    buildings, units = _setup()
    row = work_order(9, building_id=100, unit_id=100)  # loaded before the rules existed
    as_stored = {"building_id": row.building_id, "unit_id": row.unit_id, "unit_ids": row.unit_ids}
    decision = validate_unit(as_stored, buildings[100], units[100])
    assert decision.code == UNIT_IS_BUILDING
