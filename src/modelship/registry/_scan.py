"""Every version of a model at once: the listing of ``versions/`` decides, a snapshot helps.

Used by ``versions(name)`` without a page limit. The manifests the listing names are taken
from the newest index snapshot where it has them and read one by one otherwise (a
snapshot is only a cache: see :mod:`~modelship.registry._snapshots`). Which versions to
hide is decided by the archive and purge markers (:mod:`~modelship.registry._states`),
checked when the registry signs.
"""

from __future__ import annotations

import functools

from modelship._model_version import ModelVersion, VersionState
from modelship._names import check_stored, check_version
from modelship.registry._layout import folder, is_document, number_of
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer
from modelship.registry._snapshots import read_snapshot
from modelship.registry._states import check_marker

__all__ = ["committed_versions", "hidden_versions"]


def committed_versions(
    store: Store, name: str, names: list[str], signer: Signer
) -> tuple[list[ModelVersion], int, list[str], bool]:
    """The versions whose manifests are ``names`` (a listing of ``versions/``), checked.

    Returns them (in no order), how many manifests were read one by one (the rest came
    from a snapshot), the keys of the snapshots there are and whether the newest is
    damaged, for the caller to decide whether to write a new one.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://committed-versions-doc")
    >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> found, one_by_one, snapshots, damaged = committed_versions(
    ...     reg.store, "m", reg.store.list("models/m/versions"), Signer(None))
    >>> [mv.version for mv in found], one_by_one, snapshots, damaged
    (['1'], 1, [], False)
    """
    versions = folder(name, "versions")
    listed = {n for n in names if n.endswith(".json")}
    for n in listed:
        check_stored(check_version, number_of(n), f"{versions}/{n}")
    parse = functools.partial(parse_manifest, signer=signer)
    cached, snapshots, damaged = read_snapshot(store, name, listed, parse)
    missing = [f"{versions}/{n}" for n in sorted(listed - cached.keys())]
    found = list(cached.values())
    found += [parse(k, d) for k, d in store.read_many(missing).items()]
    return found, len(missing), snapshots, damaged


def hidden_versions(store: Store, name: str, signer: Signer, *, include_archived: bool) -> set[str]:
    """The versions of ``name`` a listing leaves out: purged ones, and archived ones unless
    ``include_archived``. With a signing key, each marker's signature is checked.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://hidden-versions-doc")
    >>> for _ in range(2):
    ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.delete("m", "1")
    >>> hidden_versions(reg.store, "m", Signer(None), include_archived=False)
    {'1'}
    """
    states = [VersionState.PURGED] + ([] if include_archived else [VersionState.ARCHIVED])
    markers = [
        f"{folder(name, state.value)}/{n}"
        for state in states
        for n in store.list(folder(name, state.value))
        if is_document(n)  # a stray file (.DS_Store, notes.txt) is skipped, as pages skip it
    ]
    if signer.key is not None:
        for key, data in store.read_many(markers).items():
            check_marker(key, data, signer)
    return {number_of(key) for key in markers}
