"""``modelship deploy apply``: the alias it follows, a closed standard output, and a
health path that is not ASCII.

* The follower took its first read of the alias as its starting point without comparing
  it with the version serving: an alias moved between the rollout's promotion and the
  first poll was never followed (the old version kept serving, exit 0). It now starts
  from the version the rollout deployed, so a first read naming another is a move; a
  first read that fails is one failed read like any other.
* ``apply`` with its standard output closed (``>&-``, a daemon without stdio) crashed:
  an AttributeError at its first event (``sys.stdout`` is None then), or, with uvloop,
  SIGABRT when the router's loop closed the socket it had been given descriptor 1 for.
* A ``healthcheck.path`` the spec accepts but that is not ASCII (``/santé``) made
  ``health()`` and ``wait_ready()`` raise UnicodeEncodeError instead of answering: the
  path is now sent percent-encoded, as the kubelet sends it, and a probe that fails in
  any way is an unhealthy answer.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from test_deploy_cli import registry  # noqa: F401 - a fixture
from test_review_stop31_local import (  # noqa: F401 - fixtures and helpers
    Events,
    Store,
    memory_registry,
    served_by_double,
)

import modelship as ms
from modelship.deploy import RegistryHistory, _cli
from modelship.deploy.local import LocalDeployer
from modelship.deploy.local._deployer import _Slot
from modelship.deploy.local._process import ServerProcess
from modelship.testing._deployer_double import Fault

# --- an alias moved before the first poll ---------------------------------------------------


def run_apply(
    monkeypatch: pytest.MonkeyPatch, out: Events, url: str, *options: str
) -> tuple[int, list[dict[str, Any]]]:
    """``apply`` of version 1 in this process, its events written to ``out``."""
    monkeypatch.setattr(sys, "stdout", out)
    try:
        code = _cli.main(["apply", url, "fraud", "1", "--poll", "0.05", *options])
    finally:
        monkeypatch.undo()
    return code, out.events


def test_apply_follows_a_move_made_between_the_promotion_and_the_first_poll(
    memory_registry: str,  # noqa: F811
    served_by_double: list[Fault],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store(monkeypatch, memory_registry)

    def operator_moves_to_2(event: dict[str, Any]) -> None:
        # The first event is written once 1 is promoted (the alias names 1) and before
        # the follower's first read: the move lands exactly there.
        if event["version"] == "1":
            store.move("2", expected="1")
            store.armed = True

    # --for 0: apply polls once (the first poll comes before any wait), then stops.
    code, events = run_apply(
        monkeypatch, Events(operator_moves_to_2), memory_registry, "--for", "0"
    )

    assert code == 0
    assert [e["version"] for e in events] == ["1", "2"]  # 2 was deployed, not ignored
    assert store.alias() == "2"
    records = RegistryHistory(ms.open_registry(memory_registry)).records("fraud")
    assert [(r.version, r.status.value) for r in records] == [
        ("1", "succeeded"),
        ("2", "succeeded"),
    ]


def test_apply_follows_a_move_whose_first_read_failed(
    memory_registry: str,  # noqa: F811
    served_by_double: list[Fault],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)

    def first_read_fails(n: int) -> None:
        if n == 1:
            raise OSError("S3 503: slow down")

    def on_event(event: dict[str, Any]) -> None:
        if event["version"] == "1":  # promoted; the move lands before the first read
            store.move("2", expected="1")
            store.armed = True
        else:  # 2 serves: stop apply (a signal between rollouts, exit 0)
            signal.raise_signal(signal.SIGTERM)

    store.on_read = first_read_fails
    # --for only bounds a follower that never deploys 2; SIGTERM ends a good one at once.
    code, events = run_apply(monkeypatch, Events(on_event), memory_registry, "--for", "20")

    assert code == 0
    assert [e["version"] for e in events] == ["1", "2"]
    assert store.alias() == "2"
    err = capsys.readouterr().err
    assert "reading the alias production of fraud failed: OSError: S3 503: slow down" in err
    assert "the registry answers again after 1 failure" in err


def test_apply_deploys_nothing_more_when_the_first_read_names_the_version_serving(
    memory_registry: str,  # noqa: F811
    served_by_double: list[Fault],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store(monkeypatch, memory_registry)
    code, events = run_apply(
        monkeypatch,
        Events(lambda event: setattr(store, "armed", True)),
        memory_registry,
        "--for",
        "0",
    )
    assert code == 0
    assert store.reads == 1
    assert [e["version"] for e in events] == ["1"]
    records = RegistryHistory(ms.open_registry(memory_registry)).records("fraud")
    assert [r.version for r in records] == ["1"]


# --- a closed standard output ---------------------------------------------------------------


class _FailingStdout(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


@pytest.mark.parametrize(
    "stdout", [None, _FailingStdout()], ids=["stdout-none", "write-fails-with-eio"]
)
def test_an_event_apply_cannot_write_goes_nowhere(
    stdout: io.StringIO | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", stdout)
    _cli._event({"event": "serving", "version": "1"})  # no exception: apply goes on


CODE = "import sys; from modelship.deploy._cli import main; sys.exit(main(sys.argv[1:]))"


def apply_with_closed(
    registry: str,  # noqa: F811
    redirect: str,
    *options: str,
) -> subprocess.CompletedProcess[str]:
    """``deploy apply`` of version 1 for no time, in a shell that applies ``redirect``
    (``>&-``: standard output closed) to it."""
    argv = [sys.executable, "-c", CODE, "apply", registry, "fraud", "1", "--for", "0", *options]
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=300,
        check=False,
    )


def succeeded(registry: str) -> list[str]:  # noqa: F811
    records = RegistryHistory(ms.open_registry(registry)).records("fraud")
    return [r.version for r in records if r.status.value == "succeeded"]


@pytest.mark.slow
def test_apply_with_stdout_closed_deploys_and_exits_0(registry: str) -> None:  # noqa: F811
    done = apply_with_closed(registry, ">&-")
    # Not -6 (SIGABRT: uvloop's "uv__close: Assertion `fd > STDERR_FILENO' failed"), not
    # an AttributeError at the first event.
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "Assertion" not in done.stderr
    assert succeeded(registry) == ["1"]


@pytest.mark.slow
def test_apply_with_stderr_closed_writes_only_its_events_to_stdout(
    registry: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A canary spec deployed blue-green: apply says on stderr that the steps are not used.
    # With stderr closed that line must go nowhere, not into stdout's JSON.
    spec = tmp_path / "canary.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: canary\n"
        "  containers: [{name: m, image: 'm:1'}]\n"
        "  canary: {steps: [{weight: 10, pause: 1}]}\n"
    )
    done = apply_with_closed(registry, "2>&-", "--spec", str(spec), "--strategy", "blue-green")
    assert done.returncode == 0, done.stdout[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["event"], e["version"]) for e in events] == [("serving", "1")]
    assert succeeded(registry) == ["1"]


# --- a health path that is not ASCII --------------------------------------------------------


class _Probed:
    """A server answering 200 to ``GET /ready`` and ``GET /sant%C3%A9`` (404 otherwise),
    keeping the paths it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        probed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                probed.paths.append(self.path)
                self.send_response(200 if self.path in ("/ready", "/sant%C3%A9") else 404)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


@pytest.fixture
def probed() -> Iterator[_Probed]:
    server = _Probed()
    yield server
    server.close()


class _Proc:
    """A live server process on ``port``; ``get`` is :class:`ServerProcess`'s own."""

    pid = 0

    def __init__(self, port: int) -> None:
        self.port = port

    def alive(self) -> bool:
        return True

    get = ServerProcess.get


def test_a_probe_sends_a_non_ascii_path_percent_encoded(probed: _Probed) -> None:
    proc: Any = _Proc(probed.port)
    assert ServerProcess.get(proc, "/santé", timeout=10) == 200
    # Already encoded, and a query: sent as written.
    assert ServerProcess.get(proc, "/sant%C3%A9?deep=1&x=%20", timeout=10) == 404
    assert probed.paths == ["/sant%C3%A9", "/sant%C3%A9?deep=1&x=%20"]


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[LocalDeployer]:
    """A LocalDeployer whose slots the test puts in by hand."""
    dep = LocalDeployer(registry=ms.open_registry(str(tmp_path / "reg")))
    try:
        yield dep
    finally:
        dep._slots = {}
        dep.close()


def with_health_path(dep: LocalDeployer, port: int) -> None:
    """``blue`` serves on ``port``, with the spec's ``healthcheck.path: /santé``."""
    dep._slots = {"blue": _Slot("fraud", "1", _Proc(port), health_path="/santé")}  # type: ignore[arg-type]


def test_health_and_wait_ready_probe_a_non_ascii_path(
    deployer: LocalDeployer, probed: _Probed
) -> None:
    with_health_path(deployer, probed.port)
    assert deployer.wait_ready("blue", 10) is True
    health = deployer.health("blue")
    assert health.healthy, health.detail
    assert probed.paths == ["/ready", "/sant%C3%A9", "/sant%C3%A9"]


def test_health_with_a_non_ascii_path_and_no_answer_is_unhealthy(
    deployer: LocalDeployer,
) -> None:
    with_health_path(deployer, 9)  # nothing listens on port 9 (discard)
    health = deployer.health("blue")
    assert not health.healthy
    assert health.detail == "GET /santé: no answer"
    assert deployer.wait_ready("blue", 0.3) is False
