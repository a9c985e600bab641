"""The run page's progress: its JSON status URL (staff with the view right on runs only) and, in a real
browser, the table updating in place while the run runs. Progress is written by the code path a run uses
(a step's StepContext and its StepProgress), over a run whose rows this test moves along."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.admin.groups import VIEWERS
from sync.engine.clients import build_client
from sync.engine.context import StepContext
from sync.models import OutboxItem, StepRun, SyncRun
from sync.policies.flags import read_flags
from tests.admin_support import PASSWORD, staff_user
from tests.browser import *  # noqa: F403
from tests.browser import admin_login

JOB = OutboxItem.Kind.JOB


def running_run(settings, rows: int = 4) -> tuple[SyncRun, StepContext]:
    """A run under way in pushWorkOrdersToSF with ``rows`` job rows planned and none sent yet."""
    settings.SERVICEFUSION = {**settings.SERVICEFUSION, "CLIENT_ID": "progress", "CLIENT_SECRET": "progress",
                              "RATE_LIMIT_CAP": 0}
    now = timezone.now()
    run = SyncRun.objects.create(status=SyncRun.Status.RUNNING)
    StepRun.objects.create(run=run, name="getPWPortfolios", position=1, status=StepRun.Status.SUCCEEDED,
                           started_at=now, finished_at=now)
    step = StepRun.objects.create(run=run, name="pushWorkOrdersToSF", position=2,
                                  status=StepRun.Status.RUNNING, started_at=now)
    StepRun.objects.create(run=run, name="pushJobUpdatesToPW", position=3)
    for i in range(rows):
        OutboxItem.objects.create(key=f"job:WO-{900 + i}", kind=JOB, run=run)
    ctx = StepContext(run=run, step_run=step, name=step.name, flags=read_flags(), client_factory=build_client)
    ctx.client("sf")  # built, not called: ServiceFusion's documented 60/min is the rate until it answers
    ctx.progress.interval = 0.0
    ctx.progress.tick()
    return run, ctx


def send(run: SyncRun, n: int) -> None:
    planned = OutboxItem.objects.filter(run=run, state=OutboxItem.State.PLANNED)
    for pk in planned.values_list("pk", flat=True)[:n]:
        OutboxItem.objects.filter(pk=pk).update(state=OutboxItem.State.SENT, sent_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_progress_json_for_staff_with_the_view_right_only(client, django_user_model, settings):
    run, _ = running_run(settings)
    url = reverse("admin:sync_syncrun_progress", args=[run.pk])
    assert url == f"/admin/sync/syncrun/{run.pk}/progress.json"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    client.force_login(staff_user(django_user_model, "nogroup"))
    assert client.get(url).status_code == 403
    client.force_login(staff_user(django_user_model, "viewer", VIEWERS))
    data = client.get(url).json()
    step = next(s for s in data["steps"] if s["name"] == "pushWorkOrdersToSF")
    assert (step["planned"], step["sent"], step["remaining"]) == (4, 0, 4)
    # Four SF rows left at 60 requests a minute: four seconds; the next step is not counted yet.
    assert data["running"] and data["eta_seconds"] == pytest.approx(4.0)
    assert data["rates_per_minute"] == {"sf": 60.0} and data["eta_complete"] is False
    assert client.post(url).status_code == 405
    assert client.get(reverse("admin:sync_syncrun_progress", args=[run.pk + 99])).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_run_page_follows_a_running_run(browser_page, django_user_model, shots, settings):
    run, ctx = running_run(settings)
    staff_user(django_user_model, "vera", VIEWERS)
    page = browser_page
    admin_login(page, "vera", PASSWORD)
    page.goto(reverse("admin:sync_syncrun_change", args=[run.pk]))
    row = page.locator('#run-progress tr[data-step="pushWorkOrdersToSF"]')
    assert row.locator('[data-field="planned"]').inner_text() == "4"
    assert row.locator('[data-field="remaining"]').inner_text() == "4"
    assert page.locator('[data-run="eta"]').inner_text() == "4 s"
    shots(page, "run page, nothing sent yet")

    send(run, 3)
    ctx.progress.tick()  # what the step records as it sends; the page polls it
    remaining = row.locator('[data-field="remaining"]')
    remaining.filter(has_text="1").wait_for()
    assert row.locator('[data-field="sent"]').inner_text() == "3"
    assert page.locator('[data-run="eta"]').inner_text() == "1 s"
    shots(page, "run page, three sent")

    # The run ends: the page reloads once with the final record and stops polling.
    send(run, 1)
    ctx.progress.tick()
    StepRun.objects.filter(run=run, name="pushWorkOrdersToSF").update(status=StepRun.Status.SUCCEEDED,
                                                                      finished_at=timezone.now())
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    page.locator('[data-run="status"]', has_text="succeeded").wait_for()
    page.wait_for_load_state()
    assert page.locator('[data-run="eta-line"]').is_hidden()
    assert row.locator('[data-field="sent"]').inner_text() == "4"
    assert row.locator('[data-field="remaining"]').inner_text() == "0"
    shots(page, "run page, run finished")


@pytest.mark.django_db(transaction=True)
def test_the_figures_are_in_the_page_itself_for_browsers_without_javascript(client, django_user_model,
                                                                             settings):
    run, _ = running_run(settings)
    client.force_login(staff_user(django_user_model, "viewer", VIEWERS))
    page = client.get(reverse("admin:sync_syncrun_change", args=[run.pk])).content.decode()
    row = page[page.index('<tr data-step="pushWorkOrdersToSF">'):]
    row = row[: row.index("</tr>")]
    assert '<td data-field="planned">4</td>' in row and '<td data-field="remaining">4</td>' in row
    assert 'data-field="eta">4 s<' in row and 'data-running="1"' in page
    assert "Refresh" in page and "<noscript>" in page
