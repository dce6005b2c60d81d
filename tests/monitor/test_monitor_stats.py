"""The monitoring statistics agree with SciPy and with brute force, and keep their promises."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

import modelship as ms
from modelship.monitor import (
    SequentialTest,
    _stats,
    always_valid_p_values,
    hodges_lehmann,
    mann_whitney,
    mann_whitney_min_p,
    mann_whitney_min_size,
    msprt,
    pairwise_difference_quantiles,
    proportion_difference,
    sample_ratio_mismatch,
    sample_size_means,
    sample_size_proportions,
    welch,
)

small_floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
samples = st.lists(small_floats, min_size=1, max_size=40)
# Rounded values: many ties.
tied = st.lists(st.integers(-4, 4).map(float), min_size=1, max_size=40)


def _close(ours: float, theirs: float, tol: float = 1e-9) -> bool:
    return math.isclose(ours, theirs, rel_tol=tol, abs_tol=tol * 1e-3)


# --- Mann-Whitney ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(x=st.one_of(samples, tied), y=st.one_of(samples, tied))
def test_mann_whitney_agrees_with_scipy_auto_to_1e9(x: list[float], y: list[float]) -> None:
    ours = mann_whitney(x, y)
    theirs = sps.mannwhitneyu(x, y, alternative="two-sided", method="auto")
    assert ours.statistic == float(theirs.statistic)
    assert _close(ours.p_value, float(theirs.pvalue))


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 4), (8, 8), (2, 300), (8, 120), (5, 2000)])
def test_mann_whitney_uses_the_exact_distribution_where_scipy_does(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    x, y = rng.normal(size=n), rng.normal(0.5, size=m)
    ours = mann_whitney(x, y)
    theirs = sps.mannwhitneyu(x, y, method="auto")
    assert ours.method == "exact"
    assert _close(ours.p_value, float(theirs.pvalue))


def test_mann_whitney_is_asymptotic_with_ties_or_two_large_samples() -> None:
    assert mann_whitney([1.0, 1.0, 2.0], [2.0, 3.0]).method == "asymptotic"
    rng = np.random.default_rng(0)
    assert mann_whitney(rng.normal(size=9), rng.normal(size=9)).method == "asymptotic"


def test_mann_whitney_without_continuity_agrees_with_scipy() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=50), rng.normal(0.3, size=70)
    ours = mann_whitney(x, y, use_continuity=False)
    theirs = sps.mannwhitneyu(x, y, use_continuity=False)
    assert _close(ours.p_value, float(theirs.pvalue))


@settings(max_examples=200, deadline=None)
@given(x=st.one_of(samples, tied), y=st.one_of(samples, tied))
def test_hodges_lehmann_is_the_median_of_all_pairwise_differences(
    x: list[float], y: list[float]
) -> None:
    differences = np.subtract.outer(np.sort(x), np.sort(y)).ravel()
    assert hodges_lehmann(x, y) == float(np.median(differences))


@settings(max_examples=200, deadline=None)
@given(x=st.one_of(samples, tied), y=st.one_of(samples, tied), level=st.sampled_from([0.8, 0.95]))
def test_the_shift_interval_is_the_order_statistics_at_the_critical_rank(
    x: list[float], y: list[float], level: float
) -> None:
    result = mann_whitney(x, y, confidence=level)
    differences = np.sort(np.subtract.outer(np.sort(x), np.sort(y)).ravel())
    total = differences.size
    alpha = 1 - level
    if result.method == "exact":
        # The largest k with P(U <= k - 1) <= alpha / 2, from SciPy's own null distribution.
        null = _null_cdf(len(x), len(y))
        k = int(np.searchsorted(null, alpha / 2 * (1 + 1e-12), side="right"))
    else:
        n1, n2 = len(x), len(y)
        pooled = np.concatenate([x, y])
        _, counts = np.unique(pooled, return_counts=True)
        n = n1 + n2
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - np.sum(counts**3 - counts) / (n * (n - 1))))
        k = max(0, math.floor(total / 2 + 0.5 - sps.norm.ppf(1 - alpha / 2) * sigma))
    if k >= 1 and total + 1 - k >= k:
        assert (result.ci_low, result.ci_high) == (differences[k - 1], differences[total - k])
        assert result.ci_low <= result.shift <= result.ci_high
    else:
        assert (result.ci_low, result.ci_high) == (-math.inf, math.inf)


def _null_cdf(n1: int, n2: int) -> np.ndarray:
    """P(U <= u) for u up to n1 n2 / 2, from SciPy's exact null distribution."""
    from scipy.stats._mannwhitneyu import _MWU  # test-only use of a private helper

    null = _MWU(n1, n2)
    return np.array([float(null.cdf(np.array(u))) for u in range(n1 * n2 // 2 + 1)])


def test_the_exact_interval_covers_the_true_shift_at_least_at_its_level() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(400):
        x = rng.exponential(size=6) + 0.7
        y = rng.exponential(size=7)
        result = mann_whitney(x, y, confidence=0.9)
        covered += result.ci_low <= 0.7 <= result.ci_high
    assert covered / 400 >= 0.9 - 3 * math.sqrt(0.09 / 400)


@pytest.mark.parametrize("tied_values", [False, True])
@pytest.mark.parametrize("rank_kind", ["first", "last", "middle", "quarter"])
def test_selection_without_materialising_matches_a_full_sort(
    monkeypatch: pytest.MonkeyPatch, tied_values: bool, rank_kind: str
) -> None:
    monkeypatch.setattr(_stats, "_MATERIALISE_MAX", 0)  # force the selection path
    monkeypatch.setattr(_stats, "_SELECT_BUILD_BELOW", 0)
    rng = np.random.default_rng(11)
    x = np.sort(rng.normal(size=700))
    y = np.sort(rng.normal(0.2, 2.0, size=500))
    if tied_values:
        x, y = np.round(x, 1), np.round(y, 1)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    rank = {"first": 0, "last": differences.size - 1, "middle": differences.size // 2}.get(
        rank_kind, differences.size // 4 + 3
    )
    assert pairwise_difference_quantiles(x, y, [rank]) == [float(differences[rank])]


@settings(max_examples=200, deadline=None)
@given(
    x=st.one_of(samples, tied),
    y=st.one_of(samples, tied),
    where=st.floats(0, 1),
)
def test_selection_agrees_with_a_full_sort_for_any_shapes_and_ties(
    x: list[float], y: list[float], where: float
) -> None:
    xs, ys = np.sort(np.array(x)), np.sort(np.array(y))
    differences = np.sort(np.subtract.outer(xs, ys).ravel())
    rank = min(differences.size - 1, int(where * differences.size))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_stats, "_SELECT_BUILD_BELOW", 0)  # pivot rounds even for tiny inputs
        patch.setattr(_stats, "_PIVOT_SAMPLE", 16)
        assert _stats._select_difference(xs, ys, rank) == differences[rank]


@pytest.mark.parametrize("tied_values", [False, True])
def test_adjacent_ranks_agree_with_a_full_sort(
    monkeypatch: pytest.MonkeyPatch, tied_values: bool
) -> None:
    monkeypatch.setattr(_stats, "_MATERIALISE_MAX", 0)
    rng = np.random.default_rng(12)
    x = np.sort(rng.normal(size=600))
    y = np.sort(rng.normal(size=401))
    if tied_values:
        x, y = np.round(x, 1), np.round(y, 1)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    middle = differences.size // 2
    ranks = [middle - 1, middle, 0, 1, differences.size - 2, differences.size - 1]
    assert pairwise_difference_quantiles(x, y, ranks) == [float(differences[r]) for r in ranks]


def test_selection_of_an_all_equal_matrix_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stats, "_MATERIALISE_MAX", 0)
    x = np.zeros(1000)
    assert pairwise_difference_quantiles(x, x, [123_456]) == [0.0]


def test_mann_whitney_on_large_samples_matches_scipy_and_the_known_shift() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.2, 1.0, 3000)
    y = rng.normal(0.0, 1.0, 2000)
    ours = mann_whitney(x, y)
    theirs = sps.mannwhitneyu(x, y)
    assert _close(ours.p_value, float(theirs.pvalue))
    assert ours.ci_low < 0.2 < ours.ci_high


def test_minimum_p_value_is_two_over_the_number_of_splits() -> None:
    assert mann_whitney_min_p(4, 4) == pytest.approx(2 / math.comb(8, 4))
    assert mann_whitney_min_p(1, 1) == 1.0
    assert mann_whitney_min_p(2, 1500) == pytest.approx(2 / math.comb(1502, 2), rel=1e-9)


def test_minimum_p_value_of_large_samples_underflows_to_zero_without_overflow() -> None:
    assert mann_whitney_min_p(9000, 1000) == 0.0


@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.01, 0.001])
def test_minimum_sample_size_is_the_first_that_can_reach_alpha(alpha: float) -> None:
    n = mann_whitney_min_size(alpha)
    assert mann_whitney_min_p(n, n) <= alpha < mann_whitney_min_p(n - 1, n - 1) if n > 1 else True
    # And the exact test really reaches it: every x above every y.
    x, y = np.arange(n) + 100.0, np.arange(n, dtype=float)
    assert sps.mannwhitneyu(x, y).pvalue <= alpha


def test_a_sample_with_nan_is_refused_with_a_hint_about_missing_values() -> None:
    with pytest.raises(ms.CheckInputError, match="never zeros"):
        mann_whitney([1.0, float("nan")], [1.0])


def test_an_empty_sample_is_empty_data() -> None:
    with pytest.raises(ms.EmptyData):
        mann_whitney([], [1.0])


# --- Welch -----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@settings(max_examples=200, deadline=None)
@given(
    x=st.lists(small_floats, min_size=2, max_size=40),
    y=st.lists(small_floats, min_size=2, max_size=40),
    level=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_welch_agrees_with_scipy_ttest_ind_unequal_var_to_1e9(
    x: list[float], y: list[float], level: float
) -> None:
    if np.var(x) + np.var(y) < 1e-3:
        return  # both (nearly) constant: undefined, tested separately
    ours = welch(x, y, confidence=level)
    theirs = sps.ttest_ind(x, y, equal_var=False)
    ci = theirs.confidence_interval(confidence_level=level)
    assert _close(ours.statistic, float(theirs.statistic))
    assert _close(ours.p_value, float(theirs.pvalue))
    assert _close(ours.df, float(theirs.df))
    assert _close(ours.ci_low, float(ci.low))
    assert _close(ours.ci_high, float(ci.high))


def test_welch_with_two_constant_samples_is_refused() -> None:
    with pytest.raises(ms.CheckInputError, match="constant"):
        welch([1.0, 1.0], [2.0, 2.0])


# --- proportions and planning ----------------------------------------------------------------


def test_proportion_difference_reproduces_newcombes_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (56/70 vs 48/80).
    result = proportion_difference(56, 70, 48, 80)
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (0.0524, 0.3339)


@settings(max_examples=200, deadline=None)
@given(n_x=st.integers(1, 500), n_y=st.integers(1, 500), fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_proportion_interval_contains_the_estimate_and_stays_in_bounds(
    n_x: int, n_y: int, fx: float, fy: float
) -> None:
    k_x, k_y = round(fx * n_x), round(fy * n_y)
    result = proportion_difference(k_x, n_x, k_y, n_y)
    assert -1 - 1e-12 <= result.ci_low <= result.difference <= result.ci_high <= 1 + 1e-12


def test_proportion_z_test_agrees_with_scipys_chi2_without_correction() -> None:
    result = proportion_difference(120, 1000, 100, 1000)
    chi2, p, _, _ = sps.chi2_contingency([[120, 880], [100, 900]], correction=False)
    assert _close(result.statistic**2, chi2)
    assert _close(result.p_value, p)


def _power_means(n: int, sd: float, mde: float, alpha: float) -> float:
    se = sd * math.sqrt(2 / n)
    z = sps.norm.ppf(1 - alpha / 2)
    return float(sps.norm.sf(z - abs(mde) / se) + sps.norm.cdf(-z - abs(mde) / se))


@settings(max_examples=100, deadline=None)
@given(
    sd=st.floats(0.01, 100),
    ratio_of_effect=st.floats(0.05, 2),
    power=st.floats(0.5, 0.99),
)
def test_planned_size_for_means_reaches_the_power_and_one_less_does_not_by_much(
    sd: float, ratio_of_effect: float, power: float
) -> None:
    plan = sample_size_means(sd=sd, mde=sd * ratio_of_effect, power=power)
    assert _power_means(plan.n_x, sd, sd * ratio_of_effect, 0.05) >= power - 1e-9
    if plan.n_x > 2:
        # The formula ignores the far tail, so n - 1 may still reach the power, by a hair.
        assert _power_means(plan.n_x - 1, sd, sd * ratio_of_effect, 0.05) < power + 1e-3


def test_planned_size_for_proportions_gives_the_power_in_simulation() -> None:
    plan = sample_size_proportions(baseline_rate=0.10, mde=0.03, power=0.8)
    rng = np.random.default_rng(1)
    k_x = rng.binomial(plan.n_x, 0.10, 2000)
    k_y = rng.binomial(plan.n_y, 0.13, 2000)
    rejected = [
        proportion_difference(int(a), plan.n_x, int(b), plan.n_y).p_value < 0.05
        for a, b in zip(k_x, k_y, strict=True)
    ]
    assert np.mean(rejected) >= 0.8 - 3 * math.sqrt(0.16 / 2000)


def test_relative_mde_for_proportions_is_a_fraction_of_the_baseline() -> None:
    relative = sample_size_proportions(baseline_rate=0.2, mde=0.1, relative=True)
    absolute = sample_size_proportions(baseline_rate=0.2, mde=0.02)
    assert relative.n_x == absolute.n_x
    assert relative.effect == pytest.approx(absolute.effect)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline_rate": 0.0, "mde": 0.01},
        {"baseline_rate": 0.5, "mde": 0.6},
        {"baseline_rate": 0.5, "mde": 0.0},
        {"baseline_rate": 0.5, "mde": 0.1, "power": 1.0},
        {"baseline_rate": 0.5, "mde": 0.1, "ratio": 0.0},
    ],
)
def test_impossible_plans_are_config_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ms.ConfigError):
        sample_size_proportions(**kwargs)  # type: ignore[arg-type]


# --- the sequential test ---------------------------------------------------------------------

EXPERIMENTS, LOOKS, BATCH, ALPHA, TAU = 500, 100, 50, 0.05, 0.1


def _simulate(effect: float, seed: int) -> np.ndarray:
    """Always-valid p-values of EXPERIMENTS A/B tests looked at after each of LOOKS batches."""
    rng = np.random.default_rng(seed)
    a = rng.normal(effect, 1.0, (EXPERIMENTS, LOOKS * BATCH))
    b = rng.normal(0.0, 1.0, (EXPERIMENTS, LOOKS * BATCH))
    n = BATCH * np.arange(1, LOOKS + 1)

    def running(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.cumsum(values, axis=1)[:, n - 1]
        squares = np.cumsum(values**2, axis=1)[:, n - 1]
        mean = total / n
        variance = (squares - n * mean**2) / (n - 1)
        return mean, variance

    mean_a, var_a = running(a)
    mean_b, var_b = running(b)
    return always_valid_p_values(mean_a - mean_b, var_a / n + var_b / n, tau=TAU)


def test_msprt_false_positive_rate_over_100_looks_stays_at_or_below_alpha() -> None:
    p = _simulate(effect=0.0, seed=20240601)
    rejected_at_some_look = (p <= ALPHA).any(axis=1)
    false_positive_rate = rejected_at_some_look.mean()
    print(f"mSPRT false-positive rate over {LOOKS} looks: {false_positive_rate:.3f}")
    assert false_positive_rate <= ALPHA


def test_a_fixed_horizon_test_looked_at_100_times_would_not_keep_alpha() -> None:
    # The reason for the sequential test: naive peeking inflates false positives.
    rng = np.random.default_rng(20240601)
    a = rng.normal(0.0, 1.0, (EXPERIMENTS, LOOKS * BATCH))
    b = rng.normal(0.0, 1.0, (EXPERIMENTS, LOOKS * BATCH))
    n = BATCH * np.arange(1, LOOKS + 1)
    diff = (np.cumsum(a, axis=1) - np.cumsum(b, axis=1))[:, n - 1] / n
    z = diff / np.sqrt(2 / n)
    naive = (2 * sps.norm.sf(np.abs(z)) <= ALPHA).any(axis=1).mean()
    assert naive > 2 * ALPHA


def test_msprt_power_against_a_tenth_of_a_standard_deviation_is_reported_and_real() -> None:
    p = _simulate(effect=0.1, seed=7)
    power = (p <= ALPHA).any(axis=1).mean()
    print(f"mSPRT power, effect 0.1 sd, {LOOKS} looks of {BATCH} per arm: {power:.3f}")
    assert power >= 0.5


def test_always_valid_p_values_never_increase() -> None:
    p = _simulate(effect=0.02, seed=3)
    assert (np.diff(p, axis=1) <= 0).all()


def test_the_stateful_test_agrees_with_the_vectorised_one() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.2, 1, 1000), rng.normal(0, 1, 1000)
    test = SequentialTest(tau=TAU)
    looks = [test.look(a[:n], b[:n]) for n in range(100, 1001, 100)]
    differences = [float(np.mean(a[:n]) - np.mean(b[:n])) for n in range(100, 1001, 100)]
    variances = [
        float(np.var(a[:n], ddof=1) / n + np.var(b[:n], ddof=1) / n) for n in range(100, 1001, 100)
    ]
    expected = always_valid_p_values(differences, variances, tau=TAU)
    assert [look.p_value for look in looks] == pytest.approx(expected.tolist(), rel=1e-12)


def test_the_confidence_sequence_excludes_zero_exactly_when_the_test_rejects() -> None:
    for difference in np.linspace(-0.5, 0.5, 41):
        one = msprt(difference=float(difference), variance=0.01, tau=0.1)
        assert one.reject == (not one.ci_low <= 0 <= one.ci_high) or math.isclose(
            one.p_value, ALPHA, rel_tol=1e-9
        )


def test_a_non_positive_tau_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="tau"):
        SequentialTest(tau=0.0)


# --- sample ratio mismatch -------------------------------------------------------------------


def test_srm_agrees_with_scipys_chisquare() -> None:
    result = sample_ratio_mismatch([9130, 870], [0.9, 0.1])
    theirs = sps.chisquare([9130, 870], [9000, 1000])
    assert _close(result.statistic, float(theirs.statistic))
    assert _close(result.p_value, float(theirs.pvalue))
    assert result.mismatch


def test_srm_false_alarm_rate_on_a_correct_router_is_about_the_threshold() -> None:
    rng = np.random.default_rng(2)
    counts = rng.multinomial(10_000, [0.5, 0.3, 0.2], size=20_000)
    alarms = np.mean([sample_ratio_mismatch(c, [5, 3, 2], threshold=0.01).mismatch for c in counts])
    assert alarms <= 0.01 + 3 * math.sqrt(0.01 * 0.99 / 20_000)


def test_srm_weights_in_any_scale_give_the_same_result() -> None:
    assert sample_ratio_mismatch([480, 520], [1, 1]) == sample_ratio_mismatch([480, 520], [50, 50])


@pytest.mark.parametrize(
    ("observed", "weights"), [([1, 2], [1.0]), ([1], [1.0]), ([-1, 2], [1, 1]), ([1, 2], [0, 1])]
)
def test_srm_bad_input_is_refused(observed: list[int], weights: list[float]) -> None:
    with pytest.raises(ms.CheckInputError):
        sample_ratio_mismatch(observed, weights)


# --- edges found in review: overflow, and values that are not numbers ------------------------


def test_samples_whose_differences_overflow_are_refused_not_left_to_a_runaway_selection() -> None:
    with pytest.raises(ms.CheckInputError, match="overflow"):
        mann_whitney(np.full(1100, 1e308), np.full(1000, -1e308))


def test_the_median_of_two_differences_near_the_largest_float_is_finite() -> None:
    # The two middle differences are 1e308 and 1.1e308: their sum overflows, not their mean.
    assert hodges_lehmann([1e308], [0.0, -1e307]) == 1e308 / 2 + 1.1e308 / 2


@pytest.mark.parametrize(
    "call",
    [
        lambda: mann_whitney(["a"], [1.0]),
        lambda: hodges_lehmann([1.0], [object()]),
        lambda: sample_ratio_mismatch(["a", 1], [1, 1]),
        lambda: sample_ratio_mismatch([10.9, 1.9], [1, 1]),
        lambda: sample_ratio_mismatch([True, 3], [1, 1]),
        lambda: proportion_difference("5", 10, 3, 10),  # type: ignore[arg-type]
        lambda: proportion_difference(2.5, 3.5, 1, 2),  # type: ignore[arg-type]
        lambda: proportion_difference(0, math.inf, 1, 2),  # type: ignore[arg-type]
        lambda: always_valid_p_values([math.nan], [1.0], tau=0.1),
        lambda: always_valid_p_values([0.1], [math.inf], tau=0.1),
        lambda: always_valid_p_values(["x"], [1.0], tau=0.1),
    ],
    ids=[
        "mw-string",
        "hl-object",
        "srm-string",
        "srm-float",
        "srm-bool",
        "proportion-string",
        "proportion-float",
        "proportion-inf",
        "avp-nan",
        "avp-inf-variance",
        "avp-string",
    ],
)
def test_values_that_are_not_what_a_statistic_takes_are_a_check_input_error(
    call: Callable[[], object],
) -> None:
    with pytest.raises(ms.CheckInputError):
        call()


def test_a_count_beyond_int64_is_a_count() -> None:
    result = sample_ratio_mismatch([2**70, 1], [1, 1])
    assert result.observed == (2**70, 1)
    assert result.mismatch


# --- stop 34: no inverted interval, no silent overflow -------------------------------------


def test_a_sequential_tests_intervals_that_stop_overlapping_give_nan_and_one_warning() -> None:
    # The running intersection of [0.63.., 1.36..] and [-1.36.., -0.63..] is empty: it was
    # returned inverted (ci_low 0.634 > ci_high -0.634), which reads as an interval.
    test = SequentialTest(tau=0.1)
    first = test.look_summary(difference=1.0, variance=0.01)
    assert first.ci_low < 1.0 < first.ci_high
    with pytest.warns(ms.ModelshipWarning, match="no longer overlap"):
        second = test.look_summary(difference=-1.0, variance=0.01)
    assert math.isnan(second.ci_low)
    assert math.isnan(second.ci_high)
    assert second.reject  # the p-value is still the running minimum
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not at every look
        third = test.look_summary(difference=0.0, variance=0.01)
    assert math.isnan(third.ci_low)
    assert math.isnan(third.ci_high)


def test_welch_refuses_variances_that_overflow() -> None:
    # It answered p = 1.0 with df NaN and a NaN interval.
    with pytest.raises(ms.CheckInputError, match="overflow a float"):
        welch([1e200, 1e200 + 1e185, 1e200 - 1e185], [0.0, 1.0, 2.0])


def test_sample_ratio_mismatch_takes_huge_weights_by_their_ratio() -> None:
    # Their sum overflowed: p NaN and mismatch False for a 90/10 split expected 50/50.
    huge = sample_ratio_mismatch([9000, 1000], [1e308, 1e308])
    plain = sample_ratio_mismatch([9000, 1000], [1.0, 1.0])
    assert huge.mismatch
    assert huge.p_value == plain.p_value
    assert huge.expected == plain.expected
