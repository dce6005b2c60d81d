"""Whether a store may be written by many processes: it must refuse a second exclusive create.

Every write of a registry (commits, alias moves, markers) relies on the store's exclusive
create of a key succeeding for exactly one writer. A store that says it offers it is
probed once per handle, with a key of its own under ``probes/``, before the first write;
a store that passes gets the registry's marker document (``registry.json``), so that a
reader can tell an empty registry from a location where none was ever made.
"""

from __future__ import annotations

import contextlib
import logging
import uuid

from modelship._json import canonical_json
from modelship._shown import hide_credentials
from modelship.errors import StoreError
from modelship.registry._layout import PROBES, REGISTRY_MARKER
from modelship.registry._protocols import Store

__all__ = ["REGISTRY_FORMAT", "honours_exclusive_creates"]

REGISTRY_FORMAT = 1

_log = logging.getLogger("modelship.registry")


def honours_exclusive_creates(store: Store) -> bool:
    """Whether ``store`` refuses a second exclusive create of one key; marks the registry.

    Creates and deletes one probe key. A store that does not claim ``exclusive_creates``
    is not probed (False). A probe key that cannot be deleted (a writer given no delete
    right, as docs/registry.md advises) is left for gc, which removes ``.probe/`` keys
    older than its grace period; it is logged at debug level, and the write goes on.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> honours_exclusive_creates(store), store.exists(REGISTRY_MARKER)
    (True, True)
    """
    if not store.exclusive_creates:
        return False
    token = uuid.uuid4().hex
    probe = f"{PROBES}/{token}"
    try:
        honoured = _refuses_second_create(store, probe, token)
    finally:
        _delete_probe(store, probe)
    if honoured:
        with contextlib.suppress(FileExistsError):  # made by another writer: kept as it is
            store.create(REGISTRY_MARKER, canonical_json({"format": REGISTRY_FORMAT}))
    return honoured


def _delete_probe(store: Store, probe: str) -> None:
    """Delete ``probe``; a failure (no delete right, a store error) leaves it for gc."""
    try:
        store.delete(probe)
    except StoreError as exc:
        _log.debug("could not delete the probe key %s (left for gc): %s", probe, exc)


def _refuses_second_create(store: Store, probe: str, token: str) -> bool:
    """Create ``probe``, then whether a second create of it, with other bytes, is refused."""
    first = f"first {token}".encode()
    try:
        store.create(probe, first)
    except FileExistsError:
        # Nobody else writes this key (its name is new), so a refusal holding these
        # bytes is this create's own, carried out but its reply lost and its retry
        # refused; other bytes there mean the store cannot be trusted to decide.
        if _read(store, probe) != first:
            raise StoreError(
                "the store at "
                f"{hide_credentials(store.url)} refused to create the new key {probe} and holds "
                "other bytes there: it does not create keys exclusively as it claims"
            ) from None
    try:
        store.create(probe, f"second {token}".encode())
    except FileExistsError:
        return True
    return False


def _read(store: Store, key: str) -> bytes | None:
    """The bytes at ``key``; None if it is missing."""
    try:
        return store.read(key)
    except FileNotFoundError:
        return None
