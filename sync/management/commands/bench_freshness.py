"""``manage.py bench_freshness``: the simulators at the real limits, a real ``manage.py qcluster`` in
freshness mode, users changing both systems at random times; prints how long each change took to reach the
other side and how much of the SF allowance the light runs used while quiet."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from greenlight.dbcheck import database_label
from sync.benchmarks.child import MANAGE_PY, prepare_flags, reset_database, run_sync_child
from sync.benchmarks.freshness import Timeline, Users, percentile, watch
from sync.benchmarks.simulators import SimConfig, Simulators
from sync.engine import freshness
from sync.engine.tasks import ensure_schedule
from sync.models import SyncRun
from sync.policies.flags import spec_for

DATASETS = ("tiny", "demo", "large")
#: django-q2's scheduler looks at due schedules about every 30 s (not scalable); a scaled bench adds ticks
SCHEDULER_PERIOD = 30.0


class Command(BaseCommand):
    help = ("Measure freshness: a real worker in freshness mode against both simulators at the real limits "
            "while simulated users open work orders in PW and move jobs in SF; prints p50/p95 delays per "
            "direction and the SF allowance used while quiet.")

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="demo", choices=DATASETS)
        parser.add_argument("--minutes", type=float, default=5.0,
                            help="minutes of user activity (simulated time)")
        parser.add_argument("--quiet-minutes", type=float, default=2.0,
                            help="minutes without changes after the activity, to measure quiet use")
        parser.add_argument("--changes-per-minute", type=float, default=2.0,
                            help="average user changes a minute, half each way (simulated time)")
        parser.add_argument("--time-scale", type=float, default=1.0,
                            help="K: latencies ÷ K, SF allowance refills K× faster, intervals ÷ K; delays "
                                 "are reported in simulated seconds")
        parser.add_argument("--sf-share", type=int, default=10, help="FRESHNESS_SF_SHARE, percent")
        parser.add_argument("--pw-max-rps", type=float, default=None,
                            help="the PW client's cap in real time (default: PW_MAX_RPS from settings)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--yes", action="store_true",
                            help="confirm that the configured database may be emptied")

    def handle(self, *args, **opts):
        if not opts["yes"]:
            raise CommandError(f"bench_freshness empties the configured database ({database_label()}); "
                               "pass --yes to confirm (PostgreSQL: workers need a real database)")
        if opts["minutes"] <= 0 or opts["quiet_minutes"] < 0 or opts["changes_per_minute"] <= 0:
            raise CommandError("--minutes and --changes-per-minute must be > 0, --quiet-minutes >= 0")
        pw_cap = opts["pw_max_rps"]
        if pw_cap is None:
            pw_cap = float(settings.PROPERTYWARE.get("MAX_RPS") or 0)
        try:
            config = SimConfig(dataset=opts["dataset"], seed=opts["seed"], time_scale=opts["time_scale"],
                               pw_max_rps=pw_cap)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        k = config.time_scale
        self.stdout.write(f"== {config.dataset}: fresh database ({database_label()}), simulators starting")
        reset_database()
        # The interval flags' defaults, scaled: the bench measures the mode as it ships.
        low, high = (max(1, round(int(spec_for(name).default) / k))
                     for name in ("FRESHNESS_MIN_INTERVAL_SECONDS", "FRESHNESS_MAX_INTERVAL_SECONDS"))
        flags = prepare_flags("freshness benchmark", SAFE_MODE=False, FRESHNESS_ENABLED=True,
                              FRESHNESS_SF_SHARE=opts["sf_share"], FRESHNESS_MIN_INTERVAL_SECONDS=low,
                              FRESHNESS_MAX_INTERVAL_SECONDS=high)
        with Simulators(config) as sims:
            limits = config.limits
            self.stdout.write(f"   flags {' '.join(flags)}; limits: SF {limits.sf_limit}/"
                              f"{limits.sf_window:g}s, latency PW {limits.pw_latency:g}s "
                              f"SF {limits.sf_latency:g}s, PW cap {limits.pw_max_rps:g}/s, time scale {k:g}")
            env = sims.child_env()
            # Tasks this process queues (scaled ticks) are signed with its key: the worker must share it.
            env["SECRET_KEY"] = settings.SECRET_KEY
            # The SF allowance the engine plans its share from, in real time (the documented 60 unscaled).
            env["SF_RATE_LIMIT_CAP"] = str(round(limits.sf_limit * 60 / limits.sf_window))
            # Set-up, not measured: the initial full sync, then (past the pull overlap) a run that reads
            # its own writes back, as bench_sync's "settle" does, so the bench starts from a quiet state.
            for label in ("initial full sync", "settle run"):
                with sims.unthrottled():
                    setup = run_sync_child(sims.child_env() | {"SECRET_KEY": settings.SECRET_KEY},
                                           timeout_s=3600)
                if setup.returncode != 0:
                    raise CommandError(f"the {label} failed:\n{setup.stderr[-3000:]}")
                self.stdout.write(f"   {label} (unthrottled, not measured): {setup.wall_s:.1f} s")
                time.sleep(_overlap_seconds() + 1)
            self._open_window()
            self._measure(sims, config, env, opts)

    @staticmethod
    def _open_window() -> None:
        """The schedules as a deploy makes them (the database was emptied), the window covering the whole
        bench (full runs still at :00 and :30), the tick due now."""
        ensure_schedule()
        Schedule.objects.filter(name=freshness.SYNC_SCHEDULE_NAME).update(
            cron="*/30 * * * *", next_run=croniter("*/30 * * * *", timezone.now()).get_next(datetime))
        Schedule.objects.filter(name=freshness.SCHEDULE_NAME).update(next_run=timezone.now())

    def _measure(self, sims, config: SimConfig, env: dict, opts) -> None:
        # Stopped with SIGTERM, the bench still stops its worker (the finally below), as on Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        k = config.time_scale
        users = Users(sims, per_minute=opts["changes_per_minute"], time_scale=k, seed=opts["seed"])
        active_s, quiet_s = opts["minutes"] * 60 / k, opts["quiet_minutes"] * 60 / k
        log = tempfile.NamedTemporaryFile("w+", prefix="bench-freshness-qcluster-", suffix=".log",
                                          delete=False)
        worker = subprocess_popen([sys.executable, str(MANAGE_PY), "qcluster"],
                                  env={**env, "Q_WORKERS": "2"}, log=log)
        self.stdout.write(f"   qcluster pid {worker.pid} (log {log.name}); {opts['minutes']:g} min of "
                          f"changes, then {opts['quiet_minutes']:g} quiet")
        try:
            with Timeline(sims) as timeline:
                started = time.time()
                next_change = started + users.next_wait()
                next_tick = next_look = started
                pending = 0
                drain_until = started + active_s + 360.0 / k  # then what has not arrived is reported
                quiet_from = quiet_to = None
                while True:
                    now = time.time()
                    if worker.poll() is not None:
                        raise CommandError(f"the worker stopped (exit {worker.returncode}); see {log.name}")
                    if now < started + active_s and now >= next_change:
                        users.act()
                        next_change = now + users.next_wait()
                    if now >= next_look:
                        # Every 2 s: delays come from the records' stamps, not from when they are seen, and
                        # reading both stores often would take CPU from the simulators' answers.
                        pending = watch(sims, users)
                        next_look = now + 2.0
                    if k != 1 and now >= next_tick:
                        # The cluster's scheduler keeps real time; at K× it is helped by ticks queued here.
                        async_task("sync.engine.freshness.tick", task_name="freshness tick (bench)")
                        next_tick = now + SCHEDULER_PERIOD / k
                    settled = not pending or now > drain_until
                    if now >= started + active_s and quiet_from is None and settled:
                        quiet_from = now
                    if quiet_from is not None and now >= quiet_from + quiet_s:
                        quiet_to = now
                        break
                    time.sleep(0.5)
                quiet_used = timeline.between(quiet_from, quiet_to) - self._full_run_requests(
                    timeline, quiet_from, quiet_to)
        finally:
            worker.terminate()
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()  # a cluster that does not stop in a minute is not worth waiting for
                worker.wait(10)
        self._report(users, config, quiet_used, quiet_to - quiet_from)

    @staticmethod
    def _full_run_requests(timeline: Timeline, start: float, end: float) -> int:
        """SF requests made in [start, end] by runs other than light ones (a full run at :00 or :30)."""
        used = 0
        others = SyncRun.objects.exclude(trigger=SyncRun.Trigger.FRESHNESS).filter(
            started_at__lt=datetime.fromtimestamp(end, tz=UTC))
        for run in others:
            run_end = (run.finished_at or timezone.now()) + timedelta(seconds=1)
            a, b = max(start, run.started_at.timestamp()), min(end, run_end.timestamp())
            if b > a:
                used += timeline.between(a, b)
        return used

    def _report(self, users: Users, config: SimConfig, quiet_used: int, quiet_real_s: float) -> None:
        k = config.time_scale
        limits = config.limits
        allowance = limits.sf_limit * quiet_real_s / limits.sf_window
        share = 100.0 * quiet_used / allowance if allowance else 0.0
        state = freshness.state()
        runs = SyncRun.objects.filter(trigger=SyncRun.Trigger.FRESHNESS)
        self.stdout.write(f"   light runs {runs.count()}, skipped: {state.skipped_overlap} (run going), "
                          f"{state.skipped_budget} (SF share spent), {state.skipped_full_run} (full run "
                          f"near); writes left for later {state.writes_deferred}; full runs "
                          f"{SyncRun.objects.exclude(trigger=SyncRun.Trigger.FRESHNESS).count() - 2}")
        every: list[float] = []
        for direction, label in (("pw→sf", "PW work order → SF job"), ("sf→pw", "SF status → PW")):
            mine = [c for c in users.changes if c.direction == direction]
            delays = [c.delay * k for c in mine if c.delay is not None]
            every += delays
            missed = len(mine) - len(delays)
            self.stdout.write(f"   {label}: {len(mine)} changes, p50 {percentile(delays, 50):.0f} s, "
                              f"p95 {percentile(delays, 95):.0f} s, max {max(delays, default=0):.0f} s"
                              + (f", {missed} not arrived" if missed else ""))
        self.stdout.write(f"   quiet: {quiet_used} SF requests in {quiet_real_s * k / 60:.1f} min, "
                          f"allowance {allowance:.0f}")
        self.stdout.write(f"freshness: p50 {percentile(every, 50):.0f} s, p95 {percentile(every, 95):.0f} s, "
                          f"SF allowance used {share:.1f}%")


def _overlap_seconds() -> float:
    """How far back an incremental pull re-reads before its cursor (the longest of the streams')."""
    return max(settings.SYNC["PULL_OVERLAP_SECONDS"], settings.SYNC["SF_JOBS_OVERLAP_SECONDS"])


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def subprocess_popen(argv: list[str], *, env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, cwd=os.path.dirname(str(MANAGE_PY)), stdout=log,
                            stderr=subprocess.STDOUT)
