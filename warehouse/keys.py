"""Surrogate keys for facts: the dimension version valid at a record's event time, and dim_date keys.
``attach_keys(FactWorkOrder, records)`` fills in the keys, ready for ``warehouse.scd.merge``.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils import timezone

from .models import (
    DimBuilding,
    DimCustomer,
    DimDate,
    DimPortfolio,
    DimTenant,
    DimUnit,
    DimVendor,
    FactJob,
    FactLease,
    FactTransaction,
    FactWorkOrder,
)

CHUNK = 500  # ids per IN (...) lookup, well under SQLite's variable limit


@dataclass(frozen=True)
class KeyRule:
    event_field: str | None  # the record's own event time; None → the ``at`` given
    dimensions: tuple[tuple[str, type, str], ...]  # (key field, dimension model, id field in the record)
    dates: tuple[tuple[str, str], ...] = ()  # (date key field, date field in the record)


# The event time is the record's own date (created_date for work orders, created_at for jobs, …), else the
# ``at`` given to ``attach_keys``.
KEY_RULES: dict[type, KeyRule] = {
    FactWorkOrder: KeyRule(
        "created_date",
        (
            ("portfolio_key", DimPortfolio, "portfolio_id"),
            ("building_key", DimBuilding, "building_id"),
            ("unit_key", DimUnit, "unit_id"),
            ("vendor_key", DimVendor, "vendor_id"),
        ),
        (("created_date_key", "created_date"),),
    ),
    FactLease: KeyRule(
        "start_date",
        (
            ("building_key", DimBuilding, "building_id"),
            ("unit_key", DimUnit, "unit_id"),
            ("tenant_key", DimTenant, "primary_contact_id"),
        ),
    ),
    FactJob: KeyRule(
        "created_at",
        (("customer_key", DimCustomer, "customer_id"), ("work_order_key", FactWorkOrder, "work_order_id")),
    ),
    FactTransaction: KeyRule("invoice_date", (), (("date_key", "invoice_date"),)),
    DimBuilding: KeyRule(None, (("portfolio_key", DimPortfolio, "portfolio_id"),)),
    DimUnit: KeyRule(None, (("building_key", DimBuilding, "building_id"),)),
}


def date_key(value: dt.date | dt.datetime | None) -> int:
    """YYYYMMDD for a date (a datetime counts in the project's time zone); 0, the unknown row, for None."""
    if value is None:
        return DimDate.UNKNOWN_KEY
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, timezone.get_default_timezone())
        value = value.date()
    return value.year * 10_000 + value.month * 100 + value.day


def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time()), timezone.get_default_timezone())


class VersionIndex:
    """Every live version of some dimension rows, answering "which version was valid at t"."""

    def __init__(self, model, ids: Iterable, source_system: str | None = None):
        id_field = model.SCD_NATURAL_KEY[1]
        source_system = source_system or model._meta.get_field("source_system").get_default()
        wanted = sorted({i for i in ids if i is not None})
        self._starts: dict[object, list[dt.datetime]] = defaultdict(list)
        self._keys: dict[object, list[int]] = defaultdict(list)
        for start in range(0, len(wanted), CHUNK):
            chunk = {f"{id_field}__in": wanted[start: start + CHUNK]}
            versions = (
                model._default_manager.filter(source_system=source_system, is_deleted=False, **chunk)
                .order_by(id_field, "valid_from")
                .values_list(id_field, "pk", "valid_from")
            )
            for source_id, key, valid_from in versions:
                self._starts[source_id].append(valid_from)
                self._keys[source_id].append(key)

    def key_at(self, source_id, at: dt.datetime | None) -> int | None:
        keys = self._keys.get(source_id)
        if not keys:
            return None
        if at is None:
            return keys[-1]
        # The last version starting at or before ``at``; before the first version, the first (the warehouse
        # started after the event). Deleted versions are not indexed, so a record whose dimension row is
        # deleted points at its last live version.
        position = bisect.bisect_right(self._starts[source_id], at) - 1
        return keys[max(position, 0)]


def attach_keys(model, records: Iterable[Mapping], *, at: dt.datetime | None = None) -> list[dict]:
    """Copies of ``records`` with the model's dimension and date keys filled in (see KEY_RULES)."""
    rule = KEY_RULES.get(model)
    if rule is None:
        raise ValueError(f"{model.__name__} has no dimension keys to attach")
    rows = [dict(r) for r in records]
    default_at = at or timezone.now()
    indexes = {
        key_field: VersionIndex(dim, (r.get(id_field) for r in rows))
        for key_field, dim, id_field in rule.dimensions
    }
    for record in rows:
        event = _as_datetime(record.get(rule.event_field)) if rule.event_field else None
        event = event or default_at
        for key_field, _dim, id_field in rule.dimensions:
            record[key_field] = indexes[key_field].key_at(record.get(id_field), event)
        for key_field, date_field in rule.dates:
            record[key_field] = date_key(record.get(date_field))
    return rows
