"""Customer matching end to end (R10, R11): a building is matched only among its portfolio's customers, and
staff's "let the sync create it" sticks. Both simulators over real HTTP, the real database, every step;
PropertyWare users add buildings through its SOAP API, ServiceFusion users add customers through the
simulator's control API, and staff choose on the unmapped-buildings screen."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from sync.clients.propertyware import PropertyWareClient
from sync.engine.runner import run_sync
from sync.models import OutboxItem, SyncRun
from sync.outbox.staff import retry_items
from tests.engine_support import live
from warehouse.models import CustomerMapping, FactWorkOrder

pytestmark = pytest.mark.django_db

UNMAPPED = reverse("admin:warehouse_customermapping_unmapped")


def pw_control(pw, method: str, path: str, body: dict | None = None):
    response = requests.request(method, f"{pw.control_url}/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def sf_control(sf, method: str, path: str, body: dict | None = None):
    response = requests.request(method, f"{sf.control_url}/{path}", json=body, timeout=10, verify=sf.ca_path)
    response.raise_for_status()
    return response.json()


def add_building(pw, portfolio_id: int, address: str) -> tuple[int, int]:
    """A single-family building added by a PropertyWare user (SOAP createBuilding), with one open work
    order (control API); returns (building id, work order id)."""
    client = PropertyWareClient(pw.url, pw.username, pw.password, wsdl_url=pw.wsdl_url)
    abbreviation = "".join(address.split()).upper()[:12] + "B"
    building_id = int(
        client.call(
            "createBuilding",
            write=True,
            portfolioID=portfolio_id,
            name=address,
            abbreviation=abbreviation,
            address=address,
            address2=None,
            city="Austin",
            state="TX",
            zip="78723",
            country="US",
            isMultiUnitBuilding=False,
        )
    )
    wo = pw_control(pw, "POST", "work-orders", {"building": building_id, "description": "Leaking kitchen tap",
                                               "status": "Open"})
    return building_id, wo["ID"]


def active_portfolios(pw) -> list[dict]:
    return sorted((p for p in pw_control(pw, "GET", "portfolios") if p["active"]), key=lambda p: p["ID"])


def customer_of(pw_id: int, entity_type: str = "building") -> int:
    field = "pw_building_id" if entity_type == "building" else "pw_portfolio_id"
    mapping = CustomerMapping.objects.get(entity_type=entity_type, **{field: pw_id}, status="mapped")
    return mapping.sf_customer_id


def sf_customers(sf) -> dict[int, dict]:
    return {c["id"]: c for c in sf_control(sf, "GET", "customers")}


def job_of(sf, wo_id: int) -> dict | None:
    return next((j for j in sf_control(sf, "GET", "jobs") if j["check_number"] == f"WO-{wo_id}"), None)


def customer_posts(sf) -> int:
    return sf_control(sf, "GET", "requests")["requests"].get("POST /v1/customers", 0)


def succeeded(run: SyncRun) -> SyncRun:
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run


def test_a_building_at_another_portfolios_address_gets_its_own_customer_under_its_portfolio(sims):
    pw, sf = sims
    live()
    succeeded(run_sync(full=True))
    first, second = active_portfolios(pw)[:2]
    # A building of the first portfolio, whose customer SF now has under the first portfolio's customer.
    existing = next(b for b in pw_control(pw, "GET", "buildings") if b["_portfolioID"] == first["ID"])
    existing_customer = customer_of(existing["ID"])
    assert sf_customers(sf)[existing_customer]["customer_name"] == existing["address"]

    building_id, wo_id = add_building(pw, second["ID"], existing["address"])
    succeeded(run_sync())

    mapping = CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id)
    assert (mapping.status, mapping.method) == ("mapped", "created")
    assert mapping.sf_customer_id != existing_customer
    customers = sf_customers(sf)
    created = customers[mapping.sf_customer_id]
    assert created["customer_name"] == existing["address"]
    assert created["parent_customer"] == customers[customer_of(second["ID"], "portfolio")]["customer_name"]
    assert customers[existing_customer]["parent_customer"] == first["name"]
    # Its work order got its job, on its own customer.
    job = job_of(sf, wo_id)
    assert job is not None and job["customer_id"] == mapping.sf_customer_id
    assert FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id == job["id"]


def test_the_same_address_under_the_buildings_own_portfolio_links_without_creating(sims):
    pw, sf = sims
    live()
    succeeded(run_sync(full=True))
    portfolio = active_portfolios(pw)[1]
    parent = customer_of(portfolio["ID"], "portfolio")
    # A ServiceFusion user already entered the building under its portfolio's customer.
    entered = sf_control(
        sf, "POST", "customers", {"customer_name": "41 Juniper Way", "parent_customer": parent}
    )
    posts = customer_posts(sf)

    building_id, wo_id = add_building(pw, portfolio["ID"], "41 Juniper Way")
    succeeded(run_sync(full=True))  # full: the customer listing is read again

    mapping = CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id)
    assert (mapping.status, mapping.sf_customer_id, mapping.method) == ("mapped", entered["id"], "exact_name")
    assert customer_posts(sf) == posts
    assert job_of(sf, wo_id)["customer_id"] == entered["id"]


def test_a_review_proposed_under_another_portfolio_is_matched_again_and_created(sims):
    """A building left in review by the earlier rule (a customer of another portfolio proposed) is matched
    again within its portfolio: nothing there, so its customer is created and its work order gets a job."""
    pw, sf = sims
    live()
    succeeded(run_sync(full=True))
    first, second = active_portfolios(pw)[:2]
    existing = next(b for b in pw_control(pw, "GET", "buildings") if b["_portfolioID"] == first["ID"])
    building_id, wo_id = add_building(pw, second["ID"], existing["address"])
    CustomerMapping.objects.create(
        entity_type="building", pw_building_id=building_id, pw_portfolio_id=second["ID"],
        sf_customer_id=customer_of(existing["ID"]), status="review", method="fuzzy_review", confidence=0.8,
    )

    succeeded(run_sync())

    mapping = CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id)
    assert (mapping.status, mapping.method) == ("mapped", "created")
    assert sf_customers(sf)[mapping.sf_customer_id]["parent_customer"] == second["name"]
    assert job_of(sf, wo_id)["customer_id"] == mapping.sf_customer_id


def test_staff_choosing_create_is_never_overridden_by_a_match(sims, admin_client):
    pw, sf = sims
    live()
    succeeded(run_sync(full=True))
    portfolio = active_portfolios(pw)[1]
    parent = customer_of(portfolio["ID"], "portfolio")
    # A sibling customer whose name is close to the new building's address: matching sends it to review.
    lookalike = sf_control(
        sf, "POST", "customers", {"customer_name": "12 Willow Cts", "parent_customer": parent}
    )
    building_id, wo_id = add_building(pw, portfolio["ID"], "12 Willow Ct")
    succeeded(run_sync(full=True))
    mapping = CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id)
    assert (mapping.status, mapping.sf_customer_id) == ("review", lookalike["id"])
    assert job_of(sf, wo_id) is None

    # Staff decide it is not that customer: "let the sync create it".
    admin_client.post(UNMAPPED, {"building_id": str(building_id), "action": "create"})
    mapping.refresh_from_db()
    assert (mapping.status, mapping.method) == ("create", "manual")
    # The next run cannot create it (ServiceFusion answers 503 until the write is dead-lettered): the choice
    # outlives that run, and the run after staff retry the write creates the customer, matching nothing.
    sf_control(sf, "POST", "faults", {"p503": 1.0, "method": "POST", "path": "/v1/customers"})
    run_sync(full=True)
    mapping.refresh_from_db()
    assert (mapping.status, mapping.sf_customer_id) == ("create", None)
    assert job_of(sf, wo_id) is None
    write = OutboxItem.objects.get(key=f"customer:building:{building_id}")
    assert write.state == OutboxItem.State.DEAD

    sf_control(sf, "DELETE", "faults")
    assert retry_items([write]) == 1  # what the dead letters' "Retry" action does
    succeeded(run_sync(full=True))
    mapping.refresh_from_db()
    assert (mapping.status, mapping.method) == ("mapped", "created")
    created = sf_customers(sf)[mapping.sf_customer_id]
    assert mapping.sf_customer_id != lookalike["id"]
    assert (created["customer_name"], created["parent_customer"]) == ("12 Willow Ct", portfolio["name"])
    assert job_of(sf, wo_id)["customer_id"] == mapping.sf_customer_id

    # And once more: nothing is created or matched again.
    posts = customer_posts(sf)
    succeeded(run_sync(full=True))
    mapping.refresh_from_db()
    assert (mapping.status, mapping.method, mapping.sf_customer_id) == ("mapped", "created", created["id"])
    assert customer_posts(sf) == posts
    assert [c["customer_name"] for c in sf_customers(sf).values()].count("12 Willow Ct") == 1
    assert OutboxItem.objects.get(key=f"customer:building:{building_id}").state == OutboxItem.State.SENT


def test_staff_choosing_create_sends_the_write_an_earlier_match_set_aside(sims, admin_client):
    """A building held while its portfolio had no customer, then matched, left its write ignored ("matched
    SF customer …"): staff's "create" sends that write after all."""
    pw, sf = sims
    live()
    succeeded(run_sync(full=True))
    portfolio = active_portfolios(pw)[1]
    parent = customer_of(portfolio["ID"], "portfolio")
    lookalike = sf_control(
        sf, "POST", "customers", {"customer_name": "12 Willow Cts", "parent_customer": parent}
    )
    building_id, wo_id = add_building(pw, portfolio["ID"], "12 Willow Ct")
    key = f"customer:building:{building_id}"
    OutboxItem.objects.create(
        key=key, kind=OutboxItem.Kind.BUILDING_CUSTOMER, state=OutboxItem.State.IGNORED,
        hold_reason=f"matched SF customer (customer {lookalike['id']}: sibling); not created",
    )
    succeeded(run_sync(full=True))
    assert CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id).status == "review"

    admin_client.post(UNMAPPED, {"building_id": str(building_id), "action": "create"})
    succeeded(run_sync(full=True))

    mapping = CustomerMapping.objects.get(entity_type="building", pw_building_id=building_id)
    assert (mapping.status, mapping.method) == ("mapped", "created")
    assert OutboxItem.objects.get(key=key).state == OutboxItem.State.SENT
    assert sf_customers(sf)[mapping.sf_customer_id]["customer_name"] == "12 Willow Ct"
    assert job_of(sf, wo_id)["customer_id"] == mapping.sf_customer_id
