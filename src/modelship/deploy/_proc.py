"""A process's fields as Linux's ``/proc/<pid>/stat`` lists them: one parser for the
deployers' questions about processes (a server's group, a rollout's runner)."""

from __future__ import annotations

__all__ = ["PROC", "stat_fields"]

PROC = "/proc"
"""Where Linux lists processes."""


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the process's name (which may hold spaces
    and parentheses): ``[state, ppid, pgrp, ...]``, so field ``n`` of proc(5) is at
    ``n - 3``; None when it cannot be read (no such process, not ours to read, no
    ``/proc``). At most 4 KiB is read (a stat line is a few hundred bytes).

    Examples
    --------
    >>> import os
    >>> fields = stat_fields(os.getpid())
    >>> fields is None or fields[0] in (b"R", b"S")
    True
    >>> stat_fields(0) is None
    True
    """
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as f:
            data = f.read(4096)
    except OSError:
        return None
    return data.rpartition(b")")[2].split()
