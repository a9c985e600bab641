"""HTTP/1.1 connection persistence for the simulators' stdlib handlers: an answer says ``Connection: close``
whenever the server closes the connection after it, as Tomcat and nginx do, and keeps it open otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler as _HandlerBase
else:
    _HandlerBase = object  # a mixin: the real base comes after it in the handler's bases


class AnnouncedClose(_HandlerBase):
    """Mixin placed before ``BaseHTTPRequestHandler``. The stdlib handler closes after a request that asked
    for it (``Connection: close``, or HTTP/1.0 without keep-alive) without saying so in the answer; a pooling
    client then reuses a dead socket and fails with a reset. Here every final answer says so, whether the
    client asked, the handler decided (``close_connection`` set before the headers end) or the connection has
    served ``max_keepalive_requests`` requests (Tomcat's maxKeepAliveRequests, nginx's keepalive_requests)."""

    #: requests one connection may carry; the answer to the last one says ``Connection: close``
    max_keepalive_requests: int | None = None
    _served = 0
    _status = 0
    _connection_said = False

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        self._served += 1
        headers = self.headers
        # the stdlib only recognises the header when it is exactly one token
        tokens = {t.strip().lower() for t in headers.get("Connection", "").split(",")}
        if "close" in tokens:
            self.close_connection = True
        elif "keep-alive" in tokens:
            self.close_connection = False
        if headers.get("Transfer-Encoding") and headers.get("Content-Length") is None:
            # bodies are read by Content-Length only: an unread chunked body would pass for the next request
            self.close_connection = True
        if self.max_keepalive_requests and self._served >= self.max_keepalive_requests:
            self.close_connection = True
        return True

    def send_response_only(self, code: int, message: str | None = None) -> None:
        self._status, self._connection_said = code, False
        super().send_response_only(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection":
            self._connection_said = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        # interim answers (100 Continue) carry no connection state
        if self._status >= 200 and not self._connection_said:
            if self.close_connection:
                self.send_header("Connection", "close")
            elif self.request_version == "HTTP/1.0":
                self.send_header("Connection", "keep-alive")  # 1.0 clients close unless told otherwise
        super().end_headers()
