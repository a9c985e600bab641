"""Preflight checks before the first write (``manage.py doctor``, the dashboard, every run that writes):
credentials, the labels, statuses and fields writes name, clock skew, the worker; the last result kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_q.models import Schedule, Success

from sync.clients.propertyware.client import parse_verify
from sync.engine import pipeline
from sync.engine.clients import build_client
from sync.engine.context import StepSkipped
from sync.engine.cursors import get_cursor
from sync.errors import IntegrationError
from sync.models import Cursor, StatusMapping, SyncRun
from sync.observability import health
from sync.observability.alerts import clear_condition, raise_condition
from sync.policies.flags import FlagError, Flags, read_flags
from sync.policies.status import DEFAULT_STATUS_MAPPINGS
from warehouse.models import DimStatus

__all__ = ["Check", "WriteGate", "last_result", "run_checks", "skew_seconds"]

logger = logging.getLogger("sync")

OK, WARN, FAIL = "OK", "WARN", "FAIL"
#: Beyond this many seconds apart, "since" filters and token expiry drift noticeably.
MAX_SKEW_SECONDS = 60.0
#: The PropertyWare operations the steps and the outbox call (through sync/clients/propertyware).
PW_OPERATIONS = (
    "getAllPortfolios", "getBuildings", "getUnits", "getLeases", "getContacts", "getVendors",
    "getWorkOrders", "getBuilding", "updateWorkOrder", "closeWorkOrder", "attachNoteToWorkOrder",
)
#: A run that writes reuses a passing result this recent, taken with the same flags: back-to-back runs
#: (staff clicking twice) spend no rate budget on it, while each 30-minute scheduled run checks afresh.
REUSE_SECONDS = 600
_STORE = ("preflight", "checks")  # the sync_state row holding the last result


class Check(NamedTuple):
    """One check's outcome: a blocking check that is not ok stops every write of a run."""

    name: str
    ok: bool
    blocking: bool
    message: str
    # False when the check could not look yet (a new SF account holds no record to read definitions
    # from): a result holding one is not reused, so the next run that writes looks again.
    settled: bool = True

    @property
    def level(self) -> str:
        return OK if self.ok else (FAIL if self.blocking else WARN)

    def as_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "level": self.level}


class Probe:
    """What the checks share: the flags, one client per system (built on first use), one PW work order."""

    def __init__(self, flags: Flags, factory: Callable[..., Any]) -> None:
        self.flags = flags
        self._factory = factory
        self._clients: dict[str, Any] = {}
        self._work_order: tuple[Any] | None = None

    def client(self, system: str) -> Any:
        if system not in self._clients:
            self._clients[system] = self._factory(system)
        return self._clients[system]

    def work_order(self) -> Any:
        """The newest PW work order, or None; reading it is also the authenticated PW call."""
        if self._work_order is None:
            self._work_order = (next(iter(self.client("pw").iter_work_orders(newest_first=True)), None),)
        return self._work_order[0]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def check_pw_credentials(probe: Probe) -> Check:
    name = "propertyware_credentials"
    client = probe.client("pw")
    probe.work_order()
    missing = sorted(set(PW_OPERATIONS) - client.operation_names())
    if missing:
        return Check(name, False, True, f"signed in, but the WSDL lacks {', '.join(missing)}")
    return Check(name, True, True, f"signed in; the {len(PW_OPERATIONS)} operations the sync calls exist")


def check_sf_token(probe: Probe) -> Check:
    me = probe.client("sf").me()
    return Check("servicefusion_token", True, True, f"token obtained; signed in as {me.email or me.id}")


def _missing_labels(client: Any, entity: str, labels: list[str]) -> list[str] | None:
    """The labels among ``labels`` that SF does not define for ``entity`` ("jobs" or "customers"); None when
    SF holds no such record yet. SF has no endpoint listing definitions (R18), but a record read with
    ``expand=custom_fields`` lists every defined field (at its default when never set). Read-only on
    purpose: a probing POST could create a record, and it would spend a write's faults and rate budget."""
    listing = client.iter_jobs if entity == "jobs" else client.iter_customers
    record = next(iter(listing(expand=("custom_fields",))), None)
    if record is None:
        return None
    return [label for label in labels if label not in record.custom_fields]


def check_sf_custom_fields(probe: Probe) -> Check:
    flags, client = probe.flags, probe.client("sf")
    wanted = {
        "jobs": {"SF_JOB_CF_WORK_ORDER_ID": flags.sf_job_cf_work_order_id,
                 "SF_JOB_CF_PORTFOLIO_ID": flags.sf_job_cf_portfolio_id,
                 "SF_JOB_CF_BUILDING_ID": flags.sf_job_cf_building_id,
                 "SF_JOB_CF_UNIT_ID": flags.sf_job_cf_unit_id},
        "customers": {"SF_CUSTOMER_CF_PORTFOLIO_ID": flags.sf_customer_cf_portfolio_id,
                      "SF_CUSTOMER_CF_BUILDING_ID": flags.sf_customer_cf_building_id},
    }
    problems, unread = [], []
    for entity, by_flag in wanted.items():
        missing = _missing_labels(client, entity, sorted(set(by_flag.values())))
        if missing is None:
            unread.append(entity)
            continue
        problems += [f"{flag}={label!r} is not a custom field of SF {entity}"
                     for flag, label in by_flag.items() if label in missing]
    if problems:
        return Check("servicefusion_custom_fields", False, True, "; ".join(problems))
    if unread:
        # Nothing to read the definitions from (a new account): say so, without stopping the first writes.
        return Check("servicefusion_custom_fields", False, False,
                     f"not verified: SF has no {' or '.join(unread)} yet to read field definitions from",
                     settled=False)
    return Check("servicefusion_custom_fields", True, True, "every label exists on SF jobs and customers")


def _mapping_rows() -> list[tuple[str, str, str]]:
    rows = list(StatusMapping.objects.values_list("sf_status", "sf_code", "pw_status"))
    return rows or [(name, code, name) for name, code, _category, _closed in DEFAULT_STATUS_MAPPINGS]


def check_sf_statuses(probe: Probe) -> Check:
    client = probe.client("sf")
    statuses = client.list_job_statuses()
    codes, names = {s.code for s in statuses}, {s.name.strip().lower() for s in statuses}
    problems = [f"status {name!r}" + (f" ({code})" if code else "")
                for name, code, _pw in _mapping_rows()
                if not (code and code in codes) and name.strip().lower() not in names]
    category = probe.flags.sf_default_category.strip()
    if category and category.lower() not in {c.name.strip().lower() for c in client.list_job_categories()}:
        problems.append(f"category {category!r} (SF_DEFAULT_CATEGORY)")
    if problems:
        return Check("servicefusion_statuses", False, True,
                     "not in ServiceFusion: " + ", ".join(problems) + " (fix the status mappings or flag)")
    found = f"; category {category!r} exists" if category else ""
    message = f"each mapped status is one of SF's {len(statuses)}{found}"
    return Check("servicefusion_statuses", True, True, message)


def check_pw_statuses(probe: Probe) -> Check:
    """PW cannot list its statuses: compare with the ones its work orders were seen with (warn only)."""
    names = DimStatus.objects.filter(source_system="pw").values_list("name", flat=True)
    seen = {n.strip().lower() for n in names}
    if not seen:
        return Check("propertyware_statuses", True, False, "not checked yet: no PW work-order status read")
    unseen = sorted({pw for _name, _code, pw in _mapping_rows() if pw.strip().lower() not in seen})
    if unseen:
        return Check("propertyware_statuses", False, False,
                     f"mapped PW statuses never seen on a PW work order: {', '.join(unseen)}")
    return Check("propertyware_statuses", True, False, "every mapped PW status has been seen in PropertyWare")


def check_pw_job_id_field(probe: Probe) -> Check:
    name, field = "propertyware_sf_job_id_field", probe.flags.pw_sf_job_id_field
    if not field:
        return Check(name, True, True, "PW_SF_JOB_ID_FIELD is empty: SF job ids go to PW as notes")
    work_order = probe.work_order()
    if work_order is None:
        return Check(name, True, True, "no PW work order yet, so nothing to write it on")
    if field not in (work_order.custom_fields or {}):
        have = ", ".join(sorted(work_order.custom_fields or {})) or "none"
        return Check(name, False, True,
                     f"PW work orders have no custom field {field!r} (PW_SF_JOB_ID_FIELD); they have: {have}")
    return Check(name, True, True, f"work order {work_order.id} carries {field!r}")


def skew_seconds(date_header: str | None, now: datetime) -> float | None:
    """How far the remote clock (an HTTP Date header) is ahead of ``now``, in seconds; None if unreadable."""
    if not date_header:
        return None
    try:
        remote = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    return (remote - now).total_seconds()


def _check_clock(name: str, url: str, verify: Any) -> Check:
    reply = requests.get(url, timeout=10, verify=verify, allow_redirects=False)
    skew = skew_seconds(reply.headers.get("Date"), timezone.now())
    if skew is None:
        return Check(name, False, False, "the reply had no readable Date header")
    if abs(skew) > MAX_SKEW_SECONDS:
        return Check(name, False, False, f"clocks differ by {skew:+.0f} s (over {MAX_SKEW_SECONDS:g} s)")
    return Check(name, True, False, f"clocks agree within {abs(skew):.0f} s")


def check_pw_clock(probe: Probe) -> Check:
    conf = settings.PROPERTYWARE
    return _check_clock("propertyware_clock", conf["URL"], parse_verify(conf.get("VERIFY", "true")))


def check_sf_clock(probe: Probe) -> Check:
    conf = settings.SERVICEFUSION
    return _check_clock("servicefusion_clock", conf["BASE_URL"], parse_verify(conf.get("VERIFY", "true")))


def check_worker(probe: Probe) -> Check:
    workers = health.check_workers()
    if workers["status"] == health.OK:
        alive = f"{len(workers['clusters'])} cluster(s) alive"
    else:
        # Heartbeats may be invisible from here (a process-local cache): a recent task success shows a worker.
        recent = Success.objects.order_by("-stopped").values_list("stopped", flat=True).first()
        fresh = recent is not None and (timezone.now() - recent).total_seconds() < 3600
        alive = f"a task succeeded at {recent:%Y-%m-%d %H:%M} UTC" if fresh else ""
    schedules = [f"{s.name}: next {s.next_run:%Y-%m-%d %H:%M} UTC, repeats {s.repeats}" if s.next_run else
                 f"{s.name}: no next run" for s in Schedule.objects.filter(func__startswith="sync.")]
    plan = "; ".join(schedules) or "no sync schedule"
    if not alive:
        return Check("worker", False, False, f"no worker seen (no heartbeat, no task success in 1 h); {plan}")
    return Check("worker", True, False, f"{alive}; {plan}")


CHECKS: tuple[tuple[str, bool, Callable[[Probe], Check]], ...] = (
    ("propertyware_credentials", True, check_pw_credentials),
    ("servicefusion_token", True, check_sf_token),
    ("servicefusion_custom_fields", True, check_sf_custom_fields),
    ("servicefusion_statuses", True, check_sf_statuses),
    ("propertyware_statuses", False, check_pw_statuses),
    ("propertyware_sf_job_id_field", True, check_pw_job_id_field),
    ("propertyware_clock", False, check_pw_clock),
    ("servicefusion_clock", False, check_sf_clock),
    ("worker", False, check_worker),
)


def _guarded(name: str, blocking: bool, check: Callable[[Probe], Check], probe: Probe) -> Check:
    try:
        return check(probe)
    except (IntegrationError, ImproperlyConfigured, requests.RequestException, KeyError) as exc:
        return Check(name, False, blocking, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' results
        logger.exception("preflight check %s crashed", name)
        return Check(name, False, blocking, f"{type(exc).__name__}: {exc}")


def run_checks(flags: Flags | None = None, factory: Callable[..., Any] = build_client) -> list[Check]:
    """Every check, in order; the result is stored for the dashboard (``last_result``)."""
    taken_with = None
    try:
        flags = flags or read_flags()
    except FlagError as exc:
        checks = [Check("flags", False, True, str(exc))]
    else:
        probe = Probe(flags, factory)
        try:
            checks = [_guarded(name, blocking, check, probe) for name, blocking, check in CHECKS]
        finally:
            probe.close()
        taken_with = flags.as_dict()
    _store(checks, taken_with)
    failing = [f"{c.name}: {c.message}" for c in checks if c.level == FAIL]
    if failing:  # one alert while it lasts (the alerts module sends only on opening and resolving)
        raise_condition("preflight_failed", "Writes are stopped: " + "; ".join(failing))
    else:
        clear_condition("preflight_failed")
    return checks


def recent_pass(flags: Flags, *, settled: bool = True) -> list[Check] | None:
    """The stored result when it passed (no FAIL) within REUSE_SECONDS under these same flags and (when
    ``settled``) every check in it could look, else None."""
    workflow, entity_type = _STORE
    cursor = Cursor.objects.filter(workflow=workflow, entity_type=entity_type).first()
    if cursor is None or cursor.last_sync_time is None or cursor.status != OK:
        return None
    fresh = (timezone.now() - cursor.last_sync_time).total_seconds() < REUSE_SECONDS
    if not fresh or cursor.state.get("flags") != flags.as_dict():
        return None
    # A result stored before checks said whether they were settled counts them settled (the default).
    checks = [Check(**{f: stored[f] for f in Check._fields if f in stored})
              for stored in cursor.state.get("checks", [])]
    return checks if not settled or all(check.settled for check in checks) else None


def _store(checks: list[Check], flags: dict | None) -> None:
    cursor = get_cursor(*_STORE)
    cursor.last_sync_time = timezone.now()
    cursor.state = {"checks": [c.as_dict() for c in checks], "flags": flags}
    cursor.status = FAIL if any(c.level == FAIL for c in checks) else OK
    cursor.save()


def last_result() -> dict[str, Any] | None:
    """The last stored run of the checks: ``{"checked_at", "status", "checks": [dicts]}``, or None."""
    workflow, entity_type = _STORE
    # Read only (get_cursor would create the row on a dashboard view).
    cursor = Cursor.objects.filter(workflow=workflow, entity_type=entity_type).first()
    if cursor is None or cursor.last_sync_time is None:
        return None
    checks = cursor.state.get("checks", [])
    return {"checked_at": cursor.last_sync_time, "status": cursor.status, "checks": checks}


class WriteGate:
    """Runs the checks once, before a run's first push that writes; a failing blocking check then skips
    every push with one reason (no row reaches the outbox to be dead-lettered), and fails the run."""

    def __init__(self, factory: Callable[..., Any] = build_client, *, recheck_unsettled: bool = True) -> None:
        self.factory = factory
        self.recheck_unsettled = recheck_unsettled
        self.reason = ""
        self._checked = False

    def before(self, step: pipeline.Step, flags: Flags) -> None:
        if step.kind != pipeline.PUSH or flags.dry_run:
            return
        if not self._checked:
            self._checked = True
            checks = recent_pass(flags, settled=self.recheck_unsettled) or run_checks(flags, self.factory)
            for check in checks:
                if not check.ok:
                    logger.warning("preflight %s %s: %s", check.level, check.name, check.message)
            failing = [f"{c.name}: {c.message}" for c in checks if c.level == FAIL]
            if failing:
                self.reason = "preflight failed, no writes: " + "; ".join(failing)
        if self.reason:
            raise StepSkipped(self.reason)

    def finish(self, run: SyncRun) -> None:
        if not self.reason:
            return
        run.status = SyncRun.Status.FAILED
        run.error_summary = "\n".join(part for part in (self.reason, run.error_summary) if part)
        run.save(update_fields=["status", "error_summary"])
