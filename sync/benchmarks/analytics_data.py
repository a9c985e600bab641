"""A simulator dataset written straight into the warehouse with dated SCD2 history (``bench_analytics``): each
work order's versions from created to its current status, and a ServiceFusion job for each one pushed."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from sync.simulators.datasets import build_dataset
from warehouse.models import DimBuilding, DimPortfolio, FactJob, FactWorkOrder

# A work order's first statuses, before the one the dataset gives it now; "not pushed" ones have no job.
FIRST_STATUS = "WO Received"
MIDDLE_STATUSES = ("Unscheduled", "Scheduled", "Dispatched", "On Site")
NOT_PUSHED = {"Open", "WO Received", "Unscheduled", "Cancelled"}
BATCH = 2000


def _when(value: str | None, shift: dt.timedelta) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) + shift if value else None


def _at(value: str, shift: dt.timedelta) -> dt.datetime:
    return dt.datetime.fromisoformat(value) + shift


def load_dataset(name: str = "large", *, seed: int = 0) -> dict[str, int]:
    """Load dataset ``name`` with its anchor moved to now; returns row counts per table.

    Rows are bulk-inserted as the SCD2 merge leaves them (one open version per key, closed versions'
    valid_to the next one's valid_from): running the merge once per past moment would take minutes.
    """
    data = build_dataset(name, seed=seed)
    now = timezone.now()
    shift = now - dt.datetime.fromisoformat(data.anchor)
    rng = random.Random(seed)
    portfolios = [
        DimPortfolio(
            portfolio_id=p["ID"],
            name=p["name"],
            abbreviation=p.get("abbreviation") or "",
            active=bool(p.get("active", True)),
            valid_from=_at(p["_created"], shift),
            row_hash="bench",
        )
        for p in data.portfolios
    ]
    buildings = [
        DimBuilding(
            building_id=b["ID"],
            portfolio_id=b["_portfolioID"],
            name=b["name"] or "",
            address=b.get("address") or "",
            valid_from=_at(b["_created"], shift),
            row_hash="bench",
        )
        for b in data.buildings
    ]
    versions: list[FactWorkOrder] = []
    jobs: list[FactJob] = []
    for wo in data.work_orders:
        created = _when(wo["createdDate"], shift)
        assert created is not None
        last = min(_when(wo["completedDate"] or wo["_lastModified"], shift) or now, now)
        statuses = [FIRST_STATUS]
        if wo["status"] != FIRST_STATUS:
            statuses += rng.sample(MIDDLE_STATUSES, rng.randrange(0, 3)) + [wo["status"]]
        statuses = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
        # The first status from creation, the current one from completion (or last change), any others
        # between; each version at least a second long so the validity ranges stay strictly ordered.
        last = max(last, created + dt.timedelta(seconds=len(statuses)))
        middle = sorted(created + (last - created) * rng.random() for _ in statuses[2:])
        starts = [created, *middle, last][: len(statuses)]
        common = {
            "work_order_id": wo["ID"],
            "number": wo["number"],
            "portfolio_id": wo["portfolio"]["ID"],
            "building_id": wo["building"]["ID"],
            "category": wo["category"] or "",
            "priority": wo["priority"] or "",
            "description": wo["description"] or "",
            "created_date": created,
            "completed_date": _when(wo["completedDate"], shift),
            "row_hash": "bench",
        }
        for i, (status, start) in enumerate(zip(statuses, starts, strict=True)):
            end = starts[i + 1] if i + 1 < len(starts) else None
            if end is not None and end <= start:
                end = start + dt.timedelta(seconds=1)
                starts[i + 1] = end
            versions.append(
                FactWorkOrder(status=status, valid_from=start, valid_to=end, is_current=end is None, **common)
            )
        if wo["status"] not in NOT_PUSHED:
            done = wo["status"] in ("Completed", "Closed")
            jobs.append(
                FactJob(
                    job_id=wo["ID"] + 10**11,
                    work_order_id=wo["ID"],
                    number=str(wo["number"]),
                    status=wo["status"],
                    created_at=created + dt.timedelta(hours=1),
                    closed_at=last if done else None,
                    valid_from=created + dt.timedelta(hours=1),
                    row_hash="bench",
                )
            )
    DimPortfolio.objects.bulk_create(portfolios, batch_size=BATCH)
    DimBuilding.objects.bulk_create(buildings, batch_size=BATCH)
    FactWorkOrder.objects.bulk_create(versions, batch_size=BATCH)
    FactJob.objects.bulk_create(jobs, batch_size=BATCH)
    return {
        "portfolios": len(portfolios),
        "buildings": len(buildings),
        "work order versions": len(versions),
        "work orders": len(data.work_orders),
        "jobs": len(jobs),
    }
