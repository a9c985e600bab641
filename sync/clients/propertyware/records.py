"""Typed PropertyWare records the client returns: frozen dataclasses of plain values (ids int, money Decimal,
hours float, timestamps aware, lease dates dates, missing text ""); the strict wire models they are parsed
through (``convert.py``); nothing from zeep leaks out."""

# Why pydantic, and what each strict type accepts: sync/clients/strict.py.

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from sync.clients.strict import Bool, Id, Money, Text, Wire


@dataclass(frozen=True)
class Portfolio:
    id: int
    name: str
    abbreviation: str
    active: bool
    owner_first_name: str
    owner_last_name: str
    owner_email: str


@dataclass(frozen=True)
class Building:
    id: int
    portfolio_id: int
    name: str
    abbreviation: str
    address: str
    address2: str
    city: str
    state: str
    zip: str
    country: str
    multi_unit: bool
    rentable: bool
    active: bool


@dataclass(frozen=True)
class Unit:
    id: int
    building_id: int
    name: str
    abbreviation: str
    address: str
    address2: str
    city: str
    state: str
    zip: str
    country: str
    active: bool


@dataclass(frozen=True)
class Contact:
    id: int
    first_name: str
    last_name: str
    email: str
    home_phone: str
    work_phone: str
    mobile_phone: str
    contact_type: str


@dataclass(frozen=True)
class Lease:
    id: int
    name: str
    status: str
    active: bool
    unit_id: int | None
    building_id: int | None
    start_date: date | None
    end_date: date | None
    move_in_date: date | None
    move_out_date: date | None
    tenants: tuple[Contact, ...]
    primary_contact_id: int | None


@dataclass(frozen=True)
class Vendor:
    id: int
    name: str
    company_name: str
    email: str
    phone: str
    active: bool


@dataclass(frozen=True)
class WorkOrder:
    id: int
    number: int
    portfolio_id: int | None
    building_id: int | None
    unit_ids: tuple[int, ...]
    vendor_ids: tuple[int, ...]
    lease_id: int | None
    status: str
    priority: str
    category: str
    type: str
    description: str
    location: str
    source: str
    created_date: datetime | None
    start_date: datetime | None
    completed_date: datetime | None
    cost_estimate: Decimal
    total_cost: Decimal
    hour_estimate: float
    total_hours: float
    approved: bool
    custom_fields: dict[str, str] = field(default_factory=dict, hash=False)
    # The record as received, as plain dicts and lists, so an update can echo every field back (the
    # service replaces the whole record).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class Note:
    #: None when the service did not return the new note's ID
    id: int | None
    subject: str
    body: str
    date: datetime | None


# --- the DTOs as zeep hands them over (plain dicts), checked field by field -------------------------------

#: a reference id, where PropertyWare's 0 (a Java primitive's default) and absence both mean none
if TYPE_CHECKING:
    Ref = int | None
else:
    Ref = Annotated[
        Annotated[int, Field(strict=True, ge=0, le=0)] | Id | None, AfterValidator(lambda v: v or None)
    ]
#: a timestamp as zeep reads an xsd:dateTime (a bare date is accepted, as Axis does)
When = Annotated[datetime, Field(strict=True)] | Annotated[date, Field(strict=True)] | None
Hours = Annotated[float, Field(strict=True, allow_inf_nan=False)] | Annotated[int, Field(strict=True)] | None


class _Ref(Wire):
    ID: Ref = None


class _Owner(Wire):
    firstName: Text = ""  # noqa: N815 - PropertyWare's names
    lastName: Text = ""  # noqa: N815
    email: Text = ""


class PortfolioIn(Wire):
    ID: Id
    name: Text = ""
    abbreviation: Text = ""
    active: Bool = False
    owners: list[_Owner | None] | None = None


class _Address(Wire):
    address: Text = ""
    address2: Text = ""
    city: Text = ""
    state: Text = ""
    zip: Text = ""
    country: Text = ""


class BuildingIn(_Address):
    ID: Id
    name: Text = ""
    abbreviation: Text = ""
    portfolio: Text = ""
    multiUnit: Bool = False  # noqa: N815
    rentable: Bool = False
    active: Bool = False


class UnitIn(_Address):
    ID: Id
    buildingID: Id  # noqa: N815
    name: Text = ""
    abbreviation: Text = ""
    active: Bool = False


class ContactIn(Wire):
    ID: Id
    firstName: Text = ""  # noqa: N815
    lastName: Text = ""  # noqa: N815
    email: Text = ""
    homePhone: Text = ""  # noqa: N815
    workPhone: Text = ""  # noqa: N815
    mobilePhone: Text = ""  # noqa: N815
    contactType: Text = ""  # noqa: N815


class _Tenant(Wire):
    ID: Ref = None


class LeaseIn(Wire):
    ID: Id
    leaseName: Text = ""  # noqa: N815
    leaseStatus: Text = ""  # noqa: N815
    active: Bool = False
    unitID: Ref = None  # noqa: N815
    buildingID: Ref = None  # noqa: N815
    startDate: When = None  # noqa: N815
    endDate: When = None  # noqa: N815
    moveInDate: When = None  # noqa: N815
    moveOutDate: When = None  # noqa: N815
    tenants: list[dict[str, Any] | None] | None = None
    primaryContact: _Ref | None = None  # noqa: N815


class VendorIn(Wire):
    ID: Id
    name: Text = ""
    companyName: Text = ""  # noqa: N815
    email: Text = ""
    phone: Text = ""
    active: Bool = False


class _CustomField(Wire):
    fieldName: Text = ""  # noqa: N815
    value: Any = None


class WorkOrderIn(Wire):
    ID: Id
    number: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] | None = None
    portfolio: _Ref | None = None
    building: _Ref | None = None
    unitIDs: list[Id | None] | None = None  # noqa: N815
    vendorIDs: list[Id | None] | None = None  # noqa: N815
    lease: _Ref | None = None
    status: Text = ""
    priority: Text = ""
    category: Text = ""
    type: Text = ""
    description: Text = ""
    location: Text = ""
    source: Text = ""
    createdDate: When = None  # noqa: N815
    startDate: When = None  # noqa: N815
    completedDate: When = None  # noqa: N815
    costEstimate: Money | None = None  # noqa: N815
    totalCost: Money | None = None  # noqa: N815
    hourEstimate: Hours = None  # noqa: N815
    totalHourWorked: Hours = None  # noqa: N815
    approved: Bool = False
    customFields: list[_CustomField | None] | None = None  # noqa: N815


class NoteIn(Wire):
    ID: Ref = None
    subject: Text = ""
    body: Text = ""
    date: When = None
