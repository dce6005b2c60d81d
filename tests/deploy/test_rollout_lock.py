"""Two rollouts of one service at once: the second is refused at once and changes nothing.

Without the lock, a second deploy picked the idle slot the first was starting, replaced
its version there, and the registry's alias ended up naming a version that did not
serve. The interleavings are made deterministic with a gate that holds the first rollout
mid-way until the test lets it go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _held import held_mid_way

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployerCapabilities,
    Recreate,
    Rollout,
    RolloutInProgress,
    RolloutStatus,
    Verdict,
)
from modelship.testing._deployer_double import InMemoryDeployer, ManualClock

STRATEGIES: dict[str, Callable[..., Any]] = {
    "blue-green": lambda dep, **kw: BlueGreen(dep, clock=dep.clock, **kw),
    "canary": lambda dep, **kw: Canary(dep, steps=[CanaryStep(50, pause=5)], clock=dep.clock, **kw),
    "recreate": lambda dep, **kw: Recreate(dep, clock=dep.clock, **kw),
}


def _registry(tmp_path: Path) -> ms.Registry:
    reg = ms.open_registry(str(tmp_path / "registry"))
    for n in range(4):
        reg.register(model_name="fraud", model=bytes([n]), serializer="bytes", lineage={})
    return reg


def _deployer(kind: str, reg: ms.Registry) -> InMemoryDeployer:
    slots = 1 if kind == "recreate" else 2
    return InMemoryDeployer(
        reg, clock=ManualClock(), capabilities=DeployerCapabilities(max_slots=slots)
    )


def _serving_1(
    kind: str, tmp_path: Path
) -> tuple[ms.Registry, InMemoryDeployer, Callable[..., Any]]:
    """A registry of four versions, a double serving version 1, the strategy's maker."""
    reg = _registry(tmp_path)
    dep = _deployer(kind, reg)
    make = STRATEGIES[kind]
    make(dep, gate=lambda r: Verdict.PASS).deploy("fraud", "1")
    return reg, dep, make


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_second_deploy_while_one_is_under_way_is_refused_and_changes_nothing(
    kind: str, tmp_path: Path
) -> None:
    reg, dep, make = _serving_1(kind, tmp_path)

    def first(gate: Callable[[Any], Verdict]) -> Any:
        return make(dep, gate=gate).deploy("fraud", "2")

    with held_mid_way(first) as outcome:
        state = dep.state()
        calls = len(dep.calls)
        with pytest.raises(RolloutInProgress, match=r"deploy of fraud 2 \(pid \d+ on "):
            make(dep, gate=lambda r: Verdict.PASS).deploy("fraud", "3")
        assert len(dep.calls) == calls, "the refused rollout called the deployer"
        assert dep.state() == state
        assert reg.aliases("fraud") == {"production": "1"}
    assert "error" not in outcome, outcome.get("error")
    first_rollout: Rollout = outcome["result"]
    assert first_rollout.status is RolloutStatus.SUCCEEDED
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "2"
    assert reg.aliases("fraud") == {"production": "2"}  # the alias names what serves
    # Once the first is done, the second goes ahead.
    make(dep, gate=lambda r: Verdict.PASS).deploy("fraud", "3")
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "3"
    assert reg.aliases("fraud") == {"production": "3"}


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_rollback_while_another_deploy_is_under_way_is_refused_and_changes_nothing(
    kind: str, tmp_path: Path
) -> None:
    reg, dep, make = _serving_1(kind, tmp_path)
    second = make(dep, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    assert second.undo_window_open

    # A monitor elsewhere in this process decides to roll 2 back while 3 is deploying.
    with held_mid_way(lambda gate: make(dep, gate=gate).deploy("fraud", "3")) as outcome:
        state = dep.state()
        with pytest.raises(RolloutInProgress, match=r"deploy of fraud 3"):
            second.rollback()
        with pytest.raises(RolloutInProgress, match=r"deploy of fraud 3"):
            second.finish()
        assert dep.state() == state
        assert second.status is RolloutStatus.SUCCEEDED  # untouched
    assert "error" not in outcome, outcome.get("error")
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "3"
    assert reg.aliases("fraud") == {"production": "3"}


def test_a_rollback_that_redeploys_takes_the_lock_again_in_its_own_thread(
    tmp_path: Path,
) -> None:
    reg = _registry(tmp_path)
    dep = _deployer("blue-green", reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock, undo_window=0).deploy("fraud", "2")
    replacement = rollout.rollback()  # the window is closed: 1 is deployed again, nested
    assert replacement is not rollout
    serving = dep.state().serving()
    assert serving is not None
    assert serving.version == "1"


def test_a_recreate_while_another_thread_holds_the_lock_is_refused(tmp_path: Path) -> None:
    """Recreate runs no gate to hold it mid-way; the lock is held directly instead."""
    reg = _registry(tmp_path)
    dep = _deployer("recreate", reg)
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    held, release = threading.Event(), threading.Event()

    def other() -> None:
        with dep.rollout_lock("a deploy in another thread"):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert held.wait(60)
        state = dep.state()
        with pytest.raises(RolloutInProgress, match="a deploy in another thread"):
            Recreate(dep, clock=dep.clock).deploy("fraud", "2")
        assert dep.state() == state
    finally:
        release.set()
        thread.join(60)
    assert reg.aliases("fraud") == {"production": "1"}
