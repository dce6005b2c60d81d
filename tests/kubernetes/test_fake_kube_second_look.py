"""The fake API server where a second look found it unlike the real one:

1. server-side apply put the applied items of a list first and the live items it did not
   name after them, so two managers re-applying unchanged configs flipped a Deployment's
   containers (a new generation and a rollout each time); the real merge
   (structured-merge-diff's ``visitListItems``) keeps live items where they were;
2. a DELETE of an object with finalizers did not bump its generation (``markAsDeleting``);
3. label and annotation values that are not text were stored (the real server cannot
   decode them into ``map[string]string``: 400);
4. finalizer names were not validated (``ValidateFinalizerName``: qualified names);
5. an update carrying another object's uid was applied (a PUT's uid is a precondition:
   409; a patch or an apply changing it: 422, the field is immutable).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from modelship.testing.fake_kube import FakeKube

NS = "models"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
APPLY = "application/apply-patch+yaml"
LABELS = {"app": "w"}


def call(
    kube: FakeKube, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        kube.url + path, method=method, data=data, headers={"Content-Type": ctype}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def deployment(containers: list[dict[str, Any]], *, full: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": {"spec": {"containers": containers}}}
    if full:
        spec.update(replicas=1, selector={"matchLabels": LABELS})
        spec["template"]["metadata"] = {"labels": LABELS}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": spec}


def names(obj: dict[str, Any]) -> list[str]:
    return [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]


MODEL = [{"name": "model", "image": "m:1"}]
SIDECAR = [{"name": "sidecar", "image": "s:1"}]


def test_apply_keeps_live_list_items_in_place_and_unchanged_reapplies_are_no_ops() -> None:
    with FakeKube() as kube:
        code, out = call(
            kube, "PATCH", f"{DEPLOYMENTS}/w?fieldManager=modelship", deployment(MODEL), APPLY
        )
        assert code == 201
        code, out = call(
            kube,
            "PATCH",
            f"{DEPLOYMENTS}/w?fieldManager=injector",
            deployment(SIDECAR, full=False),
            APPLY,
        )
        assert code == 200
        assert names(out) == ["model", "sidecar"]
        generation = out["metadata"]["generation"]
        end = time.monotonic() + 10
        while True:  # the controller makes the new template's ReplicaSet once it sees it
            found = kube.get("deployments", NS, "w")
            assert found is not None
            if (found.get("status") or {}).get("observedGeneration") == generation:
                break
            assert time.monotonic() < end, found.get("status")
            time.sleep(0.01)
        replica_sets = len(kube.list("replicasets", NS))
        for manager, containers, full in (
            ("modelship", MODEL, True),
            ("injector", SIDECAR, False),
            ("modelship", MODEL, True),
        ):
            code, out = call(
                kube,
                "PATCH",
                f"{DEPLOYMENTS}/w?fieldManager={manager}",
                deployment(containers, full=full),
                APPLY,
            )
            assert code == 200
            assert names(out) == ["model", "sidecar"]
            # No change: no new generation, so no new ReplicaSet (the fake's controller
            # may still write status, so the resourceVersion is not compared).
            assert out["metadata"]["generation"] == generation
            assert len(kube.list("replicasets", NS)) == replica_sets
        # A set list (finalizers) keeps its live order too.
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        one = {**cm, "metadata": {"name": "c", "finalizers": ["a.io/x"]}}
        two = {**cm, "metadata": {"name": "c", "finalizers": ["b.io/y"]}}
        call(kube, "PATCH", f"{CONFIGMAPS}/c?fieldManager=one", one, APPLY)
        code, out = call(kube, "PATCH", f"{CONFIGMAPS}/c?fieldManager=two", two, APPLY)
        assert out["metadata"]["finalizers"] == ["a.io/x", "b.io/y"]


def test_apply_follows_the_applied_order_for_items_both_name() -> None:
    with FakeKube() as kube:
        both = [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
        call(kube, "PATCH", f"{DEPLOYMENTS}/w?fieldManager=m", deployment(both), APPLY)
        extra = [{"name": "x", "image": "x:1"}]
        call(
            kube,
            "PATCH",
            f"{DEPLOYMENTS}/w?fieldManager=other",
            deployment(extra, full=False),
            APPLY,
        )
        swapped = [
            {"name": "b", "image": "b:2"},
            {"name": "c", "image": "c:1"},
            {"name": "a", "image": "a:1"},
        ]
        code, out = call(
            kube, "PATCH", f"{DEPLOYMENTS}/w?fieldManager=m", deployment(swapped), APPLY
        )
        assert code == 200
        # Live [a, b, x], applied [b, c, a]: a is passed over (the applied order takes b
        # first), b merged, x (live only) kept where the live walk meets it, then c new and
        # a merged, as structured-merge-diff's visitListItems orders them.
        assert names(out) == ["b", "x", "c", "a"]
        images = {c["name"]: c["image"] for c in out["spec"]["template"]["spec"]["containers"]}
        assert images == {"a": "a:1", "b": "b:2", "c": "c:1", "x": "x:1"}


def test_a_delete_of_an_object_with_finalizers_bumps_its_generation() -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "f", "finalizers": ["example.com/hold"]},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        assert code == 201
        assert out["metadata"]["generation"] == 1
        code, out = call(kube, "DELETE", f"{CONFIGMAPS}/f")
        assert code == 200
        assert "deletionTimestamp" in out["metadata"]
        assert out["metadata"]["generation"] == 2


@pytest.mark.parametrize(
    ("labels", "json_type", "go_type"),
    [
        ({"app": 5}, "number", "string"),
        ({"app": True}, "bool", "string"),
        ({"app": {"x": "y"}}, "object", "string"),
        ("app", "string", "map[string]string"),
    ],
)
def test_label_values_that_are_not_text_are_refused(
    labels: Any, json_type: str, go_type: str
) -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": labels},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        assert code == 400
        assert out["reason"] == "BadRequest"
        assert (
            f"cannot unmarshal {json_type} into Go struct field ObjectMeta.metadata.labels of "
            f"type {go_type}"
        ) in out["message"]
        annotated = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"note": 1}},
        }
        code, out = call(kube, "POST", CONFIGMAPS, annotated)
        assert code == 400
        assert "ObjectMeta.metadata.annotations" in out["message"]
        assert kube.get("configmaps", NS, "c") is None


def test_a_null_label_value_is_decoded_as_empty_text() -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"app": None}},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        assert code == 201
        assert out["metadata"]["labels"] == {"app": ""}


@pytest.mark.parametrize("finalizer", ["not a finalizer!", "a/b/c", "Example.com/x"])
def test_finalizer_names_are_validated(finalizer: str) -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "finalizers": [finalizer]},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        assert code == 422
        assert f'metadata.finalizers: Invalid value: "{finalizer}"' in out["message"]
        body["metadata"]["finalizers"] = ["example.com/hold", "kubernetes"]
        code, _ = call(kube, "POST", CONFIGMAPS, body)
        assert code == 201


def test_an_update_naming_another_uid_is_refused() -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c"},
            "data": {"a": "1"},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        uid = out["metadata"]["uid"]
        other = "00000000-0000-0000-0000-000000000000"
        put = {**out, "metadata": {**out["metadata"], "uid": other}, "data": {"a": "2"}}
        code, answer = call(kube, "PUT", f"{CONFIGMAPS}/c", put)
        assert code == 409
        assert (
            f"Precondition failed: UID in precondition: {other}, UID in object meta: {uid}"
            in (answer["message"])
        )
        patch = {"metadata": {"uid": other}, "data": {"a": "3"}}
        code, answer = call(kube, "PATCH", f"{CONFIGMAPS}/c", patch, "application/merge-patch+json")
        assert code == 422
        assert "metadata.uid" in answer["message"]
        assert "field is immutable" in answer["message"]
        stored = kube.get("configmaps", NS, "c")
        assert stored is not None
        assert stored["metadata"]["uid"] == uid
        assert stored["data"] == {"a": "1"}
        # The object's own uid is fine.
        same = {**out, "data": {"a": "4"}}
        code, answer = call(kube, "PUT", f"{CONFIGMAPS}/c", same)
        assert code == 200
        assert answer["data"] == {"a": "4"}


def test_finalizers_that_are_not_text_are_refused() -> None:
    with FakeKube() as kube:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "finalizers": [5]},
        }
        code, out = call(kube, "POST", CONFIGMAPS, body)
        assert code == 400
        assert "ObjectMeta.metadata.finalizers of type string" in out["message"]
