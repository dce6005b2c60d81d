"""A prediction profile describes one method's answers, stated by the user; feature drift
counts a request row once however many methods answered it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DriftProfile
from modelship.errors import ConfigError
from modelship.monitor import DriftSource, NoData, Samples

RNG = np.random.default_rng(7)
TRAIN_LABELS = (RNG.random(4000) < 0.3).astype(float)  # predict of float targets: 0.0/1.0
TRAIN_P1 = RNG.beta(2.0, 5.0, size=4000)


def answered(n: int, t0: float, method: str | None, prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        label = float(RNG.random() < 0.3)
        p1 = float(RNG.beta(2.0, 5.0))
        row: dict[str, Any] = {
            "request_id": f"{prefix}{i}",
            "row": 0,
            "timestamp": t0 + i * 0.01,
            "version": "3",
            "output": [1.0 - p1, p1] if method == "predict_proba" else label,
        }
        if method is not None:
            row["method"] = method
        out.append(row)
    return out


def label_source(*batches: list[dict[str, Any]]) -> DriftSource:
    src = DriftSource(slots={"green": "3"}, now=10_000.0)
    src.set_profiles("3", predictions=ms.monitor.prediction_profile(TRAIN_LABELS))
    for batch in batches:
        src.add_predictions(batch)
    return src


def test_one_predict_proba_answer_earlier_does_not_make_predict_windows_no_data() -> None:
    src = label_source(
        answered(500, 9_000.0, "predict", "q"), answered(1, 5_000.0, "predict_proba", "dbg")
    )

    drift = src.fetch("prediction_drift", slot="green", start=8_000.0, end=10_000.0)

    assert isinstance(drift, Samples)
    assert drift.count == 500


def test_a_window_mixing_methods_compares_a_predict_profile_with_predict_answers_only() -> None:
    src = label_source(
        answered(500, 9_000.0, "predict", "q"), answered(500, 9_100.0, "predict_proba", "p")
    )

    drift = src.fetch("prediction_drift", slot="green", start=8_000.0, end=10_000.0)

    assert isinstance(drift, Samples)
    assert drift.count == 500
    assert drift.values.tolist() == [0.0]


def test_a_predict_proba_profile_is_compared_with_p1_only_in_a_mixed_window() -> None:
    src = DriftSource(slots={"green": "3"}, now=10_000.0)
    profile = ms.monitor.prediction_profile(TRAIN_P1)
    src.set_profiles("3", predictions=profile, answers="predict_proba")
    src.add_predictions(answered(500, 9_000.0, "predict", "q"))
    src.add_predictions(answered(400, 9_100.0, "predict_proba", "p"))

    drift = src.fetch("prediction_drift", slot="green", start=8_000.0, end=10_000.0)

    assert isinstance(drift, Samples)
    assert drift.count == 400
    assert drift.values.tolist() == [0.0]


def v2_rows(n: int) -> list[dict[str, Any]]:
    """Rows as the server logs a v2 request naming no outputs: predict's label as output,
    and every method's answer in outputs."""
    out = []
    for i in range(n):
        p1 = float(RNG.beta(2.0, 5.0))
        out.append(
            {
                "request_id": f"v{i}",
                "row": 0,
                "timestamp": 50.0,
                "version": "3",
                "method": "predict",
                "output": int(p1 > 0.5),
                "outputs": {"predict": int(p1 > 0.5), "predict_proba": [1.0 - p1, p1]},
            }
        )
    return out


def test_v2_rows_answer_predict_proba_from_their_outputs() -> None:
    src = DriftSource(slots={"green": "3"}, now=100.0)
    profile = ms.monitor.prediction_profile(TRAIN_P1)
    src.set_profiles("3", predictions=profile, answers="predict_proba")
    src.add_predictions(v2_rows(300))

    drift = src.fetch("prediction_drift", slot="green", start=0.0, end=100.0)

    assert isinstance(drift, Samples)
    assert drift.count == 300


def test_a_numeric_predict_profile_against_labels_is_no_data_naming_answers() -> None:
    src = DriftSource(slots={"green": "3"}, now=100.0)
    src.set_profiles("3", predictions=ms.monitor.prediction_profile(TRAIN_P1))
    src.add_predictions(v2_rows(300))

    drift = src.fetch("prediction_drift", slot="green", start=0.0, end=100.0)

    assert isinstance(drift, NoData)
    assert "answers='predict_proba'" in drift.reason


def test_an_unknown_answers_method_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"answers='decision_function'.*predict_proba"):
        DriftSource(now=0.0).set_profiles(
            "3", predictions=ms.monitor.prediction_profile(TRAIN_P1), answers="decision_function"
        )


def test_feature_drift_counts_a_request_row_answered_by_two_methods_once() -> None:
    reference = {"amount": RNG.gamma(2.0, 10.0, 3000)}
    src = DriftSource(slots={"green": "3"}, now=100.0)
    src.set_profiles("3", features=DriftProfile.from_data(reference))
    live = RNG.gamma(2.0, 10.0, 400).tolist()
    for method, output in (("predict", 1), ("predict_proba", [0.4, 0.6])):
        src.add_predictions(
            [
                {
                    "request_id": f"q{i}",
                    "row": 0,
                    "timestamp": 50.0,
                    "version": "3",
                    "method": method,
                    "inputs": [x],
                    "output": output,
                }
                for i, x in enumerate(live)
            ]
        )

    drift = src.fetch("feature_drift", slot="green", start=0.0, end=100.0)

    assert isinstance(drift, Samples)
    assert drift.count == 400
