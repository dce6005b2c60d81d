"""The degradation check's reason says what happened: "worse" only for what was shown
worse; what could not be told either way is said as such, even when the policy fails it."""

from __future__ import annotations

import numpy as np

from modelship.checks import Degradation, Verdict

_INCONCLUSIVE = Verdict.INCONCLUSIVE.value


def _holdout(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, a good score and a weaker score of the same rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, y + rng.normal(0, 0.6, n), y + rng.normal(0, 1.0, n)


def test_only_inconclusive_metrics_failing_by_policy_are_not_called_worse() -> None:
    y, good, _ = _holdout(60, seed=4)
    nearly = good + np.random.default_rng(5).normal(0, 0.3, 60)
    result = Degradation(
        y=y, candidate_scores=nearly, baseline_scores=good, metrics=["roc_auc"]
    ).run()
    assert result.metrics["roc_auc"].verdict is Verdict.INCONCLUSIVE
    assert result.status.value == "fail"
    assert result.reason == (
        "could not tell whether the candidate is worse (inconclusive fails by policy): "
        f"roc_auc: {_INCONCLUSIVE}"
    )


def test_a_metric_shown_worse_is_the_only_one_called_worse() -> None:
    y, good, weak = _holdout(6000, seed=0)
    common = {"y": y, "candidate_scores": weak, "baseline_scores": good}
    result = Degradation(**common, metrics=["roc_auc"]).run()
    assert result.reason == "candidate is worse: roc_auc: worse"


def test_worse_and_inconclusive_together_are_each_named_for_what_they_are() -> None:
    y, good, weak = _holdout(3000, seed=1)
    small = np.arange(y.size) < 60  # a segment too small to tell, nearly the same scores
    candidate = np.where(small, good + np.random.default_rng(2).normal(0, 0.3, y.size), weak)
    result = Degradation(
        y=y,
        candidate_scores=candidate,
        baseline_scores=good,
        metrics=["roc_auc"],
        segments=np.where(small, "small", "large"),
        segment_inconclusive="fail",
    ).run()
    assert result.slices["large"]["roc_auc"].verdict is Verdict.WORSE
    assert result.slices["small"]["roc_auc"].verdict is Verdict.INCONCLUSIVE
    worse, _, untold = result.reason.partition("; could not tell")
    assert worse == "candidate is worse: roc_auc: worse; roc_auc[large]: worse"
    assert untold.startswith(
        " whether the candidate is worse (inconclusive fails by policy): "
        f"roc_auc[small]: {_INCONCLUSIVE}"
    )
