"""Values in error messages: shown, never echoed whole.

A message says what was wrong and what to do; it shows at most :data:`SHOWN` characters
of the value given, computed in bounded time, whatever the value (a YAML alias can expand
300 bytes into megabytes; ``repr`` of an int past 4300 digits raises).

Examples
--------
>>> from modelship._shown import brief
>>> len(brief("x" * 10**6))
100
"""

from __future__ import annotations

import bisect
import builtins
import re
import reprlib
from collections.abc import Callable

__all__ = [
    "SHOWN",
    "ascii_digits",
    "ascii_number",
    "type_name",
    "brief",
    "chain_shows",
    "hide_credentials",
    "printable",
]

#: Characters of a given value an error message shows: a message says what was wrong, it
#: does not echo the input back (300 bytes of YAML aliases expand to megabytes).
SHOWN = 100


class _Repr(reprlib.Repr):
    """``reprlib.Repr`` that cuts bytes before it writes them: reprlib writes the whole
    ``repr`` of a type it does not know, then cuts it (100 MB of bytes took 0.4 s and
    381 MiB to show 100 characters)."""

    def repr_bytes(self, value: bytes, level: int) -> str:
        return self._cut(value)

    def repr_bytearray(self, value: bytearray, level: int) -> str:
        return self._cut(value)

    def _cut(self, value: bytes | bytearray) -> str:
        text = repr(value[: self.maxother])
        if len(value) > self.maxother or len(text) > self.maxother:
            return text[: max(0, self.maxother - 3)] + "..."
        return text


_REPR = _Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6


def brief(value: object) -> str:
    """``repr(value)`` cut to at most :data:`SHOWN` characters, computed in bounded time.

    Examples
    --------
    >>> from modelship._shown import brief
    >>> brief([[1] * 1000] * 1000)
    '[[1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1...'
    >>> brief(10**5000)   # repr() itself refuses ints past 4300 digits
    '<int>'
    >>> brief(b"abc"), len(brief(bytearray(10**8)))   # bytes are cut before repr()
    ("b'abc'", 100)
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # any repr may fail (an int past 4300 digits, a broken __repr__)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def type_name(kind: type) -> str:
    """``kind`` as a message names it: a builtin by its name, any other type with its
    module (NumPy's ``bool_`` as ``numpy.bool`` or, before NumPy 2, ``numpy.bool_``, never
    as Python's ``bool`` it is not; ``redis.exceptions.ConnectionError``, not the builtin of
    that name).

    Examples
    --------
    >>> import numpy as np
    >>> type_name(bool), type_name(np.float64), type_name(KeyError)
    ('bool', 'numpy.float64', 'KeyError')
    """
    return (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )


def printable(text: str) -> str:
    """``text`` safe to print on a terminal line: characters that are not printable are
    written as Python escapes.

    Control characters (an ESC that moves the cursor and overwrites a ``FAIL`` with a
    ``PASS``, a tab or newline that forges columns and rows), format characters (a
    right-to-left override), lone surrogates (which no encoder takes) and unassigned code
    points come from data: names, reasons, versions. Letters of every script stay as they
    are.

    Examples
    --------
    >>> printable("ok")
    'ok'
    >>> print(printable("\\x1b[2KPASS\\tall good\\n"))
    \\x1b[2KPASS\\tall good\\n
    >>> printable("Straße ☃")
    'Straße ☃'
    """
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits, ``0`` to ``9``: the one test for a
    number read from outside (a header, a port, a file or process name, a probe's output).

    ``str.isdigit`` alone also takes "²", "³" and "¹" (Latin-1, which HTTP headers decode
    to) and the digits of other scripts, which ``int()`` refuses (``int("²")`` raises
    ``ValueError``) or reads as a number no port or length is written in.

    Examples
    --------
    >>> from modelship._shown import ascii_digits
    >>> ascii_digits("8443"), ascii_digits("0042")
    (True, True)
    >>> "\u00b2".isdigit(), ascii_digits("\u00b2"), ascii_digits("\u0663")
    (True, False, False)
    >>> ascii_digits(""), ascii_digits("-1"), ascii_digits(" 12"), ascii_digits("1.5")
    (False, False, False, False)
    """
    return text.isascii() and text.isdigit()


def ascii_number(text: str, max_digits: int) -> int | None:
    """``text`` as a number when it is ASCII digits (:func:`ascii_digits`) with at most
    ``max_digits`` of them after its leading zeros; else None.

    The bound goes before ``int()``: text read from outside may hold any number of digits,
    and ``int()`` of more than 4,300 raises ``ValueError``.

    Examples
    --------
    >>> from modelship._shown import ascii_number
    >>> ascii_number("0042", 2), ascii_number("123", 2), ascii_number("\u00b2", 2)
    (42, None, None)
    >>> ascii_number("0" * 5000 + "7", 1), ascii_number("9" * 5000, 10)
    (7, None)
    """
    if not ascii_digits(text):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= max_digits else None


# Where a URL starts: a scheme at the start of a run of scheme characters (the lookbehind
# keeps "a.a.a.a" from starting a search at every dot: one search per run, linear).
_SCHEME = re.compile(r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://")
# Where the authority after "scheme://" ends (a password may hold any other character).
_AUTHORITY_END = re.compile(r"[/?#\s]")
# "name@sha256:..." after "scheme://" is an image digest, not user information.
_DIGESTS = ("sha256:", "sha384:", "sha512:")


# A query parameter whose name says it holds a secret, up to its value: the value goes.
_SECRET_QUERY = re.compile(
    r"([?&;](?:[A-Za-z0-9_.-]*?(?:token|secret|passw(?:or)?d|signature|credential|apikey)"
    r"|(?:[A-Za-z0-9_.-]*[_.-])?(?:key|sig))=)[^&;#\s]+",
    re.IGNORECASE,
)


def hide_credentials(text: str, mask: str = "***") -> str:
    """``text`` with the user information of every URL in it replaced by ``mask``.

    Registry and API server URLs reach error messages, ``repr`` and CI logs; a password or
    token given in one (``https://ci:s3cret@host/models``) must not. The whole user
    information goes, name included: a token is often the user name
    (``https://TOKEN:x-oauth-basic@github.com``). Read as URL parsers read it, the user
    information ends at the last ``@`` before the first ``/``, ``?``, ``#`` or space, so a
    password may hold any other character; a raw ``/``, ``?`` or ``#`` in a password, as
    people write them (``user:pa/ss@host``, ``user:pa#ss@host``), is caught too when a ``:``
    comes before it and the ``@`` follows in the same word: in the same path segment when
    only digits (a port) come between the ``:`` and the ``/``, ``?`` or ``#``, and after a
    ``?`` or ``#`` only with no ``=`` or ``&`` before the ``@``
    (``https://host:8443/fraud@v2`` is shown as ``https://***@v2`` for that reason;
    ``host:8443/models/fraud@v2``, ``host:8443?owner=ana@example.com``, an IPv6 host, and
    ``s3://bucket/models@v2`` are left alone), after any number of ``/`` otherwise (an AWS
    secret key: ``s3://AKIA:wJal/K7MD/bPxR@bucket`` is shown as ``s3://***@bucket``). URLs
    inside URLs are read too. The URL itself keeps working: only what is shown changes.
    Linear in the length of ``text``.

    Examples
    --------
    >>> hide_credentials("reading failed on https://ci-user:Pa55/w0rd@models.example.com/r")
    'reading failed on https://***@models.example.com/r'
    >>> hide_credentials("https://ghp_abc123@github.com/org/repo and s3://bucket/models@v2")
    'https://***@github.com/org/repo and s3://bucket/models@v2'
    >>> hide_credentials("postgres://app:ab;c,d@db/prod, https://host:8443/models/fraud@v2")
    'postgres://***@db/prod, https://host:8443/models/fraud@v2'
    >>> hide_credentials("s3://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@bucket/r")
    's3://***@bucket/r'
    >>> hide_credentials("https://ci:pa#ss@host/r https://ci:pa?ss@host/r https://h/p?to=a@b")
    'https://***@host/r https://***@host/r https://h/p?to=a@b'

    The values of query parameters that name a secret (``access_token``, ``token``,
    ``sig``, ``X-Amz-Signature``, ``password``, ``api_key``...) go too:

    >>> hide_credentials("gs://bucket/reg?access_token=ya29.SECRET&project=p")
    'gs://bucket/reg?access_token=***&project=p'
    """
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + mask, text)
    # Positions of "@", "/" and white space, found once: each URL then looks up the next
    # one in O(log n), so the text is read a bounded number of times whatever it holds.
    ats = [m.start() for m in re.finditer("@", text)]
    if not ats:
        return text
    slashes = [m.start() for m in re.finditer("/", text)]
    spaces = [m.start() for m in re.finditer(r"\s", text)]
    fields = [m.start() for m in re.finditer("[=&]", text)]

    def next_of(positions: list[int], at_or_after: int) -> int:
        index = bisect.bisect_left(positions, at_or_after)
        return positions[index] if index < len(positions) else len(text)

    out: list[str] = []
    copied = position = 0
    while (scheme := _SCHEME.search(text, position)) is not None:
        start = scheme.end()
        found = _AUTHORITY_END.search(text, start)
        end = len(text) if found is None else found.start()
        head = text[start:end]
        cut = -1
        at = head.rfind("@")
        if at != -1:
            if not head[at + 1 :].startswith(_DIGESTS):
                cut = start + at
        elif ":" in head and not head.startswith("[") and end < len(text) and text[end] in "/?#":
            # user:pa/ss@host (or pa#ss, pa?ss): the next "@" in this word, before any
            # other "/".
            nxt = next_of(ats, end)
            digest = text.startswith(_DIGESTS, nxt + 1)  # registry:5000/img@sha256:...
            # After the ":" a port (digits) may be followed by a path with an "@" in it,
            # so only its first segment is taken for a password; anything else cannot be
            # a port, so the "@" may come after several "/" (an AWS secret key has some).
            # A query or fragment after a port is one too when it has a "=" or "&" before
            # the "@" (host:8443?owner=ana@example.com), as no password this could be.
            port = ascii_digits(head.rpartition(":")[2])
            within = not port or (
                nxt < next_of(slashes, end + 1)
                and (text[end] == "/" or nxt < next_of(fields, end + 1))
            )
            if nxt < next_of(spaces, end) and within and not digest:
                cut = nxt
        if cut == -1:
            position = start  # a URL inside this one's path or query is read too
            continue
        out.append(text[copied:start])
        out.append(mask)
        copied = position = cut
    out.append(text[copied:])
    return "".join(out)


#: How many exceptions of a chain (``__cause__``, ``__context__``, a group's members) are
#: read for a secret before the chain is taken to hold one: a real chain is a few links
#: long, and a very long one (an error chained again on every retry of a loop) must not
#: slow the caller.
MAX_CHAINED = 64

#: The exception-group type whose members are walked: Python 3.11's BaseExceptionGroup.
#: Where there is none (Python 3.10), every exception is looked at for an ``exceptions``
#: tuple instead, which also covers the ``exceptiongroup`` backport's groups.
_GROUPS: tuple[type[BaseException], ...] = tuple(
    group for group in (getattr(builtins, "BaseExceptionGroup", None),) if isinstance(group, type)
) or (BaseException,)


def chain_shows(exc: BaseException, masked: Callable[[str], str] = hide_credentials) -> bool:
    """Whether the message or a note of ``exc``, of an exception it chains (cause,
    context), or of a member of an exception group in it, changes when ``masked`` (by
    default :func:`hide_credentials`): whether chaining ``exc`` would show a secret in a
    traceback. A cycle is read once; more than :data:`MAX_CHAINED` exceptions, or a
    message that cannot be read, count as showing one.

    Examples
    --------
    >>> driver = OSError("no login for postgresql://svc:hunter22@db/models")
    >>> plugin = RuntimeError("could not log in")
    >>> plugin.__cause__ = driver
    >>> chain_shows(plugin), chain_shows(RuntimeError("could not log in"))
    (True, False)
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:  # bounded: each exception once, at most MAX_CHAINED of them
        link = todo.pop()
        if id(link) in seen:
            continue
        if len(seen) >= MAX_CHAINED:
            return True
        seen.add(id(link))
        notes = getattr(link, "__notes__", None)
        try:
            said = [str(link), *(str(note) for note in notes or ())]
        except Exception:  # a __str__ that fails: what it would show cannot be checked
            return True
        if any(masked(text) != text for text in said):
            return True
        todo.extend(e for e in (link.__cause__, link.__context__) if e is not None)
        # An exception group's members print in every traceback, as a cause does.
        members = getattr(link, "exceptions", None)
        if isinstance(link, _GROUPS) and isinstance(members, tuple | list):
            todo.extend(m for m in members if isinstance(m, BaseException))
    return False
