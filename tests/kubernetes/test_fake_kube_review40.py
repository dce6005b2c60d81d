"""Review 40 of the fake API server, where it was unlike the real one:

1. Deployment and ReplicaSet statuses carried counts of 0 that the real server leaves out
   (apps/v1 ``DeploymentStatus`` counts and ``ReplicaSetStatus`` counts other than
   ``replicas`` are ``omitempty``), so the official client read 0 on the fake and None
   on a cluster;
2. a write with ``dryRun=true`` was carried out: the real server accepts only ``All``
   and refuses anything else with 422 before it does anything;
3. a create with a ``generateName`` and no name was refused (the real server names it);
4. a PUT without a resourceVersion was refused for every kind; the real server allows
   this unconditional update for the built-in kinds except Lease (custom resources
   refuse it too).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _kube_helpers import NS, need

from modelship.testing.fake_kube import FakeKube
from modelship.testing.fake_kube import _server as fake_server

kubernetes = need("kubernetes")
client = kubernetes.client

CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
ROUTES = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
LABELS = {"app": "stuck"}


def call(kube: FakeKube, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        kube.url + path, method=method, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def config_map(name: str | None = "c", **meta: Any) -> dict[str, Any]:
    metadata = {"namespace": NS, **({"name": name} if name else {}), **meta}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"a": "1"}}


def deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "stuck", "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }


def settled(kube: FakeKube, done: Callable[[], bool]) -> None:
    """Wait (10 s at most) until the fake's controller has brought ``done`` about."""
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "the fake's controller did not settle in 10 s"
        time.sleep(0.01)


@pytest.fixture
def apps(kube: FakeKube) -> Iterator[Any]:
    cfg = client.Configuration()
    cfg.host = kube.url
    with client.ApiClient(cfg) as api_client:
        yield client.AppsV1Api(api_client)


def _replicaset(kube: FakeKube) -> dict[str, Any] | None:
    found = kube.list("replicasets", NS)
    return found[0] if found else None


def _pods_not_ready(kube: FakeKube, count: int) -> bool:
    pods = kube.list("pods", NS)
    return len(pods) == count and all(p.get("status", {}).get("phase") == "Running" for p in pods)


# --- 1. counts of 0 are left out --------------------------------------------------------


def test_a_deployment_with_no_ready_pod_has_no_ready_or_available_count(
    kube: FakeKube, apps: Any
) -> None:
    kube.never_ready(LABELS)
    kube.create(deployment(1))
    settled(kube, lambda: _pods_not_ready(kube, 1))
    settled(
        kube,
        lambda: (kube.get("deployments", NS, "stuck") or {}).get("status", {}).get("replicas") == 1,
    )
    status = kube.get("deployments", NS, "stuck")["status"]  # type: ignore[index]
    counts = {k: v for k, v in status.items() if k != "conditions"}
    assert counts == {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "unavailableReplicas": 1,
    }
    typed = apps.read_namespaced_deployment("stuck", NS).status
    assert (typed.ready_replicas, typed.available_replicas) == (None, None)


def test_a_replicaset_with_no_ready_pod_keeps_replicas_and_leaves_out_the_other_counts(
    kube: FakeKube,
) -> None:
    kube.never_ready(LABELS)
    kube.create(deployment(1))
    settled(kube, lambda: _pods_not_ready(kube, 1))
    settled(kube, lambda: ((_replicaset(kube) or {}).get("status") or {}).get("replicas") == 1)
    rs = _replicaset(kube)
    assert rs is not None
    assert rs["status"] == {"replicas": 1, "observedGeneration": 1}


def test_a_deployment_scaled_to_zero_has_no_counts_and_its_replicaset_says_zero(
    kube: FakeKube,
) -> None:
    kube.create(deployment(0))
    settled(
        kube, lambda: "conditions" in (kube.get("deployments", NS, "stuck") or {}).get("status", {})
    )
    settled(kube, lambda: "observedGeneration" in ((_replicaset(kube) or {}).get("status") or {}))
    status = kube.get("deployments", NS, "stuck")["status"]  # type: ignore[index]
    assert sorted(status) == ["conditions", "observedGeneration"]
    rs = _replicaset(kube)
    assert rs is not None
    assert rs["status"] == {"replicas": 0, "observedGeneration": 1}


# --- 2. dryRun takes "All" only ---------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "1", "", "all"])
def test_a_create_with_a_dry_run_other_than_all_is_refused_and_stores_nothing(
    kube: FakeKube, value: str
) -> None:
    code, answer = call(kube, "POST", f"{CONFIGMAPS}?dryRun={value}", config_map("dry"))
    assert code == 422
    assert answer["reason"] == "Invalid"
    assert answer["message"] == (
        f'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
        f'[]string{{{json.dumps(value)}}}: supported values: "All"'
    )
    assert kube.get("configmaps", NS, "dry") is None
    assert not kube.writes()


def test_a_dry_run_naming_all_and_another_value_is_refused(kube: FakeKube) -> None:
    code, answer = call(kube, "POST", f"{CONFIGMAPS}?dryRun=true&dryRun=All", config_map("dry"))
    assert code == 422
    assert '[]string{"true", "All"}' in answer["message"]
    assert kube.get("configmaps", NS, "dry") is None


@pytest.mark.parametrize(
    ("method", "options"),
    [("PUT", "UpdateOptions"), ("PATCH", "PatchOptions"), ("DELETE", "DeleteOptions")],
)
def test_an_update_patch_or_delete_with_dry_run_true_changes_nothing(
    kube: FakeKube, method: str, options: str
) -> None:
    kube.create(config_map("c"))
    before = kube.get("configmaps", NS, "c")
    body = {"data": {"a": "2"}} if method == "PATCH" else None
    if method == "PUT":
        body = {**config_map("c"), "data": {"a": "2"}}
    request = urllib.request.Request(
        f"{kube.url}{CONFIGMAPS}/c?dryRun=true",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/merge-patch+json"
            if method == "PATCH"
            else "application/json"
        },
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    answer = json.loads(info.value.read())
    assert info.value.code == 422
    assert answer["message"].startswith(f'{options}.meta.k8s.io "" is invalid: dryRun:')
    assert kube.get("configmaps", NS, "c") == before


def test_a_delete_with_a_body_takes_its_dry_run_from_the_body(kube: FakeKube) -> None:
    # The API server decodes a DELETE's options from its body when it has one.
    kube.create(config_map("c"))
    code, _ = call(kube, "DELETE", f"{CONFIGMAPS}/c?dryRun=All", {"dryRun": ["All"]})
    assert code == 200
    assert kube.get("configmaps", NS, "c") is not None
    code, answer = call(kube, "DELETE", f"{CONFIGMAPS}/c", {"dryRun": ["true"]})
    assert code == 422
    assert answer["message"].startswith('DeleteOptions.meta.k8s.io "" is invalid: dryRun:')
    assert kube.get("configmaps", NS, "c") is not None


def test_a_delete_with_an_empty_body_reads_no_dry_run_from_the_query(kube: FakeKube) -> None:
    # The official client sends "{}" for body=V1DeleteOptions(): a cluster decodes the
    # options from it and never reads the query's dryRun=All, so the object is deleted.
    kube.create(config_map("c"))
    code, _ = call(kube, "DELETE", f"{CONFIGMAPS}/c?dryRun=All", {})
    assert code == 200
    assert kube.get("configmaps", NS, "c") is None


def test_a_dry_run_of_all_still_stores_nothing(kube: FakeKube) -> None:
    code, answer = call(kube, "POST", f"{CONFIGMAPS}?dryRun=All", config_map("dry"))
    assert code == 201
    assert answer["metadata"]["name"] == "dry"
    assert kube.get("configmaps", NS, "dry") is None


# --- 3. generateName ----------------------------------------------------------------------


def test_a_create_with_generate_name_gets_five_characters_of_the_servers_alphabet(
    kube: FakeKube,
) -> None:
    code, answer = call(kube, "POST", CONFIGMAPS, config_map(None, generateName="job-"))
    assert code == 201, answer
    name = answer["metadata"]["name"]
    assert re.fullmatch(r"job-[bcdfghjklmnpqrstvwxz2456789]{5}", name), name
    assert answer["metadata"]["generateName"] == "job-"
    stored = kube.get("configmaps", NS, name)
    assert stored is not None
    assert stored["data"] == {"a": "1"}


def test_a_generated_name_that_is_taken_is_drawn_again(
    kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["bbbbb", "bbbbb", "ccccc"])
    monkeypatch.setattr(fake_server, "_name_suffix", lambda: next(drawn))
    kube.create(config_map("job-bbbbb"))
    code, answer = call(kube, "POST", CONFIGMAPS, config_map(None, generateName="job-"))
    assert code == 201, answer
    assert answer["metadata"]["name"] == "job-ccccc"


def test_a_generated_name_taken_at_every_try_is_already_exists(
    kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_server, "_name_suffix", lambda: "bbbbb")
    kube.create(config_map("job-bbbbb"))
    code, answer = call(kube, "POST", CONFIGMAPS, config_map(None, generateName="job-"))
    assert code == 409
    assert answer["reason"] == "AlreadyExists"


def test_a_long_generate_name_is_cut_to_58_characters(kube: FakeKube) -> None:
    code, answer = call(kube, "POST", CONFIGMAPS, config_map(None, generateName="a" * 70))
    assert code == 201, answer
    name = answer["metadata"]["name"]
    assert len(name) == 63
    assert name.startswith("a" * 58)


def test_a_create_with_neither_name_nor_generate_name_is_invalid(kube: FakeKube) -> None:
    code, answer = call(kube, "POST", CONFIGMAPS, config_map(None))
    assert code == 422
    assert answer["message"] == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )


# --- 4. unconditional updates -------------------------------------------------------------


def test_a_put_without_a_resource_version_replaces_a_config_map(kube: FakeKube) -> None:
    kube.create(config_map("c"))
    code, answer = call(kube, "PUT", f"{CONFIGMAPS}/c", {**config_map("c"), "data": {"a": "2"}})
    assert code == 200, answer
    stored = kube.get("configmaps", NS, "c")
    assert stored is not None
    assert stored["data"] == {"a": "2"}


def test_a_put_without_a_resource_version_replaces_a_deployment(kube: FakeKube) -> None:
    kube.create(deployment(1))
    code, answer = call(kube, "PUT", f"{DEPLOYMENTS}/stuck", deployment(3))
    assert code == 200, answer
    assert answer["spec"]["replicas"] == 3
    assert answer["metadata"]["generation"] == 2


def test_a_put_with_a_stale_resource_version_is_still_a_conflict(kube: FakeKube) -> None:
    first = kube.create(config_map("c"))["metadata"]["resourceVersion"]
    stale = {**config_map("c"), "metadata": {"name": "c", "resourceVersion": first}}
    call(kube, "PUT", f"{CONFIGMAPS}/c", {**config_map("c"), "data": {"a": "2"}})
    code, answer = call(kube, "PUT", f"{CONFIGMAPS}/c", stale)
    assert code == 409, answer


def test_a_put_without_a_resource_version_is_refused_for_a_lease(kube: FakeKube) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "l", "namespace": NS},
        "spec": {"holderIdentity": "a"},
    }
    kube.create(lease)
    code, answer = call(kube, "PUT", f"{LEASES}/l", {**lease, "spec": {"holderIdentity": "b"}})
    assert code == 422
    assert "metadata.resourceVersion" in answer["message"]
    assert kube.get("leases", NS, "l")["spec"]["holderIdentity"] == "a"  # type: ignore[index]


def test_a_put_without_a_resource_version_is_refused_for_a_custom_resource(
    kube: FakeKube,
) -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": NS},
        "spec": {"hostnames": ["a.example"]},
    }
    kube.create(route)
    code, answer = call(kube, "PUT", f"{ROUTES}/r", {**route, "spec": {"hostnames": ["b.example"]}})
    assert code == 422
    assert "metadata.resourceVersion" in answer["message"]
