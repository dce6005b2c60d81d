"""The Deployer conformance suite passes on the in-memory double and the LocalDeployer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

from modelship.deploy import DeployerCapabilities
from modelship.testing._deployer_double import InMemoryDeployer
from modelship.testing._deployer_suite import DeployerConformance


class TestInMemoryDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return InMemoryDeployer(startup_seconds=1.0)


class TestReplicaWeightedDouble(DeployerConformance):
    @pytest.fixture
    def deployer(self) -> InMemoryDeployer:
        return InMemoryDeployer(capabilities=DeployerCapabilities(exact_weights=False))


@pytest.mark.slow
class TestLocalDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self, served_registry: Path) -> Iterator[object]:  # noqa: F811
        import modelship as ms
        from modelship.deploy.local import LocalDeployer

        with LocalDeployer(registry=ms.open_registry(str(served_registry))) as dep:
            yield dep


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
        import modelship as ms

        return _example_deployer()(ms.open_registry(str(served_registry)))
