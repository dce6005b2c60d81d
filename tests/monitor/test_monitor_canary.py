"""Canary analysis: per-metric verdicts from Mann-Whitney and Hodges-Lehmann, and the score."""

from __future__ import annotations

import numpy as np
import pytest

import modelship as ms
from modelship.monitor import CanaryMetric, InMemorySource, MetricJudgement, canary_analysis
from modelship.monitor._canary import combine

LATENCY = "inference_latency_seconds"


def _source(canary: np.ndarray, baseline: np.ndarray, metric: str = LATENCY) -> InMemorySource:
    src = InMemorySource(now=600.0)
    src.add(metric, slot="canary", values=canary, timestamps=np.linspace(1, 600, canary.size))
    src.add(metric, slot="baseline", values=baseline, timestamps=np.linspace(1, 600, baseline.size))
    return src


def _analyse(src: InMemorySource, *metrics: CanaryMetric) -> ms.monitor.CanaryReport:
    return canary_analysis(src, list(metrics), canary="canary", baseline="baseline", window=600.0)


def test_a_slower_canary_fails_when_the_whole_interval_is_beyond_the_tolerance() -> None:
    rng = np.random.default_rng(1)
    src = _source(rng.gamma(4, 0.03, 400), rng.gamma(4, 0.02, 400))  # +0.04 s
    report = _analyse(src, CanaryMetric(LATENCY, tolerance=0.01))
    assert report.verdict == "fail"
    assert report.metrics[0].test is not None
    assert report.metrics[0].test.ci_low > 0.01


def test_a_slower_canary_within_the_tolerance_passes() -> None:
    rng = np.random.default_rng(1)
    src = _source(rng.gamma(4, 0.03, 400), rng.gamma(4, 0.02, 400))
    assert _analyse(src, CanaryMetric(LATENCY, tolerance=0.2)).verdict == "pass"


def test_an_equal_canary_passes() -> None:
    rng = np.random.default_rng(2)
    src = _source(rng.gamma(4, 0.02, 400), rng.gamma(4, 0.02, 400))
    assert _analyse(src, CanaryMetric(LATENCY, tolerance=0.005)).verdict == "pass"


def test_lower_is_worse_for_a_decrease_metric() -> None:
    rng = np.random.default_rng(3)
    src = _source(rng.normal(0.80, 0.02, 300), rng.normal(0.90, 0.02, 300), metric="accuracy")
    worse = CanaryMetric("accuracy", direction="decrease", tolerance=0.02)
    assert _analyse(src, worse).verdict == "fail"
    faster_is_fine = CanaryMetric("accuracy", direction="increase", tolerance=0.02)
    assert _analyse(src, faster_is_fine).verdict == "pass"


def test_too_few_values_for_the_test_to_reach_alpha_is_inconclusive() -> None:
    src = _source(np.array([0.9, 0.8, 0.95]), np.array([0.1, 0.2, 0.15]))  # min p = 0.1
    report = _analyse(src, CanaryMetric(LATENCY))
    assert report.verdict == "inconclusive"
    assert "cannot reach alpha=0.05" in report.reasons[0]


def test_a_canary_without_traffic_is_no_data_never_a_pass_or_a_zero() -> None:
    src = InMemorySource(now=600.0)
    src.add(
        LATENCY, slot="baseline", values=np.full(100, 0.02), timestamps=np.linspace(1, 600, 100)
    )
    report = _analyse(src, CanaryMetric(LATENCY))
    assert report.verdict == "no_data"
    assert report.score is None


def test_nan_values_are_dropped_not_compared_as_zeros() -> None:
    rng = np.random.default_rng(4)
    canary = rng.gamma(4, 0.02, 400)
    canary[::2] = np.nan  # half the canary's values lost
    src = _source(canary, rng.gamma(4, 0.02, 400))
    report = _analyse(src, CanaryMetric(LATENCY, direction="decrease", tolerance=0.005))
    # As zeros, the lost values would pull the canary far below the baseline: a "fail" here.
    assert report.verdict == "pass"
    assert report.metrics[0].n_canary == 200


def test_a_source_error_makes_the_analysis_error() -> None:
    rng = np.random.default_rng(5)
    src = _source(rng.gamma(4, 0.02, 100), rng.gamma(4, 0.02, 100))
    src.set_error(LATENCY, slot="canary", error_type="timeout", message="slow")
    assert _analyse(src, CanaryMetric(LATENCY)).verdict == "error"


def _judged(verdict: str, weight: float = 1.0, critical: bool = False) -> MetricJudgement:
    return MetricJudgement("m", verdict, "", None, 10, 10, weight, critical)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdicts", "expected", "score"),
    [
        ([("pass", 3.0), ("fail", 1.0)], "pass", 75.0),
        ([("pass", 1.0), ("fail", 1.0)], "marginal", 50.0),
        ([("pass", 1.0), ("fail", 2.0)], "fail", 100 / 3),
        ([("pass", 1.0), ("no_data", 1.0)], "no_data", 100.0),
        ([("fail", 3.0), ("inconclusive", 1.0)], "fail", 0.0),  # even a pass could not save it
        ([("pass", 1.0), ("error", 1.0), ("no_data", 1.0)], "error", 100.0),
    ],
)
def test_weighted_verdicts_combine_by_the_documented_thresholds(
    verdicts: list[tuple[str, float]], expected: str, score: float
) -> None:
    report = combine([_judged(v, w) for v, w in verdicts])
    assert report.verdict == expected
    assert report.score == pytest.approx(score)


def test_a_failing_critical_metric_fails_whatever_the_score() -> None:
    report = combine([_judged("pass", 10.0), _judged("fail", 1.0, critical=True)])
    assert report.verdict == "fail"


def test_marginal_holds_as_a_gate() -> None:
    assert combine([_judged("pass"), _judged("fail")]).gate_outcome == "inconclusive"


def test_the_report_is_json_serialisable() -> None:
    import json

    src = _source(np.array([0.9, 0.8, 0.95, 0.7]), np.array([0.1, 0.2, 0.15, 0.3]))
    report = _analyse(src, CanaryMetric(LATENCY))
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert '"gate_outcome"' in text


@pytest.mark.parametrize("kwargs", [{"tolerance": -1.0}, {"weight": 0.0}, {"direction": "up"}])
def test_invalid_metric_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ms.ConfigError):
        CanaryMetric(LATENCY, **kwargs)  # type: ignore[arg-type]
