"""Degradation defects found in review: infinite metrics, offsets, confidence, callables."""

from __future__ import annotations

import fractions
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelship.checks import Degradation, Verdict
from modelship.checks.stats import _metrics as sm
from modelship.errors import CheckInputError, ConfigError


def unclipped_log_loss(y_true: np.ndarray, p: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))


def probabilities(n: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    base = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.01, 0.99)
    cand = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.1, n), 0.01, 0.99)
    return y, cand, base


def test_a_candidate_metric_that_is_infinite_on_the_holdout_is_an_error_naming_it() -> None:
    y, cand, base = probabilities()
    cand[int(np.flatnonzero(y == 1)[0])] = 0.0  # one certain mistake: log loss +inf
    result = Degradation(
        y=y,
        candidate_scores=cand,
        baseline_scores=base,
        metrics={"logloss": unclipped_log_loss},
        lower_is_better={"logloss"},
    ).run()
    m = result.metrics["logloss"]
    assert result.status.value == "error"
    assert m.verdict is None
    assert "logloss" in m.reason
    assert "inf for the candidate" in m.reason


def test_a_baseline_metric_that_is_nan_on_the_holdout_is_an_error_naming_the_baseline() -> None:
    y, cand, base = probabilities(300)

    def nan_for_baseline(y_true: np.ndarray, p: np.ndarray) -> float:
        return math.nan if p is base or np.array_equal(p, base) else float(p.mean())

    with pytest.raises(CheckInputError, match="nan for the baseline"):
        sm.paired_bootstrap(y, cand, base, nan_for_baseline, n_resamples=10)


def rare_row_metric(special: float) -> Callable[[np.ndarray, np.ndarray], float]:
    """1 / (rows predicted exactly ``special``): infinite on a resample that misses them."""

    def metric(y_true: np.ndarray, p: np.ndarray) -> float:
        k = int(np.count_nonzero(p == special))
        return 1.0 / k if k else math.inf

    return metric


def test_infinite_resampled_differences_are_kept_as_extreme_values() -> None:
    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 2, n)
    cand = rng.random(n)
    cand[0] = 7.0  # one row: about 37 % of resamples miss it, and the candidate is inf there
    base = np.full(n, 7.0)
    result = sm.paired_bootstrap(y, cand, base, rare_row_metric(7.0), n_resamples=300)
    assert result.n_undefined == 0
    assert result.ci_high == math.inf
    assert math.isfinite(result.ci_low)


def test_a_check_with_infinite_resamples_is_not_judged_not_worse() -> None:
    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 2, n)
    cand = rng.random(n)
    cand[0] = 7.0
    base = np.full(n, 7.0)
    m = (
        Degradation(
            y=y,
            candidate_scores=cand,
            baseline_scores=base,
            metrics={"rare": rare_row_metric(7.0)},
            lower_is_better={"rare"},
            n_resamples=300,
        )
        .run()
        .metrics["rare"]
    )
    assert m.verdict is Verdict.INCONCLUSIVE


def test_mostly_undefined_resamples_are_refused() -> None:
    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 2, n)
    cand = rng.random(n)
    cand[0] = 7.0

    def needs_the_rare_row(y_true: np.ndarray, p: np.ndarray) -> float:
        if not np.any(p == 7.0) and p.max() < 1.5:
            raise ValueError("no rare row")
        return float(p.mean())

    base = np.full(n, 2.0)
    with pytest.raises(CheckInputError, match="resamples gave no value"):
        sm.paired_bootstrap(y, cand, base, needs_the_rare_row, n_resamples=300)


def offset_regression(n: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1000, n)
    return y, y + rng.normal(0, 300, n), y + rng.normal(0, 500, n)


@pytest.mark.parametrize("offset", [1.7e6, 1.7e9])
def test_r2_bootstrap_interval_does_not_move_with_a_common_offset(offset: float) -> None:
    y, good, weak = offset_regression()
    plain = sm.paired_bootstrap(y, good, weak, "r2", n_resamples=300)
    shifted = sm.paired_bootstrap(y + offset, good + offset, weak + offset, "r2", n_resamples=300)
    assert shifted.ci_low == pytest.approx(plain.ci_low, rel=1e-5)
    assert shifted.ci_high == pytest.approx(plain.ci_high, rel=1e-5)


def test_r2_bootstrap_interval_does_not_depend_on_the_target_units() -> None:
    y, good, weak = offset_regression()
    plain = sm.paired_bootstrap(y, good, weak, "r2", n_resamples=300)
    tiny = sm.paired_bootstrap(y * 1e-12, good * 1e-12, weak * 1e-12, "r2", n_resamples=300)
    assert tiny.ci_low == pytest.approx(plain.ci_low, rel=1e-6)
    assert tiny.ci_high == pytest.approx(plain.ci_high, rel=1e-6)


def test_r2_bootstrap_of_a_constant_target_follows_sklearn() -> None:
    y = np.full(50, 1.7e9)
    perfect = sm.paired_bootstrap(y, y.copy(), y + 1.0, "r2", n_resamples=50)
    assert (perfect.candidate, perfect.baseline) == (1.0, 0.0)
    assert perfect.ci_low == perfect.ci_high == 1.0


def test_a_worse_candidate_on_a_target_with_a_large_offset_fails() -> None:
    y, good, weak = offset_regression()
    offset = 1.7e9
    result = Degradation(
        y=y + offset,
        candidate_scores=weak + offset,
        baseline_scores=good + offset,
        metrics=["r2"],
        task="regression",
    ).run()
    assert result.metrics["r2"].verdict is Verdict.WORSE
    assert result.status.value == "fail"


@pytest.mark.parametrize("confidence", [0.5, 0.3, 0.01])
def test_a_confidence_at_or_below_one_half_is_refused_at_construction(confidence: float) -> None:
    y = np.array([0, 1] * 10)
    with pytest.raises(ConfigError, match=r"confidence=.* must be a float in \(0.5, 1\)"):
        Degradation(y=y, candidate_scores=y * 0.9, baseline_scores=y * 0.8, confidence=confidence)


def _raises_key_error(y_true: Any, p: Any) -> float:
    return {}["threshold"]  # type: ignore[no-any-return]


def _raises_type_error(y_true: Any, p: Any) -> float:
    return len(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "said"),
    [
        (_raises_key_error, "raised KeyError"),
        (_raises_type_error, "raised TypeError"),
        (lambda y_true, p: None, "returned NoneType None, not one number"),
        (lambda y_true, p: np.array([0.1, 0.2]), "not one number"),
        (lambda y_true, p: "0.5", "not one number"),
        (lambda y_true, p: True, "not one number"),
    ],
)
def test_a_misbehaving_callable_metric_is_an_error_result_naming_it(
    metric: Callable[[Any, Any], Any], said: str
) -> None:
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    result = Degradation(
        y=y, candidate_scores=rng.random(n), baseline_scores=rng.random(n), metrics={"mine": metric}
    ).run()
    assert result.status.value == "error"
    assert result.metrics["mine"].reason.startswith("mine could not be computed")
    assert said in result.metrics["mine"].reason


def test_a_callable_metric_returning_a_numpy_scalar_is_accepted() -> None:
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    result = Degradation(
        y=y,
        candidate_scores=rng.random(n),
        baseline_scores=rng.random(n),
        metrics={
            "mean": lambda y_true, p: np.mean(p),
            "zero_d": lambda y_true, p: np.asarray(np.mean(p)),
            "fraction": lambda y_true, p: fractions.Fraction(1, 3),
        },
    ).run()
    assert [m.status.value for m in result.metrics.values()] == ["pass"] * 3
