"""DataDrift and PredictionDrift: per-column verdicts, data-set verdict, missing values, errors."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from modelship.checks import (
    DataDrift,
    DriftProfile,
    PredictionDrift,
    Severity,
    Status,
    run_suite,
)
from modelship.errors import CheckInputError, ColumnMismatch, ConfigError, EmptyData

rng = np.random.default_rng(20240601)


def normal(n: int, shift: float = 0.0, seed: int = 0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(shift, 1.0, n)


def labels(n: int, p: list[float], seed: int = 0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).choice(np.array(["a", "b", "c"]), n, p=p)


def run(reference: Any, current: Any, **kwargs: Any) -> Any:
    return DataDrift(reference=reference, current=current, **kwargs).run()


# --- the shape other code relies on ------------------------------------------------------


def test_column_results_carry_method_statistic_p_value_threshold_and_verdict() -> None:
    age = run({"age": normal(3000)}, {"age": normal(3000, 0.5, 1)}).columns["age"]
    assert (age.method, age.threshold, age.drifted) == ("ks", 0.05, True)
    assert 0 < age.statistic < 1
    assert 0 <= age.p_value < 0.05


def test_a_distance_method_has_no_p_value() -> None:
    col = run({"x": normal(500)}, {"x": normal(500, seed=1)}, method="psi").columns["x"]
    assert (col.method, col.p_value, col.threshold) == ("psi", None, 0.25)


def test_default_check_name_and_severity() -> None:
    result = run({"x": normal(100)}, {"x": normal(100, seed=1)})
    assert (result.name, result.severity) == ("data_drift", Severity.BLOCKING)


# --- automatic choice ---------------------------------------------------------------------


def test_auto_tests_small_numeric_samples_with_cramer_von_mises() -> None:
    col = run({"x": normal(999)}, {"x": normal(5000, seed=1)}).columns["x"]
    assert (col.method, col.effect_method, col.effect_threshold) == ("cvm", "wasserstein", 0.1)


def test_auto_tests_large_numeric_samples_with_ks() -> None:
    col = run({"x": normal(1000)}, {"x": normal(1000, seed=1)}).columns["x"]
    assert col.method == "ks"


def test_auto_tests_categorical_columns_with_chi2_and_jensen_shannon() -> None:
    col = run({"c": labels(500, [0.5, 0.3, 0.2])}, {"c": labels(500, [0.5, 0.3, 0.2], 1)}).columns[
        "c"
    ]
    assert (col.kind, col.method, col.effect_method, col.effect_threshold) == (
        "categorical",
        "chi2",
        "js",
        0.1,
    )


def test_auto_ignores_a_significant_but_tiny_shift_in_a_huge_sample() -> None:
    n = 200_000
    reference, current = {"x": normal(n)}, {"x": normal(n, 0.03, 1)}
    by_ks = run(reference, current, method="ks").columns["x"]
    auto = run(reference, current).columns["x"]
    assert by_ks.drifted
    assert by_ks.p_value < 1e-6
    assert not auto.drifted
    assert auto.p_value < 0.05
    assert auto.effect_size < 0.1
    assert "too small to matter" in auto.reason


def test_auto_declares_a_half_sd_shift_drift_at_any_size() -> None:
    for n in (100, 1000, 20_000):
        col = run({"x": normal(n)}, {"x": normal(n, 0.5, 1)}).columns["x"]
        assert col.drifted, (n, col.reason)


# --- explicit methods and overrides -------------------------------------------------------


@pytest.mark.parametrize("method", ["ks", "wasserstein", "psi", "js", "cvm"])
def test_every_numeric_method_detects_a_large_shift(method: str) -> None:
    col = run({"x": normal(2000)}, {"x": normal(2000, 1.0, 1)}, method=method).columns["x"]
    assert (col.method, col.drifted) == (method, True)


@pytest.mark.parametrize("method", ["chi2", "psi", "js"])
def test_every_categorical_method_detects_a_large_shift(method: str) -> None:
    col = run(
        {"c": labels(2000, [0.6, 0.3, 0.1])},
        {"c": labels(2000, [0.1, 0.3, 0.6], 1)},
        categorical_method=method,
    ).columns["c"]
    assert (col.method, col.drifted) == (method, True)


def test_column_methods_override_the_global_method() -> None:
    result = run(
        {"a": normal(500), "b": normal(500)},
        {"a": normal(500, seed=1), "b": normal(500, seed=2)},
        method="psi",
        column_methods={"b": "ks"},
    )
    assert (result.columns["a"].method, result.columns["b"].method) == ("psi", "ks")


def test_a_threshold_override_moves_the_effect_size_gate() -> None:
    reference, current = {"x": normal(5000)}, {"x": normal(5000, 0.3, 1)}
    assert run(reference, current).columns["x"].drifted
    col = run(reference, current, thresholds={"x": 0.5}).columns["x"]
    assert (col.effect_threshold, col.drifted) == (0.5, False)


def test_psi_between_warn_and_drift_thresholds_warns() -> None:
    col = run({"x": normal(20_000)}, {"x": normal(20_000, 0.35, 1)}, method="psi").columns["x"]
    assert 0.1 <= col.statistic < 0.25
    assert (col.status, col.drifted) == (Status.WARN, False)
    assert col.reason.startswith("moderate shift: PSI")


def test_psi_reports_its_no_drift_critical_value() -> None:
    col = run({"x": normal(100)}, {"x": normal(200, seed=1)}, method="psi").columns["x"]
    assert col.details["psi_critical"] == pytest.approx((1 / 100 + 1 / 200) * 16.918977604620448)


def test_a_categorical_method_on_a_numeric_column_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="column 'x' is numeric"):
        run({"x": normal(10)}, {"x": normal(10)}, column_methods={"x": "chi2"})


def test_a_per_column_setting_for_an_unknown_column_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'agee'"):
        run({"age": normal(10)}, {"age": normal(10)}, thresholds={"agee": 0.2})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "chi2"},
        {"categorical_method": "ks"},
        {"alpha": 1.5},
        {"correction": "fdr"},
        {"drift_share": 0},
        {"bins": 1},
        {"eps": 0},
        {"eps": 1.5},
        {"thresholds": {"x": -1}},
        {"column_methods": {"x": "t-test"}},
        {"columns": "age"},
    ],
)
def test_bad_settings_raise_config_error_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        DataDrift(reference={}, current={}, **kwargs)


# --- categorical details -----------------------------------------------------------------


def test_unseen_categories_form_their_own_bucket_and_are_named() -> None:
    reference = {"c": np.array(["a", "b"] * 500)}
    current = {"c": np.array(["a", "b"] * 450 + ["zeta"] * 60 + ["eta"] * 40)}
    col = run(reference, current).columns["c"]
    assert col.details["unseen_categories"] == {"zeta": 60, "eta": 40}
    assert "unseen categories: 'zeta', 'eta'" in col.reason
    assert col.drifted


def test_one_category_on_both_sides_is_skipped_as_constant() -> None:
    col = run({"c": np.array(["a"] * 50)}, {"c": np.array(["a"] * 80)}).columns["c"]
    assert (col.status, col.drifted) == (Status.SKIP, None)
    assert col.reason == "constant ('a') in both samples"


# --- data-set verdict --------------------------------------------------------------------


def test_data_set_drifts_when_the_share_of_drifted_columns_reaches_drift_share() -> None:
    reference = {name: normal(2000, seed=i) for i, name in enumerate("abcd")}
    current = {
        name: normal(2000, 1.0 if name in "ab" else 0.0, seed=10 + i)
        for i, name in enumerate("abcd")
    }
    result = run(reference, current)
    assert (result.status, result.statistic, result.threshold) == (Status.FAIL, 0.5, 0.5)
    assert result.details["drifted_columns"] == ["a", "b"]


def test_fewer_drifted_columns_than_drift_share_warn() -> None:
    reference = {name: normal(2000, seed=i) for i, name in enumerate("abcd")}
    current = {
        name: normal(2000, 1.0 if name == "a" else 0.0, seed=10 + i)
        for i, name in enumerate("abcd")
    }
    result = run(reference, current)
    assert (result.status, result.statistic) == (Status.WARN, 0.25)
    assert result.reason.startswith("1 of 4 columns drifted (25% < 50%)")


def test_no_drift_passes() -> None:
    result = run({"x": normal(2000)}, {"x": normal(2000, seed=1)})
    assert (result.status, result.reason) == (Status.PASS, "no drift in 1 column")


# --- missing values, infinities, degenerate columns --------------------------------------


def test_a_rise_in_the_missing_rate_warns_and_statistics_use_finite_values() -> None:
    current = normal(5000, seed=1)
    current[:1000] = np.nan
    col = run({"x": normal(5000)}, {"x": current}).columns["x"]
    assert col.status is Status.WARN
    assert not col.drifted
    assert col.details["missing_rate"] == [0.0, 0.2]
    assert "missing rate 0.0% -> 20.0%" in col.reason


def test_infinities_are_compared_as_their_own_signal() -> None:
    current = normal(5000, seed=1)
    current[:300] = np.inf
    col = run({"x": normal(5000)}, {"x": current}).columns["x"]
    assert col.details["infinite_rate"] == [0.0, 0.06]
    assert col.details["infinite_p_value"] < 1e-6
    assert col.status is Status.WARN


def test_an_unchanged_missing_rate_is_silent() -> None:
    reference, current = normal(4000), normal(4000, seed=1)
    reference[::10] = np.nan
    current[1::10] = np.nan
    col = run({"x": reference}, {"x": current}).columns["x"]
    assert col.status is Status.PASS
    assert col.details["missing_p_value"] == 1.0


def test_an_all_missing_current_column_fails_on_the_missing_rate_and_the_suite_goes_on() -> None:
    reference = {"ok": normal(100), "gone": normal(100)}
    current = {"ok": normal(100, seed=1), "gone": np.full(100, np.nan)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        suite = run_suite([DataDrift(reference=reference, current=current)])
    result = suite.results[0]
    assert result.status is Status.FAIL
    assert result.columns["gone"].status is Status.FAIL
    assert result.columns["gone"].reason.startswith(
        "current has no finite values (100 missing of 100 rows); missing or non-finite rate "
        "0.0% -> 100.0%, above max_missing_rate 50.0%"
    )
    assert result.columns["ok"].status is Status.PASS
    assert suite.exit_code() == 1


def test_a_column_missing_in_both_samples_is_skipped_and_the_others_decide() -> None:
    reference = {"ok": normal(100), "gone": np.full(100, np.nan)}
    current = {"ok": normal(100, seed=1), "gone": np.full(100, np.nan)}
    result = run(reference, current)
    assert result.columns["gone"].status is Status.SKIP
    assert result.columns["gone"].reason == "no finite values in either sample"
    assert result.status is Status.PASS
    assert result.reason == "no drift in 1 column; 1 not tested: 'gone'"


def test_a_column_constant_in_both_samples_is_skipped() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        col = run({"k": np.full(100, 3.0)}, {"k": np.full(100, 3.0)}).columns["k"]
    assert col.status is Status.SKIP
    assert col.drifted is None
    assert col.reason == "constant (3) in both samples"


def test_a_constant_reference_that_the_current_data_leaves_warns() -> None:
    col = run({"k": np.full(100, 3.0)}, {"k": np.r_[np.full(50, 3.0), normal(50)]}).columns["k"]
    assert col.status is Status.WARN
    assert col.drifted is None
    assert col.reason.startswith("reference is constant (3) but current is not")


def test_a_check_where_no_column_can_be_tested_is_an_error() -> None:
    result = run({"k": np.full(100, 3.0)}, {"k": np.full(100, 3.0)})
    assert result.status is Status.ERROR
    assert result.reason == "no column could be tested: 'k': constant (3) in both samples"


def test_a_constant_column_declared_categorical_is_skipped_as_constant() -> None:
    col = run(
        {"k": np.full(100, 3.0)}, {"k": np.full(100, 3.0)}, kinds={"k": "categorical"}
    ).columns["k"]
    assert col.status is Status.SKIP


def test_an_all_missing_categorical_reference_is_skipped() -> None:
    col = run(
        {"c": np.array([None] * 5, dtype=object)},
        {"c": np.array(["a"] * 5)},
        kinds={"c": "categorical"},
    ).columns["c"]
    assert col.reason.startswith("reference has no values (all 5 rows missing)")


# --- bad input ---------------------------------------------------------------------------


def test_mismatched_columns_raise_column_mismatch_naming_them() -> None:
    with pytest.raises(ColumnMismatch, match=r"current lacks column\(s\) \['b'\]"):
        run({"a": normal(5), "b": normal(5)}, {"a": normal(5)})


def test_columns_selects_a_common_subset() -> None:
    result = run({"a": normal(50), "b": normal(50)}, {"a": normal(50, seed=1)}, columns=["a"])
    assert list(result.columns) == ["a"]


def test_empty_current_raises_empty_data() -> None:
    with pytest.raises(EmptyData, match="current has no rows"):
        run({"a": normal(5)}, {"a": np.array([])})


def test_text_in_a_numeric_reference_column_raises_naming_the_column() -> None:
    with pytest.raises(
        CheckInputError,
        match="current: column 'a' is numeric as the reference holds it but holds 'x'",
    ):
        run({"a": normal(3)}, {"a": np.array(["1", "x", "2"], dtype=object)})


def test_bad_input_in_a_suite_is_an_error_result_naming_the_column() -> None:
    (result,) = run_suite([DataDrift(reference={"a": normal(5)}, current={"b": normal(5)})]).results
    assert result.status is Status.ERROR
    assert result.reason.startswith("ColumnMismatch: current lacks column(s) ['a']")


# --- reproducibility and parallelism -----------------------------------------------------


def test_the_same_data_gives_the_same_json_bytes_with_or_without_threads() -> None:
    reference = {f"c{i}": normal(3000, seed=i) for i in range(6)}
    current = {f"c{i}": normal(3000, 0.1 * i, seed=100 + i) for i in range(6)}
    one = run_suite([DataDrift(reference=reference, current=current)]).to_json()
    again = run_suite([DataDrift(reference=reference, current=current)]).to_json()
    threads = run_suite([DataDrift(reference=reference, current=current, n_jobs=3)]).to_json()
    assert one == again == threads


def test_inputs_are_not_modified() -> None:
    reference, current = normal(100), normal(100, seed=1)
    kept = reference.copy(), current.copy()
    run({"x": reference}, {"x": current})
    np.testing.assert_array_equal(reference, kept[0])
    np.testing.assert_array_equal(current, kept[1])


# --- prediction drift --------------------------------------------------------------------


def test_prediction_drift_reads_float_scores_as_numeric() -> None:
    result = PredictionDrift(reference=normal(500), current=normal(500, seed=1)).run()
    assert (result.name, list(result.columns), result.columns["prediction"].kind) == (
        "prediction_drift",
        ["prediction"],
        "numeric",
    )


def test_prediction_drift_reads_integer_classes_as_categorical() -> None:
    reference = np.random.default_rng(0).integers(0, 3, 1000)
    current = np.random.default_rng(1).integers(0, 2, 1000)
    col = PredictionDrift(reference=reference, current=current).run().columns["prediction"]
    assert (col.kind, col.method, col.drifted) == ("categorical", "chi2", True)


def test_prediction_drift_gives_a_column_per_class_of_a_probability_matrix() -> None:
    p = np.random.default_rng(0).dirichlet([2, 2, 2], 800)
    q = np.random.default_rng(1).dirichlet([6, 2, 1], 800)
    result = PredictionDrift(reference=p, current=q).run()
    assert list(result.columns) == ["class_0", "class_1", "class_2"]
    assert result.columns["class_0"].drifted
    assert result.status is Status.FAIL


def test_prediction_drift_kind_overrides_the_dtype() -> None:
    result = PredictionDrift(
        reference=np.array([0.0, 1.0] * 50), current=np.array([1.0] * 100), kind="categorical"
    ).run()
    assert result.columns["prediction"].kind == "categorical"


def test_prediction_drift_accepts_a_profile_of_reference_predictions() -> None:
    profile = DriftProfile.from_data({"prediction": normal(5000)})
    result = PredictionDrift(reference=profile, current=normal(5000, 0.5, 1)).run()
    assert result.columns["prediction"].drifted
