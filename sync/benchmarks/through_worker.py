"""The first full sync through a real ``manage.py qcluster``: Q_TIMEOUT and the budget margin scaled with the
simulators' time, the chain of partial runs and continuations followed to its end, then what it did:
runs by status, partial runs, duration, tasks killed or failed, duplicates in ServiceFusion."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from .simulators import Simulators

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"

# Read back through ``manage.py shell`` (the worker's database, whatever the caller's is).
_STATE = """
from django_q.models import OrmQ, Task
from sync.models import SyncRun
runs = list(SyncRun.objects.order_by('pk').values_list('pk', 'status', 'trigger', 'started_at', 'finished_at',
                                                         'stop_reason', 'error_summary'))
result = {'runs': runs, 'queued': OrmQ.objects.count(),
          'failed_tasks': list(Task.objects.filter(success=False).values_list('name', 'result')),
          'tasks': Task.objects.count()}
"""


def worker_env(sims: Simulators, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``sims.child_env`` with the worker's defaults scaled by the time scale K: Q_TIMEOUT 600/K, Q_RETRY
    720/K, SYNC_BUDGET_MARGIN 60/K (real time at K = 1); the ORM broker, so the database holds the queue."""
    scale = sims.config.time_scale
    env = sims.child_env(dict(base) if base is not None else None)
    timeout = max(2, round(600 / scale))
    env.update({"Q_TIMEOUT": str(timeout), "Q_RETRY": str(max(timeout + 1, round(720 / scale))),
                "SYNC_BUDGET_MARGIN": f"{60 / scale:g}", "REDIS_URL": ""})
    return env


@dataclass
class WorkerResult:
    runs: list[list[Any]]
    failed_tasks: list[list[Any]]
    wall_s: float
    duplicate_jobs: int
    duplicate_customers: int
    jobs: int
    customers: int
    finished: bool
    worker_exit: int | None = None
    log_tail: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return Counter(r[1] for r in self.runs)

    @property
    def killed_tasks(self) -> int:
        """Tasks django-q2 ended by its timeout, and runs a later run found abandoned."""
        timed_out = sum(1 for _, result in self.failed_tasks if "timeout" in str(result).lower())
        return timed_out + sum(1 for r in self.runs if str(r[6] or "").startswith("abandoned"))

    def lines(self) -> list[str]:
        out = [f"runs {len(self.runs)} ({', '.join(f'{k} {v}' for k, v in sorted(self.statuses.items()))}), "
               f"partial {self.statuses.get('partial', 0)}, duration {self.wall_s:.1f} s, killed tasks "
               f"{self.killed_tasks}, failed tasks {len(self.failed_tasks)}, duplicate jobs "
               f"{self.duplicate_jobs}, duplicate customers {self.duplicate_customers} "
               f"(SF now holds {self.jobs} jobs, {self.customers} customers)"
               + ("" if self.finished else "; the chain did NOT finish in time")]
        for pk, status, trigger, started, finished, reason, errors in self.runs:
            note = reason or errors or ""
            out.append(f"   run {pk} {trigger:<12} {status:<9} {started} → {finished} {note}"[:220])
        return out


def shell(env: Mapping[str, str], code: str, timeout: float = 120) -> Any:
    """Run ``code`` (which sets ``result``) with the worker's settings; its ``result`` as JSON."""
    script = f"import json\n{code}\nprint('@@' + json.dumps(result, default=str))"
    proc = subprocess.run([sys.executable, str(MANAGE_PY), "shell", "-c", script], cwd=str(MANAGE_PY.parent),
                          env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or "@@" not in proc.stdout:
        raise RuntimeError(f"manage.py shell failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.split("@@", 1)[1])


def start_worker(env: Mapping[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(MANAGE_PY), "qcluster"], cwd=str(MANAGE_PY.parent),
                                env=dict(env), stdout=out, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 120) -> int | None:
    """Stop ``worker`` as a supervisor would: ``sig`` to the qcluster process, then wait for it."""
    if worker.poll() is None:
        worker.send_signal(sig)
        try:
            worker.wait(wait)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(30)
    return worker.returncode


def chain_done(state: dict) -> bool:
    """No run under way, nothing queued, and at least one run recorded."""
    runs = state["runs"]
    return bool(runs) and state["queued"] == 0 and all(r[1] != "running" for r in runs)


def duplicates(sims: Simulators) -> tuple[int, int, int, int]:
    """(jobs sharing a check number, customers sharing a name and PW ids, jobs, customers) in SF."""
    jobs = sims.sf.store.jobs()
    customers = sims.sf.store.customers()
    by_check = Counter(j.get("check_number") for j in jobs if j.get("check_number"))
    # A customer is the one the sync means by its name, parent and the PW ids it carries (portfolio,
    # building); names alone repeat in PropertyWare (two buildings, two tenants called the same).
    by_name = Counter((c.get("customer_name"), c.get("parent_customer"), tuple(sorted(
        (str(f.get("name")), str(f.get("value"))) for f in c.get("custom_fields") or [] if f.get("value"))))
        for c in customers if c.get("customer_name"))
    return (sum(n - 1 for n in by_check.values() if n > 1), sum(n - 1 for n in by_name.values() if n > 1),
            len(jobs), len(customers))


def first_sync_through_worker(sims: Simulators, env: Mapping[str, str], log: Path, *,
                              timeout_s: float = 3600, poll_s: float = 3.0) -> WorkerResult:
    """Queue one sync for a real ``qcluster`` on ``env``'s database (migrated, DRY_RUN off, empty queue
    assumed), follow its chain of continuations until nothing is running or queued, then stop the worker
    with SIGTERM and read back what happened."""
    shell(env, "from sync.engine.tasks import enqueue_sync\nresult = enqueue_sync(trigger='task')")
    started = time.monotonic()
    worker = start_worker(env, log)
    finished = False
    state: dict[str, Any] = {"runs": [], "failed_tasks": []}
    try:
        while time.monotonic() - started < timeout_s:
            time.sleep(poll_s)
            if worker.poll() is not None:
                break
            state = shell(env, _STATE)
            if chain_done(state):
                finished = True
                break
    finally:
        wall = time.monotonic() - started
        exit_code = stop_worker(worker)
    state = shell(env, _STATE)
    dup_jobs, dup_customers, jobs, customers = duplicates(sims)
    tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
    return WorkerResult(runs=state["runs"], failed_tasks=state["failed_tasks"], wall_s=wall,
                        duplicate_jobs=dup_jobs, duplicate_customers=dup_customers, jobs=jobs,
                        customers=customers, finished=finished, worker_exit=exit_code, log_tail=tail)
