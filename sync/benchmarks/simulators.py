"""Both simulators in this process, configured for a benchmark or a drill, and the environment that
points a ``manage.py sync`` child process at them.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.simulators.datasets import build_dataset
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator

from .floor import Limits

if TYPE_CHECKING:
    from sync.simulators.propertyware import PropertyWareSimulator
    from sync.simulators.servicefusion import ServiceFusionSimulator


@dataclass(frozen=True)
class SimConfig:
    dataset: str = "demo"
    seed: int = 0
    pw_latency: float = 0.3
    sf_latency: float = 0.15
    rate_limit: int = 60
    time_scale: float = 1.0
    pw_page_size: int = 10
    pw_max_rps: float = 0.0  # the PW client's cap in real time; 0 = none

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError(f"--time-scale must be > 0, got {self.time_scale}")
        if self.rate_limit < 1:
            raise ValueError(f"--rate-limit must be >= 1, got {self.rate_limit}")
        if min(self.pw_latency, self.sf_latency, self.pw_max_rps) < 0:
            raise ValueError("latencies and the PW cap must be >= 0")

    # Time scaling (see floor.py): with factor K the simulators answer K times faster (latency ÷ K) and the
    # ServiceFusion allowance refills K times faster (``limit`` requests per ``60 / K`` s); the child's
    # PropertyWare cap is raised K times to match.
    @property
    def limits(self) -> Limits:
        """The limits in the simulators' (scaled) time."""
        real = Limits(sf_limit=self.rate_limit, sf_window=60.0, sf_latency=self.sf_latency,
                      pw_latency=self.pw_latency, pw_max_rps=self.pw_max_rps)
        return real.scaled(self.time_scale)


class Simulators:
    """PropertyWare and ServiceFusion simulators over one dataset; a context manager."""

    def __init__(self, config: SimConfig, dataset: Any | None = None) -> None:
        self.config = config
        self.dataset = dataset if dataset is not None else build_dataset(config.dataset, seed=config.seed)
        self._stack = ExitStack()
        self._unthrottled = False
        self.pw: PropertyWareSimulator  # set on entering
        self.sf: ServiceFusionSimulator

    def __enter__(self) -> Simulators:
        limits = self.config.limits
        try:
            self.pw = self._stack.enter_context(PropertyWareSimulator(
                dataset=self.dataset, seed=self.config.seed, page_size=self.config.pw_page_size,
                latency=limits.pw_latency))
            self.sf = self._stack.enter_context(ServiceFusionSimulator(
                dataset=self.dataset, seed=self.config.seed, rate_limit=limits.sf_limit,
                rate_window=limits.sf_window, latency=limits.sf_latency))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @contextmanager
    def unthrottled(self) -> Iterator[None]:
        """No latency, no SF rate limit (and no PW cap for children built meanwhile): for runs that only
        set a scenario up. The SF allowance starts full again afterwards."""
        limiter = self.sf.rate_limiter
        saved = (self.pw.latency, self.sf.app.base_latency, limiter.limit, limiter.window)
        self.pw.latency, self.sf.app.base_latency = 0.0, 0.0
        # A limit no run reaches rather than none: the client paces itself by the headers, and with
        # no allowance advertised it would assume the documented 60 a minute.
        limiter.configure(limit=10**9, window=60.0)
        self._unthrottled = True
        try:
            yield
        finally:
            self._unthrottled = False
            self.pw.latency, self.sf.app.base_latency = saved[0], saved[1]
            limiter.configure(limit=saved[2], window=saved[3])

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a ``manage.py sync`` child: the parent's, pointed at the simulators, with DEBUG
        off as in production (with DEBUG on, Django keeps the SQL of up to 9,000 queries per connection,
        which a measured run would count as the sync's memory)."""
        env = dict(os.environ if base is None else base)
        limits = self.config.limits
        env["DEBUG"] = "false"
        if not env.get("SECRET_KEY"):  # required with DEBUG off; the parent may be a DEBUG session
            env["SECRET_KEY"] = secrets.token_urlsafe(32)
        assert self.sf.ca_path is not None  # set once the simulator serves
        env.update({
            "PW_URL": self.pw.url,
            # PW_WSDL_URL stays unset: production uses the bundled WSDL, so no run fetches it.
            "PW_WSDL_URL": "",
            "PW_USERNAME": self.pw.username,
            "PW_PASSWORD": self.pw.password,
            "PW_MAX_RPS": "0" if self._unthrottled else str(limits.pw_max_rps),
            "SF_BASE_URL": self.sf.base_url,
            "SF_CLIENT_ID": self.sf.client_id,
            "SF_CLIENT_SECRET": self.sf.client_secret,
            "SF_VERIFY": self.sf.ca_path,
        })
        return env

    def request_counts(self) -> dict[str, int]:
        """Requests answered so far by operation, prefixed with the system ("pw getWorkOrders")."""
        counts = {f"pw {k}": v for k, v in self.pw.request_counts().items()}
        counts.update({f"sf {k}": v for k, v in self.sf.request_counts().items()})
        return counts

    def request_totals(self) -> dict[str, int]:
        """Requests each simulator has answered so far, all operations together."""
        return {"pw": sum(self.pw.request_counts().values()), "sf": sum(self.sf.request_counts().values())}
