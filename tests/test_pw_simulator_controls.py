"""The PropertyWare simulator's failure injection as seen on the wire, its user-side store and its JSON
control API."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import requests
from lxml import etree

from sync.simulators.propertyware.faults import FaultInjector
from tests import pw_helpers
from tests.pw_helpers import SOAP_ENV, TINY, echo, envelope, fault_of, parse, post, returned, work_orders_call

# a module-scoped inline simulator, reset before each test
sim, fresh = pw_helpers.inline_sim, pw_helpers.fresh_inline_state


# --- injected failures, seen on the wire --------------------------------------------------------------------


def test_reset_before_drops_the_connection(sim):
    sim.faults.configure("echoString", reset_before=1.0, times=1)
    with pytest.raises(requests.ConnectionError):
        post(sim, echo("x"))
    assert returned(post(sim, echo("x")), "echoString").text == "x"


def test_reset_during_sends_part_of_the_body_then_drops(sim):
    sim.faults.configure("getWorkOrders", reset_during=1.0, times=1)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        post(sim, work_orders_call("<pageNumber>1</pageNumber>"))


def test_truncate_sends_a_complete_http_message_with_broken_xml(sim):
    sim.faults.configure("getWorkOrders", truncate=1.0, times=1)
    response = post(sim, work_orders_call("<pageNumber>1</pageNumber>"))
    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)


@pytest.mark.parametrize("status", [502, 503, 504, 200])
def test_maintenance_pages_are_html(sim, status):
    sim.faults.configure("echoString", maintenance=1.0, maintenance_status=status, times=1)
    response = post(sim, echo("x"))
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html") and b"maintenance" in response.content


def test_random_faults_are_server_faults(sim):
    sim.faults.configure("echoString", fault=1.0, times=1)
    code, text, _ = fault_of(post(sim, echo("x")))
    assert code == "soapenv:Server" and text


def test_latency_delays_the_answer_past_a_short_timeout(sim):
    sim.faults.configure("echoString", latency=0.5, times=1)
    with pytest.raises(requests.Timeout):
        post(sim, echo("x"), timeout=0.1)
    assert returned(post(sim, echo("x")), "echoString").text == "x"


def test_hostile_xml_answers_carry_a_billion_laughs_dtd(sim):
    sim.faults.configure("echoString", hostile_xml=1.0, times=1)
    response = post(sim, echo("x"))
    assert response.status_code == 200 and b"<!DOCTYPE lolz" in response.content


def test_empty_body_answers_200_without_an_op_response(sim):
    sim.faults.configure("echoString", empty_body=1.0, times=1)
    response = post(sim, echo("x"))
    assert response.status_code == 200 and len(parse(response).find(f"{{{SOAP_ENV}}}Body")) == 0


def test_faults_are_per_operation_and_seeded():
    def decisions(seed: int) -> list:
        f = FaultInjector(seed)
        f.configure("getWorkOrders", reset_before=0.3, truncate=0.3, maintenance=0.2)
        return [f.decide("getWorkOrders").kind for _ in range(50)] + [f.decide("echoString").kind]

    assert decisions(7) == decisions(7)
    assert decisions(7) != decisions(8)
    assert decisions(7)[-1] is None
    assert {k for k in decisions(7) if k} <= {"reset_before", "truncate", "maintenance"}


def test_bad_fault_settings_are_refused():
    f = FaultInjector()
    with pytest.raises(ValueError, match="reset_before must be a probability"):
        f.configure(reset_before=2)
    with pytest.raises(ValueError, match="maintenance_status"):
        f.configure(maintenance=1, maintenance_status=418)


# --- state as a PropertyWare user, and the control API ----------------------------------------------------


def test_user_edits_bump_the_hidden_last_modified(sim):
    wo = TINY.work_orders[0]
    before = datetime.fromisoformat(sim.store.get_work_order(wo["ID"])["_lastModified"])
    after = sim.store.edit_work_order(wo["ID"], status="On Site")
    assert after["status"] == "On Site" and datetime.fromisoformat(after["_lastModified"]) > before
    with pytest.raises(ValueError, match="number"):
        sim.store.edit_work_order(wo["ID"], number=5)
    with pytest.raises(KeyError):
        sim.store.edit_work_order(1, status="x")


def test_user_created_and_deleted_work_orders(sim):
    building = next(b for b in TINY.buildings if b["multiUnit"])
    new_id = sim.store.create_work_order(building=building["ID"], description="Leak", status="Scheduled")
    created = sim.store.get_work_order(new_id)
    assert created["number"] == max(w["number"] for w in TINY.work_orders) + 1
    assert created["location"].endswith(f"| {building['abbreviation']}")
    assert {cf["fieldName"]: cf["value"] for cf in created["customFields"]}["sfJobId"] == ""
    sim.store.delete_work_order(new_id)
    assert new_id not in {w["ID"] for w in sim.store.work_orders()}


def control(sim, method: str, path: str, body: dict | None = None) -> requests.Response:
    return requests.request(
        method, f"{sim.control_url}/{path}", data=json.dumps(body) if body else None, timeout=5
    )


def test_control_api(sim):
    assert control(sim, "GET", "health").json() == {"ok": True}
    assert (
        control(
            sim, "POST", "faults", {"operation": "echoString", "maintenance": 1.0, "times": 1}
        ).status_code
        == 200
    )
    assert control(sim, "GET", "faults").json()[0]["operation"] == "echoString"
    assert post(sim, echo("x")).status_code in (502, 503, 504)
    assert control(sim, "DELETE", "faults").json() == []
    wo = TINY.work_orders[0]["ID"]
    patched = control(
        sim, "PATCH", f"work-orders/{wo}", {"status": "Paused", "description": "Heizung kaputt"}
    )
    assert patched.status_code == 200 and patched.json()["status"] == "Paused"
    assert control(sim, "GET", f"work-orders/{wo}").json()["description"] == "Heizung kaputt"
    building = TINY.buildings[0]["ID"]
    created = control(sim, "POST", "work-orders", {"building": building, "description": "From the UI"})
    assert created.status_code == 201
    new_id = created.json()["ID"]
    assert control(sim, "DELETE", f"work-orders/{new_id}").json() == {"deleted": new_id}
    assert control(sim, "POST", "settings", {"page_size": 4, "multiref": True}).json()["page_size"] == 4
    assert sim.page_size == 4 and sim.multiref
    state = control(sim, "GET", "state").json()
    assert state["counts"]["work_orders"] == len(TINY.work_orders)
    assert state["requests"]["echoString"] == 1
    assert len(control(sim, "GET", "vendors").json()) == len(TINY.vendors)
    assert control(sim, "POST", "reset", {}).json()["counts"]["work_orders"] == len(TINY.work_orders)
    assert control(sim, "GET", f"work-orders/{wo}").json()["status"] == TINY.work_orders[0]["status"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("GET", "nothing-here", None, 404, "no control endpoint"),
        ("GET", "work-orders/1", None, 404, "no work order 1"),
        ("PATCH", "work-orders/{wo}", {"colour": "red"}, 400, "cannot edit work-order field(s) colour"),
        ("POST", "work-orders", {"description": "x"}, 400, "'building'"),
        ("POST", "faults", {"reset_before": 5}, 400, "probability"),
        ("POST", "settings", {"page_size": 0}, 400, "page_size"),
        ("POST", "settings", {"speed": 3}, 400, "unknown setting"),
    ],
)
def test_control_api_errors_are_clear(sim, method, path, body, status, fragment):
    response = control(sim, method, path.format(wo=TINY.work_orders[0]["ID"]), body)
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_request_counts_by_operation(sim):
    post(sim, echo("a"))
    post(sim, echo("b"))
    post(sim, envelope("<ser:getVendors/>"))
    requests.get(sim.wsdl_url, auth=(sim.username, sim.password), timeout=5)
    assert sim.request_counts() == {"echoString": 2, "getVendors": 1, "wsdl": 1}


def test_the_base_latency_is_the_response_time_the_simulators_own_work_counts_towards_it(sim, monkeypatch):
    from sync.simulators.propertyware import operations

    slow_work = 0.6  # as if encoding thousands of records took that long
    real_call = operations.call

    def slow_call(*args, **kwargs):
        time.sleep(slow_work)
        return real_call(*args, **kwargs)

    previous = sim.latency
    sim.latency = 1.0
    try:
        started = time.monotonic()
        assert returned(post(sim, echo("x")), "echoString").text == "x"
        quick = time.monotonic() - started
        monkeypatch.setattr(operations, "call", slow_call)
        started = time.monotonic()
        assert returned(post(sim, echo("x")), "echoString").text == "x"
        slow = time.monotonic() - started
    finally:
        sim.latency = previous
    assert quick >= 1.0 and slow >= 1.0
    assert slow < 1.0 + slow_work - 0.15  # not latency + work: the work ran inside the latency
