"""Whether a store may be written by many processes: it must refuse a second exclusive create.

Every write of a registry (commits, alias moves, markers) relies on the store's exclusive
create of a key succeeding for exactly one writer. A store that says it offers it is
probed once per handle, with a key of its own under ``probes/``, before the first write;
a store that passes gets the registry's marker document (``registry.json``), so that a
reader can tell an empty registry from a location where none was ever made.
"""

from __future__ import annotations

import contextlib
import uuid

from modelship._json import canonical_json
from modelship.registry._layout import PROBES, REGISTRY_MARKER
from modelship.registry._protocols import Store

__all__ = ["REGISTRY_FORMAT", "honours_exclusive_creates"]

REGISTRY_FORMAT = 1


def honours_exclusive_creates(store: Store) -> bool:
    """Whether ``store`` refuses a second exclusive create of one key; marks the registry.

    Creates and deletes one probe key. A store that does not claim ``exclusive_creates``
    is not probed (False).

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> honours_exclusive_creates(store), store.exists(REGISTRY_MARKER)
    (True, True)
    """
    if not store.exclusive_creates:
        return False
    probe = f"{PROBES}/{uuid.uuid4().hex}"
    honoured = False
    store.create(probe, b"1")
    try:
        store.create(probe, b"2")
    except FileExistsError:
        honoured = True
    finally:
        store.delete(probe)
    if honoured:
        with contextlib.suppress(FileExistsError):  # made by another writer: kept as it is
            store.create(REGISTRY_MARKER, canonical_json({"format": REGISTRY_FORMAT}))
    return honoured
