"""The Deployer suite's checks that need a version that never becomes ready, on every
built-in deployer: the in-memory double (a fault that kills the server of version 3 as
it starts), the LocalDeployer (a model
its server cannot load) and the KubernetesDeployer on the fake API server (pods the fake
never makes Ready).

The rest of the suite already runs on these deployers (test_deployer_conformance.py,
tests/kubernetes/test_kube_conformance.py); only these checks run here, so the servers
of the whole suite are not started twice.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship.deploy import DeployerCapabilities
from modelship.testing import DeployerConformance, Fault, FaultEffect, InMemoryDeployer

NEVER = "3"
CHECKS = {
    "test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready",
    "test_a_version_that_never_becomes_ready_is_not_healthy",
    "test_a_version_that_never_becomes_ready_is_not_ready_in_the_state",
    "test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving",
}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class NeverReadyChecks(DeployerConformance):
    """The suite with only its never-ready checks (its fixtures and helpers kept)."""

    @pytest.fixture
    def never_ready(self) -> str:
        return NEVER


for _name in dir(DeployerConformance):
    if _name.startswith("test_") and _name not in CHECKS:
        setattr(NeverReadyChecks, _name, None)  # not collected: pytest collects functions


def test_every_never_ready_check_of_the_suite_runs_here() -> None:
    named = {n for n in dir(DeployerConformance) if n.startswith("test_") and "never" in n}
    assert named == CHECKS
    assert {n for n in dir(NeverReadyChecks) if callable(getattr(NeverReadyChecks, n))} >= CHECKS


def _never_ready_double(**kwargs: Any) -> InMemoryDeployer:
    # KILL, not NEVER_READY: the double's never-ready slot still answers health checks
    # (a pod failing readiness alone); the suite's never-ready version crashes at start.
    fault = Fault("apply", FaultEffect.KILL, version=NEVER, times=None)
    return InMemoryDeployer(faults=(fault,), **kwargs)


class TestInMemoryDeployer(NeverReadyChecks):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return _never_ready_double(startup_seconds=1.0)


class TestReplicaWeightedDouble(NeverReadyChecks):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return _never_ready_double(capabilities=DeployerCapabilities(exact_weights=False))


class FailsToStart:
    """A model servers cannot start: its class is defined in this test module, which the
    servers cannot import (numpy_models' classes they can), so unpickling it fails."""

    n_features_in_ = 4

    def predict(self, x: Any) -> Any:  # pragma: no cover - never loaded by a server
        raise RuntimeError("never called")


@pytest.fixture(scope="module")
def never_ready_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``fraud`` 1 and 2 that servers start, and 3 that they cannot load."""
    root = tmp_path_factory.mktemp("never-ready-registry")
    reg = ms.open_registry(str(root))
    for model in (Threshold(False), Threshold(True), FailsToStart()):
        reg.register(model_name="fraud", model=model)
    with importable_by_servers():
        yield root


@pytest.mark.slow
class TestLocalDeployer(NeverReadyChecks):
    @pytest.fixture
    def deployer(self, never_ready_registry: Path) -> Iterator[object]:
        from modelship.deploy.local import LocalDeployer

        with LocalDeployer(registry=ms.open_registry(str(never_ready_registry))) as dep:
            yield dep


def _kube_or_skip() -> None:
    if importlib.util.find_spec("kubernetes") is None:
        if IN_CI:
            pytest.fail("the kubernetes client is required under CI=true: pip install '.[test]'")
        pytest.skip("the kubernetes client is not installed (the 'kubernetes' extra)")


class _KubeChecks(NeverReadyChecks):
    """On the fake API server, whose pods of version 3 never pass their readiness probe."""

    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def deployer(self) -> Iterator[object]:
        _kube_or_skip()
        from modelship.deploy import KubernetesDeployer
        from modelship.deploy.kubernetes import Retry
        from modelship.testing.fake_kube import FakeKube, Timings

        # The timings and retries of tests/kubernetes (_kube_helpers.FAST, fast_retry).
        with FakeKube(timings=Timings(tick=0.003, pod_ready=0.01, deadline_scale=0.02)) as kube:
            kube.never_ready({"modelship.io/version": NEVER})
            dep = KubernetesDeployer(
                "models",
                server=kube.url,
                image="ai-model:1",
                registry_url="s3://models",
                app="fraud",
                retry=Retry(attempts=4, base=0.001, cap=0.005),
                request_timeout=2.0,
                **self.options,
            )
            try:
                yield dep
            finally:
                dep.close()

    @pytest.fixture
    def ready_timeout(self) -> float:
        return 10.0


class TestKubernetesDeployerWithServiceSelector(_KubeChecks):
    pass


class TestKubernetesDeployerWithHTTPRoute(_KubeChecks):
    options: ClassVar[dict[str, Any]] = {"traffic": "httproute", "gateway": "public"}
