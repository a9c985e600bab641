"""``PropertyWareSimulator``: a fake PropertyWare SOAP service on a local port (spec §9, docs/simulators.md).
``.store`` acts as a PropertyWare user, ``.faults`` injects failures, ``.request_counts()`` counts calls;
the same controls are served as JSON under ``.control_url``.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ..datasets import Dataset, build_dataset
from . import schema
from .faults import FaultInjector
from .operations import Context, public
from .replies import ReplyCache
from .server import SERVICE_PATH, _Server
from .store import Store
from .wsdl import build_wsdl

DEFAULT_USERNAME = "api-user@greenlight.example"


# with PropertyWareSimulator(dataset="tiny") as sim:
#     client = PropertyWareClient(sim.url, sim.username, sim.password, wsdl_url=sim.wsdl_url)
class PropertyWareSimulator:
    def __init__(
        self,
        dataset: str | Dataset = "tiny",
        seed: int = 0,
        page_size: int = 10,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        multiref: bool = False,
        *,
        username: str | None = None,
        password: str | None = None,
        impl_namespace: str | None = None,
        lenient_namespace: bool = False,
        tz: str = "UTC",
        send_nulls: bool = True,
        return_created_ids: bool = True,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.seed = seed
        self.page_size = page_size
        self.latency = latency
        self.multiref = multiref
        self.lenient_namespace = lenient_namespace
        self.send_nulls = send_nulls
        self.return_created_ids = return_created_ids
        self.tz: tzinfo = ZoneInfo(tz)
        self._dataset_arg = dataset
        ds = self._dataset(dataset, seed)
        self.username = username or (ds.users[0]["loginName"] if ds.users else DEFAULT_USERNAME)
        # a throwaway secret per instance: nothing to leak, nothing to commit
        self.password = password or secrets.token_urlsafe(12)
        self.store = Store(ds, seed=seed, tz=self.tz)
        self.faults = FaultInjector(seed)
        self.replies = ReplyCache()
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._recent: deque[str] = deque(maxlen=1000)
        self._server = _Server((host, port), self)
        address = self._server.server_address
        self.host, self.port = str(address[0]), address[1]
        self.impl_namespace = impl_namespace or schema.DEFAULT_IMPL_NS
        self._wsdl: bytes | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _dataset(dataset: str | Dataset, seed: int) -> Dataset:
        return build_dataset(dataset, seed) if isinstance(dataset, str) else dataset

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> PropertyWareSimulator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"pw-simulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> PropertyWareSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + SERVICE_PATH

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    @property
    def control_url(self) -> str:
        return self.base_url + "/_control"

    def wsdl(self) -> bytes:
        if self._wsdl is None:
            self._wsdl = build_wsdl(self.url, self.impl_namespace)
        return self._wsdl

    # --- what the handlers use ----------------------------------------------------------------------------

    def context(self) -> Context:
        user = self.store.users[0] if self.store.users else {"ID": 1, "loginName": self.username}
        return Context(
            self.store,
            page_size=self.page_size,
            user=user,
            org_id=self.store.organization.get("ID"),
            return_created_ids=self.return_created_ids,
        )

    def count(self, operation: str) -> None:
        with self._counts_lock:
            self._counts[operation] += 1
            self._recent.append(operation)

    def recent_calls(self) -> list[str]:
        """The operations of the last 1,000 requests received, in the order they came in."""
        with self._counts_lock:
            return list(self._recent)

    def request_counts(self) -> dict[str, int]:
        """Requests received, by operation name ("wsdl", "unauthorized" and "?" for the rest)."""
        with self._counts_lock:
            return dict(self._counts)

    def reset(self, dataset: str | Dataset | None = None, seed: int | None = None) -> None:
        """Reload the dataset (the original one unless given), clear faults and counters."""
        seed = self.seed if seed is None else seed
        self.store.load(self._dataset(dataset if dataset is not None else self._dataset_arg, seed))
        self.faults.clear()
        with self._counts_lock:
            self._counts.clear()
            self._recent.clear()

    # --- control API (JSON over HTTP; see docs/simulators.md) ---------------------------------------------

    def control(self, method: str, path: str, body: dict, query: dict) -> tuple[int, Any]:
        parts = path.split("/") if path else []
        route = (method, parts[0] if parts else "")
        if route == ("GET", "health"):
            return 200, {"ok": True}
        if route == ("GET", "state"):
            return 200, {
                "counts": self.store.counts(),
                "requests": self.request_counts(),
                "faults": self.faults.profiles(),
                "page_size": self.page_size,
                "multiref": self.multiref,
                "latency": self.latency,
                "url": self.url,
            }
        if route == ("GET", "requests"):
            return 200, self.request_counts()
        if route == ("POST", "reset"):
            self.reset(body.get("dataset"), body.get("seed"))
            return 200, {"counts": self.store.counts()}
        if route == ("POST", "settings"):
            unknown = set(body) - {"page_size", "multiref", "latency"}
            if unknown:
                raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            if "page_size" in body:
                if int(body["page_size"]) < 1:
                    raise ValueError("page_size must be at least 1")
                self.page_size = int(body["page_size"])
            if "multiref" in body:
                self.multiref = bool(body["multiref"])
            if "latency" in body:
                self.latency = float(body["latency"])
            return 200, {"page_size": self.page_size, "multiref": self.multiref, "latency": self.latency}
        if parts and parts[0] == "faults":
            if method == "GET":
                return 200, self.faults.profiles()
            if method == "POST":
                self.faults.configure(**body)
                return 200, self.faults.profiles()
            if method == "DELETE":
                self.faults.clear()
                return 200, []
        if parts and parts[0] == "work-orders":
            return self._control_work_orders(method, parts[1:], body)
        if route[0] == "GET" and parts and parts[0] in self.store.tables and len(parts) == 1:
            return 200, [public(r) | _hidden(r) for r in self.store.records(parts[0])]
        raise KeyError(f"no control endpoint {method} /_control/{path}")

    def _control_work_orders(self, method: str, rest: list[str], body: dict) -> tuple[int, Any]:
        st = self.store
        if not rest:
            if method == "GET":
                return 200, st.work_orders()
            if method == "POST":
                if "building" not in body:
                    raise ValueError("'building' (a building ID) is required")
                return 201, {"ID": st.create_work_order(**body)}
        elif len(rest) == 1 and rest[0].isdigit():
            wo_id = int(rest[0])
            if method == "GET":
                return 200, st.get_work_order(wo_id)
            if method == "PATCH":
                return 200, st.edit_work_order(wo_id, **body)
            if method == "DELETE":
                st.delete_work_order(wo_id)
                return 200, {"deleted": wo_id}
        raise KeyError(f"no control endpoint {method} /_control/work-orders/{'/'.join(rest)}")


def _hidden(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k.startswith("_")}
