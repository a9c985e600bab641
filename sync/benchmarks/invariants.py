"""What must hold after any drill (docs/operations.md lists the invariants): checked against the simulators'
own state (what really exists in PropertyWare and ServiceFusion) and the database (warehouse, run records).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sync.models import DuplicateCandidate, OutboxItem, StepRun, SyncError, SyncRun, UnitCorrection
from warehouse.models import CustomerMapping, FactWorkOrder

from .scenarios import parse_stamp

_WO_REF = re.compile(r"^WO-(\d+)$")
# Fields compared between PropertyWare and the warehouse's current version.
COMPARED = (("status", "status"), ("description", "description"), ("priority", "priority"))


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    problems: list[str] = field(default_factory=list)


def _custom_value(job: dict, label: str) -> str | None:
    fields = job.get("custom_fields") or []
    if isinstance(fields, dict):
        value = fields.get(label)
        return None if value in (None, "") else str(value)
    for cf in fields:
        if isinstance(cf, dict) and cf.get("name") == label and cf.get("value") not in (None, ""):
            return str(cf["value"])
    return None


def work_order_of(job: dict, label: str = "propertyWareId") -> int | None:
    """The PW work order an SF job belongs to: its check number ``WO-<id>``, else the custom field."""
    match = _WO_REF.match(str(job.get("check_number") or "").strip())
    if match:
        return int(match.group(1))
    value = _custom_value(job, label)
    return int(value) if value and value.isdigit() else None


def jobs_by_work_order(jobs: Iterable[dict]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for job in jobs:
        wo = work_order_of(job)
        if wo is not None:
            out[wo].append(int(job["id"]))
    return out


def modified_at(rec: dict) -> datetime | None:
    """When PropertyWare last changed a record (the simulator's hidden stamp)."""
    return parse_stamp(rec.get("_lastModified"))


def _pw_id(rec: dict, key: str) -> int | None:
    value = rec.get(key)
    if isinstance(value, dict):
        value = value.get("ID")
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def parked_work_orders() -> dict[int, str]:
    """Work orders the sync visibly set aside, with why (outbox, review queues, error log)."""
    parked: dict[int, str] = {}
    for key, state, error in OutboxItem.objects.filter(kind=OutboxItem.Kind.JOB).exclude(
            state__in=[OutboxItem.State.SENT, OutboxItem.State.PLANNED]).values_list(
            "key", "state", "last_error"):
        match = re.search(r"WO-(\d+)", key)
        if match:
            parked[int(match.group(1))] = f"outbox {state}: {error[:60]}"
    for wo in UnitCorrection.objects.exclude(state="released").values_list("work_order_id", flat=True):
        parked.setdefault(int(wo), "unit correction")
    for wo in DuplicateCandidate.objects.filter(state="pending").values_list("work_order_id", flat=True):
        parked.setdefault(int(wo), "duplicate review")
    for key in SyncError.objects.filter(record_key__contains="WO-").values_list("record_key", flat=True):
        match = re.search(r"WO-(\d+)", key)
        if match:
            parked.setdefault(int(match.group(1)), "error_logs")
    return parked


# Invariant 1: every open work order whose building is mapped has exactly one SF job, or is visibly parked
# (a dead-lettered, held or failing outbox item, a review-queue entry, an error_logs row).
def check_one_job_per_open_work_order(sims, open_statuses: frozenset[str]) -> Check:
    mapped = set(CustomerMapping.objects.filter(entity_type="building", status="mapped",
                                                sf_customer_id__isnull=False)
                 .values_list("pw_building_id", flat=True))
    by_wo = jobs_by_work_order(sims.sf.store.jobs())
    parked = parked_work_orders()
    problems, counted, parked_n = [], 0, 0
    for wo in sims.pw.store.work_orders():
        wo_id = int(wo["ID"])
        jobs = by_wo.get(wo_id, [])
        if len(jobs) > 1:
            problems.append(f"WO {wo_id}: {len(jobs)} SF jobs {sorted(jobs)} (duplicate)")
            continue
        status = str(wo.get("status") or "").strip().lower()
        if status not in open_statuses or _pw_id(wo, "building") not in mapped:
            continue
        counted += 1
        if not jobs:
            if wo_id in parked:
                parked_n += 1
            else:
                problems.append(f"WO {wo_id} ({wo.get('status')}): open, building mapped, "
                                "no SF job, not parked")
    return Check("one job per open work order", not problems,
                 f"{counted} open work orders in mapped buildings; {parked_n} visibly parked", problems)


# Invariant 2: no work order has more than one SF job, and no SF job the sync made lacks its work order.
def check_no_orphan_jobs(sims, jobs_before: set[int]) -> Check:
    pw_ids = {int(w["ID"]) for w in sims.pw.store.work_orders()}
    problems = []
    made = [j for j in sims.sf.store.jobs() if int(j["id"]) not in jobs_before]
    for job in made:
        wo = work_order_of(job)
        if wo is None:
            problems.append(f"SF job {job['id']}: no work-order reference "
                            f"(check_number {job.get('check_number')!r})")
        elif wo not in pw_ids:
            problems.append(f"SF job {job['id']}: work order {wo} does not exist in PropertyWare")
    return Check("no job without its work order", not problems, f"{len(made)} SF jobs made by the sync",
                 problems)


# Invariant 3: every PropertyWare change is a version in the warehouse.
def check_pw_changes_versioned(sims, edits: list[tuple[int, dict]], since) -> Check:
    """Current warehouse rows match PW for every work order changed since ``since``; each drill edit is a
    version."""
    problems = []
    changed = [w for w in sims.pw.store.work_orders()
               if (modified_at(w) or since) > since]
    current = {r.work_order_id: r for r in FactWorkOrder.objects.filter(
        is_current=True, work_order_id__in=[int(w["ID"]) for w in changed])}
    for wo in changed:
        row = current.get(int(wo["ID"]))
        if row is None:
            problems.append(f"WO {wo['ID']}: changed in PW, no current warehouse row")
            continue
        for pw_field, wh_field in COMPARED:
            pw_value = str(wo.get(pw_field) or "").strip()
            wh_value = str(getattr(row, wh_field) or "").strip()
            if pw_value != wh_value:
                problems.append(f"WO {wo['ID']}: {wh_field} is {wh_value!r} in the warehouse, "
                                f"{pw_value!r} in PW")
    for wo_id, fields in edits:
        versions = FactWorkOrder.objects.filter(work_order_id=wo_id)
        for name, value in fields.items():
            if not versions.filter(**{name: value}).exists():
                problems.append(f"WO {wo_id}: edit {name}={value!r} has no warehouse version")
    return Check("every PW change is a version", not problems,
                 f"{len(changed)} work orders changed during the drill, {len(edits)} drill edits", problems)


# Invariant 4: every failure is visible: no run left "running", failed runs/steps/items carry their error,
# no item stuck in "sending".
def check_failures_visible() -> Check:
    problems = []
    for run in SyncRun.objects.filter(status=SyncRun.Status.RUNNING):
        problems.append(f"run {run.pk} still 'running' (a killed run must be marked)")
    for run in SyncRun.objects.filter(status=SyncRun.Status.FAILED):
        if not run.error_summary and not SyncError.objects.filter(run=run).exists():
            problems.append(f"run {run.pk} failed with no error recorded")
    for step in StepRun.objects.filter(status=StepRun.Status.FAILED):
        if not step.message and not SyncError.objects.filter(step=step).exists():
            problems.append(f"step {step.name} of run {step.run_id} failed with no message")
    for item in OutboxItem.objects.filter(state__in=[OutboxItem.State.FAILED, OutboxItem.State.DEAD]):
        if not item.last_error:
            problems.append(f"outbox {item.key} ({item.state}) has no last_error")
    for item in OutboxItem.objects.filter(state=OutboxItem.State.HELD):
        if not item.hold_reason:
            problems.append(f"outbox {item.key} held with no reason")
    stuck = OutboxItem.objects.filter(state=OutboxItem.State.SENDING).count()
    if stuck:
        problems.append(f"{stuck} outbox items stuck in 'sending'")
    runs = SyncRun.objects.count()
    errors = SyncError.objects.count()
    return Check("every failure is visible", not problems, f"{runs} runs, {errors} error_logs rows", problems)


def dead_letter_keys() -> set[str]:
    return set(OutboxItem.objects.filter(state=OutboxItem.State.DEAD).values_list("key", flat=True))


# Invariant 5: no dead letter is lost: every item that was ever dead is still dead.
def check_dead_letters_kept(ever_dead: set[str]) -> Check:
    """Every dead letter is still dead, unless its write turned out to have happened (a later run found
    the record and settled the row as sent, recovered): that one is resolved, not lost."""
    now_dead = dead_letter_keys()
    gone = ever_dead - now_dead
    found = set(
        OutboxItem.objects.filter(key__in=gone, state=OutboxItem.State.SENT, result__recovered=True)
        .values_list("key", flat=True)
    )
    lost = sorted(gone - found)
    return Check("no dead letter lost", not lost, f"{len(ever_dead | now_dead)} dead letters seen, "
                 f"{len(now_dead)} now, {len(found)} found written after all",
                 [f"dead letter {k} is no longer dead" for k in lost])
