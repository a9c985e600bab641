"""The request the server read and the responses the simulator sends: documented error bodies, JSON/XML
rendering, socket actions. Handlers raise ``ApiError`` or ``ValidationFailed`` (the 422 bare array) or
return ``Response``; the server turns either into bytes, or drops/resets the connection when a fault asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

# Yii2's status names, as ServiceFusion sends them in the ``name`` member.
STATUS_NAMES = {
    400: "Bad Request.",
    401: "Unauthorized.",
    403: "Forbidden.",
    404: "Not Found.",
    405: "Method Not Allowed.",
    415: "Unsupported Media Type.",
    422: "Data Validation Failed.",
    429: "Too Many Requests.",
    500: "Internal server error.",
    503: "Service Unavailable.",
}
DEFAULT_MESSAGES = {
    400: "Your request is invalid.",
    401: "Your request was made with invalid credentials.",
    403: "Login Required.",
    404: "Item not found.",
    415: "None of your requested content types is supported.",
    429: "Rate limit exceeded.",
    500: "Failed to create the object for unknown reason.",
    503: "The service is temporarily unavailable.",
}
REASONS = {
    200: "OK",
    201: "Created",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "application/xml; charset=UTF-8"


@dataclass
class Request:
    """One HTTP request as the server read it, handed to the app and the control API."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message (case-insensitive .get)
    body: bytes
    client: str


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: "send" writes the response; "drop" closes the connection silently; "reset" sends a TCP RST.
    action: str = "send"
    #: the body is already encoded (e.g. a gateway's HTML page); content_type says what it is
    raw: bytes | None = None
    content_type: str = JSON_TYPE


class ApiError(Exception):
    """An error response with the documented ``{code, name, message}`` body."""

    def __init__(self, status: int, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or DEFAULT_MESSAGES.get(status, ""))
        self.status = status
        self.message = message or DEFAULT_MESSAGES.get(status, "")
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body = {
            "code": self.status,
            "name": STATUS_NAMES.get(self.status, REASONS.get(self.status, "Error")),
            "message": self.message,
        }
        return Response(self.status, body, dict(self.headers))


class ValidationFailed(Exception):
    """422: one ``{field, message}`` entry per failed field, sent as a bare JSON array."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors

    def response(self) -> Response:
        return Response(422, list(self.errors))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (NaN and Infinity are not JSON); ValueError on anything malformed."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ValueError("body is not UTF-8") from exc


def method_not_allowed(allowed: tuple[str, ...]) -> Response:
    listed = ", ".join(allowed)
    body = {
        "code": 405,
        "name": STATUS_NAMES[405],
        "message": f"Method Not Allowed. This url can only handle the following request methods: {listed}.",
    }
    return Response(405, body, {"Allow": listed})


def gateway_page(status: int) -> Response:
    """What a load balancer in front of the API sends for 502/504: an HTML page, not JSON."""
    reason = REASONS[status]
    html = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    )
    return Response(status, raw=html.encode(), content_type="text/html; charset=UTF-8")


def encode(resp: Response, fmt: str) -> tuple[bytes, str]:
    """The response body as bytes and its Content-Type, in JSON or (minimal, Yii2-style) XML."""
    if resp.raw is not None:
        return resp.raw, resp.content_type
    if resp.body is None:
        return b"", resp.content_type
    if fmt == "xml":
        return _to_xml(resp.body).encode(), XML_TYPE
    return json.dumps(resp.body, separators=(",", ":"), ensure_ascii=False).encode(), JSON_TYPE


def _to_xml(value: Any) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<response>' + _xml_inner(value) + "</response>\n"


def _xml_inner(value: Any) -> str:
    if isinstance(value, dict):
        return "".join(f"<{_tag(k)}>{_xml_inner(v)}</{_tag(k)}>" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "".join(f"<item>{_xml_inner(v)}</item>" for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _tag(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in str(name))
    return cleaned if cleaned and (cleaned[0].isalpha() or cleaned[0] == "_") else "_" + cleaned
