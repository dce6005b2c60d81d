"""Review 38: DriftSource reads nulls as missing, a quiet window is no data, feature_names
names every profiled column once, and fetch answers (never raises) for bad logged values."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DriftProfile, Status
from modelship.errors import ConfigError
from modelship.monitor import DriftSource, NoData, Samples, SourceError

ROWS = 200
NULLS = 20  # every tenth row


def _with_nulls(values: Sequence[Any]) -> list[Any]:
    """``ROWS`` logged values: every tenth null, the others ``values`` in order."""
    present = iter(values)
    return [None if i % 10 == 0 else next(present) for i in range(ROWS)]


def _log(version: str, inputs: Sequence[Any], outputs: Sequence[Any], **extra: Any) -> list[Any]:
    return [
        {
            "request_id": f"{version}-{i}",
            "row": 0,
            "timestamp": 50.0,
            "version": version,
            "method": "predict",
            "inputs": x,
            "output": y,
            **extra,
        }
        for i, (x, y) in enumerate(zip(inputs, outputs, strict=True))
    ]


# Each kind of column: its reference, and ROWS - NULLS window values of the same distribution.
FEATURES: dict[str, tuple[list[Any], list[Any]]] = {
    "text": (["a", "b"] * 300, ["a", "b"] * ((ROWS - NULLS) // 2)),
    "bool": ([True, False] * 300, [True, False] * ((ROWS - NULLS) // 2)),
    "numeric": (np.linspace(0.0, 1.0, 600).tolist(), np.linspace(0.0, 1.0, ROWS - NULLS).tolist()),
}


@pytest.mark.parametrize("kind", sorted(FEATURES))
def test_null_inputs_are_missing_not_a_category_or_a_number(kind: str) -> None:
    reference, window = FEATURES[kind]
    src = DriftSource(now=100.0)
    src.set_profiles("1", features=DriftProfile.from_data({"f": np.asarray(reference)}))
    full = (window * 2)[:ROWS]  # the same distribution, no null
    src.add_predictions(_log("1", [[v] for v in full], [0.5] * ROWS))
    src.add_predictions(
        [
            {**row, "timestamp": 150.0}
            for row in _log("1", [[v] for v in _with_nulls(window)], [0.5] * ROWS, row=1)
        ]
    )

    clean = src.check("features", version="1", start=0.0, end=100.0)
    assert clean is not None
    assert clean.columns["f"].status is Status.PASS

    nulls = src.check("features", version="1", start=100.0, end=200.0)
    assert nulls is not None
    column = nulls.columns["f"]
    assert column.drifted is False, column.reason
    assert column.details.get("unseen_categories") is None
    assert column.details["missing_rate"] == [0.0, NULLS / ROWS]
    # Only the missing rate warns: it went from none to a tenth.
    assert column.status is Status.WARN
    assert re.search(r"; missing rate 0\.0% -> 10\.0% \(p=[-+.e0-9]+\)$", column.reason)
    drift = src.fetch("feature_drift", slot="1", start=100.0, end=200.0)
    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]


PREDICTIONS: dict[str, tuple[list[Any], list[Any]]] = {
    "text": (["yes", "no"] * 300, ["yes", "no"] * ((ROWS - NULLS) // 2)),
    "bool": ([True, False] * 300, [True, False] * ((ROWS - NULLS) // 2)),
    "integer": ([0, 1] * 300, [0, 1] * ((ROWS - NULLS) // 2)),
    "numeric": (np.linspace(0.0, 1.0, 600).tolist(), np.linspace(0.0, 1.0, ROWS - NULLS).tolist()),
}


@pytest.mark.parametrize("kind", sorted(PREDICTIONS))
def test_null_predictions_are_counted_as_missing(kind: str) -> None:
    reference, window = PREDICTIONS[kind]
    src = DriftSource(now=100.0)
    src.set_profiles("1", predictions=ms.monitor.prediction_profile(np.asarray(reference)))
    src.add_predictions(_log("1", [None] * ROWS, _with_nulls(window)))

    result = src.check("predictions", version="1", start=0.0, end=100.0)
    assert result is not None
    column = result.columns["prediction"]
    assert column.drifted is False, column.reason
    assert column.details.get("unseen_categories") is None
    assert column.details["missing_rate"] == [0.0, NULLS / ROWS]
    drift = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(drift, Samples)
    assert (drift.values.tolist(), drift.count, drift.dropped) == ([0.0], ROWS - NULLS, NULLS)


@pytest.mark.parametrize("outputs_field", [False, True], ids=["output", "outputs"])
def test_a_null_predict_proba_answer_is_missing_for_a_profile_of_several_columns(
    outputs_field: bool,
) -> None:
    p1 = np.linspace(0.0, 1.0, 600)
    src = DriftSource(now=100.0)
    src.set_profiles("1", predictions=DriftProfile.from_data(np.column_stack([1 - p1, p1])))
    answers = [[1 - q, q] for q in np.linspace(0.0, 1.0, ROWS - NULLS).tolist()]
    rows = _log("1", [None] * ROWS, _with_nulls(answers), method="predict_proba")
    if outputs_field:  # a row answered by several methods carries each in outputs
        rows = [
            {**row, "method": "predict", "output": 1, "outputs": {"predict_proba": row["output"]}}
            for row in rows
        ]
    src.add_predictions(rows)

    drift = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(drift, Samples), drift
    assert (drift.values.tolist(), drift.count, drift.dropped) == ([0.0], ROWS - NULLS, NULLS)


def test_a_null_predict_proba_answer_is_missing_for_a_profile_of_p1() -> None:
    src = DriftSource(now=100.0)
    src.set_profiles(
        "1",
        predictions=ms.monitor.prediction_profile(np.linspace(0.0, 1.0, 600)),
        answers="predict_proba",
    )
    answers = [[1 - q, q] for q in np.linspace(0.0, 1.0, ROWS - NULLS).tolist()]
    src.add_predictions(_log("1", [None] * ROWS, _with_nulls(answers), method="predict_proba"))

    drift = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(drift, Samples), drift
    assert (drift.values.tolist(), drift.count, drift.dropped) == ([0.0], ROWS - NULLS, NULLS)


# --- a quiet window -------------------------------------------------------------------------


def _quiet_source(inputs: Sequence[Any], outputs: Sequence[Any]) -> DriftSource:
    src = DriftSource(now=100.0)
    train = np.column_stack([np.linspace(0.0, 1.0, 500), np.linspace(5.0, 6.0, 500)])
    src.set_profiles(
        "1",
        features=DriftProfile.from_data(train),
        predictions=ms.monitor.prediction_profile(np.linspace(0.0, 1.0, 500)),
    )
    src.add_predictions(_log("1", inputs, outputs))
    return src


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [
        ([[0.1, 5.1], [0.5, 5.5], [0.9, 5.9]], [0.1, 0.5, 0.9]),  # three rows
        # eight rows (more than min_values), four values in each column: half missing,
        # not above max_missing_rate
        ([[0.2, 5.2]] * 4 + [[None, None]] * 4, [0.2] * 4 + [None] * 4),
    ],
    ids=["few-rows", "few-values"],
)
def test_a_quiet_window_is_no_data_not_a_source_error(
    inputs: list[list[float | None]], outputs: list[float | None]
) -> None:
    src = _quiet_source(inputs, outputs)
    for metric in ("feature_drift", "prediction_drift"):
        answer = src.fetch(metric, slot="1", start=0.0, end=100.0)
        assert isinstance(answer, NoData), answer
        assert f"of {len(inputs)} logged row(s)" in answer.reason
        assert "too few values to judge" in answer.reason

    policy = ms.monitor.RollbackPolicy(conditions=["mean(feature_drift) > 0.5 min_samples=100"])
    decision = policy.evaluate(src, slot="1", window=100.0, at=100.0)
    assert [c.verdict for c in decision.conditions] == ["no_data"]
    tracker = policy.tracker(started_at=0.0)
    steps = [tracker.update(decision) for _ in range(6)]  # more than error_limit
    assert [s.counted_as for s in steps] == ["no_data"] * 6
    assert all(s.action == "hold" for s in steps)


def test_a_window_without_rows_is_no_data_too() -> None:
    src = _quiet_source([[0.1, 5.1]], [0.1])
    answer = src.fetch("feature_drift", slot="1", start=200.0, end=300.0)
    assert isinstance(answer, NoData)
    assert answer.reason == "no logged rows of version 1 in (200, 300]"


def test_a_window_with_values_that_cannot_be_tested_is_still_a_source_error() -> None:
    # Constant in the reference and in the window: enough values, none testable.
    src = DriftSource(now=100.0)
    src.set_profiles("1", features=DriftProfile.from_data({"c": np.full(100, 3.0)}))
    src.add_predictions(_log("1", [[3.0]] * 20, [0.5] * 20))
    answer = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(answer, SourceError)
    assert answer.error_type == "drift_check"
    assert "constant (3) in both samples" in answer.message


# --- feature_names ---------------------------------------------------------------------------


def _abc() -> DriftProfile:
    return DriftProfile.from_data(
        {
            "a": np.linspace(0.0, 1.0, 300),
            "b": np.linspace(10.0, 11.0, 300),
            "c": np.linspace(20.0, 21.0, 300),
        }
    )


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["a", "b"], r"feature_names lacks the profile's column\(s\) \['c'\]"),
        (["a", "a", "b"], r"feature_names names \['a'\] more than once"),
        (["a", "b", "c", "c"], r"feature_names names \['c'\] more than once"),
        ("abc", "give a list of column names"),
        (["a", 2, "c"], "holds 2, not a column name"),
    ],
)
def test_feature_names_must_name_each_profiled_column_once(names: Any, match: str) -> None:
    src = DriftSource(now=100.0)
    with pytest.raises(ConfigError, match=match):
        src.set_profiles("1", features=_abc(), feature_names=names)


def test_feature_names_in_another_order_read_the_inputs_in_that_order() -> None:
    src = DriftSource(now=100.0)
    # Any iterable of names, as a data frame's columns are.
    src.set_profiles("1", features=_abc(), feature_names=np.array(["c", "a", "b"]))
    inputs = [[20.0 + t, t, 10.0 + t] for t in np.linspace(0.0, 1.0, 100).tolist()]
    src.add_predictions(_log("1", inputs, [0.5] * 100))
    drift = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]


def test_feature_names_may_name_a_column_the_profile_left_out() -> None:
    data = {"a": np.linspace(0.0, 1.0, 300), "id": np.arange(300).astype(str)}
    src = DriftSource(now=100.0)
    src.set_profiles(
        "1", features=DriftProfile.from_data(data, exclude=["id"]), feature_names=["id", "a"]
    )
    inputs = [[str(i), t] for i, t in enumerate(np.linspace(0.0, 1.0, 100).tolist())]
    src.add_predictions(_log("1", inputs, [0.5] * 100))
    drift = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ([["a", "b"], "a"], "holds values of type list"),  # lists of different lengths
        ([["a", "b"], ["c", "d"]], "holds values of type list"),  # lists of one length
        ([{"k": 1}, "a"], "holds values of type dict"),
    ],
    ids=["ragged-lists", "lists", "dicts"],
)
def test_fetch_answers_a_source_error_for_logged_values_it_cannot_compare(
    values: list[Any], shown: str
) -> None:
    src = DriftSource(now=100.0)
    src.set_profiles(
        "1", features=DriftProfile.from_data({"s": np.array(["a", "b"] * 50), "x": np.ones(100)})
    )
    src.add_predictions(_log("1", [[values[i % 2], 1.0] for i in range(40)], [0.5] * 40))
    answer = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(answer, SourceError), answer
    assert answer.error_type == "drift_data"
    assert answer.message.startswith("version 1, (0, 100]: current: column 's' " + shown)


# --- second look: a column the check fails for its missing values is drifted ----------------


def _two_features(inputs: Sequence[Any], outputs: Sequence[Any]) -> DriftSource:
    """A source for version 1 with features age (numeric) and plan (text) and a profile
    of numeric predictions, holding the rows ``inputs``/``outputs`` at t=50."""
    rng = np.random.default_rng(0)
    src = DriftSource(now=1000.0)
    src.set_profiles(
        "1",
        features=DriftProfile.from_data(
            {"age": rng.normal(40.0, 10.0, 2000), "plan": rng.choice(["a", "b"], 2000)}
        ),
        predictions=ms.monitor.prediction_profile(rng.random(2000)),
    )
    src.add_predictions(_log("1", inputs, outputs))
    return src


@pytest.mark.parametrize("broken", ["age", "plan"])
def test_a_mostly_null_feature_counts_as_drifted_as_the_check_fails_it(broken: str) -> None:
    # An upstream bug: three rows in five arrive with the feature null. The values left
    # match the reference, so the test alone finds no drift; feature_drift read 0 (and
    # the column its small statistic) while the check failed it for max_missing_rate.
    rng = np.random.default_rng(1)
    ages, plans = rng.normal(40.0, 10.0, 500).tolist(), rng.choice(["a", "b"], 500).tolist()
    gone = [i % 5 < 3 for i in range(500)]
    inputs = [
        [
            None if broken == "age" and gone[i] else ages[i],
            None if broken == "plan" and gone[i] else plans[i],
        ]
        for i in range(500)
    ]
    src = _two_features(inputs, rng.random(500).tolist())

    result = src.check("features", version="1", start=0.0, end=100.0)
    assert result is not None
    assert result.status is Status.FAIL
    assert result.details["missing_rate_columns"] == [broken]
    share = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(share, Samples), share
    assert (share.values.tolist(), share.count) == ([0.5], 500)  # 1 of 2 columns
    column = src.fetch(f"feature_drift:{broken}", slot="1", start=0.0, end=100.0)
    assert isinstance(column, Samples), column
    assert column.values.tolist() == [math.inf]
    other = "plan" if broken == "age" else "age"
    fine = src.fetch(f"feature_drift:{other}", slot="1", start=0.0, end=100.0)
    assert isinstance(fine, Samples)
    assert fine.values.tolist() == [result.columns[other].statistic]

    for condition in ("feature_drift > 0.3 min_samples=200", f"feature_drift:{broken} > 0.3"):
        policy = ms.monitor.RollbackPolicy(conditions=[condition])
        decision = policy.evaluate(src, slot="1", window=1000.0, at=1000.0)
        assert decision.verdict == "fail", (condition, decision)


def test_a_window_of_null_features_and_answers_fails_and_is_no_quiet_window() -> None:
    # A total logging outage: 500 rows, every feature and every answer null. It read
    # no_data ("too few values to judge") while check() failed it.
    src = _two_features([[None, None]] * 500, [None] * 500)
    for kind in ("features", "predictions"):
        result = src.check(kind, version="1", start=0.0, end=100.0)
        assert result is not None
        assert result.status is Status.FAIL, result.reason
        assert "above max_missing_rate" in result.reason

    features = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(features, Samples), features
    assert (features.values.tolist(), features.count) == ([1.0], 500)
    for name in ("age", "plan"):
        column = src.fetch(f"feature_drift:{name}", slot="1", start=0.0, end=100.0)
        assert isinstance(column, Samples), column
        assert column.values.tolist() == [math.inf]
    answers = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(answers, Samples), answers
    # Null predictions are no sample of the model's output: dropped, not counted.
    assert (answers.values.tolist(), answers.count, answers.dropped) == ([1.0], 0, 500)

    policy = ms.monitor.RollbackPolicy(conditions=["feature_drift > 0.3 min_samples=200"])
    assert policy.evaluate(src, slot="1", window=1000.0, at=1000.0).verdict == "fail"


def test_a_window_of_null_features_with_answers_present_fails_its_features_only() -> None:
    rng = np.random.default_rng(2)
    src = _two_features([[None, None]] * 500, rng.random(500).tolist())
    features = src.fetch("feature_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(features, Samples), features
    assert features.values.tolist() == [1.0]
    answers = src.fetch("prediction_drift", slot="1", start=0.0, end=100.0)
    assert isinstance(answers, Samples), answers
    assert answers.values.tolist() == [0.0]


def test_fewer_rows_than_min_values_all_null_are_still_a_quiet_window() -> None:
    # Three rows cannot say a feature is broken: no data, as a window without rows.
    src = _two_features([[None, None]] * 3, [None] * 3)
    for metric in ("feature_drift", "prediction_drift", "feature_drift:age"):
        answer = src.fetch(metric, slot="1", start=0.0, end=100.0)
        assert isinstance(answer, NoData), (metric, answer)
        assert "of 3 logged row(s) (fewer rows than min_values=5)" in answer.reason
