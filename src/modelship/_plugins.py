"""Entry points of modelship's plugin groups, read from the installed packages once.

Reading a group means reading the metadata of every installed distribution: 8 ms with the
150 packages of a test environment here, more in a large one. ``open_registry`` and
``get_serializer`` look a name up on every call, so each group is read once per process
and kept. A name the kept group lacks is looked for again in a fresh read when the
caller asks (``rescan``), so a plugin installed after the first lookup (in a running
notebook) is still found under a new name.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["plugin", "plugins"]

_GROUPS: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}


def plugins(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    """Every entry point of ``group`` by name, in a fresh read (and kept for :func:`plugin`).

    Examples
    --------
    >>> "nosuch" in plugins("modelship.registries")
    False
    """
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=group)}
    _GROUPS[group] = found  # one assignment: a reader sees the old group or the new one
    return found


def plugin(group: str, name: str, *, rescan: bool = True) -> importlib.metadata.EntryPoint | None:
    """The entry point ``name`` of ``group``, or None; the group is read at most once per
    process, and once more for a name it lacks when ``rescan`` is true.

    Examples
    --------
    >>> plugin("modelship.registries", "nosuch") is None
    True
    """
    kept = _GROUPS.get(group)
    if kept is None or (rescan and name not in kept):
        kept = plugins(group)
    return kept.get(name)
