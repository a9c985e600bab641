"""The database itself keeps the warehouse's invariants, whatever code writes to it."""
import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from warehouse.models import (
    VERSIONED_MODELS,
    CustomerMapping,
    DimCustomer,
    DimPortfolio,
    FactJob,
    FactWorkOrder,
    SfCustomerCache,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def version(model=FactWorkOrder, source_id=1, **fields):
    id_field = model.SCD_NATURAL_KEY[1]
    values = {id_field: source_id, "valid_from": T0, "row_hash": "h" * 64, **fields}
    return model.objects.create(**values)


def rejected(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        version(**fields)


def test_a_second_current_row_for_a_natural_key_is_rejected():
    version()

    rejected(valid_from=T1)
    version(source_id=2)  # another key is fine
    version(source_system="sf")  # the same id from another system is another record


def test_an_inverted_or_empty_validity_range_is_rejected():
    rejected(valid_from=T1, valid_to=T0, is_current=False)
    rejected(valid_from=T0, valid_to=T0, is_current=False)
    version(valid_from=T0, valid_to=T1, is_current=False)


def test_current_rows_are_open_and_not_deleted():
    rejected(valid_to=T1, is_current=True)
    rejected(is_current=True, is_deleted=True)


def test_a_second_open_version_is_rejected_even_for_a_tombstone():
    version(is_current=False, is_deleted=True)  # a tombstone: open-ended, not current

    rejected(valid_from=T1)
    version(valid_from=T0 - dt.timedelta(days=2), valid_to=T0, is_current=False)  # closed history is fine


def test_closed_versions_may_share_a_natural_key():
    version(valid_to=T1, is_current=False)
    version(valid_from=T1)

    assert FactWorkOrder.objects.filter(work_order_id=1).count() == 2


@pytest.mark.parametrize("model", VERSIONED_MODELS, ids=lambda m: m.__name__)
def test_every_versioned_table_carries_the_same_guarantees(model):
    version(model)

    with pytest.raises(IntegrityError), transaction.atomic():
        version(model, valid_from=T1)
    with pytest.raises(IntegrityError), transaction.atomic():
        version(model, source_id=2, valid_from=T1, valid_to=T0, is_current=False)
    assert model.SCD_NATURAL_KEY[0] == "source_system"
    declared = {*model.SCD_TYPE2_FIELDS, *model.SCD_TYPE1_FIELDS}
    assert len(declared) == len(model.SCD_TYPE2_FIELDS) + len(model.SCD_TYPE1_FIELDS)


def test_versioned_table_names_are_the_ones_staff_know():
    assert {m._meta.db_table for m in VERSIONED_MODELS} == {
        "dim_portfolio", "dim_building", "dim_unit", "dim_tenant", "dim_vendor", "dim_customer",
        "fact_work_orders", "fact_leases", "fact_jobs",
    }


def test_one_customer_mapping_per_portfolio_and_per_building():
    CustomerMapping.objects.create(entity_type="portfolio", pw_portfolio_id=7)
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=7, pw_building_id=70)

    for fields in (
        {"entity_type": "portfolio", "pw_portfolio_id": 7},  # NULL building ids must still collide
        {"entity_type": "building", "pw_portfolio_id": 7, "pw_building_id": 70},
        {"entity_type": "building", "pw_portfolio_id": 7},  # a building row needs its building
        {"entity_type": "portfolio", "pw_portfolio_id": 8, "pw_building_id": 80},
        {"entity_type": "portfolio", "pw_portfolio_id": 9, "confidence": 1.5},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            CustomerMapping.objects.create(**fields)


def test_customer_mapping_changes_are_audited():
    mapping = CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=7, pw_building_id=70)
    mapping.sf_customer_id, mapping.status, mapping.method, mapping.confidence = 501, "mapped", "manual", 1.0
    mapping.save()

    history = list(mapping.history.order_by("history_date").values_list("history_type", "sf_customer_id"))
    assert history == [("+", None), ("~", 501)]


def test_sf_customer_cache_holds_one_row_per_customer():
    SfCustomerCache.objects.create(sf_customer_id=5, name="Elm", fetched_at=T0)

    with pytest.raises(IntegrityError), transaction.atomic():
        SfCustomerCache.objects.create(sf_customer_id=5, name="Elm again", fetched_at=T1)


def test_dimension_versions_default_to_their_source_system():
    assert version(DimPortfolio).source_system == "pw"
    assert version(DimCustomer).source_system == "sf"
    assert version(FactJob).source_system == "sf"
