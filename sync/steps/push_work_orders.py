"""pushWorkOrdersToSF: an SF job for every open PW work order that has none (R20), planned in the outbox as
``job:WO-<id>`` after the building's customer (R12), the unit (R24) and dedup (R31, R32) are decided from the
pull's data, and sent (the sender checks PropertyWare first); the job id goes back to PW (R21)."""

from __future__ import annotations

from django.db import transaction

from sync.engine.context import StepSkipped
from sync.loaders.rows import chunks
from sync.models import OutboxItem
from sync.outbox.job_planner import WO_FIELDS, JobPlanner
from sync.outbox.jobs import JobHandler, PwLinkHandler, job_key, link_key
from sync.outbox.planning import hold_again, plan, plan_write, settle_found, settle_unneeded
from sync.outbox.propertyware import PwReads
from sync.outbox.sender import Sender
from sync.policies.dedup import TEMPORAL_SCORE, DedupDecision
from sync.policies.status import is_open
from warehouse.models import FactJob, FactWorkOrder

JOB = OutboxItem.Kind.JOB


def candidates(ctx) -> list[dict]:
    """Current open work orders without an SF job whose job row is not settled (sent, dead, ignored).

    A dead row whose last write may have happened stays a candidate: once a pull has brought its job in,
    the dedup service finds it and the row is settled as sent, the job linked (otherwise it stays dead).
    """
    rows = FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=True)
    # Most work orders without a job are closed: ask only for the statuses PW_OPEN_STATUSES calls open.
    statuses = set(rows.values_list("status", flat=True).distinct())
    rows = rows.filter(status__in=[s for s in statuses if is_open(s, ctx.flags)]).order_by("work_order_id")
    found = list(rows.values(*WO_FIELDS))
    settled: set[str] = set()
    for part in chunks([job_key(r["work_order_id"]) for r in found], 500):
        settled.update(
            OutboxItem.objects.filter(kind=JOB, key__in=part, state__in=OutboxItem.SETTLED)
            .exclude(state=OutboxItem.State.DEAD, ambiguous=True)
            .values_list("key", flat=True)
        )
    return [r for r in found if job_key(r["work_order_id"]) not in settled]


def _settle_stale_rows(ctx, keys: set[str]) -> None:
    """Job rows waiting for work orders that are no longer candidates (closed, linked, gone). A row whose
    last write may have happened stays: the sender looks its job up first, then settles it."""
    stale = OutboxItem.objects.filter(
        kind=JOB,
        state__in=[OutboxItem.State.PLANNED, OutboxItem.State.FAILED, OutboxItem.State.HELD],
        ambiguous=False,
    ).exclude(key__in=keys)
    for key in stale.values_list("key", flat=True):
        ctx.count(
            "unplanned", settle_unneeded(key, "the work order no longer needs a job (closed or linked)")
        )


def run(ctx) -> None:
    if not ctx.flags.enable_service_fusion:
        raise StepSkipped("ENABLE_SERVICE_FUSION is off: no ServiceFusion jobs created")
    planner = JobPlanner(ctx)
    todo = candidates(ctx)
    ctx.count("candidates", len(todo))
    planner.prepare(todo)
    _settle_stale_rows(ctx, {job_key(w["work_order_id"]) for w in todo})
    if ctx.dry_run:
        _plan_all(ctx, planner, todo)
        return
    # Jobs go out while later work orders are still planned: the SF allowance is never idle. The job
    # handler's read of each work order is the one its link's write starts from (one PW read, not two).
    reads = PwReads()
    with Sender(ctx, [JobHandler(reads), PwLinkHandler(reads)]).sending_while_planning(count_as="sent"):
        _plan_all(ctx, planner, todo)
    ctx.count(
        "created",
        OutboxItem.objects.filter(
            kind=JOB, run_id=ctx.run_id, state=OutboxItem.State.SENT, sent_at__isnull=False
        ).count(),
    )


def _plan_all(ctx, planner: JobPlanner, todo: list[dict]) -> None:
    """Plan each work order from the warehouse as the pull left it, then hold the rest again."""
    for wo in todo:
        _guarded(ctx, job_key(wo["work_order_id"]), _plan_work_order, ctx, planner, wo)
    for key, body, context, hold in hold_again(ctx, JOB, planner.held_rows):
        _guarded(ctx, key, _hold, ctx, key, body, context, hold)
    planner.dedup.flush()


def _guarded(ctx, key: str, plan_one, *args) -> None:
    try:
        plan_one(*args)
    except Exception as exc:  # noqa: BLE001 - a bad record never stops the run
        ctx.error("pushWorkOrdersToSF.plan", exc, recovery="work order skipped this run", record_key=key)


def _hold(ctx, key: str, body: dict, context: dict, reason: str) -> None:
    with transaction.atomic():
        plan_write(ctx, key, JOB, body, context=context, hold_reason=reason)


def _linked(ctx, key: str, wo_id: int, sf_job_id: int, pw_field: str, reason: str) -> None:
    """A job SF already has: an interrupted create of ours is settled as sent (found), any other plan for
    the work order as not needed; the job id is planned back to PW."""
    if not settle_found(key, {"id": sf_job_id, "via": "dedup"}):
        settle_unneeded(key, f"duplicate of SF job {sf_job_id}: {reason}")
    number = (
        FactJob.objects.filter(is_current=True, job_id=sf_job_id).values_list("number", flat=True).first()
    )
    plan(
        link_key(wo_id),
        OutboxItem.Kind.PW_JOB_LINK,
        {"sf_job_id": sf_job_id, "sf_job_number": number or ""},
        run_id=ctx.run_id,
        dry_run=False,
        context={"work_order_id": wo_id, "pw_field": pw_field},
    )


def _job_context(ctx, wo: dict) -> dict:
    """What a job row keeps besides its body: the work order, the building and units PW named when it was
    planned (the sender compares them with PW's copy), the unit decided for the job, the PW field for its
    id."""
    return {
        "work_order_id": wo["work_order_id"],
        "building_id": wo["building_id"],
        "unit_ids": sorted(wo.get("unit_ids") or []),
        "status": wo["status"],
        "unit_id": wo.get("unit_id"),
        "pw_field": ctx.flags.pw_sf_job_id_field,
    }


def _plan_work_order(ctx, planner: JobPlanner, wo: dict) -> None:
    wo_id, key = wo["work_order_id"], job_key(wo["work_order_id"])
    building = planner.buildings.get(wo["building_id"]) or {}
    customer = planner.customers.get(wo["building_id"])
    hold = "" if customer else f"building {wo['building_id']} has no ServiceFusion customer (unmapped)"
    named: list[str] = []
    if not hold:
        wo, hold, named = planner.unit_for(wo)
    context = _job_context(ctx, wo)
    if hold and not ctx.dry_run:
        # Held before any duplicate check (no customer, unit waiting for staff): planned with the other
        # rows held again, most of them in one update (hold_again).
        body = planner.body(wo, customer, building, named) if customer else {"check_number": f"WO-{wo_id}"}
        planner.held_rows.append((key, body, context, hold))
        return
    twin = None
    with transaction.atomic():
        if not hold:
            decision = planner.dedup.check(planner.dedup_view(wo))
            if not ctx.dry_run:
                if key in planner.in_review and decision.decision != "duplicate":
                    planner.dedup.record_later(decision, wo_id, ctx.run_id)  # nothing else changes
                else:
                    planner.dedup.record(decision, wo_id, ctx.run_id)
            if decision.decision == "duplicate":
                # dedup's record() back-fills the work order's sf_job_id (R31b); PW learns it too (R21).
                ctx.count("linked")
                if not ctx.dry_run and decision.sf_job_id:
                    _linked(ctx, key, wo_id, int(decision.sf_job_id), context["pw_field"], decision.reason)
                return
            if key in planner.in_review:
                # Staff decide this row: planning would leave it as it is. Unless the check found a
                # likely job for it, it counts as planned here, so a work order like it in this run waits.
                if decision.decision != "review":
                    planner.note_planned(wo, customer)
                ctx.count("already_planned")
                return
            if decision.decision == "review":
                hold = (
                    f"possible duplicate of SF job {decision.sf_job_id} (score {decision.score:.2f}): "
                    f"{decision.reason}"
                )
            elif twin := planner.planned_twin(wo, customer):
                # Two work orders alike enough for R31c, both new: SF has neither job yet, so the dedup
                # service cannot see the pair. The second waits; next run it meets the first one's job.
                hold = f"possible duplicate of work order {twin[0]}, planned in this run ({twin[1]})"
                if not ctx.dry_run:
                    planner.dedup.record(
                        DedupDecision("review", TEMPORAL_SCORE, "temporal", None, hold), wo_id, ctx.run_id
                    )
        body = planner.body(wo, customer, building, named) if customer else {"check_number": f"WO-{wo_id}"}
        if not hold and ctx.flags.safe_mode:
            refused = planner.handler.validate(ctx, body, context)
            hold = f"safe mode: {refused}" if refused else ""
        if not hold:
            planner.note_planned(wo, customer)
        row, outcome = plan_write(ctx, key, JOB, body, context=context, hold_reason=hold)
        if twin and outcome == "held" and not ctx.dry_run:
            # Staff decide (retry: not a duplicate; ignore: it is); planning does not reopen it.
            OutboxItem.objects.filter(pk=row.pk).update(review=True)


__all__ = ["candidates", "run"]
