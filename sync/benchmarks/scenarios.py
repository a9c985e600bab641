"""Benchmark scenarios: the simulator state before and after a run, the work the run had to do (new
SF records, changed PW work orders, rows changed since the previous run), and the edits that make a
typical 30-minute window (new work orders in PropertyWare, job status changes in ServiceFusion)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .floor import Work

PW_STREAMS = ("portfolios", "buildings", "units", "leases", "vendors", "work_orders")
# Streams PropertyWare can filter by lastModified (getBuildings/getUnits/getLeases/getWorkOrders criteria);
# getAllPortfolios and getVendors have none, so every run must list all portfolios and vendors.
PW_FILTERABLE = frozenset({"buildings", "units", "leases", "work_orders"})
# Work-order fields the simulator keeps for itself (never served); a change there is not a write.
_HIDDEN = "_"


def _visible(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith(_HIDDEN)}


def parse_stamp(stamp: Any) -> datetime | None:
    if isinstance(stamp, datetime):
        return stamp
    if isinstance(stamp, str) and stamp:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return None


@dataclass
class Snapshot:
    """What the simulators hold at one moment, reduced to what the floor needs."""

    pw_counts: dict[str, int]
    pw_modified: dict[str, list[datetime]]  # per stream: every record's lastModified
    pw_work_orders: dict[int, dict]  # visible fields, to see which ones a run wrote
    sf_customers: dict[int, dict]
    sf_jobs: dict[int, dict]
    taken_at: datetime  # PropertyWare's clock
    sf_taken_at: datetime  # ServiceFusion's clock (it can be moved on by tests)
    sf_invoices: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def take(cls, sims) -> Snapshot:
        store = sims.pw.store
        modified: dict[str, list[datetime]] = {}
        counts: dict[str, int] = {}
        for stream in PW_STREAMS:
            rows = store.records(stream)
            counts[stream] = len(rows)
            modified[stream] = [m for m in (parse_stamp(r.get("_lastModified")) for r in rows) if m]
        work_orders = {int(r["ID"]): _visible(r) for r in store.records("work_orders")}
        return cls(
            pw_counts=counts, pw_modified=modified, pw_work_orders=work_orders,
            sf_customers={int(c["id"]): c for c in sims.sf.store.customers()},
            sf_jobs={int(j["id"]): j for j in sims.sf.store.jobs()},
            taken_at=store.now(),
            sf_taken_at=sims.sf.clock.now_dt(),
            sf_invoices={int(i["id"]): i for i in sims.sf.store.snapshot("invoices")},
        )


def work_between(before: Snapshot, after: Snapshot, *, previous: Snapshot | None, pw_page_size: int) -> Work:
    """The work a run did between two snapshots, as the fewest-requests model counts it.

    ``previous`` is the snapshot taken before the previous run started reading (None for the first run:
    everything must be read); rows changed since then are what an incremental run must read.
    """
    first_run = previous is None
    since = previous.taken_at if previous else None
    rows_read: dict[str, int] = {}
    for stream in PW_STREAMS:
        if since is None or stream not in PW_FILTERABLE:
            rows_read[stream] = before.pw_counts[stream]
        else:
            rows_read[stream] = sum(1 for m in before.pw_modified[stream] if m >= since)
    new_customers = {i: c for i, c in after.sf_customers.items() if i not in before.sf_customers}
    new_jobs = [i for i in after.sf_jobs if i not in before.sf_jobs]
    parents = {c.get("parent_customer_id") or c.get("parent_customer") for c in new_customers.values()}
    levels = 2 if any(p in new_customers for p in parents if p) else (1 if new_customers else 0)
    written = sum(1 for wo_id, wo in after.pw_work_orders.items()
                  if wo_id in before.pw_work_orders and before.pw_work_orders[wo_id] != wo)
    # SF lists: the first run reads each whole. Later, jobs (updated-since filter) and invoices (no filter,
    # but sorted newest first down to the cursor) need the rows changed since the previous run, and at
    # least one page to learn that nothing did. Customers (no filter at all) need none: the listing is a
    # cache (R11, SYNC_SF_CUSTOMER_CACHE_SECONDS, an hour), benchmark runs come minutes apart, and the
    # customers a run creates are cached as they are created.
    sf_rows_read = {"customers": len(before.sf_customers)} if first_run else {}
    for name, records in (("jobs", before.sf_jobs), ("invoices", before.sf_invoices)):
        if previous is None:
            sf_rows_read[name] = len(records)
        else:
            stamps = (parse_stamp(r.get("updated_at")) for r in records.values())
            sf_rows_read[name] = sum(1 for s in stamps if s is not None and s >= previous.sf_taken_at)
    return Work(
        pw_rows_read=rows_read,
        sf_rows_read=sf_rows_read,
        sf_lookups=3 if first_run else 0,  # cached like customers (SYNC_SF_LOOKUP_CACHE_SECONDS)
        sf_customers_created=len(new_customers),
        sf_customer_levels=levels,
        sf_jobs_created=len(new_jobs),
        pw_work_orders_written=written,
        pw_page_size=pw_page_size,
    )


def typical_window(sims, *, new_work_orders: int = 40, status_changes: int = 100, seed: int = 0) -> dict:
    """Make the edits of a typical 30-minute window and say what was done.

    New work orders are opened in buildings that already have an SF customer (so each needs a job);
    status changes move SF jobs the sync created to another status, as technicians would.
    """
    rng = random.Random(seed)
    pw, sf = sims.pw.store, sims.sf.store
    buildings = [b for b in pw.records("buildings") if b.get("active", True)]
    if not buildings:
        raise RuntimeError("the dataset has no active building to open work orders in")
    created = []
    for i in range(new_work_orders):
        building = rng.choice(buildings)
        created.append(pw.create_work_order(
            building=building["ID"], status="Open", priority=rng.choice(["LOW", "MEDIUM", "HIGH"]),
            description=f"Benchmark work order {i + 1}: leaking tap in kitchen", category="Plumbing"))
    jobs = [j for j in sf.jobs() if str(j.get("check_number") or "").startswith("WO-")]
    rng.shuffle(jobs)
    targets = ["Scheduled", "Dispatched", "On The Way", "Started", "Completed"]
    changed = []
    for job in jobs[:status_changes]:
        new_status = rng.choice([s for s in targets if s != job.get("status")])
        sf.set_job_status(int(job["id"]), new_status)
        changed.append((int(job["id"]), new_status))
    return {"work_orders_created": created, "jobs_changed": changed}
