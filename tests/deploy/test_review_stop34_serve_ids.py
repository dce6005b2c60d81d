"""Every answer of the model server carries ``X-Request-ID``, and every error body the id.

docs/serve.md promises both; probes, metadata, ``/metrics`` and Starlette's own 404/405
answers used to carry neither. The routes are read from the app, so a new endpoint is
checked too.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from starlette.routing import Route

from modelship.deploy.serve import ModelServer, ServeConfig

uvicorn = pytest.importorskip("uvicorn")

Answer = tuple[int, dict[str, str], bytes]
Call = Callable[..., Answer]


def _model(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.sum(axis=1))


@pytest.fixture
def serve() -> Iterator[Callable[[ModelServer], Call]]:
    """``serve(server)``: the server's app on a loopback port, and a function making one
    request to it (method, path, body, headers) that returns status, headers and body."""
    stops: list[Callable[[], None]] = []

    def _serve(server: ModelServer) -> Call:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        web = uvicorn.Server(uvicorn.Config(server.app, log_level="critical", lifespan="on"))
        thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()

        def stop() -> None:
            web.should_exit = True
            thread.join(10)
            sock.close()

        stops.append(stop)
        for _ in range(400):
            if web.started:
                break
            time.sleep(0.05)
        assert web.started, "the server did not start"

        def call(
            method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
        ) -> Answer:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                answer = conn.getresponse()
                return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
            finally:
                conn.close()

        return call

    yield _serve
    for stop in stops:
        stop()


def _ready_server() -> ModelServer:
    return ModelServer(
        lambda: _model, name="adder", version="1", config=ServeConfig(warmup=[[0.0, 0.0]])
    )


def _wait_ready(call: Call) -> None:
    for _ in range(400):
        if call("GET", "/ready")[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError("not ready after 20 s")


def _check(answer: Answer, what: str) -> str:
    """The answer's request id, after checking it is in the header and, on an error, in
    the JSON body."""
    status, headers, body = answer
    request_id = headers.get("x-request-id")
    assert request_id, f"{what} -> {status} has no X-Request-ID header"
    if status >= 400 and body:
        content = json.loads(body)
        assert content.get("error") or "ready" in content, f"{what}: {content}"
        assert content.get("request_id") == request_id, f"{what} -> {status}: {content}"
    return request_id


def _requests(server: ModelServer) -> list[tuple[str, str, bytes | None]]:
    """One request per method of every route of the app, paths filled with the served
    model, and bodies (valid and not) for the POST routes."""
    out: list[tuple[str, str, bytes | None]] = []
    for route in server.app.routes:
        assert isinstance(route, Route)
        path = route.path.replace("{name}", server.name).replace("{version}", server.version)
        for method in sorted(route.methods or ()):
            if method == "POST":
                good = (
                    {"instances": [[1.0, 2.0]]}
                    if path == "/predict"
                    else {
                        "inputs": [
                            {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}
                        ]
                    }
                )
                out.append((method, path, json.dumps(good).encode()))
                out.append((method, path, b'{"instances": [[1, "x"]]'))  # not JSON
            else:
                out.append((method, path, None))
    return out


def test_every_route_and_starlettes_own_refusals_carry_the_request_id(
    serve: Callable[[ModelServer], Call],
) -> None:
    server = _ready_server()
    call = serve(server)
    _wait_ready(call)
    requests = [
        *_requests(server),
        ("GET", "/nowhere", None),  # 404 from the router
        ("GET", "/predict", None),  # 405
        ("DELETE", "/health", None),  # 405
        ("GET", "/v2/models/other", None),  # 404 from the app
        ("GET", "/v2/models/other/ready", None),
        ("GET", "/v2/models/adder/versions/9", None),
        ("POST", "/v2/models/other/infer", b'{"inputs": []}'),
    ]
    assert len(requests) > 20
    seen: set[int] = set()
    ids = []
    for method, path, body in requests:
        answer = call(method, path, body)
        seen.add(answer[0])
        ids.append(_check(answer, f"{method} {path}"))
    assert {200, 400, 404, 405} <= seen
    assert len(set(ids)) == len(ids)  # each answer has its own id


def test_a_clients_request_id_is_echoed_and_a_405_keeps_its_allow_header(
    serve: Callable[[ModelServer], Call],
) -> None:
    server = _ready_server()
    call = serve(server)
    _wait_ready(call)
    for method, path in [
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/v2"),
        ("GET", "/metrics"),
        ("GET", "/v2/models/adder"),
        ("GET", "/nowhere"),
        ("GET", "/predict"),
        ("GET", "/v2/models/other"),
    ]:
        answer = call(method, path, None, {"X-Request-ID": "trace-42"})
        assert _check(answer, f"{method} {path}") == "trace-42"
    status, headers, _ = call("GET", "/predict")
    assert status == 405
    assert headers.get("allow") == "POST"


def test_the_answers_of_a_server_still_loading_carry_the_id_in_their_bodies(
    serve: Callable[[ModelServer], Call],
) -> None:
    loaded = threading.Event()

    def load() -> Any:
        assert loaded.wait(30)
        return _model

    server = ModelServer(load, name="adder", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))
    call = serve(server)
    try:
        for method, path, body in [
            ("GET", "/ready", None),
            ("GET", "/v2/health/ready", None),
            ("GET", "/v2/models/adder/ready", None),
            ("POST", "/predict", b'{"instances": [[1, 2]]}'),
        ]:
            answer = call(method, path, body)
            assert answer[0] == 503, (path, answer)
            _check(answer, f"{method} {path}")
            assert "request_id" in json.loads(answer[2])
    finally:
        loaded.set()


def test_a_failed_start_and_an_unexpected_error_carry_the_id(
    serve: Callable[[ModelServer], Call], monkeypatch: pytest.MonkeyPatch
) -> None:
    def load() -> Any:
        raise OSError("the artifact is gone")

    server = ModelServer(load, name="adder", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))
    call = serve(server)
    for _ in range(400):
        answer = call("GET", "/ready")
        if b"failed" in answer[2]:
            break
        time.sleep(0.05)
    assert answer[0] == 503
    body = json.loads(answer[2])
    assert "the artifact is gone" in body["error"]
    assert body["request_id"] == _check(answer, "GET /ready")

    def broken() -> bytes:
        raise RuntimeError("registry of metrics broke")

    monkeypatch.setattr(server.metrics, "exposition", broken)
    answer = call("GET", "/metrics", None, {"X-Request-ID": "trace-500"})
    assert answer[0] == 500
    assert _check(answer, "GET /metrics") == "trace-500"
    assert json.loads(answer[2]) == {
        "error": "internal error: RuntimeError",
        "request_id": "trace-500",
    }
