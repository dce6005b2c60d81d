"""Degradation settings that name metrics must name compared ones, and list segments.

A name that matches nothing was ignored: a loss in ``lower_is_better`` under the wrong
name was judged higher-is-better (a loss that doubled passed), two callables of one name
kept only the last, and a misspelled ``margins`` key left the default margin in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Degradation, Verdict
from modelship.cli import main
from modelship.errors import ColumnMismatch, ConfigError


def regression_holdout(n: int = 2000) -> dict[str, Any]:
    """Targets, and a candidate whose absolute error is about twice the baseline's."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=n)
    return {
        "y": y,
        "candidate_scores": y + rng.normal(0, 1.0, n),
        "baseline_scores": y + rng.normal(0, 0.5, n),
    }


def classification_holdout(n: int = 2000) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return {
        "y": y,
        "candidate_scores": np.clip(y * 0.2 + rng.random(n) * 0.8, 0, 1),
        "baseline_scores": np.clip(y * 0.6 + rng.random(n) * 0.4, 0, 1),
    }


def mean_abs_err(y_true: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - y_true)))


# --- lower_is_better names compared metrics ---


@pytest.mark.parametrize(
    ("metrics", "lower", "stray", "compared"),
    [
        ([mean_abs_err], {"mean_abs_error"}, "mean_abs_error", "mean_abs_err"),  # a typo
        ({"loss": mean_abs_err}, {"mean_abs_err"}, "mean_abs_err", "loss"),  # key, not name
        ([lambda t, p: float(np.mean(np.abs(p - t)))], {"mae"}, "mae", "<lambda>"),  # a lambda
    ],
    ids=["typo", "mapping-key", "lambda"],
)
def test_lower_is_better_naming_no_compared_metric_raises_naming_both(
    metrics: Any, lower: set[str], stray: str, compared: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Degradation(metrics=metrics, lower_is_better=lower, **regression_holdout())
    message = str(info.value)
    assert f"`lower_is_better` names [{stray!r}]" in message
    assert f"compared: [{compared!r}]" in message
    assert "mapping {name: callable}" in message


def test_lower_is_better_naming_a_higher_is_better_builtin_raises() -> None:
    with pytest.raises(ConfigError, match=r"names \['accuracy'\], built-in metrics where higher"):
        Degradation(metrics=["accuracy"], lower_is_better={"accuracy"}, **classification_holdout())


def test_lower_is_better_against_default_metrics_raises_at_run() -> None:
    check = Degradation(lower_is_better={"mean_abs_err"}, **regression_holdout())
    with pytest.raises(ConfigError, match=r"compared: \['rmse', 'mae', 'r2'\] \(the default"):
        check.run()


def test_a_loss_named_by_its_mapping_key_is_lower_is_better_and_fails_when_it_doubles() -> None:
    result = Degradation(
        metrics={"loss": lambda t, p: float(np.mean(np.abs(p - t)))},
        lower_is_better={"loss"},
        n_resamples=200,
        **regression_holdout(),
    ).run()
    assert result.metrics["loss"].higher_is_better is False
    assert result.metrics["loss"].verdict is Verdict.WORSE


# --- every metric has its own name ---


def test_two_lambdas_raise_config_error_asking_for_a_mapping() -> None:
    with pytest.raises(ConfigError) as info:
        Degradation(
            metrics=[
                lambda t, p: float(np.mean((p >= 0.5) == t)),
                lambda t, p: 1.0,
            ],
            **classification_holdout(),
        )
    message = str(info.value)
    assert "`metrics` names ['<lambda>'] more than once" in message
    assert "mapping {name: callable}" in message


def test_a_metric_name_given_twice_raises_config_error() -> None:
    with pytest.raises(ConfigError, match=r"`metrics` names \['accuracy'\] more than once"):
        Degradation(metrics=["accuracy", "roc_auc", "accuracy"], **classification_holdout())


# --- margins name compared metrics, defaults included ---


def test_a_misspelled_margin_with_the_default_metrics_raises_at_run() -> None:
    check = Degradation(margins={"roc-auc": 0.0}, **classification_holdout())
    with pytest.raises(ConfigError) as info:
        check.run()
    message = str(info.value)
    assert "`margins` names metrics not compared: ['roc-auc']" in message
    assert "compared: ['roc_auc', 'accuracy', 'f1']" in message


def test_a_misspelled_margin_with_the_task_given_raises_at_construction() -> None:
    with pytest.raises(ConfigError, match=r"not compared: \['rsme'\]; compared: \['rmse'"):
        Degradation(task="regression", margins={"rsme": 0.1}, **regression_holdout())


def test_a_margin_for_a_default_metric_is_used() -> None:
    result = Degradation(margins={"mae": 0.5}, n_resamples=200, **regression_holdout()).run()
    assert result.metrics["mae"].margin == 0.5


def test_cli_misspelled_metric_margin_is_a_one_line_error_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = classification_holdout(300)
    path = tmp_path / "holdout.csv"
    pd.DataFrame(
        {"y": data["y"], "c": data["candidate_scores"], "b": data["baseline_scores"]}
    ).to_csv(path, index=False)
    argv = ["check", "degradation", "--data", str(path), "--label", "y"]
    code = main([*argv, "--candidate", "c", "--baseline", "b", "--metric-margin", "roc-auc=0"])
    out = capsys.readouterr().out
    assert code == 2
    (line,) = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert "`margins` names metrics not compared: ['roc-auc']" in line


# --- segments as a list ---


def segment_inputs(n: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "y": rng.integers(0, 2, n),
        "candidate_scores": rng.random(n),
        "baseline_scores": rng.random(n),
        "metrics": ["accuracy"],
        "inconclusive": "pass",
        "segment_inconclusive": "pass",
    }


REGION = ["north"] * 100 + ["south"] * 100


@pytest.mark.parametrize("with_x", [False, True], ids=["no-X", "X"])
def test_a_list_of_text_labels_one_per_row_segments_as_an_array_does(with_x: bool) -> None:
    inputs = segment_inputs()
    x = {"X": pd.DataFrame({"f": inputs["candidate_scores"]})} if with_x else {}
    listed = Degradation(segments=REGION, **x, **inputs).run()
    array = Degradation(segments=np.asarray(REGION), **x, **inputs).run()
    assert sorted(listed.slices) == sorted(array.slices) == ["north", "south"]
    assert listed.slices == array.slices


def test_a_list_whose_every_value_names_a_column_of_x_is_column_names() -> None:
    inputs = segment_inputs()
    x = pd.DataFrame({"region": REGION, "north": [1, 2] * 100})
    result = Degradation(X=x, segments=["region"], **inputs).run()
    assert sorted(result.slices) == ["region=north", "region=south"]


def test_a_list_of_labels_not_one_per_row_is_a_bounded_column_mismatch() -> None:
    inputs = segment_inputs()
    x = pd.DataFrame({"f": inputs["candidate_scores"]})
    labels = [f"s{i % 40}" for i in range(150)]  # 150 labels for 200 rows
    with pytest.raises(ColumnMismatch) as info:
        Degradation(X=x, segments=labels, **inputs).run()
    message = str(info.value)
    assert "X has no columns 's0', 's1', 's2', 's3', 's4' and 35 more" in message
    assert "per-row labels only when it has one per row (200 rows, 150 given)" in message
    assert len(message) < 400
