"""Rollouts cut short, and rollbacks of rollouts that no longer serve, against what a review
reproduced: an interrupted recreate left the aborted version serving, an interrupted alias
move left a rollout "in progress" for ever with its version serving, and the rollback of
an older rollout undid a newer, unrelated one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployerCapabilities,
    EventKind,
    InMemoryHistory,
    Recreate,
    RollbackUnavailable,
    RolloutAborted,
    RolloutStatus,
)
from modelship.registry import Registry
from modelship.testing._deployer_double import InMemoryDeployer

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]
KINDS = {
    "blue-green": lambda dep, **kw: BlueGreen(dep, clock=dep.clock, **kw),
    "canary": lambda dep, **kw: Canary(dep, steps=STEPS, clock=dep.clock, **kw),
    "recreate": lambda dep, **kw: Recreate(dep, clock=dep.clock, **kw),
}
MUTATING = ("apply", "set_traffic", "remove")


def weights(dep: InMemoryDeployer) -> dict[str, tuple[str, int]]:
    return {s.slot: (s.version, s.weight) for s in dep.state().slots}


@pytest.fixture
def reg() -> Registry:
    registry = ms.open_registry(f"memory://review-stop31-{uuid.uuid4().hex}")
    for _ in range(3):
        registry.register(model_name="fraud", model=b"w", serializer="bytes")
    return registry


# --- an interrupted recreate --------------------------------------------------------------


class Interrupting(InMemoryDeployer):
    """The double, whose ``nth`` call of ``op`` about the slot holding version 2 is cut
    short by Ctrl-C, as a user's Ctrl-C arrives while the strategy waits on the deployer."""

    def __init__(self, op: str, nth: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.op, self.left = op, nth

    def _maybe_interrupt(self, op: str, slot: str) -> None:
        held = super().state().slot(slot)
        if op == self.op and held is not None and held.version == "2":
            self.left -= 1
            if self.left == 0:
                raise KeyboardInterrupt

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self._maybe_interrupt("wait_ready", slot)
        return super().wait_ready(slot, timeout)

    def health(self, slot: str) -> Any:
        self._maybe_interrupt("health", slot)
        return super().health(slot)


@pytest.mark.parametrize(
    ("op", "nth"),
    [
        ("wait_ready", 1),  # 2 is starting in the slot 1 served from
        ("health", 1),  # 2 is ready, before any traffic
        ("health", 2),  # 2 has all the traffic, its check behind it
    ],
)
def test_an_interrupted_recreate_starts_the_previous_version_again_and_serves_it(
    reg: Registry, op: str, nth: int
) -> None:
    # The shared abort sent all traffic back to "the slot that served": it held 2 by
    # then, so 2 served every request of a rollout recorded as aborted, the alias on 1.
    dep = Interrupting(op, nth, registry=reg, capabilities=DeployerCapabilities(max_slots=1))
    history = InMemoryHistory()
    Recreate(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    with pytest.raises(KeyboardInterrupt):
        Recreate(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    assert weights(dep) == {"blue": ("1", 100)}
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    assert reg.aliases("fraud")["production"] == "1"
    stored = history.records("fraud")[-1]
    assert (stored.version, stored.status) == ("2", RolloutStatus.ABORTED)
    assert stored.events[-1].message == "interrupted: KeyboardInterrupt"
    assert stored.events[-1].data["serving"] == "1"
    assert dep.violations(allow_stop=True) == []


class Meddled(InMemoryDeployer):
    """A double whose serving slot is changed behind the rollout (by a tool that takes no
    rollout lock): while green starts, traffic moves to it and blue is given version 3."""

    meddled = False

    def wait_ready(self, slot: str, timeout: float) -> bool:
        if slot == "green" and not self.meddled:
            self.meddled = True
            self.set_traffic({"green": 100})
            self.apply("blue", "fraud", "3")
            return False
        return super().wait_ready(slot, timeout)


def test_an_abort_sends_no_traffic_to_a_serving_slot_that_now_holds_another_version() -> None:
    # The abort found the slot by name only and sent all traffic to version 3, which no
    # rollout had started, checked or promoted.
    dep = Meddled()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    with pytest.raises(RolloutAborted) as info:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert weights(dep) == {"blue": ("3", 0), "green": ("2", 100)}  # left where it was
    messages = [e.message for e in info.value.rollout.history]
    assert "blue no longer holds 1 (it holds 3); traffic is left where it is" in messages
    assert "traffic could not be sent back to 1 in blue: 2 is serving from green" in str(info.value)


# --- an interrupted promotion -------------------------------------------------------------


def interrupt_set_alias(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, *, after_write: bool
) -> list[tuple[Any, ...]]:
    """Make the next ``Registry.set_alias`` raise ``exc``, before or after it wrote."""
    original, calls = Registry.set_alias, []

    def cut(self: Registry, *args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) > 1:
            return original(self, *args, **kwargs)
        if after_write:
            original(self, *args, **kwargs)
        raise exc

    monkeypatch.setattr(Registry, "set_alias", cut)
    return calls


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("exc", "after_write"),
    [
        (KeyboardInterrupt(), False),  # Ctrl-C before the store wrote
        (KeyboardInterrupt(), True),  # Ctrl-C after it wrote, before it returned
        (RuntimeError("a bug in a store plugin"), False),  # an error no one expected
    ],
    ids=["ctrl-c-before-write", "ctrl-c-after-write", "unexpected-error"],
)
def test_a_promotion_cut_short_while_the_alias_moves_is_aborted_and_recorded(
    reg: Registry,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    exc: BaseException,
    after_write: bool,
) -> None:
    # Success was recorded before the alias moved, so nothing cleaned up: 2 kept all the
    # traffic, the alias named 1, and the stored record stayed "in progress" for ever.
    dep, history = InMemoryDeployer(registry=reg), InMemoryHistory()
    KINDS[kind](dep, history=history).deploy("fraud", "1")
    interrupt_set_alias(monkeypatch, exc, after_write=after_write)
    with pytest.raises(type(exc)):
        KINDS[kind](dep, history=history).deploy("fraud", "2")
    assert weights(dep) == {"blue": ("1", 100)}
    assert reg.aliases("fraud")["production"] == "1"
    stored = history.records("fraud")[-1]
    assert (stored.version, stored.status) == ("2", RolloutStatus.ABORTED)
    assert stored.undo_until is None
    assert stored.events[-1].message == f"interrupted: {type(exc).__name__}"
    moved_back = [e.message for e in stored.events if e.kind is EventKind.ALIAS]
    assert bool(moved_back) is after_write
    assert dep.violations(allow_stop=True) == []


def test_an_interruption_after_the_alias_moved_leaves_the_promotion_recorded(
    reg: Registry,
) -> None:
    # The other side of "never in between": once the alias moved, the rollout stands
    # (2 serves, the alias names it, the record says succeeded), whatever cuts it short.
    class InterruptedRemove(InMemoryDeployer):
        armed = False

        def remove(self, slot: str) -> None:
            if self.armed:
                raise KeyboardInterrupt
            super().remove(slot)

    dep, history = InterruptedRemove(registry=reg), InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    dep.armed = True  # undo_window=0: the promotion scales 1 down at once, and is cut there
    with pytest.raises(KeyboardInterrupt):
        BlueGreen(dep, clock=dep.clock, history=history, undo_window=0).deploy("fraud", "2")
    assert dep.state().serving().version == "2"  # type: ignore[union-attr]
    assert reg.aliases("fraud")["production"] == "2"
    stored = history.records("fraud")[-1]
    assert (stored.version, stored.status) == ("2", RolloutStatus.SUCCEEDED)
    assert stored.events[-1].message == (
        "interrupted by KeyboardInterrupt after the rollout succeeded; it stands as recorded"
    )


# --- rollback of a rollout that no longer serves --------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_rolling_back_a_rollout_a_later_one_replaced_is_unavailable_and_changes_nothing(
    kind: str,
) -> None:
    # r2.rollback() replaced the serving 3 with 1, while r3 still said succeeded with its
    # undo window open; r3.rollback() then put 2 back.
    dep = InMemoryDeployer()
    KINDS[kind](dep).deploy("fraud", "1")
    r2 = KINDS[kind](dep).deploy("fraud", "2")
    r3 = KINDS[kind](dep).deploy("fraud", "3")
    before, mark = weights(dep), len(dep.calls)
    with pytest.raises(RollbackUnavailable, match="a later rollout replaced it"):
        r2.rollback()
    assert weights(dep) == before
    assert [c.op for c in dep.calls[mark:] if c.op in MUTATING] == []
    assert r2.status is RolloutStatus.SUCCEEDED  # its record stays what happened
    assert r3.rollback().version in ("2", "3")  # the rollout serving still rolls back
    assert dep.state().serving().version == "2"  # type: ignore[union-attr]


def test_a_rollout_whose_server_died_behind_the_traffic_still_rolls_back() -> None:
    # A dead server is when a rollback is needed most: "still serves" asks for the
    # traffic, not for readiness.
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    r2 = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    dep.kill("green")
    assert r2.rollback() is r2
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    assert r2.status is RolloutStatus.ROLLED_BACK


def test_a_rollout_serving_again_after_a_later_rollback_rolls_back() -> None:
    # r3 was rolled back, so 2 serves from r2's slot again: undoing r2 is no one else's undo.
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    r2 = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "3").rollback()
    assert r2.rollback().version == "1"
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]


def test_an_alias_an_interrupted_promotion_created_is_removed_again(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The alias named no version before: moving it back is removing it.
    dep, history = InMemoryDeployer(registry=reg), InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history, alias=None).deploy("fraud", "1")
    interrupt_set_alias(monkeypatch, KeyboardInterrupt(), after_write=True)
    with pytest.raises(KeyboardInterrupt):
        BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    assert "production" not in reg.aliases("fraud")
    assert weights(dep) == {"blue": ("1", 100)}
    stored = history.records("fraud")[-1]
    assert stored.status is RolloutStatus.ABORTED
    assert any("removed (it named none before)" in e.message for e in stored.events)


def test_a_one_switch_rollback_whose_alias_move_is_cut_short_says_so_in_its_record(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The traffic is back on 1 (the safe side); the alias move was cut short, and the
    # record said only "rolled back", leaving whoever follows the alias to find 2 there.
    dep, history = InMemoryDeployer(registry=reg), InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    r2 = BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    interrupt_set_alias(monkeypatch, KeyboardInterrupt(), after_write=False)
    with pytest.raises(KeyboardInterrupt):
        r2.rollback()
    assert dep.state().serving().version == "1"  # type: ignore[union-attr]
    assert reg.aliases("fraud")["production"] == "2"
    stored = history.records("fraud")[-1]
    assert (stored.version, stored.status) == ("2", RolloutStatus.ROLLED_BACK)
    cut = [e.message for e in stored.events if e.kind is EventKind.ERROR]
    assert any("was cut short (KeyboardInterrupt): it may still name 2" in m for m in cut)
