"""Helpers shared by the ServiceFusion tests: raw HTTPS calls to the simulator and client construction."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from sync.clients.servicefusion import ServiceFusionClient
from sync.simulators.servicefusion import ServiceFusionSimulator

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
UNAUTHORIZED = {
    "code": 401,
    "name": "Unauthorized.",
    "message": "Your request was made with invalid credentials.",
}
BAD_REQUEST = {"code": 400, "name": "Bad Request.", "message": "Your request is invalid."}
NOT_FOUND = {"code": 404, "name": "Not Found.", "message": "Item not found."}


def sim_fixture(**options: Any):
    """A ``sim`` fixture: a simulator started with ``options`` for each test (``sim = sim_fixture(...)``)."""

    @pytest.fixture(name="sim")
    def _sim():
        with ServiceFusionSimulator(**options) as running:
            yield running

    return _sim


@pytest.fixture(name="raw")
def raw_fixture(sim: ServiceFusionSimulator) -> Raw:
    """Raw HTTPS calls to the test's simulator (``raw = raw_fixture``)."""
    return Raw(sim)


class Raw:
    """Plain requests against the simulator, verifying its certificate (verify is passed per call because
    REQUESTS_CA_BUNDLE would override a session-level setting)."""

    def __init__(self, sim: ServiceFusionSimulator, token: str | None = None) -> None:
        self.sim = sim
        self.session = requests.Session()
        self._token = token

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("verify", self.sim.ca_path)
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        url = path if path.startswith("http") else self.sim.base_url + path
        return self.session.request(method, url, **kw)

    def token_response(self, **form: str) -> requests.Response:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.sim.client_id,
            "client_secret": self.sim.client_secret,
            **form,
        }
        return self.request("POST", "/oauth/access_token", data=data)

    def token(self) -> str:
        if self._token is None:
            resp = self.token_response()
            assert resp.status_code == 200, resp.text
            self._token = resp.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kw.pop("headers", {})}
        return self.request(method, "/v1" + path, headers=headers, **kw)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.api("GET", path, params=params)

    def post(self, path: str, body: Any, **params: Any) -> requests.Response:
        return self.api("POST", path, json=body, params=params)

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.request(method, "/_control" + path, json=body)


def make_client(sim: ServiceFusionSimulator, **kw: Any) -> ServiceFusionClient:
    kw.setdefault("verify", sim.ca_path)
    kw.setdefault("backoff_initial", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return ServiceFusionClient(sim.base_url, sim.client_id, sim.client_secret, **kw)


def seed_building(sim: ServiceFusionSimulator, name: str = "100 Main St") -> tuple[int, int]:
    """A portfolio customer and a building customer under it (with a primary location); their ids."""
    parent = sim.store.seed_customer(
        {"customer_name": "Oak Portfolio", "custom_fields": [{"name": "portfolioId", "value": "7"}]}
    )
    child = sim.store.seed_customer(
        {
            "customer_name": name,
            "parent_customer": parent,
            "contacts": [
                {
                    "fname": "Pat",
                    "lname": "Owner",
                    "is_primary": True,
                    "emails": [{"email": "pat@example.com"}],
                    "phones": [{"phone": "555-0100"}],
                }
            ],
            "locations": [
                {
                    "street_1": name,
                    "city": "Austin",
                    "state_prov": "TX",
                    "postal_code": "78701",
                    "nickname": "Primary",
                    "is_primary": True,
                }
            ],
            "custom_fields": [{"name": "buildingId", "value": "70"}, {"name": "portfolioId", "value": "7"}],
        }
    )
    return parent, child


def seed_jobs(sim: ServiceFusionSimulator, customer_id: int, count: int, prefix: str = "WO-") -> list[int]:
    return [
        sim.store.seed_job(
            {
                "customer_name": customer_id,
                "check_number": f"{prefix}{i}",
                "po_number": f"{prefix}{i}",
                "description": f"Job {i}",
            }
        )
        for i in range(1, count + 1)
    ]
