"""Typed ServiceFusion records the client returns, parsed from the API's JSON views.

Ids are ints (the API may send numeric strings), money is Decimal, timestamps are aware datetimes,
dates are dates, missing text is "". References come back as header strings (status name, category …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def as_int(value: Any) -> int | None:
    """An id as int; numeric strings accepted (the docs show ids both ways)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_ts(value: Any) -> datetime | None:
    """RFC 3339 with an offset (or Z) → aware datetime; a naive value is taken as UTC."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_date(value: Any) -> date | None:
    if not value:
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def custom_field_map(items: Any) -> dict[str, Any]:
    """``[{name, value, …}]`` → ``{name: value}``."""
    if not isinstance(items, list):
        return {}
    return {
        str(item["name"]): item.get("value") for item in items if isinstance(item, dict) and "name" in item
    }


@dataclass(frozen=True)
class SFContact:
    fname: str
    lname: str
    is_primary: bool
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: dict) -> SFContact:
        return cls(
            fname=as_text(data.get("fname")),
            lname=as_text(data.get("lname")),
            is_primary=bool(data.get("is_primary")),
            emails=tuple(as_text(e.get("email")) for e in data.get("emails") or () if isinstance(e, dict)),
            phones=tuple(as_text(p.get("phone")) for p in data.get("phones") or () if isinstance(p, dict)),
        )


@dataclass(frozen=True)
class Location:
    street_1: str
    street_2: str
    city: str
    state_prov: str
    postal_code: str
    country: str
    nickname: str
    is_primary: bool

    @classmethod
    def from_api(cls, data: dict) -> Location:
        return cls(
            **{
                k: as_text(data.get(k))
                for k in ("street_1", "street_2", "city", "state_prov", "postal_code", "country", "nickname")
            },
            is_primary=bool(data.get("is_primary")),
        )


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    parent_customer_id: int | None
    account_number: str
    contacts: tuple[SFContact, ...]
    locations: tuple[Location, ...]
    custom_fields: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None
    #: the parent's header (its customer name) as the API shows it
    parent_customer_name: str = ""
    fully_qualified_name: str = ""

    @classmethod
    def from_api(cls, data: dict, parent_customer_id: int | None = None) -> Customer:
        return cls(
            id=as_int(data.get("id")) or 0,
            name=as_text(data.get("customer_name")),
            parent_customer_id=parent_customer_id,
            account_number=as_text(data.get("account_number")),
            contacts=tuple(SFContact.from_api(c) for c in data.get("contacts") or () if isinstance(c, dict)),
            locations=tuple(
                Location.from_api(loc) for loc in data.get("locations") or () if isinstance(loc, dict)
            ),
            custom_fields=custom_field_map(data.get("custom_fields")),
            created_at=as_ts(data.get("created_at")),
            updated_at=as_ts(data.get("updated_at")),
            parent_customer_name=as_text(data.get("parent_customer")),
            fully_qualified_name=as_text(data.get("fully_qualified_name")),
        )


@dataclass(frozen=True)
class Job:
    id: int
    number: str
    customer_id: int | None
    customer_name: str
    check_number: str
    po_number: str
    status: str
    category: str
    priority: str
    description: str
    street_1: str
    street_2: str
    city: str
    state_prov: str
    postal_code: str
    location_name: str
    contact_first_name: str
    contact_last_name: str
    techs_assigned: tuple[int, ...]
    custom_fields: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None

    _TEXT = (
        "number",
        "customer_name",
        "check_number",
        "po_number",
        "status",
        "category",
        "priority",
        "description",
        "street_1",
        "street_2",
        "city",
        "state_prov",
        "postal_code",
        "location_name",
        "contact_first_name",
        "contact_last_name",
    )

    @classmethod
    def from_api(cls, data: dict) -> Job:
        techs = tuple(
            t
            for t in (
                as_int(x.get("id")) if isinstance(x, dict) else as_int(x)
                for x in data.get("techs_assigned") or ()
            )
            if t is not None
        )
        return cls(
            id=as_int(data.get("id")) or 0,
            customer_id=as_int(data.get("customer_id")),
            techs_assigned=techs,
            custom_fields=custom_field_map(data.get("custom_fields")),
            created_at=as_ts(data.get("created_at")),
            updated_at=as_ts(data.get("updated_at")),
            closed_at=as_ts(data.get("closed_at")),
            **{k: as_text(data.get(k)) for k in cls._TEXT},
        )


@dataclass(frozen=True)
class JobStatus:
    id: int
    code: str
    name: str
    category: str
    is_custom: bool

    @classmethod
    def from_api(cls, data: dict) -> JobStatus:
        return cls(
            id=as_int(data.get("id")) or 0,
            code=as_text(data.get("code")),
            name=as_text(data.get("name")),
            category=as_text(data.get("category")),
            is_custom=bool(data.get("is_custom")),
        )


@dataclass(frozen=True)
class JobCategory:
    id: int
    name: str

    @classmethod
    def from_api(cls, data: dict) -> JobCategory:
        return cls(id=as_int(data.get("id")) or 0, name=as_text(data.get("name")))


@dataclass(frozen=True)
class Tech:
    id: int
    first_name: str
    last_name: str
    email: str
    is_field_worker: bool

    @classmethod
    def from_api(cls, data: dict) -> Tech:
        return cls(
            id=as_int(data.get("id")) or 0,
            first_name=as_text(data.get("first_name")),
            last_name=as_text(data.get("last_name")),
            email=as_text(data.get("email")),
            is_field_worker=bool(data.get("is_field_worker")),
        )


@dataclass(frozen=True)
class Source:
    id: int
    short_name: str
    long_name: str

    @classmethod
    def from_api(cls, data: dict) -> Source:
        return cls(
            id=as_int(data.get("id")) or 0,
            short_name=as_text(data.get("short_name")),
            long_name=as_text(data.get("long_name")),
        )


@dataclass(frozen=True)
class PaymentType:
    id: int
    code: str
    short_name: str
    type: str
    is_custom: bool

    @classmethod
    def from_api(cls, data: dict) -> PaymentType:
        return cls(
            id=as_int(data.get("id")) or 0,
            code=as_text(data.get("code")),
            short_name=as_text(data.get("short_name")),
            type=as_text(data.get("type")),
            is_custom=bool(data.get("is_custom")),
        )


@dataclass(frozen=True)
class Invoice:
    id: int
    number: int | None
    po_number: str
    total: Decimal | None
    is_paid: bool
    date: date | None
    customer: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_api(cls, data: dict) -> Invoice:
        return cls(
            id=as_int(data.get("id")) or 0,
            number=as_int(data.get("number")),
            po_number=as_text(data.get("po_number")),
            total=as_decimal(data.get("total")),
            is_paid=bool(data.get("is_paid")),
            date=as_date(data.get("date")),
            customer=as_text(data.get("customer")),
            created_at=as_ts(data.get("created_at")),
            updated_at=as_ts(data.get("updated_at")),
        )


@dataclass(frozen=True)
class Me:
    id: int
    first_name: str
    last_name: str
    email: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> Me:
        known = ("id", "first_name", "last_name", "email")
        return cls(
            id=as_int(data.get("id")) or 0,
            first_name=as_text(data.get("first_name")),
            last_name=as_text(data.get("last_name")),
            email=as_text(data.get("email")),
            extra={k: v for k, v in data.items() if k not in known},
        )
