"""Garbage collection: what writers that died left behind, and what purges leave unused.

Nothing committed is ever touched. Each candidate must be older than a grace period, so a
registration in flight keeps its staged files, its slot and its blob. A dead slot becomes a
tombstone, never a hole, because readers probe slots forward and stop at the first hole:
even the highest slot, as a registration may claim the one above it at any moment.

The blobs a registration refers to (those it stored, and those it found stored already,
perhaps as an old orphan, and reuses) are protected by a handshake, not by timing. A gc
run creates its mark under ``.gc/``, then lists slots, then manifests, then blobs, deletes,
and removes its mark last. A registration stores its blobs and claims its slot, then
(:func:`refuse_during_gc`) looks for marks and, finding none, checks that each of its
blobs still exists, and only then creates its manifest. Of any gc run:

- one whose mark is there when the registration looks makes it give up its slot
  without committing;
- one that creates its mark after the slot is claimed lists slots after that, finds the
  slot in flight (or its manifest: the blobs are referenced) and deletes no blob;
- any other one created its mark before the slot was claimed and removed it before the
  registration looked, so every delete it made came before the existence check, which
  sees it: the registration gives up its slot without committing.

So no version commits a reference to a blob gc removed, and a registration that is
refused loses nothing but its number (register again: the bytes are stored anew). The
second case is why the blob check alone would not do (gc may delete just after it) and
the third why the mark check alone would not: a gc that ran whole in the gap between
finding a blob stored and claiming the slot leaves no mark behind. A slot counts as in
flight while it is younger than the grace period; with ``grace_seconds=0`` nothing is in
flight, so such a gc is safe only while no one registers. A slot is old only when both
clocks that date it say so (:func:`in_flight`): its time in the store
(:meth:`~modelship.registry.Store.modified`), and the time written in it, the registering
machine's clock. Either alone could be behind by more than the grace period (a store's
clock may be 15 minutes off, a writer's anything), and would have a slot claimed a moment
ago declared dead while it commits: a version committed over a dead slot, which
``latest`` and pages never show, and its new blob removed as unused. A written time more
than 15 minutes ahead of gc's clock (:data:`_AHEAD`) does not count, or a writer whose
clock runs far ahead would keep its dead slot, and every unused blob, for as long; such a
slot is aged by the store's time alone. Copy marks are aged the same way (they hold the
copying machine's time). The grace period must exceed the time a registration takes from
claiming its slot to creating its manifest (a few store calls; the default hour exceeds
it by far). A mark older than ``_RUN_LIFETIME`` is
from a gc that died and is ignored, then removed. Only the registry's documents under
``.gc/`` (``<run>.json``) are marks: a stray file there (``.DS_Store``) is ignored.

A copy (:func:`~modelship.registry.copy_registry`) takes part as a registration does: it
creates a copy mark (:func:`copying`) where a registration claims its slot, then looks for
gc marks and blobs, then creates its slots, markers and manifests, and removes the mark. A
gc counts a copy mark younger than its grace period as a registration in flight, so the
same three cases hold with "copy mark" for "slot". A copy creates all of a model's slots
before its manifests, and one that stopped leaves them for the next copy, so a copied slot
may wait longer for its manifest than a registration's: while a copy mark younger than the
grace period exists, gc declares no slot dead. A gc lists copy marks
after creating its own mark and before listing slots, so a copied slot it lists was
created after the copy's :func:`refuse_during_gc` found no gc mark, so after the copy mark,
which that listing therefore sees. A copy that stops between its first slot and its last
manifest leaves its mark (:attr:`CopyMark.keep`), so copying again within the grace period
resumes; after it, gc removes the mark and declares those slots dead.

In a signing registry, what gc acts on is checked with the registry's key (by any handle
holding it, ``verify_signatures=False`` or not): a slot it turns into a signed tombstone,
and the purge and archive markers of a version whose bytes it takes for unused. One that
fails the check (written by someone without the key) is a
:class:`~modelship.errors.RepairWarning`, left alone: a forged slot would otherwise become
a validly signed dead one, hiding a committed version from ``latest``, and a forged purge
marker would cost a live version its bytes. A purge marker counts without the version's
archive marker (a restore that raced a purge which went on deleted it), but one beside it
is checked too. In a registry that does not sign (no signing policy recorded), gc checks
nothing, key or not: its markers and slots were never signed, and its tombstones are not.

A name claim (``names/<case-folded name>.json``, see :mod:`~._claims`) is created by a
registration once its blobs are stored, right before its first slot; one that stopped in
between leaves a claim naming a spelling that is no model, which refuses every other
spelling of the name. gc removes such a claim once it is older than the grace period (by
the store's time: a claim holds no written time) and its spelling has no folder under
``models/``; a claim of a listed spelling is never removed, and none is while a copy mark
is in flight (a copy claims its names inside its mark, once their blobs are copied). The
delete is one call, not atomic with the checks before it, and need not be: a registration
or copy holding the claim reads it again after creating its slots and commits only if it
still names its spelling (:func:`~._claims.confirm_claim`), so a claim removed under a
writer in flight costs it a ``Conflict`` (register or copy again), never two spellings of
one name.

gc collects only a registry: a location that holds files in the folders gc collects but
no ``registry.json`` (:func:`refuse_outside_registry`) is refused before anything is
written or deleted, ``dry_run`` or not (a registry restored file by file, whose manifests
and marker have not arrived, would lose every blob).

A purge takes no part in this handshake: a purge of a version whose bytes a registration
reuses, run after the registration's blob check, leaves it committed without them (hence
"do not purge while registering the same artifact elsewhere", :meth:`Registry.purge`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from modelship._json import canonical_json
from modelship._model_version import VersionState
from modelship._names import check_model_name
from modelship._shown import hide_credentials
from modelship.errors import (
    Conflict,
    IntegrityError,
    InvalidName,
    RegistryNotFound,
    RepairWarning,
    StoreError,
)
from modelship.registry._aliases import check_all_read, history
from modelship.registry._claims import claim_holder
from modelship.registry._commit import dead_slot
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    BLOBS,
    GC_RUNS,
    MODELS,
    NAMES,
    PROBES,
    REGISTRY_MARKER,
    STAGING,
    blob_key,
    folder,
    is_document,
    is_numbered,
    number_of,
)
from modelship.registry._lineage import now
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import AbortsUploads, Store
from modelship.registry._signing import UNCHECKED, Signer
from modelship.registry._slots import check_slot
from modelship.registry._states import check_marker
from modelship.registry._tags import tag_log_keys, tagged_versions

__all__ = [
    "CopyMark",
    "GcMarkLeft",
    "GcReport",
    "collect",
    "copying",
    "referenced_digests",
    "refuse_during_gc",
    "refuse_outside_registry",
]

_log = logging.getLogger("modelship.registry")

_RUN_LIFETIME = 24 * 3600.0
"""Seconds after which a gc mark is taken to be left by a gc that died."""
PURGE_SETTLE = 3600.0
"""Seconds a purge marker must be old before gc takes its purge for done. A purge decides
within a few store calls; one stalled longer than this while a restore overtakes it can
still lose its version's bytes to a gc (see :meth:`Registry.purge`)."""
_COPY_MARK = "copy-"
"""How the name of a copy mark starts (under ``.staging/``, so gc removes one left by a
copy that died, once it is older than the grace period, as it removes staged files)."""


@attrs.frozen
class GcReport:
    """What :meth:`Registry.gc` removed (or, with ``dry_run``, would remove).

    ``staging``, ``dead_slots``, ``blobs`` and ``name_claims`` are keys in the store;
    ``uploads`` are multipart uploads that never completed (S3), each named
    ``<key>?uploadId=<id>``, that were (or would be) aborted.

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
    name_claims: tuple[str, ...] = ()
    """Name claims (``names/<case-folded name>.json``) left by registrations that stopped
    between claiming the name and claiming their first slot: they name a spelling that is
    no listed model, and would refuse every other spelling of the name. Last, so that a
    report built with positional arguments keeps its meaning."""

    @property
    def removed(self) -> int:
        """How many keys were (or would be) removed and uploads aborted."""
        return (
            len(self.staging)
            + len(self.dead_slots)
            + len(self.blobs)
            + len(self.uploads)
            + len(self.name_claims)
        )


def _older(store: Store, key: str, cutoff: float) -> bool:
    try:
        return store.modified(key) < cutoff
    except FileNotFoundError:
        return False


_AHEAD = 15 * 60.0
"""Seconds ahead of this machine's clock that the time written in a slot or copy mark may
be and still count (as :meth:`~modelship.registry.Store.modified` may be off by 15
minutes): one further ahead, from a writer whose clock is wrong, would keep its slot (and
every unused blob) in flight until that time comes."""


def _written(doc: Mapping[str, Any]) -> float | None:
    """The time ``doc`` says it was written (its ``at``, the writer's clock); None if it
    has none that can be read."""
    try:
        at = datetime.fromisoformat(doc["at"]).timestamp()
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    return at if math.isfinite(at) else None


def in_flight(store: Store, key: str, doc: Mapping[str, Any], cutoff: float) -> bool:
    """Whether ``key`` (a slot or a copy mark, holding ``doc``) is younger than ``cutoff``
    by either clock that dates it: its time in the store
    (:meth:`~modelship.registry.Store.modified`) or the time its writer wrote in it.

    It is old only when both say so: the store's clock behind by more than the grace
    period makes a slot claimed a moment ago look old by the store's time, and the
    writer's clock behind makes it look old by the time written in it. A key gone since it
    was read, or whose store time is after ``cutoff`` (a store clock ahead) is in flight.
    A written time missing or not readable, or more than :data:`_AHEAD` ahead of this
    machine's clock, does not count: the store's time alone decides.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> store.create("s", b"{}")
    >>> in_flight(store, "s", {"at": "2000-01-01T00:00:00+00:00"}, time.time() - 60)
    True
    >>> cutoff = time.time() + 60  # after the store wrote "s": old by the store's time
    >>> in_flight(store, "s", {"at": "2000-01-01T00:00:00+00:00"}, cutoff)
    False
    >>> just_now = datetime.fromtimestamp(cutoff + 1).astimezone().isoformat()
    >>> in_flight(store, "s", {"at": just_now}, cutoff)  # young by its writer's clock
    True
    >>> in_flight(store, "s", {"at": "3000-01-01T00:00:00+00:00"}, cutoff)
    False
    >>> in_flight(store, "gone", {}, cutoff)
    True
    """
    if not _older(store, key, cutoff):  # young in the store, or gone since it was read
        return True
    at = _written(doc)
    return at is not None and cutoff <= at <= time.time() + _AHEAD


def _runs(store: Store) -> list[tuple[str, float]]:
    """The gc marks in the store: (key, age in seconds); one younger than its lifetime
    (``_RUN_LIFETIME``) is live.

    A mark is a document (``<run>.json``, as :func:`collect` names it; any such name
    counts, as a mark wrongly ignored would let a registration commit a blob a gc
    removes); anything else there (``.DS_Store``, ``notes.txt``) is not the registry's,
    and neither refuses a registration nor is removed."""
    found = []
    for entry in store.list(GC_RUNS):
        if not is_document(entry):
            continue
        key = f"{GC_RUNS}/{entry}"
        with contextlib.suppress(FileNotFoundError):
            found.append((key, time.time() - store.modified(key)))
    return found


def _age(seconds: float) -> str:
    """``seconds`` as a person reads an age: "42 s", "17 min", "3.5 h"."""
    if seconds < 120:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{round(seconds / 3600, 1):g} h"


def refuse_during_gc(store: Store, digests: Iterable[str]) -> None:
    """Raise :class:`~modelship.Conflict` if a gc is running, or removed one of ``digests``.

    A registration's last check: called after its slot is claimed and before its
    manifest is created, with the digests of every blob the manifest will refer to (one
    ``exists`` call each). See the module docstring for why this makes reusing a blob
    safe, and why the marks are looked at before the blobs.
    """
    live = [(key, age) for key, age in _runs(store) if age < _RUN_LIFETIME]
    if live:
        key, age = min(live, key=lambda run: run[1])
        raise Conflict(
            "a garbage collection is running on "
            f"{hide_credentials(store.url)} (its mark {key} was created {_age(age)} ago); "
            "this registration was not committed (it could have reused a blob the "
            "collection removes). Register again when it ends. If no gc is running (one "
            f"that failed or was killed left its mark), delete {key}, or wait until it "
            f"expires, {_age(_RUN_LIFETIME)} after it was created"
        )
    for digest in dict.fromkeys(digests):  # an attachment may share the artifact's blob
        if not store.exists(blob_key(digest)):
            raise Conflict(
                "a garbage collection on "
                f"{hide_credentials(store.url)} removed the blob {digest} this "
                "registration stored or reused (or a purge of a version with the same bytes "
                "did: purges are not coordinated with registrations, see Registry.purge); "
                "the registration was not committed. Register again: the bytes will be "
                "stored anew"
            )


@attrs.define
class CopyMark:
    """A copy mark held by :func:`copying`."""

    key: str
    keep: bool = False
    """Whether the mark stays if the copy stops here: set while the copy has created slots
    whose manifests are not all created yet (gc then declares none of them dead until the
    mark is older than its grace period, so copying again within it resumes)."""


@contextlib.contextmanager
def copying(store: Store) -> Iterator[CopyMark]:
    """Hold a copy mark in ``store`` while a copy commits slots and manifests.

    Created before the copy's :func:`refuse_during_gc` and removed once its manifests are
    created (or when the copy stops, unless :attr:`CopyMark.keep`); a gc that finds it
    (younger than the grace period) deletes no blob, as for a registration in flight, and
    declares no slot dead. See the module docstring.
    """
    mark = CopyMark(f"{STAGING}/{_COPY_MARK}{uuid.uuid4().hex}.json")
    store.create(mark.key, canonical_json({"at": now().isoformat()}))
    try:
        yield mark
    finally:
        if not mark.keep:
            try:
                store.delete(mark.key)
            except StoreError as exc:
                # A writer with no delete right (as docs/registry.md advises): the mark is
                # left under .staging/, where gc removes it once older than its grace
                # period; until then that gc only keeps blobs and slots it would remove.
                _log.debug("could not delete the copy mark %s (left for gc): %s", mark.key, exc)


def _models(store: Store) -> Iterator[str]:
    """The folders under ``models/`` whose names are valid model names. Any other (``old
    backup``, ``.DS_Store``) was not made by a registry: gc and purge read nothing in it,
    as :meth:`Registry.models` does not list it."""
    for name in store.list(MODELS):
        try:
            check_model_name(name)
        except InvalidName:
            continue
        yield name


def _copies_in_flight(store: Store, cutoff: float) -> set[str]:
    """The copy marks the store holds that are younger than ``cutoff`` (:func:`in_flight`:
    by the store's time or by the time written in them)."""
    marks = [f"{STAGING}/{n}" for n in store.list(STAGING) if n.startswith(_COPY_MARK)]
    found = store.read_many(marks)
    return {key for key in marks if in_flight(store, key, _mark_doc(found.get(key)), cutoff)}


def _stale_claims(store: Store, cutoff: float) -> list[str]:
    """The name claims left by registrations that stopped between their claim and their
    first slot: older than ``cutoff`` by the store's time, naming a spelling that has no
    folder under ``models/`` (the listing :mod:`~._claims` decides by).

    The claims are read, then aged, then the models listed: a claim deleted and created
    again since it was read is young, and a spelling listed since the claim was read is
    found. A claim of a listed spelling is never removed (a folder only grows, so such a
    claim guards a model, or slots a registration of it may still commit at). What makes
    the delete safe against a writer that holds the claim is not the age but that
    writer's check after its slot is created (:func:`~._claims.confirm_claim`: it gives
    its slot up unless the claim still names its spelling; see the comment in
    ``_claims._claim_or_holder``): a claim removed under a registration in flight (a store
    clock behind by more than the grace period, or ``grace_seconds=0``) costs that
    registration a ``Conflict``, never two spellings of one name. A document there that is
    not a claim (damaged, or naming an invalid name) is a
    :class:`~modelship.errors.RepairWarning`, left alone; a file that is no document
    (``.DS_Store``) is ignored.
    """
    keys = [f"{NAMES}/{n}" for n in store.list(NAMES) if is_document(n)]
    found: dict[str, bytes | IntegrityError] = {}
    try:
        found.update(store.read_many(keys))
    except IntegrityError:
        # One file the batch refused (over the size a document may have): each read on
        # its own, so that one is warned about and the others still decide.
        for key in keys:  # bounded by the listing
            try:
                found[key] = store.read(key)
            except FileNotFoundError:
                continue
            except IntegrityError as exc:
                found[key] = exc
    held: dict[str, str] = {}
    for key, data in found.items():
        try:
            if isinstance(data, IntegrityError):
                raise data
            holder = claim_holder(data, key)
            check_model_name(holder)
        except (IntegrityError, InvalidName) as exc:
            warnings.warn(
                f"{key} is not a name claim ({exc}); gc leaves it alone. Delete it if no "
                "model of that name is registered, or restore it from a copy of the registry",
                RepairWarning,
                stacklevel=5,
            )
            continue
        if _older(store, key, cutoff):  # gone since it was read: False
            held[key] = holder
    if not held:
        return []
    listed = set(store.list(MODELS))
    return sorted(key for key, holder in held.items() if holder not in listed)


def _mark_doc(data: bytes | None) -> Mapping[str, Any]:
    """A copy mark's document; empty if it is gone or not one (its store time decides)."""
    if data is None:
        return {}
    try:
        return _document(data, "a copy mark")
    except IntegrityError:  # not JSON, too large, a number not finite, not an object
        return {}


def _document(data: bytes, what: str) -> dict[str, Any]:
    doc = parse_json(data, what)
    if not isinstance(doc, dict):
        raise IntegrityError(f"{what} is not a JSON object; the store was damaged")
    return doc


def _listed_manifests(store: Store, keys: list[str]) -> dict[str, bytes]:
    """The manifests at ``keys``, every one of them: a manifest is never deleted, so one
    listed but not read (a folder in its place) is damage, and gc, which would take its
    version for one that never committed and collect its blobs, collects nothing."""
    found = store.read_many(keys)
    unread = [key for key in keys if key not in found]
    if unread:
        raise IntegrityError(
            f"{unread[0]} is listed but cannot be read as a manifest (a folder in its "
            f"place?){f' (and {len(unread) - 1} more)' if len(unread) > 1 else ''}: the "
            "store was damaged; nothing is collected until it is repaired"
        )
    return found


def referenced_digests(
    store: Store,
    *,
    purged_before: float | None,
    leaving_out: str | None = None,
    signer: Signer = UNCHECKED,
) -> set[str]:
    """Digests of every artifact and attachment the committed versions refer to.

    A version purged for good refers to nothing: one whose purge marker was modified
    before ``purged_before`` (gc's cutoff) and passes ``signer``'s check, as does its
    archive marker if it has one (a restore that raced a purge which went on deleted it,
    and a purge marker alone says "purged" to every reader; a marker that fails the check,
    unsigned in a signing registry, was written by someone without the key, and is a
    :class:`~modelship.errors.RepairWarning`, never a purge). A younger marker does not
    count, as its purge may still give way to a restore or an alias and take the marker
    back, and the version would be left without its bytes; a purge that goes on deletes
    them itself, and one that died is collected once its marker is older than the grace
    period. With ``purged_before=None`` (a purge's view, which cannot tell a purge that
    is done from one that will give way) no marker counts: bytes only purged versions
    share are gc's to collect. ``leaving_out`` is the manifest key of a version whose
    references do not count (the one being purged).
    """
    used: set[str] = set()
    for model in _models(store):
        purged = set() if purged_before is None else _purged(store, model, purged_before, signer)
        versions = folder(model, "versions")
        listed = {f"{versions}/{n}" for n in store.list(versions) if is_document(n)}
        # A listing that lags leaves a committed manifest out, and its bytes would be
        # taken for unused: each version a live slot names is looked for by its key too.
        wanted = {k for k in listed if number_of(k) not in purged and k != leaving_out}
        manifests = _listed_manifests(store, sorted(wanted))
        manifests.update(
            (key, data)
            for key, data in _unlisted_manifests(store, model, listed).items()
            if number_of(key) not in purged and key != leaving_out
        )
        for key, data in manifests.items():
            doc = _document(data, key)
            try:
                used.add(doc["artifact"]["digest"])
                used.update(a["digest"] for a in doc.get("attachments", {}).values())
            except (KeyError, TypeError, AttributeError) as exc:
                raise IntegrityError(
                    f"{key} does not name its artifact's digest ({exc!r}): the store was "
                    "damaged; nothing is collected until it is repaired"
                ) from exc
    return used


def _unlisted_manifests(store: Store, model: str, listed: set[str]) -> dict[str, bytes]:
    """The manifests of ``model`` not in ``listed`` (a listing of its versions) that are
    there when read by key: of the versions its live slots name (a listing that lags
    leaves a committed manifest out; a slot is created before its manifest, and never
    removed). A slot that cannot be read as one names nothing here (gc warns about
    it when it decides on slots); a version with no manifest (not committed) is left out.
    """
    slots_folder, versions = folder(model, "slots"), folder(model, "versions")
    names = [n for n in store.list(slots_folder) if is_numbered(n)]
    wanted: set[str] = set()
    for key, data in store.read_many(f"{slots_folder}/{n}" for n in names).items():
        try:
            slot = check_slot(data, key, UNCHECKED)
        except IntegrityError:
            continue
        if not slot.get("dead"):
            wanted.add(f"{versions}/{slot['version']}.json")
    return store.read_many(sorted(wanted - listed))


def _purged(store: Store, model: str, purged_before: float, signer: Signer) -> set[str]:
    """The versions of ``model`` purged for good (see :func:`referenced_digests`)."""
    markers = folder(model, "purged")
    settled = [
        number_of(n) for n in store.list(markers) if _older(store, f"{markers}/{n}", purged_before)
    ]
    pairs = {
        version: (f"{markers}/{version}.json", f"{folder(model, 'archived')}/{version}.json")
        for version in settled
    }
    found = store.read_many(key for pair in pairs.values() for key in pair)
    purged = set()
    for version, (purge, archive) in pairs.items():
        if purge not in found:
            continue  # taken back since it was listed: a purge that gave way
        try:
            check_marker(purge, found[purge], signer)
            # A purge marker alone is a purge too: a restore racing a purge that went on
            # deleted the archive marker (restore() never puts it back). One beside it is
            # checked all the same: it is what the purge found.
            if archive in found:
                check_marker(archive, found[archive], signer)
        except IntegrityError as exc:
            warnings.warn(
                f"{exc}; gc does not take {model} version {version!r} for purged "
                "and keeps its bytes. Remove the marker if no purge made it (or restore it "
                "from a copy of the registry)",
                RepairWarning,
                stacklevel=6,
            )
            continue
        purged.add(version)
    return purged


def _dead_slots(
    store: Store, cutoff: float, signer: Signer, *, copying: bool = False
) -> tuple[list[str], int]:
    """Slots of registrations that never committed, older than ``cutoff``; how many
    registrations are in flight (slot younger than ``cutoff``, no manifest). A slot is
    older than ``cutoff`` only if both its time in the store and the time its writer wrote
    in it are (:func:`in_flight`).

    Slots are read before manifests, so a registration seen in neither had not claimed its
    slot when this began. With ``copying`` (a copy mark younger than ``cutoff`` was listed
    before the slots) no slot is dead: a copied slot's manifest may be on its way, after
    every slot of its model, or wait for the copy to be resumed. A slot is declared dead
    only if it passes ``signer``'s check and no manifest holds its number: a tombstone gc
    writes is signed with the registry's key, so a slot forged by someone without it (naming
    a registration that never committed) would otherwise turn a committed version's slot
    into a validly signed dead one, and hide the version from ``latest``.
    """
    dead: list[str] = []
    pending = 0
    for model in _models(store):
        slots_folder, versions = folder(model, "slots"), folder(model, "versions")
        slot_names = [n for n in store.list(slots_folder) if is_numbered(n)]
        slots = store.read_many(f"{slots_folder}/{n}" for n in slot_names)
        committed = _listed_manifests(
            store, [f"{versions}/{n}" for n in store.list(versions) if is_document(n)]
        )
        # Read as every reader reads them (a damaged one stops gc: IntegrityError). Their
        # signatures are not checked: a manifest only keeps a slot (and its bytes) alive.
        records = [parse_manifest(k, v, UNCHECKED) for k, v in committed.items()]
        owners = {mv.registration for mv in records}
        sequences = {mv.version: mv.sequence for mv in records}
        named: set[str] | str | None = None  # read once a slot no manifest owns is met
        for key, data in slots.items():
            slot = check_slot(data, key, UNCHECKED)
            if slot.get("dead") or slot.get("registration") in owners:
                continue
            damage = _slot_damage(key, slot, signer, sequences)
            if damage is not None:
                # Perhaps a registration in flight whose slot was overwritten: no blob
                # is collected while it is there, as for one in flight.
                warnings.warn(
                    f"{damage}; gc leaves it alone, and removes no unused blob while it is "
                    "there. Restore it from a copy of the registry",
                    RepairWarning,
                    stacklevel=5,
                )
                pending += 1
                continue
            # Old only by both the store's time and the "at" its writer's clock set (see
            # the module docstring). A slot gone since it was read is not declared dead.
            if copying or in_flight(store, key, slot, cutoff):
                pending += 1
                continue
            if slot["version"] not in sequences:
                manifest = f"{versions}/{slot['version']}.json"
                if store.exists(manifest):
                    # The listing of versions/ lags (an eventually consistent LIST, a
                    # proxy's cache): the manifest is there, and the version committed.
                    # Its slot stays, and no blob is collected, as a listing that left out
                    # its manifest may leave out its blob's only reference too (the next
                    # gc, whose listing shows it, collects what is unused). A version
                    # committed between the listing and this check is seen by it (a read
                    # of the key itself, not a listing). None commits after it: this slot
                    # is older than the grace period by both clocks, and a registration
                    # creates its manifest within the grace period of claiming its slot
                    # (the module docstring), or, stalled longer, looks for gc marks first,
                    # finds this run's (created before the slots were listed) and gives
                    # its slot up. (With dry_run there is no mark, and nothing is written.)
                    _log.info(
                        "gc: %s is there but the listing of %s/ left it out (a lagging "
                        "listing); its slot %s stays and no unused blob is collected",
                        manifest,
                        versions,
                        key,
                    )
                    pending += 1
                    continue
                # No manifest holds its version: a registration that died, or a committed
                # version whose manifest was lost. The history is read only here, for a
                # slot gc would collect, and once per model. A slot whose version another
                # registration committed (a retry of an explicit version) is a dead
                # duplicate, collected below.
                if named is None:
                    named = _named_versions(store, model, signer)
                lost = _lost_manifest(key, slot["version"], versions, named)
                if lost is not None:
                    # A manifest lost is damage, as a damaged one is: its version's slot
                    # and bytes stay (no blob is collected), so restoring it brings the
                    # version back.
                    warnings.warn(
                        f"{lost}; gc leaves the slot alone, and removes no unused blob "
                        "until the manifest is restored from a copy of the registry",
                        RepairWarning,
                        stacklevel=5,
                    )
                    pending += 1
                    continue
            dead.append(key)
    return dead, pending


def _named_versions(store: Store, model: str, signer: Signer) -> set[str] | str:
    """The versions of ``model`` its committed history names: every move of its alias log
    (from and to), its tag logs and its archive and purge markers, each read as the
    registry reads it (with ``signer``'s check); or why one of them could not be read.

    Only a committed version is named there (an alias moves, a tag changes, a version is
    archived only once it is committed), so a slot whose version is named is one whose
    manifest was lost, never a registration that died.
    """
    named: set[str] = set()
    try:
        for move in history(store, model, signer):
            named.update(v for v in (move.from_version, move.to_version) if v is not None)
        # Every tag log entry in one batch read; a version whose tag folder holds no
        # entry (a tag write that died) is named all the same, as its folder is listed.
        keys = tag_log_keys(store, model)
        read = store.read_many(keys)
        check_all_read(keys, read, "tag log")
        for key, data in read.items():
            signer.check_doc(_document(data, f"tag log entry {key}"), key, f"tag log entry {key}")
        named.update(tagged_versions(store, model))
        for state in (VersionState.ARCHIVED, VersionState.PURGED):
            markers = folder(model, state.value)
            # A marker listed and then gone was taken back (a restore, a delete or purge
            # that gave way): what is read is checked, what is gone names nothing.
            found = store.read_many(f"{markers}/{n}" for n in store.list(markers) if is_document(n))
            for key, data in found.items():
                check_marker(key, data, signer)
                named.add(number_of(key))
    except IntegrityError as exc:
        return str(exc)
    return named


def _lost_manifest(key: str, version: str, versions: str, named: set[str] | str) -> str | None:
    """Why the slot at ``key`` (of ``version``, which no manifest in ``versions`` holds)
    is damage rather than a registration that died: its version is committed (``named``,
    see :func:`_named_versions`), or what names the committed versions cannot be read.
    None if neither."""
    if isinstance(named, str):
        return (
            f"{named}; so gc cannot tell whether version {version!r}, which sequence slot "
            f"{key} names and no manifest in {versions}/ holds, was committed"
        )
    if version in named:
        return (
            f"version {version!r}, which sequence slot {key} names, is committed (its alias "
            f"history, tag log or archive marker names it) but {versions}/{version}.json "
            "is missing: the manifest was lost"
        )
    return None


def _slot_damage(
    key: str, slot: dict[str, Any], signer: Signer, sequences: dict[str, int]
) -> str | None:
    """Why the slot at ``key``, which no committed registration owns, is damage rather
    than a registration that has not committed; None if it is not."""
    try:
        signer.check_doc(slot, key, f"sequence slot {key}")
    except IntegrityError as exc:
        return str(exc)
    if sequences.get(slot["version"]) == int(number_of(key)):
        return (
            f"sequence slot {key} names version {slot['version']!r}, whose manifest holds "
            "this number, but another registration than the manifest's"
        )
    return None


_COLLECTED = (BLOBS, MODELS, NAMES, STAGING, PROBES, GC_RUNS)
"""The folders gc reads and removes from (besides incomplete uploads)."""


def refuse_outside_registry(store: Store, url: str) -> None:
    """Raise :class:`~modelship.RegistryNotFound` if ``store`` (at ``url``, as shown) holds
    files in the folders gc collects but not the registry's marker (``registry.json``,
    created at a registry's first write): a folder that is not a registry, or a registry
    being restored or copied file by file whose marker has not arrived yet
    (``registry.json`` sorts after ``blobs/`` and ``models/``). gc there would take every
    blob for unused, as no manifest refers to it yet. Only reads: called before gc writes
    or deletes anything. A location holding neither (a new registry: nothing to collect
    but incomplete uploads) passes.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> refuse_outside_registry(store, "memory://x")
    >>> store.create("blobs/sha256/ab/cd", b"precious")
    >>> refuse_outside_registry(store, "memory://x")
    Traceback (most recent call last):
    ...
    modelship.errors.RegistryNotFound: memory://x holds no registry.json, ...
    """
    if store.exists(REGISTRY_MARKER):
        return
    found = [top for top in _COLLECTED if store.list(top)]
    if not found:
        return
    raise RegistryNotFound(
        f"{url} holds no {REGISTRY_MARKER}, the marker a registry gets at its first write, "
        f"but it holds {', '.join(f'{t}/' for t in found)}: it is no registry, or a "
        "registry being restored or copied there file by file, or one whose marker was "
        "lost. gc removed nothing: without the marker it would take every blob for unused. "
        f"Check the URL; if a registry is being restored or copied there, run gc once "
        f"{REGISTRY_MARKER} has arrived; if it is a registry whose marker was lost (or one "
        "written with single_writer=True on a store without exclusive creates before "
        f"markers were written), restore {REGISTRY_MARKER} from a copy, or open it anew and "
        "write once (ms.open_registry(URL).check_writable() writes the marker), then run gc "
        "again"
    )


def collect(
    store: Store,
    cutoff: float,
    *,
    dry_run: bool,
    check_writable: Callable[[], None],
    signer: Signer = UNCHECKED,
) -> GcReport:
    """Find (and unless ``dry_run``, remove) what is left over from before ``cutoff``.

    ``signer`` checks the slots gc turns dead and the markers it takes for finished purges
    (in a signing registry, a checking one with its key: each decides what gc writes or
    deletes; in one that does not sign, ``UNCHECKED``), and signs the tombstones of dead
    slots. ``check_writable`` must record no signing policy: gc signs only tombstones, and
    only in a registry that signs already.
    The gc mark written here does not decide a resolution (it only makes registrations
    wait or fail), so it is not signed.
    """
    if dry_run:
        return _collect(store, cutoff, dry_run=True, signer=signer)
    check_writable()
    run = f"{GC_RUNS}/{uuid.uuid4().hex}.json"
    created = False
    try:
        # Inside: a create that landed but failed (its reply lost, then refused) must not
        # leave a mark that refuses every registration for _RUN_LIFETIME. Deleting a key
        # that was never created is harmless.
        store.create(run, canonical_json({"at": now().isoformat()}))
        created = True
        for key, age in _runs(store):
            if age >= _RUN_LIFETIME:
                store.delete(key)  # left by a gc that died
        report = _collect(store, cutoff, dry_run=False, signer=signer)
    except BaseException as exc:
        if created and isinstance(exc, Exception):
            _remove_mark(store, run, None, exc)
        else:
            _try_removing_mark(store, run, exc, created=created)
        raise
    _remove_mark(store, run, report, None)
    return report


class GcMarkLeft(StoreError):
    """gc could not remove its own mark (``.gc/<run>.json``): registrations and copies
    into the registry are refused until it is deleted (or, a day after it was created,
    ignored). ``key`` is the mark; ``report`` is what gc removed (None if gc itself failed,
    its error then chained as the cause). A :class:`~modelship.StoreError`.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.registry import GcMarkLeft
    >>> reg = ms.open_registry("memory://gc-mark-left-doc")
    >>> try:
    ...     _ = reg.gc()
    ... except GcMarkLeft as exc:  # the store refused to delete exc.key: delete it later
    ...     reg.store.delete(exc.key)
    ...     print(exc.report)
    >>> issubclass(GcMarkLeft, ms.StoreError)
    True
    """

    def __init__(self, message: str, *, key: str, report: GcReport | None) -> None:
        super().__init__(message)
        self.key = key
        self.report = report


_MARK_RETRY_DELAYS = (0.5, 1.0, 2.0)
"""Seconds waited before each further try of deleting a gc's own mark (each try is the
store's, with its own retries): a delete that failed once (a 503, a reset) should not
refuse every registration for a day."""


def add_note(exc: BaseException, note: str) -> None:
    """Add ``note`` to ``exc`` (shown under its traceback), as ``exc.add_note`` does from
    Python 3.11 (3.10 keeps ``__notes__`` but shows none), and log it as a warning of the
    ``modelship.registry`` logger: what shows no traceback (the CLI, on Ctrl-C) or runs
    on 3.10 shows it so.

    Examples
    --------
    >>> exc = KeyboardInterrupt()
    >>> add_note(exc, "the mark .gc/x.json may be left")
    >>> exc.__notes__
    ['the mark .gc/x.json may be left']
    """
    notes = getattr(exc, "__notes__", None)
    if not isinstance(notes, list):
        notes = []
        exc.__notes__ = notes  # type: ignore[attr-defined]
    notes.append(note)
    _log.warning("%s", note)


def _try_removing_mark(store: Store, run: str, failure: BaseException, *, created: bool) -> None:
    """Try once to delete gc's mark ``run`` after ``failure``, which the caller re-raises:
    gc was interrupted (Ctrl-C, ``SystemExit``: not an :class:`Exception`, never turned
    into one, and not kept waiting), or creating the mark failed (``created`` False: an
    outage, and the mark exists only if the create landed before its reply was lost, so
    no :class:`GcMarkLeft` saying registrations are refused). If the delete fails, a note
    added to ``failure`` names the mark and what to do."""
    try:
        store.delete(run)
        return
    except Exception as exc:  # failure, not this, is what is raised
        why = f"{type(exc).__name__}: {exc}"
    url = hide_credentials(store.url)
    what = (
        f"gc's mark {run} on {url} could not be deleted ({why})"
        if created
        else f"gc's mark {run} on {url} may exist (its create failed, but may have landed "
        f"before the reply was lost) and deleting it failed too ({why})"
    )
    add_note(
        failure,
        f"{what}: while it exists, every registration and copy into this registry is "
        f"refused (for up to {_RUN_LIFETIME / 3600:.0f} h, after which it is ignored and "
        "the next gc removes it). Once the store answers, delete it with "
        f"ms.open_registry(URL).store.delete({run!r}) (deleting a key that is not there "
        "is harmless)",
    )


def _remove_mark(
    store: Store, run: str, report: GcReport | None, failure: Exception | None
) -> None:
    """Delete gc's mark ``run``, trying again a few times; raise :class:`GcMarkLeft` (with
    ``report``, chaining ``failure``, the error gc itself raised after creating the mark,
    if any) if it stays. An interrupt, or a failed create, goes to
    :func:`_try_removing_mark` instead."""
    delays = _MARK_RETRY_DELAYS
    for delay in (*delays, None):
        try:
            store.delete(run)
            return
        except Exception as exc:  # a user's store may raise other than StoreError
            last = exc
            if delay is None:
                break
            _log.debug("gc: deleting its mark %s failed (%s); trying again", run, exc)
            time.sleep(delay)
    done = (
        f"gc itself failed ({type(failure).__name__}: {failure})"
        if failure is not None
        else f"gc removed {report.removed if report else 0} keys or uploads (the report is "
        "this error's .report)"
    )
    raise GcMarkLeft(
        f"{done}, but its mark {run} on {hide_credentials(store.url)} could not be deleted "
        f"in {len(delays) + 1} tries ({last}). Until it is deleted, every registration "
        "and copy into this registry is refused (for up to "
        f"{_RUN_LIFETIME / 3600:.0f} h, after which it is ignored and the next gc removes "
        "it): delete it once the store answers, with "
        f"ms.open_registry(URL).store.delete({run!r}) (another gc does not remove it "
        "sooner)",
        key=run,
        report=report,
    ) from (failure if failure is not None else last)


_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _is_blob(prefix: str, name: str) -> bool:
    """Whether ``name`` in ``blobs/sha256/<prefix>/`` is where the registry stores a blob:
    a sha256 digest in hex, in the folder of its first two characters (as ``blob_key``
    puts it). Anything else there (``.DS_Store``, a README) is not the registry's, and gc
    leaves it alone."""
    return _HEX_DIGEST.fullmatch(name) is not None and name[:2] == prefix


def _collect(
    store: Store,
    cutoff: float,
    *,
    dry_run: bool,
    signer: Signer,
) -> GcReport:
    # Staged artifacts and documents, and writability probes of writers that died.
    staging = tuple(
        key
        for top in (STAGING, PROBES)
        for key in (f"{top}/{n}" for n in store.list(top))
        if _older(store, key, cutoff)
    )
    # Copy marks before slots (see the module docstring). One in flight is not removed,
    # even if old by the store's time (a store clock behind: see in_flight).
    copies = _copies_in_flight(store, cutoff)
    staging = tuple(key for key in staging if key not in copies)
    dead, pending = _dead_slots(store, cutoff, signer, copying=bool(copies))
    pending += len(copies)
    # A copy claims the names of the models it copies inside its mark (after their blobs,
    # before their slots) and reads each claim again before the manifests: while a copy
    # mark is in flight no claim is removed (and one removed before it was made costs the
    # copy a Conflict, see confirm_claim).
    claims = () if copies else tuple(_stale_claims(store, cutoff))
    # A purge marker counts as a purge done once it is older than the grace period, and
    # never younger than PURGE_SETTLE whatever the grace (grace_seconds=0 took a purge
    # still deciding, about to give way to a restore, for done, and its bytes went).
    used = referenced_digests(
        store, purged_before=min(cutoff, time.time() - PURGE_SETTLE), signer=signer
    )
    blobs = []
    # A registration in flight may be about to commit a reference to any stored blob.
    for prefix in [] if pending else store.list(BLOBS):
        for hexdigest in store.list(f"{BLOBS}/{prefix}"):
            key = f"{BLOBS}/{prefix}/{hexdigest}"
            if (
                _is_blob(prefix, hexdigest)
                and f"sha256:{hexdigest}" not in used
                and _older(store, key, cutoff)
            ):
                blobs.append(key)
    uploads = store.incomplete_uploads(cutoff) if isinstance(store, AbortsUploads) else []
    report = GcReport(
        staging=staging,
        dead_slots=tuple(dead),
        blobs=tuple(blobs),
        uploads=tuple(uploads),
        dry_run=dry_run,
        name_claims=claims,
    )
    if dry_run or not report.removed:
        return report
    for key in [*staging, *blobs, *claims]:
        store.delete(key)
    if isinstance(store, AbortsUploads):
        for upload in uploads:
            store.abort_upload(upload)
    # Every dead slot becomes a tombstone; none is deleted, not even the highest one this
    # listed: a registration may have found it since (probing forward) and claimed the
    # slot above it, and deleting it would leave a hole below that version, where readers
    # probing forward from a lagging hint stop (latest and pages lose the version, and the
    # next registration is numbered below it). A slot key, once created, is never removed,
    # and a registration creates slot n only once n - 1 exists, so slots have no holes; the
    # tombstone only costs its number, which no version will have.
    for key in dead:
        store.replace(key, dead_slot(signer, key))
    return report
