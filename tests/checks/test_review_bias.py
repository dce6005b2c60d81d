"""Bias defects found in review: offsets, small groups, named groups, indexes, cardinality."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Bias, Degradation
from modelship.checks.stats import _fairness as sf
from modelship.errors import CheckInputError


def offset_regression(offset: float) -> Bias:
    rng = np.random.default_rng(0)
    n = 200
    g = np.repeat(["a", "b"], n // 2)
    pred = np.where(g == "a", 0.0, 0.5) + rng.normal(0, 1, n)
    y = pred - rng.normal(0, 1, n)
    return Bias(
        y_true=y + offset,
        y_pred=pred + offset,
        sensitive=g,
        task="regression",
        thresholds={"mean_prediction_difference": 0.6, "mean_error_difference": 0.6},
        gate="interval",
    )


@pytest.mark.parametrize("offset", [1e8, 1.7e9, 1e10])
def test_regression_intervals_do_not_move_with_a_common_offset(offset: float) -> None:
    plain = offset_regression(0.0).run().disparities
    shifted = offset_regression(offset).run().disparities
    for name in ("mean_prediction_difference", "mean_error_difference"):
        assert shifted[name].ci_low == pytest.approx(plain[name].ci_low, abs=1e-4)
        assert shifted[name].ci_high == pytest.approx(plain[name].ci_high, abs=1e-4)
        assert shifted[name].status is plain[name].status


def test_regression_table_second_moments_are_shift_invariant() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, 500)
    y, pred = rng.normal(0, 1, 500), rng.normal(0, 1, 500)
    plain = sf.bootstrap_regression(
        sf.regression_table(codes, 3, y, pred), 50, np.random.default_rng(0)
    )
    shifted = sf.bootstrap_regression(
        sf.regression_table(codes, 3, y + 1.7e9, pred + 1.7e9), 50, np.random.default_rng(0)
    )
    spread = plain["mean_prediction"] - plain["mean_prediction"].mean(axis=0)
    spread_shifted = shifted["mean_prediction"] - shifted["mean_prediction"].mean(axis=0)
    np.testing.assert_allclose(spread_shifted, spread, atol=1e-5)


def small_group_data(*, undefined_ungated: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.tile([0, 1], 110)
    g = np.array(["a"] * 100 + ["b"] * 100 + ["tiny"] * 20)
    if undefined_ungated:  # 'b' predicts nobody positive: precision undefined there (a warning)
        pred = np.r_[np.ones(5, int), np.zeros(95, int), np.zeros(100, int), np.zeros(20, int)]
    else:
        pred = np.r_[np.tile([0, 1], 50), np.tile([0, 1], 50), np.zeros(20, int)]
    return y, pred, g


@pytest.mark.parametrize("undefined_ungated", [False, True])
def test_small_groups_fail_fails_even_when_the_check_would_only_warn(
    undefined_ungated: bool,
) -> None:
    y, pred, g = small_group_data(undefined_ungated=undefined_ungated)
    result = Bias(
        y_true=y,
        y_pred=pred,
        sensitive=g,
        small_groups="fail",
        thresholds={"equalized_odds_difference": None, "equal_opportunity_difference": None},
    ).run()
    assert result.status.value == "fail"
    assert "small_groups='fail'" in result.reason


def confusion_groups(
    parts: dict[str, tuple[int, int, int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of groups given as ``(tp, fn, fp, tn)``."""
    ys, ps, gs = [], [], []
    for label, (tp, fn, fp, tn) in parts.items():
        ys.append(np.r_[np.ones(tp + fn, int), np.zeros(fp + tn, int)])
        ps.append(np.r_[np.ones(tp, int), np.zeros(fn, int), np.ones(fp, int), np.zeros(tn, int)])
        gs.append(np.full(tp + fn + fp + tn, label))
    return np.concatenate(ys), np.concatenate(ps), np.concatenate(gs)


@pytest.mark.parametrize("metric", ["equalized_odds_difference", "equalized_odds_ratio"])
def test_equalized_odds_names_the_groups_of_the_rate_that_sets_its_value(metric: str) -> None:
    # TPR 0.80 / 0.82 / 0.79, FPR 0.20 / 0.05 / 0.45: the FPR gap is the disparity.
    y, p, g = confusion_groups({"a": (80, 20, 20, 80), "b": (82, 18, 5, 95), "c": (79, 21, 45, 55)})
    d = Bias(y_true=y, y_pred=p, sensitive=g).run().disparities[metric]
    assert (d.lowest_group, d.highest_group) == ("b", "c")


def test_equalized_odds_names_tpr_groups_when_the_tpr_gap_is_larger() -> None:
    # TPR 0.5 / 0.9 / 0.7, FPR 0.20 / 0.25 / 0.10: the TPR gap is the disparity.
    y, p, g = confusion_groups(
        {"a": (50, 50, 20, 80), "b": (90, 10, 25, 75), "c": (70, 30, 10, 90)}
    )
    d = Bias(y_true=y, y_pred=p, sensitive=g).run().disparities["equalized_odds_difference"]
    assert (d.lowest_group, d.highest_group) == ("a", "b")


def test_a_reference_group_with_zero_selection_names_the_reference() -> None:
    g = np.repeat(["ref", "b"], 100)
    y = np.tile([0, 1], 100)
    p = np.r_[np.zeros(100, int), y[100:]]
    d = (
        Bias(y_true=y, y_pred=p, sensitive=g, reference_group="ref", four_fifths=True)
        .run()
        .disparities["disparate_impact"]
    )
    assert d.status.value == "error"
    assert "reference group 'ref' has selection rate 0" in d.reason
    assert "[]" not in d.reason


def shuffled_series() -> tuple[pd.Series, pd.Series, pd.Series]:
    rng = np.random.default_rng(0)
    n = 400
    idx = pd.Index(rng.permutation(n) + 1000)
    y_true = pd.Series(rng.integers(0, 2, n), index=idx, name="y")
    sex = pd.Series(np.where(rng.random(n) < 0.5, "F", "M"), index=idx, name="sex")
    return y_true, y_true.sort_index(), sex


def test_bias_refuses_pandas_inputs_with_different_indexes() -> None:
    y_true, y_pred, sex = shuffled_series()
    with pytest.raises(CheckInputError, match=r"different indexes.*reindex"):
        Bias(y_true=y_true, y_pred=y_pred, sensitive=sex).run()


def test_bias_refuses_a_sensitive_frame_whose_index_differs() -> None:
    y_true, _, sex = shuffled_series()
    frame = sex.to_frame().reset_index(drop=True)
    with pytest.raises(CheckInputError, match="sensitive and y_true are pandas objects"):
        Bias(y_true=y_true, y_pred=y_true, sensitive=frame).run()


def test_bias_takes_pandas_inputs_with_the_same_index_and_plain_arrays() -> None:
    y_true, _, sex = shuffled_series()
    assert Bias(y_true=y_true, y_pred=y_true.copy(), sensitive=sex).run().status.value == "pass"
    assert Bias(y_true=y_true, y_pred=y_true.to_numpy(), sensitive=sex).run().status.value == "pass"


def test_degradation_refuses_scores_whose_index_differs_from_y() -> None:
    y_true, y_pred, _ = shuffled_series()
    with pytest.raises(CheckInputError, match="candidate_scores and y"):
        Degradation(
            y=y_true,
            candidate_scores=y_pred.astype(float),
            baseline_scores=y_true.astype(float),
            metrics=["accuracy"],
        ).run()


def test_combined_codes_list_only_the_combinations_present_in_row_major_order() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    for sizes in ([3, 4, 5], [3000, 3000, 2]):  # a dense presence table, then np.unique
        codes = [rng.integers(0, size, n) for size in sizes]
        joint, combos = sf.combine_codes(codes, sizes)
        expected = np.unique(np.column_stack(codes), axis=0)
        np.testing.assert_array_equal(combos, expected)
        np.testing.assert_array_equal(combos[joint], np.column_stack(codes))


def test_intersection_groups_count_the_rows_of_each_combination() -> None:
    rng = np.random.default_rng(6)
    n = 6000
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["young", "mid", "old"], n),
            "region": rng.integers(0, 4, n),
        }
    )
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    groups = Bias(y_true=y, y_pred=pred, sensitive=frame, n_resamples=10).run().groups
    sizes = frame.groupby(["sex", "age", "region"]).size()
    for (sex, age, region), size in sizes.items():
        assert groups[f"sex={sex}&age={age}&region={region}"].count == size
    assert groups["age=old"].count == int((frame["age"] == "old").sum())
    chosen = (y == 1) & (pred == 1) & (frame["sex"] == "F").to_numpy()
    rate = groups["sex=F"].true_positive_rate
    assert rate == chosen.sum() / ((y == 1) & (frame["sex"] == "F").to_numpy()).sum()


def test_more_groups_than_the_cap_is_a_check_input_error_suggesting_no_intersections() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    sensitive = {name: rng.integers(0, 100, n).astype(str) for name in ("zip", "age", "job")}
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    with pytest.raises(
        CheckInputError, match=r"'zip&age&job' has 19,\d{3} groups.*intersections=False"
    ):
        Bias(y_true=y, y_pred=pred, sensitive=sensitive, n_resamples=10).run()


_HIGH_CARDINALITY = """
import resource
import numpy as np
from modelship.checks import Bias
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
rng = np.random.default_rng(0)
n = 20000
sensitive = {name: rng.integers(0, 1000, n).astype(str) for name in ("zip", "age", "job")}
y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
result = Bias(y_true=y, y_pred=pred, sensitive=sensitive, n_resamples=10,
              intersections=False).run()
print(len(result.groups))
"""


def test_several_high_cardinality_features_use_memory_bounded_by_the_rows() -> None:
    # 1000^3 combinations as a dense table would be 30 GiB; under a 3 GiB address-space
    # limit the check must still run.
    done = subprocess.run(
        [sys.executable, "-c", _HIGH_CARDINALITY],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) == 3000
