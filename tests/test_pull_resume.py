"""A pull whose pass stops part-way (here a page the source cannot serve for a whole run) is resumed by the
next run at the page its cursor recorded, for every paged stream (both simulators over real HTTP, the real
database); the kill tests do the same with SIGKILL."""

from __future__ import annotations

import contextlib

import pytest

from sync.engine.runner import run_sync
from sync.models import Cursor, SyncRun
from sync.simulators.propertyware.faults import SoapFault
from sync.simulators.servicefusion.responses import ApiError
from tests.engine_support import point_settings, simulators
from warehouse.models import DimBuilding, DimUnit, FactLease, FactTransaction

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def pw_page_down(pw, entity: str, page: int):
    """PropertyWare faults on ``page`` of ``entity`` until the block ends; yields the pages asked for."""
    asked: list[int] = []
    query = pw.store.query

    def failing(name, criteria, **kw):
        if name == entity and kw.get("page"):
            asked.append(kw["page"][0])
            if kw["page"][0] == page:
                raise SoapFault("page unavailable")
        return query(name, criteria, **kw)

    pw.store.query = failing
    try:
        yield asked
    finally:
        pw.store.query = query


def _pass(workflow: str, entity: str) -> Cursor:
    return Cursor.objects.get(workflow=workflow, entity_type=entity)


@pytest.mark.parametrize(
    ("entity", "step", "model"),
    [
        ("buildings", "getPWBuildings", DimBuilding),
        ("units", "getPWBuildings", DimUnit),
        ("leases", "getPWLeases", FactLease),
    ],
)
def test_a_pw_pass_cut_short_resumes_at_the_page_it_committed(settings, entity, step, model):
    with simulators(page_size=2) as (pw, sf):
        point_settings(settings, pw, sf)
        settings.SYNC = {**settings.SYNC, "BATCH_SIZE": 2, "STEP_ATTEMPTS": 1}
        steps = list(dict.fromkeys(["getPWPortfolios", "getPWBuildings", step]))
        with pw_page_down(pw, entity, 3):
            failed = run_sync(steps=steps)
        assert failed.status != SyncRun.Status.SUCCEEDED
        cut = _pass("propertyware", entity)
        assert cut.status == "running" and cut.state["page"] == 2

        with pw_page_down(pw, entity, 0) as asked:
            run = run_sync(steps=steps)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        assert asked[0] == 2  # the recorded page first; pages 1 and 2 of a fresh pass would be [1, 2, ...]
        done = _pass("propertyware", entity)
        assert done.status == "ok" and done.state["resumed"]["page"] == 2
        key = {"buildings": "building_id", "units": "unit_id", "leases": "lease_id"}[entity]
        stored = set(model.objects.filter(is_current=True).values_list(key, flat=True))
        records = pw.store.records(entity)
        if entity == "leases":  # only active leases are loaded
            records = [r for r in records if r.get("active") or r.get("status", "").startswith("Active")]
        assert stored == {r["ID"] for r in records}


def test_an_sf_invoice_pass_cut_short_resumes_at_the_page_it_committed(settings):
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        settings.SYNC = {**settings.SYNC, "BATCH_SIZE": 50, "STEP_ATTEMPTS": 1}
        sf.store.seed_customer({"customer_name": "Invoiced"})
        job = sf.store.seed_job({"customer_name": "Invoiced"})
        invoices = {sf.store.add_invoice(job, n + 1) for n in range(120)}
        asked: list[int] = []
        handle, down = sf.app.handle, [True]

        def failing(req):
            if req.method == "GET" and req.path == "/v1/invoices":
                asked.append(int((req.query.get("page") or ["1"])[0]))
                if asked[-1] == 3 and down[0]:
                    return ApiError(400, "page unavailable").response(), "json"
            return handle(req)

        sf.app.handle = failing
        try:
            failed = run_sync(steps=["getSFInvoices"])
            assert failed.status != SyncRun.Status.SUCCEEDED
            cut = _pass("servicefusion", "invoices")
            assert cut.status == "running" and cut.state["page"] == 2  # a batch of 50 is a page
            down[0], asked[:] = False, []
            run = run_sync(steps=["getSFInvoices"])
        finally:
            sf.app.handle = handle

        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        assert asked == [2, 3]
        assert set(FactTransaction.objects.values_list("invoice_id", flat=True)) == invoices
