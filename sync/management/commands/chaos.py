"""``manage.py chaos``: the fault drill (docs/operations.md). Faults on both simulators, the sync SIGKILLed
mid-run, re-run to completion, then the invariants (sync/benchmarks/invariants.py) are checked and printed.
Exits non-zero when any invariant fails.
"""
from __future__ import annotations

import random

from django.core.management.base import BaseCommand, CommandError

from greenlight.dbcheck import database_label
from sync.benchmarks import invariants as inv
from sync.benchmarks.child import prepare_flags, reset_database, run_sync_child
from sync.benchmarks.faults import DRILL_CLIENT_ENV, Disturbances, FaultProfile
from sync.benchmarks.simulators import SimConfig, Simulators
from sync.models import SyncRun
from sync.policies.flags import read_flags

PW_WRITE_OPERATIONS = ("updateWorkOrder", "attachNoteToWorkOrder", "closeWorkOrder", "createWorkOrder")
KILL_POINTS = ("requests", "sf_posts", "pw_writes")  # during reads, mid-push to SF, during write-back


def _sf_posts(sims) -> int:
    return sum(n for key, n in sims.sf.request_counts().items() if key.startswith("POST /v1/"))


def _pw_writes(sims) -> int:
    return sum(n for key, n in sims.pw.request_counts().items() if key in PW_WRITE_OPERATIONS)


def _total(sims) -> int:
    return sum(sims.request_totals().values())


COUNTERS = {"requests": _total, "sf_posts": _sf_posts, "pw_writes": _pw_writes}


class Command(BaseCommand):
    help = ("Fault drill: faults on both simulators, the sync SIGKILLed mid-run, re-run to completion, "
            "then the invariants are checked; exit status 1 when one fails.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0, help="names one reproducible drill")
        parser.add_argument("--dataset", default="tiny", help="tiny, demo or large")
        parser.add_argument("--fault-rate", type=float, default=0.2, help="share of calls that fail (0-1)")
        parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the sync process during runs")
        parser.add_argument("--max-runs", type=int, default=8,
                            help="re-runs under faults before the faults are lifted")
        parser.add_argument("--rate-limit", type=int, default=600,
                            help="SF requests per minute (the drill is about faults, not pacing)")
        parser.add_argument("--run-timeout", type=float, default=900.0,
                            help="seconds before a run is killed")
        parser.add_argument("--yes", action="store_true",
                            help="confirm that the configured database may be emptied")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args, **opts):
        if not opts["yes"]:
            raise CommandError(f"chaos empties the configured database ({database_label()}); pass --yes")
        if opts["kills"] < 0 or opts["max_runs"] < 1:
            raise CommandError("--kills must be >= 0 and --max-runs >= 1")
        try:
            profile = FaultProfile(rate=opts["fault_rate"], seed=opts["seed"])
            config = SimConfig(dataset=opts["dataset"], seed=opts["seed"], pw_latency=0.0, sf_latency=0.0,
                               rate_limit=opts["rate_limit"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.rng = random.Random(opts["seed"])
        self.timeout = opts["run_timeout"]
        self.say(f"chaos seed={opts['seed']} dataset={opts['dataset']} fault rate={profile.rate} "
                 f"kills={opts['kills']} database={database_label()}")
        reset_database()
        prepare_flags(f"chaos drill seed {opts['seed']}")
        with Simulators(config) as sims:
            checks = self.drill(sims, profile, opts["kills"], opts["max_runs"])
        self.say("")
        for check in checks:
            self.say(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.summary}")
            for problem in check.problems[:20]:
                self.say(f"      - {problem}")
            if len(check.problems) > 20:
                self.say(f"      … and {len(check.problems) - 20} more")
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise CommandError(f"{len(failed)} invariant(s) failed: {', '.join(failed)}")
        self.say(f"all {len(checks)} invariants hold")

    # --- the drill -----------------------------------------------------------------------------------
    def run(self, sims, env, label: str, *, kill_point: tuple[str, int] | None = None, disturb: bool = True):
        kill_when = None
        if kill_point is not None:
            counter = COUNTERS[kill_point[0]]
            start = counter(sims)
            kill_when = lambda: counter(sims) - start >= kill_point[1]  # noqa: E731
        if disturb:
            with Disturbances(sims, seed=self.rng.randrange(1 << 30)) as dist:
                result = run_sync_child(env, kill_when=kill_when, timeout_s=self.timeout)
            extra = (f", {dist.counts['token_revocations']} token revocations, "
                     f"{dist.counts['rate_storms']} 429 storms")
        else:
            result = run_sync_child(env, timeout_s=self.timeout)
            extra = ""
        last = SyncRun.objects.order_by("-pk").first()
        status = last.status if last else "none"
        outcome = "SIGKILLed" if result.killed else f"exit {result.returncode}"
        self.say(f"  {label}: {outcome}, run status {status}, {result.wall_s:.1f} s{extra}")
        if result.returncode not in (0, -9) and result.stderr:
            self.say("    " + "\n    ".join(result.stderr.strip().splitlines()[-4:]))
        self.ever_dead |= inv.dead_letter_keys()
        return result, status

    def drill(self, sims, profile: FaultProfile, kills: int, max_runs: int) -> list[inv.Check]:
        env = {**sims.child_env(), **DRILL_CLIENT_ENV}
        jobs_before = {int(j["id"]) for j in sims.sf.store.jobs()}
        started = sims.pw.store.now()
        self.ever_dead: set[str] = set()
        profile.apply(sims)

        self.say(f"phase 1: faults on, {kills} SIGKILLs")
        done, attempts = 0, 0
        while done < kills and attempts < kills * 3:
            point = KILL_POINTS[attempts % len(KILL_POINTS)]
            threshold = {"requests": self.rng.randint(10, 60), "sf_posts": self.rng.randint(1, 8),
                         "pw_writes": self.rng.randint(1, 4)}[point]
            attempts += 1
            result, _ = self.run(sims, env, f"run {attempts} (kill after {threshold} {point})",
                                 kill_point=(point, threshold))
            done += result.killed

        edits = self.edit_work_orders(sims)
        self.say(f"phase 2: {len(edits)} work orders edited in PW; re-runs under faults until one succeeds")
        for i in range(max_runs):
            result, status = self.run(sims, env, f"re-run {i + 1}")
            if result.returncode == 0 and status == "succeeded":
                break
        profile_fired = FaultProfile.fired(sims)
        FaultProfile.clear(sims)
        # Recovery: with the faults lifted, writes left for retry (backoffs beyond the run, ambiguous
        # dead letters whose record a pull now finds) go out; only then must a re-run change nothing.
        self.say("phase 3: faults lifted; runs until one succeeds")
        for i in range(3):
            result, status = self.run(sims, env, f"clean run {i + 1}", disturb=False)
            if result.returncode == 0 and status == "succeeded":
                break
        self.say("phase 4: a clean re-run must change nothing")
        jobs_now, customers_now = len(sims.sf.store.jobs()), len(sims.sf.store.customers())
        writes_now = _pw_writes(sims)
        self.run(sims, env, "convergence run", disturb=False)
        self.say(f"faults injected: {sum(profile_fired.values())} "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(profile_fired.items()))}); kills done: {done}")
        rerun_problems = []
        if len(sims.sf.store.jobs()) != jobs_now or len(sims.sf.store.customers()) != customers_now:
            rerun_problems.append(f"SF jobs {jobs_now}→{len(sims.sf.store.jobs())}, customers "
                                  f"{customers_now}→{len(sims.sf.store.customers())}")
        if _pw_writes(sims) != writes_now:
            rerun_problems.append(f"{_pw_writes(sims) - writes_now} PW writes")
        return [
            inv.check_one_job_per_open_work_order(sims, read_flags().pw_open_statuses),
            inv.check_no_orphan_jobs(sims, jobs_before),
            inv.check_pw_changes_versioned(sims, edits, started),
            inv.check_failures_visible(),
            inv.check_dead_letters_kept(self.ever_dead),
            inv.Check("a clean re-run changes nothing", not rerun_problems,
                      "no SF records created, no PW writes" if not rerun_problems else "writes made",
                      rerun_problems),
            inv.Check("the drill did what it says", done == kills and sum(profile_fired.values()) > 0,
                      f"{done}/{kills} kills, {sum(profile_fired.values())} faults injected",
                      [] if done == kills else [f"only {done} of {kills} kills landed mid-run"]),
        ]

    def edit_work_orders(self, sims, n: int = 5) -> list[tuple[int, dict]]:
        """PW users edit a few open work orders between runs: each edit must become a warehouse version."""
        open_like = ["Scheduled", "Delayed", "Awaiting Parts", "WO Received", "Partially Completed"]
        finished = ("closed", "completed", "cancelled")
        candidates = [w for w in sims.pw.store.work_orders()
                      if str(w.get("status") or "").strip().lower() not in finished]
        self.rng.shuffle(candidates)
        edits = []
        for wo in candidates[:n]:
            status = self.rng.choice([s for s in open_like if s.lower() != str(wo.get("status")).lower()])
            description = f"{wo.get('description') or ''} (edited in PW during drill)".strip()
            sims.pw.store.edit_work_order(int(wo["ID"]), status=status, description=description)
            edits.append((int(wo["ID"]), {"status": status, "description": description}))
        return edits
