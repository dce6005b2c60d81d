"""Review 42, bias and degradation: multi-class and non-0/1 classifiers judged as
regression, ``four_fifths`` overridden by a threshold, models pickled without a budget,
``registry=`` as a URL, repeated segment names, ``reference_group`` in regression."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

import modelship as ms
from modelship.checks import Bias, Degradation
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError

N = 600
RNG = np.random.default_rng(42)
Y3 = RNG.integers(0, 3, N)  # three classes
X3 = Y3.reshape(-1, 1).astype(float)
Y12 = RNG.integers(1, 3, N)  # a binary task labelled 1 and 2
X12 = Y12.reshape(-1, 1).astype(float)


class Perfect3:
    """A 3-class classifier right on every row."""

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return np.eye(3)[x[:, 0].astype(int)]


class Sloppy3:
    """Class-1 rows get [0.5, 0, 0.5]: wrong on a third of the rows."""

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        out = np.eye(3)[x[:, 0].astype(int)]
        out[x[:, 0] == 1] = [0.5, 0.0, 0.5]
        return out


class Perfect12:
    """A binary classifier on labels 1/2, right on every row."""

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        p2 = (x[:, 0] == 2).astype(float)
        return np.column_stack([1 - p2, p2])


class AlwaysTwo:
    """Predicts label 2 for everyone."""

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return np.column_stack([np.zeros(len(x)), np.ones(len(x))])


# --- 1. a classifier is never judged as a regression on its last column ---


def test_multiclass_predict_proba_is_refused_not_judged_as_regression() -> None:
    check = Degradation(candidate=Perfect3(), baseline=Sloppy3(), X=X3, y=Y3, n_resamples=50)
    with pytest.raises(CheckInputError, match=r"predict_proba gives 3 columns.*multi-class"):
        check.run()


def test_multiclass_error_names_what_to_give_instead() -> None:
    check = Degradation(candidate=Sloppy3(), baseline=Perfect3(), X=X3, y=Y3, n_resamples=50)
    with pytest.raises(CheckInputError) as caught:
        check.run()
    assert "candidate_scores=" in str(caught.value)
    assert "metrics={'accuracy'" in str(caught.value)


def test_multiclass_is_compared_by_predicted_classes_with_a_metric_callable() -> None:
    # The way the multi-class error points to: functions X -> classes and a callable.
    def accuracy(y: npt.NDArray[Any], pred: npt.NDArray[Any]) -> float:
        return float((y == pred).mean())

    def sloppy(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return Sloppy3().predict_proba(x).argmax(axis=1)

    def perfect(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return Perfect3().predict_proba(x).argmax(axis=1)

    result = Degradation(
        candidate=sloppy,
        baseline=perfect,
        X=X3,
        y=Y3,
        metrics={"accuracy": accuracy},
        n_resamples=50,
    ).run()
    assert result.status.value == "fail"
    assert result.metrics["accuracy"].baseline == 1.0


def test_one_column_predict_proba_of_a_single_class_model_is_refused() -> None:
    class OneClass:
        classes_ = np.array([1])  # fitted on one label: its one column is always 1

        def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
            return np.ones((len(x), 1))

    y = RNG.integers(0, 2, N)
    check = Degradation(candidate=OneClass(), baseline=Perfect12(), X=X12, y=y, n_resamples=20)
    with pytest.raises(CheckInputError, match=r"gives 1 column;.*single class"):
        check.run()


def test_classifier_on_labels_1_and_2_is_the_documented_label_error() -> None:
    check = Degradation(candidate=Perfect12(), baseline=AlwaysTwo(), X=X12, y=Y12, n_resamples=50)
    with pytest.raises(CheckInputError, match=r"map the labels to 0/1.*predict_proba") as caught:
        check.run()
    assert "'2'" in str(caught.value)


def test_a_classifier_baseline_alone_makes_the_task_classification() -> None:
    scores = (Y12 == 2).astype(float)
    check = Degradation(candidate_scores=scores, baseline=AlwaysTwo(), X=X12, y=Y12, n_resamples=50)
    with pytest.raises(CheckInputError, match=r"baseline has predict_proba"):
        check.run()


def test_explicit_regression_task_keeps_a_predict_proba_model_as_before() -> None:
    result = Degradation(
        candidate=Perfect12(), baseline=AlwaysTwo(), X=X12, y=Y12, task="regression", n_resamples=50
    ).run()
    assert sorted(result.metrics) == ["mae", "r2", "rmse"]


def test_a_regressor_on_real_targets_is_still_regression() -> None:
    class Linear:
        def __init__(self, w: float) -> None:
            self.w = w

        def predict(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
            return x[:, 0] * self.w

    y = X12[:, 0] * 2.0
    result = Degradation(
        candidate=Linear(2.0), baseline=Linear(1.5), X=X12, y=y, n_resamples=50
    ).run()
    assert sorted(result.metrics) == ["mae", "r2", "rmse"]
    assert result.status.value == "pass"


def test_binary_classifier_on_0_1_labels_is_unchanged() -> None:
    y = Y12 - 1
    result = Degradation(
        candidate=Perfect12(), baseline=AlwaysTwo(), X=X12, y=y, metrics=["roc_auc"]
    ).run()
    assert result.metrics["roc_auc"].candidate == 1.0
    assert result.status.value == "pass"


# --- 2. four_fifths is not silently overridden ---


@pytest.mark.parametrize("limit", [None, 0.5, 0.9])
def test_four_fifths_with_another_disparate_impact_threshold_is_refused(
    limit: float | None,
) -> None:
    with pytest.raises(ConfigError, match=r"four_fifths=True.*gives it"):
        Bias(
            y_true=[0, 1],
            y_pred=[0, 1],
            sensitive=["a", "b"],
            four_fifths=True,
            thresholds={"disparate_impact": limit},
        )


def test_four_fifths_with_a_disparate_impact_threshold_of_0_8_is_accepted() -> None:
    check = Bias(
        y_true=[0, 1],
        y_pred=[0, 1],
        sensitive=["a", "b"],
        four_fifths=True,
        thresholds={"disparate_impact": 0.8},
    )
    assert check.gated_thresholds()["disparate_impact"] == 0.8


def _write_csv(path: Path, columns: dict[str, Any]) -> Path:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def _selection_gap(tmp_path: Path) -> Path:
    """Selection rate 0.5 for group a, 0.3 for b: a ratio of 0.6 fails four fifths."""
    rng = np.random.default_rng(0)
    n = 2000
    g = rng.choice(["a", "b"], n)
    p = (rng.random(n) < np.where(g == "a", 0.5, 0.3)).astype(int)
    return _write_csv(tmp_path / "d.csv", {"y": rng.integers(0, 2, n), "p": p, "g": g})


def test_cli_four_fifths_with_limit_none_exits_2(tmp_path: Path) -> None:
    data = _selection_gap(tmp_path)
    argv = ["check", "bias", "--data", str(data), "--label", "y", "--prediction", "p"]
    argv += ["--sensitive", "g", "--four-fifths", "--limit", "disparate_impact=none"]
    limits = ["demographic_parity_difference=0.5", "equalized_odds_difference=0.5"]
    argv += ["--limit", *limits, "equal_opportunity_difference=0.5"]
    assert main(argv) == 2


# --- 3. models are pickled only when their size is used ---


class CountsPickles:
    pickled = 0

    def __init__(self, w: float) -> None:
        self.w = w

    def predict_proba(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        p = 1 / (1 + np.exp(-x[:, 0] * self.w))
        return np.column_stack([1 - p, p])

    def __reduce__(self) -> tuple[Any, ...]:
        type(self).pickled += 1
        return (CountsPickles, (self.w,))


def _pickles(**kwargs: Any) -> int:
    x = np.random.default_rng(1).normal(size=(200, 1))
    y = (x[:, 0] > 0).astype(int)
    CountsPickles.pickled = 0
    Degradation(
        candidate=CountsPickles(2.0),
        baseline=CountsPickles(1.0),
        X=x,
        y=y,
        metrics=["roc_auc"],
        n_batches=2,
        warmup=0,
        **kwargs,
    ).run()
    return CountsPickles.pickled


def test_models_are_not_pickled_without_a_budget_or_measure_performance() -> None:
    assert _pickles() == 0


def test_models_are_pickled_for_their_size_when_performance_is_measured() -> None:
    assert _pickles(measure_performance=True) == 2


def test_size_is_reported_when_measured() -> None:
    x = np.random.default_rng(1).normal(size=(200, 1))
    y = (x[:, 0] > 0).astype(int)
    model = CountsPickles(2.0)
    result = Degradation(
        candidate=model,
        baseline=model,
        X=x,
        y=y,
        metrics=["roc_auc"],
        size_budget=1.0,
        n_batches=2,
        warmup=0,
    ).run()
    assert result.performance is not None
    size = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    assert result.performance.candidate["size_bytes"] == size
    assert result.performance.exceeded == {}


# --- 4. registry= as a URL or path ---


def test_registry_given_as_a_url_is_a_config_error_naming_open_registry(tmp_path: Path) -> None:
    y = np.array([0, 1] * 10)
    with pytest.raises(ConfigError, match=r"not an opened registry.*ms\.open_registry\("):
        Degradation(candidate=lambda x: x, baseline=lambda x: x, X=y, y=y, registry=str(tmp_path))


def test_an_opened_registry_is_accepted(tmp_path: Path) -> None:
    reg = ms.open_registry(tmp_path)
    y = np.array([0, 1] * 10)
    check = Degradation(candidate_scores=y, baseline_scores=y, y=y, registry=reg)
    assert check.registry is reg


# --- 5. a repeated segment name is one segment column ---


def test_repeated_segment_name_is_compared_once() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, N)
    x = pd.DataFrame({"r": rng.choice(["a", "b"], N), "v": rng.normal(size=N)})
    scores = {"candidate_scores": rng.random(N), "baseline_scores": rng.random(N)}
    once = Degradation(y=y, X=x, segments=["r"], metrics=["accuracy"], **scores).run()
    twice = Degradation(y=y, X=x, segments=["r", "r"], metrics=["accuracy"], **scores).run()
    assert list(twice.slices) == ["r=a", "r=b"]
    assert twice.slices == once.slices


def test_cli_repeated_segment_is_compared_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 300
    y = rng.integers(0, 2, n)
    data = _write_csv(
        tmp_path / "h.csv",
        {
            "y": y,
            "c": np.round(y + rng.normal(0, 0.6, n), 4),
            "b": np.round(y + rng.normal(0, 0.6, n), 4),
            "sex": rng.choice(["F", "M"], n),
        },
    )
    report = tmp_path / "r.json"
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--candidate", "c"]
    argv += ["--baseline", "b", "--segment", "sex", "--segment", "sex", "--json", str(report)]
    assert main(argv) in (0, 1)
    doc = json.loads(report.read_text())
    result = doc["results"][0] if "results" in doc else doc
    assert result["status"] != "error"
    assert sorted(result["slices"]) == ["sex=F", "sex=M"]


# --- 6. reference_group in regression ---


def test_reference_group_with_regression_is_refused_at_construction() -> None:
    with pytest.raises(ConfigError, match=r"`reference_group`.*regression"):
        Bias(
            y_true=[0.5, 1.5],
            y_pred=[0.4, 1.7],
            sensitive=["a", "b"],
            task="regression",
            thresholds={"mean_error_difference": 0.5},
            reference_group="a",
        )


def test_a_threshold_for_an_inferred_regression_is_refused(tmp_path: Path) -> None:
    # --task regression refused --threshold, but a regression inferred from y (or from
    # regression metrics) ignored it silently: the same input passed or failed by whether
    # --task was written out.
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    scores = {"candidate_scores": y + rng.normal(0, 0.1, 300), "baseline_scores": y}
    with pytest.raises(ConfigError, match=r"threshold=0\.7 turns scores into labels"):
        Degradation(y=y, threshold=0.7, **scores).run()
    with pytest.raises(ConfigError, match=r"threshold=0\.7"):
        Degradation(y=y, metrics=["rmse"], threshold=0.7, **scores).run()
    # Without the threshold it is checked as the regression it is: the candidate's noise
    # (sd 0.1 against a baseline equal to y) makes it clearly worse, a fail (exit 1).
    verdict = Degradation(y=y, **scores).run()
    assert verdict.status.value == "fail", verdict.reason
    assert "rmse: worse" in verdict.reason
    assert "mae: worse" in verdict.reason
    data = _write_csv(
        tmp_path / "reg.csv",
        {"y": np.round(y, 4), "c": np.round(scores["candidate_scores"], 4), "b": np.round(y, 4)},
    )
    argv = ["check", "degradation", "--data", str(data), "--label", "y", "--candidate", "c"]
    assert main([*argv, "--baseline", "b", "--threshold", "0.7"]) == 2
    assert main([*argv, "--baseline", "b"]) == 1
