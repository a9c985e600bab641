"""The JSON control API under /_control/ for tests and demos (documented in docs/simulator-servicefusion.md).
Every hook is also a Python method on the simulator (``.store``, ``.faults``, ``.rate_limiter``, ``.oauth``).
No authentication, no rate limit, no faults: the simulator only listens on loopback.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from .auth import OAuth
from .faults import Faults
from .ratelimit import RateLimiter
from .responses import ApiError, Request, Response, ValidationFailed, parse_json
from .store import SimStore


class Controlled(Protocol):
    """What the control API drives (``SimApp`` is one), so this module does not import the app."""

    store: SimStore
    oauth: OAuth
    limiter: RateLimiter
    faults: Faults

    def request_counts(self) -> dict[str, int]: ...

    def status_counts(self) -> dict[int | str, int]: ...

    def reset_counts(self) -> None: ...

_JOB = re.compile(r"^/_control/jobs/(\d+)/(status|invoices)$")
_STATUS = re.compile(r"^/_control/job-statuses/([0-9A-Za-z_]+)$")
_EQUIPMENT = re.compile(r"^/_control/customers/(\d+)/equipment$")


def _body(req: Request) -> dict[str, Any]:
    try:
        data = parse_json(req.body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "The control request body must be a JSON object.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "The control request body must be a JSON object.")
    return data


def _call(fn, *args, **kwargs) -> Any:
    """Run a hook, turning its documented failures into 400/404/422 answers."""
    try:
        return fn(*args, **kwargs)
    except ValidationFailed:
        raise
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "Item not found.") from exc
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from exc


def handle(app: Controlled, req: Request) -> Response:
    path, method = req.path.rstrip("/"), req.method
    store = app.store
    try:
        return _route(app, store, req, path, method)
    except ValidationFailed as exc:
        return exc.response()


def _route(app: Controlled, store, req: Request, path: str, method: str) -> Response:
    if path == "/_control/state" and method == "GET":
        return Response(
            200,
            {
                "counts": store.counts(),
                "clock_offset": store.clock.offset,
                "faults": app.faults.describe(),
                "rate_limit": {
                    "limit": app.limiter.limit,
                    "window": app.limiter.window,
                    "reset_mode": app.limiter.reset_mode,
                    "retry_after": app.limiter.retry_after,
                },
            },
        )
    if path == "/_control/jobs":
        if method == "GET":
            return Response(200, store.jobs())
        if method == "POST":
            return Response(201, {"id": _call(store.seed_job, _body(req))})
    if path == "/_control/customers":
        if method == "GET":
            return Response(200, store.customers())
        if method == "POST":
            return Response(201, {"id": _call(store.seed_customer, _body(req))})
    found = _JOB.match(path)
    if found and method == "POST":
        job_id, what = int(found.group(1)), found.group(2)
        body = _body(req)
        if what == "status":
            return Response(200, _call(store.set_job_status, job_id, body.get("status")))
        invoice_id = _call(
            store.add_invoice,
            job_id,
            body.get("total"),
            is_paid=bool(body.get("is_paid", False)),
            date_=body.get("date"),
        )
        return Response(201, {"id": invoice_id})
    found = _EQUIPMENT.match(path)
    if found and method == "POST":
        return Response(201, {"id": _call(store.add_equipment, int(found.group(1)), **_body(req))})
    found = _STATUS.match(path)
    if found and method == "POST":
        _call(store.rename_status, found.group(1), _body(req).get("name"))
        return Response(200, {"ok": True})
    if path == "/_control/custom-fields" and method == "POST":
        body = _body(req)
        _call(store.define_custom_field, body.pop("entity", None), body.pop("name", None), **body)
        return Response(200, {"ok": True})
    if path == "/_control/time" and method == "POST":
        _call(store.advance_time, _body(req).get("advance", 0))
        return Response(200, {"clock_offset": store.clock.offset})
    if path == "/_control/faults":
        if method == "POST":
            _call(app.faults.configure, **_body(req))
            return Response(200, {"faults": app.faults.describe()})
        if method == "DELETE":
            app.faults.clear()
            return Response(200, {"faults": None})
        if method == "GET":
            return Response(200, {"faults": app.faults.describe(), "fired": app.faults.fired_counts()})
    if path == "/_control/rate-limit" and method == "POST":
        _call(app.limiter.configure, **_body(req))
        return Response(200, {"ok": True})
    if path == "/_control/oauth" and method == "POST":
        _call(app.oauth.configure, **_body(req))
        return Response(200, {"ok": True})
    if path == "/_control/tokens/revoke" and method == "POST":
        body = _body(req)
        if body.get("refresh_only"):
            app.oauth.revoke_refresh_tokens()
            return Response(200, {"revoked": "refresh tokens"})
        return Response(200, {"revoked": app.oauth.revoke_all()})
    if path == "/_control/requests":
        if method == "GET":
            return Response(
                200,
                {
                    "requests": app.request_counts(),
                    "statuses": {str(k): v for k, v in app.status_counts().items()},
                },
            )
        if method == "DELETE":
            app.reset_counts()
            return Response(200, {"requests": {}, "statuses": {}})
    raise ApiError(404, "No such control endpoint.")
