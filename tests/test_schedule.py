"""The sync schedule: one row, created idempotently, every 30 minutes 12:00-23:59 UTC Mon-Fri, no
catch-up flood after downtime, and switchable off without a deploy; the task entry points."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from sync.engine.tasks import (
    SCHEDULE_CRON,
    SCHEDULE_FUNC,
    SCHEDULE_NAME,
    enqueue_sync,
    ensure_schedule,
    next_slot,
    run_scheduled_sync,
)
from sync.models import QueuedTask
from sync.policies.flags import set_flag

pytestmark = pytest.mark.django_db


def _in_slot(moment: datetime) -> bool:
    moment = moment.astimezone(UTC)
    return (moment.weekday() < 5 and 12 <= moment.hour <= 23 and moment.minute in (0, 30)
            and moment.second == 0)


def test_the_migration_creates_exactly_one_schedule():
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.cron, schedule.repeats) == (
        SCHEDULE_FUNC, Schedule.CRON, "*/30 12-23 * * 1-5", -1)
    assert schedule.next_run > timezone.now() - timedelta(minutes=1) and _in_slot(schedule.next_run)


def test_ensure_schedule_is_idempotent_and_collapses_copies():
    first = ensure_schedule()
    again = ensure_schedule()
    assert first.pk == again.pk and Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1
    for _ in range(2):  # as code using create() on every deploy would leave
        Schedule.objects.create(name=SCHEDULE_NAME, func=SCHEDULE_FUNC, schedule_type=Schedule.CRON,
                                cron=SCHEDULE_CRON)
    assert ensure_schedule().pk == first.pk
    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


def test_ensure_schedule_keeps_a_pause_and_repairs_the_timing():
    Schedule.objects.filter(name=SCHEDULE_NAME).update(repeats=0, cron="0 * * * *",
                                                       next_run=timezone.now() - timedelta(days=9))
    schedule = ensure_schedule()
    assert schedule.repeats == 0  # staff paused it: still paused
    assert schedule.cron == SCHEDULE_CRON
    assert schedule.next_run > timezone.now() and _in_slot(schedule.next_run)


@pytest.mark.parametrize("now,expected", [
    (datetime(2025, 8, 22, 23, 40, tzinfo=UTC), datetime(2025, 8, 25, 12, 0, tzinfo=UTC)),  # Fri late
    (datetime(2025, 8, 24, 13, 0, tzinfo=UTC), datetime(2025, 8, 25, 12, 0, tzinfo=UTC)),  # Sunday
    (datetime(2025, 8, 25, 12, 10, tzinfo=UTC), datetime(2025, 8, 25, 12, 30, tzinfo=UTC)),  # Monday
    (datetime(2025, 8, 26, 11, 59, tzinfo=UTC), datetime(2025, 8, 26, 12, 0, tzinfo=UTC)),
    (datetime(2025, 8, 26, 23, 30, tzinfo=UTC), datetime(2025, 8, 27, 12, 0, tzinfo=UTC)),
])
def test_slots_are_every_half_hour_in_the_working_window(now, expected):
    assert next_slot(now) == expected


# django-q2's scheduler closes the database connection first, as a worker does: these run outside the
# per-test transaction, so they create the schedule themselves (idempotently) on the emptied tables.
@pytest.mark.django_db(transaction=True)
def test_after_downtime_the_scheduler_queues_one_run_not_a_flood():
    ensure_schedule()
    Schedule.objects.filter(name=SCHEDULE_NAME).update(next_run=timezone.now() - timedelta(days=3))
    OrmQ.objects.all().delete()
    scheduler(broker=get_broker())
    queued = [q.task for q in OrmQ.objects.all()]
    assert [t["func"] for t in queued] == [SCHEDULE_FUNC]
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert schedule.next_run > timezone.now() and _in_slot(schedule.next_run)
    scheduler(broker=get_broker())  # nothing more is due
    assert OrmQ.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_paused_schedule_queues_nothing():
    ensure_schedule()
    paused = {"next_run": timezone.now() - timedelta(hours=1), "repeats": 0}
    Schedule.objects.filter(name=SCHEDULE_NAME).update(**paused)
    OrmQ.objects.all().delete()
    scheduler(broker=get_broker())
    assert OrmQ.objects.count() == 0


def test_the_flag_switches_scheduled_runs_off():
    set_flag("SYNC_SCHEDULE_ENABLED", "false", reason="manual runs only")
    assert run_scheduled_sync() == "skipped: SYNC_SCHEDULE_ENABLED is off"


def test_enqueue_sync_queues_the_pipeline_task(django_user_model):
    staff = django_user_model.objects.create_user("ops")
    OrmQ.objects.all().delete()
    task_id = enqueue_sync(steps=["getPWPortfolios"], dry_run=True, user=staff)
    (task,) = [q.task for q in OrmQ.objects.all()]
    assert task["id"] == task_id and task["func"] == "sync.engine.tasks.run_pipeline"
    row = QueuedTask.objects.get(task_id=task_id)  # what the status URL follows
    assert task["kwargs"] == {"steps": ["getPWPortfolios"], "dry_run": True, "full": False,
                              "trigger": "manual", "user_id": staff.pk, "queued_task_id": row.pk}
    assert row.state == "queued" and row.requested_by == staff and row.kind == "sync"
    assert task["name"] == "sync getPWPortfolios"


def test_the_freshness_ticks_results_do_not_push_the_sync_runs_out_of_the_kept_results(monkeypatch):
    """django-q2 keeps SAVE_LIMIT successes; kept per group, a tick every minute evicts only older ticks."""
    from django_q.conf import Conf
    from django_q.models import Success
    from django_q.monitor import save_task

    assert Conf.SAVE_LIMIT_PER == "group"
    monkeypatch.setattr(Conf, "SAVE_LIMIT", 3)  # 1000 in production; 3 makes the eviction visible

    def done(n: int, group: str) -> None:
        now = timezone.now()
        save_task({"id": f"{n:032x}", "name": f"task {n}", "func": "sync.engine.tasks.run_pipeline",
                   "args": (), "kwargs": {}, "group": group, "success": True, "result": "ok",
                   "started": now, "stopped": now, "attempt_count": 1,
                   # as django-q2's own sync mode saves: the test's connection stays open
                   "sync": True}, get_broker())

    done(1, SCHEDULE_NAME)
    for n in range(2, 12):
        done(n, "greenlight-freshness")
    assert Success.objects.filter(group=SCHEDULE_NAME).count() == 1  # the sync run's result is kept
    assert Success.objects.filter(group="greenlight-freshness").count() == 3
