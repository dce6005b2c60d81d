"""``EnvironmentSnapshot``: what a Python process runs on, as a JSON document.

Invariant: a snapshot never holds a credential. Environment variables pass the secret
filter of :mod:`modelship.parity._secrets` when a snapshot is built, whether by
:meth:`EnvironmentSnapshot.capture`, by the constructor or by :meth:`from_json`, so a
document written elsewhere cannot bring one into a report either. A variable dropped for
its value keeps only its name, in ``env_withheld``, so that a comparison can say it was set.

Capture never fails on a machine that lacks a source: a missing ``/proc``, cgroup,
``nvidia-smi`` or BLAS probe leaves that field ``None`` (or empty), and every probe of an
outside program has a timeout. Nor does it fail on what is not text: bytes that are not
UTF-8 (in an environment variable, a file name, a probe's output) are escaped, and a
distribution whose metadata has no usable name or version is left out.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import hashlib
import importlib
import importlib.metadata
import json
import locale
import math
import os
import platform
import re
import reprlib
import shutil
import stat
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from modelship._shown import ascii_digits, brief, printable
from modelship.parity._errors import SnapshotError
from modelship.parity._installed import (
    ARCHIVE_HASH,
    COMMIT_ID,
    MAX_TEXT,
    MAX_URL,
    SOURCE_KINDS,
    VCS_NAME,
    PackageSource,
    installed_packages,
    installed_sources,
    normalize_name,
    pin_conflict,
    unicode_text,
)
from modelship.parity._json import JsonDocument
from modelship.parity._secrets import is_secret

__all__ = [
    "DEFAULT_ENV_ALLOWLIST",
    "SNAPSHOT_SCHEMA_VERSION",
    "BlasLibrary",
    "EnvironmentSnapshot",
    "Gpu",
    "normalize_name",
]

SNAPSHOT_SCHEMA_VERSION = 2
"""Version of the JSON layout written by :meth:`EnvironmentSnapshot.to_json`. 2 added
``package_sources``, ``timezone_digest`` and ``timezone_now`` and records ``locale`` as
``setlocale(LC_CTYPE)`` names it; 1 (still read) as ``locale.getlocale()`` did."""

DEFAULT_ENV_ALLOWLIST = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    # The kernel OpenBLAS runs (Haswell, SkylakeX...) and MKL's code path: each changes the
    # last bits of a matrix product.
    "OPENBLAS_CORETYPE",
    "MKL_CBWR",
    "MKL_ENABLE_INSTRUCTIONS",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
    "TZ",
    "LANG",
    "LC_ALL",
)
"""Variables recorded when no allow-list is given: those that change numerical results."""

NVIDIA_SMI_TIMEOUT = 5.0
"""Seconds ``nvidia-smi`` may take; a wedged driver can hang it for minutes."""

_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a huge number (2**63 - page size)
_MIB = 2**20

MAX_CPU_COUNT = 2**20
"""Most CPUs (and BLAS threads) a snapshot may record: Linux runs on at most 8192
(``CONFIG_NR_CPUS``), and a count past this is no machine's. A snapshot's CPUs are
compared as floats, which hold no integer past about ``1.8e308``."""

MAX_MEMORY = 2**64
"""Most bytes a snapshot's memory sizes may be: a 64-bit machine addresses no more."""


def _mapping(field: str, value: object) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise SnapshotError(
            f"EnvironmentSnapshot: {field!r} must be a mapping of name to text, got "
            f"{type(value).__name__}"
        )
    return value


def _packages(value: Mapping[str, str]) -> dict[str, str]:
    packages = {str(name): str(version) for name, version in _mapping("packages", value).items()}
    conflict = pin_conflict(packages, "EnvironmentSnapshot: 'packages'")
    if conflict is not None:
        raise SnapshotError(conflict)
    return {normalize_name(name): version for name, version in packages.items()}


def _env(value: Mapping[str, str]) -> dict[str, str]:
    # As text only: a credential is dropped (and its name kept in env_withheld) once every
    # field is converted, by EnvironmentSnapshot.__attrs_post_init__.
    return {str(name): str(val) for name, val in _mapping("env", value).items()}


def _withheld_field(value: Iterable[str]) -> tuple[str, ...]:
    """The names of variables withheld for holding a credential, sorted; a name that is
    itself a credential's (``DB_PASSWORD``) is left out, as ``env`` leaves it out."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise SnapshotError(
            "EnvironmentSnapshot: 'env_withheld' must be a list of variable names, got "
            f"{type(value).__name__}"
        )
    return tuple(
        sorted({str(name) for name in value if not (isinstance(name, str) and is_secret(name))})
    )


def _allowlist_field(value: Iterable[str] | None) -> tuple[str, ...] | None:
    """The recorded allow-list as a tuple (checked with the other fields), or None.

    A pattern with a credential's name in it (``AWS_SECRET_ACCESS_KEY``, ``DB_PASS*``) is
    left out, as ``env`` leaves out such a variable, name and all (the variables it
    matches are such names too, never recorded); :func:`compare` still compares a
    variable the snapshot has."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise SnapshotError(
            "EnvironmentSnapshot: 'env_allowlist' must be a list of variable names or "
            f"patterns, or None, got {type(value).__name__}"
        )
    return tuple(
        pattern for pattern in value if not (isinstance(pattern, str) and is_secret(pattern))
    )


def _sources_field(
    value: Mapping[str, PackageSource] | None,
) -> dict[str, PackageSource] | None:
    """The recorded sources by normalised name, or None (unknown: an older snapshot)."""
    if value is None:
        return None
    sources: dict[str, PackageSource] = {}
    for name, source in _mapping("package_sources", value).items():
        if not isinstance(source, PackageSource):
            raise SnapshotError(
                "EnvironmentSnapshot: 'package_sources' must map distribution names to "
                f"PackageSource, got an item of type {type(source).__name__}"
            )
        key = normalize_name(str(name))
        if sources.setdefault(key, source) != source:
            raise SnapshotError(
                f"EnvironmentSnapshot: 'package_sources' gives {key!r} (PEP 503) two "
                "different sources; keep one"
            )
    return dict(sorted(sources.items()))


def _records(field: str, kind: type[Any], value: Iterable[Any]) -> tuple[Any, ...]:
    """``value`` as a tuple of ``kind`` records, refusing anything else by name."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise SnapshotError(
            f"EnvironmentSnapshot: {field!r} must be a list of {kind.__name__}, got "
            f"{type(value).__name__}"
        )
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise SnapshotError(
                f"EnvironmentSnapshot: {field!r} must be a list of {kind.__name__}, got an "
                f"item of type {type(item).__name__}; build each with {kind.__name__}(...)"
            )
    return items


@attrs.frozen(kw_only=True)
class Gpu:
    """One GPU as ``nvidia-smi`` reports it.

    Examples
    --------
    >>> from modelship.parity import Gpu
    >>> Gpu(name="NVIDIA A10G", memory_total=24 * 2**30, driver_version="535.104.05").name
    'NVIDIA A10G'
    """

    name: str
    memory_total: int | None = None
    driver_version: str | None = None


@attrs.frozen(kw_only=True)
class BlasLibrary:
    """The BLAS library numpy calls (from threadpoolctl, else numpy's build configuration).

    Examples
    --------
    >>> from modelship.parity import BlasLibrary
    >>> BlasLibrary(name="openblas", version="0.3.27").name
    'openblas'
    """

    name: str
    version: str | None = None
    threading_layer: str | None = None
    num_threads: int | None = None
    architecture: str | None = None


def _gpus_field(value: Iterable[Gpu]) -> tuple[Gpu, ...]:
    return _records("gpus", Gpu, value)


def _blas_field(value: Iterable[BlasLibrary]) -> tuple[BlasLibrary, ...]:
    return _records("blas", BlasLibrary, value)


_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


_REPR_TEXT = 40  # characters of each text field a snapshot's repr shows


def _repr_text(text: str) -> str:
    cut = text if len(text) <= _REPR_TEXT else text[: _REPR_TEXT - 1] + "…"
    return printable(cut)


@attrs.frozen(kw_only=True, repr=False)
class EnvironmentSnapshot:
    """The environment a model was trained in, or is about to run in.

    Build one with :meth:`capture`; store it with :meth:`to_json` and read it back with
    :meth:`from_json`. Sizes are in bytes, ``None`` where the machine does not say.

    Parameters
    ----------
    python_version, python_implementation : str
        ``"3.11.7"``, ``"CPython"``.
    os, os_release, machine : str
        ``platform.system()``, ``platform.release()``, ``platform.machine()``.
    packages : Mapping[str, str]
        Installed distributions, name (normalised per PEP 503) to version.
    cpu_count : int, optional
        CPUs this process may run on (its affinity mask, else the logical CPU count).
    cpu_model : str, optional
        The processor's model name.
    cpu_limit : float, optional
        The cgroup CPU quota in CPUs (``2.5`` for ``cpu.max = "250000 100000"``).
    memory_total, memory_available : int, optional
        From ``/proc/meminfo`` (``MemTotal``, ``MemAvailable``).
    memory_limit : int, optional
        The cgroup memory limit: in a container, what the process may really use.
    gpus : tuple of Gpu
    blas : tuple of BlasLibrary
    locale, encoding, timezone : str, optional
        ``locale`` as ``setlocale(LC_CTYPE)`` names it (``C.UTF-8``); ``timezone`` the
        zone in effect: ``$TZ``'s or ``/etc/localtime``'s zone file named under the
        zoneinfo folder, links resolved (``US/Eastern`` is ``America/New_York``), a copied
        file identified by its bytes (``"unknown (file)"`` when none matches), ``UTC``
        for an empty ``$TZ``, or a POSIX rule (``EST5EDT``) as given.
    timezone_digest : str, optional
        ``"sha256:<hex>"`` of the zone file in effect: two snapshots with one digest are
        in one zone whatever its names. ``None`` without a zone file, or in a snapshot
        written before modelship recorded it.
    timezone_now : str, optional
        The zone's abbreviation and UTC offset at capture (``"CST UTC+08:00"``), for a
        person reading the snapshot; not compared (it changes with daylight saving).
    env : Mapping[str, str]
        Allow-listed environment variables; never a credential (see :func:`is_secret`).
        Each name is a shell variable name (letters, digits and ``_``, not starting with a
        digit).
    env_withheld : tuple of str
        The names (never the values) of allow-listed variables that were set but left out
        of ``env`` because their value holds a credential (a URL with a password...), so
        that :func:`compare` can tell such a variable from an unset one. A variable given
        in ``env`` with such a value is moved here; a name that is itself a credential's
        (``DB_PASSWORD``) is never recorded. Empty in a snapshot written before modelship
        recorded them.
    env_allowlist : tuple of str, optional
        The names and patterns ``env`` was recorded with (:meth:`capture` sets it), so
        that :func:`compare` compares only the variables both sides recorded; ``None``
        when unknown (a snapshot written before modelship recorded it, or built by hand).
        A pattern naming a credential (``AWS_SECRET_ACCESS_KEY``) is left out, as ``env``
        leaves out such a variable.
        At most 1000 entries, each of letters, digits, ``_`` and the pattern characters
        ``*?[]!-`` (nothing else can match a variable name).
    package_sources : Mapping[str, PackageSource], optional
        Where each distribution installed from something other than a package index came
        from, as its PEP 610 ``direct_url.json`` says: a version control commit, an
        archive and its hash, a local directory (editable or not); a URL is recorded
        without its user information, query and fragment, so never with a credential.
        A distribution from an index has none. ``None`` when unknown (a snapshot written
        before modelship recorded sources, or built by hand).
    captured_at : str
        ISO-8601 UTC time of the capture.

    Raises
    ------
    SnapshotError
        When a field breaks a rule :meth:`from_dict` applies to a stored snapshot
        (``cpu_count`` from 1 to 2**20, sizes from 0 to 2**64 bytes, ``captured_at`` with
        its UTC offset, a Python version, versions of at most 200 characters, no two
        spellings of one distribution at different versions, variable names in ``env``,
        patterns in ``env_allowlist``, text without a lone surrogate...), so that every
        snapshot :meth:`to_json` writes reads back.

    Examples
    --------
    >>> from modelship.parity import EnvironmentSnapshot
    >>> snap = EnvironmentSnapshot.capture(env_allowlist=["OMP_NUM_THREADS"])
    >>> snap.packages["attrs"] == __import__("importlib.metadata").metadata.version("attrs")
    True
    >>> EnvironmentSnapshot.from_json(snap.to_json()) == snap
    True
    """

    python_version: str
    python_implementation: str
    os: str
    os_release: str = ""
    machine: str
    packages: Mapping[str, str] = attrs.field(factory=dict, converter=_packages)
    cpu_count: int | None = None
    cpu_model: str | None = None
    cpu_limit: float | None = None
    memory_total: int | None = None
    memory_available: int | None = None
    memory_limit: int | None = None
    gpus: tuple[Gpu, ...] = attrs.field(default=(), converter=_gpus_field)
    blas: tuple[BlasLibrary, ...] = attrs.field(default=(), converter=_blas_field)
    locale: str | None = None
    encoding: str | None = None
    timezone: str | None = None
    timezone_digest: str | None = None
    timezone_now: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_env)
    env_allowlist: tuple[str, ...] | None = attrs.field(default=None, converter=_allowlist_field)
    env_withheld: tuple[str, ...] = attrs.field(default=(), converter=_withheld_field)
    package_sources: Mapping[str, PackageSource] | None = attrs.field(
        default=None, converter=_sources_field
    )
    captured_at: str = ""

    def __repr__(self) -> str:
        """One line: the interpreter, the platform, how many packages, when captured.

        Not the fields: every installed distribution is kilobytes (:meth:`to_dict` has
        them all). What in a field is not printable is shown as an escape, and each text
        field is cut to 40 characters.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> snap = EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
        ...                            os="Linux", machine="x86_64",
        ...                            packages={"numpy": "2.1.0", "attrs": "24.2.0"})
        >>> snap
        <EnvironmentSnapshot CPython 3.11.7, Linux x86_64, 2 packages>
        >>> repr(EnvironmentSnapshot.capture()).split(", ")[-1].startswith("captured 20")
        True
        """
        noun = "package" if len(self.packages) == 1 else "packages"
        fields = [
            f"{_repr_text(self.python_implementation)} {_repr_text(self.python_version)}",
            f"{_repr_text(self.os)} {_repr_text(self.machine)}",
            f"{len(self.packages)} {noun}",
        ]
        if self.captured_at:
            fields.append(f"captured {_repr_text(self.captured_at)}")
        return f"<EnvironmentSnapshot {', '.join(fields)}>"

    def __getstate__(self) -> dict[str, Any]:
        """The fields by name, as attrs pickles a slotted class."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Unpickle; a field added since the snapshot was pickled (``env_withheld``,
        ``env_allowlist``) reads as its default, as it does from an older document."""
        for field in attrs.fields(type(self)):
            if field.name in state:
                value = state[field.name]
            elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                value = field.default.factory()
            elif field.default is not attrs.NOTHING:
                value = field.default
            else:  # a required field: not one ever added, so not missing from a pickle
                continue
            object.__setattr__(self, field.name, value)

    def __attrs_post_init__(self) -> None:
        # The secret filter: whichever way a snapshot is built (capture, the constructor,
        # from_json), a value holding a credential is dropped, and the variable's name is
        # kept as withheld unless the name is a credential's too (or not a variable name).
        dropped = {name for name, value in self.env.items() if is_secret(name, value)}
        env = {name: value for name, value in self.env.items() if name not in dropped}
        named = {
            name
            for name in dropped
            if len(name) <= MAX_TEXT and _VARIABLE_NAME.fullmatch(name) and not is_secret(name)
        }
        withheld = tuple(sorted((set(self.env_withheld) | named) - set(env)))
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "env_withheld", withheld)
        # One rule for what is built, written and read: a snapshot the constructor (or
        # capture) accepts is one from_json reads back, so no stored snapshot is unreadable.
        _fields(JsonDocument.of(self.to_dict(), "EnvironmentSnapshot"))

    # --- derived views --------------------------------------------------------------

    @property
    def python_minor(self) -> str:
        """``"3.11"`` for Python 3.11.7.

        Examples
        --------
        >>> import sys
        >>> from modelship.parity import EnvironmentSnapshot
        >>> EnvironmentSnapshot.capture().python_minor == "{}.{}".format(*sys.version_info)
        True
        """
        return ".".join(self.python_version.split(".")[:2])

    @property
    def architecture(self) -> str:
        """The machine architecture with vendor spellings merged (``AMD64`` is ``x86_64``).

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> snap = EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
        ...                            os="Windows", machine="AMD64")
        >>> snap.architecture
        'x86_64'
        """
        lowered = self.machine.lower()
        return _ARCH_ALIASES.get(lowered, lowered)

    @property
    def cpus(self) -> float | None:
        """The CPUs a process may use: the smaller of :attr:`cpu_count` and :attr:`cpu_limit`.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
        ...                     os="Linux", machine="x86_64", cpu_count=8, cpu_limit=2.5).cpus
        2.5
        """
        known = [v for v in (self.cpu_count, self.cpu_limit) if v is not None]
        if not known:
            return None
        try:
            return float(min(known))
        except OverflowError:  # only an unpickled snapshot skips the bound on cpu_count
            return math.inf

    @property
    def memory(self) -> int | None:
        """The memory a process may use: the smaller of :attr:`memory_total` and the limit.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
        ...                     os="Linux", machine="x86_64", memory_total=64 * 2**30,
        ...                     memory_limit=2**30).memory
        1073741824
        """
        known = [v for v in (self.memory_total, self.memory_limit) if v is not None]
        return min(known) if known else None

    # --- capture --------------------------------------------------------------------

    @classmethod
    def capture(cls, env_allowlist: Iterable[str] | None = None) -> EnvironmentSnapshot:
        """Describe the running interpreter and the machine it runs on.

        Parameters
        ----------
        env_allowlist : iterable of str, optional
            Names of environment variables to record; shell-style patterns (``"OMP_*"``)
            are allowed. ``None`` records :data:`DEFAULT_ENV_ALLOWLIST`. A single string is
            refused (iterated, ``"OMP_*"`` would be the patterns ``O``, ``M``, ``P``, ``_``
            and ``*``, and ``*`` records every variable): write ``["OMP_*"]``. A variable whose
            name looks like a credential (``AWS_SECRET_ACCESS_KEY``, ``DB_PASS``...) or
            whose value holds one (a URL with user information, ``password=...``; see
            :func:`is_secret`) is never recorded, allow-listed or not (one withheld for its
            value is named in :attr:`env_withheld`, its value nowhere). A value holding
            bytes that are not UTF-8 is recorded with them escaped (``\\xff``). The
            patterns are kept as :attr:`env_allowlist`, for :func:`compare` to compare only
            the variables both snapshots recorded. An entry that is a credential rather
            than a name is left out silently, before any other check: one equal to the
            value of a set variable that is a credential or is not written as names are
            (``--allow-env "$GITHUB_TOKEN"`` for ``--allow-env GITHUB_TOKEN``), or one
            :func:`is_secret` judges a credential as a value.

        Examples
        --------
        >>> import os
        >>> from modelship.parity import EnvironmentSnapshot
        >>> os.environ["DOC_SNAPSHOT_API_SECRET"] = "do-not-leak"
        >>> snap = EnvironmentSnapshot.capture(env_allowlist=["DOC_SNAPSHOT_*", "PATH"])
        >>> "DOC_SNAPSHOT_API_SECRET" in snap.env, "PATH" in snap.env
        (False, True)
        >>> del os.environ["DOC_SNAPSHOT_API_SECRET"]
        >>> EnvironmentSnapshot.capture(env_allowlist="OMP_*")
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: env_allowlist must be a list of variable names or ...

        Raises
        ------
        SnapshotError
            When ``env_allowlist`` is a single string, not an iterable, has more than 1000
            entries, or holds an entry that is not a name or pattern (a non-empty string of
            at most 200 letters, digits, ``_`` and ``*?[]!-``); the message names such an
            entry by its position, never quoting it (it may be a secret).
        """
        return cls._captured(_allowlist(env_allowlist))

    @classmethod
    def _captured(cls, patterns: tuple[str, ...]) -> EnvironmentSnapshot:
        """:meth:`capture` with ``patterns`` already checked: :func:`compare` builds its
        own allow-list (the defaults and every name training recorded), which the limit
        on a caller's allow-list does not bound: past that limit the allow-list is not
        recorded (None, as in an older snapshot), the variables are."""
        env = {
            name: unicode_text(value)
            for name, value in os.environ.items()
            if _VARIABLE_NAME.fullmatch(name)
            and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        }
        meminfo, cgroups = _meminfo(), _Cgroups()
        zone, zone_digest = _zone()
        if zone is not None:
            zone = unicode_text(zone)
        return cls(
            python_version=platform.python_version(),
            python_implementation=platform.python_implementation(),
            os=unicode_text(platform.system()),
            os_release=unicode_text(platform.release()),
            machine=unicode_text(platform.machine()),
            packages=installed_packages(),
            cpu_count=_cpu_count(),
            cpu_model=_cpu_model(),
            cpu_limit=cgroups.cpu_limit(),
            memory_total=meminfo.get("MemTotal", _sysconf_memory()),
            memory_available=meminfo.get("MemAvailable"),
            memory_limit=cgroups.memory_limit(),
            gpus=_gpus(),
            blas=_blas(),
            locale=_locale(),
            encoding=locale.getpreferredencoding(False),
            timezone=zone,
            timezone_digest=zone_digest,
            timezone_now=_zone_now(),
            env=env,
            env_allowlist=patterns if len(patterns) <= MAX_ALLOWLIST else None,
            package_sources=installed_sources(),
            captured_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        )

    # --- JSON -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible form :meth:`to_json` writes.

        It holds JSON types only (lists, not tuples), so :meth:`from_dict` reads it back.
        ``env_allowlist`` is written only when known, so a snapshot built without it reads
        as one written before modelship recorded it; ``env_withheld`` only when not empty.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> snap = EnvironmentSnapshot.capture()
        >>> snap.to_dict()["schema_version"], type(snap.to_dict()["gpus"]).__name__
        (2, 'list')
        >>> EnvironmentSnapshot.from_dict(snap.to_dict()) == snap
        True
        """
        document = attrs.asdict(self)
        document["packages"] = dict(sorted(self.packages.items()))
        document["env"] = dict(sorted(self.env.items()))
        document["gpus"] = [attrs.asdict(gpu) for gpu in self.gpus]
        document["blas"] = [attrs.asdict(library) for library in self.blas]
        if self.env_allowlist is None:
            del document["env_allowlist"]
        else:
            document["env_allowlist"] = list(self.env_allowlist)
        if self.env_withheld:
            document["env_withheld"] = list(self.env_withheld)
        else:  # as a snapshot written before modelship recorded them, which reads the same
            del document["env_withheld"]
        for name in ("timezone_digest", "timezone_now"):
            if document[name] is None:  # as a snapshot written before modelship recorded it
                del document[name]
        if self.package_sources is None:  # unknown: as a snapshot written before sources
            del document["package_sources"]
        else:
            document["package_sources"] = {
                name: source.to_dict() for name, source in sorted(self.package_sources.items())
            }
        return {"schema_version": SNAPSHOT_SCHEMA_VERSION, **document}

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the snapshot as JSON text (the registry stores it with a version).

        Examples
        --------
        >>> import json
        >>> from modelship.parity import EnvironmentSnapshot
        >>> json.loads(EnvironmentSnapshot.capture().to_json())["python_implementation"] in (
        ...     "CPython", "PyPy")
        True
        """
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> EnvironmentSnapshot:
        """Rebuild a snapshot from :meth:`to_dict` output, validating every field.

        Every field :meth:`to_dict` writes must be there (``null`` where the machine did
        not say), and no other; ``env_allowlist`` may be missing (a snapshot written
        before modelship recorded it), read as ``None``, and ``env_withheld``, read as
        empty (when present, a list of variable names). Counts and sizes must be possible
        (``cpu_count`` and a BLAS's ``num_threads`` from 1 to 2**20, sizes from 0 to
        2**64 bytes, ``cpu_limit > 0``), ``python_version`` a
        Python version (``"3.11.7"``, ``"3.13.0rc1"``), ``captured_at`` an ISO-8601 time
        with its UTC offset, or ``""`` for a snapshot built without one, and
        ``env_allowlist`` a list of at most 1000 variable names or patterns (letters,
        digits, ``_`` and ``*?[]!-``).

        Raises
        ------
        SnapshotError
            When the document is not a mapping, a field is missing, unknown, of the wrong
            type or impossible, or the document is newer than this modelship reads.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> EnvironmentSnapshot.from_dict({"schema_version": 1})
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: environment snapshot: 'python_version' is missing
        """
        return cls(**_fields(JsonDocument.of(document, "environment snapshot")))

    @classmethod
    def from_json(cls, text: str | bytes) -> EnvironmentSnapshot:
        """Read a snapshot written by :meth:`to_json`.

        Raises
        ------
        SnapshotError
            When the text is not JSON text (str or bytes), or not a snapshot (as for
            :meth:`from_dict`).

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot
        >>> EnvironmentSnapshot.from_json("[]")
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: the environment snapshot must be ... got list
        """
        return cls.from_dict(JsonDocument.parse(text, "environment snapshot").doc)


_FIELDS = tuple(field.name for field in attrs.fields(EnvironmentSnapshot))
_GPU_FIELDS = tuple(field.name for field in attrs.fields(Gpu))
_BLAS_FIELDS = tuple(field.name for field in attrs.fields(BlasLibrary))
# What platform.python_version() returns: "3.11.7", "3.13.0rc1", "3.12.0a7+".
_PYTHON_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}(?:\.[0-9]{1,4})?[A-Za-z0-9.+-]{0,32}")
# What capture() writes (datetime.isoformat), or "Z" for UTC; the offset is required.
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def _fields(doc: JsonDocument) -> dict[str, Any]:
    """The constructor's arguments from a snapshot document, every field checked."""
    doc.schema_version(SNAPSHOT_SCHEMA_VERSION)
    doc.only("schema_version", *_FIELDS)
    return {
        "python_version": _python_version(doc),
        "python_implementation": doc.text("python_implementation"),
        "os": doc.text("os"),
        "os_release": doc.text("os_release"),
        "machine": doc.text("machine"),
        "packages": _package_names(doc),
        "cpu_count": _bounded(doc, "cpu_count", 1, MAX_CPU_COUNT),
        "cpu_model": doc.opt_text("cpu_model", required=True),
        "cpu_limit": doc.number("cpu_limit", positive=True, required=True),
        "memory_total": _bounded(doc, "memory_total", 0, MAX_MEMORY),
        "memory_available": _bounded(doc, "memory_available", 0, MAX_MEMORY),
        "memory_limit": _bounded(doc, "memory_limit", 0, MAX_MEMORY),
        "gpus": [_gpu(gpu) for gpu in doc.records("gpus", required=True)],
        "blas": [_blas_library(lib) for lib in doc.records("blas", required=True)],
        "locale": doc.opt_text("locale", required=True),
        "encoding": doc.opt_text("encoding", required=True),
        "timezone": doc.opt_text("timezone", required=True),
        "timezone_digest": _zone_digest(doc),
        "timezone_now": _zone_now_text(doc),
        "env": _env_names(doc),
        "env_allowlist": _allowlist_patterns(doc),
        "env_withheld": _withheld_names(doc),
        "package_sources": _package_sources(doc),
        "captured_at": _captured_at(doc),
    }


# A POSIX shell's variable names: the only names capture() records, and what compare()
# looks up in production, exactly (never as a pattern: a stored "*" would record all).
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_names(doc: JsonDocument) -> dict[str, str]:
    env = doc.text_map("env", required=True)
    for name in env:
        if not (isinstance(name, str) and len(name) <= MAX_TEXT and _VARIABLE_NAME.fullmatch(name)):
            raise SnapshotError(
                f"{doc.what}: 'env' has {reprlib.repr(name)}, which is not a variable name "
                "(letters, digits and _, not starting with a digit, as in 'OMP_NUM_THREADS')"
            )
    return env


def _withheld_names(doc: JsonDocument) -> list[str]:
    """A stored ``env_withheld``: empty when missing (an older snapshot), else a list of
    variable names."""
    if "env_withheld" not in doc.doc:
        return []
    value = doc.doc["env_withheld"]
    if not isinstance(value, list):
        raise SnapshotError(
            f"{doc.what}: 'env_withheld' must be a list of variable names, got "
            f"{type(value).__name__} {reprlib.repr(value)}"
        )
    for name in value:
        if not (isinstance(name, str) and len(name) <= MAX_TEXT and _VARIABLE_NAME.fullmatch(name)):
            raise SnapshotError(
                f"{doc.what}: 'env_withheld' has {reprlib.repr(name)}, which is not a variable "
                "name (letters, digits and _, not starting with a digit, as in "
                "'DATABASE_URL')"
            )
    return value


MAX_ALLOWLIST = 1000
"""Most entries a snapshot's ``env_allowlist`` may have; no real allow-list is that long."""

# What a pattern matching a variable name is made of: name characters and fnmatch's
# "*", "?", "[...]", "[!...]" and ranges. Nothing else can match a name, and a stored
# pattern of these characters cannot hold a credential (no ":", "/", "@" or "=").
_PATTERN = re.compile(r"[A-Za-z0-9_*?\[\]!-]+")


def _allowlist_patterns(doc: JsonDocument) -> tuple[str, ...] | None:
    """A stored ``env_allowlist``: None when missing (an older snapshot) or null."""
    value = doc.doc.get("env_allowlist")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_ALLOWLIST:
        raise SnapshotError(
            f"{doc.what}: 'env_allowlist' must be a list of at most {MAX_ALLOWLIST} variable "
            f"names or patterns, or null, got {type(value).__name__}"
            + (f" of {len(value)} entries" if isinstance(value, list) else "")
        )
    for index, pattern in enumerate(value, start=1):
        if not _is_pattern(pattern):
            raise SnapshotError(
                f"{doc.what}: 'env_allowlist' entry {index} of {len(value)} is "
                f"{_described(pattern)}, not a variable name or pattern (letters, digits, _ "
                f"and the pattern characters *?[]!-, at most {MAX_TEXT} of them, as in "
                "'OMP_*')"
            )
    return tuple(value)


_SOURCE_FIELDS = tuple(field.name for field in attrs.fields(PackageSource))


def _package_sources(doc: JsonDocument) -> dict[str, PackageSource] | None:
    """A stored ``package_sources``: None when missing (an older snapshot) or null, else
    an object of distribution name to source, every field checked."""
    value = doc.doc.get("package_sources")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SnapshotError(
            f"{doc.what}: 'package_sources' must be an object of distribution name to "
            f"source, or null, got {type(value).__name__}"
        )
    sources: dict[str, PackageSource] = {}
    for name, record in value.items():
        if not (isinstance(name, str) and name.strip() and len(name) <= MAX_TEXT):
            raise SnapshotError(
                f"{doc.what}: 'package_sources' has {reprlib.repr(name)}, which is not a "
                f"distribution name (at most {MAX_TEXT} characters)"
            )
        if not isinstance(record, dict):
            raise SnapshotError(
                f"{doc.what}: 'package_sources'[{reprlib.repr(name)}] must be an object, got "
                f"{type(record).__name__}"
            )
        source = _source(JsonDocument(record, f"{doc.what} package_sources[{name!r:.60}]"))
        if sources.setdefault(normalize_name(name), source) != source:
            raise SnapshotError(
                f"{doc.what}: 'package_sources' gives {normalize_name(name)!r} (PEP 503) two "
                "different sources; keep one"
            )
    return sources


def _source(record: JsonDocument) -> PackageSource:
    record.only(*_SOURCE_FIELDS)
    kind = record.text("kind")
    if kind not in SOURCE_KINDS:
        raise SnapshotError(
            f"{record.what}: 'kind' must be one of {', '.join(SOURCE_KINDS)}, got "
            f"{reprlib.repr(kind)}"
        )
    url = record.opt_text("url", required=True)
    if url is not None and len(url) > MAX_URL:
        raise SnapshotError(f"{record.what}: 'url' is longer than {MAX_URL} characters")
    editable = record.doc.get("editable", False)
    if not isinstance(editable, bool):
        raise SnapshotError(
            f"{record.what}: 'editable' must be true or false, got {type(editable).__name__}"
        )
    fields: dict[str, str | None] = {}
    for key, pattern, form in (
        ("vcs", VCS_NAME, "a version control system's name ('git')"),
        ("commit_id", COMMIT_ID, "a commit id (letters, digits and ._:+-)"),
        ("archive_hash", ARCHIVE_HASH, "'<algorithm>=<digest>' ('sha256=...')"),
    ):
        text = record.opt_text(key, required=True)
        if text is not None and not pattern.fullmatch(text):
            raise SnapshotError(f"{record.what}: {key!r} must be {form} or null")
        fields[key] = text
    return PackageSource(kind=kind, url=url, editable=editable, **fields)


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _zone_digest(doc: JsonDocument) -> str | None:
    """A stored ``timezone_digest``: None when missing (an older snapshot) or null."""
    digest = doc.opt_text("timezone_digest")
    if digest is not None and not _DIGEST.fullmatch(digest):
        raise SnapshotError(
            f"{doc.what}: 'timezone_digest' must be 'sha256:' and 64 lower-case hex digits, "
            f"or null, got {reprlib.repr(digest)}"
        )
    return digest


def _zone_now_text(doc: JsonDocument) -> str | None:
    """A stored ``timezone_now``: None when missing (an older snapshot) or null."""
    text = doc.opt_text("timezone_now")
    if text is not None and len(text) > 2 * _ZONE_ABBREVIATION:
        raise SnapshotError(
            f"{doc.what}: 'timezone_now' must be at most {2 * _ZONE_ABBREVIATION} "
            f"characters (an abbreviation and a UTC offset), got {reprlib.repr(text)}"
        )
    return text


def _bounded(doc: JsonDocument, key: str, minimum: int, maximum: int) -> int | None:
    """The integer (or null) ``doc[key]``, refused outside ``minimum`` to ``maximum``: a
    count or size past ``maximum`` is no machine's, and one past a float's range broke
    the comparison of a snapshot that read back (``cpu_count`` of 400 digits)."""
    value = doc.integer(key, required=True)
    if value is not None and not minimum <= value <= maximum:
        raise SnapshotError(
            f"{doc.what}: {key!r} must be an integer >= {minimum} and <= {maximum} or "
            f"null, got {brief(value)}"
        )
    return value


def _python_version(doc: JsonDocument) -> str:
    version = doc.text("python_version")
    if not _PYTHON_VERSION.fullmatch(version):
        raise SnapshotError(
            f"{doc.what}: 'python_version' must be a Python version like '3.11.7', got "
            f"{reprlib.repr(version)}"
        )
    return version


def _package_names(doc: JsonDocument) -> dict[str, str]:
    packages = doc.text_map("packages", required=True)
    if not all(isinstance(name, str) and name.strip() for name in packages):
        raise SnapshotError(f"{doc.what}: 'packages' has an empty distribution name")
    for name, version in packages.items():
        if len(name) > MAX_TEXT or len(version) > MAX_TEXT:
            raise SnapshotError(
                f"{doc.what}: 'packages' has {reprlib.repr(name)} at version "
                f"{reprlib.repr(version)}; names and versions are at most {MAX_TEXT} "
                "characters, and no real distribution's are longer"
            )
    return packages


def _captured_at(doc: JsonDocument) -> str:
    text = doc.text("captured_at")
    if text == "":  # a snapshot built by hand, without a capture time
        return text
    try:
        if not _ISO_TIME.fullmatch(text):
            raise ValueError(text)
        _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SnapshotError(
            f"{doc.what}: 'captured_at' must be an ISO-8601 time with its UTC offset "
            f"('2024-05-01T12:00:00+00:00') or '', got {reprlib.repr(text)}"
        ) from None
    return text


def _gpu(gpu: JsonDocument) -> Gpu:
    gpu.only(*_GPU_FIELDS)
    return Gpu(
        name=gpu.text("name"),
        memory_total=_bounded(gpu, "memory_total", 0, MAX_MEMORY),
        driver_version=gpu.opt_text("driver_version", required=True),
    )


def _blas_library(lib: JsonDocument) -> BlasLibrary:
    lib.only(*_BLAS_FIELDS)
    return BlasLibrary(
        name=lib.text("name"),
        version=lib.opt_text("version", required=True),
        threading_layer=lib.opt_text("threading_layer", required=True),
        num_threads=_bounded(lib, "num_threads", 1, MAX_CPU_COUNT),
        architecture=lib.opt_text("architecture", required=True),
    )


def _allowlist(env_allowlist: object) -> tuple[str, ...]:
    """The allow-list's patterns, an entry that is a credential rather than a name (see
    :func:`_credentials`) left out first, silently, before anything else is checked. A
    single string, a non-iterable and an entry that no variable name can match are
    refused, and a message never quotes an entry that is not written as a name or pattern,
    nor one that is a credential: it may be a secret given for its name
    (``--allow-env "$DB_PASSWORD"``)."""
    if env_allowlist is None:
        return DEFAULT_ENV_ALLOWLIST
    if isinstance(env_allowlist, (str, bytes)) or not isinstance(env_allowlist, Iterable):
        if isinstance(env_allowlist, str) and _quotable(env_allowlist):
            got = f"str {env_allowlist!r}: write [{env_allowlist!r}] for that one pattern"
        elif isinstance(env_allowlist, str):
            got = f"{_described(env_allowlist)}: write it in a list of one"
        else:
            got = _described(env_allowlist)
        raise SnapshotError(
            f"env_allowlist must be a list of variable names or patterns, got {got}"
        )
    patterns = tuple(env_allowlist)
    if len(patterns) > MAX_ALLOWLIST:
        raise SnapshotError(
            f"env_allowlist has {len(patterns)} entries; at most {MAX_ALLOWLIST} are recorded"
        )
    credentials = _credentials(patterns)
    kept = []
    for index, pattern in enumerate(patterns, start=1):
        if isinstance(pattern, str) and pattern in credentials:
            continue
        if not _is_pattern(pattern):
            raise SnapshotError(
                "env_allowlist entries must be variable names or patterns (non-empty "
                f"strings of letters, digits, _ and *?[]!-, at most {MAX_TEXT} characters); "
                f"entry {index} (counting from 1) is {_described(pattern)}"
            )
        kept.append(pattern)
    return tuple(kept)


def _is_pattern(value: object) -> bool:
    """Whether ``value`` is an allow-list entry that can match a variable name."""
    return isinstance(value, str) and len(value) <= MAX_TEXT and bool(_PATTERN.fullmatch(value))


def _quotable(value: str) -> bool:
    """Whether an error message may quote ``value`` as an allow-list entry: written as a
    name or pattern, and no credential by :func:`_credentials`."""
    return _is_pattern(value) and not _credentials((value,))


def _described(value: object) -> str:
    """An allow-list entry that is not a name or pattern, for an error message: its type
    and length, never its text, which may be a secret given for its name."""
    if isinstance(value, str) and not value:
        return "an empty string"
    if isinstance(value, (str, bytes)):
        kind = "a string" if isinstance(value, str) else "bytes"
        return f"{kind} of length {len(value)} (not shown: what is not a name may be a secret)"
    return f"a value of type {type(value).__name__}"


def _credentials(patterns: tuple[object, ...]) -> frozenset[str]:
    """The entries of ``patterns`` that are credentials rather than names, to be left out
    silently: one :func:`is_secret` judges a credential as a value; and one equal to the
    value of a set environment variable (and not itself a set variable's name:
    ``--allow-env "$GITHUB_TOKEN"`` for ``--allow-env GITHUB_TOKEN``) when that variable
    is a credential by :func:`is_secret` (its name or its value), or the entry is not
    written as variable names are, in upper case (``ghp_16C7e...``), or is no name or
    pattern at all (``Tr0ub4dor&3x``). Such an entry would be stored as the snapshot's
    allow-list, or quoted by an error refusing it. An upper-case name equal to an
    ordinary variable's value is a name (``DEBUG`` beside ``LOG_LEVEL=DEBUG``), kept; so
    is a wildcard pattern (see :func:`_wildcard`), whatever its case: ``*`` beside
    ``NO_PROXY=*``."""
    texts = {pattern for pattern in patterns if isinstance(pattern, str)}
    names = set(os.environ)  # not "in os.environ": a lone surrogate cannot be looked up
    wanted = {text for text in texts - names if not _symbols(text)}
    values = {
        value
        for name, value in os.environ.items()
        if value in wanted
        and (
            is_secret(name, value)
            or not _is_pattern(value)
            or (not value.isupper() and not _wildcard(value))
        )
    }
    return frozenset(values | {text for text in texts if is_secret("", text)})


def _symbols(text: str) -> bool:
    """Whether ``text`` is a pattern of symbols alone (``*``, ``?*``, ``[!_]*``): no letter
    or digit, so no secret's text, whatever variable holds it as its value."""
    return _is_pattern(text) and not any(char.isalnum() for char in text)


def _wildcard(text: str) -> bool:
    """Whether ``text`` is written as a pattern (``model_*``, ``tf_?``, ``[a-z]*``), which
    a lower-case entry equal to some variable's value is not taken for a secret for: '*' has
    no case, so ``--allow-env '*'`` was dropped beside ``NO_PROXY=*``."""
    return _is_pattern(text) and any(char in "*?[" for char in text)


# --- probes: each returns None (or empty) where the machine does not say -------------


def _cpu_count() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count()


def _read_small(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(1 << 20)  # /proc and cgroup files are small; bound anyway
    except OSError:
        return None


def _cpu_model() -> str | None:
    text = _read_small(Path("/proc/cpuinfo"))
    if text:
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in ("model name", "Model", "cpu model"):
                return value.strip() or None
    return unicode_text(platform.processor()) or None


def _meminfo(path: Path = Path("/proc/meminfo")) -> dict[str, int]:
    text = _read_small(path) or ""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        size = _size_or_none(parts[0], 1024 if parts[1:2] == ["kB"] else 1) if parts else None
        if size is not None:
            values[key.strip()] = size
    return values


# A count a probe writes: ASCII digits only (``ascii_digits``), and few of them: int()
# refuses more than 4,300 digits, and probe text must not fail a capture. 2**64 has 20
# digits; past 30 is no count.
_COUNT_DIGITS = 30


def _digits_or_none(text: str) -> int | None:
    """``text`` as a whole number when it is 1 to 30 ASCII digits; None otherwise."""
    return int(text) if len(text) <= _COUNT_DIGITS and ascii_digits(text) else None


def _size_or_none(digits: str, unit: int) -> int | None:
    """``digits`` times ``unit`` bytes; None when not ASCII digits (see
    :func:`_digits_or_none`), or past :data:`MAX_MEMORY` (no machine's size, which a
    snapshot refuses: capture does not fail on it)."""
    count = _digits_or_none(digits)
    if count is None:
        return None
    size = count * unit
    return size if size <= MAX_MEMORY else None


def _sysconf_memory() -> int | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:  # -1: the system cannot say
        return None
    return pages * page_size


@attrs.frozen
class _Cgroups:
    """The limits of this process's control groups, v2 (unified) first, then v1."""

    root: Path = Path("/sys/fs/cgroup")
    membership: Path = Path("/proc/self/cgroup")

    def _dirs(self, controller: str) -> list[Path]:
        """Where ``controller``'s files may be: this process's group and each of its
        ancestors up to the mount, then the root.

        ``controller`` is ``""`` for the unified (v2) hierarchy. The kernel enforces the
        smallest limit along the ancestry, so a limit set on a parent (a pod's slice)
        binds a group whose own file says "max". In a container the group path often
        does not exist under the mount, and the root holds the limits.
        """
        text = _read_small(self.membership) or ""
        dirs: list[Path] = []
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            _, controllers, group = parts
            if controller == "" and controllers == "":
                dirs.extend(_ancestry(self.root, group))
            elif controller and controller in controllers.split(","):
                dirs.extend(_ancestry(self.root / controllers, group))
        dirs.append(self.root if controller == "" else self.root / controller)
        return dirs

    def _all(self, controller: str, name: str) -> list[str] | None:
        """The text of every readable ``name`` along the ancestry; None when none is."""
        texts = [_read_small(directory / name) for directory in self._dirs(controller)]
        found = [text.strip() for text in texts if text is not None]
        return found or None

    def memory_limit(self) -> int | None:
        texts = self._all("", "memory.max")  # v2: bytes, or "max"
        if texts is None:
            texts = self._all("memory", "memory.limit_in_bytes")  # v1
        counts = [_digits_or_none(text) for text in texts or ()]
        limits = [limit for limit in counts if limit is not None and limit < _UNLIMITED]
        return min(limits, default=None)

    def cpu_limit(self) -> float | None:
        texts = self._all("", "cpu.max")  # v2: "<quota|max> <period>"
        if texts is not None:
            quotas = [_quota(*_split_cpu_max(text)) for text in texts]
        else:  # v1: quota and period from the same group; a quota of -1 is no limit
            quotas = [
                _quota(
                    (_read_small(directory / "cpu.cfs_quota_us") or "").strip(),
                    (_read_small(directory / "cpu.cfs_period_us") or "").strip(),
                )
                for directory in self._dirs("cpu")
            ]
        return min((quota for quota in quotas if quota is not None), default=None)


_MAX_CGROUP_DEPTH = 64  # real hierarchies are under ten deep (kubepods/burstable/pod/ctr)


def _ancestry(mount: Path, group: str) -> list[Path]:
    """``group``'s directory under ``mount``, then each parent up to ``mount`` itself.

    A path with ``..`` (a process outside the cgroup namespace's root, as the kernel
    writes it) is not under the mount: only the mount is read, as for a missing group.
    Deeper than :data:`_MAX_CGROUP_DEPTH` is not a real hierarchy: the same.
    """
    parts = [part for part in group.split("/") if part not in ("", ".")]
    if ".." in parts or len(parts) > _MAX_CGROUP_DEPTH:
        return [mount]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _split_cpu_max(text: str) -> tuple[str, str]:
    quota, _, period = text.partition(" ")
    return quota, period


def _quota(quota: str, period: str) -> float | None:
    """A CPU quota in CPUs; None for no limit, a quota of zero no kernel writes, or text
    that is not ASCII digits (see :func:`_digits_or_none`)."""
    quota_count, period_count = _digits_or_none(quota), _digits_or_none(period)
    if quota_count and period_count:  # both given and above zero
        return quota_count / period_count
    return None


def _gpus() -> tuple[Gpu, ...]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run(
            [
                exe,
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            errors="replace",  # a driver's bytes that are not text must not fail a capture
            timeout=NVIDIA_SMI_TIMEOUT,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    gpus = []
    for line in out.splitlines()[:64]:  # bound: no machine has more GPUs than that
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 3 or not fields[0]:
            continue
        name, memory, driver = fields
        gpus.append(
            Gpu(
                name=name,
                memory_total=_size_or_none(memory, _MIB),
                driver_version=driver or None,
            )
        )
    return tuple(gpus)


def _blas() -> tuple[BlasLibrary, ...]:
    """The BLAS library numpy calls: threadpoolctl's entry for the library numpy's wheel
    ships (under numpy's directory or the ``numpy.libs`` beside it), else for one outside
    every installed package (the system's, which Debian's numpy links, or conda's in
    ``$PREFIX/lib``), else what numpy's build configuration names. Only numpy's: the
    process may have loaded others since (scipy and scikit-learn bundle their own
    OpenBLAS), and what it happened to import before a capture says nothing about the
    environment."""
    try:
        import numpy  # noqa: F401  (threadpoolctl sees only libraries already loaded)
    except ImportError:
        return ()
    try:
        infos = importlib.import_module("threadpoolctl").threadpool_info()
    except Exception:  # not installed, or a probe of native libraries that failed
        infos = []
    return numpy_blas(infos, _numpy_directories()) or _numpy_config_blas()


def _numpy_directories() -> tuple[str, ...]:
    """Where numpy's wheels put the BLAS they ship: ``numpy.libs/`` beside the package
    (Linux, Windows), ``numpy/.dylibs/`` (macOS) or ``numpy/.libs/`` (older Windows)."""
    import numpy

    where = getattr(numpy, "__file__", None)
    if not isinstance(where, str):
        return ()
    package = os.path.dirname(where)
    return (package, os.path.join(os.path.dirname(package), "numpy.libs"))


def _inside(path: str, directory: str) -> bool:
    try:
        path, directory = (os.path.normcase(os.path.realpath(p)) for p in (path, directory))
    except (OSError, ValueError):  # a name the OS refuses (a NUL byte): not numpy's
        return False
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def numpy_blas(
    infos: Iterable[Mapping[str, Any]], directories: Iterable[str]
) -> tuple[BlasLibrary, ...]:
    """The BLAS entries of threadpoolctl's ``threadpool_info()`` whose library file lies in
    one of ``directories`` (numpy's): those numpy calls, not those other packages loaded.

    When none lies there, numpy was built against a BLAS it does not ship (Debian's
    ``python3-numpy`` links the system's, conda's numpy the one in ``$PREFIX/lib``): then
    the entries are those outside every installed package's folder, a library another
    wheel bundles (``scipy.libs/``, ``sklearn/.libs/``, anything under ``site-packages``)
    being that package's, not numpy's.

    Examples
    --------
    >>> from modelship.parity._snapshot import numpy_blas
    >>> infos = [
    ...     {"user_api": "blas", "internal_api": "openblas", "version": "0.3.30",
    ...      "filepath": "/venv/site-packages/scipy.libs/libscipy_openblas.so"},
    ...     {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31",
    ...      "filepath": "/venv/site-packages/numpy.libs/libscipy_openblas64_.so"}]
    >>> [lib.version for lib in numpy_blas(infos, ["/venv/site-packages/numpy.libs"])]
    ['0.3.31']
    >>> system = {"user_api": "blas", "internal_api": "openblas", "version": "0.3.21",
    ...           "filepath": "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}
    >>> [lib.version for lib in numpy_blas([infos[0], system], ["/usr/lib/python3/numpy"])]
    ['0.3.21']
    """
    directories = tuple(directories)
    blas = [
        info
        for info in infos
        if isinstance(info, Mapping)
        and info.get("user_api") == "blas"
        and isinstance(info.get("filepath"), str)
    ]
    numpys = [
        info
        for info in blas
        if any(_inside(info["filepath"], directory) for directory in directories)
    ]
    if not numpys:
        numpys = [info for info in blas if not _bundled(info["filepath"])]
    return tuple(
        BlasLibrary(
            name=unicode_text(str(info.get("internal_api"))),
            version=_text_or_none(info.get("version")),
            threading_layer=_text_or_none(info.get("threading_layer")),
            num_threads=_count_or_none(info.get("num_threads")),
            architecture=_text_or_none(info.get("architecture")),
        )
        for info in numpys
    )


# Where a wheel puts the native libraries it bundles: "<name>.libs" beside its package
# (auditwheel, delvewheel), "<package>/.libs" or "<package>/.dylibs" (delocate); and
# where pip installs packages at all.
_PACKAGE_FOLDERS = ("site-packages", "dist-packages", ".libs", ".dylibs")


def _bundled(path: str) -> bool:
    """Whether the library file ``path`` lies in an installed package's folder."""
    folders = [os.path.dirname(path)]
    with contextlib.suppress(OSError, ValueError):  # a name the OS refuses (a NUL byte)
        folders.append(os.path.dirname(os.path.realpath(path)))
    return any(
        part in _PACKAGE_FOLDERS or part.endswith(".libs")
        for folder in folders
        for part in Path(os.path.normcase(folder)).parts
    )


# A native library's report is not trusted to be well-typed; what it says wrong is unknown.
def _text_or_none(value: object) -> str | None:
    return unicode_text(value) if isinstance(value, str) else None


def _count_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CPU_COUNT:
        return value
    return None


def _numpy_config_blas() -> tuple[BlasLibrary, ...]:
    import numpy

    try:
        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
    except Exception:  # numpy < 1.25 has no structured configuration
        return ()
    return (
        BlasLibrary(
            name=unicode_text(str(blas.get("name"))), version=_text_or_none(blas.get("version"))
        ),
    )


def _locale() -> str | None:
    """The locale in effect for character types, as the C library names it:
    ``setlocale(LC_CTYPE)`` queried (no locale given: nothing changes). Not
    ``locale.getlocale()``, whose alias table names ``C.UTF-8`` ``en_US.UTF-8``, a locale
    that sorts and classifies otherwise (and may not be installed)."""
    try:
        current = locale.setlocale(locale.LC_CTYPE)
    except (locale.Error, ValueError):
        current = None
    if current:
        return unicode_text(current)
    try:
        language, encoding = locale.getlocale()
    except ValueError:
        return None
    if language is None:
        return None
    return unicode_text(f"{language}.{encoding}" if encoding else language)


def zone_name(zone: str) -> str:
    """The zone a ``TZ`` value or zoneinfo path names: ``":/usr/share/zoneinfo/Etc/UTC"``
    is ``Etc/UTC``; anything else (``"Europe/Paris"``, ``"EST5EDT"``) is itself.

    Examples
    --------
    >>> from modelship.parity._snapshot import zone_name
    >>> zone_name(":/usr/share/zoneinfo/Etc/UTC"), zone_name("Europe/Paris")
    ('Etc/UTC', 'Europe/Paris')
    """
    zone = zone.lstrip(":")
    _, found, name = zone.partition("zoneinfo/")
    return name if found and name else zone


ZONEINFO = "/usr/share/zoneinfo"
"""Where the C library finds time zone files when ``$TZDIR`` does not say."""

MAX_ZONE_FILES = 4000
"""Most entries (files and folders) under the zoneinfo folder walked to find the zone of
an ``/etc/localtime`` copied there rather than linked (tzdata has about 600 zones in a
few dozen folders): past it, the zone is recorded as
:data:`UNKNOWN_ZONE`, with its file's digest."""

MAX_ZONE_FILE = 1 << 20
"""Most bytes of a time zone file read; TZif files are a few kilobytes."""

UNKNOWN_ZONE = "unknown (file)"
"""The ``timezone`` of a snapshot whose zone file names no zone (a copy matching no file
under the zoneinfo folder): its ``timezone_digest`` still identifies it."""

# A zone name as tzdata spells its files: no "..", no leading "/".
_ZONE_PATH = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_TZIF = b"TZif"


def zoneinfo_root() -> str:
    """The zoneinfo folder this process's C library reads: ``$TZDIR``, else
    :data:`ZONEINFO`."""
    return os.environ.get("TZDIR") or ZONEINFO


def zone_in_root(path: str, root: str | None = None) -> str | None:
    """The zone name of the file ``path`` once every link is resolved, when it lies under
    the zoneinfo folder (its ``posix/`` tree read as the zone itself); None otherwise.

    Examples
    --------
    >>> from modelship.parity._snapshot import zone_in_root
    >>> zone_in_root("/usr/share/zoneinfo/posix/Europe/Paris", "/usr/share/zoneinfo")
    'Europe/Paris'
    """
    root = zoneinfo_root() if root is None else root
    try:
        real, base = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):
        return None
    if not real.startswith(base.rstrip(os.sep) + os.sep):
        return None
    name = os.path.relpath(real, base).replace(os.sep, "/")
    name = name.removeprefix("posix/")
    return name if _ZONE_PATH.fullmatch(name) else None


def _zone_bytes(path: str) -> bytes | None:
    """The bytes of a regular zone file (at most :data:`MAX_ZONE_FILE`), else None."""
    try:
        # Non-blocking, then checked: a FIFO or a device must not block the capture.
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        with os.fdopen(os.dup(handle), "rb") as file:
            return file.read(MAX_ZONE_FILE)
    except OSError:
        return None
    finally:
        os.close(handle)


_IDENTIFIED_MAX = 64
_IDENTIFIED: dict[str, str | None] = {}  # digest to zone, per process: tzdata rarely changes


def _identified(data: bytes, digest: str, root: str) -> str | None:
    """The zone under ``root`` whose file holds ``data``: the first found walking it in
    sorted order, ``posix/`` and ``right/`` skipped and links not followed, comparing
    sizes first and at most :data:`MAX_ZONE_FILES` entries (files and folders: a tree
    of empty folders is bounded too); None when none does."""
    key = f"{root}\0{digest}"
    if key in _IDENTIFIED:
        return _IDENTIFIED[key]
    found: str | None = None
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not (folder == root and d in ("posix", "right")))
        seen += len(dirs)  # each folder is an entry read, though it holds no file
        if seen > MAX_ZONE_FILES:
            break
        for name in sorted(files):
            seen += 1
            if seen > MAX_ZONE_FILES:
                break
            path = os.path.join(folder, name)
            try:
                if os.path.islink(path) or os.path.getsize(path) != len(data):
                    continue
            except OSError:
                continue
            if _zone_bytes(path) == data:
                found = zone_in_root(path, root)
                break
        if found is not None or seen > MAX_ZONE_FILES:
            break
    if len(_IDENTIFIED) >= _IDENTIFIED_MAX:  # bound: a process meets one or two zone files
        _IDENTIFIED.clear()
    _IDENTIFIED[key] = found
    return found


def _zone_file(path: str) -> tuple[str, str | None]:
    """The zone the file ``path`` holds and its ``sha256:`` digest: its name under the
    zoneinfo folder once links are resolved, else the name of the zone file with the
    same bytes, else :data:`UNKNOWN_ZONE`. A missing or unreadable file is UTC, as the C
    library reads it."""
    data = _zone_bytes(path)
    if data is None or not data.startswith(_TZIF):
        return "UTC", None  # glibc: no readable zone file, no zone: UTC
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    root = zoneinfo_root()
    name = zone_in_root(path, root) or _identified(data, digest, root)
    return name or UNKNOWN_ZONE, digest


def _zone() -> tuple[str | None, str | None]:
    """The time zone in effect and its file's digest, as the C library reads ``$TZ``: unset
    is ``/etc/localtime``'s zone (a link resolved, a copy identified by its bytes); empty
    is UTC; ``:path`` or a path is that file's zone; a zone name is its file's, links
    resolved (``US/Eastern`` is ``America/New_York``); a POSIX rule (``EST5EDT``, when no
    file has that name) is itself. On a system without zoneinfo files (Windows), what
    ``time.tzname`` says."""
    tz = os.environ.get("TZ")
    if tz is None:
        if os.name != "posix":
            return (time.tzname[0] or None), None
        return _zone_file("/etc/localtime")
    if tz in ("", ":"):
        return "UTC", None
    spec = tz[1:] if tz.startswith(":") else tz
    if spec.startswith("/"):
        return _zone_file(spec)
    if _ZONE_PATH.fullmatch(spec) and os.path.isfile(os.path.join(zoneinfo_root(), spec)):
        return _zone_file(os.path.join(zoneinfo_root(), spec))
    return zone_name(tz), None


def _zone_now() -> str | None:
    """What the clock says now: the zone's abbreviation and UTC offset (``CST
    UTC+08:00``), so that a reader sees the zone in effect whatever its name."""
    try:
        now = time.localtime()
        offset = now.tm_gmtoff
    except (OSError, ValueError, OverflowError, AttributeError):
        return None
    sign, offset = ("-" if offset < 0 else "+"), abs(offset)
    hours, minutes = divmod(offset // 60, 60)
    abbreviation = unicode_text(now.tm_zone or "").strip()[:_ZONE_ABBREVIATION]
    utc = f"UTC{sign}{hours:02d}:{minutes:02d}"
    return utc if abbreviation in ("", "UTC") else f"{abbreviation} {utc}"


_ZONE_ABBREVIATION = 16
