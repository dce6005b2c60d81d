"""The model server under a hung or slow model, and bodies it cannot read, with real
``modelship serve`` processes.

- At most ``--max-queue`` inference requests are held at once: past it a JSON 503 with
  ``Retry-After``, counted as ``kind="saturated"`` (a hung call let requests, and their
  bodies, pile up without bound).
- ``--predict-timeout``: a request not answered by then gets a JSON 504; while a call runs
  past it, ``/ready`` and the v2 ready paths answer 503, and 200 again once it ends.
- A model called inline on the event loop that hangs no longer holds a SIGTERM past
  ``--graceful-seconds`` + 5 s.
- Triton's binary tensor extension, a gzip body and a ``NaN`` literal get answers saying
  what to send instead.

The model blocks on a file the test creates (never on a sleep hoped to be long enough),
and says through another file when it has begun.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import modelship

pytest.importorskip("uvicorn")

# The source tree of the modelship imported here, so the server runs the same code.
SRC = Path(modelship.__file__).resolve().parents[1]

GATED = textwrap.dedent(
    """
    import os
    import time

    class Gated:
        '''A row whose first feature is 1 touches $SAT54_STARTED, then blocks until
        $SAT54_GATE exists (at most 120 s); every answer is the second feature.'''
        n_features_in_ = 2

        def predict(self, x):
            if x[0, 0] == 1:
                open(os.environ["SAT54_STARTED"], "w").close()
                for _ in range(12_000):
                    if os.path.exists(os.environ["SAT54_GATE"]):
                        break
                    time.sleep(0.01)
            return x[:, 1]
    """
)


@pytest.fixture
def gated(tmp_path: Path) -> Path:
    import modelship as ms

    (tmp_path / "sat54_models.py").write_text(GATED)
    sys.path.insert(0, str(tmp_path))
    try:
        import sat54_models

        reg = ms.open_registry(str(tmp_path / "reg"))
        reg.register(model_name="m", model=sat54_models.Gated())
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("sat54_models", None)
    return tmp_path


class _Server:
    def __init__(self, where: Path, *args: str) -> None:
        self.gate, self.started = where / "gate", where / "started"
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(SRC), str(where)]),
            SAT54_GATE=str(self.gate),
            SAT54_STARTED=str(self.started),
        )
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "modelship.deploy.serve", str(where / "reg"), "m", "1"),
                *("--port", "0", "--log-level", "critical", *args),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(30)
            assert self.proc.stderr is not None
            raise AssertionError(f"the server did not start: {self.proc.stderr.read()}")
        self.url = json.loads(line)["url"]
        self.wait_for(lambda: self.get("/ready").status_code == 200, "ready")

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=30)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, timeout=kwargs.pop("timeout", 60), **kwargs)

    def wait_for(self, condition: Any, what: str, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"not {what} within {seconds} s")
            time.sleep(0.02)

    def metric(self, name: str, **labels: str) -> float:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + "{") and all(
                f'{key}="{value}"' in line for key, value in labels.items()
            ):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no {name} {labels}")

    def stop(self) -> None:
        self.gate.touch()  # whatever the test did, no call stays blocked
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def serve(gated: Path) -> Iterator[Any]:
    servers: list[_Server] = []

    def start(*args: str) -> _Server:
        server = _Server(gated, *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _in_background(server: _Server, row: list[float], answers: list[Any]) -> threading.Thread:
    def ask() -> None:
        try:
            answers.append(server.post("/predict", json={"instances": [row]}))
        except requests.RequestException as exc:
            answers.append(exc)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


# On the worker thread from the warm-up on (any call takes over a nanosecond).
_ON_THREAD = ("--offload-seconds", "1e-9")


def test_requests_past_max_queue_get_a_503_with_retry_after_while_a_call_hangs(
    serve: Any,
) -> None:
    server = serve(*_ON_THREAD, "--max-queue", "3")
    answers: list[Any] = []
    threads = [_in_background(server, [1.0, 7.0], answers)]
    server.wait_for(server.started.exists, "calling the model")
    for value in (8.0, 9.0):  # two more wait behind the hung call: 3 held
        threads.append(_in_background(server, [0.0, value], answers))
    server.wait_for(
        lambda: server.metric("modelship_requests_in_flight") == 3.0, "holding 3 requests"
    )

    refused = server.post("/predict", json={"instances": [[0.0, 1.0]]}, timeout=10)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/json"
    error = refused.json()["error"]
    assert "saturated" in error
    assert "--max-queue 3" in error
    assert (
        server.metric("modelship_request_errors_total", endpoint="predict", kind="saturated") == 1
    )
    assert server.metric("modelship_requests_total", endpoint="predict", code="503") == 1
    # Liveness is not readiness's business here: no --predict-timeout, so both stay 200.
    assert server.get("/health").status_code == 200
    assert server.get("/ready").status_code == 200

    server.gate.touch()  # the hung call ends: what waited is answered, and room is back
    for thread in threads:
        thread.join(60)
    assert sorted(a.json()["predictions"][0] for a in answers) == [7.0, 8.0, 9.0]
    served = server.post("/predict", json={"instances": [[0.0, 2.0]]})
    assert served.status_code == 200
    assert served.json()["predictions"] == [2.0]


def test_clients_sending_their_bodies_slowly_take_no_place_in_the_queue(serve: Any) -> None:
    # A second look found --max-queue counted requests before their bodies arrived: two
    # sockets sending part of a body shut every other request out (503) indefinitely.
    import socket
    from urllib.parse import urlsplit

    server = serve("--max-queue", "2")
    where = urlsplit(server.url)
    slow = []
    for _ in range(3):
        sock = socket.create_connection((where.hostname, where.port), timeout=10)
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"inst'
        )
        slow.append(sock)
    try:
        server.wait_for(
            lambda: server.metric("modelship_requests_in_flight") == 3.0, "reading 3 bodies"
        )
        served = server.post("/predict", json={"instances": [[0.0, 2.0]]}, timeout=10)
        assert served.status_code == 200, served.text
        assert served.json()["predictions"] == [2.0]
    finally:
        for sock in slow:
            sock.close()


def test_a_request_past_predict_timeout_gets_a_504_and_ready_is_503_while_the_call_runs(
    serve: Any,
) -> None:
    server = serve(*_ON_THREAD, "--predict-timeout", "0.5")
    hung = server.post("/predict", json={"instances": [[1.0, 7.0]]})
    assert hung.status_code == 504, hung.text
    assert "--predict-timeout 0.5 s" in hung.json()["error"]
    assert "cannot be stopped" in hung.json()["error"]
    assert hung.headers["content-type"] == "application/json"
    # The call began over 0.5 s ago (the 504 came at its deadline) and still runs.
    for path in ("/ready", "/v2/health/ready", "/v2/models/m/ready"):
        answer = server.get(path)
        assert answer.status_code == 503, (path, answer.text)
        assert answer.json()["ready"] is False
        assert "--predict-timeout 0.5 s" in answer.json()["error"], path
    assert server.get("/health").status_code == 200
    # One sent now waits behind the hung call, and gets its own 504 (v2 too).
    queued = server.post(
        "/v2/models/m/infer",
        json={"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [0, 3]}]},
    )
    assert queued.status_code == 504, queued.text
    assert server.metric("modelship_request_errors_total", endpoint="predict", kind="timeout") == 1
    assert server.metric("modelship_request_errors_total", endpoint="infer", kind="timeout") == 1
    assert server.metric("modelship_requests_total", endpoint="predict", code="504") == 1

    server.gate.touch()  # the call ends: ready again, and answering
    server.wait_for(lambda: server.get("/ready").status_code == 200, "ready again", 30)
    assert server.get("/v2/models/m/ready").status_code == 200
    served = server.post("/predict", json={"instances": [[0.0, 2.0]]})
    assert served.status_code == 200
    assert served.json()["predictions"] == [2.0]


def test_sigterm_ends_the_process_in_time_while_an_inline_model_call_hangs(serve: Any) -> None:
    server = serve("--graceful-seconds", "1")  # a fast model: called inline on the loop
    answers: list[Any] = []
    _in_background(server, [1.0, 7.0], answers)
    server.wait_for(server.started.exists, "calling the model")
    began = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(20)  # the promise: --graceful-seconds 1 + 5 s
    except subprocess.TimeoutExpired:
        raise AssertionError("the process still ran 20 s after SIGTERM") from None
    took = time.monotonic() - began
    assert code == 0
    assert took < 1 + 5 + 1.5, took  # the bound, with room for a loaded machine


def test_bodies_the_server_cannot_read_are_told_what_to_send_instead(serve: Any) -> None:
    server = serve("--allow-nan")
    session = requests.Session()  # one connection: each refusal leaves it usable
    header = json.dumps(
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "parameters": {}}]}
    ).encode()
    binary = session.post(
        server.url + "/v2/models/m/infer",
        data=header + b"\x00" * 8,
        headers={"Inference-Header-Content-Length": str(len(header))},
        timeout=30,
    )
    assert binary.status_code == 400, binary.text
    assert "Inference-Header-Content-Length" in binary.json()["error"]
    assert "binary_data=False" in binary.json()["error"]

    body = json.dumps({"instances": [[0.0, 1.0]]}).encode()
    zipped = session.post(
        server.url + "/predict",
        data=gzip.compress(body),
        headers={"Content-Encoding": "gzip"},
        timeout=30,
    )
    assert zipped.status_code == 415, zipped.text
    assert "Content-Encoding: gzip" in zipped.json()["error"]
    assert "uncompressed" in zipped.json()["error"]
    assert zipped.headers["accept-encoding"] == "identity"

    for literal in ("NaN", "Infinity", "-Infinity"):
        nan = session.post(
            server.url + "/predict", data=f'{{"instances": [[0, {literal}]]}}', timeout=30
        )
        assert nan.status_code == 400, nan.text
        error = nan.json()["error"]
        assert literal in error, error
        assert "JSON has no NaN or Infinity" in error
        assert "null" in error

    assert server.metric("modelship_requests_total", endpoint="predict", code="415") == 1
    served = session.post(server.url + "/predict", data=body, timeout=30)
    assert served.status_code == 200
    assert served.json()["predictions"] == [1.0]


def test_a_nan_literal_without_allow_nan_says_how_to_send_missing_values(serve: Any) -> None:
    server = serve()
    nan = server.post("/predict", data='{"instances": [[0, NaN]]}')
    assert nan.status_code == 400, nan.text
    assert "JSON has no NaN or Infinity" in nan.json()["error"]
    assert "--allow-nan" in nan.json()["error"]
