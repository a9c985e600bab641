"""The outbox's lanes: PropertyWare write-backs go out while ServiceFusion creates wait for their
allowance, and a new job's id and first status reach PropertyWare in one update.

Transactional: the lanes are threads with connections of their own, which see only committed rows.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from sync.engine.context import StepContext
from sync.engine.runner import run_sync
from sync.models import OutboxItem, SyncRun
from sync.outbox.planning import plan
from sync.outbox.protocol import WriteHandler
from sync.outbox.sender import Sender
from sync.policies.flags import read_flags
from sync.policies.status import load_status_map
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.engine_support import live, point_settings
from warehouse.models import FactWorkOrder

pytestmark = pytest.mark.django_db(transaction=True)

SF_LATENCY = 0.1  # seconds per SF request: slow enough that a serial sender would show


@pytest.fixture
def slow_sf(settings):
    with (
        PropertyWareSimulator(dataset="tiny", seed=0, page_size=10) as pw,
        ServiceFusionSimulator(rate_limit=100_000, rate_window=60.0, seed=0, latency=SF_LATENCY) as sf,
    ):
        point_settings(settings, pw, sf)
        settings.SYNC = {**settings.SYNC, "READ_WORKERS": 4}
        yield pw, sf


def _sent(kind: str) -> list[OutboxItem]:
    return list(OutboxItem.objects.filter(kind=kind, state=OutboxItem.State.SENT).order_by("sent_at"))


def test_job_links_go_to_propertyware_while_jobs_are_still_being_created(slow_sf):
    pw, sf = slow_sf
    live(SAFE_MODE=False)

    run = run_sync(full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    jobs, links = _sent(OutboxItem.Kind.JOB), _sent(OutboxItem.Kind.PW_JOB_LINK)
    assert len(jobs) >= 5 and len(links) == len(jobs)
    if connection.vendor == "postgresql":
        # In parallel lanes the first link is written long before the last job is created; one after
        # the other, every link would follow every job.
        assert links[0].sent_at < jobs[-1].sent_at
        # Links are gathered into pages for their re-reads, not re-read one call each.
        step = run.steps.get(name="pushWorkOrdersToSF")
        pw_reads = step.api_calls["pw"]["requests"] - len(links)  # the rest are the links' updates
        assert pw_reads < len(links) / 2
    else:  # SQLite allows one writer: the lanes take turns
        assert links[0].sent_at > jobs[-1].sent_at


def test_a_new_jobs_id_and_first_status_go_to_propertyware_in_one_update(slow_sf):
    pw, sf = slow_sf
    live(SAFE_MODE=False)
    updates_before = pw.request_counts().get("updateWorkOrder", 0)

    run = run_sync(full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    jobs = {int(j["check_number"][3:]): j for j in sf.store.jobs() if j["check_number"].startswith("WO-")}
    assert jobs
    # One updateWorkOrder per new job: the id and the status together, none left for pushJobUpdatesToPW.
    assert pw.request_counts().get("updateWorkOrder", 0) - updates_before == len(jobs)
    assert not OutboxItem.objects.filter(kind=OutboxItem.Kind.PW_STATUS).exists()
    status_map = load_status_map()
    field = "sfJobId"
    for wo in pw.store.records("work_orders"):
        job = jobs.get(wo["ID"])
        if job is None:
            continue
        custom = {f["fieldName"]: f["value"] for f in wo.get("customFields") or ()}
        assert custom.get(field) == str(job["id"])
        assert wo["status"] == status_map.pw_status_for(job["status"])
        current = FactWorkOrder.objects.current().get(work_order_id=wo["ID"])
        assert (current.sf_job_id, current.status) == (job["id"], wo["status"])

    # The next run finds PropertyWare and ServiceFusion agreeing: nothing to write back.
    updates_before = pw.request_counts().get("updateWorkOrder", 0)
    again = run_sync()
    assert again.status == SyncRun.Status.SUCCEEDED, again.error_summary
    assert pw.request_counts().get("updateWorkOrder", 0) == updates_before


def test_status_write_backs_from_several_workers_each_land_once_and_in_order(slow_sf, settings):
    pw, sf = slow_sf
    settings.SYNC = {**settings.SYNC, "PW_WRITE_WORKERS": 3}
    live(SAFE_MODE=False)
    assert run_sync(full=True).status == SyncRun.Status.SUCCEEDED
    ours = [j for j in sf.store.jobs() if j["check_number"].startswith("WO-")]
    for job in ours:  # technicians move every job on
        sf.store.set_job_status(int(job["id"]), "Started" if job["status"] != "Started" else "Scheduled")
    updates_before = pw.request_counts().get("updateWorkOrder", 0)

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert pw.request_counts().get("updateWorkOrder", 0) - updates_before == len(ours)
    status_map = load_status_map()
    work_orders = {wo["ID"]: wo for wo in pw.store.records("work_orders")}
    for job in sf.store.jobs():
        if job["check_number"].startswith("WO-"):
            wo = work_orders[int(job["check_number"][3:])]
            assert wo["status"] == status_map.pw_status_for(job["status"])
            custom = {f["fieldName"]: f["value"] for f in wo.get("customFields") or ()}
            assert custom.get("sfJobId") == str(job["id"])  # the link written earlier survived


class _Recorder(WriteHandler):
    """A write handler that only records what it was asked to send (the Sender is under test)."""

    kind = OutboxItem.Kind.PW_STATUS
    system = "pw"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, ctx, row):
        self.sent.append(row.key)
        return {"id": row.pk}


def _plan(key: str) -> None:
    with transaction.atomic():  # as a step plans: each row committed on its own
        plan(key, OutboxItem.Kind.PW_STATUS, {"status": "Open"}, run_id=None, dry_run=False,
             context={"work_order_id": int(key.rsplit("-", 1)[1])})


def test_rows_are_sent_while_the_step_is_still_planning_and_all_are_sent_at_the_end():
    ctx = StepContext(run=None, step_run=None, name="test", flags=read_flags())
    handler = _Recorder()

    with Sender(ctx, [handler]).sending_while_planning(count_as="updated"):
        _plan("pw:status:WO-1")
        deadline = time.monotonic() + (10 if connection.vendor == "postgresql" else 0.5)
        while "pw:status:WO-1" not in handler.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        sent_while_planning = list(handler.sent)
        _plan("pw:status:WO-2")

    if connection.vendor == "postgresql":
        assert sent_while_planning == ["pw:status:WO-1"]
    else:  # SQLite: sent once planning is over
        assert sent_while_planning == []
    assert sorted(handler.sent) == ["pw:status:WO-1", "pw:status:WO-2"]
    assert ctx.counts["updated"] == 2
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {OutboxItem.State.SENT}


def test_a_planned_row_wakes_idle_lanes_at_once_and_the_end_of_planning_lets_them_finish(monkeypatch):
    # Polling alone would find the row (and the end of planning) only after IDLE_POLL.
    monkeypatch.setattr(Sender, "IDLE_POLL", 30.0)
    lanes = connection.vendor == "postgresql"  # SQLite: no lanes, the row goes once planning is over
    ctx = StepContext(run=None, step_run=None, name="test", flags=read_flags())
    handler = _Recorder()
    started = time.monotonic()

    with Sender(ctx, [handler]).sending_while_planning(count_as="updated"):
        time.sleep(0.3)  # every lane has looked for work and is waiting
        _plan("pw:status:WO-5")
        deadline = time.monotonic() + (10 if lanes else 0.5)
        while not handler.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        sent_while_planning = list(handler.sent)

    assert sent_while_planning == (["pw:status:WO-5"] if lanes else [])
    assert handler.sent == ["pw:status:WO-5"]
    assert time.monotonic() - started < 10


def test_a_row_planned_just_before_planning_ends_is_still_sent(monkeypatch):
    # The sender looks, finds nothing, and only then sees planning over: the row committed in between
    # must still go out in this drain, not wait for the next run.
    lanes = connection.vendor == "postgresql"
    looked = threading.Event()
    original = Sender._hand_out
    calls = 0

    def look_then_wait_for_planning_to_end(self, *args):
        nonlocal calls
        calls += 1
        result = original(self, *args)
        if calls == 1:
            looked.set()
            deadline = time.monotonic() + 10
            while self._planning.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
        return result

    monkeypatch.setattr(Sender, "_hand_out", look_then_wait_for_planning_to_end)
    ctx = StepContext(run=None, step_run=None, name="test", flags=read_flags())
    handler = _Recorder()

    with Sender(ctx, [handler]).sending_while_planning(count_as="updated"):
        if lanes:
            assert looked.wait(10)  # the sender's first look found nothing due
        _plan("pw:status:WO-7")

    assert handler.sent == ["pw:status:WO-7"]
    assert OutboxItem.objects.get(key="pw:status:WO-7").state == OutboxItem.State.SENT


def test_planning_that_fails_stops_the_sending_and_raises():
    ctx = StepContext(run=None, step_run=None, name="test", flags=read_flags())
    handler = _Recorder()

    with pytest.raises(RuntimeError, match="planning broke"):
        with Sender(ctx, [handler]).sending_while_planning():
            _plan("pw:status:WO-3")
            raise RuntimeError("planning broke")

    assert OutboxItem.objects.filter(state=OutboxItem.State.SENDING).count() == 0
