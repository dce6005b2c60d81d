"""The latest live version, found from the top sequence slot down.

``latest`` is the last registered version that is neither archived nor purged. It is
found without listing: from the highest slot (:func:`~modelship.registry._hints.top_slot`,
a few probes), one step down per slot, skipping dead slots, registrations not yet
committed and versions that are not live. A manifest counts only if it is the
registration its slot names, so a manifest written by a registration that lost its slot
is never taken for the latest. A slot is tied to its number too, also without a signing
key (which binds a signed slot to its key): a registration's manifest holds the number of
the last slot it claimed, and it claims a version at more than one slot only when a
create's reply was lost (:func:`~modelship.registry._commit.commit` retries at the next
slot with the same claim), always upwards, so its manifest is at the highest of them. A
slot naming its registration's manifest of a lower number, or of a higher one whose slot
does not hold that claim, and two slots of one registration's claim below the slot its
manifest names, hold another slot's document (a stale replica, a wrong shard) and raise
:class:`~modelship.IntegrityError`, rather than step down to an older version in silence.
A lower slot of a retried claim is stepped down from. Without a signing key, a slot
answered with a higher slot's document of the same registration cannot be told from such
a retry, and is stepped down from too; with one, its signature (bound to its key) fails.

Slots have no holes (the invariant of :mod:`~modelship.registry._hints`): none is ever
removed, and slot ``n`` is created only once ``n - 1`` exists. A slot missing below the
top is damage: one deleted, or a stray one above the top (a file copied in by hand). A
registry from before gc kept dead slots as tombstones may hold short runs of missing
ones (the dead slots gc deleted then), and they are skipped; a run of
:data:`_MAX_MISSING` raises :class:`~modelship.IntegrityError` naming it, rather than
reading one number a step down to the next slot present (a stray slot at ``10**9`` would
take days).

Versions that are not live are skipped without reading their markers. The walk reads the
markers of the versions it meets (:func:`~modelship.registry._states.version_state`) only
until it meets the first one that is not live; it then lists the ``archived/`` and
``purged/`` folders once (names only, as a listing page does) and skips every version
listed there without reading its manifest or marker, so a run of archived versions at
the top costs one small slot each, read :data:`_MAX_BATCH` at most at once (in doubling
batches: a few round trips, not one per version), and no marker. A version not listed
there is taken only after its markers are read, as before. With a signing key, the
markers of the versions skipped are read (together) and checked, as every marker the walk
meets was before: a marker not signed with the registry's key raises rather than hide a
version from ``latest``, and one listed that cannot be read (a folder of that name, made by
a writer without the key, or a marker deleted since the listing) marks nothing: that
version's markers are read one by one, as the walk one slot at a time reads them. A
batch may read slots below the answer; a slot is checked only
once the walk reaches it, and only the markers of the versions skipped above the answer
are read, so what lies below the answer is never judged, as when the walk read one slot
at a time: damage there does not stop ``latest`` (gc still reports it).

Like the walk one slot at a time, this is not one atomic read; each marker created or
deleted meanwhile is seen or not. The version returned was live when its markers were
read, and each version registered above it was not live when the walk looked at it: when
its markers were read, or when the folders were listed (just after the first one not live
was read; that one is read again if the listing no longer holds it, so a restore of it in
between is seen). A version restored after the listing, below the top, is skipped, as
the walk skipped one restored just after it read its markers (with a signing key, one
restored before its marker is read is seen).
"""

from __future__ import annotations

from typing import Any

from modelship._model_version import ModelVersion, VersionState
from modelship.errors import IntegrityError
from modelship.registry._hints import top_slot
from modelship.registry._layout import folder, is_document, manifest_key, number_of, slot_key
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer
from modelship.registry._slots import check_slot, read_slot
from modelship.registry._states import check_marker, version_state

__all__ = ["latest_live"]

# Missing slots in a row that a walk skips before it reports the hole. Each costs one read
# of an absent key (about 20 ms on S3: 5 s in all); the runs of dead slots that gc deleted
# before it kept them (one per registration that died or lost a race) are far shorter.
_MAX_MISSING = 256
# The most slots read at once past the first version not live. Batches double from
# one, so the walk reads at most twice the slots it needs and one round trip per doubling
# (9 for 300 archived versions); a slot is about 100 bytes, so a batch is ~25 KiB.
_MAX_BATCH = 256


def _hole(name: str, lowest: int, above: int) -> IntegrityError:
    return IntegrityError(
        f"sequence slots {lowest} to {lowest + _MAX_MISSING - 1} of {name} are missing below "
        f"slot {above}, and slots are never removed: the registry was damaged. If "
        f"{slot_key(name, above)} does not belong there (a stray file, copied in by hand), "
        "delete it; otherwise restore the missing slots from a copy of the registry"
    )


def _twice(name: str, lower: int, upper: int, version: str, at: int) -> IntegrityError:
    """The error for slots ``lower`` and ``upper`` (the highest slot holding it) holding one
    registration's claim of ``version``, whose manifest says slot ``at``: a claim
    retried after a lost reply (see :func:`_committed`) has its manifest at ``upper``, so
    one of the slots holds the other's document."""
    return IntegrityError(
        f"sequence slots {slot_key(name, upper)} and {slot_key(name, lower)} hold the same "
        f"registration's claim of version {version!r}, whose manifest "
        f"{manifest_key(name, version)} says it took slot {at}; a registration claims a "
        "version again only at a higher slot (a create retried after its reply was lost), "
        "and its manifest holds the highest: the store answered one slot's document for "
        "the other (a stale replica, a wrong shard, a file copied in by hand), so the "
        "latest version cannot be told. Read them again once the store has settled, or "
        "restore them from a copy of the registry"
    )


def _manifest(store: Store, name: str, slot: dict[str, Any], signer: Signer) -> ModelVersion | None:
    """The manifest of the version ``slot`` names, read and checked; None if there is none."""
    key = manifest_key(name, slot["version"])
    try:
        return parse_manifest(key, store.read(key), signer)
    except FileNotFoundError:
        return None


def _holds(store: Store, name: str, seq: int, slot: dict[str, Any], signer: Signer) -> bool:
    """Whether slot ``seq`` of ``name`` holds ``slot``'s claim (version and registration)."""
    held = read_slot(store, name, seq, signer)
    return (
        held is not None
        and not held.get("dead")
        and (held["version"], held["registration"]) == (slot["version"], slot["registration"])
    )


def _marked(store: Store, name: str) -> dict[str, str]:
    """The marker key of each archived or purged version of ``name``, by version: the
    folders listed by name, no marker read. Purged wins over archived."""
    marked: dict[str, str] = {}
    for state in (VersionState.PURGED, VersionState.ARCHIVED):
        where = folder(name, state.value)
        for entry in store.list(where):
            if is_document(entry):
                marked.setdefault(number_of(entry), f"{where}/{entry}")
    return marked


def _slots(store: Store, name: str, seqs: range) -> list[tuple[int, str, bytes | None]]:
    """Slots ``seqs`` of ``name`` as stored, by number and key, in the order of ``seqs``;
    None where missing. Not checked: the walk checks only the slots it reaches, so one
    read ahead below the answer (damaged or not) is never judged."""
    keys = {s: slot_key(name, s) for s in seqs}
    if len(keys) == 1:
        ((s, key),) = keys.items()
        try:
            return [(s, key, store.read(key))]
        except FileNotFoundError:
            return [(s, key, None)]
    got = store.read_many(keys.values())
    return [(s, k, got.get(k)) for s, k in keys.items()]


def _check_skipped(
    store: Store, name: str, skipped: list[tuple[int, dict[str, Any], str]], signer: Signer
) -> ModelVersion | None:
    """With a signing key, read and check the markers that made the walk skip versions
    (``skipped``: slot number, slot and marker key, in the walk's order), as the walk one
    slot at a time reads each version's markers; None, or the first of those versions
    that is live after all.

    A marker listed but not read (a folder of that name, made by a writer without the
    key, or one deleted since the listing: its version restored) marks nothing: that
    version's markers are read one by one (:func:`version_state`) and, if it is committed
    and live, it is the answer, above any found below it. A marker read is checked, so one
    not signed with the registry's key raises rather than hide its version."""
    if signer.key is None or not skipped:
        skipped.clear()
        return None
    got = store.read_many(key for _, _, key in skipped)
    found = None
    for s, slot, key in skipped:
        if key in got:
            check_marker(key, got[key], signer)
            continue
        mv = _committed(store, name, slot, s, signer)
        if mv is not None and version_state(store, name, mv.version, signer) is VersionState.LIVE:
            found = mv
            break
    skipped.clear()
    return found


def _committed(
    store: Store, name: str, slot: dict[str, Any], seq: int, signer: Signer
) -> ModelVersion | None:
    """The manifest slot ``seq`` names, if that slot's registration committed it.

    None for a registration not (yet) committed, or one whose version another registration
    committed (it lost the race for an explicit version, or an explicit version took the
    number it tried), or a lower slot of a claim retried: the walk steps down.

    A registration can claim one version at several slots: :func:`~._commit.commit` makes
    a new registration id per call and moves to the next slot, with the same explicit
    version, when a slot's create answers "taken"; a store whose client retries a create
    whose first attempt landed but whose reply was lost answers just that. Its manifest
    holds the number of the last slot it claimed, the highest (copies keep it: :mod:`~._copy`
    copies slots by key; gc only turns slots of uncommitted registrations dead). So a
    manifest of the slot's own registration at a higher number whose slot holds the same
    claim makes this slot a retried one (one more slot read, only then). Raises
    :class:`~modelship.IntegrityError` if the manifest is the slot's own registration's
    at a lower number, or at a higher one whose slot does not hold the claim: the document
    read at this slot is another slot's (a stale replica, a wrong shard, a file copied in
    by hand), and the version it names is not this slot's: stepping down would answer an
    older version as the latest, in silence.
    """
    mv = _manifest(store, name, slot, signer)
    if mv is None:
        return None  # a registration not (yet) committed
    if mv.registration != slot.get("registration"):
        return None  # another registration committed this version: this one lost
    if mv.sequence != seq:
        if mv.sequence > seq and _holds(store, name, mv.sequence, slot, signer):
            return None  # a lower slot of a claim retried after a lost reply
        at = slot_key(name, seq)
        raise IntegrityError(
            f"sequence slot {at} holds the claim of version {slot['version']!r} by "
            f"registration {mv.registration}, whose manifest {manifest_key(name, mv.version)} "
            f"says it took slot {mv.sequence}: the store answered another slot's document "
            f"for {at} (a stale replica, a wrong shard, a file copied in by hand), so the "
            f"latest version cannot be told. Read {at} again once the store has settled, or "
            "restore it from a copy of the registry"
        )
    return mv


def latest_live(store: Store, name: str, signer: Signer) -> ModelVersion | None:  # noqa: PLR0912 - one walk: each slot's case (missing, dead, listed, uncommitted, live) and the skipped markers settled at each exit
    """The last registered live version of ``name``; None if there is none.

    Reads a handful of small documents when the newest version is live. Past a version
    that is not live, the versions listed archived or purged cost one slot each (read in
    batches) and no marker (see the module docstring); bounded by the number of slots. A
    run of :data:`_MAX_MISSING` missing slots below the top raises
    :class:`~modelship.IntegrityError` (see the module docstring).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://latest-live-doc")
    >>> for _ in range(3):
    ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.delete("m", "3"); reg.delete("m", "2")
    >>> latest_live(reg.store, "m", Signer(None)).version
    '1'
    >>> latest_live(reg.store, "other", Signer(None)) is None
    True
    """
    seq = above = top_slot(store, name)  # above: the lowest slot present seen so far
    marked: dict[str, str] | None = None  # listed once the walk meets a version not live
    skipped: list[tuple[int, dict[str, Any], str]] = []  # versions skipped as marked
    claims: dict[tuple[str, str], int] = {}  # the highest slot of each claim met
    batch = 1
    while seq > 0:
        seqs = range(seq, max(seq - batch, 0), -1)
        seq = seqs[-1] - 1
        try:
            for s, key, data in _slots(store, name, seqs):
                if data is None:
                    if above - s >= _MAX_MISSING:
                        raise _hole(name, s, above)
                    continue  # a short hole, as gc left before it kept dead slots
                slot = check_slot(data, key, signer)  # only once the walk reaches it
                above = s
                if slot.get("dead"):
                    continue  # a dead registration
                upper = claims.setdefault((slot["version"], slot["registration"]), s)
                if upper != s:
                    # A claim retried, or another slot's document: its manifest tells them
                    # apart (one read, only for a claim met twice).
                    mv = _manifest(store, name, slot, signer)
                    if (
                        mv
                        and mv.registration == slot["registration"]
                        and mv.sequence != upper
                        # Higher than any slot seen: retried again after this walk read
                        # the top slot (a registration still claiming) if that slot holds it.
                        and not (
                            mv.sequence > upper and _holds(store, name, mv.sequence, slot, signer)
                        )
                    ):
                        raise _twice(name, s, upper, mv.version, mv.sequence)
                if marked is not None and slot["version"] in marked:
                    skipped.append((s, slot, marked[slot["version"]]))
                    continue  # archived or purged when listed: no manifest or marker read
                mv = _committed(store, name, slot, s, signer)
                if mv is None:
                    continue
                live = version_state(store, name, mv.version, signer) is VersionState.LIVE
                if not live and marked is None:
                    marked = _marked(store, name)
                    # Restored between the read of its markers and the listing: read again.
                    if mv.version not in marked:
                        live = version_state(store, name, mv.version, signer) is VersionState.LIVE
                if live:
                    return _check_skipped(store, name, skipped, signer) or mv
        except IntegrityError:
            # Damage met below versions skipped: their markers first, as the walk one slot
            # at a time reads them before it gets here (one may raise, or be live after all).
            found = _check_skipped(store, name, skipped, signer)
            if found is not None:
                return found
            raise
        found = _check_skipped(store, name, skipped, signer)
        if found is not None:
            return found
        if marked is not None:
            batch = min(batch * 2, _MAX_BATCH)
    return None
