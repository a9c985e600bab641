"""The PropertyWare client's writes against the simulator: read-modify-write updates against a full-replace
service, close and "already closed", create with its location rules, approvals, notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.clients.propertyware import WorkOrder
from sync.errors import AlreadyClosed, NotFound, RemoteValidationError
from sync.simulators.propertyware import PropertyWareSimulator
from tests import pw_helpers
from tests.pw_helpers import TINY, fast_client, open_work_order

# module-scoped simulator (inline and multiRef), reset before each test, and a fast client
sim, fresh, client = pw_helpers.sim_in_both_modes, pw_helpers.fresh_state, pw_helpers.client_for_sim


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
