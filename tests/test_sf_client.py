"""The ServiceFusion client against the simulator over loopback HTTPS: tokens, pacing, paging, faults."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from sync.clients.servicefusion import MemoryTokenStore, ServiceFusionClient
from sync.errors import (
    AmbiguousWriteError,
    AuthError,
    NotFound,
    PermanentError,
    RemoteValidationError,
    TransientError,
)
from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.sf_support import Raw, make_client, seed_building, seed_jobs, sim_fixture

sim = sim_fixture(rate_limit=10_000)


@pytest.fixture
def client(sim):
    c = make_client(sim)
    yield c
    c.close()


def expire_soon(client: ServiceFusionClient, store: MemoryTokenStore) -> None:
    """Make the cached token look like it expires in 100 s (inside the 5-minute renewal margin)."""
    entry = dict(store.get(client.token_key))
    entry["expires_at"] = time.time() + 100
    store.set(client.token_key, entry, 3600)


# --- configuration ------------------------------------------------------------------------------------
def test_plain_http_base_url_is_refused(sim):
    with pytest.raises(ValueError, match="https"):
        ServiceFusionClient(sim.http_url, sim.client_id, sim.client_secret)
    with pytest.raises(ValueError, match="https"):
        ServiceFusionClient("api.servicefusion.com", "id", "secret")


def test_base_url_may_name_the_version(sim):
    c = ServiceFusionClient(sim.base_url + "/v1/", sim.client_id, sim.client_secret, verify=sim.ca_path)
    assert c.me().email


def test_from_settings_names_the_missing_variable(settings):
    settings.SERVICEFUSION = {
        "BASE_URL": "https://api.servicefusion.com",
        "CLIENT_ID": "",
        "CLIENT_SECRET": "x",
    }
    with pytest.raises(ImproperlyConfigured, match="SF_CLIENT_ID"):
        ServiceFusionClient.from_settings()
    settings.SERVICEFUSION = {
        "BASE_URL": "http://api.servicefusion.com",
        "CLIENT_ID": "a",
        "CLIENT_SECRET": "b",
    }
    with pytest.raises(ImproperlyConfigured, match="SF_BASE_URL"):
        ServiceFusionClient.from_settings()


def test_from_settings_talks_to_the_simulator_with_tokens_in_the_django_cache(settings, sim):
    from django.core.cache import cache

    settings.SERVICEFUSION = {
        "BASE_URL": sim.base_url,
        "CLIENT_ID": sim.client_id,
        "CLIENT_SECRET": sim.client_secret,
        "VERIFY": sim.ca_path,
        "CONNECT_TIMEOUT": 5,
        "READ_TIMEOUT": 20,
        "RATE_LIMIT_CAP": 0,
        "RETRIES": 2,
    }
    c = ServiceFusionClient.from_settings()
    assert c.me().first_name == "GreenLight"
    assert cache.get(c.token_key)["access_token"]
    cache.delete(c.token_key)


def test_certificate_is_verified(sim):
    # The system trust store does not know the simulator's throwaway CA.
    c = ServiceFusionClient(sim.base_url, sim.client_id, sim.client_secret, verify=True)
    with pytest.raises(PermanentError, match="TLS"):
        c.me()
    assert c.stats["retries"] == 0


# --- tokens -------------------------------------------------------------------------------------------
def test_token_is_fetched_once_and_shared_through_the_store(sim):
    store = MemoryTokenStore()
    first, second = make_client(sim, token_store=store), make_client(sim, token_store=store)
    first.me()
    first.list_job_categories()
    second.me()
    assert first.stats["token_fetches"] == 1 and second.stats["token_fetches"] == 0
    assert sim.request_counts()["POST /oauth/access_token"] == 1


def test_clients_starting_at_once_fetch_one_token_between_them():
    # Parallel read steps each build their own client on the shared (empty) store: the first to ask
    # fetches, the others wait for it and take its token rather than racing it with requests of their own.
    with ServiceFusionSimulator(rate_limit=10_000, latency=0.2) as slow:
        store = MemoryTokenStore()
        clients = [make_client(slow, token_store=store) for _ in range(4)]
        start = threading.Barrier(len(clients))
        errors: list[BaseException] = []

        def call(c):
            start.wait()
            try:
                c.me()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert slow.request_counts()["POST /oauth/access_token"] == 1
        assert sum(c.stats["token_fetches"] for c in clients) == 1
        assert len({c.token_key for c in clients}) == 1


def test_token_is_renewed_before_expiry_with_the_refresh_token(sim):
    store = MemoryTokenStore()
    c = make_client(sim, token_store=store)
    c.me()
    old = store.get(c.token_key)
    expire_soon(c, store)
    c.me()
    new = store.get(c.token_key)
    assert c.stats["token_refreshes"] == 1 and c.stats["auth_replays"] == 0
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert 401 not in sim.status_counts()


def test_refused_refresh_falls_back_to_client_credentials(sim):
    store = MemoryTokenStore()
    c = make_client(sim, token_store=store)
    c.me()
    sim.oauth.revoke_refresh_tokens()
    expire_soon(c, store)
    c.me()
    assert c.stats["refresh_refused"] == 1 and c.stats["token_fetches"] == 2


def test_401_renews_once_and_replays(sim, client):
    client.me()
    sim.oauth.revoke_all()
    assert client.me().id == 1
    assert client.stats["auth_replays"] == 1
    assert sim.status_counts()[401] == 1


def test_token_expiry_mid_listing_is_invisible_to_the_caller(sim, client):
    _, building = seed_building(sim)
    seed_jobs(sim, building, 120)
    jobs = client.iter_jobs()
    first_page = [next(jobs) for _ in range(50)]
    sim.store.advance_time(3601)  # the token dies between pages
    rest = list(jobs)
    ids = {job.id for job in first_page + rest}
    assert len(ids) == 120
    assert client.stats["auth_replays"] == 1 and client.stats["token_refreshes"] == 1


def test_bad_credentials_raise_auth_error_without_the_secret(sim):
    c = ServiceFusionClient(sim.base_url, sim.client_id, "not-the-secret", verify=sim.ca_path)
    with pytest.raises(AuthError) as caught:
        c.me()
    assert caught.value.message == "Invalid client's id or secret."
    assert caught.value.detail == "invalid_client"
    assert "not-the-secret" not in str(caught.value) and "not-the-secret" not in repr(c)


def test_token_errors_in_array_form_are_unwrapped():
    with ServiceFusionSimulator(token_error_array=True) as sim:
        c = ServiceFusionClient(sim.base_url, "wrong-id", sim.client_secret, verify=sim.ca_path)
        with pytest.raises(AuthError, match="Invalid client's id or secret"):
            c.me()


def test_secret_and_tokens_never_reach_the_logs(sim, caplog):
    caplog.set_level(logging.DEBUG)
    store = MemoryTokenStore()
    c = make_client(sim, token_store=store)
    _, building = seed_building(sim)
    c.create_job({"customer_name": building, "check_number": "WO-1"})
    sim.oauth.revoke_all()
    list(c.iter_jobs())
    sim.faults.configure(p503=1.0, times=1)
    c.me()
    with pytest.raises(RemoteValidationError):
        c.create_job({"customer_name": 1})
    with pytest.raises(AuthError):
        ServiceFusionClient(sim.base_url, sim.client_id, sim.client_secret + "x", verify=sim.ca_path).me()
    token = store.get(c.token_key)
    assert caplog.records  # the flow did log
    for secret in (sim.client_secret, token["access_token"], token["refresh_token"]):
        assert secret not in caplog.text
    assert sim.client_secret not in repr(c) and sim.client_secret not in repr(c._t.tokens)


# --- paging -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "pages"), [(0, 1), (50, 1), (100, 2), (101, 3)])
def test_paging_stops_on_page_count_without_asking_past_the_end(sim, client, count, pages):
    _, building = seed_building(sim)
    seed_jobs(sim, building, count)
    assert len({job.id for job in client.iter_jobs()}) == count
    assert sim.request_counts()["GET /v1/jobs"] == pages


def test_lists_always_sort_and_use_50_per_page(sim, client):
    _, building = seed_building(sim)
    seed_jobs(sim, building, 3)
    sim.faults.configure(hang_unsorted_jobs=5.0)  # an unsorted list would hang past the read timeout
    fast = make_client(sim, read_timeout=1.0, retries=0)
    jobs = list(fast.iter_jobs())
    assert sorted(j.check_number for j in jobs) == ["WO-1", "WO-2", "WO-3"]
    with pytest.raises(ValueError, match="sort"):
        list(client.iter_items("/jobs", sort=""))


def test_iter_jobs_filters_and_updated_since(sim, client):
    _, building = seed_building(sim)
    ids = seed_jobs(sim, building, 5)
    sim.store.advance_time(600)
    since = datetime.now(UTC).replace(microsecond=0)
    sim.store.advance_time(60)
    sim.store.set_job_status(ids[2], "Completed")
    assert [
        j.id for j in client.iter_jobs(updated_since=datetime.fromtimestamp(sim.clock.now() - 30, UTC))
    ] == [ids[2]]
    closed = list(client.iter_jobs(filters={"status": ["Completed", "Cancelled"]}))
    assert [j.status for j in closed] == ["Completed"] and closed[0].closed_at is not None
    assert since.tzinfo is not None
    with pytest.raises(ValueError, match="naive"):
        list(client.iter_jobs(updated_since=datetime(2025, 1, 1)))


def test_find_jobs_by_check_number_compares_exactly(sim, client):
    _, building = seed_building(sim)
    seed_jobs(sim, building, 12)  # WO-1 … WO-12: a po_number filter "WO-1" also matches WO-10..12
    found = client.find_jobs_by_check_number("WO-1")
    assert [j.check_number for j in found] == ["WO-1"]
    # A job without the reference in po_number is still found by scanning recent jobs.
    sim.store.seed_job({"customer_name": building, "check_number": "WO-900"})
    assert [j.check_number for j in client.find_jobs_by_check_number("WO-900")] == ["WO-900"]
    assert client.find_jobs_by_check_number("WO-404") == []


# --- records ------------------------------------------------------------------------------------------
def test_customers_are_typed_with_parent_ids_contacts_and_locations(sim, client):
    parent, building = seed_building(sim)
    customers = {c.id: c for c in client.iter_customers()}
    child = customers[building]
    assert child.parent_customer_id == parent and customers[parent].parent_customer_id is None
    assert child.contacts[0].emails == ("pat@example.com",) and child.contacts[0].phones == ("555-0100",)
    assert child.locations[0].nickname == "Primary" and child.locations[0].is_primary
    assert child.custom_fields == {"portfolioId": "7", "buildingId": "70"}
    assert child.created_at.tzinfo is not None
    alone = client.get_customer(building)
    assert alone.parent_customer_id == parent  # resolved with a name lookup
    filtered = list(client.iter_customers(filters={"name": "100 Main"}))
    assert [(c.id, c.parent_customer_id) for c in filtered] == [(building, parent)]


def test_create_customer_returns_the_full_record(sim, client):
    parent = client.create_customer(
        {"customer_name": "Birch Portfolio", "custom_fields": [{"name": "portfolioId", "value": "9"}]}
    )
    building = client.create_customer(
        {
            "customer_name": "9 Birch Rd",
            "parent_customer": parent.id,
            "locations": [
                {"street_1": "9 Birch Rd", "is_primary": True, "nickname": "Primary"},
                {"street_1": "9 Birch Rd", "street_2": "Unit A", "nickname": "A"},
            ],
            "contacts": [{"fname": "Tia", "lname": "Tenant", "emails": [{"email": "tia@example.com"}]}],
        }
    )
    assert (
        building.parent_customer_id == parent.id
        and building.fully_qualified_name == "Birch Portfolio:9 Birch Rd"
    )
    assert [loc.street_2 for loc in building.locations] == ["", "Unit A"]
    assert building.contacts[0].emails == ("tia@example.com",)


def test_jobs_lookups_and_invoices_are_typed(sim, client):
    _, building = seed_building(sim)
    job = client.create_job(
        {
            "customer_name": building,
            "check_number": "WO-3",
            "techs_assigned": [{"id": 2}],
            "custom_fields": [{"name": "propertyWareId", "value": "3"}],
        }
    )
    assert (
        isinstance(job.id, int) and job.techs_assigned == (2,) and job.custom_fields["propertyWareId"] == "3"
    )
    assert job.created_at.utcoffset().total_seconds() == 0
    sim.store.add_invoice(job.id, "99.95", is_paid=True)
    assert client.get_job(job.id).status == "Invoiced"
    (invoice,) = client.iter_invoices()
    assert invoice.total == Decimal("99.95") and invoice.is_paid and invoice.po_number == ""
    assert client.job_invoices(job.id) == [invoice]
    statuses = client.list_job_statuses()
    assert {s.code: s.category for s in statuses}["14_CAN"] == "CANCELLED"
    assert [t.email for t in client.list_techs()][:2] == [
        "tech1@fieldcrew.example",
        "tech2@fieldcrew.example",
    ]
    assert "Maintenance" in [c.name for c in client.list_job_categories()]
    assert client.list_sources()[0].short_name and client.list_payment_types()[0].code


# --- errors -------------------------------------------------------------------------------------------
def test_422_is_raised_with_its_fields(sim, client):
    _, building = seed_building(sim)
    with pytest.raises(RemoteValidationError) as caught:
        client.create_job({"customer_name": building, "status": "Teleported", "priority": "HIGH"})
    assert caught.value.status == 422
    assert [f["field"] for f in caught.value.fields] == ["status", "priority"]
    assert "status" in str(caught.value)
    assert sim.request_counts()["POST /v1/jobs"] == 1


def test_missing_records_raise_not_found(client):
    with pytest.raises(NotFound):
        client.get_job(999)
    with pytest.raises(NotFound):
        client.get_customer(1)


# --- rate limits --------------------------------------------------------------------------------------
def test_burst_of_120_gets_uses_the_allowance_with_zero_429s():
    with ServiceFusionSimulator(rate_limit=60, rate_window=2.0) as sim:
        c = make_client(sim)
        for _ in range(120):
            c.me()
        assert sim.request_counts()["GET /v1/me"] == 120 and 429 not in sim.status_counts()
        assert c.stats["rate_limited"] == 0
        assert c.stats["pacing_waits"] > 0  # it did run into the allowance, and paced instead of failing


def test_allowance_is_spent_freely_before_any_pacing():
    with ServiceFusionSimulator(rate_limit=60, rate_window=60.0) as sim:
        c = make_client(sim)
        for _ in range(50):
            c.me()
        assert c.stats["pacing_waits"] == 0


def test_threads_sharing_a_client_stay_under_the_limit():
    with ServiceFusionSimulator(rate_limit=40, rate_window=1.0) as sim:
        c = make_client(sim)
        c.me()

        def work() -> None:
            for _ in range(25):
                c.me()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sim.request_counts()["GET /v1/me"] == 101 and 429 not in sim.status_counts()
        assert c.stats["rate_limited"] == 0


@pytest.mark.parametrize("options", [{}, {"reset_mode": "epoch"}, {"retry_after": True}])
def test_a_429_is_waited_out_and_never_reaches_the_caller(options):
    with ServiceFusionSimulator(rate_limit=3, rate_window=0.6, **options) as sim:
        store = MemoryTokenStore()
        c = make_client(sim, token_store=store)
        c.me()
        # Another worker with the same token spends the allowance behind this client's back.
        other = Raw(sim, store.get(c.token_key)["access_token"])
        assert any(other.get("/me").status_code == 429 for _ in range(50))
        assert c.me().id == 1
        assert c.stats["rate_limited"] >= 1
        assert sim.status_counts()[429] >= 2


def test_a_429_on_post_is_replayed_because_nothing_was_written():
    with ServiceFusionSimulator(rate_limit=3, rate_window=0.6) as sim:
        _, building = seed_building(sim)
        store = MemoryTokenStore()
        c = make_client(sim, token_store=store)
        c.me()
        other = Raw(sim, store.get(c.token_key)["access_token"])
        assert any(other.get("/me").status_code == 429 for _ in range(50))
        c.create_job({"customer_name": building, "check_number": "WO-1"})
        assert [j["check_number"] for j in sim.store.jobs()] == ["WO-1"]
        assert c.stats["rate_limited"] >= 1


# --- faults: GETs retried, POSTs never ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["p500", "p502", "p503", "p504", "reset"])
def test_gets_are_retried_through_server_errors_and_resets(sim, client, kind):
    client.me()
    sim.faults.configure(**{kind: 1.0}, times=2)
    assert client.me().id == 1
    assert client.stats["retries"] == 2
    assert sim.faults.fired_counts() == {kind: 2}


def test_gets_are_retried_after_a_read_timeout(sim):
    c = make_client(sim, read_timeout=0.3)
    c.me()
    sim.faults.configure(latency=1.0, times=1)
    assert c.me().id == 1 and c.stats["retries"] == 1


def test_get_retries_are_bounded(sim):
    c = make_client(sim, retries=2)
    c.me()
    sim.faults.configure(p503=1.0)
    with pytest.raises(TransientError) as caught:
        c.me()
    assert caught.value.status == 503
    assert sim.request_counts()["GET /v1/me"] == 1 + 3


@pytest.mark.parametrize("kind", ["commit_then_drop", "commit_then_504"])
def test_commit_then_fail_is_reported_ambiguous_and_the_job_can_be_found(sim, client, kind):
    _, building = seed_building(sim)
    client.me()
    sim.faults.configure(**{kind: 1.0}, path="/v1/jobs", times=1)
    with pytest.raises(AmbiguousWriteError):
        client.create_job({"customer_name": building, "check_number": "WO-42", "po_number": "WO-42"})
    assert sim.request_counts()["POST /v1/jobs"] == 1  # never retried
    (found,) = client.find_jobs_by_check_number("WO-42")
    assert found.customer_id == building


@pytest.mark.parametrize("kind", ["p500", "p502", "p503", "p504", "reset"])
def test_post_failures_are_ambiguous_even_when_nothing_was_written(sim, client, kind):
    _, building = seed_building(sim)
    client.me()
    sim.faults.configure(**{kind: 1.0}, method="POST", times=1)
    with pytest.raises(AmbiguousWriteError):
        client.create_job({"customer_name": building, "check_number": "WO-43"})
    assert sim.request_counts()["POST /v1/jobs"] == 1
    assert client.find_jobs_by_check_number("WO-43") == []  # the lookup says: safe to create


def test_post_read_timeout_is_ambiguous(sim):
    _, building = seed_building(sim)
    c = make_client(sim, read_timeout=0.3)
    c.me()
    sim.faults.configure(latency=1.0, method="POST", times=1)
    with pytest.raises(AmbiguousWriteError):
        c.create_customer({"customer_name": "Slow Co"})
    assert sim.request_counts()["POST /v1/customers"] == 1


def test_post_after_401_is_replayed_once(sim, client):
    _, building = seed_building(sim)
    client.me()
    sim.oauth.revoke_all()
    client.create_job({"customer_name": building, "check_number": "WO-44"})
    assert len(sim.store.jobs()) == 1 and client.stats["auth_replays"] == 1


def test_connection_refused_on_post_is_transient_not_ambiguous(sim):
    c = make_client(sim)
    c.me()
    port_closed = ServiceFusionSimulator()
    port_closed.start()
    url, ca = port_closed.base_url, port_closed.ca_path
    port_closed.stop()
    dead = ServiceFusionClient(url, sim.client_id, sim.client_secret, verify=ca, retries=0)
    with pytest.raises(TransientError) as caught:
        dead.create_job({"customer_name": 1})
    assert not isinstance(caught.value, AmbiguousWriteError)


def test_stats_count_requests_by_method_and_outcome(sim, client):
    client.me()
    with pytest.raises(NotFound):
        client.get_job(1)
    stats = client.stats
    assert stats["requests"]["GET ok"] == 1 and stats["requests"]["GET 404"] == 1
    assert stats["requests"]["POST token 200"] == 1 and stats["token_fetches"] == 1


def test_raw_lists_without_ids_are_not_collapsed(client):
    names = [
        item["name"] for item in client.iter_items("/job-categories", sort="-name", params={"fields": "name"})
    ]
    assert names == ["Plumbing", "Maintenance", "Inspection", "HVAC", "General", "Electrical", "Appliance"]
