"""Sequence slots read back: each registration's claim on its number, checked.

A slot (``models/<name>/slots/<n>.json``, see :mod:`~modelship.registry._layout`) says
which version and which registration took sequence number ``n``, or that the
registration died (``{"dead": true}``). It is written once by exclusive create; a slot
read back is trusted only when it is a signed (with a key) JSON object whose version is a
valid version name.
"""

from __future__ import annotations

from typing import Any

from modelship._names import check_stored, check_version
from modelship.errors import IntegrityError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import slot_key
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = ["check_slot", "read_slot"]


def check_slot(data: bytes, key: str, signer: Signer) -> dict[str, Any]:
    """The slot document ``data`` read at ``key``, checked; raises IntegrityError if damaged.

    Examples
    --------
    >>> check_slot(b'{"version": "3", "registration": "r"}', "models/m/slots/3", Signer(None))
    {'version': '3', 'registration': 'r'}
    >>> check_slot(b'{"version": "3"}', "models/m/slots/3", Signer(None))
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: sequence slot models/m/slots/3 is damaged (no ...
    """
    slot = parse_json(data, f"sequence slot {key}")
    if not isinstance(slot, dict):
        raise IntegrityError(f"sequence slot {key} is not a JSON object: it was damaged")
    signer.check_doc(slot, key, f"sequence slot {key}")
    if not slot.get("dead"):
        check_stored(check_version, slot.get("version"), key)
        if not isinstance(slot.get("registration"), str):
            raise IntegrityError(
                f"sequence slot {key} is damaged (no registration); restore it from a copy, "
                "or replace it with a dead slot"
            )
    return slot


def read_slot(store: Store, name: str, seq: int, signer: Signer) -> dict[str, Any] | None:
    """Sequence slot ``seq`` of ``name``, checked; None if there is none.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> read_slot(MemoryStore(), "m", 1, Signer(None)) is None
    True
    """
    key = slot_key(name, seq)
    try:
        data = store.read(key)
    except FileNotFoundError:
        return None
    return check_slot(data, key, signer)
