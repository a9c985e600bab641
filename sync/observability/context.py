"""Run context for log lines: which sync run and step the current code is working for."""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TypeVar

#: fields every log line carries, even when no run is active (then None)
STANDARD_FIELDS = ("run_id", "step")

# A ``ContextVar`` carries the fields so threads and asyncio tasks started with a copied context keep
# them, and concurrent runs in one process never see each other's ids.
# An immutable empty mapping as default: the fields are replaced, never mutated, per block.
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("greenlight_log_context",
                                                                              default=_EMPTY)

T = TypeVar("T")


@contextmanager
def log_context(**fields: Any) -> Iterator[Mapping[str, Any]]:
    """Add ``fields`` (run_id=…, step=…, anything else) to every log line inside the block.

    Nested blocks add to and override the outer fields; leaving a block restores the outer ones.
    """
    merged = {**_context.get(), **fields}
    token = _context.set(MappingProxyType(merged))
    try:
        yield merged
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    """The fields in force here (a read-only view for callers such as error recorders)."""
    return dict(_context.get())


def in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap ``fn`` so it runs in a copy of the caller's context.

    ``ThreadPoolExecutor`` does not carry context variables into its threads; submitting
    ``in_context(fn)`` instead of ``fn`` keeps the run id on the parallel reads' log lines.
    """
    ctx = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return ctx.copy().run(fn, *args, **kwargs)

    return run


class ContextFilter(logging.Filter):
    """Copies the run context onto each record (``record.run_id``, ``record.step``, extras).

    Attached to handlers in settings.LOGGING, so it sees records from every logger.
    A field the caller passed explicitly with ``extra=`` wins over the context.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        for name in STANDARD_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name))
        for name, value in ctx.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True
