"""The sync as a child process against a fresh database: what benchmarks and drills run and measure."""
from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from greenlight.dbcheck import require_reachable
from sync.policies.flags import set_flag

from .process import ProcessResult, run_measured

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


def reset_database() -> None:
    """Bring the configured database to the latest schema and empty every table; a database that cannot be
    reached (not created, server down) is a CommandError that names it, not a traceback."""
    require_reachable()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def prepare_flags(reason: str, **overrides) -> list[str]:
    """Let the sync write (DRY_RUN off) and apply ``overrides``; returns what was set."""
    wanted = {"DRY_RUN": False, **overrides}
    for name, value in wanted.items():
        set_flag(name, value, reason=reason)
    return [f"{k}={v}" for k, v in wanted.items()]


def run_sync_child(env: Mapping[str, str], args: Sequence[str] = (), *,
                   kill_when: Callable[[], bool] | None = None,
                   timeout_s: float | None = None, profile_to: Path | None = None,
                   warm: bool = False) -> ProcessResult:
    """``manage.py sync`` in a child process, measured (wall time, peak RSS); with ``profile_to``, under
    cProfile, its statistics written there (wall time then includes the profiler's overhead).

    ``warm`` runs it as a worker would (``warm_worker``): set up first, then timed from the go, with the
    start-up reported as ``startup_s``.
    """
    if not warm:
        profiler = ["-m", "cProfile", "-o", str(profile_to)] if profile_to else []
        argv = [sys.executable, *profiler, str(MANAGE_PY), "sync", *args]
        return run_measured(argv, env=env, cwd=str(MANAGE_PY.parent), kill_when=kill_when,
                            timeout_s=timeout_s)
    with tempfile.TemporaryDirectory(prefix="greenlight-worker-") as scratch:
        ready = str(Path(scratch) / "ready")
        profiler = ["--profile", str(profile_to)] if profile_to else []
        argv = [sys.executable, "-m", "sync.benchmarks.warm_worker", *profiler, ready, *args]
        return run_measured(argv, env=env, cwd=str(MANAGE_PY.parent), kill_when=kill_when,
                            timeout_s=timeout_s, ready_file=ready)
