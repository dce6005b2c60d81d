"""MetricSourceConformance fails a source that answers a metric it does not hold.

A hostile review found that a source ignoring the metric's name (every name answered with
the one metric it holds, relabelled) passed the suite: a typo in a policy's metric then
reads as real values, never as NoData.
"""

from __future__ import annotations

import attrs
import pytest

from modelship.monitor import InMemorySource, Outcome
from modelship.testing import MetricSourceConformance, SourceCase


class AnyMetricSource(InMemorySource):
    """Answers every metric name with the values of ``latency``."""

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        out = super().fetch("latency", slot=slot, start=start, end=end, stat=stat)
        return attrs.evolve(out, metric=metric)


def _case(source: InMemorySource) -> SourceCase:
    source.add("latency", slot="blue", values=[1.0, 2.0, 3.0], timestamps=[10.0, 20.0, 30.0])
    return SourceCase(source, "latency", "blue", start=0.0, end=50.0)


suite = MetricSourceConformance()


def test_a_source_that_ignores_the_metric_name_fails() -> None:
    with pytest.raises(AssertionError, match="expected NoData for metric"):
        suite.test_a_metric_the_source_does_not_hold_is_no_data_or_refused(
            _case(AnyMetricSource(now=100.0))
        )


def test_the_same_source_reading_the_name_passes() -> None:
    suite.test_a_metric_the_source_does_not_hold_is_no_data_or_refused(
        _case(InMemorySource(now=100.0))
    )
