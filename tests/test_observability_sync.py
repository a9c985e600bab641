"""A real sync run against both simulators, seen the way operators see it: every log line it writes
carries its run id and the step, /metrics shows its steps, records and API calls, and /health/ is green
once it succeeded."""
from __future__ import annotations

import json

import pytest

from sync.engine.runner import run_sync
from tests.engine_support import live
from tests.logcapture import captured_logs
from tests.test_metrics_endpoint import sample_value, scrape

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_logs_its_id_and_steps_and_shows_in_metrics_and_health(sims, client):
    live()
    with captured_logs("json", level="INFO") as out:
        run = run_sync(full=True)
    assert run.status == "succeeded", run.error_summary
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    during = [line for line in lines if line["logger"].startswith("sync")]
    assert during, "the run logged nothing at INFO"
    assert {line["run_id"] for line in during} == {run.pk}
    stepped = {line["step"] for line in during if line["step"]}
    assert stepped and stepped <= {s.name for s in run.steps.all()}

    families = scrape(client)
    records = families["greenlight_sync_step_last_records"]
    assert sample_value(records, "greenlight_sync_step_last_records", step="getPWWorkOrders",
                        kind="work_orders_read") > 0
    calls = families["greenlight_api_calls"]
    assert sample_value(calls, "greenlight_api_calls_total", system="propertyware", operation="getWorkOrders",
                        outcome="ok") > 0
    assert any(s.labels["system"] == "servicefusion" and s.labels["outcome"] == "ok" and s.value > 0
               for s in calls if s.name == "greenlight_api_calls_total")
    assert sample_value(families["greenlight_sync_last_run_success"], "greenlight_sync_last_run_success") == 1

    health = client.get("/health/?only=database,last_run")
    assert health.status_code == 200, health.json()


def test_a_killed_run_is_closed_by_the_next_one(sims):
    from sync.models import StepRun, SyncError, SyncRun

    live()
    killed = SyncRun.objects.create(status="running")
    StepRun.objects.create(run=killed, name="getPWPortfolios", status="running")
    StepRun.objects.create(run=killed, name="getPWBuildings", status="pending", position=1)
    run = run_sync(steps=["getPWPortfolios"])
    killed.refresh_from_db()
    assert killed.status == "failed" and killed.finished_at is not None
    assert killed.error_summary.startswith("abandoned")
    assert dict(killed.steps.values_list("name", "status")) == {"getPWPortfolios": "failed",
                                                               "getPWBuildings": "skipped"}
    assert SyncError.objects.filter(run=killed, recovery_action=f"closed by run {run.pk}").exists()
