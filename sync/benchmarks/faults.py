"""Fault profiles for the chaos drill: every failure both simulators can inject, at one overall rate,
plus the disturbances that come in bursts (token expiry, 429 storms) played by a ticker during a run.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass

# Share of the fault rate per kind (each column sums to 1). The split is fixed here so a seed names one
# reproducible drill. SOAP Faults get a small share: the client rightly treats them as permanent, so each
# one fails its step outright.
PW_SHARES = {"reset_before": 0.25, "reset_during": 0.2, "truncate": 0.2, "maintenance": 0.3, "fault": 0.05}
SF_PRE_SHARES = {"reset": 0.3, "p500": 0.2, "p502": 0.15, "p503": 0.2, "p504": 0.15}  # 502/504: HTML pages
SF_COMMIT_SHARES = {"commit_then_drop": 0.6, "commit_then_504": 0.4}  # POSTs: committed, answer lost

# The drill runs the clients with short timeouts and backoff so it finishes in minutes.
DRILL_CLIENT_ENV = {
    "PW_TIMEOUT": "5", "PW_RETRY_MIN_WAIT": "0.05", "PW_RETRY_MAX_WAIT": "0.5",
    "SF_READ_TIMEOUT": "5", "SF_CONNECT_TIMEOUT": "5",
}
TIMEOUT_LATENCY = 6.0  # seconds: beyond the drill's client timeouts
TIMEOUT_OPERATIONS = ("getLeases", "getWorkOrders")  # reads that time out a few times per drill


@dataclass(frozen=True)
class FaultProfile:
    rate: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"--fault-rate must be between 0 and 1, got {self.rate}")

    def apply(self, sims) -> None:
        """Install the profile on both simulators (replacing any earlier one)."""
        sims.pw.faults.clear()
        sims.pw.faults.configure("*", seed=self.seed, **{k: self.rate * s for k, s in PW_SHARES.items()})
        for operation in TIMEOUT_OPERATIONS:
            sims.pw.faults.configure(operation, latency=TIMEOUT_LATENCY, times=2,
                                     **{k: self.rate * s for k, s in PW_SHARES.items()})
        sims.sf.faults.configure(seed=self.seed, **{k: self.rate * s for k, s in SF_PRE_SHARES.items()},
                                 **{k: min(1.0, 2 * self.rate) * s for k, s in SF_COMMIT_SHARES.items()})

    @staticmethod
    def clear(sims) -> None:
        sims.pw.faults.clear()
        sims.sf.faults.clear()

    @staticmethod
    def fired(sims) -> dict[str, int]:
        """Faults injected so far, by kind, across both simulators."""
        sf = {f"sf.{k}": v for k, v in sims.sf.faults.fired_counts().items()}
        pw = {f"pw.{p['operation']}": p["injected"] for p in sims.pw.faults.profiles() if p["injected"]}
        return {**pw, **sf}


class Disturbances:
    """Plays bursts while a sync runs: every 5–20 ServiceFusion requests it either revokes every token
    (the client must re-authenticate once and replay) or squeezes the allowance to a two-request bucket
    (same refill rate) for a moment: a 429 storm the client must wait out."""

    def __init__(self, sims, *, seed: int, every: tuple[int, int] = (5, 20), storm_s: float = 1.0) -> None:
        self.sims = sims
        self.rng = random.Random(seed)
        self.every = every
        self.storm_s = storm_s
        self.counts = {"token_revocations": 0, "rate_storms": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sf_requests(self) -> int:
        return sum(self.sims.sf.request_counts().values())

    def _loop(self) -> None:
        limiter = self.sims.sf.rate_limiter
        next_at = self._sf_requests() + self.rng.randint(*self.every)
        while not self._stop.wait(0.05):
            if self._sf_requests() < next_at:
                continue
            if self.rng.random() < 0.5:
                self.sims.sf.oauth.revoke_all()
                self.counts["token_revocations"] += 1
            else:
                limit, window = limiter.limit, limiter.window
                # Same refill rate, a two-request bucket: bursts hit 429 and short Reset waits.
                limiter.configure(limit=2, window=window * 2 / limit)
                self.counts["rate_storms"] += 1
                self._stop.wait(self.storm_s)
                limiter.configure(limit=limit, window=window)
            next_at = self._sf_requests() + self.rng.randint(*self.every)

    def __enter__(self) -> Disturbances:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="chaos-disturbances", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
