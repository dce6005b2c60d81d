"""Which environment variables a snapshot refuses to record.

A snapshot is written to registries, CI logs and pull-request comments, so it must never
carry a credential. A variable is refused, allow-listed or not, when its *name* looks like
a credential, or its *value* holds a URL with user information (``scheme://user:pw@``,
``https://TOKEN@host``; the rule of :func:`modelship._shown.hide_credentials`) or a
``key=value`` setting whose key names a credential (``password=``, ``AccountKey=``,
``SharedAccessSignature=``, ``sig=``), a flag or header naming one before its value
(``--password x``, ``Authorization: Basic ...``), or a ``Bearer`` token. Refused variables
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
"""Substrings of a variable's upper-cased name that mark it as a credential (``PASS`` drops
``PASSENGER_APP_ENV`` too: a name errs on the side of dropping)."""

# The working directory and the previous one: shell variables, not passwords.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# What marks the key of a key=value setting inside a value as a credential. Its words
# (camelCase and ACRONYMS split, separators dropped, lower-cased) are read, not the whole
# key: "StrictHostKeyChecking=no", "--xla_disable_hlo_passes=...",
# "spark.sql.session.timeZone=UTC" are settings. A word *containing* one of these is a
# credential ("PGPASSWORD", "clientsecret", "passcode"):
_SECRET_PARTS = (
    "password", "passwd", "passcode", "passphrase", "secret", "token", "credential",
    "signature", "cookie", "authorization", "apikey", "accesskey", "privatekey",
    "accountkey",
)  # fmt: skip
# a word that *is* one of these ("pass", "pwd", "sig", "auth"; "password" in "DB_PASS2"):
_SECRET_WORDS = frozenset({"pass", "pwd", "sig", "auth"})
# two words side by side that make one of the parts ("api"+"key", "access"+"key");
# and a key that is only "key" ("?key=AIza...").
_SECRET_KEYS = frozenset({"key"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _secret_key(key: str) -> bool:
    words = [word.lower() for word in _WORDS.findall(key)]
    if "".join(words) in _SECRET_KEYS:
        return True
    joined = (*words, *(a + b for a, b in itertools.pairwise(words)))
    return any(word in _SECRET_WORDS for word in words) or any(
        part in word for word in joined for part in _SECRET_PARTS
    )


# What separates the settings of a connection string (libpq "host=db password=x", Azure
# "AccountName=a;AccountKey=k", ODBC "UID=u;PWD=p", a query "?sv=1&sig=s").
_SETTINGS = re.compile(r"[\s;&?,]+")


def _secret_name(upper: str) -> bool:
    return any(part in upper for part in SECRET_NAME_PARTS)


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
        following = settings[index + 1] if index + 1 < len(settings) else ""
        if not equals and following and _secret_before(setting, following):
            return True
    return False


# A setting whose next one is its value: a command-line flag ("--password hunter2",
# "-Dtoken x") or a header ("Authorization: Basic ...", "X-Api-Key: ..."), quotes aside.
_QUOTES = "'\""


def _secret_before(setting: str, following: str) -> bool:
    """Whether ``setting`` names a credential that ``following`` holds: a flag or header
    whose words name one (see :func:`_secret_key`), or the scheme ``Bearer`` of a token."""
    bare = setting.strip(_QUOTES)
    if bare.lower() == "bearer":
        return len(following.strip(_QUOTES)) >= 8
    flag = bare.startswith("-") and not following.startswith("-")
    return (flag or bare.endswith(":")) and _secret_key(bare)


def is_secret(name: str, value: str = "") -> bool:
    """Return whether the variable ``name`` (holding ``value``) may hold a credential.

    A name is refused when, upper-cased, it contains a part of :data:`SECRET_NAME_PARTS`
    (``PWD`` and ``OLDPWD`` themselves are working directories, and are not refused); a
    value, when it holds a URL with user information (``scheme://user:pw@host``,
    ``https://TOKEN@host``; not ``s3://bucket/models@v2``) or a ``key=value`` setting
    (separated by whitespace, ``;``, ``&``, ``?`` or ``,``; spaces around ``=`` allowed)
    whose key has a word naming a credential (``password``, ``PWD``, ``AccountKey``,
    ``SharedAccessSignature``, ``sig``, ``api_key``, ``token``, ...), the same words as a
    command-line flag or a header before its value (``--password hunter2``,
    ``Authorization: Basic dXNlcjpwdw==``), or a ``Bearer`` token.

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
    >>> is_secret("CURL_OPTS", "-H 'Authorization: Bearer eyJhbGciOi'")
    True
    >>> is_secret("APP_ARGS", "--db-password hunter2 --workers 4")
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
