"""The simulator's clock and its wire formats for timestamps and dates.
Simulated time is real time plus an offset that tests advance (token and authorisation-code expiry,
record timestamps). The rate limiter deliberately keeps real time: clients pace against the wall clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import overload


class SimClock:
    """Wall-clock time shifted by an adjustable offset (thread-safe)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += float(seconds)

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset


@overload
def format_ts(value: datetime) -> str: ...
@overload
def format_ts(value: None) -> None: ...
def format_ts(value: datetime | None) -> str | None:
    """RFC 3339 with an explicit +00:00 offset, as ServiceFusion prints timestamps."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


@overload
def format_date(value: date) -> str: ...
@overload
def format_date(value: None) -> None: ...
def format_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_ts(text: str) -> datetime:
    """Accept RFC 3339 (with offset or Z) or a bare Y-m-d (midnight UTC); raise ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty timestamp")
    raw = text.strip().replace(" ", "T", 1) if len(text.strip()) > 10 else text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date:
    """Accept Y-m-d or an RFC 3339 timestamp (its calendar date); raise ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty date")
    raw = text.strip()
    if len(raw) == 10:
        return date.fromisoformat(raw)
    return parse_ts(raw).date()
