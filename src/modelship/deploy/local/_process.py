"""Server processes the LocalDeployer starts, and the guarantee they never outlive it.

Each server runs in its own process group (so it and anything it starts stop
together), is killed by the kernel if its parent dies (see ``_child``), and is listed
in a finaliser that kills what is left when the deployer is garbage-collected or the
interpreter exits.

A group is signalled only while its leader (the server) is not reaped: until then its
process id, which is the group's id, cannot be given to another process, so a signal
never reaches a group that reused the number. Only :meth:`ServerProcess.stop` (and
:func:`kill_all`) reap a server, once its group was sent SIGKILL, under the lock it
signals under; asking whether it is alive does not reap it (so a server that crashed
still holds its group id until then, and what it started is stopped with it).

Stopping a server gives its whole group the grace period: SIGTERM goes to every process
in it, and SIGKILL to what is left when the grace period is over, or sooner once every
process of it has exited (on Linux, where ``/proc`` lists a group's members; elsewhere,
once the server has exited).

Servers listen on a socket the parent bound to a free port and hands over (``--fd``), so
no port is ever guessed or raced for. The parent closes its copy once the child holds
its own, so a server that exits frees its port: a connection to it is then refused at
once (a dead server is noticed without waiting), and another process may bind it (the
router looks at a server's exit status before it forwards a request). A server's output
goes to a temporary file that has no name (``tempfile.TemporaryFile``): the parent reads
it for error messages, and it is gone when both have closed it, even if both were killed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import IO, Any

from modelship._shown import ascii_digits
from modelship.deploy._errors import DeployError
from modelship.deploy._proc import PROC as _PROC
from modelship.deploy._proc import stat_fields
from modelship.deploy.serve._cli import MAX_SIGNING_KEY

__all__ = ["MAX_KEY", "PATH_SAFE", "ServerProcess", "Spawner", "kill_all", "stop_all"]

#: What a probe's path keeps unencoded: the characters a URL path and query may hold
#: (RFC 3986 ``pchar``, ``/`` and ``?``), ``%`` (so an encoded path is not encoded
#: twice) and ``#``; the rest (spaces, control characters, non-ASCII) is percent-encoded.
PATH_SAFE = "/?#%:@!$&'()*+,;=~"
_EXIT_POLL = 0.01  # seconds between looks at whether a stopping server has exited
_KILLED_WAIT = 10.0  # seconds a SIGKILLed server may take to exit (a disk it waits on)
_GROUP_POLL = 0.02  # seconds between looks at a stopping group's members (a /proc scan)
_LOOKS_WITHOUT_REAPING = hasattr(os, "waitid")  # POSIX; macOS from Python 3.13
#: Bytes of a signing key handed over a pipe at most: what ``modelship serve`` reads
#: from ``--signing-key-fd``.
MAX_KEY: int = MAX_SIGNING_KEY
# Written at once, never blocking, up to PIPE_BUF (4096 on Linux; POSIX's least, 512,
# where it is not known, so that importing never fails); a longer key from a thread.
_ATOMIC_WRITE: int = getattr(select, "PIPE_BUF", 512)


def _launcher() -> tuple[str, ...]:
    """How a server is started: ``_child``'s text run with ``-c``, without ``site``
    (``-S``; ``-s``: no user folder) and, from Python 3.11, without the current folder on
    its path (``-P``), so that it imports nothing but ``ctypes``, ``os``, ``signal`` and
    ``sys`` before it becomes the server: as ``-m modelship.deploy.local._child`` it would
    import modelship (NumPy, ...) first, about 1 s of each slot's start. Its text, not its
    file, is given: modelship may be imported from a zip. Not ``-I``: it implies ``-E``,
    which ignores ``PYTHONCOERCECLOCALE=0`` and adds ``LC_CTYPE`` to the environment the
    server is handed (see ``_child``).

    Examples
    --------
    >>> _launcher()[-2:] == ("-c", _launcher()[-1]) and "PR_SET_PDEATHSIG" in _launcher()[-1]
    True
    """
    package = __name__.rpartition(".")[0]
    try:
        source = resources.files(package).joinpath("_child.py").read_text(encoding="utf-8")
    except OSError:  # installed without sources (.pyc alone): as a module, slower
        return (sys.executable, "-m", f"{package}._child")
    # Python 3.10 has no -P: there the current folder comes first, as for the server.
    safe_path = ("-P",) if sys.version_info >= (3, 11) else ()
    return (sys.executable, "-s", "-S", *safe_path, "-c", source)


_LAUNCHER = _launcher()


class ServerProcess:
    """One ``modelship serve`` process listening on 127.0.0.1, on a port of its own.

    Examples
    --------
    >>> import sys
    >>> proc = ServerProcess.start([sys.executable, "-c", "import time; time.sleep(30)"])
    >>> proc.alive()
    True
    >>> proc.stop(grace=5.0); proc.alive()
    False
    """

    def __init__(self, popen: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
        self.popen = popen
        self.port = port
        self.log = log
        self.pid = popen.pid
        # Held while the server is reaped (poll, wait) and while its group is signalled:
        # a group is signalled only if its leader is not reaped yet (see the module).
        self._reaping = threading.RLock()  # a finaliser may run in its holder

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        extra: Sequence[str] = (),
        env: Mapping[bytes, bytes] | None = None,
        signing_key: bytes | None = None,
    ) -> ServerProcess:
        """Start ``argv`` with ``--fd N`` (a socket listening on a free loopback port).

        ``env`` is its whole environment (None: this process's), and ``signing_key`` (at
        most :data:`MAX_KEY` bytes) is read by the server from a pipe (``--signing-key-fd
        N``): secrets go there, never in ``argv``, which every local user can read in
        ``/proc/PID/cmdline``.
        """
        sock = socket.create_server(("127.0.0.1", 0), backlog=2048)
        port = sock.getsockname()[1]
        fds = [sock.fileno()]
        given = ["--fd", str(sock.fileno())]
        # No name, so nothing is left in the temporary folder whoever dies first; the child
        # writes through its own descriptor, the parent reads with pread (the offset they
        # share never moves under the child). stop() closes it.
        log = tempfile.TemporaryFile(prefix="modelship-slot-", suffix=".log")  # noqa: SIM115
        key_fd = None
        try:
            if signing_key is not None:
                key_fd = _pipe_holding(signing_key)
                fds.append(key_fd)
                given += ["--signing-key-fd", str(key_fd)]
            launcher = [*_LAUNCHER, str(os.getpid())]
            popen = subprocess.Popen(
                [*launcher, *argv, *given, *extra],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=fds,
                env=env,
                start_new_session=True,  # its own process group: stopped as one
                close_fds=True,
            )
        except BaseException:
            log.close()
            raise
        finally:
            sock.close()  # the child holds its own copies
            if key_fd is not None:
                os.close(key_fd)
        return cls(popen, port, log)

    def alive(self) -> bool:
        """Whether the process is still running (it is not reaped: see the module)."""
        return self.exit_status() is None

    def exit_status(self) -> int | None:
        """How the server exited, as :attr:`subprocess.Popen.returncode` says it (``-N``:
        killed by signal N), or None while it runs; looked at without reaping it."""
        if self.popen.returncode is not None:  # reaped (set once)
            return self.popen.returncode
        if _LOOKS_WITHOUT_REAPING:
            try:  # WNOWAIT: only looks, and leaves the zombie to _reap() (None: running)
                info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # reaped by someone else: poll() says what it can
                info = None
            else:
                if info is None:
                    return None
                return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        with self._reaping:  # no waitid (macOS before Python 3.13): reaped, to be seen
            return self.popen.poll()

    @property
    def reaped(self) -> bool:
        """Whether the server was reaped (its process id is free for another process)."""
        return self.popen.returncode is not None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the server's process group, unless the server was reaped.

        Atomic: the server is reaped only under the lock held here, and until it is, its
        process id (the group's id) is not free for the kernel to hand out again.
        """
        with self._reaping:
            if self.popen.returncode is None:  # not reaped: alive, or a zombie
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the server to exit, without reaping it (its
        group id stays reserved); whether it exited."""
        deadline = time.monotonic() + timeout
        while self.alive():  # bounded by the deadline: every turn sleeps or returns
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(_EXIT_POLL, left))
        return True

    def _reap(self) -> None:
        with self._reaping:
            self.popen.poll()

    def get(self, path: str, timeout: float) -> int | None:
        """The status of ``GET path`` on the server, or None if it did not answer.

        The path is sent percent-encoded, as the kubelet sends an ``httpGet`` probe's
        (``/santé`` as ``/sant%C3%A9``; what is already encoded stays as it is): HTTP
        sends ASCII only. Any failure of the probe is an answer of None (unhealthy),
        never an exception for ``health()`` or ``wait_ready()`` to raise.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", urllib.parse.quote(path, safe=PATH_SAFE))
            response = conn.getresponse()
            response.read()
            return response.status
        except Exception:  # a probe that fails, however, says "not healthy"
            return None
        finally:
            conn.close()

    def tail(self, lines: int = 5) -> str:
        """The last lines the server wrote (for error messages)."""
        try:
            fd = self.log.fileno()
            size = os.fstat(fd).st_size
            start = max(0, size - 4096)
            text = os.pread(fd, size - start, start).decode(errors="replace")
        except (OSError, ValueError):  # ValueError: the file was closed by stop()
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def _wait_group(self, deadline: float) -> None:
        """Once the server exited (not reaped: its group id stays reserved), wait until
        the deadline (``time.monotonic()``) for the rest of its group to exit too, so what
        it started finishes its own SIGTERM clean-up. Where ``/proc`` does not list the
        members (not Linux), nothing is waited for."""
        while time.monotonic() < deadline:  # bounded by the deadline: every turn sleeps
            if self.reaped or not _group_members(self.pid, self.pid):
                return
            time.sleep(min(_GROUP_POLL, max(0.0, deadline - time.monotonic())))

    def stop(self, grace: float) -> None:
        """SIGTERM the group (the server drains, and what it started cleans up), then
        SIGKILL what is left of it after ``grace`` seconds, or sooner once none of it is
        left running (where ``/proc`` does not list a group's members, as soon as the
        server exits). What the server started and left running, even a process that
        ignores SIGTERM, is stopped with it. Then reap the server.

        The SIGKILL goes while the server is not reaped, so its group id is still its
        own (see the module).
        """
        stop_all([self], grace)

    def _finish_stop(self, deadline: float) -> None:
        """After SIGTERM: wait for the group until ``deadline`` (``time.monotonic()``),
        SIGKILL what is left of it, reap the server."""
        if self._wait_exit(deadline - time.monotonic()):
            self._wait_group(deadline)
        self.kill_group(signal.SIGKILL)
        self._wait_exit(_KILLED_WAIT)  # bounded; past it, kill_all() tries again
        self._reap()
        self.log.close()


def _group_members(pgid: int, leader: int) -> list[int]:
    """The processes of group ``pgid`` still running, but ``leader`` (from ``/proc``:
    Linux; empty where it lists no processes). Zombies have exited: they are not counted.

    Examples
    --------
    >>> os.getpid() in _group_members(os.getpgrp(), -1) or not os.path.isdir(_PROC)
    True
    >>> os.getpid() in _group_members(os.getpgrp(), os.getpid())
    False
    """
    try:
        names = os.listdir(_PROC)
    except OSError:
        return []
    members = []
    for name in names:  # bounded: one read per process listed
        if not ascii_digits(name) or int(name) == leader:
            continue
        fields = stat_fields(name)  # state, ppid, pgrp, ...; None: gone, or not ours
        running = fields is not None and len(fields) > 2 and fields[0] not in (b"Z", b"X")
        if running and fields is not None and fields[2] == b"%d" % pgid:
            members.append(int(name))
    return members


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to the pipe ``fd``, then close it; a reader gone (the server died
    before reading its key) ends it early. Never raises: it runs on a thread of its own."""
    try:
        view = memoryview(data)
        while view:  # bounded: every turn writes at least one byte, or raises
            view = view[os.write(fd, view) :]
    except OSError:  # EPIPE: nothing reads any more
        pass
    finally:
        os.close(fd)


def _pipe_holding(data: bytes) -> int:
    """The read end of a pipe holding ``data`` and then its end (the write end closed once
    ``data`` is written).

    ``data`` is at most :data:`MAX_KEY` bytes. Up to ``PIPE_BUF`` bytes a pipe takes whole
    in one write that never blocks (no pipe holds less); a longer ``data`` is written by a
    thread, which ends when the reader has read it all or is gone (the read end it is
    handed to is closed here once the server holds its copy, so the server's exit ends it).
    """
    if len(data) > MAX_KEY:
        raise ValueError(f"{len(data)} bytes are not a key; at most {MAX_KEY}")
    read, write = os.pipe()
    if len(data) > _ATOMIC_WRITE:
        try:
            threading.Thread(
                target=_write_all, args=(write, data), name="modelship-key-writer", daemon=True
            ).start()
        except BaseException:
            os.close(read)
            os.close(write)
            raise
        return read
    try:
        os.write(write, data)
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return read


def stop_all(procs: Sequence[ServerProcess], grace: float | Sequence[float]) -> None:
    """Stop every server in ``procs`` as :meth:`ServerProcess.stop` stops one, side by
    side: each gets SIGTERM at once, and its ``grace`` seconds from then (one for all, or
    one per server; stopping them one after the other would give the last one to stop
    every other's grace too).

    Examples
    --------
    >>> import sys
    >>> procs = [ServerProcess.start([sys.executable, "-c", "import time; time.sleep(30)"])
    ...          for _ in range(2)]
    >>> stop_all(procs, grace=5.0); [proc.alive() for proc in procs]
    [False, False]
    """
    graces = [grace] * len(procs) if isinstance(grace, (int, float)) else list(grace)
    start = time.monotonic()
    for proc in procs:
        proc.kill_group(signal.SIGTERM)
    # Bounded: one wait per server, the earliest deadline first, so none waits past its own.
    for seconds, proc in sorted(zip(graces, procs, strict=True), key=lambda pair: pair[0]):
        proc._finish_stop(start + seconds)


def kill_all(procs: Sequence[ServerProcess]) -> None:
    """SIGKILL the process group of every server in ``procs`` not reaped yet, then reap
    them (a finaliser: must not raise)."""
    for proc in list(procs):
        with contextlib.suppress(Exception):
            proc.kill_group(signal.SIGKILL)
    deadline = time.monotonic() + 5
    for proc in list(procs):  # bounded: one wait per server, all within the deadline
        with contextlib.suppress(Exception):
            proc._wait_exit(max(0.0, deadline - time.monotonic()))
            proc._reap()


class Spawner:
    """One thread that starts servers, for as long as they may run.

    The kernel sends a server its parent-death signal (see ``_child``) when the *thread*
    that forked it ends, not the process. So every server is started from this thread,
    a daemon of its own that only :meth:`shutdown` ends: no exit hook joins it when the
    main thread finishes while another thread still deploys (the interpreter joins a
    ``concurrent.futures`` pool's threads then, which SIGKILLed every server), and it
    ends with the process.

    Examples
    --------
    >>> spawner = Spawner()
    >>> spawner.submit(sum, [1, 2]).result()
    3
    >>> spawner.shutdown()
    >>> spawner.submit(sum, [1, 2])
    Traceback (most recent call last):
    ...
    modelship.deploy.DeployError: the server spawner was shut down (its deployer is closed); ...
    """

    def __init__(self, name: str = "modelship-spawner") -> None:
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Any, tuple[Any, ...]] | None
        ] = queue.SimpleQueue()
        self._lock = threading.Lock()  # nothing is queued after the sentinel
        self._closed = False
        # The thread holds the queue only (never the spawner, nor a deployer), so a
        # deployer dropped unclosed is still collected, and its finaliser ends it.
        self.thread = threading.Thread(
            target=_spawn_each, args=(self._queue,), name=name, daemon=True
        )
        self.thread.start()

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on the spawner's thread, after what was submitted before.

        Raises :class:`~modelship.deploy.DeployError` once :meth:`shutdown` was called.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise DeployError(
                    "the server spawner was shut down (its deployer is closed); create a "
                    "new deployer"
                )
            self._queue.put((future, fn, args))
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Let the thread finish what was submitted, then end; idempotent. ``wait``: wait
        for it (never from the thread itself)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        if wait and threading.current_thread() is not self.thread:
            self.thread.join()


def _spawn_each(
    jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Any, tuple[Any, ...]] | None],
) -> None:
    """The spawner's thread: run each job until the sentinel (None)."""
    while True:  # bounded by the sentinel shutdown() queues
        job = jobs.get()
        if job is None:
            return
        future, fn, args = job
        del job  # no reference kept past the job: a deployer dropped is collected
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # the caller's to see, as a pool's future
                future.set_exception(exc)
        del future, fn, args
