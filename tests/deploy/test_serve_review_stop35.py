"""Review stop 35 of the model server: shutdown with a hung prediction-log store, answers
of one array per output, parse errors, metrics at zero, bytes answers, FP32's largest
value, and ``Expect: 100-continue`` over the body limit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from _inprocess_serve import serving
from _inprocess_serve import wait_ready as _wait_ready

from modelship.deploy.serve import ServeConfig
from modelship.deploy.serve._app import ModelServer

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


# --- 1: a hung store does not keep the server from exiting ----------------------------


class _Hang:
    """A store whose writes block until ``release`` is set, saying when one started."""

    started = threading.Event()
    release = threading.Event()


def _hanging_fs() -> None:
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class HangFS(MemoryFileSystem):  # type: ignore[misc]
        protocol = ("hang35",)

        def pipe_file(self, path: str, value: Any, **kwargs: Any) -> None:
            _Hang.started.set()
            _Hang.release.wait()

    fsspec.register_implementation("hang35", HangFS, clobber=True)


def test_a_hung_log_write_does_not_hold_shutdown_and_its_rows_count_as_dropped() -> None:
    from starlette.testclient import TestClient

    _hanging_fs()
    _Hang.started.clear()
    _Hang.release.clear()
    server = ModelServer(
        lambda: lambda x: x.sum(axis=1),
        name="m",
        version="1",
        config=ServeConfig(
            warmup=[[0.0, 0.0]],
            prediction_log="hang35://log",
            log_flush_seconds=0.05,
            graceful_seconds=0.5,
        ),
    )
    client = TestClient(server.app, raise_server_exceptions=False)
    client.__enter__()
    exited = threading.Event()
    try:
        _wait_ready(client)
        assert client.post("/predict", json={"instances": [[1.0, 2.0]]}).status_code == 200
        assert _Hang.started.wait(30), "the flusher never began its write"

        def leave() -> None:
            client.__exit__(None, None, None)
            exited.set()

        threading.Thread(target=leave, daemon=True).start()
        # The grace period is 0.5 s: 20 s is a bound for a loaded machine, not a guess.
        assert exited.wait(20), "shutdown waited on the hung prediction-log write"
        assert server.metrics.log_dropped._value.get() == 1
    finally:
        _Hang.release.set()
        exited.wait(30)


HANG_MAIN = textwrap.dedent(
    """
    import sys, threading, fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class HangFS(MemoryFileSystem):
        protocol = ("hangproc",)

        def pipe_file(self, path, value, **kw):
            sys.stderr.write("WRITE STARTED\\n")
            sys.stderr.flush()
            threading.Event().wait()  # an unreachable store, no timeout

    fsspec.register_implementation("hangproc", HangFS, clobber=True)
    from modelship.deploy.serve._cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_server_whose_log_write_hangs_exits_on_sigterm(tmp_path: Path) -> None:
    import modelship as ms

    reg = ms.open_registry(str(tmp_path / "reg"))
    from sklearn.linear_model import LinearRegression

    reg.register(
        model_name="lin",
        model=LinearRegression().fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 2]),
    )
    (tmp_path / "hang_main.py").write_text(HANG_MAIN)
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen(
        [
            *(sys.executable, str(tmp_path / "hang_main.py"), str(tmp_path / "reg"), "lin", "1"),
            *("--port", "0", "--graceful-seconds", "1", "--log-level", "error"),
            *("--prediction-log", "hangproc://log", "--log-flush-seconds", "0.05"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        url = json.loads(proc.stdout.readline())["url"]
        for _ in range(600):
            if requests.get(url + "/ready", timeout=5).status_code == 200:
                break
            threading.Event().wait(0.1)
        answer = requests.post(url + "/predict", json={"instances": [[1.0, 2.0]]}, timeout=30)
        assert answer.status_code == 200
        while "WRITE STARTED" not in proc.stderr.readline():
            pass
        proc.send_signal(signal.SIGTERM)
        # --graceful-seconds 1: a bound for a loaded machine, not a guess at timing.
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not exit on SIGTERM while a log write hung")
        assert code == 0
        assert "could not be written before shutdown and are lost" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- 2: a list of one array per output, for any method -------------------------------


class PerOutputList:
    """Answers as Keras multi-output models do: one array per output."""

    def predict(self, x: Any) -> Any:
        return [x[:, 0] * 10, x[:, 1] * 100]

    def predict_proba(self, x: Any) -> Any:
        return [x[:, 0] / 10, x[:, 1] / 100]


class PerOutput2D:
    def predict(self, x: Any) -> Any:
        return [np.stack([x[:, 0], -x[:, 0]], axis=1), np.stack([x[:, 1], -x[:, 1]], axis=1)]


class MixedOutputs:
    def predict(self, x: Any) -> Any:
        return [x[:, 0], np.stack([x[:, 1], x[:, 1]], axis=1)]


class NotPerRow:
    def predict(self, x: Any) -> Any:
        return [x[:1, 0], x[:1, 1], x[:1, 0]]  # three pieces of one value each


class PerRowList:
    """Answers a list of one 1-D array per row (three values each)."""

    def predict(self, x: Any) -> Any:
        return [np.array([row[0], row[1], row[0] + row[1]]) for row in x]


def test_a_list_of_one_array_per_output_is_served_per_row(serve: Any) -> None:
    # Two outputs for two rows were served as rows: row 0 got [10, 30], holding row 1's
    # answer.
    client = serve(PerOutputList(), warmup=False)
    answer = client.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[10.0, 200.0], [30.0, 400.0], [50.0, 600.0]]
    v2 = client.post(
        "/v2/models/m/infer",
        json={
            "inputs": [
                {"name": "x", "shape": [3, 2], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}
            ]
        },
    )
    assert v2.status_code == 200, v2.text
    tensors = {t["name"]: t for t in v2.json()["outputs"]}
    assert tensors["predict"]["shape"] == [3, 2]
    assert tensors["predict"]["data"] == [10.0, 200.0, 30.0, 400.0, 50.0, 600.0]
    assert tensors["predict_proba"]["data"] == [0.1, 0.02, 0.3, 0.04, 0.5, 0.06]


def test_as_many_one_value_arrays_as_rows_is_refused_as_ambiguous(serve: Any) -> None:
    # Two 1-D arrays of two values for two rows: per output or per row cannot be told,
    # and either reading may serve a row another input's answer.
    for model in (PerOutputList(), PerRowList()):
        client = serve(model, warmup=False)
        rows = [[1.0, 2.0], [3.0, 4.0]] if isinstance(model, PerOutputList) else [[1.0, 2.0]] * 3
        answer = client.post("/predict", json={"instances": rows})
        assert answer.status_code == 500, answer.text
        assert "cannot be told apart" in answer.json()["error"]


def test_a_list_of_one_array_per_row_is_still_served_as_rows(serve: Any) -> None:
    client = serve(PerRowList(), warmup=False)
    answer = client.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[1.0, 2.0, 3.0], [3.0, 4.0, 7.0]]


def test_per_output_2d_arrays_stack_as_predict_proba_targets_do(serve: Any) -> None:
    client = serve(PerOutput2D())
    answer = client.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[[1.0, -1.0], [2.0, -2.0]], [[3.0, -3.0], [4.0, -4.0]]]


def test_per_output_arrays_of_different_shapes_are_refused(serve: Any) -> None:
    client = serve(MixedOutputs(), warmup=False)
    answer = client.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer.status_code == 500
    assert "different shapes" in answer.json()["error"]


def test_a_list_neither_per_row_nor_of_rows_is_refused(serve: Any) -> None:
    client = serve(NotPerRow(), warmup=False)
    answer = client.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer.status_code == 500
    assert "one per row" in answer.json()["error"]


# --- 3: one request the log cannot write does not drop the others -------------------


def _log_add(log: Any, request_id: str, outputs: Any) -> None:
    log.add(
        request_id, np.array([[1.0, 2.0]]), outputs, latency_seconds=0.0, model="m", version="1"
    )


def test_an_answer_keyed_by_numpy_ints_is_logged_and_does_not_drop_the_batch(
    tmp_path: Path,
) -> None:
    from modelship.deploy.serve import PredictionLog, read_prediction_log

    log = PredictionLog(str(tmp_path / "log"))
    keyed = np.empty(1, dtype=object)
    keyed[0] = {np.int64(1): 0.5, np.int64(2): 0.25}
    _log_add(log, "good-0", np.array([1.0]))
    _log_add(log, "keyed", keyed)
    _log_add(log, "good-1", np.array([2.0]))
    assert log.flush() == 3
    rows = read_prediction_log(str(tmp_path / "log"))
    assert [(r["request_id"], r["output"]) for r in rows] == [
        ("good-0", 1.0),
        ("keyed", {"1": 0.5, "2": 0.25}),
        ("good-1", 2.0),
    ]
    assert log.dropped_rows == 0


def test_only_the_request_that_cannot_be_written_is_dropped(tmp_path: Path) -> None:
    from modelship.deploy.serve import PredictionLog, read_prediction_log
    from modelship.deploy.serve._log import UnwritableBatch

    log = PredictionLog(str(tmp_path / "log"))
    circular: list[Any] = []
    circular.append(circular)
    poison = np.empty(1, dtype=object)
    poison[0] = circular
    _log_add(log, "good-0", np.array([1.0]))
    _log_add(log, "poison", poison)
    _log_add(log, "good-1", np.array([2.0]))
    with pytest.raises(UnwritableBatch, match="1 rows cannot be written") as caught:
        log.flush()
    assert caught.value.written == 2
    assert (log.dropped_rows, log.written_rows, log.pending_rows) == (1, 2, 0)
    rows = read_prediction_log(str(tmp_path / "log"))
    assert [r["request_id"] for r in rows] == ["good-0", "good-1"]


class _DictAnswer:
    def predict(self, x: Any) -> Any:
        out = np.empty(len(x), dtype=object)
        for i, first in enumerate(x[:, 0]):
            out[i] = {np.int64(7): 1.0} if first == 7 else {"label": 1.0}
        return out


def test_the_server_logs_every_other_request_of_a_batch_with_a_poisoned_answer(
    tmp_path: Path,
) -> None:
    from starlette.testclient import TestClient

    from modelship.deploy.serve import read_prediction_log

    server = ModelServer(
        _DictAnswer,
        name="m",
        version="1",
        config=ServeConfig(
            warmup=[[0.0, 0.0]], prediction_log=str(tmp_path / "log"), log_flush_seconds=3600
        ),
    )
    with TestClient(server.app) as client:
        _wait_ready(client)
        for first in (1.0, 7.0, 1.0):  # v2 answers a dict as its text (BYTES)
            tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [first, 0.0]}
            answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
            assert answer.status_code == 200, answer.text
        assert server.flush_log() == 3
    assert len(read_prediction_log(str(tmp_path / "log"))) == 3
    assert server.metrics.log_dropped._value.get() == 0


# --- 8: a failed local write leaves no temporary file --------------------------------


def test_a_failed_local_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.deploy.serve import PredictionLog
    from modelship.deploy.serve import _log as log_module

    log = PredictionLog(str(tmp_path / "log"))
    _log_add(log, "a", np.array([1.0]))

    def full(fd: int) -> None:
        raise OSError(27, "File too large")

    monkeypatch.setattr(log_module.os, "fsync", full)
    for _ in range(3):
        with pytest.raises(OSError, match="too large"):
            log.flush()
    assert sorted(os.listdir(tmp_path / "log")) == []
    assert log.pending_rows == 1
    monkeypatch.undo()
    assert log.flush() == 1
    assert [n for n in os.listdir(tmp_path / "log") if n.startswith(".")] == []


# --- 4: deep nesting with a number of 2**63 or more is a 400, counted -----------------


def _metric_lines(client: Any, prefix: str) -> list[str]:
    return [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]


def test_deep_nesting_beside_a_huge_number_is_a_counted_400(serve: Any) -> None:
    client = serve(lambda x: x[:, 0], warmup=[[0.0, 0.0]])
    deep = "[" * 1000 + "]" * 1000
    bodies = {
        "predict": '{"instances":[[1e19,1]],"junk":' + deep + "}",
        "infer": (
            '{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1e19,1]}],'
            '"parameters":{"junk":' + deep + "}}"
        ),
    }
    for endpoint, body in bodies.items():
        path = "/predict" if endpoint == "predict" else "/v2/models/m/infer"
        answer = client.post(path, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert "too deeply" in answer.json()["error"]
        errors = _metric_lines(client, "modelship_request_errors_total{")
        assert any(
            f'endpoint="{endpoint}",kind="client"' in e and e.endswith(" 1.0") for e in errors
        )


def test_an_unexpected_parsing_error_is_a_counted_500(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.deploy.serve import _app

    client = serve(lambda x: x[:, 0], warmup=[[0.0, 0.0]])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_app, "_numbers", broken)
    answer = client.post("/predict", json={"instances": [[1.0, 2.0]]})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal error: RuntimeError"
    errors = _metric_lines(client, "modelship_request_errors_total{")
    assert any('endpoint="predict",kind="server"' in e and e.endswith(" 1.0") for e in errors)
    codes = _metric_lines(client, "modelship_requests_total{")
    assert any('code="500",endpoint="predict"' in c and c.endswith(" 1.0") for c in codes)


# --- 5: the v2 infer series exist at zero from the start ----------------------------


def test_the_infer_series_exist_at_zero_on_a_fresh_server() -> None:
    from modelship.deploy.serve._metrics import ServerMetrics

    text = ServerMetrics("m", "1").exposition().decode()
    for endpoint in ("predict", "infer"):
        for code in (200, 500):
            assert (
                f'modelship_requests_total{{code="{code}",endpoint="{endpoint}",model="m",'
                'version="1"} 0.0'
            ) in text
        assert (
            f'modelship_request_duration_seconds_count{{endpoint="{endpoint}",model="m",'
            'version="1"} 0.0'
        ) in text


# --- 6: bytes in an object answer are text, not their Python repr -------------------


class _BytesLabels:
    def predict(self, x: Any) -> Any:
        out = np.empty(len(x), dtype=object)
        for i, first in enumerate(x[:, 0]):
            out[i] = b"yes" if first > 0 else b"n\xffo"
        return out


def test_an_object_answer_of_bytes_is_decoded_as_utf8_in_v2(serve: Any) -> None:
    client = serve(_BytesLabels())
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 0, -1, 0]}
    answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    (out,) = answer.json()["outputs"]
    assert out["datatype"] == "BYTES"
    assert out["data"] == ["yes", "n\\xffo"]  # as an S-dtype answer is decoded


# --- 7: FP32's largest value as float32 writers print it is in range ----------------


def _v2_cells(datatype: str, data: list[Any]) -> Any:
    tensor = {"name": "x", "shape": [1, len(data)], "datatype": datatype, "data": data}
    return {"inputs": [tensor]}


def test_fp32_max_as_printed_is_accepted_and_what_rounds_to_inf_is_refused(serve: Any) -> None:
    client = serve(lambda x: x[:, 0], warmup=[[0.0, 0.0]])
    printed = float(str(np.finfo(np.float32).max))  # 3.4028235e+38, above the exact max
    assert printed > float(np.finfo(np.float32).max)
    for data in ([printed, 0.0], [-printed, 0.0]):
        answer = client.post("/v2/models/m/infer", json=_v2_cells("FP32", data))
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [data[0]]
    answer = client.post("/v2/models/m/infer", json=_v2_cells("FP32", [3.5e38, 0.0]))
    assert answer.status_code == 400
    assert "outside FP32's range" in answer.json()["error"]
    # The slow path (a null among the cells) decides as the fast one does.
    answer = client.post("/v2/models/m/infer", json=_v2_cells("FP32", [printed, None]))
    assert answer.status_code == 400  # refused for the null (no --allow-nan), not the range
    assert "outside" not in answer.json()["error"]
    answer = client.post("/v2/models/m/infer", json=_v2_cells("FP16", [65519.0, 0.0]))
    assert answer.status_code == 200, answer.text
    answer = client.post("/v2/models/m/infer", json=_v2_cells("FP16", [65520.0, 0.0]))
    assert answer.status_code == 400


# --- 9: Expect: 100-continue over the body limit gets its 413 at once ----------------


def test_expect_continue_over_the_limit_is_answered_413_without_reading_the_body() -> None:
    uvicorn = pytest.importorskip("uvicorn")
    server = ModelServer(
        lambda: lambda x: x[:, 0],
        name="m",
        version="1",
        config=ServeConfig(warmup=[[0.0, 0.0]], max_body_bytes=1000),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(server.app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if web.started and server.ready:
                break
            threading.Event().wait(0.1)
        assert server.ready
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 30000000\r\nExpect: 100-continue\r\n\r\n"
            )
            got = b""
            while b"\r\n\r\n" not in got:  # the first answer's head; no body is sent
                more = conn.recv(4096)
                if not more:
                    break
                got += more
        status = got.split(b"\r\n", 1)[0]
        assert status == b"HTTP/1.1 413 Request Entity Too Large", got[:200]
        assert b"connection: close" in got.lower()
    finally:
        web.should_exit = True
        thread.join(30)
        sock.close()


# --- 10: a flush holds one request's text at a time, not the batch's three times -----


def test_a_local_flush_does_not_hold_the_batch_as_text(tmp_path: Path) -> None:
    import tracemalloc

    from modelship.deploy.serve import PredictionLog

    log = PredictionLog(str(tmp_path / "log"), max_pending_rows=100_000)
    rng = np.random.default_rng(0)
    for i in range(100):
        x = rng.standard_normal((100, 20))
        log.add(f"r{i}", x, x[:, 0].copy(), latency_seconds=0.0, model="m", version="1")
    pending = log.pending_bytes  # 1.7 MB of arrays; about 5.5 MB as JSON text
    tracemalloc.start()
    try:
        assert log.flush() == 10_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Building the batch's lines, joining and encoding them held ~3 copies of its text.
    assert peak < pending, (peak, pending)
    (name,) = os.listdir(tmp_path / "log")
    assert (tmp_path / "log" / name).read_bytes().count(b"\n") == 10_000


@pytest.mark.parametrize(
    "output",
    [
        {np.int64(1): float("nan"), np.int64(2): 0.25},  # a NaN before the key's TypeError
        (float("nan"), 1.0),  # a NaN in a tuple
    ],
    ids=["nan-and-numpy-key", "nan-in-tuple"],
)
def test_a_line_with_a_nan_and_another_fault_is_still_written(output: Any) -> None:
    from modelship.deploy.serve._log import _json_line

    line = json.loads(_json_line({"request_id": "r", "output": output}))
    assert line["request_id"] == "r"
    assert None in (list(line["output"].values()) if isinstance(output, dict) else line["output"])


class PerRowMatrices:
    """Answers a list of one 2-D array per row (an outer product)."""

    def predict(self, x: Any) -> Any:
        return [np.outer(row, row) for row in x]


def test_the_warm_up_tells_how_a_square_list_reads(serve: Any) -> None:
    # Without the warm-up's one row, two arrays of two answers for two rows read both
    # ways; a 2-D answer per row was stacked as outputs, serving row 0 row 1's data.
    rows = [[1.0, 2.0], [3.0, 4.0]]
    outputs = serve(PerOutputList())  # warmed up on one row: one array per output
    assert outputs.post("/predict", json={"instances": rows}).json()["predictions"] == [
        [10.0, 200.0],
        [30.0, 400.0],
    ]
    matrices = serve(PerRowMatrices())  # one row: one array per row
    assert matrices.post("/predict", json={"instances": rows}).json()["predictions"] == [
        [[1.0, 2.0], [2.0, 4.0]],
        [[9.0, 12.0], [12.0, 16.0]],
    ]
    vectors = serve(PerRowList(), warmup=[[1.0, 2.0]])
    answer = vectors.post("/predict", json={"instances": [[1.0, 2.0]] * 3}).json()
    assert answer["predictions"] == [[1.0, 2.0, 3.0]] * 3
    unwarmed = serve(PerRowMatrices(), warmup=False)
    refused = unwarmed.post("/predict", json={"instances": rows})
    assert refused.status_code == 500
    assert "cannot be told apart" in refused.json()["error"]


def test_rows_counted_lost_at_shutdown_are_never_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A final flush that ran out of time counted its rows as dropped while its write
    # went on: they landed in the log anyway (or left a .tmp behind when the process
    # exited first).
    from modelship.deploy.serve import PredictionLog
    from modelship.deploy.serve import _log as log_module

    started, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        started.set()
        release.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(log_module.os, "fsync", slow_fsync)
    log = PredictionLog(str(tmp_path / "log"))
    _log_add(log, "r", np.array([1.0]))
    outcome: list[BaseException] = []

    def flush() -> None:
        try:
            log.flush()
        except BaseException as exc:
            outcome.append(exc)

    flusher = threading.Thread(target=flush)
    flusher.start()
    assert started.wait(30)
    assert log.abandon() == 1  # the shutdown counts the row as lost ...
    release.set()
    flusher.join(30)
    assert [type(exc).__name__ for exc in outcome] == ["LogAbandoned"]
    assert os.listdir(tmp_path / "log") == []  # ... and it is never published
