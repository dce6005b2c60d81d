"""Review 43: ``deploy apply`` following its alias, signals, the router and dead slots, and
``${NAME:-text}`` in a spec.

* Every version ``apply --spec`` deploys by following the alias runs with its own spec
  (``${VERSION}`` filled in for it, in the file as ``apply`` read it when it started); it
  ran with the first version's (its prediction log folder, its image), and the rollout
  recorded that spec's digest.
* After a rollback made past the undo window, an alias moved back to the version rolled
  back was refused (``rollback()`` of a rollout whose previous version is condemned) and
  the alias moved away again: past the window, ``apply`` deploys the version the alias
  names; within it, a rollback ``rollback()`` refuses is a deploy too.
* A slot whose server died kept no hold on its port: another process could listen there
  and be sent the slot's requests (bodies included), its answers relayed as the model's.
  The router sends nothing to a server that has exited (``502`` saying how it ended),
  even once another socket listens on its port. The port itself is not held (holding it
  made a probe of a dead server hang, and ``wait_ready`` notice it late), and a module
  set in ``sys.modules`` without a spec is no error for the serve-extra check.
* A signal between the first rollout's switch and its alias move left the rollout
  aborted, yet ``apply`` exited 0 (its version served all the traffic): the exit code is
  the rollout's status.
* A second Ctrl-C while ``apply`` stopped was ignored: it now cuts the stop short, which
  the deployer's ``close()`` takes as a Ctrl-C.
* ``${NAME:-text}`` in a spec uses ``text`` when ``NAME`` is set but empty, as POSIX
  shells and docker compose do.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from hypothesis import given
from hypothesis import strategies as st
from test_review_stop31_local import (  # noqa: F401 - fixtures and helpers
    Events,
    Store,
    memory_registry,
)

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    DeploymentSpec,
    EventKind,
    RegistryHistory,
    RollbackUnavailable,
    Rollout,
    RolloutRecord,
    _cli,
)
from modelship.deploy._spec import substitute
from modelship.deploy._strategies import spec_digest
from modelship.deploy.local import LocalDeployer, Router
from modelship.deploy.local._process import ServerProcess
from modelship.errors import ConfigError, MissingDependency
from modelship.registry import Registry
from modelship.testing import InMemoryDeployer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the servers are signalled as on Linux"
)

# --- apply on an in-memory deployer ----------------------------------------------------------


class Served:
    """What ``apply`` did on the in-memory deployer it was given: each ``apply(slot,
    model, version, spec)`` call, and ``on_close`` run as its ``close()`` begins."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, DeploymentSpec | None]] = []
        self.on_close: Callable[[], None] = lambda: None
        self.close_cut_short: BaseException | None = None


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """``apply`` deploys to an in-memory deployer instead of processes."""
    seen = Served()

    class Double(InMemoryDeployer):
        endpoint = "http://double.invalid"

        def apply(
            self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
        ) -> None:
            seen.applied.append((str(version), spec))
            super().apply(slot, model, version, spec)

        def close(self) -> None:
            try:
                seen.on_close()
            except BaseException as exc:  # what the deployer's close() would see
                seen.close_cut_short = exc
                raise
            finally:
                super().close()

    def make(registry: Registry) -> InMemoryDeployer:
        return Double(registry)

    monkeypatch.setattr(_cli, "LocalDeployer", make)
    return seen


def run_apply(
    monkeypatch: pytest.MonkeyPatch, url: str, on_event: Callable[[int], None], *options: str
) -> tuple[int, list[str]]:
    """``apply`` of version 1 in this process; ``on_event(n)`` runs at its n-th event (1
    first); the exit code and the versions of its events."""
    out = Events(lambda event: on_event(len(out.events)))
    monkeypatch.setattr(sys, "stdout", out)
    try:
        code = _cli.main(["apply", url, "fraud", "1", "--poll", "0.05", *options])
    finally:
        monkeypatch.undo()
    return code, [str(e["version"]) for e in out.events]


def records(url: str) -> list[RolloutRecord]:
    return RegistryHistory(ms.open_registry(url)).records("fraud")


def stop_apply() -> None:
    """A signal between rollouts: ``apply`` stops serving, exit 0."""
    signal.raise_signal(signal.SIGTERM)


# --- 1: each followed version runs with its own spec -----------------------------------------


def version_spec(tmp_path: Path, *, pause: str = "0s") -> Path:
    path = tmp_path / "deploy.json"
    path.write_text(
        json.dumps(
            {
                "deployment": {
                    "containers": [
                        {
                            "name": "m",
                            "image": "registry.example.com/fraud:${VERSION}",
                            "args": ["--prediction-log", "/var/log/fraud/v${VERSION}"],
                        }
                    ],
                    "strategy": "canary",
                    "canary": {"steps": [{"weight": 50, "pause": pause}]},
                }
            }
        )
    )
    return path


def test_a_version_apply_follows_the_alias_to_runs_with_its_own_spec(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    store = Store(monkeypatch, memory_registry)
    path = version_spec(tmp_path)

    def on_event(n: int) -> None:
        if n == 1:
            store.move("2", expected="1")
        else:
            stop_apply()

    code, versions = run_apply(
        monkeypatch, memory_registry, on_event, "--spec", str(path), "--for", "10"
    )

    assert (code, versions) == (0, ["1", "2"])
    images = [(v, spec.containers[0].image) for v, spec in served.applied if spec is not None]
    assert images == [
        ("1", "registry.example.com/fraud:1"),
        ("2", "registry.example.com/fraud:2"),
    ]
    assert served.applied[-1][1] is not None
    assert served.applied[-1][1].containers[0].args[-1] == "/var/log/fraud/v2"
    # The rollout of 2 records the digest of the spec it ran with.
    applied = [e for e in records(memory_registry)[-1].events if e.kind is EventKind.APPLIED]
    want = spec_digest(DeploymentSpec.from_file(path, variables={"VERSION": "2"}))
    assert [e.data["spec_digest"] for e in applied] == [want]


def test_a_version_redeployed_by_following_the_alias_back_runs_with_its_own_spec(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    store = Store(monkeypatch, memory_registry)
    moves = {1: ("2", "1"), 2: ("1", "2")}

    def on_event(n: int) -> None:
        if n in moves:
            store.move(*moves[n])
        else:
            stop_apply()

    code, versions = run_apply(
        monkeypatch,
        memory_registry,
        on_event,
        *("--spec", str(version_spec(tmp_path)), "--undo-window", "0", "--for", "10"),
    )

    assert (code, versions) == (0, ["1", "2", "1"])
    assert [(v, s.containers[0].args[-1]) for v, s in served.applied if s is not None] == [
        ("1", "/var/log/fraud/v1"),
        ("2", "/var/log/fraud/v2"),
        ("1", "/var/log/fraud/v1"),
    ]


def test_a_followed_version_runs_with_the_spec_file_as_apply_read_it(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Read once: a later edit (or a half-written save, or the file removed) does not
    # change what the running apply deploys.
    store = Store(monkeypatch, memory_registry)
    path = version_spec(tmp_path)

    def on_event(n: int) -> None:
        if n == 1:
            path.write_text("{")
            store.move("2", expected="1")
        else:
            stop_apply()

    code, versions = run_apply(
        monkeypatch, memory_registry, on_event, "--spec", str(path), "--for", "10"
    )

    assert (code, versions) == (0, ["1", "2"])
    assert [(v, s.containers[0].image) for v, s in served.applied if s is not None][-1] == (
        "2",
        "registry.example.com/fraud:2",
    )


def test_a_spec_naming_other_canary_steps_for_a_followed_version_is_not_followed(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # The strategy rolling out is built once, from the first version's spec.
    store = Store(monkeypatch, memory_registry)
    path = version_spec(tmp_path, pause="${VERSION}s")

    def on_event(n: int) -> None:
        store.move("2", expected="1")
        store.on_move = lambda to, expected: stop_apply() if to == "1" else None
        store.armed = True

    code, versions = run_apply(
        monkeypatch, memory_registry, on_event, "--spec", str(path), "--for", "10"
    )

    assert (code, versions) == (0, ["1"])
    assert [v for v, _ in served.applied] == ["1"]
    err = capsys.readouterr().err
    assert "following the alias production to 2 failed: ConfigError" in err
    assert "restart apply to change how it rolls out" in err
    assert store.alias() == "1"  # moved back to the version serving


# --- 2: a move back after a rollback past the undo window ------------------------------------


def test_apply_deploys_the_version_rolled_back_when_the_alias_is_moved_back_to_it(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)
    moves = {1: ("2", "1"), 2: ("1", "2"), 3: ("2", "1")}  # release, roll back, release again

    def on_event(n: int) -> None:
        if n in moves:
            store.move(*moves[n])
        else:
            stop_apply()

    code, versions = run_apply(
        monkeypatch, memory_registry, on_event, "--undo-window", "0", "--for", "10"
    )

    assert (code, versions) == (0, ["1", "2", "1", "2"])
    assert store.alias() == "2"
    assert "RollbackUnavailable" not in capsys.readouterr().err
    assert [(r.version, r.status.value) for r in records(memory_registry)] == [
        ("1", "succeeded"),
        ("2", "succeeded"),
        ("1", "succeeded"),
        ("2", "succeeded"),
    ]


def test_a_rollback_refused_within_the_undo_window_deploys_the_version_the_alias_names(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused(self: Rollout) -> Rollout:
        raise RollbackUnavailable(f"rollout {self.id} cannot be rolled back: refused here")

    monkeypatch.setattr(Rollout, "rollback", refused)
    store = Store(monkeypatch, memory_registry)
    moves = {1: ("2", "1"), 2: ("1", "2")}

    def on_event(n: int) -> None:
        if n in moves:
            store.move(*moves[n])
        else:
            stop_apply()

    code, versions = run_apply(monkeypatch, memory_registry, on_event, "--for", "10")

    assert (code, versions) == (0, ["1", "2", "1"])
    assert store.alias() == "1"
    err = capsys.readouterr().err
    assert "refused here; deploying fraud 1, which the alias production names" in err


# --- 4: the exit code of a rollout a signal cut short ----------------------------------------


def test_a_signal_before_the_first_rollouts_alias_move_exits_1(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Traffic is switched to 1 (nothing served before: it stays there), then the signal
    # comes as the alias is about to move: the rollout is aborted, the alias not moved.
    store = Store(monkeypatch, memory_registry)
    store.on_move = lambda to, expected: signal.raise_signal(signal.SIGINT)
    store.armed = True

    code, versions = run_apply(monkeypatch, memory_registry, lambda n: None, "--for", "10")

    assert (code, versions) == (1, [])
    assert [(r.version, r.status.value) for r in records(memory_registry)] == [("1", "aborted")]
    assert store.alias() is None
    err = capsys.readouterr().err
    assert "SIGINT cut the rollout of fraud 1 short: it was aborted (1 was serving)" in err


def test_a_signal_after_a_followed_rollout_succeeded_still_exits_0(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(monkeypatch, memory_registry)
    save = RegistryHistory.save

    def saving(self: RegistryHistory, record: RolloutRecord) -> None:
        save(self, record)
        if record.version == "2" and record.events[-1].kind is EventKind.SUCCEEDED:
            signal.raise_signal(signal.SIGINT)  # as the rollout of 2 ends

    monkeypatch.setattr(RegistryHistory, "save", saving)
    code, versions = run_apply(
        monkeypatch,
        memory_registry,
        lambda n: store.move("2", expected="1"),
        "--for",
        "10",
    )

    assert (code, versions) == (0, ["1"])
    assert "SIGINT came as the rollout of fraud 2 ended: it serves" in capsys.readouterr().err
    assert records(memory_registry)[-1].status.value == "succeeded"


# --- 5: a signal while apply stops -----------------------------------------------------------


def test_a_second_signal_while_apply_stops_cuts_the_stop_short(
    memory_registry: str,  # noqa: F811
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served.on_close = lambda: signal.raise_signal(signal.SIGINT)  # Ctrl-C, again

    code, versions = run_apply(monkeypatch, memory_registry, lambda n: stop_apply(), "--for", "10")

    # close() was cut short there, as the LocalDeployer's close() is by a Ctrl-C: it then
    # kills every server at once.
    assert isinstance(served.close_cut_short, KeyboardInterrupt)
    assert (code, versions) == (0, ["1"])  # the stop between rollouts decided the code
    err = capsys.readouterr().err
    assert "SIGINT while stopping: every server was killed at once" in err
    assert "Traceback" not in err


# --- 3: a dead slot's port, and requests to it -----------------------------------------------


def bind(port: int) -> socket.socket:
    return socket.create_server(("127.0.0.1", port))


def post(port: int) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=b'{"instances": [[0.5, 0, 0, 0]]}',
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_exited(proc: ServerProcess) -> None:
    for _ in range(400):  # bounded: 20 s for a SIGKILLed process to exit
        if not proc.alive():
            return
        time.sleep(0.05)
    pytest.fail(f"process {proc.pid} did not exit after SIGKILL")


def sleeper() -> ServerProcess:
    return ServerProcess.start([sys.executable, "-c", "import time; time.sleep(60)"])


def test_the_port_of_a_server_that_died_refuses_connections_at_once() -> None:
    proc = sleeper()
    try:
        os.kill(proc.pid, signal.SIGKILL)
        wait_exited(proc)

        with pytest.raises(ConnectionRefusedError):  # not accepted, to hang unanswered
            socket.create_connection(("127.0.0.1", proc.port), timeout=30).close()
        assert proc.get("/health", timeout=30) is None
    finally:
        proc.stop(grace=0)


def test_starting_and_stopping_servers_leaves_no_descriptor_open() -> None:
    sleeper().stop(grace=0)  # whatever is opened once (the launcher's text, ...)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(10):
        sleeper().stop(grace=0)
    assert len(os.listdir("/proc/self/fd")) == before


def test_applying_and_removing_slots_leaves_no_descriptor_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = ServerProcess.start

    def sleeping(argv: list[str], **kw: Any) -> ServerProcess:
        return start([sys.executable, "-c", "import time; time.sleep(60)"], **kw)

    monkeypatch.setattr(ServerProcess, "start", staticmethod(sleeping))
    with LocalDeployer(registry=ms.open_registry(str(tmp_path))) as dep:

        def cycle() -> None:
            dep.apply("blue", "fraud", "1")
            dep.apply("green", "fraud", "1")
            dep.apply("blue", "fraud", "2")  # a restart: the old server stops first
            dep.set_traffic({"blue": 100})
            dep.set_traffic({"green": 100})
            dep.remove("blue")
            dep.set_traffic({})
            dep.remove("green")

        cycle()
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(5):
            cycle()
        assert len(os.listdir("/proc/self/fd")) == before
        assert dep._pids == []


def test_a_request_to_a_backend_whose_server_exited_is_answered_502_and_sent_nowhere() -> None:
    stranger = bind(0)  # what now listens on the port; it must get nothing
    stranger.setblocking(False)
    router = Router()
    try:
        router.set_backends({"blue": (stranger.getsockname()[1], 100, lambda: -9)})

        status, answer = post(router.port)

        assert status == 502
        assert answer["error"] == (
            "slot blue failed: its server was killed by SIGKILL; the request was not sent to it"
        )
        with pytest.raises(BlockingIOError):
            stranger.accept()  # no connection was made
    finally:
        router.close()
        stranger.close()


def test_a_slot_whose_server_died_sends_nothing_to_what_binds_its_port_then(
    served_registry: Path,  # noqa: F811
) -> None:
    with LocalDeployer(
        registry=ms.open_registry(str(served_registry)), server_args=["--no-warmup"]
    ) as dep:
        BlueGreen(dep, undo_window=0).deploy("fraud", "1")
        proc = dep._slots["blue"].proc
        os.kill(proc.pid, signal.SIGKILL)  # the OOM killer, a segfault
        wait_exited(proc)
        stranger = bind(proc.port)  # another local process takes the freed port
        stranger.setblocking(False)
        try:
            status, answer = post(int(dep.endpoint.rsplit(":", 1)[1]))

            assert status == 502
            assert answer["error"] == (
                "slot blue failed: its server was killed by SIGKILL; the request was not sent to it"
            )
            with pytest.raises(BlockingIOError):
                stranger.accept()  # no connection was made
        finally:
            stranger.close()


def test_a_serve_module_set_in_sys_modules_without_a_spec_counts_as_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "orjson", types.ModuleType("orjson"))  # a test's stub

    LocalDeployer(registry=ms.open_registry(str(tmp_path))).close()


def test_a_serve_module_that_cannot_be_found_is_a_missing_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)  # what an uninstalled module looks like

    with pytest.raises(MissingDependency, match=r"'serve' extra \(orjson missing\)"):
        LocalDeployer(registry=ms.open_registry(str(tmp_path)))


# --- 6: ${NAME:-text} with NAME set but empty ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("m:${TAG:-latest}", {"TAG": ""}, "m:latest"),  # set but empty: the default
        ("m:${TAG:-latest}", {}, "m:latest"),  # unset: the default
        ("m:${TAG:-latest}", {"TAG": "3"}, "m:3"),
        ("m:${TAG:-}", {"TAG": ""}, "m:"),  # an empty default is a default too
        ("m${TAG}", {"TAG": ""}, "m"),  # no default: empty stays empty
    ],
)
def test_a_default_stands_in_for_a_variable_unset_or_empty(
    text: str, variables: dict[str, str], expected: str
) -> None:
    assert substitute({"v": text}, variables.get) == {"v": expected}


@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    default=st.text(st.characters(blacklist_characters="}$"), max_size=20),
    value=st.text(st.characters(blacklist_characters="}$"), max_size=20),
)
def test_a_default_is_used_exactly_when_the_value_is_unset_or_empty(
    name: str, default: str, value: str
) -> None:
    reference = f"<${{{name}:-{default}}}>"
    assert substitute([reference], {}.get) == [f"<{default}>"]
    assert substitute([reference], {name: value}.get) == [f"<{value or default}>"]
    assert substitute([f"<${{{name}}}>"], {name: value}.get) == [f"<{value}>"]


def test_a_variable_set_but_empty_with_a_default_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSHIP_TEST_TAG", "")  # as CI sets an input nobody filled
    spec = DeploymentSpec.from_dict(
        {"deployment": {"containers": [{"name": "m", "image": "m:${MODELSHIP_TEST_TAG:-1}"}]}}
    )
    assert spec.containers[0].image == "m:1"


def test_an_unset_variable_without_a_default_is_still_refused() -> None:
    with pytest.raises(ConfigError, match=r"\$\{TAG\} is not set"):
        substitute({"image": "m:${TAG}"}, {}.get)
