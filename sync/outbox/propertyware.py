"""Reads and writes of PropertyWare work orders for the outbox: one batched getWorkOrders(ids) read before a
job is created or a work order is written (PW updates replace the whole record), shared by a step's
handlers; and the status PropertyWare now holds, as a new ``fact_work_orders`` version."""

from __future__ import annotations

import threading
from datetime import datetime

from sync.errors import IntegrationError
from sync.loaders.fact_edits import current_work_order, work_order_record
from sync.models import OutboxItem
from sync.outbox.core import WriteHandler
from warehouse.models import FactWorkOrder
from warehouse.scd import merge

__all__ = ["READ_PAGE", "REREAD_BATCH", "PwReads", "PwWorkOrderWriter", "record_pw_status"]

# Work orders per getWorkOrders(ids) call: PW pages its answers, so a bigger batch costs more pages.
REREAD_BATCH = 50
# Work orders in one page of PW's answer: a batch read costs one request per page.
READ_PAGE = 10


class PwReads:
    """Work orders read from PropertyWare for one step's writes, a batch of due rows per call.

    A record is handed out once (``take``): a second use of the same work order reads it alone, since a
    write may have changed it. A handler that only looked at a record before its own remote write (a job
    created for the work order) ``hand_over``s it to the work order's next PW write, which then reads
    nothing.
    """

    def __init__(self) -> None:
        self._fresh: dict[int, object] = {}  # work order id → record (None: PW does not have it)
        self._used: set[int] = set()  # work orders a record was handed out for
        self._lock = threading.Lock()  # the outbox may send from several threads

    def take(self, ctx, kind: str, work_order_id: int, *, batch: int = REREAD_BATCH):
        """The work order as PropertyWare has it now (None if missing), for one use. The first time, it
        is read with up to ``batch`` due rows of ``kind`` in one call; a work order handed out before is
        read alone, as is everything when the batch read fails."""
        work_order_id = int(work_order_id)
        with self._lock:
            if work_order_id in self._fresh:
                self._used.add(work_order_id)
                return self._fresh.pop(work_order_id)
            if work_order_id not in self._used:
                self._used.add(work_order_id)
                self._read_batch(ctx, kind, work_order_id, batch)
                if work_order_id in self._fresh:
                    return self._fresh.pop(work_order_id)
        return ctx.pw.get_work_order(work_order_id)

    def hand_over(self, work_order_id: int, record) -> None:
        with self._lock:
            self._fresh[int(work_order_id)] = record

    def _read_batch(self, ctx, kind: str, work_order_id: int, batch: int) -> None:
        due = (
            OutboxItem.objects.due()
            .filter(kind=kind)
            .order_by("id")
            .values_list("context__work_order_id", flat=True)[: batch * 2]
        )
        ids = [work_order_id]
        for other in due:
            other = int(other or 0)
            if other and other not in self._fresh and other not in self._used and other not in ids:
                ids.append(other)
            if len(ids) >= batch:
                break
        try:
            found = {int(wo.id): wo for wo in ctx.pw.iter_work_orders(ids=ids)}
        except IntegrationError as exc:
            ctx.error(
                f"outbox.{kind}.reread",
                exc,
                recovery="work orders read one by one",
                system="pw",
                with_stack=False,
            )
            return
        self._fresh.update({i: found.get(i) for i in ids})


class PwWorkOrderWriter(WriteHandler):
    """A write handler for rows whose context names a PW ``work_order_id``; ``reads`` may be shared with
    the step's other handlers."""

    system = "pw"
    # A re-read page holds ten work orders: rows planned one by one are worth gathering into full pages
    # rather than re-read a page each.
    min_batch = READ_PAGE

    def __init__(self, reads: PwReads | None = None) -> None:
        self.reads = reads or PwReads()

    def fresh(self, ctx, work_order_id: int):
        """The work order as PropertyWare has it now (None if missing), for one write."""
        return self.reads.take(ctx, self.kind, work_order_id)


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
