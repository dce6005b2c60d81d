"""Downloading an artifact to a local file: verified while it streams, published atomically.

The invariant: a file appears at the destination only with every byte checked against
the digest and size the manifest recorded. The bytes stream from the store into a
temporary file created exclusively in the destination's own folder (same file system, so
the last step is a rename, never a copy), hashed on the way by
:func:`~modelship._hashing.hash_stream` (the one sha256 loop). Only when the
digest and size match is the file flushed to disk (``fsync``), then published:

- without ``overwrite``, by a hard link to the destination, which the kernel refuses if a
  file is already there: the check "is the destination free?" and the act of publishing
  are one system call, so two downloads racing to one path cannot both win, and neither
  can clobber a file created meanwhile. File systems without hard links fall back to a
  check then a rename (documented as not atomic against a concurrent writer of that path);
- with ``overwrite``, by ``os.replace``, atomic on POSIX and Windows: a reader sees the old
  file or the new one, never a mix.

On any failure (a tampered or missing blob, a storage error, a full disk, an interrupt)
the temporary file is removed and the destination is untouched: an old file stays as it
was. The folders the download created for the destination are removed too, deepest first,
each only if it is still empty (another writer may have put a file there meanwhile); a
folder that existed before is never removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from pathlib import Path
from typing import Any

from modelship._hashing import hash_stream
from modelship._model_version import ArtifactRef
from modelship.errors import ConfigError, DestinationExists, ModelshipError, StoreError
from modelship.registry._integrity import check_whole, open_blob
from modelship.registry._progress import make_callback
from modelship.registry._protocols import Store
from modelship.registry._store import expand_home

__all__ = ["download_artifact"]

# errno values meaning "this file system has no hard links" (FAT, some network mounts).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}


def _exists(path: Path) -> DestinationExists:
    return DestinationExists(
        f"{path} exists; a download never replaces a file silently. Remove it, choose "
        "another path, or pass overwrite=True (--force on the command line)"
    )


def _destination(path: object) -> Path:
    """The absolute path to write, from a ``str`` or path-like; anything else, a path the
    file system cannot encode (a lone surrogate) or holding a NUL, a path that names a
    folder by its form (``models/``, ``.``, ``..``: ``Path`` would drop the separator and
    write a file named ``models``), or a ``~user`` that cannot be expanded (no such user,
    or no home folder), is a :class:`ConfigError`.

    Examples
    --------
    >>> _destination("models/")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: cannot write 'models/': it names a folder; give the path of a file
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path must be a str or a pathlib.Path, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ConfigError(f"path must be text, not {type(text).__name__}: decode it first")
    try:
        os.fsencode(text)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"path {text!r} cannot be encoded for the file system: {exc}") from None
    if "\x00" in text:  # the system calls would raise ValueError: no path holds one
        raise ConfigError(f"path {text!r} holds a NUL character, which no file system allows")
    if os.path.basename(text) in ("", ".", ".."):  # on Windows, either separator ends it
        raise ConfigError(f"cannot write {text!r}: it names a folder; give the path of a file")
    return Path(expand_home(text, "path")).absolute()


# Bytes of the destination's name kept in its temporary file's name, ".<name>.<12 hex>.part"
# (19 bytes more): any legal name leaves a legal temporary one. Names are at most 255
# bytes on Linux and macOS, and 255 UTF-16 units on Windows (never more than its bytes).
_KEPT = 200


def _temporary_name(name: str) -> str:
    """A fresh name for the temporary file of a download to ``name``, in its folder.

    Examples
    --------
    >>> _temporary_name("model.bin").startswith(".model.bin.")
    True
    >>> len(os.fsencode(_temporary_name("é" * 127)))  # 254 bytes of name, 200 kept
    219
    """
    kept = name[:_KEPT]
    while len(os.fsencode(kept)) > _KEPT:  # bytes, not characters: "é" is two in UTF-8
        kept = kept[:-1]
    return f".{kept}.{uuid.uuid4().hex[:12]}.part"


def _make_folders(folder: Path, created: list[Path]) -> None:
    """Create ``folder`` and its missing parents, appending to ``created`` each one this
    call made, outermost first, as it is made (so an interrupt leaves ``created`` true).

    A folder another process creates meanwhile is not counted: the ``mkdir`` that made a
    folder is the one that records it.
    """
    missing: list[Path] = []
    at = folder
    while not os.path.lexists(at) and at.parent != at:  # bounded: the path's depth
        missing.append(at)
        at = at.parent
    for each in reversed(missing):
        try:
            each.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs, not removed on failure
        created.append(each)
    # Every folder there now: raises as before for a parent that is a file.
    folder.mkdir(parents=True, exist_ok=True)


def _create(temporary: Path, created: list[Path]) -> int:
    """Create ``temporary`` exclusively; its descriptor. Its folder may have been made by
    another download that then failed and removed it (empty, as this one found it): it
    is made again, once (recorded in ``created``); a second loss is an error."""
    # 0o666 less the umask, as open() and the shell's `>` create a file (0644 under umask
    # 022); os.open's default, 0o777, would publish an executable model file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return os.open(temporary, flags, 0o666)
    except FileNotFoundError:
        _make_folders(temporary.parent, created)
        return os.open(temporary, flags, 0o666)


def _remove_folders(created: list[Path]) -> None:
    """Remove the folders of ``created`` (outermost first), deepest first, each only if
    it is empty; one that is not (another writer's file), or cannot be removed, stays."""
    for each in reversed(created):
        with contextlib.suppress(OSError):
            os.rmdir(each)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(temporary: Path, destination: Path, *, overwrite: bool) -> None:
    """Move the checked ``temporary`` file to ``destination`` (see the module docstring)."""
    if overwrite:
        os.replace(temporary, destination)
        return
    try:
        os.link(temporary, destination)
    except FileExistsError:
        raise _exists(destination) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # No hard links here: check, then rename (a writer racing in between can lose).
        if os.path.lexists(destination):
            raise _exists(destination) from None
        os.replace(temporary, destination)
        return
    os.unlink(temporary)


def download_artifact(  # noqa: PLR0913 - the blob, where to write it, and two documented options
    store: Store,
    ref: ArtifactRef,
    what: str,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Any = None,
) -> Path:
    """Write the blob of ``ref`` to ``path``, checked against ``ref``; the absolute path.

    Raises :class:`~modelship.IntegrityError` (nothing written) if the stored bytes do
    not match, :class:`DestinationExists` if ``path`` exists and ``overwrite`` is false,
    and :class:`~modelship.StoreError` if the store or the local disk fails.

    Examples
    --------
    >>> import hashlib, pathlib, tempfile
    >>> from modelship.registry._layout import blob_key
    >>> from modelship.testing import MemoryStore
    >>> data = b"weights"
    >>> ref = ArtifactRef("sha256:" + hashlib.sha256(data).hexdigest(), len(data), "bytes",
    ...                   "application/octet-stream")
    >>> store = MemoryStore()
    >>> store.create(blob_key(ref.digest), data)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "model.bin"
    >>> download_artifact(store, ref, "m 1", out, progress=False).read_bytes()
    b'weights'
    """
    if not isinstance(overwrite, bool):
        raise ConfigError(f"overwrite must be True or False, got {overwrite!r}")
    destination = _destination(path)
    try:
        found = os.lstat(destination)
    except FileNotFoundError:
        found = None
    except OSError as exc:  # a name too long, a parent that is a file, no permission
        raise ConfigError(f"cannot write {destination}: {exc.strerror or exc}") from exc
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise ConfigError(
                f"cannot write {destination}: it is a folder; give the path of a file"
            )
        if not overwrite:
            raise _exists(destination)  # early, before any byte is read; the link decides
        if not stat.S_ISREG(found.st_mode):
            # A device, a pipe, a socket or a symbolic link: replacing it is never what
            # "overwrite the downloaded file" means.
            raise ConfigError(
                f"{destination} is not a regular file; overwrite=True replaces only a file "
                "a download wrote. Remove it, or choose another path"
            )
    created: list[Path] = []  # the folders this download made, removed if it fails
    try:
        try:
            _make_folders(destination.parent, created)
        except OSError as exc:
            raise ConfigError(f"cannot write {destination}: {exc.strerror or exc}") from exc
        callback = make_callback(progress, desc=f"download {what}", total=ref.size)
    except BaseException:
        _remove_folders(created)
        raise
    # Exclusive create, in the destination's folder: a rename away from being published.
    temporary = destination.parent / _temporary_name(destination.name)
    try:
        fd = _create(temporary, created)
        with os.fdopen(fd, "wb") as out, open_blob(store, ref, what) as src:
            # One byte past the recorded size finds a blob that grew.
            hexdigest, size = hash_stream(src, callback, out.write, limit=ref.size + 1)
            check_whole(what, ref, hexdigest, size)
            out.flush()
            os.fsync(out.fileno())
        _publish(temporary, destination, overwrite=overwrite)
    except BaseException as exc:  # interrupted too: never leave the temporary file behind
        # Whatever removing it raises (never created, a name refused), the error that
        # stopped the download is the one raised.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        _remove_folders(created)
        if isinstance(exc, OSError) and not isinstance(exc, ModelshipError):
            raise StoreError(f"could not download {what} to {destination}: {exc}") from exc
        raise
    finally:
        with contextlib.suppress(Exception):
            callback.close()
    _sync_folder(destination.parent)
    return destination
