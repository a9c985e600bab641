"""Customer-mapping coverage (R12): the share of active buildings and of open work orders served by an SF
customer, the daily snapshot the runner records after each run, and what blocks it, worst first."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils import timezone

from sync.models import CoverageSnapshot, OutboxItem
from sync.policies.flags import Flags
from sync.policies.status import is_open
from warehouse.dim_date import extend_dim_date
from warehouse.models import CustomerMapping, DimBuilding, FactWorkOrder

__all__ = ["Blocker", "blockers", "mapped_building_ids", "measure", "open_work_orders_per_building",
           "record_snapshot"]

def mapped_building_ids() -> set[int]:
    """Buildings whose jobs the sync can push: mapping status "mapped" with an SF customer, as the job
    step reads it (``sync.loaders.mappings.mapped_customers``)."""
    rows = CustomerMapping.objects.filter(entity_type="building", status="mapped",
                                          sf_customer_id__isnull=False)
    return {b for b in rows.values_list("pw_building_id", flat=True) if b is not None}


def open_work_orders_per_building(flags: Flags) -> Counter:
    """{building_id: current open work orders} (open: the status policy under ``flags``, R26)."""
    rows = (FactWorkOrder.objects.current().filter(is_deleted=False).values("status", "building_id")
            .annotate(n=Count("pk")).order_by())
    counts: Counter = Counter()
    for row in rows:
        if is_open(row["status"], flags):
            counts[row["building_id"]] += row["n"]
    return counts


def measure(flags: Flags, day: dt.date | None = None) -> CoverageSnapshot:
    """Today's coverage as an unsaved snapshot."""
    active = set(DimBuilding.objects.current().filter(active=True).values_list("building_id", flat=True))
    mapped = mapped_building_ids()
    open_counts = open_work_orders_per_building(flags)
    now = timezone.now()
    return CoverageSnapshot(
        day=day or timezone.localdate(now),
        buildings=len(active),
        buildings_mapped=len(active & mapped),
        open_work_orders=sum(open_counts.values()),
        open_work_orders_mapped=sum(n for building, n in open_counts.items() if building in mapped),
        recorded_at=now,
    )


def record_snapshot(flags: Flags, day: dt.date | None = None) -> CoverageSnapshot:
    """Measure and store the day's snapshot (one row a day: a later measurement replaces it), and keep
    dim_date a year ahead of the day."""
    snap = measure(flags, day)
    fields = {f: getattr(snap, f) for f in ("buildings", "buildings_mapped", "open_work_orders",
                                             "open_work_orders_mapped", "recorded_at")}
    row, _ = CoverageSnapshot.objects.update_or_create(day=snap.day, defaults=fields)
    extend_dim_date(snap.day)
    return row


@dataclass(frozen=True)
class Blocker:
    """Something that keeps work orders from ServiceFusion: an unmapped building, one waiting in review,
    or a customer the sync holds (a building's, or a portfolio's, which holds all its unmapped buildings)."""

    kind: str  # unmapped | review | held | held_portfolio
    portfolio_id: int | None
    building_id: int | None
    label: str
    open_work_orders: int
    detail: str
    proposed_sf_customer_id: int | None = None


def blockers(flags: Flags, limit: int | None = None) -> list[Blocker]:
    """What blocks coverage, the most open work orders blocked first (then by id)."""
    mapped = mapped_building_ids()
    open_counts = open_work_orders_per_building(flags)
    buildings = list(DimBuilding.objects.current().filter(active=True).exclude(building_id__in=mapped)
                     .values("building_id", "portfolio_id", "name", "address"))
    ids = [b["building_id"] for b in buildings]
    mappings = {m["pw_building_id"]: m for m in CustomerMapping.objects.filter(
        entity_type="building", pw_building_id__in=ids).values("pw_building_id", "status", "sf_customer_id")}
    held = dict(OutboxItem.objects.filter(
        kind__in=[OutboxItem.Kind.BUILDING_CUSTOMER, OutboxItem.Kind.PORTFOLIO_CUSTOMER],
        state=OutboxItem.State.HELD).values_list("key", "hold_reason"))
    out: list[Blocker] = []
    per_portfolio: Counter = Counter()
    for b in buildings:
        bid = b["building_id"]
        mapping: Mapping[str, Any] = mappings.get(bid, {})
        blocked = open_counts.get(bid, 0)
        per_portfolio[b["portfolio_id"]] += blocked
        label = b["address"] or b["name"] or f"building {bid}"
        if mapping.get("status") == "review":
            proposed = mapping.get("sf_customer_id")
            kind, detail = "review", f"proposed SF customer {proposed}, waiting for staff"
        elif f"customer:building:{bid}" in held:
            kind, detail = "held", held[f"customer:building:{bid}"] or "held by the sync"
        else:
            status = mapping.get("status")
            kind = "unmapped"
            detail = ("the next sync creates its SF customer" if status == "create"
                      else "no SF customer")
        out.append(Blocker(kind, b["portfolio_id"], bid, label, blocked, detail,
                           mapping.get("sf_customer_id") if kind == "review" else None))
    for key, reason in held.items():
        if key.startswith("customer:portfolio:"):
            pid = int(key.rsplit(":", 1)[1])
            out.append(Blocker("held_portfolio", pid, None, f"portfolio {pid}", per_portfolio.get(pid, 0),
                               reason or "held by the sync"))
    out.sort(key=lambda x: (-x.open_work_orders, x.building_id is not None, x.building_id or 0,
                            x.portfolio_id or 0))
    return out[:limit] if limit else out
