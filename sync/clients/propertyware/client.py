"""``PropertyWareClient``: PropertyWare's SOAP operations as typed methods returning records (spec §10)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sync.clients.paging import PageMark
from sync.clients.strict import OnMalformed, each
from sync.errors import NotFound, PermanentError

from . import convert
from .calls import UNCHANGED, SoapCaller
from .labels import PortfolioLabels
from .records import Building, Contact, Lease, Note, Portfolio, Unit, Vendor, WorkOrder
from .transport import SYSTEM

log = logging.getLogger(__name__)

_PRIORITY_AS_INT = {"high": 1, "emergency": 1, "urgent": 1, "medium": 2, "normal": 2, "low": 3}


@dataclass(frozen=True)
class Listing:
    """An unpaged listing read only if it changed: ``records`` is None when the reply was byte for byte
    the one ``digest`` (SHA-256 of the reply) was taken of; keep ``digest`` for the next read."""

    digest: str
    records: list | None


class PropertyWareClient(SoapCaller):
    """PropertyWare's operations as typed methods; see docs/propertyware-client.md.

    Reads are retried (tenacity: exponential backoff with jitter) on timeouts, resets, 5xx and maintenance
    pages; writes are never retried: an outcome the client cannot know raises AmbiguousWriteError, so the
    caller re-reads before writing again. Paged reads stream page by page.

    ``PropertyWareClient(url, username, password, *, wsdl_url=None, timeout=90, verify=True, max_rps=2.0,
    retries=3, retry_min_wait=1, retry_max_wait=30, page_cap=10000, vendors_timeout=300,
    overlap=timedelta(minutes=5), urgency=0)``
    """

    @classmethod
    def from_settings(cls, **overrides: Any) -> PropertyWareClient:
        """A client from ``settings.PROPERTYWARE``; missing values raise ImproperlyConfigured naming PW_*."""
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
            "page_cap": conf.get("MAX_PAGES", 10000),
        }
        kwargs.update(overrides)
        return cls(conf["URL"], conf["USERNAME"], conf["PASSWORD"], **kwargs)

    # --- reads --------------------------------------------------------------------------------------------
    def echo(self, text: str) -> str:
        """A health check: PropertyWare echoes ``text`` back."""
        return convert.text(self._read("echoString", arg=text))

    def operation_names(self) -> frozenset[str]:
        """The operations the WSDL's binding offers (loads the WSDL when not loaded yet)."""
        return frozenset(self._load()._binding._operations)

    def iter_portfolios(self) -> Iterator[Portfolio]:
        for row in self._read("getAllPortfolios") or []:
            yield convert.to_portfolio(row)

    def portfolios_if_changed(self, digest: str | None) -> Listing:
        """getAllPortfolios (no filter, no pages: every run must list them all), parsed only when the
        reply differs from the one ``digest`` was taken of (None: always parsed)."""
        rows = self._read("getAllPortfolios", unless_digest=digest or "")
        if rows is UNCHANGED:
            return Listing(digest or "", None)
        digest = self.reply_digests.get("getAllPortfolios", "")
        return Listing(digest, [convert.to_portfolio(r) for r in rows or []])

    def vendors_if_changed(self, digest: str | None) -> Listing:
        """getVendors, as ``portfolios_if_changed`` reads the portfolios."""
        rows = self._read("getVendors", timeout=self.vendors_timeout, unless_digest=digest or "")
        if rows is UNCHANGED:
            return Listing(digest or "", None)
        return Listing(self.reply_digests.get("getVendors", ""), [convert.to_vendor(v) for v in rows or []])

    def iter_buildings_for_portfolio(self, portfolio_id: int) -> Iterator[Building]:
        for row in self._read("getBuildingsForPortfolio", portfolioID=int(portfolio_id)) or []:
            yield convert.to_building(row, int(portfolio_id))

    def iter_buildings(
        self, modified_since: datetime | None = None, *, portfolios: Iterable[Mapping] | None = None,
        pages: PageMark | None = None, on_malformed: OnMalformed = None,
    ) -> Iterator[Building]:
        """Buildings name their portfolio by a label (its abbreviation, or name): ``portfolios``, records
        with ``ID``, ``name`` and ``abbreviation`` (the caller's copy, say the warehouse's), resolve it
        without a call. Without them, or for a label they lack, getAllPortfolios is listed, once a call."""
        labels = PortfolioLabels(portfolios or (), self._list_portfolios)
        rows = self._pages("getBuildings", self._since(modified_since), pages=pages)
        yield from each(rows, lambda r: convert.to_building(r, labels.id_of(r.get("portfolio"))),
                                on_malformed)

    def iter_units(
        self, building_id: int | None = None, modified_since: datetime | None = None, *,
        pages: PageMark | None = None, on_malformed: OnMalformed = None,
    ) -> Iterator[Unit]:
        criteria = self._since(modified_since)
        if building_id is not None:
            criteria["buildingId"] = int(building_id)
        yield from each(self._pages("getUnits", criteria, pages=pages), convert.to_unit, on_malformed)

    def iter_leases(
        self, modified_since: datetime | None = None, *, pages: PageMark | None = None,
        on_malformed: OnMalformed = None,
    ) -> Iterator[Lease]:
        rows = self._pages("getLeases", self._since(modified_since), pages=pages)
        yield from each(rows, convert.to_lease, on_malformed)

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
        pages: PageMark | None = None,
        on_malformed: OnMalformed = None,
    ) -> Iterator[WorkOrder]:
        criteria: dict[str, Any] = {**self._since(modified_since), "orderByNewestFirst": bool(newest_first)}
        if portfolio_id is not None:
            criteria["portfolioId"] = int(portfolio_id)
        if building_id is not None:
            criteria["buildingId"] = int(building_id)
        at_most = None
        if ids is not None:
            wanted = [int(i) for i in ids]
            if not wanted:
                return
            criteria["ids"] = wanted
            at_most = len(set(wanted))
        rows = self._pages("getWorkOrders", criteria, at_most=at_most, pages=pages)
        yield from each(rows, convert.to_work_order, on_malformed)

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

    def update_work_order(
        self, work_order_id: int, *, current: WorkOrder | None = None, **changes: Any
    ) -> WorkOrder:
        """Read-modify-write: fetch the work order, change only ``changes`` (record-style names, e.g.
        ``status=``, ``completed_date=``, ``custom_fields={"sfJobId": "123"}``) and send every other field
        back as read, since PropertyWare resets whatever an update leaves out.

        ``current``: the work order as just read (e.g. one of a batch read with ``iter_work_orders(ids=)``),
        which saves the fetch; the caller vouches that it is fresh."""
        if current is not None and int(current.id) != int(work_order_id):
            raise ValueError(f"current is work order {current.id}, not {work_order_id}")
        current = current if current is not None else self.get_work_order(work_order_id)
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
    def _list_portfolios(self) -> list[Mapping]:
        return self._read("getAllPortfolios") or []

    def _location_of(self, building_id: int) -> str:
        building = self._read("getBuilding", criteria={"ids": [building_id], "pageNumber": 1})
        if not building:
            raise NotFound(f"building {building_id} does not exist", system=SYSTEM, operation="getBuilding")
        rows = self._list_portfolios()
        pid = PortfolioLabels(rows, None).id_of(building.get("portfolio"))
        portfolio = next((p for p in rows if p.get("ID") == pid), {})
        abbr = convert.text(portfolio.get("abbreviation") or building.get("portfolio"))
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
