"""The LocalDeployer with real server processes: no failed request, no stray process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy import BlueGreen, InMemoryHistory, RolloutStatus
from modelship.deploy.local import LocalDeployer

pytestmark = pytest.mark.slow

ROW = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode()


def predict(url: str) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/predict", data=ROW, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        doc: dict[str, object] = json.loads(response.read())
    return doc


@pytest.fixture
def dep(served_registry: Path) -> Iterator[LocalDeployer]:  # noqa: F811
    with LocalDeployer(registry=ms.open_registry(str(served_registry))) as d:
        yield d


def blue_green(dep: LocalDeployer) -> BlueGreen:
    return BlueGreen(dep, history=InMemoryHistory(), alias=None)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Traffic:
    """Clients sending requests through the router until stopped; every outcome kept."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.versions: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                doc = predict(self.url)
                self.versions.append((time.monotonic(), str(doc["version"])))
            except (OSError, urllib.error.HTTPError) as exc:
                self.failures.append(repr(exc))

    def wait_for(self, version: str, count: int = 1, timeout: float = 30) -> None:
        """Block until ``count`` answers from ``version`` arrive after this call."""
        start = len(self.versions)
        deadline = time.monotonic() + timeout
        while sum(v == version for _, v in self.versions[start:]) < count:
            assert time.monotonic() < deadline, f"no {count} answers from version {version}"
            assert not self.failures, self.failures
            time.sleep(0.01)

    def __enter__(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


def test_blue_green_switch_and_rollback_under_traffic_fail_no_request(
    dep: LocalDeployer,
) -> None:
    blue_green(dep).deploy("fraud", "1")
    with Traffic(dep.endpoint) as traffic:
        traffic.wait_for("1", count=8)
        rollout = blue_green(dep).deploy("fraud", "2")
        traffic.wait_for("2", count=8)
        rollout.rollback()
        traffic.wait_for("1", count=8)
    assert traffic.failures == []
    seen = [v for _, v in traffic.versions]
    assert {"1", "2"} <= set(seen)
    assert seen[-1] == "1"


def test_the_router_splits_requests_by_weight(dep: LocalDeployer) -> None:
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version)
        assert dep.wait_ready(slot, 60)
    dep.set_traffic({"blue": 80, "green": 20})
    counts = Counter(str(predict(dep.endpoint)["version"]) for _ in range(100))
    assert counts == {"1": 80, "2": 20}


def test_each_slot_server_labels_its_metrics_with_its_slot(dep: LocalDeployer) -> None:
    dep.apply("green", "fraud", "2")
    assert dep.wait_ready("green", 60)
    with urllib.request.urlopen(dep.slot_url("green") + "/metrics", timeout=30) as response:
        text = response.read().decode()
    assert 'modelship_ready{model="fraud",slot="green",version="2"} 1.0' in text


def test_the_router_answers_503_when_no_slot_receives_traffic(dep: LocalDeployer) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        predict(dep.endpoint)
    assert info.value.code == 503
    assert "no slot receives traffic" in info.value.read().decode()


def test_a_killed_slot_process_is_unhealthy_and_not_ready(dep: LocalDeployer) -> None:
    blue_green(dep).deploy("fraud", "1")
    pid = dep.pids()["blue"]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not dep.state().slots[0].ready:
            break
        time.sleep(0.05)
    assert not dep.state().slots[0].ready
    health = dep.health("blue")
    assert not health.healthy
    assert "exited" in health.detail
    assert '"event": "listening"' in health.detail  # the server's own last words


def test_a_version_that_cannot_serve_leaves_the_serving_slot_untouched(
    served_registry: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(
        model_name="fraud", model=ms.open_registry(str(served_registry)).load("fraud", "1")
    )
    reg.register(model_name="fraud", model=b"not a model", serializer="bytes")
    with LocalDeployer(registry=reg) as dep:
        blue_green(dep).deploy("fraud", "1")
        with pytest.raises(ms.deploy.RolloutAborted, match="did not become ready") as info:
            blue_green(dep).deploy("fraud", "2")  # its server exits: bytes cannot predict
        # Its server exited within a second or two: the abort says so and says why (its
        # last words), not that the 600 s deadline ran out.
        assert "the wait ended after" in str(info.value)
        assert "exited with" in str(info.value)
        assert "cannot serve a bytes" in str(info.value)
        assert predict(dep.endpoint)["version"] == "1"
        assert [s.version for s in dep.state().slots] == ["1"]


def test_close_stops_every_server(served_registry: Path) -> None:  # noqa: F811
    with LocalDeployer(registry=ms.open_registry(str(served_registry))) as dep:
        blue_green(dep).deploy("fraud", "1")
        blue_green(dep).deploy("fraud", "2")
        pids = list(dep.pids().values())
        assert all(alive(p) for p in pids)
    assert not any(alive(p) for p in pids)


PARENT = textwrap.dedent(
    """
    import sys, time
    import modelship as ms
    from modelship.deploy import BlueGreen, InMemoryHistory
    from modelship.deploy.local import LocalDeployer

    dep = LocalDeployer(registry=ms.open_registry(sys.argv[1]))
    BlueGreen(dep, history=InMemoryHistory(), alias=None).deploy("fraud", "1")
    BlueGreen(dep, history=InMemoryHistory(), alias=None).deploy("fraud", "2")
    print(" ".join(str(p) for p in dep.pids().values()), flush=True)
    time.sleep(600)
    """
)


def test_servers_die_when_their_parent_is_killed(
    served_registry: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """And leave nothing behind: their output went to files that have no name."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TMPDIR": str(tmp)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(served_registry)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        assert all(alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        for _ in range(200):  # the kernel's signal is prompt; bound the wait at 10 s
            if not any(alive(p) for p in pids):
                break
            time.sleep(0.05)
        assert not any(alive(p) for p in pids)
        assert sorted(os.listdir(tmp)) == []
    finally:
        parent.kill()
        parent.wait(30)


def test_the_rollout_is_recorded_with_the_registry(dep: LocalDeployer) -> None:
    rollout = BlueGreen(dep, alias=None).deploy("fraud", "1")
    assert dep.registry is not None
    stored = ms.deploy.RegistryHistory(dep.registry).records("fraud")
    assert rollout.record() in stored
    assert rollout.status is RolloutStatus.SUCCEEDED


def test_a_server_started_while_the_deployer_closes_is_stopped(
    served_registry: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # close() could not see a server still starting: it was added to the slots after
    # close() returned, and nothing ever stopped it.
    from modelship.deploy.local import _deployer

    dep = LocalDeployer(registry=ms.open_registry(str(served_registry)))
    started: list[int] = []
    real_start = _deployer.ServerProcess.start

    def start_while_closing(argv: list[str]) -> object:
        closer = threading.Thread(target=dep.close)
        closer.start()
        # Once close() has marked the deployer closed, it goes on to wait for this start.
        deadline = time.monotonic() + 30
        while not dep._closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dep._closed, "close() did not begin within 30 s"
        proc = real_start(argv)
        started.append(proc.pid)
        return proc

    monkeypatch.setattr(_deployer.ServerProcess, "start", staticmethod(start_while_closing))
    with pytest.raises(ms.deploy.DeployError, match="closed"):
        dep.apply("blue", "fraud", "1")
    deadline = time.monotonic() + 30
    while alive(started[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(started[0])


def test_a_deployer_dropped_without_close_closes_its_router(
    served_registry: Path,  # noqa: F811
) -> None:
    import gc
    import socket

    dep = LocalDeployer(registry=ms.open_registry(str(served_registry)))
    port = int(dep.endpoint.rsplit(":", 1)[1])
    del dep
    gc.collect()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
