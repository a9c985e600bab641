"""A PropertyWare update replaces the whole work order and refuses a unit outside its building ("Location is
invalid"): a work order naming another building's unit still gets its job id and its status written back,
at its building's location with that unit cleared and the original kept; a good unit stays (both
simulators over HTTP, the real database)."""

from __future__ import annotations

import pytest

from sync.engine.runner import run_sync
from sync.models import OutboxItem, StepRun, SyncRun
from tests.engine_support import live, pw_writes, sf_jobs_by_work_order
from warehouse.models import FactWorkOrder, FactWorkOrderOriginal

pytestmark = pytest.mark.django_db


def _multi_unit_buildings(pw) -> list[tuple[dict, list[dict]]]:
    """Active multi-unit buildings with their units, in a fixed order."""
    units = pw.store.records("units")
    return [
        (b, sorted((u for u in units if u["buildingID"] == b["ID"]), key=lambda u: u["ID"]))
        for b in sorted(pw.store.records("buildings"), key=lambda b: b["ID"])
        if b["multiUnit"] and b["active"]
    ]


def _sf_job_id(pw, wo_id: int) -> str:
    return {c["fieldName"]: c["value"] for c in pw.store.get_work_order(wo_id)["customFields"]}["sfJobId"]


def _dead_or_failed() -> list[tuple[str, str]]:
    bad = OutboxItem.objects.filter(state__in=[OutboxItem.State.DEAD, OutboxItem.State.FAILED])
    return list(bad.values_list("key", "last_error"))


def _step_counts(run: SyncRun, step: str) -> dict:
    return StepRun.objects.get(run=run, name=step).counts


def _assert_cleared_on_record(wo_id: int, foreign: int, building: int, key: str) -> None:
    current = FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True)
    assert current.unit_id is None and current.building_level
    assert current.unit_problem == (
        f"unit {foreign} is not a unit of building {building}: cleared in PropertyWare by {key}"
    )
    assert FactWorkOrder.objects.filter(
        work_order_id=wo_id, change_reason__startswith=f"unit {foreign} is not a unit of building"
    ).exists()
    original = FactWorkOrderOriginal.objects.get(work_order_id=wo_id)
    assert original.unit_ids == [foreign] and original.building_id == building


def test_a_work_order_naming_another_buildings_unit_gets_its_job_and_its_job_id_back(sims):
    pw, sf = sims
    live(SAFE_MODE=False)  # the unit problem goes building-level instead of waiting for staff
    (home, home_units), (other, other_units) = _multi_unit_buildings(pw)[:2]
    foreign = other_units[0]["ID"]
    stray = pw.store.create_work_order(
        building=home["ID"], unitIDs=[foreign], description="Smoke detector chirping in the hallway"
    )
    kept = pw.store.create_work_order(
        building=home["ID"], unitIDs=[home_units[-1]["ID"]], description="Bathroom fan rattles loudly"
    )
    before = pw.store.get_work_order(stray)

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert sf_jobs_by_work_order(sf)[stray] == 1 and sf_jobs_by_work_order(sf)[kept] == 1
    assert _dead_or_failed() == []
    link = OutboxItem.objects.get(key=f"pw:link:WO-{stray}")
    assert link.state == OutboxItem.State.SENT and link.result["via"] == "custom_field"
    assert link.result["units_cleared"] == {"building_id": home["ID"], "unit_ids": [foreign], "kept": []}
    jobs = {j["check_number"]: j for j in sf.store.jobs()}
    after = pw.store.get_work_order(stray)
    assert _sf_job_id(pw, stray) == str(jobs[f"WO-{stray}"]["id"])
    # At its building's location with the foreign unit cleared; nothing else but the id and the status.
    assert after["unitIDs"] == [] and after["building"] == before["building"]
    assert after["location"] == before["location"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"unitIDs", "customFields", "status", "_lastModified"}, changed
    _assert_cleared_on_record(stray, foreign, home["ID"], f"pw:link:WO-{stray}")
    assert _step_counts(run, "pushWorkOrdersToSF")["pw_units_cleared"] == 1
    # A work order with a unit of its own building keeps it.
    assert pw.store.get_work_order(kept)["unitIDs"] == [home_units[-1]["ID"]]
    assert _sf_job_id(pw, kept) == str(jobs[f"WO-{kept}"]["id"])
    assert "units_cleared" not in OutboxItem.objects.get(key=f"pw:link:WO-{kept}").result

    writes = pw_writes(pw)
    again = run_sync()  # the pull reads the cleared work order back: nothing more to write

    assert again.status == SyncRun.Status.SUCCEEDED, again.error_summary
    assert pw_writes(pw) == writes and sf_jobs_by_work_order(sf)[stray] == 1
    assert FactWorkOrder.objects.get(work_order_id=stray, is_current=True).unit_ids == []
    assert FactWorkOrderOriginal.objects.get(work_order_id=stray).unit_ids == [foreign]


def test_a_status_write_back_clears_a_unit_moved_to_another_building_and_keeps_a_good_one(sims):
    pw, sf = sims
    live(SAFE_MODE=False)
    first = run_sync()
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_summary
    (home, home_units), (other, other_units) = _multi_unit_buildings(pw)[:2]
    linked = (
        FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False, building_id=home["ID"])
        .order_by("work_order_id")
        .values_list("work_order_id", "sf_job_id")
    )
    (moved, moved_job), (good, good_job) = linked[:2]
    foreign = other_units[0]["ID"]
    # In PropertyWare, one work order is moved to another building's unit and the other to a unit added
    # to its own building after the last pull (the warehouse does not know it yet; PropertyWare does).
    pw.store.edit_work_order(moved, unitIDs=[foreign])
    new_unit = {**home_units[0], "ID": pw.store.new_id(), "name": "Unit 9", "abbreviation": "U9"}
    pw.store.insert("units", new_unit)
    run = run_sync(steps=["getPWWorkOrders"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    pw.store.edit_work_order(good, unitIDs=[new_unit["ID"]])
    for job_id in (moved_job, good_job):
        sf.store.set_job_status(job_id, "Dispatched")

    run = run_sync(steps=["getSFJobs", "pushJobUpdatesToPW"])

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert _dead_or_failed() == []
    for wo_id in (moved, good):
        row = OutboxItem.objects.get(key=f"pw:status:WO-{wo_id}:Dispatched")
        assert row.state == OutboxItem.State.SENT, (row.state, row.last_error)
        assert pw.store.get_work_order(wo_id)["status"] == "Dispatched"
    assert pw.store.get_work_order(moved)["unitIDs"] == []
    _assert_cleared_on_record(moved, foreign, home["ID"], f"pw:status:WO-{moved}:Dispatched")
    assert FactWorkOrder.objects.get(work_order_id=moved, is_current=True).status == "Dispatched"
    assert _step_counts(run, "pushJobUpdatesToPW")["pw_units_cleared"] == 1
    # The unit PropertyWare has under the building stays, though the warehouse has not seen it yet.
    assert pw.store.get_work_order(good)["unitIDs"] == [new_unit["ID"]]
    assert "units_cleared" not in OutboxItem.objects.get(key=f"pw:status:WO-{good}:Dispatched").result
