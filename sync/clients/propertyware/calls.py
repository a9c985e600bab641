"""``SoapCaller``: how the PropertyWare client calls any operation (WSDL, typed parameters, retries,
single-shot writes, throttle, paging, stats); results come back as plain dicts and lists.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import zeep
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from zeep import Settings
from zeep.xsd import ComplexType, Nil
from zeep.xsd.elements.any import Any as XsdAny

from sync.clients.paging import PageMark
from sync.errors import (
    AmbiguousWriteError,
    IntegrationError,
    MalformedReply,
    PermanentError,
    TransientError,
)

from . import convert, streaming
from .fault_map import from_zeep
from .lexical import LexicalCheckPlugin
from .plugins import AxisEncodingPlugin, ResponseCheckPlugin, _array_item_type
from .throttle import shared_throttle
from .transport import BUNDLED_WSDL, SYSTEM, PropertyWareTransport, TransportFailure, make_session, origin_of

log = logging.getLogger(__name__)

#: What a read ``unless_digest`` returns when the reply is byte for byte the one that digest was taken of.
UNCHANGED = object()

_PRIMITIVE_DEFAULTS = {"boolean": False, "int": 0, "long": 0, "short": 0, "double": 0.0, "float": 0.0}


class SoapCaller:
    """Transport-level calling of PropertyWare operations; the typed methods are on PropertyWareClient."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        wsdl_url: str | None = None,
        timeout: float = 90,
        verify: bool | str = True,
        max_rps: float = 2.0,
        retries: int = 3,
        retry_min_wait: float = 1,
        retry_max_wait: float = 30,
        page_cap: int = 10000,
        vendors_timeout: float = 300,
        overlap: timedelta = timedelta(minutes=5),
        urgency: int = 0,
    ) -> None:
        if not url or not username or not password:
            raise ValueError("PropertyWareClient needs a service URL, a username and a password")
        self.url = url
        self.wsdl_url = wsdl_url or None
        self.timeout = timeout
        self.vendors_timeout = vendors_timeout
        self.retries = retries
        self.retry_min_wait = retry_min_wait
        self.retry_max_wait = retry_max_wait
        self.page_cap = page_cap
        self.overlap = overlap
        self._session = make_session(username, password, verify=verify)
        self._username = username
        self._throttle = shared_throttle((url, username), max_rps)
        # Every call queues at ``urgency``; the client stays joined at it until closed, so less urgent
        # callers leave it free slots between its calls (the finalizer leaves for a client never closed).
        self.urgency = urgency
        self._throttle.join(urgency)
        self._leave = weakref.finalize(self, self._throttle.leave, urgency)
        self._lock = threading.Lock()
        self._service: Any = None
        self._zeep: zeep.Client | None = None
        self._transport: PropertyWareTransport | None = None
        self._stats: defaultdict[str, Counter] = defaultdict(Counter)
        #: operation → SHA-256 of its last array reply read with ``unless_digest``
        self.reply_digests: dict[str, str] = {}

    def __repr__(self) -> str:  # credentials stay out of logs and tracebacks
        return f"<{type(self).__name__} {self.url} as {self._username}>"

    def close(self) -> None:
        """Done calling: less urgent callers stop leaving free slots to this client (idempotent)."""
        self._leave()

    # --- statistics ---------------------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Calls by operation and outcome: "ok", "retry", or the error class that ended the call."""
        with self._lock:
            return {op: dict(c) for op, c in self._stats.items()}

    def _count(self, op: str, outcome: str | Exception) -> None:
        if isinstance(outcome, Exception):  # report the sync.errors class, not transport internals
            outcome = next(c.__name__ for c in type(outcome).__mro__ if c.__module__ == "sync.errors")
        with self._lock:
            self._stats[op][outcome] += 1

    # --- plumbing -----------------------------------------------------------------------------------------
    def _load(self) -> Any:
        with self._lock:
            if self._service is not None:
                return self._service
            wsdl = self.wsdl_url or str(BUNDLED_WSDL)
            transport = PropertyWareTransport(
                self._session, timeout=self.timeout, wsdl_origin=origin_of(wsdl)
            )
            transport.set_call("wsdl", self.timeout)
            settings = Settings(strict=False, xsd_ignore_sequence_order=True, forbid_dtd=True)
            try:
                client = zeep.Client(
                    wsdl,
                    transport=transport,
                    settings=settings,
                    plugins=[AxisEncodingPlugin(), ResponseCheckPlugin(), LexicalCheckPlugin()],
                )
            except IntegrationError:
                raise
            except Exception as exc:
                raise PermanentError(
                    f"the WSDL at {wsdl} is unusable: {exc}", system=SYSTEM, operation="wsdl"
                ) from exc
            _relax_empty_arrays(client)
            binding = next(iter(client.wsdl.bindings))
            # the service address comes from settings, never from the WSDL (it names the deployment host)
            self._service = client.create_service(binding, self.url)
            self._zeep, self._transport = client, transport
            return self._service

    def _attempt(
        self,
        op: str,
        timeout: float | None,
        params: Mapping[str, Any],
        *,
        as_plain: bool = False,
        unless_digest: str | None = None,
    ) -> Any:
        """One call; with ``as_plain`` the answer as plain values, an array read a slice at a time.

        With ``unless_digest`` (plain array reads), a 200 reply whose bytes hash to it is not parsed:
        UNCHANGED comes back instead. The reply's digest is kept in ``reply_digests[op]`` either way.
        """
        service = self._load()
        typed = self._typed_params(op, params)
        self._throttle.wait(self.urgency)
        assert self._zeep is not None and self._transport is not None
        self._transport.set_call(op, timeout, known_digest=unless_digest or "")
        try:
            operation = service._binding._operations[op]
            if as_plain and streaming.is_array_reply(operation):
                with self._zeep.settings(raw_response=True):
                    response = getattr(service, op)(**typed)
                if unless_digest is not None and response.status_code == 200:
                    digest = getattr(response, "reply_digest", "")  # the transport's, when it took one
                    digest = digest or hashlib.sha256(response.content).hexdigest()
                    self.reply_digests[op] = digest
                    if digest == unless_digest:
                        return UNCHANGED
                return streaming.read_array_reply(self._zeep, service._binding, operation, response)
            result = getattr(service, op)(**typed)
        except IntegrationError:
            raise
        except Exception as exc:  # zeep's own exceptions, mapped with the fault text kept
            raise from_zeep(exc, op) from exc
        return convert.plain(result) if as_plain else result

    def _retrying(self, op: str) -> Retrying:
        def note_retry(state: RetryCallState) -> None:
            self._count(op, "retry")
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "propertyware %s failed (%s); retry %d of %d", op, exc, state.attempt_number, self.retries
            )

        return Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_random_exponential(
                multiplier=self.retry_min_wait, exp_base=2, min=self.retry_min_wait, max=self.retry_max_wait
            ),
            retry=retry_if_exception_type(TransientError),
            before_sleep=note_retry,
            reraise=True,
        )

    def _read(
        self, op: str, *, timeout: float | None = None, unless_digest: str | None = None, **params: Any
    ) -> Any:
        try:
            result = self._retrying(op)(
                self._attempt, op, timeout, params, as_plain=True, unless_digest=unless_digest
            )
        except IntegrationError as exc:
            self._count(op, exc)
            raise
        self._count(op, "ok")
        return result

    def _write(self, op: str, **params: Any) -> Any:
        """One attempt only: PropertyWare writes are not idempotent enough to repeat blindly."""
        try:
            if self._service is None:  # loading the WSDL is a read: retry it, it sends nothing
                self._retrying(op)(self._load)
            result = self._attempt(op, None, params)
        except TransportFailure as exc:
            if exc.maybe_committed and self._service is not None:
                err = AmbiguousWriteError(
                    f"{exc.message}; the write may have been applied - re-read before retrying",
                    system=SYSTEM,
                    operation=op,
                    status=exc.status,
                )
                self._count(op, err)
                raise err from exc
            self._count(op, exc)
            raise
        except IntegrationError as exc:
            self._count(op, exc)
            raise
        self._count(op, "ok")
        return convert.plain(result)

    def call(self, operation: str, *, write: bool = False, **params: Any) -> Any:
        """Any WSDL operation by name with plain-dict parameters; returns plain dicts/lists.

        For operations the typed methods don't cover; reads are retried, writes are not.
        """
        return self._write(operation, **params) if write else self._read(operation, **params)

    def _typed_params(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        assert self._zeep is not None
        operation = self._service._binding._operations.get(op)
        if operation is None:
            raise PermanentError(f"the WSDL has no operation {op!r}", system=SYSTEM, operation=op)
        parts = dict(operation.input.body.type.elements)
        unknown = set(params) - set(parts)
        if unknown:
            raise ValueError(
                f"{op} takes {', '.join(parts) or 'no parameters'}; got {', '.join(sorted(unknown))}"
            )
        # an RPC part cannot be left out; a None goes out as xsi:nil, as Axis sends Java nulls
        return {
            name: Nil if value is None else _typed(parts[name].type, value) for name, value in params.items()
        }

    def _pages(
        self, op: str, criteria: dict[str, Any], *, at_most: int | None = None, pages: PageMark | None = None
    ) -> Iterator[dict]:
        """Rows of a paged read: pages from 1 (or ``pages.first``, to take up a read cut short) until an
        empty page or one shorter than the largest seen, or until ``at_most`` rows (a read by IDs cannot
        return more, so a full last page needs no empty one after it); never past page ``page_cap``; each
        ID once. ``pages.done`` follows the last page handed out whole."""
        seen: set[int] = set()
        largest = 0
        for page in range((pages.first if pages else 1), self.page_cap + 1):
            rows = self._read(op, criteria={**criteria, "pageNumber": page}) or []
            fresh = []
            for row in rows:
                rid = row.get("ID")
                if rid is not None and rid not in seen:
                    seen.add(rid)
                    fresh.append(row)
            for i, row in enumerate(fresh):
                if pages is not None and i == len(fresh) - 1:
                    pages.done = page  # before the last row goes out: a batch ending on it holds the page
                yield row
            if pages is not None and not fresh:
                pages.done = page
            largest = max(largest, len(rows))
            if not rows or len(rows) < largest or (at_most is not None and len(seen) >= at_most):
                return
        self._count(op, "page_cap")
        raise MalformedReply(
            f"still more rows after {self.page_cap} pages (PW_MAX_PAGES): the read is stopped",
            system=SYSTEM,
            operation=op,
        )

    def _since(self, modified_since: datetime | None) -> dict[str, Any]:
        if modified_since is None:
            return {}
        if modified_since.tzinfo is None:
            raise ValueError("modified_since must be timezone-aware")
        return {"lastModifiedOnOrAfter": modified_since - self.overlap}


def _relax_empty_arrays(client: zeep.Client) -> None:
    """Let soapenc arrays be empty: zeep models their items as ``<any minOccurs=1>``."""
    for xsd_type in client.wsdl.types.types:
        if _array_item_type(xsd_type) is None and getattr(xsd_type, "_array_type", None) is None:
            continue
        for _, indicator in xsd_type.elements_nested:
            for particle in indicator if isinstance(indicator, Iterable) else ():
                if isinstance(particle, XsdAny):
                    particle.min_occurs = 0


def _default_for(xsd_type: Any) -> Any:
    qname = getattr(xsd_type, "qname", None)
    return _PRIMITIVE_DEFAULTS.get(qname.localname if qname is not None else "", None)


def _typed(xsd_type: Any, value: Any) -> Any:
    """Plain dicts → zeep objects of the declared type, filling non-nillable primitives the caller left
    out with 0/false (zeep refuses to send without them, as Axis would)."""
    if value is None:
        return None
    item_type = _array_item_type(xsd_type)
    if item_type is not None or getattr(xsd_type, "_array_type", None) is not None:
        if isinstance(item_type, ComplexType):
            return [_typed(item_type, v) if isinstance(v, Mapping) else v for v in value]
        return list(value)
    if isinstance(xsd_type, ComplexType) and isinstance(value, Mapping):
        kwargs: dict[str, Any] = {}
        for name, element in xsd_type.elements:
            given = value.get(name)
            if given is not None:
                kwargs[name] = _typed(element.type, given)
            elif not element.nillable and element.min_occurs:
                default = _default_for(element.type)
                if default is not None:
                    kwargs[name] = default
        return xsd_type(**kwargs)
    return value
