"""Two-sample Kolmogorov-Smirnov test: the statistic without a merged sort, SciPy's p-value.

The statistic is found by bounding :math:`|F_a - F_b|` on a coarse grid of the first
sample's indices and refining only the intervals that could still hold the maximum, in
exact integer arithmetic (so it is correctly rounded, where SciPy's asymptotic regime may
differ from it in the last bit: see :func:`ks`). The p-value
follows SciPy's ``ks_2samp(method="auto")`` bit for bit where SciPy's own routines exist;
its O(n) asymptotic regime is replaced by a 1024-node quadrature.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as _sps

from modelship.checks.stats._columns import FloatArray, Index, dot, sorted_column

__all__ = ["ks"]

# SciPy's ``method="auto"`` rule: exact p-values up to this sample size.
_KS_EXACT_MAX_N = 10_000
# Below this, exp() underflows to zero (SciPy's MINLOG).
_LOG_UNDERFLOW = -708.3964185322641


def ks_numerator(a: FloatArray, b: FloatArray, grid_keys: int = 768) -> int:
    """``n * m * max_x |F_a(x) - F_b(x)|``, an exact integer, for sorted ``a`` and ``b``.

    Evaluating the two empirical CDFs at every pooled point needs a merge, which costs as
    much as a sort. The maximum is found from ``a``'s side alone: ``F_a - F_b`` rises only
    at values of ``a``, and ``F_b - F_a`` peaks just before one, so with
    ``c_i = #{b <= a_i}`` and ``s_i = #{b < a_i}`` the numerator is the largest of 0,
    ``rise_i = (i + 1) m - c_i n`` and ``fall_i = s_i n - i m`` over the indices ``i`` of
    ``a`` (within a tie run, the index under-counts everywhere but at the run's end, or its
    start, where the maximum sits). ``c`` and ``s`` are found by binary search at about
    ``grid_keys`` indices per round. Between two evaluated indices ``lo < hi`` no index can
    exceed ``max(rise_lo, fall_hi) + (hi - lo - 1) m``, so an interval whose bound cannot
    beat the best value seen is dropped and the rest are cut finer (every one of them at
    least in two), down to single indices. Integer arithmetic keeps the maximum exact.
    768 keys a round, the first a plain grid: at 10,000 to 1,000,000 values a side, two to
    four rounds (measured hot in cache on this 2-core VM: 0.05 ms at 10,000 and 0.4 ms at a
    million, against 0.17 ms and 1.3 ms for the former grid over both samples' values;
    about twice that inside a table's run, where each column's searches start cold).
    """
    n, m = a.size, b.size
    # The first round: a plain grid over all of a, its ends included, so its intervals are
    # the grid's neighbours (cheaper to form than the pieces of later rounds).
    step = max(1, -(-n // grid_keys))
    grid = np.arange(0, n + step - 1, step, dtype=np.intp)
    grid[-1] = n - 1
    rise, fall = _rise_and_fall(a, b, grid)
    best = max(0, int(rise.max()), int(fall.max()))
    if step == 1:
        return best
    # Every grid interval but the last has step - 1 inner indices, the last as many or
    # fewer: bounding all by step - 1 keeps every interval the exact bound would (and
    # perhaps the last one more), with one comparison against a constant. The intervals'
    # own sizes are taken for those kept. (Fewer NumPy calls on these small arrays: at
    # 10,000 rows their overhead, not the searches, is most of the statistic's time.)
    kept = (np.maximum(rise[:-1], fall[1:]) > best - (step - 1) * m).nonzero()[0]
    after = kept + 1
    # Open intervals: evaluated indices lo < hi of a, rise at lo and fall at hi.
    lo, hi, rise_lo, fall_hi = grid[kept], grid[after], rise[kept], fall[after]
    inner = hi - lo - 1
    while True:
        total = int(inner.sum())
        if total <= 0:  # n <= 2: both ends were all there was
            return best
        if lo.size > _SCAN_AFTER * grid_keys:
            # The bounds stopped pruning (samples that barely differ: F_a - F_b stays near
            # zero, so every interval could still hold the maximum, and each round would
            # double the keys). One pass over every index costs less than those rounds.
            return max(best, _scan_every_index(a, b))
        step = -(-total // grid_keys)
        if step == 1:  # every index left: evaluated, and done
            index = np.repeat(lo - (np.cumsum(inner) - inner), inner) + np.arange(1, total + 1)
            rise, fall = _rise_and_fall(a, b, index)
            return max(best, int(rise.max()), int(fall.max()))
        # Indices lo + step, lo + 2 step, ... in each interval, or its midpoint when it
        # would take fewer than two: each round at least halves every interval.
        per = inner // step
        stride = np.where(per >= 2, step, (inner + 1) // 2)
        per[per < 2] = 1
        count = int(per.sum())
        before = np.cumsum(per) - per
        index = np.repeat(lo - stride * before, per) + np.repeat(stride, per) * np.arange(
            1, count + 1
        )
        rise, fall = _rise_and_fall(a, b, index)
        best = max(best, int(rise.max()), int(fall.max()))
        # Each interval's pieces: from lo to its first new index, between new indices, and
        # from its last new index to hi.
        starts = before + np.arange(lo.size)
        size = count + lo.size
        first = np.zeros(size, dtype=bool)
        first[starts] = True
        last = np.zeros(size, dtype=bool)
        last[starts + per] = True
        sub_lo, sub_rise = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.intp)
        sub_hi, sub_fall = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.intp)
        sub_lo[first], sub_rise[first] = lo, rise_lo
        sub_hi[last], sub_fall[last] = hi, fall_hi
        inside = ~first
        sub_lo[inside], sub_rise[inside] = index, rise
        inside = ~last
        sub_hi[inside], sub_fall[inside] = index, fall
        inner = sub_hi - sub_lo - 1
        bound = np.maximum(sub_rise, sub_fall) + inner * m
        kept = ((bound > best) & (inner > 0)).nonzero()[0]
        lo, hi, rise_lo, fall_hi, inner = (
            v[kept] for v in (sub_lo, sub_hi, sub_rise, sub_fall, inner)
        )


# When more intervals than this many rounds' keys are still open, the rest is a scan.
_SCAN_AFTER = 4
# Indices per block of that scan: its temporaries stay a few MB whatever the sample size.
_SCAN_BLOCK = 1 << 16


def _scan_every_index(a: FloatArray, b: FloatArray) -> int:
    """The largest rise or fall over every index of ``a``, block by block (0 at once for
    two equal samples, such as a column compared with itself)."""
    if a.size == b.size and np.array_equal(a, b):
        return 0
    best = 0
    for start in range(0, a.size, _SCAN_BLOCK):  # bounded: a.size / _SCAN_BLOCK blocks
        index = np.arange(start, min(start + _SCAN_BLOCK, a.size), dtype=np.intp)
        rise, fall = _rise_and_fall(a, b, index)
        best = max(best, int(rise.max()), int(fall.max()))
    return best


def _rise_and_fall(a: FloatArray, b: FloatArray, index: Index) -> tuple[Index, Index]:
    """``(i + 1) m - #{b <= a_i} n`` and ``#{b < a_i} n - i m`` for each ``i`` in ``index``
    (the two counts differ only where ``a_i`` is also a value of ``b``)."""
    n, m = a.size, b.size
    keys = a[index]
    at_or_below: Index = b.searchsorted(keys, "right")
    # at_or_below == 0 reads b[-1], which is above the key: never a false hit.
    tie = b[at_or_below - 1] == keys
    below = at_or_below
    if tie.any():  # rare for continuous data: asked before the hits are listed
        hit = tie.nonzero()[0]
        below = at_or_below.copy()
        below[hit] = b.searchsorted(keys[hit], "left")
    steps = index * m
    rise = steps + m
    rise -= at_or_below * n
    fall = below * n
    fall -= steps
    return rise, fall


def ks(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test, two-sided: ``(statistic, p-value)``.

    Equals ``scipy.stats.ks_2samp(a, b)`` with its default ``method="auto"``: the exact
    p-value when both samples have at most 10,000 values, else the asymptotic one
    (``scipy.stats.kstwo`` at the effective size ``round(n*m/(n+m))``). When the exact
    computation is numerically impossible the asymptotic p-value is used, as SciPy does.
    The statistic is the exact maximum ``k / (n m)``, correctly rounded. SciPy's is the
    difference of two rounded CDF values: in its exact regime it snaps that to the same
    lattice value, so the two are equal; in its asymptotic regime (a sample over 10,000
    values) SciPy's may differ from it in the last bit (``n=10001, m=3``: 0.5584441555844416
    here, 0.5584441555844415 in SciPy). The p-value is SciPy's for the same statistic, bit
    for bit except for two samples of equal size, where it agrees to 2e-12 relative (a
    faster series) below 1 - 1e-10 and bit for bit above.

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


# Up to this many terms the Birnbaum-Tingey sum is summed term by term.
_SMIRNOV_EXACT_TERMS = 4096


def _smirnov_sf(n: int, x: float) -> float:
    """``scipy.special.smirnov(n, x)``, ``P(D_n^+ >= x)``, for ``1/n < x < 1/2``.

    The Birnbaum-Tingey sum ``sum_{j <= n(1-x)} C(n, j) x (x + j/n)^(j-1) (1 - x - j/n)^(n-j)``
    is summed in logarithms. Its terms are a smooth bump about ``sqrt(n) / (4x)`` wide,
    negligible at both ends once ``n x`` is large, so for large ``n`` a 1024-node
    trapezoid rule on the same function of a real ``j`` equals the sum (trapezoid sums of
    smooth, decayed integrands converge geometrically). Over the whole regime the terms
    within ``exp(-45)`` of the largest span at least a quarter of ``[0, n(1 - x)]``, so at
    least 256 nodes fall on the bump: the result is within 2e-10 of a 4096-node rule's
    (checked over ``n`` from 4,097 to a million and ``n x^2`` from 2.2 to 370), at 30 us
    instead of 80 us. Either agrees with SciPy's double-double sum to about ``n * 3e-15``
    relative (log-gamma rounding). Like SciPy, use ``exp(-(6nx+1)^2 / 18n)`` above
    n = 1,000,000 and 0 where ``exp(-2nx^2)`` underflows.
    """
    if -2.0 * n * x * x < _LOG_UNDERFLOW:
        return 0.0
    if n > 1_000_000:
        return math.exp(-((6.0 * n * x + 1.0) ** 2) / 18.0 / n)
    top = n * (1.0 - x)
    nodes = 1024
    if n * x * (1.0 - 1.5 * x) >= 60.0 and top > _SMIRNOV_EXACT_TERMS:
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
    signs = _alternating(n)[: terms.size]
    return 2.0 * dot(signs[::-1], terms[::-1])  # smallest terms first


@functools.lru_cache(maxsize=8)
def _alternating(n: int) -> FloatArray:
    """``1, -1, 1, ...``, ``n`` of them."""
    # Filled, not computed from a parity test: the same numbers at a tenth of the cost of
    # np.where over np.arange(n) % 2, which a first drift check in a process pays.
    signs = np.ones(n)
    signs[1::2] = -1.0
    signs.flags.writeable = False
    return signs


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
