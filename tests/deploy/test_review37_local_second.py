"""The LocalDeployer and model server, second look: what worked before the first fixes.

* A registry on S3 is deployed with ``server_args=['--option', NAME=VALUE]`` naming one of
  ``open_registry``'s own options (``single_writer``, ``user``, ``verify_signatures``):
  the servers get them as the registry does, not as storage options.
* A registry opened with ``endpoint_url=`` the same as the environment's S3 endpoint is
  deployed: the servers reach the same endpoint, given elsewhere in the options.
* A signing key over ``PIPE_BUF`` bytes (up to what a server reads) is handed over.
* What a server started gets the grace period to finish its SIGTERM clean-up, even once
  the server has exited.
* ``modelship serve --signing-key-fd`` with no possible descriptor exits 2, no traceback.
* A server whose model failed to load in one lifespan and loaded in the next no longer
  reports the old failure.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy.local import LocalDeployer, _process
from modelship.deploy.local._process import ServerProcess
from modelship.deploy.serve import ServeConfig
from modelship.deploy.serve._app import ModelServer
from modelship.deploy.serve._cli import main
from modelship.errors import ConfigError

#: What ``modelship serve`` reads from ``--signing-key-fd`` at most (``MAX_SIGNING_KEY``).
MAX_SIGNING_KEY = 1 << 16

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# --- 1 and 2. an S3 registry: open_registry's own options, the environment's endpoint --------


@pytest.fixture
def s3_registry(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """``s3_bucket`` holding ``fraud`` 1, its endpoint in the environment the servers
    inherit (as their credentials are), and its servers able to import the model."""
    monkeypatch.setenv("MODELSHIP_S3_ENDPOINT_URL", s3_bucket["endpoint"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ms.open_registry(s3_bucket["url"]).register(model_name="fraud", model=Threshold(False))
    with importable_by_servers():
        yield s3_bucket


@pytest.mark.parametrize("option", ["verify_signatures=false", "single_writer=true", "user=ci"])
def test_s3_server_args_may_name_open_registrys_own_options(
    s3_registry: dict[str, Any], option: str
) -> None:
    registry = ms.open_registry(s3_registry["url"])
    # Before: ConfigError "the registry was opened with storage options ['user']".
    LocalDeployer(registry, server_args=["--option", option]).close()


@pytest.mark.slow
def test_an_s3_registry_is_served_with_open_registrys_own_options(
    s3_registry: dict[str, Any],
) -> None:
    registry = ms.open_registry(s3_registry["url"])
    server_args = ["--no-warmup", "--option", "single_writer=true", "--option", "user=ci"]
    with LocalDeployer(registry, server_args=server_args) as dep:
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 60), dep.health("blue")


@pytest.mark.slow
def test_an_s3_registry_opened_with_the_environments_endpoint_is_served(
    s3_registry: dict[str, Any],
) -> None:
    registry = ms.open_registry(s3_registry["url"], endpoint_url=s3_registry["endpoint"])
    with LocalDeployer(registry, server_args=["--no-warmup"]) as dep:  # before: ConfigError
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 60), dep.health("blue")


def test_an_s3_registry_opened_with_another_endpoint_is_still_refused(
    s3_registry: dict[str, Any],
) -> None:
    registry = ms.open_registry(s3_registry["url"], endpoint_url="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match=r"storage options \[.*'endpoint_url'"):
        LocalDeployer(registry)


def test_an_option_the_servers_are_not_given_is_named_with_how_to_give_it(
    tmp_path: Path,
) -> None:
    registry = ms.open_registry(str(tmp_path), auto_mkdir=True)
    with pytest.raises(ConfigError) as caught:
        LocalDeployer(registry)
    message = str(caught.value)
    # It said the servers "cannot be given" an option server_args give them.
    assert "cannot be given" not in message
    assert "['auto_mkdir'] that its servers would not be opened with" in message
    assert "server_args=['--option', 'NAME=VALUE']" in message
    LocalDeployer(registry, server_args=["--option", "auto_mkdir=true"]).close()


# --- 3. a signing key over PIPE_BUF bytes -------------------------------------------------------


def test_a_key_as_long_as_servers_read_goes_through_a_pipe_whole() -> None:
    from modelship.deploy.serve import _cli

    assert _process.MAX_KEY == _cli.MAX_SIGNING_KEY == MAX_SIGNING_KEY
    key = secrets.token_bytes(MAX_SIGNING_KEY)  # more than any pipe holds before it is read
    read = _process._pipe_holding(key)  # before: ValueError, over PIPE_BUF
    with os.fdopen(read, "rb") as pipe:
        assert pipe.read() == key


def test_a_key_over_what_servers_read_is_refused(tmp_path: Path) -> None:
    registry = ms.open_registry(str(tmp_path), signing_key=b"k" * (MAX_SIGNING_KEY + 1))
    with pytest.raises(ConfigError, match=f"over the {MAX_SIGNING_KEY} the LocalDeployer"):
        LocalDeployer(registry)


@pytest.mark.slow
@linux_only
def test_a_5000_byte_signing_key_is_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    key = b"\x00" + secrets.token_bytes(4999)  # over PIPE_BUF (4096); not text
    registry = ms.open_registry(str(tmp_path), signing_key=key)
    registry.register(model_name="fraud", model=Threshold(False))
    with (
        importable_by_servers(),
        LocalDeployer(registry, server_args=["--no-warmup"]) as dep,  # before: ConfigError
    ):
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 60), dep.health("blue")


# --- 4. the group gets its grace after the server exits -----------------------------------------


@linux_only
def test_a_group_member_finishes_its_sigterm_clean_up_after_the_server_exited(
    tmp_path: Path,
) -> None:
    mark = tmp_path / "helper-done"
    # The helper needs a second after SIGTERM; the server exits on it at once.
    helper = (
        f'trap "sleep 1; echo done > {mark}; exit 0" TERM; echo helper $$; '
        "while :; do sleep 0.1; done"
    )
    leader = [
        "/bin/sh",
        "-c",
        f"sh -c '{helper}' & trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]
    proc = ServerProcess.start(leader)
    deadline = time.monotonic() + 30
    while "helper" not in proc.tail() and time.monotonic() < deadline:  # bounded
        time.sleep(0.01)
    assert "helper" in proc.tail(), proc.tail()
    time.sleep(0.2)  # the helper's trap is set before it says so; its loop is running
    proc.stop(grace=5.0)  # before: the helper was SIGKILLed as the server exited
    assert proc.popen.returncode == 0
    assert mark.read_text() == "done\n"


# --- 5. --signing-key-fd that no descriptor can be ----------------------------------------------


@pytest.mark.parametrize("fd", [-1, 2**31, 99999999999])
def test_an_impossible_signing_key_fd_exits_2(fd: int, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: ValueError, OverflowError: a traceback, exit 1.
    assert main(["memory://second-look-fd", "m", "--no-warmup", "--signing-key-fd", str(fd)]) == 2
    err = capsys.readouterr().err
    assert f"--signing-key-fd {fd} is no file descriptor" in err
    assert "Traceback" not in err


# --- 6. a failure of an earlier lifespan is not reported once the model loads ------------------


def test_ready_forgets_a_failed_load_once_a_later_lifespan_loads() -> None:
    from starlette.testclient import TestClient

    calls: list[int] = []

    def load() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient: registry unreachable")
        return lambda x: np.asarray(x).sum(axis=1)

    server = ModelServer(load, name="m", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))

    def settled(client: Any) -> dict[str, Any]:
        for _ in range(600):  # bounded at 60 s
            body: dict[str, Any] = json.loads(client.get("/ready").text)
            if body["state"] in ("ready", "failed"):
                return body
            time.sleep(0.1)
        raise AssertionError(f"never settled: {client.get('/ready').text}")

    with TestClient(server.app) as client:
        first = settled(client)
        assert first["state"] == "failed"
        assert "transient" in first["error"]
    with TestClient(server.app) as client:
        second = settled(client)
        assert second["state"] == "ready"
        assert "error" not in second, second  # before: the first lifespan's error
    assert server.error is None
