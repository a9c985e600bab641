"""Freshness mode: the tick starts light runs against the real simulators only when the flag, the schedule's
window, the full run's slots, the sync lock and the SF share allow; its interval backs off and tightens."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from sync.engine import freshness
from sync.engine.locks import sync_lock
from sync.engine.runner import run_sync
from sync.engine.tasks import ensure_schedule
from sync.models import FreshnessState, OutboxItem, SyncRun
from sync.policies.flags import read_flags
from tests.engine_support import live, sf_jobs_by_work_order
from tests.test_metrics_endpoint import sample_value, scrape

pytestmark = pytest.mark.django_db(transaction=True)


def _far_slot_schedule() -> None:
    """The sync schedule's window covering every hour and day, its slots half an hour from now (so no
    full run is near); a schedule row as deploys make it."""
    ensure_schedule()
    minute = (timezone.localtime().minute + 30) % 60
    Schedule.objects.filter(name=freshness.SYNC_SCHEDULE_NAME).update(cron=f"{minute} * * * *")


PROBLEMS = (
    "no hot water in the bathroom", "front door lock jammed", "ceiling light flickers in hallway",
    "dishwasher leaking onto floor", "window will not close in bedroom", "smoke detector chirping",
    "garbage disposal stuck", "thermostat shows blank screen", "mould behind the washing machine",
    "balcony railing loose",
)
_made: list[int] = []


def _new_work_order(pw, sf) -> int:
    """A new open work order, in a building whose other work orders already have SF jobs; each one a
    different problem in the next such building, so deduplication sees no twins."""
    with_jobs = set(sf_jobs_by_work_order(sf))
    buildings = sorted({wo["building"]["ID"] for wo in pw.store.work_orders() if wo["ID"] in with_jobs})
    n = len(_made)
    wo_id = pw.store.create_work_order(building=buildings[n % len(buildings)], status="Open", priority="HIGH",
                                       description=f"Freshness: {PROBLEMS[n % len(PROBLEMS)]}",
                                       category="Plumbing")
    _made.append(wo_id)
    return wo_id


def _pw_status(pw, wo_id: int) -> str:
    return next(wo["status"] for wo in pw.store.work_orders() if wo["ID"] == wo_id)


def _make_due(*, refill: bool = True) -> None:
    """The next light run due now (and, unless told otherwise, a full minute's SF share to spend): the
    test stands for the minutes that would pass between ticks."""
    changes: dict = {"next_due_at": timezone.now() - timedelta(seconds=1)}
    if refill:
        changes["sf_tokens_at"] = None
    FreshnessState.objects.filter(name="freshness").update(**changes)


@pytest.fixture
def synced(sims):
    """Simulators after a full run, freshness on, the schedule's window open and no full run near."""
    pw, sf = sims
    live(SAFE_MODE=False, FRESHNESS_ENABLED=True)
    first = run_sync(full=True)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_summary
    _far_slot_schedule()
    return pw, sf


def test_a_due_tick_runs_the_light_steps_and_creates_the_job_of_a_new_work_order(synced):
    pw, sf = synced
    wo_id = _new_work_order(pw, sf)
    assert sf_jobs_by_work_order(sf)[wo_id] == 0

    outcome = freshness.tick()

    run = SyncRun.objects.get(trigger=SyncRun.Trigger.FRESHNESS)
    assert run.status == SyncRun.Status.SUCCEEDED, (outcome, run.error_summary)
    assert sorted(run.steps.values_list("name", flat=True)) == sorted(freshness.LIGHT_STEPS)
    assert sf_jobs_by_work_order(sf)[wo_id] == 1
    row = freshness.state()
    assert row.runs == 1 and row.last_run_id == run.pk and row.last_changes > 0
    assert row.interval_seconds == read_flags().freshness_min_interval_seconds
    # Not due again until the interval has passed: the next tick starts nothing.
    assert freshness.tick().startswith("not due")
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).count() == 1


def test_a_status_moved_in_sf_is_written_back_to_pw_by_a_light_run(synced):
    pw, sf = synced
    job = next(j for j in sf.store.jobs() if str(j.get("check_number") or "").startswith("WO-")
               and j.get("status") != "On The Way")
    wo_id = int(str(job["check_number"])[3:])
    sf.store.set_job_status(int(job["id"]), "On The Way")

    freshness.tick()

    run = SyncRun.objects.get(trigger=SyncRun.Trigger.FRESHNESS)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert _pw_status(pw, wo_id) == "On The Way"


def test_quiet_runs_back_the_interval_off_and_a_change_tightens_it(synced):
    pw, sf = synced
    live(FRESHNESS_MIN_INTERVAL_SECONDS=30, FRESHNESS_MAX_INTERVAL_SECONDS=90)
    intervals = []
    for _ in range(2):  # the first light run reads back the full run's own writes
        _make_due()
        freshness.tick()
    for _ in range(3):
        _make_due()
        freshness.tick()
        intervals.append(freshness.state().interval_seconds)
    assert intervals == [68, 90, 90], intervals  # 45 -> 68 -> 90, capped at the maximum

    _new_work_order(pw, sf)
    _make_due()
    freshness.tick()
    assert freshness.state().interval_seconds == 30
    assert freshness.state().last_changes > 0


def test_a_tick_that_finds_a_run_holding_the_lock_skips_and_counts_it(synced, client):
    pw, sf = synced
    wo_id = _new_work_order(pw, sf)
    held, release = threading.Event(), threading.Event()

    def other_run():
        with sync_lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_run)
    holder.start()
    try:
        assert held.wait(10)
        outcome = freshness.tick()
    finally:
        release.set()
        holder.join(10)

    assert outcome == "skipped: another run holds the sync lock"
    row = freshness.state()
    assert row.skipped_overlap == 1 and row.runs == 0
    # Skipped, not queued and not recorded as a refused run; nothing was written meanwhile.
    assert not SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).exists()
    assert sf_jobs_by_work_order(sf)[wo_id] == 0
    families = scrape(client)  # staff and scrapers see the skip
    assert sample_value(families["greenlight_freshness_skips"], "greenlight_freshness_skips_total",
                        reason="overlap") == 1
    assert sample_value(families["greenlight_freshness_enabled"], "greenlight_freshness_enabled") == 1
    # The skip took its turn: the next light run comes an interval later.
    _make_due()
    freshness.tick()
    assert sf_jobs_by_work_order(sf)[wo_id] == 1


def test_with_the_flag_off_no_light_run_starts(synced):
    pw, sf = synced
    live(FRESHNESS_ENABLED=False)
    wo_id = _new_work_order(pw, sf)
    assert freshness.tick() == "off: FRESHNESS_ENABLED is false"
    assert not SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).exists()
    assert sf_jobs_by_work_order(sf)[wo_id] == 0


def test_outside_the_schedule_window_or_next_to_a_full_slot_no_light_run_starts(synced):
    now = timezone.localtime()
    other_hours = f"{(now.hour + 2) % 24}-{(now.hour + 3) % 24}"
    Schedule.objects.filter(name=freshness.SYNC_SCHEDULE_NAME).update(cron=f"*/30 {other_hours} * * *")
    assert freshness.tick().startswith("skipped: outside the sync schedule's window")

    # A slot within 30 s either side of now: just ahead (due soon), or just passed with its run not started.
    soon = now + timedelta(seconds=30)
    Schedule.objects.filter(name=freshness.SYNC_SCHEDULE_NAME).update(cron=f"{soon.minute} * * * *")
    assert freshness.tick().startswith("deferred: the full run")
    assert freshness.state().skipped_full_run == 1
    assert not SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).exists()


def test_a_partial_full_run_keeps_light_runs_aside_until_its_continuation_starts(synced):
    """A full run cut short by its budget queues its continuation at once; a light run taking the lock
    first would have the continuation refused."""
    from sync.engine.budget import Budget

    cut = run_sync(budget=Budget(stop_requested=lambda: True))
    assert cut.status == SyncRun.Status.PARTIAL
    _make_due()
    assert freshness.tick() == f"deferred: run {cut.pk} ended partial and its continuation has not started"
    assert not SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).exists()
    # Once a run carries it on, light runs go again.
    carried = run_sync(continues=cut.pk, trigger=SyncRun.Trigger.CONTINUATION)
    assert carried.status == SyncRun.Status.SUCCEEDED, carried.error_summary
    _make_due()
    freshness.tick()
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS).count() == 1


def test_under_a_burst_light_runs_keep_to_their_share_and_leave_the_rest_to_the_full_run(synced):
    pw, sf = synced
    live(FRESHNESS_SF_SHARE=10)  # 6 requests a minute of the documented 60
    for _ in range(2):  # the full run's echo read back
        _make_due()
        freshness.tick()
    burst = [_new_work_order(pw, sf) for _ in range(8)]
    before = sum(sf.request_counts().values())

    _make_due()
    freshness.tick()

    used = sum(sf.request_counts().values()) - before
    created = [wo for wo in burst if sf_jobs_by_work_order(sf)[wo]]
    assert used <= 6, used  # the share: one minute's worth at most
    assert 0 < len(created) < len(burst), created
    row = freshness.state()
    assert row.writes_deferred == 1
    # The rest wait as planned rows, untouched: no attempt spent, no backoff, due for the next run.
    waiting = OutboxItem.objects.filter(kind=OutboxItem.Kind.JOB, state=OutboxItem.State.PLANNED)
    assert waiting.count() == len(burst) - len(created)
    assert set(waiting.values_list("attempts", flat=True)) == {0}
    assert all(w.next_attempt_at is None or w.next_attempt_at <= timezone.now() for w in waiting)
    # The share is spent: a due tick now skips and counts it, whatever is waiting.
    _make_due(refill=False)
    assert freshness.tick() == "skipped: SF share spent"
    assert freshness.state().skipped_budget == 1

    full = run_sync()  # the full run's pushes go out under the whole allowance, none left for later
    assert full.status == SyncRun.Status.SUCCEEDED, full.error_summary
    assert all(sf_jobs_by_work_order(sf)[wo] == 1 for wo in burst)
    assert not OutboxItem.objects.filter(kind=OutboxItem.Kind.JOB, state=OutboxItem.State.PLANNED).exists()


def test_a_scheduled_run_waits_for_a_light_run_under_way(synced):
    assert freshness.wait_for_light_run(timeout=0)
    going = SyncRun.objects.create(trigger=SyncRun.Trigger.FRESHNESS, status=SyncRun.Status.RUNNING)
    assert not freshness.wait_for_light_run(timeout=0.2, poll=0.05)
    going.status = SyncRun.Status.SUCCEEDED
    going.save()
    assert freshness.wait_for_light_run(timeout=0)


def test_the_interval_rule():
    from sync.policies.flag_registry import Flags, flags_with

    f = flags_with(Flags.defaults(), freshness_min_interval_seconds=60, freshness_max_interval_seconds=300)
    assert freshness.next_interval(0, False, f) == 60
    assert freshness.next_interval(60, False, f) == 90
    assert freshness.next_interval(200, False, f) == 300
    assert freshness.next_interval(300, True, f) == 60
    inverted = flags_with(f, freshness_max_interval_seconds=10)
    assert freshness.next_interval(60, False, inverted) == 60


def test_light_runs_do_not_stand_for_the_full_runs_that_health_and_alerts_watch():
    from datetime import datetime

    from sync.observability import health, runstate
    from sync.observability.alerts import evaluate_periodic

    ensure_schedule()  # the freshness tick's schedule too, due every minute
    now = timezone.now()
    SyncRun.objects.create(trigger=SyncRun.Trigger.FRESHNESS, status=SyncRun.Status.SUCCEEDED,
                           started_at=now - timedelta(seconds=5), finished_at=now)
    assert runstate.last_successful_run() is None
    assert runstate.runs_started_since(None) == 0
    # A schedule whose full runs never happen still trips the dead man's switch, light runs or not.
    assert "dead_mans_switch" in evaluate_periodic("*/30 * * * *", now)
    # The tick's one-minute slots are no promised runs: health does not expect a success every minute.
    result = health.check_last_run(now)
    assert datetime.fromisoformat(result["deadline"]) < now - timedelta(minutes=10), result


def test_a_light_run_succeeding_does_not_resolve_a_full_run_failure():
    from sync.models import Alert
    from sync.observability.alerts import evaluate_after_run

    failed = SyncRun.objects.create(trigger=SyncRun.Trigger.SCHEDULE, status=SyncRun.Status.FAILED,
                                    error_summary="pushPortfoliosToSF: boom")
    evaluate_after_run(failed)
    light = SyncRun.objects.create(trigger=SyncRun.Trigger.FRESHNESS, status=SyncRun.Status.SUCCEEDED)
    evaluate_after_run(light)
    assert Alert.objects.get(condition="run_failed").state == Alert.State.OPEN
    full = SyncRun.objects.create(trigger=SyncRun.Trigger.SCHEDULE, status=SyncRun.Status.SUCCEEDED)
    evaluate_after_run(full)
    assert Alert.objects.get(condition="run_failed").state == Alert.State.RESOLVED


def test_a_light_run_keeps_to_the_workers_budget_and_queues_no_continuation(synced, monkeypatch):
    """A stopping worker (or a spent budget) cuts a light run short like any worker run; the next tick,
    not a continuation, carries on."""
    from django_q.models import OrmQ

    from sync.engine import worker
    from sync.engine.budget import Budget

    monkeypatch.setattr(worker, "worker_budget", lambda stopping=None: Budget(stop_requested=lambda: True))
    _make_due()
    freshness.tick()
    light = SyncRun.objects.get(trigger=SyncRun.Trigger.FRESHNESS)
    assert light.status == SyncRun.Status.PARTIAL and light.stop_reason
    assert not OrmQ.objects.exists()
