"""The ServiceFusion simulator over real HTTPS on loopback: OAuth, auth errors, customers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.sf_support import (
    BAD_REQUEST,
    NOT_FOUND,
    TS,
    UNAUTHORIZED,
    Raw,
    raw_fixture,
    seed_building,
    sim_fixture,
)

sim = sim_fixture(rate_limit=1000)
raw = raw_fixture


# --- OAuth --------------------------------------------------------------------------------------------
def test_client_credentials_with_form_or_json_body(sim, raw):
    form = raw.token_response()
    as_json = raw.request(
        "POST",
        "/oauth/access_token",
        json={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    for resp in (form, as_json):
        assert resp.status_code == 200
        body = resp.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert len(body["access_token"]) == 32 and body["refresh_token"]
    assert form.json()["access_token"] != as_json.json()["access_token"]


def test_token_lifetime_is_configurable():
    with ServiceFusionSimulator(token_ttl=5) as sim:
        assert Raw(sim).token_response().json()["expires_in"] == 5


def test_bad_client_credentials_get_invalid_client_as_object_or_array():
    expected = {"error": "invalid_client", "error_description": "Invalid client's id or secret."}
    with ServiceFusionSimulator() as sim:
        resp = Raw(sim).token_response(client_secret="wrong")
        assert resp.status_code == 400 and resp.json() == expected
    with ServiceFusionSimulator(token_error_array=True) as sim:
        resp = Raw(sim).token_response(client_id="nobody")
        assert resp.status_code == 400 and resp.json() == [expected]


def test_refresh_rotates_tokens_and_spends_the_old_refresh_token(sim, raw):
    first = raw.token_response().json()
    resp = raw.request(
        "POST",
        "/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert resp.status_code == 200
    second = resp.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    again = raw.request(
        "POST",
        "/oauth/access_token",
        json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # Without the revoke switch the old access token stays valid until it expires.
    assert Raw(sim, first["access_token"]).get("/me").status_code == 200


def test_refresh_can_revoke_the_old_access_token():
    with ServiceFusionSimulator(revoke_on_refresh=True) as sim:
        raw = Raw(sim)
        first = raw.token_response().json()
        raw.request(
            "POST",
            "/oauth/access_token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        )
        assert Raw(sim, first["access_token"]).get("/me").status_code == 401


def test_authorization_code_is_single_use_and_expires_after_60_seconds(sim, raw):
    def authorize() -> str:
        resp = raw.request(
            "GET",
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": sim.client_id,
                "redirect_uri": "https://app.example/cb",
                "state": "xyz",
            },
        )
        assert resp.status_code == 302
        location = urlsplit(resp.headers["Location"])
        assert location.netloc == "app.example"
        query = parse_qs(location.query)
        assert query["state"] == ["xyz"]
        return query["code"][0]

    def exchange(code: str) -> requests.Response:
        return raw.request(
            "POST",
            "/oauth/access_token",
            data={
                "grant_type": "authorization_code",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "code": code,
                "redirect_uri": "https://app.example/cb",
            },
        )

    code = authorize()
    assert exchange(code).status_code == 200
    assert exchange(code).json()["error"] == "invalid_grant"
    stale = authorize()
    sim.store.advance_time(61)
    assert exchange(stale).json()["error"] == "invalid_grant"


def test_unknown_or_missing_grant_type(raw):
    assert raw.request("POST", "/oauth/access_token", data={"grant_type": "password"}).json()["error"] == (
        "unsupported_grant_type"
    )
    assert raw.request("POST", "/oauth/access_token", data={}).json()["error"] == "invalid_request"
    assert (
        raw.request(
            "POST", "/oauth/access_token", data="{nope", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


# --- presenting the token -----------------------------------------------------------------------------
def test_bearer_header_or_query_parameter_but_not_both(sim, raw):
    token = raw.token()
    assert raw.request("GET", "/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert raw.request("GET", "/v1/me", params={"access_token": token}).status_code == 200
    both = raw.request(
        "GET", "/v1/me", params={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert both.status_code == 400 and both.json() == BAD_REQUEST


def test_missing_invalid_and_expired_tokens_get_the_documented_401(sim, raw):
    token = raw.token()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        resp = raw.request("GET", "/v1/jobs", headers=headers)
        assert resp.status_code == 401 and resp.json() == UNAUTHORIZED
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    sim.store.advance_time(3601)
    expired = raw.request("GET", "/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and expired.json() == UNAUTHORIZED


def test_me_returns_the_api_user(raw):
    me = raw.get("/me").json()
    assert set(me) == {"id", "first_name", "last_name", "email", "_expandable"}
    assert me["_expandable"] == []  # a single record, with no relations to expand


# --- documented errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_update_and_delete_are_not_allowed(raw, method):
    one = raw.api(method, "/jobs/200001", json={})
    assert one.status_code == 405
    assert one.json()["message"] == (
        "Method Not Allowed. This url can only handle the following request methods: GET."
    )
    assert one.headers["Allow"] == "GET"
    many = raw.api(method, "/customers", json={})
    assert many.status_code == 405 and many.headers["Allow"] == "GET, POST"
    assert raw.api("POST", "/invoices", json={}).status_code == 405


def test_unknown_records_and_paths_get_404(sim, raw):
    for path in ("/jobs/999", "/customers/1", "/techs/99", "/nothing-here", "/customers/5/contacts"):
        resp = raw.get(path)
        assert resp.status_code == 404 and resp.json() == NOT_FOUND


def test_unsupported_accept_or_content_type_gets_415(raw):
    assert raw.api("GET", "/me", headers={"Accept": "image/png"}).status_code == 415
    form = raw.api("POST", "/customers", data={"customer_name": "X"})
    assert form.status_code == 415 and form.json()["code"] == 415
    both = raw.api("GET", "/me", params={"format": "xml"}, headers={"Accept": "application/json"})
    assert both.status_code == 415


def test_xml_by_accept_or_format_parameter(raw):
    by_accept = raw.api("GET", "/job-categories", headers={"Accept": "application/xml"})
    by_param = raw.get("/job-categories", format="xml")
    for resp in (by_accept, by_param):
        assert resp.headers["Content-Type"].startswith("application/xml")
        assert "<name>Maintenance</name>" in resp.text and resp.text.startswith("<?xml")


@pytest.mark.parametrize(
    "body", ["{not json", "[1, 2]", '"text"', "null", "\xff\xfe", '{"customer_name": NaN}']
)
def test_malformed_or_non_object_json_gets_400_never_500(raw, body):
    resp = raw.api("POST", "/jobs", data=body.encode("latin-1"), headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json() == BAD_REQUEST


def test_plain_http_is_redirected_to_https(sim):
    resp = requests.post(
        sim.http_url + "/v1/jobs?sort=id", json={"customer_name": 1}, allow_redirects=False, timeout=5
    )
    assert resp.status_code == 301 and resp.headers["Location"] == sim.base_url + "/v1/jobs?sort=id"


# --- customers ----------------------------------------------------------------------------------------
def test_create_customer_with_nested_contacts_locations_and_custom_fields(sim, raw):
    body = {
        "customer_name": "Maple Holdings",
        "contacts": [
            {
                "fname": "Ana",
                "lname": "Ruiz",
                "is_primary": True,
                "phones": [{"phone": "512-555-0101", "type": "Mobile"}],
                "emails": [{"email": "ana@example.com", "class": "Personal"}],
            },
            {"fname": "Ben", "lname": "Ruiz"},
        ],
        "locations": [
            {"street_1": "1 Elm St", "city": "Austin", "is_primary": True},
            {"street_1": "1 Elm St", "street_2": "Unit 2", "nickname": "U2"},
        ],
        "custom_fields": [{"name": "portfolioId", "value": 12}],
    }
    resp = raw.post("/customers", body, expand="contacts.phones,contacts.emails,locations,custom_fields")
    assert resp.status_code == 201
    view = resp.json()
    assert resp.headers["Location"].endswith(f"/v1/customers/{view['id']}")
    assert isinstance(view["id"], int) and view["account_number"]  # generated
    assert TS.match(view["created_at"]) and TS.match(view["updated_at"])
    assert [c["fname"] for c in view["contacts"]] == ["Ana", "Ben"]
    assert view["contacts"][0]["phones"][0]["phone"] == "512-555-0101"
    assert view["contacts"][0]["emails"][0]["email"] == "ana@example.com"
    assert [loc["is_primary"] for loc in view["locations"]] == [True, False]
    fields = {f["name"]: f for f in view["custom_fields"]}
    assert fields["portfolioId"]["value"] == "12" and fields["buildingId"]["value"] == ""
    assert set(fields["portfolioId"]) == {
        "name",
        "value",
        "type",
        "group",
        "is_required",
        "created_at",
        "updated_at",
    }
    assert view["_expandable"] == []
    plain = raw.get(f"/customers/{view['id']}").json()
    assert "contacts" not in plain and "locations" not in plain and "custom_fields" not in plain
    assert plain["_expandable"] == ["contacts", "locations", "custom_fields"]
    contacts_only = raw.get(f"/customers/{view['id']}", expand="contacts").json()
    assert "phones" not in contacts_only["contacts"][0]


def test_customer_defaults_parent_inheritance_and_generated_contact(sim, raw):
    parent = raw.post(
        "/customers",
        {"customer_name": "Parent Co", "payment_terms": "NET15", "credit_rating": "A", "is_taxable": False},
    ).json()
    child = raw.post(
        "/customers", {"customer_name": "12 Oak Ave", "parent_customer": "Parent Co"}, expand="contacts"
    ).json()
    assert child["parent_customer"] == "Parent Co"
    assert child["fully_qualified_name"] == "Parent Co:12 Oak Ave"
    assert (child["payment_terms"], child["credit_rating"], child["is_taxable"]) == ("NET15", "A", False)
    assert len(child["contacts"]) == 1 and child["contacts"][0]["is_primary"]
    lone = raw.post("/customers", {"customer_name": "Lone"}).json()
    assert (lone["credit_rating"], lone["payment_terms"]) == ("U", "DUR")
    assert parent["parent_customer"] is None


def test_is_primary_demotes_the_current_primary(raw):
    view = raw.post(
        "/customers",
        {
            "customer_name": "Two Primaries",
            "contacts": [
                {"fname": "A", "lname": "One", "is_primary": True},
                {"fname": "B", "lname": "Two", "is_primary": True},
            ],
        },
        expand="contacts",
    ).json()
    assert [c["is_primary"] for c in view["contacts"]] == [False, True]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customer_name"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_name": "x" * 46}, "customer_name"),
        ({"customer_name": 42}, "customer_name"),
        ({"customer_name": "A", "contacts": [{"fname": "No Last"}]}, "contacts[0].lname"),
        ({"customer_name": "A", "contacts": [{"lname": "No First"}]}, "contacts[0].fname"),
        ({"customer_name": "A", "contacts": "Ann"}, "contacts"),
        (
            {"customer_name": "A", "contacts": [{"fname": "A", "lname": "B", "emails": [{"email": "nope"}]}]},
            "contacts[0].emails[0].email",
        ),
        ({"customer_name": "A", "locations": [{"city": "Austin"}]}, "locations[0].street_1"),
        ({"customer_name": "A", "credit_rating": "AAA"}, "credit_rating"),
        ({"customer_name": "A", "labor_charge_type": "daily"}, "labor_charge_type"),
        ({"customer_name": "A", "parent_customer": "Nobody"}, "parent_customer"),
        ({"customer_name": "A", "payment_type": 999}, "payment_type"),
        ({"customer_name": "A", "is_vip": "maybe"}, "is_vip"),
        (
            {"customer_name": "A", "custom_fields": [{"name": "noSuchField", "value": "1"}]},
            "custom_fields[0].name",
        ),
        (
            {"customer_name": "A", "custom_fields": [{"name": "portfolioId", "value": {"a": 1}}]},
            "custom_fields[0].value",
        ),
    ],
)
def test_customer_validation_gets_a_bare_422_array(sim, raw, body, field):
    resp = raw.post("/customers", body)
    assert resp.status_code == 422
    errors = resp.json()
    assert isinstance(errors, list) and all(set(e) == {"field", "message"} for e in errors)
    assert field in [e["field"] for e in errors]
    assert sim.store.counts()["customers"] == 0


def test_customer_name_limit_message_matches_the_documented_form(raw):
    resp = raw.post("/customers", {"customer_name": "y" * 46})
    assert resp.json() == [
        {"field": "customer_name", "message": "Customer Name is too long (maximum is 45 characters)."}
    ]


def test_missing_required_custom_field(sim, raw):
    sim.store.define_custom_field("customers", "region", required=True)
    resp = raw.post("/customers", {"customer_name": "Needs Region"})
    assert resp.status_code == 422
    assert resp.json() == [{"field": "custom_fields", "message": 'Custom field "region" is required.'}]
    ok = raw.post(
        "/customers", {"customer_name": "Has Region", "custom_fields": [{"name": "region", "value": "N"}]}
    )
    assert ok.status_code == 201


def test_customer_filters(sim, raw):
    seed_building(sim, "100 Main St")
    sim.store.seed_customer(
        {"customer_name": "Cedar Court", "locations": [{"street_1": "9 Cedar", "city": "Dallas"}]}
    )
    names = lambda **p: [c["customer_name"] for c in raw.get("/customers", sort="id", **p).json()["items"]]  # noqa: E731
    assert names(**{"filters[name]": "main"}) == ["100 Main St"]
    assert names(**{"filters[city]": "dallas"}) == ["Cedar Court"]
    assert names(**{"filters[city]": "Aus"}) == []  # city is a full match
    assert names(**{"filters[email]": "pat@example.com"}) == ["100 Main St"]
    assert names(**{"filters[contact_last_name]": "own"}) == ["100 Main St"]
