"""Typed ServiceFusion records the client returns, each parsed from the API's JSON view through a strict wire
model (``sync.clients.strict``): a value of the wrong kind raises MalformedRecord, never a coerced record."""

# The records stay frozen dataclasses (callers build, compare and ``asdict`` them); the pydantic models
# below check the wire shape once, at the edge. See sync/clients/strict.py for why pydantic.

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self

from pydantic import Field

from sync.clients.strict import Day, Id, OptId, OptMoney, Text, Timestamp, Wire, parse
from sync.clients.strict import JsonBool as Bool

SYSTEM = "servicefusion"


def _parse(model: type[Wire], data: Any, operation: str) -> Any:
    return parse(model, data, system=SYSTEM, operation=operation, modified_key="updated_at")


class _CustomField(Wire):
    name: Text
    value: str | int | float | bool | None = Field(default=None, union_mode="left_to_right")


def _custom(items: list[_CustomField]) -> dict[str, Any]:
    return {cf.name: cf.value for cf in items if cf.name}


class _Email(Wire):
    email: Text = ""


class _Phone(Wire):
    phone: Text = ""


class _ContactIn(Wire):
    fname: Text = ""
    lname: Text = ""
    is_primary: Bool = False
    emails: list[_Email] | None = None
    phones: list[_Phone] | None = None


class _LocationIn(Wire):
    street_1: Text = ""
    street_2: Text = ""
    city: Text = ""
    state_prov: Text = ""
    postal_code: Text = ""
    country: Text = ""
    nickname: Text = ""
    is_primary: Bool = False


class _CustomerIn(Wire):
    id: Id
    customer_name: Text = ""
    parent_customer: Text = ""
    account_number: Text = ""
    fully_qualified_name: Text = ""
    contacts: list[_ContactIn] | None = None
    locations: list[_LocationIn] | None = None
    custom_fields: list[_CustomField] | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class _TechRef(Wire):
    id: Id


class _JobIn(Wire):
    id: Id
    number: Text = ""
    customer_id: OptId = None
    customer_name: Text = ""
    check_number: Text = ""
    po_number: Text = ""
    status: Text = ""
    category: Text = ""
    priority: Text = ""
    description: Text = ""
    street_1: Text = ""
    street_2: Text = ""
    city: Text = ""
    state_prov: Text = ""
    postal_code: Text = ""
    location_name: Text = ""
    contact_first_name: Text = ""
    contact_last_name: Text = ""
    # Expanded, techs are {id, first_name, last_name}; bare ids are accepted too.
    techs_assigned: list[_TechRef | Id] | None = None
    custom_fields: list[_CustomField] | None = None
    total: OptMoney = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    closed_at: Timestamp | None = None


class _JobStatusIn(Wire):
    id: Id
    code: Text = ""
    name: Text = ""
    category: Text = ""
    is_custom: Bool = False


class _JobCategoryIn(Wire):
    id: Id
    name: Text = ""


class _TechIn(Wire):
    id: Id
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""
    is_field_worker: Bool = False


class _SourceIn(Wire):
    id: Id
    short_name: Text = ""
    long_name: Text = ""


class _PaymentTypeIn(Wire):
    id: Id
    code: Text = ""
    short_name: Text = ""
    type: Text = ""
    is_custom: Bool = False


class _InvoiceIn(Wire):
    id: Id
    number: OptId = None
    po_number: Text = ""
    total: OptMoney = None
    is_paid: Bool = False
    date: Day | None = None
    customer: Text = ""
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class _MeIn(Wire):
    id: Id
    first_name: Text = ""
    last_name: Text = ""
    email: Text = ""


@dataclass(frozen=True)
class SFContact:
    fname: str
    lname: str
    is_primary: bool
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def _of(cls, c: _ContactIn) -> SFContact:
        return cls(
            c.fname,
            c.lname,
            c.is_primary,
            tuple(e.email for e in c.emails or ()),
            tuple(p.phone for p in c.phones or ()),
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
    def from_api(
        cls, data: Any, parent_customer_id: int | None = None, *, operation: str = "customer"
    ) -> Customer:
        c = _parse(_CustomerIn, data, operation)
        return cls(
            id=c.id,
            name=c.customer_name,
            parent_customer_id=parent_customer_id,
            account_number=c.account_number,
            contacts=tuple(SFContact._of(x) for x in c.contacts or ()),
            locations=tuple(Location(**x.model_dump()) for x in c.locations or ()),
            custom_fields=_custom(c.custom_fields or []),
            created_at=c.created_at,
            updated_at=c.updated_at,
            parent_customer_name=c.parent_customer,
            fully_qualified_name=c.fully_qualified_name,
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
    def from_api(cls, data: Any, *, operation: str = "job") -> Job:
        j = _parse(_JobIn, data, operation)
        skip = ("techs_assigned", "custom_fields", "total")
        values = {k: v for k, v in j.__dict__.items() if k not in skip}
        return cls(
            **values,
            techs_assigned=tuple(t.id if isinstance(t, _TechRef) else t for t in j.techs_assigned or ()),
            custom_fields=_custom(j.custom_fields or []),
        )


class _Plain:
    """Records whose fields are their wire model's, named alike."""

    _wire: ClassVar[type[Wire]]

    @classmethod
    def from_api(cls, data: Any, *, operation: str = "") -> Self:
        return cls(**_parse(cls._wire, data, operation or cls.__name__.lower()).__dict__)


@dataclass(frozen=True)
class JobStatus(_Plain):
    _wire = _JobStatusIn

    id: int
    code: str
    name: str
    category: str
    is_custom: bool


@dataclass(frozen=True)
class JobCategory(_Plain):
    _wire = _JobCategoryIn

    id: int
    name: str


@dataclass(frozen=True)
class Tech(_Plain):
    _wire = _TechIn

    id: int
    first_name: str
    last_name: str
    email: str
    is_field_worker: bool


@dataclass(frozen=True)
class Source(_Plain):
    _wire = _SourceIn

    id: int
    short_name: str
    long_name: str


@dataclass(frozen=True)
class PaymentType(_Plain):
    _wire = _PaymentTypeIn

    id: int
    code: str
    short_name: str
    type: str
    is_custom: bool


@dataclass(frozen=True)
class Invoice(_Plain):
    _wire = _InvoiceIn

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
    def from_api(cls, data: Any, *, operation: str = "me") -> Me:
        m = _parse(_MeIn, data, operation)
        known = set(_MeIn.model_fields)
        return cls(**m.__dict__, extra={k: v for k, v in data.items() if k not in known})
