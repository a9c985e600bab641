"""Prometheus collector that reads the sync's own tables at scrape time: runs, steps, outbox, dead letters,
recorded errors, safe mode and freshness (``freshness.py``). Every query is an aggregate, indexed, or touches
the latest run only, so a scrape stays cheap however much history accumulates.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

from sync.policies.flags import read_flags

from . import runstate
from .freshness import measure

logger = logging.getLogger(__name__)

DEAD_STATES = ("dead", "dead_letter")


def _duration_sum(qs) -> tuple[int, float]:
    agg = qs.aggregate(
        n=Count("pk"),
        total=Sum(ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())),
    )
    total = agg["total"]
    return agg["n"] or 0, total.total_seconds() if total is not None else 0.0


def _seconds(start, end) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _last_run_calls(api_calls) -> Iterator[Metric]:
    """Calls and failures per system and operation in the last run, as the engine's meters recorded them
    (``{system: {"operations": {op: {"calls", "errors", "seconds"}}}}``); the database copy is what every
    process can see, whichever one ran the sync."""
    calls = GaugeMetricFamily("greenlight_sync_last_run_api_calls",
                              "API calls the last finished run made, by system, operation and outcome.",
                              labels=["system", "operation", "outcome"])
    seconds = GaugeMetricFamily("greenlight_sync_last_run_api_seconds",
                                "Seconds the last finished run spent in API calls, by system and operation.",
                                labels=["system", "operation"])
    for system, data in sorted((api_calls or {}).items()):
        operations = data.get("operations") if isinstance(data, dict) else None
        for operation, entry in sorted((operations or {}).items()):
            if not isinstance(entry, dict):
                continue
            errors = int(entry.get("errors", 0) or 0)
            calls.add_metric([system, operation, "ok"], max(0, int(entry.get("calls", 0) or 0) - errors))
            calls.add_metric([system, operation, "error"], errors)
            seconds.add_metric([system, operation], float(entry.get("seconds", 0.0) or 0.0))
    yield calls
    yield seconds


class DatabaseCollector:
    """Collects the operational state recorded in the database (see module docstring)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("greenlight_metrics_section_up",
                               "1 when the section's tables could be read at this scrape.",
                               labels=["section"])
        sections = (self._runs, self._steps, self._outbox, self._errors, self._flags, self._freshness,
                    self._freshness_mode)
        for section in sections:
            name = section.__name__.lstrip("_")
            try:
                metrics = list(section())
            except DatabaseError as exc:
                # An unreadable table skips its section (reported in "up"), not the whole scrape.
                logger.warning("metrics: section %s unreadable: %s", name, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from metrics
        yield up

    def _runs(self) -> Iterator[Metric]:
        SyncRun = runstate.model("SyncRun")
        if SyncRun is None:
            return
        by_status = GaugeMetricFamily("greenlight_sync_runs", "Sync runs recorded, by status.",
                                      labels=["status"])
        for row in SyncRun.objects.values("status").annotate(n=Count("pk")).order_by("status"):
            by_status.add_metric([row["status"]], row["n"])
        yield by_status

        count, total = _duration_sum(SyncRun.objects.filter(finished_at__isnull=False))
        summary = SummaryMetricFamily("greenlight_sync_run_duration_seconds",
                                      "Wall time of finished sync runs.")
        summary.add_metric([], count_value=count, sum_value=total)
        yield summary

        last = (SyncRun.objects.filter(finished_at__isnull=False).exclude(status="refused")
                .order_by("-finished_at").first())
        if last is not None:
            yield from _last_run_calls(last.api_calls)
            yield GaugeMetricFamily("greenlight_sync_last_run_duration_seconds",
                                    "Wall time of the most recently finished run.",
                                    value=_seconds(last.started_at, last.finished_at) or 0.0)
        # A partial run is mid-chain (its continuation is queued): success is judged by the last run that
        # ended a chain, succeeded or failed.
        ended = (SyncRun.objects.filter(finished_at__isnull=False).exclude(status__in=("refused", "partial"))
                 .order_by("-finished_at").first())
        if ended is not None:
            yield GaugeMetricFamily("greenlight_sync_last_run_success",
                                    "1 when the most recently finished run (partial ones aside) succeeded.",
                                    value=1 if ended.status in runstate.SUCCESS_STATUSES else 0)
        yield GaugeMetricFamily("greenlight_sync_running", "Runs started and not finished.",
                                value=SyncRun.objects.filter(finished_at__isnull=True).count())

        success = runstate.last_successful_run()
        if success is not None:
            yield GaugeMetricFamily("greenlight_sync_last_success_timestamp_seconds",
                                    "Unix time the last successful run finished.",
                                    value=success.finished_at.timestamp())
            yield GaugeMetricFamily("greenlight_sync_last_success_age_seconds",
                                    "Seconds since the last successful run finished.",
                                    value=(timezone.now() - success.finished_at).total_seconds())

    def _steps(self) -> Iterator[Metric]:
        StepRun = runstate.model("StepRun")
        if StepRun is None:
            return
        summary = SummaryMetricFamily("greenlight_sync_step_duration_seconds",
                                      "Wall time of finished steps, by step.", labels=["step"])
        rows = (StepRun.objects.filter(finished_at__isnull=False).values("name")
                .annotate(n=Count("pk"), total=Sum(ExpressionWrapper(F("finished_at") - F("started_at"),
                                                                    output_field=DurationField())))
                .order_by("name"))
        for row in rows:
            summary.add_metric([row["name"]], count_value=row["n"],
                               sum_value=row["total"].total_seconds() if row["total"] else 0.0)
        yield summary

        last_run_id = (StepRun.objects.filter(started_at__isnull=False).order_by("-started_at")
                       .values_list("run_id", flat=True).first())
        duration = GaugeMetricFamily("greenlight_sync_step_last_duration_seconds",
                                     "Wall time of each step in the latest run.", labels=["step", "status"])
        records = GaugeMetricFamily("greenlight_sync_step_last_records",
                                    "Records each step of the latest run handled, by kind.",
                                    labels=["step", "kind"])
        if last_run_id is not None:
            for step in StepRun.objects.filter(run_id=last_run_id).order_by("started_at"):
                seconds = _seconds(step.started_at, step.finished_at)
                if seconds is not None:
                    duration.add_metric([step.name, str(step.status)], seconds)
                for kind, value in sorted((getattr(step, "counts", None) or {}).items()):
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        records.add_metric([step.name, str(kind)], value)
        yield duration
        yield records

    def _outbox(self) -> Iterator[Metric]:
        OutboxItem = runstate.model("OutboxItem")
        if OutboxItem is None:
            return
        depth = GaugeMetricFamily("greenlight_outbox_items", "Outbox items, by state.", labels=["state"])
        dead = 0
        for row in OutboxItem.objects.values("state").annotate(n=Count("pk")).order_by("state"):
            depth.add_metric([str(row["state"])], row["n"])
            if row["state"] in DEAD_STATES:
                dead += row["n"]
        yield depth
        yield GaugeMetricFamily("greenlight_dead_letters", "Outbox items that gave up (dead letters).",
                                value=dead)

    def _errors(self) -> Iterator[Metric]:
        SyncError = runstate.model("SyncError")
        if SyncError is None:
            return
        yield GaugeMetricFamily("greenlight_sync_errors_recorded", "Rows in error_logs.",
                                value=SyncError.objects.count())

    def _flags(self) -> Iterator[Metric]:
        flags = read_flags()
        yield GaugeMetricFamily("greenlight_safe_mode", "1 while SAFE_MODE is on.",
                                value=int(flags.safe_mode))
        yield GaugeMetricFamily("greenlight_dry_run", "1 while DRY_RUN is on.", value=int(flags.dry_run))

    def _freshness(self) -> Iterator[Metric]:
        fresh = measure(read_flags())
        wo, st = fresh.work_orders, fresh.status_writeback
        yield GaugeMetricFamily(
            "greenlight_oldest_unsent_work_order_age_seconds",
            "Seconds since the oldest open work order that should have a ServiceFusion job and has none "
            "(building mapped, not held for staff) was created in PropertyWare; 0 when none waits.",
            value=wo.oldest_seconds)
        yield GaugeMetricFamily("greenlight_unsent_work_orders",
                                "Open work orders that should have a ServiceFusion job and have none "
                                "(held ones excluded).", value=wo.waiting)
        yield GaugeMetricFamily(
            "greenlight_status_writeback_lag_seconds",
            "Seconds since the oldest ServiceFusion job status change not yet written back to PropertyWare "
            "changed in ServiceFusion; 0 when every change is written.", value=st.oldest_seconds)
        yield GaugeMetricFamily("greenlight_status_writebacks_pending",
                                "SF job status changes planned and not yet written back to PropertyWare "
                                "(held conflicts and dead letters excluded).", value=st.waiting)

    def _freshness_mode(self) -> Iterator[Metric]:
        """The light runs' tallies (sync.engine.freshness): runs, skips by reason, SF requests, interval."""
        flags = read_flags()
        yield GaugeMetricFamily("greenlight_freshness_enabled", "1 while FRESHNESS_ENABLED is on.",
                                value=int(flags.freshness_enabled))
        state = runstate.model("FreshnessState")
        row = state.objects.filter(name="freshness").first() if state is not None else None
        runs = CounterMetricFamily("greenlight_freshness_runs", "Light runs started by the freshness mode.")
        runs.add_metric([], row.runs if row else 0)
        yield runs
        skips = CounterMetricFamily("greenlight_freshness_skips",
                                    "Due freshness ticks that did not start a light run, by reason.",
                                    labels=["reason"])
        for reason, field in (("overlap", "skipped_overlap"), ("sf_share", "skipped_budget"),
                              ("full_run", "skipped_full_run")):
            skips.add_metric([reason], getattr(row, field) if row else 0)
        yield skips
        spent = CounterMetricFamily("greenlight_freshness_sf_requests", "SF requests made by light runs.")
        spent.add_metric([], row.sf_requests if row else 0)
        yield spent
        yield GaugeMetricFamily("greenlight_freshness_interval_seconds",
                                "Seconds between light runs now (adapts between the two interval flags).",
                                value=row.interval_seconds if row else 0)
