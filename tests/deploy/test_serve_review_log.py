"""The prediction log: what was received, which method answered, bounded in bytes, and a
failing store retried with backoff; an unusable folder refused at startup."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import wait_ready as _wait_ready

from modelship.deploy.serve import PredictionLog, ServeConfig, create_app, read_prediction_log
from modelship.errors import ConfigError


class _ScalesInPlace:
    """Scales its input in place, as StandardScaler(copy=False) in a pipeline does."""

    n_features_in_ = 2

    def predict(self, x: np.ndarray) -> np.ndarray:
        x *= 1000.0
        return x[:, 0].copy()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.clip(x[:, 0] / 1000.0, 0.0, 1.0)
        return np.c_[1 - p, p]


def _app(model: Any, log: Path, **config: Any) -> Any:
    return create_app(
        model, name="m", version="1", config=ServeConfig(prediction_log=str(log), **config)
    )


def test_the_log_keeps_the_rows_as_received_when_the_model_changes_them(
    tmp_path: Path,
) -> None:
    from starlette.testclient import TestClient

    with TestClient(_app(_ScalesInPlace(), tmp_path / "log")) as client:
        _wait_ready(client)
        client.post("/predict", headers={"x-request-id": "r1"}, json={"instances": [[2.0, 3.0]]})
    (row,) = [r for r in read_prediction_log(str(tmp_path / "log")) if r["request_id"] == "r1"]
    assert row["inputs"] == [2.0, 3.0]


def test_a_second_method_gets_the_rows_as_received(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    with TestClient(_app(_ScalesInPlace(), tmp_path / "log")) as client:
        _wait_ready(client)
        tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [2.0, 3.0]}
        outputs = {
            o["name"]: o["data"]
            for o in client.post("/v2/models/m/infer", json={"inputs": [tensor]}).json()["outputs"]
        }
    assert outputs == {"predict": [2000.0], "predict_proba": [0.998, 0.002]}


def test_every_row_names_the_method_its_output_is_from(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    with TestClient(_app(_ScalesInPlace(), tmp_path / "log")) as client:
        _wait_ready(client)
        client.post("/predict", headers={"x-request-id": "P"}, json={"instances": [[1.0, 0.0]]})
        client.post(
            "/predict",
            headers={"x-request-id": "Q"},
            json={"instances": [[1.0, 0.0]], "method": "predict_proba"},
        )
        tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]}
        client.post(
            "/v2/models/m/infer",
            headers={"x-request-id": "V"},
            json={
                "inputs": [tensor],
                "outputs": [{"name": "predict_proba"}, {"name": "predict"}],
            },
        )
    rows = {r["request_id"]: r for r in read_prediction_log(str(tmp_path / "log"))}
    assert (rows["P"]["method"], rows["P"]["output"]) == ("predict", 1000.0)
    assert "outputs" not in rows["P"]
    assert (rows["Q"]["method"], rows["Q"]["output"]) == ("predict_proba", [0.999, 0.001])
    assert (rows["V"]["method"], rows["V"]["output"]) == ("predict", 1000.0)
    assert rows["V"]["outputs"] == {"predict_proba": [0.999, 0.001], "predict": 1000.0}


def test_the_pending_rows_are_bounded_in_bytes_not_only_rows(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path / "log"), max_pending_bytes=10 * 8 * 1000)
    wide = np.zeros((1, 1000))
    kept = [
        log.add("r", wide, np.zeros(1), latency_seconds=0.0, model="m", version="1")
        for _ in range(20)
    ]
    assert kept.count(True) == 9  # 9 x (8000 + 8) bytes fit in 80,000; a 10th does not
    assert log.dropped_rows == 11
    assert log.pending_bytes <= 80_000


def test_rows_being_written_still_count_against_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = PredictionLog(str(tmp_path / "log"), max_pending_bytes=2 * 8008)
    wide = np.zeros((1, 1000))

    def add() -> bool:
        return log.add("r", wide, np.zeros(1), latency_seconds=0.0, model="m", version="1")

    assert add()
    assert add()
    during: list[bool] = []

    def slow_and_failing(data: bytes) -> None:
        during.append(add())  # a request arriving while the store is being written to
        raise OSError("store down")

    monkeypatch.setattr(log, "_write", slow_and_failing)
    for _ in range(3):
        with pytest.raises(OSError, match="store down"):
            log.flush()
    assert during == [False, False, False]
    assert (log.pending_rows, log.pending_bytes, log.dropped_rows) == (2, 2 * 8008, 3)


def test_the_server_passes_its_byte_bound_to_the_log(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    def broken(self: Any, data: bytes) -> None:
        raise OSError("store down")

    app = _app(
        lambda x: x[:, 0], tmp_path / "log", warmup=[[0.0] * 1000], log_max_pending_bytes=40_000
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PredictionLog, "_write", broken)
        with TestClient(app) as client:
            _wait_ready(client)
            for _ in range(10):
                client.post("/predict", json={"instances": [[0.0] * 1000]})
            metrics = client.get("/metrics").text
    dropped = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("modelship_prediction_log_dropped_rows_total{")
    ]
    assert dropped == [6.0]  # 4 one-row requests of 8,008 bytes fit in 40,000


@pytest.mark.parametrize("name", ["max_pending_bytes"])
@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_a_bad_byte_bound_is_a_config_error(tmp_path: Path, name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        PredictionLog(str(tmp_path), **{name: value})
    with pytest.raises(ConfigError, match="log_max_pending_bytes"):
        ServeConfig(log_max_pending_bytes=value)


def test_a_failing_store_is_retried_with_backoff_and_one_error_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from starlette.testclient import TestClient

    attempts = []

    def broken(self: Any, data: bytes) -> None:
        attempts.append(time.monotonic())
        raise OSError("store down")

    app = _app(lambda x: x[:, 0], tmp_path / "log", warmup=[[0.0, 0.0]], log_batch_rows=1)
    with pytest.MonkeyPatch.context() as patch, caplog.at_level(logging.ERROR, "modelship.serve"):
        patch.setattr(PredictionLog, "_write", broken)
        with TestClient(app) as client:
            _wait_ready(client)
            began = time.monotonic()
            while time.monotonic() - began < 2.5:
                client.post("/predict", json={"instances": [[1.0, 2.0]]})
                time.sleep(0.005)
            during = len(attempts)
    # Backing off 1 s, then 2 s: at most 3 attempts in 2.5 s (without: one per request).
    assert 1 <= during <= 3, during
    errors = [r for r in caplog.records if "write failed" in r.getMessage()]
    assert 1 <= len(errors) <= 2  # the first failure, and the final flush at shutdown


def test_retry_delays_double_up_to_their_cap() -> None:
    from modelship.deploy.serve._app import retry_delay

    assert [retry_delay(n, 5.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_an_unusable_log_folder_is_refused_at_startup(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot be created"):
        PredictionLog(str(tmp_path / "file" / "log"))
    with pytest.raises(ConfigError, match="cannot be created"):
        create_app(
            lambda x: x[:, 0],
            name="m",
            config=ServeConfig(prediction_log=str(tmp_path / "file" / "log")),
        )


def test_an_unusable_log_folder_stops_the_serve_command_before_it_listens(
    tmp_path: Path,
) -> None:
    import modelship as ms

    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="adder", model=np.negative)
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "modelship.deploy.serve", str(tmp_path / "reg"), "adder"),
            *("--no-warmup", "--port", "0", "--prediction-log", "/proc/no/log"),
        ],
        capture_output=True,
        text=True,
        timeout=60,  # before: it served, and logged a failed write every few seconds
        env=dict(os.environ, PYTHONPATH=str(src)),
    )
    assert done.returncode == 2
    assert "cannot be created" in done.stderr
    assert "listening" not in done.stdout
