"""DriftSource compares a prediction profile with the answers of its kind (review fixes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.monitor import DriftSource, NoData, RollbackPolicy, Samples

RNG = np.random.default_rng(0)
TRAIN_P1 = RNG.beta(2.0, 5.0, size=4000)
LIVE_P1 = RNG.beta(2.0, 5.0, size=500)  # the same distribution: no drift


def rows(outputs: list[Any], method: str | None) -> list[dict[str, Any]]:
    out = []
    for i, output in enumerate(outputs):
        row = {"request_id": f"{method}{i}", "row": 0, "timestamp": 100.0 + i * 0.1,
               "version": "3", "output": output}  # fmt: skip
        if method is not None:
            row["method"] = method
        out.append(row)
    return out


def proba_answers() -> list[list[float]]:
    return [[1.0 - p, p] for p in LIVE_P1.tolist()]


def label_answers() -> list[int]:
    return [int(p > 0.5) for p in LIVE_P1.tolist()]


def source(*batches: list[dict[str, Any]], answers: str = "predict_proba") -> DriftSource:
    src = DriftSource(slots={"canary": "3"}, now=1000.0)
    src.set_profiles("3", predictions=ms.monitor.prediction_profile(TRAIN_P1), answers=answers)
    for batch in batches:
        src.add_predictions(batch)
    return src


@pytest.mark.parametrize("method", ["predict_proba", None])
def test_a_probability_profile_is_compared_with_p1_of_predict_proba_answers(
    method: str | None,
) -> None:
    src = source(rows(proba_answers(), method))

    drift = src.fetch("prediction_drift", slot="canary", start=0.0, end=1000.0)

    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]
    assert drift.count == 500


@pytest.mark.parametrize("method", ["predict", None])
def test_labels_against_a_probability_profile_are_no_data_saying_why_never_drift(
    method: str | None,
) -> None:
    src = source(rows(label_answers(), method), answers="predict")

    drift = src.fetch("prediction_drift", slot="canary", start=0.0, end=1000.0)
    decision = RollbackPolicy(conditions=["prediction_drift > 0.5"]).evaluate(
        src, slot="canary", window=1000.0
    )

    assert isinstance(drift, NoData)
    assert "label" in drift.reason
    assert "predict_proba" in drift.reason
    assert decision.verdict == "no_data"


def test_a_log_mixing_labels_and_pairs_compares_only_the_pairs_with_a_probability_profile() -> None:
    src = source(rows(label_answers(), "predict"), rows(proba_answers(), "predict_proba"))

    drift = src.fetch("prediction_drift", slot="canary", start=0.0, end=1000.0)

    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]
    assert drift.count == 500


def test_a_label_profile_is_compared_with_labels_not_probabilities() -> None:
    src = DriftSource(slots={"canary": "3"}, now=1000.0)
    train_labels = (TRAIN_P1 > 0.5).astype(int)
    src.set_profiles("3", predictions=ms.monitor.prediction_profile(train_labels))
    src.add_predictions(rows(label_answers(), "predict"))
    src.add_predictions(rows(proba_answers(), "predict_proba"))

    drift = src.fetch("prediction_drift", slot="canary", start=0.0, end=1000.0)

    assert isinstance(drift, Samples)
    assert drift.values.tolist() == [0.0]
    assert drift.count == 500


def test_the_same_request_id_answered_by_two_versions_is_two_rows() -> None:
    src = DriftSource(now=1000.0)
    first = rows(proba_answers(), "predict_proba")
    other = [{**row, "version": "4"} for row in first]

    assert src.add_predictions(first) == 500
    assert src.add_predictions(other) == 500
