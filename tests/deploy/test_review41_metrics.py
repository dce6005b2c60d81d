"""Every status code and error kind an inference endpoint answers has its series at zero
from the start: Prometheus' rate() and increase() cannot see a counter's first value, so
a burst of 503s (a slot warming up) on a series created by its first 503 read as zero
errors.

The servers here are started in the test's thread (``ModelServer.start`` loads and warms
up before it returns); a server never started answers 503 (not ready)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from modelship.deploy.serve import ModelServer, ServeConfig, _app
from modelship.deploy.serve._metrics import ServerMetrics

ENDPOINTS = {"predict": "/predict", "infer": "/v2/models/m/infer"}
# What an inference endpoint answers, and the kinds of error it counts (the app's code is
# held to these below: a code it answers that is not here fails a test).
CODES = (200, 400, 404, 413, 500, 503)
KINDS = ("client", "model", "not_ready", "server")


def _series(text: str) -> dict[tuple[str, str, str], float]:
    """(family, endpoint, code or kind) -> value of the request and error counters."""
    return {
        (s.name, s.labels["endpoint"], s.labels.get("code") or s.labels["kind"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("modelship_requests_total", "modelship_request_errors_total")
    }


def _fresh() -> dict[tuple[str, str, str], float]:
    metrics = ServerMetrics("m", "1", slot="green")
    return _series(generate_latest(metrics.registry).decode())


def _model(x: Any) -> Any:
    if np.any(x > 100):  # a row the model cannot take: it raises (a 500)
        raise ValueError("out of range")
    return x[:, 0]


def _v2(row: list[float]) -> dict[str, Any]:
    return {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": row}]}


def _body(endpoint: str, row: list[float]) -> dict[str, Any]:
    return {"instances": [row]} if endpoint == "predict" else _v2(row)


@pytest.fixture
def servers() -> Iterator[list[ModelServer]]:
    made: list[ModelServer] = []
    yield made
    for server in made:
        server.close()


def _client(made: list[ModelServer], *, start: bool) -> Any:
    config = ServeConfig(warmup=[[0.0, 0.0]], max_body_bytes=1000, slot="green")
    server = ModelServer(lambda: _model, name="m", version="1", config=config)
    made.append(server)
    if start:
        server.start()
        assert server.ready, server.error
    return TestClient(server.app, raise_server_exceptions=False)


def test_a_fresh_server_has_a_zero_series_for_each_code_and_error_kind() -> None:
    fresh = _fresh()
    for endpoint in ENDPOINTS:
        for code in CODES:
            assert fresh.get(("modelship_requests_total", endpoint, str(code))) == 0.0, code
        for kind in KINDS:
            assert fresh.get(("modelship_request_errors_total", endpoint, kind)) == 0.0, kind


def _drive(client: Any) -> set[int]:
    """Each answer an inference endpoint can give, asked of both endpoints."""
    seen = set()
    for endpoint, path in ENDPOINTS.items():
        asks = [
            {"json": _body(endpoint, [1.0, 2.0])},  # 200 (or 503 when not ready)
            {"content": b"{not json", "headers": {"content-type": "application/json"}},  # 400
            {"json": _body(endpoint, [1.0] * 500)},  # 413: over max_body_bytes
            {"json": _body(endpoint, [1000.0, 2.0])},  # 500: the model raises
        ]
        for ask in asks:
            seen.add(client.post(path, **ask).status_code)
        if endpoint == "infer":  # 404: a model this server does not serve
            seen.add(client.post("/v2/models/other/infer", json=_v2([1.0, 2.0])).status_code)
    return seen


def test_every_series_a_request_creates_existed_at_zero_before(servers: list[ModelServer]) -> None:
    fresh = _fresh()
    seen: set[int] = set()
    for start in (True, False):  # a server never started answers 503
        client = _client(servers, start=start)
        seen |= _drive(client)
        counted = _series(client.get("/metrics").text)
        created = {key for key, value in counted.items() if value > 0}
        assert created, counted
        assert created <= set(fresh), sorted(created - set(fresh))
    assert seen == set(CODES)  # each code the endpoints really answer


def _literal_codes(source: str) -> set[int]:
    """The status codes written as literals where the app answers an inference request:
    ``_BadRequest(code, ...)``, ``self._failed(endpoint, began, request_id, code, ...)`` and
    ``metrics.observe(endpoint, code, ...)``."""
    position = {"_BadRequest": 0, "_failed": 3, "observe": 1}
    codes = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        at = position.get(name or "")
        if at is not None and len(node.args) > at:
            arg = node.args[at]
            # A code passed on (``bad.status``, ``status``) was a literal where it was made.
            if isinstance(arg, ast.Constant):
                codes.add(arg.value)
    return codes


def test_every_code_the_app_answers_an_inference_request_with_is_pre_created() -> None:
    codes = _literal_codes(inspect.getsource(_app))
    assert codes >= {200, 400, 500, 503}  # the scan finds the answers
    fresh = {int(code) for name, _, code in _fresh() if name == "modelship_requests_total"}
    assert codes <= fresh, sorted(codes - fresh)
