"""The /v1 resources: routes, list/get/create handlers, and each resource's filters and sort allow-list.
Only list, get and create exist (PUT/PATCH/DELETE get 405). Handlers run under the store's lock, so a
response is one consistent snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import listing, views
from .responses import ApiError, Response, parse_json
from .store import SimStore


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    base_url: str
    store: SimStore


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    methods: tuple[str, ...]
    handler: Callable[[Call, tuple[str, ...]], Response]
    #: the path with ids replaced by placeholders, for request counts
    template: str


_JOB_SORT = ("id", "number", "customer_name", "status", "category", "source", "priority", "po_number",
             "start_date", "end_date", "created_at", "updated_at")
SORTABLE = {
    "customers": (
        "id",
        "customer_name",
        "fully_qualified_name",
        "account_number",
        "created_at",
        "updated_at",
    ),
    "jobs": _JOB_SORT + ("closed_at",),
    "estimates": _JOB_SORT,
    "techs": ("id", "first_name", "last_name", "email", "created_at", "updated_at"),
    "job-statuses": ("id", "code", "name", "category"),
    "job-categories": ("id", "name"),
    "sources": ("id", "short_name", "long_name"),
    "payment-types": ("id", "code", "short_name"),
    "invoices": ("id", "number", "date", "total", "created_at", "updated_at"),
    "equipment": ("id", "type", "make", "model", "created_at", "updated_at"),
    "calendar-tasks": ("id", "start_date", "created_at", "updated_at"),
}

_JOB_FILTERS: dict[str, tuple[str, listing.Accessor]] = {
    "status": ("full", lambda r: r["status"]),
    "category": ("full", lambda r: r["category"]),
    "source": ("full", lambda r: r["source"]),
    "number": ("partial", lambda r: r["number"]),
    "po_number": ("partial", lambda r: r["po_number"]),
    "invoice_number": ("partial", lambda r: r["_invoice_numbers"]),
    "customer_name": ("partial", lambda r: r["customer_name"]),
    "parent_customer_name": ("partial", lambda r: r["parent_customer"]),
    "contact_first_name": ("partial", lambda r: r["contact_first_name"]),
    "contact_last_name": ("partial", lambda r: r["contact_last_name"]),
    "address": ("partial", lambda r: [r["street_1"], r["street_2"]]),
    "phone": ("partial", lambda r: r["_phones"]),
    "city": ("full", lambda r: r["city"]),
    "zip_code": ("full", lambda r: r["postal_code"]),
    "email": ("full", lambda r: r["_emails"]),
    "start_date": ("date", lambda r: r["start_date"]),
    "end_date": ("date", lambda r: r["end_date"]),
    "updated_date": ("timestamp", lambda r: r["updated_at"]),
    "closed_date": ("timestamp", lambda r: r["closed_at"]),
}
_ESTIMATE_FILTERS = {
    k: v for k, v in _JOB_FILTERS.items() if k not in ("invoice_number", "updated_date", "closed_date")
}
_ESTIMATE_FILTERS["requested_date"] = ("timestamp", lambda r: r["created_at"])

_CUSTOMER_FILTERS: dict[str, tuple[str, listing.Accessor]] = {
    "name": ("partial", lambda r: r["customer_name"]),
    "contact_first_name": ("partial", lambda r: [c["fname"] for c in r["_contacts"]]),
    "contact_last_name": ("partial", lambda r: [c["lname"] for c in r["_contacts"]]),
    "address": (
        "partial",
        lambda r: [x for loc in r["_locations"] for x in (loc["street_1"], loc["street_2"])],
    ),
    "phone": ("partial", lambda r: r["_phones"]),
    "city": ("full", lambda r: [loc["city"] for loc in r["_locations"]]),
    "postal_code": ("full", lambda r: [loc["postal_code"] for loc in r["_locations"]]),
    "email": ("full", lambda r: r["_emails"]),
    "tags": ("full", lambda r: r["tags"]),
    "last_serviced_date": ("date", lambda r: r["last_serviced_date"]),
    # No agreements are simulated, so these ranges match nothing.
    "agreement_date_effective": ("timestamp", lambda r: None),
    "agreement_date_expires": ("timestamp", lambda r: None),
}
_TECH_FILTERS: dict[str, tuple[str, listing.Accessor]] = {
    "first_name": ("partial", lambda r: r["first_name"]),
    "last_name": ("partial", lambda r: r["last_name"]),
    "name": ("partial", lambda r: f"{r['first_name']} {r['last_name']}"),
    "email": ("partial", lambda r: r["email"]),
}


# --- helpers ---------------------------------------------------------------------------------------------
def _listed(
    call: Call,
    resource: str,
    rows: list[dict],
    render: Callable[[dict, listing.ListQuery], dict],
    filters: dict | None = None,
) -> Response:
    q = listing.parse_list(call.query, SORTABLE[resource])
    if filters:
        rows = listing.apply_filters(rows, q.filters, filters)
    rows = listing.apply_sort(rows, q.sort)
    page, meta = listing.paginate(rows, q)
    body = {
        "items": [render(row, q) for row in page],
        "_expandable": views.expandable_left(resource, frozenset()),
        "_meta": meta,
    }
    return Response(200, body, listing.envelope_headers(meta, call.base_url, call.path, call.query))


def _single(
    call: Call,
    resource: str,
    render: Callable[[frozenset, list | None], dict],
    status: int = 200,
    headers: dict | None = None,
) -> Response:
    fields, expand = listing.parse_common(call.query)
    body = render(expand, fields)
    body["_expandable"] = views.expandable_left(resource, expand)
    return Response(status, body, headers or {})


def _get(table: dict[int, dict], raw_id: str) -> dict:
    rec = table.get(int(raw_id))
    if rec is None:
        raise ApiError(404)
    return rec


def json_body(call: Call) -> dict:
    """The POST body: JSON only (415 otherwise), an object (400 when malformed or not an object)."""
    kind = (call.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "Unsupported Content-Type: the request body must be application/json.")
    try:
        data = parse_json(call.body or b"null")
    except ValueError as exc:
        raise ApiError(400) from exc
    if not isinstance(data, dict):
        raise ApiError(400)
    return data


def _contact_values(customer: dict, key: str) -> list[str]:
    sub = "phones" if key == "phone" else "emails"
    return [item[key] for c in customer["contacts"] for item in c[sub]]


# --- handlers --------------------------------------------------------------------------------------------
def me(call: Call, _: tuple) -> Response:
    # a single record like any other, so it carries ``_expandable`` (always empty: the user has no relations)
    return _single(call, "me", lambda e, f: views.plain(call.store.me, f))


def customers(call: Call, _: tuple) -> Response:
    store = call.store
    if call.method == "POST":
        body = json_body(call)
        rec = store.create_customer(body)
        return _single(
            call,
            "customers",
            lambda e, f: views.customer(store, rec, e, f),
            201,
            {"Location": f"{call.base_url}/v1/customers/{rec['id']}"},
        )
    rows = []
    for rec in store.customers_by_id.values():
        row = views.customer(store, rec, frozenset())
        row.update(
            _rec=rec,
            _contacts=rec["contacts"],
            _locations=rec["locations"],
            _phones=_contact_values(rec, "phone"),
            _emails=_contact_values(rec, "email"),
        )
        rows.append(row)
    return _listed(
        call,
        "customers",
        rows,
        lambda row, q: views.customer(store, row["_rec"], q.expand, q.fields),
        _CUSTOMER_FILTERS,
    )


def customer(call: Call, groups: tuple) -> Response:
    rec = _get(call.store.customers_by_id, groups[0])
    return _single(call, "customers", lambda e, f: views.customer(call.store, rec, e, f))


def _job_rows(store: SimStore, table: dict[int, dict], kind: str) -> list[dict]:
    rows = []
    for rec in table.values():
        row = views.job(store, rec, frozenset(), kind=kind)
        cust = store.customers_by_id[rec["customer_id"]]
        row.update(
            _rec=rec,
            _phones=_contact_values(cust, "phone"),
            _emails=_contact_values(cust, "email"),
            _invoice_numbers=[str(store.invoices[i]["number"]) for i in rec.get("invoice_ids", [])],
        )
        rows.append(row)
    return rows


def jobs(call: Call, _: tuple, kind: str = "jobs") -> Response:
    store = call.store
    table = store.estimates if kind == "estimates" else store.jobs_by_id
    if call.method == "POST":
        rec = store.create_job(json_body(call), kind)
        return _single(
            call,
            kind,
            lambda e, f: views.job(store, rec, e, f, kind),
            201,
            {"Location": f"{call.base_url}/v1/{kind}/{rec['id']}"},
        )
    return _listed(
        call,
        kind,
        _job_rows(store, table, kind),
        lambda row, q: views.job(store, row["_rec"], q.expand, q.fields, kind),
        _ESTIMATE_FILTERS if kind == "estimates" else _JOB_FILTERS,
    )


def job(call: Call, groups: tuple, kind: str = "jobs") -> Response:
    table = call.store.estimates if kind == "estimates" else call.store.jobs_by_id
    rec = _get(table, groups[0])
    return _single(call, kind, lambda e, f: views.job(call.store, rec, e, f, kind))


def estimates(call: Call, groups: tuple) -> Response:
    return jobs(call, groups, "estimates")


def estimate(call: Call, groups: tuple) -> Response:
    return job(call, groups, "estimates")


def equipment_list(call: Call, groups: tuple) -> Response:
    store = call.store
    _get(store.customers_by_id, groups[0])
    rows = [
        {**views.equipment(store, rec, frozenset()), "_rec": rec}
        for rec in store.equipment.values()
        if rec["customer_id"] == int(groups[0])
    ]
    return _listed(
        call, "equipment", rows, lambda row, q: views.equipment(store, row["_rec"], q.expand, q.fields)
    )


def equipment_item(call: Call, groups: tuple) -> Response:
    rec = _get(call.store.equipment, groups[1])
    if rec["customer_id"] != int(groups[0]):
        raise ApiError(404)
    return _single(call, "equipment", lambda e, f: views.equipment(call.store, rec, e, f))


def invoices(call: Call, _: tuple) -> Response:
    rows = [{**views.invoice(rec, None), "_rec": rec} for rec in call.store.invoices.values()]
    # Invoices take only `fields` and `sort`; filters are not offered.
    return _listed(call, "invoices", rows, lambda row, q: views.invoice(row["_rec"], q.fields))


def invoice(call: Call, groups: tuple) -> Response:
    rec = _get(call.store.invoices, groups[0])
    return _single(call, "invoices", lambda e, f: views.invoice(rec, f))


def _lookup(table_name: str, resource: str, filters: dict | None = None):
    def list_handler(call: Call, _: tuple) -> Response:
        table = getattr(call.store, table_name)
        rows = [{**views.plain(rec), "_rec": rec} for rec in table.values()]
        return _listed(call, resource, rows, lambda row, q: views.plain(row["_rec"], q.fields), filters)

    def get_handler(call: Call, groups: tuple) -> Response:
        rec = _get(getattr(call.store, table_name), groups[0])
        return _single(call, resource, lambda e, f: views.plain(rec, f))

    return list_handler, get_handler


def _route(path: str, methods: tuple[str, ...], handler) -> Route:
    regex = "^" + re.sub(r"\{[a-z]+\}", r"(\\d+)", path) + "/?$"
    return Route(re.compile(regex), methods, handler, path)


ROUTES: list[Route] = [
    _route("/v1/me", ("GET",), me),
    _route("/v1/customers", ("GET", "POST"), customers),
    _route("/v1/customers/{id}", ("GET",), customer),
    _route("/v1/customers/{id}/equipment", ("GET",), equipment_list),
    _route("/v1/customers/{id}/equipment/{eid}", ("GET",), equipment_item),
    _route("/v1/jobs", ("GET", "POST"), jobs),
    _route("/v1/jobs/{id}", ("GET",), job),
    _route("/v1/estimates", ("GET", "POST"), estimates),
    _route("/v1/estimates/{id}", ("GET",), estimate),
    _route("/v1/invoices", ("GET",), invoices),
    _route("/v1/invoices/{id}", ("GET",), invoice),
]
for _table, _resource, _filters in (
    ("statuses", "job-statuses", None),
    ("categories", "job-categories", None),
    ("sources", "sources", None),
    ("payment_types", "payment-types", None),
    ("techs", "techs", _TECH_FILTERS),
    ("calendar_tasks", "calendar-tasks", None),
):
    _list, _one = _lookup(_table, _resource, _filters)
    ROUTES.append(_route(f"/v1/{_resource}", ("GET",), _list))
    ROUTES.append(_route(f"/v1/{_resource}/{{id}}", ("GET",), _one))


def match(path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.groups()
    return None
