"""A work order is read from PropertyWare at most twice per run: by the pull, and by one batched read before
its job is created, which its job id's write-back then starts from; a work order closed or changed in PW
since the pull gets no job and is never overwritten with what the pull saw (both simulators over HTTP)."""

from __future__ import annotations

import pytest

from sync.engine import pipeline
from sync.engine.runner import run_sync
from sync.models import OutboxItem, SyncRun
from tests.engine_support import live, sf_jobs_by_work_order
from warehouse.models import FactWorkOrder

pytestmark = pytest.mark.django_db

READS = [s.name for s in pipeline.STEPS if s.kind == pipeline.READ]


@pytest.fixture
def quiet(sims, settings):
    """A first run and the run that reads its write-backs: nothing left to do. No pull overlap, so a run
    reads only what changed after the previous one."""
    pw, sf = sims
    settings.SYNC = {**settings.SYNC, "PULL_OVERLAP_SECONDS": 0}
    live()
    for _ in range(2):
        assert run_sync().status == SyncRun.Status.SUCCEEDED
    return pw, sf


def _new_work_orders(pw, n: int) -> list[int]:
    building = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).first().building_id
    return [
        pw.store.create_work_order(building=building, description=f"Gutter {i} hanging loose", status="Open")
        for i in range(n)
    ]


def _calls_during(pw, **kw) -> tuple[SyncRun, list[str]]:
    before = len(pw.recent_calls())
    run = run_sync(**kw)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run, pw.recent_calls()[before:]


def test_new_work_orders_are_read_by_the_pull_and_once_more_before_their_jobs(quiet):
    pw, sf = quiet
    new = _new_work_orders(pw, 3)

    run, calls = _calls_during(pw)

    assert all(sf_jobs_by_work_order(sf)[w] == 1 for w in new)
    # The pull's pages, then one read for the three jobs; their write-backs start from it.
    pull = run.steps.get(name="getPWWorkOrders").api_calls["pw"]["client_stats"]["getWorkOrders"]["ok"]
    assert calls.count("getWorkOrders") == pull + 1
    assert calls.count("updateWorkOrder") == 3
    push = run.steps.get(name="pushWorkOrdersToSF").api_calls["pw"]
    assert push["client_stats"] == {"getWorkOrders": {"ok": 1}, "updateWorkOrder": {"ok": 3}}
    for wo_id in new:
        fields = {c["fieldName"]: c["value"] for c in pw.store.get_work_order(wo_id)["customFields"]}
        assert fields["sfJobId"] == str(
            FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id
        )


def test_a_work_order_closed_in_propertyware_after_the_pull_gets_no_job(quiet):
    pw, sf = quiet
    closed, kept = _new_work_orders(pw, 2)
    assert run_sync(steps=READS).status == SyncRun.Status.SUCCEEDED
    pw.store.edit_work_order(closed, status="Closed")

    _, calls = _calls_during(pw, steps=["pushWorkOrdersToSF"])

    jobs = sf_jobs_by_work_order(sf)
    assert closed not in jobs and jobs[kept] == 1
    row = OutboxItem.objects.get(key=f"job:WO-{closed}")
    assert row.state == OutboxItem.State.IGNORED and row.hold_reason == "closed in PropertyWare (Closed)"
    assert calls.count("getWorkOrders") == 1 and pw.store.get_work_order(closed)["status"] == "Closed"


def test_a_work_order_moved_in_propertyware_after_the_pull_waits_for_the_next_pull(quiet):
    pw, sf = quiet
    (moved,) = _new_work_orders(pw, 1)
    assert run_sync(steps=READS).status == SyncRun.Status.SUCCEEDED
    other = next(
        u
        for u in pw.store.records("units")
        if u["buildingID"] == pw.store.get_work_order(moved)["building"]["ID"]
    )
    pw.store.edit_work_order(moved, unitIDs=[other["ID"]])

    run_sync(steps=["pushWorkOrdersToSF"])

    row = OutboxItem.objects.get(key=f"job:WO-{moved}")
    assert row.state == OutboxItem.State.HELD and "changed in PropertyWare since it was planned (unit)" in (
        row.hold_reason
    )
    assert moved not in sf_jobs_by_work_order(sf)

    run_sync()  # the pull brings the new unit; the job is planned for it and sent

    assert sf_jobs_by_work_order(sf)[moved] == 1
    assert OutboxItem.objects.get(key=f"job:WO-{moved}").context["unit_id"] == other["ID"]


def test_an_edit_made_in_propertyware_after_the_pull_survives_the_job_id_write_back(quiet):
    pw, sf = quiet
    (edited,) = _new_work_orders(pw, 1)
    assert run_sync(steps=READS).status == SyncRun.Status.SUCCEEDED
    pw.store.edit_work_order(edited, description="Gutter hanging loose over the front door", priority="HIGH")

    run_sync(steps=["pushWorkOrdersToSF"])

    after = pw.store.get_work_order(edited)
    assert after["description"] == "Gutter hanging loose over the front door" and after["priority"] == "HIGH"
    fields = {c["fieldName"]: c["value"] for c in after["customFields"]}
    assert fields["sfJobId"] == str(
        next(j["id"] for j in sf.store.jobs() if j["check_number"] == f"WO-{edited}")
    )
