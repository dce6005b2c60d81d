"""What the model server answers with: a multi-output classifier's ``predict_proba`` one
row per input row (or, when it cannot be, not at all), integer literals float64 would
round refused on every route, metadata taken from the warm-up's answers, and numbers in
the other byte order, long double or complex served or refused plainly.

The servers here are started in the test's thread (``ModelServer.start`` loads and warms
up before it returns), so no test waits for ``/ready``; their clients are not entered,
so the app's lifespan does not load the model a second time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from modelship.deploy.serve import ModelServer, ServeConfig, read_prediction_log
from modelship.errors import ConfigError

ROWS = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]


def _server(model: Any, **config: Any) -> ModelServer:
    config.setdefault("warmup", [[0.0, 0.0]])
    server = ModelServer(lambda: model, name="m", version="1", config=ServeConfig(**config))
    server.start()
    return server


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(model, **config)``: a client of a ready server of ``model`` (served as
    ``m`` version 1, warmed up on ``[[0.0, 0.0]]`` unless ``warmup`` is given)."""
    from starlette.testclient import TestClient

    servers: list[ModelServer] = []

    def _serve(model: Any, **config: Any) -> Any:
        server = _server(model, **config)
        servers.append(server)
        assert server.ready, server.error
        return TestClient(server.app, raise_server_exceptions=False)

    yield _serve
    for server in servers:
        server.close()


def _infer(client: Any, rows: list[list[Any]], **extra: Any) -> Any:
    tensor = {"name": "x", "shape": [len(rows), len(rows[0])], "datatype": "FP64"}
    tensor["data"] = [cell for row in rows for cell in row]
    return client.post("/v2/models/m/infer", json={"inputs": [tensor], **extra})


def _output(answer: Any, name: str) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    outputs: list[dict[str, Any]] = answer.json()["outputs"]
    return next(o for o in outputs if o["name"] == name)


# --- a multi-output classifier's predict_proba ---------------------------------------


class _TwoTargets:
    """A classifier of two targets, answering as scikit-learn's multi-output ones do:
    ``predict`` is ``(rows, targets)``, ``predict_proba`` a list of one ``(rows,
    classes)`` array per target (target ``t``'s last class has probability ``x[:, t]``,
    so every row's answer differs from every other's)."""

    def __init__(self, classes: tuple[int, int] = (2, 2)) -> None:
        self.classes = classes
        self.proba_calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x > 0.25).astype(np.int64)

    def predict_proba(self, x: np.ndarray) -> list[np.ndarray]:
        self.proba_calls += 1
        answers = []
        for target, classes in enumerate(self.classes):
            last = x[:, target]
            rest = [(1 - last) / (classes - 1)] * (classes - 1)
            answers.append(np.stack([*rest, last], axis=1))
        return answers


class _TargetsFirst(_TwoTargets):
    """Answers ``predict_proba`` as one ``(targets, rows, classes)`` array: its first
    axis is not the rows."""

    def predict_proba(self, x: np.ndarray) -> Any:
        return np.asarray(super().predict_proba(x))


def _per_row(model: _TwoTargets, rows: list[list[float]]) -> list[Any]:
    """Each row's answer: one list of class probabilities per target."""
    return [
        [target[i].tolist() for target in model.predict_proba(np.array(rows))]
        for i in range(len(rows))
    ]


def test_a_multi_output_predict_proba_answers_each_row_its_targets_by_default(
    serve: Callable[..., Any],
) -> None:
    model = _TwoTargets()
    proba = _output(_infer(serve(model), ROWS), "predict_proba")
    assert proba["shape"] == [3, 2, 2]
    assert np.reshape(proba["data"], (3, 2, 2)).tolist() == _per_row(model, ROWS)


def test_a_multi_output_predict_proba_for_as_many_rows_as_targets_is_not_transposed(
    serve: Callable[..., Any],
) -> None:
    model = _TwoTargets()
    rows = ROWS[:2]  # as many rows as targets: the answer no longer fails, it must be right
    answer = _infer(serve(model), rows, outputs=[{"name": "predict_proba"}])
    proba = _output(answer, "predict_proba")
    assert np.reshape(proba["data"], (2, 2, 2)).tolist() == _per_row(model, rows)


def test_predict_method_predict_proba_of_a_multi_output_model_answers_each_row_its_targets(
    serve: Callable[..., Any],
) -> None:
    model = _TwoTargets()
    answer = serve(model).post("/predict", json={"instances": ROWS, "method": "predict_proba"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == _per_row(model, ROWS)


def test_the_metadata_gives_a_multi_output_predict_proba_the_warm_ups_shape(
    serve: Callable[..., Any],
) -> None:
    outputs = serve(_TwoTargets()).get("/v2/models/m").json()["outputs"]
    assert outputs == [
        {"name": "predict", "datatype": "INT64", "shape": [-1, 2]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2, 2]},
    ]


def test_the_prediction_log_holds_each_rows_own_targets_of_a_multi_output_predict_proba(
    tmp_path: Any,
) -> None:
    from starlette.testclient import TestClient

    model = _TwoTargets()
    server = _server(model, prediction_log=str(tmp_path / "log"))
    try:
        client = TestClient(server.app, raise_server_exceptions=False)
        answer = client.post("/predict", json={"instances": ROWS, "method": "predict_proba"})
        assert answer.status_code == 200, answer.text
        assert server.flush_log() == 3
    finally:
        server.close()
    logged = read_prediction_log(str(tmp_path / "log"))
    assert [row["output"] for row in logged] == _per_row(model, ROWS)


def test_targets_with_different_class_counts_leave_predict_proba_out_of_metadata_and_defaults(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    model = _TwoTargets(classes=(2, 3))
    with caplog.at_level(logging.WARNING, logger="modelship.serve"):
        client = serve(model)
    assert "predict_proba is left out" in caplog.text
    assert "different numbers of classes" in caplog.text
    outputs = client.get("/v2/models/m").json()["outputs"]
    assert [o["name"] for o in outputs] == ["predict"]
    calls = model.proba_calls
    answer = _infer(client, ROWS)
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict"], answer.text
    assert model.proba_calls == calls


def test_a_request_for_a_predict_proba_the_warm_up_could_not_serve_gets_a_500_saying_why(
    serve: Callable[..., Any],
) -> None:
    model = _TwoTargets(classes=(2, 3))
    client = serve(model)
    calls = model.proba_calls
    answers = [
        _infer(client, ROWS, outputs=[{"name": "predict_proba"}]),
        _infer(client, ROWS, outputs=[{"name": "predict"}, {"name": "predict_proba"}]),
        client.post("/predict", json={"instances": ROWS, "method": "predict_proba"}),
    ]
    for answer in answers:
        assert answer.status_code == 500, answer.text
        error = answer.json()["error"]
        assert "predict_proba of model 'm' is not served" in error
        assert "different numbers of classes ([2, 3])" in error
    assert model.proba_calls == calls  # refused before the model is called


def test_a_predict_proba_answering_targets_first_is_never_served_as_rows(
    serve: Callable[..., Any],
) -> None:
    client = serve(_TargetsFirst())
    assert [o["name"] for o in client.get("/v2/models/m").json()["outputs"]] == ["predict"]
    # Two rows of two targets: the answer's first axis has one entry per row, but they
    # are the targets.
    answer = _infer(client, ROWS[:2], outputs=[{"name": "predict_proba"}])
    assert answer.status_code == 500, answer.text
    assert "[2, 1, 2] predictions for 1 rows" in answer.json()["error"]


def test_without_a_warm_up_targets_with_different_class_counts_get_a_500_saying_so(
    serve: Callable[..., Any],
) -> None:
    client = serve(_TwoTargets(classes=(2, 3)), warmup=False)
    answer = client.post("/predict", json={"instances": ROWS, "method": "predict_proba"})
    assert answer.status_code == 500, answer.text
    assert "different numbers of classes ([2, 3])" in answer.json()["error"]


def test_v2_default_outputs_naming_an_unservable_predict_proba_fails_the_start() -> None:
    failures: list[BaseException] = []
    server = ModelServer(
        lambda: _TwoTargets(classes=(2, 3)),
        name="m",
        version="1",
        config=ServeConfig(warmup=[[0.0, 0.0]], v2_default_outputs=["predict", "predict_proba"]),
        on_failure=failures.append,
    )
    server.start()
    assert not server.ready
    assert isinstance(failures[0], ConfigError)
    assert "predict_proba of model 'm' cannot be served" in str(failures[0])


# --- integer literals float64 would round -------------------------------------------


class _Recorder:
    """Returns each row's first feature and keeps what it was given."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x.copy())
        return x[:, 0].copy()


def _raw(client: Any, path: str, body: str) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
@pytest.mark.parametrize(
    ("data", "cell"),
    [
        (f"[{2**53 + 1}, 1]", "data[0]"),  # integers only
        (f"[0.5, {-(2**53) - 1}]", "data[1]"),  # among floats: parsed as a rounded float
        (f"[{2**64 - 1}, 1]", "data[0]"),  # UINT64's largest
        (f"[{2**64 - 1}, -1]", "data[0]"),  # beside a negative one: read as floats
        (f"[0.5, {2**70 + 1}]", "data[1]"),  # beyond 64 bits: orjson gives a float
        (f"[{2**64 + 1}, 0.5]", "data[0]"),  # ... which rounds to 2**64
    ],
)
def test_a_float_tensor_refuses_an_integer_literal_float64_cannot_hold(
    serve: Callable[..., Any], datatype: str, data: str, cell: str
) -> None:
    model = _Recorder()
    client = serve(model)
    seen = len(model.seen)
    tensor = f'{{"name": "x", "shape": [1, 2], "datatype": "{datatype}", "data": {data}}}'
    answer = _raw(client, "/v2/models/m/infer", f'{{"inputs": [{tensor}]}}')
    assert answer.status_code == 400, answer.text
    assert f"{cell} holds " in answer.json()["error"]
    assert "cannot be given exactly" in answer.json()["error"]
    assert len(model.seen) == seen


@pytest.mark.parametrize(
    ("instances", "cell"),
    [
        (f"[[{2**53 + 1}, 1]]", "instances[0][0]"),
        (f"[[0.5, 1.5], [2.5, {2**53 + 1}]]", "instances[1][1]"),
        (f"[[{2**64 - 1}, 1]]", "instances[0][0]"),
        (f"[[{2**70 + 1}, 1]]", "instances[0][0]"),
        (f"[[null, {2**53 + 1}]]", "instances[0][1]"),  # with --allow-nan: the slow path
        (f"[[null, 1], [{-(2**70) - 1}, 2]]", "instances[1][0]"),
        (f"[[{2**64 + 1}, 1]]", "instances[0][0]"),
        (f"[[null, {2**64 + 1}]]", "instances[0][1]"),
    ],
)
def test_predict_refuses_an_integer_literal_float64_cannot_hold(
    serve: Callable[..., Any], instances: str, cell: str
) -> None:
    model = _Recorder()
    client = serve(model, allow_nan=True)
    seen = len(model.seen)
    answer = _raw(client, "/predict", f'{{"instances": {instances}}}')
    assert answer.status_code == 400, answer.text
    assert f"{cell} holds " in answer.json()["error"]
    assert len(model.seen) == seen


def test_float64_is_given_the_integer_literals_it_holds_and_refuses_the_next_one(
    serve: Callable[..., Any],
) -> None:
    model = _Recorder()
    client = serve(model, allow_nan=True)
    held = [2**53, -(2**53), 2**60, 2**64, 2**70, 10**20]
    literals = [*map(str, held), "1e20", "1180591620717411303425.0"]  # floats: as parsed
    for literal in literals:
        for instances in (f"[[{literal}, 0.5]]", f"[[{literal}, null]]"):
            answer = _raw(client, "/predict", f'{{"instances": {instances}}}')
            assert answer.status_code == 200, answer.text
            assert model.seen[-1][0, 0] == float(literal), instances
    answer = _raw(client, "/predict", f'{{"instances": [[{2**53 + 1}, 0.5]]}}')
    assert answer.status_code == 400, answer.text


# --- metadata from the warm-up --------------------------------------------------------


class _TwoColumns:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.c_[x[:, 0], x[:, 1]]


class _SinglePrecision:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.full((len(x), 3), 1 / 3, dtype=np.float32)


def test_the_metadata_gives_a_two_dimensional_predict_the_warm_ups_shape(
    serve: Callable[..., Any],
) -> None:
    outputs = serve(_TwoColumns()).get("/v2/models/m").json()["outputs"]
    assert outputs == [{"name": "predict", "datatype": "FP64", "shape": [-1, 2]}]


def test_the_metadata_gives_predict_proba_the_warm_ups_datatype(
    serve: Callable[..., Any],
) -> None:
    client = serve(_SinglePrecision())
    outputs = client.get("/v2/models/m").json()["outputs"]
    assert outputs[1] == {"name": "predict_proba", "datatype": "FP32", "shape": [-1, 3]}
    assert _output(_infer(client, ROWS), "predict_proba")["datatype"] == "FP32"


# --- byte order, long double, complex ---------------------------------------------------


class _Answers:
    """Predicts ``answer(x)``."""

    def __init__(self, answer: Callable[[np.ndarray], Any]) -> None:
        self.answer = answer

    def predict(self, x: np.ndarray) -> Any:
        return self.answer(x)


@pytest.mark.parametrize(
    ("dtype", "datatype"), [(">i4", "INT32"), (">f8", "FP64"), (">u2", "UINT16"), (">f4", "FP32")]
)
def test_an_answer_in_the_other_byte_order_is_served_as_its_numbers(
    serve: Callable[..., Any], dtype: str, datatype: str
) -> None:
    client = serve(_Answers(lambda x: (np.arange(len(x)) + 7).astype(dtype)))
    predict = _output(_infer(client, ROWS), "predict")
    assert (predict["datatype"], predict["data"]) == (datatype, [7, 8, 9])
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [7, 8, 9]
    assert client.get("/v2/models/m").json()["outputs"][0]["datatype"] == datatype


def test_a_long_double_answer_is_served_as_float64(serve: Callable[..., Any]) -> None:
    client = serve(_Answers(lambda x: x[:, 0].astype(np.longdouble)))
    predict = _output(_infer(client, ROWS), "predict")
    assert (predict["datatype"], predict["data"]) == ("FP64", [0.1, 0.3, 0.5])
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [0.1, 0.3, 0.5]
    assert client.get("/v2/models/m").json()["outputs"][0]["datatype"] == "FP64"


def test_long_doubles_among_objects_are_answered_as_numbers(serve: Callable[..., Any]) -> None:
    cells = lambda x: np.array([np.longdouble(0.5)] * len(x), dtype=object)  # noqa: E731
    answer = serve(_Answers(cells)).post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [0.5, 0.5, 0.5]


def test_a_complex_answer_gets_a_500_saying_the_model_returned_complex_numbers(
    serve: Callable[..., Any],
) -> None:
    client = serve(_Answers(lambda x: x[:, 0] + 1j), warmup=False)
    for answer in (_infer(client, ROWS), client.post("/predict", json={"instances": ROWS})):
        assert answer.status_code == 500, answer.text
        assert "holds complex numbers" in answer.json()["error"]


def test_a_model_answering_its_warm_up_in_complex_numbers_fails_the_start() -> None:
    server = _server(_Answers(lambda x: x[:, 0] + 1j))
    assert not server.ready
    assert server.error is not None
    assert "complex numbers" in server.error
