"""Review 37, second look: a gate with no baseline slot still judges the policy's fixed
thresholds (a Recreate with 100 % errors served until the deadline), and relative limits
(``baseline + 13%``, ``baseline * 1.13``, ``baseline - 0.05``) are the double nearest the
exact limit (0.007 + 13 % was 0.007909999999999999, failing a canary at exactly 13 %)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from modelship.deploy import (
    BlueGreen,
    DeployerCapabilities,
    GatePolicy,
    Recreate,
    RolloutAborted,
)
from modelship.monitor import (
    Condition,
    DecisionLog,
    InMemorySource,
    RollbackPolicy,
    policy_gate,
    replay,
)
from modelship.testing import InMemoryDeployer

MIXED = ["error_rate > 1%", "latency > baseline * 1.5"]


def _gated_rollout(
    policy: RollbackPolicy,
    *,
    errors: float | None,
    first: bool = False,
    baseline: str | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Deploy 2 over 1 with Recreate (one slot; with ``first``, deploy 1 with BlueGreen: no
    previous slot) under ``policy_gate(policy)``, the slot's error rate ``errors`` (None: no
    samples); the rollout, aborted or not, and its gate events."""
    if first:
        dep = InMemoryDeployer()
        strategy: Any = BlueGreen
        slot = "blue"
    else:
        dep = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
        slot = Recreate(dep, clock=dep.clock).deploy("fraud", "1").slot
        strategy = Recreate
    src = InMemorySource(now=dep.clock.monotonic)
    during = [dep.clock.monotonic() + 1.0] * 100
    if errors is not None:
        src.add("error_rate", slot=slot, values=[errors] * 100, timestamps=during)
    src.add("latency", slot=slot, values=[0.1] * 100, timestamps=during)
    gate = policy_gate(src, policy, window=60.0, baseline=baseline)
    try:
        rollout = strategy(
            dep, gate=gate, clock=dep.clock, policy=GatePolicy(deadline=1800.0)
        ).deploy("fraud", "2" if not first else "1")
    except RolloutAborted as exc:
        rollout = exc.rollout
    return rollout, [e.data for e in rollout.history if e.kind.value == "gate"]


def _judged(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The gate events after the first call (the rollout only just started)."""
    assert gates[0]["reason"] == "the rollout has only just started"
    return gates[1:]


# --- 1: no baseline slot: the fixed thresholds are judged -----------------------------------


def test_recreate_gate_of_a_mixed_policy_fails_a_fixed_threshold_at_its_first_judgement() -> None:
    rollout, gates = _gated_rollout(RollbackPolicy(conditions=MIXED), errors=1.0)

    judged = _judged(gates)
    assert [g["verdict"] for g in judged] == ["fail"]  # before: inconclusive x 60
    assert rollout.status.value == "aborted"
    assert "mean(error_rate) > 0.01: blue mean = 1 > 0.01" in judged[0]["reason"]
    assert "'mean(latency) > baseline + 50%' needs a baseline" in judged[0]["reason"]
    assert judged[0]["inputs"]["not_judged"] == ["mean(latency) > baseline + 50%"]
    assert judged[0]["inputs"]["decision"]["verdict"] == "fail"


def test_recreate_gate_of_a_mixed_policy_aborts_when_its_fixed_thresholds_alone_would() -> None:
    fixed, _ = _gated_rollout(RollbackPolicy(conditions=MIXED[:1]), errors=1.0)
    mixed, _ = _gated_rollout(RollbackPolicy(conditions=MIXED), errors=1.0)

    assert mixed.status == fixed.status
    assert mixed.elapsed == fixed.elapsed  # before: 1800 s against 30 s


def test_first_deploy_gate_of_a_mixed_policy_fails_a_fixed_threshold() -> None:
    rollout, gates = _gated_rollout(RollbackPolicy(conditions=MIXED), errors=1.0, first=True)

    judged = _judged(gates)
    assert [g["verdict"] for g in judged] == ["fail"]
    assert "no previous slot" in judged[0]["reason"]
    assert rollout.status.value == "aborted"


def test_gate_given_the_rollouts_own_slot_as_baseline_judges_the_fixed_thresholds() -> None:
    _, gates = _gated_rollout(RollbackPolicy(conditions=MIXED), errors=1.0, baseline="blue")

    assert [g["verdict"] for g in _judged(gates)] == ["fail"]


def test_passing_fixed_thresholds_without_a_baseline_answer_inconclusive_never_pass() -> None:
    rollout, gates = _gated_rollout(RollbackPolicy(conditions=MIXED), errors=0.0)

    judged = _judged(gates)
    assert judged[0]["verdict"] == "inconclusive"  # before: the same, but nothing judged
    # Later windows are past the samples: no data, held as well; never a pass.
    assert {g["verdict"] for g in judged} == {"inconclusive", "no_data"}
    assert rollout.status.value == "aborted"  # at the deadline: never promoted unjudged
    reason = judged[0]["reason"]
    assert reason.startswith("pass: mean(error_rate) > 0.01: blue mean = 0 <= 0.01")
    assert "the relative condition 'mean(latency) > baseline + 50%' needs a baseline" in reason
    assert "the rollout's own slot" in reason
    assert judged[0]["inputs"]["decision"]["verdict"] == "pass"
    assert judged[0]["inputs"]["not_judged"] == ["mean(latency) > baseline + 50%"]


def test_fixed_thresholds_alone_keep_the_policys_no_data_setting() -> None:
    policy = RollbackPolicy(conditions=MIXED, on_no_data="fail")
    _, gates = _gated_rollout(policy, errors=None)

    judged = _judged(gates)
    assert [g["verdict"] for g in judged] == ["fail"]
    assert judged[0]["inputs"]["decision"]["verdict"] == "no_data"


def test_fixed_thresholds_alone_keep_the_policys_min_samples_and_inconclusive_setting() -> None:
    policy = RollbackPolicy(
        conditions=["error_rate > 1% min_samples=1000", MIXED[1]], on_inconclusive="fail"
    )
    _, gates = _gated_rollout(policy, errors=0.0)

    judged = _judged(gates)
    assert [g["verdict"] for g in judged] == ["fail"]
    assert "n=100 < min_samples=1000" in judged[0]["reason"]


def test_only_relative_conditions_without_a_baseline_stay_inconclusive_naming_them() -> None:
    policy = RollbackPolicy(conditions=["latency > baseline * 1.5", "error_rate > baseline"])
    rollout, gates = _gated_rollout(policy, errors=1.0)

    assert {g["verdict"] for g in gates} == {"inconclusive"}
    assert rollout.status.value == "aborted"
    assert gates[-1]["reason"].startswith(
        "the relative conditions 'mean(latency) > baseline + 50%', "
        "'mean(error_rate) > baseline' need a baseline and cannot be judged"
    )


# --- 2: relative limits are the double nearest the exact limit ------------------------------


def _two_slots(baseline: tuple[int, int], canary: tuple[int, int]) -> InMemorySource:
    """Error rates of ``errors`` in ``requests`` for slots blue (baseline) and green."""
    src = InMemorySource(now=lambda: 100.0)
    for slot, (errors, requests) in (("blue", baseline), ("green", canary)):
        values = np.r_[np.ones(errors), np.zeros(requests - errors)]
        src.add("error_rate", slot=slot, values=values, timestamps=np.full(requests, 50.0))
    return src


@pytest.mark.parametrize(
    ("condition", "verdict"),
    [
        ("error_rate > baseline + 13%", "pass"),
        ("error_rate > baseline * 1.13", "pass"),
        ("error_rate >= baseline + 13%", "fail"),
        ("error_rate >= baseline * 1.13", "fail"),
    ],
)
def test_a_canary_exactly_13_percent_above_the_baseline_is_at_the_limit(
    condition: str, verdict: str
) -> None:
    src = _two_slots((7, 1000), (791, 100_000))  # 0.00791 is exactly 0.007 * 1.13

    decision = RollbackPolicy(conditions=[condition]).evaluate(
        src, slot="green", baseline="blue", window=60.0
    )

    assert decision.verdict == verdict  # before: 0.00791 > 0.007909999999999999
    assert decision.conditions[0].limit == 0.00791


def _exact_percent(baseline: float, percent: Fraction) -> float:
    exact = Fraction(baseline)
    return float(exact + abs(exact) * percent / 100)


def test_percent_limits_are_the_double_nearest_the_exact_limit() -> None:
    wrong = []
    for tenths in range(-999, 2000, 7):  # -99.9 % .. +199.9 %
        percent = Fraction(tenths, 10)
        written = f"{float(percent):g}"
        factor = f"{1 + float(percent) / 100:.4f}".rstrip("0")
        plus = Condition.parse(f"x > baseline {'-' if tenths < 0 else '+'} {written.lstrip('-')}%")
        times = Condition.parse(f"x > baseline * {factor}")
        for errors in range(-300, 300, 7):
            baseline = errors / 1000
            expected = _exact_percent(baseline, percent)
            for condition in (plus, times):
                if condition.limit(baseline) != expected:
                    wrong.append((str(condition), baseline))
    assert wrong == []  # before: 33,400 of 73,788 limits were an ulp off


def test_absolute_offsets_are_the_double_nearest_the_exact_sum() -> None:
    wrong = []
    for hundredths in range(1, 100):
        for sign in ("+", "-"):
            written = f"0.{hundredths:02d}"
            condition = Condition.parse(f"x > baseline {sign} {written}")
            offset = Fraction(written) * (1 if sign == "+" else -1)
            for errors in range(-300, 300, 7):
                baseline = errors / 1000
                if condition.limit(baseline) != float(Fraction(baseline) + offset):
                    wrong.append((str(condition), baseline))
    assert wrong == []


def test_a_factor_with_more_than_nine_decimals_is_not_rounded_away() -> None:
    condition = Condition.parse("x > baseline * 1.000000000001")

    assert condition.limit(1.0) == 1.000000000001  # before: 1.0, the baseline itself
    assert Condition.parse(str(condition)) == condition


@pytest.mark.parametrize(
    "text",
    ["x > baseline + 13%", "x > baseline * 1.13", "x < baseline - 5%", "x < baseline * 0.8",
     "x > baseline - 0.05", "x > baseline", "x > baseline * 1.5 min_samples=200"],
)  # fmt: skip
def test_relative_conditions_round_trip_through_text_and_mapping(text: str) -> None:
    condition = Condition.parse(text)

    assert Condition.parse(str(condition)) == condition
    assert Condition.from_dict(condition.to_dict()) == condition
    assert condition.to_dict()["baseline_delta"] in (13.0, -5.0, -20.0, -0.05, 0.0, 50.0)


def test_a_tiny_factor_is_minus_100_percent() -> None:
    assert Condition.parse("x < baseline * 1e-999999999").baseline_delta == -100.0


@pytest.mark.parametrize(
    ("text", "baseline", "limit"),
    [
        ("x > baseline * 1.5", 1.7976931348623157e308, math.inf),
        ("x < baseline - 50%", -1.7976931348623157e308, -math.inf),
        ("x > baseline + 5%", math.inf, math.inf),
        ("x > baseline - 5%", -math.inf, -math.inf),
    ],
)
def test_limits_beyond_the_largest_double_are_infinite(
    text: str, baseline: float, limit: float
) -> None:
    assert Condition.parse(text).limit(baseline) == limit


def test_a_limit_from_a_nan_baseline_is_nan() -> None:
    assert math.isnan(Condition.parse("x > baseline + 5%").limit(math.nan))


@pytest.mark.parametrize(
    ("text", "baseline"),
    [("x > baseline", -0.0), ("x > baseline - 0%", -0.0), ("x < baseline - 100%", 0.5),
     ("x > baseline - 0.5", 0.5)],
)  # fmt: skip
def test_a_zero_limit_has_the_sign_float_arithmetic_gives_it(text: str, baseline: float) -> None:
    condition = Condition.parse(text)
    delta = float(condition.baseline_delta or 0.0)
    rounded = (
        baseline * (1 + delta / 100) if condition.delta_unit == "percent" else baseline + delta
    )

    limit = condition.limit(baseline)

    assert limit == 0.0
    assert math.copysign(1.0, limit) == math.copysign(1.0, rounded)


def test_a_log_of_a_relative_condition_replays_identically() -> None:
    policy = RollbackPolicy(conditions=["error_rate > baseline + 13%"])
    log = DecisionLog(policy, started_at=0.0)
    log.evaluate(_two_slots((7, 1000), (791, 100_000)), slot="green", baseline="blue",
                 window=60.0)  # fmt: skip

    result = replay(log)

    assert result.identical
    assert result.decisions[0].verdict == "pass"
