"""Integrity: the one place that hashes stored bytes and checks them against a manifest.

Every byte a registry reads back from storage passes through here before anyone uses it,
in one of three shapes:

- :func:`~modelship._hashing.hash_stream` (from the leaf :mod:`modelship._hashing`,
  which also holds :data:`~modelship._hashing.CHUNK`, the one chunk size), the one sha256
  loop over a stream: the two-pass check (copy to a private spool while hashing,
  compare, then hand out the spool, never the stored file) and copying a blob between
  stores;
- :func:`read_verified`, one read into one new ``bytes`` object, which is then hashed:
  the bytes returned are the bytes hashed (raw-bytes artifacts, attachments);
- :func:`verify_blob`, one pass with one buffer, every checkpoint checked;
- :class:`VerifiedStream`, streaming verification: a deserialiser reads only bytes whose
  prefix digest is checked;
- :func:`mismatch`, the one message for bytes that do not match.

In each, what is used is what was hashed: nothing is read from storage a second time.

Streaming verification: a worker thread reads the artifact one checkpoint interval at a
time, hashes it and compares the digest of the prefix so far with the one the manifest
recorded (see :class:`~modelship.ArtifactRef`). Only then does it hand the piece to the
reading side. The deserialiser therefore never sees a byte that was not checked, yet it
works on piece ``k`` while piece ``k + 1`` is being hashed, so a load costs about
``max(hash, deserialise)`` rather than their sum. The bytes deserialised are the very bytes
hashed (one read of the store), so nothing can change between check and use.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import fsspec.spec

from modelship._hashing import CHUNK, fill, hash_stream, read_into
from modelship._model_version import ArtifactRef
from modelship.errors import IntegrityError, ModelshipError, StoreError
from modelship.registry._layout import blob_key
from modelship.registry._progress import make_callback
from modelship.registry._protocols import Store

__all__ = [
    "MAX_DOCUMENT",
    "GuardedFile",
    "VerifiedStream",
    "check_document",
    "checked_stream",
    "mismatch",
    "missing",
    "open_blob",
    "parse_json",
    "read_verified",
    "stored_damage",
    "too_large",
    "verified_file",
]

MAX_DOCUMENT = 64 * 2**20
"""The largest document (manifest, slot, alias entry, hint, snapshot) a store hands back.

Manifests are at most ~40 KiB (1,024 checkpoints) and snapshots grow by one manifest per
version; anything larger is damage (a key replaced by a link to ``/dev/zero`` would
otherwise be read until memory runs out)."""
_POOL = 3  # one piece being read, one being hashed, one handed over: memory 3 x interval


class GuardedFile(io.RawIOBase):
    """A store's open file whose read failures come out of ``guard``: as StoreErrors.

    A connection cut while s3fs reads an object's body raises aiohttp's
    ``ClientPayloadError``, which is neither an ``OSError`` nor a ``ModelshipError``:
    unwrapped, it escaped download, load, verify and copy as a traceback. ``guard`` is
    the store's context manager that turns any failure into a
    :class:`~modelship.errors.StoreError` naming the store and key. ``file`` is the file
    read, for what only it can tell (an fsspec file's size).
    """

    def __init__(
        self, file: IO[bytes], guard: Callable[[], contextlib.AbstractContextManager[Any]]
    ):
        super().__init__()
        self.file = file
        self._guard = guard

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self.file.seekable())

    def read(self, size: int | None = -1) -> bytes:
        with self._guard():  # the file's own read: one request for all that is asked
            return self.file.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        with self._guard():
            return read_into(self.file, memoryview(buffer).cast("B"))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._guard():
            return int(self.file.seek(offset, whence))

    def tell(self) -> int:
        return int(self.file.tell())

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):  # nothing is left to read, or to lose
                self.file.close()
        super().close()


def _fileno(src: IO[bytes]) -> int | None:
    """The descriptor of a local file that can be told to read ahead, else None."""
    if not hasattr(os, "posix_fadvise"):
        return None
    try:
        return src.fileno()
    except (AttributeError, OSError, ValueError):
        return None


class _ReadAhead(io.RawIOBase):
    """Reads a local file with ``pread``, asking the disk to read ahead only when it must.

    Each read first tries ``RWF_NOWAIT``, which succeeds only for bytes already in the
    page cache: a cached file then costs nothing more than a plain read. Where that read
    would wait for the disk, the next two :data:`CHUNK` are requested at once
    (``POSIX_FADV_WILLNEED``), so the disk fetches them while what came before is hashed.
    (Asking for a cached range is not free: the kernel walks its pages, about 5 % of a
    cached verify when asked for every 8 MiB.)
    """

    def __init__(self, fd: int, start: int) -> None:
        super().__init__()
        self._fd = fd
        self._at = start
        self._asked = start  # read-ahead requested up to here
        self._nowait = True

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._nowait:
            try:
                n = os.preadv(self._fd, [view], self._at, os.RWF_NOWAIT)
            except BlockingIOError:
                n = -1
            except OSError:  # a file system without RWF_NOWAIT: always ask
                self._nowait = False
                n = -1
        else:
            n = -1
        if n < 0:
            if self._at + CHUNK >= self._asked:
                with contextlib.suppress(OSError):
                    os.posix_fadvise(self._fd, self._at, 2 * CHUNK, os.POSIX_FADV_WILLNEED)
                self._asked = self._at + 2 * CHUNK
            n = os.preadv(self._fd, [view], self._at)
        self._at += n
        return n


def _reader(src: IO[bytes]) -> IO[bytes]:
    """``src``, or a :class:`_ReadAhead` over its descriptor where the system has one."""
    fd = _fileno(src)
    if fd is None or not hasattr(os, "preadv") or not hasattr(os, "RWF_NOWAIT"):
        return src
    try:
        start = src.tell()
    except (OSError, ValueError):
        return src
    return _ReadAhead(fd, start)  # type: ignore[return-value]


def check_document(data: bytes, what: str) -> bytes:
    """``data``, a document read from a store, if it is no longer than :data:`MAX_DOCUMENT`.

    The registry applies this limit itself to every document it parses, whatever store
    handed the bytes over: a store need not read with a limit (``FsspecStore`` does, a
    custom store or ``MemoryStore`` may not), and a document past it is damage, refused
    with :class:`~modelship.IntegrityError` before a parser spends time and memory on it.

    Examples
    --------
    >>> check_document(b"{}", "a hint")
    b'{}'
    >>> check_document(b" " * (MAX_DOCUMENT + 1), "hint models/m/HEAD")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: hint models/m/HEAD holds more than 67108864 bytes, ...
    """
    if len(data) > MAX_DOCUMENT:
        raise too_large(what)
    return data


def parse_json(data: bytes, what: str) -> Any:
    """A stored JSON document, or :class:`~modelship.IntegrityError` if it is not one.

    A document longer than :data:`MAX_DOCUMENT` is refused before it is parsed
    (:func:`check_document`).

    Examples
    --------
    >>> parse_json(b'{"n": 1}', "a hint")
    {'n': 1}

    A number that is not finite (``NaN``, ``Infinity``, or ``1e999``, which reads as
    infinity) is not strict JSON and no document the registry writes holds one: it is
    damage, refused here, before a signature is computed over it.

    >>> parse_json(b'{"n": NaN}', "sequence slot models/m/slots/000000000001.json")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: sequence slot models/m/slots/000000000001.json holds ...
    """
    check_document(data, what)
    try:
        return json.loads(data, parse_constant=_non_finite, parse_float=_finite_float)
    except _NonFiniteNumber as exc:
        raise IntegrityError(
            f"{what} holds the number {exc.text[:40]}, which is not finite: no document the "
            "registry writes holds NaN or infinity, so it was damaged or tampered with. "
            "Restore it from a copy"
        ) from None
    except (ValueError, RecursionError) as exc:  # deep nesting: damage, not ours
        raise IntegrityError(f"{what} is not valid JSON: {exc}") from exc


class _NonFiniteNumber(Exception):
    """A non-finite number met while parsing a stored document (turned into damage)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _non_finite(text: str) -> float:
    raise _NonFiniteNumber(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: a literal too large for a float
        raise _NonFiniteNumber(text)
    return value


def too_large(key: str) -> IntegrityError:
    """The error for a document at ``key`` larger than :data:`MAX_DOCUMENT`."""
    return IntegrityError(
        f"{key} holds more than {MAX_DOCUMENT} bytes, more than any document a registry "
        "writes: it was damaged or tampered with. Restore it from a copy"
    )


def mismatch(what: str, ref: ArtifactRef, detail: str) -> IntegrityError:
    """The error for stored bytes of ``what`` that do not match ``ref``."""
    return IntegrityError(
        f"the artifact of {what} does not match its manifest ({ref.digest}, {ref.size} "
        f"bytes): {detail}. It was changed or damaged in storage; do not load it"
    )


def check_whole(what: str, ref: ArtifactRef, hexdigest: str, size: int) -> None:
    """Raise :func:`mismatch` unless ``hexdigest`` and ``size`` are those of ``ref``."""
    if "sha256:" + hexdigest != ref.digest or size != ref.size:
        raise mismatch(what, ref, f"found sha256:{hexdigest} ({size} bytes)")


def missing(what: str, ref: ArtifactRef) -> IntegrityError:
    """The error for a blob of ``what`` that is not in the store."""
    return IntegrityError(f"the artifact of {what} ({ref.digest}) is missing from the store")


def stored_damage(store: Store, digest: str, size: int | None) -> str | None:
    """What is wrong with the blob stored under ``digest`` (None if it is intact).

    The size is compared first (one cheap request), then every byte is hashed. Used
    before trusting a blob that is already stored instead of uploading the bytes at hand.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> store.create(blob_key("sha256:" + hashlib.sha256(b"x").hexdigest()), b"y")
    >>> stored_damage(store, "sha256:" + hashlib.sha256(b"x").hexdigest(), 1)
    'its bytes have the digest sha256:a1fce...'
    """
    key = blob_key(digest)
    try:
        with store.open_blob(key) as f:
            found = _stored_size(store, key, f)
            if size is not None and found != size:
                return f"it holds {found} bytes, not {size}"
            hexdigest, read = hash_stream(f, limit=None if size is None else size + 1)
        if size is not None and read != size:
            return f"it holds {read} bytes, not {size}"
    except FileNotFoundError:
        return "it is missing"
    if "sha256:" + hexdigest != digest:
        return f"its bytes have the digest sha256:{hexdigest[:5]}..."
    return None


def open_blob(store: Store, ref: ArtifactRef, what: str) -> IO[bytes]:
    """Open the blob of ``ref``, or say that it is missing."""
    try:
        return store.open_blob(blob_key(ref.digest))
    except FileNotFoundError:
        raise missing(what, ref) from None


@contextlib.contextmanager
def verified_file(store: Store, ref: ArtifactRef, what: str, progress: Any) -> Iterator[IO[bytes]]:
    """Yield a private temporary file of the blob's bytes, checked against ``ref`` first.

    The blob is copied to the private file while it is hashed, wherever it is stored
    (local disk too), so the bytes handed out are exactly the bytes checked: a blob
    rewritten in storage after the check cannot reach the deserialiser.
    """
    callback = make_callback(progress, desc=f"load {what}", total=ref.size)
    src = open_blob(store, ref, what)
    spool: IO[bytes] | None = None
    try:
        try:
            spool = tempfile.TemporaryFile(prefix="modelship-")  # noqa: SIM115
        except OSError as exc:
            raise StoreError(
                f"could not make a private temporary file for the artifact of {what} in "
                f"{tempfile.gettempdir()}: {exc}; free space there or point TMPDIR elsewhere"
            ) from exc
        try:
            hexdigest, size = hash_stream(src, callback, spool.write, limit=ref.size + 1)
        except OSError as exc:
            raise StoreError(f"could not read the artifact of {what}: {exc}") from exc
        check_whole(what, ref, hexdigest, size)
        spool.seek(0)
        yield spool
    finally:
        src.close()
        if spool is not None:
            spool.close()
        with contextlib.suppress(Exception):
            callback.close()


def _stored_size(store: Store, key: str, src: IO[bytes]) -> int:
    """The size of the blob at ``key``, open as ``src``: of the open file itself if it can tell.

    A local file is sized by its descriptor (the very file being read, not a path looked
    up again). An fsspec file of an object store knows the size its open looked up (on
    S3, the HEAD before the GET), so asking the store again would cost one more request
    for the same answer. Any other file object: the store is asked.
    """
    if isinstance(src, GuardedFile):
        src = src.file
    fd = _fileno(src) if hasattr(os, "fstat") else None
    if fd is not None:
        return os.fstat(fd).st_size
    if isinstance(src, fsspec.spec.AbstractBufferedFile) and type(src.size) is int:
        return src.size
    return store.size(key)


def read_verified(store: Store, ref: ArtifactRef, what: str, progress: Any = False) -> bytes:
    """The whole blob of ``ref``, read once into memory and checked: no copy, no second read.

    The store's size is compared first (a damaged manifest may claim any size: nothing
    is allocated for more than the blob holds). Then the blob is read in one call into
    one new ``bytes`` object, and that object is hashed. The bytes returned are therefore
    exactly the bytes hashed: they are private to this call and immutable, so a blob
    rewritten in storage during or after the read either fails the check or is not what
    is returned. Used for raw-bytes artifacts and attachments.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> ref = ArtifactRef("sha256:" + hashlib.sha256(b"x").hexdigest(), 1, "bytes", "-")
    >>> store.create(blob_key(ref.digest), b"x")
    >>> read_verified(store, ref, "m 1")
    b'x'
    """
    callback = make_callback(progress, desc=f"load {what}", total=ref.size)
    src = open_blob(store, ref, what)
    try:
        try:
            found = _stored_size(store, blob_key(ref.digest), src)
            if found != ref.size:
                raise mismatch(what, ref, f"it holds {found} bytes")
            # One byte more than expected finds a blob that grew since it was sized.
            data = _read_exactly(src, ref.size + 1)
        except OSError as exc:
            raise StoreError(f"could not read the artifact of {what}: {exc}") from exc
        h = hashlib.sha256()
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):  # in pieces only to report progress
            piece = view[start : start + CHUNK]
            h.update(piece)
            callback.relative_update(len(piece))
        check_whole(what, ref, h.hexdigest(), len(data))
        return data
    finally:
        src.close()
        with contextlib.suppress(Exception):
            callback.close()


def _read_exactly(src: IO[bytes], n: int) -> bytes:
    """Up to ``n`` bytes of ``src``, fewer only at its end; one read call in the usual case.

    Buffered files, ``BytesIO`` and fsspec files return all that is asked for in one
    call (straight into the new object); a raw stream that returns less is read on.
    """
    data = src.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n and (more := src.read(n - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)


@contextlib.contextmanager
def checked_stream(
    store: Store, ref: ArtifactRef, what: str, progress: Any
) -> Iterator[VerifiedStream]:
    """A :class:`VerifiedStream` over the blob of ``ref``; its worker ends on exit.

    The stored size is compared with the manifest's first: the stream's buffers are as
    large as a checkpoint interval, up to the artifact's size, and a damaged manifest may
    claim any size (2**40 bytes made a ``MemoryError``). Nothing is allocated for more
    than the blob holds. A blob longer than its manifest says costs no more than the
    manifest's size: the stream finds it, as it finds every other damage.
    """
    callback = make_callback(progress, desc=f"load {what}", total=ref.size)
    src = open_blob(store, ref, what)
    stream: VerifiedStream | None = None
    try:
        try:
            found = _stored_size(store, blob_key(ref.digest), src)
        except OSError as exc:
            raise StoreError(f"could not size the artifact of {what}: {exc}") from exc
        if found < ref.size:  # worded as the stream words a short blob
            raise mismatch(what, ref, f"found {found} bytes")
        stream = VerifiedStream(src, ref, what, callback)
        yield stream
    finally:
        if stream is not None:
            stream.stop()
        src.close()
        with contextlib.suppress(Exception):
            callback.close()


def verify_blob(store: Store, ref: ArtifactRef, what: str) -> None:
    """Check every byte of the blob of ``ref``, and each of its checkpoints, in one pass.

    One thread, one buffer filled in place: reading a cached file costs a fraction of
    hashing it, so a worker thread or a copy would only add to the hash's own time. The
    checkpoints are checked too, so that what verify passes, load reads.
    """
    src = open_blob(store, ref, what)
    try:
        try:
            hexdigest, size = _hash_checked(src, ref, what)
        except OSError as exc:
            raise StoreError(f"could not read the artifact of {what}: {exc}") from exc
    finally:
        src.close()
    check_whole(what, ref, hexdigest, size)


_VERIFY_READ = 2**18
"""Bytes per read of a local file in :func:`verify_blob`: a buffer that stays in the CPU's
cache between the read that fills it and the hash that reads it (as
``hashlib.file_digest``'s does). Other stores are read :data:`CHUNK` at a time, as each
read may be a request (one ranged GET on S3).

A local file is read with plain reads, the kernel reading ahead on its own (the store
opens blobs with ``POSIX_FADV_SEQUENTIAL``), exactly as ``hashlib.file_digest`` reads:
with :class:`_ReadAhead`'s ``RWF_NOWAIT`` reads and read-ahead requests of its own, a
verify of a file not in the page cache took 1.35-1.48x ``file_digest`` of the same file
at 64-256 MiB (2-core VM, best of 7-9 interleaved), with plain reads 0.91-1.05x; a cached
file costs the same either way."""


def _hash_checked(src: IO[bytes], ref: ArtifactRef, what: str) -> tuple[str, int]:
    """The sha256 and size of ``src`` (at most ``ref.size + 1`` bytes), checkpoints checked."""
    every = ref.checkpoint_every
    # Small reads only from a local file: each read of a remote file is a request.
    h = hashlib.sha256()
    buffer = memoryview(bytearray(_VERIFY_READ if _fileno(src) is not None else CHUNK))
    limit = ref.size + 1  # one byte more finds a longer blob
    total = 0
    while total < limit:
        want = min(len(buffer), limit - total)
        if every and total < ref.size:
            want = min(want, every - total % every)  # stop on each checkpoint
        n = read_into(src, buffer[:want])
        if not n:
            break
        h.update(buffer[:n])
        total += n
        if every and total % every == 0 and total < ref.size:
            index = total // every - 1
            if index >= len(ref.checkpoints) or (
                h.copy().hexdigest()[:32] != ref.checkpoints[index]
            ):
                raise mismatch(what, ref, f"its first {total} bytes have a different digest")
    return h.hexdigest(), total


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
        src = _reader(self._src)
        h = hashlib.sha256()
        total = 0
        while (buffer := self._free.get()) is not None:
            view = memoryview(buffer)
            n = fill(src, view)
            total += n
            h.update(view[:n])
            last = n < len(view) or total >= ref.size
            if not last:
                if h.copy().hexdigest()[:32] != ref.checkpoints[total // every - 1]:
                    raise mismatch(
                        self._what, ref, f"its first {total} bytes have a different digest"
                    )
            elif total != ref.size or fill(src, memoryview(bytearray(1))):
                found = f"{total} bytes" if total < ref.size else "more bytes than that"
                raise mismatch(self._what, ref, f"found {found}")
            elif "sha256:" + h.hexdigest() != ref.digest:
                raise mismatch(self._what, ref, f"found sha256:{h.hexdigest()}")
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
