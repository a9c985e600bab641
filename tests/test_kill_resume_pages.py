"""Kill tests for paged pulls: ``manage.py sync`` is SIGKILLed in the middle of a pass, after some pages
committed with the stream's cursor. The next run takes the pass up at the page the cursor recorded, with
the interrupted pass's filter window, and loses nothing even when the source shifted its pages meanwhile;
a ``--full`` run starts again from page 1. Pages asked for are seen where the simulators answer them.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest

from tests.engine_support import simulators
from tests.kill_support import Child, kill_database_url, kill_when

pytestmark = pytest.mark.slow

PW_STEPS = "getPWPortfolios,getPWBuildings,getPWWorkOrders"


@contextmanager
def pw_pages(pw, entity: str, *, hang_on: int | None = None):
    """Record (page, lastModifiedOnOrAfter) of every ``entity`` page PropertyWare serves; with ``hang_on``,
    the request for that page (counted from here) sets the yielded event and waits until the block ends."""
    asked: list[tuple[int, object]] = []
    reached, release = threading.Event(), threading.Event()
    query = pw.store.query

    def recording(name, criteria, **kw):
        if name == entity and kw.get("page"):
            asked.append((kw["page"][0], (criteria or {}).get("lastModifiedOnOrAfter")))
            if hang_on is not None and len(asked) == hang_on:
                reached.set()  # pages before this one are committed; this one never reaches the sync
                release.wait(60)
        return query(name, criteria, **kw)

    pw.store.query = recording
    try:
        yield asked, reached
    finally:
        release.set()
        pw.store.query = query


@contextmanager
def sf_pages(sf, path: str, *, hang_on: int | None = None):
    """As ``pw_pages`` for a ServiceFusion list (``path``, say "/v1/jobs"): the ``page`` of each request."""
    asked: list[int] = []
    reached, release = threading.Event(), threading.Event()
    handle = sf.app.handle

    def recording(req):
        if req.method == "GET" and req.path == path:
            asked.append(int((req.query.get("page") or ["1"])[0]))
            if hang_on is not None and len(asked) == hang_on:
                reached.set()
                release.wait(60)
        return handle(req)

    sf.app.handle = recording
    try:
        yield asked, reached
    finally:
        release.set()
        sf.app.handle = handle


def _cursor(child: Child, workflow: str, entity: str) -> dict:
    return child.query(
        "from sync.models import Cursor\n"
        f"c = Cursor.objects.get(workflow='{workflow}', entity_type='{entity}')\n"
        "result = {'status': c.status, 'synced': c.last_sync_time, 'state': c.state}"
    )


def _work_orders(child: Child) -> dict:
    """Current fact_work_orders rows: id → description, and how many versions there are in all."""
    return child.query(
        "from warehouse.models import FactWorkOrder\n"
        "rows = FactWorkOrder.objects.filter(is_current=True)\n"
        "result = [dict(rows.values_list('work_order_id', 'description')), FactWorkOrder.objects.count()]"
    )


def test_a_pw_pull_killed_mid_pass_resumes_at_its_recorded_page_and_loses_nothing(tmp_path):
    with simulators(page_size=5) as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf, SYNC_BATCH_SIZE="5")
        child.prepare()
        child.run("sync", "--steps", PW_STEPS)
        for wo in pw.store.work_orders():  # every work order changed: the next pass reads 7 pages of 5
            pw.store.edit_work_order(wo["ID"], description=f"edited {wo['ID']}")
        ids = [wo["ID"] for wo in pw.store.work_orders()]
        assert len(ids) == 32

        with pw_pages(pw, "work_orders", hang_on=5) as (killed_asked, reached):
            proc = child.start("sync", "--steps", PW_STEPS)
            kill_when(reached, proc)
        cut = _cursor(child, "propertyware", "work_orders")
        assert cut["status"] == "running" and cut["state"]["page"] == 4  # pages 1-4 committed with it
        window = killed_asked[0][1]
        assert window is not None and [p for p, _ in killed_asked] == [1, 2, 3, 4, 5]

        # Meanwhile PW changes: a work order on page 1 is deleted, so every later one moves a place
        # earlier (the first of page 5 is now the last of page 4), and one on page 2 is edited again.
        pw.store.delete_work_order(ids[0])
        pw.store.edit_work_order(ids[7], description="edited after the kill")
        before = pw.request_counts().get("getWorkOrders", 0)

        with pw_pages(pw, "work_orders") as (asked, _):
            child.run("sync", "--steps", PW_STEPS)

        # The first read asks for the recorded page, in the interrupted pass's window, and reads on to
        # the end (31 left: pages 4-7, the last one short); nothing from before it is read again.
        assert asked[0] == (4, window)
        assert [p for p, _ in asked] == [4, 5, 6, 7]
        assert pw.request_counts()["getWorkOrders"] - before == len(asked)
        done = _cursor(child, "propertyware", "work_orders")
        assert done["status"] == "ok" and done["state"]["resumed"]["page"] == 4
        assert done["state"]["interrupted_at"]["read"] == 20
        # The cursor moves only to where the interrupted pass began, so the next pass sees what changed
        # since, even on a page this one did not read again.
        assert done["synced"] == cut["state"]["pass_started"].replace("T", " ")
        current, _ = _work_orders(child)
        assert {int(k) for k in current} == set(ids)
        assert all(current[str(i)] == f"edited {i}" for i in ids[1:] if i != ids[7])  # shifted one too

        child.run("sync", "--steps", PW_STEPS)
        current, versions = _work_orders(child)
        assert current[str(ids[7])] == "edited after the kill"
        assert versions == 32 + 32 + 1  # first load, the edits, the late edit: none merged twice


def test_an_sf_pull_killed_mid_pass_resumes_at_its_recorded_page_and_loses_nothing(tmp_path):
    with simulators() as (pw, sf):
        sf.store.seed_customer({"customer_name": "Resume Street"})
        for n in range(130):
            sf.store.seed_job({"customer_name": "Resume Street", "description": f"job {n}"})
        jobs = sorted(j["id"] for j in sf.store.jobs())
        assert len(jobs) >= 130
        child = Child(kill_database_url(tmp_path), pw, sf, SYNC_BATCH_SIZE="50")
        child.prepare()

        with sf_pages(sf, "/v1/jobs", hang_on=3) as (killed_asked, reached):
            proc = child.start("sync", "--steps", "getSFJobs")
            kill_when(reached, proc)
        cut = _cursor(child, "servicefusion", "jobs")
        assert killed_asked == [1, 2, 3]
        assert cut["status"] == "running" and cut["state"]["page"] == 2  # two pages of 50 committed
        assert cut["state"]["newest"] is not None
        stored = child.query(
            "from warehouse.models import FactJob\n"
            "result = list(FactJob.objects.values_list('job_id', flat=True))"
        )
        assert len(stored) == 100

        # Meanwhile a job already read changes: it moves to the front of the newest-first listing, which
        # pushes the rest later (nothing skipped); the cursor (the newest stamp seen) brings it next pass.
        moved = stored[0]
        sf.store.set_job_status(moved, "Completed")
        before = sf.request_counts().get("GET /v1/jobs", 0)

        with sf_pages(sf, "/v1/jobs") as (asked, _):
            child.run("sync", "--steps", "getSFJobs")

        assert asked[0] == 2 and asked == [2, 3]  # the recorded page first, then on to the last one
        assert sf.request_counts()["GET /v1/jobs"] - before == len(asked)
        done = _cursor(child, "servicefusion", "jobs")
        assert done["status"] == "ok" and done["state"]["resumed"]["page"] == 2
        script = (
            "from warehouse.models import FactJob\n"
            "rows = FactJob.objects.filter(is_current=True)\n"
            "result = [sorted(rows.values_list('job_id', flat=True)), FactJob.objects.count()]"
        )
        current, versions = child.query(script)
        assert current == jobs and versions == len(jobs)  # every job, each once

        child.run("sync", "--steps", "getSFJobs")
        status = child.query(
            "from warehouse.models import FactJob\n"
            f"result = FactJob.objects.get(job_id={moved}, is_current=True).status"
        )
        assert status == "Completed"


def test_a_full_run_after_a_killed_pass_starts_from_page_one(tmp_path):
    with simulators(page_size=5) as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf, SYNC_BATCH_SIZE="5")
        child.prepare()
        with pw_pages(pw, "work_orders", hang_on=4) as (_, reached):
            proc = child.start("sync", "--steps", PW_STEPS)
            kill_when(reached, proc)
        assert _cursor(child, "propertyware", "work_orders")["state"]["page"] == 3

        with pw_pages(pw, "work_orders") as (asked, _):
            child.run("sync", "--full", "--steps", PW_STEPS)

        assert [p for p, _ in asked] == [1, 2, 3, 4, 5, 6, 7]  # afresh: every page, no filter
        assert all(since is None for _, since in asked)
        done = _cursor(child, "propertyware", "work_orders")
        assert done["status"] == "ok" and "resumed" not in done["state"]
        current, versions = _work_orders(child)
        assert {int(k) for k in current} == {wo["ID"] for wo in pw.store.work_orders()}
        assert versions == 32
