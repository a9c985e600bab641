"""What a run started by a django-q2 worker knows of its worker: its time budget (Q_TIMEOUT less
SYNC_BUDGET_MARGIN) and the cluster stopping (SIGTERM/SIGINT), both ending its intake of work."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from django.conf import settings

from sync.engine.budget import Budget

__all__ = ["cluster_stopping", "stop_on_signals", "worker_budget", "worker_run"]

logger = logging.getLogger("sync")


def cluster_stopping() -> Callable[[], bool] | None:
    """In a django-q2 worker, a check of whether its cluster is stopping; None anywhere else.

    On SIGTERM or SIGINT, ``qcluster`` sets its stop event and its sentinel stops the pusher, queues a
    "STOP" for each worker and then waits, without a timeout, for the task under way to return. A worker
    process is forked from the sentinel, so the sentinel (and the stop event, shared between processes)
    is on the worker's own call stack: reading that event lets a run stop taking new work as soon as the
    cluster is asked to stop, whichever of its processes the signal reached.
    """
    try:
        from django_q.cluster import Sentinel
    except ImportError:  # pragma: no cover - django-q2 is a requirement
        return None
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, Sentinel):
            event = owner.stop_event
            return lambda: bool(event.is_set())
        frame = frame.f_back
    return None


def worker_budget(stopping: Callable[[], bool] | None = None) -> Budget:
    """The budget of a run a worker starts now: Q_TIMEOUT less SYNC_BUDGET_MARGIN, and ``stopping``."""
    seconds = float(settings.Q_CLUSTER["timeout"]) - float(settings.SYNC["BUDGET_MARGIN"])
    return Budget(seconds, stop_requested=stopping)


@contextlib.contextmanager
def stop_on_signals(budget: Budget) -> Iterator[None]:
    """While a worker runs a sync, SIGTERM and SIGINT end the run's intake of work instead of the process.

    django-q2 leaves a worker SIGTERM's default (die at once) and ignores SIGINT; a stop sent to the whole
    process group (systemd, a terminal) would kill the run mid-write. With this, the run ends "partial",
    commits, and the worker then takes the cluster's "STOP". Only from the main thread (signals go there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, object] = {}

    def handle(signum, frame) -> None:
        budget.stop(f"the worker is stopping ({signal.Signals(signum).name})")

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]  # a handler signal.signal returned


@contextlib.contextmanager
def worker_run() -> Iterator[Budget]:
    """The budget of a run a worker starts now; while it runs, the worker stopping (its cluster's stop
    event, SIGTERM, SIGINT) ends the run's intake of work. Outside a worker, just the budget."""
    stopping = cluster_stopping()
    budget = worker_budget(stopping)
    with stop_on_signals(budget) if stopping is not None else contextlib.nullcontext():
        yield budget
