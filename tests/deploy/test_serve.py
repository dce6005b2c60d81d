"""The model server, as real ``python -m modelship.deploy.serve`` processes on 127.0.0.1.

Every server listens on a free port it picks itself (``--port 0``) and announces its URL
on stdout. The registry lives in a temporary folder and holds a scikit-learn
LogisticRegression, a plain callable (``functools.partial(np.sum, axis=1)``) and, from a
module written for the test, a slow model and one that raises.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import modelship as ms
from modelship.deploy.serve import read_prediction_log

SRC = Path(__file__).resolve().parents[2] / "src"
FEATURES = 4
START_TIMEOUT = 60.0

MODELS_MODULE = textwrap.dedent(
    """
    import time

    import numpy as np


    class SlowModel:
        '''Sleeps ``delay`` seconds per call, then predicts zeros.'''

        def __init__(self, delay):
            self.delay = delay
            self.n_features_in_ = 4

        def predict(self, x):
            time.sleep(self.delay)
            return np.zeros(len(x))


    class ReentryProbe:
        '''Busy ~20 us a row; a first feature of -1 answers the most calls ever inside
        predict at once.'''

        n_features_in_ = 2

        def __init__(self):
            self.inside = self.most = 0

        def __getstate__(self):
            return {}

        def __setstate__(self, state):
            self.__init__()

        def predict(self, x):
            if x[0, 0] == -1:
                return np.full(len(x), float(self.most))
            self.inside += 1
            self.most = max(self.most, self.inside)
            try:
                until = time.perf_counter() + 2e-5 * len(x)
                while time.perf_counter() < until:
                    time.sleep(0)
                return x[:, 0]
            finally:
                self.inside -= 1


    class RaisingModel:
        '''Raises when a row's first feature is negative; otherwise predicts it.'''

        n_features_in_ = 4

        def predict(self, x):
            if (x[:, 0] < 0).any():
                raise ArithmeticError("negative first feature")
            return x[:, 0]
    """
)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("served_models")
    (folder / "served_models.py").write_text(MODELS_MODULE)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("served_models", None)


@pytest.fixture(scope="module")
def training() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(14)
    x = rng.normal(size=(300, FEATURES))
    y = (x[:, 0] - x[:, 2] > 0).astype(int)
    return x, y


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, training: Any
) -> dict[str, Any]:
    import served_models
    from sklearn.linear_model import LogisticRegression

    url = str(tmp_path_factory.mktemp("registry"))
    reg = ms.open_registry(url)
    clf = LogisticRegression().fit(*training)
    reg.register(model_name="clf", model=clf)
    reg.register(model_name="adder", model=functools.partial(np.sum, axis=1))
    # Its warm-up (one predict) holds readiness back 3 s: long enough that a loaded machine
    # still finds the server live but not ready.
    reg.register(model_name="slow", model=served_models.SlowModel(delay=3.0))
    reg.register(model_name="raising", model=served_models.RaisingModel())
    reg.register(model_name="scalar", model=functools.partial(np.sum, axis=None))
    reg.register(model_name="reentry", model=served_models.ReentryProbe())
    return {"url": url, "reg": reg, "clf": clf}


class Server:
    """A running ``modelship serve`` process."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.proc.stderr.read()}"
            with contextlib.suppress(requests.ConnectionError):
                if self.get("/ready").status_code == 200:
                    return
            time.sleep(0.05)
        pytest.fail(f"{self.url} not ready within {timeout} s")

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of ``/metrics`` (0 if the series does not exist yet)."""
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise


def _env(models_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(models_dir)])
    return env


def _announced_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"server did not announce its address: {err}")
    announced = json.loads(line)
    assert announced["event"] == "listening"
    return str(announced["url"])


@pytest.fixture
def start(registry: dict[str, Any], models_dir: Path) -> Iterator[Callable[..., Server]]:
    """Start servers: ``start(model, ref="1", *extra_args, ready=True)``; stopped after."""
    started: list[Server] = []

    def _start(model: str, *args: str, ref: str = "1", ready: bool = True) -> Server:
        cmd = [sys.executable, "-m", "modelship.deploy.serve", registry["url"], model, ref]
        proc = subprocess.Popen(
            [*cmd, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(models_dir),
        )
        server = Server(proc, _announced_url(proc))
        started.append(server)
        if ready:
            server.wait_ready()
        return server

    yield _start
    for server in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop()


@pytest.fixture(scope="module")
def clf_server(registry: dict[str, Any], models_dir: Path) -> Iterator[Server]:
    """One LogisticRegression server shared by the tests that only send requests."""
    cmd = [sys.executable, "-m", "modelship.deploy.serve", registry["url"], "clf", "1"]
    proc = subprocess.Popen(
        [*cmd, "--port", "0", "--max-body-bytes", "2000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(models_dir),
    )
    server = Server(proc, _announced_url(proc))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _rows(training: Any, n: int = 3) -> list[list[float]]:
    return [[float(v) for v in row] for row in training[0][:n]]


# --- /predict ---------------------------------------------------------------------------


def test_predict_answers_the_models_predictions_with_its_name_and_version(
    clf_server: Server, registry: dict[str, Any], training: Any
) -> None:
    rows = _rows(training)
    answer = clf_server.post("/predict", json={"instances": rows})
    assert answer.status_code == 200
    assert answer.json() == {
        "predictions": registry["clf"].predict(np.array(rows)).tolist(),
        "model": "clf",
        "version": "1",
    }


def test_predict_proba_is_answered_when_the_body_asks_for_it(
    clf_server: Server, registry: dict[str, Any], training: Any
) -> None:
    rows = _rows(training)
    answer = clf_server.post("/predict", json={"instances": rows, "method": "predict_proba"})
    expected = registry["clf"].predict_proba(np.array(rows))
    assert np.allclose(answer.json()["predictions"], expected, rtol=0, atol=1e-12)


def test_predict_proba_is_answered_when_the_query_asks_for_it(
    clf_server: Server, registry: dict[str, Any], training: Any
) -> None:
    rows = _rows(training, 1)
    answer = clf_server.post("/predict?method=predict_proba", json={"instances": rows})
    expected = registry["clf"].predict_proba(np.array(rows))
    assert np.allclose(answer.json()["predictions"], expected, rtol=0, atol=1e-12)


def test_a_given_request_id_is_echoed(clf_server: Server, training: Any) -> None:
    answer = clf_server.post(
        "/predict", json={"instances": _rows(training, 1)}, headers={"X-Request-ID": "abc-42"}
    )
    assert answer.headers["x-request-id"] == "abc-42"


def test_a_plain_callable_is_served(start: Callable[..., Server]) -> None:
    server = start("adder", "--warmup", "[[0.0, 0.0, 0.0]]")
    rows = [[1.0, 2.0, 3.5], [-1.0, 0.25, 0.0]]
    answer = server.post("/predict", json={"instances": rows})
    assert answer.json()["predictions"] == np.sum(np.array(rows), axis=1).tolist()


def test_asking_a_callable_for_probabilities_gets_400(start: Callable[..., Server]) -> None:
    server = start("adder", "--no-warmup")
    answer = server.post("/predict", json={"instances": [[1.0]], "method": "predict_proba"})
    assert answer.status_code == 400
    assert "predict_proba" in answer.json()["error"]


# --- bad input: 4xx JSON, never a 500 ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"instances": [[1, 2', "not valid JSON"),
        (b"[1, 2, 3]", '"instances"'),
        (b'{"rows": [[1, 2, 3, 4]]}', '"instances"'),
        (b'{"instances": []}', "non-empty list of rows"),
        (b'{"instances": [1, 2, 3, 4]}', "2-D"),
        (b'{"instances": [[[1, 2, 3, 4]]]}', "2-D"),
        (b'{"instances": [[1, 2, 3, 4], [1, 2]]}', "different lengths"),
        (b'{"instances": [[1, 2, "x", 4]]}', "instances[0][2]"),
        (b'{"instances": [[1, 2, null, 4]]}', "instances[0][2] is missing"),
        (b'{"instances": [[1, 2, 3]]}', "4 features"),
        (b'{"instances": [[1, 2, 3, 4]], "method": "explain"}', "method"),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "no-instances",
        "no-rows",
        "one-dimensional",
        "three-dimensional",
        "ragged",
        "text-cell",
        "null-cell",
        "too-few-features",
        "unknown-method",
    ],
)
def test_bad_input_gets_a_400_json_error_saying_what_is_wrong(
    clf_server: Server, body: bytes, says: str
) -> None:
    answer = clf_server.post("/predict", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert says in answer.json()["error"]
    assert answer.json()["request_id"]


def test_a_body_over_the_limit_gets_413_and_the_connection_stays_usable(
    clf_server: Server, training: Any
) -> None:
    with requests.Session() as session:
        big = session.post(
            clf_server.url + "/predict", json={"instances": _rows(training, 100)}, timeout=30
        )
        assert big.status_code == 413
        assert "2000 bytes" in big.json()["error"]
        again = session.post(
            clf_server.url + "/predict", json={"instances": _rows(training, 1)}, timeout=30
        )
        assert again.status_code == 200


def test_a_chunked_body_over_the_limit_gets_413(clf_server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"instances": ['
        for _ in range(300):
            yield b"[0.5, 0.5, 0.5, 0.5],"
        yield b"[0.5, 0.5, 0.5, 0.5]]}"

    answer = clf_server.post("/predict", data=chunks())
    assert answer.status_code == 413


def test_a_declared_body_far_over_the_limit_is_refused_before_it_is_sent(
    clf_server: Server,
) -> None:
    host, port = clf_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n{"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"].startswith("request body of 1000000000 bytes")


def test_unknown_paths_and_methods_get_json_errors(clf_server: Server) -> None:
    missing = clf_server.get("/nowhere")
    request_id = missing.headers["x-request-id"]
    assert missing.json() == {"error": "Not Found", "request_id": request_id}
    wrong_method = clf_server.get("/predict")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]


def test_a_model_that_raises_gets_500_with_the_request_id_and_is_counted(
    start: Callable[..., Server],
) -> None:
    server = start("raising")
    answer = server.post("/predict", json={"instances": [[-1.0, 0.0, 0.0, 0.0]]})
    assert answer.status_code == 500
    body = answer.json()
    assert "ArithmeticError" in body["error"]
    assert body["request_id"] == answer.headers["x-request-id"]
    assert (
        server.metric("modelship_request_errors_total", kind="model", model="raising", version="1")
        == 1
    )
    fine = server.post("/predict", json={"instances": [[2.0, 0.0, 0.0, 0.0]]})
    assert fine.json()["predictions"] == [2.0]


def test_a_model_answering_other_than_one_prediction_per_row_gets_500(
    start: Callable[..., Server],
) -> None:
    server = start("scalar", "--no-warmup")
    answer = server.post("/predict", json={"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer.status_code == 500
    assert "one per row" in answer.json()["error"]


def test_a_v2_id_that_cannot_be_a_header_is_echoed_but_does_not_name_the_request(
    clf_server: Server, training: Any
) -> None:
    # The protocol takes any string as an id; a header value cannot hold a newline, so the
    # request is named by the server's own id (in the header, the log and error bodies).
    tensor = {"name": "x", "shape": [1, FEATURES], "datatype": "FP64", "data": [0.5] * 4}
    answer = clf_server.post("/v2/models/clf/infer", json={"id": "a\nb", "inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == "a\nb"
    assert answer.headers["x-request-id"] not in ("", "a\nb")


# --- probes and metrics -------------------------------------------------------------------


def test_health_answers_at_once_and_ready_only_after_the_warm_up(
    start: Callable[..., Server],
) -> None:
    server = start("slow", ready=False)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            live = server.get("/health")
            break
        time.sleep(0.02)
    assert live.status_code == 200
    ready = server.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    early = server.post("/predict", json={"instances": [[0.0] * FEATURES]})
    assert early.status_code == 503
    server.wait_ready()
    assert server.get("/v2/health/ready").status_code == 200


def test_metrics_count_requests_errors_and_latency_by_model_and_version(
    clf_server: Server, training: Any
) -> None:
    labels = {"model": "clf", "version": "1", "endpoint": "predict"}
    ok_before = clf_server.metric("modelship_requests_total", code="200", **labels)
    bad_before = clf_server.metric("modelship_request_errors_total", kind="client", **labels)
    count_before = clf_server.metric("modelship_request_duration_seconds_count", **labels)
    for _ in range(3):
        clf_server.post("/predict", json={"instances": _rows(training, 1)})
    clf_server.post("/predict", data=b"{")
    assert clf_server.metric("modelship_requests_total", code="200", **labels) == ok_before + 3
    assert (
        clf_server.metric("modelship_request_errors_total", kind="client", **labels)
        == bad_before + 1
    )
    assert (
        clf_server.metric("modelship_request_duration_seconds_count", **labels) == count_before + 4
    )
    assert clf_server.metric("modelship_requests_in_flight", model="clf", version="1") == 0
    assert clf_server.metric("modelship_ready", model="clf", version="1") == 1


def test_a_server_started_for_a_slot_labels_every_series_with_it(
    start: Callable[..., Server], training: Any
) -> None:
    server = start("adder", "--slot", "canary", "--no-warmup")
    server.post("/predict", json={"instances": _rows(training, 1)})
    labels = {"model": "adder", "version": "1", "slot": "canary"}
    assert server.metric("modelship_requests_total", code="200", **labels) == 1
    assert server.metric("modelship_request_duration_seconds_count", **labels) == 1
    assert server.metric("modelship_ready", **labels) == 1


def test_a_server_started_without_a_slot_has_no_slot_label(clf_server: Server) -> None:
    assert 'slot="' not in clf_server.get("/metrics").text


def test_latency_buckets_include_the_thresholds_users_write(clf_server: Server) -> None:
    text = clf_server.get("/metrics").text
    for edge in ("0.1", "0.2", "0.5"):
        assert f'le="{edge}"' in text


# --- Open Inference Protocol (v2) ------------------------------------------------------


def test_v2_live_ready_and_server_metadata(clf_server: Server) -> None:
    assert clf_server.get("/v2/health/live").status_code == 200
    assert clf_server.get("/v2/health/ready").status_code == 200
    assert clf_server.get("/v2/models/clf/ready").status_code == 200
    assert clf_server.get("/v2").json()["name"] == "modelship"


def test_v2_model_metadata_describes_the_tensors(clf_server: Server) -> None:
    meta = clf_server.get("/v2/models/clf").json()
    assert meta["name"] == "clf"
    assert meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, FEATURES]}]
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
    assert meta["parameters"]["digest"].startswith("sha256:")


def test_v2_infer_takes_a_flat_row_major_tensor_and_answers_named_outputs(
    clf_server: Server, registry: dict[str, Any], training: Any
) -> None:
    rows = np.array(_rows(training, 2))
    request = {
        "id": "req-7",
        "inputs": [
            {"name": "x", "shape": [2, FEATURES], "datatype": "FP64", "data": rows.ravel().tolist()}
        ],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }
    answer = clf_server.post("/v2/models/clf/versions/1/infer", json=request).json()
    assert answer["model_name"] == "clf"
    assert answer["model_version"] == "1"
    assert answer["id"] == "req-7"
    predict, proba = answer["outputs"]
    assert predict["name"] == "predict"
    assert predict["shape"] == [2]
    assert predict["datatype"] == "INT64"
    assert predict["data"] == registry["clf"].predict(rows).tolist()
    assert proba["shape"] == [2, 2]
    expected = registry["clf"].predict_proba(rows).ravel()
    assert np.allclose(proba["data"], expected, rtol=0, atol=1e-12)


def test_v2_infer_takes_nested_data_too(clf_server: Server, training: Any) -> None:
    rows = _rows(training, 2)
    request = {"inputs": [{"name": "x", "shape": [2, FEATURES], "datatype": "FP32", "data": rows}]}
    answer = clf_server.post("/v2/models/clf/infer", json=request)
    assert answer.status_code == 200
    assert answer.json()["outputs"][0]["shape"] == [2]


@pytest.mark.parametrize(
    ("path", "tensor", "status", "says"),
    [
        ("/v2/models/other/infer", None, 404, "no model 'other'"),
        ("/v2/models/clf/versions/9/infer", None, 404, "no version '9'"),
        ("/v2/models/clf/infer", {"datatype": "BYTES"}, 400, "not a numeric tensor type"),
        ("/v2/models/clf/infer", {"shape": [3, FEATURES]}, 400, "needs 12"),
        ("/v2/models/clf/infer", {"shape": [FEATURES]}, 400, "[rows, features]"),
    ],
    ids=["unknown-model", "unknown-version", "bytes", "size-mismatch", "one-dimensional"],
)
def test_v2_bad_requests_get_4xx_json_errors(
    clf_server: Server, path: str, tensor: dict[str, Any] | None, status: int, says: str
) -> None:
    base = {"name": "x", "shape": [2, FEATURES], "datatype": "FP64", "data": [0.5] * 8}
    answer = clf_server.post(path, json={"inputs": [{**base, **(tensor or {})}]})
    assert answer.status_code == status
    assert says in answer.json()["error"]


def test_a_server_serves_on_a_socket_its_parent_bound(
    registry: dict[str, Any], models_dir: Path
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    cmd = [sys.executable, "-m", "modelship.deploy.serve", registry["url"], "adder", "1"]
    proc = subprocess.Popen(
        [*cmd, "--fd", str(listener.fileno()), "--no-warmup"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(models_dir),
        pass_fds=[listener.fileno()],
    )
    listener.close()
    server = Server(proc, _announced_url(proc))
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        server.wait_ready()
        assert server.post("/predict", json={"instances": [[1.0, 2.0]]}).json()["predictions"] == [
            3.0
        ]
    finally:
        assert server.stop() == 0


def test_the_model_is_never_called_from_two_threads_at_once(
    start: Callable[..., Server],
) -> None:
    # Large requests went to the worker thread while small ones still ran inline on the
    # event loop, beside them: a model that is not thread-safe could answer wrongly.
    server = start("reentry", "--warmup", "[[0.5, 0.0]]", "--offload-seconds", "0.01")

    def one(i: int) -> bool:
        rows = 2000 if i % 4 == 0 else 1  # 40 ms (offloaded) or 20 us (inline)
        answer = server.post("/predict", json={"instances": [[float(i), 0.0]] * rows})
        return bool(answer.json()["predictions"] == [float(i)] * rows)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(80)))
    most = server.post("/predict", json={"instances": [[-1.0, 0.0]]}).json()["predictions"]
    assert most == [1.0]


@pytest.mark.parametrize("fd", ["987", "0"])
def test_a_descriptor_that_is_not_a_listening_socket_exits_2(
    registry: dict[str, Any], models_dir: Path, fd: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", registry["url"], "adder", "1", "--fd", fd],
        capture_output=True,
        text=True,
        env=_env(models_dir),
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stderr
    assert f"--fd {fd} is not" in done.stderr
    assert "Traceback" not in done.stderr


# --- start-up failures --------------------------------------------------------------------


def test_a_missing_version_exits_2_naming_it(registry: dict[str, Any], models_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", registry["url"], "clf", "9"],
        capture_output=True,
        text=True,
        env=_env(models_dir),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "'9'" in done.stderr


def test_a_tampered_artifact_is_never_served(
    tmp_path: Path, training: Any, models_dir: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    reg = ms.open_registry(str(tmp_path))
    mv = reg.register(model_name="clf", model=LogisticRegression().fit(*training))
    blob = next((tmp_path / "blobs").rglob(mv.artifact.digest.split(":", 1)[1]))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", str(tmp_path), "clf", "1", "--port", "0"],
        capture_output=True,
        text=True,
        env=_env(models_dir),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "IntegrityError" in done.stderr


def test_a_model_without_n_features_and_no_warm_up_input_does_not_start(
    registry: dict[str, Any], models_dir: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", registry["url"], "adder", "1"],
        capture_output=True,
        text=True,
        env=_env(models_dir),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--warmup" in done.stderr


@pytest.mark.s3
def test_a_version_in_an_s3_registry_is_served_and_its_predictions_logged_to_s3(
    s3_bucket: dict[str, Any], models_dir: Path, training: Any
) -> None:
    from sklearn.linear_model import LogisticRegression

    reg = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    clf = LogisticRegression().fit(*training)
    reg.register(model_name="clf", model=clf)
    options = s3_bucket["options"]
    log_url = f"s3://{s3_bucket['bucket']}/predictions"
    cmd = [sys.executable, "-m", "modelship.deploy.serve", s3_bucket["url"], "clf", "1"]
    cmd += ["--port", "0", "--prediction-log", log_url]
    cmd += ["-o", f"key={options['key']}", "-o", f"secret={options['secret']}"]
    cmd += ["-o", "client_kwargs=" + json.dumps(options["client_kwargs"])]
    # The prediction log reuses the registry's options: same scheme, no --log-option.
    env = {k: v for k, v in _env(models_dir).items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    server = Server(proc, _announced_url(proc))
    try:
        server.wait_ready()
        rows = _rows(training, 2)
        answer = server.post("/predict", json={"instances": rows})
        assert answer.json()["predictions"] == clf.predict(np.array(rows)).tolist()
    finally:
        assert server.stop() == 0
    logged = read_prediction_log(log_url, storage_options=options)
    assert [r["inputs"] for r in sorted(logged, key=lambda r: r["row"])] == rows


# --- SIGTERM --------------------------------------------------------------------------------


def test_sigterm_stops_accepting_finishes_the_request_in_flight_and_exits_0(
    start: Callable[..., Server],
) -> None:
    server = start("slow")
    answers: list[requests.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            server.post("/predict", json={"instances": [[0.0] * FEATURES]})
        )
    )
    sender.start()
    deadline = time.monotonic() + 30
    while server.metric("modelship_requests_in_flight", model="slow", version="1") < 1:
        assert time.monotonic() < deadline, "the slow request never arrived"
        time.sleep(0.02)
    server.proc.send_signal(signal.SIGTERM)
    port = int(server.url.rsplit(":", 1)[1])
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            refused = True
        time.sleep(0.02)
    assert refused, "the server still accepted connections after SIGTERM"
    sender.join(timeout=30)
    assert answers, "the request in flight got no answer"
    assert answers[0].status_code == 200
    assert answers[0].json()["predictions"] == [0.0]
    assert server.proc.wait(timeout=30) == 0


def test_sigint_is_a_graceful_stop_too(start: Callable[..., Server]) -> None:
    server = start("adder", "--no-warmup")
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=60) == 0


# --- prediction log -------------------------------------------------------------------------


def test_predictions_are_logged_in_batches_and_flushed_on_shutdown(
    start: Callable[..., Server], tmp_path: Path, registry: dict[str, Any], training: Any
) -> None:
    log = tmp_path / "predictions"
    server = start(
        "clf", "--prediction-log", str(log), "--log-batch-rows", "3", "--log-flush-seconds", "60"
    )
    sent = []
    for row in _rows(training, 5):
        answer = server.post("/predict", json={"instances": [row]})
        sent.append((answer.headers["x-request-id"], row, answer.json()["predictions"][0]))
    assert server.stop() == 0
    logged = read_prediction_log(str(log))
    assert sorted((r["request_id"], r["inputs"], r["output"]) for r in logged) == sorted(sent)
    assert {(r["model"], r["version"], r["row"]) for r in logged} == {("clf", "1", 0)}
    assert all(r["latency_seconds"] > 0 for r in logged)
    files = sorted(p.name for p in log.iterdir())
    assert 1 <= len(files) <= 5
    assert all(name.endswith(".jsonl") and not name.startswith(".") for name in files)


def test_the_fingerprint_mode_logs_no_features(
    start: Callable[..., Server], tmp_path: Path, training: Any
) -> None:
    from modelship.deploy.serve._log import row_fingerprint

    log = tmp_path / "predictions"
    server = start("clf", "--prediction-log", str(log), "--log-inputs", "fingerprint")
    row = _rows(training, 1)[0]
    server.post("/predict", json={"instances": [row]})
    server.stop()
    (logged,) = read_prediction_log(str(log))
    assert "inputs" not in logged
    assert logged["input_fingerprint"] == row_fingerprint(np.array(row))
