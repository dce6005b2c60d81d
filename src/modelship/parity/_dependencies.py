"""What the distributions a model needs need in turn: their installed dependency closure.

A pickle of a scikit-learn model references ``sklearn`` and ``numpy``; scikit-learn runs
on scipy, joblib and threadpoolctl too, and a serving image with another scipy can give
other answers (or fail to import scikit-learn at all). :func:`dependency_closure` follows
each distribution's ``Requires-Dist`` metadata, as pip resolved it when it installed them,
and pins every dependency installed here.

Which requirements count is what pip installed: a requirement's marker is evaluated for
this interpreter; the optional extras of the distributions the model needs are left out
(nothing says which were installed), and the extras a dependency asks for
(``dask[array]``) are followed.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
from collections.abc import Callable, Iterable, Mapping

from modelship.errors import ConfigError
from modelship.parity._installed import normalize_name, until_path_changes
from modelship.parity._pins import _Marker, marker_environment

__all__ = ["dependency_closure"]

# A Requires-Dist line (PEP 508): a name, optional [extras], a version specifier or
# "@ url", and an optional marker after ";". Markers hold no ";", so the last one starts it.
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
    r"(?:\[(?P<extras>[^\]]*)\])?[^;]*(?:;(?P<marker>[^;]*))?"
)


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
        lines = importlib.metadata.distribution(name).requires
    except (importlib.metadata.PackageNotFoundError, OSError, ValueError):
        lines = None
    found = tuple(line for line in lines or () if isinstance(line, str))
    read[name] = found  # another thread may read it too: the same lines
    return found


def _holds(marker: str | None, environment: Mapping[str, str]) -> bool:
    """Whether a requirement's marker holds here. One this reader cannot evaluate counts
    as holding: the dependency is then pinned only if it is installed, which a
    requirement that did not apply could not have made it."""
    if marker is None or not marker.strip():
        return True
    try:
        return _Marker(marker, environment).evaluate()
    except ConfigError:
        return True


def dependency_closure(names: Iterable[str], installed: Mapping[str, str]) -> dict[str, str]:
    """Every installed distribution that ``names`` depend on, directly or not, pinned.

    ``installed`` maps a normalised distribution name to its installed version (see
    :func:`~modelship.parity._installed.installed_packages`); a dependency that is not
    in it (its marker did not hold, or the environment is broken) is not pinned, and its
    own dependencies are not followed. ``names`` themselves are in the result only when
    one of them depends on another.

    The walk visits each (distribution, extra) pair once, so it ends: at most the
    installed distributions times the extras their dependents ask for, whatever cycles
    the metadata has.

    Examples
    --------
    >>> from modelship.parity._dependencies import dependency_closure
    >>> from modelship.parity._installed import installed_packages
    >>> "attrs" in dependency_closure(["modelship"], installed_packages())
    True
    >>> dependency_closure(["numpy"], {"numpy": "2.1.0"})
    {}
    """
    # platform_version is PEP 508's too; a snapshot's reading of markers has no use for it.
    base = {"platform_version": platform.version(), **marker_environment()}
    pinned: dict[str, str] = {}
    # The extras of the named distributions are not followed: which were installed is
    # not recorded anywhere pip leaves.
    todo = [(normalize_name(name), "") for name in names]
    seen: set[tuple[str, str]] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        environment = {**base, "extra": extra}
        for line in _requires(name):
            match = _REQUIREMENT.match(line)
            if match is None or not _holds(match["marker"], environment):
                continue
            dependency = normalize_name(match["name"])
            version = installed.get(dependency)
            if version is None:
                continue
            pinned[dependency] = version
            todo.append((dependency, ""))
            extras = (match["extras"] or "").split(",")
            todo.extend((dependency, normalize_name(e)) for e in extras if e.strip())
    return pinned
