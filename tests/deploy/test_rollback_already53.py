"""Stop 53: a rollback that finds the alias already moved to its target by another job
(set_alias is idempotent) says so, moves and records nothing, instead of claiming the move
and recording it a second time."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy import BlueGreen
from modelship.deploy import _cli as deploy_cli
from modelship.deploy._history import RegistryHistory
from modelship.testing import InMemoryDeployer


def _two_rollouts(root: str) -> ms.Registry:
    reg = ms.open_registry(root)
    for _ in range(2):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock, undo_window=10.0).deploy("fraud", "2")
    return reg


def _rollback_events(reg: ms.Registry) -> list[str]:
    return [
        e.message
        for r in RegistryHistory(reg).records("fraud")
        for e in r.events
        if e.kind.value == "rollback"
    ]


def test_a_rollback_racing_another_to_the_same_version_moves_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(tmp_path / "reg")
    reg = _two_rollouts(root)
    real = deploy_cli.unproven_move_back

    def another_rollback_first(*args: Any, **kwargs: Any) -> Any:
        # The other operator's whole `deploy rollback` runs between this one's read of the
        # alias and its move.
        monkeypatch.setattr(deploy_cli, "unproven_move_back", real)
        first = deploy_cli.roll_alias_back(root, "fraud", "production")
        assert isinstance(first, dict), first
        assert first["from"] == "2", first
        return real(*args, **kwargs)

    monkeypatch.setattr(deploy_cli, "unproven_move_back", another_rollback_first)
    events_before = _rollback_events(reg)
    second = deploy_cli.roll_alias_back(root, "fraud", "production")
    assert isinstance(second, dict), second
    assert "from" not in second
    assert second["to"] == "1"
    assert "another rollback moved it there meanwhile" in second["already"]
    assert reg.aliases("fraud") == {"production": "1"}
    assert len(reg.history("fraud")) == 3  # two rollouts' moves and one rollback's
    assert len(_rollback_events(reg)) == len(events_before) + 1  # the first one's only
