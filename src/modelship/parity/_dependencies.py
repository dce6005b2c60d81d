"""What the distributions a model needs need in turn: their installed dependency closure.

A pickle of a scikit-learn model references ``sklearn`` and ``numpy``; scikit-learn runs
on scipy, joblib and threadpoolctl too, and a serving image with another scipy can give
other answers (or fail to import scikit-learn at all). :func:`marked_closure` follows
each distribution's ``Requires-Dist`` metadata and pins every dependency installed here,
with the marker of where it is needed; :func:`dependency_closure` keeps the pins needed
everywhere.

A requirement without a marker, or whose marker names only ``extra``, is needed on every
platform the model may be served on: its pin has no marker. One whose marker names a
platform or a Python version (``tomli; python_version < "3.11"``,
``nvidia-nccl-cu12; platform_system == "Linux"``) is pinned when the marker held here
(where the model was trained), with that marker, so the pin applies exactly where the
marker holds: pinned bare, it would be demanded of a serving image that does not need it.
A dependency reached through marked dependencies needs every marker along the path
(``(m1) and (m2)``), and one reached by several paths is needed where any of them holds
(``(p1) or (p2)``). A marker this module's evaluator cannot read here, one whose
``extra`` condition cannot be taken out of it (see
:func:`~modelship.parity._pins.marker_without_extra`), one a requirements file cannot
carry (:func:`~modelship.parity._pins.marker_problem`), or a combined marker that cannot
be carried (longer than :data:`~modelship.parity._pins.MAX_MARKER_TEXT` characters, or
its parentheses nested past :data:`~modelship.parity._pins.MAX_MARKER_NESTING` levels)
leaves the dependency (and what only it leads to) unpinned. The optional extras of the
distributions the model needs are left out (nothing records which were installed); the
extras a dependency asks for (``dask[array]``) are followed, their names compared as PEP
685 normalises them.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterable, Mapping

from modelship.errors import ConfigError
from modelship.parity._installed import normalize_name, requirement_lines, until_path_changes
from modelship.parity._pins import (
    MAX_MARKER_TEXT,
    NAME_PATTERN,
    evaluate_marker,
    marker_environment,
    marker_problem,
    marker_without_extra,
    split_marker,
)

__all__ = ["dependency_closure", "marked_closure"]

# A Requires-Dist line's name and [extras] (PEP 508); a version specifier or "@ url"
# follows, then an optional marker after ";".
_REQUIREMENT = re.compile(rf"\s*(?P<name>{NAME_PATTERN})\s*(?:\[(?P<extras>[^\]]*)\])?")


# Each distribution's Requires-Dist lines, read once until a sys.path directory changes
# (~1 ms a distribution, paid by every registration otherwise).
_read: Callable[[], dict[str, tuple[str, ...]]] = until_path_changes(dict)


def _requires(name: str) -> tuple[str, ...]:
    """The ``Requires-Dist`` lines of the installed distribution ``name``, as the one
    ``import`` finds (first on ``sys.path``) declares them; none when it is not
    installed or its metadata cannot be read."""
    read = _read()
    if name in read:
        return read[name]
    try:
        # dist.requires, read without parsing the whole METADATA file (its description)
        lines = requirement_lines(importlib.metadata.distribution(name))
    except (importlib.metadata.PackageNotFoundError, OSError, ValueError):
        lines = None
    found = tuple(line for line in lines or () if isinstance(line, str))
    read[name] = found  # another thread may read it too: the same lines
    return found


def _condition(marker: str | None, extra: str, environment: Mapping[str, str]) -> str | None:
    """The condition under which a requirement with ``marker``, reached through the extra
    ``extra`` ("" for none), is needed: ``""`` everywhere (no marker, or one naming only
    ``extra`` that holds), a marker that held in ``environment`` (its ``extra``
    conditions taken out), or None: not needed here, or not known to be (see the
    module's docstring)."""
    if marker is None or not marker.strip():
        return ""
    try:
        return "" if evaluate_marker(marker, {"extra": extra}) else None
    except ConfigError:  # names another variable, or cannot be read
        pass
    try:
        if not evaluate_marker(marker, {**environment, "extra": extra}):
            return None
    except ConfigError:  # cannot be read here: not known to be needed (as before)
        return None
    condition = marker_without_extra(marker, extra)
    if condition is None or (condition and marker_problem(condition) is not None):
        return None
    return condition


# A node's condition in disjunctive normal form: each path's marker conditions (a
# conjunction), any of which makes it needed. {frozenset()}: needed everywhere. None: its
# condition grew past MAX_MARKER_TEXT, or went through one that did: not pinned.
_Paths = frozenset[frozenset[str]] | None
_EVERYWHERE: frozenset[frozenset[str]] = frozenset({frozenset()})


def _render(paths: frozenset[frozenset[str]]) -> str | None:
    """``paths`` as one PEP 508 marker, each condition and path parenthesised, in a
    stable order; None for a node needed everywhere."""
    if frozenset() in paths:
        return None

    def conjunction(path: frozenset[str]) -> str:
        if len(path) == 1:
            return next(iter(path))
        return " and ".join(f"({condition})" for condition in sorted(path))

    if len(paths) == 1:
        return conjunction(next(iter(paths)))
    return " or ".join(f"({conjunction(path)})" for path in sorted(paths, key=sorted))


def _join(old: _Paths, new: _Paths) -> _Paths:
    """Where ``old`` or ``new`` holds: the union of their paths without a path that
    another one's conditions imply (``(a)`` or ``(a) and (b)`` is ``(a)``); None when
    the combined marker is not one a pin can carry (past
    :data:`~modelship.parity._pins.MAX_MARKER_TEXT` characters, or parentheses nested
    past :data:`~modelship.parity._pins.MAX_MARKER_NESTING` levels: the check of
    :func:`~modelship.parity._pins.marker_problem`, which
    :class:`~modelship.parity.Requirements` runs), or when either is None (unless the
    other holds everywhere)."""
    if old is None or new is None:
        other = new if old is None else old
        return _EVERYWHERE if other is not None and frozenset() in other else None
    union = old | new
    kept = frozenset(path for path in union if not any(other < path for other in union))
    text = _render(kept)
    if text is None:
        return kept
    # Each condition is a marker a pin can carry; the parentheses around it can nest it
    # past the evaluator's bound (second look: a Requires-Dist marker 100 levels deep made
    # resolve_requirements raise), so the combined text is checked as Requirements does.
    return None if len(text) > MAX_MARKER_TEXT or marker_problem(text) is not None else kept


def marked_closure(
    names: Iterable[str],
    installed: Mapping[str, str],
    environment: Mapping[str, str] | None = None,
) -> dict[str, tuple[str, str | None]]:
    """Every installed distribution that ``names`` depend on, directly or not, pinned:
    its version, and the marker of where it is needed (None: everywhere).

    ``installed`` maps a normalised distribution name to its installed version (see
    :func:`~modelship.parity._installed.installed_packages`); ``environment`` holds the
    marker variables a requirement's marker is evaluated with (default: this
    interpreter's, :func:`~modelship.parity._pins.marker_environment`). A dependency that
    is not installed here (the environment is broken) is not pinned, nor one whose
    marker does not hold here or cannot be carried (see the module's docstring), and
    their own dependencies are not followed through them. ``names`` themselves are in
    the result only when one of them depends on another, needed everywhere.

    The walk revisits a (distribution, extra) pair only when its condition grows, so it
    ends: a condition only grows, by paths of the finitely many markers read, and is
    dropped past :data:`~modelship.parity._pins.MAX_MARKER_TEXT` characters.

    Examples
    --------
    >>> from modelship.parity._dependencies import marked_closure
    >>> marked_closure(["numpy"], {"numpy": "2.1.0"})
    {}
    """
    environment = marker_environment() if environment is None else environment
    # The extras of the named distributions are not followed: which were installed is
    # not recorded anywhere pip leaves.
    paths: dict[tuple[str, str], _Paths] = {}
    todo: list[tuple[str, str]] = []
    for name in names:
        paths[normalize_name(name), ""] = _EVERYWHERE
        todo.append((normalize_name(name), ""))
    pending = set(todo)  # each node waits once, however often its condition grows
    reached: set[str] = set()
    while todo:
        node = todo.pop()
        pending.discard(node)
        here = paths[node]
        name, extra = node
        for line in _requires(name):
            match = _REQUIREMENT.match(line)
            if match is None:
                continue
            condition = _condition(split_marker(line)[1], extra, environment)
            dependency = normalize_name(match["name"])
            if condition is None or dependency not in installed:
                continue
            reached.add(dependency)
            new = (
                None
                if here is None
                else frozenset(path | {condition} if condition else path for path in here)
            )
            extras = (match["extras"] or "").split(",")
            asked = (normalize_name(e.strip()) for e in extras if e.strip())
            for target in [(dependency, ""), *((dependency, e) for e in asked)]:
                current = paths.get(target, frozenset())  # no path yet: needed nowhere
                merged = _join(current, new)
                if (target not in paths or merged != current) and target not in pending:
                    todo.append(target)
                    pending.add(target)
                paths[target] = merged
    pinned: dict[str, tuple[str, str | None]] = {}
    for dependency in sorted(reached):
        found = paths.get((dependency, ""))
        if found is not None:
            pinned[dependency] = (installed[dependency], _render(found))
    return pinned


def dependency_closure(names: Iterable[str], installed: Mapping[str, str]) -> dict[str, str]:
    """The dependencies of ``names`` every platform needs: those of
    :func:`marked_closure` whose pin has no marker, pinned to their installed version.

    The walk visits each (distribution, extra) pair a bounded number of times, so it
    ends, whatever cycles the metadata has.

    Examples
    --------
    >>> from modelship.parity._dependencies import dependency_closure
    >>> from modelship.parity._installed import installed_packages
    >>> "attrs" in dependency_closure(["modelship"], installed_packages())
    True
    >>> dependency_closure(["numpy"], {"numpy": "2.1.0"})
    {}
    """
    return {
        name: version
        for name, (version, marker) in marked_closure(names, installed).items()
        if marker is None
    }
