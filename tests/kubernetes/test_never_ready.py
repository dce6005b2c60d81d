"""Pods that will never turn Ready: a wait names why (the pod, the container, the
kubelet's waiting reason and message) and fails at once on what will not fix itself (an
image reference that does not parse, an image that may never be pulled, a crash loop
past a few restarts, a pull failing for a minute), waiting on the rest (a missing
ConfigMap may still be created); a rollout that fails so rolls back as one that timed
out does. The fake's kubelet writes ``containerStatuses`` as a real one does."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _kube_helpers import FAST, NS, fast_retry

from modelship.deploy import (
    BlueGreen,
    Container,
    DeploymentSpec,
    GatePolicy,
    InMemoryHistory,
    KubernetesDeployer,
    RolloutAborted,
)
from modelship.deploy.kubernetes import KubernetesError, _deployer, _ready
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]
LOG = "modelship.deploy.kubernetes"


@pytest.fixture(autouse=True)
def _quick_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rollout's pods are read again every 5 s (their state changes nothing a watch of
    # the Deployment sees); 1 s (a watch's least) keeps these tests short.
    monkeypatch.setattr(_deployer, "_POD_RECHECK", 1.0, raising=False)


def _spec(image: str, replicas: int = 2) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image=image, port=8080)], replicas=replicas
    )


def _said(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == LOG)


@pytest.mark.parametrize(
    ("image", "reason", "advice"),
    [
        ("ai-model:fail-invalid", "InvalidImageName", "correct the image in the spec"),
        ("ai-model:fail-never-pull", "ErrImageNeverPull", "imagePullPolicy is Never"),
        ("ai-model:fail-crash", "CrashLoopBackOff", "kubectl logs fraud-blue-"),
    ],
)
def test_a_pod_that_will_not_start_fails_the_wait_at_once_saying_why(
    make_deployer: Make,
    caplog: pytest.LogCaptureFixture,
    image: str,
    reason: str,
    advice: str,
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", _spec(image))
    caplog.set_level(logging.INFO, LOG)
    started = time.monotonic()
    assert dep.wait_ready("blue", 60) is False
    assert time.monotonic() - started < 20  # not the 60 s timeout
    said = _said(caplog)
    assert re.search(
        rf"Deployment fraud-blue will not become ready: pod fraud-blue-[0-9a-f]+-\w+, "
        rf"container model-server: {reason}: ",
        said,
    ), said
    assert advice in said
    if reason == "CrashLoopBackOff":  # past the bound, with how it last ended
        restarts = int(re.search(r"restarts: (\d+)", said)[1])  # type: ignore[index]
        assert restarts >= _ready.CRASH_LOOP_RESTARTS
        assert "last ended: Error, exit code 1" in said


def test_an_image_pull_failing_is_named_then_fails_the_wait_after_its_grace(
    make_deployer: Make, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", _spec("ai-model:fail-pull"))
    caplog.set_level(logging.INFO, LOG)
    # within its grace (60 s): named, and waited on to the deadline
    started = time.monotonic()
    assert dep.wait_ready("blue", 2) is False
    assert time.monotonic() - started >= 2
    said = _said(caplog)
    assert re.search(r"not ready in time: .*\(pod fraud-blue-\S+, container model-server: "
                     r"(ErrImagePull|ImagePullBackOff): ", said), said  # fmt: skip
    assert "will not become ready" not in said
    caplog.clear()
    monkeypatch.setattr(_ready, "PULL_FAILURE_SECONDS", 1.5, raising=False)
    started = time.monotonic()
    assert dep.wait_ready("blue", 60) is False
    waited = time.monotonic() - started
    assert 1.5 <= waited < 20, waited
    said = _said(caplog)
    assert re.search(r"will not become ready: pod \S+, container model-server: "
                     r"(ErrImagePull|ImagePullBackOff): ", said), said  # fmt: skip
    assert "imagePullSecrets" in said
    assert 'docker.io/library/ai-model:fail-pull"' in said  # the kubelet's message


def test_a_missing_config_map_is_named_and_waited_on_until_it_exists(
    make_deployer: Make, kube: FakeKube, caplog: pytest.LogCaptureFixture
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", _spec("ai-model:fail-config"))
    caplog.set_level(logging.INFO, LOG)
    started = time.monotonic()
    assert dep.wait_ready("blue", 2) is False
    assert time.monotonic() - started >= 2  # waited out: it may still be created
    said = _said(caplog)
    expected = 'container model-server: CreateContainerConfigError: configmap "model-config"'
    assert f"{expected} not found" in said, said
    assert "will not become ready" not in said
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "model-config", "namespace": NS},
        "data": {"threshold": "0.5"},
    }
    timer = threading.Timer(1.0, kube.create, (config,))
    timer.start()
    try:
        assert dep.wait_ready("blue", 30) is True
    finally:
        timer.cancel()


def _strategy(dep: KubernetesDeployer, spec: DeploymentSpec, deadline: float) -> BlueGreen:
    return BlueGreen(
        dep,
        spec,
        history=InMemoryHistory(),
        alias=None,
        progress_deadline=deadline,
        undo_window=600.0,
        policy=GatePolicy(interval=0.01, deadline=1),
    )


@pytest.fixture
def other_kube() -> Iterator[FakeKube]:
    with FakeKube(timings=FAST) as fake:
        yield fake


def _deployer_of(kube: FakeKube) -> KubernetesDeployer:
    return KubernetesDeployer(
        NS,
        server=kube.url,
        image="ai-model:1",
        registry_url="s3://models",
        app="fraud",
        retry=fast_retry(),
        request_timeout=2.0,
    )


def _left(kube: FakeKube, dep: KubernetesDeployer) -> dict[str, Any]:
    """What a rollout left: each slot's version, traffic and replica counts, the Service."""
    state = dep.state()
    return {
        "slots": sorted((s.slot, s.version, s.weight) for s in state.slots),
        "replicas": sorted(
            (d["metadata"]["name"], d["spec"]["replicas"]) for d in kube.list("deployments", NS)
        ),
        "selector": kube.get("services", NS, "fraud")["spec"]["selector"],  # type: ignore[index]
    }


def test_a_version_that_crash_loops_rolls_back_early_as_one_that_timed_out(
    make_deployer: Make, kube: FakeKube, other_kube: FakeKube, spec: DeploymentSpec
) -> None:
    # the same rollout, the new version never Ready: on one fake it times out (3 s), on
    # the other it crash-loops (and the deadline is 120 s)
    timed = _deployer_of(other_kube)
    try:
        _strategy(timed, spec, 3.0).deploy("fraud", "1")
        other_kube.never_ready({"modelship.io/version": "2"})
        with pytest.raises(RolloutAborted):
            _strategy(timed, spec, 3.0).deploy("fraud", "2")
        after_timeout = _left(other_kube, timed)
    finally:
        timed.close()
    dep = make_deployer()
    _strategy(dep, spec, 120.0).deploy("fraud", "1")
    kube.watch_serving(NS, "fraud")
    crashing = _spec("ai-model:fail-crash", spec.replicas)
    started = time.monotonic()
    with pytest.raises(RolloutAborted) as caught:
        _strategy(dep, crashing, 120.0).deploy("fraud", "2")
    assert time.monotonic() - started < 60  # not the progress deadline
    assert _left(kube, dep) == after_timeout
    samples = [n for ns, svc, n in kube.serving_samples if (ns, svc) == (NS, "fraud")]
    assert min(samples) > 0  # version 1 served throughout
    history = " | ".join(e.message for e in caught.value.rollout.history)
    assert "CrashLoopBackOff" in history, history  # the health check names why
    assert "kubectl logs" in history


def test_pods_the_deployer_may_not_read_leave_the_wait_as_it_was(
    make_deployer: Make, kube: FakeKube, caplog: pytest.LogCaptureFixture
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", _spec("ai-model:fail-invalid"))
    kube.inject(Fault("GET", "/replicasets$", status=403, times=None))
    caplog.set_level(logging.INFO, LOG)
    started = time.monotonic()
    assert dep.wait_ready("blue", 2) is False
    assert time.monotonic() - started >= 2  # no pod was read: waited out, as before
    said = _said(caplog)
    assert said.count("grant the deployer get and list on pods and replicasets") == 1
    assert "InvalidImageName" not in said
    reads = [r for r in kube.requests if "/replicasets" in r.path]
    assert len(reads) == 1  # refused once: not asked again


def test_a_wait_whose_reads_all_failed_names_the_answer_not_a_read_cut_off() -> None:
    seen = _deployer._Seen()
    seen.failure = KubernetesError("GET /apis/apps/v1/namespaces/models/deployments: 503", 503)
    last = seen.last()
    assert last is not None
    assert not last.done
    assert not last.failed
    assert last.message.endswith("did not answer in time: GET /apis/apps/v1/namespaces/"
                                 "models/deployments: 503")  # fmt: skip


def test_the_fakes_kubelet_writes_container_statuses_as_a_real_one(kube: FakeKube) -> None:
    dep = KubernetesDeployer(
        NS, server=kube.url, image="ai-model:1", registry_url="s3://models", app="fraud",
        retry=fast_retry(),
    )  # fmt: skip
    try:
        dep.apply("blue", "fraud", "1", _spec("ai-model:fail-crash", 1))
        dep.apply("green", "fraud", "1", _spec("ai-model:fail-pull", 1))
        time.sleep(0.5)
        slot_of = {p["metadata"]["labels"]["modelship.io/slot"]: p for p in kube.list("pods", NS)}
        crash, pull = slot_of["blue"], slot_of["green"]
    finally:
        dep.close()
    assert crash["status"]["phase"] == "Running"
    (cs,) = crash["status"]["containerStatuses"]
    assert cs["name"] == "model-server"
    assert cs["ready"] is False
    assert cs["restartCount"] >= 2
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert pull["status"]["phase"] == "Pending"
    (cs,) = pull["status"]["containerStatuses"]
    assert cs["restartCount"] == 0
    assert cs["imageID"] == ""
    assert cs["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")


def test_the_fake_cuts_a_list_at_its_limit(kube: FakeKube) -> None:
    import json
    import urllib.request

    for n in range(3):
        kube.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"c{n}", "namespace": NS}})  # fmt: skip
    url = f"{kube.url}/api/v1/namespaces/{NS}/configmaps?limit=2"
    with urllib.request.urlopen(url) as answer:
        listed = json.load(answer)
    assert len(listed["items"]) == 2
    assert listed["metadata"]["remainingItemCount"] == 1
    assert listed["metadata"]["continue"]


# --- the diagnostic reads never cost the verdict ----------------------------------------

_HANG = Fault("GET", "/pods$", kind=FaultKind.TIMEOUT, delay=60.0, times=None, watch=False)


def test_a_pods_list_that_hangs_does_not_eat_the_wait(make_deployer: Make, kube: FakeKube) -> None:
    # An API server queueing expensive LISTs: the pods list hangs, the Deployment rolls out.
    dep = make_deployer(request_timeout=30.0)
    kube.slow_ready({"modelship.io/slot": "blue"}, 1.5)
    dep.apply("blue", "fraud", "1", _spec("ai-model:1"))
    time.sleep(0.2)  # the controller made the ReplicaSet
    kube.inject(_HANG)
    started = time.monotonic()
    assert dep.wait_ready("blue", 10) is True
    assert time.monotonic() - started < 6  # the pods read got 2 s, not the 10 s


def test_a_split_is_not_undone_by_a_pods_list_that_hangs(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = make_deployer(traffic_timeout=10.0, request_timeout=30.0)
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, _spec("ai-model:1"))
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 100})
    kube.slow_ready({"modelship.io/slot": "blue"}, 1.0)
    kube.inject(_HANG)
    dep.set_traffic({"blue": 80, "green": 20})
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 80, "green": 20}


def test_health_gives_a_hanging_pods_list_two_seconds(make_deployer: Make, kube: FakeKube) -> None:
    dep = make_deployer(request_timeout=10.0)
    dep.apply("blue", "fraud", "1", _spec("ai-model:fail-crash"))
    time.sleep(0.5)
    kube.inject(_HANG)
    started = time.monotonic()
    health = dep.health("blue")
    assert not health.healthy
    assert time.monotonic() - started < 6  # not the 10 s request timeout


def test_the_deployment_is_read_again_after_slow_pod_reads(
    make_deployer: Make, kube: FakeKube
) -> None:
    # The verdict is never older than the diagnostic reads: after pods that took time to
    # read, the Deployment is listed again before the wait watches (or ends).
    dep = make_deployer()
    kube.slow_ready({"modelship.io/slot": "blue"}, 30.0)
    dep.apply("blue", "fraud", "1", _spec("ai-model:1"))
    time.sleep(0.2)
    kube.inject(Fault("GET", "/pods$", kind=FaultKind.TIMEOUT, delay=0.3, times=None, watch=False))
    assert dep.wait_ready("blue", 2) is False
    paths = [(r.path, "watch" in r.query) for r in kube.requests if r.method == "GET"]
    first = next(i for i, (path, _) in enumerate(paths) if path.endswith("/pods"))
    assert paths[first + 1] == (f"/apis/apps/v1/namespaces/{NS}/deployments", False), paths


@pytest.mark.parametrize(
    "status",
    [
        {"containerStatuses": [{"name": "s", "state": {"waiting": {"reason": ["Crash"]}}}]},
        {"containerStatuses": [{"name": "s", "state": {"waiting": {"reason": {"a": 1}}}}]},
        {"containerStatuses": 5},
        {"initContainerStatuses": True},
        {"conditions": 7},
    ],
)
def test_pod_statuses_of_the_wrong_types_say_nothing(status: dict[str, Any]) -> None:
    pod = {"metadata": {"name": "m-1", "uid": "u1"}, "status": status}
    assert _ready.pod_waits([pod]) == []


_DEP = {"metadata": {"uid": "d1"}, "spec": {"template": {"metadata": {"labels": {"a": "m"}}}}}


@pytest.mark.parametrize(
    ("deployment", "replicaset"),
    [
        (_DEP, {"metadata": {"ownerReferences": 5}}),
        (_DEP, {"metadata": {"ownerReferences": [{"uid": "d1", "controller": True}],
                             "labels": ["pod-template-hash"]},
                "spec": {"template": {"metadata": {"labels": {"a": "m"}}}}}),
        (_DEP, {"metadata": {"ownerReferences": [{"uid": "d1", "controller": True}]},
                "spec": ["template"]}),
        (_DEP, {"metadata": {"ownerReferences": [{"uid": "d1", "controller": True}]},
                "spec": {"template": ["metadata"]}}),
        (_DEP, {"metadata": {"ownerReferences": [{"uid": "d1", "controller": True}]},
                "spec": {"template": {"metadata": 3}}}),
        ({"metadata": [1], "spec": 2}, {"metadata": {"ownerReferences": [{"uid": "d1"}]}}),
    ],
)  # fmt: skip
def test_replicasets_of_the_wrong_shapes_name_no_new_one(
    deployment: dict[str, Any], replicaset: dict[str, Any]
) -> None:
    assert _ready.new_replicaset_hash(deployment, [replicaset]) is None


def test_a_pod_shape_the_parser_misses_leaves_the_wait_as_it_was(
    make_deployer: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(pods: Any) -> Any:
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(_deployer, "pod_waits", broken)
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", _spec("ai-model:fail-crash"))
    assert dep.wait_ready("blue", 2) is False  # waited out, no TypeError
