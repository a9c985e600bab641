"""The PostgreSQL merge (new keys converted a column at a time, versions COPY'd in binary) stores exactly the
rows the ORM path stores for the same batches: every value kind, spelling and awkward character."""
import datetime as dt
import zoneinfo

import pytest
from django.db import connection, transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import scd
from warehouse.models import FactLease, FactWorkOrder
from warehouse.scd_result import MergeMeta
from warehouse.scd_rows import read_batch, spec_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's"),
]

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30)), zoneinfo.ZoneInfo("America/New_York")]

# Characters COPY's text format would escape, and others; NUL is the one character text never holds.
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12) | (
    st.lists(st.sampled_from(["\\", "\t", "\n", "\r", "\\N", "a", "é", "€", '"', "'", ","]), max_size=6)
    .map("".join)
)
aware = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2200, 1, 1)),
    st.sampled_from(ZONES),
)
moments = st.none() | aware | st.datetimes(min_value=dt.datetime(1900, 1, 2)) | aware.map(
    lambda value: value.isoformat()
) | st.dates(min_value=dt.date(1900, 1, 2))
decimals = st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, places=4)
money = st.none() | decimals | decimals.map(str) | st.integers(-10**6, 10**6) | st.floats(-1e6, 1e6)
floats = st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**6, 10**6)
json_lists = st.lists(st.integers(-10**6, 10**6) | texts, max_size=3)
ids = st.none() | st.integers(-2**62, 2**62)

work_orders = st.fixed_dictionaries(
    {"work_order_id": st.integers(1, 5)},
    optional={
        "status": texts, "description": texts, "location": texts, "unit_id": ids, "number": ids,
        "unit_ids": json_lists, "created_date": moments, "completed_date": moments,
        "cost_estimate": money, "total_cost": money, "hour_estimate": floats, "building_level": st.booleans(),
        "created_date_key": st.none() | st.integers(0, 2**31 - 1),  # an integer column
    },
)
leases = st.fixed_dictionaries(
    {"lease_id": st.integers(1, 5)},
    optional={
        "name": texts, "status": texts, "active": st.booleans(), "tenant_contact_ids": json_lists,
        "start_date": moments, "end_date": moments, "move_out_date": st.none() | st.dates(),
        "primary_contact_id": ids,
    },
)


def _merge_orm(model, records, *, at, full):
    """The ORM path of warehouse.scd.merge, run on PostgreSQL for comparison."""
    batch = read_batch(spec_for(model), records)
    return scd._merge_orm(batch, MergeMeta(at=at, sync_run_id=7, change_reason="r\te\\n"), using="default",
                          full=full, scope=Q())


def _stored(model, batches, merge_one) -> tuple[list, list]:
    results = []
    with transaction.atomic():
        for i, records in enumerate(batches):
            results.append(merge_one(model, records, at=T0 + dt.timedelta(hours=i), full=i % 2 == 1))
        pk = model._meta.pk.attname
        names = [f.attname for f in model._meta.concrete_fields if f.attname != pk]
        ordered = model.objects.order_by(model.SCD_NATURAL_KEY[1], "valid_from", "is_deleted")
        rows = list(ordered.values(*names))
        transaction.set_rollback(True)
    return results, rows


def _merge(model, records, *, at, full):
    return scd.merge(model, records, at=at, full=full, sync_run_id=7, change_reason="r\te\\n")


@pytest.mark.parametrize("model, records", [(FactWorkOrder, work_orders), (FactLease, leases)])
def test_the_postgresql_path_stores_what_the_orm_path_stores(model, records):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.lists(records, max_size=6), min_size=1, max_size=3))
    def check(batches):
        try:
            expected = _stored(model, batches, _merge_orm)
        except scd.MergeError:  # refused input is refused by both paths alike
            with pytest.raises(scd.MergeError):
                _stored(model, batches, _merge)
            return
        assert _stored(model, batches, _merge) == expected

    check()
