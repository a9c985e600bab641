"""A ServiceFusion list page checked against the documented envelope (``items`` and the paging meta, in
``_meta`` or the ``X-Pagination-*`` headers) before any item is read; anything else is MalformedReply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from sync.clients.strict import Wire, excerpt
from sync.errors import MalformedReply

SYSTEM = "servicefusion"

_Count = Annotated[int, Field(strict=True, ge=0, le=10**9)]


class _Meta(Wire):
    currentPage: _Count  # noqa: N815 - the API's own name
    pageCount: _Count  # noqa: N815


class _Envelope(Wire):
    items: Annotated[list[Any], Field(strict=True)]
    meta: _Meta | None = Field(default=None, alias="_meta")


@dataclass(frozen=True)
class Page:
    items: list[Any]
    #: the page the API says this is (0: not said; the caller keeps the one it asked for)
    current: int
    count: int


def _header(headers: Mapping[str, str], name: str) -> int | None:
    value = (headers.get(name) or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def parse_page(data: Any, headers: Mapping[str, str], *, operation: str) -> Page:
    """The page's items and where it stands; MalformedReply when the body is not the envelope."""
    try:
        envelope = _Envelope.model_validate(data)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:2])
        raise MalformedReply(
            f"the list page is not the documented envelope ({problem}): {excerpt(data, 200)}",
            system=SYSTEM,
            operation=operation,
        ) from None
    if envelope.meta is not None:
        return Page(envelope.items, envelope.meta.currentPage, envelope.meta.pageCount)
    current = _header(headers, "X-Pagination-Current-Page")
    count = _header(headers, "X-Pagination-Page-Count")
    if current is None or count is None:
        raise MalformedReply(
            "the list page has no paging meta (_meta or X-Pagination-* headers)",
            system=SYSTEM,
            operation=operation,
        )
    return Page(envelope.items, current, count)
