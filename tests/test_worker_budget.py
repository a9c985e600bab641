"""Runs bounded by their worker's budget, through a real ``manage.py qcluster``: the first full sync of
``demo`` at SF's 60 requests a minute (and the PW cap), on a time scale, completes as a chain of partial
runs and continuations with no killed task, no failed run and no duplicate; a worker stopped with SIGTERM
mid-run ends the run partial and loses nothing."""

from __future__ import annotations

import signal
import time

import pytest
from django.conf import settings
from django.db import connection

from sync.benchmarks.simulators import SimConfig, Simulators
from sync.benchmarks.through_worker import (
    chain_done,
    duplicates,
    first_sync_through_worker,
    shell,
    start_worker,
    stop_worker,
    worker_env,
)
from tests.kill_support import kill_database_url

pytestmark = [
    pytest.mark.slow,
    # Two worker processes, their broker and the test share the database: PostgreSQL's concurrency.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker cluster needs PostgreSQL"),
]

#: K: SF's allowance refills K times faster, latencies ÷ K, Q_TIMEOUT 600/K s and the margin 60/K s, so the
#: ~20.5 min first sync of demo takes 20.5/K min plus its unscaled work (2 busy cores: ~2.5 min, 10 runs).
TIME_SCALE = 30.0

_STATE = (
    "from sync.models import SyncRun, OutboxItem\n"
    "result = {'runs': list(SyncRun.objects.order_by('pk').values_list('pk', 'status', 'trigger',"
    " 'stop_reason', 'continues_id')),"
    " 'unsent': OutboxItem.objects.filter(state__in=['planned', 'failed', 'sending']).count(),"
    " 'sent': OutboxItem.objects.filter(state='sent').count()}"
)


def _prepare(tmp_path, config: SimConfig):
    sims = Simulators(config)
    sims.__enter__()
    env = worker_env(sims)
    env.update({"DATABASE_URL": kill_database_url(tmp_path), "LOG_LEVEL": "INFO"})
    shell(env, "from django.core.management import call_command\n"
               "call_command('migrate', interactive=False, verbosity=0)\n"
               "from sync.policies.flags import set_flag\n"
               "set_flag('DRY_RUN', False, reason='worker budget test')\nresult = True", timeout=300)
    return sims, env


def test_the_first_demo_sync_completes_through_a_worker_in_partial_runs(tmp_path):
    config = SimConfig(dataset="demo", time_scale=TIME_SCALE,
                       pw_max_rps=float(settings.PROPERTYWARE.get("MAX_RPS") or 0))
    sims, env = _prepare(tmp_path, config)
    try:
        result = first_sync_through_worker(sims, env, tmp_path / "qcluster.log", timeout_s=900)
    finally:
        sims.__exit__(None, None, None)
    report = "\n".join(result.lines() + result.log_tail)
    assert result.finished, report
    statuses = result.statuses
    assert statuses["partial"] >= 1, report  # the budget was reached, and the run carried on
    assert statuses.get("failed", 0) == 0 and statuses.get("running", 0) == 0, report
    assert result.runs[-1][1] == "succeeded", report  # the chain ends complete
    assert [r[2] for r in result.runs[1:]] == ["continuation"] * (len(result.runs) - 1), report
    assert result.killed_tasks == 0 and result.failed_tasks == [], report
    assert result.duplicate_jobs == 0 and result.duplicate_customers == 0, report
    assert result.jobs > 0 and result.customers > 0, report


def test_a_worker_stopped_mid_run_ends_it_partial_and_the_next_run_carries_on(tmp_path):
    # SF at 10 requests a minute: past the first burst a write every 6 s, so the stop lands mid-push.
    config = SimConfig(dataset="tiny", time_scale=1.0, rate_limit=10, pw_latency=0.0, sf_latency=0.0)
    sims, env = _prepare(tmp_path, config)
    try:
        shell(env, "from sync.engine.tasks import enqueue_sync\nresult = enqueue_sync(trigger='task')")
        log = tmp_path / "qcluster.log"
        worker = start_worker(env, log)
        try:
            deadline = time.monotonic() + 240
            state = shell(env, _STATE)
            while time.monotonic() < deadline and state["sent"] < 12:
                time.sleep(2)
                assert worker.poll() is None, log.read_text()[-3000:]
                state = shell(env, _STATE)
            assert state["sent"] >= 12, state
        finally:
            # As docker stop or systemd would: SIGTERM to qcluster, which waits for the task under way.
            exit_code = stop_worker(worker, signal.SIGTERM, wait=120)
        assert exit_code is not None and worker.returncode is not None
        stopped = shell(env, _STATE)
        assert [r[1] for r in stopped["runs"]] == ["partial"], stopped
        assert "worker is stopping" in stopped["runs"][0][3], stopped
        assert stopped["unsent"] > 0, stopped  # it stopped mid-push: rows left, none lost

        # The continuation was queued before the worker left: the next worker carries on from there.
        sims.sf.rate_limiter.configure(limit=10**6, window=60.0)  # the rest at once
        worker = start_worker(env, log)
        try:
            deadline = time.monotonic() + 240
            state = shell(env, _STATE)
            while time.monotonic() < deadline and not _finished(env):
                time.sleep(2)
            state = shell(env, _STATE)
        finally:
            stop_worker(worker)
        runs = state["runs"]
        assert [r[1] for r in runs] == ["partial", "succeeded"], state
        assert runs[1][2] == "continuation" and runs[1][4] == runs[0][0], state
        assert state["unsent"] == 0, state
        dup_jobs, dup_customers, jobs, _ = duplicates(sims)
        assert dup_jobs == 0 and dup_customers == 0 and jobs > 0
    finally:
        sims.__exit__(None, None, None)


def _finished(env) -> bool:
    state = shell(env, "from django_q.models import OrmQ, Task\nfrom sync.models import SyncRun\n"
                       "result = {'runs': list(SyncRun.objects.order_by('pk').values_list('pk', 'status')), "
                       "'queued': OrmQ.objects.count()}")
    return chain_done(state) and state["runs"][-1][1] != "partial"

