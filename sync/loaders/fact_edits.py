"""Editing a current ``fact_work_orders`` row the SCD2 way: the record ``warehouse.scd.merge`` needs to
write a new version with some values changed (used by unit corrections and dedup back-fills)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warehouse.models import FactWorkOrder

__all__ = ["current_work_order", "work_order_record"]


def current_work_order(work_order_id: int) -> dict | None:
    """The current row of a work order as a dict of column values, or None."""
    return FactWorkOrder.objects.current().filter(work_order_id=work_order_id).values().first()


def work_order_record(row: Mapping, **changes: Any) -> dict:
    """A merge record for ``row`` with ``changes``: the natural key and every Type-2 value are carried
    (merge resets Type-2 fields a record leaves out), Type-1 fields only where changed."""
    record = {name: row[name] for name in (*FactWorkOrder.SCD_NATURAL_KEY, *FactWorkOrder.SCD_TYPE2_FIELDS)}
    record.update(changes)
    return record
