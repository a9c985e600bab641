"""Freshness mode: light incremental runs between the scheduled full runs, inside the schedule's window. A
django-q2 schedule calls ``tick`` every minute; the tick decides from the adaptive interval, the full run's
slots, the sync lock and the SF share whether a light run starts now."""
from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule

from sync.engine.locks import SyncLockHeld, sync_lock
from sync.engine.runner import run_sync
from sync.engine.sf_share import SharedBudget, allowance_per_minute
from sync.engine.worker import worker_run
from sync.models import FreshnessState, SyncRun
from sync.policies.flags import Flags, read_flags

__all__ = [
    "LIGHT_STEPS",
    "SCHEDULE_NAME",
    "changes_in",
    "ensure_freshness_schedule",
    "next_interval",
    "state",
    "tick",
    "wait_for_light_run",
]

logger = logging.getLogger("sync")

#: What a light run does: new and changed work orders in, SF jobs in (incremental, by their cursors), jobs
#: for new open work orders out, statuses back to PW. Portfolios, buildings, leases and customers wait for
#: the full run: a work order in a building the warehouse has not seen yet gets its job there.
LIGHT_STEPS = ("getPWWorkOrders", "getSFJobs", "pushWorkOrdersToSF", "pushJobUpdatesToPW")
SCHEDULE_NAME = "greenlight-freshness"
SCHEDULE_FUNC = "sync.engine.freshness.tick"
#: the full run's schedule (sync.engine.tasks.SCHEDULE_NAME): its cron is the window light runs keep to
SYNC_SCHEDULE_NAME = "greenlight-sync"
#: light runs stand aside this long either side of a full run's slot, so the full run finds the lock free
FULL_RUN_GUARD = timedelta(seconds=60)
#: a quiet run lengthens the interval by this factor (up to FRESHNESS_MAX_INTERVAL_SECONDS)
BACKOFF = 1.5
#: SF requests a quiet light run makes (a page of changed jobs; the statuses when their cache expires)
QUIET_RUN_COST = 2
#: a tick this close before the due moment counts as on time: the scheduler looks every 30 s, and a tick
#: that came a moment early would otherwise wait for the next look, doubling a 30 s interval
SLACK = timedelta(seconds=5)
#: a run still "running" after this long was killed; it holds nothing up
LIGHT_RUN_STALE = timedelta(minutes=10)
_CHANGE_SUFFIXES = ("_inserted", "_changed", "_type1_updated", "_tombstoned")
_CHANGE_KEYS = ("created", "updated", "linked", "sent", "closed")


def state() -> FreshnessState:
    """The one state row, created on first use."""
    row, _ = FreshnessState.objects.get_or_create(name="freshness")
    return row


def changes_in(run: SyncRun) -> int:
    """How many changes a light run found or made: rows a pull inserted or changed, writes it sent."""
    counts = run.counts or {}
    return sum(int(v) for k, v in counts.items()
               if isinstance(v, (int, float)) and (k.endswith(_CHANGE_SUFFIXES) or k in _CHANGE_KEYS))


def next_interval(previous: int, changed: bool, flags: Flags) -> int:
    """Seconds to the next light run: the minimum after a change, else half as long again, up to the
    maximum (a maximum below the minimum counts as the minimum)."""
    low = flags.freshness_min_interval_seconds
    high = max(low, flags.freshness_max_interval_seconds)
    if changed or previous <= 0:
        return low
    return min(high, max(low, math.ceil(previous * BACKOFF)))


def _window_cron(cron: str) -> str:
    """The hours and days a cron covers: its minute field made "*" (``*/30 12-23 * * 1-5`` covers
    12:00-23:59 on weekdays)."""
    fields = cron.split()
    return " ".join(["*", *fields[1:]]) if len(fields) == 5 else cron


def _sync_schedule():
    return Schedule.objects.filter(name=SYNC_SCHEDULE_NAME).order_by("pk").first()


def outside_window(now: datetime, flags: Flags) -> str:
    """Why a light run may not start now for the schedule's sake ("" when it may)."""
    if not flags.sync_schedule_enabled:
        return "skipped: the sync schedule is off (SYNC_SCHEDULE_ENABLED)"
    schedule = _sync_schedule()
    if schedule is None or schedule.repeats == 0 or not schedule.cron:
        return "skipped: no active sync schedule, so no window"
    if not croniter.match(_window_cron(schedule.cron), timezone.localtime(now)):
        return f"skipped: outside the sync schedule's window ({schedule.cron})"
    return ""


def full_run_near(now: datetime) -> str:
    """Why a full run's slot keeps light runs out of the way now ("" when none is near).

    Within FULL_RUN_GUARD before a slot, and after one until its run has started (the scheduler looks every
    30 s and a worker must be free), so the full run's pushes find the lock free."""
    waiting = _continuation_waiting(now)
    if waiting:
        return waiting
    schedule = _sync_schedule()
    if schedule is None or schedule.repeats == 0 or not schedule.cron:
        return ""
    local = timezone.localtime(now)
    upcoming = croniter(schedule.cron, local).get_next(datetime)
    if upcoming - local <= FULL_RUN_GUARD:
        return f"deferred: the full run is due at {upcoming:%H:%M}"
    previous = croniter(schedule.cron, local).get_prev(datetime)
    if local - previous <= FULL_RUN_GUARD and not SyncRun.objects.filter(
            trigger=SyncRun.Trigger.SCHEDULE, started_at__gte=previous).exists():
        return f"deferred: the full run of {previous:%H:%M} has not started yet"
    return ""


def _continuation_waiting(now: datetime) -> str:
    """A full run that ended partial queues its continuation at once: a light run taking the lock first
    would have it refused. Light runs stand aside until it starts (for at most Q_TIMEOUT, in case none
    was queued: no progress, or the chain's cap)."""
    recent = now - timedelta(seconds=int(settings.Q_CLUSTER["timeout"]))
    partial = (SyncRun.objects.filter(status=SyncRun.Status.PARTIAL, finished_at__gte=recent)
               .exclude(trigger=SyncRun.Trigger.FRESHNESS).exclude(continuations__isnull=False)
               .order_by("-finished_at").first())
    return f"deferred: run {partial.pk} ended partial and its continuation has not started" if partial else ""


def _tokens(row: FreshnessState, now: datetime, flags: Flags) -> float:
    """SF requests the share has left now: a bucket of one minute's share, refilled continuously."""
    per_minute = allowance_per_minute() * flags.freshness_sf_share / 100
    if row.sf_tokens_at is None:
        return per_minute
    elapsed = max(0.0, (now - row.sf_tokens_at).total_seconds())
    return min(per_minute, row.sf_tokens + elapsed * per_minute / 60)


def _note(pk: int, outcome: str, now: datetime, **changes) -> str:
    FreshnessState.objects.filter(pk=pk).update(last_outcome=outcome[:200], last_tick_at=now, **changes)
    return outcome


def _follow_schedule(due: datetime) -> None:
    """Point the tick's own schedule at the next due moment, so a 30 s interval is not held to its minute
    (django-q2's scheduler looks every 30 s). The update waits for the scheduler's transaction on the row,
    so it wins over the minute the scheduler added; if it is lost, the next tick comes a minute on."""
    Schedule.objects.filter(name=SCHEDULE_NAME).exclude(repeats=0).update(
        next_run=max(due, timezone.now() + timedelta(seconds=1)))


def tick() -> str:
    """What the freshness schedule calls: start a light run if one is due, or say why not."""
    now = timezone.now()
    flags = read_flags()
    row = state()
    if not flags.freshness_enabled:
        return _note(row.pk, "off: FRESHNESS_ENABLED is false", now)
    why = outside_window(now, flags)
    if why:
        return _note(row.pk, why, now)
    if row.next_due_at is not None and row.next_due_at > now + SLACK:
        _follow_schedule(row.next_due_at - SLACK)
        return f"not due until {row.next_due_at:%H:%M:%S}"
    interval = next_interval(row.interval_seconds, False, flags) if row.interval_seconds else \
        flags.freshness_min_interval_seconds
    due = now + timedelta(seconds=interval)
    why = full_run_near(now)
    if why:
        return _note(row.pk, why, now, skipped_full_run=F("skipped_full_run") + 1)
    tokens = _tokens(row, now, flags)
    if tokens < QUIET_RUN_COST:
        per_second = allowance_per_minute() * flags.freshness_sf_share / 6000
        wait = (QUIET_RUN_COST - tokens) / per_second
        back = now + timedelta(seconds=wait)
        _note(row.pk, f"skipped: the SF share ({flags.freshness_sf_share}%) is spent; back in {wait:.0f} s",
              now, skipped_budget=F("skipped_budget") + 1, next_due_at=back)
        _follow_schedule(back)
        return "skipped: SF share spent"
    # Claimed by a conditional UPDATE: of two ticks that both found it due, one starts the run.
    on_time = Q(next_due_at__isnull=True) | Q(next_due_at__lte=now + SLACK)
    claimed = FreshnessState.objects.filter(pk=row.pk).filter(on_time).update(next_due_at=due,
                                                                              last_tick_at=now)
    if not claimed:
        return "another tick took this turn"
    try:
        # The worker's time budget and stop apply as to any worker run: a light run cut short by a stopping
        # worker ends partial, and the next tick carries on (no continuation is queued for it).
        with sync_lock(), worker_run() as time_budget:
            budget = SharedBudget(math.floor(tokens))
            run = run_sync(steps=LIGHT_STEPS, trigger=SyncRun.Trigger.FRESHNESS, client_factory=budget,
                           budget=time_budget)
    except SyncLockHeld:
        # Another run is going (a full run, a manual one): this turn is skipped, never queued behind it.
        _note(row.pk, "skipped: another run holds the sync lock", now,
              skipped_overlap=F("skipped_overlap") + 1)
        _follow_schedule(due - SLACK)
        return "skipped: another run holds the sync lock"
    changes = changes_in(run)
    interval = next_interval(row.interval_seconds, changes > 0, flags)
    # From the run's start, as the scheduler's looks are: timed from its end, every interval would slip
    # past a look by the run's length and wait for the next one.
    due = now + timedelta(seconds=interval)
    spent = budget.spent()
    outcome = f"run {run.pk} {run.status}: {changes} changes, {spent} SF requests; next in {interval} s"
    _note(row.pk, outcome, now, interval_seconds=interval, next_due_at=due, last_run=run, last_run_at=now,
          last_changes=changes, runs=F("runs") + 1, sf_requests=F("sf_requests") + spent,
          # Refilled from the run's start: what it spent is taken from what it had then.
          sf_tokens=tokens - spent, sf_tokens_at=now,
          writes_deferred=F("writes_deferred") + (1 if budget.deferred else 0))
    _follow_schedule(due - SLACK)
    logger.info("freshness %s", outcome)
    return outcome


def wait_for_light_run(timeout: float = 120.0, poll: float = 0.5) -> bool:
    """Wait (up to ``timeout`` s) for a light run under way to finish, so a full run that follows is not
    refused for it; True if none is left going. Light runs are short: a few steps under a small budget."""
    deadline = time.monotonic() + timeout
    while True:
        going = SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS, status=SyncRun.Status.RUNNING,
                                       started_at__gte=timezone.now() - LIGHT_RUN_STALE).exists()
        if not going:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def ensure_freshness_schedule(schedule_model=None):
    """Create or repair the freshness tick's schedule, by name (every minute; a paused one stays paused).

    The tick does nothing while FRESHNESS_ENABLED is off, so the schedule is always there."""
    schedule_model = schedule_model or Schedule
    with transaction.atomic():
        rows = list(schedule_model.objects.select_for_update().filter(name=SCHEDULE_NAME).order_by("pk"))
        for extra in rows[1:]:
            extra.delete()
        defaults: dict = {"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 1}  # Schedule.MINUTES
        schedule, _ = schedule_model.objects.update_or_create(
            name=SCHEDULE_NAME, defaults=defaults,
            create_defaults={**defaults, "repeats": -1, "next_run": timezone.now() + timedelta(minutes=1)},
        )
    return schedule
