"""Garbage collection: what writers that died left behind, and what purges leave unused.

Nothing committed is ever touched. Each candidate must be older than a grace period, so a
registration in flight keeps its staged files, its slot and its blob. A dead slot below
the highest slot taken becomes a tombstone rather than a hole, because readers probe slots
forward and stop at the first hole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import attrs

from modelship.registry._hints import dead_slot
from modelship.registry._integrity import parse_json
from modelship.registry._layout import BLOBS, MODELS, PROBES, STAGING, folder, number_of
from modelship.registry._protocols import AbortsUploads, Store

__all__ = ["GcReport", "collect", "referenced_digests"]


@attrs.frozen
class GcReport:
    """What :meth:`Registry.gc` removed (or, with ``dry_run``, would remove).

    ``staging``, ``dead_slots`` and ``blobs`` are keys in the store; ``uploads`` are
    multipart uploads that never completed (S3), each named ``<key>?uploadId=<id>``, that
    were (or would be) aborted.

    Examples
    --------
    >>> import modelship as ms
    >>> report = ms.open_registry("memory://gc-doc").gc()
    >>> report.removed, report.uploads
    (0, ())
    """

    staging: tuple[str, ...] = ()
    dead_slots: tuple[str, ...] = ()
    blobs: tuple[str, ...] = ()
    uploads: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def removed(self) -> int:
        """How many keys were (or would be) removed and uploads aborted."""
        return len(self.staging) + len(self.dead_slots) + len(self.blobs) + len(self.uploads)


def _older(store: Store, key: str, cutoff: float) -> bool:
    try:
        return store.modified(key) < cutoff
    except FileNotFoundError:
        return False


def referenced_digests(store: Store) -> set[str]:
    """Digests of every artifact and attachment a version that is not purged refers to."""
    used: set[str] = set()
    for model in store.list(MODELS):
        purged = {number_of(n) for n in store.list(folder(model, "purged"))}
        versions = folder(model, "versions")
        keys = [f"{versions}/{n}" for n in store.list(versions) if number_of(n) not in purged]
        for data in store.read_many(keys).values():
            doc = parse_json(data, f"a manifest of {model}")
            used.add(doc["artifact"]["digest"])
            used.update(a["digest"] for a in doc.get("attachments", {}).values())
    return used


def _dead_slots(store: Store, cutoff: float) -> tuple[list[str], dict[str, int]]:
    """Slots of registrations that never committed, older than ``cutoff``; top slot by model."""
    dead: list[str] = []
    tops: dict[str, int] = {}
    for model in store.list(MODELS):
        slots_folder, versions = folder(model, "slots"), folder(model, "versions")
        slot_names = store.list(slots_folder)
        slots = store.read_many(f"{slots_folder}/{n}" for n in slot_names)
        committed = store.read_many(f"{versions}/{n}" for n in store.list(versions))
        owners = {json.loads(v)["registration"] for v in committed.values()}
        # The highest slot taken, committed or still in flight: a dead slot below it
        # must stay as a tombstone, or readers probing forward would stop at the hole.
        tops[model] = max((int(number_of(n)) for n in slot_names), default=0)
        for key, data in slots.items():
            slot = json.loads(data)
            if slot.get("dead"):
                continue
            at = datetime.fromisoformat(slot["at"]).timestamp()
            if slot["registration"] not in owners and at < cutoff:
                dead.append(key)
    return dead, tops


def collect(
    store: Store,
    cutoff: float,
    *,
    dry_run: bool,
    check_writable: Callable[[], None],
    dead_slot_at: Callable[[str], bytes] | None = None,
) -> GcReport:
    """Find (and unless ``dry_run``, remove) what is left over from before ``cutoff``.

    ``dead_slot_at(key)`` is what a dead slot at ``key`` holds (signed, in a signing registry).
    """
    # Staged artifacts and documents, and writability probes of writers that died.
    staging = tuple(
        key
        for top in (STAGING, PROBES)
        for key in (f"{top}/{n}" for n in store.list(top))
        if _older(store, key, cutoff)
    )
    dead, tops = _dead_slots(store, cutoff)
    used = referenced_digests(store)
    blobs = []
    for prefix in store.list(BLOBS):
        for hexdigest in store.list(f"{BLOBS}/{prefix}"):
            key = f"{BLOBS}/{prefix}/{hexdigest}"
            if f"sha256:{hexdigest}" not in used and _older(store, key, cutoff):
                blobs.append(key)
    uploads = store.incomplete_uploads(cutoff) if isinstance(store, AbortsUploads) else []
    report = GcReport(
        staging=staging,
        dead_slots=tuple(dead),
        blobs=tuple(blobs),
        uploads=tuple(uploads),
        dry_run=dry_run,
    )
    if dry_run or not report.removed:
        return report
    check_writable()
    for key in [*staging, *blobs]:
        store.delete(key)
    if isinstance(store, AbortsUploads):
        for upload in uploads:
            store.abort_upload(upload)
    for key in dead:
        model, seq = key.split("/")[1], int(number_of(key))
        if seq >= tops.get(model, 0):
            store.delete(key)
        else:
            store.replace(key, dead_slot() if dead_slot_at is None else dead_slot_at(key))
    return report
