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
import re
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

import attrs

from modelship.deploy._errors import RolloutInProgress
from modelship.deploy._proc import PROC, stat_fields

__all__ = [
    "LocksRollouts",
    "ProcessRolloutLock",
    "describe_holder",
    "exclusive",
    "runner",
    "runner_gone",
]


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


_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _boot_id() -> str | None:
    """This boot of the host (Linux), or None where it cannot be read."""
    try:
        with open(_BOOT_ID, encoding="ascii") as f:
            return f.read(64).strip() or None
    except (OSError, UnicodeDecodeError):
        return None


#: Where a machine's identity is kept (systemd's, then D-Bus's older place): it tells two
#: machines with the same host name apart (a fixed container hostname, a pool of runners),
#: as neither the host name nor a boot id does.
_MACHINE_IDS = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def _machine_id() -> str | None:
    """This machine's identity (the first of :data:`_MACHINE_IDS` that holds one), or None
    where none can be read."""
    for path in _MACHINE_IDS:
        try:
            with open(path, encoding="ascii") as f:
                found = f.read(64).strip()
        except (OSError, UnicodeDecodeError):
            continue
        # 32 hex digits (machine-id(5)); "uninitialized" (systemd's first-boot
        # placeholder) or anything else names no machine: every image holding it would
        # be one machine.
        if re.fullmatch(r"[0-9a-f]{32}", found):
            return found
    return None


#: The initial PID namespace's inode (PROC_PID_INIT_INO): a process in another one runs in
#: a container, whose machine id came with its image and is shared by every container of it.
_HOST_PID_NAMESPACE = 0xEFFFFFFC


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (field 22 of
    ``/proc/<pid>/stat``, read after the name, which may hold spaces and parentheses), or
    None when there is no such process, it cannot be read, or there is no ``/proc``."""
    found = _stat(pid)
    return None if found is None else found[1]


def _stat(pid: int) -> tuple[bytes, int | None] | None:
    """``(state, start ticks)`` of process ``pid`` (fields 3 and 22 of
    ``/proc/<pid>/stat``), or None when it cannot be read."""
    fields = stat_fields(pid)
    if fields is None:
        return None
    start = fields[19] if len(fields) > 19 else b""
    state = fields[0] if fields else b""
    return state, int(start) if start.isdigit() and len(start) <= 20 else None


def _pid_namespace() -> int | None:
    """This process's PID namespace (Linux: the inode of ``/proc/self/ns/pid``), or None:
    a pid names a process only within its namespace (a container has its own)."""
    try:
        return os.stat(f"{PROC}/self/ns/pid").st_ino
    except OSError:
        return None


def runner() -> dict[str, Any]:
    """This process as a rollout record names who runs it: a later reader on this host can
    tell whether that process is gone (:func:`runner_gone`), as a process killed with
    SIGKILL leaves its rollout recorded as in progress. ``machine`` is the machine id
    (``/etc/machine-id``; None where there is none), which tells machines that share a
    host name apart.

    Examples
    --------
    >>> import os
    >>> me = runner()
    >>> me["pid"] == os.getpid(), runner_gone(me)
    (True, False)
    """
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "machine": _machine_id(),
        "boot": _boot_id(),
        "start": _start_ticks(os.getpid()),
        "pidns": _pid_namespace(),
    }


@attrs.frozen
class _Runner:
    """A recorded runner's fields, checked (see :func:`_runner_fields`)."""

    pid: int
    host: str
    machine: str | None  # None: not recorded (a record written before it was), or unknown
    boot: str | None
    start: int | None
    pidns: int | None


def _runner_fields(recorded: object) -> _Runner | None:
    """The fields of a recorded runner, or None when it is not one: a record's document
    is not trusted, and a damaged runner tells nothing."""
    if not isinstance(recorded, Mapping):
        return None
    pid, host, machine = recorded.get("pid"), recorded.get("host"), recorded.get("machine")
    boot, start, pidns = recorded.get("boot"), recorded.get("start"), recorded.get("pidns")
    if (
        type(pid) is not int
        or not 0 < pid < 2**31
        or not isinstance(host, str)
        or not (machine is None or isinstance(machine, str))
        or not (boot is None or isinstance(boot, str))
        or not (start is None or type(start) is int)
        or not (pidns is None or type(pidns) is int)
    ):
        return None
    return _Runner(pid, host, machine or None, boot or None, start, pidns)


def _this_machine(runner: _Runner) -> bool | None:
    """Whether ``runner`` ran on this machine, in this boot (True), on this machine
    before it rebooted (False), or neither is known (None: another machine with this
    host name, or one that cannot be told from it).

    A host name alone does not say: machines of a runner pool or containers may share
    one. The machine id does (:func:`_machine_id`); a boot id that matches does too (a
    boot's id is random). A boot id that differs says "rebooted" only on the same
    machine, outside a container (a container's machine id is its image's); with no
    machine id to compare (a record written before runners recorded one, or a system
    without it), it may as well be another machine.
    """
    machine = _machine_id()
    if runner.machine is not None and machine is not None and runner.machine != machine:
        return None
    same_machine = runner.machine is not None and runner.machine == machine
    boot = _boot_id()
    if runner.boot is not None and boot is not None:
        if runner.boot == boot:
            return True
        # Another boot of this machine, unless this runs in a container: a container's
        # machine id came with its image (another node's container of the same image, with
        # the same host name, would read as this machine rebooted).
        return False if same_machine and _pid_namespace() == _HOST_PID_NAMESPACE else None
    return True if same_machine else None


def runner_gone(recorded: object) -> bool | None:
    """Whether the process a record names (:func:`runner`) has ended: True when this host
    knows it has (this machine rebooted since, or no process of this PID namespace has its
    pid, or one has it with another start time); False when it still runs; None when this
    host cannot tell: another host, another machine with this host name (another machine
    id), one it cannot tell from this one (no machine id recorded or readable, and another
    boot id: see :func:`_this_machine`), another PID namespace (a container with the
    host's name: its pids are not this one's), a process it may not read (another user's,
    under ``hidepid``), no ``/proc`` (not Linux), or a record without a runner or with a
    damaged one.

    Examples
    --------
    >>> import socket
    >>> runner_gone({"pid": 1, "host": "another-host", "boot": None, "start": None})
    >>> runner_gone("not a runner")
    """
    fields = _runner_fields(recorded)
    if fields is None or fields.host != socket.gethostname():
        return None
    here = _this_machine(fields)
    if not here:
        # None: another machine with this name, or one this one cannot tell apart; False:
        # this machine rebooted since, and no process of the boot before runs.
        return None if here is None else True
    pid, start, pidns = fields.pid, fields.start, fields.pidns
    # A pid names a process only in its PID namespace: a container on this host (same
    # name, same boot) has its own, where this host's pid means another process or none.
    if pidns is None or pidns != _pid_namespace() or os.name != "posix":
        return None
    try:
        os.kill(pid, 0)  # signal 0: is there such a process (POSIX; never sent)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: another user's process has that pid
        pass
    found = _stat(pid)  # None: unreadable (hidepid, another user's), not "none"
    if found is None or found[1] is None or start is None:
        return None
    state, now = found
    # Another start time: the pid was reused, the runner is gone. A zombie (killed, not
    # yet reaped by its parent) or a dead task runs no more either.
    return now != start or state in (b"Z", b"X")


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
