"""ms.monitor.watch over the deployer double with a manual clock: no test waits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, EventKind, Rollout, RolloutStatus
from modelship.monitor import InMemorySource, RollbackPolicy
from modelship.testing import InMemoryDeployer

P95 = "p95(inference_latency_seconds) > 0.2"
LATENCY = "inference_latency_seconds"


def promoted(dep: InMemoryDeployer) -> Rollout:
    """Version 1 serving, then version 2 promoted over it (rollback possible)."""
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    return BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")


class Traffic:
    """A clock whose every minute slept brings 50 requests to the slot in an in-memory source."""

    def __init__(self, dep: InMemoryDeployer, slot: str, latency: Callable[[int], float]):
        self.clock = dep.clock
        self.source = InMemorySource(now=dep.clock.monotonic)
        self.slot = slot
        self.latency = latency
        self.minute = 0

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def wall(self) -> datetime:
        return self.clock.wall()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        self.minute += 1
        self.source.add(
            LATENCY,
            slot=self.slot,
            values=[self.latency(self.minute)] * 50,
            timestamps=[self.clock.monotonic() - 1.0] * 50,
        )


def monitor_events(rollout: Rollout) -> list[dict[str, object]]:
    return [
        dict(e.data) for e in rollout.history if e.kind is EventKind.MONITOR and "step" in e.data
    ]


def test_a_breached_condition_rolls_the_rollout_back() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.1 if minute < 3 else 0.5)

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        RollbackPolicy(conditions=[P95]),
        interval=60.0,
        duration=600.0,
        clock=traffic,
    )

    assert result.rolled_back
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert dep.state().serving().version == "1"
    assert [s.action for _, s in result.log] == ["hold", "continue", "continue", "rollback"]


def test_every_change_of_verdict_or_action_is_in_the_rollout_history_with_its_numbers() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.1 if minute < 3 else 0.5)

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        RollbackPolicy(conditions=[P95]),
        interval=60.0,
        duration=600.0,
        clock=traffic,
    )

    events = monitor_events(rollout)
    # Each evaluation that changes the verdict or the action, with its index in the
    # decision log (which keeps every evaluation); one like the one before is counted by
    # the end event, not recorded (an event rewrites the whole stored record).
    answers = [(d.verdict, s.action) for d, s in result.log]
    changes = [i for i, a in enumerate(answers) if i == 0 or a != answers[i - 1]]
    assert [e["evaluation"] for e in events] == changes
    assert [(e["verdict"], e["action"]) for e in events] == [answers[i] for i in changes]
    assert len(changes) < len(answers)  # the test holds repeats to leave out
    (end,) = [e.data for e in rollout.history if e.kind is EventKind.MONITOR and "ended" in e.data]
    assert end["evaluations"] == len(answers)
    last = events[-1]["decision"]
    assert isinstance(last, dict)
    assert last["conditions"][0]["value"] == 0.5
    assert last["conditions"][0]["n"] == 50
    assert last["inputs"] == []  # raw samples stay in the decision log
    json.dumps(rollout.to_dict(), allow_nan=False)  # the history stays storable
    kinds = [e.kind for e in rollout.history]
    # Rolled back first, then the step that rolled back is recorded: a record that fails
    # (a full disk) cannot keep the condemned version serving.
    assert kinds.index(EventKind.ROLLBACK) < max(
        i for i, k in enumerate(kinds) if k is EventKind.MONITOR
    )


def test_a_single_flaky_failure_under_the_consecutive_limit_does_not_roll_back() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.5 if minute == 2 else 0.1)
    policy = RollbackPolicy(conditions=[P95], failure_limit=None, consecutive_failure_limit=1)

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        policy,
        interval=60.0,
        duration=300.0,
        clock=traffic,
    )

    assert not result.rolled_back
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert "fail" in [d.verdict for d, _ in result.log]
    assert "rollback" not in [s.action for _, s in result.log]


def test_two_failures_in_a_row_over_the_consecutive_limit_roll_back() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.5 if minute in (2, 3) else 0.1)
    policy = RollbackPolicy(conditions=[P95], failure_limit=None, consecutive_failure_limit=1)

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        policy,
        interval=60.0,
        duration=300.0,
        clock=traffic,
    )

    assert result.rolled_back
    assert rollout.status is RolloutStatus.ROLLED_BACK


def test_no_data_holds_then_rolls_back_at_the_deadline() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    source = InMemorySource(now=dep.clock.monotonic)  # the slot never gets traffic
    policy = RollbackPolicy(conditions=[P95], deadline=300.0)

    result = ms.monitor.watch(
        rollout, source, policy, interval=60.0, duration=600.0, clock=dep.clock
    )

    actions = [s.action for _, s in result.log]
    assert actions == ["hold"] * 5 + ["rollback"]
    assert {d.verdict for d, _ in result.log} == {"no_data"}
    assert result.last is not None
    assert "deadline" in result.last.reason
    assert rollout.status is RolloutStatus.ROLLED_BACK


def test_the_watch_ends_after_its_duration_when_all_is_well() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.1)

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        RollbackPolicy(conditions=[P95]),
        interval=60.0,
        duration=180.0,
        clock=traffic,
    )

    assert not result.rolled_back
    assert len(result.log) == 4  # at 0, 60, 120, 180 s
    assert rollout.status is RolloutStatus.SUCCEEDED


def test_the_written_log_replays_to_the_same_decisions(tmp_path: Path) -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    traffic = Traffic(dep, rollout.slot, latency=lambda minute: 0.1 if minute < 3 else 0.5)
    path = tmp_path / "decisions.jsonl"

    result = ms.monitor.watch(
        rollout,
        traffic.source,
        RollbackPolicy(conditions=[P95]),
        interval=60.0,
        duration=600.0,
        clock=traffic,
        log_path=path,
    )

    assert path.read_text() == result.log.to_jsonl()
    assert ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(path.read_text())).identical


def test_an_existing_log_file_is_never_overwritten(tmp_path: Path) -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    path = tmp_path / "decisions.jsonl"
    path.write_text("keep me\n")
    with pytest.raises(ms.ConfigError, match="never overwritten"):
        ms.monitor.watch(
            rollout,
            InMemorySource(now=0.0),
            RollbackPolicy(conditions=[P95]),
            clock=dep.clock,
            log_path=path,
        )
    assert path.read_text() == "keep me\n"


def test_a_rollout_that_did_not_succeed_cannot_be_watched() -> None:
    dep = InMemoryDeployer()
    rollout = promoted(dep)
    rollout.rollback()
    with pytest.raises(ms.ConfigError, match="rolled_back"):
        ms.monitor.watch(
            rollout, InMemorySource(now=0.0), RollbackPolicy(conditions=[P95]), clock=dep.clock
        )
