"""Version states as marker keys: a version is archived or purged when its marker exists.

``models/<name>/archived/<v>.json`` and ``models/<name>/purged/<v>.json`` (see
:mod:`~modelship.registry._layout`) are created exclusively and signed like every other
document, so of two writers marking one version, exactly one creates the marker; a
version with neither marker is live. Purged wins over archived.
"""

from __future__ import annotations

import uuid
from typing import Any

from modelship._model_version import VersionState
from modelship.errors import IntegrityError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import state_key
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = ["check_marker", "mark", "version_state"]


def check_marker(key: str, data: bytes, signer: Signer) -> None:
    """Check an archive or purge marker read at ``key``: a JSON object, signed (with a key).

    Examples
    --------
    >>> check_marker("models/m/archived/1.json", b'{"by": "ana"}', Signer(None))
    >>> check_marker("models/m/archived/1.json", b"[]", Signer(None))
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: marker models/m/archived/1.json is not a JSON object: ...
    """
    doc = parse_json(data, f"marker {key}")
    if not isinstance(doc, dict):
        raise IntegrityError(f"marker {key} is not a JSON object: the registry was damaged")
    signer.check_doc(doc, key, f"marker {key}")


def version_state(store: Store, name: str, version: str, signer: Signer) -> VersionState:
    """Where ``version`` of ``name`` stands: at most two reads (purged, then archived).

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store, signer = MemoryStore(), Signer(None)
    >>> version_state(store, "m", "1", signer)
    <VersionState.LIVE: 'live'>
    >>> mark(store, state_key("m", "archived", "1"), {"by": "ana"}, signer)
    True
    >>> version_state(store, "m", "1", signer)
    <VersionState.ARCHIVED: 'archived'>
    """
    for state in (VersionState.PURGED, VersionState.ARCHIVED):
        key = state_key(name, state.value, version)
        try:
            data = store.read(key)
        except FileNotFoundError:
            continue
        check_marker(key, data, signer)
        return state
    return VersionState.LIVE


def mark(store: Store, key: str, doc: dict[str, Any], signer: Signer) -> bool:
    """Create the (signed) state marker ``key`` (a :func:`state_key`); False if it existed.

    Atomic by the store's exclusive create: of two writers, one creates the marker and
    the other is told it existed (and the first marker is kept as it is).

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store, key = MemoryStore(), state_key("m", VersionState.PURGED.value, "1")
    >>> [mark(store, key, {}, Signer(None)) for _ in range(2)]
    [True, False]
    """
    # A nonce makes each writer's marker its own: a store that takes a create answered
    # "exists" for its own when the key holds equal bytes (S3, after a lost reply) would
    # otherwise tell two purges by one user in one microsecond that each made the marker.
    sealed = signer.seal_bytes({**doc, "nonce": uuid.uuid4().hex}, key)
    try:
        store.create(key, sealed)
    except FileExistsError:
        return False
    return True
