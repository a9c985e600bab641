"""The history questions: versions, as-of state, open work orders per portfolio, time in status, and the
lookups the sync relies on (unmapped buildings, work orders without a job)."""
import datetime as dt

import pytest

from warehouse import queries
from warehouse.keys import attach_keys
from warehouse.models import (
    CustomerMapping,
    DimBuilding,
    DimPortfolio,
    DimUnit,
    DimVendor,
    FactJob,
    FactWorkOrder,
)
from warehouse.scd import merge

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
OPEN = ["Open", "In Progress"]


def wo(work_order_id, status, portfolio_id=7, **fields):
    return {"work_order_id": work_order_id, "status": status, "portfolio_id": portfolio_id, **fields}


@pytest.fixture
def history():
    """WO 1: Open → In Progress → Closed; WO 2: Open, deleted on day 2; WO 3 (portfolio 8): Open."""
    merge(FactWorkOrder, [wo(1, "Open"), wo(2, "Open"), wo(3, "open", portfolio_id=8)], at=DAY1)
    later = [wo(1, "In Progress"), wo(2, "Open"), wo(3, "open", portfolio_id=8)]
    merge(FactWorkOrder, later, at=DAY1 + 3 * H)
    merge(
        FactWorkOrder,
        [wo(1, "Closed"), wo(3, "open", portfolio_id=8, sf_job_id=900)],
        at=DAY1 + 24 * H,
        full=True,
    )


def test_a_work_orders_versions_come_oldest_first(history):
    versions = list(queries.work_order_versions(1).values_list("status", "valid_from", "valid_to"))

    assert versions == [
        ("Open", DAY1, DAY1 + 3 * H),
        ("In Progress", DAY1 + 3 * H, DAY1 + 24 * H),
        ("Closed", DAY1 + 24 * H, None),
    ]
    assert [v.is_deleted for v in queries.work_order_versions(2)] == [False, True]
    assert not queries.work_order_versions(1, source_system="sf").exists()


def test_state_as_of_a_timestamp(history):
    def state(ts):
        return dict(queries.work_orders_as_of(ts).values_list("work_order_id", "status"))

    assert state(DAY1 - H) == {}
    assert state(DAY1) == {1: "Open", 2: "Open", 3: "open"}
    assert state(DAY1 + 5 * H) == {1: "In Progress", 2: "Open", 3: "open"}
    assert state(DAY1 + 30 * H) == {1: "Closed", 3: "open"}
    with pytest.raises(ValueError, match="aware"):
        queries.work_orders_as_of(dt.datetime(2025, 3, 1))


def test_open_work_orders_per_portfolio_at_the_end_of_a_day(history):
    assert queries.open_work_orders_per_portfolio(dt.date(2025, 2, 28), OPEN) == {}
    assert queries.open_work_orders_per_portfolio(dt.date(2025, 3, 1), OPEN) == {7: 2, 8: 1}
    assert queries.open_work_orders_per_portfolio(dt.date(2025, 3, 2), OPEN) == {8: 1}
    assert queries.open_work_orders_per_portfolio(dt.date(2025, 3, 1), ["closed"]) == {}
    with pytest.raises(ValueError, match="empty"):
        queries.open_work_orders_per_portfolio(dt.date(2025, 3, 1), [])


def test_time_in_each_status(history):
    until = DAY1 + 48 * H

    assert queries.time_in_status(1, until=until) == {
        "Open": 3 * H, "In Progress": 21 * H, "Closed": 24 * H,
    }
    # Deleted at DAY1 + 24h: the time after the deletion counts toward nothing.
    assert queries.time_in_status(2, until=until) == {"Open": 24 * H}
    everything = queries.time_in_status(until=until)
    assert set(everything) == {1, 2, 3}
    assert everything[3] == {"open": 48 * H}  # a Type-2 change (sf_job_id) keeps the same status counting
    # Versions still running at ``until`` count only up to it.
    assert queries.time_in_status(1, until=DAY1 + 4 * H) == {"Open": 3 * H, "In Progress": H}
    assert queries.time_in_status(99, until=until) == {}


def test_unmapped_buildings_are_current_active_buildings_without_a_customer():
    merge(
        DimBuilding,
        [
            {"building_id": 70, "portfolio_id": 7, "name": "Elm"},
            {"building_id": 71, "portfolio_id": 7, "name": "Oak"},
            {"building_id": 72, "portfolio_id": 7, "name": "Ash"},
            {"building_id": 73, "portfolio_id": 7, "name": "Old", "active": False},
        ],
        at=DAY1,
    )
    mapping = {"entity_type": "building", "pw_portfolio_id": 7}
    CustomerMapping.objects.create(**mapping, pw_building_id=70, sf_customer_id=5)
    CustomerMapping.objects.create(**mapping, pw_building_id=71)  # a row, but no customer yet

    assert [b.building_id for b in queries.unmapped_buildings()] == [71, 72]


def test_work_orders_without_a_job_by_status_portfolio_or_building():
    merge(
        FactWorkOrder,
        [
            wo(1, "Open", building_id=70),
            wo(2, "Closed", building_id=70),
            wo(3, "open", portfolio_id=8, building_id=80),
            wo(4, "Open", building_id=70, sf_job_id=900),
        ],
        at=DAY1,
    )

    def ids(**filters):
        return [w.work_order_id for w in queries.work_orders_without_job(**filters)]

    assert ids() == [1, 2, 3]
    assert ids(statuses=OPEN) == [1, 3]
    assert ids(statuses=OPEN, portfolio_id=7) == [1]
    assert ids(building_id=80) == [3]


def test_facts_point_at_the_dimension_version_valid_at_their_event_time():
    merge(DimPortfolio, [{"portfolio_id": 7, "name": "Acme"}], at=DAY1)
    merge(DimPortfolio, [{"portfolio_id": 7, "name": "Acme Holdings"}], at=DAY1 + 24 * H)
    first, renamed = DimPortfolio.objects.order_by("valid_from")

    records = attach_keys(
        FactWorkOrder,
        [
            wo(1, "Open", created_date=DAY1 + 2 * H),
            wo(2, "Open", created_date=DAY1 + 30 * H),
            wo(3, "Open", created_date=DAY1 - 24 * H),  # before the warehouse knew the portfolio
            wo(4, "Open", portfolio_id=99, created_date=None),  # an unknown portfolio, no date
        ],
        at=DAY1 + 48 * H,
    )
    merge(FactWorkOrder, records, at=DAY1 + 48 * H)

    keys = dict(FactWorkOrder.objects.values_list("work_order_id", "portfolio_key"))
    assert keys == {1: first.pk, 2: renamed.pk, 3: first.pk, 4: None}
    date_keys = dict(FactWorkOrder.objects.values_list("work_order_id", "created_date_key"))
    assert date_keys == {1: 20250301, 2: 20250302, 3: 20250228, 4: 0}


def test_jobs_and_units_point_at_their_work_order_and_building_versions():
    merge(DimBuilding, [{"building_id": 70, "name": "Elm"}], at=DAY1)
    merge(FactWorkOrder, [wo(1, "Open")], at=DAY1)
    merge(FactWorkOrder, [wo(1, "Closed")], at=DAY1 + 5 * H)
    opened, closed = queries.work_order_versions(1)

    merge(DimUnit, attach_keys(DimUnit, [{"unit_id": 700, "building_id": 70}], at=DAY1 + H), at=DAY1 + H)
    jobs = [
        {"job_id": 9, "work_order_id": 1, "created_at": DAY1 + 2 * H},
        {"job_id": 10, "work_order_id": 1, "created_at": DAY1 + 6 * H},
        {"job_id": 11, "work_order_id": None, "created_at": None},
    ]
    merge(FactJob, attach_keys(FactJob, jobs), at=DAY1 + 7 * H)

    assert DimUnit.objects.get().building_key_id == DimBuilding.objects.get().pk
    assert dict(FactJob.objects.values_list("job_id", "work_order_key")) == {
        9: opened.pk, 10: closed.pk, 11: None,
    }
    with pytest.raises(ValueError, match="no dimension keys"):
        attach_keys(DimVendor, [])
