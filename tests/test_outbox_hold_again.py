"""Rows held on every run (no customer yet, a unit waiting for staff) are held again in one update when
nothing about them changed, and planned one by one when something did; nothing else is touched."""

from __future__ import annotations

import pytest
from django.db import transaction

from sync.engine.context import StepContext
from sync.models import OutboxItem, SyncRun
from sync.outbox.planning import hold_again, plan
from sync.policies.flags import read_flags, set_flag

pytestmark = pytest.mark.django_db
State = OutboxItem.State
JOB = OutboxItem.Kind.JOB


@pytest.fixture(autouse=True)
def writes_on():
    set_flag("DRY_RUN", False, reason="test")


def _ctx() -> StepContext:
    return StepContext(run=SyncRun.objects.create(), step_run=None, name="test", flags=read_flags())


def _row(n: int, reason: str = "building 7 has no ServiceFusion customer (unmapped)"):
    return (f"job:WO-{n}", {"check_number": f"WO-{n}"}, {"work_order_id": n, "building_id": 7}, reason)


def _plan_held(ctx, rows) -> None:
    for key, payload, context, reason in rows:
        with transaction.atomic():
            plan(key, JOB, payload, run_id=ctx.run_id, dry_run=False, context=context, hold_reason=reason)


def test_rows_held_as_before_become_this_runs_in_one_update_and_the_rest_are_returned():
    first = _ctx()
    _plan_held(first, [_row(1), _row(2), _row(3)])
    plan("job:WO-4", JOB, {"check_number": "WO-4"}, run_id=first.run_id, dry_run=False, context={})
    OutboxItem.objects.filter(key="job:WO-3").update(review=True)

    second = _ctx()
    changed = _row(2, "unit problem: see unit corrections (held for unit correction)")
    rest = hold_again(second, JOB, [_row(1), changed, _row(3), _row(4), _row(5)])

    # WO-1: held exactly so; WO-2: a new reason; WO-3: staff review it; WO-4: planned; WO-5: no row yet.
    assert [r[0] for r in rest] == ["job:WO-2", "job:WO-3", "job:WO-4", "job:WO-5"]
    assert second.counts["held"] == 1
    rows = {o.key: o for o in OutboxItem.objects.all()}
    assert rows["job:WO-1"].run_id == second.run_id and rows["job:WO-1"].state == State.HELD
    assert rows["job:WO-2"].run_id == first.run_id  # left for plan() to change
    assert rows["job:WO-3"].run_id == first.run_id and rows["job:WO-3"].review
    assert rows["job:WO-4"].state == State.PLANNED and rows["job:WO-4"].run_id == first.run_id


def test_a_dry_run_plans_every_row_itself():
    _plan_held(_ctx(), [_row(1)])
    set_flag("DRY_RUN", True, reason="test")
    ctx = _ctx()
    assert ctx.dry_run
    assert hold_again(ctx, JOB, [_row(1)]) == [_row(1)]
    assert not ctx.counts


def test_many_rows_are_looked_up_in_slices():
    first = _ctx()
    rows = [_row(n) for n in range(1, 1203)]
    _plan_held(first, rows)
    second = _ctx()
    assert hold_again(second, JOB, rows) == []
    assert OutboxItem.objects.filter(run_id=second.run_id, state=State.HELD).count() == len(rows)
