"""The rollback policy: one evaluation's verdict, the tracker's limits, the decision log."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.monitor import (
    Condition,
    Decision,
    DecisionLog,
    InMemorySource,
    RollbackPolicy,
    Samples,
    replay,
    summarize,
)

LATENCY = "inference_latency_seconds"
P95 = "p95(inference_latency_seconds) > 0.2"


def _source(now: float = 100.0) -> InMemorySource:
    return InMemorySource(now=now)


def _latencies(src: InMemorySource, slot: str, value: float, n: int = 50, at: float = 80.0) -> None:
    src.add(LATENCY, slot=slot, values=np.full(n, value), timestamps=np.linspace(at - 10, at, n))


def _decision(verdict: str, at: float) -> Decision:
    return Decision(verdict, (), (), "canary", None, 60.0, at)  # type: ignore[arg-type]


# --- one evaluation --------------------------------------------------------------------------


def test_the_fixed_shape_from_the_issue_works_as_written() -> None:
    src = ms.monitor.InMemorySource()
    src.add(
        "inference_latency_seconds", slot="canary", values=[0.3] * 40, timestamps=list(range(40))
    )
    cond = ms.monitor.Condition(
        metric="inference_latency_seconds", stat="p95", op=">", threshold=0.2
    )
    policy = ms.monitor.RollbackPolicy(conditions=[cond])
    decision = policy.evaluate(src, slot="canary", baseline="stable", window=60.0, at=40.0)
    assert decision.verdict == "fail"
    assert decision.reasons == (
        "fail: p95(inference_latency_seconds) > 0.2: canary p95 = 0.3 > 0.2 (n=40)",
    )
    mw = ms.monitor.mann_whitney([0.3] * 10, [0.2] * 10)
    assert (mw.statistic, mw.shift) == (100.0, pytest.approx(0.1))
    assert mw.p_value < 0.001
    assert mw.ci_low <= mw.shift <= mw.ci_high


def test_a_condition_that_holds_fails_and_one_that_does_not_passes() -> None:
    src = _source()
    _latencies(src, "slow", 0.3)
    _latencies(src, "fast", 0.1)
    policy = RollbackPolicy(conditions=[P95])
    assert policy.evaluate(src, slot="slow", window=60).verdict == "fail"
    assert policy.evaluate(src, slot="fast", window=60).verdict == "pass"


def test_fewer_samples_than_min_samples_is_inconclusive_not_pass() -> None:
    src = _source()
    _latencies(src, "canary", 0.3, n=10)
    decision = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert decision.verdict == "inconclusive"
    assert "n=10 < min_samples=30" in decision.reasons[0]


def test_a_slot_without_values_is_no_data() -> None:
    decision = RollbackPolicy(conditions=[P95]).evaluate(_source(), slot="canary", window=60)
    assert decision.verdict == "no_data"


def test_nan_values_are_missing_never_zeros() -> None:
    src = _source()
    src.add(
        "error_rate", slot="canary", values=[math.nan] * 100, timestamps=np.linspace(1, 99, 100)
    )
    decision = RollbackPolicy(conditions=["error_rate < 0.5"]).evaluate(
        src, slot="canary", window=100
    )
    # Turned into zeros, these would make "error_rate < 0.5" hold; they are missing instead.
    assert decision.verdict == "no_data"
    assert "all 100 values were NaN" in decision.reasons[0]


def test_values_outside_the_window_are_not_counted() -> None:
    src = _source(now=100.0)
    _latencies(src, "canary", 0.3, at=30.0)  # all before the last 60 s
    decision = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert decision.verdict == "no_data"


def test_a_source_error_is_an_error_verdict_with_the_sources_message() -> None:
    src = _source()
    src.set_error(LATENCY, slot="canary", error_type="timeout", message="took 5 s")
    decision = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert decision.verdict == "error"
    assert "timeout: took 5 s" in decision.reasons[0]


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (("pass", "fail", "error"), "fail"),
        (("pass", "error", "no_data"), "error"),
        (("inconclusive", "no_data"), "no_data"),
        (("pass", "inconclusive"), "inconclusive"),
        (("pass", "pass"), "pass"),
    ],
)
def test_the_worst_condition_decides_fail_error_no_data_inconclusive_pass(
    verdicts: tuple[str, ...], expected: str
) -> None:
    src = _source()
    conditions = []
    for i, verdict in enumerate(verdicts):
        metric = f"m{i}"
        conditions.append(f"mean({metric}) > 1")
        if verdict == "error":
            src.set_error(metric, slot="canary")
        elif verdict != "no_data":
            n = 5 if verdict == "inconclusive" else 50
            value = 2.0 if verdict == "fail" else 0.0
            src.add(metric, slot="canary", values=[value] * n, timestamps=np.linspace(50, 90, n))
    decision = RollbackPolicy(conditions=conditions).evaluate(src, slot="canary", window=60)
    assert decision.verdict == expected
    assert [r.split(":")[0] for r in decision.reasons] == list(verdicts)


def test_a_relative_percent_condition_compares_with_the_baseline_slot() -> None:
    src = _source()
    src.add("accuracy", slot="canary", values=[0.84] * 100, timestamps=np.linspace(50, 90, 100))
    src.add("accuracy", slot="stable", values=[0.90] * 100, timestamps=np.linspace(50, 90, 100))
    worse = RollbackPolicy(conditions=["accuracy < baseline - 5%"])
    tolerant = RollbackPolicy(conditions=["accuracy < baseline - 10%"])
    decision = worse.evaluate(src, slot="canary", baseline="stable", window=60)
    assert decision.verdict == "fail"
    assert decision.conditions[0].limit == pytest.approx(0.855)
    assert "limit from stable mean = 0.9" in decision.reasons[0]
    assert tolerant.evaluate(src, slot="canary", baseline="stable", window=60).verdict == "pass"


def test_a_relative_condition_with_no_baseline_data_is_no_data() -> None:
    src = _source()
    src.add("accuracy", slot="canary", values=[0.84] * 100, timestamps=np.linspace(50, 90, 100))
    policy = RollbackPolicy(conditions=["accuracy < baseline - 0.05"])
    decision = policy.evaluate(src, slot="canary", baseline="stable", window=60)
    assert decision.verdict == "no_data"
    assert decision.reasons[0].startswith("no_data: mean(accuracy) < baseline - 0.05: stable:")


def test_a_relative_condition_needs_a_baseline_slot() -> None:
    policy = RollbackPolicy(conditions=["accuracy < baseline - 5%"])
    with pytest.raises(ms.ConfigError, match="baseline=<slot>"):
        policy.evaluate(_source(), slot="canary", window=60)


def test_points_of_a_statistic_from_the_source_are_used_as_they_are() -> None:
    src = _source()
    src.add_points(
        LATENCY,
        slot="canary",
        stat="p95",
        values=[0.1, 0.25],
        timestamps=[60, 90],
        counts=[100, 100],
    )
    decision = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert decision.verdict == "fail"
    assert decision.conditions[0].value == 0.25
    # The sample size is the judged (last) point's count, not the sum over the points.
    assert decision.conditions[0].n == 100


def test_an_infinite_latency_is_kept_and_fails_the_threshold() -> None:
    src = _source()
    _latencies(src, "canary", math.inf)
    decision = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert decision.verdict == "fail"
    assert json.loads(decision.to_json())["conditions"][0]["value"] == "+Inf"


def test_a_decision_round_trips_through_standard_json() -> None:
    src = _source()
    _latencies(src, "canary", math.inf, n=40)
    decision = RollbackPolicy(conditions=[P95]).evaluate(
        src, slot="canary", window=60, keep_samples=True
    )
    text = decision.to_json()
    assert "Infinity" not in text
    assert "NaN" not in text.replace('"NaN"', "")
    assert Decision.from_json(text).to_json() == text


# --- the tracker -----------------------------------------------------------------------------


def _track(policy: RollbackPolicy, verdicts: str) -> list[str]:
    tracker = policy.tracker(started_at=0.0)
    codes = {"P": "pass", "F": "fail", "E": "error", "N": "no_data", "I": "inconclusive"}
    return [
        tracker.update(_decision(codes[v], at=10.0 * (i + 1))).action
        for i, v in enumerate(verdicts)
    ]


def test_by_default_the_first_failure_rolls_back() -> None:
    assert _track(RollbackPolicy(conditions=[P95]), "PPF") == ["continue", "continue", "rollback"]


def test_a_flaky_metric_with_a_consecutive_limit_survives_isolated_failures() -> None:
    policy = RollbackPolicy(conditions=[P95], failure_limit=None, consecutive_failure_limit=1)
    assert _track(policy, "FPFPFPFF") == ["hold", "continue"] * 3 + ["hold", "rollback"]


def test_a_total_failure_limit_rolls_back_past_it_even_if_failures_are_isolated() -> None:
    policy = RollbackPolicy(conditions=[P95], failure_limit=2)
    assert _track(policy, "FPFPF") == ["hold", "continue", "hold", "continue", "rollback"]


def test_a_tolerated_failure_holds_and_never_continues() -> None:
    policy = RollbackPolicy(conditions=[P95], failure_limit=5)
    assert _track(policy, "F") == ["hold"]


def test_source_errors_roll_back_past_the_error_limit_and_any_answer_resets_them() -> None:
    policy = RollbackPolicy(conditions=[P95], error_limit=2)
    assert _track(policy, "EENEEE") == ["hold", "hold", "hold", "hold", "hold", "rollback"]


def test_no_data_holds_until_the_deadline_then_rolls_back() -> None:
    policy = RollbackPolicy(conditions=[P95], deadline=35.0)
    # evaluations at 10, 20, 30, 40 s: the fourth is past the 35 s deadline
    assert _track(policy, "NNNN") == ["hold", "hold", "hold", "rollback"]


def test_a_pass_restarts_the_deadline() -> None:
    policy = RollbackPolicy(conditions=[P95], deadline=25.0)
    assert _track(policy, "NNPNNN") == ["hold", "hold", "continue", "hold", "hold", "rollback"]


def test_inconclusive_holds_like_no_data() -> None:
    policy = RollbackPolicy(conditions=[P95], deadline=None)
    assert _track(policy, "I" * 50) == ["hold"] * 50


def test_on_no_data_fail_counts_no_data_as_a_failure() -> None:
    policy = RollbackPolicy(conditions=[P95], on_no_data="fail")
    assert _track(policy, "N") == ["rollback"]


def test_after_a_rollback_every_update_answers_rollback() -> None:
    assert _track(RollbackPolicy(conditions=[P95]), "FPP") == ["rollback"] * 3


def test_the_tracker_state_does_not_grow_with_the_history() -> None:
    policy = RollbackPolicy(conditions=[P95], failure_limit=None, consecutive_failure_limit=3)
    tracker = policy.tracker(started_at=0.0)
    for i in range(10_000):
        tracker.update(_decision("pass" if i % 2 else "fail", at=float(i)))
    state = {k: v for k, v in vars(tracker).items() if k != "policy"}
    assert all(isinstance(v, (int, float)) or v is None for v in state.values())
    assert tracker.evaluations == 10_000


def test_both_failure_limits_off_is_refused() -> None:
    with pytest.raises(ms.ConfigError, match="never roll back"):
        RollbackPolicy(conditions=[P95], failure_limit=None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_limit": -1},
        {"error_limit": 1.5},
        {"on_no_data": "pass"},
        {"deadline": 0},
        {"conditions": []},
    ],
)
def test_invalid_policy_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    settings: dict[str, object] = {"conditions": [P95], **kwargs}
    with pytest.raises(ms.ConfigError):
        RollbackPolicy(**settings)  # type: ignore[arg-type]


# --- configuration ---------------------------------------------------------------------------


DEPLOYMENT_YAML = """
deployment:
  strategy: canary
  monitoring:
    enabled: true
    metrics: [model_accuracy, inference_latency, prediction_drift]
    conditions:
      - p95(inference_latency_seconds) > 200ms
      - when: accuracy < baseline - 5%
        min_samples: 500
      - {metric: error_rate, op: ">", threshold: 0.01}
    failure_limit: 2
    consecutive_failure_limit: 1
    deadline: 900
"""


def test_a_policy_reads_the_monitoring_section_of_the_deployment_yaml() -> None:
    policy = RollbackPolicy.from_yaml(DEPLOYMENT_YAML)
    assert [str(c) for c in policy.conditions] == [
        "p95(inference_latency_seconds) > 0.2",
        "mean(accuracy) < baseline - 5% min_samples=500",
        "mean(error_rate) > 0.01",
    ]
    assert (policy.failure_limit, policy.consecutive_failure_limit, policy.deadline) == (
        2,
        1,
        900.0,
    )
    assert policy.metrics == ("model_accuracy", "inference_latency", "prediction_drift")


def test_a_policy_round_trips_through_its_dict() -> None:
    policy = RollbackPolicy.from_yaml(DEPLOYMENT_YAML)
    assert RollbackPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"conditions": [P95], "failure_limt": 1}, "failure_limt"),
        ({"metrics": ["x"]}, "needs 'conditions'"),
        ({"conditions": P95}, "list of conditions"),
        ({"conditions": [P95], "enabled": "yes"}, "true or false"),
        ({"conditions": [P95], "metrics": "latency"}, "list of names"),
        ({"conditions": ["p95(lat > 1"]}, "expected '\\)'"),
    ],
)
def test_a_bad_monitoring_section_names_what_is_wrong(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ms.ConfigError, match=message):
        RollbackPolicy.from_dict(section)


def test_malformed_yaml_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="YAML text: not valid YAML"):
        RollbackPolicy.from_yaml("monitoring: [unclosed")


# --- the decision log ------------------------------------------------------------------------


def _scenario() -> DecisionLog:
    """Six evaluations a minute apart: healthy, quiet, flaky source, slow, mixed sources."""
    rng = np.random.default_rng(42)
    policy = RollbackPolicy(
        conditions=[P95, "accuracy < baseline - 5%", "error_rate > 1%"],
        failure_limit=None,
        consecutive_failure_limit=1,
    )
    log = DecisionLog(policy, started_at=0.0)
    src = InMemorySource(now=0.0)
    for minute in range(1, 7):
        now = 60.0 * minute
        stamps = np.sort(rng.uniform(now - 60, now, 400))
        if minute != 2:  # minute 2: no traffic at all
            slow = minute >= 5
            src.add(
                LATENCY,
                slot="canary",
                values=rng.gamma(4, 0.07 if slow else 0.02, 400),
                timestamps=stamps,
            )
            src.add(
                "accuracy",
                slot="canary",
                values=rng.binomial(1, 0.9, 400).astype(float),
                timestamps=stamps,
            )
            src.add(
                "accuracy",
                slot="stable",
                values=rng.binomial(1, 0.9, 400).astype(float),
                timestamps=stamps,
            )
            errors = rng.binomial(1, 0.005, 400).astype(float)
            errors[rng.integers(0, 400, 5)] = np.nan  # requests whose outcome was lost
            src.add("error_rate", slot="canary", values=errors, timestamps=stamps)
        if minute == 3:
            src.set_error("error_rate", slot="canary", error_type="timeout", message="5 s")
        else:
            src.clear_error("error_rate", slot="canary")
        if minute == 6:
            src.add_points(
                LATENCY,
                slot="canary",
                stat="p95",
                values=[0.31, 0.33],
                timestamps=[now - 30, now],
                counts=[200, 210],
            )
        src.set_now(now)
        log.evaluate(src, slot="canary", baseline="stable", window=60.0)
    return log


def test_the_scenario_covers_every_verdict_and_ends_in_a_rollback() -> None:
    log = _scenario()
    verdicts = [decision.verdict for decision, _ in log]
    assert set(verdicts) >= {"pass", "no_data", "error", "fail"}
    assert [step.action for _, step in log][-1] == "rollback"


def test_a_decision_log_replays_offline_bit_for_bit() -> None:
    log = _scenario()
    again = replay(DecisionLog.from_jsonl(log.to_jsonl()))
    assert again.identical, again.first_difference
    assert [d.to_json() for d in again.decisions] == [d.to_json() for d, _ in log]


def test_a_log_whose_recorded_verdict_was_altered_does_not_replay_identically() -> None:
    lines = _scenario().to_jsonl().splitlines()
    record = json.loads(lines[1])
    record["decision"]["verdict"] = "pass" if record["decision"]["verdict"] != "pass" else "fail"
    lines[1] = json.dumps(record)
    result = replay(DecisionLog.from_jsonl("\n".join(lines)))
    assert (result.identical, result.first_difference) == (False, 0)


def test_a_decision_without_its_inputs_cannot_be_replayed() -> None:
    policy = RollbackPolicy(conditions=[P95])
    log = DecisionLog(policy, started_at=0.0)
    log.record(policy.evaluate(_source(), slot="canary", window=60))
    with pytest.raises(ms.ConfigError, match="keep_samples=True"):
        replay(log)


def test_a_log_that_is_not_json_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError):
        DecisionLog.from_jsonl("{not json")


def test_an_explicit_condition_object_and_its_text_give_the_same_decision() -> None:
    src = _source()
    _latencies(src, "canary", 0.15)
    by_object = RollbackPolicy(conditions=[Condition.parse(P95)]).evaluate(
        src, slot="canary", window=60
    )
    by_text = RollbackPolicy(conditions=[P95]).evaluate(src, slot="canary", window=60)
    assert by_object.to_json() == by_text.to_json()


# --- the summary's statistics -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=300
    ),
    stat=st.sampled_from(["p50", "p90", "p95", "p99", "p99.9", "median", "min", "max", "mean"]),
)
def test_summary_statistics_agree_with_numpy(values: list[float], stat: str) -> None:
    samples = Samples("m", "a", values, np.arange(len(values)), start=-1, end=len(values))
    value, summary = summarize(samples, stat)
    q = ms.monitor.quantile_of(stat)
    reference = {
        "median": np.median(values),
        "min": np.min(values),
        "max": np.max(values),
        "mean": np.mean(values),
    }
    expected = np.quantile(values, q) if q is not None else reference[stat]
    assert value == pytest.approx(float(expected), rel=1e-12, abs=1e-9)
    assert summary["n"] == len(values)


def test_a_percentile_between_a_value_and_infinity_is_infinite() -> None:
    samples = Samples("m", "a", [0.1, math.inf], [1, 2], start=0, end=2)
    assert summarize(samples, "p50")[0] == math.inf
    assert summarize(samples, "p0.1")[0] == math.inf  # any step towards +inf is +inf
    assert summarize(samples, "min")[0] == 0.1


def test_a_resumed_tracker_continues_exactly_where_the_first_stopped() -> None:
    policy = RollbackPolicy(conditions=[P95], failure_limit=None, consecutive_failure_limit=2)
    first = policy.tracker(started_at=0.0)
    for i, verdict in enumerate(["fail", "pass", "fail", "fail"]):
        first.update(_decision(verdict, at=10.0 * (i + 1)))
    resumed = ms.monitor.PolicyTracker.from_dict(policy, json.loads(json.dumps(first.to_dict())))
    assert resumed.update(_decision("fail", at=50.0)) == first.update(_decision("fail", at=50.0))
