"""Job deduplication (R31-R32, R34): each rule in order, thresholds from the flags, every decision in
duplicate_detection_log, back-fills of exact matches, and the staff review queue for near matches."""
from datetime import timedelta

import pytest
from django.utils import timezone

from sync.errors import DuplicateRecord, RemoteValidationError
from sync.models import DuplicateCandidate, DuplicateDetectionLog
from sync.policies.dedup import (
    DedupService,
    description_similarity,
    is_duplicate_error,
    record,
    resolve_candidate,
)
from sync.policies.flags import read_flags, set_flag
from tests.warehouse_rows import job, map_building, versions, work_order
from warehouse.models import FactWorkOrder

LEAK = "Leaking kitchen faucet in unit 4, water under the sink"
LEAK_AGAIN = "URGENT: leaking kitchen faucet in unit 4 - water under sink"  # the same words: 1.0
LEAK_NEAR = "URGENT: leaking kitchen faucet in unit 4 - water under sink and on the floor"  # one more: 7/8


def test_description_similarity_is_a_token_jaccard_after_normalisation():
    assert description_similarity("Leaking faucet!", "leaking   FAUCET") == 1.0
    assert description_similarity("URGENT: no heat", "No heat") == 1.0
    assert description_similarity(LEAK, LEAK_AGAIN) == 1.0
    assert description_similarity(LEAK, LEAK_NEAR) == pytest.approx(7 / 8)
    assert description_similarity("", "anything") == 0.0


def test_duplicate_errors_go_to_the_dedup_handler_by_type_not_by_message():
    assert is_duplicate_error(DuplicateRecord("Duplicate check number", system="servicefusion"))
    assert is_duplicate_error(DuplicateRecord("already taken", system="servicefusion"))  # wording aside
    # The wording is the clients' to read: an error of another type is not a duplicate whatever it says.
    assert not is_duplicate_error(RemoteValidationError("Duplicate check number", system="servicefusion"))
    assert not is_duplicate_error(RuntimeError("timeout"))


pytestmark_db = pytest.mark.django_db


def _wo(work_order_id=42, **fields):
    fields.setdefault("description", LEAK)
    fields.setdefault("created_date", timezone.now())
    fields.setdefault("number", 1042)
    row = work_order(work_order_id, building_id=10, **fields)
    return FactWorkOrder.objects.current().filter(pk=row.pk).values().get()


@pytestmark_db
def test_a_work_order_with_a_job_id_is_a_duplicate():
    decision = DedupService(read_flags()).check(_wo(sf_job_id=9001))
    assert (decision.decision, decision.rule, decision.score, decision.sf_job_id) == (
        "duplicate", "mapping", 1.0, 9001)


@pytestmark_db
def test_a_job_carrying_the_work_order_id_is_a_duplicate_and_back_fills():
    wo = _wo()
    job(9002, work_order_id=42, description="other words entirely")
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.rule, decision.sf_job_id, decision.backfill) == (
        "duplicate", "mapping", 9002, True)
    log = record(decision, 42, sync_run_id=3)
    assert (log.rule, log.score, log.decision) == ("mapping", 1.0, "duplicate")
    assert (log.sf_job_id, log.sync_run_id) == (9002, 3)
    old, new = versions(42)
    assert (old.sf_job_id, new.sf_job_id, new.is_current) == (None, 9002, True)
    assert new.change_reason.startswith("dedup mapping: SF job 9002 carries PW work order id 42")
    # Once linked, rule (a) answers from the work order itself.
    again = DedupService(read_flags()).check({"work_order_id": 42})
    assert again.reason == "work order already has SF job 9002"


@pytest.mark.parametrize("fields,matched", [
    ({"check_number": "WO-42"}, "WO-42"),
    ({"check_number": "1042"}, "1042"),  # the PW work order number
    ({"po_number": "WO-42"}, "WO-42"),
])
@pytestmark_db
def test_a_job_with_the_check_number_is_a_duplicate(fields, matched):
    wo = _wo()
    job(9003, customer_id=777, description="unrelated", **fields)
    job(9004, check_number="WO-420")  # exact compare: WO-420 is another work order
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.rule, decision.score, decision.sf_job_id) == (
        "duplicate", "check_number", 1.0, 9003)
    assert matched in decision.reason
    record(decision, 42)
    assert FactWorkOrder.objects.current().get(work_order_id=42).sf_job_id == 9003


@pytestmark_db
def test_a_similar_job_for_the_same_customer_in_the_window_goes_to_review():
    map_building(10, 500)
    wo = _wo()
    job(9005, customer_id=500, days_ago=3, description=LEAK_NEAR)
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.rule, decision.score, decision.sf_job_id) == (
        "review", "temporal", 0.875, 9005)
    assert "similarity 0.88 > 0.8" in decision.reason
    log = record(decision, 42, sync_run_id=4)
    assert (log.decision, log.rule) == ("review", "temporal")
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.work_order_id, candidate.sf_job_id, candidate.state, candidate.score) == (
        42, 9005, "pending", 0.875)
    assert FactWorkOrder.objects.current().get(work_order_id=42).sf_job_id is None  # nothing linked
    # Asked again, still one candidate.
    record(DedupService(read_flags()).check(wo), 42)
    assert DuplicateCandidate.objects.count() == 1


@pytest.mark.parametrize("job_fields", [
    {"customer_id": 500, "days_ago": 10, "description": LEAK_AGAIN},  # outside the 7-day window
    {"customer_id": 501, "days_ago": 1, "description": LEAK_AGAIN},  # another customer
    {"customer_id": 500, "days_ago": 1, "description": "Replace smoke detector batteries"},
])
@pytestmark_db
def test_jobs_that_differ_do_not_match(job_fields):
    map_building(10, 500)
    wo = _wo()
    job(9006, **job_fields)
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.sf_job_id, decision.score) == ("create", None, 0.0)
    log = record(decision, 42)
    assert (log.decision, log.rule) == ("create", "none") and "within 7 days" in log.reason
    assert not DuplicateCandidate.objects.exists()


@pytestmark_db
def test_the_customer_can_be_given_and_an_unmapped_building_creates():
    wo = _wo()
    job(9007, customer_id=500, days_ago=1, description=LEAK_NEAR)
    assert DedupService(read_flags()).check(wo).reason == "no SF customer known for the building"
    assert DedupService(read_flags()).check({**wo, "sf_customer_id": 500}).decision == "review"


@pytestmark_db
def test_thresholds_and_window_come_from_the_flags():
    map_building(10, 500)
    wo = _wo()
    job(9008, customer_id=500, days_ago=10, description=LEAK_NEAR)
    assert DedupService(read_flags()).check(wo).decision == "create"
    set_flag("DEDUP_WINDOW_DAYS", "14", reason="test")
    assert DedupService(read_flags()).check(wo).decision == "review"
    set_flag("DEDUP_CONFIDENCE", "0.875", reason="test")
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.backfill) == ("duplicate", False)  # skipped, not linked
    set_flag("DEDUP_CONFIDENCE", "0.99", reason="test")
    set_flag("DEDUP_REVIEW_THRESHOLD", "0.95", reason="test")
    assert DedupService(read_flags()).check(wo).decision == "create"
    set_flag("DEDUP_REVIEW_THRESHOLD", "0.8", reason="test")
    set_flag("DEDUP_DESCRIPTION_SIMILARITY", "0.875", reason="test")  # 0.875 must be exceeded
    assert DedupService(read_flags()).check(wo).decision == "create"


@pytestmark_db
def test_a_reworded_job_entered_in_servicefusion_is_skipped_as_a_duplicate():
    map_building(10, 500)
    wo = _wo(unit_id=4)
    job(9020, customer_id=500, days_ago=2, description="water under the sink: kitchen faucets leak, UNIT 4!")
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.rule, decision.score, decision.sf_job_id) == (
        "duplicate", "temporal", 1.0, 9020)
    assert not decision.backfill  # a near match is skipped, never written onto the work order
    assert "description similarity 1.00 > 0.8" in decision.reason


@pytestmark_db
def test_a_job_of_another_work_order_at_another_unit_is_not_a_duplicate():
    map_building(10, 500)
    work_order(41, building_id=10, unit_id=3)
    wo = _wo(unit_id=4)
    job(9009, customer_id=500, days_ago=1, description=LEAK, work_order_id=41)
    assert DedupService(read_flags()).check(wo).decision == "create"
    work_order(43, building_id=10, unit_id=4)
    job(9010, customer_id=500, days_ago=1, description=LEAK, work_order_id=43)
    decision = DedupService(read_flags()).check(wo)
    assert decision.sf_job_id == 9010
    # The same words, but the job is work order 43's: staff decide whether 42 is the same job.
    assert (decision.decision, decision.score) == ("review", 0.9)
    assert decision.reason.endswith("; it is PW work order 43's job, so at most 0.9")


@pytestmark_db
def test_without_a_unit_the_building_is_compared():
    map_building(10, 500)
    map_building(11, 500)  # one SF customer for two buildings
    work_order(41, building_id=11)
    wo = _wo()  # building 10, no unit
    job(9021, customer_id=500, days_ago=1, description=LEAK, work_order_id=41)
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.sf_job_id) == ("create", None)
    assert "at the work order's unit or building" in decision.reason
    work_order(43, building_id=10, unit_id=3)  # a unit on one side only: the buildings agree
    job(9022, customer_id=500, days_ago=1, description=LEAK, work_order_id=43)
    assert DedupService(read_flags()).check(wo).sf_job_id == 9022


@pytestmark_db
def test_staff_push_a_candidate_and_it_is_created(django_user_model):
    staff = django_user_model.objects.create_user("ops")
    map_building(10, 500)
    wo = _wo()
    job(9011, customer_id=500, days_ago=2, description=LEAK_NEAR)
    record(DedupService(read_flags()).check(wo), 42)
    candidate = DuplicateCandidate.objects.get()
    resolve_candidate(candidate, "push", staff, note="different faucet")
    candidate.refresh_from_db()
    assert (candidate.state, candidate.decided_by, candidate.note) == ("pushed", staff, "different faucet")
    assert candidate.decided_at is not None
    staff_log = DuplicateDetectionLog.objects.filter(rule="review").get()
    assert (staff_log.decision, staff_log.reason) == ("create", "staff (ops) pushed: different faucet")
    assert DedupService(read_flags()).check(wo).decision == "create"


@pytestmark_db
def test_staff_link_a_candidate_and_the_work_order_takes_the_job(django_user_model):
    staff = django_user_model.objects.create_user("ops")
    map_building(10, 500)
    wo = _wo()
    job(9012, customer_id=500, days_ago=2, description=LEAK_NEAR)
    record(DedupService(read_flags()).check(wo), 42)
    resolve_candidate(DuplicateCandidate.objects.get(), "link", staff)
    assert DuplicateCandidate.objects.get().state == "linked"
    current = FactWorkOrder.objects.current().get(work_order_id=42)
    assert current.sf_job_id == 9012 and current.change_reason == "staff (ops) linked"
    decision = DedupService(read_flags()).check({"work_order_id": 42})
    assert (decision.decision, decision.rule) == ("duplicate", "mapping")
    with pytest.raises(ValueError, match="link' or 'push"):
        resolve_candidate(DuplicateCandidate.objects.get(), "ignore", staff)


@pytestmark_db
def test_a_pending_review_keeps_the_work_order_back():
    map_building(10, 500)
    wo = _wo()
    job(9013, customer_id=500, days_ago=2, description=LEAK_NEAR)
    record(DedupService(read_flags()).check(wo), 42)
    # The job's description is edited in SF; the pair still waits for staff.
    job(9013, customer_id=500, days_ago=2, description="Completely different now")
    decision = DedupService(read_flags()).check(wo)
    assert (decision.decision, decision.rule, decision.sf_job_id) == ("review", "review", 9013)
    record(decision, 42)
    assert DuplicateCandidate.objects.count() == 1


@pytestmark_db
def test_jobs_are_read_once_per_service_until_refreshed():
    map_building(10, 500)
    wo = _wo()
    service = DedupService(read_flags())
    assert service.check(wo).decision == "create"
    job(9014, check_number="WO-42", created_at=timezone.now() - timedelta(hours=1))
    assert service.check(wo).decision == "create"
    service.refresh()
    assert service.check(wo).decision == "duplicate"


@pytestmark_db
def test_decisions_kept_for_later_are_logged_in_one_insert_and_a_near_match_at_once():
    map_building(10, 500)
    wo = _wo()
    other = _wo(43, description="Front door lock sticks")
    job(9005, customer_id=500, days_ago=3, description=LEAK_NEAR)
    service = DedupService(read_flags())

    near, plain = service.check(wo), service.check(other)
    service.record_later(near, 42, sync_run_id=4)
    service.record_later(plain, 43, sync_run_id=4)

    # The near match opened its review at once; the plain "create" waits for flush().
    assert list(DuplicateDetectionLog.objects.values_list("work_order_id", flat=True)) == [42]
    assert DuplicateCandidate.objects.filter(work_order_id=42, state="pending").exists()
    service.flush()
    assert sorted(DuplicateDetectionLog.objects.values_list("work_order_id", "decision")) == [
        (42, "review"), (43, "create")]
    service.flush()  # nothing left to write
    assert DuplicateDetectionLog.objects.count() == 2


@pytestmark_db
def test_a_prepared_service_still_finds_the_jobs_of_a_work_order_it_was_not_prepared_for(
    django_assert_max_num_queries,
):
    map_building(10, 500)
    map_building(11, 501)
    wo = _wo()
    other = _wo(work_order_id=44, number=1044)
    job(9012, customer_id=500, days_ago=1, description="Broken window in the hall")
    job(9013, customer_id=501, days_ago=1, description=LEAK_NEAR)  # the customer of building 11
    job(9014, check_number=" 1044 ", customer_id=777)  # another customer's job carries 44's number
    service = DedupService(read_flags())
    service.prepare([wo, other])
    with django_assert_max_num_queries(0):  # prepared: the checks read nothing more
        assert service.check(wo).decision == "create"
        assert (service.check(other).rule, service.check(other).sf_job_id) == ("check_number", 9014)
    # Checked for building 11, which prepare() did not see: that customer's jobs are read for it, and match.
    moved = service.check({**wo, "building_id": 11})
    assert (moved.decision, moved.sf_job_id) == ("review", 9013)


@pytestmark_db
def test_many_work_orders_are_prepared_by_reading_every_job_once(django_assert_num_queries):
    from sync.loaders.rows import BY_ID_UP_TO

    map_building(10, 500)
    job(9015, customer_id=500, days_ago=1, description=LEAK_AGAIN)
    many = [{"work_order_id": i, "building_id": 10, "sf_customer_id": 500} for i in range(BY_ID_UP_TO + 1)]
    service = DedupService(read_flags())
    with django_assert_num_queries(2):  # every current job, every staff decision
        service.prepare(many)
    with django_assert_num_queries(0):
        assert service.check({**_wo_fields(), "sf_customer_id": 500}).sf_job_id == 9015


def _wo_fields() -> dict:
    return {"work_order_id": 42, "building_id": 10, "sf_job_id": None, "description": LEAK,
            "created_date": timezone.now(), "number": 1042}
