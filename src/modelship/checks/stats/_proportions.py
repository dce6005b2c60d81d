"""Tests on event counts: the pooled two-proportion z-test."""

from __future__ import annotations

import math
import reprlib
import sys
from typing import Any

import numpy as np
from scipy import special

from modelship._params import Interval
from modelship.errors import CheckInputError, EmptyData

__all__ = ["two_proportion"]

# What a count is: an integer (NumPy's too, never a bool) >= 0 within float range.
_COUNT = Interval(int, 0, None)


def check_count(name: str, value: Any) -> int:
    """``value`` as a Python int when it is a count, else a :class:`CheckInputError`.

    Counts are data (observed events and trials), refused as data are: a fraction (1.5),
    ``inf`` or NaN, a bool, text, an array or an integer beyond float's range is not one.
    A float holding a whole number is (``y.sum()`` of float 0/1 labels, as read from a
    CSV, is ``np.float64(30.0)``).

    Examples
    --------
    >>> check_count("n1", 10)
    10
    >>> check_count("k1", np.float64(30.0))
    30
    >>> check_count("n1", 1.5)
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: n1=1.5 is not a count: a count is a whole number >= 0 ...
    """
    if type(value) is int and 0 <= value <= sys.float_info.max:
        return value  # the common case, at the cost of one check (twenty columns call it 80 times)
    if (
        isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value).is_integer()
        and 0 <= value <= sys.float_info.max
    ):
        value = int(value)
    if not _COUNT.is_satisfied_by(value):
        raise CheckInputError(
            f"{name}={reprlib.repr(value)} is not a count: a count is a whole number >= 0 "
            "(not a fraction, a bool, text or an array) within float's range"
        )
    return int(value)


def two_proportion(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of ``k1/n1`` against ``k2/n2``: ``(z, two-sided p)``.

    ``z = (k1/n1 - k2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled rate
    ``p = (k1 + k2) / (n1 + n2)``; ``z**2`` is Pearson's chi-squared for the 2x2 table
    without continuity correction. When both rates are 0 or both are 1 the rates are
    equal and the result is ``(0.0, 1.0)``.

    Parameters
    ----------
    k1, n1 : int
        Events and trials in the reference, ``0 <= k1 <= n1``, ``n1 >= 1``.
    k2, n2 : int
        Events and trials in the current sample.

    Returns
    -------
    z : float
        Positive when the reference rate is the higher.
    pvalue : float
        Two-sided normal tail probability.

    Raises
    ------
    EmptyData
        If ``n1`` or ``n2`` is below 1.
    CheckInputError
        If a count is not an int >= 0 (a float, a bool, text, an array, an integer
        beyond float's range) or exceeds its number of trials.

    Examples
    --------
    >>> z, p = two_proportion(30, 100, 45, 100)
    >>> round(z, 4), round(p, 4)
    (-2.1909, 0.0285)
    """
    k1, n1 = check_count("k1", k1), check_count("n1", n1)
    k2, n2 = check_count("k2", k2), check_count("n2", n2)
    if n1 < 1 or n2 < 1:
        raise EmptyData(f"both samples need at least one trial, got n1={n1} and n2={n2}")
    for name, k, n in (("k1", k1, n1), ("k2", k2, n2)):
        if not 0 <= k <= n:
            raise CheckInputError(f"{name}={k} must be between 0 and its trials ({n})")
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return z, min(1.0, float(special.erfc(abs(z) / math.sqrt(2.0))))
