"""The load balancer's health check: database, worker cluster, and how long since a sync succeeded.
Each check returns ``{"status": "ok" | "warn" | "unknown" | "fail", ...details}``; the endpoint answers
503 when any requested check fails.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connections
from django.utils import timezone
from django_q.models import Schedule

from sync.policies.flags import read_flags

from . import runstate

# A fresh install (no run yet) or a process-local cache that cannot see the workers' heartbeats is
# reported (warn / unknown) but never fails the node.
OK, WARN, UNKNOWN, FAIL = "ok", "warn", "unknown", "fail"

# Cache backends that live inside one process: the web process cannot see workers' heartbeats there.
_PROCESS_LOCAL_CACHES = ("LocMemCache", "DummyCache")


def check_database(alias: str = "default") -> dict[str, Any]:
    """A round trip to the database."""
    started = time.perf_counter()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"status": FAIL, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": OK, "vendor": connections[alias].vendor,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def check_workers() -> dict[str, Any]:
    """Live django-q2 clusters, from the heartbeats each sentinel saves every cycle (3 s lifetime)."""
    from django_q.conf import Conf
    from django_q.status import Stat

    try:
        stats = Stat.get_all()
    except Exception as exc:  # noqa: BLE001 - a broken broker/cache is exactly what this check reports
        return {"status": FAIL, "error": f"{type(exc).__name__}: {exc}"}
    alive = [s for s in stats if str(s.status) in (str(Conf.IDLE), str(Conf.WORKING), str(Conf.STARTING))]
    clusters = [
        {"cluster_id": str(s.cluster_id), "host": s.host, "status": str(s.status), "workers": len(s.workers),
         "uptime_s": round(s.uptime(), 1) if s.tob else None}
        for s in stats
    ]
    if alive:
        return {"status": OK, "clusters": clusters}
    cache_backend = type(caches[Conf.CACHE]).__name__
    if cache_backend in _PROCESS_LOCAL_CACHES:
        return {"status": UNKNOWN, "clusters": clusters,
                "detail": f"cache {Conf.CACHE!r} is {cache_backend}, private to this process; set CACHE_URL "
                          "to a shared cache (redis, database) to see worker heartbeats"}
    return {"status": FAIL, "clusters": clusters, "error": "no django-q cluster is running"}


def _previous_slots(schedule, now: datetime, count: int) -> list[datetime]:
    """The last ``count`` times ``schedule`` was due at or before ``now``, newest first."""
    if schedule.schedule_type == Schedule.CRON and schedule.cron:
        it = croniter(schedule.cron, timezone.localtime(now))
        return [it.get_prev(datetime) for _ in range(count)]
    step = {
        Schedule.MINUTES: timedelta(minutes=schedule.minutes or 1),
        Schedule.HOURLY: timedelta(hours=1),
        Schedule.DAILY: timedelta(days=1),
        Schedule.WEEKLY: timedelta(weeks=1),
    }.get(schedule.schedule_type)
    if step is None or schedule.next_run is None:
        return []
    latest = schedule.next_run
    while latest > now:
        latest -= step
    return [latest - i * step for i in range(count)]


def _sync_schedules() -> Iterable[Any]:
    """Active sync schedules; none while staff have switched scheduled runs off (the task then skips)."""
    if not read_flags().sync_schedule_enabled:
        return []
    # The freshness tick fires every minute but promises no run; its slots are not missed runs.
    return Schedule.objects.filter(func__startswith="sync.").exclude(repeats=0).exclude(
        func="sync.engine.freshness.tick")


def check_last_run(now: datetime | None = None) -> dict[str, Any]:
    """Fails when the sync has not succeeded for HEALTH_MISSED_RUNS scheduled slots in a row, or (with no
    schedule) for longer than HEALTH_MAX_RUN_AGE seconds; nights and weekends outside the schedule do not
    count as missed runs."""
    now = now or timezone.now()
    missed_allowed = int(getattr(settings, "HEALTH_MISSED_RUNS", 3))
    max_age = float(getattr(settings, "HEALTH_MAX_RUN_AGE", 0))
    try:
        last = runstate.last_successful_run()
        attempts_since = runstate.runs_started_since(last.finished_at if last else None)
    except DatabaseError as exc:
        return {"status": FAIL, "error": f"{type(exc).__name__}: {exc}"}
    result: dict[str, Any] = {
        "last_success_at": last.finished_at.isoformat() if last else None,
        "age_s": round((now - last.finished_at).total_seconds(), 1) if last else None,
        "failed_or_running_since": attempts_since,
    }
    deadline = None
    for schedule in _sync_schedules():
        slots = _previous_slots(schedule, now, missed_allowed + 1)
        if len(slots) == missed_allowed + 1:
            # The oldest of the allowed slots: a success finishing after it means fewer than N misses since.
            candidate = slots[-1]
            deadline = candidate if deadline is None else max(deadline, candidate)
    if deadline is not None:
        result["deadline"] = deadline.isoformat()
        result["rule"] = f"a success within the last {missed_allowed} scheduled runs"
    elif max_age > 0:
        deadline = now - timedelta(seconds=max_age)
        result["rule"] = f"a success within {max_age:g} s"
    else:
        return {"status": OK, **result, "rule": "not checked: no sync schedule and HEALTH_MAX_RUN_AGE is 0"}
    if last is None:
        # A new install has no success yet; only a series of failed attempts is a failure.
        status = FAIL if attempts_since >= missed_allowed else WARN
        return {"status": status, **result, "detail": "no successful sync yet"}
    return {"status": OK if last.finished_at >= deadline else FAIL, **result}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "workers": check_workers,
    "last_run": check_last_run,
}


def run_checks(only: Iterable[str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Run the named checks (all by default); returns (healthy, report). Unknown names raise ValueError."""
    names = list(only) if only else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown health check(s): {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    report: dict[str, Any] = {}
    database_ok = True
    for name in names:
        if name != "database" and not database_ok:
            report[name] = {"status": UNKNOWN, "detail": "skipped: database unreachable"}
            continue
        report[name] = CHECKS[name]()
        if name == "database":
            database_ok = report[name]["status"] != FAIL
    healthy = all(r["status"] != FAIL for r in report.values())
    return healthy, report
