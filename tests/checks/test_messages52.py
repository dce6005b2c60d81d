"""Bias and Degradation messages that say what to do (review 52): a one-column frame or
table as ``segments``, a predict_proba output as scores, missing labels in Bias, and
scores without a value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelship.checks import Bias, Degradation, Status
from modelship.errors import CheckInputError

N = 300


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(52)
    a = rng.normal(size=N)
    y = (a + rng.normal(0, 1, N) > 0).astype(int)
    return {
        "a": a,
        "y": y,
        "cand": 1 / (1 + np.exp(-a * 2)),
        "base": 1 / (1 + np.exp(-a * 1.9)),
        "region": rng.choice(["n", "s", "e"], N),
        "group": rng.choice(["F", "M"], N),
    }


def _degradation(data: dict[str, np.ndarray], **kwargs: object) -> Degradation:
    given: dict[str, object] = {
        "candidate_scores": data["cand"],
        "baseline_scores": data["base"],
        "y": data["y"],
        "metrics": ["roc_auc"],
        "n_resamples": 50,
    }
    given.update(kwargs)
    return Degradation(**given)  # type: ignore[arg-type]


def _segment_summary(result: object) -> dict[str, object]:
    slices = result.slices  # type: ignore[attr-defined]
    return {
        segment: {name: (m.status, m.candidate, m.baseline, m.n) for name, m in by.items()}
        for segment, by in slices.items()
    }


def test_one_column_frame_is_that_column(data: dict[str, np.ndarray]) -> None:
    X = pd.DataFrame({"a": data["a"], "region": data["region"]})
    by_name = _degradation(data, X=X, segments="region").run()
    by_frame = _degradation(data, segments=X[["region"]]).run()
    assert sorted(by_frame.slices) == ["region=e", "region=n", "region=s"]
    assert _segment_summary(by_frame) == _segment_summary(by_name)


def test_arrow_table_is_its_columns(data: dict[str, np.ndarray]) -> None:
    pa = pytest.importorskip("pyarrow")
    X = pd.DataFrame({"a": data["a"], "region": data["region"]})
    by_name = _degradation(data, X=X, segments="region").run()
    by_table = _degradation(data, segments=pa.table({"region": data["region"]})).run()
    assert _segment_summary(by_table) == _segment_summary(by_name)


def test_frame_of_other_length_says_so(data: dict[str, np.ndarray]) -> None:
    check = _degradation(data, segments=pd.DataFrame({"region": data["region"][:-1]}))
    with pytest.raises(
        CheckInputError, match=r"`segments` column 'region' has 299 rows, the holdout 300"
    ):
        check.run()


def test_two_dimensional_segments_say_what_to_give(data: dict[str, np.ndarray]) -> None:
    wide = np.c_[data["region"], data["group"]]
    with pytest.raises(CheckInputError, match=r"shape \(300, 2\).*give a column name of X"):
        _degradation(data, segments=wide).run()


def test_predict_proba_output_says_take_the_positive_column(
    data: dict[str, np.ndarray],
) -> None:
    proba = np.c_[1 - data["cand"], data["cand"]]
    with pytest.raises(CheckInputError, match=r"shape \(300, 2\): .*predict_proba.*\[:, 1\]"):
        _degradation(data, candidate_scores=proba).run()


def test_scores_with_na_name_rows_and_what_to_do(data: dict[str, np.ndarray]) -> None:
    scores = pd.array(np.where(np.arange(N) % 100 == 0, None, data["cand"]), dtype="Float64")
    with pytest.raises(CheckInputError) as caught:
        _degradation(data, candidate_scores=scores).run()
    message = str(caught.value)
    assert "candidate_scores has 3 non-finite values (missing: NaN or NA)" in message
    assert "at positions 0, 100, 200 (counted from 0)" in message
    assert "drop those rows from y, X, both sides' scores and segments alike" in message


def test_infinite_scores_are_counted_apart(data: dict[str, np.ndarray]) -> None:
    scores = data["base"].copy()
    scores[[3, 7]] = [np.inf, np.nan]
    with pytest.raises(
        CheckInputError,
        match=r"2 non-finite values \(1 missing: NaN or NA; 1 infinite\) at positions 3, 7",
    ):
        _degradation(data, baseline_scores=scores).run()


def test_bias_missing_labels_say_drop_not_map(data: dict[str, np.ndarray]) -> None:
    labels = pd.array(np.where(np.arange(N) % 50 == 0, None, data["y"]), dtype="Int64")
    check = Bias(y_true=labels, y_pred=(data["cand"] > 0.5).astype(int), sensitive=data["group"])
    with pytest.raises(CheckInputError) as caught:
        check.run()
    message = str(caught.value)
    assert "y_true has 6 missing values (NaN, NA): drop the rows without a label" in message
    assert "drop the rows without a label from y_true, y_pred and sensitive alike" in message
    assert "missing at positions 0, 50, 100, 150, 200 and 1 more (counted from 0)" in message
    assert "map the labels" not in message


def test_bias_missing_predictions_as_objects(data: dict[str, np.ndarray]) -> None:
    predictions = [None if i == 4 else int(v) for i, v in enumerate(data["cand"] > 0.5)]
    check = Bias(y_true=data["y"], y_pred=predictions, sensitive=data["group"])
    with pytest.raises(
        CheckInputError, match=r"y_pred has 1 missing value \(NaN, NA\): .*missing at position 4 "
    ):
        check.run()


def test_bias_labels_other_than_zero_one_keep_their_message(data: dict[str, np.ndarray]) -> None:
    check = Bias(y_true=data["y"] * 2.0, y_pred=data["y"], sensitive=data["group"])
    with pytest.raises(CheckInputError, match="map the labels to 0/1"):
        check.run()


def test_bias_scores_with_nan_say_what_to_do(data: dict[str, np.ndarray]) -> None:
    scores = np.where(np.arange(N) % 50 == 0, np.nan, data["cand"])
    check = Bias(y_true=data["y"], y_pred=scores, sensitive=data["group"], threshold=0.5)
    with pytest.raises(CheckInputError) as caught:
        check.run()
    message = str(caught.value)
    assert (
        "y_pred (scores) has 6 non-finite values (missing: NaN or NA) at positions 0, 50" in message
    )
    assert "drop the rows without a score from y_true, y_pred and sensitive alike" in message


def test_bias_regression_targets_with_nan(data: dict[str, np.ndarray]) -> None:
    target = data["a"].copy()
    target[9] = np.nan
    check = Bias(
        y_true=target,
        y_pred=data["a"],
        sensitive=data["group"],
        task="regression",
        thresholds={"mean_prediction_difference": 1.0},
    )
    with pytest.raises(
        CheckInputError,
        match=r"y_true has 1 non-finite value .* at position 9 .*drop the rows without a target",
    ):
        check.run()


@pytest.mark.parametrize(
    ("labels", "others"),
    [
        (
            np.array(["yes", None, "no", "yes"] * 3, dtype=object),
            "9 other values such as ['no', 'yes']",
        ),
        (np.array([0.0, np.nan, 1.0, 2.0] * 3), "3 other values such as ['2']"),
    ],
)
def test_bias_missing_and_other_labels_in_one_message(labels: np.ndarray, others: str) -> None:
    # Only the missing values were named; once dropped, "map the labels to 0/1" came next.
    sensitive = np.array(["a", "b"] * 6)
    check = Bias(y_true=labels, y_pred=np.array([1, 0] * 6), sensitive=sensitive)
    with pytest.raises(CheckInputError) as caught:
        check.run()
    message = str(caught.value)
    assert "missing at positions 1, 5, 9 (counted from 0)" in message
    assert f"; and {others}: map them to 0/1 (positive = 1)" in message


def test_bias_takes_python_zero_one_labels_left_in_an_object_column() -> None:
    # Review 52m: after dropping the missing labels as told, an object Series of Python
    # 0/1 was refused ("got dtype object; map the labels to 0/1").
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 400).astype(object)
    labels[::37] = None
    y = pd.Series(labels, dtype=object)
    pred = pd.Series(rng.integers(0, 2, 400))
    group = pd.Series(rng.choice(["a", "b"], 400))
    keep = y.notna()
    as_objects = Bias(y_true=y[keep], y_pred=pred[keep], sensitive=group[keep]).run()
    as_ints = Bias(y_true=y[keep].astype(int), y_pred=pred[keep], sensitive=group[keep]).run()
    assert as_objects.status is not Status.ERROR, as_objects
    assert as_objects.to_dict() == as_ints.to_dict()
