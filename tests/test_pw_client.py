"""The PropertyWare client's reads over HTTP against the simulator: every read operation, paging to the
end, incremental reads, configuration and what must never leak."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from sync.clients.propertyware import PropertyWareClient
from sync.clients.propertyware.throttle import Throttle
from sync.errors import AuthError, MalformedReply
from sync.simulators.propertyware import PropertyWareSimulator
from tests import pw_helpers
from tests.pw_helpers import TINY, fast_client, open_work_order

WOS = {w["ID"]: w for w in TINY.work_orders}
BUILDINGS = {b["ID"]: b for b in TINY.buildings}

# module-scoped simulator (inline and multiRef), reset before each test, and a fast client
sim, fresh, client = pw_helpers.sim_in_both_modes, pw_helpers.fresh_state, pw_helpers.client_for_sim


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


def test_given_portfolios_resolve_buildings_without_listing_them_again(sim, client):
    known = [{"ID": p["ID"], "name": p["name"], "abbreviation": p["abbreviation"]} for p in TINY.portfolios]
    buildings = list(client.iter_buildings(portfolios=known))
    assert all(b.portfolio_id == BUILDINGS[b.id]["_portfolioID"] for b in buildings)
    assert "getAllPortfolios" not in sim.request_counts()
    # A label they lack lists the portfolios once for the call, however many buildings carry it.
    lacking = known[1:]
    assert sum(b["_portfolioID"] == known[0]["ID"] for b in TINY.buildings) > 1
    assert all(
        b.portfolio_id == BUILDINGS[b.id]["_portfolioID"] for b in client.iter_buildings(portfolios=lacking)
    )
    assert sim.request_counts()["getAllPortfolios"] == 1
    # Nothing is kept on the client: the next call without them lists the portfolios again.
    assert all(b.portfolio_id == BUILDINGS[b.id]["_portfolioID"] for b in client.iter_buildings())
    assert sim.request_counts()["getAllPortfolios"] == 2


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


def test_a_read_by_ids_stops_once_every_id_came_back(client, sim):
    some = [w["ID"] for w in TINY.work_orders[:20]]  # two full pages: no empty third one is asked for
    assert sorted(w.id for w in client.iter_work_orders(ids=some)) == sorted(some)
    assert sim.request_counts()["getWorkOrders"] == 2


def test_paging_respects_the_page_cap(sim):
    """Reaching the cap (PW_MAX_PAGES) hands out what was read, then fails the read: never a silent stop."""
    client = fast_client(sim, page_cap=2)
    got: list = []
    with pytest.raises(MalformedReply, match="PW_MAX_PAGES"):
        got.extend(client.iter_work_orders())
    assert len(got) == 20
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
    stamp = sim.store.edit_work_order(wo_id, status="Paused")["_lastModified"]
    cursor = datetime.fromisoformat(stamp) + timedelta(microseconds=1)
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
    throttle = Throttle(max_rps=20)  # a slot every 50 ms
    started = time.monotonic()
    waits = [throttle.wait() for _ in range(3)]
    assert waits[0] < 0.01 and time.monotonic() - started >= 0.1
    time.sleep(0.1)  # idle for two slots: the next call goes straight out
    assert throttle.wait() < 0.01
    assert Throttle(max_rps=0).wait() == 0.0


def _call_in_thread(throttle: Throttle, urgency: int, order: list) -> threading.Thread:
    def call() -> None:
        throttle.wait(urgency)
        order.append((urgency, time.monotonic()))

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_at_each_slot_the_most_urgent_waiting_caller_goes_first():
    throttle = Throttle(max_rps=4)  # a slot every 250 ms
    throttle.wait()  # the first slot is taken: the others queue for the next
    order: list = []
    low = _call_in_thread(throttle, 0, order)
    time.sleep(0.05)
    high = _call_in_thread(throttle, 2, order)  # arrives later, goes first
    for thread in (low, high):
        thread.join(timeout=5)
    assert [u for u, _ in order] == [2, 0]
    assert order[1][1] - order[0][1] >= 0.24  # still a slot apart


def test_a_less_urgent_caller_leaves_a_free_slot_to_a_running_urgent_step_for_one_interval():
    throttle = Throttle(max_rps=4)
    order: list = []
    throttle.join(3)  # an urgent step runs, and asks for no slot until it ends
    started = time.monotonic()
    _call_in_thread(throttle, 0, order).join(timeout=5)
    assert 0.24 <= order[0][1] - started < 0.5  # the free slot waited one interval, then was taken
    # While the urgent step still runs, the next low caller waits; the step ending lets it go at its slot.
    late = _call_in_thread(throttle, 0, order)
    time.sleep(0.05)
    ended = time.monotonic()
    throttle.leave(3)
    late.join(timeout=5)
    assert order[1][1] - order[0][1] >= 0.24 and order[1][1] - ended < 0.3


def test_a_client_queues_its_calls_at_its_urgency_and_holds_it_until_closed(sim):
    # max_rps 4.5 is this test's own: the shared throttle of this account at that rate is fresh.
    low = PropertyWareClient(sim.url, sim.username, sim.password, max_rps=4.5)
    urgent = PropertyWareClient(sim.url, sim.username, sim.password, max_rps=4.5, urgency=2)
    throttle = urgent._throttle
    assert low._throttle is throttle and (low.urgency, urgent.urgency) == (0, 2)
    for client in (low, urgent):  # WSDLs loaded, so the calls below differ only in their queue
        client.echo("x")
    throttle.wait()  # the next slot is taken: both callers queue for the one after
    low_call = threading.Thread(target=lambda: list(low.iter_leases()))
    low_call.start()
    time.sleep(0.05)
    urgent_call = threading.Thread(target=lambda: list(urgent.iter_portfolios()))  # arrives later
    urgent_call.start()
    for thread in (low_call, urgent_call):
        thread.join(timeout=10)
    calls = sim.recent_calls()
    assert calls.index("getAllPortfolios") < calls.index("getLeases")
    # Open, the urgent client holds its place: a less urgent caller leaves it a free slot first.
    time.sleep(0.5)
    assert throttle.wait() >= 0.2
    urgent.close()
    time.sleep(0.5)
    assert throttle.wait() < 0.05


def test_clients_of_one_account_share_the_throttle_so_the_cap_is_the_processs(sim):
    first = PropertyWareClient(sim.url, sim.username, sim.password, max_rps=3.0)
    second = PropertyWareClient(sim.url, sim.username, sim.password, max_rps=3.0)
    other_user = PropertyWareClient(sim.url, "someone-else", sim.password, max_rps=3.0)
    assert first._throttle is second._throttle
    assert other_user._throttle is not first._throttle
    started = time.monotonic()
    for client in (first, second, first, second):
        client.echo("x")
    # four calls through one 3/s cap need three intervals, whichever client made them
    assert time.monotonic() - started >= 3 / 3.0 - 0.05
