"""Review 38 of the deployment spec and quantities: a sidecar's port, to_dict() read
back, image references and resource names as the runtime and Kubernetes read them,
NumPy numbers as quantities, and Quantity == str."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.deploy import (
    CanaryStep,
    Container,
    DeploymentSpec,
    HealthCheck,
    Quantity,
    Resources,
    Strategy,
    parse_quantity,
)
from modelship.errors import ConfigError

HEX64 = "0123456789abcdef" * 4


# --- 4: only the first container is given modelship serve's port ---------------------------


def test_a_sidecar_without_a_port_read_from_a_file_has_none() -> None:
    spec = DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [
                    {"name": "model-service", "image": "ai-model:3"},
                    {"name": "log-shipper", "image": "fluent-bit:3"},
                ]
            }
        }
    )
    assert [c.port for c in spec.containers] == [8080, None]
    assert not any("containers[1]" in note for note in spec.notes)


SPECS = [
    DeploymentSpec(containers=[Container(name="m", image="ai-model:3")]),
    DeploymentSpec(
        containers=[
            Container(name="m", image="ai-model:3"),
            Container(name="log-shipper", image="fluent-bit:3"),
        ]
    ),
    DeploymentSpec(
        containers=[
            Container(name="m", image="ai-model:3", port=9000),
            Container(name="proxy", image="envoy:1", port=9901, args=["--x", "$HOME"]),
        ],
        healthcheck=HealthCheck(path="/ready", port=9001, period_seconds=0.5),
        replicas=3,
    ),
    DeploymentSpec(
        containers=[
            Container(
                name="m",
                image="localhost:5000/ai-model:3",
                env={"PRICE": "$5", "A": "1"},
                resources=Resources(
                    limits={"memory": "4Gi", "cpu": "2", "nvidia.com/gpu": "1"},
                    requests={"cpu": "500m"},
                ),
            ),
            Container(name="sidecar", image="busybox"),
        ],
        strategy=Strategy.CANARY,
        steps=[CanaryStep(10, pause=60), CanaryStep(50, pause=0)],
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_to_dict_reads_back_equal(spec: DeploymentSpec) -> None:
    assert DeploymentSpec.from_dict(spec.to_dict(), environ=False) == spec


# --- 5: image references as the container runtime parses them ------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "localhost:5000/ai-model:3",
        f"ghcr.io/org/team/model@sha256:{HEX64}",
        "python:3.11-slim",
        "registry.example.com:443/a/b:1.0_rc-2",
        "docker.io/library/python",
        f"name:tag@sha256:{HEX64}",
        "[::1]:5000/x:1",
        "Registry.Example.com/x",
        "a__b/c-d--e.f_g:T_1.x-y",
        "x:" + "t" * 128,
        f"x@sha512:{HEX64 * 2}",
    ],
)
def test_every_valid_image_reference_is_accepted(image: str) -> None:
    assert Container(name="m", image=image).image == image


@pytest.mark.parametrize(
    "image",
    [
        "ai-model:",
        "AI-Model:3",
        "ai-model:3:4",
        "x@sha256:abc",
        f"x@sha256:{HEX64.upper()}",
        f"x@md5:{HEX64}",
        "x:" + "t" * 129,
        "a/" * 128 + "b",  # a name of 257 characters
        "-x:1",
        "x/:1",
        "x:.1",
    ],
)
def test_an_image_reference_the_runtime_cannot_parse_is_a_config_error(image: str) -> None:
    with pytest.raises(ConfigError, match="container image reference"):
        Container(name="m", image=image)


def test_an_empty_tag_from_a_variable_is_refused_naming_the_field() -> None:
    document = {"deployment": {"containers": [{"name": "m", "image": "ai-model:${TAG}"}]}}
    with pytest.raises(ConfigError, match=r"containers\[0\]\.image='ai-model:'"):
        DeploymentSpec.from_dict(document, variables={"TAG": ""}, environ=False)


# --- 6: resource names as Kubernetes validates them ------------------------------------------


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("requests.example.com/gpu", "may not start with 'requests.'"),
        ("example.com/" + "g" * 64, "at most 63"),
        ("d" * 250 + ".com/gpu", "part before '/' must be a domain"),
        ("d" * 241 + ".com/gpu", "at most 244"),
        ("Example.com/gpu", "part before '/' must be a domain"),
        ("a..b/gpu", "part before '/' must be a domain"),
        ("hugepages-0", "positive quantity"),
        ("hugepages--2Mi", "positive quantity"),
    ],
)
def test_a_resource_name_kubernetes_refuses_is_a_config_error(name: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Resources(limits={name: "1", "memory": "1Gi"})


@pytest.mark.parametrize(
    "name", ["example.com/gpu", "nvidia.com/gpu", "d" * 240 + ".com/gpu", "hugepages-2Mi"]
)
def test_a_resource_name_kubernetes_accepts_is_accepted(name: str) -> None:
    amount = "2Mi" if name.startswith("hugepages-") else "1"  # hugepages: whole pages
    assert name in Resources(limits={name: amount, "memory": "1Gi"}).limits


# --- 8: NumPy numbers as quantities ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64(0.5), "500m"),
        (np.int64(2), "2"),
        (np.float32(0.1), "100m"),
        (np.uint8(3), "3"),
    ],
)
def test_a_numpy_number_is_a_quantity(value: Any, expected: str) -> None:
    assert str(parse_quantity(value)) == expected
    assert str(Resources(limits={"cpu": value}).limits["cpu"]) == expected


def test_a_boolean_is_still_not_a_quantity() -> None:
    with pytest.raises(ConfigError, match="not a boolean"):
        parse_quantity(True)


# --- 9: Quantity == str ----------------------------------------------------------------------


def test_comparing_a_quantity_with_text_that_is_no_quantity_is_false_not_an_error() -> None:
    q = Quantity.parse("1Gi")
    assert (q == "unlimited") is False
    assert q != "unlimited"
    assert q in ["unlimited", "1024Mi"]
    assert q == "1Gi"
