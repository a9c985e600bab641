"""POST bodies → stored records: the §9.10 validation rules, "id or header" references, and defaults.
Called by the store under its lock. Every rule failure is collected and raised as one 422 array;
nothing is written unless the whole body is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import seed
from .checks import Checker, label
from .lookups import Lookups

NAME_MAX = 45  # the documented example: "Name is too long (maximum is 45 characters)."

_CUSTOMER_TEXT = (
    "account_number",
    "private_notes",
    "public_notes",
    "payment_terms",
    "tax_item_name",
    "industry",
    "assigned_contract",
)
_JOB_TEXT = (
    "description",
    "tech_notes",
    "po_number",
    "check_number",
    "note_to_customer",
    "called_in_by",
    "project",
    "phase",
    "contract",
    "completion_notes",
)
_LOCATION_TEXT = (
    "street_1",
    "street_2",
    "city",
    "state_prov",
    "postal_code",
    "location_name",
    "gate_instructions",
)


def customer_record(body: dict, store: Lookups, now: datetime) -> dict[str, Any]:
    """Validate a CustomerBody and build the stored customer (without id)."""
    c = Checker(body)
    name = c.text("customer_name", required=True, max_len=NAME_MAX)
    parent = _reference(c, "parent_customer", store.find_customer)
    rec: dict[str, Any] = {"customer_name": name.strip() if name else name}
    for key in _CUSTOMER_TEXT:
        rec[key] = c.text(key)
    rec["credit_rating"] = c.enum("credit_rating", seed.CREDIT_RATINGS)
    rec["labor_charge_type"] = c.enum("labor_charge_type", seed.LABOR_CHARGE_TYPES)
    rec["discount_type"] = c.enum("discount_type", seed.DISCOUNT_TYPES)
    rec["qbo_currency"] = c.enum("qbo_currency", seed.QBO_CURRENCIES)
    rec["discount"] = c.number("discount", minimum=0)
    rec["labor_charge_default_rate"] = c.number("labor_charge_default_rate", minimum=0)
    for key in ("is_vip", "is_taxable", "is_bill_for_drive_time"):
        rec[key] = c.boolean(key)
    rec["referral_source"] = _header(c, "referral_source", store.find_source, "short_name")
    rec["agent"] = _header(c, "agent", store.find_tech, None)
    rec["payment_type"] = _header(c, "payment_type", store.find_payment_type, "short_name")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        c.fail("tags", "Tags must be an array of strings.")
        tags = None
    rec["tags"] = list(tags or [])
    contacts = [_contact(item, now) for item in _each(c, "contacts")]
    locations = [_location(item, now) for item in _each(c, "locations")]
    custom = _custom_fields(c, store.custom_field_defs("customers"))
    if name and store.unique_customer_names and any(
        other["customer_name"].lower() == name.strip().lower() for other in store.customers_by_id.values()
    ):  # Yii2's unique validator
        c.fail("customer_name", f'{label("customer_name")} "{name.strip()}" has already been taken.')
    c.done()

    # Defaults: explicit body value, else the parent customer's, else the company preference.
    for key, default in seed.CUSTOMER_DEFAULTS.items():
        if rec.get(key) is None:
            inherited = parent.get(key) if parent is not None and key in seed.INHERITED_FROM_PARENT else None
            rec[key] = inherited if inherited is not None else default
    rec["is_vip"] = bool(rec["is_vip"])
    rec["is_bill_for_drive_time"] = bool(rec["is_bill_for_drive_time"])
    rec["parent_customer_id"] = parent["id"] if parent is not None else None
    rec["fully_qualified_name"] = (
        f"{parent['fully_qualified_name']}:{rec['customer_name']}"
        if parent is not None
        else rec["customer_name"]
    )
    if not contacts:
        # ServiceFusion creates a contact when the body has none.
        contacts = [_generated_contact(rec["customer_name"], "", now, primary=True)]
    _single_primary(contacts)
    _single_primary(locations)
    rec.update(
        contacts=contacts,
        locations=locations,
        custom_fields=custom,
        account_balance=0,
        last_serviced_date=None,
        qbo_sync_token=None,
        qbo_id=None,
        qbd_id=None,
        created_at=now,
        updated_at=now,
    )
    return rec


def job_record(body: dict, store: Lookups, now: datetime, kind: str = "jobs") -> tuple[dict, dict | None]:
    """Validate a JobBody (or EstimateBody) and build the record; also a contact to add, if any."""
    c = Checker(body)
    customer = _reference(c, "customer_name", store.find_customer, required=True)
    rec: dict[str, Any] = {}
    statuses = store.estimate_statuses if kind == "estimates" else store.statuses
    status = _reference(c, "status", lambda ref: store.find_status(ref, statuses))
    rec["category"] = _header(c, "category", store.find_category, "name")
    rec["source"] = _header(c, "source", store.find_source, "short_name")
    rec["payment_type"] = _header(c, "payment_type", store.find_payment_type, "short_name")
    rec["priority"] = c.enum("priority", seed.PRIORITIES) or "Normal"
    for key in _JOB_TEXT:
        rec[key] = c.text(
            key, max_len=2000 if key in ("description", "tech_notes", "completion_notes") else 255
        )
    rec["duration"] = c.integer("duration", minimum=0)
    rec["time_frame_promised_start"] = c.hour_minute("time_frame_promised_start")
    rec["time_frame_promised_end"] = c.hour_minute("time_frame_promised_end")
    rec["start_date"] = c.day("start_date")
    rec["end_date"] = c.day("end_date")
    first = c.text("contact_first_name")
    last = c.text("contact_last_name")
    location: dict[str, Any] = {key: c.text(key) for key in _LOCATION_TEXT}
    location["is_gated"] = c.boolean("is_gated")
    rec["techs_assigned"] = _people(c, "techs_assigned", store)
    rec["agents"] = _people(c, "agents", store)
    rec["notes"] = [_stamped(now, notes=n.text("notes", required=True)) for n in _each(c, "notes")]
    rec["tasks"] = [
        _stamped(
            now,
            description=t.text("description", required=True),
            is_completed=bool(t.boolean("is_completed")),
        )
        for t in _each(c, "tasks")
    ]
    lines = {
        key: [_charge(line, now) for line in _each(c, key)]
        for key in ("products", "services", "other_charges", "labor_charges", "expenses", "equipment")
    }
    if kind == "estimates":
        rec["opportunity_rating"] = c.enum("opportunity_rating", seed.ESTIMATE_RATINGS)
        rec["opportunity_owner"] = _header(c, "opportunity_owner", store.find_tech, None)
        for key in ("labor_charges", "expenses"):
            if body.get(key) is not None:
                c.fail(key, f"{label(key)} is not supported on estimates.")
    custom = _custom_fields(c, store.custom_field_defs(kind))
    c.done()
    assert customer is not None  # required: done() raised otherwise

    rec["status_id"] = (status or store.default_status(statuses))["id"]
    rec["customer_id"] = customer["id"]
    if rec["duration"] is None:
        rec["duration"] = 3600
    new_contact = None
    if first or last:
        match = next(
            (
                p
                for p in customer["contacts"]
                if (p["fname"] or "").lower() == (first or "").lower()
                and (p["lname"] or "").lower() == (last or "").lower()
            ),
            None,
        )
        if match is None:
            # An unknown contact name creates a contact on the customer (documented side effect).
            new_contact = _generated_contact(first or "", last or "", now, primary=False)
    else:
        primary = next((p for p in customer["contacts"] if p["is_primary"]), None)
        if primary is not None:
            first, last = primary["fname"], primary["lname"]
    rec["contact_first_name"], rec["contact_last_name"] = first, last
    if not any(location[key] for key in _LOCATION_TEXT):
        primary_loc = next((loc for loc in customer["locations"] if loc["is_primary"]), None)
        if primary_loc is not None:
            location.update(
                {
                    key: primary_loc.get(key)
                    for key in (
                        "street_1",
                        "street_2",
                        "city",
                        "state_prov",
                        "postal_code",
                        "gate_instructions",
                    )
                }
            )
            location["location_name"] = primary_loc.get("nickname")
            location["is_gated"] = primary_loc.get("is_gated")
    location["is_gated"] = bool(location["is_gated"])
    rec.update(location)
    rec.update(lines)
    rec.update(
        custom_fields=custom,
        sub_status=None,
        payment_status="Unpaid",
        is_requires_follow_up=False,
        invoice_ids=[],
        created_at=now,
        updated_at=now,
        closed_at=None,
    )
    return rec, new_contact


def _reference(c: Checker, key: str, finder, *, required: bool = False) -> dict | None:
    """Resolve an "id or header" reference; an unknown value is a 422 on that field."""
    value = c.body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            c.fail(key, f"{label(key)} cannot be blank.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        c.fail(key, f"{label(key)} must be an integer or a string.")
        return None
    found = finder(value)
    if found is None:
        c.fail(key, f'{label(key)} "{value}" is invalid.')
    return found


def _header(c: Checker, key: str, finder, header_key: str | None) -> str | None:
    found = _reference(c, key, finder)
    if found is None:
        return None
    return found[header_key] if header_key else f"{found['first_name']} {found['last_name']}"


def _people(c: Checker, key: str, store: Lookups) -> list[int]:
    """``techs_assigned[]`` / ``agents[]``: each ``{id}`` or ``{first_name, last_name}``."""
    ids = []
    for i, item in enumerate(c.array(key)):
        if "id" in item:
            ref: Any = item["id"]
        else:
            ref = f"{item.get('first_name', '')} {item.get('last_name', '')}".strip()
        tech = (
            store.find_tech(ref) if isinstance(ref, int | str) and not isinstance(ref, bool) and ref else None
        )
        if tech is None:
            c.fail(f"{key}[{i}]", f'{label(key)} "{ref}" is invalid.')
        else:
            ids.append(tech["id"])
    return ids


def _each(c: Checker, key: str) -> list[Checker]:
    """A checker per object of the array ``key``; errors name fields like ``contacts[0].phones[1].phone``."""
    return [c.nested(item, f"{c.name(key)}[{i}]") for i, item in enumerate(c.array(key))]


def _stamped(now: datetime, **fields: Any) -> dict[str, Any]:
    return {**fields, "created_at": now, "updated_at": now}


def _generated_contact(fname: str, lname: str, now: datetime, *, primary: bool) -> dict[str, Any]:
    """A contact ServiceFusion makes itself (a customer without contacts, a job naming a new contact)."""
    return _stamped(
        now,
        fname=fname,
        lname=lname,
        contact_type=None,
        job_title=None,
        department=None,
        dob=None,
        anniversary=None,
        is_primary=primary,
        phones=[],
        emails=[],
    )


def _contact(c: Checker, now: datetime) -> dict[str, Any]:
    contact = _stamped(
        now,
        fname=c.text("fname", required=True),
        lname=c.text("lname", required=True),
        contact_type=c.text("contact_type"),
        job_title=c.text("job_title"),
        department=c.text("department"),
        dob=c.day("dob"),
        anniversary=c.day("anniversary"),
        is_primary=bool(c.boolean("is_primary")),
    )
    contact["phones"] = [
        _stamped(now, phone=p.text("phone", required=True), ext=p.text("ext"), type=p.text("type"))
        for p in _each(c, "phones")
    ]
    contact["emails"] = [
        _stamped(
            now,
            email=e.email("email", required=True),
            types_accepted=e.text("types_accepted"),
            **{"class": e.text("class")},
        )
        for e in _each(c, "emails")
    ]
    return contact


_LOCATION_FIELDS = (
    "street_1",
    "street_2",
    "city",
    "state_prov",
    "postal_code",
    "country",
    "nickname",
    "location_type",
    "gate_instructions",
)


def _location(c: Checker, now: datetime) -> dict[str, Any]:
    loc: dict[str, Any] = {key: c.text(key, required=(key == "street_1")) for key in _LOCATION_FIELDS}
    for key in ("is_primary", "is_gated", "is_bill_to"):
        loc[key] = bool(c.boolean(key))
    return _stamped(now, **loc, customer_contact=c.text("customer_contact"), latitude=None, longitude=None)


def _charge(c: Checker, now: datetime) -> dict[str, Any]:
    return _stamped(
        now,
        name=c.text("name"),
        description=c.text("description"),
        multiplier=c.number("multiplier", minimum=0) or 1.0,
        price=c.number("price") or 0.0,
    )


def _custom_fields(c: Checker, definitions: list[dict]) -> dict[str, Any]:
    """``custom_fields[]`` of ``{name, value}``: labels must exist, required ones must be present."""
    by_name = {d["name"]: d for d in definitions}
    values: dict[str, Any] = {}
    for i, item in enumerate(c.array("custom_fields")):
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not name:
            c.fail(f"custom_fields[{i}].name", "Name cannot be blank.")
            continue
        definition = by_name.get(name)
        if definition is None:
            c.fail(f"custom_fields[{i}].name", f'Custom field "{name}" does not exist.')
            continue
        if value is not None and not isinstance(value, str | int | float | bool):
            c.fail(f"custom_fields[{i}].value", f'Value of custom field "{name}" is invalid.')
            continue
        values[name] = _coerce_custom(definition, value)
    for definition in definitions:
        if definition["is_required"] and values.get(definition["name"]) in (None, ""):
            c.fail("custom_fields", f'Custom field "{definition["name"]}" is required.')
    return values


def _coerce_custom(definition: dict, value: Any) -> Any:
    if value is None:
        return definition["default"]
    if definition["type"] == "checkbox":
        return value in (True, 1, "1", "true", "yes")
    if definition["type"] == "numeric" and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            return definition["default"]
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _single_primary(items: list[dict]) -> None:
    """``is_primary`` demotes the current primary: the last one flagged wins; none flagged → the first."""
    flagged = [i for i, item in enumerate(items) if item.get("is_primary")]
    keep = flagged[-1] if flagged else (0 if items else None)
    for i, item in enumerate(items):
        item["is_primary"] = i == keep
