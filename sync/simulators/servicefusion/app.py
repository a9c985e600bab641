"""One request through the simulated API: routing, content negotiation, verbs, OAuth, rate limit, faults,
in a Yii2 REST controller's order.
"""

from __future__ import annotations

import threading
from collections import Counter

from . import control, resources
from .auth import OAuth, bearer_token
from .faults import Faults
from .listing import first
from .ratelimit import RateLimiter
from .responses import ApiError, Request, Response, ValidationFailed, gateway_page, method_not_allowed
from .store import SimStore


class SimApp:
    def __init__(
        self, store: SimStore, oauth: OAuth, limiter: RateLimiter, faults: Faults, stop_event: threading.Event
    ) -> None:
        self.store, self.oauth, self.limiter, self.faults = store, oauth, limiter, faults
        self.stop_event = stop_event
        self.base_url = ""
        #: seconds every /v1 request takes besides any fault latency
        self.base_latency = 0.0
        self._counts_lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int | str] = Counter()

    # --- request accounting ------------------------------------------------------------------------------
    def count_request(self, key: str) -> None:
        """Counted on arrival, so a request still being answered (or never answered) shows up."""
        with self._counts_lock:
            self.requests[key] += 1

    def count_status(self, status: int | str) -> None:
        with self._counts_lock:
            self.statuses[status] += 1

    @staticmethod
    def request_key(req: Request) -> str | None:
        """ "METHOD /path/template" (ids as placeholders); None for control calls, which are not counted."""
        if req.path.startswith("/_control"):
            return None
        found = resources.match(req.path)
        return f"{req.method} {found[0].template if found else req.path}"

    def request_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self.requests)

    def status_counts(self) -> dict[int | str, int]:
        with self._counts_lock:
            return dict(self.statuses)

    def reset_counts(self) -> None:
        with self._counts_lock:
            self.requests.clear()
            self.statuses.clear()

    # --- dispatch ----------------------------------------------------------------------------------------
    def handle(self, req: Request) -> tuple[Response, str]:
        """The response and its format ("json" or "xml")."""
        if req.path.startswith("/_control"):
            try:
                return control.handle(self, req), "json"
            except ApiError as exc:
                return exc.response(), "json"
        if req.path.startswith("/oauth/"):
            plan = self.faults.plan(req.method, req.path)
            if self._sleep(plan.latency):
                return Response(503, action="drop"), "json"
            if plan.pre:
                return self._pre_fault(plan.pre, {}), "json"
            if req.path == "/oauth/access_token":
                return self.oauth.token_endpoint(req.method, req.headers, req.body), "json"
            if req.path == "/oauth/authorize" and req.method in ("GET", "HEAD"):
                return self.oauth.authorize_endpoint(req.query), "json"
            return ApiError(404).response(), "json"
        return self._api(req)

    # The order follows a Yii2 REST controller: route (404) → Accept (415) → verb (405) → authentication
    # (400/401) → rate limit (429) → the handler (400/415/422/2xx). Faults act after the rate limiter counted
    # the request: pre-faults replace the handler, commit faults follow a POST that was written.
    def _api(self, req: Request) -> tuple[Response, str]:
        found = resources.match(req.path)
        anonymous = f"address:{req.client}"
        fmt, fmt_error = _negotiate(req)
        if found is None:
            return self._with_limits(ApiError(404).response(), self.limiter.peek(anonymous)), fmt
        if fmt_error is not None:
            return self._with_limits(fmt_error.response(), self.limiter.peek(anonymous)), "json"
        route, groups = found
        method = "GET" if req.method == "HEAD" else req.method
        if method not in route.methods:
            return self._with_limits(method_not_allowed(route.methods), self.limiter.peek(anonymous)), fmt
        token, error = bearer_token(req.headers, req.query)
        if error is None and (token is None or not self.oauth.check(token)):
            error = ApiError(401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
        if error is not None:
            return self._with_limits(error.response(), self.limiter.peek(anonymous)), fmt
        decision = self.limiter.consume(f"token:{token}")
        if not decision.allowed:
            return self._with_limits(ApiError(429).response(), decision.headers), fmt
        unsorted_jobs = method == "GET" and route.template == "/v1/jobs" and not first(req.query, "sort")
        plan = self.faults.plan(method, req.path, unsorted_jobs_list=unsorted_jobs)
        if self._sleep(self.base_latency + plan.latency) or self._sleep(plan.hang):
            return Response(503, action="drop"), fmt
        if plan.pre:
            return self._with_limits(self._pre_fault(plan.pre, decision.headers), decision.headers), fmt
        call = resources.Call(method, req.path, req.query, req.headers, req.body, self.base_url, self.store)
        try:
            with self.store.lock:
                resp = route.handler(call, groups)
        except ApiError as exc:
            resp = exc.response()
        except ValidationFailed as exc:
            resp = exc.response()
        if plan.commit and resp.status == 201:
            resp = Response(502, action="drop") if plan.commit == "drop" else gateway_page(504)
        if req.method == "HEAD":
            resp.body, resp.raw = None, None
        return self._with_limits(resp, decision.headers), fmt

    def _pre_fault(self, kind: str, limit_headers: dict) -> Response:
        if kind == "reset":
            return Response(0, action="reset")
        status = int(kind)
        if status == 500:
            return ApiError(500).response()
        if status == 503:
            return ApiError(
                503, headers={"Retry-After": "1"} if self.limiter.retry_after else None
            ).response()
        return gateway_page(status)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the simulator stops first; True means it is stopping."""
        return seconds > 0 and self.stop_event.wait(seconds)

    @staticmethod
    def _with_limits(resp: Response, headers: dict[str, str]) -> Response:
        for name, value in headers.items():
            resp.headers.setdefault(name, value)
        return resp


def _negotiate(req: Request) -> tuple[str, ApiError | None]:
    """Response format from Accept or ``format`` (not both); 415 when neither names JSON or XML."""
    fmt_param = first(req.query, "format")
    accept = (req.headers.get("Accept") or "").strip()
    explicit_accept = accept not in ("", "*/*")
    if fmt_param is not None:
        if explicit_accept or fmt_param not in ("json", "xml"):
            return "json", ApiError(415)
        return fmt_param, None
    if not explicit_accept:
        return "json", None
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return "json", None
        if media in ("application/xml", "text/xml"):
            return "xml", None
    return "json", ApiError(415)
