"""Admin buttons that start work queue it and answer with a link to the task's status page; the page
reloads while the task waits, and a sync moves on to its run page once a worker has started it."""
from __future__ import annotations

import pytest
from django.urls import reverse

from sync.models import Alert, QueuedTask, SyncRun
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, staff_user
from tests.queue_support import work_off_queue
from tests.test_alerts import alert_hooks, webhook  # noqa: F401  (the real receiver the alert tests use)

pytestmark = pytest.mark.django_db(transaction=True)


def status_link(response) -> str:
    (message,) = page_messages(response)
    assert "is queued" in message and "Follow it" in message
    row = QueuedTask.objects.get()
    url = reverse("admin:sync_queued_task", args=[row.task_id])
    assert f'href="{url}"' in message
    return url


def test_sync_now_links_to_a_status_page_that_becomes_the_run_page(client, operator, sims):
    c = client_for(client, operator)
    url = status_link(c.post(reverse("admin:sync_now"), {"dry_run": "true"}, follow=True))
    assert not SyncRun.objects.exists()  # nothing ran in the request
    waiting = c.get(url)
    assert waiting.status_code == 200
    html = waiting.content.decode()
    assert "queued" in html and '<meta http-equiv="refresh" content="3">' in html

    work_off_queue()
    run = SyncRun.objects.get()
    assert run.trigger == "admin" and run.user == operator and run.status == "succeeded", run.error_summary
    moved = c.get(url)
    assert moved.status_code == 302
    assert moved["Location"] == reverse("admin:sync_syncrun_change", args=[run.pk])
    assert QueuedTask.objects.get().state == "done"


def test_the_test_alert_is_sent_by_a_worker_not_the_request(client, operator, alert_hooks):  # noqa: F811
    Alert.objects.create(condition="run_failed", message="seed")  # the action needs a row to act on
    c = client_for(client, operator)
    response = c.post(reverse("admin:sync_alert_changelist"),
                      {"action": "send_test", "_selected_action": [str(Alert.objects.get().pk)]}, follow=True)
    url = status_link(response)
    assert alert_hooks == [] and not Alert.objects.filter(condition="test").exists()
    assert "queued" in c.get(url).content.decode()

    work_off_queue()
    assert len(alert_hooks) == 1 and alert_hooks[0]["title"] == "GreenLight test alert"
    page = c.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "done" in html and "delivered" in html and "refresh" not in html


def test_an_undelivered_test_alert_fails_its_task(client, operator, settings):
    settings.ALERT_URLS = ["json://127.0.0.1:9/nobody"]  # the discard port: nothing listens
    Alert.objects.create(condition="run_failed", message="seed")
    c = client_for(client, operator)
    url = status_link(c.post(reverse("admin:sync_alert_changelist"),
                             {"action": "send_test", "_selected_action": [str(Alert.objects.get().pk)]},
                             follow=True))
    work_off_queue()
    assert QueuedTask.objects.get().state == "failed"
    assert "failed" in c.get(url).content.decode()


def test_the_status_page_needs_the_view_right_and_a_known_task(client, operator, viewer, django_user_model):
    client_for(client, operator).post(reverse("admin:sync_now"), {"dry_run": "true"})
    url = reverse("admin:sync_queued_task", args=[QueuedTask.objects.get().task_id])
    client.logout()
    assert client_for(client, viewer).get(url).status_code == 200
    assert client.post(url).status_code == 405
    assert client.get(reverse("admin:sync_queued_task", args=["0" * 32])).status_code == 404
    client.logout()
    nobody = staff_user(django_user_model, "nina")  # staff, in no group
    assert client_for(client, nobody).get(url).status_code == 403
