"""Review 39: the LocalDeployer lets a stopping server finish, and says what failed.

* ``remove()`` and ``close()`` send SIGKILL only once a server had ``graceful_seconds``
  for its requests and then its prediction log's final flush (``modelship serve``'s own
  shutdown), not at ``graceful_seconds`` (nor at 5 s for ``close()``).
* ``close()`` during a ``remove()`` waits for that slot's drain and stop; it does not
  SIGKILL the server being drained.
* ``remove()`` of something that is not a slot name is a ``SlotNotFound``.
* The model metadata is a ``503`` saying the state until the server is ready.
* The router's ``502`` says in words what happened, not a private class name.
"""

from __future__ import annotations

import functools
import http.client
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy import SlotNotFound
from modelship.deploy.local import LocalDeployer, Router, _deployer
from modelship.deploy.local._process import ServerProcess
from modelship.deploy.serve import ServeConfig
from modelship.deploy.serve._app import ModelServer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the servers are signalled as on Linux"
)

GRACEFUL = 1.0
#: Of the final flush's allowance, min(GRACEFUL, 5 s), what the stand-in server takes.
FLUSH = 0.8


def _stand_in(flush: float) -> list[str]:
    """A server that stops as ``modelship serve --graceful-seconds GRACEFUL`` may: on
    SIGTERM, its requests take the whole grace period, then its log's final flush
    ``flush`` seconds; then it exits 0. (``--fd N`` lands in its argv.)"""
    code = f"""
import os, signal, sys, time
def stop(*_):
    time.sleep({GRACEFUL} + {flush})
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
print("listening", flush=True)
while True:
    time.sleep(60)
"""
    return [sys.executable, "-c", code]


def _stand_ins(monkeypatch: pytest.MonkeyPatch, flush: float) -> list[ServerProcess]:
    """Every server the deployer starts is the stand-in; those started (each listening,
    its SIGTERM handler set, once apply() returns)."""
    started: list[ServerProcess] = []
    real_start = ServerProcess.start

    def start(_: list[str], **kw: Any) -> ServerProcess:
        proc = real_start(_stand_in(flush), **kw)
        deadline = time.monotonic() + 30
        while "listening" not in proc.tail() and time.monotonic() < deadline:  # bounded
            time.sleep(0.01)
        assert "listening" in proc.tail(), proc.tail()
        started.append(proc)
        return proc

    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(start))
    return started


def _seen_ready(dep: LocalDeployer, *slots: str) -> None:
    """Mark ``slots`` as wait_ready() marks a slot whose server answered ``/ready`` (the
    stand-in speaks no HTTP): a server that served gets its whole shutdown."""
    for slot in slots:
        dep._slots[slot].ready = True


def _stopped_by_itself(proc: ServerProcess) -> None:
    """The stand-in exited 0, which it does only once its flush is over."""
    assert proc.popen.returncode != -signal.SIGKILL, "SIGKILLed before its shutdown ended"
    assert proc.popen.returncode == 0


# --- 1. SIGKILL only after the server's own shutdown ------------------------------------------


def test_remove_lets_a_server_flush_its_log_after_its_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _stand_ins(monkeypatch, FLUSH)
    with LocalDeployer(
        ms.open_registry(str(tmp_path)), drain_timeout=0, graceful_seconds=GRACEFUL
    ) as dep:
        dep.apply("blue", "fraud", "1")
        _seen_ready(dep, "blue")
        dep.remove("blue")
        [proc] = started
        _stopped_by_itself(proc)


def _closed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ready: Callable[[LocalDeployer], None]
) -> list[ServerProcess]:
    """The stand-ins of slots blue and green, once ``ready`` marked them and ``close()``
    stopped them."""
    started = _stand_ins(monkeypatch, FLUSH)
    dep = LocalDeployer(ms.open_registry(str(tmp_path)), drain_timeout=0, graceful_seconds=GRACEFUL)
    try:
        dep.apply("blue", "fraud", "1")
        dep.apply("green", "fraud", "2")
        ready(dep)
    finally:
        dep.close()
    assert len(started) == 2
    return started


def test_close_lets_every_server_flush_its_log_after_its_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for proc in _closed_after(tmp_path, monkeypatch, lambda dep: _seen_ready(dep, "blue", "green")):
        _stopped_by_itself(proc)


def test_a_server_never_seen_ready_with_no_traffic_is_not_given_the_long_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It answered no prediction (a version still loading, whose shutdown would wait for
    # the load): SIGKILL after min(graceful_seconds, 5 s), as before, not after the
    # grace, the flush and 3 s. A slot with traffic gets the long grace, seen ready or not.
    def traffic_to_green(dep: LocalDeployer) -> None:
        dep._slots["green"].weight = 100  # as set_traffic leaves it (the router aside)

    loading, serving = _closed_after(tmp_path, monkeypatch, traffic_to_green)
    assert loading.popen.returncode == -signal.SIGKILL  # cut at GRACEFUL, before its 1.8 s
    _stopped_by_itself(serving)


def test_the_sigkill_comes_after_the_grace_period_the_flush_and_time_to_exit() -> None:
    from modelship.deploy.serve._config import FINAL_FLUSH_SECONDS

    assert _deployer._server_grace(30.0) == 30.0 + FINAL_FLUSH_SECONDS + _deployer._EXIT_SECONDS
    # The server flushes for at most its grace period when that is shorter.
    assert _deployer._server_grace(1.0) == 1.0 + 1.0 + _deployer._EXIT_SECONDS


# --- 2. close() during a remove() -------------------------------------------------------------


class _HeldDrain:
    """A drain that lasts its whole timeout unless released: a slow request in flight."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.over = threading.Event()

    def wait(self, timeout: float) -> bool:
        self.entered.set()
        try:
            return self.released.wait(timeout)
        finally:
            self.over.set()


def test_close_during_a_remove_waits_for_the_server_being_drained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _stand_ins(monkeypatch, 0.0)
    dep = LocalDeployer(
        ms.open_registry(str(tmp_path)), drain_timeout=2.0, graceful_seconds=GRACEFUL
    )
    held = _HeldDrain()
    killed_while_draining: list[bool] = []
    real_kill_all = _deployer.kill_all

    def kill_all(procs: list[ServerProcess]) -> None:
        # Whether the removed slot's drain was still under way when close() killed.
        killed_while_draining.append(held.entered.is_set() and not held.over.is_set())
        real_kill_all(procs)
        held.released.set()  # the old code's remove() goes on, to end the test

    monkeypatch.setattr(_deployer, "kill_all", kill_all)
    removing: threading.Thread | None = None
    errors: list[BaseException] = []
    try:
        dep.apply("blue", "fraud", "1")
        _seen_ready(dep, "blue")
        monkeypatch.setattr(dep._router, "begin_drain", lambda name: held)

        def remove() -> None:
            try:
                dep.remove("blue")
            except BaseException as exc:  # reported below
                errors.append(exc)

        removing = threading.Thread(target=remove)
        removing.start()
        assert held.entered.wait(30), "remove() never began its drain"
    finally:
        dep.close()
        if removing is not None:
            removing.join(30)
    assert errors == []
    assert killed_while_draining == [False], "close() killed a server remove() was draining"
    [proc] = started
    _stopped_by_itself(proc)


# --- 3. remove() of a non-name ----------------------------------------------------------------


@pytest.mark.parametrize("slot", [["blue"], {"blue": 1}, 3, None])
def test_remove_of_a_slot_that_is_no_text_raises_slot_not_found(tmp_path: Path, slot: Any) -> None:
    with LocalDeployer(ms.open_registry(str(tmp_path))) as dep:
        with pytest.raises(SlotNotFound, match=r"slots are blue and green") as caught:
            dep.remove(slot)
        assert not isinstance(caught.value, TypeError)


# --- 4. model metadata before ready -----------------------------------------------------------


@pytest.fixture
def loading_server() -> Iterator[tuple[Any, threading.Event]]:
    """A client of a server whose model loads once the event is set."""
    from starlette.testclient import TestClient

    loaded = threading.Event()

    def load() -> Any:
        assert loaded.wait(30)
        return functools.partial(np.sum, axis=1)

    server = ModelServer(load, name="m", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))
    with TestClient(server.app, raise_server_exceptions=False) as client:
        yield client, loaded
        loaded.set()


def _ready(client: Any) -> None:
    deadline = time.monotonic() + 60
    while client.get("/ready").status_code != 200 and time.monotonic() < deadline:  # bounded
        time.sleep(0.01)


def test_model_metadata_is_a_503_saying_the_state_until_ready(
    loading_server: tuple[Any, threading.Event],
) -> None:
    client, loaded = loading_server
    answer = client.get("/v2/models/m")
    assert answer.status_code == 503
    body = answer.json()
    assert body["state"] == "loading"
    assert body["ready"] is False
    assert body["name"] == "m"
    assert "not ready" in body["error"]
    assert body["request_id"] == answer.headers["x-request-id"]
    loaded.set()
    _ready(client)
    answer = client.get("/v2/models/m")
    assert answer.status_code == 200
    assert answer.json()["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]


def test_model_metadata_without_a_warm_up_is_served_once_loaded() -> None:
    from starlette.testclient import TestClient

    server = ModelServer(
        lambda: functools.partial(np.sum, axis=1),
        name="m",
        version="1",
        config=ServeConfig(warmup=False),
    )
    with TestClient(server.app, raise_server_exceptions=False) as client:
        _ready(client)
        answer = client.get("/v2/models/m")
        assert answer.status_code == 200
        assert answer.json()["outputs"][0] == {"name": "predict", "datatype": "FP64", "shape": [-1]}


# --- 5. the router's 502 in words -------------------------------------------------------------


class _Hangs:
    """A backend that reads a request and closes the connection without answering."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            with conn:
                conn.recv(65536)


def test_the_routers_502_says_what_happened_in_words() -> None:
    backend = _Hangs()
    router = Router()
    try:
        router.set_backends({"blue": (backend.port, 100)})
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        conn.request("POST", "/predict", body=b'{"instances": [[1]]}')
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 502
        assert body["error"].startswith(
            "slot blue failed: its server closed the connection before answering"
        )
        assert "_" not in body["error"], body["error"]  # no private name
    finally:
        router.close()
        backend.sock.close()


@pytest.mark.parametrize("path", ["/v2/models/fraud", "/v2/models/fraud/versions/2"])
def test_the_v2_model_metadata_as_health_path_is_a_readiness_probe(path: str) -> None:
    # It answers 503 until ready: as a liveness probe, a slow load restarted the pod.
    from modelship.deploy.kubernetes._render import probe_paths

    assert probe_paths(path) == (path, "/health")
    assert probe_paths("/v2/models/fraud/infer") == ("/ready", "/v2/models/fraud/infer")
