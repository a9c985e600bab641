"""Sending one outbox row: claim it, look an ambiguous earlier write up before writing again (R35), write,
then settle it as sent, held, ignored (a duplicate, R34), retried after backoff or dead-lettered.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sync.engine.context import CircuitOpen, StepContext
from sync.errors import (
    AmbiguousWriteError,
    DuplicateRecord,
    IntegrationError,
    PermanentError,
    RemoteValidationError,
)
from sync.models import OutboxItem
from sync.outbox.protocol import Conflict, Hold, Ignore, WriteHandler
from sync.policies.flags import record_push_outcome

__all__ = ["Delivery", "backoff"]

State = OutboxItem.State


def backoff(attempts: int) -> float:
    """Seconds before retry ``attempts`` + 1: exponential with jitter, capped, so retries of one record
    spread out and never exceed the cap."""
    base = float(settings.SYNC["OUTBOX_BACKOFF_BASE"])
    cap = float(settings.SYNC["OUTBOX_BACKOFF_MAX"])
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)


class Delivery:
    """Sends rows one at a time for a step, from any thread, and tallies the outcomes."""

    def __init__(self, ctx: StepContext, handlers: dict[str, WriteHandler]) -> None:
        self.ctx = ctx
        self.handlers = handlers
        self.max_attempts = max(1, int(settings.SYNC["OUTBOX_MAX_ATTEMPTS"]))
        self.counts: Counter = Counter()
        self._counts_lock = threading.Lock()

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] += 1

    def send_one(self, pk: int) -> None:
        """Claim row ``pk`` and write it, unless it is gone or another sender took it first.

        Raises CircuitOpen when failures on the network reach the step's limit: the row stays for later.
        """
        ctx = self.ctx
        before = OutboxItem.objects.filter(pk=pk).values("ambiguous", "state").first()
        if before is None or not OutboxItem.objects.claim(pk, run_id=ctx.run_id):
            return
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
            next_attempt_at=None if dead else now + timedelta(seconds=backoff(row.attempts)),
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
