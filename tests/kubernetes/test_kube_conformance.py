"""The Deployer conformance suite of part 1, run against KubernetesDeployer on the fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from modelship.deploy import KubernetesDeployer
from modelship.testing._deployer_suite import DeployerConformance
from modelship.testing.fake_kube import FakeKube

NEVER = "3"  # the version whose pods the fake never makes Ready
SLOW = "4"  # the version whose pods the fake makes Ready only SLOW_SECONDS after creation
SLOW_SECONDS = 1.0  # each check of a slow start waits it out


class _OnTheFake(DeployerConformance):
    @pytest.fixture
    def ready_timeout(self) -> float:
        return 10.0

    @pytest.fixture
    def never_ready(self, kube: FakeKube) -> str:
        kube.never_ready({"modelship.io/version": NEVER})
        return NEVER

    @pytest.fixture
    def slow_start(self, kube: FakeKube, deployer: KubernetesDeployer) -> tuple[str, float]:
        # Its pods are created after apply begins, so they cannot be Ready sooner.
        kube.slow_ready({"modelship.io/version": SLOW}, SLOW_SECONDS)
        # The checks time from apply; a process's first request imports the kubernetes
        # client (0.9-2.9 s here), and an apply that outlasts SLOW_SECONDS would let a
        # deployer calling the slot ready too soon pass. A read loads the client first.
        deployer.state()
        return SLOW, SLOW_SECONDS


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
