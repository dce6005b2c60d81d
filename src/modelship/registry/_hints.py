"""Hints and sequence slots: the highest slot and alias revision, found by probing forward.

A hint (``hint-slots.json``, ``hint-aliases.json``) is a small document that may lag
behind what exists; it is overwritten best effort and never trusted. Readers start from
it and probe forward, so the answer is always what the store holds. Probing doubles then
halves its step (:func:`highest_present`), so a hint that lags by ``k`` costs O(log k)
probes. One that names no present key (it ran ahead of a copied or cleaned registry, or
is no number of a key: ``2**70``, ``-1``, ``"3"``) is read as no hint, which costs
O(log top): a reader never steps down from a hint, which would land on a stray key far
above the top (one slot file planted at ``n``, the hint at ``n + 1``) and make ``latest``
walk every number below it.

The invariant relied on: numbered keys have no holes. A slot or alias log entry is never
removed (gc turns a dead slot into a tombstone), and a writer creates number ``n`` only
once ``n - 1`` exists (it probes the top, then takes the next number, one up per lost
race; a copy creates them in order), so the present numbers are ``1..top``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from modelship._json import canonical_json
from modelship.errors import IntegrityError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    MAX_NUMBER,
    alias_hint_key,
    alias_key,
    head_key,
    slot_key,
)
from modelship.registry._protocols import Store

__all__ = [
    "bump_hint",
    "highest_present",
    "probe_forward",
    "read_hint",
    "top_alias",
    "top_slot",
]


def _usable(value: object) -> int:
    """``value`` if a hint may hold it (a number of a key, 1 to :data:`MAX_NUMBER`), else 0.

    A hint is unsigned and may be damaged or written by anyone: a bool, a negative number
    or one past every key (``2**70``) is no hint at all.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_NUMBER:
        return value
    return 0


def read_hint(store: Store, key: str) -> int:
    """The number a hint holds; 0 if it is missing, unreadable or out of range.

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> store.create("h.json", b'{"n": 1180591620717411303424}')  # 2**70: past every key
    >>> read_hint(store, "h.json")
    0
    """
    try:
        doc = parse_json(store.read(key), f"hint {key}")
    except (FileNotFoundError, IntegrityError):
        return 0
    return _usable(doc.get("n")) if isinstance(doc, dict) else 0


def _write_hint(store: Store, key: str, n: int) -> None:
    with contextlib.suppress(Exception):  # best effort: a hint only saves probes
        store.replace(key, canonical_json({"n": n}))


def bump_hint(store: Store, key: str, n: int) -> None:
    """Raise the hint at ``key`` to ``n``, best effort."""
    # A lost race leaves the hint low, which costs readers a probe.
    with contextlib.suppress(Exception):
        if read_hint(store, key) < n:
            _write_hint(store, key, n)


def highest_present(exists: Callable[[int], bool], hint: object) -> int:
    """The highest ``n >= 1`` with ``exists(n)`` (0 if none), in O(log n) probes from ``hint``.

    Keys are numbered without holes (slots and alias entries are never left missing
    below the top), so the present numbers are ``1..top``, and none is above
    :data:`~._layout.MAX_NUMBER`. Probing doubles its step up from the hint until it
    brackets the top, then halves the bracket: a hint that lags by ``k`` costs about
    ``2 log2 k`` probes, never ``k``. A hint that is not present (it ran ahead) or is no
    number of a key (negative, past :data:`~._layout.MAX_NUMBER`, not an int) is taken as
    0, so no hint costs more than about ``2 log2 MAX_NUMBER`` (80) probes, and one that
    ran ahead never decides the answer: stepping down from it would stop at the first
    number present, perhaps a stray key far above a hole (see the module docstring).

    Examples
    --------
    >>> highest_present(lambda n: n <= 5, 1_000_000)
    5
    >>> highest_present(lambda n: n <= 5, 0), highest_present(lambda n: False, 3)
    (5, 0)
    >>> highest_present(lambda n: n <= 5, 2**70), highest_present(lambda n: n <= 5, -1)
    (5, 5)
    >>> highest_present(lambda n: n <= 3 or n == 200_000, 200_001)  # a stray key: not the top
    3
    """
    start = _usable(hint)
    if start and not exists(start):
        start = 0  # the hint ran ahead (a copied or cleaned registry, or a damaged one)
    # Step up by 1, 2, 4, ... until a number is missing; past MAX_NUMBER nothing is looked
    # for, as no key is numbered so. Each loop doubles its step or halves its bracket, and
    # every number probed is in 1..MAX_NUMBER, so each runs at most 41 times.
    low, step = start, 1
    while low + step <= MAX_NUMBER and exists(low + step):
        low, step = low + step, step * 2
    high = min(low + step, MAX_NUMBER + 1)
    while high - low > 1:  # low exists (or is 0), high does not (or is past MAX_NUMBER)
        middle = (low + high) // 2
        if exists(middle):
            low = middle
        else:
            high = middle
    return low


def probe_forward(store: Store, hint_key: str, key_of: Callable[[int], str]) -> int:
    """The highest ``n`` whose ``key_of(n)`` exists, starting from the hint at ``hint_key``.

    A hint found behind is raised, and one found ahead (or unusable) is set to the top,
    so that the next reader starts right.
    """
    hint = read_hint(store, hint_key)
    top = highest_present(lambda n: store.exists(key_of(n)), hint)
    if top > hint:
        bump_hint(store, hint_key, top)
    elif top < hint:
        # Lowered without re-reading: a writer racing may have just raised it, and then
        # the hint lags, which costs the next reader a few probes and nothing else.
        _write_hint(store, hint_key, top)
    return top


def top_slot(store: Store, name: str) -> int:
    """The highest sequence slot of ``name`` taken (committed or in flight), 0 if none."""
    return probe_forward(store, head_key(name), lambda s: slot_key(name, s))


def top_alias(store: Store, name: str) -> int:
    """The newest alias log revision of ``name``, 0 if none."""
    return probe_forward(store, alias_hint_key(name), lambda r: alias_key(name, r))
