"""Incremental reads cost what changed, not what exists: a quiet run lists no SF customers or lookups
within their cache TTL, reads one page of SF jobs and invoices and one of each PW stream, and still sees
every change (both simulators over real HTTP, the real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.engine.cursors import get_cursor, pw_since
from sync.engine.runner import run_sync
from sync.engine.summary import summarize
from sync.models import Cursor, OutboxItem, SyncRun
from sync.simulators.propertyware.store import iso_precise
from tests.engine_support import live
from warehouse.models import (
    DimBuilding,
    DimCustomer,
    DimPortfolio,
    DimStatus,
    DimUnit,
    DimVendor,
    FactJob,
    FactTransaction,
    FactWorkOrder,
    SfCustomerCache,
    TenantMapping,
    UnitMapping,
)

pytestmark = pytest.mark.django_db

READS = ("getPWPortfolios", "getPWBuildings", "getPWWorkOrders", "getPWLeases", "getSFCustomers", "getSFJobs",
         "getSFInvoices")


@pytest.fixture
def synced(sims, settings):
    """Both simulators after a first run and the run that reads its own writes back: a quiet window.

    The PW overlap is 0 here so that the first run's own write-backs (a moment before) are not read
    again; tests of the overlap set it themselves."""
    pw, sf = sims
    settings.SYNC = {**settings.SYNC, "PULL_OVERLAP_SECONDS": 0}
    live()
    for _ in range(2):
        run = run_sync()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return pw, sf


def _delta(before: dict, after: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def _requests(run, step: str, system: str) -> int:
    return run.steps.get(name=step).api_calls.get(system, {}).get("requests", 0)


def _run(pw, sf, **kw):
    """A run and the requests each simulator answered during it."""
    pw0, sf0 = pw.request_counts(), sf.request_counts()
    run = run_sync(**kw)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run, _delta(pw0, pw.request_counts()), _delta(sf0, sf.request_counts())


def test_a_quiet_run_reads_one_page_per_stream_and_lists_no_cached_list(synced):
    pw, sf = synced

    run, _, sf_made = _run(pw, sf)

    # The token is still in the cache; customers and lookups are within their TTL.
    assert sf_made == {"GET /v1/jobs": 1, "GET /v1/invoices": 1}
    reads = {name: _requests(run, name, "pw") for name in READS[:4]}
    # One empty page per filtered stream, the portfolio listing, getVendors.
    assert reads == {"getPWPortfolios": 1, "getPWBuildings": 2, "getPWWorkOrders": 2, "getPWLeases": 1}
    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWWorkOrders"]["work_orders_read"] == 0
    # Work orders held again (unmapped building, unit waiting for staff) are not re-read from PW.
    push = run.steps.get(name="pushWorkOrdersToSF")
    assert push.counts.get("held", 0) > 0 and _requests(run, "pushWorkOrdersToSF", "pw") == 0
    assert counts["getSFCustomers"]["cache_fresh"] == 1 and "customers_read" not in counts["getSFCustomers"]
    assert counts["getSFJobs"]["lookups_cached"] == 1


def test_what_changed_is_read_and_only_that(synced):
    pw, sf = synced
    wo = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).order_by("work_order_id")[0]
    pw.store.edit_work_order(wo.work_order_id, description="Radiator knocking in bedroom two")
    sf.store.set_job_status(wo.sf_job_id, "On The Way")

    run, _, sf_made = _run(pw, sf)

    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWWorkOrders"]["work_orders_read"] == 1
    assert FactWorkOrder.objects.get(work_order_id=wo.work_order_id, is_current=True).description == (
        "Radiator knocking in bedroom two"
    )
    assert FactJob.objects.get(job_id=wo.sf_job_id, is_current=True).status == "On The Way"
    assert sf_made["GET /v1/jobs"] == 1 and "GET /v1/customers" not in sf_made


def test_a_full_run_reads_everything_again(synced):
    pw, sf = synced

    run, pw_made, sf_made = _run(pw, sf, full=True)

    for path in ("GET /v1/customers", "GET /v1/job-statuses", "GET /v1/job-categories", "GET /v1/techs"):
        assert sf_made.get(path, 0) >= 1, path
    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWWorkOrders"]["work_orders_read"] == len(pw.store.work_orders())
    assert counts["getSFJobs"]["jobs_read"] == len(sf.store.jobs())
    assert counts["getSFCustomers"]["customers_read"] == len(sf.store.customers())


# --- ServiceFusion customers: a cache with a TTL --------------------------------------------------------
def test_customers_are_listed_again_once_the_cache_is_older_than_its_ttl(synced, settings):
    pw, sf = synced
    new_id = sf.store.seed_customer({"customer_name": "Entered By Hand In ServiceFusion"})

    _, _, sf_made = _run(pw, sf)
    assert "GET /v1/customers" not in sf_made
    assert not SfCustomerCache.objects.filter(sf_customer_id=new_id).exists()

    Cursor.objects.filter(workflow="servicefusion", entity_type="customers").update(
        last_sync_time=datetime.now(UTC) - timedelta(seconds=settings.SYNC["SF_CUSTOMER_CACHE_SECONDS"] + 1)
    )
    _, _, sf_made = _run(pw, sf)
    assert sf_made["GET /v1/customers"] >= 1
    assert SfCustomerCache.objects.filter(sf_customer_id=new_id).exists()
    assert DimCustomer.objects.filter(customer_id=new_id, is_current=True).exists()


def test_a_ttl_of_zero_lists_customers_and_lookups_on_every_run(synced, settings):
    pw, sf = synced
    settings.SYNC = {**settings.SYNC, "SF_CUSTOMER_CACHE_SECONDS": 0, "SF_LOOKUP_CACHE_SECONDS": 0}

    _, _, sf_made = _run(pw, sf)

    for path in ("GET /v1/customers", "GET /v1/job-statuses", "GET /v1/job-categories", "GET /v1/techs"):
        assert sf_made.get(path, 0) >= 1, path


def test_an_interrupted_listing_is_not_taken_as_fresh(synced):
    pw, sf = synced
    Cursor.objects.filter(workflow="servicefusion", entity_type="customers").update(status="running")

    _, _, sf_made = _run(pw, sf)

    assert sf_made["GET /v1/customers"] >= 1
    assert get_cursor("servicefusion", "customers").status == "ok"


def test_customers_the_sync_creates_are_in_dim_customer_at_once(sims):
    # The listing is cached, so the customers a run creates must not wait for it: they go into the cache
    # and dim_customer when created, and the jobs created for them in the same run carry their key.
    pw, sf = sims
    live()

    run_sync()

    created = {c["id"]: c for c in sf.store.customers()}
    assert created
    current = {d.customer_id: d for d in DimCustomer.objects.filter(is_current=True)}
    assert set(current) == set(created)
    for customer_id, customer in created.items():
        assert current[customer_id].customer_name == customer["customer_name"]
        assert current[customer_id].account_number == customer["account_number"]
    jobs = FactJob.objects.filter(is_current=True)
    assert jobs.exists() and not jobs.filter(customer_key__isnull=True).exists()

    before = DimCustomer.objects.count()
    run_sync(full=True)  # the listing finds them as they were written: no new versions
    assert DimCustomer.objects.count() == before


# --- ServiceFusion lookups -------------------------------------------------------------------------------
def test_a_job_in_a_status_not_yet_known_refreshes_the_lookups_at_once(synced):
    pw, sf = synced
    sf.store.rename_status("06_ONS", "Tech On Site")
    wo = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).order_by("work_order_id")[0]
    sf.store.set_job_status(wo.sf_job_id, "Tech On Site")

    run, _, sf_made = _run(pw, sf)

    assert sf_made["GET /v1/job-statuses"] == 1
    job = FactJob.objects.get(job_id=wo.sf_job_id, is_current=True)
    assert (job.status, job.status_code) == ("Tech On Site", "06_ONS")
    assert DimStatus.objects.filter(source_system="sf", name="Tech On Site").exists()
    # Read once, the lists are fresh again.
    _, _, sf_made = _run(pw, sf)
    assert "GET /v1/job-statuses" not in sf_made


# --- ServiceFusion jobs cursor ---------------------------------------------------------------------------
def test_the_jobs_cursor_is_the_newest_updated_at_seen(synced):
    pw, sf = synced
    newest = max(datetime.fromisoformat(str(j["updated_at"])) for j in sf.store.jobs())
    assert get_cursor("servicefusion", "jobs").last_sync_time == newest


def test_a_job_stamped_just_before_the_cursor_but_seen_late_is_read_within_the_overlap(synced, settings):
    # A job written in SF just before the newest one we saw, but committed after our read, carries an
    # updated_at older than the cursor: the overlap is what finds it.
    pw, sf = synced
    cursor = get_cursor("servicefusion", "jobs").last_sync_time
    wo = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False).order_by("work_order_id")[0]
    sf.store.set_job_status(wo.sf_job_id, "Dispatched")
    with sf.store.lock:
        sf.store.jobs_by_id[wo.sf_job_id]["updated_at"] = cursor - timedelta(seconds=1)
    default = dict(settings.SYNC)

    settings.SYNC = {**default, "SF_JOBS_OVERLAP_SECONDS": 0}
    _run(pw, sf)
    assert FactJob.objects.get(job_id=wo.sf_job_id, is_current=True).status != "Dispatched"

    settings.SYNC = default  # the default overlap (2 s)
    _run(pw, sf)
    assert FactJob.objects.get(job_id=wo.sf_job_id, is_current=True).status == "Dispatched"


# --- ServiceFusion invoices ------------------------------------------------------------------------------
def test_invoices_are_read_newest_first_down_to_the_cursor(synced):
    pw, sf = synced
    jobs = list(FactJob.objects.filter(is_current=True).values_list("job_id", flat=True))
    for i in range(60):  # more than a page (50)
        sf.store.add_invoice(jobs[i % len(jobs)], 100 + i)
    _, _, sf_made = _run(pw, sf)
    assert sf_made["GET /v1/invoices"] == 2 and FactTransaction.objects.count() == 60
    sf.store.advance_time(60)  # a minute later: the 60 are now older than the cursor less its overlap
    sf.store.add_invoice(jobs[1], "80.00")
    _run(pw, sf)
    sf.store.advance_time(60)
    invoice = sf.store.add_invoice(jobs[0], "250.00", is_paid=True)

    run, _, sf_made = _run(pw, sf)

    assert sf_made["GET /v1/invoices"] == 1  # the first page reaches past the cursor: listing stops
    counts = run.steps.get(name="getSFInvoices").counts
    assert counts["transactions_new"] == 1 and counts["invoices_read"] == 2  # the boundary one again
    row = FactTransaction.objects.get(invoice_id=invoice)
    assert row.is_paid and row.work_order_id is not None and row.job_id == jobs[0]
    assert FactTransaction.objects.count() == 62


# --- PropertyWare cursors --------------------------------------------------------------------------------
def test_a_work_order_stamped_just_before_the_cursor_is_read_within_the_overlap(synced, settings):
    # PW stamps lastModified by its own clock, the cursor is ours: the overlap covers the difference.
    pw, sf = synced
    cursor = get_cursor("propertyware", "work_orders").last_sync_time
    wo = FactWorkOrder.objects.filter(is_current=True).order_by("work_order_id")[0]
    pw.store.edit_work_order(wo.work_order_id, description="Gutter hanging loose over the porch")
    with pw.store.lock:
        pw.store.table("work_orders")[wo.work_order_id]["_lastModified"] = iso_precise(
            cursor - timedelta(seconds=2)
        )

    _run(pw, sf)  # overlap 0 (the fixture's)
    assert FactWorkOrder.objects.get(work_order_id=wo.work_order_id, is_current=True).description != (
        "Gutter hanging loose over the porch"
    )

    settings.SYNC = {**settings.SYNC, "PULL_OVERLAP_SECONDS": 5}
    _run(pw, sf)
    assert FactWorkOrder.objects.get(work_order_id=wo.work_order_id, is_current=True).description == (
        "Gutter hanging loose over the porch"
    )


def test_pw_bounds_are_sent_in_the_filter_time_zone_as_the_same_instant(synced, settings):
    pw, sf = synced
    settings.PROPERTYWARE = {**settings.PROPERTYWARE, "FILTER_TIME_ZONE": "America/Chicago"}
    cursor = get_cursor("propertyware", "work_orders")
    bound = pw_since(cursor)
    assert bound.tzinfo == ZoneInfo("America/Chicago") and bound == cursor.last_sync_time
    assert pw_since(cursor, full=True) is None
    wo = FactWorkOrder.objects.filter(is_current=True).order_by("work_order_id")[0]
    pw.store.edit_work_order(wo.work_order_id, description="Smoke alarm chirping")

    run, _, _ = _run(pw, sf)

    assert run.steps.get(name="getPWWorkOrders").counts["work_orders_read"] == 1
    assert get_cursor("propertyware", "work_orders").state["since"].endswith(("-06:00", "-05:00"))


# --- PropertyWare's unfiltered listings: portfolios and vendors -------------------------------------------
def _edit_pw(pw, entity: str, rid: int, **fields) -> None:
    with pw.store.lock:
        record = pw.store.get(entity, rid)
        record.update(fields)
        pw.store.touch(record)


def test_an_unchanged_portfolio_or_vendor_listing_is_read_but_not_merged_again(synced):
    pw, sf = synced

    run, pw_made, _ = _run(pw, sf)

    # Both listings are still asked for (they have no filter), but their replies were the ones merged.
    assert pw_made["getAllPortfolios"] == 1 and pw_made["getVendors"] == 1
    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWPortfolios"] == {"portfolios_unchanged": 1}
    assert counts["getPWWorkOrders"]["vendors_unchanged"] == 1
    assert "vendors_read" not in counts["getPWWorkOrders"]
    assert get_cursor("propertyware", "portfolios").status == "ok"


def test_a_changed_building_is_placed_in_its_portfolio_without_listing_the_portfolios_again(synced):
    pw, sf = synced
    building = DimBuilding.objects.filter(is_current=True).order_by("building_id")[0]
    _edit_pw(pw, "buildings", building.building_id, name="Harbour View Court")

    run, pw_made, _ = _run(pw, sf)

    assert run.steps.get(name="getPWBuildings").counts["buildings_read"] == 1
    assert pw_made["getAllPortfolios"] == 1  # the portfolios step's own call, not another
    current = DimBuilding.objects.get(building_id=building.building_id, is_current=True)
    assert (current.name, current.portfolio_id) == ("Harbour View Court", building.portfolio_id)


def test_a_changed_portfolio_or_vendor_listing_is_merged(synced):
    pw, sf = synced
    portfolio = DimPortfolio.objects.filter(is_current=True).order_by("portfolio_id")[0]
    vendor = DimVendor.objects.filter(is_current=True).order_by("vendor_id")[0]
    _edit_pw(pw, "portfolios", portfolio.portfolio_id, name="Harbour View Holdings")
    _edit_pw(pw, "vendors", vendor.vendor_id, name="Northside Plumbing Co")

    run, _, _ = _run(pw, sf)

    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWPortfolios"]["portfolios_read"] == len(pw.store.records("portfolios"))
    assert counts["getPWWorkOrders"]["vendors_read"] == len(pw.store.records("vendors"))
    assert DimPortfolio.objects.get(portfolio_id=portfolio.portfolio_id, is_current=True).name == (
        "Harbour View Holdings")
    assert DimVendor.objects.get(vendor_id=vendor.vendor_id, is_current=True).name == "Northside Plumbing Co"
    # The reply merged is now the one remembered: the next quiet run skips it again.
    run, _, _ = _run(pw, sf)
    assert run.steps.get(name="getPWPortfolios").counts == {"portfolios_unchanged": 1}


def test_a_full_run_merges_the_listings_whatever_their_digest(synced):
    pw, sf = synced

    run, _, _ = _run(pw, sf, full=True)

    counts = {s.name: s.counts for s in run.steps.filter(name__in=READS)}
    assert counts["getPWPortfolios"]["portfolios_read"] == len(pw.store.records("portfolios"))
    assert counts["getPWWorkOrders"]["vendors_read"] == len(pw.store.records("vendors"))


def test_work_orders_still_unmapped_are_held_again_by_each_run_unchanged(synced):
    pw, sf = synced
    unmapped = OutboxItem.objects.filter(
        kind=OutboxItem.Kind.JOB,
        state=OutboxItem.State.HELD,
        hold_reason__contains="no ServiceFusion customer",
    )
    before = {o.key: (o.hold_reason, o.payload, o.context) for o in unmapped}
    assert before

    run, _, _ = _run(pw, sf)

    assert {o.key: (o.hold_reason, o.payload, o.context) for o in unmapped.all()} == before
    # Each run says what it holds: the rows are this run's, in its counts and its summary.
    assert set(unmapped.values_list("run_id", flat=True)) == {run.pk}
    assert run.steps.get(name="pushWorkOrdersToSF").counts["held"] >= len(before)
    assert summarize(run)["held"][OutboxItem.Kind.JOB] >= len(before)


# --- reconciliation passes that would change nothing --------------------------------------------------------
def test_unit_and_tenant_reconciliation_skip_a_pass_when_nothing_they_depend_on_changed(synced):
    pw, sf = synced

    run, _, _ = _run(pw, sf)

    assert run.steps.get(name="syncUnitsToSF").counts == {"unchanged": 1}
    assert run.steps.get(name="pushLeaseTenantsToSF").counts == {"unchanged": 1}


def test_a_mapping_changed_by_hand_makes_the_next_pass_run_and_put_it_right(synced):
    pw, sf = synced
    mapping = UnitMapping.objects.filter(status="mapped").order_by("pw_unit_id")[0]
    UnitMapping.objects.filter(pk=mapping.pk).update(status="unmatched", location_nickname="")
    tenant = TenantMapping.objects.order_by("pk")[0]
    TenantMapping.objects.filter(pk=tenant.pk).update(sf_contact_name="Somebody Else")

    run, _, _ = _run(pw, sf)

    assert "units_mapped" in run.steps.get(name="syncUnitsToSF").counts
    assert run.steps.get(name="syncUnitsToSF").counts["unit_mappings_written"] == 1
    assert run.steps.get(name="pushLeaseTenantsToSF").counts["tenant_mappings_written"] == 1
    mapping.refresh_from_db()
    tenant.refresh_from_db()
    assert mapping.status == "mapped" and tenant.sf_contact_name != "Somebody Else"


def test_a_changed_unit_in_propertyware_makes_the_unit_pass_run(synced):
    pw, sf = synced
    unit = DimUnit.objects.filter(is_current=True, active=True).order_by("unit_id")[0]
    _edit_pw(pw, "units", unit.unit_id, name=f"{unit.name} (rear)")

    run, _, _ = _run(pw, sf)

    assert run.steps.get(name="getPWBuildings").counts["units_read"] == 1
    assert "units_mapped" in run.steps.get(name="syncUnitsToSF").counts


def test_a_full_run_reconciles_whatever_the_digest(synced):
    pw, sf = synced

    run, _, _ = _run(pw, sf, full=True)

    assert "units_mapped" in run.steps.get(name="syncUnitsToSF").counts
    assert "tenants_on_customer" in run.steps.get(name="pushLeaseTenantsToSF").counts
