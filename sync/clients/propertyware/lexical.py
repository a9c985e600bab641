"""``LexicalCheckPlugin``: a reply's simple values whose text is not of their ``xsi:type`` are retyped as
strings before zeep reads them, so the record parser sees ``"abc"`` for a long and refuses it."""

from __future__ import annotations

import re
from collections.abc import Callable

from zeep import Plugin
from zeep.xsd.types.builtins import Date, DateTime

XSD = "http://www.w3.org/2001/XMLSchema"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# zeep turns a value it cannot read into None (logging the error) and reads any boolean text but "true"
# and "1" as False, so a bad ID would arrive missing and "maybe" as false. Checking the lexical space here
# keeps the original text for the strict parse (sync/clients/strict.py) to refuse with the record's excerpt.
_INTEGER = re.compile(r"[+-]?\d+").fullmatch
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN").fullmatch


def _parses(reader: Callable[[str], object]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            reader(text)
        except (TypeError, ValueError, ArithmeticError):
            return False
        return True

    return check


_CHECKS: dict[str, Callable[[str], object]] = {
    "boolean": {"true", "false", "1", "0"}.__contains__,
    **dict.fromkeys(("long", "int", "short", "byte", "integer"), _INTEGER),
    **dict.fromkeys(("double", "float", "decimal"), _FLOAT),
    "dateTime": _parses(DateTime().pythonvalue),
    "date": _parses(Date().pythonvalue),
}


class LexicalCheckPlugin(Plugin):
    def ingress(self, envelope, http_headers, operation):
        for el in envelope.iter():
            declared = el.get(_XSI_TYPE)
            if declared is None or el.text is None:
                continue
            prefix, _, local = declared.rpartition(":")
            check = _CHECKS.get(local)
            if check is None or check(el.text.strip()) or el.nsmap.get(prefix or None) != XSD:
                continue
            el.set(_XSI_TYPE, f"{prefix}:string" if prefix else "string")
        return envelope, http_headers
