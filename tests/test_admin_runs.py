"""Runs, errors, the outbox and dead letters (retry / ignore with a reason), and django-q2's screens in
the same admin."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from sync.models import OutboxItem
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, seed_runs

pytestmark = pytest.mark.django_db
DEAD = reverse("admin:sync_deadletter_changelist")


@pytest.fixture
def runs(db):
    return seed_runs()


def test_run_list_and_detail_with_steps_and_errors(client, viewer, runs):
    c = client_for(client, viewer)
    page = c.get(reverse("admin:sync_syncrun_changelist"))
    assert page.status_code == 200 and page.context["cl"].result_count == 2
    body = page.content.decode()
    assert "2/2 succeeded" in body and "failed: getSFJobs" in body and "42.0 s" in body
    assert c.get(reverse("admin:sync_syncrun_changelist"), {"status__exact": "failed"}).context[
        "cl"].result_count == 1
    detail = c.get(reverse("admin:sync_syncrun_change", args=[runs["bad"].pk])).content.decode()
    assert "getSFJobs" in detail and "ServiceFusion timed out three times" in detail
    assert "ReadTimeout: GET /jobs" in detail and "retried 3 times" in detail
    ok = c.get(reverse("admin:sync_syncrun_change", args=[runs["ok"].pk])).content.decode()
    assert "inserted 228" in ok


def test_error_log_is_searchable_and_links_to_its_run(client, viewer, runs):
    c = client_for(client, viewer)
    page = c.get(reverse("admin:sync_syncerror_changelist"), {"q": "ReadTimeout"})
    assert page.context["cl"].result_count == 1
    assert reverse("admin:sync_syncrun_change", args=[runs["bad"].pk]) in page.content.decode()
    assert c.get(reverse("admin:sync_syncerror_changelist"), {"system": "pw"}).status_code == 200


def test_runs_and_errors_are_read_only(client, superuser, runs):
    c = client_for(client, superuser)
    before = runs["bad"].status
    c.post(reverse("admin:sync_syncrun_change", args=[runs["bad"].pk]), {"status": "succeeded"})
    runs["bad"].refresh_from_db()
    assert runs["bad"].status == before
    assert c.get(reverse("admin:sync_syncrun_add")).status_code == 403


def test_dead_letters_list_only_dead_writes(client, viewer, runs):
    page = client_for(client, viewer).get(DEAD)
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    assert "job:WO-9001" in page.content.decode() and "422 customer_name invalid" in page.content.decode()
    assert "Retry selected" not in page.content.decode()


def test_retry_a_dead_letter_with_a_reason(client, operator, runs):
    c = client_for(client, operator)
    form = {"action": "retry", "_selected_action": [runs["dead"].pk]}
    confirm = c.post(DEAD, form)
    assert "Retry dead letters" in confirm.content.decode()
    refused = c.post(DEAD, {**form, "apply": "1", "reason": ""})
    assert "A reason is required" in refused.content.decode()
    assert OutboxItem.objects.get(pk=runs["dead"].pk).state == "dead"
    done = c.post(DEAD, {**form, "apply": "1", "reason": "customer fixed in SF"}, follow=True)
    assert any("queued again" in m for m in page_messages(done))
    item = OutboxItem.objects.get(pk=runs["dead"].pk)
    assert item.state == "planned" and item.attempts == 0
    assert LogEntry.objects.filter(user=operator, object_id=str(item.pk),
                                   change_message__contains="customer fixed in SF").exists()


def test_ignore_a_dead_letter_with_a_reason(client, operator, runs):
    c = client_for(client, operator)
    c.post(DEAD, {"action": "ignore", "_selected_action": [runs["dead"].pk], "apply": "1",
                  "reason": "job was created by hand"})
    item = OutboxItem.objects.get(pk=runs["dead"].pk)
    assert item.state == "ignored" and item.hold_reason == "job was created by hand"
    assert client.get(DEAD).context["cl"].result_count == 0


@pytest.mark.parametrize("who", ["viewer", "mapping_editor"])
def test_only_operators_retry_or_ignore(client, who, request, runs):
    c = client_for(client, request.getfixturevalue(who))
    c.post(DEAD, {"action": "retry", "_selected_action": [runs["dead"].pk], "apply": "1", "reason": "x"})
    c.post(reverse("admin:sync_outboxitem_changelist"),
           {"action": "ignore", "_selected_action": [runs["dead"].pk], "apply": "1", "reason": "x"})
    assert OutboxItem.objects.get(pk=runs["dead"].pk).state == "dead"


def test_outbox_lists_every_write_with_filters(client, viewer, runs):
    c = client_for(client, viewer)
    page = c.get(reverse("admin:sync_outboxitem_changelist"), {"state__exact": "sent"})
    assert page.context["cl"].result_count == 1 and "job:WO-9003" in page.content.decode()


@pytest.mark.parametrize("name", ["schedule", "ormq", "failure", "success"])
def test_task_queue_screens_are_in_the_same_admin(client, viewer, name):
    assert client_for(client, viewer).get(reverse(f"admin:django_q_{name}_changelist")).status_code == 200
