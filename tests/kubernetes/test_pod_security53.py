"""Rendered pods are hardened by default, and the spec sets the rest of a security context."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _kube_helpers import need

from modelship.deploy import Container, DeploymentSpec
from modelship.deploy.kubernetes import render
from modelship.errors import ConfigError

kubernetes_validate = need("kubernetes_validate")

VERSIONS = ("1.30", "1.33", "1.36")
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
}


def pod_of(spec: DeploymentSpec) -> dict[str, Any]:
    objs = render("fraud", "3", spec, app="fraud", namespace="models", registry_url="s3://m")
    pod: dict[str, Any] = objs[0]["spec"]["template"]["spec"]
    return pod


def two_containers(**server: Any) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[
            Container(name="model-server", image="ai-model:3", port=8080, **server),
            Container(name="log-shipper", image="fluent-bit:3", port=2020),
        ]
    )


def test_every_container_is_hardened_by_default_without_forcing_non_root() -> None:
    pod = pod_of(two_containers())
    assert pod["automountServiceAccountToken"] is False
    # The seccomp profile is the pod's: a profile the spec gives the pod is not overridden
    # by a container default (a container's own profile wins over the pod's).
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert "volumes" not in pod
    for container in pod["containers"]:
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }


def test_the_specs_security_context_is_merged_over_the_defaults() -> None:
    spec = DeploymentSpec.from_dict(
        {
            "deployment": {
                "podSecurityContext": {"runAsNonRoot": True, "fsGroup": "${GID}"},
                "containers": [
                    {
                        "name": "model-server",
                        "image": "ai-model:3",
                        "securityContext": {
                            "runAsUser": "${UID}",
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"add": ["NET_BIND_SERVICE"]},
                            "allowPrivilegeEscalation": True,
                        },
                    }
                ],
            }
        },
        variables={"UID": "10001", "GID": "2000"},
    )
    pod = pod_of(spec)
    assert pod["securityContext"] == {
        "seccompProfile": {"type": "RuntimeDefault"},
        "runAsNonRoot": True,
        "fsGroup": 2000,
    }
    server = pod["containers"][0]
    assert server["securityContext"] == {
        "allowPrivilegeEscalation": True,  # the spec's key wins
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "runAsUser": 10001,
        "readOnlyRootFilesystem": True,
    }
    # modelship serve writes the artifact to a temporary file while checking it.
    assert server["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_restricted_spec_renders_a_valid_deployment(version: str) -> None:
    spec = DeploymentSpec(
        containers=[
            Container(name="model-server", image="ai-model:3", security_context=RESTRICTED),
            Container(name="log-shipper", image="fluent-bit:3", port=2020),
        ],
        pod_security_context={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    )
    objs = render("fraud", "3", spec, app="fraud", namespace="models", registry_url="s3://m")
    for obj in objs:
        kubernetes_validate.validate(obj, version, strict=True)


def test_security_contexts_round_trip_and_change_the_document_only_when_given() -> None:
    plain = two_containers()
    assert "podSecurityContext" not in plain.to_dict()["deployment"]
    assert "securityContext" not in plain.to_dict()["deployment"]["containers"][0]
    spec = DeploymentSpec(
        containers=[
            Container(name="m", image="m:1", security_context={"runAsUser": 1000, "x": "$HOME"})
        ],
        pod_security_context={"supplementalGroups": [1, 2]},
    )
    document = json.loads(json.dumps(spec.to_dict()))
    again = DeploymentSpec.from_dict(document)
    assert again == spec
    assert again.containers[0].security_context == {"runAsUser": 1000, "x": "$HOME"}
    assert again.pod_security_context == {"supplementalGroups": [1, 2]}
    assert spec != plain


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"podSecurityContext": ["runAsNonRoot"]},
            "deployment.podSecurityContext must be a mapping",
        ),
        (
            {"containers": [{"name": "m", "image": "m:1", "securityContext": "restricted"}]},
            "deployment.containers[0].securityContext must be a mapping",
        ),
        (
            {"containers": [{"name": "m", "image": "m:1", "securityContext": {"runAsUser": 1.5}}]},
            "deployment.containers[0].securityContext.runAsUser: 1.5 is not a security context",
        ),
    ],
)
def test_a_security_context_that_is_not_a_mapping_is_refused_by_path(
    document: dict[str, Any], message: str
) -> None:
    deployment = {"containers": [{"name": "m", "image": "m:1"}], **document}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        DeploymentSpec.from_dict({"deployment": deployment})


@pytest.mark.parametrize(
    ("containers", "port", "names"),
    [
        (
            [
                {"name": "m", "image": "m:1"},
                {"name": "a", "image": "a:1", "port": 9090},
                {"name": "b", "image": "b:1", "port": 9090},
            ],
            9090,
            ("'a'", "'b'"),
        ),
        (
            [{"name": "m", "image": "m:1"}, {"name": "a", "image": "a:1", "port": 8080}],
            8080,
            ("'m'", "'a'"),
        ),
    ],
)
def test_two_containers_on_one_port_are_refused(
    containers: list[dict[str, Any]], port: int, names: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        DeploymentSpec.from_dict({"deployment": {"containers": containers}})
    text = str(caught.value)
    assert f"port {port}" in text
    assert all(name in text for name in names)
    # Built in Python too (a first container without a port listens on 8080).
    with pytest.raises(ConfigError, match="both declare port 8080"):
        DeploymentSpec(
            containers=[
                Container(name="m", image="m:1"),
                Container(name="a", image="a:1", port=8080),
            ]
        )


def test_a_pod_seccomp_profile_from_the_spec_is_not_overridden_by_a_container_default() -> None:
    profile = {"type": "Localhost", "localhostProfile": "profiles/model.json"}
    spec = DeploymentSpec(
        containers=[Container(name="m", image="m:1")],
        pod_security_context={"seccompProfile": profile},
    )
    pod = pod_of(spec)
    assert pod["securityContext"] == {"seccompProfile": profile}
    assert "seccompProfile" not in pod["containers"][0]["securityContext"]


@pytest.mark.parametrize(
    "given", [{"privileged": True}, {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}]
)
def test_a_privileged_container_gets_no_escalation_default_the_api_server_would_refuse(
    given: dict[str, Any],
) -> None:
    # Kubernetes refuses allowPrivilegeEscalation: false beside privileged or SYS_ADMIN.
    pod = pod_of(
        DeploymentSpec(containers=[Container(name="m", image="m:1", security_context=given)])
    )
    context = pod["containers"][0]["securityContext"]
    assert "allowPrivilegeEscalation" not in context
    assert context["capabilities"]["drop"] == ["ALL"]
