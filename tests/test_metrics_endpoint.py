"""/metrics serves Prometheus text that prometheus_client's own parser reads: API call counters fed by
the engine, process metrics, and the database snapshot (runs, steps, outbox, dead letters, safe mode)."""
from __future__ import annotations

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from sync.observability.metrics import StatsFeeder, record_api_call, record_client_stats


def scrape(client, **headers) -> dict[str, list]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def sample_value(samples, name, **labels) -> float | None:
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


@pytest.mark.django_db
def test_api_calls_are_counted_by_system_operation_and_outcome(client):
    before = scrape(client).get("greenlight_api_calls", [])
    base = sample_value(before, "greenlight_api_calls_total", system="servicefusion",
                        operation="GET /v1/jobs/{id}", outcome="ok") or 0
    record_api_call("servicefusion", "GET /v1/jobs/123", "ok")
    record_api_call("servicefusion", "GET /v1/jobs/456?expand=custom_fields", "ok")
    record_api_call("propertyware", "getWorkOrders", "retry", 2)
    samples = scrape(client)["greenlight_api_calls"]
    assert sample_value(samples, "greenlight_api_calls_total", system="servicefusion",
                        operation="GET /v1/jobs/{id}", outcome="ok") == base + 2
    assert sample_value(samples, "greenlight_api_calls_total", system="propertyware",
                        operation="getWorkOrders", outcome="retry") >= 2


def test_unknown_system_is_refused():
    with pytest.raises(ValueError, match="unknown system 'quickbooks'"):
        record_api_call("quickbooks", "GET /", "ok")
    with pytest.raises(ValueError, match="count must be >= 0"):
        record_api_call("propertyware", "echoString", "ok", -1)


@pytest.mark.django_db
def test_client_stats_are_fed_as_deltas(client):
    feeder = StatsFeeder("propertyware")
    assert feeder.feed({"getPortfolios": {"ok": 3, "retry": 1}}) == 4
    assert feeder.feed({"getPortfolios": {"ok": 5, "retry": 1}}) == 2  # only the two new calls
    assert feeder.feed({("getVendors", "ok"): 1, "ignored": "text"}) == 1
    samples = scrape(client)["greenlight_api_calls"]
    assert sample_value(samples, "greenlight_api_calls_total", system="propertyware",
                        operation="getPortfolios", outcome="ok") >= 5


@pytest.mark.django_db
def test_process_metrics_are_exposed(client):
    families = scrape(client)
    assert "process_resident_memory_bytes" in families
    assert "greenlight_metrics_section_up" in families


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="scrape-token-123")
def test_metrics_token_is_required_when_configured(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert "greenlight_api_calls" in scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-123")


@pytest.mark.django_db
def test_servicefusion_client_stats_count_http_requests_by_method_and_outcome(client):
    stats = {"requests": {"GET ok": 4, "POST 429": 1, "POST ambiguous": 1}, "rate_limited": 1,
             "token_fetches": 1}
    assert record_client_stats("sf", stats) == 6
    samples = scrape(client)["greenlight_api_calls"]
    assert sample_value(samples, "greenlight_api_calls_total", system="servicefusion", operation="POST",
                        outcome="ambiguous") >= 1
