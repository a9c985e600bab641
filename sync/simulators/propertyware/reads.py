"""Read operations (and the seeding creates) over the store, with the service's semantics (§9.5–9.7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .faults import SoapFault
from .registry import (
    Context,
    check_org,
    criteria_reads,
    handler,
    lease_dto,
    portfolio_dto,
    public,
    work_order_dto,
)

# --- health, user, portfolios -----------------------------------------------------------------------------


@handler("echoString")
def echo_string(ctx: Context, a: dict) -> Any:
    return a.get("arg")


@handler("getCurrentUser")
def get_current_user(ctx: Context, a: dict) -> dict:
    return {**ctx.user, "organizationID": ctx.org_id, "organizationName": ctx.store.organization.get("name")}


@handler("getAllPortfolios")
def get_all_portfolios(ctx: Context, a: dict) -> list:
    return [portfolio_dto(ctx, p) for p in ctx.store.query("portfolios", None)]


@handler("getPortfolioList")
def get_portfolio_list(ctx: Context, a: dict) -> list:
    check_org(ctx, a.get("orgID"))
    return get_all_portfolios(ctx, a)


@handler("createPortfolio")
def create_portfolio(ctx: Context, a: dict) -> str:
    name, abbr = (a.get("name") or "").strip(), (a.get("abbreviation") or "").strip()
    if not name or not abbr:
        raise SoapFault("Portfolio name and abbreviation are required")
    st = ctx.store
    with st.lock:
        if any(p["abbreviation"].lower() == abbr.lower() for p in st.table("portfolios").values()):
            raise SoapFault(f"A portfolio with abbreviation '{abbr}' already exists")
        rec: dict[str, Any] = {
            "ID": st.new_id(),
            "name": name,
            "abbreviation": abbr,
            "active": True,
            "owners": [],
            "customFields": [],
        }
        st.insert("portfolios", rec)
        return str(rec["ID"])


# --- buildings and units ----------------------------------------------------------------------------------


def _buildings(ctx: Context, criteria: dict | None, page: tuple[int, int] | None = None) -> list[dict]:
    owner = (criteria or {}).get("ownerId")
    st = ctx.store

    def owned(b: dict) -> bool:
        p = st.get("portfolios", b["_portfolioID"])
        assert p is not None  # the store keeps every building's portfolio
        return any(o.get("ID") == owner for o in p.get("owners") or [])

    return st.query("buildings", criteria, predicate=owned if owner is not None else None, page=page)


criteria_reads("getBuildings", "getBuilding", _buildings, lambda ctx, r: public(r))


@handler("getBuildingsForPortfolio")
def get_buildings_for_portfolio(ctx: Context, a: dict) -> list:
    pid = a.get("portfolioID")
    return [
        public(b) for b in ctx.store.query("buildings", None, predicate=lambda b: b["_portfolioID"] == pid)
    ]


@handler("createBuilding")
def create_building(ctx: Context, a: dict) -> str:
    st = ctx.store
    with st.lock:
        p = st.get("portfolios", a.get("portfolioID"))
        if p is None:
            raise SoapFault(f"Invalid portfolio ID {a.get('portfolioID')}")
        name, abbr = (a.get("name") or "").strip(), (a.get("abbreviation") or "").strip()
        if not name or not abbr:
            raise SoapFault("Building name and abbreviation are required")
        multi = bool(a.get("isMultiUnitBuilding"))
        bid = st.new_id()
        rec = {
            "ID": bid,
            "buildingID": bid,
            "name": name,
            "abbreviation": abbr,
            "portfolio": p["abbreviation"],
            "multiUnit": multi,
            "rentable": not multi,
            "active": True,
            "_portfolioID": p["ID"],
            **{k: a.get(k) for k in ("address", "address2", "city", "state", "zip", "country")},
        }
        st.insert("buildings", rec)
        return str(bid)


def _units(ctx: Context, criteria: dict | None, page: tuple[int, int] | None = None) -> list[dict]:
    bid = (criteria or {}).get("buildingId")
    pred = (lambda u: u["buildingID"] == bid) if bid else None
    return ctx.store.query("units", criteria, predicate=pred, page=page)


criteria_reads("getUnits", "getUnit", _units, lambda ctx, r: public(r))


@handler("getUnitsForBuilding")
def get_units_for_building(ctx: Context, a: dict) -> list:
    check_org(ctx, a.get("orgID"))
    bid = a.get("buildingID")
    return [public(u) for u in ctx.store.query("units", None, predicate=lambda u: u["buildingID"] == bid)]


@handler("createUnit")
def create_unit(ctx: Context, a: dict) -> str:
    st = ctx.store
    with st.lock:
        b = st.get("buildings", a.get("buildingID"))
        if b is None or b["_portfolioID"] != a.get("portfolioID"):
            raise SoapFault(f"Invalid building ID {a.get('buildingID')} for portfolio {a.get('portfolioID')}")
        if not b.get("multiUnit"):
            raise SoapFault("Units can only be added to a multi-unit building")
        rec = {
            "ID": st.new_id(),
            "buildingID": b["ID"],
            "portfolio": b["portfolio"],
            "active": True,
            "multiUnit": False,
            **{
                k: a.get(k)
                for k in ("name", "abbreviation", "address", "address2", "city", "state", "zip", "country")
            },
        }
        st.insert("units", rec)
        return str(rec["ID"])


# --- leases, tenants, contacts, vendors -------------------------------------------------------------------


def _leases(ctx: Context, criteria: dict | None, page: tuple[int, int] | None = None) -> list[dict]:
    tenant = (criteria or {}).get("tenantId")

    def has_tenant(lease: dict) -> bool:
        return any(t.get("ID") == tenant for t in lease.get("tenants") or [])

    return ctx.store.query(
        "leases", criteria, predicate=has_tenant if tenant is not None else None, page=page
    )


criteria_reads("getLeases", "getLease", _leases, lease_dto)


def _active_lease(ctx: Context, unit_id: int | None) -> dict | None:
    rows = ctx.store.query("leases", None,
                           predicate=lambda x: x["unitID"] == unit_id and bool(x.get("active")))
    return lease_dto(ctx, rows[-1]) if rows else None


@handler("getActiveLeaseForUnit")
def get_active_lease_for_unit(ctx: Context, a: dict) -> dict | None:
    return _active_lease(ctx, a.get("unitId"))


@handler("getActiveLeaseForRentableBuilding")
def get_active_lease_for_rentable_building(ctx: Context, a: dict) -> dict | None:
    b = ctx.store.get("buildings", a.get("buildingId"))
    if b is None or not b.get("rentable"):
        return None
    return _active_lease(ctx, b["ID"])


@handler("getTenant")
def get_tenant(ctx: Context, a: dict) -> dict | None:
    check_org(ctx, a.get("orgID"))
    lease = lease_dto(ctx, ctx.store.get("leases", a.get("leaseID")))
    if lease is None:
        return None
    primary = lease["primaryContact"] or {}
    return {
        "ID": lease["ID"],
        "name": lease.get("leaseName"),
        "primaryContact": primary or None,
        "contactEmail": primary.get("email"),
        "contactPhone": primary.get("homePhone"),
        "contactMobile": primary.get("mobilePhone"),
        **{k: primary.get(k) for k in ("address", "address2", "city", "state", "zip", "country")},
    }


def _contacts(ctx: Context, criteria: dict | None, page: tuple[int, int] | None = None) -> list[dict]:
    email = ((criteria or {}).get("email") or "").strip().lower()
    pred = (lambda c: (c.get("email") or "").lower() == email) if email else None
    return ctx.store.query("contacts", criteria, predicate=pred, page=page)


criteria_reads("getContacts", None, _contacts, lambda ctx, r: public(r))


@handler("getContactByID")
def get_contact_by_id(ctx: Context, a: dict) -> dict | None:
    return public(ctx.store.get("contacts", a.get("contactID")))


@handler("getVendors")
def get_vendors(ctx: Context, a: dict) -> list:
    return [public(v) for v in ctx.store.query("vendors", None)]  # the real service never pages vendors


@handler("getVendor")
def get_vendor(ctx: Context, a: dict) -> dict | None:
    return public(ctx.store.get("vendors", a.get("vendorID")))


# --- work orders: reads -----------------------------------------------------------------------------------


def _work_orders(ctx: Context, criteria: dict | None, page: tuple[int, int] | None = None) -> list[dict]:
    c = criteria or {}
    tests: list[Callable[..., bool]] = []  # each takes a work order (and its bound defaults)
    for key, get in (
        ("buildingId", lambda w: (w.get("building") or {}).get("ID")),
        ("portfolioId", lambda w: (w.get("portfolio") or {}).get("ID")),
        ("workOrderNumber", lambda w: w.get("number")),
    ):
        if c.get(key) is not None:
            tests.append(lambda w, want=c[key], get=get: get(w) == want)
    if c.get("unitId") is not None:
        tests.append(lambda w, want=c["unitId"]: want in (w.get("unitIDs") or []))
    if c.get("vendorId") is not None:
        tests.append(lambda w, want=c["vendorId"]: want in (w.get("vendorIDs") or []))
    if c.get("contactId") is not None:
        tests.append(lambda w, want=c["contactId"]: (w.get("requestedByContact") or {}).get("ID") == want)
    return ctx.store.query(
        "work_orders",
        criteria,
        predicate=lambda w: all(t(w) for t in tests),
        newest_first=bool(c.get("orderByNewestFirst")),
        page=page,
    )


criteria_reads("getWorkOrders", "getWorkOrder", _work_orders, work_order_dto)
