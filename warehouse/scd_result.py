"""What one SCD2 merge reports (counts by outcome) and what it stamps on every version it writes; shared by
the merge and its PostgreSQL strategy."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class MergeResult:
    """How many records of one batch went each way."""

    inserted: int = 0  # records seen for the first time
    changed: int = 0  # Type-2 change (or re-appearance after a tombstone): old version closed, new one open
    type1_updated: int = 0  # Type-1-only change written in place
    unchanged: int = 0
    tombstoned: int = 0  # full reconciliation: absent from the batch, closed and marked deleted

    @property
    def written(self) -> int:
        return self.inserted + self.changed + self.type1_updated + self.tombstoned


@dataclass(frozen=True)
class MergeMeta:
    """What every version a merge writes is stamped with."""

    at: dt.datetime
    sync_run_id: int | None
    change_reason: str
