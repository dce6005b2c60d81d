"""One rollout at a time per service: the optional :class:`LocksRollouts` capability.

Two rollouts of one service at once (two CI jobs, or a deploy and a monitor's rollback)
would each pick the idle slot from what they saw and overwrite each other's work: the
later ``apply`` replaces the version the earlier one is waiting on, and the registry's
alias ends up naming a version that does not serve. A deployer that declares this
capability hands out a lock per service; every strategy's ``deploy`` and every
:meth:`~modelship.deploy.Rollout.rollback` and :meth:`~modelship.deploy.Rollout.finish`
hold it, and a second one is refused at once with :class:`RolloutInProgress`, having
changed nothing. The holder may take the lock again (a rollback that redeploys).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from modelship.deploy._errors import RolloutInProgress

__all__ = ["LocksRollouts", "ProcessRolloutLock", "describe_holder", "exclusive"]


@runtime_checkable
class LocksRollouts(Protocol):
    """A deployer that lets one rollout at a time change its slots and traffic.

    Optional: a deployer without it is used as before. Implement ``rollout_lock`` to hold
    the service's lock for a ``with`` block, re-entrantly for the holder, and to raise
    :class:`RolloutInProgress` at once (never wait) while anyone else holds it.

    Examples
    --------
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> isinstance(InMemoryDeployer(), LocksRollouts)
    True
    """

    def rollout_lock(self, holder: str) -> AbstractContextManager[None]:
        """Hold the lock for the block; ``holder`` says who, for the refusal's message."""


def describe_holder(what: str) -> str:
    """``what``, with the host, process and time that tell a holder apart in a message.

    Examples
    --------
    >>> "blue-green deploy of fraud 2 (pid " in describe_holder("blue-green deploy of fraud 2")
    True
    """
    began = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"{what} (pid {os.getpid()} on {socket.gethostname()}, since {began})"


def exclusive(deployer: object, what: str) -> AbstractContextManager[None]:
    """The deployer's rollout lock for ``what`` if it has one, else nothing to hold."""
    if isinstance(deployer, LocksRollouts):
        return deployer.rollout_lock(describe_holder(what))
    return contextlib.nullcontext()


class ProcessRolloutLock:
    """The rollout lock of a deployer whose service lives in this process.

    Re-entrant for the thread that holds it; any other thread is refused at once.

    Examples
    --------
    >>> lock = ProcessRolloutLock("the local service")
    >>> with lock.hold("deploy of fraud 2"):
    ...     with lock.hold("its rollback"):  # the holder again: allowed
    ...         pass
    """

    def __init__(self, service: str) -> None:
        self._service = service
        self._lock = threading.RLock()
        self._holder: str | None = None
        self._depth = 0

    @contextlib.contextmanager
    def hold(self, holder: str) -> Iterator[None]:
        """Hold the lock for the block, or raise :class:`RolloutInProgress` at once."""
        if not self._lock.acquire(blocking=False):
            raise RolloutInProgress(
                f"another rollout is changing {self._service}: "
                f"{self._holder or 'one that is just starting'}; wait for it to finish, then "
                "deploy again"
            )
        try:
            if self._depth == 0:
                self._holder = holder
            self._depth += 1
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
            self._lock.release()
