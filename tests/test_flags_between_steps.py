"""Flags are read when each step starts (R36): a flag flipped while a run is going takes effect at the next
step, each step records the values it ran with, and a malformed stored value fails the step naming it."""

from __future__ import annotations

import pytest

from sync.engine.runner import run_sync
from sync.models import FeatureFlag, OutboxItem, StepRun, SyncRun
from sync.policies.flags import set_flag
from tests.engine_support import live, sf_jobs_by_work_order

pytestmark = pytest.mark.django_db


def _flip_after(step: str, name: str, value):
    def progress(event):
        if event["event"] == "step_finished" and event["step"] == step:
            set_flag(name, value, reason=f"test: flipped after {step}")

    return progress


def test_service_fusion_switched_off_between_steps_stops_the_job_push_only(sims):
    pw, sf = sims
    live()

    run = run_sync(progress=_flip_after("pushLeaseTenantsToSF", "ENABLE_SERVICE_FUSION", False))

    steps = {s.name: s for s in run.steps.all()}
    assert steps["pushPortfoliosToSF"].flags["ENABLE_SERVICE_FUSION"] is True
    assert sf.store.customers(), "customers were created before the flip"
    assert steps["pushWorkOrdersToSF"].status == StepRun.Status.SKIPPED
    assert steps["pushWorkOrdersToSF"].flags["ENABLE_SERVICE_FUSION"] is False
    assert "ENABLE_SERVICE_FUSION" in steps["pushWorkOrdersToSF"].message
    assert not sf.store.jobs()
    # R9 table: reads and step 11 go on with SF writes off.
    assert steps["pushJobUpdatesToPW"].status == StepRun.Status.SUCCEEDED
    assert run.status == SyncRun.Status.SUCCEEDED


def test_dry_run_switched_on_between_steps_plans_the_jobs_without_sending_them(sims):
    pw, sf = sims
    live()

    run = run_sync(progress=_flip_after("pushPortfoliosToSF", "DRY_RUN", True))

    steps = {s.name: s for s in run.steps.all()}
    assert steps["pushPortfoliosToSF"].flags["DRY_RUN"] is False
    assert steps["pushWorkOrdersToSF"].flags["DRY_RUN"] is True
    assert sf.store.customers() and not sf.store.jobs()
    assert OutboxItem.objects.filter(kind="job", state=OutboxItem.State.DRY_RUN).exists()

    set_flag("DRY_RUN", False, reason="test: back on")
    run_sync()
    assert sf_jobs_by_work_order(sf) and set(sf_jobs_by_work_order(sf).values()) == {1}


def test_a_malformed_flag_fails_the_steps_and_names_the_flag(sims):
    live()
    FeatureFlag.objects.filter(name="DRY_RUN").update(value="yes please")  # not through set_flag

    run = run_sync(steps=["getPWPortfolios"])

    step = run.steps.get()
    assert run.status == SyncRun.Status.FAILED
    assert step.status == StepRun.Status.FAILED and "DRY_RUN" in step.message
