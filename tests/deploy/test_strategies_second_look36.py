"""Strategies against the second look at review 36: the serving version is left as it is
unless something tells otherwise, a deploy refused at apply keeps the undo window open,
other rollouts' stored records are not read nor rewritten, a leftover split is not ended
onto an unhealthy slot, a registry that is gone is not "purged", and the split refusal's
hint names no slot and stays bounded."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import attrs
import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    DeployerCapabilities,
    DeployError,
    DeployerState,
    EventKind,
    InMemoryHistory,
    Recreate,
    RollbackUnavailable,
    RolloutAborted,
    RolloutStatus,
)
from modelship.deploy._record import RolloutRecord
from modelship.errors import ConfigError, ModelNotFound
from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]
KINDS = {
    "blue-green": lambda dep, **kw: BlueGreen(dep, clock=dep.clock, **kw),
    "canary": lambda dep, **kw: Canary(dep, steps=STEPS, clock=dep.clock, **kw),
    "recreate": lambda dep, **kw: Recreate(dep, clock=dep.clock, **kw),
}
WRITES = {"apply", "set_traffic", "remove"}


def weights(dep: InMemoryDeployer) -> dict[str, tuple[str, int]]:
    return {s.slot: (s.version, s.weight) for s in InMemoryDeployer.state(dep).slots}


def registry(name: str, versions: int) -> ms.Registry:
    reg = ms.open_registry(f"memory://second-look36-{name}")
    for n in range(1, versions + 1):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    return reg


def deployer(kind: str, **kw: Any) -> InMemoryDeployer:
    if kind == "recreate":
        kw.setdefault("capabilities", DeployerCapabilities(max_slots=1))
    return InMemoryDeployer(**kw)


class UnreadableHistory(InMemoryHistory):
    """A history whose records cannot be read (a store down, a damaged record)."""

    reads = 0

    def records(self, model: str) -> list[RolloutRecord]:
        self.reads += 1
        raise OSError("history store down")


class DictHistory:
    """A user's thin history keeping what ``to_dict()`` gives (its records are dicts)."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}

    def save(self, record: RolloutRecord) -> None:
        self.docs[record.id] = record.to_dict()

    def records(self, model: str) -> list[Any]:
        return [d for d in self.docs.values() if d["model"] == model]


# --- D1, D2: "already serves; nothing changed" --------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_without_a_registry_a_new_strategy_leaves_the_serving_version_as_it_is(kind: str) -> None:
    # A CI re-run: a fresh strategy (its own history) per deploy. The commit restarted a
    # Recreate's serving version and moved a blue-green's to the other slot.
    dep = deployer(kind)
    KINDS[kind](dep).deploy("fraud", "1")
    served = weights(dep)
    before = len(dep.calls)
    rollout = KINDS[kind](dep).deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert "nothing changed" in rollout.history[-1].message
    assert [c.op for c in dep.calls[before:] if c.op != "state"] == ["health"]
    assert weights(dep) == served


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_with_a_registry_and_no_alias_the_history_is_not_read(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # With no alias nothing tells a promotion: no history is read (a damaged or
    # unreachable one restarted the serving version, with a warning).
    dep = deployer(kind, registry=registry(f"no-alias-{kind}", 1))
    KINDS[kind](dep, alias=None).deploy("fraud", "1")
    history = UnreadableHistory()
    before = len(dep.calls)
    with caplog.at_level(logging.WARNING, logger="modelship"):
        rollout = KINDS[kind](dep, alias=None, history=history).deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert history.reads == 0
    assert not {c.op for c in dep.calls[before:]} & WRITES
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_with_an_alias_naming_it_the_serving_version_is_unchanged_and_only_health_is_read() -> None:
    reg = registry("alias-names-it", 1)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    history = UnreadableHistory()
    before = len(dep.calls)
    rollout = BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    assert "alias 'production' names it" in rollout.history[-1].message
    assert [c.op for c in dep.calls[before:] if c.op != "state"] == ["health"]
    assert history.reads == 0


# --- D3: the undo window closes only once apply succeeded ---------------------------------


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_deploy_refused_at_apply_keeps_the_undo_window_open(kind: str) -> None:
    dep, history = InMemoryDeployer(), InMemoryHistory()
    strategy = KINDS[kind](dep, alias=None, undo_window=600, history=history)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    promised = second.undo_until
    dep.inject(Fault("apply", version="3"))  # apply raises before doing anything
    with pytest.raises(RolloutAborted):
        strategy.deploy("fraud", "3")
    assert weights(dep) == {"blue": ("1", 0), "green": ("2", 100)}
    assert second.undo_window_open
    assert second.undo_until == promised
    (stored,) = [r for r in history.records("fraud") if r.id == second.id]
    assert stored.undo_until == promised
    before = len(dep.calls)
    assert second.rollback() is second  # still one switch back
    assert "apply" not in {c.op for c in dep.calls[before:]}
    assert weights(dep)["blue"] == ("1", 100)


def test_a_deploy_whose_apply_succeeded_closes_the_window_even_if_it_aborts_later() -> None:
    dep = InMemoryDeployer()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None, undo_window=600)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="3"))
    with pytest.raises(RolloutAborted):
        strategy.deploy("fraud", "3")  # blue was applied over: 1 is gone
    assert not second.undo_window_open


# --- D4, D6, D7, D8, D13: other rollouts' stored records -----------------------------------


def test_a_deploy_does_not_read_the_history() -> None:
    # Every deploy re-read all records (and logged an error per deploy when it failed).
    dep, history = InMemoryDeployer(), UnreadableHistory()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None, undo_window=600, history=history)
    strategy.deploy("fraud", "1")
    strategy.deploy("fraud", "2")
    third = strategy.deploy("fraud", "3")
    assert history.reads == 0
    assert not [e for e in third.history if e.kind is EventKind.ERROR]


def test_a_history_answering_dicts_does_not_break_a_deploy() -> None:
    dep = InMemoryDeployer()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None, history=DictHistory())
    strategy.deploy("fraud", "1")
    rollout = strategy.deploy("fraud", "2")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert weights(dep)["green"] == ("2", 100)


def test_an_environment_sharing_the_history_leaves_the_others_records_alone() -> None:
    # Staging and production record into one registry's history: staging's first deploy
    # into its own blue closed production's undo window, though production's blue still
    # held 1.
    reg = registry("shared-history", 2)
    prod, staging = InMemoryDeployer(registry=reg), InMemoryDeployer(registry=reg)
    BlueGreen(prod, clock=prod.clock, alias=None).deploy("fraud", "1")
    second = BlueGreen(prod, clock=prod.clock, alias=None).deploy("fraud", "2")
    BlueGreen(staging, clock=prod.clock, alias=None).deploy("fraud", "1")
    (stored,) = [r for r in ms.deploy.RegistryHistory(reg).records("fraud") if r.id == second.id]
    assert stored.undo_until == second.undo_until
    assert weights(prod)["blue"] == ("1", 0)


# --- D5: a leftover split is not ended onto an unhealthy stable slot ----------------------


def split(name: str) -> InMemoryDeployer:
    """1 promoted in blue (the alias names it), a canary of 2 cut short at 60 % in green."""
    dep = InMemoryDeployer(registry=registry(name, 3))
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 40, "green": 60})
    return dep


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_a_leftover_split_whose_stable_slot_is_unhealthy_is_refused_changing_nothing(
    kind: str,
) -> None:
    dep = split(f"unsplit-unhealthy-{kind}")
    dep.inject(Fault("health", FaultEffect.UNHEALTHY, slot="blue"))
    dep.health("blue")  # blue answers unhealthy from now on
    before = len(dep.calls)
    with pytest.raises(DeployError, match=r"'1' in blue.*unhealthy.*nothing was changed") as caught:
        KINDS[kind](dep).deploy("fraud", "3")
    assert not isinstance(caught.value, RolloutAborted)
    assert weights(dep) == {"blue": ("1", 40), "green": ("2", 60)}
    assert not {c.op for c in dep.calls[before:]} & WRITES


def test_a_leftover_split_whose_stable_slot_health_check_fails_is_refused() -> None:
    dep = split("unsplit-health-raises")
    dep.inject(Fault("health", slot="blue"))  # the health call raises
    before = len(dep.calls)
    with pytest.raises(DeployError, match=r"health check of '1' in blue.*failed") as caught:
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")
    assert caught.value.__cause__ is not None
    assert weights(dep) == {"blue": ("1", 40), "green": ("2", 60)}
    assert not {c.op for c in dep.calls[before:]} & WRITES


# --- D9: a registry that is gone is not a purged version ----------------------------------


def test_a_rollback_with_the_registry_gone_raises_what_the_registry_raised(
    tmp_path: Path,
) -> None:
    root = tmp_path / "reg"
    reg = ms.open_registry(str(root))
    for n in (1, 2):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    dep = InMemoryDeployer(registry=reg)
    strategy = BlueGreen(dep, clock=dep.clock, undo_window=0)
    strategy.deploy("fraud", "1")
    second = strategy.deploy("fraud", "2")
    os.rename(root, tmp_path / "unmounted")  # the mount went away
    with pytest.raises(ModelNotFound) as caught:
        second.rollback()
    assert not isinstance(caught.value, RollbackUnavailable)
    assert "purged" not in str(caught.value)
    assert second.history[-1].kind is EventKind.ERROR
    assert weights(dep) == {"green": ("2", 100)}


# --- D11, D12: the split refusal's hint -------------------------------------------------


def test_the_split_refusal_does_not_name_the_canary_slot_as_the_one_to_serve() -> None:
    dep = InMemoryDeployer()
    strategy = BlueGreen(dep, clock=dep.clock, alias=None)
    strategy.deploy("fraud", "1")
    strategy.deploy("fraud", "2")  # 2 serves from green
    dep.apply("blue", "fraud", "3")
    dep.wait_ready("blue", 10)
    dep.set_traffic({"green": 90, "blue": 10})  # a canary of 3 at 10 %, killed
    with pytest.raises(DeployError) as caught:
        strategy.deploy("fraud", "4")
    message = str(caught.value)
    assert "set_traffic({'<slot of the version that should serve>': 100})" in message
    assert "set_traffic({'blue'" not in message
    assert "set_traffic({'green'" not in message


def test_the_split_refusal_is_bounded() -> None:
    reg = registry("split-huge-alias", 3)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 60, "green": 40})
    # An alias no registry can hold is refused when the strategy is built (stop 42),
    # before the split is looked at; either way the message is bounded.
    with pytest.raises(ConfigError, match="at most 64") as caught:
        BlueGreen(dep, clock=dep.clock, alias="a" * 200_000).deploy("fraud", "3")
    assert len(str(caught.value)) < 2_000
    with pytest.raises(DeployError) as refused:
        BlueGreen(dep, clock=dep.clock, alias="a" * 64).deploy("fraud", "3")
    assert len(str(refused.value)) < 2_000


def test_the_split_refusal_bounds_the_versions_it_shows() -> None:
    """A deployer may report versions no registry holds (a cluster's foreign annotations:
    the deployers refuse to apply them, stop 44): the refusal still shows them bounded."""
    huge = "v" * 100_000

    class Foreign(InMemoryDeployer):
        def state(self) -> DeployerState:
            real = super().state()
            slots = [attrs.evolve(s, version=huge + s.version) for s in real.slots]
            return attrs.evolve(real, slots=tuple(slots))

    dep = Foreign()
    BlueGreen(dep, clock=dep.clock, alias=None).deploy("fraud", "1")
    dep.apply("green", "fraud", "2")
    dep.wait_ready("green", 10)
    dep.set_traffic({"blue": 60, "green": 40})
    with pytest.raises(DeployError) as caught:
        BlueGreen(dep, clock=dep.clock, alias=None).deploy("fraud", "3")
    assert len(str(caught.value)) < 2_000
