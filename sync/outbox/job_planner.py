"""What planning a work order's job reads from the warehouse, once per step (``JobPlanner``), and the one
decision of the unit the job goes to (R22-R24, ``JobPlanner.unit_for``), kept on the job's outbox row."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import cached_property

from django.utils import timezone

from sync.engine.cursors import get_cursor
from sync.loaders.mappings import mapped_customers
from sync.loaders.rows import Lookup, current_rows, text
from sync.models import OutboxItem
from sync.outbox.customers import BUILDING
from sync.outbox.jobs import JobHandler
from sync.outbox.payloads import job_body
from sync.policies.dedup import DedupService, description_similarity, temporal_score
from sync.policies.units import decide_job_unit, flag_unit_problem, unit_cases, unit_ids_by_building
from warehouse.models import DimBuilding, DimTenant, DimUnit, DimVendor, FactLease, UnitMapping

__all__ = ["JobPlanner", "WO_FIELDS"]

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
        # Read for the work orders being planned (prepare); a work order not prepared is read on a miss.
        self.buildings = Lookup(_read_buildings)
        self.building_units = Lookup(unit_ids_by_building)
        self.unit_cases = Lookup(unit_cases)  # work order → its unit correction cases, by original unit
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
        self.unit_cases.prefetch(wo["work_order_id"] for wo in todo)
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
    def techs(self) -> dict[int | None, int]:
        return self._map_vendors_to_techs()

    def _map_vendors_to_techs(self) -> dict[int | None, int]:
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

    def unit_for(self, wo: dict) -> tuple[dict, str, list[str]]:
        """R22-R24, decided here once for the job (the sender uses what the row keeps): the work order with
        the unit its job goes to, why it waits for staff ("" when it does not), and the unit names its
        description lists (several units). A unit cleared for the first time opens a correction case."""
        named = []
        if len(wo.get("unit_ids") or []) > 1:
            named = [(self.unit_rows.get(u) or {}).get("name") or str(u) for u in wo["unit_ids"]]
        wo_id, building_id = wo["work_order_id"], wo["building_id"]
        flags = self.ctx.flags
        unit = decide_job_unit(
            wo,
            self.buildings.get(building_id),
            self.building_units.get(building_id, set()),
            self.unit_cases.get(wo_id, {}),
            safe_mode=flags.safe_mode,
        )
        if unit.open_case and not self.ctx.dry_run:
            flag_unit_problem(
                wo_id, unit.decision, building_id=building_id, flags=flags, sync_run_id=self.ctx.run_id
            )
        return {**wo, "unit_id": unit.decision.unit_id}, unit.hold, named

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
            if temporal_score(similarity, flags, other_work_order=True) is not None:
                return other["work_order_id"], f"description similarity {similarity:.2f}"
        return None

    def category(self, pw_category: str | None) -> str:
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


