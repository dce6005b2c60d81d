"""End to end: canaries on the local deployer, judged through a real Prometheus.

Version 1 serves; version 2 is canaried with latency injected into its model and the
policy gate aborts it; a version 3 as fast as version 1 is promoted; a canary that gets no
traffic holds, then aborts at the deadline; a canary whose Prometheus stops answering
counts the errors and aborts at the limit. Prometheus finds the slots through a
file-based service discovery list the test keeps up to date (slots get their ports when
they start), as a real setup's discovery would. A client sends requests through the router
the whole time, and not one of them may fail.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import attrs
import pytest
from monitor_support import Prometheus, run_prometheus_with, wait_for

import modelship as ms
from modelship.deploy import (
    Canary,
    CanaryStep,
    EventKind,
    GatePolicy,
    InMemoryHistory,
    RolloutAborted,
    RolloutStatus,
)
from modelship.deploy.local import LocalDeployer
from modelship.monitor import PrometheusSource, RollbackPolicy

pytestmark = pytest.mark.slow

ROW = json.dumps({"instances": [[0.5, 0.0]]}).encode()
SLOW = 0.25  # seconds the slow version sleeps in predict
THRESHOLD = 0.15  # p95 latency above which the gate fails a canary

MODELS = textwrap.dedent(
    """
    import time

    class Model:
        '''A model whose predict takes ``delay`` seconds: latency injected on purpose.'''

        n_features_in_ = 2  # the server warms up with a row of this width

        def __init__(self, delay):
            self.delay = delay

        def predict(self, x):
            if self.delay:
                time.sleep(self.delay)
            return [float(row[0] > 0) for row in x]
    """
)


# --- Prometheus with file-based discovery ----------------------------------------------------


@attrs.define
class Discovery:
    """The slots' addresses, written where Prometheus's file-based discovery reads them."""

    url: str
    targets: Path
    server: Prometheus
    written: tuple[str, ...] = ()

    def follow(self, dep: LocalDeployer) -> None:
        """Write the slots' addresses when they change (atomically: temp file, rename)."""
        ports = []
        for slot in dep.state().slots:
            port = urlparse(dep.slot_url(slot.slot)).port
            if port is not None:
                ports.append(f"127.0.0.1:{port}")
        found = tuple(sorted(ports))
        if found != self.written:
            tmp = self.targets.with_suffix(".tmp")
            tmp.write_text(json.dumps([{"targets": list(found)}]))
            os.replace(tmp, self.targets)
            self.written = found


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Discovery]:
    targets = tmp_path / "targets.json"
    targets.write_text("[]")
    discovery = f"file_sd_configs:\n      - files: ['{targets}']\n        refresh_interval: 1s"
    with run_prometheus_with(tmp_path, discovery) as running:
        yield Discovery(url=running.url, targets=targets, server=running)


# --- the deployment and its users -------------------------------------------------------------


@pytest.fixture
def dep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDeployer]:
    """Versions 1 (fast), 2 (slow) and 3 (fast) of ``fraud``; version 1 serving."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "e2e_models.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(code))
    # The model servers are other processes: they import the model's class from here too.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(code), *sys.path]))
    import e2e_models

    reg = ms.open_registry(str(tmp_path / "reg"))
    for delay in (0.0, SLOW, 0.0):
        reg.register(model_name="fraud", model=e2e_models.Model(delay))
    with LocalDeployer(registry=reg, drain_timeout=10.0, graceful_seconds=5.0) as d:
        Canary(d, history=InMemoryHistory(), alias=None).deploy("fraud", "1")
        yield d


@attrs.define
class Users:
    """Requests through the router, one after another, until stopped; every answer kept."""

    endpoint: str
    answers: list[tuple[int, str]] = attrs.field(factory=list)
    failures: list[str] = attrs.field(factory=list)
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():  # bounded by stop(), which every test calls
            request = urllib.request.Request(
                self.endpoint + "/predict",
                data=ROW,
                headers={"content-type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = json.loads(response.read())
                    self.answers.append((response.status, str(body["version"])))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)

    def start(self) -> Users:
        self._thread = threading.Thread(target=self._run, name="users", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def versions(self) -> set[str]:
        return {version for _, version in self.answers}


@pytest.fixture
def follow(dep: LocalDeployer, prometheus: Discovery) -> Iterator[Discovery]:
    """Keep Prometheus's target list equal to the deployer's slots while a test runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():  # bounded by the fixture's teardown
            prometheus.follow(dep)
            stop.wait(0.2)

    thread = threading.Thread(target=run, name="discovery", daemon=True)
    thread.start()
    yield prometheus
    stop.set()
    thread.join(timeout=10)


def gate_for(prometheus: Discovery, version: str, *, min_samples: int = 5) -> Any:
    # The slot names come back (a canary aborted from green leaves green free for the next
    # one), so the query also names the version: v2's slow requests in the window must not
    # be counted against v3 in the same slot.
    labels = {"model": "fraud", "version": version}
    source = PrometheusSource(prometheus.url, labels=labels)
    policy = RollbackPolicy(
        conditions=[f"p95(inference_latency_seconds) > {THRESHOLD} min_samples={min_samples}"]
    )
    return ms.monitor.policy_gate(source, policy, window=10.0)


def gate_events(history: Any) -> list[dict[str, Any]]:
    return [e.data for e in history if e.kind is EventKind.GATE]


def test_a_slow_canary_is_aborted_and_an_equally_fast_one_is_promoted_while_no_request_fails(
    dep: LocalDeployer, follow: Discovery
) -> None:
    users = Users(dep.endpoint).start()
    try:
        policy = GatePolicy(interval=1.0, deadline=90.0)
        steps = [CanaryStep(50, pause=4.0)]

        with pytest.raises(RolloutAborted) as aborted:
            Canary(
                dep,
                steps=steps,
                gate=gate_for(follow, "2"),
                policy=policy,
                history=InMemoryHistory(),
                alias=None,
            ).deploy("fraud", "2")
        slow = aborted.value.rollout
        assert slow.status is RolloutStatus.ABORTED
        assert [s.version for s in dep.state().slots if s.weight] == ["1"]
        verdicts = [e["verdict"] for e in gate_events(slow.history)]
        assert verdicts[-1] == "fail", verdicts
        failed = gate_events(slow.history)[-1]["inputs"]["decision"]["conditions"][0]
        assert failed["value"] > THRESHOLD, failed
        served_during_slow = users.versions()
        assert "2" in served_during_slow  # the canary really took traffic before it failed

        fast = Canary(
            dep,
            steps=steps,
            gate=gate_for(follow, "3"),
            policy=policy,
            history=InMemoryHistory(),
            alias=None,
        ).deploy("fraud", "3")
        assert fast.status is RolloutStatus.SUCCEEDED
        assert [e["verdict"] for e in gate_events(fast.history)][-1] == "pass"
        passed = gate_events(fast.history)[-1]["inputs"]["decision"]["conditions"][0]
        assert passed["value"] <= THRESHOLD, passed
        assert passed["n"] >= 5, passed
        wait_for(
            lambda: users.answers and users.answers[-1][1] == "3",
            what="version 3 answering every request",
            limit=30.0,
        )
    finally:
        users.stop()
    assert users.failures == [], users.failures[:5]
    assert {status for status, _ in users.answers} == {200}
    assert users.versions() == {"1", "2", "3"}


def test_a_canary_without_traffic_holds_then_aborts_at_the_deadline(
    dep: LocalDeployer, follow: Discovery
) -> None:
    # No users: the canary's slot never sees a request, so there is nothing to judge.
    gate = gate_for(follow, "3")
    policy = GatePolicy(interval=1.0, deadline=6.0)
    started = time.monotonic()
    with pytest.raises(RolloutAborted) as aborted:
        Canary(
            dep,
            steps=[CanaryStep(50, pause=0.0)],
            gate=gate,
            policy=policy,
            history=InMemoryHistory(),
            alias=None,
        ).deploy("fraud", "3")
    waited = time.monotonic() - started
    rollout = aborted.value.rollout
    events = gate_events(rollout.history)
    assert len(events) >= 3, events  # it held and asked again, more than once
    assert {e["verdict"] for e in events} == {"no_data"}, events
    assert [e["decision"] for e in events[:-1]] == ["hold"] * (len(events) - 1)
    assert events[-1]["decision"] == "abort"
    assert "deadline" in str(aborted.value), str(aborted.value)
    assert waited >= policy.deadline
    assert [s.version for s in dep.state().slots if s.weight] == ["1"]


def test_prometheus_stopped_mid_analysis_counts_errors_and_the_limit_aborts(
    dep: LocalDeployer, follow: Discovery
) -> None:
    users = Users(dep.endpoint).start()
    judge = gate_for(follow, "3")
    calls = 0

    def gate(rollout: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # the canary takes traffic and its analysis starts: the source goes away
            follow.server.stop()
        return judge(rollout)

    policy = GatePolicy(interval=0.5, deadline=120.0, max_consecutive_errors=3)
    try:
        with pytest.raises(RolloutAborted) as aborted:
            Canary(
                dep,
                steps=[CanaryStep(50, pause=0.0)],
                gate=gate,
                policy=policy,
                history=InMemoryHistory(),
                alias=None,
            ).deploy("fraud", "3")
    finally:
        users.stop()
    events = gate_events(aborted.value.rollout.history)
    assert [e["verdict"] for e in events] == ["error"] * 3, events
    assert [e["decision"] for e in events] == ["hold", "hold", "abort"], events
    assert "consecutive" in str(aborted.value), str(aborted.value)
    assert [s.version for s in dep.state().slots if s.weight] == ["1"]
    assert users.failures == [], users.failures[:5]
    assert "1" in users.versions()
