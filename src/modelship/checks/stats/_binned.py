"""Statistics of histograms: reference-quantile bins, PSI, Jensen-Shannon and chi-squared.

Numeric columns are binned at the reference's quantiles (:func:`quantile_edges`), so PSI
and Jensen-Shannon share bins that cost two binary searches per edge; categorical columns
pass their category counts straight in.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from modelship._params import Interval, validate_params
from modelship.checks.stats._columns import (
    FloatArray,
    IntArray,
    count_pair,
    float_values,
    sorted_column,
)
from modelship.checks.stats._proportions import check_count
from modelship.errors import CheckInputError, EmptyData

#: Bins beyond which a binned statistic refuses. Memory no longer grows with the bins asked
#: for (a sample of n values has at most n - 1 distinct quantile edges, and the edges are
#: computed for at most n bins), so this bound catches a slip (bins=10**12 for 100 values)
#: with a clear error rather than guarding memory. A million is generous: each bin then
#: holds a millionth of the reference, a hundredth of the default eps floor (1e-4) that an
#: empty bin's proportion is raised to, and the chi-squared reading of the no-drift critical
#: value wants about five reference values per bin, so five million rows to fill them.
MAX_BINS = 1_000_000


class _Bins(Interval):
    """The bins a binned statistic may ask for, 2 to :data:`MAX_BINS`, with what to do.

    >>> str(_Bins()).split(" (")[0]
    'an int in [2, 1000000]'
    """

    def __init__(self) -> None:
        super().__init__(int, 2, MAX_BINS)

    def __str__(self) -> str:
        return (
            f"{super().__str__()} (a binned statistic needs 2 bins at least, and n "
            f"reference values give at most n bins, so more add nothing; 10 gives deciles)"
        )


#: The number of bins asked of a binned statistic: 2 to :data:`MAX_BINS`.
BINS = _Bins()
#: The number of bins a PSI critical value is computed for: the bins actually used, which
#: counts binned at edges of the caller's own (:func:`binned_counts`) may make many.
BIN_COUNT = Interval(int, 2, None)
#: The floor given to an empty bin's proportion (PSI).
EPS = Interval(float, 0, 1, closed="neither")

__all__ = ["binned_counts", "chi2", "jensen_shannon", "psi", "psi_critical_value", "quantile_edges"]


@validate_params(bins=BINS)
def quantile_edges(a: npt.ArrayLike, bins: int = 10) -> FloatArray:
    """Inner bin edges at the reference's quantiles ``1/bins, ..., (bins-1)/bins``.

    Edge ``j`` is the order statistic ``a[(j * (n - 1)) // bins]`` (NumPy's ``"lower"``
    quantile at ``j / bins``, in exact integer arithmetic), so every edge is a reference
    value and, with the right-closed bins of :func:`binned_counts`, each bin holds about
    ``1/bins`` of the reference. Repeated edges (from ties) are removed, so there may be
    fewer than ``bins - 1`` edges and fewer than ``bins`` bins.

    Parameters
    ----------
    a : array_like
        Reference sample, sorted, finite, float64 (see :func:`sorted_finite`).
    bins : int, default 10
        Number of bins wanted (deciles for 10); 2 to 1,000,000. More bins than values
        give the same edges as ``len(a)`` bins.

    Returns
    -------
    numpy.ndarray
        Strictly increasing float64 edges; at least one.

    Raises
    ------
    EmptyData
        If ``a`` is empty.
    CheckInputError
        If ``a`` is not sorted or not finite.
    ConfigError
        If ``bins`` is not an integer from 2 to 1,000,000.

    Examples
    --------
    >>> quantile_edges([float(v) for v in range(1, 11)], bins=4)
    array([3., 5., 7.])
    >>> quantile_edges([0.0, 0.0, 0.0, 1.0], bins=4)
    array([0.])
    """
    return quantile_edges_sorted(sorted_column(a, "a"), bins)


def quantile_edges_sorted(a: FloatArray, bins: int) -> FloatArray:
    # At bins >= n the index (j * (n - 1)) // bins of edge j rises by (n - 1) / bins < 1
    # per edge, from 0 (j = 1) to n - 2 (j = bins - 1), so it takes every value 0 ... n - 2
    # and nothing else, whatever bins is: the edges of bins = n, without allocating an
    # index per bin asked for (10**8 bins took 2.4 GB for 100 values). Two at least, so
    # one value still gives its one edge.
    edges = a[_edge_index(a.size, min(bins, max(a.size, 2)))]
    # Usually no two edges are equal, and np.unique would return them as they are.
    if edges.size > 1 and not bool((edges[1:] > edges[:-1]).all()):
        return np.unique(edges)
    return edges


@functools.lru_cache(maxsize=16)
def _edge_index(n: int, bins: int) -> IntArray:
    """Where the quantile edges of a sorted sample of ``n`` values are: the same for every
    column of a table."""
    index = (np.arange(1, bins, dtype=np.int64) * (n - 1)) // bins
    index.flags.writeable = False
    return index


def binned_counts(x: npt.ArrayLike, edges: npt.ArrayLike) -> IntArray:
    """Count the values of sorted ``x`` in the bins that ``edges`` bound.

    Bins are closed on the right and open on the left, with open outer ends:
    ``(-inf, e1], (e1, e2], ..., (ek, +inf)`` — a value equal to an edge is counted in the
    bin below it, like ``np.digitize(x, edges, right=True)``. Edges from
    :func:`quantile_edges` are reference values, so a tie group never straddles a bin.

    Parameters
    ----------
    x : array_like
        Sample, sorted, finite, float64 (see :func:`sorted_finite`).
    edges : array_like
        Strictly increasing inner edges, as :func:`quantile_edges` returns.

    Returns
    -------
    numpy.ndarray
        ``len(edges) + 1`` int64 counts summing to ``len(x)``.

    Raises
    ------
    EmptyData
        If ``x`` is empty.
    CheckInputError
        If ``x`` is not sorted and finite, or ``edges`` is not strictly increasing.

    Examples
    --------
    >>> binned_counts([0.5, 1.0, 1.0, 2.5, 7.0], [1.0, 2.0])
    array([3, 0, 2])
    """
    values = sorted_column(x, "x")
    cuts = float_values(edges, "edges")
    if cuts.ndim != 1 or cuts.size == 0:
        raise CheckInputError(f"edges must be a non-empty 1-D array, got shape {cuts.shape}")
    if not bool(np.all(np.isfinite(cuts))) or not bool(np.all(cuts[1:] > cuts[:-1])):
        raise CheckInputError("edges must be finite and strictly increasing")
    return binned_counts_sorted(values, cuts)


def binned_counts_sorted(x: FloatArray, edges: FloatArray) -> IntArray:
    return _binned(x, edges, np.int64)


def binned_counts_float(x: FloatArray, edges: FloatArray) -> FloatArray:
    """:func:`binned_counts_sorted` as float64 (exact: counts stay far below 2**53)."""
    return _binned(x, edges, np.float64)


def _binned(x: FloatArray, edges: FloatArray, dtype: type[np.generic]) -> npt.NDArray[Any]:
    at_or_below = np.empty(edges.size + 2, dtype=dtype)
    at_or_below[0], at_or_below[-1] = 0, x.size
    at_or_below[1:-1] = x.searchsorted(edges, side="right")
    return at_or_below[1:] - at_or_below[:-1]


@validate_params(eps=EPS)
def psi(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike, eps: float = 1e-4) -> float:
    """Population stability index ``sum((p - q) * ln(p / q))`` over shared bins.

    ``p`` and ``q`` are the reference and current proportions per bin, each raised to at
    least ``eps`` so that an empty bin gives a large but finite contribution.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts per bin (or category), aligned, non-negative, each with a positive total.
    eps : float, default 1e-4
        Floor for a proportion, in (0, 1).

    Returns
    -------
    float
        The index, >= 0. A common reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large;
        :func:`psi_critical_value` gives a sample-size-aware threshold.

    Raises
    ------
    EmptyData
        If a side has no observations.
    CheckInputError
        If the counts are negative, non-finite or not aligned.
    ConfigError
        If ``eps`` is not in (0, 1).

    Examples
    --------
    >>> round(psi([50, 50], [40, 60]), 6)
    0.040547
    >>> psi([10, 20, 30], [10, 20, 30])
    0.0
    """
    ref, cur = count_pair(ref_counts, cur_counts)
    return psi_counts(ref, cur, eps)


def _sum(values: npt.NDArray[Any], axis: int | None = None) -> Any:
    # np.sum and ndarray.sum are np.add.reduce (the same arithmetic) behind Python
    # wrappers that cost as much as summing a column's few dozen counts: the kernels below
    # took 34 us a column of 50 categories with them, 23 without (chi2 and PSI with JS).
    return np.add.reduce(values, axis=axis)


def psi_counts(ref: FloatArray, cur: FloatArray, eps: float) -> float:
    return _psi_shares(ref / _sum(ref), cur / _sum(cur), eps)


def _psi_shares(ref_share: FloatArray, cur_share: FloatArray, eps: float) -> float:
    p = np.maximum(ref_share, eps)
    q = np.maximum(cur_share, eps)
    return float(_sum((p - q) * np.log(p / q)))


def psi_and_js(ref: FloatArray, cur: FloatArray, eps: float) -> tuple[float, float]:
    """:func:`psi_counts` and :func:`jensen_shannon_counts` of the same counts, each
    share computed once (the same arithmetic, so the same numbers)."""
    p = ref / _sum(ref)
    q = cur / _sum(cur)
    return _psi_shares(p, q, eps), _js_shares(p, q)


@validate_params(bins=BIN_COUNT, q=Interval(float, 0, 1, closed="neither"))
def psi_critical_value(n: int, m: int, bins: int, q: float = 0.95) -> float:
    """PSI above which drift is significant at level ``1 - q`` for these sample sizes.

    Under no drift, ``PSI / (1/n + 1/m)`` is asymptotically chi-squared with ``bins - 1``
    degrees of freedom (Yurdakul 2018), so the critical value is
    ``(1/n + 1/m) * chi2.ppf(q, bins - 1)``. Pass the number of bins actually used (after
    duplicate edges were removed).

    Parameters
    ----------
    n, m : int
        Reference and current sample sizes, >= 1.
    bins : int
        Number of bins, >= 2.
    q : float, default 0.95
        Quantile of the null distribution, in (0, 1).

    Returns
    -------
    float
        The critical PSI.

    Raises
    ------
    EmptyData
        If ``n`` or ``m`` is below 1.
    CheckInputError
        If ``n`` or ``m`` is not an int >= 0 (a float, NaN, text, a bool).
    ConfigError
        If ``bins`` < 2 or ``q`` is not in (0, 1).

    Examples
    --------
    >>> round(psi_critical_value(10_000, 10_000, 10), 6)
    0.003384
    """
    n, m = check_count("n", n), check_count("m", m)
    if n < 1 or m < 1:
        raise EmptyData(f"sample sizes must be at least 1, got n={n} and m={m}")
    return chi2_critical(n, m, bins, q)


def chi2_critical(n: int, m: int, bins: int, q: float = 0.95) -> float:
    """:func:`psi_critical_value` of arguments already checked."""
    return (1.0 / n + 1.0 / m) * 2.0 * _half_chi2_quantile(bins, q)


@functools.lru_cache(maxsize=64)
def _half_chi2_quantile(bins: int, q: float) -> float:
    # chi2.ppf(q, df) is 2 * gammaincinv(df / 2, q); called directly, without the ~0.3 ms
    # of argument handling in scipy.stats' distribution objects, and once per bin count.
    return float(special.gammaincinv((bins - 1) / 2, q))


def jensen_shannon(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Jensen-Shannon distance, base 2, between two histograms: in [0, 1].

    Equals ``scipy.spatial.distance.jensenshannon(ref_counts, cur_counts, base=2)``: the
    square root of the JS divergence of the normalised counts. For numeric columns,
    :func:`numeric_drift` uses the reference-quantile bins of :func:`quantile_edges`, the
    same bins as PSI.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts per bin (or category), aligned, non-negative, each with a positive total.

    Returns
    -------
    float
        0 for identical proportions, 1 for disjoint supports.

    Raises
    ------
    EmptyData
        If a side has no observations.
    CheckInputError
        If the counts are negative, non-finite or not aligned.

    Examples
    --------
    >>> jensen_shannon([1, 0], [0, 1])
    1.0
    >>> round(jensen_shannon([50, 50], [40, 60]), 6)
    0.085435
    """
    ref, cur = count_pair(ref_counts, cur_counts)
    return jensen_shannon_counts(ref, cur)


def jensen_shannon_counts(ref: FloatArray, cur: FloatArray) -> float:
    return _js_shares(ref / _sum(ref), cur / _sum(cur))


def _js_shares(p: FloatArray, q: FloatArray) -> float:
    mid = (p + q) / 2.0
    divergence = float(_sum(special.rel_entr(p, mid)) + _sum(special.rel_entr(q, mid)))
    # Rounding can leave a divergence of -1e-17 for equal histograms: clamp before sqrt.
    return math.sqrt(max(divergence / math.log(2.0), 0.0) / 2.0)


def chi2(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> tuple[float, float]:
    """Chi-squared test of homogeneity of two category histograms: ``(statistic, p)``.

    Equals ``scipy.stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))[:2]``,
    including Yates' continuity correction when there are exactly two categories, after
    dropping the categories absent from both sides. With a single category left the
    histograms are identical and the result is ``(0.0, 1.0)``.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts per category, aligned, non-negative, each with a positive total.

    Returns
    -------
    statistic : float
        Pearson's chi-squared statistic.
    pvalue : float
        Its upper tail probability with ``categories - 1`` degrees of freedom.

    Raises
    ------
    EmptyData
        If a side has no observations.
    CheckInputError
        If the counts are negative, non-finite or not aligned, or so large (near
        float64's limit) that the statistic overflows.

    Examples
    --------
    >>> stat, p = chi2([30, 20, 50], [25, 35, 40])
    >>> round(stat, 4), round(p, 4)
    (5.6566, 0.0591)
    """
    ref, cur = count_pair(ref_counts, cur_counts)
    return chi2_counts(ref, cur)


def chi2_counts(ref: FloatArray, cur: FloatArray) -> tuple[float, float]:
    """:func:`chi2` of float64 counts already checked."""
    seen = (ref > 0) | (cur > 0)
    # Every category is seen on some side as drift calls it: both rows whole, no copies.
    counts = np.array((ref, cur)) if seen.all() else np.vstack((ref[seen], cur[seen]))
    dof = counts.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: refused below
        rows, columns = _sum(counts, axis=1), _sum(counts, axis=0)
        expected = rows[:, np.newaxis] * columns[np.newaxis, :] / _sum(counts, axis=None)
        observed = counts
        if dof == 1:
            # Yates: move each cell up to 0.5 towards its expectation, never past it.
            gap = expected - observed
            observed = observed + np.minimum(0.5, np.abs(gap)) * np.sign(gap)
        statistic = float(_sum((observed - expected) ** 2 / expected, axis=None))
    if not math.isfinite(statistic):
        # Counts near float64's limit (1e300 in a cell) overflow the expected counts or
        # the squares: the statistic is not a number, which must not read as a verdict.
        # The largest count is the one given, before Yates' correction (NaN there).
        largest = float(np.maximum.reduce(counts, axis=None))
        raise CheckInputError(
            f"the chi-squared statistic of these counts is not finite (the largest count "
            f"is {largest:g}; the expected counts or their squared gaps "
            "overflow float64): give counts, not values near float64's limit"
        )
    return statistic, float(special.chdtrc(dof, statistic))
