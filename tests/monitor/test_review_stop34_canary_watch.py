"""Review stop 34: ``modelship monitor watch --registry`` moves back only the version it
watched, and ``canary_analysis`` judges 0/1 metrics (error flags, per-request accuracy)
on the difference of their rates instead of a Hodges-Lehmann interval collapsed to 0."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen
from modelship.monitor import CanaryMetric, InMemorySource, canary_analysis, compare_metric
from modelship.testing import InMemoryDeployer

P95 = "p95(inference_latency_seconds) > 0.2"
# Nothing listens there: every evaluation is an error, and the fifth rolls back
# (error_limit 4), with no Prometheus to script.
UNREACHABLE = "http://127.0.0.1:9"


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _three_rollouts(tmp_path: Path) -> tuple[ms.Registry, InMemoryDeployer, Any]:
    """Versions 1 and 2 rolled out blue-green (2 in green, the alias on 2), 3 registered."""
    reg = ms.open_registry(str(tmp_path / "reg"))
    for _ in range(3):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    second = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert (second.slot, reg.aliases("fraud")["production"]) == ("green", "2")
    return reg, dep, second


def _watch(tmp_path: Path, *more: str) -> int:
    return main(
        [
            "monitor", "watch", UNREACHABLE, "-c", P95, "--interval", "0.01",
            "--duration", "60", "--timeout", "1", "--registry", str(tmp_path / "reg"),
            "--model", "fraud", *more,
        ]
    )  # fmt: skip


# --- defect 1: the watch moves back the version it watched, or nothing ----------------------


def test_watch_leaves_alone_an_alias_another_job_moved_during_the_watch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, dep, second = _three_rollouts(tmp_path)
    import modelship.monitor._cli as monitor_cli

    real_run_policy = monitor_cli.run_policy

    def another_job_promotes_3_first(*args: Any, **kwargs: Any) -> Any:
        # The watch has read its slot and version; meanwhile another job promotes 3.
        BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")
        assert reg.aliases("fraud")["production"] == "3"
        return real_run_policy(*args, **kwargs)

    monkeypatch.setattr(monitor_cli, "run_policy", another_job_promotes_3_first)

    code = _watch(tmp_path)

    captured = capsys.readouterr()
    printed = _lines(captured.out)
    # Before: the alias went from 3 back to 2, the very version the policy condemned.
    assert reg.aliases("fraud")["production"] == "3"
    assert code == 2
    assert {p["slot"] for p in printed if "slot" in p} == {second.slot}
    assert printed[-2]["action"] == "rollback"
    assert printed[-1]["event"] == "error"
    assert printed[-1]["alias"] is None
    message = printed[-1]["message"]
    assert "the alias moved since the watch started" in message
    assert "it names 3, not 2" in message
    assert "nothing moved back" in message
    assert "nothing moved back" in captured.err
    assert not any(p.get("event") == "rollback" for p in printed)


def test_watch_moves_the_alias_from_the_watched_version_to_its_rollouts_previous_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, _, second = _three_rollouts(tmp_path)

    code = _watch(tmp_path, "--slot", "green")  # the slot that serves 2: accepted

    printed = _lines(capsys.readouterr().out)
    assert code == 1
    assert printed[-1]["event"] == "rollback"
    assert printed[-1]["alias"] == {
        "model": "fraud", "alias": "production", "from": "2", "to": "1", "rollout": second.id,
    }  # fmt: skip
    assert reg.aliases("fraud")["production"] == "1"


def test_watch_refuses_a_slot_that_does_not_serve_the_watched_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, _, _ = _three_rollouts(tmp_path)
    log = tmp_path / "d.jsonl"

    # blue holds version 1: its failures would have moved the alias back from 2.
    code = _watch(tmp_path, "--slot", "blue", "--log", str(log))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # refused before any evaluation
    assert "ConfigError" in captured.err
    assert "--slot blue does not serve the version watched" in captured.err
    assert "put fraud 1 there" in captured.err
    assert not log.exists()
    assert reg.aliases("fraud")["production"] == "2"


def test_watch_refuses_a_slot_no_rollout_went_to_when_the_version_is_in_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, _, second = _three_rollouts(tmp_path)

    code = _watch(tmp_path, "--slot", "canary")

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert f"put fraud 2 (alias production) into {second.slot}" in captured.err
    assert reg.aliases("fraud")["production"] == "2"


# --- defect 2: 0/1 metrics are judged on their rates ---------------------------------------


def _flags(ones: int, n: int) -> np.ndarray:
    return np.array([1.0] * ones + [0.0] * (n - ones))


def _analyse(metric: CanaryMetric, canary: np.ndarray, baseline: np.ndarray) -> Any:
    src = InMemorySource(now=600.0)
    for slot, values in (("canary", canary), ("baseline", baseline)):
        src.add(
            metric.metric, slot=slot, values=values, timestamps=np.linspace(1, 600, values.size)
        )
    return canary_analysis(src, [metric], canary="canary", baseline="baseline", window=600.0)


def test_an_error_flag_30_times_the_baselines_fails() -> None:
    metric = CanaryMetric("error", direction="increase", tolerance=0.0, critical=True)
    report = _analyse(metric, _flags(600, 2000), _flags(20, 2000))  # 30 % vs 1 %

    # Before: "pass", shift 0 [0, 0], at p=1e-134.
    assert report.verdict == "fail"
    judged = report.metrics[0]
    assert judged.verdict == "fail"
    assert judged.reason.startswith("worse: rate 0.3 vs 0.01, difference 0.29 [")
    assert judged.proportions == ms.monitor.proportion_difference(600, 2000, 20, 2000)
    assert judged.proportions is not None
    assert judged.proportions.ci_low > 0
    assert judged.test is not None  # the Mann-Whitney test is still reported
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.to_dict()["metrics"][0]["proportions"]["rate_x"] == 0.3


def test_the_docs_accuracy_metric_fails_a_canary_right_60_percent_of_the_time_not_95() -> None:
    metric = CanaryMetric("accuracy", direction="decrease", tolerance=0.02, critical=True)
    report = _analyse(metric, _flags(1200, 2000), _flags(1900, 2000))

    assert (report.verdict, report.score) == ("fail", 0.0)
    rates = report.metrics[0].proportions
    assert rates is not None
    assert rates.ci_high < -0.02


@pytest.mark.parametrize(
    ("direction", "canary_errors", "tolerance", "verdict"),
    [
        ("increase", 40, 0.05, "pass"),  # 4 % vs 1 %: worse, but within 5 points
        ("increase", 40, 0.0, "fail"),  # ... and beyond 0
        ("increase", 20, 0.0, "pass"),  # 2 % vs 1 % in 1,000 requests: not shown worse
        ("increase", 2, 0.0, "pass"),  # better
        ("decrease", 2, 0.0, "fail"),  # fewer ones is worse for a "decrease" metric
        ("either", 2, 0.0, "fail"),
        ("increase", 10, 0.0, "pass"),  # the same rate
    ],
)
def test_a_flag_metric_keeps_the_tolerance_and_direction_semantics(
    direction: str, canary_errors: int, tolerance: float, verdict: str
) -> None:
    metric = CanaryMetric("error", direction=direction, tolerance=tolerance)  # type: ignore[arg-type]
    judged = compare_metric(_flags(canary_errors, 1000), _flags(10, 1000), metric)
    assert judged.verdict == verdict
    assert judged.proportions is not None


def test_kind_binary_refuses_values_other_than_0_and_1() -> None:
    judged = compare_metric(
        [0.0, 1.0, 0.5] * 10, _flags(5, 30), CanaryMetric("error", kind="binary")
    )
    assert judged.verdict == "error"
    assert "needs values 0 or 1" in judged.reason
    assert "got 0.5" in judged.reason


def test_a_declared_continuous_0_1_metric_that_the_test_rejects_is_never_a_pass() -> None:
    metric = CanaryMetric("error", kind="continuous")
    judged = compare_metric(_flags(600, 2000), _flags(20, 2000), metric)

    assert judged.test is not None
    assert (judged.test.ci_low, judged.test.ci_high) == (0.0, 0.0)
    assert judged.verdict == "inconclusive"
    assert "the test rejects" in judged.reason
    assert judged.proportions is None


def test_tied_counts_whose_shift_interval_collapses_are_inconclusive_not_passed() -> None:
    # Requests retried 0, 1 or 2 times: the canary retries more, the test sees it
    # (p ~ 1e-23), but the Hodges-Lehmann interval of these tied values is [0, 0].
    canary = np.array([1.0] * 900 + [2.0] * 100)
    baseline = np.array([1.0] * 900 + [0.0] * 100)
    judged = compare_metric(canary, baseline, CanaryMetric("retries"))

    assert judged.test is not None
    assert judged.test.p_value < 1e-10
    assert (judged.test.ci_low, judged.test.ci_high) == (0.0, 0.0)
    assert judged.verdict == "inconclusive"  # before: "pass", "not worse"
    # Better, not worse: the same collapse passes.
    better = compare_metric(baseline, canary, CanaryMetric("retries"))
    assert better.verdict == "pass"


def test_a_continuous_metric_is_judged_on_its_shift_as_before() -> None:
    rng = np.random.default_rng(1)
    judged = compare_metric(
        rng.gamma(4, 0.03, 400), rng.gamma(4, 0.02, 400), CanaryMetric("latency", tolerance=0.01)
    )
    assert judged.verdict == "fail"
    assert judged.reason.startswith("worse: shift ")
    assert judged.proportions is None
    assert CanaryMetric("latency").kind == "auto"


def test_an_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError):
        CanaryMetric("error", kind="flags")  # type: ignore[arg-type]


def test_tied_latencies_whose_interval_has_a_width_are_judged_against_the_tolerance() -> None:
    # Whole-millisecond latencies: the test rejects (p ~ 5e-13) and the interval [0, 1]
    # contains 0, but it rules out any shift beyond the 5 ms tolerance: a pass, as before
    # the collapsed-interval rule (which made it inconclusive until the gate's deadline).
    rng = np.random.default_rng(1)
    baseline = rng.choice([20.0, 21.0, 22.0], size=400, p=[0.5, 0.3, 0.2])
    canary = rng.choice([20.0, 21.0, 22.0], size=400, p=[0.3, 0.4, 0.3])
    judged = compare_metric(
        canary, baseline, CanaryMetric("latency_ms", direction="increase", tolerance=5.0)
    )
    assert judged.test is not None
    assert judged.test.p_value < 1e-6
    assert (judged.test.ci_low, judged.test.ci_high) == (0.0, 1.0)
    assert judged.verdict == "pass"


def test_auto_fails_zero_one_values_whose_shift_lies_beyond_the_tolerance() -> None:
    # Whole-second latencies that happen to be 0 or 1: read as rates, 0.7 vs 0.1 was
    # "not worse beyond tolerance 0.5" (a difference of rates), while the median rose 1 s.
    canary = [1.0] * 21 + [0.0] * 9
    baseline = [1.0] * 3 + [0.0] * 27
    auto = compare_metric(canary, baseline, CanaryMetric("latency_seconds", tolerance=0.5))
    assert auto.verdict == "fail"
    assert auto.reason.startswith("worse: shift 1")
    assert auto.proportions is not None  # both readings are kept
    flags = compare_metric(
        canary, baseline, CanaryMetric("latency_seconds", tolerance=0.5, kind="binary")
    )
    assert flags.verdict == "pass"  # declared flags: judged on the rates alone
    # points of a statistic are never flags
    points = compare_metric(canary, baseline, CanaryMetric("latency", tolerance=0.5, stat="p95"))
    assert points.proportions is None
    assert points.verdict == "fail"
