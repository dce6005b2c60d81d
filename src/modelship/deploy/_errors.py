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
    "RolloutInProgress",
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


class RolloutInProgress(DeployError):
    """Another rollout holds the service's rollout lock; this one changed nothing.

    Raised at once, never after waiting: wait for the other rollout to finish (its message
    names it), then try again.

    Examples
    --------
    >>> import threading
    >>> from modelship.deploy import BlueGreen, RolloutInProgress
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> dep, held, done = InMemoryDeployer(), threading.Event(), threading.Event()
    >>> def other_rollout():
    ...     with dep.rollout_lock("a deploy in another thread"):
    ...         held.set()
    ...         done.wait(30)
    >>> other = threading.Thread(target=other_rollout)
    >>> other.start(); held.wait(30)
    True
    >>> try:
    ...     BlueGreen(dep).deploy("fraud", "1")
    ... except RolloutInProgress as exc:
    ...     print(exc)
    another rollout is changing this InMemoryDeployer: a deploy in another thread; ...
    >>> done.set(); other.join(); dep.state().slots  # nothing was started
    ()
    """


class HistoryError(DeployError):
    """A stored deployment history document is unreadable or of an unknown schema."""
