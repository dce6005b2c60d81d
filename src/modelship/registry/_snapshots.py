"""Index snapshots: a cache of many manifests in one document, so ``versions()`` is one read.

Manifests never change once committed, so a snapshot of them is a safe cache; the listing
of ``versions/`` still decides which versions exist. A snapshot that is damaged, of an
unknown format or gone is ignored (with a warning when damaged), and the manifests are read
one by one instead. Writing one is best effort: a reader without write access lists
versions all the same, only without the speed-up.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from modelship._json import canonical_json
from modelship._model_version import ModelVersion
from modelship.errors import ModelshipError, RepairWarning
from modelship.registry._integrity import parse_json
from modelship.registry._layout import folder, is_numbered, snapshot_key
from modelship.registry._protocols import Store

__all__ = ["SNAPSHOT_FORMAT", "read_snapshot", "write_snapshot"]

SNAPSHOT_FORMAT = 1


def read_snapshot(
    store: Store,
    name: str,
    listed: set[str],
    parse: Callable[[str, Mapping[str, Any]], ModelVersion],
) -> tuple[dict[str, ModelVersion], list[str], bool]:
    """Records of the newest snapshot for the ``listed`` manifests; all snapshot keys,
    oldest first; whether the newest (the last key) is damaged, for the next snapshot to
    replace.

    ``parse(key, manifest)`` reads each manifest as if read at ``key`` (and may raise).
    Only numbered names are snapshots: a stray file in the folder (``notes.json``) is
    skipped, never read as the newest snapshot.
    """
    index = folder(name, "index")
    snapshots = sorted(f"{index}/{n}" for n in store.list(index) if is_numbered(n))
    if not snapshots:
        return {}, snapshots, False
    key = snapshots[-1]
    try:
        doc = parse_json(store.read(key), f"manifest snapshot {key}")
        if doc.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"format {doc.get('format')!r} is not {SNAPSHOT_FORMAT}")
        entries = doc["manifests"]
        cached = {
            n: parse(f"{folder(name, 'versions')}/{n}", entries[n]) for n in listed & entries.keys()
        }
    except FileNotFoundError:
        return {}, snapshots, False  # replaced by a newer one since the listing
    except (ModelshipError, ValueError, KeyError, TypeError, AttributeError) as exc:
        warnings.warn(
            f"ignoring the damaged manifest snapshot {key} ({exc}); the manifests are "
            "read one by one instead, and a new snapshot replaces it",
            RepairWarning,
            stacklevel=4,
        )
        return {}, snapshots, True
    return cached, snapshots, False


def write_snapshot(  # noqa: PLR0913 - the snapshot, what it replaces and the flag that one is damaged
    store: Store,
    name: str,
    found: list[ModelVersion],
    older: list[str],
    check_writable: Callable[[], None],
    *,
    damaged: bool = False,
) -> bool:
    """Store a snapshot of ``found`` and drop ``older`` ones; False if it could not be written.

    ``damaged``: the newest of ``older`` (its last) was found damaged; it is replaced (a
    snapshot of as many manifests has the same key) or deleted, so it is not read again.
    ``check_writable`` runs first (it raises if this handle may not write), before
    thousands of records are serialised for nothing.
    """
    key = snapshot_key(name, len(found))
    broken = older[-1] if damaged and older else None
    try:
        check_writable()
        doc = {
            "format": SNAPSHOT_FORMAT,
            "manifests": {f"{mv.version}.json": mv.to_dict() for mv in found},
        }
        if key == broken:
            # A cache, not a commit: writers racing replace it with the same manifests
            # (as many, and manifests never change), so whichever lands is right.
            store.replace(key, canonical_json(doc))
        else:
            with contextlib.suppress(FileExistsError):
                store.create(key, canonical_json(doc))
        for old in older:
            if old < key or (old == broken and old != key):
                store.delete(old)
    except (ModelshipError, OSError):
        return False
    return True
