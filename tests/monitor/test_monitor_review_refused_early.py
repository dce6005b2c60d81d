"""Questions a source can never answer are refused before anything is done (review fixes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from monitor_support import Prometheus

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen, EventKind
from modelship.errors import ConfigError
from modelship.monitor import CanaryMetric, PrometheusSource, RollbackPolicy, RoutedSource
from modelship.testing import InMemoryDeployer

NO_TEMPLATE = "p75(inference_latency_seconds) > 200ms"
NOBODY = "http://127.0.0.1:9"  # nothing listens: never reached


@pytest.mark.parametrize("routed", [False, True], ids=["prometheus", "routed"])
def test_watch_refuses_a_condition_without_a_template_and_leaves_nothing_behind(
    tmp_path: Path, routed: bool
) -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    prom = PrometheusSource(NOBODY, timeout=0.5)
    source = RoutedSource({}, default=prom) if routed else prom
    path = tmp_path / "decisions.jsonl"

    with pytest.raises(ConfigError, match=r"no PromQL template for p75"):
        ms.monitor.watch(
            rollout, source, RollbackPolicy(conditions=[NO_TEMPLATE]), interval=60.0,
            duration=60.0, clock=dep.clock, log_path=path,
        )  # fmt: skip

    assert not path.exists()
    assert [e for e in rollout.history if e.kind is EventKind.MONITOR] == []


def test_cli_watch_refuses_a_condition_without_a_template_before_creating_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "decisions.jsonl"

    code = main(
        [
            "monitor", "watch", NOBODY, "--slot", "green", "-c", NO_TEMPLATE,
            "--interval", "1", "--duration", "1", "--log", str(path),
        ]
    )  # fmt: skip

    assert code == 2
    assert "no PromQL template for p75" in capsys.readouterr().err
    assert not path.exists()


def test_a_canary_gate_over_more_points_than_prometheus_answers_is_refused_when_made() -> None:
    metric = CanaryMetric("error_rate", stat="mean", tolerance=0.01)

    with pytest.raises(
        ConfigError, match=r"17279 steps per series .*Prometheus refuses more than 11000"
    ):
        ms.monitor.canary_gate(PrometheusSource(NOBODY), [metric], window=86400.0, step=5.0)


def test_a_range_of_more_points_than_prometheus_answers_is_a_config_error_not_an_outage(
    prometheus: Prometheus,
) -> None:
    source = PrometheusSource(prometheus.url)
    end = time.time()

    with pytest.raises(ConfigError, match=r"raise the step to at least 7\.86 s"):
        source.fetch_series(
            "error_rate", slot="green", start=end - 86400, end=end, stat="mean", step=5.0
        )


def test_a_range_within_the_limit_is_asked(prometheus: Prometheus) -> None:
    source = PrometheusSource(prometheus.url)
    end = time.time()

    out = source.fetch_series(
        "error_rate", slot="green", start=end - 55000, end=end, stat="mean", step=5.0
    )

    assert not isinstance(out, ms.monitor.SourceError)
