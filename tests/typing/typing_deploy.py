"""The deployers' public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    Deployer,
    DeploymentSpec,
    GatePolicy,
    LocalDeployer,
    Rollout,
    RolloutStatus,
    Verdict,
)
from modelship.testing import InMemoryDeployer


def blue_green() -> RolloutStatus:
    deployer: Deployer = InMemoryDeployer()
    spec = DeploymentSpec.from_dict(
        {"deployment": {"containers": [{"name": "model", "image": "m:1"}]}}, environ=False
    )
    strategy = BlueGreen(deployer, spec, policy=GatePolicy(interval=5.0), undo_window=0.0)
    rollout: Rollout = strategy.deploy("fraud", 1)
    return rollout.status


def canary() -> bool:
    deployer = InMemoryDeployer()
    steps = [CanaryStep(10, pause=60.0), CanaryStep(50)]
    rollout = Canary(deployer, steps=steps, gate=lambda r: Verdict.PASS).deploy("fraud", "2")
    rollout.rollback()
    return rollout.status is RolloutStatus.ROLLED_BACK


def local(path: str) -> Deployer:
    return LocalDeployer(ms.open_registry(path), drain_timeout=10.0)
