"""Hints and sequence slots: the highest slot and alias revision, found by probing forward.

A hint (``hint-slots.json``, ``hint-aliases.json``) is a small document that may lag
behind what exists; it is overwritten best effort and never trusted. Readers start from
it and probe forward (and back, if it ran ahead of a copied or cleaned registry), so the
answer is always what the store holds. Probing doubles then halves its step
(:func:`highest_present`), so a hint that is wrong by ``k`` costs O(log k) probes,
however far it ran ahead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from modelship._json import canonical_json
from modelship.errors import IntegrityError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import alias_hint_key, alias_key, head_key, slot_key
from modelship.registry._lineage import now
from modelship.registry._protocols import Store

__all__ = [
    "bump_hint",
    "dead_slot",
    "highest_present",
    "probe_forward",
    "read_hint",
    "top_alias",
    "top_slot",
]


def read_hint(store: Store, key: str) -> int:
    """The number a hint holds; 0 if it is missing or unreadable (it is only a hint)."""
    try:
        value = parse_json(store.read(key), f"hint {key}")["n"]
    except (FileNotFoundError, IntegrityError, KeyError, TypeError):
        return 0
    return value if isinstance(value, int) and value >= 0 else 0


def bump_hint(store: Store, key: str, n: int) -> None:
    """Raise the hint at ``key`` to ``n``, best effort."""
    # A lost race leaves the hint low, which costs readers a probe.
    with contextlib.suppress(Exception):
        if read_hint(store, key) < n:
            store.replace(key, canonical_json({"n": n}))


_MAX_DOUBLINGS = 64  # 2**64 keys: no store holds more, so a search never goes further


def highest_present(exists: Callable[[int], bool], hint: int) -> int:
    """The highest ``n >= 1`` with ``exists(n)`` (0 if none), in O(log n) probes from ``hint``.

    Keys are numbered without holes (slots and alias entries are never left missing
    below the top), so the present numbers are ``1..top``. Probing doubles its step away
    from the hint until it brackets the top, then halves the bracket: a hint that lags
    by ``k`` or runs ahead by ``k`` costs about ``2 log2 k`` probes, never ``k``.

    Examples
    --------
    >>> highest_present(lambda n: n <= 5, 1_000_000)
    5
    >>> highest_present(lambda n: n <= 5, 0), highest_present(lambda n: False, 3)
    (5, 0)
    """
    step = 1
    if hint > 0 and not exists(hint):
        high = hint  # the hint ran ahead (a copied or cleaned registry, or a hostile one)
        for _ in range(_MAX_DOUBLINGS):
            low = max(hint - step, 0)
            if low == 0 or exists(low):
                break
            high, step = low, step * 2
    else:
        low = hint
        for _ in range(_MAX_DOUBLINGS):
            if not exists(low + step):
                break
            low, step = low + step, step * 2
        high = low + step
    while high - low > 1:  # low exists (or is 0), high does not: halves each time
        middle = (low + high) // 2
        if exists(middle):
            low = middle
        else:
            high = middle
    return low


def probe_forward(store: Store, hint_key: str, key_of: Callable[[int], str]) -> int:
    """The highest ``n`` whose ``key_of(n)`` exists, starting from the hint at ``hint_key``."""
    hint = read_hint(store, hint_key)
    top = highest_present(lambda n: store.exists(key_of(n)), hint)
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
