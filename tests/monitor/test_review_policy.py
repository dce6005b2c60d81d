"""The rollback policy under a clock that steps back, a baseline that is the slot itself,
a negative baseline; samples that are never NaN; sources fed bad values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import (
    CallableSource,
    Condition,
    InMemorySource,
    OutcomeSource,
    RollbackPolicy,
    Samples,
    SourceError,
)

# --- a clock that steps back -----------------------------------------------------------------


def _passing(*times: float) -> InMemorySource:
    src = InMemorySource()
    for at in times:
        src.add("error_rate", slot="canary", values=np.zeros(50), timestamps=np.full(50, at - 10))
    return src


def test_a_hold_dated_before_the_last_pass_does_not_move_the_deadline_out() -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"], deadline=600.0)
    tracker = policy.tracker(started_at=10_000.0)
    empty = InMemorySource()
    tracker.update(policy.evaluate(empty, slot="canary", window=60.0, at=10_500.0))
    step = tracker.update(policy.evaluate(empty, slot="canary", window=60.0, at=7_000.0))
    assert step.action == "hold"
    assert "held 0 s" in step.reason
    # Back on time: the deadline is still 600 s after the start, not 3,500 s later.
    step = tracker.update(policy.evaluate(empty, slot="canary", window=60.0, at=10_600.0))
    assert step.action == "rollback"


def test_a_pass_dated_before_the_last_pass_does_not_move_the_last_pass_back() -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"], deadline=600.0)
    tracker = policy.tracker(started_at=10_000.0)
    good = _passing(10_500.0, 7_000.0)
    tracker.update(policy.evaluate(good, slot="canary", window=60.0, at=10_500.0))
    step = tracker.update(policy.evaluate(good, slot="canary", window=60.0, at=7_000.0))
    assert step.action == "continue"
    assert step.last_pass == 10_500.0
    step = tracker.update(
        policy.evaluate(InMemorySource(), slot="canary", window=60.0, at=10_560.0)
    )
    assert step.action == "hold"
    assert "held 60 s" in step.reason


@settings(max_examples=50, deadline=None)
@given(
    times=st.lists(st.floats(0, 5_000), min_size=1, max_size=12),
    passes=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_last_pass_never_decreases_and_a_hold_is_never_negative(
    times: list[float], passes: list[bool]
) -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"], deadline=600.0)
    tracker = policy.tracker(started_at=1_000.0)
    last = tracker.last_pass
    for at, passed in zip(times, passes, strict=False):
        source = _passing(at) if passed else InMemorySource()
        step = tracker.update(policy.evaluate(source, slot="canary", window=60.0, at=at))
        assert step.last_pass >= last
        last = step.last_pass
        assert "held -" not in step.reason
        if step.action == "rollback":
            break


# --- a baseline that is the watched slot -----------------------------------------------------


def test_a_policy_refuses_a_baseline_that_is_the_watched_slot() -> None:
    policy = RollbackPolicy(conditions=["p95(latency) > baseline * 1.5"])
    with pytest.raises(ConfigError, match="watched slot itself"):
        policy.evaluate(InMemorySource(now=60.0), slot="green", baseline="green", window=60.0)


def test_a_canary_analysis_refuses_a_baseline_that_is_the_canary() -> None:
    metrics = [ms.monitor.CanaryMetric("latency")]
    with pytest.raises(ConfigError, match="watched slot itself"):
        ms.monitor.canary_analysis(
            InMemorySource(now=60.0), metrics, canary="green", baseline="green", window=60.0
        )


def test_a_watch_whose_baseline_is_its_slot_is_refused_before_it_records_anything(
    tmp_path: Path,
) -> None:
    from modelship.deploy import BlueGreen
    from modelship.testing import InMemoryDeployer

    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    events = len(rollout.history)
    policy = RollbackPolicy(conditions=["p95(latency) > baseline * 1.5"])
    with pytest.raises(ConfigError, match="watched slot itself"):
        ms.monitor.watch(
            rollout,
            InMemorySource(now=dep.clock.monotonic),
            policy,
            baseline=rollout.slot,
            clock=dep.clock,
            log_path=tmp_path / "decisions.jsonl",
        )
    assert len(rollout.history) == events  # no "watching" event
    assert not (tmp_path / "decisions.jsonl").exists()


def test_compare_metric_checks_its_metric_and_values() -> None:
    with pytest.raises(ConfigError, match="metric"):
        ms.monitor.compare_metric([1.0], [1.0], "latency")  # type: ignore[arg-type]
    with pytest.raises(ms.errors.CheckInputError, match="must be numbers"):
        ms.monitor.compare_metric(["a"], [1.0], ms.monitor.CanaryMetric("latency"))


def test_compare_metric_judges_differences_beyond_a_float_an_error_not_a_raise() -> None:
    huge = [1e308, -1e308] * 8
    judgement = ms.monitor.compare_metric(huge, huge[::-1], ms.monitor.CanaryMetric("latency"))
    assert judgement.verdict == "error"


# --- a relative percent condition against a negative baseline --------------------------------


def _means(canary: float, baseline: float) -> InMemorySource:
    src = InMemorySource(now=100.0)
    for slot, value in (("canary", canary), ("stable", baseline)):
        src.add_points(
            "r2", slot=slot, stat="mean", values=[value], timestamps=[100.0], counts=[500]
        )
    return src


def test_baseline_minus_percent_is_below_a_negative_baseline() -> None:
    policy = RollbackPolicy(conditions=["mean(r2) < baseline - 5%"])
    decision = policy.evaluate(_means(-0.195, -0.2), slot="canary", baseline="stable", window=60.0)
    assert decision.verdict == "pass"
    assert decision.conditions[0].limit == pytest.approx(-0.21)


def test_a_canary_worse_than_a_negative_baseline_by_more_than_the_percent_fails() -> None:
    policy = RollbackPolicy(conditions=["mean(r2) < baseline - 5%"])
    decision = policy.evaluate(_means(-0.22, -0.2), slot="canary", baseline="stable", window=60.0)
    assert decision.verdict == "fail"


@given(
    baseline=st.floats(1e-3, 1e6).flatmap(lambda size: st.sampled_from([size, -size])),
    delta=st.floats(0.5, 200),
)
def test_a_percent_moves_the_limit_by_that_share_of_the_baselines_size(
    baseline: float, delta: float
) -> None:
    above = Condition(metric="m", op=">", baseline_delta=delta, delta_unit="percent")
    below = Condition(metric="m", op="<", baseline_delta=-delta, delta_unit="percent")
    assert above.limit(baseline) > baseline > below.limit(baseline)
    # The expected sum rounds too: at delta=100 it is zero give or take an ulp of the
    # baseline (5.8e-11 for -335544.57), not within pytest's default 1e-12 of it.
    expected = baseline + abs(baseline) * delta / 100
    assert above.limit(baseline) == pytest.approx(expected, abs=4 * math.ulp(baseline))


def test_a_percent_of_a_positive_baseline_is_the_product_it_always_was() -> None:
    condition = Condition.parse("mean(accuracy) < baseline - 5%")
    assert condition.limit(0.9) == 0.9 * (1 - 5 / 100)


# --- samples are never NaN, so replay reads back what was recorded --------------------------


def test_samples_refuse_a_nan_value() -> None:
    with pytest.raises(ConfigError, match="NaN"):
        Samples("m", "canary", [0.1, math.nan], [1.0, 2.0], start=0.0, end=2.0)


def test_samples_read_back_with_a_nan_value_are_refused() -> None:
    recorded = Samples("m", "canary", [0.1], [1.0], start=0.0, end=2.0).to_dict()
    with pytest.raises(ConfigError, match="NaN"):
        Samples.from_dict({**recorded, "values": ["NaN"]})


def test_a_decision_on_an_undefined_outcome_bound_replays_identically() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(
        [{"request_id": "r0", "timestamp": 50.0, "version": "canary", "output": 0.3}]
    )
    src.record_outcomes(["r0"], [1], at=60.0)
    policy = RollbackPolicy(conditions=["p5(log_loss) > 0.5 min_samples=1"])
    log = ms.monitor.DecisionLog(policy, started_at=0.0)
    log.evaluate(src, slot="canary", window=100.0, at=100.0)
    result = ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(log.to_jsonl()))
    assert result.identical
    assert result.decisions[0].verdict == "no_data"


# --- sources fed bad values --------------------------------------------------------------


def test_a_callable_source_answering_an_int_beyond_a_float_is_a_source_error() -> None:
    src = CallableSource(lambda metric, slot, start, end: ([10**400], [5.0]), now=10.0)
    out = src.fetch("x", slot="c", start=0.0, end=10.0)
    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"


def test_in_memory_values_that_are_not_numbers_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="values"):
        InMemorySource().add("x", slot="c", values="abc")


def test_in_memory_counts_that_are_not_numbers_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="counts"):
        InMemorySource().add_points(
            "x", slot="c", stat="mean", values=[1.0], timestamps=[1.0], counts=["many"]
        )


def test_in_memory_points_of_an_unknown_statistic_are_refused() -> None:
    with pytest.raises(ConfigError, match="stat"):
        InMemorySource().add_points("x", slot="c", stat="bogus", values=[1.0], timestamps=[1.0])
