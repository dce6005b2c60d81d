"""Fields that end at the router (RFC 9110 7.6.1), and its answer once it stops routing."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from test_review_stop34_router import RawBackend, _exchange

from modelship.deploy.local import Router


@pytest.fixture
def router() -> Iterator[Router]:
    r = Router()
    yield r
    r.close()


def _fields(head: bytes) -> list[bytes]:
    return [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:] if line]


def test_a_clients_hop_by_hop_fields_do_not_reach_the_backend(router: Router) -> None:
    # They did, on a Content-Length request: the head went as it came, so a client's
    # Connection: close closed the router's pooled connection to the backend after every
    # answer, and a field Connection names as the client's own reached the backend.
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        request = (
            b"POST /predict HTTP/1.1\r\nhost: x\r\nconnection: close, x-hop\r\n"
            b"x-hop: secret\r\nkeep-alive: timeout=5\r\nupgrade: websocket\r\n"
            b"te: trailers\r\nx-end: kept\r\ncontent-length: 2\r\n\r\n{}"
        )
        answer = _exchange(router, request)
        assert answer.startswith(b"HTTP/1.1 200 ")
        [forwarded] = backend.requests
        head, _, body = forwarded.partition(b"\r\n\r\n")
        assert body == b"{}"
        assert _fields(head) == [b"host", b"x-end", b"content-length"]
        assert b"content-length: 2" in head
    finally:
        backend.close()


def test_a_plain_request_is_forwarded_byte_for_byte(router: Router) -> None:
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        request = (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Case: Kept\r\nContent-Length: 2\r\n\r\n{}"
        )
        _exchange(router, request + b"GET /end HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert backend.requests[0] == request
    finally:
        backend.close()


def test_the_backends_connection_close_is_not_the_clients(router: Router) -> None:
    # The backend closing its own connection said "connection: close" to a client whose
    # connection the router kept open; the client then dropped a good connection.
    backend = RawBackend()  # it answers "connection: close" and closes
    try:
        router.set_backends({"a": (backend.port, 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n")
            first = b""
            while not first.endswith(b"ok"):
                chunk = sock.recv(65536)
                assert chunk, first
                first += chunk
            head = first.partition(b"\r\n\r\n")[0]
            assert b"connection" not in _fields(head), head
            assert b"content-length: 2" in head
            # The client's connection is still open: a second request is answered on it.
            sock.sendall(b"GET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            second = b""
            while chunk := sock.recv(65536):
                second += chunk
        assert second.startswith(b"HTTP/1.1 200 ")
        # The router closes this one after the answer, and says so.
        assert b"connection: close" in second.partition(b"\r\n\r\n")[0]
        assert [r.split(b" ")[1] for r in backend.requests] == [b"/a", b"/b"]
    finally:
        backend.close()


def test_a_head_answer_re_framed_keeps_the_length_of_the_body_it_describes(
    router: Router,
) -> None:
    backend = RawBackend(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\nconnection: close\r\n\r\n")
    try:
        router.set_backends({"a": (backend.port, 100)})
        answer = _exchange(router, b"HEAD /a HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"content-length: 1234" in head
        assert b"connection: close" in head
        assert body == b""
    finally:
        backend.close()


def test_once_stopped_the_router_says_it_is_shutting_down_and_closes(router: Router) -> None:
    # During LocalDeployer.close() it said "no slot receives traffic; deploy a version
    # first" and kept the connection, as if nothing had been deployed yet.
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        router.stop_routing()
        # The connection is closed after the answer: the second request is not read.
        answer = _exchange(
            router,
            b"GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        assert answer.count(b"HTTP/1.1 503 ") == 1, answer
        assert b"shutting down" in answer
        assert b"connection: close" in answer
        assert backend.requests == []
        # Setting backends again does not route anew: the stop is for good.
        router.set_backends({"a": (backend.port, 100)})
        assert b"shutting down" in _exchange(router, b"GET /c HTTP/1.1\r\nhost: x\r\n\r\n")
    finally:
        backend.close()


# --- connections that never finish a request, and an answer head too long -----------------


def _closed_within(router: Router, data: bytes, seconds: float) -> bytes:
    """Send ``data`` and nothing more; what the router sends before it closes, which it
    must do within ``seconds``."""
    with socket.create_connection(("127.0.0.1", router.port), timeout=seconds) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):  # a recv timing out fails the test
            out += chunk
    return out


@pytest.mark.parametrize(
    "data",
    [
        b"",  # a connection opened and left idle
        b"GET / HTTP/1.1\r\nhost: x\r\n",  # a head that stops half-way
        b"GET / HTTP/1.1\nhost: x\n\n",  # a head of bare LFs, never taken as a head
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{}",  # a body cut short
    ],
    ids=["idle", "half-head", "bare-lf", "short-body"],
)
def test_a_request_that_never_finishes_is_cut_off(
    router: Router, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    # They held the connection and its task for good: nothing timed out.
    from modelship.deploy.local import _router

    monkeypatch.setattr(_router, "_HEAD_SECONDS", 0.3, raising=False)
    monkeypatch.setattr(_router, "_BODY_SECONDS", 0.3, raising=False)
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        assert _closed_within(router, data, 10.0) == b""
        assert backend.requests == []
    finally:
        backend.close()


def test_a_kept_connection_serves_requests_spaced_within_the_timeout(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.deploy.local import _router

    monkeypatch.setattr(_router, "_HEAD_SECONDS", 5.0)
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
            for path in (b"/a", b"/b"):
                sock.sendall(b"GET " + path + b" HTTP/1.1\r\nhost: x\r\n\r\n")
                got = b""
                while not got.endswith(b"ok"):
                    chunk = sock.recv(65536)
                    assert chunk, got
                    got += chunk
                assert got.startswith(b"HTTP/1.1 200 ")
    finally:
        backend.close()


def test_an_answer_head_over_64_kib_is_a_502(router: Router) -> None:
    # The client got nothing (a LimitOverrunError escaped the handler) and the backend's
    # connection was left open.
    backend = RawBackend(b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n")
    try:
        router.set_backends({"a": (backend.port, 100)})
        answer = _exchange(router, b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        assert answer.startswith(b"HTTP/1.1 502 "), answer[:200]
        assert b"slot a failed" in answer
    finally:
        backend.close()


def test_a_connection_still_writing_an_answer_is_not_cut_off() -> None:
    # The wait for the next head began once the answer was handed to the transport, and
    # aborted the connection with the end of a large answer still queued for a client
    # reading slowly: the client got a truncated answer. Until the transport's buffer is
    # empty, the wait starts again.
    import asyncio

    from modelship.deploy.local._router import _CutOff

    class Transport:
        def __init__(self) -> None:
            self.queued = [100, 10, 0]  # bytes queued at each look
            self.aborted_with: int | None = None

        def get_write_buffer_size(self) -> int:
            return self.queued[0]

        def abort(self) -> None:
            self.aborted_with = self.queued[0]

    async def run() -> tuple[Transport, int]:
        transport = Transport()
        looks = 0

        def drained() -> None:
            nonlocal looks
            looks += 1
            transport.queued.pop(0)

        loop = asyncio.get_running_loop()
        _CutOff(loop, transport, 0.01)  # type: ignore[arg-type]
        for _ in range(2):  # the client reads some between two looks
            await asyncio.sleep(0.015)
            drained()
        await asyncio.sleep(0.05)
        return transport, looks

    transport, looks = asyncio.run(run())
    assert looks == 2
    assert transport.aborted_with == 0  # aborted only once nothing was left to send
