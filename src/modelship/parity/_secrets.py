"""Which environment variables a snapshot refuses to record.

A snapshot is written to registries, CI logs and pull-request comments, so it must never
carry a credential. A variable is refused, allow-listed or not, when its *name* looks like
a credential, or its *value* holds a URL with user information (``scheme://user:pw@``,
``https://TOKEN@host``; the rule of :func:`modelship._shown.hide_credentials`) or a
``key=value`` setting whose key names a credential (``password=``, ``AccountKey=``,
``SharedAccessSignature=``, ``sig=``). Refused variables
are dropped entirely (name and value): a redacted entry would still tell a reader which
secrets a machine holds, and nothing in a comparison needs them. The rule errs on the side
of dropping: a harmless variable that looks like a credential is left out too.
"""

from __future__ import annotations

import itertools
import re
import reprlib

from modelship._shown import hide_credentials
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
"""Substrings of a variable's upper-cased name that mark it as a credential (and ``PASS``
as a whole part of the name between underscores, or its end: ``DB_PASS``, ``SMTPPASS``;
``PASSENGER_APP_ENV`` is no credential)."""

# The working directory and the previous one: shell variables, not passwords.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# Words of a key in a key=value setting inside a value that name a credential, alone or
# two side by side ("AccountKey", "fs.s3a.access.key", "api_key"): connection strings
# (libpq, ODBC, Azure), SAS tokens ("&sig=..."), the usual names of keys and tokens. Words,
# not substrings: "StrictHostKeyChecking=no", "--xla_disable_hlo_passes=...",
# "spark.sql.session.timeZone=UTC" are settings, not credentials.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "secret", "token", "sig",
        "signature", "credential", "credentials", "cookie", "authorization", "apikey",
        "accesskey", "secretkey", "privatekey", "accountkey", "sharedaccesskey",
    }
)  # fmt: skip
# A key that is only this word is a credential too ("?key=AIza...").
_SECRET_KEYS = frozenset({"key"})
# The words of a key: camelCase and ACRONYMS split, separators dropped.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _secret_key(key: str) -> bool:
    words = [word.lower() for word in _WORDS.findall(key)]
    if "".join(words) in _SECRET_KEYS:
        return True
    pairs = (a + b for a, b in itertools.pairwise(words))
    return any(word in _SECRET_WORDS for word in words) or any(
        pair in _SECRET_WORDS for pair in pairs
    )


# What separates the settings of a connection string (libpq "host=db password=x", Azure
# "AccountName=a;AccountKey=k", ODBC "UID=u;PWD=p", a query "?sv=1&sig=s").
_SETTINGS = re.compile(r"[\s;&?,]+")


def _secret_name(upper: str) -> bool:
    if any(part in upper for part in SECRET_NAME_PARTS):
        return True
    return any(part.endswith("PASS") for part in upper.split("_"))


def _secret_value(value: str) -> bool:
    """Whether ``value`` holds user information in a URL or a credential setting; linear
    in its length (a value is up to 128 KiB)."""
    if hide_credentials(value) != value:  # a URL's user information: a password, a token
        return True
    settings = _SETTINGS.split(value)
    for index, setting in enumerate(settings):
        key, equals, _ = setting.partition("=")
        if equals and not key and index:  # libpq allows "password = x"
            key = settings[index - 1]
        if equals and _secret_key(key):
            return True
    return False


def is_secret(name: str, value: str = "") -> bool:
    """Return whether the variable ``name`` (holding ``value``) may hold a credential.

    A name is refused when, upper-cased, it contains a part of :data:`SECRET_NAME_PARTS`
    (``PWD`` and ``OLDPWD`` themselves are working directories, and are not refused); a
    value, when it holds a URL with user information (``scheme://user:pw@host``,
    ``https://TOKEN@host``; not ``s3://bucket/models@v2``) or a ``key=value`` setting
    (separated by whitespace, ``;``, ``&``, ``?`` or ``,``; spaces around ``=`` allowed)
    whose whole key names a credential (``password``, ``PWD``, ``AccountKey``,
    ``SharedAccessSignature``, ``sig``, ``api_key``, ``token``, ...).

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
