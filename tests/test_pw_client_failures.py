"""The PropertyWare client under every failure the simulator injects: transient ones are retried (reads
only), permanent ones are reported clearly, writes are never repeated."""

from __future__ import annotations

import pytest

from sync.clients.propertyware import PropertyWareClient
from sync.errors import AmbiguousWriteError, AuthError, PermanentError, TransientError
from tests import pw_helpers
from tests.pw_helpers import TINY, fast_client, open_work_order

# module-scoped simulator (inline and multiRef), reset before each test, and a fast client
sim, fresh, client = pw_helpers.sim_in_both_modes, pw_helpers.fresh_state, pw_helpers.client_for_sim


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


def test_a_truncated_listing_is_a_failure_even_when_an_earlier_reply_is_known(client, sim):
    """A reply byte for byte the one already merged skips the XML check; any other reply is checked."""
    known = client.vendors_if_changed(None).digest
    assert client.vendors_if_changed(known).records is None
    sim.faults.configure("getVendors", truncate=1.0)
    with pytest.raises(TransientError, match="malformed or truncated XML"):
        client.vendors_if_changed(known)


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


def test_a_maintenance_page_instead_of_the_wsdl_is_retried(sim):
    client = fast_client(sim, wsdl_url=sim.wsdl_url)
    sim.faults.configure("wsdl", maintenance=1.0, times=1)
    wo_id = open_work_order()["ID"]
    # the first call is a write: loading the WSDL is still retried, and the write goes out once
    client.attach_note(wo_id, "first call", "loads the WSDL")
    assert sim.request_counts()["wsdl"] == 2
    assert client.stats["attachNoteToWorkOrder"] == {"retry": 1, "ok": 1}
