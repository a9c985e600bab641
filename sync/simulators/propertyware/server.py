"""The simulator's HTTP side: HTTP Basic, WSDL and encoding schema, SOAP dispatch, injected failures
acting on the socket itself, and the JSON control API under ``/_control/`` (docs/simulators.md)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import socket
import struct
import time
from datetime import tzinfo
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ..keepalive import AnnouncedClose
from . import encoding, operations
from .faults import Decision, FaultInjector, SoapFault, client_fault
from .replies import ReplyCache
from .wsdl import encoding_schema

log = logging.getLogger(__name__)

SERVICE_PATH = "/pw/services/PWServices"
ENCODING_XSD_PATH = "/pw/services/soap-enc.xsd"
CONTROL_PREFIX = "/_control/"
MAX_BODY = 8 * 1024 * 1024
HOSTNAME = "pw-simulator"

UNAUTHORIZED_PAGE = b"""<html><head><title>Apache Tomcat - Error report</title></head>
<body><h1>HTTP Status 401 - Unauthorized</h1><p>This request requires HTTP authentication.</p></body></html>
"""
MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html><head><title>PropertyWare - Scheduled Maintenance</title></head>
<body><h1>PropertyWare is down for scheduled maintenance</h1>
<p>We are performing scheduled maintenance and will be back shortly. Thank you for your patience.</p>
</body></html>
"""

#: a response with nested entities (billion laughs): what an attacker in the path could send
HOSTILE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<ns1:echoStringResponse xmlns:ns1="http://service.web.propertyware.realpage.com"><echoStringReturn>&lol3;</echoStringReturn>
</ns1:echoStringResponse></soapenv:Body></soapenv:Envelope>
"""

EMPTY_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
    b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>'
)


class Service(Protocol):
    """What the HTTP side asks of the simulator (``PropertyWareSimulator``), so it never imports it."""

    username: str
    password: str
    latency: float
    multiref: bool
    send_nulls: bool
    lenient_namespace: bool
    tz: tzinfo
    faults: FaultInjector
    replies: ReplyCache

    def count(self, operation: str) -> None: ...

    def wsdl(self) -> bytes: ...

    def context(self) -> operations.Context: ...

    def control(self, method: str, path: str, body: dict, query: dict) -> tuple[int, Any]: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Service) -> None:
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        # A client hanging up mid-answer (as retries after a maintenance page do) is routine here;
        # socketserver's default would print its traceback on stderr.
        log.debug("connection error from %s", client_address, exc_info=True)


class _Dropped(Exception):
    """The connection was reset on purpose; nothing more may be written."""


class _Handler(AnnouncedClose, BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Apache-Coyote/1.1"
    sys_version = ""
    #: idle keep-alive connections are closed without notice, as busy front ends do
    timeout = 15
    max_keepalive_requests = 100  # Tomcat's maxKeepAliveRequests default

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Dropped:
            self.close_connection = True
        except (ConnectionError, TimeoutError, BrokenPipeError):
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    # --- plumbing -----------------------------------------------------------------------------------------

    @property
    def sim(self) -> Service:
        return self.server.sim

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict | None = None,
        declared_length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if declared_length is None else declared_length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), like a load balancer dropping it."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        raise _Dropped()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return b""
        n = int(length)
        if n > MAX_BODY:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise client_fault(f"Request body of {n} bytes exceeds the {MAX_BODY}-byte limit")
        return self.rfile.read(n)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        ok_user = hmac.compare_digest(user.encode(), self.sim.username.encode())
        ok_password = hmac.compare_digest(password.encode(), self.sim.password.encode())
        return ok_user and ok_password

    def _unauthorized(self) -> None:
        self.sim.count("unauthorized")
        self.close_connection = True
        self._send(
            401,
            UNAUTHORIZED_PAGE,
            "text/html;charset=utf-8",
            {"WWW-Authenticate": 'Basic realm="PropertyWare"', "Connection": "close"},
        )

    # --- HTTP verbs ---------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._read_body_quietly()  # a GET's body is ignored, but must not linger on a kept-alive connection
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            return self._control("GET", url)
        if url.path == SERVICE_PATH and url.query.lower() == "wsdl":
            if not self._authorized():
                return self._unauthorized()
            self.sim.count("wsdl")
            decision = self.sim.faults.decide("wsdl")  # latency, resets, maintenance, truncation
            due = time.monotonic() + self.sim.latency + decision.latency
            if not self._before(decision, due):
                self._deliver(200, self.sim.wsdl(), "text/xml;charset=utf-8", decision, due)
            return
        if url.path == ENCODING_XSD_PATH:
            if not self._authorized():
                return self._unauthorized()
            return self._send(200, encoding_schema(), "text/xml;charset=utf-8")
        if url.path == SERVICE_PATH:
            return self._send(
                200,
                b"<html><body><h1>PWServices</h1><p>Hi there, this is an AXIS service!</p></body></html>",
                "text/html;charset=utf-8",
            )
        self._send(404, b"<html><body><h1>HTTP Status 404</h1></body></html>", "text/html;charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            return self._control("POST", url)
        if url.path != SERVICE_PATH:
            self._read_body_quietly()
            return self._send(404, b"<html><body><h1>HTTP Status 404</h1></body></html>", "text/html")
        if not self._authorized():
            self._read_body_quietly()
            return self._unauthorized()
        self._soap()

    def do_PATCH(self) -> None:  # noqa: N802
        self._control("PATCH", urlsplit(self.path))

    def do_DELETE(self) -> None:  # noqa: N802
        self._read_body_quietly()
        self._control("DELETE", urlsplit(self.path))

    def _read_body_quietly(self) -> None:
        try:
            self._read_body()
        except SoapFault:
            self.close_connection = True

    # --- SOAP ---------------------------------------------------------------------------------------------

    def _soap(self) -> None:
        sim = self.sim
        op_name = "?"
        decision = None
        due = time.monotonic() + sim.latency
        try:
            body = self._read_body()
            msg = Message()
            msg["content-type"] = self.headers.get("Content-Type", "")
            if msg.get_content_type() not in ("text/xml", "application/xml"):
                raise client_fault(f"Content-Type {msg.get_content_type()!r} is not text/xml")
            op_name = _peek_operation(body)
            sim.count(op_name)
            decision = sim.faults.decide(op_name)
            due += decision.latency
            if self._before(decision, due):
                return
            if decision.kind == "fault":
                raise SoapFault(decision.message, "soapenv:Server")
            if decision.kind in ("hostile_xml", "empty_body"):
                body = HOSTILE_XML if decision.kind == "hostile_xml" else EMPTY_BODY
                return self._deliver(200, body, "text/xml; charset=utf-8", decision, due)
            op, args = encoding.decode_request(
                body, msg.get_content_charset(), lenient_namespace=sim.lenient_namespace, tz=sim.tz
            )
            value = operations.call(sim.context(), op, args)
            out = sim.replies.encode(op, args, value, multiref=sim.multiref, nulls=sim.send_nulls)
            status = 200
        except SoapFault as fault:
            out, status = encoding.encode_fault(fault, HOSTNAME), 500
        except _Dropped:
            raise
        except Exception:  # the simulator must answer, never crash: report as an Axis server fault
            log.exception("simulator error in %s", op_name)
            internal = SoapFault("java.lang.RuntimeException: internal error", "soapenv:Server")
            out, status, decision = encoding.encode_fault(internal, HOSTNAME), 500, None
        self._deliver(status, out, "text/xml; charset=utf-8", decision, due)

    @staticmethod
    def _wait_until(due: float) -> None:
        """Hold an answer until ``due`` (monotonic). The configured latency is a call's response time:
        the simulator's own work on a reply (seconds of Python for thousands of records, where the real
        service takes a fraction of that) counts towards it instead of coming on top."""
        remaining = due - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def _before(self, decision: Decision, due: float) -> bool:
        """A fault profile's latency (a slow call: the request is handled after it, as a late commit
        would be), then a reset or a maintenance page once the base latency (``due``) has passed; True
        when the request has been answered."""
        if decision.latency:
            time.sleep(decision.latency)
        if decision.kind in ("reset_before", "maintenance"):
            self._wait_until(due)
        if decision.kind == "reset_before":
            self._reset()
        if decision.kind == "maintenance":
            self.close_connection = True
            headers = {"Retry-After": "30", "Connection": "close"}
            self._send(decision.status, MAINTENANCE_PAGE, "text/html;charset=utf-8", headers)
            return True
        return False

    def _deliver(
        self, status: int, out: bytes, content_type: str, decision: Decision | None, due: float
    ) -> None:
        """Send the answer once ``due`` has come, or break it as ``decision`` says (after the request was
        processed)."""
        self._wait_until(due)
        kind = decision.kind if decision else None
        if kind == "truncate":
            # a complete HTTP message whose XML stops mid-document
            self.close_connection = True
            cut = out[: max(1, len(out) * 2 // 3)]
            return self._send(status, cut, content_type, {"Connection": "close"})
        if kind == "reset_during":
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out[: len(out) // 2])
            time.sleep(0.05)  # let the first half reach the client before the RST
            self._reset()
        self._send(status, out, content_type)

    # --- control API --------------------------------------------------------------------------------------

    def _control(self, method: str, url: Any) -> None:
        try:
            raw = self._read_body() if method in ("POST", "PATCH") else b""
            payload = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the request body must be a JSON object")
            status, result = self.sim.control(
                method, url.path[len(CONTROL_PREFIX) :].strip("/"), payload, parse_qs(url.query)
            )
        except (ValueError, TypeError, SoapFault) as exc:
            status, result = 400, {"error": str(exc)}
        except KeyError as exc:
            status, result = 404, {"error": str(exc.args[0]) if exc.args else "not found"}
        body = json.dumps(result, ensure_ascii=False, default=str).encode("utf-8")
        self._send(status, body, "application/json")


_OP_RE = re.compile(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)")


def _peek_operation(body: bytes) -> str:
    """The operation name, read before full parsing so faults can be injected per operation."""
    m = _OP_RE.search(body[:4096])
    return m.group(1).decode("ascii", "replace") if m else "?"
