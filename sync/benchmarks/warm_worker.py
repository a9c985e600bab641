"""The sync as a warm worker runs it: the benchmark's child process, timed from a go line on stdin."""
from __future__ import annotations

import cProfile
import os
import sys
from pathlib import Path

# In production the sync is a django-q2 task in a long-lived worker process (``sync.engine.tasks``): Django
# is set up and the sync's modules are imported once per worker, not once per run. This child does the same
# set-up, says it is ready by creating READY_FILE, then waits for one line on standard input and runs
# ``manage.py sync`` with the remaining arguments, in this process. The parent times the run from that line
# (what a scheduled run costs) and the whole process (what a one-off command costs).
USAGE = "usage: python -m sync.benchmarks.warm_worker [--profile FILE] READY_FILE [sync arguments...]"


def main(argv: list[str]) -> None:
    profile_to = None
    if argv[:1] == ["--profile"]:
        if len(argv) < 2:
            sys.exit(USAGE)
        profile_to, argv = argv[1], argv[2:]
    if not argv:
        sys.exit(USAGE)
    ready, sync_args = Path(argv[0]), argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenlight.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    # Imported after django.setup(), in main(): these load models, and importing them is this worker's job.
    import sync.clients.propertyware.client  # noqa: F401
    import sync.clients.servicefusion.client  # noqa: F401
    import sync.engine.runner  # noqa: F401

    # What a worker that has run the sync before holds in memory: the engine, every step, both clients
    # (zeep and requests take a good part of a second to import).
    import sync.management.commands.sync  # noqa: F401
    from sync.engine.pipeline import STEPS

    for step in STEPS:
        step.load()
    # The command's schema check loads every migration module the first time: done here, once, so the timed
    # run pays only its query of the applied migrations.
    from greenlight.dbcheck import require_schema

    require_schema()
    ready.touch()
    sys.stdin.readline()
    # A worker checks the project once, when it starts (django-q2's qcluster command), not per task.
    code: int | str | None = 0
    # --profile writes the statistics of the run only, as timed, not the set-up: the process ends with
    # ``os._exit``, so ``python -m cProfile`` would never write them.
    profiler = cProfile.Profile() if profile_to else None
    if profiler:
        profiler.enable()
    try:
        execute_from_command_line(["manage.py", "sync", "--skip-checks", *sync_args])
    except SystemExit as exc:
        code = exc.code
    finally:
        if profiler and profile_to:
            profiler.disable()
            profiler.dump_stats(profile_to)
    # The run is over: a worker would take its next task here, not tear the interpreter down (which
    # takes a good part of a second with the sync's threads and modules), so that is not timed either.
    from django.db import connections

    connections.close_all()
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    main(sys.argv[1:])
