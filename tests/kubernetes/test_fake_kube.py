"""The fake API server answers the official client's typed APIs with the real shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _kube_helpers import NS, need
from hypothesis import given
from hypothesis import strategies as st

from modelship.testing.fake_kube import FakeKube, Fault, FaultKind, Timings
from modelship.testing.fake_kube._store import parse_selector

kubernetes = need("kubernetes")
client = kubernetes.client
ApiException = kubernetes.client.exceptions.ApiException


@pytest.fixture
def api(kube: FakeKube) -> Iterator[Any]:
    cfg = client.Configuration()
    cfg.host = kube.url
    with client.ApiClient(cfg) as api_client:
        yield api_client


def deployment(name: str = "web", replicas: int = 2, image: str = "nginx:1") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


def status_of(exc: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_a_missing_object_is_a_404_with_a_status_body(api: Any) -> None:
    with pytest.raises(ApiException) as info:
        client.AppsV1Api(api).read_namespaced_deployment("nope", NS)
    assert info.value.status == 404
    assert status_of(info.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }


def test_typed_objects_round_trip_through_create_and_read(api: Any) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment(NS, deployment())
    assert created.metadata.generation == 1
    assert created.metadata.uid
    read = apps.read_namespaced_deployment("web", NS)
    assert read.spec.template.spec.containers[0].image == "nginx:1"
    assert read.metadata.uid == created.metadata.uid


def test_a_created_object_answers_with_the_status_the_api_server_starts_it_with(
    api: Any,
) -> None:
    # The real API server answers a create with an empty status struct (``status: {}`` for
    # a Deployment), not without one: code that reads the answer must cope with both.
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    answer = apps.create_namespaced_deployment(NS, deployment(), _preload_content=False)
    assert json.loads(answer.data)["status"] == {}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},  # ignored on create
    }
    answer = core.create_namespaced_service(NS, service, _preload_content=False)
    assert json.loads(answer.data)["status"] == {"loadBalancer": {}}
    applied = apps.patch_namespaced_deployment(
        "applied",
        NS,
        deployment("applied"),
        field_manager="t",
        _content_type="application/apply-patch+yaml",
        _preload_content=False,
    )
    assert (applied.status, json.loads(applied.data)["status"]) == (201, {})
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [{"backendRefs": [{"name": "a", "port": 80, "weight": 1}]}]},
    }
    created = client.CustomObjectsApi(api).create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", NS, "httproutes", route
    )
    assert "status" not in created  # a custom resource with a status subresource gets none


def test_creating_twice_is_409_already_exists(api: Any) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(NS, deployment())
    with pytest.raises(ApiException) as info:
        apps.create_namespaced_deployment(NS, deployment())
    assert (info.value.status, status_of(info.value)["reason"]) == (409, "AlreadyExists")


def test_a_replace_with_a_stale_resource_version_is_409_conflict(api: Any) -> None:
    core = client.CoreV1Api(api)  # a ConfigMap: no controller writes it in between
    first = core.create_namespaced_config_map(
        NS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}}
    )
    first.data = {"k": "2"}
    second = core.replace_namespaced_config_map("c", NS, first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    first.data = {"k": "3"}  # still the first resourceVersion
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("c", NS, first)
    assert info.value.status == 409
    assert "the object has been modified" in status_of(info.value)["message"]
    assert core.read_namespaced_config_map("c", NS).data == {"k": "2"}


def test_server_side_apply_conflicts_name_the_manager_and_field_unless_forced(api: Any) -> None:
    apps = client.AppsV1Api(api)
    ct = "application/apply-patch+yaml"
    apps.patch_namespaced_deployment("web", NS, deployment(), field_manager="a", _content_type=ct)
    with pytest.raises(ApiException) as info:
        apps.patch_namespaced_deployment(
            "web", NS, deployment(replicas=5), field_manager="b", _content_type=ct
        )
    status = status_of(info.value)
    assert info.value.status == 409
    assert (
        status["message"]
        == 'Apply failed with 1 conflict: conflict with "a" using apps/v1: .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "a" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    forced = apps.patch_namespaced_deployment(
        "web", NS, deployment(replicas=5), field_manager="b", force=True, _content_type=ct
    )
    assert forced.spec.replicas == 5
    managers = {m.manager for m in forced.metadata.managed_fields}
    assert managers == {"a", "b"}


def test_a_field_an_applier_stops_sending_is_removed(api: Any) -> None:
    apps = client.AppsV1Api(api)
    ct = "application/apply-patch+yaml"
    obj = deployment()
    obj["metadata"]["annotations"] = {"note": "x"}
    apps.patch_namespaced_deployment("web", NS, obj, field_manager="a", _content_type=ct)
    after = apps.patch_namespaced_deployment(
        "web", NS, deployment(), field_manager="a", _content_type=ct
    )
    assert not after.metadata.annotations


def test_merge_patch_and_dry_run(api: Any, kube: FakeKube) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(NS, deployment())
    dry = apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 9}}, dry_run="All")
    assert dry.spec.replicas == 9
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 2
    apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 3
    assert kube.requests[-2].content_type == "application/strategic-merge-patch+json"


def test_a_deployment_rolls_out_and_endpoint_slices_follow_its_pods(api: Any) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NS, deployment(replicas=3))
    core.create_namespaced_service(
        NS,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
        },
    )
    w = kubernetes.watch.Watch()
    for event in w.stream(
        apps.list_namespaced_deployment, NS, field_selector="metadata.name=web", timeout_seconds=10
    ):
        status = event["object"].status  # None until the fake's controller has run once
        if status is not None and status.available_replicas == status.updated_replicas == 3:
            w.stop()
    pods = core.list_namespaced_pod(NS, label_selector="app=web").items
    assert len(pods) == 3
    assert all(p.metadata.owner_references[0].kind == "ReplicaSet" for p in pods)
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        NS, label_selector="kubernetes.io/service-name=web"
    )
    endpoints = [e for s in slices.items for e in s.endpoints]
    assert sorted(e.target_ref.name for e in endpoints) == sorted(p.metadata.name for p in pods)
    assert {s.ports[0].port for s in slices.items} == {80}


def test_a_watch_from_a_compacted_resource_version_gets_a_410_error_event(
    api: Any, kube: FakeKube
) -> None:
    apps = client.AppsV1Api(api)
    old = apps.create_namespaced_deployment(NS, deployment()).metadata.resource_version
    apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 3}})
    kube.compact()
    stream = kubernetes.watch.Watch().stream(
        apps.list_namespaced_deployment, NS, resource_version=old, timeout_seconds=2
    )
    with pytest.raises(ApiException) as info:
        list(stream)
    assert info.value.status == 410


def test_an_injected_fault_answers_once_then_passes(api: Any, kube: FakeKube) -> None:
    kube.inject(Fault("GET", "/deployments$", status=503))
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as info:
        apps.list_namespaced_deployment(NS)
    assert status_of(info.value)["reason"] == "ServiceUnavailable"
    assert apps.list_namespaced_deployment(NS).items == []


def test_custom_resources_are_stored(api: Any) -> None:
    custom = client.CustomObjectsApi(api)
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [{"backendRefs": [{"name": "a", "port": 80, "weight": 1}]}]},
    }
    custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", NS, "httproutes", route
    )
    got = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", NS, "httproutes", "r"
    )
    assert got["spec"] == route["spec"]


def test_a_dropped_connection_is_seen_by_the_client(kube: FakeKube) -> None:
    import urllib3

    kube.inject(Fault("GET", kind=FaultKind.DROP))
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.retries = False  # urllib3 would otherwise retry it for us
    with client.ApiClient(cfg) as api, pytest.raises(urllib3.exceptions.HTTPError):
        client.CoreV1Api(api).list_namespaced_pod(NS, _request_timeout=2)
    assert [r.status for r in kube.requests] == [0]


def test_a_lost_answer_is_carried_out_but_never_reaches_the_client(kube: FakeKube) -> None:
    import urllib3

    kube.inject(Fault("POST", kind=FaultKind.LOST))
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.retries = False
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"k": "v"},
    }
    with client.ApiClient(cfg) as api, pytest.raises(urllib3.exceptions.HTTPError):
        client.CoreV1Api(api).create_namespaced_config_map(NS, config_map, _request_timeout=2)
    assert [(r.method, r.status) for r in kube.requests] == [("POST", 201)]
    stored = kube.get("configmaps", NS, "c")
    assert stored is not None
    assert stored["data"] == {"k": "v"}


labels = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"]), max_size=3)


@given(labels, labels)
def test_an_equality_selector_matches_exactly_the_labels_that_contain_it(
    have: dict[str, str], want: dict[str, str]
) -> None:
    text = ",".join(f"{k}={v}" for k, v in want.items())
    assert parse_selector(text)(have) == all(have.get(k) == v for k, v in want.items())


@given(labels, st.sampled_from(["a", "b", "c"]))
def test_existence_selectors_test_only_the_key(have: dict[str, str], key: str) -> None:
    assert parse_selector(key)(have) == (key in have)
    assert parse_selector(f"!{key}")(have) == (key not in have)


def test_serving_through_a_route_counts_the_ready_pods_behind_weighted_backends(
    kube: FakeKube, make_deployer: Any, spec: Any
) -> None:
    dep = make_deployer(traffic="httproute", gateway="public")
    for slot, version in (("blue", "1"), ("green", "2")):
        dep.apply(slot, "fraud", version, spec)
        assert dep.wait_ready(slot, 10)
    dep.set_traffic({"blue": 100})
    kube.watch_serving(NS, "fraud", route=True)
    dep.set_traffic({"blue": 50, "green": 50})
    dep.set_traffic({})
    counts = [n for ns, name, n in kube.serving_samples if (ns, name) == (NS, "fraud")]
    changes = [n for i, n in enumerate(counts) if i == 0 or n != counts[i - 1]]
    assert changes == [2, 4, 0]  # (other writes add samples that repeat a count)


def test_scaling_down_deletes_unready_pods_before_ready_ones_as_kubernetes_does() -> None:
    """Scaled 2 -> 4 -> 2 before the new pods are ready: the 2 ready pods are kept.

    Kubernetes' ReplicaSet controller ranks pods for deletion (``ActivePodsWithRanks``):
    not ready first. A fake that deleted by name instead would leave no ready pod here.
    """
    slow = Timings(tick=0.003, pod_ready=2.0)  # new pods stay unready through the test
    with FakeKube(timings=slow) as kube:
        cfg = client.Configuration()
        cfg.host = kube.url
        with client.ApiClient(cfg) as api_client:
            apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
            apps.create_namespaced_deployment(NS, deployment(replicas=2))

            def pods() -> dict[str, bool]:
                items = core.list_namespaced_pod(NS, label_selector="app=web").items
                return {
                    p.metadata.name: any(
                        c.type == "Ready" and c.status == "True"
                        for c in (p.status.conditions or [])
                    )
                    for p in items
                }

            def wait_for(check: Any) -> dict[str, bool]:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:  # bounded by the deadline
                    now = pods()
                    if check(now):
                        return now
                    time.sleep(0.01)
                raise AssertionError(f"the fake did not get there: {pods()}")

            first = wait_for(lambda p: len(p) == 2 and all(p.values()))
            apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 4}})
            grown = wait_for(lambda p: len(p) == 4)
            assert sum(grown.values()) == 2, f"the new pods became ready too soon: {grown}"
            apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 2}})
            left = wait_for(lambda p: len(p) == 2)
    assert left == first, f"a ready pod was deleted while unready ones were left: {left}"
