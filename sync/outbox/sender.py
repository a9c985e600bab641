"""Draining the outbox: due rows go out through one thread pool per system, sized to its rate limit,
rows of one work order in order, while the step may still be planning more (design §Push).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connection, connections
from django.db.models import Min
from django.utils import timezone

from sync.engine.budget import OutOfBudget
from sync.engine.context import StepContext
from sync.models import OutboxItem
from sync.outbox.delivery import Delivery
from sync.outbox.protocol import WriteHandler, row_planned

__all__ = ["Sender"]

State = OutboxItem.State
#: rows one look hands to a system's lanes
LOOK_AHEAD = 500

Lane = tuple[str, int]  # (system, share of its rows)


class Sender:
    """Sends the due rows of some kinds; rows for different systems go out in parallel.

    Each system has a ThreadPoolExecutor: one thread for ServiceFusion (its allowance is per token),
    ``SYNC_PW_WRITE_WORKERS`` for PropertyWare (all under the client's ``PW_MAX_RPS`` cap), so
    PropertyWare write-backs proceed while ServiceFusion creates wait for their allowance (R1 orders the
    steps; within a step the two systems do not wait for each other). A system's rows are split into
    lanes by work order (``context.work_order_id``), one lane per thread, and a lane sends one batch at a
    time in id order, so writes to one work order keep their order and never race each other's
    read-modify-write. The pools' threads have their own database connections, which see committed rows
    only: inside a caller's transaction, and on SQLite (one writer at a time), rows go out one by one in
    the calling thread instead. A run that has only a share of a system's allowance (a light run of the
    freshness mode) sends that system's rows while ``ctx.may_write`` allows; the rest stay planned,
    unclaimed, for a later run.
    """

    #: seconds the sender waits, with nothing to do, before looking for rows another process may have
    #: planned; a row planned in this process (``row_planned``) and every finished batch wake it at once
    IDLE_POLL = 1.0
    #: the longest a lane of a handler that reads ahead in batches (``min_batch``) holds its first due row
    #: back, while other lanes or the planner may still add rows to fill the batch
    BATCH_WAIT_MAX = 5.0

    def __init__(self, ctx: StepContext, handlers: Iterable[WriteHandler]) -> None:
        self.ctx = ctx
        self.handlers = {h.kind: h for h in handlers}
        self.delivery = Delivery(ctx, self.handlers)
        self.max_wait = float(settings.SYNC["OUTBOX_WAIT_MAX"])
        self._wake = threading.Event()  # something changed: look for due rows again
        self._abort = threading.Event()  # stop sending after the rows under way
        self._planning = threading.Event()  # set while rows may still be planned

    @property
    def counts(self) -> Counter:
        return self.delivery.counts

    @contextlib.contextmanager
    def sending_while_planning(self, *, count_as: str = "sent") -> Iterator[Sender]:
        """Send rows while the caller's block plans them (each plan committed on its own), so the remote
        systems are busy from the first planned row; when the block ends, every due row is sent.

        Where lanes cannot run apart (SQLite, inside a transaction) the rows are sent after the block.
        If the block raises, sending stops after the rows under way and the error goes on.
        """
        if not self._lanes_may_run_apart():
            yield self
            self.drain(count_as=count_as)
            return
        self._planning.set()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-sender") as pool:
            sending = pool.submit(self._drain_in_thread, count_as)
            try:
                yield self
            except BaseException:
                self._abort.set()
                raise
            finally:
                self._planning.clear()
                self._wake.set()
                error = sending.exception()  # waits for the rows under way
            if error is not None:
                raise error
            # Rows planned after the sender stopped for the budget are left too.
            self._stop_if_out_of_budget(OutboxItem.objects.filter(kind__in=list(self.handlers)))

    def _drain_in_thread(self, count_as: str) -> None:
        try:
            self.drain(count_as=count_as)
        finally:
            connections.close_all()  # this thread's own connection

    def drain(self, *, keys: Iterable[str] | None = None, count_as: str = "sent") -> Counter:
        """Send every due row of the handled kinds (optionally only ``keys``), waiting out short backoffs.

        The outcomes are added to the step's counts (rows sent counted as ``count_as``, dead ones as
        "failed") and returned.
        """
        rows = OutboxItem.objects.filter(kind__in=list(self.handlers))
        if keys is not None:
            rows = rows.filter(key__in=list(keys))
        try:
            planning = self._planning.is_set()
            if not planning and self._nothing_to_send(rows):
                return self.counts  # no lanes to start (most quiet runs)
            parallel = len(self._systems()) > 1 or any(self._workers_for(s) > 1 for s in self._systems())
            if (parallel or planning) and self._lanes_may_run_apart():
                self._send_in_lanes(rows)
            else:
                self._send_in_turn(rows)
            self._stop_if_out_of_budget(rows)
        finally:
            names = {"sent": count_as, "dead": "failed", "held": "held_at_send"}
            for key, value in self.counts.items():
                self.ctx.count(names.get(key, key), value)
        return self.counts

    def _out_of_budget(self) -> bool:
        """The run's budget ran out: no row is claimed any more (rows under way finish)."""
        return self.ctx.budget.exhausted()

    def _stop_if_out_of_budget(self, rows) -> None:
        """Rows left for the continuation once the budget ran out: the step ends "partial", not
        "succeeded", so the run is continued rather than counted done."""
        if self._out_of_budget() and not self._nothing_to_send(rows):
            raise OutOfBudget(self.ctx.budget.reason)

    # --- where rows may go out -------------------------------------------------------------------------
    @staticmethod
    def _lanes_may_run_apart() -> bool:
        return connection.vendor != "sqlite" and not connection.in_atomic_block

    def _systems(self) -> dict[str, list[str]]:
        """The kinds handled, by the system they are written to."""
        systems: dict[str, list[str]] = {}
        for kind, handler in self.handlers.items():
            systems.setdefault(handler.system, []).append(kind)
        return systems

    @staticmethod
    def _workers_for(system: str) -> int:
        if system == "pw":
            return max(1, int(settings.SYNC.get("PW_WRITE_WORKERS", 1)))
        return 1

    def _nothing_to_send(self, rows) -> bool:
        """No row is due, and no retry falls due soon enough for this run to wait for it."""
        return not rows.due().exists() and self._retry_wait(rows) is None

    def _retry_wait(self, rows) -> float | None:
        """Seconds until the soonest retry of ``rows`` when it is due within ``OUTBOX_WAIT_MAX`` (this
        run waits for it), else None (it goes to a later run)."""
        soonest = rows.filter(state=State.FAILED).aggregate(t=Min("next_attempt_at"))["t"]
        wait = (soonest - timezone.now()).total_seconds() if soonest else None
        return wait if wait is not None and wait <= self.max_wait else None

    # --- one thread ------------------------------------------------------------------------------------
    def _send_in_turn(self, rows) -> None:
        spent: set[str] = set()  # systems whose share of the allowance this run has used up
        while not self._out_of_budget():
            due = [(pk, kind) for pk, kind in rows.due().order_by("id").values_list("pk", "kind")[:LOOK_AHEAD]
                   if self.handlers[kind].system not in spent]
            if not due:
                wait = self._retry_wait(rows)
                if wait is None or spent:
                    return
                time.sleep(max(0.0, wait))
                continue
            for pk, kind in due:
                if self._out_of_budget():
                    return
                system = self.handlers[kind].system
                if system in spent or not self.ctx.may_write(system):
                    spent.add(system)  # the row stays planned, unclaimed, for a later run
                    continue
                self.delivery.send_one(pk)

    # --- a pool per system -----------------------------------------------------------------------------
    def _send_in_lanes(self, rows) -> None:
        """Hand each idle lane its due rows as one batch, until no lane is sending, planning is over and
        nothing is due (a busy lane may still plan rows for another: a job created plans its PW link).

        This thread only looks and hands out; it waits for a wake-up (a row planned, a batch finished,
        planning over) or for the next retry, batch deadline or idle look, whichever comes first.
        """
        systems = self._systems()
        running: dict[Lane, Future] = {}
        gathering_since: dict[str, float] = {}
        failure: BaseException | None = None
        row_planned.connect(self._on_planned)
        try:
            with contextlib.ExitStack() as pools:
                executors = {
                    system: pools.enter_context(
                        ThreadPoolExecutor(self._workers_for(system), thread_name_prefix=f"outbox-{system}")
                    )
                    for system in systems
                }
                try:
                    while not self._abort.is_set() and not self._out_of_budget():
                        self._wake.clear()
                        failure = self._finished(running)
                        if failure is not None:
                            break
                        timeout = self.IDLE_POLL
                        for system, kinds in systems.items():
                            wait = self._hand_out(system, kinds, rows, running, executors, gathering_since)
                            timeout = min(timeout, wait)
                        if not running and not self._planning.is_set():
                            if self._wake.is_set():
                                # A row planned or the end of planning since the look above: the look
                                # may have missed rows committed just before planning ended.
                                continue
                            if self._retry_wait(rows) is None:
                                break  # nothing sending, nothing to plan, nothing due soon
                        self._wake.wait(max(0.0, timeout))
                finally:
                    self._abort.set()  # on the way out (done or failed), lanes stop between rows
        finally:
            row_planned.disconnect(self._on_planned)
        failure = failure or self._finished(running)
        if failure is not None:
            raise failure

    def _on_planned(self, **kwargs) -> None:
        self._wake.set()

    def _finished(self, running: dict[Lane, Future]) -> BaseException | None:
        """Forget the lanes whose batch is done; the first error one raised, if any."""
        failure = None
        for lane, future in list(running.items()):
            if future.done():
                del running[lane]
                failure = failure or future.exception()
        return failure

    def _hand_out(
        self,
        system: str,
        kinds: list[str],
        rows,
        running: dict[Lane, Future],
        executors: dict[str, ThreadPoolExecutor],
        gathering_since: dict[str, float],
    ) -> float:
        """Submit the due rows of ``system`` to its idle lanes; returns how long the caller may wait
        before this system needs another look (a retry or a batch falling due)."""
        if not self.ctx.may_write(system):
            return self.IDLE_POLL  # this run's share of the allowance is spent: its rows wait, unclaimed
        parts = self._workers_for(system)
        idle = [part for part in range(parts) if (system, part) not in running]
        if not idle:
            return self.IDLE_POLL  # a finished batch wakes the caller
        mine = rows.filter(kind__in=kinds)
        due = list(mine.due().order_by("id").values_list("pk", "context__work_order_id")[:LOOK_AHEAD])
        if not due:
            gathering_since.pop(system, None)
            wait = self._retry_wait(mine)
            return self.IDLE_POLL if wait is None else wait
        hold_for = self._gather(system, kinds, len(due), running, gathering_since)
        if hold_for > 0:
            return hold_for
        gathering_since.pop(system, None)
        batches: dict[int, list[int]] = {}
        for pk, work_order_id in due:
            batches.setdefault(int(work_order_id or 0) % parts, []).append(pk)
        for part in idle:
            if batches.get(part):
                future = executors[system].submit(self._send_batch, batches[part], system)
                running[(system, part)] = future
                future.add_done_callback(lambda _: self._wake.set())
        return self.IDLE_POLL

    def _gather(
        self, system: str, kinds: list[str], due: int, running: dict[Lane, Future], since: dict[str, float]
    ) -> float:
        """Seconds to hold ``system``'s due rows back so they go out as fuller batches (0: send now).

        Worth it while its handlers read ahead in batches (``min_batch``), fewer rows are due, another
        system's lanes or the planner may still add rows, and the first due row has not waited
        ``BATCH_WAIT_MAX`` yet.
        """
        wanted = max(self.handlers[kind].min_batch for kind in kinds)
        others_busy = any(lane[0] != system for lane in running)
        if wanted <= 1 or due >= wanted or not (others_busy or self._planning.is_set()):
            return 0.0
        first = since.setdefault(system, time.monotonic())
        return max(0.0, first + self.BATCH_WAIT_MAX - time.monotonic())

    def _send_batch(self, pks: list[int], system: str = "") -> None:
        try:
            for pk in pks:
                if self._abort.is_set() or self._out_of_budget() or not self.ctx.may_write(system):
                    return
                self.delivery.send_one(pk)
        finally:
            # Pool threads outlive the batch but not the drain; each batch returns its connection so none
            # is left open when the pool shuts down.
            connections.close_all()
