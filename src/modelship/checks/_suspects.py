"""What makes a categorical column no set of categories to drift checks: date text, or
values nearly all distinct (an identifier). Shared by the drift check, which reports such
a column untested, and profiles, which keep no values of an identifier column."""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "DATE_LIKE_SAMPLE",
    "ID_DISTINCT_SHARE",
    "ID_MIN_VALUES",
    "is_date_text",
    "looks_like_identifier",
]

ID_DISTINCT_SHARE = 0.95
"""A categorical reference column with at least ``ID_MIN_VALUES`` values of which this
share or more are distinct looks like an identifier: it is not tested, and warns."""

ID_MIN_VALUES = 50
"""Fewest present reference values for the identifier rule: below it, all distinct is
what any small sample of a real categorical column looks like."""

DATE_LIKE_SAMPLE = 20  # labels looked at to call a text column date-like


# A date and a time of day as NumPy reads them, each part as long as NumPy takes it: what
# follows is what NumPy reads as a time zone. With anything there, NumPy warns (a
# UserWarning, a DeprecationWarning before NumPy 2), even before it finds the text is no
# zone; so the zone is read here and NumPy is given the rest. Silencing the warning
# instead (warnings.catch_warnings) would change the filters of every thread.
_DATE_TIME = re.compile(
    r"[0-9]+-[0-9]{2}-[0-9]{2}[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{0,18})?)?)?"
)
# The zones NumPy accepts after it: Z, or +hh, +hhmm, +hh:mm (hours below 24, minutes
# below 60), then C whitespace (none after a bare +hh), or whitespace alone.
_ZONE = re.compile(
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?[ \t\n\v\f\r]*"
    r"|[+-](?:[01][0-9]|2[0-3])"
)


def is_date_text(label: str) -> bool:
    """Whether ``label`` is a date (and time) NumPy reads, as text.

    Examples
    --------
    >>> is_date_text("2024-03-01T10:00Z"), is_date_text("user-2024")
    (True, False)
    """
    if len(label) < 8 or not label[:4].isdigit() or not any(c in label for c in "-:/"):
        return False
    text = label.replace("/", "-")
    date_time = _DATE_TIME.match(text)
    if date_time is not None:
        if _ZONE.fullmatch(text, date_time.end()) is None:
            return False  # NumPy refuses what follows the time of day
        text = date_time.group()
    try:
        np.datetime64(text)
    except ValueError:
        return False
    return True


def looks_like_identifier(present: int, n_distinct: int) -> bool:
    """Whether a categorical column with ``present`` values, ``n_distinct`` of them
    distinct, looks like an identifier to drift checks (not tested, see
    :data:`ID_DISTINCT_SHARE`).

    Examples
    --------
    >>> looks_like_identifier(1000, 990), looks_like_identifier(1000, 900)
    (True, False)
    """
    return present >= ID_MIN_VALUES and n_distinct >= ID_DISTINCT_SHARE * present
