"""HTTP for the ServiceFusion client: https only, bearer auth with one renew-and-replay on 401, pacing,
429 waits, GET retries with backoff (tenacity), and the mapping of failures onto sync.errors."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from urllib3.exceptions import NewConnectionError

from sync.errors import (
    AmbiguousWriteError,
    AuthError,
    DuplicateRecord,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    RemoteValidationError,
    TransientError,
)

from .pacing import Pacer, wait_after_429
from .tokens import TokenManager, TokenStore

# POSTs are never retried after they may have reached the server: a timeout, a dropped connection or a
# 5xx after sending raises AmbiguousWriteError so the caller looks the record up first. A 401 or 429 is a
# refusal before any processing, so those are replayed for POSTs too.
log = logging.getLogger(__name__)
SYSTEM = "servicefusion"
MAX_429_WAITS = 6
#: how the API words a refusal to create a record it already holds: Yii2's unique validator ("Customer Name
#: "X" has already been taken."), and the "duplicate" of R34 (checked case-insensitively)
DUPLICATE_WORDING = ("duplicate", "has already been taken", "already exists")


@dataclass
class Reply:
    status: int
    data: Any
    headers: Mapping[str, str]


def api_roots(base_url: str) -> tuple[str, str]:
    """(API root ending in /v1, token URL) from a base URL; anything but https is refused."""
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(
            f"ServiceFusion base URL must be an https:// URL, got {base_url!r}: the API redirects plain "
            "HTTP, and a redirected POST arrives as a body-less GET"
        )
    origin = f"https://{parts.netloc}"
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[:-3]
    return f"{origin}{path}/v1", f"{origin}{path}/oauth/access_token"


def _error_body(resp: requests.Response) -> tuple[Any, str]:
    try:
        data = resp.json()
    except ValueError:
        return None, resp.text[:300]
    return data, ""


def says_duplicate(text: str) -> bool:
    lowered = text.lower()
    return any(words in lowered for words in DUPLICATE_WORDING)


def error_for(resp: requests.Response, method: str, operation: str) -> IntegrationError:
    """The sync.errors exception for an unsuccessful response."""
    status = resp.status_code
    data, text = _error_body(resp)
    message = data.get("message") if isinstance(data, dict) else None
    message = str(message or text or resp.reason or f"HTTP {status}")
    kw: dict[str, Any] = {"system": SYSTEM, "operation": operation, "status": status}
    if status == 422:
        fields = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        if any(says_duplicate(str(f.get("message", ""))) for f in fields):
            return DuplicateRecord("ServiceFusion already has this record", fields=fields, **kw)
        return RemoteValidationError("ServiceFusion rejected the data", fields=fields, **kw)
    if 400 <= status < 500 and status not in (401, 403, 404, 429) and says_duplicate(message):
        return DuplicateRecord(message, **kw)
    if status == 429:
        return RateLimited(message, **kw)
    if status >= 500:
        if method == "POST":
            return AmbiguousWriteError(
                f"HTTP {status} after sending; the record may exist", **kw, detail=message
            )
        return TransientError(message, **kw)
    if status in (401, 403):
        return AuthError(message, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status in (301, 302, 307, 308):
        return PermanentError(f"redirected to {resp.headers.get('Location')!r}; use the https base URL", **kw)
    return PermanentError(message, **kw)


def _sent_nothing(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (the connection was never made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class Transport:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        verify: bool | str = True,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        rate_limit_cap: int = 0,
        token_store: TokenStore | None = None,
        retries: int = 3,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        renew_before: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_root, token_url = api_roots(base_url)
        if not client_id or not client_secret:
            raise ValueError("ServiceFusion client id and secret are required")
        self.verify = verify
        self.timeout = (connect_timeout, read_timeout)
        self.retries = max(0, int(retries))
        self.backoff = (backoff_initial, backoff_max)
        self._sleep = sleep
        self.session = requests.Session()
        # Our own retries (below) see every attempt; the adapter must not retry behind their back.
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=16)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": "GreenLight-sync/1.0",
            }
        )
        self._stats_lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self.pacer = Pacer(rate_limit_cap, sleep=sleep)
        self.tokens = TokenManager(
            token_url,
            client_id,
            client_secret,
            self._post_token,
            store=token_store,
            renew_before=renew_before,
            on_event=self._bump,
        )

    # --- accounting ------------------------------------------------------------------------------------
    def _bump(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self._counts[name] += n

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            counts = dict(self._counts)
        requests_by = {k[4:]: v for k, v in counts.items() if k.startswith("req:")}
        return {
            "requests": requests_by,
            "rate_limited": counts.get("rate_limited", 0),
            "token_fetches": counts.get("token_fetches", 0),
            "token_refreshes": counts.get("token_refreshes", 0),
            "refresh_refused": counts.get("refresh_refused", 0),
            "auth_replays": counts.get("auth_replays", 0),
            "retries": counts.get("retries", 0),
            "pacing_waits": self.pacer.waits,
            "paced_seconds": round(self.pacer.waited, 3),
            # The allowance the server advertises (requests per minute; None before a response said so),
            # the refill rate its headers show, and our own cap (0 = none): a run's ETA divides what is
            # left by these.
            "rate_limit": self.pacer.limit,
            "refill_per_second": self.pacer.rate,
            "rate_cap": self.pacer.cap,
        }

    # --- token endpoint ----------------------------------------------------------------------------------
    def _post_token(self, form: dict[str, str]) -> requests.Response:
        # Form-encoded, as working clients send it; the body (with the secret) is never logged.
        resp = self.session.post(
            self.tokens.url,
            data=form,
            timeout=self.timeout,
            verify=self.verify,
            allow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        self._bump(f"req:POST token {resp.status_code}")
        return resp

    # --- API calls -------------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None, *, operation: str = "") -> Reply:
        """GET with retries on 5xx, timeouts and connection errors (exponential backoff with jitter)."""

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, TransientError) and not isinstance(exc, RateLimited)

        def before_sleep(state) -> None:
            self._bump("retries")
            log.info("ServiceFusion %s: retrying after %s", operation or path, state.outcome.exception())

        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential_jitter(
                multiplier=self.backoff[0], jitter=self.backoff[0], max=self.backoff[1]
            ),
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(self._call, "GET", path, params, None, operation)

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        *,
        operation: str = "",
    ) -> Reply:
        """POST once. Not retried: an outcome that may have committed raises AmbiguousWriteError."""
        return self._call("POST", path, params, body, operation)

    def _call(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, operation: str
    ) -> Reply:
        url = self.api_root + path
        replayed = False
        waits_429 = 0
        while True:
            token = self.tokens.access_token()
            self.pacer.acquire()
            started = time.monotonic()
            try:
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=False,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except requests.RequestException as exc:
                self.pacer.done(None)
                raise self._transport_error(exc, method, operation) from None
            status = resp.status_code
            log.debug(
                "ServiceFusion %s %s -> %s in %.0f ms",
                method,
                path,
                status,
                (time.monotonic() - started) * 1000,
            )
            if status == 429:
                self.pacer.exhausted(resp.headers)
                self._bump(f"req:{method} 429")
                self._bump("rate_limited")
                if waits_429 >= MAX_429_WAITS:
                    err = error_for(resp, method, operation)
                    assert isinstance(err, RateLimited)  # error_for maps 429 to RateLimited
                    err.retry_after = wait_after_429(resp.headers, waits_429)
                    raise err
                wait = wait_after_429(resp.headers, waits_429)
                log.info("ServiceFusion rate limit hit on %s %s; waiting %.2f s", method, path, wait)
                self._sleep(wait)
                waits_429 += 1
                continue
            self.pacer.done(resp.headers)
            if status == 401 and not replayed:
                self._bump(f"req:{method} 401")
                self._bump("auth_replays")
                self.tokens.renew(rejected=token)
                replayed = True
                continue
            if 200 <= status < 300:
                self._bump(f"req:{method} ok")
                try:
                    data = resp.json() if resp.content else None
                except ValueError:
                    raise self._unreadable(method, operation, status) from None
                return Reply(status, data, resp.headers)
            self._bump(f"req:{method} {status}")
            raise error_for(resp, method, operation)

    def _unreadable(self, method: str, operation: str, status: int) -> IntegrationError:
        if method == "POST":
            return AmbiguousWriteError(
                "unreadable response body after sending", system=SYSTEM, operation=operation, status=status
            )
        return TransientError("unreadable response body", system=SYSTEM, operation=operation, status=status)

    def _transport_error(
        self, exc: requests.RequestException, method: str, operation: str
    ) -> IntegrationError:
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.SSLError):
            self._bump(f"req:{method} tls_error")
            return PermanentError(f"TLS verification failed: {exc}", system=SYSTEM, operation=operation)
        if method == "POST" and not _sent_nothing(exc):
            self._bump(f"req:{method} ambiguous")
            return AmbiguousWriteError(
                f"{kind} after sending; the record may exist", system=SYSTEM, operation=operation
            )
        self._bump(f"req:{method} {'timeout' if isinstance(exc, requests.Timeout) else 'connection_error'}")
        return TransientError(f"{kind}: {exc}", system=SYSTEM, operation=operation)

    def close(self) -> None:
        self.session.close()
