"""The drill's invariants judge real state: the simulators' records and the database. Each check passes
on a consistent state and names the offending record when a duplicate, an orphan, a silent loss, a
stuck run or a lost dead letter is there."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.benchmarks import invariants as inv
from sync.benchmarks.simulators import SimConfig, Simulators
from sync.models import OutboxItem, SyncError, SyncRun
from sync.policies.flags import read_flags
from warehouse.models import CustomerMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def sims():
    with Simulators(SimConfig(dataset="tiny", pw_latency=0, sf_latency=0, rate_limit=6000)) as both:
        yield both


def open_work_order(sims) -> dict:
    statuses = read_flags().pw_open_statuses
    return next(w for w in sims.pw.store.work_orders() if str(w["status"]).strip().lower() in statuses)


def building_of(wo: dict) -> int:
    return int(wo["building"]["ID"]) if isinstance(wo["building"], dict) else int(wo["building"])


def map_building(sims, wo: dict) -> int:
    customer = sims.sf.store.seed_customer({"customer_name": f"Building {building_of(wo)}"})
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=1, pw_building_id=building_of(wo),
                                   sf_customer_id=customer, status="mapped", method="created", confidence=1)
    return customer


def test_one_job_per_open_work_order_passes_then_names_a_duplicate(sims):
    wo = open_work_order(sims)
    customer = map_building(sims, wo)
    missing = inv.check_one_job_per_open_work_order(sims, read_flags().pw_open_statuses)
    assert not missing.ok
    assert any(f"WO {wo['ID']}" in p and "no SF job, not parked" in p for p in missing.problems)

    sims.sf.store.seed_job({"customer_name": customer, "check_number": f"WO-{wo['ID']}"})
    others = [p for p in inv.check_one_job_per_open_work_order(sims, read_flags().pw_open_statuses).problems
              if f"WO {wo['ID']}" in p]
    assert others == []

    sims.sf.store.seed_job({"customer_name": customer, "check_number": f"WO-{wo['ID']}"})
    dup = inv.check_one_job_per_open_work_order(sims, read_flags().pw_open_statuses)
    assert any(f"WO {wo['ID']}: 2 SF jobs" in p and "duplicate" in p for p in dup.problems)


def test_a_dead_lettered_work_order_counts_as_visibly_parked(sims):
    wo = open_work_order(sims)
    map_building(sims, wo)
    OutboxItem.objects.create(key=f"job:WO-{wo['ID']}", kind="job", state="dead", last_error="422: bad unit")
    check = inv.check_one_job_per_open_work_order(sims, read_flags().pw_open_statuses)
    assert not any(f"WO {wo['ID']}" in p for p in check.problems)
    assert "visibly parked" in check.summary


def test_a_job_without_its_work_order_is_named(sims):
    before = {int(j["id"]) for j in sims.sf.store.jobs()}
    customer = sims.sf.store.seed_customer({"customer_name": "Somewhere"})
    job = sims.sf.store.seed_job({"customer_name": customer, "check_number": "WO-999999999"})
    stray = sims.sf.store.seed_job({"customer_name": customer, "description": "no reference"})
    check = inv.check_no_orphan_jobs(sims, before)
    assert not check.ok
    assert any(f"SF job {job}: work order 999999999 does not exist" in p for p in check.problems)
    assert any(f"SF job {stray}: no work-order reference" in p for p in check.problems)


def test_failures_must_be_visible():
    assert inv.check_failures_visible().ok
    SyncRun.objects.create(status="running", started_at=timezone.now() - timedelta(hours=1))
    failed = SyncRun.objects.create(status="failed", finished_at=timezone.now())
    OutboxItem.objects.create(key="job:WO-1", kind="job", state="failed")
    OutboxItem.objects.create(key="job:WO-2", kind="job", state="sending")
    check = inv.check_failures_visible()
    assert not check.ok
    text = "\n".join(check.problems)
    assert "still 'running'" in text and f"run {failed.pk} failed with no error" in text
    assert "job:WO-1 (failed) has no last_error" in text and "stuck in 'sending'" in text
    SyncError.objects.create(function="runner", error="stopped", run=failed)
    assert f"run {failed.pk} failed" not in "\n".join(inv.check_failures_visible().problems)


def test_a_dead_letter_that_stops_being_dead_is_lost():
    OutboxItem.objects.create(key="job:WO-7", kind="job", state="dead", last_error="x")
    seen = inv.dead_letter_keys()
    assert inv.check_dead_letters_kept(seen).ok
    OutboxItem.objects.filter(key="job:WO-7").update(state="planned")
    check = inv.check_dead_letters_kept(seen)
    assert not check.ok and check.problems == ["dead letter job:WO-7 is no longer dead"]


def test_a_dead_letter_found_written_after_all_is_resolved_not_lost():
    OutboxItem.objects.create(key="job:WO-8", kind="job", state="dead", last_error="x", ambiguous=True)
    OutboxItem.objects.create(key="job:WO-9", kind="job", state="dead", last_error="x")
    seen = inv.dead_letter_keys()
    OutboxItem.objects.filter(key="job:WO-8").update(state="sent", result={"id": 5, "recovered": True})
    OutboxItem.objects.filter(key="job:WO-9").update(state="sent", result={"id": 6})  # sent how?

    check = inv.check_dead_letters_kept(seen)

    assert not check.ok and check.problems == ["dead letter job:WO-9 is no longer dead"]
    assert "1 found written after all" in check.summary
