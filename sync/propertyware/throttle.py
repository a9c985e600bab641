"""Spacing of calls to PropertyWare (default 2 requests/s, spec §10.15).

Hand-rolled because it is a dozen lines: a shared "next free slot" under a lock, so concurrent callers
queue up instead of bursting. A rate of 0 or less disables it. ``shared_throttle`` hands every client of
one account and service in this process the same throttle: the cap is the process's, however many clients
the parallel steps and write workers build.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_SHARED: dict[tuple, Throttle] = {}
_SHARED_LOCK = threading.Lock()


def shared_throttle(key: tuple, max_rps: float) -> Throttle:
    """The process-wide throttle for ``key`` (service URL and user) at ``max_rps``."""
    with _SHARED_LOCK:
        throttle = _SHARED.get((*key, max_rps))
        if throttle is None:
            throttle = _SHARED[(*key, max_rps)] = Throttle(max_rps)
        return throttle


class Throttle:
    def __init__(
        self,
        max_rps: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / max_rps if max_rps and max_rps > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self) -> float:
        """Sleep until this caller's slot; returns the seconds slept."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)
