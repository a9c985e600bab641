"""The dedup decision and what it leaves behind: the duplicate_detection_log row, the work order's
back-filled SF job id (R31b), the near match queued for staff, and staff's link / push decisions (R32)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from sync.loaders.fact_edits import current_work_order, work_order_record
from sync.models import DuplicateCandidate, DuplicateDetectionLog
from warehouse.models import FactWorkOrder
from warehouse.scd import merge

__all__ = [
    "DedupDecision", "link_work_order_to_job", "log_row", "opens_candidate", "record", "resolve_candidate",
]


@dataclass(frozen=True)
class DedupDecision:
    """``decision``: create | duplicate | review; ``rule``: mapping | check_number | temporal | review |
    none; ``sf_job_id``: the matched job; ``backfill``: the work order should take that job's id."""

    decision: str
    score: float
    rule: str
    sf_job_id: int | None
    reason: str
    backfill: bool = False

    @property
    def is_duplicate(self) -> bool:
        return self.decision == "duplicate"


def link_work_order_to_job(work_order_id: int, sf_job_id: int, *, reason: str,
                           sync_run_id: int | None = None) -> bool:
    """Give the current ``fact_work_orders`` row the SF job id (a new version); False if it had it."""
    current = current_work_order(work_order_id)
    if current is None or current["sf_job_id"] == sf_job_id:
        return False
    merge(FactWorkOrder, [work_order_record(current, sf_job_id=sf_job_id)], sync_run_id=sync_run_id,
          change_reason=reason[:200])
    return True


def log_row(decision: DedupDecision, work_order_id: int, sync_run_id: int | None) -> DuplicateDetectionLog:
    return DuplicateDetectionLog(
        work_order_id=work_order_id, sf_job_id=decision.sf_job_id, rule=decision.rule,
        score=decision.score, decision=decision.decision, reason=decision.reason, sync_run_id=sync_run_id,
    )


def opens_candidate(decision: DedupDecision) -> bool:
    """A near match of its own (not a pending one found again) goes to staff as a DuplicateCandidate."""
    return decision.decision == "review" and decision.rule != "review" and decision.sf_job_id is not None


def record(decision: DedupDecision, work_order_id: int,
           sync_run_id: int | None = None) -> DuplicateDetectionLog:
    """Log a decision in ``duplicate_detection_log`` (R32); back-fill the job id of an exact match (R31b);
    queue a near match for review as a DuplicateCandidate."""
    with transaction.atomic():
        log = log_row(decision, work_order_id, sync_run_id)
        log.save()
        if decision.is_duplicate and decision.backfill and decision.sf_job_id is not None:
            link_work_order_to_job(work_order_id, decision.sf_job_id, sync_run_id=sync_run_id,
                                   reason=f"dedup {decision.rule}: {decision.reason}")
        if opens_candidate(decision):
            DuplicateCandidate.objects.get_or_create(
                work_order_id=work_order_id, sf_job_id=decision.sf_job_id,
                defaults={"rule": decision.rule, "score": decision.score, "reason": decision.reason,
                          "sync_run_id": sync_run_id},
            )
    return log


def resolve_candidate(candidate: DuplicateCandidate, action: str, user, note: str = "") -> DuplicateCandidate:
    """Staff decide a near match: ``link`` (the work order is that job: it takes the job's id) or ``push``
    (not a duplicate: the next planning pass creates its job). The decision is logged like any other."""
    if action not in ("link", "push"):
        raise ValueError(f"action must be 'link' or 'push', got {action!r}")
    who = getattr(user, "get_username", lambda: "system")()
    with transaction.atomic():
        candidate.state = (DuplicateCandidate.State.LINKED if action == "link"
                           else DuplicateCandidate.State.PUSHED)
        candidate.decided_by = user
        candidate.decided_at = timezone.now()
        candidate.note = note
        candidate.save()
        why = f"staff ({who}) {'linked' if action == 'link' else 'pushed'}: {note}".rstrip(": ")
        if action == "link":
            link_work_order_to_job(candidate.work_order_id, candidate.sf_job_id, reason=why)
        DuplicateDetectionLog.objects.create(
            work_order_id=candidate.work_order_id, sf_job_id=candidate.sf_job_id, rule="review",
            score=candidate.score, decision="duplicate" if action == "link" else "create", reason=why,
        )
    return candidate
