"""Entry points of modelship's plugin groups, read from the installed packages once.

Reading a group means reading the metadata of every installed distribution: 8 ms with the
150 packages of a test environment here, more in a large one. ``open_registry`` and
``get_serializer`` look a name up on every call, so each group is read once per process
and kept. A name the kept group lacks is looked for again in a fresh read when the
caller asks (``rescan``), so a plugin installed after the first lookup (in a running
notebook) is still found under a new name.

modelship declares its own plugins (document kinds, serializers) as entry points too. An
entry point of modelship's own distribution wins over any other package's of the same
name, so an installed package cannot replace a built-in. Any other name that two
distributions declare for different objects is refused (:class:`~modelship.ConfigError`
naming both) when it is looked up, never settled by the order of ``sys.path``; and a
plugin that cannot be imported is a ``ConfigError`` naming it and its distribution
(:func:`load_plugin`).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from modelship.errors import ConfigError

__all__ = ["declared", "load_plugin", "origin", "plugin", "plugins"]

EntryPoint = importlib.metadata.EntryPoint
_GROUPS: dict[str, dict[str, tuple[EntryPoint, ...]]] = {}


def _read(group: str) -> dict[str, tuple[EntryPoint, ...]]:
    """Every entry point of ``group`` by name, in a fresh read, kept for :func:`plugin`."""
    found: dict[str, tuple[EntryPoint, ...]] = {}
    for ep in importlib.metadata.entry_points(group=group):
        found[ep.name] = (*found.get(ep.name, ()), ep)
    _GROUPS[group] = found  # one assignment: a reader sees the old group or the new one
    return found


def plugins(group: str) -> dict[str, EntryPoint]:
    """Every entry point of ``group`` by name, in a fresh read (and kept for :func:`plugin`).

    A name declared twice maps to the first one read; :func:`plugin` refuses it.

    Examples
    --------
    >>> "nosuch" in plugins("modelship.registries")
    False
    """
    return {name: eps[0] for name, eps in _read(group).items()}


def _dist(ep: EntryPoint) -> str | None:
    return None if ep.dist is None else ep.dist.name


def origin(ep: EntryPoint) -> str:
    """What ``ep`` names and the distribution declaring it, for messages.

    Examples
    --------
    >>> origin(importlib.metadata.EntryPoint("x", "pkg.mod:make", "g"))
    "'pkg.mod:make' from an unknown distribution"
    """
    return f"{ep.value!r} from {_dist(ep) or 'an unknown distribution'}"


def _own(ep: EntryPoint) -> bool:
    """Whether modelship's own distribution declares ``ep`` (names compare normalised)."""
    return (_dist(ep) or "").lower().replace("_", "-") == "modelship"


def plugin(group: str, name: str, *, rescan: bool = True) -> EntryPoint | None:
    """The entry point ``name`` of ``group``, or None; the group is read at most once per
    process, and once more for a name it lacks when ``rescan`` is true.

    modelship's own entry point of that name wins; otherwise two distributions declaring
    ``name`` for different objects raise :class:`~modelship.ConfigError` naming both.

    Examples
    --------
    >>> plugin("modelship.registries", "nosuch") is None
    True
    """
    kept = _GROUPS.get(group)
    if kept is None or (rescan and name not in kept):
        kept = _read(group)
    eps = kept.get(name, ())
    own = [ep for ep in eps if _own(ep)]
    if own:
        return own[0]
    if len({ep.value for ep in eps}) > 1:
        raise ConfigError(
            f"the {group!r} entry point {name!r} is declared by more than one package: "
            f"{' and '.join(origin(ep) for ep in eps)}; uninstall one of them (modelship "
            "does not choose by the order of sys.path)"
        )
    return eps[0] if eps else None


def declared(group: str, name: str) -> tuple[EntryPoint, ...]:
    """Every entry point named ``name`` in ``group`` as read once per process (none, one,
    or several packages'), for telling who declares a name that is not looked up.

    Examples
    --------
    >>> declared("modelship.registries", "nosuch")
    ()
    """
    kept = _GROUPS.get(group)
    if kept is None:
        kept = _read(group)
    return kept.get(name, ())


def load_plugin(ep: EntryPoint) -> Any:
    """``ep.load()``; a plugin that cannot be imported raises :class:`~modelship.ConfigError`
    naming it and its distribution.

    Examples
    --------
    >>> load_plugin(importlib.metadata.EntryPoint("x", "nosuch_module_here:X", "g"))
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the 'g' entry point 'x' ('nosuch_module_here:X' from ...
    """
    try:
        return ep.load()
    except Exception as exc:  # whatever the plugin's import raised
        raise ConfigError(
            f"the {ep.group!r} entry point {ep.name!r} ({origin(ep)}) could not be "
            f"loaded: {type(exc).__name__}: {exc}; reinstall or uninstall that package"
        ) from exc
