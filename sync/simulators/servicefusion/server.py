"""The HTTPS server around the simulated API, and ``ServiceFusionSimulator``, the class tests start.
An optional plain-HTTP listener answers every request with 301 to the HTTPS URL, as the real host does.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..datasets import build_dataset
from ..keepalive import AnnouncedClose
from .app import SimApp
from .auth import OAuth
from .clock import SimClock
from .faults import Faults
from .ratelimit import RateLimiter
from .responses import REASONS, ApiError, Request, encode
from .store import SimStore
from .tls import server_context

log = logging.getLogger(__name__)


# Faults act on the socket itself: a reset sends a TCP RST, a drop closes without answering.
class _ApiHandler(AnnouncedClose, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this
    max_keepalive_requests = 1000  # nginx's keepalive_requests default

    def version_string(self) -> str:
        return "nginx"

    def _dispatch(self) -> None:
        app: SimApp = self.server.app  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True  # the body can't be framed; said in the answer's headers
            self._write(
                400,
                b'{"code":400,"name":"Bad Request.","message":"Your request is invalid."}',
                "application/json; charset=UTF-8",
                {},
            )
            return
        body = self.rfile.read(length) if length else b""
        req = Request(
            self.command,
            unquote(split.path),
            parse_qs(split.query, keep_blank_values=True),
            self.headers,
            body,
            self.client_address[0],
        )
        key = app.request_key(req)
        if key is not None:
            app.count_request(key)
        try:
            resp, fmt = app.handle(req)
        except Exception:  # a simulator bug must still look like the API's documented 500, never a traceback
            log.exception("simulator error on %s %s", self.command, split.path)
            resp, fmt = ApiError(500).response(), "json"
        if key is not None:
            app.count_status(resp.status if resp.action == "send" else resp.action)
        if resp.action in ("reset", "drop"):
            self._abort(rst=resp.action == "reset")
            return
        data, content_type = encode(resp, fmt)
        self._write(resp.status, data, content_type, resp.headers)

    def _write(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status, REASONS.get(status, ""))
        for name, value in headers.items():
            self.send_header(name, value)
        if data or status not in (204, 301, 302):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _abort(self, *, rst: bool) -> None:
        """Close without answering: a RST (SO_LINGER 0) for resets, a plain close for drops."""
        self.close_connection = True
        sock = self.connection
        try:
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for stream in (self.rfile, self.wfile):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        try:
            sock.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass  # the connection was aborted on purpose

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.client_address[0], *args)


class _RedirectHandler(AnnouncedClose, BaseHTTPRequestHandler):
    """Plain HTTP: every request is sent to the HTTPS URL with 301 (a POST so redirected loses its body)."""

    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def _redirect(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length, self.close_connection = 0, True
        if length > 0:
            self.rfile.read(length)
        self.send_response(301, "Moved Permanently")
        self.send_header("Location", self.server.target + self.path)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _redirect

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s " + format, self.client_address[0], *args)


# A stdlib ThreadingHTTPServer whose connections are wrapped in TLS per thread (a stalled handshake never
# blocks the accept loop), speaking HTTP/1.1 keep-alive so clients reuse connections.
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler, ssl_context: ssl.SSLContext | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.ssl_context = ssl_context
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        conn = request
        try:
            # Headers and body leave in separate writes; without NODELAY, Nagle meets delayed ACKs (40 ms).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                request.settimeout(10)  # a client that never finishes the handshake releases its thread
                conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            request.close()
            return
        with self._conns_lock:
            self._conns.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]  # typeshed's Self
        except (OSError, ssl.SSLError):
            pass  # the client went away mid-request
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServiceFusionSimulator:
    """A local ServiceFusion API v1 (HTTPS on loopback) with OAuth, rate limits, quirks and faults.

    ``dataset`` seeds customers and jobs: None (empty), a dict or object with ``sf_customers`` /
    ``sf_jobs`` (lists of POST bodies), or a dataset name for ``sync.simulators.datasets.build_dataset``
    (whose ``sf_customers`` / ``sf_jobs``, when present, are loaded).
    """

    def __init__(
        self,
        dataset: Any = None,
        seed: int = 0,
        rate_limit: int = 60,
        rate_window: float = 60.0,
        token_ttl: int = 3600,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        *,
        http_redirect: bool = True,
        client_id: str = "greenlight-sim",
        client_secret: str | None = None,
        reset_mode: str = "seconds",
        retry_after: bool = False,
        revoke_on_refresh: bool = False,
        token_error_array: bool = False,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.seed = seed
        self.http_redirect = http_redirect
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(16)
        self.clock = SimClock()
        self.store = SimStore(self.clock)
        self.oauth = OAuth(
            self.clock,
            self.client_id,
            self.client_secret,
            token_ttl=token_ttl,
            revoke_on_refresh=revoke_on_refresh,
            error_array=token_error_array,
        )
        self.rate_limiter = RateLimiter(
            rate_limit, rate_window, reset_mode=reset_mode, retry_after=retry_after
        )
        self.faults = Faults(seed)
        self._stop = threading.Event()
        self.app = SimApp(self.store, self.oauth, self.rate_limiter, self.faults, self._stop)
        self.app.base_latency = float(latency)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self.base_url = ""
        self.http_url: str | None = None
        self.ca_path: str | None = None
        self._load(dataset)

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> ServiceFusionSimulator:
        if self._servers:
            return self
        self._stop.clear()
        context = None
        if self.tls:
            context, self.ca_path = server_context()
        api = _Server((self.host, self.port), _ApiHandler, context)
        api.app = self.app  # type: ignore[attr-defined]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"{'https' if self.tls else 'http'}://{host}:{api.server_address[1]}"
        self.app.base_url = self.base_url
        self._serve(api)
        if self.tls and self.http_redirect:
            plain = _Server((self.host, 0), _RedirectHandler, None)
            plain.target = self.base_url  # type: ignore[attr-defined]
            self.http_url = f"http://{host}:{plain.server_address[1]}"
            self._serve(plain)
        return self

    def _serve(self, server: _Server) -> None:
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sf-sim-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers:
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> ServiceFusionSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and read-outs --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/access_token"

    @property
    def control_url(self) -> str:
        return self.base_url + "/_control"

    def request_counts(self) -> dict[str, int]:
        """Requests seen, keyed "METHOD /path/template" (ids shown as {id}); control calls excluded."""
        return self.app.request_counts()

    def status_counts(self) -> dict[int | str, int]:
        """Responses by status code, plus "reset"/"drop" for connections closed without an answer."""
        return self.app.status_counts()

    def reset_counts(self) -> None:
        self.app.reset_counts()

    # --- seeding -------------------------------------------------------------------------------------------
    def _load(self, dataset: Any) -> None:
        if dataset is None:
            return
        if isinstance(dataset, str):
            dataset = build_dataset(dataset, seed=self.seed)
        get = (
            dataset.get
            if isinstance(dataset, dict)
            else (lambda key, default: getattr(dataset, key, default))
        )
        for body in get("sf_customers", ()) or ():
            self.store.seed_customer(body)
        for body in get("sf_jobs", ()) or ():
            self.store.seed_job(body)
