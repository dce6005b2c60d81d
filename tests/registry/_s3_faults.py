"""A fault-injecting HTTP proxy in front of moto's S3 server, for the S3 failure tests.

Real networks lose replies after the server acted on a request, cut bodies halfway and
hang; moto does none of that. Requests pass through to moto unchanged unless a rule
matches; the first rule that answers an action decides what happens to the request:

``"500-after"``    forward, then answer 500 InternalError (the server acted; the reply is lost)
``"drop-after"``   forward, then close the connection without a reply
``"drop-before"``  close the connection without forwarding
``"truncate:N"``   forward, send the headers and the first N bytes of the body, then close
``"status:C"``     answer status C (409, 500, 503 ...) with S3's error code, without forwarding
``"hang"``         never answer (until the proxy stops)
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Rule = Callable[[str, str, Any], "str | None"]

_CODES = {
    409: b"ConditionalRequestConflict",
    412: b"PreconditionFailed",
    500: b"InternalError",
    503: b"SlowDown",
}


def once(matches: Callable[[str, str, Any], bool], action: str) -> Rule:
    """A rule answering ``action`` to the first request ``matches`` accepts, then nothing."""
    fired = threading.Event()

    def rule(method: str, path: str, headers: Any) -> str | None:
        if not fired.is_set() and matches(method, path, headers):
            fired.set()
            return action
        return None

    return rule


def always(matches: Callable[[str, str, Any], bool], action: str) -> Rule:
    """A rule answering ``action`` to every request ``matches`` accepts."""
    return lambda method, path, headers: action if matches(method, path, headers) else None


class FaultProxy:
    """The proxy, listening on a free loopback port; ``log`` holds (method, path, action)."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (str(target.hostname), int(target.port or 80))
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, str | None]] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def options(self, **extra: Any) -> dict[str, Any]:
        """s3fs storage options that send every request through this proxy."""
        return {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            **extra,
        }

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _action(self, method: str, path: str, headers: Any) -> str | None:
        for rule in self.rules:
            action = rule(method, path, headers)
            if action:
                return action
        return None

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        sent["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            reply = connection.getresponse()
            return reply.status, reply.getheaders(), reply.read()
        finally:
            connection.close()

    def _handler(proxy) -> type[BaseHTTPRequestHandler]:  # noqa: N805 - the handler's self is the request
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding") == "chunked":
                    return b"".join(_chunks(self.rfile))
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _cut(self) -> None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in _HOP_HEADERS:
                        self.send_header(k, v)
                length = str(len(body))
                if self.command == "HEAD":  # no body: the length is the object's
                    length = {k.lower(): v for k, v in headers}.get("content-length", "0")
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, status: int) -> None:
                code = _CODES.get(status, b"Error")
                body = b"<Error><Code>%s</Code><Message>injected</Message></Error>" % code
                self._send(status, [("Content-Type", "application/xml")], body)

            def _do(self) -> None:
                body = self._body()
                action = proxy._action(self.command, self.path, self.headers)
                proxy.log.append((self.command, self.path, action))
                if action == "hang":
                    proxy._stopping.wait()
                    return
                if action == "drop-before":
                    self._cut()
                    return
                if action and action.startswith("status:"):
                    self._error(int(action.split(":")[1]))
                    return
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                if action == "drop-after":
                    self._cut()
                elif action == "500-after":
                    self._error(500)
                elif action and action.startswith("truncate:"):
                    keep = int(action.split(":")[1])
                    self.send_response(status)
                    for k, v in headers:
                        if k.lower() not in ("transfer-encoding", "connection"):
                            self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data[:keep])
                    self._cut()
                else:
                    self._send(status, headers, data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _do  # noqa: N815 - http.server's names

        return Handler


_HOP_HEADERS = ("transfer-encoding", "content-length", "connection")


def _chunks(stream: Any) -> Iterator[bytes]:
    """The chunks of a chunked request body."""
    while True:
        size = int(stream.readline().strip().split(b";")[0], 16)
        if size == 0:
            stream.readline()
            return
        yield stream.read(size)
        stream.readline()
