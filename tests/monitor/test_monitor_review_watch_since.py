"""A watch looks at no sample from before the watched version's start (review fixes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen, EventKind
from modelship.monitor import InMemorySource, RollbackPolicy
from modelship.testing import InMemoryDeployer

ERRORS = "error_rate > 1%"


def test_watch_does_not_judge_a_new_version_on_the_samples_of_the_one_before_in_its_slot() -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    src = InMemorySource(now=dep.clock.monotonic)
    bad = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src.add("error_rate", slot=bad.slot, values=[1.0] * 50, timestamps=[0.0] * 50)
    dep.clock.sleep(30)
    bad.rollback()
    dep.clock.sleep(60)
    good = BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")
    assert good.slot == bad.slot  # the slot is reused
    dep.clock.sleep(1)
    src.add("error_rate", slot=good.slot, values=[0.0] * 50, timestamps=[91.0] * 50)

    result = ms.monitor.watch(
        good, src, RollbackPolicy(conditions=[ERRORS]), interval=60.0, window=300.0,
        duration=60.0, clock=dep.clock,
    )  # fmt: skip

    assert not result.rolled_back
    assert dep.state().serving().version == "3"
    first, _ = result.log.entries[0]
    assert first.verdict == "pass"
    assert first.conditions[0].n == 50
    assert first.window == pytest.approx(1.0, abs=0.01)  # cut at the start, not 300 s
    started = next(e for e in good.history if e.kind is EventKind.MONITOR)
    assert started.data["since"] == pytest.approx(90.0)


def test_a_watch_whose_windows_were_cut_at_the_start_replays_identically() -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = InMemorySource(now=dep.clock.monotonic)
    src.add("error_rate", slot=rollout.slot, values=[0.0] * 50, timestamps=[0.0] * 50)

    result = ms.monitor.watch(
        rollout, src, RollbackPolicy(conditions=[ERRORS]), interval=60.0, window=600.0,
        duration=120.0, clock=dep.clock,
    )  # fmt: skip

    assert [d.window for d, _ in result.log] == pytest.approx([0.001, 60.001, 120.001])
    assert ms.monitor.replay(result.log).identical


def test_watch_with_an_explicit_since_reads_whole_windows_back_to_it() -> None:
    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(100)
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = InMemorySource(now=dep.clock.monotonic)
    src.add("error_rate", slot=rollout.slot, values=[1.0] * 50, timestamps=[50.0] * 50)

    result = ms.monitor.watch(
        rollout, src, RollbackPolicy(conditions=[ERRORS]), interval=60.0, window=600.0,
        duration=60.0, clock=dep.clock, since=0.0,
    )  # fmt: skip

    assert result.rolled_back


def test_watch_refuses_a_since_after_the_sources_time_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    src = InMemorySource(now=10.0)
    path = tmp_path / "d.jsonl"

    with pytest.raises(ms.errors.ConfigError, match=r"since=20\.000 is after the source's current"):
        ms.monitor.watch(
            rollout, src, RollbackPolicy(conditions=[ERRORS]), clock=dep.clock,
            since=20.0, log_path=path,
        )  # fmt: skip

    assert not path.exists()
    assert not [e for e in rollout.history if e.kind is EventKind.MONITOR]


def test_run_policy_before_since_answers_no_data_without_asking_the_source() -> None:
    # A since after the source's clock is refused when the run starts; a clock that then
    # falls behind it (stepped back) has nothing to look at.
    readings = iter([20.0, 20.0])
    src = InMemorySource(now=lambda: next(readings, 10.0))
    src.add("error_rate", slot="canary", values=[1.0] * 50, timestamps=[9.0] * 50)

    log = ms.monitor.run_policy(
        src, RollbackPolicy(conditions=[ERRORS], deadline=None), slot="canary", window=60.0,
        interval=60.0, duration=60.0, sleep=lambda seconds: None, since=20.0,
    )  # fmt: skip

    decision, step = log.entries[0]
    assert (decision.verdict, step.action) == ("no_data", "hold")
    assert "started at 20" in decision.conditions[0].reason
    assert ms.monitor.replay(log).identical


def test_cli_watch_since_cuts_every_window_at_that_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.jsonl"
    since = time.time() - 5.0

    main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "canary", "-c", ERRORS,
            "--interval", "0.01", "--duration", "0.02", "--window", "3600", "--timeout", "1",
            "--since", repr(since), "--log", str(path),
        ]
    )  # fmt: skip

    windows = [d.window for d, _ in ms.monitor.DecisionLog.from_jsonl(path.read_text())]
    assert len(windows) >= 2
    assert all(4.0 < w < 60.0 for w in windows[:-1])
    # The last evaluation, which the duration's end brought in less than an interval after
    # the one before, reads only the time since that one (shorter still).
    assert 0 < windows[-1] < 60.0
    capsys.readouterr()


def test_cli_watch_refuses_a_since_that_is_not_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "watch", "http://127.0.0.1:9", "-c", ERRORS, "--since", "yesterday"])
    assert exited.value.code == 2
    assert "--since: 'yesterday' is not a time" in capsys.readouterr().err


def test_a_since_an_hour_ahead_of_an_epoch_clock_reads_as_later_and_says_by_how_much() -> None:
    from modelship.monitor._loop import check_since

    # Before: "since=1.7e+09 is after the source's current time 1.7e+09" (6 digits each).
    with pytest.raises(ms.errors.ConfigError) as caught:
        check_since(1_700_003_600.0, 1_700_000_000.0)
    assert "since=1700003600.000 is after the source's current time 1700000000.000" in str(
        caught.value
    )
    assert "(by 3600.000 s)" in str(caught.value)
