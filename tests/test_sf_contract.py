"""Contract test: the ServiceFusion simulator's real responses (status, headers, bodies) against the OpenAPI
document written from the spec (docs/servicefusion-openapi.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sync.simulators.servicefusion import ServiceFusionSimulator
from sync.simulators.servicefusion.resources import ROUTES
from tests.sf_support import Raw, seed_building, seed_jobs

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "servicefusion-openapi.yaml"
BASE = "urn:servicefusion-openapi"
METHODS = ("get", "post", "put", "patch", "delete")
LOOKUPS = ("/job-statuses", "/job-categories", "/sources", "/payment-types", "/techs", "/calendar-tasks")


class Contract:
    """Finds the documented operation and response for a real response and validates it."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(BASE, resource)
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", t) + "$"), t) for t in spec["paths"]
        ]
        self.seen: set[tuple[str, str, int]] = set()

    def _resolve(self, obj: dict, pointer: str) -> tuple[dict, str]:
        while "$ref" in obj:
            pointer = obj["$ref"][1:]
            obj = self.spec
            for part in pointer.strip("/").split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    @staticmethod
    def _escape(part: str) -> str:
        return part.replace("~", "~0").replace("/", "~1")

    def template_for(self, path: str) -> str:
        matches = [t for regex, t in self.templates if regex.match(path)]
        assert matches, f"{path} is not documented"
        return min(matches, key=lambda t: t.count("{"))  # a literal path beats a template

    def check(self, resp: requests.Response) -> requests.Response:
        method = resp.request.method.lower()
        template = self.template_for(urlsplit(resp.request.url).path)
        operation = self.spec["paths"][template].get(method)
        assert operation is not None, f"{method.upper()} {template} is not documented"
        status = str(resp.status_code)
        assert status in operation["responses"], f"{method.upper()} {template}: {status} is not documented"
        pointer = "/".join(["", "paths", self._escape(template), method, "responses", status])
        response, pointer = self._resolve(operation["responses"][status], pointer)
        for name, header in response.get("headers", {}).items():
            header, _ = self._resolve(header, "")
            value = resp.headers.get(name)
            if header.get("required"):
                assert value is not None, f"{method.upper()} {template} {status}: header {name} missing"
            if value is not None and header["schema"].get("type") == "integer":
                assert re.fullmatch(r"\d+", value), f"header {name}={value!r} is not an integer"
                self._validate(int(value), header["schema"])
        content = response.get("content")
        if not content:
            assert not resp.content, f"{method.upper()} {template} {status}: undocumented body"
        else:
            media = resp.headers.get("Content-Type", "").split(";")[0]
            assert media in content, f"{method.upper()} {template} {status}: {media} not documented"
            if media == "application/json":
                schema_pointer = f"{pointer}/content/{self._escape(media)}/schema"
                self._validate(resp.json(), {"$ref": f"{BASE}#{quote(schema_pointer, safe='/~')}"})
        self.seen.add((method, template, resp.status_code))
        return resp

    def _validate(self, instance, schema: dict) -> None:
        errors = sorted(OAS31Validator(schema, registry=self.registry).iter_errors(instance), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def test_the_openapi_document_is_valid(spec):
    validate_spec(spec)


def test_every_simulated_route_is_documented(spec):
    for route in ROUTES:
        documented = spec["paths"].get(route.template)
        assert documented is not None, f"{route.template} is not in the OpenAPI document"
        for method in route.methods:
            assert method.lower() in documented, f"{method} {route.template} is not documented"
        for method in ("put", "patch", "delete"):
            assert "405" in documented.get(method, {}).get("responses", {}) or method not in documented


def test_simulator_responses_match_the_contract(spec):
    contract = Contract(spec)
    with ServiceFusionSimulator(rate_limit=10_000) as sim:
        raw = Raw(sim)
        c = contract.check
        # OAuth
        token = c(raw.token_response()).json()
        c(
            raw.request(
                "POST",
                "/oauth/access_token",
                json={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            )
        )
        c(raw.token_response(client_secret="wrong"))
        sim.oauth.configure(error_array=True)
        c(raw.token_response(client_secret="wrong"))
        sim.oauth.configure(error_array=False)
        c(raw.request("GET", "/oauth/access_token"))
        c(
            raw.request(
                "GET",
                "/oauth/authorize",
                params={
                    "response_type": "code",
                    "client_id": sim.client_id,
                    "redirect_uri": "https://app.example/cb",
                },
            )
        )
        c(raw.request("GET", "/oauth/authorize", params={"response_type": "token"}))
        # Account and auth errors
        c(raw.get("/me"))
        c(raw.request("GET", "/v1/me"))
        c(
            raw.request(
                "GET",
                "/v1/me",
                params={"access_token": raw.token()},
                headers={"Authorization": f"Bearer {raw.token()}"},
            )
        )
        c(raw.api("GET", "/me", headers={"Accept": "image/png"}))
        c(raw.get("/me", format="xml"))
        for method in ("PUT", "PATCH", "DELETE"):
            for path in (
                "/me",
                "/customers",
                "/customers/1",
                "/jobs",
                "/jobs/1",
                "/estimates",
                "/invoices",
                "/customers/1/equipment",
            ):
                c(raw.api(method, path, json={}))
        for path in ("/invoices", "/customers/1/equipment", *LOOKUPS):
            c(raw.api("POST", path, json={}))
        # Customers
        parent, building = seed_building(sim)
        everything = "contacts,contacts.phones,contacts.emails,locations,custom_fields"
        created = c(
            raw.post(
                "/customers",
                {
                    "customer_name": "Contract Co",
                    "parent_customer": parent,
                    "tags": ["vip"],
                    "contacts": [
                        {
                            "fname": "Cy",
                            "lname": "Contract",
                            "phones": [{"phone": "1"}],
                            "emails": [{"email": "cy@example.com"}],
                        }
                    ],
                    "locations": [{"street_1": "1 Spec Way"}],
                },
                expand=everything,
            )
        ).json()
        c(raw.post("/customers", {"customer_name": "x" * 50}))
        c(raw.api("POST", "/customers", data=b"{", headers={"Content-Type": "application/json"}))
        c(raw.api("POST", "/customers", data={"customer_name": "form"}))
        c(raw.get("/customers", sort="-id", expand=everything))
        c(raw.get("/customers", sort="id", **{"filters[city]": "Austin"}))
        c(raw.get(f"/customers/{created['id']}", expand=everything))
        c(raw.get(f"/customers/{created['id']}"))
        c(raw.get("/customers/1"))
        eid = sim.store.add_equipment(building, type="Boiler", install_date="2020-01-01")
        c(raw.get(f"/customers/{building}/equipment", expand="custom_fields"))
        c(raw.get(f"/customers/{building}/equipment/{eid}"))
        c(raw.get(f"/customers/{parent}/equipment/{eid}"))
        # Jobs
        job_expand = (
            "agents,custom_fields,techs_assigned,tasks,notes,products,services,other_charges,"
            "labor_charges,expenses,equipment,invoices,pictures,documents,payments,signatures,"
            "printable_work_order,visits"
        )
        job = c(
            raw.post(
                "/jobs",
                {
                    "customer_name": building,
                    "status": "Scheduled",
                    "category": "HVAC",
                    "source": 1,
                    "payment_type": "Cash",
                    "priority": "High",
                    "check_number": "WO-1",
                    "po_number": "WO-1",
                    "start_date": "2025-05-01",
                    "time_frame_promised_start": "08:00",
                    "techs_assigned": [{"id": 1}],
                    "agents": [{"id": 8}],
                    "notes": [{"notes": "Gate code 42"}],
                    "tasks": [{"description": "Inspect"}],
                    "products": [{"name": "Valve", "price": 12.5, "multiplier": 2}],
                    "services": [{"name": "Labor"}],
                    "custom_fields": [{"name": "propertyWareId", "value": "1"}],
                },
                expand=job_expand,
            )
        ).json()
        seed_jobs(sim, building, 12, prefix="CT-")
        sim.store.add_invoice(job["id"], "25.00")
        c(raw.post("/jobs", {"customer_name": building, "status": "Nope"}))
        c(raw.api("POST", "/jobs", data=b"[]", headers={"Content-Type": "application/json"}))
        c(raw.get("/jobs", sort="-updated_at", expand="custom_fields", **{"per-page": 5}))
        c(
            raw.get(
                "/jobs",
                sort="id",
                page=99,
                **{"filters[po_number]": "CT-1", "filters[status]": "Unscheduled"},
            )
        )
        c(raw.get("/jobs", sort="id", **{"filters[updated_date][gte]": "not a date"}))
        c(raw.get(f"/jobs/{job['id']}", expand=job_expand))
        c(raw.get("/jobs/1"))
        # Estimates, invoices, lookups
        estimate = c(raw.post("/estimates", {"customer_name": building, "opportunity_rating": 3})).json()
        c(raw.post("/estimates", {}))
        c(raw.get("/estimates", sort="id"))
        c(raw.get(f"/estimates/{estimate['id']}"))
        c(raw.get("/estimates/1"))
        invoice = c(raw.get("/invoices", sort="id")).json()["items"][0]
        c(raw.get(f"/invoices/{invoice['id']}"))
        c(raw.get("/invoices/1"))
        for path in LOOKUPS:
            c(raw.get(path, sort="id", **{"per-page": 50}))
            c(raw.get(f"{path}/1"))
            c(raw.get(f"{path}/999"))
        c(raw.get("/techs", **{"filters[email]": "tech1"}))
        c(raw.get("/job-categories", format="xml"))
        # Faults
        for kind in ("p500", "p502", "p503", "p504"):
            sim.faults.configure(**{kind: 1.0}, times=2)
            c(raw.get("/me"))
            c(raw.post("/jobs", {"customer_name": building}))
        sim.faults.configure(commit_then_504=1.0, times=1)
        c(raw.post("/jobs", {"customer_name": building}))
        sim.faults.configure(p500=1.0, path="/oauth/*", times=1)
        c(raw.token_response())
        # Rate limit (a fresh token with a tiny allowance), with Retry-After switched on
        sim.rate_limiter.configure(limit=1, window=60, retry_after=True)
        limited = Raw(sim)
        c(limited.get("/jobs/1"))
        c(limited.get("/jobs", sort="id"))
        c(limited.post("/jobs", {"customer_name": building}))
        c(limited.get("/me"))

    documented = {(m, t) for t, item in spec["paths"].items() for m in METHODS if m in item}
    exercised = {(m, t) for m, t, _ in contract.seen}
    assert documented - exercised == set(), "documented but never exercised"
    statuses = {s for _, _, s in contract.seen}
    assert {200, 201, 302, 400, 401, 404, 405, 415, 422, 429, 500, 502, 503, 504} <= statuses


def test_the_contract_check_catches_drift(spec):
    contract = Contract(spec)
    with ServiceFusionSimulator() as sim:
        raw = Raw(sim)
        _, building = seed_building(sim)
        job = raw.post("/jobs", {"customer_name": building})
        contract.check(job)
        tampered = [
            b'{"id": 1}',  # required attributes missing
            job.content.replace(b'"_expandable"', b'"expandable"'),  # unknown attribute, marker missing
            job.content.replace(b'+00:00"', b'Z"'),  # timestamps must carry +00:00
        ]
        for body in tampered:
            job._content = body
            with pytest.raises(AssertionError):
                contract.check(job)
        invalid = raw.post("/jobs", {})
        invalid._content = b'{"field": "customer_name", "message": "bare array expected"}'
        with pytest.raises(AssertionError):
            contract.check(invalid)
        me = contract.check(raw.get("/me"))
        assert me.json()["_expandable"] == []
        without_marker = b'{"id": 1, "first_name": "A", "last_name": "B", "email": "a@b.example"}'
        with_relations = me.content.replace(b'"_expandable":[]', b'"_expandable":["techs"]')
        assert with_relations != me.content
        for body in (without_marker, with_relations):
            me._content = body  # the single-record marker is required, and /me has nothing to expand
            with pytest.raises(AssertionError):
                contract.check(me)
        missing_header = raw.get("/me")
        del missing_header.headers["X-Rate-Limit-Remaining"]
        with pytest.raises(AssertionError, match="X-Rate-Limit-Remaining"):
            contract.check(missing_header)
