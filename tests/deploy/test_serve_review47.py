"""A model whose own ``predict`` raises on the start-up warm-up: ``/ready`` and the 503s
of ``/predict``, ``/v2/models/{name}/infer`` and the v2 metadata name the exception's type
only (its message may name paths, data or secrets, as a 500 tells it); the server's log
(stderr) has the message and the traceback. ``modelship serve`` itself stops with exit
status 2 on that failure; an app of ``create_app`` or a ``ModelServer`` stays up
answering 503, so their answers are read here.

The in-process servers are started in the test's thread (``ModelServer.start`` loads and
warms up before it returns); their clients are not entered, so the lifespan does not load
the model a second time."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy.serve import ModelServer, ServeConfig

SECRET = "secret /home/x/data.csv"
SAYS = "ValueError (the server's log has its message and traceback)"

MODULE = textwrap.dedent(
    f"""
    class Leaky:
        '''Raises a ValueError naming a path on every predict, the warm-up's first.'''

        n_features_in_ = 2

        def predict(self, x):
            raise ValueError({SECRET!r})
    """
)


class _Leaky:
    n_features_in_ = 2

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise ValueError(SECRET)


def _failed_server(model: Any, **config: Any) -> ModelServer:
    server = ModelServer(lambda: model, name="m", version="1", config=ServeConfig(**config))
    server.start()
    assert server.state.value == "failed"
    return server


def _client(server: ModelServer) -> Any:
    from starlette.testclient import TestClient

    return TestClient(server.app, raise_server_exceptions=False)


def test_ready_names_only_the_type_of_the_exception_predict_raised_on_the_warm_up() -> None:
    server = _failed_server(_Leaky())
    answer = _client(server).get("/ready")
    assert answer.status_code == 503
    body = answer.json()
    assert body["state"] == "failed"
    assert body["error"] == SAYS
    assert "/home/x" not in answer.text
    assert server.error == SAYS
    server.close()


def test_the_503s_of_inference_and_metadata_name_only_the_exception_type() -> None:
    server = _failed_server(_Leaky())
    client = _client(server)
    tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [0.0, 0.0]}
    answers = [
        client.post("/predict", json={"instances": [[0.0, 0.0]]}),
        client.post("/predict", content=b"not json"),
        client.post("/v2/models/m/infer", json={"inputs": [tensor]}),
        client.get("/v2/models/m"),
        client.get("/v2/health/ready"),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert "ValueError" in answer.json()["error"], answer.text
        assert "/home/x" not in answer.text, answer.text
    assert answers[0].json()["error"] == f"model failed to start: {SAYS}"
    server.close()


def test_the_log_has_the_message_and_traceback_of_the_exception_predict_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="modelship"):
        server = _failed_server(_Leaky())
    (record,) = [r for r in caplog.records if "failed to start" in r.getMessage()]
    assert f"ValueError: {SECRET}" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == SECRET
    server.close()


def test_a_failure_of_the_servers_own_still_says_its_message() -> None:
    # A ConfigError is modelship's, written to be shown: what was wrong and what to do.
    server = _failed_server(_Leaky(), warmup=[[0.0, 0.0, 0.0]])
    answer = _client(server).get("/ready")
    assert answer.status_code == 503
    assert "warm-up rows have 3 features but the model expects 2" in answer.json()["error"]
    server.close()


def test_modelship_serve_exits_2_logging_the_message_and_traceback(tmp_path: Path) -> None:
    models = tmp_path / "mods"
    models.mkdir()
    (models / "leaky_models.py").write_text(MODULE, encoding="utf-8")
    sys.path.insert(0, str(models))
    try:
        import leaky_models

        url = str(tmp_path / "registry")
        ms.open_registry(url).register(model_name="leaky", model=leaky_models.Leaky())
    finally:
        sys.path.remove(str(models))
        sys.modules.pop("leaky_models", None)
    src = Path(ms.__file__).resolve().parents[1]  # the modelship this test imports
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(models)])}
    done = subprocess.run(
        [sys.executable, "-m", "modelship.deploy.serve", url, "leaky", "1", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"model leaky version 1 failed to start: ValueError: {SECRET}" in done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert 'leaky_models.py", line' in done.stderr  # where the model raised
