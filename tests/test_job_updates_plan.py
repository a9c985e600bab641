"""pushJobUpdatesToPW's planning (R28): which SF jobs have a status to write back to their work order.
A dry run plans the writes without sending, so the planned rows show the decisions."""

from __future__ import annotations

import pytest

from sync.engine.context import StepContext
from sync.models import OutboxItem, SyncRun
from sync.policies.flags import read_flags, set_flag
from sync.steps import push_job_updates
from tests.warehouse_rows import job, work_order

pytestmark = pytest.mark.django_db


def _plan() -> dict[str, OutboxItem]:
    set_flag("DRY_RUN", True, reason="test")
    ctx = StepContext(run=SyncRun.objects.create(), step_run=None, name="pushJobUpdatesToPW",
                      flags=read_flags())
    push_job_updates.run(ctx)
    return {row.key: row for row in OutboxItem.objects.filter(kind=OutboxItem.Kind.PW_STATUS)}


def test_only_jobs_whose_status_differs_from_their_own_work_orders_are_planned():
    work_order(1, building_id=10, status="Scheduled", sf_job_id=9001)
    job(9001, work_order_id=1, status="scheduled ")  # the same status, written another way
    work_order(2, building_id=10, status="Scheduled", sf_job_id=9002)
    job(9002, work_order_id=2, status="Dispatched")
    job(9003, work_order_id=2, status="On The Way")  # not the job work order 2 is linked to
    work_order(3, building_id=10, status="Scheduled")
    job(9004, work_order_id=3, status="Started")  # linked by its work order id only
    work_order(4, building_id=10, status="Closed", sf_job_id=9005)
    job(9005, work_order_id=4, status="Completed", status_category="Closed")  # both closed
    work_order(5, building_id=10, status="Closed", sf_job_id=9006)
    job(9006, work_order_id=5, status="Dispatched")  # PW closed, SF open: a conflict
    job(9007, work_order_id=6, status="Dispatched")  # no such work order

    planned = _plan()

    assert sorted(planned) == [
        "pw:status:WO-2:Dispatched", "pw:status:WO-3:Started", "pw:status:WO-5:Dispatched"]
    assert planned["pw:status:WO-2:Dispatched"].payload["status"] == "Dispatched"
    assert "conflict" in planned["pw:status:WO-5:Dispatched"].hold_reason


def test_the_staff_status_mapping_decides_what_differs():
    from sync.models import StatusMapping

    work_order(1, building_id=10, status="In Progress", sf_job_id=9001)
    job(9001, work_order_id=1, status="Started")
    assert list(_plan()) == ["pw:status:WO-1:Started"]
    OutboxItem.objects.all().delete()
    StatusMapping.objects.update_or_create(sf_status="Started", defaults={"pw_status": "In Progress"})
    assert _plan() == {}
