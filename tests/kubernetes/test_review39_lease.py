"""A rollout whose Lease went to another rollout while it waited writes nothing more
(review 39), and two smaller answers of that review: ``wait_ready`` refuses a timeout no
clock can hold with :class:`InvalidParameter`, and a slot grown for a split whose new pods
never turn Ready is waited for until ``traffic_timeout``, then scaled back (a scale-up is
not a rollout: no progress deadline reports it failed sooner, on a real cluster as on the
fake).

The holder's trust in its Lease is timed on a fake monotonic clock (the Lease's seam), so
no Lease test sleeps: the clock jumps past the Lease, and the other rollout takes it, from
a double of the holder's client, when the answer of the request that starts the wait
arrives. (The grown slot's test waits out its 1 s ``traffic_timeout``.)
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _kube_helpers import NS

from modelship.deploy import DeploymentSpec, KubernetesDeployer, RolloutInProgress
from modelship.deploy.kubernetes import KubernetesError
from modelship.errors import InvalidParameter
from modelship.testing.fake_kube import FakeKube

Make = Callable[..., KubernetesDeployer]
LEASE = 60  # seconds; the renewer's first renewal (20 s on) never comes within a test
LAPSED = LEASE + 1  # past the Lease: others see it expired
REFUSED = r"may have taken it over|was taken by"


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """A double of a deployer's ``client.request`` that records the writes it sends and,
    once, runs ``then`` when the answer of the first request ``when`` picks arrives."""

    def __init__(self, dep: KubernetesDeployer) -> None:
        self.sent: list[tuple[str, str]] = []  # writes, Lease's aside, from the trigger on
        self.triggered = False
        self.when: Callable[[str, str], bool] = lambda method, path: False
        self.then: Callable[[], None] = lambda: None
        self._real = dep._client.request
        dep._client.request = self  # type: ignore[method-assign]

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        check = kw.get("before_attempt")
        if self.triggered and method != "GET" and "/leases/" not in path:
            if check is None:
                self.sent.append((method, path))
            else:  # an attempt is sent only once its check passed

                def checked() -> None:
                    check()
                    self.sent.append((method, path))

                kw["before_attempt"] = checked
        answer = self._real(method, path, **kw)
        if not self.triggered and self.when(method, path):
            self.triggered = True
            self.then()
        return answer


def _ready(dep: KubernetesDeployer, slot: str, version: str, spec: DeploymentSpec) -> None:
    dep.apply(slot, "fraud", version, spec)
    assert dep.wait_ready(slot, 10)


def _blue_serves_green_ready(dep: KubernetesDeployer, spec: DeploymentSpec) -> None:
    _ready(dep, "blue", "1", spec)
    dep.set_traffic({"blue": 100})
    _ready(dep, "green", "2", spec)


def _holder(dep: KubernetesDeployer) -> FakeClock:
    """Time ``dep``'s trust in its Lease on a fake clock."""
    assert dep._lease is not None
    clock = FakeClock()
    dep._lease._monotonic = clock
    return clock


def _b_takes_over(
    b: KubernetesDeployer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    job_b: contextlib.ExitStack,
) -> None:
    """A's Lease lapses (its clock jumps past it); job B, which judges expiry on the API
    server's clock, takes it over and puts all traffic on blue."""
    clock.now += LAPSED
    real_now = b._client.server_now

    def later() -> datetime:
        return (real_now() or datetime.now(timezone.utc)) + timedelta(seconds=LAPSED)

    monkeypatch.setattr(b._client, "server_now", later)
    job_b.enter_context(b.rollout_lock("blue-green of fraud 3 (job B)"))
    b.set_traffic({"blue": 100})


def _b_decides(kube: FakeKube, b: KubernetesDeployer, why: str) -> None:
    """Job B holds the Lease, and the Service sends all traffic to blue, as B set it."""
    assert b._lease is not None
    held = kube.get("leases", NS, "fraud-rollout")
    assert held is not None
    assert held["spec"]["holderIdentity"] == b._lease.identity
    service = kube.get("services", NS, "fraud")
    assert service is not None
    assert service["spec"]["selector"].get("modelship.io/slot") == "blue", why


def _replicas(kube: FakeKube, name: str) -> int:
    found = kube.get("deployments", NS, name)
    assert found is not None
    return int(found["spec"]["replicas"])


def test_set_traffic_writes_nothing_once_another_rollout_took_its_lease_while_a_slot_grew(
    make_deployer: Make,
    kube: FakeKube,
    spec: DeploymentSpec,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The review's scenario: job A splits 90/10, growing blue; the wait outlasts A's
    Lease, job B takes it and puts all traffic on blue; A then neither re-splits the
    Service nor scales green down, nor scales blue back: B decides what serves."""
    a, b = make_deployer(rollout_lease=LEASE), make_deployer(rollout_lease=LEASE)
    clock = _holder(a)
    client = Client(a)
    _blue_serves_green_ready(a, spec)
    grown = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"
    with contextlib.ExitStack() as job_b, a.rollout_lock("canary of fraud 2 (job A)"):
        client.when = lambda method, path: method == "PATCH" and path == grown
        # A's wait for blue to grow outlasts its Lease.
        client.then = lambda: _b_takes_over(b, clock, monkeypatch, job_b)
        with (
            caplog.at_level(logging.WARNING, "modelship.deploy.kubernetes"),
            pytest.raises(RolloutInProgress, match=REFUSED),
        ):
            a.set_traffic({"blue": 90, "green": 10})
        assert client.triggered, "blue was never grown: the scenario did not happen"
        _b_decides(kube, b, "A re-split")
        assert _replicas(kube, "fraud-green") == 2, "A scaled green down"
        assert client.sent == [], f"A wrote after B took the Lease: {client.sent}"
        assert "left as it is, not scaled back" in caplog.text


def test_a_rollout_whose_lease_lapsed_while_a_slot_grew_does_not_wait_for_it(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """A split whose Lease lapsed as blue started growing answers RolloutInProgress at
    once, instead of waiting up to traffic_timeout for a slot it may no longer resize (a
    CI run saw A wait 300 s for green to shrink while B, holding the Lease, had grown it
    back), and writes nothing more."""
    a = make_deployer(rollout_lease=LEASE, traffic_timeout=30)
    clock = _holder(a)
    client = Client(a)
    _blue_serves_green_ready(a, spec)
    grown = f"/apis/apps/v1/namespaces/{NS}/deployments/fraud-blue"

    def lapse() -> None:  # blue's new pods never turn Ready, and A's Lease lapses
        kube.never_ready({"modelship.io/slot": "blue"})
        clock.now += LAPSED

    with a.rollout_lock("canary of fraud 2 (job A)"):
        client.when = lambda method, path: method == "PATCH" and path == grown
        client.then = lapse
        started = time.monotonic()
        with pytest.raises(RolloutInProgress, match=REFUSED):
            a.set_traffic({"blue": 90, "green": 10})
        waited = time.monotonic() - started
    assert client.triggered, "blue was never grown: the scenario did not happen"
    assert client.sent == [], f"A wrote after its Lease lapsed: {client.sent}"
    assert waited < 20, f"A waited {waited:.1f} s for a slot it can no longer resize"


SERVICE = f"/api/v1/namespaces/{NS}/services/fraud"
#: Where a rollout's Lease lapses (the answer of the request ``when`` picks), what the
#: rollout was doing, and the object it would have changed next, left as it was.
LAPSES = {
    # The checks before a split (waiting for the controller, reading endpoints) may
    # outlast the Lease too: the first scale is refused, and its undo is not sent.
    "during-the-checks-before-growing": (
        lambda method, path: method == "GET" and "/endpointslices" in path,
        lambda a: a.set_traffic({"blue": 90, "green": 10}),
        lambda kube: _replicas(kube, "fraud-blue") == 2,
    ),
    # Every write is checked, the scale-downs after the Service's write too.
    # (blue serves: it is the slot that shrinks after the switch; a canary without
    # traffic shrinks before it.)
    "after-the-service-write": (
        lambda method, path: method == "PATCH" and path == SERVICE,
        lambda a: a.set_traffic({"blue": 10, "green": 90}),
        lambda kube: _replicas(kube, "fraud-blue") == 2,
    ),
    "between-the-deletes-of-remove": (
        lambda method, path: method == "DELETE",
        lambda a: a.remove("green"),
        lambda kube: kube.get("services", NS, "fraud-green") is not None,
    ),
}


@pytest.mark.parametrize("where", sorted(LAPSES))
def test_a_rollout_writes_nothing_more_once_its_lease_lapsed(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec, where: str
) -> None:
    when, act, left_as_it_was = LAPSES[where]
    a = make_deployer(rollout_lease=LEASE)
    clock = _holder(a)
    client = Client(a)
    _blue_serves_green_ready(a, spec)
    with a.rollout_lock("canary of fraud 2"):

        def lapse() -> None:
            clock.now += LAPSED

        client.when = when
        client.then = lapse
        with pytest.raises(RolloutInProgress, match=REFUSED):
            act(a)
        assert client.triggered
        assert client.sent == [], f"A wrote after its Lease lapsed: {client.sent}"
        assert left_as_it_was(kube)


def test_a_server_dry_run_needs_no_lease(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """A dry run stores nothing, so a lapsed Lease does not refuse it."""
    a = make_deployer(rollout_lease=LEASE)
    clock = _holder(a)
    with a.rollout_lock("canary of fraud 2"):
        clock.now += LAPSED
        kinds = [obj["kind"] for obj in a.server_dry_run("fraud", "2", spec, slot="green")]
    assert "Deployment" in kinds
    assert kube.get("deployments", NS, "fraud-green") is None


@pytest.mark.parametrize(
    "timeout",
    [10**400, -(10**400), float("inf"), float("-inf")],
    ids=["10**400", "-10**400", "inf", "-inf"],
)
def test_wait_ready_refuses_a_timeout_no_clock_can_hold(make_deployer: Make, timeout: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"timeout must be a number of seconds"):
        make_deployer().wait_ready("blue", timeout)


def test_a_slot_grown_for_a_split_whose_pods_never_turn_ready_is_waited_for_then_scaled_back(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    """Growing blue for a split is a scale of a complete Deployment, not a rollout: the
    deployment controller keeps its ``Progressing`` at ``NewReplicaSetAvailable`` while
    the added pods start or never turn Ready (``syncRolloutStatus``;
    kubernetes/kubernetes#106697), even past any progress deadline. Nothing says the
    growth failed, so the deployer waits the whole ``traffic_timeout``, says so, and
    scales blue back; the selector stays on blue."""
    timeout = 1.0
    dep = make_deployer(traffic_timeout=timeout)
    _blue_serves_green_ready(dep, spec)
    blue = ("deployments", NS, "fraud-blue")
    # A deadline that passes at once, had blue one: a scale has none.
    kube.exceed_progress_deadline(NS, "fraud-blue")
    # Blue's two serving pods stay Ready; those the split adds never turn Ready.
    kube.slow_ready({"modelship.io/slot": "blue"}, 3600)
    seen: set[str] = set()  # every reason blue's Progressing condition gave meanwhile

    def note() -> None:
        status = (kube.store.objects.get(blue) or {}).get("status") or {}
        seen.update(
            str(c.get("reason")) for c in status.get("conditions", []) if c["type"] == "Progressing"
        )

    kube.store.on_write.append(note)
    before, started = len(kube.requests), time.monotonic()
    with pytest.raises(KubernetesError) as failed:
        dep.set_traffic({"blue": 90, "green": 10})
    waited = time.monotonic() - started
    message = str(failed.value)
    assert re.search(
        r"^slot 'blue' did not reach \d+ available replicas: not within traffic_timeout "
        r"\(1 s; last seen: .+\); the selector was not changed$",
        message,
    ), message
    assert waited >= timeout, f"it gave up after {waited:.2f} s, before traffic_timeout"
    assert "progress deadline" not in message
    sent = kube.requests[before:]
    grown = [r for r in sent if r.method == "PATCH" and r.path.endswith("/deployments/fraud-blue")]
    assert len(grown) == 2, "blue was not grown, then scaled back: the scenario did not happen"
    assert seen == {"NewReplicaSetAvailable"}, f"blue's Progressing said {seen}"
    assert _replicas(kube, "fraud-blue") == 2, "the grown slot was not scaled back"
    assert {s.slot: s.weight for s in dep.state().slots} == {"blue": 100, "green": 0}


def test_a_write_the_client_retries_is_not_resent_once_the_lease_went_to_another(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lease is checked before each attempt, not once per write: job A's Service
    write gets a 503; while A's client backs off, its Lease lapses and job B takes it and
    puts all traffic on blue; A's retry must not go out (it put all traffic on green)."""
    from modelship.testing.fake_kube._server import Fault

    a, b = make_deployer(rollout_lease=LEASE), make_deployer(rollout_lease=LEASE)
    clock = _holder(a)
    _ready(a, "blue", "1", spec)
    _ready(a, "green", "2", spec)
    a.set_traffic({"blue": 100})
    real_sleep = a._client._sleep
    with contextlib.ExitStack() as job_b, a.rollout_lock("blue-green of fraud 2 (job A)"):

        def b_takes_over_while_a_backs_off(delay: float) -> None:
            _b_takes_over(b, clock, monkeypatch, job_b)
            real_sleep(delay)

        monkeypatch.setattr(a._client, "_sleep", b_takes_over_while_a_backs_off)
        kube.inject(Fault("PATCH", r"/services/fraud$", status=503, times=1))
        with pytest.raises(RolloutInProgress, match=REFUSED):
            a.set_traffic({"green": 100})
        _b_decides(kube, b, "A's retry went out")
