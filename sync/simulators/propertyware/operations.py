"""The PropertyWare operations over the store, with the real service's semantics (spec §8, §9.5–9.9).

Each handler takes the decoded arguments and returns the value to encode (records are shaped as DTOs
here: hidden keys dropped, links expanded). Semantic errors raise SoapFault with the service's wording.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from . import schema as s
from .faults import SoapFault
from .store import SERVER_FIELDS, Store, default_work_order, iso_precise

ALREADY_CLOSED = "Can not edit work order. It is already closed"
LOCATION_INVALID = "Location is invalid"
APPROVED_DATE_REQUIRED = "Approved Date is required"
WORK_ORDER_NOT_FOUND = "Work order not found"


class Context:
    """What a handler needs besides its arguments: the store, paging and the caller's organisation."""

    def __init__(
        self, store: Store, *, page_size: int, user: dict, org_id: int, return_created_ids: bool = True
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


def public(rec: dict | None) -> dict | None:
    if rec is None:
        return None
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def contact_dto(ctx: Context, stub: dict | None) -> dict | None:
    return public(ctx.store.get("contacts", stub and stub.get("ID")))


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
        rec = {
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
    rows = ctx.store.query("leases", None, predicate=lambda x: x["unitID"] == unit_id and x.get("active"))
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
    tests: list[Callable[[dict], bool]] = []
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


# --- work orders: writes ----------------------------------------------------------------------------------


def _as_iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return iso_precise(value)
    if isinstance(value, date):  # a bare date stands for midnight UTC
        return iso_precise(datetime(value.year, value.month, value.day, tzinfo=UTC))
    return value


def _validate_place(ctx: Context, wo: dict) -> None:
    """``location`` must be "PORTFOLIO_ABBR | BUILDING_ABBR" and every unit must belong to the building."""
    st = ctx.store
    b = st.get("buildings", (wo.get("building") or {}).get("ID"))
    if b is None:
        raise SoapFault(LOCATION_INVALID)
    p = st.get("portfolios", b["_portfolioID"])
    if (wo.get("portfolio") or {}).get("ID") not in (None, p["ID"]):
        raise SoapFault(LOCATION_INVALID)
    if wo.get("location") != f"{p['abbreviation']} | {b['abbreviation']}":
        raise SoapFault(LOCATION_INVALID)
    for uid in wo.get("unitIDs") or []:
        u = st.get("units", uid)
        if uid != b["ID"] and (u is None or u["buildingID"] != b["ID"]):
            raise SoapFault(LOCATION_INVALID)


def _merge_fields(ctx: Context, given: dict) -> dict:
    """A work order at its defaults overlaid with the writable fields of ``given`` (a decoded WorkOrder)."""
    st = ctx.store
    out = default_work_order()
    for name, value in given.items():
        if name in SERVER_FIELDS:
            continue
        if name == "customFields":
            try:
                value = st.complete_custom_fields(value or [])
            except KeyError as exc:
                raise SoapFault(f"Custom field {exc.args[0]!r} does not exist for work orders") from None
        elif name in ("building", "portfolio", "lease", "requestedByContact", "approvedBy", "owner"):
            value = {"ID": value["ID"]} if value and value.get("ID") else None
        elif name in ("unitIDs", "vendorIDs"):
            value = list(value or [])
        else:
            value = _as_iso(value)
        out[name] = value
    if "customFields" not in given:
        out["customFields"] = st.complete_custom_fields([])
    for vid in out.get("vendorIDs") or []:
        if st.get("vendors", vid) is None:
            raise SoapFault(f"Invalid vendor ID {vid}")
    if out.get("lease") and st.get("leases", out["lease"]["ID"]) is None:
        out["lease"] = None
    if out.get("approved") and not out.get("approvedDate"):
        raise SoapFault(APPROVED_DATE_REQUIRED)
    return out


@handler("createWorkOrder")
def create_work_order(ctx: Context, a: dict) -> dict:
    given = a.get("workOrder") or {}
    st = ctx.store
    with st.lock:
        _validate_place(ctx, given)
        rec = _merge_fields(ctx, given)
        b = st.get("buildings", rec["building"]["ID"])
        rec.update(
            {
                "ID": st.new_id(),
                "number": st.new_number(),
                "createdDate": iso_precise(st.now()),
                "portfolio": {"ID": b["_portfolioID"]},
                "notes": [],
                "documents": [],
                "_closed": False,
            }
        )
        rec["status"] = rec.get("status") or "Open"
        rec["source"] = rec.get("source") or "None"
        st.insert("work_orders", rec)
        out = work_order_dto(ctx, rec)
        if not ctx.return_created_ids:
            out["ID"] = None  # served as 0, the Java default
        return out


def _existing(ctx: Context, wo_id: Any) -> dict:
    rec = ctx.store.get("work_orders", wo_id)
    if rec is None:
        raise SoapFault(f"{WORK_ORDER_NOT_FOUND}: {wo_id}")
    if rec.get("_closed"):
        raise SoapFault(ALREADY_CLOSED)
    return rec


@handler("updateWorkOrder")
def update_work_order(ctx: Context, a: dict) -> dict:
    """A full replace: every writable field the request leaves out or sends nil goes back to its
    default (approved false, approver/date/comment blank, source "None", status "Open"); the
    building stays unless the request names another one, and a missing location is re-derived."""
    given = a.get("workOrder") or {}
    st = ctx.store
    with st.lock:
        rec = _existing(ctx, given.get("ID"))
        given = dict(given)
        if not (given.get("building") or {}).get("ID"):
            given["building"] = rec["building"]
        b = st.get("buildings", given["building"]["ID"])
        if b is not None and not given.get("location"):
            p = st.get("portfolios", b["_portfolioID"])
            given["location"] = f"{p['abbreviation']} | {b['abbreviation']}"
        given.pop("portfolio", None)
        _validate_place(ctx, given)
        new = _merge_fields(ctx, given)
        new["source"] = new.get("source") or "None"
        new["status"] = new.get("status") or "Open"
        for keep in (
            "ID",
            "number",
            "createdDate",
            "notes",
            "documents",
            "clientData",
            "_created",
            "_closed",
        ):
            new[keep] = rec.get(keep)
        new["portfolio"] = {"ID": b["_portfolioID"]}
        rec.clear()
        rec.update(new)
        st.touch(rec)
        return work_order_dto(ctx, rec)


@handler("closeWorkOrder")
def close_work_order(ctx: Context, a: dict) -> bool:
    st = ctx.store
    with st.lock:
        rec = _existing(ctx, a.get("workOrderID"))
        rec["status"] = "Closed"
        rec["_closed"] = True
        if a.get("category"):
            rec["category"] = a["category"]
        if a.get("closingComments") is not None:
            rec["closingComments"] = a["closingComments"]
        if a.get("startDate") is not None:
            rec["startDate"] = _as_iso(a["startDate"])
        rec["completedDate"] = _as_iso(a.get("completedDate")) or iso_precise(st.now())
        st.touch(rec)
        return True


@handler("approveWorkOrder")
def approve_work_order(ctx: Context, a: dict) -> bool:
    st = ctx.store
    with st.lock:
        rec = st.get("work_orders", a.get("workOrderID"))
        if rec is None:
            return True  # the real service answers normally and approves nothing (e.g. given a WO number)
        if rec.get("_closed"):
            raise SoapFault(ALREADY_CLOSED)
        approved = bool(a.get("approved"))
        when = a.get("approvedDate")
        if approved and when is None:
            raise SoapFault(APPROVED_DATE_REQUIRED)
        # a bare date is accepted and saved as null, as PropertyWare does
        rec["approvedDate"] = iso_precise(when) if isinstance(when, datetime) else None
        rec["approved"] = approved
        rec["approvalComment"] = a.get("approvalComment")
        rec["approvedBy"] = {"ID": ctx.user["ID"]} if approved else None
        st.touch(rec)
        return True


@handler("attachNoteToWorkOrder")
def attach_note_to_work_order(ctx: Context, a: dict) -> dict:
    st = ctx.store
    note, wo = a.get("note") or {}, a.get("workOrder") or {}
    with st.lock:
        rec = st.get("work_orders", wo.get("ID"))
        if rec is None:
            raise SoapFault(f"{WORK_ORDER_NOT_FOUND}: {wo.get('ID')}")
        if not (note.get("subject") or note.get("body")):
            raise SoapFault("A note needs a subject or a body")
        saved = {
            "ID": st.new_id(),
            "subject": note.get("subject"),
            "body": note.get("body"),
            "date": _as_iso(note.get("date")) or iso_precise(st.now()),
            "private": bool(note.get("private")),
        }
        rec.setdefault("notes", []).append(saved)
        st.touch(rec)
        return {**saved, "ID": saved["ID"] if ctx.return_created_ids else None}
