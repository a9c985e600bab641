"""The ServiceFusion simulator's rate limit, fault injection and control API, over real HTTPS."""

from __future__ import annotations

import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.sf_support import Raw, raw_fixture, seed_building, seed_jobs, sim_fixture

TOO_MANY = {"code": 429, "name": "Too Many Requests.", "message": "Rate limit exceeded."}


# --- rate limit ---------------------------------------------------------------------------------------
def test_every_api_response_carries_the_rate_limit_headers():
    with ServiceFusionSimulator(rate_limit=60) as sim:
        raw = Raw(sim)
        for resp in (
            raw.get("/me"),
            raw.get("/jobs/1"),
            raw.api("DELETE", "/jobs/1"),
            raw.request("GET", "/v1/me"),
            raw.post("/jobs", {}),
        ):
            assert {"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} <= set(resp.headers)
            assert resp.headers["X-Rate-Limit-Limit"] == "60"


def test_allowance_is_spent_per_token_then_429_with_the_documented_body():
    with ServiceFusionSimulator(rate_limit=5, rate_window=60) as sim:
        raw = Raw(sim)
        remaining = [int(raw.get("/me").headers["X-Rate-Limit-Remaining"]) for _ in range(5)]
        assert remaining == [4, 3, 2, 1, 0]
        refused = raw.get("/me")
        assert refused.status_code == 429 and refused.json() == TOO_MANY
        assert refused.headers["X-Rate-Limit-Remaining"] == "0"
        assert 0 < int(refused.headers["X-Rate-Limit-Reset"]) <= 60
        assert "Retry-After" not in refused.headers  # off by default, as in stock Yii2
        # The limit is per token: a second token has its own allowance.
        assert Raw(sim).get("/me").status_code == 200
        assert sim.status_counts()[429] == 1


def test_allowance_refills_continuously():
    with ServiceFusionSimulator(rate_limit=4, rate_window=0.2) as sim:
        raw = Raw(sim)
        assert any(raw.get("/me").status_code == 429 for _ in range(50))
        time.sleep(0.1)  # half the window refills half the allowance
        assert raw.get("/me").status_code == 200


def test_retry_after_and_epoch_reset_are_switchable():
    with ServiceFusionSimulator(rate_limit=2, rate_window=30, retry_after=True, reset_mode="epoch") as sim:
        raw = Raw(sim)
        raw.get("/me")
        first_reset = int(raw.get("/me").headers["X-Rate-Limit-Reset"])
        refused = raw.get("/me")
        assert refused.status_code == 429
        assert first_reset > 1e9 and abs(first_reset - time.time()) <= 31
        assert 1 <= int(refused.headers["Retry-After"]) <= 15


def test_rate_limit_can_be_reconfigured_at_runtime():
    with ServiceFusionSimulator(rate_limit=60) as sim:
        raw = Raw(sim)
        sim.rate_limiter.configure(limit=1, window=60)
        assert raw.get("/me").status_code == 200 and raw.get("/me").status_code == 429
        assert raw.control("POST", "/rate-limit", {"limit": 100}).status_code == 200
        assert raw.get("/me").headers["X-Rate-Limit-Limit"] == "100"
        assert raw.control("POST", "/rate-limit", {"limit": 0}).status_code == 400
        assert raw.control("POST", "/rate-limit", {"reset_mode": "hours"}).status_code == 400


# --- faults -------------------------------------------------------------------------------------------
sim = sim_fixture(rate_limit=10_000)
raw = raw_fixture


@pytest.mark.parametrize(
    ("kind", "status", "json_body"),
    [("p500", 500, True), ("p502", 502, False), ("p503", 503, True), ("p504", 504, False)],
)
def test_server_error_faults_fire_then_stop(sim, raw, kind, status, json_body):
    sim.faults.configure(**{kind: 1.0}, times=1)
    resp = raw.get("/me")
    assert resp.status_code == status
    if json_body:
        assert resp.json()["code"] == status
    else:  # a gateway's HTML page, as a load balancer sends it
        assert resp.headers["Content-Type"].startswith("text/html")
    assert raw.get("/me").status_code == 200
    assert sim.faults.fired_counts() == {kind: 1}


def test_connection_reset_fault(sim, raw):
    raw.token()
    sim.faults.configure(reset=1.0, times=1)
    with pytest.raises(requests.ConnectionError):
        raw.get("/me")
    assert raw.get("/me").status_code == 200
    assert sim.status_counts()["reset"] == 1


def test_pre_faults_on_post_write_nothing(sim, raw):
    _, building = seed_building(sim)
    sim.faults.configure(p500=1.0, method="POST", path="/v1/jobs", times=1)
    resp = raw.post("/jobs", {"customer_name": building})
    assert resp.status_code == 500
    assert resp.json()["message"] == "Failed to create the object for unknown reason."
    assert sim.store.counts()["jobs"] == 0


def test_commit_then_drop_creates_the_job_and_never_answers(sim, raw):
    _, building = seed_building(sim)
    raw.token()
    sim.faults.configure(commit_then_drop=1.0, path="/v1/jobs", times=1)
    with pytest.raises(requests.ConnectionError):
        raw.post("/jobs", {"customer_name": building, "check_number": "WO-77"})
    assert [j["check_number"] for j in sim.store.jobs()] == ["WO-77"]
    assert sim.status_counts()["drop"] == 1


def test_commit_then_504_creates_the_job_and_answers_504(sim, raw):
    _, building = seed_building(sim)
    sim.faults.configure(commit_then_504=1.0, times=1)
    resp = raw.post("/jobs", {"customer_name": building, "check_number": "WO-78"})
    assert resp.status_code == 504
    assert [j["check_number"] for j in sim.store.jobs()] == ["WO-78"]


def test_commit_faults_leave_gets_and_failed_posts_alone(sim, raw):
    _, building = seed_building(sim)
    sim.faults.configure(commit_then_504=1.0)
    assert raw.get("/me").status_code == 200
    assert raw.post("/jobs", {}).status_code == 422  # nothing committed, nothing to drop


def test_latency_fault_holds_the_answer(sim, raw):
    raw.token()
    sim.faults.configure(latency=1.0, times=1)
    with pytest.raises(requests.ReadTimeout):
        raw.api("GET", "/me", timeout=0.2)
    assert sim.faults.fired_counts() == {"latency": 1}


def test_unsorted_job_list_can_hang_past_the_client_timeout(sim, raw):
    raw.token()
    sim.faults.configure(hang_unsorted_jobs=2.0)
    assert raw.get("/jobs", sort="-updated_at").status_code == 200
    with pytest.raises(requests.ReadTimeout):
        raw.api("GET", "/jobs", timeout=0.2)


def test_faults_can_target_a_method_and_path(sim, raw):
    sim.faults.configure(p503=1.0, method="POST", path="/v1/customers")
    assert raw.get("/customers", sort="id").status_code == 200
    assert raw.post("/jobs", {}).status_code == 422
    assert raw.post("/customers", {"customer_name": "X"}).status_code == 503
    sim.faults.clear()
    assert raw.post("/customers", {"customer_name": "X"}).status_code == 201


def test_seeded_faults_repeat_exactly():
    def run() -> list[int]:
        with ServiceFusionSimulator(rate_limit=10_000, seed=42) as s:
            raw = Raw(s)
            raw.token()
            s.faults.configure(p503=0.5)
            return [raw.get("/me").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second and {200, 503} == set(first)


def test_fault_configuration_is_checked(sim):
    for bad in ({"p500": 1.5}, {"p500": 0.6, "p503": 0.6}, {"latency": -1}, {"times": 0}):
        with pytest.raises(ValueError):
            sim.faults.configure(**bad)


# --- control API and counts ---------------------------------------------------------------------------
def test_control_api_drives_the_same_hooks(sim, raw):
    customer = raw.control(
        "POST", "/customers", {"customer_name": "Ctl Customer", "locations": [{"street_1": "5 Ctl Rd"}]}
    )
    assert customer.status_code == 201
    cid = customer.json()["id"]
    job = raw.control("POST", "/jobs", {"customer_name": cid, "check_number": "WO-1"}).json()["id"]
    moved = raw.control("POST", f"/jobs/{job}/status", {"status": "Completed"}).json()
    assert moved["status"] == "Completed" and moved["closed_at"]
    invoice = raw.control("POST", f"/jobs/{job}/invoices", {"total": "80.00", "is_paid": True})
    assert invoice.status_code == 201
    assert raw.control("GET", "/jobs").json()[0]["status"] == "Invoiced"
    assert raw.control("POST", f"/customers/{cid}/equipment", {"type": "Boiler"}).status_code == 201
    assert raw.control("POST", "/job-statuses/02_SCH", {"name": "Booked"}).status_code == 200
    assert raw.control("POST", "/custom-fields", {"entity": "jobs", "name": "sfJobId"}).status_code == 200
    state = raw.control("GET", "/state").json()
    assert state["counts"] == {"customers": 1, "jobs": 1, "estimates": 0, "invoices": 1, "equipment": 1}
    assert raw.control("POST", "/time", {"advance": 30}).json()["clock_offset"] == 30
    assert raw.control("POST", "/faults", {"p503": 1.0, "times": 1}).status_code == 200
    assert raw.get("/me").status_code == 503
    assert raw.control("GET", "/faults").json()["fired"] == {"p503": 1}
    assert raw.control("DELETE", "/faults").json() == {"faults": None}
    counts = raw.control("GET", "/requests").json()
    assert counts["requests"]["GET /v1/me"] == 1 and counts["statuses"] == {"503": 1, "200": 1}
    raw.control("DELETE", "/requests")
    assert sim.request_counts() == {}


def test_control_api_reports_bad_input_clearly(sim, raw):
    assert raw.control("POST", "/customers", {"customer_name": ""}).status_code == 422
    assert raw.control("POST", "/jobs/1/status", {"status": "Done"}).status_code == 404
    raw.control("POST", "/customers", {"customer_name": "C"})
    assert raw.control("POST", "/faults", {"p500": "often"}).status_code == 400
    assert raw.control("POST", "/faults", {"nonsense": 1}).status_code == 400
    assert raw.control("POST", "/time", {"advance": -5}).status_code == 400
    assert raw.request("POST", "/_control/time", data=b"[1]").status_code == 400
    assert raw.control("GET", "/nothing").status_code == 404


def test_revoking_tokens_from_the_control_api(sim, raw):
    token = raw.token()
    assert raw.control("POST", "/tokens/revoke", {}).json()["revoked"] >= 1
    assert Raw(sim, token).get("/me").status_code == 401


def test_request_counts_group_ids(sim, raw):
    _, building = seed_building(sim)
    (job_id,) = seed_jobs(sim, building, 1)
    raw.get(f"/jobs/{job_id}")
    raw.get("/jobs/5")
    raw.get("/jobs", sort="id")
    counts = sim.request_counts()
    assert counts["GET /v1/jobs/{id}"] == 2 and counts["GET /v1/jobs"] == 1
    assert counts["POST /oauth/access_token"] == 1


# --- no input makes the simulator fail ----------------------------------------------------------------
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=20,
)
_field_names = st.sampled_from(
    [
        "customer_name",
        "contacts",
        "locations",
        "custom_fields",
        "status",
        "category",
        "priority",
        "techs_assigned",
        "start_date",
        "duration",
        "parent_customer",
        "notes",
        "tasks",
        "is_vip",
        "credit_rating",
        "products",
        "agents",
    ]
)


@pytest.fixture(scope="module")
def fuzz_target():
    with ServiceFusionSimulator(rate_limit=1_000_000) as s:
        s.store.seed_customer({"customer_name": "Fuzz Co"})
        yield s, Raw(s)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(_field_names, _json, max_size=6),
    resource=st.sampled_from(["/jobs", "/customers", "/estimates"]),
)
def test_arbitrary_json_bodies_get_documented_answers_never_500(fuzz_target, body, resource):
    sim, raw = fuzz_target
    resp = raw.post(resource, body)
    assert resp.status_code in (201, 400, 422), resp.text
    if resp.status_code == 422:
        assert isinstance(resp.json(), list) and all({"field", "message"} == set(e) for e in resp.json())
