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

Second look:

* A refused spec's message is that of its args checked as written (each ``$(NAME)``
  unexpanded), or names the arg whose value is refused; it never searches the server's
  words for a value (a value printed escaped was shown; a short one garbled the words).
* Servers start when modelship is imported from a zip, or from ``.pyc`` files alone: the
  launcher is given its text, not a file that is not there.
* The launcher hands the server the environment it was given (``-I`` implied ``-E``,
  which ignored ``PYTHONCOERCECLOCALE=0`` and added ``LC_CTYPE`` under a C locale).
* Every answer the router makes itself (``413``, ``400``, ``501``, ``431``) is a head only
  to a ``HEAD``.
"""

from __future__ import annotations

import asyncio
import compileall
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
import zipfile
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


def _refusal(tmp_path: Path, env: dict[str, str], args: list[str]) -> str:
    doc = {"containers": [{"name": "m", "image": "m:1", "env": env, "args": args}]}
    spec = DeploymentSpec.from_dict({"deployment": doc})
    dep = LocalDeployer(ms.open_registry(str(tmp_path)))
    with dep, pytest.raises(ConfigError) as caught:
        dep.apply("blue", "m", "1", spec)
    return str(caught.value)


@pytest.mark.parametrize("value", ["Sup3r\\S3cret", "Sup3r\tS3cret", "Sup3r\nS3cret", "Sup3r\x01"])
def test_a_refused_spec_never_shows_a_value_the_server_would_print_escaped(
    tmp_path: Path, value: str
) -> None:
    message = _refusal(tmp_path, {"PW": value}, ["--log-batch-rows", "$(PW)"])
    assert "Sup3r" not in message, message
    assert "invalid int value: '$(PW)'" in message


@pytest.mark.parametrize(
    ("env", "args", "refusal"),
    [
        ({"N": "0"}, ["--workers", "$(N)", "--bogus"], "--workers $(N) --bogus"),
        ({"A": "a"}, ["--log-option=x=$(A)", "--bogus"], "--bogus"),
    ],
)
def test_a_refused_spec_with_a_short_variable_keeps_its_words(
    tmp_path: Path, env: dict[str, str], args: list[str], refusal: str
) -> None:
    message = _refusal(tmp_path, env, args)
    written = repr(["--graceful-seconds", "30.0", *args])  # the deployer's own first
    assert message.startswith(f"deployment.containers[0].args {written} would stop the server")
    assert message.endswith(
        f"modelship serve says unrecognized arguments: {refusal}; see `modelship serve --help`"
    )


def test_a_spec_refused_for_a_variables_value_names_the_arg_not_the_value(
    tmp_path: Path,
) -> None:
    # As written ('$(K)=v') the option has a key; expanded ('=Sup3r\\=v') it has none.
    message = _refusal(tmp_path, {"K": "=Sup3r\\"}, ["--log-option", "$(K)=v"])
    assert message.startswith(
        "deployment.containers[0].args[1] '$(K)=v' (the value of --log-option) would stop "
        "the server once $(K) is expanded in it"
    ), message
    assert "Sup3r" not in message


def test_a_body_limit_a_variable_gives_is_not_shown(tmp_path: Path) -> None:
    message = _refusal(tmp_path, {"MB": "987654321"}, ["--max-body-bytes", "$(MB)"])
    assert "over the" in message
    assert "987654321" not in message, message


def _run_from(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A server process started by modelship imported from ``path`` alone."""
    script = (
        "import sys, modelship\n"
        f"assert modelship.__file__.startswith({str(path)!r}), modelship.__file__\n"
        "from modelship.deploy.local._process import ServerProcess\n"
        "proc = ServerProcess.start([sys.executable, '-c', 'print(\"started\")'])\n"
        "print(proc.popen.wait(60), proc.tail()); proc.stop(grace=0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(path)}
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_servers_start_when_modelship_is_imported_from_a_zip(tmp_path: Path) -> None:
    package = Path(ms.__file__).parent
    archive = tmp_path / "modelship.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in package.rglob("*.py"):
            zipped.write(file, file.relative_to(package.parent))
    done = _run_from(archive, tmp_path)
    assert done.stdout == "0 started\n", done.stderr


def test_servers_start_when_modelship_is_installed_without_sources(tmp_path: Path) -> None:
    shutil.copytree(Path(ms.__file__).parent, tmp_path / "lib" / "modelship")
    assert compileall.compile_dir(tmp_path / "lib", quiet=1, legacy=True)
    for source in (tmp_path / "lib").rglob("*.py"):
        source.unlink()
    done = _run_from(tmp_path / "lib", tmp_path)
    assert done.stdout == "0 started\n", done.stderr


def test_the_server_gets_exactly_the_environment_it_was_given_under_a_c_locale() -> None:
    # A C locale, which Python coerces (PEP 538) unless PYTHONCOERCECLOCALE=0 says not to:
    # the program (a Python told so) sees the environment it was given, nothing added.
    env = {b"LANG": b"C", b"PYTHONCOERCECLOCALE": b"0"}
    program = "import os; print(sorted(os.environ.items()))"
    proc = ServerProcess.start([sys.executable, "-c", program], env=env)
    try:
        assert proc.popen.wait(30) == 0, proc.tail()
        assert proc.tail() == "[('LANG', 'C'), ('PYTHONCOERCECLOCALE', '0')]"
    finally:
        proc.stop(grace=0)


def _answer(router: Router, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):  # bounded: the router closes after its answer
            data += chunk
    return data


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        (b"413", b"Content-Length: 1000\r\n"),
        (b"400", b"Content-Length: abc\r\n"),
        (b"501", b"Transfer-Encoding: gzip, chunked\r\n"),
        (b"431", b"X-Big: " + b"a" * 70_000 + b"\r\n"),
    ],
)
def test_every_refusal_of_the_router_to_a_head_has_no_body(status: bytes, fields: bytes) -> None:
    router = Router(max_body=100)
    try:
        data = _answer(router, b"HEAD / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        get = _answer(router, b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    finally:
        router.close()
    assert data.startswith(b"HTTP/1.1 " + status + b" ")
    assert data.endswith(b"\r\nconnection: close\r\n\r\n"), data  # nothing after the head
    # The head a GET gets but for its own request id (each answer has one, stop 42); its
    # body has the length the HEAD's head announced.
    get_head, _, get_body = get.partition(b"\r\n\r\n")
    assert b"\r\nx-request-id: " in data
    assert _without_id(get_head + b"\r\n\r\n") == _without_id(data)
    assert int(data.split(b"content-length: ")[1].split(b"\r\n")[0]) == len(get_body)


def _without_id(head: bytes) -> bytes:
    """An answer head without its ``x-request-id`` field."""
    lines = head.splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b"x-request-id:"))
