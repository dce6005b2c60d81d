"""Which environment variables a snapshot refuses to record.

A snapshot is written to registries, CI logs and pull-request comments, so it must never
carry a credential. A variable is refused, allow-listed or not, when its *name* looks like
a credential, or its *value* holds a URL with user information (``scheme://user:pw@``,
``https://TOKEN@host``; the rule of :func:`modelship._shown.hide_credentials`) or a
``key=value`` setting where any key names a credential (``password=``, ``AccountKey=``,
``SharedAccessSignature=``, ``sig=``, ``--conf=spark.hadoop.fs.s3a.secret.key=``), a flag
or header naming one before its value (``--password x``, ``Authorization: Basic ...``,
``--pw x``, ``--signing-key x``), a header or compact JSON naming one strongly with no
space after the ``:`` (``X-Api-Key:...``; not ``auth-service:8080`` nor ``auth.main:app``),
a quoted JSON name by the whole vocabulary of a ``key=value`` before a quoted string
(``{"api_key":"..."}``, ``{"pwd":"..."}``, escaped quotes too; not ``tokenizer``),
curl's ``-u user:password``, mysql's ``-uUSER -pPASSWORD`` (a user given; not a
single-dash long flag such as ``-profile prod``, nor short flags such as ``cp -pR`` when
only ``sudo -u app`` gives a user), or a ``Bearer`` token; what a ``--flag=`` gives is
read as if given alone (``--header=X-Api-Key: ...``, ``--config={"api_key": "..."}``).
A value is refused by its shape alone, whatever names it, when it holds a PEM private
key's header or footer (``-----BEGIN PRIVATE KEY-----``, ``RSA``, ``EC``, ``OPENSSH``,
``ENCRYPTED``, ``PGP ... KEY BLOCK``, RFC 4716's ``---- BEGIN SSH2 ...``; newlines real or
escaped; in base64 too; a certificate's ``-----BEGIN CERTIFICATE-----`` is public and
kept), a PuTTY key file, an OpenSSH key's body, or a JSON Web Token (three base64url
segments, the first two starting ``eyJ``: GitLab's ``CI_JOB_JWT``; five for an encrypted
one; not ``eyJ.foo``).
Refused variables are dropped entirely (name and value): a redacted entry would still tell
a reader which secrets a machine holds, and nothing in a comparison needs them. The rule
errs on the side of dropping: a harmless variable that looks like a credential is left out
too.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import reprlib

from modelship._shown import ascii_digits, hide_credentials
from modelship.errors import ConfigError

__all__ = ["SECRET_NAME_PARTS", "glued_password", "is_secret", "user_given"]

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
    "accountkey", "signingkey", "encryptionkey", "masterkey", "hmackey", "sshkey",
    "clientkey", "licensekey",
)  # fmt: skip
# a word that *is* one of these ("pass", "pwd", "pw", "sig", "auth"; "password" in
# "DB_PASS2"):
_SECRET_WORDS = frozenset({"pass", "pwd", "pw", "sig", "auth"})
# two words side by side that make one of the parts ("api"+"key", "access"+"key");
# and a key that is only "key" ("?key=AIza...").
_SECRET_KEYS = frozenset({"key"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PARTS = re.compile("|".join(_SECRET_PARTS))
# What every key naming a credential holds once its letters and digits alone are read,
# lower-cased (each part, word and key above contains one): a text without any holds no
# such key, so a setting of many keys is read key by key only when it has one.
_MAY_NAME = re.compile("pass|pw|sig|auth|secret|token|credential|cookie|key")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def _may_name_secret(text: str) -> bool:
    return _MAY_NAME.search(_NOT_ALNUM.sub("", text).lower()) is not None


def _secret_key(key: str) -> bool:
    """Whether the words of ``key`` name a credential (see the rules above)."""
    words = [word.lower() for word in _WORDS.findall(key)]
    if "".join(words) in _SECRET_KEYS or not _SECRET_WORDS.isdisjoint(words):
        return True
    # Each word and each two side by side, apart: a part is looked for in one of them.
    joined = " ".join((*words, *(a + b for a, b in itertools.pairwise(words))))
    return _PARTS.search(joined) is not None


# What separates the settings of a connection string (libpq "host=db password=x", Azure
# "AccountName=a;AccountKey=k", ODBC "UID=u;PWD=p", a query "?sv=1&sig=s").
_SETTINGS = re.compile(r"[\s;&?,]+")


def _secret_name(upper: str) -> bool:
    return any(part in upper for part in SECRET_NAME_PARTS)


# A credential told by its shape, with nothing naming it: a PEM private key's header or
# footer (PKCS#1 "RSA", SEC1 "EC", "DSA", PKCS#8 plain or "ENCRYPTED", "OPENSSH", "PGP ...
# KEY BLOCK"; RFC 4716's "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"; its words apart by
# whitespace, "_", "+" or "%20" when URL-encoded), a PuTTY key file, an OpenSSH key's body
# ("openssh-key-v1" in base64) without its header; or a JSON Web Token: a base64url JSON
# header and payload ('{"' is "eyJ"), then a signature (empty for alg "none"), or an
# encrypted one (JWE: five segments, the second empty for alg "dir"). A token starts a
# run of base64url characters: linear in a value's length, where a start inside a run
# ("eyJeyJeyJ...") would make the search quadratic (so "tok_eyJ..." is not caught).
_GAP = r"(?:[\s_+]|%20){1,8}"
_PEM = re.compile(
    rf"(?i:-{{4,5}} ?(?:BEGIN|END)(?:{_GAP}[A-Z0-9]{{1,16}}){{0,3}}{_GAP}PRIVATE{_GAP}KEY)"
)
_SHAPED_SECRET = re.compile(
    rf"{_PEM.pattern}|PuTTY-User-Key-File-|b3BlbnNzaC1rZXktdjE"
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.(?:eyJ[A-Za-z0-9_-]+\."
    r"|[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"
)
# A PEM document in base64 (a key kept in one line of a CI variable): "-----BEGIN" is
# "LS0tLS1CRUdJTi" at the start of the encoding; what follows is decoded and read as PEM
# (a certificate's is public and kept). At most this many are decoded per value.
_BASE64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{0,96}")
_BASE64_PEMS = 16


def _base64_private_key(value: str) -> bool:
    """Whether ``value`` holds a PEM private key's header in base64."""
    if "LS0tLS1CRUdJTi" not in value:
        return False
    for found in itertools.islice(_BASE64_PEM.finditer(value), _BASE64_PEMS):
        text = found.group()
        text = text[: len(text) // 4 * 4]
        try:
            decoded = base64.b64decode(text, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            continue
        if _PEM.search(decoded) is not None:
            return True
    return False


def _secret_value(value: str) -> bool:
    """Whether ``value`` holds a private key or a token by its shape (see
    :data:`_SHAPED_SECRET`), user information in a URL or a credential setting; linear in
    its length (a value is up to 128 KiB)."""
    if _SHAPED_SECRET.search(value) is not None or _base64_private_key(value):
        return True
    if hide_credentials(value) != value:  # a URL's user information: a password, a token
        return True
    settings = _SETTINGS.split(value)
    user: bool | None = None  # whether a -u/--user flag gives a user in the value, once asked
    seen: set[tuple[str, str, str, str]] = set()  # a setting repeated is read once
    for index, setting in enumerate(settings):
        following = settings[index + 1] if index + 1 < len(settings) else ""
        before = settings[index - 1] if index and setting.startswith("=") else ""
        # a JSON name written with a space before its ":" ({"password" : "x"})
        spaced = following == ":" and setting.endswith(("'", '"')) and index + 2 < len(settings)
        after = settings[index + 2] if spaced else ""
        if (setting, following, before, after) in seen:
            continue
        seen.add((setting, following, before, after))
        if _secret_at(setting, following, before):
            return True
        if spaced and _secret_quoted(_last_name(setting), after):
            return True
        if setting.startswith(("-p", "'-p", '"-p')) and glued_password(setting, following):
            if user is None:
                user = user_given(value)
            if user:
                return True
    return False


def _last_name(setting: str) -> str:
    """The last JSON name of ``setting``, quotes aside (``password`` of ``{"db":{"password"``)."""
    return setting.replace("{", ":").rpartition(":")[2].strip(_JSON)


def _secret_at(setting: str, following: str, before: str) -> bool:
    """Whether ``setting``, ``following`` after it, names or holds a credential: a
    ``key=value`` (``before`` is the key of ``= value``), a flag or a header before its
    value, a ``name:value``, or a user flag giving ``user:password``."""
    if "=" in setting:
        if _secret_setting(setting, before, following):
            return True
        # What a --flag= gives, read as the setting after it holding its value (one
        # holding "=" again is read by its nested keys above).
        rest = setting.partition("=")[2]
        if following and "=" not in rest and _secret_given(rest, following):
            return True
    elif following and _secret_before(setting, following):
        return True
    if ":" in setting and _secret_pair(setting):
        return True
    flag = setting[:2] in _FLAG_HEADS or setting.startswith(("'", '"'))
    return flag and _user_password(setting, following)


def _secret_given(given: str, following: str) -> bool:
    """Whether ``given``, what a ``--flag=`` gives, names a credential that ``following``
    holds: a header or a flag, as :func:`_secret_before` reads one given alone
    (``--header=X-Api-Key: ...``, ``-H="PRIVATE-TOKEN: ..."``); a quoted JSON name, as
    :func:`_secret_quoted` reads one, before a quoted string (``--config={"api_key": "..."}``;
    not ``{"max_new_tokens": 128}``, nor ``{"tokenizer": "bert"}``)."""
    unescaped = _ESCAPED_QUOTE.sub(r"\1", given) if "\\" in given else given
    if unescaped.endswith(('":', "':")):
        return _secret_quoted(_last_name(unescaped[:-1]), following)
    # A header or flag after "=" names a credential strongly (X-Api-Key, Authorization,
    # PRIVATE-TOKEN), as an unquoted name:value does: what a flag gives is often a
    # "name: value" of ordinary settings (--sort=key: asc, --labels=auth: enabled).
    bare = given.strip(_QUOTES)
    if bare.lower() == "bearer" or _strong_name(bare.rstrip(":").lstrip("-")):
        return _secret_before(given, following)
    return False


def _secret_setting(setting: str, before: str, following: str) -> bool:
    """Whether the ``key=value`` ``setting`` names a credential: its key, or any key of a
    nested setting (``--conf=spark.hadoop.fs.s3a.secret.key=...``, ``--set=db.password=...``)
    followed by a value. ``before`` is the setting before it and ``following`` the one
    after it: libpq allows ``password = x``, where the key or the value stands apart
    (``--conf=spark.x.password= hunter2``)."""
    keys = setting.split("=")
    key = keys[0] or before
    if _secret_key(key):
        return True
    if len(keys) < 3 or not _may_name_secret(setting):
        return False
    # Every key but the first that a value follows (not base64 padding: "abc=="; the
    # last key's value may stand apart, in the setting after it), but one naming where
    # a credential is kept, not the credential ("spark.authenticate.secret.file",
    # "...aws.credentials.provider").
    last = len(keys) - 2
    nested = {
        keys[i]
        for i in range(1, len(keys) - 1)
        if keys[i + 1] and keys[i].rpartition(".")[2].lower() not in _REFERENCES
    }
    if any(_secret_key(nested_key) for nested_key in nested):
        return True
    # The last key's value standing apart (--conf=spark.x.password= hunter2) counts for a
    # key naming a credential strongly only: "--set=key= v2" sets a key, not a password.
    detached = keys[last] if last >= 1 and not keys[-1] and following else ""
    return (
        bool(detached)
        and detached.rpartition(".")[2].lower() not in _REFERENCES
        and (_strong_name(detached))
    )


# The last segment of a nested key naming a reference to a credential, not one.
_REFERENCES = frozenset({"file", "path", "provider", "dir", "location"})


# What a header or a JSON object puts around a name and its value ({"api_key":"..."}).
_JSON = "{}[]\"',"
# The names that mark a name:value as a credential: a word that is one of these, or two
# words side by side that make one ("api"+"key", "access"+"key"). Not the weaker words a
# key=value or a flag is read by ("auth", "pass", "pw", "sig", "key", "signature",
# "cookie"), nor a word merely containing one ("tokenizer", "max_new_tokens"): a
# host:port ("auth-service:8080"), a module:attribute ("auth.main:app") and a label
# ("auth:on") are written the same way.
_STRONG_NAMES = frozenset({
    "password", "passwd", "passphrase", "passcode", "secret", "token", "credential",
    "credentials", "authorization", "apikey", "accesskey", "privatekey", "accountkey",
    "signingkey", "encryptionkey", "masterkey", "hmackey", "sshkey", "clientkey",
    "licensekey",
})  # fmt: skip


def _strong_name(name: str) -> bool:
    """Whether a word of ``name``, or two side by side, is one of :data:`_STRONG_NAMES`."""
    words = [word.lower() for word in _WORDS.findall(name)]
    return not _STRONG_NAMES.isdisjoint(words) or any(
        a + b in _STRONG_NAMES for a, b in itertools.pairwise(words)
    )


def _secret_pair(setting: str) -> bool:
    """Whether ``setting`` holds ``name:value`` with no space after the ``:`` and a name
    naming a credential strongly (see :data:`_STRONG_NAMES`): a header
    (``X-Api-Key:...``, ``Authorization:Bearer``, ``X-Auth-Token:abc``) or compact JSON
    (``{"api_key":"..."}``, nested keys too). Each ``=``-separated part is read apart
    (``--header=X-Api-Key:...``). The first name of a part is read, then only quoted
    ones (JSON keys), so a ``:``-separated list (``core:auth:billing``) is read by its
    first entry. Not a credential: a name holding ``/`` (a path, ``PATH``'s entries) or,
    unquoted, ``.`` (``auth.main:app``); a value starting ``//`` (a URL's,
    ``https://host:8443/``); an unquoted value of digits only (a port: so
    ``password:123456`` is not caught); a quoted name whose value is not a quoted
    string (``{"token":3}``). A quoted name before a quoted string is read by
    :func:`_secret_quoted` (``{"pwd":"x"}``); quotes escaped with backslashes count."""
    if not _may_name_secret(setting):
        return False
    # Quotes escaped in a shell or a JSON string ({\"api_key\":\"...\"}) read as quotes.
    setting = _ESCAPED_QUOTE.sub(r"\1", setting)
    for part in setting.split("="):
        pieces = part.split(":")
        for index in range(len(pieces) - 1):
            name, following = pieces[index], pieces[index + 1]
            quoted = name.endswith(("'", '"'))
            if index and not quoted:
                continue
            bare = name.strip(_JSON)
            if "/" in bare or following.startswith("//") or not following.strip(_JSON):
                continue
            if quoted:
                if _secret_quoted(bare, following):
                    return True
                continue
            if "." in bare or ascii_digits(following.strip(_JSON)):
                continue
            if _strong_name(bare):
                return True
    return False


# Backslashes before a quote: an escaped quote (\" in a shell, \\\" in a JSON string). The
# lookbehind starts a run only at its first backslash: without it each position of a long
# run started a match that scanned to its end (a 128 KiB run of backslashes: 80 s).
_ESCAPED_QUOTE = re.compile(r"(?<!\\)\\+([\"'])")
# Words holding "token" that name no credential, in a quoted JSON name.
_TOKENIZER = re.compile("tokenizers?", re.IGNORECASE)


def _secret_quoted(name: str, value: str) -> bool:
    """Whether the quoted JSON name ``name`` (quotes stripped) and ``value`` after its
    ``:`` are a credential: ``value`` is a quoted string and ``name`` names a credential by
    the whole vocabulary of a ``key=value`` (:func:`_secret_key`: ``pwd``, ``pass``,
    ``auth``, ``sig``, ``key``, ``signature``, ``pad_token``...; but not ``tokenizer``)."""
    if not value.lstrip("\\").startswith(('"', "'")) or not _may_name_secret(name):
        return False
    return _secret_key(_TOKENIZER.sub("", name))


# How a flag read by _user_password starts.
_FLAG_HEADS = frozenset({"-u", "-U", "--"})
# Flags that give a user name, and with it curl's password: -u user:password.
_USER_FLAGS = frozenset({"-u", "--user", "--proxy-user", "-U"})
_USER_EQUALS = ("--user=", "--proxy-user=")


def _user_password(setting: str, following: str) -> bool:
    """Whether ``setting`` is a user flag giving ``user:password`` (curl's ``-u``,
    ``--user``, ``--proxy-user``, ``-U``; glued ``-uuser:password`` or ``--user=...``);
    not ``uid:gid`` (``docker -u 1000:1000``), nor a URL (``-u https://host``)."""
    bare = setting.strip(_QUOTES)
    if bare in _USER_FLAGS:
        credentials = following.strip(_QUOTES)
    elif bare.startswith(_USER_EQUALS):
        credentials = bare.partition("=")[2]
    elif bare[:2] in ("-u", "-U") and len(bare) > 2 and bare[2] != "-" and "=" not in bare:
        credentials = bare[2:]
    else:
        return False
    user, colon, password = credentials.partition(":")
    return (
        bool(colon and password)
        and not credentials.startswith("-")
        and not password.startswith("//")
        and not (ascii_digits(user) and ascii_digits(password))
    )


# A compiler's flags that start with -p (CFLAGS, LDFLAGS), not a glued password.
_P_FLAGS = frozenset({"-pthread", "-pthreads", "-pg", "-pie", "-pipe", "-pedantic"})
# A single-dash long flag (Go's flag package, ffmpeg, consul): lower-case letters, "_"
# and "-" after the dash, its value apart; or also digits, then "=" or ":" and its value.
_LONG_FLAG = re.compile(r"-[a-z][a-z_-]*")
_LONG_FLAG_SET = re.compile(r"-[a-z][a-z0-9_-]*[=:]")


def _value_argument(following: str) -> bool:
    """Whether ``following``, the argument after a flag, is a value (not another flag)."""
    bare = following.strip(_QUOTES)
    return bool(bare) and not bare.startswith("-")


def glued_password(setting: str, following: str = "") -> bool:
    """Whether ``setting`` is mysql's glued password (``-pHunter2``): ``-p`` and a value
    that is not a port (``-p8080``), a flag, a compiler's (``-pthread``), a path
    (``-p/data``), nor a single-dash long flag: lower-case letters then ``=`` or ``:``
    (``-project=churn``, ``-pno:cacheprovider``; a password holding them later is one:
    ``-pq8Xz/abc+Def=``, ``-pAbC=dEf``), or lower-case letters alone before a value
    (``-profile prod``, ``-port 8080``, ``-pix_fmt yuv420p``; ``following`` is the
    argument after it). It is one only with a user flag giving a user in the same value
    (see :func:`user_given`: ``sudo -u app`` alone gives none to ``cp -pR``)."""
    bare = setting.strip(_QUOTES)
    return (
        bare.startswith("-p")
        and len(bare) > 2
        and not ascii_digits(bare[2])
        and bare[2] not in "-=/"
        and _LONG_FLAG_SET.match(bare) is None
        and not (_LONG_FLAG.fullmatch(bare) and _value_argument(following))
        and bare not in _P_FLAGS
        and not bare.startswith("-pedantic")
    )


# What a script or a path after python's -u looks like (python -u train.py), not a user.
_SCRIPTS = (".py", ".pyc", ".pyz", ".sh", ".bash", ".zsh", ".pl", ".rb", ".js", ".jar", ".ipynb")


def _user_value(user: str, *, apart: bool) -> bool:
    """Whether ``user``, given after ``-u`` or ``--user``, is a user name: not a flag, not
    the end of a shell command (``set -u;``); given ``apart`` (``-u train.py``), not a file
    either (a script ``*.py``, ``*.sh``..., a path holding ``/``). ``john.doe`` is one."""
    if not user or user.startswith("-") or any(c in user for c in ";|&"):
        return False
    return not (apart and ("/" in user or user.lower().endswith(_SCRIPTS)))


# Commands that run another as a user (``sudo -u app CMD``, ``docker exec -u app CTR CMD``):
# the user they are given is the account CMD runs as, not a user flag of CMD's.
_RUNNERS = frozenset({"sudo", "su", "runuser", "doas", "exec", "run"})
# The commands of mysql's family (mysql, mysqldump, mysqladmin, mariadb, mariadb-dump...):
# run as a user, they log in as that user, so a runner's user is theirs.
_MYSQL = ("mysql", "mariadb")
# A glued -p of one to four letters: short flags after -p (cp -pR, perl -pi, ls -pla,
# install -pD) once a runner gave the only user.
_FLAG_CLUSTER = re.compile(r"-p[A-Za-z]{1,4}")


def _gives_user(word: str, following: str) -> bool:
    """Whether ``word`` (``following`` after it) is a user flag giving a user."""
    if word in ("-u", "--user"):
        return _user_value(following, apart=True)
    if word.startswith("--user="):
        return _user_value(word[len("--user=") :], apart=False)
    return (
        word.startswith("-u")
        and word != "-user"
        and not (_LONG_FLAG.fullmatch(word) and _value_argument(following))
        and _user_value(word[2:], apart=False)
    )


def user_given(text: str) -> bool:
    """Whether the command line ``text`` has a user flag with a user: glued ``-uroot``,
    ``--user=root``, or ``-u root`` / ``--user root`` (not ``-u`` before another flag,
    ``set -u;``, ``python -u train.py``, nor find's ``-user``). A glued ``-uNAME`` before an
    argument that is not a flag is a single-dash long flag and its value
    (``-update-interval 5m``, ``-user_agent x``, ``-use_wallclock_as_timestamps 1``).

    A user given to a command that runs another (``sudo``, ``su``, ``runuser``, ``doas``,
    ``docker exec``/``run``) counts only when a command of mysql's family is on the line
    (it logs in as that user: ``sudo -u app mysql -pHunter2``) or a glued ``-p`` on it is
    more than one to four letters (``sudo -u app tool -pHunter2``): after ``sudo -u app``,
    ``cp -pR``, ``perl -pi``, ``ls -pla`` and ``install -pD`` are short flags."""
    words = [word.strip(_QUOTES) for word in text.split()]
    command = ""  # the last word that is not a flag: the command a flag after it is given to
    by_runner = False
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if _gives_user(word, following):
            if command.rpartition("/")[2] not in _RUNNERS:
                return True
            by_runner = True
        elif word and not word.startswith("-"):
            command = word
    if not by_runner:
        return False
    return any(word.rpartition("/")[2].startswith(_MYSQL) for word in words) or any(
        glued_password(word, words[index + 1] if index + 1 < len(words) else "")
        and _FLAG_CLUSTER.fullmatch(word) is None
        for index, word in enumerate(words)
    )


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
    where a key (any of ``--conf=a.secret.key=v``) has a word naming a credential
    (``password``, ``PWD``, ``pw``, ``AccountKey``, ``SharedAccessSignature``, ``sig``,
    ``api_key``, ``token``, ``signing_key``, ...), the same words as a command-line flag or
    a header before its value (``--password hunter2``, ``Authorization: Basic dXNl...``) or
    strongly (``password``, ``token``, ``api_key``..., not ``auth`` or ``tokenizer``) as an
    unquoted name before ``:`` and a value that is not a port (``X-Api-Key:abc``), any of
    them but ``tokenizer`` as a quoted JSON name before a quoted string
    (``{"api_key":"abc"}``, ``{"pwd":"x"}``, escaped quotes too), a user flag giving
    ``user:password`` (``-u admin:hunter2``, not ``-u 1000:1000``), a glued ``-pPASSWORD``
    with a user flag giving a user (``-uroot -pHunter2``; not ``tar -u -pf``, nor a
    single-dash long flag: ``-u app -- srv -port 8080``, nor one to four letters when only
    a command runner gives a user: ``sudo -u app cp -pR``), or a ``Bearer`` token. What a
    ``--flag=`` gives is read as if given alone: ``--header=X-Api-Key: abc``,
    ``--config={"api_key": "abc"}`` and ``--conf=a.password= x`` are refused. So is a
    value holding a PEM private key (``-----BEGIN RSA PRIVATE KEY-----``, any kind; not a
    certificate) or a JSON Web Token (``eyJhbGci....eyJzdWIi....sig``), whatever its name.

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
    >>> is_secret("SPARK_ARGS", "--conf=spark.hadoop.fs.s3a.secret.key=AKIA...")
    True
    >>> is_secret("HPS", '{"api_key":"sk-live-abc","epochs":3}'), is_secret("HPS", '{"epochs":3}')
    (True, False)
    >>> is_secret("CURL_ARGS", "-u admin:hunter2 https://x"), is_secret("ARGS", "-u 1000 -p 8080")
    (True, False)
    >>> is_secret("MY_VAR", "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk...")
    True
    >>> is_secret("MY_VAR", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
    True
    >>> is_secret("MY_VAR", "-----BEGIN CERTIFICATE-----"), is_secret("MY_VAR", "eyJ.foo")
    (False, False)

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
