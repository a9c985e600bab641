"""A run's time budget (a deadline, a stop request): when it runs out the run takes no new step, page or
outbox row, lets calls under way finish, and ends "partial" for its continuation to carry on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sync.clients.paging import PageMark

__all__ = ["Budget", "Budgeted", "OutOfBudget"]


class OutOfBudget(Exception):
    """Raised where a step would take new work after its run's budget ran out: the step ends "partial"
    (what it committed stays; a pull's cursor keeps its last committed page), never "failed"."""


class Budget:
    """``seconds`` from now (None: no deadline), a ``stop()`` from any thread (a signal handler), or an
    outside ``stop_requested()`` (the worker's cluster stopping): whichever comes first ends the run's
    intake of work. Thread-safe; the first reason found is kept for the run's record."""

    def __init__(self, seconds: float | None = None, *,
                 stop_requested: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"a run's budget must be > 0 seconds, got {seconds}")
        self.seconds = seconds
        self._clock = clock
        self._deadline = None if seconds is None else clock() + seconds
        self._stop_requested = stop_requested
        self._lock = threading.Lock()
        self._reason = ""

    @property
    def may_run_out(self) -> bool:
        """False for the default unbounded budget of an inline run, which only ``stop()`` ends."""
        return self._deadline is not None or self._stop_requested is not None

    def remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - self._clock()

    def stop(self, reason: str) -> None:
        """End the intake of work now (the first reason wins); safe from a signal handler."""
        if not self._reason:  # no lock: a signal handler must not wait on one its thread holds
            self._reason = reason

    @property
    def reason(self) -> str:
        return self._reason

    def exhausted(self) -> bool:
        """Whether the run must take no new work; a deadline or outside stop found here is recorded."""
        if self._reason:
            return True
        why = ""
        if self._deadline is not None and self._clock() >= self._deadline:
            why = f"time budget of {self.seconds:g} s used up (Q_TIMEOUT less SYNC_BUDGET_MARGIN)"
        elif self._stop_requested is not None and self._stop_requested():
            why = "the worker is stopping (SIGTERM or SIGINT to qcluster)"
        if why:
            with self._lock:
                self._reason = self._reason or why
        return bool(self._reason)

    def check(self) -> None:
        """Raise OutOfBudget if the run must take no new work."""
        if self.exhausted():
            raise OutOfBudget(self._reason)


class Budgeted:
    """A client proxy that stops paged listings at a page boundary once the budget has run out.

    Only listings handed a ``pages`` mark (the pulls that resume from their cursor) are stopped: their
    cursor holds the last page committed, so the continuation reads on from there. The page under way and
    calls already made always finish; every other attribute passes through unchanged."""

    def __init__(self, client: Any, budget: Budget) -> None:
        self._client = client
        self._budget = budget

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args, **kwargs):
            pages = kwargs.get("pages")
            if not isinstance(pages, PageMark):
                return attr(*args, **kwargs)
            self._budget.check()  # not even the first page
            return _stop_at_page_boundary(attr(*args, **kwargs), pages, self._budget)

        return call


def _stop_at_page_boundary(iterator, pages: PageMark, budget: Budget):
    # The client sets ``pages.done`` as a page's last record goes out: when it moved since the record
    # before, the next record needs a new page, which is where a run out of budget stops.
    seen = pages.done
    for item in iterator:
        yield item
        if pages.done != seen:
            seen = pages.done
            budget.check()
