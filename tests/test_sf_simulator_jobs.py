"""The ServiceFusion simulator over real HTTPS on loopback: jobs, listing quirks, hooks, lookups."""

from __future__ import annotations

import pytest

from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.sf_support import BAD_REQUEST, TS, raw_fixture, seed_building, seed_jobs, sim_fixture

sim = sim_fixture(rate_limit=1000)
raw = raw_fixture


# --- jobs ---------------------------------------------------------------------------------------------
def test_create_job_resolves_ids_or_headers_and_applies_defaults(sim, raw):
    _, building = seed_building(sim)
    resp = raw.post(
        "/jobs",
        {
            "customer_name": "100 Main St",
            "status": "Scheduled",
            "category": 2,
            "source": "PropertyWare",
            "techs_assigned": [{"id": 3}, {"first_name": "Dana", "last_name": "Kowalski"}],
            "check_number": "WO-5",
            "po_number": "WO-5",
            "description": "Leaky tap",
            "custom_fields": [{"name": "propertyWareId", "value": 5}],
            "start_date": "2025-03-01T10:00:00Z",
        },
        expand="techs_assigned,custom_fields",
    )
    assert resp.status_code == 201, resp.text
    job = resp.json()
    assert (job["customer_id"], job["customer_name"], job["parent_customer"]) == (
        building,
        "100 Main St",
        "Oak Portfolio",
    )
    assert (job["status"], job["category"], job["source"]) == ("Scheduled", "HVAC", "PropertyWare")
    assert (job["priority"], job["duration"]) == ("Normal", 3600)
    assert isinstance(job["number"], str) and job["start_date"] == "2025-03-01"
    assert [t["id"] for t in job["techs_assigned"]] == [3, 4]
    assert {f["name"]: f["value"] for f in job["custom_fields"]}["propertyWareId"] == "5"
    # Contact and location default to the customer's primary ones.
    assert (job["contact_first_name"], job["contact_last_name"]) == ("Pat", "Owner")
    assert (job["street_1"], job["city"], job["location_name"]) == ("100 Main St", "Austin", "Primary")
    assert job["closed_at"] is None
    default = raw.post("/jobs", {"customer_name": building}).json()
    assert default["status"] == "Unscheduled"


def test_unknown_job_contact_name_creates_a_contact(sim, raw):
    _, building = seed_building(sim)
    raw.post(
        "/jobs", {"customer_name": building, "contact_first_name": "Tina", "contact_last_name": "Tenant"}
    )
    contacts = raw.get(f"/customers/{building}", expand="contacts").json()["contacts"]
    assert [(c["fname"], c["lname"], c["is_primary"]) for c in contacts] == [
        ("Pat", "Owner", True),
        ("Tina", "Tenant", False),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customer_name"),
        ({"customer_name": "Nobody Inc"}, "customer_name"),
        ({"customer_name": 123456}, "customer_name"),
        ({"customer_name": "BLD", "status": "Teleported"}, "status"),
        ({"customer_name": "BLD", "category": "Gardening"}, "category"),
        ({"customer_name": "BLD", "priority": "HIGH"}, "priority"),
        ({"customer_name": "BLD", "techs_assigned": [{"id": 99}]}, "techs_assigned[0]"),
        ({"customer_name": "BLD", "techs_assigned": "Alex"}, "techs_assigned"),
        ({"customer_name": "BLD", "duration": "long"}, "duration"),
        ({"customer_name": "BLD", "start_date": "tomorrow"}, "start_date"),
        ({"customer_name": "BLD", "time_frame_promised_start": "9am"}, "time_frame_promised_start"),
        ({"customer_name": "BLD", "po_number": 77}, "po_number"),
        ({"customer_name": "BLD", "notes": [{"text": "x"}]}, "notes[0].notes"),
        ({"customer_name": "BLD", "tasks": [{}]}, "tasks[0].description"),
        (
            {"customer_name": "BLD", "custom_fields": [{"name": "buildingNumber", "value": "1"}]},
            "custom_fields[0].name",
        ),
        ({"customer_name": "BLD", "custom_fields": "propertyWareId=1"}, "custom_fields"),
        ({"customer_name": ["BLD"]}, "customer_name"),
    ],
)
def test_job_validation_gets_a_bare_422_array(sim, raw, body, field):
    sim.store.seed_customer({"customer_name": "BLD"})
    resp = raw.post("/jobs", body)
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()]
    assert sim.store.counts()["jobs"] == 0


def test_job_listing_envelope_and_pagination_headers(sim, raw):
    _, building = seed_building(sim)
    seed_jobs(sim, building, 23)
    resp = raw.get("/jobs", sort="id")
    body = resp.json()
    assert set(body) == {"items", "_expandable", "_meta"}
    assert body["_meta"] == {"totalCount": 23, "pageCount": 3, "currentPage": 1, "perPage": 10}
    assert len(body["items"]) == 10 and "custom_fields" not in body["items"][0]
    assert "custom_fields" in body["_expandable"]
    assert (
        resp.headers["X-Pagination-Total-Count"],
        resp.headers["X-Pagination-Page-Count"],
        resp.headers["X-Pagination-Current-Page"],
        resp.headers["X-Pagination-Per-Page"],
    ) == ("23", "3", "1", "10")
    assert "rel=next" in resp.headers["Link"]


def test_per_page_limits_and_the_last_page_quirk(sim, raw):
    _, building = seed_building(sim)
    seed_jobs(sim, building, 61)
    assert raw.get("/jobs", sort="id", **{"per-page": 500}).json()["_meta"]["perPage"] == 50
    assert raw.get("/jobs", sort="id", **{"per-page": 0}).json()["_meta"]["perPage"] == 1
    assert raw.get("/jobs", sort="id", per_page=50).json()["_meta"]["perPage"] == 10  # underscore ignored
    last = raw.get("/jobs", sort="id", page=2, **{"per-page": 50}).json()
    past = raw.get("/jobs", sort="id", page=9, **{"per-page": 50}).json()
    assert past["_meta"]["currentPage"] == 2 and past["items"] == last["items"] and len(past["items"]) == 11


def test_sort_fields_and_expand_on_lists(sim, raw):
    _, building = seed_building(sim)
    ids = seed_jobs(sim, building, 3)
    desc = raw.get("/jobs", sort="-id").json()["items"]
    assert [j["id"] for j in desc] == ids[::-1]
    ignored = raw.get("/jobs", sort="password").json()["items"]  # not allow-listed: default order
    assert [j["id"] for j in ignored] == ids
    slim = raw.get("/jobs", sort="id", fields="id,number,bogus", expand="custom_fields").json()["items"][0]
    assert set(slim) == {"id", "number", "custom_fields"}


def test_job_filters_follow_the_documented_rules(sim, raw):
    _, building = seed_building(sim)
    ids = seed_jobs(sim, building, 12)  # WO-1 … WO-12
    sim.store.set_job_status(ids[0], "Job Closed")
    sim.store.set_job_status(ids[1], "Cancelled")

    def found(**params) -> list[str]:
        return [
            j["check_number"]
            for j in raw.get("/jobs", sort="id", **{"per-page": 50}, **params).json()["items"]
        ]

    assert found(**{"filters[po_number]": "WO-1"}) == ["WO-1", "WO-10", "WO-11", "WO-12"]  # partial match
    assert found(**{"filters[status]": "Job Closed, Cancelled"}) == ["WO-1", "WO-2"]  # CSV = OR, full match
    assert found(**{"filters[status]": "Job"}) == []
    # There is no check_number filter: it is ignored and every job comes back.
    assert len(found(**{"filters[check_number]": "WO-3"})) == 12
    updated = raw.get(f"/jobs/{ids[0]}").json()["updated_at"]
    assert set(found(**{"filters[updated_date][gte]": updated})) >= {"WO-1", "WO-2"}
    sim.store.advance_time(600)
    sim.store.set_job_status(ids[5], "Started")
    later = raw.get(f"/jobs/{ids[5]}").json()["updated_at"]
    assert found(**{"filters[updated_date][gte]": later}) == ["WO-6"]
    assert "WO-6" not in found(**{"filters[updated_date][lte]": updated})
    bad = raw.get("/jobs", sort="id", **{"filters[updated_date][gte]": "last tuesday"})
    assert bad.status_code == 400 and bad.json() == BAD_REQUEST


def test_status_hook_moves_updated_at_and_closed_at(sim, raw):
    _, building = seed_building(sim)
    (job_id,) = seed_jobs(sim, building, 1)
    before = raw.get(f"/jobs/{job_id}").json()
    sim.store.advance_time(120)
    closed = sim.store.set_job_status(job_id, "11_COM")  # by code
    assert closed["status"] == "Completed" and closed["updated_at"] > before["updated_at"]
    assert TS.match(closed["closed_at"])
    reopened = sim.store.set_job_status(job_id, "On Site")
    assert reopened["closed_at"] is None
    with pytest.raises(KeyError):
        sim.store.set_job_status(job_id, "Nope")


def test_invoice_hook_marks_the_job_invoiced(sim, raw):
    _, building = seed_building(sim)
    (job_id,) = seed_jobs(sim, building, 1)
    invoice_id = sim.store.add_invoice(job_id, "149.50")
    job = raw.get(f"/jobs/{job_id}", expand="invoices").json()
    assert job["status"] == "Invoiced" and job["closed_at"] is not None
    assert [i["id"] for i in job["invoices"]] == [invoice_id] and job["invoices"][0]["total"] == 149.5
    listed = raw.get("/invoices", sort="-id").json()["items"]
    assert listed[0]["id"] == invoice_id and listed[0]["po_number"] == "WO-1"
    assert raw.get(f"/invoices/{invoice_id}", fields="id,total").json() == {
        "id": invoice_id,
        "total": 149.5,
        "_expandable": [],
    }


def test_renamed_status_keeps_its_code(sim, raw):
    sim.store.rename_status("06_ONS", "At Property")
    statuses = raw.get("/job-statuses", sort="id", **{"per-page": 50}).json()["items"]
    assert {
        "id": 6,
        "code": "06_ONS",
        "name": "At Property",
        "category": "OPEN_ACTIVE",
        "is_custom": True,
    } in statuses


def test_lookup_lists_are_seeded(raw):
    statuses = raw.get("/job-statuses", sort="id", **{"per-page": 50}).json()["items"]
    assert statuses[0] == {
        "id": 1,
        "code": "01_UNS",
        "name": "Unscheduled",
        "category": "OPEN_ACTIVE",
        "is_custom": False,
    }
    assert {s["category"] for s in statuses} == {"OPEN_ACTIVE", "CLOSED", "CANCELLED"}
    categories = [c["name"] for c in raw.get("/job-categories", sort="id").json()["items"]]
    assert categories == [
        "Maintenance",
        "HVAC",
        "Plumbing",
        "Electrical",
        "Appliance",
        "Inspection",
        "General",
    ]
    techs = raw.get("/techs", sort="id").json()["items"]
    assert [t["email"] for t in techs] == [f"tech{i}@fieldcrew.example" for i in range(1, 9)]
    assert [t["id"] for t in raw.get("/techs", **{"filters[email]": "tech3@"}).json()["items"]] == [3]
    assert raw.get("/techs/2").json()["first_name"] == "Bailey"
    assert set(raw.get("/sources").json()["items"][0]) == {"id", "short_name", "long_name"}
    assert set(raw.get("/payment-types").json()["items"][0]) == {
        "id",
        "code",
        "short_name",
        "type",
        "is_custom",
    }
    assert raw.get("/calendar-tasks").json()["_meta"]["totalCount"] == 2


def test_customer_equipment_is_read_only_under_its_customer(sim, raw):
    _, building = seed_building(sim)
    other = sim.store.seed_customer({"customer_name": "Other"})
    eid = sim.store.add_equipment(building, type="Water Heater", make="Rheem", serial_number="RH-1")
    listed = raw.get(f"/customers/{building}/equipment").json()["items"]
    assert [e["id"] for e in listed] == [eid]
    assert raw.get(f"/customers/{building}/equipment/{eid}").json()["make"] == "Rheem"
    assert raw.get(f"/customers/{other}/equipment/{eid}").status_code == 404
    assert raw.get("/equipment").status_code == 404
    assert raw.api("POST", f"/customers/{building}/equipment", json={}).status_code == 405


def test_estimates_default_to_the_first_estimate_status(sim, raw):
    _, building = seed_building(sim)
    est = raw.post("/estimates", {"customer_name": building, "opportunity_rating": 4})
    assert est.status_code == 201 and est.json()["status"] == "Estimate Requested"
    assert raw.post("/estimates", {"customer_name": building, "labor_charges": [{}]}).status_code == 422
    assert raw.get("/estimates", sort="id").json()["_meta"]["totalCount"] == 1


def test_dataset_mapping_seeds_customers_and_jobs():
    dataset = {
        "sf_customers": [{"customer_name": "Seeded Portfolio"}],
        "sf_jobs": [{"customer_name": "Seeded Portfolio", "check_number": "WO-9"}],
    }
    with ServiceFusionSimulator(dataset=dataset) as sim:
        assert [c["customer_name"] for c in sim.store.customers()] == ["Seeded Portfolio"]
        assert [j["check_number"] for j in sim.store.jobs()] == ["WO-9"]
    with ServiceFusionSimulator() as sim:
        assert sim.store.counts() == {
            "customers": 0,
            "jobs": 0,
            "estimates": 0,
            "invoices": 0,
            "equipment": 0,
        }
