"""The commit protocol: a version becomes visible exactly when its manifest is created.

Registering claims the next sequence slot with an exclusive create, then creates the
manifest (the commit point) with another. A writer that loses either race moves on to the
next number, or, for an explicit version, raises :class:`~modelship.VersionExists`; a slot
that will never have a version is kept as a dead one, because readers probe slots forward
and stop at the first hole.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import attrs

from modelship._model_version import ModelVersion
from modelship.errors import Conflict, VersionExists
from modelship.registry._hints import bump_hint, top_slot
from modelship.registry._layout import head_key, manifest_key, slot_key
from modelship.registry._lineage import now
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = ["commit", "dead_slot", "version_exists"]


def dead_slot(signer: Signer, key: str) -> bytes:
    """A slot at ``key`` whose number no version will have (signed with a key).

    Kept so that slots have no holes; signed, because a slot turned dead would otherwise
    hide the version it held from ``latest``.
    """
    return signer.seal_bytes({"dead": True, "at": now().isoformat()}, key)


_MAX_TRIES = 100_000  # lost races in one registration: far more writers than ever race


def version_exists(name: str, version: str) -> VersionExists:
    """The error for registering ``version`` of ``name`` again."""
    return VersionExists(
        f"{name} version {version!r} exists; versions are never overwritten. Register "
        "with another version, or version=None for the next number"
    )


def commit(
    store: Store,
    draft: ModelVersion,
    explicit: str | None,
    signer: Signer,
    before_manifest: Callable[[], None] | None = None,
) -> ModelVersion:
    """Claim the next sequence slot and create the manifest: the version's commit point.

    Each step is an exclusive create, so two writers never take one slot or one
    version; a writer that loses either race moves on to the next number (or, for an
    explicit version, raises :class:`~modelship.VersionExists`). Bounded: every lost
    race means another writer took a slot, and each try takes a higher one; past
    ``_MAX_TRIES`` (a store that answers "taken" to everything) it raises
    :class:`~modelship.Conflict`. ``before_manifest`` runs once a slot is claimed; if it
    raises, the slot is left dead and nothing is committed.
    """
    name = draft.name
    registration = uuid.uuid4().hex
    seq = top_slot(store, name) + 1
    for _ in range(_MAX_TRIES):
        candidate = explicit or str(seq)
        if explicit is None and store.exists(manifest_key(name, candidate)):
            # An explicit version already took this number. Claim the slot anyway, as
            # a dead one: readers probe slots forward and stop at the first hole.
            with contextlib.suppress(FileExistsError):
                store.create(slot_key(name, seq), dead_slot(signer, slot_key(name, seq)))
            seq += 1
            continue
        key = slot_key(name, seq)
        slot = signer.seal_bytes(
            {"version": candidate, "registration": registration, "at": now().isoformat()}, key
        )
        try:
            store.create(key, slot)
        except FileExistsError:
            seq += 1
            continue
        if before_manifest is not None:
            try:
                before_manifest()
            except BaseException:
                with contextlib.suppress(Exception):
                    store.replace(key, dead_slot(signer, key))  # signed, like every slot
                raise
        mv = signer.sign(
            attrs.evolve(
                draft,
                version=candidate,
                sequence=seq,
                registration=registration,
                created_at=now(),
            )
        )
        try:
            store.create(manifest_key(name, candidate), mv.to_json().encode())
        except FileExistsError:
            store.replace(key, dead_slot(signer, key))  # never visible; no hole
            if explicit is not None:
                raise version_exists(name, explicit) from None
            seq += 1
            continue
        bump_hint(store, head_key(name), seq)
        return mv
    raise Conflict(
        f"registering {name}: {_MAX_TRIES} sequence slots in a row were taken; the store "
        "answers every create with 'exists' (damaged, or a file where a folder belongs)"
    )
