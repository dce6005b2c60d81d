"""Test doubles for the storage seam; they import nothing from pytest.

:class:`MemoryStore` is a plain in-memory :class:`~modelship.registry.Store` written only
against the public protocol (the registry conformance suite runs on it, which proves the
registry has no private back door into :class:`~modelship.registry.FsspecStore`).
:class:`CaseFoldingStore` adds the rules of a case-insensitive disk. :class:`HookStore`
wraps any store, runs a hook before chosen calls, and has exactly the optional
capabilities of the store it wraps.

Each double answers as the real store it stands for: every check and the change it
guards happen in one hold of the store's lock, so an exclusive create stays exclusive
whatever the threads do, and misuse raises :class:`~modelship.errors.StoreError` as
:class:`~modelship.registry.FsspecStore` does.
"""

from __future__ import annotations

import builtins
import io
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from modelship._shown import brief
from modelship.errors import ConfigError, StoreError
from modelship.registry import (
    AbortsUploads,
    BlobWriter,
    KnowsLocation,
    LocalBlobs,
    ReplacesBlobs,
    Store,
)

__all__ = ["CaseFoldingStore", "HookStore", "MemoryStore"]


def _as_bytes(data: Any, what: str) -> bytes:
    """A copy of the bytes of ``data`` (any bytes-like object), or a :class:`StoreError`.

    >>> _as_bytes(memoryview(b"ab"), "x")
    b'ab'
    >>> _as_bytes("text", "cannot create 'k'")
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: cannot create 'k': the data must be bytes-like ...
    """
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise StoreError(
            f"{what}: the data must be bytes-like (bytes, bytearray, memoryview), got "
            f"{type(data).__name__}; encode text first"
        ) from None


def _inside(key: object) -> str:
    """``key``, or a :class:`StoreError` for a key that is not a string or has a ``..``
    segment, as :class:`~modelship.registry.FsspecStore` refuses one (on a file system it
    names a path outside the root).

    >>> _inside("a/..b")
    'a/..b'
    >>> _inside("a/../b")
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: key 'a/../b' has a '..' segment: keys stay inside ...
    >>> _inside(5)
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: key 5 is not a string (int); keys are '/'-separated ...
    """
    if not isinstance(key, str):
        raise StoreError(
            f"key {key!r} is not a string ({type(key).__name__}); keys are '/'-separated "
            "text, such as 'models/fraud/1.json'"
        )
    if "/../" in f"/{key}/":
        raise StoreError(f"key {key!r} has a '..' segment: keys stay inside the store's root")
    return key


def _keys(keys: object) -> Iterable[object]:
    """``keys`` if it is an iterable of keys (not one key), else a :class:`StoreError`.

    >>> _keys("models/m/1.json")
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: keys must be an iterable of keys, such as ['a', 'b/c'], ...
    """
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
        raise StoreError(
            f"keys must be an iterable of keys, such as ['a', 'b/c'], got "
            f"{type(keys).__name__} {keys!r}; for one key, pass [key]"
        )
    return keys


class _MemoryBlobWriter:
    """Stages bytes in memory; ``publish`` makes them visible under a key at once."""

    def __init__(self, store: MemoryStore, callback: Any) -> None:
        self._store = store
        self._callback = callback
        self._buffer: bytearray | None = bytearray()

    def _staged(self) -> bytearray:
        if self._buffer is None:
            raise StoreError(
                "this blob writer is closed (published or discarded); start another with "
                "blob_writer()"
            )
        return self._buffer

    def write(self, data: bytes | memoryview) -> int:
        buffer = self._staged()
        chunk = _as_bytes(data, "cannot write to a blob writer")
        buffer += chunk
        if self._callback is not None:
            self._callback.relative_update(len(chunk))
        return len(chunk)

    def publish(self, key: str) -> bool:
        data = bytes(self._staged())
        self._buffer = None
        try:
            self._store.create(key, data, allow_empty=True)
        except FileExistsError:
            return False
        return True

    def discard(self) -> None:
        self._buffer = None


class MemoryStore:
    """A :class:`~modelship.registry.Store` in a dict, for tests; safe across threads.

    It stands for an object store (S3, ``memory://``): a key is taken exactly as it is
    written, and a key may hold a document and be the folder of other keys at once
    (``a`` and ``a/b``), which S3 allows and a disk refuses; :class:`CaseFoldingStore`
    has the rules of a disk. :meth:`list` never names an empty child (``a//b`` is not
    listed under ``a``), as :class:`~modelship.registry.FsspecStore` on an object store.

    Every operation holds one lock, so :meth:`create` is an honest exclusive create among
    the threads of this process (``exclusive_creates`` is True). Data that is not
    bytes-like, a key with a ``..`` segment (as :class:`~modelship.registry.FsspecStore`
    refuses one), and a blob writer used after it was published or discarded, raise
    :class:`~modelship.errors.StoreError`. It has no optional capabilities.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.Registry(MemoryStore())
    >>> reg.register(model_name="m", model=b"x", serializer="bytes").version
    '1'
    >>> reg.load("m")
    b'x'
    >>> store = MemoryStore()
    >>> store.create("a", b"1"); store.create("a/b", b"2"); store.list("")
    ['a']
    """

    exclusive_creates = True

    def __init__(self, url: str = "test-memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._data: dict[str, tuple[bytes, float]] = {}  # key: its bytes, when written

    # --- what a subclass changes; each runs with the lock held ---------------------------

    def _fold(self, key: str) -> str:
        """The name ``key`` is compared under: itself (an object store compares exactly).

        A subclass may return another name, but one character for each character of
        ``key``, so that a folder's name is cut from a key at the same place in both.
        """
        return key

    def _find(self, key: str) -> str | None:
        """The stored key that ``key`` names, or None."""
        return key if key in self._data else None

    def _folded(self) -> Iterable[tuple[str, str]]:
        """Each stored key, as ``(its folded name, the key)``."""
        return ((key, key) for key in self._data)

    def _admit(self, key: str) -> None:
        """Raise :class:`StoreError` where no new document may be written at ``key``.

        An object store takes any key; a file system refuses a file where a folder is.
        """

    def _put(self, key: str, data: bytes) -> None:
        self._data[key] = (data, time.time())

    def _drop(self, key: str) -> None:
        self._data.pop(key, None)

    # --- Store ---------------------------------------------------------------------------

    def _entry(self, key: str) -> tuple[bytes, float]:
        stored = self._find(_inside(key))
        if stored is None:
            raise FileNotFoundError(key)
        return self._data[stored]

    def read(self, key: str) -> bytes:
        with self._lock:
            return self._entry(key)[0]

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = [_inside(key) for key in _keys(keys)]
        with self._lock:
            found = {key: self._find(key) for key in wanted}
            return {k: self._data[s][0] for k, s in found.items() if s is not None}

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        _inside(key)
        if not data and not allow_empty:
            raise StoreError(f"refusing to create {key!r} with no bytes")
        stored = _as_bytes(data, f"cannot create {key!r}")
        with self._lock:
            if self._find(key) is not None:
                raise FileExistsError(key)
            self._admit(key)
            self._put(key, stored)

    def replace(self, key: str, data: bytes) -> None:
        _inside(key)
        stored = _as_bytes(data, f"cannot write {key!r}")
        with self._lock:
            old = self._find(key)
            if old is None:
                self._admit(key)
            self._put(key if old is None else old, stored)

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._find(_inside(key)) is not None

    def list(self, prefix: str) -> builtins.list[str]:
        checked = _inside(prefix)
        base = checked.rstrip("/") + "/" if checked else ""
        names: dict[str, str] = {}
        with self._lock:
            folded_base = self._fold(base)
            for folded, key in self._folded():
                if folded.startswith(folded_base):
                    name = key[len(base) :].split("/", 1)[0]
                    if name:
                        names.setdefault(self._fold(name), name)
        return sorted(names.values())

    def delete(self, key: str) -> None:
        with self._lock:
            stored = self._find(_inside(key))
            if stored is not None:
                self._drop(stored)

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        return _MemoryBlobWriter(self, callback)

    def open_blob(self, key: str) -> IO[bytes]:
        return io.BytesIO(self.read(key))

    def size(self, key: str) -> int:
        return len(self.read(key))

    def modified(self, key: str) -> float:
        with self._lock:
            return self._entry(key)[1]


def _fold_case(text: str) -> str:
    """``text`` upper-cased one character at a time, where that keeps it one character.

    Case-insensitive file systems compare names so (NTFS through its table of upper
    cases): ``ß`` and ``SS``, or ``ﬁ`` and ``FI``, are different names, and a name folds
    to as many characters as it has.

    >>> _fold_case("Straße/ﬁsh"), _fold_case("STRASSE")
    ('STRAßE/ﬁSH', 'STRASSE')
    """
    return "".join(upper if len(upper := c.upper()) == 1 else c for c in text)


class CaseFoldingStore(MemoryStore):
    """A :class:`MemoryStore` that behaves like a case-insensitive file system.

    Keys that differ only in case are one key (stored under the spelling of its first
    create, as macOS and Windows keep it), and a key cannot be both a document and a
    folder of other keys: creating ``a/B`` when ``a/b/c`` exists, or the other way round,
    raises :class:`~modelship.StoreError`, as a file system refuses a file where a folder
    is. Cases are compared one character at a time (``ß`` is not ``SS``), as NTFS does.
    The check and the create are one step: of two threads creating case twins, one gets
    :class:`FileExistsError`. Use it to check that a layout has no two names that collide
    under case folding.

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

    def __init__(self, url: str = "test-memory://") -> None:
        super().__init__(url)
        self._by_fold: dict[str, str] = {}  # the folded name of each stored key: the key

    def _fold(self, key: str) -> str:
        return _fold_case(key)

    def _find(self, key: str) -> str | None:
        return self._by_fold.get(self._fold(key))

    def _folded(self) -> Iterable[tuple[str, str]]:
        return self._by_fold.items()

    def _put(self, key: str, data: bytes) -> None:
        super()._put(key, data)
        self._by_fold[self._fold(key)] = key

    def _drop(self, key: str) -> None:
        super()._drop(key)
        self._by_fold.pop(self._fold(key), None)

    def _admit(self, key: str) -> None:
        folded = self._fold(key)
        for other, existing in self._by_fold.items():
            if other.startswith(folded + "/"):
                raise StoreError(
                    f"cannot create {key!r}: a folder of that name exists (it holds "
                    f"{existing!r}); a file system keeps a file and a folder apart by name"
                )
            if folded.startswith(other + "/"):
                raise StoreError(
                    f"cannot create {key!r}: {existing!r} is a file, not a folder; move "
                    "that file away first"
                )


class _HookedBlobWriter:
    """A blob writer of a :class:`HookStore`: ``publish`` runs the store's hooks first."""

    def __init__(self, store: HookStore, inner: BlobWriter) -> None:
        self._store = store
        self.inner = inner

    def write(self, data: bytes | memoryview) -> int:
        return self.inner.write(data)

    def publish(self, key: str) -> bool:
        self._store._hook("publish", key)
        return self.inner.publish(key)

    def discard(self) -> None:
        self.inner.discard()


class _HookedReplacingBlobWriter(_HookedBlobWriter):
    """The writer of a :class:`HookStore` whose inner writer :class:`ReplacesBlobs`."""

    inner: Any

    def publish_over(self, key: str) -> None:
        self._store._hook("publish_over", key)
        self.inner.publish_over(key)


class HookStore:
    """A :class:`~modelship.registry.Store` wrapper that runs a hook before chosen calls.

    ``before(operation, key)`` runs before every call (``operation`` is the method's name;
    ``read_many`` runs it as ``"read"`` once per key, ``list`` with the prefix as key,
    ``blob_writer``, ``location_exists`` and ``incomplete_uploads`` with ``""``, and the
    blob writers it hands out run it as ``"publish"`` or ``"publish_over"`` with the
    key); ``before_create(key)`` before each create and each blob ``publish`` (both
    create a key). Lets a test make two writers interleave exactly (the hook of one runs
    the other), without sleeping or hoping for a race.

    It has exactly the optional capabilities
    (:class:`~modelship.registry.LocalBlobs`, :class:`~modelship.registry.AbortsUploads`,
    :class:`~modelship.registry.KnowsLocation`) of the store it wraps, and forwards them;
    so does a subclass. Its blob writers are
    :class:`~modelship.registry.ReplacesBlobs` exactly when the wrapped store's are.

    It pickles when the wrapped store and its hooks do (a hook defined at a module's top
    level does; a lambda does not, and pickling then raises
    :class:`pickle.PicklingError` naming it): the copy wraps the wrapped store's copy,
    with the same capabilities, and runs copies of the hooks, which share no state with
    the originals.

    Examples
    --------
    >>> import pickle
    >>> from modelship.registry import FsspecStore, LocalBlobs
    >>> seen = []
    >>> store = HookStore(FsspecStore.from_url("memory://hookstore-doc"),
    ...                   before_create=lambda key: seen.append(key))
    >>> store.create("k", b"1"); seen
    ['k']
    >>> writer = store.blob_writer(); writer.write(b"blob")
    4
    >>> writer.publish("blobs/b"), seen
    (True, ['k', 'blobs/b'])
    >>> isinstance(store, LocalBlobs)
    False
    >>> pickle.loads(pickle.dumps(HookStore(store.inner))).read("k")
    b'1'
    """

    def __new__(cls, inner: Store, *args: Any, **hooks: Any) -> HookStore:
        # A subclass may take other arguments (a URL it opens a store from): its first
        # one is then no store, and __init__ checks the store it passes on.
        if not isinstance(inner, Store):
            return super().__new__(cls)
        return super().__new__(_with_capabilities_of(cls, inner))

    def __init__(
        self,
        inner: Store,
        *,
        before_create: Callable[[str], None] | None = None,
        before: Callable[[str, str], None] | None = None,
    ):
        if not isinstance(inner, Store):
            raise ConfigError(
                f"inner must be a Store (such as MemoryStore() or FsspecStore.from_url(url)), "
                f"got {type(inner).__name__} {brief(inner)}"
            )
        made = _with_capabilities_of(type(self), inner)
        if type(self) is not made:  # a subclass built from other arguments (a URL)
            self.__class__ = made
        for name, hook in (("before_create", before_create), ("before", before)):
            if hook is not None and not callable(hook):
                raise ConfigError(
                    f"{name} must be a function or None, got {type(hook).__name__} {hook!r}"
                )
        self.inner = inner
        self.before_create = before_create
        self.before = before
        self.url = inner.url
        self.exclusive_creates = inner.exclusive_creates

    def __reduce__(self) -> tuple[Any, ...]:
        # The class made for the inner store's capabilities is named as the one it is
        # made from, so pickle cannot find it by name: the copy is made again from that
        # class and its inner store, then given every attribute, hooks included.
        made_from = type(self).__dict__.get("_made_from", type(self))
        for name in ("before", "before_create"):
            hook = getattr(self, name, None)
            try:
                pickle.dumps(hook)
            except Exception as exc:
                raise pickle.PicklingError(
                    f"cannot pickle this {made_from.__name__}: its hook {name}={hook!r} does "
                    f"not pickle ({type(exc).__name__}: {exc}); give a function defined at a "
                    "module's top level, or set the hook to None before pickling"
                ) from None
        return (_new_hook_store, (made_from, self.inner), self.__dict__)

    def _hook(self, operation: str, key: str) -> None:
        """Run ``before(operation, key)`` (every call) and ``before_create(key)``."""
        if self.before is not None:
            self.before(operation, key)
        if operation in ("create", "publish") and self.before_create is not None:
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
        self._hook("blob_writer", "")
        inner = self.inner.blob_writer(callback)
        if isinstance(inner, ReplacesBlobs):
            return _HookedReplacingBlobWriter(self, inner)
        return _HookedBlobWriter(self, inner)

    def open_blob(self, key: str) -> IO[bytes]:
        self._hook("open_blob", key)
        return self.inner.open_blob(key)

    def size(self, key: str) -> int:
        self._hook("size", key)
        return self.inner.size(key)

    def modified(self, key: str) -> float:
        self._hook("modified", key)
        return self.inner.modified(key)


def _new_hook_store(cls: type[HookStore], inner: Store) -> HookStore:
    """An instance of ``cls`` with the capabilities of ``inner``, not yet initialised
    (an unpickled :class:`HookStore`; pickle then sets its attributes)."""
    return HookStore.__new__(cls, inner)


class _ForwardsLocalBlobs(HookStore):
    inner: Any

    def local_path(self, key: str) -> str:
        self._hook("local_path", key)
        path: str = self.inner.local_path(key)
        return path


class _ForwardsUploads(HookStore):
    inner: Any

    def incomplete_uploads(self, before: float) -> builtins.list[str]:
        self._hook("incomplete_uploads", "")
        found: builtins.list[str] = self.inner.incomplete_uploads(before)
        return found

    def abort_upload(self, upload: str) -> None:
        self._hook("abort_upload", upload)
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
_CLASSES_LOCK = threading.Lock()


def _with_capabilities_of(cls: type[HookStore], inner: Store) -> type[HookStore]:
    """``cls`` (HookStore or a subclass) with exactly the optional capabilities of ``inner``."""
    cls = cls.__dict__.get("_made_from", cls)  # a class made here: start from its own
    mixins = tuple(fwd for protocol, fwd in _CAPABILITIES if isinstance(inner, protocol))
    if not mixins:
        return cls
    signature = (cls, *mixins)
    with _CLASSES_LOCK:
        made = _CLASSES.get(signature)
        if made is None:
            namespace = {
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "_made_from": cls,
            }
            # A subclass comes first, so that its own methods win over the forwarders.
            bases = mixins if cls is HookStore else (cls, *mixins)
            made = type(cls.__name__, bases, namespace)
            _CLASSES[signature] = made
        return made
