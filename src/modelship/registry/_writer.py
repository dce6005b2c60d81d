"""The hashing writer: an artifact is hashed (with prefix checkpoints) while it is stored.

:func:`store_blob` runs a serializer into a store's :class:`~modelship.registry.BlobWriter`
through a :class:`HashingWriter` and publishes the blob under its digest, so the artifact
is never held whole in memory and never read back to be hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import warnings
from collections.abc import Callable
from typing import Any

import attrs

from modelship._model_version import ArtifactRef
from modelship.errors import IntegrityError, RepairWarning, SerializationError, StoreError
from modelship.registry._integrity import stored_damage
from modelship.registry._layout import blob_key
from modelship.registry._progress import make_callback
from modelship.registry._protocols import ReplacesBlobs, Store
from modelship.registry._serializers import Serializer, library_versions_of

__all__ = ["HashingWriter", "store_blob"]


def _immutable(data: Any) -> bool:
    """Whether no one can change ``data``'s bytes: ``bytes``, or a view of ``bytes``."""
    if isinstance(data, bytes):
        return True
    return isinstance(data, memoryview) and isinstance(data.obj, bytes)


class HashingWriter:
    """A write-only binary stream that hashes and counts what passes into a blob writer.

    Hashing runs on a worker thread while the caller's thread writes the same chunk to the
    staging file: hashlib and file writes both release the GIL, so the two overlap and a
    large artifact costs about max(hash, write) instead of their sum. Small writes (pickle
    opcodes) are coalesced into 1 MiB chunks first. At most two chunks wait for the hasher,
    which bounds the extra memory; a large chunk is hashed while the caller prepares the
    next one. A large chunk in a buffer that could change (anything but ``bytes``) is
    copied into a reused buffer of the writer's first, so the bytes hashed are the bytes
    written even if another thread writes to the caller's array meanwhile. The worker
    starts with the first full chunk: a document smaller than one is hashed in the
    caller's thread at :meth:`close`, without a thread to start.

    ``observe``, if given, is called on the hashing thread with each chunk, in order, just
    after it is hashed (the artifact's scan for its requirements reads the very bytes the
    digest covers that way, instead of reading the stored blob back). It must be done with
    the chunk when it returns: the caller may reuse a mutable buffer then.
    """

    _COALESCE = 2**20

    def __init__(
        self,
        target: Any,
        checkpoint_every: int = 0,
        observe: Callable[[memoryview], None] | None = None,
    ) -> None:
        self._target = target
        self._hash = hashlib.sha256()
        self._every = checkpoint_every
        self._observe = observe
        self._hashed = 0
        self.checkpoints: list[str] = []
        self._pending = bytearray()
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._copies = [bytearray(), bytearray()]
        self._turn = 0
        self.size = 0

    def _hash_loop(self) -> None:
        while (chunk := self._queue.get()) is not None:
            try:
                self._update(chunk)
                if self._observe is not None:
                    self._observe(chunk)
            except BaseException as exc:  # pragma: no cover - hashlib does not fail
                self._failure = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _update(self, chunk: memoryview) -> None:
        """Hash ``chunk``, noting the digest of every prefix that ends on a checkpoint."""
        every = self._every
        while every and self._hashed // every != (self._hashed + len(chunk)) // every:
            take = every - self._hashed % every
            self._hash.update(chunk[:take])
            self._hashed += take
            chunk = chunk[take:]
            # A checkpoint is recorded only for a prefix shorter than the artifact; the last
            # one is dropped in close() if the artifact ends exactly on it.
            self.checkpoints.append(self._hash.copy().hexdigest()[:32])
        self._hash.update(chunk)
        self._hashed += len(chunk)

    def _emit(self, chunk: memoryview) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._hash_loop, name="modelship-hash", daemon=True
            )
            self._thread.start()
        self._queue.put(chunk)
        self._target.write(chunk)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if n < self._COALESCE:
            self._pending += view
            if len(self._pending) >= self._COALESCE:
                block, self._pending = self._pending, bytearray()
                self._emit(memoryview(block))
        else:
            if self._pending:
                block, self._pending = self._pending, bytearray()
                self._emit(memoryview(block))
            # The hasher and the file write read the chunk at the same time, so they must
            # read bytes nobody can change: an immutable ``bytes`` is used as it is; any
            # other buffer (a view of the caller's array, which another thread could be
            # writing to) is first copied into one of two buffers of ours, reused from one
            # large write to the next (a copy into warm memory: 0.04 s a GiB here, where
            # fresh memory costs 0.45 s). The copy of this chunk overlaps the hashing of
            # the last; the other buffer's chunk was hashed before the last was emitted.
            if not _immutable(data):
                view = self._private(view)
            self._queue.join()
            self._emit(view)
        self.size += n
        return n

    def _private(self, view: memoryview) -> memoryview:
        """A copy of ``view`` in the buffer the hasher is not reading."""
        turn = self._turn
        self._turn ^= 1
        if len(self._copies[turn]) < len(view):  # a new buffer, never a resize of a lent one
            self._copies[turn] = bytearray(len(view))
        out = memoryview(self._copies[turn])[: len(view)]
        out[:] = view
        return out

    def close(self) -> None:
        """Flush what is pending and wait for the hasher; idempotent."""
        if self._closed:
            return
        self._closed = True
        block, self._pending = memoryview(self._pending), bytearray()
        if self._thread is None:  # all of it is in the last chunk: hashed here
            if block:
                self._update(block)
                if self._observe is not None:
                    self._observe(block)
                self._target.write(block)
        else:
            if block:
                self._emit(block)
            self._queue.put(None)
            self._thread.join()
        if self._failure is not None:
            raise self._failure
        if self._every and self.checkpoints and self._hashed % self._every == 0:
            self.checkpoints.pop()  # the whole artifact: its digest covers it

    def flush(self) -> None:
        """Nothing to flush before :meth:`close`: the blob writer owns the file."""

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def digest(self) -> str:
        self.close()
        return "sha256:" + self._hash.hexdigest()


def store_blob(  # noqa: PLR0913 - store, object, serializer plus keyword-only progress and checkpoint settings
    store: Store,
    obj: Any,
    serializer: Serializer,
    *,
    progress: Any,
    what: str,
    checkpoint_every: int,
    max_checkpoints: int,
    observe: Callable[[memoryview], None] | None = None,
) -> ArtifactRef:
    """Serialise ``obj`` into ``store`` under its digest; the reference to it.

    Past ``max_checkpoints`` the reference keeps none (the manifest stays small and the
    artifact loads in two passes). Nothing is left visible if serialising fails.
    ``observe`` sees every byte of the artifact once, in order, as it is hashed (see
    :class:`HashingWriter`).

    When a blob is already stored under the digest, it is trusted only once its size and
    digest are checked; a damaged one (or a missing one, deleted meanwhile) is replaced by
    serialising ``obj`` again, with a :class:`~modelship.errors.RepairWarning` saying so.
    If that does not leave an intact blob, :class:`~modelship.IntegrityError` is raised
    and nothing is committed. The damaged blob stays in place while ``obj`` is serialised
    again (versions committed earlier may share it); see :func:`_write_blob` for how the
    good bytes take its place.
    """
    ref, created = _write_blob(
        store, obj, serializer, progress, what, every=checkpoint_every, observe=observe
    )
    if not created and (damage := stored_damage(store, ref.digest, ref.size)) is not None:
        again, _ = _write_blob(
            store, obj, serializer, False, what, every=checkpoint_every, over=ref.digest
        )
        if again.digest != ref.digest:
            raise SerializationError(
                f"serializer {serializer.name!r} wrote different bytes for {what} twice; "
                "cannot replace the damaged blob stored under its digest"
            )
        if (still := stored_damage(store, ref.digest, ref.size)) is not None:
            raise IntegrityError(
                f"the blob of {what} ({ref.digest}) was damaged ({damage}) and is still "
                f"damaged after writing it again ({still}); check the store"
            )
        warnings.warn(
            RepairWarning(
                f"the stored blob of {what} ({ref.digest}) was damaged ({damage}); it was "
                "replaced by the bytes being registered"
            ),
            stacklevel=4,
        )
    kept = len(ref.checkpoints) <= max_checkpoints
    return attrs.evolve(
        ref,
        checkpoint_every=checkpoint_every if kept else 0,
        checkpoints=ref.checkpoints if kept else (),
    )


def _write_blob(  # noqa: PLR0913 - internal step of store_blob taking the same inputs
    store: Store,
    obj: Any,
    serializer: Serializer,
    progress: Any,
    what: str,
    *,
    every: int,
    observe: Callable[[memoryview], None] | None = None,
    over: str | None = None,
) -> tuple[ArtifactRef, bool]:
    """Serialise ``obj`` into a blob; its reference, and whether it was created.

    ``over`` is the digest of a damaged blob these bytes replace. If they hash to it, a
    writer that :class:`~modelship.registry.ReplacesBlobs` puts them in its place in one
    step, so a reader of the key never finds it missing. Any other writer deletes the
    damaged blob and publishes, once the bytes are staged: readers find the key missing
    between the two calls, not while the artifact is serialised. Bytes that hash to
    another digest are published as a new blob, and the damaged one is left alone.
    """
    callback = make_callback(progress, desc=f"register {what}")
    writer = store.blob_writer(callback)
    hashing = HashingWriter(writer, every, observe)
    try:
        try:
            serializer.dump(obj, hashing)  # type: ignore[arg-type]
        except (SerializationError, StoreError):
            raise  # a full disk is the store's failure, not the serializer's
        except Exception as exc:
            raise SerializationError(
                f"serializer {serializer.name!r} could not write {what}: "
                f"{type(exc).__name__}: {exc}; {_remedy(serializer.name)}"
            ) from exc
        versions = library_versions_of(serializer)  # before publishing: no blob is left
        key = blob_key(hashing.digest)
        if over is not None and hashing.digest == over and isinstance(writer, ReplacesBlobs):
            writer.publish_over(key)
            created = True
        else:
            if over is not None and hashing.digest == over:
                store.delete(key)
            created = writer.publish(key)
    except BaseException:
        with contextlib.suppress(BaseException):
            hashing.close()
        writer.discard()
        raise
    finally:
        with contextlib.suppress(Exception):
            callback.close()
    ref = ArtifactRef(
        digest=hashing.digest,
        size=hashing.size,
        serializer=serializer.name,
        media_type=serializer.media_type,
        library_versions=versions,
        checkpoint_every=every,
        checkpoints=tuple(hashing.checkpoints),
    )
    return ref, created


def _remedy(serializer: str) -> str:
    """What to do when ``serializer`` could not write a model: the second half of its
    error message.

    Examples
    --------
    >>> _remedy("joblib").startswith("define the model's classes")
    True
    """
    if serializer == "joblib":
        return (
            "define the model's classes and functions at module level (not lambdas or "
            "classes defined inside a function), drop what cannot be pickled (open files, "
            "locks, connections) before registering, or register it with a serializer "
            "that can store it (serializer=..., see the Extending guide); nothing was "
            "registered"
        )
    return (
        "check that the object is what this serializer stores, or register it with another "
        "(serializer=..., see the Extending guide); nothing was registered"
    )
