"""Test helper: apply the project's LOGGING (as settings define it) with the console handler writing to
a buffer, so tests see exactly the lines production would print."""
from __future__ import annotations

import copy
import io
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings


@contextmanager
def captured_logs(fmt: str = "json", level: str = "DEBUG") -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["formatter"] = fmt
    config["handlers"]["console"]["stream"] = buffer
    config["root"]["level"] = level
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        logging.config.dictConfig(settings.LOGGING)
