"""The latest live version, found from the top sequence slot down.

``latest`` is the last registered version that is neither archived nor purged. It is
found without listing: from the highest slot (:func:`~modelship.registry._hints.top_slot`,
a few probes), one step down per slot, skipping dead slots, slots gc removed,
registrations not yet committed and versions that are not live. A manifest counts only
if it is the registration its slot names, so a manifest written by a registration that
lost its slot is never taken for the latest.
"""

from __future__ import annotations

from modelship._model_version import ModelVersion, VersionState
from modelship.registry._hints import top_slot
from modelship.registry._layout import manifest_key
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer
from modelship.registry._slots import read_slot
from modelship.registry._states import version_state

__all__ = ["latest_live"]


def latest_live(store: Store, name: str, signer: Signer) -> ModelVersion | None:
    """The last registered live version of ``name``; None if there is none.

    Reads a handful of small documents however many versions there are; bounded by the
    number of slots (one step down per slot).

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
    seq = top_slot(store, name)
    while seq > 0:
        slot = read_slot(store, name, seq, signer)
        seq -= 1
        if slot is None or slot.get("dead"):
            continue  # a dead registration, or a slot gc removed
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
