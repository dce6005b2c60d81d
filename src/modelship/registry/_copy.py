"""``copy_registry``: move models between registries with everything intact."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

import attrs

from modelship._hashing import hash_stream
from modelship._names import check_model_name
from modelship._shown import hide_credentials
from modelship.errors import ConfigError, Conflict, IntegrityError
from modelship.registry._hints import top_alias, top_slot
from modelship.registry._integrity import stored_damage
from modelship.registry._layout import (
    MODEL_PARTS,
    SIGNING_POLICY,
    blob_key,
    folder,
    is_document,
)
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import ReplacesBlobs, Store
from modelship.registry._registry import Registry
from modelship.registry._signing import UNCHECKED
from modelship.registry._store import FsspecStore
from modelship.registry._tags import tag_log_keys

__all__ = ["CopyReport", "copy_registry"]


@attrs.frozen
class CopyReport:
    """What :func:`copy_registry` did.

    Examples
    --------
    >>> CopyReport().blobs_copied
    0
    """

    models: tuple[str, ...] = ()
    versions: int = 0
    blobs_copied: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    blobs_repaired: int = 0
    """Blobs the destination held damaged (wrong size or digest), replaced by good copies."""


def _copy_blob(src: Store, dst: Store, digest: str, size: int | None) -> tuple[int, bool]:
    """Stream one blob, checking its digest on the way: (bytes copied, whether it repaired).

    A blob ``dst`` already holds is trusted only once its size and digest are checked; a
    damaged one is copied again over it: in one step by a writer that
    :class:`~modelship.registry.ReplacesBlobs`, else deleted once the copy is staged.
    """
    key = blob_key(digest)
    repaired = False
    if dst.exists(key):
        if stored_damage(dst, digest, size) is None:
            return 0, False
        repaired = True
    try:
        source = src.open_blob(key)
    except FileNotFoundError:
        raise IntegrityError(
            f"blob {digest} is missing from the source "
            f"{hide_credentials(src.url)}, though a version there "
            "names it: the source registry is damaged. Restore the blob, or copy only other "
            "models"
        ) from None
    writer = dst.blob_writer()
    try:
        with source as f:
            limit = None if size is None else size + 1
            try:
                hexdigest, copied = hash_stream(f, sink=writer.write, limit=limit)
            except FileNotFoundError:
                # Deleted while it was read (a gc or purge of the source meanwhile).
                raise IntegrityError(
                    f"blob {digest} was deleted from the source "
                    f"{hide_credentials(src.url)} while it was "
                    "copied (a gc or purge there); copy again once it has ended"
                ) from None
        if "sha256:" + hexdigest != digest:
            raise IntegrityError(
                f"blob {digest} in the source does not match its digest; not copied"
            )
        if repaired and isinstance(writer, ReplacesBlobs):
            writer.publish_over(key)
            return copied, repaired
        if repaired:
            dst.delete(key)
        if not writer.publish(key) and stored_damage(dst, digest, size) is not None:
            raise IntegrityError(
                f"blob {digest} in the destination is damaged and could not be replaced"
            )
    except BaseException:
        writer.discard()
        raise
    return copied, repaired


def _copy_doc(src: Store, dst: Store, key: str, data: bytes) -> None:
    try:
        dst.create(key, data)
    except FileExistsError:
        if dst.read(key) != data:
            raise Conflict(
                f"{key} exists in the destination with other content; the registries have "
                "diverged, so copying would overwrite history. Copy into an empty registry, "
                "or copy only other models"
            ) from None


def _not_nested(src: Store, dst: Store) -> None:
    """Refuse two registries of which one lies inside the other (or both are one place):
    copying into a folder of the source would make that folder part of the source."""
    if not (isinstance(src, FsspecStore) and isinstance(dst, FsspecStore)):
        return
    # Beyond the local disk, one place needs one endpoint: two S3 endpoints may hold
    # buckets of the same name. (Each S3 registry has an s3fs object of its own, so the
    # objects cannot tell: an S3 registry was copied into itself.)
    if src.protocol != dst.protocol or not (src.is_local or _one_endpoint(src, dst)):
        return
    a, b = (os.path.realpath(s.root) if s.is_local else s.root for s in (src, dst))
    if a == b or b.startswith(a.rstrip("/") + "/") or a.startswith(b.rstrip("/") + "/"):
        raise ConfigError(
            f"cannot copy {hide_credentials(src.url)} to {hide_credentials(dst.url)}: one "
            "registry lies inside the other; copy to a location outside the source"
        )


def _one_endpoint(src: FsspecStore, dst: FsspecStore) -> bool:
    """Whether two stores of one protocol reach one endpoint: one filesystem object, or,
    for S3, the same ``endpoint_url`` (none: AWS's own)."""
    if src.fs is dst.fs:
        return True
    if src.protocol not in ("s3", "s3a"):
        return False

    def endpoint(store: FsspecStore) -> object:
        options = getattr(store.fs, "storage_options", None) or {}
        client = options.get("client_kwargs") or {}
        return options.get("endpoint_url") or client.get("endpoint_url")

    return endpoint(src) == endpoint(dst)


def _refuse_restored_since(
    src: Registry, dst: Registry, name: str, archived: list[str], purged: set[str]
) -> None:
    """Refuse a copy of ``name`` if the destination holds an archive mark the source no
    longer does: the version was restored in the source since the last copy. Archive
    marks are only copied, never taken back, so the destination would keep it hidden while
    the source's aliases name it; its history differs, refused before anything is written.
    """
    there = [n for n in dst.store.list(folder(name, "archived")) if is_document(n)]
    restored = sorted(
        n.removesuffix(".json")
        for n in set(there) - set(archived)
        if n.removesuffix(".json") not in purged
    )
    if restored:
        raise Conflict(
            f"{name} version {restored[0]} is archived in "
            f"{hide_credentials(dst.url)} but not in {hide_credentials(src.url)} "
            "(restored there since the last copy); nothing of it was copied. Restore it "
            f"in the destination (restore({name!r}, {restored[0]!r})), then copy again"
        )


def copy_registry(
    src: Registry, dst: Registry, *, models: Iterable[str] | None = None
) -> CopyReport:
    """Copy models from ``src`` to ``dst`` with their versions, aliases, tags, history and digests.

    Artifacts already in ``dst`` (by digest) are not uploaded again once their size and
    digest check out there (a damaged one is replaced and counted in ``blobs_repaired``);
    every copied artifact is verified against its digest. Copying again is a no-op; a
    destination whose history
    differs raises :class:`~modelship.Conflict` rather than rewrite it.

    Examples
    --------
    >>> import modelship as ms
    >>> a = ms.open_registry("memory://copy-doc-a")
    >>> _ = a.register(model_name="m", model=b"w", serializer="bytes")
    >>> a.set_alias("m", "production", "1")
    >>> b = ms.open_registry("memory://copy-doc-b")
    >>> ms.copy_registry(a, b).versions
    1
    >>> b.get("m", "@production") == a.get("m", "@production")
    True
    """
    for what, given in (("src", src), ("dst", dst)):
        if not isinstance(given, Registry):
            raise ConfigError(
                f"{what} must be a Registry (ms.open_registry(url)), got {type(given).__name__}"
            )
    if isinstance(models, (str, bytes)):
        raise ConfigError(f"models must be a list of model names, got the string {models!r}")
    _not_nested(src.store, dst.store)
    names = list(src.models()) if models is None else [check_model_name(m) for m in models]
    dst.check_writable()
    s, d = src.store, dst.store
    if s.exists(SIGNING_POLICY):
        # A copy of a signed registry stays one: keyless readers refuse it there too.
        with contextlib.suppress(FileExistsError):
            d.create(SIGNING_POLICY, s.read(SIGNING_POLICY))
    copied = skipped = nbytes = nversions = repaired = 0
    for name in names:
        folders = {
            part: [n for n in s.list(folder(name, part)) if is_document(n)] for part in MODEL_PARTS
        }
        if not folders["versions"]:
            src.versions(name)  # raises ModelNotFound, naming the models there are
        docs = {
            part: s.read_many(f"{folder(name, part)}/{n}" for n in entries)
            for part, entries in folders.items()
        }
        purged = {n.removesuffix(".json") for n in folders["purged"]}
        _refuse_restored_since(src, dst, name, folders["archived"], purged)
        for key, data in sorted(docs["versions"].items()):
            # Checked as any reader checks a manifest (a damaged one, or one copied to
            # another key, is an IntegrityError), but not its signature: its bytes are
            # copied as they are, so a signature travels with them to be checked there.
            manifest = parse_manifest(key, data, UNCHECKED)
            if manifest.version in purged:
                continue
            for ref in [manifest.artifact, *manifest.attachments.values()]:
                n, fixed = _copy_blob(s, d, ref.digest, ref.size)
                copied += n > 0 or fixed
                skipped += n == 0 and not fixed
                repaired += fixed
                nbytes += n
        # Slots and deletion markers first, manifests (the commit points) after them, then
        # the alias log: a crash mid-copy never shows a version before its bytes are there.
        for part in ("slots", "archived", "purged", "versions", "aliases"):
            for key, data in sorted(docs[part].items()):
                _copy_doc(s, d, key, data)
        for key, data in sorted(s.read_many(tag_log_keys(s, name)).items()):
            _copy_doc(s, d, key, data)  # tag logs: after the versions they annotate
        nversions += len(docs["versions"])
        # Reading the top slot and the alias state probes forward and moves both hints.
        top_slot(d, name)
        top_alias(d, name)
    return CopyReport(tuple(names), nversions, copied, skipped, nbytes, repaired)
