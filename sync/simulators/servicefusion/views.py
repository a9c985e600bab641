"""Stored records → the API's JSON views, with ``expand`` (relations only when asked) and ``fields``.
References are shown as header strings (status name, category, source short name, …). Timestamps are
RFC 3339 with +00:00 and dates Y-m-d on the wire.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .clock import format_date, format_ts
from .lookups import Lookups

ALL = frozenset({"*"})

_CUSTOMER_FIELDS = (
    "id",
    "customer_name",
    "fully_qualified_name",
    "parent_customer",
    "account_number",
    "account_balance",
    "private_notes",
    "public_notes",
    "credit_rating",
    "labor_charge_type",
    "labor_charge_default_rate",
    "last_serviced_date",
    "is_bill_for_drive_time",
    "is_vip",
    "referral_source",
    "agent",
    "discount",
    "discount_type",
    "payment_type",
    "payment_terms",
    "assigned_contract",
    "industry",
    "is_taxable",
    "tax_item_name",
    "qbo_sync_token",
    "qbo_currency",
    "qbo_id",
    "qbd_id",
    "tags",
    "created_at",
    "updated_at",
)
# JobView attributes in the documented order; computed ones (totals, headers) are filled in by job().
_JOB_FIELDS = (
    "id",
    "number",
    "description",
    "tech_notes",
    "completion_notes",
    "payment_status",
    "taxes_fees_total",
    "drive_labor_total",
    "billable_expenses_total",
    "total",
    "payments_deposits_total",
    "due_total",
    "cost_total",
    "duration",
    "time_frame_promised_start",
    "time_frame_promised_end",
    "start_date",
    "end_date",
    "created_at",
    "updated_at",
    "closed_at",
    "customer_id",
    "customer_name",
    "parent_customer",
    "status",
    "sub_status",
    "contact_first_name",
    "contact_last_name",
    "street_1",
    "street_2",
    "city",
    "state_prov",
    "postal_code",
    "location_name",
    "is_gated",
    "gate_instructions",
    "category",
    "source",
    "payment_type",
    "customer_payment_terms",
    "project",
    "phase",
    "po_number",
    "contract",
    "note_to_customer",
    "called_in_by",
    "is_requires_follow_up",
    "check_number",
    "priority",
)

_JOB_RELATIONS = ("agents", "custom_fields", "pictures", "documents", "equipment", "techs_assigned", "tasks",
                  "notes", "products", "services", "other_charges", "payments", "signatures",
                  "printable_work_order")
EXPANDABLE = {
    "customers": ("contacts", "contacts.phones", "contacts.emails", "locations", "custom_fields"),
    "jobs": _JOB_RELATIONS + ("labor_charges", "expenses", "invoices", "visits", "visits.techs_assigned"),
    "estimates": _JOB_RELATIONS,
    "equipment": ("custom_fields",),
}


def wants(expand: frozenset[str] | set[str], name: str) -> bool:
    """``a`` is expanded by ``a`` or by any ``a.b``; ALL expands everything."""
    return "*" in expand or name in expand or any(e.startswith(name + ".") for e in expand)


def expandable_left(resource: str, expand: frozenset[str] | set[str]) -> list[str]:
    return [name for name in EXPANDABLE.get(resource, ()) if "." not in name and not wants(expand, name)]


def wire(value: Any) -> Any:
    """Convert stored Python values to their JSON wire forms, recursively."""
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


def shape(base: dict, relations: dict, fields: list[str] | None) -> dict:
    """Apply ``fields`` (a whitelist of base attributes; unknown names ignored) and add expansions."""
    if fields:
        base = {k: base[k] for k in fields if k in base}
    out = dict(base)
    out.update(relations)
    return wire(out)


def custom_field_values(store: Lookups, entity: str, values: dict) -> list[dict]:
    """Every defined field with its value (the default when never sent), with all documented keys."""
    return [
        {
            "name": d["name"],
            "value": values.get(d["name"], d["default"]),
            "type": d["type"],
            "group": d["group"],
            "is_required": d["is_required"],
            "created_at": d["created_at"],
            "updated_at": d["updated_at"],
        }
        for d in store.custom_field_defs(entity)
    ]


def customer(store: Lookups, rec: dict, expand, fields: list[str] | None = None) -> dict:
    parent = store.customers_by_id.get(rec["parent_customer_id"]) if rec["parent_customer_id"] else None
    base = {key: rec.get(key) for key in _CUSTOMER_FIELDS}
    base["parent_customer"] = parent["customer_name"] if parent else None
    rel: dict[str, Any] = {}
    if wants(expand, "contacts"):
        rel["contacts"] = [_contact(c, expand) for c in rec["contacts"]]
    if wants(expand, "locations"):
        rel["locations"] = [dict(loc) for loc in rec["locations"]]
    if wants(expand, "custom_fields"):
        rel["custom_fields"] = custom_field_values(store, "customers", rec["custom_fields"])
    return shape(base, rel, fields)


def _contact(contact: dict, expand) -> dict:
    out = {k: v for k, v in contact.items() if k not in ("phones", "emails")}
    if wants(expand, "contacts.phones"):
        out["phones"] = contact["phones"]
    if wants(expand, "contacts.emails"):
        out["emails"] = contact["emails"]
    return out


def job(store: Lookups, rec: dict, expand, fields: list[str] | None = None, kind: str = "jobs") -> dict:
    statuses = store.estimate_statuses if kind == "estimates" else store.statuses
    cust = store.customers_by_id[rec["customer_id"]]
    parent = store.customers_by_id.get(cust["parent_customer_id"]) if cust["parent_customer_id"] else None
    lines = [
        line
        for key in ("products", "services", "other_charges", "labor_charges", "expenses")
        for line in rec.get(key, ())
    ]
    total = float(round(sum(line["price"] * line["multiplier"] for line in lines), 2))
    paid = float(sum(store.invoices[i]["total"] for i in rec["invoice_ids"] if store.invoices[i]["is_paid"]))
    base = {key: rec.get(key) for key in _JOB_FIELDS}
    base.update(
        {
            "taxes_fees_total": 0.0,
            "drive_labor_total": 0.0,
            "billable_expenses_total": 0.0,
            "total": total,
            "payments_deposits_total": paid,
            "due_total": round(total - paid, 2),
            "cost_total": 0.0,
            "customer_name": cust["customer_name"],
            "parent_customer": parent["customer_name"] if parent else None,
            "status": statuses[rec["status_id"]]["name"],
            "customer_payment_terms": cust["payment_terms"],
        }
    )
    if kind == "estimates":
        for key in ("payment_status", "closed_at", "drive_labor_total", "billable_expenses_total"):
            base.pop(key, None)
        base["opportunity_rating"] = rec.get("opportunity_rating")
        base["opportunity_owner"] = rec.get("opportunity_owner")
    rel: dict[str, Any] = {}

    def people(ids: list[int]) -> list[dict]:
        techs = store.techs
        return [{"id": t, "first_name": techs[t]["first_name"], "last_name": techs[t]["last_name"]}
                for t in ids]

    for name in ("agents", "techs_assigned"):
        if wants(expand, name):
            rel[name] = people(rec[name])
    if wants(expand, "custom_fields"):
        rel["custom_fields"] = custom_field_values(store, kind, rec["custom_fields"])
    for name in (
        "tasks",
        "notes",
        "products",
        "services",
        "other_charges",
        "labor_charges",
        "expenses",
        "equipment",
    ):
        if wants(expand, name) and name in rec:
            rel[name] = [dict(item) for item in rec[name]]
    for name in ("pictures", "documents", "payments", "signatures", "printable_work_order"):
        if wants(expand, name):
            rel[name] = []
    if kind == "jobs":
        if wants(expand, "invoices"):
            rel["invoices"] = [invoice(store.invoices[i], None) for i in rec["invoice_ids"]]
        if wants(expand, "visits"):
            rel["visits"] = []
    return shape(base, rel, fields)


def invoice(rec: dict, fields: list[str] | None) -> dict:
    return shape({k: v for k, v in rec.items() if k != "job_id"}, {}, fields)


def equipment(store: Lookups, rec: dict, expand, fields: list[str] | None = None) -> dict:
    base = {k: v for k, v in rec.items() if k != "custom_fields"}
    rel = {}
    if wants(expand, "custom_fields"):
        rel["custom_fields"] = custom_field_values(store, "equipment", rec["custom_fields"])
    return shape(base, rel, fields)


def plain(rec: dict, fields: list[str] | None = None) -> dict:
    """Lookup records (statuses, categories, techs, sources, payment types, calendar tasks)."""
    return shape(dict(rec), {}, fields)
