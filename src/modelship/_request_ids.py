"""Request ids, one rule for every answer a deployment makes: the model server's and the
local deployer's router's own (a leaf: the standard library only, so the router's process
does not load the server's ASGI stack for it).

A client's ``X-Request-ID`` is echoed when it can be a header value (printable ASCII, 1 to
128 characters); otherwise an id is made: 64 random bits of the maker's own, ``-``, and a
counter. No process id: it is 1 in every container, and replicas of a version, whose
prediction logs are read together, must not make the same ids (24 random bits did: 30,000
servers made 33 ids twice). A thousand makers share a prefix with a chance of 3e-14.

Examples
--------
>>> ids = RequestIds()
>>> ids.of([(b"x-request-id", b"order-17")])
'order-17'
>>> made = ids.of([(b"x-request-id", b"caf\\xc3\\xa9")])  # not ASCII: one is made
>>> len(made.split("-")[0]), made.split("-")[1]
(16, '1')
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from typing import Any

__all__ = ["RequestIds", "usable_request_id"]


def usable_request_id(value: Any) -> bool:
    """Whether ``value`` is echoed as a request id: text of printable ASCII, 1 to 128
    characters.

    Examples
    --------
    >>> usable_request_id("order-17"), usable_request_id(""), usable_request_id("x" * 129)
    (True, False, False)
    >>> usable_request_id("café"), usable_request_id(17)
    (False, False)
    """
    return (
        isinstance(value, str) and 0 < len(value) <= 128 and value.isascii() and value.isprintable()
    )


class RequestIds:
    """The ids one server or router makes: its own 64 random bits, then a count.

    Examples
    --------
    >>> ids = RequestIds()
    >>> first, second = ids.made(), ids.made()
    >>> first.split("-")[0] == second.split("-")[0], second.split("-")[1]
    (True, '2')
    """

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def made(self) -> str:
        """A new id: this maker's prefix, ``-`` and the next count."""
        return f"{self._prefix}-{next(self._count)}"

    def of(self, headers: Iterable[tuple[bytes, bytes]] | None) -> str:
        """The id of a request with these header fields (names lower-cased, as ASGI and
        the router give them): its first ``X-Request-ID`` when it is echoed
        (:func:`usable_request_id`; a later one does not count), else a made one (also for
        no fields: a head that could not be read)."""
        for key, value in headers or ():
            if key == b"x-request-id":
                given = value.decode("latin-1")
                if usable_request_id(given):
                    return given
                break
        return self.made()
