"""Model names under case folding: one spelling per name, claimed with an exclusive create.

On a case-insensitive store ``Fraud`` and ``fraud`` would share one folder and mix their
histories. The first registration of a model creates ``names/<casefolded>.json`` naming
its spelling; a registration under another spelling finds the claim taken and is
refused. The exclusive create makes the check-then-register atomic between writers.

Models registered before claims existed have no claim: the first registration of another
spelling creates one, finds the listed model and deletes its claim again. A writer of the
listed spelling meanwhile may find that passing claim, or find it gone between its create
and its read; it tries again rather than refusing a name nobody holds (:func:`claim_name`).

Claims are not signed: a claim never decides what a name or alias resolves to (it can
only refuse a registration under another spelling), so a forged one denies a write, it
cannot redirect a read. Documents that decide a resolution go through ``Signer``.
"""

from __future__ import annotations

from modelship._json import canonical_json
from modelship.errors import Conflict, IntegrityError, InvalidName
from modelship.registry._integrity import parse_json
from modelship.registry._layout import MODELS, name_claim_key
from modelship.registry._protocols import Store

__all__ = ["claim_name"]


def _taken(name: str, holder: str) -> InvalidName:
    return InvalidName(
        f"model name {name!r} differs only in case from the model {holder!r} in this "
        f"registry; on case-insensitive storage they would share one folder. Use {holder!r} "
        "or another name"
    )


# How often claim_name tries again after finding a claim of another spelling that is only
# passing: one that went between its create and its read, or one whose spelling is not a
# model while this one is (a writer of that spelling is about to delete it, having found
# this spelling listed). Each try is a create, a read and a listing; the other writer needs
# one listing and one delete to clear its claim, so a few tries outlast it. A claim that
# outlasts them all was left by a writer that stopped between its create and its delete.
_CLAIM_TRIES = 10


def claim_name(store: Store, name: str) -> None:
    """Make sure ``name`` owns its case-folded spelling, claiming it if nobody does.

    Raises :class:`~modelship.InvalidName` if a model of another spelling owns it.

    A claim held by another spelling that is not a model, while ``name`` is one, is a
    registration of that spelling on its way to being refused (``name`` is listed): it is
    waited out for a few tries, and after them ``name``, the listed model, goes on without
    a claim, as a model registered before claims does. A claim that keeps going and coming
    back between the create and the read raises :class:`~modelship.Conflict`.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> claim_name(store, "Fraud"); claim_name(store, "Fraud")
    >>> claim_name(store, "fraud")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidName: model name 'fraud' differs only in case from the model ...
    """
    key = name_claim_key(name)
    holder: str | None = None
    for _ in range(_CLAIM_TRIES):
        holder = _claim_or_holder(store, key, name)
        if holder == name:
            return
        if holder is not None:
            models = store.list(MODELS)
            if holder in models or name not in models:
                raise _taken(name, holder)
            # The holder is no model and this spelling is: its writer is refusing it now.
    if holder is None:  # every try found the claim gone between its create and its read
        raise Conflict(
            f"the claim {key} of model name {name!r} kept being created and deleted by "
            f"writers of other spellings under {_CLAIM_TRIES} tries; retry"
        )
    # Otherwise the claim of a spelling that is no model outlasted every try: a writer of it
    # stopped before deleting it. This spelling is the listed model, and goes on unclaimed.


def _claim_or_holder(store: Store, key: str, name: str) -> str | None:
    """Claim ``name``: the spelling that holds the claim once this create or an earlier one
    made it (``name`` itself) or another writer's did, or None if the claim was deleted
    between the create that found it and the read."""
    try:
        store.create(key, canonical_json({"name": name}))
    except FileExistsError:
        try:
            data = store.read(key)
        except FileNotFoundError:
            return None  # deleted since the create found it: the caller tries again
        doc = parse_json(data, key)
        holder = doc.get("name") if isinstance(doc, dict) else None
        if not isinstance(holder, str) or holder.casefold() != name.casefold():
            raise IntegrityError(f"{key} is damaged: it does not name a model") from None
        return holder
    # Registries written before claims: a model of another spelling may be listed already.
    for other in store.list(MODELS):
        if other != name and other.casefold() == name.casefold():
            store.delete(key)
            raise _taken(name, other)
    return name
