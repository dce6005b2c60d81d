"""Launcher that ties a server process's life to its parent's, then becomes the server.

``python -s -S -P -c SOURCE PARENT_PID PROGRAM ARGS...`` (``SOURCE``: this file's text)
asks Linux to
SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``, kept across
``exec``), checks the parent is still the one that started it (it may have died before
the request was made), then replaces itself with ``PROGRAM ARGS...``. Done here, in the
child, rather than in a ``preexec_fn``, which is unsafe in a parent that runs threads.

It is run from its text, not as a module of modelship, and imports only the standard
library: importing modelship (NumPy, ...) first would add a second to every server's
start. Its text is read where modelship is installed (a folder or a zip); only an install
without sources (``.pyc`` files alone) runs it as ``-m modelship.deploy.local._child``.
The program it becomes gets the environment it was given: ``PYTHON*`` variables are
honoured as that program would honour them (no ``-E``), so under a C locale this
interpreter adds ``LC_CTYPE`` (PEP 538) only where a Python server would add it itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Arrange SIGKILL on the parent's death (Linux); exit at once if it already died."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}")
    if os.getppid() != parent:
        os._exit(70)


def main(argv: list[str]) -> None:
    """Run ``argv[1:]`` as a child of process ``argv[0]`` that dies with it."""
    die_with_parent(int(argv[0]))
    os.execv(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
