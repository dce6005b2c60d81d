"""Two-sample drift statistics on sorted columns, exact or against a reference summary.

Every numeric function takes columns that are already **sorted, finite, float64, 1-D and
C-contiguous**, as :func:`sorted_finite` returns them, so that a column is sorted once and
every statistic reuses that order. Functions check that promise (one cheap pass) and raise
:class:`~modelship.errors.CheckInputError` when it is broken, and
:class:`~modelship.errors.EmptyData` when a sample has no values.

The figures agree with SciPy's reference implementations (``ks_2samp``,
``wasserstein_distance``, ``cramervonmises_2samp``, ``chi2_contingency``,
``scipy.spatial.distance.jensenshannon``), including their choice between exact and
asymptotic p-values, but are computed without a merged sort of the two samples:

* the KS statistic is found by bounding :math:`|F_a - F_b|` on a coarse grid and refining
  only the intervals that could still hold the maximum, in exact integer arithmetic;
* the Wasserstein distance is integrated over quantile levels,
  :math:`\\int_0^1 |Q_a(u) - Q_b(u)|\\,du`, which needs no merge at all;
* PSI and Jensen-Shannon use the same bins, bounded by reference quantiles, so they cost
  two binary searches per edge;
* SciPy's asymptotic KS p-value costs O(n) for large samples (0.5 s at n = 500,000); the
  same number is computed here with a 4096-node quadrature.

When only a :class:`~modelship.checks._sketch.QuantileSummary` of the reference is kept
(a drift profile), ``ks_from_summary``, ``wasserstein_from_summary`` and
``psi_from_summary`` give the statistics within proven bounds of the exact ones.

Examples
--------
>>> import numpy as np
>>> from modelship.checks import stats
>>> rng = np.random.default_rng(0)
>>> ref = stats.sorted_finite(rng.normal(size=2_000))
>>> cur = stats.sorted_finite(rng.normal(0.5, 1.0, size=1_500))
>>> drift = stats.numeric_drift(ref, cur)
>>> drift.ks_p < 1e-6, drift.psi > drift.psi_critical
(True, True)
"""

from __future__ import annotations

import functools
import math
import weakref
from fractions import Fraction
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as _sps

from modelship.checks._sketch import QuantileSummary
from modelship.errors import CheckInputError, ConfigError, EmptyData

__all__ = [
    "NumericDrift",
    "QuantileSummary",
    "adjust_p_values",
    "population_std",
    "binned_counts",
    "chi2",
    "cramervonmises",
    "jensen_shannon",
    "ks",
    "ks_from_summary",
    "numeric_drift",
    "psi",
    "psi_critical_value",
    "psi_from_summary",
    "quantile_edges",
    "sorted_finite",
    "two_proportion",
    "wasserstein",
    "wasserstein_from_summary",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_Index = npt.NDArray[np.intp]

PValueMethod = Literal["bh", "holm", "bonferroni", "none"]
_P_VALUE_METHODS: tuple[str, ...] = ("bh", "holm", "bonferroni", "none")

# SciPy's ``method="auto"`` rules: exact p-values up to these sample sizes.
_KS_EXACT_MAX_N = 10_000
_CVM_EXACT_MAX_N = 20
# Below this, exp() underflows to zero (SciPy's MINLOG).
_LOG_UNDERFLOW = -708.3964185322641


# --- input handling ----------------------------------------------------------------------


def sorted_finite(x: npt.ArrayLike) -> FloatArray:
    """Return the finite values of ``x`` as a sorted, contiguous float64 array.

    NaN and ±inf are dropped. The result is what every other numeric function here
    expects, so a column is sorted once and each statistic reuses that order.

    Parameters
    ----------
    x : array_like
        One-dimensional numeric data (a list, a NumPy array, a pandas Series, ...).

    Returns
    -------
    numpy.ndarray
        A new float64 array, sorted ascending, C-contiguous and read-only (so the
        statistics can trust its order without checking it again); empty when ``x``
        holds no finite value.

    Raises
    ------
    CheckInputError
        If ``x`` is not one-dimensional or cannot be converted to float64.

    Examples
    --------
    >>> sorted_finite([3, float("nan"), -1.5, float("inf"), 2])
    array([-1.5,  2. ,  3. ])
    """
    try:
        values = np.array(x, dtype=np.float64)  # always a fresh copy: sorted in place below
    except (TypeError, ValueError) as exc:
        raise CheckInputError(f"values cannot be converted to float64: {exc}") from None
    if values.ndim != 1:
        raise CheckInputError(f"expected one-dimensional values, got shape {values.shape}")
    values.sort()
    # np.sort orders -inf first and +inf, then NaN, last: the finite values are one slice.
    lo = int(np.searchsorted(values, -np.inf, side="right"))
    hi = int(np.searchsorted(values, np.inf, side="left"))
    values.flags.writeable = False  # the slice cannot be made writeable again either
    finite = values[lo:hi]
    _VOUCHED[id(finite)] = finite
    return finite


# Arrays returned by sorted_finite(), read-only since: the statistics skip re-checking
# them, a pass over memory that costs ~0.4 ms per million values.
_VOUCHED: weakref.WeakValueDictionary[int, FloatArray] = weakref.WeakValueDictionary()


def _sorted_column(x: npt.ArrayLike, name: str) -> FloatArray:
    """``x`` as a float64 contiguous array, after checking it is non-empty, sorted, finite."""
    vouched = _VOUCHED.get(id(x))
    if vouched is x and vouched is not None and not vouched.flags.writeable:
        if vouched.size == 0:
            raise EmptyData(f"{name} has no values to compare")
        return vouched
    values = np.ascontiguousarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise CheckInputError(f"{name} must be one-dimensional, got shape {values.shape}")
    if values.size == 0:
        raise EmptyData(f"{name} has no values to compare")
    if not (math.isfinite(values[0]) and math.isfinite(values[-1])) or (
        values.size > 1 and not bool(np.all(values[1:] >= values[:-1]))  # False on NaN too
    ):
        raise CheckInputError(
            f"{name} must be sorted ascending and finite; pass it through sorted_finite() first"
        )
    return values


def _counts(x: npt.ArrayLike, name: str) -> FloatArray:
    """Non-negative finite counts as a 1-D float64 array, with a positive total."""
    counts = np.asarray(x, dtype=np.float64)
    if counts.ndim != 1:
        raise CheckInputError(f"{name} must be one-dimensional, got shape {counts.shape}")
    if not bool(np.all(np.isfinite(counts))) or bool(np.any(counts < 0)):
        raise CheckInputError(f"{name} must hold finite, non-negative counts")
    if counts.size == 0 or not counts.sum() > 0:
        raise EmptyData(f"{name} has no observations (its counts sum to zero)")
    return counts


def _count_pair(
    ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    ref = _counts(ref_counts, "ref_counts")
    cur = _counts(cur_counts, "cur_counts")
    if ref.shape != cur.shape:
        raise CheckInputError(
            f"ref_counts and cur_counts must have one count per category each, got "
            f"{ref.size} and {cur.size}"
        )
    return ref, cur


def _check_at_least_two(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2:
        raise ConfigError(f"{name} must be an integer >= 2, got {name}={value!r}")


def _check_bins(bins: int) -> None:
    _check_at_least_two(bins, "bins")


def _check_eps(eps: float) -> None:
    if not 0.0 < eps < 1.0:
        raise ConfigError(f"eps must be in (0, 1), got eps={eps!r}")


# --- Kolmogorov-Smirnov --------------------------------------------------------------------


def _ks_numerator(a: FloatArray, b: FloatArray, grid_keys: int = 2048) -> int:
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


def _count_at_or_below(x: FloatArray, index: _Index) -> _Index:
    """``#{x <= x[index]}`` for sorted ``x``: ``index + 1`` unless a tie runs on past it."""
    counts = index + 1
    tied = np.flatnonzero(x[np.minimum(counts, x.size - 1)] == x[index])
    tied = tied[counts[tied] < x.size]
    counts[tied] = x.searchsorted(x[index[tied]], "right")
    return counts


def _count_below(x: FloatArray, keys: FloatArray, at_or_below: _Index) -> _Index:
    """``#{x < key}`` given ``#{x <= key}``: the same unless the key's value occurs in x."""
    counts: _Index = at_or_below.copy()
    hit = np.flatnonzero(x[np.maximum(at_or_below - 1, 0)] == keys)
    hit = hit[at_or_below[hit] > 0]
    counts[hit] = x.searchsorted(keys[hit], "left")
    return counts


def _strided_ranges(lo: _Index, hi: _Index, step: int) -> _Index:
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
    a = _sorted_column(a, "a")
    b = _sorted_column(b, "b")
    return _ks_pvalue(_ks_numerator(a, b) / (a.size * b.size), a.size, b.size)


def _ks_pvalue(d: float, n: int, m: int) -> tuple[float, float]:
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
    survival function is 1 to that accuracy. Every other case is cheap and left to SciPy.
    """
    t = n * d
    if n > 140 and 0.0 < d < 0.5 and 1.0 < t < n - 1:
        nx2 = t * d
        if 2.2 <= nx2 < 370.0:
            return min(2.0 * _smirnov_sf(int(n), d), 1.0)
        if nx2 < 2.2 and 30_000 < n <= 100_000 and n * d**1.5 <= 1.4:
            return 1.0
    return float(_sps.kstwo.sf(d, n))


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
# sizes and a compiled (Pythran) lattice-path recursion for unequal ones. We call them
# when they exist, for two reasons. SciPy switches to the asymptotic p-value exactly when
# these return a value that rounded outside [0, 1] (for equal sizes that happens at about
# 40% of the n with h = 1, 2, 3...), so only the same routines reproduce its choice bit for
# bit. And the compiled recursion is 3-10x faster than the NumPy fallback below. Our own
# implementations are used when SciPy moves them, and are tested against them.
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
    """``P(D >= h / lcm(n, m))`` under the null, as SciPy computes it when it can."""
    if n == m:
        if _scipy_ks_equal is not None:
            return float(_scipy_ks_equal(n, h))
        return _ks_exact_sf_equal(n, h)  # pragma: no cover - exercised directly in tests
    if _scipy_ks_outside is not None:
        return float(_scipy_ks_outside(n, m, math.gcd(n, m), h))
    return _ks_exact_sf_numpy(n, m, h)  # pragma: no cover - exercised directly in tests


def _ks_exact_sf_equal(n: int, h: int) -> float:
    """``P(D >= h/n)`` for two samples of size ``n``: the reflection-principle series.

    ``P = 2 * sum_{k>=1} (-1)^(k+1) C(2n, n-kh) / C(2n, n)``; each ratio of binomials is a
    product ``prod_{j<kh} (n-j)/(n+j+1)``, summed in logarithms to stay in range.
    """
    j = np.arange(n, dtype=np.float64)
    log_ratio = np.cumsum(np.log(n - j) - np.log(n + j + 1.0))  # log C(2n, n-i-1)/C(2n, n)
    terms = np.exp(log_ratio[h - 1 :: h])  # k = 1, 2, ..., floor(n/h)
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


# --- Wasserstein ---------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Coupling:
    """How the quantile steps of a larger sample (size N) meet those of a smaller (size M).

    On levels ``(i/N, (i+1)/N]`` the larger sample's quantile is its value ``i``. The
    smaller sample's is its value ``take[i]`` on a share ``w_left[i]`` of the unit
    interval and, where its own step ends inside, value ``take[i] + 1 == take[i + 1]`` on
    a share ``w_right[i]``: for the steps listed in ``split``, or for all steps when
    ``split`` is None (most steps split when M is close to N).
    """

    take: _Index  # N + 1 indices into the smaller sample; the last is M - 1
    w_left: FloatArray
    split: _Index | None
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


def _wasserstein_sorted(a: FloatArray, b: FloatArray) -> float:
    """:math:`\\int_0^1 |Q_a(u) - Q_b(u)| du`, equal to SciPy's integral of |F_a - F_b|.

    Every term is a non-negative product, so the sum is accurate to a few ulps relative
    even when values of very different magnitudes mix. The work goes in cache-sized
    blocks, so no column-sized temporary is allocated.
    """
    big, small = (a, b) if a.size >= b.size else (b, a)
    coupling = None if a.size == b.size else _coupling(big.size, small.size)
    block = 1 << 18  # 2 MB of float64: fits in cache, few Python-level steps
    gaps = np.empty(min(block, big.size))
    matched = np.empty(min(block, big.size) + 1)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, big.size, block):
            stop = min(start + block, big.size)
            part = gaps[: stop - start]
            if coupling is None:  # equal sizes: the quantile steps line up
                np.subtract(big[start:stop], small[start:stop], out=part)
                total += float(np.abs(part, out=part).sum()) / big.size
                continue
            pair = np.take(small, coupling.take[start : stop + 1], out=matched[: part.size + 1])
            np.subtract(big[start:stop], pair[:-1], out=part)
            total += float(np.dot(np.abs(part, out=part), coupling.w_left[start:stop]))
            if coupling.split is None:
                np.subtract(big[start:stop], pair[1:], out=part)
                total += float(np.dot(np.abs(part, out=part), coupling.w_right[start:stop]))
        if coupling is not None and coupling.split is not None:
            split = coupling.split
            right = np.abs(big[split] - small[coupling.take[split + 1]])
            total += float(np.dot(right, coupling.w_right))
    if not math.isfinite(total):
        raise _overflow()
    return total


def _overflow() -> CheckInputError:
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
    return _wasserstein_sorted(_sorted_column(a, "a"), _sorted_column(b, "b"))


# --- Cramér-von Mises -----------------------------------------------------------------------


def cramervonmises(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Cramér-von Mises test: ``(statistic T, p-value)``.

    Equals ``scipy.stats.cramervonmises_2samp(a, b)`` with ``method="auto"``: the exact
    permutation p-value when both samples have at most 20 values, else Anderson's (1962)
    normalised statistic referred to the limiting distribution. Ties get mid-ranks.

    Parameters
    ----------
    a, b : array_like
        Reference and current samples, sorted, finite, float64, at least two values each.

    Returns
    -------
    statistic : float
        Anderson's T.
    pvalue : float
        Probability of a T at least this large when both samples come from one
        continuous distribution.

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample has a single value, or is not sorted or not finite.

    Examples
    --------
    >>> t, p = cramervonmises([1.0, 2.0, 3.0, 4.0], [3.5, 5.0, 6.0])
    >>> round(t, 4), round(p, 4)
    (0.3929, 0.1143)
    """
    return _cramervonmises_sorted(_sorted_column(a, "a"), _sorted_column(b, "b"))


def _cramervonmises_sorted(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    nx, ny = a.size, b.size
    if min(nx, ny) < 2:
        raise CheckInputError(
            f"the Cramér-von Mises test needs at least two values in each sample, got {nx} and {ny}"
        )
    # Anderson's U from the mid-ranks of each sample in the pooled one (1-based):
    # a value with L pooled values below it and R at or below it has mid-rank (L+R+1)/2.
    u = nx * _squared_rank_gaps(a, b) + ny * _squared_rank_gaps(b, a)
    k, big_n = nx * ny, nx + ny
    t = float(u / (k * big_n) - (4 * k - 1) / (6 * big_n))
    if max(nx, ny) <= _CVM_EXACT_MAX_N:
        return t, _cvm_exact_sf(float(u), nx, ny)
    return t, _cvm_asymptotic_sf(t, nx, ny)


def _squared_rank_gaps(x: FloatArray, other: FloatArray) -> float:
    """``sum_i (midrank(x_i) - i)^2`` with ranks in the pool of ``x`` and ``other``."""
    # Within x, a value's tie group spans [first, end): found in one pass, not by search.
    starts_group = np.empty(x.size, dtype=bool)
    starts_group[0] = True
    np.not_equal(x[1:], x[:-1], out=starts_group[1:])
    first = np.flatnonzero(starts_group)
    sizes = np.diff(first, append=x.size)
    below = np.repeat(first, sizes) + np.searchsorted(other, x, side="left")
    at_or_below = np.repeat(first + sizes, sizes) + np.searchsorted(other, x, side="right")
    midranks = (below + at_or_below + 1) / 2.0
    gaps = midranks - np.arange(1, x.size + 1, dtype=np.float64)
    return float(np.sum(gaps * gaps))


def _cvm_exact_sf(u: float, nx: int, ny: int) -> float:
    """Exact ``P(U' >= U)`` over the ``C(nx+ny, nx)`` equally likely orderings.

    With ``L = lcm(nx, ny)``, a pooled ordering is a lattice path and
    ``zeta = sum over its points (i*L/nx - j*L/ny)^2`` is an affine function of U
    (Anderson 1962, eq. 9-10). The distribution of zeta is built point by point; sums
    that already reach the observed value are merged into one bucket, which keeps the
    tables small. The observed zeta is rounded down, as SciPy does, so with ties the
    p-value is the one SciPy reports.
    """
    lcm = math.lcm(nx, ny)
    mn = nx * ny
    # Exact rational arithmetic: u is an exact multiple of 1/4 for these sizes.
    target = math.floor(
        Fraction(lcm**2 * (nx + ny)) * (6 * Fraction(u) - mn * (4 * mn - 1)) / (6 * mn**2)
    )
    if target <= 0:
        return 1.0
    step_x, step_y = lcm // nx, lcm // ny
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    row: list[tuple[IntArray, FloatArray]] = [empty] * (nx + 1)
    for j in range(ny + 1):
        for i in range(nx + 1):
            if i == 0 and j == 0:
                values, counts = np.zeros(1, dtype=np.int64), np.ones(1)
            else:
                left = row[i - 1] if i > 0 else empty
                values, counts = _merge_counts(left, row[i])  # row[i] holds (i, j-1)
            values = values + (i * step_x - j * step_y) ** 2
            cut = int(np.searchsorted(values, target, side="left"))
            if cut < values.size:  # every sum >= target shares one bucket
                values = np.append(values[:cut], target)
                counts = np.append(counts[:cut], counts[cut:].sum())
            row[i] = (values, counts)
    values, counts = row[nx]
    reached = float(counts[values >= target].sum())
    return reached / math.comb(nx + ny, nx)


def _merge_counts(
    first: tuple[IntArray, FloatArray], second: tuple[IntArray, FloatArray]
) -> tuple[IntArray, FloatArray]:
    """Sum two (sorted unique values, counts) tables."""
    values = np.concatenate((first[0], second[0]))
    counts = np.concatenate((first[1], second[1]))
    unique, where = np.unique(values, return_inverse=True)
    summed = np.bincount(where.ravel(), weights=counts, minlength=unique.size)
    return unique.astype(np.int64, copy=False), summed.astype(np.float64, copy=False)


def _cvm_asymptotic_sf(t: float, nx: int, ny: int) -> float:
    """Anderson (1962): normalise T by its exact mean and variance, use the limiting law."""
    n = nx + ny
    k = nx * ny
    mean = (1 + 1 / n) / 6
    var = (n + 1) * (4 * k * n - 3 * (nx**2 + ny**2) - 2 * k) / (45 * n**2 * 4 * k)
    tn = 1 / 6 + (t - mean) / math.sqrt(45 * var)
    if tn < 0.003:  # the limiting CDF is below 1.3e-18 there
        return 1.0
    return max(1.0 - _cvm_limit_cdf(tn), 0.0)


def _cvm_limit_cdf(x: float) -> float:
    """CDF of the limiting one-sample Cramér-von Mises statistic (Csörgő-Faraway eq. 1.2).

    ``sum_k Gamma(k+1/2) / (pi^1.5 Gamma(k+1) sqrt(x)) sqrt(4k+1) exp(-q) K_1/4(q)`` with
    ``q = (4k+1)^2 / (16x)``, truncated after the first term below 1e-7, as SciPy does.
    """
    total = 0.0
    start = 0
    while True:
        k = np.arange(start, start + 64, dtype=np.float64)
        q = (4 * k + 1) ** 2 / (16 * x)
        with np.errstate(under="ignore"):
            terms = (
                np.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1))
                / (math.pi**1.5 * math.sqrt(x))
                * np.sqrt(4 * k + 1)
                * np.exp(-q)
                * special.kv(0.25, q)
            )
        small = np.flatnonzero(np.abs(terms) < 1e-7)
        if small.size:
            return total + float(terms[: small[0] + 1].sum())
        total += float(terms.sum())
        start += 64


# --- binned statistics -----------------------------------------------------------------------


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
        Number of bins wanted (deciles for 10); at least 2.

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
        If ``bins`` is not an integer >= 2.

    Examples
    --------
    >>> quantile_edges([float(v) for v in range(1, 11)], bins=4)
    array([3., 5., 7.])
    >>> quantile_edges([0.0, 0.0, 0.0, 1.0], bins=4)
    array([0.])
    """
    _check_bins(bins)
    return _quantile_edges_sorted(_sorted_column(a, "a"), bins)


def _quantile_edges_sorted(a: FloatArray, bins: int) -> FloatArray:
    index = (np.arange(1, bins, dtype=np.int64) * (a.size - 1)) // bins
    return np.unique(a[index])


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
    values = _sorted_column(x, "x")
    cuts = np.asarray(edges, dtype=np.float64)
    if cuts.ndim != 1 or cuts.size == 0:
        raise CheckInputError(f"edges must be a non-empty 1-D array, got shape {cuts.shape}")
    if not bool(np.all(np.isfinite(cuts))) or not bool(np.all(cuts[1:] > cuts[:-1])):
        raise CheckInputError("edges must be finite and strictly increasing")
    return _binned_counts_sorted(values, cuts)


def _binned_counts_sorted(x: FloatArray, edges: FloatArray) -> IntArray:
    at_or_below = np.searchsorted(x, edges, side="right").astype(np.int64)
    return np.diff(at_or_below, prepend=0, append=x.size)


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
    _check_eps(eps)
    ref, cur = _count_pair(ref_counts, cur_counts)
    return _psi_counts(ref, cur, eps)


def _psi_counts(ref: FloatArray, cur: FloatArray, eps: float) -> float:
    p = np.maximum(ref / ref.sum(), eps)
    q = np.maximum(cur / cur.sum(), eps)
    return float(np.sum((p - q) * np.log(p / q)))


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
    ConfigError
        If ``bins`` < 2 or ``q`` is not in (0, 1).

    Examples
    --------
    >>> round(psi_critical_value(10_000, 10_000, 10), 6)
    0.003384
    """
    _check_bins(bins)
    if not 0.0 < q < 1.0:
        raise ConfigError(f"q must be in (0, 1), got q={q!r}")
    if n < 1 or m < 1:
        raise EmptyData(f"sample sizes must be at least 1, got n={n} and m={m}")
    # chi2.ppf(q, df) is 2 * gammaincinv(df / 2, q); called directly, without the ~0.3 ms
    # of argument handling in scipy.stats' distribution objects.
    return (1.0 / n + 1.0 / m) * 2.0 * float(special.gammaincinv((bins - 1) / 2, q))


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
    ref, cur = _count_pair(ref_counts, cur_counts)
    return _jensen_shannon_counts(ref, cur)


def _jensen_shannon_counts(ref: FloatArray, cur: FloatArray) -> float:
    p = ref / ref.sum()
    q = cur / cur.sum()
    mid = (p + q) / 2.0
    divergence = float(np.sum(special.rel_entr(p, mid)) + np.sum(special.rel_entr(q, mid)))
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
        If the counts are negative, non-finite or not aligned.

    Examples
    --------
    >>> stat, p = chi2([30, 20, 50], [25, 35, 40])
    >>> round(stat, 4), round(p, 4)
    (5.6566, 0.0591)
    """
    ref, cur = _count_pair(ref_counts, cur_counts)
    seen = (ref > 0) | (cur > 0)
    observed = np.vstack((ref[seen], cur[seen]))
    dof = observed.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if dof == 1:
        # Yates: move each cell up to 0.5 towards its expectation, never past it.
        gap = expected - observed
        observed = observed + np.minimum(0.5, np.abs(gap)) * np.sign(gap)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(special.chdtrc(dof, statistic))


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
        If a count is negative or exceeds its number of trials.

    Examples
    --------
    >>> z, p = two_proportion(30, 100, 45, 100)
    >>> round(z, 4), round(p, 4)
    (-2.1909, 0.0285)
    """
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


# --- multiple testing -----------------------------------------------------------------------


def adjust_p_values(p: npt.ArrayLike, method: PValueMethod) -> FloatArray:
    """Adjust a family of p-values for multiple testing.

    ``"bh"`` is Benjamini-Hochberg (controls the false discovery rate; equals
    ``scipy.stats.false_discovery_control(p, method="bh")``), ``"holm"`` is Holm's
    step-down and ``"bonferroni"`` multiplies by the family size (both control the
    family-wise error rate), ``"none"`` returns the p-values unchanged. Results are at
    most 1 and keep the order of the raw p-values. NaN entries stay NaN and do not count
    in the family size.

    Parameters
    ----------
    p : array_like
        P-values in [0, 1] (or NaN), any shape.
    method : {"bh", "holm", "bonferroni", "none"}
        The adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, float64, same shape as ``p``.

    Raises
    ------
    ConfigError
        If ``method`` is not one of the four names.
    CheckInputError
        If a p-value is outside [0, 1].

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03, float("nan")], "bh")
    array([0.03, 0.04, 0.04,  nan])
    >>> adjust_p_values([0.01, 0.04, 0.03], "holm")
    array([0.03, 0.06, 0.06])
    """
    if method not in _P_VALUE_METHODS:
        raise ConfigError(
            f"method={method!r} is not a p-value adjustment; use one of "
            + ", ".join(repr(name) for name in _P_VALUE_METHODS)
        )
    values = np.array(p, dtype=np.float64)  # a copy: the result is written into it
    flat = values.reshape(-1)
    present = np.flatnonzero(~np.isnan(flat))
    raw = flat[present]
    if bool(np.any((raw < 0) | (raw > 1))):
        raise CheckInputError("p-values must lie in [0, 1] (or be NaN)")
    size = raw.size
    if size == 0 or method == "none":
        return values
    if method == "bonferroni":
        flat[present] = np.minimum(raw * size, 1.0)
        return values
    order = np.argsort(raw, kind="stable")
    ranked = raw[order]
    if method == "bh":
        scaled = ranked * size / np.arange(1, size + 1)
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    else:  # holm
        scaled = ranked * np.arange(size, 0, -1)
        adjusted = np.maximum.accumulate(scaled)
    flat[present[order]] = np.minimum(adjusted, 1.0)
    return values


# --- everything at once ---------------------------------------------------------------------


def _readonly_copy(x: npt.ArrayLike) -> FloatArray:
    array = np.array(x, dtype=np.float64)
    array.flags.writeable = False
    return array


@attrs.frozen
class NumericDrift:
    """Every drift statistic of one numeric column, as :func:`numeric_drift` returns it.

    Attributes
    ----------
    ks, ks_p : float
        Kolmogorov-Smirnov statistic and p-value (see :func:`ks`).
    wasserstein : float
        Wasserstein distance in data units (see :func:`wasserstein`).
    wasserstein_norm : float
        ``wasserstein`` divided by the reference's population standard deviation; for a
        constant reference, ``inf`` if the current sample differs from it, else 0.
    cvm, cvm_p : float or None
        Cramér-von Mises statistic and p-value, or None when not asked for.
    psi : float
        Population stability index over the reference-quantile bins.
    js : float
        Jensen-Shannon distance (base 2) over the same bins.
    psi_critical : float
        :func:`psi_critical_value` at q = 0.95 for these sizes and the bins used.
    edges : numpy.ndarray
        The inner bin edges (:func:`quantile_edges`); not compared by ``==``.
    """

    ks: float
    ks_p: float
    wasserstein: float
    wasserstein_norm: float
    cvm: float | None
    cvm_p: float | None
    psi: float
    js: float
    psi_critical: float
    edges: FloatArray = attrs.field(eq=False, converter=_readonly_copy)


def numeric_drift(
    a: npt.ArrayLike, b: npt.ArrayLike, *, bins: int = 10, eps: float = 1e-4, cvm: bool = False
) -> NumericDrift:
    """Compute every numeric drift statistic of a reference and a current sample at once.

    Each sample is checked once and each statistic reuses the sorted order; the result is
    the same as calling :func:`ks`, :func:`wasserstein`, :func:`quantile_edges`,
    :func:`binned_counts`, :func:`psi`, :func:`jensen_shannon` (PSI and JS share the
    reference-quantile bins) and optionally :func:`cramervonmises` one by one.

    Parameters
    ----------
    a, b : array_like
        Reference and current samples, sorted, finite, float64 (see :func:`sorted_finite`).
    bins : int, default 10
        Number of reference-quantile bins for PSI and JS.
    eps : float, default 1e-4
        Proportion floor for PSI.
    cvm : bool, default False
        Also run the Cramér-von Mises test (it needs mid-ranks, which cost several binary
        searches per value, so it is off by default).

    Returns
    -------
    NumericDrift
        All statistics. ``wasserstein_norm`` divides by the reference's population standard
        deviation; when the reference is constant it is ``inf`` if the current sample
        differs from the reference and ``0.0`` if it equals it.

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not sorted or not finite, or has one value while ``cvm`` is True.
    ConfigError
        If ``bins`` or ``eps`` is out of range.

    Examples
    --------
    >>> d = numeric_drift([1.0, 2.0, 3.0, 4.0], [3.5, 5.0, 6.0], bins=2)
    >>> round(d.ks, 4), round(d.wasserstein, 4), d.edges
    (0.75, 2.3333, array([2.]))
    """
    _check_bins(bins)
    _check_eps(eps)
    a = _sorted_column(a, "a")
    b = _sorted_column(b, "b")
    n, m = a.size, b.size
    numerator = _ks_numerator(a, b)
    d, d_p = _ks_pvalue(numerator / (n * m), n, m)
    distance = _wasserstein_sorted(a, b)
    spread = population_std(a)
    if spread > 0.0:
        with np.errstate(over="ignore"):
            normalised = float(np.float64(distance) / np.float64(spread))
    else:
        normalised = math.inf if numerator > 0 else 0.0
    edges = _quantile_edges_sorted(a, bins)
    ref_counts = _binned_counts_sorted(a, edges).astype(np.float64)
    cur_counts = _binned_counts_sorted(b, edges).astype(np.float64)
    cvm_stat, cvm_p = _cramervonmises_sorted(a, b) if cvm else (None, None)
    return NumericDrift(
        ks=d,
        ks_p=d_p,
        wasserstein=distance,
        wasserstein_norm=normalised,
        cvm=cvm_stat,
        cvm_p=cvm_p,
        psi=_psi_counts(ref_counts, cur_counts, eps),
        js=_jensen_shannon_counts(ref_counts, cur_counts),
        psi_critical=psi_critical_value(n, m, edges.size + 1),
        edges=edges,
    )


def population_std(a: FloatArray) -> float:
    """``np.std(a)`` (ddof=0) of a sorted sample, safe from overflow and underflow.

    Wasserstein distances are divided by it (for data and for drift profiles alike).

    One pass over blocks that stay in cache: sums of ``x - c`` and ``(x - c)^2`` about the
    median ``c``, which is within one standard deviation of the mean, so subtracting the
    squared mean loses at most a bit. Far from 1, values are first scaled by an exact
    power of two so that squares neither overflow nor vanish.

    Examples
    --------
    >>> population_std(sorted_finite([1.0, 2.0, 3.0, 4.0]))
    1.118033988749895
    >>> population_std(sorted_finite([1e300, 1e300]))
    0.0
    """
    scale = max(abs(a[0]), abs(a[-1]))
    if scale == 0.0:
        return 0.0
    exponent = 0 if 2.0**-300 < scale < 2.0**300 else math.frexp(scale)[1]
    centre = math.ldexp(float(a[a.size // 2]), -exponent)
    block = 1 << 16
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
        squares += float(np.dot(part, part))
    mean = total / a.size
    variance = max(squares / a.size - mean * mean, 0.0)
    return math.ldexp(math.sqrt(variance), exponent)


# --- against a quantile summary of the reference ---------------------------------------------


def _check_summary_type(summary: object) -> QuantileSummary:
    if not isinstance(summary, QuantileSummary):
        raise CheckInputError(f"expected a QuantileSummary, got {type(summary).__name__}")
    return summary


def ks_from_summary(summary: QuantileSummary, b: npt.ArrayLike) -> tuple[float, float]:
    """KS test of a current sample against a reference known only by its summary.

    The statistic is ``max_x |F(x) - F_b(x)|`` with the summary's CDF estimate ``F``, so
    it differs from ``ks(a, b)`` by at most ``summary.cdf_error`` (< 1/(2(k-1)); 0.0005
    for the default 1001 quantiles). The p-value is :func:`ks`'s for that statistic and
    the true sizes ``summary.n`` and ``len(b)`` (in exact mode, for the nearest value
    ``h / lcm(n, m)`` the statistic can take).

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.

    Returns
    -------
    statistic, pvalue : float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite.

    Examples
    --------
    >>> ref = [float(v) for v in range(1000)]
    >>> s = QuantileSummary.from_sorted(ref, size=101)  # 1 value in 10 kept
    >>> cur = [v * 1.1 for v in ref]
    >>> approx, _ = ks_from_summary(s, cur)
    >>> exact, _ = ks(ref, cur)
    >>> round(approx, 4), round(exact, 4), s.cdf_error
    (0.0945, 0.091, 0.0045)
    """
    summary = _check_summary_type(summary)
    b = _sorted_column(b, "b")
    points = np.concatenate((summary.quantiles, b))
    gap = np.abs(summary._cdf(points) - np.searchsorted(b, points, side="right") / b.size)
    statistic = float(gap.max())
    # The exact p-value needs an attainable statistic: it uses the nearest one.
    _, p = _ks_pvalue(statistic, summary.n, b.size)
    return statistic, p


def wasserstein_from_summary(summary: QuantileSummary, b: npt.ArrayLike) -> float:
    """Wasserstein distance of a current sample to a reference known by its summary.

    The area between the summary's CDF estimate and ``F_b``; it differs from
    ``wasserstein(a, b)`` by at most ``summary.wasserstein_error``
    (<= ``cdf_error * (max - min)`` of the reference).

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.

    Returns
    -------
    float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite, or the distance overflows float64.

    Examples
    --------
    >>> ref = [float(v) for v in range(1000)]
    >>> s = QuantileSummary.from_sorted(ref, size=101)
    >>> cur = [v * 1.1 for v in ref]
    >>> approx, exact = wasserstein_from_summary(s, cur), wasserstein(ref, cur)
    >>> round(approx, 2), round(exact, 2), round(s.wasserstein_error, 3)
    (49.99, 49.95, 4.491)
    """
    summary = _check_summary_type(summary)
    b = _sorted_column(b, "b")
    points = np.sort(np.concatenate((summary.quantiles, b)))
    with np.errstate(over="ignore", invalid="ignore"):
        widths = np.diff(points)
        gap = np.abs(
            summary._cdf(points[:-1]) - np.searchsorted(b, points[:-1], side="right") / b.size
        )
        distance = float(np.dot(gap, widths))
    if not math.isfinite(distance):
        raise _overflow()
    return distance


def psi_from_summary(
    summary: QuantileSummary, b: npt.ArrayLike, bins: int = 10, eps: float = 1e-4
) -> float:
    """PSI of a current sample against a reference known by its summary.

    The bins are ``quantile_edges(summary.quantiles, bins)``. When ``bins`` divides
    ``k - 1`` (the default 1001 quantiles: any divisor of 1000, deciles included) these
    are exactly the edges ``quantile_edges(a, bins)`` of the full reference, and the
    reference counts per bin are known exactly from ``ranks``, so the result **equals**
    the exact PSI. Otherwise the edges are the stored order statistics at levels
    ``floor(j (k-1) / bins) / (k-1)``, just below the wanted ``j / bins``, and the result
    is the exact PSI of slightly shifted bins: the reference counts of those bins are
    still exact, and without ties each edge's reference CDF level is within
    ``1/(k-1) + 1/n`` of the exact edge's, so each bin's reference proportion moves by
    less than ``2/(k-1) + 2/n``.

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.
    bins : int, default 10
        Number of bins.
    eps : float, default 1e-4
        Proportion floor, as in :func:`psi`.

    Returns
    -------
    float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite.
    ConfigError
        If ``bins`` or ``eps`` is out of range.

    Examples
    --------
    >>> ref = [float(v) for v in range(1000)]
    >>> cur = [v * 1.5 for v in ref]
    >>> s = QuantileSummary.from_sorted(ref)
    >>> edges = quantile_edges(ref)
    >>> exact = psi(binned_counts(ref, edges), binned_counts(cur, edges))
    >>> psi_from_summary(s, cur) == exact
    True
    """
    summary = _check_summary_type(summary)
    _check_bins(bins)
    _check_eps(eps)
    b = _sorted_column(b, "b")
    edges = _quantile_edges_sorted(summary.quantiles, bins)
    ref_counts = summary.bin_counts(edges)
    cur_counts = _binned_counts_sorted(b, edges).astype(np.float64)
    return _psi_counts(ref_counts, cur_counts, eps)
