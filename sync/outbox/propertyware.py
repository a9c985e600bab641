"""Reads and writes of PropertyWare work orders for the outbox: one batched getWorkOrders(ids) read before a
job is created or a work order is written (PW updates replace the whole record and refuse units outside its
building), shared by a step's handlers; what PW now holds, as ``fact_work_orders`` versions."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sync.clients.propertyware.records import WorkOrder
from sync.errors import IntegrationError
from sync.loaders.fact_edits import current_work_order, work_order_record
from sync.models import OutboxItem
from sync.outbox.protocol import WriteHandler
from sync.policies.units import (
    UNIT_NOT_IN_BUILDING,
    UnitDecision,
    correct_units,
    select_unit,
    unit_ids_by_building,
)
from warehouse.models import FactWorkOrder
from warehouse.scd import merge

__all__ = [
    "READ_PAGE",
    "REREAD_BATCH",
    "PwReads",
    "PwWorkOrderWriter",
    "record_pw_status",
    "units_pw_refuses",
]

logger = logging.getLogger("sync.outbox.propertyware")

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

    def update(self, ctx, fresh, **changes) -> tuple[WorkOrder, dict]:
        """updateWorkOrder from ``fresh`` (just read) with ``changes``, and what the write cleared.

        The update echoes the work order's units, and PropertyWare refuses the whole write ("Location is
        invalid") when one is not a unit of its building: such units are left out, the rest kept, so the
        work order stays at its building's location (building-level when none is left). The second value,
        for the row's result and ``record_cleared_units``, is empty when nothing was cleared."""
        refused = units_pw_refuses(ctx, fresh)
        cleared: dict = {}
        if refused:
            kept = [int(u) for u in fresh.unit_ids if int(u) not in refused]
            changes["unit_ids"] = kept
            cleared = {"building_id": int(fresh.building_id), "unit_ids": sorted(refused), "kept": kept}
        return ctx.pw.update_work_order(int(fresh.id), current=fresh, **changes), cleared

    def record_cleared_units(self, ctx, row, result: dict) -> None:
        """The units an update cleared onto the work order's record: a new fact_work_orders version with its
        unit as PW now has it and why (the work order as first received stays in fact_work_orders_original),
        logged and counted. Runs in the transaction that marks the row sent."""
        cleared = result.get("units_cleared")
        if not cleared:
            return
        wo_id, building_id = int(row.context["work_order_id"]), cleared["building_id"]
        units = ", ".join(str(u) for u in cleared["unit_ids"])
        several = len(cleared["unit_ids"]) > 1
        what = f"units {units} are not units" if several else f"unit {units} is not a unit"
        why = f"{what} of building {building_id}: cleared in PropertyWare by {row.key}"
        ctx.count("pw_units_cleared")
        logger.warning(
            "work order %s: %s (PropertyWare refuses it on updateWorkOrder); kept %s",
            wo_id,
            why,
            cleared["kept"] or "none (building-level)",
            extra={"work_order_id": wo_id, "outbox_key": row.key, "building_id": building_id},
        )
        current = current_work_order(wo_id)
        if current is None:
            return
        unit_id = select_unit({"unit_ids": cleared["kept"]})
        decision = UnitDecision(
            unit_id, unit_id is None, why, UNIT_NOT_IN_BUILDING, int(cleared["unit_ids"][0])
        )
        correct_units([(current, decision)], change_reason=why, sync_run_id=ctx.run_id)


def units_pw_refuses(ctx, fresh) -> set[int]:
    """The units of ``fresh`` (a work order as just read from PW) that are not units of its building, so
    that PW would refuse an update echoing them. The building itself is always accepted (a single-family
    home is its own unit, and PW takes it in multi-unit buildings too); other units are looked up in the
    warehouse first and, for any the warehouse does not place in the building (it may lag a unit added or
    moved since the last pull), in PropertyWare's list of the building's units."""
    building_id = int(fresh.building_id) if fresh.building_id else None
    named = {int(u) for u in fresh.unit_ids or ()} - {building_id}
    if not named or building_id is None:
        return set()
    outside = named - unit_ids_by_building([building_id]).get(building_id, set())
    if outside:
        outside -= {int(u.id) for u in ctx.pw.iter_units(building_id=building_id)}
    return outside


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
