"""A decision log read back goes on where it stopped, and survives a torn last line."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main


def _failing_log() -> tuple[ms.monitor.DecisionLog, ms.monitor.InMemorySource]:
    policy = ms.monitor.RollbackPolicy(
        conditions=["error_rate > 1% min_samples=5"], failure_limit=2
    )
    src = ms.monitor.InMemorySource(now=60.0)
    src.add("error_rate", slot="canary", values=[0.5] * 10, timestamps=range(50, 60))
    return ms.monitor.DecisionLog(policy, started_at=0.0), src


def test_a_log_read_back_keeps_counting_failures() -> None:
    # After a restart, the log read back used to start counting from zero: a third failure
    # past failure_limit=2 was "tolerated (1 in total)".
    log, src = _failing_log()
    assert [log.evaluate(src, slot="canary", window=60.0).action for _ in range(2)] == [
        "hold",
        "hold",
    ]
    again = ms.monitor.DecisionLog.from_jsonl(log.to_jsonl())
    step = again.evaluate(src, slot="canary", window=60.0)
    assert (step.action, step.failures, step.evaluations) == ("rollback", 3, 3)
    assert step == log.evaluate(src, slot="canary", window=60.0)


def test_a_log_read_back_after_a_rollback_stays_rolled_back() -> None:
    log, src = _failing_log()
    for _ in range(3):
        log.evaluate(src, slot="canary", window=60.0)
    log.evaluate(src, slot="canary", window=60.0)  # "already rolled back"
    again = ms.monitor.DecisionLog.from_jsonl(log.to_jsonl())
    src.add("error_rate", slot="canary", values=[0.0] * 100, timestamps=range(60, 160))
    src.set_now(160.0)
    step = again.evaluate(src, slot="canary", window=100.0)  # passes now, but too late
    assert (step.action, step.reason) == ("rollback", "already rolled back")


def test_a_torn_last_line_is_left_out_with_a_warning(tmp_path: Path) -> None:
    # A watcher killed mid-append: `monitor status` refused the whole log (exit 2).
    log, src = _failing_log()
    log.evaluate(src, slot="canary", window=60.0)
    log.evaluate(src, slot="canary", window=60.0)
    torn = log.to_jsonl()[:-40]
    with pytest.warns(ms.RepairWarning, match="line 3 has no newline"):
        again = ms.monitor.DecisionLog.from_jsonl(torn)
    assert len(again) == 1
    assert again.to_jsonl().splitlines() == log.to_jsonl().splitlines()[:2]
    path = tmp_path / "decisions.jsonl"
    path.write_text(torn, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ms.RepairWarning)
        assert main(["monitor", "status", str(path)]) == 0


def test_a_bad_line_that_ends_with_its_newline_is_still_refused() -> None:
    log, src = _failing_log()
    log.evaluate(src, slot="canary", window=60.0)
    with pytest.raises(ms.ConfigError, match="line 3"):
        ms.monitor.DecisionLog.from_jsonl(log.to_jsonl() + "{not json\n")


def test_points_are_judged_with_the_count_behind_the_last_point() -> None:
    # A p95 of 2 requests was judged as if 2,002 stood behind it (the sum over the points).
    src = ms.monitor.InMemorySource(now=60.0)
    src.add_points(
        "inference_latency_seconds",
        slot="canary",
        stat="p95",
        values=[0.10, 0.10, 0.90],
        timestamps=[20.0, 40.0, 59.0],
        counts=[1000, 1000, 2],
    )
    policy = ms.monitor.RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > 0.5 min_samples=100"]
    )
    decision = policy.evaluate(src, slot="canary", window=60.0, keep_samples=True)
    assert decision.verdict == "inconclusive"
    assert decision.conditions[0].n == 2
    # and a log of it replays exactly: the count goes back on the last point
    log = ms.monitor.DecisionLog(policy, started_at=0.0)
    log.record(decision)
    assert ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(log.to_jsonl())).identical
