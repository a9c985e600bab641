"""``manage.py bench_analytics``: load a simulator dataset with history into the warehouse, then time every
analytics screen's server-side rendering through Django's test client; the load is rolled back afterwards."""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from greenlight.dbcheck import SchemaCommand, database_label
from sync.benchmarks.analytics_data import load_dataset
from sync.web.analytics_common import open_statuses
from warehouse import analytics
from warehouse.models import FactJob, FactWorkOrder


class Rollback(Exception):
    """Leaves the benchmark's transaction, so the database is as it was."""


def _pages() -> list[tuple[str, str]]:
    """(label, url) of every screen, each range of the ranged ones, and the exports."""
    busiest_wo = (
        FactWorkOrder.objects.values("work_order_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("work_order_id", flat=True)
        .first()
    )
    busiest_portfolio = (
        analytics.open_now(open_statuses())
        .values("portfolio_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("portfolio_id", flat=True)
        .first()
    )
    pages = []
    for name, label in (
        ("analytics_open_by_portfolio", "open per portfolio"),
        ("analytics_time_in_status", "time in status"),
        ("analytics_jobs_per_day", "jobs per day"),
    ):
        for days in (30, 90, 365):
            pages.append((f"{label} {days}d", reverse(f"admin:{name}") + f"?days={days}"))
        pages.append((f"{label} 365d csv", reverse(f"admin:{name}") + "?days=365&format=csv"))
    pages += [
        ("SLA ages", reverse("admin:analytics_sla_ages")),
        ("SLA ages csv", reverse("admin:analytics_sla_ages") + "?format=csv"),
        (f"work order {busiest_wo} history", reverse("admin:analytics_work_order", args=[busiest_wo])),
        ("work order history csv", reverse("admin:analytics_work_order", args=[busiest_wo]) + "?format=csv"),
        (f"portfolio {busiest_portfolio}", reverse("admin:analytics_portfolio", args=[busiest_portfolio])),
        ("portfolio csv", reverse("admin:analytics_portfolio", args=[busiest_portfolio]) + "?format=csv"),
    ]
    return pages


class Command(SchemaCommand):
    help = (
        "Load a dataset with SCD2 history into an empty warehouse, time each analytics screen (median and "
        "max of several renders) and exit non-zero when one takes longer than the limit."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="large", choices=("tiny", "demo", "large"))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--repeat", type=int, default=5, help="timed renders per page (after one warm-up)"
        )
        parser.add_argument("--limit-ms", type=float, default=500.0, help="slowest render allowed per page")

    def handle(self, *args, dataset: str, seed: int, repeat: int, limit_ms: float, **options):
        if repeat < 1:
            raise CommandError("--repeat must be at least 1")
        if FactWorkOrder.objects.exists() or FactJob.objects.exists():
            raise CommandError(
                f"the warehouse of {database_label()} is not empty: bench_analytics loads its own "
                "dataset (and rolls it back); point DATABASE_URL at an empty database"
            )
        slow: list[str] = []
        try:
            # The test client's requests name the host "testserver"; the project's hosts stay allowed too.
            with (
                transaction.atomic(),
                override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
            ):
                self.run(dataset, seed, repeat, limit_ms, slow)
                raise Rollback
        except Rollback:
            pass
        if slow:
            raise CommandError(f"over {limit_ms:g} ms: {', '.join(slow)}")

    def run(self, dataset: str, seed: int, repeat: int, limit_ms: float, slow: list[str]) -> None:
        started = time.perf_counter()
        counts = load_dataset(dataset, seed=seed)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE fact_work_orders, fact_jobs, dim_portfolio, dim_building")
        self.stdout.write(
            f"== {dataset} loaded into {database_label()} in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{n} {k}" for k, n in counts.items())
        )
        user = get_user_model().objects.create_superuser("bench-analytics", "bench@example.com", None)
        client = Client()
        client.force_login(user)
        rows = []
        for label, url in _pages():
            client.get(url)  # warm-up: templates compiled, flags read, plans cached
            times = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
            median, worst = statistics.median(times), max(times)
            # Exports are downloads, not screens: timed and shown, judged only by eye.
            export = "format=csv" in url
            ok = export or worst <= limit_ms
            if not ok:
                slow.append(label)
            verdict = "export" if export else ("ok" if ok else "SLOW")
            rows.append((label, median, worst, len(queries), len(response.content), verdict))
        width = max(len(r[0]) for r in rows)
        self.stdout.write(f"{'page':<{width}}  {'median ms':>9}  {'max ms':>8}  {'queries':>7}  {'bytes':>9}")
        for label, median, worst, n_queries, size, verdict in rows:
            self.stdout.write(
                f"{label:<{width}}  {median:>9.1f}  {worst:>8.1f}  {n_queries:>7}  {size:>9}  {verdict}"
            )
