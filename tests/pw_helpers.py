"""Shared set-up for the PropertyWare tests: a fixed tiny dataset, fast unthrottled clients, and the
simulator fixtures the client test modules bind with ``sim, fresh, client = ...``."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from lxml import etree

from sync.clients.propertyware import PropertyWareClient
from sync.simulators.datasets import build_dataset
from sync.simulators.propertyware import PropertyWareSimulator

#: the dataset's "today": every generated timestamp lies before it, and the wall clock after it
TODAY = date(2026, 3, 2)
TINY = build_dataset("tiny", seed=0, today=TODAY)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "http://service.web.propertyware.realpage.com"


def fast_client(sim, **overrides) -> PropertyWareClient:
    """A client against ``sim`` with millisecond retry waits and no throttle, so tests stay quick."""
    kwargs = {"max_rps": 0, "retries": 3, "retry_min_wait": 0.001, "retry_max_wait": 0.005, "timeout": 5}
    kwargs.update(overrides)
    return PropertyWareClient(sim.url, sim.username, sim.password, **kwargs)


def envelope(body: str, *, declaration: bool = True) -> str:
    head = '<?xml version="1.0" encoding="utf-8"?>' if declaration else ""
    return (
        f'{head}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:ser="{SERVICE_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def post(
    sim, data: bytes | str, *, content_type: str = "text/xml; charset=utf-8", auth=None, timeout: float = 5
) -> requests.Response:
    """A raw SOAP POST, as a hand-built client would send it."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return requests.post(
        sim.url,
        data=data,
        timeout=timeout,
        auth=auth or (sim.username, sim.password),
        headers={"Content-Type": content_type, "SOAPAction": '""', "Connection": "close"},
    )


@pytest.fixture(scope="module", params=[False, True], ids=["inline", "multiref"], name="sim")
def sim_in_both_modes(request):
    """One simulator per test module, run once with inline bodies and once with multiRef."""
    with PropertyWareSimulator(dataset=TINY, page_size=10, multiref=request.param) as s:
        yield s


@pytest.fixture(autouse=True, name="fresh")
def fresh_state(sim):
    sim.reset()
    sim.page_size = 10


@pytest.fixture(name="client")
def client_for_sim(sim):
    return fast_client(sim)


def open_work_order() -> dict:
    return next(w for w in TINY.work_orders if w["status"] == "Dispatched")


# --- raw SOAP over HTTP (the simulator tests) -----------------------------------------------------------

AXIS = "http://xml.apache.org/axis/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@pytest.fixture(scope="module", name="sim")
def inline_sim():
    """One simulator per test module, inline bodies, page size 10."""
    with PropertyWareSimulator(dataset=TINY, page_size=10) as s:
        yield s


@pytest.fixture(autouse=True, name="fresh")
def fresh_inline_state(sim):
    sim.reset()
    sim.multiref = False
    sim.page_size = 10


def parse(response: requests.Response) -> etree._Element:
    return etree.fromstring(response.content)


def fault_of(response: requests.Response) -> tuple[str, str, str]:
    assert response.status_code == 500
    doc = parse(response)
    fault = doc.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text
    hostname = fault.find(f"detail/{{{AXIS}}}hostname")
    return (
        fault.findtext("faultcode"),
        fault.findtext("faultstring"),
        hostname.text if hostname is not None else "",
    )


def echo(text: str) -> str:
    return envelope(
        f'<ser:echoString soapenv:encodingStyle="{SOAP_ENC}"><arg xsi:type="xsd:string">{text}</arg>'
        "</ser:echoString>"
    )


def work_orders_call(criteria: str, op: str = "getWorkOrders") -> str:
    return envelope(f"<ser:{op}><criteria>{criteria}</criteria></ser:{op}>")


def returned(response: requests.Response, op: str) -> etree._Element:
    assert response.status_code == 200, response.text
    doc = parse(response)
    resp = doc.find(f"{{{SOAP_ENV}}}Body/{{{SERVICE_NS}}}{op}Response")
    assert resp is not None
    return resp.find(f"{op}Return")


def ids_in(ret: etree._Element) -> list[int]:
    return [int(item.findtext("ID")) for item in ret]
