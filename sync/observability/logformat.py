"""Log line formats: JSON lines (python-json-logger) for production, a readable line for terminals.
Both always print the run id and step (null / "-" outside a run).
"""
from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _LibJsonFormatter

from .context import STANDARD_FIELDS, ContextFilter
from .scrub import configured_secrets, scrub

_context_filter = ContextFilter()


def _with_context(record: logging.LogRecord) -> None:
    # Harmless when the handler already ran ContextFilter: existing attributes are kept.
    _context_filter.filter(record)


# Both formats scrub credentials once more from the finished output, so a handler wired without
# SecretsFilter still cannot leak them.
def _scrub_value(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v, secrets) for v in value]
    return value


class JsonFormatter(_LibJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, run_id, step, then any extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(run_id)s %(step)s")
        kwargs.setdefault("rename_fields", {"asctime": "timestamp", "levelname": "level", "name": "logger"})
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S%z")
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        _with_context(record)
        return super().format(record)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _scrub_value(log_data, configured_secrets())


class PlainFormatter(logging.Formatter):
    """``2025-08-20 12:00:00,000 INFO sync.engine.runner run=42 step=pull_work_orders message``."""

    default_format = "%(asctime)s %(levelname)s %(name)s run=%(run_id)s step=%(step)s %(message)s"

    def __init__(self, fmt: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(fmt or self.default_format, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        _with_context(record)
        shown = {name: getattr(record, name) for name in STANDARD_FIELDS}
        for name, value in shown.items():
            if value is None:
                setattr(record, name, "-")
        try:
            return scrub(super().format(record), configured_secrets())
        finally:
            for name, value in shown.items():
                setattr(record, name, value)
