"""The prediction log, the server's configuration and answer encoding, in process."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import wait_ready as _wait_ready
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from modelship.deploy.serve import (
    PredictionLog,
    PredictionLogError,
    ServeConfig,
    read_prediction_log,
)
from modelship.deploy.serve._log import UnwritableBatch, row_fingerprint
from modelship.errors import ConfigError


def _add(log: PredictionLog, request_id: str, rows: Any, outputs: Any) -> bool:
    return log.add(
        request_id,
        np.asarray(rows),
        np.asarray(outputs),
        latency_seconds=0.001,
        model="m",
        version="1",
    )


def test_each_flush_writes_one_new_file_and_nothing_when_empty(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path / "log"))
    _add(log, "a", [[1.0, 2.0]], [0])
    assert log.flush() == 1
    assert log.flush() == 0
    _add(log, "b", [[3.0, 4.0], [5.0, 6.0]], [1, 0])
    assert log.flush() == 2
    assert len(list((tmp_path / "log").iterdir())) == 2
    rows = read_prediction_log(str(tmp_path / "log"))
    assert [(r["request_id"], r["row"], r["output"]) for r in rows] == [
        ("a", 0, 0),
        ("b", 0, 1),
        ("b", 1, 0),
    ]


def test_a_full_buffer_drops_and_counts_instead_of_growing(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), batch_rows=2, max_pending_rows=3)
    assert _add(log, "a", [[1.0], [2.0]], [0, 0])
    assert not _add(log, "b", [[1.0], [2.0]], [0, 0])
    assert log.dropped_rows == 2
    assert log.pending_rows == 2


def test_a_failed_write_keeps_the_rows_for_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = PredictionLog(str(tmp_path / "log"))
    _add(log, "a", [[1.0]], [0])

    def broken(data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(log, "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        log.flush()
    assert log.pending_rows == 1
    monkeypatch.undo()
    assert log.flush() == 1
    assert [r["request_id"] for r in read_prediction_log(str(tmp_path / "log"))] == ["a"]


def test_a_batch_being_written_is_never_read(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / ".20260101T000000-1-ab-00000001.jsonl.tmp").write_text("{half a line")
    assert read_prediction_log(str(folder)) == []


_GOOD_LINE = {
    "request_id": "a",
    "row": 0,
    "timestamp": 1,
    "model": "m",
    "version": "1",
    "latency_seconds": 0.1,
    "inputs": [1.0],
    "output": 1,
}


def test_a_line_as_the_log_writes_it_reads_back(tmp_path: Path) -> None:
    (tmp_path / "20260101T000000-1-ab-00000001.jsonl").write_text(json.dumps(_GOOD_LINE) + "\n")
    assert read_prediction_log(str(tmp_path)) == [_GOOD_LINE]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"request_id": "a"}', "missing"),
        (
            '{"request_id": "a", "row": 0, "timestamp": 1, "model": "m", "version": "1", '
            '"latency_seconds": 0.1, "output": 1}',
            "neither 'inputs' nor 'input_fingerprint'",
        ),
        *[
            (json.dumps({**_GOOD_LINE, key: value}), f"{key} is {value!r}")
            for key, value in [
                ("request_id", 7),
                ("row", "0"),
                ("row", -1),
                ("row", True),
                ("timestamp", "noon"),
                ("model", None),
                ("version", 3),
                ("latency_seconds", -0.5),
                ("inputs", "1,2"),
                ("input_fingerprint", "abc"),
            ]
        ],
    ],
)
def test_a_line_that_is_not_a_logged_prediction_names_its_file_and_line(
    tmp_path: Path, line: str, says: str
) -> None:
    log = PredictionLog(str(tmp_path))
    _add(log, "a", [[1.0]], [0])
    log.flush()
    (path,) = tmp_path.iterdir()
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(PredictionLogError, match=f"{path.name}, line 2: .*{says}"):
        read_prediction_log(str(tmp_path))


def test_non_finite_values_are_logged_as_null_in_strict_json(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path))
    _add(log, "a", [[float("nan"), 1.0]], [float("inf")])
    log.flush()
    (path,) = tmp_path.iterdir()
    assert "NaN" not in path.read_text()
    assert "Infinity" not in path.read_text()
    (row,) = read_prediction_log(str(tmp_path))
    assert row["inputs"] == [None, 1.0]
    assert row["output"] is None


def test_a_folder_that_does_not_exist_holds_no_predictions(tmp_path: Path) -> None:
    assert read_prediction_log(str(tmp_path / "nothing-yet")) == []


@settings(max_examples=40, deadline=None)
@given(
    rows=arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 4)),
        elements=st.floats(-1e300, 1e300, allow_nan=False, width=64),
    ),
    inputs=st.sampled_from(["full", "fingerprint"]),
)
def test_logged_rows_read_back_exactly(rows: np.ndarray, inputs: str) -> None:
    url = f"memory://predlog-{uuid.uuid4().hex}"
    log = PredictionLog(url, inputs=inputs)  # type: ignore[arg-type]
    outputs = rows.sum(axis=1)
    _add(log, "r", rows, outputs)
    log.flush()
    logged = read_prediction_log(url)
    assert [r["output"] for r in logged] == outputs.tolist()
    if inputs == "full":
        assert [r["inputs"] for r in logged] == rows.tolist()
    else:
        assert [r["input_fingerprint"] for r in logged] == [row_fingerprint(r) for r in rows]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"batch_rows": 0}, "batch_rows"),
        ({"flush_seconds": 0}, "flush_seconds"),
        ({"inputs": "some"}, "inputs"),
        ({"batch_rows": 10, "max_pending_rows": 5}, "max_pending_rows"),
    ],
)
def test_bad_log_settings_are_config_errors(
    tmp_path: Path, kwargs: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        PredictionLog(str(tmp_path), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"max_body_bytes": True}, "max_body_bytes"),
        ({"warmup": []}, "warmup"),
        ({"warmup": [[1.0], [1.0, 2.0]]}, "same number of features"),
        ({"warmup": [["a"]]}, r"warmup\[0\]\[0\]"),
        ({"offload_seconds": float("nan")}, "offload_seconds"),
        ({"log_inputs": "raw"}, "log_inputs"),
        ({"prediction_log": ""}, "prediction_log"),
        ({"graceful_seconds": -1}, "graceful_seconds"),
    ],
)
def test_bad_server_settings_are_config_errors_naming_the_setting(
    kwargs: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        ServeConfig(**kwargs)


def test_create_app_takes_a_model_or_a_registry_not_both() -> None:
    from modelship.deploy.serve import create_app

    with pytest.raises(ConfigError, match="either a model or a registry"):
        create_app()
    with pytest.raises(ConfigError, match="either a model or a registry"):
        create_app(len, registry="memory://x")


def test_an_object_that_cannot_predict_is_refused() -> None:
    from modelship.deploy.serve import create_app

    with pytest.raises(ConfigError, match="predict"):
        create_app({"weights": [1.0]})


def test_text_labels_are_answered_as_strings_and_v2_bytes() -> None:
    from sklearn.linear_model import LogisticRegression
    from starlette.testclient import TestClient

    from modelship.deploy.serve import create_app

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    clf = LogisticRegression().fit(x, np.array(["low", "low", "high", "high"]))
    with TestClient(create_app(clf, name="labels", version="2")) as client:
        _wait_ready(client)
        answer = client.post("/predict", json={"instances": [[0.0], [3.0]]}).json()
        assert answer["predictions"] == clf.predict(np.array([[0.0], [3.0]])).tolist()
        tensor = {"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [0.0, 3.0]}
        outputs = client.post("/v2/models/labels/infer", json={"inputs": [tensor]}).json()
        # No outputs named: every output the metadata lists (predict, predict_proba).
        (output,) = [o for o in outputs["outputs"] if o["name"] == "predict"]
    assert output["datatype"] == "BYTES"
    assert output["data"] == answer["predictions"]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_client() -> Any:
    from sklearn.linear_model import LogisticRegression
    from starlette.testclient import TestClient

    from modelship.deploy.serve import create_app

    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    clf = LogisticRegression().fit(x, np.array([0, 0, 1, 1]))
    with TestClient(create_app(clf, name="fuzz", version="1")) as client:
        yield _wait_ready(client)


@settings(max_examples=150, deadline=None)
@given(instances=JSON, method=st.none() | JSON)
def test_no_predict_body_gets_a_server_error(fuzz_client: Any, instances: Any, method: Any) -> None:
    body: dict[str, Any] = {"instances": instances}
    if method is not None:
        body["method"] = method
    answer = fuzz_client.post("/predict", json=body)
    assert answer.status_code in (200, 400), answer.text
    assert ("predictions" in answer.json()) == (answer.status_code == 200)


@settings(max_examples=150, deadline=None)
@given(
    tensor=st.fixed_dictionaries(
        {"name": st.text(max_size=3), "shape": JSON, "datatype": JSON, "data": JSON}
    )
    | JSON,
    outputs=st.none() | JSON,
)
def test_no_v2_infer_body_gets_a_server_error(fuzz_client: Any, tensor: Any, outputs: Any) -> None:
    body: dict[str, Any] = {"inputs": [tensor]}
    if outputs is not None:
        body["outputs"] = outputs
    answer = fuzz_client.post("/v2/models/fuzz/infer", json=body)
    assert answer.status_code in (200, 400), answer.text


def test_the_predict_series_exist_at_zero_before_the_first_request() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from modelship.deploy.serve._metrics import ServerMetrics

    text = ServerMetrics("fraud", "3", slot="canary").exposition().decode()
    samples = {
        (s.name, s.labels.get("code")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("endpoint") == "predict"
    }
    assert samples[("modelship_requests_total", "200")] == 0
    assert samples[("modelship_requests_total", "500")] == 0
    assert samples[("modelship_request_duration_seconds_count", None)] == 0


def test_a_date_answer_is_logged_as_text_and_does_not_stop_the_log(tmp_path: Path) -> None:
    # The answer wrote dates as text (orjson); the log's json.dumps raised TypeError on
    # them, put the batch back, and failed on it at every flush after: nothing more was
    # ever written, and nothing counted the loss.
    log = PredictionLog(str(tmp_path))
    log.add(
        "a",
        np.array([[1.0]]),
        np.array(["2024-05-01"], dtype="datetime64[D]"),
        latency_seconds=0.001,
        model="m",
        version="1",
    )
    _add(log, "b", [[2.0]], [1])
    assert log.flush() == 2
    rows = read_prediction_log(str(tmp_path))
    assert [(r["request_id"], r["output"]) for r in rows] == [("a", "2024-05-01"), ("b", 1)]


def test_a_batch_that_cannot_be_written_is_dropped_and_counted_not_retried_forever(
    tmp_path: Path,
) -> None:
    log = PredictionLog(str(tmp_path))
    circular: list[Any] = []
    circular.append(circular)
    outputs = np.empty(1, dtype=object)
    outputs[0] = circular
    log.add("a", np.array([[1.0]]), outputs, latency_seconds=0.0, model="m", version="1")
    with pytest.raises(UnwritableBatch, match="1 rows cannot be written as JSON"):
        log.flush()
    assert (log.dropped_rows, log.pending_rows) == (1, 0)
    _add(log, "b", [[2.0]], [1])
    assert log.flush() == 1


class _Tripwire:
    """Predicts the first feature; a first feature of 99 raises ``exc`` (warm-up passes)."""

    n_features_in_ = 2

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def predict(self, x: Any) -> Any:
        if (x[:, 0] == 99).any():
            raise self.exc
        return x[:, 0]


@pytest.fixture
def tripwire() -> Any:
    from starlette.testclient import TestClient

    from modelship.deploy.serve import create_app

    def make(exc: BaseException) -> Any:
        return TestClient(create_app(_Tripwire(exc), name="trip", version="1"))

    return make


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), RuntimeError("boom")])
def test_a_model_raising_anything_gets_a_counted_json_500(tripwire: Any, exc: Any) -> None:
    # SystemExit and KeyboardInterrupt got a plain-text 500 that no metric counted, so a
    # canary failing that way looked healthy to the monitor.
    with tripwire(exc) as client:
        answer = _wait_ready(client).post("/predict", json={"instances": [[99.0, 0.0]]})
        assert answer.status_code == 500
        body = answer.json()
        assert body["error"].startswith(f"the model failed: {type(exc).__name__}")
        assert body["request_id"] == answer.headers["x-request-id"]
        metrics = client.get("/metrics").text
        assert _metric(metrics, "modelship_request_errors_total", 'kind="model"') == 1.0
        # The server goes on answering.
        assert client.post("/predict", json={"instances": [[1.0, 0.0]]}).json()["predictions"] == [
            1.0
        ]


def test_the_models_own_words_stay_in_the_servers_log(tripwire: Any) -> None:
    with tripwire(RuntimeError("token=abc in /etc/secret")) as client:
        answer = _wait_ready(client).post("/predict", json={"instances": [[99.0, 0.0]]})
    assert answer.status_code == 500
    assert "RuntimeError" in answer.json()["error"]
    assert "secret" not in answer.text
    assert "token" not in answer.text


def _metric(text: str, name: str, label: str) -> float:
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and label in line
    ]
    return sum(values)


def _v2(client: Any, datatype: str, data: Any, **extra: Any) -> Any:
    tensor = {"name": "x", "shape": [1, 2], "datatype": datatype, "data": data}
    return client.post("/v2/models/fuzz/infer", json={"inputs": [tensor], **extra})


@pytest.mark.parametrize(
    ("instances", "named"),
    [
        ([["12.5", " 3 "]], "'12.5'"),  # was read as 12.5 and 3.0
        ([[True, False]], "True"),  # was read as 1.0 and 0.0
        ([[1.0, "2"]], "'2'"),
        ([[0.5, 1.5], [2.5, True]], "instances[1][1] is"),  # among floats: read as 1.0
        ([[7, False]], "False"),  # among integers: read as 0
    ],
)
def test_predict_refuses_cells_that_are_not_numbers(
    fuzz_client: Any, instances: Any, named: str
) -> None:
    answer = fuzz_client.post("/predict", json={"instances": instances})
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["error"]


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("FP64", ["7", "8"]),  # text: was read as numbers
        ("FP32", [True, False]),  # booleans are not numbers
        ("FP64", [0.5, True]),  # one among numbers was read as 1.0
        ("INT32", [3, False]),  # and as 0
        ("INT32", [1.9, -2.7]),  # fractions were truncated to 1 and -2
        ("UINT8", [255.9, 0.5]),
        ("UINT8", [300, 1]),  # out of range
        ("INT64", [2**64, 1]),
        ("BOOL", ["False", 0]),  # was read as True, False
        ("BOOL", [0.001, 0]),  # was read as True
    ],
)
def test_v2_refuses_values_that_are_not_of_the_datatype(
    fuzz_client: Any, datatype: str, data: Any
) -> None:
    answer = _v2(fuzz_client, datatype, data)
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    ("datatype", "data"), [("INT32", [1.0, 2.0]), ("INT64", [3, -4]), ("FP64", [1, 2.5])]
)
def test_v2_reads_whole_floats_as_integers_and_integers_as_floats(
    fuzz_client: Any, datatype: str, data: Any
) -> None:
    answer = _v2(fuzz_client, datatype, data)
    assert answer.status_code == 200, answer.text


def test_the_words_true_and_false_elsewhere_in_a_body_do_not_refuse_numbers(
    fuzz_client: Any,
) -> None:
    # The body holds "true" (in a parameter), so the cells are looked at: all numbers.
    answer = _v2(fuzz_client, "FP64", [0.5, 1.0], parameters={"binary_data": True})
    assert answer.status_code == 200, answer.text
    answer = fuzz_client.post("/predict", json={"instances": [[0.5, 1.0]], "note": "true"})
    assert answer.status_code == 200, answer.text


def test_v2_refuses_an_output_asked_for_twice(fuzz_client: Any) -> None:
    # Each entry ran the model again and answered it again: 2 MB of request asked for
    # 800 MB of answer.
    answer = _v2(fuzz_client, "FP64", [1.0, 2.0], outputs=[{"name": "predict"}] * 3)
    assert answer.status_code == 400
    assert "more than once" in answer.json()["error"]


@pytest.mark.parametrize("depth", [1000, 1020])
def test_deeply_nested_json_gets_a_400_not_a_500(fuzz_client: Any, depth: int) -> None:
    # Under orjson's limit of 1,024 levels, but repr() of it for the error message
    # recursed past Python's limit: an uncounted 500.
    nested = "[" * depth + "1" + "]" * depth
    body = '{"instances": ' + nested + "}"
    answer = fuzz_client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    v2 = '{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": ' + nested + "}]}"
    answer = fuzz_client.post(
        "/v2/models/fuzz/infer", content=v2, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    ("body", "may"),
    [
        (b'{"instances": [[0.5, 1e-05]]}', False),  # no word: no pass over the cells
        (b'{"instances": [[0.5, true]]}', True),
        (b'{"instances": [[false, 1]]}', True),
        (b'{"instances": [[1]], "note": "' + b"t" * 1000 + b'"}', True),  # bounded: assumed
        (b'{"inputs": [{"name": "f", "datatype": "FP64", "data": [1]}]}', False),
    ],
)
def test_a_body_may_hold_a_boolean_only_if_it_holds_the_word(body: bytes, may: bool) -> None:
    from modelship.deploy.serve._app import _may_hold_bools

    assert _may_hold_bools(body) is may
