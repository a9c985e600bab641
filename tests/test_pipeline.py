"""The step graph and the runner: names and order from the rules, reads before pushes, a failed step stops
only what depends on it, independent reads run in parallel (PostgreSQL), one run at a time (R1, R4, R5)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from sync.clients.propertyware.throttle import shared_throttle
from sync.engine import pipeline
from sync.engine.clients import build_client
from sync.engine.locks import sync_lock
from sync.engine.runner import run_sync
from sync.models import StepRun, SyncRun
from tests.engine_support import live, point_settings, simulators

RULE_ORDER = [
    "getPWPortfolios",
    "getPWBuildings",
    "getPWWorkOrders",
    "getPWLeases",
    "getSFCustomers",
    "getSFJobs",
    "getSFInvoices",
    "pushPortfoliosToSF",
    "syncUnitsToSF",
    "pushLeaseTenantsToSF",
    "pushWorkOrdersToSF",
    "pushJobUpdatesToPW",
]


def test_the_graph_has_the_rules_steps_reads_first_then_pushes_in_the_fixed_order():
    assert list(pipeline.STEP_NAMES) == RULE_ORDER
    kinds = [s.kind for s in pipeline.STEPS]
    assert kinds == sorted(kinds, key=lambda k: k != pipeline.READ)
    after = {s.name: set(s.after) for s in pipeline.STEPS}
    assert after["pushWorkOrdersToSF"] >= {
        "getPWWorkOrders",
        "getSFJobs",
        "pushPortfoliosToSF",
        "syncUnitsToSF",
        "pushLeaseTenantsToSF",
    }
    assert after["pushJobUpdatesToPW"] == {"getSFJobs", "pushWorkOrdersToSF"}


def test_unknown_step_names_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="getPWPortfolios"):
        pipeline.select(["getPWPortfolio"])
    assert [s.name for s in pipeline.select(["pushjobupdatestopw", "getSFJobs"])] == [
        "getSFJobs",
        "pushJobUpdatesToPW",
    ]


def _execute(fail: set[str], *, parallel: bool):
    ran, blocked, lock = [], {}, threading.Lock()

    def run_step(step):
        with lock:
            ran.append(step.name)
        return step.name not in fail

    outcome = pipeline.execute(
        list(pipeline.STEPS),
        run_step,
        parallel=parallel,
        on_blocked=lambda step, why: blocked.__setitem__(step.name, why),
    )
    return ran, blocked, outcome


@pytest.mark.parametrize("parallel", [False, True])
def test_a_failed_step_stops_only_what_depends_on_it(parallel):
    ran, blocked, outcome = _execute({"getPWBuildings"}, parallel=parallel)

    assert outcome["getPWBuildings"] == "failed"
    assert set(blocked) == {
        "getPWWorkOrders",
        "getSFInvoices",
        "pushPortfoliosToSF",
        "syncUnitsToSF",
        "pushLeaseTenantsToSF",
        "pushWorkOrdersToSF",
        "pushJobUpdatesToPW",
    }
    assert blocked["getPWWorkOrders"] == ["getPWBuildings"]
    assert {"getPWPortfolios", "getPWLeases", "getSFCustomers", "getSFJobs"} <= set(ran)
    assert not set(blocked) & set(ran)


def test_reads_all_finish_before_the_first_push_and_pushes_keep_their_order():
    ran, blocked, _ = _execute(set(), parallel=True)

    pushes = [n for n in ran if pipeline.get_step(n).kind == pipeline.PUSH]
    assert pushes == RULE_ORDER[7:]
    assert ran.index(pushes[0]) == 7 and not blocked


def test_independent_reads_overlap_in_time():
    active, peak, lock = [0], [0], threading.Lock()

    def run_step(step):
        if step.kind == pipeline.READ:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1
        return True

    pipeline.execute(list(pipeline.STEPS), run_step, on_blocked=lambda *a: None, parallel=True)
    assert peak[0] >= 3  # portfolios, leases, SF customers and SF jobs have no dependencies


@pytest.mark.django_db(transaction=True)
def test_a_run_refuses_to_start_while_another_holds_the_lock():
    held, release = threading.Event(), threading.Event()

    def other_run():  # another worker's run, holding the lock in its own thread and connection
        try:
            with sync_lock():
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=other_run)
    holder.start()
    try:
        assert held.wait(30)
        run = run_sync(steps=["getPWPortfolios"])
    finally:
        release.set()
        holder.join(30)
    assert run.status == SyncRun.Status.REFUSED
    assert "held" in run.error_summary and not run.steps.exists()


@pytest.mark.django_db(transaction=True)
def test_a_whole_run_with_parallel_reads_on_their_own_connections(settings):
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        settings.SYNC = {**settings.SYNC, "READ_WORKERS": 4}
        live()
        seen: list[str] = []

        run = run_sync(progress=lambda e: seen.append(e["event"]))

        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        steps = {s.name: s for s in run.steps.all()}
        assert all(s.status == StepRun.Status.SUCCEEDED for s in steps.values())
        assert seen[0] == "run_started" and seen[-1] == "run_finished"
        assert seen.count("step_started") == len(RULE_ORDER)
        reads = [steps[n] for n in RULE_ORDER[:7]]
        pushes = [steps[n] for n in RULE_ORDER[7:]]
        assert max(r.finished_at for r in reads) <= min(p.started_at for p in pushes)
        if connection.vendor == "postgresql":  # SQLite runs reads one by one
            first_wave = [steps[n] for n in ("getPWPortfolios", "getPWLeases", "getSFCustomers", "getSFJobs")]
            assert any(
                a.started_at < b.finished_at and b.started_at < a.finished_at
                for a in first_wave
                for b in first_wave
                if a is not b
            )
        assert run.api_calls["pw"]["calls"] > 0 and run.api_calls["sf"]["calls"] > 0
        assert not run.errors.exists()
        # Each step builds its own client; they share one token (SF's rate limit is per token).
        assert sf.request_counts()["POST /oauth/access_token"] == 1


def test_reads_that_other_reads_wait_on_are_the_most_urgent():
    urgency = {s.name: pipeline.urgency(s.name) for s in pipeline.STEPS}
    # portfolios → buildings → work orders → invoices; nothing waits on leases, customers or the pushes
    assert urgency["getPWPortfolios"] == 3 and urgency["getPWBuildings"] == 2
    assert urgency["getPWWorkOrders"] == urgency["getSFJobs"] == 1
    assert urgency["getPWLeases"] == urgency["getSFInvoices"] == urgency["pushWorkOrdersToSF"] == 0
    # Only the steps that call PropertyWare take its slots: the SF reads never hold them back.
    pw_callers = {s.name for s in pipeline.STEPS if s.calls_propertyware}
    assert {"getPWPortfolios", "getPWBuildings", "getPWWorkOrders", "getPWLeases"} <= pw_callers
    assert not pw_callers & {"getSFCustomers", "getSFJobs", "getSFInvoices"}


@pytest.mark.django_db(transaction=True)
def test_under_the_pw_cap_the_leases_wait_for_the_chain_the_invoices_wait_on(settings):
    # (SQLite runs the reads one by one in the graph's order, where the leases come after the work orders
    # anyway; on PostgreSQL they run in parallel and the throttle orders their calls.)
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        settings.PROPERTYWARE = {**settings.PROPERTYWARE, "MAX_RPS": 4.0}
        settings.SYNC = {**settings.SYNC, "READ_WORKERS": 4}
        live()

        run = run_sync(steps=[s.name for s in pipeline.STEPS if s.kind == pipeline.READ])

        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        calls = pw.recent_calls()
        before_leases = set(calls[: calls.index("getLeases")])
        chain = {"getAllPortfolios", "getBuildings", "getUnits", "getVendors", "getWorkOrders"}
        assert before_leases >= chain


@pytest.mark.django_db
def test_each_step_builds_its_pw_client_at_its_urgency_and_frees_the_throttle_when_it_ends(sims, settings):
    pw, sf = sims
    settings.PROPERTYWARE = {**settings.PROPERTYWARE, "MAX_RPS": 4.0}
    live()
    built: list = []

    def factory(system: str, *, urgency: int = 0):
        client = build_client(system, urgency=urgency)
        built.append((system, client))
        return client

    run = run_sync(steps=["getPWPortfolios", "getPWBuildings", "getSFJobs"], client_factory=factory)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert sorted(c.urgency for system, c in built if system == "pw") == [2, 3]
    assert [system for system, _ in built].count("sf") == 1  # getSFJobs builds no PW client
    # The steps ended, so their clients no longer hold slots back: a caller of no urgency goes at once.
    throttle = shared_throttle((pw.url, pw.username), 4.0)
    time.sleep(0.3)  # past the slot after the run's last call
    assert throttle.wait() < 0.05


@pytest.mark.django_db
def test_a_step_failing_on_the_network_is_run_again(sims):
    pw, sf = sims
    live()
    pw.faults.configure(
        operation="getAllPortfolios", maintenance=1.0, times=3
    )  # more than the client retries

    run = run_sync(steps=["getPWPortfolios"])

    step = run.steps.get()
    assert step.status == StepRun.Status.SUCCEEDED and step.counts["step_retries"] == 1
    assert step.counts["portfolios_read"] == len(pw.store.records("portfolios"))
    assert run.errors.filter(recovery_action__startswith="step run again").count() == 1


@pytest.mark.django_db
def test_a_failed_read_skips_its_dependants_and_the_rest_of_the_run_goes_on(sims):
    pw, sf = sims
    live()
    pw.faults.configure(operation="getAllPortfolios", fault=1.0)  # a SOAP fault: not worth repeating

    run = run_sync()

    steps = {s.name: s for s in run.steps.all()}
    assert run.status == SyncRun.Status.FAILED and "getPWPortfolios" in run.error_summary
    assert steps["getPWPortfolios"].status == StepRun.Status.FAILED
    assert "step_retries" not in steps["getPWPortfolios"].counts
    for name in ("getPWBuildings", "getPWWorkOrders", "pushPortfoliosToSF", "pushWorkOrdersToSF"):
        assert steps[name].status == StepRun.Status.SKIPPED and "did not succeed" in steps[name].message
    for name in ("getPWLeases", "getSFCustomers", "getSFJobs"):
        assert steps[name].status == StepRun.Status.SUCCEEDED
    assert not sf.store.customers() and not sf.store.jobs()


@pytest.mark.django_db(transaction=True)
def test_a_finished_read_keeps_its_place_in_the_throttle_until_the_read_waiting_on_it_has_joined(settings):
    """Between getPWPortfolios' end and getPWBuildings' start no urgent caller would hold PropertyWare's
    throttle, and a less urgent read running in parallel would take the free slots: the finished step
    hands its place over instead of leaving first."""
    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        settings.PROPERTYWARE = {**settings.PROPERTYWARE, "MAX_RPS": 4.0}
        live()
        throttle = shared_throttle((pw.url, pw.username), 4.0)
        joined_when_buildings_started: list[dict] = []

        def factory(system: str, *, urgency: int = 0):
            if system == "pw" and urgency == pipeline.urgency("getPWBuildings"):
                joined_when_buildings_started.append(dict(throttle._joined))
            return build_client(system, urgency=urgency)

        run = run_sync(steps=["getPWPortfolios", "getPWBuildings"], client_factory=factory)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        (joined,) = joined_when_buildings_started
        assert joined.get(pipeline.urgency("getPWPortfolios"), 0) == 1  # portfolios' client still joined
        assert not throttle._joined  # and every place is given back once the run is over
