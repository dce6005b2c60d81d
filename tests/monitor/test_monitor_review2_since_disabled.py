"""A since in the future is refused everywhere; a disabled policy is not asked about."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen, EventKind
from modelship.errors import ConfigError
from modelship.monitor import InMemorySource, PrometheusSource, RollbackPolicy
from modelship.testing import InMemoryDeployer

NOBODY = "http://127.0.0.1:9"  # nothing listens: never reached
NO_TEMPLATE = "p75(inference_latency_seconds) > 200ms"


def test_run_policy_refuses_a_since_after_the_source_clock() -> None:
    src = InMemorySource(now=100.0)
    policy = RollbackPolicy(conditions=["error_rate > 1%"])

    with pytest.raises(
        ConfigError,
        match=r"since=10000.000 is after the source's current time 100.000 \(by 9900.000 s\)",
    ):
        ms.monitor.run_policy(
            src, policy, slot="green", window=60.0, interval=60.0, duration=900.0,
            sleep=lambda seconds: None, since=10_000.0,
        )  # fmt: skip


def test_a_since_in_milliseconds_is_refused_saying_so() -> None:
    now = 1_767_225_600.0
    src = InMemorySource(now=now)
    policy = RollbackPolicy(conditions=["error_rate > 1%"])

    with pytest.raises(ConfigError, match=r"looks like milliseconds"):
        ms.monitor.run_policy(
            src, policy, slot="green", window=60.0, interval=60.0, duration=60.0,
            sleep=lambda seconds: None, since=now * 1000.0,
        )  # fmt: skip


def test_watch_refuses_a_future_since_before_recording_anything() -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    src = InMemorySource(now=dep.clock.monotonic)

    with pytest.raises(ConfigError, match=r"since=10000\.000 is after"):
        ms.monitor.watch(
            rollout, src, RollbackPolicy(conditions=["error_rate > 1%"]), interval=60.0,
            duration=60.0, clock=dep.clock, since=10_000.0,
        )  # fmt: skip

    assert [e for e in rollout.history if e.kind is EventKind.MONITOR] == []


def test_cli_watch_refuses_a_future_since_before_creating_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "decisions.jsonl"
    future = str(int(time.time() * 1000))

    code = main(
        [
            "monitor", "watch", NOBODY, "--slot", "green", "-c", "error_rate > 1%",
            "--interval", "1", "--duration", "1", "--log", str(path), "--since", future,
        ]
    )  # fmt: skip

    assert code == 2
    assert "looks like milliseconds" in capsys.readouterr().err
    assert not path.exists()


def test_cli_watch_of_a_disabled_policy_naming_a_metric_without_template_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(f'monitoring:\n  enabled: false\n  conditions:\n    - "{NO_TEMPLATE}"\n')

    code = main(
        [
            "monitor", "watch", NOBODY, "--slot", "green", "--policy", str(policy),
            "--interval", "1", "--duration", "1",
        ]
    )  # fmt: skip

    assert code == 0
    assert '"disabled"' in capsys.readouterr().out


def test_watch_of_a_disabled_policy_naming_a_metric_without_template_is_not_watched() -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    policy = RollbackPolicy(conditions=[NO_TEMPLATE], enabled=False)

    with PrometheusSource(NOBODY, timeout=0.5) as source:
        result = ms.monitor.watch(
            rollout, source, policy, interval=60.0, duration=60.0, clock=dep.clock
        )

    assert result.watched is False
