"""Review 41 of the Kubernetes adapter: a canary's first step on a Service gets its share,
not all its pods (its scale-down reaches its endpoints before the selector moves); a route
its Gateway does not accept is no traffic switch, yet still names the slots it serves (no
guard takes them for idle); an acceptance wins over a stale or another controller's
refusal; the fake's Gateway controller keeps other controllers' status entries; a Lease
renewed in year 9999 is held, not an overflow; dry_run() refuses a deployer of another
kind."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _kube_helpers import NS, fast_retry

from modelship.deploy import (
    BlueGreen,
    Container,
    DeploymentSpec,
    InMemoryHistory,
    KubernetesDeployer,
    RolloutInProgress,
    SlotInUse,
)
from modelship.deploy.kubernetes import KubernetesError, dry_run
from modelship.errors import ConfigError, ModelshipError
from modelship.testing import InMemoryDeployer
from modelship.testing.fake_kube import FakeKube, Fault
from modelship.testing.fake_kube._controller import GATEWAY_CONTROLLER
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


def _green_beside_serving_blue(dep: KubernetesDeployer, spec: DeploymentSpec) -> None:
    """Version 1 in blue with all the traffic, version 2 started in green with none."""
    start(dep, "blue", "1", spec)
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", spec)


@contextlib.contextmanager
def _canary_shares(kube: FakeKube) -> Iterator[list[float]]:
    """The share of version 2 among the ready pods behind Service ``fraud`` after each
    write the fake makes inside the block (once version 2 has any)."""
    shares: list[float] = []

    def sample() -> None:
        counts = _ready_behind(kube, "fraud")
        if counts.get("2"):
            shares.append(counts["2"] / sum(counts.values()))

    kube.store.on_write.append(sample)
    try:
        yield shares
    finally:
        kube.store.on_write.remove(sample)


# --- 1. the first canary step on traffic="service" ------------------------------------------


def test_first_canary_step_on_a_service_never_sends_the_canary_more_than_its_share(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    _green_beside_serving_blue(dep, four)
    with _canary_shares(kube) as shares:
        dep.set_traffic({"blue": 90, "green": 10})
    assert shares, "the canary never took traffic"
    assert max(shares) <= 0.10 + 1e-9  # 9 pods of version 1 to 1 of version 2, never 9 to 4
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 90, "green": 10}


def test_a_canary_slot_without_traffic_is_scaled_to_its_split_before_the_selector_moves(
    kube: FakeKube, make_deployer: Make, four: DeploymentSpec
) -> None:
    dep = make_deployer()
    _green_beside_serving_blue(dep, four)
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
    _green_beside_serving_blue(dep, four)
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


def _both_routed(make_deployer: Make, weights: dict[str, int]) -> KubernetesDeployer:
    """A deployer routing through the HTTPRoute, versions 1 in blue and 2 in green
    ready, traffic set to ``weights``."""
    dep = _route_deployer(make_deployer)
    start(dep, "blue", "1")
    start(dep, "green", "2")
    dep.set_traffic(weights)
    return dep


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
    # the route is written: state() reports its weights, so no guard takes blue for idle
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100}


def test_state_reports_the_weights_of_a_route_its_gateway_refuses_as_written(
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
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100}


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


# --- second look: a refused route still names the slots it serves ------------------------------


def _refused(kube: FakeKube) -> None:
    """Refuse routes from now on, and return once the route ``fraud`` says so."""
    kube.refuse_routes()

    def said() -> bool:
        route = kube.store.objects.get(("httproutes", NS, "fraud")) or {}
        return any(
            c.get("type") == "Accepted" and c.get("status") == "False"
            for p in (route.get("status") or {}).get("parents") or []
            for c in p.get("conditions") or []
        )

    with kube.store.changed:
        assert kube.store.changed.wait_for(said, timeout=10)


def _route_backends(kube: FakeKube) -> list[tuple[str, Any]]:
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    return [(b["name"], b.get("weight")) for b in route["spec"]["rules"][0]["backendRefs"]]


def test_a_blue_green_deploy_while_the_gateway_refuses_the_route_leaves_blue_serving_version_1(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = _route_deployer(make_deployer, traffic_timeout=2.0)

    def deploy(version: str) -> Any:
        strategy = BlueGreen(
            dep, spec, history=InMemoryHistory(), alias=None, progress_deadline=5.0
        )
        return strategy.deploy("fraud", version)

    deploy("1")
    assert {s.slot: (s.version, s.weight) for s in dep.state().slots} == {"blue": ("1", 100)}
    _refused(kube)
    with pytest.raises(ModelshipError):
        deploy("2")  # into green (blue is what the route names); the switch is refused
    assert _route_backends(kube) == [("fraud-blue", 100)]
    assert {s.slot: (s.version, s.weight) for s in dep.state().slots}["blue"] == ("1", 100)


def test_apply_into_the_slot_a_refused_route_sends_traffic_to_raises_slot_in_use(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _route_deployer(make_deployer)
    start(dep, "blue", "1")
    dep.set_traffic({"blue": 100})
    _refused(kube)
    with pytest.raises(SlotInUse):
        dep.apply("blue", "fraud", "666")
    assert {s.slot: (s.version, s.weight) for s in dep.state().slots} == {"blue": ("1", 100)}


def test_remove_of_the_canary_a_refused_route_sends_traffic_to_raises_slot_in_use(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _both_routed(make_deployer, {"blue": 90, "green": 10})
    _refused(kube)
    with pytest.raises(SlotInUse):
        dep.remove("green")
    assert _route_backends(kube) == [("fraud-blue", 90), ("fraud-green", 10)]


def test_remove_of_an_idle_slot_while_the_route_is_refused_keeps_the_other_slots_weight(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _both_routed(make_deployer, {"blue": 100})
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    # as an older release left it: green named with weight 0, blue's weight not a percentage
    route["spec"]["rules"][0]["backendRefs"] = [
        {"name": "fraud-blue", "port": 80, "weight": 3},
        {"name": "fraud-green", "port": 80, "weight": 0},
    ]
    kube.store.put(route, manager="kubectl")
    _refused(kube)
    dep.remove("green")
    assert _route_backends(kube) == [("fraud-blue", 3)]
    assert kube.get("deployments", NS, "fraud-green") is None


# --- second look: an acceptance wins over another entry's refusal ------------------------------


def _entry(controller: str, status: str, generation: int) -> dict[str, Any]:
    """A ``status.parents`` entry for Gateway infra/public with one Accepted condition."""
    return {
        "parentRef": {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public",
            "namespace": "infra",
        },
        "controllerName": controller,
        "conditions": [
            {
                "type": "Accepted",
                "status": status,
                "reason": "Accepted" if status == "True" else "NoMatchingListenerHostname",
                "message": "",
                "observedGeneration": generation,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }


def _route_with(*parents: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "fraud", "generation": 2}, "status": {"parents": list(parents)}}


def test_a_route_accepted_by_one_controller_is_accepted_beside_another_controllers_refusal(
    make_deployer: Make,
) -> None:
    dep = _route_deployer(make_deployer)
    route = _route_with(
        _entry("other.example/gw", "False", 2), _entry("ours.example/gw", "True", 2)
    )
    assert dep._route_verdict(route)[0] is True


def test_a_stale_refusal_of_an_older_generation_beside_a_current_acceptance_is_accepted(
    make_deployer: Make,
) -> None:
    dep = _route_deployer(make_deployer)
    route = _route_with(_entry("old.example/gw", "False", 1), _entry("ours.example/gw", "True", 2))
    assert dep._route_verdict(route) == (True, "Accepted=True")


def test_a_route_only_refused_at_its_generation_is_refused(make_deployer: Make) -> None:
    dep = _route_deployer(make_deployer)
    route = _route_with(_entry("ours.example/gw", "True", 1), _entry("x.example/gw", "False", 2))
    verdict, why = dep._route_verdict(route)
    assert verdict is False
    assert "NoMatchingListenerHostname" in why


def test_state_counts_an_accepted_route_beside_a_stale_refusal_and_apply_refuses_its_slot(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _both_routed(make_deployer, {"blue": 100})
    dep.set_traffic({"green": 100})
    kube.controller.gateway_answers = False  # the test writes the controllers' status
    route = kube.get("httproutes", NS, "fraud")
    assert route is not None
    generation = route["metadata"]["generation"]
    parents = [_entry("old.example/gw", "False", 1), _entry(GATEWAY_CONTROLLER, "True", generation)]
    kube.store.write_status("httproutes", NS, "fraud", {"parents": parents})
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 0, "green": 100}
    with pytest.raises(SlotInUse):
        dep.apply("green", "fraud", "666")


# --- second look: the canary's first step waits for its scale-down -----------------------------


def _sized(n: int) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=n
    )


def _hold_replicaset(
    kube: FakeKube, monkeypatch: pytest.MonkeyPatch, prefix: str, release: Callable[[], bool]
) -> None:
    """Hold the fake's ReplicaSet controller for ReplicaSets named ``prefix...`` until
    ``release()`` says so (a busy kube-controller-manager: pods outlive a scale-down)."""
    real = kube.controller._replicaset

    def held(rs: dict[str, Any]) -> None:
        if rs["metadata"]["name"].startswith(prefix) and not release():
            return
        real(rs)

    monkeypatch.setattr(kube.controller, "_replicaset", held)


def _read_slices_after_scaling(kube: FakeKube, name: str, replicas: int) -> bool:
    """Whether the deployer read Service ``name``'s EndpointSlices after scaling Deployment
    ``name`` to ``replicas``."""
    requests = list(kube.requests)
    scaled = [
        i
        for i, r in enumerate(requests)
        if r.method == "PATCH"
        and r.path.endswith(f"/deployments/{name}")
        and ((r.body or {}).get("spec") or {}).get("replicas") == replicas
    ]
    return bool(scaled) and any(
        r.method == "GET"
        and r.path.endswith("/endpointslices")
        and r.query.get("labelSelector") == f"kubernetes.io/service-name={name}"
        for r in requests[scaled[0] + 1 :]
    )


def test_the_first_canary_step_waits_for_the_canarys_scale_down_before_the_selector_moves(
    kube: FakeKube, make_deployer: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployer(traffic_timeout=3.0)
    start(dep, "blue", "1", _sized(9))  # 9 to 1 needs no growth of blue: nothing else waits
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", _sized(4))
    # green's pods stay until the deployer looks at green's endpoints after scaling it down
    _hold_replicaset(
        kube,
        monkeypatch,
        "fraud-green-",
        lambda: _read_slices_after_scaling(kube, "fraud-green", 1),
    )
    with _canary_shares(kube) as shares:
        dep.set_traffic({"blue": 90, "green": 10})
    assert shares, "the canary never took traffic"
    assert max(shares) <= 0.10 + 1e-9  # 1 ready canary pod of 10, never 4 of 13
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 90, "green": 10}


def test_a_canary_whose_scale_down_never_lands_is_scaled_back_and_gets_no_traffic(
    kube: FakeKube, make_deployer: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployer(traffic_timeout=0.5)
    start(dep, "blue", "1", _sized(9))
    dep.set_traffic({"blue": 100})
    start(dep, "green", "2", _sized(4))
    _hold_replicaset(kube, monkeypatch, "fraud-green-", lambda: False)
    with pytest.raises(KubernetesError, match="did not scale down to 1 ready endpoints") as caught:
        dep.set_traffic({"blue": 90, "green": 10})
    assert "Service fraud-green lists 4 ready endpoints" in str(caught.value)
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["spec"]["replicas"] == 4
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100, "green": 0}


# --- second look: the fake's Gateway controller keeps other controllers' entries ---------------


def test_fake_gateway_controller_keeps_the_status_entries_of_other_controllers(
    kube: FakeKube,
) -> None:
    kube.create(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": NS},
            "spec": {
                "parentRefs": [{"name": "public"}, {"name": "internal"}],
                "rules": [{"backendRefs": []}],
            },
        }
    )
    other = {
        "parentRef": {"name": "internal"},
        "controllerName": "other.example/gw",
        "conditions": [
            {
                "type": "Accepted",
                "status": "True",
                "reason": "Accepted",
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    kube.store.write_status("httproutes", NS, "r", {"parents": [other]})
    route = kube.get("httproutes", NS, "r")
    assert route is not None
    route["spec"]["rules"] = [{"backendRefs": [], "matches": [{"path": {"value": "/v2"}}]}]
    generation = kube.store.put(route, manager="kubectl")["metadata"]["generation"]

    def answered() -> bool:  # the fake's controller wrote its entries for the new generation
        parents = kube.store.objects[("httproutes", NS, "r")].get("status", {}).get("parents", [])
        return any(
            p.get("controllerName") == GATEWAY_CONTROLLER
            and p["conditions"][0]["observedGeneration"] == generation
            for p in parents
        )

    with kube.store.changed:
        assert kube.store.changed.wait_for(answered, timeout=10)
    route = kube.get("httproutes", NS, "r")
    assert route is not None
    parents = route["status"]["parents"]
    assert other in parents
    mine = [p["parentRef"] for p in parents if p["controllerName"] == GATEWAY_CONTROLLER]
    assert mine == [{"name": "public"}, {"name": "internal"}]
