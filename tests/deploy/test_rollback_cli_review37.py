"""Stop 37: `modelship deploy rollback` never moves an alias onto a version rolled back
since its last success (after a rollback past the undo window, the new rollout's previous
version is the one just rolled back)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

import modelship as ms
from modelship.deploy import BlueGreen
from modelship.deploy._cli import roll_alias_back
from modelship.testing import InMemoryDeployer


def test_deploy_rollback_does_not_move_the_alias_to_a_version_rolled_back(tmp_path: Path) -> None:
    root = str(tmp_path / "reg")
    reg = ms.open_registry(root)
    for _ in range(2):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    second = BlueGreen(dep, clock=dep.clock, undo_window=10.0).deploy("fraud", "2")
    dep.clock.sleep(100.0)
    second.rollback()  # past its undo window: version 1 deployed again, as a new rollout
    assert reg.aliases("fraud") == {"production": "1"}
    moved = roll_alias_back(root, "fraud", "production")
    assert isinstance(moved, str)
    assert "was rolled back" in moved
    assert reg.aliases("fraud") == {"production": "1"}
