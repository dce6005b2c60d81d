"""The Deployer conformance suite passes on the in-memory double, the LocalDeployer and
the example deployer. Version 3 of each never becomes ready: the doubles kill its server
as it starts, the LocalDeployer's servers cannot load its model (the example's apply
raises on it, so its never-ready checks skip)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from numpy_models import SlowToLoad, Threshold

import modelship as ms
from modelship.deploy import Deployer, DeployerCapabilities
from modelship.errors import ConfigError
from modelship.testing import Fault, FaultEffect
from modelship.testing._deployer_double import InMemoryDeployer
from modelship.testing._deployer_suite import DeployerConformance

NEVER = "3"
SLOW = "4"


class _NeverReady(DeployerConformance):
    @pytest.fixture
    def never_ready(self) -> str:
        return NEVER


def _double(**kwargs: Any) -> InMemoryDeployer:
    # KILL, not NEVER_READY: the double's never-ready slot still answers health checks
    # (a pod failing readiness alone); the suite's never-ready version crashes at start.
    return InMemoryDeployer(
        faults=(Fault("apply", FaultEffect.KILL, version=NEVER, times=None),), **kwargs
    )


class TestInMemoryDeployer(_NeverReady):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return _double(startup_seconds=1.0)


class TestReplicaWeightedDouble(_NeverReady):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return _double(capabilities=DeployerCapabilities(exact_weights=False))


class FailsToStart:
    """A model servers cannot start: its class is defined in this test module, which the
    servers cannot import (numpy_models' classes they can), so unpickling it fails."""

    n_features_in_ = 4

    def predict(self, x: Any) -> Any:  # pragma: no cover - never loaded by a server
        raise RuntimeError("never called")


@pytest.fixture(scope="module")
def never_ready_registry(
    tmp_path_factory: pytest.TempPathFactory,
    served_registry: Path,  # noqa: F811 - its session makes numpy_models importable
) -> Path:
    """``fraud`` 1 and 2 that servers start (as in served_registry), 3 that they cannot
    load, and 4 that takes a second to load."""
    root = tmp_path_factory.mktemp("never-ready-registry")
    reg = ms.open_registry(str(root))
    for model in (Threshold(False), Threshold(True), FailsToStart(), SlowToLoad(False)):
        reg.register(model_name="fraud", model=model)
    return root


# The suite's refused splits (weights, ids), as it parametrizes its check of them.
_SPLIT_CHECK = "test_a_split_that_is_not_whole_percentages_summing_to_100_is_refused_unchanged"
_REFUSED_SPLITS = next(
    mark
    for mark in vars(DeployerConformance)[_SPLIT_CHECK].pytestmark
    if mark.name == "parametrize"
)


@pytest.fixture(scope="module")
def serving(never_ready_registry: Path) -> Iterator[dict[bool, Deployer]]:
    """By whether green runs too: a LocalDeployer serving 1 in blue, one with 2 in green
    beside it. Started once for TestLocalDeployer's refused splits, which only read them."""
    from modelship.deploy.local import LocalDeployer

    with contextlib.ExitStack() as stack:
        running: dict[bool, Deployer] = {}
        for green in (False, True):
            dep = stack.enter_context(
                LocalDeployer(registry=ms.open_registry(str(never_ready_registry)))
            )
            DeployerConformance.start(dep, "blue", "fraud", "1", 60.0)
            if green:
                DeployerConformance.start(dep, "green", "fraud", "2", 60.0)
            running[green] = dep
        yield running


@pytest.mark.slow
class TestLocalDeployer(_NeverReady):
    @pytest.fixture
    def slow_start(self) -> tuple[str, float]:
        return SLOW, 1.0  # its server loads the model for a second before it can answer

    @pytest.fixture
    def deployer(self, never_ready_registry: Path) -> Iterator[object]:
        from modelship.deploy.local import LocalDeployer

        with LocalDeployer(registry=ms.open_registry(str(never_ready_registry))) as dep:
            yield dep

    # The suite's cases of this check, each of which started one or two servers (0.6 s
    # each) only to see a split refused: here they share the servers of ``serving``.
    @pytest.mark.parametrize(*_REFUSED_SPLITS.args, **_REFUSED_SPLITS.kwargs)
    def test_a_split_that_is_not_whole_percentages_summing_to_100_is_refused_unchanged(
        self, serving: dict[bool, Deployer], weights: dict[str, Any]
    ) -> None:
        dep = serving["green" in weights]
        dep.set_traffic({"blue": 100})
        before = self.traffic_of(dep)
        assert before == ({"blue": 100, "green": 0} if "green" in weights else {"blue": 100})
        with pytest.raises(ConfigError):
            dep.set_traffic(weights)
        assert self.traffic_of(dep) == before, "a refused split moved traffic"


def _example_deployer() -> type:
    """The InProcessDeployer of examples/custom_deployer.py (the docs' example)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "custom_deployer.py"
    spec = importlib.util.spec_from_file_location("custom_deployer", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type = module.InProcessDeployer
    return cls


class TestExampleDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self, served_registry: Path) -> object:  # noqa: F811
        return _example_deployer()(ms.open_registry(str(served_registry)))
