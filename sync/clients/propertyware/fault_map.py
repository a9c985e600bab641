"""Maps what zeep raises onto the sync.errors family, keeping PropertyWare's fault text."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from zeep import exceptions as zx

from sync.errors import (
    AlreadyClosed,
    DuplicateRecord,
    IntegrationError,
    NotFound,
    PermanentError,
    RemoteValidationError,
    TransientError,
)

# Axis faults are PermanentError unless the text says more: "already closed" → AlreadyClosed, "already
# exists" or "duplicate" → DuplicateRecord, validation messages → RemoteValidationError with the field
# named, "not found" → NotFound.
SYSTEM = "propertyware"

#: fault text of a create refused because the record exists ("A portfolio with abbreviation 'X' already
#: exists"), and the "duplicate" of R34
DUPLICATE_WORDING = ("already exists", "duplicate")

#: fault text fragments that name a rejected field (matched case-insensitively)
VALIDATION_FIELDS = {
    "location is invalid": "location",
    "approved date is required": "approvedDate",
    "invalid vendor": "vendorIDs",
    "custom field": "customFields",
    "invalid element": "request",
    "invalid value": "request",
    "is required": "request",
}


def _detail_text(detail: etree._Element | None) -> str:
    if detail is None:
        return ""
    parts = [
        f"{etree.QName(el).localname}={(el.text or '').strip()}"
        for el in detail.iter()
        if el is not detail and (el.text or "").strip()
    ]
    return "; ".join(parts)


def _named_field(message: str) -> str:
    """The field a duplicate fault names ("… with abbreviation 'X' already exists"), else "request"."""
    found = re.search(r"\bwith (\w+) '", message)
    return found.group(1) if found else "request"


def from_fault(fault: zx.Fault, operation: str) -> IntegrationError:
    message = (fault.message or "").strip() or "unknown fault"
    detail = "; ".join(
        p for p in (f"faultcode={fault.code}" if fault.code else "", _detail_text(fault.detail)) if p
    )
    kw: dict[str, Any] = {"system": SYSTEM, "operation": operation, "status": 500, "detail": detail}
    lowered = message.lower()
    if "already closed" in lowered:
        err: IntegrationError = AlreadyClosed(message, **kw)
    elif any(words in lowered for words in DUPLICATE_WORDING):
        err = DuplicateRecord(message, fields=[{"field": _named_field(message), "message": message}], **kw)
    elif "not found" in lowered:
        err = NotFound(message, **kw)
    else:
        field = next((f for frag, f in VALIDATION_FIELDS.items() if frag in lowered), None)
        if field:
            err = RemoteValidationError(message, fields=[{"field": field, "message": message}], **kw)
        else:
            err = PermanentError(message, **kw)
    err.faultcode = fault.code or ""
    err.faultstring = message
    return err


def from_zeep(exc: Exception, operation: str) -> IntegrationError:
    """Anything else zeep raised while sending or reading."""
    if isinstance(exc, zx.Fault):
        return from_fault(exc, operation)
    if isinstance(exc, zx.DTDForbidden | zx.EntitiesForbidden):
        return PermanentError(f"response refused: {exc}", system=SYSTEM, operation=operation)
    if isinstance(exc, zx.TransportError):
        status = getattr(exc, "status_code", None)
        cls = TransientError if status is None or status >= 500 else PermanentError
        return cls(f"transport error: {exc}", system=SYSTEM, operation=operation, status=status)
    if isinstance(exc, zx.ValidationError):
        return PermanentError(f"request does not fit the WSDL: {exc}", system=SYSTEM, operation=operation)
    if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError | etree.XMLSyntaxError):
        return TransientError(f"unreadable response: {exc}", system=SYSTEM, operation=operation)
    return PermanentError(f"{type(exc).__name__}: {exc}", system=SYSTEM, operation=operation)
