"""The SCD Type 2 merge: versions, Type-1 overwrites, no-op re-merges, tombstones, and as-of history."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.models import DimBuilding, DimVendor, FactWorkOrder
from warehouse.scd import MergeError, MergeResult, merge

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def wo(work_order_id, **fields):
    record = {
        "work_order_id": work_order_id,
        "number": 1000 + work_order_id,
        "portfolio_id": 7,
        "building_id": 70,
        "status": "Open",
        "priority": "Normal",
        "description": f"Leak {work_order_id}",
        "location": "P | B",
        "unit_ids": [700],
        "unit_id": 700,
        "total_cost": Decimal("12.50"),
    }
    record.update(fields)
    return record


def versions(work_order_id):
    return list(FactWorkOrder.objects.filter(work_order_id=work_order_id).order_by("valid_from"))


pytestmark = pytest.mark.django_db


def test_first_merge_inserts_one_current_version_per_record():
    result = merge(FactWorkOrder, [wo(1), wo(2)], at=at(0), sync_run_id=5, change_reason="initial load")

    assert result == MergeResult(inserted=2)
    (row,) = versions(1)
    assert (row.is_current, row.valid_from, row.valid_to, row.is_deleted) == (True, at(0), None, False)
    assert (row.sync_run_id, row.change_reason, row.source_system) == (5, "initial load", "pw")
    assert len(row.row_hash) == 64 and row.unit_ids == [700] and row.total_cost == Decimal("12.50")


def test_remerging_the_same_batch_writes_nothing():
    batch = [wo(1), wo(2, status="In Progress")]
    merge(FactWorkOrder, batch, at=at(0))
    before = list(FactWorkOrder.objects.values().order_by("pk"))

    result = merge(FactWorkOrder, batch, at=at(1))

    assert result == MergeResult(unchanged=2)
    assert list(FactWorkOrder.objects.values().order_by("pk")) == before


def test_equal_values_in_other_spellings_are_unchanged():
    merge(FactWorkOrder, [wo(1)], at=at(0))

    result = merge(
        FactWorkOrder,
        [wo(1, unit_id="700", unit_ids=(700,), total_cost="12.5", number=1001.0)],
        at=at(1),
    )

    assert result == MergeResult(unchanged=1)


def test_type2_change_closes_the_version_and_opens_a_new_one():
    merge(FactWorkOrder, [wo(1), wo(2)], at=at(0))

    result = merge(FactWorkOrder, [wo(1, status="Closed"), wo(2)], at=at(1), sync_run_id=9)

    assert result == MergeResult(changed=1, unchanged=1)
    old, new = versions(1)
    assert (old.status, old.valid_to, old.is_current) == ("Open", at(1), False)
    assert (new.status, new.valid_from, new.valid_to, new.is_current, new.sync_run_id) == (
        "Closed", at(1), None, True, 9,
    )
    assert old.row_hash != new.row_hash
    assert len(versions(2)) == 1


def test_type1_change_overwrites_the_current_version_in_place():
    merge(FactWorkOrder, [wo(1)], at=at(0))
    (before,) = versions(1)

    result = merge(FactWorkOrder, [wo(1, location="P | B2", total_cost=Decimal("99.99"))], at=at(1))

    assert result == MergeResult(type1_updated=1)
    (after,) = versions(1)
    assert after.pk == before.pk and after.valid_from == at(0) and after.row_hash == before.row_hash
    assert (after.location, after.total_cost) == ("P | B2", Decimal("99.99"))


def test_type1_and_type2_change_together_make_one_new_version_with_both():
    merge(FactWorkOrder, [wo(1)], at=at(0))

    result = merge(FactWorkOrder, [wo(1, status="Closed", location="elsewhere")], at=at(1))

    assert result == MergeResult(changed=1)
    old, new = versions(1)
    assert (old.status, old.location) == ("Open", "P | B")
    assert (new.status, new.location) == ("Closed", "elsewhere")


def test_type1_fields_no_record_names_are_left_alone_and_carried_into_new_versions():
    merge(FactWorkOrder, [wo(1, location="kept", source="Portal")], at=at(0))

    result = merge(FactWorkOrder, [{"work_order_id": 1, "status": "Open", "description": "Leak 1",
                                    "unit_id": 700, "building_id": 70, "priority": "Normal"}], at=at(1))
    assert result == MergeResult(unchanged=1)
    merge(FactWorkOrder, [{"work_order_id": 1, "status": "Closed", "description": "Leak 1",
                           "unit_id": 700, "building_id": 70, "priority": "Normal"}], at=at(2))

    old, new = versions(1)
    assert (new.status, new.location, new.source, new.unit_ids) == ("Closed", "kept", "Portal", [700])


def test_full_reconciliation_tombstones_a_record_missing_from_the_batch():
    merge(FactWorkOrder, [wo(1), wo(2)], at=at(0))

    result = merge(FactWorkOrder, [wo(1)], at=at(1), full=True, change_reason="deleted in PW")

    assert result == MergeResult(unchanged=1, tombstoned=1)
    live, tomb = versions(2)
    assert (live.valid_to, live.is_current, live.is_deleted) == (at(1), False, False)
    assert (tomb.valid_from, tomb.valid_to, tomb.is_current, tomb.is_deleted) == (at(1), None, False, True)
    assert (tomb.status, tomb.change_reason) == ("Open", "deleted in PW")
    assert list(FactWorkOrder.objects.current().values_list("work_order_id", flat=True)) == [1]
    # A second reconciliation leaves the tombstone alone.
    assert merge(FactWorkOrder, [wo(1)], at=at(2), full=True) == MergeResult(unchanged=1)


def test_scope_limits_which_records_a_full_reconciliation_can_tombstone():
    merge(FactWorkOrder, [wo(1, portfolio_id=7), wo(2, portfolio_id=7), wo(3, portfolio_id=8)], at=at(0))

    result = merge(FactWorkOrder, [wo(1, portfolio_id=7)], at=at(1), full=True, scope={"portfolio_id": 7})

    assert result == MergeResult(unchanged=1, tombstoned=1)
    assert sorted(FactWorkOrder.objects.current().values_list("work_order_id", flat=True)) == [1, 3]


def test_a_full_reconciliation_reads_records_from_any_iterable_alike():
    merge(FactWorkOrder, [wo(1), wo(2), wo(3)], at=at(0))

    from_list = merge(FactWorkOrder, [wo(1), wo(2, status="Closed")], at=at(1), full=True)
    from_generator = merge(FactWorkOrder, (r for r in [wo(1), wo(4)]), at=at(2), full=True)

    assert from_list == MergeResult(unchanged=1, changed=1, tombstoned=1)
    assert from_generator == MergeResult(unchanged=1, inserted=1, tombstoned=1)
    assert sorted(FactWorkOrder.objects.current().values_list("work_order_id", flat=True)) == [1, 4]


def test_bad_input_to_a_full_reconciliation_leaves_the_table_and_connection_usable():
    merge(FactWorkOrder, [wo(1), wo(2)], at=at(0))

    with pytest.raises(MergeError, match="total_cost: cannot read"):
        merge(FactWorkOrder, [wo(1), wo(2, total_cost="lots")], at=at(1), full=True)
    with pytest.raises(MergeError, match="without work_order_id"):
        merge(FactWorkOrder, [wo(1), {"status": "Open"}], at=at(1), full=True)

    assert merge(FactWorkOrder, [wo(1)], at=at(2), full=True) == MergeResult(unchanged=1, tombstoned=1)
    assert [v.is_deleted for v in versions(2)] == [False, True]


def test_a_tombstoned_record_that_reappears_starts_a_new_live_version():
    merge(FactWorkOrder, [wo(1), wo(2)], at=at(0))
    merge(FactWorkOrder, [wo(1)], at=at(1), full=True)

    result = merge(FactWorkOrder, [wo(2)], at=at(2))

    assert result == MergeResult(changed=1)
    first, tomb, back = versions(2)
    assert (tomb.is_deleted, tomb.valid_to) == (True, at(2))
    assert (back.is_current, back.is_deleted, back.valid_from, back.valid_to) == (True, False, at(2), None)


def test_the_last_record_for_a_key_in_a_batch_wins():
    result = merge(FactWorkOrder, [wo(1, status="Open"), wo(1, status="Closed")], at=at(0))

    assert result == MergeResult(inserted=1)
    assert [v.status for v in versions(1)] == ["Closed"]


def test_batches_larger_than_one_statement_chunk_merge_completely():
    merge(FactWorkOrder, [wo(i) for i in range(1, 1301)], at=at(0))

    result = merge(
        FactWorkOrder,
        [wo(i, status="Closed" if i % 3 == 0 else "Open") for i in range(1, 1301)],
        at=at(1),
    )

    assert result == MergeResult(changed=433, unchanged=867)
    assert FactWorkOrder.objects.current().count() == 1300
    assert FactWorkOrder.objects.count() == 1733


def test_dimension_type1_and_type2_fields_follow_their_declaration():
    merge(DimVendor, [{"vendor_id": 4, "name": "Ace", "email": "a@x.example"}], at=at(0))

    assert merge(DimVendor, [{"vendor_id": 4, "name": "Ace", "email": "a@x.example", "sf_tech_id": 17}],
                 at=at(1)) == MergeResult(type1_updated=1)
    assert merge(DimVendor, [{"vendor_id": 4, "name": "Ace Co", "email": "a@x.example", "sf_tech_id": 17}],
                 at=at(2)) == MergeResult(changed=1)
    assert list(DimVendor.objects.order_by("valid_from").values_list("name", "sf_tech_id")) == [
        ("Ace", 17), ("Ace Co", 17),
    ]


def test_foreign_keys_accept_instances_and_ids():
    merge(DimBuilding, [{"building_id": 70, "name": "Elm"}], at=at(0))
    building = DimBuilding.objects.get()

    merge(FactWorkOrder, [wo(1, building_key=building), wo(2, building_key_id=building.pk)], at=at(0))

    assert set(FactWorkOrder.objects.values_list("building_key", flat=True)) == {building.pk}


@pytest.mark.parametrize(
    ("records", "kwargs", "message"),
    [
        ([wo(1, colour="red")], {}, "unknown field 'colour'"),
        ([wo(1, valid_from=T0)], {}, "set by the merge"),
        ([wo(1, work_order_key=5)], {}, "surrogate key"),
        ([{"status": "Open"}], {}, "without work_order_id"),
        ([wo(1, unit_id="twelve")], {}, "FactWorkOrder.unit_id: cannot read 'twelve'"),
        ([wo(1, total_cost="lots")], {}, "total_cost: cannot read"),
        ([wo(1)], {"at": dt.datetime(2025, 1, 1)}, "aware datetime"),
        ([wo(1)], {"scope": {"portfolio_id": 7}}, "full=True"),
        (["not a dict"], {}, "records must be mappings"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(records, kwargs, message):
    with pytest.raises(MergeError, match=message):
        merge(FactWorkOrder, records, **{"at": at(0), **kwargs})
    assert not FactWorkOrder.objects.exists()


@pytest.mark.parametrize("full", [False, True])
def test_a_merge_may_not_go_back_in_time_over_a_version_it_would_close(full):
    merge(FactWorkOrder, [wo(1), wo(2)], at=at(5))

    # A full reconciliation also closes work order 2 (absent) in the same round of statements.
    with pytest.raises(MergeError, match="not after"):
        merge(FactWorkOrder, [wo(1, status="Closed")], at=at(5), full=full)
    assert [v.status for v in versions(1)] == ["Open"]
    assert [v.is_deleted for v in versions(2)] == [False]
    # The connection is still usable, and a later merge goes through.
    assert merge(FactWorkOrder, [wo(1, status="Closed")], at=at(6), full=full).changed == 1


def test_only_versioned_models_can_be_merged():
    from warehouse.models import DimStatus

    with pytest.raises(MergeError, match="not a versioned"):
        merge(DimStatus, [], at=at(0))


# --- property: the history reproduces every snapshot ------------------------------------------------

STATUSES = ["Open", "In Progress", "Closed"]
snapshot = st.dictionaries(
    keys=st.integers(min_value=1, max_value=5),
    values=st.tuples(
        st.sampled_from(STATUSES), st.sampled_from(["Low", "High"]), st.sampled_from(["a", "b"])
    ),
    max_size=5,
)


def _state_as_of(ts):
    return {
        row.work_order_id: (row.status, row.priority)
        for row in FactWorkOrder.objects.as_of(ts)
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snapshots=st.lists(snapshot, min_size=1, max_size=6), remerge=st.booleans())
def test_as_of_history_reproduces_every_merged_snapshot(snapshots, remerge):
    with transaction.atomic():
        for i, snap in enumerate(snapshots):
            records = [
                {"work_order_id": k, "status": s, "priority": p, "location": loc}
                for k, (s, p, loc) in snap.items()
            ]
            merge(FactWorkOrder, records, at=at(i), full=True)
            if remerge:
                assert merge(FactWorkOrder, records, at=at(i + 0.5), full=True).written == 0

        for i, snap in enumerate(snapshots):
            expected = {k: (s, p) for k, (s, p, _loc) in snap.items()}
            assert _state_as_of(at(i)) == expected
            assert _state_as_of(at(i + 0.75)) == expected
        assert _state_as_of(at(-1)) == {}
        last = snapshots[-1]
        current = {r.work_order_id: r.location for r in FactWorkOrder.objects.current()}
        assert current == {k: loc for k, (_s, _p, loc) in last.items()}
        # Each record's versions tile time without gaps or overlaps; only the last is open.
        for work_order_id in {k for snap in snapshots for k in snap}:
            chain = versions(work_order_id)
            assert all(a.valid_to == b.valid_from for a, b in zip(chain, chain[1:], strict=False))
            assert chain[-1].valid_to is None
        transaction.set_rollback(True)


# --- property: batches naming different Type-1 fields never hide a change -----------------------------

TYPE1_CHOICES = {"location": ["x", "y"], "source": ["Portal", "Phone"], "type": ["Repair", "Inspection"]}
batch_strategy = st.tuples(
    st.sets(st.sampled_from(sorted(TYPE1_CHOICES))),  # the Type-1 fields this batch names
    st.dictionaries(
        keys=st.integers(min_value=1, max_value=3),
        values=st.tuples(
            st.sampled_from(["Open", "Closed"]),
            st.fixed_dictionaries({k: st.sampled_from(v) for k, v in TYPE1_CHOICES.items()}),
        ),
        min_size=1,
        max_size=3,
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch_strategy, min_size=1, max_size=6))
def test_current_rows_hold_the_last_value_any_batch_named(batches):
    with transaction.atomic():
        expected: dict[int, dict] = {}
        for i, (named, snap) in enumerate(batches):
            records = [
                {"work_order_id": k, "status": status, **{f: t1[f] for f in named}}
                for k, (status, t1) in snap.items()
            ]
            merge(FactWorkOrder, records, at=at(i))
            for k, (status, t1) in snap.items():
                state = expected.setdefault(k, {"location": "", "source": "", "type": ""})
                state.update({"status": status, **{f: t1[f] for f in named}})
            assert merge(FactWorkOrder, records, at=at(i + 0.5)).written == 0

        current = {
            row["work_order_id"]: row
            for row in FactWorkOrder.objects.current().values("work_order_id", "status", *TYPE1_CHOICES)
        }
        assert {k: {f: v[f] for f in ("status", *TYPE1_CHOICES)} for k, v in current.items()} == expected
        transaction.set_rollback(True)
