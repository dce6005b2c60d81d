"""The fake API server behaves as the real one where a reviewer found it did not.

Each test states the real API server's behaviour (Kubernetes 1.33, the version the fake
reports) and where it comes from; every one of them failed against the fake before it
was fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _kube_helpers import NS, call, need, ok

from modelship.testing.fake_kube import FakeKube

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

SERVICES = f"/api/v1/namespaces/{NS}/services"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
ROUTES = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes"
MONITORS = f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/podmonitors"


def service(selector: dict[str, str], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fraud"},
        "spec": {"selector": selector, "ports": ports or [{"name": "http", "port": 80}]},
    }


def deployment(name: str = "web", **meta: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, **meta},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }


def lease(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": spec,
    }


def managed(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    """The fieldsV1 of ``manager`` in ``obj``'s managedFields ({} if it owns nothing)."""
    for entry in obj["metadata"].get("managedFields") or []:
        if entry["manager"] == manager:
            fields: dict[str, Any] = entry["fieldsV1"]
            return fields
    return {}


# --- 1. server-side apply follows the schemas' list and map types ------------------------


def test_the_schema_rules_are_the_bundled_kubernetes_schemas() -> None:
    """The fake's table of x-kubernetes-map-type / -list-type / -list-map-keys is exactly
    what the Kubernetes 1.33 OpenAPI schemas (kubernetes-validate) say for its kinds."""
    kubernetes_validate = need("kubernetes_validate")
    from modelship.testing.fake_kube._fields import SCHEMA_RULES

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema/v1.33.0-local"
    defs = json.loads((root / "_definitions.json").read_text())["$defs"]
    kinds = {
        "Pod": "io.k8s.api.core.v1.Pod",
        "Service": "io.k8s.api.core.v1.Service",
        "ConfigMap": "io.k8s.api.core.v1.ConfigMap",
        "Deployment": "io.k8s.api.apps.v1.Deployment",
        "ReplicaSet": "io.k8s.api.apps.v1.ReplicaSet",
        "EndpointSlice": "io.k8s.api.discovery.v1.EndpointSlice",
        "HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        "Lease": "io.k8s.api.coordination.v1.Lease",
    }

    def walk(schema: dict[str, Any], path: tuple[str, ...], out: dict[Any, Any]) -> None:
        if "$ref" in schema:
            schema = {**defs[schema["$ref"].split("/")[-1]], **schema}
            schema.pop("$ref")
        for combined in ("allOf", "oneOf", "anyOf"):
            for part in schema.get(combined, []):
                extra = {k: v for k, v in schema.items() if k.startswith("x-kubernetes")}
                walk({**part, **extra}, path, out)
        if any(k in schema for k in ("allOf", "oneOf", "anyOf")):
            return
        map_type = schema.get("x-kubernetes-map-type")
        list_type = schema.get("x-kubernetes-list-type")
        if "atomic" in (map_type, list_type):
            out[path] = ("atomic", ())
            return
        if list_type == "set":
            out[path] = ("set", ())
        elif list_type == "map":
            out[path] = ("map", tuple(schema["x-kubernetes-list-map-keys"]))
        for name, inner in (schema.get("properties") or {}).items():
            if path or name != "status":
                walk(inner, (*path, name), out)
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], (*path, "*"), out)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], (*path, "[]"), out)

    for kind, name in kinds.items():
        expected: dict[Any, Any] = {}
        walk({"$ref": f"#/{name}"}, (), expected)
        assert SCHEMA_RULES[kind] == expected, kind


def test_an_apply_replaces_a_service_selector_whole_as_it_is_atomic(kube: FakeKube) -> None:
    """Service spec.selector is x-kubernetes-map-type: atomic: an operator's merge patch
    that adds a key takes the whole selector; the owner's apply conflicts on the whole
    selector and, forced, replaces it (the operator's key is gone)."""
    path = f"{SERVICES}/fraud?fieldManager=modelship"
    ok(call(kube, "PATCH", path + "&force=true", service({"app": "fraud"}), APPLY))
    patch = {"spec": {"selector": {"modelship.io/no-traffic": "true"}}}
    ok(call(kube, "PATCH", f"{SERVICES}/fraud?fieldManager=kubectl-patch", patch, MERGE))
    live = kube.get("services", NS, "fraud")
    assert live is not None
    assert managed(live, "kubectl-patch")["f:spec"] == {"f:selector": {}}
    assert "f:selector" not in managed(live, "modelship").get("f:spec", {})

    code, body = call(kube, "PATCH", path, service({"app": "fraud"}), APPLY)
    assert (code, body["reason"]) == (409, "Conflict")
    assert [c["field"] for c in body["details"]["causes"]] == [".spec.selector"]

    out = ok(call(kube, "PATCH", path + "&force=true", service({"app": "fraud"}), APPLY))
    assert out["spec"]["selector"] == {"app": "fraud"}
    assert managed(out, "modelship")["f:spec"]["f:selector"] == {}
    assert "f:spec" not in managed(out, "kubectl-patch")


def test_a_label_selector_of_a_custom_resource_is_atomic(kube: FakeKube) -> None:
    """A PodMonitor's selector is a metav1.LabelSelector (x-kubernetes-map-type: atomic)."""
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "m"},
        "spec": {
            "selector": {"matchLabels": {"app": "fraud"}},
            "podMetricsEndpoints": [{"port": "http"}],
        },
    }
    path = f"{MONITORS}/m?fieldManager=modelship&force=true"
    ok(call(kube, "PATCH", path, body, APPLY))
    patch = {"spec": {"selector": {"matchLabels": {"extra": "x"}}}}
    ok(call(kube, "PATCH", f"{MONITORS}/m?fieldManager=kubectl", patch, MERGE))
    out = ok(call(kube, "PATCH", path, body, APPLY))
    assert out["spec"]["selector"] == {"matchLabels": {"app": "fraud"}}


def test_a_list_of_a_custom_resource_is_atomic(kube: FakeKube) -> None:
    """A custom resource's lists carry no list-type: they are atomic, not merged by name."""
    body: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"parentRefs": [{"name": "gw"}]},
    }
    ok(call(kube, "PATCH", f"{ROUTES}/r?fieldManager=a", body, APPLY))
    body["spec"]["parentRefs"] = [{"name": "gw2"}]
    out = ok(call(kube, "PATCH", f"{ROUTES}/r?fieldManager=b&force=true", body, APPLY))
    assert out["spec"]["parentRefs"] == [{"name": "gw2"}]
    assert managed(out, "b")["f:spec"] == {"f:parentRefs": {}}


def test_service_ports_are_keyed_by_port_and_protocol(kube: FakeKube) -> None:
    """Service ports: list-map-keys [port, protocol] (protocol defaults to TCP): a port
    applied by another manager under another name is the same port, not a second one."""
    path = f"{SERVICES}/fraud?fieldManager="
    ok(call(kube, "PATCH", path + "a", service({"app": "x"}), APPLY))
    renamed = service({"app": "x"}, [{"name": "web", "port": 80, "targetPort": 8080}])
    code, body = call(kube, "PATCH", path + "b", renamed, APPLY)
    assert code == 409
    assert '.spec.ports[port=80,protocol="TCP"].name' in body["message"]
    out = ok(call(kube, "PATCH", path + "b&force=true", renamed, APPLY))
    assert out["spec"]["ports"] == [
        {"name": "web", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    ]
    assert 'k:{"port":80,"protocol":"TCP"}' in managed(out, "b")["f:spec"]["f:ports"]


def test_managed_fields_use_the_real_keys_of_a_pod_template(kube: FakeKube) -> None:
    """Containers by name, their ports by [containerPort, protocol], volumeMounts by
    mountPath, env by name; args and the selector atomic; finalizers a set."""
    body = deployment("web", finalizers=["example.com/keep"])
    body["spec"]["template"]["spec"]["containers"][0].update(
        {
            "args": ["--a", "--b"],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "X", "value": "1"}],
            "volumeMounts": [
                {"name": "v", "mountPath": "/a"},
                {"name": "v", "mountPath": "/b"},
            ],
        }
    )
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "emptyDir": {}}]
    out = ok(call(kube, "PATCH", f"{DEPLOYMENTS}/web?fieldManager=m", body, APPLY))
    fields = managed(out, "m")
    assert fields["f:metadata"]["f:finalizers"] == {'v:"example.com/keep"': {}}
    assert fields["f:spec"]["f:selector"] == {}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["f:args"] == {}
    assert set(container["f:ports"]) == {'k:{"containerPort":8080,"protocol":"TCP"}'}
    assert set(container["f:env"]) == {'k:{"name":"X"}'}
    assert set(container["f:volumeMounts"]) == {'k:{"mountPath":"/a"}', 'k:{"mountPath":"/b"}'}
    mounts = out["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/a", "/b"]

    # A second manager's apply of one mount merges into the list by mountPath.
    other = deployment("web")
    other["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/c"}]}
    ]
    del other["spec"]["replicas"]
    out = ok(call(kube, "PATCH", f"{DEPLOYMENTS}/web?fieldManager=n", other, APPLY))
    mounts = out["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert sorted(m["mountPath"] for m in mounts) == ["/a", "/b", "/c"]


# --- 2. validation: labels, Lease fields, MicroTime ---------------------------------------


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ({"k": "x" * 64}, "must be no more than 63 characters"),
        ({"k": "a b"}, "a valid label must be an empty string or consist of alphanumeric"),
        ({"k": "-a"}, "a valid label must be an empty string"),
        ({"a b": "v"}, "name part must consist of alphanumeric characters"),
        ({"x/" + "k" * 64: "v"}, "name part must be no more than 63 characters"),
        ({"Bad_Prefix/k": "v"}, "prefix part a lowercase RFC 1123 subdomain"),
    ],
)
def test_an_invalid_label_is_refused(kube: FakeKube, labels: dict[str, str], problem: str) -> None:
    """metadata.labels: IsQualifiedName for keys, IsValidLabelValue for values (422)."""
    body = deployment("lv")
    body["metadata"]["labels"].update(labels)
    code, out = call(kube, "POST", DEPLOYMENTS, body)
    assert (code, out["reason"]) == (422, "Invalid")
    assert "metadata.labels: Invalid value: " in out["message"]
    assert problem in out["message"]
    assert kube.get("deployments", NS, "lv") is None


def test_valid_labels_are_stored(kube: FakeKube) -> None:
    body = deployment("lv")
    body["metadata"]["labels"].update(
        {"k": "x" * 63, "empty": "", "example.com/My_Key.1": "My_Value-1.a"}
    )
    assert call(kube, "POST", DEPLOYMENTS, body)[0] == 201


def test_an_invalid_selector_or_template_label_is_refused(kube: FakeKube) -> None:
    code, out = call(kube, "POST", SERVICES, service({"app": "a b"}))
    assert (code, out["reason"]) == (422, "Invalid")
    assert out["message"].startswith('Service "fraud" is invalid: spec.selector: Invalid value')
    body = deployment("tl")
    body["spec"]["template"]["metadata"]["labels"]["bad"] = "a b"
    code, out = call(kube, "POST", DEPLOYMENTS, body)
    assert code == 422
    assert "spec.template.metadata.labels: Invalid value" in out["message"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"leaseDurationSeconds": 0},
            "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        ),
        (
            {"leaseTransitions": -1},
            "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
        ),
    ],
)
def test_lease_counts_are_validated(kube: FakeKube, spec: dict[str, Any], message: str) -> None:
    """ValidateLeaseSpec: a duration above 0, transitions at least 0 (422)."""
    code, out = call(kube, "POST", LEASES, lease("l", **spec))
    assert (code, out["reason"]) == (422, "Invalid")
    assert out["message"] == f'Lease.coordination.k8s.io "l" is invalid: {message}'
    assert kube.get("leases", NS, "l") is None


@pytest.mark.parametrize(
    "when",
    [
        "yesterday",
        # metav1.MicroTime decodes with the fixed layout RFC3339Micro: exactly six
        # fractional digits (kubernetes/kubernetes PR 141204, open, would relax this).
        "2026-12-05T12:00:00Z",
        "2026-12-05T12:00:00.5+01:00",
        "2026-12-05T12:00:00.123456789Z",
        "2026-13-05T12:00:00.000000Z",
        12,
    ],
)
def test_a_renew_time_that_is_not_a_micro_time_is_a_bad_request(kube: FakeKube, when: Any) -> None:
    code, out = call(kube, "POST", LEASES, lease("l", renewTime=when))
    assert (code, out["reason"]) == (400, "BadRequest")
    assert kube.get("leases", NS, "l") is None


def test_a_micro_time_is_stored_in_utc(kube: FakeKube) -> None:
    out = ok(call(kube, "POST", LEASES, lease("l", renewTime="2026-12-05T12:00:00.500000+01:00")))
    assert out["spec"]["renewTime"] == "2026-12-05T11:00:00.500000Z"
    out = ok(call(kube, "POST", LEASES, lease("m", acquireTime="2026-12-05T12:00:00.000001Z")))
    assert out["spec"]["acquireTime"] == "2026-12-05T12:00:00.000001Z"


def test_a_merge_patch_to_a_bad_micro_time_is_invalid(kube: FakeKube) -> None:
    ok(call(kube, "POST", LEASES, lease("l", leaseDurationSeconds=10)))
    patch = {"spec": {"renewTime": "yesterday"}}
    code, out = call(kube, "PATCH", f"{LEASES}/l", patch, MERGE)
    assert (code, out["reason"]) == (422, "Invalid")
    live = kube.get("leases", NS, "l")
    assert live is not None
    assert "renewTime" not in live["spec"]


# --- 3. generation, apply preconditions, finalizers, strategic merge patches -------------


def test_an_annotation_change_bumps_a_deployments_generation(kube: FakeKube) -> None:
    """The Deployment strategy's PrepareForUpdate: "annotation updates bump the generation"
    (labels do not)."""
    created = ok(call(kube, "POST", DEPLOYMENTS, deployment("gen")))
    assert created["metadata"]["generation"] == 1
    patch = {"metadata": {"annotations": {"x": "y"}}}
    out = ok(call(kube, "PATCH", f"{DEPLOYMENTS}/gen", patch, MERGE))
    assert out["metadata"]["generation"] == 2
    out = ok(call(kube, "PATCH", f"{DEPLOYMENTS}/gen", {"metadata": {"labels": {"l": "1"}}}, MERGE))
    assert out["metadata"]["generation"] == 2


def named_service(name: str, **meta: Any) -> dict[str, Any]:
    # A Service: no controller of the fake writes it, so its resourceVersion changes only
    # by the test's own writes (a Deployment's status is written as its pods start).
    body = service({"app": name})
    body["metadata"] = {"name": name, **meta}
    return body


def test_an_apply_with_a_stale_resource_version_is_a_conflict(kube: FakeKube) -> None:
    """A resourceVersion in an applied object is a precondition (409 when stale)."""
    stale = ok(call(kube, "POST", SERVICES, named_service("ssa")))["metadata"]["resourceVersion"]
    ok(call(kube, "PATCH", f"{SERVICES}/ssa", {"metadata": {"labels": {"l": "1"}}}, MERGE))
    body = named_service("ssa", resourceVersion=stale)
    body["spec"]["selector"] = {"app": "other"}
    path = f"{SERVICES}/ssa?fieldManager=m&force=true"
    code, out = call(kube, "PATCH", path, body, APPLY)
    assert (code, out["reason"]) == (409, "Conflict")
    assert "the object has been modified" in out["message"]
    live = kube.get("services", NS, "ssa")
    assert live is not None
    assert live["spec"]["selector"] == {"app": "ssa"}
    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    assert ok(call(kube, "PATCH", path, body, APPLY))["spec"]["selector"] == {"app": "other"}


def test_a_delete_waits_for_the_finalizers(kube: FakeKube) -> None:
    """DELETE of an object with finalizers sets deletionTimestamp (and
    deletionGracePeriodSeconds 0); the object goes when its last finalizer does."""
    body = named_service("fin", finalizers=["example.com/keep"])
    ok(call(kube, "POST", SERVICES, body))
    out = ok(call(kube, "DELETE", f"{SERVICES}/fin"))
    assert "deletionTimestamp" in out["metadata"]
    assert out["metadata"]["deletionGracePeriodSeconds"] == 0
    live = ok(call(kube, "GET", f"{SERVICES}/fin"))
    assert live["metadata"]["deletionTimestamp"] == out["metadata"]["deletionTimestamp"]
    again = ok(call(kube, "DELETE", f"{SERVICES}/fin"))
    assert again["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]

    add = {"metadata": {"finalizers": ["example.com/keep", "example.com/more"]}}
    code, answer = call(kube, "PATCH", f"{SERVICES}/fin", add, MERGE)
    assert code == 422
    assert "no new finalizers can be added if the object is being deleted" in answer["message"]
    # A write cannot take the deletion mark off.
    clear = {"metadata": {"deletionTimestamp": None, "labels": {"l": "1"}}}
    out = ok(call(kube, "PATCH", f"{SERVICES}/fin", clear, MERGE))
    assert out["metadata"]["deletionTimestamp"] == live["metadata"]["deletionTimestamp"]

    ok(call(kube, "PATCH", f"{SERVICES}/fin", {"metadata": {"finalizers": None}}, MERGE))
    assert call(kube, "GET", f"{SERVICES}/fin")[0] == 404


def test_a_delete_without_finalizers_is_at_once(kube: FakeKube) -> None:
    ok(call(kube, "POST", DEPLOYMENTS, deployment("now")))
    ok(call(kube, "DELETE", f"{DEPLOYMENTS}/now"))
    assert call(kube, "GET", f"{DEPLOYMENTS}/now")[0] == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            ROUTES,
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": "r"},
                "spec": {"parentRefs": [{"name": "gw"}]},
            },
        ),
        (
            MONITORS,
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PodMonitor",
                "metadata": {"name": "r"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}},
            },
        ),
    ],
)
def test_a_strategic_merge_patch_of_a_custom_resource_is_unsupported(
    kube: FakeKube, path: str, body: dict[str, Any]
) -> None:
    """Custom resources have no patch strategies: the API server answers 415."""
    ok(call(kube, "POST", path, body))
    code, out = call(kube, "PATCH", f"{path}/r", {"metadata": {"labels": {"a": "b"}}}, STRATEGIC)
    assert (code, out["reason"]) == (415, "UnsupportedMediaType")
    assert ok(call(kube, "PATCH", f"{path}/r", {"metadata": {"labels": {"a": "b"}}}, MERGE))


def test_a_strategic_merge_patch_of_a_built_in_kind_still_works(kube: FakeKube) -> None:
    ok(call(kube, "POST", DEPLOYMENTS, deployment("smp")))
    out = ok(call(kube, "PATCH", f"{DEPLOYMENTS}/smp", {"spec": {"replicas": 3}}, STRATEGIC))
    assert out["spec"]["replicas"] == 3
