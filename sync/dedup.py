"""Job deduplication (business rules R31-R32, R34): before a job is created for a work order, decide
whether ServiceFusion already has it — by mapping, by check number, or by a similar job for the same
customer in a time window — log every decision, and queue near matches for staff review.

Customer matching (R33) lives in ``sync.customer_match`` and is re-exported here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rapidfuzz.utils import default_process

from sync.customer_match import CustomerMatch, cached_match_customer, match_customer
from sync.fact_edits import current_work_order, work_order_record
from sync.flags import Flags
from sync.models import DuplicateCandidate, DuplicateDetectionLog
from sync.signals import work_order_released
from warehouse.models import CustomerMapping, FactJob, FactWorkOrder
from warehouse.scd import merge

__all__ = [
    "CustomerMatch",
    "DedupDecision",
    "DedupService",
    "cached_match_customer",
    "description_similarity",
    "is_duplicate_error",
    "link_work_order_to_job",
    "match_customer",
    "record",
    "resolve_candidate",
]

MAPPING_SCORE = CHECK_NUMBER_SCORE = 1.0
TEMPORAL_SCORE = 0.9


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


def _tokens(text: str | None) -> set[str]:
    # default_process lower-cases and turns punctuation into spaces; the "URGENT: " prefix the sync
    # adds to emergency jobs is not part of the problem description.
    processed = default_process(text or "")
    if processed.startswith("urgent "):
        processed = processed[len("urgent "):]
    return set(processed.split())


def description_similarity(a: str | None, b: str | None) -> float:
    """Token Jaccard of two descriptions (R31c), after rapidfuzz's normalisation."""
    left, right = _tokens(a), _tokens(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def is_duplicate_error(exc: BaseException) -> bool:
    """R34: an error whose message mentions "duplicate" goes to the dedup handler (skip, continue)."""
    return "duplicate" in str(exc).lower()


def _get(wo: Any, *names: str) -> Any:
    for name in names:
        value = wo.get(name) if isinstance(wo, Mapping) else getattr(wo, name, None)
        if value not in (None, ""):
            return value
    return None


class DedupService:
    """Checks work orders against the current ``fact_jobs`` rows, read once per service (per step).

    ``check(work_order)`` reads: ``work_order_id`` (or ``id``), ``number``, ``sf_job_id``,
    ``description``, ``created_date``, ``building_id``, ``unit_id`` and optionally ``sf_customer_id`` (the
    building's SF customer; looked up in ``customer_mappings`` when absent).
    """

    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self._loaded = False
        self._pending_logs: list[DuplicateDetectionLog] = []

    # --- the index over current jobs, built on first use ---------------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        self._by_work_order: dict[int, dict] = {}
        self._by_reference: dict[str, dict] = {}
        self._by_customer: dict[int, list[dict]] = defaultdict(list)
        columns = ("job_id", "number", "customer_id", "check_number", "po_number", "work_order_id",
                   "description", "created_at", "status")
        for job in FactJob.objects.current().values(*columns).order_by("job_id").iterator(chunk_size=2000):
            if job["work_order_id"] is not None:
                self._by_work_order.setdefault(job["work_order_id"], job)
            for ref in {(job["check_number"] or "").strip(), (job["po_number"] or "").strip()} - {""}:
                self._by_reference.setdefault(ref, job)
            if job["customer_id"] is not None:
                self._by_customer[job["customer_id"]].append(job)
        self._customers = dict(
            CustomerMapping.objects.filter(entity_type="building", sf_customer_id__isnull=False)
            .values_list("pw_building_id", "sf_customer_id")
        )
        # Staff decisions on near matches, for every work order at once (a step checks hundreds).
        self._decided: dict[int, dict[int, str]] = defaultdict(dict)
        decisions = DuplicateCandidate.objects.values_list("work_order_id", "sf_job_id", "state")
        for wo_id, job_id, state in decisions:
            self._decided[wo_id][job_id] = state
        self._units: dict[int, int | None] | None = None  # work order → unit, read on first need
        self._loaded = True

    def refresh(self) -> None:
        """Re-read the jobs (after a pull during the same step)."""
        self._loaded = False

    # --- decisions -----------------------------------------------------------------------------------

    def _decide(self, score: float, rule: str, sf_job_id: int | None, reason: str,
                backfill: bool = False) -> DedupDecision:
        if score >= self.flags.dedup_confidence:
            return DedupDecision("duplicate", score, rule, sf_job_id, reason, backfill)
        if score >= self.flags.dedup_review_threshold:
            return DedupDecision("review", score, rule, sf_job_id, reason)
        return DedupDecision("create", score, rule, sf_job_id, reason)

    def check(self, work_order: Mapping) -> DedupDecision:
        """R31 in order (a) mapping, (b) check number, (c) temporal similarity; R32 thresholds."""
        self._load()
        wo_id = int(_get(work_order, "work_order_id", "id"))
        own = _get(work_order, "sf_job_id")
        if own is None and not (isinstance(work_order, Mapping) and "sf_job_id" in work_order):
            own = (FactWorkOrder.objects.current().filter(work_order_id=wo_id)
                   .values_list("sf_job_id", flat=True).first())
        if own is not None:
            return self._decide(MAPPING_SCORE, "mapping", int(own), f"work order already has SF job {own}")
        job = self._by_work_order.get(wo_id)
        if job is not None:
            return self._decide(MAPPING_SCORE, "mapping", job["job_id"],
                                f"SF job {job['job_id']} carries PW work order id {wo_id}", backfill=True)
        check = f"WO-{wo_id}"
        job = self._by_reference.get(check)
        number = _get(work_order, "number")
        if job is None and number is not None:
            job = self._by_reference.get(str(number).strip())
            check = str(number).strip()
        if job is not None:
            return self._decide(CHECK_NUMBER_SCORE, "check_number", job["job_id"],
                                f"SF job {job['job_id']} has check/PO number {check}", backfill=True)
        return self._temporal(work_order, wo_id)

    def _temporal(self, work_order: Mapping, wo_id: int) -> DedupDecision:
        decided = dict(self._decided.get(wo_id, {}))
        linked = [job for job, state in decided.items() if state == DuplicateCandidate.State.LINKED]
        if linked:
            return self._decide(MAPPING_SCORE, "review", linked[0],
                                f"staff linked the work order to SF job {linked[0]}", backfill=True)
        customer = _get(work_order, "sf_customer_id")
        if customer is None:
            customer = self._customers.get(_get(work_order, "building_id"))
        if customer is None:
            return DedupDecision("create", 0.0, "none", None, "no SF customer known for the building")
        created = _get(work_order, "created_date") or timezone.now()
        if not isinstance(created, datetime):
            created = datetime.combine(created, datetime.min.time())
        if timezone.is_naive(created):
            created = timezone.make_aware(created)
        window = timedelta(days=self.flags.dedup_window_days)
        threshold = self.flags.dedup_description_similarity
        best: tuple[float, dict] | None = None
        for job in self._by_customer.get(int(customer), ()):
            if decided.get(job["job_id"]) == DuplicateCandidate.State.PUSHED:
                continue  # staff said this pair is not a duplicate
            if job["created_at"] is None or abs(job["created_at"] - created) > window:
                continue
            if not self._same_location(work_order, job):
                continue
            similarity = description_similarity(_get(work_order, "description"), job["description"])
            if similarity > threshold and (best is None or similarity > best[0]):
                best = (similarity, job)
        pending = [job for job, state in decided.items() if state == DuplicateCandidate.State.PENDING]
        if best is None:
            if pending:
                return DedupDecision("review", TEMPORAL_SCORE, "review", pending[0],
                                     f"waiting for staff review against SF job {pending[0]}")
            return DedupDecision("create", 0.0, "none", None,
                                 f"no SF job for customer {customer} within {self.flags.dedup_window_days} "
                                 f"days with description similarity above {threshold}")
        similarity, job = best
        days = abs(job["created_at"] - created).total_seconds() / 86400
        return self._decide(TEMPORAL_SCORE, "temporal", job["job_id"],
                            f"SF job {job['job_id']} for customer {customer} created {days:.1f} days apart, "
                            f"description similarity {similarity:.2f} > {threshold}")

    def _same_location(self, work_order: Mapping, job: Mapping) -> bool:
        """Location counts only when both sides know it: the job's own work order's unit against ours."""
        ours = _get(work_order, "unit_id")
        if ours is None or job["work_order_id"] is None:
            return True
        if self._units is None:
            self._units = dict(FactWorkOrder.objects.current().values_list("work_order_id", "unit_id"))
        theirs = self._units.get(job["work_order_id"])
        return theirs is None or int(theirs) == int(ours)

    def record(self, decision: DedupDecision, work_order_id: int,
               sync_run_id: int | None = None) -> DuplicateDetectionLog:
        log = record(decision, work_order_id, sync_run_id)
        if self._loaded and _opens_candidate(decision):
            self._decided[work_order_id].setdefault(decision.sf_job_id, DuplicateCandidate.State.PENDING)
        return log

    def record_later(self, decision: DedupDecision, work_order_id: int,
                     sync_run_id: int | None = None) -> None:
        """``record`` a decision that only needs its log row, in one insert with the others (``flush``);
        one that links or opens a review is recorded at once."""
        if (decision.is_duplicate and decision.backfill) or _opens_candidate(decision):
            self.record(decision, work_order_id, sync_run_id)
            return
        self._pending_logs.append(_log_row(decision, work_order_id, sync_run_id))

    def flush(self) -> None:
        """Write the log rows ``record_later`` kept."""
        DuplicateDetectionLog.objects.bulk_create(self._pending_logs, batch_size=500)
        self._pending_logs = []


def link_work_order_to_job(work_order_id: int, sf_job_id: int, *, reason: str,
                           sync_run_id: int | None = None) -> bool:
    """Give the current ``fact_work_orders`` row the SF job id (a new version); False if it had it."""
    current = current_work_order(work_order_id)
    if current is None or current["sf_job_id"] == sf_job_id:
        return False
    merge(FactWorkOrder, [work_order_record(current, sf_job_id=sf_job_id)], sync_run_id=sync_run_id,
          change_reason=reason[:200])
    return True


def _log_row(decision: DedupDecision, work_order_id: int, sync_run_id: int | None) -> DuplicateDetectionLog:
    return DuplicateDetectionLog(
        work_order_id=work_order_id, sf_job_id=decision.sf_job_id, rule=decision.rule,
        score=decision.score, decision=decision.decision, reason=decision.reason, sync_run_id=sync_run_id,
    )


def _opens_candidate(decision: DedupDecision) -> bool:
    """A near match of its own (not a pending one found again) goes to staff as a DuplicateCandidate."""
    return decision.decision == "review" and decision.rule != "review" and decision.sf_job_id is not None


def record(decision: DedupDecision, work_order_id: int,
           sync_run_id: int | None = None) -> DuplicateDetectionLog:
    """Log a decision in ``duplicate_detection_log`` (R32); back-fill the job id of an exact match (R31b);
    queue a near match for review as a DuplicateCandidate."""
    with transaction.atomic():
        log = _log_row(decision, work_order_id, sync_run_id)
        log.save()
        if decision.is_duplicate and decision.backfill and decision.sf_job_id is not None:
            link_work_order_to_job(work_order_id, decision.sf_job_id, sync_run_id=sync_run_id,
                                   reason=f"dedup {decision.rule}: {decision.reason}")
        if _opens_candidate(decision):
            DuplicateCandidate.objects.get_or_create(
                work_order_id=work_order_id, sf_job_id=decision.sf_job_id,
                defaults={"rule": decision.rule, "score": decision.score, "reason": decision.reason,
                          "sync_run_id": sync_run_id},
            )
    return log


def resolve_candidate(candidate: DuplicateCandidate, action: str, user, note: str = "") -> DuplicateCandidate:
    """Staff decide a near match: ``link`` (the work order is that job: it takes the job's id) or ``push``
    (not a duplicate: create a job). The decision is logged like any other."""
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
        if action == "push":
            transaction.on_commit(lambda: work_order_released.send(
                sender=DuplicateCandidate, work_order_id=candidate.work_order_id, reason=why,
                source="duplicate_review"))
    return candidate
