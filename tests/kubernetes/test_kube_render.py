"""render(): the manifests, their labels and probes, and their validity against the schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from _crd_schemas import SCHEMAS, validate_custom
from _kube_helpers import hpa, need
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import (
    Container,
    DeploymentSpec,
    HealthCheck,
    KubernetesDeployer,
    Monitoring,
    Resources,
)
from modelship.deploy.kubernetes import dry_run, render, to_yaml
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube

kubernetes_validate = need("kubernetes_validate")
jsonschema = need("jsonschema")

VERSIONS = ("1.30", "1.33", "1.36")
DOCS = Path(__file__).parents[2] / "docs" / "kubernetes.md"


def full_spec() -> DeploymentSpec:
    return DeploymentSpec(
        containers=[
            Container(
                name="model-service",
                image="ai-model:3",
                port=9000,
                resources=Resources(limits={"memory": "4Gi", "cpu": "2"}, requests={"cpu": "500m"}),
                env={"OMP_NUM_THREADS": "2"},
                args=("--max-body-bytes", "2000000"),
            ),
            Container(name="log-shipper", image="fluent-bit:3", args=("-c", "/cfg")),
        ],
        replicas=3,
        healthcheck=HealthCheck(path="/health", initial_delay_seconds=30, period_seconds=10),
        monitoring=Monitoring(enabled=True, metrics=("inference_latency",)),
    )


def layouts() -> list[dict[str, Any]]:
    return [
        {},
        {"traffic": "httproute", "gateway": "public", "gateway_namespace": "infra"},
        {"pod_monitor": True, "scrape_annotations": False},
    ]


def objects(**options: Any) -> list[dict[str, Any]]:
    return render(
        "fraud", "3", full_spec(), slot="green", app="fraud", namespace="models",
        registry_url="s3://models/prod", **options,
    )  # fmt: skip


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("options", layouts(), ids=["service", "httproute", "podmonitor"])
def test_every_built_in_manifest_validates_strictly(version: str, options: dict[str, Any]) -> None:
    built_in = [o for o in objects(**options) if o["kind"] in ("Deployment", "Service")]
    assert built_in
    for obj in built_in:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_validator_ships_the_versions_we_validate_against() -> None:
    from kubernetes_validate.utils import all_versions

    assert {f"{v}.0" for v in VERSIONS} <= set(all_versions())


@pytest.mark.parametrize("kind", ["HTTPRoute", "PodMonitor"])
def test_custom_resources_validate_strictly_against_their_structural_schema(kind: str) -> None:
    objs = objects(
        traffic="httproute", gateway="public", gateway_namespace="infra", pod_monitor=True
    )
    (obj,) = by_kind(objs, kind)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):  # why we need our own
        kubernetes_validate.validate(obj, "1.33", strict=True)
    validate_custom(obj)


def route() -> dict[str, Any]:
    (obj,) = by_kind(objects(traffic="httproute", gateway="public"), "HTTPRoute")
    return obj


@pytest.mark.parametrize(
    ("mistake", "change"),
    [
        (
            "a weight that is not an integer",
            lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(weight="10"),
        ),
        (
            "a weight above 1000000",
            lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(weight=1000001),
        ),
        (
            "a Service backend without a port",
            lambda r: r["spec"]["rules"][0]["backendRefs"][0].pop("port"),
        ),
        ("a misspelt field", lambda r: r["spec"].update(parentRef=r["spec"].pop("parentRefs"))),
        ("a parent without a name", lambda r: r["spec"]["parentRefs"][0].pop("name")),
        ("17 rules", lambda r: r["spec"].update(rules=r["spec"]["rules"] * 17)),
        ("an invalid label value", lambda r: r["metadata"]["labels"].update(x="-bad-")),
    ],
)
def test_the_route_schema_catches(mistake: str, change: Any) -> None:
    obj = route()
    validate_custom(obj)
    change(obj)
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(obj)


def test_the_pod_monitor_schema_catches_a_monitor_without_a_selector() -> None:
    (obj,) = by_kind(objects(pod_monitor=True), "PodMonitor")
    validate_custom(obj)
    del obj["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(obj)


def validate_any(obj: dict[str, Any]) -> None:
    if obj["kind"] in SCHEMAS:
        validate_custom(obj)
        return
    for version in VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("traffic", ["service", "httproute"])
def test_every_object_the_deployer_sends_validates_split_idle_and_autoscaled(
    traffic: str, kube: FakeKube, make_deployer: Callable[..., KubernetesDeployer]
) -> None:
    options = {"traffic": "httproute", "gateway": "public"} if traffic == "httproute" else {}
    dep = make_deployer(pod_monitor=True, **options)
    kube.create(hpa("fraud-green"))  # green's first apply sends no replicas
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, full_spec())
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 100})
    if traffic == "httproute":
        dep.set_traffic({"blue": 80, "green": 20})  # a replica split is refused with an HPA
    dep.set_traffic({})
    sent = [r.body for r in kube.writes() if r.content_type == "application/apply-patch+yaml"]
    deployments = [o for o in sent if o["kind"] == "Deployment"]
    assert ["replicas" in o["spec"] for o in deployments] == [True, False]
    services = [o for o in sent if o["kind"] == "Service" and o["metadata"]["name"] == "fraud"]
    routes = [o for o in sent if o["kind"] == "HTTPRoute"]
    # all to blue, (a split: weights for a route), then none
    assert (len(routes), len(services)) == ((3, 0) if traffic == "httproute" else (0, 2))
    assert {o["kind"] for o in sent} >= {"Deployment", "Service", "PodMonitor"}
    for obj in sent:
        validate_any(obj)


def test_a_replica_split_and_no_traffic_service_validate() -> None:
    from modelship.deploy.kubernetes._render import KubeOptions, app_service, slot_objects

    opts = KubeOptions(namespace="models", app="fraud", registry_url="s3://m")
    variants = [
        app_service(opts, {"blue": 80, "green": 20}),
        app_service(opts, {}),
        *slot_objects("fraud", "3", full_spec(), "blue", opts, replicas=None),
    ]
    assert "modelship.io/slot" not in variants[0]["spec"]["selector"]
    assert "replicas" not in variants[2]["spec"]
    for obj in variants:
        validate_any(obj)


def test_the_http_route_sends_all_traffic_to_the_rendered_slot() -> None:
    objs = objects(traffic="httproute", gateway="public", gateway_namespace="infra")
    (route,) = by_kind(objs, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "infra"}]
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "fraud-green", "port": 80, "weight": 100}
    ]


def test_a_mistake_the_validator_catches_is_reported() -> None:
    (deployment, *_) = objects()
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.33", strict=True)


def test_the_rbac_role_in_the_docs_validates() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    docs = [d for block in blocks for d in yaml.safe_load_all(block) if d]
    roles = [d for d in docs if d.get("kind") in ("Role", "RoleBinding", "ServiceAccount")]
    assert {d["kind"] for d in roles} == {"Role", "RoleBinding", "ServiceAccount"}
    for version in VERSIONS:
        for doc in roles:
            kubernetes_validate.validate(doc, version, strict=True)


def test_the_rbac_role_grants_every_verb_the_adapter_uses() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    (role,) = [d for b in blocks for d in yaml.safe_load_all(b) if d and d.get("kind") == "Role"]
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    needed = (
        {("apps", "deployments", v) for v in ("get", "list", "watch", "patch", "delete")}
        | {("", "services", v) for v in ("get", "patch", "delete")}
        | {("discovery.k8s.io", "endpointslices", v) for v in ("list", "watch")}
        | {("", "services/proxy", "get"), ("autoscaling", "horizontalpodautoscalers", "list")}
        | {("gateway.networking.k8s.io", "httproutes", v) for v in ("get", "patch")}
        | {("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")}
    )
    assert needed <= granted


def test_slot_objects_carry_the_recommended_and_our_labels() -> None:
    deployment, service, app = objects()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": "fraud",
        "app.kubernetes.io/instance": "fraud",
        "app.kubernetes.io/version": "3",
        "app.kubernetes.io/managed-by": "modelship",
        "app.kubernetes.io/component": "model-server",
        "modelship.io/model": "fraud",
        "modelship.io/version": "3",
        "modelship.io/slot": "green",
    }
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/instance": "fraud",
        "modelship.io/slot": "green",
    }
    assert service["spec"]["selector"]["modelship.io/version"] == "3"
    assert app["spec"]["selector"] == {
        "app.kubernetes.io/instance": "fraud",
        "modelship.io/slot": "green",
    }


def test_the_container_runs_modelship_serve_with_the_specs_probes_and_resources() -> None:
    (deployment, *_) = objects()
    server, sidecar = deployment["spec"]["template"]["spec"]["containers"]
    assert server["command"] == ["modelship"]
    assert server["args"] == [
        "serve", "s3://models/prod", "fraud", "3", "--host", "0.0.0.0", "--port", "9000",
        "--graceful-seconds", "30", "--max-body-bytes", "2000000",
    ]  # fmt: skip
    assert server["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 9000, "scheme": "HTTP"}
    assert server["livenessProbe"]["httpGet"] == {"path": "/health", "port": 9000, "scheme": "HTTP"}
    assert server["livenessProbe"]["initialDelaySeconds"] == 30
    assert server["livenessProbe"]["periodSeconds"] == 10
    assert server["resources"] == {
        "limits": {"cpu": "2", "memory": "4Gi"},
        "requests": {"cpu": "500m"},
    }
    assert server["env"] == [{"name": "OMP_NUM_THREADS", "value": "2"}]
    assert server["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 40
    assert "command" not in sidecar
    assert sidecar["args"] == ["-c", "/cfg"]
    assert deployment["spec"]["replicas"] == 3


def test_pods_carry_scrape_annotations_unless_a_pod_monitor_replaces_them() -> None:
    (deployment, *_) = objects()
    notes = deployment["spec"]["template"]["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/port"] == "9000"
    objs = objects(pod_monitor=True, scrape_annotations=False)
    assert "prometheus.io/scrape" not in objs[0]["spec"]["template"]["metadata"]["annotations"]
    (monitor,) = by_kind(objs, "PodMonitor")
    assert monitor["spec"]["podTargetLabels"] == [
        "modelship.io/model",
        "modelship.io/version",
        "modelship.io/slot",
    ]


def test_a_version_that_cannot_be_a_label_value_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="version '1 final'"):
        render("fraud", "1 final", full_spec(), registry_url="s3://m")


def test_rendering_without_a_registry_url_says_pods_need_one() -> None:
    with pytest.raises(ConfigError, match="registry_url"):
        render("fraud", "1", full_spec())


def test_rendering_without_spec_or_image_says_what_to_pass() -> None:
    with pytest.raises(ConfigError, match="image="):
        render("fraud", "1", registry_url="s3://m")


def test_dry_run_prints_what_render_returns_as_yaml() -> None:
    text = dry_run("fraud", "3", full_spec(), slot="green", app="fraud", registry_url="s3://m")
    assert list(yaml.safe_load_all(text)) == render(
        "fraud", "3", full_spec(), slot="green", app="fraud", registry_url="s3://m"
    )
    assert to_yaml([]) == ""


def documented_labels() -> tuple[set[str], set[str]]:
    """The labels docs/kubernetes.md says slot objects and shared objects carry."""
    slot, shared = set(), set()
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.match(r"`(a\.k\.io|modelship\.io)/", cells[0]):
            continue
        names = {
            n.replace("a.k.io/", "app.kubernetes.io/") for n in re.findall(r"`([^`]+)`", cells[0])
        }
        if cells[1] != "—":
            slot |= names
        if cells[2] != "—":
            shared |= names
    return slot, shared


def test_the_docs_list_exactly_the_labels_each_object_carries() -> None:
    slot, shared = documented_labels()
    assert slot
    assert shared
    objs = objects(pod_monitor=True) + objects(traffic="httproute", gateway="public")
    for obj in objs:
        is_slot = obj["metadata"]["name"] == "fraud-green"
        assert set(obj["metadata"]["labels"]) == (slot if is_slot else shared), obj["kind"]
        if obj["kind"] == "Deployment":
            assert set(obj["spec"]["template"]["metadata"]["labels"]) == slot


# --- hostile-review mends ----------------------------------------------------------------------


def test_an_app_name_starting_with_a_digit_is_refused() -> None:
    # It names the Services, and a Service's name is a DNS-1035 label: the API server
    # refuses '9fraud' (kubernetes-validate does not check names).
    with pytest.raises(ConfigError, match="app must start with a letter"):
        render("m", "1", full_spec(), app="9fraud", registry_url="s3://m")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("service_port", "80", "service_port must be a whole number"),
        ("service_port", True, "service_port must be a whole number"),
        ("service_port", 80.5, "service_port must be a whole number"),
        ("graceful_seconds", "30", "graceful_seconds must be a whole number"),
        ("graceful_seconds", -100, "graceful_seconds must be a whole number"),
        ("pod_monitor", "no", "pod_monitor must be True or False"),
        ("scrape_annotations", 1, "scrape_annotations must be True or False"),
        ("gateway_namespace", "Infra_NS", "gateway_namespace must be a DNS label"),
        ("gateway", "has space", "gateway must name a Gateway"),
        ("registry_url", 5, "registry_url must be a non-empty string"),
        ("namespace", 5, "namespace must be a DNS label"),
    ],
)
def test_options_of_the_wrong_type_are_config_errors(option: str, value: Any, says: str) -> None:
    options: dict[str, Any] = {"app": "fraud", "registry_url": "s3://m", option: value}
    if option.startswith("gateway"):
        options = {"traffic": "httproute", "gateway": "public", **options}
    with pytest.raises(ConfigError, match=says):
        render("m", "1", full_spec(), **options)


def test_a_model_name_that_is_not_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot be a Kubernetes label value"):
        render(5, "1", full_spec(), app="fraud", registry_url="s3://m")  # type: ignore[arg-type]


def test_numpy_options_render_as_python_numbers() -> None:
    import json

    import numpy as np

    objs = render(
        "m", "1", full_spec(), app="fraud", registry_url="s3://m", service_port=np.int64(8080)
    )
    (service,) = [o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "fraud"]
    assert type(service["spec"]["ports"][0]["port"]) is int
    json.dumps(objs)


# What other YAML readers (kubectl's go-yaml, YAML 1.1 and 1.2) take for a boolean, a
# number or null; PyYAML wrote most of them plain.
DOUBTFUL = ["y", "n", "Y", "N", "yes", "off", "1e-3", "1E3", "0o17", "0x1F", ".5", "+1", "1_000"]
DOUBTFUL += ["12:30", "~", "Null", "NULL", "True", ".inf", "-.inf", ".NaN", "0b101", "-", "1."]


@pytest.mark.parametrize("text", DOUBTFUL)
def test_to_yaml_quotes_text_another_reader_could_take_for_a_number_or_boolean(text: str) -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": text}, "a": [text]}]
    out = to_yaml(objects)
    assert f"k: '{text}'" in out
    assert yaml.safe_load(out) == objects[0]


def test_to_yaml_writes_plain_what_no_reader_doubts() -> None:
    out = to_yaml([{"apiVersion": "apps/v1", "image": "ai-model:3", "url": "s3://m/x"}])
    assert out == "apiVersion: apps/v1\nimage: ai-model:3\nurl: s3://m/x\n"


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=4))
def test_to_yaml_reads_back_as_written(data: dict[str, str]) -> None:
    assert yaml.safe_load(to_yaml([data])) == data
