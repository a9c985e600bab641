"""The reporting views, read through the reporting role, give the figures the ORM and warehouse.queries give
on known data; every column is commented in the database and documented in docs/reporting.md."""
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from sync.models import StepRun, SyncError, SyncRun
from tests.test_reporting_access import VIEWS, connect_as, postgres, role  # noqa: F401  (fixtures)
from warehouse import queries
from warehouse.models import (
    CustomerMapping,
    DimBuilding,
    DimCustomer,
    DimPortfolio,
    DimStatus,
    FactJob,
    FactWorkOrder,
)
from warehouse.scd import merge

pytestmark = pytest.mark.django_db(transaction=True)

DAY1 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "reporting.md"


def wo(work_order_id, status, portfolio_id=7, building_id=70, **fields):
    return {"work_order_id": work_order_id, "status": status, "portfolio_id": portfolio_id,
            "building_id": building_id, **fields}


@pytest.fixture
def known_data(postgres):  # noqa: F811
    """Two portfolios, three buildings (one mapped, one inactive), four work orders with history, two jobs,
    two runs."""
    for name, is_open in (("Open", True), ("In Progress", True), ("Closed", False)):
        DimStatus.objects.create(source_system="pw", name=name, is_open=is_open)
    DimStatus.objects.create(source_system="sf", name="Scheduled", is_open=True)
    merge(DimPortfolio, [{"portfolio_id": 7, "name": "Acme"}, {"portfolio_id": 8, "name": "Birch"}], at=DAY1)
    merge(DimBuilding, [{"building_id": 70, "portfolio_id": 7, "name": "Elm"},
                        {"building_id": 71, "portfolio_id": 7, "name": "Oak"},
                        {"building_id": 80, "portfolio_id": 8, "name": "Pine"},
                        {"building_id": 81, "portfolio_id": 8, "name": "Gone", "active": False}], at=DAY1)
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=7, pw_building_id=70,
                                   sf_customer_id=500, confidence=1.0, method="created", status="mapped")
    CustomerMapping.objects.create(entity_type="portfolio", pw_portfolio_id=8, sf_customer_id=600,
                                   confidence=1.0, method="manual", status="mapped")
    # WO 1: Open → In Progress → Closed; WO 2: Open, deleted on day 2; WO 3 (portfolio 8): Open, gets a job;
    # WO 4: Open in the unmapped building 71.
    merge(FactWorkOrder, [wo(1, "Open"), wo(2, "Open"), wo(3, "Open", 8, 80), wo(4, "Open", 7, 71)], at=DAY1)
    merge(FactWorkOrder, [wo(1, "In Progress")], at=DAY1 + 3 * H)
    merge(FactWorkOrder, [wo(1, "Closed"), wo(3, "Open", 8, 80, sf_job_id=900), wo(4, "Open", 7, 71)],
          at=DAY1 + 24 * H, full=True)
    merge(DimCustomer, [{"customer_id": 500, "customer_name": "Elm Customer"}], at=DAY1)
    merge(FactJob, [{"job_id": 900, "number": "J-900", "customer_id": 500, "work_order_id": 3,
                     "status": "Scheduled", "check_number": "WO-3"},
                    {"job_id": 901, "customer_id": 500, "status": "Unheard Of"}], at=DAY1 + 25 * H)
    done = SyncRun.objects.create(status="succeeded", started_at=DAY1,
                                  finished_at=DAY1 + dt.timedelta(seconds=95.5), counts={"work_orders": 4},
                                  api_calls={"propertyware": {"calls": 6, "errors": 1, "seconds": 2.0,
                                                              "operations": {}},
                                             "servicefusion": {"calls": 3, "errors": 0, "seconds": 1.0,
                                                               "operations": {}}})
    StepRun.objects.create(run=done, name="pull_work_orders", status="succeeded")
    StepRun.objects.create(run=done, name="push_jobs", status="failed", position=1)
    SyncError.objects.create(function="push_jobs", error="boom", run=done)
    SyncRun.objects.create(status="running", started_at=DAY1 + 48 * H)


def rows(role_name, view, *order):
    """The view's rows as dicts, read as ``role_name``, ordered by the given columns (or the first)."""
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in order) if order else sql.SQL("1")
    with connect_as(role_name) as conn:
        query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier("reporting", view), keys)
        cur = conn.execute(query)
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_current_work_orders_match_the_orm(known_data, role):  # noqa: F811
    got = {r["work_order_id"]: r for r in rows(role, "current_work_orders")}
    current = FactWorkOrder.objects.current().values_list("work_order_id", flat=True)
    assert set(got) == set(current) == {1, 3, 4}
    assert (got[1]["status"], got[1]["is_open"], got[3]["is_open"]) == ("Closed", False, True)
    assert got[3]["portfolio_name"] == "Birch" and got[3]["building_name"] == "Pine"
    assert (got[3]["has_sf_job"], got[3]["sf_job_id"], got[3]["sf_job_status"]) == (True, 900, "Scheduled")
    assert (got[4]["has_sf_job"], got[4]["sf_job_status"]) == (False, None)


def test_work_order_history_has_every_version(known_data, role):  # noqa: F811
    got = rows(role, "work_order_history", "work_order_id", "version_number")
    assert len(got) == FactWorkOrder.objects.count()
    for work_order_id in (1, 2, 3, 4):
        versions = list(queries.work_order_versions(work_order_id))
        mine = [r for r in got if r["work_order_id"] == work_order_id]
        assert [r["version_key"] for r in mine] == [v.pk for v in versions]
        assert [r["version_number"] for r in mine] == list(range(1, len(versions) + 1))
        assert [(r["status"], r["is_deleted"]) for r in mine] == [(v.status, v.is_deleted) for v in versions]
    first = next(r for r in got if r["work_order_id"] == 1)
    assert first["version_hours"] == pytest.approx(3.0)
    tombstone = next(r for r in got if r["work_order_id"] == 2 and r["is_deleted"])
    assert tombstone["version_hours"] is None


def test_current_jobs_match_the_orm(known_data, role):  # noqa: F811
    got = {r["job_id"]: r for r in rows(role, "current_jobs")}
    assert set(got) == set(FactJob.objects.current().values_list("job_id", flat=True))
    assert (got[900]["job_number"], got[900]["customer_name"], got[900]["work_order_id"]) == (
        "J-900", "Elm Customer", 3)
    assert (got[900]["is_open"], got[901]["is_open"]) == (True, None)


def test_open_work_orders_by_day_match_the_warehouse_query(known_data, role):  # noqa: F811
    got = rows(role, "open_work_orders_by_day", "day", "portfolio_id")
    open_names = DimStatus.objects.filter(source_system="pw", is_open=True).values_list("name", flat=True)
    days = sorted({r["day"] for r in got})
    assert days[0] == DAY1.date() and days[-1] == dt.datetime.now(dt.UTC).date()
    assert len(days) == (days[-1] - days[0]).days + 1
    for day in days[:4] + days[-1:]:
        mine = {r["portfolio_id"]: r["open_work_orders"] for r in got if r["day"] == day}
        assert set(mine) == {7, 8}  # a row for every portfolio, zero included
        expected = queries.open_work_orders_per_portfolio(day, open_names)
        assert {p: n for p, n in mine.items() if n} == expected
    assert {r["portfolio_id"]: r["open_work_orders"] for r in got if r["day"] == DAY1.date()} == {7: 3, 8: 1}
    first = next(r for r in got if r["day"] == DAY1.date())
    assert (first["date_key"], first["is_weekend"], first["is_holiday"]) == (20250301, True, None)


def test_mapping_coverage_matches_the_orm(known_data, role):  # noqa: F811
    got = {r["portfolio_id"]: r for r in rows(role, "mapping_coverage")}
    active = DimBuilding.objects.current().filter(active=True)
    unmapped = queries.unmapped_buildings()
    assert sum(r["buildings_total"] for r in got.values()) == active.count() == 3
    assert sum(r["buildings_mapped"] for r in got.values()) == active.count() - unmapped.count() == 1
    mapped_ids = set(CustomerMapping.objects.filter(entity_type="building", sf_customer_id__isnull=False)
                     .values_list("pw_building_id", flat=True))
    open_now = FactWorkOrder.objects.current().filter(status__in=["Open", "In Progress"])
    assert sum(r["open_work_orders"] for r in got.values()) == open_now.count() == 2
    assert sum(r["open_work_orders_building_mapped"] for r in got.values()) == open_now.filter(
        building_id__in=mapped_ids).count()
    acme, birch = got[7], got[8]
    assert (acme["portfolio_name"], acme["buildings_total"], acme["buildings_mapped"]) == ("Acme", 2, 1)
    assert float(acme["buildings_mapped_pct"]) == 50.0
    assert (acme["open_work_orders"], acme["open_work_orders_building_mapped"]) == (1, 0)
    assert (birch["portfolio_mapped"], acme["portfolio_mapped"]) == (True, False)
    assert float(birch["open_work_orders_building_mapped_pct"]) == 0.0


def test_runs_match_the_run_records(known_data, role):  # noqa: F811
    got = {r["run_id"]: r for r in rows(role, "runs")}
    assert set(got) == set(SyncRun.objects.values_list("pk", flat=True))
    done = SyncRun.objects.get(status="succeeded")
    mine = got[done.pk]
    assert float(mine["duration_seconds"]) == done.duration.total_seconds() == 95.5
    assert (mine["api_calls"], mine["api_errors"]) == (9, 1)
    assert (mine["steps_total"], mine["steps_failed"], mine["errors_logged"]) == (2, 1, 1)
    assert mine["counts"] == {"work_orders": 4}
    running = got[SyncRun.objects.get(status="running").pk]
    assert (running["duration_seconds"], running["api_calls"], running["steps_total"]) == (None, 0, 0)


def test_every_view_and_column_is_commented_and_documented(postgres):  # noqa: F811
    docs = DOCS.read_text(encoding="utf-8")
    with connection.cursor() as cur:
        cur.execute("SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'reporting'")
        comments = dict(cur.fetchall())
        cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'reporting'")
        columns = cur.fetchall()
    assert set(comments) == VIEWS and all(comments.values())
    for view in VIEWS:
        assert f"### `reporting.{view}`" in docs
    undocumented = [f"{t}.{c}" for t, c in columns if f"`{c}`" not in docs]
    assert undocumented == []


def test_the_migration_reverses_and_applies_again(capsys):
    call_command("migrate", "sync", "0007", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'")
            assert cur.fetchone() == (0,)
    call_command("migrate", "sync", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.views WHERE table_schema = 'reporting'")
            assert cur.fetchone() == (len(VIEWS),)
    else:
        assert "reporting views skipped: PostgreSQL only" in capsys.readouterr().out
