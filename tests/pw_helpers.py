"""Shared set-up for the PropertyWare tests: a fixed tiny dataset and fast, unthrottled clients."""

from __future__ import annotations

from datetime import date

import requests

from sync.propertyware import PropertyWareClient
from sync.simulators.datasets import build_dataset

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
