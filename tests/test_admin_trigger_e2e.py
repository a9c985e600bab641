"""The HTTP trigger end to end: a token-authenticated request queues a dry run, django-q2's worker path
runs it against the PropertyWare and ServiceFusion simulators on loopback, and the run shows on the
status URL and the dashboard."""
from __future__ import annotations

import pytest
from django.urls import reverse

from sync.models import OutboxItem, SyncRun
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for
from tests.queue_support import work_off_queue
from warehouse.models import DimBuilding, FactWorkOrder

# The runner works across threads and connections, as in production: no wrapping test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulators(settings):
    with PropertyWareSimulator(dataset="tiny") as pw, ServiceFusionSimulator(dataset="tiny") as sf:
        settings.PROPERTYWARE = {
            **settings.PROPERTYWARE, "URL": pw.url, "WSDL_URL": "", "USERNAME": pw.username,
            "PASSWORD": pw.password, "TIMEOUT": 10.0, "VENDORS_TIMEOUT": 10.0, "MAX_RPS": 0, "RETRIES": 1,
            "RETRY_MIN_WAIT": 0.01, "RETRY_MAX_WAIT": 0.02, "VERIFY": "true",
        }
        settings.SERVICEFUSION = {
            **settings.SERVICEFUSION, "BASE_URL": sf.base_url, "CLIENT_ID": sf.client_id,
            "CLIENT_SECRET": sf.client_secret, "VERIFY": sf.ca_path, "CONNECT_TIMEOUT": 5, "READ_TIMEOUT": 20,
            "RETRIES": 1,
        }
        yield pw, sf


def test_a_dry_run_triggered_over_http_runs_every_step_and_writes_nothing(client, simulators, superuser):
    from sync.models import ApiToken

    pw, sf = simulators
    jobs_before = len(sf.store.jobs())
    _, token = ApiToken.issue("portal")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    queued = client.post("/api/sync/trigger", {"dry_run": True}, content_type="application/json", **auth)
    assert queued.status_code == 202, queued.content
    assert not SyncRun.objects.exists()
    work_off_queue()
    response = client.get(queued["Location"], **auth)
    assert response.status_code == 200 and response.json()["state"] == "done", response.content
    body = response.json()["run"]
    run = SyncRun.objects.get(pk=body["run_id"])
    assert body["status"] == run.status == "succeeded", run.error_summary
    assert run.dry_run and run.trigger == "api"
    assert {s["status"] for s in body["steps"]} == {"succeeded"} and len(body["steps"]) == run.steps.count()
    assert DimBuilding.objects.current().exists() and FactWorkOrder.objects.current().exists()
    assert len(sf.store.jobs()) == jobs_before  # a dry run plans, never writes
    assert not OutboxItem.objects.filter(state=OutboxItem.State.SENT).exists()

    page = client_for(client, superuser).get(reverse("admin:index"))
    assert page.context["runs"][0].pk == run.pk
    assert "getPWWorkOrders" in page.content.decode()
    detail = client.get(reverse("admin:sync_syncrun_change", args=[run.pk]))
    assert detail.status_code == 200 and "pushWorkOrdersToSF" in detail.content.decode()
