"""Progress while a run runs (sync.engine.progress): a real run against both simulators ends with every
push step's planned rows accounted for and nothing remaining; a snapshot taken mid-run has work remaining
and an ETA that is what is left at the rate ServiceFusion allows; ``manage.py sync`` prints the lines."""
from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.core.management import call_command

from sync.engine.progress import STEP_KINDS, run_progress, step_view
from sync.engine.runner import run_sync
from sync.models import OutboxItem, SyncRun
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.engine_support import live, point_settings, simulators

pytestmark = pytest.mark.django_db(transaction=True)

#: a slow ServiceFusion: 4 requests a refill window of 1 s, so 4 per second once its burst is spent
SLOW_LIMIT, SLOW_WINDOW = 4, 1.0


@contextlib.contextmanager
def slow_simulators(settings):
    with (
        PropertyWareSimulator(dataset="tiny", seed=0, page_size=10) as pw,
        ServiceFusionSimulator(rate_limit=SLOW_LIMIT, rate_window=SLOW_WINDOW, seed=0) as sf,
    ):
        point_settings(settings, pw, sf)
        yield pw, sf


def _accounted(view: dict) -> int:
    return sum(view[k] for k in ("sent", "held", "failed", "ignored", "dry_run", "remaining"))


def test_a_finished_run_accounts_for_every_planned_write(settings):
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        live()
        run = run_sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    data = run_progress(run)
    assert data["running"] is False and data["eta_seconds"] == 0.0 and data["eta_at"] is None
    views = {v["name"]: v for v in data["steps"]}
    assert set(views) >= set(STEP_KINDS)
    for name, kinds in STEP_KINDS.items():
        view = views[name]
        rows = OutboxItem.objects.filter(run=run, kind__in=kinds)
        assert view["planned"] == rows.count() == _accounted(view), name
        assert view["sent"] == rows.filter(state=OutboxItem.State.SENT).count(), name
        assert view["remaining"] == 0 and view["eta_seconds"] == 0.0, name
    assert views["pushPortfoliosToSF"]["sent"] > 0 and views["pushWorkOrdersToSF"]["sent"] > 0
    # Reads: records read and requests made, as the run's own API figures count them.
    assert views["getPWWorkOrders"]["planned"] is None and views["getPWWorkOrders"]["read"] > 0
    assert views["getSFJobs"]["requests"]["sf"] > 0
    assert sum(v["requests"].get("sf", 0) for v in views.values()) == run.api_calls["sf"]["requests"]


def test_a_snapshot_mid_run_has_work_left_and_an_eta_at_the_rate_limit(settings):
    seen: list[dict] = []

    def progress(event):
        if event["event"] == "step_progress" and event["step"] in STEP_KINDS:
            view = step_view(event["step"], "running", event["progress"], event["started_at"])
            if view["remaining"]:
                seen.append(run_progress(SyncRun.objects.get(pk=SyncRun.objects.latest("pk").pk)))

    with slow_simulators(settings):
        live()
        run = run_sync(progress=progress)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert seen, "no progress was recorded while a push step had rows left"
    for data in seen:
        assert data["running"] and data["eta_at"]
        step = next(v for v in data["steps"] if v["status"] == "running")
        assert step["remaining"] > 0 and step["planned"] == _accounted(step)
        rate = data["rates_per_minute"]["sf"] / 60
        # The rate is the one the simulator's headers show (4 per 1 s window), not a guess from the clock.
        assert SLOW_LIMIT / SLOW_WINDOW * 0.5 <= rate <= SLOW_LIMIT / SLOW_WINDOW * 1.1
        # The ETA is the requests left at that rate (PropertyWare, uncapped here, is never the slower).
        assert data["eta_seconds"] == pytest.approx(data["remaining_requests"]["sf"] / rate, abs=0.2)
        assert data["eta_seconds"] > 0


def test_the_sync_command_prints_progress_lines_while_steps_run(settings):
    out = io.StringIO()
    with slow_simulators(settings):
        live()
        call_command("sync", "--progress-every", "0", stdout=out)
    text = out.getvalue()
    running = [line for line in text.splitlines() if line.startswith("  … push")]
    assert running, text
    assert any("remaining" in line and "requests left at" in line and "ETA " in line for line in running)
    # When a push step ends: its planned rows and where they went, nothing remaining.
    assert any(line.strip().startswith("pushWorkOrdersToSF: planned ") and "remaining 0" in line
               for line in text.splitlines()), text


def test_sync_json_keeps_stdout_json_and_progress_on_stderr(settings, capsys):
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        live()
        call_command("sync", "--json", "--progress-every", "0")
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["status"] == "succeeded"
    assert "pushPortfoliosToSF: planned " in captured.err


def test_progress_every_refuses_a_negative_interval():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--progress-every"):
        call_command("sync", "--progress-every", "-1")
