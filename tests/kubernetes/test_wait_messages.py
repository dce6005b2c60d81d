"""What a wait that times out says it last saw: the rollout progress it read, and a read
that failed after it; never a read that the deadline cut off (not sent, its deadline had
passed), which blamed an API server that had answered every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import Container, DeploymentSpec, KubernetesDeployer
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.deploy.kubernetes._client import _out_of_time
from modelship.deploy.kubernetes._deployer import _cut_off
from modelship.deploy.kubernetes._ready import rollout_progress
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]


def _sized(n: int) -> DeploymentSpec:
    return DeploymentSpec(
        containers=[Container(name="model-server", image="ai-model:1", port=8080)], replicas=n
    )


def _start(dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


def _blue_serving_green_ready(make_deployer: Make, timeout: float) -> KubernetesDeployer:
    dep = make_deployer(traffic_timeout=timeout)
    _start(dep, "blue", "1", _sized(2))
    dep.set_traffic({"blue": 100})
    _start(dep, "green", "2", _sized(2))
    return dep


def test_a_grown_slot_that_times_out_names_its_rollout_progress(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _blue_serving_green_ready(make_deployer, 1.0)
    kube.slow_ready({"modelship.io/slot": "blue"}, 3600)  # blue's new pods never turn Ready
    with pytest.raises(KubernetesError, match="did not reach 9 available replicas") as caught:
        dep.set_traffic({"blue": 90, "green": 10})
    message = str(caught.value)
    assert 'last seen: Waiting for deployment "fraud-blue" rollout to finish: ' in message
    assert "not sent" not in message
    assert "did not answer" not in message


def test_a_grown_slot_names_a_read_that_failed_after_its_progress(
    kube: FakeKube, make_deployer: Make
) -> None:
    dep = _blue_serving_green_ready(make_deployer, 1.0)
    kube.slow_ready({"modelship.io/slot": "blue"}, 3600)
    # the wait's first list is answered; every later list and watch of it fails with 503
    kube.inject(
        Fault(
            "GET",
            "/deployments$",
            status=503,
            times=None,
            skip=1,
            query="fieldSelector=metadata.name=fraud-blue",
        )
    )
    with pytest.raises(KubernetesError, match="did not reach 9 available replicas") as caught:
        dep.set_traffic({"blue": 90, "green": 10})
    message = str(caught.value)
    # the one list answered may come before the controller saw the scale (a busy machine)
    assert "last seen: Waiting for deployment " in message
    assert "; then a read failed: GET /apis/apps/v1/namespaces/models/deployments" in message
    assert "503" in message
    assert "not sent" not in message


def test_wait_ready_logs_the_rollout_progress_at_its_deadline(
    kube: FakeKube, make_deployer: Make, caplog: pytest.LogCaptureFixture
) -> None:
    dep = make_deployer()
    kube.slow_ready({"modelship.io/slot": "blue"}, 3600)
    dep.apply("blue", "fraud", "1", _sized(2))
    caplog.set_level(logging.INFO, logger="modelship")
    assert dep.wait_ready("blue", 1.0) is False
    seen = [r.getMessage() for r in caplog.records if "not ready in time" in r.getMessage()]
    assert seen, "the timeout was not logged"
    assert all("Waiting for deployment" in m for m in seen), seen
    assert not any("not sent" in m or "did not answer" in m for m in seen), seen


def test_a_shrunk_slot_names_a_read_that_failed_after_its_count(
    kube: FakeKube, make_deployer: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = make_deployer(traffic_timeout=1.0)
    _start(dep, "blue", "1", _sized(9))  # 9 to 1 needs no growth of blue
    dep.set_traffic({"blue": 100})
    _start(dep, "green", "2", _sized(4))
    real_replicaset = kube.controller._replicaset

    def held(rs: dict[str, Any]) -> None:  # green's pods outlive its scale-down
        if not rs["metadata"]["name"].startswith("fraud-green-"):
            real_replicaset(rs)

    monkeypatch.setattr(kube.controller, "_replicaset", held)
    real_scale = dep._scale

    def scale(slot: str, replicas: int) -> None:
        real_scale(slot, replicas)
        if slot == "green" and replicas == 1:  # the read after it is answered, no later one
            kube.inject(
                Fault(
                    "GET",
                    "/endpointslices$",
                    status=503,
                    times=None,
                    skip=1,
                    query="service-name=fraud-green",
                )
            )

    monkeypatch.setattr(dep, "_scale", scale)
    with pytest.raises(KubernetesError, match="did not scale down to 1 ready endpoints") as caught:
        dep.set_traffic({"blue": 90, "green": 10})
    message = str(caught.value)
    assert "last seen: Service fraud-green lists 4 ready endpoints; then a read failed: " in message
    assert "503" in message


def _deployment(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "fraud-blue", "namespace": NS, "generation": 2},
        "spec": {"replicas": 3},
        "status": {
            "observedGeneration": 2,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "conditions": conditions,
        },
    }


QUOTA = (
    'pods "fraud-blue-5d4f7-x2k9q" is forbidden: exceeded quota: compute, requested: '
    "cpu=2, used: cpu=4, limited: cpu=4"
)


def test_a_replica_failure_is_named_while_the_rollout_waits() -> None:
    # As the deployment controller copies it from its ReplicaSet (syncRolloutStatus)
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": QUOTA,
        "lastUpdateTime": "2024-01-01T00:00:00Z",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }
    progressing = {
        "type": "Progressing",
        "status": "True",
        "reason": "ReplicaSetUpdated",
        "message": 'ReplicaSet "fraud-blue-5d4f7" is progressing.',
    }
    progress = rollout_progress(_deployment([progressing, failure]))
    # not failed: the controller retries, and drops the condition once pods are created
    assert (progress.done, progress.failed) == (False, False)
    assert progress.message == (
        'Waiting for deployment "fraud-blue" rollout to finish: 1 out of 3 new replicas '
        f"have been updated... (ReplicaFailure: FailedCreate: {QUOTA})"
    )
    cleared = rollout_progress(_deployment([progressing, {**failure, "status": "False"}]))
    assert cleared.message.endswith("new replicas have been updated...")


# --- second look -----------------------------------------------------------------------------


def test_a_wait_asked_to_come_back_after_its_deadline_still_ends_at_it(
    kube: FakeKube, make_deployer: Make
) -> None:
    # The first list is answered; every later one is 429 with a Retry-After past the
    # deadline, and every watch 410: the wait sleeps to its deadline (documented), never
    # returning early once a read was answered (the strategies read a quick False as a
    # slot that failed at once).
    dep = make_deployer(rollout_lease=None, retry=Retry(attempts=4, base=0.001, cap=10.0))
    dep.apply("blue", "fraud", "1", _sized(2))
    kube.never_ready({"modelship.io/slot": "blue"})
    kube.inject(
        Fault(
            "GET",
            "/deployments$",
            status=429,
            retry_after="30",
            times=None,
            skip=1,
            watch=False,
            query="fieldSelector=metadata.name=fraud-blue",
        )
    )
    kube.inject(Fault("GET", "/deployments$", kind=FaultKind.GONE, times=None, watch=True))
    began = time.monotonic()
    assert dep.wait_ready("blue", 3.0) is False
    assert time.monotonic() - began >= 2.9


def test_a_dropped_connection_whose_retry_would_pass_the_deadline_is_named(
    kube: FakeKube, make_deployer: Make
) -> None:
    # A read that was sent and failed (the server dropped it) is something seen, even when
    # its retry would start after the deadline: only a read never sent saw nothing.
    dep = _blue_serving_green_ready(make_deployer, 2.0)
    kube.slow_ready({"modelship.io/slot": "blue"}, 3600)
    kube.inject(
        Fault(
            "GET",
            "/deployments$",
            kind=FaultKind.DROP,
            times=None,
            skip=1,
            query="fieldSelector=metadata.name=fraud-blue",
        )
    )
    with pytest.raises(KubernetesError, match="did not reach 9 available replicas") as caught:
        dep.set_traffic({"blue": 90, "green": 10})
    message = str(caught.value)
    assert "last seen: Waiting for deployment " in message
    assert "; then a read failed: GET /apis/apps/v1/namespaces/models/deployments" in message


def test_only_a_read_never_sent_is_cut_off() -> None:
    unsent = _out_of_time("GET", "/api", None, 0)
    assert unsent.unsent
    assert _cut_off(unsent)
    dropped = KubernetesError("GET /api: no answer from the API server (RemoteDisconnected)")
    assert not _cut_off(_out_of_time("GET", "/api", dropped, 1, (0.5, 0.1, False)))
    assert not _cut_off(_out_of_time("GET", "/api", KubernetesError("GET /api: 429", 429), 1))


def test_a_replica_failure_message_is_cut_and_escaped() -> None:
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": "denied\nfraud-blue: deployment successfully rolled out" + "x" * 1_000_000,
    }
    progress = rollout_progress(_deployment([failure]))
    assert "\n" not in progress.message
    assert "denied\\nfraud-blue" in progress.message
    assert len(progress.message) < 600


def test_a_shrink_wait_asked_to_come_back_after_its_deadline_ends_at_it(
    kube: FakeKube, make_deployer: Make
) -> None:
    # The EndpointSlices wait of a split's shrinking slot, as the deployment wait above:
    # the first read is answered (2 ready endpoints, more than 0), every later one is 429
    # with a Retry-After past the deadline; the wait ends at its deadline, saying so.
    dep = make_deployer(rollout_lease=None, retry=Retry(attempts=4, base=0.001, cap=10.0))
    _start(dep, "blue", "1", _sized(2))
    dep.set_traffic({"blue": 100})
    kube.inject(
        Fault(
            "GET",
            "/endpointslices$",
            status=429,
            retry_after="30",
            times=None,
            skip=1,
            query="service-name=fraud-blue",
        )
    )
    began = time.monotonic()
    said = dep._wait_endpoints("fraud-blue", 0, time.monotonic() + 3.0)
    assert time.monotonic() - began >= 2.9
    assert said is not None
    assert said.startswith("Service fraud-blue lists 2 ready endpoints")


def test_a_rolled_out_slot_whose_endpoints_were_not_read_in_time_is_not_ready(
    kube: FakeKube, make_deployer: Make
) -> None:
    # Third look: the progress noted before the EndpointSlices read said "rolled out", and
    # a wait cut off by that read returned it: wait_ready said True for a slot whose
    # Service lists no ready endpoint (the strategies then send it traffic).
    dep = make_deployer()
    _start(dep, "blue", "1", _sized(2))
    dep._client.request("DELETE", dep._path("services", "fraud-blue"))  # no endpoint left
    kube.inject(Fault("GET", "/endpointslices$", status=429, retry_after="30", times=None))
    assert dep.wait_ready("blue", 1.0) is False
