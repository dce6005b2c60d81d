"""Model names under case folding: one spelling per name, claimed with an exclusive create.

On a case-insensitive store ``Fraud`` and ``fraud`` would share one folder and mix their
histories. The first registration of a model creates ``names/<casefolded>.json`` naming
its spelling; a registration under another spelling finds the claim taken and is
refused. The exclusive create makes the check-then-register atomic between writers.

Claims are not signed: a claim never decides what a name or alias resolves to (it can
only refuse a registration under another spelling), so a forged one denies a write, it
cannot redirect a read. Documents that decide a resolution go through ``Signer``.
"""

from __future__ import annotations

from modelship._json import canonical_json
from modelship.errors import IntegrityError, InvalidName
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


def claim_name(store: Store, name: str) -> None:
    """Make sure ``name`` owns its case-folded spelling, claiming it if nobody does.

    Raises :class:`~modelship.InvalidName` if a model of another spelling owns it.

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
    try:
        store.create(key, canonical_json({"name": name}))
    except FileExistsError:
        doc = parse_json(store.read(key), key)
        holder = doc.get("name") if isinstance(doc, dict) else None
        if not isinstance(holder, str) or holder.casefold() != name.casefold():
            raise IntegrityError(f"{key} is damaged: it does not name a model") from None
        if holder != name:
            raise _taken(name, holder) from None
        return
    # Registries written before claims: a model of another spelling may be listed already.
    for other in store.list(MODELS):
        if other != name and other.casefold() == name.casefold():
            store.delete(key)
            raise _taken(name, other)
