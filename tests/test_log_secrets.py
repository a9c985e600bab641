"""Credentials never reach the log output: passwords, client secrets, bearer and access tokens, Basic
auth headers and access_token query parameters are redacted wherever they appear in a line."""
from __future__ import annotations

import base64
import json
import logging

import pytest
from django.test import override_settings

from sync.observability.scrub import REDACTED, scrub
from tests.logcapture import captured_logs

TOKEN = "f3a9c2e1b7d84a6c9e0f1a2b3c4d5e6f"
BASIC = base64.b64encode(b"pwuser:S3cret-pw!").decode()


@pytest.mark.parametrize(
    "text, secret",
    [
        ("GET /v1/jobs Authorization: Bearer " + TOKEN, TOKEN),
        ("headers={'Authorization': 'Bearer " + TOKEN + "', 'Accept': 'application/json'}", TOKEN),
        ('{"Authorization": "Basic ' + BASIC + '"}', BASIC),
        ("sent header Basic " + BASIC, BASIC),
        ("https://api.servicefusion.com/v1/me?access_token=" + TOKEN + "&page=2", TOKEN),
        ("grant_type=client_credentials&client_id=abc&client_secret=sf-secret-99", "sf-secret-99"),
        ('{"access_token": "' + TOKEN + '", "token_type": "Bearer", "expires_in": 3600}', TOKEN),
        ('{"refresh_token":"' + TOKEN + '"}', TOKEN),
        ("{'password': 'hunter2!x', 'username': 'pw'}", "hunter2!x"),
        ("PropertyWareClient(url='x', password='hunter2!x')", "hunter2!x"),
        ("login failed, password: hunter2!x", "hunter2!x"),
        ("<wsse:Password Type='x'>hunter2!x</wsse:Password>", "hunter2!x"),
        ("connect https://pwuser:hunter2!x@app.propertyware.com/pw", "hunter2!x"),
    ],
)
def test_scrub_removes_each_credential_shape(text, secret):
    cleaned = scrub(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    ["Basic information about work order 1234", "token_type=Bearer", "pulled 40 work orders",
     '{"check_number": "WO-1234567890", "po_number": "WO-1"}'],
)
def test_scrub_leaves_ordinary_text_alone(text):
    assert scrub(text) == text


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_secrets_never_appear_in_captured_log_lines(fmt):
    log = logging.getLogger("sync.clients.servicefusion.client")
    with captured_logs(fmt) as out:
        log.info("token response %s", {"access_token": TOKEN, "refresh_token": TOKEN + "r"})
        log.debug("request headers %r", {"Authorization": f"Bearer {TOKEN}"})
        log.warning("retrying %s", f"https://sf.example/v1/jobs?access_token={TOKEN}")
        log.info("calling", extra={"url": f"https://sf.example/v1/me?access_token={TOKEN}"})
        try:
            raise ConnectionError(f"reset while sending Authorization: Basic {BASIC}")
        except ConnectionError:
            log.exception("call failed")
    text = out.getvalue()
    assert TOKEN not in text and BASIC not in text
    assert text.count(REDACTED) >= 5
    assert "call failed" in text and "ConnectionError" in text  # the traceback is kept, scrubbed


@override_settings(PROPERTYWARE={"PASSWORD": "pw-literal-pass"},
                   SERVICEFUSION={"CLIENT_SECRET": "sf-literal"})
def test_configured_secret_values_are_removed_wherever_they_appear():
    with captured_logs("json") as out:
        logging.getLogger("zeep.transports").error("odd body: <x>pw-literal-pass</x> and sf-literal")
    line = json.loads(out.getvalue())
    assert "pw-literal-pass" not in line["message"] and "sf-literal" not in line["message"]
