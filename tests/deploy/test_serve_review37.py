"""Review 37 of the model server: what the prediction log inherits and shows, how it writes
numpy scalars, how an unusable log is refused; lifespans, --fd, warm-up, bounded errors,
cell names, the grace period and request ids."""

from __future__ import annotations

import argparse
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.deploy.serve import PredictionLog, ServeConfig, create_app, read_prediction_log
from modelship.deploy.serve._cli import add_arguments, config_from_args, main
from modelship.errors import ConfigError

SECRET = "S3cretPw"

_ENDPOINT_VARIABLES = ("MODELSHIP_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _config(*argv: str) -> ServeConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(list(argv)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there now


@pytest.fixture(autouse=True)
def serve_logger_kept() -> Iterator[None]:
    """``run`` points the server's logger at stderr and stops its propagation: restored
    after each test, so a later test's caplog sees the server's records."""
    log = logging.getLogger("modelship.serve")
    saved = (list(log.handlers), log.propagate, log.level)
    yield
    log.handlers[:], log.propagate, log.level = saved[0], saved[1], saved[2]


@pytest.fixture
def registry(tmp_path: Path) -> str:
    """A folder registry holding model ``m`` version 1 (np.negative)."""
    import modelship as ms

    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="m", model=np.negative)
    return url


@pytest.fixture
def no_s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in _ENDPOINT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


# --- 1. the prediction log inherits the registry's storage options only ------------------


@pytest.mark.usefixtures("no_s3_endpoint")
def test_the_log_does_not_inherit_open_registrys_own_options() -> None:
    config = _config(
        *("s3://b/models", "clf", "-o", "single_writer=true", "-o", "user=ci"),
        *("-o", "signing_key=k", "-o", "verify_signatures=false"),
        *("-o", "exclusive_creates=true", "-o", "checkpoint_every=10"),
        *("--prediction-log", "s3://b/log"),
    )
    assert config.log_storage_options == {}


@pytest.mark.usefixtures("no_s3_endpoint")
def test_the_log_still_inherits_the_registrys_storage_options() -> None:
    config = _config(
        *("s3://b/models", "clf", "-o", "single_writer=true", "-o", "endpoint_url=http://h:1"),
        *("--prediction-log", "s3://b/log"),
    )
    assert config.log_storage_options == {"endpoint_url": "http://h:1"}


@pytest.mark.usefixtures("no_s3_endpoint")
def test_the_log_inherits_nested_storage_options_unnested() -> None:
    config = _config(
        *("s3://b/models", "clf", "-o", 'storage_options={"anon": true}'),
        *("-o", "user=ci", "--prediction-log", "s3://b/log"),
    )
    assert config.log_storage_options == {"anon": True}


def test_nested_log_storage_options_are_unnested() -> None:
    log = PredictionLog(
        "memory://review37-nested", storage_options={"storage_options": {"review37": 1}}
    )
    # What the file system was made with (fsspec would pass a nested mapping on as is).
    assert log._fs.storage_options == {"review37": 1}


@pytest.mark.s3
@pytest.mark.usefixtures("no_s3_endpoint")
def test_a_log_beside_a_single_writer_s3_registry_is_written(s3_bucket: dict[str, Any]) -> None:
    import json

    options = s3_bucket["options"]
    registry_args = [f"{key}={json.dumps(value)}" for key, value in options.items()]
    log_url = f"s3://{s3_bucket['bucket']}/log"
    config = _config(
        s3_bucket["url"],
        "clf",
        *(arg for pair in registry_args for arg in ("-o", pair)),
        *("-o", "single_writer=true", "-o", "user=ci"),
        *("--prediction-log", log_url),
    )
    log = PredictionLog(log_url, storage_options=config.log_storage_options)
    log.add("r1", np.zeros((1, 2)), np.array([1]), latency_seconds=0.0, model="m", version="1")
    assert log.flush() == 1  # before: AioSession.__init__() got an unexpected 'single_writer'
    rows = read_prediction_log(log_url, storage_options=options)
    assert [r["request_id"] for r in rows] == ["r1"]


# --- 2. credentials in the log's URL and options are never shown -----------------------


class _FailingStore:
    """A store whose every write fails with an error naming the URL, as aiohttp's do."""

    def __init__(self, url: str) -> None:
        self.url = url

    def pipe_file(self, path: str, data: Any) -> None:
        raise OSError(f"cannot write to {self.url}: connection refused")


def test_log_errors_of_a_failing_store_hide_the_urls_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from modelship.deploy.serve import ModelServer

    url = f"memory://svc:{SECRET}@store.example/review37-log"
    server = ModelServer(
        lambda: np.negative,
        name="m",
        version="1",
        config=ServeConfig(prediction_log=url, warmup=False),
    )
    assert server._log is not None
    server._log._fs = _FailingStore(url)
    server._log.add("r", np.zeros((1, 1)), np.array([0]), latency_seconds=0, model="m", version="1")
    with caplog.at_level(logging.ERROR, logger="modelship.serve"):
        assert server.flush_log() == 0
        server._log_error_at = None  # the next failure is logged too
        server.close(timeout=5)
    messages = [r.getMessage() for r in caplog.records]
    assert any("write failed" in m for m in messages), messages
    assert any("are lost" in m for m in messages), messages
    assert all("memory://***@store.example/review37-log" in m for m in messages), messages
    assert not any(SECRET in m for m in messages), messages


def test_a_log_url_that_cannot_be_opened_is_refused_without_its_credentials() -> None:
    with pytest.raises(ConfigError) as caught:
        PredictionLog(f"nosuchproto://svc:{SECRET}@store.example/log")
    assert SECRET not in str(caught.value)
    assert "nosuchproto://***@store.example/log" in str(caught.value)


def test_the_serve_command_prints_the_log_error_without_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import modelship as ms

    ms.open_registry(str(tmp_path / "reg")).register(model_name="m", model=np.negative)
    code = main(
        [
            *(str(tmp_path / "reg"), "m", "--no-warmup", "--port", "0"),
            *("--prediction-log", f"nosuchproto://svc:{SECRET}@store.example/log"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot be opened" in err
    assert SECRET not in err


def test_serve_config_repr_shows_no_log_credentials() -> None:
    config = ServeConfig(
        prediction_log=f"s3://svc:{SECRET}@logs/fraud",
        log_storage_options={"key": "AKIAEXAMPLE", "client_kwargs": {"secret": SECRET}},
    )
    shown = repr(config)
    assert SECRET not in shown
    assert "AKIAEXAMPLE" not in shown
    assert "s3://***@logs/fraud" in shown
    assert "'key': '***'" in shown


# --- 3. numpy scalars in an object answer are logged as the values they hold -------------


def test_numpy_scalars_in_an_object_answer_are_logged_as_values() -> None:
    log = PredictionLog("memory://review37-scalars")
    out = np.array([np.int64(1), np.bool_(True), np.float32(0.5), np.float32("nan")], dtype=object)
    log.add("r", np.zeros((4, 1)), out, latency_seconds=0.0, model="m", version="1")
    assert log.flush() == 4
    outputs = [r["output"] for r in read_prediction_log("memory://review37-scalars")]
    assert outputs == [1, True, 0.5, None]  # a NaN as null, as the log writes floats
    assert [type(v) for v in outputs[:3]] == [int, bool, float]


def test_other_values_json_has_no_type_for_are_still_logged_as_text() -> None:
    import datetime

    log = PredictionLog("memory://review37-text")
    out = np.array([datetime.date(2026, 1, 2)], dtype=object)
    log.add("r", np.zeros((1, 1)), out, latency_seconds=0.0, model="m", version="1")
    log.flush()
    assert [r["output"] for r in read_prediction_log("memory://review37-text")] == ["2026-01-02"]


# --- 4. an unusable prediction log is a ConfigError, and exit 2 -------------------------


def test_a_log_store_refusing_the_connection_is_a_config_error() -> None:
    port = _closed_port()
    with pytest.raises(ConfigError, match="cannot be opened") as caught:
        PredictionLog(f"ftp://u:{SECRET}@127.0.0.1:{port}/log")
    assert SECRET not in str(caught.value)


def test_a_log_in_a_missing_archive_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be opened"):
        PredictionLog(f"zip://x::{tmp_path / 'none.zip'}")


def test_log_storage_options_not_keyed_by_text_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="option names"):
        create_app(
            np.negative,
            config=ServeConfig(
                warmup=False, prediction_log="memory://x", log_storage_options={1: 2}
            ),
        )


def test_a_log_path_with_a_nul_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be created"):
        create_app(
            np.negative, config=ServeConfig(warmup=False, prediction_log=f"{tmp_path}/a\x00b")
        )


def test_the_serve_command_exits_2_when_the_log_store_refuses_the_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import modelship as ms

    ms.open_registry(str(tmp_path / "reg")).register(model_name="m", model=np.negative)
    port = _closed_port()
    code = main(
        [
            *(str(tmp_path / "reg"), "m", "--no-warmup", "--port", "0"),
            *("--prediction-log", f"ftp://u:{SECRET}@127.0.0.1:{port}/log"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot be opened" in err
    assert SECRET not in err


# --- 5. an app lives through more than one lifespan -------------------------------------


def _summed(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.sum(axis=1))


def test_an_app_serves_again_in_a_second_lifespan(tmp_path: Path) -> None:
    from _inprocess_serve import wait_ready
    from starlette.testclient import TestClient

    log = str(tmp_path / "log")
    app = create_app(
        _summed,
        name="adder",
        version="1",
        config=ServeConfig(warmup=[[0.0, 0.0]], prediction_log=log, offload_seconds=1e-9),
    )
    for attempt in ("first", "second"):
        with TestClient(app) as client:  # before: RuntimeError cannot run a call after shutdown
            wait_ready(client)
            answer = client.post(
                "/predict", headers={"x-request-id": attempt}, json={"instances": [[1, 2]]}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == [3.0]
    assert sorted(r["request_id"] for r in read_prediction_log(log)) == ["first", "second"]


# --- 6. --fd: a descriptor that cannot be one, a socket that is not TCP -----------------


@pytest.mark.parametrize("fd", [-1, 10**20])
def test_an_impossible_fd_is_a_config_error(registry: str, fd: int) -> None:
    from modelship.deploy.serve import run

    with pytest.raises(ConfigError, match=f"--fd {fd} is not an open socket"):
        run(registry, "m", "1", fd=fd, config=ServeConfig(warmup=False))


def test_the_serve_command_exits_2_for_fd_minus_1(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([registry, "m", "--no-warmup", "--fd", "-1"]) == 2
    assert "--fd -1 is not an open socket" in capsys.readouterr().err


def test_a_unix_socket_is_refused_and_left_open(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from modelship.deploy.serve import run

    # Before, it served on the Unix socket and announced "http:///:t": not served here.
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.bind(str(tmp_path / "u.sock"))
        with pytest.raises(ConfigError, match="AF_UNIX socket; the server needs a TCP socket"):
            run(registry, "m", "1", fd=unix.fileno(), config=ServeConfig(warmup=False))
        assert unix.getsockname() == str(tmp_path / "u.sock")  # still open: not closed


# --- 7. a warm-up number float64 cannot hold --------------------------------------------


@pytest.mark.parametrize("number", [10**400, 10**5000], ids=["1e400", "1e5000"])
def test_a_warmup_number_past_float64_is_a_config_error(number: int) -> None:
    with pytest.raises(ConfigError, match=r"warmup\[0\]\[0\] is .*too large for a float64"):
        ServeConfig(warmup=[[number]])


# --- 8. error messages show the client's text bounded ----------------------------------


@pytest.fixture
def client() -> Iterator[Any]:
    from _inprocess_serve import serving

    serve = serving()
    yield next(serve)(_summed, allow_nan=True)
    next(serve, None)


LONG = "\u0085" * 200_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/predict", {"instances": [[1, 2]], "method": LONG}),
        (
            "/v2/models/m/infer",
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": LONG, "data": [1, 2]}]},
        ),
        (
            "/v2/models/m/infer",
            {
                "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}],
                "outputs": [{"name": LONG}],
            },
        ),
        (
            "/v2/models/m/infer",
            {"inputs": [{"name": "x", "shape": [1] * 100_000, "datatype": "FP64", "data": [1]}]},
        ),
    ],
    ids=["method", "datatype", "output-name", "shape"],
)
def test_a_400_shows_the_clients_text_bounded(client: Any, path: str, body: Any) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    assert len(answer.json()["error"]) < 400, len(answer.json()["error"])


def test_a_404_shows_the_requested_version_bounded(client: Any) -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}
    answer = client.post("/v2/models/m/versions/" + "v" * 5000 + "/infer", json=body)
    assert answer.status_code == 404
    assert len(answer.json()["error"]) < 400


# --- 9. a bad cell is named when the request also holds a null -------------------------


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        ('[[null,0,0,"12.5"]]', "instances[0][3] is str '12.5', not a number"),
        ("[[0,0,0,0],[null,0,true,0]]", "instances[1][2] is bool True, not a number"),
    ],
)
def test_a_bad_cell_beside_a_null_is_named(client: Any, rows: str, named: str) -> None:
    answer = client.post("/predict", content=f'{{"instances": {rows}}}'.encode())
    assert answer.status_code == 400
    assert answer.json()["error"] == named


def test_a_v2_integer_cell_beside_a_null_is_named(client: Any) -> None:
    tensor = {"name": "x", "shape": [2, 2], "datatype": "INT32", "data": [1, 2, None, 2.5]}
    answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("data[2] ")


# --- 10. the grace period as given -------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.2, 2.5, 29.5])
def test_the_grace_period_is_passed_to_uvicorn_as_given(
    registry: str, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from modelship.deploy.serve import run

    seen: list[Any] = []

    def not_serving(self: Any, sockets: Any = None) -> None:
        seen.append(self.config.timeout_graceful_shutdown)

    monkeypatch.setattr(uvicorn.Server, "run", not_serving)
    assert (
        run(registry, "m", "1", port=0, config=ServeConfig(warmup=False, graceful_seconds=seconds))
        == 0
    )
    assert seen == [seconds]  # before: round(seconds), at least 1


# --- 11. generated request ids: 64 random bits, no process id ---------------------------


def test_generated_request_ids_carry_64_random_bits_and_no_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from modelship.deploy.serve import ModelServer

    monkeypatch.setattr(os, "getpid", lambda: 1)  # every Kubernetes pod's server is pid 1
    ids = [
        ModelServer(lambda: np.negative, name="m", version="1")._request_id({"headers": []})
        for _ in range(3)
    ]
    for rid in ids:
        assert re.fullmatch(r"[0-9a-f]{16}-1", rid), rid
    assert len(set(ids)) == 3


def test_a_log_row_with_a_timestamp_beyond_a_float_is_a_prediction_log_error(
    tmp_path: Path,
) -> None:
    # math.isfinite(10**400) raised OverflowError out of the log's reader (stop 37).
    from modelship.deploy.serve import PredictionLogError, read_prediction_log

    big = "1" + "0" * 400
    row = (
        '{"request_id": "r2", "row": 0, "timestamp": BIG, "model": "fraud", "version": "1", '
        '"latency_seconds": 0.001, "inputs": [1.0], "output": 1, "method": "predict"}\n'
    )
    (tmp_path / "batch.jsonl").write_text(row.replace("BIG", big))
    with pytest.raises(PredictionLogError, match="timestamp"):
        read_prediction_log(str(tmp_path))
