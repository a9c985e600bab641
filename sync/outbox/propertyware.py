"""Writes to PropertyWare work orders (job links, statuses): what they share.

PropertyWare resets whatever an update leaves out, so every update is read-modify-write. One
``getWorkOrders(ids)`` call re-reads a batch of the work orders about to be written instead of one call
each; a record read that way is used for one write only, so a second write to the same work order
re-reads it after the first. The warehouse learns a status PropertyWare now holds as a new
``fact_work_orders`` version.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sync.errors import IntegrationError
from sync.loaders.fact_edits import current_work_order, work_order_record
from sync.models import OutboxItem
from sync.outbox.core import WriteHandler
from warehouse.models import FactWorkOrder
from warehouse.scd import merge

__all__ = ["PwWorkOrderWriter", "record_pw_status"]

# Work orders per getWorkOrders(ids) call: PW pages its answers, so a bigger batch costs more pages.
REREAD_BATCH = 50


class PwWorkOrderWriter(WriteHandler):
    """A write handler for rows whose context names a PW ``work_order_id``."""

    system = "pw"
    # A re-read page holds ten work orders: links planned one by one as jobs are created are worth
    # gathering into full pages rather than re-read a page each.
    min_batch = 10

    def __init__(self) -> None:
        self._fresh: dict[int, object] = {}  # work order id → record (None: PW does not have it)
        self._used: set[int] = set()  # work orders a record was handed out for: re-read alone after
        self._lock = threading.Lock()  # the outbox may write from several threads

    def fresh(self, ctx, work_order_id: int):
        """The work order as PropertyWare has it now (None if missing), for one write.

        The first time, it is read with the next due rows of this kind in one call; a work order this
        handler has handed out before (a write may be under way) is read alone, as is everything when
        the batch read fails.
        """
        work_order_id = int(work_order_id)
        with self._lock:
            if work_order_id not in self._used:
                if work_order_id not in self._fresh:
                    self._read_batch(ctx, work_order_id)
                self._used.add(work_order_id)
                if work_order_id in self._fresh:
                    return self._fresh.pop(work_order_id)
        return ctx.pw.get_work_order(work_order_id)

    def _read_batch(self, ctx, work_order_id: int) -> None:
        due = (
            OutboxItem.objects.due()
            .filter(kind=self.kind)
            .order_by("id")
            .values_list("context__work_order_id", flat=True)[: REREAD_BATCH * 2]
        )
        ids = [work_order_id]
        for other in due:
            other = int(other or 0)
            if other and other not in self._fresh and other not in self._used and other not in ids:
                ids.append(other)
            if len(ids) >= REREAD_BATCH:
                break
        try:
            found = {int(wo.id): wo for wo in ctx.pw.iter_work_orders(ids=ids)}
        except IntegrationError as exc:
            ctx.error(
                f"outbox.{self.kind}.reread",
                exc,
                recovery="work orders read one by one",
                system="pw",
                with_stack=False,
            )
            return
        self._fresh.update({i: found.get(i) for i in ids})


def record_pw_status(
    ctx, work_order_id: int, status: str, *, completed_date: datetime | None = None, reason: str
) -> None:
    """The status (and completion date) PropertyWare now holds, as a new fact_work_orders version."""
    current = current_work_order(work_order_id)
    if current is None:
        return
    changes: dict = {"status": status}
    if completed_date is not None:
        changes["completed_date"] = completed_date
    merge(
        FactWorkOrder,
        [work_order_record(current, **changes)],
        sync_run_id=ctx.run_id,
        change_reason=reason,
    )
