"""``copy_registry``: move models between registries with everything intact."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import attrs

from modelship._names import check_model_name
from modelship.errors import Conflict, IntegrityError
from modelship.registry._hints import top_alias, top_slot
from modelship.registry._integrity import hash_stream, parse_json
from modelship.registry._layout import MODEL_PARTS, SIGNING_POLICY, blob_key, folder
from modelship.registry._protocols import Store
from modelship.registry._registry import Registry

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


def _copy_blob(src: Store, dst: Store, digest: str) -> int:
    """Stream one blob, checking its digest on the way; 0 if ``dst`` already had it."""
    key = blob_key(digest)
    if dst.exists(key):
        return 0
    writer = dst.blob_writer()
    try:
        with src.open_blob(key) as f:
            hexdigest, size = hash_stream(f, sink=writer.write)
        if "sha256:" + hexdigest != digest:
            raise IntegrityError(
                f"blob {digest} in the source does not match its digest; not copied"
            )
        writer.publish(key)
    except BaseException:
        writer.discard()
        raise
    return size


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


def copy_registry(
    src: Registry, dst: Registry, *, models: Iterable[str] | None = None
) -> CopyReport:
    """Copy models from ``src`` to ``dst`` with their versions, aliases, history and digests.

    Artifacts already in ``dst`` (by digest) are not uploaded again; every copied artifact
    is verified against its digest. Copying again is a no-op; a destination whose history
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
    names = list(src.models()) if models is None else [check_model_name(m) for m in models]
    dst.check_writable()
    s, d = src.store, dst.store
    if s.exists(SIGNING_POLICY):
        # A copy of a signed registry stays one: keyless readers refuse it there too.
        with contextlib.suppress(FileExistsError):
            d.create(SIGNING_POLICY, s.read(SIGNING_POLICY))
    copied = skipped = nbytes = nversions = 0
    for name in names:
        folders = {part: s.list(folder(name, part)) for part in MODEL_PARTS}
        if not folders["versions"]:
            src.versions(name)  # raises ModelNotFound, naming the models there are
        docs = {
            part: s.read_many(f"{folder(name, part)}/{n}" for n in entries)
            for part, entries in folders.items()
        }
        purged = {n.removesuffix(".json") for n in folders["purged"]}
        for key, data in sorted(docs["versions"].items()):
            manifest = parse_json(data, key)
            if manifest["version"] in purged:
                continue
            digests = [manifest["artifact"]["digest"]]
            digests += [a["digest"] for a in manifest.get("attachments", {}).values()]
            for digest in digests:
                n = _copy_blob(s, d, digest)
                copied += n > 0
                skipped += n == 0
                nbytes += n
        # Slots and deletion markers first, manifests (the commit points) after them, then
        # the alias log: a crash mid-copy never shows a version before its bytes are there.
        for part in ("slots", "archived", "purged", "versions", "aliases"):
            for key, data in sorted(docs[part].items()):
                _copy_doc(s, d, key, data)
        nversions += len(docs["versions"])
        # Reading the top slot and the alias state probes forward and moves both hints.
        top_slot(d, name)
        top_alias(d, name)
    return CopyReport(tuple(names), nversions, copied, skipped, nbytes)
