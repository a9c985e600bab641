"""Job deduplication scoring (R31-R32, R34): whether ServiceFusion already has a work order's job — by
mapping, check number, or a similar job at the same place in a time window. How descriptions compare lives in
``sync.policies.dedup_text``; what a decision records in ``sync.policies.dedup_records``: both re-exported."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.db.models.functions import Trim
from django.utils import timezone

from sync.errors import DuplicateRecord
from sync.loaders.rows import BY_ID_UP_TO, Lookup, current_rows
from sync.models import DuplicateCandidate, DuplicateDetectionLog
from sync.policies.customer_match import CustomerMatch, cached_match_customer, match_customer
from sync.policies.dedup_records import (
    DedupDecision,
    link_work_order_to_job,
    log_row,
    opens_candidate,
    record,
    resolve_candidate,
)
from sync.policies.dedup_text import description_similarity
from sync.policies.flags import Flags
from warehouse.models import CustomerMapping, FactJob, FactWorkOrder

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
    "temporal_score",
    "verdict",
]

MAPPING_SCORE = CHECK_NUMBER_SCORE = 1.0
#: The most a time-and-text match can score when the SF job is another PW work order's (and the score of a
#: near match found without a job to compare, such as a twin planned in the same run): staff decide.
TEMPORAL_SCORE = 0.9


def verdict(score: float, flags: Flags) -> str:
    """R32: a score at or above DEDUP_CONFIDENCE is a duplicate, at or above DEDUP_REVIEW_THRESHOLD goes to
    staff, below is created."""
    if score >= flags.dedup_confidence:
        return "duplicate"
    if score >= flags.dedup_review_threshold:
        return "review"
    return "create"


def temporal_score(similarity: float, flags: Flags, *, other_work_order: bool = False) -> float | None:
    """R31c for one SF job in the window at the work order's place: None unless its description's
    similarity exceeds DEDUP_DESCRIPTION_SIMILARITY; else that similarity, at most TEMPORAL_SCORE when the
    job is another PW work order's (two work orders on one job is staff's call, never automatic)."""
    if similarity <= flags.dedup_description_similarity:
        return None
    return min(similarity, TEMPORAL_SCORE) if other_work_order else similarity


def is_duplicate_error(exc: BaseException) -> bool:
    """R34: a DuplicateRecord (clients read the remote's wording) goes to the dedup handler: skip, go on."""
    return isinstance(exc, DuplicateRecord)


def _get(wo: Any, *names: str) -> Any:
    for name in names:
        value = wo.get(name) if isinstance(wo, Mapping) else getattr(wo, name, None)
        if value not in (None, ""):
            return value
    return None


#: the fact_jobs columns a check compares
JOB_COLUMNS = ("job_id", "number", "customer_id", "check_number", "po_number", "work_order_id", "description",
               "created_at", "status")


class _JobIndex:
    """The current ``fact_jobs`` rows a check can match, by work order, by check or PO number and by
    customer, read for the work orders about to be checked (``cover``) or, when they are many, whole.

    Each look-up keeps the lowest job id, as reading every job in id order would."""

    def __init__(self) -> None:
        self.by_work_order: dict[int, dict] = {}
        self.by_reference: dict[str, dict] = {}
        self.by_customer: dict[int, list[dict]] = defaultdict(list)
        self._jobs: set[int] = set()
        self._covered: dict[str, set] = {"work_order_id": set(), "reference": set(), "customer_id": set()}
        self.whole = False

    def read_whole(self) -> None:
        self._add(FactJob.objects.current(), stream=True)
        self.whole = True

    def cover(self, *, work_orders: Iterable[int] = (), references: Iterable[str] = (),
              customers: Iterable[int | None] = ()) -> None:
        """Read the jobs of these work orders, check/PO numbers and customers not read yet, in one query
        (prepare() gives it at most BY_ID_UP_TO work orders; beyond that the whole table is read)."""
        if self.whole:
            return
        wanted: dict[str, set] = {"work_order_id": set(work_orders), "reference": set(references) - {""},
                  "customer_id": set(customers) - {None}}
        match = Q()
        for name, values in wanted.items():
            values -= self._covered[name]
            self._covered[name] |= values
            if not values:
                continue
            if name == "reference":  # compared as the index keeps them: stripped of blanks
                match |= Q(_check__in=sorted(values)) | Q(_po__in=sorted(values))
            else:
                match |= Q(**{f"{name}__in": sorted(values)})
        if match:
            jobs = FactJob.objects.current().annotate(_check=Trim("check_number"), _po=Trim("po_number"))
            self._add(jobs.filter(match))

    def _add(self, queryset, *, stream: bool = False) -> None:
        """Index the jobs of ``queryset``; ``stream``: read them in chunks (the whole table)."""
        customers = set()
        rows = queryset.values(*JOB_COLUMNS).order_by("job_id")
        for job in rows.iterator(chunk_size=2000) if stream else rows:
            if job["job_id"] in self._jobs:
                continue
            self._jobs.add(job["job_id"])
            if job["work_order_id"] is not None:
                _keep_lowest(self.by_work_order, job["work_order_id"], job)
            for ref in {(job["check_number"] or "").strip(), (job["po_number"] or "").strip()} - {""}:
                _keep_lowest(self.by_reference, ref, job)
            if job["customer_id"] is not None:
                self.by_customer[job["customer_id"]].append(job)
                customers.add(job["customer_id"])
        for customer in customers:
            self.by_customer[customer].sort(key=lambda j: j["job_id"])


def _read_decisions(ids: list | None) -> dict[int, dict[int, str]]:
    """Staff decisions on near matches: work order → {SF job: state}, for some work orders or (None) all."""
    rows = DuplicateCandidate.objects.all() if ids is None else DuplicateCandidate.objects.filter(
        work_order_id__in=ids)
    out: dict[int, dict[int, str]] = defaultdict(dict)
    for wo_id, job_id, state in rows.values_list("work_order_id", "sf_job_id", "state"):
        out[wo_id].setdefault(job_id, state)
    return out


def _keep_lowest(index: dict, key, job: dict) -> None:
    if key not in index or index[key]["job_id"] > job["job_id"]:
        index[key] = job


def _references(work_order: Mapping) -> set[str]:
    """The check and PO numbers that would name ``work_order``'s job: ``WO-<id>`` and its PW number."""
    number = _get(work_order, "number")
    return {f"WO-{int(_get(work_order, 'work_order_id', 'id'))}", str(number).strip() if number is not None
            else ""} - {""}


class DedupService:
    """Checks work orders against the current ``fact_jobs`` rows (and staff decisions on near matches).

    ``check(work_order)`` reads: ``work_order_id`` (or ``id``), ``number``, ``sf_job_id``,
    ``description``, ``created_date``, ``building_id``, ``unit_id`` and optionally ``sf_customer_id`` (the
    building's SF customer; looked up in ``customer_mappings`` when absent). The jobs a check can match are
    read when first needed; ``prepare(work_orders)`` reads them for many work orders at once.
    """

    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self._pending_logs: list[DuplicateDetectionLog] = []
        self.refresh()

    def refresh(self) -> None:
        """Forget what was read (after a pull during the same step): later checks read it again."""
        self._jobs = _JobIndex()
        self._decided = Lookup(_read_decisions)  # work order → {job: staff decision}
        self._customers: dict[int | None, int | None] | None = None  # building → SF customer, read on need
        self._places: dict[int, dict] = {}  # work order → its unit and building, for jobs compared by place

    def prepare(self, work_orders: list[Mapping]) -> None:
        """Read what checking ``work_orders`` needs in a few queries: their jobs by id, check number and
        customer, and staff decisions. Beyond ``BY_ID_UP_TO`` work orders, every job is read at once."""
        ids = {int(_get(w, "work_order_id", "id")) for w in work_orders}
        self._decided.prefetch(ids)  # beyond BY_ID_UP_TO, every decision
        if len(ids) > BY_ID_UP_TO:
            self._jobs.read_whole()
            return
        self._jobs.cover(work_orders=ids, references=set().union(*map(_references, work_orders)),
                         customers={self._customer_of(w) for w in work_orders})

    def _customer_of(self, work_order: Mapping) -> int | None:
        customer = _get(work_order, "sf_customer_id")
        if customer is None:
            if self._customers is None:
                self._customers = dict(
                    CustomerMapping.objects.filter(entity_type="building", sf_customer_id__isnull=False)
                    .values_list("pw_building_id", "sf_customer_id")
                )
            customer = self._customers.get(_get(work_order, "building_id"))
        return None if customer is None else int(customer)

    # --- decisions -----------------------------------------------------------------------------------

    def _decide(self, score: float, rule: str, sf_job_id: int | None, reason: str,
                backfill: bool = False) -> DedupDecision:
        decision = verdict(score, self.flags)
        return DedupDecision(decision, score, rule, sf_job_id, reason, backfill and decision == "duplicate")

    def check(self, work_order: Mapping) -> DedupDecision:
        """R31 in order (a) mapping, (b) check number, (c) temporal similarity; R32 thresholds."""
        wo_id = int(_get(work_order, "work_order_id", "id"))
        own = _get(work_order, "sf_job_id")
        if own is None and not (isinstance(work_order, Mapping) and "sf_job_id" in work_order):
            own = (FactWorkOrder.objects.current().filter(work_order_id=wo_id)
                   .values_list("sf_job_id", flat=True).first())
        if own is not None:
            return self._decide(MAPPING_SCORE, "mapping", int(own), f"work order already has SF job {own}")
        customer = self._customer_of(work_order)
        # A work order prepare() did not see is read for here.
        self._jobs.cover(work_orders=[wo_id], references=_references(work_order), customers=[customer])
        job = self._jobs.by_work_order.get(wo_id)
        if job is not None:
            return self._decide(MAPPING_SCORE, "mapping", job["job_id"],
                                f"SF job {job['job_id']} carries PW work order id {wo_id}", backfill=True)
        check = f"WO-{wo_id}"
        job = self._jobs.by_reference.get(check)
        number = _get(work_order, "number")
        if job is None and number is not None:
            job = self._jobs.by_reference.get(str(number).strip())
            check = str(number).strip()
        if job is not None:
            return self._decide(CHECK_NUMBER_SCORE, "check_number", job["job_id"],
                                f"SF job {job['job_id']} has check/PO number {check}", backfill=True)
        return self._temporal(work_order, wo_id, customer)

    def _temporal(self, work_order: Mapping, wo_id: int, customer: int | None) -> DedupDecision:
        decided = dict(self._decided.get(wo_id) or {})
        linked = [job for job, state in decided.items() if state == DuplicateCandidate.State.LINKED]
        if linked:
            return self._decide(MAPPING_SCORE, "review", linked[0],
                                f"staff linked the work order to SF job {linked[0]}", backfill=True)
        if customer is None:
            return DedupDecision("create", 0.0, "none", None, "no SF customer known for the building")
        created = _get(work_order, "created_date") or timezone.now()
        if not isinstance(created, datetime):
            created = datetime.combine(created, datetime.min.time())
        if timezone.is_naive(created):
            created = timezone.make_aware(created)
        window = timedelta(days=self.flags.dedup_window_days)
        threshold = self.flags.dedup_description_similarity
        best: tuple[float, float, dict] | None = None  # score, similarity, job
        jobs = self._jobs.by_customer.get(customer, ())
        for job in jobs:
            if decided.get(job["job_id"]) == DuplicateCandidate.State.PUSHED:
                continue  # staff said this pair is not a duplicate
            if job["created_at"] is None or abs(job["created_at"] - created) > window:
                continue
            if not self._same_place(work_order, job, jobs):
                continue
            similarity = description_similarity(_get(work_order, "description"), job["description"])
            score = temporal_score(similarity, self.flags, other_work_order=job["work_order_id"] is not None)
            if score is not None and (best is None or score > best[0]):
                best = (score, similarity, job)
        pending = [job for job, state in decided.items() if state == DuplicateCandidate.State.PENDING]
        if best is None:
            if pending:
                return DedupDecision("review", TEMPORAL_SCORE, "review", pending[0],
                                     f"waiting for staff review against SF job {pending[0]}")
            return DedupDecision("create", 0.0, "none", None,
                                 f"no SF job for customer {customer} at the work order's unit or building "
                                 f"within {self.flags.dedup_window_days} days with description similarity "
                                 f"above {threshold}")
        score, similarity, job = best
        days = abs(job["created_at"] - created).total_seconds() / 86400
        owner = (f"; it is PW work order {job['work_order_id']}'s job, so at most {TEMPORAL_SCORE}"
                 if score < similarity else "")
        return self._decide(score, "temporal", job["job_id"],
                            f"SF job {job['job_id']} for customer {customer} created {days:.1f} days apart, "
                            f"description similarity {similarity:.2f} > {threshold}{owner}")

    def _same_place(self, work_order: Mapping, job: Mapping, jobs: Iterable[Mapping]) -> bool:
        """R31c's location: the unit when both sides know it, else the building. A job's place is its own
        work order's (read for all the customer's ``jobs`` at once); a job entered in SF, with no work
        order, is placed by its customer, which is the building's."""
        if job["work_order_id"] is None:
            return True
        if job["work_order_id"] not in self._places:
            wanted = {j["work_order_id"] for j in jobs if j["work_order_id"] is not None}
            wanted -= self._places.keys()
            found = current_rows(FactWorkOrder, "work_order_id", wanted, ["unit_id", "building_id"])
            self._places.update({w: found.get(w) or {} for w in wanted})
        theirs = self._places[job["work_order_id"]]
        for field in ("unit_id", "building_id"):
            mine, other = _get(work_order, field), theirs.get(field)
            if mine is not None and other is not None:
                return int(mine) == int(other)
        return True

    def record(self, decision: DedupDecision, work_order_id: int,
               sync_run_id: int | None = None) -> DuplicateDetectionLog:
        log = record(decision, work_order_id, sync_run_id)
        if opens_candidate(decision):
            self._decided.setdefault(work_order_id, {}).setdefault(
                decision.sf_job_id, DuplicateCandidate.State.PENDING
            )
        return log

    def record_later(self, decision: DedupDecision, work_order_id: int,
                     sync_run_id: int | None = None) -> None:
        """``record`` a decision that only needs its log row, in one insert with the others (``flush``);
        one that links or opens a review is recorded at once."""
        if (decision.is_duplicate and decision.backfill) or opens_candidate(decision):
            self.record(decision, work_order_id, sync_run_id)
            return
        self._pending_logs.append(log_row(decision, work_order_id, sync_run_id))

    def flush(self) -> None:
        """Write the log rows ``record_later`` kept."""
        DuplicateDetectionLog.objects.bulk_create(self._pending_logs, batch_size=500)
        self._pending_logs = []
