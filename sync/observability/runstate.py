"""Read-only questions about sync runs that health and metrics share (last success, attempts since).

Kept apart so the run model's field names are spelled in one place.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps

SUCCESS_STATUSES = ("success", "succeeded", "ok", "completed")
#: light runs of the freshness mode (SyncRun.Trigger.FRESHNESS): health judges the full runs the schedule
#: promises; a light run's success must not hide full runs that fail or never start
LIGHT_TRIGGER = "freshness"


def model(name: str) -> Any | None:
    """The sync app's model ``name``, or None before the engine's migrations define it."""
    try:
        return apps.get_model("sync", name)
    except LookupError:
        return None


def last_successful_run() -> Any | None:
    SyncRun = model("SyncRun")
    if SyncRun is None:
        return None
    return (SyncRun.objects.filter(status__in=SUCCESS_STATUSES, finished_at__isnull=False)
            .exclude(trigger=LIGHT_TRIGGER).order_by("-finished_at").first())


def runs_started_since(when: datetime | None) -> int:
    """Runs started after ``when`` (all runs when None): attempts that have not succeeded since."""
    SyncRun = model("SyncRun")
    if SyncRun is None:
        return 0
    # A run refused because another held the lock never tried: it is not a missed run.
    qs = SyncRun.objects.exclude(status="refused").exclude(trigger=LIGHT_TRIGGER)
    # A continuation carries on the run before it (which ended partial): one attempt, not another.
    qs = qs.exclude(trigger="continuation")
    if when is not None:
        qs = qs.filter(started_at__gt=when)
    return qs.count()
