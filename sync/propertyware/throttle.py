"""Spacing of calls to PropertyWare (default 2 requests/s, spec §10.15).

Hand-rolled because it is a dozen lines: a shared "next free slot" under a lock, so concurrent callers
of one client queue up instead of bursting. A rate of 0 or less disables it.
"""

from __future__ import annotations

import threading
import time


class Throttle:
    def __init__(self, max_rps: float) -> None:
        self.interval = 1.0 / max_rps if max_rps and max_rps > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until this caller's slot; returns the seconds slept."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)
        return max(delay, 0.0)
