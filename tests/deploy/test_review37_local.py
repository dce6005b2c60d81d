"""The LocalDeployer's servers stop whole, and nothing they are given leaks or is dropped.

* ``ServerProcess.stop`` (so ``remove()`` and ``close()``) stops the server's whole process
  group, even a process in it that ignores SIGTERM once the server itself has exited.
* A process group is never signalled once its leader was reaped: its id may belong to
  another program by then.
* No password or secret is on a server's command line (``/proc/PID/cmdline``, readable by
  every local user), nor in ``repr(deployer)``: the registry URL and a spec's ``env``
  go through the server's environment.
* ``apply()`` with a model name or version the registry refuses raises ``InvalidName``
  before the slot's server is stopped.
* A registry opened with its signing key is served (the key goes through a pipe);
  one opened with storage options the servers cannot be given is refused up front.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy import DeploymentSpec
from modelship.deploy.local import LocalDeployer, _deployer
from modelship.deploy.local._process import ServerProcess
from modelship.errors import ConfigError, InvalidName, ModelshipError
from modelship.registry._registry import signing_key_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

#: A server that exits on SIGTERM and has started a process that ignores it; the member
#: writes its pid to the log once it ignores SIGTERM. (``--fd N`` lands in ``$0``: unused.)
LEADER_AND_STUBBORN_MEMBER = [
    "/bin/sh",
    "-c",
    """sh -c 'trap "" TERM; echo "member $$"; exec sleep 120' & wait""",
]

#: Long enough for a killed process to be seen dead on the slowest machine; a pass takes
#: milliseconds, a failure (the member ignores SIGTERM and lives on) all of it.
DEATH_WAIT = 30.0


def _member(proc: ServerProcess) -> int:
    """The pid the server wrote to its log (waits for the line: it is written at once)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # bounded by the deadline
        for line in proc.tail(20).split(" | "):
            if line.startswith("member "):
                return int(line.split()[1])
        time.sleep(0.01)
    raise AssertionError(f"the server never named its member; its log: {proc.tail()}")


def _state(pid: int, pgid: int) -> str | None:
    """The state letter of ``pid`` if it is still in process group ``pgid``, else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, pgrp, ...
    return fields[0] if int(fields[2]) == pgid else None


def _dead(pid: int, pgid: int) -> bool:
    """Whether ``pid`` of group ``pgid`` is dead (gone, or a zombie waiting for init, which
    may reap late in a container), waiting up to :data:`DEATH_WAIT` for it."""
    deadline = time.monotonic() + DEATH_WAIT
    while time.monotonic() < deadline:  # bounded by the deadline
        if _state(pid, pgid) in (None, "Z", "X"):
            return True
        time.sleep(0.01)
    return False


def _clean_up(pid: int, pgid: int) -> None:
    if _state(pid, pgid) not in (None, "Z", "X"):
        os.kill(pid, signal.SIGKILL)


# --- 1. stop() stops the whole group ---------------------------------------------------------


def test_stop_kills_a_group_member_that_ignores_sigterm_after_the_server_exited() -> None:
    proc = ServerProcess.start(LEADER_AND_STUBBORN_MEMBER)
    member = _member(proc)
    assert _state(member, proc.pid) is not None
    try:
        proc.stop(grace=5.0)  # the leader exits on SIGTERM at once
        assert proc.popen.returncode == -signal.SIGTERM
        assert _dead(member, proc.pid), "a process of the server's group outlived stop()"
    finally:
        _clean_up(member, proc.pid)


def _servers_run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> list[ServerProcess]:
    """Every server the deployer starts runs ``argv`` (no model needed); those started."""
    started: list[ServerProcess] = []
    real_start = ServerProcess.start

    def start(_: list[str], **kw: Any) -> ServerProcess:
        started.append(real_start(argv, **kw))
        return started[-1]

    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(start))
    return started


@pytest.fixture
def stubborn_servers(monkeypatch: pytest.MonkeyPatch) -> list[ServerProcess]:
    """Every server the deployer starts is LEADER_AND_STUBBORN_MEMBER."""
    return _servers_run(monkeypatch, LEADER_AND_STUBBORN_MEMBER)


def test_remove_stops_what_the_server_started(
    tmp_path: Path, stubborn_servers: list[ServerProcess]
) -> None:
    with LocalDeployer(ms.open_registry(str(tmp_path)), graceful_seconds=5.0) as dep:
        dep.apply("blue", "fraud", "1")
        [proc] = stubborn_servers
        member = _member(proc)
        try:
            dep.remove("blue")
            assert _dead(member, proc.pid), "a process the server started outlived remove()"
        finally:
            _clean_up(member, proc.pid)


def test_close_stops_what_the_servers_started(
    tmp_path: Path, stubborn_servers: list[ServerProcess]
) -> None:
    with LocalDeployer(ms.open_registry(str(tmp_path)), graceful_seconds=5.0) as dep:
        dep.apply("blue", "fraud", "1")
        dep.apply("green", "fraud", "2")
        members = [(_member(proc), proc.pid) for proc in stubborn_servers]
    try:
        for member, pgid in members:
            assert _dead(member, pgid), "a process a server started outlived close()"
    finally:
        for member, pgid in members:
            _clean_up(member, pgid)


def test_remove_stops_what_a_crashed_server_left_after_its_health_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server exits on its own (a crash), leaving a process it started; reading its
    # health must not give its group id away, or remove() can no longer stop that process.
    crashing = ["/bin/sh", "-c", LEADER_AND_STUBBORN_MEMBER[2].replace("& wait", "& exit 3")]
    started = _servers_run(monkeypatch, crashing)
    with LocalDeployer(ms.open_registry(str(tmp_path)), graceful_seconds=5.0) as dep:
        dep.apply("blue", "fraud", "1")
        [proc] = started
        member = _member(proc)
        try:
            deadline = time.monotonic() + 30
            while proc.alive() and time.monotonic() < deadline:  # bounded: the deadline
                time.sleep(0.01)
            health = dep.health("blue")
            assert not health.healthy
            assert health.detail.startswith(f"process {proc.pid} exited with 3")
            assert not dep.state().slots[0].ready
            dep.remove("blue")
            assert _dead(member, proc.pid), "what a crashed server started outlived remove()"
        finally:
            _clean_up(member, proc.pid)


# --- 2. no group is signalled after its leader was reaped -------------------------------------


def _reaped(pid: int) -> bool:
    """Whether ``pid`` is no child of this process any more (reaped: its id is free)."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return False


def test_close_never_signals_the_group_of_a_server_it_reaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once a server is reaped, the kernel may give its pid (its group id) to any program:
    # a killpg then would kill that program's group. Recorded at each call, not raced for.
    real_killpg = os.killpg
    late: list[tuple[int, int]] = []

    def killpg(pgid: int, sig: int) -> None:
        if _reaped(pgid):
            late.append((pgid, sig))
        real_killpg(pgid, sig)

    dep = LocalDeployer(ms.open_registry(str(tmp_path)))
    try:
        dep.apply("blue", "fraud", "1")  # a server that exits: there is no such model
        dep.apply("green", "fraud", "2")
        pids = set(dep.pids().values())
        monkeypatch.setattr(os, "killpg", killpg)
    finally:
        dep.close()
    assert all(_reaped(pid) for pid in pids)
    assert late == []


def test_a_removed_server_is_dropped_from_what_close_kills(tmp_path: Path) -> None:
    with LocalDeployer(ms.open_registry(str(tmp_path))) as dep:
        dep.apply("blue", "fraud", "1")
        pid = dep.pids()["blue"]
        dep.remove("blue")
        assert _reaped(pid)
        assert dep._pids == []


# --- 3. no secret on a command line, nor in repr -----------------------------------------------

PASSWORD = "s3cret-Pa55"
SECRET = "wJalrXUtnFEMI-SECRET"


def test_repr_hides_the_registry_password() -> None:
    registry = ms.open_registry(f"https://ci-user:{PASSWORD}@127.0.0.1:9/models")
    with LocalDeployer(registry=registry) as dep:
        assert PASSWORD not in repr(dep)
        assert "https://***@127.0.0.1:9/models" in repr(dep)


def test_no_password_nor_env_value_is_on_a_server_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"https://ci-user:{PASSWORD}@127.0.0.1:9/models"
    started: list[tuple[list[str], Any]] = []
    real_popen = subprocess.Popen

    def popen(cmd: list[str], **kw: Any) -> Any:
        started.append((list(cmd), kw.get("env")))
        return real_popen(cmd, **kw)

    monkeypatch.setattr(subprocess, "Popen", popen)
    spec = DeploymentSpec.from_dict(
        {"deployment": {"containers": [{"name": "m", "image": "i", "env": {"AWS_SECRET": SECRET}}]}}
    )
    with LocalDeployer(registry=ms.open_registry(url)) as dep:
        dep.apply("blue", "fraud", "1", spec)
        pid = dep.pids()["blue"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    assert PASSWORD.encode() not in cmdline
    assert SECRET.encode() not in cmdline
    [(cmd, env)] = started
    assert not any(PASSWORD in arg or SECRET in arg for arg in cmd), cmd
    assert "https://***@127.0.0.1:9/models" in cmd  # which registry, for ps to show
    # ... and the server gets them whole, in its environment
    assert env[b"MODELSHIP_REGISTRY_URL"] == url.encode()
    assert env[b"AWS_SECRET"] == SECRET.encode()


def test_the_server_reads_a_hidden_registry_url_from_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelship.deploy.serve._cli import registry_url

    url = f"https://ci-user:{PASSWORD}@models.example.com/r"
    monkeypatch.setenv("MODELSHIP_REGISTRY_URL", url)
    assert registry_url("https://***@models.example.com/r") == url
    assert registry_url("/srv/models") == "/srv/models"  # a URL given by hand: as given


# --- 4. apply() refuses a bad name or version before it stops anything --------------------------


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("fraud", "2\x00"),
        ("fraud\x00", "2"),
        ("x\ud800", "2"),
        (123, "2"),
        ("fraud", "\udcff"),
        ("fraud", "../2"),
    ],
)
def test_apply_with_a_bad_model_or_version_raises_before_the_slot_stops(
    tmp_path: Path, model: Any, version: Any
) -> None:
    with LocalDeployer(ms.open_registry(str(tmp_path))) as dep:
        dep.apply("green", "fraud", "1")  # green filled, idle
        before = dep.state()
        pid = dep.pids()["green"]
        with pytest.raises(ModelshipError) as caught:
            dep.apply("green", model, version)
        assert isinstance(caught.value, InvalidName)
        assert dep.state() == before
        assert dep.pids() == {"green": pid}


# --- 5. a signed registry is served; options the servers cannot get are refused -----------------


@pytest.fixture
def signed_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ms.Registry]:
    """A folder registry signed with random bytes (not text), holding ``fraud`` 1."""
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    # As secrets.token_bytes gives keys: not UTF-8, and with a NUL byte (which no
    # environment variable can carry).
    key = b"\xff\x00" + secrets.token_bytes(30)
    registry = ms.open_registry(str(tmp_path), signing_key=key)
    registry.register(model_name="fraud", model=Threshold(False))
    with importable_by_servers():
        yield registry


def test_a_registry_opened_with_its_signing_key_is_served(signed_registry: ms.Registry) -> None:
    with LocalDeployer(registry=signed_registry, server_args=["--no-warmup"]) as dep:
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 60), dep.health("blue")
        with open(f"/proc/{dep.pids()['blue']}/cmdline", "rb") as f:
            assert signing_key_of(signed_registry) not in f.read()
        dep.set_traffic({"blue": 100})
        request = urllib.request.Request(
            dep.endpoint + "/predict",
            data=json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert json.loads(response.read())["version"] == "1"


def test_a_registry_opened_with_storage_options_the_servers_cannot_get_is_refused(
    tmp_path: Path,
) -> None:
    registry = ms.open_registry(str(tmp_path), auto_mkdir=True)
    with pytest.raises(ConfigError, match=r"storage options \['auto_mkdir'\].*environment"):
        LocalDeployer(registry=registry)
    # Given to the servers too (it is no secret): accepted.
    LocalDeployer(registry=registry, server_args=["--option", "auto_mkdir=true"]).close()


def test_s3_credentials_given_as_options_are_refused_without_showing_them() -> None:
    pytest.importorskip("s3fs")
    registry = ms.open_registry("s3://bucket/models", key="AKIAEXAMPLE", secret=SECRET)
    with pytest.raises(ConfigError, match=r"\['key', 'secret'\].*AWS_ACCESS_KEY_ID") as caught:
        LocalDeployer(registry=registry)
    assert SECRET not in str(caught.value)


def test_server_args_may_not_hand_over_a_signing_key_descriptor(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sets --signing-key-fd, which the LocalDeployer"):
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--signing-key-fd", "0"])
