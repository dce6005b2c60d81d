"""The model server's configuration, review 42.

* ``--log-inputs fingerprint`` logged a plain SHA-256 of each row, which anyone who reads
  the log reverses for rows of few possible values by hashing every possible row. A key
  (``ServeConfig(fingerprint_key=...)``, ``--log-fingerprint-key-env VAR``) makes it an
  HMAC-SHA-256; without one the log says ``fingerprint_keyed: false`` in every line and
  warns once when opened. The key is in no repr and no message.
* ``--fd`` given an unbound socket listened on it, which binds it to every interface on a
  random port; it is refused.
* Public constructors raised raw TypeError, OverflowError and ValueError for a bad value,
  and refused numpy numbers in ``warmup``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy import LocalDeployer
from modelship.deploy.serve import (
    PredictionLog,
    ServeConfig,
    create_app,
    read_prediction_log,
)
from modelship.deploy.serve._cli import add_arguments, config_from_args, main
from modelship.deploy.serve._run import _listening_socket
from modelship.errors import ConfigError

#: The modelship being tested (a subprocess imports the same one).
SRC = Path(ms.__file__).resolve().parents[1]
KEY = b"fingerprint-key-" + b"k" * 16
KEY_VAR = "MODELSHIP_TEST_REVIEW42_FINGERPRINT_KEY"
ROWS = np.array([[37.0, 941.0, 1.0], [82.0, 100.0, 0.0]])


def _hmac(row: np.ndarray, key: bytes) -> str:
    return hmac.new(key, np.asarray(row, dtype="<f8").tobytes(), hashlib.sha256).hexdigest()


def _sha256(row: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(row, dtype="<f8").tobytes()).hexdigest()


def _logged(url: str, **options: Any) -> list[dict[str, Any]]:
    log = PredictionLog(url, inputs="fingerprint", **options)
    log.add("r", ROWS, np.array([0, 1]), latency_seconds=0.001, model="m", version="1")
    log.flush()
    return read_prediction_log(url)


def _parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["./models", "m", *argv])


# --- a keyed fingerprint ---------------------------------------------------------------------


def test_a_keyed_fingerprint_log_writes_hmac_sha256_under_the_key(tmp_path: Path) -> None:
    logged = _logged(str(tmp_path / "log"), fingerprint_key=KEY)
    assert [r["input_fingerprint"] for r in logged] == [_hmac(row, KEY) for row in ROWS]
    assert [r["input_fingerprint"] for r in logged] != [_sha256(row) for row in ROWS]
    assert [r["fingerprint_keyed"] for r in logged] == [True, True]
    assert "inputs" not in logged[0]


def test_an_unkeyed_fingerprint_log_keeps_sha256_and_says_it_is_unkeyed(tmp_path: Path) -> None:
    logged = _logged(str(tmp_path / "log"))
    assert [r["input_fingerprint"] for r in logged] == [_sha256(row) for row in ROWS]
    assert [r["fingerprint_keyed"] for r in logged] == [False, False]


def test_an_unkeyed_fingerprint_log_warns_once_when_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelship.serve"):
        log = PredictionLog(str(tmp_path / "log"), inputs="fingerprint")
        log.add("r", ROWS, np.array([0, 1]), latency_seconds=0.001, model="m", version="1")
        log.flush()
    (record,) = [r for r in caplog.records if r.name == "modelship.serve"]
    said = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "unkeyed SHA-256" in said
    assert "every possible row" in said
    assert "--log-fingerprint-key-env" in said
    assert "fingerprint_key=" in said


@pytest.mark.parametrize(
    "options", [{"inputs": "fingerprint", "fingerprint_key": KEY}, {"inputs": "full"}]
)
def test_a_keyed_or_full_log_gives_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, options: dict[str, Any]
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelship.serve"):
        PredictionLog(str(tmp_path / "log"), **options)
    assert [r for r in caplog.records if r.name == "modelship.serve"] == []


def test_a_server_with_a_fingerprint_key_logs_keyed_fingerprints(tmp_path: Path) -> None:
    from _inprocess_serve import wait_ready
    from starlette.testclient import TestClient

    log = str(tmp_path / "log")
    config = ServeConfig(
        warmup=[[0.0, 0.0, 0.0]],
        prediction_log=log,
        log_inputs="fingerprint",
        fingerprint_key=KEY,
    )
    app = create_app(functools.partial(np.sum, axis=1), name="m", version="1", config=config)
    with TestClient(app) as client:
        wait_ready(client)
        assert client.post("/predict", json={"instances": ROWS.tolist()}).status_code == 200
    logged = read_prediction_log(log)  # the final flush wrote them
    assert [r["input_fingerprint"] for r in logged] == [_hmac(row, KEY) for row in ROWS]
    assert [r["fingerprint_keyed"] for r in logged] == [True, True]


def test_the_fingerprint_key_is_shown_as_stars_in_the_config_repr() -> None:
    config = ServeConfig(log_inputs="fingerprint", fingerprint_key=KEY)
    assert config.fingerprint_key == KEY
    for shown in (repr(config), str(config)):
        assert KEY.decode() not in shown
        assert "fingerprint_key='***'" in shown
    assert "fingerprint_key=None" in repr(ServeConfig())


def test_a_text_fingerprint_key_is_its_utf8_bytes() -> None:
    config = ServeConfig(log_inputs="fingerprint", fingerprint_key=KEY.decode())
    assert config.fingerprint_key == KEY


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"log_inputs": "full", "fingerprint_key": KEY}, "log_inputs is 'full'"),
        ({"log_inputs": "fingerprint", "fingerprint_key": KEY[:15]}, "at least 16"),
        ({"log_inputs": "fingerprint", "fingerprint_key": 123456789012345678901}, "got a int"),
        ({"log_inputs": "fingerprint", "fingerprint_key": b""}, "is 0 bytes"),
    ],
)
def test_a_bad_fingerprint_key_is_refused_without_showing_it(
    options: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match="fingerprint_key") as caught:
        ServeConfig(**options)
    assert says in str(caught.value)
    for secret in ("kkkk", "fingerprint-key-", "123456789012345678901"):
        assert secret not in str(caught.value)
    with pytest.raises(ConfigError, match="fingerprint_key"):
        PredictionLog(
            "memory://review42-bad-key",
            inputs=options["log_inputs"],
            fingerprint_key=options["fingerprint_key"],
        )


# --- the key from the environment, on the command line --------------------------------------


def test_an_unset_fingerprint_key_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    argv = ["memory://review42-cli", "m", "--log-inputs", "fingerprint"]
    assert main([*argv, "--log-fingerprint-key-env", KEY_VAR]) == 2
    said = capsys.readouterr().err
    assert f"the environment variable {KEY_VAR} is unset or empty" in said
    monkeypatch.setenv(KEY_VAR, "")
    assert main([*argv, "--log-fingerprint-key-env", KEY_VAR]) == 2
    assert KEY_VAR in capsys.readouterr().err


def test_a_short_fingerprint_key_variable_exits_2_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_VAR, "tiny-secret")
    argv = ["memory://review42-cli", "m", "--log-inputs", "fingerprint"]
    assert main([*argv, "--log-fingerprint-key-env", KEY_VAR]) == 2
    said = capsys.readouterr().err
    assert KEY_VAR in said
    assert "at least 16" in said
    assert "tiny-secret" not in said


def test_the_fingerprint_key_variable_reaches_the_server_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import modelship.deploy.serve._run as run_module

    seen: list[ServeConfig] = []

    def run(*args: Any, config: ServeConfig, **kwargs: Any) -> int:
        seen.append(config)
        return 0

    monkeypatch.setattr(run_module, "run", run)
    monkeypatch.setenv(KEY_VAR, KEY.decode())
    argv = ["memory://review42-cli", "m", "--log-inputs", "fingerprint"]
    assert main([*argv, "--log-fingerprint-key-env", KEY_VAR]) == 0
    assert seen[0].fingerprint_key == KEY
    assert seen[0].log_inputs == "fingerprint"


def test_a_fingerprint_key_variable_without_fingerprint_inputs_is_refused() -> None:
    with pytest.raises(ConfigError, match="--log-inputs is 'full'"):
        config_from_args(_parsed("--log-fingerprint-key-env", KEY_VAR))


def test_the_deployer_accepts_a_key_variable_only_its_servers_will_have(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spec's env sets the variable for the servers, not for the deployer that checks
    # their arguments: the check reads no environment.
    monkeypatch.delenv(KEY_VAR, raising=False)
    args = ["--log-inputs", "fingerprint", "--log-fingerprint-key-env", KEY_VAR]
    deployer = LocalDeployer(ms.open_registry(str(tmp_path)), server_args=args)
    deployer.close()


# --- --fd: an unbound socket ------------------------------------------------------------------


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_an_unbound_inherited_socket_is_refused_and_left_unbound(family: int) -> None:
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConfigError, match="bound to no address"):
            _listening_socket("127.0.0.1", 8080, sock.fileno())
        assert sock.getsockname()[1] == 0  # not bound by a listen()
        assert sock.fileno() >= 0  # still open: its owner's to close


def test_a_bound_inherited_socket_is_served_on_its_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        served = _listening_socket("0.0.0.0", 8080, sock.fileno())
        assert served.getsockname() == sock.getsockname()
        served.detach()


def test_serve_with_an_unbound_fd_exits_2_saying_so(tmp_path: Path) -> None:
    # The socket is checked before the model is loaded: any registered version will do
    # (before the fix this server listened on 0.0.0.0 and announced it, then failed to
    # load the dict).
    registry = ms.open_registry(str(tmp_path / "reg"))
    registry.register(model_name="clf", model={"coef": [1.0]})
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    with socket.socket() as sock:
        argv = [sys.executable, "-m", "modelship.deploy.serve", str(tmp_path / "reg"), "clf"]
        done = subprocess.run(
            [*argv, "--fd", str(sock.fileno()), "--no-warmup"],
            pass_fds=[sock.fileno()],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "is a socket bound to no address (its port is 0)" in done.stderr
        assert done.stdout == ""  # never announced as listening
        assert sock.getsockname()[1] == 0


# --- raw exceptions from public constructors --------------------------------------------------


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: ServeConfig(allow_nan="yes"), "allow_nan must be True or False, got 'yes'"),
        (lambda: ServeConfig(graceful_seconds=10**400), "graceful_seconds must be a finite"),
        (lambda: ServeConfig(offload_seconds=10**400), "offload_seconds must be a finite"),
        (lambda: ServeConfig(log_flush_seconds=10**400), "log_flush_seconds must be a finite"),
        (lambda: ServeConfig(graceful_seconds="5"), "graceful_seconds must be a finite"),
        (
            lambda: PredictionLog("memory://review42", flush_seconds="5"),
            "flush_seconds must be a finite number of seconds > 0 (e.g. 5.0), got '5'",
        ),
        (
            lambda: PredictionLog("memory://review42", flush_seconds=float("inf")),
            "flush_seconds must be a finite number",
        ),
        (
            lambda: PredictionLog("memory://review42", storage_options="anon=true"),
            "storage_options must be a dict of fsspec options",
        ),
        (
            lambda: read_prediction_log("memory://review42", storage_options=[1]),
            "storage_options must be a dict of fsspec options",
        ),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_field(build: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert says in str(caught.value)


def test_storage_options_given_as_text_are_not_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        PredictionLog("memory://review42", storage_options="secret=hunter2")
    assert "hunter2" not in str(caught.value)
    assert "got a str" in str(caught.value)


def test_warmup_takes_numpy_numbers() -> None:
    rows = [[np.int64(0), np.float32(1.5), np.uint8(2)]]
    assert ServeConfig(warmup=rows).warmup == ((0.0, 1.5, 2.0),)


def test_warmup_refuses_a_numpy_truth_value() -> None:
    with pytest.raises(ConfigError, match=r"warmup\[0\]\[0\] must be a number"):
        ServeConfig(warmup=[[np.bool_(True)]])
