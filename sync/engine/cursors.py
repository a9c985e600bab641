"""Per-stream cursors [sync_state]: where an incremental pull resumes, saved in the batch's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from sync.clients.paging import PageMark
from sync.models import Cursor

__all__ = [
    "Pass",
    "finish_pass",
    "get_cursor",
    "is_fresh",
    "pw_since",
    "save_progress",
    "since",
    "start_pass",
    "start_pw_pass",
    "start_sf_pass",
]

# What only a running pass needs (where it started, its window, its page): dropped when it finishes.
_PASS_ONLY = frozenset({"pass_started", "pass_since", "page", "newest"})


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


@dataclass
class Pass:
    """One pass over a paged stream: when it began and its filter window (an interrupted pass's own when
    resumed), the pages its read starts at and has committed, and the newest source stamp seen so far."""

    started: datetime
    bound: datetime | None
    pages: PageMark
    newest: datetime | None = None
    resumed: bool = False


def start_pass(cursor: Cursor, *, started: datetime, mode: str, bound: datetime | None = None) -> Pass:
    """Mark a pass as running and say where its read starts.

    A pass found still "running" was cut short (a killed process); how far it had got is kept for staff
    as ``interrupted_at``. An incremental pass that had committed pages is resumed: same window, same start
    time (its end moves the cursor only to there, so whatever changed since, on pages already read or
    not, is read by the next pass), from the last page it committed rather than the one after it. Both
    APIs page by position: SF lists newest-updated first (a change or a new job moves to the front and
    pushes the rest later: nothing skipped), PW by ID with ``lastModifiedOnOrAfter`` (a record changed
    since stays in the window at its place; one that enters it before the resume point pushes the rest
    later). Only a record leaving the window (deleted) pulls the rest a place earlier, so the last page
    read is read again: up to a page of deletions loses nothing, and the re-read rows merge as unchanged.
    A --full pass, or one that had committed no page, starts afresh from page 1.
    """
    state = dict(cursor.state or {})
    run = Pass(started=started, bound=bound, pages=PageMark())
    if cursor.status == "running":
        state["interrupted_at"] = {"pass_started": state.get("pass_started"), "read": state.get("read", 0)}
        page = int(state.get("page") or 0)
        resumable = mode == "incremental" and state.get("mode") == "incremental" and state.get("pass_started")
        if resumable and page > 0:
            since_text = state.get("pass_since")
            run = Pass(
                started=datetime.fromisoformat(state["pass_started"]),
                bound=datetime.fromisoformat(since_text) if since_text else None,
                pages=PageMark(first=page, done=page),
                newest=_later(cursor.last_sync_time, state.get("newest")),
                resumed=True,
            )
            state["resumed"] = {"at": started.isoformat(), "page": page}
    if not run.resumed:
        state.pop("resumed", None)
        state.update(
            {
                "pass_started": started.isoformat(),
                "pass_since": bound.isoformat() if bound else None,
                "page": 0,
                "newest": None,
            }
        )
        run.newest = cursor.last_sync_time
    state.update({"mode": mode, "batches": 0, "read": 0})
    cursor.state = state
    cursor.status = "running"
    cursor.save(update_fields=["state", "status", "updated_at"])
    return run


def start_pw_pass(entity_type: str, *, started: datetime, full: bool) -> tuple[Cursor, Pass]:
    """Open (or resume) a pass over a PropertyWare stream read by ``lastModifiedOnOrAfter`` (``pw_since``)."""
    cursor = get_cursor("propertyware", entity_type)
    bound = pw_since(cursor, full=full)
    return cursor, start_pass(cursor, started=started, mode="full" if full else "incremental", bound=bound)


def start_sf_pass(entity_type: str, *, started: datetime, full: bool) -> tuple[Cursor, Pass]:
    """Open (or resume) a pass over a ServiceFusion listing read by ``updated_at``: its cursor and the pass,
    whose bound is the cursor less the SF overlap (``SYNC_SF_JOBS_OVERLAP_SECONDS``; None: everything)."""
    cursor = get_cursor("servicefusion", entity_type)
    overlap = timedelta(seconds=settings.SYNC["SF_JOBS_OVERLAP_SECONDS"])
    bound = since(cursor, overlap=overlap, full=full)
    return cursor, start_pass(cursor, started=started, mode="full" if full else "incremental", bound=bound)


def _later(stamp: datetime | None, text: str | None) -> datetime | None:
    other = datetime.fromisoformat(text) if text else None
    if stamp is None or other is None:
        return stamp or other
    return max(stamp, other)


def save_progress(cursor: Cursor, **extra) -> None:
    """Record one committed batch (with ``page``, the last page it holds whole, for a resume); call inside
    the batch's transaction."""
    state = dict(cursor.state or {})
    state["batches"] = int(state.get("batches", 0)) + 1
    state.update(extra)
    cursor.state = state
    cursor.save(update_fields=["state", "updated_at"])


def finish_pass(cursor: Cursor, *, synced_to: datetime | None, **extra) -> None:
    """The whole stream was read: move the cursor (None keeps the old time)."""
    state = {k: v for k, v in (cursor.state or {}).items() if k not in _PASS_ONLY}
    state.update(extra)
    cursor.state = state
    cursor.status = "ok"
    if synced_to is not None:
        cursor.last_sync_time = synced_to
    cursor.save(update_fields=["state", "status", "last_sync_time", "updated_at"])
