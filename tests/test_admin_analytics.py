"""The analytics screens over a warehouse with history: each renders its chart for staff, refuses users
without the view permission, exports the figures it shows as CSV, and its date range changes them."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import staff_user
from tests.analytics_data import seed_history

pytestmark = pytest.mark.django_db

PAGES = [
    ("admin:analytics_open_by_portfolio", []),
    ("admin:analytics_time_in_status", []),
    ("admin:analytics_sla_ages", []),
    ("admin:analytics_jobs_per_day", []),
    ("admin:analytics_work_order", [1]),
    ("admin:analytics_portfolio", [10]),
]


@pytest.fixture
def history(db):
    return seed_history()


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def get(client, user, name, args=(), **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_each_page_draws_a_chart_for_a_viewer(client, viewer, history, name, args):
    response = get(client, viewer, name, args)
    assert response.status_code == 200
    html = response.content.decode()
    chart = html[html.index('<div id="gl-chart">') :]
    assert "<svg" in chart and ("<rect" in chart or "<polyline" in chart)
    assert 'id="gl-csv"' in html


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_staff_without_view_permission_are_refused(client, django_user_model, history, name, args):
    nobody = staff_user(django_user_model, "nemo")
    assert get(client, nobody, name, args).status_code == 403
    assert get(client, nobody, name, args, format="csv").status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_anonymous_users_are_sent_to_the_login(client, history, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_menu_lists_the_screens_for_viewers_only(client, viewer, django_user_model, history):
    html = get(client, viewer, "admin:index").content.decode()
    assert "Analytics" in html and reverse("admin:analytics_time_in_status") in html
    nobody = staff_user(django_user_model, "nemo")
    assert (
        reverse("admin:analytics_time_in_status") not in get(client, nobody, "admin:index").content.decode()
    )


def test_open_per_portfolio_by_day_and_its_range(client, viewer, history):
    rows = rows_of(get(client, viewer, "admin:analytics_open_by_portfolio", format="csv"))
    assert rows[0][:2] == ["portfolio_id", "portfolio_name"] and len(rows[0]) == 2 + 30
    by_id = {r[0]: r for r in rows[1:]}
    # Portfolio 10: WO 5 open all month, WO 2 since ten days ago; portfolio 20: WO 3 since two days ago.
    assert by_id["10"][1] == "Oak Holdings" and by_id["10"][2] == "1" and by_id["10"][-1] == "2"
    assert by_id["20"][-1] == "1" and by_id[""][1:3] == ["total", "1"] and by_id[""][-1] == "3"
    rows90 = rows_of(get(client, viewer, "admin:analytics_open_by_portfolio", days=90, format="csv"))
    assert len(rows90[0]) == 2 + 90
    ninety = {r[0]: r for r in rows90[1:]}
    assert (
        ninety["10"][2] == "0" and max(int(v) for v in ninety["10"][2:]) == 2
    )  # WO 1 open 60 to 40 days ago
    assert "20" in ninety and ninety["20"][2] == "0"
    year = {
        r[0]: r
        for r in rows_of(get(client, viewer, "admin:analytics_open_by_portfolio", days=365, format="csv"))[1:]
    }
    assert max(int(v) for v in year["20"][2:]) == 1 and year["20"][-1] == "1"  # WO 4, 200 to 100 days ago
    page = get(client, viewer, "admin:analytics_open_by_portfolio", days=90).content.decode()
    assert reverse("admin:analytics_portfolio", args=[10]) in page and "last 90 days" in page


def test_time_in_status_median_and_p90_by_status_and_category(client, viewer, history):
    rows = rows_of(get(client, viewer, "admin:analytics_time_in_status", format="csv"))
    assert rows[0] == ["group", "category", "status", "work_orders", "median_days", "p90_days"]
    status = {r[2]: r for r in rows[1:] if r[0] == "status"}
    # Last 30 days: Open stays of WO 2 (5 days) and WO 3 (2 days so far); WO 2 Scheduled for 5 days.
    assert status["Open"][3:] == ["2", "3.5", "4.7"] and status["Scheduled"][3:] == ["1", "5.0", "5.0"]
    category = {r[1]: r for r in rows[1:] if r[0] == "category"}
    assert category["HVAC"][3:] == ["1", "10.0", "10.0"] and category["Plumbing"][3:] == ["1", "2.0", "2.0"]
    assert ["category_status", "HVAC", "Open", "1", "5.0", "5.0"] in rows
    longer = {
        r[2]: r
        for r in rows_of(get(client, viewer, "admin:analytics_time_in_status", days=90, format="csv"))[1:]
        if r[0] == "status"
    }
    # 90 days adds WO 1 (10 days Open, 10 Scheduled, 40 Completed) and WO 5 (45 days Open).
    assert longer["Open"][3:5] == ["4", "7.5"] and longer["Completed"][3:] == ["1", "40.0", "40.0"]


def test_ages_of_open_work_orders_in_sla_buckets(client, viewer, history):
    rows = rows_of(get(client, viewer, "admin:analytics_sla_ages", format="csv"))
    assert rows[0] == ["sla_bucket", "min_days", "max_days", "open_work_orders"]
    assert [r[3] for r in rows[1:]] == ["0", "1", "0", "1", "0", "1"]
    assert rows[-1][:3] == ["> 30 days", "30", ""]


def test_jobs_created_and_completed_per_day(client, viewer, history):
    rows = rows_of(get(client, viewer, "admin:analytics_jobs_per_day", format="csv"))
    assert rows[0] == ["date", "created", "completed"] and len(rows) == 31
    assert sum(int(r[1]) for r in rows[1:]) == 2 and sum(int(r[2]) for r in rows[1:]) == 1
    rows90 = rows_of(get(client, viewer, "admin:analytics_jobs_per_day", days=90, format="csv"))
    assert (
        len(rows90) == 91
        and sum(int(r[1]) for r in rows90[1:]) == 3
        and sum(int(r[2]) for r in rows90[1:]) == 2
    )


def test_work_order_history_shows_every_version_its_changes_and_run(client, viewer, history):
    page = get(client, viewer, "admin:analytics_work_order", [1]).content.decode()
    assert page.count("<tr><td>") == 3
    assert "Open → Scheduled" in page and "Scheduled → Completed" in page
    assert reverse("admin:sync_syncrun_change", args=[history["run_id"]]) in page
    rows = rows_of(get(client, viewer, "admin:analytics_work_order", [1], format="csv"))
    assert rows[0][:4] == ["version", "valid_from", "valid_to", "sync_run_id"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"] and rows[3][3] == str(history["run_id"])
    assert rows[2][-3:] == ["status", "Open", "Scheduled"]
    assert get(client, viewer, "admin:analytics_work_order", [999]).status_code == 404


def test_history_is_linked_from_the_work_order_and_job_screens(client, viewer, history):
    link = reverse("admin:analytics_work_order", args=[2])
    assert link in get(client, viewer, "admin:warehouse_factworkorder_changelist").content.decode()
    assert link in get(client, viewer, "admin:warehouse_factjob_changelist").content.decode()


def test_portfolio_drill_down_lists_its_buildings_open_work(client, viewer, history):
    page = get(client, viewer, "admin:analytics_portfolio", [10]).content.decode()
    assert "Oak Court" in page and "Elm House" in page and "Pine Plaza" not in page
    rows = rows_of(get(client, viewer, "admin:analytics_portfolio", [10], format="csv"))
    assert rows[0] == [
        "work_order_id",
        "number",
        "building_id",
        "building_name",
        "status",
        "category",
        "created",
        "age_days",
        "sla_bucket",
    ]
    assert [(r[0], r[3], r[4], r[8]) for r in rows[1:]] == [
        ("5", "Oak Court", "Open", "> 30 days"),
        ("2", "Elm House", "Scheduled", "7–14 days"),
    ]
    assert get(client, viewer, "admin:analytics_portfolio", [999]).status_code == 404
