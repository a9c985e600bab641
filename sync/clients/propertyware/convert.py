"""Conversions: zeep values → plain dicts (``plain``) → the client's records, and record-style field names →
PropertyWare DTO names for read-modify-write updates. No zeep object leaves this module's callers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from zeep.helpers import serialize_object

from .records import Building, Contact, Lease, Note, Portfolio, Unit, Vendor, WorkOrder


def plain(value: Any) -> Any:
    """A zeep value as plain dicts, lists and scalars; aware datetimes normalised to UTC."""
    return _normalise(serialize_object(value, target_cls=dict))


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if k != "_raw_elements"}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def text(value: Any) -> str:
    return "" if value is None else str(value)


def ident(value: Any) -> int | None:
    return int(value) if value not in (None, "", 0) else None


def ref_id(obj: Any) -> int | None:
    return ident(obj.get("ID")) if isinstance(obj, Mapping) else None


def when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value if isinstance(value, date) else None


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def ids(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values or () if v is not None)


def to_portfolio(d: dict) -> Portfolio:
    owner = next((o for o in d.get("owners") or [] if isinstance(o, Mapping)), {})
    return Portfolio(
        id=int(d["ID"]),
        name=text(d.get("name")),
        abbreviation=text(d.get("abbreviation")),
        active=bool(d.get("active")),
        owner_first_name=text(owner.get("firstName")),
        owner_last_name=text(owner.get("lastName")),
        owner_email=text(owner.get("email")),
    )


def _address(d: dict) -> dict:
    return {k: text(d.get(k)) for k in ("address", "address2", "city", "state", "zip", "country")}


def to_building(d: dict, portfolio_id: int) -> Building:
    return Building(
        id=int(d["ID"]),
        portfolio_id=portfolio_id,
        name=text(d.get("name")),
        abbreviation=text(d.get("abbreviation")),
        **_address(d),
        multi_unit=bool(d.get("multiUnit")),
        rentable=bool(d.get("rentable")),
        active=bool(d.get("active")),
    )


def to_unit(d: dict) -> Unit:
    return Unit(
        id=int(d["ID"]),
        building_id=int(d.get("buildingID") or 0),
        name=text(d.get("name")),
        abbreviation=text(d.get("abbreviation")),
        **_address(d),
        active=bool(d.get("active")),
    )


def to_contact(d: Mapping) -> Contact:
    return Contact(
        id=int(d["ID"]),
        first_name=text(d.get("firstName")),
        last_name=text(d.get("lastName")),
        email=text(d.get("email")),
        home_phone=text(d.get("homePhone")),
        work_phone=text(d.get("workPhone")),
        mobile_phone=text(d.get("mobilePhone")),
        contact_type=text(d.get("contactType")),
    )


def to_lease(d: dict) -> Lease:
    tenants = tuple(to_contact(t) for t in d.get("tenants") or [] if isinstance(t, Mapping) and t.get("ID"))
    return Lease(
        id=int(d["ID"]),
        name=text(d.get("leaseName")),
        status=text(d.get("leaseStatus")),
        active=bool(d.get("active")),
        unit_id=ident(d.get("unitID")),
        building_id=ident(d.get("buildingID")),
        start_date=day(d.get("startDate")),
        end_date=day(d.get("endDate")),
        move_in_date=day(d.get("moveInDate")),
        move_out_date=day(d.get("moveOutDate")),
        tenants=tenants,
        primary_contact_id=ref_id(d.get("primaryContact")),
    )


def to_vendor(d: dict) -> Vendor:
    return Vendor(
        id=int(d["ID"]),
        name=text(d.get("name")),
        company_name=text(d.get("companyName")),
        email=text(d.get("email")),
        phone=text(d.get("phone")),
        active=bool(d.get("active")),
    )


def to_work_order(d: dict) -> WorkOrder:
    custom = {
        text(cf.get("fieldName")): text(cf.get("value"))
        for cf in d.get("customFields") or []
        if isinstance(cf, Mapping) and cf.get("fieldName")
    }
    return WorkOrder(
        id=int(d["ID"]),
        number=int(d.get("number") or 0),
        portfolio_id=ref_id(d.get("portfolio")),
        building_id=ref_id(d.get("building")),
        unit_ids=ids(d.get("unitIDs")),
        vendor_ids=ids(d.get("vendorIDs")),
        lease_id=ref_id(d.get("lease")),
        status=text(d.get("status")),
        priority=text(d.get("priority")),
        category=text(d.get("category")),
        type=text(d.get("type")),
        description=text(d.get("description")),
        location=text(d.get("location")),
        source=text(d.get("source")),
        created_date=when(d.get("createdDate")),
        start_date=when(d.get("startDate")),
        completed_date=when(d.get("completedDate")),
        cost_estimate=money(d.get("costEstimate")),
        total_cost=money(d.get("totalCost")),
        hour_estimate=float(d.get("hourEstimate") or 0.0),
        total_hours=float(d.get("totalHourWorked") or 0.0),
        approved=bool(d.get("approved")),
        custom_fields=custom,
        raw=d,
    )


def to_note(d: dict) -> Note:
    return Note(
        id=ident(d.get("ID")),
        subject=text(d.get("subject")),
        body=text(d.get("body")),
        date=when(d.get("date")),
    )


#: record-style names update_work_order accepts, and the WorkOrder fields they write
UPDATE_FIELDS = {
    "status": "status",
    "priority": "priority",
    "category": "category",
    "type": "type",
    "description": "description",
    "location": "location",
    "source": "source",
    "start_date": "startDate",
    "completed_date": "completedDate",
    "scheduled_end_date": "scheduledEndDate",
    "cost_estimate": "costEstimate",
    "total_cost": "totalCost",
    "hour_estimate": "hourEstimate",
    "total_hours": "totalHourWorked",
    "unit_ids": "unitIDs",
    "vendor_ids": "vendorIDs",
    "specific_location": "specificLocation",
    "closing_comments": "closingComments",
}


def apply_changes(raw: dict, changes: Mapping[str, Any]) -> dict:
    """A copy of ``raw`` with ``changes`` (record-style names, or ``custom_fields={name: value}``)."""
    unknown = sorted(set(changes) - set(UPDATE_FIELDS) - {"custom_fields"})
    if unknown:
        raise ValueError(
            f"update_work_order cannot change {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(UPDATE_FIELDS))}, custom_fields"
        )
    out = dict(raw)
    for name, value in changes.items():
        if name == "custom_fields":
            fields = [dict(cf) for cf in out.get("customFields") or []]
            known = {cf.get("fieldName") for cf in fields}
            missing = sorted(set(value) - known)
            if missing:
                raise ValueError(f"work order {raw.get('ID')} has no custom field(s) {', '.join(missing)}")
            for cf in fields:
                if cf.get("fieldName") in value:
                    cf["value"] = text(value[cf["fieldName"]])
            out["customFields"] = fields
        elif name in ("unit_ids", "vendor_ids"):
            out[UPDATE_FIELDS[name]] = [int(v) for v in value]
        elif isinstance(value, Decimal):
            out[UPDATE_FIELDS[name]] = float(value)
        elif isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
        else:
            out[UPDATE_FIELDS[name]] = value
    return out
