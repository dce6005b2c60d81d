"""The load routes: from a verified artifact to a model, the fastest safe way for each case.

1. **Streaming**: an artifact with checkpoints and a serializer that declares
   ``reads_sequentially`` is deserialised piece by piece, each piece only once its prefix
   digest is checked (:class:`~modelship.registry._integrity.VerifiedStream`).
2. **Raw bytes on local disk**: bytes run no code, so a store with
   :class:`~modelship.registry.LocalBlobs` reads them while a worker hashes the same file;
   they are returned only if the check passes.
3. **Two passes**: everything else is checked whole first, then deserialised.

In every route no code runs on a byte that was not checked.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import Any

from modelship.errors import SerializationError, StoreError
from modelship.registry._integrity import (
    check_whole,
    checked_stream,
    hash_fd,
    local_path,
    mismatch,
    missing,
    verified_file,
)
from modelship.registry._progress import make_callback
from modelship.registry._protocols import Store
from modelship.registry._serializers import BytesSerializer, Serializer
from modelship.version import ArtifactRef

__all__ = ["load_artifact"]


def _unreadable(codec: Serializer, what: str, exc: Exception) -> SerializationError:
    return SerializationError(
        f"serializer {codec.name!r} could not read {what}: {type(exc).__name__}: {exc}"
    )


def load_artifact(
    store: Store, ref: ArtifactRef, codec: Serializer, what: str, progress: Any
) -> Any:
    """The object ``codec`` reads from the blob of ``ref``, every byte checked first."""
    if ref.checkpoint_every and codec.reads_sequentially:
        return _load_streaming(store, codec, ref, what, progress)
    if isinstance(codec, BytesSerializer) and hasattr(os, "pread"):
        path = local_path(store, ref)
        if path is not None:
            return _load_local_bytes(path, ref, what, progress)
    with verified_file(store, ref, what, progress) as f:
        try:
            return codec.load(f)
        except Exception as exc:
            raise _unreadable(codec, what, exc) from exc


def _load_local_bytes(path: str, ref: ArtifactRef, what: str, progress: Any) -> bytes:
    """Read raw bytes from a local blob while a worker thread hashes the same file.

    Raw bytes run no code, so nothing is at stake in reading them before the check
    ends; the result is returned only if the check passes. The file is read twice, side
    by side, just as the check-then-read passes read it twice one after the other.
    """
    callback = make_callback(progress, desc=f"load {what}", total=ref.size)
    found: list[tuple[str, int]] = []
    failed: list[BaseException] = []
    try:
        src = open(path, "rb")  # noqa: SIM115 - closed below, after the worker
    except FileNotFoundError:
        raise missing(what, ref) from None
    if hasattr(os, "posix_fadvise"):
        # Read front to back: a larger read-ahead when the blob is not cached.
        with contextlib.suppress(OSError):
            os.posix_fadvise(src.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def check() -> None:
        try:
            found.append(hash_fd(src.fileno(), callback, limit=ref.size + 1))
        except BaseException as exc:
            failed.append(exc)

    worker = threading.Thread(target=check, name="modelship-verify", daemon=True)
    try:
        worker.start()
        # One object, filled in place; one byte more than expected finds a longer file.
        # Never more than the file holds (a damaged manifest may claim any size).
        data = src.read(min(ref.size, os.fstat(src.fileno()).st_size) + 1)
    finally:
        worker.join()
        src.close()
        with contextlib.suppress(Exception):
            callback.close()
    if failed:
        raise StoreError(f"could not read the artifact of {what}: {failed[0]}") from failed[0]
    hexdigest, size = found[0]
    check_whole(what, ref, hexdigest, size)
    if len(data) != ref.size:  # the file changed between the two reads
        raise mismatch(what, ref, f"read {len(data)} bytes")
    return data


def _load_streaming(
    store: Store, codec: Serializer, ref: ArtifactRef, what: str, progress: Any
) -> Any:
    """Deserialise piece by piece, each piece only once its prefix digest is checked."""
    with checked_stream(store, ref, what, progress) as stream:
        try:
            model = codec.load(io.BufferedReader(stream))
        except Exception as exc:
            # A damaged artifact is reported as such, wherever the deserialiser stopped.
            stream.finish()
            raise _unreadable(codec, what, exc) from exc
        stream.finish()
        return model
