"""Spacing of calls to PropertyWare (default 2 requests/s, spec §10.15), most urgent caller first."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import Counter

_SHARED: dict[tuple, Throttle] = {}
_SHARED_LOCK = threading.Lock()


def shared_throttle(key: tuple, max_rps: float) -> Throttle:
    """The process-wide throttle for ``key`` (service URL and user) at ``max_rps``: the cap is the
    process's, however many clients the parallel steps and write workers build."""
    with _SHARED_LOCK:
        throttle = _SHARED.get((*key, max_rps))
        if throttle is None:
            throttle = _SHARED[(*key, max_rps)] = Throttle(max_rps)
        return throttle


class Throttle:
    """Callers queue for the next free slot under one lock, so concurrent callers never burst; at each slot
    the most urgent waiting caller goes (then the earliest). A rate of 0 or less disables it.

    Hand-rolled because no pacing library orders its waiters. A caller may also ``join`` at an urgency for
    as long as it runs (a client does, from its creation to ``close``): while it is joined, a less urgent
    caller leaves a free slot to it for one interval, the time it needs to ask, and then takes the slot if
    it is still free, so slots are never left unused for longer than that.
    """

    def __init__(self, max_rps: float) -> None:
        self.interval = 1.0 / max_rps if max_rps and max_rps > 0 else 0.0
        self._next = 0.0  # when the next slot is free (monotonic)
        self._queue: list[tuple[int, int]] = []  # waiting callers: (-urgency, arrival)
        self._arrivals = itertools.count()
        self._joined: Counter[int] = Counter()  # urgencies of the callers running now
        self._cond = threading.Condition()

    def join(self, urgency: int) -> None:
        """A caller at ``urgency`` runs from now until ``leave(urgency)``."""
        with self._cond:
            self._joined[urgency] += 1

    def leave(self, urgency: int) -> None:
        with self._cond:
            self._joined[urgency] -= 1
            if self._joined[urgency] <= 0:
                del self._joined[urgency]
            self._cond.notify_all()  # callers that stood back for it may go now

    def wait(self, urgency: int = 0) -> float:
        """Wait for a slot at ``urgency`` (higher goes first); returns the seconds waited."""
        if not self.interval:
            return 0.0
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
                    if any(u > urgency for u in self._joined):
                        # Leave the free slot to the more urgent caller for one interval.
                        due = max(due, arrived) + self.interval
                    if now >= due:
                        self._next = max(now, self._next) + self.interval
                        return now - arrived
                    # Woken early by a more urgent caller queueing, or by one leaving: look again.
                    self._cond.wait(due - now)
            finally:
                # Taken the slot, or interrupted: either way this caller leaves the queue.
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
                self._cond.notify_all()
