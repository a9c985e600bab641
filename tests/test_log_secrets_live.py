"""Real client calls against the simulators, with every library logger at DEBUG: the captured log lines
never contain the ServiceFusion client secret or any token the simulator issued, nor the PropertyWare
password or its Basic header — also when credentials are refused and tokens are revoked mid-session."""
from __future__ import annotations

import base64
import copy
import io
import logging
import logging.config

import pytest
import requests
from django.conf import settings

from sync.clients.propertyware.client import PropertyWareClient
from sync.clients.servicefusion.client import ServiceFusionClient
from sync.errors import AuthError, IntegrationError
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator


def log_every_exchange(session: requests.Session) -> None:
    """What a developer chasing a bug adds: every request's URL, headers and body, every response body."""
    log = logging.getLogger("sync.debugging")

    def hook(response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        log.debug("%s %s headers=%s body=%r", request.method, request.url, dict(request.headers),
                  request.body)
        log.debug("answer %s: %s", response.status_code, response.text[:2000])

    session.hooks["response"].append(hook)


@pytest.fixture
def debug_logs():
    """The project's LOGGING with the console in JSON, every logger (zeep, urllib3 too) at DEBUG."""
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["formatter"] = "json"
    config["handlers"]["console"]["stream"] = buffer
    config["root"]["level"] = "DEBUG"
    config["loggers"] = {name: {"level": "DEBUG"} for name in ("zeep", "urllib3", "requests", "sync")}
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_servicefusion_calls_never_log_the_secret_or_tokens(debug_logs):
    with ServiceFusionSimulator(dataset="tiny") as sim:
        client = ServiceFusionClient(sim.base_url, sim.client_id, sim.client_secret, verify=sim.ca_path)
        log_every_exchange(client._t.session)
        assert client.me().email
        assert list(client.iter_customers()) is not None
        sim.oauth.revoke_all()  # the next call gets 401, re-authenticates and replays
        client.me()
        bad = ServiceFusionClient(sim.base_url, sim.client_id, "wrong-secret-value-123", verify=sim.ca_path)
        log_every_exchange(bad._t.session)
        with pytest.raises(AuthError):
            bad.me()
        tokens = [t for t in sim.oauth._by_access]  # every access token the simulator issued
        refresh = [t.refresh_token for t in sim.oauth._by_access.values()]
    text = debug_logs.getvalue()
    assert "Authorization" in text and "/oauth/access_token" in text  # the exchanges were logged
    assert text.count("[REDACTED]") >= 6  # headers, token bodies and answers were there to scrub
    assert len(tokens) >= 2
    for secret in (sim.client_secret, "wrong-secret-value-123", *tokens, *refresh):
        assert secret not in text


def test_propertyware_calls_never_log_the_password(debug_logs):
    with PropertyWareSimulator(dataset="tiny") as sim:
        client = PropertyWareClient(sim.url, sim.username, sim.password, retries=0)
        log_every_exchange(client._session)
        assert client.echo("hello") == "hello"
        assert client.get_vendors()
        bad = PropertyWareClient(sim.url, sim.username, "not-the-password-42", retries=0)
        log_every_exchange(bad._session)
        with pytest.raises(IntegrationError):
            bad.echo("x")
        try:
            bad.echo("y")
        except IntegrationError:
            logging.getLogger("sync.test").exception("PW refused the call")
    text = debug_logs.getvalue()
    assert "Authorization" in text and "echoString" in text  # the exchanges were logged
    assert text.count("[REDACTED]") >= 3
    basic = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    for secret in (sim.password, "not-the-password-42", basic):
        assert secret not in text
    assert "PW refused the call" in text
