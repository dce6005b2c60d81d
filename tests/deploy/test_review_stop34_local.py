"""The LocalDeployer tells the truth and keeps its servers and requests, however it is cut.

* A ``set_traffic`` cut short (Ctrl-C, the router's timeout) changes nothing: the router
  routes as ``state()`` says, so an aborted rollout never leaves every request a ``503``.
* Two ``apply()`` calls to one idle slot at once: one fills it, the other is refused
  with ``SlotInUse`` and its server stopped; no server runs that no slot holds.
* ``close()`` lets a request in flight finish before it stops the servers and the router.
* The spec given to ``apply`` is honoured: the first container's ``args`` and ``env``,
  and ``healthcheck.path``; what cannot be honoured locally is refused.
* ``wait_ready`` refuses a timeout that is not a finite number with a ConfigError.
"""

from __future__ import annotations

import inspect
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy import BlueGreen, DeploymentSpec, InMemoryHistory, SlotInUse
from modelship.deploy.local import LocalDeployer, _deployer
from modelship.deploy.local._process import ServerProcess
from modelship.errors import ConfigError, InvalidParameter

pytestmark = pytest.mark.slow


def send(url: str, body: bytes | None = None) -> tuple[int, Any]:
    """``POST /predict`` through ``url`` (one row unless ``body``): status and answer."""
    data = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode() if body is None else body
    request = urllib.request.Request(
        url + "/predict", data=data, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def dep(served_registry: Path) -> Iterator[LocalDeployer]:  # noqa: F811
    with LocalDeployer(
        registry=ms.open_registry(str(served_registry)), server_args=["--no-warmup"]
    ) as d:
        yield d


def spec(**container: Any) -> DeploymentSpec:
    """A spec with one model-server container, plus ``healthcheck`` if given."""
    healthcheck = container.pop("healthcheck", None)
    doc: dict[str, Any] = {"containers": [{"name": "model", "image": "m:1", **container}]}
    if healthcheck is not None:
        doc["healthcheck"] = healthcheck
    return DeploymentSpec.from_dict({"deployment": doc})


# --- set_traffic cut short ------------------------------------------------------------------


def test_a_switch_cut_by_ctrl_c_leaves_the_router_routing_as_state_says(
    dep: LocalDeployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worst moment, made certain: the router has applied the switch to green, and the
    # Ctrl-C reaches the caller before set_backends returns.
    blue_green = BlueGreen(dep, history=InMemoryHistory(), alias=None)
    blue_green.deploy("fraud", "1")
    router = dep._router
    real_set_backends = router.set_backends
    cut: list[dict[str, tuple[int, int]]] = []

    def applied_then_ctrl_c(backends: dict[str, tuple[int, int]]) -> None:
        real_set_backends(backends)
        if not cut and backends.get("green", (0, 0))[1] > 0:
            cut.append(dict(backends))
            raise KeyboardInterrupt

    monkeypatch.setattr(router, "set_backends", applied_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        blue_green.deploy("fraud", "2")
    assert cut, "the switch to green was never sent"
    serving = dep.state().serving()
    assert serving is not None
    assert (serving.slot, serving.version, serving.weight) == ("blue", "1", 100)
    # Every request is answered, by the version state() says serves.
    answers = [send(dep.endpoint) for _ in range(5)]
    assert [status for status, _ in answers] == [200] * 5, answers
    assert {doc["version"] for _, doc in answers} == {"1"}


def test_a_set_traffic_cut_short_changes_nothing(
    dep: LocalDeployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep.apply("blue", "fraud", "1")
    dep.apply("green", "fraud", "2")
    assert dep.wait_ready("blue", 60)
    assert dep.wait_ready("green", 60)
    dep.set_traffic({"blue": 100})
    real_set_backends = dep._router.set_backends
    calls: list[dict[str, tuple[int, int]]] = []

    def applied_then_timeout(backends: dict[str, tuple[int, int]]) -> None:
        calls.append(dict(backends))
        real_set_backends(backends)
        if len(calls) == 1:
            raise TimeoutError  # as the router's 30 s wait for its loop raises it

    monkeypatch.setattr(dep._router, "set_backends", applied_then_timeout)
    with pytest.raises(TimeoutError):
        dep.set_traffic({"blue": 50, "green": 50})
    assert [(s.slot, s.weight) for s in dep.state().slots] == [("blue", 100), ("green", 0)]
    assert {send(dep.endpoint)[1]["version"] for _ in range(6)} == {"1"}


# --- two apply() calls to one slot ------------------------------------------------------------


def test_two_applies_to_one_idle_slot_fill_it_once_and_leave_no_stray_server(
    dep: LocalDeployer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first server starts only once the second apply() has passed its idle check and
    # queued its own start: both were told the slot is idle.
    second_queued = threading.Event()
    started: list[ServerProcess] = []
    real_start = ServerProcess.start
    real_submit = dep._spawner.submit

    def start(argv: list[str], **kw: Any) -> ServerProcess:
        if not started:
            assert second_queued.wait(30), "the second apply() never queued its start"
        else:
            # The second server starts once the first apply() installed its own: which
            # apply() installs first is then decided here, not by how soon the first
            # apply()'s thread wakes on a loaded machine (it once lost to the second).
            for _ in range(600):  # bounded: 30 s for the first apply() to install
                if dep._slots.get("green") is not None:
                    break
                time.sleep(0.05)
        proc = real_start(argv, **kw)
        started.append(proc)
        return proc

    def submit(fn: Any, *args: Any) -> Any:
        future = real_submit(fn, *args)
        if fn == dep._start and len(submitted) == 1:
            second_queued.set()
        submitted.append(fn)
        return future

    submitted: list[Any] = []
    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(start))
    monkeypatch.setattr(dep._spawner, "submit", submit)
    errors: dict[str, BaseException] = {}

    def apply(version: str) -> None:
        try:
            dep.apply("green", "fraud", version)
        except BaseException as exc:
            errors[version] = exc

    first = threading.Thread(target=apply, args=("1",))
    first.start()
    for _ in range(600):  # bounded: 30 s for the first apply() to queue its start
        if submitted:
            break
        time.sleep(0.05)
    apply("2")
    first.join(60)
    try:
        assert list(errors) == ["2"], errors
        assert isinstance(errors["2"], SlotInUse)
        assert "another apply()" in str(errors["2"])
        assert [(s.slot, s.version) for s in dep.state().slots] == [("green", "1")]
        assert dep.pids() == {"green": started[0].pid}
        assert started[1].popen.poll() is not None, "a server runs that no slot holds"
        dep.remove("green")
        assert all(p.popen.poll() is not None for p in started)
    finally:
        for proc in started:  # on a deployer that leaks one, the test must not
            if proc.alive():
                proc.stop(grace=0)


# --- close() and requests in flight -----------------------------------------------------------


class HeldBackend:
    """A slot's server in this process: ``/ready`` and ``/health`` answer 200; the first
    ``POST`` is held until ``release`` is set, later ones are answered at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.posts = 0
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer(b"{}")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                backend.posts += 1
                if backend.posts == 1:
                    backend.entered.set()
                    backend.release.wait(30)
                self._answer(json.dumps({"version": "held", "n": backend.posts}).encode())

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def process(self, argv: list[str], **kw: Any) -> ServerProcess:
        """What ``ServerProcess.start`` returns instead: a process to stop, this port."""
        popen = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
        )
        return ServerProcess(popen, self.port, tempfile.TemporaryFile())

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def test_close_lets_a_request_in_flight_finish_and_refuses_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HeldBackend()
    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(backend.process))
    dep = LocalDeployer(registry=ms.open_registry(str(tmp_path)))
    answers: list[object] = []

    def client() -> None:
        try:
            answers.append(send(dep.endpoint))
        except OSError as exc:
            answers.append(exc)

    sender = threading.Thread(target=client)
    closer = threading.Thread(target=dep.close)
    try:
        dep.apply("blue", "fraud", "1")
        assert dep.wait_ready("blue", 30)
        dep.set_traffic({"blue": 100})
        proc = dep._slots["blue"].proc
        sender.start()
        assert backend.entered.wait(30), "the request never reached the slot's server"
        closer.start()
        # Once close() has begun, a new request is answered 503 (no slot gets it) while the
        # one in flight is still held; on a router already closed it fails.
        refused = None
        for _ in range(600):  # bounded: 30 s for close() to stop routing
            try:
                status, _ = send(dep.endpoint)
            except OSError as exc:
                refused = exc
                break
            if status == 503:
                refused = status
                break
            time.sleep(0.05)
        backend.release.set()
        sender.join(30)
        closer.join(60)
        assert answers == [(200, {"version": "held", "n": 1})]
        assert refused == 503
        assert proc.popen.poll() is not None, "close() left the slot's server running"
    finally:
        backend.close()
        dep.close()


# --- the spec given to apply -------------------------------------------------------------------


def test_the_spec_args_are_flags_of_the_slot_server(dep: LocalDeployer) -> None:
    dep.apply("blue", "fraud", "1", spec(args=["--max-body-bytes", "200"]))
    assert dep.wait_ready("blue", 60)
    dep.set_traffic({"blue": 100})
    assert send(dep.endpoint)[0] == 200
    big = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]] * 20}).encode()
    assert len(big) > 200
    assert send(dep.endpoint, big)[0] == 413  # the server's own limit, from the spec


def test_the_spec_env_reaches_the_slot_server(dep: LocalDeployer) -> None:
    dep.apply("blue", "fraud", "1", spec(env={"MODELSHIP_REVIEW_34": "a b=c"}))
    assert dep.wait_ready("blue", 60)
    with open(f"/proc/{dep.pids()['blue']}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    assert b"MODELSHIP_REVIEW_34=a b=c" in environ


def test_the_spec_healthcheck_path_decides_ready_and_healthy(dep: LocalDeployer) -> None:
    dep.apply("blue", "fraud", "1", spec(healthcheck={"path": "/v2/health/live"}))
    dep.apply("green", "fraud", "2", spec(healthcheck={"path": "/does-not-exist"}))
    assert dep.wait_ready("blue", 60)
    assert dep.health("blue").detail == "GET /v2/health/live: 200"
    green = dep.slot_url("green")
    for _ in range(600):  # bounded: 30 s for green's server to turn ready
        try:
            with urllib.request.urlopen(green + "/ready", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.05)
    else:
        pytest.fail("green's server never answered /ready")
    # Its server is ready, but the spec's health check cannot pass: our own server
    # answers the path 404, which it always will (stop 51: refused at once).
    with pytest.raises(ms.ConfigError, match="answers 404"):
        dep.wait_ready("green", 0.5)
    assert [s.ready for s in dep.state().slots] == [True, False]
    assert dep.health("green") == ms.deploy.SlotHealth(False, "GET /does-not-exist: 404")


@pytest.mark.parametrize(
    ("container", "refusal"),
    [
        (
            {"args": ["--port", "9000"]},
            "deployment.containers[0].args[0] '--port' sets --port, which the LocalDeployer "
            "sets for every server itself",
        ),
        ({"args": ["--bogus"]}, "unrecognized arguments: --bogus"),
        ({"args": ["--max-body-bytes", "0"]}, "would stop the server"),
        ({"args": ["--max-body-bytes", str(8 * 2**20)]}, "the LocalDeployer's router holds"),
        ({"args": ["stray"]}, "unrecognized arguments: stray"),
        ({"env": {"A": "x\x00y"}}, "env.A holds a NUL character"),
    ],
)
def test_a_spec_the_local_servers_cannot_honour_is_refused_before_anything_starts(
    tmp_path: Path, container: dict[str, Any], refusal: str
) -> None:
    with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:
        with pytest.raises(ConfigError) as caught:
            dep.apply("blue", "fraud", "1", spec(**container))
        assert refusal in str(caught.value)
        assert dep.state().slots == ()
        assert dep._pids == []


def test_a_spec_that_is_no_deployment_spec_is_refused(tmp_path: Path) -> None:
    with (
        LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep,
        pytest.raises(ConfigError, match="spec must be a DeploymentSpec"),
    ):
        dep.apply("blue", "fraud", "1", {"containers": []})  # type: ignore[arg-type]


# --- wait_ready's timeout ----------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [math.inf, -math.inf, math.nan, "5", True])
def test_wait_ready_refuses_a_timeout_that_is_no_finite_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, timeout: object
) -> None:
    backend = HeldBackend()
    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(backend.process))
    try:
        with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:
            dep.apply("blue", "fraud", "1")
            with pytest.raises(InvalidParameter, match="timeout="):
                dep.wait_ready("blue", timeout)  # type: ignore[arg-type]
            assert dep.wait_ready("blue", -1.0)  # below 0 is 0: one probe
    finally:
        backend.close()


# --- review E: a drain takes the removed server only; set_traffic cut on any line ---------------


def stub_servers(
    monkeypatch: pytest.MonkeyPatch, *backends: HeldBackend, kws: list[dict[str, Any]] | None = None
) -> list[list[str]]:
    """``ServerProcess.start`` hands out ``backends`` in order (one per server started);
    the argv each start was given, in order (and, into ``kws``, its keyword arguments)."""
    queue = list(backends)
    argvs: list[list[str]] = []

    def start(argv: list[str], **kw: Any) -> ServerProcess:
        argvs.append(list(argv))
        if kws is not None:
            kws.append(dict(kw))
        return queue.pop(0).process(argv, **kw)

    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(start))
    return argvs


class HookAfterRelease:
    """A stand-in for a deployer's lock that runs ``hook`` once, in the thread that armed
    it, right after the first lock hold (outermost) after which ``ready()`` is true."""

    def __init__(self, lock: Any, ready: Any, hook: Any) -> None:
        self.lock, self.ready, self.hook = lock, ready, hook
        self.armed: int | None = None
        self.fired = False
        self.depth = threading.local()

    def __enter__(self) -> None:
        self.lock.acquire()
        self.depth.n = getattr(self.depth, "n", 0) + 1

    def __exit__(self, *exc: object) -> None:
        self.depth.n -= 1
        self.lock.release()
        mine = threading.get_ident() == self.armed
        if mine and self.depth.n == 0 and not self.fired and self.ready():
            self.fired = True
            self.hook()


def test_a_slot_applied_again_before_its_removal_drains_is_not_drained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # remove() takes the slot out of its table, then drains it on the router, which keys
    # backends by name: another thread applying the slot again and giving it traffic
    # right after the table let go must not have its new server drained (every request a
    # 503 while state() says the slot takes 100 %). The other thread runs exactly there.
    blue, old_green, new_green = HeldBackend(), HeldBackend(), HeldBackend()
    for backend in (blue, old_green, new_green):
        backend.release.set()  # nothing is held here
    stub_servers(monkeypatch, blue, old_green, new_green)
    dep = LocalDeployer(registry=ms.open_registry(str(tmp_path)))
    reapplied: list[str] = []

    def apply_green_again() -> None:
        dep.apply("green", "fraud", "2")
        assert dep.wait_ready("green", 30)
        dep.set_traffic({"green": 100})
        reapplied.append("green")

    def in_another_thread() -> None:
        other = threading.Thread(target=apply_green_again)
        other.start()
        other.join(60)  # the lock is free: a deployer that held it here would hang
        assert not other.is_alive(), "apply() waited for remove()"

    try:
        dep.apply("blue", "fraud", "1")
        dep.apply("green", "fraud", "1")
        assert dep.wait_ready("blue", 30)
        assert dep.wait_ready("green", 30)
        dep.set_traffic({"blue": 100})
        old_proc = dep._slots["green"].proc
        lock = HookAfterRelease(dep._lock, lambda: "green" not in dep._slots, in_another_thread)
        monkeypatch.setattr(dep, "_lock", lock)
        lock.armed = threading.get_ident()
        dep.remove("green")
        assert lock.fired
        assert reapplied == ["green"]
        assert [(s.slot, s.version, s.weight) for s in dep.state().slots] == [
            ("blue", "1", 0),
            ("green", "2", 100),
        ]
        assert [send(dep.endpoint)[0] for _ in range(3)] == [200] * 3
        assert (old_green.posts, new_green.posts, blue.posts) == (0, 3, 0)
        assert old_proc.popen.poll() is not None, "the removed server still runs"
        assert dep._slots["green"].proc.alive()
    finally:
        dep.close()
        for backend in (blue, old_green, new_green):
            backend.close()


def test_begin_drain_drains_the_backend_it_took_not_a_later_one_of_that_name() -> None:
    from modelship.deploy.local._router import Router

    router = Router()
    try:
        router.set_backends({"green": (1, 100)})
        draining = router.begin_drain("green")
        assert router._backends["green"].weight == 0  # no new request once it returns
        router.set_backends({"green": (2, 100)})  # the slot, applied again meanwhile
        assert draining.wait(5)
        assert {n: (b.port, b.weight) for n, b in router._backends.items()} == {"green": (2, 100)}
        assert router.begin_drain("none").wait(0)  # nothing to drain: done at once
    finally:
        router.close()


def interrupt_on_line(k: int, call: Any, *args: Any) -> int | None:
    """``call(*args)``, a KeyboardInterrupt raised on its ``k``-th line event (as the
    signal handler of ``deploy apply`` raises one, between any two lines): the line it
    was raised on, or None if ``call`` ended first."""
    code = call.__func__.__code__
    seen: list[int] = []

    def local(frame: Any, event: str, arg: object) -> Any:
        if event == "line":
            seen.append(frame.f_lineno)
            if len(seen) == k:
                raise KeyboardInterrupt
        return local

    def tracer(frame: Any, event: str, arg: object) -> Any:
        return local if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call(*args)
    except KeyboardInterrupt:
        return seen[-1]
    finally:
        sys.settrace(previous)
    return None


def test_a_set_traffic_interrupted_on_any_of_its_lines_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "If it raises, nothing changed": the router routes as state() says, both as before,
    # wherever the Ctrl-C lands (the copy of the weights into the slots too). The one
    # exception is the lock's release once all is done (the `with` line, left): as a
    # Ctrl-C just after the call returned, the change is whole there, in both.
    blue, green = HeldBackend(), HeldBackend()
    stub_servers(monkeypatch, blue, green)
    source, first = inspect.getsourcelines(LocalDeployer.set_traffic)
    with_line = first + next(i for i, line in enumerate(source) if "with self._lock" in line)
    try:
        with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:
            dep.apply("blue", "fraud", "1")
            dep.apply("green", "fraud", "2")
            dep.set_traffic({"blue": 100})
            before = {"blue": 100, "green": 0}
            after = {"blue": 0, "green": 100}
            router = dep._router
            landed: list[int] = []
            for k in range(1, 200):  # bounded: set_traffic runs far fewer lines
                line = interrupt_on_line(k, dep.set_traffic, {"green": 100})
                state = {s.slot: s.weight for s in dep.state().slots}
                routed = {n: b.weight for n, b in router._backends.items()}
                ports = {n: b.port for n, b in router._backends.items()}
                assert ports == {"blue": blue.port, "green": green.port}
                if line is None:
                    assert state == routed == after
                    break
                landed.append(line)
                if state == after and line == with_line and landed.count(line) == 2:
                    assert routed == after  # the release after the whole change
                    dep.set_traffic({"blue": 100})
                    continue
                assert state == routed == before, f"interrupted on line {line} (event {k})"
            else:
                pytest.fail("set_traffic never ran to its end")
            # It landed on every line, each turn of the copy into the slots included.
            copy_line = first + next(
                i for i, line in enumerate(source) if "s.weight = checked.get(" in line
            )
            assert landed.count(copy_line) == 2, landed
    finally:
        blue.close()
        green.close()


# --- review E: $(NAME) in the spec's env and args, as the kubelet expands it --------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)/x", "a/x"),
        ("$(A)$(A)", "aa"),
        ("$(UNSET)", "$(UNSET)"),  # an undefined name is left as written
        ("$$(A)", "$(A)"),  # $$ is a literal $: an escaped reference is never expanded
        ("$$$(A)", "$a"),
        ("a$$b", "a$b"),
        ("$x $ $", "$x $ $"),  # a $ before anything else, or at the end, stays
        ("$(A", "$(A"),  # never closed
        ("$(A $(A)", "$(A $(A)"),  # the name runs to the first ')': "A $(A" is unset
        ("$()", "$()"),
        ("no reference", "no reference"),
    ],
)
def test_expand_follows_the_kubelet(text: str, expected: str) -> None:
    assert _deployer._expand(text, {"A": "a"}) == expected


def test_the_spec_env_and_args_are_expanded_as_the_kubelet_expands_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HeldBackend()
    kws: list[dict[str, Any]] = []
    argvs = stub_servers(monkeypatch, backend, kws=kws)
    env = {
        "EARLY": "$(ROOT)/early",  # ROOT is listed after it: left as written
        "ROOT": "/srv/logs",
        "LOG_DIR": "$(ROOT)/fraud",
        "CHAINED": "$(EARLY)+$(LOG_DIR)",
        # The document's own ${NAME} substitution reads $$ as $ first (as for the
        # Kubernetes adapter): this is "$$(ROOT) costs $$5" in the spec.
        "ESCAPED": "$$$$(ROOT) costs $$$$5",
        "SELF": "$(SELF)",
        "HOME_REF": "$(HOME)",  # not in the spec's env: the deployer's own is not read
    }
    args = ["--prediction-log", "$(LOG_DIR)", "--log-flush-seconds", "$(UNSET)0.5"]
    try:
        with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:
            with pytest.raises(ConfigError, match="log-flush-seconds"):  # "$(UNSET)0.5"
                dep.apply("blue", "fraud", "1", spec(env=env, args=args))
            assert argvs == []  # refused before any server started
            args[-1] = "0.5"
            dep.apply("blue", "fraud", "1", spec(env=env, args=args))
    finally:
        backend.close()
    [argv] = argvs
    # The env goes to the server's environment, not its command line (stop 37: every
    # local user can read a command line, and the env may hold a secret).
    [kw] = kws
    given = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in kw["env"].items()
    }
    assert {k: given[k] for k in env} == {
        "EARLY": "$(ROOT)/early",
        "ROOT": "/srv/logs",
        "LOG_DIR": "/srv/logs/fraud",
        "CHAINED": "$(ROOT)/early+/srv/logs/fraud",
        "ESCAPED": "$(ROOT) costs $5",
        "SELF": "$(SELF)",
        "HOME_REF": "$(HOME)",
    }
    assert argv[-4:] == ["--prediction-log", "/srv/logs/fraud", "--log-flush-seconds", "0.5"]


def test_a_flag_the_deployer_sets_is_refused_when_a_variable_spells_it(tmp_path: Path) -> None:
    with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:
        with pytest.raises(ConfigError, match="sets --port, which the LocalDeployer sets"):
            dep.apply("blue", "fraud", "1", spec(env={"F": "--port"}, args=["$(F)", "9000"]))
        assert dep._pids == []


def test_the_slot_server_gets_the_expanded_env_and_args(dep: LocalDeployer, tmp_path: Path) -> None:
    root = tmp_path / "logs"
    env = {"LOG_ROOT": str(root), "LOG_DIR": "$(LOG_ROOT)/fraud", "KEPT": "$$$$(LOG_ROOT)"}
    dep.apply("blue", "fraud", "1", spec(env=env, args=["--prediction-log", "$(LOG_DIR)"]))
    assert dep.wait_ready("blue", 60)
    pid = dep.pids()["blue"]
    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = f.read().split(b"\0")
    assert f"LOG_DIR={root}/fraud".encode() in environ
    assert b"KEPT=$(LOG_ROOT)" in environ
    at = cmdline.index(b"--prediction-log")
    assert cmdline[at + 1] == f"{root}/fraud".encode()
