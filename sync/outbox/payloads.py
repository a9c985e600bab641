"""ServiceFusion request bodies built from warehouse rows: portfolio and building customers (R9, R10, R14,
R16), child customers for leases (R17), and jobs (§5.4). Pure functions over plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

__all__ = [
    "CUSTOMER_NAME_MAX",
    "building_customer_body",
    "check_number",
    "contact_body",
    "is_emergency",
    "job_body",
    "lease_customer_body",
    "portfolio_customer_body",
    "sf_priority",
]

#: SF rejects customer names over 45 characters (422); longer PW names are cut to fit.
CUSTOMER_NAME_MAX = 45
EMERGENCY = frozenset({"emergency", "urgent"})


def _t(value) -> str:
    return "" if value is None else " ".join(str(value).split())


def check_number(work_order_id: int) -> str:
    return f"WO-{int(work_order_id)}"


def contact_body(
    first: str | None, last: str | None, *, email: str = "", phone: str = "", primary: bool = False
) -> dict | None:
    """An SF contact, or None when a name part is missing (SF requires fname and lname)."""
    first, last = _t(first), _t(last)
    if not first or not last:
        return None
    body: dict = {"fname": first, "lname": last, "is_primary": primary}
    if _t(email):
        body["emails"] = [{"email": _t(email)}]
    if _t(phone):
        body["phones"] = [{"phone": _t(phone)}]
    return body


def portfolio_customer_body(portfolio: Mapping, labels: Mapping[str, str]) -> dict:
    body: dict = {
        "customer_name": _t(portfolio["name"])[:CUSTOMER_NAME_MAX]
        or f"Portfolio {portfolio['portfolio_id']}",
        "custom_fields": [{"name": labels["portfolio_id"], "value": str(portfolio["portfolio_id"])}],
    }
    owner = contact_body(
        portfolio.get("owner_first_name", ""),
        portfolio.get("owner_last_name", ""),
        email=portfolio.get("owner_email", ""),
        primary=True,
    )
    if owner:
        body["contacts"] = [owner]
    return body


def building_location(building: Mapping) -> dict:
    loc = {
        "street_1": _t(building.get("address")) or _t(building.get("name")),
        "street_2": _t(building.get("address2")),
        "city": _t(building.get("city")),
        "state_prov": _t(building.get("state")),
        "postal_code": _t(building.get("zip")),
        "country": _t(building.get("country")),
        "nickname": "Primary",
        "is_primary": True,
    }
    return {k: v for k, v in loc.items() if v not in ("", None)}


def unit_location(unit: Mapping, building: Mapping) -> dict:
    loc = {
        "street_1": _t(unit.get("address")) or _t(building.get("address")),
        "street_2": _t(unit.get("name")),
        "city": _t(unit.get("city")) or _t(building.get("city")),
        "state_prov": _t(unit.get("state")) or _t(building.get("state")),
        "postal_code": _t(unit.get("zip")) or _t(building.get("zip")),
        "country": _t(unit.get("country")) or _t(building.get("country")),
        "nickname": _t(unit.get("abbreviation")) or _t(unit.get("name")),
        "is_primary": False,
    }
    return {k: v for k, v in loc.items() if v not in ("", None)}


def building_customer_body(
    building: Mapping,
    parent_customer,
    units: Iterable[Mapping],
    tenants: Iterable[Mapping],
    labels: Mapping[str, str],
) -> dict:
    """R10: named by street address, child of the portfolio customer, units as locations (multi-unit
    buildings, R14), tenants of active leases as non-primary contacts (R16), PW ids in custom fields."""
    name = _t(building.get("address")) or _t(building.get("name")) or f"Building {building['building_id']}"
    units = list(units)
    locations = [building_location(building)]
    if building.get("multi_unit") or len(units) > 1:
        locations += [unit_location(u, building) for u in units]
    contacts = [
        c
        for c in (
            contact_body(
                t.get("first_name"), t.get("last_name"), email=t.get("email", ""), phone=t.get("phone", "")
            )
            for t in tenants
        )
        if c
    ]
    body: dict = {
        "customer_name": name[:CUSTOMER_NAME_MAX],
        "parent_customer": parent_customer,
        "locations": locations,
        "custom_fields": [
            {"name": labels["building_id"], "value": str(building["building_id"])},
            {"name": labels["portfolio_id"], "value": str(building.get("portfolio_id") or "")},
        ],
    }
    if contacts:
        body["contacts"] = contacts
    return body


def lease_customer_body(
    lease: Mapping, parent_customer, tenants: list[Mapping], labels: Mapping[str, str]
) -> dict:
    """R17 (child_customer mode): one child customer per active lease, its tenants as contacts."""
    primary_id = lease.get("primary_contact_id")
    contacts = [
        c
        for c in (
            contact_body(
                t.get("first_name"),
                t.get("last_name"),
                email=t.get("email", ""),
                phone=t.get("phone", ""),
                primary=t.get("contact_id") == primary_id,
            )
            for t in tenants
        )
        if c
    ]
    first = next((t for t in tenants if t.get("contact_id") == primary_id), tenants[0] if tenants else {})
    name = _t(lease.get("name")) or _t(f"{first.get('first_name', '')} {first.get('last_name', '')}")
    body: dict = {
        "customer_name": (name or f"Lease {lease['lease_id']}")[:CUSTOMER_NAME_MAX],
        "parent_customer": parent_customer,
        "custom_fields": [{"name": labels["building_id"], "value": str(lease.get("building_id") or "")}],
    }
    if contacts:
        body["contacts"] = contacts
    return body


def is_emergency(priority: str) -> bool:
    return _t(priority).lower() in EMERGENCY


def sf_priority(priority: str) -> str:
    """§5.4: HIGH/emergency/urgent → High; MEDIUM → Normal; LOW → Low; anything else → Normal."""
    p = _t(priority).lower()
    if p in ("high", *EMERGENCY):
        return "High"
    if p == "low":
        return "Low"
    return "Normal"


def job_body(
    wo: Mapping,
    *,
    customer_id,
    location: Mapping,
    contact: Mapping | None,
    tech_id: int | None,
    category: str,
    labels: Mapping[str, str],
    units_named: Iterable[str] = (),
    today: date | None = None,
) -> dict:
    """The SF job for a PW work order (§5.4). ``location``: street/city fields and a location name."""
    description = wo.get("description") or ""
    names = [n for n in units_named if n]
    if names:  # R22: several units → building-level job naming every unit
        description = f"{description}\n\nUnits: {', '.join(names)}".strip()
    if is_emergency(wo.get("priority", "")):
        description = f"URGENT: {description}"
    ref = check_number(wo["work_order_id"])
    body: dict = {
        "customer_name": customer_id,
        "check_number": ref,
        "po_number": ref,
        "description": description,
        "priority": sf_priority(wo.get("priority", "")),
    }
    if category:
        body["category"] = category
    for key in ("street_1", "street_2", "city", "state_prov", "postal_code", "location_name"):
        if _t(location.get(key)):
            body[key] = _t(location.get(key))
    if contact and _t(contact.get("first_name")) and _t(contact.get("last_name")):
        body["contact_first_name"] = _t(contact["first_name"])
        body["contact_last_name"] = _t(contact["last_name"])
    if tech_id:
        body["techs_assigned"] = [{"id": int(tech_id)}]
    if is_emergency(wo.get("priority", "")) and today is not None:
        body["start_date"] = today.isoformat()
    fields = [
        (labels["work_order_id"], wo["work_order_id"]),
        (labels["portfolio_id"], wo.get("portfolio_id")),
        (labels["building_id"], wo.get("building_id")),
        (labels["unit_id"], wo.get("unit_id")),
    ]
    body["custom_fields"] = [{"name": name, "value": str(value)} for name, value in fields if value]
    return body
