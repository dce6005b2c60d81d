"""Model names under case folding: one spelling per name, claimed with an exclusive create.

On a case-insensitive store ``Fraud`` and ``fraud`` would share one folder and mix their
histories. The first registration of a model creates ``names/<casefolded>.json`` naming
its spelling, once its blobs are stored and right before it claims its first sequence
slot (so a registration whose serializer fails, whose upload fails or is killed, claims
no name); a registration under another spelling finds the claim taken and is refused.
The exclusive create makes the check-then-register atomic between writers.

Models registered before claims existed have no claim: the first registration of another
spelling creates one, finds the listed model and deletes its claim again. A writer of the
listed spelling meanwhile may find that passing claim, or find it gone between its create
and its read; it tries again rather than refusing a name nobody holds (:func:`claim_name`).
A writer of the passing claim's own spelling cannot tell it from a claim that stays: it
checks the listing as the claim's creator does, and is refused as that creator is.

A registration can still stop between its claim and its slot (killed there): its claim
then names a spelling that is no model. Such a claim refuses other spellings (the message
says a registration of that spelling is in progress or stopped before committing), and
``gc`` removes it once it is older than the grace period and its spelling is still not
listed (``_gc._stale_claims``). What keeps that delete safe against a writer that holds
the claim is :func:`confirm_claim`: see the comment in :func:`_claim_or_holder`.

Claims are not signed: a claim never decides what a name or alias resolves to (it can
only refuse a registration under another spelling), so a forged one denies a write, it
cannot redirect a read. Documents that decide a resolution go through ``Signer``.
"""

from __future__ import annotations

from collections.abc import Collection

from modelship._json import canonical_json
from modelship._names import check_model_name
from modelship.errors import Conflict, IntegrityError, InvalidName, StoreError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    MODELS,
    folder,
    is_document,
    manifest_key,
    name_claim_key,
    slot_key,
)
from modelship.registry._protocols import Store

__all__ = ["claim_holder", "claim_name", "confirm_claim"]


def _taken(
    store: Store, name: str, holder: str, listed: Collection[str] | None = None
) -> InvalidName:
    """The refusal of ``name`` because ``holder`` owns its case-folded spelling, saying
    truthfully what ``holder`` is: a model, a folder of slots no registration committed,
    or only a claim (a registration in progress, or one that stopped before its slot).
    ``listed`` is a listing of ``models/`` the caller made (read again if None)."""
    if _has_versions(store, holder):
        return InvalidName(
            f"model name {name!r} differs only in case from the model {holder!r} in this "
            f"registry; on case-insensitive storage they would share one folder. Use "
            f"{holder!r} or another name"
        )
    if holder in (store.list(MODELS) if listed is None else listed):
        return InvalidName(
            f"model name {name!r} differs only in case from {holder!r}, which has no "
            f"version: registrations of {holder!r} claimed sequence slots in "
            f"{folder(holder, 'slots')}/ but none committed (they failed or were stopped); "
            f"on case-insensitive storage {name!r} would share that folder. Register "
            f"{holder!r} instead (it goes on in that folder), or use another name"
        )
    return InvalidName(
        f"model name {name!r} differs only in case from {holder!r}, which is no model: "
        f"the name claim {name_claim_key(name)} names {holder!r} because a registration of "
        f"{holder!r} is in progress, or stopped before its first version was committed; on "
        f"case-insensitive storage the two would share one folder. Register {holder!r} "
        f"instead, or, if no registration of {holder!r} is running, run `modelship registry "
        "gc URL` (Registry.gc()), which removes a claim no model holds once it is older than "
        f"the grace period (an hour by default), and register {name!r} again"
    )


def _has_versions(store: Store, name: str) -> bool:
    """Whether ``name`` (a spelling read from a claim or a listing) has a manifest."""
    try:
        check_model_name(name)
    except InvalidName:
        return False  # not a folder the registry made: no model
    return any(is_document(v) for v in store.list(folder(name, "versions")))


# How often claim_name tries again after finding a claim of another spelling that is only
# passing: one that went between its create and its read, or one whose spelling is not a
# model while this one is (a writer of that spelling is about to delete it, having found
# this spelling listed). Each try is a create, a read and a listing; the other writer needs
# one listing and one delete to clear its claim, so a few tries outlast it. A claim that
# outlasts them all was left by a writer that stopped between its create and its delete.
_CLAIM_TRIES = 10


def claim_name(store: Store, name: str) -> bool:
    """Make sure ``name`` owns its case-folded spelling, claiming it if nobody does; whether
    a claim naming ``name`` stands (False only when ``name``, a listed model, goes on
    without one, as below). A registration calls it once its blobs are stored, right before
    it claims its sequence slot, and, if it returned True, :func:`confirm_claim` after the
    slot is created and before the manifest.

    Raises :class:`~modelship.InvalidName` if a model of another spelling owns it, or is
    listed while the claim names ``name`` (a claim another writer of ``name`` created and
    will delete, having found that model, or one such a writer left behind).

    A claim held by another spelling that is not a model, while ``name`` is one, is a
    registration of that spelling on its way to being refused (``name`` is listed): it is
    waited out for a few tries, and after them ``name``, the listed model, goes on without
    a claim, as a model registered before claims does. A claim found gone between the
    create and the read at every try raises :class:`~modelship.Conflict`.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> claim_name(store, "Fraud"), claim_name(store, "Fraud")
    (True, True)
    >>> claim_name(store, "fraud")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidName: model name 'fraud' differs only in case from 'Fraud', which ...
    """
    key = name_claim_key(name)
    gone = 0  # tries that found the claim deleted between their create and their read
    for _ in range(_CLAIM_TRIES):
        holder = _claim_or_holder(store, key, name)
        if holder == name:
            return True
        if holder is None:
            gone += 1
            continue
        models = store.list(MODELS)
        if holder in models or name not in models:
            raise _taken(store, name, holder, models)
        # The holder is no model and this spelling is: its writer is refusing it now.
    if gone == _CLAIM_TRIES:
        raise Conflict(
            f"the claim {key} of model name {name!r} kept being created and deleted by "
            f"writers of other spellings under {_CLAIM_TRIES} tries; retry"
        )
    # Otherwise a try found the claim of a spelling that is no model while this one is
    # listed (listings only grow): a writer of that spelling is refusing it, or stopped
    # before deleting its claim. Found gone at later tries or not, the claim held this
    # spelling off only while it stood; this spelling, the listed model, goes on
    # unclaimed as a model registered before claims does, and still owns its name: a
    # registration of another spelling finds it listed and is refused.
    return False


def _claim_or_holder(store: Store, key: str, name: str) -> str | None:
    """Claim ``name``: the spelling that holds the claim once this create or an earlier one
    made it (``name`` itself) or another writer's did, or None if the claim was deleted
    between the create that found it and the read.

    Raises :class:`~modelship.InvalidName` if a model of another spelling is listed while
    the claim names ``name``, whichever writer created it (only its creator deletes it)."""
    try:
        store.create(key, canonical_json({"name": name}))
    except FileExistsError:
        try:
            data = store.read(key)
        except FileNotFoundError:
            return None  # deleted since the create found it: the caller tries again
        holder = claim_holder(data, key)
        if holder != name:
            return holder
        # The claim names this spelling, but another writer created it (or this one did
        # at an earlier registration) and it may yet be refused: its creator lists the
        # models after its create and deletes it if another spelling is listed (a model
        # registered before claims). This writer cannot tell, so it lists as the creator
        # does, and is refused as the creator is; it does not delete the claim, which is
        # the creator's to delete (a writer deletes only the claim it created, so a
        # delete never takes another writer's claim with it).
        #
        # Why this is atomic. The create is exclusive: while the claim of ``name`` stands
        # no writer of another spelling creates one, and a spelling becomes listed only
        # once its writer got past this function, with its own claim or (the wait in
        # claim_name) already listed. So no spelling becomes newly listed while the claim
        # stands, and listings only grow. The creator A made the claim before this
        # writer's failed create, B read it after, and B lists after that read: every
        # other spelling A's listing finds was listed before A's create, so B's listing
        # finds it too, and B is refused exactly when A is, whichever of the two lists
        # first. If B finds none, neither does A, which keeps its claim: no other
        # spelling can be listed beside ``name`` thereafter. If A deletes its claim
        # before B reads it, B finds it gone and tries again, creating the claim itself
        # and listing as its creator.
        #
        # No legitimate writer is refused: B is refused only when a model of another
        # spelling is listed, when every registration of ``name`` is. Two writers of
        # ``name`` with no other spelling listed both go on, and so does a writer finding
        # the claim of ``name`` left by a writer that stopped before its listing.
        #
        # gc removes a claim whose spelling is not listed once it is older than its grace
        # period (one left by a registration that stopped between its claim and its slot:
        # _gc._stale_claims). That delete is not its creator's, which the argument above
        # assumed; confirm_claim keeps it true. Every writer that goes on holding the claim
        # of its spelling S (it created the claim, or found it, as here) reads the claim
        # again after it created its slot and gives the slot up, committing nothing,
        # unless the claim still names S. A writer W of another spelling that goes on past
        # such a delete created its claim after the delete (the key was taken before) and
        # listed the models after that, before any writer of S created a slot (a listing
        # after one finds S and refuses W). So every writer of S that could commit reads
        # the claim after W created it, finds W's spelling (W deletes its claim only when
        # refused) or, should W's claim be removed in turn, a later one: it gives up. At
        # most one spelling commits, whatever the timing and whatever a clock says; the
        # grace period only keeps gc from deleting the claim of a registration in flight,
        # which would be refused (Conflict: register again). A writer of a listed
        # spelling that goes on without a claim (the wait in claim_name) confirms
        # nothing: its spelling was listed before it went on, so every later listing
        # finds it, and a delete cannot change that.
        #
        # A model ``name`` with a committed first registration needs no listing of every
        # model (the common case: gc removes no claim of a spelling it finds listed, so its
        # claim stays): two small reads, then confirm_claim's after its slot. Its
        # writers went on as before, with a claim or (registered before claims) without,
        # so another spelling listed beside it is none of this writer's doing. A folder
        # holding only what a crashed registration left (a slot, no manifest) is no
        # model: that writer lists as the claim's creator does.
        if _committed(store, name):
            return name
        other = _other_spelling(store, name)
        if other is not None:
            raise _taken(store, name, other) from None
        return name
    # Registries written before claims: a model of another spelling may be listed already.
    other = _other_spelling(store, name)
    if other is not None:
        store.delete(key)
        raise _taken(store, name, other)
    return name


def claim_holder(data: bytes, key: str) -> str:
    """The spelling the claim at ``key`` (holding ``data``) names.

    Raises :class:`~modelship.IntegrityError` if it is not a claim: not a JSON object
    naming a spelling whose case-folded claim key is ``key``.

    Examples
    --------
    >>> claim_holder(b'{"name": "Fraud"}', "names/fraud.json")
    'Fraud'
    """
    doc = parse_json(data, key)
    holder = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(holder, str) or name_claim_key(holder) != key:
        raise IntegrityError(f"{key} is damaged: it does not name a model")
    return holder


def confirm_claim(store: Store, name: str) -> None:
    """Raise :class:`~modelship.Conflict` unless the claim of ``name`` still names it.

    A registration's check after it created its sequence slot and before its manifest,
    when :func:`claim_name` returned True: a ``gc`` that took the claim for one left by a
    registration that stopped (older than its grace period, spelling not listed) may have
    removed it, and a registration of another spelling may hold the name since. See the
    comment in :func:`_claim_or_holder` for why this check makes gc's delete safe.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> claim_name(store, "Fraud")
    True
    >>> confirm_claim(store, "Fraud")
    >>> store.delete("names/fraud.json")  # as a gc does with a claim it takes for stale
    >>> confirm_claim(store, "Fraud")
    Traceback (most recent call last):
    ...
    modelship.errors.Conflict: the name claim names/fraud.json of model 'Fraud' was removed ...
    """
    key = name_claim_key(name)
    try:
        holder: str | None = claim_holder(store.read(key), key)
    except FileNotFoundError:
        holder = None
    if holder == name:
        return
    since = (
        "" if holder is None else f", and a registration of {holder!r} has claimed the name since"
    )
    raise Conflict(
        f"the name claim {key} of model {name!r} was removed while this registration ran (a "
        "gc took it for one left by a registration that stopped: it was older than the gc's "
        f"grace period){since}; this registration was not committed. Register again"
    )


def _committed(store: Store, name: str) -> bool:
    """Whether ``name``'s first sequence slot names a version whose manifest exists (a
    committed first registration). Read to skip a listing, never trusted further: an
    unreadable or damaged slot, a dead one, or none, is False (the listing decides)."""
    try:
        data = store.read(slot_key(name, 1))
    except (FileNotFoundError, StoreError):
        return False  # the listing decides, and reports a store's fault as it finds it
    try:
        slot = parse_json(data, f"sequence slot {slot_key(name, 1)}")
    except IntegrityError:
        return False
    version = slot.get("version") if isinstance(slot, dict) and not slot.get("dead") else None
    if not isinstance(version, str) or "/" in version or version in ("", ".", ".."):
        return False
    return store.exists(manifest_key(name, version))


def _other_spelling(store: Store, name: str) -> str | None:
    """A listed model whose name differs from ``name`` only in case, or None."""
    for other in store.list(MODELS):
        if other != name and other.casefold() == name.casefold():
            return other
    return None
