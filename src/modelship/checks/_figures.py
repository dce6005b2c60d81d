"""Figures printed in reasons so that the comparisons they show read true.

A reason that sets a figure beside a limit prints both with the digits it takes for the
printed comparison to be the true one: a p-value of 0.0497 is not "p=0.05 < 0.05", a
missing rate of 50.01% is not "50.0%, above 50.0%", and 1,000,052 bytes are not
"1e+06 > 1e+06". Whole numbers (bytes, counts) print exactly, with thousands separators.

With ``strict``, the printed order (below, equal, above) is the true one; without it,
only the side of a ``>=`` threshold is (a figure equal to its threshold when printed may
still be a little above it).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from decimal import Decimal

MAX_DIGITS = 17  # enough for any two different floats to print differently
_WHOLE_LIMIT = 2.0**53  # whole floats beyond this are not exact integers


def _agrees(shown: float, shown_limit: float, value: float, limit: float, *, strict: bool) -> bool:
    if strict:
        return (shown > shown_limit, shown == shown_limit) == (value > limit, value == limit)
    return (shown >= shown_limit) == (value >= limit)


def compared(
    value: float,
    thresholds: Sequence[float],
    digits: int = 3,
    threshold_digits: int = 3,
    *,
    strict: bool = False,
) -> tuple[str, list[str]]:
    """``value`` and ``thresholds`` as printed in a reason: ``digits`` and
    ``threshold_digits`` significant digits, widened together until each printed value
    compares with each printed threshold as the numbers do (never "p=0.05 < 0.05" for
    p = 0.0497, nor "0.1 < 0.1" for 0.09996). ``digits`` is at least 2.

    Examples
    --------
    >>> from modelship.checks._figures import compared
    >>> compared(0.049742, [0.05], digits=2)
    ('0.0497', ['0.05'])
    >>> compared(0.05, [0.05], digits=2)
    ('0.05', ['0.05'])
    >>> compared(0.0500001, [0.05], digits=2), compared(0.0500001, [0.05], strict=True)
    (('0.05', ['0.05']), ('0.0500001', ['0.05']))
    """
    for t in thresholds:
        if abs(value - t) <= 0.1 * max(abs(value), abs(t)):
            return _widened(value, thresholds, digits, threshold_digits, strict=strict)
    # Two significant digits or more move a number by at most 5%: 10% apart, the printed
    # order is the true one (the common case, formatted once).
    return f"{value:.{digits}g}", [f"{t:.{threshold_digits}g}" for t in thresholds]


def _widened(
    value: float, thresholds: Sequence[float], digits: int, threshold_digits: int, *, strict: bool
) -> tuple[str, list[str]]:
    """:func:`compared` for a value close to a threshold: digits added until the printed
    comparisons are the true ones."""
    for extra in range(MAX_DIGITS):
        shown = f"{value:.{min(digits + extra, MAX_DIGITS)}g}"
        limits = [f"{t:.{min(threshold_digits + extra, MAX_DIGITS)}g}" for t in thresholds]
        if all(
            _agrees(float(shown), float(limit), value, t, strict=strict)
            for limit, t in zip(limits, thresholds, strict=True)
        ):
            return shown, limits
    return repr(value), [repr(t) for t in thresholds]


def percents(
    shares: Sequence[float],
    pairs: Sequence[tuple[int, int]] = ((0, 1),),
    *,
    decimals: int = 0,
    strict: bool = False,
    readable: bool = False,
) -> list[str]:
    """``shares`` as percentages with ``decimals`` decimals, or more until, for each pair
    ``(i, j)``, the printed share ``i`` compares with the printed share ``j`` as the
    numbers do; with ``readable``, also until every share that is not 0 shows a digit
    that is not 0. Shares that 17 decimals do not tell apart (1e-20) print with the
    significant digits they take, still as percentages.

    Examples
    --------
    >>> from modelship.checks._figures import percents
    >>> percents([0.4975, 0.5]), percents([0.5001, 0.5])
    (['49.8%', '50.0%'], ['50%', '50%'])
    >>> percents([0.0, 0.5001, 0.5], [(0, 1), (1, 2)], decimals=1, strict=True)
    ['0.00%', '50.01%', '50.00%']
    >>> percents([1e-5, 0.0], decimals=1, strict=True)
    ['0.001%', '0.000%']
    >>> percents([0.5, 1e-20], decimals=1, readable=True)
    ['50%', '1e-18%']
    """
    for places in range(decimals, decimals + MAX_DIGITS):
        texts = [f"{share:.{places}%}" for share in shares]
        printed = [float(text[:-1]) for text in texts]
        if all(
            _agrees(printed[i], printed[j], shares[i], shares[j], strict=strict) for i, j in pairs
        ) and (
            not readable
            or all(
                share == 0 or any(digit in "123456789" for digit in text)
                for share, text in zip(shares, texts, strict=True)
            )
        ):
            return texts
    return _exact_percents(shares, pairs, strict=strict)


def _exact_percents(
    shares: Sequence[float], pairs: Sequence[tuple[int, int]], *, strict: bool
) -> list[str]:
    """:func:`percents` for shares too close or too small for fixed decimals (1e-20):
    each a percentage with the significant digits it takes, never a bare fraction."""
    if not all(math.isfinite(share) for share in shares):
        return [f"{share:%}" for share in shares]
    with decimal.localcontext(decimal.Context(prec=40)):  # exact for any two floats
        exact = [Decimal(share) * 100 for share in shares]
        for digits in range(1, 41):
            texts = [_significant(value, digits) for value in exact]
            printed = [Decimal(text) for text in texts]
            if all(
                _order(printed[i], printed[j], strict=strict)
                == _order(exact[i], exact[j], strict=strict)
                for i, j in pairs
            ):
                break
    return [f"{text}%" for text in texts]


def _significant(value: Decimal, digits: int) -> str:
    """``value`` with ``digits`` significant digits, its whole part always in full ("50",
    never "5e+1")."""
    whole = value.adjusted() + 1 if value else 0
    return f"{value:.{max(digits, whole)}g}"


def _order(a: Decimal, b: Decimal, *, strict: bool) -> tuple[bool, ...]:
    return (a > b, a == b) if strict else (a >= b,)


def _whole(value: float) -> bool:
    return float(value).is_integer() and abs(value) < _WHOLE_LIMIT


def amount(value: float, digits: int = 4) -> str:
    """A figure as printed on its own: a whole number exactly, with thousands separators,
    any other with ``digits`` significant digits (as many as its whole part takes from
    1,000 up, also with thousands separators).

    Examples
    --------
    >>> from modelship.checks._figures import amount
    >>> amount(1_000_052), amount(1e6), amount(12.34567), amount(1234.5678)
    ('1,000,052', '1,000,000', '12.35', '1,235')
    """
    if _whole(value):
        return f"{int(value):,}"
    if 1000 <= abs(value) < _WHOLE_LIMIT:  # "1,500,001.5", never "1.5e+06"
        return f"{value:,.{max(digits - len(str(int(abs(value)))), 0)}f}"
    return f"{value:.{digits}g}"


def against(value: float, limit: float, digits: int = 4) -> tuple[str, str]:
    """``value`` and ``limit`` as printed side by side (see :func:`amount`), with digits
    added to those that are not whole until the printed order is the true one.

    Examples
    --------
    >>> from modelship.checks._figures import against
    >>> against(1_000_052, 1_000_000)
    ('1,000,052', '1,000,000')
    >>> against(12.34567, 12.345)
    ('12.346', '12.345')
    """
    for extra in range(MAX_DIGITS):
        places = min(digits + extra, MAX_DIGITS)
        texts = amount(value, places), amount(limit, places)
        printed = [float(text.replace(",", "")) for text in texts]
        if _agrees(printed[0], printed[1], value, limit, strict=True):
            return texts
    return repr(value), repr(limit)


def beside(
    values: Sequence[float], limit: float, digits: int = 4, limit_digits: int = 3, *, sign: str = ""
) -> tuple[list[str], str]:
    """``values`` and one ``limit`` as printed side by side: ``digits`` and
    ``limit_digits`` significant digits (``sign="+"`` to sign the values), widened
    together until each printed value is below, equal to or above the printed limit as
    the number is.

    Examples
    --------
    >>> from modelship.checks._figures import beside
    >>> beside([-0.0500004, 0.01], -0.05, sign="+")
    (['-0.0500004', '+0.01'], '-0.05')
    """
    for extra in range(MAX_DIGITS):
        shown = [f"{v:{sign}.{min(digits + extra, MAX_DIGITS)}g}" for v in values]
        shown_limit = f"{limit:.{min(limit_digits + extra, MAX_DIGITS)}g}"
        if all(
            _agrees(float(text), float(shown_limit), v, limit, strict=True)
            for text, v in zip(shown, values, strict=True)
        ):
            return shown, shown_limit
    return [repr(v) for v in values], repr(limit)
