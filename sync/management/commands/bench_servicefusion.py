"""Benchmark: how much of ServiceFusion's rate allowance the client uses, against the local simulator.
Prints a burst of GETs' elapsed time next to the fastest the allowance permits, and the 429s seen.
"""
from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError

from sync.clients.servicefusion import ServiceFusionClient
from sync.simulators.servicefusion import ServiceFusionSimulator


class Command(BaseCommand):
    help = "Measure the ServiceFusion client's pacing against the simulator's rate limit."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--requests", type=int, default=240, help="GETs to send (default 240)")
        parser.add_argument("--limit", type=int, default=60, help="allowance per window (default 60)")
        parser.add_argument("--window", type=float, default=6.0,
                            help="window in seconds (default 6: the real 60/min, ten times faster)")
        parser.add_argument("--threads", type=int, default=1, help="threads sharing one client (default 1)")
        parser.add_argument("--reset-mode", choices=("seconds", "epoch"), default="seconds")

    def handle(self, *args, **opts) -> None:
        total, limit, window, threads = opts["requests"], opts["limit"], opts["window"], opts["threads"]
        if total < 1 or limit < 1 or window <= 0 or threads < 1:
            raise CommandError("--requests, --limit, --threads must be positive and --window above 0")
        sim = ServiceFusionSimulator(rate_limit=limit, rate_window=window, reset_mode=opts["reset_mode"])
        with sim:
            client = ServiceFusionClient(sim.base_url, sim.client_id, sim.client_secret, verify=sim.ca_path)
            client.me()  # token fetched outside the measurement
            sim.rate_limiter.reset()
            sim.reset_counts()
            shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]

            def work(count: int) -> None:
                for _ in range(count):
                    client.me()

            started = time.monotonic()
            workers = [threading.Thread(target=work, args=(n,)) for n in shares]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.monotonic() - started
            statuses = sim.status_counts()
        rate = limit / window
        ideal = max(0, total - limit) / rate
        stats = client.stats
        self.stdout.write(f"requests            {total} ({threads} thread(s))")
        self.stdout.write(f"allowance           {limit} per {window:g} s ({rate:.2f}/s refill), "
                          f"reset as {opts['reset_mode']}")
        self.stdout.write(f"elapsed             {elapsed:.2f} s")
        self.stdout.write(f"fastest possible    {ideal:.2f} s (the first {limit} at once, then refills)")
        if ideal:
            self.stdout.write(f"allowance used      {100 * ideal / elapsed:.1f} %")
        self.stdout.write(f"legacy 0.5 req/s    {total / (0.5 * 60 / window):.2f} s at the same time scale")
        # There should be none when the client is the token's only user.
        self.stdout.write(f"429 responses       {statuses.get(429, 0)}")
        self.stdout.write(f"pacing waits        {stats['pacing_waits']} "
                          f"({stats['paced_seconds']:.2f} s summed over threads)")
