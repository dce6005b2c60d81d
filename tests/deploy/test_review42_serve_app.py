"""The model server, review 42: answers and requests.

* A missing value among text labels (NaN from a pandas ``map`` of an unknown class,
  ``pd.NA``) was served on v2 as the label ``"nan"`` or ``"<NA>"`` with a 200.
* ``/predict``, v2 and the prediction log wrote a datetime, an Enum or a dataclass three
  ways (orjson's own forms on ``/predict``, ``str()`` on v2 and in the log), and a
  ``datetime64[ns]`` answer as integers on v2 and in the log.
* An ``np.matrix`` answer was v2 data nested ``[[...]]`` under a flat shape; a masked
  array's masked cells were served as the numbers under the mask, or as ``null`` in an
  ``FP64`` tensor.
* ``create_app(model, config={...})`` raised AttributeError.
* One ``null`` among numbers sent the whole request through a loop in Python over every
  cell.
* A path with a trailing slash got Starlette's bare 307, without ``X-Request-ID``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import answering, serving
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy.serve import ModelServer, _app, create_app, read_prediction_log
from modelship.errors import ConfigError

ROW = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]}


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


def _v2(client: Any, tensor: dict[str, Any] = ROW) -> Any:
    return client.post("/v2/models/m/infer", json={"inputs": [tensor]})


def _three_ways(client: Any) -> tuple[Any, Any, Any]:
    """A one-row answer as ``/predict`` wrote it, as v2's data, and the log's outputs of
    both requests."""
    predicted = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert predicted.status_code == 200, predicted.text
    v2 = _v2(client)
    assert v2.status_code == 200, v2.text
    server = client.app.state.server
    server.flush_log()
    logged = [row["output"] for row in read_prediction_log(server.config.prediction_log)]
    return predicted.json()["predictions"], v2.json()["outputs"][0]["data"], logged


def _missing_cells() -> list[Any]:
    # Not numpy's NaT as a cell of an object array: orjson writes numpy datetimes itself
    # and refuses NaT (a 500 on /predict); a datetime64 answer's NaT is tested below.
    cells: list[Any] = [float("nan"), np.float64("nan"), np.float32("nan"), float("inf")]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - the test extra installs pandas
        return cells
    return [*cells, pd.NA, pd.NaT]


# --- 1: a missing value among text labels is missing, on v2 too ---------------------------


def test_a_nan_among_text_labels_is_a_500_on_v2_not_the_label_nan(serve: Any) -> None:
    labels = np.array(["cat", "dog", np.nan], dtype=object)  # what .map of class 2 gives
    client = serve(lambda x: labels[x[:, 0].astype(int)])
    v2 = _v2(client, {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0, 0, 2, 0]})
    assert v2.status_code == 500
    assert "missing value" in v2.json()["error"]
    predicted = client.post("/predict", json={"instances": [[0, 0], [2, 0]]})
    assert predicted.json()["predictions"] == ["cat", None]


@pytest.mark.parametrize("cell", _missing_cells(), ids=repr)
def test_a_missing_cell_among_labels_is_null_on_predict_and_in_the_log_and_a_500_on_v2(
    serve: Any, tmp_path: Path, cell: Any
) -> None:
    def predict(x: Any) -> Any:
        return np.array([["cat", cell]] * len(x), dtype=object)

    client = serve(predict, prediction_log=str(tmp_path / "log"))
    v2 = _v2(client)
    assert v2.status_code == 500
    assert "missing value" in v2.json()["error"]
    predicted = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert predicted.json()["predictions"] == [["cat", None]]
    server = client.app.state.server
    server.flush_log()
    assert [r["output"] for r in read_prediction_log(str(tmp_path / "log"))] == [["cat", None]]


# --- 2: one text for what JSON has no type for, on /predict, v2 and in the log -------------


class Risk(enum.Enum):
    LOW = "low"


@dataclasses.dataclass
class Scored:
    label: str
    score: float


def test_a_datetime_and_an_enum_are_written_alike_on_predict_v2_and_in_the_log(
    serve: Any, tmp_path: Path
) -> None:
    moment = datetime.datetime(2026, 12, 6, 8, 0, 0)

    def predict(x: Any) -> Any:
        return np.array([[moment, Risk.LOW]] * len(x), dtype=object)

    client = serve(predict, prediction_log=str(tmp_path / "log"))
    row = ["2026-12-06T08:00:00", "low"]  # orjson wrote these; v2 and the log used str()
    assert _three_ways(client) == ([row], row, [row, row])


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (datetime.date(2026, 12, 6), "2026-12-06"),
        (datetime.time(8, 30, 0, 5), "08:30:00.000005"),
        (datetime.time(8, 30, tzinfo=datetime.UTC), "08:30:00+00:00"),  # orjson refused it
        (datetime.datetime(2026, 12, 6, 8, tzinfo=datetime.UTC), "2026-12-06T08:00:00+00:00"),
        (np.datetime64("2026-12-06T08:00:00.123456789"), "2026-12-06T08:00:00.123456"),
        (Scored("cat", 0.5), "Scored(label='cat', score=0.5)"),  # a dataclass as its text
    ],
    ids=repr,
)
def test_each_value_json_has_no_type_for_is_one_text_on_predict_v2_and_in_the_log(
    serve: Any, tmp_path: Path, cell: Any, text: str
) -> None:
    client = serve(answering(cell), prediction_log=str(tmp_path / "log"))
    assert _three_ways(client) == ([text], [text], [text, text])


def test_a_pandas_timestamp_is_written_in_iso_8601_everywhere(serve: Any, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    client = serve(answering(pd.Timestamp("2026-12-06 08:00")), prediction_log=str(tmp_path))
    text = "2026-12-06T08:00:00"
    assert _three_ways(client) == ([text], [text], [text, text])


def test_a_datetime64_answer_is_iso_8601_text_on_predict_v2_and_in_the_log(
    serve: Any, tmp_path: Path
) -> None:
    stamp = np.datetime64("2026-12-06T08:00:00", "ns")
    client = serve(lambda x: np.full(len(x), stamp), prediction_log=str(tmp_path / "log"))
    text = "2026-12-06T08:00:00"  # v2 and the log had 1796544000000000000
    assert _three_ways(client) == ([text], [text], [text, text])
    metadata = client.get("/v2/models/m").json()["outputs"][0]
    assert metadata["datatype"] == "BYTES"


def test_a_nat_in_a_datetime64_answer_is_null_on_predict_and_a_500_on_v2(serve: Any) -> None:
    stamps = np.array(["2026-12-06T08", "NaT"], dtype="datetime64[ns]")
    client = serve(lambda x: stamps[x[:, 0].astype(int)])
    predicted = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["predictions"] == ["2026-12-06T08:00:00", None]
    v2 = _v2(client, {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 0]})
    assert v2.status_code == 500
    assert "missing value" in v2.json()["error"]


# --- 3: subclasses of ndarray are served as the plain arrays they hold ---------------------


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_a_matrix_answer_is_flat_v2_data_as_its_shape_says(serve: Any) -> None:
    client = serve(lambda x: np.asmatrix(x @ np.array([[1.0], [10.0]])))
    rows = {"name": "x", "shape": [3, 2], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}
    out = _v2(client, rows).json()["outputs"][0]
    assert (out["shape"], out["data"]) == ([3, 1], [21.0, 43.0, 65.0])
    assert np.asarray(out["data"]).shape == (3,)
    predicted = client.post("/predict", json={"instances": [[1, 2], [3, 4]]}).json()
    assert predicted["predictions"] == [[21.0], [43.0]]


@pytest.mark.parametrize(
    ("values", "mask", "served"),
    [
        ([1.5, 2.5], [False, True], [1.5, None]),
        ([1, 2], [True, False], [None, 2]),  # an integer under the mask is not served
    ],
)
def test_a_masked_cell_is_a_missing_value(
    serve: Any, values: list[Any], mask: list[bool], served: list[Any]
) -> None:
    answer = np.ma.array(values, mask=mask)
    client = serve(lambda x: answer[: len(x)])
    predicted = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["predictions"] == served
    v2 = _v2(client, {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0, 0, 1, 0]})
    assert v2.status_code == 500  # was a 200 serving the masked number, or null in FP64 data
    assert "(/predict answers it as null)" in v2.json()["error"]


# --- 4: a config that is not a ServeConfig is a ConfigError ------------------------------


def test_create_app_with_a_dict_for_config_is_a_config_error_naming_serveconfig() -> None:
    with pytest.raises(ConfigError, match=r"config must be a ServeConfig or None, got a dict"):
        create_app(functools.partial(np.sum, axis=1), config={"warmup": False})  # type: ignore[arg-type]


def test_a_model_server_with_a_dict_for_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"ServeConfig\(\*\*options\)"):
        ModelServer(lambda: None, name="m", version="1", config={})  # type: ignore[arg-type]


# --- 5: a null among numbers is read, or refused, without a pass in Python -----------------


@pytest.fixture
def no_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_path(*args: Any) -> Any:
        raise AssertionError("the cells were read one by one in Python")

    monkeypatch.setattr(_app, "_object_numbers", slow_path)


def test_a_null_is_refused_without_reading_the_cells_one_by_one(no_slow_path: None) -> None:
    data = [[0.5] * 1000, [*([1] * 999), None]]
    with pytest.raises(_app._BadRequest, match=r"instances\[1\]\[999\] is missing \(null\)"):
        _app._numbers(data, np.dtype(np.float64), "instances", nulls=False)


def test_a_null_in_an_integer_tensor_is_refused_without_reading_the_cells(
    no_slow_path: None,
) -> None:
    with pytest.raises(_app._BadRequest, match=r"data\[2\] is NoneType None, not INT64"):
        _app._numbers([1, 2, None], np.dtype(np.int64), "data", "INT64", nulls=True)


def test_a_null_allowed_is_nan_without_reading_the_cells_one_by_one(no_slow_path: None) -> None:
    got = _app._numbers([[None, 1], [2.5, 2**53]], np.dtype(np.float64), "instances")
    assert np.array_equal(got, [[np.nan, 1.0], [2.5, 2.0**53]], equal_nan=True)


_CELLS = st.none() | st.integers(-(2**66), 2**66) | st.floats(-1e300, 1e300, width=64)


def _rows(width: int) -> Any:
    return st.lists(st.lists(_CELLS, min_size=width, max_size=width), min_size=1, max_size=4)


@given(st.integers(1, 3).flatmap(_rows))
def test_rows_with_nulls_are_read_as_the_cell_by_cell_path_reads_them(data: list[Any]) -> None:
    """The slow path read every request holding a null: the vectorised one must agree."""
    float64 = np.dtype(np.float64)
    cells = np.asarray(data, dtype=object)
    try:
        expected: Any = _app._object_numbers(cells, float64, "x", "a number")
    except _app._BadRequest as bad:
        expected = bad.message
    try:
        got: Any = _app._numbers(data, float64, "x", bools=False)
    except _app._BadRequest as bad:
        got = bad.message
    if isinstance(expected, str):
        assert got == expected
    else:
        assert isinstance(got, np.ndarray)
        assert np.array_equal(got, expected, equal_nan=True)


@pytest.mark.parametrize("data", [[None, True, 1, 2], [0.5, True, 1, 2]])
def test_a_boolean_in_flat_v2_data_is_named_by_its_own_index(serve: Any, data: Any) -> None:
    # With a null, the cells were read one by one, which named data[1]; without, data[1][0]
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": data}
    answer = _v2(serve(lambda x: x[:, 0], allow_nan=True), tensor)
    assert answer.status_code == 400
    assert answer.json()["error"] == "data[1] is bool True, not FP64"


def test_a_server_allowing_nan_gives_the_model_nan_for_a_null(serve: Any) -> None:
    seen: list[Any] = []

    def predict(x: Any) -> Any:
        seen.append(x.copy())
        return x[:, 0]

    client = serve(predict, allow_nan=True)
    answer = client.post("/predict", json={"instances": [[None, 1.5], [2, 3]]})
    assert answer.status_code == 200, answer.text
    assert np.array_equal(seen[-1], [[np.nan, 1.5], [2.0, 3.0]], equal_nan=True)


# --- 6: a trailing slash is a JSON 404 with the request id --------------------------------


@pytest.mark.parametrize(("method", "path"), [("POST", "/predict/"), ("GET", "/ready/")])
def test_a_trailing_slash_is_a_json_404_carrying_the_request_id(
    serve: Any, method: str, path: str
) -> None:
    client = serve(lambda x: x[:, 0])
    answer = client.request(
        method,
        path,
        json={"instances": [[1, 2]]} if method == "POST" else None,
        headers={"X-Request-ID": "trace-1", "Host": "evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "trace-1"
    assert "location" not in answer.headers
    assert answer.json()["request_id"] == "trace-1"
