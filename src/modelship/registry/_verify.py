"""Streaming verification: a deserialiser reads only bytes whose prefix digest is checked.

A worker thread reads the artifact one checkpoint interval at a time, hashes it and compares
the digest of the prefix so far with the one the manifest recorded (see
:class:`~modelship.version.ArtifactRef`). Only then does it hand the piece to the reading
side. The deserialiser therefore never sees a byte that was not checked, yet it works on
piece ``k`` while piece ``k + 1`` is being hashed, so a load costs about
``max(hash, deserialise)`` rather than their sum. The bytes deserialised are the very bytes
hashed (one read of the store), so nothing can change between check and use.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
from typing import IO, Any

from modelship.errors import IntegrityError, ModelshipError, StoreError
from modelship.version import ArtifactRef

__all__ = ["VerifiedStream"]

_POOL = 3  # one piece being read, one being hashed, one handed over: memory 3 x interval


def _read_into(src: IO[bytes], buffer: memoryview) -> int:
    """Read from ``src`` into ``buffer`` (one call); 0 at the end of the file."""
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        return int(readinto(buffer) or 0)
    chunk = src.read(len(buffer))
    buffer[: len(chunk)] = chunk
    return len(chunk)


def _fill(src: IO[bytes], view: memoryview) -> int:
    """Read into ``view`` until it is full or the file ends; the number of bytes read."""
    filled = 0
    while filled < len(view) and (n := _read_into(src, view[filled:])):
        filled += n
    return filled


def _fileno(src: IO[bytes]) -> int | None:
    """The descriptor of a local file that can be told to read ahead, else None."""
    if not hasattr(os, "posix_fadvise"):
        return None
    try:
        return src.fileno()
    except (AttributeError, OSError, ValueError):
        return None


class VerifiedStream(io.RawIOBase):
    """A read-only stream over ``src`` that yields only checked bytes of ``ref``.

    Raises :class:`~modelship.IntegrityError` from ``readinto`` at the first piece that
    does not match the manifest. Call :meth:`finish` after deserialising: it checks the
    rest of the artifact (and its total size and digest) even if the reader stopped early,
    then :meth:`stop`. Seeking works backwards within the current piece and anywhere
    forwards.
    """

    def __init__(self, src: IO[bytes], ref: ArtifactRef, what: str, callback: Any) -> None:
        super().__init__()
        if not ref.checkpoint_every:
            raise ValueError("VerifiedStream needs an artifact with checkpoints")
        self._src = src
        self._ref = ref
        self._what = what
        self._callback = callback
        self._ready: queue.Queue[tuple[bytearray, int] | BaseException | None] = queue.Queue()
        self._free: queue.Queue[bytearray | None] = queue.Queue()
        piece = max(1, min(ref.checkpoint_every, ref.size))
        self._buffer: bytearray | None = None
        self._view: memoryview | None = None
        self._at = 0
        self._pos = 0
        self._done = False
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if ref.size <= ref.checkpoint_every:
            # One piece: check it here; a thread would only add its start-up time.
            self._free.put(bytearray(piece))
            self._produce()
        else:
            for _ in range(_POOL):
                self._free.put(bytearray(piece))
            self._thread = threading.Thread(
                target=self._produce, name="modelship-verify", daemon=True
            )
            self._thread.start()

    # --- the checking side (worker thread) -----------------------------------------------

    def _mismatch(self, detail: str) -> IntegrityError:
        ref = self._ref
        return IntegrityError(
            f"the artifact of {self._what} does not match its manifest ({ref.digest}, "
            f"{ref.size} bytes): {detail}. It was changed or damaged in storage; do not load it"
        )

    def _produce(self) -> None:
        try:
            self._check_pieces()
        except ModelshipError as exc:
            self._ready.put(exc)
        except Exception as exc:
            failure = StoreError(f"could not read the artifact of {self._what}: {exc}")
            failure.__cause__ = exc
            self._ready.put(failure)

    def _check_pieces(self) -> None:
        ref, every = self._ref, self._ref.checkpoint_every
        fd = _fileno(self._src)
        h = hashlib.sha256()
        total = 0
        while (buffer := self._free.get()) is not None:
            view = memoryview(buffer)
            n = _fill(self._src, view)
            total += n
            if fd is not None and n == len(view):
                # Have the disk fetch the next pieces while this one is hashed.
                with contextlib.suppress(OSError):
                    os.posix_fadvise(fd, total, 2 * every, os.POSIX_FADV_WILLNEED)
            h.update(view[:n])
            last = n < len(view) or total >= ref.size
            if not last:
                if h.copy().hexdigest()[:32] != ref.checkpoints[total // every - 1]:
                    raise self._mismatch(f"its first {total} bytes have a different digest")
            elif total != ref.size or _fill(self._src, memoryview(bytearray(1))):
                found = f"{total} bytes" if total < ref.size else "more bytes than that"
                raise self._mismatch(f"found {found}")
            elif "sha256:" + h.hexdigest() != ref.digest:
                raise self._mismatch(f"found sha256:{h.hexdigest()}")
            self._callback.relative_update(n)
            self._ready.put((buffer, n))
            if last:
                self._ready.put(None)
                return

    # --- the reading side (the deserialiser's thread) ------------------------------------

    def _piece(self) -> memoryview | None:
        """The current checked piece with bytes left in it, or None at the end."""
        while self._view is None or self._at >= len(self._view):
            if self.error is not None:
                raise self.error
            if self._done:
                return None
            if self._buffer is not None:
                self._free.put(self._buffer)
                self._buffer = self._view = None
            item = self._ready.get()
            if item is None:
                self._done = True
                return None
            if isinstance(item, BaseException):
                self.error = item
                raise item
            self._buffer, n = item
            self._view = memoryview(self._buffer)[:n]
            self._at = 0
        return self._view

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: Any) -> int:
        view = self._piece()
        if view is None:
            return 0
        out = memoryview(b).cast("B")
        n = min(len(out), len(view) - self._at)
        out[:n] = view[self._at : self._at + n]
        self._at += n
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._ref.size}[whence]
        target = base + offset
        delta = target - self._pos
        if delta < 0 and (self._view is None or -delta > self._at):
            raise io.UnsupportedOperation(
                f"a verified artifact stream reads front to back: it cannot go back from "
                f"byte {self._pos} to byte {target}"
            )
        while delta > 0 and (view := self._piece()) is not None:
            step = min(delta, len(view) - self._at)
            self._at += step
            self._pos += step
            delta -= step
        if delta < 0:
            self._at += delta
            self._pos += delta
        return self._pos

    def finish(self) -> None:
        """Check whatever the reader left unread; raise IntegrityError if it is wrong."""
        while (view := self._piece()) is not None:
            self._pos += len(view) - self._at
            self._at = len(view)

    def stop(self) -> None:
        """End the checking early (or after :meth:`finish`): the worker thread exits.

        ``close`` does not do this, so a deserialiser that closes its stream does not stop
        the check that :meth:`finish` completes.
        """
        # Wake a worker waiting for a free buffer; it stops instead of reading on.
        self._free.put(None)
        if self._thread is not None:
            self._thread.join()
        self._done = True
        self._buffer = self._view = None
        self.close()
