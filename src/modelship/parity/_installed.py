"""What is installed, read again only when a directory on ``sys.path`` changes.

Listing the installed distributions parses every one's metadata, and mapping modules to
distributions reads every ``RECORD`` file: 0.1 to 0.5 s with 80 distributions (measured
in ``benchmarks/bench_parity.py``), paid by every registration that records its
environment. Installing, upgrading or removing a distribution adds or removes a
``*.dist-info`` folder in a ``sys.path`` directory, which changes that directory's
modification time; so a result is kept as long as ``sys.path`` and those times are the
same. (Editing an installed ``METADATA`` file in place is not seen; nothing but a hand
edit does that.)
"""

from __future__ import annotations

import csv
import functools
import importlib.machinery
import importlib.metadata
import os
import re
import reprlib
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

from modelship._shown import hide_credentials
from modelship.errors import ConfigError
from modelship.parity._pep440 import same_version

__all__ = [
    "MAX_TEXT",
    "installed_packages",
    "module_distributions",
    "module_providers",
    "normalize_name",
    "path_state",
    "shown",
    "unicode_text",
    "until_path_changes",
]

_T = TypeVar("_T")

MAX_TEXT = 200
"""Longest distribution name or version a document may hold: no real one is longer, and
every message that quotes one stays short (and ``int()`` never meets a 4300-digit part)."""


def path_state() -> tuple[tuple[str, int | None], ...]:
    """Each ``sys.path`` entry with its modification time (``None`` if it cannot be read)."""
    state: list[tuple[str, int | None]] = []
    for entry in list(sys.path):
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except (OSError, ValueError):  # a missing entry, or a name the OS refuses
            state.append((entry, None))
    return tuple(state)


def until_path_changes(compute: Callable[[], _T]) -> Callable[[], _T]:
    """``compute``, called again only when :func:`path_state` differs from the last call.

    Callers must not mutate the result: it is shared until the path changes.
    """
    lock = threading.Lock()
    kept: list[tuple[tuple[tuple[str, int | None], ...], _T]] = []

    @functools.wraps(compute)
    def cached() -> _T:
        state = path_state()
        with lock:
            if kept and kept[0][0] == state:
                return kept[0][1]
        value = compute()  # outside the lock: two racing callers both compute, both right
        with lock:
            kept[:] = [(state, value)]
        return value

    return cached


def normalize_name(name: str) -> str:
    """Return a distribution name normalised per PEP 503 (lower case, runs of ``-_.`` as ``-``).

    Examples
    --------
    >>> from modelship.parity import normalize_name
    >>> normalize_name("Scikit_Learn"), normalize_name("zope.interface")
    ('scikit-learn', 'zope-interface')

    Raises
    ------
    ConfigError
        When ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise ConfigError(
            f"normalize_name needs a distribution name as a string, got {type(name).__name__} "
            f"{reprlib.repr(name)}"
        )
    return re.sub(r"[-_.]+", "-", name).lower()


def pin_conflict(packages: Mapping[str, str], name: str) -> str | None:
    """Two keys of ``packages`` that name one distribution (``Foo_Bar``, ``foo-bar``)
    pinned to different versions, said as a message starting with ``name``; or None.

    Keeping either pin would depend on the order of the keys. Two spellings of one PEP
    440 version (``2.4.6``, ``2.4.6.0``) are one pin, not a conflict.
    """
    seen: dict[str, tuple[str, str]] = {}
    for package, version in packages.items():
        first = seen.setdefault(normalize_name(package), (package, version))
        if not same_version(first[1], version):
            return (
                f"{name} pins {reprlib.repr(first[0])} to {reprlib.repr(first[1])} and "
                f"{reprlib.repr(package)} to {reprlib.repr(version)}: both name the "
                f"distribution {normalize_name(package)!r} (PEP 503); keep one pin"
            )
    return None


class _HiddenRepr(reprlib.Repr):
    """``reprlib.Repr`` that hides the user information of URLs in a string before it
    shortens it."""

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(hide_credentials(x), level)


_HIDDEN_REPR = _HiddenRepr()


def shown(value: object) -> str:
    """``value`` for an error message: as ``reprlib.repr`` shortens it, the user
    information of every URL in its strings hidden first. Shortened first, a requirement
    line's ``-i https://user:TOKEN@host/simple`` lost the ``https://user:`` that marks
    what follows as a credential, and its tail was shown.

    Examples
    --------
    >>> from modelship.parity._installed import shown
    >>> shown("--extra-index-url https://alice:S3cr3tTok3nXYZ@h/s")
    "'--extra-inde...tps://***@h/s'"
    >>> shown(["numpy==2.1.0"])
    "['numpy==2.1.0']"
    """
    try:
        return _HIDDEN_REPR.repr(value)
    except Exception:  # a repr may fail (an int past 4300 digits, a broken __repr__)
        return f"<{type(value).__name__}>"


def unicode_text(text: str) -> str:
    """``text`` with what is not Unicode escaped: the bytes of a non-UTF-8 environment
    variable or file name (which Python holds as lone surrogates) as ``\\xNN``, as
    ``backslashreplace`` writes them, any other lone surrogate as ``\\udNNN``.

    Examples
    --------
    >>> from modelship.parity._installed import unicode_text
    >>> unicode_text("4\\udcff"), unicode_text("plain")
    ('4\\\\xff', 'plain')
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte was escaped to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str, str] | None:
    """A distribution's name and version, or None when its metadata cannot say them: no
    name or version, one longer than :data:`MAX_TEXT` (no real one is), or unreadable."""
    try:
        metadata = dist.metadata
        # get_all, not [...]: a missing field is None, a warning or a KeyError by version
        names, versions = metadata.get_all("Name", []), metadata.get_all("Version", [])
    except (OSError, ValueError):  # an unreadable or non-UTF-8 METADATA file
        return None
    name, version = (names or [None])[0], (versions or [None])[0]
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    name, version = unicode_text(name), unicode_text(version)
    if not name.strip() or not version or len(name) > MAX_TEXT or len(version) > MAX_TEXT:
        return None
    return name, version


@until_path_changes
def installed_packages() -> Mapping[str, str]:
    """Installed distribution (normalised name) to version; shared, do not mutate.

    A distribution whose metadata has no name or version, or one longer than
    :data:`MAX_TEXT`, is left out: it is broken (pip could not reinstall it), and a
    snapshot cannot hold it.
    """
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        found = _name_and_version(dist)
        if found is None:
            continue
        # The first on sys.path is the one `import` finds; later copies are shadowed.
        packages.setdefault(normalize_name(found[0]), found[1])
    return packages


module_distributions: Callable[[], Mapping[str, list[str]]] = until_path_changes(
    importlib.metadata.packages_distributions
)
"""Top-level module to the distributions providing it; shared, do not mutate."""


# The longest first: ".cpython-311-x86_64-linux-gnu.so" before ".so".
_MODULE_SUFFIXES = tuple(sorted(importlib.machinery.all_suffixes(), key=len, reverse=True))


def _module_of(parts: tuple[str, ...]) -> str | None:
    """The dotted module a file installed at ``parts`` (relative to its site directory)
    is: ``acme/models/__init__.py`` is ``acme.models``, ``numpy/_core/_umath.cpython-311-
    x86_64-linux-gnu.so`` is ``numpy._core._umath``; None for a file that is no module
    (data, metadata, a script in ``../../bin``)."""
    if not parts or "__pycache__" in parts:
        return None
    suffix = next((suffix for suffix in _MODULE_SUFFIXES if parts[-1].endswith(suffix)), None)
    if suffix is None:
        return None
    stem = parts[-1][: -len(suffix)]
    names = [*parts[:-1]] if stem == "__init__" else [*parts[:-1], stem]
    if not names or not all(name.isidentifier() for name in names):
        return None
    return ".".join(names)


def _record_modules(record: str) -> set[str]:
    """The modules a ``RECORD`` file lists; what a damaged one holds up to the damage."""
    modules: set[str] = set()
    try:
        for row in csv.reader(record.splitlines()):
            # RECORD paths are "/"-separated, relative to the site directory (PEP 376).
            module = (
                _module_of(tuple(p for p in row[0].split("/") if p not in ("", ".")))
                if row
                else None
            )
            if module is not None:
                modules.add(module)
    except csv.Error:  # a NUL byte, an unclosed quote: the rows read so far stand
        pass
    return modules


def _providers() -> Mapping[str, tuple[str, ...]]:
    providers: dict[str, set[str]] = {}
    for dist in importlib.metadata.distributions():
        found = _name_and_version(dist)
        try:
            # RECORD only: an egg's SOURCES.txt lists the project's tree (src/, tests/,
            # setup.py), not what was installed.
            record = dist.read_text("RECORD")
        except (OSError, ValueError):  # unreadable, or not UTF-8: as without a RECORD
            record = None
        if found is None or not record:
            continue
        for module in _record_modules(record):
            providers.setdefault(module, set()).add(found[0])
    return {module: tuple(sorted(names)) for module, names in providers.items()}


module_providers: Callable[[], Mapping[str, tuple[str, ...]]] = until_path_changes(_providers)
"""Dotted module (``acme.models``, ``sklearn.linear_model._logistic``) to the
distributions whose installed files (``RECORD``) are that module; shared, do not mutate.

A package is its ``__init__`` file, so a namespace package (``acme``, ``google``), which
has none, is provided by no distribution here: each of its subpackages is provided by
its own."""
