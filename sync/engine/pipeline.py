"""The step graph, in one place: every step's business name, module, dependencies and kind, and the
scheduler that runs independent reads in parallel and pushes in the rules' fixed order (business rules §3)."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

__all__ = ["STEPS", "STEP_NAMES", "Step", "execute", "get_step", "select", "urgency"]

READ, PUSH = "read", "push"


@dataclass(frozen=True)
class Step:
    """One step: ``module`` holds a ``run(ctx) -> None`` function."""

    name: str
    module: str
    after: tuple[str, ...]
    kind: str
    description: str

    @property
    def calls_propertyware(self) -> bool:
        """Reads are named for the system they read (getPW…, getSF…); pushes call both."""
        return self.kind == PUSH or self.name.startswith("getPW")

    def load(self) -> Callable:
        return importlib.import_module(self.module).run


STEPS: tuple[Step, ...] = (
    Step("getPWPortfolios", "sync.steps.pull_portfolios", (), READ, "PW portfolios → dim_portfolio"),
    Step(
        "getPWBuildings",
        "sync.steps.pull_buildings",
        ("getPWPortfolios",),
        READ,
        "PW buildings and units → dim_building, dim_unit",
    ),
    # After getPWBuildings as well as portfolios (the rules list only step 1): unit validation on ingest
    # (R24) needs the building's units in dim_unit, or a first run would clear every unit it cannot see.
    Step(
        "getPWWorkOrders",
        "sync.steps.pull_work_orders",
        ("getPWPortfolios", "getPWBuildings"),
        READ,
        "PW work orders and vendors → fact_work_orders (SCD2), dim_vendor, dim_status",
    ),
    Step(
        "getPWLeases",
        "sync.steps.pull_leases",
        (),
        READ,
        "PW active leases and tenants → fact_leases, dim_tenant",
    ),
    Step(
        "getSFCustomers",
        "sync.steps.pull_sf_customers",
        (),
        READ,
        "SF customers → sf_customer_cache, dim_customer, customer_mappings refresh",
    ),
    Step(
        "getSFJobs",
        "sync.steps.pull_sf_jobs",
        (),
        READ,
        "SF jobs, job statuses, categories → fact_jobs, dim_status",
    ),
    Step(
        "getSFInvoices",
        "sync.steps.pull_sf_invoices",
        ("getSFJobs", "getPWWorkOrders"),
        READ,
        "SF invoices → fact_transactions (what each job billed)",
    ),
    Step(
        "pushPortfoliosToSF",
        "sync.steps.push_customers",
        ("getPWPortfolios", "getPWBuildings", "getPWLeases", "getSFCustomers"),
        PUSH,
        "SF customers for portfolios, then buildings (with units as locations, tenants as contacts)",
    ),
    Step(
        "syncUnitsToSF",
        "sync.steps.sync_units",
        ("getPWBuildings", "getSFCustomers", "pushPortfoliosToSF"),
        PUSH,
        "Units matched to SF customer locations → unit_mappings",
    ),
    Step(
        "pushLeaseTenantsToSF",
        "sync.steps.push_tenants",
        ("getPWLeases", "pushPortfoliosToSF"),
        PUSH,
        "Lease tenants reconciled with SF contacts (child customers in child_customer mode)",
    ),
    Step(
        "pushWorkOrdersToSF",
        "sync.steps.push_work_orders",
        ("getPWWorkOrders", "getSFJobs", "pushPortfoliosToSF", "syncUnitsToSF", "pushLeaseTenantsToSF"),
        PUSH,
        "SF jobs for open work orders; job ids back to PW",
    ),
    Step(
        "pushJobUpdatesToPW",
        "sync.steps.push_job_updates",
        ("getSFJobs", "pushWorkOrdersToSF"),
        PUSH,
        "SF job status back to PW work orders (SF wins on status)",
    ),
)

STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
_BY_NAME = {s.name: s for s in STEPS}
_BY_LOWER = {s.name.lower(): s for s in STEPS}


def _check_graph() -> None:
    seen: set[str] = set()
    for step in STEPS:
        missing = [d for d in step.after if d not in seen]
        assert not missing, f"{step.name} depends on {missing}, which are not declared before it"
        assert step.kind != READ or all(_BY_NAME[d].kind == READ for d in step.after), step.name
        seen.add(step.name)


_check_graph()


def pw_reads_waiting(name: str, selected: set[str]) -> bool:
    """Whether a read among ``selected`` that calls PropertyWare waits on step ``name``."""
    return any(name in s.after and s.kind == READ and s.calls_propertyware and s.name in selected
               for s in STEPS)


@functools.cache
def urgency(name: str) -> int:
    """The longest chain of reads that wait, one after another, on read step ``name`` (0 for a push or a
    read nothing waits on). Rate-capped calls go most urgent first: a run's reads end soonest when the
    steps others wait on are not queued behind the ones nothing waits on."""
    waiting = [s for s in STEPS if s.kind == READ and name in s.after]
    return max((1 + urgency(s.name) for s in waiting), default=0)


def get_step(name: str) -> Step:
    """The step called ``name`` (case-insensitive); ValueError listing the valid names otherwise."""
    step = _BY_LOWER.get((name or "").strip().lower())
    if step is None:
        raise ValueError(f"unknown step {name!r}; steps are: {', '.join(STEP_NAMES)}")
    return step


def select(names: Iterable[str] | None) -> list[Step]:
    """The steps to run, in graph order: all of them, or the named ones (dependencies outside the
    selection are taken as satisfied by earlier runs)."""
    if not names:
        return list(STEPS)
    wanted = {get_step(n).name for n in names}
    return [s for s in STEPS if s.name in wanted]


def execute(
    steps: list[Step],
    run_step: Callable[[Step], bool],
    *,
    on_blocked: Callable[[Step, list[str]], None],
    parallel: bool,
    max_workers: int = 4,
) -> dict:
    """Run ``steps``: reads first (independent ones in parallel threads when ``parallel``), then pushes one
    at a time in graph order. ``run_step(step)`` returns True on success; a step whose dependency failed
    or was blocked is not run (``on_blocked`` records why). Returns ``{name: "ok"|"failed"|"blocked"}``.
    """
    selected = {s.name for s in steps}
    outcome: dict[str, str] = {}

    def blockers(step: Step) -> list[str]:
        return [d for d in step.after if d in selected and outcome.get(d) in ("failed", "blocked")]

    def ready(step: Step) -> bool:
        return all(d not in selected or d in outcome for d in step.after)

    def settle(step: Step) -> bool:
        """Block ``step`` if a dependency did not succeed; True if it may run."""
        bad = blockers(step)
        if bad:
            outcome[step.name] = "blocked"
            on_blocked(step, bad)
            return False
        return True

    reads = [s for s in steps if s.kind == READ]
    pushes = [s for s in steps if s.kind == PUSH]

    if parallel and len(reads) > 1:
        pending = list(reads)
        running: dict[Future, Step] = {}
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sync-read") as pool:
            while pending or running:
                for step in [s for s in pending if ready(s)]:
                    pending.remove(step)
                    if settle(step):
                        running[pool.submit(run_step, step)] = step
                if not running:
                    continue  # only blocked steps were ready; loop settles the rest
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    step = running.pop(future)
                    outcome[step.name] = "ok" if future.result() else "failed"
    else:
        for step in reads:
            if settle(step):
                outcome[step.name] = "ok" if run_step(step) else "failed"

    # R1: pushes only after every read, in the rules' order.
    for step in pushes:
        if settle(step):
            outcome[step.name] = "ok" if run_step(step) else "failed"
    return outcome
