"""The rollback policy against two review findings: a traffic-drop condition that could
never fail, and answers the policy accepted that replay did not give back the same."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from monitor_support import Prometheus, Scripted, Target, wait_for
from test_review_sources import Handwritten, handwritten  # noqa: F401 - the fixture

import modelship as ms
from modelship.cli import main
from modelship.monitor import (
    DecisionLog,
    InMemorySource,
    NoData,
    PrometheusSource,
    RollbackPolicy,
    Samples,
    SourceError,
    replay,
)

AT = 1700000000.5
REQUESTS = 'modelship_requests_total{slot="%s"}'


def _vector(value: str | None, at: float = AT) -> dict[str, object]:
    result = [] if value is None else [{"metric": {}, "value": [at, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def _watch(source: ms.monitor.MetricSource, condition: str) -> DecisionLog:
    """Ten minutes of watching a promoted version (``deadline=None``) every minute."""
    policy = RollbackPolicy(conditions=[condition], deadline=None)
    return ms.monitor.run_policy(
        source,
        policy,
        slot="green",
        window=60.0,
        interval=60.0,
        duration=600.0,
        sleep=lambda seconds: None,
    )


def _requests(slot: str, *, rate: float, count: float) -> InMemorySource:
    """``request_rate`` of ``slot`` as Prometheus answers it: one point, its count."""
    src = InMemorySource(now=AT)
    for stat, value in (("mean", rate), ("count", count)):
        src.add_points(
            "request_rate", slot=slot, stat=stat, values=[value], timestamps=[AT], counts=[count]
        )
    return src


# --- defect 1: a condition on the amount of traffic judges the window -------------------------


@pytest.mark.parametrize("condition", ["request_rate < 1", "request_rate < 1 min_samples=1"])
def test_a_slot_with_few_requests_fails_a_traffic_drop_condition(condition: str) -> None:
    # 3 requests a minute: n=3 < min_samples was inconclusive, and with deadline=None the
    # watch held for ever.
    log = _watch(_requests("green", rate=0.05, count=3), condition)

    decision, step = log.entries[0]
    assert (decision.verdict, step.action, len(log)) == ("fail", "rollback", 1)
    assert decision.conditions[0].n == 3
    assert "green mean = 0.05 < 1 (n=3)" in decision.reasons[0]


@pytest.mark.parametrize("condition", ["request_rate < 1", "request_rate < 1 min_samples=1"])
def test_a_slot_that_lost_all_its_traffic_fails_a_traffic_drop_condition(condition: str) -> None:
    log = _watch(_requests("green", rate=0.0, count=0), condition)

    decision, step = log.entries[0]
    assert (decision.verdict, step.action) == ("fail", "rollback")
    assert decision.conditions[0].n == 0


def test_a_count_keeps_min_samples_so_a_watchs_cut_first_window_rolls_nothing_back() -> None:
    # A healthy slot (5 requests a second) counts 10 in the first 2 s of a watch, whose
    # first window is cut at the version's start: judged without min_samples, the count
    # condition rolled it back at its first evaluation.
    rng = np.random.default_rng(0)
    src = InMemorySource(now=1002.0)
    stamps = np.arange(1000.0, 1002.0, 0.2) + 0.01
    values = rng.uniform(0.01, 0.05, stamps.size)
    src.add("inference_latency_seconds", slot="canary", values=values, timestamps=stamps)
    policy = RollbackPolicy(conditions=["count(inference_latency_seconds) < 50"])
    log = ms.monitor.run_policy(
        src,
        policy,
        slot="canary",
        window=60.0,
        interval=60.0,
        duration=1.0,
        since=1000.0,
        sleep=lambda s: None,
    )
    decision, step = log.entries[0]
    assert (decision.verdict, step.action) == ("inconclusive", "hold")
    assert not ms.monitor.Condition.parse("count(inference_latency_seconds) < 50").measures_traffic


def test_a_relative_traffic_condition_judges_both_thin_windows() -> None:
    src = _requests("green", rate=0.02, count=1)
    for stat, value in (("mean", 0.2), ("count", 12.0)):
        src.add_points(
            "request_rate", slot="blue", stat=stat, values=[value], timestamps=[AT], counts=[12]
        )
    policy = RollbackPolicy(conditions=["request_rate < baseline * 0.5"])

    decision = policy.evaluate(src, slot="green", baseline="blue", window=60.0)

    assert decision.verdict == "fail"
    assert (decision.conditions[0].n, decision.conditions[0].baseline_n) == (1, 12)


def test_a_traffic_spike_condition_passes_on_a_thin_window() -> None:
    decision = RollbackPolicy(conditions=["request_rate > 100"]).evaluate(
        _requests("green", rate=0.05, count=3), slot="green", window=60.0
    )
    assert decision.verdict == "pass"


@pytest.mark.parametrize(
    ("condition", "answer"),
    [
        ("p95(inference_latency_seconds) > 0.2", "raw"),
        ("error_rate > 1%", "points"),
        ("mean(inference_latency_seconds) > baseline * 1.5", "raw"),
    ],
)
def test_other_conditions_keep_their_minimum_sample_size(condition: str, answer: str) -> None:
    src = InMemorySource(now=AT)
    metric = ms.monitor.Condition.parse(condition).metric
    for slot in ("green", "blue"):
        if answer == "raw":
            src.add(metric, slot=slot, values=[0.5] * 3, timestamps=[AT - 3, AT - 2, AT - 1])
        else:
            src.add_points(
                metric, slot=slot, stat="mean", values=[0.5], timestamps=[AT], counts=[3]
            )
    policy = RollbackPolicy(conditions=[condition])

    decision = policy.evaluate(src, slot="green", baseline="blue", window=60.0)

    assert decision.verdict == "inconclusive"
    assert "n=3 < min_samples=30" in decision.reasons[0]


def test_which_conditions_are_on_the_amount_of_traffic() -> None:
    parse = ms.monitor.Condition.parse
    assert parse("request_rate < 1").measures_traffic
    assert parse("last(request_rate) < baseline - 50%").measures_traffic
    assert not parse("count(accuracy) < 100").measures_traffic  # a count: window-long
    assert not parse("count(request_rate) < 100").measures_traffic
    assert not parse("error_rate > 1%").measures_traffic
    assert not parse("sum(orders) < 10").measures_traffic


def test_the_rule_survives_a_log_whose_policy_wrote_min_samples_out() -> None:
    # A log's first line holds every condition with min_samples=30 written out.
    policy = RollbackPolicy(conditions=["request_rate < 1"], deadline=None)
    log = DecisionLog(policy, started_at=0.0)
    log.evaluate(_requests("green", rate=0.05, count=3), slot="green", window=60.0)

    again = DecisionLog.from_jsonl(log.to_jsonl())

    assert again.policy.conditions[0].min_samples == 30
    assert replay(again).identical
    assert replay(again).decisions[0].verdict == "fail"


def _answers_in_turn(*bodies: dict[str, object]) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answer the requests of one fetch in turn (the statistic, then its count)."""
    turn = [0]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps(bodies[turn[0] % len(bodies)]).encode()
        turn[0] += 1
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def test_a_fake_prometheus_slot_with_three_requests_a_minute_is_rolled_back(
    handwritten: Handwritten,  # noqa: F811 - the fixture imported above
) -> None:
    handwritten.answer = _answers_in_turn(_vector("0.05"), _vector("3"))
    source = PrometheusSource(handwritten.url, clock=lambda: AT)

    log = _watch(source, "request_rate < 1")

    decision, step = log.entries[0]
    assert (decision.verdict, step.action) == ("fail", "rollback")
    assert "green mean = 0.05 < 1 (n=3)" in decision.reasons[0]
    assert len(handwritten.requests) == 2  # the rate and its count, once


def test_a_fake_prometheus_slot_answering_zero_is_rolled_back(scripted: Scripted) -> None:
    scripted.answer(_vector("0"))
    source = PrometheusSource(scripted.url, clock=lambda: AT)

    log = _watch(source, "request_rate < 1 min_samples=1")

    decision, step = log.entries[0]
    assert (decision.verdict, step.action) == ("fail", "rollback")
    assert "green mean = 0 < 1 (n=0)" in decision.reasons[0]


def test_a_slot_prometheus_has_no_series_of_is_no_data_not_zero_traffic(
    scripted: Scripted,
) -> None:
    # Documented: no series is a slot Prometheus cannot see (gone, unscraped, mislabelled,
    # or fewer than two scrapes in the window), never a measured zero.
    scripted.answer(_vector(None))
    source = PrometheusSource(scripted.url, clock=lambda: AT)
    policy = RollbackPolicy(conditions=["request_rate < 1"], deadline=120.0)

    log = ms.monitor.run_policy(
        source,
        policy,
        slot="green",
        window=60.0,
        interval=60.0,
        duration=600.0,
        sleep=lambda seconds: None,
    )

    assert [d.verdict for d, _ in log] == ["no_data"] * len(log)
    assert "Prometheus returned no series" in log.entries[0][0].reasons[0]


def _slot(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def test_a_real_prometheus_judges_a_thin_slot_an_idle_slot_and_a_ghost(
    prometheus: Prometheus, metrics_target: Target
) -> None:
    source = PrometheusSource(prometheus.url)
    thin, idle, ghost = _slot("thin"), _slot("idle"), _slot("ghost")
    for slot in (thin, idle):
        metrics_target.open_slot(slot)

    def scraped_twice(slot: str) -> bool:
        query = f"count_over_time({REQUESTS % slot}[60s]) >= 2"
        answer = source.query(query, at=time.time())
        return isinstance(answer, dict) and bool(answer["result"])

    wait_for(lambda: scraped_twice(thin) and scraped_twice(idle), what="two scrapes")
    metrics_target.serve(thin, 0.01, requests=3)

    def counted(slot: str, at_least: float) -> Samples | None:
        now = time.time()
        out = source.fetch("request_rate", slot=slot, stat="mean", start=now - 60, end=now)
        return out if isinstance(out, Samples) and (out.count or 0) >= at_least else None

    wait_for(lambda: counted(thin, 3), what="the thin slot's 3 requests in Prometheus")
    policy = RollbackPolicy(conditions=["request_rate < 1"], deadline=None)
    verdicts = {
        slot: policy.evaluate(source, slot=slot, window=60.0) for slot in (thin, idle, ghost)
    }

    assert verdicts[thin].verdict == "fail", verdicts[thin].reasons
    assert (verdicts[thin].conditions[0].n or 0) >= 3
    assert verdicts[idle].verdict == "fail", verdicts[idle].reasons  # series at zero: 0 req/s
    assert verdicts[idle].conditions[0].value == 0.0
    assert verdicts[ghost].verdict == "no_data", verdicts[ghost].reasons


# --- defect 2: what the policy judged is what a replay gets back ------------------------------


P95 = "p95(latency) > 0.2 min_samples=40"


class _Answers:
    """A source answering each question with what ``answer(metric, slot, stat, start, end)``
    returns."""

    def __init__(self, answer: Callable[..., Any], now: float = 60.0) -> None:
        self._answer = answer
        self._now = now

    def now(self) -> float:
        return self._now

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Any:
        return self._answer(metric, slot, stat, start, end)


def _replayed(
    source: ms.monitor.MetricSource,
    conditions: list[str],
    *,
    baseline: str | None = None,
    window: float = 60.0,
) -> tuple[DecisionLog, ms.monitor.ReplayResult]:
    log = DecisionLog(
        RollbackPolicy(conditions=conditions, failure_limit=None, consecutive_failure_limit=3),
        started_at=0.0,
    )
    log.evaluate(source, slot="canary", baseline=baseline, window=window)
    return log, replay(DecisionLog.from_jsonl(log.to_jsonl()))


def test_raw_observations_with_a_count_replay_with_it() -> None:
    # A source keeping a reservoir of 40 values out of 5,000 requests.
    def sampled(metric: str, slot: str, stat: str, start: float, end: float) -> Samples:
        return Samples(
            metric, slot, [0.5] * 40, np.arange(40) + 10.0, start=start, end=end, count=5000
        )

    log, again = _replayed(_Answers(sampled), [P95])

    assert log.entries[0][0].conditions[0].n == 5000
    assert again.identical, again.first_difference
    assert again.decisions[0].conditions[0].n == 5000


def test_a_value_stamped_outside_the_window_is_left_out_with_a_warning() -> None:
    # The point at the window's (excluded) start was used live, and lost on replay.
    def stale(metric: str, slot: str, stat: str, start: float, end: float) -> Samples:
        return Samples(metric, slot, [0.5] * 40, [start] + [30.0] * 39, start=start, end=end)

    log, again = _replayed(_Answers(stale), [P95])

    decision = log.entries[0][0]
    assert decision.verdict == "inconclusive"  # 39 values in the window < 40
    assert decision.conditions[0].n == 39
    recorded = decision.inputs[0]
    assert isinstance(recorded, Samples)
    assert recorded.values.size == 39
    assert "1 of 40 values of latency on canary lie outside the window" in recorded.warnings[0]
    assert again.identical, again.first_difference


def test_no_data_without_a_statistic_replays_with_its_reason() -> None:
    def quiet(metric: str, slot: str, stat: str, start: float, end: float) -> NoData:
        return NoData(metric, slot, start=start, end=end, reason="no traffic")

    log, again = _replayed(_Answers(quiet), [P95])

    assert log.entries[0][0].reasons[0].endswith("canary: no traffic")
    recorded = log.entries[0][0].inputs[0]
    assert isinstance(recorded, NoData)
    assert recorded.stat == "p95"
    assert again.identical, again.first_difference


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda m, s, st, a, b: Samples("other", s, [1.0], [b], start=a, end=b), "'other'"),
        (lambda m, s, st, a, b: Samples(m, "stable", [1.0], [b], start=a, end=b), "'stable'"),
        (
            lambda m, s, st, a, b: Samples(m, s, [1.0], [b], start=a, end=b, stat="p50"),
            "the statistic 'p50'",
        ),
        (lambda m, s, st, a, b: NoData(m, "stable", start=a, end=b, reason="x"), "'stable'"),
    ],
)
def test_an_answer_to_another_question_is_a_bad_response(
    answer: Callable[..., Any], message: str
) -> None:
    log, again = _replayed(_Answers(answer), [P95])

    decision = log.entries[0][0]
    assert decision.verdict == "error"
    recorded = decision.inputs[0]
    assert isinstance(recorded, SourceError)
    assert (recorded.error_type, recorded.metric, recorded.slot, recorded.stat) == (
        "bad_response",
        "latency",
        "canary",
        "p95",
    )
    assert message in recorded.message
    assert again.identical, again.first_difference


def test_two_statistics_answered_with_two_different_reservoirs_replay_each() -> None:
    rng = np.random.default_rng(7)

    def reservoir(metric: str, slot: str, stat: str, start: float, end: float) -> Samples:
        return Samples(
            metric,
            slot,
            rng.uniform(0, 1, 50),
            np.linspace(1, 59, 50),
            start=start,
            end=end,
            count=int(rng.integers(50, 9999)),
        )

    log, again = _replayed(_Answers(reservoir), ["p95(latency) > 0.9", "mean(latency) > 0.6"])

    first, second = log.entries[0][0].inputs
    assert isinstance(first, Samples)
    assert isinstance(second, Samples)
    assert first.count != second.count
    assert again.identical, again.first_difference


def test_a_source_answering_something_else_than_an_outcome_is_a_config_error() -> None:
    policy = RollbackPolicy(conditions=[P95])
    with pytest.raises(ms.ConfigError, match="a MetricSource answers Samples, NoData or"):
        policy.evaluate(_Answers(lambda *args: (0.5, 1.0)), slot="canary", window=60.0)


def test_from_outcomes_gives_raw_counts_and_unnamed_no_data_back() -> None:
    raw = Samples("m", "a", [0.5, 0.7], [1.0, 2.0], start=0, end=2, count=900)
    quiet = NoData("q", "a", start=0, end=2, reason="no traffic")
    src = InMemorySource.from_outcomes([raw, quiet], now=2.0)

    assert src.fetch("m", slot="a", start=0.0, end=2.0, stat="p95").to_dict() == raw.to_dict()
    # A part of the window is not the answer whose count it was.
    assert src.fetch("m", slot="a", start=1.0, end=2.0).count is None
    again = src.fetch("q", slot="a", start=0.0, end=2.0, stat="mean")
    assert isinstance(again, NoData)
    assert again.reason == "no traffic"


@pytest.mark.parametrize(
    "questions",
    [[("m", "a", "p95")], [("m", "a", "p95"), ("m", "a", "p95")], ["abc", "abd"], [1, 2]],
)
def test_from_outcomes_refuses_questions_that_are_not_one_per_outcome(
    questions: list[Any],
) -> None:
    outcomes = [NoData("m", "a", start=0, end=2, reason="x")] * 2
    with pytest.raises(ms.ConfigError, match="question"):
        InMemorySource.from_outcomes(outcomes, now=2.0, questions=questions)


def _odd_answer(rng: np.random.Generator) -> Callable[..., Any]:
    """A source's answer drawn from the odd but accepted ones (and some refused ones)."""

    def answer(metric: str, slot: str, stat: str, start: float, end: float) -> Any:
        kind = rng.choice(
            ["raw", "points", "no_data", "error", "other_metric", "other_slot", "other_stat"]
        )
        size = int(rng.integers(1, 60))
        # Timestamps in the window, at its ends, outside it, unsorted, repeated.
        stamps = rng.choice(
            [start - 5.0, start, start + 1e-9, (start + end) / 2, end - 1e-9, end, end + 3.0],
            size=size,
        )
        if rng.random() < 0.5:
            stamps = rng.uniform(start - 10, end + 10, size)
        values = rng.choice([0.0, 0.1, 0.25, 0.9, -1.5, math.inf, -math.inf, 1e300], size=size)
        count = None if rng.random() < 0.4 else int(rng.integers(0, 10**6))
        dropped = int(rng.integers(0, 3))
        warnings = ["front end warned"] if rng.random() < 0.3 else []
        window = (start, end) if rng.random() < 0.7 else (start - 30.0, end + 30.0)
        if kind == "no_data":
            named = [None, stat, "p50"][int(rng.integers(0, 3))]
            return NoData(
                metric,
                slot,
                start=window[0],
                end=window[1],
                reason="quiet",
                stat=named,
                warnings=warnings,
            )
        if kind == "error":
            return SourceError(
                metric,
                slot,
                start=window[0],
                end=window[1],
                error_type="timeout",
                message="slow",
                status_code=[None, 503][int(rng.integers(0, 2))],
            )
        if kind == "other_metric":
            metric = "other"
        if kind == "other_slot":
            slot = "elsewhere"
        point_stat = None
        if kind in ("points", "other_stat"):
            point_stat = stat if kind == "points" else "p50" if stat != "p50" else "p99"
        return Samples(
            metric,
            slot,
            values,
            stamps,
            start=window[0],
            end=window[1],
            stat=point_stat,
            count=count,
            dropped=dropped,
            warnings=warnings,
        )

    return answer


def test_replay_of_any_log_the_policy_wrote_is_identical() -> None:
    # Property-style: many evaluations over odd answers, several conditions sharing
    # metrics (raw answers for two statistics of one slot), a baseline; every decision
    # and step replays to the same JSON.
    rng = np.random.default_rng(20261205)
    conditions = [
        "p95(latency) > 0.2 min_samples=5",
        "mean(latency) > baseline * 1.5 min_samples=3",
        "count(latency) < 10 min_samples=5",
        "last(request_rate) < 1",
        "max(errors) > 0.5 min_samples=1",
    ]
    policy = RollbackPolicy(
        conditions=conditions, failure_limit=None, consecutive_failure_limit=10**6, deadline=None
    )
    log = DecisionLog(policy, started_at=0.0)
    answer = _odd_answer(rng)
    verdicts = set()
    for evaluation in range(150):
        at = 1000.0 + 60.0 * evaluation
        window = float(rng.choice([1e-3, 30.0, 60.0, 3600.0]))
        log.evaluate(_Answers(answer, now=at), slot="canary", baseline="stable", window=window)
        verdicts.update(c.verdict for c in log.entries[-1][0].conditions)

    again = replay(DecisionLog.from_jsonl(log.to_jsonl()))

    assert verdicts == {"pass", "fail", "inconclusive", "no_data", "error"}
    assert again.identical, again.first_difference
    assert again.steps == tuple(step for _, step in log)


def test_modelship_monitor_replay_agrees_with_a_log_of_odd_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = _odd_answer(np.random.default_rng(3))
    log = DecisionLog(
        RollbackPolicy(
            conditions=[P95, "mean(latency) > 0.5 min_samples=2"],
            failure_limit=None,
            consecutive_failure_limit=99,
        ),
        started_at=0.0,
    )
    for evaluation in range(20):
        log.evaluate(_Answers(answer, now=100.0 + evaluation), slot="canary", window=60.0)
    path = tmp_path / "decisions.jsonl"
    path.write_text(log.to_jsonl())

    code = main(["monitor", "replay", str(path)])

    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("last", "n"),
    [(lambda start, end: end, 5000), (lambda start, end: end + 1.0, 1)],
    ids=["last point kept: its count", "last point left out: no count"],
)
def test_a_statistics_count_stays_while_its_last_point_does(
    last: Callable[[float, float], float], n: int
) -> None:
    # A point of a statistic stamped at the window's (excluded) start was left out, and
    # the count behind the last point, which stayed, went with it: n became the number
    # of points, and the condition was inconclusive until the deadline rolled back.
    def points(metric: str, slot: str, stat: str, start: float, end: float) -> Samples:
        return Samples(
            metric,
            slot,
            [0.1, 0.1, 0.1],
            [start, start + 30.0, last(start, end)],
            start=start,
            end=end,
            stat=stat,
            count=5000,
        )

    log, again = _replayed(_Answers(points), [P95])

    assert log.entries[0][0].conditions[0].n == n
    assert again.identical, again.first_difference
