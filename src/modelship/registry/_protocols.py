"""The storage seams: :class:`Store` and :class:`BlobWriter`, and a store's optional capabilities.

A store maps '/'-separated keys to bytes. Small documents are written with an exclusive
create (the one atomic primitive the registry is built on) or overwritten (only for hints
that may lag); artifacts stream in through a :class:`BlobWriter` that publishes them whole
or not at all. Missing keys raise :class:`FileNotFoundError`; an exclusive create of a key
that exists raises :class:`FileExistsError`, as Python's own ``open(..., "x")`` does. Unlike
a file opened that way, a created key is never seen half written: a reader finds no key, or
the whole value (write it aside, then move or link it into place).

What a store may offer beyond that is declared, each ability as its own protocol
(:class:`LocalBlobs`, :class:`AbortsUploads`, :class:`KnowsLocation`, and
:class:`ReplacesBlobs` for its blob writers): a store has an ability exactly when it
implements the protocol's methods, and a wrapper (``modelship.testing.HookStore``) has
exactly the abilities of what it wraps. This module imports nothing else from modelship.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any, Protocol, runtime_checkable

__all__ = ["AbortsUploads", "BlobWriter", "KnowsLocation", "LocalBlobs", "ReplacesBlobs", "Store"]


@runtime_checkable
class BlobWriter(Protocol):
    """A staged artifact: written in chunks, then published under a key or discarded.

    Examples
    --------
    What :meth:`Store.blob_writer` returns; the registry writes, then publishes by digest:

    >>> import hashlib
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> writer = store.blob_writer()
    >>> writer.write(b"model bytes")
    11
    >>> key = "blobs/" + hashlib.sha256(b"model bytes").hexdigest()
    >>> writer.publish(key), store.read(key)
    (True, b'model bytes')
    """

    def write(self, data: bytes | memoryview) -> int:
        """Append bytes; return how many.

        ``data`` is valid only during the call: the registry passes views of one buffer
        that it refills with the next chunk once ``write`` returns, so a writer must
        copy (or write out) the bytes before returning, never keep ``data`` itself.
        """

    def publish(self, key: str) -> bool:
        """Make the bytes visible under ``key`` at once; False if ``key`` already existed.

        After ``publish`` the writer is closed. A key that exists is left alone (keys of
        blobs are their digests, so the stored bytes are the same).
        """

    def discard(self) -> None:
        """Drop the staged bytes; nothing becomes visible. Safe to call twice."""


@runtime_checkable
class ReplacesBlobs(Protocol):
    """An optional capability of a :class:`BlobWriter`: publish over a damaged blob in one step.

    When a blob the registry would reuse turns out damaged (wrong size or digest), the
    registry writes the artifact again and must put the good bytes where the bad ones are.
    A writer with this capability does it in one step: a reader of the key sees the old
    bytes or the new ones, never a missing key and never a mix of the two. Without it,
    the registry stages the bytes first, then deletes the damaged blob and publishes, and
    for that moment a reader of a version sharing the blob finds it missing.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from modelship.registry import FsspecStore, ReplacesBlobs
    >>> store = FsspecStore.from_url(tempfile.mkdtemp())
    >>> key = "blobs/" + hashlib.sha256(b"good").hexdigest()
    >>> store.create(key, b"damaged")
    >>> writer = store.blob_writer()
    >>> isinstance(writer, ReplacesBlobs)
    True
    >>> writer.write(b"good")
    4
    >>> writer.publish_over(key)
    >>> store.read(key)
    b'good'
    """

    def publish_over(self, key: str) -> None:
        """Make the staged bytes visible under ``key``, replacing what is there at once.

        After ``publish_over`` the writer is closed, as after :meth:`BlobWriter.publish`.
        """


@runtime_checkable
class Store(Protocol):
    """Storage for a registry (implement this to add a backend).

    ``exclusive_creates`` says whether :meth:`create` is atomic against other processes;
    a registry refuses concurrent writers on a store where it is False.

    A store may also declare optional capabilities by implementing their protocols:
    :class:`LocalBlobs` (blobs are files on this machine, for faster loads) and
    :class:`AbortsUploads` (uploads a killed writer left open, for :meth:`Registry.gc`).
    The registry asks ``isinstance(store, LocalBlobs)``; it never probes for attributes.

    What a store raises: :class:`FileNotFoundError` only for a key that is not there, and
    :class:`FileExistsError` only from :meth:`create` of a key that is; the registry reads
    them as those answers ("missing", "taken"), never as failures, so a store must not
    raise them for anything else (a bucket that is gone, a parent folder that cannot be
    made). Any other failure (no permission, a dropped connection, a timeout) is best a
    :class:`~modelship.errors.StoreError` saying what failed and what to do; an
    ``OSError`` is fine too: a :class:`~modelship.Registry` raises it to its callers as a
    ``StoreError`` naming the store, the operation, the key and the cause (chained, unless
    its message shows credentials).

    Examples
    --------
    >>> from modelship.registry import FsspecStore
    >>> store = FsspecStore.from_url("memory://store-doc")
    >>> store.create("a/b.json", b"{}")
    >>> store.read("a/b.json")
    b'{}'
    >>> store.list("a")
    ['b.json']
    """

    # Read-only properties, so that a plain attribute, a class attribute or a read-only
    # property of an implementation all satisfy them (a type checker takes a bare
    # annotation here to mean the attribute must be settable).
    @property
    def url(self) -> str:
        """The location the store was opened at, as given (deployers hand it to their servers)."""

    @property
    def exclusive_creates(self) -> bool:
        """Whether :meth:`create` is atomic against other processes."""

    def read(self, key: str) -> bytes:
        """The bytes at ``key``; :class:`FileNotFoundError` if none."""

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes at each key that exists (missing keys are left out).

        ``keys`` may be a generator (the registry passes some): walk it once.
        """

    def create(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` only if no key is there; else :class:`FileExistsError`.

        All at once: a reader sees no key, or the whole of ``data``; never a key that is
        there with part of its bytes (as ``open(path, "x")`` followed by writes shows).
        """

    def replace(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` whole (readers see old or new, never a mix)."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds bytes."""

    def list(self, prefix: str) -> list[str]:
        """Names of the direct children of the folder ``prefix`` (files and folders), sorted.

        Each name once, however many keys lie under a folder, and all of them, however
        many pages the back end answers a listing in. Sorted as Python sorts strings;
        a folder that does not exist lists as ``[]``.
        """

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        """Start staging a blob; ``callback`` is an fsspec progress callback or None."""

    def open_blob(self, key: str) -> IO[bytes]:
        """A binary file object reading the blob at ``key``."""

    def size(self, key: str) -> int:
        """Size in bytes of the object at ``key``."""

    def modified(self, key: str) -> float:
        """When ``key`` was last written, as a POSIX timestamp (for gc's grace period)."""


@runtime_checkable
class LocalBlobs(Protocol):
    """An optional capability of a :class:`Store`: its blobs are files on this machine.

    A tool may use the path (to hand a blob to a program that takes a file). The registry reads
    every blob through :meth:`Store.open_blob`, once, and uses only the bytes it hashed in
    that read, so that a file rewritten after the check cannot be loaded.

    Examples
    --------
    >>> import tempfile
    >>> from modelship.registry import FsspecStore, LocalBlobs
    >>> local = FsspecStore.from_url(tempfile.mkdtemp())
    >>> isinstance(local, LocalBlobs), isinstance(FsspecStore.from_url("memory://lb"), LocalBlobs)
    (True, False)
    """

    def local_path(self, key: str) -> str:
        """The path on this machine's file system of the blob at ``key``."""


@runtime_checkable
class AbortsUploads(Protocol):
    """An optional capability of a :class:`Store`: uploads a killed writer left open.

    Object stores such as S3 keep the parts of a multipart upload that never completed,
    invisible to reads and listings, until someone aborts it. A store that can list and
    abort them implements both methods; :meth:`Registry.gc` calls them.

    Examples
    --------
    >>> from modelship.registry import AbortsUploads, FsspecStore
    >>> isinstance(FsspecStore.from_url("memory://aborts-uploads-doc"), AbortsUploads)
    False
    """

    def incomplete_uploads(self, before: float) -> list[str]:
        """Names of uploads under the store's root begun before ``before`` (a timestamp)."""

    def abort_upload(self, upload: str) -> None:
        """Abort ``upload`` (a name from :meth:`incomplete_uploads`); gone already is fine."""


@runtime_checkable
class KnowsLocation(Protocol):
    """An optional capability of a :class:`Store`: it can tell that its location is absent.

    A folder that does not exist, or a bucket that is gone, reads like an empty store; a
    store that can tell the difference lets the registry raise
    :class:`~modelship.errors.RegistryNotFound` for a read of a location that holds no
    registry (a typo) instead of answering "no models". Nothing is created until the
    first write. A location that cannot hold a registry at all (a local path naming a
    file) may raise that error itself, saying why.

    Examples
    --------
    >>> import os, tempfile
    >>> from modelship.registry import FsspecStore, KnowsLocation
    >>> store = FsspecStore.from_url(os.path.join(tempfile.mkdtemp(), "typo"))
    >>> isinstance(store, KnowsLocation), store.location_exists()
    (True, False)
    """

    def location_exists(self) -> bool:
        """Whether the store's location (folder, bucket) exists at all."""
