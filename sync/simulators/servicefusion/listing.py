"""List requests: ``page``/``per-page`` paging and the envelope, ``sort``, ``filters[...]``, ``fields``.
Quirks kept on purpose: ``per-page`` is 1–50 (default 10, larger values clamped, ``per_page`` ignored); a page
past the end returns the last page; unknown sort attributes and filters are ignored; sort ties go by id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlencode

from .clock import format_date, format_ts, parse_date, parse_ts
from .responses import ApiError

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 50
_FILTER_KEY = re.compile(r"^filters\[([A-Za-z0-9_]+)\](?:\[(gte|lte)\])?$")


@dataclass
class ListQuery:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (attribute, descending)
    sorted_explicitly: bool = False
    fields: list[str] | None = None
    expand: frozenset[str] = frozenset()
    filters: dict[str, Any] = field(default_factory=dict)


def first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_common(query: dict[str, list[str]]) -> tuple[list[str] | None, frozenset[str]]:
    """``fields`` and ``expand``, which every read (and POST) accepts."""
    fields = csv(first(query, "fields")) or None
    return fields, frozenset(csv(first(query, "expand")))


def parse_list(query: dict[str, list[str]], sortable: tuple[str, ...]) -> ListQuery:
    fields, expand = parse_common(query)
    q = ListQuery(fields=fields, expand=expand)
    q.page = _int_or(first(query, "page"), 1)
    q.per_page = min(MAX_PER_PAGE, max(1, _int_or(first(query, "per-page"), DEFAULT_PER_PAGE)))
    for part in csv(first(query, "sort")):
        name, desc = (part[1:], True) if part.startswith("-") else (part, False)
        if name in sortable:
            q.sort.append((name, desc))
    q.sorted_explicitly = bool(q.sort)
    for key, values in query.items():
        match = _FILTER_KEY.match(key)
        if not match or not values:
            continue
        name, op = match.groups()
        if op:
            slot = q.filters.setdefault(name, {})
            if isinstance(slot, dict):
                slot[op] = values[0]
        else:
            q.filters[name] = values[0]
    return q


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


# A filter spec maps a filter name to (kind, accessor); accessor(row) returns a value or a list of values.
Accessor = Callable[[dict], Any]


def apply_filters(
    rows: list[dict], filters: dict[str, Any], spec: dict[str, tuple[str, Accessor]]
) -> list[dict]:
    for name, value in filters.items():
        if name not in spec:
            continue  # not a documented filter of this resource: ignored, as a lenient API does
        kind, accessor = spec[name]
        test = _predicate(name, kind, value)
        rows = [row for row in rows if test(_values(accessor(row)))]
    return rows


def _values(value: Any) -> list:
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list | tuple) else [value]


def _predicate(name: str, kind: str, value: Any) -> Callable[[list], bool]:
    if kind in ("date", "timestamp"):
        bounds = value if isinstance(value, dict) else {"eq": value}
        try:
            parsed = {
                op: (format_date(parse_date(v)) if kind == "date" else format_ts(parse_ts(v)))
                for op, v in bounds.items()
            }
        except (TypeError, ValueError) as exc:
            raise ApiError(400) from exc

        def in_range(vals: list) -> bool:
            for v in vals:
                v = str(v)
                if kind == "timestamp" and "eq" in parsed and v[:10] != parsed["eq"][:10]:
                    continue
                if kind == "date" and "eq" in parsed and v[:10] != parsed["eq"]:
                    continue
                if "gte" in parsed and v < parsed["gte"]:
                    continue
                if "lte" in parsed and v > parsed["lte"]:
                    continue
                return True
            return False

        return in_range
    if isinstance(value, dict):
        raise ApiError(400)
    if kind == "partial":
        needle = value.lower()
        return lambda vals: any(needle in str(v).lower() for v in vals)
    options = {opt.lower() for opt in csv(value)}  # "full": exact, case-insensitive; CSV means OR
    return lambda vals: any(str(v).lower() in options for v in vals)


def apply_sort(rows: list[dict], sort: list[tuple[str, bool]]) -> list[dict]:
    rows = sorted(rows, key=lambda r: r.get("id") or 0)
    for name, desc in reversed(sort or [("id", False)]):
        # None sorts first ascending (as MySQL does); Python's sort is stable, so earlier keys win.
        rows.sort(key=partial(_sort_key, name), reverse=desc)
    return rows


def _sort_key(name: str, row: dict) -> tuple[bool, Any]:
    return (row.get(name) is not None, _sortable(row.get(name)))


def _sortable(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return int(value)
    return value if value is not None else 0


def paginate(rows: list, q: ListQuery) -> tuple[list, dict[str, int]]:
    total = len(rows)
    page_count = math.ceil(total / q.per_page)
    page = min(max(q.page, 1), max(page_count, 1))  # past the end: the last page
    start = (page - 1) * q.per_page
    return rows[start : start + q.per_page], {
        "totalCount": total,
        "pageCount": page_count,
        "currentPage": page,
        "perPage": q.per_page,
    }


def envelope_headers(
    meta: dict[str, int], base_url: str, path: str, query: dict[str, list[str]]
) -> dict[str, str]:
    headers = {
        "X-Pagination-Total-Count": str(meta["totalCount"]),
        "X-Pagination-Page-Count": str(meta["pageCount"]),
        "X-Pagination-Current-Page": str(meta["currentPage"]),
        "X-Pagination-Per-Page": str(meta["perPage"]),
    }
    flat = [(k, v) for k, vs in query.items() if k not in ("page", "access_token") for v in vs]

    def link(page: int) -> str:
        return f"{base_url}{path}?{urlencode([*flat, ('page', str(page))])}"

    links = {"self": link(meta["currentPage"]), "first": link(1)}
    if meta["pageCount"]:
        links["last"] = link(meta["pageCount"])
    if meta["currentPage"] < meta["pageCount"]:
        links["next"] = link(meta["currentPage"] + 1)
    if meta["currentPage"] > 1:
        links["prev"] = link(meta["currentPage"] - 1)
    headers["Link"] = ", ".join(f"<{url}>; rel={rel}" for rel, url in links.items())
    return headers
