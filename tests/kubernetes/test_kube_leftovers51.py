"""Leftovers of the Kubernetes adapter and the fake API server's fidelity (K51).

The adapter: one sentence for a wait that no read answered; a rollout's progress
computed once per look; a pod template compared without a deep copy. The fake: one
place says a container crash-loops; a Deployment the real API server refuses with 422
(apps/validation ValidateDeploymentSpec, ValidateDeploymentStrategy,
ValidateRollingUpdateDeployment) is refused the same way, and the adapter sends none.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError, _deployer, _ready
from modelship.errors import ModelshipError
from modelship.testing.fake_kube import FakeKube, _controller

Make = Callable[..., KubernetesDeployer]

# --- the adapter ------------------------------------------------------------------------


def test_a_wait_no_read_answered_says_one_sentence_from_one_helper() -> None:
    exc = KubernetesError("GET /apis/apps/v1/namespaces/m/deployments: 503 ServiceUnavailable")
    said = _deployer._no_answer(exc)
    assert said == _deployer._Seen(failure=exc).last()
    assert said == _deployer._not_ready_in_time("m", time.monotonic() - 1, exc)
    assert (said.done, said.failed) == (False, False)
    assert said.message == f"the API server did not answer in time: {exc}"


def test_a_look_computes_the_rollout_progress_once(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployer()
    kube.never_ready({"modelship.io/slot": "blue"})  # still rolling: the pods are read too
    dep.apply("blue", "fraud", "1", spec)
    calls: list[str] = []
    real = _deployer.rollout_progress

    def counted(deployment: Any) -> Any:
        calls.append(deployment["metadata"]["name"])
        return real(deployment)

    monkeypatch.setattr(_deployer, "rollout_progress", counted)
    seen = _deployer._Seen()
    progress, watch = dep._look("fraud-blue", time.monotonic() + 5, endpoints=True, seen=seen)
    assert not progress.done
    assert watch is not None
    assert calls == ["fraud-blue"]


_HASHED = {
    "spec": {
        "template": {
            "metadata": {"labels": {"app": "m", "pod-template-hash": "abc"}, "name": "x"},
            "spec": {"containers": [{"name": "s", "image": "m:2", "env": [{"name": "A"}]}]},
        }
    }
}


def _old_template(obj: Any) -> Any:
    """The deep-copying _template this change replaced: the reference to be equal to."""
    mapping = _ready._mapping
    template = copy.deepcopy(mapping(mapping(obj.get("spec")).get("template")))
    meta = template.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if isinstance(labels, dict):
        labels.pop("pod-template-hash", None)
    return template


@pytest.mark.parametrize(
    "obj",
    [
        _HASHED,
        {"spec": {"template": {"metadata": {"labels": {"app": "m"}}, "spec": {}}}},
        {"spec": {"template": {"metadata": {"labels": ["not", "a", "map"]}}}},
        {"spec": {"template": {"metadata": "text"}}},
        {"spec": {"template": {"spec": {"containers": []}}}},
        {"spec": {"template": ["not", "a", "map"]}},
        {"spec": None},
        {},
    ],
    ids=[
        "hashed",
        "unhashed",
        "labels-list",
        "meta-text",
        "no-meta",
        "template-list",
        "null",
        "empty",
    ],
)
def test_a_template_compared_equals_the_deep_copied_one_and_changes_nothing(obj: Any) -> None:
    before = copy.deepcopy(obj)
    assert _ready._template(obj) == _old_template(obj)
    assert obj == before  # the ReplicaSet read is left as it was


def test_a_template_is_not_deep_copied() -> None:
    # 50 ReplicaSets every 5 s: only the dicts on the way to the hash label are new
    got = _ready._template(_HASHED)
    template = _HASHED["spec"]["template"]
    assert got["spec"] is template["spec"]
    assert got["metadata"] is not template["metadata"]
    assert "pod-template-hash" in template["metadata"]["labels"]


# --- the fake: one place says a container crash-loops ------------------------------------


def test_one_place_says_which_container_crash_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_controller, "_crashes", lambda c: "fail-boom" in str(c.get("image", "")))
    pod = {"metadata": {"name": "m-1", "namespace": "ns", "uid": "u1"}}
    boom = _controller.container_state(pod, {"name": "s", "image": "m:fail-boom"}, 0.35, 0.1)
    crash = _controller.container_state(pod, {"name": "s", "image": "m:fail-crash"}, 0.35, 0.1)
    assert boom["restartCount"] == 3
    assert crash["restartCount"] == 0
    assert "running" in crash["state"]
    with FakeKube() as kube:
        for name, image in (("boom", "m:fail-boom"), ("crash", "m:fail-crash")):
            kube.create(_deployment(name, image=image))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready = {
                p["metadata"]["labels"]["app"]: p["status"]["containerStatuses"][0]["ready"]
                for p in kube.list("pods", NS)
                if p.get("status", {}).get("containerStatuses")
            }
            if ready.get("crash"):
                break
            time.sleep(0.02)
        # the controller asks the same place: the patched crash loop is never Ready
        assert ready == {"boom": False, "crash": True}


# --- the fake refuses the Deployments a real API server refuses ---------------------------


def _deployment(name: str, image: str = "m:1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
            **spec,
        },
    }


def _send(kube: FakeKube, method: str, path: str, body: Any, ctype: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{kube.url}{path}", json.dumps(body).encode(), {"Content-Type": ctype}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


_DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
_ZERO = 'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}'

# (spec fields, the field refused, the cause's reason, its message): the real API server's
REFUSED = {
    "both-0": (
        {
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0},
            }
        },
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        f"Invalid value: {_ZERO}: may not be 0 when `maxSurge` is 0",
    ),
    "both-0%": (
        {"strategy": {"rollingUpdate": {"maxSurge": "0%", "maxUnavailable": "0%"}}},
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}: may not be 0 when '
        "`maxSurge` is 0",
    ),
    "recreate-with-rollingUpdate": (
        {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
        "spec.strategy.rollingUpdate",
        "FieldValueForbidden",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ),
    "over-100%": (
        {"strategy": {"rollingUpdate": {"maxUnavailable": "101%"}}},
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"101%"}: must not be '
        "greater than 100%",
    ),
    "negative-replicas": (
        {"replicas": -1},
        "spec.replicas",
        "FieldValueInvalid",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    "unknown-type": (
        {"strategy": {"type": "BlueGreen"}},
        "spec.strategy",
        "FieldValueNotSupported",
        'Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", '
        'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", '
        '"RollingUpdate"',
    ),
    "negative-maxSurge": (
        {"strategy": {"rollingUpdate": {"maxSurge": -1}}},
        "spec.strategy.rollingUpdate.maxSurge",
        "FieldValueInvalid",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    # a number as text is no percentage (so no bound of 100%), yet reads as 101: not 0
    "number-as-text": (
        {"strategy": {"rollingUpdate": {"maxUnavailable": "101"}}},
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"101"}: a valid percent '
        "string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex "
        "used for validation is '[0-9]+%')",
    ),
    "not-a-percent": (
        {"strategy": {"rollingUpdate": {"maxSurge": "5.5%"}}},
        "spec.strategy.rollingUpdate.maxSurge",
        "FieldValueInvalid",
        'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"5.5%"}: a valid percent '
        "string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex "
        "used for validation is '[0-9]+%')",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_fake_refuses_a_deployment_the_api_server_refuses(kube: FakeKube, case: str) -> None:
    fields, field, reason, message = REFUSED[case]
    name = case.lower().replace("%", "pc").replace("-", "x")
    status, body = _send(
        kube, "POST", _DEPLOYMENTS, _deployment(name, **fields), "application/json"
    )
    assert status == 422, body
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        "Invalid",
        422,
    )
    assert body["message"] == f'Deployment.apps "{name}" is invalid: {field}: {message}'
    assert body["details"] == {
        "name": name,
        "group": "apps",
        "kind": "deployments",
        "causes": [{"reason": reason, "message": message, "field": field}],
    }
    assert kube.get("deployments", NS, name) is None


def test_an_update_to_a_refused_strategy_is_refused_too(kube: FakeKube) -> None:
    status, _ = _send(kube, "POST", _DEPLOYMENTS, _deployment("web"), "application/json")
    assert status == 201
    patch = {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}}
    status, body = _send(
        kube, "PATCH", f"{_DEPLOYMENTS}/web", patch, "application/merge-patch+json"
    )
    assert (status, body["reason"]) == (422, "Invalid"), body
    assert [c["field"] for c in body["details"]["causes"]] == [
        "spec.strategy.rollingUpdate.maxUnavailable"
    ]
    stored = kube.get("deployments", NS, "web")
    assert stored is not None
    assert stored["spec"]["strategy"]["rollingUpdate"] == {
        "maxUnavailable": "25%",
        "maxSurge": "25%",
    }


@pytest.mark.parametrize(
    ("strategy", "stored"),
    [
        # the field left out is defaulted (25%) before validation: not both 0
        (
            {"rollingUpdate": {"maxSurge": 0}},
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "25%"}},
        ),
        ({"type": "Recreate"}, {"type": "Recreate"}),
        ({"type": "Recreate", "rollingUpdate": None}, {"type": "Recreate"}),
        # only maxUnavailable is bounded by 100%
        (
            {"rollingUpdate": {"maxSurge": "200%", "maxUnavailable": "100%"}},
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "200%", "maxUnavailable": "100%"},
            },
        ),
    ],
    ids=["surge-0", "recreate", "recreate-null", "surge-200%"],
)
def test_the_fake_takes_what_the_api_server_takes(
    kube: FakeKube, strategy: dict[str, Any], stored: dict[str, Any]
) -> None:
    status, body = _send(
        kube, "POST", _DEPLOYMENTS, _deployment("ok", strategy=strategy), "application/json"
    )
    assert status == 201, body
    assert body["spec"]["strategy"] == stored


def test_a_replicaset_with_negative_replicas_is_refused(kube: FakeKube) -> None:
    rs = _deployment("rs", replicas=-2)
    rs["kind"] = "ReplicaSet"
    status, body = _send(
        kube, "POST", f"/apis/apps/v1/namespaces/{NS}/replicasets", rs, "application/json"
    )
    assert (status, body["reason"]) == (422, "Invalid"), body
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: -2: must be greater than or equal to 0",
            "field": "spec.replicas",
        }
    ]


# --- the adapter never sends such a Deployment -------------------------------------------


def _deployment_bodies(kube: FakeKube) -> list[Any]:
    return [
        r.body
        for r in kube.requests
        if r.method in ("POST", "PUT", "PATCH") and "/deployments" in r.path
    ]


def test_the_adapter_sends_no_strategy_and_no_replicas_below_1(
    kube: FakeKube, make_deployer: Make, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    dep.server_dry_run("fraud", "1", spec, "blue")
    dep.apply("blue", "fraud", "1", spec)
    assert dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    dep.apply("green", "fraud", "2", spec)
    assert dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 90, "green": 10})  # a split scales by replica ratio
    bodies = _deployment_bodies(kube)
    assert bodies
    refused = [r for r in kube.requests if "/deployments" in r.path and r.status == 422]
    assert refused == []
    for body in bodies:
        sent = json.loads(body) if isinstance(body, (str, bytes)) else body
        assert "strategy" not in (sent.get("spec") or {}), sent
        replicas = (sent.get("spec") or {}).get("replicas")
        assert replicas is None or replicas >= 1, sent
    for slot in ("blue", "green"):
        stored = kube.get("deployments", NS, f"fraud-{slot}")
        assert stored is not None
        assert stored["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        }


@pytest.mark.parametrize("replicas", [-1, 0, 2**31, True, 1.5, "2"])
def test_bad_replicas_are_refused_before_any_request(
    kube: FakeKube, make_deployer: Make, replicas: Any
) -> None:
    dep = make_deployer()
    sent = len(kube.requests)
    with pytest.raises(ModelshipError, match="replicas"):
        dep.apply(
            "blue",
            "fraud",
            "1",
            DeploymentSpec(
                containers=[Container(name="model-server", image="ai-model:1", port=8080)],
                replicas=replicas,
            ),
        )
    with pytest.raises(ModelshipError, match="replicas"):
        DeploymentSpec.from_dict(
            {"deployment": {"replicas": replicas, "containers": [{"name": "s", "image": "m:1"}]}}
        )
    assert len(kube.requests) == sent
    assert kube.get("deployments", NS, "fraud-blue") is None
