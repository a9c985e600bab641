"""``Refused``: where a pull step sends the records a client could not parse: an error_logs row each (with
the record's excerpt), and the cursor held so that the next pass reads them again."""

from __future__ import annotations

from datetime import datetime

from sync.errors import MalformedRecord


class Refused:
    """Pass as a client listing's ``on_malformed``; ask ``synced_to`` where the cursor may move at the end."""

    def __init__(self, ctx, stream: str) -> None:
        self.ctx = ctx
        self.stream = stream
        self.count = 0
        #: the earliest modified time among the refused records (None: none, or one had no readable time)
        self.hold: datetime | None = None
        self._blind = False

    def __call__(self, bad: MalformedRecord) -> None:
        self.count += 1
        self.ctx.count(f"{self.stream}_malformed")
        self.ctx.error(
            f"{self.ctx.name}:{self.stream}",
            bad,
            recovery="record skipped; the cursor stays before it, so the next run reads it again",
            record_key=bad.record_key,
            system=bad.system,
            with_stack=False,
        )
        if bad.modified is None:
            self._blind = True
        elif self.hold is None or bad.modified < self.hold:
            self.hold = bad.modified

    def full(self, full: bool) -> bool:
        """Whether a --full merge may still tombstone what it did not see: not when a record was refused
        (it exists; it only could not be read)."""
        return full and not self.count

    def synced_to(self, moved_to: datetime | None) -> datetime | None:
        """Where the cursor may move: ``moved_to``, unless a refused record lies behind it; then to that
        record's own time, or nowhere (None keeps the cursor) when a refused record's time is unknown."""
        if not self.count:
            return moved_to
        if self._blind or self.hold is None or moved_to is None:
            return None
        return min(moved_to, self.hold)
