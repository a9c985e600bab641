"""The PropertyWare client driven over HTTP against the simulator: every operation, paging, incremental
reads, writes with PropertyWare's semantics, every injected failure, and what must never leak."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from sync.errors import (
    AlreadyClosed,
    AmbiguousWriteError,
    AuthError,
    NotFound,
    PermanentError,
    RemoteValidationError,
    TransientError,
)
from sync.propertyware import PropertyWareClient, WorkOrder
from sync.propertyware.throttle import Throttle
from sync.simulators.propertyware import PropertyWareSimulator
from tests.pw_helpers import TINY, fast_client

WOS = {w["ID"]: w for w in TINY.work_orders}
BUILDINGS = {b["ID"]: b for b in TINY.buildings}


@pytest.fixture(scope="module", params=[False, True], ids=["inline", "multiref"])
def sim(request):
    with PropertyWareSimulator(dataset=TINY, page_size=10, multiref=request.param) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(sim):
    sim.reset()
    sim.page_size = 10


@pytest.fixture
def client(sim):
    return fast_client(sim)


def open_work_order() -> dict:
    return next(w for w in TINY.work_orders if w["status"] == "Dispatched")


# --- reads ------------------------------------------------------------------------------------------------


def test_echo_round_trips_non_ascii(client):
    text = "Zoë Peña — Calefacción 暖气 浴室"
    assert client.echo(text) == text


def test_portfolios_with_their_owner(client):
    portfolios = list(client.iter_portfolios())
    assert [p.id for p in portfolios] == sorted(p["ID"] for p in TINY.portfolios)
    contacts = {c["ID"]: c for c in TINY.contacts}
    for p, raw in zip(portfolios, sorted(TINY.portfolios, key=lambda x: x["ID"]), strict=True):
        owner = contacts[raw["owners"][0]["ID"]]
        assert (p.name, p.abbreviation, p.active) == (raw["name"], raw["abbreviation"], raw["active"])
        assert (p.owner_first_name, p.owner_last_name, p.owner_email) == (
            owner["firstName"],
            owner["lastName"],
            owner["email"],
        )
    assert any(not p.active for p in portfolios)


def test_buildings_resolve_their_portfolio(client):
    buildings = list(client.iter_buildings())
    assert len(buildings) == len(TINY.buildings)
    for b in buildings:
        raw = BUILDINGS[b.id]
        assert b.portfolio_id == raw["_portfolioID"]
        assert (b.multi_unit, b.rentable, b.address, b.zip) == (
            raw["multiUnit"],
            raw["rentable"],
            raw["address"],
            raw["zip"],
        )
        assert b.address2 == ""  # missing text is ""
    portfolio = TINY.portfolios[0]["ID"]
    for_portfolio = list(client.iter_buildings_for_portfolio(portfolio))
    assert {b.id for b in for_portfolio} == {
        b["ID"] for b in TINY.buildings if b["_portfolioID"] == portfolio
    }
    assert all(b.portfolio_id == portfolio for b in for_portfolio)


def test_units_all_and_by_building(client):
    units = list(client.iter_units())
    assert sorted(u.id for u in units) == sorted(u["ID"] for u in TINY.units)
    building = TINY.units[0]["buildingID"]
    assert {u.id for u in client.iter_units(building_id=building)} == {
        u["ID"] for u in TINY.units if u["buildingID"] == building
    }
    assert all(u.building_id == building for u in client.iter_units(building_id=building))


def test_leases_carry_tenants_and_dates(client):
    leases = {lease.id: lease for lease in client.iter_leases()}
    assert set(leases) == {lease["ID"] for lease in TINY.leases}
    for raw in TINY.leases:
        lease = leases[raw["ID"]]
        assert (lease.status, lease.active, lease.unit_id, lease.building_id) == (
            raw["leaseStatus"],
            raw["active"],
            raw["unitID"],
            raw["buildingID"],
        )
        assert [t.id for t in lease.tenants] == [t["ID"] for t in raw["tenants"]]
        assert lease.primary_contact_id == raw["primaryContact"]["ID"]
        assert lease.start_date == datetime.fromisoformat(raw["startDate"]).date()
        assert all(t.contact_type == "TENANT" and t.email for t in lease.tenants)


def test_contacts_by_email(client):
    contact = TINY.contacts[4]
    found = list(client.iter_contacts(email=contact["email"].upper()))
    assert [c.id for c in found] == [contact["ID"]]
    assert len(list(client.iter_contacts())) == len(TINY.contacts)


def test_vendors_in_one_unpaged_call(client, sim):
    vendors = client.get_vendors()
    assert len(vendors) == len(TINY.vendors) > sim.page_size
    assert [v.email for v in vendors[:8]] == [f"tech{i}@fieldcrew.example" for i in range(1, 9)]
    assert sim.request_counts()["getVendors"] == 1


def test_work_orders_are_typed_records_with_nothing_from_zeep(client):
    wos = list(client.iter_work_orders())
    assert len(wos) == len(TINY.work_orders)
    for wo in wos:
        raw = WOS[wo.id]
        assert (wo.number, wo.status, wo.category, wo.description, wo.location) == (
            raw["number"],
            raw["status"],
            raw["category"],
            raw["description"],
            raw["location"],
        )
        assert wo.building_id == raw["building"]["ID"] and wo.portfolio_id == raw["portfolio"]["ID"]
        assert wo.unit_ids == tuple(raw["unitIDs"]) and wo.vendor_ids == tuple(raw["vendorIDs"])
        assert wo.lease_id == (raw["lease"] or {}).get("ID")
        assert wo.cost_estimate == Decimal(str(raw["costEstimate"])).quantize(Decimal("0.01"))
        assert wo.created_date == datetime.fromisoformat(raw["createdDate"]) and wo.created_date.tzinfo
        assert wo.custom_fields["sfJobId"] == ""
        assert_plain(wo.raw)
    assert any(w.category == "HVAC " for w in wos)  # picklist values arrive verbatim


def assert_plain(value) -> None:
    if isinstance(value, dict):
        for v in value.values():
            assert_plain(v)
    elif isinstance(value, list):
        for v in value:
            assert_plain(v)
    else:
        assert value is None or type(value) in (str, int, float, bool, datetime, Decimal, bytes), type(value)


def test_get_and_find_one_work_order(client):
    raw = TINY.work_orders[3]
    assert client.get_work_order(raw["ID"]).number == raw["number"]
    assert client.find_work_order_by_number(raw["number"]).id == raw["ID"]
    assert client.get_work_order(1234567890) is None


def test_work_order_filters_and_newest_first(client):
    building = TINY.work_orders[0]["building"]["ID"]
    assert {w.id for w in client.iter_work_orders(building_id=building)} == {
        w["ID"] for w in TINY.work_orders if w["building"]["ID"] == building
    }
    portfolio = TINY.portfolios[1]["ID"]
    assert {w.id for w in client.iter_work_orders(portfolio_id=portfolio)} == {
        w["ID"] for w in TINY.work_orders if w["portfolio"]["ID"] == portfolio
    }
    some = [TINY.work_orders[i]["ID"] for i in (2, 11, 25)]
    assert sorted(w.id for w in client.iter_work_orders(ids=some)) == sorted(some)
    assert list(client.iter_work_orders(ids=[])) == []
    newest = [w.id for w in client.iter_work_orders(newest_first=True)]
    assert newest == [w["ID"] for w in sorted(TINY.work_orders, key=lambda w: w["createdDate"], reverse=True)]


# --- paging -----------------------------------------------------------------------------------------------


def test_paging_reads_to_the_short_last_page(client, sim):
    assert len(TINY.work_orders) % 10 != 0
    assert len(list(client.iter_work_orders())) == len(TINY.work_orders)
    assert sim.request_counts()["getWorkOrders"] == len(TINY.work_orders) // 10 + 1


def test_paging_stops_on_an_empty_page(client, sim):
    sim.page_size = 8
    assert len(TINY.work_orders) % 8 == 0
    assert len(list(client.iter_work_orders())) == len(TINY.work_orders)
    assert sim.request_counts()["getWorkOrders"] == len(TINY.work_orders) // 8 + 1


def test_paging_respects_the_page_cap(sim):
    client = fast_client(sim, page_cap=2)
    assert len(list(client.iter_work_orders())) == 20
    assert client.stats["getWorkOrders"]["page_cap"] == 1


def test_paging_streams_and_never_repeats_a_row(client, sim):
    """A work order created mid-read shifts newest-first pages; each ID still comes once."""
    rows = client.iter_work_orders(newest_first=True)
    first_page = [next(rows) for _ in range(10)]
    assert sim.request_counts()["getWorkOrders"] == 1  # nothing read ahead
    sim.store.create_work_order(building=TINY.buildings[0]["ID"], description="Brand new")
    rest = list(rows)
    ids = [w.id for w in first_page + rest]
    assert len(ids) == len(set(ids)) == len(TINY.work_orders)


# --- incremental reads ------------------------------------------------------------------------------------


def test_modified_since_returns_what_changed_after_the_cursor(sim):
    client = fast_client(sim, overlap=timedelta(0))
    cursor = datetime.now(UTC)
    assert list(client.iter_work_orders(modified_since=cursor)) == []
    changed = [TINY.work_orders[i]["ID"] for i in (1, 7)]
    for wo_id in changed:
        sim.store.edit_work_order(wo_id, status="On Site")
    assert sorted(w.id for w in client.iter_work_orders(modified_since=cursor)) == sorted(changed)
    unit = TINY.units[2]["ID"]
    sim.store.table("units")[unit]["_lastModified"] = datetime.now(UTC).isoformat()
    assert [u.id for u in client.iter_units(modified_since=cursor)] == [unit]
    assert list(client.iter_buildings(modified_since=cursor)) == []
    assert list(client.iter_leases(modified_since=cursor)) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        list(client.iter_work_orders(modified_since=datetime(2026, 1, 1)))


def test_the_overlap_rereads_a_little_before_the_cursor(sim):
    wo_id = TINY.work_orders[5]["ID"]
    sim.store.edit_work_order(wo_id, status="Paused")
    cursor = datetime.now(UTC)
    assert list(fast_client(sim, overlap=timedelta(0)).iter_work_orders(modified_since=cursor)) == []
    assert [
        w.id for w in fast_client(sim, overlap=timedelta(minutes=5)).iter_work_orders(modified_since=cursor)
    ] == [wo_id]


def test_notes_count_as_modifications(client, sim):
    wo_id = open_work_order()["ID"]
    cursor = datetime.now(UTC) - timedelta(seconds=1)
    note = client.attach_note(wo_id, "ServiceFusion job #42", "ServiceFusion job #42 (id 9001) — Zoë")
    assert (
        note.id and note.subject == "ServiceFusion job #42" and note.body.endswith("Zoë") and note.date.tzinfo
    )
    assert [w.id for w in client.iter_work_orders(modified_since=cursor)] == [wo_id]
    assert sim.store.get_work_order(wo_id)["notes"][-1]["body"] == note.body


# --- writes -----------------------------------------------------------------------------------------------


def test_update_is_read_modify_write_and_preserves_everything_else(client, sim):
    raw = open_work_order()
    approved_at = datetime(2026, 2, 1, 15, 30, tzinfo=UTC)
    client.approve_work_order(raw["ID"], approved_date=approved_at, comment="Owner OK'd up to $500")
    sim.store.edit_work_order(raw["ID"], source="Email", requiredMaterials="2x P-trap")
    before = sim.store.get_work_order(raw["ID"])
    updated = client.update_work_order(raw["ID"], status="Scheduled", custom_fields={"sfJobId": "88123"})
    after = sim.store.get_work_order(raw["ID"])
    assert updated.status == after["status"] == "Scheduled"
    assert updated.custom_fields["sfJobId"] == "88123"
    for field in (
        "approved",
        "approvedDate",
        "approvalComment",
        "source",
        "requiredMaterials",
        "description",
        "category",
        "priority",
        "unitIDs",
        "vendorIDs",
        "location",
        "lease",
        "costEstimate",
        "createdDate",
        "number",
        "building",
    ):
        assert after[field] == before[field], field
    assert after["approved"] is True and datetime.fromisoformat(after["approvedDate"]) == approved_at
    other = {cf["fieldName"]: cf["value"] for cf in after["customFields"]}
    assert (
        other["Service Status"]
        == {cf["fieldName"]: cf["value"] for cf in raw["customFields"]}["Service Status"]
    )


def test_a_bare_full_replace_resets_what_it_leaves_out(client, sim):
    """What the client protects against: PropertyWare's update resets omitted fields."""
    raw = open_work_order()
    client.approve_work_order(raw["ID"], comment="ok")
    sim.store.edit_work_order(raw["ID"], source="Email")
    client.call(
        "updateWorkOrder",
        write=True,
        workOrder={"ID": raw["ID"], "status": "Scheduled", "building": raw["building"]},
    )
    after = sim.store.get_work_order(raw["ID"])
    assert after["status"] == "Scheduled"
    assert (after["approved"], after["approvedDate"], after["approvalComment"], after["source"]) == (
        False,
        None,
        None,
        "None",
    )
    assert after["description"] is None and after["vendorIDs"] == []


def test_update_rejects_unknown_fields_and_missing_work_orders(client):
    wo_id = open_work_order()["ID"]
    with pytest.raises(ValueError, match="cannot change colour"):
        client.update_work_order(wo_id, colour="red")
    with pytest.raises(ValueError, match="no custom field"):
        client.update_work_order(wo_id, custom_fields={"nope": "1"})
    with pytest.raises(NotFound):
        client.update_work_order(1234567890, status="Open")


def test_update_round_trips_non_ascii(client, sim):
    wo_id = open_work_order()["ID"]
    text = "Calefacción rota — 暖气不热, Zoë's Küche"
    assert client.update_work_order(wo_id, description=text).description == text
    assert sim.store.get_work_order(wo_id)["description"] == text
    assert client.get_work_order(wo_id).description == text


def test_close_then_edits_are_refused_as_already_closed(client, sim):
    wo_id = open_work_order()["ID"]
    done = datetime(2026, 2, 20, 17, 0, tzinfo=UTC)
    client.close_work_order(wo_id, category="Plumbing", comments="Fixed — válvula nueva", completed_date=done)
    closed = sim.store.get_work_order(wo_id)
    assert closed["status"] == "Closed" and closed["closingComments"] == "Fixed — válvula nueva"
    assert datetime.fromisoformat(closed["completedDate"]) == done
    with pytest.raises(AlreadyClosed) as excinfo:
        client.update_work_order(wo_id, status="Open")
    assert excinfo.value.faultstring == "Can not edit work order. It is already closed"
    assert not excinfo.value.retryable
    with pytest.raises(AlreadyClosed):
        client.close_work_order(wo_id)
    assert client.stats["updateWorkOrder"] == {"AlreadyClosed": 1}


def test_create_derives_the_location_and_assigns_id_and_number(client, sim):
    building = next(b for b in TINY.buildings if b["multiUnit"])
    unit = next(u["ID"] for u in TINY.units if u["buildingID"] == building["ID"])
    portfolio = next(p for p in TINY.portfolios if p["ID"] == building["_portfolioID"])
    wo = client.create_work_order(
        building_id=building["ID"],
        description="Dryer vent clogged — ñ",
        unit_ids=[unit],
        vendor_ids=[TINY.vendors[0]["ID"]],
        category="Appliance",
        priority="HIGH",
        custom_fields={"sfJobId": ""},
    )
    assert isinstance(wo, WorkOrder) and len(str(wo.id)) == 10
    assert wo.location == f"{portfolio['abbreviation']} | {building['abbreviation']}"
    assert wo.number == max(w["number"] for w in TINY.work_orders) + 1
    assert (wo.status, wo.unit_ids, wo.building_id, wo.portfolio_id) == (
        "Open",
        (unit,),
        building["ID"],
        portfolio["ID"],
    )
    assert sim.store.get_work_order(wo.id)["priorityAsInt"] == 1


def test_create_with_a_wrong_location_or_unit_is_refused(client):
    building = next(b for b in TINY.buildings if b["multiUnit"])
    with pytest.raises(RemoteValidationError, match="Location is invalid") as excinfo:
        client.create_work_order(building_id=building["ID"], description="x", location="NOPE | NOPE")
    assert excinfo.value.fields == [{"field": "location", "message": "Location is invalid"}]
    foreign_unit = next(u["ID"] for u in TINY.units if u["buildingID"] != building["ID"])
    with pytest.raises(RemoteValidationError, match="Location is invalid"):
        client.create_work_order(building_id=building["ID"], description="x", unit_ids=[foreign_unit])


def test_approve_needs_the_entity_id(client):
    number = open_work_order()["number"]  # the WO number is not its ID: PropertyWare ignores it silently
    with pytest.raises(NotFound, match="had no effect"):
        client.approve_work_order(number)


def test_approved_without_a_date_is_refused(client):
    wo_id = open_work_order()["ID"]
    with pytest.raises(RemoteValidationError, match="Approved Date is required"):
        client.call(
            "approveWorkOrder",
            write=True,
            workOrderID=wo_id,
            approved=True,
            approvedDate=None,
            approvalComment="x",
        )


# --- failures -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reset_before", "reset_during", "truncate", "maintenance"])
def test_reads_recover_from_transient_failures(client, sim, kind):
    sim.faults.configure("getWorkOrders", **{kind: 1.0}, times=2)
    assert len(list(client.iter_work_orders())) == len(TINY.work_orders)
    assert client.stats["getWorkOrders"]["retry"] == 2


@pytest.mark.parametrize("status", [200, 502, 503, 504])
def test_maintenance_pages_are_failures_even_with_http_200(client, sim, status):
    sim.faults.configure("getVendors", maintenance=1.0, maintenance_status=status)
    with pytest.raises(TransientError, match="maintenance"):
        client.get_vendors()
    assert sim.request_counts()["getVendors"] == client.retries + 1


def test_truncated_xml_is_a_failure_not_a_short_result(client, sim):
    """zeep's lenient parser would "recover" a cut document into fewer rows; the client refuses it."""
    sim.faults.configure("getVendors", truncate=1.0)
    with pytest.raises(TransientError, match="malformed or truncated XML"):
        client.get_vendors()


def test_a_missing_op_response_is_a_failure(client, sim):
    sim.faults.configure("getVendors", empty_body=1.0, times=1)
    assert len(client.get_vendors()) == len(TINY.vendors)
    sim.faults.configure("getVendors", empty_body=1.0)
    with pytest.raises(TransientError, match="not <getVendorsResponse>"):
        client.get_vendors()


def test_timeouts_are_retried(sim):
    client = fast_client(sim, timeout=0.2)
    sim.faults.configure("echoString", latency=0.5, times=1)
    assert client.echo("late") == "late"
    assert client.stats["echoString"] == {"retry": 1, "ok": 1}


def test_persistent_failures_are_reported_after_the_retries(client, sim):
    sim.faults.configure("echoString", reset_before=1.0)
    with pytest.raises(TransientError, match="connection dropped") as excinfo:
        client.echo("x")
    assert excinfo.value.retryable and excinfo.value.operation == "echoString"
    assert sim.request_counts()["echoString"] == client.retries + 1
    assert client.stats["echoString"] == {"retry": client.retries, "TransientError": 1}


def test_axis_faults_are_permanent_and_keep_their_text(client, sim):
    sim.faults.configure("echoString", fault=1.0, times=1)
    with pytest.raises(PermanentError) as excinfo:
        client.echo("x")
    assert excinfo.value.faultstring in str(excinfo.value)
    assert (
        "faultcode=soapenv:Server" in excinfo.value.detail and "hostname=pw-simulator" in excinfo.value.detail
    )
    assert sim.request_counts()["echoString"] == 1


def test_writes_are_never_retried(client, sim):
    wo_id = open_work_order()["ID"]
    sim.faults.configure("updateWorkOrder", reset_during=1.0, times=1)
    with pytest.raises(AmbiguousWriteError, match="re-read before retrying"):
        client.update_work_order(wo_id, status="Delayed")
    assert sim.request_counts()["updateWorkOrder"] == 1
    # the server did apply it: exactly why the caller must look before writing again
    assert client.get_work_order(wo_id).status == "Delayed"
    sim.faults.configure("updateWorkOrder", maintenance=1.0, maintenance_status=503, times=1)
    with pytest.raises(TransientError) as excinfo:
        client.update_work_order(wo_id, status="Resumed")
    assert not isinstance(excinfo.value, AmbiguousWriteError)  # a 503 page means it never ran
    sim.faults.configure("attachNoteToWorkOrder", truncate=1.0, times=1)
    with pytest.raises(AmbiguousWriteError):
        client.attach_note(wo_id, "s", "b")
    assert sim.request_counts()["attachNoteToWorkOrder"] == 1


def test_bad_credentials_are_an_auth_error_without_retries(sim):
    client = PropertyWareClient(
        sim.url, sim.username, "not-the-password", max_rps=0, retry_min_wait=0.001, retry_max_wait=0.002
    )
    with pytest.raises(AuthError, match="HTTP 401"):
        client.echo("x")
    assert sim.request_counts()["unauthorized"] == 1


def test_dtds_in_responses_are_refused(client, sim):
    sim.faults.configure("echoString", hostile_xml=1.0)
    with pytest.raises(PermanentError, match="DTD"):
        client.echo("x")
    assert sim.request_counts()["echoString"] == 1


# --- configuration, WSDL sources, secrecy -------------------------------------------------------------------


def test_the_wsdl_can_come_from_the_server(sim):
    client = fast_client(sim, wsdl_url=sim.wsdl_url)
    assert client.echo("from the server's WSDL") == "from the server's WSDL"
    assert sim.request_counts()["wsdl"] == 1


def test_a_deployment_specific_impl_namespace_is_fine():
    with PropertyWareSimulator(
        dataset=TINY, impl_namespace="http://pw-app-17.internal:8080/pw/services/PWServices"
    ) as s:
        client = fast_client(s, wsdl_url=s.wsdl_url)
        assert len(client.get_vendors()) == len(TINY.vendors)
        assert client.update_work_order(open_work_order()["ID"], status="Paused").status == "Paused"


def test_credentials_never_reach_logs_reprs_or_errors(sim, caplog):
    caplog.set_level(logging.DEBUG)
    client = fast_client(sim, wsdl_url=sim.wsdl_url)
    sim.faults.configure("echoString", reset_before=1.0, times=1)
    client.echo("x")
    errors = []
    for bad in (PropertyWareClient(sim.url, sim.username, sim.password + "x", max_rps=0),):
        with pytest.raises(AuthError) as excinfo:
            bad.echo("x")
        errors.append(str(excinfo.value))
    everything = caplog.text + repr(client) + " ".join(errors)
    assert sim.password not in everything
    assert "Authorization" not in caplog.text


def test_from_settings_builds_a_client_and_names_missing_variables(sim):
    conf = {
        "URL": sim.url,
        "WSDL_URL": "",
        "USERNAME": sim.username,
        "PASSWORD": sim.password,
        "TIMEOUT": 5.0,
        "VENDORS_TIMEOUT": 5.0,
        "VERIFY": "true",
        "MAX_RPS": 0,
        "RETRIES": 1,
        "RETRY_MIN_WAIT": 0.001,
        "RETRY_MAX_WAIT": 0.002,
    }
    with override_settings(PROPERTYWARE=conf):
        client = PropertyWareClient.from_settings()
        assert client.echo("configured") == "configured"
        assert client.retries == 1
    with (
        override_settings(PROPERTYWARE={**conf, "USERNAME": ""}),
        pytest.raises(ImproperlyConfigured, match="PW_USERNAME"),
    ):
        PropertyWareClient.from_settings()
    with (
        override_settings(PROPERTYWARE={**conf, "VERIFY": "/no/such/ca.pem"}),
        pytest.raises(ImproperlyConfigured, match="PW_VERIFY"),
    ):
        PropertyWareClient.from_settings()


def test_the_session_never_keeps_connections_alive(client):
    assert client._session.headers["Connection"] == "close"
    assert client._session.verify is True


def test_the_throttle_spaces_calls():
    throttle = Throttle(max_rps=20)
    assert throttle.wait() == 0.0
    assert 0.0 < throttle.wait() <= 0.05
    assert Throttle(max_rps=0).wait() == 0.0


def test_a_created_work_order_without_an_id_is_found_among_the_newest():
    """Some deployments answer createWorkOrder (and notes) without the new ID (spec §8)."""
    with PropertyWareSimulator(dataset=TINY, return_created_ids=False) as s:
        client = fast_client(s)
        building = TINY.buildings[0]
        wo = client.create_work_order(building_id=building["ID"], description="Porch light out")
        stored = max(s.store.work_orders(), key=lambda w: w["ID"])
        assert (wo.id, wo.description) == (stored["ID"], "Porch light out")
        assert s.request_counts()["getWorkOrders"] == 1
        note = client.attach_note(wo.id, "subject", "body")
        assert note.id is None and note.subject == "subject"


def test_a_maintenance_page_instead_of_the_wsdl_is_retried(sim):
    client = fast_client(sim, wsdl_url=sim.wsdl_url)
    sim.faults.configure("wsdl", maintenance=1.0, times=1)
    wo_id = open_work_order()["ID"]
    # the first call is a write: loading the WSDL is still retried, and the write goes out once
    client.attach_note(wo_id, "first call", "loads the WSDL")
    assert sim.request_counts()["wsdl"] == 2
    assert client.stats["attachNoteToWorkOrder"] == {"retry": 1, "ok": 1}
