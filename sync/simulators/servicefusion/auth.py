"""OAuth 2.0 for the simulator: the token endpoint, the authorize stub, and bearer-token checks."""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .clock import SimClock
from .responses import ApiError, Response, parse_json

CODE_TTL = 60.0


@dataclass
class Token:
    access_token: str
    refresh_token: str
    expires_at: float
    refresh_expires_at: float
    revoked: bool = False


class OAuth:
    def __init__(
        self,
        clock: SimClock,
        client_id: str,
        client_secret: str,
        *,
        token_ttl: int = 3600,
        refresh_ttl: int = 14 * 86400,
        revoke_on_refresh: bool = False,
        error_array: bool = False,
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.revoke_on_refresh = revoke_on_refresh
        self.error_array = error_array
        self._lock = threading.Lock()
        self._by_access: dict[str, Token] = {}
        self._by_refresh: dict[str, Token] = {}
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> (client_id, redirect_uri, expires_at)
        self.issued = 0

    def configure(
        self,
        *,
        token_ttl: int | None = None,
        refresh_ttl: int | None = None,
        revoke_on_refresh: bool | None = None,
        error_array: bool | None = None,
    ) -> None:
        for name, value in (("token_ttl", token_ttl), ("refresh_ttl", refresh_ttl)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer of seconds")
        with self._lock:
            if token_ttl is not None:
                self.token_ttl = token_ttl
            if refresh_ttl is not None:
                self.refresh_ttl = refresh_ttl
            if revoke_on_refresh is not None:
                self.revoke_on_refresh = bool(revoke_on_refresh)
            if error_array is not None:
                self.error_array = bool(error_array)

    # --- tokens ------------------------------------------------------------------------------------------
    def _issue(self) -> dict:
        now = self.clock.now()
        token = Token(
            secrets.token_hex(16), secrets.token_hex(20), now + self.token_ttl, now + self.refresh_ttl
        )
        self._by_access[token.access_token] = token
        self._by_refresh[token.refresh_token] = token
        self.issued += 1
        return {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "refresh_token": token.refresh_token,
        }

    def check(self, access_token: str) -> bool:
        with self._lock:
            token = self._by_access.get(access_token)
            return token is not None and not token.revoked and token.expires_at > self.clock.now()

    def revoke_all(self) -> int:
        """Invalidate every access and refresh token (as if the consumer's secret were regenerated)."""
        with self._lock:
            for token in self._by_access.values():
                token.revoked = True
            count = len(self._by_access)
            self._by_refresh.clear()
            return count

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._by_refresh.clear()

    # --- endpoints ---------------------------------------------------------------------------------------
    # Grants: client_credentials, refresh_token (rotates tokens; the old refresh token is spent and, switched,
    # the old access token revoked) and authorization_code (60-second single-use codes from the
    # /oauth/authorize stub). Bodies may be JSON or form-encoded. Bad client credentials get the documented
    # ``invalid_client`` error, as an object or (switched) wrapped in a one-element array.
    def token_endpoint(self, method: str, headers, body: bytes) -> Response:
        if method != "POST":
            return ApiError(
                405,
                "Method Not Allowed. This url can only handle the following request methods: POST.",
                headers={"Allow": "POST"},
            ).response()
        params = _read_params(headers.get("Content-Type", ""), body)
        if params is None:
            return self._error("invalid_request", "The request body must be JSON or form-encoded.")
        basic = _basic_credentials(headers.get("Authorization", ""))
        client_id = params.get("client_id") or (basic[0] if basic else None)
        client_secret = params.get("client_secret") or (basic[1] if basic else None)
        grant = params.get("grant_type")
        with self._lock:
            if grant == "client_credentials":
                if not self._client_ok(client_id, client_secret):
                    return self._invalid_client()
                return Response(200, self._issue(), _no_store())
            if grant == "refresh_token":
                # The documented body is only {grant_type, refresh_token}; client credentials, if sent,
                # must be right.
                if (client_id or client_secret) and not self._client_ok(client_id, client_secret):
                    return self._invalid_client()
                old = self._by_refresh.pop(str(params.get("refresh_token") or ""), None)
                if old is None or old.refresh_expires_at <= self.clock.now():
                    return self._error("invalid_grant", "The refresh token is invalid.")
                if self.revoke_on_refresh:
                    old.revoked = True
                return Response(200, self._issue(), _no_store())
            if grant == "authorization_code":
                if not self._client_ok(client_id, client_secret):
                    return self._invalid_client()
                entry = self._codes.pop(str(params.get("code") or ""), None)
                if entry is None or entry[2] <= self.clock.now() or entry[0] != client_id:
                    return self._error("invalid_grant", "The authorization code is invalid or has expired.")
                if params.get("redirect_uri") and params["redirect_uri"] != entry[1]:
                    return self._error("invalid_grant", "The redirect URI does not match.")
                return Response(200, self._issue(), _no_store())
            if not grant:
                return self._error("invalid_request", 'The "grant_type" parameter is required.')
            return self._error("unsupported_grant_type", "The authorization grant type is not supported.")

    def authorize_endpoint(self, query: dict[str, list[str]]) -> Response:
        """The stub consent page: approves at once and redirects with a 60-second single-use code."""
        q = {k: v[0] for k, v in query.items() if v}
        if q.get("response_type") != "code":
            return self._error("unsupported_response_type", 'The "response_type" must be "code".')
        if q.get("client_id") != self.client_id:
            return self._invalid_client()
        redirect = q.get("redirect_uri", "")
        parts = urlsplit(redirect)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return self._error("invalid_request", 'The "redirect_uri" parameter is missing or invalid.')
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = (self.client_id, redirect, self.clock.now() + CODE_TTL)
        extra = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        query_string = "&".join(p for p in (parts.query, urlencode(extra)) if p)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query_string, parts.fragment))
        return Response(302, None, {"Location": location})

    # --- helpers -----------------------------------------------------------------------------------------
    def _client_ok(self, client_id, client_secret) -> bool:
        return (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and secrets.compare_digest(client_id, self.client_id)
            and secrets.compare_digest(client_secret, self.client_secret)
        )

    def _invalid_client(self) -> Response:
        return self._error("invalid_client", "Invalid client's id or secret.")

    def _error(self, error: str, description: str) -> Response:
        body: dict | list = {"error": error, "error_description": description}
        if self.error_array:
            body = [body]
        return Response(400, body, _no_store())


def bearer_token(headers, query: dict[str, list[str]]) -> tuple[str | None, ApiError | None]:
    """The presented access token: the Bearer header or ``access_token``, never both (→ 400)."""
    header = headers.get("Authorization", "") or ""
    from_header = header[7:].strip() if header[:7].lower() == "bearer " else None
    from_query = next(iter(query.get("access_token") or []), None)
    if from_header and from_query:
        return None, ApiError(400)
    return from_header or from_query or None, None


def _read_params(content_type: str, body: bytes) -> dict | None:
    kind = content_type.split(";")[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if kind == "application/json" or (not kind and text.lstrip().startswith("{")):
        try:
            data = parse_json(body or b"{}")
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        return {k: v if isinstance(v, str) else (None if v is None else str(v)) for k, v in data.items()}
    if kind in ("application/x-www-form-urlencoded", ""):
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return None


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store", "Pragma": "no-cache"}
