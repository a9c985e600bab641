"""Dry run: every read runs and every write is planned (MOCK- ids, a report), but nothing reaches either
system; turning dry run off afterwards sends exactly what was planned."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from sync.engine.runner import run_sync
from sync.engine.summary import summarize
from sync.models import OutboxItem, SyncRun
from sync.policies.flags import read_flags
from tests.engine_support import live, pw_writes, sf_jobs_by_work_order, sf_posts
from warehouse.models import CustomerMapping, FactWorkOrder

pytestmark = pytest.mark.django_db


def test_dry_run_is_the_default_and_writes_nothing_to_either_system(sims):
    pw, sf = sims
    assert read_flags().dry_run is True  # production stays read-only until an operator says otherwise

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert sf_posts(sf) == 0 and pw_writes(pw) == 0
    assert not sf.store.jobs() and not sf.store.customers()
    # Reads ran and loaded the warehouse; the writes are planned rows with MOCK ids.
    assert FactWorkOrder.objects.filter(is_current=True).count() == len(pw.store.work_orders())
    planned = OutboxItem.objects.filter(run=run, state=OutboxItem.State.DRY_RUN)
    kinds = set(planned.values_list("kind", flat=True))
    assert {"portfolio_customer", "building_customer", "job"} <= kinds
    jobs = planned.filter(kind="job").exclude(result={})
    assert jobs.exists() and all(r.result["id"] == f"MOCK-{r.key}" for r in jobs)
    # A job planned under a customer the dry run planned names that customer's MOCK id.
    building_mocks = {r.result["id"] for r in planned.filter(kind="building_customer").exclude(result={})}
    assert {r.payload["customer_name"] for r in jobs} <= building_mocks
    assert not CustomerMapping.objects.filter(status="mapped").exists()
    assert not FactWorkOrder.objects.filter(sf_job_id__isnull=False).exists()
    report = summarize(run)
    assert report["dry_run"] is True
    assert report["planned_dry_run"]["job"] == jobs.count()
    assert {row["key"] for row in report["dry_run_report"]} <= set(planned.values_list("key", flat=True))


def test_the_command_forces_a_dry_run_and_reports_it_as_json(sims):
    pw, sf = sims
    live()  # writes are on, yet --dry-run wins for this run
    out = StringIO()

    call_command("sync", "--dry-run", "--json", stdout=out, stderr=StringIO())

    data = json.loads(out.getvalue())
    assert data["status"] == "succeeded" and data["dry_run"] is True
    assert data["planned_dry_run"]["job"] > 0 and not data["created"]
    assert {s["name"] for s in data["steps"]} >= {"getPWWorkOrders", "pushWorkOrdersToSF"}
    assert all(s["dry_run"] is True for s in data["steps"])
    assert data["api"]["pw"]["calls"] > 0 and data["api"]["sf"]["calls"] > 0
    assert sf_posts(sf) == 0 and pw_writes(pw) == 0


def test_turning_dry_run_off_sends_what_was_planned_once(sims):
    pw, sf = sims
    dry = run_sync(dry_run=True)
    planned = set(
        OutboxItem.objects.filter(run=dry, kind="job", state=OutboxItem.State.DRY_RUN)
        .exclude(result={})
        .values_list("key", flat=True)
    )
    live()

    real = run_sync()

    assert real.status == SyncRun.Status.SUCCEEDED
    sent = set(
        OutboxItem.objects.filter(kind="job", state=OutboxItem.State.SENT).values_list("key", flat=True)
    )
    assert sent == planned
    assert set(sf_jobs_by_work_order(sf).values()) == {1}
    assert (
        not OutboxItem.objects.filter(state=OutboxItem.State.DRY_RUN, kind="job").exclude(result={}).exists()
    )
