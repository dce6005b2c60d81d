"""Review 36 of Bias, Degradation and their CLI: each test failed before its fix."""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Bias, Degradation
from modelship.checks._bias import MAX_GROUPS
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError

# --- 1: segments of a continuous column are refused past MAX_GROUPS, and bounded below --


def scores(n: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return {
        "y": y,
        "candidate_scores": y + rng.normal(0, 1, n),
        "baseline_scores": y + rng.normal(0, 1, n),
        "metrics": ["accuracy"],
        "n_resamples": 10,
    }


def test_a_segment_column_of_more_labels_than_bias_allows_groups_is_refused() -> None:
    n = MAX_GROUPS + 1
    x = pd.DataFrame({"income": np.arange(n, dtype=np.float64) / 7})
    with pytest.raises(CheckInputError, match=r"segment column 'income' has 10,001 distinct"):
        Degradation(X=x, segments="income", **scores(n)).run()


def test_segments_of_a_continuous_column_take_memory_bounded_by_the_rows() -> None:
    # One n-row mask per label: 6,000 labels x 6,000 rows = 36 MB; rows of the compared
    # segments only: a few hundred kB.
    n = 6000
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"income": rng.normal(size=n)})
    check = Degradation(X=x, segments="income", **scores(n))
    tracemalloc.start()
    try:
        result = check.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000
    assert result.slices == {}
    assert result.details["n_skipped_segments"] == n
    assert len(result.details["skipped_segments"]) == 20


def test_segments_selected_by_rows_compare_as_masks_did() -> None:
    n = 600
    inputs = scores(n, seed=2)
    region = np.array(["north", "south", "east"] * 200)
    by_labels = Degradation(segments=region, **inputs).run()
    masks = {label: region == label for label in ("east", "north", "south")}
    by_masks = Degradation(segments=masks, **inputs).run()
    assert by_labels.slices == by_masks.slices


# --- 2: reference_group names a feature's group: "feature=value" -------------------------


def shared_values() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 2000
    sex = rng.choice(["F", "M"], n)
    grade = rng.choice(["A", "F"], n)  # both features have a group "F"
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.where(sex == "F", 0.5, 0.35)).astype(int)
    return {
        "y_true": y,
        "y_pred": pred,
        "sensitive": {"sex": sex, "grade": grade},
        "thresholds": {"disparate_impact": 0.8},
        "n_resamples": 20,
    }


def selection(pred: np.ndarray, mask: np.ndarray) -> float:
    return float(pred[mask].mean())


def test_a_reference_group_named_feature_equals_value_is_that_features_only() -> None:
    inputs = shared_values()
    sex, grade, pred = inputs["sensitive"]["sex"], inputs["sensitive"]["grade"], inputs["y_pred"]
    d = Bias(**inputs, reference_group="sex=F").run().disparities
    assert d["sex:disparate_impact"].value == pytest.approx(
        selection(pred, sex == "M") / selection(pred, sex == "F")
    )
    rates = sorted([selection(pred, grade == "A"), selection(pred, grade == "F")])
    assert d["grade:disparate_impact"].value == pytest.approx(rates[0] / rates[1])
    assert d["sex:disparate_impact"].highest_group == "sex=F"


def test_a_bare_reference_value_of_several_features_is_refused_with_their_keys() -> None:
    check = Bias(**shared_values(), reference_group="F")
    with pytest.raises(ConfigError, match=r"several sensitive features: \['sex=F', 'grade=F'\]"):
        check.run()


def test_a_bare_reference_value_of_one_feature_is_still_that_features_reference() -> None:
    inputs = shared_values()
    sex, pred = inputs["sensitive"]["sex"], inputs["y_pred"]
    d = Bias(**inputs, reference_group="M").run().disparities
    assert d["sex:disparate_impact"].value == pytest.approx(
        selection(pred, sex == "F") / selection(pred, sex == "M")
    )


# --- 3: segment_margin wins over margins in segments --------------------------------------


def north_worse() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.integers(0, 2, n)
    seg = np.where(np.arange(n) < 2000, "north", "south")
    base = y + rng.normal(0, 0.8, n)
    cand = np.where(seg == "north", y + rng.normal(0, 1.0, n), base)  # about -0.04 AUC
    return {
        "y": y,
        "candidate_scores": cand,
        "baseline_scores": base,
        "metrics": ["roc_auc"],
        "segments": seg,
        "inconclusive": "pass",
    }


def test_an_explicit_segment_margin_wins_over_the_metrics_margin_in_segments() -> None:
    result = Degradation(**north_worse(), segment_margin=0.2, margins={"roc_auc": 0.01}).run()
    north = result.slices["north"]["roc_auc"]
    assert north.margin == 0.2
    assert north.verdict is not None
    assert north.verdict.value == "not worse within tolerance"
    assert result.metrics["roc_auc"].margin == 0.01  # the whole holdout keeps margins


def test_without_segment_margin_a_segment_uses_the_metrics_margin() -> None:
    result = Degradation(**north_worse(), margins={"roc_auc": 0.2}).run()
    assert result.slices["north"]["roc_auc"].margin == 0.2


# --- 4: n_batches batches are timed, whatever the rows of X -------------------------------


class Timed:
    """A model whose calls advance a shared fake clock: 1 ms, or 10 ms on call ``pause``."""

    def __init__(self, now: list[float], pause: int | None = None) -> None:
        self.now, self.pause, self.calls = now, pause, 0

    def predict(self, x: Any) -> np.ndarray:
        self.calls += 1
        self.now[0] += 0.010 if self.calls == self.pause else 0.001
        return np.zeros(len(x))


@pytest.mark.parametrize("rows", [200, 1000])
def test_latency_is_judged_on_n_batches_batches_when_x_holds_fewer(rows: int) -> None:
    now = [0.0]
    cand, base = Timed(now, pause=5), Timed(now)  # one 10 ms pause in the 2nd timed batch
    result = Degradation(
        candidate=cand,
        baseline=base,
        X=np.zeros((rows, 1)),
        y=np.tile([0, 1], rows // 2),
        metrics=["accuracy"],
        latency_budget=1.5,
        clock=lambda: now[0],
        n_resamples=10,
    ).run()
    performance = result.performance
    assert performance is not None
    assert performance.n_batches == 50
    assert performance.batch_size == min(256, rows)
    assert performance.candidate["p95_ms"] == pytest.approx(1.0)
    assert performance.exceeded == {}
    # 1 call for the scores, 3 warm-up calls, 50 timed batches, 1 for peak memory
    assert cand.calls == 1 + 3 + 50 + 1


# --- 5: segments= names a column of a 2-D array or a non-text column label -------------


def two_columns(n: int = 600) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.c_[rng.integers(0, 3, n), rng.normal(size=n)]


@pytest.mark.parametrize("segments", [0, [0]], ids=["scalar", "list"])
def test_segments_names_a_non_text_column_label_of_a_data_frame(segments: Any) -> None:
    x = pd.DataFrame(two_columns())
    result = Degradation(X=x, segments=segments, **scores(600)).run()
    assert sorted(result.slices) == ["0=0", "0=1", "0=2"]


def test_segments_names_a_column_of_a_plain_array_by_position() -> None:
    result = Degradation(X=two_columns(), segments=0, **scores(600)).run()
    assert sorted(result.slices) == ["0=0", "0=1", "0=2"]


def test_a_column_name_for_a_plain_array_says_to_use_a_position_or_the_labels() -> None:
    with pytest.raises(ConfigError, match=r"by its position \(segments=0\).*X\[:, 0\]"):
        Degradation(X=two_columns(), segments="0", **scores(600)).run()


# --- 6: an error reason lists a few skipped groups and a count ----------------------------


def test_a_reason_lists_the_first_five_skipped_groups_and_a_count() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    result = Bias(
        y_true=rng.integers(0, 2, n),
        y_pred=rng.integers(0, 2, n),
        sensitive=rng.normal(size=n),
        n_resamples=10,
    ).run()
    reason = result.disparities["demographic_parity_difference"].reason
    assert "2,000 skipped" in reason
    assert "and 1,995 more" in reason
    assert len(reason) < 400


# --- 7: disparate impact with a reference names the pair its ratio reads ----------------


def test_disparate_impact_with_a_reference_names_the_lowest_ratio_and_the_reference() -> None:
    g = np.repeat(["a", "ref", "c"], 100)
    y = np.tile([0, 1], 150)
    selected = {"a": 20, "ref": 50, "c": 90}
    pred = np.concatenate(
        [np.r_[np.ones(selected[k]), np.zeros(100 - selected[k])] for k in ("a", "ref", "c")]
    ).astype(int)
    d = (
        Bias(
            y_true=y,
            y_pred=pred,
            sensitive=g,
            reference_group="ref",
            thresholds={"disparate_impact": 0.8},
            n_resamples=50,
        )
        .run()
        .disparities["disparate_impact"]
    )
    assert d.value == pytest.approx(0.4)
    assert (d.lowest_group, d.highest_group) == ("a", "ref")
    assert d.reason.endswith("lowest 'a', reference 'ref'")


# --- 8: the CLI's --threshold and --score ---------------------------------------------


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    s = np.round(rng.random(n), 3)
    sex = np.repeat(["F", "M"], n // 2)
    path = tmp_path / "d.csv"
    lines = ["y,p,s,sex"] + [f"{y[i]},{int(s[i] >= 0.5)},{s[i]},{sex[i]}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def bias_cli(table: Path, *argv: str) -> int:
    return main(["check", "bias", "--data", str(table), "--label", "y", *argv])


def test_threshold_without_score_is_refused_naming_score(table: Path, capsys: Any) -> None:
    code = bias_cli(table, "--prediction", "p", "--threshold", "0.3", "--sensitive", "sex")
    out = capsys.readouterr().out
    assert code == 2
    assert "--threshold" in out
    assert "--score" in out


def test_score_with_regression_needs_no_threshold(table: Path, capsys: Any) -> None:
    argv = ["--score", "s", "--task", "regression", "--sensitive", "sex"]
    code = bias_cli(table, *argv, "--limit", "mean_error_difference=0.5")
    assert code == 0, capsys.readouterr().out


def test_scores_given_as_prediction_are_told_to_use_score(table: Path, capsys: Any) -> None:
    code = bias_cli(table, "--prediction", "s", "--sensitive", "sex")
    out = capsys.readouterr().out
    assert code == 2
    assert "--score s" in out
    assert "threshold=" not in out


# --- smaller notes -----------------------------------------------------------------------


def test_four_fifths_with_regression_is_refused() -> None:
    with pytest.raises(ConfigError, match="four_fifths"):
        Bias(
            y_true=[0.5, 1.5],
            y_pred=[0.4, 1.6],
            sensitive=["a", "b"],
            task="regression",
            four_fifths=True,
            thresholds={"mean_error_difference": 0.5},
        )


def test_squared_errors_that_overflow_are_an_error_saying_so_without_warnings() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.normal(size=n)
    base = y + rng.normal(0, 0.1, n)
    cand = base.copy()
    cand[:5] = 1e160  # finite predictions whose squared errors overflow float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = Degradation(
            y=y,
            candidate_scores=cand,
            baseline_scores=base,
            metrics=["rmse", "r2"],
            inconclusive="pass",
            n_resamples=50,
        ).run()
    assert result.status.value == "error"
    rmse = result.metrics["rmse"]
    assert "overflows float64 (5 rows' terms" in rmse.reason
    assert "holdout" not in rmse.reason


def test_segments_zero_names_a_column_labelled_zero_point_zero() -> None:
    rng = np.random.default_rng(3)
    n = 240
    y = rng.integers(0, 2, n)
    X = pd.DataFrame({0.0: rng.integers(0, 2, n), 1.0: rng.normal(size=n)})
    result = Degradation(
        X=X,
        segments=0,
        y=y,
        candidate_scores=y + rng.normal(0, 1, n),
        baseline_scores=y + rng.normal(0, 1, n),
        metrics=["accuracy"],
        n_resamples=20,
        min_segment_size=20,
    ).run()
    assert sorted(result.slices) == ["0.0=0", "0.0=1"]


def test_a_bootstrap_resample_that_overflows_is_an_error_saying_so() -> None:
    from modelship.checks.stats import paired_bootstrap
    from modelship.errors import CheckInputError

    y = np.zeros(10)
    candidate = np.zeros(10)
    candidate[0] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckInputError, match="overflows float64 in the bootstrap"):
            paired_bootstrap(y, candidate, np.zeros(10), "mae", n_resamples=200)
