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
    """Base class of errors raised by deployers, strategies and rollouts.

    Examples
    --------
    >>> from modelship.deploy import DeployError
    >>> from modelship.testing import InMemoryDeployer
    >>> try:
    ...     InMemoryDeployer().health("blue")
    ... except DeployError as exc:
    ...     print(type(exc).__name__)
    SlotNotFound
    """


class SlotNotFound(DeployError, LookupError):
    """A deployer was asked about a slot that holds no version.

    Also a :class:`LookupError`.

    Examples
    --------
    >>> from modelship.testing import InMemoryDeployer
    >>> InMemoryDeployer().health("blue")
    Traceback (most recent call last):
    ...
    modelship.deploy.SlotNotFound: no slot 'blue'; slots: []
    """


class SlotInUse(DeployError):
    """A slot that still receives traffic was to be removed; move its traffic first.

    Examples
    --------
    >>> from modelship.deploy import BlueGreen
    >>> from modelship.testing import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> rollout = BlueGreen(dep).deploy("fraud", "1")
    >>> dep.remove(rollout.slot)
    Traceback (most recent call last):
    ...
    modelship.deploy.SlotInUse: slot 'blue' still receives 100% of traffic; move its traffic ...
    """


class RollbackUnavailable(DeployError):
    """A rollout cannot be rolled back (no previous version, or it never promoted).

    Examples
    --------
    >>> from modelship.deploy import BlueGreen
    >>> from modelship.testing import InMemoryDeployer
    >>> first = BlueGreen(InMemoryDeployer()).deploy("fraud", "1")
    >>> first.rollback()
    Traceback (most recent call last):
    ...
    modelship.deploy.RollbackUnavailable: rollout ... was the first deployment of fraud: ...
    """


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
    """A stored deployment history document is unreadable or of an unknown schema.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.deploy import RegistryHistory
    >>> reg = ms.open_registry("memory://doc-history-error")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.store.replace("deployments/fraud/damaged.json", b"{not json")
    >>> RegistryHistory(reg).records("fraud")
    Traceback (most recent call last):
    ...
    modelship.deploy.HistoryError: deployment record deployments/fraud/damaged.json is not JSON ...
    """
