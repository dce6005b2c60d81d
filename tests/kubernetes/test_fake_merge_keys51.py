"""The fake API server's strategic merge patch merges each list by its own merge key.

The real API server merges a list in a strategic merge patch by the list's
``x-kubernetes-patch-merge-key`` (a container's ports by ``containerPort``, a Service's by
``port``, volume mounts by ``mountPath``), takes the union of a list of scalars whose
patch strategy is merge (``finalizers``, with ``$deleteFromPrimitiveList``), and replaces
every other list. ``kubectl apply`` and ``kubectl patch`` send such patches. Every test
here failed against the fake before it was fixed, when it merged lists by ``name`` only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _kube_helpers import NS, call, need, ok

from modelship.testing.fake_kube import FakeKube
from modelship.testing.fake_kube._controller import _max_unavailable

STRATEGIC = "application/strategic-merge-patch+json"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SERVICES = f"/api/v1/namespaces/{NS}/services"


def deployment(**container: Any) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels, "finalizers": ["a.io/x"]},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "c", "image": "i", **container}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def patch(kube: FakeKube, body: Any) -> tuple[int, Any]:
    return call(kube, "PATCH", f"{DEPLOYMENTS}/web", body, STRATEGIC)


def in_container(**fields: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "c", **fields}]}}}}


def container(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return found


def ports(obj: dict[str, Any]) -> list[Any]:
    return [(p["containerPort"], p.get("protocol")) for p in container(obj)["ports"]]


TWO_PORTS = [{"containerPort": 8080}, {"containerPort": 9090}]


def test_a_ports_patch_merges_by_container_port(kube: FakeKube) -> None:
    """A new port joins the live ones (before, the patch's list replaced them all)."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(ports=TWO_PORTS)))
    out = ok(patch(kube, in_container(ports=[{"containerPort": 7070}])))
    assert ports(out) == [(7070, None), (8080, None), (9090, None)]


def test_a_port_merges_by_container_port_alone_not_protocol(kube: FakeKube) -> None:
    """The patch merge key is containerPort only (the server-side apply keys add
    protocol): a UDP 8080 in a patch changes the live TCP 8080, as the real server does."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(ports=TWO_PORTS)))
    out = ok(patch(kube, in_container(ports=[{"containerPort": 8080, "protocol": "UDP"}])))
    assert ports(out) == [(8080, "UDP"), (9090, None)]


def test_kubectl_applys_port_patch_with_order_and_delete(kube: FakeKube) -> None:
    """kubectl apply's patch replacing port 80 by 443 (from its own tests)."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(ports=[{"containerPort": 80, "name": "http"}])))
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [
                        {
                            "$setElementOrder/ports": [{"containerPort": 443}],
                            "name": "c",
                            "ports": [
                                {"containerPort": 443, "name": "https"},
                                {"$patch": "delete", "containerPort": 80},
                            ],
                        }
                    ],
                }
            }
        }
    }
    out = ok(patch(kube, body))
    assert container(out)["ports"] == [{"containerPort": 443, "name": "https"}]


def test_set_element_order_of_ports_and_volume_mounts(kube: FakeKube) -> None:
    mounts = [{"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": "/b"}]
    ok(call(kube, "POST", DEPLOYMENTS, deployment(ports=TWO_PORTS, volumeMounts=mounts)))
    order = [{"containerPort": 9090}, {"containerPort": 7070}, {"containerPort": 8080}]
    body = in_container(
        **{"$setElementOrder/ports": order, "ports": [{"containerPort": 7070}]},
        **{
            "$setElementOrder/volumeMounts": [{"mountPath": "/b"}, {"mountPath": "/a"}],
            "volumeMounts": [{"mountPath": "/a", "readOnly": True}],
        },
    )
    out = ok(patch(kube, body))
    assert [p for p, _ in ports(out)] == [9090, 7070, 8080]
    assert container(out)["volumeMounts"] == [
        {"name": "data", "mountPath": "/b"},
        {"name": "data", "mountPath": "/a", "readOnly": True},
    ]


def test_a_service_port_patch_merges_by_port(kube: FakeKube) -> None:
    """``oc patch svc``'s documented patch: a port added, ordered by $setElementOrder."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]},
    }
    ok(call(kube, "POST", SERVICES, service))
    body = {
        "spec": {
            "$setElementOrder/ports": [{"port": 9097}, {"port": 8080}],
            "ports": [{"name": "jmx", "port": 9097}],
        }
    }
    out = ok(call(kube, "PATCH", f"{SERVICES}/s", body, STRATEGIC))
    assert [(p["name"], p["port"]) for p in out["spec"]["ports"]] == [("jmx", 9097), ("http", 8080)]


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list(kube: FakeKube) -> None:
    """kubectl apply adding and removing a finalizer: the union, ordered, then the
    $deleteFromPrimitiveList values taken out."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    added = {
        "metadata": {"$setElementOrder/finalizers": ["b.io/y", "a.io/x"], "finalizers": ["b.io/y"]}
    }
    assert ok(patch(kube, added))["metadata"]["finalizers"] == ["b.io/y", "a.io/x"]
    assert ok(patch(kube, {"metadata": {"finalizers": ["a.io/x", "c.io/z"]}}))["metadata"][
        "finalizers"
    ] == ["b.io/y", "a.io/x", "c.io/z"]
    removed = {
        "metadata": {
            "$setElementOrder/finalizers": ["c.io/z", "b.io/y"],
            "$deleteFromPrimitiveList/finalizers": ["a.io/x"],
        }
    }
    assert ok(patch(kube, removed))["metadata"]["finalizers"] == ["c.io/z", "b.io/y"]


def test_set_element_order_of_a_replaced_list_of_scalars_orders_it(kube: FakeKube) -> None:
    """args has no patch strategy: the real server still orders it by $setElementOrder."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(args=["a", "b"])))
    out = ok(patch(kube, in_container(**{"$setElementOrder/args": ["b", "a"]})))
    assert container(out)["args"] == ["b", "a"]
    out = ok(patch(kube, in_container(**{"$setElementOrder/args": ["y", "x"], "args": ["y", "x"]})))
    assert container(out)["args"] == ["y", "x"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (in_container(ports=[{"name": "p"}]), "merge key, containerPort"),
        (
            in_container(ports=[{"$patch": "delete", "name": "p"}]),
            "has no containerPort (its merge key)",
        ),
        (
            in_container(**{"$deleteFromPrimitiveList/args": ["a"]}),
            "not a list of scalars merged as a set (a strategic merge patch replaces it)",
        ),
        (
            in_container(**{"$deleteFromPrimitiveList/env": ["A"]}),
            "merges its items by name",
        ),
        (
            {
                "spec": {
                    "template": {
                        "spec": {"$setElementOrder/tolerations": [{"key": "k"}], "tolerations": []}
                    }
                }
            },
            "no merge key to order its items by",
        ),
    ],
)
def test_what_the_real_server_refuses_is_400(
    kube: FakeKube, body: dict[str, Any], says: str
) -> None:
    made = ok(call(kube, "POST", DEPLOYMENTS, deployment(ports=TWO_PORTS, args=["a"])))
    code, out = patch(kube, body)
    assert (code, out["reason"]) == (400, "BadRequest"), out
    assert says in out["message"]
    now = kube.get("deployments", NS, "web")
    assert now is not None
    assert now["spec"] == made["spec"]


def test_the_patch_merge_keys_are_the_bundled_kubernetes_schemas() -> None:
    """The fake's table of lists a strategic merge patch merges is exactly what the
    Kubernetes 1.33 OpenAPI schemas (kubernetes-validate) say: x-kubernetes-patch-strategy
    merge and x-kubernetes-patch-merge-key, for every list reached through merged maps
    and lists (a replaced list's items are never merged)."""
    kubernetes_validate = need("kubernetes_validate")
    from modelship.testing.fake_kube._fields import PATCH_MERGE_KEYS

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

    def walk(schema: dict[str, Any], path: tuple[str, ...], out: dict[Any, str]) -> None:
        if "$ref" in schema:
            schema = {**defs[schema["$ref"].split("/")[-1]], **schema}
            schema.pop("$ref")
        for combined in ("allOf", "oneOf", "anyOf"):
            for part in schema.get(combined, []):
                extra = {k: v for k, v in schema.items() if k.startswith("x-kubernetes")}
                walk({**part, **extra}, path, out)
        for name, inner in (schema.get("properties") or {}).items():
            walk(inner, (*path, name), out)
        if isinstance(schema.get("items"), dict):
            if "merge" not in schema.get("x-kubernetes-patch-strategy", "").split(","):
                return  # a replaced list
            out[path] = schema.get("x-kubernetes-patch-merge-key", "")
            walk(schema["items"], (*path, "[]"), out)

    for kind, name in kinds.items():
        expected: dict[Any, str] = {}
        walk({"$ref": f"#/{name}"}, (), expected)
        assert PATCH_MERGE_KEYS[kind] == expected, kind


def test_a_percentage_past_int64_fails_the_controllers_atoi() -> None:
    """strconv.Atoi fails on 9223372036854775808: ResolveFenceposts' error, which
    MaxUnavailable reads as 0 (before, only a 20-digit number did)."""

    def spec(surge: str) -> dict[str, Any]:
        rolling = {"maxSurge": surge, "maxUnavailable": 1}
        return {"strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}

    assert _max_unavailable(spec("9223372036854775807%"), 4) == 1
    assert _max_unavailable(spec("9223372036854775808%"), 4) == 0
    assert _max_unavailable(spec("0009300000000000000000%"), 4) == 0
