"""The fake API server's strategic merge patch directives, and a Deployment's percentages
read as Go's strconv.Atoi reads them.

The real API server (apimachinery ``pkg/util/strategicpatch``) honours ``$retainKeys``,
``$patch: replace`` and ``$patch: delete`` on maps, ``$patch`` items and
``$setElementOrder/<list>`` in lists merged by key; a JSON merge patch has no directives.
``kubectl patch`` documents ``$retainKeys`` as the way to switch a Deployment to
``Recreate``. Every test here failed against the fake before it was fixed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from _kube_helpers import NS, call, need, ok

from modelship.testing.fake_kube import FakeKube
from modelship.testing.fake_kube._store import _int_or_percent

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


def deployment(
    name: str = "web", containers: str = "c", strategy: dict[str, Any] | None = None
) -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": n, "image": "i"} for n in containers]},
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {**labels, "team": "a"}},
        "spec": spec,
    }


def patch(kube: FakeKube, body: Any, ctype: str = STRATEGIC) -> tuple[int, Any]:
    return call(kube, "PATCH", f"{DEPLOYMENTS}/web", body, ctype)


def containers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["image"]) for c in obj["spec"]["template"]["spec"]["containers"]]


# --- maps ---------------------------------------------------------------------------------


def test_retain_keys_switches_a_deployment_to_recreate(kube: FakeKube) -> None:
    """kubectl's documented patch: the map keeps only ``type`` (rollingUpdate goes)."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(strategy={"rollingUpdate": {"maxSurge": "30%"}})))
    body = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = ok(patch(kube, body))
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert kube.get("deployments", NS, "web")["spec"]["strategy"] == {"type": "Recreate"}  # type: ignore[index]


def test_the_official_client_switches_to_recreate_with_retain_keys(kube: FakeKube) -> None:
    """The kubernetes client sends a dict body as a strategic merge patch."""
    client = need("kubernetes").client
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    cfg = client.Configuration()
    cfg.host = kube.url
    with client.ApiClient(cfg) as api:
        out = client.AppsV1Api(api).patch_namespaced_deployment(
            "web", NS, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
        )
    assert out.spec.strategy.type == "Recreate"
    assert out.spec.strategy.rolling_update is None


def test_patch_replace_and_delete_on_a_map(kube: FakeKube) -> None:
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    out = ok(patch(kube, {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}))
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    out = ok(patch(kube, {"metadata": {"labels": {"$patch": "replace", "tier": "b"}}}))
    assert out["metadata"]["labels"] == {"tier": "b"}
    out = ok(patch(kube, {"metadata": {"labels": {"$patch": "delete"}}}))
    assert not out["metadata"].get("labels")


def test_directives_are_data_in_a_json_merge_patch_only(kube: FakeKube) -> None:
    """The same body: a strategic merge patch deletes the labels; a JSON merge patch
    reads ``$patch`` as a label key (422: not a valid one), nothing changed."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    body = {"metadata": {"labels": {"$patch": "delete"}}}
    code, out = patch(kube, body, MERGE)
    assert (code, out["reason"]) == (422, "Invalid")
    assert 'metadata.labels: Invalid value: "$patch"' in out["message"]
    assert kube.get("deployments", NS, "web")["metadata"]["labels"] == {"app": "web", "team": "a"}  # type: ignore[index]
    assert not ok(patch(kube, body))["metadata"].get("labels")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "c", "$deleteFromPrimitiveList/args": ["x"]}]
                        }
                    }
                }
            },
            "not a list of scalars merged as a set",
        ),
        ({"metadata": {"$foo": "1"}}, '"$foo" at metadata is not a directive'),
        ({"spec": {"strategy": {"$patch": "merge"}}}, 'unknown patch type "merge"'),
        ({"spec": {"strategy": {"$retainKeys": "type", "type": "Recreate"}}}, "must be a list"),
        (
            {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "x": 1}}},
            'spec.strategy sets "x", not in its $retainKeys',
        ),
        ({"$patch": "replace", "kind": "Deployment"}, "on the whole object"),
        ({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}, "no name"),
        (
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "$patch": "x"}]}}}},
            'unknown patch type "x"',
        ),
        ({"spec": {"template": {"spec": {"$setElementOrder/containers": "c"}}}}, "must be a list"),
        (
            {"spec": {"template": {"metadata": {"$setElementOrder/labels": [{"name": "a"}]}}}},
            "not a list",
        ),
    ],
)
def test_a_directive_the_fake_does_not_model_is_400_not_data(
    kube: FakeKube, body: dict[str, Any], says: str
) -> None:
    made = ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    code, out = patch(kube, body)
    assert (code, out["reason"]) == (400, "BadRequest"), out
    assert says in out["message"]
    now = kube.get("deployments", NS, "web")
    assert now is not None
    assert (now["metadata"]["labels"], now["spec"]) == (made["metadata"]["labels"], made["spec"])


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        (STRATEGIC, {"metadata": None}),
        (MERGE, {"metadata": None}),
        (MERGE, {"metadata": {"name": None}}),
        (STRATEGIC, {"metadata": {"$retainKeys": ["labels"], "labels": {"a": "b"}}}),
        (STRATEGIC, {"metadata": {"$patch": "delete"}}),
    ],
)
def test_a_patch_that_drops_the_name_is_400(kube: FakeKube, ctype: str, body: Any) -> None:
    """checkName in the patch handler: 400, not a dropped connection."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    code, out = patch(kube, body, ctype)
    assert (code, out["reason"]) == (400, "BadRequest"), out
    assert out["message"] == "the name of the object () does not match the name on the URL (web)"


def test_a_patch_that_drops_the_namespace_keeps_the_urls(kube: FakeKube) -> None:
    ok(call(kube, "POST", DEPLOYMENTS, deployment()))
    out = ok(patch(kube, {"metadata": {"$retainKeys": ["name"], "name": "web"}}))
    assert out["metadata"]["namespace"] == NS
    assert "labels" not in out["metadata"]


# --- lists merged by name -------------------------------------------------------------------


def test_list_items_delete_and_replace(kube: FakeKube) -> None:
    ok(call(kube, "POST", DEPLOYMENTS, deployment(containers="abc")))
    spec = {"spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}}
    assert containers(ok(patch(kube, spec))) == [("a", "i"), ("c", "i")]
    items = [{"name": "z", "image": "j"}, {"$patch": "replace"}]
    out = ok(patch(kube, {"spec": {"template": {"spec": {"containers": items}}}}))
    assert containers(out) == [("z", "j")]


def test_a_patched_item_keeps_its_place_among_the_live_ones(kube: FakeKube) -> None:
    """normalizeElementOrder: live-only items stay where they were (not moved after)."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(containers="abc")))
    spec = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "j"}]}}}}
    assert containers(ok(patch(kube, spec))) == [("a", "i"), ("b", "i"), ("c", "j")]
    # mergeSortedSlice: an item the live list lacks goes before the live-only ones
    spec = {"spec": {"template": {"spec": {"containers": [{"name": "d", "image": "j"}]}}}}
    assert [n for n, _ in containers(ok(patch(kube, spec)))] == ["d", "a", "b", "c"]


def test_set_element_order_orders_the_list(kube: FakeKube) -> None:
    """What ``kubectl apply`` sends with a changed container."""
    ok(call(kube, "POST", DEPLOYMENTS, deployment(containers="abc")))
    order = [{"name": "c"}, {"name": "a"}, {"name": "b"}]
    spec = {"$setElementOrder/containers": order, "containers": [{"name": "c", "image": "j"}]}
    out = ok(patch(kube, {"spec": {"template": {"spec": spec}}}))
    assert containers(out) == [("c", "j"), ("a", "i"), ("b", "i")]
    spec = {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}, {"name": "c"}]}
    out = ok(patch(kube, {"spec": {"template": {"spec": spec}}}))
    assert [n for n, _ in containers(out)] == ["b", "a", "c"]
    spec = {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
        "containers": [{"name": "c", "image": "k"}, {"name": "a", "image": "k"}],
    }
    code, answer = patch(kube, {"spec": {"template": {"spec": spec}}})
    assert (code, answer["reason"]) == (400, "BadRequest")
    assert "does not match its $setElementOrder/containers list" in answer["message"]


# --- percentages ----------------------------------------------------------------------------


def test_a_percentage_with_leading_zeros_reads_as_go_reads_it(kube: FakeKube) -> None:
    one = {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0000000000000000000001%"}}
    ok(call(kube, "POST", DEPLOYMENTS, deployment("one", strategy=one)))
    big = {"rollingUpdate": {"maxUnavailable": "0000000000000000000200%"}}
    code, out = call(kube, "POST", DEPLOYMENTS, deployment("big", strategy=big))
    assert (code, out["reason"]) == (422, "Invalid")
    assert out["message"].endswith("must not be greater than 100%")


def test_an_overflowing_percentage_reads_as_int64_max(kube: FakeKube) -> None:
    """strconv.Atoi's value on a range error is the int64 bound: over 100%, not 0."""
    huge = {"rollingUpdate": {"maxUnavailable": "99999999999999999999%"}}
    code, out = call(kube, "POST", DEPLOYMENTS, deployment("huge", strategy=huge))
    assert (code, out["reason"]) == (422, "Invalid")
    assert out["message"].endswith("must not be greater than 100%")
    assert "may not be 0" not in out["message"]
    surge = {"rollingUpdate": {"maxSurge": "99999999999999999999%", "maxUnavailable": 0}}
    ok(call(kube, "POST", DEPLOYMENTS, deployment("surge", strategy=surge)))


def test_int_or_percent_values() -> None:
    assert _int_or_percent("0000000000000000000001%") == 1
    assert _int_or_percent("0" * 5000 + "7%") == 7
    assert _int_or_percent("9" * 5000 + "%") == 2**63 - 1
    assert _int_or_percent("0000000000000000000005") == 5  # IntValue of a non-percentage
    assert _int_or_percent("-99999999999999999999") == -(2**63)
    assert _int_or_percent("1_0%") == 0


def test_a_maxsurge_past_int64_is_accepted_and_the_controller_carries_on(kube: FakeKube) -> None:
    """Validation reads it as int64's bound (not 0); the deployment controller's
    ResolveFenceposts fails on it and MaxUnavailable reads 0: the rollout still completes."""
    surge = {"rollingUpdate": {"maxSurge": "9" * 30 + "%", "maxUnavailable": 0}}
    ok(call(kube, "POST", DEPLOYMENTS, deployment("wide", strategy=surge)))
    deadline = time.monotonic() + 10
    while True:
        obj = kube.get("deployments", NS, "wide")
        assert obj is not None
        conditions = {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
        if conditions.get("Available") == "True":
            break
        assert time.monotonic() < deadline, obj.get("status")
        time.sleep(0.02)
