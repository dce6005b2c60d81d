"""Strategies keep their invariant at every step and every failure (via the double)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployerCapabilities,
    EventKind,
    GatePolicy,
    GateResult,
    InMemoryHistory,
    Recreate,
    RolloutAborted,
    RolloutStatus,
    Verdict,
)
from modelship.testing._deployer_double import (
    OPS,
    Fault,
    FaultEffect,
    InjectedFault,
    InMemoryDeployer,
    ManualClock,
)

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]


def make(kind: str, dep: InMemoryDeployer, **kw: Any) -> Any:
    kw.setdefault("clock", dep.clock)
    kw.setdefault("history", InMemoryHistory())
    kw.setdefault("policy", GatePolicy(interval=10, deadline=120))
    if kind == "blue-green":
        return BlueGreen(dep, **kw)
    if kind == "canary":
        return Canary(dep, steps=STEPS, **kw)
    return Recreate(dep, **kw)


@pytest.fixture
def dep() -> InMemoryDeployer:
    return InMemoryDeployer(clock=ManualClock())


def serving(dep: InMemoryDeployer) -> str | None:
    slot = dep.state().serving()
    return None if slot is None else slot.version


def deploy_v1(dep: InMemoryDeployer, kind: str) -> None:
    make(kind, dep).deploy("fraud", "1")
    assert serving(dep) == "1"


STRATEGIES = ["blue-green", "canary", "recreate"]

# Each fault of the list, and an exception from every deployer call.
FAULTS: dict[str, list[Fault]] = {
    "never ready": [Fault("apply", FaultEffect.NEVER_READY, version="2")],
    "killed while starting": [Fault("apply", FaultEffect.KILL, version="2")],
    "unhealthy after the switch": [
        Fault("set_traffic", FaultEffect.UNHEALTHY, version="2", times=None)
    ],
    "killed after traffic moved": [Fault("set_traffic", FaultEffect.KILL, version="2")],
    "unhealthy from the start": [Fault("apply", FaultEffect.UNHEALTHY, version="2")],
    **{f"{op} raises once": [Fault(op, times=1)] for op in OPS if op != "state"},
    **{f"{op} always raises": [Fault(op, times=None)] for op in OPS if op != "state"},
}


@pytest.mark.parametrize("kind", STRATEGIES)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_never_leaves_traffic_without_a_ready_slot(
    dep: InMemoryDeployer, kind: str, fault: str
) -> None:
    deploy_v1(dep, kind)
    for f in FAULTS[fault]:
        dep.inject(f)
    try:
        rollout = make(kind, dep).deploy("fraud", "2")
    except RolloutAborted as exc:
        rollout = exc.rollout
    assert dep.violations(allow_stop=kind == "recreate") == []
    if rollout.status is RolloutStatus.SUCCEEDED:
        assert serving(dep) == "2"
    else:
        assert rollout.status is RolloutStatus.ABORTED
        assert rollout.history[-1].kind is EventKind.ABORTED
        if kind == "recreate" and "restoring 1 also failed" in rollout.history[-1].message:
            return  # recreate stops 1 first by design; a platform that cannot start 1 again
        assert serving(dep) == "1"


@pytest.mark.parametrize("op", ["apply", "wait_ready", "health"])
def test_recreate_says_when_the_previous_version_could_not_be_restarted(
    dep: InMemoryDeployer, op: str
) -> None:
    deploy_v1(dep, "recreate")
    dep.inject(Fault(op, times=None))
    with pytest.raises(RolloutAborted, match="restoring 1 also failed"):
        make("recreate", dep).deploy("fraud", "2")


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_stable_slot_is_never_removed_while_the_new_one_is_not_serving(
    dep: InMemoryDeployer, kind: str, fault: str
) -> None:
    deploy_v1(dep, kind)
    for f in FAULTS[fault]:
        dep.inject(f)
    with contextlib.suppress(RolloutAborted):
        make(kind, dep).deploy("fraud", "2")
    removed = [c.before.slot(c.args[0]) for c in dep.calls if c.op == "remove" and not c.error]
    assert "1" not in [s.version for s in removed if s is not None]


@pytest.mark.parametrize("kind", STRATEGIES)
def test_an_abort_explains_itself_in_the_history(dep: InMemoryDeployer, kind: str) -> None:
    deploy_v1(dep, kind)
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="2"))
    with pytest.raises(RolloutAborted, match="progress deadline of 600 s") as info:
        make(kind, dep).deploy("fraud", "2")
    assert "progress deadline" in info.value.rollout.history[-1].message


@pytest.mark.parametrize("kind", STRATEGIES)
def test_a_slot_that_fails_to_start_is_explained_by_its_health(
    dep: InMemoryDeployer, kind: str
) -> None:
    deploy_v1(dep, kind)
    dep.inject(Fault("apply", FaultEffect.KILL, version="2"))
    with pytest.raises(RolloutAborted, match="progress deadline of 600 s: injected: down"):
        make(kind, dep).deploy("fraud", "2")


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_no_traffic_moves_before_the_target_is_ready(dep: InMemoryDeployer, kind: str) -> None:
    deploy_v1(dep, kind)
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="2"))
    with pytest.raises(RolloutAborted):
        make(kind, dep).deploy("fraud", "2")
    moves = [c for c in dep.calls[-8:] if c.op == "set_traffic"]
    assert moves == []


def test_a_slot_that_becomes_ready_slowly_is_waited_for() -> None:
    dep = InMemoryDeployer(startup_seconds=120)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    assert dep.clock.monotonic() == 120
    assert serving(dep) == "1"


def test_the_progress_deadline_aborts_a_slot_that_is_too_slow() -> None:
    dep = InMemoryDeployer(startup_seconds=120)
    with pytest.raises(RolloutAborted, match="progress deadline of 60 s"):
        BlueGreen(dep, clock=dep.clock, progress_deadline=60).deploy("fraud", "1")
    assert dep.state().slots == ()


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_gate_that_errors_aborts_after_four_errors_in_a_row(
    dep: InMemoryDeployer, kind: str
) -> None:
    deploy_v1(dep, kind)

    def broken(rollout: Any) -> Verdict:
        raise RuntimeError("prometheus unreachable")

    with pytest.raises(RolloutAborted, match="4 gate errors in a row") as info:
        make(kind, dep, gate=broken).deploy("fraud", "2")
    gates = [e for e in info.value.rollout.history if e.kind is EventKind.GATE]
    assert [e.data["verdict"] for e in gates] == ["error"] * 4
    assert "prometheus unreachable" in gates[0].data["reason"]
    assert serving(dep) == "1"
    assert dep.violations() == []


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
@pytest.mark.parametrize("verdict", [Verdict.NO_DATA, Verdict.INCONCLUSIVE])
def test_a_gate_without_a_pass_holds_then_aborts_at_the_deadline(
    dep: InMemoryDeployer, kind: str, verdict: Verdict
) -> None:
    deploy_v1(dep, kind)
    with pytest.raises(RolloutAborted, match="no pass within the analysis deadline of 120 s"):
        make(kind, dep, gate=lambda r: verdict).deploy("fraud", "2")
    assert serving(dep) == "1"
    assert dep.violations() == []


def test_a_failing_gate_aborts_at_the_first_failure_by_default(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "canary")
    with pytest.raises(RolloutAborted, match="one failure aborts"):
        make("canary", dep, gate=lambda r: GateResult("fail", "p99 0.4 s", {"p99": 0.4})).deploy(
            "fraud", "2"
        )
    assert serving(dep) == "1"


def test_failures_are_counted_over_all_canary_steps(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "canary")
    answers = iter([Verdict.FAIL, Verdict.PASS, Verdict.FAIL, Verdict.PASS])
    policy = GatePolicy(interval=10, deadline=120, failure_limit=2)
    with pytest.raises(RolloutAborted, match="2 failures reached failure_limit=2"):
        make("canary", dep, gate=lambda r: next(answers), policy=policy).deploy("fraud", "2")


def test_a_tolerated_failure_holds_and_a_later_pass_promotes(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "canary")
    answers = iter([Verdict.FAIL, Verdict.PASS, Verdict.PASS])
    policy = GatePolicy(interval=10, deadline=120, failure_limit=2)
    rollout = make("canary", dep, gate=lambda r: next(answers), policy=policy).deploy("fraud", "2")
    assert rollout.succeeded
    assert serving(dep) == "2"


def test_a_canary_moves_through_its_steps_with_pauses(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "canary")
    start = dep.clock.monotonic()
    rollout = make("canary", dep, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    traffic = [e.data["weights"] for e in rollout.history if e.kind is EventKind.TRAFFIC]
    assert traffic == [{"green": 10, "blue": 90}, {"green": 50, "blue": 50}, {"green": 100}]
    assert dep.clock.monotonic() - start == 60


def test_a_canary_records_the_share_a_replica_based_deployer_applied() -> None:
    dep = InMemoryDeployer(capabilities=DeployerCapabilities(exact_weights=False), replicas=4)
    Canary(dep, steps=[CanaryStep(10)], clock=dep.clock).deploy("fraud", "1")
    rollout = Canary(dep, steps=[CanaryStep(10)], clock=dep.clock).deploy("fraud", "2")
    step = next(e for e in rollout.history if e.kind is EventKind.TRAFFIC)
    assert (step.data["weights"]["green"], step.data["applied"]) == (10, 25)


def test_canary_steps_must_increase(dep: InMemoryDeployer) -> None:
    with pytest.raises(ms.ConfigError, match="must increase, got 50 then 20"):
        Canary(dep, steps=[CanaryStep(50), CanaryStep(20)])


def test_blue_green_needs_two_slots() -> None:
    dep = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
    with pytest.raises(ms.ConfigError, match="use Recreate"):
        BlueGreen(dep).deploy("fraud", "1")


def test_a_strategy_refuses_an_object_that_is_not_a_deployer() -> None:
    with pytest.raises(ms.ConfigError, match="does not implement the Deployer protocol"):
        BlueGreen(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", STRATEGIES)
def test_deploying_the_serving_version_changes_nothing(dep: InMemoryDeployer, kind: str) -> None:
    deploy_v1(dep, kind)
    before = len([c for c in dep.calls if c.op != "state"])
    rollout = make(kind, dep).deploy("fraud", "1")
    assert rollout.succeeded
    # The one call besides state(): a read, the serving version must still answer healthy.
    assert [c.op for c in dep.calls if c.op != "state"][before:] == ["health"]


@pytest.mark.parametrize("kind", STRATEGIES)
def test_the_history_is_json_serialisable_and_saved(dep: InMemoryDeployer, kind: str) -> None:
    history = InMemoryHistory()
    make(kind, dep, history=history).deploy("fraud", "1")
    rollout = make(kind, dep, history=history, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    stored = next(r for r in history.records("fraud") if r.id == rollout.id)
    assert stored == rollout.record()
    assert json.loads(json.dumps(rollout.to_dict()))["status"] == "succeeded"


def test_the_old_slot_stays_at_full_size_for_the_undo_window(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "blue-green")
    rollout = make("blue-green", dep, undo_window=300).deploy("fraud", "2")
    assert dep.state().slot("blue").version == "1"
    assert dep.state().slot("blue").ready
    assert rollout.undo_window_open
    rollout.finish_when_due()
    assert dep.clock.monotonic() >= 300
    assert dep.state().slot("blue") is None


def test_an_undo_window_of_zero_scales_the_old_slot_down_at_once(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "blue-green")
    make("blue-green", dep, undo_window=0).deploy("fraud", "2")
    assert [s.version for s in dep.state().slots] == ["2"]


def test_the_alias_moves_only_after_the_switch(tmp_path: Any) -> None:
    reg = ms.open_registry(f"file://{tmp_path}/reg")
    for _ in range(2):
        reg.register(model_name="fraud", model=b"m", serializer="bytes")
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    assert reg.aliases("fraud") == {"production": "1"}
    dep.inject(Fault("set_traffic", FaultEffect.UNHEALTHY, version="2"))
    with pytest.raises(RolloutAborted):
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert reg.aliases("fraud") == {"production": "1"}
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "latest")
    assert (rollout.version, reg.aliases("fraud")) == ("2", {"production": "2"})
    alias = next(e for e in rollout.history if e.kind is EventKind.ALIAS)
    assert alias.data["rollout"] == rollout.id


def test_rollout_records_are_stored_with_the_registry(tmp_path: Any) -> None:
    reg = ms.open_registry(f"file://{tmp_path}/reg")
    reg.register(model_name="fraud", model=b"m", serializer="bytes")
    dep = InMemoryDeployer(registry=reg)
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    again = ms.open_registry(f"file://{tmp_path}/reg")
    assert ms.deploy.RegistryHistory(again).records("fraud") == [rollout.record()]


def _calls_of_a_clean_deploy(kind: str) -> list[str]:
    dep = InMemoryDeployer()
    make(kind, dep, gate=lambda r: Verdict.PASS).deploy("fraud", "1")
    mark = len(dep.calls)
    make(kind, dep, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    return [c.op for c in dep.calls[mark:] if c.op != "fault"]


EVERY_CALL = [
    (kind, op, n)
    for kind in STRATEGIES
    for op, count in sorted(Counter(_calls_of_a_clean_deploy(kind)).items())
    for n in range(count)
]


@pytest.mark.parametrize(("kind", "op", "n"), EVERY_CALL)
def test_an_exception_from_any_deployer_call_keeps_a_version_serving(
    dep: InMemoryDeployer, kind: str, op: str, n: int
) -> None:
    deploy_v1(dep, kind)
    dep.inject(Fault(op, skip=n))
    try:
        rollout = make(kind, dep, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    except InjectedFault:  # state() before anything changed: the error propagates
        assert serving(dep) == "1"
        return
    except RolloutAborted as exc:
        rollout = exc.rollout
        assert "InjectedFault" in " ".join(e.message for e in rollout.history)
    assert dep.violations(allow_stop=kind == "recreate") == []
    expected = "2" if rollout.status is RolloutStatus.SUCCEEDED else "1"
    assert serving(dep) == expected


def test_a_deployer_serving_another_model_is_refused(dep: InMemoryDeployer) -> None:
    deploy_v1(dep, "blue-green")
    with pytest.raises(ms.ConfigError, match="serves model 'fraud'"):
        make("blue-green", dep).deploy("churn", "1")
    assert serving(dep) == "1"


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_an_abort_waits_for_a_stable_slot_that_is_not_ready_then_leaves_traffic_if_it_died(
    dep: InMemoryDeployer, kind: str
) -> None:
    """Not ready at the abort is not yet dead: the abort waits up to the progress deadline.

    Here the stable slot really died (killed while the new version started, which never
    becomes ready): after the wait, traffic stays where it is and the new slot is kept.
    """
    deploy_v1(dep, kind)
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="2"))
    real_apply = dep.apply

    def apply_then_kill_blue(slot: str, *args: Any, **kwargs: Any) -> None:
        real_apply(slot, *args, **kwargs)
        dep.kill("blue")

    dep.apply = apply_then_kill_blue  # type: ignore[method-assign]
    strategy = make(kind, dep, progress_deadline=60)
    started, before = dep.clock.monotonic(), len(dep.calls)
    with pytest.raises(RolloutAborted) as aborted:
        strategy.deploy("fraud", "2")
    waits = [c for c in dep.calls[before:] if c.op == "wait_ready" and c.args[0] == "blue"]
    assert waits, "the abort did not wait for the stable slot"
    assert dep.clock.monotonic() - started <= 2 * 60 + 1, "the waits were not bounded"
    errors = [e.message for e in aborted.value.rollout.history if e.kind is EventKind.ERROR]
    assert "blue is no longer ready; traffic is left where it is" in errors
    assert {s.slot for s in dep.state().slots} == {"blue", "green"}, "the new slot was removed"
    assert dep.state().slot("blue").weight == 100
