"""``ResourceRequest.from_spec``: what a deployment spec asks of its target, for ``compare``."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError
from modelship.parity import EnvironmentSnapshot, ResourceRequest, compare


def spec(*containers: dict[str, Any]) -> DeploymentSpec:
    return DeploymentSpec.from_dict({"deployment": {"containers": list(containers)}})


def container(name: str = "model", **resources: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "image": "churn:3", "resources": resources}


def test_the_limits_of_the_first_container_are_the_request() -> None:
    request = ResourceRequest.from_spec(spec(container(limits={"memory": "4Gi", "cpu": "2"})))
    assert (request.memory, request.cpus, request.model_size) == (4 * 2**30, 2.0, None)


def test_a_resource_without_a_limit_is_read_from_its_request() -> None:
    request = ResourceRequest.from_spec(
        spec(container(limits={"memory": "1G"}, requests={"cpu": "250m", "memory": "512M"}))
    )
    assert (request.memory, request.cpus) == (10**9, 0.25)


def test_a_resource_the_spec_does_not_set_is_not_requested() -> None:
    request = ResourceRequest.from_spec(spec(container()))
    assert (request.memory, request.cpus) == (None, None)


def test_a_container_is_chosen_by_name() -> None:
    deployment = spec(
        container("model", limits={"memory": "4Gi"}),
        container("sidecar", limits={"memory": "64Mi"}),
    )
    assert ResourceRequest.from_spec(deployment, container="sidecar").memory == 64 * 2**20


def test_an_unknown_container_raises_naming_those_there_are() -> None:
    with pytest.raises(ConfigError, match=r"no container 'proxy'; it has \['model'\]"):
        ResourceRequest.from_spec(spec(container()), container="proxy")


def test_something_other_than_a_spec_raises_config_error() -> None:
    with pytest.raises(ConfigError, match=r"needs a modelship\.deploy\.DeploymentSpec, got dict"):
        ResourceRequest.from_spec({"containers": []})  # type: ignore[arg-type]


def test_the_model_size_is_carried_for_the_memory_check() -> None:
    request = ResourceRequest.from_spec(spec(container()), model_size="300Mi")
    assert request.model_size == 300 * 2**20


def test_compare_blocks_a_spec_asking_more_memory_than_the_target_has(
    snapshot: EnvironmentSnapshot,
) -> None:
    prod = attrs.evolve(snapshot, memory_total=2 * 2**30)
    asks = ResourceRequest.from_spec(spec(container(limits={"memory": "4Gi", "cpu": "1"})))
    report = compare(snapshot, prod, resources=asks)
    assert [(f.check, f.subject) for f in report.blocking] == [("resources", "memory")]
    fits = ResourceRequest.from_spec(spec(container(limits={"memory": "1Gi", "cpu": "1"})))
    assert compare(snapshot, prod, resources=fits).passed
