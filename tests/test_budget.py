"""A run's budget over the real simulators: a run stopped mid-push ends partial with what it did committed,
its continuation runs the steps left and ends where an unbounded run ends (no duplicate), and the chain
cannot loop (no continuation without progress or past the cap)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import transaction
from django_q.models import OrmQ

from sync.benchmarks.through_worker import duplicates
from sync.engine.budget import Budget
from sync.engine.continuation import decide
from sync.engine.runner import run_sync
from sync.engine.tasks import enqueue_continuation
from sync.models import OutboxItem, StepRun, SyncRun
from tests.engine_support import live, point_settings, sf_posts, simulators

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _sf_state(sf) -> tuple[list, list]:
    jobs = sorted(j["check_number"] for j in sf.store.jobs())
    customers = sorted((c["customer_name"], str(c.get("parent_customer"))) for c in sf.store.customers())
    return jobs, customers


class _Sims:
    """``duplicates`` reads ``sims.sf``."""

    def __init__(self, sf) -> None:
        self.sf = sf


def test_a_run_stopped_mid_push_ends_partial_and_its_continuation_ends_like_an_unbounded_run(settings):
    live(SAFE_MODE=False)
    with simulators() as (pw, sf):  # the baseline: one unbounded run, then forgotten
        point_settings(settings, pw, sf)
        with contextlib.suppress(_Rollback), transaction.atomic():
            assert run_sync().status == SyncRun.Status.SUCCEEDED
            baseline = _sf_state(sf)
            raise _Rollback
    assert baseline[0], "the dataset must make jobs"

    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        # Stop once ServiceFusion has taken three writes: the run is mid-push, with calls under way.
        run = run_sync(budget=Budget(stop_requested=lambda: sf_posts(sf) >= 3))
        assert run.status == SyncRun.Status.PARTIAL, run.error_summary
        assert "the worker is stopping" in run.stop_reason and "left for the continuation" in run.stop_reason
        steps = {s.name: s.status for s in run.steps.all()}
        assert StepRun.Status.PARTIAL in steps.values()
        assert all(steps[name] == StepRun.Status.SUCCEEDED for name in steps if name.startswith("get"))
        assert 3 <= sf_posts(sf) < len(baseline[0]) + len(baseline[1])  # it stopped early
        assert OutboxItem.objects.filter(state=OutboxItem.State.SENDING).count() == 0  # nothing mid-send

        OrmQ.objects.all().delete()
        task_id = enqueue_continuation(run, dry_run=None, user_id=None)
        (task,) = [q.task for q in OrmQ.objects.all()]
        left = decide(run).steps
        assert task["id"] == task_id and task["func"] == "sync.engine.tasks.run_pipeline"
        assert task["kwargs"] == {"steps": left, "dry_run": None, "full": False, "trigger": "continuation",
                                  "user_id": None, "continues": run.pk}
        assert not any(name.startswith("get") for name in left)  # finished reads are not repeated

        after = run_sync(steps=left, trigger="continuation", continues=run.pk)
        assert after.status == SyncRun.Status.SUCCEEDED, after.error_summary
        assert after.continues_id == run.pk
        assert _sf_state(sf) == baseline
        assert duplicates(_Sims(sf))[:2] == (0, 0)  # type: ignore[arg-type]


def test_no_continuation_without_progress_or_past_the_cap(settings):
    live()
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        stalled = run_sync(budget=Budget(stop_requested=lambda: True))  # out of budget before any step
        assert stalled.status == SyncRun.Status.PARTIAL
        assert set(stalled.steps.values_list("status", flat=True)) == {StepRun.Status.PENDING}
        decision = decide(stalled)
        assert not decision.wanted and "no progress" in decision.why
        OrmQ.objects.all().delete()
        assert enqueue_continuation(stalled, dry_run=None, user_id=None) is None
        assert not OrmQ.objects.exists()

        moving = run_sync(budget=Budget(stop_requested=lambda: sf_posts(sf) >= 1))
        assert moving.status == SyncRun.Status.PARTIAL and decide(moving).wanted
        settings.SYNC = {**settings.SYNC, "CONTINUATIONS_MAX": 1}
        chained = run_sync(steps=decide(moving).steps, continues=moving.pk,
                           budget=Budget(stop_requested=lambda: True))
        assert chained.status == SyncRun.Status.PARTIAL
        assert not decide(chained).wanted and "SYNC_CONTINUATIONS_MAX" in decide(chained).why


def test_a_budget_refuses_nonsense_and_keeps_its_first_reason():
    with pytest.raises(ValueError, match="> 0 seconds"):
        Budget(0)
    budget = Budget()
    assert not budget.may_run_out and not budget.exhausted()
    budget.stop("first")
    budget.stop("second")
    assert budget.exhausted() and budget.reason == "first"
