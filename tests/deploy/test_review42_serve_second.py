"""The model server and the LocalDeployer, review 42, second look.

* A list (or tuple) of masked arrays, one per target, was stacked with the masks
  dropped: the numbers under them were served on ``/predict`` and v2 and logged.
* A masked complex answer with a masked cell was served as text (``"(1+2j)"``).
* A ``datetime64`` answer beyond the microseconds an int64 counts (year 584600) wrapped
  round to another, valid-looking date; a numpy ``datetime64`` cell in an object answer
  beyond a datetime's years, or ``NaT``, was a 500 on ``/predict``. A pandas ``Timestamp``
  was written with nanoseconds where a ``datetime64[ns]`` of the same moment was not; a
  ``timedelta64`` answer was integers of its unit (``[ns]``), or a 500 in an object
  answer, where ``[s]`` was ``"0:00:01"``.
* A LocalDeployer applied ``--log-fingerprint-key-env VAR`` with ``VAR`` unset or short in
  its servers' environment: the server exited at start, the slot's old one already
  stopped.
* ``create_app`` and ``ModelServer`` served any name and version (``None``, ``1.5``, a
  name v2 cannot reach); ``PredictionLog(batch_rows=True)`` was one row.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import answering, serving
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.deploy import DeploymentSpec, LocalDeployer
from modelship.deploy.serve import ModelServer, PredictionLog, create_app, read_prediction_log
from modelship.deploy.serve._log import json_value
from modelship.errors import ConfigError, InvalidName

ROWS = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0.0, 0.0, 1.0, 0.0]}


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


def _v2(client: Any, tensor: dict[str, Any] = ROWS) -> Any:
    return client.post("/v2/models/m/infer", json={"inputs": [tensor]})


def _logged(client: Any) -> list[Any]:
    server = client.app.state.server
    server.flush_log()
    return [row["output"] for row in read_prediction_log(server.config.prediction_log)]


def _one_text(client: Any) -> tuple[Any, Any, Any]:
    """A one-row answer as ``/predict`` wrote it, as v2's data, and the log's outputs of
    both requests."""
    predicted = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert predicted.status_code == 200, predicted.text
    v2 = _v2(client, {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]})
    assert v2.status_code == 200, v2.text
    return predicted.json()["predictions"], v2.json()["outputs"][0]["data"], _logged(client)


# --- 1: a list of masked arrays keeps its masks -------------------------------------------


def _masked_targets(kind: type) -> Callable[[Any], Any]:
    """Two targets, one masked array each: the first masks (and hides 999 under) every
    row whose first feature is 1."""

    def predict(x: Any) -> Any:
        hidden = np.ma.array(np.full(len(x), 999.0), mask=x[:, 0] == 1)
        return kind([hidden, np.ma.array(x[:, 1] + 4.0, mask=False)])

    return predict


@pytest.mark.parametrize("kind", [list, tuple])
def test_a_masked_cell_of_a_list_of_per_target_arrays_is_null_never_the_number_under_it(
    serve: Any, tmp_path: Path, kind: type
) -> None:
    client = serve(_masked_targets(kind), prediction_log=str(tmp_path / "log"))
    predicted = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["predictions"] == [[999.0, 4.0], [None, 4.0]]  # was 999.0
    v2 = _v2(client)
    assert v2.status_code == 500, v2.text  # was a 200 serving 999.0
    assert "(/predict answers it as null)" in v2.json()["error"]
    assert _logged(client) == [[999.0, 4.0], [None, 4.0]]


# --- 2: a masked complex answer is complex --------------------------------------------------


@pytest.mark.parametrize(
    "predict",
    [
        lambda x: np.ma.array(np.full(len(x), 1 + 2j), mask=x[:, 0] == 1),
        lambda x: [np.ma.array(np.full(len(x), 1 + 2j), mask=x[:, 0] == 1)] * 3,
    ],
    ids=["one array", "a list of per-target arrays"],
)
def test_a_masked_complex_answer_with_a_masked_cell_is_a_500_saying_complex(
    serve: Any, predict: Callable[[Any], Any]
) -> None:
    client = serve(predict, warmup=False)
    predicted = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert predicted.status_code == 500, predicted.text  # was a 200 with "(1+2j)"
    assert "complex numbers" in predicted.json()["error"]
    assert "complex numbers" in _v2(client).json()["error"]


# --- 3: datetimes and durations, one text form -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (np.datetime64("584600", "Y"), "584600"),  # was "0045-12-13T15:58:10.448384"
        (np.datetime64(2**62, "D"), np.datetime_as_string(np.datetime64(2**62, "D"))),
        (np.datetime64(-(2**40), "h"), np.datetime_as_string(np.datetime64(-(2**40), "h"))),
        (np.datetime64("2026-12-06", "D"), "2026-12-06T00:00:00"),
    ],
    ids=str,
)
def test_a_datetime64_answer_beyond_the_microseconds_an_int64_counts_is_numpys_text(
    serve: Any, tmp_path: Path, answer: Any, text: str
) -> None:
    client = serve(lambda x: np.full(len(x), answer), prediction_log=str(tmp_path / "log"))
    assert _one_text(client) == ([text], [text], [text, text])


@pytest.mark.parametrize("cell", [np.datetime64("584600", "Y"), np.datetime64("NaT")], ids=str)
def test_a_numpy_datetime_cell_orjson_refuses_is_written_as_the_log_writes_it(
    serve: Any, tmp_path: Path, cell: Any
) -> None:
    client = serve(answering(cell), prediction_log=str(tmp_path / "log"), warmup=False)
    predicted = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert predicted.status_code == 200, predicted.text  # was a 500: orjson refused it
    text = None if np.isnat(cell) else "584600"
    assert predicted.json()["predictions"] == [text]
    assert _logged(client) == [text]


# Every value a datetime64 of these units holds, wrapped round or not.
_UNITS = st.sampled_from(["Y", "M", "W", "D", "h", "m", "s", "ms", "us"])


@given(unit=_UNITS, count=st.integers(-(2**63) + 1, 2**63 - 1))
def test_a_datetime64_is_written_as_the_moment_it_holds_or_as_numpys_text_of_it(
    unit: str, count: int
) -> None:
    moment = np.datetime64(count, unit)
    text = json_value(moment)
    try:
        written = np.datetime64(datetime.datetime.fromisoformat(text), "us")
    except ValueError:  # numpy's text, only of a year a datetime does not hold
        numpys = str(np.datetime_as_string(moment))
        assert text == numpys
        assert not 1 <= int(numpys[:1] + numpys[1:].partition("-")[0]) <= 9999, text
    else:  # a datetime's isoformat(): never one the cast wrapped round to
        assert written.astype(moment.dtype) == moment, text


def test_a_pandas_timestamp_and_a_datetime64_ns_of_one_moment_are_both_to_the_microsecond(
    serve: Any, tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    moment = "2026-12-06T08:00:00.000001001"
    aware = serve(
        lambda x: pd.Series([pd.Timestamp(moment, tz="UTC")] * len(x)),
        prediction_log=str(tmp_path / "aware"),
    )
    naive = serve(
        lambda x: np.full(len(x), np.datetime64(moment, "ns")),
        prediction_log=str(tmp_path / "naive"),
    )
    text = "2026-12-06T08:00:00.000001"
    assert _one_text(naive) == ([text], [text], [text, text])
    zoned = f"{text}+00:00"  # was ...00.000001001+00:00
    assert _one_text(aware) == ([zoned], [zoned], [zoned, zoned])


def _durations() -> list[Any]:
    ninety = np.timedelta64(90, "s")
    cells: list[Any] = [datetime.timedelta(seconds=90), ninety, ninety.astype("m8[ns]")]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - the test extra installs pandas
        return cells
    return [*cells, pd.Timedelta(90, "s")]  # str() of it: "0 days 00:01:30"


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s", "m"])
def test_a_timedelta64_answer_is_one_text_whatever_its_unit(
    serve: Any, tmp_path: Path, unit: str
) -> None:
    three = np.timedelta64(3, "m").astype(f"m8[{unit}]")
    client = serve(lambda x: np.full(len(x), three), prediction_log=str(tmp_path / "log"))
    text = "0:03:00"  # [ns] was 180000000000 on /predict and in the log
    assert _one_text(client) == ([text], [text], [text, text])


@pytest.mark.parametrize("cell", _durations(), ids=repr)
def test_a_duration_in_an_object_answer_is_the_same_text(
    serve: Any, tmp_path: Path, cell: Any
) -> None:
    client = serve(answering(cell), prediction_log=str(tmp_path / "log"))  # np: failed warm-up
    assert _one_text(client) == (["0:01:30"], ["0:01:30"], ["0:01:30", "0:01:30"])


def test_a_nat_timedelta64_is_null_on_predict_and_a_500_on_v2(serve: Any) -> None:
    durations = np.array([1, "NaT"], dtype="m8[s]")
    client = serve(lambda x: durations[x[:, 0].astype(int)])
    predicted = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert predicted.json()["predictions"] == ["0:00:01", None]
    v2 = _v2(client)
    assert v2.status_code == 500
    assert "missing value" in v2.json()["error"]


# --- 4: the LocalDeployer checks the fingerprint key's variable ----------------------------

KEY = "K" * 32
SHORT = "Sh0rtKy"
FLAGS = ["--log-inputs", "fingerprint", "--log-fingerprint-key-env", "MS_TEST_LOG_KEY"]


def _spec(env: dict[str, str], args: tuple[str, ...] = ()) -> DeploymentSpec:
    doc = {"containers": [{"name": "m", "image": "m:1", "env": env, "args": list(args)}]}
    return DeploymentSpec.from_dict({"deployment": doc})


def _deployer(registry: Path, log: Path) -> LocalDeployer:
    return LocalDeployer(
        ms.open_registry(str(registry)),
        server_args=[*FLAGS, "--prediction-log", str(log), "--no-warmup"],
    )


@pytest.mark.parametrize("value", [None, "", SHORT])
def test_apply_refuses_a_fingerprint_key_variable_the_server_would_exit_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("MS_TEST_LOG_KEY", raising=False)
    else:
        monkeypatch.setenv("MS_TEST_LOG_KEY", value)
    with _deployer(tmp_path / "reg", tmp_path / "log") as dep:
        with pytest.raises(ConfigError) as caught:
            dep.apply("blue", "fraud", "1")
        assert dep.pids() == {}  # no server started
    message = str(caught.value)
    assert "--log-fingerprint-key-env MS_TEST_LOG_KEY" in message
    assert "unset or empty" in message if not value else "7 bytes" in message
    assert SHORT not in message


def test_apply_reads_the_variable_as_the_spec_sets_it_for_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MS_TEST_LOG_KEY", KEY)  # the deployer's own: the spec's wins
    with _deployer(tmp_path / "reg", tmp_path / "log") as dep:
        with pytest.raises(ConfigError) as caught:
            dep.apply("blue", "fraud", "1", _spec({"MS_TEST_LOG_KEY": SHORT}))
        assert dep.pids() == {}
    message = str(caught.value)
    assert "deployment.containers[0].env.MS_TEST_LOG_KEY is 7 bytes" in message
    assert SHORT not in message


def test_apply_refuses_a_variable_named_by_the_spec_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MS_TEST_LOG_KEY", KEY)
    monkeypatch.delenv("MS_TEST_NO_KEY", raising=False)
    spec = _spec({}, ("--log-fingerprint-key-env", "MS_TEST_NO_KEY"))  # read after server_args
    with _deployer(tmp_path / "reg", tmp_path / "log") as dep, pytest.raises(ConfigError) as caught:
        dep.apply("blue", "fraud", "1", spec)
    assert "the environment variable MS_TEST_NO_KEY is unset or empty" in str(caught.value)


def test_a_refused_key_variable_leaves_the_slots_server_serving(
    served_registry: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MS_TEST_LOG_KEY", raising=False)
    with _deployer(served_registry, tmp_path / "log") as dep:
        # The spec gives the key the deployer's environment lacks: the server starts.
        dep.apply("blue", "fraud", "1", _spec({"MS_TEST_LOG_KEY": KEY}))
        assert dep.wait_ready("blue", 60)
        pid = dep.pids()["blue"]
        with pytest.raises(ConfigError, match="MS_TEST_LOG_KEY is unset or empty"):
            dep.apply("blue", "fraud", "2")  # no spec: the deployer's environment
        assert dep.pids() == {"blue": pid}  # was stopped before the new one exited
        assert dep.health("blue").healthy


# --- 5: a served name and version, and the log's integers ---------------------------------

_MODEL = functools.partial(np.sum, axis=1)


@pytest.mark.parametrize(
    ("name", "version", "refusal"),
    [
        (None, "1", "model name must be a string"),  # served "model": null
        ("", "1", "model name must not be empty"),
        ("a/b", "1", "model name 'a/b' is not allowed"),  # v2 cannot reach it
        ("m", 1.5, "version must be a string, got float"),  # served as a number
        ("m", None, "version must be a string"),
        ("m", "", "version must not be empty"),
    ],
)
def test_create_app_and_model_server_refuse_a_name_or_version_they_cannot_serve(
    name: Any, version: Any, refusal: str
) -> None:
    with pytest.raises(InvalidName, match=refusal):
        create_app(_MODEL, name=name, version=version)
    with pytest.raises(InvalidName, match=refusal):
        ModelServer(lambda: _MODEL, name=name, version=version)


def test_an_integer_version_is_served_as_its_text() -> None:
    server = ModelServer(lambda: _MODEL, name="m", version=3)  # type: ignore[arg-type]
    assert server.version == "3"
    assert 'version="3"' in server.metrics.exposition().decode()


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({"batch_rows": True}, "batch_rows"),  # was one row
        ({"batch_rows": 1, "max_pending_rows": True}, "max_pending_rows"),
        ({"max_pending_bytes": True}, "max_pending_bytes"),
    ],
)
def test_a_prediction_log_refuses_true_for_an_integer_setting(
    settings: dict[str, Any], refused: str
) -> None:
    with pytest.raises(ConfigError, match=f"{refused} must be an integer"):
        PredictionLog("memory://review42-second-bool", **settings)
