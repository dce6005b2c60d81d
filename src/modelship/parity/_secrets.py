"""Which environment variables a snapshot refuses to record.

A snapshot is written to registries, CI logs and pull-request comments, so it must never
carry a credential. A variable is refused, allow-listed or not, when its *name* looks like
a credential, or its *value* holds a URL with user information (``scheme://user:pw@``,
``https://TOKEN@host``) or a ``key=value`` setting whose key looks like a credential
(``password=``, ``AccountKey=``, ``SharedAccessSignature=``, ``sig=``). Refused variables
are dropped entirely (name and value): a redacted entry would still tell a reader which
secrets a machine holds, and nothing in a comparison needs them. The rule errs on the side
of dropping: a harmless variable that looks like a credential is left out too.
"""

from __future__ import annotations

import re
import reprlib

from modelship.errors import ConfigError

__all__ = ["SECRET_NAME_PARTS", "is_secret"]

SECRET_NAME_PARTS = (
    "KEY",
    "SECRET",
    "TOKEN",
    "PASS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "CREDENTIAL",
    "AUTH",
    "SESSION",
    "PRIVATE",
    "COOKIE",
    "DSN",
    "SIGNATURE",
    "CERT",
)
"""Substrings of a variable's upper-cased name that mark it as a credential."""

# The working directory and the previous one: shell variables, not passwords.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# Keys of a credential in a setting written as key=value inside a value, beyond those with
# a SECRET_NAME_PARTS part: the signature of an Azure SAS token ("...&sig=...").
_SECRET_KEYS = frozenset({"SIG"})
# What separates the settings of a connection string (libpq "host=db password=x", Azure
# "AccountName=a;AccountKey=k", ODBC "UID=u;PWD=p", a query "?sv=1&sig=s").
_SETTINGS = re.compile(r"[\s;&?,]+")


def _secret_name(upper: str) -> bool:
    return any(part in upper for part in SECRET_NAME_PARTS)


def _secret_value(value: str) -> bool:
    """Whether ``value`` holds user information in a URL or a credential setting; linear
    in its length (a value is up to 128 KiB)."""
    for word in value.split():
        scheme = word.find("://")
        # user information: the password of scheme://user:pw@host may hold "/", and a
        # token may be the user (https://ghp_...@github.com); any "@" after "://" counts
        if scheme != -1 and "@" in word[scheme:]:
            return True
    settings = _SETTINGS.split(value)
    for index, setting in enumerate(settings):
        key, equals, _ = setting.partition("=")
        if equals and not key and index:  # libpq allows "password = x"
            key = settings[index - 1]
        key = key.upper()
        if equals and key and (key in _SECRET_KEYS or _secret_name(key)):
            return True
    return False


def is_secret(name: str, value: str = "") -> bool:
    """Return whether the variable ``name`` (holding ``value``) may hold a credential.

    A name is refused when, upper-cased, it contains a part of :data:`SECRET_NAME_PARTS`
    (``PWD`` and ``OLDPWD`` themselves are working directories, and are not refused); a
    value, when it holds a URL with user information (any ``@`` after ``://`` in one
    whitespace-separated word) or a ``key=value`` setting (separated by whitespace, ``;``,
    ``&``, ``?`` or ``,``; spaces around ``=`` allowed) whose key contains such a part or
    is ``sig``.

    Examples
    --------
    >>> from modelship.parity import is_secret
    >>> is_secret("AWS_SECRET_ACCESS_KEY"), is_secret("github_token"), is_secret("OMP_NUM_THREADS")
    (True, True, False)
    >>> is_secret("DATABASE_URL", "postgres://app:hunter2@db:5432/prod")
    True
    >>> is_secret("PWD", "/home/me"), is_secret("DB_PASS")
    (False, True)
    >>> is_secret("DB_CONN", "host=db user=app password=hunter2")
    True
    >>> is_secret("GIT_REMOTE", "https://ghp_abc@github.com/org/repo.git")
    True

    Raises
    ------
    ConfigError
        When ``name`` or ``value`` is not a string.
    """
    for label, text in (("name", name), ("value", value)):
        if not isinstance(text, str):
            raise ConfigError(
                f"is_secret needs an environment variable's {label} as a string, got "
                f"{type(text).__name__} {reprlib.repr(text)}"
            )
    upper = name.upper()
    if upper not in _NOT_SECRET and _secret_name(upper):
        return True
    return _secret_value(value)
