"""The latest live version, found from the top sequence slot down.

``latest`` is the last registered version that is neither archived nor purged. It is
found without listing: from the highest slot (:func:`~modelship.registry._hints.top_slot`,
a few probes), one step down per slot, skipping dead slots, registrations not yet
committed and versions that are not live. A manifest counts only if it is the
registration its slot names, so a manifest written by a registration that lost its slot
is never taken for the latest.

Slots have no holes (the invariant of :mod:`~modelship.registry._hints`): none is ever
removed, and slot ``n`` is created only once ``n - 1`` exists. A slot missing below the
top is damage: one deleted, or a stray one above the top (a file copied in by hand). A
registry from before gc kept dead slots as tombstones may hold short runs of missing
ones (the dead slots gc deleted then), and they are skipped; a run of
:data:`_MAX_MISSING` raises :class:`~modelship.IntegrityError` naming it, rather than
reading one number a step down to the next slot present (a stray slot at ``10**9`` would
take days).
"""

from __future__ import annotations

from modelship._model_version import ModelVersion, VersionState
from modelship.errors import IntegrityError
from modelship.registry._hints import top_slot
from modelship.registry._layout import manifest_key, slot_key
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer
from modelship.registry._slots import read_slot
from modelship.registry._states import version_state

__all__ = ["latest_live"]

# Missing slots in a row that a walk skips before it reports the hole. Each costs one read
# of an absent key (about 20 ms on S3: 5 s in all); the runs of dead slots that gc deleted
# before it kept them (one per registration that died or lost a race) are far shorter.
_MAX_MISSING = 256


def _hole(name: str, lowest: int, above: int) -> IntegrityError:
    return IntegrityError(
        f"sequence slots {lowest} to {lowest + _MAX_MISSING - 1} of {name} are missing below "
        f"slot {above}, and slots are never removed: the registry was damaged. If "
        f"{slot_key(name, above)} does not belong there (a stray file, copied in by hand), "
        "delete it; otherwise restore the missing slots from a copy of the registry"
    )


def latest_live(store: Store, name: str, signer: Signer) -> ModelVersion | None:
    """The last registered live version of ``name``; None if there is none.

    Reads a handful of small documents however many versions there are; bounded by the
    number of slots (one step down per slot). A run of :data:`_MAX_MISSING` missing slots
    below the top raises :class:`~modelship.IntegrityError` (see the module docstring).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://latest-live-doc")
    >>> for _ in range(2):
    ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.delete("m", "2")
    >>> latest_live(reg.store, "m", Signer(None)).version
    '1'
    >>> latest_live(reg.store, "other", Signer(None)) is None
    True
    """
    seq = above = top_slot(store, name)  # above: the lowest slot present seen so far
    while seq > 0:
        slot = read_slot(store, name, seq, signer)
        seq -= 1
        if slot is None:
            if above - seq > _MAX_MISSING:
                raise _hole(name, seq + 1, above)
            continue  # a short hole, as gc left before it kept dead slots
        above = seq + 1
        if slot.get("dead"):
            continue  # a dead registration
        key = manifest_key(name, slot["version"])
        try:
            mv = parse_manifest(key, store.read(key), signer)
        except FileNotFoundError:
            continue  # a registration not (yet) committed
        if (
            mv.registration == slot.get("registration")
            and mv.sequence == seq + 1
            and version_state(store, name, mv.version, signer) is VersionState.LIVE
        ):
            return mv
    return None
