"""pushPortfoliosToSF: SF customers for portfolios, then for buildings as their children (R9–R12): matched
within their portfolio's customers (R11) or planned (``customer:<portfolio|building>:<id>``) and sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache

from django.db import transaction
from django.db.models import Q

from sync.engine.context import StepSkipped
from sync.loaders.mappings import mapped_customers, save_mapping
from sync.loaders.rows import BY_ID_UP_TO
from sync.models import OutboxItem
from sync.outbox.customers import BUILDING, PORTFOLIO, CustomerHandler, customer_labels
from sync.outbox.payloads import building_customer_body, portfolio_customer_body
from sync.outbox.planning import hold_again, plan_write, settle_unneeded
from sync.outbox.sender import Sender
from sync.outbox.staff import retry_items
from sync.policies.customer_match import candidate_view, match_customer
from warehouse.models import (
    CustomerMapping,
    DimBuilding,
    DimPortfolio,
    DimTenant,
    DimUnit,
    FactLease,
    SfCustomerCache,
)
from warehouse.models.dimensions import ADDRESS_FIELDS

# The columns the customer bodies and matching read (sync.outbox.payloads): planning holds every active
# portfolio, building, unit and tenant at once.
PORTFOLIO_FIELDS = ("portfolio_id", "name", "owner_first_name", "owner_last_name", "owner_email")
BUILDING_FIELDS = ("building_id", "portfolio_id", "name", "multi_unit", *ADDRESS_FIELDS)
UNIT_FIELDS = ("unit_id", "building_id", "name", "abbreviation", *ADDRESS_FIELDS)
TENANT_FIELDS = ("contact_id", "lease_id", "first_name", "last_name", "email", "phone")
#: How an outbox row this step settled because its customer was matched begins its reason.
MATCHED = "matched SF customer"


def _cache_rows() -> dict[int | None, list[dict]]:
    """Every cached SF customer by its parent customer's id (None: top-level), with only what matching
    reads of it. Matching looks only under an entity's own parent (R11, ``in_scope``), so each entity is
    scored against its portfolio's children, not the whole account.

    Read on first use (see ``cache`` below): a run where every customer is mapped or held needs none.
    """
    rows = SfCustomerCache.objects.values(
        "sf_customer_id", "name", "parent_customer_id", "custom_fields", "contacts", "locations"
    )
    by_parent: dict[int | None, list[dict]] = defaultdict(list)
    for row in rows.iterator(chunk_size=500):
        by_parent[row["parent_customer_id"]].append(candidate_view(row))
    return by_parent


def _chosen_create(entity_type: str) -> set[int]:
    """PW ids whose mapping says "create" (staff's "let the sync create it", or a create already planned):
    that choice is final, and matching never replaces it with a link or a review."""
    id_field = "pw_building_id" if entity_type == "building" else "pw_portfolio_id"
    return set(
        CustomerMapping.objects.filter(entity_type=entity_type, status="create")
        .exclude(**{f"{id_field}__isnull": True})
        .values_list(id_field, flat=True)
    )


def _plan_one(
    ctx,
    *,
    kind,
    key,
    entity_type,
    entity,
    portfolio_id,
    building_id,
    body,
    candidates: Callable[[], dict[int | None, list[dict]]],
    create_chosen=False,
    hold_reason="",
) -> None:
    """Link, send to review, hold or plan one customer; the mapping row changes in the same transaction.

    ``create_chosen``: the mapping already says "create"; it is planned as it is, never matched again.
    """
    mapping = {"portfolio_id": portfolio_id, "building_id": building_id}
    with transaction.atomic():
        if not hold_reason and not create_chosen:
            # R11/R33: a customer SF already has is linked (or sent to review), never created again: a PW id
            # in custom fields or an exact name under the same parent links it; a fuzzy match goes to review.
            # Only customers under the entity's own parent are candidates (in_scope).
            match = match_customer(entity, candidates().get(entity["parent_sf_id"], ()), ctx.flags)
            if match.decision in ("link", "review"):
                ctx.count("linked" if match.decision == "link" else "review")
                if not ctx.dry_run:
                    save_mapping(
                        entity_type,
                        **mapping,
                        sf_customer_id=match.sf_customer_id,
                        method=match.mapping_method,
                        confidence=min(1.0, match.score),
                        status="mapped" if match.decision == "link" else "review",
                    )
                    settle_unneeded(key, f"{MATCHED} ({match.reason}); not created")
                return
        if not ctx.dry_run:
            # A row an earlier match settled is written after all: staff chose "create", or the match was
            # outside the portfolio (_reviews_outside_portfolio).
            retry_items(OutboxItem.objects.filter(key=key, state=OutboxItem.State.IGNORED,
                                                  hold_reason__startswith=MATCHED))
        if not hold_reason and ctx.flags.safe_mode:
            refused = CustomerHandler(kind, entity_type).validate(ctx, body, {})
            hold_reason = f"safe mode: {refused}" if refused else ""
        _, outcome = plan_write(
            ctx, key, kind, body, context={"entity_type": entity_type, **mapping}, hold_reason=hold_reason
        )
        # A mapping that already says "create" keeps its row as it is (staff's method, its history).
        if outcome == "planned" and not ctx.dry_run and not create_chosen:
            save_mapping(
                entity_type,
                **mapping,
                sf_customer_id=None,
                method="",
                confidence=0.0,
                status="create",
                only_if_unmapped=True,
            )


def _skip(entity_type: str):
    """PW ids whose mapping is mapped or waiting for review: nothing to plan for them (a subquery, so the
    database leaves them out rather than this step reading every portfolio or building)."""
    id_field = "pw_building_id" if entity_type == "building" else "pw_portfolio_id"
    return (
        CustomerMapping.objects.filter(entity_type=entity_type, status__in=["mapped", "review"])
        .exclude(status="mapped", sf_customer_id__isnull=True)
        .exclude(**{f"{id_field}__isnull": True})  # NOT IN with a NULL would leave nothing
        .values(id_field)
    )


def _dry_run_ids(kind: str) -> dict[int, str]:
    """PW id → MOCK id of customers a dry run planned: children plan against them."""
    field = "building_id" if kind == BUILDING else "portfolio_id"
    return {
        row.context.get(field): row.result.get("id")
        for row in OutboxItem.objects.filter(kind=kind, state=OutboxItem.State.DRY_RUN).exclude(result={})
    }


def plan_portfolios(ctx) -> None:
    portfolios = DimPortfolio.objects.filter(is_current=True, active=True).exclude(
        portfolio_id__in=_skip("portfolio")
    )
    todo = list(portfolios.order_by("portfolio_id").values(*PORTFOLIO_FIELDS))
    if not todo:
        return
    labels, candidates = customer_labels(ctx.flags), cache(_cache_rows)
    chosen = _chosen_create("portfolio")
    for p in todo:
        _plan_one(
            ctx,
            kind=PORTFOLIO,
            key=f"customer:portfolio:{p['portfolio_id']}",
            entity_type="portfolio",
            entity={
                "kind": "portfolio",
                "pw_id": p["portfolio_id"],
                "name": p["name"],
                "emails": [p["owner_email"]] if p["owner_email"] else [],
                "parent_sf_id": None,
            },
            portfolio_id=p["portfolio_id"],
            building_id=None,
            body=portfolio_customer_body(p, labels),
            candidates=candidates,
            create_chosen=p["portfolio_id"] in chosen,
        )


# Buildings are created with their units as locations and their active tenants as contacts: SF v1 cannot
# add either later.
def _units_and_tenants(building_ids: list[int]) -> tuple[dict, dict]:
    """building id → its active units, and → its current lease tenants (the building body's parts)."""
    units, tenants = defaultdict(list), defaultdict(list)
    unit_rows = DimUnit.objects.filter(is_current=True, active=True)
    leases = FactLease.objects.filter(is_current=True, active=True)
    if len(building_ids) <= BY_ID_UP_TO:
        unit_rows = unit_rows.filter(building_id__in=building_ids)
        leases = leases.filter(building_id__in=building_ids)
    for u in unit_rows.order_by("unit_id").values(*UNIT_FIELDS):
        units[u["building_id"]].append(u)
    lease_building = dict(leases.values_list("lease_id", "building_id"))
    for t in (
        DimTenant.objects.filter(is_current=True, lease_id__in=list(lease_building))
        .order_by("contact_id")
        .values(*TENANT_FIELDS)
    ):
        tenants[lease_building[t["lease_id"]]].append(t)
    return units, tenants


def _reviews_outside_portfolio(parents: dict) -> set[int]:
    """Buildings waiting in review for a customer that is not a child of their portfolio's customer (as
    matching proposed before it kept to the portfolio, R11): they are matched again."""
    proposed = CustomerMapping.objects.filter(
        entity_type="building", status="review", sf_customer_id__isnull=False
    )
    parent_of = dict(
        SfCustomerCache.objects.filter(sf_customer_id__in=proposed.values("sf_customer_id")).values_list(
            "sf_customer_id", "parent_customer_id"
        )
    )
    return {
        building
        for building, portfolio, sf_id in proposed.values_list(
            "pw_building_id", "pw_portfolio_id", "sf_customer_id"
        )
        if building is not None and sf_id is not None and parents.get(portfolio)
        and parent_of.get(sf_id, parents[portfolio]) != parents[portfolio]
    }


def plan_buildings(ctx) -> None:
    parents: dict = mapped_customers("portfolio")
    buildings = DimBuilding.objects.filter(is_current=True, active=True).filter(
        ~Q(building_id__in=_skip("building")) | Q(building_id__in=_reviews_outside_portfolio(parents))
    )
    todo = list(buildings.order_by("building_id").values(*BUILDING_FIELDS))
    if not todo:
        return
    labels, candidates = customer_labels(ctx.flags), cache(_cache_rows)
    chosen = _chosen_create("building")
    inactive = set(
        DimPortfolio.objects.filter(is_current=True, active=False).values_list("portfolio_id", flat=True)
    )
    if ctx.dry_run:
        parents = {**_dry_run_ids(PORTFOLIO), **parents}
    units, tenants = _units_and_tenants([b["building_id"] for b in todo])
    held = []  # buildings whose portfolio has no customer: held again, most in one update (hold_again)
    for b in todo:
        parent = parents.get(b["portfolio_id"])
        key = f"customer:building:{b['building_id']}"
        body = building_customer_body(b, parent, units[b["building_id"]], tenants[b["building_id"]], labels)
        if not parent:
            why = "is inactive" if b["portfolio_id"] in inactive else "has no ServiceFusion customer yet"
            context = {
                "entity_type": "building",
                "portfolio_id": b["portfolio_id"],
                "building_id": b["building_id"],
            }
            held.append((key, body, context, f"portfolio {b['portfolio_id']} {why}"))
            continue
        _plan_one(
            ctx,
            kind=BUILDING,
            key=key,
            entity_type="building",
            entity={
                "kind": "building",
                "pw_id": b["building_id"],
                "name": b["address"] or b["name"],
                "address": b["address"],
                "parent_sf_id": parent,
            },
            portfolio_id=b["portfolio_id"],
            building_id=b["building_id"],
            candidates=candidates,
            create_chosen=b["building_id"] in chosen,
            body=body,
        )
    for key, body, context, reason in hold_again(ctx, BUILDING, held):
        with transaction.atomic():
            plan_write(ctx, key, BUILDING, body, context=context, hold_reason=reason)


def run(ctx) -> None:
    if not ctx.flags.enable_service_fusion:
        raise StepSkipped("ENABLE_SERVICE_FUSION is off: no ServiceFusion customers created")
    if ctx.dry_run:
        plan_portfolios(ctx)
        plan_buildings(ctx)
        return
    # Customers go out while later ones are still matched and planned; buildings only once every
    # portfolio (their parent) has its customer.
    with Sender(ctx, [CustomerHandler(PORTFOLIO, "portfolio")]).sending_while_planning(count_as="created"):
        plan_portfolios(ctx)
    with Sender(ctx, [CustomerHandler(BUILDING, "building")]).sending_while_planning(count_as="created"):
        plan_buildings(ctx)


__all__ = ["plan_buildings", "plan_portfolios", "run"]
