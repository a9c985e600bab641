"""What a step receives (``StepContext``): its run and step rows, flags, lazily built metered clients,
counters, its recorded progress, the error log (R37) and the circuit breaker (§10)."""

from __future__ import annotations

import logging
import threading
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sync.clients.stats import request_count
from sync.engine.budget import Budget, Budgeted
from sync.engine.metering import Meter, Metered
from sync.engine.progress import StepProgress
from sync.errors import IntegrationError
from sync.models import SyncError
from sync.observability.metrics import record_client_stats

__all__ = ["CircuitOpen", "Handover", "StepContext", "StepSkipped", "log_error"]

logger = logging.getLogger("sync")


class StepSkipped(Exception):
    """Raised by a step that decides, by the flags, to do nothing (recorded as skipped, not failed)."""


class CircuitOpen(Exception):
    """Too many consecutive network failures: the step stops; its items stay for the next run."""


def log_error(
    function: str,
    error: BaseException | str,
    *,
    recovery: str = "",
    record_key: str = "",
    system: str = "",
    run=None,
    step=None,
    with_stack: bool = True,
):
    """Write one ``error_logs`` row (R37) and log it; never raises."""
    if isinstance(error, BaseException):
        text = f"{type(error).__name__}: {error}"
        stack = "".join(traceback.format_exception(error)) if with_stack else ""
        system = system or getattr(error, "system", "") or ""
    else:
        text, stack = str(error), ""
    logger.warning("%s %s: %s (%s)", function, record_key, text, recovery)
    try:
        return SyncError.objects.create(
            function=function[:128],
            error=text,
            stack=stack,
            recovery_action=recovery[:255],
            system=system[:16],
            record_key=record_key[:200],
            run=run,
            step=step,
        )
    except Exception:  # noqa: BLE001 - the error log must not take the step down with it
        logger.exception("could not record an error for %s", function)
        return None


@dataclass
class StepContext:
    """Everything one step run needs; built by the runner, one per step (and per thread)."""

    run: Any
    step_run: Any
    name: str
    flags: Any
    full: bool = False
    client_factory: Any = None
    #: where this step's PropertyWare calls queue in the shared throttle (pipeline.urgency)
    urgency: int = 0
    #: told of each progress record written (the runner's progress events: step_progress)
    on_progress: Any = None
    #: the run's time budget: paged pulls and the outbox take no new work once it has run out
    budget: Budget = field(default_factory=Budget)
    counts: Counter = field(default_factory=Counter)
    meters: dict[str, Meter] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    _consecutive_failures: int = 0
    # The outbox sends to both systems from parallel threads; Counter's += is not atomic.
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    progress: StepProgress = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.progress = StepProgress(self, on_write=self.on_progress)

    # --- flags ---------------------------------------------------------------------------------------
    @property
    def dry_run(self) -> bool:
        return bool(self.flags.dry_run)

    @property
    def run_id(self) -> int | None:
        return getattr(self.run, "pk", None)

    # --- clients -------------------------------------------------------------------------------------
    def client(self, system: str):
        """The metered client for ``"pw"`` or ``"sf"``, built on first use."""
        if system not in self._clients:
            meter = self.meters.setdefault(system, Meter(system, on_call=self.progress.tick))
            client = self.client_factory(system, urgency=self.urgency)
            if self.budget.may_run_out:
                client = Budgeted(client, self.budget)
            self._clients[system] = Metered(client, meter)
        return self._clients[system]

    @property
    def pw(self):
        return self.client("pw")

    @property
    def sf(self):
        return self.client("sf")

    def may_write(self, system: str) -> bool:
        """Whether the run's share of ``system``'s allowance covers another write: a client factory may
        carry a budget (a light run's, ``sync.engine.sf_share``); without one every write may go."""
        check = getattr(self.client_factory, "may_write", None)
        return True if check is None else bool(check(system))

    def api_calls(self) -> dict[str, Any]:
        out = {}
        for system, meter in self.meters.items():
            snap = meter.snapshot()
            stats = getattr(self._clients.get(system), "client", None)
            stats = getattr(stats, "stats", None)
            if isinstance(stats, dict):
                snap["client_stats"] = _jsonable(stats)
                snap["requests"] = request_count(stats)
            out[system] = snap
        return out

    def final_progress(self) -> dict[str, Any]:
        """What the step did, as its progress record last says it (the run page keeps showing it)."""
        try:
            return self.progress.snapshot()
        except Exception:  # noqa: BLE001 - a display must not fail the step
            logger.debug("final progress of %s not recorded", self.name, exc_info=True)
            return {}

    def close(self) -> None:
        for system, wrapped in self._clients.items():
            stats = getattr(wrapped.client, "stats", None)
            stats = stats() if callable(stats) else stats
            if isinstance(stats, dict):
                try:
                    record_client_stats(system, stats)  # /metrics: API calls by system and outcome
                except ValueError:
                    logger.debug("client stats of %s not counted", system, exc_info=True)
            closer = getattr(wrapped.client, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # noqa: BLE001 - closing is best effort
                    logger.debug("closing a client failed", exc_info=True)

    # --- counting and errors -------------------------------------------------------------------------
    def count(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[key] += n
        self.progress.tick()

    def error(
        self,
        function: str,
        error: BaseException | str,
        *,
        recovery: str = "",
        record_key: str = "",
        system: str = "",
        with_stack: bool = True,
    ):
        self.count("errors")
        return log_error(
            function,
            error,
            recovery=recovery,
            record_key=record_key,
            system=system,
            run=self.run,
            step=self.step_run,
            with_stack=with_stack,
        )

    # --- circuit breaker (§10: abort after N consecutive network failures) ----------------------------
    def network_ok(self) -> None:
        self._consecutive_failures = 0

    def network_failed(self, exc: BaseException) -> None:
        """Count a transient failure; raise CircuitOpen at the limit (flag CIRCUIT_BREAKER_FAILURES)."""
        self._consecutive_failures += 1
        limit = int(getattr(self.flags, "circuit_breaker_failures", 5) or 5)
        if self._consecutive_failures >= limit:
            raise CircuitOpen(
                f"{self._consecutive_failures} consecutive network failures; last: {exc}"
            ) from exc

    @staticmethod
    def is_network_failure(exc: BaseException) -> bool:
        return isinstance(exc, IntegrationError) and exc.retryable


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


class Handover:
    """Finished steps' contexts kept open until a dependent read has joined PropertyWare's throttle.

    A client holds its place in the throttle from its creation to ``close``. Between a chain step's end and
    its dependent's start (the scheduler's turn, a new thread, a StepRun saved) no urgent caller would be
    joined, and a less urgent read running in parallel would take the free slots meanwhile.
    """

    def __init__(self) -> None:
        self._held: dict[str, StepContext] = {}
        self._lock = threading.Lock()

    def hold(self, name: str, ctx: StepContext) -> None:
        with self._lock:
            self._held[name] = ctx

    def release(self, names) -> None:
        """Close the contexts of ``names`` (the steps a read that has now joined waited on)."""
        with self._lock:
            held = [self._held.pop(name) for name in names if name in self._held]
        for ctx in held:
            ctx.close()

    def release_all(self) -> None:
        """At the run's end: dependents that never started (blocked, out of budget) release theirs."""
        with self._lock:
            names = list(self._held)
        self.release(names)
