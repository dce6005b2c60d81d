"""The model server, review 44.

* A model's plain list answer was made one numpy array before the server's cell rules:
  ``[2**53 + 1, 0.5]`` was served rounded, ``[True, 2]`` as ``[1, 2]``, ``["unknown",
  2]`` as text, ragged rows were a 500. It is now served as the same values in an object
  array are.
* The prediction log kept the model's output array and wrote it later: a model reusing
  its output buffer had later values logged. The log now keeps a copy.
* ``run()`` and ``create_app()`` given an open Registry dropped ``signing_key`` and
  ``storage_options``: a wrong key served unverified. They are refused.
* ``read_prediction_log`` raised a raw ``FileNotFoundError`` for a batch removed after
  the folder was listed; other read failures were raw ``OSError`` too.
* A model raising ``GeneratorExit`` got a plain-text 500 no metric counted; its own
  ``asyncio.CancelledError`` the shutdown 503. Both are the model's counted JSON 500.
* A v2 request's ``"id"`` was dropped from 4xx answers, and a wrong model name before
  the model was ready answered 503 rather than 404.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import serving, wait_ready

import modelship as ms
from modelship.deploy.serve import (
    PredictionLog,
    PredictionLogError,
    ServeConfig,
    create_app,
    read_prediction_log,
    run,
)
from modelship.errors import ConfigError


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


def _metric_lines(client: Any, prefix: str) -> list[str]:
    return [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]


def _listing(values: list[Any]) -> Callable[[Any], Any]:
    """A model answering the first ``len(x)`` of ``values`` as a plain Python list."""
    return lambda x: list(values[: len(x)])


def _kinds(value: Any) -> Any:
    """``value`` with each cell paired with its kind: ``[1, 2] == [True, 2]`` in Python,
    but ``_kinds([1, 2]) != _kinds([True, 2])``, so a bool served as an int is seen."""
    if isinstance(value, (list, tuple)):
        return [_kinds(cell) for cell in value]
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, (int, np.integer)):
        return ("int", int(value))
    if isinstance(value, (float, np.floating)):
        return ("float", float(value))
    return (type(value).__name__, value)


# --- 1: a list answer's cells are served as given ------------------------------------


@pytest.mark.parametrize(
    ("values", "v2_datatype"),
    [
        ([9007199254740993, 0.5], "BYTES"),
        ([True, 2], "BYTES"),
        (["unknown", 2], "BYTES"),
        ([[0, 1], [2]], None),
    ],
    ids=["2**53+1-and-float", "bool-and-int", "text-and-int", "ragged-rows"],
)
def test_a_list_answer_is_served_cell_by_cell(
    serve: Any, values: list[Any], v2_datatype: str | None
) -> None:
    client = serve(_listing(values))
    answer = client.post("/predict", json={"instances": [[1.0, 0.0], [2.0, 0.0]]})
    assert answer.status_code == 200, answer.text
    assert _kinds(answer.json()["predictions"]) == _kinds(values)
    if v2_datatype is not None:
        tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 0, 2, 0]}
        v2 = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
        assert v2.status_code == 200, v2.text
        out = v2.json()["outputs"][0]
        assert (out["datatype"], out["data"]) == (v2_datatype, [str(v) for v in values])


@pytest.mark.parametrize(
    ("values", "datatype", "shape"),
    [
        ([1.5, 2.5], "FP64", [2]),
        ([1, 2], "INT64", [2]),
        ([True, False], "BOOL", [2]),
        ([[1, 2], [3, 4]], "INT64", [2, 2]),
        ([[0.5, 0.5], [0.25, 0.75]], "FP64", [2, 2]),
    ],
    ids=["floats", "ints", "bools", "int-rows", "float-rows"],
)
def test_a_list_of_one_kind_is_still_a_typed_tensor(
    serve: Any, values: list[Any], datatype: str, shape: list[int]
) -> None:
    client = serve(_listing(values))
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 0, 2, 0]}
    v2 = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
    assert v2.status_code == 200, v2.text
    out = v2.json()["outputs"][0]
    assert (out["datatype"], out["shape"]) == (datatype, shape)
    flat = [cell for row in values for cell in (row if isinstance(row, list) else [row])]
    assert _kinds(out["data"]) == _kinds(flat)
    one = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert _kinds(one.json()["predictions"]) == _kinds(values[:1])


# --- 2: the log keeps what was answered, not the model's reused buffer ---------------


def test_the_log_keeps_the_answer_when_the_model_reuses_its_buffer(
    serve: Any, tmp_path: Path
) -> None:
    buffer = np.zeros(1)

    def predict(x: Any) -> Any:
        buffer[0] = x[0, 0] * 10
        return buffer[: len(x)]

    client = serve(predict, prediction_log=str(tmp_path), log_flush_seconds=3600.0)
    answered = {}
    for v in (1.0, 2.0, 3.0):
        rid = f"req-{v}"
        r = client.post("/predict", json={"instances": [[v, 0.0]]}, headers={"x-request-id": rid})
        answered[rid] = r.json()["predictions"][0]
    client.__exit__(None, None, None)  # shutting down flushes the log
    logged = {row["request_id"]: row["output"] for row in read_prediction_log(str(tmp_path))}
    assert logged == answered == {"req-1.0": 10.0, "req-2.0": 20.0, "req-3.0": 30.0}


# --- 3: options for an already open registry are refused -----------------------------


def test_create_app_refuses_storage_options_for_an_open_registry() -> None:
    registry = ms.open_registry("memory://review44-open-app")
    registry.register(model_name="m", model=functools.partial(np.sum, axis=1))
    with pytest.raises(ConfigError, match=r"the registry is already open.*storage_options"):
        create_app(registry=registry, name="m", ref="1", storage_options={"signing_key": b"w" * 32})


@pytest.mark.parametrize(
    "given",
    [{"signing_key": b"w" * 32}, {"storage_options": {"anon": True}}],
    ids=["signing_key", "storage_options"],
)
def test_run_refuses_options_for_an_open_registry(given: dict[str, Any]) -> None:
    registry = ms.open_registry("memory://review44-open-run")
    with pytest.raises(
        ConfigError, match=f"the registry is already open: give {next(iter(given))}"
    ):
        run(registry, "m", "1", **given)


# --- 4: reading the log while batches are removed ------------------------------------


def _two_batches(root: Path) -> None:
    log = PredictionLog(str(root))
    for i in range(2):
        log.add(
            f"r{i}",
            np.array([[float(i)]]),
            np.array([0]),
            latency_seconds=0.001,
            model="m",
            version="1",
        )
        log.flush()


def test_a_batch_removed_after_listing_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsspec.implementations.local import LocalFileSystem

    _two_batches(tmp_path)
    listed = LocalFileSystem.find

    def find(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        return [*listed(self, path, *args, **kwargs), f"{path}/0000-removed.jsonl"]

    monkeypatch.setattr(LocalFileSystem, "find", find)
    assert sorted(row["request_id"] for row in read_prediction_log(str(tmp_path))) == ["r0", "r1"]


def test_a_batch_that_cannot_be_read_is_a_prediction_log_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsspec.implementations.local import LocalFileSystem

    _two_batches(tmp_path)

    def cat_file(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(LocalFileSystem, "cat_file", cat_file)
    with pytest.raises(PredictionLogError, match=r"\.jsonl: the batch cannot be read"):
        read_prediction_log(str(tmp_path))


# --- 5: whatever the model raises is its counted JSON 500 ----------------------------


@pytest.mark.parametrize(
    "raised", [GeneratorExit, asyncio.CancelledError], ids=["GeneratorExit", "CancelledError"]
)
@pytest.mark.parametrize("offload_seconds", [1e9, 1e-12], ids=["inline", "worker-thread"])
def test_a_model_raising_generator_exit_or_cancelled_is_a_counted_json_500(
    serve: Any, raised: type[BaseException], offload_seconds: float
) -> None:
    def predict(x: Any) -> Any:
        if x[0, 0] > 0:
            raise raised
        return x[:, 0]

    client = serve(predict, offload_seconds=offload_seconds)
    answer = client.post(
        "/predict", json={"instances": [[1.0, 0.0]]}, headers={"x-request-id": "r-5"}
    )
    assert answer.status_code == 500, answer.text
    assert answer.json() == {
        "error": f"the model failed: {raised.__name__} (the server's log has the details "
        "under this request id)",
        "request_id": "r-5",
    }
    errors = _metric_lines(client, "modelship_request_errors_total{")
    assert any('endpoint="predict",kind="model"' in e and e.endswith(" 1.0") for e in errors)
    assert client.get("/ready").status_code == 200


# --- 6: a v2 request's id and target, before anything else ---------------------------


def test_a_v2_client_error_answers_with_the_request_id(serve: Any) -> None:
    client = serve(lambda x: x[:, 0])
    tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, "two"]}
    answer = client.post("/v2/models/m/infer", json={"id": "req-7", "inputs": [tensor]})
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-request-id"] == "req-7"
    assert answer.json()["request_id"] == "req-7"


def test_a_wrong_v2_target_is_a_404_while_the_model_loads() -> None:
    from starlette.testclient import TestClient

    release = threading.Event()

    def predict(x: Any) -> Any:
        release.wait(60)
        return x[:, 0]

    app = create_app(predict, name="m", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))
    tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}
    body = {"id": "req-8", "inputs": [tensor]}
    with TestClient(app, raise_server_exceptions=False) as client:
        try:
            assert client.get("/ready").status_code == 503
            for path in ("/v2/models/other/infer", "/v2/models/m/versions/7/infer"):
                answer = client.post(path, json=body)
                assert answer.status_code == 404, (path, answer.text)
                assert answer.json()["request_id"] == "req-8"
            loading = client.post("/v2/models/m/infer", json=body)
            assert (loading.status_code, loading.json()["request_id"]) == (503, "req-8")
        finally:
            release.set()
        wait_ready(client)


# --- second look -------------------------------------------------------------------------


def test_a_list_mixing_int64_and_uint64_integers_is_never_rounded() -> None:
    from modelship.deploy.serve._app import _cells

    answer = [4611686018427387905, np.uint64(1)]
    assert _cells(answer).tolist() == [4611686018427387905, 1]


@pytest.mark.parametrize(
    "answer",
    [[0.5, 1.5], [[0.1, 0.9], [0.2, 0.8]], [np.float64(0.5), 1.5], ["a", "b"], [1, 2], [True]],
)
def test_a_list_of_one_kind_takes_numpys_fast_path(answer: list[Any]) -> None:
    from modelship.deploy.serve import _app

    typed = _app._typed(answer)
    assert typed is not None
    assert _kinds(typed.tolist()) == _kinds(answer)


@pytest.mark.parametrize(
    "answer",
    [["a\x00", "b"], [np.float32(0.1), 0.5], [np.float16(0.1), 0.5], [[np.float32(0.1), 0.5]]],
    ids=["text-with-nul", "float32-and-float", "float16-and-float", "rows-float32-and-float"],
)
def test_lists_numpy_would_change_are_served_cell_by_cell(answer: list[Any]) -> None:
    """numpy drops a text's trailing NUL and widens float32 beside a float: those lists
    are left to the walk cell by cell, as the same values in an object array (third
    look)."""
    from modelship.deploy.serve import _app

    assert _app._typed(answer) is None
    cells = _app._cells(answer)
    assert cells.dtype == object
    assert _kinds(cells.tolist()) == _kinds(answer)
