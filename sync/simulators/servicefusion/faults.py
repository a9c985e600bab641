"""Seedable fault injection: latency, 500/502/503/504, connection resets, commit-then-drop on POST.
Pre-faults act before the handler runs (nothing is written); commit faults act after a POST committed.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass

PRE_KINDS = ("reset", "p500", "p502", "p503", "p504")
COMMIT_KINDS = ("commit_then_drop", "commit_then_504")


@dataclass(frozen=True)
class FaultPlan:
    latency: float = 0.0
    #: before the handler: "reset", "500", "502", "503", "504" or None
    pre: str | None = None
    #: after a POST committed: "drop", "504" or None
    commit: str | None = None
    #: seconds an unsorted GET /v1/jobs sleeps before answering (the reported hang)
    hang: float = 0.0


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._profile: dict | None = None
        self._rng = random.Random(seed)
        self.fired: dict[str, int] = {}

    # One profile at a time (``configure`` replaces it, ``clear`` removes it). A profile acts on ``/v1/*``
    # unless given another path pattern (fnmatch, e.g. ``/v1/jobs`` or ``/oauth/*``) and can be narrowed to a
    # method and limited to the next ``times`` matching requests, so tests can be exact ("the next POST
    # /v1/jobs commits, then the connection drops").
    def configure(
        self,
        *,
        latency: float = 0.0,
        p500: float = 0.0,
        p502: float = 0.0,
        p503: float = 0.0,
        p504: float = 0.0,
        reset: float = 0.0,
        commit_then_drop: float = 0.0,
        commit_then_504: float = 0.0,
        hang_unsorted_jobs: float = 0.0,
        method: str = "*",
        path: str = "/v1/*",
        times: int | None = None,
        seed: int | None = None,
    ) -> None:
        """Install a fault profile. Probabilities are 0..1; the pre-fault kinds are exclusive (their sum must
        not exceed 1), as are the commit kinds. ``times`` limits how many requests the profile affects."""
        probs = {
            "reset": reset,
            "p500": p500,
            "p502": p502,
            "p503": p503,
            "p504": p504,
            "commit_then_drop": commit_then_drop,
            "commit_then_504": commit_then_504,
        }
        for name, value in probs.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability between 0 and 1")
        if sum(probs[k] for k in PRE_KINDS) > 1 or sum(probs[k] for k in COMMIT_KINDS) > 1:
            raise ValueError("fault probabilities of one stage must not add up to more than 1")
        for name, value in (("latency", latency), ("hang_unsorted_jobs", hang_unsorted_jobs)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number of seconds")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive integer")
        with self._lock:
            self._profile = {
                **probs,
                "latency": float(latency),
                "hang": float(hang_unsorted_jobs),
                "method": method.upper(),
                "path": path,
                "times": times,
            }
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        with self._lock:
            self._profile = None

    def fired_counts(self) -> dict[str, int]:
        """How often each fault kind fired since the simulator started."""
        with self._lock:
            return dict(self.fired)

    def describe(self) -> dict | None:
        with self._lock:
            return dict(self._profile) if self._profile else None

    def plan(self, method: str, path: str, *, unsorted_jobs_list: bool = False) -> FaultPlan:
        """Decide what happens to one request (called once per request, in arrival order)."""
        with self._lock:
            prof = self._profile
            if prof is None or prof["times"] == 0:
                return FaultPlan()
            if prof["method"] not in ("*", method.upper()) or not fnmatch.fnmatchcase(path, prof["path"]):
                return FaultPlan()
            pre = self._pick([k for k in PRE_KINDS if prof[k] > 0], prof)
            commit = None
            if pre is None and method.upper() == "POST":
                commit = self._pick([k for k in COMMIT_KINDS if prof[k] > 0], prof)
            hang = prof["hang"] if unsorted_jobs_list else 0.0
            plan = FaultPlan(
                latency=prof["latency"],
                pre=None if pre is None else ("reset" if pre == "reset" else pre[1:]),
                commit=None if commit is None else ("drop" if commit == "commit_then_drop" else "504"),
                hang=hang,
            )
            if plan != FaultPlan():
                if prof["times"] is not None:
                    prof["times"] -= 1
                for name, active in (
                    ("latency", plan.latency > 0),
                    ("hang", plan.hang > 0),
                    (pre, pre is not None),
                    (commit, commit is not None),
                ):
                    if active and name:
                        self.fired[name] = self.fired.get(name, 0) + 1
            return plan

    def _pick(self, kinds: list[str], prof: dict) -> str | None:
        if not kinds:
            return None
        draw = self._rng.random()
        edge = 0.0
        for kind in kinds:
            edge += prof[kind]
            if draw < edge:
                return kind
        return None
