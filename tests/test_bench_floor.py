"""The benchmark's floor arithmetic: rate-limit allowance, latency chains, phases, time scaling and the
fewest requests the APIs allow."""
from __future__ import annotations

import pytest

from sync.benchmarks.floor import Limits, Needed, Phase, Work, allowance_wait, floor, needed_requests, pages


def test_allowance_covers_the_first_sixty_requests():
    assert allowance_wait(60, 60, 1.0) == 0
    assert allowance_wait(61, 60, 1.0) == 1
    assert allowance_wait(900, 60, 1.0) == 840


def test_writes_beyond_the_allowance_are_paced_at_one_per_second():
    needed = Needed(writes=Phase(sf_requests=900, sf_chain=3))
    result = floor(needed, Limits())
    assert result.seconds == pytest.approx(840)
    assert result.binding == "writes: sf allowance"


def test_reads_refill_the_allowance_they_spend():
    # 30 SF reads during a 100 s PW read phase (300 pages × 0.3 s, one chain) leave a full allowance
    needed = Needed(reads=Phase(pw_requests=300, pw_chain=300, sf_requests=30, sf_chain=10),
                    writes=Phase(sf_requests=100, sf_chain=3))
    result = floor(needed, Limits())
    reads, writes = result.phases
    assert (reads.seconds, reads.binding) == (pytest.approx(90.0), "pw latency")
    assert writes.seconds == pytest.approx(40.0)  # 100 - 60 allowance


def test_allowance_spent_by_reads_is_carried_into_the_writes():
    # 50 quick SF reads (0.75 s chain) leave ~10.75 of 60; 20 writes then wait ~9.25 s
    needed = Needed(reads=Phase(sf_requests=50, sf_chain=5), writes=Phase(sf_requests=20, sf_chain=2))
    reads, writes = floor(needed, Limits()).phases
    assert reads.seconds == pytest.approx(0.75)
    assert writes.seconds == pytest.approx(20 - (10 + 0.75))


def test_pw_cap_binds_when_it_is_the_slowest():
    needed = Needed(reads=Phase(pw_requests=1000, pw_chain=100))
    (reads, _) = floor(needed, Limits(pw_max_rps=2.0)).phases
    assert (reads.seconds, reads.binding) == (500.0, "pw cap")
    (reads, _) = floor(needed, Limits(pw_max_rps=0)).phases
    assert (reads.seconds, reads.binding) == (pytest.approx(30.0), "pw latency")


def test_time_scaling_divides_every_duration():
    needed = Needed(reads=Phase(pw_requests=400, pw_chain=100, sf_requests=5, sf_chain=2),
                    writes=Phase(sf_requests=700, sf_chain=3, pw_requests=50, pw_chain=2))
    real = floor(needed, Limits(pw_max_rps=2.0))
    fast = floor(needed, Limits(pw_max_rps=2.0).scaled(10))
    assert fast.seconds == pytest.approx(real.seconds / 10)
    assert Limits().scaled(10).sf_rate == pytest.approx(10.0)  # 600 requests a minute
    with pytest.raises(ValueError):
        Limits().scaled(0)


def test_pages_count_the_empty_page_after_a_full_one():
    assert pages(0, 10) == 1
    assert pages(9, 10) == 1
    assert pages(10, 10) == 2  # a full page is followed by an empty one
    assert pages(228, 10) == 23
    assert pages(0, 50, short_last_page_stops=False) == 1
    assert pages(100, 50, short_last_page_stops=False) == 2
    with pytest.raises(ValueError):
        pages(1, 0)


def test_noop_incremental_needs_only_a_handful_of_sf_requests():
    work = Work(pw_rows_read={"portfolios": 228, "buildings": 0, "units": 0, "leases": 0, "vendors": 45,
                              "work_orders": 0},
                sf_rows_read={"jobs": 0}, sf_lookups=0)
    needed = needed_requests(work)
    assert needed.sf_total == 2  # a token and one page of changed jobs
    # getAllPortfolios and getVendors are one call each, the filtered streams a page each
    assert needed.pw_total == 2 + 4
    assert needed.reads.pw_chain == 1


def test_initial_sync_needs_one_post_per_record_and_one_update_per_job():
    work = Work(pw_rows_read={"portfolios": 228, "work_orders": 1000},
                sf_rows_read={"customers": 0, "jobs": 0},
                sf_lookups=3, sf_customers_created=565, sf_customer_levels=2, sf_jobs_created=340,
                pw_work_orders_written=340)
    needed = needed_requests(work)
    assert needed.writes == Phase(sf_requests=905, sf_chain=3, pw_requests=340 + 34, pw_chain=2)
    assert needed.reads.sf_requests == 1 + 3 + 1 + 1


def test_pw_write_back_overlaps_the_paced_sf_writes():
    # 700 paced SF creates take 640 s; 300 PW updates at the 2/s cap take 150 s alongside them
    needed = Needed(writes=Phase(sf_requests=700, sf_chain=3, pw_requests=300, pw_chain=2))
    (_, writes) = floor(needed, Limits(pw_max_rps=2.0)).phases
    assert (writes.seconds, writes.binding) == (pytest.approx(640.0), "sf allowance")


def test_inconsistent_phases_are_refused():
    with pytest.raises(ValueError):
        Phase(pw_requests=1, pw_chain=2)
    with pytest.raises(ValueError):
        Limits(sf_limit=0)
