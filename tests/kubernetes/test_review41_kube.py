"""Review 41 of the Kubernetes adapter: a canary's first step on a Service gets its share,
not all its pods; a route its Gateway does not accept is no traffic switch; a Lease renewed
in year 9999 is held, not an overflow; dry_run() refuses a deployer of another kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS, fast_retry

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer, RolloutInProgress
from modelship.deploy.kubernetes import KubernetesError, dry_run
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer
from modelship.testing.fake_kube import FakeKube, Fault
from modelship.testing.fake_kube._store import match_labels

Make = Callable[..., KubernetesDeployer]
ATTEMPTS = 4  # fast_retry()'s


def start(
    dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec | None = None
) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


@pytest.fixture
def four() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=4
    )


def _ready_behind(kube: FakeKube, service: str) -> dict[str, int]:
    """Ready pods the Service selects, by version (read under the store's lock)."""
    svc = kube.store.objects.get(("services", NS, service))
    selector = (svc or {}).get("spec", {}).get("selector") or {}
    counts: dict[str, int] = {}
    for obj in list(kube.store.objects.values()):
        if obj["kind"] != "Pod" or not selector:
            continue
        if not match_labels(obj["metadata"].get("labels", {}), selector):
            continue
        conditions = (obj.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            version = obj["metadata"]["labels"]["modelship.io/version"]
            counts[version] = counts.get(version, 0) + 1
    return counts


# --- 1. the first canary step on traffic="service" ------------------------------------------


def test_first_canary_step_on_a_service_never_sends_the_canary_more_than_its_share(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", four)
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", four)
    shares: list[float] = []

    def sample() -> None:
        counts = _ready_behind(kube, "fraud")
        if counts.get("2"):
            shares.append(counts["2"] / sum(counts.values()))

    kube.store.on_write.append(sample)
    dep.set_traffic({"blue": 90, "green": 10})
    kube.store.on_write.remove(sample)
    assert shares, "the canary never took traffic"
    assert max(shares) <= 0.10 + 1e-9  # 9 pods of version 1 to 1 of version 2, never 9 to 4
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 90, "green": 10}


def test_a_canary_slot_without_traffic_is_scaled_to_its_split_before_the_selector_moves(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", four)
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", four)
    before = len(kube.writes())
    dep.set_traffic({"blue": 90, "green": 10})
    writes = [
        (r.path.rsplit("/", 1)[-1], (r.body.get("spec") or {}).get("replicas"))
        for r in kube.writes()[before:]
        if r.method == "PATCH"
    ]
    assert writes == [("fraud-green", 1), ("fraud-blue", 9), ("fraud", None)]


def test_a_slot_losing_traffic_still_shrinks_only_after_the_selector_moved(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", four)
    start(dep, "green", "2", four)
    dep.set_traffic({"blue": 50, "green": 50})  # both at 4: the selector selects both
    before = len(kube.writes())
    dep.set_traffic({"blue": 10, "green": 90})
    writes = [
        (r.path.rsplit("/", 1)[-1], (r.body.get("spec") or {}).get("replicas"))
        for r in kube.writes()[before:]
        if r.method == "PATCH"
    ]
    # blue serves: it shrinks after the Service's write (the weights annotation changed)
    assert writes == [("fraud-green", 9), ("fraud", None), ("fraud-blue", 1)]


def test_a_canary_slot_shrunk_for_a_switch_that_failed_is_scaled_back(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    start(dep, "blue", "1", four)
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", four)
    kube.inject(Fault("PATCH", "/deployments/fraud-blue$", status=500, times=ATTEMPTS))
    with pytest.raises(KubernetesError):
        dep.set_traffic({"blue": 90, "green": 10})
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["spec"]["replicas"] == 4
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100, "green": 0}


# --- 2. a route the Gateway does not accept ---------------------------------------------------


def _route_deployer(make_deployer: Make, **kwargs: Any) -> KubernetesDeployer:
    return make_deployer(traffic="httproute", gateway="public", gateway_namespace="infra", **kwargs)


def test_fake_gateway_controller_accepts_each_generation_of_a_route(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _route_deployer(make_deployer)
    start(dep, "blue", "1")
    start(dep, "green", "2")
    for weights in ({"blue": 100}, {"blue": 80, "green": 20}):
        dep.set_traffic(weights)
        route = kube.get("httproutes", NS, "fraud")
        assert route is not None
        [parent] = route["status"]["parents"]
        assert parent["parentRef"] == {"name": "public", "namespace": "infra"}
        assert parent["controllerName"]
        conditions = {c["type"]: c for c in parent["conditions"]}
        for kind in ("Accepted", "ResolvedRefs"):
            assert conditions[kind]["status"] == "True"
            assert conditions[kind]["observedGeneration"] == route["metadata"]["generation"]
    assert route["metadata"]["generation"] == 2


def test_fake_gateway_controller_reports_a_missing_backend_service(kube: FakeKube) -> None:
    kube.create(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": NS},
            "spec": {
                "parentRefs": [{"name": "public"}],
                "rules": [{"backendRefs": [{"name": "nowhere", "port": 80}]}],
            },
        }
    )
    with kube.store.changed:
        kube.store.changed.wait_for(
            lambda: "status" in kube.store.objects[("httproutes", NS, "r")], timeout=10
        )
    route = kube.get("httproutes", NS, "r")
    assert route is not None
    conditions = {c["type"]: c for c in route["status"]["parents"][0]["conditions"]}
    assert (conditions["ResolvedRefs"]["status"], conditions["ResolvedRefs"]["reason"]) == (
        "False",
        "BackendNotFound",
    )


def test_set_traffic_through_a_route_its_gateway_refuses_raises_naming_the_reason(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.refuse_routes("NotAllowedByListeners", "no listener allows routes from models")
    dep = _route_deployer(make_deployer)
    start(dep, "blue", "1")
    with pytest.raises(KubernetesError) as caught:
        dep.set_traffic({"blue": 100})
    message = str(caught.value)
    assert "Accepted=False" in message
    assert "NotAllowedByListeners" in message
    assert "no listener allows routes from models" in message
    assert "infra/public" in message
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0}


def test_state_reports_no_traffic_on_a_route_its_gateway_refuses(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _route_deployer(make_deployer)
    start(dep, "blue", "1")
    dep.set_traffic({"blue": 100})
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100}
    kube.controller.gateway_answers = False  # the test writes the controller's status
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    refused = {
        "type": "Accepted",
        "status": "False",
        "reason": "NotAllowedByListeners",
        "message": "no listener allows routes from models",
        "observedGeneration": route["metadata"]["generation"],
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    parent = {"parentRef": {"name": "public", "namespace": "infra"}, "controllerName": "x.io/gw"}
    kube.store.write_status(
        "httproutes", NS, "fraud", {"parents": [{**parent, "conditions": [refused]}]}
    )
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0}


def test_set_traffic_waits_for_the_gateway_to_accept_the_routes_new_generation(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _route_deployer(make_deployer, traffic_timeout=0.3)
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic({"blue": 100})  # accepted, at generation 1
    kube.controller.gateway_answers = False  # the controller stops answering
    with pytest.raises(KubernetesError) as caught:
        dep.set_traffic({"green": 100})  # generation 2: Accepted=True of generation 1 is stale
    message = str(caught.value)
    assert "did not accept it within traffic_timeout" in message
    assert "generation 1" in message
    assert "generation 2" in message


def test_set_traffic_through_a_route_passes_once_the_gateway_accepts_it(
    kube: FakeKube, make_deployer: Make
) -> None:
    kube.silence_gateway()
    dep = _route_deployer(make_deployer, traffic_timeout=0.3)
    start(dep, "blue", "1")
    with pytest.raises(KubernetesError, match="no status from the controller of Gateway"):
        dep.set_traffic({"blue": 100})
    kube.accept_routes()
    dep.set_traffic({"blue": 100})
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100}


# --- 3. a Lease renewed in year 9999 ----------------------------------------------------------


def test_a_lease_renewed_in_year_9999_by_another_refuses_naming_the_holder(
    kube: FakeKube, make_deployer: Make
) -> None:
    far = "9999-12-31T23:59:59.000000Z"
    kube.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "fraud-rollout", "namespace": NS},
            "spec": {
                "holderIdentity": "some-other-tool",
                "leaseDurationSeconds": 60,
                "renewTime": far,
                "acquireTime": far,
            },
        }
    )
    dep = make_deployer(retry=fast_retry())
    with pytest.raises(RolloutInProgress) as caught, dep.rollout_lock("deploy of fraud 3"):
        pass
    message = str(caught.value)
    assert "some-other-tool" in message
    assert "never expires" in message
    assert far in message


# --- 4. dry_run() with a deployer of another kind ---------------------------------------------


@pytest.mark.parametrize(
    ("deployer", "named"), [(InMemoryDeployer(), "InMemoryDeployer"), ("x", "str")]
)
def test_dry_run_with_a_deployer_that_is_not_a_kubernetes_deployer_raises_config_error(
    deployer: Any, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        dry_run("fraud", "1", deployer=deployer)
    assert "KubernetesDeployer" in str(caught.value)
    assert f"got {named}" in str(caught.value)
