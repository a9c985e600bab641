"""Access: the staff groups and their permissions, API tokens (hashed, shown once, revoked with a reason),
the token-authenticated trigger endpoint, and the command that issues tokens."""
from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from sync.admin.groups import MAPPING_EDITORS, OPERATORS, VIEWERS
from sync.models import ApiToken, SyncRun
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, queued_tasks

pytestmark = pytest.mark.django_db
TRIGGER = "/api/sync/trigger"


def codenames(group: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=group).permissions.select_related("content_type")}


def test_migration_creates_the_three_groups_with_their_permissions():
    viewers, operators, editors = codenames(VIEWERS), codenames(OPERATORS), codenames(MAPPING_EDITORS)
    assert {"sync.view_syncrun", "sync.view_featureflag", "warehouse.view_customermapping",
            "django_q.view_schedule", "admin.view_logentry"} <= viewers
    assert all(p.split(".")[1].startswith("view_") for p in viewers)
    assert {"sync.change_featureflag", "sync.change_duplicatecandidate", "sync.change_unitcorrection",
            "sync.change_outboxitem", "sync.trigger_sync"} <= operators
    assert "warehouse.import_customermapping" not in operators
    assert {"warehouse.import_customermapping", "warehouse.export_customermapping",
            "warehouse.change_customermapping"} <= editors
    assert "sync.change_featureflag" not in editors and "sync.trigger_sync" not in editors


@pytest.mark.django_db(transaction=True)
def test_groups_come_back_after_a_flush():
    # A flush empties every table (groups included) and emits post_migrate, as a test-database reset does.
    call_command("flush", "--noinput", verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) == {VIEWERS, OPERATORS, MAPPING_EDITORS}
    assert "sync.trigger_sync" in codenames(OPERATORS)


def test_token_is_stored_only_as_a_hash_and_authenticates():
    row, token = ApiToken.issue("portal")
    assert token.startswith("glt_") and len(token) > 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiToken.objects.filter(pk=row.pk).values().get())
    assert ApiToken.authenticate(token) == row
    assert ApiToken.objects.get(pk=row.pk).last_used_at is not None
    assert ApiToken.authenticate(token + "x") is None and ApiToken.authenticate("") is None
    row.revoke(reason="leaked")
    assert ApiToken.authenticate(token) is None


def test_admin_shows_a_new_token_once(client, superuser):
    c = client_for(client, superuser)
    refused = c.post(reverse("admin:sync_apitoken_add"), {"name": "warehouse-portal", "reason": " "})
    assert "A reason is required" in refused.content.decode() and not ApiToken.objects.exists()
    page = c.post(reverse("admin:sync_apitoken_add"),
                  {"name": "warehouse-portal", "reason": "portal go-live"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    token = page.context["token"]
    row = ApiToken.objects.get(name="warehouse-portal")
    assert row.created_by == superuser and ApiToken.authenticate(token) == row
    detail = c.get(reverse("admin:sync_apitoken_change", args=[row.pk])).content.decode()
    assert token not in detail and row.prefix in detail
    assert row.history.get().history_change_reason == "portal go-live"
    assert LogEntry.objects.filter(object_id=str(row.pk),
                                   change_message="Issued. Reason: portal go-live").exists()


def test_revoking_needs_a_reason(client, superuser):
    row, token = ApiToken.issue("portal")
    c = client_for(client, superuser)
    url = reverse("admin:sync_apitoken_changelist")
    form = {"action": "revoke", "_selected_action": [row.pk]}
    assert "Revoke API tokens" in c.post(url, form).content.decode()
    refused = c.post(url, {**form, "apply": "1", "reason": "  "})
    assert "A reason is required" in refused.content.decode()
    assert ApiToken.authenticate(token) == row
    c.post(url, {**form, "apply": "1", "reason": "contractor left"})
    row.refresh_from_db()
    assert row.revoked_at is not None and row.revoked_by == superuser
    assert row.history.first().history_change_reason == "contractor left"
    assert LogEntry.objects.filter(object_id=str(row.pk), change_message__contains="contractor left").exists()


def test_operators_cannot_create_tokens(client, operator):
    c = client_for(client, operator)
    assert c.post(reverse("admin:sync_apitoken_add"), {"name": "sneaky"}).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("header", [None, "Token abc", "Bearer ", "Bearer glt_not-a-real-token"])
def test_trigger_is_refused_without_a_valid_token(client, header):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.post(TRIGGER, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not queued_tasks() and not SyncRun.objects.exists()


def test_trigger_refuses_a_revoked_token_and_get(client):
    row, token = ApiToken.issue("portal")
    row.revoke(reason="rotated")
    assert client.post(TRIGGER, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert client.get(TRIGGER, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_trigger_queues_a_run(client):
    _, token = ApiToken.issue("portal")
    response = client.post(TRIGGER, {"dry_run": "true"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    body = response.json()
    assert body["queued"] is True and body["dry_run"] is True
    [task] = queued_tasks()
    assert task["func"] == "sync.engine.tasks.run_pipeline"
    assert task["kwargs"]["dry_run"] is True and task["kwargs"]["trigger"] == "api"
    assert task["id"] == body["task_id"]


def test_trigger_accepts_json_and_checks_parameters(client):
    _, token = ApiToken.issue("portal")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    ok = client.post(TRIGGER, {"steps": ["getpwportfolios"], "full": True}, content_type="application/json",
                     **auth)
    assert ok.status_code == 202
    assert queued_tasks()[0]["kwargs"]["steps"] == ["getPWPortfolios"]
    for body, message in [({"dry_run": "yes"}, "dry_run: expected true or false"),
                          ({"mode": "later"}, "mode: expected queue or now"),
                          ({"steps": ["nope"]}, "unknown step 'nope'"),
                          ({"colour": "red"}, "unknown parameters: colour")]:
        response = client.post(TRIGGER, body, content_type="application/json", **auth)
        assert response.status_code == 400 and message in response.json()["error"]
    bad_json = client.post(TRIGGER, "{", content_type="application/json", **auth)
    assert bad_json.status_code == 400
    assert len(queued_tasks()) == 1


@pytest.mark.django_db
def test_trigger_mode_now_queues_too_and_says_so(client):
    """No sync runs inside a web request: ``mode=now`` is queued like ``queue``, with a notice."""
    _, token = ApiToken.issue("portal")
    response = client.post(TRIGGER, {"mode": "now", "dry_run": "true", "steps": "getPWPortfolios"},
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    body = response.json()
    assert body["queued"] is True and "deprecated" in body["notice"] and body["status_url"]
    assert not SyncRun.objects.exists()
    assert len(queued_tasks()) == 1


def test_create_api_token_command_prints_the_token_once(superuser):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="--reason: required"):
        call_command("create_api_token", "billing", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("create_api_token", "billing", "--user", superuser.username, "--reason", "billing export",
                 stdout=out, stderr=err)
    token = out.getvalue().strip()
    row = ApiToken.objects.get(name="billing")
    assert ApiToken.authenticate(token) == row and row.created_by == superuser
    assert "not shown again" in err.getvalue()
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_api_token", "billing", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="no user called"):
        call_command("create_api_token", "other", "--user", "ghost", stdout=io.StringIO())
    assert row.history.get().history_change_reason == "billing export"
    with pytest.raises(CommandError, match="--reason: required to revoke"):
        call_command("create_api_token", "billing", "--revoke", stdout=io.StringIO())
    call_command("create_api_token", "billing", "--revoke", "--reason", "rotated", stdout=io.StringIO())
    assert ApiToken.authenticate(token) is None
    assert ApiToken.objects.get(name="billing").history.first().history_change_reason == "rotated"


def test_viewer_sees_tokens_but_not_their_secrets(client, viewer):
    ApiToken.issue("portal")
    page = client_for(client, viewer).get(reverse("admin:sync_apitoken_changelist"))
    assert page.status_code == 200 and "portal" in page.content.decode()
    assert "Revoke selected tokens" not in page.content.decode()
    assert page_messages(page) == []
