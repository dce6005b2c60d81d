"""Server processes the LocalDeployer starts, and the guarantee they never outlive it.

Each server runs in its own process group (so it and anything it starts stop
together), is killed by the kernel if its parent dies (see ``_child``), and is listed
in a finaliser that kills what is left when the deployer is garbage-collected or the
interpreter exits. Servers listen on a socket the parent bound to a free port and hands
over (``--fd``), so no port is ever guessed or raced for. A server's output goes to a
temporary file that has no name (``tempfile.TemporaryFile``): the parent reads it for error
messages, and it is gone when both have closed it, even if both were killed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from typing import IO

__all__ = ["ServerProcess", "kill_all"]

#: What a probe's path keeps unencoded: the characters a URL path and query may hold
#: (RFC 3986 ``pchar``, ``/`` and ``?``), ``%`` (so an encoded path is not encoded
#: twice) and ``#``; the rest (spaces, control characters, non-ASCII) is percent-encoded.
_PATH_SAFE = "/?#%:@!$&'()*+,;=~"


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

    @classmethod
    def start(cls, argv: Sequence[str], *, extra: Sequence[str] = ()) -> ServerProcess:
        """Start ``argv`` with ``--fd N`` (a socket listening on a free loopback port)."""
        sock = socket.create_server(("127.0.0.1", 0), backlog=2048)
        port = sock.getsockname()[1]
        # No name, so nothing is left in the temporary folder whoever dies first; the child
        # writes through its own descriptor, the parent reads with pread (the offset they
        # share never moves under the child). stop() closes it.
        log = tempfile.TemporaryFile(prefix="modelship-slot-", suffix=".log")  # noqa: SIM115
        try:
            launcher = [sys.executable, "-m", "modelship.deploy.local._child", str(os.getpid())]
            cmd = [*launcher, *argv, "--fd", str(sock.fileno()), *extra]
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(sock.fileno(),),
                start_new_session=True,  # its own process group: stopped as one
                close_fds=True,
            )
        except BaseException:
            log.close()
            raise
        finally:
            sock.close()  # the child holds its own copy
        return cls(popen, port, log)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def get(self, path: str, timeout: float) -> int | None:
        """The status of ``GET path`` on the server, or None if it did not answer.

        The path is sent percent-encoded, as the kubelet sends an ``httpGet`` probe's
        (``/santé`` as ``/sant%C3%A9``; what is already encoded stays as it is): HTTP
        sends ASCII only. Any failure of the probe is an answer of None (unhealthy),
        never an exception for ``health()`` or ``wait_ready()`` to raise.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", urllib.parse.quote(path, safe=_PATH_SAFE))
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

    def stop(self, grace: float) -> None:
        """SIGTERM the group (the server drains), SIGKILL it after ``grace`` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            try:
                self.popen.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()


def kill_all(pids: Sequence[int]) -> None:
    """SIGKILL every process group in ``pids`` (a finaliser: must not raise)."""
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    for pid in list(pids):
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    break
            except ChildProcessError:
                break
            time.sleep(0.01)
