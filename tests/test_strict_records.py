"""The record parsers at both API edges refuse rather than coerce: for arbitrary JSON-like (SF) or zeep-like
(PW) values in every field, parsing yields a record or raises MalformedRecord, nothing else, and every id in
a parsed record is an int the input held (or its canonical digit string)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.clients.propertyware import convert
from sync.clients.servicefusion import records as sf
from sync.clients.servicefusion.envelope import parse_page
from sync.errors import MalformedRecord, MalformedReply
from sync.simulators.servicefusion import ServiceFusionSimulator
from tests.sf_support import make_client, seed_building, seed_jobs

EXAMPLES = 150
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["12", "0", "-3", "12.5", " 7", "true", "false", "maybe", "NaN", "Infinity", "1e3",
                     "2024-05-01T10:00:00+00:00", "2024-05-01", "2024-13-45T99:00:00Z", "", "１２"]),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
zeep_like = st.recursive(
    scalars | st.datetimes(timezones=st.just(UTC)) | st.dates() | st.decimals(allow_nan=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _valid_id(value) -> int | None:
    """What a parsed id may be for this input: the int itself, or a canonical digit string's int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and not value.startswith("0"):
        return int(value)
    return None


def _record(fields: tuple[str, ...], values: st.SearchStrategy, base: dict) -> st.SearchStrategy:
    """Records where every field is absent, the valid base value, or an arbitrary value."""
    return st.fixed_dictionaries(
        {}, optional={f: st.one_of(st.just(base.get(f)), values) for f in fields}
    ).map(lambda d: {**{k: v for k, v in base.items() if k not in d}, **d} if d else d)


SF_JOB = {"id": 7, "number": "1001", "customer_id": 3, "status": "Open", "techs_assigned": [{"id": 2}, 4],
          "custom_fields": [{"name": "x", "value": 1}], "total": 10.5, "updated_at": "2024-05-01T10:00:00Z"}
SF_INVOICE = {"id": 9, "number": 7001, "total": "12.30", "is_paid": False, "date": "2024-05-01"}
SF_CUSTOMER = {"id": 5, "customer_name": "A", "contacts": [{"fname": "a", "is_primary": True,
               "emails": [{"email": "e"}]}], "locations": [{"street_1": "s", "is_primary": False}]}
SF_FIELDS = ("id", "number", "customer_id", "customer_name", "status", "techs_assigned", "custom_fields",
             "total", "is_paid", "date", "updated_at", "created_at", "closed_at", "contacts", "locations",
             "is_custom", "is_field_worker", "name", "code")


@pytest.mark.parametrize(
    ("parse", "base"),
    [
        (sf.Job.from_api, SF_JOB),
        (sf.Invoice.from_api, SF_INVOICE),
        (sf.Customer.from_api, SF_CUSTOMER),
        (sf.JobStatus.from_api, {"id": 1, "code": "O", "name": "Open", "is_custom": False}),
        (sf.Tech.from_api, {"id": 1, "first_name": "T", "is_field_worker": True}),
        (sf.JobCategory.from_api, {"id": 1, "name": "C"}),
        (sf.Source.from_api, {"id": 1}),
        (sf.PaymentType.from_api, {"id": 1}),
    ],
    ids=lambda v: getattr(v, "__qualname__", "")[:20] if callable(v) else "",
)
@SETTINGS
@given(data=st.data())
def test_sf_parsing_refuses_or_keeps_ids_exact(parse, base, data):
    item = data.draw(st.one_of(_record(SF_FIELDS, json_like, base), json_like), label="item")
    try:
        record = parse(item)
    except MalformedRecord as bad:
        assert bad.system == "servicefusion" and len(bad.excerpt) <= 400
        return
    assert isinstance(item, dict)
    assert type(record.id) is int and record.id == _valid_id(item["id"]) and record.id > 0
    if isinstance(record, sf.Job):
        sent = item.get("techs_assigned") or []
        wanted = [_valid_id(t["id"] if isinstance(t, dict) else t) for t in sent]
        assert list(record.techs_assigned) == wanted
        if record.customer_id is not None:
            assert record.customer_id == _valid_id(item["customer_id"])
    if isinstance(record, sf.Invoice) and record.total is not None:
        assert record.total.is_finite()
        assert not isinstance(item["total"], bool)


PW_WO = {"ID": 11, "number": 5, "building": {"ID": 2}, "unitIDs": [3], "vendorIDs": [], "approved": False,
         "costEstimate": 1.5, "hourEstimate": 2.0, "status": "Open",
         "createdDate": datetime(2024, 5, 1, tzinfo=UTC), "customFields": [{"fieldName": "f", "value": "v"}]}
PW_LEASE = {"ID": 4, "active": True, "unitID": 3, "startDate": date(2024, 1, 1),
            "tenants": [{"ID": 8, "firstName": "T"}], "primaryContact": {"ID": 8}}
PW_FIELDS = ("ID", "number", "building", "portfolio", "lease", "unitIDs", "vendorIDs", "approved", "active",
             "costEstimate", "totalCost", "hourEstimate", "createdDate", "customFields", "buildingID",
             "unitID", "tenants", "primaryContact", "startDate", "name", "multiUnit", "owners")


@pytest.mark.parametrize(
    ("parse", "base"),
    [
        (convert.to_work_order, PW_WO),
        (convert.to_lease, PW_LEASE),
        (convert.to_unit, {"ID": 3, "buildingID": 2, "active": True}),
        (lambda d: convert.to_building(d, 1), {"ID": 2, "multiUnit": True, "portfolio": "P"}),
        (convert.to_portfolio, {"ID": 1, "active": True, "owners": [{"firstName": "O"}]}),
        (convert.to_vendor, {"ID": 6, "active": False}),
    ],
)
@SETTINGS
@given(data=st.data())
def test_pw_parsing_refuses_or_keeps_ids_exact(parse, base, data):
    item = data.draw(st.one_of(_record(PW_FIELDS, zeep_like, base), zeep_like), label="item")
    try:
        record = parse(item)
    except MalformedRecord as bad:
        assert bad.system == "propertyware" and len(bad.excerpt) <= 400
        return
    assert type(record.id) is int and record.id == _valid_id(item["ID"])
    if hasattr(record, "unit_ids"):
        assert list(record.unit_ids) == [_valid_id(u) for u in item.get("unitIDs") or [] if u is not None]
        assert record.cost_estimate.is_finite() and math.isfinite(record.hour_estimate)
    if hasattr(record, "active"):
        assert record.active is (item.get("active") in (True, "true", "1"))


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"number": "1"}, "id"),  # missing id: no job 0
        ({"id": "abc"}, "id"),
        ({"id": True}, "id"),
        ({"id": 0}, "id"),
        ({"id": 5.0}, "id"),
        ({"id": 1, "techs_assigned": "12"}, "techs_assigned"),  # not techs (1, 2)
        ({"id": 1, "techs_assigned": [{"id": "x"}]}, "techs_assigned"),
        ({"id": 1, "custom_fields": ["x"]}, "custom_fields"),
        ({"id": 1, "updated_at": 1714557600}, "updated_at"),
        ({"id": 1, "updated_at": "yesterday"}, "updated_at"),
    ],
)
def test_a_bad_job_field_is_named_and_excerpted(item, field):
    with pytest.raises(MalformedRecord, match=field) as caught:
        sf.Job.from_api(item)
    assert caught.value.excerpt.startswith("{")


@pytest.mark.parametrize("value", ["false", "maybe", 1, "1"])
def test_sf_booleans_are_real_booleans(value):
    with pytest.raises(MalformedRecord, match="is_paid"):
        sf.Invoice.from_api({"id": 1, "is_paid": value})


@pytest.mark.parametrize("total", [float("nan"), float("inf"), "NaN", True, [1]])
def test_totals_are_finite_numbers(total):
    with pytest.raises(MalformedRecord, match="total"):
        sf.Invoice.from_api({"id": 1, "total": total})
    assert sf.Invoice.from_api({"id": 1, "total": 2.5}).total == Decimal("2.5")


def test_secrets_are_scrubbed_and_excerpts_cut():
    with pytest.raises(MalformedRecord) as caught:
        sf.Job.from_api({"id": "x", "access_token": "s3cret", "description": "d" * 5000})
    assert "s3cret" not in caught.value.excerpt and len(caught.value.excerpt) <= 400
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("row", "field"),
    [({"ID": "12x"}, "ID"), ({"ID": None}, "ID"), ({"ID": 5, "approved": "maybe"}, "approved"),
     ({"ID": 5, "costEstimate": float("nan")}, "costEstimate"), ({"ID": 5, "unitIDs": ["a"]}, "unitIDs"),
     ({"ID": 5, "createdDate": "2024-99-01"}, "createdDate")],
)
def test_pw_work_order_refusals(row, field):
    with pytest.raises(MalformedRecord, match=field):
        convert.to_work_order(row)


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        ([], {}, "not the documented envelope"),  # not an object: never "0 jobs"
        ("oops", {}, "not the documented envelope"),
        ({"items": {"id": 1}, "_meta": {"currentPage": 1, "pageCount": 1}}, {}, "items"),
        ({"items": None}, {}, "items"),
        ({"items": [], "_meta": {"currentPage": "1", "pageCount": 1}}, {}, "currentPage"),
        ({"items": []}, {}, "no paging meta"),
        ({"items": []}, {"X-Pagination-Current-Page": "1", "X-Pagination-Page-Count": "x"}, "no paging meta"),
    ],
)
def test_a_page_that_is_not_the_envelope_fails_the_read(body, headers, problem):
    with pytest.raises(MalformedReply, match=problem):
        parse_page(body, headers, operation="list_jobs")


def test_paging_meta_may_come_from_the_headers():
    page = parse_page({"items": [1]}, {"X-Pagination-Current-Page": "2", "X-Pagination-Page-Count": "3"},
                      operation="list_jobs")
    assert (page.items, page.current, page.count) == ([1], 2, 3)


def test_a_listing_past_sf_max_pages_fails_clearly():
    with ServiceFusionSimulator() as sim:
        _, child = seed_building(sim)
        seed_jobs(sim, child, 51)  # two pages of 50
        client = make_client(sim, max_pages=1)
        got: list = []
        with pytest.raises(MalformedReply, match="SF_MAX_PAGES"):
            got.extend(client.iter_jobs())
        assert len(got) == 50
