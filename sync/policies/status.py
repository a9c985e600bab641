"""Status policy (business rules §7): which PW work orders are open, and what ServiceFusion's job status
means for PropertyWare (SF wins on status; closed categories close the work order).
Read the mapping once per step with ``load_status_map()``; the module-level helpers read it fresh.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sync.models import StatusMapping
from sync.policies.flags import Flags

__all__ = [
    "CLOSED_SF_CATEGORIES",
    "CLOSED_SF_STATUS_NAMES",
    "DEFAULT_STATUS_MAPPINGS",
    "StatusMap",
    "StatusUpdate",
    "is_closed_sf_category",
    "is_open",
    "load_status_map",
    "normalise_status",
    "pw_status_for_sf",
    "seed_status_mappings",
    "sf_status_is_closed",
    "status_update_for",
]

#: SF status categories that mean the job is over (the simulator's and SF's documented codes).
CLOSED_SF_CATEGORIES = frozenset({"closed", "cancelled", "canceled"})
#: SF default closed statuses (R28); also accepted where a caller only has the status name.
CLOSED_SF_STATUS_NAMES = frozenset({"completed", "invoiced", "paid in full", "job closed", "cancelled"})

#: Seed rows: (name, code, category, is_closed). The PW status written is the SF name itself (R27:
#: PW statuses mirror SF's); staff may edit it. Codes other than the first six are unpublished.
DEFAULT_STATUS_MAPPINGS: tuple[tuple[str, str, str, bool], ...] = (
    ("Unscheduled", "01_UNS", "OPEN_ACTIVE", False),
    ("Scheduled", "02_SCH", "OPEN_ACTIVE", False),
    ("Dispatched", "03_DSP", "OPEN_ACTIVE", False),
    ("Delayed", "04_DEL", "OPEN_ACTIVE", False),
    ("On The Way", "05_OTW", "OPEN_ACTIVE", False),
    ("On Site", "06_ONS", "OPEN_ACTIVE", False),
    ("Started", "", "OPEN_ACTIVE", False),
    ("Paused", "", "OPEN_ACTIVE", False),
    ("Resumed", "", "OPEN_ACTIVE", False),
    ("Partially Completed", "", "OPEN_ACTIVE", False),
    ("Completed", "", "CLOSED", True),
    ("Invoiced", "", "CLOSED", True),
    ("Paid in Full", "", "CLOSED", True),
    ("Job Closed", "", "CLOSED", True),
    ("Cancelled", "", "CANCELLED", True),
)


def normalise_status(status: str | None) -> str:
    """lower(trim(status)) with inner whitespace collapsed: the form open-status lists are kept in."""
    return " ".join((status or "").split()).lower()


def is_open(status: str | None, flags: Flags) -> bool:
    """Whether a PW work order with ``status`` is open (R26): its normalised status is in PW_OPEN_STATUSES."""
    return normalise_status(status) in flags.pw_open_statuses


def is_closed_sf_category(category: str | None) -> bool:
    """Whether an SF status category (CLOSED, CANCELLED) or closed status name (Completed, Invoiced, Paid in
    Full, Job Closed, Cancelled) means the job is over."""
    key = normalise_status(category)
    return key in CLOSED_SF_CATEGORIES or key in CLOSED_SF_STATUS_NAMES


@dataclass(frozen=True)
class StatusUpdate:
    """What step 11 writes to PropertyWare for one job: the status, and whether the job is closed (set the
    completed date) and the work order should be closed too (PW_CLOSE_ON_SF_CLOSED)."""

    pw_status: str
    closed: bool
    close_work_order: bool


@dataclass(frozen=True)
class _Row:
    sf_status: str
    pw_status: str
    is_closed: bool


class StatusMap:
    """A snapshot of the staff-edited mapping, looked up by SF code first, then by name."""

    def __init__(self, rows: Iterable[tuple[str, str, str, bool]]) -> None:
        self._by_code: dict[str, _Row] = {}
        self._by_name: dict[str, _Row] = {}
        for name, code, pw_status, closed in rows:
            row = _Row(name.strip(), pw_status.strip(), closed)
            if code.strip():
                self._by_code[code.strip().upper()] = row
            self._by_name[normalise_status(name)] = row

    def _find(self, name: str | None, code: str | None) -> _Row | None:
        if code and code.strip().upper() in self._by_code:
            return self._by_code[code.strip().upper()]
        return self._by_name.get(normalise_status(name))

    def pw_status_for(self, sf_status: str, *, code: str = "") -> str:
        """The PW status to write for SF status ``sf_status``: the mapped one, else the SF name (R28)."""
        row = self._find(sf_status, code)
        if row is not None and row.pw_status:
            return row.pw_status
        return " ".join((sf_status or "").split())

    def is_closed(self, sf_status: str, *, code: str = "", category: str = "") -> bool:
        """A mapped status says whether it is closed; otherwise its category or default name decides."""
        row = self._find(sf_status, code)
        if row is not None:
            return row.is_closed
        return is_closed_sf_category(category) or is_closed_sf_category(sf_status)


def load_status_map(*, using: str = "default") -> StatusMap:
    return StatusMap(
        StatusMapping.objects.using(using).values_list("sf_status", "sf_code", "pw_status", "is_closed")
    )


def pw_status_for_sf(sf_status_name: str, *, code: str = "") -> str:
    """The PW status string for an SF status (read fresh from the mapping)."""
    return load_status_map().pw_status_for(sf_status_name, code=code)


def sf_status_is_closed(sf_status_name: str, *, code: str = "", category: str = "") -> bool:
    return load_status_map().is_closed(sf_status_name, code=code, category=category)


def status_update_for(pw_status: str | None, sf_status: str, flags: Flags, *, code: str = "",
                      category: str = "", status_map: StatusMap | None = None) -> StatusUpdate | None:
    """SF wins (R28): the update to write when the SF job's status differs from PW's, else None.

    Differences are compared case-insensitively on the PW status the mapping yields.
    """
    if not (sf_status or "").strip():
        return None
    status_map = status_map or load_status_map()
    target = status_map.pw_status_for(sf_status, code=code)
    if normalise_status(target) == normalise_status(pw_status):
        return None
    closed = status_map.is_closed(sf_status, code=code, category=category)
    return StatusUpdate(pw_status=target, closed=closed,
                        close_work_order=closed and flags.pw_close_on_sf_closed)


def seed_status_mappings(model) -> int:
    """Create the default rows that are missing (by code or name); never touches staff edits.

    Takes the model class (a historical one works too); 0002_policies_seed holds its own frozen copy of
    the rows. Returns rows created.
    """
    created = 0
    for name, code, category, closed in DEFAULT_STATUS_MAPPINGS:
        by_name = model.objects.filter(sf_status__iexact=name)
        by_code = model.objects.filter(sf_code=code) if code else model.objects.none()
        if by_name.exists() or by_code.exists():
            continue
        model.objects.create(sf_status=name, sf_code=code, sf_category=category, pw_status=name,
                             is_closed=closed)
        created += 1
    return created
