"""The fake's deployment controller sets ``Available`` and ``Progressing`` as the real one.

The real rules (kubernetes/kubernetes, pkg/controller/deployment): ``syncRolloutStatus``
(progress.go) checks a Deployment for progress only while a rollout is under way: one
that is complete (every replica updated, ``Progressing`` at ``NewReplicaSetAvailable``)
keeps that reason when it is only scaled, even if the pods the scale adds never turn
Ready (kubernetes/kubernetes#106697, #78678). ``DeploymentTimedOut``
(util/deployment_util.go) keeps ``ProgressDeadlineExceeded`` until progress is seen (more
updated, ready or available replicas, fewer old ones), the rollout completes, or a pod
template change makes a new ReplicaSet; a spec change that does none of these (a new
deadline; a scale-down of a first rollout, which has no old replicas) leaves it.
``calculateStatus`` (sync.go) sets ``Available`` once
``availableReplicas >= replicas - MaxUnavailable``, maxUnavailable resolved by
``ResolveFenceposts`` (percentages of maxUnavailable round down, of maxSurge up; both 0
makes maxUnavailable 1; a ``Recreate`` Deployment allows none). Every test here failed
against the fake before it was fixed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.testing.fake_kube import FakeKube, Timings

# A Deployment's 30 s deadline passes in 0.3 s of real time.
TIMINGS = Timings(tick=0.003, pod_ready=0.01, deadline_scale=0.01)
DEADLINE = 30
PAST_IT = 3 * DEADLINE * TIMINGS.deadline_scale  # seconds: three deadlines
NAME = "web"
PATH = f"/apis/apps/v1/namespaces/{NS}/deployments"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube(timings=TIMINGS) as fake:
        yield fake


def _patch(kube: FakeKube, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{kube.url}{PATH}/{NAME}",
        method="PATCH",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _create(kube: FakeKube, replicas: int, strategy: dict[str, Any] | None = None) -> None:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "progressDeadlineSeconds": DEADLINE,
        "selector": {"matchLabels": {"app": NAME}},
        "template": {
            "metadata": {"labels": {"app": NAME}},
            "spec": {"containers": [{"name": "c", "image": "i:1"}]},
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME}, "spec": spec}
    request = urllib.request.Request(
        kube.url + PATH,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _status(kube: FakeKube) -> dict[str, Any]:
    found = kube.get("deployments", NS, NAME)
    assert found is not None
    return dict(found.get("status") or {})


def _condition(kube: FakeKube, kind: str) -> tuple[str, str]:
    """(status, reason) of the Deployment's condition ``kind``."""
    found = next(c for c in _status(kube).get("conditions", []) if c["type"] == kind)
    return found["status"], found["reason"]


def _until(kube: FakeKube, what: str, check: Any) -> None:
    for _ in range(2000):  # up to 10 s
        if check():
            return
        time.sleep(0.005)
    raise AssertionError(f"the fake never got to {what}: {_status(kube)}")


def _rolled_out(kube: FakeKube, replicas: int, strategy: dict[str, Any] | None = None) -> None:
    """Create the Deployment and wait until its rollout completed."""
    _create(kube, replicas, strategy)
    _until(
        kube,
        "a complete rollout",
        lambda: (
            _status(kube).get("conditions")
            and _condition(kube, "Progressing") == ("True", "NewReplicaSetAvailable")
            and (_status(kube).get("availableReplicas") or 0) == replicas
        ),
    )


def _progressing_reasons(kube: FakeKube) -> set[str]:
    """Every reason the Deployment's ``Progressing`` gives from now on (collected on
    each write to the fake's store, until the test ends)."""
    seen: set[str] = set()
    lock = threading.Lock()

    def note() -> None:
        found = kube.store.objects.get(("deployments", NS, NAME)) or {}
        with lock:
            seen.update(
                str(c.get("reason"))
                for c in (found.get("status") or {}).get("conditions", [])
                if c["type"] == "Progressing"
            )

    kube.store.on_write.append(note)
    return seen


def _timed_out(kube: FakeKube, replicas: int) -> None:
    """Create the Deployment with pods that never turn Ready (its first rollout: no old
    ReplicaSet) and wait until it missed its progress deadline."""
    kube.never_ready({"app": NAME})
    _create(kube, replicas)
    _until(
        kube,
        "ProgressDeadlineExceeded",
        lambda: (
            _status(kube).get("conditions")
            and _condition(kube, "Progressing") == ("False", "ProgressDeadlineExceeded")
        ),
    )


def test_a_complete_deployment_scaled_up_keeps_new_replica_set_available_past_its_deadline(
    kube: FakeKube,
) -> None:
    """A scale-up is not a rollout: its pods never turning Ready, even past three
    deadlines, and a test's "deadline passed" fault, leave ``Progressing`` at True,
    ``NewReplicaSetAvailable``; ``Available`` says what is missing (1 of 3 available,
    none may be: 25% of 3 rounds down to 0)."""
    _rolled_out(kube, 1)
    seen = _progressing_reasons(kube)
    kube.slow_ready({"app": NAME}, 3600)  # the ready pod stays Ready; new ones never are
    kube.exceed_progress_deadline(NS, NAME)
    _patch(kube, {"spec": {"replicas": 3}})
    _until(kube, "3 pods", lambda: _status(kube).get("replicas") == 3)
    time.sleep(PAST_IT)
    assert _condition(kube, "Progressing") == ("True", "NewReplicaSetAvailable")
    assert seen == {"NewReplicaSetAvailable"}, seen
    assert _condition(kube, "Available") == ("False", "MinimumReplicasUnavailable")
    status = _status(kube)
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 1)


def test_a_rollout_past_its_deadline_stays_so_when_only_scaled_down_until_it_completes(
    kube: FakeKube,
) -> None:
    """A rollout whose pods never turn Ready misses its deadline; scaling it down shows no
    progress (no more updated, ready or available replicas, no fewer old ones: there
    are none), so ``ProgressDeadlineExceeded`` stays however long nothing progresses;
    once the pods turn Ready the rollout completes."""
    _timed_out(kube, 3)
    seen = _progressing_reasons(kube)
    _patch(kube, {"spec": {"replicas": 2}})
    _until(kube, "the scale-down", lambda: _status(kube).get("updatedReplicas") == 2)
    time.sleep(PAST_IT)
    assert _condition(kube, "Progressing") == ("False", "ProgressDeadlineExceeded")
    assert seen == {"ProgressDeadlineExceeded"}, seen
    kube.allow_ready({"app": NAME})
    _until(
        kube,
        "a complete rollout",
        lambda: _condition(kube, "Progressing") == ("True", "NewReplicaSetAvailable"),
    )


def test_a_new_progress_deadline_does_not_clear_one_already_exceeded(kube: FakeKube) -> None:
    """A new ``progressDeadlineSeconds`` is a spec change (a new generation) but not
    progress: the rollout stays ``ProgressDeadlineExceeded`` (``DeploymentTimedOut``
    answers true while that is the reason)."""
    _timed_out(kube, 1)
    seen = _progressing_reasons(kube)
    _patch(kube, {"spec": {"progressDeadlineSeconds": 100 * DEADLINE}})
    _until(
        kube,
        "the new generation observed",
        lambda: (
            _status(kube).get("observedGeneration")
            == (kube.get("deployments", NS, NAME) or {})["metadata"]["generation"]
        ),
    )
    time.sleep(PAST_IT)
    assert _condition(kube, "Progressing") == ("False", "ProgressDeadlineExceeded")
    assert seen == {"ProgressDeadlineExceeded"}, seen


@pytest.mark.parametrize(
    ("ready", "replicas", "strategy", "available"),
    [
        # 25% of 2: maxUnavailable rounds down to 0 (maxSurge up to 1): all must be
        (1, 2, None, False),
        # a Recreate Deployment has no maxUnavailable: all must be
        (1, 2, {"type": "Recreate"}, False),
        # 75% of 4 is 3: one of four is enough
        (1, 4, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "75%"}}, True),
        (1, 4, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 3}}, True),
        # maxSurge 0 and 10% of 8 (0) resolve to 0 and 0: maxUnavailable is then 1
        (
            6,
            8,
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}},
            False,
        ),
        # maxUnavailable above replicas counts as replicas: none needs to be available
        (0, 2, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 5}}, True),
    ],
    ids=["default-25%-of-2", "recreate", "75%-of-4", "3-of-4", "both-0-is-1", "above-replicas"],
)
def test_available_is_replicas_minus_max_unavailable_resolved_as_kubernetes_does(
    kube: FakeKube,
    ready: int,
    replicas: int,
    strategy: dict[str, Any] | None,
    available: bool,
) -> None:
    _rolled_out(kube, ready, strategy)
    kube.slow_ready({"app": NAME}, 3600)  # the pods the scale adds never turn Ready
    _patch(kube, {"spec": {"replicas": replicas}})
    _until(kube, f"{replicas} pods", lambda: _status(kube).get("replicas") == replicas)
    assert (_status(kube).get("availableReplicas") or 0) == ready
    expected = (
        ("True", "MinimumReplicasAvailable")
        if available
        else ("False", "MinimumReplicasUnavailable")
    )
    assert _condition(kube, "Available") == expected


def test_a_deployment_without_a_progress_deadline_has_no_progressing_condition(
    kube: FakeKube,
) -> None:
    """``progressDeadlineSeconds`` at MaxInt32 turns the check off: the controller
    removes the ``Progressing`` condition (``syncRolloutStatus``)."""
    _rolled_out(kube, 1)
    _patch(kube, {"spec": {"progressDeadlineSeconds": 2**31 - 1}})
    _until(
        kube,
        "no Progressing condition",
        lambda: [c["type"] for c in _status(kube).get("conditions", [])] == ["Available"],
    )
