"""Kill tests: ``manage.py sync`` runs as a child process against the simulators running here, is killed
with SIGKILL at the worst moment, and the next run repairs everything without writing anything twice.

- The sender is killed after ServiceFusion committed a job POST but before the answer reached it: the
  re-run finds the job by its check number and creates no second one.
- A pull is killed between two committed batches: the re-run loses nothing and duplicates nothing.
"""

from __future__ import annotations

import threading

import pytest

from tests.engine_support import sf_jobs_by_work_order, simulators
from tests.kill_support import Child, kill_database_url, kill_when

pytestmark = pytest.mark.slow


def test_a_sender_killed_after_the_job_post_committed_creates_no_second_job(tmp_path):
    with simulators() as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf)
        child.prepare()
        committed, release = threading.Event(), threading.Event()
        create_job = sf.store.create_job

        def commit_then_hang(body, kind="jobs"):
            record = create_job(body, kind)
            if kind == "jobs" and not committed.is_set():
                committed.set()  # SF has the job; its answer waits until the sender is dead
                release.wait(60)
            return record

        sf.store.create_job = commit_then_hang
        proc = child.start("sync")
        try:
            kill_when(committed, proc)
        finally:
            release.set()
            sf.store.create_job = create_job
        first = sf.store.jobs()
        assert len(first) == 1
        killed_ref = first[0]["check_number"]
        stuck = child.query(
            "from sync.models import OutboxItem\n"
            f"r = OutboxItem.objects.get(key='job:{killed_ref}')\n"
            "result = [r.state, r.ambiguous, r.attempts]"
        )
        assert stuck == ["sending", True, 1]

        child.run("sync")

        per_wo = sf_jobs_by_work_order(sf)
        assert per_wo[int(killed_ref[3:])] == 1
        assert set(per_wo.values()) == {1}
        row = child.query(
            "from sync.models import OutboxItem\n"
            "from warehouse.models import FactWorkOrder\n"
            f"r = OutboxItem.objects.get(key='job:{killed_ref}')\n"
            f"wo = FactWorkOrder.objects.get(work_order_id={killed_ref[3:]}, is_current=True)\n"
            "result = [r.state, r.result, wo.sf_job_id]"
        )
        assert row[0] == "sent" and row[1]["recovered"] is True
        assert row[1]["id"] == first[0]["id"] == row[2]
        fields = {
            c["fieldName"]: c["value"] for c in pw.store.get_work_order(int(killed_ref[3:]))["customFields"]
        }
        assert fields["sfJobId"] == str(first[0]["id"])  # and PropertyWare learnt the job id


def test_a_pull_killed_between_batches_loses_nothing_and_duplicates_nothing(tmp_path):
    with simulators(page_size=10) as (pw, sf):
        child = Child(kill_database_url(tmp_path), pw, sf, SYNC_BATCH_SIZE="10")
        child.prepare()
        reached, release = threading.Event(), threading.Event()
        count = pw.count
        calls = {"getWorkOrders": 0}

        def count_then_hang(operation):
            count(operation)
            if operation == "getWorkOrders":
                calls["getWorkOrders"] += 1
                if calls["getWorkOrders"] == 3:  # two batches of ten are committed by now
                    reached.set()
                    release.wait(60)

        pw.count = count_then_hang
        steps = "getPWPortfolios,getPWBuildings,getPWWorkOrders"
        proc = child.start("sync", "--steps", steps)
        try:
            kill_when(reached, proc)
        finally:
            release.set()
            pw.count = count
        script = (
            "from sync.models import Cursor\n"
            "from warehouse.models import FactWorkOrder\n"
            "c = Cursor.objects.get(workflow='propertyware', entity_type='work_orders')\n"
            "rows = list(FactWorkOrder.objects.values_list('work_order_id', 'is_current'))\n"
            "result = [c.status, c.last_sync_time, rows, c.state]"
        )
        status, synced, rows, _ = child.query(script)
        assert status == "running" and synced is None  # the pass was cut short: the cursor did not move
        assert len(rows) == 20 and len({wo for wo, _ in rows}) == 20

        child.run("sync", "--steps", steps)

        status, synced, rows, state = child.query(script)
        assert state["interrupted_at"]["read"] == 20  # what the killed pass had committed, for staff
        expected = {w["ID"] for w in pw.store.work_orders()}
        assert status == "ok" and synced is not None
        assert sorted(wo for wo, _ in rows) == sorted(expected)  # every one, once: one version each
        assert all(current for _, current in rows)
