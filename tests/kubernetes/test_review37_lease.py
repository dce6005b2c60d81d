"""A holder whose Lease expired while its renewals failed stops writing, though it never
saw the job that took the Lease over (review 37).

The holder's trust in its Lease is timed on a fake monotonic clock (the Lease's seam), so
nothing here sleeps; its network to the API server is cut by a double of its client's
``request``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import DeploymentSpec, KubernetesDeployer, RolloutInProgress
from modelship.deploy.kubernetes import KubernetesError
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/fraud-rollout"


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Network:
    """A double of a deployer's ``client.request``: cut, it answers nothing; ``on_send``
    runs when an answer arrives (a slow answer moves the clock there)."""

    def __init__(self, dep: KubernetesDeployer) -> None:
        self.cut = threading.Event()
        self.on_send: Callable[[str, str, dict[str, Any]], None] | None = None
        self._real = dep._client.request
        dep._client.request = self  # type: ignore[method-assign]

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        if self.cut.is_set():
            raise KubernetesError(f"{method} {path}: no answer from the API server (network cut)")
        answer = self._real(method, path, **kw)
        if self.on_send is not None:
            self.on_send(method, path, kw)
        return answer


def _ready(dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


def test_a_holder_whose_renewals_failed_past_its_lease_is_refused_after_another_took_it(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's scenario: job A's network is cut mid-canary, its renewals fail for
    longer than the Lease lasts, job B takes the expired Lease, A's network comes back and
    A moves traffic at once: refused, and the Service is as B found it."""
    a, b = make_deployer(rollout_lease=60), make_deployer(rollout_lease=60)
    assert a._lease is not None
    assert b._lease is not None
    clock = FakeClock()
    a._lease._monotonic = clock
    network = Network(a)
    _ready(a, "blue", "1", spec)
    a.set_traffic({"blue": 100})
    with a.rollout_lock("canary deploy of fraud 2 (job A)"):
        _ready(a, "green", "2", spec)
        network.cut.set()  # A pauses its canary; its renewals fail
        with pytest.raises(KubernetesError, match="network cut"):
            a._lease._renew()
        clock.advance(61)  # longer than the Lease: it expired in the cluster
        # B judges expiry on the API server's clock, 61 s on from A's last renewal.
        real_now = b._client.server_now

        def later() -> datetime:
            return (real_now() or datetime.now(timezone.utc)) + timedelta(seconds=61)

        monkeypatch.setattr(b._client, "server_now", later)
        with b.rollout_lock("blue-green deploy of fraud 3 (job B)"):
            held = kube.get("leases", NS, "fraud-rollout")
            assert held is not None
            assert held["spec"]["holderIdentity"] == b._lease.identity
            service = kube.get("services", NS, "fraud")
            blue = kube.get("deployments", NS, "fraud-blue")
            network.cut.clear()  # A's network is back; its pause ends
            with pytest.raises(RolloutInProgress, match=r"may have taken it over") as refused:
                a.set_traffic({"blue": 50, "green": 50})
            assert "network cut" in str(refused.value), "the refusal does not say why"
            assert "kubectl get lease fraud-rollout -n models" in str(refused.value)
            assert kube.get("services", NS, "fraud") == service, "A changed the Service"
            assert kube.get("deployments", NS, "fraud-blue") == blue, "A rescaled blue"
    held = kube.get("leases", NS, "fraud-rollout")
    assert held is not None
    assert not held["spec"].get("holderIdentity"), "B did not let go"


def test_a_renewal_whose_answer_is_slow_is_trusted_from_when_it_was_sent(
    make_deployer: Make, kube: FakeKube
) -> None:
    """A renewal sent at 10 s and answered at 60 s is trusted until 10 s plus the renew
    deadline (56 s for a 60 s Lease), not 60 s plus it: the renewTime others judge expiry by
    was stamped when it was sent."""
    dep = make_deployer(rollout_lease=60)
    assert dep._lease is not None
    clock = FakeClock()
    dep._lease._monotonic = clock
    network = Network(dep)
    with dep.rollout_lock("canary deploy of fraud 2"):
        dep._lease.check_held()  # just taken
        clock.advance(10)

        def slow(method: str, path: str, kw: dict[str, Any]) -> None:
            if method == "PUT" and path == LEASE_PATH:
                clock.advance(50)  # the answer arrives 50 s after the renewal was sent

        network.on_send = slow
        assert dep._lease._renew()
        network.on_send = None
        dep._lease.check_held()  # 50 s after the renewal was sent: still trusted
        clock.advance(6.5)  # 56.5 s after it was sent, 6.5 s after its answer
        with pytest.raises(RolloutInProgress, match=r"56\.5 s ago.*trusted for only 56 s"):
            dep._lease.check_held()
        assert dep._lease._renew()  # the Lease is still ours: renewed, trusted again
        dep._lease.check_held()


def test_the_renewer_bounds_each_renewal_by_its_period(make_deployer: Make) -> None:
    """A renewal's requests carry a deadline at most a third of the Lease away, so one
    that hangs (a 30 s request timeout, retried) cannot delay the next past the Lease."""
    dep = make_deployer(rollout_lease=3)
    network = Network(dep)
    seen: list[tuple[float, float | None]] = []
    renewed = threading.Event()

    def spy(method: str, path: str, kw: dict[str, Any]) -> None:
        if method == "PUT" and path == LEASE_PATH:
            seen.append((time.monotonic(), kw.get("deadline")))
            renewed.set()

    network.on_send = spy
    with dep.rollout_lock("canary deploy of fraud 2"):
        assert renewed.wait(30), "the renewer never renewed"  # a bound, not a timing
    sent, deadline = seen[0]
    assert deadline is not None, "the renewal's requests have no deadline"
    assert deadline <= sent + 1.0  # the period of a 3 s Lease


class _Stop:
    """A stop event that records each wait asked for and stops after ``turns`` of them."""

    def __init__(self, turns: int) -> None:
        self.waits: list[float] = []
        self.turns = turns

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return len(self.waits) > self.turns


def test_a_renewal_that_did_not_land_is_tried_again_soon_not_a_third_later() -> None:
    # A 3 s Lease is trusted 1.85 s after a renewal, renewed every 1 s: one renewal
    # answered 429 (API Priority and Fairness) and retried a third later ended a healthy
    # rollout (second look of stop 37).
    from modelship.deploy.kubernetes._lease import RolloutLease

    lease = RolloutLease(object(), NS, "fraud-rollout", 3)  # type: ignore[arg-type]
    answers = iter([KubernetesError("429 TooManyRequests", 429), True, True])

    def renew(deadline: float | None = None) -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        lease._renewals += 1
        return answer

    lease._renew = renew  # type: ignore[method-assign]
    stop = _Stop(turns=3)
    lease._renew_until(stop)  # type: ignore[arg-type]
    first, after_failure, after_success = stop.waits[:3]
    assert 0.5 < first <= 1.0  # the first renewal is due a third of the Lease after the take
    assert after_failure <= 0.25  # the failed one is tried again soon
    assert after_success > 0.5  # then back to a third of the Lease
