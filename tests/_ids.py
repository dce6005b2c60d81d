"""Test ids that are the same in every process.

pytest-xdist's workers each collect the tests and must agree on every id; an object's
address in its repr (``<object object at 0x7fd1...>``) differs between processes.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable_id(value: object) -> str:
    """``str(value)`` without the object addresses it holds.

    >>> stable_id(object())
    '<object object>'
    >>> stable_id({"k": 1})
    "{'k': 1}"
    """
    return _ADDRESS.sub("", str(value))
