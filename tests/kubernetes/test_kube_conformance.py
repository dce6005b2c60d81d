"""The Deployer conformance suite of part 1, run against KubernetesDeployer on the fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from modelship.deploy import KubernetesDeployer
from modelship.testing._deployer_suite import DeployerConformance


class TestKubernetesDeployerWithServiceSelector(DeployerConformance):
    @pytest.fixture
    def deployer(
        self, make_deployer: Callable[..., KubernetesDeployer]
    ) -> Iterator[KubernetesDeployer]:
        return make_deployer()

    @pytest.fixture
    def ready_timeout(self) -> float:
        return 10.0


class TestKubernetesDeployerWithHTTPRoute(DeployerConformance):
    @pytest.fixture
    def deployer(
        self, make_deployer: Callable[..., KubernetesDeployer]
    ) -> Iterator[KubernetesDeployer]:
        return make_deployer(traffic="httproute", gateway="public")

    @pytest.fixture
    def ready_timeout(self) -> float:
        return 10.0

    def test_declares_exact_weights(self, deployer: KubernetesDeployer) -> None:
        assert deployer.capabilities.exact_weights
