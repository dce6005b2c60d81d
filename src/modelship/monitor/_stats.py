"""Statistics for canary analysis and A/B tests: pure functions over NumPy arrays.

Every function here takes plain numbers or arrays and returns a frozen attrs record; none
reads a metric source or knows about slots. The module imports nothing from modelship but
the exception tree, so it can move next to the checks' statistics unchanged.

* :func:`mann_whitney`: the Mann-Whitney U test (SciPy's ``method="auto"`` choices:
  the exact null distribution when a sample has at most 8 values and there are no ties,
  else the normal approximation with tie and continuity corrections), the Hodges-Lehmann
  shift and its distribution-free confidence interval from the order statistics of the
  pairwise differences. Those order statistics are *selected* from the two sorted samples
  without building the ``n * m`` differences once ``n * m`` is large.
* :func:`welch`: Welch's t-test with the confidence interval of the mean difference.
* :func:`proportion_difference`: difference of two rates with Newcombe's hybrid score
  interval and the pooled z-test.
* :func:`sample_size_means`, :func:`sample_size_proportions`: samples needed per group
  for a minimum detectable effect.
* :func:`msprt`, :class:`SequentialTest`: the mixture sequential probability ratio test
  (normal mixture), whose p-values stay valid however often one looks.
* :func:`sample_ratio_mismatch`: a chi-square goodness-of-fit test of the observed split.

Examples
--------
>>> import numpy as np
>>> from modelship.monitor import mann_whitney
>>> rng = np.random.default_rng(1)
>>> canary = rng.normal(0.25, 0.02, 200)
>>> baseline = rng.normal(0.20, 0.02, 200)
>>> mw = mann_whitney(canary, baseline)
>>> mw.p_value < 1e-6, bool(0.04 < mw.ci_low < mw.shift < mw.ci_high < 0.06)
(True, True)
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import special

from modelship._params import Constraints, Interval, check, check_parameters, validate_params
from modelship.errors import CheckInputError, ConfigError, EmptyData, ModelshipWarning

__all__ = [
    "MannWhitneyResult",
    "ProportionDifference",
    "SampleRatioResult",
    "SampleSize",
    "SequentialResult",
    "SequentialTest",
    "WelchResult",
    "always_valid_p_values",
    "hodges_lehmann",
    "mann_whitney",
    "mann_whitney_min_size",
    "mann_whitney_min_p",
    "msprt",
    "pairwise_difference_quantiles",
    "proportion_difference",
    "sample_ratio_mismatch",
    "sample_size_means",
    "sample_size_proportions",
    "welch",
]

FloatArray = npt.NDArray[np.float64]

# SciPy's mannwhitneyu(method="auto"): exact unless both samples exceed this size.
_MWU_EXACT_MAX = 8
# Up to this many pairwise differences, they are built and partitioned (8 MB); beyond it,
# order statistics are selected from the sorted samples in O((n + m) log) memory.
_MATERIALISE_MAX = 1 << 20
# Pivots drawn per selection round; with the two pivots 3/sqrt(s) apart in rank, one round
# keeps about 20 % of the candidates.
_PIVOT_SAMPLE = 1024
_SELECT_MAX_ROUNDS = 200
# A selection builds and partitions the candidates left once they are this few (or
# 4 (n + m)): below it a round of pivots costs more than it saves.
_SELECT_BUILD_BELOW = 1 << 16


def _numbers(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as float64, or a CheckInputError that names them (``['a']``, ``[10**400]``)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckInputError(f"{name} must be numbers: {exc}") from None


def _as_sample(values: npt.ArrayLike, name: str, *, infinite: bool = False) -> FloatArray:
    """``values`` as a one-dimensional non-empty sample; NaN refused, and infinities
    unless ``infinite`` (the rank statistics take them as the extreme ranks)."""
    array = _numbers(values, name)
    if array.ndim != 1:
        raise CheckInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise EmptyData(f"{name} has no values; a test needs at least one in each sample")
    if np.any(np.isnan(array)) or not (infinite or np.all(np.isfinite(array))):
        raise CheckInputError(
            f"{name} holds NaN{'' if infinite else ' or infinite'} values; drop missing "
            "values first (they are missing, never zeros)"
        )
    return array


# What the public functions' parameters allow, declared beside them (modelship._params).
_UNIT = Interval(float, 0, 1, closed="neither")
_POSITIVE = Interval(float, 0, None, closed="neither")
_FINITE = Interval(float, None, None)
_SIZE = Interval(int, 0, None)
#: mSPRT mixture standard deviation: the effect size you care about, in the metric's units.
#: Its square, the mixture's variance, must be a positive finite float: a tau whose square
#: underflows to 0 or overflows to inf leaves no likelihood ratio to compute (a division by
#: zero, a NaN).
_TAU = Interval(float, math.sqrt(sys.float_info.min), math.sqrt(sys.float_info.max))


# --- Mann-Whitney U and Hodges-Lehmann ----------------------------------------------------


@attrs.frozen
class MannWhitneyResult:
    """The Mann-Whitney U test of ``x`` against ``y`` and the Hodges-Lehmann shift.

    Attributes
    ----------
    statistic : float
        ``U`` of ``x``: the number of pairs with ``x_i > y_j`` plus half the ties (SciPy's
        ``mannwhitneyu(x, y).statistic``).
    p_value : float
        Two-sided p-value.
    method : {"exact", "asymptotic"}
        How the p-value and the interval were computed (SciPy's ``method="auto"`` rule).
    shift : float
        Hodges-Lehmann estimate of the shift of ``x`` relative to ``y``: the median of all
        differences ``x_i - y_j`` (infinite values are ranks: :func:`mann_whitney`).
    ci_low, ci_high : float
        Distribution-free confidence interval of the shift at ``confidence``; ``-inf``
        and ``inf`` when the samples are too small for the level; a bound may also be
        infinite when it is a difference with an infinite value.
    confidence : float
        Level of the interval.
    n_x, n_y : int
        Sample sizes.

    Examples
    --------
    >>> from modelship.monitor import mann_whitney
    >>> mw = mann_whitney([1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 0.6, 0.7, 0.8, 0.9])
    >>> mw.statistic, round(mw.p_value, 4), mw.method
    (25.0, 0.0079, 'exact')
    """

    statistic: float
    p_value: float
    method: Literal["exact", "asymptotic"]
    shift: float
    ci_low: float
    ci_high: float
    confidence: float
    n_x: int
    n_y: int


def _u_statistic(xs: FloatArray, ys: FloatArray) -> float:
    """``#{x_i > y_j} + #{x_i == y_j} / 2`` from sorted samples, in exact integers."""
    left = np.searchsorted(ys, xs, side="left")
    right = np.searchsorted(ys, xs, side="right")
    greater = int(left.sum())
    ties = int((right - left).sum())
    return greater + ties / 2


def _tie_sum(values: FloatArray) -> float:
    """``sum(t**3 - t)`` over the tie groups of sorted ``values``."""
    # A comparison, not np.diff: inf - inf is NaN, and equal infinities are one tie group.
    boundaries = np.flatnonzero(values[1:] != values[:-1]) + 1
    sizes = np.diff(np.concatenate([[0], boundaries, [values.size]])).astype(np.float64)
    return float(np.sum(sizes**3 - sizes))


def _tie_term(xs: FloatArray, ys: FloatArray) -> float:
    """``sum(t**3 - t)`` over the tie groups of the pooled sample."""
    pooled = np.concatenate([xs, ys])
    pooled.sort(kind="mergesort")
    return _tie_sum(pooled)


def _is_exact(n1: int, n2: int, tie_term: float) -> bool:
    """SciPy's ``method="auto"``: exact when a sample has at most 8 values and nothing is
    tied."""
    return (n1 <= _MWU_EXACT_MAX or n2 <= _MWU_EXACT_MAX) and tie_term == 0


def _asymptotic_p(
    n1: int, n2: int, u_max: float, tie_term: float, *, use_continuity: bool
) -> tuple[float, float]:
    """The normal approximation's two-sided p-value of ``u_max`` and the standard
    deviation of ``U`` corrected for ties (``tie_term``)."""
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    numerator = u_max - n1 * n2 / 2 - (0.5 if use_continuity else 0.0)
    # Every value tied (sigma 0): no evidence of a difference, p = 1 (as SciPy).
    p_value = float(min(1.0, 2 * special.ndtr(-numerator / sigma))) if sigma > 0 else 1.0
    return p_value, sigma


def _u_null_cdf(n1: int, n2: int, upto: int) -> FloatArray:
    """``P(U <= u)`` for ``u = 0..upto`` under the null, no ties (exact).

    The counts of U are the coefficients of the Gaussian binomial
    ``prod_{i=1..n1} (1 - q**(n2 + i)) / (1 - q**i)``, truncated at degree ``upto``; each
    factor is one shifted subtraction and one strided cumulative sum. Below 2**53 the
    float arithmetic on these integers is exact.
    """
    small, large = (n1, n2) if n1 <= n2 else (n2, n1)
    size = upto + 1
    counts = np.zeros(size, dtype=np.float64)
    counts[0] = 1.0
    for i in range(1, small + 1):
        shift = large + i
        if shift < size:
            counts[shift:] -= counts[: size - shift].copy()
        pad = (-size) % i
        block = np.concatenate([counts, np.zeros(pad)]).reshape(-1, i)
        counts = np.cumsum(block, axis=0).ravel()[:size]
    total = special.comb(n1 + n2, small, exact=False)
    return np.asarray(np.cumsum(counts) / total, dtype=np.float64)


def mann_whitney_min_p(n_x: int, n_y: int) -> float:
    """Smallest two-sided p-value the Mann-Whitney test can give for these sample sizes.

    Without ties it is ``2 / C(n_x + n_y, n_x)``: every ``x`` above every ``y``. Below the
    sample size where it reaches a level alpha, the test can never reject, so a canary
    analysis refuses to judge rather than call the canary as good as its baseline.

    Parameters
    ----------
    n_x, n_y : int
        Sample sizes, at least 1 each.

    Returns
    -------
    float

    Raises
    ------
    CheckInputError
        If a size is not an int.
    EmptyData
        If a size is below 1.

    Examples
    --------
    >>> from modelship.monitor import mann_whitney_min_p
    >>> round(mann_whitney_min_p(3, 3), 3), round(mann_whitney_min_p(4, 4), 4)
    (0.1, 0.0286)
    """
    for size, name in ((n_x, "n_x"), (n_y, "n_y")):
        if not _SIZE.is_satisfied_by(size):
            raise CheckInputError(
                f"{name}={size!r} is not a sample size; a sample size is an int >= 1"
            )
    if n_x < 1 or n_y < 1:
        raise EmptyData(f"both samples need at least one value, got {n_x} and {n_y}")
    if n_x + n_y <= 1000:  # exact big-integer arithmetic while it is cheap
        return min(1.0, 2 / math.comb(n_x + n_y, n_x))
    # Floats, as NumPy would convert them, also for sizes past int64.
    big, nx, ny = float(n_x + n_y + 1), float(n_x + 1), float(n_y + 1)
    log_splits = special.gammaln(big) - special.gammaln(nx) - special.gammaln(ny)
    return float(min(1.0, math.exp(math.log(2) - log_splits)))


@validate_params(use_continuity=bool)
def mann_whitney_reachable_p(
    x: npt.ArrayLike, y: npt.ArrayLike, *, use_continuity: bool = True
) -> float:
    """Smallest two-sided p-value :func:`mann_whitney` gives for samples like ``x``, ``y``.

    Its p-value once every value of one sample lies beyond every value of the other, each
    sample keeping the ties it has, by the method :func:`mann_whitney` uses on ``x`` and
    ``y``: exact, :func:`mann_whitney_min_p` ``(n_x, n_y)``, when nothing is tied and a
    sample has at most 8 values; else the normal approximation at ``U = n_x n_y``, its
    variance corrected for the ties within each sample. One tied value (whole
    milliseconds) is enough for the approximation, whose smallest p-value can be far
    larger: one value against 200 reaches 2/201 exactly but 0.086 approximated. At a
    level ``alpha`` below it the test can never reject. Above it, the shift's
    interval at ``1 - alpha`` is finite when :func:`mann_whitney` uses the same method on
    ``x`` and ``y``: a value tied across the samples makes it use the normal approximation
    there (as SciPy and R do), whose ranks can leave the interval infinite at an ``alpha``
    between this exact p-value and the approximation's.

    Parameters
    ----------
    x, y : array_like
        One-dimensional finite samples.
    use_continuity : bool
        As in :func:`mann_whitney`.

    Returns
    -------
    float

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not one-dimensional, or holds something else than numbers, or NaN
        (infinite values are ranks, as in :func:`mann_whitney`).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.monitor._stats import mann_whitney_reachable_p
    >>> round(mann_whitney_reachable_p([0.5], np.arange(200.0)), 5)  # exact: 2 / 201
    0.00995
    >>> round(mann_whitney_reachable_p([0.5], np.arange(199.0).tolist() + [0.0]), 3)  # a tie
    0.086
    """
    xs = np.sort(_as_sample(x, "x", infinite=True))
    ys = np.sort(_as_sample(y, "y", infinite=True))
    n1, n2 = xs.size, ys.size
    # Once one sample lies beyond the other no value ties across them: the ties left are
    # each sample's own, and they decide the method used there (ties only across the
    # samples leave that arrangement exact).
    within = _tie_sum(xs) + _tie_sum(ys)
    if _is_exact(n1, n2, within):
        return mann_whitney_min_p(n1, n2)
    return _asymptotic_p(n1, n2, n1 * n2, within, use_continuity=use_continuity)[0]


@validate_params(alpha=_UNIT, other=(None, Interval(int, 1, None)))
def mann_whitney_min_size(alpha: float = 0.05, other: int | None = None) -> int:
    """Smallest sample size at which the two-sided Mann-Whitney test can reach ``alpha``.

    Parameters
    ----------
    alpha : float
        Significance level.
    other : int, optional
        Size of the other sample; by default both samples have the returned size.

    Returns
    -------
    int
        ``n`` such that :func:`mann_whitney_min_p` ``(n, other or n) <= alpha`` and not for
        ``n - 1``.

    Raises
    ------
    ConfigError
        If ``alpha`` is not in (0, 1), or no size reaches it against ``other``.

    Examples
    --------
    >>> from modelship.monitor import mann_whitney_min_size
    >>> mann_whitney_min_size(0.05), mann_whitney_min_size(0.01), mann_whitney_min_size(0.05, 1)
    (4, 5, 39)
    """
    alpha = float(alpha)

    def reaches(n: int) -> bool:
        return mann_whitney_min_p(n, other if other is not None else n) <= alpha

    # 2 / C(n + m, n) falls as n grows (C(n + m, n) = C(n - 1 + m, n - 1) * (n + m) / n),
    # so the sizes that reach alpha are all those from the answer on: doubling brackets
    # it and bisection finds it, O(log(1 / alpha)) evaluations where a scan of every size
    # took ~2 / alpha. Mathematically 2 / C(n + m, n) <= 2 / (n + 1) < alpha once
    # n > 2 / alpha; a size past that (or past what a float holds) that still does not
    # reach alpha has met the rounding of the log-gamma arithmetic, and none will. (Past
    # ~1e7 against one value that rounding is as large as one step's change; the answer
    # is then still a size that reaches alpha right after one that does not.)
    low, high = 0, 1  # low does not reach alpha (there is no size 0); high is a candidate
    while not reaches(high):
        if high > min(2 / alpha, 1e300):
            raise ConfigError(f"no sample size reaches alpha={alpha} against {other} values")
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        if reaches(mid):
            high = mid
        else:
            low = mid
    return high


def _exact_mwu(n1: int, n2: int, u_max: float) -> float:
    """SciPy's exact two-sided p-value: ``2 * P(U >= max(U1, U2))``."""
    k = round(n1 * n2 - u_max)  # P(U >= u_max) = P(U <= n1 n2 - u_max) by symmetry
    cdf = _u_null_cdf(n1, n2, k)
    return float(min(1.0, 2.0 * cdf[k]))


def _exact_ci_rank(n1: int, n2: int, alpha: float) -> int:
    """Largest ``k`` with ``P(U <= k - 1) <= alpha / 2`` under the exact null."""
    half = (n1 * n2) // 2
    cdf = _u_null_cdf(n1, n2, half)
    # cdf[k - 1] <= alpha/2  <=>  k - 1 < first index where cdf exceeds alpha/2
    return int(np.searchsorted(cdf, alpha / 2 * (1 + 1e-12), side="right"))


def _asymptotic_ci_rank(n1: int, n2: int, sigma: float, alpha: float) -> int:
    """The normal approximation of the same rank, with the continuity correction."""
    z = float(special.ndtri(1 - alpha / 2))
    return max(0, math.floor(n1 * n2 / 2 + 0.5 - z * sigma))


def _count_less(
    x: FloatArray, yr: FloatArray, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], p: float
) -> npt.NDArray[np.int64]:
    """Per row ``i``, the index of the first ``j`` in ``[lo_i, hi_i)`` with ``x_i - yr_j >= p``.

    Row ``i`` of the implicit matrix ``x_i - yr_j`` is non-decreasing in ``j`` (``yr`` is
    ``y`` reversed) because rounding is monotone, so that index is unique and a binary
    search over the very differences a full materialisation would compute finds it. A
    search of ``x_i - p`` in ``y`` guesses each boundary up to rounding; rows where the
    guess is right (almost all, on continuous data) are settled with one look at its two
    neighbours, and the rest are bisected over their remaining range: at most
    ``2 + ceil(log2(m + 1))`` passes over the rows, however many ``y`` values tie (a tie
    block moves a wrong guess across the whole block, which one step per pass walked).
    """
    m = yr.size
    # #{k: y_k <= x_i - p} differences are >= p (up to rounding): the last ones in the row.
    guess = m - np.searchsorted(yr[::-1], x - p, side="right")
    j = np.clip(guess, lo, hi)
    # The boundary is in [low, high]: below j if the difference before j already reaches p,
    # above j if the one at j does not, else it is j.
    too_high = (j > lo) & ((x - yr[np.maximum(j - 1, 0)]) >= p)
    too_low = (j < hi) & ((x - yr[np.minimum(j, m - 1)]) < p)
    low = np.where(too_low, j + 1, np.where(too_high, lo, j))
    high = np.where(too_high, j - 1, np.where(too_low, hi, j))
    rows = np.flatnonzero(low < high)
    while rows.size:
        mid = (low[rows] + high[rows]) // 2  # < high <= m: a valid column
        reaches = (x[rows] - yr[mid]) >= p
        high[rows] = np.where(reaches, mid, high[rows])
        low[rows] = np.where(reaches, low[rows], mid + 1)
        rows = rows[low[rows] < high[rows]]
    return np.asarray(low, dtype=np.int64)


def _count_at_most(
    x: FloatArray, yr: FloatArray, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], p: float
) -> npt.NDArray[np.int64]:
    """Per row, the index of the first ``j`` in ``[lo_i, hi_i)`` with ``x_i - yr_j > p``."""
    return _count_less(x, yr, lo, hi, float(np.nextafter(p, np.inf)))


def _select_difference(x: FloatArray, y: FloatArray, rank: int) -> float:
    """The ``rank``-th smallest (0-based) of the differences ``x_i - y_j``, both sorted.

    A selection on the implicit sorted matrix: each row keeps a range of candidate
    columns; each round draws pivots among the candidates, brackets the target rank
    between two of them (Floyd-Rivest) and counts with :func:`_count_less`. Once few
    candidates remain they are built and partitioned. Memory stays O(n + m).
    """
    n, m = x.size, y.size
    yr = np.ascontiguousarray(y[::-1])
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, m, dtype=np.int64)
    rng = np.random.default_rng(rank)  # pivots only steer the search; the answer is exact
    small_enough = max(4 * (n + m), _SELECT_BUILD_BELOW)
    for _ in range(_SELECT_MAX_ROUNDS):
        active = hi - lo
        total = int(active.sum())
        below = int(lo.sum())
        target = rank - below
        ends = np.cumsum(active)
        if total <= small_enough:
            rows = np.repeat(np.arange(n), active)
            starts = ends - active
            cols = lo[rows] + (np.arange(total) - starts[rows])
            values = x[rows] - yr[cols]
            return float(np.partition(values, target)[target])
        draws = rng.integers(0, total, _PIVOT_SAMPLE)
        rows = np.searchsorted(ends, draws, side="right")
        cols = lo[rows] + draws - (ends[rows] - active[rows])
        sample = np.sort(x[rows] - yr[cols])
        frac = (target + 0.5) / total
        margin = 3.0 / math.sqrt(_PIVOT_SAMPLE)
        low_pivot = float(sample[max(0, math.floor((frac - margin) * _PIVOT_SAMPLE))])
        high_pivot = float(
            sample[min(_PIVOT_SAMPLE - 1, math.ceil((frac + margin) * _PIVOT_SAMPLE))]
        )
        new_lo = _count_less(x, yr, lo, hi, low_pivot)
        new_hi = _count_at_most(x, yr, new_lo, hi, high_pivot)
        if rank < int(new_lo.sum()):
            hi = new_lo
        elif rank >= int(new_hi.sum()):
            lo = new_hi
        elif low_pivot == high_pivot:
            return low_pivot
        elif int((new_hi - new_lo).sum()) == total:
            # No progress (the bracket spans every candidate): split at the sample median.
            pivot = float(sample[_PIVOT_SAMPLE // 2])
            less = _count_less(x, yr, lo, hi, pivot)
            at_most = _count_at_most(x, yr, less, hi, pivot)
            if rank < int(less.sum()):
                hi = less
            elif rank >= int(at_most.sum()):
                lo = at_most
            else:
                return pivot
        else:
            lo, hi = new_lo, new_hi
    raise RuntimeError("selection of a pairwise difference did not converge")  # unreachable


def _successor(x: FloatArray, y: FloatArray, value: float, rank: int) -> float:
    """The difference at ``rank + 1`` given the one at ``rank`` (0-based) is ``value``.

    If more than ``rank + 1`` differences are ``<= value``, it is ``value`` again;
    otherwise it is the smallest difference above ``value``, the minimum over rows of the
    first one past it.
    """
    n, m = x.size, y.size
    yr = np.ascontiguousarray(y[::-1])
    past = _count_at_most(x, yr, np.zeros(n, dtype=np.int64), np.full(n, m, dtype=np.int64), value)
    if int(past.sum()) > rank + 1:
        return value
    rows = past < m
    return float(np.min(x[rows] - yr[past[rows]]))


def _check_span(xs: FloatArray, ys: FloatArray) -> None:
    """Refuse sorted samples whose finite values' differences ``x_i - y_j`` overflow a
    float: a selection among overflowed differences cannot converge, and a shift of
    ``inf`` between two finite values is no measurement. (Infinite values are ranks,
    :func:`pairwise_difference_quantiles`, and are left out here.)"""
    xs, ys = _finite_part(xs), _finite_part(ys)
    if xs.size == 0 or ys.size == 0:
        return
    # Python floats: an overflow is inf, not a NumPy warning. Every difference lies
    # between these two, so when both are finite no difference overflows.
    widest = (float(xs[0]) - float(ys[-1]), float(xs[-1]) - float(ys[0]))
    if not all(math.isfinite(d) for d in widest):
        raise CheckInputError(
            "the differences x_i - y_j overflow a float (the samples span more than "
            f"{np.finfo(np.float64).max:.3g}); rescale the values (e.g. to other units)"
        )


def _finite_part(values: FloatArray) -> FloatArray:
    """The finite values of sorted ``values``: those between its ``-inf`` and ``+inf``."""
    low = int(np.searchsorted(values, -math.inf, side="right"))
    high = int(np.searchsorted(values, math.inf, side="left"))
    return values[low:high]


def _as_sorted_sample(values: npt.ArrayLike, name: str) -> FloatArray:
    array = _as_sample(values, name, infinite=True)
    if np.any(array[1:] < array[:-1]):
        raise CheckInputError(f"{name} must be sorted ascending (numpy.sort it first)")
    return array


def pairwise_difference_quantiles(
    x_sorted: npt.ArrayLike, y_sorted: npt.ArrayLike, ranks: Sequence[int]
) -> list[float]:
    """Order statistics of all differences ``x_i - y_j`` at 0-based ``ranks``.

    Up to 2**20 differences they are built and partitioned; beyond that each is selected
    from the sorted samples without building them (memory O(n + m)).

    Infinite values are ranks, as in the Mann-Whitney test (a latency quantile above a
    histogram's last bucket is ``+inf``): ``inf - finite`` is ``inf``, ``finite - inf``
    is ``-inf``, ``inf - (-inf)`` is ``inf``, and two equal infinities are tied, a ``0``
    difference. A difference is never NaN.

    Parameters
    ----------
    x_sorted, y_sorted : array_like
        Samples, sorted ascending (one-dimensional, at least one value each, no NaN).
    ranks : sequence of int
        0-based ranks among the ``n * m`` differences.

    Returns
    -------
    list of float

    Raises
    ------
    EmptyData
        If a sample has no values.
    CheckInputError
        If a sample is not numbers, holds NaN, is not one-dimensional or not sorted, a
        rank is not an int in ``0..n * m - 1``, or the differences of the finite values
        overflow a float.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.monitor import pairwise_difference_quantiles
    >>> pairwise_difference_quantiles(np.array([1.0, 5.0]), np.array([0.0, 2.0]), [0, 3])
    [-1.0, 5.0]
    >>> pairwise_difference_quantiles(np.array([1.0, np.inf]), np.array([1.0, np.inf]),
    ...                               [0, 1, 2, 3])
    [-inf, 0.0, 0.0, inf]
    """
    xs = _as_sorted_sample(x_sorted, "x_sorted")
    ys = _as_sorted_sample(y_sorted, "y_sorted")
    total = xs.size * ys.size
    for rank in ranks:
        if not _SIZE.is_satisfied_by(rank) or not rank < total:
            raise CheckInputError(f"rank {rank!r} is not an int in 0..{total - 1}")
    _check_span(xs, ys)
    xf, yf = _finite_part(xs), _finite_part(ys)
    if xf.size == xs.size and yf.size == ys.size:
        return _finite_difference_quantiles(xs, ys, ranks)
    # In order: the -inf differences, the finite ones with the tied infinities' zeros
    # among them (after the finite differences below 0), the +inf ones.
    (x_minus, x_plus), (y_minus, y_plus) = _infinite_counts(xs, xf), _infinite_counts(ys, yf)
    n_minus = x_minus * (yf.size + y_plus) + xf.size * y_plus
    n_zero = x_minus * y_minus + x_plus * y_plus
    n_finite = xf.size * yf.size
    # Finite differences below 0 are exactly the pairs with x_i < y_j (a difference of
    # two finite floats rounds to 0 only when they are equal).
    below = int((yf.size - np.searchsorted(yf, xf, side="right")).sum())
    wanted: dict[int, int] = {}  # rank among all differences -> rank among the finite ones
    answers: dict[int, float] = {}
    for rank in ranks:
        middle = rank - n_minus
        if middle < 0:
            answers[rank] = -math.inf
        elif middle >= n_finite + n_zero:
            answers[rank] = math.inf
        elif below <= middle < below + n_zero:
            answers[rank] = 0.0
        else:
            wanted[rank] = middle if middle < below else middle - n_zero
    if wanted:
        finite = _finite_difference_quantiles(xf, yf, list(wanted.values()))
        answers.update(zip(wanted, finite, strict=True))
    return [answers[rank] for rank in ranks]


def _infinite_counts(values: FloatArray, finite: FloatArray) -> tuple[int, int]:
    """How many of sorted ``values`` (whose finite part is ``finite``) are ``-inf`` and
    ``+inf``."""
    minus = int(np.searchsorted(values, -math.inf, side="right"))
    return minus, values.size - finite.size - minus


def _finite_difference_quantiles(
    xs: FloatArray, ys: FloatArray, ranks: Sequence[int]
) -> list[float]:
    """:func:`pairwise_difference_quantiles` of finite sorted samples, ranks checked."""
    total = xs.size * ys.size
    if total <= _MATERIALISE_MAX:
        differences = np.subtract.outer(xs, ys).ravel()
        chosen = np.partition(differences, list(ranks))
        return [float(chosen[rank]) for rank in ranks]
    found: dict[int, float] = {}
    for rank in ranks:
        if rank not in found:
            if rank - 1 in found:  # the median's second middle: one count, not a selection
                found[rank] = _successor(xs, ys, found[rank - 1], rank - 1)
            else:
                found[rank] = _select_difference(xs, ys, rank)
    return [found[rank] for rank in ranks]


def hodges_lehmann(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Hodges-Lehmann estimate of the shift of ``x`` against ``y``.

    The median of all ``n * m`` differences ``x_i - y_j`` (the mean of the two middle
    ones when ``n * m`` is even), selected without building them for large samples.
    Infinite values are ranks (:func:`pairwise_difference_quantiles`); the estimate is
    NaN, undefined, when the two middle differences are ``-inf`` and ``+inf``.

    Examples
    --------
    >>> from modelship.monitor import hodges_lehmann
    >>> hodges_lehmann([3.0, 4.0, 5.0], [1.0, 2.0])
    2.5
    >>> hodges_lehmann([float("inf")] * 3, [0.05, 0.06])  # above the last bucket
    inf
    """
    xs = np.sort(_as_sample(x, "x", infinite=True))
    ys = np.sort(_as_sample(y, "y", infinite=True))
    return _hl_median(xs, ys)


def _hl_median(xs: FloatArray, ys: FloatArray) -> float:
    total = xs.size * ys.size
    if total % 2:
        return pairwise_difference_quantiles(xs, ys, [total // 2])[0]
    low, high = pairwise_difference_quantiles(xs, ys, [total // 2 - 1, total // 2])
    if math.isinf(low) or math.isinf(high):
        return low + high  # an infinity, or NaN for -inf and +inf: undefined
    middle = (low + high) / 2
    # Two finite differences near the largest float: their sum overflows, their halves do not.
    return middle if math.isfinite(middle) else low / 2 + high / 2


@validate_params(confidence=_UNIT, use_continuity=bool)
def mann_whitney(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    use_continuity: bool = True,
) -> MannWhitneyResult:
    """Two-sided Mann-Whitney U test of ``x`` (canary) against ``y`` (baseline).

    Returns ``U``, its two-sided p-value, and the Hodges-Lehmann shift of ``x`` against
    ``y`` with its distribution-free confidence interval ``[D_(k), D_(nm + 1 - k)]``,
    where ``D_(1) <= ... <= D_(nm)`` are the sorted pairwise differences and ``k`` is the
    largest integer with ``P(U <= k - 1) <= (1 - confidence) / 2`` under the null.

    The method follows SciPy's ``mannwhitneyu(method="auto")``: the exact null
    distribution when either sample has at most 8 values and no value is tied, otherwise
    the normal approximation with the tie-corrected variance and (by default) the
    continuity correction; ``k`` uses the same distribution.

    Parameters
    ----------
    x, y : array_like
        One-dimensional samples (drop missing values first; they are never zeros).
        Infinite values (a latency quantile above a histogram's last bucket) are ranks:
        the test ranks them beyond every finite value, tied with each other; in the
        shift and its interval ``inf - finite`` is ``inf`` and ``inf - inf`` a tie, 0
        (:func:`pairwise_difference_quantiles`), so those may be infinite, and the shift
        NaN when its two middle differences are ``-inf`` and ``+inf``.
    confidence : float
        Level of the shift's interval.
    use_continuity : bool
        Continuity correction of the normal approximation (SciPy's default, True).

    Returns
    -------
    MannWhitneyResult

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not one-dimensional, holds something else than numbers or NaN, or
        its finite values' differences with the other's overflow a float.

    Examples
    --------
    >>> from modelship.monitor import mann_whitney
    >>> mw = mann_whitney([0.31, 0.35, 0.29, 0.40, 0.33], [0.20, 0.22, 0.19, 0.25, 0.21])
    >>> mw.statistic, round(mw.p_value, 4), round(mw.shift, 2)
    (25.0, 0.0079, 0.12)
    >>> round(mw.ci_low, 2), round(mw.ci_high, 2)
    (0.07, 0.19)
    >>> slow = mann_whitney([float("inf")] * 10, [0.05] * 10)  # every step above the buckets
    >>> slow.shift, slow.ci_low, slow.p_value < 1e-4
    (inf, inf, True)
    """
    confidence = float(confidence)
    xs = np.sort(_as_sample(x, "x", infinite=True))
    ys = np.sort(_as_sample(y, "y", infinite=True))
    _check_span(xs, ys)
    n1, n2 = xs.size, ys.size
    u1 = _u_statistic(xs, ys)
    u_max = max(u1, n1 * n2 - u1)
    tie_term = _tie_term(xs, ys)
    alpha = 1 - confidence
    method: Literal["exact", "asymptotic"]
    if not _is_exact(n1, n2, tie_term):
        method = "asymptotic"
        p_value, sigma = _asymptotic_p(n1, n2, u_max, tie_term, use_continuity=use_continuity)
        k = _asymptotic_ci_rank(n1, n2, sigma, alpha)
    else:
        method = "exact"
        p_value = _exact_mwu(n1, n2, u_max)
        k = _exact_ci_rank(n1, n2, alpha)
    total = n1 * n2
    if k >= 1 and total + 1 - k >= k:
        ci_low, ci_high = pairwise_difference_quantiles(xs, ys, [k - 1, total - k])
    else:
        ci_low, ci_high = -math.inf, math.inf
    return MannWhitneyResult(
        statistic=float(u1),
        p_value=p_value,
        method=method,
        shift=_hl_median(xs, ys),
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        n_x=n1,
        n_y=n2,
    )


# --- Welch ---------------------------------------------------------------------------------


@attrs.frozen
class WelchResult:
    """Welch's unequal-variance t-test of ``mean(x) - mean(y)``.

    Attributes
    ----------
    statistic : float
        ``t = (mean_x - mean_y) / sqrt(var_x / n_x + var_y / n_y)`` (sample variances).
    p_value : float
        Two-sided, from Student's t with ``df`` degrees of freedom.
    df : float
        Welch-Satterthwaite degrees of freedom.
    difference, ci_low, ci_high : float
        ``mean_x - mean_y`` and its confidence interval ``difference +- t_{df} * se``.
    confidence : float
    mean_x, mean_y : float
    n_x, n_y : int

    Examples
    --------
    >>> from modelship.monitor import welch
    >>> r = welch([5.1, 4.9, 5.3, 5.0], [4.2, 4.4, 4.1, 4.6, 4.3])
    >>> round(r.difference, 3), r.p_value < 0.001
    (0.755, True)
    """

    statistic: float
    p_value: float
    df: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    mean_x: float
    mean_y: float
    n_x: int
    n_y: int


def _scaled_variance(sample: FloatArray) -> tuple[float, int]:
    """``(v, e)`` with ``var(sample, ddof=1) / n == v * 4**e``, ``v`` computed on the sample
    scaled by ``2**-e`` (its largest magnitude in [0.5, 1)): exact, and free of overflow
    and underflow. ``(0.0, 0)`` for a constant sample."""
    if sample.min() == sample.max():
        return 0.0, 0
    _, e = math.frexp(float(np.max(np.abs(sample))))
    return float(np.var(np.ldexp(sample, -e), ddof=1)) / sample.size, e


@validate_params(confidence=_UNIT)
def welch(x: npt.ArrayLike, y: npt.ArrayLike, *, confidence: float = 0.95) -> WelchResult:
    """Welch's t-test of ``x`` against ``y`` with the interval of the mean difference.

    Agrees with ``scipy.stats.ttest_ind(x, y, equal_var=False)`` and its
    ``confidence_interval``.

    Parameters
    ----------
    x, y : array_like
        Finite samples of at least two values each.
    confidence : float
        Level of the interval.

    Returns
    -------
    WelchResult

    Raises
    ------
    EmptyData
        If a sample has fewer than two values.
    CheckInputError
        If both samples are constant (the statistic is undefined), hold NaN/inf, or
        their variances overflow a float (spreads beyond about 1e154). Tiny spreads,
        down to subnormals, are computed on exactly rescaled values.

    Examples
    --------
    >>> from modelship.monitor import welch
    >>> r = welch([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5, 5.5])
    >>> round(r.statistic, 4), round(r.df, 3), round(r.p_value, 4)
    (-1.0445, 6.981, 0.3311)
    """
    confidence = float(confidence)
    xs = _as_sample(x, "x")
    ys = _as_sample(y, "y")
    if xs.size < 2 or ys.size < 2:
        raise EmptyData(f"Welch's test needs two values per sample, got {xs.size} and {ys.size}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below
        mean_x, mean_y = float(np.mean(xs)), float(np.mean(ys))
        difference = mean_x - mean_y
    if not all(math.isfinite(v) for v in (mean_x, mean_y, difference)):
        raise CheckInputError(
            "the samples' means or their difference overflow a float (values near 1e308): "
            "Welch's test cannot be computed; rescale the metric (other units) first"
        )
    # Each sample's variance of the mean, scaled by a power of two so that it does not
    # underflow (spreads below 1e-154 read as "constant") and the degrees of freedom do
    # not square it past float (variances past 1e154); both are then put on the larger
    # one's scale, exactly.
    (vx, ex), (vy, ey) = _scaled_variance(xs), _scaled_variance(ys)
    top_exp = sys.float_info.max_exp  # v * 4**e is finite iff frexp(v)'s exponent + 2e <= it
    if any(v > 0 and math.frexp(v)[1] + 2 * e > top_exp for v, e in ((vx, ex), (vy, ey))):
        raise CheckInputError(
            "the samples' variances overflow a float (spreads beyond about 1e154): Welch's "
            "test cannot be computed; rescale the metric (other units) first"
        )
    if vx == 0 and vy == 0:
        raise CheckInputError(
            "both samples are constant (each holds one value): the t statistic is undefined"
        )
    top = max(e for v, e in ((vx, ex), (vy, ey)) if v > 0)
    vx, vy = math.ldexp(vx, 2 * (ex - top)), math.ldexp(vy, 2 * (ey - top))
    se = math.ldexp(math.sqrt(vx + vy), top)
    t = difference / se
    df = (vx + vy) ** 2 / (vx**2 / (xs.size - 1) + vy**2 / (ys.size - 1))
    # Student's t through scipy.special, as scipy.stats.t computes its sf and ppf (without
    # importing scipy.stats: ~0.5 s of a process's start).
    p_value = float(min(1.0, 2 * special.stdtr(df, -abs(t))))
    half = float(special.stdtrit(df, 0.5 + confidence / 2)) * se
    return WelchResult(
        statistic=t,
        p_value=p_value,
        df=df,
        difference=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        confidence=confidence,
        mean_x=mean_x,
        mean_y=mean_y,
        n_x=int(xs.size),
        n_y=int(ys.size),
    )


# --- proportions -----------------------------------------------------------------------------


@attrs.frozen
class ProportionDifference:
    """Difference of two rates, ``k_x / n_x - k_y / n_y``.

    Attributes
    ----------
    rate_x, rate_y, difference : float
    ci_low, ci_high : float
        Newcombe's hybrid score interval (his method 10): from the Wilson intervals
        ``[l_x, u_x]`` and ``[l_y, u_y]``, ``difference - sqrt((rate_x - l_x)**2 +
        (u_y - rate_y)**2)`` to ``difference + sqrt((u_x - rate_x)**2 +
        (rate_y - l_y)**2)``. It stays inside [-1, 1] and behaves at rates near 0 or 1,
        where the Wald interval collapses.
    statistic, p_value : float
        Pooled two-proportion z-test (Pearson's chi-squared without continuity correction).
    confidence : float
    n_x, n_y : int

    Examples
    --------
    >>> from modelship.monitor import proportion_difference
    >>> r = proportion_difference(56, 70, 48, 80)
    >>> round(r.difference, 4), round(r.ci_low, 4), round(r.ci_high, 4)
    (0.2, 0.0524, 0.3339)
    """

    rate_x: float
    rate_y: float
    difference: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    confidence: float
    n_x: int
    n_y: int


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return (centre - half) / denominator, (centre + half) / denominator


def _check_counts(k: int, n: int, name: str) -> None:
    for count, what in ((k, "events"), (n, "trials")):
        if not _SIZE.is_satisfied_by(count):
            raise CheckInputError(
                f"{name} has {what}={count!r}; a count is an int >= 0 (not a float or a string)"
            )
    if n < 1:
        raise EmptyData(f"{name} has no trials (n={n}); a rate needs at least one")
    if not 0 <= k <= n:
        raise CheckInputError(f"{name} has {k} events in {n} trials; need 0 <= events <= trials")


@validate_params(confidence=_UNIT)
def proportion_difference(
    k_x: int, n_x: int, k_y: int, n_y: int, *, confidence: float = 0.95
) -> ProportionDifference:
    """Difference of the rates ``k_x / n_x - k_y / n_y`` with Newcombe's interval.

    Parameters
    ----------
    k_x, n_x : int
        Events and trials of the first group (e.g. the new version).
    k_y, n_y : int
        Events and trials of the second group.
    confidence : float
        Level of the interval.

    Returns
    -------
    ProportionDifference

    Raises
    ------
    EmptyData
        If a group has no trials.
    CheckInputError
        If a count is negative or exceeds its trials.

    Examples
    --------
    >>> from modelship.monitor import proportion_difference
    >>> r = proportion_difference(120, 1000, 100, 1000)
    >>> round(r.difference, 3), round(r.p_value, 3)
    (0.02, 0.153)
    """
    confidence = float(confidence)
    _check_counts(k_x, n_x, "the first group")
    _check_counts(k_y, n_y, "the second group")
    # Python ints: NumPy's int64 would wrap around in the products below (n * n, k * N).
    k_x, n_x, k_y, n_y = int(k_x), int(n_x), int(k_y), int(n_y)
    z = float(special.ndtri(0.5 + confidence / 2))
    rate_x, rate_y = k_x / n_x, k_y / n_y
    l_x, u_x = _wilson(k_x, n_x, z)
    l_y, u_y = _wilson(k_y, n_y, z)
    difference = rate_x - rate_y
    # The pooled rate's p * (1 - p) * (1/n_x + 1/n_y) = k (N - k) / (N n_x n_y) with
    # k = k_x + k_y, N = n_x + n_y: one division of exact integers, so a pooled rate that
    # rounds to 1.0 (counts past 2**53) cannot zero the variance of a real difference.
    events, trials = k_x + k_y, n_x + n_y
    variance = events * (trials - events) / (trials * n_x * n_y)
    if variance > 0:
        statistic = difference / math.sqrt(variance)
        p_value = float(2 * special.ndtr(-abs(statistic)))
    else:
        statistic, p_value = 0.0, 1.0
    return ProportionDifference(
        rate_x=rate_x,
        rate_y=rate_y,
        difference=difference,
        # Within [-1, 1] as the interval is, not one rounding past it (1.0000000000000002).
        ci_low=max(-1.0, difference - math.sqrt((rate_x - l_x) ** 2 + (u_y - rate_y) ** 2)),
        ci_high=min(1.0, difference + math.sqrt((u_x - rate_x) ** 2 + (rate_y - l_y) ** 2)),
        statistic=statistic,
        p_value=p_value,
        confidence=confidence,
        n_x=n_x,
        n_y=n_y,
    )


# --- sample-size planning ---------------------------------------------------------------------


@attrs.frozen
class SampleSize:
    """Samples needed per group to detect an effect.

    Attributes
    ----------
    n_x, n_y : int
        Per group; ``n_y = ceil(ratio * n_x)``.
    effect : float
        The absolute effect planned for (difference of means or of rates).
    alpha, power, ratio : float

    Examples
    --------
    >>> from modelship.monitor import sample_size_means
    >>> sample_size_means(sd=1.0, mde=0.5).n_x
    63
    """

    n_x: int
    n_y: int
    effect: float
    alpha: float
    power: float
    ratio: float


def _planning_inputs(alpha: float, power: float, ratio: float) -> tuple[float, float]:
    return float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))


def _sample_size(
    formula: Callable[[], float], ratio: float, effect: float, alpha: float, power: float
) -> SampleSize:
    """The sample sizes of ``formula()`` (``n_x`` before rounding up), or a ConfigError if
    it is no finite number (an effect too small for the spread: the formula overflows)."""
    sizes: tuple[int, int] | None
    try:
        n_x = math.ceil(formula())
        sizes = n_x, math.ceil(ratio * n_x)
    except (OverflowError, ZeroDivisionError, ValueError):  # x**2, 1 / 0.0, ceil(inf or nan)
        sizes = None
    if sizes is None:
        raise ConfigError(
            f"the effect {effect!r} is too small relative to the spread for a sample size: "
            "the number of samples needed is beyond any float (check the units of the "
            "effect and of the standard deviation or rate)"
        )
    return SampleSize(*sizes, effect, alpha, power, ratio)


@validate_params(sd=_POSITIVE, mde=_FINITE, alpha=_UNIT, power=_UNIT, ratio=_POSITIVE)
def sample_size_means(
    *, sd: float, mde: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> SampleSize:
    """Samples per group for a two-sided test of means to detect a difference ``mde``.

    ``n_x = (z_{1 - alpha/2} + z_{power})**2 * sd**2 * (1 + 1/ratio) / mde**2``, rounded
    up, with ``n_y = ratio * n_x`` (normal approximation, common standard deviation).

    Parameters
    ----------
    sd : float
        Standard deviation of one observation (from history or a pilot).
    mde : float
        Minimum detectable effect, in the metric's units (absolute).
    alpha, power : float
        Two-sided significance level and the power wanted.
    ratio : float
        ``n_y / n_x``, e.g. 9 for a 10 % canary against 90 % stable traffic.

    Returns
    -------
    SampleSize

    Raises
    ------
    ConfigError
        If a parameter is out of range, or the effect is so small relative to ``sd``
        that the sample size is beyond any float.

    Examples
    --------
    >>> from modelship.monitor import sample_size_means
    >>> plan = sample_size_means(sd=0.05, mde=0.01, power=0.9)
    >>> plan.n_x, plan.n_y
    (526, 526)
    """
    z_a, z_b = _planning_inputs(alpha, power, ratio)
    if mde == 0:
        raise ConfigError(f"mde must be a non-zero number, got {mde!r}")
    return _sample_size(
        # The ratio first: sd and mde of one huge or tiny scale (1e200) square out of range.
        lambda: (z_a + z_b) ** 2 * (sd / mde) ** 2 * (1 + 1 / ratio),
        ratio,
        abs(mde),
        alpha,
        power,
    )


@validate_params(
    baseline_rate=_UNIT, mde=_FINITE, relative=bool, alpha=_UNIT, power=_UNIT, ratio=_POSITIVE
)
def sample_size_proportions(  # noqa: PLR0913 - keyword-only inputs of the standard sample-size formula (rate, mde, alpha, power, ratio)
    *,
    baseline_rate: float,
    mde: float,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Samples per group for a two-sided test of two rates to detect a change ``mde``.

    The groups are named as in :func:`proportion_difference`: ``x`` is the new version
    (the canary), whose rate is planned to move by ``mde``; ``y`` is the current version
    (stable), which keeps ``baseline_rate``. So ``ratio = n_y / n_x`` is 9 for a 10 %
    canary against 90 % stable. With ``p_y = baseline_rate``, ``p_x = p_y + mde`` (or
    ``p_y * (1 + mde)`` when ``relative``), ``pbar = (p_x + ratio p_y) / (1 + ratio)``
    and ``d = p_x - p_y``:
    ``n_x = (z_{1-alpha/2} sqrt(pbar (1 - pbar) (1 + 1/ratio))
    + z_{power} sqrt(p_x (1 - p_x) + p_y (1 - p_y) / ratio))**2 / d**2``.

    With unequal groups it matters which one changes, as a rate's variance depends on
    the rate: planning a 10 % canary's drop from 10 % to 5 % as a change of the 90 %
    stable instead gives a power of about 0.7 where 0.8 was asked.

    Parameters
    ----------
    baseline_rate : float
        The current rate, in (0, 1): that of ``y``, the current version.
    mde : float
        Minimum detectable change of the new version's rate: absolute (0.01 = one
        point) or, with ``relative=True``, a fraction of the baseline (0.05 = 5 %).
    relative : bool
    alpha, power : float
        Two-sided significance level and the power wanted.
    ratio : float
        ``n_y / n_x``: the current version's samples per sample of the new version, e.g.
        9 for a 10 % canary against 90 % stable traffic.

    Returns
    -------
    SampleSize
        ``n_x`` for the new version (the canary), ``n_y`` for the current one.

    Raises
    ------
    ConfigError
        If a parameter is out of range, the changed rate leaves (0, 1), or the change
        is so small that the sample size is beyond any float.

    Examples
    --------
    >>> from modelship.monitor import sample_size_proportions
    >>> sample_size_proportions(baseline_rate=0.10, mde=0.02).n_x
    3841

    A 10 % canary whose error rate may drop from 10 % to 5 %, against 90 % stable:

    >>> plan = sample_size_proportions(baseline_rate=0.10, mde=-0.05, ratio=9)
    >>> plan.n_x, plan.n_y   # canary, stable
    (261, 2349)
    """
    z_a, z_b = _planning_inputs(alpha, power, ratio)
    # y is the current version at the baseline, x the new one that changes (as the first
    # group of proportion_difference): with unequal groups the two are not interchangeable.
    p_y = baseline_rate
    p_x = p_y * (1 + mde) if relative else p_y + mde
    if not (0.0 < p_x < 1.0) or p_x == p_y:
        raise ConfigError(
            f"the changed rate must differ from the baseline and lie in (0, 1), got {p_x!r}; "
            "choose an mde that keeps baseline_rate + mde (or baseline_rate * (1 + mde) "
            "when relative) strictly between 0 and 1"
        )
    pbar = (p_x + ratio * p_y) / (1 + ratio)
    d = p_x - p_y
    root = z_a * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + z_b * math.sqrt(
        p_x * (1 - p_x) + p_y * (1 - p_y) / ratio
    )
    return _sample_size(lambda: root**2 / d**2, ratio, abs(d), alpha, power)


# --- always-valid sequential test ---------------------------------------------------------------


@attrs.frozen
class SequentialResult:
    """One look of the mixture sequential probability ratio test (mSPRT).

    Attributes
    ----------
    difference : float
        The estimate of the effect at this look (``mean_x - mean_y``).
    variance : float
        Its variance, ``var_x / n_x + var_y / n_y``.
    log_lr : float
        Log of the mixture likelihood ratio ``Lambda`` against "no effect".
    p_value : float
        Always-valid p-value: ``min(1, 1 / Lambda)`` at this look, and for a
        :class:`SequentialTest` the running minimum over all looks so far.
    ci_low, ci_high : float
        Always-valid confidence interval (confidence sequence) of the effect, and for a
        :class:`SequentialTest` the running intersection.
    reject : bool
        ``p_value <= alpha``: stop, the effect is not zero.
    alpha, tau : float
    n_x, n_y : int
    reason : str
        Why a :class:`SequentialTest` look decided nothing, or ``""``: an arm holds fewer
        than the test's ``min_samples`` values (keep collecting).

    Examples
    --------
    >>> from modelship.monitor import msprt
    >>> r = msprt(difference=0.0, variance=0.01, tau=0.1)
    >>> round(r.p_value, 4), r.reject
    (1.0, False)
    """

    difference: float
    variance: float
    log_lr: float
    p_value: float
    ci_low: float
    ci_high: float
    reject: bool
    alpha: float
    tau: float
    n_x: int = 0
    n_y: int = 0
    reason: str = ""


def _log_lr(difference: FloatArray, variance: FloatArray, tau: float) -> FloatArray:
    tau2 = tau * tau
    total = variance + tau2
    return np.asarray(
        0.5 * np.log(variance / total) + tau2 * difference**2 / (2 * variance * total),
        dtype=np.float64,
    )


def _cs_radius(variance: float, tau: float, alpha: float) -> float:
    tau2 = tau * tau
    total = variance + tau2
    return math.sqrt(
        variance * total / tau2 * (2 * math.log(1 / alpha) + math.log(total / variance))
    )


@validate_params(
    difference=_FINITE, variance=_POSITIVE, tau=_TAU, alpha=_UNIT, n_x=_SIZE, n_y=_SIZE
)
def msprt(  # noqa: PLR0913 - keyword-only inputs of the mSPRT formula (estimate, variance, tau, alpha, sample sizes)
    *,
    difference: float,
    variance: float,
    tau: float,
    alpha: float = 0.05,
    n_x: int = 0,
    n_y: int = 0,
) -> SequentialResult:
    """The mixture SPRT of "no effect" at one look, from the effect's estimate.

    With an estimate ``d ~ N(theta, V)`` and a normal mixture ``theta ~ N(0, tau**2)``
    over the alternatives, the likelihood ratio against ``theta = 0`` is
    ``Lambda = sqrt(V / (V + tau**2)) * exp(tau**2 d**2 / (2 V (V + tau**2)))``
    (Johari, Pekelis and Walsh, 2017). ``Lambda`` is a martingale under the null, so by
    Ville's inequality ``P(sup_n Lambda_n >= 1/alpha) <= alpha``: rejecting the first time
    ``Lambda >= 1/alpha`` keeps the false-positive rate at ``alpha`` however often one
    looks. Inverting it gives the confidence sequence
    ``d +- sqrt(V (V + tau**2) / tau**2 * (2 log(1/alpha) + log((V + tau**2) / V)))``.

    Parameters
    ----------
    difference : float
        Current estimate of the effect.
    variance : float
        Its variance (positive).
    tau : float
        Standard deviation of the mixture: the size of effect you care about, in the
        metric's units (e.g. the minimum detectable effect). Power is best for effects
        near ``tau``; the false-positive guarantee holds for any ``tau``. Its square
        must be a positive finite float: ``tau`` in about ``[1.5e-154, 1.3e154]``.
    alpha : float
        Significance level.
    n_x, n_y : int
        Sample sizes behind the estimate, for the record.

    Returns
    -------
    SequentialResult

    Raises
    ------
    ConfigError
        If ``tau`` or ``alpha`` is out of range, or ``variance`` is not positive.

    Examples
    --------
    >>> from modelship.monitor import msprt
    >>> r = msprt(difference=0.05, variance=0.0001, tau=0.05)
    >>> r.reject, round(r.ci_low, 3), round(r.ci_high, 3)
    (True, 0.019, 0.081)
    """
    alpha = float(alpha)
    log_lr = float(_log_lr(np.float64(difference), np.float64(variance), tau))
    p_value = float(min(1.0, math.exp(-log_lr)))
    radius = _cs_radius(variance, tau, alpha)
    return SequentialResult(
        difference=float(difference),
        variance=float(variance),
        log_lr=log_lr,
        p_value=p_value,
        ci_low=difference - radius,
        ci_high=difference + radius,
        reject=p_value <= alpha,
        alpha=alpha,
        tau=float(tau),
        n_x=n_x,
        n_y=n_y,
    )


@validate_params(tau=_TAU)
def always_valid_p_values(
    differences: npt.ArrayLike, variances: npt.ArrayLike, *, tau: float
) -> FloatArray:
    """Always-valid p-values of a sequence of looks, vectorised over the last axis.

    ``p_n = min(1, min_{i <= n} 1 / Lambda_i)``; leading axes are independent experiments.

    Parameters
    ----------
    differences, variances : array_like
        Effect estimates and their variances at each look (same shape).
    tau : float
        As in :func:`msprt`.

    Returns
    -------
    numpy.ndarray
        Non-increasing along the last axis.

    Raises
    ------
    CheckInputError
        If the inputs are not numbers, differ in shape, are single numbers (not a
        sequence of looks), or hold a non-finite difference or a variance that is not a
        positive finite number.

    Examples
    --------
    >>> from modelship.monitor import always_valid_p_values
    >>> always_valid_p_values([0.0, 0.5, 0.0], [0.01, 0.01, 0.01], tau=0.1).round(4).tolist()
    [1.0, 0.0027, 0.0027]
    """
    d = _numbers(differences, "differences")
    v = _numbers(variances, "variances")
    if d.shape != v.shape:
        raise CheckInputError(f"differences {d.shape} and variances {v.shape} differ in shape")
    if d.ndim == 0:
        raise CheckInputError(
            "differences and variances are sequences of looks, got single numbers; "
            "wrap one look in a list, or use msprt for it"
        )
    if not np.all(np.isfinite(d)):
        raise CheckInputError(
            "every difference must be a finite number; a look without an estimate is not a look"
        )
    if not np.all((v > 0) & np.isfinite(v)):
        raise CheckInputError("every variance must be a positive, finite number")
    p = np.minimum(1.0, np.exp(-_log_lr(d, v, tau)))
    return np.asarray(np.minimum.accumulate(p, axis=-1), dtype=np.float64)


class SequentialTest:
    """An A/B test you may look at after every batch: the mSPRT with running state.

    Each :meth:`look` takes the samples seen so far (or their summary) and returns the
    always-valid p-value (the running minimum) and confidence sequence (the running
    intersection). The state is three numbers, so a look costs the same after a
    thousand looks as after one. If the looks' intervals stop overlapping (the effect
    moved between looks), there is no interval left: ``ci_low`` and ``ci_high`` are NaN
    from then on, with one :class:`~modelship.ModelshipWarning`; start a new test.

    Parameters
    ----------
    tau : float
        Mixture standard deviation, the size of effect you care about (see :func:`msprt`).
    alpha : float
        Significance level.
    min_samples : int
        Values per arm before a look may decide. The plug-in variance makes the test's
        guarantee asymptotic: looked at after every observation from 2 per arm, 15 % of
        A/A tests with ``tau`` one standard deviation falsely rejected (alpha 0.05); from
        10 per arm, 2.8-4.6 % across normal, Bernoulli and lognormal metrics and ``tau``
        from 0.1 to 3 standard deviations (docs/ab-tests.md). A look with fewer answers
        the running state unchanged (no new rejection) with a ``reason``. At least 2.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.monitor import SequentialTest
    >>> rng = np.random.default_rng(3)
    >>> test = SequentialTest(tau=0.2)
    >>> a, b = rng.normal(0.5, 1, 2000), rng.normal(0.0, 1, 2000)
    >>> for n in (100, 500, 2000):
    ...     result = test.look(a[:n], b[:n])
    >>> result.reject, bool(result.ci_low < 0.5 < result.ci_high)
    (True, True)
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "tau": _TAU,
        "alpha": _UNIT,
        "min_samples": Interval(int, 2, None),
    }

    def __init__(self, *, tau: float, alpha: float = 0.05, min_samples: int = 10) -> None:
        check_parameters(self, tau=tau, alpha=alpha, min_samples=min_samples)
        self.tau = float(tau)
        self.alpha = float(alpha)
        self.min_samples = int(min_samples)
        self._p = 1.0
        self._low = -math.inf
        self._high = math.inf
        self._emptied = False

    def look(self, x: npt.ArrayLike, y: npt.ArrayLike) -> SequentialResult:
        """Look at all samples so far: ``x`` (treatment) against ``y`` (control).

        A look whose estimate has no variance and no difference (both groups constant at
        the same value so far, as a conversion metric is before its first conversion), or
        whose variance underflows to 0 although the values vary, carries no information
        about the effect: it returns the running state unchanged (the p-value and interval
        of the looks before, ``log_lr`` 0, no new rejection), so a
        ``while True: test.look(...)`` loop keeps going.

        Two groups each constant at a different value (every treatment user converted, no
        control user did) are the limit of the mSPRT as the variance goes to 0 with the
        difference fixed: the evidence is conclusive. The look rejects with ``p_value`` 0,
        ``log_lr`` infinite and the interval ``[difference, difference]`` (intersected with
        the looks before, NaN if it falls outside them, as for any look).

        A look with fewer than ``min_samples`` values in an arm decides nothing either: it
        returns the running state unchanged with a ``reason`` (keep collecting).

        Raises
        ------
        EmptyData
            If a group has no values.
        CheckInputError
            If the samples' mean difference or variance overflows a float.

        Examples
        --------
        >>> from modelship.monitor import SequentialTest
        >>> test = SequentialTest(tau=0.01)
        >>> r = test.look([0.0] * 200, [0.0] * 200)   # no conversion yet in either arm
        >>> r.p_value, r.reject, r.log_lr
        (1.0, False, 0.0)
        >>> r = test.look([1.0] * 200, [0.0] * 200)   # every B converted, no A did
        >>> r.p_value, r.reject, r.ci_low, r.ci_high
        (0.0, True, 1.0, 1.0)
        >>> SequentialTest(tau=0.1).look([1.0, 2.0, 3.0], [0.0, 0.5, 1.0]).reason
        'too early to decide: 3 and 3 values, fewer than min_samples=10 per arm'
        """
        xs = _as_sample(x, "x")
        ys = _as_sample(y, "y")
        difference = variance = math.nan
        if xs.size > 1 and ys.size > 1:
            with np.errstate(over="ignore"):  # an overflow is refused just below, by name
                difference = float(np.mean(xs)) - float(np.mean(ys))
                variance = float(np.var(xs, ddof=1)) / xs.size + float(np.var(ys, ddof=1)) / ys.size
            if not (math.isfinite(difference) and math.isfinite(variance)):
                raise CheckInputError(
                    "the samples' mean difference or variance overflows a float; rescale the "
                    "values (e.g. to other units)"
                )
        early = self._too_early(int(xs.size), int(ys.size))
        if early is not None:
            return attrs.evolve(early, difference=difference)
        if variance == 0.0:
            # Constant groups (not merely a variance that underflows: values that vary say
            # nothing certain) with different values: Lambda grows without bound as the
            # variance goes to 0, and the interval shrinks to the difference.
            constant = xs.min() == xs.max() and ys.min() == ys.max()
            if constant and difference != 0.0:
                return self._record(
                    SequentialResult(
                        difference=difference,
                        variance=0.0,
                        log_lr=math.inf,
                        p_value=0.0,
                        ci_low=difference,
                        ci_high=difference,
                        reject=True,
                        alpha=self.alpha,
                        tau=self.tau,
                        n_x=int(xs.size),
                        n_y=int(ys.size),
                    ),
                    stacklevel=3,
                )
            return self._no_information(difference, n_x=int(xs.size), n_y=int(ys.size))
        one = msprt(
            difference=difference,
            variance=variance,
            tau=self.tau,
            alpha=self.alpha,
            n_x=int(xs.size),
            n_y=int(ys.size),
        )
        return self._record(one, stacklevel=3)

    def _too_early(self, n_x: int, n_y: int) -> SequentialResult | None:
        """The running state with a reason when an arm has fewer than ``min_samples``
        values (a look then decides nothing), else None."""
        if min(n_x, n_y) >= self.min_samples:
            return None
        return attrs.evolve(
            self._no_information(math.nan, n_x=n_x, n_y=n_y),
            reason=(
                f"too early to decide: {n_x} and {n_y} values, fewer than "
                f"min_samples={self.min_samples} per arm"
            ),
        )

    def _no_information(self, difference: float, *, n_x: int, n_y: int) -> SequentialResult:
        """The running state, unchanged by a look without variance (likelihood ratio 1)."""
        low, high = (math.nan, math.nan) if self._emptied else (self._low, self._high)
        return SequentialResult(
            difference=difference,
            variance=0.0,
            log_lr=0.0,
            p_value=self._p,
            ci_low=low,
            ci_high=high,
            reject=self._p <= self.alpha,
            alpha=self.alpha,
            tau=self.tau,
            n_x=n_x,
            n_y=n_y,
        )

    def look_summary(
        self, *, difference: float, variance: float, n_x: int = 0, n_y: int = 0
    ) -> SequentialResult:
        """Look at a summary: the effect estimate and its variance so far.

        ``min_samples`` applies to ``n_x`` and ``n_y`` when both are given (a look with
        fewer decides nothing, as in :meth:`look`); pass them, since 0 means "unknown" and
        skips that check.

        Raises
        ------
        InvalidParameter
            If ``difference`` is not a finite float, ``variance`` not a positive finite
            float, or ``n_x``/``n_y`` not an int >= 0 (checked on every look, early or not).

        Examples
        --------
        >>> from modelship.monitor import SequentialTest
        >>> test = SequentialTest(tau=0.1)
        >>> test.look_summary(difference=0.5, variance=0.01).reject
        True
        >>> test.look_summary(difference=0.0, variance=0.01).reject   # once rejected, stays
        True
        """
        # Validated before the too-early answer, which would otherwise hand back a NaN
        # difference or n_x=3.5 unremarked (or raise TypeError on n_x="5").
        for name, value, constraint in (
            ("difference", difference, _FINITE),
            ("variance", variance, _POSITIVE),
            ("n_x", n_x, _SIZE),
            ("n_y", n_y, _SIZE),
        ):
            check(name, value, constraint)
        if n_x > 0 and n_y > 0:
            early = self._too_early(int(n_x), int(n_y))
            if early is not None:
                return attrs.evolve(early, difference=float(difference))
        one = msprt(
            difference=difference,
            variance=variance,
            tau=self.tau,
            alpha=self.alpha,
            n_x=n_x,
            n_y=n_y,
        )
        return self._record(one, stacklevel=3)

    def _record(self, one: SequentialResult, *, stacklevel: int) -> SequentialResult:
        """Fold one look into the running state: its result with the running p-value and
        interval (``stacklevel`` points the warning of an emptied interval at the caller of
        the public method)."""
        self._p = min(self._p, one.p_value)
        self._low = max(self._low, one.ci_low)
        self._high = min(self._high, one.ci_high)
        low, high = self._low, self._high
        if low > high:
            # The looks' intervals share no value: no constant effect fits them all (the
            # effect moved between looks, or the alpha-probability miss happened). An
            # inverted interval would read as an answer; there is none, so NaN, said once.
            if not self._emptied:
                warnings.warn(
                    f"the confidence sequence's intervals no longer overlap (running "
                    f"intersection [{low:.6g}, {high:.6g}] is empty): the effect is not the "
                    "same across looks, so there is no interval to give (ci_low and ci_high "
                    "are NaN); start a new SequentialTest for the new effect",
                    ModelshipWarning,
                    stacklevel=stacklevel,
                )
            self._emptied = True
            low = high = math.nan
        return attrs.evolve(
            one, p_value=self._p, ci_low=low, ci_high=high, reject=self._p <= self.alpha
        )


# --- sample ratio mismatch ----------------------------------------------------------------------


@attrs.frozen
class SampleRatioResult:
    """Chi-square goodness-of-fit test of an observed traffic split.

    Attributes
    ----------
    statistic, p_value : float
        Pearson's chi-squared and its p-value with ``df = groups - 1``.
    df : int
    observed : tuple of int
    expected : tuple of float
        Counts the configured weights predict for the observed total.
    mismatch : bool
        ``p_value < threshold``: the router does not split as configured; read no result of
        the experiment until it is fixed.
    threshold : float

    Examples
    --------
    >>> from modelship.monitor import sample_ratio_mismatch
    >>> sample_ratio_mismatch([5000, 5000], [0.5, 0.5]).mismatch
    False
    """

    statistic: float
    p_value: float
    df: int
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    mismatch: bool
    threshold: float


@validate_params(threshold=_UNIT)
def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], *, threshold: float = 0.001
) -> SampleRatioResult:
    """Flag a traffic split that differs from the configured weights (SRM).

    Parameters
    ----------
    observed : sequence of int
        Requests (or users) each group received.
    weights : sequence of float
        The configured split, any positive scale (``[0.9, 0.1]`` or ``[90, 10]``).
    threshold : float
        p-value below which the split is a mismatch. 0.001 is the customary level: an SRM
        check runs on every experiment, so it must rarely cry wolf.

    Returns
    -------
    SampleRatioResult

    Raises
    ------
    CheckInputError
        If the lengths differ, a count is negative, a weight is not positive, or there are
        fewer than two groups.
    EmptyData
        If no traffic was observed.

    Examples
    --------
    >>> from modelship.monitor import sample_ratio_mismatch
    >>> r = sample_ratio_mismatch([9130, 870], [0.9, 0.1])
    >>> r.mismatch, r.p_value < 0.001
    (True, True)
    """
    groups = list(np.asarray(observed, dtype=object).ravel()) if np.ndim(observed) == 1 else []
    w = _numbers(weights, "weights")
    if np.ndim(observed) != 1 or w.shape != (len(groups),) or len(groups) < 2:
        raise CheckInputError(
            f"need one count per group and one weight per group, at least two groups; got "
            f"{len(groups)} counts and {w.size} weights"
        )
    for i, count in enumerate(groups):  # one per group: a handful
        if not _SIZE.is_satisfied_by(count):
            raise CheckInputError(
                f"observed[{i}]={count!r} is not a count; counts are ints >= 0 (a float is "
                "refused, never truncated)"
            )
    if not np.all((w > 0) & np.isfinite(w)):
        raise CheckInputError(f"weights must be positive numbers, got {list(weights)}")
    total = sum(int(c) for c in groups)
    if total == 0:
        raise EmptyData("no traffic observed; the split cannot be checked yet")
    # As floats: a count beyond int64 (2**70) still has a statistic.
    counts = np.array([float(c) for c in groups])
    with np.errstate(over="ignore"):
        overflows = not math.isfinite(float(w.sum()))
    if overflows:  # huge weights: only their ratios matter
        w = w / w.max()
    expected = total * w / w.sum()
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    df = counts.size - 1
    p_value = float(special.chdtrc(df, statistic))
    return SampleRatioResult(
        statistic=statistic,
        p_value=p_value,
        df=df,
        observed=tuple(int(c) for c in groups),
        expected=tuple(float(e) for e in expected),
        mismatch=p_value < threshold,
        threshold=threshold,
    )
