"""OutcomeSource at the edges: an undefined metric or bound is missing, never a zero, and
the source's arguments are checked with ConfigError."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import OUTCOME_METRICS, NoData, OutcomeSource, Samples, WindowMetric


def _source(outputs: Sequence[float], truths: Sequence[float]) -> OutcomeSource:
    src = OutcomeSource(now=100.0)
    src.add_predictions(
        [
            {"request_id": f"r{i}", "timestamp": 50.0, "version": "canary", "output": output}
            for i, output in enumerate(outputs)
        ]
    )
    src.record_outcomes([f"r{i}" for i in range(len(truths))], truths, at=60.0)
    return src


def _rare_positive_ranked_first(n: int = 200) -> OutcomeSource:
    scores = np.linspace(0.01, 0.5, n)
    scores[0] = 0.99
    labels = np.zeros(n)
    labels[0] = 1
    return _source(scores.tolist(), labels.tolist())


# --- a bound that cannot be estimated is NaN, never clipped to 0 --------------------------


def test_the_auc_interval_with_a_single_positive_is_nan_not_zero() -> None:
    window = _rare_positive_ranked_first().evaluate(
        "roc_auc", version="canary", start=0.0, end=100.0
    )
    assert window.value == 1.0
    assert math.isnan(window.ci_low)
    assert math.isnan(window.ci_high)


def test_a_perfect_model_with_a_single_positive_is_not_rolled_back_on_its_auc_bound() -> None:
    src = _rare_positive_ranked_first()
    out = src.fetch("roc_auc", slot="canary", start=0.0, end=100.0, stat="p5")
    assert isinstance(out, NoData)
    assert "two positives and two negatives" in out.reason
    policy = ms.monitor.RollbackPolicy(conditions=["p5(roc_auc) < 0.7"])
    assert policy.evaluate(src, slot="canary", window=100.0, at=100.0).verdict == "no_data"


def test_the_rmse_bound_of_one_pair_is_nan_not_zero() -> None:
    src = _source([0.0], [10.0])
    window = src.evaluate("rmse", version="canary", start=0.0, end=100.0)
    assert window.value == 10.0
    assert math.isnan(window.ci_low)
    assert math.isnan(window.ci_high)
    out = src.fetch("rmse", slot="canary", start=0.0, end=100.0, stat="p95")
    assert isinstance(out, NoData)
    assert "undefined" in out.reason


# --- a zero denominator is undefined, never 0 ----------------------------------------------


@pytest.mark.parametrize(
    ("metric", "outputs", "truths", "why"),
    [
        ("recall", [0] * 100, [0] * 100, "no positive"),
        ("recall", [1, 0, 1], [0, 0, 0], "no positive"),
        ("precision", [0, 0, 0], [1, 0, 1], "predicted no positive"),
        ("f1", [0, 0], [0, 0], "no positive"),
        ("r2", [1.0, 2.0, 3.0], [5.0, 5.0, 5.0], "constant"),
    ],
)
def test_a_metric_with_a_zero_denominator_is_undefined_not_zero(
    metric: str, outputs: list[float], truths: list[float], why: str
) -> None:
    src = _source(outputs, truths)
    window = src.evaluate(metric, version="canary", start=0.0, end=100.0)
    assert math.isnan(window.value)
    assert window.n == len(truths)
    assert why in window.reason
    for stat in ("mean", "p5", "p95"):
        out = src.fetch(metric, slot="canary", start=0.0, end=100.0, stat=stat)
        assert isinstance(out, NoData)
        assert why in out.reason


def test_a_model_right_on_every_row_of_a_window_without_positives_is_not_rolled_back() -> None:
    src = _source([0] * 100, [0] * 100)
    policy = ms.monitor.RollbackPolicy(conditions=["recall < 0.5"])
    step = policy.tracker(started_at=0.0).update(
        policy.evaluate(src, slot="canary", window=100.0, at=100.0)
    )
    assert step.verdict == "no_data"
    assert step.action == "hold"


def test_recall_with_a_positive_in_the_window_is_still_measured() -> None:
    src = _source([0, 0, 1, 1], [1, 0, 1, 0])
    assert src.evaluate("recall", version="canary", start=0.0, end=100.0).value == 0.5


def _window(metric: str) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    kind = OUTCOME_METRICS[metric][0]
    truth = st.integers(0, 1).map(float) if kind != "regression" else st.sampled_from([0.0, 1.5])
    output = {
        "labels": st.integers(0, 1).map(float),
        "scores": st.floats(-3, 3),
        "probabilities": st.floats(0, 1),
        "regression": st.floats(-3, 3),
    }[kind]
    return st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(output, min_size=n, max_size=n), st.lists(truth, min_size=n, max_size=n)
        )
    )


@settings(max_examples=25, deadline=None)
@given(data=st.data(), metric=st.sampled_from(sorted(OUTCOME_METRICS)))
def test_a_fetch_answers_numbers_or_no_data_never_nan(metric: str, data: st.DataObject) -> None:
    outputs, truths = data.draw(_window(metric))
    src = _source(outputs, truths)
    for stat in ("mean", "p5", "p95", "p97.5", None):
        out = src.fetch(metric, slot="canary", start=0.0, end=100.0, stat=stat)
        assert isinstance(out, (Samples, NoData))
        if isinstance(out, Samples):
            assert not np.isnan(out.values).any()


# --- arguments are checked -----------------------------------------------------------------


def test_slots_that_are_not_a_mapping_of_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="slots"):
        OutcomeSource(slots=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argument", "value"),
    [("confidence", 1.5), ("confidence", 0.0), ("start", math.nan), ("end", math.inf)],
)
def test_evaluate_refuses_a_bad_level_or_window(argument: str, value: float) -> None:
    src = _source([1], [1])
    window = {"start": 0.0, "end": 100.0, argument: value}
    with pytest.raises(ConfigError, match=argument):
        src.evaluate("accuracy", version="canary", **window)  # type: ignore[arg-type]


def test_evaluate_refuses_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ConfigError, match="after end"):
        _source([1], [1]).evaluate("accuracy", version="canary", start=100.0, end=0.0)


def test_a_window_metric_read_back_from_an_incomplete_document_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="window metric"):
        WindowMetric.from_dict({})


def test_a_window_metric_with_an_unknown_key_is_refused() -> None:
    window = _source([1, 0], [1, 1]).evaluate("accuracy", version="canary", start=0, end=100)
    with pytest.raises(ConfigError, match="unknown key"):
        WindowMetric.from_dict({**window.to_dict(), "colour": "red"})


def test_a_window_metric_with_nan_round_trips() -> None:
    window = _source([0, 0], [0, 0]).evaluate("recall", version="canary", start=0, end=100)
    again = WindowMetric.from_dict(window.to_dict())
    assert again.reason == window.reason
    assert math.isnan(again.value)
    assert again.n == window.n
