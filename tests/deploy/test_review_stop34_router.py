"""The router against raw backends: a late drain, request framing, repeated headers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from test_local_router import ask

from modelship.deploy.local import Router

_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


class RawBackend:
    """A backend on a plain socket: it keeps each request it receives whole (by its
    Content-Length) in ``requests``, then sends ``answer`` once ``release`` is set and
    closes the connection."""

    def __init__(self, answer: bytes = _OK, *, held: bool = False) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.arrived = threading.Event()  # set when a request is in whole
        self.release = threading.Event()
        if not held:
            self.release.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            for _ in range(1000):  # connections in one test
                conn, _ = self.listener.accept()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            data = b""
            for _ in range(10_000):  # reads of one request
                head, sep, body = data.partition(b"\r\n\r\n")
                lengths = [
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ]
                if sep and len(body) >= (lengths[0] if lengths else 0):
                    break
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data)
            self.arrived.set()
            self.release.wait(30)
            conn.sendall(self.answer)

    def close(self) -> None:
        self.release.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self.listener.close()


@pytest.fixture
def router() -> Iterator[Router]:
    r = Router()
    yield r
    r.close()


def _exchange(router: Router, data: bytes) -> bytes:
    """Send ``data`` on one connection; everything the router sends until it closes."""
    with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


# --- 1. a drain that ends after the slot was applied again --------------------------------


def _answering(name: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(name) + name


@pytest.mark.parametrize("same_port", [False, True], ids=["new-port", "same-port"])
def test_a_drain_ending_late_leaves_the_backend_set_again_under_its_name(
    router: Router, same_port: bool
) -> None:
    # It did not: the drain deleted whatever was under the name when it ended, so the
    # slot applied again meanwhile got no request (503) while the deployer gave it 100%.
    # On the same port, the draining backend itself was given the traffic, its request
    # in flight counted as the new one's, and then deleted all the same.
    old = RawBackend(_answering(b"old"), held=True)
    new = old if same_port else RawBackend(_answering(b"new"))
    try:
        router.set_backends({"green": (old.port, 100)})
        answers: list[tuple[int, str]] = []
        first = threading.Thread(target=lambda: answers.append(ask(router)))
        first.start()
        assert old.arrived.wait(30), "the request never reached the backend"
        drained: list[bool] = []
        drainer = threading.Thread(target=lambda: drained.append(router.drain("green", 30)))
        drainer.start()
        deadline = time.monotonic() + 30
        while router._backends["green"].drained is None:  # the drain has begun
            assert time.monotonic() < deadline, "the drain never began"
            threading.Event().wait(0.005)
        router.set_backends({"green": (new.port, 100)})  # the slot, applied again
        assert router.inflight("green") == 0  # the old request is not the new one's
        old.release.set()
        first.join(30)
        drainer.join(30)
        assert drained == [True]
        assert answers == [(200, "old")]
        expected = "old" if same_port else "new"
        assert ask(router) == (200, expected)
        assert router.inflight("green") == 0
    finally:
        old.close()
        new.close()


def test_a_draining_backend_pools_no_connection(router: Router) -> None:
    # Its server is stopped once the drain ends: the connection of a request that ended
    # after the drain gave up was pooled in a backend no longer routed to, open for good.
    held = RawBackend(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na", held=True)
    try:
        router.set_backends({"a": (held.port, 100)})
        backend = router._backends["a"]
        answers: list[tuple[int, str]] = []
        client = threading.Thread(target=lambda: answers.append(ask(router)))
        client.start()
        assert held.arrived.wait(30), "the request never reached the backend"
        assert not router.drain("a", timeout=0.0)  # gives up at once, the request goes on
        held.release.set()
        client.join(30)
        assert answers == [(200, "a")]
        assert backend.idle == []
    finally:
        held.close()


# --- 2. framing the router must not forward -------------------------------------------------

_BODY = b'{"instances": [[1, 0, 0, 0]]}'
_SMUGGLED = (
    b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
    % len(_BODY)
    + _BODY
)


@pytest.mark.parametrize(
    ("request_bytes", "status", "reason"),
    [
        # The body, a request of its own, was forwarded as a second request.
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n" + _SMUGGLED,
            400,
            b"does not end in chunked",
        ),
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
            b"transfer-encoding: gzip\r\n\r\n" + _SMUGGLED,
            400,
            b"does not end in chunked",
        ),
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n"
            b"connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            501,
            b"only chunked",
        ),
        # Not read as a Transfer-Encoding by the router; the servers may.
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding : chunked\r\n"
            b"connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            400,
            b"is not 'name: value'",
        ),
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\nx-a: 1\ntransfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            400,
            b"bare CR, a bare LF",
        ),
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n transfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            400,
            b"obsolete line folding",
        ),
        # Two lengths: the router read the first, a server may read the last.
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 8\r\ncontent-length: 2\r\n"
            b"connection: close\r\n\r\n{}345678",
            400,
            b"Content-Length given 2 times",
        ),
        # The same twice is refused as well (a choice: see _declared_length).
        (
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 2\r\n"
            b"connection: close\r\n\r\n{}",
            400,
            b"Content-Length given 2 times",
        ),
        (
            b"POST /predict HTTP/1.0\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n",
            400,
            b"HTTP/1.0",
        ),
    ],
    ids=[
        "te-gzip",
        "te-chunked-then-gzip",
        "te-gzip-chunked",
        "space-before-colon",
        "bare-lf",
        "obs-fold",
        "differing-lengths",
        "identical-lengths",
        "te-in-http10",
    ],
)
def test_a_request_framed_two_ways_is_refused_and_never_forwarded(
    router: Router, request_bytes: bytes, status: int, reason: bytes
) -> None:
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        answer = _exchange(router, request_bytes)
        assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:300]
        assert answer.count(b"HTTP/1.1 ") == 1, answer  # one answer, then the close
        assert b"connection: close" in answer
        assert reason in answer
        assert backend.requests == []
        assert ask(router) == (200, "ok")  # the router serves on
    finally:
        backend.close()


@pytest.mark.parametrize(
    "connection",
    [
        b"connection: close, x-foo",
        b"connection: Keep-Alive, CLOSE",
        b"connection: x\r\nconnection: close",
    ],
    ids=["close-first", "any-case", "second-field"],
)
def test_connection_close_among_other_tokens_closes(router: Router, connection: bytes) -> None:
    # It did not: only a Connection that was exactly "close" closed, so the request
    # pipelined after this one was answered too.
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        first = b"GET /a HTTP/1.1\r\nhost: x\r\n" + connection + b"\r\n\r\n"
        second = b"GET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        answer = _exchange(router, first + second)
        assert answer.count(b"HTTP/1.1 200 ") == 1, answer
        assert [r.split(b" ")[1] for r in backend.requests] == [b"/a"]
    finally:
        backend.close()


def test_transfer_encoding_with_content_length_is_read_by_its_chunks_then_closed(
    router: Router,
) -> None:
    # RFC 9112 6.1: the chunks say the length, and the connection is closed after the
    # answer (it forwarded the request and kept the connection for another).
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        first = (
            b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n"
            b"transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        second = b"GET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        answer = _exchange(router, first + second)
        assert answer.count(b"HTTP/1.1 200 ") == 1, answer
        assert b"connection: close" in answer
        [forwarded] = backend.requests
        head, _, body = forwarded.partition(b"\r\n\r\n")
        assert body == b"hello"
        assert head.lower().count(b"content-length") == 1
        assert b"content-length: 5" in head.lower()
        assert b"transfer-encoding" not in head.lower()
    finally:
        backend.close()


def test_requests_framed_plainly_still_go_through_on_one_connection(router: Router) -> None:
    backend = RawBackend()
    try:
        router.set_backends({"a": (backend.port, 100)})
        requests = [
            # An empty line before a request line is ignored (RFC 9112 2.2).
            b"\r\nPOST /chunked HTTP/1.1\r\nhost: x\r\ntransfer-encoding: Chunked\r\n"
            b"x-tag: 1\r\nx-tag: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            b"POST /expect HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nexpect: 100-continue\r\n"
            b"connection: keep-alive, x-foo\r\n\r\n{}",
            b"POST /plain HTTP/1.1\r\nhost: x\r\ncontent-length:2\r\n\r\n{}",
            b"GET /last HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ]
        answer = _exchange(router, b"".join(requests))
        assert answer.count(b"HTTP/1.1 200 ") == 4, answer
        assert answer.count(b"HTTP/1.1 100 Continue") == 1
        paths = [r.split(b" ")[1] for r in backend.requests]
        assert paths == [b"/chunked", b"/expect", b"/plain", b"/last"]
        # A re-framed request keeps its repeated fields, in order.
        assert b"x-tag: 1\r\nx-tag: 2\r\n" in backend.requests[0]
    finally:
        backend.close()


# --- 3. repeated response fields --------------------------------------------------------


def test_repeated_response_fields_survive_a_chunked_answer_re_framed(router: Router) -> None:
    # They did not: the fields of a re-framed answer were a dict, so only the last
    # Set-Cookie reached the client.
    backend = RawBackend(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nset-cookie: a=1\r\n"
        b"x-other: o\r\nSet-Cookie: b=2\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    try:
        router.set_backends({"a": (backend.port, 100)})
        answer = _exchange(router, b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert body == b"hello"
        assert b"set-cookie: a=1\r\nx-other: o\r\nset-cookie: b=2\r\n" in head
        assert b"content-length: 5" in head
        assert b"transfer-encoding" not in head
    finally:
        backend.close()
