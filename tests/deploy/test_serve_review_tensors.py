"""Open Inference Protocol tensors in and out: exact integers, the float64 the model sees,
nested data against its shape, answers valid for their datatype, ids and default outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import serving


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    yield from serving()


class _Recorder:
    """Echoes the first feature and keeps the array it was given."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x.copy())
        return x[:, 0].copy()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.c_[np.zeros(len(x)), np.ones(len(x))]


def _infer(client: Any, datatype: str, data: Any, shape: Any = (1, 2), **extra: Any) -> Any:
    tensor = {"name": "x", "shape": list(shape), "datatype": datatype, "data": data}
    return client.post("/v2/models/m/infer", json={"inputs": [tensor], **extra})


# --- integers are exact, or refused ----------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        ("INT64", 2**62 + 1),
        ("INT64", 2**63 - 1),
        ("UINT64", 2**63 + 1),
        ("UINT64", 2**64 - 1),
        ("INT64", -(2**53) - 1),
    ],
)
@pytest.mark.parametrize("other", [1, 1.0])
def test_a_v2_integer_float64_cannot_hold_is_refused_not_rounded(
    serve: Callable[..., Any], datatype: str, value: int, other: Any
) -> None:
    model = _Recorder()
    client = serve(model)
    warmed = len(model.seen)
    answer = _infer(client, datatype, [value, other])
    assert answer.status_code == 400, answer.text
    assert "2**53" in answer.json()["error"]
    assert len(model.seen) == warmed


@pytest.mark.parametrize(
    ("datatype", "value"),
    [("INT64", 2**62), ("UINT64", 2**63), ("INT64", -(2**63)), ("INT64", 2**53 - 1)],
)
@pytest.mark.parametrize("other", [1, 1.0])
def test_a_v2_integer_float64_holds_reaches_the_model_exactly(
    serve: Callable[..., Any], datatype: str, value: int, other: Any
) -> None:
    model = _Recorder()
    answer = _infer(serve(model), datatype, [value, other])
    assert answer.status_code == 200, answer.text
    assert int(model.seen[-1][0, 0]) == value
    assert answer.json()["outputs"][0]["data"] == [float(value)]


@pytest.mark.parametrize(
    ("datatype", "data"),
    [("UINT64", [2**64, 1.0]), ("INT64", [2**63, 1.0]), ("UINT64", [-1, 2**60 + 0.0])],
)
def test_a_v2_integer_out_of_range_among_floats_is_refused(
    serve: Callable[..., Any], datatype: str, data: Any
) -> None:
    answer = _infer(serve(_Recorder()), datatype, data)
    assert answer.status_code == 400, answer.text


# --- the model sees float64, as documented -------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("INT8", [100, 100]),
        ("UINT8", [200, 100]),
        ("FP16", [40000, 1]),
        ("FP32", [0.1, 3]),
        ("BOOL", [True, False]),
    ],
)
def test_every_v2_datatype_reaches_the_model_as_float64(
    serve: Callable[..., Any], datatype: str, data: Any
) -> None:
    model = _Recorder()
    answer = _infer(serve(model), datatype, data)
    assert answer.status_code == 200, answer.text
    assert model.seen[-1].dtype == np.float64
    assert model.seen[-1].tolist() == [[float(v) for v in data]]
    assert answer.json()["outputs"][0]["datatype"] == "FP64"


@pytest.mark.parametrize("allow_nan", [False, True])
@pytest.mark.parametrize(("datatype", "value"), [("FP16", 70000), ("FP32", 1e39)])
def test_a_value_beyond_fp16_or_fp32_is_refused_even_with_allow_nan(
    serve: Callable[..., Any], allow_nan: bool, datatype: str, value: float
) -> None:
    model = _Recorder()
    client = serve(model, allow_nan=allow_nan)
    warmed = len(model.seen)
    answer = _infer(client, datatype, [value, 1])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert f"outside {datatype}'s range" in error
    assert "allow-nan" not in error
    assert len(model.seen) == warmed


def test_a_null_without_allow_nan_is_named_missing(serve: Callable[..., Any]) -> None:
    answer = _infer(serve(_Recorder()), "FP32", [None, 1])
    assert answer.status_code == 400
    assert "missing (null)" in answer.json()["error"]


# --- nested data must be the declared shape --------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        [[1, 2], [3, 4], [5, 6]],  # 3 rows of 2 declared as 2 rows of 3
        [[[1, 2, 3]], [[4, 5, 6]]],  # 3-D
        [[1, 2, 3, 4, 5, 6]],  # 1 row of 6
    ],
)
def test_nested_v2_data_of_another_shape_is_refused(serve: Callable[..., Any], data: Any) -> None:
    answer = _infer(serve(_Recorder(), warmup=False), "FP64", data, shape=(2, 3))
    assert answer.status_code == 400, answer.text
    assert "[2, 3]" in answer.json()["error"]


def test_nested_v2_data_of_the_declared_shape_is_accepted(serve: Callable[..., Any]) -> None:
    model = _Recorder()
    answer = _infer(serve(model, warmup=False), "FP64", [[1, 2, 3], [4, 5, 6]], shape=(2, 3))
    assert answer.status_code == 200, answer.text
    assert model.seen[-1].tolist() == [[1, 2, 3], [4, 5, 6]]


# --- answers are valid tensors of their datatype -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "datatype", "data"),
    [
        (lambda x: np.array([1] * len(x), dtype=object), "INT64", [1]),
        (lambda x: np.array([1.5] * len(x), dtype=object), "FP64", [1.5]),
        (lambda x: np.array([True] * len(x), dtype=object), "BOOL", [True]),
        (lambda x: [{"a": 1}] * len(x), "BYTES", ["{'a': 1}"]),
        (lambda x: np.array([b"yes"] * len(x)), "BYTES", ["yes"]),
        (lambda x: np.array(["yes"] * len(x)), "BYTES", ["yes"]),
    ],
)
def test_a_v2_answer_is_a_valid_tensor_of_its_datatype(
    serve: Callable[..., Any], answer: Any, datatype: str, data: Any
) -> None:
    got = _infer(serve(answer, warmup=False), "FP64", [1, 2])
    assert got.status_code == 200, got.text
    (output,) = got.json()["outputs"]
    assert (output["datatype"], output["data"]) == (datatype, data)


def test_a_nan_answer_is_a_500_saying_so_on_v2_and_null_on_predict(
    serve: Callable[..., Any],
) -> None:
    client = serve(lambda x: np.full(len(x), np.nan), warmup=False)
    got = _infer(client, "FP64", [1, 2])
    assert got.status_code == 500
    assert "NaN" in got.json()["error"]
    assert client.post("/predict", json={"instances": [[1, 2]]}).json()["predictions"] == [None]


# --- ids and default outputs ------------------------------------------------------------------


@pytest.mark.parametrize("given", ["req-é", "x" * 129, "", "a\nb"])
def test_any_v2_id_text_is_accepted_and_echoed(serve: Callable[..., Any], given: str) -> None:
    got = _infer(serve(_Recorder()), "FP64", [1, 2], id=given)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == given
    assert got.headers["x-request-id"] != given  # not a header value: the server's own


def test_a_v2_id_that_can_be_a_header_names_the_request(serve: Callable[..., Any]) -> None:
    got = _infer(serve(_Recorder()), "FP64", [1, 2], id="req-7")
    assert (got.json()["id"], got.headers["x-request-id"]) == ("req-7", "req-7")


def test_a_v2_id_that_is_not_text_is_refused(serve: Callable[..., Any]) -> None:
    assert _infer(serve(_Recorder()), "FP64", [1, 2], id=7).status_code == 400


def test_a_v2_request_naming_no_outputs_gets_every_output_the_metadata_lists(
    serve: Callable[..., Any],
) -> None:
    client = serve(_Recorder())
    listed = [o["name"] for o in client.get("/v2/models/m").json()["outputs"]]
    got = [o["name"] for o in _infer(client, "FP64", [1, 2]).json()["outputs"]]
    assert got == listed == ["predict", "predict_proba"]
