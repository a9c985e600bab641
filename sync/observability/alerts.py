"""Operator alerts: conditions raised and cleared (one message when one opens, one when it resolves), their
evaluation after each run and on a timer, and delivery through apprise to every ALERT_URLS target."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import apprise
from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sync.models import Alert, DuplicateCandidate, FeatureFlag, OutboxItem, SyncRun, UnitCorrection
from sync.policies.flags import FlagError, read_flags

from .freshness import alert_problems

__all__ = [
    "CONDITIONS",
    "Delivery",
    "clear_condition",
    "evaluate_after_run",
    "evaluate_periodic",
    "raise_condition",
    "send",
    "send_test_alert",
]

logger = logging.getLogger("sync.alerts")

CONDITIONS = {
    "run_failed": "A sync run failed",
    "dead_mans_switch": "No successful sync run in two scheduled slots",
    "safe_mode_tripped": "SAFE_MODE turned itself on after repeated push failures",
    "dead_letters": "New dead letters in the outbox",
    "waiting_for_staff": "Duplicates, unit corrections or held writes waiting for staff",
    "preflight_failed": "Preflight checks failed",
    "work_order_unsent": "Work orders wait for their ServiceFusion job longer than the threshold",
    "status_writeback_late": "Job status write-back to PropertyWare is late",
    "test": "Test alert",
}


@dataclass(frozen=True)
class Delivery:
    """What one message did: per target (shown without secrets) whether it was accepted."""

    targets: list[tuple[str, bool]]

    @property
    def sent_to(self) -> int:
        return len(self.targets)

    @property
    def delivered(self) -> bool | None:
        return all(ok for _, ok in self.targets) if self.targets else None

    def describe(self) -> str:
        if not self.targets:
            return "not sent: ALERT_URLS is empty"
        return "; ".join(f"{where}: {'delivered' if ok else 'FAILED'}" for where, ok in self.targets)


def send(title: str, body: str) -> Delivery:
    """Send one message to every ALERT_URLS target, one by one so each target's outcome is known."""
    targets: list[tuple[str, bool]] = []
    for url in settings.ALERT_URLS:
        service = apprise.Apprise.instantiate(url)
        if service is None:  # settings refuse these at start-up; a test may override them
            targets.append((url.split("://", 1)[0] + "://…", False))
            continue
        where = service.url(privacy=True)
        try:
            ok = bool(service.notify(body=body, title=title))
        except Exception:  # an alert must never break the run that raised it
            logger.exception("alert to %s failed", where)
            ok = False
        targets.append((where, ok))
    return Delivery(targets)


def _record(alert: Alert, label: str, delivery: Delivery) -> None:
    line = f"{label} {timezone.now():%Y-%m-%d %H:%M:%S}: {delivery.describe()}"
    alert.sent_to, alert.delivered = delivery.sent_to, delivery.delivered
    alert.delivery_result = "\n".join(filter(None, [alert.delivery_result, line]))[-4000:]
    alert.save(update_fields=["sent_to", "delivered", "delivery_result"])
    log = logger.warning if delivery.delivered is False else logger.info
    log("alert %s %s: %s", alert.condition, label, delivery.describe())


def raise_condition(condition: str, text: str) -> Alert | None:
    """Open ``condition`` and send it; while it is already open only its message and last-seen time change.

    Returns the alert when this call opened it (and sent it), else None.
    """
    now = timezone.now()
    if Alert.objects.filter(condition=condition, state=Alert.State.OPEN).update(last_seen=now, message=text):
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(condition=condition, message=text, first_seen=now, last_seen=now)
    except IntegrityError:  # another process opened it a moment ago: that one sends
        return None
    title = f"GreenLight alert: {CONDITIONS.get(condition, condition)}"
    _record(alert, "opened", send(title, text))
    return alert


def clear_condition(condition: str, text: str = "") -> Alert | None:
    """Resolve ``condition`` if open and send "resolved"; returns the alert it resolved, else None."""
    now = timezone.now()
    alert = Alert.objects.filter(condition=condition, state=Alert.State.OPEN).first()
    if alert is None or not Alert.objects.filter(pk=alert.pk, state=Alert.State.OPEN).update(
            state=Alert.State.RESOLVED, resolved_at=now, last_seen=now):
        return None
    alert.refresh_from_db()
    body = text or f"Resolved after {now - alert.first_seen}. Was: {alert.message}"
    _record(alert, "resolved", send(f"GreenLight resolved: {CONDITIONS.get(condition, condition)}", body))
    return alert


def _set(condition: str, problem: str | None) -> None:
    if problem:
        raise_condition(condition, problem)
    else:
        clear_condition(condition)


def send_test_alert(requested_by: str = "") -> Alert:
    """Send a test message to every target and record it (as a resolved alert: nothing to clear)."""
    text = "Test alert from GreenLight" + (f", sent by {requested_by}" if requested_by else "") + "."
    now = timezone.now()
    alert = Alert.objects.create(condition="test", state=Alert.State.RESOLVED, message=text, first_seen=now,
                                 last_seen=now, resolved_at=now)
    _record(alert, "test", send("GreenLight test alert", text))
    return alert


# --- conditions ------------------------------------------------------------------------------------

def _safe_mode_problem() -> str | None:
    try:
        if not read_flags().safe_mode:
            return None
    except FlagError:
        return None
    last = FeatureFlag.history.filter(name="SAFE_MODE").order_by("-history_date", "-history_id").first()
    reason = (getattr(last, "history_change_reason", "") or "") if last else ""
    # Staff turning safe mode on by hand is a decision, not an incident: only the trip alerts.
    return f"SAFE_MODE is on: {reason}" if reason.startswith("automatic") else None


def _dead_letter_problem() -> str | None:
    last = Alert.objects.filter(condition="dead_letters", state=Alert.State.RESOLVED).order_by("-resolved_at")
    since = last.values_list("resolved_at", flat=True).first()
    dead = OutboxItem.objects.filter(state=OutboxItem.State.DEAD)
    if since is not None:
        dead = dead.filter(updated_at__gt=since)
    count = dead.count()
    if not count:
        return None
    keys = ", ".join(dead.order_by("-updated_at").values_list("key", flat=True)[:5])
    return f"{count} dead letter(s) in the outbox (latest: {keys}); retry or ignore them in the admin."


def _waiting_problem(hours: int) -> str | None:
    cutoff = timezone.now() - timedelta(hours=hours)
    waiting = {
        "duplicate candidates": DuplicateCandidate.objects.filter(
            state=DuplicateCandidate.State.PENDING, created_at__lt=cutoff).count(),
        "unit corrections": UnitCorrection.objects.filter(
            state=UnitCorrection.State.HELD, created_at__lt=cutoff).count(),
        "held writes": OutboxItem.objects.filter(state=OutboxItem.State.HELD, updated_at__lt=cutoff).count(),
    }
    parts = [f"{n} {what}" for what, n in waiting.items() if n]
    return f"Waiting for staff over {hours} h (ALERT_WAITING_HOURS): {', '.join(parts)}." if parts else None


def _dead_mans_problem(cron: str, now: datetime) -> str | None:
    try:
        if not read_flags().sync_schedule_enabled:
            return None  # staff switched the schedule off: no run is expected
    except FlagError:
        pass
    slots = croniter(cron, now)
    slots.get_prev(datetime)
    earlier = slots.get_prev(datetime)  # the slot before the latest: both have passed since
    # Full runs only: light runs (freshness mode) succeeding every minute must not hide a dead schedule.
    succeeded = SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exclude(
        trigger=SyncRun.Trigger.FRESHNESS)
    if succeeded.filter(started_at__gte=earlier).exists():
        return None
    last = succeeded.order_by("-started_at").values_list("started_at", flat=True).first()
    since = f"the last one started {last:%Y-%m-%d %H:%M} UTC" if last else "there has never been one"
    return f"No successful sync run since the slot at {earlier:%Y-%m-%d %H:%M} UTC ({cron}); {since}."


def _evaluate_state() -> None:
    try:
        flags = read_flags()
    except FlagError:
        flags = None
    _set("safe_mode_tripped", _safe_mode_problem())
    _set("dead_letters", _dead_letter_problem())
    _set("waiting_for_staff", _waiting_problem(flags.alert_waiting_hours if flags else 24))
    # Unreadable flags leave the freshness conditions as they are: their thresholds are flags.
    for condition, problem in (alert_problems(flags) if flags else {}).items():
        _set(condition, problem)


def evaluate_after_run(run: SyncRun) -> None:
    """The runner's hook at the end of every run; never raises (the run is already recorded)."""
    try:
        if run.status == SyncRun.Status.FAILED:
            raise_condition("run_failed", f"Run {run.pk} ({run.trigger}) failed: {run.error_summary}")
        elif run.status == SyncRun.Status.SUCCEEDED and run.trigger != SyncRun.Trigger.FRESHNESS:
            # A light run covers a few steps: its success says nothing of a failed or missing full run.
            clear_condition("run_failed", f"Run {run.pk} succeeded.")
            clear_condition("dead_mans_switch", f"Run {run.pk} succeeded.")
        # A partial run (stopped at its budget, continued at once) is neither: its chain succeeds when
        # the continuation that finishes it does, and that run clears these.
        _evaluate_state()
    except Exception:
        logger.exception("alert evaluation after run %s failed", run.pk)


def evaluate_periodic(cron: str, now: datetime | None = None) -> str:
    """The timer's check (django-q2): the dead man's switch for ``cron`` and the standing conditions."""
    _set("dead_mans_switch", _dead_mans_problem(cron, now or timezone.now()))
    _evaluate_state()
    open_now = list(Alert.objects.filter(state=Alert.State.OPEN).values_list("condition", flat=True))
    return "open alerts: " + (", ".join(sorted(open_now)) or "none")
