"""The Deployer conformance suite of part 1, run against KubernetesDeployer on the fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from modelship.deploy import KubernetesDeployer
from modelship.testing._deployer_suite import DeployerConformance
from modelship.testing.fake_kube import FakeKube

NEVER = "3"  # the version whose pods the fake never makes Ready


class _OnTheFake(DeployerConformance):
    @pytest.fixture
    def ready_timeout(self) -> float:
        return 10.0

    @pytest.fixture
    def never_ready(self, kube: FakeKube) -> str:
        kube.never_ready({"modelship.io/version": NEVER})
        return NEVER


class TestKubernetesDeployerWithServiceSelector(_OnTheFake):
    @pytest.fixture
    def deployer(
        self, make_deployer: Callable[..., KubernetesDeployer]
    ) -> Iterator[KubernetesDeployer]:
        return make_deployer()


class TestKubernetesDeployerWithHTTPRoute(_OnTheFake):
    @pytest.fixture
    def deployer(
        self, make_deployer: Callable[..., KubernetesDeployer]
    ) -> Iterator[KubernetesDeployer]:
        return make_deployer(traffic="httproute", gateway="public")

    def test_declares_exact_weights(self, deployer: KubernetesDeployer) -> None:
        assert deployer.capabilities.exact_weights
