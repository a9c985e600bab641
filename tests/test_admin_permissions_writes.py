"""The writes the permission walk found open: simple-history's revert form (change permission, a reason,
never for API tokens) and django-q2's resubmit (sync.trigger_sync, a reason, run as whoever resubmits)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from sync.models import ApiToken, StatusMapping
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, queued_tasks

pytestmark = pytest.mark.django_db
TRIGGER = "/api/sync/trigger"


def revert_url(obj, version) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_simple_history",
                   args=[obj.pk, version.history_id])


@pytest.fixture
def revoked_token(superuser):
    row, token = ApiToken.issue("portal", user=superuser)
    row.revoke(user=superuser, reason="leaked")
    return row, token


@pytest.fixture
def open_mapping():
    mapping = StatusMapping.objects.filter(is_closed=False).order_by("pk").first()
    mapping._change_reason = "made closed by mistake"
    mapping.is_closed = True
    mapping.save()
    mapping._change_reason = "fixed: it is open"
    mapping.is_closed = False
    mapping.save()
    return mapping


def test_a_viewer_cannot_revert_anything(client, viewer, revoked_token, open_mapping, warehouse_data):
    from warehouse.models import CustomerMapping

    row, token = revoked_token
    building = CustomerMapping.objects.get(pw_building_id=101)
    building.sf_customer_id = 5002
    building.save()
    c = client_for(client, viewer)
    for obj, field in ((row, "revoked_at"), (open_mapping, "is_closed"), (building, "sf_customer_id")):
        before = getattr(obj, field)
        version = obj.history.order_by("history_id").first()
        page = c.get(revert_url(obj, version))
        assert page.status_code == 200 and page.context["revert_disabled"]
        assert "revert-reason" not in page.content.decode()
        data = {"name": "portal", "sf_status": open_mapping.sf_status, "pw_status": "Closed",
                "is_closed": "on", "entity_type": "building", "sf_customer_id": "5001", "status": "mapped",
                "revert-reason": "because"}
        assert c.post(revert_url(obj, version), data).status_code == 403
        obj.refresh_from_db()
        assert getattr(obj, field) == before
    assert client.post(TRIGGER, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_no_one_reverts_a_token_not_even_a_superuser(client, superuser, revoked_token):
    row, token = revoked_token
    c = client_for(client, superuser)
    issued = row.history.order_by("history_id").first()
    assert issued.revoked_at is None  # the version a revert would bring back is an active token
    assert c.get(revert_url(row, issued)).context["revert_disabled"]
    assert c.post(revert_url(row, issued), {"name": "portal", "revert-reason": "oops"}).status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is not None and row.history.count() == 2
    assert client.post(TRIGGER, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_revert_needs_a_reason_kept_in_the_history_with_who_and_when(client, operator, open_mapping):
    c = client_for(client, operator)
    closed = open_mapping.history.filter(is_closed=True).get()
    url = revert_url(open_mapping, closed)
    page = c.get(url)
    assert not page.context["revert_disabled"] and 'name="revert-reason"' in page.content.decode()
    form = {"sf_status": closed.sf_status, "sf_code": closed.sf_code, "sf_category": closed.sf_category,
            "pw_status": closed.pw_status, "is_closed": "on", "note": closed.note}
    refused = c.post(url, {**form, "revert-reason": "   "})
    assert refused.status_code == 200 and "A reason is required" in refused.content.decode()
    open_mapping.refresh_from_db()
    assert open_mapping.is_closed is False and open_mapping.history.count() == 2
    done = c.post(url, {**form, "revert-reason": "SF closes these jobs now"})
    assert done.status_code == 302
    open_mapping.refresh_from_db()
    assert open_mapping.is_closed is True
    latest = open_mapping.history.order_by("-history_id").first()
    assert latest.history_user == operator
    reason = latest.history_change_reason
    assert reason.startswith(f"Reverted to version {closed.history_id} by otto at {timezone.now():%Y-%m-%d}")
    assert reason.endswith("Reason: SF closes these jobs now")
    assert LogEntry.objects.filter(user=operator, object_id=str(open_mapping.pk),
                                   change_message=f"Reverted to version {closed.history_id}. "
                                                  "Reason: SF closes these jobs now").exists()


def test_a_mapping_editor_reverts_a_building_mapping_with_a_reason(client, mapping_editor, warehouse_data):
    from warehouse.models import CustomerMapping

    building = CustomerMapping.objects.get(pw_building_id=101)
    building.sf_customer_id = 5002
    building.save()
    first = building.history.order_by("history_id").first()
    c = client_for(client, mapping_editor)
    done = c.post(revert_url(building, first), {
        "entity_type": "building", "pw_portfolio_id": "10", "pw_building_id": "101", "sf_customer_id": "5001",
        "status": "mapped", "revert-reason": "the remap was wrong"})
    assert done.status_code == 302, page_messages(done)
    building.refresh_from_db()
    assert building.sf_customer_id == 5001
    latest = building.history.order_by("-history_id").first()
    assert latest.history_user == mapping_editor and "the remap was wrong" in latest.history_change_reason


@pytest.fixture
def finished_sync(superuser):
    from django_q.models import Task

    now = timezone.now()
    return Task.objects.create(
        id="t-full", name="sync all steps", func="sync.engine.tasks.run_pipeline", group="greenlight-sync",
        kwargs={"steps": None, "dry_run": False, "full": True, "trigger": "manual", "user_id": superuser.pk},
        started=now - dt.timedelta(minutes=3), stopped=now, success=False, result="boom")


def resubmit(c, task, **extra):
    return c.post(reverse("admin:django_q_failure_changelist"),
                  {"action": "resubmit_selected", "_selected_action": [task.pk], **extra})


def test_a_viewer_cannot_resubmit_a_task(client, viewer, finished_sync):
    c = client_for(client, viewer)
    resubmit(c, finished_sync, apply="1", reason="again")
    assert not queued_tasks() and not LogEntry.objects.exists()


def test_an_operator_resubmits_with_a_reason_and_the_run_is_theirs(client, operator, finished_sync):
    from django_q.models import Failure

    c = client_for(client, operator)
    assert "Resubmit tasks" in resubmit(c, finished_sync).content.decode()
    assert "A reason is required" in resubmit(c, finished_sync, apply="1", reason=" ").content.decode()
    assert not queued_tasks()
    resubmit(c, finished_sync, apply="1", reason="SF was down")
    (task,) = queued_tasks()
    assert task["func"] == "sync.engine.tasks.run_pipeline"
    assert task["kwargs"] == {"steps": None, "dry_run": False, "full": True, "trigger": "admin",
                              "user_id": operator.pk}
    entry = LogEntry.objects.get()
    assert entry.user == operator and entry.object_id == finished_sync.pk
    assert "Reason: SF was down" in entry.change_message
    assert Failure.objects.filter(pk=finished_sync.pk).exists()  # the record of the failure stays
