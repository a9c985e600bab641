"""zeep plugins that make requests look like Axis 1 expects and check that responses answer the call."""

from __future__ import annotations

from lxml import etree
from zeep import Plugin
from zeep.xsd import ComplexType

from .transport import TransportFailure

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TYPES_NS = "urn:PWServices"
_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
_PREFIXES = {XSD: "xsd", SOAP_ENC: "soapenc", TYPES_NS: "tns1"}


def _prefixed(qname: etree.QName | None, nsmap: dict[str, str]) -> str | None:
    if qname is None or qname.namespace is None:
        return None
    prefix = _PREFIXES.get(qname.namespace) or nsmap.get(qname.namespace)
    return f"{prefix}:{qname.localname}" if prefix else None


def _array_item_type(xsd_type):
    array_attr = getattr(xsd_type, "_array_type", None)
    return getattr(array_attr, "array_type", None) if array_attr is not None else None


class AxisEncodingPlugin(Plugin):
    """zeep sends RPC/encoded messages without ``encodingStyle``, ``xsi:type`` or ``soapenc:arrayType``;
    Axis needs them to pick deserialisers, so they are added from the WSDL's own types."""

    def egress(self, envelope, http_headers, operation, binding_options):
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if body is None or len(body) == 0:
            return envelope, http_headers
        # namespaces of types outside the well-known ones (e.g. Axis's impl namespace)
        extra: dict[str, str] = {}
        wrapper = body[0]
        wrapper.set(f"{{{SOAP_ENV}}}encodingStyle", SOAP_ENC)
        parts = dict(operation.input.body.type.elements) if operation.input.body is not None else {}
        for child in wrapper:
            element = parts.get(etree.QName(child).localname)
            if element is not None:
                self._annotate(child, element.type, extra)
        return _with_namespaces(envelope, extra), http_headers

    def _annotate(self, el: etree._Element, xsd_type, extra: dict[str, str]) -> None:
        if el.get(_XSI_NIL) == "true":
            return
        item_type = _array_item_type(xsd_type)
        if item_type is not None:
            item = _prefixed(getattr(item_type, "qname", None), extra) or "xsd:anyType"
            el.set(_XSI_TYPE, "soapenc:Array")
            el.set(f"{{{SOAP_ENC}}}arrayType", f"{item}[{len(el)}]")
            for child in el:
                if isinstance(item_type, ComplexType):
                    self._annotate(child, item_type, extra)
            return
        if isinstance(xsd_type, ComplexType):
            if el.get(_XSI_TYPE) is None:
                el.set(_XSI_TYPE, self._name(xsd_type.qname, extra))
            fields = dict(xsd_type.elements)
            for child in el:
                element = fields.get(etree.QName(child).localname)
                if element is not None:
                    self._annotate(child, element.type, extra)
            return
        qname = getattr(xsd_type, "qname", None)
        if qname is not None and el.get(_XSI_TYPE) is None:
            el.set(_XSI_TYPE, self._name(qname, extra))

    @staticmethod
    def _name(qname: etree.QName, extra: dict[str, str]) -> str:
        named = _prefixed(qname, extra)
        if named:
            return named
        if qname.namespace is None:  # lxml cannot declare a prefix for no namespace
            raise ValueError(f"type {qname.localname!r} has no namespace to prefix")
        extra[qname.namespace] = f"ns{len(extra) + 10}"
        return f"{extra[qname.namespace]}:{qname.localname}"


def _with_namespaces(envelope: etree._Element, extra: dict[str, str]) -> etree._Element:
    """A copy of ``envelope`` declaring the prefixes xsi:type values use (lxml can't add them in place)."""
    nsmap = dict(envelope.nsmap)
    nsmap.update({"xsd": XSD, "xsi": XSI, "soapenc": SOAP_ENC, "tns1": TYPES_NS})
    nsmap.update({prefix: ns for ns, prefix in extra.items()})
    root = etree.Element(envelope.tag, nsmap=nsmap)
    for k, v in envelope.attrib.items():
        root.set(k, v)
    root.extend(list(envelope))
    return root


class ResponseCheckPlugin(Plugin):
    """Refuses an envelope whose body is neither the ``<opResponse>`` nor a Fault (zeep itself would read
    whatever element comes first), and drops ``xsi:nil`` elements: zeep turns a nil complex element into an
    object full of None, which could not even be sent back."""

    def ingress(self, envelope, http_headers, operation):
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        first = body[0] if body is not None and len(body) else None
        if first is not None and first.tag == f"{{{SOAP_ENV}}}Fault":
            return envelope, http_headers
        expected = f"{operation.name}Response"
        if first is None or etree.QName(first).localname != expected:
            found = etree.QName(first).localname if first is not None else "nothing"
            raise TransportFailure(
                f"the response body holds {found}, not <{expected}>",
                operation=operation.name,
                maybe_committed=True,
            )
        for nil in [el for el in body.iter() if el.get(_XSI_NIL) in ("true", "1")]:
            nil.getparent().remove(nil)
        return envelope, http_headers
