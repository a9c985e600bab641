"""A real django-q2 worker (``manage.py qcluster`` in a child process) picks up a scheduled sync and runs
the whole pipeline against the simulators running here."""

from __future__ import annotations

import time

import pytest

from tests.engine_support import sf_jobs_by_work_order, simulators
from tests.kill_support import Child, kill_database_url

pytestmark = pytest.mark.slow

SCHEDULE = (
    "from django.utils import timezone\n"
    "from django_q.models import Schedule\n"
    "Schedule.objects.create(name='sync now', func='sync.engine.tasks.run_scheduled_sync',\n"
    "                        schedule_type=Schedule.ONCE, next_run=timezone.now())\n"
    "result = True"
)
RUNS = (
    "from sync.models import SyncRun\n"
    "result = list(SyncRun.objects.values_list('trigger', 'status', 'error_summary'))"
)


def test_a_worker_runs_the_scheduled_sync(tmp_path):
    with simulators() as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf, Q_WORKERS="1")
        child.prepare()
        child.query(SCHEDULE)
        worker = child.start("qcluster")
        runs: list = []
        try:
            # The cluster's scheduler looks at due schedules about every 30 seconds.
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not any(r[1] != "running" for r in runs):
                time.sleep(3)
                assert worker.poll() is None, "the worker stopped"
                runs = child.query(RUNS)
        finally:
            worker.terminate()
            worker.wait(60)

        assert [r[:2] for r in runs] == [["schedule", "succeeded"]], runs
        per_wo = sf_jobs_by_work_order(sf)
        assert per_wo and set(per_wo.values()) == {1}
        task = child.query(
            "from django_q.models import Success\n"
            "result = list(Success.objects.values_list('func', 'result'))"
        )
        assert task and task[0][0] == "sync.engine.tasks.run_scheduled_sync" and task[0][1].startswith("run ")
