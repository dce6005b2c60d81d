"""Validation of the names users choose: model names, versions and aliases.

They become parts of storage keys on local disks, S3 and Windows shares, so only a safe,
portable alphabet is accepted: letters, digits, ``.``, ``_`` and ``-``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from modelship._shown import brief
from modelship.errors import IntegrityError, InvalidName

__all__ = ["check_alias", "check_model_name", "check_role", "check_stored", "check_version"]

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
MAX_NAME = 128
MAX_VERSION = 64
MAX_ALIAS = 64
RESERVED_REFS = frozenset({"latest"})


def _check(kind: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidName(f"{kind} must be a string, got {type(value).__name__}: {value!r}")
    if not value:
        raise InvalidName(f"{kind} must not be empty")
    if len(value) > limit:
        raise InvalidName(f"{kind} {value[:20]!r}... is {len(value)} characters; at most {limit}")
    if not _SAFE.fullmatch(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
        detail = (
            f"characters {''.join(bad)!r} are not allowed"
            if bad
            else "it must start with a letter or digit"
        )
        raise InvalidName(
            f"{kind} {value!r} is not allowed: {detail}; use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    if ".." in value:
        raise InvalidName(f"{kind} {value!r} must not contain '..'")
    if value.endswith("."):
        raise InvalidName(f"{kind} {value!r} must not end with '.' (Windows drops it)")
    if value.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise InvalidName(f"{kind} {value!r} is a reserved device name on Windows")
    return value


def check_model_name(name: object) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`InvalidName`."""
    return _check("model name", name, MAX_NAME)


def check_version(version: object) -> str:
    """Return ``version`` as a string if valid (an int is accepted), else raise."""
    if isinstance(version, int) and not isinstance(version, bool):
        if version < 1:
            raise InvalidName(f"version {version} must be a positive integer")
        version = str(version)
    value = _check("version", version, MAX_VERSION)
    if value.lower() in RESERVED_REFS:
        raise InvalidName(f"version {value!r} is reserved as a reference; choose another")
    return value


def check_alias(alias: object) -> str:
    """Return ``alias`` (without a leading ``@``) if valid, else raise."""
    if isinstance(alias, str) and alias.startswith("@"):
        alias = alias[1:]
    value = _check("alias", alias, MAX_ALIAS)
    if not value[0].isalpha():
        raise InvalidName(f"alias {value!r} must start with a letter")
    if value.lower() in RESERVED_REFS:
        raise InvalidName(f"alias {value!r} is reserved; choose another")
    return value


def check_role(role: object) -> str:
    """Return ``role`` if it is a valid attachment role (an alias's rules), else raise.

    ``"model"`` names the artifact itself (``download(..., role="model")``), so no
    attachment may take it.

    Examples
    --------
    >>> check_role("notes")
    'notes'
    >>> check_role("model")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidName: attachment role 'model' names the artifact itself; ...
    """
    value = _check("attachment role", role, MAX_ALIAS)
    if not value[0].isalpha():
        raise InvalidName(f"attachment role {value!r} must start with a letter")
    if value == "model":
        raise InvalidName("attachment role 'model' names the artifact itself; choose another role")
    return value


def check_stored(check: Callable[[object], str], value: object, where: str) -> str:
    """``value`` read from storage at ``where``, validated by ``check`` like a name passed in.

    A name read back is trusted no more than one a caller passes: one that would not be
    accepted as input (``../../outside``) raises :class:`~modelship.IntegrityError`, since
    the store was damaged or written by someone else.

    Examples
    --------
    >>> check_stored(check_version, "3", "models/m/slots/000000000001.json")
    '3'
    >>> check_stored(check_version, "../../x", "models/m/slots/000000000001.json")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: models/m/slots/000000000001.json holds a name that ...
    """
    try:
        checked = check(value)
    except InvalidName as exc:
        raise IntegrityError(
            f"{where} holds a name that would not be accepted as input ({exc}): the registry "
            "was tampered with or damaged"
        ) from exc
    if checked != value:  # a number 3 for "3": the registry writes the text it checked
        raise IntegrityError(
            f"{where} holds {brief(value)}, not a name as the registry writes it "
            f"({checked!r}): the registry was tampered with or damaged"
        )
    return checked
