"""A malformed record from either API, served over real HTTP by the simulators, becomes an error_logs row
with its excerpt: the good records land, the bad one is skipped, and the next run reads it again."""

from __future__ import annotations

import pytest

from sync.engine.cursors import get_cursor
from sync.engine.runner import run_sync
from sync.models import SyncError, SyncRun
from sync.simulators.propertyware import encoding
from sync.simulators.servicefusion import listing, views
from tests.engine_support import live
from tests.sf_support import seed_building, seed_jobs
from warehouse.models import FactJob, FactWorkOrder

pytestmark = pytest.mark.django_db


def _ok(steps):
    run = run_sync(steps=steps)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run


@pytest.fixture
def corrupt_sf(monkeypatch):
    """The SF simulator's listings serve the job ``target["id"]`` as ``target["as"]`` of its view (after
    filtering, sorting and paging, so that only what goes out on the wire changes)."""
    target: dict = {}
    paginate, job = listing.paginate, views.job

    def paged(rows, q):
        page, meta = paginate(rows, q)
        marked = [{**r, "_rec": {**r["_rec"], "_corrupt": True}} if target and r["id"] == target["id"] else r
                  for r in page]
        return marked, meta

    def rendered(store, rec, *args, **kwargs):
        out = job(store, rec, *args, **kwargs)
        return target["as"](out) if rec.get("_corrupt") else out

    monkeypatch.setattr(listing, "paginate", paged)
    monkeypatch.setattr(views, "job", rendered)
    return target


def test_a_job_with_a_bad_id_is_logged_skipped_and_read_again(sims, corrupt_sf):
    _, sf = sims
    live()
    _, child = seed_building(sf)
    good, bad = seed_jobs(sf, child, 3), seed_jobs(sf, child, 1, prefix="BAD-")[0]
    view = sf.store.job_view(bad)
    corrupt_sf.update(id=bad, **{"as": lambda v: {**v, "id": "J-12x"}})

    run = _ok(["getSFJobs"])

    landed = set(FactJob.objects.values_list("job_id", flat=True))
    assert set(good) <= landed and bad not in landed and 0 not in landed
    error = SyncError.objects.get(run=run)
    assert '{"id":"J-12x","number"' in error.error and error.record_key == "J-12x"
    assert error.system == "servicefusion"
    cursor = get_cursor("servicefusion", "jobs")
    assert cursor.last_sync_time is not None
    assert cursor.last_sync_time.isoformat() <= view["updated_at"].replace("Z", "+00:00")

    corrupt_sf.clear()  # fixed at the source: the next run reads it again, though it did not change
    _ok(["getSFJobs"])
    assert FactJob.objects.filter(job_id=bad).exists()


def test_list_items_that_are_not_objects_are_refused_one_by_one(sims, corrupt_sf):
    _, sf = sims
    live()
    _, child = seed_building(sf)
    good, bad = seed_jobs(sf, child, 2), seed_jobs(sf, child, 1, prefix="BAD-")[0]
    corrupt_sf.update(id=bad, **{"as": lambda v: ["not", "an", "object"]})

    run = _ok(["getSFJobs"])

    assert set(FactJob.objects.values_list("job_id", flat=True)) == set(good)
    assert '["not","an","object"]' in SyncError.objects.get(run=run).error
    assert get_cursor("servicefusion", "jobs").last_sync_time is None  # its time unknown: held


@pytest.fixture
def corrupt_pw(monkeypatch):
    """The PW simulator writes one record's ``field`` as ``text`` (set ``target``), over real HTTP."""
    target: dict = {}
    fill = encoding._Encoder.fill

    def corrupted(self, el, record, type_ref):
        fill(self, el, record, type_ref)
        if target and record.get("ID") == target["ID"]:
            for child in el:
                if child.tag == target["field"]:
                    child.text = target["text"]

    monkeypatch.setattr(encoding._Encoder, "fill", corrupted)
    return target


@pytest.mark.parametrize(("field", "text"), [("ID", "12x"), ("approved", "maybe")])
def test_a_work_order_pw_sends_malformed_is_logged_skipped_and_read_again(sims, corrupt_pw, field, text):
    pw, _ = sims
    live()
    ids = [w["ID"] for w in pw.store.work_orders()]
    bad = ids[1]
    corrupt_pw.update(ID=bad, field=field, text=text)

    run = _ok(["getPWPortfolios", "getPWBuildings", "getPWWorkOrders"])

    landed = set(FactWorkOrder.objects.values_list("work_order_id", flat=True))
    assert landed == set(ids) - {bad}
    error = SyncError.objects.get(run=run)
    assert text in error.error and error.system == "propertyware" and field in error.error
    assert get_cursor("propertyware", "work_orders").last_sync_time is None  # held: nothing to go back to

    corrupt_pw.clear()
    _ok(["getPWWorkOrders"])
    assert bad in set(FactWorkOrder.objects.values_list("work_order_id", flat=True))
