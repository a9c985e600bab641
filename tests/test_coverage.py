"""Customer-mapping coverage: the figures on known data, the daily snapshot, the blockers and their fixes,
accepting suggestions above a threshold (with a reason and the permission), and dim_date kept filled."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from sync.engine.coverage import blockers, measure, record_snapshot
from sync.models import CoverageSnapshot, OutboxItem
from sync.policies.flags import read_flags
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, page_messages, staff_user
from warehouse.dim_date import EXTEND_WHEN_DAYS_LEFT, calendar_end, extend_dim_date
from warehouse.models import CustomerMapping, DimBuilding, DimDate, FactWorkOrder, SfCustomerCache
from warehouse.scd import merge

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")
ACCEPT = reverse("admin:coverage_accept")
RECORD = reverse("admin:coverage_record")


def work_orders(spec: dict[int, tuple[int, int]]) -> None:
    """{building: (open, closed)} work orders, portfolio from the building."""
    portfolio = dict(DimBuilding.objects.current().values_list("building_id", "portfolio_id"))
    rows, n = [], 0
    for building, (opened, closed) in spec.items():
        for status in ["Open"] * opened + ["Completed"] * closed:
            n += 1
            rows.append({"work_order_id": 8000 + n, "number": n, "portfolio_id": portfolio[building],
                         "building_id": building, "status": status, "description": f"WO {n}"})
    merge(FactWorkOrder, rows)


@pytest.fixture
def estate(warehouse_data):
    """The small estate plus building 103 ("56 Birch Lane", portfolio 10) with a weak candidate, open work
    orders 101: 2, 102: 3 (+1 closed), 103: 1, 201: 1, and portfolio 20's customer held by the sync."""
    merge(DimBuilding, [{"building_id": 103, "portfolio_id": 10, "name": "Birch", "address": "56 Birch Lane",
                         "city": "Austin", "state": "TX", "zip": "78703", "active": True},
                        {"building_id": 104, "portfolio_id": 10, "name": "Gone", "address": "1 Old Rd",
                         "active": False}])
    SfCustomerCache.objects.create(sf_customer_id=5004, name="56 Birch Road", parent_customer_id=5000,
                                   fetched_at=timezone.now())
    # Under another portfolio's customer: never a suggestion for portfolio 10's buildings (R10, R11).
    SfCustomerCache.objects.create(sf_customer_id=6001, name="34 Elm Ave", parent_customer_id=5003,
                                   fetched_at=timezone.now())
    work_orders({101: (2, 0), 102: (3, 1), 103: (1, 0), 201: (1, 0)})
    OutboxItem.objects.create(key="customer:portfolio:20", kind="portfolio_customer", state="held",
                              hold_reason="portfolio 20 has no owner name")


def test_percentages_on_known_data(estate):
    snap = measure(read_flags())
    # Active buildings 101, 102, 103, 201 (104 inactive); only 101 is mapped.
    assert (snap.buildings, snap.buildings_mapped, snap.buildings_percent) == (4, 1, 25.0)
    # Seven open work orders (the completed one does not count), two of them on building 101.
    assert (snap.open_work_orders, snap.open_work_orders_mapped, snap.work_orders_percent) == (7, 2, 28.6)
    CustomerMapping.objects.filter(pw_building_id=102).update(status="mapped", sf_customer_id=5002)
    snap = measure(read_flags())
    assert (snap.buildings_percent, snap.work_orders_percent) == (50.0, 71.4)


def test_the_snapshot_is_written_once_per_day(estate):
    today = timezone.localdate()
    record_snapshot(read_flags())
    CustomerMapping.objects.filter(pw_building_id=102).update(status="mapped", sf_customer_id=5002)
    record_snapshot(read_flags())
    assert CoverageSnapshot.objects.count() == 1
    row = CoverageSnapshot.objects.get()
    assert row.day == today and row.buildings_mapped == 2  # the day's last measurement
    record_snapshot(read_flags(), today + dt.timedelta(days=1))
    tomorrow = today + dt.timedelta(days=1)
    assert list(CoverageSnapshot.objects.values_list("day", flat=True)) == [today, tomorrow]


def test_record_now_needs_the_trigger_permission(client, estate, viewer, operator):
    assert client_for(client, viewer).post(RECORD).status_code == 403
    assert not CoverageSnapshot.objects.exists()
    page = client_for(client, operator).post(RECORD, follow=True)
    assert CoverageSnapshot.objects.count() == 1
    assert any("Coverage recorded" in m for m in page_messages(page))


def test_blockers_come_most_blocked_first_with_their_fixes(client, estate, mapping_editor):
    items = blockers(read_flags())
    assert [(b.kind, b.portfolio_id, b.building_id, b.open_work_orders) for b in items] == [
        ("review", 10, 102, 3), ("held_portfolio", 20, None, 1), ("unmapped", 10, 103, 1),
        ("unmapped", 20, 201, 1),
    ]
    page = client_for(client, mapping_editor).get(INDEX)
    body = page.content.decode()
    unmapped = reverse("admin:warehouse_customermapping_unmapped")
    assert f'href="{unmapped}?q=102"' in body and f'href="{unmapped}?q=103"' in body
    assert 'class="gl-fix-import" href="{}"'.format(reverse("admin:warehouse_customermapping_import")) in body
    rows = page.context["coverage"]["blockers"]
    ranked = rows[0]["suggestions"]
    assert sorted(s.sf_customer_id for s in ranked) == [5001, 5002, 5004]  # never 6001: another owner's
    assert ranked[0].sf_customer_id == 5002 and ranked[0].percent == 100
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    # "let the sync create it" posts to the unmapped screen and comes back to the dashboard.
    back = client.post(unmapped, {"building_id": 103, "action": "create", "next": INDEX})
    assert back.status_code == 302 and back["Location"] == INDEX
    assert CustomerMapping.objects.get(pw_building_id=103).status == "create"


def test_the_dashboard_shows_both_percentages_and_the_chart_with_its_target(client, estate, viewer):
    record_snapshot(read_flags(), timezone.localdate() - dt.timedelta(days=3))
    page = client_for(client, viewer).get(INDEX)
    body = page.content.decode()
    assert "25.0 %" in body and "28.6 %" in body
    assert 'class="gl-target"' in body and "target 95 %" in body
    assert "Accept suggestions" not in body  # viewers may not change mappings


def test_accept_all_maps_exactly_the_buildings_above_the_threshold(client, estate, mapping_editor):
    page = client_for(client, mapping_editor).post(ACCEPT, {"threshold": "90", "reason": "checked by phone"})
    assert page.status_code == 302
    mapped = dict(CustomerMapping.objects.filter(entity_type="building", status="mapped")
                  .values_list("pw_building_id", "sf_customer_id"))
    assert mapped == {101: 5001, 102: 5002}  # 103's best ("56 Birch Road") scores below 90
    row = CustomerMapping.objects.get(pw_building_id=102)
    assert row.method == "fuzzy_review"
    last = row.history.latest()
    assert last.history_user == mapping_editor and "checked by phone" in last.history_change_reason
    assert last.history_date is not None


def test_accept_all_without_a_reason_is_a_form_error_and_changes_nothing(client, estate, mapping_editor):
    before = list(CustomerMapping.objects.order_by("pk").values())
    page = client_for(client, mapping_editor).post(ACCEPT, {"threshold": "90", "reason": "  "})
    assert page.status_code == 200 and page.context["form"].errors["reason"]
    assert list(CustomerMapping.objects.order_by("pk").values()) == before


def test_accept_all_refuses_a_user_without_the_change_permission(client, estate, django_user_model):
    user = staff_user(django_user_model, "looker")
    user.user_permissions.add(Permission.objects.get(codename="view_customermapping"))
    before = list(CustomerMapping.objects.order_by("pk").values())
    page = client_for(client, user).post(ACCEPT, {"threshold": "50", "reason": "all of them"})
    assert page.status_code == 403
    assert list(CustomerMapping.objects.order_by("pk").values()) == before


def test_dim_date_is_filled_by_the_migrations():
    assert DimDate.objects.filter(date_key=0).exists()
    assert DimDate.objects.filter(date=dt.date(2015, 1, 1)).exists()
    assert calendar_end() == dt.date(dt.date.today().year + 1, 12, 31)


def test_dim_date_is_extended_a_year_ahead_when_its_end_nears():
    end = calendar_end()
    assert extend_dim_date(end - dt.timedelta(days=EXTEND_WHEN_DAYS_LEFT + 1)) is None
    assert calendar_end() == end
    near = end - dt.timedelta(days=10)
    result = extend_dim_date(near)
    assert result is not None and calendar_end() == dt.date(near.year + 1, 12, 31)
    assert DimDate.objects.filter(date=end + dt.timedelta(days=1)).exists()
    days = (calendar_end() - dt.date(2015, 1, 1)).days + 1
    assert DimDate.objects.exclude(date_key=0).count() == days  # no gap, no duplicate


def test_a_sync_run_records_the_day_s_snapshot(estate):
    from sync.engine.runner import run_sync
    from sync.policies.flags import set_flag

    set_flag("ENABLE_SERVICE_FUSION", "false", reason="no ServiceFusion in this test")
    run_sync(steps=["pushPortfoliosToSF"], dry_run=True, client_factory=lambda *a, **k: None)
    row = CoverageSnapshot.objects.get()
    assert row.day == timezone.localdate() and (row.buildings, row.buildings_mapped) == (4, 1)
