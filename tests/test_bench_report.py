"""The benchmark's bookkeeping: which run wrote what (from simulator snapshots), which SF job belongs to
which work order, and the verdicts printed against the targets."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.benchmarks.floor import Limits, Needed, Phase, floor
from sync.benchmarks.invariants import jobs_by_work_order, work_order_of
from sync.benchmarks.report import RunFigures, format_table
from sync.benchmarks.scenarios import Snapshot, work_between

T0 = datetime(2025, 8, 20, 12, 0, tzinfo=UTC)


def snapshot(at, *, wos=None, customers=None, jobs=None, modified=None, invoices=None) -> Snapshot:
    counts = {"portfolios": 3, "buildings": 5, "units": 9, "leases": 4, "vendors": 2,
              "work_orders": len(wos or {})}
    return Snapshot(pw_counts=counts, pw_modified=modified or {s: [] for s in counts},
                    pw_work_orders=wos or {}, sf_customers=customers or {}, sf_jobs=jobs or {},
                    taken_at=at, sf_taken_at=at, sf_invoices=invoices or {})


def test_first_run_reads_everything_and_counts_new_records():
    before = snapshot(T0, wos={1: {"status": "Open"}, 2: {"status": "Open"}},
                      invoices={30: {"updated_at": T0 - timedelta(days=5)}})
    after = snapshot(T0 + timedelta(minutes=5),
                     wos={1: {"status": "Open", "customFields": "job 7"}, 2: {"status": "Open"}},
                     customers={10: {"parent_customer_id": None}, 11: {"parent_customer_id": 10}},
                     jobs={7: {"check_number": "WO-1"}})
    work = work_between(before, after, previous=None, pw_page_size=10)
    assert work.pw_rows_read == {"portfolios": 3, "buildings": 5, "units": 9, "leases": 4, "vendors": 2,
                                 "work_orders": 2}
    assert (work.sf_customers_created, work.sf_customer_levels, work.sf_jobs_created) == (2, 2, 1)
    assert work.pw_work_orders_written == 1 and work.sf_lookups == 3
    assert work.sf_rows_read == {"customers": 0, "jobs": 0, "invoices": 1}


def test_incremental_run_reads_only_what_changed_since_the_previous_run():
    previous = snapshot(T0)
    modified = {"portfolios": [T0 - timedelta(days=9)], "buildings": [T0 - timedelta(days=3)],
                "units": [], "leases": [T0 + timedelta(minutes=1)], "vendors": [],
                "work_orders": [T0 + timedelta(minutes=2), T0 - timedelta(days=1)]}
    jobs = {7: {"updated_at": (T0 + timedelta(minutes=3)).isoformat()},
            8: {"updated_at": T0 - timedelta(days=2)}}
    invoices = {30: {"updated_at": T0 + timedelta(minutes=4)}, 31: {"updated_at": T0 - timedelta(days=1)}}
    before = snapshot(T0 + timedelta(minutes=30), modified=modified, jobs=jobs, invoices=invoices,
                      wos={1: {"status": "Open"}, 2: {"status": "Open"}})
    work = work_between(before, before, previous=previous, pw_page_size=10)
    # portfolios and vendors cannot be filtered by lastModified, so all of them are read
    assert work.pw_rows_read == {"portfolios": 3, "buildings": 0, "units": 0, "leases": 1, "vendors": 2,
                                 "work_orders": 1}
    # customers: the listing is cached for an hour, so a later run needs no page of it; invoices: only
    # the invoices changed since the previous run, read newest first
    assert work.sf_rows_read == {"jobs": 1, "invoices": 1}
    assert work.sf_lookups == 0 and work.sf_customers_created == 0 and work.pw_work_orders_written == 0


def test_jobs_are_matched_to_work_orders_by_check_number_then_custom_field():
    jobs = [{"id": 1, "check_number": "WO-42"},
            {"id": 2, "check_number": "", "custom_fields": [{"name": "propertyWareId", "value": "43"}]},
            {"id": 3, "check_number": "WO-42"},
            {"id": 4, "check_number": "INSP-9"}]
    assert work_order_of(jobs[0]) == 42 and work_order_of(jobs[1]) == 43 and work_order_of(jobs[3]) is None
    assert jobs_by_work_order(jobs) == {42: [1, 3], 43: [2]}


def figures(scenario="initial", dataset="demo", wall=100.0, sf=905, rss=80.0, code=0, scale=1.0):
    needed = Needed(reads=Phase(sf_requests=6, sf_chain=3), writes=Phase(sf_requests=150, sf_chain=3))
    return RunFigures(dataset=dataset, scenario=scenario, wall_s=wall, made={"pw": 40, "sf": sf},
                      needed=needed, floor=floor(needed, Limits()), peak_rss_mb=rss, exit_code=code,
                      time_scale=scale)


def test_verdicts_name_each_missed_target():
    assert figures(wall=95.0).verdicts() == []  # floor: 0.45 s of reads + 95.55 s of paced writes
    assert figures(wall=200.0).verdicts() == ["wall/floor 2.08 > 1.15"]
    assert "noop made 9 SF requests > 5" in figures(scenario="noop", sf=9, wall=1).verdicts()
    assert "peak RSS 180 MB > 150" in figures(dataset="large", rss=180, wall=95).verdicts()
    assert "sync exited 1" in figures(code=1, wall=95).verdicts()


def test_table_lists_each_run_and_compares_incremental_times():
    table = format_table([figures(scenario="incremental", dataset="demo", wall=9.5, scale=10),
                          figures(scenario="incremental", dataset="large", wall=9.9, scale=10)])
    assert "wall/fl" in table.splitlines()[0]
    assert "incremental wall time by dataset size: demo: 9.5 s, large: 9.9 s" in table
    assert "scale 10" in table
