"""``run_sync``: one run of the pipeline under the sync lock, recorded as a SyncRun with a StepRun per step;
every entry point (management command, django-q2 task, admin action, demo) calls it."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from sync.engine import pipeline
from sync.engine.budget import Budget, OutOfBudget
from sync.engine.clients import build_client
from sync.engine.context import CircuitOpen, Handover, StepContext, StepSkipped, log_error
from sync.engine.coverage import record_snapshot
from sync.engine.locks import SyncLockHeld, sync_lock
from sync.engine.metering import merge_calls
from sync.engine.preflight import WriteGate
from sync.errors import IntegrationError
from sync.models import OutboxItem, StepRun, SyncRun
from sync.observability.alerts import evaluate_after_run
from sync.observability.context import log_context
from sync.policies.flags import FlagError, flags_with, read_flags

__all__ = ["run_sync"]

logger = logging.getLogger("sync")

Progress = Callable[[dict[str, Any]], None]


def run_sync(
    steps: Iterable[str] | None = None,
    dry_run: bool | None = None,
    full: bool = False,
    trigger: str = "manual",
    user=None,
    progress: Progress | None = None,
    *,
    client_factory: Callable[..., Any] | None = None,
    budget: Budget | None = None,
    continues: int | None = None,
) -> SyncRun:
    """Run the pipeline (every step, or the named ones) and return its SyncRun.

    ``dry_run``: None follows the DRY_RUN flag at each step start; True or False overrides it for the
    whole run. ``full``: pulls reconcile completely and detect deletions. While another run holds the
    sync lock nothing runs: the returned SyncRun has status "refused" (R4). ``progress`` is called with a
    dict per event (run_started, step_started, step_progress at most once a second while a step runs,
    possibly from a sender's thread, step_finished, run_finished). ``client_factory(system, *,
    urgency)`` builds each step's clients (default ``build_client``). ``budget``: once it runs out the
    run takes no new step, page or outbox row and ends "partial" (default: none, as inline runs have).
    ``continues``: the id of the partial run this one carries on.
    """
    selected = pipeline.select(list(steps) if steps else None)  # unknown names fail before anything starts
    report = _logged(progress or (lambda event: None))
    factory = client_factory or build_client
    budget = budget or Budget()
    try:
        with sync_lock() as lock:
            run = _start(selected, dry_run, full, trigger, user, continues)
            with log_context(run_id=run.pk):  # every line of this run names it (steps add their name)
                report({"event": "run_started", "run_id": run.pk, "steps": [s.name for s in selected]})
                _close_abandoned_runs(run)
                _release_stale_sends(run)
                executor = _StepExecutor(run, selected, dry_run, full, factory, report, lock, budget)
                workers = int(settings.SYNC.get("READ_WORKERS", 4))
                # SQLite allows one writer at a time: its reads run one by one.
                try:
                    pipeline.execute(
                        selected,
                        executor.run_step,
                        on_blocked=executor.block,
                        parallel=connection.vendor != "sqlite" and workers > 1,
                        max_workers=max(1, workers),
                    )
                finally:
                    executor.handover.release_all()
                _finish(run, budget)
                executor.gate.finish(run)
                if run.status != SyncRun.Status.PARTIAL:  # the chain's last run records it
                    _record_coverage(run)
    except SyncLockHeld as exc:
        now = timezone.now()
        run = SyncRun.objects.create(
            trigger=trigger,
            user=user,
            status=SyncRun.Status.REFUSED,
            started_at=now,
            finished_at=now,
            dry_run=bool(dry_run),
            full=full,
            steps_requested=[s.name for s in selected],
            error_summary=str(exc),
        )
        logger.warning("sync refused: %s", exc)
    evaluate_after_run(run)  # a failed run alerts once; a succeeded one resolves it
    report({"event": "run_finished", "run_id": run.pk, "status": run.status})
    return run


def _start(selected, dry_run, full, trigger, user, continues=None) -> SyncRun:
    try:
        flags = read_flags().as_dict()
    except FlagError as exc:
        flags = {"error": str(exc)}
    run = SyncRun.objects.create(
        trigger=trigger,
        user=user,
        # What the run started as: forced, or the flag's value then (each step records its own).
        dry_run=bool(flags.get("DRY_RUN")) if dry_run is None else dry_run,
        full=full,
        steps_requested=[s.name for s in selected] if len(selected) < len(pipeline.STEPS) else [],
        flags=flags,
        continues_id=continues,
    )
    StepRun.objects.bulk_create(
        [StepRun(run=run, name=s.name, position=i) for i, s in enumerate(selected, start=1)]
    )
    return run


def _logged(report: Progress) -> Progress:
    """Every progress event is also a log line (JSON fields with LOG_FORMAT=json), so operators follow a
    run in the logs whatever started it."""

    def log_and_report(event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        if kind == "step_finished":
            with log_context(step=event.get("step")):
                logger.info("step %s %s in %.1f s: %s", event.get("step"), event.get("status"),
                            event.get("seconds", 0.0), event.get("message") or "nothing to do",
                            extra={"event": kind, "status": event.get("status"),
                                   "counts": event.get("counts", {})})
        elif kind == "step_started":
            logger.info("step %s started", event.get("step"), extra={"event": kind})
        elif kind in ("run_started", "run_finished"):
            with log_context(run_id=event.get("run_id")):
                outcome = "started" if kind == "run_started" else event.get("status")
                logger.info("run %s %s", event.get("run_id"), outcome, extra={"event": kind})
        report(event)

    return log_and_report


def _close_abandoned_runs(run: SyncRun) -> None:
    # We hold the sync lock, so no other run is alive: one still "running" was killed or crashed. Mark it
    # failed, with why, so the admin and the metrics show it instead of a run that never ends.
    now = timezone.now()
    why = "abandoned: the process running it stopped before it finished (killed or crashed)"
    stale = list(SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(pk=run.pk))
    for old in stale:
        StepRun.objects.filter(run=old, status=StepRun.Status.RUNNING).update(
            status=StepRun.Status.FAILED, finished_at=now, message=why)
        StepRun.objects.filter(run=old, status=StepRun.Status.PENDING).update(
            status=StepRun.Status.SKIPPED, message=why)
        SyncRun.objects.filter(pk=old.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED, finished_at=now, error_summary=why)
        log_error("runner", f"run {old.pk} {why}", run=old, recovery=f"closed by run {run.pk}",
                  with_stack=False)


def _release_stale_sends(run: SyncRun) -> None:
    # We hold the sync lock, so no sender is alive: a row still "sending" belongs to a killed one. It
    # stays ambiguous, so its next attempt looks the record up before writing again.
    stale = OutboxItem.objects.filter(state=OutboxItem.State.SENDING).update(
        state=OutboxItem.State.FAILED,
        next_attempt_at=timezone.now(),
        updated_at=timezone.now(),
        last_error="the sender stopped during the write; outcome unknown",
    )
    if stale:
        log_error(
            "runner",
            f"{stale} outbox rows were left mid-send by a stopped run",
            run=run,
            recovery="looked up before any new write",
            with_stack=False,
        )


class _StepExecutor:
    """Runs single steps for pipeline.execute: flags at start, records, progress, its own connection."""

    def __init__(self, run, selected, dry_run, full, factory, report, lock, budget: Budget) -> None:
        self.run = run
        self.dry_run = dry_run
        self.full = full
        self.factory = factory
        self.report = report
        self.lock = lock
        self.budget = budget
        self.main_thread = threading.get_ident()
        self.rows = {r.name: r for r in run.steps.all()}
        # Preflight before the first push that writes. A light run keeps its small share of SF's rate
        # limit for its writes: it reuses a passing result even where a check could not look yet.
        self.gate = WriteGate(factory, recheck_unsettled=run.trigger != SyncRun.Trigger.FRESHNESS)
        self.selected = {s.name for s in selected}
        self.handover = Handover()

    def block(self, step: pipeline.Step, failed: list[str]) -> None:
        row = self.rows[step.name]
        if self.budget.exhausted():  # left for the continuation, not skipped
            row.message = f"not started: {self.budget.reason}; the continuation runs it"
        else:
            row.status = StepRun.Status.SKIPPED
            row.message = f"not run: {', '.join(failed)} did not succeed"
        row.save(update_fields=["status", "message"])
        self.report(
            {
                "event": "step_finished",
                "step": step.name,
                "status": row.status,
                "message": row.message,
                "counts": {},
                "seconds": 0.0,
            }
        )

    def run_step(self, step: pipeline.Step) -> bool:
        in_worker = threading.get_ident() != self.main_thread
        try:
            with log_context(run_id=self.run.pk, step=step.name):
                return self._run(step)
        finally:
            if in_worker:
                # Each worker thread has its own connection; close it rather than leak one per run.
                connections.close_all()

    def _call_with_retries(self, step: pipeline.Step, ctx: StepContext) -> None:
        """R37: a step that fails on the network is run again (3 attempts, exponential from 1 s capped at
        30 s by default); its merges and outbox keys make a repeat harmless. Anything else fails at once."""
        conf = settings.SYNC

        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            assert exc is not None  # before_sleep follows a failed attempt
            ctx.count("step_retries")
            log_error(
                step.name,
                exc,
                recovery=f"step run again (attempt {state.attempt_number + 1})",
                run=self.run,
                step=ctx.step_run,
                with_stack=False,
            )

        retrying = Retrying(
            stop=stop_after_attempt(max(1, int(conf.get("STEP_ATTEMPTS", 3)))),
            wait=wait_exponential(
                multiplier=float(conf.get("STEP_RETRY_WAIT", 1.0)),
                max=float(conf.get("STEP_RETRY_MAX", 30.0)),
            ),
            retry=retry_if_exception(lambda exc: isinstance(exc, IntegrationError) and exc.retryable),
            before_sleep=note,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self.budget.check()  # a retry is new work too
                step.load()(ctx)

    def _run(self, step: pipeline.Step) -> bool:
        row = self.rows[step.name]
        if hasattr(self.lock, "refresh") and not self.lock.refresh():
            row.status, row.message = StepRun.Status.FAILED, "the sync lock was lost; step not started"
            row.save(update_fields=["status", "message"])
            return False
        if self.budget.exhausted():
            self.block(step, [])
            return False
        started = time.monotonic()
        row.status, row.started_at = StepRun.Status.RUNNING, timezone.now()
        ctx = StepContext(
            run=self.run,
            step_run=row,
            name=step.name,
            flags=None,  # read below, inside the step's error handling
            full=self.full,
            client_factory=self.factory,
            # Urgency orders PropertyWare's throttle only: a step that makes no PropertyWare call
            # (getSFJobs, which the invoices wait on) takes none.
            urgency=pipeline.urgency(step.name) if step.calls_propertyware else 0,
            on_progress=self.report,
            budget=self.budget,
        )
        try:
            if ctx.urgency:
                # A read others wait on holds its place in PropertyWare's throttle from the step's start
                # until it is recorded (its client joins when built and leaves when closed), not only
                # from its first call: less urgent callers leave it free slots meanwhile.
                ctx.client("pw")
                self.handover.release(step.after)  # joined: the steps it waited on may leave now
            flags = read_flags()  # R36: read when the step starts, never cached
            if self.dry_run is not None:
                flags = flags_with(flags, dry_run=self.dry_run)
            ctx.flags = flags
            row.flags = flags.as_dict()
            row.save(update_fields=["status", "started_at", "flags"])
            self.report({"event": "step_started", "step": step.name, "dry_run": flags.dry_run})
            self.gate.before(step, flags)
            self._call_with_retries(step, ctx)
            row.status = StepRun.Status.SUCCEEDED
        except StepSkipped as exc:
            row.status, row.message = StepRun.Status.SKIPPED, str(exc)
        except OutOfBudget as exc:
            row.status = StepRun.Status.PARTIAL
            row.message = f"stopped taking new work: {exc}; the continuation carries on"
        except (CircuitOpen, FlagError) as exc:
            row.status, row.message = StepRun.Status.FAILED, str(exc)
            log_error(
                step.name,
                exc,
                recovery="step stopped; items left for the next run",
                run=self.run,
                step=row,
                with_stack=False,
            )
        except Exception as exc:  # noqa: BLE001 - a failed step stops only what depends on it
            row.status, row.message = StepRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
            log_error(
                step.name,
                exc,
                recovery="step failed; dependants skipped; re-run resumes",
                run=self.run,
                step=row,
            )
        finally:
            row.counts = dict(ctx.counts)
            row.api_calls = ctx.api_calls()
            row.progress = ctx.final_progress()
            if not row.message and ctx.counts:
                row.message = ", ".join(f"{k} {v}" for k, v in sorted(ctx.counts.items()))
            row.finished_at = timezone.now()
            if row.status == StepRun.Status.RUNNING:
                row.status = StepRun.Status.FAILED
            try:
                row.save()
                self.report(
                    {
                        "event": "step_finished",
                        "step": step.name,
                        "status": row.status,
                        "message": row.message,
                        "counts": dict(row.counts),
                        "progress": row.progress,
                        "seconds": round(time.monotonic() - started, 3),
                    }
                )
            finally:
                succeeded = row.status == StepRun.Status.SUCCEEDED
                if ctx.urgency and succeeded and pipeline.pw_reads_waiting(step.name, self.selected):
                    self.handover.hold(step.name, ctx)  # closed once a dependent has joined
                else:
                    ctx.close()
        return row.status in (StepRun.Status.SUCCEEDED, StepRun.Status.SKIPPED)


def _record_coverage(run: SyncRun) -> None:
    """The day's coverage snapshot (and dim_date kept a year ahead) after every real run; a failure here
    is logged, never the run's (a dry run's reads refresh the warehouse too, so it is measured as well)."""
    try:
        record_snapshot(read_flags())
    except Exception:
        logger.exception("coverage snapshot not recorded after run %s", run.pk)


def _finish(run: SyncRun, budget: Budget) -> None:
    rows = list(run.steps.all())
    totals: Counter = Counter()
    for row in rows:
        for key, value in (row.counts or {}).items():
            if isinstance(value, (int, float)):
                totals[key] += value  # type: ignore[assignment]  # typeshed's Counter counts ints only
    failed = [r for r in rows if r.status == StepRun.Status.FAILED]
    run.counts = dict(totals)
    run.api_calls = merge_calls(*(r.api_calls for r in rows))
    # Steps the budget cut short or never started (a failure outranks them: it is what staff must see).
    left = [r for r in rows if r.status in (StepRun.Status.PARTIAL, StepRun.Status.PENDING)]
    if failed:
        run.status = SyncRun.Status.FAILED
    elif left and budget.reason:
        run.status = SyncRun.Status.PARTIAL
        run.stop_reason = f"{budget.reason}; left for the continuation: {', '.join(r.name for r in left)}"
    else:
        run.status = SyncRun.Status.SUCCEEDED
    run.error_summary = "\n".join(f"{r.name}: {r.message}" for r in failed)
    run.finished_at = timezone.now()
    run.save()
