"""Who may get in and what they see: login lockout after repeated wrong passwords (django-axes) with
unlock from the admin and the command; /health/ details only for staff or a token holder; /metrics
refused without a token when DEBUG is off; the log scrubber leaves prose alone."""
from __future__ import annotations

import io

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client, override_settings
from django.urls import reverse

from sync.observability.scrub import scrub
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True, is_superuser=True)


def login(client, password):
    return client.post(LOGIN, {"username": "sam", "password": password, "next": "/admin/"})


def test_the_sixth_attempt_is_refused_even_with_the_right_password(staff):
    c = Client()
    for _ in range(4):
        assert login(c, "wrong").status_code == 200  # the form again, with its error
    assert login(c, "wrong").status_code == 429  # the fifth failure locks the account out
    locked = login(c, PASSWORD)  # the sixth attempt, with the right password
    assert locked.status_code == 429 and "locked" in locked.content.decode().lower()
    assert "_auth_user_id" not in c.session
    assert AccessAttempt.objects.get(username="sam").failures_since_start >= 5


def test_a_success_resets_the_count(staff):
    c = Client()
    for _ in range(4):
        login(c, "wrong")
    assert login(c, PASSWORD).status_code == 302
    c.logout()
    for _ in range(4):
        login(c, "wrong")
    assert login(c, PASSWORD).status_code == 302  # 8 failures in all, never 5 in a row


def test_staff_unlock_from_the_admin_restores_access(client, staff, superuser):
    c = Client()
    for _ in range(6):
        login(c, "wrong")
    assert login(c, PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="sam")
    admin = client_for(client, superuser)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "sam" in admin.get(changelist).content.decode()
    admin.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert not AccessAttempt.objects.exists()
    assert login(c, PASSWORD).status_code == 302


def test_the_axes_reset_command_restores_access(staff):
    c = Client()
    for _ in range(6):
        login(c, "wrong")
    assert login(c, PASSWORD).status_code == 429
    call_command("axes_reset", stdout=io.StringIO())
    assert login(c, PASSWORD).status_code == 302


# --- /health/ ------------------------------------------------------------------------------------------

def test_anonymous_health_shows_only_the_status(client):
    response = client.get("/health/?only=database")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@override_settings(HEALTH_TOKEN="health-token-0123456789", METRICS_TOKEN="metrics-token-0123456789")
@pytest.mark.parametrize("token", ["health-token-0123456789", "metrics-token-0123456789"])
def test_a_token_holder_sees_the_checks(client, token):
    response = client.get("/health/?only=database", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["checks"]["database"]["status"] == "ok"
    wrong = client.get("/health/?only=database", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.json() == {"status": "ok"}


def test_staff_see_the_checks(client, viewer):
    assert "checks" in client_for(client, viewer).get("/health/?only=database").json()


def test_a_database_error_is_not_shown_to_anonymous_callers(client, monkeypatch):
    from sync.observability import health

    def broken(alias="default"):
        return {"status": health.FAIL, "error": "OperationalError: connection to db.internal:5432 as gl_app"}

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/health/?only=database")
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}
    assert "db.internal" not in response.content.decode() and "gl_app" not in response.content.decode()
    assert DatabaseError  # the real check catches DatabaseError; the message shape is the same


# --- /metrics ------------------------------------------------------------------------------------------

@override_settings(DEBUG=False, METRICS_TOKEN="", METRICS_ALLOW_ANONYMOUS=False)
def test_metrics_without_a_configured_token_are_refused_when_debug_is_off(client):
    response = client.get("/metrics")
    assert response.status_code == 403 and "METRICS_TOKEN" in response.content.decode()


@override_settings(DEBUG=True, METRICS_TOKEN="", METRICS_ALLOW_ANONYMOUS=False)
def test_metrics_are_open_in_debug_without_a_token(client):
    assert client.get("/metrics").status_code == 200


# --- the log scrubber ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("refreshed the OAuth token: expires in 3600 s", "refreshed the OAuth token: expires in 3600 s"),
    ("secret: none configured", "secret: none configured"),
    ("token=abc123 sent", "token=[REDACTED] sent"),
    ('{"access_token": "abc", "expires_in": 3600}', '{"access_token": "[REDACTED]", "expires_in": 3600}'),
    ("Authorization: Bearer xyz.abc", "Authorization: Bearer [REDACTED]"),
    ("password: hunter2", "password: [REDACTED]"),
    ("access_token: abcdef", "access_token: [REDACTED]"),
])
def test_the_scrubber_redacts_known_keys_only(text, expected):
    assert scrub(text) == expected
