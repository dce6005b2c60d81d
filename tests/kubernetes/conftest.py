"""Fixtures: a fake API server on 127.0.0.1 and deployers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the kubernetes extra is not installed")

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import Retry
from modelship.testing.fake_kube import FakeKube, TestPKI, Timings, make_pki

FAST = Timings(tick=0.003, pod_ready=0.01, deadline_scale=0.002)
NS = "models"


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


def fast_retry() -> Retry:
    return Retry(attempts=4, base=0.01, cap=0.05)


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


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
