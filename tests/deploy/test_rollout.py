"""Rollback is one switch back within the undo window, a redeploy after it, never a gap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    EventKind,
    HistoryError,
    InMemoryHistory,
    Recreate,
    RollbackUnavailable,
    RolloutAborted,
    RolloutRecord,
    RolloutStatus,
)
from modelship.testing._deployer_double import (
    Fault,
    FaultEffect,
    InjectedFault,
    InMemoryDeployer,
)


@pytest.fixture
def dep() -> InMemoryDeployer:
    return InMemoryDeployer()


def blue_green(dep: InMemoryDeployer, **kw: object) -> BlueGreen:
    return BlueGreen(dep, clock=dep.clock, history=InMemoryHistory(), **kw)  # type: ignore[arg-type]


def serving(dep: InMemoryDeployer) -> str | None:
    slot = dep.state().serving()
    return None if slot is None else slot.version


def two_versions(dep: InMemoryDeployer, **kw: object):  # type: ignore[no-untyped-def]
    blue_green(dep, **kw).deploy("fraud", "1")
    return blue_green(dep, **kw).deploy("fraud", "2")


def test_rollback_within_the_undo_window_is_one_traffic_switch(dep: InMemoryDeployer) -> None:
    rollout = two_versions(dep)
    mark = len(dep.calls)
    assert rollout.rollback() is rollout
    mutating = [c.op for c in dep.calls[mark:] if c.op in ("apply", "set_traffic", "remove")]
    assert mutating == ["set_traffic", "remove"]
    assert serving(dep) == "1"
    assert rollout.status is RolloutStatus.ROLLED_BACK


def test_rollback_after_the_undo_window_redeploys_the_previous_version(
    dep: InMemoryDeployer,
) -> None:
    rollout = two_versions(dep, undo_window=60)
    rollout.finish_when_due()
    assert [s.version for s in dep.state().slots] == ["2"]
    replacement = rollout.rollback()
    assert replacement is not rollout
    assert (replacement.version, replacement.status) == ("1", RolloutStatus.SUCCEEDED)
    assert serving(dep) == "1"
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert dep.violations() == []


def test_rollback_redeploys_when_the_previous_slot_died(dep: InMemoryDeployer) -> None:
    rollout = two_versions(dep)
    dep.kill("blue")
    replacement = rollout.rollback()
    assert replacement.version == "1"
    assert serving(dep) == "1"
    assert dep.violations() == []


def test_rollback_never_scales_the_good_version_down_first(dep: InMemoryDeployer) -> None:
    rollout = two_versions(dep)
    mark = len(dep.calls)
    rollout.rollback()
    for call in dep.calls[mark:]:
        if call.op == "remove":
            assert call.before.slot(call.args[0]).version == "2"
            assert call.before.serving().version == "1"
    assert dep.violations() == []


@pytest.mark.parametrize("op", ["set_traffic", "wait_ready", "health", "state"])
def test_a_failing_call_during_rollback_leaves_the_serving_version_alone(
    dep: InMemoryDeployer, op: str
) -> None:
    rollout = two_versions(dep, undo_window=600)
    dep.inject(Fault(op, times=None))
    with pytest.raises((RolloutAborted, InjectedFault)):  # the redeploy path fails too
        rollout.rollback()
    dep.clear_faults()
    assert serving(dep) == "2"
    assert dep.violations() == []


def test_rollback_of_the_first_deployment_is_unavailable(dep: InMemoryDeployer) -> None:
    rollout = blue_green(dep).deploy("fraud", "1")
    with pytest.raises(RollbackUnavailable, match="no previous version"):
        rollout.rollback()


def test_rollback_of_an_aborted_rollout_is_unavailable(dep: InMemoryDeployer) -> None:
    blue_green(dep).deploy("fraud", "1")
    dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="2"))
    with pytest.raises(RolloutAborted) as info:
        blue_green(dep).deploy("fraud", "2")
    with pytest.raises(RollbackUnavailable, match="aborted"):
        info.value.rollout.rollback()


def test_a_canary_rolls_back_like_a_blue_green(dep: InMemoryDeployer) -> None:
    Canary(dep, steps=[CanaryStep(20)], clock=dep.clock).deploy("fraud", "1")
    rollout = Canary(dep, steps=[CanaryStep(20)], clock=dep.clock).deploy("fraud", "2")
    rollout.rollback()
    assert serving(dep) == "1"
    assert [e.kind for e in rollout.history].count(EventKind.ROLLBACK) == 1


def test_a_record_round_trips_through_json(dep: InMemoryDeployer) -> None:
    rollout = two_versions(dep)
    rollout.rollback()
    text = rollout.record().to_json()
    assert RolloutRecord.from_dict(json.loads(text)) == rollout.record()


def test_a_record_of_an_unknown_schema_is_refused() -> None:
    with pytest.raises(HistoryError, match="schema 99"):
        RolloutRecord.from_dict({"schema": 99})


def test_a_damaged_record_is_refused_with_what_to_do() -> None:
    with pytest.raises(HistoryError, match="remove it"):
        RolloutRecord.from_dict({"schema": 1, "id": "x"})


def test_a_recreate_rolls_back_by_recreating_the_previous_version(
    dep: InMemoryDeployer,
) -> None:
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = Recreate(dep, clock=dep.clock).deploy("fraud", "2")
    replacement = rollout.rollback()
    assert (replacement.version, replacement.strategy) == ("1", "recreate")
    assert serving(dep) == "1"
    assert dep.violations(allow_stop=True) == []


def test_a_damaged_record_in_the_registry_is_reported_by_key(tmp_path: Path) -> None:
    import modelship as ms
    from modelship.deploy import RegistryHistory

    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.store.create("deployments/fraud/20260101T000000000000Z-0.json", b"{not json")
    with pytest.raises(HistoryError, match=r"20260101T000000000000Z-0\.json is not JSON"):
        RegistryHistory(reg).records("fraud")


def test_registry_history_lists_rollouts_oldest_first(tmp_path: Path) -> None:
    import modelship as ms
    from modelship.deploy import RegistryHistory

    reg = ms.open_registry(str(tmp_path / "reg"))
    history = RegistryHistory(reg)
    dep = InMemoryDeployer()
    ids = []
    for version in ("1", "2", "3"):
        dep.clock.advance(1)
        ids.append(BlueGreen(dep, clock=dep.clock, history=history).deploy("m", version).id)
    assert [r.id for r in history.records("m")] == ids


def test_an_oversized_record_from_any_store_is_refused_before_parsing() -> None:
    import modelship as ms
    from modelship.deploy import RegistryHistory
    from modelship.registry._integrity import MAX_DOCUMENT
    from modelship.testing import MemoryStore

    store = MemoryStore()  # reads without a limit, unlike FsspecStore
    reg = ms.Registry(store)
    huge = b'{"pad": "' + b"x" * MAX_DOCUMENT + b'"}'
    store.create("deployments/fraud/20260101T000000000000Z-0.json", huge)
    with pytest.raises(HistoryError, match=r"20260101T000000000000Z-0\.json is not JSON"):
        RegistryHistory(reg).records("fraud")
