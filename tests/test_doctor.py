"""Preflight (``manage.py doctor`` and the check before a run's first write): both simulators over real
HTTP(S), the real database; a wrong custom-field label or a missing SF status stops every write up front."""

from __future__ import annotations

import email.utils
import io
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Success

from sync.engine.preflight import _check_clock, last_result, run_checks, skew_seconds
from sync.engine.runner import run_sync
from sync.models import OutboxItem, StepRun, SyncRun
from sync.models.alerts import Alert
from sync.policies.flags import set_flag
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for
from tests.engine_support import live, sf_posts
from tests.sf_support import seed_jobs

pytestmark = pytest.mark.django_db

BLOCKING = {"propertyware_credentials", "servicefusion_token", "servicefusion_custom_fields",
            "servicefusion_statuses", "propertyware_sf_job_id_field"}


def doctor(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("doctor", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def _sf_in_use(sf) -> None:
    """An SF account in use: one customer and one job, whose reads list every custom-field definition."""
    customer = sf.store.seed_customer({"customer_name": "Walk-in Account"})
    seed_jobs(sf, customer, 1, prefix="OLD-")


def _worker_seen() -> None:
    """What the ORM broker leaves behind when a worker ran a task a moment ago."""
    now = timezone.now()
    Success.objects.create(id=uuid.uuid4().hex, name="recent", func="sync.engine.tasks.scheduled_sync",
                           started=now, stopped=now, success=True)


def test_every_check_passes_against_the_simulators_defaults(sims):
    _, sf = sims
    _sf_in_use(sf)
    _worker_seen()
    code, out = doctor("--json")
    report = json.loads(out)
    levels = {c["name"]: c["level"] for c in report["checks"]}
    assert code == 0 and report["ok"] is True
    assert set(levels) >= BLOCKING | {"propertyware_clock", "servicefusion_clock", "worker"}
    assert set(levels.values()) == {"OK"}, report["checks"]
    blocking = {c["name"] for c in report["checks"] if c["blocking"]}
    assert blocking == BLOCKING | {"database"}
    # The database comes first: the other checks read the flags from it (tests/test_dbcheck.py: when not).
    first = report["checks"][0]
    assert first["name"] == "database" and first["message"].endswith("reachable, every migration applied")
    assert last_result()["status"] == "OK"
    assert sf_posts(sf) == 0  # the checks only read


def test_a_new_sf_account_leaves_the_labels_unverified_with_a_warning(sims):
    code, out = doctor("--json")
    check = next(c for c in json.loads(out)["checks"] if c["name"] == "servicefusion_custom_fields")
    assert code == 0 and check["level"] == "WARN" and "no jobs or customers yet" in check["message"]


def test_labels_left_unverified_are_checked_again_by_the_next_run_that_writes(sims):
    """A new SF account has nothing to read the custom-field definitions from. The first run's warning is
    not reused by the next run, minutes later, once the first run's jobs are there to read them from."""
    _, sf = sims
    live(SAFE_MODE=False)
    run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    first = next(c for c in last_result()["checks"] if c["name"] == "servicefusion_custom_fields")
    assert first["level"] == "WARN" and first["settled"] is False
    assert len(sf.store.jobs()) > 0 and len(sf.store.customers_by_id) > 0

    run_sync()

    again = next(c for c in last_result()["checks"] if c["name"] == "servicefusion_custom_fields")
    assert again["level"] == "OK" and again["message"] == "every label exists on SF jobs and customers"


def test_a_label_sf_does_not_have_fails_doctor_and_stops_every_write_of_a_run(sims):
    pw, sf = sims
    _sf_in_use(sf)
    live(SAFE_MODE=False)
    set_flag("SF_JOB_CF_UNIT_ID", "unitNumber", reason="test: a label SF does not define")

    code, out = doctor()
    assert code == 1
    line = next(line for line in out.splitlines() if "servicefusion_custom_fields" in line)
    assert line.startswith("FAIL") and "SF_JOB_CF_UNIT_ID='unitNumber'" in line
    assert "propertyWareId" not in line  # the labels SF has are not reported

    run = run_sync(full=True)

    assert run.status == SyncRun.Status.FAILED
    assert "preflight failed" in run.error_summary and "unitNumber" in run.error_summary
    pushes = StepRun.objects.filter(run=run, name__startswith="push") | StepRun.objects.filter(
        run=run, name="syncUnitsToSF")
    assert pushes.count() == 5
    for step in pushes:
        assert step.status == StepRun.Status.SKIPPED and "unitNumber" in step.message, step
    reads = StepRun.objects.filter(run=run, name__startswith="get")
    assert {s.status for s in reads} == {StepRun.Status.SUCCEEDED}
    assert not OutboxItem.objects.exists()  # nothing planned, so nothing dead-lettered
    assert not OutboxItem.objects.filter(state=OutboxItem.State.DEAD).exists()
    assert len(sf.store.jobs()) == 1 and len(sf.store.customers_by_id) == 1 and sf_posts(sf) == 0
    alert = Alert.objects.get(condition="preflight_failed")
    assert alert.state == Alert.State.OPEN and "unitNumber" in alert.message

    set_flag("SF_JOB_CF_UNIT_ID", "unitId", reason="test: the real label")
    assert doctor()[0] == 0
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED


def test_a_sync_with_writes_checks_first_and_a_second_run_reuses_the_fresh_pass(sims):
    pw, sf = sims
    _sf_in_use(sf)
    live(SAFE_MODE=False)
    run = run_sync(full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert len(sf.store.jobs()) > 1, "the run created jobs"
    first = last_result()
    assert {c["level"] for c in first["checks"] if c["blocking"]} == {"OK"}

    before = dict(sf.request_counts())
    run_sync()
    # Same flags, minutes apart: the stored pass stands (no /me, statuses or categories asked again).
    assert last_result()["checked_at"] == first["checked_at"]
    assert sf.request_counts().get("GET /v1/me") == before.get("GET /v1/me")


def test_a_dry_run_makes_no_preflight_call(sims):
    run = run_sync(full=True)  # DRY_RUN is on by default
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert last_result() is None


def test_a_status_mapping_sf_no_longer_has_fails_doctor(sims):
    _, sf = sims
    sf.store.rename_status("07_STA", "In Progress")  # the "Started" mapping has no code to fall back on

    code, out = doctor("--json")

    assert code == 1
    check = next(c for c in json.loads(out)["checks"] if c["name"] == "servicefusion_statuses")
    assert check["level"] == "FAIL" and "'Started'" in check["message"]


def test_a_default_category_sf_lacks_fails_doctor(sims):
    set_flag("SF_DEFAULT_CATEGORY", "Roofing", reason="test")
    code, out = doctor()
    assert code == 1 and "category 'Roofing' (SF_DEFAULT_CATEGORY)" in out


class _SkewedHandler(BaseHTTPRequestHandler):
    """A server whose clock runs five minutes ahead."""

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(time.time() + 300, usegmt=True)

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


def test_clock_skew_is_read_from_the_date_header_of_a_real_reply():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SkewedHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check = _check_clock("remote_clock", f"http://127.0.0.1:{server.server_port}/", True)
    finally:
        server.shutdown()
        server.server_close()
    assert not check.ok and not check.blocking and check.level == "WARN"
    assert "+300 s" in check.message or "+299 s" in check.message or "+301 s" in check.message


def test_skew_is_the_remote_clock_minus_ours():
    now = datetime(2026, 12, 6, 21, 2, 0, tzinfo=UTC)
    assert skew_seconds("Sun, 06 Dec 2026 21:00:00 GMT", now) == -120.0
    assert skew_seconds("Sun, 06 Dec 2026 21:02:30 GMT", now) == 30.0
    assert skew_seconds("not a date", now) is None and skew_seconds(None, now) is None


def test_the_dashboard_shows_the_last_stored_result_without_calling_the_apis(client, viewer, sims):
    _, sf = sims
    _sf_in_use(sf)
    set_flag("SF_JOB_CF_WORK_ORDER_ID", "pwId", reason="test")
    run_checks()
    before = dict(sf.request_counts())
    page = client_for(client, viewer).get(reverse("admin:index"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="gl-preflight"' in body and "SF_JOB_CF_WORK_ORDER_ID=&#x27;pwId&#x27;" in body
    assert page.context["preflight"]["status"] == "FAIL"
    assert dict(sf.request_counts()) == before


def test_the_dashboard_says_when_nothing_was_checked_yet(client, viewer):
    body = client_for(client, viewer).get(reverse("admin:index")).content.decode()
    assert "Not checked yet" in body
