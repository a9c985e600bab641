"""Figures for the PropertyWare pieces: dataset build times and full reads through the real client.

    .venv/bin/python -m benchmarks.bench_pw [--dataset demo] [--page-size 10]

Prints wall-clock figures; asserts nothing (tests never time anything).
"""

from __future__ import annotations

import argparse
import time

from sync.clients.propertyware import PropertyWareClient
from sync.simulators.datasets import build_dataset
from sync.simulators.propertyware import PropertyWareSimulator


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label:<48} {time.perf_counter() - started:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="demo", choices=["tiny", "demo", "large"])
    parser.add_argument("--page-size", type=int, default=10)
    args = parser.parse_args()
    for name in ("tiny", "demo", "large"):
        timed(f"build_dataset({name!r})", lambda n=name: build_dataset(n))
    ds = build_dataset(args.dataset)
    for multiref in (False, True):
        with PropertyWareSimulator(dataset=ds, page_size=args.page_size, multiref=multiref) as sim:
            client = PropertyWareClient(sim.url, sim.username, sim.password, max_rps=0)
            mode = "multiRef" if multiref else "inline"
            n = timed(
                f"{mode}: read {len(ds.work_orders)} work orders, page {args.page_size}",
                lambda c=client: sum(1 for _ in c.iter_work_orders()),
            )
            timed(f"{mode}: read {len(ds.units)} units", lambda c=client: sum(1 for _ in c.iter_units()))
            timed(f"{mode}: read {len(ds.leases)} leases", lambda c=client: sum(1 for _ in c.iter_leases()))
            timed(f"{mode}: read {len(ds.vendors)} vendors (one call)", lambda c=client: len(c.get_vendors()))
            wo = next(w for w in ds.work_orders if w["status"] != "Closed")
            timed(
                f"{mode}: 20 read-modify-write updates",
                lambda c=client, i=wo["ID"]: [c.update_work_order(i, status="Scheduled") for _ in range(20)],
            )
            print(
                f"{mode}: {n} work orders in {sim.request_counts().get('getWorkOrders')} getWorkOrders calls"
            )


if __name__ == "__main__":
    main()
