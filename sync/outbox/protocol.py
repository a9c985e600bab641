"""What a write handler is and how it answers: WriteHandler, the outcomes it may raise (Hold, Conflict,
Ignore), remote-id helpers, and the signal that tells waiting senders a planned row has committed.
"""

from __future__ import annotations

from django.dispatch import Signal

from sync.engine.context import StepContext
from sync.models import OutboxItem

__all__ = ["Conflict", "Hold", "Ignore", "WriteHandler", "is_remote_id", "mock_id", "row_planned"]

#: Sent once the transaction that planned a row for sending commits: a sender waiting for work looks
#: again at once rather than at its next poll.
row_planned = Signal()


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


class WriteHandler:
    """How one kind of row is written. Subclasses implement ``send``; the rest is optional."""

    kind: str = ""
    #: the system written to, "sf" or "pw": the sender sends each system's rows under its own limit
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
