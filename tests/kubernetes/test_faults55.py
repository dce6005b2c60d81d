"""Stop 55: a slot being deleted (a finalizer holds it), and abort messages that say why.

A Deployment with a ``deletionTimestamp`` is only counted by the deployment controller
(``syncStatusOnly``: no new ReplicaSet, nothing scaled), so a version applied there never
rolls out, and the slot goes, pods and all, once its last finalizer does: the adapter
refuses to write into it and reports it not ready, and the fake's controller does what the
real one does. An abort whose state could not be read, or whose slots all vanished, names
the last error and the next step; a 429 storm's error says the API server is throttling.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from _kube_helpers import NS, fast_retry

from modelship.deploy import (
    BlueGreen,
    DeployError,
    DeploymentSpec,
    GatePolicy,
    InMemoryHistory,
    KubernetesDeployer,
    RolloutAborted,
)
from modelship.deploy.kubernetes import KubernetesError
from modelship.testing.fake_kube import FakeKube, Fault

HOLD = "example.com/hold"
_API = {
    "deployments": f"/apis/apps/v1/namespaces/{NS}/deployments",
    "services": f"/api/v1/namespaces/{NS}/services",
}


def _http(kube: FakeKube, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        kube.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def _hold_and_delete(kube: FakeKube, plural: str, name: str) -> None:
    """Delete ``name`` as ``kubectl delete`` does while a finalizer holds it: it gets a
    ``deletionTimestamp`` and stays."""
    path = f"{_API[plural]}/{name}"
    _http(kube, "PATCH", path, {"metadata": {"finalizers": [HOLD]}})
    _http(kube, "DELETE", path)
    assert kube.get(plural, NS, name)["metadata"].get("deletionTimestamp")


def _release(kube: FakeKube, plural: str, name: str) -> None:
    _http(kube, "PATCH", f"{_API[plural]}/{name}", {"metadata": {"finalizers": None}})


def _blue_green(dep: KubernetesDeployer, spec: DeploymentSpec, hist: InMemoryHistory) -> BlueGreen:
    return BlueGreen(
        dep,
        spec,
        history=hist,
        alias=None,
        progress_deadline=10.0,
        undo_window=600.0,
        policy=GatePolicy(interval=0.01, deadline=1),
    )


def _version(kube: FakeKube, name: str) -> str | None:
    found = kube.get("deployments", NS, name)
    return None if found is None else found["metadata"]["labels"].get("modelship.io/version")


@pytest.fixture
def two_versions(
    kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer], spec: DeploymentSpec
) -> tuple[KubernetesDeployer, InMemoryHistory]:
    """Version 1 deployed into blue, then 2 into green: green serves, blue is idle."""
    dep = make_deployer()
    hist = InMemoryHistory()
    _blue_green(dep, spec, hist).deploy("fraud", "1")
    _blue_green(dep, spec, hist).deploy("fraud", "2")
    return dep, hist


# --- the fake's controller: syncStatusOnly -----------------------------------------------


def test_the_fake_rolls_out_nothing_in_a_deployment_being_deleted(
    kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer], spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    _hold_and_delete(kube, "deployments", "fraud-blue")
    # A client that does not check (kubectl) changes the pod template meanwhile.
    path = f"{_API['deployments']}/fraud-blue"
    template = {"metadata": {"labels": {"modelship.io/version": "9"}}}
    changed = _http(kube, "PATCH", path, {"spec": {"template": template}})
    time.sleep(0.3)  # many controller ticks
    sets = [
        rs
        for rs in kube.list("replicasets", NS)
        if any(
            o.get("uid") == changed["metadata"]["uid"] for o in rs["metadata"]["ownerReferences"]
        )
    ]
    assert len(sets) == 1, "a new ReplicaSet was made for a Deployment being deleted"
    status = kube.get("deployments", NS, "fraud-blue")["status"]
    # The status is still counted: the spec change observed, none of the pods updated.
    assert status.get("observedGeneration") == changed["metadata"]["generation"]
    assert not status.get("updatedReplicas")
    assert status.get("readyReplicas") == 2
    _release(kube, "deployments", "fraud-blue")


# --- the adapter: refuse, and report not ready -------------------------------------------


def test_a_rollout_into_a_slot_deployment_being_deleted_is_refused_and_says_what_to_do(
    kube: FakeKube,
    two_versions: tuple[KubernetesDeployer, InMemoryHistory],
    spec: DeploymentSpec,
) -> None:
    dep, hist = two_versions
    _hold_and_delete(kube, "deployments", "fraud-blue")
    with pytest.raises(DeployError) as caught:
        dep.apply("blue", "fraud", "3", spec)
    assert type(caught.value).__name__ == "SlotBeingDeleted"
    text = str(caught.value)
    for said in ("fraud-blue", "being deleted", HOLD, "remove the finalizer", "deploy again"):
        assert said in text, text
    # Through a strategy: the rollout aborts, green keeps serving 2, blue is untouched.
    with pytest.raises(RolloutAborted) as aborted:
        _blue_green(dep, spec, hist).deploy("fraud", "3")
    assert "SlotBeingDeleted" in str(aborted.value)
    assert _version(kube, "fraud-blue") == "1"
    assert kube.get("services", NS, "fraud")["spec"]["selector"]["modelship.io/slot"] == "green"
    assert kube.ready_pods(NS, "fraud") == 2
    # The dry run is refused alike, before anything is sent.
    with pytest.raises(DeployError, match="being deleted"):
        dep.server_dry_run("fraud", "3", spec, slot="blue")
    _release(kube, "deployments", "fraud-blue")


def test_a_rollout_into_a_slot_whose_service_is_being_deleted_is_refused(
    kube: FakeKube,
    two_versions: tuple[KubernetesDeployer, InMemoryHistory],
    spec: DeploymentSpec,
) -> None:
    dep, _ = two_versions
    _hold_and_delete(kube, "services", "fraud-blue")
    with pytest.raises(DeployError, match=r"Service fraud-blue is being deleted") as caught:
        dep.apply("blue", "fraud", "3", spec)
    assert type(caught.value).__name__ == "SlotBeingDeleted"
    assert _version(kube, "fraud-blue") == "1"
    _release(kube, "services", "fraud-blue")


def test_a_slot_being_deleted_is_not_ready_in_state_and_health(
    kube: FakeKube,
    two_versions: tuple[KubernetesDeployer, InMemoryHistory],
) -> None:
    dep, _ = two_versions
    before = {s.slot: s.ready for s in dep.state().slots}
    assert before == {"blue": True, "green": True}
    _hold_and_delete(kube, "deployments", "fraud-blue")
    after = {s.slot: s.ready for s in dep.state().slots}
    assert after == {"blue": False, "green": True}
    health = dep.health("blue")
    assert not health.healthy
    assert "being deleted" in health.detail
    assert HOLD in health.detail
    assert dep.health("green").healthy
    _release(kube, "deployments", "fraud-blue")


def test_a_wait_for_a_slot_deleted_meanwhile_fails_at_once_saying_so(
    kube: FakeKube,
    make_deployer: Callable[..., KubernetesDeployer],
    spec: DeploymentSpec,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    _hold_and_delete(kube, "deployments", "fraud-blue")
    start = time.monotonic()
    with caplog.at_level("WARNING", logger="modelship.deploy.kubernetes"):
        assert not dep.wait_ready("blue", 30)
    assert time.monotonic() - start < 5
    assert "being deleted" in caplog.text
    assert "remove the finalizer" in caplog.text
    _release(kube, "deployments", "fraud-blue")


# --- abort summaries ----------------------------------------------------------------------


class _TornDown(KubernetesDeployer):
    """Every object of the namespace goes (as when it is deleted) just before the new
    slot's health check, and writes are refused from then on."""

    kube: FakeKube

    def health(self, slot: str) -> Any:
        if slot == "green" and not getattr(self, "_torn", False):
            self._torn = True
            with self.kube.store.lock:
                self.kube.inject(Fault(method="PATCH|POST|PUT", status=403, times=None))
                for plural, ns, name in list(self.kube.store.objects):
                    if ns == NS:
                        self.kube.store.delete(plural, ns, name)
        return super().health(slot)


class _Outage(KubernetesDeployer):
    """The API server stops answering when the traffic is to move."""

    kube: FakeKube

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        self.kube.inject(Fault(kind="drop", times=None))
        super().set_traffic(weights)


def _deploy_2_with(
    kube: FakeKube, cls: type[KubernetesDeployer], spec: DeploymentSpec, **extra: Any
) -> RolloutAborted:
    options: dict[str, Any] = {
        "server": kube.url,
        "image": "ai-model:1",
        "registry_url": "s3://models",
        "app": "fraud",
        "request_timeout": 2.0,
        **extra,
    }
    with cls(NS, retry=fast_retry(), **options) as dep:
        setattr(dep, "kube", kube)  # noqa: B010 - the subclasses declare it
        hist = InMemoryHistory()
        with KubernetesDeployer(NS, retry=fast_retry(), **options) as first:
            _blue_green(first, spec, hist).deploy("fraud", "1")
        with pytest.raises(RolloutAborted) as caught:
            _blue_green(dep, spec, hist).deploy("fraud", "2")
    kube.faults.clear()
    return caught.value


def test_an_abort_after_every_slot_vanished_says_so_and_names_the_last_error(
    kube: FakeKube, spec: DeploymentSpec
) -> None:
    text = str(_deploy_2_with(kube, _TornDown, spec))
    assert "holds no version" not in text
    assert "no slot of fraud is left in KubernetesDeployer(namespace='models'" in text, text
    assert "(were they deleted, or their namespace?)" in text
    assert "last error: SlotNotFound: " in text
    assert "deploy status" not in text  # it reads no deployer: it cannot confirm
    assert "confirm with its state() (deployer.state()" in text
    assert "kubectl get deployments,services -n <namespace> -l app.kubernetes.io/instance=" in text
    assert "deploy again" in text


def test_an_abort_whose_state_could_not_be_read_names_the_cause_and_the_next_step(
    kube: FakeKube, spec: DeploymentSpec
) -> None:
    text = str(_deploy_2_with(kube, _Outage, spec))
    assert "the deployer's state could not be read to tell what serves" in text
    assert "(last error: KubernetesError: GET " in text
    assert "no answer from the API server" in text
    assert "deploy status" not in text, text
    assert "once KubernetesDeployer(namespace='models'" in text, text
    assert "look at the slots with its state()" in text, text
    assert "then deploy again or roll back" in text, text


# --- a 429 storm ---------------------------------------------------------------------------


def test_a_429_storm_says_the_api_server_throttles_and_what_to_do(
    kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer]
) -> None:
    dep = make_deployer()
    kube.inject(Fault(status=429, times=40, watch=False))
    with pytest.raises(KubernetesError) as caught:
        dep.state()
    kube.faults.clear()
    text = str(caught.value)
    assert "gave up after 4 attempts" in text
    assert "the API server is throttling requests" in text
    assert "try again later" in text
    assert "KubernetesDeployer(retry=Retry(attempts=" in text
    assert "now attempts=4" in text
    assert caught.value.status == 429
    assert caught.value.retryable


# --- stop 55, second round ---------------------------------------------------------------


def _recreate(dep: KubernetesDeployer, spec: DeploymentSpec, hist: InMemoryHistory) -> Any:
    from modelship.deploy import Recreate

    return Recreate(
        dep,
        spec,
        history=hist,
        alias=None,
        progress_deadline=5.0,
        policy=GatePolicy(interval=0.01, deadline=1),
    )


def test_recreate_refuses_a_serving_slot_being_deleted_before_stopping_it(
    kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer], spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    hist = InMemoryHistory()
    _recreate(dep, spec, hist).deploy("fraud", "1")
    _hold_and_delete(kube, "deployments", "fraud-blue")
    with pytest.raises(RolloutAborted) as caught:
        _recreate(dep, spec, hist).deploy("fraud", "2")
    text = str(caught.value)
    assert "blue cannot take 2, so 1 was not stopped" in text, text
    assert "SlotBeingDeleted" in text
    # Nothing stopped: the Service still selects blue, whose pods still serve 1.
    kinds = [event.kind.value for event in caught.value.rollout.history]
    assert "traffic" not in kinds
    assert "scaled_down" not in kinds
    assert kube.get("services", NS, "fraud")["spec"]["selector"]["modelship.io/slot"] == "blue"
    assert kube.ready_pods(NS, "fraud") == 2
    assert _version(kube, "fraud-blue") == "1"
    # Traffic still goes to a slot reported not ready: named, not "nothing serving".
    assert "nothing was serving before" not in text
    assert "blue holds 1, not ready, with 100% of the traffic" in text
    _release(kube, "deployments", "fraud-blue")


def test_the_hook_refuses_only_a_slot_being_deleted(
    kube: FakeKube,
    two_versions: tuple[KubernetesDeployer, InMemoryHistory],
) -> None:
    dep, _ = two_versions
    dep.check_not_being_deleted("blue")  # idle, not being deleted: fine
    dep.check_not_being_deleted("green")  # serving is no reason to refuse here
    _hold_and_delete(kube, "services", "fraud-green")
    with pytest.raises(DeployError, match="Service fraud-green is being deleted") as caught:
        dep.check_not_being_deleted("green")
    assert type(caught.value).__name__ == "SlotBeingDeleted"
    _release(kube, "services", "fraud-green")


def test_traffic_is_not_written_into_an_app_service_being_deleted(
    kube: FakeKube,
    two_versions: tuple[KubernetesDeployer, InMemoryHistory],
    spec: DeploymentSpec,
) -> None:
    dep, hist = two_versions
    _hold_and_delete(kube, "services", "fraud")
    with pytest.raises(DeployError) as caught:
        dep.set_traffic({"blue": 100})
    assert type(caught.value).__name__ == "SlotBeingDeleted"
    text = str(caught.value)
    for said in ("Service fraud is being deleted", HOLD, "traffic was not moved", "kubectl get"):
        assert said in text, text
    assert kube.get("services", NS, "fraud")["spec"]["selector"]["modelship.io/slot"] == "green"
    # A rollout does not "succeed" onto a Service about to go; its abort says why.
    with pytest.raises(RolloutAborted) as aborted:
        _blue_green(dep, spec, hist).deploy("fraud", "3")
    assert "switching traffic to blue failed: set_traffic(" in str(aborted.value)
    assert "SlotBeingDeleted" in str(aborted.value)
    _release(kube, "services", "fraud")


def test_a_429_on_a_health_check_gives_the_attempts_it_used_and_may_be_the_pod(
    kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer], spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    _blue_green(dep, spec, InMemoryHistory()).deploy("fraud", "1")
    kube.inject(Fault("GET", "proxy/health", status=429, retry_after="0", times=None))
    detail = dep.health("blue").detail
    kube.faults.clear()
    assert "gave up after 2 attempts" in detail, detail
    assert "through the services proxy: the pod's server, or the API server" in detail
    assert "at most 2 attempts" in detail
    assert "larger retry budget" not in detail
    assert "now attempts=" not in detail
