"""OAuth access tokens for the ServiceFusion client: fetched single-flight, cached in a shared store (the rate
limit is per token), renewed early; the secret goes only in the token request body, never in logs or reprs."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from sync.errors import AuthError, PermanentError, TransientError

log = logging.getLogger(__name__)
SYSTEM = "servicefusion"


class TokenStore(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None) -> None: ...


_KEY_LOCKS: dict[str, threading.Lock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def key_lock(key: str) -> threading.Lock:
    """The process-wide lock for one token key: every TokenManager of that key (one per client, and each
    step builds its own client) fetches and renews under it, so only one token request is in flight."""
    with _KEY_LOCKS_GUARD:
        lock = _KEY_LOCKS.get(key)
        if lock is None:
            lock = _KEY_LOCKS[key] = threading.Lock()
        return lock


class MemoryTokenStore:
    """The default store: this process only (give a shared cache when several workers share a token)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value, expires = self._data.get(key, (None, None))
            if expires is not None and expires <= time.monotonic():
                self._data.pop(key, None)
                return None
            return value

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, None if timeout is None else time.monotonic() + timeout)


def token_error(resp: requests.Response) -> AuthError | PermanentError | TransientError:
    """A refused token request: ``{error, error_description}`` or that object in a one-element array."""
    if resp.status_code >= 500:
        return TransientError(
            f"token endpoint answered {resp.status_code}",
            system=SYSTEM,
            operation="token",
            status=resp.status_code,
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    error = description = ""
    if isinstance(body, dict):
        error = str(body.get("error") or "")
        description = str(body.get("error_description") or body.get("message") or "")
    message = description or error or f"token endpoint answered {resp.status_code}"
    return AuthError(message, system=SYSTEM, operation="token", status=resp.status_code, detail=error)


class TokenManager:
    """Hands out a valid access token; ``send`` posts the grant form and returns the raw response.

    ``store`` is any object with ``get(key)`` / ``set(key, value, timeout)`` (Django's cache fits), so every
    worker shares one token. Fetching is single-flight per token key within the process: clients built by
    parallel steps wait for the one request in flight, then find its token in the store. Tokens are renewed
    ``renew_before`` seconds before expiry (at most half the lifetime of a shorter-lived token) with the
    refresh token, falling back to client_credentials when the refresh is refused."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        send: Callable[[dict[str, str]], requests.Response],
        *,
        store: TokenStore | None = None,
        renew_before: float = 300.0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._send = send
        self._store = store if store is not None else MemoryTokenStore()
        self._renew_before = renew_before
        self._on_event = on_event or (lambda name: None)
        self.key = (
            "servicefusion:token:" + hashlib.sha256(f"{token_url}|{client_id}".encode()).hexdigest()[:24]
        )
        self._lock = key_lock(self.key)

    def __repr__(self) -> str:
        return f"TokenManager(url={self.url!r}, client_id={self._client_id!r})"

    def _cached(self) -> dict | None:
        value = self._store.get(self.key)
        return value if isinstance(value, dict) and value.get("access_token") else None

    def _fresh(self, entry: dict | None) -> bool:
        if entry is None:
            return False
        lifetime = float(entry.get("expires_in") or 0)
        margin = min(self._renew_before, lifetime / 2)
        return time.time() < float(entry.get("expires_at") or 0) - margin

    def access_token(self) -> str:
        entry = self._cached()
        if entry is not None and self._fresh(entry):
            return entry["access_token"]
        return self.renew(rejected=entry["access_token"] if entry else None)

    def renew(self, rejected: str | None = None) -> str:
        """A new token, unless another caller already replaced ``rejected`` with a fresh one.

        Under the key's lock the store is read again: a caller that waited while another one fetched
        takes that token (``rejected`` is None when the caller found no token at all)."""
        with self._lock:
            entry = self._cached()
            if entry is not None and entry["access_token"] != rejected and self._fresh(entry):
                return entry["access_token"]
            refresh = entry.get("refresh_token") if entry else None
            if refresh:
                try:
                    return self._grant({"grant_type": "refresh_token", "refresh_token": refresh}, "refresh")
                except AuthError as exc:
                    log.info(
                        "ServiceFusion refresh token refused (%s); using client credentials", exc.message
                    )
                    self._on_event("refresh_refused")
            return self._grant(
                {
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._secret,
                },
                "fetch",
            )

    def _grant(self, form: dict[str, str], kind: str) -> str:
        try:
            resp = self._send(form)
        except requests.exceptions.SSLError as exc:
            raise PermanentError(f"TLS verification of the token endpoint failed: {exc}", system=SYSTEM,
                                 operation="token") from None
        except requests.RequestException as exc:
            raise TransientError(
                f"token request failed: {type(exc).__name__}", system=SYSTEM, operation="token"
            ) from None
        if resp.status_code != 200:
            raise token_error(resp)
        try:
            body = resp.json()
            access = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                "token response is not an OAuthToken", system=SYSTEM, operation="token"
            ) from exc
        entry = {
            "access_token": access,
            "refresh_token": body.get("refresh_token") or "",
            "expires_in": expires_in,
            "expires_at": time.time() + expires_in,
        }
        # Keep the entry past the access token's life: its refresh token is still useful then.
        self._store.set(self.key, entry, expires_in + 86400)
        self._on_event("token_refreshes" if kind == "refresh" else "token_fetches")
        log.debug(
            "ServiceFusion token %s (expires in %ss)",
            "refreshed" if kind == "refresh" else "fetched",
            int(expires_in),
        )
        return access
