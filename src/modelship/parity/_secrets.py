"""Which environment variables a snapshot refuses to record.

A snapshot is written to registries, CI logs and pull-request comments, so it must never
carry a credential. A variable is refused, allow-listed or not, when its *name* looks like
a credential or its *value* is a URL with a password in it. Refused variables are dropped
entirely (name and value): a redacted entry would still tell a reader which secrets a
machine holds, and nothing in a comparison needs them.
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

# scheme://user:password@host, the shape of a DSN or connection string with credentials.
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")


def is_secret(name: str, value: str = "") -> bool:
    """Return whether the variable ``name`` (holding ``value``) may hold a credential.

    ``PWD`` alone is the working directory, not a password, and is not refused.

    Examples
    --------
    >>> from modelship.parity import is_secret
    >>> is_secret("AWS_SECRET_ACCESS_KEY"), is_secret("github_token"), is_secret("OMP_NUM_THREADS")
    (True, True, False)
    >>> is_secret("DATABASE_URL", "postgres://app:hunter2@db:5432/prod")
    True
    >>> is_secret("PWD", "/home/me")
    False

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
    if upper != "PWD" and any(part in upper for part in SECRET_NAME_PARTS):
        return True
    return bool(_URL_WITH_PASSWORD.search(value))
