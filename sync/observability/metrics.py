"""Process-level Prometheus metrics and the registry ``/metrics`` serves.
API calls are counted in the process that makes them (the sync worker or command).
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, PlatformCollector, ProcessCollector
from prometheus_client.multiprocess import MultiProcessCollector

from .dbmetrics import DatabaseCollector

#: the systems a call can be counted against
SYSTEMS = ("propertyware", "servicefusion")
#: normalised call outcomes
OUTCOMES = ("ok", "error", "retry", "rate_limited", "timeout", "auth", "ambiguous")

REGISTRY = CollectorRegistry(auto_describe=True)

API_CALLS = Counter(
    "greenlight_api_calls",
    "Calls made to PropertyWare and ServiceFusion, by system, operation and outcome.",
    ["system", "operation", "outcome"],
    registry=REGISTRY,
)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Ids in REST paths would make one time series per record; "/jobs/123" is counted as "/jobs/{id}".
_ID_SEGMENT = re.compile(r"/\d+(?=/|$|\?)")
_QUERY = re.compile(r"\?.*$")


def _operation_label(operation: str) -> str:
    return _ID_SEGMENT.sub("/{id}", _QUERY.sub("", operation.strip())) or "unknown"


ALIASES = {"pw": "propertyware", "sf": "servicefusion"}


def _system(system: str, where: str) -> str:
    system = ALIASES.get(system, system)
    if system not in SYSTEMS:
        raise ValueError(f"{where}: unknown system {system!r}; expected one of {SYSTEMS}")
    return system


def record_api_call(system: str, operation: str, outcome: str, count: int = 1) -> None:
    """Count ``count`` calls of ``operation`` on ``system`` ending in ``outcome``.

    ``system`` is "propertyware" or "servicefusion" (or "pw", "sf"); ``operation`` a SOAP operation
    name or "METHOD /path" (ids are folded so label cardinality stays bounded).
    """
    system = ALIASES.get(system, system)
    if system not in SYSTEMS:
        raise ValueError(f"record_api_call: unknown system {system!r}; expected one of {SYSTEMS}")
    if count < 0:
        raise ValueError(f"record_api_call: count must be >= 0, got {count}")
    if count:
        API_CALLS.labels(system=system, operation=_operation_label(operation), outcome=outcome).inc(count)


class StatsFeeder:
    """Feeds a client's cumulative ``stats`` counters into ``record_api_call`` as deltas.

    The clients cannot import Django or this module (imports run one way), so the engine hands their
    ``client.stats`` here after each step. Stats are ``{(operation, outcome): n}`` or
    ``{operation: {outcome: n}}``; anything non-numeric is ignored.
    """

    def __init__(self, system: str) -> None:
        self.system = _system(system, "StatsFeeder")
        self._seen: dict[tuple[str, str], int] = {}

    def feed(self, stats: Mapping) -> int:
        """Record what changed since the last call; returns the number of calls newly counted."""
        added = 0
        for (operation, outcome), total in _flatten(stats).items():
            delta = total - self._seen.get((operation, outcome), 0)
            if delta > 0:
                record_api_call(self.system, operation, outcome, delta)
                added += delta
            self._seen[(operation, outcome)] = total
        return added


def record_client_stats(system: str, stats: Mapping) -> int:
    """Count every call in a finished client's ``stats`` (one client, fed once when its step ends)."""
    return StatsFeeder(system).feed(stats)


def _flatten(stats: Mapping) -> dict[tuple[str, str], int]:
    """(operation, outcome) → count from either client's stats.

    PropertyWare: ``{operation: {outcome: n}}``. ServiceFusion: ``{"requests": {"GET ok": n, ...}, …}``
    (HTTP requests by method and outcome; its other counters are not calls).
    """
    flat: dict[tuple[str, str], int] = {}
    requests = stats.get("requests") if isinstance(stats.get("requests"), Mapping) else None
    if requests is not None and all(isinstance(k, str) and " " in k for k in requests):
        for key, n in requests.items():
            if isinstance(n, int) and not isinstance(n, bool):
                method, outcome = key.split(" ", 1)
                flat[(method, outcome)] = n
        return flat
    for key, value in stats.items():
        if isinstance(key, tuple) and len(key) == 2 and isinstance(value, int):
            flat[(str(key[0]), str(key[1]))] = value
        elif isinstance(value, Mapping):
            for outcome, n in value.items():
                if isinstance(n, int) and not isinstance(n, bool):
                    flat[(str(key), str(outcome))] = n
    return flat


def scrape_registry() -> CollectorRegistry:
    """The registry to render: this process's metrics plus the database snapshot.

    In multiprocess mode the per-process files are summed instead of this process's own counters.
    """
    # Run several processes (gunicorn + django-q2 workers) with PROMETHEUS_MULTIPROC_DIR set to a shared
    # directory and prometheus-client's multiprocess mode sums every process's counts at scrape time.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector())
    return registry


class _Forward:
    """Exposes another registry's metrics inside a per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self):
        return self._source.collect()
