"""Spacing of calls to PropertyWare (default 2 requests/s, spec §10.15), most urgent first.

Hand-rolled because no pacing library orders its waiters: callers queue for the next free slot under one
lock, so concurrent callers never burst, and at each slot the most urgent waiting caller goes (then the
earliest). A rate of 0 or less disables it. ``shared_throttle`` hands every client of one account and
service in this process the same throttle: the cap is the process's, however many clients the parallel
steps and write workers build.

Urgency is the calling thread's (``calls_at``): the sync runs each read step at the length of the chain of
reads waiting on it, so portfolios, buildings and work orders (which the invoices read waits on) do not
queue behind leases. While a more urgent step is running, a less urgent caller leaves a free slot to it
for one interval, the time that step needs to ask, and then takes the slot if it is still free: slots
are never left unused for longer than that.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar

_SHARED: dict[tuple, Throttle] = {}
_SHARED_LOCK = threading.Lock()
_LIVE: weakref.WeakSet[Throttle] = weakref.WeakSet()  # every throttle, for calls_at to wake
_LIVE_LOCK = threading.Lock()

_urgency: ContextVar[int] = ContextVar("pw_call_urgency", default=0)
_running: Counter[int] = Counter()  # urgencies of the steps running now, in every thread
_running_lock = threading.Lock()


@contextlib.contextmanager
def calls_at(urgency: int) -> Iterator[None]:
    """Calls this thread makes inside the block wait in the queue at ``urgency`` (default 0), and less
    urgent callers leave free slots to them while the block runs."""
    token = _urgency.set(urgency)
    with _running_lock:
        _running[urgency] += 1
    try:
        yield
    finally:
        with _running_lock:
            _running[urgency] -= 1
            if not _running[urgency]:
                del _running[urgency]
        _urgency.reset(token)
        for throttle in _all_throttles():  # callers that stood back for this step may go now
            throttle.wake()


def _more_urgent_running(urgency: int) -> bool:
    with _running_lock:
        return any(u > urgency for u in _running)


def _all_throttles() -> list[Throttle]:
    with _LIVE_LOCK:
        return list(_LIVE)


def shared_throttle(key: tuple, max_rps: float) -> Throttle:
    """The process-wide throttle for ``key`` (service URL and user) at ``max_rps``."""
    with _SHARED_LOCK:
        throttle = _SHARED.get((*key, max_rps))
        if throttle is None:
            throttle = _SHARED[(*key, max_rps)] = Throttle(max_rps)
        return throttle


class Throttle:
    def __init__(self, max_rps: float) -> None:
        self.interval = 1.0 / max_rps if max_rps and max_rps > 0 else 0.0
        self._next = 0.0  # when the next slot is free (monotonic)
        self._queue: list[tuple[int, int]] = []  # waiting callers: (-urgency, arrival)
        self._arrivals = itertools.count()
        self._cond = threading.Condition()
        with _LIVE_LOCK:
            _LIVE.add(self)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        if not self.interval:
            return 0.0
        urgency = _urgency.get()
        arrived = time.monotonic()
        with self._cond:
            ticket = (-urgency, next(self._arrivals))
            heapq.heappush(self._queue, ticket)
            try:
                while True:
                    now = time.monotonic()
                    if self._queue[0] != ticket:
                        self._cond.wait()  # someone more urgent (or earlier) goes first
                        continue
                    due = self._next
                    if _more_urgent_running(urgency):
                        # Leave the free slot to the more urgent step for one interval.
                        due = max(due, arrived) + self.interval
                    if now >= due:
                        self._next = max(now, self._next) + self.interval
                        return now - arrived
                    # Woken early by a more urgent caller queueing, or by a step ending: look again.
                    self._cond.wait(due - now)
            finally:
                # Taken the slot, or interrupted: either way this caller leaves the queue.
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
                self._cond.notify_all()
