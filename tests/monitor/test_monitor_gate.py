"""Monitoring as Canary's gate, over the deployer double with a manual clock."""

from __future__ import annotations

import json

import numpy as np
import pytest

import modelship as ms
from modelship.deploy import Canary, EventKind, GatePolicy, Rollout, RolloutAborted, Verdict
from modelship.monitor import CanaryMetric, InMemorySource, RollbackPolicy
from modelship.testing import InMemoryDeployer

LATENCY = "inference_latency_seconds"
P95 = "p95(inference_latency_seconds) > 0.2"


def serving(dep: InMemoryDeployer) -> str:
    """Version 1 in service; the slot it serves from."""
    return Canary(dep, clock=dep.clock).deploy("fraud", "1").slot


def gate_events(rollout: Rollout) -> list[dict[str, object]]:
    return [dict(e.data) for e in rollout.history if e.kind is EventKind.GATE]


def during_next_rollout(dep: InMemoryDeployer, n: int) -> list[float]:
    """Timestamps inside the first analysis step of the rollout that starts next."""
    start = dep.clock.monotonic()
    return [start + 1.0 + 50.0 * i / n for i in range(n)]


def canary_of_2(dep: InMemoryDeployer, gate: object, **policy: float) -> Rollout:
    try:
        return Canary(dep, gate=gate, clock=dep.clock, policy=GatePolicy(**policy)).deploy(  # type: ignore[arg-type]
            "fraud", "2"
        )
    except RolloutAborted as exc:
        return exc.rollout


def test_a_policy_whose_condition_holds_fails_the_gate_and_the_canary_aborts() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot="green", values=[0.5] * 100, timestamps=during_next_rollout(dep, 100))
    gate = ms.monitor.policy_gate(src, RollbackPolicy(conditions=[P95]), window=3600.0)

    rollout = canary_of_2(dep, gate)

    assert rollout.status.value == "aborted"
    assert dep.state().serving().version == "1"
    assert gate_events(rollout)[-1]["verdict"] == "fail"


def test_a_policy_that_holds_no_condition_passes_and_the_canary_is_promoted() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot="green", values=[0.05] * 100, timestamps=during_next_rollout(dep, 100))
    gate = ms.monitor.policy_gate(src, RollbackPolicy(conditions=[P95]), window=3600.0)

    rollout = canary_of_2(dep, gate)

    assert rollout.status.value == "succeeded"
    assert dep.state().serving().version == "2"


def test_the_policy_gate_keeps_the_numbers_it_judged_in_the_history() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot="green", values=[0.5] * 100, timestamps=during_next_rollout(dep, 100))
    gate = ms.monitor.policy_gate(src, RollbackPolicy(conditions=[P95]), window=3600.0)

    rollout = canary_of_2(dep, gate)

    inputs = gate_events(rollout)[-1]["inputs"]
    assert isinstance(inputs, dict)
    condition = inputs["decision"]["conditions"][0]
    assert (condition["value"], condition["n"]) == (0.5, 100)
    json.dumps(rollout.to_dict(), allow_nan=False)


def test_relative_conditions_compare_with_the_slot_being_replaced_by_default() -> None:
    dep = InMemoryDeployer()
    stable = serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot=stable, values=[0.05] * 100, timestamps=during_next_rollout(dep, 100))
    src.add(LATENCY, slot="green", values=[0.15] * 100, timestamps=during_next_rollout(dep, 100))
    policy = RollbackPolicy(conditions=["p95(inference_latency_seconds) > baseline * 1.5"])
    gate = ms.monitor.policy_gate(src, policy, window=3600.0)

    rollout = canary_of_2(dep, gate)

    assert rollout.status.value == "aborted"
    assert gate_events(rollout)[-1]["verdict"] == "fail"


def test_no_traffic_to_the_canary_holds_then_aborts_at_the_gate_deadline() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    gate = ms.monitor.policy_gate(
        InMemorySource(now=dep.clock.monotonic), RollbackPolicy(conditions=[P95]), window=60.0
    )

    rollout = canary_of_2(dep, gate, interval=30.0, deadline=120.0)

    verdicts = [e["verdict"] for e in gate_events(rollout)]
    assert verdicts == ["no_data"] * len(verdicts)
    assert len(verdicts) == 5  # at 0, 30, 60, 90 and 120 s: the deadline
    assert rollout.status.value == "aborted"


def test_on_no_data_fail_makes_an_empty_canary_fail_the_gate() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    policy = RollbackPolicy(conditions=[P95], on_no_data="fail")
    gate = ms.monitor.policy_gate(InMemorySource(now=dep.clock.monotonic), policy, window=60.0)

    rollout = canary_of_2(dep, gate)

    assert [e["verdict"] for e in gate_events(rollout)] == ["fail"]


def _latencies(
    src: InMemorySource, dep: InMemoryDeployer, slot: str, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.gamma(4, 0.02, 400) + shift
    src.add(LATENCY, slot=slot, values=values, timestamps=during_next_rollout(dep, 400))


def test_a_canary_analysis_of_a_slower_canary_fails_the_gate() -> None:
    dep = InMemoryDeployer()
    stable = serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    _latencies(src, dep, stable, 0.0, seed=1)
    _latencies(src, dep, "green", 0.05, seed=2)
    gate = ms.monitor.canary_gate(src, [CanaryMetric(LATENCY, tolerance=0.01)], window=3600.0)

    rollout = canary_of_2(dep, gate)

    assert rollout.status.value == "aborted"
    assert gate_events(rollout)[-1]["verdict"] == "fail"


def test_a_canary_analysis_of_an_equal_canary_passes_the_gate() -> None:
    dep = InMemoryDeployer()
    stable = serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    _latencies(src, dep, stable, 0.0, seed=1)
    _latencies(src, dep, "green", 0.0, seed=2)
    gate = ms.monitor.canary_gate(src, [CanaryMetric(LATENCY, tolerance=0.01)], window=3600.0)

    rollout = canary_of_2(dep, gate)

    assert rollout.status.value == "succeeded"
    json.dumps(rollout.to_dict(), allow_nan=False)


def test_a_canary_analysis_without_a_baseline_slot_is_inconclusive() -> None:
    dep = InMemoryDeployer()
    src = InMemorySource(now=dep.clock.monotonic)
    gate = ms.monitor.canary_gate(src, [CanaryMetric(LATENCY, tolerance=0.01)], window=60.0)
    first = Canary(dep, clock=dep.clock).deploy("fraud", "1")

    assert gate(first).verdict is Verdict.INCONCLUSIVE


def test_a_slot_reused_after_an_abort_is_not_judged_on_the_aborted_versions_requests() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    slow = during_next_rollout(dep, 100)
    src.add(LATENCY, slot="green", values=[0.5] * 100, timestamps=slow)
    gate = ms.monitor.policy_gate(src, RollbackPolicy(conditions=[P95]), window=3600.0)
    assert canary_of_2(dep, gate).status.value == "aborted"  # version 2, slow, in green
    fast = during_next_rollout(dep, 100)
    src.add(LATENCY, slot="green", values=[0.05] * 100, timestamps=fast)

    third = Canary(dep, gate=gate, clock=dep.clock).deploy("fraud", "3")

    assert third.slot == "green"
    assert third.status.value == "succeeded"
    condition = gate_events(third)[0]["inputs"]["decision"]["conditions"][0]  # type: ignore[index]
    assert (condition["value"], condition["n"]) == (0.05, 100)


def test_without_since_start_the_window_reaches_back_over_the_aborted_versions_requests() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot="green", values=[0.5] * 100, timestamps=during_next_rollout(dep, 100))
    policy = RollbackPolicy(conditions=[P95])
    gate = ms.monitor.policy_gate(src, policy, window=3600.0, since_start=False)
    assert canary_of_2(dep, gate).status.value == "aborted"
    src.add(LATENCY, slot="green", values=[0.05] * 100, timestamps=during_next_rollout(dep, 100))

    with pytest.raises(RolloutAborted):
        Canary(dep, gate=gate, clock=dep.clock).deploy("fraud", "3")


def test_the_gate_records_the_window_it_looked_at() -> None:
    dep = InMemoryDeployer()
    serving(dep)
    src = InMemorySource(now=dep.clock.monotonic)
    src.add(LATENCY, slot="green", values=[0.05] * 100, timestamps=during_next_rollout(dep, 100))
    gate = ms.monitor.policy_gate(src, RollbackPolicy(conditions=[P95]), window=3600.0)

    rollout = canary_of_2(dep, gate)

    windows = [e["inputs"]["window"] for e in gate_events(rollout)]  # type: ignore[index]
    assert windows == [60.0, 120.0, 180.0]


@pytest.mark.parametrize("window", [0.0, -1.0, float("inf"), float("nan")])
def test_a_window_that_is_not_a_positive_number_is_refused(window: float) -> None:
    with pytest.raises(ms.ConfigError, match="window"):
        ms.monitor.policy_gate(InMemorySource(), RollbackPolicy(conditions=[P95]), window=window)
    with pytest.raises(ms.ConfigError, match="window"):
        ms.monitor.canary_gate(InMemorySource(), [CanaryMetric(LATENCY)], window=window)
