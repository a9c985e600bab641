"""Conversions: zeep values → plain dicts (``plain``) → the client's records, and record-style field names →
PropertyWare DTO names for read-modify-write updates. No zeep object leaves this module's callers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from zeep.helpers import serialize_object

from sync.clients.strict import Wire, parse

from .records import (
    Building,
    BuildingIn,
    Contact,
    ContactIn,
    Lease,
    LeaseIn,
    Note,
    NoteIn,
    Portfolio,
    PortfolioIn,
    Unit,
    UnitIn,
    Vendor,
    VendorIn,
    WorkOrder,
    WorkOrderIn,
)

SYSTEM = "propertyware"
M = TypeVar("M", bound=Wire)
#: where a listing hands a record it could not parse (without one, the listing raises it)


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






def parsed(model: type[M], d: Any, operation: str) -> M:
    """``d`` checked as ``model``; a refused record raises MalformedRecord with its excerpt."""
    return parse(model, d, system=SYSTEM, operation=operation, modified_key="lastModified")


def _money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(Decimal("0.01"))


def to_portfolio(d: Any) -> Portfolio:
    p = parsed(PortfolioIn, d, "getAllPortfolios")
    owner = next((o for o in p.owners or [] if o is not None), None)
    return Portfolio(
        id=p.ID,
        name=p.name,
        abbreviation=p.abbreviation,
        active=p.active,
        owner_first_name=owner.firstName if owner else "",
        owner_last_name=owner.lastName if owner else "",
        owner_email=owner.email if owner else "",
    )


def _address(d: Any) -> dict:
    return {k: getattr(d, k) for k in ("address", "address2", "city", "state", "zip", "country")}


def to_building(d: Any, portfolio_id: int) -> Building:
    b = parsed(BuildingIn, d, "getBuildings")
    return Building(
        id=b.ID,
        portfolio_id=portfolio_id,
        name=b.name,
        abbreviation=b.abbreviation,
        **_address(b),
        multi_unit=b.multiUnit,
        rentable=b.rentable,
        active=b.active,
    )


def to_unit(d: Any) -> Unit:
    u = parsed(UnitIn, d, "getUnits")
    return Unit(
        id=u.ID,
        building_id=u.buildingID,
        name=u.name,
        abbreviation=u.abbreviation,
        **_address(u),
        active=u.active,
    )


def to_contact(d: Any) -> Contact:
    c = parsed(ContactIn, d, "getContacts")
    return Contact(
        id=c.ID,
        first_name=c.firstName,
        last_name=c.lastName,
        email=c.email,
        home_phone=c.homePhone,
        work_phone=c.workPhone,
        mobile_phone=c.mobilePhone,
        contact_type=c.contactType,
    )


def to_lease(d: Any) -> Lease:
    le = parsed(LeaseIn, d, "getLeases")
    # A tenant PropertyWare sends without an ID (0, a Java default) is no contact yet: skipped, as before.
    tenants = tuple(to_contact(t) for t in le.tenants or [] if t is not None and t.get("ID") not in (None, 0))
    return Lease(
        id=le.ID,
        name=le.leaseName,
        status=le.leaseStatus,
        active=le.active,
        unit_id=le.unitID,
        building_id=le.buildingID,
        start_date=day(le.startDate),
        end_date=day(le.endDate),
        move_in_date=day(le.moveInDate),
        move_out_date=day(le.moveOutDate),
        tenants=tenants,
        primary_contact_id=le.primaryContact.ID if le.primaryContact else None,
    )


def to_vendor(d: Any) -> Vendor:
    v = parsed(VendorIn, d, "getVendors")
    return Vendor(
        id=v.ID, name=v.name, company_name=v.companyName, email=v.email, phone=v.phone, active=v.active
    )


def to_work_order(d: Any) -> WorkOrder:
    w = parsed(WorkOrderIn, d, "getWorkOrders")
    custom = {cf.fieldName: text(cf.value) for cf in w.customFields or [] if cf is not None and cf.fieldName}
    return WorkOrder(
        id=w.ID,
        number=w.number or 0,
        portfolio_id=w.portfolio.ID if w.portfolio else None,
        building_id=w.building.ID if w.building else None,
        unit_ids=tuple(i for i in w.unitIDs or () if i is not None),
        vendor_ids=tuple(i for i in w.vendorIDs or () if i is not None),
        lease_id=w.lease.ID if w.lease else None,
        status=w.status,
        priority=w.priority,
        category=w.category,
        type=w.type,
        description=w.description,
        location=w.location,
        source=w.source,
        created_date=when(w.createdDate),
        start_date=when(w.startDate),
        completed_date=when(w.completedDate),
        cost_estimate=_money(w.costEstimate),
        total_cost=_money(w.totalCost),
        hour_estimate=float(w.hourEstimate or 0.0),
        total_hours=float(w.totalHourWorked or 0.0),
        approved=w.approved,
        custom_fields=custom,
        raw=d,
    )


def to_note(d: Any) -> Note:
    n = parsed(NoteIn, d, "attachNoteToWorkOrder")
    return Note(id=n.ID, subject=n.subject, body=n.body, date=when(n.date))


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
