"""Typed ServiceFusion records the client returns, parsed from the API's JSON views: ids int (from numeric
strings too), money Decimal, timestamps aware, missing text ""; references are header strings (status …)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
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


# Converters by annotation (the module uses postponed annotations, so they are strings).
_CONVERT: dict[object, Callable[[Any], Any]] = {
    "int": lambda v: as_int(v) or 0,
    "int | None": as_int,
    "str": as_text,
    "bool": bool,
    "Decimal | None": as_decimal,
    "date | None": as_date,
    "datetime | None": as_ts,
}


def simple_fields(cls: type, data: dict, **rename: str) -> dict[str, Any]:
    """Every field of ``cls`` with a plain annotation, read from the JSON key of the same name (or
    ``rename[field]``) and converted by its type; other fields are left to the caller."""
    return {
        f.name: _CONVERT[f.type](data.get(rename.get(f.name, f.name)))
        for f in fields(cls)
        if f.type in _CONVERT
    }


class _Plain:
    """Records whose every field is a plain value named as in the API."""

    @classmethod
    def from_api(cls, data: dict):
        return cls(**simple_fields(cls, data))


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
            **simple_fields(cls, data),
            emails=tuple(as_text(e.get("email")) for e in data.get("emails") or () if isinstance(e, dict)),
            phones=tuple(as_text(p.get("phone")) for p in data.get("phones") or () if isinstance(p, dict)),
        )


@dataclass(frozen=True)
class Location(_Plain):
    street_1: str
    street_2: str
    city: str
    state_prov: str
    postal_code: str
    country: str
    nickname: str
    is_primary: bool


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
        values = simple_fields(cls, data, name="customer_name", parent_customer_name="parent_customer")
        values["parent_customer_id"] = parent_customer_id
        return cls(
            **values,
            contacts=tuple(SFContact.from_api(c) for c in data.get("contacts") or () if isinstance(c, dict)),
            locations=tuple(
                Location.from_api(loc) for loc in data.get("locations") or () if isinstance(loc, dict)
            ),
            custom_fields=custom_field_map(data.get("custom_fields")),
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

    @classmethod
    def from_api(cls, data: dict) -> Job:
        # Expanded, techs are {id, first_name, last_name}; accept bare ids too.
        ids = (
            as_int(t.get("id")) if isinstance(t, dict) else as_int(t)
            for t in data.get("techs_assigned") or ()
        )
        return cls(
            **simple_fields(cls, data),
            techs_assigned=tuple(t for t in ids if t is not None),
            custom_fields=custom_field_map(data.get("custom_fields")),
        )


@dataclass(frozen=True)
class JobStatus(_Plain):
    id: int
    code: str
    name: str
    category: str
    is_custom: bool


@dataclass(frozen=True)
class JobCategory(_Plain):
    id: int
    name: str


@dataclass(frozen=True)
class Tech(_Plain):
    id: int
    first_name: str
    last_name: str
    email: str
    is_field_worker: bool


@dataclass(frozen=True)
class Source(_Plain):
    id: int
    short_name: str
    long_name: str


@dataclass(frozen=True)
class PaymentType(_Plain):
    id: int
    code: str
    short_name: str
    type: str
    is_custom: bool


@dataclass(frozen=True)
class Invoice(_Plain):
    id: int
    number: int | None
    po_number: str
    total: Decimal | None
    is_paid: bool
    date: date | None
    customer: str
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class Me:
    id: int
    first_name: str
    last_name: str
    email: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> Me:
        values = simple_fields(cls, data)
        return cls(**values, extra={k: v for k, v in data.items() if k not in values})
