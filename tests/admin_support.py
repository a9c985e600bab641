"""Shared set-up for the back-office tests: staff users in each group, a small warehouse, and helpers
to run what django-q2 queued and to read messages off a page."""
from __future__ import annotations

import datetime as dt
import io

from django.contrib.auth.models import Group
from django.utils import timezone

PASSWORD = "pw-staff-123"

# A small estate: portfolio 10 (mapped to SF customer 5000) with buildings 101 (multi-unit, mapped to
# 5001) and 102 (unmapped), portfolio 20 (unmapped) with building 201; units 1011 and 1012 in 101.
PORTFOLIOS = [
    {"portfolio_id": 10, "name": "Oak Holdings", "abbreviation": "OAK", "active": True},
    {"portfolio_id": 20, "name": "Pine Trust", "abbreviation": "PINE", "active": True},
]
BUILDINGS = [
    {"building_id": 101, "portfolio_id": 10, "name": "Oak Court", "abbreviation": "OC",
     "address": "12 Oak St", "city": "Austin", "state": "TX", "zip": "78701", "multi_unit": True,
     "rentable": True, "active": True},
    {"building_id": 102, "portfolio_id": 10, "name": "Elm House", "abbreviation": "EH",
     "address": "34 Elm Ave", "city": "Austin", "state": "TX", "zip": "78702", "multi_unit": False,
     "rentable": True, "active": True},
    {"building_id": 201, "portfolio_id": 20, "name": "Pine Plaza", "abbreviation": "PP",
     "address": "99 Pine Rd", "city": "Dallas", "state": "TX", "zip": "75201", "multi_unit": False,
     "rentable": True, "active": True},
]
UNITS = [
    {"unit_id": 1011, "building_id": 101, "name": "Apt 1", "abbreviation": "1", "address": "12 Oak St #1",
     "active": True},
    {"unit_id": 1012, "building_id": 101, "name": "Apt 2", "abbreviation": "2", "address": "12 Oak St #2",
     "active": True},
]
SF_CUSTOMERS = [
    {"sf_customer_id": 5000, "name": "Oak Holdings", "parent_customer_id": None},
    {"sf_customer_id": 5001, "name": "12 Oak St", "parent_customer_id": 5000},
    {"sf_customer_id": 5002, "name": "34 Elm Avenue", "parent_customer_id": 5000},
    {"sf_customer_id": 5003, "name": "=HYPERLINK(\"http://x.example\",\"pay\")", "parent_customer_id": None},
]


def seed_warehouse(at: dt.datetime | None = None) -> None:
    """Load the small estate through the warehouse's own merge, plus mappings and the SF cache."""
    from warehouse.models import (
        CustomerMapping,
        DimBuilding,
        DimPortfolio,
        DimUnit,
        SfCustomerCache,
    )
    from warehouse.scd import merge

    at = at or timezone.now() - dt.timedelta(days=1)
    merge(DimPortfolio, PORTFOLIOS, at=at)
    merge(DimBuilding, BUILDINGS, at=at)
    merge(DimUnit, UNITS, at=at)
    for row in SF_CUSTOMERS:
        SfCustomerCache.objects.create(**row, fetched_at=at)
    CustomerMapping.objects.create(entity_type="portfolio", pw_portfolio_id=10, sf_customer_id=5000,
                                   status="mapped", method="exact_name", confidence=1.0)
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=10, pw_building_id=101,
                                   sf_customer_id=5001, status="mapped", method="custom_field",
                                   confidence=1.0)
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=10, pw_building_id=102,
                                   status="review", method="fuzzy_review", confidence=0.85)


def staff_user(django_user_model, username: str, group: str | None = None, *, superuser: bool = False):
    if superuser:
        return django_user_model.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = django_user_model.objects.create_user(username, f"{username}@example.com", PASSWORD,
                                                  is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(client, user):
    client.force_login(user)
    return client


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def queued_tasks() -> list[dict]:
    """The tasks waiting in django-q2's ORM broker, decoded (func, args, kwargs)."""
    from django_q.models import OrmQ

    return [row.task for row in OrmQ.objects.order_by("id")]


def run_queued_tasks() -> list:
    """Take every queued task off the ORM broker and run it here, as a worker would."""
    from django.utils.module_loading import import_string
    from django_q.models import OrmQ

    results = []
    while True:
        row = OrmQ.objects.order_by("id").first()
        if row is None:
            return results
        task = row.task
        row.delete()
        func = task["func"]
        func = import_string(func) if isinstance(func, str) else func
        results.append(func(*task.get("args", ()), **task.get("kwargs", {})))


def csv_bytes(rows: list[list], *, bom: bool = False, encoding: str = "utf-8") -> io.BytesIO:
    text = "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\r\n"
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    buffer = io.BytesIO(data)
    buffer.name = "mappings.csv"
    return buffer


def seed_review_queues() -> dict:
    """A duplicate candidate and a held unit correction, produced by the policies themselves:
    WO 9001 resembles SF job 7001 (temporal rule; one word apart, 0.9: a near match for staff, not a skip);
    WO 9002 names building 101 as its own unit."""
    from django.core.management import call_command

    from sync.models import DuplicateCandidate, UnitCorrection
    from sync.policies.dedup import DedupService
    from sync.policies.flags import read_flags
    from warehouse.models import FactJob, FactWorkOrder
    from warehouse.scd import merge

    now = timezone.now()
    merge(FactJob, [{"job_id": 7001, "number": "1042", "customer_id": 5001, "check_number": "",
                     "description": "Kitchen sink leaking under the cabinet, water pooling on the laminate "
                                    "floor by the dishwasher and baseboard", "status": "Scheduled",
                     "created_at": now - dt.timedelta(days=1)}])
    merge(FactWorkOrder, [
        {"work_order_id": 9001, "number": 501, "portfolio_id": 10, "building_id": 101, "unit_id": 1011,
         "unit_ids": [1011], "status": "Open", "priority": "Normal",
         "description": "Kitchen sink leaking under the cabinet, water pooling on the laminate floor by the "
                        "dishwasher", "created_date": now},
        {"work_order_id": 9002, "number": 502, "portfolio_id": 10, "building_id": 101, "unit_id": 101,
         "unit_ids": [101], "status": "Open", "priority": "High", "description": "No heat in apartment"},
    ])
    service = DedupService(read_flags())
    wo = FactWorkOrder.objects.current().values().get(work_order_id=9001)
    decision = service.check(wo)
    assert decision.decision == "review", decision
    service.record(decision, 9001)
    call_command("fix_unit_ids", stdout=io.StringIO())
    return {"candidate": DuplicateCandidate.objects.get(work_order_id=9001),
            "correction": UnitCorrection.objects.get(work_order_id=9002)}


def seed_runs() -> dict:
    """Two finished runs (one failed, with an error), a dead letter and a sent job, as the engine
    records them."""
    from sync.models import OutboxItem, StepRun, SyncError, SyncRun

    now = timezone.now()
    ok = SyncRun.objects.create(trigger="schedule", status="succeeded",
                                started_at=now - dt.timedelta(days=2),
                                finished_at=now - dt.timedelta(days=2) + dt.timedelta(seconds=42),
                                counts={"jobs_created": 1})
    StepRun.objects.create(run=ok, name="getPWPortfolios", position=1, status="succeeded",
                           started_at=ok.started_at, finished_at=ok.finished_at, counts={"inserted": 228})
    StepRun.objects.create(run=ok, name="pushWorkOrdersToSF", position=2, status="succeeded",
                           started_at=ok.started_at, finished_at=ok.finished_at, counts={"created": 1})
    bad = SyncRun.objects.create(trigger="manual", status="failed", started_at=now - dt.timedelta(hours=1),
                                 finished_at=now - dt.timedelta(minutes=59), error_summary="SF timed out")
    step = StepRun.objects.create(run=bad, name="getSFJobs", position=1, status="failed",
                                  message="ServiceFusion timed out three times")
    SyncError.objects.create(run=bad, step=step, function="getSFJobs", system="sf",
                             error="ReadTimeout: GET /jobs", recovery_action="retried 3 times; step stopped")
    dead = OutboxItem.objects.create(key="job:WO-9001", kind="job", state="dead", attempts=3,
                                     last_error="422 customer_name invalid", run=bad)
    sent = OutboxItem.objects.create(key="job:WO-9003", kind="job", state="sent", attempts=1, run=ok,
                                     sent_at=now - dt.timedelta(days=2), result={"id": 7003})
    return {"ok": ok, "bad": bad, "dead": dead, "sent": sent}
