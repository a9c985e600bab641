"""Array replies read a slice at a time (sync/clients/propertyware/streaming.py) give exactly what zeep gives
for the whole reply, in both simulator modes (inline bodies, multiRef), and the transport's XML check keeps
its verdicts without building the document's tree."""

from __future__ import annotations

import pytest
from lxml import etree

from sync.clients.propertyware import convert, streaming
from sync.clients.propertyware.transport import _check_xml
from sync.errors import IntegrationError, PermanentError, TransientError
from tests.pw_helpers import TINY, client_for_sim, fast_client, fresh_state, sim_in_both_modes  # noqa: F401

ORG_ID = TINY.organization["ID"]


def whole(client, op: str, **params):
    """The reply as zeep parses it whole (the path every read took before streaming)."""
    return convert.plain(client._attempt(op, None, params))


def array_reads():
    portfolio = TINY.portfolios[0]["ID"]
    building = TINY.buildings[0]["ID"]
    return [
        ("getAllPortfolios", {}),
        ("getPortfolioList", {"orgID": ORG_ID}),
        ("getVendors", {}),
        ("getBuildingsForPortfolio", {"portfolioID": portfolio}),
        ("getUnitsForBuilding", {"orgID": ORG_ID, "buildingID": building}),
        ("getBuildings", {"criteria": {"pageNumber": 1}}),
        ("getUnits", {"criteria": {"pageNumber": 2}}),
        ("getLeases", {"criteria": {"pageNumber": 1}}),
        ("getContacts", {"criteria": {"pageNumber": 1}}),
        ("getWorkOrders", {"criteria": {"pageNumber": 1, "orderByNewestFirst": False}}),
        ("getWorkOrders", {"criteria": {"pageNumber": 10_000, "orderByNewestFirst": False}}),  # empty
    ]


@pytest.mark.parametrize("chunk", [1, 3, streaming.CHUNK])
@pytest.mark.parametrize(("op", "params"), array_reads(), ids=lambda v: v if isinstance(v, str) else "")
def test_streamed_reads_equal_the_whole_reply(client, sim, monkeypatch, op, params, chunk):
    monkeypatch.setattr(streaming, "CHUNK", chunk)
    operation = client._load()._binding._operations[op]
    assert streaming.is_array_reply(operation)
    expected = whole(client, op, **params)
    assert client._read(op, **params) == expected


def test_large_listings_go_to_zeep_in_slices(client, sim, monkeypatch):
    sim.page_size = 10_000
    slices = []
    real = streaming._slice

    def counting(client_, operation, path, items, response):
        slices.append(len(items))
        return real(client_, operation, path, items, response)

    monkeypatch.setattr(streaming, "_slice", counting)
    monkeypatch.setattr(streaming, "CHUNK", 4)
    criteria = {"pageNumber": 1, "orderByNewestFirst": False}
    rows = client._read("getWorkOrders", criteria=criteria)
    assert rows == whole(client, "getWorkOrders", criteria=criteria)
    if sim.multiref:
        assert slices == []  # referenced bodies follow the array: zeep reads such a reply whole
    else:
        assert len(rows) > 8 and max(slices) == 4 and sum(slices) == len(rows)


def test_single_object_reads_are_not_streamed(client):
    operation = client._load()._binding._operations["getWorkOrder"]
    assert not streaming.is_array_reply(operation)


def test_a_fault_is_the_same_error_streamed_or_not(client):
    with pytest.raises(IntegrationError) as streamed:
        client._read("getUnitsForBuilding", orgID=ORG_ID + 1, buildingID=TINY.buildings[0]["ID"])
    with pytest.raises(IntegrationError) as zeep_whole:
        whole(client, "getUnitsForBuilding", orgID=ORG_ID + 1, buildingID=TINY.buildings[0]["ID"])
    assert type(streamed.value) is type(zeep_whole.value)
    assert str(streamed.value) == str(zeep_whole.value)


def test_a_reply_for_another_operation_is_refused(sim):
    client = fast_client(sim)
    client._load()
    binding = client._service._binding

    class Reply:
        status_code = 200
        headers = {"Content-Type": "text/xml"}
        content = (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            b'<ns1:getVendorsResponse xmlns:ns1="http://service.web.propertyware.realpage.com">'
            b"<getVendorsReturn/></ns1:getVendorsResponse></soapenv:Body></soapenv:Envelope>"
        )

    with pytest.raises(TransientError, match="getVendorsResponse"):
        streaming.read_array_reply(client._zeep, binding, binding.get("getAllPortfolios"), Reply())


@pytest.mark.parametrize(
    "header", ["", "<soapenv:Header/>", "<soapenv:Header><x:t xmlns:x='urn:x'>1</x:t></soapenv:Header>"]
)
def test_an_empty_header_is_streamed_and_header_entries_go_to_zeep(sim, monkeypatch, header):
    client = fast_client(sim)
    client._load()
    binding = client._service._binding
    vendors = (
        '<getVendorsReturn xsi:type="soapenc:Array" soapenc:arrayType="xsd:anyType[2]">'
        + "".join(f'<getVendorsReturn xsi:type="ns2:Vendor"><ID xsi:type="xsd:long">{n}</ID>'
                  f'<name xsi:type="xsd:string">V{n}</name></getVendorsReturn>' for n in (1, 2))
        + "</getVendorsReturn>"
    )

    class Reply:
        status_code = 200
        headers = {"Content-Type": "text/xml"}
        content = (
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:ns2="urn:PWServices">'
            f"{header}<soapenv:Body>"
            '<ns1:getVendorsResponse xmlns:ns1="http://service.web.propertyware.realpage.com">'
            f"{vendors}</ns1:getVendorsResponse></soapenv:Body></soapenv:Envelope>"
        ).encode()

    slices = []
    real = streaming._slice
    monkeypatch.setattr(streaming, "_slice", lambda *a: slices.append(1) or real(*a))
    monkeypatch.setattr(streaming, "CHUNK", 1)
    operation = binding.get("getVendors")
    rows = streaming.read_array_reply(client._zeep, binding, operation, Reply())
    assert [(r["ID"], r["name"]) for r in rows] == [(1, "V1"), (2, "V2")]
    assert rows == convert.plain(binding.process_reply(client._zeep, operation, Reply()))
    assert len(slices) == (0 if "x:t" in header else 2)


class _Response:
    status_code = 200

    def __init__(self, content: bytes) -> None:
        self.content = content


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        (b"<a><b>x</b></a>", None),
        (b"<!-- before --><a><b>x</b><b>y</b></a>", None),
        (b"<a><b>x</b>", TransientError),
        (b"<a/><b/>", TransientError),
        (b"<x:a/>", TransientError),  # an undeclared prefix
        (b"<a>&undefined;</a>", TransientError),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;&x;</a>', PermanentError),
        (b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>', PermanentError),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;', TransientError),  # truncated first
    ],
)
def test_the_xml_check_keeps_its_verdicts(content, verdict):
    if verdict is None:
        _check_xml(_Response(content), "op")
    else:
        with pytest.raises(verdict):
            _check_xml(_Response(content), "op")


def test_the_xml_check_agrees_with_a_tree_parse():
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    doc = ("<r>" + "".join(f'<i n="{n}"><v>{n}</v></i>' for n in range(2000)) + "</r>").encode()
    etree.fromstring(doc, parser=parser)
    _check_xml(_Response(doc), "op")
