"""Local deploying keeps serving through what used to stop it or leak from it.

* ``modelship deploy apply`` follows the alias through a registry that fails: a failed
  poll is reported and the next one tries again; the service never stops for it.
* Ctrl-C while ``LocalDeployer.apply`` waits for its server to start leaves no server
  the deployer does not track.
* The router answers a request it cannot read with a ``400``, as the servers do, instead
  of closing the connection with nothing said.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy import _cli
from modelship.deploy.local import LocalDeployer, Router
from modelship.deploy.local._process import ServerProcess
from modelship.registry import Registry
from modelship.testing import InMemoryDeployer
from modelship.testing._deployer_double import Fault, FaultEffect

# --- apply through a failing registry ------------------------------------------------------


class Events(io.StringIO):
    """``apply``'s stdout: every JSON event, each handed to ``on_event`` as it is written
    (in the thread that writes it, before ``apply`` goes on)."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self._on_event = on_event

    def write(self, text: str) -> int:
        if text.startswith("{"):
            event = json.loads(text)
            self.events.append(event)
            self._on_event(event)
        return super().write(text)


class Store:
    """The registry's alias reads and moves, scripted once ``armed``.

    ``on_read(n)`` runs before the n-th read after arming (1 is ``apply``'s first read
    of the alias, made right after its first ``serving`` event) and may raise;
    ``on_move(to, expected)`` runs before every alias move and may raise.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
        self.url = url
        self.armed = False
        self.reads = 0
        self.on_read: Callable[[int], None] = lambda n: None
        self.on_move: Callable[[str, str | None], None] = lambda to, expected: None
        self._aliases = Registry.aliases
        self._set_alias = Registry.set_alias
        store = self

        def aliases(reg: Registry, name: str) -> dict[str, str]:
            if store.armed:
                store.reads += 1
                store.on_read(store.reads)
            return store._aliases(reg, name)

        def set_alias(reg: Registry, name: str, alias: str, version: Any, **kw: Any) -> Any:
            if store.armed:
                store.on_move(str(version), kw.get("expected"))
            return store._set_alias(reg, name, alias, version, **kw)

        monkeypatch.setattr(Registry, "aliases", aliases)
        monkeypatch.setattr(Registry, "set_alias", set_alias)

    def move(self, to: str, expected: str) -> None:
        """An operator moves the alias (unscripted)."""
        self._set_alias(ms.open_registry(self.url), "fraud", "production", to, expected=expected)

    def alias(self) -> str | None:
        return self._aliases(ms.open_registry(self.url), "fraud").get("production")


@pytest.fixture
def memory_registry(request: pytest.FixtureRequest) -> str:
    """A memory registry of ``fraud`` 1, 2 and 3, fresh for each test."""
    url = f"memory://stop31-{request.node.name}"
    reg = ms.open_registry(url)
    for weights in (b"1", b"2", b"3"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    return url


@pytest.fixture
def served_by_double(monkeypatch: pytest.MonkeyPatch) -> list[Fault]:
    """``apply`` deploys to an in-memory deployer (with these faults) instead of processes."""
    faults: list[Fault] = []

    class Double(InMemoryDeployer):
        endpoint = "http://double.invalid"

    def make(registry: Registry) -> InMemoryDeployer:
        return Double(registry, faults=tuple(faults))

    monkeypatch.setattr(_cli, "LocalDeployer", make)
    return faults


def apply(
    monkeypatch: pytest.MonkeyPatch, store: Store, url: str, seconds: float
) -> tuple[int, list[dict[str, Any]]]:
    """Run ``apply`` of version 1 for ``seconds``; the store is armed at its first event."""

    def on_event(event: dict[str, Any]) -> None:
        store.armed = True

    out = Events(on_event)
    monkeypatch.setattr(sys, "stdout", out)
    argv = ["apply", url, "fraud", "1", "--for", str(seconds), "--poll", "0.05"]
    code = _cli.main([*argv, "--progress-deadline", "1"])
    monkeypatch.undo()
    return code, out.events


def lines_with(text: str, err: str) -> list[str]:
    return [line for line in err.splitlines() if text in line]


def test_apply_keeps_serving_while_the_registry_cannot_be_read(
    memory_registry: str,
    served_by_double: list[Fault],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)

    def unreachable(n: int) -> None:
        raise OSError("S3 503: slow down")

    store.on_read = unreachable

    code, events = apply(monkeypatch, store, memory_registry, 1.0)

    assert code == 0  # not a traceback, not "a rollout aborted"
    assert [e["version"] for e in events] == ["1"]
    assert store.reads >= 5  # every poll tried again
    err = capsys.readouterr().err
    (reported,) = lines_with("failed", err)  # one line, not one a poll
    assert "reading the alias production of fraud failed: OSError: S3 503: slow down" in reported
    assert "1 keeps serving, trying again every 0.05 s" in reported


def test_apply_follows_a_move_once_the_registry_answers_again(
    memory_registry: str,
    served_by_double: list[Fault],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)

    def three_failed_polls_then_a_move(n: int) -> None:
        if n in (2, 3, 4):
            raise OSError("S3 503: slow down")
        if n == 5:
            store.move("2", expected="1")

    store.on_read = three_failed_polls_then_a_move

    code, events = apply(monkeypatch, store, memory_registry, 1.5)

    assert code == 0
    assert [e["version"] for e in events] == ["1", "2"]
    assert store.alias() == "2"
    err = capsys.readouterr().err
    assert len(lines_with("reading the alias production of fraud failed", err)) == 1
    assert "the registry answers again after 3 failures" in err


def test_apply_moves_the_alias_back_at_a_later_poll_when_the_first_move_back_failed(
    memory_registry: str,
    served_by_double: list[Fault],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served_by_double.append(Fault("apply", FaultEffect.NEVER_READY, version="3"))
    store = Store(monkeypatch, memory_registry)
    refused: list[tuple[str, str | None]] = []

    def operator_moves_to_3(n: int) -> None:
        if n == 2:
            store.move("3", expected="1")

    def first_move_back_fails(to: str, expected: str | None) -> None:
        if (to, expected) == ("1", "3") and not refused:
            refused.append((to, expected))
            raise OSError("S3 503: slow down")

    store.on_read = operator_moves_to_3
    store.on_move = first_move_back_fails

    code, events = apply(monkeypatch, store, memory_registry, 1.5)

    assert code == 0
    assert refused == [("1", "3")]
    assert [e["version"] for e in events] == ["1"]  # 3 never served
    assert store.alias() == "1"  # moved back by the next poll
    err = capsys.readouterr().err
    (reported,) = lines_with("failed", err)
    assert "moving the alias production of fraud back failed: OSError: S3 503" in reported
    assert "the registry answers again after 1 failure" in err


def test_apply_keeps_serving_when_a_registry_read_cuts_a_followed_deploy_short(
    memory_registry: str,
    served_by_double: list[Fault],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)
    real_get = Registry.get
    failed: list[str] = []

    def get(reg: Registry, name: str, ref: Any = "latest", **kw: Any) -> Any:
        if store.armed and str(ref) == "2" and not failed:  # the deploy resolving 2
            failed.append(str(ref))
            raise OSError("S3 503: slow down")
        return real_get(reg, name, ref, **kw)

    def operator_moves_to_2(n: int) -> None:
        if n == 2:
            store.move("2", expected="1")

    monkeypatch.setattr(Registry, "get", get)
    store.on_read = operator_moves_to_2

    code, events = apply(monkeypatch, store, memory_registry, 1.0)

    assert code == 0
    assert failed == ["2"]
    assert [e["version"] for e in events] == ["1"]
    assert store.alias() == "1"  # moved back: the registry tells what serves
    err = capsys.readouterr().err
    assert "following the alias production to 2 failed: OSError: S3 503: slow down; " in err
    assert "1 keeps serving" in err


# --- Ctrl-C while a server starts --------------------------------------------------------


def test_ctrl_c_while_a_server_starts_leaves_no_server_the_deployer_does_not_track(
    served_registry: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The spawn waits until the caller has been interrupted, then starts its server: the
    # worst order, made certain.
    entered, interrupted = threading.Event(), threading.Event()
    started: list[ServerProcess] = []
    real_start = ServerProcess.start

    def start_after_the_interrupt(argv: list[str], **kw: Any) -> ServerProcess:
        entered.set()
        assert interrupted.wait(30)
        proc = real_start(argv, **kw)
        started.append(proc)
        return proc

    def ctrl_c(signum: int, frame: object) -> None:
        if not interrupted.is_set():  # the first signal handled is the Ctrl-C
            interrupted.set()
            raise KeyboardInterrupt

    def press_ctrl_c() -> None:
        # Again until handled: a signal that arrives just before the main thread blocks
        # on the lock does not wake it, and is handled only when the lock is released.
        if entered.wait(30):
            for _ in range(600):  # bounded: 30 s
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
                if interrupted.wait(0.05):
                    return

    monkeypatch.setattr(ServerProcess, "start", staticmethod(start_after_the_interrupt))
    previous = signal.signal(signal.SIGUSR1, ctrl_c)
    presser = threading.Thread(target=press_ctrl_c)
    try:
        reg = ms.open_registry(str(served_registry))
        with LocalDeployer(registry=reg, server_args=["--no-warmup"]) as dep:
            presser.start()
            with pytest.raises(KeyboardInterrupt):
                dep.apply("blue", "fraud", "1")
            # The next server starts after the interrupted one (one spawner thread).
            dep.apply("green", "fraud", "2")
            for _ in range(300):  # bounded: 30 s, for a deployer that started them apart
                if len(started) == 2:
                    break
                time.sleep(0.1)
            orphan, green = started
            assert dep.pids() == {"green": green.pid}
            assert orphan.popen.poll() is not None, "a server runs that no slot holds"
    finally:
        signal.signal(signal.SIGUSR1, previous)
        if presser.ident is not None:
            presser.join(30)
        for proc in started:  # on a deployer that leaks it, the test must not
            if proc.alive():
                proc.stop(grace=0)


# --- the router and requests it cannot read ----------------------------------------------


class Backend:
    """A backend answering 200 to anything, counting the requests it got."""

    def __init__(self) -> None:
        self.requests = 0
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                backend.requests += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def routed() -> Iterator[tuple[Router, Backend]]:
    router, backend = Router(), Backend()
    router.set_backends({"a": (backend.port, 100)})
    yield router, backend
    router.close()
    backend.close()


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request``; everything answered until the connection closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


BODY = b'{"instances": [[0.1, 0, 0, 0]]}'
POST = b"POST /predict HTTP/1.1\r\nhost: x\r\n"
CHUNKED = POST + b"transfer-encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "why"),
    [
        (POST + b"content-length: abc\r\n\r\n" + BODY, "Content-Length 'abc'"),
        (POST + b"content-length: -5\r\n\r\n" + BODY, "Content-Length '-5'"),
        (POST + b"content-length: 1_0\r\n\r\n" + BODY, "Content-Length '1_0'"),
        (POST + b"content-length: abc\r\nexpect: 100-continue\r\n\r\n", "Content-Length"),
        (CHUNKED + b"zz\r\n", "chunk size 'zz'"),
        (CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", "chunk size '-5'"),
        (CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", "chunk size '0x5'"),
        (CHUNKED + b"5\r\nhello, world\r\n0\r\n\r\n", "longer than its size line says"),
    ],
    ids=[
        "length-not-a-number",
        "length-negative",
        "length-with-underscore",
        "length-not-a-number-behind-expect",
        "chunk-size-not-hex",
        "chunk-size-negative",
        "chunk-size-0x",
        "chunk-longer-than-said",
    ],
)
def test_a_request_the_router_cannot_read_is_answered_400_and_not_forwarded(
    routed: tuple[Router, Backend], request_bytes: bytes, why: str
) -> None:
    router, backend = routed

    answer = exchange(router.port, request_bytes)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert b"content-type: application/json" in head
    assert b"connection: close" in head
    error = json.loads(body)["error"]
    assert error.startswith("malformed request: ")
    assert why in error
    assert backend.requests == 0


def test_the_router_still_forwards_after_refusing_a_request(
    routed: tuple[Router, Backend],
) -> None:
    router, backend = routed
    assert exchange(router.port, POST + b"content-length: abc\r\n\r\n").startswith(b"HTTP/1.1 400 ")

    answer = exchange(router.port, POST + b"connection: close\r\ncontent-length: 2\r\n\r\n{}")

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert backend.requests == 1


def test_apply_follows_a_new_move_while_moving_the_alias_back_keeps_failing(
    memory_registry: str,
    served_by_double: list[Fault],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The move back was tried before the alias was read, and a poll ended when it failed:
    # with a registry this process may only read, a later move by the operator was never
    # seen, and the version it named never deployed.
    served_by_double.append(Fault("apply", FaultEffect.NEVER_READY, version="3"))
    store = Store(monkeypatch, memory_registry)
    tries: list[str] = []

    def operator_moves_to_3(n: int) -> None:
        if n == 2:
            store.move("3", expected="1")

    def moving_back_is_refused(to: str, expected: str | None) -> None:
        if (to, expected) == ("1", "3"):
            tries.append(to)
            if len(tries) == 2:
                store.move("2", expected="3")  # the operator moves on meanwhile
            raise PermissionError("the registry is read-only for this process")

    store.on_read = operator_moves_to_3
    store.on_move = moving_back_is_refused

    code, events = apply(monkeypatch, store, memory_registry, 2.5)

    assert code == 0
    assert len(tries) >= 2
    assert [e["version"] for e in events] == ["1", "2"]  # 3 never served; 2 followed
    assert store.alias() == "2"
