"""Two-sample Kolmogorov-Smirnov test: the statistic without a merged sort, SciPy's p-value.

The statistic is found by bounding :math:`|F_a - F_b|` on a coarse grid and refining only
the intervals that could still hold the maximum, in exact integer arithmetic. The p-value
follows SciPy's ``ks_2samp(method="auto")`` bit for bit where SciPy's own routines exist;
its O(n) asymptotic regime is replaced by a 4096-node quadrature.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as _sps

from modelship.checks.stats._columns import FloatArray, Index, sorted_column

__all__ = ["ks"]

# SciPy's ``method="auto"`` rule: exact p-values up to this sample size.
_KS_EXACT_MAX_N = 10_000
# Below this, exp() underflows to zero (SciPy's MINLOG).
_LOG_UNDERFLOW = -708.3964185322641


def ks_numerator(a: FloatArray, b: FloatArray, grid_keys: int = 2048) -> int:
    """``n * m * max_x |F_a(x) - F_b(x)|``, an exact integer, for sorted ``a`` and ``b``.

    Evaluating the two empirical CDFs at every pooled point needs a merge, which costs as
    much as a sort. Instead, the pooled line is cut into intervals at grid points where
    both CDFs are found by binary search. On an interval ``(x0, x1]`` every value of
    ``F_a - F_b`` lies between ``F_a(x0) - F_b(x1)`` and ``F_a(x1) - F_b(x0)``, so an
    interval whose bound cannot beat the best value seen so far is dropped, and the rest
    are cut finer, at their own values strictly below ``x1``, down to single points.
    Integer arithmetic keeps the maximum exact. About ``grid_keys`` points are evaluated
    per round (2048: a few rounds, each cheap).
    """
    n, m = a.size, b.size
    # Open intervals (x0, x1]: counts of a and b at x0 (lo) and at x1 (hi), counts strictly
    # below x1 (top: the values a[lo:top] and b[lo:top] are the points still to check),
    # and x1 itself.
    x_hi = np.array([max(a[-1], b[-1])])
    a_lo = np.zeros(1, dtype=np.intp)
    b_lo = np.zeros(1, dtype=np.intp)
    a_hi = np.full(1, n, dtype=np.intp)
    b_hi = np.full(1, m, dtype=np.intp)
    a_top = _count_below(a, x_hi, a_hi)
    b_top = _count_below(b, x_hi, b_hi)
    best = 0
    while True:
        sizes = (a_top - a_lo) + (b_top - b_lo)
        # Cap the step so the largest interval always gets split: every round progresses.
        step = max(1, min(-(-int(sizes.sum()) // grid_keys), int(sizes.max()) // 4))
        ia = _strided_ranges(a_lo, a_top, step)
        ib = _strided_ranges(b_lo, b_top, step)
        from_a, from_b = a[ia], b[ib]
        # A key taken from a knows its own count in a; only its count in b needs a search.
        keys = np.concatenate((from_a, from_b, x_hi))
        ca = np.concatenate((_count_at_or_below(a, ia), a.searchsorted(from_b, "right"), a_hi))
        cb = np.concatenate((b.searchsorted(from_a, "right"), _count_at_or_below(b, ib), b_hi))
        order = np.argsort(keys, kind="stable")
        keys, ca, cb = keys[order], ca[order], cb[order]
        best = max(best, int(np.abs(ca * m - cb * n).max()))
        if step == 1:  # every point of every open interval has been evaluated
            return best
        # Each key closes the sub-interval opened by the previous key of the same parent.
        parent = np.searchsorted(x_hi, keys, side="left")
        first = np.ones(keys.size, dtype=bool)
        first[1:] = parent[1:] != parent[:-1]
        ca0 = np.empty_like(ca)
        cb0 = np.empty_like(cb)
        ca0[1:] = ca[:-1]
        cb0[1:] = cb[:-1]
        ca0[first] = a_lo[parent[first]]
        cb0[first] = b_lo[parent[first]]
        bound = np.maximum(ca * m - cb0 * n, cb * n - ca0 * m)
        kept = np.flatnonzero(bound > best)
        if kept.size == 0:
            return best
        x_hi, a_lo, b_lo, a_hi, b_hi = keys[kept], ca0[kept], cb0[kept], ca[kept], cb[kept]
        a_top = _count_below(a, x_hi, a_hi)
        b_top = _count_below(b, x_hi, b_hi)
        # An interval with no value strictly inside (only ties of x1) is done.
        still_open = np.flatnonzero((a_top > a_lo) | (b_top > b_lo))
        if still_open.size == 0:
            return best
        x_hi, a_lo, b_lo, a_hi, b_hi = (v[still_open] for v in (x_hi, a_lo, b_lo, a_hi, b_hi))
        a_top, b_top = a_top[still_open], b_top[still_open]


def _count_at_or_below(x: FloatArray, index: Index) -> Index:
    """``#{x <= x[index]}`` for sorted ``x``: ``index + 1`` unless a tie runs on past it."""
    counts = index + 1
    tied = np.flatnonzero(x[np.minimum(counts, x.size - 1)] == x[index])
    tied = tied[counts[tied] < x.size]
    counts[tied] = x.searchsorted(x[index[tied]], "right")
    return counts


def _count_below(x: FloatArray, keys: FloatArray, at_or_below: Index) -> Index:
    """``#{x < key}`` given ``#{x <= key}``: the same unless the key's value occurs in x."""
    counts: Index = at_or_below.copy()
    hit = np.flatnonzero(x[np.maximum(at_or_below - 1, 0)] == keys)
    hit = hit[at_or_below[hit] > 0]
    counts[hit] = x.searchsorted(keys[hit], "left")
    return counts


def _strided_ranges(lo: Index, hi: Index, step: int) -> Index:
    """Indices ``lo + step - 1, lo + 2*step - 1, ... < hi`` of every range, concatenated."""
    per_range = (hi - lo) // step
    total = int(per_range.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    starts = np.repeat(lo + (step - 1) - step * (np.cumsum(per_range) - per_range), per_range)
    return starts + step * np.arange(total, dtype=np.intp)


def ks(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test, two-sided: ``(statistic, p-value)``.

    Equals ``scipy.stats.ks_2samp(a, b)`` with its default ``method="auto"``: the exact
    p-value when both samples have at most 10,000 values, else the asymptotic one
    (``scipy.stats.kstwo`` at the effective size ``round(n*m/(n+m))``). When the exact
    computation is numerically impossible the asymptotic p-value is used, as SciPy does.
    The statistic is SciPy's exactly; the p-value is SciPy's bit for bit except for two
    samples of equal size, where it agrees to 2e-12 relative (a faster series) below
    1 - 1e-10 and bit for bit above.

    Parameters
    ----------
    a, b : array_like
        Reference and current samples, sorted, finite, float64 (see :func:`sorted_finite`).

    Returns
    -------
    statistic : float
        :math:`\\max_x |F_a(x) - F_b(x)|` of the two empirical CDFs, in [0, 1].
    pvalue : float
        Probability of a statistic at least this large when both samples come from one
        continuous distribution.

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not sorted or not finite.

    Examples
    --------
    >>> d, p = ks([1.0, 2.0, 3.0, 4.0], [3.5, 5.0, 6.0])
    >>> round(d, 4), round(p, 4)
    (0.75, 0.2286)
    """
    a = sorted_column(a, "a")
    b = sorted_column(b, "b")
    return ks_pvalue(ks_numerator(a, b) / (a.size * b.size), a.size, b.size)


def ks_pvalue(d: float, n: int, m: int) -> tuple[float, float]:
    """SciPy's ``ks_2samp`` p-value (two-sided, ``method="auto"``) for statistic ``d``.

    Returns the statistic too: in exact mode SciPy snaps it to the lattice ``h / lcm(n, m)``.
    """
    if max(n, m) <= _KS_EXACT_MAX_N:
        g = math.gcd(n, m)
        lcm = (n // g) * m
        h = round(d * lcm)
        d = h / lcm
        if h == 0:
            return d, 1.0
        p = _ks_exact_sf(n, m, h)
        if 0.0 <= p <= 1.0:
            return d, p
    big, small = (float(n), float(m)) if n >= m else (float(m), float(n))
    effective_n = float(np.round(big * small / (big + small)))
    return d, min(max(_kstwo_sf(d, effective_n), 0.0), 1.0)


def _kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``, with its two slow regimes computed fast.

    SciPy picks an algorithm by ``n`` and ``n * d**2`` (Simard & L'Ecuyer 2011). Two of
    its choices cost O(n) or worse: ``2 * smirnov(n, d)`` for ``2.2 <= n d^2 < 370``
    (0.5 s at n = 500,000) and a matrix power for tiny ``d`` with ``n <= 100,000``. The
    first is replaced by :func:`_smirnov_sf`; in the second, for ``n > 30,000`` the
    CDF is below 3.1e-10 (checked against SciPy at the boundary of that regime), so the
    survival function is 1 to that accuracy. Every other case is cheap and left to SciPy's
    own routine, called without ``kstwo``'s argument handling (bit for bit the same).
    """
    t = n * d
    if n > 140 and 0.0 < d < 0.5 and 1.0 < t < n - 1:
        nx2 = t * d
        if 2.2 <= nx2 < 370.0:
            return min(2.0 * _smirnov_sf(int(n), d), 1.0)
        if nx2 < 2.2 and 30_000 < n <= 100_000 and n * d**1.5 <= 1.4:
            return 1.0
    if _scipy_kolmogn is not None:
        # What kstwo.sf computes, without ~0.1 ms of argument handling per call.
        return float(_scipy_kolmogn(int(n), d, cdf=False))
    return float(_sps.kstwo.sf(d, n))  # pragma: no cover - depends on SciPy's private layout


try:
    from scipy.stats._ksstats import _kolmogn as _scipy_kolmogn
except ImportError:  # pragma: no cover - depends on SciPy's private layout
    _scipy_kolmogn = None


def _smirnov_sf(n: int, x: float) -> float:
    """``scipy.special.smirnov(n, x)``, ``P(D_n^+ >= x)``, for ``1/n < x < 1/2``.

    The Birnbaum-Tingey sum ``sum_{j <= n(1-x)} C(n, j) x (x + j/n)^(j-1) (1 - x - j/n)^(n-j)``
    is summed in logarithms. Its terms are a smooth bump about ``sqrt(n) / (4x)`` wide,
    negligible at both ends once ``n x`` is large, so for large ``n`` a 4096-node
    trapezoid rule on the same function of a real ``j`` equals the sum (trapezoid sums of
    smooth, decayed integrands converge geometrically). The result agrees with SciPy's
    double-double sum to about ``n * 1e-15`` relative (log-gamma rounding). Like SciPy,
    use ``exp(-(6nx+1)^2 / 18n)`` above n = 1,000,000 and 0 where ``exp(-2nx^2)``
    underflows.
    """
    if -2.0 * n * x * x < _LOG_UNDERFLOW:
        return 0.0
    if n > 1_000_000:
        return math.exp(-((6.0 * n * x + 1.0) ** 2) / 18.0 / n)
    top = n * (1.0 - x)
    nodes = 4096
    if n * x * (1.0 - 1.5 * x) >= 60.0 and top > nodes:
        # The end terms are below exp(-60) of the sum; the step is tiny against the width.
        j = np.arange(nodes, dtype=np.float64) * (top / nodes)
        width = top / nodes
    else:
        j = np.arange(math.floor(top) + 1, dtype=np.float64)
        width = 1.0
    with np.errstate(divide="ignore"):  # the last term can be exactly 0
        log_terms = (
            special.gammaln(n + 1.0)
            - special.gammaln(j + 1.0)
            - special.gammaln(n - j + 1.0)
            + math.log(x)
            + (j - 1.0) * np.log(x + j / n)
            + (n - j) * np.log1p(-(x + j / n))
        )
    peak = float(log_terms.max())
    return math.exp(peak) * width * float(np.exp(log_terms - peak).sum())


# SciPy's exact two-sample KS null distribution is private: a Python series for equal
# sizes and a compiled (Pythran) lattice-path recursion for unequal ones. For unequal
# sizes we call SciPy's recursion when it exists, for two reasons: SciPy switches to the
# asymptotic p-value exactly when it returns a value that rounded outside [0, 1], so only
# the same routine reproduces that choice bit for bit, and it is 3-10x faster than the
# NumPy fallback below. For equal sizes SciPy's series is a Python loop of n steps (1.5 ms
# per column at n = 10,000); ours reads a table of log binomial ratios built once per size
# (0.1 ms) and agrees with SciPy's to 2e-12 relative. Within 1e-10 of 1, SciPy's own
# rounding decides (above 1, it takes the asymptotic p-value, 4e-5 lower at n = 7), so
# there its series is called after all: rare, as it needs a statistic of a few 1/n.
_NEAR_ONE = 1.0 - 1e-10
try:
    from scipy.stats._stats_py import _compute_prob_outside_square as _scipy_ks_equal
except ImportError:  # pragma: no cover - depends on SciPy's private layout
    _scipy_ks_equal = None
try:
    from scipy.stats._stats_pythran import (
        _compute_outer_prob_inside_method as _scipy_ks_outside,
    )
except ImportError:  # pragma: no cover - depends on SciPy's private layout
    _scipy_ks_outside = None


def _ks_exact_sf(n: int, m: int, h: int) -> float:
    """``P(D >= h / lcm(n, m))`` under the null, as SciPy computes it."""
    if n == m:
        p = _ks_exact_sf_equal(n, h)
        if p > _NEAR_ONE and _scipy_ks_equal is not None:
            return float(_scipy_ks_equal(n, h))
        return p
    if _scipy_ks_outside is not None:
        return float(_scipy_ks_outside(n, m, math.gcd(n, m), h))
    return _ks_exact_sf_numpy(n, m, h)  # pragma: no cover - exercised directly in tests


@functools.lru_cache(maxsize=8)
def _log_binomial_ratios(n: int) -> FloatArray:
    """``log C(2n, n-i-1) / C(2n, n)`` for ``i = 0..n-1``: one table per sample size,
    shared by every column (and every thread) of that size."""
    j = np.arange(n, dtype=np.float64)
    table = np.cumsum(np.log(n - j) - np.log(n + j + 1.0))
    table.flags.writeable = False
    return table


def _ks_exact_sf_equal(n: int, h: int) -> float:
    """``P(D >= h/n)`` for two samples of size ``n``: the reflection-principle series.

    ``P = 2 * sum_{k>=1} (-1)^(k+1) C(2n, n-kh) / C(2n, n)``; each ratio of binomials is a
    product ``prod_{j<kh} (n-j)/(n+j+1)``, summed in logarithms to stay in range.
    """
    terms = np.exp(_log_binomial_ratios(n)[h - 1 :: h])  # k = 1, 2, ..., floor(n/h)
    signs = np.where(np.arange(terms.size) % 2 == 0, 1.0, -1.0)
    return float(2.0 * np.dot(signs[::-1], terms[::-1]))  # smallest terms first


def _ks_exact_sf_numpy(n: int, m: int, h: int) -> float:
    """``P(D >= h / lcm(n, m))``, by pushing probability along the lattice of paths.

    The pooled sample in sorted order is a lattice path from (0, 0) to (n, m): a step in x
    for each value of the first sample. Under the null every path is equally likely, so a
    path is a draw without replacement: from (x, y) it steps in x with probability
    ``(n - x) / (n + m - x - y)``. The statistic reaches ``h / lcm`` exactly when the path
    leaves the band ``|x * m' - y * n'| < h`` (``n' = n/g, m' = m/g``). The mass still inside
    the band is carried one anti-diagonal at a time, and the mass that leaves it summed:
    a sum of positive terms, accurate even for tiny p-values.
    """
    g = math.gcd(n, m)
    ng, mg = n // g, m // g
    total = n + m
    mass = np.zeros(n + 2)
    mass[0] = 1.0
    lo = hi = 0  # the inside points of the current anti-diagonal s = x + y: x in [lo, hi]
    outside = 0.0
    for s in range(total):
        x = np.arange(lo, hi + 1, dtype=np.float64)
        here = mass[lo : hi + 1].copy()
        mass[lo : hi + 2] = 0.0
        mass[lo : hi + 1] += here * (m - (s - x)) / (total - s)  # step in y
        mass[lo + 1 : hi + 2] += here * (n - x) / (total - s)  # step in x
        # Inside points of diagonal s + 1, where y = s + 1 - x:
        # (s+1)*n' - h < x*(n' + m') < (s+1)*n' + h, and 0 <= x <= n, 0 <= y <= m.
        s1 = s + 1
        new_lo = max((s1 * ng - h) // (ng + mg) + 1, s1 - m, 0)
        new_hi = min(-((-(s1 * ng + h)) // (ng + mg)) - 1, s1, n)
        if new_hi < new_lo:  # no path stays inside
            return min(outside + float(mass[lo : hi + 2].sum()), 1.0)
        outside += float(mass[lo:new_lo].sum()) + float(mass[new_hi + 1 : hi + 2].sum())
        mass[lo:new_lo] = 0.0
        mass[new_hi + 1 : hi + 2] = 0.0
        lo, hi = new_lo, new_hi
    return min(outside, 1.0)
