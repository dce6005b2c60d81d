"""Bias defects found in review: rounding at the threshold, missing dates and NumPy 2
text NAs, the plain-name record, ungated disparities that cannot be computed, reference
groups without rows, and bootstrap memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Bias, Degradation, Status, SuiteResult
from modelship.checks.stats import _fairness as sf
from modelship.errors import CheckInputError, ConfigError

NOT_GATED = {
    "demographic_parity_difference": None,
    "equalized_odds_difference": None,
    "equal_opportunity_difference": None,
}


def two_groups(selected_a: int, selected_b: int, size: int = 100) -> tuple[np.ndarray, ...]:
    """Groups 'a' and 'b' of ``size`` rows with that many selected in each."""
    g = np.repeat(["a", "b"], size)
    y = np.tile([0, 1], size)
    pred = np.r_[
        np.ones(selected_a, int),
        np.zeros(size - selected_a, int),
        np.ones(selected_b, int),
        np.zeros(size - selected_b, int),
    ]
    return y, pred, g


# --- A: a disparity exactly at its threshold passes -------------------------------------


def test_a_difference_of_exactly_the_threshold_passes() -> None:
    y, pred, g = two_groups(45, 35)  # 0.45 - 0.35 computes as 0.10000000000000003
    thresholds = {**NOT_GATED, "demographic_parity_difference": 0.1}
    d = (
        Bias(y_true=y, y_pred=pred, sensitive=g, thresholds=thresholds)
        .run()
        .disparities["demographic_parity_difference"]
    )
    assert d.value > 0.1  # the rounding this is about
    assert (d.status, d.passed) == (Status.PASS, True)
    assert "estimate 0.1 <= 0.1" in d.reason


@pytest.mark.parametrize(("selected_a", "selected_b"), [(4, 5), (36, 45), (72, 90)])
def test_a_selection_rate_ratio_of_exactly_four_fifths_passes_the_four_fifths_rule(
    selected_a: int, selected_b: int
) -> None:
    y, pred, g = two_groups(selected_a, selected_b)  # computes as 0.7999999999999999
    result = Bias(y_true=y, y_pred=pred, sensitive=g, four_fifths=True, thresholds=NOT_GATED)
    d = result.run().disparities["disparate_impact"]
    assert d.value < 0.8
    assert (d.status, d.passed) == (Status.PASS, True)
    assert "estimate 0.8 >= 0.8" in d.reason


def test_an_interval_bound_of_exactly_the_threshold_passes_the_interval_gate() -> None:
    y, pred, g = two_groups(45, 35)
    # One resample below the estimate (seed 0): the upper bound is the estimate itself.
    d = (
        Bias(
            y_true=y,
            y_pred=pred,
            sensitive=g,
            thresholds={**NOT_GATED, "demographic_parity_difference": 0.1},
            gate="interval",
            n_resamples=1,
        )
        .run()
        .disparities["demographic_parity_difference"]
    )
    assert d.ci_high == d.value > 0.1
    assert d.status is Status.PASS
    assert "upper bound 0.1 <= 0.1" in d.reason


def test_an_interval_lower_bound_of_exactly_four_fifths_passes_the_interval_gate() -> None:
    y, pred, g = two_groups(72, 90)
    d = (
        Bias(
            y_true=y,
            y_pred=pred,
            sensitive=g,
            four_fifths=True,
            thresholds=NOT_GATED,
            gate="interval",
            n_resamples=1,
        )
        .run()
        .disparities["disparate_impact"]
    )
    assert d.ci_low == d.value < 0.8
    assert d.status is Status.PASS
    assert "lower bound 0.8 >= 0.8" in d.reason


def test_a_failing_reason_shows_the_digits_that_tell_value_and_threshold_apart() -> None:
    y, pred, g = two_groups(1251, 1000, size=2500)  # 0.5004 - 0.4 = 0.1004 > 0.1
    thresholds = {**NOT_GATED, "demographic_parity_difference": 0.1}
    d = (
        Bias(y_true=y, y_pred=pred, sensitive=g, thresholds=thresholds)
        .run()
        .disparities["demographic_parity_difference"]
    )
    assert d.status is Status.FAIL
    assert "estimate 0.1004 > 0.1" in d.reason
    assert "0.1 > 0.1" not in d.reason


# --- B: missing dates and NumPy 2 text NAs are refused ---------------------------------


def dated(n: int = 300) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(0)
    cohort = pd.Series(pd.to_datetime(np.repeat(["2024-01-01", "2024-02-01", "2024-03-01"], 100)))
    cohort[200:] = pd.NaT
    return rng.integers(0, 2, n), rng.integers(0, 2, n), cohort.rename("cohort")


def test_a_missing_date_in_a_sensitive_feature_is_refused() -> None:
    y, pred, cohort = dated()
    with pytest.raises(CheckInputError, match=r"100 missing values \(NaT\).*explicit category"):
        Bias(y_true=y, y_pred=pred, sensitive=cohort).run()


@pytest.mark.parametrize("unit", ["M8[D]", "m8[s]"])
def test_a_missing_datetime64_or_timedelta64_value_is_refused(unit: str) -> None:
    sensitive = np.array([1, 2, 0] * 40).astype(unit)
    sensitive[2::3] = np.array("NaT", dtype=unit)
    y = np.tile([0, 1], 60)
    with pytest.raises(CheckInputError, match=r"40 missing values \(NaT\)"):
        Bias(y_true=y, y_pred=y, sensitive=sensitive).run()


def test_dates_without_a_missing_value_are_groups() -> None:
    y, pred, cohort = dated()
    result = Bias(y_true=y[:200], y_pred=pred[:200], sensitive=cohort.iloc[:200]).run()
    assert sorted(group.count for group in result.groups.values()) == [100, 100]


def test_a_missing_date_in_a_degradation_segment_is_refused() -> None:
    y, _, cohort = dated()
    rng = np.random.default_rng(1)
    with pytest.raises(CheckInputError, match=r"missing values \(NaT\)"):
        Degradation(
            y=y,
            candidate_scores=rng.random(len(y)),
            baseline_scores=rng.random(len(y)),
            segments=cohort,
            metrics=["roc_auc"],
            inconclusive="pass",
        ).run()


StringDType = getattr(np.dtypes, "StringDType", None)
needs_string_dtype = pytest.mark.skipif(StringDType is None, reason="NumPy 2 StringDType")


def text_with_na(na: object) -> np.ndarray:
    assert StringDType is not None
    return np.array(["a"] * 150 + ["b"] * 149 + [na], dtype=object).astype(
        StringDType(na_object=na)
    )


@needs_string_dtype
@pytest.mark.parametrize("na", [np.nan, None, pd.NA], ids=["nan", "None", "pd.NA"])
def test_a_numpy_string_dtype_na_in_a_sensitive_feature_is_refused(na: object) -> None:
    y = np.tile([0, 1], 150)
    with pytest.raises(CheckInputError, match=r"1 missing values"):
        Bias(y_true=y, y_pred=y, sensitive=text_with_na(na), small_groups="ignore").run()


@needs_string_dtype
def test_a_numpy_string_dtype_na_in_a_degradation_segment_is_refused() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    with pytest.raises(CheckInputError, match=r"1 missing values"):
        Degradation(
            y=y,
            candidate_scores=rng.random(300),
            baseline_scores=rng.random(300),
            segments=text_with_na(np.nan),
            metrics=["roc_auc"],
            inconclusive="pass",
        ).run()


@needs_string_dtype
def test_a_numpy_string_dtype_without_na_is_read_as_groups() -> None:
    assert StringDType is not None
    sensitive = np.array(["a"] * 150 + ["b"] * 150, dtype=StringDType())
    y = np.tile([0, 1], 150)
    result = Bias(y_true=y, y_pred=y, sensitive=sensitive).run()
    assert {label: group.count for label, group in result.groups.items()} == {"a": 150, "b": 150}


# --- C: the plain name holds the feature set that decides the verdict -------------------


def two_features_one_failing_by_interval() -> Bias:
    rng = np.random.default_rng(0)
    n = 20000
    big = np.repeat(["A", "B"], n // 2)
    rare = np.where(np.arange(n) % 500 == 0, "r", "c")  # group r: 40 rows
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.where(big == "A", 0.40, 0.33)).astype(int)
    return Bias(
        y_true=y,
        y_pred=pred,
        sensitive={"big": big, "rare": rare},
        gate="interval",
        intersections=False,
        thresholds={**NOT_GATED, "demographic_parity_difference": 0.1},
    )


def test_the_plain_name_holds_the_failing_feature_set_under_the_interval_gate() -> None:
    result = two_features_one_failing_by_interval().run()
    big = result.disparities["big:demographic_parity_difference"]
    rare = result.disparities["rare:demographic_parity_difference"]
    assert big.value > rare.value  # by estimate alone 'big' would be the worst
    assert (big.status, rare.status) == (Status.PASS, Status.FAIL)
    plain = result.disparities["demographic_parity_difference"]
    assert (plain.status, plain.feature_set, plain.passed) == (Status.FAIL, ("rare",), False)
    assert result.status is Status.FAIL


def test_the_plain_name_has_the_worst_status_of_its_feature_sets() -> None:
    result = two_features_one_failing_by_interval().run()
    for metric in sf.CLASSIFICATION_DISPARITIES:
        per_set = [d for key, d in result.disparities.items() if key.endswith(f":{metric}")]
        worst = max((d.status for d in per_set), key=Status.rank)
        assert result.disparities[metric].status is worst, metric


# --- D: an ungated disparity that cannot be computed leaves the verdict alone -----------


def nobody_predicted_positive_in_b() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_a = np.r_[np.ones(50, int), np.zeros(950, int)]
    p_a = np.r_[np.ones(4, int), np.zeros(46, int), np.ones(30, int), np.zeros(920, int)]
    y_b, p_b = np.r_[np.ones(5, int), np.zeros(195, int)], np.zeros(200, int)
    g = np.r_[np.repeat("a", 1000), np.repeat("b", 200)]
    return np.r_[y_a, y_b], np.r_[p_a, p_b], g


def test_an_undefined_ungated_disparity_does_not_warn() -> None:
    y, pred, g = nobody_predicted_positive_in_b()
    result = Bias(y_true=y, y_pred=pred, sensitive=g).run()
    d = result.disparities["predictive_parity_difference"]
    assert (d.value, d.threshold, d.passed, d.status) == (None, None, None, Status.SKIP)
    assert "'b'" in d.reason
    assert result.status is Status.PASS
    assert "undefined (not gated): ['predictive_parity_difference']" in result.reason
    assert SuiteResult([result]).exit_code(strict=True) == 0


def test_an_undefined_gated_disparity_is_still_an_error() -> None:
    y, pred, g = nobody_predicted_positive_in_b()
    result = Bias(
        y_true=y, y_pred=pred, sensitive=g, thresholds={"predictive_parity_difference": 0.2}
    ).run()
    assert result.disparities["predictive_parity_difference"].status is Status.ERROR
    assert result.status is Status.ERROR


# --- E: reference_group must be a group with rows ----------------------------------------


def integer_groups() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.tile([0, 1], 100)
    pred = np.r_[(np.arange(100) % 5 == 0).astype(int), (np.arange(100) % 5 < 3).astype(int)]
    return y, pred, np.repeat([1, 5], 100)


@pytest.mark.parametrize("reference", ["3", "4"])
def test_a_reference_group_between_integer_values_is_refused(reference: str) -> None:
    y, pred, g = integer_groups()
    check = Bias(y_true=y, y_pred=pred, sensitive=g, reference_group=reference)
    with pytest.raises(ConfigError, match=r"groups: \['1', '5'\]$"):
        check.run()


def test_a_reference_group_without_rows_is_refused_with_several_features() -> None:
    y, pred, g = integer_groups()
    other = np.tile([7, 9], 100)
    check = Bias(y_true=y, y_pred=pred, sensitive={"g": g, "h": other}, reference_group="8")
    with pytest.raises(ConfigError, match=r"groups: \['1', '5', '7', '9'\]$"):
        check.run()


def test_a_reference_group_with_rows_is_used() -> None:
    y, pred, g = integer_groups()  # selection rates 0.2 (group 1) and 0.6 (group 5)
    d = Bias(y_true=y, y_pred=pred, sensitive=g, reference_group="1").run().disparities
    assert d["disparate_impact"].value == pytest.approx(3.0)


# --- F: the bootstrap's memory is bounded whatever the number of groups ------------------


def test_bootstrap_disparities_in_chunks_equal_the_whole_draw_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = np.array([[40, 10, 10, 40], [45, 5, 30, 20], [3, 2, 1, 0]])
    monkeypatch.setattr(sf, "_BOOTSTRAP_PAIRS", 7)  # two resamples a chunk
    for reference in (None, 1):
        chunked_rng, whole_rng = np.random.default_rng(3), np.random.default_rng(3)
        chunked = sf.bootstrap_disparities(table, 51, chunked_rng, reference=reference)
        whole = sf.disparities(
            sf.group_rates(sf.bootstrap_tables(table, 51, whole_rng)), reference=reference
        )
        assert list(chunked) == list(whole)
        for name in whole:
            np.testing.assert_array_equal(chunked[name], whole[name])
        assert chunked_rng.random() == whole_rng.random()  # the same draws consumed


def test_bootstrap_regression_disparities_in_chunks_equal_the_whole_draw_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = np.array(
        [[100.0, 50.0, 35.0, 0.0, 10.0, 0.0, 0.0], [50.0, 30.0, 20.0, 5.0, 9.0, 0.0, 0.0]]
    )
    monkeypatch.setattr(sf, "_BOOTSTRAP_PAIRS", 5)  # two resamples a chunk
    chunked_rng, whole_rng = np.random.default_rng(3), np.random.default_rng(3)
    chunked = sf.bootstrap_regression_disparities(table, 41, chunked_rng)
    whole = sf.regression_disparities(sf.bootstrap_regression(table, 41, whole_rng))
    assert list(chunked) == list(whole)
    for name in whole:
        np.testing.assert_array_equal(chunked[name], whole[name])
    assert chunked_rng.random() == whole_rng.random()


def test_bias_intervals_with_many_groups_are_those_of_the_whole_draw() -> None:
    n_groups = 300  # 1,000 resamples make 2 chunks
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(n_groups), 40)
    y, pred = rng.integers(0, 2, len(g)), rng.integers(0, 2, len(g))
    result = Bias(y_true=y, y_pred=pred, sensitive=g).run()
    table = sf.confusion_table(g, n_groups, y, pred)
    point = sf.disparities(sf.group_rates(table))
    whole = sf.disparities(
        sf.group_rates(sf.bootstrap_tables(table, 1000, np.random.default_rng([0, 0])))
    )
    expected = sf.estimate_disparities(point, whole, confidence=0.95)
    for name, estimate in expected.items():
        d = result.disparities[name]
        assert (d.value, d.ci_low, d.ci_high) == (estimate.value, estimate.ci_low, estimate.ci_high)


def test_bias_bootstrap_memory_does_not_grow_with_groups_times_resamples() -> None:
    n_groups = 2000  # all resamples at once: 2,000,000 group draws, about 300 MB
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(n_groups), 40)
    y, pred = rng.integers(0, 2, len(g)), rng.integers(0, 2, len(g))
    check = Bias(y_true=y, y_pred=pred, sensitive=g)
    tracemalloc.start()
    try:
        check.run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20
