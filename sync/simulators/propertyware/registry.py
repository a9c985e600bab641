"""The operation registry and what every handler shares: the call context, DTO shaping, paging.

Handlers live in ``reads.py`` and ``writes.py``; each registers itself with ``@handler(name)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

from . import schema as s
from .faults import SoapFault
from .store import Store


class Context:
    """What a handler needs besides its arguments: the store, paging and the caller's organisation."""

    def __init__(
        self, store: Store, *, page_size: int, user: dict, org_id: int | None, return_created_ids: bool = True
    ) -> None:
        self.store = store
        #: Propexo reports created work orders' and notes' IDs "cannot be retrieved": False mimics that
        self.return_created_ids = return_created_ids
        self.page_size = page_size
        self.user = user
        self.org_id = org_id


Handler = Callable[[Context, dict], Any]
Finder = Callable[[Context, "dict | None", "tuple[int, int] | None"], list[dict]]
Shaper = Callable[[Context, dict], "dict | None"]
HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def call(ctx: Context, op: s.Operation, args: dict) -> Any:
    fn = HANDLERS.get(op.name)
    if fn is None or not op.implemented:
        raise SoapFault(f"Operation '{op.name}' is not implemented")
    return fn(ctx, args)


# --- DTO shaping ------------------------------------------------------------------------------------------


@overload
def public(rec: dict) -> dict: ...
@overload
def public(rec: None) -> None: ...
def public(rec: dict | None) -> dict | None:
    if rec is None:
        return None
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def contact_dto(ctx: Context, stub: dict | None) -> dict | None:
    return public(ctx.store.get("contacts", stub.get("ID") if stub else None))


def portfolio_dto(ctx: Context, rec: dict) -> dict:
    out = public(rec)
    out["owners"] = [
        ("tns1:Owner", contact_dto(ctx, o))
        for o in rec.get("owners") or []
        if ctx.store.get("contacts", o.get("ID"))
    ]
    return out


def lease_dto(ctx: Context, rec: dict | None) -> dict | None:
    if rec is None:
        return None
    out = public(rec)
    out["tenants"] = [c for c in (contact_dto(ctx, t) for t in rec.get("tenants") or []) if c]
    out["primaryContact"] = contact_dto(ctx, rec.get("primaryContact"))
    return out


@overload
def work_order_dto(ctx: Context, rec: dict) -> dict: ...
@overload
def work_order_dto(ctx: Context, rec: None) -> None: ...
def work_order_dto(ctx: Context, rec: dict | None) -> dict | None:
    if rec is None:
        return None
    st = ctx.store
    out = public(rec)
    b = st.get("buildings", (rec.get("building") or {}).get("ID"))
    p = st.get("portfolios", (rec.get("portfolio") or {}).get("ID"))
    lease = st.get("leases", (rec.get("lease") or {}).get("ID"))
    # links are served as shallow objects: what a client needs to follow them
    building_keys = ("ID", "buildingID", "name", "abbreviation", "address", "multiUnit", "rentable", "active")
    out["building"] = b and {k: b.get(k) for k in building_keys}
    out["portfolio"] = p and {k: p.get(k) for k in ("ID", "name", "abbreviation", "active")}
    out["lease"] = lease and {
        k: lease.get(k) for k in ("ID", "leaseName", "leaseStatus", "unitID", "buildingID")
    }
    c = st.get("contacts", (rec.get("requestedByContact") or {}).get("ID"))
    out["requestedByContact"] = c and {k: c.get(k) for k in ("ID", "firstName", "lastName", "email")}
    out["approvedBy"] = rec.get("approvedBy") and {
        k: ctx.user.get(k) for k in ("ID", "firstName", "lastName")
    }
    return out


# --- paging and criteria ----------------------------------------------------------------------------------


def page_number(criteria: dict | None) -> int:
    n = (criteria or {}).get("pageNumber")
    if n is None:
        raise SoapFault("pageNumber is required (the first page is 1)")
    if n < 1:
        raise SoapFault(f"Invalid pageNumber {n}: pages start at 1")
    return n


def page_of(ctx: Context, criteria: dict | None) -> tuple[int, int]:
    return page_number(criteria), ctx.page_size


def check_org(ctx: Context, org_id: int | None) -> None:
    if org_id != ctx.org_id:
        raise SoapFault(f"Invalid organization ID {org_id}")


def criteria_reads(list_op: str, single_op: str | None, find: Finder, shape: Shaper) -> None:
    """Register a paged ``getXs(criteria)`` and its ``getX(criteria)`` (the first match, or nil)."""

    def read_page(ctx: Context, a: dict) -> list:
        criteria = a.get("criteria")
        return [shape(ctx, r) for r in find(ctx, criteria, page_of(ctx, criteria))]

    def read_one(ctx: Context, a: dict) -> dict | None:
        rows = find(ctx, a.get("criteria"), (1, 1))
        return shape(ctx, rows[0]) if rows else None

    handler(list_op)(read_page)
    if single_op:
        handler(single_op)(read_one)
