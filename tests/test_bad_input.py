"""Bad input is refused with a message naming what is wrong: flag values out of range (set_flag, the
``flags`` command, the admin form, and a value already stored), and the trigger API's JSON."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from sync.models import ApiToken, FeatureFlag
from sync.policies.flags import FLAGS, FlagError, read_flags, set_flag
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for

pytestmark = pytest.mark.django_db
TRIGGER = "/api/sync/trigger"

BAD_FLAGS = [
    ("DEDUP_WINDOW_DAYS", "100000000000000000000", "at most 365"),
    ("DEDUP_WINDOW_DAYS", "0", "at least 1"),
    ("DEDUP_WINDOW_DAYS", "366", "at most 365"),
    ("DEDUP_WINDOW_DAYS", "1_0", "whole number"),
    ("DEDUP_WINDOW_DAYS", "1e3", "whole number"),
    ("DEDUP_CONFIDENCE", "nan", "between 0 and 1"),
    ("DEDUP_CONFIDENCE", "inf", "between 0 and 1"),
    ("DEDUP_CONFIDENCE", "-0.1", "between 0 and 1"),
    ("DEDUP_REVIEW_THRESHOLD", "1.01", "between 0 and 1"),
    ("DEDUP_DESCRIPTION_SIMILARITY", "0." + "1" * 60, "between 0 and 1"),
    ("DEDUP_CACHE_TTL_SECONDS", "604801", "at most 604800"),
    ("DEDUP_CACHE_TTL_SECONDS", "-1", "at least 0"),
    ("SAFE_MODE_TRIP_AFTER", "1001", "at most 1000"),
    ("CIRCUIT_BREAKER_FAILURES", "0", "at least 1"),
    ("CIRCUIT_BREAKER_FAILURES", "9" * 5000, "at most 1000"),
    ("SF_JOB_CF_UNIT_ID", "x" * 101, "at most 100 characters"),
    ("PW_OPEN_STATUSES", "open," * 500, "at most 2000 characters"),
    ("TENANT_PUSH_MODE", "both", "contact, child_customer"),
    ("DRY_RUN", "1", "true or false"),
]


def test_every_number_flag_has_a_range():
    numbers = [spec for spec in FLAGS if spec.type in ("int", "fraction")]
    assert numbers and all(spec.minimum is not None and spec.maximum is not None for spec in numbers)
    assert next(s for s in FLAGS if s.name == "DEDUP_WINDOW_DAYS").bounds == "1 to 365"


@pytest.mark.parametrize("name,raw,fragment", BAD_FLAGS)
def test_set_flag_refuses_out_of_range_values_naming_the_flag(name, raw, fragment):
    with pytest.raises(FlagError) as err:
        set_flag(name, raw, reason="test")
    assert str(err.value).startswith(f"{name}: ") and fragment in str(err.value)
    assert len(str(err.value)) < 200  # a huge value is not echoed back whole
    assert not FeatureFlag.objects.exists()


@pytest.mark.parametrize("name,raw,fragment", BAD_FLAGS[:6])
def test_the_flags_command_refuses_them(name, raw, fragment):
    with pytest.raises(CommandError, match=f"^{name}: .*{fragment}"):
        call_command("flags", name, raw, "--reason", "test")
    assert not FeatureFlag.objects.exists()


@pytest.mark.parametrize("name,raw,fragment", BAD_FLAGS[:6] + BAD_FLAGS[10:13])
def test_the_admin_form_refuses_them(client, operator, name, raw, fragment):
    page = client_for(client, operator).post(reverse("admin:sync_featureflag_set", args=[name]),
                                             {"value": raw, "reason": "test"})
    assert page.status_code == 200 and fragment in page.content.decode()
    assert not FeatureFlag.objects.exists()


def test_the_admin_form_shows_the_range(client, operator):
    page = client_for(client, operator).get(reverse("admin:sync_featureflag_set", args=["DEDUP_WINDOW_DAYS"]))
    assert "From 1 to 365." in page.content.decode()


def test_a_value_stored_out_of_range_fails_the_read_naming_the_flag():
    FeatureFlag.objects.create(name="DEDUP_WINDOW_DAYS", value=str(10**20))  # written before the bounds
    with pytest.raises(FlagError) as err:
        read_flags()
    assert err.value.flag == "DEDUP_WINDOW_DAYS" and "at most 365" in str(err.value)


# --- the trigger API ---------------------------------------------------------------------------------

@pytest.fixture
def auth():
    _, token = ApiToken.issue("portal")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def nested(depth: int) -> str:
    return '{"steps": ' + "[" * depth + "]" * depth + "}"


BAD_JSON = [
    ({"mode": 5}, 400, "mode: expected queue or now, got a number"),
    ({"mode": None, "full": 1}, 400, "full: expected true or false, got a number"),
    ({"dry_run": [True]}, 400, "dry_run: expected true or false, got a list"),
    ({"dry_run": {"a": 1}}, 400, "dry_run: expected true or false, got an object"),
    ({"steps": "getPWPortfolios"}, 400, "steps: expected a list of step names, got a string"),
    ({"steps": [1, 2]}, 400, "steps.0: expected a step name, got a number"),
    ({"steps": ["x" * 101]}, 400, "steps.0: too long"),
    ({"steps": ["getPWPortfolios"] * 51}, 400, "steps: too long"),
    ({"mode": "x" * 11}, 400, "mode: too long"),
    ({"colour": "red"}, 400, "unknown parameters: colour"),
    ({"MODE": "now"}, 400, "unknown parameters: MODE"),
    ([1, 2], 400, "body: expected a JSON object, got a list"),
    ("now", 400, "body: expected a JSON object, got a string"),
    (None, 400, "body: expected a JSON object, got null"),
]
BAD_RAW = [
    ("{", "application/json", 400, "body: not valid JSON"),
    ("{'mode': 'now'}", "application/json", 400, "body: not valid JSON"),
    (b"\xff\xfe{}", "application/json", 400, "body: not valid JSON"),
    ('{"mode": "now"} trailing', "application/json", 400, "body: not valid JSON"),
    (nested(3), "application/json", 400, "nested more than 3 levels"),
    (nested(5000), "application/json", 413, "larger than"),
    (nested(2000), "application/json", 400, "nested more than 3 levels"),
    ('{"steps": [' + '"a",' * 3000 + '"a"]}', "application/json", 413, "larger than 8192 bytes"),
    ('{"x": "' + "a" * 20000 + '"}', "application/json", 413, "larger than 8192 bytes"),
    ("mode=now", "text/plain", 415, "Content-Type 'text/plain' is not accepted"),
    ("<run/>", "application/xml", 415, "is not accepted"),
]


@pytest.mark.parametrize("body,status,message", BAD_JSON)
def test_the_api_refuses_bad_json_with_a_clear_message(client, auth, body, status, message):
    response = client.post(TRIGGER, json.dumps(body), content_type="application/json", **auth)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]


@pytest.mark.parametrize("body,content_type,status,message", BAD_RAW)
def test_the_api_refuses_malformed_bodies(client, auth, body, content_type, status, message):
    response = client.post(TRIGGER, body, content_type=content_type, **auth)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]


def test_a_lying_content_length_is_refused(client, auth):
    response = client.post(TRIGGER, "{}", content_type="application/json", CONTENT_LENGTH="99999999", **auth)
    assert response.status_code == 413


def test_good_input_is_still_accepted(client, auth):
    response = client.post(TRIGGER, json.dumps({"mode": "QUEUE", "dry_run": True, "full": "false",
                                                 "steps": ["getpwportfolios"]}),
                           content_type="application/json; charset=utf-8", **auth)
    assert response.status_code == 202, response.content


def test_the_number_of_bad_inputs_covered():
    assert len(BAD_FLAGS) + len(BAD_JSON) + len(BAD_RAW) >= 40
