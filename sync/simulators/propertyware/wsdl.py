"""The Axis 1-style RPC/encoded WSDL the simulator serves, generated from ``schema.py``.
The client bundles a copy, which a test keeps identical.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from . import dtos
from . import schema as s

#: where the bundled copy points; the client always takes the address from its settings anyway
PLACEHOLDER_ADDRESS = "https://app.propertyware.com/pw/services/PWServices"
ENCODING_XSD_NAME = "soap-enc.xsd"
ENCODING_XSD = Path(__file__).with_name(ENCODING_XSD_NAME)


def encoding_schema() -> bytes:
    return ENCODING_XSD.read_bytes()


def _xsd(tag: str) -> str:
    return f"{{{s.XSD}}}{tag}"


def _wsdl(tag: str) -> str:
    return f"{{{s.WSDL}}}{tag}"


def _soap(tag: str) -> str:
    return f"{{{s.WSDL_SOAP}}}{tag}"


def _add_imports(schema_el: etree._Element, other_ns: str) -> None:
    etree.SubElement(schema_el, _xsd("import"), namespace=other_ns)
    etree.SubElement(schema_el, _xsd("import"), namespace=s.SOAP_ENC, schemaLocation=ENCODING_XSD_NAME)


def _complex_type(parent: etree._Element, t: s.ComplexType) -> None:
    ct = etree.SubElement(parent, _xsd("complexType"), name=t.name)
    if t.abstract:
        ct.set("abstract", "true")
    if t.base:
        ext = etree.SubElement(
            etree.SubElement(ct, _xsd("complexContent")), _xsd("extension"), base=f"tns1:{t.base}"
        )
        seq = etree.SubElement(ext, _xsd("sequence"))
    else:
        seq = etree.SubElement(ct, _xsd("sequence"))
    for f in t.own_fields:
        el = etree.SubElement(seq, _xsd("element"), name=f.name, type=f.type)
        if f.nillable:
            el.set("nillable", "true")


def _array_type(parent: etree._Element, name: str, item: str) -> None:
    ct = etree.SubElement(parent, _xsd("complexType"), name=name)
    restriction = etree.SubElement(
        etree.SubElement(ct, _xsd("complexContent")), _xsd("restriction"), base="soapenc:Array"
    )
    etree.SubElement(
        restriction, _xsd("attribute"), {"ref": "soapenc:arrayType", f"{{{s.WSDL}}}arrayType": f"{item}[]"}
    )


# Refresh the client's bundled copy with
#     python -m sync.simulators.propertyware > sync/clients/propertyware/wsdl/PWServices.wsdl
def build_wsdl(address: str = PLACEHOLDER_ADDRESS, impl_namespace: str = s.DEFAULT_IMPL_NS) -> bytes:
    """The WSDL document; ``address`` is the soap:address, ``impl_namespace`` Axis's deployment namespace."""
    nsmap = {
        "wsdl": s.WSDL,
        "wsdlsoap": s.WSDL_SOAP,
        "xsd": s.XSD,
        "soapenc": s.SOAP_ENC,
        "apachesoap": "http://xml.apache.org/xml-soap",
        "impl": impl_namespace,
        "intf": impl_namespace,
        "tns1": s.TYPES_NS,
    }
    root = etree.Element(_wsdl("definitions"), nsmap=nsmap, targetNamespace=impl_namespace)
    types = etree.SubElement(root, _wsdl("types"))

    dto_schema = etree.SubElement(types, _xsd("schema"), nsmap={None: s.XSD}, targetNamespace=s.TYPES_NS)
    _add_imports(dto_schema, impl_namespace)
    for t in dtos.TYPES.values():
        _complex_type(dto_schema, t)

    impl_schema = etree.SubElement(types, _xsd("schema"), nsmap={None: s.XSD}, targetNamespace=impl_namespace)
    _add_imports(impl_schema, s.TYPES_NS)
    for name, item in dtos.ARRAYS.items():
        _array_type(impl_schema, name, item)

    for op in s.OPERATIONS.values():
        req = etree.SubElement(root, _wsdl("message"), name=f"{op.name}Request")
        for p in op.params:
            etree.SubElement(req, _wsdl("part"), name=p.name, type=p.type)
        resp = etree.SubElement(root, _wsdl("message"), name=f"{op.name}Response")
        if op.returns:
            etree.SubElement(resp, _wsdl("part"), name=f"{op.name}Return", type=op.returns)

    port_type = etree.SubElement(root, _wsdl("portType"), name="PWServices")
    for op in s.OPERATIONS.values():
        o = etree.SubElement(port_type, _wsdl("operation"), name=op.name)
        if len(op.params) > 1:
            o.set("parameterOrder", " ".join(p.name for p in op.params))
        etree.SubElement(o, _wsdl("input"), message=f"impl:{op.name}Request", name=f"{op.name}Request")
        etree.SubElement(o, _wsdl("output"), message=f"impl:{op.name}Response", name=f"{op.name}Response")

    binding = etree.SubElement(root, _wsdl("binding"), name="PWServicesSoapBinding", type="impl:PWServices")
    etree.SubElement(binding, _soap("binding"), style="rpc", transport=s.SOAP_HTTP)
    for op in s.OPERATIONS.values():
        o = etree.SubElement(binding, _wsdl("operation"), name=op.name)
        etree.SubElement(o, _soap("operation"), soapAction="")
        for direction in ("input", "output"):
            d = etree.SubElement(
                o, _wsdl(direction), name=f"{op.name}{'Request' if direction == 'input' else 'Response'}"
            )
            etree.SubElement(
                d, _soap("body"), encodingStyle=s.SOAP_ENC, namespace=s.SERVICE_NS, use="encoded"
            )

    service = etree.SubElement(root, _wsdl("service"), name="PWServicesService")
    port = etree.SubElement(service, _wsdl("port"), binding="impl:PWServicesSoapBinding", name="PWServices")
    etree.SubElement(port, _soap("address"), location=address)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
