"""The PropertyWare simulator over raw HTTP: auth, wire format, charsets, paging, filters, faults.

These requests are hand-built (no zeep), so they check the simulator itself; the client tests drive it
with the real client.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from lxml import etree

from sync.simulators.propertyware import PropertyWareSimulator
from tests import pw_helpers
from tests.pw_helpers import (
    SOAP_ENC,
    SOAP_ENV,
    TINY,
    XSI,
    echo,
    envelope,
    fault_of,
    ids_in,
    parse,
    post,
    returned,
    work_orders_call,
)

# a module-scoped inline simulator, reset before each test
sim, fresh = pw_helpers.inline_sim, pw_helpers.fresh_inline_state


# --- authentication ---------------------------------------------------------------------------------------


def test_wsdl_and_calls_need_http_basic_and_refusals_are_html_401(sim):
    ok = requests.get(sim.wsdl_url, auth=(sim.username, sim.password), timeout=5)
    assert ok.status_code == 200 and b"wsdl:definitions" in ok.content
    for response in (
        requests.get(sim.wsdl_url, timeout=5),
        requests.get(sim.wsdl_url, auth=(sim.username, "wrong"), timeout=5),
        post(sim, echo("hi"), auth=("someone@else.example", sim.password)),
    ):
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert b"Fault" not in response.content
    assert sim.request_counts()["unauthorized"] == 3


def test_the_encoding_schema_is_served_next_to_the_wsdl(sim):
    xsd = requests.get(
        sim.base_url + "/pw/services/soap-enc.xsd", auth=(sim.username, sim.password), timeout=5
    )
    assert xsd.status_code == 200
    assert etree.fromstring(xsd.content).get("targetNamespace") == SOAP_ENC


# --- wire format and charsets -----------------------------------------------------------------------------


def test_echo_answers_in_an_axis_rpc_encoded_envelope(sim):
    response = post(sim, echo("héllo 暖气"))
    assert response.headers["Content-Type"].startswith("text/xml")
    ret = returned(response, "echoString")
    assert ret.text == "héllo 暖气"
    assert ret.get(f"{{{XSI}}}type") == "xsd:string"
    wrapper = ret.getparent()
    assert wrapper.get(f"{{{SOAP_ENV}}}encodingStyle") == SOAP_ENC


def test_without_a_charset_the_body_is_read_as_latin1(sim):
    text = "Zoë Peña"
    as_latin1 = post(sim, echo(text).encode("latin-1"), content_type="text/xml")
    assert returned(as_latin1, "echoString").text == text
    # UTF-8 bytes sent without saying so come out garbled, as from the real service
    as_utf8 = post(sim, echo(text).encode("utf-8"), content_type="text/xml")
    assert returned(as_utf8, "echoString").text == text.encode("utf-8").decode("latin-1")


def test_a_declared_charset_is_honoured(sim):
    body = echo("Zoë").replace('encoding="utf-8"', 'encoding="iso-8859-1"').encode("iso-8859-1")
    assert returned(post(sim, body, content_type="text/xml; charset=ISO-8859-1"), "echoString").text == "Zoë"


def test_arrays_are_soapenc_arrays_with_typed_items(sim):
    ret = returned(post(sim, work_orders_call("<pageNumber>1</pageNumber>")), "getWorkOrders")
    assert ret.get(f"{{{XSI}}}type") == "soapenc:Array"
    assert ret.get(f"{{{SOAP_ENC}}}arrayType") == "ns2:WorkOrder[10]"
    first = ret[0]
    assert first.tag == "getWorkOrdersReturn" and first.get(f"{{{XSI}}}type") == "ns2:WorkOrder"
    assert first.find("unitIDs").get(f"{{{SOAP_ENC}}}arrayType").startswith("xsd:long[")
    assert first.find("ID").get(f"{{{XSI}}}type") == "xsd:long"
    # hidden state is never served
    assert b"lastModified" not in etree.tostring(ret) and b"_created" not in etree.tostring(ret)


def test_multiref_mode_moves_objects_into_hrefs(sim):
    sim.multiref = True
    response = post(sim, work_orders_call("<pageNumber>1</pageNumber>"))
    ret = returned(response, "getWorkOrders")
    assert all(item.get("href", "").startswith("#id") for item in ret)
    body = parse(response).find(f"{{{SOAP_ENV}}}Body")
    refs = body.findall("multiRef")
    assert len(refs) > 10  # work orders plus the objects nested in them
    assert {r.get("id") for r in refs} >= {item.get("href")[1:] for item in ret}
    assert all(r.get(f"{{{SOAP_ENC}}}root") == "0" for r in refs)


# --- paging and filters -----------------------------------------------------------------------------------


def test_paging_is_one_based_with_a_fixed_page_size_and_empty_past_the_end(sim):
    total = len(TINY.work_orders)
    seen = []
    for page in range(1, 6):
        ret = returned(post(sim, work_orders_call(f"<pageNumber>{page}</pageNumber>")), "getWorkOrders")
        seen += ids_in(ret)
        expected = max(0, min(10, total - 10 * (page - 1)))
        assert len(ret) == expected
        assert ret.get(f"{{{SOAP_ENC}}}arrayType") == f"ns2:WorkOrder[{expected}]"
    assert seen == sorted(w["ID"] for w in TINY.work_orders)
    sim.page_size = 7
    assert len(returned(post(sim, work_orders_call("<pageNumber>1</pageNumber>")), "getWorkOrders")) == 7


@pytest.mark.parametrize("criteria", ["", "<pageNumber>0</pageNumber>", '<pageNumber xsi:nil="true"/>'])
def test_page_number_is_required(sim, criteria):
    code, text, _ = fault_of(post(sim, work_orders_call(criteria)))
    assert "pageNumber" in text


def test_vendors_are_never_paged(sim):
    ret = returned(post(sim, envelope("<ser:getVendors/>")), "getVendors")
    assert len(ret) == len(TINY.vendors) > sim.page_size
    assert ret.get(f"{{{SOAP_ENC}}}arrayType") == f"xsd:anyType[{len(TINY.vendors)}]"
    assert all(item.get(f"{{{XSI}}}type") == "ns2:Vendor" for item in ret)


def test_an_unpaged_listing_reply_is_reused_only_while_its_records_are_unchanged(sim):
    call = envelope("<ser:getAllPortfolios/>")
    first, again = post(sim, call).content, post(sim, call).content
    assert first == again
    with sim.store.lock:  # changed behind the simulator's back, with no lastModified stamp
        portfolio = next(iter(sim.store.table("portfolios").values()))
        portfolio["name"] = "Renamed Holdings"
    changed = post(sim, call).content
    assert b"Renamed Holdings" in changed and b"Renamed Holdings" not in first
    sim.multiref = True  # another encoding of the same records is another reply
    assert b"multiRef" in post(sim, call).content


def _stamp(sim, wo_id):
    return datetime.fromisoformat(sim.store.get_work_order(wo_id)["_lastModified"])


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def test_the_ten_date_comparators_on_hidden_timestamps(sim):
    wos = sim.store.work_orders()
    a, b, c = wos[3]["ID"], wos[5]["ID"], wos[8]["ID"]
    for wo_id in (a, b, c):
        sim.store.edit_work_order(wo_id, description="touched")
    ta, tb, tc = _stamp(sim, a), _stamp(sim, b), _stamp(sim, c)

    def query(field: str, value: datetime) -> set[int]:
        ret = returned(
            post(sim, work_orders_call(f"<pageNumber>1</pageNumber><{field}>{_iso(value)}</{field}>")),
            "getWorkOrders",
        )
        return set(ids_in(ret))

    assert query("lastModifiedOnOrAfter", ta) == {a, b, c}
    assert query("lastModifiedAfter", ta) == {b, c}
    assert query("lastModifiedOnOrAfter", tb) == {b, c}
    assert query("lastModifiedAfter", tc) == set()
    assert {a, b} <= query("lastModifiedBefore", tc) and c not in query("lastModifiedBefore", tc)
    assert c in query("lastModifiedOnOrBefore", tc)
    assert query("lastModifiedOn", tb) >= {a, b, c}
    # created* on a handful of records (ids keeps every answer within one page)
    sample = sorted(wos, key=lambda w: w["_created"])[::6]
    created = {w["ID"]: datetime.fromisoformat(w["_created"]) for w in sample}
    ids = "<ids>" + "".join(f"<ids>{i}</ids>" for i in created) + "</ids>"

    def query_sample(field: str, value: datetime) -> set[int]:
        call = work_orders_call(f"{ids}<pageNumber>1</pageNumber><{field}>{_iso(value)}</{field}>")
        return set(ids_in(returned(post(sim, call), "getWorkOrders")))

    ordered = sorted(created, key=created.get)
    middle = created[ordered[2]]
    assert query_sample("createdOnOrAfter", middle) == set(ordered[2:])
    assert query_sample("createdAfter", middle) == set(ordered[3:])
    assert query_sample("createdBefore", middle) == set(ordered[:2])
    assert query_sample("createdOnOrBefore", middle) == set(ordered[:3])
    assert query_sample("createdOn", middle) == {i for i, t in created.items() if t.date() == middle.date()}


def test_a_date_without_zone_is_read_in_the_filter_time_zone(sim):
    wo = sim.store.work_orders()[0]["ID"]
    sim.store.edit_work_order(wo, description="touched")
    naive = _stamp(sim, wo).replace(tzinfo=None) - timedelta(seconds=1)
    ret = returned(
        post(
            sim,
            work_orders_call(
                f"<pageNumber>1</pageNumber><lastModifiedAfter>{naive.isoformat()}</lastModifiedAfter>"
            ),
        ),
        "getWorkOrders",
    )
    assert ids_in(ret) == [wo]


def test_ids_per_entity_filters_and_newest_first(sim):
    wos = TINY.work_orders
    some = [wos[1]["ID"], wos[4]["ID"]]
    ids = "".join(f"<ids>{i}</ids>" for i in some)
    ret = returned(
        post(sim, work_orders_call(f"<ids>{ids}</ids><pageNumber>1</pageNumber>")), "getWorkOrders"
    )
    assert sorted(ids_in(ret)) == sorted(some)
    building = wos[0]["building"]["ID"]
    ret = returned(
        post(sim, work_orders_call(f"<pageNumber>1</pageNumber><buildingId>{building}</buildingId>")),
        "getWorkOrders",
    )
    assert set(ids_in(ret)) == {w["ID"] for w in wos if w["building"]["ID"] == building}
    ret = returned(
        post(
            sim, work_orders_call("<pageNumber>1</pageNumber><orderByNewestFirst>true</orderByNewestFirst>")
        ),
        "getWorkOrders",
    )
    newest = sorted(wos, key=lambda w: (w["_created"], w["ID"]), reverse=True)[:10]
    assert ids_in(ret) == [w["ID"] for w in newest]
    vendor = next(w["vendorIDs"][0] for w in wos if w["vendorIDs"])
    ret = returned(
        post(sim, work_orders_call(f"<pageNumber>1</pageNumber><vendorId>{vendor}</vendorId>")),
        "getWorkOrders",
    )
    assert ids_in(ret) and all(
        vendor in [w["vendorIDs"] for w in wos if w["ID"] == i][0] for i in ids_in(ret)
    )
    number = wos[6]["number"]
    ret = returned(
        post(sim, work_orders_call(f"<pageNumber>1</pageNumber><workOrderNumber>{number}</workOrderNumber>")),
        "getWorkOrders",
    )
    assert ids_in(ret) == [wos[6]["ID"]]
    multi = next(b for b in TINY.buildings if b["multiUnit"])
    ret = returned(
        post(
            sim,
            work_orders_call(
                f"<pageNumber>1</pageNumber><buildingId>{multi['ID']}</buildingId>", op="getUnits"
            ),
        ),
        "getUnits",
    )
    assert set(ids_in(ret)) == {u["ID"] for u in TINY.units if u["buildingID"] == multi["ID"]}
    tenant = TINY.leases[0]["tenants"][0]["ID"]
    ret = returned(
        post(
            sim, work_orders_call(f"<pageNumber>1</pageNumber><tenantId>{tenant}</tenantId>", op="getLeases")
        ),
        "getLeases",
    )
    assert ids_in(ret) == [TINY.leases[0]["ID"]]


def test_org_id_parameters_are_checked_against_the_user(sim):
    org = TINY.organization["ID"]
    ok = returned(
        post(sim, envelope(f"<ser:getPortfolioList><orgID>{org}</orgID></ser:getPortfolioList>")),
        "getPortfolioList",
    )
    assert len(ok) == len(TINY.portfolios)
    _, text, _ = fault_of(
        post(sim, envelope("<ser:getPortfolioList><orgID>12345</orgID></ser:getPortfolioList>"))
    )
    assert text == "Invalid organization ID 12345"


# --- faults: Axis style, malformed input, hostile XML -------------------------------------------------------


def test_faults_are_axis_style(sim):
    wo = next(w for w in TINY.work_orders if w["status"] == "Closed")
    call = envelope(
        f"<ser:closeWorkOrder><workOrderID>{wo['ID']}</workOrderID><category/><closingComments/>"
        '<startDate xsi:nil="true"/><completedDate xsi:nil="true"/></ser:closeWorkOrder>'
    )
    code, text, hostname = fault_of(post(sim, call))
    assert code == "soapenv:Server.userException"
    assert text == "Can not edit work order. It is already closed"
    assert hostname == "pw-simulator"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("this is not xml", "SAXParseException"),
        ("<a><b></a>", "SAXParseException"),
        ("<root/>", "not a SOAP 1.1 Envelope"),
        (envelope(""), "Body is missing or empty"),
        (envelope("<ser:noSuchCall/>"), "No such operation 'noSuchCall'"),
        (
            envelope(
                '<x:echoString xmlns:x="urn:service.web.propertyware.realpage.com">'
                "<arg>x</arg></x:echoString>"
            ),
            "No such operation 'echoString' in namespace",
        ),
        (envelope("<ser:getSyncVersion/>"), "not implemented"),
        (work_orders_call("<pageNumber>one</pageNumber>"), "Invalid value 'one' for xsd:int"),
        (
            work_orders_call("<pageNumber>1</pageNumber><colour>red</colour>"),
            "Invalid element in tns1:WorkOrderSearchCriteria - colour",
        ),
        (envelope('<ser:getVendor><vendorID href="#nowhere"/></ser:getVendor>'), "Unresolved href"),
        (
            work_orders_call(
                "<pageNumber>1</pageNumber><results>"
                + '<r xsi:type="soapenc:Array">' * 40
                + "</r>" * 40
                + "</results>"
            ),
            "Nesting too deep",
        ),
        (work_orders_call("<pageNumber>1</pageNumber><ids><ids><ids>1</ids></ids></ids>"), "Invalid value"),
    ],
)
def test_malformed_soap_gets_a_fault_never_a_crash(sim, body, fragment):
    code, text, _ = fault_of(post(sim, body))
    assert fragment in text
    assert returned(post(sim, echo("still here")), "echoString").text == "still here"


def test_wrong_content_type_is_a_fault(sim):
    code, text, _ = fault_of(post(sim, echo("x"), content_type="application/json"))
    assert code == "soapenv:Client" and "text/xml" in text


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
        '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "<!DOCTYPE soapenv:Envelope>",
    ],
)
def test_dtds_and_entities_are_refused_before_expansion(sim, doctype):
    body = (
        '<?xml version="1.0"?>'
        + doctype
        + envelope("<ser:echoString><arg>&lol2;</arg></ser:echoString>", declaration=False)
    )
    code, text, _ = fault_of(post(sim, body))
    assert "DTD" in text
    assert "lollol" not in text and "root:" not in text


def test_the_lenient_switch_accepts_the_urn_namespace():
    with PropertyWareSimulator(dataset=TINY, lenient_namespace=True) as lenient:
        call = envelope(
            '<x:echoString xmlns:x="urn:service.web.propertyware.realpage.com"><arg>ok</arg></x:echoString>'
        )
        assert returned(post(lenient, call), "echoString").text == "ok"
