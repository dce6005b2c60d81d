"""Test doubles for the storage seam; they import nothing from pytest.

:class:`MemoryStore` is a plain in-memory :class:`~modelship.registry.Store` written only
against the public protocol (the registry conformance suite runs on it, which proves the
registry has no private back door into :class:`~modelship.registry.FsspecStore`).
:class:`HookStore` wraps any store, runs a hook before chosen calls, and has exactly the
optional capabilities of the store it wraps.
"""

from __future__ import annotations

import builtins
import io
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from modelship.errors import StoreError
from modelship.registry import AbortsUploads, BlobWriter, KnowsLocation, LocalBlobs, Store

__all__ = ["CaseFoldingStore", "HookStore", "MemoryStore"]


class _MemoryBlobWriter:
    """Stages bytes in memory; ``publish`` makes them visible under a key at once."""

    def __init__(self, store: MemoryStore, callback: Any) -> None:
        self._store = store
        self._callback = callback
        self._buffer: bytearray | None = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        if self._buffer is None:
            raise StoreError("this blob writer is closed (published or discarded)")
        self._buffer += data
        n = len(memoryview(data).cast("B"))
        if self._callback is not None:
            self._callback.relative_update(n)
        return n

    def publish(self, key: str) -> bool:
        if self._buffer is None:
            raise StoreError("this blob writer is closed (published or discarded)")
        data, self._buffer = bytes(self._buffer), None
        try:
            self._store.create(key, data, allow_empty=True)
        except FileExistsError:
            return False
        return True

    def discard(self) -> None:
        self._buffer = None


class MemoryStore:
    """A :class:`~modelship.registry.Store` in a dict, for tests; safe across threads.

    Every operation holds one lock, so :meth:`create` is an honest exclusive create among
    the threads of this process (``exclusive_creates`` is True). It has no optional
    capabilities.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.Registry(MemoryStore())
    >>> reg.register(model_name="m", model=b"x", serializer="bytes").version
    '1'
    >>> reg.load("m")
    b'x'
    """

    exclusive_creates = True

    def __init__(self, url: str = "test-memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float]] = {}

    def read(self, key: str) -> bytes:
        with self._lock:
            if key not in self._data:
                raise FileNotFoundError(key)
            return self._data[key][0]

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        with self._lock:
            return {k: self._data[k][0] for k in keys if k in self._data}

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        if not data and not allow_empty:
            raise StoreError(f"refusing to create {key!r} with no bytes")
        with self._lock:
            if key in self._data:
                raise FileExistsError(key)
            self._data[key] = (bytes(data), time.time())

    def replace(self, key: str, data: bytes) -> None:
        with self._lock:
            self._data[key] = (bytes(data), time.time())

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._data

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/" if prefix else ""
        with self._lock:
            return sorted(
                {k[len(base) :].split("/", 1)[0] for k in self._data if k.startswith(base)}
            )

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        return _MemoryBlobWriter(self, callback)

    def open_blob(self, key: str) -> IO[bytes]:
        return io.BytesIO(self.read(key))

    def size(self, key: str) -> int:
        return len(self.read(key))

    def modified(self, key: str) -> float:
        with self._lock:
            if key not in self._data:
                raise FileNotFoundError(key)
            return self._data[key][1]


class CaseFoldingStore(MemoryStore):
    """A :class:`MemoryStore` that behaves like a case-insensitive file system.

    Keys that differ only in case are one key (stored under the spelling of its first
    create, as macOS and Windows keep it), and a key cannot be both a document and a
    folder of other keys: creating ``a/B`` when ``a/b/c`` exists, or the other way round,
    raises :class:`~modelship.StoreError`, as a file system refuses a file where a folder
    is. Use it to check that a layout has no two names that collide under case folding.

    Examples
    --------
    >>> store = CaseFoldingStore()
    >>> store.create("models/Fraud/x.json", b"1")
    >>> store.exists("models/fraud/x.json"), store.list("models")
    (True, ['Fraud'])
    >>> store.create("models/FRAUD", b"2")
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: cannot create 'models/FRAUD': a folder of that name ...
    """

    def _fold(self, key: str) -> str:
        folded = key.casefold()
        for existing in self._data:
            if existing.casefold() == folded:
                return existing
        return key

    def _check_shape(self, key: str) -> None:
        folded = key.casefold()
        for existing in self._data:
            other = existing.casefold()
            if other.startswith(folded + "/"):
                raise StoreError(f"cannot create {key!r}: a folder of that name exists")
            if folded.startswith(other + "/"):
                raise StoreError(f"cannot create {key!r}: {existing!r} is a file, not a folder")

    def read(self, key: str) -> bytes:
        with self._lock:
            key = self._fold(key)
        return super().read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        out = {}
        for key in keys:
            try:
                out[key] = self.read(key)
            except FileNotFoundError:
                continue
        return out

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        with self._lock:
            folded = self._fold(key)
            if folded in self._data:
                raise FileExistsError(key)
            self._check_shape(key)
        super().create(key, data, allow_empty=allow_empty)

    def replace(self, key: str, data: bytes) -> None:
        with self._lock:
            key = self._fold(key)
            if key not in self._data:
                self._check_shape(key)
        super().replace(key, data)

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._fold(key) in self._data

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/").casefold() + "/" if prefix else ""
        with self._lock:
            names: dict[str, str] = {}
            for k in self._data:
                if k.casefold().startswith(base):
                    part = k[len(base) :].split("/", 1)[0]
                    names.setdefault(part.casefold(), part)
        return sorted(names.values())

    def delete(self, key: str) -> None:
        with self._lock:
            key = self._fold(key)
        super().delete(key)

    def modified(self, key: str) -> float:
        with self._lock:
            key = self._fold(key)
        return super().modified(key)


class HookStore:
    """A :class:`~modelship.registry.Store` wrapper that runs a hook before chosen calls.

    ``before(operation, key)`` runs before every call (``operation`` is the method's name;
    ``read_many`` runs it as ``"read"`` once per key, ``list`` with the prefix as key);
    ``before_create(key)`` before each create only. Lets a test make two writers
    interleave exactly (the hook of one runs the other), without sleeping or hoping for
    a race. It has exactly the optional capabilities
    (:class:`~modelship.registry.LocalBlobs`, :class:`~modelship.registry.AbortsUploads`,
    :class:`~modelship.registry.KnowsLocation`) of the store it wraps, and forwards them.

    Examples
    --------
    >>> from modelship.registry import FsspecStore, LocalBlobs
    >>> seen = []
    >>> store = HookStore(FsspecStore.from_url("memory://hookstore-doc"),
    ...                   before_create=lambda key: seen.append(key))
    >>> store.create("k", b"1"); seen
    ['k']
    >>> isinstance(store, LocalBlobs)
    False
    """

    def __new__(cls, inner: Store, **hooks: Any) -> HookStore:
        made = _with_capabilities_of(inner) if cls is HookStore else cls
        return super().__new__(made)

    def __init__(
        self,
        inner: Store,
        *,
        before_create: Callable[[str], None] | None = None,
        before: Callable[[str, str], None] | None = None,
    ):
        self.inner = inner
        self.before_create = before_create
        self.before = before
        self.url = inner.url
        self.exclusive_creates = inner.exclusive_creates

    def _hook(self, operation: str, key: str) -> None:
        """Run ``before(operation, key)`` (every call) and ``before_create(key)``."""
        if self.before is not None:
            self.before(operation, key)
        if operation == "create" and self.before_create is not None:
            self.before_create(key)

    def create(self, key: str, data: bytes) -> None:
        self._hook("create", key)
        self.inner.create(key, data)

    def read(self, key: str) -> bytes:
        self._hook("read", key)
        return self.inner.read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = builtins.list(keys)
        for key in keys:
            self._hook("read", key)
        return self.inner.read_many(keys)

    def replace(self, key: str, data: bytes) -> None:
        self._hook("replace", key)
        self.inner.replace(key, data)

    def exists(self, key: str) -> bool:
        self._hook("exists", key)
        return self.inner.exists(key)

    def list(self, prefix: str) -> builtins.list[str]:
        self._hook("list", prefix)
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._hook("delete", key)
        self.inner.delete(key)

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        return self.inner.blob_writer(callback)

    def open_blob(self, key: str) -> IO[bytes]:
        self._hook("open_blob", key)
        return self.inner.open_blob(key)

    def size(self, key: str) -> int:
        self._hook("size", key)
        return self.inner.size(key)

    def modified(self, key: str) -> float:
        self._hook("modified", key)
        return self.inner.modified(key)


class _ForwardsLocalBlobs(HookStore):
    inner: Any

    def local_path(self, key: str) -> str:
        path: str = self.inner.local_path(key)
        return path


class _ForwardsUploads(HookStore):
    inner: Any

    def incomplete_uploads(self, before: float) -> builtins.list[str]:
        found: builtins.list[str] = self.inner.incomplete_uploads(before)
        return found

    def abort_upload(self, upload: str) -> None:
        self.inner.abort_upload(upload)


class _ForwardsLocation(HookStore):
    inner: Any

    def location_exists(self) -> bool:
        self._hook("location_exists", "")
        return bool(self.inner.location_exists())


_CAPABILITIES: tuple[tuple[type, type[HookStore]], ...] = (
    (LocalBlobs, _ForwardsLocalBlobs),
    (AbortsUploads, _ForwardsUploads),
    (KnowsLocation, _ForwardsLocation),
)
_CLASSES: dict[tuple[type[HookStore], ...], type[HookStore]] = {}


def _with_capabilities_of(inner: Store) -> type[HookStore]:
    """The HookStore class with exactly the optional capabilities of ``inner``."""
    mixins = tuple(fwd for protocol, fwd in _CAPABILITIES if isinstance(inner, protocol))
    if not mixins:
        return HookStore
    if mixins not in _CLASSES:
        _CLASSES[mixins] = type("HookStore", mixins, {"__module__": HookStore.__module__})
    return _CLASSES[mixins]
