"""Stop 37: a canary of weights summing to 0, and a Prometheus timeout too long for a socket."""

from __future__ import annotations

import pytest

from modelship.errors import ConfigError
from modelship.monitor import MetricJudgement, PrometheusSource
from modelship.monitor._canary import combine


def _judged(metric: str, verdict: str, weight: float) -> MetricJudgement:
    return MetricJudgement(metric, verdict, "", None, 9, 9, weight, False)  # type: ignore[arg-type]


def test_weights_summing_to_zero_are_a_config_error_not_a_zero_division() -> None:
    with pytest.raises(ConfigError, match="weights sum to 0"):
        combine([_judged("a", "pass", 0.0), _judged("b", "fail", 0.0)])


def test_a_zero_weight_beside_a_positive_one_still_scores() -> None:
    report = combine([_judged("a", "pass", 0.0), _judged("b", "pass", 1.0)])
    assert report.score == 100.0


@pytest.mark.parametrize("timeout", [1e10, 2.0**31])
def test_a_timeout_longer_than_a_socket_takes_is_refused_when_the_source_is_made(
    timeout: float,
) -> None:
    # 1e10 s reached the socket and raised an untyped OverflowError at the first fetch.
    with pytest.raises(ConfigError, match="timeout"):
        PrometheusSource("http://127.0.0.1:9", timeout=timeout)


def test_the_longest_timeout_allowed_is_accepted() -> None:
    assert PrometheusSource("http://127.0.0.1:9", timeout=2**31 - 1).timeout == 2**31 - 1
