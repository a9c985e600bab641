"""Both simulators on the wire: a connection stays open between requests, and an answer after which the
server closes it says ``Connection: close``, so pooling clients never reuse a dead socket."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from urllib.parse import urlsplit

import pytest
import requests

from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.propertyware.server import _Handler as PwHandler
from sync.simulators.servicefusion import ServiceFusionSimulator
from sync.simulators.servicefusion.server import _ApiHandler as SfHandler
from tests.pw_helpers import TINY, echo, returned
from tests.sf_support import Raw


@pytest.fixture(scope="module")
def pw():
    with PropertyWareSimulator(dataset=TINY) as sim:
        yield sim


@pytest.fixture(scope="module")
def sf():
    with ServiceFusionSimulator(rate_limit=10_000) as sim:
        yield sim


def closes(response) -> bool:
    return "close" in response.headers.get("Connection", "").lower()


# --- a pooling client ----------------------------------------------------------------------------------


def test_pw_announces_the_close_a_pooled_request_asked_for_and_the_pool_carries_on(pw):
    session = requests.Session()  # urllib3 pool underneath: connections are reused between calls
    session.auth = (pw.username, pw.password)

    def call(text: str, **headers: str) -> requests.Response:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', **headers}
        return session.post(pw.url, data=echo(text).encode(), headers=headers, timeout=5)

    for round_ in range(3):
        kept = call(f"kept {round_}")
        assert returned(kept, "echoString").text == f"kept {round_}" and not closes(kept)
        closing = call(f"closing {round_}", Connection="close")
        assert returned(closing, "echoString").text == f"closing {round_}"
        assert closes(closing), closing.headers
        after = call(f"after {round_}")  # on the same pool, straight after the close
        assert returned(after, "echoString").text == f"after {round_}" and not closes(after)
    wsdl = session.get(pw.wsdl_url, headers={"Connection": "close"}, timeout=5)
    assert wsdl.status_code == 200 and closes(wsdl)
    assert session.get(pw.wsdl_url, timeout=5).status_code == 200


def test_sf_announces_the_close_a_pooled_request_asked_for_and_the_pool_carries_on(sf):
    raw = Raw(sf)  # one requests.Session for every call
    for _ in range(3):
        kept = raw.get("/me")
        assert kept.status_code == 200 and not closes(kept)
        closing = raw.api("GET", "/me", headers={"Connection": "close"})
        assert closing.status_code == 200 and closes(closing), closing.headers
        after = raw.get("/me")
        assert after.status_code == 200 and after.json()["id"] == closing.json()["id"]
    refused = raw.request("GET", "/v1/me", headers={"Connection": "close"})
    assert refused.status_code == 401 and closes(refused)
    assert raw.get("/me").status_code == 200
    redirected = raw.request("GET", sf.http_url + "/v1/me", headers={"Connection": "close"})
    assert redirected.status_code == 301 and closes(redirected)
    assert raw.request("GET", sf.http_url + "/v1/me").status_code == 301


# --- raw sockets ---------------------------------------------------------------------------------------


def _connect(base_url: str, ca_path: str | None = None) -> socket.socket:
    url = urlsplit(base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=5)
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=ca_path)
        sock = context.wrap_socket(sock, server_hostname=url.hostname)
    return sock


def _exchange(sock: socket.socket, request: str, body: bytes = b"") -> http.client.HTTPResponse:
    sock.sendall(request.encode("latin-1") + body)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True


def _pw_request(pw, method: str = "GET", path: str = "/pw/services/PWServices?wsdl", extra: str = "") -> str:
    auth = base64.b64encode(f"{pw.username}:{pw.password}".encode()).decode()
    return f"{method} {path} HTTP/1.1\r\nHost: pw\r\nAuthorization: Basic {auth}\r\n{extra}\r\n"


def _sf_request(sf, token: str, version: str = "HTTP/1.1", extra: str = "") -> str:
    return f"GET /v1/me {version}\r\nHost: sf\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"


def test_pw_keeps_a_connection_open_until_a_request_asks_to_close_it(pw):
    with _connect(pw.base_url) as sock:
        for _ in range(2):
            first = _exchange(sock, _pw_request(pw))
            assert first.status == 200 and first.getheader("Connection") is None
        # a body on a request the server ignores is read all the same, so the next request stays in step
        stray = _exchange(sock, _pw_request(pw, "POST", "/nowhere", "Content-Length: 5\r\n"), b"GET /")
        assert stray.status == 404 and stray.getheader("Connection") is None
        again = _exchange(sock, _pw_request(pw))
        assert again.status == 200
        last = _exchange(sock, _pw_request(pw, extra="Connection: close\r\n"))
        assert last.status == 200 and last.getheader("Connection") == "close"
        assert _closed_by_server(sock)


def test_sf_keeps_a_connection_open_until_a_request_asks_to_close_it(sf):
    token = Raw(sf).token()
    with _connect(sf.base_url, sf.ca_path) as sock:
        for _ in range(2):
            kept = _exchange(sock, _sf_request(sf, token))
            assert kept.status == 200 and kept.getheader("Connection") is None
        last = _exchange(sock, _sf_request(sf, token, extra="Connection: close\r\n"))
        assert last.status == 200 and last.getheader("Connection") == "close"
        assert _closed_by_server(sock)


@pytest.mark.parametrize("which", ["pw", "sf"])
def test_http_1_0_closes_unless_it_asks_for_keep_alive_and_either_way_is_told(which, pw, sf):
    if which == "pw":
        base, ca = pw.base_url, None
        request = _pw_request(pw).replace("HTTP/1.1", "HTTP/1.0")
    else:
        base, ca = sf.base_url, sf.ca_path
        request = _sf_request(sf, Raw(sf).token(), "HTTP/1.0")
    with _connect(base, ca) as sock:
        kept = _exchange(sock, request.replace("\r\n\r\n", "\r\nConnection: keep-alive\r\n\r\n"))
        assert kept.status == 200 and kept.getheader("Connection") == "keep-alive"
        closing = _exchange(sock, request)
        assert closing.status == 200 and closing.getheader("Connection") == "close"
        assert _closed_by_server(sock)


@pytest.mark.parametrize("which", ["pw", "sf"])
def test_the_last_request_a_connection_may_carry_is_answered_with_close(which, pw, sf, monkeypatch):
    handler = PwHandler if which == "pw" else SfHandler
    monkeypatch.setattr(handler, "max_keepalive_requests", 3)
    if which == "pw":
        base, ca, request = pw.base_url, None, _pw_request(pw)
    else:
        base, ca, request = sf.base_url, sf.ca_path, _sf_request(sf, Raw(sf).token())
    with _connect(base, ca) as sock:
        answers = [_exchange(sock, request) for _ in range(3)]
        assert [a.status for a in answers] == [200, 200, 200]
        assert [a.getheader("Connection") for a in answers] == [None, None, "close"]
        assert _closed_by_server(sock)


def test_an_unframed_body_closes_the_connection_and_says_so(pw, sf):
    token = Raw(sf).token()
    chunked = "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    with _connect(sf.base_url, sf.ca_path) as sock:
        answer = _exchange(sock, _sf_request(sf, token, extra=chunked), b"2\r\n{}\r\n0\r\n\r\n")
        assert answer.getheader("Connection") == "close"
        assert _closed_by_server(sock)
    with _connect(pw.base_url) as sock:
        big = f"Content-Length: {64 * 1024 * 1024}\r\nContent-Type: text/xml\r\n"
        answer = _exchange(sock, _pw_request(pw, "POST", "/pw/services/PWServices", big))
        assert answer.status == 500 and answer.getheader("Connection") == "close"
        assert _closed_by_server(sock)
