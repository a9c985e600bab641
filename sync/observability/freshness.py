"""How fresh the two directions are: the oldest open work order still waiting for its ServiceFusion job, and
the oldest SF job status change not yet written back to PropertyWare; read by /metrics, the alerts and
the dashboard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync.loaders.rows import chunks
from sync.models import DuplicateCandidate, OutboxItem, UnitCorrection
from sync.policies.flag_registry import Flags
from sync.policies.status import is_open
from warehouse.models import CustomerMapping, FactWorkOrder

__all__ = ["Figure", "Freshness", "alert_problems", "measure", "pending_status_writes", "unsent_work_orders"]

#: Job rows that mean the work order needs nothing from the sync now: the job exists (sent, or mid-send),
#: staff hold or decide it (held, ignored), or it failed for good (a dead letter, with its own alert).
_JOB_ROW_DONE_OR_HELD = (OutboxItem.State.SENT, OutboxItem.State.SENDING, OutboxItem.State.HELD,
                         OutboxItem.State.IGNORED, OutboxItem.State.DEAD)
#: Status rows still to be written; held ones are conflicts staff decide, dead ones dead letters.
_STATUS_PENDING = (OutboxItem.State.PLANNED, OutboxItem.State.FAILED, OutboxItem.State.SENDING)


def unsent_work_orders(flags: Flags) -> list[dict]:
    """Current open work orders that should have an SF job (R20: open, building mapped) and have none,
    not held for staff (a duplicate to review, a unit to correct, a held write) nor settled in the outbox;
    each as ``{"work_order_id", "since"}``, oldest first.

    Two queries: one pass over the current rows without a job (the review queues by their work-order
    index), then the few that remain looked up in the outbox by unique key, as pushWorkOrdersToSF does
    (a join to the outbox would hash the whole outbox on PostgreSQL).
    """
    mapped = CustomerMapping.objects.filter(entity_type="building", pw_building_id=OuterRef("building_id"),
                                            sf_customer_id__isnull=False)
    in_review = DuplicateCandidate.objects.filter(work_order_id=OuterRef("work_order_id"),
                                                  state=DuplicateCandidate.State.PENDING)
    unit_held = UnitCorrection.objects.filter(work_order_id=OuterRef("work_order_id"),
                                              state=UnitCorrection.State.HELD)
    # A work order waits from its creation in PW (the pull's delay counts too); when PW gave no creation
    # time, from when the warehouse received this version. Open is R26's test (``is_open``), applied to the
    # few distinct statuses so that it is the very test pushWorkOrdersToSF applies.
    base = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=True, is_deleted=False)
    statuses = set(base.values_list("status", flat=True).distinct())
    rows = list(
        base.filter(status__in=[s for s in statuses if is_open(s, flags)])
        .annotate(since=Coalesce("created_date", "valid_from")).filter(Exists(mapped))
        .exclude(Exists(in_review)).exclude(Exists(unit_held))
        .order_by("since", "work_order_id").values("work_order_id", "since")
    )
    settled: set[str] = set()
    for part in chunks([f"job:WO-{r['work_order_id']}" for r in rows], 500):
        settled.update(OutboxItem.objects.filter(key__in=part, state__in=_JOB_ROW_DONE_OR_HELD)
                       .values_list("key", flat=True))
    return [r for r in rows if f"job:WO-{r['work_order_id']}" not in settled]


def pending_status_writes():
    """Status write-backs (R28) planned and not yet written to PW (held conflicts and dead letters apart)."""
    return OutboxItem.objects.filter(kind=OutboxItem.Kind.PW_STATUS, state__in=_STATUS_PENDING, review=False)


@dataclass(frozen=True)
class Figure:
    """One direction's freshness: how many wait, the oldest one's age, and the alert threshold."""

    waiting: int
    oldest_seconds: float
    oldest_ref: str
    threshold_seconds: float
    checked: bool  # False when the alert is not evaluated (e.g. DRY_RUN: nothing is meant to be written)
    why_unchecked: str = ""

    @property
    def late(self) -> bool:
        return self.checked and self.waiting > 0 and self.oldest_seconds > self.threshold_seconds

    @property
    def state(self) -> str:
        return "not checked" if not self.checked else ("late" if self.late else "on time")

    @property
    def oldest_text(self) -> str:
        return readable(self.oldest_seconds) if self.waiting else "none waiting"

    @property
    def threshold_text(self) -> str:
        return readable(self.threshold_seconds)


@dataclass(frozen=True)
class Freshness:
    work_orders: Figure
    status_writeback: Figure


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def _work_orders(flags: Flags, now: datetime) -> Figure:
    rows = unsent_work_orders(flags)
    oldest = rows[0] if rows else None
    why = ("DRY_RUN is on" if flags.dry_run
           else "ENABLE_SERVICE_FUSION is off" if not flags.enable_service_fusion else "")
    return Figure(len(rows), _age(oldest["since"] if oldest else None, now),
                  f"WO {oldest['work_order_id']}" if oldest else "",
                  flags.alert_unsent_work_order_minutes * 60.0, checked=not why, why_unchecked=why)


def _status_writeback(flags: Flags, now: datetime) -> Figure:
    # Pending rows are few (each is written within its run), so their start times are compared here: the
    # change time sits in the row's context (ISO text), which SQL cannot order reliably across databases.
    oldest: tuple[datetime, str] | None = None
    waiting = 0
    rows = pending_status_writes().values_list("key", "created_at", "context")
    for key, created, context in rows.iterator():
        waiting += 1
        changed = parse_datetime((context or {}).get("sf_updated_at") or "") or created
        if oldest is None or changed < oldest[0]:
            oldest = (changed, key)
    why = "DRY_RUN is on" if flags.dry_run else ""
    return Figure(waiting, _age(oldest[0] if oldest else None, now), oldest[1] if oldest else "",
                  flags.alert_status_writeback_minutes * 60.0, checked=not why, why_unchecked=why)


def measure(flags: Flags, now: datetime | None = None) -> Freshness:
    """Both figures now, with the thresholds the flags set."""
    now = now or timezone.now()
    return Freshness(_work_orders(flags, now), _status_writeback(flags, now))


def alert_problems(flags: Flags, now: datetime | None = None) -> dict[str, str | None]:
    """The message of each freshness alert condition, None where it is clear (or not checked)."""
    fresh = measure(flags, now)
    wo, st = fresh.work_orders, fresh.status_writeback
    return {
        "work_order_unsent": (
            f"{wo.waiting} open work order(s) wait for a ServiceFusion job; the oldest ({wo.oldest_ref}) for "
            f"{wo.oldest_text}, over {wo.threshold_text} (ALERT_UNSENT_WORK_ORDER_MINUTES)."
        ) if wo.late else None,
        "status_writeback_late": (
            f"{st.waiting} SF job status change(s) wait to be written back to PropertyWare; the oldest "
            f"({st.oldest_ref}) for {st.oldest_text}, over {st.threshold_text} "
            f"(ALERT_STATUS_WRITEBACK_MINUTES)."
        ) if st.late else None,
    }


def readable(seconds: float) -> str:
    """A duration for staff: "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h"."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
