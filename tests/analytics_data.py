"""A warehouse with history for the analytics screens: work orders with dated SCD2 versions and jobs, written
through the real merge. The figures each range should show are worked out in tests/test_admin_analytics.py."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.admin_support import seed_warehouse


# (days ago, work order record): merged oldest first, each at its own time.
def _wo(wo_id, portfolio_id, building_id, category, created_days, status):
    return {
        "work_order_id": wo_id,
        "number": 7000 + wo_id,
        "portfolio_id": portfolio_id,
        "building_id": building_id,
        "category": category,
        "status": status,
        "created_date": None if created_days is None else timezone.now() - dt.timedelta(days=created_days),
    }


def seed_history() -> dict:
    """Five work orders and three jobs; returns the sync run id that wrote WO 1's last version."""
    from sync.models import SyncRun
    from warehouse.models import FactJob, FactWorkOrder
    from warehouse.scd import merge

    seed_warehouse(at=timezone.now() - dt.timedelta(days=400))
    run = SyncRun.objects.create()
    events = [
        (200, _wo(4, 20, 201, "Electrical", 200, "Open"), None),
        (100, _wo(4, 20, 201, "Electrical", 200, "Completed"), None),
        (60, _wo(1, 10, 101, "Plumbing", 60, "Open"), None),
        (50, _wo(1, 10, 101, "Plumbing", 60, "Scheduled"), None),
        (45, _wo(5, 10, 101, "Plumbing", 45, "Open"), None),
        (40, _wo(1, 10, 101, "Plumbing", 60, "Completed"), run.pk),
        (10, _wo(2, 10, 102, "HVAC", 10, "Open"), None),
        (5, _wo(2, 10, 102, "HVAC", 10, "Scheduled"), None),
        (2, _wo(3, 20, 201, "Plumbing", 2, "Open"), None),
    ]
    now = timezone.now()
    for days_ago, record, run_id in events:
        merge(FactWorkOrder, [record], at=now - dt.timedelta(days=days_ago), sync_run_id=run_id)
    jobs = [(900, 2, 5, 2), (901, 1, 60, 50), (902, None, 0.01, None)]
    for job_id, wo_id, created_ago, closed_ago in jobs:
        merge(
            FactJob,
            [
                {
                    "job_id": job_id,
                    "work_order_id": wo_id,
                    "customer_id": 5001,
                    "status": "Scheduled",
                    "created_at": now - dt.timedelta(days=created_ago),
                    "closed_at": None if closed_ago is None else now - dt.timedelta(days=closed_ago),
                }
            ],
            at=now - dt.timedelta(days=created_ago),
        )
    return {"run_id": run.pk}
