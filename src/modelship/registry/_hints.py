"""Hints and sequence slots: the highest slot and alias revision, found by probing forward.

A hint (``HEAD``, ``ALIASES``) is a small document that may lag behind what exists; it is
overwritten best effort and never trusted. Readers start from it and probe forward (and
back, if it ran ahead of a copied or cleaned registry), so the answer is always what the
store holds. Probing is bounded by the number of keys that exist.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from modelship.registry._layout import alias_hint_key, alias_key, head_key, slot_key
from modelship.registry._lineage import now
from modelship.registry._protocols import Store
from modelship.version import canonical_json

__all__ = ["bump_hint", "dead_slot", "probe_forward", "read_hint", "top_alias", "top_slot"]


def read_hint(store: Store, key: str) -> int:
    """The number a hint holds; 0 if it is missing or unreadable (it is only a hint)."""
    try:
        value = json.loads(store.read(key))["n"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0
    return value if isinstance(value, int) and value >= 0 else 0


def bump_hint(store: Store, key: str, n: int) -> None:
    """Raise the hint at ``key`` to ``n``, best effort."""
    # A lost race leaves the hint low, which costs readers a probe.
    with contextlib.suppress(Exception):
        if read_hint(store, key) < n:
            store.replace(key, canonical_json({"n": n}))


def probe_forward(store: Store, hint_key: str, key_of: Callable[[int], str]) -> int:
    """The highest ``n`` whose ``key_of(n)`` exists, starting from the hint at ``hint_key``."""
    hint = read_hint(store, hint_key)
    top = hint
    while store.exists(key_of(top + 1)):
        top += 1
    while top > 0 and not store.exists(key_of(top)):
        top -= 1  # the hint ran ahead of what exists (a copied or cleaned registry)
    if top > hint:
        bump_hint(store, hint_key, top)
    return top


def top_slot(store: Store, name: str) -> int:
    """The highest sequence slot of ``name`` taken (committed or in flight), 0 if none."""
    return probe_forward(store, head_key(name), lambda s: slot_key(name, s))


def top_alias(store: Store, name: str) -> int:
    """The newest alias log revision of ``name``, 0 if none."""
    return probe_forward(store, alias_hint_key(name), lambda r: alias_key(name, r))


def dead_slot() -> bytes:
    """A slot whose number no version will have: kept so that slots have no holes."""
    return canonical_json({"dead": True, "at": now().isoformat()})
