"""The router bounds the request bodies it holds across connections, and passes no bytes
that are not an HTTP/1.x request line to a server."""

from __future__ import annotations

import gc
import http.server
import json
import socket
import struct
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

    def __init__(self, delay: float = 0.0) -> None:
        self.seen = 0  # requests read whole and about to be answered

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(handler) -> None:  # noqa: N805 - the server is self
                body = handler.rfile.read(int(handler.headers.get("content-length", 0)))
                time.sleep(delay)
                answer = json.dumps({"size": len(body)}).encode()
                # Counted before the answer is sent: a client that has its answer finds
                # its request counted (counting after the write raced the client's look).
                self.seen += 1
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


class _Hung:
    """A real server on 127.0.0.1 that reads what it is sent and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.received = 0  # bytes read, all connections
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:  # bounded by close(): accept then raises
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:  # bounded by the peer or close(): recv then returns b"" or raises
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.received += len(data)

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()


def test_requests_waiting_on_a_slot_that_never_answers_take_no_room(
    routed: tuple[Router, _Backend],
) -> None:
    router, blue = routed
    green = _Hung()
    waiting: list[socket.socket] = []
    try:
        router.set_backends({"green": (green.port, 100)})
        count = _router._HELD_BODIES + 8  # more bodies than the budget holds
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", router.port), timeout=30)
            sock.sendall(_post(MAX_BODY))
            waiting.append(sock)
        _wait_for(lambda: green.received >= count * MAX_BODY, "every request sent to green")
        _wait_for(lambda: _held(router) == 0, "the room of the sent bodies given back")
        assert router.inflight("green") == count
        # green hangs; blue takes the traffic, and bodies are served again.
        router.set_backends({"green": (green.port, 0), "blue": (blue.server_address[1], 100)})
        served = _exchange(router, _post(MAX_BODY))
        assert _status(served) == 200, served
    finally:
        for sock in waiting:
            sock.close()
        green.close()


def test_a_client_leaving_while_its_request_waits_leaves_no_task_to_the_collector(
    routed: tuple[Router, _Backend], caplog: pytest.LogCaptureFixture
) -> None:
    router, _ = routed
    green = _Hung()
    try:
        router.set_backends({"green": (green.port, 100)})
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
                sock.sendall(_post(100))
                _wait_for(lambda: router.inflight("green") > 0, "the request at green")
        _wait_for(lambda: green.received >= 4 * 100, "every request sent to green")
        with caplog.at_level("ERROR", logger="asyncio"):
            gc.collect()
            time.sleep(0.2)
        assert not [r for r in caplog.records if "destroyed" in r.getMessage()], caplog.text
        assert router.inflight("green") == 4  # still waiting on green, on the router's loop
    finally:
        green.close()


def test_a_client_that_resets_before_its_answer_ends_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = _Backend(delay=0.3)
    router = Router(max_body=MAX_BODY)
    try:
        router.set_backends({"blue": (slow.server_address[1], 100)})
        with caplog.at_level("ERROR", logger="asyncio"):
            for _ in range(3):
                sock = socket.create_connection(("127.0.0.1", router.port), timeout=30)
                sock.sendall(_post(100))
                _wait_for(lambda: router.inflight("blue") > 0, "the request at blue")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()  # a reset
            _wait_for(lambda: slow.seen == 3, "every request answered by blue")
            _wait_for(lambda: router.inflight("blue") == 0, "every answer handled")
        assert not caplog.records, caplog.text
        assert _held(router) == 0
    finally:
        router.close()
        slow.shutdown()
        slow.server_close()
