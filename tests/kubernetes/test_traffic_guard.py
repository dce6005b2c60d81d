"""The Kubernetes deployer's traffic guard (apply, server_dry_run and remove refuse a slot
that takes traffic) reads the same helper as the weights state() reports, so the two
cannot disagree; a slot the app Service selects while it has no pods is refused with a
message that says why (its pods would take traffic at once), not "receives 0%"."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer, SlotInUse
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]
Change = Callable[[KubernetesDeployer, FakeKube], None]

SERVICE: dict[str, Any] = {"max_split_replicas": 2}
ROUTE: dict[str, Any] = {"traffic": "httproute", "gateway": "public"}
SLOTS = ("blue", "green")


def one_pod() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=1
    )


def kubectl(kube: FakeKube, method: str, name: str, body: dict[str, Any] | None = None) -> None:
    """``kubectl delete deployment <name>`` (body None) or ``kubectl scale`` (a merge
    patch of ``body`` by another field manager)."""
    request = urllib.request.Request(
        f"{kube.url}/apis/apps/v1/namespaces/{NS}/deployments/{name}?fieldManager=kubectl",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def delete_green(dep: KubernetesDeployer, kube: FakeKube) -> None:
    kubectl(kube, "DELETE", "fraud-green")


def scale_green_to_0(dep: KubernetesDeployer, kube: FakeKube) -> None:
    kubectl(kube, "PATCH", "fraud-green", {"spec": {"replicas": 0}})


def both_slots(make_deployer: Make, mode: dict[str, Any]) -> KubernetesDeployer:
    """blue (version 1) and green (version 2), one pod each, all traffic on blue."""
    dep = make_deployer(**mode)
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, one_pod())
        assert dep.wait_ready(slot, 30)
        if slot == "blue":
            dep.set_traffic({"blue": 100})
    return dep


def refusal(dep: KubernetesDeployer, slot: str) -> str | None:
    """The guard's answer for ``slot``: the SlotInUse message of a server dry run of an
    apply into it (it writes nothing), or None if it goes through."""
    try:
        dep.server_dry_run("fraud", "3", one_pod(), slot=slot)
    except SlotInUse as exc:
        return str(exc)
    return None


def pods(kube: FakeKube, slot: str) -> int:
    """The replicas of the slot's Deployment (0: none, or no Deployment)."""
    found = kube.get("deployments", NS, f"fraud-{slot}")
    return 0 if found is None else int(found["spec"].get("replicas", 1))


def pointed_at(kube: FakeKube, mode: dict[str, Any]) -> set[str]:
    """The slots the app's traffic points at, read from the cluster: the slots whose pods
    the app Service's selector matches, or those the route gives a weight above 0."""
    if mode is ROUTE:
        route = kube.get("httproutes", NS, "fraud") or {}
        rules = route["spec"].get("rules") or []
        refs = [ref for rule in rules[:1] for ref in rule.get("backendRefs") or []]
        names = {ref["name"] for ref in refs if ref.get("weight", 1) > 0}
        return {slot for slot in SLOTS if f"fraud-{slot}" in names}
    service = kube.get("services", NS, "fraud")
    assert service is not None
    selector = service["spec"]["selector"]
    if "modelship.io/no-traffic" in selector:
        return set()
    if "modelship.io/slot" in selector:
        return {selector["modelship.io/slot"]}
    return set(SLOTS)


SCENARIOS: list[tuple[str, dict[str, int] | None, Change | None]] = [
    ("all-on-blue", {"blue": 100}, None),
    ("all-on-green", {"green": 100}, None),
    ("split", {"blue": 90, "green": 10}, None),
    ("traffic-off", {}, None),
    ("split-green-deleted", {"blue": 90, "green": 10}, delete_green),
    ("split-green-scaled-to-0", {"blue": 90, "green": 10}, scale_green_to_0),
    ("green-deleted-unselected", {"blue": 100}, delete_green),
    ("all-on-green-then-deleted", {"green": 100}, delete_green),
]


@pytest.mark.parametrize("mode", [SERVICE, ROUTE], ids=["service", "httproute"])
@pytest.mark.parametrize(
    ("weights", "change"), [(w, c) for _, w, c in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_the_guard_refuses_exactly_the_slots_traffic_points_at_with_the_weights_of_state(
    make_deployer: Make,
    kube: FakeKube,
    mode: dict[str, Any],
    weights: dict[str, int],
    change: Change | None,
) -> None:
    dep = both_slots(make_deployer, mode)
    dep.set_traffic(weights)
    if change is not None:
        change(dep, kube)
    state = {s.slot: s.weight for s in dep.state().slots}
    pointed = pointed_at(kube, mode)
    shares = {}
    for slot in SLOTS:
        said = refusal(dep, slot)
        assert (said is not None) == (slot in pointed), (slot, said, pointed)
        if said is None:
            assert state.get(slot, 0) == 0  # a slot with a share is always refused
            continue
        found = re.search(r"receives (\d+)% of the traffic of 'fraud'", said)
        if mode is SERVICE and pods(kube, slot) == 0:
            # No pods: no share to speak of, but the selector is why it is refused.
            assert found is None, said
            assert "Service 'fraud' selects its pods" in said
            assert "would take traffic at once, with no step and no gate" in said
            assert "move its traffic before replacing it" in said
            continue
        assert found is not None, said
        shares[slot] = int(found[1])
        if slot in state:  # the guard's share is the one state() reports
            assert shares[slot] == state[slot], (slot, said, state)
    if shares:
        assert sum(shares.values()) == 100, shares  # every share of the traffic, once


def test_apply_into_a_selected_slot_scaled_to_0_says_its_pods_would_take_traffic_at_once(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = both_slots(make_deployer, SERVICE)
    dep.set_traffic({"blue": 90, "green": 10})
    scale_green_to_0(dep, kube)
    with pytest.raises(SlotInUse) as raised:
        dep.apply("green", "fraud", "3", one_pod())
    assert str(raised.value) == (
        "slot 'green' is scaled to 0 replicas, but Service 'fraud' selects its pods: the "
        "pods an apply starts there would take traffic at once, with no step and no gate; "
        "move its traffic before replacing it"
    )
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["metadata"]["annotations"]["modelship.io/model-version"] == "2"


def test_remove_of_a_selected_slot_without_its_deployment_says_so_and_deletes_nothing(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = both_slots(make_deployer, SERVICE)
    dep.set_traffic({"green": 100})
    delete_green(dep, kube)
    with pytest.raises(SlotInUse) as raised:
        dep.remove("green")
    assert str(raised.value) == (
        "slot 'green' has no Deployment, but Service 'fraud' selects its pods: the pods an "
        "apply starts there would take traffic at once, with no step and no gate; move its "
        "traffic first"
    )
    assert kube.get("services", NS, "fraud-green") is not None
    assert "0%" not in str(raised.value)


def test_a_route_to_a_slot_without_its_deployment_keeps_its_share_out_of_state(
    make_deployer: Make, kube: FakeKube
) -> None:
    """The route still sends green 10% (to a Service with no pods): state() says blue
    takes 90%, as the guard does, not 100%."""
    dep = both_slots(make_deployer, ROUTE)
    dep.set_traffic({"blue": 90, "green": 10})
    delete_green(dep, kube)
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 90}
    with pytest.raises(SlotInUse, match="slot 'green' receives 10% of the traffic of 'fraud'"):
        dep.apply("green", "fraud", "3", one_pod())
    with pytest.raises(SlotInUse, match="slot 'blue' receives 90% of the traffic of 'fraud'"):
        dep.remove("blue")
