"""The model server, review 40: answers, integer ranges and v2 field types.

* ``/predict`` answered a 500 where v2 served the same answer: bytes labels (an ``S``
  array; bytes, ``bytearray`` or ``np.bytes_`` cells), Python integers beyond 64 bits
  (orjson refuses them), sets; and the prediction log wrote bytes as Python text
  (``"b'yes'"``). Both now write such values as a v2 ``BYTES`` tensor does.
* An ``INT64`` integer literal just below ``INT64``'s minimum (orjson reads it as the
  float -2**63, inside the range) was refused as "a float literal" instead of as out of
  range.
* v2 fields of the wrong JSON type were accepted: an input's ``"name"`` that is not a
  string, ``"parameters"`` that are not an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import answering, serving

from modelship.deploy.serve import PredictionLog, read_prediction_log


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


def _v2(client: Any, **extra: Any) -> Any:
    tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]}
    return client.post("/v2/models/m/infer", json={"inputs": [tensor], **extra})


# --- 1: /predict writes what JSON has no type for as v2 does; so does the log ------------


def test_predict_answers_a_bytes_array_as_utf8_text_as_v2_does(serve: Any) -> None:
    labels = np.array([b"yes", b"\xffno"])
    client = serve(lambda x: labels[(x[:, 0] > 0).astype(int)])
    answer = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == ["yes", "\\xffno"]
    v2 = _v2(client).json()["outputs"][0]
    assert (v2["datatype"], v2["data"]) == ("BYTES", ["\\xffno"])


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (b"yes", "yes"),
        (bytearray(b"ab"), "ab"),
        (np.bytes_(b"no"), "no"),
        (b"\xff", "\\xff"),  # an undecodable byte as a backslash escape
        (2**70 + 1, "1180591620717411303425"),  # exact: never a rounded float
        (2**64, "18446744073709551616"),
        (-(2**63) - 1, "-9223372036854775809"),
        ({1}, "{1}"),
        (frozenset(), "frozenset()"),
    ],
    ids=[
        "bytes",
        "bytearray",
        "np.bytes_",
        "undecodable",
        "2**70+1",
        "2**64",
        "-2**63-1",
        "set",
        "frozenset",
    ],
)
def test_predict_answers_an_object_cell_json_has_no_type_for_as_v2_does(
    serve: Any, cell: Any, written: str
) -> None:
    client = serve(answering(cell))
    answer = client.post("/predict", json={"instances": [[1, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [written]
    v2 = _v2(client)
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == [written]


@pytest.mark.parametrize("cell", [2**64 - 1, -(2**63), np.uint64(2**64 - 1), 1.5, "text"])
def test_predict_answers_a_value_json_holds_as_it_is(serve: Any, cell: Any) -> None:
    client = serve(answering(cell))
    answer = client.post("/predict", json={"instances": [[1, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [cell]


def test_predict_converts_what_is_nested_in_a_cell_too(serve: Any) -> None:
    client = serve(answering({"ids": [2**70, b"x"], 1: {True: bytearray(b"y")}}))
    answer = client.post("/predict", json={"instances": [[1, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [
        {"ids": ["1180591620717411303424", "x"], "1": {"true": "y"}}
    ]


def test_a_two_dimensional_bytes_answer_keeps_its_rows(serve: Any) -> None:
    client = serve(lambda x: np.array([[b"a", b"b"]] * len(x)))
    answer = client.post("/predict", json={"instances": [[1, 0], [2, 0]]})
    assert answer.json()["predictions"] == [["a", "b"], ["a", "b"]]


def test_an_answer_that_refers_to_itself_is_a_500_saying_so(serve: Any) -> None:
    looped: list[Any] = []
    looped.extend([looped, looped])  # followed cell by cell it would never end
    client = serve(answering(looped), warmup=False)
    answer = client.post("/predict", json={"instances": [[1, 0]]})
    assert answer.status_code == 500
    assert "refers to itself" in answer.json()["error"]
    assert answer.json()["request_id"] == answer.headers["x-request-id"]


def test_the_server_logs_bytes_and_big_integers_as_it_answered_them(
    serve: Any, tmp_path: Path
) -> None:
    labels = {0: b"no", 1: 2**70 + 1}

    def predict(x: Any) -> Any:
        out = np.empty(len(x), dtype=object)
        for i, first in enumerate(x[:, 0]):
            out[i] = labels[int(first)]
        return out

    log = str(tmp_path / "log")
    client = serve(predict, prediction_log=log, log_flush_seconds=3600)
    answer = client.post(
        "/predict", json={"instances": [[0, 0], [1, 0]]}, headers={"x-request-id": "p"}
    )
    assert answer.json()["predictions"] == ["no", "1180591620717411303425"]
    assert _v2(client, id="v").status_code == 200
    assert client.app.state.server.flush_log() == 3
    rows = read_prediction_log(log)
    assert [(r["request_id"], r["output"]) for r in rows] == [
        ("p", "no"),
        ("p", "1180591620717411303425"),
        ("v", "1180591620717411303425"),
    ]


@pytest.mark.parametrize(
    ("answer", "logged"),
    [
        (np.array([b"yes", b"\xff"]), ["yes", "\\xff"]),
        (np.array([b"a", bytearray(b"b"), np.bytes_(b"c")], dtype=object), ["a", "b", "c"]),
        (np.array([2**70 + 1, 5, {2}], dtype=object), ["1180591620717411303425", 5, "{2}"]),
        (np.array([[b"a", 2**64]], dtype=object), [["a", "18446744073709551616"]]),
        ([b"x", 2**70], ["x", "1180591620717411303424"]),
    ],
    ids=["S-array", "bytes-cells", "bigint-and-set", "2-D", "list"],
)
def test_the_log_writes_bytes_as_text_and_big_integers_exactly(
    tmp_path: Path, answer: Any, logged: list[Any]
) -> None:
    log = PredictionLog(str(tmp_path / "log"))
    rows = len(logged)
    log.add("r", np.zeros((rows, 1)), answer, latency_seconds=0.0, model="m", version="1")
    assert log.flush() == rows
    assert [r["output"] for r in read_prediction_log(str(tmp_path / "log"))] == logged


def test_the_log_writes_bytes_among_several_methods_answers_as_text(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path / "log"))
    labels = np.array([b"yes"])
    log.add(
        "r",
        np.zeros((1, 1)),
        labels,
        latency_seconds=0.0,
        model="m",
        version="1",
        outputs_by_method={"predict": labels, "predict_proba": np.array([[0.25, 0.75]])},
    )
    log.flush()
    (row,) = read_prediction_log(str(tmp_path / "log"))
    assert row["outputs"] == {"predict": "yes", "predict_proba": [0.25, 0.75]}


def test_json_ready_leaves_numbers_and_text_as_they_are() -> None:
    from modelship.deploy.serve._log import json_ready

    numbers = np.arange(3.0)
    assert json_ready(numbers) is numbers
    assert json_ready(["a", 1, 2.5, None, True]) == ["a", 1, 2.5, None, True]
    assert json.dumps(json_ready({None: 1, 2.5: 2, np.int64(3): 3})) == (
        '{"null": 1, "2.5": 2, "3": 3}'
    )


# --- 2: an integer literal out of an integer type's range is refused as such ------------


def _raw_v2(client: Any, datatype: str, data: str) -> Any:
    body = (
        '{"inputs":[{"name":"x","shape":[1,2],"datatype":"' + datatype + '","data":' + data + "}]}"
    )
    return client.post(
        "/v2/models/m/infer", content=body, headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("INT64", "[-9223372036854775809, 0]"),  # orjson: the float -2**63, in range
        ("INT64", "[0, -9223372036854775809]"),
        ("INT64", "[-9223372036854777856, 0]"),
        ("INT64", "[9223372036854775808, 0]"),
        ("UINT64", "[18446744073709551616, 0]"),
        ("UINT64", "[1180591620717411303425, 0]"),
        ("UINT64", "[-1, 0]"),
        ("UINT64", "[-9223372036854775809, 0]"),
        ("INT32", "[2147483648, 0]"),
        ("INT32", "[-9223372036854775809, 0]"),
        ("INT16", "[-32769, 0]"),
        ("INT8", "[128, 0]"),
        ("INT8", "[-129.0, 0]"),
        ("UINT8", "[1e300, 0]"),
    ],
)
def test_an_integer_out_of_its_types_range_is_refused_as_out_of_range(
    serve: Any, datatype: str, data: str
) -> None:
    client = serve(lambda x: x[:, 0])
    answer = _raw_v2(client, datatype, data)
    assert answer.status_code == 400, answer.text
    assert f"outside {datatype}'s range" in answer.json()["error"]


@pytest.mark.parametrize(
    "data",
    [
        "[9007199254740993.0, 0]",
        "[-9223372036854775808.0, 0]",
        "[9.2e18, 0]",
        # read exactly, it is still the float -2**63: what was meant is not known
        "[-9223372036854775809.0, 0]",
    ],
)
def test_a_float_literal_rounding_into_int64s_range_is_refused_as_a_float_literal(
    serve: Any, data: str
) -> None:
    client = serve(lambda x: x[:, 0])
    answer = _raw_v2(client, "INT64", data)
    assert answer.status_code == 400, answer.text
    assert "float literal" in answer.json()["error"]


def test_int64s_least_value_is_accepted(serve: Any) -> None:
    client = serve(lambda x: x[:, 0])
    answer = _raw_v2(client, "INT64", "[-9223372036854775808, 0]")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [-(2.0**63)]


# --- 3: v2 fields of the wrong JSON type are a 400 -------------------------------------


def _tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0], **fields}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"inputs": [_tensor(name=5)]}, '"name" must be a string'),
        ({"inputs": [_tensor(name=None)]}, '"name" must be a string'),
        ({"inputs": [_tensor(name=["x"])]}, '"name" must be a string'),
        ({"inputs": [_tensor(parameters=5)]}, '"parameters" of the input tensor'),
        ({"inputs": [_tensor(parameters="x")]}, '"parameters" of the input tensor'),
        ({"inputs": [_tensor(parameters=[])]}, '"parameters" of the input tensor'),
        ({"inputs": [_tensor()], "parameters": 5}, '"parameters" of the request'),
        ({"inputs": [_tensor()], "parameters": "x"}, '"parameters" of the request'),
        ({"inputs": [_tensor()], "outputs": ["predict"]}, 'each of "outputs" must be an object'),
        ({"inputs": [_tensor()], "outputs": [{"name": 5}]}, 'output\'s "name" must be a string'),
        (
            {"inputs": [_tensor()], "outputs": [{"name": "predict", "parameters": 5}]},
            "\"parameters\" of output 'predict'",
        ),
        ({"inputs": [_tensor()], "id": 5}, '"id" must be a string'),
    ],
    ids=[
        "input-name-int",
        "input-name-null",
        "input-name-list",
        "input-parameters-int",
        "input-parameters-str",
        "input-parameters-list",
        "request-parameters-int",
        "request-parameters-str",
        "output-not-object",
        "output-name-int",
        "output-parameters-int",
        "id-int",
    ],
)
def test_a_v2_field_of_the_wrong_json_type_is_a_400_naming_it(
    serve: Any, body: dict[str, Any], named: str
) -> None:
    client = serve(lambda x: x[:, 0])
    answer = client.post("/v2/models/m/infer", json=body, headers={"x-request-id": "bad-1"})
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["error"]
    assert answer.json()["request_id"] == "bad-1" == answer.headers["x-request-id"]


@pytest.mark.parametrize(
    "extra",
    [
        {"parameters": {"content_type": "np"}},
        {"parameters": None},
        {"outputs": [{"name": "predict", "parameters": {}}]},
    ],
)
def test_v2_parameters_that_are_an_object_or_null_are_accepted(
    serve: Any, extra: dict[str, Any]
) -> None:
    client = serve(lambda x: x[:, 0])
    body = {"inputs": [_tensor(parameters={"content_type": "np"})], **extra}
    answer = client.post("/v2/models/m/infer", json=body)
    assert answer.status_code == 200, answer.text
