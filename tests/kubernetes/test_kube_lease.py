"""The rollout lock on Kubernetes: a Lease that two CI jobs (two deployers) both see.

Each "job" is its own KubernetesDeployer against one fake API server, as two processes
would be; the first is held mid-rollout by a gate that waits for the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _held import held_mid_way
from _kube_helpers import NS, need

from modelship.deploy import (
    BlueGreen,
    DeploymentSpec,
    InMemoryHistory,
    KubernetesDeployer,
    RolloutAborted,
    RolloutInProgress,
    Verdict,
)
from modelship.deploy.kubernetes import KubernetesError
from modelship.deploy.kubernetes._lease import ANNOTATION_ROLLOUT, lease_body
from modelship.errors import ConfigError
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind

Make = Callable[..., KubernetesDeployer]
LEASE = "fraud-rollout"


def blue_green(dep: KubernetesDeployer, spec: DeploymentSpec, **kw: Any) -> BlueGreen:
    return BlueGreen(dep, spec, history=InMemoryHistory(), alias=None, progress_deadline=5.0, **kw)


def lease(kube: FakeKube) -> dict[str, Any]:
    found = kube.store.get("leases", NS, LEASE)
    assert found is not None, "no Lease was written"
    return dict(found)


def test_a_second_job_is_refused_while_the_first_holds_the_lease_and_goes_ahead_after(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    first, second = make_deployer(), make_deployer()
    blue_green(first, spec).deploy("fraud", "1")
    with held_mid_way(lambda gate: blue_green(first, spec, gate=gate).deploy("fraud", "2")):
        held = lease(kube)
        assert held["spec"]["holderIdentity"]
        assert "blue-green deploy of fraud 2" in held["metadata"]["annotations"][ANNOTATION_ROLLOUT]
        before = len(kube.requests)
        with pytest.raises(RolloutInProgress, match=r"holds the Lease models/fraud-rollout: "):
            blue_green(second, spec).deploy("fraud", "3")
        writes = [r for r in kube.requests[before:] if r.method != "GET"]
        assert writes == [], f"the refused job wrote {writes}"
    serving = first.state().serving()
    assert serving is not None
    assert serving.version == "2"
    assert "holderIdentity" not in lease(kube)["spec"], "the first job did not let go"
    blue_green(second, spec).deploy("fraud", "3")
    serving = second.state().serving()
    assert serving is not None
    assert serving.version == "3"


def _foreign_lease(kube: FakeKube, renewed_ago: float, seconds: int = 60) -> None:
    now = datetime.now(timezone.utc)
    body = lease_body(
        name=LEASE,
        namespace=NS,
        identity="modelship-someone-else",
        holder="canary deploy of fraud 9 (pid 7 on ci-runner-3, since earlier)",
        seconds=seconds,
        now=now - timedelta(seconds=renewed_ago),
        transitions=2,
    )
    kube.store.put(body, manager="test")


def test_a_lease_someone_renewed_recently_refuses_the_rollout_naming_them(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    _foreign_lease(kube, renewed_ago=5)
    with pytest.raises(RolloutInProgress) as refused:
        blue_green(make_deployer(), spec).deploy("fraud", "1")
    message = str(refused.value)
    assert "canary deploy of fraud 9 (pid 7 on ci-runner-3" in message
    assert "expires at" in message
    assert kube.store.select("deployments", NS) == [], "a refused rollout started something"


def test_an_expired_lease_is_taken_over_and_let_go_after(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    _foreign_lease(kube, renewed_ago=120)  # its holder died a minute ago
    blue_green(make_deployer(), spec).deploy("fraud", "1")
    after = lease(kube)
    assert after["spec"]["leaseTransitions"] == 3
    assert "holderIdentity" not in after["spec"]


@pytest.mark.parametrize("kind", [FaultKind.LOST, FaultKind.DROP])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_lease_write_whose_answer_was_lost_still_takes_the_lease(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec, kind: FaultKind, method: str
) -> None:
    if method == "PUT":
        _foreign_lease(kube, renewed_ago=120)  # taken over with a PUT
    kube.inject(Fault(method, "/leases", kind=kind, times=1))
    dep = make_deployer()
    blue_green(dep, spec).deploy("fraud", "1")
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "1"
    assert "holderIdentity" not in lease(kube)["spec"]


def test_a_lease_not_let_go_blocks_other_jobs_but_not_its_own_deployer(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    dep, other = make_deployer(), make_deployer()
    kube.inject(Fault("PUT", "/leases", status=500, times=None, skip=0))
    blue_green(dep, spec).deploy("fraud", "1")  # the let-go fails; the rollout does not
    kube.faults.clear()
    assert lease(kube)["spec"]["holderIdentity"], "the Lease was let go despite the faults"
    with pytest.raises(RolloutInProgress):
        blue_green(other, spec).deploy("fraud", "2")
    blue_green(dep, spec).deploy("fraud", "2")  # the same deployer holds it: goes ahead
    assert "holderIdentity" not in lease(kube)["spec"]


def test_the_lease_is_renewed_while_a_rollout_outlasts_it(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    first, second = make_deployer(rollout_lease=3), make_deployer(rollout_lease=3)
    blue_green(first, spec).deploy("fraud", "1")
    with held_mid_way(lambda gate: blue_green(first, spec, gate=gate).deploy("fraud", "2")):
        taken = lease(kube)["spec"]["renewTime"]
        time.sleep(4.5)  # longer than the Lease: only renewals keep it
        assert lease(kube)["spec"]["renewTime"] > taken
        with pytest.raises(RolloutInProgress):
            blue_green(second, spec).deploy("fraud", "3")
    assert "holderIdentity" not in lease(kube)["spec"]


def test_no_access_to_leases_says_which_permission_is_missing(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    kube.inject(Fault("GET", "/leases", status=403, times=None))
    with pytest.raises(KubernetesError, match=r"get, create and update on leases.*rollout_lease"):
        blue_green(make_deployer(), spec).deploy("fraud", "1")
    assert kube.store.select("deployments", NS) == []
    dep = make_deployer(rollout_lease=None)  # the documented way out
    blue_green(dep, spec).deploy("fraud", "1")
    serving = dep.state().serving()
    assert serving is not None


@pytest.mark.parametrize("bad", [0, 2, 2.5, True, "60"])
def test_a_lease_duration_that_is_not_whole_seconds_of_at_least_3_is_refused(
    make_deployer: Make, bad: object
) -> None:
    with pytest.raises(ConfigError, match="rollout_lease must be"):
        make_deployer(rollout_lease=bad)


def test_the_lease_validates_against_the_kubernetes_schema() -> None:
    kubernetes_validate = need("kubernetes_validate")
    body = lease_body(
        name=LEASE,
        namespace=NS,
        identity="modelship-0123",
        holder="blue-green deploy of fraud 2",
        seconds=60,
        now=datetime.now(timezone.utc),
    )
    kubernetes_validate.validate(body, "1.33", strict=True)


def test_a_put_refused_with_409_is_not_resent_and_is_read_again(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """A PUT carries the resourceVersion it was read at: resending it cannot succeed (a
    PATCH, which carries none, is still retried on 409)."""
    _foreign_lease(kube, renewed_ago=120)
    dep = make_deployer()
    kube.inject(Fault("PUT", "/leases", status=409, times=1))
    blue_green(dep, spec).deploy("fraud", "1")
    lease_requests = [r.method for r in kube.requests if "/leases/" in r.path]
    # Read, PUT refused, read again, PUT taken; then the let-go's read and PUT.
    assert lease_requests[:4] == ["GET", "PUT", "GET", "PUT"], lease_requests
    kube.inject(Fault("PATCH", "/services/", status=409, times=1))
    before = len(kube.requests)
    dep._client.request(
        "PATCH",
        f"/api/v1/namespaces/{NS}/services/fraud",
        body={"metadata": {"labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    assert [r.method for r in kube.requests[before:]] == ["PATCH", "PATCH"]


def test_a_rollout_whose_lease_was_taken_stops_changing_the_service(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """Behind a process stalled longer than its Lease, another job took the Lease over:
    the stalled rollout's next write is refused, and it aborts without moving traffic."""
    dep = make_deployer(rollout_lease=3)
    blue_green(dep, spec).deploy("fraud", "1")
    assert dep._lease is not None

    def gate(rollout: Any) -> Verdict:
        _foreign_lease(kube, renewed_ago=0)  # the other job's takeover
        for _ in range(300):  # the renewer looks every second; bound the wait at 6 s
            if dep._lease is not None and dep._lease._lost is not None:
                break
            time.sleep(0.02)
        return Verdict.PASS

    with pytest.raises(RolloutAborted) as aborted:
        blue_green(dep, spec, gate=gate).deploy("fraud", "2")
    messages = " ".join(e.message for e in aborted.value.rollout.history)
    assert "was taken by canary deploy of fraud 9" in messages
    serving = dep.state().serving()
    assert serving is not None
    assert (serving.slot, serving.version) == ("blue", "1")  # traffic never moved
    held = lease(kube)["spec"]["holderIdentity"]
    assert held == "modelship-someone-else", "the other job's Lease was let go by this one"
