"""The one table of ``monitoring.metrics`` names and their Prometheus series: the spec,
the policy and the monitor's PromQL templates agree with it."""

from __future__ import annotations

import pytest

from modelship._rollback._constraints import KNOWN_METRICS, SERIES_OF_METRIC
from modelship.deploy import Monitoring
from modelship.errors import ConfigError
from modelship.monitor import RollbackPolicy
from modelship.monitor._prometheus import DEFAULT_QUERIES


def test_every_exported_series_has_a_template_and_no_other_does() -> None:
    templated = {metric for metric, _ in DEFAULT_QUERIES}
    series = {s for s in SERIES_OF_METRIC.values() if s is not None}
    assert series == templated
    assert tuple(SERIES_OF_METRIC) == KNOWN_METRICS


@pytest.mark.parametrize(
    ("name", "series"),
    [(n, s) for n, s in SERIES_OF_METRIC.items() if s is not None and s != n],
)
def test_a_series_name_in_monitoring_metrics_names_its_metric(name: str, series: str) -> None:
    with pytest.raises(ConfigError, match=f"write '{name}'"):
        Monitoring(metrics=[series])
    with pytest.raises(ConfigError, match=f"{series} is {name} here"):
        RollbackPolicy.from_dict({"metrics": [series], "conditions": []})
