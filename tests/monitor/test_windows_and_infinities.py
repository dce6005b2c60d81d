"""Review 49: windows that leave the evaluations' own time unread, infinite baselines.

1. ``run_policy`` scheduled the next evaluation an interval after the previous one
   *ended* while each read only the last ``window`` (the interval, by default): the
   seconds an evaluation took (a slow source's round trips) fell in no window, and errors
   answered then were never judged. The interval now runs from one evaluation's time to
   the next, and every evaluation after the first reads at least the time since the
   previous one.
2. A relative condition whose slot and baseline were both ``+Inf`` (a quantile above the
   histogram's last finite bucket) compared ``inf`` with ``inf``: ``>`` passed and
   ``>=`` failed on a difference nobody measured. It is ``inconclusive`` now.
3. ``Condition.limit`` and ``Condition.holds`` let a string or an array escape as a
   ``TypeError`` or ``ValueError``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import Condition, Decision, InMemorySource, RollbackPolicy
from modelship.testing import ManualClock

INF = float("inf")
LATENCY = "inference_latency_seconds"


# --- 1. consecutive windows touch --------------------------------------------------------------


class _SlowSource(InMemorySource):
    """An in-memory source on a manual clock whose every fetch takes ``seconds``."""

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        super().__init__(now=clock.monotonic)
        self._clock = clock
        self._seconds = seconds

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        out = super().fetch(*args, **kwargs)
        self._clock.advance(self._seconds)
        return out


def _watch(
    seconds: float,
    *,
    window: float = 60.0,
    interval: float = 60.0,
    duration: float = 300.0,
    bad: tuple[float, float] = (0.0, 0.0),
    sleeps: list[float] | None = None,
) -> ms.monitor.DecisionLog:
    """Watch a slot serving two requests a second, failing in ``(bad[0], bad[1]]``, on a
    source whose every fetch takes ``seconds``."""
    clock = ManualClock()
    src = _SlowSource(clock, seconds)
    stamps = [i * 0.5 for i in range(1, int(2 * (duration + 10 * interval)))]
    src.add(
        "error_rate",
        slot="green",
        values=[1.0 if bad[0] < t <= bad[1] else 0.0 for t in stamps],
        timestamps=stamps,
    )

    def sleep(wait: float) -> None:
        if sleeps is not None:
            sleeps.append(wait)
        clock.sleep(wait)

    policy = RollbackPolicy(conditions=["error_rate > 1% min_samples=10"], deadline=None)
    return ms.monitor.run_policy(
        src,
        policy,
        slot="green",
        window=window,
        interval=interval,
        duration=duration,
        sleep=sleep,
        since=0.0,
    )


def _windows(log: ms.monitor.DecisionLog) -> list[tuple[float, float]]:
    return [(decision.start, decision.at) for decision, _ in log]


def test_a_slow_source_leaves_no_time_between_two_windows() -> None:
    windows = _windows(_watch(2.0))
    for (_, previous), (start, _) in itertools.pairwise(windows):
        assert start == previous, windows


def test_errors_answered_while_an_evaluation_ran_are_judged_by_the_next() -> None:
    # the first evaluation (at 0) takes 2 s: the requests failing meanwhile are in no
    # window that starts 60 s before an evaluation 62 s later
    log = _watch(2.0, bad=(0.5, 1.5))
    assert log.rolled_back is not None
    decision, step = list(log)[1]
    assert (step.at, decision.verdict) == (60.0, "fail")


def test_the_interval_runs_from_each_evaluation_s_time_not_its_end() -> None:
    log = _watch(2.0, duration=150.0)
    assert [step.at for _, step in log] == [0.0, 60.0, 120.0, 150.0]
    # the first is cut at the version's start (since=0, a millisecond of slack); the cut
    # last evaluation reads the time since the one before, and no more
    # The last evaluation reads a whole window ending at the end (30 s before stop 54).
    assert [decision.window for decision, _ in log] == [0.001, 60.0, 60.0, 60.0]


def test_a_source_slower_than_the_interval_is_evaluated_again_at_once() -> None:
    sleeps: list[float] = []
    log = _watch(90.0, duration=300.0, sleeps=sleeps)
    # the one at 270 s ends past the end (300 s): one more, cut, reads from 270 s on
    assert [step.at for _, step in log] == [0.0, 90.0, 180.0, 270.0, 360.0]
    windows = _windows(log)
    assert windows[1:] == [(0.0, 90.0), (90.0, 180.0), (180.0, 270.0), (270.0, 360.0)]
    assert sleeps == []  # never a negative wait (time.sleep refuses one)


def test_errors_in_the_last_seconds_are_read_when_the_last_evaluation_ends_past_the_end() -> None:
    # 45 s a fetch: the evaluation at 240 s ends at 285 s, past the end (280 s); the
    # requests failing in (240, 280] are judged by one more, cut evaluation
    log = _watch(45.0, duration=280.0, bad=(240.0, 280.0))
    assert log.rolled_back is not None
    assert [step.at for _, step in log][-2:] == [240.0, 285.0]
    assert _windows(log)[-1] == (225.0, 285.0)  # a whole window ending at the end


def test_an_evaluation_ending_exactly_at_the_end_needs_no_other() -> None:
    log = _watch(2.0, duration=120.0)
    assert [step.at for _, step in log] == [0.0, 60.0, 120.0]


def test_a_window_longer_than_the_interval_still_overlaps_the_previous_one() -> None:
    log = _watch(2.0, window=90.0, duration=180.0)
    assert [step.at for _, step in log] == [0.0, 60.0, 120.0, 180.0]
    # since=0 cuts the first two at the version's start (a millisecond of slack)
    assert [round(d.start, 3) for d, _ in log] == [-0.001, -0.001, 30.0, 90.0]


def test_a_window_never_reaches_back_past_the_previous_evaluation() -> None:
    log = _watch(2.0, window=30.0, duration=180.0)
    windows = _windows(log)
    assert windows[1:] == [(0.0, 60.0), (60.0, 120.0), (120.0, 180.0)]


# --- 2. both slots infinite ---------------------------------------------------------------------


def _both(canary: float, baseline: float) -> InMemorySource:
    """What PrometheusSource answers: a p99 point of each slot, with its count."""
    src = InMemorySource(now=100.0)
    for slot, value in (("green", canary), ("blue", baseline)):
        src.add_points(
            LATENCY, slot=slot, stat="p99", values=[value], timestamps=[100.0], counts=[5000]
        )
    return src


@pytest.mark.parametrize("op", [">", ">="])
def test_two_infinite_quantiles_are_inconclusive_whatever_the_operator(op: str) -> None:
    policy = RollbackPolicy(conditions=[f"p99({LATENCY}) {op} baseline * 1.5"])
    decision = policy.evaluate(_both(INF, INF), slot="green", baseline="blue", window=60.0)
    assert decision.verdict == "inconclusive"
    assert (
        "both slots above the histogram's last finite bucket: widen the buckets"
        in (decision.reasons[0])
    )
    step = policy.tracker(started_at=0.0).update(decision)
    assert step.action == "hold"  # neither promoted nor rolled back on its own


def test_two_infinite_quantiles_count_as_a_failure_when_inconclusive_does() -> None:
    policy = RollbackPolicy(conditions=[f"p99({LATENCY}) > baseline * 1.5"], on_inconclusive="fail")
    decision = policy.evaluate(_both(INF, INF), slot="green", baseline="blue", window=60.0)
    assert policy.tracker(started_at=0.0).update(decision).action == "rollback"


def test_an_inconclusive_infinite_comparison_replays() -> None:
    policy = RollbackPolicy(conditions=[f"p99({LATENCY}) > baseline * 1.5"])
    log = ms.monitor.DecisionLog(policy, started_at=0.0)
    step = log.evaluate(_both(INF, INF), slot="green", baseline="blue", window=60.0)
    assert step.verdict == "inconclusive"
    decision = next(iter(log))[0]
    assert Decision.from_json(decision.to_json()).to_json() == decision.to_json()
    assert ms.monitor.replay(log).identical


def test_an_infinite_quantile_against_a_finite_threshold_still_fails() -> None:
    # a guard: +Inf above a finite limit is a real, bad value
    policy = RollbackPolicy(conditions=[f"p99({LATENCY}) > 0.2"])
    decision = policy.evaluate(_both(INF, 0.1), slot="green", window=60.0)
    assert decision.verdict == "fail"


def test_an_infinite_quantile_against_a_finite_baseline_still_fails() -> None:
    policy = RollbackPolicy(conditions=[f"p99({LATENCY}) > baseline * 1.5"])
    decision = policy.evaluate(_both(INF, 0.1), slot="green", baseline="blue", window=60.0)
    assert decision.verdict == "fail"


# --- 3. limit and holds refuse what is not a number -----------------------------------------


@pytest.mark.parametrize(
    "value", ["0.2", np.array([0.1, 0.2]), True, 10**400], ids=["str", "array", "bool", "10**400"]
)
def test_limit_refuses_a_baseline_value_that_is_not_a_number(value: object) -> None:
    condition = Condition.parse(f"p95({LATENCY}) > baseline * 1.5")
    with pytest.raises(ConfigError, match=r"baseline_value=.* must be None or a number"):
        condition.limit(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "limit", "name"),
    [("0.5", 0.01, "value"), (0.5, np.array([0.1, 0.2]), "limit"), (0.5, "0.01", "limit")],
)
def test_holds_refuses_an_argument_that_is_not_a_number(
    value: object, limit: object, name: str
) -> None:
    condition = Condition.parse("error_rate > 1%")
    with pytest.raises(ConfigError, match=rf"^{name}=.* must be a number"):
        condition.holds(value, limit)  # type: ignore[arg-type]


def test_limit_and_holds_take_numpy_numbers_and_infinities() -> None:
    condition = Condition.parse(f"p95({LATENCY}) > baseline * 1.5")
    assert condition.limit(np.float64(0.2)) == condition.limit(0.2)
    assert condition.limit(INF) == INF
    assert condition.holds(np.float32(0.5), 0.3)
    assert Condition.parse("error_rate > 1%").holds(INF, 0.01)
