"""What the distributions a model needs need in turn: their installed dependency closure.

A pickle of a scikit-learn model references ``sklearn`` and ``numpy``; scikit-learn runs
on scipy, joblib and threadpoolctl too, and a serving image with another scipy can give
other answers (or fail to import scikit-learn at all). :func:`dependency_closure` follows
each distribution's ``Requires-Dist`` metadata and pins every dependency installed here.

Which requirements count is what every platform the model may be served on needs: a
requirement without a marker, or whose marker names only ``extra``. One that applies
only on some platforms or Pythons (``tomli; python_version < "3.11"``,
``nvidia-nccl-cu12; platform_system == "Linux"``) is left out: pinned, it would be
demanded of a serving image that does not need it, or cannot install it. The optional
extras of the distributions the model needs are left out too (nothing records which
were installed); the extras a dependency asks for (``dask[array]``) are followed, their
names compared as PEP 685 normalises them.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterable, Mapping

from modelship.errors import ConfigError
from modelship.parity._installed import normalize_name, until_path_changes
from modelship.parity._pins import evaluate_marker

__all__ = ["dependency_closure"]

# A Requires-Dist line's name and [extras] (PEP 508); a version specifier or "@ url"
# follows, then an optional marker after ";".
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?"
)


def _marker(line: str) -> str | None:
    """The marker of a Requires-Dist ``line``: after its last ``;`` (a marker holds none).
    A URL may hold one (``name @ https://h/p;v=1``): there a marker is set off by a space
    before its ``;``, as PEP 508 requires."""
    head, semicolon, tail = line.rpartition(";")
    if not semicolon or ("@" in head and not head[-1:].isspace()):
        return None
    return tail


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


def _applies(marker: str | None, extra: str) -> bool:
    """Whether a requirement with ``marker`` is needed wherever the model is served, when
    the extra ``extra`` ("" for none) was asked for: it has no marker, or one naming only
    ``extra`` that holds. A marker naming anything else (a platform, a Python version) is
    read by an evaluator that knows only ``extra``, and refused: not needed everywhere."""
    if marker is None or not marker.strip():
        return True
    try:
        return evaluate_marker(marker, {"extra": extra})
    except ConfigError:  # names another variable, or cannot be read
        return False


def dependency_closure(names: Iterable[str], installed: Mapping[str, str]) -> dict[str, str]:
    """Every installed distribution that ``names`` depend on, directly or not, pinned.

    ``installed`` maps a normalised distribution name to its installed version (see
    :func:`~modelship.parity._installed.installed_packages`); a dependency that is not
    in it (not installed here: the environment is broken) is not pinned, nor one needed
    only on some platforms (see the module's docstring), and their own dependencies are
    not followed. ``names`` themselves are in the result only when
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
        for line in _requires(name):
            match = _REQUIREMENT.match(line)
            if match is None or not _applies(_marker(line), extra):
                continue
            dependency = normalize_name(match["name"])
            version = installed.get(dependency)
            if version is None:
                continue
            pinned[dependency] = version
            todo.append((dependency, ""))
            extras = (match["extras"] or "").split(",")
            todo.extend((dependency, normalize_name(e.strip())) for e in extras if e.strip())
    return pinned
