"""How the outbox writes SF customers (``customer:portfolio:<id>``, ``customer:building:<id>``, lease
customers): POST /customers, recovery by name and PW id, the mapping and caches kept in step."""

from __future__ import annotations

from django.utils import timezone

from sync.loaders.mappings import pw_ids_of_customer, save_mapping
from sync.loaders.rows import load, text
from sync.models import OutboxItem
from sync.outbox.protocol import WriteHandler, is_remote_id
from warehouse.models import DimCustomer, SfCustomerCache

__all__ = ["BUILDING", "PORTFOLIO", "CustomerHandler", "customer_labels", "upsert_cache_from_body"]

PORTFOLIO, BUILDING = OutboxItem.Kind.PORTFOLIO_CUSTOMER, OutboxItem.Kind.BUILDING_CUSTOMER


def customer_labels(flags) -> dict[str, str]:
    return {
        "portfolio_id": flags.sf_customer_cf_portfolio_id,
        "building_id": flags.sf_customer_cf_building_id,
    }


def upsert_cache_from_body(sf_customer_id: int, body: dict) -> None:
    """Keep the cache in step with a customer we created, from what we sent (no extra GET)."""
    fields = {f["name"]: f["value"] for f in body.get("custom_fields") or ()}
    parent = body.get("parent_customer")
    SfCustomerCache.objects.update_or_create(
        sf_customer_id=sf_customer_id,
        defaults={
            "name": body.get("customer_name", ""),
            "parent_customer_id": parent if isinstance(parent, int) else None,
            "contacts": body.get("contacts") or [],
            "locations": body.get("locations") or [],
            "custom_fields": fields,
            "fetched_at": timezone.now(),
        },
    )


class CustomerHandler(WriteHandler):
    """POST /customers for one planned customer; recovery looks it up by name and PW id."""

    system = "sf"

    def __init__(self, kind: str, entity_type: str) -> None:
        self.kind = kind
        self.entity_type = entity_type

    def validate(self, ctx, body, context) -> str:
        if not (body.get("customer_name") or "").strip():
            return "customer name is empty"
        if self.entity_type != "portfolio" and not is_remote_id(ctx, body.get("parent_customer")):
            return "parent customer is not mapped"
        if any(not (loc.get("street_1") or "").strip() for loc in body.get("locations") or ()):
            return "a location has no street address"
        return ""

    def is_ours(self, ctx, row, customer) -> bool:
        """Whether an SF customer is the one this row creates (its PW id in the custom fields)."""
        portfolio_id, building_id = pw_ids_of_customer(customer.custom_fields or {}, ctx.flags)
        if self.entity_type == "building":
            return building_id == row.context.get("building_id")
        return building_id is None and portfolio_id == row.context.get("portfolio_id")

    def recover(self, ctx, row):
        # Name filters are partial: every candidate is checked by its PW id.
        for customer in ctx.sf.iter_customers(filters={"name": row.payload["customer_name"]}):
            if self.is_ours(ctx, row, customer):
                return _result(customer)
        return None

    def send(self, ctx, row):
        return _result(ctx.sf.create_customer(row.payload))

    def apply(self, ctx, row, result) -> None:
        save_mapping(
            self.entity_type,
            portfolio_id=row.context.get("portfolio_id"),
            building_id=row.context.get("building_id"),
            sf_customer_id=int(result["id"]),
            method="custom_field" if result.get("recovered") else "created",
            confidence=1.0,
        )
        upsert_cache_from_body(int(result["id"]), row.payload)
        # dim_customer too: the customer listing is cached (getSFCustomers may not list again for an
        # hour), and jobs created for this customer later in the run take its customer_key from here.
        parent = row.payload.get("parent_customer")
        record = {
            "source_system": "sf",
            "customer_id": int(result["id"]),
            "customer_name": text(result.get("name") or row.payload.get("customer_name")),
            "parent_customer_id": parent if isinstance(parent, int) else None,
        }
        if result.get("account_number"):
            record["account_number"] = text(result["account_number"])
        load(ctx, DimCustomer, [record], full=False, system="sf")


def _result(customer) -> dict:
    """What a sent (or recovered) customer row keeps: its SF id, name and account number."""
    return {"id": int(customer.id), "name": customer.name, "account_number": customer.account_number or ""}
