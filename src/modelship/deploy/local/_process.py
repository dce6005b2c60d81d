"""Server processes the LocalDeployer starts, and the guarantee they never outlive it.

Each server runs in its own process group (so it and anything it starts stop
together), is killed by the kernel if its parent dies (see ``_child``), and is listed
in a finaliser that kills what is left when the deployer is garbage-collected or the
interpreter exits. Servers listen on a socket the parent bound to a free port and hands
over (``--fd``), so no port is ever guessed or raced for.
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
from collections.abc import Sequence

__all__ = ["ServerProcess", "kill_all"]


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

    def __init__(self, popen: subprocess.Popen[bytes], port: int, log: str) -> None:
        self.popen = popen
        self.port = port
        self.log = log
        self.pid = popen.pid

    @classmethod
    def start(cls, argv: Sequence[str], *, extra: Sequence[str] = ()) -> ServerProcess:
        """Start ``argv`` with ``--fd N`` (a socket listening on a free loopback port)."""
        sock = socket.create_server(("127.0.0.1", 0), backlog=2048)
        port = sock.getsockname()[1]
        fd, log = tempfile.mkstemp(prefix="modelship-slot-", suffix=".log")
        try:
            launcher = [sys.executable, "-m", "modelship.deploy.local._child", str(os.getpid())]
            cmd = [*launcher, *argv, "--fd", str(sock.fileno()), *extra]
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                pass_fds=(sock.fileno(),),
                start_new_session=True,  # its own process group: stopped as one
                close_fds=True,
            )
        finally:
            os.close(fd)
            sock.close()  # the child holds its own copy
        return cls(popen, port, log)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def get(self, path: str, timeout: float) -> int | None:
        """The status of ``GET path`` on the server, or None if it did not answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def tail(self, lines: int = 5) -> str:
        """The last lines the server wrote (for error messages)."""
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                text = f.read().decode(errors="replace")
        except OSError:
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
        with contextlib.suppress(OSError):
            os.unlink(self.log)


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
