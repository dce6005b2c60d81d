"""First Wasserstein distance, integrated over quantile levels, and the spread that scales it.

:math:`\\int_0^1 |Q_a(u) - Q_b(u)|\\,du` needs no merge of the two sorted samples, only
how their quantile steps meet (:class:`_Coupling`, which depends on the sizes alone).
"""

from __future__ import annotations

import functools
import math

import attrs
import numpy as np
import numpy.typing as npt

from modelship.checks.stats._columns import FloatArray, Index, dot, sorted_column
from modelship.errors import CheckInputError

__all__ = ["nonzero_std", "population_std", "wasserstein"]


@attrs.frozen(eq=False)
class _Coupling:
    """How the quantile steps of a larger sample (size N) meet those of a smaller (size M).

    On levels ``(i/N, (i+1)/N]`` the larger sample's quantile is its value ``i``. The
    smaller sample's is its value ``take[i]`` on a share ``w_left[i]`` of the unit
    interval and, where its own step ends inside, value ``take[i] + 1 == take[i + 1]`` on
    a share ``w_right[i]``: for the steps listed in ``split``, or for all steps when
    ``split`` is None (most steps split when M is close to N).
    """

    take: Index  # N + 1 indices into the smaller sample; the last is M - 1
    w_left: FloatArray
    split: Index | None
    w_right: FloatArray


@functools.lru_cache(maxsize=1)
def _coupling(big: int, small: int) -> _Coupling:
    # Depends on the sizes only, so a table of many columns of equal lengths builds it
    # once (about 10 ms for a million rows). In units of 1/(N*M): step i spans
    # (i*M, (i+1)*M]; the small sample's step containing the level just above i*M is
    # j = floor(i*M / N), and that step ends (j+1)*N - i*M units later.
    j, rem = np.divmod(np.arange(big, dtype=np.int64) * small, big)
    left_units = np.minimum(big - rem, small)
    scale = float(big) * float(small)
    take = np.append(j, small - 1).astype(np.intp)
    w_left = left_units / scale
    splits = np.flatnonzero(left_units < small).astype(np.intp)
    split = None if 4 * splits.size > big else splits
    w_right = (small - (left_units if split is None else left_units[split])) / scale
    for array in (take, w_left, split, w_right):
        if array is not None:
            array.flags.writeable = False
    return _Coupling(take=take, w_left=w_left, split=split, w_right=w_right)


def wasserstein_sorted(a: FloatArray, b: FloatArray) -> float:
    """:math:`\\int_0^1 |Q_a(u) - Q_b(u)| du`, equal to SciPy's integral of |F_a - F_b|.

    Every term is a non-negative product, so the sum is accurate to a few ulps relative
    even when values of very different magnitudes mix. The work goes in cache-sized
    blocks, so no column-sized temporary is allocated.
    """
    big, small = (a, b) if a.size >= b.size else (b, a)
    coupling = None if a.size == b.size else _coupling(big.size, small.size)
    block = 1 << 18  # 2 MB of float64: fits in cache, few Python-level steps
    gaps = np.empty(min(block, big.size))
    matched = gaps if coupling is None else np.empty(min(block, big.size) + 1)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, big.size, block):
            stop = min(start + block, big.size)
            part = gaps[: stop - start]
            if coupling is None:  # equal sizes: the quantile steps line up
                np.subtract(big[start:stop], small[start:stop], out=part)
                total += _mean_share(np.abs(part, out=part), big.size)
                continue
            pair = np.take(small, coupling.take[start : stop + 1], out=matched[: part.size + 1])
            np.subtract(big[start:stop], pair[:-1], out=part)
            total += dot(np.abs(part, out=part), coupling.w_left[start:stop])
            if coupling.split is None:
                np.subtract(big[start:stop], pair[1:], out=part)
                total += dot(np.abs(part, out=part), coupling.w_right[start:stop])
        if coupling is not None and coupling.split is not None:
            split = coupling.split
            right = np.abs(big[split] - small[coupling.take[split + 1]])
            total += dot(right, coupling.w_right)
    if not math.isfinite(total):
        raise overflow_error()
    return total


def _mean_share(gaps: FloatArray, n: int) -> float:
    """``sum(gaps) / n``, the share of a block of ``n`` equal-weight gaps (``gaps`` >= 0).

    Gaps well inside float64 can sum past its largest value (300 gaps of ~1e307) though
    their mean does not: only then is each gap divided by ``n`` first (in place), which
    changes the last bits, so every other sum stays bit for bit what it was. A gap that
    itself overflowed stays infinite, and the caller reports it.
    """
    total = float(gaps.sum())
    if total != math.inf:
        return total / n
    return float(np.divide(gaps, n, out=gaps).sum())


_STD_BLOCK = 1 << 16


def wasserstein_and_std(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    """``(wasserstein_sorted(a, b), population_std(a))``, the same two numbers.

    For samples of one size whose spread needs no rescaling (the common case) both walk
    ``a`` in the same blocks, small enough to stay in cache between the two, so each
    block of ``a`` is read from memory once, not twice, and the gaps ``|a - b|`` are
    formed in cache before they are summed: the values, the operations and the order of
    the sums are those of the two functions, so the numbers are bit for bit theirs.
    """
    scale = max(abs(a[0]), abs(a[-1]))
    if a.size != b.size or not 2.0**-300 < scale < 2.0**300:
        return wasserstein_sorted(a, b), _population_std(a)
    n = a.size
    centre = float(a[n // 2])  # population_std's centre, its exponent being 0
    block = 1 << 18  # wasserstein_sorted's block, a multiple of population_std's
    gaps = np.empty(min(block, n))
    centred_buffer = np.empty(min(_STD_BLOCK, n))
    distance = total = squares = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, block):
            stop = min(start + block, n)
            part = gaps[: stop - start]
            for low in range(start, stop, _STD_BLOCK):
                high = min(low + _STD_BLOCK, stop)
                centred = centred_buffer[: high - low]
                np.subtract(a[low:high], centre, out=centred)
                total += float(centred.sum())
                squares += dot(centred, centred)
                gap = part[low - start : high - start]
                np.abs(np.subtract(a[low:high], b[low:high], out=gap), out=gap)
            distance += _mean_share(part, n)
    if not math.isfinite(distance):
        raise overflow_error()
    mean = total / n
    std = math.sqrt(max(squares / n - mean * mean, 0.0))
    return distance, nonzero_std(std, float(a[0]), float(a[-1]))


def overflow_error() -> CheckInputError:
    return CheckInputError(
        "the Wasserstein distance overflows float64: values span more than ~1e308; "
        "rescale the column"
    )


def wasserstein(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """First Wasserstein (earth mover's) distance between two samples, in data units.

    Equals ``scipy.stats.wasserstein_distance(a, b)``: the area between the two empirical
    CDFs, computed here as the area between the two quantile functions (the same number).

    Parameters
    ----------
    a, b : array_like
        Reference and current samples, sorted, finite, float64 (see :func:`sorted_finite`).

    Returns
    -------
    float
        The distance, >= 0, in the units of the data.

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not sorted or not finite, or the distance overflows float64.

    Examples
    --------
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    >>> wasserstein([0.0, 1.0], [0.0, 0.5, 1.0])
    0.16666666666666666
    """
    return wasserstein_sorted(sorted_column(a, "a"), sorted_column(b, "b"))


def population_std(a: npt.ArrayLike) -> float:
    """``np.std(a)`` (ddof=0) of a sorted sample, safe from overflow and underflow.

    Wasserstein distances are divided by it (for data and for drift profiles alike).

    Parameters
    ----------
    a : array_like
        A sample, sorted, finite, float64 (see :func:`sorted_finite`).

    Raises
    ------
    EmptyData
        If the sample is empty.
    CheckInputError
        If it is not sorted or not finite, or cannot be read as numbers.

    One pass over blocks that stay in cache: sums of ``x - c`` and ``(x - c)^2`` about the
    median ``c``, which is within one standard deviation of the mean, so subtracting the
    squared mean loses at most a bit. Far from 1, values are first scaled by an exact
    power of two so that squares neither overflow nor vanish.

    Examples
    --------
    >>> from modelship.checks.stats import sorted_finite
    >>> population_std(sorted_finite([1.0, 2.0, 3.0, 4.0]))
    1.118033988749895
    >>> population_std(sorted_finite([1e300, 1e300])), population_std(sorted_finite([0, 5e-324]))
    (0.0, 5e-324)
    """
    # Free for the output of sorted_finite (vouched for), one pass over anything else.
    return _population_std(sorted_column(a, "a"))


_SMALLEST_STD = math.ulp(0.0)  # 5e-324, the smallest positive float64


def nonzero_std(std: float, low: float, high: float) -> float:
    """``std``, the population std of a sample from ``low`` to ``high``, or the smallest
    positive float when it rounded to 0 although the sample is not constant.

    Subnormal values closer than a few steps (``0`` and ``5e-324``) have a std below
    the smallest positive float, which rounds to 0: read as "no spread", a Wasserstein
    distance divided by it is infinite from data and a profile's lower bound of it may
    be 0. The nearest value that says "some spread" is ``5e-324``; a constant sample
    keeps 0.

    Examples
    --------
    >>> nonzero_std(0.0, 0.0, 5e-324), nonzero_std(0.0, 1.0, 1.0), nonzero_std(0.5, 0.0, 1.0)
    (5e-324, 0.0, 0.5)
    """
    return _SMALLEST_STD if std == 0.0 and low != high else std


def _population_std(a: FloatArray) -> float:
    """:func:`population_std` of a sample already checked (see :func:`nonzero_std`)."""
    scale = max(abs(a[0]), abs(a[-1]))
    if scale == 0.0:
        return 0.0
    exponent = 0 if 2.0**-300 < scale < 2.0**300 else math.frexp(scale)[1]
    centre = math.ldexp(float(a[a.size // 2]), -exponent)
    block = _STD_BLOCK
    buffer = np.empty(min(block, a.size))
    total = squares = 0.0
    for start in range(0, a.size, block):
        part = buffer[: min(block, a.size - start)]
        if exponent:
            np.ldexp(a[start : start + block], -exponent, out=part)
            part -= centre
        else:
            np.subtract(a[start : start + block], centre, out=part)
        total += float(part.sum())
        squares += dot(part, part)
    mean = total / a.size
    variance = max(squares / a.size - mean * mean, 0.0)
    return nonzero_std(math.ldexp(math.sqrt(variance), exponent), float(a[0]), float(a[-1]))
