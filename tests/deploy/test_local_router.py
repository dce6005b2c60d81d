"""The router against stub backends: exact split, draining, stale pooled connections."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from modelship.deploy.local import Router


class Stub:
    """An asyncio HTTP/1.1 server answering its name, after ``delay`` seconds."""

    def __init__(self, name: str, delay: float = 0.0, keep_alive: bool = True) -> None:
        self.name, self.delay, self.keep_alive = name, delay, keep_alive
        self.closed = 0  # connections this stub has closed, counted once closed
        self._closed_changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.started.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                await asyncio.sleep(self.delay)
                body = self.name.encode()
                sent = b"" if head.startswith(b"HEAD ") else body  # HEAD: length, no body
                head_of_answer = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
                writer.write(head_of_answer + sent)
                await writer.drain()
                if not self.keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            with self._closed_changed:
                self.closed += 1
                self._closed_changed.notify_all()

    def wait_closed(self, count: int, timeout: float = 30) -> None:
        """Block until this stub has closed ``count`` connections (bounded by ``timeout``)."""
        with self._closed_changed:
            if not self._closed_changed.wait_for(lambda: self.closed >= count, timeout):
                raise AssertionError(f"the stub closed {self.closed} of {count} connections")

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.wait_closed()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def router() -> Iterator[Router]:
    r = Router()
    yield r
    r.close()


def ask(router: Router, conn: http.client.HTTPConnection | None = None) -> tuple[int, str]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
    conn.request("POST", "/predict", body=b"{}")
    response = conn.getresponse()
    return response.status, response.read().decode()


def test_the_split_is_exact_over_every_hundred_requests(router: Router) -> None:
    a, b = Stub("a"), Stub("b")
    try:
        router.set_backends({"a": (a.port, 70), "b": (b.port, 30)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        assert Counter(ask(router, conn)[1] for _ in range(100)) == {"a": 70, "b": 30}
    finally:
        a.close()
        b.close()


def test_a_weight_change_applies_to_the_next_request(router: Router) -> None:
    a, b = Stub("a"), Stub("b")
    try:
        router.set_backends({"a": (a.port, 100), "b": (b.port, 0)})
        assert ask(router)[1] == "a"
        router.set_backends({"a": (a.port, 0), "b": (b.port, 100)})
        assert ask(router)[1] == "b"
    finally:
        a.close()
        b.close()


def test_drain_waits_for_the_requests_in_flight(router: Router) -> None:
    slow, fast = Stub("slow", delay=0.5), Stub("fast")
    try:
        router.set_backends({"slow": (slow.port, 100)})
        answers: list[tuple[int, str]] = []
        client = threading.Thread(target=lambda: answers.append(ask(router)))
        client.start()
        deadline = time.monotonic() + 30
        while not router.inflight("slow"):
            assert time.monotonic() < deadline, "the request never reached the router"
            threading.Event().wait(0.005)
        router.set_backends({"fast": (fast.port, 100)})
        assert router.drain("slow", timeout=10)
        client.join(10)
        assert answers == [(200, "slow")]
        assert router.inflight("slow") == 0
    finally:
        slow.close()
        fast.close()


def test_a_pooled_connection_the_backend_closed_is_not_used(router: Router) -> None:
    stub = Stub("a", keep_alive=False)  # closes every connection after one answer
    try:
        router.set_backends({"a": (stub.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        answers = []
        for i in range(5):
            answers.append(ask(router, conn))
            # As a keep-alive timeout closes it: some time after the answer, so the
            # router has seen the close before it picks the connection again.
            stub.wait_closed(i + 1)
        assert answers == [(200, "a")] * 5
    finally:
        stub.close()


def test_a_get_on_a_pooled_connection_the_backend_closed_is_sent_again(router: Router) -> None:
    stub = Stub("a", keep_alive=False)
    try:
        router.set_backends({"a": (stub.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        for _ in range(5):  # no pause: the close may not have been seen yet
            conn.request("GET", "/ready")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"a")
    finally:
        stub.close()


def test_a_backend_that_is_gone_gets_a_502(router: Router) -> None:
    stub = Stub("a")
    port = stub.port
    stub.close()
    router.set_backends({"a": (port, 100)})
    status, body = ask(router)
    assert status == 502
    assert "slot a failed" in body


def test_a_head_request_gets_the_length_but_no_body(router: Router) -> None:
    stub = Stub("abc")
    try:
        router.set_backends({"a": (stub.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        conn.request("HEAD", "/health")
        response = conn.getresponse()
        assert (response.status, response.getheader("content-length")) == (200, "3")
        assert response.read() == b""
        assert ask(router, conn) == (200, "abc")  # the connection is still in step
    finally:
        stub.close()


def test_a_client_expecting_100_continue_is_told_to_send_its_body(router: Router) -> None:
    import socket

    stub = Stub("a")
    try:
        router.set_backends({"a": (stub.port, 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n"
                b"expect: 100-continue\r\n\r\n"
            )
            assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(b"{}")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
    finally:
        stub.close()


def test_a_chunked_request_body_is_forwarded_with_its_length(router: Router) -> None:
    import socket

    stub = Stub("a")
    try:
        router.set_backends({"a": (stub.port, 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                b"2\r\n{}\r\n0\r\n\r\n"
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
    finally:
        stub.close()


def _answer(sock: object) -> bytes:
    """Everything the router sends until it closes the connection."""
    import socket

    assert isinstance(sock, socket.socket)
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


@pytest.mark.parametrize(
    "request_head",
    [
        # A declared length over the limit: refused before a byte of the body is read
        # (the body of 10 GiB is never sent; the router used to wait for it).
        b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 10737418240\r\n\r\n{}",
        # The same length behind Expect: no 100 Continue, the refusal at once.
        b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-length: 10737418240\r\n"
        b"expect: 100-continue\r\n\r\n",
        # A chunked body: refused as soon as it passes the limit.
        b"POST /predict HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n",
    ],
    ids=["content-length", "expect-100-continue", "chunked"],
)
def test_a_request_body_over_the_limit_is_refused_by_the_router_with_413(
    request_head: bytes,
) -> None:
    import json
    import socket

    router = Router(max_body=1500)
    stub = Stub("a")
    try:
        router.set_backends({"a": (stub.port, 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
            sock.sendall(request_head)
            answer = _answer(sock)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"connection: close" in head
        error = json.loads(body)["error"]
        assert "over the limit of 1500 bytes" in error
        assert "--max-body-bytes" in error
        assert router.inflight("a") == 0
        # Under the limit, the same router forwards as before.
        assert ask(router) == (200, "a")
    finally:
        router.close()
        stub.close()


def test_a_body_at_the_limit_is_forwarded() -> None:
    router = Router(max_body=1500)
    stub = Stub("a")
    try:
        router.set_backends({"a": (stub.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        conn.request("POST", "/predict", body=b"x" * 1500)
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"a")
    finally:
        router.close()
        stub.close()


class Swallower(Stub):
    """Reads each request whole, counts it, and closes without answering (a crash after
    the request arrived)."""

    received = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":")[1]))
            self.received += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def test_a_post_the_backend_received_is_not_sent_again(router: Router) -> None:
    # It was: a backend that took the request and closed before answering got it twice
    # (a prediction made, and logged, twice).
    stub = Swallower("s")
    try:
        router.set_backends({"s": (stub.port, 100)})
        status, _ = ask(router)
        assert status == 502
        assert stub.received == 1
    finally:
        stub.close()


def test_a_get_the_backend_dropped_is_tried_once_more(router: Router) -> None:
    stub = Swallower("s")
    try:
        router.set_backends({"s": (stub.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        conn.request("GET", "/ready")
        assert conn.getresponse().status == 502
        assert stub.received == 1  # a fresh connection failing is not retried either
    finally:
        stub.close()


def test_a_pooled_connection_idle_too_long_is_not_used(router: Router) -> None:
    from modelship.deploy.local import _router

    stub = Stub("a")
    try:
        router.set_backends({"a": (stub.port, 100)})
        assert ask(router) == (200, "a")
        assert len(router._backends["a"].idle) == 1
        threading.Event().wait(_router._IDLE_SECONDS + 0.2)
        assert ask(router) == (200, "a")  # on a new connection; the old one was closed
        assert len(router._backends["a"].idle) == 1
    finally:
        stub.close()
