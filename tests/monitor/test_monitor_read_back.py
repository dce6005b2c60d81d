"""What the monitor writes, its readers read: outcomes and condition results are checked
when made by the rules a decision log's reader applies; logs and tracker states written
by earlier versions of schema 1 stay readable; a stored document the reader refuses is a
ConfigError (exit 2 in the CLI), never a raw IndexError or MemoryError. Also: watch checks
every argument before it writes a log or records an event, and the bounds of conditions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from monitor_support import Scripted

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen
from modelship.monitor import (
    CallableSource,
    Condition,
    ConditionResult,
    DecisionLog,
    InMemorySource,
    NoData,
    PolicyTracker,
    PrometheusSource,
    RollbackPolicy,
    Samples,
    SourceError,
    replay,
    watch,
)
from modelship.testing import InMemoryDeployer

SCHEMA1 = Path(__file__).parent / "data" / "schema1"
P95 = "p95(latency) > 0.2 min_samples=1"


def _points_log() -> tuple[str, dict[str, Any]]:
    """A log of one evaluation of points with a count: its first line and its entry."""
    src = InMemorySource(now=60.0)
    src.add_points(
        "latency", slot="canary", stat="p95", values=[0.1], timestamps=[50.0], counts=[40]
    )
    log = DecisionLog(RollbackPolicy(conditions=[P95]), started_at=0.0)
    log.evaluate(src, slot="canary", window=60.0)
    head, line = log.to_jsonl().splitlines()
    return head, json.loads(line)


def _with_input(**changes: Any) -> str:
    head, entry = _points_log()
    entry["decision"]["inputs"][0].update(changes)
    return head + "\n" + json.dumps(entry) + "\n"


# --- samples: what a source may answer ---------------------------------------------------


def test_samples_without_values_are_refused_when_made() -> None:
    with pytest.raises(ms.ConfigError, match=r"hold no values; .* answers NoData"):
        Samples("m", "canary", [], [], start=0.0, end=60.0)


def test_an_empty_samples_answer_of_a_callable_source_is_a_config_error() -> None:
    def fetch(metric: str, slot: str, start: float, end: float) -> Samples:
        return Samples(metric, slot, [], [], start=start, end=end)

    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    with pytest.raises(ms.ConfigError, match=r"hold no values"):
        policy.evaluate(CallableSource(fetch, now=60.0), slot="canary", window=60.0)


@pytest.mark.parametrize(
    "changes",
    [{"count": -3}, {"dropped": -1}, {"timestamps": [math.nan]}, {"start": 61.0}],
    ids=str,
)
def test_samples_the_reader_would_refuse_are_refused_when_made(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"start": 0.0, "end": 60.0, "timestamps": [1.0], **changes}
    with pytest.raises(ms.ConfigError):
        Samples("m", "canary", [0.5], fields.pop("timestamps"), **fields)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Samples("m", "c", [1.0], [1.0], start=0, end=2, stat="avg"), r"samples\.stat"),
        (lambda: Samples(1, "c", [1.0], [1.0], start=0, end=2), r"samples\.metric=1"),
        (lambda: Samples("m", "c", ["a"], [1.0], start=0, end=2), r"sequences of numbers"),
        (lambda: Samples("m", "c", [1.0], [1.0], start="0", end=2), r"finite numbers; got '0'"),
        (lambda: Samples("m", "c", [1.0], [1.0], start=10**400, end=2), r"finite numbers"),
        (lambda: NoData("m", "c", start=True, end=2, reason="r"), r"finite numbers; got True"),
        (lambda: NoData("m", "c", start=0, end=2, reason=3), r"reason=3"),
        (lambda: NoData("m", 2, start=0, end=2, reason="r"), r"slot=2"),
        (lambda: NoData("m", "c", start=0, end=2, reason="r", stat="p100"), r"stat='p100'"),
        (
            lambda: SourceError("m", "c", start=0, end=1, error_type="t", message=b"m"),
            r"message=b'm'",
        ),
        (
            lambda: SourceError(
                "m", "c", start=0, end=1, error_type="t", message="m", status_code=-1
            ),
            r"status_code=-1",
        ),
    ],
    ids=range(11),
)
def test_an_outcome_the_reader_would_refuse_is_a_config_error_when_made(
    make: Any, message: str
) -> None:
    # Each was accepted when made (or raised a raw ValueError) and written to a decision
    # log that its own reader then refused.
    with pytest.raises(ms.ConfigError, match=message):
        make()


def test_a_value_answered_for_no_statistic_reads_back() -> None:
    # The drift and outcome sources answer stat="value" when asked for none; the reader
    # refused it, so their answer could be made but not read back.
    made = Samples("feature_drift", "canary", [0.3], [60.0], start=0, end=60, stat="value")
    assert Samples.from_dict(made.to_dict()).to_dict() == made.to_dict()


def test_a_condition_result_with_a_negative_sample_size_is_refused_when_made() -> None:
    with pytest.raises(ms.ConfigError, match=r"condition result\.n=-3 is not allowed"):
        ConditionResult(condition="mean(x) > 1", verdict="pass", reason="ok", n=-3)


def test_a_negative_count_from_prometheus_is_a_bad_response(scripted: Scripted) -> None:
    body = {"status": "success", "data": {"resultType": "vector", "result": []}}
    body["data"]["result"] = [{"metric": {}, "value": [60.0, "-3"]}]  # type: ignore[index]
    scripted.answer(body)
    source = PrometheusSource(
        scripted.url,
        clock=lambda: 60.0,
        queries={("latency", "p95"): "p95{$selector}", ("latency", "count"): "n{$selector}"},
    )
    out = source.fetch("latency", slot="canary", stat="p95", start=0.0, end=60.0)
    assert isinstance(out, SourceError)
    assert (out.error_type, out.stat) == ("bad_response", "p95")
    log = DecisionLog(RollbackPolicy(conditions=[P95]), started_at=0.0)
    log.evaluate(source, slot="canary", window=60.0)
    assert DecisionLog.from_jsonl(log.to_jsonl()).entries[0][0].verdict == "error"


def test_deeply_nested_json_from_prometheus_is_a_bad_response(scripted: Scripted) -> None:
    scripted.answer(b"[" * 100_000 + b"]" * 100_000)
    out = PrometheusSource(scripted.url).fetch(
        "error_rate", slot="canary", stat="mean", start=0.0, end=60.0
    )
    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"


def test_a_log_with_a_window_reaching_far_back_reads_back() -> None:
    src = InMemorySource(now=1.7e9)
    src.add("error_rate", slot="canary", values=[0.0] * 50, timestamps=[1.6e9] * 50)
    log = DecisionLog(RollbackPolicy(conditions=["error_rate > 1%"]), started_at=0.0)
    log.evaluate(src, slot="canary", window=1.1e12)
    assert len(DecisionLog.from_jsonl(log.to_jsonl())) == 1


def test_a_window_that_starts_before_any_float_time_is_refused() -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    with pytest.raises(ms.ConfigError, match=r"give a shorter window"):
        policy.evaluate(InMemorySource(), slot="canary", window=1.7e308, at=-1.7e308)


# --- stored documents that the reader refuses -------------------------------------------


def test_a_stored_samples_outcome_without_values_is_refused_on_reading() -> None:
    with pytest.raises(ms.ConfigError, match=r"^decision log line 2: .*hold no values"):
        DecisionLog.from_jsonl(_with_input(values=[], timestamps=[]))


def test_replay_counts_a_huge_dropped_count_without_making_an_array() -> None:
    log = DecisionLog.from_jsonl(_with_input(dropped=10**30))
    again = replay(log).decisions[0]
    assert again.inputs[0].dropped == 10**30  # type: ignore[union-attr]


def test_cli_replay_of_a_log_without_values_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(_with_input(values=[], timestamps=[]))
    assert main(["monitor", "replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert "decision log line 2" in err
    assert "Traceback" not in err


def test_an_error_in_the_first_line_of_a_log_names_line_1() -> None:
    head, entry = _points_log()
    first = json.loads(head)
    first["policy"]["failure_limit"] = -1
    with pytest.raises(ms.ConfigError, match=r"^decision log line 1: "):
        DecisionLog.from_jsonl(json.dumps(first) + "\n" + json.dumps(entry))


# --- documents written by earlier versions of schema 1 ------------------------------------


def test_a_log_naming_any_metrics_in_its_policy_still_reads_and_replays() -> None:
    log = DecisionLog.from_jsonl((SCHEMA1 / "a.jsonl").read_text())
    assert log.policy.metrics == ("inference_latency_seconds", "accuracy")
    assert replay(log).identical


def test_a_log_of_a_millisecond_clock_still_reads_and_replays() -> None:
    log = DecisionLog.from_jsonl((SCHEMA1 / "b.jsonl").read_text())
    assert log.started_at == 1.7e12
    assert replay(log).identical


def test_a_tracker_state_of_a_millisecond_clock_still_resumes() -> None:
    state = json.loads((SCHEMA1 / "c.json").read_text())
    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    assert PolicyTracker.from_dict(policy, state).last_pass == 1.7e12


def test_a_new_policy_still_names_only_known_metrics() -> None:
    with pytest.raises(ms.ConfigError, match=r"metrics\[0\]='accuracy' is not allowed"):
        RollbackPolicy(conditions=["x > 1"], metrics=["accuracy"])


def test_a_log_policy_with_an_empty_metric_name_is_refused() -> None:
    head, entry = _points_log()
    first = json.loads(head)
    first["policy"]["metrics"] = [""]
    with pytest.raises(ms.ConfigError, match=r"^decision log line 1: monitoring\.metrics\[0\]"):
        DecisionLog.from_jsonl(json.dumps(first) + "\n" + json.dumps(entry))


# --- watch checks before it acts ----------------------------------------------------------


def _rollout() -> tuple[Any, InMemoryDeployer]:
    dep = InMemoryDeployer()
    return BlueGreen(dep, clock=dep.clock).deploy("fraud", "1"), dep


@pytest.mark.parametrize(
    ("conditions", "timing", "message"),
    [
        (["error_rate > 1%"], {"interval": 0.001, "duration": 1e4}, r"evaluations"),
        (["error_rate > baseline"], {"interval": 60.0, "duration": 120.0}, r"baseline"),
    ],
    ids=["too many evaluations", "relative without baseline"],
)
def test_a_refused_watch_leaves_no_log_file_and_no_event(
    tmp_path: Path, conditions: list[str], timing: dict[str, float], message: str
) -> None:
    rollout, dep = _rollout()
    events = len(rollout.history)
    path = tmp_path / "watch.jsonl"
    policy = RollbackPolicy(conditions=conditions, deadline=None)
    source = InMemorySource(now=dep.clock.monotonic)
    with pytest.raises(ms.ConfigError, match=message):
        watch(rollout, source, policy, clock=dep.clock, log_path=path, **timing)
    assert not path.exists()
    assert len(rollout.history) == events


def test_a_refused_cli_watch_leaves_no_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "watch.jsonl"
    argv = ["monitor", "watch", "http://127.0.0.1:9", "--slot", "green", "-c", "error_rate > 1%"]
    argv += ["--interval", "0.001", "--duration", "10000", "--log", str(path)]
    assert main(argv) == 2
    assert "evaluations" in capsys.readouterr().err
    assert not path.exists()


def test_the_evaluation_limit_does_not_recommend_continuing_a_log() -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    with pytest.raises(ms.ConfigError) as caught:
        ms.monitor.run_policy(
            InMemorySource(), policy, slot="c", window=1.0, interval=0.001, duration=1e4
        )
    assert "log=" not in str(caught.value)
    assert "raise the interval" in str(caught.value)


# --- conditions and policies ----------------------------------------------------------------


def test_a_min_samples_of_thousands_of_digits_is_a_config_error() -> None:
    # Refused before it is read: a condition is at most 1,000 characters.
    with pytest.raises(ms.ConfigError, match=r"at most 1,000 characters"):
        Condition.parse("x > 1 min_samples=" + "1" * 5000)


@pytest.mark.parametrize("value", [10**12 + 1, 10**5000], ids=["max + 1", "5000 digits"])
def test_a_min_samples_above_the_maximum_is_refused_when_made(value: int) -> None:
    with pytest.raises(ms.ConfigError, match=r"at most 1,000,000,000,000"):
        Condition(metric="x", threshold=1.0, min_samples=value)


def test_the_largest_min_samples_is_accepted_and_shown() -> None:
    cond = Condition.parse("x > 1 min_samples=1000000000000")
    assert cond.min_samples == 10**12
    assert Condition.parse(str(cond)) == cond


def test_a_percentile_with_too_many_decimals_says_so() -> None:
    with pytest.raises(ms.ConfigError, match=r"at most 10 decimals"):
        Condition.parse("p99.9999999999999(x) > 1")


def test_a_percentile_with_ten_decimals_is_below_one() -> None:
    assert ms.monitor.quantile_of("p99.9999999999") == 0.999999999999


def test_a_deployment_without_a_monitoring_section_says_so() -> None:
    with pytest.raises(ms.ConfigError, match=r"no monitoring: section"):
        RollbackPolicy.from_dict({"deployment": {"strategy": "canary"}})
