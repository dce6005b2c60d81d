"""The range limit is Prometheus's own: (end - start) / step of the times sent over 11,000."""

from __future__ import annotations

import time

import pytest
from monitor_support import Prometheus

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import CanaryMetric, PrometheusSource

NOBODY = "http://127.0.0.1:9"  # nothing listens
START = 1_700_000_000.0


def test_a_window_of_11001_steps_is_asked_not_refused() -> None:
    with PrometheusSource(NOBODY, timeout=0.5) as source:
        out = source.fetch_series(
            "error_rate", slot="green", start=START, end=START + 11_001.0, stat="mean", step=1.0
        )

    assert isinstance(out, ms.monitor.SourceError)  # asked: nobody answered


def test_a_window_of_11002_steps_is_refused_with_the_steps_prometheus_counts() -> None:
    source = PrometheusSource(NOBODY)

    with pytest.raises(ConfigError, match=r"a range of 11001 steps per series"):
        source.fetch_series(
            "error_rate", slot="green", start=START, end=START + 11_002.0, stat="mean", step=1.0
        )


def test_a_canary_gate_at_the_limit_is_made() -> None:
    metric = CanaryMetric("error_rate", stat="mean", tolerance=0.01)

    ms.monitor.canary_gate(PrometheusSource(NOBODY), [metric], window=11_001.0, step=1.0)

    with pytest.raises(ConfigError, match=r"11001 steps"):
        ms.monitor.canary_gate(PrometheusSource(NOBODY), [metric], window=11_002.0, step=1.0)


def test_prometheus_answers_the_largest_range_not_refused(prometheus: Prometheus) -> None:
    source = PrometheusSource(prometheus.url, queries={("m", "mean"): "vector(1)"})
    end = float(int(time.time()))

    out = source.fetch_series(
        "m", slot="green", start=end - 11_001.0, end=end, stat="mean", step=1.0
    )

    assert isinstance(out, ms.monitor.Samples)
    assert out.values.size == 11_001
