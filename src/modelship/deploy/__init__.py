"""Put registered models into service: the Deployer seam, strategies, rollouts, gates.

Examples
--------
>>> import modelship as ms
>>> from modelship.testing._deployer_double import InMemoryDeployer
>>> dep = InMemoryDeployer()
>>> _ = ms.deploy.BlueGreen(dep).deploy("fraud", "1")
>>> rollout = ms.deploy.BlueGreen(dep).deploy("fraud", "2")
>>> rollout.status.value, dep.state().serving().version
('succeeded', '2')
>>> _ = rollout.rollback(); dep.state().serving().version
'1'
"""

from __future__ import annotations

from modelship._public import publish
from modelship.deploy._clock import Clock, SystemClock
from modelship.deploy._errors import (
    DeployError,
    HistoryError,
    RollbackUnavailable,
    RolloutInProgress,
    SlotInUse,
    SlotNotFound,
)
from modelship.deploy._gates import Decision, Gate, GatePolicy, GateResult, GateTally, Verdict
from modelship.deploy._history import DeploymentHistory, InMemoryHistory, RegistryHistory
from modelship.deploy._lock import LocksRollouts, ProcessRolloutLock
from modelship.deploy._protocol import (
    Deployer,
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
    check_weights,
)
from modelship.deploy._quantity import Quantity, parse_quantity
from modelship.deploy._rollout import (
    EventKind,
    Rollout,
    RolloutAborted,
    RolloutEvent,
    RolloutRecord,
    RolloutStatus,
)
from modelship.deploy._spec import (
    Container,
    DeploymentSpec,
    HealthCheck,
    Monitoring,
    Resources,
    Strategy,
)
from modelship.deploy._strategies import BlueGreen, Canary, CanaryStep, Recreate, from_spec
from modelship.deploy.kubernetes import KubernetesDeployer  # the client loads at first use
from modelship.deploy.local import LocalDeployer

__all__ = [
    "BlueGreen",
    "Canary",
    "CanaryStep",
    "Clock",
    "Container",
    "Decision",
    "DeployError",
    "Deployer",
    "DeployerCapabilities",
    "DeployerState",
    "DeploymentHistory",
    "DeploymentSpec",
    "EventKind",
    "Gate",
    "GatePolicy",
    "GateResult",
    "GateTally",
    "HealthCheck",
    "HistoryError",
    "InMemoryHistory",
    "KubernetesDeployer",
    "LocalDeployer",
    "LocksRollouts",
    "Monitoring",
    "ProcessRolloutLock",
    "Quantity",
    "Recreate",
    "RegistryHistory",
    "Resources",
    "RollbackUnavailable",
    "Rollout",
    "RolloutAborted",
    "RolloutEvent",
    "RolloutInProgress",
    "RolloutRecord",
    "RolloutStatus",
    "SlotHealth",
    "SlotInUse",
    "SlotNotFound",
    "SlotState",
    "Strategy",
    "SystemClock",
    "Verdict",
    "check_weights",
    "from_spec",
    "parse_quantity",
]

publish(globals(), __all__, __name__)
