"""What is installed, read again only when a directory on ``sys.path`` changes.

Listing the installed distributions reads every one's metadata, and mapping modules to
distributions reads every ``RECORD`` file, paid by every registration that records its
environment (measured in ``benchmarks/bench_parity.py``). Each ``METADATA`` file is read
once for every listing here, its name and version from its first lines when they are
plain one-line fields (the email parser reads the whole file, a long description
included); ``RECORD`` rows are read as text, not as a ``pathlib`` path each.

Installing, upgrading or removing a distribution adds or removes a
``*.dist-info`` folder in a ``sys.path`` directory, which changes that directory's
modification time; so a result is kept as long as ``sys.path`` and those times are the
same. (Editing an installed ``METADATA`` file in place is not seen; nothing but a hand
edit does that.)
"""

from __future__ import annotations

import contextlib
import csv
import functools
import importlib.machinery
import importlib.metadata
import json
import os
import pathlib
import re
import reprlib
import stat
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

import attrs

from modelship._shown import hide_credentials
from modelship.errors import ConfigError
from modelship.parity._pep440 import same_version

__all__ = [
    "MAX_TEXT",
    "PackageSource",
    "different_commit",
    "installed_packages",
    "installed_sources",
    "module_distributions",
    "module_providers",
    "normalize_name",
    "parse_direct_url",
    "path_state",
    "requirement_lines",
    "shown",
    "source_url",
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


def _checked(name: object, version: object) -> tuple[str, str] | None:
    """``name`` and ``version`` (each a metadata field's first value, None when absent),
    or None when they are not a distribution's name and version: missing, longer than
    :data:`MAX_TEXT` (no real one is), or not text."""
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    name, version = unicode_text(name), unicode_text(version)
    if not name.strip() or not version or len(name) > MAX_TEXT or len(version) > MAX_TEXT:
        return None
    return name, version


# A header line the email parser reads as one field, its value after the spaces and tabs
# that follow the colon (``Compat32.header_source_parse``).
_FIELD_LINE = re.compile(r"([\041-\071\073-\176]+):[ \t]*(.*)")
_FIELDS = ("name", "version")


def _first_fields(text: str) -> dict[str, str] | None:
    """The first ``Name`` and ``Version`` fields of a ``METADATA`` text as
    ``email.message_from_string(text).get_all(...)[0]`` reads them (a field absent is
    left out); None when the lines up to them are anything but one-line fields (a
    continuation line after one of them, a carriage return, a line the parser reads
    otherwise): then the caller asks the email parser itself.

    Parsing the whole text (a long description included) is most of the cost of
    listing the installed distributions; the fields sought come first."""
    found: dict[str, str] = {}
    first_before = False  # the line before began the first Name or Version field
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if "\r" in line:
            return None
        if not line:  # the blank line that ends the header (or the end of the text)
            return found
        if line[0] in " \t":  # continues the field before: its value has several lines
            if first_before or start == 0:
                return None
        else:
            match = _FIELD_LINE.fullmatch(line)
            if match is None:
                return None
            key = match[1].lower()
            first_before = key in _FIELDS and key not in found
            if first_before:
                found[key] = match[2]
            elif len(found) == len(_FIELDS):  # both read, and neither continues
                return found
        if end < 0:
            return found
        start = end + 1


def _field_values(text: str, key: str) -> list[str] | None:
    """Every value of the field ``key`` (lower case) in a ``METADATA`` text's header, as
    ``email.message_from_string(text).get_all(key)`` reads them; None when a line of the
    header is anything but a one-line field or a continuation of another field (see
    :func:`_first_fields`). The header ends at the first blank line: the description
    after it, most of the text, is not read."""
    values: list[str] = []
    wanted_before = False  # the line before began a field ``key``
    for number, line in enumerate(text.split("\n")):
        if "\r" in line:
            return None
        if not line:
            break
        if line[0] in " \t":
            if wanted_before or number == 0:
                return None
            continue
        match = _FIELD_LINE.fullmatch(line)
        if match is None:
            return None
        wanted_before = match[1].lower() == key
        if wanted_before:
            values.append(match[2])
    return values


def requirement_lines(dist: importlib.metadata.Distribution) -> list[str] | None:
    """``dist.requires``: its ``Requires-Dist`` fields (or, with none, an egg's
    ``requires.txt`` converted), read without the email parse of the whole ``METADATA``
    file when its header is plain (one-line fields).

    Raises
    ------
    OSError, ValueError
        As ``dist.requires`` does: an unreadable or non-UTF-8 metadata file.
    """
    if type(dist).requires is importlib.metadata.Distribution.requires:
        text = _metadata_text(dist)
    else:
        text = None
    if text is not None:
        values = _field_values(text, "requires-dist") if text else []
        if values:
            return values
        if values is not None and dist.read_text("requires.txt") is None:
            return None  # no Requires-Dist, no requires.txt: as importlib says
    lines: list[str] | None = dist.requires
    return lines


def _metadata_text(dist: importlib.metadata.Distribution) -> str | None:
    """The text ``Distribution.metadata`` parses (``METADATA``, else ``PKG-INFO``, else an
    egg-info file read as ''), or None when ``dist``'s class reads its metadata its own way.

    Raises
    ------
    OSError, ValueError
        An unreadable or non-UTF-8 metadata file.
    """
    if type(dist).metadata is not importlib.metadata.Distribution.metadata:
        return None
    return dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""


class _Listed(NamedTuple):
    """One installed distribution, its metadata read once for every listing here."""

    dist: importlib.metadata.Distribution
    name_version: tuple[str, str] | None  # None: broken (see installed_packages)
    name: object  # ``dist.metadata["Name"]``: what packages_distributions lists
    readable: bool  # False: its metadata could not be read (OSError, not UTF-8)


_UNREAD = object()


def _listed(dist: importlib.metadata.Distribution) -> _Listed:
    """``dist`` with its name and version, read from the start of its ``METADATA``
    text when :func:`_first_fields` can, else parsed as ``dist.metadata`` parses it."""
    try:
        fields: dict[str, str] | None = None
        text = _metadata_text(dist)
        if text is not None:
            fields = _first_fields(text) if text else {}
        if fields is not None:
            name: object = fields.get("name")
            version: object = fields.get("version")
        else:
            metadata = dist.metadata
            # get_all, not [...]: a missing field is None, a warning or a KeyError by version
            names, versions = metadata.get_all("Name", []), metadata.get_all("Version", [])
            name, version = (names or [None])[0], (versions or [None])[0]
    except (OSError, ValueError):  # an unreadable or non-UTF-8 METADATA file
        return _Listed(dist, None, _UNREAD, readable=False)
    return _Listed(dist, _checked(name, version), name, readable=True)


@until_path_changes
def _distributions() -> tuple[_Listed, ...]:
    """Every installed distribution in ``importlib.metadata.distributions()`` order (the
    first on ``sys.path`` first), its metadata read once for :func:`installed_packages`,
    :func:`module_distributions` and :func:`module_providers`."""
    return tuple(_listed(dist) for dist in importlib.metadata.distributions())


@until_path_changes
def installed_packages() -> Mapping[str, str]:
    """Installed distribution (normalised name) to version; shared, do not mutate.

    A distribution whose metadata has no name or version, or one longer than
    :data:`MAX_TEXT`, is left out: it is broken (pip could not reinstall it), and a
    snapshot cannot hold it.
    """
    packages: dict[str, str] = {}
    for listed in _distributions():
        if listed.name_version is None:
            continue
        name, version = listed.name_version
        # The first on sys.path is the one `import` finds; later copies are shadowed.
        packages.setdefault(normalize_name(name), version)
    return packages


def _inferred_top_level(dist: importlib.metadata.Distribution) -> set[str]:
    """What Python 3.11's ``importlib.metadata._top_level_inferred(dist)`` answers, read
    from the text of ``dist.files``'s rows without a ``PackagePath`` for each (most of
    ``packages_distributions``'s time): the first component of each ``.py`` file's
    path, or its stem for one at the top. A row ``dist.files`` raises on (no name, more
    than three fields, a size that is no integer) is skipped; a damaged ``RECORD`` is
    read up to the damage."""
    text = dist.read_text("RECORD")
    lines: Iterable[str] | None = text and text.splitlines()
    if not lines:
        sources = dist.read_text("SOURCES.txt")
        # SOURCES.txt may hold literal commas: importlib quotes each line, as here.
        lines = sources and map('"{}"'.format, sources.splitlines())
    tops: set[str] = set()
    try:
        for row in csv.reader(lines or ()):
            if not row or len(row) > 3 or not _size_reads(row):
                continue
            name = row[0]
            parts = name.split("/")
            if "" in parts or "." in parts:  # not plain: pathlib normalises it
                path = pathlib.PurePosixPath(name)
                if path.suffix == ".py":
                    tops.add(path.parts[0] if len(path.parts) > 1 else path.with_suffix("").name)
            elif len(parts[-1]) > 3 and parts[-1].endswith(".py"):  # suffix == ".py"
                tops.add(parts[0] if len(parts) > 1 else parts[0][:-3])
    except csv.Error:  # a NUL byte, an unclosed quote: the rows read so far stand
        pass
    return tops


def _size_reads(row: list[str]) -> bool:
    """Whether ``int()`` reads the size field of a ``RECORD`` row (when it has one), as
    ``Distribution.files`` does."""
    if len(row) < 3 or not row[2]:
        return True
    try:
        int(row[2])
    except ValueError:
        return False
    return True


def _packages_distributions() -> Mapping[str, list[str]]:
    """``importlib.metadata.packages_distributions()`` (Python 3.11): a distribution's
    ``top_level.txt`` names, or those inferred from its files, to the ``Name`` field of
    each distribution with that name, in ``sys.path`` order (a copy shadowed on a later
    entry too). A distribution whose metadata cannot be read is left out (importlib
    raises)."""
    found: dict[str, list[str]] = {}
    for listed in _distributions():
        try:
            declared = (listed.dist.read_text("top_level.txt") or "").split()
            tops = declared or _inferred_top_level(listed.dist)
        except (OSError, ValueError):  # unreadable, or not UTF-8: importlib raises
            continue
        if tops and listed.readable:
            for top in tops:
                # The Name field as importlib reads it: None when there is none.
                found.setdefault(top, []).append(listed.name)  # type: ignore[arg-type]
    return found


module_distributions: Callable[[], Mapping[str, list[str]]] = until_path_changes(
    # Python 3.11's answer without a pathlib path for each RECORD row (1.2 s of 1.3 s
    # with 169 distributions); 3.12 changed it (every file, each checked to exist).
    _packages_distributions
    if sys.version_info[:2] == (3, 11)
    else importlib.metadata.packages_distributions
)
"""Top-level module to the distributions providing it, as
``importlib.metadata.packages_distributions`` says; shared, do not mutate."""


# The longest first: ".cpython-311-x86_64-linux-gnu.so" before ".so".
_MODULE_SUFFIXES = tuple(sorted(importlib.machinery.all_suffixes(), key=len, reverse=True))
_SUFFIX_AFTER_STRIP = all(suffix[-1:] not in ("", "/", ".") for suffix in _MODULE_SUFFIXES)


def _module_of(parts: tuple[str, ...]) -> str | None:
    """The dotted module a file installed at ``parts`` (relative to its site directory)
    is: ``acme/models/__init__.py`` is ``acme.models``, ``numpy/_core/_umath.cpython-311-
    x86_64-linux-gnu.so`` is ``numpy._core._umath``; None for a file that is no module
    (data, metadata, a script in ``../../bin``)."""
    if not parts or "__pycache__" in parts:
        return None
    last = parts[-1]
    for suffix in _MODULE_SUFFIXES:  # a loop, not next(genexpr): once per RECORD row
        if last.endswith(suffix):
            break
    else:
        return None
    stem = last[: -len(suffix)]
    names = parts[:-1] if stem == "__init__" else (*parts[:-1], stem)
    if not names:
        return None
    for name in names:
        if not name.isidentifier():
            return None
    return ".".join(names)


# The path (first field) of a RECORD row that may be a module: it ends in a module suffix,
# then any "/" and "." (as "pkg/mod.py/." does). A row without one is no module.
_MODULE_ROW = re.compile(
    r"^([^,\n]*(?:" + "|".join(map(re.escape, _MODULE_SUFFIXES)) + r")[/.]*)(?:,|$)",
    re.MULTILINE,
)
# What makes csv.reader(text.splitlines()) read a row otherwise than as the text up to the
# line's first comma: a quote, a NUL, a line boundary other than "\n".
_NOT_PLAIN_CSV = (
    '"',
    "\x00",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
)


def _paths_of(record: str) -> Iterable[str]:
    """The path of each row of a ``RECORD`` text that may be a module (see
    :data:`_MODULE_ROW`; every other row, data files and scripts, is none); the rows read
    up to the damage of a damaged one."""
    if _SUFFIX_AFTER_STRIP and not any(char in record for char in _NOT_PLAIN_CSV):
        # Plain text (every row of every RECORD pip writes): its rows are its lines, a
        # row's path the text before the first comma; one search finds the candidates.
        return _MODULE_ROW.findall(record)
    paths: list[str] = []
    with contextlib.suppress(csv.Error):  # a NUL byte, an unclosed quote: rows so far stand
        for row in csv.reader(record.splitlines()):
            if row:
                paths.append(row[0])
    return paths


def _record_modules(record: str) -> set[str]:
    """The modules a ``RECORD`` file lists; what a damaged one holds up to the damage."""
    modules: set[str] = set()
    for path in _paths_of(record):
        if "/__pycache__/" in "/" + path:  # in a cache folder: no module (_module_of's None)
            continue
        # RECORD paths are "/"-separated, relative to the site directory (PEP 376).
        parts = path.split("/")
        if "" in parts or "." in parts:
            parts = [part for part in parts if part not in ("", ".")]
        module = _module_of(tuple(parts))
        if module is not None:
            modules.add(module)
    return modules


def _providers() -> Mapping[str, tuple[str, ...]]:
    providers: dict[str, set[str]] = {}
    for listed in _distributions():
        if listed.name_version is None:
            continue
        try:
            # RECORD only: an egg's SOURCES.txt lists the project's tree (src/, tests/,
            # setup.py), not what was installed.
            record = listed.dist.read_text("RECORD")
        except (OSError, ValueError):  # unreadable, or not UTF-8: as without a RECORD
            record = None
        if not record:
            continue
        for module in _record_modules(record):
            providers.setdefault(module, set()).add(listed.name_version[0])
    return {module: tuple(sorted(names)) for module, names in providers.items()}


module_providers: Callable[[], Mapping[str, tuple[str, ...]]] = until_path_changes(_providers)
"""Dotted module (``acme.models``, ``sklearn.linear_model._logistic``) to the
distributions whose installed files (``RECORD``) are that module; shared, do not mutate.

A package is its ``__init__`` file, so a namespace package (``acme``, ``google``), which
has none, is provided by no distribution here: each of its subpackages is provided by
its own."""


# --- where a distribution was installed from (PEP 610 ``direct_url.json``) -----------

MAX_DIRECT_URL = 64 * 1024
"""Most bytes of a ``direct_url.json`` file read: pip writes well under a kilobyte; a
larger one is not an installer's, and is recorded as a source that cannot be read."""

MAX_URL = 1000
"""Longest source URL a snapshot records (credentials stripped): no real one is longer."""

SOURCE_KINDS = ("vcs", "archive", "directory", "unknown")
"""What a :class:`PackageSource` says a distribution was installed from: a version
control commit (``pip install git+URL``), an archive (a wheel or sdist file or URL), a
local directory (``pip install ./dir``, editable or not), or a ``direct_url.json`` that
could not be read (``unknown``)."""

COMMIT_ID = re.compile(r"[A-Za-z0-9._:+-]{1,200}")
"""A commit id a snapshot records (a git SHA, a Mercurial node, a Subversion revision)."""
ARCHIVE_HASH = re.compile(r"[a-z0-9_-]{1,40}=[A-Za-z0-9+/=_-]{1,200}")
"""An archive hash as PEP 610 writes it: ``<algorithm>=<digest>``."""
VCS_NAME = re.compile(r"[a-z0-9_-]{1,40}")
"""A version control system's name as PEP 610 writes it (``git``, ``hg``, ``svn``)."""


def source_url(url: object) -> str | None:
    """``url`` as a snapshot may record it: its user information (``https://user:token@``),
    query and fragment dropped; None when it is no URL text, longer than :data:`MAX_URL`,
    or still looks like it holds a credential (``hide_credentials`` would hide part of it,
    or :func:`~modelship.parity.is_secret` judges it one). What is dropped is never kept.

    Examples
    --------
    >>> from modelship.parity._installed import source_url
    >>> source_url("https://ci:ghp_T0k3n@github.com/org/foo-bar.git?x=1#egg=foo")
    'https://github.com/org/foo-bar.git'
    >>> print(source_url("https://user:pa/ss@host/x"))
    None
    >>> print(source_url("https://ci:pa?ss@host/x.whl"), source_url("https://h/u:t@h/r.git"))
    None None
    """
    # Imported here: the secret filter is not needed by every listing of distributions.
    from modelship.parity._secrets import is_secret

    if not isinstance(url, str) or not url or len(url) > MAX_URL or not url.isprintable():
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises for a port that is no number (user:pa?ss@ cut at the "?")
        netloc = parts.netloc.rpartition("@")[2]
        cleaned = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:  # an invalid IPv6 netloc, a port that is no number
        return None
    if "@" in url.replace(parts.netloc, "", 1):
        # User information outside the host part: a password holding "?" or "#" (cut
        # there), or pushed into the path (gitlab.com/oauth2:TOKEN@...). Store no URL.
        return None
    cleaned = unicode_text(cleaned)
    if not cleaned or hide_credentials(cleaned) != cleaned or is_secret("", cleaned):
        return None
    return cleaned


def _local_path(url: str | None) -> str | None:
    """The path a ``file:`` URL names, else the URL itself."""
    if url is None:
        return None
    if url.startswith("file:"):
        return urllib.parse.unquote(urllib.parse.urlsplit(url).path) or url
    return url


@attrs.frozen(kw_only=True)
class PackageSource:
    """Where an installed distribution came from, as its PEP 610 ``direct_url.json`` says.

    A distribution installed from a package index has no such file, and no source. Two
    installs of one version from two commits (or two archives) may be different code:
    :func:`~modelship.parity.compare` tells them apart by :attr:`identity`.

    Parameters
    ----------
    kind : str
        One of :data:`SOURCE_KINDS`.
    url : str, optional
        Where from; its user information, query and fragment are dropped when the source
        is built (:func:`source_url`), so no credential is ever held.
    vcs, commit_id : str, optional
        For ``kind="vcs"``: ``"git"`` and the commit installed.
    archive_hash : str, optional
        For ``kind="archive"``: ``"sha256=<hex>"``, when the installer recorded one.
    editable : bool
        For ``kind="directory"``: installed in editable mode (``pip install -e``).

    Examples
    --------
    >>> from modelship.parity._installed import PackageSource
    >>> a = PackageSource(kind="vcs", url="https://tok@github.com/org/foo.git", vcs="git",
    ...                   commit_id="a" * 40)
    >>> a.url, a.identity is not None
    ('https://github.com/org/foo.git', True)
    >>> print(a)
    git commit aaaaaaaaaaaa (https://github.com/org/foo.git)
    """

    kind: str
    url: str | None = attrs.field(default=None, converter=source_url)
    vcs: str | None = None
    commit_id: str | None = None
    archive_hash: str | None = None
    editable: bool = False

    @property
    def identity(self) -> tuple[str, ...] | None:
        """What names the code installed: ``("vcs", "git", commit)`` or ``("archive",
        algorithm, digest)``; None when nothing does (a directory, an archive without
        a hash)."""
        if self.kind == "vcs" and self.vcs and self.commit_id:
            return ("vcs", self.vcs, self.commit_id)
        if self.kind == "archive" and self.archive_hash:
            algorithm, _, digest = self.archive_hash.partition("=")
            return ("archive", algorithm, digest)
        return None

    @property
    def local(self) -> bool:
        """Whether the code is a local directory's (editable or copied from it), which
        can change with no record of it."""
        return self.kind == "directory"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a snapshot writes (every field, ``null`` where unknown)."""
        return attrs.asdict(self)

    def spec(self, name: str) -> str | None:
        """What to give ``pip install`` to install this source again, or None."""
        if self.kind == "vcs" and self.vcs and self.commit_id and self.url:
            return f"{name} @ {self.vcs}+{self.url}@{self.commit_id}"
        if self.kind == "archive" and self.url:
            return f"{name} @ {self.url}"
        return None

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        if self.kind == "vcs":
            commit = (self.commit_id or "?")[:12]
            return f"{self.vcs or 'vcs'} commit {commit}{where}"
        if self.kind == "archive":
            digest = f" {self.archive_hash[:19]}" if self.archive_hash else " without a hash"
            return f"an archive{digest}{where}"
        if self.kind == "directory":
            path = _local_path(self.url) or "?"
            return f"an editable install of {path}" if self.editable else f"the directory {path}"
        return "a source its direct_url.json does not say readably"


def different_commit(a: PackageSource | None, b: PackageSource | None) -> bool:
    """Whether two sources name two different commits of one version control system:
    the one case known to be different code at one version. Two archives with different
    digests are not known to differ (a wheel rebuilt from the same code differs in its
    zip timestamps), nor is anything else (an index, a directory, a commit against an
    archive).

    Examples
    --------
    >>> from modelship.parity._installed import PackageSource, different_commit
    >>> git = PackageSource(kind="vcs", vcs="git", commit_id="a" * 40)
    >>> different_commit(git, PackageSource(kind="vcs", vcs="git", commit_id="b" * 40))
    True
    >>> different_commit(git, None), different_commit(git, git)
    (False, False)
    >>> wheel = PackageSource(kind="archive", archive_hash="sha256=" + "a" * 64)
    >>> different_commit(wheel, PackageSource(kind="archive", archive_hash="sha256=" + "b" * 64))
    False
    """
    first, second = (a.identity if a else None), (b.identity if b else None)
    return (
        first is not None
        and second is not None
        and first[0] == second[0] == "vcs"
        and first[:-1] == second[:-1]
        and first != second
    )


def parse_direct_url(data: bytes) -> PackageSource:
    """The source a ``direct_url.json`` file's bytes name (PEP 610), read defensively:
    the bytes are untrusted (anything may sit in site-packages). Bytes that are not a
    readable document, or a document naming no known kind of source, are
    ``PackageSource(kind="unknown")``; a field of the wrong type or form is dropped.

    Examples
    --------
    >>> from modelship.parity._installed import parse_direct_url
    >>> print(parse_direct_url(b'{"url": "https://h/r.git", "vcs_info": '
    ...                        b'{"vcs": "git", "commit_id": "0123456789abcdef"}}'))
    git commit 0123456789ab (https://h/r.git)
    >>> parse_direct_url(b"[").kind
    'unknown'
    """
    document = _direct_url_document(data)
    if document is None:
        return PackageSource(kind="unknown")
    url = document.get("url")
    vcs_info, archive_info, dir_info = (
        document.get(key) for key in ("vcs_info", "archive_info", "dir_info")
    )
    if sum(isinstance(info, dict) for info in (vcs_info, archive_info, dir_info)) != 1:
        return PackageSource(kind="unknown", url=url)  # PEP 610: exactly one of them
    if isinstance(vcs_info, dict):
        return PackageSource(
            kind="vcs",
            url=url,
            vcs=_matching(vcs_info.get("vcs"), VCS_NAME),
            commit_id=_matching(vcs_info.get("commit_id"), COMMIT_ID),
        )
    if isinstance(archive_info, dict):
        return PackageSource(kind="archive", url=url, archive_hash=_archive_hash(archive_info))
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return PackageSource(kind="directory", url=url, editable=editable)


def _direct_url_document(data: bytes) -> dict[str, Any] | None:
    """The JSON object of a ``direct_url.json``; None when the bytes are not one (too
    long, not UTF-8, not JSON, nested too deep)."""
    if len(data) > MAX_DIRECT_URL:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _matching(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _archive_hash(info: Mapping[str, Any]) -> str | None:
    """``sha256=<hex>`` from PEP 610's ``hashes`` (sha256 first), else its ``hash``."""
    hashes = info.get("hashes")
    if isinstance(hashes, dict):
        for algorithm in sorted(hashes, key=lambda key: (key != "sha256", str(key))):
            digest = hashes[algorithm]
            if isinstance(algorithm, str) and isinstance(digest, str):
                found = _matching(f"{algorithm}={digest}", ARCHIVE_HASH)
                if found:
                    return found
    return _matching(info.get("hash"), ARCHIVE_HASH)


_UNREADABLE = b"\xff"  # not UTF-8: parse_direct_url reads it as an unknown source


def _direct_url_bytes(dist: importlib.metadata.Distribution) -> bytes | None:
    """The bytes of ``dist``'s ``direct_url.json`` (at most :data:`MAX_DIRECT_URL` + 1),
    or None when it has none; :data:`_UNREADABLE` when it is there and cannot be read, or
    is no regular file (a FIFO would block the capture)."""
    folder = getattr(dist, "_path", None)  # PathDistribution's metadata folder
    if not isinstance(folder, pathlib.Path):
        return _read_text_bytes(dist)
    try:
        handle = os.open(folder / "direct_url.json", os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return _UNREADABLE
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return _UNREADABLE
        return _read_at_most(handle, MAX_DIRECT_URL + 1)
    except OSError:
        return _UNREADABLE
    finally:
        os.close(handle)


def _read_text_bytes(dist: importlib.metadata.Distribution) -> bytes | None:
    """``direct_url.json`` of a distribution not in a folder (a zip's), as its class reads it."""
    try:
        text = dist.read_text("direct_url.json")
    except (OSError, ValueError):
        return _UNREADABLE
    return None if text is None else text.encode("utf-8", "surrogateescape")


def _read_at_most(handle: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:  # bound: each pass reads >= 1 byte or stops
        chunk = os.read(handle, size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


@until_path_changes
def installed_sources() -> Mapping[str, PackageSource]:
    """Installed distribution (normalised name) to where it was installed from, for those
    with a ``direct_url.json`` (installed from a URL, a file, a directory or version
    control; one from a package index has none); shared, do not mutate. The copy
    :func:`installed_packages` lists for a name is the one read."""
    sources: dict[str, PackageSource] = {}
    seen: set[str] = set()
    for listed in _distributions():
        if listed.name_version is None:
            continue
        name = normalize_name(listed.name_version[0])
        if name in seen:  # shadowed by the first on sys.path
            continue
        seen.add(name)
        data = _direct_url_bytes(listed.dist)
        if data is not None:
            sources[name] = parse_direct_url(data)
    return sources
