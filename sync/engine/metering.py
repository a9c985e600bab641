"""Counting and timing of API calls per system and operation (and records listings yielded), by wrapping a
client; each call may also tell a listener (the step's progress) that something happened."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

__all__ = ["Meter", "Metered", "merge_calls"]


class Meter:
    """Per-operation call counts, failures and seconds for one system; thread-safe."""

    def __init__(self, system: str, on_call: Callable[[], None] | None = None) -> None:
        self.system = system
        self._lock = threading.Lock()
        self._ops: dict[str, dict[str, float]] = defaultdict(
            lambda: {"calls": 0, "errors": 0, "seconds": 0.0}
        )
        self._items = 0
        # Called after every call and listed record, outside the lock; it must be cheap (it throttles).
        self._on_call = on_call

    def add(self, operation: str, seconds: float, *, ok: bool, calls: int = 1) -> None:
        with self._lock:
            entry = self._ops[operation]
            entry["calls"] += calls
            entry["errors"] += 0 if ok else 1
            entry["seconds"] += seconds
        if self._on_call is not None:
            self._on_call()

    def add_item(self) -> None:
        """One record handed out by a listing (a pull's progress: records read so far)."""
        with self._lock:
            self._items += 1

    @property
    def items(self) -> int:
        return self._items

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            ops = {
                name: {
                    "calls": int(v["calls"]),
                    "errors": int(v["errors"]),
                    "seconds": round(v["seconds"], 3),
                }
                for name, v in sorted(self._ops.items())
            }
        return {
            "calls": sum(v["calls"] for v in ops.values()),
            "errors": sum(v["errors"] for v in ops.values()),
            "seconds": round(sum(v["seconds"] for v in ops.values()), 3),
            "operations": ops,
        }


class Metered:
    """Proxy around a client: every public method call (and every item a generator yields) is timed.

    Hand-rolled because the figures must come out the same for both clients whatever their own ``stats``
    look like."""

    def __init__(self, client: Any, meter: Meter) -> None:
        self._client = client
        self._meter = meter

    @property
    def client(self) -> Any:
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr
        meter = self._meter

        @functools.wraps(attr)
        def call(*args, **kwargs):
            started = time.monotonic()
            try:
                result = attr(*args, **kwargs)
            except Exception:
                meter.add(name, time.monotonic() - started, ok=False)
                raise
            if inspect.isgenerator(result) or (hasattr(result, "__next__") and hasattr(result, "__iter__")):
                meter.add(name, time.monotonic() - started, ok=True, calls=0)
                return _timed_iter(result, name, meter)
            meter.add(name, time.monotonic() - started, ok=True)
            return result

        return call


def _timed_iter(iterator, name: str, meter: Meter):
    # Pages are fetched lazily inside next(); the call count is one per listing, the time is all of it.
    meter.add(name, 0.0, ok=True)
    while True:
        started = time.monotonic()
        try:
            item = next(iterator)
        except StopIteration:
            meter.add(name, time.monotonic() - started, ok=True, calls=0)
            return
        except Exception:
            meter.add(name, time.monotonic() - started, ok=False, calls=0)
            raise
        meter.add_item()
        meter.add(name, time.monotonic() - started, ok=True, calls=0)
        yield item


def merge_calls(*snapshots: dict[str, Any]) -> dict[str, Any]:
    """Sum ``{system: snapshot}`` dicts (steps → run)."""
    out: dict[str, Any] = {}
    for snap in snapshots:
        for system, data in (snap or {}).items():
            if not isinstance(data, dict) or "operations" not in data:
                continue
            target = out.setdefault(system, {"calls": 0, "errors": 0, "seconds": 0.0, "operations": {}})
            for key in ("calls", "errors"):
                target[key] += data.get(key, 0)
            target["seconds"] = round(target["seconds"] + data.get("seconds", 0.0), 3)
            for op, v in data["operations"].items():
                t = target["operations"].setdefault(op, {"calls": 0, "errors": 0, "seconds": 0.0})
                t["calls"] += v["calls"]
                t["errors"] += v["errors"]
                t["seconds"] = round(t["seconds"] + v["seconds"], 3)
            if isinstance(data.get("requests"), int):
                target["requests"] = target.get("requests", 0) + data["requests"]
    return out
