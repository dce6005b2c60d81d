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
from modelship.errors import ConfigError

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


# --- the model's own code raising a modelship error, or raising while it is unpickled -----

PASSWORD = "hunter2"
URL_SECRET = f"postgres://admin:{PASSWORD}@db.internal/features /home/x/data.csv"


class _RaisesOurs:
    """Its own predict raises a modelship error (its code may use ours) naming a secret."""

    n_features_in_ = 2

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise ConfigError(f"feature store at {URL_SECRET} refused")


class _UnpicklingRaises:
    """Its own unpickling code raises naming a secret: the load fails in the registry."""

    n_features_in_ = 2

    def __init__(self) -> None:
        self.threshold = 0.5  # a state to set: pickle calls no __setstate__ without one

    def __setstate__(self, state: dict[str, Any]) -> None:
        raise ValueError(f"cannot connect to {URL_SECRET}")

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x))


class _AttributeRaisesOurs:
    """Reading its ``n_features_in_`` (its own property) raises a modelship error."""

    @property
    def n_features_in_(self) -> int:
        raise ConfigError(f"no schema at {URL_SECRET}")

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x))


def _shown_by(server: ModelServer) -> list[str]:
    client = _client(server)
    answers = [
        client.get("/ready"),
        client.post("/predict", json={"instances": [[0.0, 0.0]]}),
        client.get("/v2/models/m"),
    ]
    assert all(a.status_code == 503 for a in answers), [a.text for a in answers]
    return [a.text for a in answers]


def test_a_modelship_error_the_models_predict_raised_on_the_warm_up_is_named_by_type() -> None:
    server = _failed_server(_RaisesOurs())
    texts = _shown_by(server)
    assert server.error == "ConfigError (the server's log has its message and traceback)"
    for text in texts:
        assert "ConfigError" in text, text
        assert PASSWORD not in text, text
        assert "/home/x" not in text, text
    server.close()


def test_a_modelship_error_raised_reading_the_models_attributes_is_named_by_type() -> None:
    server = _failed_server(_AttributeRaisesOurs())
    assert server.error == "ConfigError (the server's log has its message and traceback)"
    server.close()


def test_the_models_unpickling_code_failing_the_load_is_named_by_type(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "registry"))
    reg.register(model_name="m", model=_UnpicklingRaises())
    server = _failed_server_of(lambda: reg.load("m", "1"))
    texts = _shown_by(server)
    assert server.error == (
        "SerializationError: serializer 'joblib' could not read m 1: ValueError "
        "(the server's log has its message and traceback)"
    )
    for text in texts:
        assert "SerializationError" in text, text
        assert "ValueError" in text, text
        assert PASSWORD not in text, text
        assert "/home/x" not in text, text
    server.close()


def test_the_log_has_the_unpickling_codes_message_and_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reg = ms.open_registry(str(tmp_path / "registry"))
    reg.register(model_name="m", model=_UnpicklingRaises())
    with caplog.at_level(logging.ERROR, logger="modelship"):
        server = _failed_server_of(lambda: reg.load("m", "1"))
    (record,) = [r for r in caplog.records if "failed to start" in r.getMessage()]
    assert f"ValueError: cannot connect to {URL_SECRET}" in record.getMessage()
    assert record.exc_info is not None
    server.close()


def test_a_registry_failure_loading_is_shown_with_its_url_credentials_hidden() -> None:
    # Not the model's code: the registry's own failure is said, as it is written; a
    # password in a URL it names is not.
    def load() -> Any:
        raise RuntimeError(f"registry at https://ci:{PASSWORD}@models.example.com unreachable")

    server = _failed_server_of(load)
    assert server.error == "RuntimeError: registry at https://***@models.example.com unreachable"
    for text in _shown_by(server):
        assert PASSWORD not in text, text
    server.close()


def _failed_server_of(load: Any) -> ModelServer:
    server = ModelServer(load, name="m", version="1")
    server.start()
    assert server.state.value == "failed"
    return server
