"""``PropertyWareClient``: the typed, resilient PropertyWare SOAP client (spec propertyware-soap.md §10).

Reads are retried (tenacity: exponential backoff with jitter) on timeouts, resets, 5xx and maintenance
pages; writes are never retried: an outcome the client cannot know raises AmbiguousWriteError, so the
caller re-reads before writing again. Paged reads stream page by page. Records out, sync.errors out.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

from sync.errors import AmbiguousWriteError, IntegrationError, NotFound, PermanentError, TransientError

from . import convert
from .fault_map import from_zeep
from .plugins import AxisEncodingPlugin, ResponseCheckPlugin, _array_item_type
from .records import Building, Contact, Lease, Note, Portfolio, Unit, Vendor, WorkOrder
from .throttle import Throttle
from .transport import BUNDLED_WSDL, SYSTEM, PropertyWareTransport, TransportFailure, make_session, origin_of

log = logging.getLogger(__name__)

_PRIMITIVE_DEFAULTS = {"boolean": False, "int": 0, "long": 0, "short": 0, "double": 0.0, "float": 0.0}
_PRIORITY_AS_INT = {"high": 1, "emergency": 1, "urgent": 1, "medium": 2, "normal": 2, "low": 3}


class PropertyWareClient:
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
        self._throttle = Throttle(max_rps)
        self._lock = threading.Lock()
        self._service: Any = None
        self._zeep: zeep.Client | None = None
        self._transport: PropertyWareTransport | None = None
        self._stats: defaultdict[str, Counter] = defaultdict(Counter)
        self._portfolio_index: dict[str, int] | None = None

    def __repr__(self) -> str:  # credentials stay out of logs and tracebacks
        return f"<PropertyWareClient {self.url} as {self._username}>"

    @classmethod
    def from_settings(cls, **overrides: Any) -> PropertyWareClient:
        """A client from ``settings.PROPERTYWARE``; missing values raise ImproperlyConfigured naming PW_*."""
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        conf = dict(getattr(settings, "PROPERTYWARE", {}) or {})
        for key, env in (("URL", "PW_URL"), ("USERNAME", "PW_USERNAME"), ("PASSWORD", "PW_PASSWORD")):
            if not conf.get(key):
                raise ImproperlyConfigured(f"{env} is not set: the PropertyWare client needs it")
        verify = parse_verify(conf.get("VERIFY", "true"))
        if isinstance(verify, str) and not Path(verify).is_file():
            raise ImproperlyConfigured(
                f"PW_VERIFY must be true, false or the path of a CA bundle; {verify!r} is not a file"
            )
        kwargs = {
            "wsdl_url": conf.get("WSDL_URL") or None,
            "timeout": conf.get("TIMEOUT", 90.0),
            "vendors_timeout": conf.get("VENDORS_TIMEOUT", 300.0),
            "verify": verify,
            "max_rps": conf.get("MAX_RPS", 2.0),
            "retries": conf.get("RETRIES", 3),
            "retry_min_wait": conf.get("RETRY_MIN_WAIT", 1.0),
            "retry_max_wait": conf.get("RETRY_MAX_WAIT", 30.0),
        }
        kwargs.update(overrides)
        return cls(conf["URL"], conf["USERNAME"], conf["PASSWORD"], **kwargs)

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
                    plugins=[AxisEncodingPlugin(), ResponseCheckPlugin()],
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

    def _attempt(self, op: str, timeout: float | None, params: Mapping[str, Any]) -> Any:
        service = self._load()
        typed = self._typed_params(op, params)
        self._throttle.wait()
        assert self._transport is not None
        self._transport.set_call(op, timeout)
        try:
            return getattr(service, op)(**typed)
        except IntegrationError:
            raise
        except Exception as exc:  # zeep's own exceptions, mapped with the fault text kept
            raise from_zeep(exc, op) from exc

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

    def _read(self, op: str, *, timeout: float | None = None, **params: Any) -> Any:
        try:
            result = self._retrying(op)(self._attempt, op, timeout, params)
        except IntegrationError as exc:
            self._count(op, exc)
            raise
        self._count(op, "ok")
        return convert.plain(result)

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

    def _pages(self, op: str, criteria: dict[str, Any]) -> Iterator[dict]:
        """Rows of a paged read: pages from 1 until an empty page or one shorter than the largest seen,
        never more than ``page_cap`` pages; each ID once."""
        seen: set[int] = set()
        largest = 0
        for page in range(1, self.page_cap + 1):
            rows = self._read(op, criteria={**criteria, "pageNumber": page}) or []
            for row in rows:
                rid = row.get("ID")
                if rid is not None and rid not in seen:
                    seen.add(rid)
                    yield row
            largest = max(largest, len(rows))
            if not rows or len(rows) < largest:
                return
        self._count(op, "page_cap")
        log.warning("propertyware %s: stopped at the page cap (%d pages)", op, self.page_cap)

    def _since(self, modified_since: datetime | None) -> dict[str, Any]:
        if modified_since is None:
            return {}
        if modified_since.tzinfo is None:
            raise ValueError("modified_since must be timezone-aware")
        return {"lastModifiedOnOrAfter": modified_since - self.overlap}

    # --- reads --------------------------------------------------------------------------------------------
    def echo(self, text: str) -> str:
        """A health check: PropertyWare echoes ``text`` back."""
        return convert.text(self._read("echoString", arg=text))

    def iter_portfolios(self) -> Iterator[Portfolio]:
        rows = self._read("getAllPortfolios") or []
        self._portfolio_index = _portfolio_index(rows)
        for row in rows:
            yield convert.to_portfolio(row)

    def iter_buildings_for_portfolio(self, portfolio_id: int) -> Iterator[Building]:
        for row in self._read("getBuildingsForPortfolio", portfolioID=int(portfolio_id)) or []:
            yield convert.to_building(row, int(portfolio_id))

    def iter_buildings(self, modified_since: datetime | None = None) -> Iterator[Building]:
        for row in self._pages("getBuildings", self._since(modified_since)):
            yield convert.to_building(row, self._portfolio_id(row.get("portfolio")))

    def iter_units(
        self, building_id: int | None = None, modified_since: datetime | None = None
    ) -> Iterator[Unit]:
        criteria = self._since(modified_since)
        if building_id is not None:
            criteria["buildingId"] = int(building_id)
        for row in self._pages("getUnits", criteria):
            yield convert.to_unit(row)

    def iter_leases(self, modified_since: datetime | None = None) -> Iterator[Lease]:
        for row in self._pages("getLeases", self._since(modified_since)):
            yield convert.to_lease(row)

    def iter_contacts(
        self, *, email: str | None = None, modified_since: datetime | None = None
    ) -> Iterator[Contact]:
        criteria = self._since(modified_since)
        if email:
            criteria["email"] = email
        for row in self._pages("getContacts", criteria):
            yield convert.to_contact(row)

    def get_vendors(self) -> list[Vendor]:
        """Every vendor in one unpaged call (slow on big organisations: its own, longer timeout)."""
        return [convert.to_vendor(v) for v in self._read("getVendors", timeout=self.vendors_timeout) or []]

    def iter_work_orders(
        self,
        *,
        portfolio_id: int | None = None,
        building_id: int | None = None,
        ids: Iterable[int] | None = None,
        modified_since: datetime | None = None,
        newest_first: bool = False,
    ) -> Iterator[WorkOrder]:
        criteria: dict[str, Any] = {**self._since(modified_since), "orderByNewestFirst": bool(newest_first)}
        if portfolio_id is not None:
            criteria["portfolioId"] = int(portfolio_id)
        if building_id is not None:
            criteria["buildingId"] = int(building_id)
        if ids is not None:
            wanted = [int(i) for i in ids]
            if not wanted:
                return
            criteria["ids"] = wanted
        for row in self._pages("getWorkOrders", criteria):
            yield convert.to_work_order(row)

    def get_work_order(self, work_order_id: int) -> WorkOrder | None:
        rows = (
            self._read(
                "getWorkOrders",
                criteria={"ids": [int(work_order_id)], "pageNumber": 1, "orderByNewestFirst": False},
            )
            or []
        )
        row = next((r for r in rows if r.get("ID") == int(work_order_id)), None)
        return convert.to_work_order(row) if row else None

    def find_work_order_by_number(self, number: int) -> WorkOrder | None:
        rows = (
            self._read(
                "getWorkOrders",
                criteria={"workOrderNumber": int(number), "pageNumber": 1, "orderByNewestFirst": False},
            )
            or []
        )
        row = next((r for r in rows if r.get("number") == int(number)), None)
        return convert.to_work_order(row) if row else None

    # --- writes -------------------------------------------------------------------------------------------
    def create_work_order(
        self,
        *,
        building_id: int,
        description: str,
        unit_ids: Iterable[int] = (),
        vendor_ids: Iterable[int] = (),
        location: str | None = None,
        category: str = "",
        priority: str = "MEDIUM",
        type: str = "General",
        status: str = "Open",  # noqa: A002
        source: str = "Internal",
        lease_id: int | None = None,
        custom_fields: Mapping[str, str] | None = None,
    ) -> WorkOrder:
        """Create a work order; ``location`` defaults to "PORTFOLIO_ABBR | BUILDING_ABBR" as PropertyWare
        demands. Not retried: on AmbiguousWriteError look for it by building before creating again."""
        if location is None:
            location = self._location_of(int(building_id))
        wo: dict[str, Any] = {
            "ID": 0,
            "number": 0,
            "description": description,
            "location": location,
            "category": category or None,
            "priority": priority,
            "priorityAsInt": _PRIORITY_AS_INT.get(priority.strip().lower(), 2),
            "type": type,
            "status": status,
            "source": source,
            "approved": False,
            "building": {"ID": int(building_id)},
            "unitIDs": [int(u) for u in unit_ids],
            "vendorIDs": [int(v) for v in vendor_ids],
            "customFields": [{"ID": 0, "fieldName": k, "value": v} for k, v in (custom_fields or {}).items()],
        }
        if lease_id is not None:
            wo["lease"] = {"ID": int(lease_id)}
        created = self._write("createWorkOrder", workOrder=wo)
        if created and created.get("ID"):
            return convert.to_work_order(created)
        # some deployments do not return the new ID: find it among the building's newest work orders
        for candidate in self.iter_work_orders(building_id=int(building_id), newest_first=True):
            if candidate.description == description and candidate.location == location:
                return candidate
            break
        raise PermanentError(
            "createWorkOrder returned no ID and the new work order was not found",
            system=SYSTEM,
            operation="createWorkOrder",
        )

    def update_work_order(self, work_order_id: int, **changes: Any) -> WorkOrder:
        """Read-modify-write: fetch the work order, change only ``changes`` (record-style names, e.g.
        ``status=``, ``completed_date=``, ``custom_fields={"sfJobId": "123"}``) and send every other field
        back as read, since PropertyWare resets whatever an update leaves out."""
        current = self.get_work_order(work_order_id)
        if current is None:
            raise NotFound(
                f"work order {work_order_id} does not exist", system=SYSTEM, operation="updateWorkOrder"
            )
        updated = self._write("updateWorkOrder", workOrder=convert.apply_changes(current.raw, changes))
        if not updated or not updated.get("ID"):
            raise PermanentError(
                "updateWorkOrder answered without the work order", system=SYSTEM, operation="updateWorkOrder"
            )
        return convert.to_work_order(updated)

    def close_work_order(
        self,
        work_order_id: int,
        *,
        category: str = "",
        comments: str = "",
        start_date: datetime | None = None,
        completed_date: datetime | None = None,
    ) -> None:
        """Close by entity ID (never the WO number), then re-read to confirm: a no-op would be silent."""
        for name, value in (("start_date", start_date), ("completed_date", completed_date)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        ok = self._write(
            "closeWorkOrder",
            workOrderID=int(work_order_id),
            category=category,
            closingComments=comments,
            startDate=start_date,
            completedDate=completed_date or datetime.now(UTC),
        )
        after = self.get_work_order(work_order_id)
        if after is None:
            raise NotFound(
                f"work order {work_order_id} does not exist", system=SYSTEM, operation="closeWorkOrder"
            )
        if not ok or after.status.strip().lower() != "closed":
            raise PermanentError(
                f"closeWorkOrder did not close work order {work_order_id} (status {after.status!r})",
                system=SYSTEM,
                operation="closeWorkOrder",
            )

    def approve_work_order(
        self,
        work_order_id: int,
        *,
        approved: bool = True,
        approved_date: datetime | None = None,
        comment: str = "",
    ) -> WorkOrder:
        """Approve by entity ID with a full dateTime, verified by re-reading (unknown IDs are silently
        ignored by PropertyWare)."""
        when = approved_date or datetime.now(UTC)
        if when.tzinfo is None:
            raise ValueError("approved_date must be timezone-aware")
        self._write(
            "approveWorkOrder",
            workOrderID=int(work_order_id),
            approved=approved,
            approvedDate=when,
            approvalComment=comment,
        )
        after = self.get_work_order(work_order_id)
        if after is None or after.approved != approved:
            raise NotFound(
                f"approveWorkOrder had no effect on work order {work_order_id}",
                system=SYSTEM,
                operation="approveWorkOrder",
            )
        return after

    def attach_note(self, work_order_id: int, subject: str, body: str) -> Note:
        note = self._write(
            "attachNoteToWorkOrder",
            note={"ID": 0, "subject": subject, "body": body, "date": datetime.now(UTC), "private": False},
            workOrder={"ID": int(work_order_id)},
        )
        if not note:
            raise PermanentError(
                "attachNoteToWorkOrder answered without the note",
                system=SYSTEM,
                operation="attachNoteToWorkOrder",
            )
        return convert.to_note(note)

    # --- helpers ------------------------------------------------------------------------------------------
    def _portfolio_id(self, label: Any) -> int:
        """Buildings name their portfolio by a string (its abbreviation); resolve it to the ID."""
        key = convert.text(label).strip().lower()
        if self._portfolio_index is None or key not in self._portfolio_index:
            self._portfolio_index = _portfolio_index(self._read("getAllPortfolios") or [])
        if key not in self._portfolio_index:
            log.warning("propertyware: building names unknown portfolio %r", label)
            return 0
        return self._portfolio_index[key]

    def _location_of(self, building_id: int) -> str:
        building = self._read("getBuilding", criteria={"ids": [building_id], "pageNumber": 1})
        if not building:
            raise NotFound(f"building {building_id} does not exist", system=SYSTEM, operation="getBuilding")
        portfolios = {p["ID"]: p for p in self._read("getAllPortfolios") or []}
        pid = self._portfolio_id(building.get("portfolio"))
        abbr = convert.text(portfolios.get(pid, {}).get("abbreviation") or building.get("portfolio"))
        return f"{abbr} | {convert.text(building.get('abbreviation'))}"


def parse_verify(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes", "on", ""):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    return text


def _portfolio_index(rows: Iterable[Mapping]) -> dict[str, int]:
    index: dict[str, int] = {}
    for p in rows:
        for key in (p.get("name"), p.get("abbreviation")):  # abbreviations win over names
            if key:
                index[str(key).strip().lower()] = int(p["ID"])
    return index


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
