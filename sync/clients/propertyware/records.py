"""Typed PropertyWare records the client returns: frozen dataclasses of plain values (ids int, money Decimal,
hours float, timestamps aware, lease dates dates, missing text ""); nothing from zeep leaks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


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
