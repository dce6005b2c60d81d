"""The drift statistics agree with SciPy's reference implementations, and fail loudly.

Samples come from hypothesis: ties (small integer sets), tiny samples, unequal sizes and
values spanning 1e-300..1e300. Statistics must agree to 1e-9 and p-values to 1e-6.
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from modelship.checks import stats
from modelship.checks.stats import _binned, _ks, _wasserstein
from modelship.errors import CheckInputError, ConfigError, EmptyData

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(x: float, y: float, *, abs_tol: float = 1e-12) -> bool:
    """Statistics: 1e-9 relative."""
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=abs_tol)


def p_close(x: float, y: float) -> bool:
    """P-values: 1e-6 relative, or 1e-12 absolute for p-values that are practically 0."""
    return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12)


def sorted_array(values: list[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.sort(np.asarray(values, dtype=np.float64))


ties = st.lists(st.integers(0, 4).map(float), min_size=1, max_size=60).map(sorted_array)
tiny = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=5).map(sorted_array)
floats = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=80
).map(sorted_array)
huge = st.lists(
    st.one_of(
        st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False),
        st.sampled_from([-1e300, -1e-300, 0.0, 5e-324, 1e-300, 1.0, 1e300]),
    ),
    min_size=1,
    max_size=40,
).map(sorted_array)
any_sample = st.one_of(ties, tiny, floats, huge)


def brute_force_ks(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    pooled = np.concatenate((a, b))
    fa = np.searchsorted(a, pooled, side="right") / a.size
    fb = np.searchsorted(b, pooled, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


# --- sorted_finite -------------------------------------------------------------------------


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_sorted_finite_drops_nan_and_inf_and_sorts(values: list[float]) -> None:
    x = np.asarray(values, dtype=np.float64)
    expected = np.sort(x[np.isfinite(x)])
    np.testing.assert_array_equal(stats.sorted_finite(x), expected)


def test_sorted_finite_returns_contiguous_float64_from_integers() -> None:
    out = stats.sorted_finite(np.asfortranarray(np.array([[3], [1], [2]]))[:, 0])
    assert out.dtype == np.float64
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_sorted_finite_leaves_its_input_unchanged() -> None:
    x = np.array([3.0, 1.0, 2.0])
    stats.sorted_finite(x)
    np.testing.assert_array_equal(x, [3.0, 1.0, 2.0])


def test_sorted_finite_returns_a_read_only_array() -> None:
    out = stats.sorted_finite([2.0, 1.0])
    with pytest.raises(ValueError, match="read-only"):
        out[0] = 5.0


def test_statistics_recheck_a_writeable_copy_of_sorted_values() -> None:
    values = stats.sorted_finite([1.0, 2.0, 3.0]).copy()
    values[0] = 9.0  # no longer sorted
    with pytest.raises(CheckInputError, match="sorted"):
        stats.ks(values, [1.0])


def test_statistics_refuse_an_empty_result_of_sorted_finite() -> None:
    with pytest.raises(EmptyData, match="a has no values"):
        stats.ks(stats.sorted_finite([math.nan]), [1.0])


def test_sorted_finite_rejects_two_dimensional_input() -> None:
    with pytest.raises(CheckInputError, match="one-dimensional"):
        stats.sorted_finite(np.zeros((2, 2)))


def test_sorted_finite_rejects_text() -> None:
    with pytest.raises(CheckInputError, match="values must be numbers"):
        stats.sorted_finite(["a", "b"])


# --- Kolmogorov-Smirnov ----------------------------------------------------------------------


def assert_ks_matches_scipy(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
    d, p = stats.ks(a, b)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        ref = sps.ks_2samp(a, b)
    assert close(d, float(ref.statistic)), (d, ref.statistic)
    assert p_close(p, float(ref.pvalue)), (p, ref.pvalue)


@FAST
@given(ties, ties)
def test_ks_matches_scipy_on_ties(a: Any, b: Any) -> None:
    assert_ks_matches_scipy(a, b)


@FAST
@given(tiny, tiny)
def test_ks_matches_scipy_on_tiny_samples(a: Any, b: Any) -> None:
    assert_ks_matches_scipy(a, b)


@FAST
@given(floats, floats)
def test_ks_matches_scipy_on_unequal_sizes(a: Any, b: Any) -> None:
    assert_ks_matches_scipy(a, b)


@FAST
@given(huge, huge)
def test_ks_matches_scipy_on_huge_value_ranges(a: Any, b: Any) -> None:
    assert_ks_matches_scipy(a, b)


@FAST
@given(st.integers(1, 400), st.integers(1, 400), st.integers(0, 2**32 - 1))
def test_ks_matches_scipy_in_exact_mode_with_large_unequal_samples(
    n: int, m: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    assert_ks_matches_scipy(np.sort(rng.normal(size=n)), np.sort(rng.normal(0.2, 1, size=m)))


@FEW
@given(
    st.integers(10_001, 30_000),
    st.integers(50, 30_000),
    st.floats(0.0, 0.1),
    st.integers(0, 2**32 - 1),
)
def test_ks_matches_scipy_in_asymptotic_mode(n: int, m: int, shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(size=n))
    b = np.sort(rng.normal(shift, 1.0, size=m))
    assert_ks_matches_scipy(a, b)


@FAST
@given(any_sample, any_sample, st.sampled_from([1, 2, 3, 8, 64]))
def test_ks_refinement_finds_the_exact_maximum_with_coarse_grids(
    a: Any, b: Any, grid_keys: int
) -> None:
    # Few grid points per round force several rounds of bounding and refining.
    numerator = _ks.ks_numerator(a, b, grid_keys=grid_keys)
    expected = brute_force_ks(a, b)
    assert close(numerator / (a.size * b.size), expected)


@FEW
@given(st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_ks_refinement_handles_large_samples_with_heavy_ties(levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.sort(rng.integers(0, levels, 50_000).astype(np.float64))
    b = np.sort(rng.integers(0, levels + 1, 40_000).astype(np.float64))
    assert _ks.ks_numerator(a, b) / (a.size * b.size) == pytest.approx(
        brute_force_ks(a, b), rel=1e-12
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize("grid_keys", [1, 2, 3, 8])
def test_ks_refinement_terminates_when_an_interval_ends_in_a_tie_run(grid_keys: int) -> None:
    # Sampling every other value of (0, 1] here picks only 1.0, the interval's own end.
    a = np.array([0.0] + [1.0] * 40)
    b = np.array([0.5] * 3 + [1.0] * 10)
    numerator = _ks.ks_numerator(a, b, grid_keys=grid_keys)
    assert numerator / (a.size * b.size) == pytest.approx(brute_force_ks(a, b), rel=1e-12)


def test_ks_refinement_handles_a_long_plateau_at_the_maximum() -> None:
    # F_a - F_b is constant at 0.1 over most of the line: every interval is a candidate.
    a = np.linspace(0.0, 1.0, 100_000)
    b = np.linspace(0.1, 1.1, 100_000)
    assert _ks.ks_numerator(a, b) / (a.size * b.size) == pytest.approx(
        brute_force_ks(a, b), rel=1e-12
    )


def test_ks_of_identical_samples_is_zero_with_p_one() -> None:
    a = np.arange(50, dtype=np.float64)
    assert stats.ks(a, a) == (0.0, 1.0)


@FAST
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_ks_exact_numpy_fallback_matches_scipy_recursion(n: int, m: int, data: Any) -> None:
    assume(n != m)
    g = math.gcd(n, m)
    h = data.draw(st.integers(1, n * m // g))
    assert _ks._scipy_ks_outside is not None
    expected = float(_ks._scipy_ks_outside(n, m, g, h))
    assert p_close(_ks._ks_exact_sf_numpy(n, m, h), expected)


@FAST
@given(st.integers(1, 3000), st.data())
def test_ks_exact_equal_size_series_matches_scipy(n: int, data: Any) -> None:
    h = data.draw(st.integers(1, n))
    assert _ks._scipy_ks_equal is not None
    expected = min(float(_ks._scipy_ks_equal(n, h)), 1.0)
    assert p_close(_ks._ks_exact_sf_equal(n, h), expected)


SMIRNOV_GRID = [
    *(
        (n, n_d2)
        for n in (141, 999, 30_001, 100_000, 1_000_001, 2_000_000)
        for n_d2 in (0.01, 1.0, 2.2, 3.0, 10.0, 50.0, 200.0, 354.0, 369.0)
    ),
    (500_000, 2.2),
    (500_000, 40.0),
    (1_000_000, 2.2),
    (1_000_000, 354.0),
]


@pytest.mark.parametrize(("n", "n_d2"), SMIRNOV_GRID)
def test_kstwo_sf_matches_scipy_in_the_smirnov_regime(n: int, n_d2: float) -> None:
    d = math.sqrt(n_d2 / n)
    assert p_close(_ks._kstwo_sf(d, float(n)), float(sps.kstwo.sf(d, n)))


# Points of the quadrature's regime (n x^2 from 2.2 to 300, beyond 4096 terms), drawn once.
_SMIRNOV_RANDOM = [
    (int(n), math.sqrt(float(v) / int(n)))
    for n, v in zip(
        np.random.default_rng(7).integers(4_097, 300_000, size=12),
        np.random.default_rng(8).uniform(2.2, 300.0, size=12),
        strict=True,
    )
]


@pytest.mark.parametrize(("n", "x"), _SMIRNOV_RANDOM)
def test_smirnov_quadrature_is_as_close_to_scipy_as_log_gamma_rounding_allows(
    n: int, x: float
) -> None:
    # SciPy's double-double sum is the reference; ours sums in logarithms, whose rounding
    # costs about n * 3e-15 relative: the 1024-node rule must add nothing visible to that.
    from scipy import special

    expected = float(special.smirnov(n, x))
    assert expected > 1e-290  # n x^2 <= 300: far from underflow
    assert abs(_ks._smirnov_sf(n, x) - expected) <= max(n * 5e-15, 1e-13) * expected


@pytest.mark.parametrize("n", [30_001, 50_000, 100_000])
def test_kstwo_sf_matches_scipy_where_its_matrix_power_is_skipped(n: int) -> None:
    d = (1.4 / n) ** (2 / 3) * 0.999  # just inside SciPy's matrix-power regime
    assert abs(_ks._kstwo_sf(d, float(n)) - float(sps.kstwo.sf(d, n))) < 1e-9


# --- Wasserstein ---------------------------------------------------------------------------


def assert_wasserstein_matches_scipy(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
    ours = stats.wasserstein(a, b)
    ref = float(sps.wasserstein_distance(a, b))
    # Below ~1e-290 products are subnormal and lose relative precision in both.
    assert close(ours, ref, abs_tol=1e-290), (ours, ref)


@FAST
@given(ties, ties)
def test_wasserstein_matches_scipy_on_ties(a: Any, b: Any) -> None:
    assert_wasserstein_matches_scipy(a, b)


@FAST
@given(tiny, tiny)
def test_wasserstein_matches_scipy_on_tiny_samples(a: Any, b: Any) -> None:
    assert_wasserstein_matches_scipy(a, b)


@FAST
@given(floats, floats)
def test_wasserstein_matches_scipy_on_unequal_sizes(a: Any, b: Any) -> None:
    assert_wasserstein_matches_scipy(a, b)


@FAST
@given(huge, huge)
def test_wasserstein_matches_scipy_on_huge_value_ranges(a: Any, b: Any) -> None:
    assert_wasserstein_matches_scipy(a, b)


@FAST
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(0, 2**32 - 1))
def test_wasserstein_matches_scipy_when_sizes_are_close_or_far(n: int, m: int, seed: int) -> None:
    # Sizes close together split almost every quantile step; far apart, few do.
    rng = np.random.default_rng(seed)
    assert_wasserstein_matches_scipy(np.sort(rng.normal(size=n)), np.sort(rng.normal(size=m)))


@pytest.mark.parametrize(("n", "m"), [(600_000, 600_000), (600_000, 599_999), (600_000, 70_000)])
def test_wasserstein_matches_scipy_across_several_blocks(n: int, m: int) -> None:
    # Work goes in blocks of 2**18 values; sizes close together split nearly every
    # quantile step, sizes far apart only a few.
    rng = np.random.default_rng(n + m)
    a = np.sort(rng.normal(size=n))
    b = np.sort(rng.normal(0.1, 1.2, size=m))
    assert_wasserstein_matches_scipy(a, b)


def test_wasserstein_rejects_a_distance_beyond_float_range() -> None:
    with pytest.raises(CheckInputError, match="overflows"):
        stats.wasserstein([-1.5e308], [1.5e308])


# --- Cramér-von Mises -------------------------------------------------------------------------


def assert_cvm_matches_scipy(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
    t, p = stats.cramervonmises(a, b)
    ref = sps.cramervonmises_2samp(a, b)
    assert close(t, float(ref.statistic)), (t, ref.statistic)
    assert p_close(p, float(ref.pvalue)), (p, ref.pvalue)


small_ties = st.lists(st.integers(0, 4).map(float), min_size=2, max_size=20).map(sorted_array)
small_floats = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=20).map(
    sorted_array
)


def cvm_by_definition(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Anderson's T from the distribution functions at every pooled value, and its U."""
    n, m = a.size, b.size
    pool = np.concatenate((a, b))
    gaps = np.searchsorted(a, pool, side="right") * m - np.searchsorted(b, pool, side="right") * n
    total = int(np.sum(gaps.astype(object) ** 2))  # exact: (nm (F - G))^2 summed
    u = Fraction(total, n + m) + Fraction(n * m * (4 * n * m - 1), 6)
    return total / (n * m * (n + m) ** 2), float(u)


def exact_tied_pvalue(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    """P(T' >= T) over every choice of which pooled values are ``a``'s, by enumerating
    how many of each distinct value's copies ``a`` takes (exact integers throughout)."""
    n, m = a.size, b.size
    big_n = n + m
    values, counts = np.unique(np.concatenate((a, b)), return_counts=True)
    below = np.searchsorted(a, values, side="right").tolist()
    ends = np.cumsum(counts).tolist()
    observed = sum(
        c * (big_n * s - n * e) ** 2 for s, c, e in zip(below, counts.tolist(), ends, strict=True)
    )
    ways: dict[tuple[int, int], int] = {(0, 0): 1}
    for c, e in zip(counts.tolist(), ends, strict=True):
        grown: dict[tuple[int, int], int] = {}
        for (s, total), w in ways.items():
            for z in range(c + 1):
                if s + z <= n and e - (s + z) <= m:
                    key = (s + z, total + c * (big_n * (s + z) - n * e) ** 2)
                    grown[key] = grown.get(key, 0) + w * math.comb(c, z)
        ways = grown
    reached = sum(w for (s, total), w in ways.items() if s == n and total >= observed)
    return reached / math.comb(big_n, n)


def assert_cvm_is_anderson_with_the_exact_tied_null(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]
) -> None:
    """With ties, SciPy's rank formula is not Anderson's statistic (it inflates it), so
    the statistic is checked against the definition; and the null distribution is the
    one of these ties, so the p-value against an enumeration of it."""
    t, p = stats.cramervonmises(a, b)
    expected_t, _ = cvm_by_definition(a, b)
    assert close(t, expected_t), (t, expected_t)
    expected_p = exact_tied_pvalue(a, b)
    assert p_close(p, expected_p), (p, expected_p)


def has_ties(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    pool = np.concatenate((a, b))
    return bool(np.unique(pool).size < pool.size)


@FAST
@given(small_ties, small_ties)
def test_cramervonmises_on_ties_is_andersons_statistic(a: Any, b: Any) -> None:
    if has_ties(a, b):
        assert_cvm_is_anderson_with_the_exact_tied_null(a, b)
    else:
        assert_cvm_matches_scipy(a, b)


@FAST
@given(small_floats, small_floats)
def test_cramervonmises_matches_scipy_exact_mode_on_unequal_sizes(a: Any, b: Any) -> None:
    if has_ties(a, b):  # drawn floats repeat now and then
        assert_cvm_is_anderson_with_the_exact_tied_null(a, b)
    else:
        assert_cvm_matches_scipy(a, b)


@FAST
@given(st.integers(2, 300), st.integers(21, 300), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_cramervonmises_matches_scipy_asymptotic_mode(
    n: int, m: int, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(size=n))
    b = np.sort(rng.normal(shift, 1, size=m))
    assume(not has_ties(a, b))
    assert_cvm_matches_scipy(a, b)


@FAST
@given(st.integers(2, 300), st.integers(21, 300), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_cramervonmises_on_ties_beyond_20_values_is_andersons_statistic(
    n: int, m: int, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(size=n).round(1))  # rounding adds ties
    b = np.sort(rng.normal(shift, 1, size=m).round(1))
    t, p = stats.cramervonmises(a, b)
    expected_t, _ = cvm_by_definition(a, b)
    assert close(t, expected_t), (t, expected_t)
    assert 0.0 <= p <= 1.0  # its calibration: tests/checks/test_cvm_ties.py


def test_cramervonmises_rejects_a_single_value_sample() -> None:
    with pytest.raises(CheckInputError, match="at least two"):
        stats.cramervonmises([1.0], [1.0, 2.0])


# --- bins, PSI, Jensen-Shannon ------------------------------------------------------------------


@FAST
@given(any_sample, st.integers(2, 20))
def test_quantile_edges_are_numpy_lower_quantiles_without_duplicates(a: Any, bins: int) -> None:
    levels = np.arange(1, bins) / bins
    expected = np.unique(np.quantile(a, levels, method="lower"))
    np.testing.assert_array_equal(stats.quantile_edges(a, bins), expected)


def test_quantile_edges_put_a_tenth_of_the_reference_in_each_decile() -> None:
    a = np.arange(1000, dtype=np.float64)
    counts = stats.binned_counts(a, stats.quantile_edges(a))
    np.testing.assert_array_equal(counts, [100] * 10)


@FAST
@given(any_sample, any_sample)
def test_binned_counts_match_digitize_with_right_closed_bins(x: Any, reference: Any) -> None:
    edges = stats.quantile_edges(reference, 5)
    expected = np.bincount(np.digitize(x, edges, right=True), minlength=edges.size + 1)
    np.testing.assert_array_equal(stats.binned_counts(x, edges), expected)


def test_binned_counts_put_a_value_equal_to_an_edge_in_the_lower_bin() -> None:
    np.testing.assert_array_equal(stats.binned_counts([1.0, 2.0], [1.0]), [1, 1])


def test_binned_counts_reject_unsorted_edges() -> None:
    with pytest.raises(CheckInputError, match="strictly increasing"):
        stats.binned_counts([1.0], [2.0, 1.0])


def test_psi_matches_hand_worked_example() -> None:
    # (0.5-0.4) ln(0.5/0.4) + (0.5-0.6) ln(0.5/0.6)
    expected = 0.1 * math.log(1.25) - 0.1 * math.log(5 / 6)
    assert close(stats.psi([50, 50], [40, 60]), expected)


def test_psi_of_identical_proportions_is_zero() -> None:
    assert stats.psi([1, 2, 3], [10, 20, 30]) == 0.0


def test_psi_clips_an_empty_bin_to_eps() -> None:
    expected = (0.5 - 1e-4) * math.log(0.5 / 1e-4) + (0.5 - 1.0) * math.log(0.5 / 1.0)
    assert close(stats.psi([5, 5], [0, 10], eps=1e-4), expected)


@FAST
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=12))
def test_psi_is_finite_and_non_negative(pairs: list[tuple[int, int]]) -> None:
    ref, cur = np.array(pairs).T
    assume(ref.sum() > 0 and cur.sum() > 0)
    value = stats.psi(ref, cur)
    assert math.isfinite(value)
    assert value >= 0.0


@FAST
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=60),
    st.floats(1e-6, 0.5),
)
def test_unchecked_count_statistics_equal_the_checked_ones(
    pairs: list[tuple[int, int]], eps: float
) -> None:
    # The drift check calls the unchecked forms on counts it has already checked.
    ref, cur = np.array(pairs).T
    assume(ref.sum() > 0 and cur.sum() > 0)
    as_float = ref.astype(np.float64), cur.astype(np.float64)
    assert _binned.psi_and_js(*as_float, eps) == (
        stats.psi(ref, cur, eps),
        stats.jensen_shannon(ref, cur),
    )
    assert _binned.chi2_counts(*as_float) == stats.chi2(ref, cur)
    bins = max(len(ref), 2)
    assert _binned.chi2_critical(int(ref.sum()), int(cur.sum()), bins) == (
        stats.psi_critical_value(int(ref.sum()), int(cur.sum()), bins)
    )


@pytest.mark.parametrize("eps", [0.0, 1.0, -1e-4])
def test_psi_rejects_eps_outside_the_unit_interval(eps: float) -> None:
    with pytest.raises(ConfigError, match="eps"):
        stats.psi([1, 1], [1, 1], eps=eps)


def test_psi_critical_value_is_scaled_chi2_quantile() -> None:
    expected = (1 / 400 + 1 / 300) * sps.chi2.ppf(0.99, 9)
    assert close(stats.psi_critical_value(400, 300, 10, q=0.99), expected)


def test_psi_critical_value_rejects_a_single_bin() -> None:
    with pytest.raises(ConfigError, match="bins"):
        stats.psi_critical_value(10, 10, 1)


counts_pairs = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=15
)


@FAST
@given(counts_pairs)
def test_jensen_shannon_matches_scipy(pairs: list[tuple[int, int]]) -> None:
    ref, cur = np.array(pairs).T
    assume(ref.sum() > 0 and cur.sum() > 0)
    expected = float(jensenshannon(ref, cur, base=2))
    assume(not math.isnan(expected))  # SciPy's sqrt of a -1e-17 divergence
    assert close(stats.jensen_shannon(ref, cur), expected)


def test_jensen_shannon_of_disjoint_histograms_is_one() -> None:
    assert close(stats.jensen_shannon([3, 0, 0], [0, 2, 5]), 1.0)


def test_jensen_shannon_of_proportional_histograms_is_zero() -> None:
    assert stats.jensen_shannon([1, 2, 3], [2, 4, 6]) == 0.0


# --- categorical tests ---------------------------------------------------------------------------


@FAST
@given(counts_pairs)
def test_chi2_matches_scipy_contingency(pairs: list[tuple[int, int]]) -> None:
    ref, cur = np.array(pairs).T
    assume(ref.sum() > 0 and cur.sum() > 0)
    seen = (ref > 0) | (cur > 0)
    assume(seen.sum() >= 2)
    expected = sps.chi2_contingency(np.vstack([ref[seen], cur[seen]]))
    stat, p = stats.chi2(ref, cur)
    assert close(stat, float(expected[0]))
    assert p_close(p, float(expected[1]))


def test_chi2_applies_yates_correction_with_two_categories() -> None:
    corrected = sps.chi2_contingency(np.array([[30, 20], [20, 30]]), correction=True)
    plain = sps.chi2_contingency(np.array([[30, 20], [20, 30]]), correction=False)
    stat, _ = stats.chi2([30, 20], [20, 30])
    assert close(stat, float(corrected[0]))
    assert not close(stat, float(plain[0]))


def test_chi2_drops_categories_absent_from_both_samples() -> None:
    assert stats.chi2([5, 0, 7, 3], [4, 0, 9, 1]) == stats.chi2([5, 7, 3], [4, 9, 1])


def test_chi2_of_a_single_category_is_zero_with_p_one() -> None:
    assert stats.chi2([7, 0], [3, 0]) == (0.0, 1.0)


def test_chi2_rejects_an_empty_side() -> None:
    with pytest.raises(EmptyData, match="cur_counts"):
        stats.chi2([1, 2], [0, 0])


def test_chi2_rejects_misaligned_categories() -> None:
    with pytest.raises(CheckInputError, match="one count per category"):
        stats.chi2([1, 2], [1, 2, 3])


def test_two_proportion_matches_hand_worked_example() -> None:
    # pooled 0.375; se = sqrt(0.375 * 0.625 * (1/100 + 1/100)); z = -0.15 / se
    se = math.sqrt(0.375 * 0.625 * 0.02)
    z, p = stats.two_proportion(30, 100, 45, 100)
    assert close(z, -0.15 / se)
    assert p_close(p, 2 * float(sps.norm.sf(0.15 / se)))


@FAST
@given(st.integers(1, 500), st.integers(1, 500), st.data())
def test_two_proportion_z_squared_is_uncorrected_chi2(n1: int, n2: int, data: Any) -> None:
    k1 = data.draw(st.integers(0, n1))
    k2 = data.draw(st.integers(0, n2))
    assume(0 < k1 + k2 < n1 + n2)
    z, p = stats.two_proportion(k1, n1, k2, n2)
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    assume(np.all(table.sum(axis=0) > 0))
    expected = sps.chi2_contingency(table, correction=False)
    assert close(z * z, float(expected[0]))
    assert p_close(p, float(expected[1]))


@pytest.mark.parametrize(("k1", "k2"), [(0, 0), (10, 20)])
def test_two_proportion_of_equal_extreme_rates_is_zero_with_p_one(k1: int, k2: int) -> None:
    assert stats.two_proportion(k1, 10, k2, 20) == (0.0, 1.0)


def test_two_proportion_rejects_more_events_than_trials() -> None:
    with pytest.raises(CheckInputError, match="k1=11"):
        stats.two_proportion(11, 10, 1, 10)


def test_two_proportion_rejects_zero_trials() -> None:
    with pytest.raises(EmptyData, match="n2=0"):
        stats.two_proportion(1, 10, 0, 0)


# --- multiple testing -----------------------------------------------------------------------------


P = [0.01, 0.04, 0.03, 0.005]


def test_adjust_bh_matches_hand_worked_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> *4/rank: 0.02, 0.02, 0.04, 0.04 (running min from top)
    np.testing.assert_allclose(stats.adjust_p_values(P, "bh"), [0.02, 0.04, 0.04, 0.02])


def test_adjust_holm_matches_hand_worked_example() -> None:
    # sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(stats.adjust_p_values(P, "holm"), [0.03, 0.06, 0.06, 0.02])


def test_adjust_bonferroni_matches_hand_worked_example() -> None:
    np.testing.assert_allclose(stats.adjust_p_values(P, "bonferroni"), [0.04, 0.16, 0.12, 0.02])


def test_adjust_none_returns_the_p_values_unchanged() -> None:
    np.testing.assert_array_equal(stats.adjust_p_values(P, "none"), P)


p_values = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30)


@FAST
@given(p_values)
def test_adjust_bh_equals_scipy_false_discovery_control(p: list[float]) -> None:
    np.testing.assert_allclose(
        stats.adjust_p_values(p, "bh"), sps.false_discovery_control(p, method="bh"), rtol=1e-12
    )


@FAST
@given(p_values)
def test_adjusted_p_values_order_bh_below_holm_below_bonferroni(p: list[float]) -> None:
    bh = stats.adjust_p_values(p, "bh")
    holm = stats.adjust_p_values(p, "holm")
    bonferroni = stats.adjust_p_values(p, "bonferroni")
    assert np.all(bh <= holm * (1 + 1e-12))
    assert np.all(holm <= bonferroni * (1 + 1e-12))


@FAST
@given(p_values, st.sampled_from(["bh", "holm", "bonferroni"]))
def test_adjusted_p_values_keep_the_order_of_the_raw_ones(p: list[float], method: Any) -> None:
    adjusted = stats.adjust_p_values(p, method)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)


@FAST
@given(p_values, st.sampled_from(["bh", "holm", "bonferroni"]))
def test_adjusted_p_values_lie_between_the_raw_ones_and_one(p: list[float], method: Any) -> None:
    adjusted = stats.adjust_p_values(p, method)
    assert np.all(adjusted >= np.asarray(p) * (1 - 1e-12))
    assert np.all(adjusted <= 1.0)


@pytest.mark.parametrize("method", ["bh", "holm", "bonferroni"])
def test_adjust_p_values_keeps_nan_and_leaves_it_out_of_the_family(method: Any) -> None:
    with_nan = stats.adjust_p_values([0.01, math.nan, 0.02], method)
    without = stats.adjust_p_values([0.01, 0.02], method)
    assert math.isnan(with_nan[1])
    np.testing.assert_array_equal(with_nan[[0, 2]], without)


def test_adjust_p_values_rejects_an_unknown_method_naming_it_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"method='fdr'.*'bh', 'holm', 'bonferroni', 'none'"):
        stats.adjust_p_values([0.1], "fdr")  # type: ignore[arg-type]


def test_adjust_p_values_rejects_a_p_value_above_one() -> None:
    with pytest.raises(CheckInputError, match=r"\[0, 1\]"):
        stats.adjust_p_values([1.5], "bh")


# --- numeric_drift ------------------------------------------------------------------------------


@FAST
@given(any_sample, any_sample, st.integers(2, 12))
def test_numeric_drift_equals_the_separate_statistics(a: Any, b: Any, bins: int) -> None:
    drift = stats.numeric_drift(a, b, bins=bins)
    edges = stats.quantile_edges(a, bins)
    ref_counts = stats.binned_counts(a, edges)
    cur_counts = stats.binned_counts(b, edges)
    assert (drift.ks, drift.ks_p) == stats.ks(a, b)
    assert drift.wasserstein == stats.wasserstein(a, b)
    np.testing.assert_array_equal(drift.edges, edges)
    assert drift.psi == stats.psi(ref_counts, cur_counts)
    assert drift.js == stats.jensen_shannon(ref_counts, cur_counts)
    assert drift.psi_critical == stats.psi_critical_value(a.size, b.size, edges.size + 1)
    assert drift.cvm is None
    assert drift.cvm_p is None


@FAST
@given(floats, floats)
def test_numeric_drift_divides_wasserstein_by_the_population_std(a: Any, b: Any) -> None:
    spread = statistics.pstdev(a.tolist())  # exact rational arithmetic, unlike np.std
    assume(spread > 0)
    drift = stats.numeric_drift(a, b)
    assert close(drift.wasserstein_norm, drift.wasserstein / spread)


@FAST
@given(any_sample, st.data())
def test_wasserstein_and_std_together_equal_each_alone(a: Any, data: Any) -> None:
    values = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
    b = sorted_array(data.draw(st.lists(values, min_size=a.size, max_size=a.size)))
    assert _wasserstein.wasserstein_and_std(a, b) == (
        stats.wasserstein(a, b),
        stats.population_std(a),
    )


@pytest.mark.parametrize("size", [(1 << 16) + 1, (1 << 18) * 2 + 12345])
def test_wasserstein_and_std_together_equal_each_alone_across_blocks(size: int) -> None:
    rng = np.random.default_rng(size)
    a = np.sort(rng.normal(1e6, 3.0, size))
    b = np.sort(rng.normal(1e6 + 0.5, 2.0, size))
    assert _wasserstein.wasserstein_and_std(a, b) == (
        stats.wasserstein(a, b),
        stats.population_std(a),
    )


def test_population_std_matches_numpy_across_several_blocks() -> None:
    a = np.sort(np.random.default_rng(7).normal(1e9, 3.0, size=300_000))  # far from 0
    assert close(stats.population_std(a), float(np.std(a)))


def test_numeric_drift_normalises_values_near_the_float_limits_without_overflow() -> None:
    a = np.array([-1e300, 0.0, 1e300])
    drift = stats.numeric_drift(a, a + 0.0)
    assert drift.wasserstein_norm == 0.0
    assert close(stats.population_std(a), math.sqrt(2 / 3) * 1e300)
    assert close(stats.population_std(np.array([0.0, 1e-310])), 0.5e-310)


def test_numeric_drift_with_constant_reference_is_infinite_when_current_differs() -> None:
    drift = stats.numeric_drift([2.0, 2.0], [2.0, 3.0])
    assert drift.wasserstein_norm == math.inf


def test_numeric_drift_with_constant_reference_is_zero_when_current_equals_it() -> None:
    drift = stats.numeric_drift([2.0, 2.0], [2.0])
    assert drift.wasserstein_norm == 0.0


def test_numeric_drift_runs_cramervonmises_when_asked() -> None:
    a, b = np.arange(10.0), np.arange(5.0, 15.0)
    drift = stats.numeric_drift(a, b, cvm=True)
    assert (drift.cvm, drift.cvm_p) == stats.cramervonmises(a, b)


def test_numeric_drift_counts_bins_left_after_duplicate_edges() -> None:
    a = np.array([0.0] * 90 + [1.0] * 10)
    drift = stats.numeric_drift(a, a)
    assert drift.edges.size == 1  # nine deciles at 0.0 collapse into one edge
    assert drift.psi_critical == stats.psi_critical_value(100, 100, 2)


def test_numeric_drift_result_is_immutable() -> None:
    drift = stats.numeric_drift([1.0, 2.0], [1.0, 3.0])
    with pytest.raises(ValueError, match="read-only"):
        drift.edges[0] = 5.0


@FAST
@given(any_sample, any_sample)
def test_numeric_drift_emits_no_numpy_warnings(a: Any, b: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats.numeric_drift(a, b, cvm=a.size > 1 and b.size > 1)


# --- refusals -------------------------------------------------------------------------------------


ONE_SAMPLE = [
    stats.quantile_edges,
    lambda x: stats.binned_counts(x, [0.0]),
    lambda x: stats.QuantileSummary.from_sorted(x, size=3),
]
TWO_SAMPLES = [stats.ks, stats.wasserstein, stats.cramervonmises, stats.numeric_drift]


@pytest.mark.parametrize("statistic", TWO_SAMPLES)
def test_two_sample_statistics_raise_empty_data_on_an_empty_sample(statistic: Any) -> None:
    with pytest.raises(EmptyData, match="b has no values"):
        statistic([1.0, 2.0], [])


@pytest.mark.parametrize("statistic", ONE_SAMPLE)
def test_one_sample_functions_raise_empty_data_on_an_empty_sample(statistic: Any) -> None:
    with pytest.raises(EmptyData, match="no values"):
        statistic([])


@pytest.mark.parametrize("statistic", TWO_SAMPLES)
def test_statistics_reject_unsorted_input(statistic: Any) -> None:
    with pytest.raises(CheckInputError, match="sorted_finite"):
        statistic([2.0, 1.0], [1.0, 2.0])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("statistic", TWO_SAMPLES)
def test_statistics_reject_non_finite_input(statistic: Any, bad: float) -> None:
    with pytest.raises(CheckInputError, match="finite"):
        statistic([1.0, 2.0], sorted([0.5, bad]))


@pytest.mark.parametrize("bins", [1, 0, 2.5, True])
def test_bins_other_than_an_integer_from_two_raise_config_error(bins: Any) -> None:
    with pytest.raises(ConfigError, match=f"bins={bins!r}"):
        stats.numeric_drift([1.0], [1.0], bins=bins)


# --- the benchmark --------------------------------------------------------------------------------


BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_drift.py"
_PAIR = r"[\d,]+\.\d/[\d,]+\.\d ms"  # wall/CPU
_RATIO = r"\d+\.\d\dx \(\d+\.\d\dx\)"  # CPU (wall)
#: One row of the benchmark's table: kind, rows, columns, first call, warm, baseline
#: (name, first / warm), ratio first, ratio warm, target, verdict.
BENCHMARK_ROW = re.compile(
    rf"(?P<kind>\S+) +[\d,]+ +\d+ +(?P<first>-|{_PAIR}) +(?P<warm>{_PAIR}) +\S+ "
    rf"(?P<first_base>-|{_PAIR}), (?P<warm_base>{_PAIR}) +(?P<first_ratio>-|{_RATIO}) +"
    rf"(?P<warm_ratio>{_RATIO}) +(?P<target>\(<= [^)]+\)|reported) +(?P<verdict>n/a|-)"
)


@pytest.mark.skipif(not BENCHMARK.exists(), reason="benchmarks/ is not shipped here")
def test_benchmark_quick_run_prints_a_verdict_for_every_target() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--columns", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    # A quick run's rows are a tenth of the targets' sizes: each target row shows its
    # full-size target in brackets and the verdict n/a, never a PASS or MISS it did not earn.
    lines = run.stdout.splitlines()
    verdicts = [line for line in lines if line.rstrip().endswith(" n/a") and "(<= " in line]
    assert len(verdicts) >= 6, run.stdout
    assert not [line for line in lines if " PASS" in line or " MISS" in line], run.stdout
    rows = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert {"pd-category", "arrow-dict", "pd-text"} <= rows, run.stdout
    # Every row holds its measurements, not placeholders: warm wall/CPU times of the check
    # and of its baseline and their ratios (a quick run measures the first call, in a fresh
    # process, for its first row only: "-" elsewhere).
    table = [m for line in lines if (m := BENCHMARK_ROW.fullmatch(line.rstrip()))]
    assert len(table) >= 8, run.stdout
    for index, row in enumerate(table):
        firsts = ("first", "first_base", "first_ratio")
        assert all((row[key] == "-") == (index > 0) for key in firsts), row[0]
        measured = ("warm", "warm_ratio") + (() if index else ("first", "first_ratio"))
        for key in (*measured, "warm_base", "first_base"):
            for figure in re.findall(r"[\d,]*\.\d+", row[key]):
                value = float(figure.replace(",", ""))
                assert math.isfinite(value), (key, figure, row[0])
                # A baseline of 1,000 rows can round to 0.0 ms: measured, never negative.
                assert value > 0 if key in measured else value >= 0, (key, figure, row[0])
    jobs = re.search(r"wall: ([\d,.]+) ms against ([\d,.]+) ms: ([\d.]+)x faster", run.stdout)
    assert jobs, run.stdout
    assert all(float(x.replace(",", "")) > 0 for x in jobs.groups()), jobs[0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False), min_size=1, max_size=50
    )
)
def test_population_std_matches_numpy_without_overflow(values: list[float]) -> None:
    a = stats.sorted_finite(values)
    scale = float(np.max(np.abs(a)))  # numpy's own std overflows near 1e300: scale first
    expected = 0.0 if scale == 0.0 else float(np.std(a / scale)) * scale
    assert math.isclose(stats.population_std(a), expected, rel_tol=1e-9, abs_tol=1e-300)


@FEW
@given(st.integers(20_000, 120_000), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_ks_of_samples_that_barely_differ_is_exact(n: int, changed: int, seed: int) -> None:
    # F_a - F_b stays near zero everywhere, so the bounds prune nothing: the refinement
    # gives up on rounds and scans every index (or, for equal samples, answers 0 at once).
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(size=n))
    b = a.copy()
    b[rng.integers(0, n, changed)] = rng.normal(size=changed)
    b.sort()
    pooled = np.concatenate((a, b))  # the numerator by brute force, in exact integers
    below_a = np.searchsorted(a, pooled, side="right").astype(np.int64)
    below_b = np.searchsorted(b, pooled, side="right").astype(np.int64)
    assert _ks.ks_numerator(a, b) == int(np.max(np.abs(below_a * b.size - below_b * a.size)))
    assert _ks.ks_numerator(a, a) == 0


@pytest.mark.parametrize("where", [3, 50_017, 99_990])
def test_ks_scan_finds_a_one_step_difference_anywhere(where: int) -> None:
    # One value of b moved past its neighbour in a: F_a - F_b is one step over a single
    # gap and zero elsewhere, so no early round sees it and only the scan can find it.
    a = np.sort(np.random.default_rng(where).normal(size=100_000))
    b = a.copy()
    b[where] = (a[where + 1] + a[where + 2]) / 2
    b.sort()
    assert _ks.ks_numerator(a, b) == a.size  # n * m * (1 / n)
