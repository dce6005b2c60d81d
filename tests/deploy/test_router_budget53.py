"""The router bounds the request bodies it holds across connections, and passes no bytes
that are not an HTTP/1.x request line to a server."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from modelship.deploy.local import Router, _router

MAX_BODY = 1000
BUDGET = _router._HELD_BODIES * MAX_BODY


class _Backend(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 answering every POST with the size of its body."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen = 0  # requests that reached it

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(handler) -> None:  # noqa: N805 - the server is self
                body = handler.rfile.read(int(handler.headers.get("content-length", 0)))
                self.seen += 1
                answer = json.dumps({"size": len(body)}).encode()
                handler.send_response(200)
                handler.send_header("content-length", str(len(answer)))
                handler.end_headers()
                handler.wfile.write(answer)

            do_GET = do_POST  # noqa: N815 - the handler's naming

            def log_message(handler, *args: object) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def routed() -> Iterator[tuple[Router, _Backend]]:
    backend = _Backend()
    router = Router(max_body=MAX_BODY)
    router.set_backends({"blue": (backend.server_address[1], 100)})
    yield router, backend
    router.close()
    backend.shutdown()
    backend.server_close()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # bounded by the deadline
        if time.monotonic() > deadline:
            raise AssertionError(f"not within 10 s: {what}")
        time.sleep(0.01)


def _held(router: Router) -> int:
    return router._held.held


def _post(size: int, close: bool = True) -> bytes:
    fields = b"Connection: close\r\n" if close else b""
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (fields, size)
    return head + b"x" * size


def _exchange(router: Router, data: bytes) -> bytes:
    """Send ``data`` on one connection; everything the router sends until it closes."""
    with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):  # bounded: each answer here closes the connection
            out += chunk
    return out


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _hold(router: Router, count: int, size: int) -> list[socket.socket]:
    """``count`` connections each sending all but one byte of a ``size``-byte body."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", router.port), timeout=30)
        sock.sendall(_post(size)[:-1])
        held.append(sock)
    return held


def test_bodies_past_the_budget_are_refused_503_and_the_room_comes_back(
    routed: tuple[Router, _Backend],
) -> None:
    router, backend = routed
    waiting = _hold(router, _router._HELD_BODIES, MAX_BODY)
    try:
        _wait_for(lambda: _held(router) == BUDGET, "every held body counted")
        refused = _exchange(router, _post(1))
        assert _status(refused) == 503, refused
        body = json.loads(refused.partition(b"\r\n\r\n")[2])
        assert f"limit of {BUDGET} bytes" in body["error"], body
        assert "send the request again shortly" in body["error"], body
        assert body["request_id"]
        # A request without a body takes nothing, and is still served.
        assert _status(_exchange(router, b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"))
        assert _held(router) == BUDGET
        # One client leaving gives its room back: a whole body is served again.
        waiting.pop().close()
        _wait_for(lambda: _held(router) == BUDGET - MAX_BODY, "the room given back")
        served = _exchange(router, _post(MAX_BODY))
        assert _status(served) == 200, served
        assert json.loads(served.partition(b"\r\n\r\n")[2]) == {"size": MAX_BODY}
    finally:
        for sock in waiting:
            sock.close()
    _wait_for(lambda: _held(router) == 0, "every body given back")
    assert backend.seen == 2  # the GET and the one whole POST: none of the held bodies


def test_answered_requests_give_their_bodies_back(routed: tuple[Router, _Backend]) -> None:
    router, backend = routed
    with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
        for _ in range(3 * _router._HELD_BODIES):  # three budgets' worth, one connection
            sock.sendall(_post(MAX_BODY, close=False))
            answer = b""
            while not answer.endswith(b"}"):  # bounded: the answer is a short JSON body
                chunk = sock.recv(65536)
                assert chunk, answer
                answer += chunk
            assert _status(answer) == 200, answer
    assert _held(router) == 0
    assert backend.seen == 3 * _router._HELD_BODIES


def test_a_chunked_body_takes_its_room_chunk_by_chunk(routed: tuple[Router, _Backend]) -> None:
    router, backend = routed
    waiting = _hold(router, _router._HELD_BODIES - 1, MAX_BODY) + _hold(router, 1, 500)
    left = 500
    try:
        _wait_for(lambda: _held(router) == BUDGET - left, "the held bodies counted")
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        fits = head + b"190\r\n" + b"x" * 400 + b"\r\n0\r\n\r\n"  # 400 of the 500 left
        assert _status(_exchange(router, fits)) == 200
        # 400 fit, 200 more do not: refused at the second chunk, and the first given back.
        too_much = fits[: -len(b"0\r\n\r\n")] + b"c8\r\n" + b"x" * 200 + b"\r\n0\r\n\r\n"
        refused = _exchange(router, too_much)
        assert _status(refused) == 503, refused
        _wait_for(lambda: _held(router) == BUDGET - left, "the first chunk given back")
    finally:
        for sock in waiting:
            sock.close()
    _wait_for(lambda: _held(router) == 0, "every body given back")
    assert backend.seen == 1


@pytest.mark.parametrize(
    "first",
    [
        b"hello there",
        b"GET /predict",
        b"GET  /predict HTTP/1.1",
        b"GET /predict HTTP/2.0",
        b"PRI * HTTP/2.0",
        b"GET /pre dict HTTP/1.1",
    ],
)
def test_a_first_line_that_is_no_http1_request_line_is_the_routers_400(
    routed: tuple[Router, _Backend], first: bytes
) -> None:
    router, backend = routed
    answer = _exchange(router, first + b"\r\nHost: x\r\n\r\n")
    assert _status(answer) == 400, answer
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert "is not an HTTP/1.x request line" in body["error"], body
    assert body["request_id"]
    assert backend.seen == 0


@pytest.mark.parametrize(
    "first",
    [b"GET /health HTTP/1.0", b"POST /v2/models/m/infer?x=%20 HTTP/1.1", b"OPTIONS * HTTP/1.1"],
)
def test_http1_request_lines_are_forwarded(routed: tuple[Router, _Backend], first: bytes) -> None:
    router, backend = routed
    answer = _exchange(router, first + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    if first.startswith(b"OPTIONS"):  # the stdlib server has no OPTIONS: its own 501
        assert _status(answer) == 501, answer
    else:
        assert _status(answer) == 200, answer
        assert backend.seen == 1
