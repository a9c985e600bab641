"""``manage.py bench_sync``: time the real sync against both simulators with realistic latency and
ServiceFusion's rate limit, and compare each run with the floor those limits impose (sync/benchmarks)."""
from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from greenlight.dbcheck import database_label
from sync.benchmarks.child import prepare_flags, reset_database, run_sync_child
from sync.benchmarks.floor import floor, needed_requests
from sync.benchmarks.report import RunFigures, format_detail, format_row, format_table
from sync.benchmarks.scenarios import Snapshot, typical_window, work_between
from sync.benchmarks.simulators import SimConfig, Simulators
from sync.benchmarks.through_worker import first_sync_through_worker, worker_env
from sync.models import StepRun, SyncRun

SCENARIOS = ("initial", "noop", "incremental")
DATASETS = ("tiny", "demo", "large")


def _last_run_seconds() -> float | None:
    run = SyncRun.objects.order_by("-pk").first()
    if run is None or run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def _overlap_seconds() -> float:
    """How far back an incremental pull re-reads before its cursor (the longest of the streams')."""
    return max(settings.SYNC["PULL_OVERLAP_SECONDS"], settings.SYNC["SF_JOBS_OVERLAP_SECONDS"])


def _rss_by_step(result) -> dict[str, float]:
    """Highest resident size sampled while each step of the last run ran, in MB."""
    out = {}
    steps = StepRun.objects.filter(run=StepRun.objects.order_by("-run_id").values("run_id")[:1],
                                   started_at__isnull=False, finished_at__isnull=False)
    for step in steps:
        assert step.started_at and step.finished_at  # the query keeps finished steps only
        peak = result.peak_rss_between(step.started_at.timestamp(), step.finished_at.timestamp())
        if peak:
            out[step.name] = peak / (1024 * 1024)
    return out


class Command(BaseCommand):
    help = ("Run the sync against both simulators (latency, SF rate limit, optional time scale) on a "
            "fresh database and print wall time, requests, the rate-limit/latency floor, their ratios "
            "and peak RSS.")

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="demo",
                            help="demo, large or tiny; a comma-separated list runs each in turn")
        parser.add_argument("--scenario", default="all",
                            help="initial, noop, incremental, a comma-separated list of them, or all; noop "
                                 "and incremental first run the initial sync as their setup")
        parser.add_argument("--pw-latency", type=float, default=0.3, help="seconds per PropertyWare call")
        parser.add_argument("--sf-latency", type=float, default=0.15, help="seconds per ServiceFusion call")
        parser.add_argument("--rate-limit", type=int, default=60, help="SF requests per minute")
        parser.add_argument("--time-scale", type=float, default=1.0,
                            help="K: latencies ÷ K, SF allowance refills K× faster "
                                 "(see sync/benchmarks/floor.py)")
        parser.add_argument("--pw-max-rps", type=float, default=None,
                            help="the PW client's cap in real time (default: PW_MAX_RPS from settings)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--timeout", type=float, default=3600.0,
                            help="seconds before a sync run is killed")
        parser.add_argument("--profile-dir", default="",
                            help="run each sync under cProfile and save <dataset>-<scenario>.prof here")
        parser.add_argument("--fast-setup", action="store_true",
                            help="runs that only set up the scenarios asked for (the initial sync before "
                                 "noop or incremental, and the settle run) go without latency, rate limit "
                                 "or PW cap; their figures are printed, not judged")
        parser.add_argument("--through-worker", action="store_true",
                            help="the initial sync queued for a real `manage.py qcluster` (Q_TIMEOUT 600/K, "
                                 "SYNC_BUDGET_MARGIN 60/K) and followed through its partial runs and "
                                 "continuations: runs, partials, duration, killed tasks, duplicates")
        parser.add_argument("--yes", action="store_true",
                            help="confirm that the configured database may be emptied")

    def handle(self, *args, **opts):
        datasets = [d.strip() for d in opts["dataset"].split(",") if d.strip()]
        unknown = [d for d in datasets if d not in DATASETS]
        if unknown or not datasets:
            raise CommandError(f"--dataset: unknown {', '.join(unknown) or '(empty)'}; "
                               f"use {', '.join(DATASETS)}")
        if not opts["yes"]:
            raise CommandError(f"bench_sync empties the configured database ({database_label()}); "
                               "pass --yes to confirm (PostgreSQL recommended: DATABASE_URL=postgres://…)")
        asked = [s.strip() for s in opts["scenario"].split(",") if s.strip()]
        bad = [s for s in asked if s not in (*SCENARIOS, "all")]
        if bad or not asked:
            raise CommandError(f"--scenario: unknown {', '.join(bad) or '(empty)'}; "
                               f"use {', '.join(SCENARIOS)} or all")
        wanted = SCENARIOS if "all" in asked else tuple(s for s in SCENARIOS if s in asked)
        pw_cap = opts["pw_max_rps"]
        if pw_cap is None:
            pw_cap = float(settings.PROPERTYWARE.get("MAX_RPS") or 0)
        if opts["through_worker"]:
            if wanted != ("initial",):
                raise CommandError("--through-worker runs the initial scenario only: add --scenario initial")
            for dataset in datasets:
                config = SimConfig(dataset=dataset, seed=opts["seed"], pw_latency=opts["pw_latency"],
                                   sf_latency=opts["sf_latency"], rate_limit=opts["rate_limit"],
                                   time_scale=opts["time_scale"], pw_max_rps=pw_cap)
                self.through_worker(config, opts["timeout"])
            return
        rows: list[RunFigures] = []
        for dataset in datasets:
            try:
                config = SimConfig(dataset=dataset, seed=opts["seed"], pw_latency=opts["pw_latency"],
                                   sf_latency=opts["sf_latency"], rate_limit=opts["rate_limit"],
                                   time_scale=opts["time_scale"], pw_max_rps=pw_cap)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            rows += self.bench_dataset(config, wanted, opts["timeout"], opts["profile_dir"],
                                       fast_setup=opts["fast_setup"])
        self.stdout.write("")
        self.stdout.write(format_table(rows))

    def through_worker(self, config: SimConfig, timeout: float) -> None:
        self.stdout.write(f"== {config.dataset} through a worker: fresh database ({database_label()})")
        reset_database()
        prepare_flags("benchmark run through a worker")
        scratch_dir = tempfile.TemporaryDirectory(prefix="greenlight-qcluster-")
        with Simulators(config) as sims, scratch_dir as scratch:
            env = worker_env(sims)
            self.stdout.write(f"   Q_TIMEOUT {env['Q_TIMEOUT']} s, SYNC_BUDGET_MARGIN "
                              f"{env['SYNC_BUDGET_MARGIN']} s, time scale {config.time_scale:g}")
            result = first_sync_through_worker(sims, env, Path(scratch) / "qcluster.log", timeout_s=timeout)
            for line in result.lines():
                self.stdout.write("   " + line)
            if not result.finished:
                self.stderr.write("\n".join(result.log_tail))

    def bench_dataset(self, config: SimConfig, wanted: tuple[str, ...], timeout: float,
                      profile_dir: str, *, fast_setup: bool = False) -> list[RunFigures]:
        self.stdout.write(f"== {config.dataset}: fresh database ({database_label()}), simulators starting")
        reset_database()
        flags = prepare_flags("benchmark run")
        limits = config.limits
        rows = []
        with Simulators(config) as sims:
            self.stdout.write(f"   PW {sims.pw.url}  SF {sims.sf.base_url}  flags {' '.join(flags)}  "
                              f"limits: SF {limits.sf_limit}/{limits.sf_window:g}s, latency PW "
                              f"{limits.pw_latency:g}s SF {limits.sf_latency:g}s, "
                              f"PW cap {limits.pw_max_rps:g}/s")
            previous = None
            plan = list(SCENARIOS[: max(SCENARIOS.index(s) for s in wanted) + 1])
            if "noop" in plan:
                # The initial run's own writes (job links, statuses, new jobs) come back on the next
                # incremental read; one unmeasured run absorbs that echo so "noop" is a quiet window.
                plan.insert(1, "settle")
            for scenario in plan:
                if scenario == "incremental":
                    edits = typical_window(sims, seed=config.seed)
                    self.stdout.write(f"   edits: {len(edits['work_orders_created'])} new work orders, "
                                      f"{len(edits['jobs_changed'])} job status changes")
                profile = Path(profile_dir) / f"{config.dataset}-{scenario}.prof" if profile_dir else None
                setup_only = fast_setup and scenario not in wanted
                with sims.unthrottled() if setup_only else contextlib.nullcontext():
                    figures, previous = self.run_one(sims, config, scenario, previous, timeout, profile)
                if setup_only:
                    self.stdout.write(f"   {config.dataset} {scenario}: set-up run without limits, "
                                      f"{figures.wall_s:.1f} s, peak RSS {figures.peak_rss_mb:.0f} MB "
                                      f"(not judged), exit {figures.exit_code}")
                    if figures.exit_code != 0:
                        self.stderr.write(f"   sync failed in {scenario}; later scenarios skipped")
                        break
                    # Scheduled runs come 30 minutes apart; the next run's pull overlap must not reach
                    # back into this one's own writes, or a quiet window would re-read them.
                    time.sleep(_overlap_seconds() + 1)
                    continue
                self.stdout.write("   " + format_row(figures))
                self.stdout.write(format_detail(figures))
                if scenario in wanted:
                    rows.append(figures)
                if figures.exit_code != 0:
                    self.stderr.write(f"   sync failed in {scenario}; later scenarios skipped")
                    break
                # Let the SF allowance refill so each scenario starts as a scheduled run would.
                time.sleep(limits.sf_window)
        return rows

    def run_one(self, sims: Simulators, config: SimConfig, scenario: str, previous: Snapshot | None,
                timeout: float, profile: Path | None = None) -> tuple[RunFigures, Snapshot]:
        before = Snapshot.take(sims)
        counts_before, ops_before = sims.request_totals(), sims.request_counts()
        if profile is not None:
            profile.parent.mkdir(parents=True, exist_ok=True)
        result = run_sync_child(sims.child_env(), timeout_s=timeout, profile_to=profile, warm=True)
        counts_after, ops_after = sims.request_totals(), sims.request_counts()
        after = Snapshot.take(sims)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            self.stderr.write(f"   manage.py sync exited {result.returncode}:\n{tail}")
        work = work_between(before, after, previous=previous, pw_page_size=config.pw_page_size)
        needed = needed_requests(work)
        figures = RunFigures(
            dataset=config.dataset, scenario=scenario, wall_s=result.wall_s,
            made={k: counts_after[k] - counts_before[k] for k in counts_after},
            needed=needed, floor=floor(needed, config.limits), peak_rss_mb=result.peak_rss_mb,
            exit_code=result.returncode, time_scale=config.time_scale,
            by_operation={k: v - ops_before.get(k, 0) for k, v in ops_after.items()
                          if v > ops_before.get(k, 0)},
            run_s=_last_run_seconds(), startup_s=result.startup_s,
            rss_by_step=_rss_by_step(result),
        )
        return figures, before
