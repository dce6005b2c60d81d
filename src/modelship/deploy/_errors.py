"""The errors a deployer, a strategy or a rollout raises on purpose.

All are :class:`~modelship.ModelshipError` subclasses (under :class:`DeployError`);
:class:`~modelship.deploy.RolloutAborted`, which carries its rollout, lives beside it.

Examples
--------
>>> from modelship.deploy import BlueGreen, RolloutAborted
>>> from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer
>>> dep = InMemoryDeployer(faults=(Fault("apply", FaultEffect.NEVER_READY),))
>>> try:
...     BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
... except RolloutAborted as exc:
...     print(exc.rollout.status.value, "-", exc.rollout.history[-1].message)
aborted - blue did not become ready within the progress deadline of 600 s
"""

from __future__ import annotations

from modelship.errors import ModelshipError

__all__ = [
    "DeployError",
    "HistoryError",
    "RollbackUnavailable",
    "SlotInUse",
    "SlotNotFound",
]


class DeployError(ModelshipError):
    """Base class of errors raised by deployers, strategies and rollouts."""


class SlotNotFound(DeployError, LookupError):
    """A deployer was asked about a slot that holds no version."""


class SlotInUse(DeployError):
    """A slot that still receives traffic was to be removed; move its traffic first."""


class RollbackUnavailable(DeployError):
    """A rollout cannot be rolled back (no previous version, or it never promoted)."""


class HistoryError(DeployError):
    """A stored deployment history document is unreadable or of an unknown schema."""
