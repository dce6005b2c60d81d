"""``remove(slot)`` deletes only this app's objects, and the object it checked.

It deleted ``<app>-<slot>`` whatever it was: another app's Deployment of that name (made
by hand or by Helm) went with it. Now each object is read, its owner checked, and the
delete sent with the read's ``uid`` and ``resourceVersion`` as preconditions, so an
object replaced between the check and the delete is refused by the API server (409) and
checked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]

PAYMENTS = {"app.kubernetes.io/instance": "payments"}


def spec() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=1
    )


def deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "api", "image": "payments:7"}]},
            },
        },
    }


def test_remove_refuses_another_apps_deployment_of_the_slots_name(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.create(deployment("fraud-blue", PAYMENTS), manager="payments")
    dep = make_deployer()
    with pytest.raises(ConfigError, match=r"Deployment 'fraud-blue'.*belongs to app 'payments'"):
        dep.remove("blue")
    found = kube.get("deployments", NS, "fraud-blue")
    assert found is not None
    assert found["metadata"]["labels"] == PAYMENTS


def test_remove_does_not_delete_an_object_replaced_after_its_check(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec())
    assert kube.get("deployments", NS, "fraud-blue") is not None
    real = dep._client.request
    swapped: list[str] = []

    def request(method: str, path: str, **kwargs: Any) -> Any:
        answer = real(method, path, **kwargs)
        if method == "GET" and path.endswith("/deployments/fraud-blue") and not swapped:
            # Between the owner check and the delete, the slot's Deployment is deleted
            # (by hand) and another app creates one of the same name.
            kube.store.delete("deployments", NS, "fraud-blue")
            kube.create(deployment("fraud-blue", PAYMENTS), manager="payments")
            swapped.append(path)
        return answer

    dep._client.request = request  # type: ignore[method-assign]
    with pytest.raises(ConfigError, match=r"Deployment 'fraud-blue'.*belongs to app 'payments'"):
        dep.remove("blue")
    assert swapped
    found = kube.get("deployments", NS, "fraud-blue")
    assert found is not None
    assert found["metadata"]["labels"] == PAYMENTS


def test_remove_deletes_the_apps_own_objects(kube: FakeKube, make_deployer: Make) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec())
    dep.remove("blue")
    assert kube.get("deployments", NS, "fraud-blue") is None
    assert kube.get("services", NS, "fraud-blue") is None
    deletes = [r for r in kube.requests if r.method == "DELETE"]
    # A status write between a read and its delete makes the delete a 409, read again.
    assert sorted(r.path.rsplit("/", 2)[-2] for r in deletes if r.status == 200) == [
        "deployments",
        "services",
    ]
    assert all(r.status in (200, 409) for r in deletes)
    for r in deletes:
        assert set(r.body["preconditions"]) == {"uid", "resourceVersion"}
        assert r.body["propagationPolicy"] == "Background"
    dep.remove("blue")  # nothing left: nothing to do


def test_the_fake_refuses_a_delete_whose_preconditions_fail(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    kube.create(deployment("fraud-blue", PAYMENTS), manager="payments")
    end = time.monotonic() + 10
    while True:  # the fake's controller writes status until the pod is ready
        found = kube.get("deployments", NS, "fraud-blue")
        assert found is not None
        if (found.get("status") or {}).get("readyReplicas") == 1:
            break
        assert time.monotonic() < end, found.get("status")
        time.sleep(0.01)
    meta = found["metadata"]
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    for wrong in ({"uid": "not-its-uid"}, {"resourceVersion": "1"}):
        with pytest.raises(KubernetesError, match="Precondition failed") as err:
            dep._client.request("DELETE", path, body={"preconditions": wrong})
        assert err.value.status == 409
    assert kube.get("deployments", NS, "fraud-blue") is not None
    preconditions = {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}
    dep._client.request("DELETE", path, body={"preconditions": preconditions})
    assert kube.get("deployments", NS, "fraud-blue") is None


def test_remove_outlasts_a_controller_writing_the_status_between_check_and_delete(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = make_deployer()
    dep.apply("blue", "fraud", "1", spec())
    assert dep.wait_ready("blue", 10)
    real = dep._client.request
    writes: list[int] = []

    def request(method: str, path: str, **kwargs: Any) -> Any:
        answer = real(method, path, **kwargs)
        if method == "GET" and path.endswith("/deployments/fraud-blue") and len(writes) < 4:
            # A status write after each of the first four owner checks: each delete
            # that follows carries a stale resourceVersion and is refused (409).
            found = kube.get("deployments", NS, "fraud-blue")
            assert found is not None
            status = dict(found.get("status") or {})
            status["observedGeneration"] = len(writes) + 100
            kube.store.write_status("deployments", NS, "fraud-blue", status)
            writes.append(1)
        return answer

    dep._client.request = request  # type: ignore[method-assign]
    dep.remove("blue")
    assert len(writes) == 4
    assert kube.get("deployments", NS, "fraud-blue") is None
    assert kube.get("services", NS, "fraud-blue") is None
