"""The registry of every feature flag (business rules §9): names, legacy aliases, types, defaults,
strict parsing, and the typed ``Flags`` snapshot. Pure: no database, so models and policies both use it.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_OPEN_STATUSES",
    "FLAGS",
    "FlagError",
    "FlagSpec",
    "Flags",
    "canonical_name",
    "flags_with",
    "spec_for",
]


class FlagError(ValueError):
    """A flag name or value is not acceptable; the message names the flag."""

    def __init__(self, flag: str, message: str, *, unknown: bool = False) -> None:
        super().__init__(f"{flag}: {message}")
        self.flag = flag
        self.unknown = unknown


# --- parsers: text in, typed value out; each raises ValueError with a human message -------------------

def _parse_bool(text: str) -> bool:
    # Only true/false: the legacy `!process.env.DRY_RUN === 'true'` bug came from loose truthiness.
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"expected true or false, got {text!r}")


# Longest text a flag may hold: labels and status lists are short; a longer value is a paste mistake.
MAX_TEXT_LENGTH = 2000
MAX_LABEL_LENGTH = 100


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def _parse_int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        stripped = text.strip()
        # Plain digits only: int() would also read "1_000" and thousands of digits.
        if not _WHOLE_NUMBER.fullmatch(stripped):
            raise ValueError(f"expected a whole number, got {text[:50]!r}")
        # Past 15 digits it is far beyond any bound (e.g. 10^20); not worth converting.
        value = int(stripped) if len(stripped) <= 15 else (minimum - 1 if stripped[0] == "-" else maximum + 1)
        shown = value if len(stripped) <= 15 else f"{stripped[:15]}…"
        if value < minimum:
            raise ValueError(f"must be at least {minimum}, got {shown}")
        if value > maximum:
            raise ValueError(f"must be at most {maximum}, got {shown}")
        return value

    return parse


def _int_range(minimum: int, maximum: int) -> dict[str, Any]:
    """A whole-number flag's parser and bounds, as FlagSpec keywords."""
    return {"parse_text": _parse_int(minimum, maximum), "minimum": minimum, "maximum": maximum}


def _parse_fraction(text: str) -> float:
    try:
        if len(text) > 50:
            raise ValueError(text)
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"expected a number between 0 and 1, got {text[:50]!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan and inf
        raise ValueError(f"must be between 0 and 1, got {value}")
    return value


_FRACTION: dict[str, Any] = {"parse_text": _parse_fraction, "minimum": 0, "maximum": 1}


def _parse_status_list(text: str) -> frozenset[str]:
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"must be at most {MAX_TEXT_LENGTH} characters, got {len(text)}")
    items = frozenset(" ".join(part.split()).lower() for part in text.split(",") if part.strip())
    if not items:
        raise ValueError("needs at least one status (comma-separated)")
    return items


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        lowered = text.strip().lower()
        if lowered not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text[:50]!r}")
        return lowered

    return parse


def _parse_text(*, required: bool) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if required and not value:
            raise ValueError("must not be empty")
        if len(value) > MAX_LABEL_LENGTH:
            raise ValueError(f"must be at most {MAX_LABEL_LENGTH} characters, got {len(value)}")
        return value

    return parse


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(str(v) for v in value))  # unordered: sorted for a stable text
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class FlagSpec:
    """One flag: its canonical name, type label, default text, meaning and legacy names."""

    name: str
    type: str
    default: str
    description: str
    parse_text: Callable[[str], Any]
    aliases: tuple[str, ...] = ()
    #: Inclusive bounds of a number flag (None for other types); the parser enforces them.
    minimum: float | None = None
    maximum: float | None = None

    @property
    def bounds(self) -> str:
        """The allowed range as text for staff, e.g. "1 to 365"; empty for flags that are not numbers."""
        if self.minimum is None or self.maximum is None:
            return ""
        return f"{self.minimum:g} to {self.maximum:g}"

    @property
    def attr(self) -> str:
        return self.name.lower()

    def parse(self, value: Any) -> Any:
        """The typed value of ``value`` (text, or a Python value of the right kind); FlagError if invalid."""
        if value is None:
            raise FlagError(self.name, "a value is required")
        if self.type == "bool" and not isinstance(value, (bool, str)):
            raise FlagError(self.name, f"expected true or false, got {value!r}")
        try:
            return self.parse_text(_format(value))
        except ValueError as exc:
            raise FlagError(self.name, str(exc)) from None

    def to_text(self, value: Any) -> str:
        """The canonical text stored for ``value`` (validated)."""
        parsed = self.parse(value)
        if isinstance(parsed, frozenset):
            # Keep the order staff wrote, normalised, so a diff in the history reads naturally.
            seen: list[str] = []
            for part in _format(value).split(","):
                item = " ".join(part.split()).lower()
                if item and item not in seen:
                    seen.append(item)
            return ",".join(seen)
        return _format(parsed)

    @property
    def default_value(self) -> Any:
        return self.parse_text(self.default)


#: The 14 production open statuses (business rules R26), in the order the rules list them.
DEFAULT_OPEN_STATUSES = (
    "unscheduled,scheduled,scheduled outside sf,dispatched,delayed,on the way,on site,started,paused,"
    "resumed,partially completed,open,wo received,awaiting parts"
)

_BOOL, _TEXT = "bool", "text"

FLAGS: tuple[FlagSpec, ...] = (
    FlagSpec("DRY_RUN", _BOOL, "true",
             "Reads run and pushes are planned, but nothing is written to PropertyWare or ServiceFusion; "
             "planned writes are logged with MOCK- ids. On until production turns it off.", _parse_bool),
    FlagSpec("ENABLE_SERVICE_FUSION", _BOOL, "true",
             "Master switch for ServiceFusion writes (steps 7-10); reads and step 11 continue.", _parse_bool),
    FlagSpec("SAFE_MODE", _BOOL, "true",
             "Validate every write first (building/unit consistency, mapped customer, required fields, PW "
             "record still present) and hold work orders with unit problems for staff correction. Trips on "
             "by itself after SAFE_MODE_TRIP_AFTER consecutive push failures.", _parse_bool),
    FlagSpec("PW_WO_VERIFY_STRICT", _BOOL, "false",
             "Steps 10-11 read each PW work order just before writing: strict holds the write on any "
             "mismatch with what was planned (status, building, unit); flexible holds a job only for a "
             "changed building or unit and warns about the rest.", _parse_bool,
             aliases=("FEATURE_FLAG_PW_WO_VERIFY_STRICT",)),
    FlagSpec("PW_OPEN_STATUSES", "status list", DEFAULT_OPEN_STATUSES,
             "Comma-separated, case-insensitive PW statuses that count as open; replaces the built-in list.",
             _parse_status_list, aliases=("FEATURE_PW_OPEN_STATUSES",)),
    FlagSpec("DEDUP_CONFIDENCE", "fraction", "0.95",
             "Dedup score (a time-and-text match scores its description's similarity) at or above which a "
             "work order is skipped as a duplicate; also customer matching's link score.", **_FRACTION),
    FlagSpec("DEDUP_REVIEW_THRESHOLD", "fraction", "0.8",
             "Dedup score at or above which (and below DEDUP_CONFIDENCE) a work order is held for review; "
             "also the fuzzy customer-match review threshold.", **_FRACTION),
    FlagSpec("DEDUP_WINDOW_DAYS", "int", "7",
             "Temporal dedup window: SF jobs created this many days either side of the work order.",
             **_int_range(1, 365)),
    FlagSpec("DEDUP_DESCRIPTION_SIMILARITY", "fraction", "0.8",
             "Temporal dedup: description similarity (words in common) to exceed.", **_FRACTION),
    FlagSpec("DEDUP_CACHE_TTL_SECONDS", "int", "3600",
             "How long customer-match results are cached (up to a week).", **_int_range(0, 604800)),
    FlagSpec("TENANT_PUSH_MODE", "choice", "contact",
             "contact: tenants become contacts on the building customer; child_customer: one child "
             "customer per active lease.", _parse_choice("contact", "child_customer")),
    FlagSpec("PW_CLOSE_ON_SF_CLOSED", _BOOL, "false",
             "When an SF job reaches a closed status, also call closeWorkOrder in PropertyWare.",
             _parse_bool),
    FlagSpec("SF_DEFAULT_CATEGORY", _TEXT, "Maintenance",
             "SF job category used when the PW category has no SF match; empty omits the category.",
             _parse_text(required=False)),
    FlagSpec("SF_JOB_CF_WORK_ORDER_ID", _TEXT, "propertyWareId",
             "SF job custom-field label holding the PW work-order id.", _parse_text(required=True)),
    FlagSpec("SF_JOB_CF_PORTFOLIO_ID", _TEXT, "portfolioId",
             "SF job custom-field label holding the PW portfolio id.", _parse_text(required=True)),
    FlagSpec("SF_JOB_CF_BUILDING_ID", _TEXT, "buildingId",
             "SF job custom-field label holding the PW building id.", _parse_text(required=True)),
    FlagSpec("SF_JOB_CF_UNIT_ID", _TEXT, "unitId",
             "SF job custom-field label holding the PW unit id.", _parse_text(required=True)),
    FlagSpec("SF_CUSTOMER_CF_PORTFOLIO_ID", _TEXT, "portfolioId",
             "SF customer custom-field label holding the PW portfolio id.", _parse_text(required=True)),
    FlagSpec("SF_CUSTOMER_CF_BUILDING_ID", _TEXT, "buildingId",
             "SF customer custom-field label holding the PW building id.", _parse_text(required=True)),
    FlagSpec("PW_SF_JOB_ID_FIELD", _TEXT, "sfJobId",
             "PW work-order custom field that receives the SF job id; when the organisation lacks it a "
             "note is attached instead.", _parse_text(required=False)),
    FlagSpec("SAFE_MODE_TRIP_AFTER", "int", "5",
             "Consecutive push failures after which SAFE_MODE turns itself on; 0 never trips.",
             **_int_range(0, 1000)),
    FlagSpec("CIRCUIT_BREAKER_FAILURES", "int", "5",
             "Consecutive network failures after which a step aborts.",
             **_int_range(1, 1000)),
    FlagSpec("SYNC_SCHEDULE_ENABLED", _BOOL, "true",
             "Scheduled runs (every 30 minutes, 12:00-23:59 UTC, Mon-Fri) start only while this is on; "
             "manual runs are unaffected.", _parse_bool),
    FlagSpec("ALERT_WAITING_HOURS", "int", "24",
             "Hours a duplicate candidate, unit correction or held write may wait for staff before an alert "
             "goes out.", **_int_range(1, 720)),
    # Freshness alerts (operations.md "Alerts"): how late a job or a status write-back may be.
    FlagSpec("ALERT_UNSENT_WORK_ORDER_MINUTES", "int", "10",
             "Minutes an open work order that should have a ServiceFusion job (building mapped, not held for "
             "staff) may wait for it, counted from its creation in PropertyWare, before an alert goes out.",
             **_int_range(1, 1440)),
    FlagSpec("ALERT_STATUS_WRITEBACK_MINUTES", "int", "10",
             "Minutes a ServiceFusion job's status change may wait to be written back to PropertyWare, "
             "counted from the change in ServiceFusion, before an alert goes out.", **_int_range(1, 1440)),
    # --- freshness mode (sync.engine.freshness): light incremental runs between the scheduled ones ------
    FlagSpec("FRESHNESS_ENABLED", _BOOL, "false",
             "Light incremental runs (new work orders to SF jobs, SF statuses back to PW) every minute or "
             "so inside the sync schedule's window, between the full runs; off: none start.", _parse_bool),
    FlagSpec("FRESHNESS_SF_SHARE", "int", "10",
             "Percent of the ServiceFusion allowance (requests a minute) the light runs may use; writes "
             "beyond it wait for the next light run or the full run.", **_int_range(1, 100)),
    FlagSpec("FRESHNESS_MIN_INTERVAL_SECONDS", "int", "30",
             "Seconds between light runs after one found a change (the workers look every 30 s at best).",
             **_int_range(1, 3600)),
    FlagSpec("FRESHNESS_MAX_INTERVAL_SECONDS", "int", "60",
             "Seconds between light runs once quiet: each run that finds nothing lengthens the interval "
             "by half, up to this (a change after a quiet spell waits up to this plus 30 s).",
             **_int_range(1, 3600)),
)

_BY_NAME: dict[str, FlagSpec] = {}
for _spec in FLAGS:
    for _key in (_spec.name, *_spec.aliases):
        _BY_NAME[_key] = _spec


def canonical_name(name: str) -> str:
    """The registry name for ``name`` or one of its legacy aliases (case-insensitive)."""
    key = (name or "").strip().upper()
    spec = _BY_NAME.get(key)
    if spec is None:
        raise FlagError(key or repr(name), "unknown flag", unknown=True)
    return spec.name


def spec_for(name: str) -> FlagSpec:
    return _BY_NAME[canonical_name(name)]


@dataclass(frozen=True)
class Flags:
    """Every flag's typed value at one moment; read at the start of each step and recorded on it."""

    dry_run: bool
    enable_service_fusion: bool
    safe_mode: bool
    pw_wo_verify_strict: bool
    pw_open_statuses: frozenset[str]
    dedup_confidence: float
    dedup_review_threshold: float
    dedup_window_days: int
    dedup_description_similarity: float
    dedup_cache_ttl_seconds: int
    tenant_push_mode: str
    pw_close_on_sf_closed: bool
    sf_default_category: str
    sf_job_cf_work_order_id: str
    sf_job_cf_portfolio_id: str
    sf_job_cf_building_id: str
    sf_job_cf_unit_id: str
    sf_customer_cf_portfolio_id: str
    sf_customer_cf_building_id: str
    pw_sf_job_id_field: str
    safe_mode_trip_after: int
    circuit_breaker_failures: int
    sync_schedule_enabled: bool
    alert_waiting_hours: int
    alert_unsent_work_order_minutes: int
    alert_status_writeback_minutes: int
    # freshness mode
    freshness_enabled: bool
    freshness_sf_share: int
    freshness_min_interval_seconds: int
    freshness_max_interval_seconds: int

    @classmethod
    def defaults(cls) -> Flags:
        return cls(**{spec.attr: spec.default_value for spec in FLAGS})

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> Flags:
        """Parse ``{name or alias: text}``; canonical names win over aliases; missing ones take defaults."""
        chosen: dict[str, str] = {}
        for name, text in texts.items():
            spec = _BY_NAME.get(name.strip().upper())
            if spec is None:
                # A retired flag left in the table is not an error for the run (e.g. PW_LOOKBACK_DAYS:
                # work-order pulls follow their cursor instead of re-reading a window).
                continue
            if name.strip().upper() == spec.name or spec.name not in chosen:
                chosen[spec.name] = text
        values = {spec.attr: spec.default_value for spec in FLAGS}
        for name, text in chosen.items():
            spec = _BY_NAME[name]
            values[spec.attr] = spec.parse(text)
        return cls(**values)

    def custom_field_labels(self) -> dict[str, str]:
        """SF job custom-field labels by meaning (R18)."""
        return {
            "work_order_id": self.sf_job_cf_work_order_id,
            "portfolio_id": self.sf_job_cf_portfolio_id,
            "building_id": self.sf_job_cf_building_id,
            "unit_id": self.sf_job_cf_unit_id,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values keyed by flag name, for recording on a run or step."""
        out: dict[str, Any] = {}
        for spec in FLAGS:
            value = getattr(self, spec.attr)
            out[spec.name] = sorted(value) if isinstance(value, frozenset) else value
        return out


assert {f.name for f in dataclasses.fields(Flags)} == {s.attr for s in FLAGS}, "Flags and FLAGS disagree"


def flags_with(flags: Flags, **changes: Any) -> Flags:
    """A copy of ``flags`` with some values replaced (e.g. a run's --dry-run), validated like stored ones."""
    texts = {spec.name: _format(getattr(flags, spec.attr)) for spec in FLAGS}
    for attr, value in changes.items():
        spec = _BY_NAME.get(attr.upper())
        if spec is None:
            raise FlagError(attr.upper(), "unknown flag", unknown=True)
        texts[spec.name] = _format(value)
    return Flags.from_texts(texts)

