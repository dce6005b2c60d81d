"""Two-sample Cramér-von Mises test, exact for small samples and asymptotic beyond."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy import special

from modelship.checks.stats._columns import FloatArray, IntArray, sorted_column
from modelship.errors import CheckInputError

__all__ = ["cramervonmises"]

# SciPy's ``method="auto"`` rule: exact p-values up to this sample size.
_CVM_EXACT_MAX_N = 20


def cramervonmises(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Cramér-von Mises test: ``(statistic T, p-value)``.

    Equals ``scipy.stats.cramervonmises_2samp(a, b)`` with ``method="auto"``: the exact
    permutation p-value when both samples have at most 20 values, else Anderson's (1962)
    normalised statistic referred to the limiting distribution, when no value occurs
    twice. With ties the statistic is Anderson's definition, ``nm/N^2`` times the sum over
    the pooled values of the squared difference of the two empirical distribution
    functions; SciPy's rank formula inflates it when the sample sizes differ (samples of
    a few distinct values from one distribution were judged different most of the time).
    Its p-value is then the one of the null distribution without ties, an approximation.

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
    return cramervonmises_sorted(sorted_column(a, "a"), sorted_column(b, "b"))


def cramervonmises_sorted(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    nx, ny = a.size, b.size
    if min(nx, ny) < 2:
        raise CheckInputError(
            f"the Cramér-von Mises test needs at least two values in each sample, got {nx} and {ny}"
        )
    k, big_n = nx * ny, nx + ny
    if _has_ties(a, b):
        return _cramervonmises_tied(a, b)
    # Anderson's U from the ranks of each sample in the pooled one (1-based): without
    # ties a value with L pooled values below it and R at or below it has rank
    # (L+R+1)/2, and U is the statistic SciPy computes.
    u = nx * _squared_rank_gaps(a, b) + ny * _squared_rank_gaps(b, a)
    t = float(u / (k * big_n) - (4 * k - 1) / (6 * big_n))
    if max(nx, ny) <= _CVM_EXACT_MAX_N:
        return t, _cvm_exact_sf(u, nx, ny)
    return t, _cvm_asymptotic_sf(t, nx, ny)


def _has_ties(a: FloatArray, b: FloatArray) -> bool:
    """Whether a value occurs twice in the pool of the sorted samples ``a`` and ``b``."""
    if np.any(a[1:] == a[:-1]) or np.any(b[1:] == b[:-1]):
        return True
    return bool(np.any(np.searchsorted(b, a, side="left") != np.searchsorted(b, a, side="right")))


def _cramervonmises_tied(a: FloatArray, b: FloatArray) -> tuple[float, float]:
    """Anderson's T from its definition, ``nm/N^2 sum over the pool of (F_n - G_m)^2``,
    and its p-value under the permutation null of these ties.

    SciPy's rank formula (each value's mid-rank in the pool against its position in
    its own sample) equals this only without ties: with ties it adds about
    ``sum(tie size^3)/12`` to U, and samples of few distinct values drawn from one
    distribution were judged different most of the time (61 of 100 at 600 against 60
    values of 0, 1, 2).

    Ties change the statistic's null distribution too: given the pooled values, which
    ``nx`` of them are the reference's is all that varies. Referred to the distribution
    without ties, samples of three distinct values from one distribution were judged
    different at p < 0.05 in 7.5-9.4 % of draws. So the p-value is that of the tied
    null: exact (:func:`_cvm_exact_tied_sf`) up to 20 values a sample; beyond it, with
    at most 64 distinct values, estimated from 10,000 seeded random splits when one sample
    has at most 20 values (:func:`_permutation_sf`), else T's own limiting law under these
    ties (a weighted sum of chi-squares, :func:`_tied_weights`); with more, T
    normalised by its mean and variance under these ties (:func:`_tied_moments`) and
    referred to the limiting law without ties, as Anderson's normalisation does. Under
    the null, p < 0.05 then comes in 4-6.6 % of draws (1,000 draws a case: samples of
    2, 3, 40 or 60 values, Poisson, half zeros).
    """
    nx, ny = a.size, b.size
    k, big_n = nx * ny, nx + ny
    values, counts = np.unique(np.concatenate((a, b)), return_counts=True)
    below = np.searchsorted(a, values, side="right")
    # n*m*(F_n - G_m) at each distinct value, an integer; exact in float64 below 2**53.
    gaps = below * float(ny) - np.searchsorted(b, values, side="right") * float(nx)
    total = float(np.sum(counts * (gaps * gaps)))  # sum over the pool of (nm (F - G))^2
    t = total / (k * float(big_n) ** 2)
    if counts.size == 1:  # one value in both samples: the distribution functions agree
        return 0.0, 1.0
    if max(nx, ny) <= _CVM_EXACT_MAX_N:
        return t, _cvm_exact_tied_sf(below.tolist(), counts.tolist(), nx, ny)
    if counts.size <= _EIGEN_MAX_VALUES:
        if min(nx, ny) <= _CVM_EXACT_MAX_N:
            return t, _permutation_sf(t, total, counts, nx, ny)
        return t, _weighted_chi2_sf(t, _tied_weights(counts, nx, ny))
    mean, variance = _tied_moments(counts, nx, ny)
    return t, _limit_sf(1 / 6 + (t - mean) / math.sqrt(45 * variance))


# Up to this many distinct values, a tied sample's T is referred to its own limiting law
# (eigenvalues of a matrix this size, well under a millisecond); beyond it, to the law
# without ties, normalised by the tied mean and variance (which is then close to it).
_EIGEN_MAX_VALUES = 64


# Random splits a tied p-value is estimated from when one sample is small: its standard
# error is at most 0.005 (0.0022 at p = 0.05). The first _FIRST settle a p-value of 0.2 or
# more (standard error 0.013: far from any level a check uses); the rest the others.
_PERMUTATIONS = 10_000
_FIRST = 1_000
# Fewer hits than this leave the estimate's tail unresolved (p below ~1e-3, floored at
# 1/10,001): the tied limiting law says how small, within the estimate's bound.
_FEW_HITS = 10


def _permutation_sf(t: float, total: float, counts: IntArray, nx: int, ny: int) -> float:
    """``P(T' >= T)`` over which pooled values are the reference's, estimated from up to
    :data:`_PERMUTATIONS` random splits drawn with a fixed seed (the same answer every
    time), ``(1 + hits) / (1 + splits)``.

    For a sample of at most 20 values beside a larger one, with at most 64 distinct values:
    the limiting laws misjudge such discrete layouts (a value seen once in each sample,
    99 zeros and a 2 against 9 zeros and a 1: 0.0016 where the exact answer is 0.09), and
    the exact walk over the larger sample's counts is too long. The smaller sample's
    values are drawn; the statistic is the same whichever sample is drawn. A statistic
    that fewer than :data:`_FEW_HITS` splits reach is far in the tail, where the estimate
    is floored (1/10,001, which a correction over 500 columns would lift past 0.05): there
    the p-value is the tied limiting law's, but never above the estimate's bound.

    ``total`` is the observed ``sum(counts * (n m (F - G))^2)``, T before its scaling: a
    split's is ``sum(counts * (N s - small e)^2)`` for the smaller sample's cumulative
    counts ``s`` and the pool's ``e``, the same integers (exact in float64 below 2**53,
    rounded alike above it), so the two compare as they are.
    """
    big_n = nx + ny
    small = min(nx, ny)
    ends = np.cumsum(counts).astype(np.float64)
    c = counts.astype(np.float64)
    positions = _positions(big_n, small)
    hits = 0
    for start, stop in ((0, _FIRST), (_FIRST, _PERMUTATIONS)):  # bounded: two rounds
        splits = np.cumsum(_split_counts(positions[start:stop], ends), axis=1, dtype=np.float64)
        totals = np.einsum("ij,j->i", (big_n * splits - small * ends) ** 2, c)  # no BLAS
        # Sums of exact integers in float64: equal statistics may differ in the last bits.
        hits += int(np.count_nonzero(totals >= total * (1.0 - 1e-12)))
        if stop == _FIRST and hits >= _FIRST // 5:
            return (1 + hits) / (1 + _FIRST)
    bound = (1 + hits) / (1 + _PERMUTATIONS)
    if hits < _FEW_HITS:
        return min(_weighted_chi2_sf(t, _tied_weights(counts, nx, ny)), bound)
    return bound


@functools.lru_cache(maxsize=8)
def _positions(big_n: int, small: int) -> IntArray:
    """:data:`_PERMUTATIONS` uniform random subsets of ``small`` of the positions
    ``0 .. big_n - 1`` (one row each), seeded: Floyd's algorithm, vectorised over the
    rows (``small`` steps). Kept for the next column of the same sizes (a table's columns
    mostly are): read-only, 8 x 1.6 MB at most."""
    rng = np.random.default_rng(20261207)
    chosen = np.empty((_PERMUTATIONS, small), dtype=np.int64)
    for step, top in enumerate(range(big_n - small, big_n)):
        pick = rng.integers(0, top + 1, size=_PERMUTATIONS)
        taken = (chosen[:, :step] == pick[:, np.newaxis]).any(axis=1)
        chosen[:, step] = np.where(taken, top, pick)
    chosen.flags.writeable = False
    return chosen


def _split_counts(positions: IntArray, ends: FloatArray) -> IntArray:
    """How many of each distinct value's copies each row of ``positions`` takes, the
    pooled values sorted (``ends``: their cumulative counts)."""
    rows, groups = positions.shape[0], ends.size
    group = np.searchsorted(ends, positions, side="right")
    flat = np.bincount(
        (np.arange(rows)[:, np.newaxis] * groups + group).ravel(), minlength=rows * groups
    )
    return flat.reshape(rows, groups)


def _tied_weights(counts: IntArray, nx: int, ny: int) -> FloatArray:
    """The weights ``lambda`` of T's limiting law under these ties, ``sum lambda_i chi2_1``:
    the eigenvalues of ``diag(sqrt c) Cov(D) diag(sqrt c) / (nm)`` (see
    :func:`_tied_moments` for ``D`` and its covariance)."""
    c = counts.astype(np.float64)
    p = np.cumsum(c) / (nx + ny)
    cov = np.minimum.outer(p, p) * (1.0 - np.maximum.outer(p, p)) / (nx + ny - 1)
    root = np.sqrt(c)
    weights = np.linalg.eigvalsh(root[:, np.newaxis] * cov * root[np.newaxis, :])
    return np.asarray(weights[weights > 1e-12 * max(float(weights.max()), 1e-300)], np.float64)


def _weighted_chi2_sf(t: float, weights: FloatArray) -> float:
    """``P(sum w_i chi2_1 >= t)`` by Liu, Tang and Zhang's (2009) approximation: a
    chi-square with the same mean and variance and the kurtosis matched (exact for a
    single weight). Their noncentral branch (the skewness matched instead) needs
    ``(sum w^3)^2 > sum w^2 sum w^4``, which positive weights meet only by rounding
    (equal weights, by a few ulps: it then answers as the central one, within them)."""
    if weights.size == 0:  # a statistic that is always 0
        return 1.0
    c1, c2, c3, c4 = (float(np.sum(weights**power)) for power in (1, 2, 3, 4))
    s1, s2 = c3 / c2**1.5, c4 / c2**2
    if s1 * s1 > s2:
        a = 1.0 / (s1 - math.sqrt(s1 * s1 - s2))
        delta = s1 * a**3 - a * a
        dof = a * a - 2.0 * delta
    else:
        dof, delta = 1.0 / s2, 0.0
        a = math.sqrt(dof)
    x = (t - c1) / math.sqrt(2.0 * c2) * math.sqrt(2.0) * a + dof + delta
    if x <= 0.0:
        return 1.0
    if delta == 0.0:
        return float(special.chdtrc(dof, x))
    return float(min(max(1.0 - special.chndtr(x, dof, delta), 0.0), 1.0))


def _tied_moments(counts: IntArray, nx: int, ny: int) -> tuple[float, float]:
    """Mean and variance of T when which ``nx`` of the pooled values (``counts`` of each
    distinct one, in order) are the reference's is drawn at random.

    ``T = sum_j c_j D_j^2 / (nm)`` with ``D_j = S_j - nx C_j / N``: ``S_j`` reference
    values among the ``C_j`` pooled ones up to the ``j``-th distinct value, hypergeometric
    (covariance ``K p_i (1 - p_j)`` for ``i <= j``, ``p = C/N``, ``K = nx ny / (N - 1)``).
    The mean is exact. The variance is the one of a Gaussian ``D``
    (``2 sum_ij c_i c_j Cov_ij^2 / (nm)^2``, summed in one pass), scaled by the ratio of
    Anderson's exact variance without ties to that Gaussian one without ties: without
    ties it is then Anderson's exactly (a single tie moves the p-value by little, not by
    the ``O(1/N)`` the Gaussian variance is off: 5 % of it at 30 values a sample).
    """
    big_n, k = nx + ny, nx * ny
    mean, gaussian = _gaussian_moments(counts.astype(np.float64), big_n)
    untied = _untied_gaussian_variance(big_n)
    anderson = (big_n + 1) * (4 * k * big_n - 3 * (nx**2 + ny**2) - 2 * k) / (45 * big_n**2 * 4 * k)
    return mean, gaussian * anderson / untied


@functools.lru_cache(maxsize=64)
def _untied_gaussian_variance(big_n: int) -> float:
    """:func:`_gaussian_moments`' variance without ties: a function of ``N`` alone, kept
    for the next column of the same size."""
    return _gaussian_moments(np.ones(big_n), big_n)[1]


def _gaussian_moments(c: FloatArray, big_n: int) -> tuple[float, float]:
    """:func:`_tied_moments` before its variance is scaled."""
    p = np.cumsum(c) / big_n
    scale = 1.0 / (big_n - 1)  # K / (nm)
    mean = scale * float(np.sum(c * p * (1.0 - p)))
    q = c * (1.0 - p) ** 2
    before = np.cumsum(c * p * p) - c * p * p  # sum over i < j of c_i p_i^2
    squares = float(np.sum(c * c * p * p * (1.0 - p) ** 2)) + 2.0 * float(np.sum(q * before))
    return mean, 2.0 * scale * scale * squares


def _cvm_exact_tied_sf(below: list[int], counts: list[int], nx: int, ny: int) -> float:
    """Exact ``P(T' >= T)`` over the ``C(N, nx)`` equally likely choices of which pooled
    values are the reference's, ties as they are (``counts`` of each distinct value,
    ``below`` the reference's values up to it).

    ``N^2 (nm)^2 T / (nm) = sum_j c_j (N S_j - nx C_j)^2`` is an integer; its distribution
    is built distinct value by distinct value over ``S_j``, each step taking ``z`` of the
    ``c_j`` tied values in ``C(c_j, z)`` ways. Sums that already reach the observed value
    share one bucket, as in :func:`_cvm_exact_sf`. Without ties it is that function's
    walk.
    """
    big_n = nx + ny
    observed, pooled, before = 0, 0, 0
    for s, c in zip(below, counts, strict=True):
        pooled += c
        observed += c * (big_n * s - nx * pooled) ** 2
    # state s (reference values so far) -> (sorted partial sums, their weights)
    states: dict[int, tuple[IntArray, FloatArray]] = {0: (np.zeros(1, dtype=np.int64), np.ones(1))}
    for c in counts:
        pooled = before + c
        grown: dict[int, list[tuple[IntArray, FloatArray]]] = {}
        for s, (values, weights) in states.items():
            # z of the c tied values are the reference's: at most what either side has left.
            low, high = max(0, c - (ny - (before - s))), min(c, nx - s)
            for z in range(low, high + 1):
                grown.setdefault(s + z, []).append((values, weights * math.comb(c, z)))
        states = {}
        for s, parts in grown.items():
            values, weights = parts[0]
            for part in parts[1:]:
                values, weights = _merge_counts((values, weights), part)
            values = values + c * (big_n * s - nx * pooled) ** 2
            cut = int(np.searchsorted(values, observed, side="left"))
            if cut < values.size:  # every sum >= observed shares one bucket
                values = np.append(values[:cut], observed)
                weights = np.append(weights[:cut], weights[cut:].sum())
            states[s] = (values, weights)
        before = pooled
    values, weights = states[nx]
    return float(weights[values >= observed].sum()) / math.comb(big_n, nx)


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


def _cvm_exact_sf(u: float | Fraction, nx: int, ny: int) -> float:
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
    return _limit_sf(1 / 6 + (t - mean) / math.sqrt(45 * var))


def _limit_sf(tn: float) -> float:
    """``1 -`` the limiting CDF at a normalised statistic."""
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
