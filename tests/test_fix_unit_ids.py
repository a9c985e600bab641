"""``manage.py fix_unit_ids``: finds current work orders whose unit breaks R24, prints each change and a
summary, and (without --dry-run) writes corrected versions, keeps originals and opens correction cases."""
from io import StringIO

import pytest
from django.core.management import call_command

from sync.engine import tasks
from sync.models import UnitCorrection
from tests.warehouse_rows import building, versions, work_order
from warehouse.models import FactWorkOrder, FactWorkOrderOriginal

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    building(100, multi_unit=True, units=(101, 102))
    building(200, multi_unit=False)
    building(300, multi_unit=False, units=(301, 302))  # multi-unit by its units (R23)
    work_order(1, building_id=100, unit_id=100)  # the legacy bug: unit = building
    work_order(2, building_id=100, unit_id=101)
    work_order(3, building_id=200, unit_id=200)  # single-family: fine
    work_order(4, building_id=300, unit_id=999)  # not a unit of the building
    work_order(5, building_id=100, unit_id=None)
    work_order(6, building_id=300, unit_id=300)


def _run(*args):
    out = StringIO()
    call_command("fix_unit_ids", *args, stdout=out)
    return out.getvalue().splitlines()


def test_dry_run_prints_the_changes_and_writes_nothing(rows):
    lines = _run("--dry-run")
    assert lines == [
        "WO 1 (building 100): unit 100 → none, building-level — unit id 100 is the building id of multi-unit "
        "building 100",
        "WO 4 (building 300): unit 999 → none, building-level — unit 999 is not a unit of building 300",
        "WO 6 (building 300): unit 300 → none, building-level — unit id 300 is the building id of multi-unit "
        "building 300",
        "checked 6 current work orders; would correct 3 (unit_is_building: 2, unit_not_in_building: 1) — dry "
        "run, nothing written",
    ]
    assert FactWorkOrder.objects.count() == 6
    assert not FactWorkOrderOriginal.objects.exists() and not UnitCorrection.objects.exists()


def test_the_fix_writes_new_versions_and_keeps_the_originals(rows):
    lines = _run()
    assert lines[-1] == (
        "checked 6 current work orders; corrected 3 (unit_is_building: 2, unit_not_in_building: 1)")
    old, new = versions(1)
    assert (old.unit_id, old.is_current, old.valid_to) == (100, False, new.valid_from)
    assert (new.unit_id, new.building_level, new.is_current) == (None, True, True)
    assert new.unit_problem == "unit id 100 is the building id of multi-unit building 100"
    assert new.change_reason == "fix_unit_ids: unit cleared (R24)"
    originals = {o.work_order_id: o.unit_id for o in FactWorkOrderOriginal.objects.all()}
    assert originals == {1: 100, 4: 999, 6: 300}
    assert FactWorkOrderOriginal.objects.get(work_order_id=4).payload["unit_id"] == 999
    assert {(c.work_order_id, c.state) for c in UnitCorrection.objects.all()} == {
        (1, "held"), (4, "held"), (6, "held")}
    for untouched in (2, 3, 5):
        assert len(versions(untouched)) == 1
    # Run again: nothing left to fix.
    assert _run()[-1] == "checked 6 current work orders; corrected 0"
    assert FactWorkOrder.objects.count() == 9


def test_one_work_order_can_be_named(rows):
    lines = _run("--work-order", "4", "--work-order", "2")
    assert lines[-1] == "checked 2 current work orders; corrected 1 (unit_not_in_building: 1)"
    assert len(versions(1)) == 1 and len(versions(4)) == 2


def test_the_queued_task_makes_the_same_corrections_as_the_command(rows):
    report = tasks.fix_unit_ids(dry_run=False).splitlines()
    assert report[0].startswith("WO 1 (building 100): unit 100 → none")
    assert report[-1] == (
        "checked 6 current work orders; corrected 3 (unit_is_building: 2, unit_not_in_building: 1)")
    assert {(c.work_order_id, c.state) for c in UnitCorrection.objects.all()} == {
        (1, "held"), (4, "held"), (6, "held")}
    assert versions(4)[-1].change_reason == "fix_unit_ids: unit cleared (R24)"
