"""The dashboard (admin index): last runs with steps, open problems, the 30-day chart, sync buttons;
status mappings with reasons; the audit log."""
from __future__ import annotations

import datetime as dt

import pytest
from defusedxml import ElementTree as ET
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from sync.models import StatusMapping
from sync.policies.flags import set_flag
from sync.web.charts import Series, daily_bars_svg
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, queued_tasks, seed_review_queues, seed_runs

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")
SYNC_NOW = reverse("admin:sync_now")


def problem(page, label):
    return next(p for p in page.context["problems"] if p["label"] == label)


def test_dashboard_shows_runs_problems_and_chart(client, viewer, warehouse_data):
    seed_runs()
    seed_review_queues()
    page = client_for(client, viewer).get(INDEX)
    assert page.status_code == 200
    body = page.content.decode()
    assert problem(page, "Unmapped buildings")["count"] == 2
    assert problem(page, "Work orders held for a unit problem")["count"] == 1
    assert problem(page, "Duplicate candidates")["count"] == 1
    assert problem(page, "Dead letters")["count"] == 1
    assert problem(page, "Safe mode on")["count"] == 1 and problem(page, "Dry run on")["count"] == 1
    runs = page.context["runs"]
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert [s.name for s in runs[1].step_list] == ["getPWPortfolios", "pushWorkOrdersToSF"]
    assert "inserted 228" in body and "getSFJobs" in body
    assert 'id="gl-chart"' in body and "<svg" in body
    assert "Jobs created (1)" in body and "Errors (1)" in body and "Runs (2)" in body
    assert "Sync now" not in body  # viewers may not start runs
    assert "Site administration" not in body or "Sync" in body  # the app list stays below


def test_chart_counts_per_day_and_is_valid_svg():
    today = timezone.localdate()
    days = [today - dt.timedelta(days=2 - i) for i in range(3)]
    svg = daily_bars_svg(days, [Series("Runs", [1, 0, 3], "#000"), Series("Errors <x>", [0, 2, 0], "#f00")],
                         title="Test & chart")
    root = ET.fromstring(str(svg))
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Test & chart" in titles and f"Runs on {days[2].isoformat()}: 3" in titles
    assert "Errors <x> on " + days[1].isoformat() + ": 2" in titles


def test_problem_tiles_turn_green_when_fixed(client, operator, warehouse_data):
    set_flag("SAFE_MODE", False, user=operator, reason="test")
    page = client_for(client, operator).get(INDEX)
    assert problem(page, "Safe mode on")["count"] == 0
    assert problem(page, "Dead letters")["count"] == 0


def test_operator_starts_a_sync_and_a_dry_run(client, operator):
    c = client_for(client, operator)
    page = c.get(INDEX)
    assert "Sync now" in page.content.decode() and "Dry run now" in page.content.decode()
    done = c.post(SYNC_NOW, {"dry_run": "true"}, follow=True)
    assert any("A dry run is queued" in m for m in page_messages(done))
    c.post(SYNC_NOW, {"dry_run": "false"})
    first, second = queued_tasks()
    assert first["func"] == second["func"] == "sync.engine.tasks.run_pipeline"
    assert first["kwargs"]["dry_run"] is True and second["kwargs"]["dry_run"] is None
    assert first["kwargs"]["user_id"] == operator.pk and first["kwargs"]["trigger"] == "admin"


@pytest.mark.parametrize("who", ["viewer", "mapping_editor"])
def test_only_operators_start_runs(client, who, request):
    c = client_for(client, request.getfixturevalue(who))
    assert c.post(SYNC_NOW, {"dry_run": "true"}).status_code == 403
    assert c.get(SYNC_NOW).status_code == 405
    assert not queued_tasks()


def test_sync_now_ignores_an_offsite_next(client, operator):
    response = client_for(client, operator).post(SYNC_NOW, {"next": "https://evil.example/"})
    assert response["Location"] == INDEX


# --- status mappings ----------------------------------------------------------------------------------

def test_status_mapping_changes_need_a_reason_and_keep_history(client, operator):
    c = client_for(client, operator)
    page = c.get(reverse("admin:sync_statusmapping_changelist"))
    assert page.status_code == 200 and "Open PropertyWare statuses" in page.content.decode()
    assert "awaiting parts" in page.content.decode()
    mapping = (StatusMapping.objects.filter(is_closed=False).first()
               or StatusMapping.objects.create(sf_status="Started", pw_status="Started"))
    url = reverse("admin:sync_statusmapping_change", args=[mapping.pk])
    form = {"sf_status": mapping.sf_status, "sf_code": mapping.sf_code, "sf_category": mapping.sf_category,
            "pw_status": "In Progress", "is_closed": "", "note": ""}
    refused = c.post(url, {**form, "change_reason": ""})
    assert "A reason is required" in refused.content.decode()
    mapping.refresh_from_db()
    assert mapping.pw_status != "In Progress"
    c.post(url, {**form, "change_reason": "PW renamed the status"})
    mapping.refresh_from_db()
    assert mapping.pw_status == "In Progress"
    last = mapping.history.first()
    assert last.history_user == operator and last.history_change_reason == "PW renamed the status"
    entry = LogEntry.objects.get(object_id=str(mapping.pk))
    assert entry.change_message == "Changed pw_status. Reason: PW renamed the status"
    history = c.get(reverse("admin:sync_statusmapping_history", args=[mapping.pk]))
    assert "PW renamed the status" in history.content.decode()


def test_viewers_cannot_edit_status_mappings(client, viewer):
    mapping = (StatusMapping.objects.first()
               or StatusMapping.objects.create(sf_status="Started", pw_status="Started"))
    c = client_for(client, viewer)
    response = c.post(reverse("admin:sync_statusmapping_change", args=[mapping.pk]),
                      {"sf_status": "X", "pw_status": "Y", "change_reason": "z"})
    assert response.status_code == 403
    mapping.refresh_from_db()
    assert mapping.sf_status != "X"


# --- audit log ----------------------------------------------------------------------------------------

def test_audit_log_shows_who_what_and_why(client, operator, viewer):
    c = client_for(client, operator)
    c.post(reverse("admin:sync_featureflag_set", args=["DRY_RUN"]), {"value": "false", "reason": "go live"})
    client.logout()
    page = client_for(client, viewer).get(reverse("admin:admin_logentry_changelist"), {"q": "go live"})
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    body = page.content.decode()
    assert "otto" in body and "DRY_RUN: true → false. Reason: go live" in body
    assert client.post(reverse("admin:admin_logentry_changelist"),
                       {"action": "delete_selected",
                        "_selected_action": [LogEntry.objects.get().pk]}).status_code in (200, 302, 403)
    assert LogEntry.objects.count() == 1
