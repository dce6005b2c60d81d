"""The Kubernetes deployer keeps its documented promises where review 37 found it did not.

* With ``traffic="httproute"``, ``set_traffic`` refuses a slot still rolling out, as it
  does with ``traffic="service"``: its Service's EndpointSlices, written by a controller
  that lags, may still list the replaced version's ready pods.
* ``remove`` checks the slot's Deployment and Service are this app's before deleting
  either: another app's Service of the slot's name left our Deployment deleted.
* ``set_traffic`` refuses another app's client Service before it scales any slot.
* ``wait_ready`` returns False (at its deadline) when the API server asks to be asked
  again only after it, rather than raising long before it.
* A slot that is not text (``remove``) and a kubeconfig or context that is not a path or a
  name are ``ConfigError``, not ``TypeError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]

PAYMENTS = {"app.kubernetes.io/instance": "payments"}


def _ready(dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 30)


def _foreign_service(name: str) -> dict[str, Any]:
    """A Service of ``name`` that a Helm release named "payments" owns."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "labels": PAYMENTS},
        "spec": {"selector": {"app": "payments"}, "ports": [{"port": 80}]},
    }


def _until(what: str, ok: Callable[[], bool], limit: float = 20.0) -> None:
    """Poll the fake until ``ok()``; fail after ``limit`` seconds (a bound, not a timing)."""
    end = time.monotonic() + limit
    while not ok():
        if time.monotonic() > end:
            pytest.fail(f"the fake controller never got there: {what}")
        time.sleep(0.01)


# --- 1: traffic="httproute" refuses a slot still rolling out ----------------------------


def test_httproute_set_traffic_refuses_a_slot_still_rolling_out_while_its_slices_lag(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's scenario: green serves v1 (weight 0), v2 is applied to it and its pods
    never become ready, and the EndpointSlice controller has not caught up (the slices
    still list v1's ready pods): moving the route to green is refused, the route as it was.
    """
    dep = make_deployer(traffic="httproute", gateway="public", rollout_lease=None)
    for slot in ("blue", "green"):
        _ready(dep, slot, "1", spec)
    dep.set_traffic({"blue": 100, "green": 0})
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    kube.never_ready({"modelship.io/version": "2"})
    monkeypatch.setattr(kube.controller, "_endpoints", lambda svc: None)  # slices lag
    dep.apply("green", "fraud", "2", spec)

    def observed_with_old_replicas() -> bool:
        found = kube.get("deployments", NS, "fraud-green") or {}
        status = found.get("status") or {}
        return status.get("observedGeneration") == found["metadata"]["generation"] and (
            status.get("replicas") or 0
        ) > (status.get("updatedReplicas") or 0)

    _until("green's v2 rollout observed, v1 replicas left", observed_with_old_replicas)
    with pytest.raises(KubernetesError, match=r"fraud-green is still rolling out.*not moved"):
        dep.set_traffic({"blue": 0, "green": 100})
    after = kube.get("httproutes", NS, "fraud")
    assert after is not None
    assert after["spec"] == route["spec"]
    assert after["metadata"]["resourceVersion"] == route["metadata"]["resourceVersion"]


# --- 2: remove checks both objects before deleting either -------------------------------


def test_remove_refuses_another_apps_service_before_deleting_the_deployment(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    dep = make_deployer(rollout_lease=None)
    dep.apply("blue", "fraud", "1", spec)
    kube.store.delete("services", NS, "fraud-blue")
    kube.create(_foreign_service("fraud-blue"), manager="helm")
    before = len(kube.writes())
    with pytest.raises(ConfigError, match=r"Service 'fraud-blue'.*belongs to app 'payments'"):
        dep.remove("blue")
    assert kube.get("deployments", NS, "fraud-blue") is not None
    service = kube.get("services", NS, "fraud-blue")
    assert service is not None
    assert service["metadata"]["labels"] == PAYMENTS
    assert kube.writes()[before:] == []


# --- 3: set_traffic refuses another app's client Service before scaling ---------------


def test_set_traffic_refuses_another_apps_client_service_before_scaling_any_slot(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    dep = make_deployer(rollout_lease=None)
    for slot in ("blue", "green"):
        _ready(dep, slot, "1", spec)
    kube.create(_foreign_service("fraud"), manager="helm")
    before = len(kube.writes())
    with pytest.raises(ConfigError, match=r"Service 'fraud'.*belongs to app 'payments'"):
        dep.set_traffic({"blue": 90, "green": 10})
    assert [(w.method, w.path, w.body) for w in kube.writes()[before:]] == []


# --- 4: wait_ready is not ready at its deadline when the server asks to wait past it ----


def test_wait_ready_returns_false_when_the_server_asks_to_retry_after_its_deadline(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """429 with Retry-After 5 s, a wait of 2 s: the retry would start after the deadline,
    so the slot is not ready by it (False), not an error."""
    dep = make_deployer(rollout_lease=None, retry=Retry(attempts=4, base=0.001, cap=10.0))
    dep.apply("blue", "fraud", "1", spec)
    kube.never_ready({"modelship.io/slot": "blue"})
    kube.inject(
        Fault(
            "GET",
            "/deployments",
            kind=FaultKind.STATUS,
            status=429,
            retry_after="5",
            times=None,
            watch=False,
        )
    )
    assert dep.wait_ready("blue", 2.0) is False


def test_a_request_stopped_by_retry_after_says_the_retry_would_pass_its_deadline(
    make_deployer: Make, kube: FakeKube
) -> None:
    # Imported here: on the code before the fix it does not exist, and only this test fails.
    from modelship.deploy.kubernetes._client import OutOfTime

    dep = make_deployer(rollout_lease=None, retry=Retry(attempts=4, base=0.001, cap=10.0))
    kube.inject(Fault("GET", status=429, retry_after="5", times=None))
    path = f"/api/v1/namespaces/{NS}/configmaps"
    with pytest.raises(OutOfTime) as caught:
        dep._client.request("GET", path, deadline=time.monotonic() + 3.0)
    message = str(caught.value)
    assert "gave up after 1 attempts" in message
    assert "the next retry, 5.00 s from now as the server asked (Retry-After)" in message
    assert "would start after it" in message
    assert caught.value.status == 429
    assert len(kube.requests) == 1


# --- 5: typed errors ----------------------------------------------------------------------


@pytest.mark.parametrize("slot", [["blue"], {"s": 1}, 5])
def test_remove_refuses_a_slot_that_is_not_text(make_deployer: Make, slot: Any) -> None:
    dep = make_deployer(rollout_lease=None)
    with pytest.raises(ConfigError, match=r"slot must be one of \('blue', 'green'\)"):
        dep.remove(slot)


@pytest.mark.parametrize("kubeconfig", [5, ["/tmp/kubeconfig"], b"/tmp/kubeconfig"])
def test_a_kubeconfig_that_is_not_a_path_is_refused_when_the_deployer_is_made(
    kubeconfig: Any,
) -> None:
    with pytest.raises(ConfigError, match=r"kubeconfig must be the path of a kubeconfig file"):
        KubernetesDeployer("models", kubeconfig=kubeconfig, image="m:1", registry_url="s3://m")


@pytest.mark.parametrize("context", [5, ["ci"]])
def test_a_context_that_is_not_a_name_is_refused_when_the_deployer_is_made(
    context: Any,
) -> None:
    with pytest.raises(ConfigError, match=r"context must be the name of a context"):
        KubernetesDeployer("models", context=context, image="m:1", registry_url="s3://m")
