"""The bias check: result shape, verdicts, small groups, bad input, table inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.checks import Bias, BiasResult, SuiteResult, run_suite
from modelship.checks.stats import _fairness as sf
from modelship.errors import CheckInputError, ConfigError, TooFewGroups

DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "predictive_parity_difference",
    "disparate_impact",
)


def fair_data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    return y, np.where(rng.random(n) < 0.85, y, 1 - y), group


def unfair_data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group F's positives are missed half the time."""
    y, pred, group = fair_data(n, seed)
    rng = np.random.default_rng(seed + 1)
    pred = pred.copy()
    pred[(group == "F") & (y == 1) & (rng.random(n) < 0.5)] = 0
    return y, pred, group


def test_every_disparity_has_value_interval_threshold_and_verdict() -> None:
    y, pred, group = fair_data()
    result = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert isinstance(result, BiasResult)
    assert set(result.disparities) == set(DISPARITIES)
    for d in result.disparities.values():
        assert d.ci_low <= d.value <= d.ci_high
    dp = result.disparities["demographic_parity_difference"]
    assert (dp.threshold, dp.passed) == (0.1, True)
    assert result.disparities["demographic_parity_ratio"].passed is None  # not gated


def test_groups_carry_count_and_rates() -> None:
    y, pred, group = fair_data()
    groups = Bias(y_true=y, y_pred=pred, sensitive=group).run().groups
    f = groups["F"]
    mask = group == "F"
    assert f.count == mask.sum()
    assert f.selection_rate == pytest.approx(pred[mask].mean())
    assert f.true_positive_rate == pytest.approx(pred[mask & (y == 1)].mean())
    assert f.false_positive_rate == pytest.approx(pred[mask & (y == 0)].mean())
    assert f.precision == pytest.approx(y[mask & (pred == 1)].mean())
    assert f.accuracy == pytest.approx((pred[mask] == y[mask]).mean())


def test_a_model_that_misses_one_groups_positives_fails_equalized_odds() -> None:
    y, pred, group = unfair_data()
    result = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert result.status.value == "fail"
    eo = result.disparities["equalized_odds_difference"]
    assert eo.passed is False
    assert eo.lowest_group == "F"
    assert "equalized_odds_difference" in result.reason


def test_interval_gate_fails_when_only_the_upper_bound_crosses() -> None:
    y, pred, group = fair_data(n=600, seed=3)
    estimate = Bias(
        y_true=y, y_pred=pred, sensitive=group, thresholds={"equalized_odds_difference": 0.08}
    ).run()
    eo = estimate.disparities["equalized_odds_difference"]
    assert eo.value < 0.08 < eo.ci_high
    gated = Bias(
        y_true=y,
        y_pred=pred,
        sensitive=group,
        gate="interval",
        thresholds={"equalized_odds_difference": 0.08},
    ).run()
    assert gated.disparities["equalized_odds_difference"].passed is False


def test_same_seed_gives_the_same_intervals_and_another_seed_others() -> None:
    y, pred, group = fair_data()
    first = Bias(y_true=y, y_pred=pred, sensitive=group, seed=1).run()
    again = Bias(y_true=y, y_pred=pred, sensitive=group, seed=1).run()
    other = Bias(y_true=y, y_pred=pred, sensitive=group, seed=2).run()
    key = "demographic_parity_difference"
    assert first.disparities[key] == again.disparities[key]
    assert first.disparities[key].ci_high != other.disparities[key].ci_high


def test_several_features_give_each_alone_and_their_intersection() -> None:
    y, pred, group = fair_data()
    age = np.random.default_rng(9).choice(["young", "old"], len(y))
    result = Bias(y_true=y, y_pred=pred, sensitive={"sex": group, "age": age}).run()
    for fs in ("sex", "age", "sex&age"):
        assert f"{fs}:demographic_parity_difference" in result.disparities
    assert {"sex=F", "age=old", "sex=F&age=old"} <= set(result.groups)
    worst = max(
        result.disparities[f"{fs}:equalized_odds_difference"].value
        for fs in ("sex", "age", "sex&age")
    )
    assert result.disparities["equalized_odds_difference"].value == worst


def test_intersection_can_be_left_out() -> None:
    y, pred, group = fair_data()
    age = np.random.default_rng(9).choice(["young", "old"], len(y))
    result = Bias(
        y_true=y, y_pred=pred, sensitive={"sex": group, "age": age}, intersections=False
    ).run()
    assert not any(key.startswith("sex&age") for key in result.disparities)


@pytest.mark.parametrize("make", [pd.DataFrame, pl.DataFrame, pa.table])
def test_sensitive_columns_of_a_data_frame_or_arrow_table(make: object) -> None:
    y, pred, group = fair_data()
    table = make({"sex": group})  # type: ignore[operator]
    result = Bias(y_true=y, y_pred=pred, sensitive=table).run()
    assert set(result.groups) == {"F", "M"}


def test_a_pandas_series_names_its_feature() -> None:
    y, pred, group = fair_data()
    result = Bias(y_true=pd.Series(y), y_pred=pred, sensitive=pd.Series(group, name="sex")).run()
    assert result.groups["F"].feature_set == ("sex",)


def test_scores_with_a_threshold_become_labels() -> None:
    y, pred, group = fair_data()
    scores = pred * 0.7 + 0.1
    by_scores = Bias(y_true=y, y_pred=scores, sensitive=group, threshold=0.5).run()
    by_labels = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert by_scores.disparities == by_labels.disparities


def test_small_groups_are_skipped_and_reported_by_default() -> None:
    y, pred, group = fair_data()
    group = group.astype(object)
    group[:10] = "X"
    result = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert result.groups["X"].skipped
    assert "min_group_size 30" in result.groups["X"].reason
    assert result.details["skipped_groups"] == ["X"]
    assert result.status.value == "pass"
    assert "skipped" in result.reason


@pytest.mark.parametrize(("policy", "status"), [("warn", "warn"), ("fail", "fail")])
def test_small_group_policy_warns_or_fails(policy: str, status: str) -> None:
    y, pred, group = fair_data()
    group = group.astype(object)
    group[:10] = "X"
    result = Bias(y_true=y, y_pred=pred, sensitive=group, small_groups=policy).run()
    assert result.status.value == status


def test_ignore_policy_keeps_small_groups_in_the_disparities() -> None:
    y, pred, group = fair_data()
    group = group.astype(object)
    group[:10] = "X"
    result = Bias(y_true=y, y_pred=pred, sensitive=group, small_groups="ignore").run()
    assert not result.groups["X"].skipped
    skipped = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert (
        result.disparities["demographic_parity_difference"].value
        >= skipped.disparities["demographic_parity_difference"].value
    )


def test_a_group_without_positives_is_an_error_result_naming_it() -> None:
    y, pred, group = fair_data()
    y = y.copy()
    y[group == "F"] = 0
    result = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert result.status.value == "error"
    assert "['F']" in result.reason
    assert result.disparities["equal_opportunity_difference"].value is None


def test_a_single_group_raises_too_few_groups_naming_it() -> None:
    with pytest.raises(TooFewGroups, match="single group 'F'"):
        Bias(y_true=[0, 1], y_pred=[0, 1], sensitive=["F", "F"]).run()


def test_labels_outside_zero_one_raise() -> None:
    with pytest.raises(CheckInputError, match="only 0 and 1"):
        Bias(y_true=[0, 2], y_pred=[0, 1], sensitive=["a", "b"]).run()


def test_lengths_that_differ_raise() -> None:
    with pytest.raises(CheckInputError, match="has 3 rows but y_true has 2"):
        Bias(y_true=[0, 1], y_pred=[0, 1], sensitive=["a", "b", "a"]).run()


def test_in_a_suite_bad_input_is_an_error_result() -> None:
    suite = run_suite([Bias(y_true=[0, 2], y_pred=[0, 1], sensitive=["a", "b"])])
    assert suite.exit_code() == 2


def test_four_fifths_rule_is_off_by_default_and_gates_disparate_impact_when_on() -> None:
    y, pred, group = unfair_data()
    assert (
        Bias(y_true=y, y_pred=pred, sensitive=group).run().disparities["disparate_impact"].threshold
        is None
    )
    on = Bias(y_true=y, y_pred=pred, sensitive=group, four_fifths=True).run()
    di = on.disparities["disparate_impact"]
    assert di.threshold == 0.8
    assert di.passed == (di.value >= 0.8)


def test_reference_group_makes_disparate_impact_a_ratio_to_it() -> None:
    y, pred, group = unfair_data()
    result = Bias(y_true=y, y_pred=pred, sensitive=group, reference_group="F").run()
    sr = {g: result.groups[g].selection_rate for g in ("F", "M")}
    assert result.disparities["disparate_impact"].value == pytest.approx(sr["M"] / sr["F"])


def test_unknown_reference_group_raises() -> None:
    y, pred, group = fair_data()
    with pytest.raises(ConfigError, match="reference_group"):
        Bias(y_true=y, y_pred=pred, sensitive=group, reference_group="Z").run()


def test_regression_reports_mean_prediction_and_error_per_group() -> None:
    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b"], 2000)
    y = rng.normal(size=2000)
    pred = y + np.where(group == "a", 0.5, 0.0) + rng.normal(0, 0.1, 2000)
    result = Bias(
        y_true=y,
        y_pred=pred,
        sensitive=group,
        task="regression",
        thresholds={"mean_error_difference": 0.2},
    ).run()
    assert result.status.value == "fail"
    assert result.groups["a"].mean_error == pytest.approx((pred - y)[group == "a"].mean())
    d = result.disparities["mean_error_difference"]
    assert d.ci_low <= 0.5 <= d.ci_high


def test_regression_needs_a_threshold() -> None:
    with pytest.raises(ConfigError, match="no disparity has a threshold"):
        Bias(y_true=[0.1], y_pred=[0.2], sensitive=["a"], task="regression")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"parity": 0.1}}, "unknown classification disparities ['parity']"),
    ],
)
def test_unknown_names_in_settings_raise_config_errors(kwargs: dict, message: str) -> None:
    # Each parameter's own allowed values are tested in test_parameters.py.
    with pytest.raises(ConfigError) as info:
        Bias(y_true=[0, 1], y_pred=[0, 1], sensitive=["a", "b"], **kwargs)
    assert message in str(info.value)


def test_result_round_trips_through_json_and_renders() -> None:
    y, pred, group = unfair_data()
    result = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    assert BiasResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    suite = run_suite([Bias(y_true=y, y_pred=pred, sensitive=group)])
    doc = json.loads(suite.to_json())
    assert doc["results"][0]["disparities"]["equalized_odds_difference"]["passed"] is False
    assert SuiteResult.from_json(suite.to_json()).exit_code() == 1
    assert "equalized\\_odds\\_difference" in suite.to_markdown()  # Markdown escapes _
    assert "<failure" in suite.to_junit()


@settings(max_examples=25, deadline=None)
@given(
    n_groups=st.integers(2, 4),
    seed=st.integers(0, 10_000),
)
def test_groups_partition_the_rows_and_disparities_equal_the_table_statistics(
    n_groups: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    group = rng.integers(0, n_groups, n)
    y = rng.integers(0, 2, n)
    pred = rng.integers(0, 2, n)
    result = Bias(
        y_true=y,
        y_pred=pred,
        sensitive=group,
        min_group_size=1,
        n_resamples=50,
        thresholds=dict.fromkeys(DISPARITIES) | {"demographic_parity_difference": 0.5},
    ).run()
    assert sum(g.count for g in result.groups.values()) == n
    table = sf.confusion_table(group, n_groups, y, pred)
    expected = sf.disparities(sf.group_rates(table))
    for name in ("demographic_parity_difference", "demographic_parity_ratio"):
        assert result.disparities[name].value == pytest.approx(float(expected[name]))


def test_scores_without_a_threshold_raise_and_suggest_one() -> None:
    with pytest.raises(CheckInputError, match="for scores, pass threshold="):
        Bias(y_true=[0, 1], y_pred=[0.2, 0.7], sensitive=["a", "b"]).run()


def test_integer_groups_counted_in_one_pass_give_the_result_of_the_same_groups_as_text() -> None:
    rng = np.random.default_rng(5)
    group = rng.integers(3, 8, 4000)  # integers are counted directly, text is factorized
    y = rng.integers(0, 2, 4000)
    pred = np.where(rng.random(4000) < 0.8 - 0.05 * (group - 3), y, 1 - y)
    as_int = Bias(y_true=y, y_pred=pred, sensitive=group).run()
    as_text = Bias(y_true=y, y_pred=pred, sensitive=group.astype(str)).run()
    assert as_int.groups == as_text.groups
    assert as_int.disparities == as_text.disparities
    assert as_int.status == as_text.status


@pytest.mark.parametrize("bad", ["y_true", "y_pred"])
def test_integer_labels_outside_zero_one_with_integer_groups_raise_naming_them(bad: str) -> None:
    labels = {"y_true": np.array([0, 1, 0, 1]), "y_pred": np.array([0, 1, 1, 0])}
    labels[bad] = np.array([0, 1, 3, 1])
    with pytest.raises(CheckInputError, match=f"{bad} must hold only 0 and 1"):
        Bias(**labels, sensitive=np.array([0, 0, 1, 1])).run()
