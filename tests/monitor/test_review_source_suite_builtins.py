"""The MetricSource suite on built-in sources, with what its newer checks need declared:
how many missing values a case holds (``missing``) and whose clock the source reads
(``real_clock``). test_monitor_source_conformance.py runs the suite on the same sources
with neither declared (their missing-value check skips; their clocks are checked as
undeclared ones)."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.monitor import CallableSource, InMemorySource, PrometheusSource, RoutedSource
from modelship.testing import MetricSourceConformance, SourceCase

NOW = 1_000.0


def _latency(now: float | None) -> InMemorySource:
    src = InMemorySource(now=now)
    src.add(
        "latency", slot="canary", values=[0.1, np.nan, 0.3, np.nan, 0.2], timestamps=[5, 6, 7, 8, 9]
    )
    return src


class TestInMemorySourceWithMissingValues(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        return SourceCase(
            _latency(NOW), "latency", "canary", start=0.0, end=10.0, missing=2, real_clock=False
        )


class TestInMemorySourceOnTheWallClock(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        return SourceCase(
            _latency(None), "latency", "canary", start=0.0, end=10.0, missing=2, real_clock=True
        )


def _orders(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
    if (metric, slot) != ("orders", "canary"):
        return [], []
    stamps = [100.0, 200.0, 300.0, 400.0]
    values = [12.0, float("nan"), 15.0, 11.0]
    kept = [(v, t) for v, t in zip(values, stamps, strict=True) if start < t <= end]
    return [v for v, _ in kept], [t for _, t in kept]


class TestCallableSourceWithMissingValues(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        src = CallableSource(_orders, now=NOW)
        return SourceCase(src, "orders", "canary", start=0.0, end=NOW, missing=1, real_clock=False)


class TestRoutedSourceWithMissingValues(MetricSourceConformance):
    @pytest.fixture
    def source_case(self) -> SourceCase:
        routed = RoutedSource({"orders": CallableSource(_orders, now=NOW)}, default=_latency(NOW))
        return SourceCase(
            routed, "orders", "canary", start=0.0, end=NOW, missing=1, real_clock=False
        )


def test_the_prometheus_source_reads_the_wall_clock() -> None:
    # now() asks no server; the rest of the suite runs on a real Prometheus elsewhere.
    case = SourceCase(
        PrometheusSource("http://127.0.0.1:9", queries={("m", "mean"): "m"}),
        "m",
        "canary",
        start=0.0,
        end=60.0,
        stat="mean",
        real_clock=True,
    )
    MetricSourceConformance().test_now_is_seconds_since_the_epoch(case)
