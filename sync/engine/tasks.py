"""django-q2 entry points (thin: the work is ``sync.engine.runner.run_sync`` or
``sync.policies.unit_fixes``) and the sync schedule (R6, R7)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from croniter import croniter
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from greenlight.admin_tools import log_changes
from sync.engine import continuation, freshness, queued
from sync.engine.runner import run_sync
from sync.engine.worker import worker_run
from sync.models import SyncRun
from sync.observability.alerts import evaluate_periodic
from sync.observability.alerts import send_test_alert as _send_test_alert
from sync.policies import unit_fixes
from sync.policies.flags import read_flags

__all__ = [
    "ALERT_SCHEDULE_NAME",
    "check_alerts",
    "ensure_alert_schedule",
    "FIX_UNIT_IDS_GROUP",
    "SCHEDULE_CRON",
    "SCHEDULE_FUNC",
    "SCHEDULE_NAME",
    "enqueue_continuation",
    "enqueue_fix_unit_ids",
    "enqueue_sync",
    "enqueue_test_alert",
    "fix_unit_ids",
    "ensure_schedule",
    "run_pipeline",
    "run_scheduled_sync",
    "run_step",
    "send_test_alert",
]

logger = logging.getLogger("sync")

SCHEDULE_NAME = "greenlight-sync"
#: Every 30 minutes, 12:00-23:59 UTC, Monday-Friday (R6): standard cron, Monday=1, not AWS's 2-6 nor
#: node-cron's six fields. Switched off without a deploy by the flag SYNC_SCHEDULE_ENABLED (audited) or by
#: the schedule's repeats set to 0 in the admin; missed slots are not replayed (Q_CLUSTER catch_up is off).
SCHEDULE_CRON = "*/30 12-23 * * 1-5"
SCHEDULE_FUNC = "sync.engine.tasks.run_scheduled_sync"
FIX_UNIT_IDS_GROUP = "fix_unit_ids"
ALERT_SCHEDULE_NAME = "greenlight-alerts"
ALERT_SCHEDULE_FUNC = "sync.engine.tasks.check_alerts"
#: The dead man's switch must fire when no run happens at all, so it has its own timer.
ALERT_SCHEDULE_MINUTES = 10
_CRON_TYPE = "C"  # Schedule.CRON; spelled out so a historical Schedule model works too


def _user(user_id: int | None):
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


def run_pipeline(*, steps: list[str] | None = None, dry_run: bool | None = None, full: bool = False,
                 trigger: str = "task", user_id: int | None = None, continues: int | None = None,
                 queued_task_id: int | None = None) -> int:
    """Run the sync (all steps, or ``steps``); returns the run id.

    The runner takes the sync lock itself and records a "refused" run while another holds it (R4). The
    run has the worker's budget (Q_TIMEOUT less SYNC_BUDGET_MARGIN); in a worker, the cluster stopping
    ends it too. A run that ends "partial" queues its continuation at once (``continuation.decide``).
    ``queued_task_id``: the QueuedTask a status URL follows (set by ``enqueue_sync``); a continuation
    carries it on, so the URL follows the chain to its last run.
    """
    with queued.tracking(queued_task_id) as track:
        with worker_run() as budget:
            run = run_sync(steps=steps, dry_run=dry_run, full=full, trigger=trigger, user=_user(user_id),
                           budget=budget, continues=continues, progress=track.progress)
        track.ran(run)
        next_task = enqueue_continuation(run, dry_run=dry_run, user_id=user_id, queued_task_id=track.pk)
        if next_task:
            track.continued(run, next_task)
    return run.pk


def enqueue_continuation(run: SyncRun, *, dry_run: bool | None, user_id: int | None,
                         queued_task_id: int | None = None) -> str | None:
    """Queue the continuation of a partial run now (not at the next slot); returns its task id, or None
    when there is none (why is logged). Queued even while the cluster stops: the broker keeps it for the
    next worker. A continuation that finds the lock held is refused like any run; the schedule's next
    slot then carries on."""
    decision = continuation.decide(run)
    if run.status == SyncRun.Status.PARTIAL:
        logger.info("%s", decision.why, extra={"event": "continuation"})
    if not decision.wanted:
        return None
    return async_task(
        "sync.engine.tasks.run_pipeline", steps=decision.steps, dry_run=dry_run, full=run.full,
        trigger=SyncRun.Trigger.CONTINUATION.value, user_id=user_id, continues=run.pk,
        task_name=f"sync continuation of run {run.pk}", group=SCHEDULE_NAME,
        **({queued.QUEUED_TASK_KWARG: queued_task_id} if queued_task_id is not None else {}),
    )


def run_step(step: str, *, dry_run: bool | None = None, full: bool = False, trigger: str = "task",
             user_id: int | None = None) -> int:
    """Run one step by its name (e.g. ``getPWWorkOrders``)."""
    return run_pipeline(steps=[step], dry_run=dry_run, full=full, trigger=trigger, user_id=user_id)


def run_scheduled_sync() -> str:
    """What the schedule calls: a full pipeline unless the schedule is switched off.

    A slot that finds another run going is refused (recorded as such by the runner), never queued up.
    """
    if not read_flags().sync_schedule_enabled:
        return "skipped: SYNC_SCHEDULE_ENABLED is off"
    freshness.wait_for_light_run()  # a light run under way finishes first: the slot is not refused for it
    run = SyncRun.objects.get(pk=run_pipeline(trigger="schedule"))
    return f"run {run.pk}: {run.status}"


def enqueue_sync(*, steps: list[str] | None = None, dry_run: bool | None = None, full: bool = False,
                 user=None, trigger: str = "manual", via: str = "") -> str:
    """Queue a run for the workers (admin action, HTTP trigger); returns the django-q2 task id, which
    ``queued.status`` follows."""
    label = "sync " + (",".join(steps) if steps else "all steps")
    return queued.enqueue(
        "sync.engine.tasks.run_pipeline", kind="sync", label=label, group=SCHEDULE_NAME, user=user,
        via=via or trigger, steps=steps, dry_run=dry_run, full=full, trigger=trigger,
        user_id=getattr(user, "pk", None),
    ).task_id or ""


def fix_unit_ids(*, dry_run: bool = False, user_id: int | None = None, reason: str = "",
                 queued_task_id: int | None = None) -> str:
    """``fix_unit_ids`` for the admin button (only the check when ``dry_run``); the correction cases it opens
    are logged against whoever asked, with their reason. Returns the report the command would print."""
    with queued.tracking(queued_task_id) as track:
        result = unit_fixes.fix_unit_ids(dry_run=dry_run)
        user = _user(user_id)
        if user is not None and result.cases:
            log_changes(user, result.cases, f"Opened by fix_unit_ids. Reason: {reason}")
        report = "\n".join([*result.lines, result.summary])
        track.finish(report)
    return report


def enqueue_fix_unit_ids(*, dry_run: bool, user=None, reason: str = "") -> str:
    """Queue ``fix_unit_ids`` for the workers; returns the django-q2 task id."""
    return queued.enqueue(
        "sync.engine.tasks.fix_unit_ids", kind="fix_unit_ids",
        label="fix_unit_ids " + ("check" if dry_run else "apply"), group=FIX_UNIT_IDS_GROUP, user=user,
        via="admin", dry_run=dry_run, user_id=getattr(user, "pk", None), reason=reason,
    ).task_id or ""


def send_test_alert(*, requested_by: str = "", queued_task_id: int | None = None) -> str:
    """The admin's "send a test alert": delivery waits on every ALERT_URLS target (SMTP, webhooks), so a
    worker does it. Fails the task when no target took it."""
    with queued.tracking(queued_task_id) as track:
        alert = _send_test_alert(requested_by)
        text = f"test alert {alert.pk}: {alert.delivery_result}"
        track.finish(text, failed=alert.delivered is False)
    return text


def enqueue_test_alert(*, user=None) -> str:
    """Queue a test alert; returns the django-q2 task id."""
    return queued.enqueue(
        "sync.engine.tasks.send_test_alert", kind="test_alert", label="test alert", group="alerts", user=user,
        via="admin", requested_by=user.get_username() if user is not None else "",
    ).task_id or ""


def next_slot(after: datetime | None = None) -> datetime:
    """The next scheduled start after ``after`` (default now), in UTC."""
    return croniter(SCHEDULE_CRON, after or timezone.now()).get_next(datetime)


def ensure_schedule(schedule_model=None):
    """Create or repair the one sync schedule, by name; safe to call on every deploy.

    Extra rows with the same name (left by code that used ``create``) are removed; a schedule staff
    paused (repeats 0) stays paused. ``schedule_model`` may be a historical model.
    """
    schedule_model = schedule_model or Schedule
    with transaction.atomic():
        rows = list(schedule_model.objects.select_for_update().filter(name=SCHEDULE_NAME).order_by("pk"))
        for extra in rows[1:]:
            extra.delete()
        current = rows[0] if rows else None
        defaults: dict = {"func": SCHEDULE_FUNC, "schedule_type": _CRON_TYPE, "cron": SCHEDULE_CRON}
        if current is None or current.cron != SCHEDULE_CRON or current.schedule_type != _CRON_TYPE:
            defaults["next_run"] = next_slot()
        schedule, _ = schedule_model.objects.update_or_create(
            name=SCHEDULE_NAME, defaults=defaults, create_defaults={**defaults, "repeats": -1},
        )
    if schedule_model is Schedule:
        ensure_alert_schedule()  # deployed together: the sync's schedule and the timer that watches it
        freshness.ensure_freshness_schedule()  # the light runs' tick (idle while FRESHNESS_ENABLED is off)
    return schedule


def check_alerts() -> str:
    """What the alert timer calls: the dead man's switch over the sync schedule, the standing conditions."""
    return evaluate_periodic(SCHEDULE_CRON)


def ensure_alert_schedule(schedule_model=None):
    """Create or repair the alert timer, by name, as ``ensure_schedule`` does (a paused one stays paused)."""
    schedule_model = schedule_model or Schedule
    with transaction.atomic():
        rows = list(
            schedule_model.objects.select_for_update().filter(name=ALERT_SCHEDULE_NAME).order_by("pk"))
        for extra in rows[1:]:
            extra.delete()
        defaults: dict = {"func": ALERT_SCHEDULE_FUNC, "schedule_type": "I",  # Schedule.MINUTES
                          "minutes": ALERT_SCHEDULE_MINUTES}
        schedule, _ = schedule_model.objects.update_or_create(
            name=ALERT_SCHEDULE_NAME, defaults=defaults,
            create_defaults={**defaults, "repeats": -1,
                             "next_run": timezone.now() + timedelta(minutes=ALERT_SCHEDULE_MINUTES)},
        )
    return schedule
