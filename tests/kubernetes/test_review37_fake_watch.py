"""The fake's watch with a label selector sends what the real API server's watch cache
sends (review 37): an object that stops matching is DELETED, one that starts matching is
ADDED (kubernetes/kubernetes, staging/src/k8s.io/apiserver/pkg/storage/cacher,
``cacheWatcher.convertToWatchEvent``, which compares the event's object with its
``PrevObject``).

Each watch starts from a resourceVersion read before the writes, which are all made
before it opens, so what it sends does not depend on timing; it ends after a second.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from _kube_helpers import NS

from modelship.testing.fake_kube import FakeKube

SERVICES = f"/api/v1/namespaces/{NS}/services"


def service(name: str, team: str) -> dict[str, Any]:
    # No selector: the fake's EndpointSlice controller leaves a Service without one alone
    # (as Kubernetes' does), so no write of its own lands between the test's writes and
    # the watch. With one, a slice written late pushed the test's resourceVersion out of
    # a log of 3 events, and the watch answered 410 Gone (seen once under load).
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "labels": {"team": team}},
        "spec": {"ports": [{"port": 80}]},
    }


def resource_version(kube: FakeKube) -> str:
    with urllib.request.urlopen(f"{kube.url}{SERVICES}", timeout=10) as answer:
        return str(json.load(answer)["metadata"]["resourceVersion"])


def watch(kube: FakeKube, since: str, selector: str = "team=x") -> list[dict[str, Any]]:
    query = f"watch=true&labelSelector={selector}&resourceVersion={since}&timeoutSeconds=1"
    with urllib.request.urlopen(f"{kube.url}{SERVICES}?{query}", timeout=10) as answer:
        return [json.loads(line) for line in answer.read().splitlines() if line.strip()]


def names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


def test_a_relabelled_object_leaving_a_selector_is_deleted_and_one_entering_it_added() -> None:
    with FakeKube() as kube:
        kube.create(service("s1", "x"))
        kube.create(service("s2", "y"))
        since = resource_version(kube)
        kube.create(service("s1", "z"))  # s1 stops matching team=x
        left = kube.get("services", NS, "s1")
        kube.create(service("s2", "x"))  # s2 starts matching team=x
        events = watch(kube, since)
    assert names(events) == [("DELETED", "s1"), ("ADDED", "s2")]
    gone = events[0]["object"]["metadata"]
    assert gone["labels"] == {"team": "x"}, "a DELETED object is sent as it was, matching"
    assert left is not None
    assert gone["resourceVersion"] == left["metadata"]["resourceVersion"], "not the event's"
    assert events[1]["object"]["metadata"]["labels"] == {"team": "x"}


def test_an_object_matching_before_and_after_is_modified_and_one_never_matching_unseen() -> None:
    with FakeKube() as kube:
        kube.create(service("s1", "x"))
        kube.create(service("s2", "y"))
        since = resource_version(kube)
        kube.create({**service("s1", "x"), "spec": {"selector": {"a": "c"}, "ports": []}})
        kube.create({**service("s2", "w"), "spec": {"selector": {"a": "c"}, "ports": []}})
        kube.create(service("s3", "x"))
        kube.store.delete("services", NS, "s3")
        events = watch(kube, since)
    assert names(events) == [("MODIFIED", "s1"), ("ADDED", "s3"), ("DELETED", "s3")]


def test_an_object_whose_last_event_left_the_log_is_still_deleted_when_it_stops_matching() -> None:
    """The watch log keeps the latest events only; what an object was before an event is
    known even when its previous event has been dropped from the log."""
    with FakeKube(watch_history=3) as kube:
        kube.create(service("s1", "x"))
        for n in range(4):  # push s1's creation out of the log
            kube.create(service(f"other-{n}", "y"))
        since = resource_version(kube)
        kube.create(service("s1", "z"))
        events = watch(kube, since)
    assert names(events) == [("DELETED", "s1")]
