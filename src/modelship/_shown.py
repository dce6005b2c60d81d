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

import re
import reprlib

__all__ = ["SHOWN", "brief", "hide_credentials", "printable"]

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


# Where a URL starts: a scheme at the start of a run of scheme characters (the lookbehind
# keeps "a.a.a.a" from starting a search at every dot: one search per run, linear).
_SCHEME = re.compile(r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://")
# What ends a URL in a message: white space, quotes, brackets and list separators.
_URL_END = re.compile(r"[\s'\"<>(){},;|`]")
# An authority without user information: a host and a port of digits.
_HOST_PORT = re.compile(r"[^:@]*:[0-9]*")


def _userinfo_end(url: str) -> int:
    """Where the user information of ``url`` (the text after ``scheme://``) ends: the index
    of its ``@``, or -1 when it has none.

    ``user:pass@host``: the last ``@`` before the first ``/`` (a password may hold ``@``:
    URL parsers split at the last one). ``user:pa/ss@host``: a raw ``/`` in a password, as
    people write them: the first ``@`` when the text before the first ``/`` has a ``:``
    that is not a port. Anything else (``host:8443/models@v2``, ``[::1]:5000/a@b``,
    ``bucket/models@v2``) has none.
    """
    slash = len(url)
    for stop in "/?#":
        found = url.find(stop)
        if found != -1:
            slash = min(slash, found)
    head = url[:slash]
    at = head.rfind("@")
    if at != -1:
        return at
    if ":" in head and not head.startswith("[") and not _HOST_PORT.fullmatch(head):
        return url.find("@", slash)
    return -1


def hide_credentials(text: str, mask: str = "***") -> str:
    """``text`` with the user information of every URL in it replaced by ``mask``.

    Registry and API server URLs reach error messages, ``repr`` and CI logs; a password or
    token given in one (``https://ci:s3cret@host/models``) must not. The whole user
    information goes, name included: a token is often the user name
    (``https://TOKEN:x-oauth-basic@github.com``). The URL itself keeps working: only what
    is shown changes. Linear in the length of ``text``.

    Examples
    --------
    >>> hide_credentials("reading failed on https://ci-user:Pa55/w0rd@models.example.com/r")
    'reading failed on https://***@models.example.com/r'
    >>> hide_credentials("https://ghp_abc123@github.com/org/repo and s3://bucket/models@v2")
    'https://***@github.com/org/repo and s3://bucket/models@v2'
    >>> hide_credentials("https://ci:p@ss@host/r, https://host:8443/models/fraud@v2")
    'https://***@host/r, https://host:8443/models/fraud@v2'
    """
    out: list[str] = []
    position = 0
    while (scheme := _SCHEME.search(text, position)) is not None:
        start = scheme.end()
        end_match = _URL_END.search(text, start)
        end = len(text) if end_match is None else end_match.start()
        at = _userinfo_end(text[start:end])
        out.append(text[position:start])
        if at != -1:
            out.append(mask)
            start += at
        out.append(text[start:end])
        position = end  # the next URL starts after this one ends: each character read once
    out.append(text[position:])
    return "".join(out)
