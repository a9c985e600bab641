"""Reworded work orders end to end (R31c-R32): a job entered in ServiceFusion through the simulator's control
API, a PropertyWare work order that describes the same problem in other words, and the whole sync between
them over real HTTP(S) and the real database. What reached ServiceFusion is read from the simulator."""
from __future__ import annotations

import pytest
import requests

from sync.engine.runner import run_sync
from sync.models import DuplicateCandidate, DuplicateDetectionLog, OutboxItem, SyncRun
from tests.engine_support import live, sf_jobs_by_work_order
from warehouse.models import CustomerMapping

pytestmark = pytest.mark.django_db

# Not a description the simulators' datasets use, so no job of the first run can resemble it.
PROBLEM = "Garbage disposal jammed and humming under the kitchen sink"
REWORDED = "URGENT: kitchen sink garbage disposal hums - it is jammed!"
REWORDED_AGAIN = "The garbage disposals under the kitchen sink: jammed, humming (second request)"


def _seed_job(sf, **body) -> int:
    """A job as a ServiceFusion user enters it, through the control API."""
    response = requests.post(f"{sf.control_url}/jobs", json=body, verify=sf.ca_path, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _mapped_building_with_units(pw) -> tuple[int, int, list[int]]:
    """A multi-unit building the first run gave an SF customer: (building, customer, two of its units)."""
    customers = dict(CustomerMapping.objects.filter(entity_type="building", sf_customer_id__isnull=False)
                     .values_list("pw_building_id", "sf_customer_id"))
    units: dict[int, list[int]] = {}
    for unit in pw.store.records("units"):
        if unit["active"]:
            units.setdefault(unit["buildingID"], []).append(unit["ID"])
    building = next(b for b in sorted(units) if b in customers and len(units[b]) >= 2)
    return building, customers[building], sorted(units[building])[:2]


def _first_run(pw):
    live()
    assert run_sync().status == SyncRun.Status.SUCCEEDED
    return _mapped_building_with_units(pw)


def test_a_work_order_reworded_from_a_job_entered_in_servicefusion_is_not_pushed_again(sims):
    pw, sf = sims
    building, customer, (unit, _) = _first_run(pw)
    phoned_in = _seed_job(sf, customer_name=customer, description=PROBLEM)
    wo = pw.store.create_work_order(building=building, description=REWORDED, unitIDs=[unit], status="Open")
    jobs_before = len(sf.store.jobs())

    assert run_sync().status == SyncRun.Status.SUCCEEDED

    assert len(sf.store.jobs()) == jobs_before and sf_jobs_by_work_order(sf)[wo] == 0
    log = DuplicateDetectionLog.objects.get(work_order_id=wo)
    assert (log.decision, log.rule, log.score, log.sf_job_id) == ("duplicate", "temporal", 1.0, phoned_in)
    assert not OutboxItem.objects.filter(key=f"job:WO-{wo}", state=OutboxItem.State.SENT).exists()


def test_a_reworded_work_order_at_the_same_unit_waits_for_staff_and_one_at_another_unit_is_pushed(sims):
    pw, sf = sims
    building, customer, (unit, other_unit) = _first_run(pw)
    first = pw.store.create_work_order(building=building, description=PROBLEM, unitIDs=[unit], status="Open")
    # Entered in ServiceFusion for that work order (its check number): the job's unit is the work order's.
    job = _seed_job(sf, customer_name=customer, description=PROBLEM, check_number=f"WO-{first}")
    same_unit = pw.store.create_work_order(building=building, description=REWORDED, unitIDs=[unit],
                                           status="Open")
    next_door = pw.store.create_work_order(building=building, description=REWORDED_AGAIN,
                                           unitIDs=[other_unit], status="Open")

    assert run_sync().status == SyncRun.Status.SUCCEEDED

    per_wo = sf_jobs_by_work_order(sf)
    assert (per_wo[first], per_wo[same_unit], per_wo[next_door]) == (1, 0, 1)
    held = OutboxItem.objects.get(key=f"job:WO-{same_unit}")
    assert held.state == OutboxItem.State.HELD
    assert held.hold_reason.startswith(f"possible duplicate of SF job {job} (score 0.90)")
    assert DuplicateCandidate.objects.filter(work_order_id=same_unit, sf_job_id=job, state="pending").exists()
    pushed = next(j for j in sf.store.jobs() if j["check_number"] == f"WO-{next_door}")
    assert pushed["description"] == REWORDED_AGAIN
    assert DuplicateDetectionLog.objects.get(work_order_id=next_door).decision == "create"
