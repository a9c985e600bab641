"""Per-stream cursors [sync_state]: where an incremental pull resumes, saved in the batch's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from sync.models import Cursor

__all__ = ["finish_pass", "get_cursor", "is_fresh", "pw_since", "save_progress", "since", "start_pass"]


def get_cursor(workflow: str, entity_type: str) -> Cursor:
    try:
        with transaction.atomic():
            cursor, _ = Cursor.objects.get_or_create(workflow=workflow, entity_type=entity_type)
    except IntegrityError:  # created by a parallel step a moment ago
        cursor = Cursor.objects.get(workflow=workflow, entity_type=entity_type)
    return cursor


def since(
    cursor: Cursor,
    *,
    overlap: timedelta,
    full: bool = False,
) -> datetime | None:
    """The lower bound of the next incremental read, or None to read everything.

    ``overlap`` re-reads a little before the cursor (greenlight/settings.py says what each stream's
    overlap covers); a never-synced stream or a full run reads everything.
    """
    if full or cursor.last_sync_time is None:
        return None
    return cursor.last_sync_time - overlap


def pw_since(cursor: Cursor, *, full: bool = False) -> datetime | None:
    """``since`` for a PropertyWare stream: SYNC_PULL_OVERLAP_SECONDS before the cursor, expressed in the
    zone PW reads filter times in (PW_FILTER_TIME_ZONE), so the instant is right either way PW reads it."""
    bound = since(cursor, overlap=timedelta(seconds=settings.SYNC["PULL_OVERLAP_SECONDS"]), full=full)
    if bound is None:
        return None
    return bound.astimezone(ZoneInfo(settings.PROPERTYWARE.get("FILTER_TIME_ZONE") or "UTC"))


def is_fresh(cursor: Cursor, *, ttl_seconds: float, now: datetime) -> bool:
    """Whether a cached listing (a cursor whose last pass read the whole list) is younger than the TTL.

    A pass cut short ("running") or never made is not fresh; neither is one stamped in the future (a
    clock set back), which would otherwise stay fresh for as long as the clock is off.
    """
    if ttl_seconds <= 0 or cursor.status != "ok" or cursor.last_sync_time is None:
        return False
    age = (now - cursor.last_sync_time).total_seconds()
    return 0 <= age < ttl_seconds


def start_pass(cursor: Cursor, *, started: datetime, mode: str) -> None:
    """Mark a pass as running. A pass found still "running" was cut short (a killed process): the cursor
    did not move, so this pass reads again from the same bound; the batches it had committed merge as
    unchanged, so nothing is written twice. How far it had got is kept for staff as ``interrupted_at``."""
    state = dict(cursor.state or {})
    if cursor.status == "running":
        state["interrupted_at"] = {"pass_started": state.get("pass_started"), "read": state.get("read", 0)}
    state.update({"pass_started": started.isoformat(), "mode": mode, "batches": 0, "read": 0})
    cursor.state = state
    cursor.status = "running"
    cursor.save(update_fields=["state", "status", "updated_at"])


def start_sf_pass(entity_type: str, *, started: datetime, full: bool) -> tuple[Cursor, datetime | None]:
    """Open a pass over a ServiceFusion listing read by ``updated_at``: its cursor and the lower bound to
    read from (None: everything), less the SF overlap (``SYNC_SF_JOBS_OVERLAP_SECONDS``)."""
    cursor = get_cursor("servicefusion", entity_type)
    overlap = timedelta(seconds=settings.SYNC["SF_JOBS_OVERLAP_SECONDS"])
    bound = since(cursor, overlap=overlap, full=full)
    start_pass(cursor, started=started, mode="full" if full else "incremental")
    return cursor, bound


def save_progress(cursor: Cursor, **extra) -> None:
    """Record one committed batch; call inside the batch's transaction."""
    state = dict(cursor.state or {})
    state["batches"] = int(state.get("batches", 0)) + 1
    state.update(extra)
    cursor.state = state
    cursor.save(update_fields=["state", "updated_at"])


def finish_pass(cursor: Cursor, *, synced_to: datetime | None, **extra) -> None:
    """The whole stream was read: move the cursor (None keeps the old time)."""
    state = {k: v for k, v in (cursor.state or {}).items() if k != "pass_started"}
    state.update(extra)
    cursor.state = state
    cursor.status = "ok"
    if synced_to is not None:
        cursor.last_sync_time = synced_to
    cursor.save(update_fields=["state", "status", "last_sync_time", "updated_at"])
