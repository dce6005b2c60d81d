"""Lineage capture: who registers, when, and from which code and data.

The git commit and dirty flag come from the working tree around the current directory;
data sets become their :func:`~modelship.fingerprint`. Nothing here writes to a store.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from modelship._fingerprint import data_fingerprint
from modelship._model_version import Lineage
from modelship._names import check_version
from modelship.errors import ConfigError, VersionNotFound

__all__ = ["data_location", "default_user", "git_lineage", "lineage_for", "now"]


def now() -> datetime:
    """The current time, timezone-aware (UTC): every time a registry records."""
    return datetime.now(timezone.utc)


def default_user() -> str:
    """``user@host`` of this process, recorded as who registered or moved something.

    Always what readers accept (1 to 256 printable characters): the user name comes from
    environment variables (``LOGNAME``, ``USER``), which may hold anything, and a value
    readers refuse would make this machine's own log entries read as damage.

    Examples
    --------
    >>> user = default_user()
    >>> "@" in user and 0 < len(user) <= 256 and user.isprintable()
    True
    """
    try:
        user = getpass.getuser()
    except Exception:  # getuser raises several types when no name is known
        user = "unknown"
    text = f"{user}@{socket.gethostname()}"
    return "".join(c if c.isprintable() else "?" for c in text)[:256]


def git_lineage(cwd: str | None = None) -> tuple[str | None, bool | None]:
    """The commit and dirty flag of the git working tree around ``cwd``, if any.

    ``git rev-parse HEAD`` names the commit, ``git status --porcelain`` (tracked files
    only) any change; their output is read as bytes (a file or branch name need not be
    UTF-8). A ``status`` that fails (a bare repository, a damaged index) leaves the
    commit known and the dirty flag unknown (``None``).

    Examples
    --------
    >>> git_lineage("/")  # no working tree there
    (None, None)
    """
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, timeout=10, check=False
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return commit.stdout.decode("ascii", "replace").strip(), dirty


def lineage_for(
    name: str,
    lineage: Lineage | Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
    version_exists: Callable[[str, str], bool],
) -> Lineage:
    """The :class:`Lineage` to record: given, or captured from git, plus data fingerprints.

    ``version_exists(name, version)`` tells whether a parent version is committed.
    """
    if lineage is None:
        commit, dirty = git_lineage()
        result = Lineage(git_commit=commit, git_dirty=dirty)
    elif isinstance(lineage, Lineage):
        result = lineage
    elif isinstance(lineage, Mapping):
        result = Lineage.from_dict(lineage)
    else:
        raise ConfigError(f"lineage must be a Lineage or a dict, got {type(lineage).__name__}")
    _check_fields(result)
    if result.parent is not None:
        parent = check_version(result.parent)
        if not version_exists(name, parent):
            raise VersionNotFound(
                f"lineage parent {parent!r} is not a version of {name!r}; register it first"
            )
        result = attrs.evolve(result, parent=parent)
    if data:
        if not isinstance(data, Mapping):
            raise ConfigError("data must map a role ('train', 'holdout') to the data")
        prints = dict(result.data)
        places = dict(result.locations)
        for role, value in data.items():
            if not isinstance(role, str) or not role:
                raise ConfigError(f"data roles must be non-empty strings, got {role!r}")
            prints[role] = data_fingerprint(value, f"data[{role!r}]")
            if isinstance(value, (str, os.PathLike)):
                places[role] = data_location(value)
        result = attrs.evolve(result, data=prints, locations=places)
    return result


def _check_fields(lineage: Lineage) -> None:
    """The types a stored lineage is read back with: text, a flag, maps of text."""
    if lineage.git_commit is not None and not isinstance(lineage.git_commit, str):
        raise ConfigError(f"lineage git_commit must be text, got {lineage.git_commit!r}")
    if lineage.git_dirty is not None and not isinstance(lineage.git_dirty, bool):
        raise ConfigError(f"lineage git_dirty must be True or False, got {lineage.git_dirty!r}")
    for field in ("data", "extra", "locations"):
        for key, value in getattr(lineage, field).items():
            if not (isinstance(key, str) and isinstance(value, str)):
                raise ConfigError(
                    f"lineage {field} must map text to text; {key!r}: {value!r} is not"
                )


def data_location(value: str | os.PathLike[str]) -> str:
    """Where data given as a path or URL was: an absolute path, or the URL without secrets.

    A URL's user name and password (``s3://key:secret@bucket/x``) and its query (signed
    URLs carry their signature there) are never recorded.

    Examples
    --------
    >>> data_location("s3://AKIA:secret@bucket/train.parquet?X-Amz-Signature=abc")
    's3://bucket/train.parquet'
    >>> data_location("/data/train.csv")
    '/data/train.csv'
    """
    text = os.fspath(value)
    if "://" not in text:
        return os.path.abspath(text)
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
