"""The router's own answers carry a request id, as every answer of ``modelship serve`` does.

A ``400``, ``413``, ``431``, ``501``, ``502`` or ``503`` the router makes itself used to
carry neither an ``X-Request-ID`` field nor a ``"request_id"`` in its body, so a client
behind the router could not tell which of its requests a ``502`` answered. The id is the
client's when the server would echo it (printable ASCII, 1 to 128 characters), else one
made in the server's format (16 hex digits, then ``-`` and a counter).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator

import pytest
from test_review_stop34_router import RawBackend

from modelship.deploy.local import Router

_MADE = re.compile(r"[0-9a-f]{16}-[1-9][0-9]*")


@pytest.fixture
def router() -> Iterator[Router]:
    r = Router(max_body=100)
    yield r
    r.close()


def _exchange(router: Router, data: bytes) -> bytes:
    """Send ``data`` on one connection; everything the router sends until it closes."""
    with socket.create_connection(("127.0.0.1", router.port), timeout=30) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):  # bounded: each answer here closes the connection
            out += chunk
    return out


def _ids(answer: bytes) -> tuple[bytes, list[str], str | None]:
    """An answer's status line, its ``x-request-id`` values and its body's ``request_id``
    (None: no body)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ids = [
        line.split(b":", 1)[1].strip().decode()
        for line in lines
        if line.lower().startswith(b"x-request-id:")
    ]
    return lines[0], ids, (json.loads(body)["request_id"] if body else None)


def _one_made(ids: list[str]) -> str:
    """The one id in ``ids``, checked to be one made in the servers' format."""
    assert len(ids) == 1, ids
    assert _MADE.fullmatch(ids[0]), ids
    return ids[0]


def _request(method: bytes, fields: bytes = b"", body: bytes = b"") -> bytes:
    return (
        method + b" /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + b"\r\n" + body
    )


def _gone_port() -> int:
    """A loopback port nothing listens on any more."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port: int = listener.getsockname()[1]
    return port


def test_a_413_of_the_router_echoes_the_clients_request_id(router: Router) -> None:
    answer = _exchange(
        router, _request(b"POST", b"X-Request-ID: order-17\r\nContent-Length: 1000\r\n")
    )
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert (header, body) == (["order-17"], "order-17")
    assert "over the limit of 100 bytes" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


def test_a_413_of_the_router_without_a_client_id_carries_one_it_made(router: Router) -> None:
    answer = _exchange(router, _request(b"POST", b"Content-Length: 1000\r\n"))
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert body == _one_made(header)


def test_a_chunked_body_over_the_limit_echoes_the_clients_id(router: Router) -> None:
    chunks = b"%x\r\n" % 200 + b"a" * 200 + b"\r\n0\r\n\r\n"
    fields = b"X-Request-ID: chunky\r\nTransfer-Encoding: chunked\r\n"
    status, header, body = _ids(_exchange(router, _request(b"POST", fields, chunks)))
    assert status.startswith(b"HTTP/1.1 413 ")
    assert (header, body) == (["chunky"], "chunky")


def test_a_503_with_no_slot_carries_the_clients_id_on_a_kept_alive_connection(
    router: Router,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
    try:
        conn.request("POST", "/predict", body=b"{}", headers={"X-Request-ID": "abc 1"})
        first = conn.getresponse()
        first_body = json.loads(first.read())
        conn.request("POST", "/predict", body=b"{}")  # the same connection, no id
        second = conn.getresponse()
        second_body = json.loads(second.read())
    finally:
        conn.close()
    assert first.status == second.status == 503
    assert first.getheader("X-Request-ID") == first_body["request_id"] == "abc 1"
    made = second.getheader("X-Request-ID")
    assert made is not None
    assert second_body["request_id"] == _one_made([made])
    assert "no slot receives traffic" in second_body["error"]


def test_a_503_of_a_router_shutting_down_carries_an_id(router: Router) -> None:
    router.stop_routing()
    status, header, body = _ids(_exchange(router, _request(b"GET", b"X-Request-ID: late\r\n")))
    assert status.startswith(b"HTTP/1.1 503 ")
    assert (header, body) == (["late"], "late")


@pytest.mark.parametrize("given", [b"X-Request-ID: batch-9\r\n", b""], ids=["client", "made"])
def test_a_502_for_a_slot_whose_server_is_gone_carries_an_id(router: Router, given: bytes) -> None:
    router.set_backends({"a": (_gone_port(), 100)})
    answer = _exchange(router, _request(b"POST", given + b"Content-Length: 2\r\n", b"{}"))
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 502 "), answer[:200]
    if given:
        assert (header, body) == (["batch-9"], "batch-9")
    else:
        assert body == _one_made(header)
    assert "slot a failed" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


def test_a_400_for_a_length_that_is_no_number_echoes_the_clients_id(router: Router) -> None:
    answer = _exchange(router, _request(b"POST", b"X-Request-ID: r-1\r\nContent-Length: abc\r\n"))
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert (header, body) == (["r-1"], "r-1")


def test_a_501_for_a_coding_the_router_cannot_undo_echoes_the_clients_id(router: Router) -> None:
    fields = b"X-Request-ID: r-2\r\nTransfer-Encoding: gzip, chunked\r\n"
    status, header, body = _ids(_exchange(router, _request(b"POST", fields)))
    assert status.startswith(b"HTTP/1.1 501 ")
    assert (header, body) == (["r-2"], "r-2")


@pytest.mark.parametrize(
    "head",
    [
        b"POST /predict HTTP/1.1\r\nX-Request-ID: mine\r\nBad Name: 1\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nX-Request-ID: mine\r\nHost: x\nEvil: 1\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nX-Request-ID: mine\r\n folded\r\n\r\n",
    ],
    ids=["space-in-name", "bare-lf", "folded"],
)
def test_a_400_for_a_head_that_cannot_be_read_carries_a_made_id(
    router: Router, head: bytes
) -> None:
    answer = _exchange(router, head)
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 400 "), answer[:200]
    # The head is not trusted, the X-Request-ID in it neither.
    assert body == _one_made(header)


def test_a_431_for_a_head_over_64_kib_carries_a_made_id(router: Router) -> None:
    big = b"X-Request-ID: mine\r\nX-Big: " + b"a" * 70_000 + b"\r\n"
    status, header, body = _ids(_exchange(router, _request(b"GET", big)))
    assert status.startswith(b"HTTP/1.1 431 ")
    assert body == _one_made(header)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        (b"Content-Length: 1000\r\n", b"413"),
        (b"Content-Length: abc\r\n", b"400"),
        (b"", b"503"),
    ],
)
def test_a_head_request_gets_the_id_in_the_header_and_no_body(
    router: Router, fields: bytes, status: bytes
) -> None:
    answer = _exchange(router, _request(b"HEAD", b"X-Request-ID: h-1\r\n" + fields))
    line, header, body = _ids(answer)
    assert line.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert header == ["h-1"]
    assert body is None  # nothing after the head
    assert answer.endswith(b"\r\n\r\n")


def test_a_head_request_answered_502_gets_the_id_and_no_body(router: Router) -> None:
    router.set_backends({"a": (_gone_port(), 100)})
    answer = _exchange(router, _request(b"HEAD", b"X-Request-ID: h-2\r\n"))
    line, header, body = _ids(answer)
    assert line.startswith(b"HTTP/1.1 502 "), answer[:200]
    assert (header, body) == (["h-2"], None)


@pytest.mark.parametrize(
    "given",
    [b"x" * 129, "caf\u00e9".encode(), b"a\x7fb", b"a\x01b"],
    ids=["129-characters", "non-ascii", "del", "control"],
)
def test_a_client_id_the_server_would_not_echo_is_replaced_by_a_made_one(
    router: Router, given: bytes
) -> None:
    answer = _exchange(
        router, _request(b"POST", b"X-Request-ID: " + given + b"\r\nContent-Length: 1000\r\n")
    )
    status, header, body = _ids(answer)
    assert status.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert body == _one_made(header)


def test_a_client_id_of_128_printable_characters_is_echoed(router: Router) -> None:
    given = "~ " + "x" * 126
    answer = _exchange(
        router, _request(b"POST", f"X-Request-ID: {given}\r\nContent-Length: 1000\r\n".encode())
    )
    assert _ids(answer)[1:] == ([given], given)


def test_only_the_first_client_id_counts_as_on_the_server(router: Router) -> None:
    fields = (
        b"X-Request-ID: " + b"x" * 129 + b"\r\nX-Request-ID: second\r\nContent-Length: 1000\r\n"
    )
    header = _ids(_exchange(router, _request(b"POST", fields)))[1]
    _one_made(header)


def test_made_ids_count_up_under_one_prefix_per_router(router: Router) -> None:
    made = [_ids(_exchange(router, _request(b"GET")))[1][0] for _ in range(3)]
    prefixes = {m.split("-")[0] for m in made}
    counts = [int(m.split("-")[1]) for m in made]
    assert len(prefixes) == 1
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2]
    other = Router()
    try:
        theirs = _ids(_exchange(other, _request(b"GET")))[1][0]
    finally:
        other.close()
    assert theirs.split("-")[0] not in prefixes  # 64 random bits of each router's own


def test_a_forwarded_request_and_its_answer_carry_no_id_the_router_added(router: Router) -> None:
    backend = RawBackend()  # answers 200 "ok" without an X-Request-ID
    try:
        router.set_backends({"a": (backend.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        try:
            conn.request("POST", "/predict", body=b"{}")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
            assert response.getheader("X-Request-ID") is None
        finally:
            conn.close()
    finally:
        backend.close()
    assert len(backend.requests) == 1
    assert b"x-request-id" not in backend.requests[0].lower()
