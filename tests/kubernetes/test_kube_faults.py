"""Faults at every step of blue-green, canary and rollback on the fake: never zero serving.

Each case fails one request (every retry of it, so the call fails) with a 500, a dropped
connection, an answer lost after the change was made, or a timeout, at each request of a
rollout (a canary of two steps) or of a rollback in the undo window in turn; or answers
watches with 410 Gone, drops them or times them out. After every change the fake made,
the Service clients call must select at least one Ready pod once it served; afterwards a
version serves, the previous one when the rollout aborted.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import functools
import threading
from collections.abc import Callable, Iterator

import attrs
import pytest
from _kube_helpers import NS, Snapshot, restored, snapshot

from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeploymentSpec,
    EventKind,
    GatePolicy,
    InMemoryHistory,
    KubernetesDeployer,
    RolloutAborted,
    SlotHealth,
)
from modelship.deploy._rollout import Rollout
from modelship.deploy.kubernetes import KubernetesError, Retry
from modelship.testing.fake_kube import FakeKube, Fault, FaultKind, Timings

Make = Callable[..., KubernetesDeployer]
ATTEMPTS = 4  # conftest's fast_retry()
STEPS = (20, 50)  # a canary of two steps: every request of it is failed in turn
TIMEOUT = 0.15  # the client's timeout when a fault holds requests; the fault holds 0.3 s


def strategy(
    name: str,
    dep: KubernetesDeployer,
    spec: DeploymentSpec,
    steps: tuple[int, ...] = STEPS,
    progress_deadline: float = 5.0,
) -> BlueGreen | Canary:
    kwargs = {
        "history": InMemoryHistory(),
        "alias": None,
        "progress_deadline": progress_deadline,
        "undo_window": 600.0,
        "policy": GatePolicy(interval=0.01, deadline=1),
    }
    if name == "canary":
        return Canary(dep, spec, steps=[CanaryStep(w) for w in steps], **kwargs)  # type: ignore[arg-type]
    return BlueGreen(dep, spec, **kwargs)  # type: ignore[arg-type]


def failing(kind: str, skip: int) -> Fault:
    """A fault failing every attempt of the request after ``skip`` others."""
    return {
        "500": Fault(status=500, skip=skip, times=ATTEMPTS, watch=False),
        "drop": Fault(kind=FaultKind.DROP, skip=skip, times=ATTEMPTS, watch=False),
        "lost": Fault(kind=FaultKind.LOST, skip=skip, times=ATTEMPTS, watch=False),
        "timeout": Fault(
            kind=FaultKind.TIMEOUT, delay=2 * TIMEOUT, skip=skip, times=2, watch=False
        ),
    }[kind]


@contextlib.contextmanager
def faulted(dep: KubernetesDeployer, kind: str) -> Iterator[None]:
    """The faulted phase: for timeouts, the client waits 0.15 s, twice, instead of 2 s, 4 times.

    Only this phase: on a loaded machine a healthy answer can take longer than 0.15 s,
    and the set-up and the final reading must not fail for that. (The deployer has no
    public way to change its timeout after it was made, so the test reaches its client.)
    """
    client = dep._client
    saved = client.timeout, client.retry
    if kind == "timeout":
        client.timeout, client.retry = TIMEOUT, Retry(attempts=2, base=0.01, cap=0.02)
    try:
        yield
    finally:
        client.timeout, client.retry = saved


KINDS = ["500", "drop", "lost", "timeout"]
ROUTE = {"traffic": "httproute", "gateway": "public"}
CASES = [
    *[(name, kind, "service") for name in ("blue-green", "canary") for kind in KINDS],
    *[("canary", kind, "httproute") for kind in ("500", "lost")],  # exact weights
]


def traffic_options(traffic: str) -> dict[str, object]:
    return dict(ROUTE) if traffic == "httproute" else {}


def deploy_first(name: str, make: Make, kube: FakeKube, spec: DeploymentSpec) -> Snapshot:
    """Version 1 deployed on ``kube``: the cluster state every rollout step starts from.

    Each step used to deploy version 1 on its own fresh fake first, a quarter of its
    work: a fake :func:`restored` from this snapshot is the same starting point, and the
    deploy it replayed is not what is tested (test_kube_deployer tests it).
    """
    strategy(name, make(), spec).deploy("fraud", "1")
    return snapshot(kube)


def requests_of_a_clean_rollout(
    name: str, make: Make, first: Snapshot, spec: DeploymentSpec
) -> int:
    with restored(first) as clean:  # the state every step starts from
        strategy(name, make(server=clean.url), spec).deploy("fraud", "2")
        return len([r for r in clean.requests if r.query.get("watch") != "true"])


@attrs.frozen
class Promoted:
    """Version 2 promoted over version 1 on the template fake: what each rollback step copies."""

    rollout: Rollout
    deployer: KubernetesDeployer
    history: InMemoryHistory
    cluster: Snapshot

    def rebound(self, dep: KubernetesDeployer) -> Rollout:
        """A copy of the rollout, on ``dep`` (pointed at a :func:`restored` copy of the fake).

        As if ``dep`` had made it: its undo window, slots and events are the rollout's; its
        history a copy of the records; its deployer (and its strategy's) is ``dep``. The
        template's rollout is not changed, so each step rolls back its own.
        """
        history = InMemoryHistory()
        for record in self.history.records(self.rollout.model):
            history.save(record)
        memo = {id(self.deployer): dep, id(self.history): history}
        return copy.deepcopy(self.rollout, memo)


def promote_second(name: str, make: Make, kube: FakeKube, spec: DeploymentSpec) -> Promoted:
    """Versions 1 then 2 deployed on ``kube``: the state each rollback step starts from.

    Each step used to deploy both on its own fresh fake first (70-80 % of its
    requests): a copy of the cluster state (:func:`restored`) and of the rollout
    (:meth:`Promoted.rebound`) is the same starting point, and the two deploys are not
    what is tested (each rollout step is, in the test above).
    """
    deploy_first(name, make, kube, spec)
    dep = make()
    second = strategy(name, dep, spec)
    assert isinstance(second.history, InMemoryHistory)
    rollout = second.deploy("fraud", "2")
    return Promoted(rollout, dep, second.history, snapshot(kube))


def requests_of_a_clean_rollback(promoted: Promoted, make: Make) -> int:
    with restored(promoted.cluster) as clean:
        promoted.rebound(make(server=clean.url)).rollback()
        return len([r for r in clean.requests if r.query.get("watch") != "true"])


def assert_never_zero(kube: FakeKube) -> None:
    samples = [n for ns, svc, n in kube.serving_samples if (ns, svc) == (NS, "fraud")]
    first = next(i for i, n in enumerate(samples) if n > 0)
    assert min(samples[first:]) > 0, f"the Service selected no ready pod: {samples}"


def deploy_with_fault(
    name: str,
    make: Make,
    kube: FakeKube,
    spec: DeploymentSpec,
    fault: Fault,
    progress_deadline: float = 5.0,
) -> tuple[KubernetesDeployer, Rollout | None]:
    """Version 1 deployed, then version 2 with ``fault`` (``progress_deadline``: its own)."""
    dep = make()
    strategy(name, dep, spec).deploy("fraud", "1")
    return dep, deploy_second_with_fault(name, dep, kube, spec, fault, progress_deadline)


def deploy_second_with_fault(
    name: str,
    dep: KubernetesDeployer,
    kube: FakeKube,
    spec: DeploymentSpec,
    fault: Fault,
    progress_deadline: float = 5.0,
) -> Rollout | None:
    """Version 2 deployed with ``fault`` over version 1; None if the rollout aborted."""
    kube.watch_serving(NS, "fraud")
    kube.inject(fault)
    try:
        return strategy(name, dep, spec, progress_deadline=progress_deadline).deploy("fraud", "2")
    except RolloutAborted:
        return None


@contextlib.contextmanager
def copy_of(snap: Snapshot, stopping: list[threading.Thread]) -> Iterator[FakeKube]:
    """A fake :func:`restored` from ``snap`` and started; stopped in the background after.

    Stopping waits for the server loop's next poll (15 ms on average): the next step need
    not wait for it. :func:`each_step` joins the threads in ``stopping``.
    """
    fake = restored(snap).start()
    try:
        yield fake
    finally:
        stop = threading.Thread(target=fake.stop, name="fake-kube-stop")
        stop.start()
        stopping.append(stop)


def each_step(total: int, check: Callable[[int], None], stopping: list[threading.Thread]) -> None:
    """``check(step)`` for every step, two at a time; the first failure, in step order.

    Each step has its own fake, deployer and fault, and spends most of its time waiting
    (pods turning Ready, a request timing out): two overlap their waits (20 cases of
    26-61 steps took 150 s one after the other). Two, not more: a healthy request in a
    faulted phase must still answer well within the client's short timeout.
    """
    pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="fault-step")
    try:
        for _ in pool.map(check, range(total)):
            pass
    finally:
        pool.shutdown(cancel_futures=True)
        for stop in stopping:  # every fake of the steps stopped before the test ends
            stop.join()


@pytest.mark.parametrize(("name", "kind", "traffic"), CASES)
def test_a_failing_request_at_any_step_leaves_a_version_serving(
    name: str, kind: str, traffic: str, make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    make = functools.partial(make_deployer, **traffic_options(traffic))
    first = deploy_first(name, make, kube, spec)
    total = requests_of_a_clean_rollout(name, make, first, spec)
    assert total > 10

    stopping: list[threading.Thread] = []

    def check(step: int) -> None:
        fault = failing(kind, step)
        with copy_of(first, stopping) as fresh:  # version 1 serving, as deploy_first left it
            dep = make(server=fresh.url)
            fresh.watch_serving(NS, "fraud", route=traffic == "httproute")
            fresh.inject(fault)
            aborted = False
            try:
                with faulted(dep, kind):
                    strategy(name, dep, spec).deploy("fraud", "2")
            except RolloutAborted:
                aborted = True
            except KubernetesError:  # the first state() failed: nothing was started
                aborted = True
            fresh.faults.clear()
            assert_never_zero(fresh)
            serving = dep.state().serving()
            assert serving is not None, f"nothing serves after a {kind} at request {step}"
            if aborted:
                assert serving.version == "1", f"abort at {step} left {serving.version} serving"

    each_step(total, check, stopping)


@pytest.mark.parametrize(("name", "kind", "traffic"), CASES)
def test_a_failing_request_at_any_step_of_a_rollback_leaves_a_version_serving(
    name: str, kind: str, traffic: str, make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    make = functools.partial(make_deployer, **traffic_options(traffic))
    promoted = promote_second(name, make, kube, spec)
    total = requests_of_a_clean_rollback(promoted, make)
    assert total > 5

    stopping: list[threading.Thread] = []

    def check(step: int) -> None:
        fault = failing(kind, step)
        with copy_of(promoted.cluster, stopping) as fresh:  # 2 over 1, in the undo window
            dep = make(server=fresh.url)
            rollout = promoted.rebound(dep)
            fresh.watch_serving(NS, "fraud", route=traffic == "httproute")
            fresh.inject(fault)
            try:
                with faulted(dep, kind):
                    back = rollout.rollback()
            except (RolloutAborted, KubernetesError):
                back = None  # the switch back and the redeploy both failed: 2 serves on
            fresh.faults.clear()
            assert_never_zero(fresh)
            serving = dep.state().serving()
            assert serving is not None, f"nothing serves after a {kind} at request {step}"
            if back is not None and back.version == "1":
                assert serving.version == "1", f"a rollback left {serving.version} serving"

    each_step(total, check, stopping)


SLOW_PODS = Timings(tick=0.003, pod_ready=0.2, deadline_scale=0.02)  # every wait watches


@pytest.mark.parametrize("name", ["blue-green", "canary"])
def test_a_410_on_any_watch_relists_and_the_rollout_completes(
    name: str, make_deployer: Make, spec: DeploymentSpec
) -> None:
    with FakeKube(timings=SLOW_PODS) as template:  # version 1, for each case to start from
        first = deploy_first(
            name, functools.partial(make_deployer, server=template.url), template, spec
        )
    with restored(first) as clean:
        strategy(name, make_deployer(server=clean.url), spec).deploy("fraud", "2")
        watches = len([r for r in clean.requests if r.query.get("watch") == "true"])
    assert watches >= 1
    hit = 0
    for skip in [*range(watches), None]:  # each watch in turn, then every watch
        gone = Fault(
            kind=FaultKind.GONE, watch=True, skip=skip or 0, times=None if skip is None else 1
        )
        with restored(first) as kube:
            dep = make_deployer(server=kube.url)
            rollout = deploy_second_with_fault(name, dep, kube, spec, gone)
            hit += gone.times == 0 or gone.times is None
            assert rollout is not None, f"a 410 on watch {skip} aborted the rollout"
            assert_never_zero(kube)
            serving = dep.state().serving()
            assert serving is not None
            assert serving.version == "2"
    assert hit >= 2, "the injected 410s never reached a watch"


@pytest.mark.parametrize("name", ["blue-green", "canary"])
@pytest.mark.parametrize("kind", [FaultKind.DROP, FaultKind.TIMEOUT])
def test_every_watch_failing_still_lets_the_rollout_complete(
    name: str, kind: FaultKind, make_deployer: Make, spec: DeploymentSpec
) -> None:
    fault = Fault(kind=kind, delay=0.5, watch=True, times=None)
    with FakeKube(timings=SLOW_PODS) as kube:
        dep, rollout = deploy_with_fault(
            name,
            lambda **kw: make_deployer(server=kube.url, request_timeout=1.0, **kw),
            kube,
            spec,
            fault,
        )
        watches = [r for r in kube.requests if r.query.get("watch") == "true"]
        assert watches, "the rollout never watched"
        assert rollout is not None
        assert_never_zero(kube)
        serving = dep.state().serving()
        assert serving is not None
        assert serving.version == "2"


@pytest.mark.parametrize("name", ["blue-green", "canary"])
def test_a_new_version_that_never_becomes_ready_aborts_with_the_old_one_serving(
    name: str, make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    kube.never_ready({"modelship.io/version": "2"})
    # Version 2 is waited for until the progress deadline, whatever its length: 1 s, not 5 s
    # (a healthy slot here is Ready in well under 0.1 s, and what is tested is the abort).
    dep, rollout = deploy_with_fault(
        name, make_deployer, kube, spec, Fault(times=0), progress_deadline=1.0
    )
    assert rollout is None
    assert_never_zero(kube)
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "1"


@pytest.mark.parametrize("name", ["blue-green", "canary"])
def test_dropped_connections_and_timeouts_do_not_break_a_rollout(
    name: str, make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    kube.inject(
        Fault("PATCH", kind=FaultKind.DROP, times=2, skip=3),
        Fault("GET", "/services/", kind=FaultKind.TIMEOUT, delay=1.0, times=1, skip=2),
        Fault("GET", "/deployments$", kind=FaultKind.GONE, watch=True, times=3),
    )
    dep, rollout = deploy_with_fault(
        name, lambda **kw: make_deployer(request_timeout=0.3, **kw), kube, spec, Fault(times=0)
    )
    assert rollout is not None
    assert_never_zero(kube)
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "2"


def test_a_version_unhealthy_behind_traffic_is_switched_back(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    strategy("blue-green", dep, spec).deploy("fraud", "1")
    kube.watch_serving(NS, "fraud")
    health_calls = 0

    real_health = dep.health

    def flaky_health(slot: str) -> SlotHealth:
        nonlocal health_calls
        health_calls += 1
        if health_calls == 2:  # the check behind traffic
            kube.unhealthy({"modelship.io/version": "2"})
        return real_health(slot)

    dep.health = flaky_health  # type: ignore[method-assign]
    with pytest.raises(RolloutAborted):
        strategy("blue-green", dep, spec).deploy("fraud", "2")
    assert_never_zero(kube)
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "1"


def test_a_rollback_in_the_undo_window_is_one_service_update(
    make_deployer: Make, kube: FakeKube, spec: DeploymentSpec
) -> None:
    dep = make_deployer()
    strategy("blue-green", dep, spec).deploy("fraud", "1")
    rollout = strategy("blue-green", dep, spec).deploy("fraud", "2")
    blue = kube.get("deployments", NS, "fraud-blue")
    assert blue is not None
    assert blue["spec"]["replicas"] == blue["status"]["availableReplicas"] == spec.replicas
    before = len(kube.writes())
    rollout.rollback()
    writes = [(r.method, r.path.rsplit("/", 2)[-2:]) for r in kube.writes()[before:]]
    # The rollout Lease is taken first and let go last; the rest are the rollback's.
    lease = ("PUT", ["leases", "fraud-rollout"])
    assert (writes[0], writes[-1]) == (lease, lease)
    writes = [w for w in writes if w[1][0] != "leases"]
    assert writes[0] == ("PATCH", ["services", "fraud"])
    assert [w for w in writes if w[1] == ["services", "fraud"]] == [writes[0]]
    assert not [w for w in writes if w[1][1] == "fraud-blue"], "the previous slot was not touched"
    assert {(m, tuple(p)) for m, p in writes[1:]} <= {
        ("DELETE", ("deployments", "fraud-green")),
        ("DELETE", ("services", "fraud-green")),
    }
    after = kube.get("deployments", NS, "fraud-blue")
    assert after is not None
    assert after["metadata"]["generation"] == blue["metadata"]["generation"]
    serving = dep.state().serving()
    assert serving is not None
    assert (serving.slot, serving.version) == ("blue", "1")


def test_an_abort_while_the_stable_slot_is_still_scaling_waits_for_it_and_restores_it(
    make_deployer: Make, spec: DeploymentSpec
) -> None:
    """A canary step grows the stable slot for its split, then waiting for it fails.

    The stable slot still serves with its old pods, but its scale-up is not complete
    when the abort looks at it (pods take 0.3 s here). The abort must not take it for
    dead: it waits for it, as a rollback does, sends it all traffic again at its spec's
    size, and removes the canary.
    """
    slow = Timings(tick=0.003, pod_ready=0.3, deadline_scale=0.02)
    with FakeKube(timings=slow) as fresh:
        dep = make_deployer(server=fresh.url)
        strategy("canary", dep, spec).deploy("fraud", "1")  # in blue
        fresh.watch_serving(NS, "fraud")
        # The first read of the blue Deployment alone (a list by name) is the wait after
        # growing it for 80/20: a 403, which will not change, fails the wait at once (a 5xx
        # would be waited out), so the step's traffic move fails and the rollout aborts.
        fresh.inject(
            Fault(
                "GET",
                "/deployments$",
                query="metadata.name=fraud-blue",
                status=403,
                times=1,
                watch=False,
            )
        )
        with pytest.raises(RolloutAborted) as aborted:
            strategy("canary", dep, spec).deploy("fraud", "2")
        assert not fresh.faults[0].times, "the fault never hit: the test proves nothing"
        grown = [
            r
            for r in fresh.writes()
            if r.path.endswith("/deployments/fraud-blue") and r.method == "PATCH"
        ]
        assert grown, "the canary step did not grow the stable slot"

        history = aborted.value.rollout.history
        errors = [e.message for e in history if e.kind is EventKind.ERROR]
        assert not [m for m in errors if "no longer ready" in m], errors
        state = dep.state()
        assert [(s.slot, s.version, s.weight, s.ready) for s in state.slots] == [
            ("blue", "1", 100, True)
        ], "the canary was kept, or the stable slot is not serving at full size"
        blue = fresh.get("deployments", NS, "fraud-blue")
        assert blue is not None
        assert blue["spec"]["replicas"] == spec.replicas, "the stable slot kept its split size"
        assert_never_zero(fresh)
