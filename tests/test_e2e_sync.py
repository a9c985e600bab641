"""The whole sync end to end: both simulators over real HTTP(S) on loopback, the real database, every step.

What reached each simulator is read from the simulators themselves, not from our own records.
"""

from __future__ import annotations

import pytest

from sync.engine.runner import run_sync
from sync.models import OutboxItem, StepRun, SyncRun
from tests.engine_support import live, pw_writes, sf_jobs_by_work_order, sf_posts
from warehouse.models import FactJob, FactWorkOrder

pytestmark = pytest.mark.django_db


def _pw_world(pw):
    portfolios = {p["ID"]: p for p in pw.store.records("portfolios")}
    buildings = {b["ID"]: b for b in pw.store.records("buildings")}
    units = {u["ID"]: u for u in pw.store.records("units")}
    return portfolios, buildings, units


def _first_with_job() -> FactWorkOrder:
    return (
        FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False)
        .order_by("work_order_id")
        .first()
    )


def _expected_jobs(pw, flags_open) -> dict[int, dict]:
    """Open work orders in active buildings of active portfolios (their customers get created)."""
    portfolios, buildings, _ = _pw_world(pw)
    out = {}
    for wo in pw.store.work_orders():
        building = buildings.get(wo["building"]["ID"])
        if not building or not building["active"] or not portfolios[building["_portfolioID"]]["active"]:
            continue
        if " ".join((wo["status"] or "").split()).lower() in flags_open:
            out[wo["ID"]] = wo
    return out


def test_a_full_sync_creates_one_job_per_open_work_order_with_a_mapped_building_at_the_right_place(sims):
    pw, sf = sims
    live(SAFE_MODE=False)  # unit problems go building-level instead of waiting for staff
    from sync.policies.flags import read_flags

    opened = read_flags().pw_open_statuses
    expected = _expected_jobs(pw, opened)
    assert expected, "the dataset must have open work orders in mapped buildings"

    run = run_sync(full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    per_wo = sf_jobs_by_work_order(sf)
    # A work order that repeats another one planned in the same run waits for review instead (R31c).
    twins = {
        int(o.key[len("job:WO-") :]): o.hold_reason
        for o in OutboxItem.objects.filter(kind="job", hold_reason__contains="planned in this run")
    }
    assert twins and all(int(why.split()[5].rstrip(",")) in per_wo for why in twins.values())
    assert all(OutboxItem.objects.get(key=f"job:WO-{w}").review for w in twins)  # staff decide
    assert set(per_wo) == set(expected) - set(twins)
    assert set(per_wo.values()) == {1}
    _, buildings, units = _pw_world(pw)
    jobs = {int(j["check_number"][3:]): j for j in sf.store.jobs()}
    for wo_id, wo in expected.items():
        if wo_id in twins:
            continue
        job, building = jobs[wo_id], buildings[wo["building"]["ID"]]
        assert job["customer_name"] == building["address"]  # the building's customer, named by address
        assert job["po_number"] == f"WO-{wo_id}"
        fields = {f["name"]: f["value"] for f in job["custom_fields"]}
        assert fields["propertyWareId"] == str(wo_id) and fields["buildingId"] == str(building["ID"])
        unit_ids = wo["unitIDs"] or []
        unit = units.get(unit_ids[0]) if len(unit_ids) == 1 else None
        if unit is not None and unit["buildingID"] == building["ID"]:
            assert job["street_2"] == unit["name"], f"WO {wo_id} must go to its unit"
            assert job["street_1"] == (unit["address"] or building["address"])
        else:  # building-level: the building's primary location (single-family, cleared or several units)
            assert job["street_1"] == building["address"] and job["location_name"] == "Primary"
    # Every job's id went back to its PW work order (custom field sfJobId) and into the warehouse.
    for wo_id in per_wo:
        sf_id = str(jobs[wo_id]["id"])
        fields = {c["fieldName"]: c["value"] for c in pw.store.get_work_order(wo_id)["customFields"]}
        assert fields["sfJobId"] == sf_id
        assert str(FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id) == sf_id


def test_running_again_writes_nothing(sims):
    pw, sf = sims
    live()
    first = run_sync()
    assert first.status == SyncRun.Status.SUCCEEDED
    posts, writes = sf_posts(sf), pw_writes(pw)
    versions = FactWorkOrder.objects.count()
    assert posts > 0 and writes > 0

    second = run_sync()

    assert second.status == SyncRun.Status.SUCCEEDED
    assert (sf_posts(sf), pw_writes(pw)) == (posts, writes)
    assert FactWorkOrder.objects.count() == versions
    assert not OutboxItem.objects.filter(run=second, state=OutboxItem.State.SENT).exists()


def test_a_work_order_edited_in_propertyware_gets_a_new_version(sims):
    pw, sf = sims
    live()
    run_sync()
    wo = _first_with_job()
    jobs_before = len(sf.store.jobs())
    pw.store.edit_work_order(wo.work_order_id, description="Water heater leaking into the garage")

    run_sync()

    versions = list(FactWorkOrder.objects.filter(work_order_id=wo.work_order_id).order_by("valid_from"))
    assert [v.description for v in versions][-2:] == [wo.description, "Water heater leaking into the garage"]
    old, new = versions[-2], versions[-1]
    assert old.valid_to == new.valid_from and not old.is_current and new.is_current
    assert new.sf_job_id == wo.sf_job_id
    assert len(sf.store.jobs()) == jobs_before  # the edit made no second job


def test_a_job_completed_in_servicefusion_shows_on_the_propertyware_work_order_with_nothing_lost(sims):
    pw, sf = sims
    live()
    run_sync()
    wo = _first_with_job()
    before = pw.store.get_work_order(wo.work_order_id)
    sf.store.set_job_status(wo.sf_job_id, "Completed")
    closed_at = next(j for j in sf.store.jobs() if j["id"] == wo.sf_job_id)["closed_at"]

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED
    after = pw.store.get_work_order(wo.work_order_id)
    assert after["status"] == "Completed"
    assert after["completedDate"][:19] == str(closed_at).replace(" ", "T")[:19]
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"status", "completedDate", "_lastModified"}, changed
    current = FactWorkOrder.objects.get(work_order_id=wo.work_order_id, is_current=True)
    assert current.status == "Completed" and current.completed_date is not None
    assert FactJob.objects.get(job_id=wo.sf_job_id, is_current=True).status == "Completed"
    # Closed now: it left the open set, and another run writes nothing more to it.
    writes = pw_writes(pw)
    run_sync()
    assert pw_writes(pw) == writes


def test_a_closed_sf_job_also_closes_the_work_order_when_configured(sims):
    pw, sf = sims
    live(PW_CLOSE_ON_SF_CLOSED=True)
    run_sync()
    wo = _first_with_job()
    sf.store.set_job_status(wo.sf_job_id, "Job Closed")

    run_sync()

    after = pw.store.get_work_order(wo.work_order_id)
    assert after["status"] == "Closed" and after["completedDate"]
    assert FactWorkOrder.objects.get(work_order_id=wo.work_order_id, is_current=True).status == "Closed"


def test_a_work_order_closed_in_propertyware_while_its_job_is_open_goes_to_review_once(sims):
    pw, sf = sims
    live()
    run_sync()
    wo = _first_with_job()
    pw.store.edit_work_order(wo.work_order_id, status="Closed")
    sf.store.set_job_status(wo.sf_job_id, "Dispatched")

    run_sync()

    row = OutboxItem.objects.get(key=f"pw:status:WO-{wo.work_order_id}:Dispatched")
    assert row.state == OutboxItem.State.HELD and row.review and "conflict" in row.hold_reason
    assert pw.store.get_work_order(wo.work_order_id)["status"] == "Closed"
    writes = pw_writes(pw)
    run_sync()  # conflicts are not retried
    assert pw_writes(pw) == writes
    assert OutboxItem.objects.get(pk=row.pk).state == OutboxItem.State.HELD


def test_a_new_work_order_in_propertyware_gets_its_job_on_the_next_run(sims):
    pw, sf = sims
    live()
    run_sync()
    building = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).first().building_id
    new_id = pw.store.create_work_order(
        building=building,
        description="Garage door stuck half open",
        priority="HIGH",
        category="General",
        status="Open",
    )

    run_sync()

    assert sf_jobs_by_work_order(sf)[new_id] == 1
    job = next(j for j in sf.store.jobs() if j["check_number"] == f"WO-{new_id}")
    assert job["priority"] == "High" and job["description"] == "Garage door stuck half open"


def test_a_full_reconciliation_tombstones_work_orders_deleted_in_propertyware(sims):
    pw, sf = sims
    live()
    run_sync()
    gone = pw.store.work_orders()[0]["ID"]
    pw.store.delete_work_order(gone)

    run_sync(full=True)

    assert not FactWorkOrder.objects.filter(work_order_id=gone, is_current=True).exists()
    tomb = FactWorkOrder.objects.get(work_order_id=gone, valid_to__isnull=True)
    assert tomb.is_deleted


def test_unmapped_buildings_wrong_units_and_duplicates_are_held_with_reasons(sims):
    pw, sf = sims
    live()  # SAFE_MODE stays on: unit problems wait for staff
    run_sync()
    held = {o.key: o.hold_reason for o in OutboxItem.objects.filter(kind="job", state=OutboxItem.State.HELD)}
    portfolios, buildings, _ = _pw_world(pw)
    inactive = {b for b, row in buildings.items() if not portfolios[row["_portfolioID"]]["active"]}
    unmapped = {k for k, why in held.items() if "has no ServiceFusion customer" in why}
    assert unmapped, held
    assert all(
        int(k[len("job:WO-") :])
        in {w["ID"] for w in pw.store.work_orders() if w["building"]["ID"] in inactive}
        for k in unmapped
    )
    wrong_units = [why for why in held.values() if why.startswith("unit problem")]
    assert wrong_units and all(
        "building id of multi-unit building" in why or "is not a unit of" in why for why in wrong_units
    )
    assert not set(sf_jobs_by_work_order(sf)) & {int(k[len("job:WO-") :]) for k in held}

    # Duplicates: one new work order SF already has a job for (check number), one that looks like an
    # existing job of the same customer (same unit, same words, same week).
    known = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).order_by("work_order_id")
    original = known.first()
    same = pw.store.create_work_order(
        building=original.building_id,
        description=original.description,
        unitIDs=original.unit_ids,
        status="Open",
        priority=original.priority,
    )
    exact = pw.store.create_work_order(
        building=original.building_id, description="Broken window latch", status="Open"
    )
    sf.store.seed_job(
        {
            "customer_name": next(j["customer_id"] for j in sf.store.jobs() if j["id"] == original.sf_job_id),
            "check_number": f"WO-{exact}",
            "description": "Broken window latch (phoned in)",
        }
    )
    jobs_before = len(sf.store.jobs())

    run_sync()

    assert len(sf.store.jobs()) == jobs_before
    review = OutboxItem.objects.get(key=f"job:WO-{same}")
    assert review.state == OutboxItem.State.HELD and "possible duplicate" in review.hold_reason
    linked = FactWorkOrder.objects.get(work_order_id=exact, is_current=True)
    assert linked.sf_job_id == next(j["id"] for j in sf.store.jobs() if j["check_number"] == f"WO-{exact}")
    from sync.models import DuplicateCandidate, DuplicateDetectionLog

    assert DuplicateCandidate.objects.filter(work_order_id=same, state="pending").exists()
    assert DuplicateDetectionLog.objects.filter(work_order_id=exact, decision="duplicate").exists()


def test_only_work_orders_open_by_the_flags_get_jobs(sims):
    pw, sf = sims
    live(PW_OPEN_STATUSES="open, wo received")
    before = {w["ID"]: w["status"] for w in pw.store.work_orders()}

    run_sync()

    created = set(sf_jobs_by_work_order(sf))
    assert created and {before[w].lower() for w in created} <= {"open", "wo received"}
    assert StepRun.objects.get(name="pushWorkOrdersToSF").flags["PW_OPEN_STATUSES"] == ["open", "wo received"]
