"""A spec's security contexts are checked as the API server checks them, when the spec is
read, and the fake API server refuses what the real one refuses (Kubernetes 1.36's
SecurityContext/PodSecurityContext types; core/validation's ValidateSecurityContext)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from _kube_helpers import NS, call, need

from modelship.deploy import Container, DeploymentSpec
from modelship.deploy._security import CONTAINER_FIELDS, POD_FIELDS
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


def read(container: dict[str, Any] | None = None, pod: dict[str, Any] | None = None) -> Any:
    deployment: dict[str, Any] = {
        "containers": [{"name": "m", "image": "m:1", "securityContext": container or {}}]
    }
    if pod is not None:
        deployment["podSecurityContext"] = pod
    return DeploymentSpec.from_dict({"deployment": deployment})


@pytest.mark.parametrize(
    ("container", "pod", "field", "says"),
    [
        ({"runAsUser": "1000"}, None, "containers[0].securityContext.runAsUser", "without quotes"),
        ({"runAsUser": -1}, None, "securityContext.runAsUser", "from 0 to 2147483647"),
        ({"runAsGroup": 2**31}, None, "securityContext.runAsGroup", "from 0 to 2147483647"),
        ({"runAsUser": True}, None, "securityContext.runAsUser", "whole number"),
        ({"readOnlyRootFilesystem": "true"}, None, "readOnlyRootFilesystem", "true or false"),
        ({"runAsNonroot": True}, None, "runAsNonroot", "did you mean 'runAsNonRoot'"),
        ({"capabilities": {"add": "NET_ADMIN"}}, None, "capabilities.add", "not a list"),
        ({"capabilities": {"drop": [1]}}, None, "capabilities.drop[0]", "not text"),
        ({"seccompProfile": "RuntimeDefault"}, None, "seccompProfile", "not a mapping"),
        ({"procMount": "default"}, None, "procMount", "did you mean 'Default'"),
        (None, {"fsGroup": "2000"}, "podSecurityContext.fsGroup", "without quotes"),
        (None, {"supplementalGroups": [1, "2"]}, "supplementalGroups[1]", "without quotes"),
        (None, {"sysctls": [{"name": "a", "value": 1}]}, "sysctls[0].value", "quote it"),
        (
            None,
            {"seccompProfile": {"type": "runtimedefault"}},
            "podSecurityContext.seccompProfile.type",
            "did you mean 'RuntimeDefault'",
        ),
        (
            None,
            {"seccompProfile": {"type": "Localhost"}},
            "seccompProfile",
            "needs localhostProfile",
        ),
        (
            {"seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "p.json"}},
            None,
            "seccompProfile",
            "only be set with type Localhost",
        ),
        (None, {"fsGroupChangePolicy": "Sometimes"}, "fsGroupChangePolicy", "OnRootMismatch"),
        (
            {"privileged": True, "allowPrivilegeEscalation": False},
            None,
            "containers[0].securityContext",
            "remove one of the two",
        ),
        (
            {"capabilities": {"add": ["CAP_SYS_ADMIN"]}, "allowPrivilegeEscalation": False},
            None,
            "containers[0].securityContext",
            "remove one of the two",
        ),
        (None, {"seccompProfile": {}}, "seccompProfile", "type is required"),
        ({"appArmorProfile": {"type": None}}, None, "appArmorProfile", "type is required"),
        (
            {"seccompProfile": {"type": "Localhost", "localhostProfile": "/var/lib/a.json"}},
            None,
            "seccompProfile.localhostProfile",
            "must be a relative path",
        ),
        (
            None,
            {"seccompProfile": {"type": "Localhost", "localhostProfile": "x/../../a.json"}},
            "seccompProfile.localhostProfile",
            "without '..'",
        ),
        (
            None,
            {"seccompProfile": {"type": "RuntimeDefault", "localhostProfile": ""}},
            "seccompProfile",
            "only be set with type Localhost",
        ),
        (
            {"appArmorProfile": {"type": "Localhost", "localhostProfile": "  "}},
            None,
            "appArmorProfile",
            "needs localhostProfile",
        ),
    ],
)
def test_a_value_the_api_server_would_refuse_is_refused_when_the_spec_is_read(
    container: dict[str, Any] | None, pod: dict[str, Any] | None, field: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(container, pod)
    text = str(caught.value)
    assert field in text, text
    assert says in text, text


@pytest.mark.parametrize(
    ("container", "pod", "field", "belongs"),
    [
        (
            None,
            {"readOnlyRootFilesystem": True},
            "podSecurityContext.readOnlyRootFilesystem",
            "a container's",
        ),
        (
            None,
            {"allowPrivilegeEscalation": False},
            "podSecurityContext.allowPrivilegeEscalation",
            "a container's",
        ),
        (
            None,
            {"capabilities": {"drop": ["ALL"]}},
            "podSecurityContext.capabilities",
            "a container's",
        ),
        ({"fsGroup": 2000}, None, "securityContext.fsGroup", "the pod's"),
        ({"sysctls": []}, None, "securityContext.sysctls", "the pod's"),
    ],
)
def test_a_field_of_the_other_context_is_refused_naming_where_it_belongs(
    container: dict[str, Any] | None, pod: dict[str, Any] | None, field: str, belongs: str
) -> None:
    # The API server's default field validation (Warn) would drop it: the hardening asked
    # for would silently not hold.
    with pytest.raises(ConfigError) as caught:
        read(container, pod)
    text = str(caught.value)
    assert field in text, text
    assert f"a field of {belongs}" in text, text
    assert "move it there" in text, text


def test_a_long_field_name_is_cut_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        read({"s" * 300: {"a": 1.5}})
    assert len(str(caught.value)) < 300


def test_python_records_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"securityContext\.runAsUser: '10001' is text"):
        Container(name="m", image="m:1", security_context={"runAsUser": "10001"})
    with pytest.raises(ConfigError, match=r"podSecurityContext\.runAsNonRoot: 'yes'"):
        DeploymentSpec(
            containers=[Container(name="m", image="m:1")],
            pod_security_context={"runAsNonRoot": "yes"},
        )


def test_a_whole_reference_is_read_as_the_number_it_spells() -> None:
    spec = DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [
                    {"name": "m", "image": "m:1", "securityContext": {"runAsUser": "${UID}"}}
                ],
                "podSecurityContext": {"fsGroup": "${GID}", "supplementalGroups": ["${GID}"]},
            }
        },
        variables={"UID": "10001", "GID": "2000"},
    )
    assert spec.containers[0].security_context == {"runAsUser": 10001}
    assert spec.pod_security_context == {"fsGroup": 2000, "supplementalGroups": [2000]}
    with pytest.raises(ConfigError, match="runAsUser"):
        DeploymentSpec.from_dict(
            {
                "deployment": {
                    "containers": [
                        {"name": "m", "image": "m:1", "securityContext": {"runAsUser": "u${UID}"}}
                    ]
                }
            },
            variables={"UID": "1"},
        )


def test_sys_admin_without_the_prefix_passes_as_the_api_server_lets_it() -> None:
    # The API server compares the text "CAP_SYS_ADMIN"; refusing other spellings would
    # only push users to drop allowPrivilegeEscalation: false.
    context = {"capabilities": {"add": ["SYS_ADMIN"]}, "allowPrivilegeEscalation": False}
    assert read(context).containers[0].security_context == context


def test_valid_contexts_unknown_new_fields_and_nulls_pass_as_written() -> None:
    container = {
        "runAsUser": 0,
        "runAsGroup": 2**31 - 1,
        "runAsNonRoot": False,
        "allowPrivilegeEscalation": None,  # null: unset, the adapter's default dropped
        "privileged": True,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/m.json"},
        "appArmorProfile": {"type": "RuntimeDefault"},
        "seLinuxOptions": {"level": "s0:c123,c456"},
        "windowsOptions": {"hostProcess": False, "runAsUserName": "ContainerUser"},
        "procMount": "Unmasked",
        "someFieldOfKubernetes2030": {"x": 1},  # far from every known name: the server judges
    }
    pod = {
        "fsGroup": 2000,
        "fsGroupChangePolicy": "OnRootMismatch",
        "supplementalGroups": [1, 2],
        "supplementalGroupsPolicy": "Strict",
        "seLinuxChangePolicy": "MountOption",
        "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
    }
    spec = read(container, pod)
    assert spec.containers[0].security_context == container
    assert spec.pod_security_context == pod


def test_the_tables_hold_every_field_of_the_kubernetes_schemas() -> None:
    # The fields are Kubernetes 1.36's: kubernetes-validate ships its schema.
    kubernetes_validate = need("kubernetes_validate")
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    schema = root / "v1.36.0-local-strict"
    for name, table in (("securitycontext", CONTAINER_FIELDS), ("podsecuritycontext", POD_FIELDS)):
        properties = json.loads((schema / f"{name}-v1.json").read_text())["properties"]
        assert set(properties) == set(table), name


# --- the fake API server ---------------------------------------------------------------------


def deployment(context: dict[str, Any], pod: dict[str, Any] | None = None) -> dict[str, Any]:
    labels = {"app": "sc"}
    template_spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "i", "securityContext": context}]
    }
    if pod is not None:
        template_spec["securityContext"] = pod
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sc", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": template_spec},
        },
    }


@pytest.mark.parametrize(
    ("context", "pod", "message"),
    [
        (
            {"privileged": True, "allowPrivilegeEscalation": False},
            None,
            "spec.template.spec.containers[0].securityContext: Invalid value: "
            "core.SecurityContext{...}: cannot set `allowPrivilegeEscalation` to false and "
            "`privileged` to true",
        ),
        (
            {"capabilities": {"add": ["CAP_SYS_ADMIN"]}, "allowPrivilegeEscalation": False},
            None,
            "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
        ),
        (
            {"runAsUser": -5},
            None,
            "spec.template.spec.containers[0].securityContext.runAsUser: Invalid value: -5: "
            "must be between 0 and 2147483647, inclusive",
        ),
        (
            {},
            {"fsGroup": 2**31},
            "spec.template.spec.securityContext.fsGroup: Invalid value: 2147483648: must be "
            "between 0 and 2147483647, inclusive",
        ),
        (
            {},
            {"supplementalGroups": [3, -1]},
            "spec.template.spec.securityContext.supplementalGroups[1]: Invalid value: -1",
        ),
    ],
)
def test_the_fake_refuses_what_the_api_server_refuses(
    kube: FakeKube, context: dict[str, Any], pod: dict[str, Any] | None, message: str
) -> None:
    code, out = call(kube, "POST", DEPLOYMENTS, deployment(context, pod))
    assert (code, out["reason"]) == (422, "Invalid"), out
    assert message in out["message"]
    assert kube.get("deployments", NS, "sc") is None


def test_the_fake_accepts_what_the_api_server_accepts(kube: FakeKube) -> None:
    # The API server compares the capability's text: SYS_ADMIN without the prefix passes.
    accepted = [
        {"capabilities": {"add": ["SYS_ADMIN"]}, "allowPrivilegeEscalation": False},
        {"privileged": True},
        {"privileged": False, "allowPrivilegeEscalation": False, "runAsUser": 2**31 - 1},
    ]
    for i, context in enumerate(accepted):
        body = copy.deepcopy(deployment(context, {"fsGroup": 0, "supplementalGroups": [0]}))
        body["metadata"]["name"] = f"sc{i}"
        code, out = call(kube, "POST", DEPLOYMENTS, body)
        assert code == 201, out
