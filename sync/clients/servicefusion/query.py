"""Query-string encoding for ServiceFusion lists: ``filters[field]``, ``filters[field][gte|lte]``; timestamps
as RFC 3339 UTC, business dates (start/end) as Y-m-d, lists as CSV (which the API reads as OR)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_FILTERS = frozenset({"start_date", "end_date", "last_serviced_date"})


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give a timezone (ServiceFusion compares in UTC)")
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def _scalar(field: str, value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if field in DATE_FILTERS else rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_scalar(field, v) for v in value)
    return str(value)


def encode_filters(filters: Mapping[str, Any] | None) -> dict[str, str]:
    """``{"status": ["Job Closed", "Cancelled"], "updated_date": {"gte": dt}}`` → query parameters."""
    params: dict[str, str] = {}
    for field, value in (filters or {}).items():
        if not _NAME.match(field):
            raise ValueError(f"not a ServiceFusion filter name: {field!r}")
        if value is None:
            continue
        if isinstance(value, Mapping):
            for op, bound in value.items():
                if op not in ("gte", "lte"):
                    raise ValueError(f"filter {field!r}: range operators are gte and lte, not {op!r}")
                if bound is not None:
                    params[f"filters[{field}][{op}]"] = _scalar(field, bound)
        else:
            params[f"filters[{field}]"] = _scalar(field, value)
    return params
