"""Fixtures: a fake API server on 127.0.0.1 and deployers pointed at it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _kube_helpers import FAST, IN_CI, NS, fast_retry

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.testing.fake_kube import FakeKube, TestPKI, make_pki

if importlib.util.find_spec("kubernetes") is None:
    if IN_CI:
        raise ImportError("the kubernetes client is required under CI=true: pip install '.[test]'")
    collect_ignore_glob = ["test_*.py"]  # locally: the extra is optional


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube(timings=FAST) as fake:
        yield fake


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def spec() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=2
    )


@pytest.fixture
def make_deployer(kube: FakeKube) -> Iterator[Callable[..., KubernetesDeployer]]:
    made: list[KubernetesDeployer] = []

    def make(**kwargs: Any) -> KubernetesDeployer:
        options: dict[str, Any] = {
            "server": kube.url,
            "image": "ai-model:1",
            "registry_url": "s3://models",
            "app": "fraud",
            "retry": fast_retry(),
            "request_timeout": 2.0,
            **kwargs,
        }
        dep = KubernetesDeployer(NS, **options)
        made.append(dep)
        return dep

    yield make
    for dep in made:
        dep.close()
