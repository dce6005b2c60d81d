"""Review 47: with ``traffic="service"`` a slot the app Service selects is in use however
few of the pods it has (no 0% share, no apply or remove of it); hugepages must be a whole
number of pages; ``repr(KubeOptions)`` hides the registry URL's password; a slot the
traffic still points at is in use even after its Deployment was deleted by hand."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest
from _kube_helpers import NS
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer, Resources, SlotInUse
from modelship.deploy.kubernetes import KubeOptions
from modelship.deploy.kubernetes._deployer import _percentages
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]


def one_pod() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=1
    )


def kubectl_scale(kube: FakeKube, name: str, replicas: int) -> None:
    """``kubectl scale deployment <name> --replicas=<replicas>``: a merge patch of
    spec.replicas by another field manager."""
    request = urllib.request.Request(
        f"{kube.url}/apis/apps/v1/namespaces/{NS}/deployments/{name}?fieldManager=kubectl",
        method="PATCH",
        data=json.dumps({"spec": {"replicas": replicas}}).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def split_then_scale(make_deployer: Make, kube: FakeKube, stable: int) -> KubernetesDeployer:
    """blue at 100%, green (1 pod) given 10%, then blue scaled by hand to ``stable`` pods:
    both slots stay selected by the app Service, green's share of the pods rounds to 0%."""
    dep = make_deployer(max_split_replicas=2)
    dep.apply("blue", "fraud", "1", one_pod())
    assert dep.wait_ready("blue", 30)
    dep.set_traffic({"blue": 100})
    dep.apply("green", "fraud", "2", one_pod())
    assert dep.wait_ready("green", 30)
    dep.set_traffic({"blue": 90, "green": 10})
    kubectl_scale(kube, "fraud-blue", stable)
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["spec"]["replicas"] == 1
    service = kube.get("services", NS, "fraud")
    assert service is not None
    assert "modelship.io/slot" not in service["spec"]["selector"]  # a split: both selected
    return dep


def test_a_split_slot_with_a_pod_in_300_is_reported_with_at_least_1_percent(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = split_then_scale(make_deployer, kube, 300)
    weights = {s.slot: s.weight for s in dep.state().slots}
    assert weights == {"blue": 99, "green": 1}


def test_apply_refuses_a_split_slot_whose_share_of_the_pods_rounds_to_0(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = split_then_scale(make_deployer, kube, 300)
    with pytest.raises(SlotInUse, match=r"'green' receives 1% .*Service 'fraud' selects"):
        dep.apply("green", "fraud", "3", one_pod())
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["metadata"]["annotations"]["modelship.io/model-version"] == "2"


def test_server_dry_run_refuses_a_split_slot_whose_share_of_the_pods_rounds_to_0(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = split_then_scale(make_deployer, kube, 300)
    with pytest.raises(SlotInUse, match="'green' receives 1%"):
        dep.server_dry_run("fraud", "3", one_pod(), slot="green")


def test_remove_refuses_a_split_slot_whose_share_of_the_pods_rounds_to_0(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = split_then_scale(make_deployer, kube, 300)
    with pytest.raises(SlotInUse, match="'green' receives 1%"):
        dep.remove("green")
    assert kube.get("deployments", NS, "fraud-green") is not None
    assert kube.get("services", NS, "fraud-green") is not None


def test_a_selected_slot_scaled_to_0_is_still_in_use(make_deployer: Make, kube: FakeKube) -> None:
    """The Service selects green's label: the pods an apply would start take traffic at
    once, with no traffic step and no gate, so green is in use at 0% of the pods."""
    dep = split_then_scale(make_deployer, kube, 2)
    kubectl_scale(kube, "fraud-green", 0)
    with pytest.raises(SlotInUse, match=r"'green' is scaled to 0 replicas, but Service 'fraud'"):
        dep.apply("green", "fraud", "3", one_pod())
    with pytest.raises(SlotInUse, match="'green'"):
        dep.remove("green")
    assert kube.get("deployments", NS, "fraud-green") is not None


def test_a_slot_the_service_does_not_select_can_be_applied_and_removed(
    make_deployer: Make, kube: FakeKube
) -> None:
    dep = split_then_scale(make_deployer, kube, 300)
    dep.set_traffic({"blue": 100})
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100, "green": 0}
    dep.apply("green", "fraud", "3", one_pod())
    green = kube.get("deployments", NS, "fraud-green")
    assert green is not None
    assert green["metadata"]["annotations"]["modelship.io/model-version"] == "3"
    dep.remove("green")
    assert kube.get("deployments", NS, "fraud-green") is None
    with pytest.raises(SlotInUse, match="'blue' receives 100%"):
        dep.remove("blue")


@given(st.dictionaries(st.sampled_from(["blue", "green"]), st.integers(0, 10_000), min_size=1))
def test_percentages_sum_to_100_and_give_every_nonzero_count_at_least_1(
    counts: dict[str, int],
) -> None:
    out = _percentages(counts)
    assert set(out) == set(counts)
    assert sum(out.values()) == (100 if sum(counts.values()) else 0)
    for slot, n in counts.items():
        assert (out[slot] >= 1) if n else (out[slot] == 0)


def with_limits(limits: dict[str, str]) -> Resources:
    return Resources(limits={**limits, "memory": "4Gi"})


@pytest.mark.parametrize(
    ("name", "amount"),
    [("hugepages-2Mi", "3Mi"), ("hugepages-1Gi", "1.5Gi"), ("hugepages-2Mi", "1")],
)
def test_hugepages_that_are_not_a_whole_number_of_pages_are_refused(name: str, amount: str) -> None:
    size = name.removeprefix("hugepages-")
    with pytest.raises(ConfigError, match=rf"{amount} is not a whole number of {size} pages"):
        with_limits({name: amount})
    with pytest.raises(ConfigError, match=rf"requests.{name}: {amount} is not a whole number"):
        Resources(limits={"memory": "4Gi"}, requests={name: amount})


@pytest.mark.parametrize(
    ("name", "amount"),
    [
        ("hugepages-2Mi", "4Mi"),
        ("hugepages-1Gi", "2Gi"),
        ("hugepages-2Mi", "4194304"),  # 2 pages in bytes
        ("hugepages-1Gi", "1024Mi"),
        ("hugepages-2Mi", "0"),  # Kubernetes: 0 % page size == 0, accepted
    ],
)
def test_hugepages_of_a_whole_number_of_pages_are_accepted(name: str, amount: str) -> None:
    assert with_limits({name: amount}).limits[name] == amount


def test_a_huge_page_size_that_is_not_whole_bytes_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a huge page size"):
        with_limits({"hugepages-1500m": "3"})


def test_a_negative_hugepages_amount_is_refused_as_negative() -> None:
    with pytest.raises(ConfigError, match="must not be negative, got -3Mi"):
        with_limits({"hugepages-2Mi": "-3Mi"})


URL = "https://ci:hunter2secret@models.example/reg"


def test_repr_of_kube_options_hides_the_registry_url_password() -> None:
    shown = repr(KubeOptions(app="fraud", registry_url=URL))
    assert "hunter2secret" not in shown
    assert "ci:" not in shown
    assert "registry_url='https://<redacted>@models.example/reg'" in shown


def test_repr_of_a_deployers_options_hides_the_registry_url_password() -> None:
    with KubernetesDeployer(
        "models", server="https://10.0.0.1:6443", image="m:1", registry_url=URL, app="fraud"
    ) as dep:
        assert dep.options.registry_url == URL  # the pods still get it whole
        shown = repr(dep.options)
    assert "hunter2secret" not in shown
    assert "https://<redacted>@models.example/reg" in shown


def kubectl_delete_deployment(kube: FakeKube, name: str) -> None:
    """``kubectl delete deployment <name>``."""
    request = urllib.request.Request(
        f"{kube.url}/apis/apps/v1/namespaces/{NS}/deployments/{name}", method="DELETE"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


TRAFFIC_MODES = [
    pytest.param({}, id="service"),
    pytest.param({"traffic": "httproute", "gateway": "public"}, id="httproute"),
]


@pytest.mark.parametrize("mode", TRAFFIC_MODES)
def test_a_split_slot_whose_deployment_was_deleted_is_still_in_use(
    make_deployer: Make, kube: FakeKube, mode: dict[str, str]
) -> None:
    """A 50/50 split, then ``kubectl delete deployment fraud-green``: the Service (no slot
    label) or the route (50 to fraud-green) still sends green its share, so an apply's
    new pods would take it at once, with no step and no gate: green is in use."""
    dep = make_deployer(**mode)
    dep.apply("blue", "fraud", "1", one_pod())
    assert dep.wait_ready("blue", 30)
    dep.set_traffic({"blue": 100})
    dep.apply("green", "fraud", "2", one_pod())
    assert dep.wait_ready("green", 30)
    dep.set_traffic({"blue": 50, "green": 50})
    kubectl_delete_deployment(kube, "fraud-green")
    # With the Service, green has no pods (no share): it is refused for the selector;
    # behind the route, for the 50 still written to it.
    if mode.get("traffic") == "httproute":
        refused = r"slot 'green' receives 50% of the traffic of 'fraud'"
    else:
        refused = r"slot 'green' has no Deployment, but Service 'fraud' selects its pods"
    with pytest.raises(SlotInUse, match=refused):
        dep.apply("green", "fraud", "3", one_pod())
    with pytest.raises(SlotInUse, match=refused):
        dep.server_dry_run("fraud", "3", one_pod(), slot="green")
    with pytest.raises(SlotInUse, match=refused):
        dep.remove("green")
    assert kube.get("deployments", NS, "fraud-green") is None  # nothing was written
    # Moving the traffic off green frees it: the apply then goes through.
    dep.set_traffic({"blue": 100})
    dep.apply("green", "fraud", "3", one_pod())
    assert dep.wait_ready("green", 30)
    assert {s.slot: (s.version, s.weight) for s in dep.state().slots} == {
        "blue": ("1", 100),
        "green": ("3", 0),
    }


def test_a_slot_the_service_selects_by_label_is_in_use_without_its_deployment(
    make_deployer: Make, kube: FakeKube
) -> None:
    """All traffic on green, then its Deployment deleted: the Service still selects
    green's label, so green is in use (and blue, not selected, is not)."""
    dep = make_deployer()
    dep.apply("green", "fraud", "1", one_pod())
    assert dep.wait_ready("green", 30)
    dep.set_traffic({"green": 100})
    kubectl_delete_deployment(kube, "fraud-green")
    with pytest.raises(SlotInUse, match=r"'green' has no Deployment, but Service 'fraud' selects"):
        dep.apply("green", "fraud", "2", one_pod())
    dep.apply("blue", "fraud", "2", one_pod())
    assert kube.get("deployments", NS, "fraud-blue") is not None
