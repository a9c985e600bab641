"""The outbox: every intended write to PropertyWare or ServiceFusion as a keyed row, planned once, sent
once, with retries, a dead letter staff can retry or ignore, and recovery of writes whose outcome is
unknown (design §Push; business rules R35).

Planning (``plan``) upserts a row by its deterministic key in the caller's transaction. Sending
(``Sender.drain``) claims rows one at a time with a conditional UPDATE, marks them ambiguous before the
write, and settles them after; a row claimed again while ambiguous is looked up on the remote first.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Min
from django.utils import timezone

from sync.engine.context import CircuitOpen, StepContext
from sync.errors import (
    AmbiguousWriteError,
    DuplicateRecord,
    IntegrationError,
    PermanentError,
    RemoteValidationError,
)
from sync.loaders.rows import chunks
from sync.models import OutboxItem
from sync.policies.flags import record_push_outcome

__all__ = [
    "Conflict",
    "Hold",
    "Ignore",
    "is_remote_id",
    "Sender",
    "WriteHandler",
    "hold_again",
    "ignore_items",
    "mock_id",
    "plan",
    "plan_write",
    "retry_items",
    "settle_found",
    "settle_unneeded",
]

logger = logging.getLogger("sync.outbox.core")
State = OutboxItem.State

# Lane workers with nothing to send wait on their Sender's condition; a row planned for sending wakes
# them once its transaction commits, so they need not keep querying for work while planning goes on.
_waiting_lanes: set[threading.Condition] = set()
_waiting_lanes_lock = threading.Lock()


def _wake_lanes() -> None:
    with _waiting_lanes_lock:
        conditions = list(_waiting_lanes)
    for condition in conditions:
        with condition:
            condition.notify_all()


class Hold(Exception):
    """The write must not happen now (conflict, failed safety check): hold it for staff, never retry."""


class Conflict(Hold):
    """The remote disagrees in a way only staff can settle (R29): held for review, never re-planned."""


class Ignore(Exception):
    """The write is not needed (e.g. the record already exists): settle the row without writing."""

    def __init__(self, reason: str, result: dict | None = None) -> None:
        super().__init__(reason)
        self.result = result or {}


def mock_id(key: str) -> str:
    """The id a dry run reports for a write it did not make."""
    return f"MOCK-{key}"


def is_remote_id(ctx, value) -> bool:
    """A real remote id (or, in a dry run, the MOCK id of a record the dry run planned)."""
    return isinstance(value, int) or (ctx.dry_run and str(value).startswith("MOCK-"))


def plan(
    key: str,
    kind: str,
    payload: dict,
    *,
    run_id: int | None,
    dry_run: bool,
    context: dict | None = None,
    hold_reason: str = "",
) -> tuple[OutboxItem, str]:
    """Upsert the row for one intended write; returns (row, outcome).

    outcome: "planned", "held", "dry_run", or "settled" when the row was already sent, dead, ignored or
    mid-send (those are never re-planned; staff retry dead ones). A dry run only creates or refreshes
    dry-run rows and leaves rows of real runs alone. Call inside the transaction of the warehouse state
    the write comes from.
    """
    now = timezone.now()
    context = context or {}
    row = OutboxItem.objects.select_for_update().filter(key=key).first()
    if row is not None and (row.state in OutboxItem.SETTLED or row.review):
        return row, "settled"
    if dry_run:
        if row is not None and row.state != State.DRY_RUN:
            return row, "settled"  # a real run planned it: a dry run does not touch it
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.DRY_RUN,
            "hold_reason": hold_reason,
            "result": {} if hold_reason else {"id": mock_id(key)},
            "run_id": run_id,
            "updated_at": now,
        }
        outcome = "held" if hold_reason else "dry_run"
    elif hold_reason:
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.HELD,
            "hold_reason": hold_reason,
            "run_id": run_id,
            "updated_at": now,
            "result": {},
        }
        outcome = "held"
    else:
        keep_failed = row is not None and row.state == State.FAILED
        values = {
            "kind": kind,
            "payload": payload,
            "context": context,
            "state": State.FAILED if keep_failed else State.PLANNED,
            "hold_reason": "",
            "run_id": run_id,
            "updated_at": now,
            "result": {},
        }
        if row is not None and row.state == State.DRY_RUN:
            values["attempts"] = 0
        outcome = "planned"
    if row is None:
        row = OutboxItem.objects.create(key=key, **values)
    else:
        changed = [k for k, v in values.items() if getattr(row, k) != v and k != "updated_at"]
        if changed:
            for k, v in values.items():
                setattr(row, k, v)
            row.save(update_fields=list(values))
    if outcome == "planned":
        transaction.on_commit(_wake_lanes)
    return row, outcome


def settle_unneeded(key: str, reason: str) -> int:
    """A planned or held write turned out unnecessary (e.g. the record was matched): ignore it."""
    return OutboxItem.objects.filter(key=key, state__in=[State.PLANNED, State.HELD, State.FAILED]).update(
        state=State.IGNORED, hold_reason=reason, updated_at=timezone.now()
    )


def settle_found(key: str, result: dict) -> int:
    """An earlier, interrupted write of ours turned out to have happened (found by a read): sent."""
    now = timezone.now()
    return (
        OutboxItem.objects.filter(key=key, ambiguous=True)
        .exclude(state=State.SENT)
        .update(
            state=State.SENT,
            ambiguous=False,
            result={**result, "recovered": True},
            sent_at=now,
            updated_at=now,
            hold_reason="",
            next_attempt_at=None,
        )
    )


def hold_again(ctx, kind: str, rows: list[tuple[str, dict, dict, str]]) -> list[tuple[str, dict, dict, str]]:
    """Rows a step holds on every run until staff or the data change something: (key, payload, context,
    hold reason). Those whose row already holds exactly that (held, not in review, nothing sent) become
    this run's held rows in one UPDATE, as ``plan`` would leave them; the rest are returned, for ``plan``
    one by one. A dry run returns them all."""
    if ctx.dry_run or not rows:
        return rows
    wanted = {key: (payload, context, reason) for key, payload, context, reason in rows}
    same: list[str] = []
    for part in chunks(wanted, 500):  # well under SQLite's variable limit
        found = OutboxItem.objects.filter(key__in=part, kind=kind, state=State.HELD, review=False).values(
            "key", "payload", "context", "hold_reason", "result"
        )
        same += [
            r["key"]
            for r in found
            if not r["result"] and (r["payload"], r["context"], r["hold_reason"]) == wanted[r["key"]]
        ]
    now = timezone.now()
    for part in chunks(same, 500):
        OutboxItem.objects.filter(key__in=part, state=State.HELD).update(run_id=ctx.run_id, updated_at=now)
    if same:
        ctx.count("held", len(same))
    done = set(same)
    return [row for row in rows if row[0] not in done]


def plan_write(
    ctx, key: str, kind: str, payload: dict, *, context: dict | None = None, hold_reason: str = ""
) -> tuple[OutboxItem, str]:
    """``plan`` for a step (its run, its dry-run flag), counting the outcome on the step."""
    row, outcome = plan(
        key, kind, payload, run_id=ctx.run_id, dry_run=ctx.dry_run, context=context, hold_reason=hold_reason
    )
    ctx.count({"planned": "planned", "held": "held", "dry_run": "planned"}.get(outcome, "already_planned"))
    return row, outcome


def retry_items(items: Iterable[OutboxItem] | Iterable[int]) -> int:
    """Staff: send dead-lettered (or held, or ignored) rows again on the next run."""
    ids = [getattr(i, "pk", i) for i in items]
    return OutboxItem.objects.filter(
        pk__in=ids, state__in=[State.DEAD, State.HELD, State.IGNORED, State.FAILED]
    ).update(
        state=State.PLANNED,
        attempts=0,
        next_attempt_at=None,
        hold_reason="",
        review=False,
        updated_at=timezone.now(),
    )


def ignore_items(items: Iterable[OutboxItem] | Iterable[int], reason: str) -> int:
    """Staff: never send these rows (the reason is kept on the row)."""
    if not (reason or "").strip():
        raise ValueError("a reason is required to ignore an outbox row")
    ids = [getattr(i, "pk", i) for i in items]
    return (
        OutboxItem.objects.filter(pk__in=ids)
        .exclude(state__in=[State.SENT, State.SENDING])
        .update(state=State.IGNORED, hold_reason=reason.strip(), updated_at=timezone.now())
    )


class WriteHandler:
    """How one kind of row is written. Subclasses implement ``send``; the rest is optional."""

    kind: str = ""
    system: str = "sf"
    #: rows worth waiting for before sending, while other lanes may still plan some (a handler that reads
    #: ahead in batches sets it to one batch read's page)
    min_batch: int = 1

    def validate(self, ctx: StepContext, payload: dict, context: dict) -> str:
        """Safe mode: a reason to refuse the write, or "" to allow it (also asked when planning)."""
        return ""

    def recover(self, ctx: StepContext, row: OutboxItem) -> dict | None:
        """An earlier attempt may have written the record: find it on the remote (result) or None."""
        return None

    def send(self, ctx: StepContext, row: OutboxItem) -> dict:
        """Make the write; returns the result to keep (remote ids). Raise Hold/Ignore to settle otherwise."""
        raise NotImplementedError

    def apply(self, ctx: StepContext, row: OutboxItem, result: dict) -> None:
        """Warehouse effects of a successful write; runs in the transaction that marks the row sent."""


def _backoff(attempts: int) -> float:
    # Exponential with jitter, capped: retries of one record spread out and never exceed the cap.
    base = float(settings.SYNC["OUTBOX_BACKOFF_BASE"])
    cap = float(settings.SYNC["OUTBOX_BACKOFF_MAX"])
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)


class Sender:
    """Drains due rows of some kinds, one at a time per system (each client paces its own requests).

    Rows for different systems go out in parallel lanes, one thread per system, so PropertyWare
    write-backs proceed while ServiceFusion creates wait for their rate-limit allowance (R1 orders the
    steps; within a step the two systems do not wait for each other). Lanes need their own database
    connections, which only see committed rows: inside a caller's transaction, and on SQLite (one writer
    at a time), the lanes take turns in one thread instead.
    """

    #: seconds an idle lane waits before looking for rows another lane may have planned for it (each look
    #: is a query; the lanes share the interpreter with the ones sending and planning, so they must not
    #: spin): a planned row wakes them at once (``_wake_lanes``), this is for rows planned elsewhere
    IDLE_POLL = 1.0
    #: seconds between looks while a lane gathers a batch, and the longest it gathers before sending fewer
    BATCH_POLL = 0.25
    BATCH_WAIT_MAX = 5.0

    def __init__(self, ctx: StepContext, handlers: Iterable[WriteHandler]) -> None:
        self.ctx = ctx
        self.handlers = {h.kind: h for h in handlers}
        self.max_attempts = max(1, int(settings.SYNC["OUTBOX_MAX_ATTEMPTS"]))
        self.max_wait = float(settings.SYNC["OUTBOX_WAIT_MAX"])
        self.counts: Counter = Counter()
        self._counts_lock = threading.Lock()
        self._abort = threading.Event()  # the planning that feeds the lanes failed: stop sending
        # Idle lane workers wait on this; the planner's end wakes them at once rather than a poll later.
        self._wake = threading.Condition()

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
        planning = threading.Event()
        planning.set()
        failure: list[BaseException] = []

        def send() -> None:
            try:
                self.drain(count_as=count_as, planning=planning)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the planning thread
                failure.append(exc)
            finally:
                connections.close_all()

        sender = threading.Thread(target=send, name="outbox-sender", daemon=True)
        sender.start()
        try:
            yield self
        except BaseException:
            with self._wake:
                self._abort.set()
                self._wake.notify_all()
            raise
        finally:
            with self._wake:
                planning.clear()
                self._wake.notify_all()
            sender.join()
        if failure:
            raise failure[0]

    def drain(
        self,
        *,
        keys: Iterable[str] | None = None,
        count_as: str = "sent",
        planning: threading.Event | None = None,
    ) -> Counter:
        """Send every due row of the handled kinds (optionally only ``keys``), waiting out short backoffs.

        ``planning``: while set, rows may still be planned, so idle lanes wait instead of finishing. The
        outcomes are added to the step's counts (rows sent counted as ``count_as``, dead ones as
        "failed") and returned.
        """
        rows = OutboxItem.objects.filter(kind__in=list(self.handlers))
        if keys is not None:
            rows = rows.filter(key__in=list(keys))
        lanes: dict[str, list[str]] = {}
        for kind, handler in self.handlers.items():
            lanes.setdefault(handler.system, []).append(kind)
        try:
            if planning is None and self._nothing_to_send(rows):
                return self.counts  # no lanes to start (most quiet runs)
            parallel = len(lanes) > 1 or any(self._workers_for(system) > 1 for system in lanes)
            if (parallel or planning is not None) and self._lanes_may_run_apart():
                self._drain_lanes(rows, lanes, planning)
            else:
                self._drain_rows(rows)
        finally:
            names = {"sent": count_as, "dead": "failed", "held": "held_at_send"}
            for key, value in self.counts.items():
                self.ctx.count(names.get(key, key), value)
        return self.counts

    @staticmethod
    def _lanes_may_run_apart() -> bool:
        return connection.vendor != "sqlite" and not connection.in_atomic_block

    def _nothing_to_send(self, rows) -> bool:
        """No row is due, and no retry falls due soon enough for this run to wait for it."""
        return not rows.due().exists() and self._retry_wait(rows) is None

    def _retry_wait(self, rows) -> float | None:
        """Seconds until the soonest retry of ``rows`` when it is due within ``OUTBOX_WAIT_MAX`` (this
        run waits for it), else None (it goes to a later run)."""
        soonest = rows.filter(state=State.FAILED).aggregate(t=Min("next_attempt_at"))["t"]
        wait = (soonest - timezone.now()).total_seconds() if soonest else None
        return wait if wait is not None and wait <= self.max_wait else None

    def _drain_rows(self, rows) -> None:
        while True:
            due = list(rows.due().order_by("id").values_list("pk", flat=True)[:500])
            if not due:
                wait = self._retry_wait(rows)
                if wait is not None:
                    time.sleep(max(0.0, wait))
                    continue
                return
            for pk in due:
                self._send_one(pk)

    def _drain_lanes(self, rows, lanes: dict[str, list[str]], planning: threading.Event | None) -> None:
        """Threads per lane (``SYNC_PW_WRITE_WORKERS`` for PropertyWare, one for ServiceFusion, whose
        allowance is per token); a worker with nothing due waits until every worker is idle and nothing
        is due for any of them, since a busy lane may still plan rows for another (job → its PW link).

        Several workers of one lane split its rows by work order (``context.work_order_id``), so writes
        to one work order keep their order and never race each other's read-modify-write.
        """
        workers = [
            (kinds, part, parts)
            for system, kinds in lanes.items()
            for parts in [self._workers_for(system)]
            for part in range(parts)
        ]
        state = self._wake
        busy = dict.fromkeys(range(len(workers)), True)
        stop: list[BaseException] = []

        def due_for(kinds: list[str], part: int, parts: int) -> list[int]:
            due = rows.filter(kind__in=kinds).due().order_by("id")
            if parts == 1:
                return list(due.values_list("pk", flat=True)[:500])
            return [
                pk
                for pk, wo_id in due.values_list("pk", "context__work_order_id")[:500]
                if int(wo_id or 0) % parts == part
            ]

        def idle_until_work(worker: int, kinds, part, parts) -> bool:
            """Wait as an idle worker; True when rows are due for it, False when draining is over."""
            with state:
                busy[worker] = False
                state.notify_all()
            while True:
                with state:
                    if stop or self._abort.is_set():
                        return False
                    if not any(busy.values()) and not (planning is not None and planning.is_set()):
                        if self._nothing_to_send(rows):
                            stop.append(StopIteration())
                            state.notify_all()
                            return False
                    if due_for(kinds, part, parts):
                        busy[worker] = True
                        return True
                    state.wait(self.IDLE_POLL)

        lane_of = [kinds[0] for kinds, _, _ in workers]
        min_batch = {
            kinds[0]: max(getattr(self.handlers[k], "min_batch", 1) for k in kinds) for kinds, _, _ in workers
        }

        def gather_batch(kinds: list[str], since: float) -> bool:
            """Whether to wait for more rows before sending: the lane's handlers read ahead in batches
            (``min_batch``), fewer are due, another lane or the planner may still add some, and the first
            due row has not waited ``BATCH_WAIT_MAX`` yet."""
            if min_batch[kinds[0]] <= 1 or time.monotonic() - since > self.BATCH_WAIT_MAX:
                return False
            others = any(busy[w] for w in busy if lane_of[w] != kinds[0])
            if not others and not (planning is not None and planning.is_set()):
                return False
            return rows.filter(kind__in=kinds).due().count() < min_batch[kinds[0]]

        def run_worker(worker: int, kinds: list[str], part: int, parts: int) -> None:
            mine = rows.filter(kind__in=kinds)
            first_due: float | None = None
            try:
                while not stop and not self._abort.is_set():
                    due = due_for(kinds, part, parts)
                    if due:
                        first_due = first_due or time.monotonic()
                        if gather_batch(kinds, first_due):
                            time.sleep(self.BATCH_POLL)
                            continue
                        first_due = None
                        for pk in due:
                            if stop or self._abort.is_set():
                                return
                            self._send_one(pk)
                        continue
                    wait = self._retry_wait(mine)
                    if wait is not None:
                        time.sleep(max(0.0, min(wait, 1.0)))
                        continue
                    if not idle_until_work(worker, kinds, part, parts):
                        return
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                with state:
                    stop.insert(0, exc)
                    state.notify_all()
            finally:
                connections.close_all()  # this thread's own connection

        threads = [
            threading.Thread(
                target=run_worker, args=(i, *worker), name=f"outbox-{worker[0][0]}-{i}", daemon=True
            )
            for i, worker in enumerate(workers)
        ]
        with _waiting_lanes_lock:
            _waiting_lanes.add(state)
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            with _waiting_lanes_lock:
                _waiting_lanes.discard(state)
        if stop and not isinstance(stop[0], StopIteration):
            raise stop[0]

    @staticmethod
    def _workers_for(system: str) -> int:
        if system == "pw":
            return max(1, int(settings.SYNC.get("PW_WRITE_WORKERS", 1)))
        return 1

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] += 1

    def _send_one(self, pk: int) -> None:
        ctx = self.ctx
        before = OutboxItem.objects.filter(pk=pk).values("ambiguous", "state").first()
        if before is None or not OutboxItem.objects.claim(pk, run_id=ctx.run_id):
            return  # gone, or another sender took it
        row = OutboxItem.objects.get(pk=pk)
        handler = self.handlers[row.kind]
        try:
            # A write that may have happened is looked for first: found, it is settled whatever else
            # has changed since.
            result = handler.recover(ctx, row) if before["ambiguous"] else None
            if result is not None:
                result = {**result, "recovered": True}
                self._count("recovered")
            else:
                if ctx.flags.safe_mode:
                    reason = handler.validate(ctx, row.payload, row.context)
                    if reason:
                        raise Hold(f"safe mode: {reason}")
                result = handler.send(ctx, row)
        except Hold as exc:
            self._settle(row, State.HELD, hold_reason=str(exc), review=isinstance(exc, Conflict))
            ctx.error(
                f"outbox.{row.kind}",
                str(exc),
                recovery="held for review; not retried",
                record_key=row.key,
                system=handler.system,
                with_stack=False,
            )
            self._count("held")
            return
        except Ignore as exc:
            self._settle(row, State.IGNORED, hold_reason=str(exc), result=exc.result)
            self._count("ignored")
            return
        except DuplicateRecord as exc:
            # R34: the remote says it already has this record: the dedup handler skips it.
            self._settle(row, State.IGNORED, hold_reason=f"duplicate: {exc}")
            ctx.error(
                f"outbox.{row.kind}",
                exc,
                recovery="treated as duplicate; skipped",
                record_key=row.key,
                system=handler.system,
                with_stack=False,
            )
            self._count("ignored")
            return
        except (RemoteValidationError, PermanentError) as exc:
            self._fail(row, handler, exc, dead=True, ambiguous=False)
            return
        except (AmbiguousWriteError, IntegrationError) as exc:
            # Ambiguous: the write may have happened, so the row stays ambiguous for the next attempt.
            self._fail(
                row,
                handler,
                exc,
                dead=row.attempts >= self.max_attempts,
                ambiguous=isinstance(exc, AmbiguousWriteError),
            )
            if exc.retryable or isinstance(exc, AmbiguousWriteError):
                ctx.network_failed(exc)  # may raise CircuitOpen: the step stops, rows stay for later
            return
        except CircuitOpen:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad record never stops the run
            self._fail(row, handler, exc, dead=True, ambiguous=True)
            return
        with transaction.atomic():
            handler.apply(ctx, row, result)
            self._settle(row, State.SENT, result=result)
        ctx.network_ok()
        record_push_outcome(True)
        self._count("sent")

    def _settle(
        self,
        row: OutboxItem,
        state: str,
        *,
        hold_reason: str = "",
        result: dict | None = None,
        review: bool = False,
    ) -> None:
        now = timezone.now()
        values = {
            "state": state,
            "ambiguous": False,
            "updated_at": now,
            "next_attempt_at": None,
            "review": review,
        }
        if hold_reason:
            values["hold_reason"] = hold_reason
        if result is not None:
            values["result"] = result
        if state == State.SENT:
            values["sent_at"] = now
            values["last_error"] = ""
        OutboxItem.objects.filter(pk=row.pk).update(**values)

    def _fail(
        self, row: OutboxItem, handler: WriteHandler, exc: BaseException, *, dead: bool, ambiguous: bool
    ) -> None:
        now = timezone.now()
        state = State.DEAD if dead else State.FAILED
        OutboxItem.objects.filter(pk=row.pk).update(
            state=state,
            ambiguous=ambiguous,
            last_error=f"{type(exc).__name__}: {exc}"[:4000],
            updated_at=now,
            next_attempt_at=None if dead else now + timedelta(seconds=_backoff(row.attempts)),
        )
        recovery = (
            "dead letter: staff may retry or ignore it"
            if dead
            else f"retry {row.attempts + 1} of {self.max_attempts} after backoff"
            + ("; looked up before writing again" if ambiguous else "")
        )
        self.ctx.error(
            f"outbox.{row.kind}",
            exc,
            recovery=recovery,
            record_key=row.key,
            system=handler.system,
            with_stack=not isinstance(exc, IntegrationError),
        )
        self._count("dead" if dead else "retried")
        record_push_outcome(False, detail=f"{row.key}: {exc}")
