"""SOAP 1.1 RPC/encoded wire format, as Axis 1 writes and reads it: requests decoded by the contract tables,
responses encoded with ``xsi:type`` everywhere (and optionally Axis's ``multiRef``/``href`` layout).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - only the type; parsing goes through defusedxml

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException
from lxml import etree

from . import dtos
from . import schema as s
from .faults import SoapFault, client_fault

_XSI_TYPE = f"{{{s.XSI}}}type"
_XSI_NIL = f"{{{s.XSI}}}nil"
_ENC_ARRAY_TYPE = f"{{{s.SOAP_ENC}}}arrayType"
_ENV_BODY = f"{{{s.SOAP_ENV}}}Body"
_ENV = f"{{{s.SOAP_ENV}}}Envelope"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")
NSMAP = {"soapenv": s.SOAP_ENV, "xsd": s.XSD, "xsi": s.XSI, "soapenc": s.SOAP_ENC, "ns2": s.TYPES_NS}


# --- requests ---------------------------------------------------------------------------------------------


# Gives ``(operation, args)``: only the fields present in the XML appear in the decoded dicts, nil ones as
# None; DTDs and entities are refused before anything is expanded.
def decode_request(
    body: bytes, charset: str | None, *, lenient_namespace: bool = False, tz: tzinfo = UTC
) -> tuple[s.Operation, dict[str, Any]]:
    """Parse a SOAP request. Every problem becomes a SoapFault; nothing here may crash the server."""
    try:
        text = body.decode(charset or "latin-1")  # no charset: read as Latin-1, as the real service does
    except (LookupError, UnicodeDecodeError) as exc:
        raise client_fault(f"Invalid byte sequence for charset {charset}: {exc}") from exc
    try:
        root = safe_et.fromstring(
            _strip_declaration(text), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise client_fault(
            "Document Type Declaration (DTD) and entities are not allowed in SOAP messages"
            f" ({type(exc).__name__})"
        ) from exc
    except safe_et.ParseError as exc:
        raise client_fault(f"org.xml.sax.SAXParseException: {exc}") from exc
    if root.tag != _ENV:
        raise client_fault(f"Root element is {root.tag!r}, not a SOAP 1.1 Envelope")
    body_el = root.find(_ENV_BODY)
    if body_el is None or len(body_el) == 0:
        raise client_fault("SOAP Body is missing or empty")
    call = body_el[0]
    ns, _, name = call.tag[1:].partition("}") if call.tag.startswith("{") else ("", "", call.tag)
    if ns != s.SERVICE_NS and not (lenient_namespace and ns == s.LENIENT_SERVICE_NS):
        raise client_fault(f"No such operation '{name}' in namespace '{ns}'")
    op = s.OPERATIONS.get(name)
    if op is None:
        raise client_fault(f"No such operation '{name}'")
    refs = {el.attrib["id"]: el for el in body_el[1:] if el.get("id")}
    ctx = _Decoder(refs, tz)
    children = {_local(c.tag): c for c in call}
    args: dict[str, Any] = {}
    for param in op.params:
        el = children.get(param.name)
        if el is not None:
            args[param.name] = ctx.decode(el, param.type, f"{name}.{param.name}")
    return op, args


def _strip_declaration(text: str) -> str:
    # the HTTP charset has already decoded the text; a stale encoding="…" must not be applied twice
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Decoder:
    def __init__(self, refs: dict[str, Element], tz: tzinfo) -> None:
        self.refs = refs
        self.tz = tz
        self.depth = 0

    def decode(self, el: Element, type_ref: str, path: str) -> Any:
        href = el.get("href")
        if href:
            target = self.refs.get(href.lstrip("#"))
            if target is None:
                raise client_fault(f"Unresolved href {href!r} at {path}")
            el = target
        if el.get(_XSI_NIL) in ("true", "1"):
            return None
        self.depth += 1
        try:
            if self.depth > 32:
                raise client_fault(f"Nesting too deep at {path}")
            xsi_type = el.get(_XSI_TYPE, "")
            actual = _local_type(xsi_type)
            if s.is_array(type_ref) or actual == "Array":
                item = dtos.array_item(type_ref) if s.is_array(type_ref) else s.ANY
                return [self.decode(child, item, f"{path}[{i}]") for i, child in enumerate(el)]
            if type_ref == s.ANY:
                if actual in dtos.TYPES:
                    return self.decode_complex(el, actual, path)
                if xsi_type and f"xsd:{actual}" in s.SIMPLE_TYPES:
                    return decode_simple(el.text or "", f"xsd:{actual}", path, self.tz)
                return el.text or ""
            if s.is_complex(type_ref):
                declared = s.local(type_ref)
                name = actual if actual in dtos.subtypes(declared) else declared
                return self.decode_complex(el, name, path)
            return decode_simple(el.text or "", type_ref, path, self.tz)
        finally:
            self.depth -= 1

    def decode_complex(self, el: Element, type_name: str, path: str) -> dict:
        fields = dtos.field_map(type_name)
        out: dict[str, Any] = {}
        for child in el:
            name = _local(child.tag)
            f = fields.get(name)
            if f is None:
                raise SoapFault(f"org.xml.sax.SAXException: Invalid element in tns1:{type_name} - {name}")
            out[name] = self.decode(child, f.type, f"{path}.{name}")
        return out


def _local_type(xsi_type: str) -> str:
    return xsi_type.rsplit(":", 1)[-1] if xsi_type else ""


def decode_simple(text: str, type_ref: str, path: str, tz: tzinfo = UTC) -> Any:
    kind = type_ref.split(":", 1)[1]
    text = text.strip() if kind != "string" else text
    try:
        if kind in ("long", "int"):
            return int(text)
        if kind == "double":
            return float(text)
        if kind == "boolean":
            if text not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text in ("true", "1")
        if kind == "dateTime":
            return parse_datetime(text, tz)
        if kind == "base64Binary":
            return base64.b64encode(base64.b64decode(text, validate=True)).decode()
    except ValueError as exc:
        raise client_fault(f"Invalid value {text!r} for {type_ref} at {path}") from exc
    return text


def parse_datetime(text: str, tz: tzinfo = UTC) -> datetime | date:
    """An xsd:dateTime as an aware datetime; a bare date (which Axis accepts) stays a ``date``."""
    text = text.strip()
    if _DATE_ONLY.match(text):
        return date.fromisoformat(text[:10])
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=tz)


# --- responses --------------------------------------------------------------------------------------------


def format_datetime(value: str | datetime) -> str:
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _format_simple(value: Any, type_ref: str) -> str:
    kind = type_ref.split(":", 1)[1]
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "dateTime":
        return format_datetime(value)
    if kind == "double":
        return repr(float(value))
    if kind in ("long", "int"):
        return str(int(value))
    return str(value)


def _qtype(type_ref: str) -> str:
    prefix, name = type_ref.split(":", 1)
    return f"{'ns2' if prefix == 'tns1' else prefix}:{name}"


class _Encoder:
    def __init__(self, body: etree._Element, multiref: bool, nulls: bool) -> None:
        self.body = body
        self.multiref = multiref
        self.nulls = nulls
        self.refs: list[tuple[etree._Element, dict, str]] = []

    def add(self, parent: etree._Element, name: str, value: Any, type_ref: str) -> None:
        if value is None:
            if self.nulls or parent.tag == name:
                el = etree.SubElement(parent, name)
                el.set(_XSI_NIL, "true")
            return
        el = etree.SubElement(parent, name)
        if s.is_array(type_ref):
            item = dtos.array_item(type_ref)
            item_ref = _qtype(item) if item != s.ANY else "xsd:anyType"
            el.set(_XSI_TYPE, "soapenc:Array")
            el.set(_ENC_ARRAY_TYPE, f"{item_ref}[{len(value)}]")
            for v in value:
                actual = item
                if item == s.ANY and isinstance(v, tuple):
                    actual, v = v
                self.add(el, name, v, actual)
            return
        if s.is_complex(type_ref):
            if isinstance(value, tuple):  # (subtype, record) for polymorphic fields
                type_ref, value = value
            if self.multiref:
                ref_id = f"id{len(self.refs)}"
                el.set("href", f"#{ref_id}")
                target = etree.Element("multiRef", id=ref_id)
                target.set(f"{{{s.SOAP_ENC}}}root", "0")
                target.set(f"{{{s.SOAP_ENV}}}encodingStyle", s.SOAP_ENC)
                self.refs.append((target, value, type_ref))
                return
            self.fill(el, value, type_ref)
            return
        el.set(_XSI_TYPE, _qtype(type_ref))
        el.text = _format_simple(value, type_ref)

    def fill(self, el: etree._Element, record: dict, type_ref: str) -> None:
        el.set(_XSI_TYPE, _qtype(type_ref))
        for f in dtos.all_fields(s.local(type_ref)):
            value = record.get(f.name)
            if value is None and f.type in s.PRIMITIVES:
                value = _PRIMITIVE_DEFAULTS[f.type]  # Java primitives are always serialised
            self.add(el, f.name, value, f.type)

    def flush(self) -> None:
        # multiRefs may reference further multiRefs; emit them breadth-first in creation order
        i = 0
        while i < len(self.refs):
            target, record, type_ref = self.refs[i]
            self.fill(target, record, type_ref)
            self.body.append(target)
            i += 1


_PRIMITIVE_DEFAULTS = {"xsd:boolean": False, "xsd:int": 0, "xsd:long": 0, "xsd:double": 0.0}


# Writes ``<opResponse><opReturn>`` with ``xsi:type`` everywhere, ``soapenc:Array`` arrays, and optionally
# Axis's ``multiRef``/``href`` layout.
def encode_response(op: s.Operation, value: Any, *, multiref: bool = False, nulls: bool = True) -> bytes:
    """The response envelope. For anyType arrays, items are ``(type_ref, record)`` pairs or records of
    ``op.item_type``."""
    root = etree.Element(f"{{{s.SOAP_ENV}}}Envelope", nsmap=NSMAP)
    body = etree.SubElement(root, _ENV_BODY)
    resp = etree.SubElement(body, f"{{{s.SERVICE_NS}}}{op.name}Response", nsmap={"ns1": s.SERVICE_NS})
    resp.set(f"{{{s.SOAP_ENV}}}encodingStyle", s.SOAP_ENC)
    enc = _Encoder(body, multiref, nulls)
    if op.returns:
        if op.item_type and s.is_array(op.returns) and value is not None:
            value = [v if isinstance(v, tuple) else (op.item_type, v) for v in value]
        ret_name = f"{op.name}Return"
        if value is None:
            el = etree.SubElement(resp, ret_name)
            el.set(_XSI_NIL, "true")
        else:
            enc.add(resp, ret_name, value, op.returns)
    enc.flush()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def encode_fault(fault: SoapFault, hostname: str) -> bytes:
    root = etree.Element(f"{{{s.SOAP_ENV}}}Envelope", nsmap=NSMAP)
    body = etree.SubElement(root, _ENV_BODY)
    f = etree.SubElement(body, f"{{{s.SOAP_ENV}}}Fault")
    etree.SubElement(f, "faultcode").text = fault.faultcode
    etree.SubElement(f, "faultstring").text = fault.faultstring
    detail = etree.SubElement(f, "detail")
    etree.SubElement(detail, f"{{{s.AXIS}}}hostname", nsmap={"ns1": s.AXIS}).text = hostname
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
