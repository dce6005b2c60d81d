"""Review 48, bias and degradation: a figure exactly at its performance budget keeps it,
failures are named beside errors, and group keys that read alike are refused."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from modelship.checks import Bias, Degradation
from modelship.checks._degradation import _exceeded
from modelship.checks._result import Status
from modelship.errors import CheckInputError


class _Padded:
    """A model whose pickle is as long as its padding makes it."""

    def __init__(self, pad: bytes) -> None:
        self.pad = pad

    def predict(self, x: Any) -> npt.NDArray[np.int64]:
        return np.zeros(len(x), dtype=np.int64)


def _pickled_to(size: int) -> _Padded:
    for k in range(400):
        model = _Padded(b"x" * k)
        if len(pickle.dumps(model)) == size:
            return model
    raise AssertionError(f"no padding pickles to {size} bytes")


def _size_check(candidate_size: int) -> Degradation:
    rng = np.random.default_rng(0)
    return Degradation(
        candidate=_pickled_to(candidate_size),
        baseline=_pickled_to(100),
        X=rng.normal(size=(200, 2)),
        y=rng.integers(0, 2, 200),
        metrics=["accuracy"],
        size_budget=1.15,
        n_batches=2,
        n_resamples=50,
    )


def test_artifact_exactly_at_its_size_budget_keeps_it() -> None:
    result = _size_check(115).run()
    assert result.performance is not None
    assert result.performance.candidate["size_bytes"] == 115
    assert result.performance.exceeded == {}


def test_artifact_over_its_size_budget_shows_the_limit_without_float_noise() -> None:
    result = _size_check(116).run()
    assert result.performance is not None
    said = result.performance.exceeded["size_ratio"]
    assert said == "artifact size 116 > 115 (1.15 x baseline 100)"


@pytest.mark.parametrize(
    ("key", "figure"),
    [
        ("latency_p95_ratio", "p95_ms"),
        ("size_ratio", "size_bytes"),
        ("peak_memory_ratio", "peak_memory_bytes"),
    ],
)
@pytest.mark.parametrize(("factor", "base"), [(1.15, 100.0), (1.1, 3.0), (0.7, 10.0)])
def test_every_factor_budget_holds_a_figure_exactly_at_it(
    key: str, figure: str, factor: float, base: float
) -> None:
    exact = round(factor * base, 9)  # what the budget reads: 115, 3.3, 7
    assert _exceeded({key: factor}, {figure: exact}, {figure: base}) == {}
    # Within rounding of it too: a latency computed as 3.3000000000000003.
    assert _exceeded({key: factor}, {figure: factor * base}, {figure: base}) == {}
    assert key in _exceeded({key: factor}, {figure: exact * 1.001}, {figure: base})


def test_absolute_budget_holds_a_figure_within_rounding_of_it() -> None:
    computed = 0.1 + 0.2  # 0.30000000000000004 ms
    assert _exceeded({"latency_p95_ms": 0.3}, {"p95_ms": computed}, {"p95_ms": 1.0}) == {}
    said = _exceeded({"latency_p95_ms": 0.3}, {"p95_ms": 0.31}, {"p95_ms": 1.0})
    assert said == {"latency_p95_ms": "p95 latency (ms) 0.31 > 0.3"}


def _bias_with_error_and_failures(**kwargs: Any) -> Bias:
    g = np.array(["A"] * 200 + ["B"] * 200)
    y = np.r_[np.ones(200, int), np.zeros(100, int), np.ones(100, int)]  # A: no negatives
    pred = np.r_[np.ones(200, int), np.zeros(200, int)]
    return Bias(
        y_true=y,
        y_pred=pred,
        sensitive={"g": g},
        n_resamples=50,
        **kwargs,
    )


def test_bias_error_names_the_failing_disparities_too() -> None:
    result = _bias_with_error_and_failures(
        thresholds={
            "demographic_parity_difference": 0.1,
            "equalized_odds_difference": 0.1,
            "demographic_parity_ratio": 0.8,
        }
    ).run()
    assert result.status is Status.ERROR
    errors, _, failing = result.reason.partition("; also failing: ")
    assert errors.startswith("equalized_odds_difference: ")
    assert failing.startswith("disparities over their thresholds: ")
    for name in ("demographic_parity_difference", "demographic_parity_ratio"):
        assert name in failing


def test_bias_reason_with_many_errors_and_failures_stays_bounded() -> None:
    groups = 400
    g = np.repeat([f"group-{i:04d}" for i in range(groups)], 30)
    y = np.ones(groups * 30, int)
    y[:30] = 0  # only the first group has negatives: its TPR and the others' FPR undefined
    pred = np.r_[np.zeros(30, int), np.ones((groups - 1) * 30, int)]
    result = Bias(
        y_true=y,
        y_pred=pred,
        sensitive={"g": g},
        thresholds=dict.fromkeys(("demographic_parity_difference",), 0.1)
        | {"equalized_odds_difference": 0.1, "predictive_parity_difference": 0.1},
        n_resamples=20,
    ).run()
    assert result.status is Status.ERROR
    assert "also failing: " in result.reason
    assert "and 394 more (no negatives there)" in result.reason
    assert len(result.reason) < 1500, result.reason


def test_degradation_error_names_the_worse_metrics_too() -> None:
    rng = np.random.default_rng(0)
    y = np.ones(500, int)  # one class: roc_auc cannot be computed
    base = np.full(500, 0.9)
    cand = np.where(rng.random(500) < 0.5, 0.9, 0.1)
    result = Degradation(
        y=y,
        candidate_scores=cand,
        baseline_scores=base,
        metrics=["accuracy", "roc_auc", "f1"],
        task="classification",
        n_resamples=100,
    ).run()
    assert result.status is Status.ERROR
    errors, _, failing = result.reason.partition("; also failing: ")
    assert errors.startswith("roc_auc could not be computed")
    assert failing == "candidate is worse: accuracy: worse; f1: worse"


def test_degradation_error_alone_says_nothing_of_failures() -> None:
    y = np.ones(200, int)
    scores = np.full(200, 0.9)
    result = Degradation(
        y=y,
        candidate_scores=scores,
        baseline_scores=scores,
        metrics=["accuracy", "roc_auc"],
        task="classification",
        inconclusive="pass",
        n_resamples=50,
    ).run()
    assert result.status is Status.ERROR
    assert "also failing" not in result.reason


def _two_features(a: list[str], b: list[str], **kwargs: Any) -> Bias:
    n = 40
    rng = np.random.default_rng(0)
    rows = len(a) * n
    return Bias(
        y_true=rng.integers(0, 2, rows),
        y_pred=rng.integers(0, 2, rows),
        sensitive={"a": np.repeat(a, n), "b": np.repeat(b, n)},
        n_resamples=20,
        **kwargs,
    )


def test_two_intersections_that_read_alike_are_refused() -> None:
    check = _two_features(["x", "x&b=y"], ["y&b=z", "z"])
    with pytest.raises(CheckInputError) as raised:
        check.run()
    message = str(raised.value)
    assert "'a=x&b=y&b=z'" in message
    assert "(a='x', b='y&b=z')" in message
    assert "(a='x&b=y', b='z')" in message
    assert "rename the values" in message


def test_a_value_that_reads_as_an_intersection_is_refused() -> None:
    # a="x&b=y" alone and the intersection a="x", b="y" are both "a=x&b=y".
    check = _two_features(["x", "x&b=y", "x", "w"], ["y", "z", "z", "y"])
    with pytest.raises(CheckInputError, match=r"one key 'a=x&b=y'.*intersections=False"):
        check.run()
    # Without the intersection, the keys are those of single features: no clash.
    result = _two_features(
        ["x", "x&b=y", "x", "w"], ["y", "z", "z", "y"], intersections=False
    ).run()
    assert "a=x&b=y" in result.groups
    assert result.groups["a=x&b=y"].count == 40


def test_values_holding_ampersands_that_clash_with_nothing_keep_their_keys() -> None:
    result = _two_features(["R&D", "Sales", "R&D", "Sales"], ["F", "F", "M", "M"]).run()
    assert {"a=R&D", "a=Sales", "a=R&D&b=F", "a=R&D&b=M", "a=Sales&b=F"} <= set(result.groups)
    assert result.groups["a=R&D"].count == 80
    assert result.groups["a=R&D&b=F"].count == 40
