"""pushWorkOrdersToSF: an SF job for every open PW work order that has none (R20), planned in the outbox
as ``job:WO-<id>`` and sent; the new job id goes to fact_work_orders and back to PW (R21).

Before a job is planned, in the rules' order: the PW work order is re-read (PW_WO_VERIFY_STRICT), its
building must be mapped (R12), its unit validated again (R24; held for correction in safe mode), and the
dedup service consulted (R31, R32: duplicates are linked, near matches held for review). Held rows say why.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import cached_property

from django.db import transaction
from django.utils import timezone

from sync.engine.context import StepSkipped
from sync.engine.cursors import get_cursor
from sync.loaders.mappings import mapped_customers
from sync.loaders.rows import Lookup, chunks, current_rows, text
from sync.models import OutboxItem
from sync.outbox.core import Sender, hold_again, plan, plan_write, settle_found, settle_unneeded
from sync.outbox.customers import BUILDING
from sync.outbox.jobs import JobHandler, PwLinkHandler, link_key
from sync.outbox.payloads import job_body
from sync.outbox.propertyware import REREAD_BATCH
from sync.policies.dedup import TEMPORAL_SCORE, DedupDecision, DedupService, description_similarity
from sync.policies.status import is_open, normalise_status
from sync.policies.units import flag_unit_problem, held_work_order_ids, unit_ids_by_building, validate_unit
from warehouse.models import (
    DimBuilding,
    DimTenant,
    DimUnit,
    DimVendor,
    FactJob,
    FactLease,
    FactWorkOrder,
    UnitMapping,
)

JOB = OutboxItem.Kind.JOB
#: what JobPlanner reads of dim_building (location, R23's multi-unit) and dim_unit (location, names)
BUILDING_FIELDS = ("name", "address", "address2", "city", "state", "zip", "multi_unit")
UNIT_FIELDS = ("name", "abbreviation", "address", "city", "state", "zip")
TWIN_FIELDS = ("work_order_id", "unit_id", "created_date", "description")
WO_FIELDS = (
    "work_order_id",
    "number",
    "portfolio_id",
    "building_id",
    "unit_id",
    "unit_ids",
    "vendor_id",
    "lease_id",
    "status",
    "priority",
    "category",
    "description",
    "created_date",
    "sf_job_id",
    "unit_problem",
)


# Readers of what JobPlanner looks up, for some ids or (None) all: the columns a job's location, contact and
# the unit rules read.
def _read_buildings(ids: list | None) -> dict:
    return current_rows(DimBuilding, "building_id", ids, BUILDING_FIELDS)


def _read_units(ids: list | None) -> dict:
    return current_rows(DimUnit, "unit_id", ids, UNIT_FIELDS)


def _read_unit_maps(ids: list | None) -> dict:
    rows = UnitMapping.objects.all() if ids is None else UnitMapping.objects.filter(pw_unit_id__in=ids)
    return {m["pw_unit_id"]: m for m in rows.values("pw_unit_id", "location_nickname")}


def _read_lease_contacts(ids: list | None) -> dict:
    leases = current_rows(FactLease, "lease_id", ids, ["primary_contact_id"])
    return {lease_id: row["primary_contact_id"] for lease_id, row in leases.items()}


def _read_unit_contacts(ids: list | None) -> dict:
    leases = FactLease.objects.filter(is_current=True, active=True, unit_id__isnull=False)
    if ids is not None:
        leases = leases.filter(unit_id__in=ids)
    return dict(leases.values_list("unit_id", "primary_contact_id"))


def _read_tenants(ids: list | None) -> dict:
    return current_rows(DimTenant, "contact_id", ids, ["first_name", "last_name"])


def job_key(work_order_id: int) -> str:
    return f"job:WO-{work_order_id}"


class JobPlanner:
    """What a job needs from the warehouse, read once per step."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        flags = ctx.flags
        self.labels = flags.custom_field_labels()
        self.customers: dict = mapped_customers("building")
        if ctx.dry_run:  # a dry run plans jobs under the customers it planned (MOCK ids)
            mocks = {
                r.context.get("building_id"): r.result.get("id")
                for r in OutboxItem.objects.filter(kind=BUILDING, state=OutboxItem.State.DRY_RUN).exclude(
                    result={}
                )
            }
            self.customers = {**mocks, **self.customers}
        # Read for the work orders being planned (prepare), and on a miss for a work order a re-read moved.
        self.buildings = Lookup(_read_buildings)
        self.building_units = Lookup(unit_ids_by_building)
        self.dedup = DedupService(flags)
        self.handler = JobHandler()
        self.planned: dict = defaultdict(list)  # customer → work orders given a job in this step
        # Job rows staff must decide: planning leaves them as they are.
        self.in_review = set(OutboxItem.objects.filter(kind=JOB, review=True).values_list("key", flat=True))
        self.held_rows: list[tuple[str, dict, dict, str]] = []  # (key, body, context, reason) to hold
        self.today = timezone.localdate()
        # What only a job's body needs, read when the first body is built: a run whose candidates are all
        # held again without one reads none of it.
        self.unit_rows = Lookup(_read_units)
        self.unit_maps = Lookup(_read_unit_maps)
        self.lease_primary = Lookup(_read_lease_contacts)  # lease → its primary tenant
        self.unit_lease = Lookup(_read_unit_contacts)  # unit → the primary tenant of its active lease
        self.tenants = Lookup(_read_tenants)
        self._todo: list[dict] = []
        self._bodies_prepared = False

    def prepare(self, todo: list[dict]) -> None:
        """Read what planning ``todo`` needs up front: buildings, their units, and the jobs dedup compares
        (for the work orders with a customer, the only ones it checks)."""
        self._todo = todo
        buildings = {wo["building_id"] for wo in todo}
        self.buildings.prefetch(buildings)
        self.building_units.prefetch(buildings)
        self.dedup.prepare([self.dedup_view(wo) for wo in todo if self.customers.get(wo["building_id"])])

    def dedup_view(self, wo: dict) -> dict:
        """The work order as the dedup service checks it: with its building's SF customer (a dry run's
        MOCK customer has no jobs to compare with)."""
        customer = self.customers.get(wo["building_id"])
        return {**wo, "sf_customer_id": customer if isinstance(customer, int) else None}

    def _prepare_bodies(self) -> None:
        if self._bodies_prepared:
            return
        self._bodies_prepared = True
        units = {u for wo in self._todo for u in [wo.get("unit_id"), *(wo.get("unit_ids") or ())]}
        self.unit_rows.prefetch(units)
        self.unit_maps.prefetch(units)
        self.lease_primary.prefetch(wo.get("lease_id") for wo in self._todo)
        self.unit_lease.prefetch(units)
        self.tenants.prefetch(
            [self.lease_primary.get(wo.get("lease_id")) for wo in self._todo]
            + [self.unit_lease.get(u) for u in units]
        )

    @cached_property
    def categories(self) -> dict:
        names = get_cursor("servicefusion", "job_categories").state.get("names", [])
        return {c.strip().lower(): c for c in names}

    @cached_property
    def techs(self) -> dict[int, int]:
        return self._map_vendors_to_techs()

    def _map_vendors_to_techs(self) -> dict[int, int]:
        """PW vendor → SF tech by email (dim_vendor.sf_tech_id, a Type-1 column updated in place)."""
        techs = {
            t["email"]: t["id"]
            for t in get_cursor("servicefusion", "techs").state.get("techs", [])
            if t.get("email")
        }
        out = {}
        for vendor_id, email, current in DimVendor.objects.filter(is_current=True).values_list(
            "vendor_id", "email", "sf_tech_id"
        ):
            tech = techs.get((email or "").strip().lower())
            if tech:
                out[vendor_id] = tech
            if tech != current:
                DimVendor.objects.filter(is_current=True, vendor_id=vendor_id).update(sf_tech_id=tech)
        return out

    def note_planned(self, wo: dict, customer) -> None:
        # What planned_twin compares, not the whole work order: every planned one is kept to the end.
        self.planned[customer].append({k: wo.get(k) for k in TWIN_FIELDS})

    def planned_twin(self, wo: dict, customer) -> tuple[int, str] | None:
        """A work order planned earlier in this step for the same customer and unit, created within the
        dedup window, whose description is as similar as R31c asks (the dedup service's measure)."""
        flags = self.ctx.flags
        window = timedelta(days=flags.dedup_window_days)
        for other in self.planned.get(customer, ()):
            if wo.get("unit_id") and other.get("unit_id") and wo["unit_id"] != other["unit_id"]:
                continue
            mine, theirs = wo.get("created_date"), other.get("created_date")
            if mine and theirs and abs(mine - theirs) > window:
                continue
            similarity = description_similarity(wo.get("description"), other.get("description"))
            if similarity > flags.dedup_description_similarity:
                return other["work_order_id"], f"description similarity {similarity:.2f}"
        return None

    def category(self, pw_category: str) -> str:
        found = self.categories.get(text(pw_category).lower())
        if found:
            return found
        default = text(self.ctx.flags.sf_default_category)
        return self.categories.get(default.lower(), "") if default else ""

    def contact(self, wo: dict) -> dict | None:
        primary = self.lease_primary.get(wo.get("lease_id")) or self.unit_lease.get(wo.get("unit_id"))
        return self.tenants.get(primary)

    def location(self, wo: dict, building: dict) -> dict:
        """R24 (4): the unit's location when the unit is known, else the building's primary location."""
        unit = self.unit_rows.get(wo.get("unit_id")) if wo.get("unit_id") else None
        if unit is None:
            return {
                "street_1": building.get("address") or building.get("name"),
                "street_2": building.get("address2"),
                "city": building.get("city"),
                "state_prov": building.get("state"),
                "postal_code": building.get("zip"),
                "location_name": "Primary",
            }
        mapping = self.unit_maps.get(unit["unit_id"]) or {}
        return {
            "street_1": unit.get("address") or building.get("address"),
            "street_2": unit.get("name"),
            "city": unit.get("city") or building.get("city"),
            "state_prov": unit.get("state") or building.get("state"),
            "postal_code": unit.get("zip") or building.get("zip"),
            "location_name": mapping.get("location_nickname") or unit.get("abbreviation") or unit.get("name"),
        }

    def body(self, wo: dict, customer_id, building: dict, units_named: list[str]) -> dict:
        self._prepare_bodies()
        return job_body(
            wo,
            customer_id=customer_id,
            location=self.location(wo, building),
            contact=self.contact(wo),
            tech_id=self.techs.get(wo.get("vendor_id")),
            category=self.category(wo.get("category")),
            labels=self.labels,
            units_named=units_named,
            today=self.today,
        )


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
    settled = set()
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


def reread(ctx, work_orders: list[dict]) -> dict[int, object]:
    """Fresh PW copies of the work orders, 50 ids per call; a failed batch is skipped this run."""
    fresh: dict[int, object] = {}
    for part in chunks([w["work_order_id"] for w in work_orders], REREAD_BATCH):
        try:
            for wo in ctx.pw.iter_work_orders(ids=part):
                fresh[int(wo.id)] = wo
            ctx.network_ok()
        except Exception as exc:
            if not ctx.is_network_failure(exc):
                raise
            ctx.error(
                "pushWorkOrdersToSF.reread",
                exc,
                recovery="these work orders wait for the next run",
                system="pw",
                with_stack=False,
            )
            ctx.network_failed(exc)
            for wo_id in part:
                fresh[wo_id] = exc
    return fresh


def verify(ctx, wo: dict, fresh) -> tuple[dict | None, str]:
    """PW_WO_VERIFY_STRICT (§9): the work order as to push, or None and why it is skipped."""
    if isinstance(fresh, Exception):
        return None, "could not re-read from PropertyWare"
    if fresh is None:
        return None, "no longer in PropertyWare"
    if not is_open(fresh.status, ctx.flags):
        return None, f"closed in PropertyWare ({fresh.status})"
    fresh_units = sorted(int(u) for u in fresh.unit_ids or ())
    mismatches = [
        name
        for name, ours, theirs in (
            ("status", normalise_status(wo["status"]), normalise_status(fresh.status)),
            ("building", wo["building_id"], int(fresh.building_id) if fresh.building_id else None),
            ("unit", sorted(wo["unit_ids"] or []), fresh_units),
        )
        if ours != theirs
    ]
    if mismatches and ctx.flags.pw_wo_verify_strict:
        return None, f"differs from PropertyWare in {', '.join(mismatches)} (strict verification)"
    if mismatches:
        ctx.count("verify_warnings")
        wo = {
            **wo,
            "status": text(fresh.status),
            "building_id": int(fresh.building_id) if fresh.building_id else None,
            "unit_ids": fresh_units,
            "description": fresh.description or wo["description"],
        }
    return {**wo, "pw_custom_fields": dict(fresh.custom_fields or {})}, ""


def decide_unit(ctx, planner: JobPlanner, wo: dict, held: set[int]) -> tuple[dict, str, list[str]]:
    """R22–R24 again before the push: (work order with its unit settled, hold reason or "", unit names to
    list in the description). A unit problem waits for staff while SAFE_MODE is on; off, the job goes to
    the building."""
    named = []
    if len(wo.get("unit_ids") or []) > 1:
        named = [(planner.unit_rows.get(u) or {}).get("name") or str(u) for u in wo["unit_ids"]]
    wo_id, building_id = wo["work_order_id"], wo["building_id"]
    if wo_id in held and ctx.flags.safe_mode:
        return (
            wo,
            f"unit problem: {wo.get('unit_problem') or 'see unit corrections'} (held for unit correction)",
            named,
        )
    decision = validate_unit(
        wo, planner.buildings.get(building_id), planner.building_units.get(building_id, set())
    )
    if not decision.cleared:
        return {**wo, "unit_id": decision.unit_id}, "", named
    if not ctx.dry_run:
        flag_unit_problem(wo_id, decision, building_id=building_id, flags=ctx.flags, sync_run_id=ctx.run_id)
    wo = {**wo, "unit_id": None}
    if ctx.flags.safe_mode:
        return wo, f"unit problem: {decision.problem} (held for unit correction)", named
    return wo, "", named


def run(ctx) -> None:
    if not ctx.flags.enable_service_fusion:
        raise StepSkipped("ENABLE_SERVICE_FUSION is off: no ServiceFusion jobs created")
    planner = JobPlanner(ctx)
    todo = candidates(ctx)
    ctx.count("candidates", len(todo))
    planner.prepare(todo)
    _settle_stale_rows(ctx, {job_key(w["work_order_id"]) for w in todo})
    held = held_work_order_ids()
    if ctx.dry_run:
        _plan_all(ctx, planner, todo, held)
        return
    # Jobs go out while later work orders are still re-read and planned: the SF allowance is never idle.
    with Sender(ctx, [JobHandler(), PwLinkHandler()]).sending_while_planning(count_as="sent"):
        _plan_all(ctx, planner, todo, held)
    ctx.count(
        "created",
        OutboxItem.objects.filter(
            kind=JOB, run_id=ctx.run_id, state=OutboxItem.State.SENT, sent_at__isnull=False
        ).count(),
    )


# Stands for the PW copy of a work order that waits whatever PropertyWare says, so is not re-read.
NOT_REREAD = object()


def _waits_anyway(ctx, planner: JobPlanner, wo: dict, held: set[int]) -> bool:
    """A work order whose building has no SF customer, whose unit waits for staff (safe mode), or whose
    job row staff must review is held again without a job: re-reading it from PropertyWare first would
    change nothing."""
    wo_id, building_id = wo["work_order_id"], wo["building_id"]
    if not planner.customers.get(building_id) or job_key(wo_id) in planner.in_review:
        return True
    if not ctx.flags.safe_mode:
        return False
    if wo_id in held:
        return True
    building = planner.buildings.get(building_id)
    return validate_unit(wo, building, planner.building_units.get(building_id, set())).cleared


def _plan_all(ctx, planner: JobPlanner, todo: list[dict], held: set[int]) -> None:
    """Re-read and plan the work orders that may get a job a batch at a time (one getWorkOrders call per
    batch), then hold the rest again."""
    waiting = [wo for wo in todo if _waits_anyway(ctx, planner, wo, held)]
    waiting_ids = {wo["work_order_id"] for wo in waiting}
    for part in chunks([wo for wo in todo if wo["work_order_id"] not in waiting_ids], REREAD_BATCH):
        fresh = reread(ctx, part)
        for wo in part:
            _plan_guarded(ctx, planner, wo, fresh.get(wo["work_order_id"]), held)
    for wo in waiting:
        _plan_guarded(ctx, planner, wo, NOT_REREAD, held)
    for key, body, context, hold in hold_again(ctx, JOB, planner.held_rows):
        _guarded(ctx, key, _hold, ctx, key, body, context, hold)
    planner.dedup.flush()


def _plan_guarded(ctx, planner, wo, fresh, held) -> None:
    _guarded(ctx, job_key(wo["work_order_id"]), _plan_work_order, ctx, planner, wo, fresh, held)


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
    """What a job row keeps besides its body: the work order, its building and unit, the PW field."""
    return {
        "work_order_id": wo["work_order_id"],
        "building_id": wo["building_id"],
        "unit_id": wo.get("unit_id"),
        "pw_field": ctx.flags.pw_sf_job_id_field
        if ctx.flags.pw_sf_job_id_field in wo["pw_custom_fields"]
        else "",
    }


def _plan_work_order(ctx, planner, wo, fresh, held) -> None:
    wo_id, key = wo["work_order_id"], job_key(wo["work_order_id"])
    if fresh is NOT_REREAD:  # held below whatever PW says (see _waits_anyway)
        wo, why = {**wo, "pw_custom_fields": {}}, ""
    else:
        wo, why = verify(ctx, wo, fresh)
    if wo is None:
        ctx.count("skipped")
        ctx.error(
            "pushWorkOrdersToSF.verify",
            f"WO {wo_id}: {why}",
            recovery="skipped this run",
            record_key=key,
            system="pw",
            with_stack=False,
        )
        return
    building = planner.buildings.get(wo["building_id"]) or {}
    customer = planner.customers.get(wo["building_id"])
    hold = "" if customer else f"building {wo['building_id']} has no ServiceFusion customer (unmapped)"
    named: list[str] = []
    if not hold:
        wo, hold, named = decide_unit(ctx, planner, wo, held)
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


__all__ = ["JobPlanner", "candidates", "job_key", "run", "verify"]
