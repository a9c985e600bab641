"""Alerts reach a real SMTP server and a real webhook (both started here on loopback): once per condition,
then "resolved"; the dead man's switch fires with no runs; the test alert from the shell is delivered."""
from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django_q.models import Schedule

from sync.engine.runner import run_sync
from sync.engine.tasks import ALERT_SCHEDULE_NAME, SCHEDULE_CRON, check_alerts, ensure_alert_schedule
from sync.errors import PermanentError
from sync.models import Alert, OutboxItem, SyncRun
from sync.observability.alerts import clear_condition, evaluate_periodic, raise_condition

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def smtp():
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_hooks(webhook, settings):
    """That receiver as the one ALERT_URLS target; what it received."""
    received, port = webhook
    settings.ALERT_URLS = [f"json://127.0.0.1:{port}/hooks/alerts"]
    return received


@pytest.fixture
def targets(smtp, webhook, settings):
    box, smtp_port = smtp
    received, http_port = webhook
    settings.ALERT_URLS = [f"mailto://127.0.0.1:{smtp_port}?from=greenlight@example.com&to=ops@example.com",
                           f"json://127.0.0.1:{http_port}/hooks/alerts"]
    return box.messages, received


def _failing(*args, **kwargs):
    raise PermanentError("PropertyWare refused the credentials")


def _failed_run() -> SyncRun:
    run = run_sync(steps=["getPWPortfolios"], dry_run=True, client_factory=_failing)
    assert run.status == SyncRun.Status.FAILED, run.error_summary
    return run


def test_a_failed_run_alerts_once_then_resolves_when_a_run_succeeds(targets):
    mails, hooks = targets
    first = _failed_run()
    assert len(mails) == 1 and len(hooks) == 1
    assert "A sync run failed" in mails[0] and f"Run {first.pk}" in mails[0]
    assert hooks[0]["title"].startswith("GreenLight alert") and f"Run {first.pk}" in hooks[0]["message"]
    alert = Alert.objects.get(condition="run_failed")
    assert (alert.state, alert.sent_to, alert.delivered) == (Alert.State.OPEN, 2, True)

    _failed_run()  # still failing: the open alert is updated, nothing new is sent
    assert len(mails) == 1 and len(hooks) == 1
    assert Alert.objects.filter(condition="run_failed").count() == 1

    ok = run_sync(steps=["pushPortfoliosToSF"], dry_run=True, client_factory=lambda *a, **k: None)
    assert ok.status == SyncRun.Status.SUCCEEDED, ok.error_summary
    assert len(mails) == 2 and len(hooks) == 2
    assert "resolved" in hooks[1]["title"].lower() and "resolved" in mails[1].lower()
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.resolved_at is not None
    assert "resolved" in alert.delivery_result and alert.delivered is True


def test_the_dead_mans_switch_fires_with_no_runs_and_only_once(targets):
    mails, hooks = targets
    result = evaluate_periodic(SCHEDULE_CRON, now=datetime(2026, 12, 2, 15, 10, tzinfo=UTC))
    assert "dead_mans_switch" in result
    assert len(mails) == 1 and "never been one" in hooks[0]["message"]
    check_alerts()
    assert len(hooks) == 1
    assert Alert.objects.get(condition="dead_mans_switch").state == Alert.State.OPEN


def test_a_success_within_the_last_two_slots_keeps_the_switch_quiet(targets):
    mails, hooks = targets
    SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED,
                           started_at=datetime(2026, 12, 2, 14, 30, tzinfo=UTC))
    evaluate_periodic(SCHEDULE_CRON, now=datetime(2026, 12, 2, 15, 10, tzinfo=UTC))
    assert not Alert.objects.filter(condition="dead_mans_switch").exists() and hooks == []


def test_new_dead_letters_alert_and_resolve_when_staff_handle_them(targets):
    mails, hooks = targets
    item = OutboxItem.objects.create(key="job:WO-1", kind=OutboxItem.Kind.JOB, state=OutboxItem.State.DEAD)
    check_alerts()
    assert any("job:WO-1" in h["message"] for h in hooks)
    sent = len(hooks)
    OutboxItem.objects.filter(pk=item.pk).update(state=OutboxItem.State.IGNORED)
    check_alerts()
    assert len(hooks) == sent + 1 and "resolved" in hooks[-1]["title"].lower()


def test_preflight_can_raise_and_clear_its_condition(targets):
    mails, hooks = targets
    assert raise_condition("preflight_failed", "PW login refused") is not None
    assert raise_condition("preflight_failed", "PW login refused") is None
    assert clear_condition("preflight_failed") is not None
    assert len(hooks) == 2 and len(mails) == 2


def test_without_alert_urls_alerts_are_recorded_not_sent(settings):
    settings.ALERT_URLS = []
    alert = raise_condition("preflight_failed", "down")
    assert alert.sent_to == 0 and alert.delivered is None and "ALERT_URLS is empty" in alert.delivery_result


def test_the_test_command_delivers_and_says_where(targets, capsys):
    mails, hooks = targets
    call_command("alerts", "--test")
    out = capsys.readouterr().out
    assert "mailto://" in out and "json://" in out and "delivered" in out and "FAILED" not in out
    assert len(mails) == 1 and hooks[0]["title"] == "GreenLight test alert"


def test_an_unreachable_target_is_reported_undelivered(settings):
    settings.ALERT_URLS = [f"json://127.0.0.1:{_free_port()}/nobody"]
    with pytest.raises(Exception, match="not delivered"):
        call_command("alerts", "--test")
    assert Alert.objects.get(condition="test").delivered is False


def test_the_alert_timer_is_scheduled_once():
    first = ensure_alert_schedule()
    assert ensure_alert_schedule().pk == first.pk
    assert Schedule.objects.filter(name=ALERT_SCHEDULE_NAME).count() == 1
    assert first.func == "sync.engine.tasks.check_alerts"


def test_a_malformed_alert_url_stops_start_up_naming_the_variable():
    from tests.test_settings_env import _boot

    bad = _boot(ALERT_URLS="json://127.0.0.1:9/ok, nosuchservice://x")
    assert bad.returncode != 0 and "ImproperlyConfigured" in bad.stderr and "ALERT_URLS" in bad.stderr
    assert _boot(ALERT_URLS="mailto://127.0.0.1:25?from=a@example.com&to=b@example.com").returncode == 0
