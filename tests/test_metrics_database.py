"""/metrics reads the sync's tables at scrape time: runs and their durations, steps and records per step,
the last run's API calls, outbox depth, dead letters, recorded errors and safe mode."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import OutboxItem, StepRun, SyncError, SyncRun
from sync.policies.flags import set_flag
from tests.test_metrics_endpoint import sample_value, scrape

pytestmark = pytest.mark.django_db


def make_run(status: str, minutes_ago: float, seconds: float, **fields) -> SyncRun:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(status=status, started_at=started,
                                  finished_at=started + timedelta(seconds=seconds), **fields)


def test_runs_and_freshness(client):
    make_run("failed", 90, 30)
    last_ok = make_run("succeeded", 60, 120)
    make_run("failed", 30, 10)
    SyncRun.objects.create(status="running")
    families = scrape(client)
    runs = families["greenlight_sync_runs"]
    assert sample_value(runs, "greenlight_sync_runs", status="failed") == 2
    assert sample_value(runs, "greenlight_sync_runs", status="succeeded") == 1
    summary = families["greenlight_sync_run_duration_seconds"]
    assert sample_value(summary, "greenlight_sync_run_duration_seconds_count") == 3
    assert sample_value(summary, "greenlight_sync_run_duration_seconds_sum") == pytest.approx(160)
    assert sample_value(families["greenlight_sync_last_run_success"], "greenlight_sync_last_run_success") == 0
    assert sample_value(families["greenlight_sync_running"], "greenlight_sync_running") == 1
    age = sample_value(families["greenlight_sync_last_success_age_seconds"],
                       "greenlight_sync_last_success_age_seconds")
    assert age == pytest.approx((timezone.now() - last_ok.finished_at).total_seconds(), abs=5)


def test_steps_of_the_latest_run_and_their_records(client):
    old = make_run("succeeded", 120, 60)
    new = make_run("succeeded", 10, 60, api_calls={
        "sf": {"calls": 5, "errors": 1, "seconds": 2.5,
               "operations": {"create_job": {"calls": 4, "errors": 1, "seconds": 2.0}}}})
    for run, pulled in ((old, 7), (new, 1000)):
        StepRun.objects.create(run=run, name="getPWWorkOrders", status="succeeded",
                               started_at=run.started_at, finished_at=run.started_at + timedelta(seconds=20),
                               counts={"work_orders_read": pulled, "note": "text is not a number"})
    StepRun.objects.create(run=new, name="pushWorkOrdersToSF", status="failed", position=2,
                           started_at=new.started_at + timedelta(seconds=20),
                           finished_at=new.started_at + timedelta(seconds=50), counts={"created": 12})
    families = scrape(client)
    records = families["greenlight_sync_step_last_records"]
    assert sample_value(records, "greenlight_sync_step_last_records", step="getPWWorkOrders",
                        kind="work_orders_read") == 1000
    assert sample_value(records, "greenlight_sync_step_last_records", step="pushWorkOrdersToSF",
                        kind="created") == 12
    assert sample_value(records, "greenlight_sync_step_last_records", kind="note") is None
    last = families["greenlight_sync_step_last_duration_seconds"]
    assert sample_value(last, "greenlight_sync_step_last_duration_seconds", step="pushWorkOrdersToSF",
                        status="failed") == pytest.approx(30)
    steps = families["greenlight_sync_step_duration_seconds"]
    assert sample_value(steps, "greenlight_sync_step_duration_seconds_count", step="getPWWorkOrders") == 2
    calls = families["greenlight_sync_last_run_api_calls"]
    assert sample_value(calls, "greenlight_sync_last_run_api_calls", system="sf", operation="create_job",
                        outcome="ok") == 3
    assert sample_value(calls, "greenlight_sync_last_run_api_calls", system="sf", operation="create_job",
                        outcome="error") == 1


def test_outbox_depth_dead_letters_errors_and_safe_mode(client):
    for i, state in enumerate(["planned", "planned", "sent", "dead", "dead", "held"]):
        OutboxItem.objects.create(key=f"job:WO-{i}", kind="job", state=state)
    SyncError.objects.create(function="pushWorkOrdersToSF", error="RemoteValidationError: x")
    set_flag("SAFE_MODE", True, reason="test")
    families = scrape(client)
    depth = families["greenlight_outbox_items"]
    assert sample_value(depth, "greenlight_outbox_items", state="planned") == 2
    assert sample_value(depth, "greenlight_outbox_items", state="dead") == 2
    assert sample_value(families["greenlight_dead_letters"], "greenlight_dead_letters") == 2
    assert sample_value(families["greenlight_sync_errors_recorded"], "greenlight_sync_errors_recorded") == 1
    assert sample_value(families["greenlight_safe_mode"], "greenlight_safe_mode") == 1
    set_flag("SAFE_MODE", False, reason="test")
    assert sample_value(scrape(client)["greenlight_safe_mode"], "greenlight_safe_mode") == 0
    up = families["greenlight_metrics_section_up"]
    assert {s.labels["section"]: s.value for s in up} == {
        "runs": 1, "steps": 1, "outbox": 1, "errors": 1, "flags": 1, "freshness": 1, "freshness_mode": 1}
