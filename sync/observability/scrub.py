"""Redaction of credentials in log output: passwords, client secrets, bearer and access tokens,
Basic auth headers, ``access_token=`` query parameters and credentials embedded in URLs.
"""
from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

# Pattern-based because no maintained library covers these transport-specific shapes (headers, query
# strings, dict reprs, JSON bodies, SOAP elements); the known secret values from settings are also
# replaced literally, wherever they appear, as a second line of defence (``scrub(secrets=...)``).
# Names whose values are secrets wherever they appear as key=value, "key": "value" or <key>value</key>.
_KEYS = (
    r"password|passwd|pwd|client_secret|clientsecret|secret_key|secret|access_token|accesstoken"
    r"|refresh_token|id_token|api_key|apikey|token|authorization"
)
_KEY = rf"(?<![A-Za-z0-9])(?:{_KEYS})(?![A-Za-z0-9])"
_PROSE_KEYS = (
    r"password|passwd|pwd|client_secret|clientsecret|secret_key|access_token|accesstoken"
    r"|refresh_token|id_token|api_key|apikey"
)
_PROSE_KEY = rf"(?<![A-Za-z0-9])(?:{_PROSE_KEYS})(?![A-Za-z0-9])"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization header in any rendering: "Authorization: Bearer x", {'Authorization': 'Basic x'}
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic|token)\s+[^\s'\",;}&]+"),
     rf"\1\2 {REDACTED}"),
    # A bare bearer token anywhere ("... sent Bearer abc123 ...")
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {REDACTED}"),
    # Quoted keys in JSON or Python reprs: "password": "x", 'client_secret': 'x'
    (re.compile(rf"(?i)(['\"]{_KEY}['\"]\s*:\s*)(['\"])(?:\\.|(?!\2).)*\2"), rf"\1\2{REDACTED}\2"),
    # Quoted keys with bare values: "expires": 3, "access_token": abc (non-JSON reprs)
    (re.compile(rf"(?i)(['\"]{_KEY}['\"]\s*:\s*)(?!['\"\s])[^\s,}}\]]+"), rf"\1{REDACTED}"),
    # key=value in query strings, form bodies and keyword reprs (password='x' or password=x)
    (re.compile(rf"(?i)({_KEY}=)(['\"])(?:\\.|(?!\2).)*\2"), rf"\1\2{REDACTED}\2"),
    (re.compile(rf"(?i)({_KEY}=)(?![\['\"])[^&\s'\",;)}}\]]+"), rf"\1{REDACTED}"),
    # Plain "password: hunter2" in prose or YAML-ish text: only names that say "credential" on their own.
    # Bare "token", "secret" and "authorization" are ordinary words there ("token: refreshed", "secret:
    # none set"); their values are still caught as token=…, "token": "…" and Authorization headers.
    (re.compile(rf"(?i)({_PROSE_KEY}\s*:\s+)(?!\[REDACTED\])(?!bearer\b|basic\b)[^\s,;'\"}}\]]+"),
     rf"\1{REDACTED}"),
    # XML elements, with or without a namespace prefix: <wsse:Password>x</wsse:Password>
    (re.compile(rf"(?i)(<(?:[\w.-]+:)?{_KEY}(?:\s[^>]*)?>)[^<]*(</)"), rf"\1{REDACTED}\2"),
    # Credentials in a URL: https://user:pass@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), rf"\1:{REDACTED}@"),
]

# "Basic <base64>" outside an Authorization header: redacted only when it decodes to user:password,
# so ordinary prose ("Basic information") stays readable.
_BASIC = re.compile(r"\b(Basic)\s+([A-Za-z0-9+/]{6,}={0,2})")


def _basic_sub(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match.group(2), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return match.group(0)
    return f"{match.group(1)} {REDACTED}" if ":" in decoded else match.group(0)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with credentials replaced by ``[REDACTED]``.

    ``secrets`` are literal values (configured passwords and client secrets) removed wherever they occur.
    """
    if not text:
        return text
    for value in secrets:
        if value and len(value) >= 4 and value in text:
            text = text.replace(value, REDACTED)
    text = _BASIC.sub(_basic_sub, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def configured_secrets() -> tuple[str, ...]:
    """Secret values from settings (PW password, SF client secret, SECRET_KEY), if Django is set up."""
    try:
        from django.conf import settings

        if not settings.configured:
            return ()
        pw = getattr(settings, "PROPERTYWARE", {}) or {}
        sf = getattr(settings, "SERVICEFUSION", {}) or {}
        values = (pw.get("PASSWORD", ""), sf.get("CLIENT_SECRET", ""), getattr(settings, "SECRET_KEY", ""))
    except Exception:  # noqa: BLE001 - logging must never fail because settings are unusable
        return ()
    return tuple(v for v in values if isinstance(v, str) and v)


# Attributes every LogRecord has; anything else on a record came from ``extra=`` or a filter.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class SecretsFilter(logging.Filter):
    """Scrubs the rendered message, the exception text and string extras of every record.

    The message is rendered once here (args merged) so a secret passed as a %-argument is caught too;
    the exception is rendered to scrubbed text and ``exc_info`` dropped, so no later formatter can
    print the raw traceback.
    """

    def __init__(self, name: str = "", secrets: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self._fixed = tuple(secrets) if secrets is not None else None

    def _secrets(self) -> tuple[str, ...]:
        # Read per record: settings may be configured after LOGGING is applied, and tests override them.
        return self._fixed if self._fixed is not None else configured_secrets()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets()
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must still be logged, scrubbed
            message = f"{record.msg!s} {record.args!r}"
        record.msg = scrub(message, secrets)
        record.args = None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(text, secrets)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, secrets)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, name, scrub(value, secrets))
        return True
