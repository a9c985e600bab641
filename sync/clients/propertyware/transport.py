"""HTTP for the PropertyWare client: a hardened ``requests`` session and the zeep Transport over it."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from lxml import etree
from urllib3.exceptions import NewConnectionError
from zeep.transports import Transport

from sync.errors import AuthError, PermanentError, TransientError

log = logging.getLogger(__name__)

SYSTEM = "propertyware"
WSDL_DIR = Path(__file__).with_name("wsdl")
BUNDLED_WSDL = WSDL_DIR / "PWServices.wsdl"
ENCODING_XSD = WSDL_DIR / "soap-enc.xsd"
SOAP_ENCODING_URLS = (
    "http://schemas.xmlsoap.org/soap/encoding/",
    "https://schemas.xmlsoap.org/soap/encoding/",
)
CONNECT_TIMEOUT = 30.0


class TransportFailure(TransientError):
    """A transient failure that also says whether the server may have acted on the request."""

    def __init__(self, message: str, *, maybe_committed: bool, **kw) -> None:
        super().__init__(message, system=SYSTEM, **kw)
        self.maybe_committed = maybe_committed


def make_session(username: str, password: str, *, verify: bool | str = True) -> requests.Session:
    """A session for PropertyWare: Basic auth, ``Connection: close``, TLS verification.

    urllib3 2 already refuses anything older than TLS 1.2; requests speaks HTTP/1.1 and follows redirects.
    """
    session = requests.Session()
    session.auth = (username, password)
    session.verify = verify
    session.headers.update({"Connection": "close", "User-Agent": "GreenLight-PropertyWare/1.0"})
    return session


def _close_pool(session: requests.Session) -> None:
    # ``Connection: close`` alone still left stale sockets behind servers that hang up silently
    for adapter in session.adapters.values():
        adapter.close()


class PropertyWareTransport(Transport):
    """Serves the SOAP-encoding schema from the bundled copy, refuses every other remote URL but the WSDL's
    own origin, closes its connection pool after every response (PropertyWare hangs up idle sockets),
    applies per-call timeouts, and turns every non-SOAP answer into the sync.errors family before zeep sees
    it: 401/403, 5xx pages, HTML or malformed XML with HTTP 200 (zeep's non-strict parser would otherwise
    "recover" a truncated document into a silently short result)."""

    def __init__(self, session: requests.Session, *, timeout: float, wsdl_origin: str | None) -> None:
        super().__init__(session=session, timeout=timeout, operation_timeout=timeout)
        self._local = threading.local()
        self.default_timeout = timeout
        self.wsdl_origin = wsdl_origin

    # --- per-call settings (thread-safe: zeep's own ``settings()`` context mutates the transport) ---------

    def set_call(self, operation: str, timeout: float | None, *, known_digest: str = "") -> None:
        """The next call on this thread: its operation, read timeout, and the SHA-256 of a reply already
        read, parsed and kept (``known_digest``): a reply with exactly those bytes is not checked again."""
        self._local.operation = operation
        self._local.timeout = timeout or self.default_timeout
        self._local.known_digest = known_digest

    @property
    def _timeout(self) -> tuple[float, float]:
        read = getattr(self._local, "timeout", None) or self.default_timeout
        return (min(CONNECT_TIMEOUT, read), read)

    @property
    def _operation(self) -> str:
        return getattr(self._local, "operation", "")

    # --- loading the WSDL and schemas ---------------------------------------------------------------------
    def load(self, url: str) -> bytes:
        if url in SOAP_ENCODING_URLS or (url.endswith("/" + ENCODING_XSD.name) and not _is_remote(url)):
            return ENCODING_XSD.read_bytes()
        if not _is_remote(url):
            return Path(url.removeprefix("file://")).read_bytes()
        if self.wsdl_origin is None or _origin(url) != self.wsdl_origin:
            raise PermanentError(
                f"refusing to fetch {url!r}: only the WSDL's own server is contacted",
                system=SYSTEM,
                operation="wsdl",
            )
        return self._load_remote_data(url)

    def _load_remote_data(self, url: str) -> bytes:
        try:
            response = self.session.get(url, timeout=self._timeout)
        except requests.RequestException as exc:
            raise _map_request_exception(exc, "wsdl") from exc
        try:
            _check_status(response, "wsdl")
            _check_xml(response, "wsdl")  # a maintenance page instead of the WSDL is transient
            return response.content
        finally:
            response.close()
            _close_pool(self.session)

    # --- SOAP calls ---------------------------------------------------------------------------------------
    def post(self, address: str, message: bytes, headers: dict) -> requests.Response:
        op = self._operation
        headers = {**headers, "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        started = time.monotonic()
        try:
            response = self.session.post(address, data=message, headers=headers, timeout=self._timeout)
            response.content  # noqa: B018 - read the whole body now, so a mid-body reset surfaces here
        except requests.RequestException as exc:
            raise _map_request_exception(exc, op) from exc
        finally:
            _close_pool(self.session)
        log.debug("propertyware %s: HTTP %s in %.3fs", op, response.status_code, time.monotonic() - started)
        _check_status(response, op)
        # The reply's SHA-256 goes with it (``reply_digest``) when the caller knows an earlier reply's.
        known = getattr(self._local, "known_digest", "")
        digest = hashlib.sha256(response.content).hexdigest() if known else ""
        response.reply_digest = digest  # type: ignore[union-attr]  # an extra attribute calls.py reads back
        if not (known and response.status_code == 200 and digest == known):
            _check_xml(response, op)
        return response


def _is_remote(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _origin(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}".lower()


def origin_of(url: str | None) -> str | None:
    return _origin(url) if url and _is_remote(url) else None


def _map_request_exception(exc: requests.RequestException, op: str) -> Exception:
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentError(f"TLS failure: {exc}", system=SYSTEM, operation=op)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportFailure("connect timed out", operation=op, maybe_committed=False)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return TransportFailure("timed out waiting for the response", operation=op, maybe_committed=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return TransportFailure(f"could not connect: {reason}", operation=op, maybe_committed=False)
        return TransportFailure(f"connection dropped: {exc}", operation=op, maybe_committed=True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return TransportFailure(f"response cut short: {exc}", operation=op, maybe_committed=True)
    return PermanentError(f"HTTP request failed: {exc}", system=SYSTEM, operation=op)


def _looks_like_html(content: bytes) -> bool:
    head = content[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]


def _check_status(response: requests.Response, op: str) -> None:
    status = response.status_code
    if status in (401, 403):
        raise AuthError(f"credentials refused (HTTP {status})", system=SYSTEM, operation=op, status=status)
    if status == 500 and not _looks_like_html(response.content) and b"Fault" in response.content[:4096]:
        return  # a SOAP fault: zeep parses it, the client maps it
    if status >= 500:
        what = "maintenance page" if _looks_like_html(response.content) else "server error"
        raise TransportFailure(
            f"HTTP {status} ({what})", operation=op, status=status, maybe_committed=status != 503
        )
    if status >= 400:
        raise PermanentError(f"HTTP {status}", system=SYSTEM, operation=op, status=status)
    if status != 200:
        raise PermanentError(f"unexpected HTTP {status}", system=SYSTEM, operation=op, status=status)


def _check_xml(response: requests.Response, op: str) -> None:
    """The body must be a complete XML document without a DTD, or it is not PropertyWare answering.

    The document is parsed as zeep would but let go element by element as it is read: a large listing's
    tree is ten times the document, and zeep builds its own afterwards (or streaming.py, a slice at a
    time)."""
    content = response.content
    if not content.strip() or _looks_like_html(content):
        raise TransportFailure(
            f"HTTP {response.status_code} carried no SOAP envelope (maintenance page?)",
            operation=op,
            status=response.status_code,
            maybe_committed=True,
        )
    try:
        events = etree.iterparse(
            io.BytesIO(content),
            events=("end",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        for _, element in events:
            element.clear()
            parent = element.getparent()  # None for the root (a comment may precede it)
            while parent is not None and element.getprevious() is not None:
                del parent[0]  # earlier siblings are complete: drop them
    except etree.XMLSyntaxError as exc:
        raise TransportFailure(
            f"malformed or truncated XML: {exc}",
            operation=op,
            status=response.status_code,
            maybe_committed=True,
        ) from exc
    assert events.root is not None  # iterparse raised above if the body had no element
    docinfo = events.root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise PermanentError(
            "response refused: it carries a DTD (entity expansion is not allowed)",
            system=SYSTEM,
            operation=op,
            status=response.status_code,
        )
