"""The fastest a sync run could possibly be, given the APIs' limits: the benchmark's yardstick.
All times are seconds of the clock the simulators run on; the model is in docs/operations.md and at ``floor``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Limits:
    """The limits the floor is computed against."""

    sf_limit: int = 60  # requests per window (documented: 60/min per token)
    sf_window: float = 60.0
    sf_latency: float = 0.15
    pw_latency: float = 0.3
    pw_max_rps: float = 0.0  # the PW client's own cap; 0 = none

    def __post_init__(self) -> None:
        if self.sf_limit < 1 or self.sf_window <= 0:
            raise ValueError("sf_limit must be >= 1 and sf_window > 0")
        if min(self.sf_latency, self.pw_latency, self.pw_max_rps) < 0:
            raise ValueError("latencies and pw_max_rps must be >= 0")

    @property
    def sf_rate(self) -> float:
        """Requests per second the SF allowance refills at."""
        return self.sf_limit / self.sf_window

    # Time scaling by K divides latencies and the SF window by K and multiplies the PW cap by K, so a run
    # that would take an hour takes 60/K minutes; every figure is then in scaled seconds, and × K gives the
    # real-time estimate. CPU and database time do not scale, so a large K makes wall ÷ floor pessimistic.
    def scaled(self, factor: float) -> Limits:
        """The same limits with time running ``factor`` times faster."""
        if factor <= 0:
            raise ValueError(f"time scale must be > 0, got {factor}")
        return replace(self, sf_window=self.sf_window / factor, sf_latency=self.sf_latency / factor,
                       pw_latency=self.pw_latency / factor, pw_max_rps=self.pw_max_rps * factor)


@dataclass(frozen=True)
class Phase:
    """Requests one phase of a run needs: totals and the longest chain that must run one after another."""

    pw_requests: int = 0
    pw_chain: int = 0
    sf_requests: int = 0
    sf_chain: int = 0

    def __post_init__(self) -> None:
        if min(self.pw_requests, self.pw_chain, self.sf_requests, self.sf_chain) < 0:
            raise ValueError("request counts must be >= 0")
        if self.pw_chain > self.pw_requests or self.sf_chain > self.sf_requests:
            raise ValueError("a chain cannot be longer than the phase's requests")


@dataclass(frozen=True)
class Needed:
    """The two phases of a run: reads, then writes (SF creates and PW write-back)."""

    reads: Phase = field(default_factory=Phase)
    writes: Phase = field(default_factory=Phase)

    @property
    def pw_total(self) -> int:
        return self.reads.pw_requests + self.writes.pw_requests

    @property
    def sf_total(self) -> int:
        return self.reads.sf_requests + self.writes.sf_requests

    @property
    def phases(self) -> tuple[tuple[str, Phase], ...]:
        return (("reads", self.reads), ("writes", self.writes))


@dataclass(frozen=True)
class PhaseFloor:
    name: str
    seconds: float
    binding: str  # which constraint set it: "pw latency", "sf allowance", "pw cap", "sf latency", "none"


@dataclass(frozen=True)
class Floor:
    phases: tuple[PhaseFloor, ...]

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def binding(self) -> str:
        return ", ".join(f"{p.name}: {p.binding}" for p in self.phases if p.seconds > 0) or "none"


def allowance_wait(requests: int, allowance: float, rate: float) -> float:
    """Seconds before the last of ``requests`` may be sent, starting with ``allowance`` unspent."""
    return max(0.0, requests - allowance) / rate


# A run reads everything first (R1), then writes, so its floor is the floor of the reads plus the floor of
# the writes. The writes phase holds both the ServiceFusion creates and the PropertyWare write-back: R1
# orders the steps, but at best the write-back (job links, statuses) proceeds while ServiceFusion POSTs wait
# for their allowance, so the floor takes that best case. Within a phase the binding constraint is the
# largest of:
# - latency chain: calls that must follow one another (pages of one stream, customers before their
#   children before jobs) × that system's latency; independent streams overlap;
# - SF allowance: ServiceFusion grants ``limit`` requests per ``window`` as a continuously refilling
#   allowance (Yii2 style) that starts full; ``n`` requests need ``max(0, n - allowance) / rate``; the
#   allowance left after one phase carries into the next, refilled by the phase's duration;
# - PW cap: the client's own PropertyWare pacing (requests ÷ ``pw_max_rps``), when set.
def floor(needed: Needed, limits: Limits) -> Floor:
    """The floor of ``needed`` under ``limits`` (see the comment above)."""
    allowance = float(limits.sf_limit)
    result = []
    for name, phase in needed.phases:
        candidates = {
            "pw latency": phase.pw_chain * limits.pw_latency,
            "sf latency": phase.sf_chain * limits.sf_latency,
            "sf allowance": allowance_wait(phase.sf_requests, allowance, limits.sf_rate),
            "pw cap": phase.pw_requests / limits.pw_max_rps if limits.pw_max_rps else 0.0,
        }
        binding, seconds = max(candidates.items(), key=lambda kv: kv[1])
        result.append(PhaseFloor(name, seconds, binding if seconds > 0 else "none"))
        allowance = min(float(limits.sf_limit), max(0.0, allowance - phase.sf_requests)
                        + seconds * limits.sf_rate)
    return Floor(tuple(result))


def pages(rows: int, page_size: int, *, short_last_page_stops: bool = True) -> int:
    """Requests to list ``rows`` at ``page_size`` per page.

    PropertyWare stops on a page shorter than a full one, so a full last page costs one more (empty)
    request; ServiceFusion reports its page count, so ``short_last_page_stops=False`` counts exactly.
    """
    if page_size < 1 or rows < 0:
        raise ValueError("page_size must be >= 1 and rows >= 0")
    if short_last_page_stops:
        return rows // page_size + 1
    return max(1, math.ceil(rows / page_size))


@dataclass(frozen=True)
class Work:
    """What a run had to read and write, counted from the simulators' state before and after it."""

    pw_rows_read: dict[str, int]  # per PW stream: rows that had to be read (all, or changed since)
    sf_rows_read: dict[str, int] = field(default_factory=dict)  # per SF list: rows that had to be read
    sf_lookups: int = 0  # single-page lookup lists (statuses, categories, techs) not yet known
    sf_token: int = 1  # token requests (a fresh process has no token)
    sf_customers_created: int = 0
    sf_customer_levels: int = 0  # parent → child customers: 2 when both portfolios and buildings are new
    sf_jobs_created: int = 0
    pw_work_orders_written: int = 0  # distinct work orders updated (status back, job id)
    pw_page_size: int = 10
    sf_page_size: int = 50


# Streams PropertyWare answers in one call, whatever their size (getAllPortfolios and getVendors take no
# page number and no filter, so every run reads them whole).
PW_UNPAGED = frozenset({"portfolios", "vendors"})


# "Needed" requests are the fewest the documented APIs allow for the work the run had to do; the ratio
# made ÷ needed shows redundant calls, wall ÷ floor shows waiting.
def needed_requests(work: Work) -> Needed:
    """The fewest requests the documented APIs allow for ``work``.

    PW: every stream but the portfolios is paged (short page ends it); SF: ``per-page=50`` lists, one
    token, one call per unknown lookup list; writes are one POST per new record and one
    ``updateWorkOrder`` per changed work order (the read-modify-write re-read is counted as a read of the
    write-back phase).
    """
    pw_pages = {s: 1 if s in PW_UNPAGED else pages(n, work.pw_page_size)
                for s, n in work.pw_rows_read.items()}
    sf_pages = {s: pages(n, work.sf_page_size, short_last_page_stops=False)
                for s, n in work.sf_rows_read.items()}
    sf_reads = work.sf_token + work.sf_lookups + sum(sf_pages.values())
    reads = Phase(
        pw_requests=sum(pw_pages.values()),
        pw_chain=max(pw_pages.values(), default=0),
        sf_requests=sf_reads,
        sf_chain=work.sf_token + max([*sf_pages.values(), 1 if work.sf_lookups else 0], default=0),
    )
    creates = work.sf_customers_created + work.sf_jobs_created
    levels = work.sf_customer_levels + (1 if work.sf_jobs_created else 0)
    written = work.pw_work_orders_written
    # One getWorkOrders(ids) page re-reads up to a page of work orders before their updates
    # (read-modify-write); link and status of one work order go in one updateWorkOrder.
    reread = math.ceil(written / work.pw_page_size) if written else 0
    writes = Phase(pw_requests=written + reread, pw_chain=(2 if written else 0),
                   sf_requests=creates, sf_chain=min(levels, creates))
    return Needed(reads=reads, writes=writes)
