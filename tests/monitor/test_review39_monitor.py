"""Review 39 (monitor): the rate plan's groups named as a canary's are (the new version
changes, the current one keeps the baseline rate), canary analysis over a source that
answers one point per slot says to pass a step, and a count condition that can never hold is
refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy import stats

import modelship as ms
from modelship.errors import ConfigError
from modelship.monitor import (
    CanaryMetric,
    Condition,
    InMemorySource,
    Outcome,
    PrometheusSource,
    RollbackPolicy,
    RoutedSource,
    Samples,
    canary_analysis,
    canary_gate,
    sample_size_proportions,
)

# Nothing listens there: every test below is decided before any request is sent.
UNREACHABLE = "http://127.0.0.1:9"
LATENCY = "inference_latency_seconds"


# --- 1: sample_size_proportions plans for the new version (x) to change ------------------


def _power(n_x: int, n_y: int, p_x: float, p_y: float, alpha: float = 0.05) -> float:
    """Power of the pooled two-sided z-test of ``p_x - p_y`` (proportion_difference's
    test), by its normal approximation: written out here, independent of the planner."""
    pooled = (n_x * p_x + n_y * p_y) / (n_x + n_y)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 / n_x + 1 / n_y))
    true_sd = math.sqrt(p_x * (1 - p_x) / n_x + p_y * (1 - p_y) / n_y)
    z = stats.norm.ppf(1 - alpha / 2)
    d = abs(p_x - p_y)
    return float(
        stats.norm.cdf((d - z * null_sd) / true_sd) + stats.norm.cdf((-d - z * null_sd) / true_sd)
    )


@pytest.mark.parametrize(
    ("baseline", "mde", "ratio"),
    [
        (0.10, -0.05, 9.0),  # the documented canary: 10 % canary, 90 % stable
        (0.20, -0.15, 9.0),
        (0.01, 0.01, 9.0),
        (0.05, 0.02, 9.0),
        (0.10, 0.05, 0.25),  # a new version on 80 % of the traffic
    ],
)
def test_planned_rate_sizes_give_the_power_when_the_new_version_x_changes(
    baseline: float, mde: float, ratio: float
) -> None:
    plan = sample_size_proportions(baseline_rate=baseline, mde=mde, ratio=ratio)
    canary_rate, stable_rate = baseline + mde, baseline  # x changed, y at the baseline

    assert plan.n_y == math.ceil(ratio * plan.n_x)
    assert _power(plan.n_x, plan.n_y, canary_rate, stable_rate) >= 0.8 - 1e-9
    # Not over-planned either: one sample fewer of x no longer reaches it (but by a hair).
    fewer = plan.n_x - 1
    assert _power(fewer, math.ceil(ratio * fewer), canary_rate, stable_rate) < 0.8 + 1e-3


def test_documented_canary_plan_puts_the_small_sample_on_the_canary() -> None:
    # docs/ab-tests.md: ratio is n_y / n_x, 9 for a 10 % canary against 90 % stable.
    plan = sample_size_proportions(baseline_rate=0.10, mde=-0.05, ratio=9)
    assert (plan.n_x, plan.n_y) == (261, 2349)
    assert plan.effect == pytest.approx(0.05)


def test_equal_groups_plan_is_the_same_whichever_group_changes() -> None:
    # With ratio 1 the formula is symmetric: the documented example is unchanged.
    assert sample_size_proportions(baseline_rate=0.10, mde=0.02).n_x == 3841


def test_changed_rate_outside_zero_one_names_what_to_change() -> None:
    with pytest.raises(ConfigError, match=r"baseline_rate \+ mde"):
        sample_size_proportions(baseline_rate=0.10, mde=-0.2, ratio=9)


# --- 2: canary analysis over a source answering one point per slot needs a step -----------


def _metric() -> CanaryMetric:
    return CanaryMetric(LATENCY, stat="p95", tolerance=0.01)


def test_canary_gate_over_prometheus_is_made_with_or_without_step() -> None:
    # A Prometheus template may be a range selector, whose raw samples need no step:
    # nothing is refused before an answer shows what the source gives.
    for step in (None, 10.0):
        assert callable(
            canary_gate(PrometheusSource(UNREACHABLE), [_metric()], window=600.0, step=step)
        )


class _Points:
    """A source of the user's own with the SeriesSource ability: ``fetch`` answers one
    point per slot (the statistic over the window), ``fetch_series`` a series."""

    def __init__(self, points: int = 1) -> None:
        self.points = points

    def now(self) -> float:
        return 1000.0

    def _answer(self, metric: str, slot: str, start: float, end: float, n: int) -> Outcome:
        value = 0.5 if slot == "canary" else 0.1  # the canary is five times slower
        times = [end - 1.0 - i for i in range(n)]
        values = [value + 0.001 * i for i in range(n)]
        return Samples(metric, slot, values, times, start=start, end=end)

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        return self._answer(metric, slot, start, end, self.points)

    def fetch_series(
        self, metric: str, *, slot: str, start: float, end: float, stat: str, step: float
    ) -> Outcome:
        return self._answer(metric, slot, start, end, int((end - start) // step))


def _analysis(source: Any, metrics: list[CanaryMetric], step: float | None = None) -> Any:
    return canary_analysis(
        source, metrics, canary="canary", baseline="stable", window=600.0, at=1000.0, step=step
    )


def test_one_point_per_slot_for_want_of_a_step_is_inconclusive_saying_to_pass_it() -> None:
    assert isinstance(_Points(), ms.monitor.SeriesSource)
    report = _analysis(_Points(), [_metric()])
    (judged,) = report.metrics
    assert judged.verdict == "inconclusive"
    assert "pass step=" in judged.reason
    assert "one point per slot" in judged.reason
    # With a step, each slot is a series and the slow canary fails.
    assert _analysis(_Points(), [_metric()], step=10.0).verdict == "fail"


def test_a_series_source_that_answers_raw_observations_is_judged_without_a_step() -> None:
    # fetch_series beside a fetch of raw values (or a Prometheus range selector): judged.
    report = _analysis(_Points(points=200), [_metric()])
    assert report.verdict == "fail"
    assert all("step=" not in m.reason for m in report.metrics)


def test_routed_source_says_to_pass_a_step_only_for_metrics_routed_to_a_series_source() -> None:
    raw = InMemorySource(now=1000.0)
    for slot in ("stable", "canary"):
        raw.add(
            "accuracy",
            slot=slot,
            values=[0.9 + 0.001 * (i % 7) for i in range(200)],
            timestamps=[401.0 + i for i in range(200)],
        )
    routed = RoutedSource({"accuracy": raw}, default=_Points(), clock=raw)
    accuracy = CanaryMetric("accuracy", direction="decrease", tolerance=0.01)
    report = _analysis(routed, [accuracy, _metric()])
    by_name = {m.metric: m for m in report.metrics}
    assert by_name["accuracy"].verdict == "pass"
    assert "step=" not in by_name["accuracy"].reason
    assert by_name[LATENCY].verdict == "inconclusive"
    assert "pass step=" in by_name[LATENCY].reason


# --- 3: a count condition that can never hold is refused -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "count(inference_latency_seconds) < 10",
        "count(inference_latency_seconds) < 29.5",
        "count(inference_latency_seconds) <= 29",
        "count(inference_latency_seconds) < 9.5 min_samples=10",
    ],
)
def test_count_below_min_samples_is_refused_naming_the_rate(text: str) -> None:
    with pytest.raises(ConfigError, match=r"can never hold.*min_samples.*request_rate < 1"):
        RollbackPolicy(conditions=[text])


def test_count_below_min_samples_is_refused_from_the_deployment_yaml() -> None:
    section: dict[str, Any] = {"conditions": ["count(inference_latency_seconds) < 10"]}
    with pytest.raises(ConfigError, match="can never hold"):
        RollbackPolicy.from_dict(section)


def test_count_at_or_above_min_samples_is_accepted_and_holds() -> None:
    src = InMemorySource(now=100.0)
    src.add(LATENCY, slot="green", values=[0.1] * 35, timestamps=[60.0 + i for i in range(35)])
    for text in (f"count({LATENCY}) < 40", f"count({LATENCY}) <= 35"):
        policy = RollbackPolicy(conditions=[text], deadline=None)
        assert policy.evaluate(src, slot="green", window=60.0).verdict == "fail"
    assert Condition.parse(f"count({LATENCY}) <= 30").min_samples == 30


def test_count_with_a_lower_min_samples_in_the_yaml_mapping_is_accepted_and_holds() -> None:
    # {"when": ..., "min_samples": ...} is judged against the min_samples given, not
    # against the default the text alone would have.
    src = InMemorySource(now=100.0)
    src.add(LATENCY, slot="green", values=[0.1] * 6, timestamps=[60.0 + i for i in range(6)])
    policy = RollbackPolicy.from_dict(
        {"conditions": [{"when": f"count({LATENCY}) < 10", "min_samples": 5}], "deadline": None}
    )
    assert policy.conditions[0].min_samples == 5
    assert policy.evaluate(src, slot="green", window=60.0).verdict == "fail"


def test_count_never_reachable_at_any_min_samples_gives_no_min_samples_advice() -> None:
    with pytest.raises(ConfigError) as caught:
        RollbackPolicy(conditions=[f"count({LATENCY}) < 1"])
    assert "request_rate < 1" in str(caught.value)
    assert "min_samples=1" not in str(caught.value)  # no min_samples judges a count < 1


def test_a_condition_alone_still_round_trips_whatever_its_count_threshold() -> None:
    # Refused where it would be watched (the policy), not as a value: a Condition's text
    # and dict forms still read back.
    condition = Condition.parse(f"count({LATENCY}) < 10")
    assert Condition.from_dict(condition.to_dict()) == condition


def test_relative_and_upper_count_conditions_are_not_refused() -> None:
    RollbackPolicy(conditions=[f"count({LATENCY}) < baseline - 50%", f"count({LATENCY}) > 1"])


def test_a_decision_log_written_before_the_count_rule_still_reads_and_replays() -> None:
    # A log's first line holds its policy; one written before `count(m) < 10` was refused
    # must still read, or its decisions could no longer be replayed.
    from modelship._rollback._policy import log_head_line

    head = log_head_line(RollbackPolicy(conditions=["count(m) < 40"]), 0.0)
    assert '"threshold":40.0' in head
    old = head.replace('"threshold":40.0', '"threshold":10.0')
    log = ms.monitor.DecisionLog.from_jsonl(old + "\n")
    assert [str(c) for c in log.policy.conditions] == ["count(m) < 10"]
    with pytest.raises(ConfigError, match="can never hold"):
        RollbackPolicy(conditions=["count(m) < 10"])  # a new policy is still refused


def test_count_just_under_min_samples_is_accepted_as_prometheus_can_judge_it() -> None:
    # Prometheus's count is an extrapolated increase(): 29.7 is judged at n = round(29.7)
    # = 30 = min_samples, and 29.7 < 30 holds.
    RollbackPolicy(conditions=[f"count({LATENCY}) < 30", f"count({LATENCY}) < 10 min_samples=10"])
