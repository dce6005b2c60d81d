"""Cramér-von Mises with ties: Anderson's definition, not SciPy's rank formula."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from modelship.checks import DataDrift
from modelship.checks.stats import cramervonmises


def ecdf_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """``nm/N^2`` times the sum over the pooled sample of ``(F_n - G_m)^2``."""
    n, m = a.size, b.size
    pool = np.concatenate((a, b))
    f = np.searchsorted(np.sort(a), pool, side="right") / n
    g = np.searchsorted(np.sort(b), pool, side="right") / m
    return float(n * m / (n + m) ** 2 * np.sum((f - g) ** 2))


def test_samples_with_one_distribution_of_two_values_are_not_different() -> None:
    # Same shares of 0 and 1 in both samples: the distribution functions are equal.
    a, b = np.repeat([0.0, 1.0], 300), np.repeat([0.0, 1.0], 30)
    assert cramervonmises(a, b) == (0.0, 1.0)
    # SciPy's rank formula judged them different at p ~ 4e-8.
    assert scipy.stats.cramervonmises_2samp(a, b).pvalue < 1e-6


@pytest.mark.parametrize("seed", range(20))
def test_the_statistic_with_ties_is_the_distance_of_the_distribution_functions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(v) for v in rng.integers(2, 60, size=2))
    a = np.sort(rng.integers(0, 4, n).astype(float))
    b = np.sort(rng.integers(0, 4, m).astype(float))
    t, p = cramervonmises(a, b)
    assert t == pytest.approx(ecdf_statistic(a, b), rel=1e-12, abs=1e-15)
    assert 0.0 <= p <= 1.0


@pytest.mark.parametrize("seed", range(20))
def test_without_ties_the_answer_is_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(v) for v in rng.integers(2, 60, size=2))
    a, b = np.sort(rng.normal(size=n)), np.sort(rng.normal(size=m))
    expected = scipy.stats.cramervonmises_2samp(a, b)
    assert cramervonmises(a, b) == (expected.statistic, expected.pvalue)
    assert cramervonmises(a, b)[0] == pytest.approx(ecdf_statistic(a, b), rel=1e-12)


def test_small_tied_samples_get_the_exact_p_value_of_their_statistic() -> None:
    # 0,1 against 0,1 in other shares: the statistic is the distance of the distribution
    # functions; its p-value comes from the exact table of samples of this size.
    a, b = np.array([0.0, 0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    t, p = cramervonmises(a, b)
    assert t == pytest.approx(ecdf_statistic(a, b), rel=1e-12)
    # Not SciPy's answer with ties (its statistic is larger here).
    assert t < scipy.stats.cramervonmises_2samp(a, b).statistic
    assert 0.0 < p < 1.0


def test_a_few_values_from_one_distribution_are_rarely_judged_drifted() -> None:
    # 600 against 60 values of 0, 1, 2 from one distribution: the automatic choice is
    # Cramér-von Mises below 1,000 values. With the rank formula, 61 of 100 drifted.
    rng = np.random.default_rng(20261205)
    drifted = sum(
        DataDrift(reference={"v": rng.integers(0, 3, 600)}, current={"v": rng.integers(0, 3, 60)})
        .run()
        .columns["v"]
        .drifted
        for _ in range(100)
    )
    assert drifted <= 15  # alpha 0.05: about 5 of 100, not most of them


def _draws(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    return np.sort(rng.choice(len(shares), n, p=shares).astype(float))


@pytest.mark.parametrize(("n", "m"), [(30, 30), (200, 200), (600, 60)])
def test_ties_from_one_distribution_are_judged_different_at_the_stated_rate(n: int, m: int) -> None:
    # Review (stop 50): referred to the null law without ties, samples of three values
    # from one distribution had p < 0.05 in 7.5-9.4 % of draws (extra false alarms of
    # the default drift check for every column of small codes). The tied null: ~5 %.
    rng = np.random.default_rng(n * 1000 + m)
    rejected = sum(
        cramervonmises(_draws(rng, n, [0.5, 0.3, 0.2]), _draws(rng, m, [0.5, 0.3, 0.2]))[1] < 0.05
        for _ in range(600)
    )
    assert rejected / 600 <= 0.07  # binomial standard error at 5 %: 0.009


@pytest.mark.parametrize(
    ("seed", "n", "m", "values"),
    [(1, 40, 50, 3), (2, 200, 35, 5), (3, 120, 400, 40), (4, 90, 90, 80)],
)
def test_the_p_value_with_ties_agrees_with_a_permutation_test(
    seed: int, n: int, m: int, values: int
) -> None:
    # Beyond 20 values a sample the tied null is approximated (its own limiting law up to
    # 64 distinct values, the law without ties normalised by the tied moments beyond):
    # checked against 4,000 random splits of the same pooled values.
    rng = np.random.default_rng(seed)
    a = np.sort(rng.integers(0, values, n).astype(float))
    b = np.sort(rng.integers(0, values, m).astype(float) + (rng.random(m) < 0.1))
    t, p = cramervonmises(a, b)
    pool = np.concatenate((a, b))
    permuted = []
    for _ in range(4_000):
        row = rng.permutation(pool)
        permuted.append(ecdf_statistic(np.sort(row[:n]), np.sort(row[n:])))
    share = float(np.mean(np.asarray(permuted) >= t - 1e-12))
    # The share's standard error is at most 0.008. Far in the lower tail (no sign of a
    # difference) the approximations are coarse, as the law without ties is (p = 1 there).
    assert abs(share - p) <= 0.03 or min(share, p) > 0.9, (p, share)


def exact_split_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """P(T' >= T) over every split of the pooled values, enumerated by how many of each
    distinct value's copies ``a`` takes."""
    n, m = a.size, b.size
    values, counts = np.unique(np.concatenate((a, b)), return_counts=True)
    observed = ecdf_statistic(a, b)
    total = 0
    for taken in itertools.product(*(range(c + 1) for c in counts.tolist())):
        if sum(taken) != n:
            continue
        x = np.repeat(values, taken)
        y = np.repeat(values, counts - np.asarray(taken))
        if ecdf_statistic(x, y) >= observed - 1e-12:
            total += math.prod(math.comb(int(c), k) for c, k in zip(counts, taken, strict=True))
    return total / math.comb(n + m, n)


@pytest.mark.parametrize(
    ("reference", "current"),
    [([100, 0, 0], [9, 0, 1]), ([32, 0], [3, 1]), ([0, 1, 36], [0, 1, 1]), ([48, 0, 2], [2, 1, 0])],
)
def test_a_small_sample_beside_a_large_one_gets_the_p_value_of_its_splits(
    reference: list[int], current: list[int]
) -> None:
    # Second look (stop 50): the tied limiting law gave 99 zeros and a 2 against 9 zeros
    # and a 1 p = 0.0016 (drifted) where the exact answer is 0.09. With a sample of at most
    # 20 values, the p-value is estimated from 10,000 seeded random splits.
    a = np.repeat(np.arange(len(reference), dtype=float), reference)
    b = np.repeat(np.arange(len(current), dtype=float), current)
    t, p = cramervonmises(a, b)
    assert t == pytest.approx(ecdf_statistic(a, b), rel=1e-12)
    exact = exact_split_pvalue(a, b)
    assert abs(p - exact) <= 0.01, (p, exact)  # the estimate's standard error: <= 0.005
    assert cramervonmises(a, b) == (t, p)  # seeded: the same answer every time


@pytest.mark.parametrize(("n", "m"), [(30, 30), (100, 5), (20, 20), (3, 40)])
def test_two_samples_of_one_same_value_are_not_different(n: int, m: int) -> None:
    # Second look: past 20 values a sample the tied law had no weights and divided by 0.
    assert cramervonmises(np.ones(n), np.ones(m)) == (0.0, 1.0)


def test_a_clear_difference_beside_a_small_sample_is_not_floored_by_the_splits() -> None:
    # Second look: the split estimate's floor, 1/10,001, lifted past 0.05 by a correction
    # over 500 columns, hid a column whose 20 current values were all 8 or 9 (exact p
    # ~6e-17). Beyond the splits' reach the tied limiting law says how small.
    rng = np.random.default_rng(3)
    reference = np.sort(rng.integers(0, 10, 999).astype(float))
    current = np.sort(rng.integers(8, 10, 20).astype(float))
    _, p = cramervonmises(reference, current)
    assert p < 1e-8
