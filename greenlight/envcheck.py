"""Typed, bounded reads of environment variables for settings, with secrets from ``NAME_FILE`` files.

Every refusal is an ImproperlyConfigured whose message starts with the variable's name.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _refuse(name: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}: {message}")


def raw(name: str, default: str = "") -> str:
    """NAME's text, or NAME_FILE's content (container secrets); both set, or an unreadable file, is refused.

    A file's trailing newline is dropped: editors and ``echo`` add one that is no part of the secret.
    """
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if path is None or path == "":
        return default if value is None else value
    if value not in (None, ""):
        raise _refuse(name, f"set either {name} or {name}_FILE, not both")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(f"{name}_FILE", f"cannot read {path!r} ({type(exc).__name__}: "
                                      f"{getattr(exc, 'strerror', None) or exc})") from None
    text = text.rstrip("\r\n")
    if not text.strip():
        raise _refuse(f"{name}_FILE", f"{path!r} is empty")
    return text


def typed(name: str, cast: Callable[[str], Any], default: Any, *, minimum: float | None = None,
          maximum: float | None = None, above: float | None = None) -> Any:
    """NAME read as ``cast`` (bool, int or float) within bounds: ``minimum``/``maximum`` inclusive,
    ``above`` exclusive (e.g. ``above=0`` for a timeout)."""
    text = raw(name, "").strip()
    if text == "":
        value = default
    else:
        try:
            if cast is bool:
                lowered = text.lower()
                if lowered not in _TRUE + _FALSE:
                    raise ValueError(text)
                value = lowered in _TRUE
            else:
                value = cast(text)
        except (TypeError, ValueError, OverflowError):
            kinds: dict[Any, str] = {bool: "true or false", int: "a whole number", float: "a number"}
            kind = kinds.get(cast, getattr(cast, "__name__", "a value"))
            raise _refuse(name, f"cannot read {text[:50]!r} as {kind}") from None
    if cast is bool:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise _refuse(name, f"must be a finite number, got {text!r}")
    if above is not None and not value > above:
        raise _refuse(name, f"must be greater than {above:g}, got {value:g}")
    if minimum is not None and value < minimum:
        raise _refuse(name, f"must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise _refuse(name, f"must be at most {maximum:g}, got {value:g}")
    return value


def choice(name: str, choices: Iterable[str], default: str, *, upper: bool = False) -> str:
    """NAME as one of ``choices`` (case-insensitive)."""
    options = tuple(choices)
    text = raw(name, "").strip() or default
    text = text.upper() if upper else text.lower()
    if text not in options:
        raise _refuse(name, f"{text[:50]!r} is not one of {', '.join(options)}")
    return text


def database(name: str, url: str, known_schemes: Iterable[str]) -> dict[str, Any]:
    """A Django DATABASES entry from ``url``; unknown schemes, bad ports and a path-less SQLite refused."""
    import environ

    scheme = url.split(":", 1)[0]
    if scheme not in known_schemes:
        raise _refuse(name, f"unknown scheme {scheme!r}; use postgres://, sqlite:///path, …")
    try:
        port = urlsplit(url).port  # ValueError when out of 0..65535 or not a number
    except ValueError as exc:
        raise _refuse(name, f"bad port ({exc})") from None
    if port == 0:
        raise _refuse(name, "bad port (0)")
    try:
        config = environ.Env.db_url_config(url)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise _refuse(name, str(exc)) from exc
    if config["ENGINE"] == "django.db.backends.sqlite3" and config.get("NAME") in ("", ":memory:") \
            and ":memory:" not in url:
        # django-environ reads a bare sqlite:// as an in-memory database: every process would see its
        # own empty one, which looks like data loss.
        raise _refuse(name, f"{url!r} has no file path; use sqlite:////absolute/path.sqlite3 "
                            "(or sqlite://:memory: on purpose)")
    return config
