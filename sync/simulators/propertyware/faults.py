"""Axis-style SOAP faults the simulator raises, and seedable per-operation failure injection
(``FaultInjector.configure``, docs/simulators.md).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

#: the kinds a profile can inject, in the order a request meets them
KINDS = ("reset_before", "maintenance", "fault", "hostile_xml", "empty_body", "truncate", "reset_during")
MAINTENANCE_STATUSES = (502, 503, 504)
#: 200 too: an edge that serves its maintenance page with "OK" is a real hazard (spec §8)
ALLOWED_MAINTENANCE_STATUSES = (200, *MAINTENANCE_STATUSES)
RANDOM_FAULTS = (
    "java.lang.NullPointerException",
    "org.hibernate.exception.GenericJDBCException: Cannot open connection",
    "com.propertyware.service.ServiceException: An unexpected error occurred. Please try again later.",
)


class SoapFault(Exception):
    """A request the service answers with an Axis fault (HTTP 500)."""

    def __init__(self, faultstring: str, faultcode: str = "soapenv:Server.userException") -> None:
        super().__init__(faultstring)
        self.faultstring = faultstring
        self.faultcode = faultcode


def client_fault(message: str) -> SoapFault:
    """A fault blaming the request itself (malformed XML, unknown operation, bad values)."""
    return SoapFault(message, "soapenv:Client")


@dataclass
class Profile:
    operation: str = "*"
    latency: float = 0.0
    reset_before: float = 0.0
    reset_during: float = 0.0
    truncate: float = 0.0
    maintenance: float = 0.0
    fault: float = 0.0
    #: answer with a DOCTYPE declaring nested entities (billion laughs): clients must refuse it
    hostile_xml: float = 0.0
    #: answer 200 with a well-formed envelope whose Body holds no <opResponse>
    empty_body: float = 0.0
    maintenance_status: int | None = None
    times: int | None = None
    injected: int = field(default=0)

    def matches(self, operation: str) -> bool:
        return self.operation in ("*", operation)


@dataclass(frozen=True)
class Decision:
    """What to do to one request: sleep ``latency`` then at most one failure ``kind``."""

    latency: float = 0.0
    kind: str | None = None
    status: int = 503
    message: str = ""


# Each request draws once per profile from one seeded RNG, so a given seed and request sequence always fail
# the same way. ``times`` caps how many requests a profile may break (then it stays quiet), so tests can
# fail exactly N calls.
class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._profiles: list[Profile] = []

    def configure(
        self,
        operation: str = "*",
        *,
        latency: float = 0.0,
        reset_before: float = 0.0,
        reset_during: float = 0.0,
        truncate: float = 0.0,
        maintenance: float = 0.0,
        fault: float = 0.0,
        hostile_xml: float = 0.0,
        empty_body: float = 0.0,
        maintenance_status: int | None = None,
        seed: int | None = None,
        times: int | None = None,
    ) -> Profile:
        """Add (or replace) the profile for ``operation`` ("*" = every operation)."""
        probabilities = {
            "reset_before": reset_before,
            "reset_during": reset_during,
            "truncate": truncate,
            "maintenance": maintenance,
            "fault": fault,
            "hostile_xml": hostile_xml,
            "empty_body": empty_body,
        }
        for name, p in probabilities.items():
            if not 0.0 <= float(p) <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, got {p!r}")
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency!r}")
        if maintenance_status is not None and maintenance_status not in ALLOWED_MAINTENANCE_STATUSES:
            raise ValueError(f"maintenance_status must be one of {ALLOWED_MAINTENANCE_STATUSES}")
        if times is not None and times < 0:
            raise ValueError("times must be >= 0")
        rates: dict[str, Any] = {k: float(v) for k, v in probabilities.items()}
        profile = Profile(
            operation=operation,
            latency=float(latency),
            maintenance_status=maintenance_status,
            times=times,
            **rates,
        )
        with self._lock:
            if seed is not None:
                self._rng.seed(seed)
            self._profiles = [p for p in self._profiles if p.operation != operation] + [profile]
        return profile

    def clear(self) -> None:
        with self._lock:
            self._profiles = []

    def profiles(self) -> list[dict]:
        with self._lock:
            return [asdict(p) for p in self._profiles]

    def decide(self, operation: str) -> Decision:
        with self._lock:
            latency = 0.0
            for p in self._profiles:
                if not p.matches(operation) or (p.times is not None and p.injected >= p.times):
                    continue
                latency = max(latency, p.latency)
                for kind in KINDS:
                    prob = getattr(p, kind)
                    if prob and self._rng.random() < prob:
                        p.injected += 1
                        status = p.maintenance_status or self._rng.choice(MAINTENANCE_STATUSES)
                        return Decision(latency, kind, status, self._rng.choice(RANDOM_FAULTS))
                if p.latency and p.times is not None:
                    p.injected += 1  # a latency-only profile with ``times`` slows that many calls
            return Decision(latency)
