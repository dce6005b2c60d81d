"""Strategies against what a hostile review found: bad gate inputs, failing histories,
a dead serving slot, a failing alias move, a truthful abort, an interrupted canary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    EventKind,
    GateResult,
    InMemoryHistory,
    Recreate,
    RolloutAborted,
    RolloutStatus,
    Verdict,
)
from modelship.deploy._record import RolloutRecord
from modelship.errors import StoreError
from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]
KINDS = {
    "blue-green": lambda dep, **kw: BlueGreen(dep, clock=dep.clock, **kw),
    "canary": lambda dep, **kw: Canary(dep, steps=STEPS, clock=dep.clock, **kw),
    "recreate": lambda dep, **kw: Recreate(dep, clock=dep.clock, **kw),
}


def weights(dep: InMemoryDeployer) -> dict[str, tuple[str, int]]:
    return {s.slot: (s.version, s.weight) for s in dep.state().slots}


def test_a_gate_input_json_cannot_hold_does_not_stop_the_history_being_saved() -> None:
    # The event kept the NaN; every later save failed on it, so the stored record stayed
    # "in progress" and `modelship deploy rollback` found nothing to roll back.
    dep, history = InMemoryDeployer(), InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")

    def gate(rollout: Any) -> GateResult:
        return GateResult(Verdict.PASS, "ok", {"p95": float("nan"), "seen": {1, 2}})

    rollout = BlueGreen(dep, clock=dep.clock, history=history, gate=gate).deploy("fraud", "2")
    (stored,) = [r for r in history.records("fraud") if r.id == rollout.id]
    assert stored.status is RolloutStatus.SUCCEEDED
    assert len(stored.events) == len(rollout.history)
    (judged,) = [e for e in stored.events if e.kind is EventKind.GATE]
    assert judged.data["inputs"] == {"p95": None, "seen": [1, 2]}  # a set: a sorted list


class ExplodingHistory(InMemoryHistory):
    """A user's history whose backend fails with an error of its own kind."""

    def save(self, record: RolloutRecord) -> None:
        raise RuntimeError("history backend timed out")


@pytest.mark.parametrize("kind", KINDS)
def test_a_history_that_raises_anything_does_not_cut_a_rollout_short(kind: str) -> None:
    # A RuntimeError escaped mid-rollout: traffic split, the alias not moved, no abort.
    dep = InMemoryDeployer()
    KINDS[kind](dep).deploy("fraud", "1")
    rollout = KINDS[kind](dep, history=ExplodingHistory()).deploy("fraud", "2")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert dep.state().serving().version == "2"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", KINDS)
def test_a_serving_slot_whose_server_died_does_not_block_every_later_deploy(kind: str) -> None:
    # Nothing ready served, so the strategy started in the slot still holding the dead
    # server's traffic: SlotInUse, every time, for every version.
    dep = InMemoryDeployer()
    KINDS[kind](dep).deploy("fraud", "1")
    dep.inject(Fault("health", FaultEffect.KILL, slot="blue", times=1))
    dep.health("blue")  # the fault fires: blue's server dies, its traffic stays
    assert dep.state().serving() is None
    rollout = KINDS[kind](dep).deploy("fraud", "2")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert dep.state().serving().version == "2"  # type: ignore[union-attr]


def test_an_alias_move_the_store_fails_once_is_tried_again(tmp_path: Any) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    for _ in range(2):
        reg.register(model_name="fraud", model=b"w", serializer="bytes")
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    original, calls = type(reg).set_alias, []

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise StoreError("writing aliases failed: No space left on device")
        return original(self, *args, **kwargs)

    type(reg).set_alias = flaky  # type: ignore[method-assign]
    try:
        rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    finally:
        type(reg).set_alias = original  # type: ignore[method-assign]
    assert reg.aliases("fraud")["production"] == "2"
    assert len(calls) == 2
    assert any("attempt 1 of 3" in e.message for e in rollout.history)


def test_an_abort_says_what_serves_when_traffic_could_not_be_sent_back() -> None:
    # It said "1 is serving from blue" while green served all traffic.
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.inject(Fault("set_traffic", FaultEffect.UNHEALTHY, version="2", times=1))
    dep.inject(Fault("set_traffic", FaultEffect.RAISE, skip=1, times=None))  # no way back
    with pytest.raises(RolloutAborted) as info:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert weights(dep)["green"] == ("2", 100)
    assert "traffic could not be sent back to 1 in blue: 2 is serving from green" in str(info.value)
    assert info.value.rollout.history[-1].data["serving"] == "2"


class InterruptingClock:
    """The double's clock, whose first sleep is cut short by Ctrl-C."""

    def __init__(self, clock: Any) -> None:
        self.clock, self.interrupted = clock, False

    def monotonic(self) -> float:
        return float(self.clock.monotonic())

    def wall(self) -> Any:
        return self.clock.wall()

    def sleep(self, seconds: float) -> None:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        self.clock.sleep(seconds)


def test_ctrl_c_in_a_canary_pause_aborts_the_rollout_before_it_goes_on() -> None:
    # KeyboardInterrupt escaped with 10% of traffic on the canary, the record "in
    # progress", and the next deploy refused (SlotInUse).
    dep, history = InMemoryDeployer(), InMemoryHistory()
    Canary(dep, steps=STEPS, clock=dep.clock).deploy("fraud", "1")
    canary = Canary(dep, steps=STEPS, clock=InterruptingClock(dep.clock), history=history)
    with pytest.raises(KeyboardInterrupt):
        canary.deploy("fraud", "2")
    assert weights(dep)["blue"] == ("1", 100)
    (stored,) = history.records("fraud")
    assert stored.status is RolloutStatus.ABORTED
    assert "interrupted: KeyboardInterrupt" in stored.events[-1].message
    assert Canary(dep, steps=STEPS, clock=dep.clock).deploy("fraud", "2").status is (
        RolloutStatus.SUCCEEDED
    )


class DictHealth(InMemoryDeployer):
    """A deployer whose health() answers a dict, not a SlotHealth."""

    def health(self, slot: str) -> Any:
        return {"healthy": True}


def test_a_health_answer_of_the_wrong_type_is_a_failed_check_not_a_crash() -> None:
    dep = DictHealth()
    with pytest.raises(RolloutAborted, match="the health check of blue failed"):
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    assert dep.state().slots == ()


class TextReady(InMemoryDeployer):
    """A deployer whose wait_ready() answers text: "no" is truthy, and must not read as ready."""

    def wait_ready(self, slot: str, timeout: float) -> Any:
        return "no"


def test_a_wait_ready_answer_that_is_not_a_bool_is_a_failed_wait_not_ready() -> None:
    dep = TextReady()
    with pytest.raises(RolloutAborted, match="waiting for blue to be ready failed") as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    assert "wait_ready('blue') answered str, not a bool" in [
        e.message for e in caught.value.rollout.history
    ]
    assert dep.state().slots == ()


class NumpyReady(InMemoryDeployer):
    """NumPy's bool is a bool to a reader: accepted."""

    def wait_ready(self, slot: str, timeout: float) -> Any:
        return np.bool_(super().wait_ready(slot, timeout))


def test_a_numpy_bool_from_wait_ready_is_read_as_a_bool() -> None:
    dep = NumpyReady()
    assert BlueGreen(dep, clock=dep.clock).deploy("fraud", "1").status is RolloutStatus.SUCCEEDED


def test_a_rollback_does_not_read_a_text_from_wait_ready_as_ready() -> None:
    class Flip(InMemoryDeployer):
        text = False

        def wait_ready(self, slot: str, timeout: float) -> Any:
            return "no" if self.text else super().wait_ready(slot, timeout)

    dep = Flip()
    strategy = BlueGreen(dep, clock=dep.clock)
    strategy.deploy("fraud", "1")
    rollout = strategy.deploy("fraud", "2")
    dep.text = True
    with pytest.raises(RolloutAborted):
        rollout.rollback()
    assert any(
        e.message == "previous slot blue is not ready and healthy; traffic stays where it is"
        for e in rollout.history
    )
    assert weights(dep)["green"] == ("2", 100)  # traffic stayed on the version serving
