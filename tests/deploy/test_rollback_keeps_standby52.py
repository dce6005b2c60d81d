"""A rollback keeps the way back: a failed switch back leaves the warm previous slot alone.

Review 52: set_traffic failing during a rollback inside the undo window fell through to a
redeploy whose abort removed the previous slot (the bad version then served alone); a
crashed previous slot cost the whole progress deadline before the redeploy began; a
canary abort that could not send the traffic back named only the larger share; and the
first state() of a deploy escaped unwrapped. Review 52g: a switch back that raised is
told from the state read back (applied: a rollback; the previous slot gone: a redeploy;
not applied: RolloutAborted), and an abort keeps a warm slot only if it was not applied
over. All on modelship's own InMemoryDeployer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TypeVar

import attrs
import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployError,
    DeployerState,
    EventKind,
    InMemoryHistory,
    Rollout,
    RolloutAborted,
    RolloutStatus,
    SlotHealth,
)
from modelship.monitor import InMemorySource, RollbackPolicy, watch
from modelship.testing import Fault, FaultEffect, InMemoryDeployer

MUTATING = ("apply", "set_traffic", "remove")


def promoted(dep: InMemoryDeployer) -> Rollout:
    """Version 1 in blue (kept warm for the undo window), version 2 promoted into green."""
    history = InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    return BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")


def slots(dep: InMemoryDeployer) -> list[tuple[str, str, int, bool]]:
    return [(s.slot, s.version, s.weight, s.ready) for s in dep.state().slots]


WARM = [("blue", "1", 0, True), ("green", "2", 100, True)]


def test_a_switch_back_that_fails_keeps_the_warm_previous_slot_and_can_be_retried() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    assert slots(dep) == WARM
    mark = len(dep.calls)
    dep.inject(Fault("set_traffic", times=4))  # the platform's API fails for a while

    with pytest.raises(RolloutAborted) as caught:
        rollout.rollback()

    # Nothing redeployed, nothing removed: the previous version is still there, ready.
    assert [c.op for c in dep.calls[mark:] if c.op in MUTATING] == ["set_traffic"] * 3
    assert slots(dep) == WARM
    assert caught.value.rollout is rollout
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert rollout.undo_window_open
    message = str(caught.value)
    assert "switching traffic back to blue failed" in message
    assert "2 is serving from green" in message
    assert "rollback() again" in message
    assert any(
        e.kind is EventKind.ERROR and e.message.startswith("rollback failed: switching traffic")
        for e in rollout.history
    )

    # The API is back: the rollback is the one traffic switch the undo window promises.
    dep.clear_faults()
    mark = len(dep.calls)
    assert rollout.rollback() is rollout
    assert [c.op for c in dep.calls[mark:] if c.op in MUTATING] == ["set_traffic", "remove"]
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert slots(dep) == [("blue", "1", 100, True)]
    assert dep.violations() == []


def test_a_watch_whose_rollback_cannot_switch_keeps_the_warm_previous_slot() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    source = InMemorySource(now=dep.clock.monotonic)
    dep.clock.sleep(10.0)  # ten seconds of errors on green since the rollout
    now = dep.clock.monotonic()
    source.add("errors", slot="green", values=[1.0] * 50, timestamps=[now - 0.5] * 50)
    policy = RollbackPolicy(conditions=["mean(errors) > 0.5"], deadline=None)
    dep.inject(Fault("set_traffic", times=4))

    with pytest.raises(RolloutAborted):
        watch(rollout, source, policy, interval=1.0, duration=1.0, clock=dep.clock, since=0.0)

    assert slots(dep) == WARM
    dep.clear_faults()
    assert rollout.rollback() is rollout  # still one switch
    assert slots(dep) == [("blue", "1", 100, True)]


def test_a_redeploy_that_applied_over_the_warm_slot_removes_it_on_abort() -> None:
    # Review 52g: the guard claimed "blue kept: it held 1 ready before this rollout began"
    # for the server the redeploy had just applied over blue (not the one that was ready).
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    # health() of blue fails throughout: the switch back is not made, and the redeploy of
    # 1 into blue (applied over it: a new server) aborts at its health check.
    dep.inject(Fault("health", slot="blue", times=None))
    mark = len(dep.calls)

    with pytest.raises(RolloutAborted) as caught:
        rollout.rollback()

    assert caught.value.rollout is not rollout  # the redeploy's rollout aborted
    ops = [(c.op, c.args[0]) for c in dep.calls[mark:] if c.op in MUTATING]
    assert ops == [("apply", "blue"), ("remove", "blue")]
    assert slots(dep) == [("green", "2", 100, True)]
    messages = [e.message for e in caught.value.rollout.history]
    assert "blue removed: abort" in messages
    assert not any("kept" in m for m in messages)


def test_a_redeploy_whose_abort_comes_before_any_apply_keeps_the_warm_slot() -> None:
    # What the guard is for: the apply into blue failed (nothing replaced the server that
    # held 1 ready), so the abort keeps it, and says so truly.
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    dep.inject(Fault("health", slot="blue"))  # the probe fails once: no switch back
    dep.inject(Fault("apply", slot="blue"))  # the redeploy's apply raises, changing nothing

    with pytest.raises(RolloutAborted) as caught:
        rollout.rollback()

    assert [c.args[0] for c in dep.calls if c.op == "remove"] == []
    assert slots(dep) == WARM
    assert any(
        e.message == "blue kept: it held 1 ready before this rollout began, and this rollout "
        "did not apply over it"
        for e in caught.value.rollout.history
    )


def test_a_redeploy_whose_new_server_never_gets_ready_removes_it() -> None:
    # Review 52g: a deploy of 1 into blue (warm, holding 1 ready) whose new server never
    # became ready kept that server, "it held 1 ready before", and left it behind.
    dep = InMemoryDeployer()
    history = InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, slot="blue"))

    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")

    assert slots(dep) == [("green", "2", 100, True)]
    messages = [e.message for e in caught.value.rollout.history]
    assert "blue removed: abort" in messages
    assert not any("kept" in m for m in messages)


class Vanishing(InMemoryDeployer):
    """Blue is evicted by the platform (a node drained) right after it answered ready:
    the switch back to it raises SlotNotFound."""

    armed = False

    def wait_ready(self, slot: str, timeout: float) -> bool:
        ready = super().wait_ready(slot, timeout)
        if self.armed and slot == "blue":
            self.armed = False
            with self._lock:
                self._slots.pop("blue")
        return ready


def test_a_previous_slot_gone_before_the_switch_back_is_redeployed() -> None:
    # Review 52g: the rollback raised RolloutAborted ("blue still holds 1, ready and
    # healthy", which it did not) and left the failing version serving alone.
    dep = Vanishing()
    rollout = promoted(dep)
    dep.armed = True

    replacement = rollout.rollback()

    assert replacement is not rollout  # redeployed
    assert replacement.status is RolloutStatus.SUCCEEDED
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    assert slots(dep)[0] == ("blue", "1", 100, True)
    assert any(
        e.kind is EventKind.ROLLBACK and "blue now holds no version" in e.message
        for e in rollout.history
    )


def test_a_watch_whose_previous_slot_vanished_restores_the_previous_version() -> None:
    dep = Vanishing()
    rollout = promoted(dep)
    source = InMemorySource(now=dep.clock.monotonic)
    dep.clock.sleep(10.0)
    now = dep.clock.monotonic()
    source.add("errors", slot="green", values=[1.0] * 50, timestamps=[now - 0.5] * 50)
    policy = RollbackPolicy(conditions=["mean(errors) > 0.5"], deadline=None)
    dep.armed = True

    result = watch(rollout, source, policy, interval=1.0, duration=1.0, clock=dep.clock, since=0.0)

    assert result.rolled_back
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]


_D = TypeVar("_D", bound=InMemoryDeployer)


def promoted_with_alias(
    kind: type[_D],
) -> tuple[_D, ms.Registry, InMemoryHistory, Rollout]:
    """A ``kind`` deployer on a registry of versions 1 and 2, version 2 promoted over 1 by
    a blue-green deploy moving ``@production``; its history; the rollout of 2."""
    registry = ms.open_registry(f"memory://rollback52-{uuid.uuid4().hex}")
    for _ in range(2):
        registry.register(model_name="fraud", model=b"w", serializer="bytes")
    dep = kind(registry=registry)
    history = InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history, alias="production").deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock, history=history, alias="production").deploy(
        "fraud", "2"
    )
    return dep, registry, history, rollout


class AppliedThenTimedOut(InMemoryDeployer):
    """set_traffic applies the change, then raises (a read timeout after the write) the
    next ``flaky`` times."""

    flaky = 0

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        super().set_traffic(weights)
        if self.flaky:
            self.flaky -= 1
            raise TimeoutError("read timed out (after the change was applied)")


def test_a_switch_back_that_took_effect_but_raised_is_a_rollback() -> None:
    # Review 52g: RolloutAborted while 1 served, the record still "succeeded" with 2, the
    # alias left on 2, and a second rollback() refused ("a later rollout replaced it").
    dep, registry, history, rollout = promoted_with_alias(AppliedThenTimedOut)
    dep.flaky = 3

    assert rollout.rollback() is rollout

    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert not rollout.undo_window_open
    assert slots(dep) == [("blue", "1", 100, True)]  # the failed version's slot removed
    assert registry.aliases("fraud")["production"] == "1"
    stored = history.records("fraud")[-1]
    assert (stored.version, stored.status) == ("2", RolloutStatus.ROLLED_BACK)
    assert any(e.kind is EventKind.TRAFFIC and e.data.get("read_back") for e in rollout.history)


class Blind(InMemoryDeployer):
    """Once set_traffic starts failing (before doing anything), state() fails too."""

    blind = False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        if self.blind:
            raise TimeoutError("the platform's API timed out")
        super().set_traffic(weights)

    def state(self) -> DeployerState:
        if self.blind and self.switching:
            raise TimeoutError("the platform's API timed out")
        return super().state()

    switching = False

    def wait_ready(self, slot: str, timeout: float) -> bool:
        ready = super().wait_ready(slot, timeout)
        self.switching = self.blind  # from the switch back on, nothing answers
        return ready


def test_a_switch_back_whose_outcome_cannot_be_read_changes_nothing_and_says_so() -> None:
    dep = Blind()
    rollout = promoted(dep)
    dep.blind = True

    with pytest.raises(RolloutAborted) as caught:
        rollout.rollback()

    message = str(caught.value)
    assert "could not be read back, so whether any traffic moved is not known" in message
    assert "still holds" not in message  # no claim the state did not support
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert rollout.undo_window_open
    dep.blind = dep.switching = False
    assert slots(dep) == WARM
    assert rollout.rollback() is rollout  # the API answers again: one switch
    assert slots(dep) == [("blue", "1", 100, True)]


def test_a_switch_back_that_failed_is_told_from_the_state_read_back() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    dep.inject(Fault("set_traffic", times=3))

    with pytest.raises(RolloutAborted) as caught:
        rollout.rollback()

    message = str(caught.value)
    assert "read back: 2 is serving from green, and blue holds 1" in message
    assert "ready and healthy" not in message


class Stuck(InMemoryDeployer):
    """Blue's server is in trouble: ``wait_ready`` polls until its timeout, as the protocol
    says; ``health`` answers at once (unhealthy when ``crashed``, as a crash loop is)."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck: str | None = None
        self.crashed = False
        self.waits: list[tuple[str, float]] = []

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self.waits.append((slot, timeout))
        if slot == self.stuck:
            self.clock.sleep(timeout)
            return False
        return super().wait_ready(slot, timeout)

    def health(self, slot: str) -> SlotHealth:
        if slot == self.stuck and self.crashed:
            return SlotHealth(healthy=False, detail="CrashLoopBackOff")
        return super().health(slot)

    def apply(self, slot: str, model: str, version: str, spec: object = None) -> None:
        super().apply(slot, model, version, spec)  # type: ignore[arg-type]
        if slot == self.stuck:
            self.stuck = None  # started again: it runs


@pytest.mark.parametrize("crashed", [True, False])
def test_a_previous_slot_in_trouble_does_not_cost_the_progress_deadline(crashed: bool) -> None:
    dep = Stuck()
    rollout = promoted(dep)
    dep.stuck, dep.crashed = "blue", crashed
    start = dep.clock.monotonic()
    replacement = rollout.rollback()

    assert replacement is not rollout  # redeployed
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    waited = dep.clock.monotonic() - start
    if crashed:  # the probe said so at once: no wait at all on the crashed slot
        assert waited == 0.0
    else:  # healthy but not ready: a short wait, not the progress deadline
        assert 0.0 < waited <= 30.0
        assert ("blue", 30.0) in dep.waits


def test_a_canary_abort_that_cannot_send_traffic_back_names_every_share() -> None:
    dep = InMemoryDeployer()
    steps = [CanaryStep(10, pause=1), CanaryStep(50, pause=1)]
    Canary(dep, steps=steps, clock=dep.clock).deploy("fraud", "1")
    # Step 1's split is made; every later traffic move fails.
    dep.inject(Fault("set_traffic", skip=1, times=None))

    with pytest.raises(RolloutAborted) as caught:
        Canary(dep, steps=steps, clock=dep.clock).deploy("fraud", "2")

    message = str(caught.value)
    assert "traffic is split: 1 in blue 90%, 2 in green 10%" in message
    assert "1 is serving from blue;" not in message
    dep.clear_faults()
    assert [(s.slot, s.weight) for s in dep.state().slots] == [("blue", 90), ("green", 10)]
    aborted = caught.value.rollout.history[-1]
    assert aborted.kind is EventKind.ABORTED
    assert aborted.data["weights"] == {"blue": 90, "green": 10}


class Unreadable(InMemoryDeployer):
    """state() times out (not a ModelshipError) the next ``fail`` times."""

    fail = 0

    def state(self) -> DeployerState:
        if self.fail:
            self.fail -= 1
            raise TimeoutError("the platform's API timed out")
        return super().state()


@pytest.mark.parametrize("strategy", [BlueGreen, Canary])
def test_state_failing_at_a_deploys_start_is_a_deploy_error(strategy: type[BlueGreen]) -> None:
    dep = Unreadable()
    strategy(dep, clock=dep.clock).deploy("fraud", "1")
    dep.fail = 1
    mark = len(dep.calls)

    with pytest.raises(DeployError, match="nothing was changed") as caught:
        strategy(dep, clock=dep.clock).deploy("fraud", "2")

    assert isinstance(caught.value.__cause__, TimeoutError)
    assert "TimeoutError" in str(caught.value)
    assert [c.op for c in dep.calls[mark:] if c.op in MUTATING] == []


def test_state_failing_at_a_rollbacks_start_is_a_recorded_deploy_error() -> None:
    dep = Unreadable()
    rollout = promoted(dep)
    dep.fail = 1

    with pytest.raises(DeployError, match="nothing was changed") as caught:
        rollout.rollback()

    assert isinstance(caught.value.__cause__, TimeoutError)
    assert rollout.history[-1].kind is EventKind.ERROR
    assert "TimeoutError" in rollout.history[-1].message
    assert slots(dep) == WARM
    assert rollout.rollback() is rollout  # the state answers again: one switch


class AppliedThenNotReady(InMemoryDeployer):
    """set_traffic({'blue': 100}) applies the change and raises (a read timeout after the
    write) the next ``armed`` times; ``dies``: blue's server is dead after it (never ready
    again); else one read-back of the state sees blue not ready (a probe failing once)."""

    armed = 0
    dies = False
    blip = False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        if self.armed and dict(weights) == {"blue": 100}:
            self.armed -= 1
            super().set_traffic(weights)
            with self._lock:
                if self.dies:
                    self._slots["blue"].ready = False
                    self._slots["blue"].never_ready = True
                else:
                    self.blip = True
            raise TimeoutError("read timed out (after the change was applied)")
        super().set_traffic(weights)

    def state(self) -> DeployerState:
        state = super().state()
        if self.blip:
            self.blip = False
            return DeployerState(
                tuple(attrs.evolve(s, ready=False) if s.slot == "blue" else s for s in state.slots)
            )
        return state


def test_a_switch_back_applied_to_a_slot_read_back_not_ready_for_a_moment_is_a_rollback() -> None:
    # Review 52h: RolloutAborted ("call rollback() again"), then every rollback() refused
    # ("a later rollout replaced it"), the alias left on the rolled-back version.
    dep, registry, _, rollout = promoted_with_alias(AppliedThenNotReady)
    dep.armed = 3

    assert rollout.rollback() is rollout

    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert slots(dep) == [("blue", "1", 100, True)]
    assert registry.aliases("fraud")["production"] == "1"


def test_a_switch_back_applied_to_a_dead_slot_redeploys_the_previous_version() -> None:
    # Review 52h: all traffic left on a dead server, RolloutAborted, and every later
    # rollback() refused: an outage nothing in modelship could end.
    dep = AppliedThenNotReady()
    dep.dies = True
    history = InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    dep.armed = 3

    replacement = rollout.rollback()

    assert replacement is not rollout
    assert replacement.status is RolloutStatus.SUCCEEDED
    assert rollout.status is RolloutStatus.ROLLED_BACK
    serving = dep.state().serving()
    assert serving is not None
    assert (serving.slot, serving.version) == ("green", "1")
