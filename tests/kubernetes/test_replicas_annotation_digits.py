"""The replicas annotation is read from the cluster, where anyone may edit it: one of
5,000 digits (``kubectl annotate ... modelship.io/replicas=999...``) made every traffic
move raise a bare ValueError (int() refuses more than 4,300 digits); it is the
deployer's KubernetesError saying how to mend it, as any other damaged count is."""

from __future__ import annotations

import json
import urllib.request

import pytest
from _kube_helpers import FAST, NS, fast_retry

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError
from modelship.testing.fake_kube import FakeKube


def _annotate(kube: FakeKube, name: str, value: str) -> None:
    """What ``kubectl annotate --overwrite deployment <name> modelship.io/replicas=<value>``
    sends: a merge patch of the annotation."""
    body = {"metadata": {"annotations": {"modelship.io/replicas": value}}}
    request = urllib.request.Request(
        f"{kube.url}/apis/apps/v1/namespaces/{NS}/deployments/{name}?fieldManager=kubectl",
        method="PATCH",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def _two_slots(kube: FakeKube) -> KubernetesDeployer:
    """A deployer whose blue serves 100% and whose green is ready, both of one pod."""
    spec = DeploymentSpec(containers=[Container(name="m", image="ai-model:1", port=8080)])
    deployer = KubernetesDeployer(
        NS,
        server=kube.url,
        image="ai-model:1",
        registry_url="s3://m",
        app="fraud",
        retry=fast_retry(),
        request_timeout=2.0,
    )
    for slot, version in (("blue", "1"), ("green", "2")):
        deployer.apply(slot, "fraud", version, spec)
        assert deployer.wait_ready(slot, 30)
    deployer.set_traffic({"blue": 100})
    return deployer


@pytest.mark.parametrize("value", ["9" * 5000, "0" * 5000, "\u00b2", "-3"])
def test_a_damaged_replicas_annotation_is_a_kubernetes_error(value: str) -> None:
    with FakeKube(timings=FAST) as kube, _two_slots(kube) as deployer:
        _annotate(kube, "fraud-green", value)
        with pytest.raises(KubernetesError, match="not a replica count") as caught:
            deployer.set_traffic({"green": 100})
        assert len(str(caught.value)) < 600


def test_a_replicas_annotation_with_leading_zeros_is_its_count() -> None:
    with FakeKube(timings=FAST) as kube, _two_slots(kube) as deployer:
        _annotate(kube, "fraud-green", "0" * 20 + "1")
        deployer.set_traffic({"green": 100})
        green = deployer.state().slot("green")
        assert green is not None
        assert green.weight == 100
