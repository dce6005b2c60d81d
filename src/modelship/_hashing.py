"""The one chunk size and the one sha256 loop every part of modelship reads bytes with.

A leaf: it imports nothing else from modelship. The registry's integrity module
(:mod:`modelship.registry._integrity`) builds its checked reads on these;
:func:`modelship.fingerprint` hashes files with :func:`hash_stream` too, so a file's
fingerprint and its registered digest are computed by the same loop.

Examples
--------
>>> import hashlib, io
>>> from modelship._hashing import hash_stream
>>> hash_stream(io.BytesIO(b"abc")) == (hashlib.sha256(b"abc").hexdigest(), 3)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import IO, Any

__all__ = ["CHUNK", "fill", "hash_stream", "read_into"]

CHUNK = 8 * 2**20
"""Bytes per read, and the default checkpoint interval: large enough that a read costs
little per byte, small enough that three pieces in flight stay small (24 MiB)."""


def read_into(src: IO[bytes], buffer: memoryview) -> int:
    """Read from ``src`` into ``buffer`` (one call); 0 at the end of the file.

    Examples
    --------
    >>> import io
    >>> buf = memoryview(bytearray(4))
    >>> read_into(io.BytesIO(b"ab"), buf), bytes(buf[:2])
    (2, b'ab')
    """
    readinto = getattr(src, "readinto", None)  # IO[bytes] does not promise readinto
    if readinto is not None:
        return int(readinto(buffer) or 0)
    chunk = src.read(len(buffer))
    buffer[: len(chunk)] = chunk
    return len(chunk)


def fill(src: IO[bytes], view: memoryview) -> int:
    """Read into ``view`` until it is full or the file ends; the number of bytes read.

    Bounded: each pass reads at least one byte or stops.

    Examples
    --------
    >>> import io
    >>> fill(io.BytesIO(b"abc"), memoryview(bytearray(8)))
    3
    """
    filled = 0
    while filled < len(view) and (n := read_into(src, view[filled:])):
        filled += n
    return filled


def hash_stream(
    src: IO[bytes],
    callback: Any = None,
    sink: Callable[[memoryview], Any] | None = None,
    limit: int | None = None,
) -> tuple[str, int]:
    """The sha256 hex digest and size of what ``src`` has left; each chunk also to ``sink``.

    One buffer is filled in place for the whole file (no new bytes object per chunk).
    With ``limit``, at most that many bytes are read (a blob replaced by an endless
    stream, such as a link to ``/dev/zero``, then ends there: its size tells it apart).
    ``callback`` is an fsspec-style progress callback (``relative_update(n)``).

    Examples
    --------
    >>> import hashlib, io
    >>> hash_stream(io.BytesIO(b"abc")) == (hashlib.sha256(b"abc").hexdigest(), 3)
    True
    """
    h = hashlib.sha256()
    size = 0
    buffer = memoryview(bytearray(CHUNK))
    # Bound: each pass reads at least one byte (or stops), and at most ``limit`` in all.
    while n := read_into(src, buffer if limit is None else buffer[: max(0, limit - size)]):
        chunk = buffer[:n]
        h.update(chunk)
        size += n
        if sink is not None:
            sink(chunk)
        if callback is not None:
            callback.relative_update(n)
    return h.hexdigest(), size
