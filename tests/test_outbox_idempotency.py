"""The outbox writes each record once: ambiguous POSTs are looked up before any second POST (R35), failures
retry with backoff then dead-letter (staff retry or ignore), rows are claimed by a conditional UPDATE, and
repeated network failures open the circuit without losing a row."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sync.engine.pipeline import STEP_NAMES
from sync.engine.runner import run_sync
from sync.models import OutboxItem, StepRun, SyncError, SyncRun
from sync.outbox.staff import ignore_items, retry_items
from sync.policies.flags import set_flag
from tests.engine_support import live, sf_jobs_by_work_order
from warehouse.models import CustomerMapping, FactWorkOrder

pytestmark = pytest.mark.django_db
State = OutboxItem.State


def _customers_first():
    """Everything up to the job push, so a test's faults hit the job POSTs only."""
    run_sync(
        steps=[
            n for n in STEP_NAMES if n not in ("getSFInvoices", "pushWorkOrdersToSF", "pushJobUpdatesToPW")
        ]
    )


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_504"])
def test_a_job_post_whose_answer_is_lost_is_found_not_posted_again(sims, fault):
    pw, sf = sims
    live()
    _customers_first()
    sf.faults.configure(method="POST", path="/v1/jobs", times=1, **{fault: 1.0})

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert sf.faults.fired_counts()[fault] == 1
    per_wo = sf_jobs_by_work_order(sf)
    assert per_wo and set(per_wo.values()) == {1}
    recovered = OutboxItem.objects.get(kind="job", result__recovered=True)
    assert recovered.state == State.SENT and recovered.attempts == 2
    wo_id = recovered.context["work_order_id"]
    assert FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id == recovered.result["id"]
    assert SyncError.objects.filter(record_key=recovered.key, recovery_action__contains="looked up").exists()


def test_a_dead_letter_whose_job_was_created_after_all_is_settled_once_a_pull_finds_the_job(sims, settings):
    pw, sf = sims
    live()
    _customers_first()
    settings.SYNC = {**settings.SYNC, "OUTBOX_MAX_ATTEMPTS": 1}  # the first unknown outcome is final
    sf.faults.configure(method="POST", path="/v1/jobs", times=1, commit_then_504=1.0)
    run_sync()
    dead = OutboxItem.objects.get(kind="job", state=State.DEAD)
    assert dead.ambiguous  # the job may exist: it does
    wo_id = dead.context["work_order_id"]
    assert sf_jobs_by_work_order(sf)[wo_id] == 1
    assert FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id is None

    run = run_sync()  # getSFJobs brings the job in; the dead row's work order meets it in dedup

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    dead.refresh_from_db()
    assert dead.state == State.SENT and dead.result["recovered"] and not dead.ambiguous
    assert sf_jobs_by_work_order(sf)[wo_id] == 1
    job_id = dead.result["id"]
    assert FactWorkOrder.objects.get(work_order_id=wo_id, is_current=True).sf_job_id == job_id
    assert OutboxItem.objects.get(key=f"pw:link:WO-{wo_id}").state == State.SENT
    wo = next(w for w in pw.store.work_orders() if w["ID"] == wo_id)
    custom = {f["fieldName"]: f["value"] for f in wo.get("customFields") or ()}
    assert custom.get("sfJobId") == str(job_id)


def test_a_dead_letter_whose_write_never_happened_stays_dead(sims, settings):
    pw, sf = sims
    live()
    _customers_first()
    settings.SYNC = {**settings.SYNC, "OUTBOX_MAX_ATTEMPTS": 1}
    sf.faults.configure(method="POST", path="/v1/jobs", times=1, p500=1.0)  # refused: nothing created
    run_sync()
    dead = OutboxItem.objects.get(kind="job", state=State.DEAD)
    jobs_before = len(sf.store.jobs())

    assert run_sync().status == SyncRun.Status.SUCCEEDED

    dead.refresh_from_db()
    assert dead.state == State.DEAD  # staff decide; nothing was posted again
    assert len(sf.store.jobs()) == jobs_before


def test_a_customer_post_whose_answer_is_lost_is_found_not_posted_again(sims):
    pw, sf = sims
    live()
    sf.faults.configure(method="POST", path="/v1/customers", times=2, commit_then_drop=1.0)

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    names = [c["customer_name"] for c in sf.store.customers()]
    assert len(names) == len(set(names)), "a customer was created twice"
    recovered = OutboxItem.objects.filter(result__recovered=True)
    assert recovered.count() == 2
    for row in recovered:
        entity = row.context["entity_type"]
        mapping = CustomerMapping.objects.get(
            entity_type=entity,
            pw_portfolio_id=row.context["portfolio_id"],
            pw_building_id=row.context.get("building_id"),
        )
        assert mapping.sf_customer_id == row.result["id"] and mapping.status == "mapped"


def test_server_errors_are_retried_with_backoff_and_write_once(sims):
    pw, sf = sims
    live()
    _customers_first()
    sf.faults.configure(method="POST", path="/v1/jobs", times=3, p503=1.0)

    run = run_sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    assert set(sf_jobs_by_work_order(sf).values()) == {1}
    assert OutboxItem.objects.filter(kind="job", state=State.SENT, attempts__gt=1).exists()


def test_a_rejected_job_becomes_a_dead_letter_staff_can_retry(sims):
    pw, sf = sims
    live(SF_JOB_CF_UNIT_ID="unitNumber")  # a label ServiceFusion does not have: every job with a unit → 422

    run = run_sync()

    dead = OutboxItem.objects.filter(kind="job", state=State.DEAD)
    assert dead.exists() and run.status == SyncRun.Status.SUCCEEDED  # a bad record never stops the run
    row = dead.first()
    assert row.attempts == 1 and "unitNumber" in row.last_error and row.payload["check_number"]
    assert not sf_jobs_by_work_order(sf).get(row.context["work_order_id"])
    # A dead letter is not planned again by itself ...
    run_sync()
    assert OutboxItem.objects.get(pk=row.pk).state == State.DEAD
    # ... staff fix the label and retry it: the next run re-plans the row with the fixed body and sends it.
    set_flag("SF_JOB_CF_UNIT_ID", "unitId", reason="test: the real label")
    assert retry_items(dead) == dead.count()
    run_sync()
    assert OutboxItem.objects.get(pk=row.pk).state == State.SENT
    assert sf_jobs_by_work_order(sf)[row.context["work_order_id"]] == 1


def test_an_ignored_row_is_never_sent(sims):
    pw, sf = sims
    live(SF_JOB_CF_UNIT_ID="unitNumber")
    run_sync()
    row = OutboxItem.objects.filter(kind="job", state=State.DEAD).first()
    set_flag("SF_JOB_CF_UNIT_ID", "unitId", reason="test")

    assert ignore_items([row], "staff: handled by phone") == 1
    run_sync()

    assert OutboxItem.objects.get(pk=row.pk).state == State.IGNORED
    assert row.context["work_order_id"] not in sf_jobs_by_work_order(sf)
    with pytest.raises(ValueError):
        ignore_items([row], " ")


def test_a_row_is_claimed_by_one_sender_only():
    row = OutboxItem.objects.create(key="job:WO-1", kind="job", payload={})

    assert OutboxItem.objects.claim(row.pk, run_id=None) is True
    assert OutboxItem.objects.claim(row.pk, run_id=None) is False  # already sending
    row.refresh_from_db()
    assert row.state == State.SENDING and row.attempts == 1 and row.ambiguous is True
    # A failed row waits for its next attempt time.
    OutboxItem.objects.filter(pk=row.pk).update(
        state=State.FAILED, next_attempt_at=timezone.now() + timezone.timedelta(hours=1)
    )
    assert OutboxItem.objects.claim(row.pk, run_id=None) is False


def test_repeated_network_failures_open_the_circuit_and_lose_nothing(sims):
    pw, sf = sims
    live(CIRCUIT_BREAKER_FAILURES=3)
    _customers_first()
    sf.faults.configure(method="POST", path="/v1/jobs", p503=1.0)

    run = run_sync()

    steps = {s.name: s for s in run.steps.all()}
    assert run.status == SyncRun.Status.FAILED
    assert steps["pushWorkOrdersToSF"].status == StepRun.Status.FAILED
    assert "consecutive network failures" in steps["pushWorkOrdersToSF"].message
    assert steps["pushJobUpdatesToPW"].status == StepRun.Status.SKIPPED  # it depends on the job push
    assert not OutboxItem.objects.filter(kind="job", state=State.DEAD).exists()
    waiting = OutboxItem.objects.filter(kind="job", state__in=[State.FAILED, State.PLANNED]).count()
    assert waiting > 0

    sf.faults.clear()
    again = run_sync()

    assert again.status == SyncRun.Status.SUCCEEDED
    per_wo = sf_jobs_by_work_order(sf)
    assert set(per_wo.values()) == {1}
    assert OutboxItem.objects.filter(kind="job", state=State.SENT).count() == len(per_wo)


def test_an_unsettled_job_for_a_work_order_closed_since_is_looked_up_and_not_posted(sims, settings):
    pw, sf = sims
    live()
    _customers_first()
    # The retry falls after this run.
    settings.SYNC = {**settings.SYNC, "OUTBOX_BACKOFF_BASE": 3600.0, "OUTBOX_BACKOFF_MAX": 7200.0}
    sf.faults.configure(method="POST", path="/v1/jobs", times=1, p503=1.0)
    run_sync()
    row = OutboxItem.objects.get(kind="job", state=State.FAILED)
    assert row.ambiguous  # a 503 after sending: SF may or may not have the job
    wo_id = row.context["work_order_id"]
    pw.store.edit_work_order(wo_id, status="Closed")
    OutboxItem.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # its retry is due
    posts = sum(n for k, n in sf.request_counts().items() if k == "POST /v1/jobs")

    run_sync()

    row.refresh_from_db()
    assert row.state == State.IGNORED and "no longer open" in row.hold_reason
    assert sum(n for k, n in sf.request_counts().items() if k == "POST /v1/jobs") == posts
    assert wo_id not in sf_jobs_by_work_order(sf)
