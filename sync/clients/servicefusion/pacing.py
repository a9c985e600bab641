"""Client-side pacing by ServiceFusion's own X-Rate-Limit-* headers, and the wait after a 429."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping

EPOCH_THRESHOLD = 1e9  # a Reset above this is a moment (epoch seconds), not a duration
MAX_WAIT = 60.0
#: "60 requests per minute per token" (specs/servicefusion-api.md): the allowance and its refill window
#: until response headers tell more
DOCUMENTED_LIMIT = 60
DOCUMENTED_WINDOW = 60.0
SAFETY = 1.05  # waits are stretched a little: header values are rounded to whole requests and seconds


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def seconds_until(reset: float, now: float | None = None) -> float:
    """X-Rate-Limit-Reset as a duration: epoch seconds if > 1e9, else already seconds."""
    if reset > EPOCH_THRESHOLD:
        return max(0.0, reset - (time.time() if now is None else now))
    return max(0.0, reset)


def wait_after_429(headers: Mapping[str, str], attempt: int, *, rng: random.Random | None = None) -> float:
    """Retry-After, else Reset, else exponential backoff with jitter; never above 60 s."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return min(MAX_WAIT, max(0.0, float(retry_after)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(retry_after) if retry_after else None
            if when is not None:
                return min(MAX_WAIT, max(0.0, when.timestamp() - time.time()))
    reset = _number(headers, "X-Rate-Limit-Reset")
    if reset is not None and reset > 0:
        return min(MAX_WAIT, seconds_until(reset))
    base = min(MAX_WAIT, 2.0**attempt)
    return min(MAX_WAIT, base / 2 + (rng or random).uniform(0, base / 2))


class Pacer:
    """Shared by every thread of one client (one token): ``acquire`` before a request, ``done`` after.

    Hand-rolled on purpose: the pacing libraries (ratelimit, pyrate-limiter, tenacity) count against a fixed
    local budget; ServiceFusion tells us its live budget on every response, and only following it uses the
    whole allowance without provoking 429s. The server refills continuously, so from Limit, Remaining and
    Reset (seconds until the allowance is full, or that moment as epoch seconds) the pacer estimates what
    is left at any instant, spends it freely, and once it is spent waits just long enough for one more."""

    def __init__(
        self,
        cap_per_minute: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.cap = max(0, int(cap_per_minute))
        self._cap_tokens = float(self.cap)
        self._cap_stamp = clock()
        self.limit: int | None = None
        self.rate: float | None = None  # refill, requests per second
        self._estimate: float | None = None  # requests available at _stamp, by our reckoning
        self._stamp = clock()
        self._in_flight = 0
        self.waits = 0
        self.waited = 0.0

    def _available(self, now: float) -> float | None:
        if self._estimate is None:
            return None
        rate = self.rate or 0.0
        return min(float(self.limit or self._estimate), self._estimate + (now - self._stamp) * rate)

    def acquire(self) -> float:
        """Block until a request may be sent without exceeding the allowance; returns seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = 0.0
                available = self._available(now)
                if available is not None and available < 1:
                    rate = self.rate or (self.limit or DOCUMENTED_LIMIT) / DOCUMENTED_WINDOW
                    wait = (1 - available) / rate * SAFETY + 0.005
                if self.cap:
                    self._cap_tokens = min(
                        float(self.cap), self._cap_tokens + (now - self._cap_stamp) * self.cap / 60
                    )
                    self._cap_stamp = now
                    if self._cap_tokens < 1:
                        wait = max(wait, (1 - self._cap_tokens) * 60 / self.cap)
                if wait <= 0:
                    if available is not None:
                        self._estimate, self._stamp = available - 1, now
                    if self.cap:
                        self._cap_tokens -= 1
                    self._in_flight += 1
                    if waited:
                        self.waits += 1
                        self.waited += waited
                    return waited
            wait = min(wait, MAX_WAIT)
            self._sleep(wait)
            waited += wait

    def done(self, headers: Mapping[str, str] | None) -> None:
        """Record a finished request and, when it carried them, the server's allowance headers."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if not headers:
                return
            limit = _number(headers, "X-Rate-Limit-Limit")
            remaining = _number(headers, "X-Rate-Limit-Remaining")
            reset = _number(headers, "X-Rate-Limit-Reset")
            if limit is None or remaining is None or limit <= 0:
                return
            if self.limit != int(limit):
                self.limit, self.rate = int(limit), None
            if reset is not None:
                to_full = seconds_until(reset)
                if remaining < limit and to_full > 0:
                    # (limit - remaining) requests refill in to_full seconds. Reset is rounded up to whole
                    # seconds, so each sample errs slow, least so when much is spent: keep the highest.
                    self.rate = max(self.rate or 0.0, (limit - remaining) / to_full)
            if self.rate is None:
                self.rate = limit / DOCUMENTED_WINDOW
            # Requests of ours still in flight were not counted in this response's Remaining. Responses
            # can arrive out of order, so an older (higher) Remaining never raises our own reckoning.
            now = self._clock()
            from_header = remaining - self._in_flight
            running = self._available(now)
            self._estimate = from_header if running is None else min(running, from_header)
            self._stamp = now

    def exhausted(self, headers: Mapping[str, str] | None) -> None:
        """After a 429: nothing is left, whatever an older response said."""
        self.done(headers)
        with self._lock:
            self._estimate = min(self._estimate or 0.0, 0.0)
            self._stamp = self._clock()
