"""Strict field types for the records both clients parse (pydantic v2), and ``parse``, which turns a record
the types refuse into ``MalformedRecord`` carrying a truncated, scrubbed excerpt of it."""

# pydantic v2 rather than msgspec: per-field strictness is declared where the field is (Strict, constraints,
# unions of exact shapes), its Rust core validates a job in microseconds, every refusal names the field it
# failed on, and it is already installed with the OpenAPI tools. Nothing here coerces: an id is a positive
# int (or the canonical digit string the ServiceFusion docs show), never a bool, float or "0"; a boolean is
# a bool or one of XML Schema's four spellings; a decimal is finite; a timestamp is RFC 3339 text.

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sync.errors import MalformedRecord

MAX_ID = 2**63 - 1  # a PostgreSQL bigint
EXCERPT_CHARS = 400
_SECRET_KEY = re.compile(r"(?i)password|secret|token|authorization|api_?key")

_IntId = Annotated[int, Field(strict=True, gt=0, le=MAX_ID)]
_DigitId = Annotated[str, StringConstraints(strict=True, pattern=r"^[1-9][0-9]{0,18}$")]


def _in_range(value: int) -> int:
    if value > MAX_ID:
        raise ValueError("id out of range")
    return value


# Type checkers see what a field holds once validated; pydantic sees how it is validated.
if TYPE_CHECKING:
    Id = int
    Bool = bool
    JsonBool = bool
    Text = str
    Money = Decimal
else:
    #: a positive id: an int, or the canonical digit string the ServiceFusion docs show (never bool/float/"0")
    Id = Annotated[_IntId | _DigitId, AfterValidator(lambda v: _in_range(int(v)))]

    _XSD_BOOL = {"true": True, "false": False, "1": True, "0": False}
    #: a real boolean or XML Schema's spellings (true, false, 1, 0); None (absent) reads as False
    Bool = Annotated[
        Annotated[bool, Field(strict=True)]
        | Annotated[str, StringConstraints(strict=True, pattern=r"^(true|false|1|0)$")]
        | None,
        AfterValidator(lambda v: _XSD_BOOL[v] if isinstance(v, str) else bool(v)),
    ]
    #: a JSON boolean only (ServiceFusion documents no other spelling); None (absent) reads as False
    JsonBool = Annotated[Annotated[bool, Field(strict=True)] | None, AfterValidator(bool)]
    #: text, or None/absent as ""
    Text = Annotated[Annotated[str, Field(strict=True)] | None, AfterValidator(lambda v: v or "")]

    _Finite = (
        Annotated[int, Field(strict=True)]
        | Annotated[float, Field(strict=True, allow_inf_nan=False)]
        | Annotated[Decimal, Field(strict=True, allow_inf_nan=False)]
        | Annotated[str, StringConstraints(strict=True, pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,12})?$")]
    )
    #: a finite number (a JSON number or decimal text) as Decimal; NaN and infinities refused
    Money = Annotated[_Finite, AfterValidator(lambda v: Decimal(str(v)))]

OptId = Id | None
OptMoney = Money | None

_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})?$"


def _aware(text: str) -> datetime:
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # naive: the API's UTC


if TYPE_CHECKING:
    Timestamp = datetime
    Day = date
else:
    #: an RFC 3339 timestamp (text) as an aware datetime; a naive one is taken as UTC
    Timestamp = Annotated[
        Annotated[str, StringConstraints(strict=True, pattern=_RFC3339)], AfterValidator(_aware)
    ]
    #: a business date, ``Y-m-d`` (or a timestamp, whose date is taken)
    Day = Annotated[
        Annotated[str, StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}([Tt ].*)?$")],
        AfterValidator(lambda v: date.fromisoformat(v[:10])),
    ]


class Wire(BaseModel):
    """A record as the API sends it: unknown keys ignored, every known one checked."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


M = TypeVar("M", bound=Wire)


def parse(model: type[M], data: Any, *, system: str, operation: str, modified_key: str = "") -> M:
    """``data`` validated as ``model``; anything refused raises MalformedRecord (never another error)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise malformed(data, exc, system=system, operation=operation, modified_key=modified_key) from None


#: where a typed listing hands a record it could not parse (without one, the listing raises it)
OnMalformed = Callable[[MalformedRecord], None] | None
R = TypeVar("R")


def each(rows: Iterable[Any], convert: Callable[[Any], R], on_malformed: OnMalformed) -> Iterator[R]:
    """``rows`` converted; a malformed one goes to ``on_malformed`` and the rest go on (raised without it)."""
    for row in rows:
        try:
            record = convert(row)
        except MalformedRecord as bad:
            if on_malformed is None:
                raise
            on_malformed(bad)
            continue
        yield record


def malformed(
    data: Any, exc: ValidationError | str, *, system: str, operation: str, modified_key: str = ""
) -> MalformedRecord:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
        )
    else:
        problems = exc
    key = data.get("id", data.get("ID")) if isinstance(data, dict) else None
    modified = None
    if modified_key and isinstance(data, dict):
        modified = _modified(data.get(modified_key))
    return MalformedRecord(
        f"malformed record refused ({problems})",
        system=system,
        operation=operation,
        excerpt=excerpt(data),
        record_key=str(key)[:64] if key is not None else "",
        modified=modified,
    )


def _modified(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and re.match(_RFC3339, value):
        try:
            return _aware(value)
        except ValueError:
            return None
    return None


def scrubbed(value: Any, depth: int = 0) -> Any:
    """``value`` with the values of secret-named keys blanked (a record has none, but a reply might)."""
    if depth > 8:
        return "…"
    if isinstance(value, dict):
        return {
            str(k): "[REDACTED]" if _SECRET_KEY.search(str(k)) else scrubbed(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrubbed(v, depth + 1) for v in value[:20]]
    return value


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """The record as compact JSON, secrets scrubbed, cut to ``limit`` characters."""
    try:
        text = json.dumps(scrubbed(value), default=str, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
