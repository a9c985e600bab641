"""A real django-q2 worker (``manage.py qcluster`` in a child process) in freshness mode: its tick schedule
starts a light run that gives a work order opened after the full run its SF job, before any full run."""

from __future__ import annotations

import time

import pytest

from tests.engine_support import sf_jobs_by_work_order, simulators
from tests.kill_support import Child, kill_database_url

pytestmark = pytest.mark.slow

WINDOW = (
    "from django.utils import timezone\n"
    "from django_q.models import Schedule\n"
    "from sync.engine import freshness\n"
    # The schedule's window covers every hour; its full-run slot is half an hour away.
    "minute = (timezone.localtime().minute + 30) % 60\n"
    "Schedule.objects.filter(name=freshness.SYNC_SCHEDULE_NAME).update(cron=f'{minute} * * * *',\n"
    "    next_run=timezone.now() + timezone.timedelta(minutes=20))\n"
    "Schedule.objects.filter(name=freshness.SCHEDULE_NAME).update(next_run=timezone.now())\n"
    "result = list(Schedule.objects.filter(name=freshness.SCHEDULE_NAME).values_list('func', 'minutes'))"
)
RUNS = (
    "from sync.models import SyncRun\n"
    "result = list(SyncRun.objects.order_by('pk').values_list('trigger', 'status', 'counts'))"
)


def test_a_worker_in_freshness_mode_gives_a_new_work_order_its_job_at_its_next_light_run(tmp_path):
    with simulators() as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf, Q_WORKERS="1")
        child.prepare()
        # Flags first: the full run's preflight then stands for the light runs' too (same flags).
        for name, value in (("SAFE_MODE", "false"), ("FRESHNESS_ENABLED", "true")):
            child.run("flags", name, value, "--reason", "freshness worker test")
        child.run("sync")
        assert child.query(WINDOW) == [["sync.engine.freshness.tick", 1]]
        with_jobs = set(sf_jobs_by_work_order(sf))
        building = next(wo["building"]["ID"] for wo in pw.store.work_orders() if wo["ID"] in with_jobs)
        wo_id = pw.store.create_work_order(building=building, status="Open", priority="HIGH",
                                           description="Freshness worker: boiler pressure low",
                                           category="Plumbing")

        worker = child.start("qcluster")
        runs: list = []
        try:
            # The cluster's scheduler looks at due schedules about every 30 seconds.
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not sf_jobs_by_work_order(sf)[wo_id]:
                time.sleep(2)
                assert worker.poll() is None, "the worker stopped"
            time.sleep(2)  # the run that sent it records its end
            runs = child.query(RUNS)
        finally:
            worker.terminate()
            worker.wait(60)

        assert sf_jobs_by_work_order(sf)[wo_id] == 1
        light = [r for r in runs if r[0] == "freshness"]
        # The full run came first (set-up); the job came from the first light run after it, not a later one.
        assert [r[0] for r in runs][:1] == ["manual"] and light, runs
        assert light[0][1] == "succeeded" and light[0][2].get("created") == 1, runs
        state = child.query("from sync.engine import freshness\nr = freshness.state()\n"
                            "result = [r.runs, r.skipped_overlap, r.last_outcome]")
        assert state[0] >= 1 and state[1] == 0, state
