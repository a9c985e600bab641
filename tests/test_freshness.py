"""Freshness you can see: /metrics, the dashboard and the alerts show the oldest open work order still
waiting for its SF job (held ones apart) and the oldest SF status change not yet written back to PW."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.engine.runner import run_sync
from sync.engine.tasks import check_alerts
from sync.models import Alert, DuplicateCandidate, OutboxItem, SyncRun, UnitCorrection
from sync.observability.freshness import measure, unsent_work_orders
from sync.policies.flags import read_flags, set_flag
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for
from tests.engine_support import live
from tests.test_alerts import alert_hooks, webhook  # noqa: F401  (the real receiver the alert tests use)
from tests.test_metrics_endpoint import sample_value, scrape
from tests.warehouse_rows import job, map_building, work_order

pytestmark = pytest.mark.django_db

AGE = "greenlight_oldest_unsent_work_order_age_seconds"
UNSENT = "greenlight_unsent_work_orders"
LAG = "greenlight_status_writeback_lag_seconds"
PENDING = "greenlight_status_writebacks_pending"


def _gauge(families, name) -> float | None:
    return sample_value(families[name], name)


@pytest.fixture
def hooks(alert_hooks):  # noqa: F811
    received = alert_hooks
    # No scheduled runs are expected here: the dead man's switch stays quiet and only freshness speaks.
    set_flag("SYNC_SCHEDULE_ENABLED", False, reason="test")
    return received


def _ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


def _waiting_world() -> None:
    """WO 1 waits (open, building mapped, no job); every other one is held, closed, unmapped or has a job."""
    map_building(10, 500)
    work_order(1, building_id=10, status="Scheduled", created_date=_ago(30))
    work_order(2, building_id=10, status="Scheduled", created_date=_ago(300))  # a duplicate to review
    DuplicateCandidate.objects.create(work_order_id=2, sf_job_id=7001, rule="temporal", score=0.9, reason="x")
    work_order(3, building_id=10, status="Scheduled", created_date=_ago(300))  # a unit to correct
    UnitCorrection.objects.create(work_order_id=3, building_id=10, original_unit_id=10, problem_code="x",
                                  problem="unit is the building")
    work_order(4, building_id=10, status="Scheduled", created_date=_ago(300))  # a held write
    OutboxItem.objects.create(key="job:WO-4", kind="job", state="held", hold_reason="safe mode: x")
    work_order(5, building_id=20, status="Scheduled", created_date=_ago(300))  # building unmapped
    work_order(6, building_id=10, status="Completed", created_date=_ago(300))  # closed
    work_order(7, building_id=10, status="Scheduled", created_date=_ago(300), sf_job_id=9007)  # has a job


def test_metrics_show_the_oldest_waiting_work_order_and_leave_held_ones_out(client):
    _waiting_world()
    families = scrape(client)
    assert _gauge(families, UNSENT) == 1
    assert _gauge(families, AGE) == pytest.approx(30 * 60, abs=30)
    assert [r["work_order_id"] for r in unsent_work_orders(read_flags())] == [1]
    # Open is R26's test, the push's own: a status typed with stray spaces and capitals is open too.
    work_order(8, building_id=10, status="  on   THE way ", created_date=_ago(60))
    assert [r["work_order_id"] for r in unsent_work_orders(read_flags())] == [8, 1]
    work_order(8, building_id=10, status="Completed", created_date=_ago(60))
    # Once its job is linked, nothing waits: the gauge reads 0.
    work_order(1, building_id=10, status="Scheduled", created_date=_ago(30), sf_job_id=9001)
    families = scrape(client)
    assert (_gauge(families, UNSENT), _gauge(families, AGE)) == (0, 0)
    assert {s.labels["section"]: s.value for s in families["greenlight_metrics_section_up"]}["freshness"] == 1


def _status_row(wo_id: int, minutes_ago: float, state: str = "planned", **fields) -> OutboxItem:
    return OutboxItem.objects.create(
        key=f"pw:status:WO-{wo_id}:Dispatched", kind="pw_status", state=state,
        payload={"status": "Dispatched"},
        context={"work_order_id": wo_id, "job_id": 9000 + wo_id, "sf_status": "Dispatched",
                 "sf_updated_at": _ago(minutes_ago).isoformat()}, **fields)


def test_the_status_writeback_lag_counts_from_the_sf_change_of_the_oldest_unwritten_status(client):
    _status_row(1, 25)
    _status_row(2, 12, state="failed")
    _status_row(3, 600, state="held", review=True)  # a conflict staff decide: not lag
    _status_row(4, 600, state="sent", sent_at=timezone.now())
    _status_row(5, 600, state="dead")  # a dead letter has its own alert
    families = scrape(client)
    assert _gauge(families, PENDING) == 2
    assert _gauge(families, LAG) == pytest.approx(25 * 60, abs=30)
    OutboxItem.objects.filter(state__in=["planned", "failed"]).update(state="sent", sent_at=timezone.now())
    families = scrape(client)
    assert (_gauge(families, PENDING), _gauge(families, LAG)) == (0, 0)


def test_planning_a_status_writeback_keeps_when_sf_changed_the_job():
    from tests.test_job_updates_plan import _plan

    work_order(1, building_id=10, status="Scheduled", sf_job_id=9001)
    changed = _ago(7)
    job(9001, work_order_id=1, status="Dispatched", updated_at=changed)
    row = _plan()["pw:status:WO-1:Dispatched"]
    assert row.context["sf_updated_at"] == changed.isoformat()


def test_the_status_alert_opens_past_its_threshold_and_resolves_once_written(hooks):
    set_flag("DRY_RUN", False, reason="test: writes are meant to happen")
    set_flag("ALERT_STATUS_WRITEBACK_MINUTES", 15, reason="test")
    row = _status_row(1, 10)
    check_alerts()
    assert hooks == [] and not Alert.objects.filter(condition="status_writeback_late").exists()
    later = {**row.context, "sf_updated_at": _ago(20).isoformat()}
    OutboxItem.objects.filter(pk=row.pk).update(context=later)
    check_alerts()
    check_alerts()  # still late: the open alert is updated, nothing new is sent
    assert len(hooks) == 1 and "pw:status:WO-1:Dispatched" in hooks[0]["message"]
    assert "ALERT_STATUS_WRITEBACK_MINUTES" in hooks[0]["message"]
    OutboxItem.objects.filter(pk=row.pk).update(state="sent", sent_at=timezone.now())
    check_alerts()
    assert len(hooks) == 2 and "resolved" in hooks[1]["title"].lower()
    assert Alert.objects.get(condition="status_writeback_late").state == Alert.State.RESOLVED


def test_a_run_that_leaves_work_orders_without_jobs_alerts_and_the_full_sync_clears_it(sims, client, hooks):
    """The tiny dataset through both simulators: every step but the job push leaves mapped, open work orders
    waiting (PW created them before today); the run's own alert check opens the alert, the full sync sends
    their jobs, and the gauge and the alert clear (held ones, e.g. twins for review, stay out)."""
    live(SAFE_MODE=False, ALERT_UNSENT_WORK_ORDER_MINUTES=1)
    from sync.engine.pipeline import STEP_NAMES

    partial = run_sync(steps=[s for s in STEP_NAMES if s not in ("pushWorkOrdersToSF", "pushJobUpdatesToPW")])
    assert partial.status == SyncRun.Status.SUCCEEDED, partial.error_summary
    families = scrape(client)
    waiting = _gauge(families, UNSENT)
    assert waiting and waiting > 0 and _gauge(families, AGE) > 60
    assert len(hooks) == 1 and f"{int(waiting)} open work order(s)" in hooks[0]["message"]
    assert Alert.objects.get(condition="work_order_unsent").state == Alert.State.OPEN

    full = run_sync(full=True)
    assert full.status == SyncRun.Status.SUCCEEDED, full.error_summary
    families = scrape(client)
    assert (_gauge(families, UNSENT), _gauge(families, AGE)) == (0, 0)
    assert OutboxItem.objects.filter(kind="job", state="held").exists()  # held twins are not counted
    assert len(hooks) == 2 and "resolved" in hooks[1]["title"].lower()
    assert Alert.objects.get(condition="work_order_unsent").state == Alert.State.RESOLVED


def test_dry_run_shows_the_figure_but_does_not_alert(hooks):
    _waiting_world()
    set_flag("ALERT_UNSENT_WORK_ORDER_MINUTES", 1, reason="test")
    fresh = measure(read_flags())
    assert fresh.work_orders.waiting == 1 and fresh.work_orders.state == "not checked"
    check_alerts()
    assert hooks == []


def test_the_dashboard_shows_both_figures_with_their_threshold_state(client, viewer):
    _waiting_world()
    set_flag("DRY_RUN", False, reason="test")
    set_flag("ALERT_UNSENT_WORK_ORDER_MINUTES", 20, reason="test")
    _status_row(8, 3)
    page = client_for(client, viewer).get(reverse("admin:index"))
    body = page.content.decode()
    fresh = page.context["freshness"]
    assert fresh.work_orders.late and not fresh.status_writeback.late
    assert 'id="gl-freshness-work-orders"' in body and "30 min" in body and "WO 1" in body
    assert "threshold 20 min 0 s · late" in body
    assert "pw:status:WO-8:Dispatched" in body and "threshold 10 min 0 s · on time" in body
