"""Per-token request allowance: a continuously refilling bucket, as Yii2's rate limiter keeps it: ``limit``
requests per ``window`` seconds (60 per 60 s by default, like ServiceFusion). Real time, not the simulated
clock: clients pace against the wall clock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class RateDecision:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    def __init__(
        self,
        limit: int = 60,
        window: float = 60.0,
        *,
        reset_mode: str = "seconds",
        retry_after: bool = False,
        enabled: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (allowance, monotonic stamp)
        self.limit, self.window, self.reset_mode, self.retry_after, self.enabled = (
            60,
            60.0,
            "seconds",
            False,
            True,
        )
        self.configure(
            limit=limit, window=window, reset_mode=reset_mode, retry_after=retry_after, enabled=enabled
        )

    def configure(
        self,
        *,
        limit: int | None = None,
        window: float | None = None,
        reset_mode: str | None = None,
        retry_after: bool | None = None,
        enabled: bool | None = None,
    ) -> None:
        """Change the allowance or header semantics; existing buckets start full again."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ValueError("limit must be a positive integer")
        if window is not None and (isinstance(window, bool) or not float(window) > 0):
            raise ValueError("window must be a positive number of seconds")
        if reset_mode is not None and reset_mode not in ("seconds", "epoch"):
            raise ValueError('reset_mode must be "seconds" or "epoch"')
        with self._lock:
            if limit is not None:
                self.limit = limit
            if window is not None:
                self.window = float(window)
            if reset_mode is not None:
                self.reset_mode = reset_mode
            if retry_after is not None:
                self.retry_after = bool(retry_after)
            if enabled is not None:
                self.enabled = bool(enabled)
            self._buckets.clear()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _refilled(self, key: str, now: float) -> float:
        allowance, stamp = self._buckets.get(key, (float(self.limit), now))
        return min(float(self.limit), allowance + (now - stamp) * self.limit / self.window)

    def consume(self, key: str) -> RateDecision:
        """Count one request against ``key``'s allowance."""
        now = time.monotonic()
        with self._lock:
            allowance = self._refilled(key, now)
            if not self.enabled:
                self._buckets[key] = (allowance, now)
                return RateDecision(True, self._headers(allowance, None))
            if allowance < 1:
                self._buckets[key] = (allowance, now)
                wait = (1 - allowance) * self.window / self.limit
                return RateDecision(False, self._headers(allowance, wait))
            allowance -= 1
            self._buckets[key] = (allowance, now)
            return RateDecision(True, self._headers(allowance, None))

    def peek(self, key: str) -> dict[str, str]:
        """The headers for ``key`` without spending anything (responses refused before authentication)."""
        with self._lock:
            return self._headers(self._refilled(key, time.monotonic()), None)

    # Reset is the seconds until the allowance is full again (stock Yii2) or, switched, that moment as UTC
    # epoch seconds (what ServiceFusion's docs say). Retry-After on 429 is off by default (Yii2 omits it).
    def _headers(self, allowance: float, retry_wait: float | None) -> dict[str, str]:
        to_full = (self.limit - allowance) * self.window / self.limit
        # Rounded up so a client that waits the advertised time is never early.
        reset = math.ceil(to_full - 1e-9) if to_full > 0 else 0
        if self.reset_mode == "epoch":
            reset = math.ceil(time.time() + to_full)
        headers = {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(0, int(allowance))),
            "X-Rate-Limit-Reset": str(reset),
        }
        if retry_wait is not None and self.retry_after:
            headers["Retry-After"] = str(max(1, math.ceil(retry_wait)))
        return headers
