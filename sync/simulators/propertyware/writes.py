"""Work-order writes as PropertyWare does them (spec §8, §9.8–9.9): location checks, the full-replace
update with its resets, close and the edits it forbids, approvals, notes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from .faults import SoapFault
from .registry import Context, handler, work_order_dto
from .store import SERVER_FIELDS, default_work_order, iso_precise

ALREADY_CLOSED = "Can not edit work order. It is already closed"
LOCATION_INVALID = "Location is invalid"
APPROVED_DATE_REQUIRED = "Approved Date is required"
WORK_ORDER_NOT_FOUND = "Work order not found"


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
    assert p is not None  # the store keeps every building's portfolio
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
        assert b is not None  # _validate_place found it
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
            assert p is not None  # the store keeps every building's portfolio
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
        assert b is not None  # _validate_place found it
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
