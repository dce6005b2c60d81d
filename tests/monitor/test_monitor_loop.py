"""run_policy: the scheduled evaluation a rollout's watcher runs."""

from __future__ import annotations

import pytest

import modelship as ms
from modelship.monitor import InMemorySource, RollbackPolicy, Step, run_policy

P95 = "p95(inference_latency_seconds) > 0.2"


class World:
    """A clock, a source and a sleep that moves the clock and records a minute of traffic."""

    def __init__(self, latency_at: dict[int, float]) -> None:
        self.clock = 0.0
        self.src = InMemorySource(now=lambda: self.clock)
        self.latency_at = latency_at  # minute -> latency of that minute's requests
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock += seconds
        minute = round(self.clock / 60)
        if minute in self.latency_at:
            self.src.add(
                "inference_latency_seconds",
                slot="canary",
                values=[self.latency_at[minute]] * 50,
                timestamps=[self.clock - 1] * 50,
            )


def test_a_healthy_canary_is_watched_for_the_whole_duration_without_a_rollback() -> None:
    world = World(dict.fromkeys(range(1, 20), 0.1))
    called: list[Step] = []
    log = run_policy(
        world.src,
        RollbackPolicy(conditions=[P95]),
        slot="canary",
        window=60.0,
        interval=60.0,
        duration=300.0,
        on_rollback=called.append,
        sleep=world.sleep,
    )
    assert [step.action for _, step in log] == ["hold"] + ["continue"] * 5
    assert called == []
    assert world.clock == 300.0


def test_the_loop_stops_at_the_first_rollback_and_calls_on_rollback_once() -> None:
    world = World({1: 0.1, 2: 0.1, 3: 0.5, 4: 0.5, 5: 0.5})
    called: list[Step] = []
    log = run_policy(
        world.src,
        RollbackPolicy(conditions=[P95]),
        slot="canary",
        window=60.0,
        interval=60.0,
        duration=600.0,
        on_rollback=called.append,
        sleep=world.sleep,
    )
    assert [step.action for _, step in log] == ["hold", "continue", "continue", "rollback"]
    assert [step.at for step in called] == [180.0]


def test_a_canary_that_never_gets_traffic_is_held_then_rolled_back_at_the_deadline() -> None:
    world = World({})
    log = run_policy(
        world.src,
        RollbackPolicy(conditions=[P95], deadline=240.0),
        slot="canary",
        window=60.0,
        interval=60.0,
        duration=3600.0,
        sleep=world.sleep,
    )
    assert [step.action for _, step in log] == ["hold"] * 4 + ["rollback"]
    assert log.entries[-1][1].at == 240.0


def test_the_number_of_evaluations_is_bounded_even_if_the_clock_stands_still() -> None:
    src = InMemorySource(now=0.0)  # a clock that never moves
    log = run_policy(
        src,
        RollbackPolicy(conditions=[P95], deadline=None),
        slot="canary",
        window=60.0,
        interval=10.0,
        duration=100.0,
        sleep=lambda seconds: None,
    )
    assert len(log) == 11


def test_the_log_of_a_watch_replays_bit_for_bit() -> None:
    world = World({1: 0.1, 2: 0.15, 3: 0.5, 4: 0.5})
    log = run_policy(
        world.src,
        RollbackPolicy(conditions=[P95]),
        slot="canary",
        window=60.0,
        interval=60.0,
        duration=600.0,
        sleep=world.sleep,
    )
    assert ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(log.to_jsonl())).identical


@pytest.mark.parametrize(("interval", "duration"), [(0.0, 10.0), (10.0, -1.0)])
def test_a_non_positive_interval_or_duration_is_a_config_error(
    interval: float, duration: float
) -> None:
    with pytest.raises(ms.ConfigError):
        run_policy(
            InMemorySource(),
            RollbackPolicy(conditions=[P95]),
            slot="canary",
            window=60.0,
            interval=interval,
            duration=duration,
        )
