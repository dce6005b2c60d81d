"""Review 44 of the fake Kubernetes API server: it answers as the real API server does.

* Label selectors: set-based ``in`` / ``notin`` and ``==``; field selectors share one
  parser for list and watch (``metadata.name`` and ``metadata.namespace`` with ``=``,
  ``==``, ``!=``); an unsupported field or an unreadable term is 400 on both.
* A create naming a resourceVersion is refused (500, the storage layer's plain error);
  uid and creationTimestamp are always the server's.
* PatchOptions: force on a non-apply patch, an apply without fieldManager, a fieldManager
  over 128 bytes are 422 Invalid.
* The fake's own controls refuse wrong values with ConfigError.
* A PUT to a missing Lease or Service creates it (201); other kinds keep 404.
* Pods serve their registry's selectable fields (``status.phase``, ``spec.nodeName``...);
  field selector terms are not trimmed and their values are unescaped; ``in ()`` is the
  set {""}; ``<``/``>`` compare int64 values only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind, Timings

NS = "ns"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        yield fake


def _call(
    kube: FakeKube,
    method: str,
    path: str,
    body: Any = None,
    ctype: str = "application/json",
    **query: str,
) -> tuple[int, Any]:
    url = kube.url + path + (("?" + urllib.parse.urlencode(query)) if query else "")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            raw = resp.read().decode()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode()
        status = exc.code
    if query.get("watch"):
        return status, [json.loads(line) for line in raw.splitlines() if line.strip()]
    return status, json.loads(raw)


COLL = f"/api/v1/namespaces/{NS}/configmaps"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def _cm(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "data": {},
    }


def _names(body: Any) -> list[str]:
    return [i["metadata"]["name"] for i in body["items"]]


@pytest.fixture
def three(kube: FakeKube) -> FakeKube:
    for name, env in (("a", "production"), ("b", "qa"), ("c", "dev")):
        kube.create(_cm(name, env=env))
    kube.create(_cm("d"))
    return kube


# --- 1. selectors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("env in (production,qa)", ["a", "b"]),
        ("env in (production, qa)", ["a", "b"]),
        ("env notin (dev)", ["a", "b", "d"]),
        ("env==production", ["a"]),
        ("env=production", ["a"]),
        ("env!=dev", ["a", "b", "d"]),
        ("env", ["a", "b", "c"]),
        ("!env", ["d"]),
        ("env in (production,qa,dev),env notin (qa)", ["a", "c"]),
    ],
)
def test_label_selector_set_based_and_double_equals(
    three: FakeKube, selector: str, names: list[str]
) -> None:
    code, body = _call(three, "GET", COLL, labelSelector=selector)
    assert code == 200
    assert _names(body) == names


@pytest.mark.parametrize("selector", ["env in prod", "a b", "env=(x)", ","])
def test_label_selector_unreadable_is_400(three: FakeKube, selector: str) -> None:
    code, body = _call(three, "GET", COLL, labelSelector=selector)
    assert (code, body["reason"]) == (400, "BadRequest")
    code, body = _call(three, "GET", COLL, labelSelector=selector, watch="1", timeoutSeconds="1")
    assert code == 400


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("metadata.name!=a", ["b", "c", "d"]),
        ("metadata.name==a", ["a"]),
        ("metadata.name=a", ["a"]),
        (f"metadata.namespace={NS}", ["a", "b", "c", "d"]),
        ("metadata.namespace=other", []),
        ("metadata.name!=a,metadata.name!=b", ["c", "d"]),
    ],
)
def test_field_selector_list_and_watch_agree(
    three: FakeKube, selector: str, names: list[str]
) -> None:
    code, body = _call(three, "GET", COLL, fieldSelector=selector)
    assert (code, _names(body)) == (200, names)
    code, events = _call(three, "GET", COLL, fieldSelector=selector, watch="1", timeoutSeconds="1")
    assert code == 200
    assert [e["object"]["metadata"]["name"] for e in events] == names


@pytest.mark.parametrize("selector", ["status.phase=Running", "metadata.uid=x", "nonsense"])
def test_field_selector_unsupported_is_400_on_list_and_watch(
    three: FakeKube, selector: str
) -> None:
    code, body = _call(three, "GET", COLL, fieldSelector=selector)
    assert (code, body["reason"]) == (400, "BadRequest")
    code, body = _call(three, "GET", COLL, fieldSelector=selector, watch="1", timeoutSeconds="1")
    assert code == 400  # a Status, not a stream of every object
    assert body == [] or body[0].get("kind") == "Status"


# --- 2. create ----------------------------------------------------------------------------


def test_create_with_resource_version_is_refused(kube: FakeKube) -> None:
    code, made = _call(kube, "POST", COLL, _cm("c"))
    assert code == 201
    assert _call(kube, "DELETE", COLL + "/c")[0] == 200
    code, body = _call(kube, "POST", COLL, made)  # the read copy, resourceVersion and all
    assert code == 500
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    assert "reason" not in body  # StatusReasonUnknown
    assert kube.get("configmaps", NS, "c") is None


def test_create_with_resource_version_zero_or_unreadable_is_accepted(kube: FakeKube) -> None:
    for name, rv in (("z", "0"), ("e", ""), ("n", "-1")):
        obj = _cm(name)
        obj["metadata"]["resourceVersion"] = rv
        assert _call(kube, "POST", COLL, obj)[0] == 201


def test_apply_create_with_resource_version_is_refused(kube: FakeKube) -> None:
    obj = _cm("ap")
    obj["metadata"]["resourceVersion"] = "5"
    code, body = _call(
        kube, "PATCH", COLL + "/ap", obj, "application/apply-patch+yaml", fieldManager="me"
    )
    assert code == 500
    assert body["message"] == "resourceVersion should not be set on objects to be created"


def test_create_assigns_uid_and_creation_timestamp(kube: FakeKube) -> None:
    obj = _cm("d")
    obj["metadata"].update(uid="chosen-by-client", creationTimestamp="2001-01-01T00:00:00Z")
    code, made = _call(kube, "POST", COLL, obj)
    assert code == 201
    assert made["metadata"]["uid"] != "chosen-by-client"
    assert made["metadata"]["creationTimestamp"] != "2001-01-01T00:00:00Z"


# --- 3. PatchOptions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ctype", ["application/merge-patch+json", "application/strategic-merge-patch+json"]
)
@pytest.mark.parametrize("force", ["true", "false"])
def test_force_on_non_apply_patch_is_422(kube: FakeKube, ctype: str, force: str) -> None:
    kube.create(_cm("c"))
    code, body = _call(kube, "PATCH", COLL + "/c", {"data": {"a": "2"}}, ctype, force=force)
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for '
        "non-apply patch"
    )
    assert body["details"]["causes"][0]["field"] == "force"
    assert kube.get("configmaps", NS, "c")["data"] == {}  # type: ignore[index]


def test_apply_without_field_manager_is_422(kube: FakeKube) -> None:
    code, body = _call(kube, "PATCH", COLL + "/c", _cm("c"), "application/apply-patch+yaml")
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply patch"
    )


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [("POST", COLL, "CreateOptions"), ("PUT", COLL + "/c", "UpdateOptions")],
)
def test_field_manager_over_128_bytes_is_422(
    kube: FakeKube, method: str, path: str, options: str
) -> None:
    kube.create(_cm("c"))
    code, body = _call(kube, method, path, _cm("c"), fieldManager="m" * 129)
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        f'{options}.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than '
        "128 bytes"
    )
    assert _call(kube, method, path, _cm("c"), fieldManager="m" * 128)[0] in (200, 409)


def test_field_manager_over_128_bytes_on_patch_is_422(kube: FakeKube) -> None:
    kube.create(_cm("c"))
    code, _ = _call(
        kube, "PATCH", COLL + "/c", {"data": {"a": "1"}}, "application/merge-patch+json",
        fieldManager="é" * 65,  # 130 bytes, 65 characters
    )  # fmt: skip
    assert code == 422


# --- 4. the fake's own controls -----------------------------------------------------------


def test_fault_kind_accepts_its_string_values(kube: FakeKube) -> None:
    assert Fault("GET", "/x", kind="drop").kind is FaultKind.DROP
    assert Fault("GET", "/x", kind="timeout").kind is FaultKind.TIMEOUT
    with pytest.raises(ConfigError, match="kind='dorp' is not a fault kind"):
        Fault("GET", "/x", kind="dorp")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"path": "["}, "path='\\[' is not a valid regular expression"),
        ({"method": "(GET"}, "method='\\(GET' is not a valid regular expression"),
        ({"query": "*x"}, "query='\\*x' is not a valid regular expression"),
        ({"times": -1}, "times=-1 is not allowed"),
        ({"times": 1.5}, "times=1.5 is not allowed"),
        ({"skip": -2}, "skip=-2 is not allowed"),
        ({"delay": -1.0}, "delay=-1.0 is not allowed"),
        ({"delay": float("nan")}, "delay=nan is not allowed"),
        ({"status": 42}, "status=42 is not an HTTP status"),
    ],
)
def test_fault_refuses_wrong_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Fault(**kwargs)


def test_a_fault_made_of_strings_drops_the_connection(kube: FakeKube) -> None:
    kube.inject(Fault("GET", "/configmaps", kind="drop"))
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(kube.url + COLL, timeout=5)
    assert kube.requests[-1].status == 0  # not answered (a STATUS fault answers 500)


@pytest.mark.parametrize("history", [0, -1, 2.5, True])
def test_fake_kube_refuses_watch_history_below_one(history: Any) -> None:
    with pytest.raises(ConfigError, match=r"watch_history=.* is not allowed"):
        FakeKube(watch_history=history)


@pytest.mark.parametrize(
    "kwargs", [{"tick": -1}, {"tick": 0}, {"pod_ready": -0.1}, {"deadline_scale": float("inf")}]
)
def test_timings_refuse_negative_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=r"Timings .* is not allowed"):
        Timings(**kwargs)


def test_inject_refuses_what_is_not_a_fault(kube: FakeKube) -> None:
    with pytest.raises(ConfigError, match="not a Fault"):
        kube.inject(("GET", "/x"))  # type: ignore[arg-type]


# --- 5. PUT creates a Lease -----------------------------------------------------------------


def _lease() -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "rollout", "namespace": NS},
        "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15},
    }


def test_put_to_a_missing_lease_creates_it(kube: FakeKube) -> None:
    code, body = _call(kube, "PUT", LEASES + "/rollout", _lease(), fieldManager="me")
    assert code == 201
    assert body["spec"]["holderIdentity"] == "me"
    stored = kube.get("leases", NS, "rollout")
    assert stored is not None
    assert stored["metadata"]["uid"] == body["metadata"]["uid"]
    code, _ = _call(kube, "PUT", LEASES + "/rollout", body)
    assert code == 200  # then an ordinary update


def test_put_to_a_deleted_lease_with_its_uid_is_a_conflict(kube: FakeKube) -> None:
    assert _call(kube, "POST", LEASES, _lease())[0] == 201
    live = kube.get("leases", NS, "rollout")
    assert live is not None
    kube.store.delete("leases", NS, "rollout")
    code, body = _call(kube, "PUT", LEASES + "/rollout", live)
    assert (code, body["reason"]) == (409, "Conflict")
    assert "Precondition failed: UID in precondition" in body["message"]
    assert kube.get("leases", NS, "rollout") is None


def test_put_to_a_missing_configmap_is_still_404(kube: FakeKube) -> None:
    code, body = _call(kube, "PUT", COLL + "/c", _cm("c"))
    assert (code, body["reason"]) == (404, "NotFound")


# --- 6. review 2: selectors as the API server's parsers read them ---------------------------

PODS = f"/api/v1/namespaces/{NS}/pods"
SERVICES = f"/api/v1/namespaces/{NS}/services"


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "i:1"}], **spec},
    }


@pytest.fixture
def pods() -> Iterator[FakeKube]:
    # pods never made Ready by the fake's controller: the statuses below stay as written
    with FakeKube(timings=Timings(pod_ready=3600.0)) as kube:
        kube.create(_pod("run", nodeName="node-1", hostNetwork=True))
        kube.store.write_status("pods", NS, "run", {"phase": "Running", "podIP": "10.0.0.1"})
        kube.create(_pod("wait", restartPolicy="Never"))
        kube.store.write_status("pods", NS, "wait", {"phase": "Pending"})
        yield kube


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("status.phase=Running", ["run"]),
        ("status.phase!=Running", ["wait"]),
        ("spec.nodeName=node-1", ["run"]),
        ("spec.nodeName=", ["wait"]),  # an absent field reads ""
        ("spec.hostNetwork=true", ["run"]),
        ("spec.hostNetwork=false", ["wait"]),
        ("spec.restartPolicy=Never", ["wait"]),
        ("status.podIP=10.0.0.1", ["run"]),
        ("status.nominatedNodeName=", ["run", "wait"]),
        ("spec.schedulerName=,spec.serviceAccountName=", ["run", "wait"]),
        ("metadata.name=wait,status.phase=Pending", ["wait"]),
    ],
)
def test_pod_field_selectors_on_list_and_watch(
    pods: FakeKube, selector: str, names: list[str]
) -> None:
    code, body = _call(pods, "GET", PODS, fieldSelector=selector)
    assert (code, sorted(_names(body))) == (200, names)
    code, events = _call(pods, "GET", PODS, fieldSelector=selector, watch="1", timeoutSeconds="1")
    assert code == 200
    # the watch sends the events of each object it selects (ADDED, then its status write)
    assert sorted({e["object"]["metadata"]["name"] for e in events}) == names


@pytest.mark.parametrize("selector", ["spec.color=red", "status.replicas=1"])
def test_pod_field_not_in_its_table_is_400(pods: FakeKube, selector: str) -> None:
    code, body = _call(pods, "GET", PODS, fieldSelector=selector)
    field = selector.partition("=")[0]
    assert (code, body["message"]) == (400, f"field label not supported: {field}")


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("tier in ()", ["empty"]),
        ("tier notin ()", ["big", "none", "six", "under", "web"]),
        ("tier in (,web)", ["empty", "web"]),
        ("x in (foo,,baz),y,z notin ()", []),
        ("n>5", ["six"]),  # "99999999999999999999" and "1_0" are not int64: no match
        ("n<7", ["six"]),
        ("n>-9223372036854775808", ["six"]),
    ],
)
def test_label_selector_empty_sets_and_int64_comparisons(
    kube: FakeKube, selector: str, names: list[str]
) -> None:
    for name, labels in (
        ("empty", {"tier": ""}),
        ("web", {"tier": "web"}),
        ("none", {}),
        ("big", {"n": "99999999999999999999"}),
        ("under", {"n": "1_0"}),
        ("six", {"n": "6"}),
    ):
        kube.create(_cm(name, **labels))
    code, body = _call(kube, "GET", COLL, labelSelector=selector)
    assert (code, sorted(_names(body))) == (200, names)


@pytest.mark.parametrize(
    "selector",
    ["tier in (web prod)", "n>1_0", "n>99999999999999999999", "n< 5 6", "n>0x10", "n>"],
)
def test_label_selector_bad_values_are_400(three: FakeKube, selector: str) -> None:
    code, body = _call(three, "GET", COLL, labelSelector=selector)
    assert (code, body["reason"]) == (400, "BadRequest")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("metadata.name = a", "field label not supported: metadata.name "),
        (
            "metadata.name=a, metadata.namespace=ns",
            "field label not supported:  metadata.namespace",
        ),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: ="),
        ("metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_selector_terms_untrimmed_and_values_unescaped(
    three: FakeKube, selector: str, message: str
) -> None:
    code, body = _call(three, "GET", COLL, fieldSelector=selector)
    assert (code, body["message"]) == (400, message)


def test_field_selector_escaped_comma_and_equals_are_part_of_the_value(kube: FakeKube) -> None:
    kube.create(_cm("a"))
    code, body = _call(
        kube, "GET", COLL, fieldSelector="metadata.name!=a\\,b\\=c\\\\,metadata.name=a"
    )
    assert (code, _names(body)) == (200, ["a"])
    code, body = _call(kube, "GET", COLL, fieldSelector="metadata.name=a\\,b")
    assert (code, _names(body)) == (200, [])


# --- 7. review 2: PUT creates a Service ----------------------------------------------------


def test_put_to_a_missing_service_creates_it(kube: FakeKube) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": NS},
        "spec": {"selector": {"app": "m"}, "ports": [{"port": 80, "targetPort": 8080}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
    }
    code, body = _call(kube, "PUT", SERVICES + "/s", service)
    assert code == 201
    assert body["spec"]["selector"] == {"app": "m"}
    stored = kube.get("services", NS, "s")
    assert stored is not None
    assert stored["metadata"]["uid"] == body["metadata"]["uid"]
    assert not (stored.get("status") or {}).get("loadBalancer")  # a create sets no status
    assert _call(kube, "PUT", SERVICES + "/s", body)[0] == 200
