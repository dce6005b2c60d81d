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


# The user information of a URL: ``user:password@`` (a password may hold a raw "/", as
# people write them) or a lone ``token@`` (a GitHub token is given as the user name). A
# path's "@" (``s3://bucket/models@v2``) follows a "/" with no ":" before it: not matched.
_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)(?:([^\s@/:]*):[^\s@]*|[^\s@/:]+)@")


def hide_credentials(text: str, mask: str = "***") -> str:
    """``text`` with the password, or the lone token, of every URL in it replaced by ``mask``.

    Registry and API server URLs reach error messages, ``repr`` and CI logs; a password or
    token given in one (``https://ci:s3cret@host/models``) must not. The user name of a
    ``user:password`` pair stays, to tell accounts apart; a lone name before ``@`` is
    masked, as it is often a token. The URL itself keeps working: only what is shown
    changes.

    Examples
    --------
    >>> hide_credentials("reading failed on https://ci-user:Pa55/w0rd@models.example.com/r")
    'reading failed on https://ci-user:***@models.example.com/r'
    >>> hide_credentials("https://ghp_abc123@github.com/org/repo and s3://bucket/models@v2")
    'https://***@github.com/org/repo and s3://bucket/models@v2'
    >>> hide_credentials("file:///tmp/a:b@c")
    'file:///tmp/a:b@c'
    """

    def masked(match: re.Match[str]) -> str:
        user = match.group(2)
        return f"{match.group(1)}{mask}@" if user is None else f"{match.group(1)}{user}:{mask}@"

    return _CREDENTIALS.sub(masked, text)
