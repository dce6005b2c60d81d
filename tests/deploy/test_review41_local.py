"""Review 41: the LocalDeployer, its router and its rollouts.

* Servers load the registry the deployer was given, wherever the process is when it
  applies: a registry opened on a relative path is not read again from the new current
  folder after a ``chdir``.
* Servers run, and new ones start, while another thread still uses the deployer once
  the main thread has ended (no exit hook ends the thread their parent-death signal is
  tied to).
* The router's own ``502`` and ``503`` answer a ``HEAD`` with a head only: a body
  would be read as the next answer on the connection.
* A refused spec's args are shown as written: a ``$(NAME)`` expanded in them (which may
  be a secret) is shown as ``$(NAME)``, in what the server says of them too.
* Closing the router while clients connect reports nothing: a connection's task
  cancelled before its first step is no error.
* Rolling back a rollout that changed nothing says so, not that it was the first
  deployment.
* The launcher a server starts through imports nothing of modelship (NumPy, ...) before
  it becomes the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from pathlib import Path

import pytest
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy import BlueGreen, DeploymentSpec, RollbackUnavailable
from modelship.deploy.local import LocalDeployer, Router
from modelship.deploy.local._process import ServerProcess
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the servers are signalled as on Linux"
)

ROW = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode()


def predict(url: str) -> object:
    request = urllib.request.Request(
        url + "/predict", data=ROW, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["predictions"]


@pytest.mark.parametrize("spelling", ["models", "file://models"])
def test_servers_load_the_registry_opened_on_a_relative_path_after_a_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    for project, flip in (("a", False), ("b", True)):  # same model name, other answers
        (tmp_path / project).mkdir()
        ms.open_registry(str(tmp_path / project / "models")).register(
            model_name="m", model=Threshold(flip)
        )
    monkeypatch.chdir(tmp_path / "a")
    registry = ms.open_registry(spelling)
    with importable_by_servers(), LocalDeployer(registry, server_args=["--no-warmup"]) as dep:
        monkeypatch.chdir(tmp_path / "b")  # a notebook's %cd to another project
        dep.apply("blue", "m", "1")
        assert dep.wait_ready("blue", 60)
        dep.set_traffic({"blue": 100})
        assert predict(dep.endpoint) == [True]  # project a's model; b's answers [False]


# What the interpreter does when the main thread ends, before it waits for the other
# threads: it runs the hooks of threading._register_atexit, newest first (a thread pool's
# joins its threads). The script's own hook, registered before the deployer is made, runs
# after them: from then on, the servers must still run and start.
_MAIN_ENDS = """
import sys, threading
import modelship as ms
from modelship.deploy import BlueGreen, DeploymentSpec, RollbackUnavailable
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer
from modelship.deploy.local import LocalDeployer, Router
from modelship.deploy.local._process import ServerProcess

hooks_ran = threading.Event()
threading._register_atexit(hooks_ran.set)
dep = LocalDeployer(ms.open_registry(sys.argv[1]), server_args=["--no-warmup"])
dep.apply("blue", "m", "1")

def worker():
    try:
        assert hooks_ran.wait(60), "the main thread never ended"
        print("blue ready:", dep.wait_ready("blue", 60))
        dep.apply("green", "m", "1")
        print("green ready:", dep.wait_ready("green", 60))
        print("blue healthy:", dep.health("blue").healthy)  # seconds after the hooks
    except BaseException as exc:
        print("raised:", type(exc).__name__, exc)
    finally:
        dep.close()

threading.Thread(target=worker).start()
"""


def test_servers_run_and_start_after_the_main_thread_ends_while_a_thread_deploys(
    tmp_path: Path,
) -> None:
    ms.open_registry(str(tmp_path / "models")).register(model_name="m", model=Threshold(False))
    with importable_by_servers():
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_MAIN_ENDS), str(tmp_path / "models")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.stdout.splitlines() == [
        "blue ready: True",
        "green ready: True",
        "blue healthy: True",
    ], done.stderr


def _free_port() -> int:
    """A port nothing listens on (a slot whose server is gone)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("status", [b"503", b"502"])
def test_the_routers_own_answer_to_a_head_has_no_body(status: bytes) -> None:
    router = Router()
    try:
        # 503: no slot receives traffic; 502: the slot's server is gone.
        router.set_backends({} if status == b"503" else {"blue": (_free_port(), 100)})
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(
                b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            data = b""
            while chunk := sock.recv(65536):  # bounded: the router closes after the GET
                data += chunk
    finally:
        router.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status)
    got = next(line for line in head.split(b"\r\n") if line.startswith(b"content-length:"))
    # The second answer follows the HEAD's head at once; the GET's body has the length
    # the HEAD's head announced.
    assert rest.startswith(b"HTTP/1.1 " + status), rest[:80]
    get_head, _, get_body = rest.partition(b"\r\n\r\n")
    assert got in get_head.split(b"\r\n")
    assert int(got.split(b":")[1]) == len(get_body)


def test_the_routers_shutting_down_answer_to_a_head_has_no_body() -> None:
    router = Router()
    try:
        router.stop_routing()
        with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
            sock.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):  # bounded: the router closes after it
                data += chunk
    finally:
        router.close()
    assert data.startswith(b"HTTP/1.1 503 ")
    assert data.endswith(b"\r\nconnection: close\r\n\r\n"), data  # nothing after the head


SECRET = "Sup3rS3cretPw"


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--log-option", "password=$(PW)", "--log-batch-rows", "0"], "log_batch_rows"),
        (["--log-option=password=$(PW)", "--bogus"], "unrecognized arguments: --bogus"),
        (["--log-option", "password=$(PW)", "--port=$(PW)"], "'--port=$(PW)' sets --port"),
        (["--log-batch-rows", "$(PW)"], "invalid int value: '$(PW)'"),
        (["--$(PW)"], "unrecognized arguments: --$(PW)"),
    ],
)
def test_a_refused_spec_never_shows_the_value_of_a_variable_its_args_use(
    tmp_path: Path, args: list[str], refusal: str
) -> None:
    doc = {"containers": [{"name": "m", "image": "m:1", "env": {"PW": SECRET}, "args": args}]}
    spec = DeploymentSpec.from_dict({"deployment": doc})
    registry = ms.open_registry(str(tmp_path))
    with LocalDeployer(registry) as dep, pytest.raises(ConfigError) as caught:
        dep.apply("blue", "m", "1", spec)
    message = str(caught.value)
    assert refusal in message
    assert "Sup3r" not in message, message


def test_closing_the_router_while_clients_connect_reports_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = Router()
    # The router's loop is held while clients connect and its shutdown is queued: their
    # tasks start on the same turn of the loop as the shutdown, which cancels them before
    # their first step.
    held, release = threading.Event(), threading.Event()
    router._loop.call_soon_threadsafe(lambda: (held.set(), release.wait(30)))
    assert held.wait(30)
    clients = [socket.create_connection(("127.0.0.1", router.port), timeout=10) for _ in range(8)]
    try:
        for client in clients:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            shutdown = asyncio.run_coroutine_threadsafe(router._shutdown(), router._loop)
            release.set()
            shutdown.result(30)
            router.close()
    finally:
        release.set()
        for client in clients:
            client.close()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_rolling_back_a_rollout_that_changed_nothing_says_so() -> None:
    deployer = InMemoryDeployer()
    BlueGreen(deployer).deploy("fraud", "1")
    BlueGreen(deployer).deploy("fraud", "2")
    again = BlueGreen(deployer).deploy("fraud", "2")  # a CI job run again
    with pytest.raises(RollbackUnavailable) as caught:
        again.rollback()
    assert "changed nothing" in str(caught.value)
    assert "first deployment" not in str(caught.value)
    assert "Roll back the rollout that deployed 2" in str(caught.value)


def test_rolling_back_a_first_deployment_still_says_it_was_the_first() -> None:
    first = BlueGreen(InMemoryDeployer()).deploy("fraud", "1")
    with pytest.raises(RollbackUnavailable, match="was the first deployment of fraud"):
        first.rollback()


def test_the_server_launcher_imports_nothing_of_modelship(tmp_path: Path) -> None:
    # A modelship first on the path that stops whoever imports it: the launcher still
    # becomes the program it was given, which is handed that environment unchanged.
    (tmp_path / "modelship").mkdir()
    (tmp_path / "modelship" / "__init__.py").write_text(
        "raise SystemExit('the launcher imported modelship')\n"
    )
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**os.environb, b"PYTHONPATH": os.fsencode(path)}
    program = "import os; print('launched with', os.environ['PYTHONPATH'].split(os.pathsep)[0])"
    proc = ServerProcess.start([sys.executable, "-I", "-c", program], env=env)
    try:
        assert proc.popen.wait(30) == 0, proc.tail()
        assert proc.tail() == f"launched with {tmp_path}"
    finally:
        proc.stop(grace=0)
