"""A hung model call does not outlive ``--graceful-seconds``, and a call that held the event
loop moves the model to the worker thread for good."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from _inprocess_serve import wait_ready as _wait_ready

from modelship.deploy.serve import ServeConfig, create_app

SRC = Path(__file__).resolve().parents[2] / "src"

HANGING = textwrap.dedent(
    """
    import time
    import numpy as np

    class Hanging:
        '''Hangs for a minute when the first feature is 1; else takes 50 ms (so the
        server calls it on its worker thread) and echoes it.'''
        n_features_in_ = 2

        def predict(self, x):
            time.sleep(60 if x[0, 0] == 1 else 0.05)
            return x[:, 0]
    """
)


@pytest.fixture
def hanging_registry(tmp_path: Path) -> tuple[Path, Path]:
    import modelship as ms

    (tmp_path / "hanging_models.py").write_text(HANGING)
    sys.path.insert(0, str(tmp_path))
    try:
        import hanging_models

        reg = ms.open_registry(str(tmp_path / "reg"))
        reg.register(model_name="hanging", model=hanging_models.Hanging())
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("hanging_models", None)
    return tmp_path / "reg", tmp_path


def test_a_hung_model_call_does_not_outlive_the_grace_period(
    hanging_registry: tuple[Path, Path],
) -> None:
    registry, models = hanging_registry
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(models)]))
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "modelship.deploy.serve", str(registry), "hanging", "1"),
            *("--port", "0", "--graceful-seconds", "1", "--log-level", "critical"),
            *("--prediction-log", str(models / "log")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        deadline = time.monotonic() + 60
        while requests.get(url + "/ready", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "not ready after 60 s"
            time.sleep(0.1)
        got: dict[str, Any] = {}

        def hang() -> None:
            answer = requests.post(url + "/predict", json={"instances": [[1, 0]]}, timeout=90)
            got["status"], got["body"] = answer.status_code, answer.json()

        caller = threading.Thread(target=hang)
        caller.start()
        time.sleep(1.0)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=30)  # before: a minute, the hung call's length
        took = time.monotonic() - began
        caller.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status == 0
    assert took < 15, took
    assert got["status"] == 503
    assert "shutting down" in got["body"]["error"]


def test_a_call_that_held_the_loop_moves_the_model_to_the_worker_thread() -> None:
    from starlette.testclient import TestClient

    threads: list[str] = []

    def model(x: np.ndarray) -> np.ndarray:
        threads.append(threading.current_thread().name)
        if x[0, 0] == 1:
            time.sleep(0.6)  # over 50 x offload_seconds (0.5 s): held the loop
        return x[:, 0]

    app = create_app(model, name="m", config=ServeConfig(warmup=[[0.0, 0.0]]))
    with TestClient(app) as client:
        _wait_ready(client)
        client.post("/predict", json={"instances": [[0, 0]]})
        client.post("/predict", json={"instances": [[1, 0]]})
        client.post("/predict", json={"instances": [[0, 0]]})
    fast, slow, after = threads[-3:]
    assert fast == slow != "modelship-predict"  # inline, judged fast from the warm-up
    assert after == "modelship-predict"
