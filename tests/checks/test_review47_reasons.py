"""A failed bias or degradation check's one-line reason names the worst failures first
and says how many it left out; both results keep CheckResult's one-line repr."""

from __future__ import annotations

import numpy as np

from modelship.checks import Bias, BiasResult, Degradation, DegradationResult


def _biased(n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, predictions missing 30% of the positives of group F, and the groups:
    three differences fail their default thresholds, and disparate impact (0.74) fails
    the four-fifths rule when it is gated."""
    rng = np.random.default_rng(1)
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    return y, np.where((sex == "F") & (rng.random(n) < 0.3), 0, y), sex


def _segmented(n: int = 12_000) -> Degradation:
    """A candidate worse than the baseline on the whole set and on each of six segments,
    least in "a" and most in "f" (the last seen)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    names = np.array(["a", "b", "c", "d", "e", "f"])
    segment = names[np.arange(n) % names.size]
    noise = np.select([segment == s for s in names], [0.8, 0.9, 1.0, 1.1, 1.2, 2.0])
    return Degradation(
        y=y,
        candidate_scores=y + rng.normal(0, 1, n) * noise,
        baseline_scores=y + rng.normal(0, 0.6, n),
        metrics=["roc_auc"],
        segments=segment,
    )


def test_bias_reason_says_how_many_failing_disparities_it_left_out() -> None:
    y, pred, sex = _biased()
    result = Bias(y_true=y, y_pred=pred, sensitive=sex, thresholds={"disparate_impact": 0.8}).run()
    failing = [d for d in result.disparities.values() if d.status.value == "fail"]
    assert len(failing) == 4
    named = [d.name for d in failing if d.name in result.reason]
    assert len(named) == 3
    assert result.reason.endswith("; and 1 more")
    assert "\n" not in result.reason


def test_bias_reason_names_the_disparity_furthest_past_its_threshold_first() -> None:
    # disparate impact 0.74 against 0.95: 0.26 from parity where 0.05 is allowed (4.3
    # times past), beyond the differences' 0.28 against 0.1 (1.8 times past); it was
    # the last failing one, so it was cut.
    y, pred, sex = _biased()
    result = Bias(y_true=y, y_pred=pred, sensitive=sex, thresholds={"disparate_impact": 0.95}).run()
    assert result.reason.startswith("disparities over their thresholds: disparate_impact ")


def test_bias_reason_orders_ratios_and_differences_by_excess_over_the_allowance() -> None:
    # Past the allowed distance from parity, as a share of it: the odds and opportunity
    # differences 0.284 against 0.1 (1.84), disparate impact 0.736 against 0.8 (0.264
    # from parity where 0.2 is allowed: 0.32), demographic parity 0.129 against 0.1
    # (0.29), which is the one left out.
    y, pred, sex = _biased()
    result = Bias(y_true=y, y_pred=pred, sensitive=sex, thresholds={"disparate_impact": 0.8}).run()
    names = ["equalized_odds_difference", "equal_opportunity_difference", "disparate_impact"]
    assert [result.reason.index(f"{name} ") for name in names] == sorted(
        result.reason.index(f"{name} ") for name in names
    )
    assert "demographic_parity_difference" not in result.reason
    assert result.reason.endswith("; and 1 more")


def test_degradation_reason_says_how_many_failing_metrics_it_left_out() -> None:
    result = _segmented().run()
    assert result.status.value == "fail"
    verdicts = result.reason.partition("; worst segments")[0]
    assert verdicts.endswith("; and 2 more")
    assert verdicts.count(": worse") == 5


def test_degradation_reason_names_the_worst_segments_first_after_the_whole_set() -> None:
    result = _segmented().run()
    assert result.reason.startswith(
        "candidate is worse: roc_auc: worse; roc_auc[f]: worse; roc_auc[e]: worse; "
    )
    assert "roc_auc[a]" not in result.reason


def test_degradation_worst_segments_say_how_many_were_left_out() -> None:
    result = _segmented().run()
    assert result.worst_segments[:3] == ("f", "e", "d")
    assert result.reason.endswith("; worst segments: f, e, d and 3 more")


def test_bias_result_repr_is_one_short_line() -> None:
    y, pred, sex = _biased()
    result = Bias(y_true=y, y_pred=pred, sensitive=sex).run()
    text = repr(result)
    assert text.startswith("<CheckResult 'bias' fail: disparities over their thresholds")
    assert "\n" not in text
    assert len(text) < 200


def test_degradation_result_repr_is_one_short_line() -> None:
    text = repr(_segmented().run())
    assert text.startswith("<CheckResult 'degradation' fail: candidate is worse")
    assert "\n" not in text
    assert len(text) < 200


def test_hand_built_results_repr_as_check_results() -> None:
    assert repr(BiasResult(name="bias", status="pass", reason="ok")) == (
        "<CheckResult 'bias' pass: ok>"
    )
    assert repr(DegradationResult(name="d", status="pass", reason="ok")) == (
        "<CheckResult 'd' pass: ok>"
    )
