"""Quantile summaries: exact JSON round trips, and statistics within their proven bounds.

A summary of k quantiles knows the reference CDF to within
``cdf_error <= (ceil((n-1)/(k-1)) - 1) / (2n) < 1/(2(k-1))``; KS from a summary is within
``cdf_error`` of the exact KS, Wasserstein within ``wasserstein_error``, and PSI is exact
when ``bins`` divides ``k - 1``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelship.checks.stats import (
    QuantileSummary,
    binned_counts,
    ks,
    ks_from_summary,
    psi,
    psi_from_summary,
    quantile_edges,
    wasserstein,
    wasserstein_from_summary,
)
from modelship.errors import CheckInputError, ConfigError

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sorted_array(values: list[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.sort(np.asarray(values, dtype=np.float64))


samples = st.one_of(
    st.lists(st.integers(0, 5).map(float), min_size=1, max_size=300),  # ties
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=300),
    st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=1, max_size=60),
).map(sorted_array)
sizes = st.integers(2, 40)


def proven_cdf_bound(n: int, k: int) -> float:
    return max(math.ceil((n - 1) / (k - 1)) - 1, 0) / (2 * n)


def exact_cdf(a: np.ndarray[Any, Any], x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.searchsorted(a, x, side="right") / a.size


# --- the record ------------------------------------------------------------------------------


def test_summary_stores_the_minimum_and_the_maximum() -> None:
    s = QuantileSummary.from_sorted([1.0, 4.0, 9.0, 10.0], size=3)
    assert s.quantiles[0] == 1.0
    assert s.quantiles[-1] == 10.0


@FAST
@given(samples, sizes)
def test_summary_stores_lower_order_statistics_at_even_levels(a: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    levels = np.arange(k) / (k - 1)
    np.testing.assert_array_equal(s.quantiles, np.quantile(a, levels, method="lower"))


@FAST
@given(samples, sizes)
def test_summary_ranks_count_the_values_at_or_below_each_quantile(a: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    np.testing.assert_array_equal(s.ranks, [(a <= q).sum() for q in s.quantiles])


@FAST
@given(samples, sizes)
def test_summary_round_trips_through_json_exactly(a: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    back = QuantileSummary.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert back == s
    assert back.quantiles.tobytes() == s.quantiles.tobytes()


def test_summary_is_immutable() -> None:
    s = QuantileSummary.from_sorted([1.0, 2.0], size=2)
    with pytest.raises(ValueError, match="read-only"):
        s.quantiles[0] = 0.0


def test_summary_from_dict_rejects_ranks_that_do_not_end_at_n() -> None:
    with pytest.raises(CheckInputError, match="inconsistent"):
        QuantileSummary.from_dict({"n": 3, "quantiles": [1.0, 2.0], "ranks": [1, 2]})


def test_summary_from_dict_rejects_unsorted_quantiles() -> None:
    with pytest.raises(CheckInputError, match="inconsistent"):
        QuantileSummary.from_dict({"n": 2, "quantiles": [2.0, 1.0], "ranks": [1, 2]})


@pytest.mark.parametrize(
    "data",
    [
        {"n": 2.5, "quantiles": [1.0, 2.0], "ranks": [1, 2]},
        {"n": 2, "quantiles": [1.0, 2.0], "ranks": [1.5, 2.0]},
    ],
)
def test_summary_from_dict_rejects_counts_that_are_not_integers(data: dict[str, Any]) -> None:
    with pytest.raises(CheckInputError, match="not a quantile summary"):
        QuantileSummary.from_dict(data)


def test_summary_from_dict_rejects_a_missing_key() -> None:
    with pytest.raises(CheckInputError, match="ranks"):
        QuantileSummary.from_dict({"n": 2, "quantiles": [1.0, 2.0]})


def test_summary_rejects_a_size_below_two() -> None:
    with pytest.raises(ConfigError, match="size=1"):
        QuantileSummary.from_sorted([1.0, 2.0], size=1)


def test_summary_rejects_unsorted_values() -> None:
    with pytest.raises(CheckInputError, match="sorted"):
        QuantileSummary.from_sorted([2.0, 1.0])


# --- the bounds -----------------------------------------------------------------------------------


@FAST
@given(samples, sizes)
def test_summary_cdf_error_is_within_the_proven_bound(a: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    assert s.cdf_error <= proven_cdf_bound(a.size, k)
    assert s.cdf_error < 1 / (2 * (k - 1))


@FAST
@given(samples, sizes, st.lists(st.floats(-2e300, 2e300, allow_nan=False), max_size=20))
def test_summary_cdf_is_within_cdf_error_everywhere(a: Any, k: int, extra: list[float]) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    # The CDFs are step functions: comparing at every value and just below it covers all x.
    points = np.concatenate((a, np.nextafter(a, -np.inf), np.asarray(extra, dtype=np.float64)))
    gap = np.abs(s._cdf(points) - exact_cdf(a, points))
    assert gap.max() <= s.cdf_error + 1e-15


@FAST
@given(samples, samples, sizes)
def test_ks_from_summary_is_within_cdf_error_of_exact_ks(a: Any, b: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    approx, _ = ks_from_summary(s, b)
    exact, _ = ks(a, b)
    assert abs(approx - exact) <= s.cdf_error + 1e-12


def test_ks_from_summary_can_be_off_by_nearly_the_whole_bound() -> None:
    # Only min and max are stored; 99 of the 101 values sit just above the minimum, where
    # the summary can only guess the middle of the band.
    a = np.concatenate(([0.0], np.full(99, 0.01), [2.0]))
    s = QuantileSummary.from_sorted(a, size=2)
    approx, _ = ks_from_summary(s, np.array([1.0]))
    exact, _ = ks(a, np.array([1.0]))
    assert abs(approx - exact) <= s.cdf_error
    assert abs(approx - exact) > 0.99 * s.cdf_error


@FAST
@given(samples, sizes)
def test_ks_from_summary_is_exact_when_every_value_is_stored(a: Any, extra: int) -> None:
    s = QuantileSummary.from_sorted(a, size=a.size + extra)
    b = a[::2] + 0.5
    approx, approx_p = ks_from_summary(s, b)
    exact, exact_p = ks(a, b)
    assert approx == pytest.approx(exact, rel=1e-12)  # ks() snaps to h / lcm(n, m)
    assert approx_p == exact_p


@FAST
@given(samples, samples, sizes)
def test_wasserstein_from_summary_is_within_its_error(a: Any, b: Any, k: int) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    approx = wasserstein_from_summary(s, b)
    exact = wasserstein(a, b)
    slack = 1e-9 * max(exact, approx, s.wasserstein_error)
    assert abs(approx - exact) <= s.wasserstein_error + slack
    span = float(a[-1]) - float(a[0])
    assert s.wasserstein_error <= s.cdf_error * span * (1 + 1e-12)


@FAST
@given(samples, samples, st.sampled_from([(1001, 10), (1001, 4), (101, 5), (21, 20), (7, 2)]))
def test_psi_from_summary_equals_exact_psi_when_bins_divide_k_minus_one(
    a: Any, b: Any, size_and_bins: tuple[int, int]
) -> None:
    k, bins = size_and_bins
    s = QuantileSummary.from_sorted(a, size=k)
    edges = quantile_edges(a, bins)
    exact = psi(binned_counts(a, edges), binned_counts(b, edges))
    assert psi_from_summary(s, b, bins) == exact


@FAST
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=20, max_size=400, unique=True),
    st.integers(6, 40),
    st.integers(3, 13),
)
def test_psi_from_summary_bins_move_within_the_bound_otherwise(
    values: list[float], k: int, bins: int
) -> None:
    # Without ties, each summary edge's reference level is within 1/(k-1) + 1/n of the
    # exact edge's, so each bin's reference proportion moves by less than twice that.
    a = sorted_array(values)
    n = a.size
    s = QuantileSummary.from_sorted(a, size=k)
    summary_edges = quantile_edges(s.quantiles, bins)
    exact_edges = quantile_edges(a, bins)
    if summary_edges.size != exact_edges.size:
        return  # a collapsed edge changes the bins, not the levels
    level_gap = np.abs(exact_cdf(a, summary_edges) - exact_cdf(a, exact_edges))
    assert np.all(level_gap < 1 / (k - 1) + 1 / n)
    np.testing.assert_array_equal(
        s.bin_counts(summary_edges), binned_counts(a, summary_edges).astype(float)
    )


def test_bin_counts_are_exact_at_stored_quantiles_and_estimated_between() -> None:
    a = np.arange(101, dtype=np.float64)
    s = QuantileSummary.from_sorted(a, size=11)
    np.testing.assert_array_equal(s.bin_counts([30.0]), [31.0, 70.0])
    between = s.bin_counts([35.0])
    assert abs(between[0] - 36.0) <= 2 * a.size * s.cdf_error


@FAST
@given(samples, samples, sizes)
def test_the_lower_wasserstein_from_a_summary_is_never_above_the_exact_one(
    a: Any, b: Any, k: int
) -> None:
    s = QuantileSummary.from_sorted(a, size=k)
    low = wasserstein_from_summary(s, b, lower=True)
    exact = wasserstein(a, b)
    # Relative, plus a few subnormals per value: at that scale the distances' sums round to
    # whole subnormals (a=[0], b=[5e-324, 5e-324]: exact 0.0, lower bound 5e-324).
    tiny = 4 * (len(a) + len(b)) * float(np.finfo(np.float64).smallest_subnormal)
    slack = 1e-9 * max(exact, low, s.wasserstein_error) + tiny
    assert low <= exact + slack
    assert exact - low <= 2 * s.wasserstein_error + slack
    assert low <= wasserstein_from_summary(s, b) + slack


def test_the_lower_wasserstein_is_not_biased_up_by_a_heavy_tail() -> None:
    # The estimate's last band spans the tail's longest gap: 0.20 of a standard deviation
    # for a lognormal against itself, over the drift check's 0.1 effect threshold.
    rng = np.random.default_rng(1)
    a = np.sort(rng.lognormal(0.0, 2.0, 1_000_000))
    b = np.sort(rng.lognormal(0.0, 2.0, 500_000))
    s = QuantileSummary.from_sorted(a)
    std = float(a.std())
    exact = wasserstein(a, b) / std
    assert wasserstein_from_summary(s, b) / std > 0.1 > 10 * exact  # the estimate's bias
    assert wasserstein_from_summary(s, b, lower=True) / std <= exact
