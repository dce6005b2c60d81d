"""Strategies against review 36: a state() of the wrong type, a version taken as promoted
because it serves, a leftover split read as the stable slot, an undo window left open on a
reused slot, and a rollback to an archived version."""

from __future__ import annotations

from typing import Any

import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployError,
    EventKind,
    InMemoryHistory,
    Recreate,
    RegistryHistory,
    RollbackUnavailable,
    RolloutAborted,
    RolloutStatus,
    Verdict,
)
from modelship.deploy._record import RolloutRecord
from modelship.errors import ArchivedVersion, ConfigError
from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]
KINDS = {
    "blue-green": lambda dep, **kw: BlueGreen(dep, clock=dep.clock, **kw),
    "canary": lambda dep, **kw: Canary(dep, steps=STEPS, clock=dep.clock, **kw),
    "recreate": lambda dep, **kw: Recreate(dep, clock=dep.clock, **kw),
}


def weights(dep: InMemoryDeployer) -> dict[str, tuple[str, int]]:
    return {s.slot: (s.version, s.weight) for s in InMemoryDeployer.state(dep).slots}


def registry(name: str, versions: int) -> ms.Registry:
    reg = ms.open_registry(f"memory://review36-{name}")
    for n in range(1, versions + 1):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    return reg


def fail(rollout: Any) -> Verdict:
    return Verdict.FAIL


# --- 1: a deployer answering the wrong type ------------------------------------------------


class WrongState(InMemoryDeployer):
    """A custom deployer whose state() answers a dict (its to_dict()) once ``wrong`` is set,
    which is set when version ``turns`` is applied."""

    wrong = False
    turns: str | None = None

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        super().apply(slot, model, version, spec)
        if version == self.turns:
            self.wrong = True

    def state(self) -> Any:
        real = super().state()
        return real.to_dict() if self.wrong else real


def test_a_state_answering_a_dict_mid_canary_is_a_failed_call_and_traffic_goes_back() -> None:
    # It crashed with AttributeError at the first step, and the abort crashed the same way
    # inside _guarded: traffic was left split 90/10.
    dep = WrongState()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.turns = "2"
    with pytest.raises(RolloutAborted) as caught:
        Canary(dep, steps=STEPS, clock=dep.clock, gate=fail).deploy("fraud", "2")
    assert weights(dep)["blue"] == ("1", 100)
    assert weights(dep).get("green", ("2", 0))[1] == 0
    errors = [e for e in caught.value.rollout.history if e.kind is EventKind.ERROR]
    assert any("state() answered dict, not a DeployerState" in e.message for e in errors)
    assert caught.value.rollout.status is RolloutStatus.ABORTED


def test_a_state_answering_a_dict_before_a_deploy_raises_a_deploy_error_changing_nothing() -> None:
    dep = WrongState()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.wrong = True
    with pytest.raises(DeployError, match=r"WrongState\.state\(\) answered dict"):
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert weights(dep) == {"blue": ("1", 100)}


def test_a_rollback_reading_a_state_of_the_wrong_type_raises_a_deploy_error() -> None:
    dep = WrongState()
    strategy = BlueGreen(dep, clock=dep.clock)
    strategy.deploy("fraud", "1")
    rollout = strategy.deploy("fraud", "2")
    dep.wrong = True
    with pytest.raises(DeployError, match="not a DeployerState"):
        rollout.rollback()
    assert weights(dep) == {"blue": ("1", 0), "green": ("2", 100)}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(
    ("attribute", "value", "says"),
    [
        ("capabilities", {"exact_weights": True, "max_slots": 2}, "capabilities must be a"),
        ("registry", "/tmp/a-registry-path", "registry must be a Registry"),
    ],
)
def test_deployer_attributes_of_a_wrong_type_are_refused_when_the_strategy_is_built(
    kind: str, attribute: str, value: Any, says: str
) -> None:
    dep = InMemoryDeployer()
    setattr(dep, attribute, value)
    with pytest.raises(ConfigError, match=rf"InMemoryDeployer\.{says}"):
        KINDS[kind](dep)
    assert dep.calls == []


# --- 2: serving is not promoted ------------------------------------------------------------


def test_a_version_whose_first_deploy_failed_its_gate_is_gated_again() -> None:
    # Recreate's first deploy failed its gate with nothing to go back to: the version kept
    # all the traffic, and deploying it again "succeeded" without calling the gate.
    reg = registry("gate-again", 1)
    dep = InMemoryDeployer(registry=reg)
    calls: list[str] = []

    def gate(rollout: Any) -> Verdict:
        calls.append(rollout.version)
        return Verdict.FAIL

    strategy = Recreate(dep, gate=gate, clock=dep.clock)
    with pytest.raises(RolloutAborted):
        strategy.deploy("fraud", "1")
    with pytest.raises(RolloutAborted):
        strategy.deploy("fraud", "1")
    assert calls == ["1", "1"]
    assert "production" not in reg.aliases("fraud")


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_first_deploy_unhealthy_behind_traffic_is_not_taken_as_promoted(kind: str) -> None:
    dep = InMemoryDeployer(faults=(Fault("set_traffic", FaultEffect.UNHEALTHY, version="1"),))
    strategy = KINDS[kind](dep, gate=lambda r: Verdict.PASS)
    with pytest.raises(RolloutAborted):
        strategy.deploy("fraud", "1")
    assert weights(dep) == {"blue": ("1", 100)}  # nothing to send the traffic back to
    rollout = strategy.deploy("fraud", "1")  # deployed again, checked: not "unchanged"
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert rollout.slot == "green"
    assert weights(dep)["green"] == ("1", 100)
    assert not any("nothing changed" in e.message for e in rollout.history)


def test_a_leftover_split_serving_the_version_is_not_unchanged() -> None:
    # green (2, never promoted) kept 75 %: deploying 2 with a gate that always fails
    # "succeeded" with nothing changed, the split left in place and the alias on 1.
    reg = registry("split-unchanged", 2)
    dep = InMemoryDeployer(registry=reg)
    Canary(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"green": 75, "blue": 25})
    with pytest.raises(RolloutAborted):
        Canary(dep, steps=STEPS, clock=dep.clock, gate=fail).deploy("fraud", "2")
    assert weights(dep)["blue"] == ("1", 100)
    assert reg.aliases("fraud") == {"production": "1"}


def test_a_version_the_alias_does_not_name_is_deployed_again() -> None:
    reg = registry("alias-not-named", 1)
    dep = InMemoryDeployer(registry=reg)
    dep.apply("blue", "fraud", "1")  # started by hand: never promoted, no alias
    dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    rollout = BlueGreen(dep, clock=dep.clock, gate=lambda r: Verdict.PASS).deploy("fraud", "1")
    assert [e.kind for e in rollout.history].count(EventKind.GATE) == 1
    assert reg.aliases("fraud") == {"production": "1"}
    assert weights(dep)["green"] == ("1", 100)


@pytest.mark.parametrize("alias", ["production", None])
def test_a_promoted_version_serving_healthy_is_unchanged(alias: str | None) -> None:
    reg = registry(f"promoted-{alias}", 1)
    dep = InMemoryDeployer(registry=reg)
    strategy = BlueGreen(dep, clock=dep.clock, alias=alias)
    strategy.deploy("fraud", "1")
    applied = [c for c in dep.calls if c.op == "apply"]
    rollout = strategy.deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert "nothing changed" in rollout.history[-1].message
    assert [c for c in dep.calls if c.op == "apply"] == applied


def test_a_promoted_version_now_unhealthy_is_deployed_again() -> None:
    reg = registry("promoted-unhealthy", 1)
    dep = InMemoryDeployer(registry=reg)
    strategy = BlueGreen(dep, clock=dep.clock)
    strategy.deploy("fraud", "1")
    dep.inject(Fault("health", FaultEffect.UNHEALTHY, slot="blue"))
    dep.health("blue")  # blue answers unhealthy from now on
    rollout = strategy.deploy("fraud", "1")
    assert rollout.slot == "green"
    assert weights(dep)["green"] == ("1", 100)


class CountsReads(InMemoryHistory):
    """A history that counts its reads."""

    reads = 0

    def records(self, model: str) -> list[RolloutRecord]:
        self.reads += 1
        return super().records(model)


def test_without_an_alias_the_healthy_version_with_all_the_traffic_is_unchanged() -> None:
    # No alias and no registry: nothing tells a promotion, so the history is not read (a
    # rule that read it was reverted, see test_strategies_second_look36.py) and the serving
    # healthy version with all the traffic is left as it is, as before review 36.
    dep, history = InMemoryDeployer(), CountsReads()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None, history=history, gate=fail)
    with pytest.raises(RolloutAborted):  # a first blue-green deploy gated before traffic
        strategy.deploy("fraud", "1")
    dep.apply("blue", "fraud", "1")
    dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    before, reads = len(dep.calls), history.reads
    rollout = strategy.deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert "nothing changed" in rollout.history[-1].message
    assert [c.op for c in dep.calls[before:] if c.op != "state"] == ["health"]
    assert history.reads == reads
    assert weights(dep) == {"blue": ("1", 100)}


def test_without_an_alias_the_version_with_all_the_traffic_now_unhealthy_is_gated_again() -> None:
    dep = InMemoryDeployer()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None, gate=fail)
    dep.apply("blue", "fraud", "1")
    dep.wait_ready("blue", 10)
    dep.set_traffic({"blue": 100})
    dep.inject(Fault("health", FaultEffect.UNHEALTHY, slot="blue"))
    dep.health("blue")  # blue answers unhealthy from now on
    with pytest.raises(RolloutAborted):  # not "already serves": the normal path, gated
        strategy.deploy("fraud", "1")
    assert weights(dep)["blue"] == ("1", 100)


# --- 3: a leftover split -------------------------------------------------------------------


def test_a_leftover_split_takes_the_stable_slot_from_the_alias() -> None:
    # A canary of 2 killed at 75 % (its deployer outlives the process): the next deploy
    # took green (2, never promoted) for the stable slot, and its abort sent all traffic
    # to 2 while the alias still named 1.
    reg = registry("split-stable", 3)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"green": 75, "blue": 25})
    with pytest.raises(RolloutAborted) as caught:
        BlueGreen(dep, clock=dep.clock, gate=fail).deploy("fraud", "3")
    assert weights(dep)["blue"] == ("1", 100)
    assert reg.aliases("fraud") == {"production": "1"}
    assert caught.value.rollout.previous_version == "1"
    assert "1 is serving from blue" in str(caught.value)


def test_a_leftover_split_then_a_good_deploy_promotes_from_the_alias_slot() -> None:
    reg = registry("split-good", 3)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"green": 75, "blue": 25})
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")
    assert (rollout.previous_slot, rollout.previous_version) == ("blue", "1")
    assert weights(dep) == {"blue": ("1", 0), "green": ("3", 100)}
    assert reg.aliases("fraud") == {"production": "3"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_leftover_split_without_an_alias_is_refused_changing_nothing(kind: str) -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"green": 75, "blue": 25})
    before = len(dep.calls)
    with pytest.raises(DeployError, match=r"splits traffic.*set_traffic") as caught:
        KINDS[kind](dep, alias=None).deploy("fraud", "3")
    assert not isinstance(caught.value, RolloutAborted)
    assert weights(dep) == {"blue": ("1", 25), "green": ("2", 75)}
    assert {c.op for c in dep.calls[before:]} <= {"state"}


# --- 6: a reused slot closes the earlier undo window ---------------------------------------


def test_a_deploy_reusing_the_previous_slot_closes_the_earlier_undo_window() -> None:
    dep, history = InMemoryDeployer(), InMemoryHistory()
    strategy = BlueGreen(dep, clock=dep.clock, history=history, undo_window=600)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    dep.clock.advance(5)
    strategy.deploy("fraud", "3")  # into blue, which held 1 for second's undo
    now = dep.clock.wall()
    (stored,) = [r for r in history.records("fraud") if r.id == second.id]
    assert stored.undo_until is not None
    assert stored.undo_until <= now
    assert not second.undo_window_open
    assert second.undo_until is not None
    assert second.undo_until <= now


def test_another_strategy_reusing_the_slot_leaves_the_stored_undo_window() -> None:
    # Another process (here another strategy) deploys next: the stored records of other
    # rollouts are neither read nor rewritten (see test_strategies_second_look36.py); the
    # rollout's own rollback finds its slot replaced and changes nothing.
    dep, history = InMemoryDeployer(), InMemoryHistory()
    first = BlueGreen(dep, clock=dep.clock, history=history, undo_window=600)
    first.deploy("fraud", "1")
    second = first.deploy("fraud", "2")
    promised = second.undo_until
    dep.clock.advance(5)
    BlueGreen(dep, clock=dep.clock, history=history, undo_window=600).deploy("fraud", "3")
    (stored,) = [r for r in history.records("fraud") if r.id == second.id]
    assert stored.undo_until == promised
    before = len(dep.calls)
    with pytest.raises(RollbackUnavailable):
        second.rollback()
    assert {c.op for c in dep.calls[before:]} <= {"state"}
    assert weights(dep) == {"blue": ("3", 100), "green": ("2", 0)}


class RefusesOne(InMemoryHistory):
    """A history whose saves of one rollout's record fail once it is settled."""

    refused: str | None = None

    def save(self, record: RolloutRecord) -> None:
        if record.id == self.refused:
            raise OSError("store down for this key")
        super().save(record)


def test_a_failed_save_of_the_closed_window_is_recorded_and_the_deploy_goes_on() -> None:
    # Only the strategy that promoted the rollout closes its window (another strategy
    # object no longer rewrites stored records, see test_strategies_second_look36.py).
    dep, history = InMemoryDeployer(), RefusesOne()
    strategy = BlueGreen(dep, clock=dep.clock, history=history, undo_window=600)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    history.refused = second.id
    after = strategy.deploy("fraud", "3")
    assert after.status is RolloutStatus.SUCCEEDED
    assert weights(dep)["blue"] == ("3", 100)
    errors = [e for e in after.history if e.kind is EventKind.ERROR]
    assert any(second.id in e.message and "undo window" in e.message for e in errors)


# --- 7: a rollback to an archived version --------------------------------------------------


def test_a_rollback_to_an_archived_version_is_unavailable_and_recorded() -> None:
    reg = registry("rollback-archived", 2)
    dep = InMemoryDeployer(registry=reg)
    strategy = BlueGreen(dep, clock=dep.clock, undo_window=0)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    reg.delete("fraud", "1", reason="bad")
    with pytest.raises(RollbackUnavailable, match=r"archived.*restore") as caught:
        second.rollback()
    assert isinstance(caught.value.__cause__, ArchivedVersion)
    assert second.status is RolloutStatus.SUCCEEDED
    assert second.history[-1].kind is EventKind.ERROR
    assert "1" in second.history[-1].message
    (stored,) = [r for r in RegistryHistory(reg).records("fraud") if r.id == second.id]
    assert stored.events[-1].kind is EventKind.ERROR
    assert weights(dep) == {"green": ("2", 100)}
    assert reg.aliases("fraud") == {"production": "2"}
