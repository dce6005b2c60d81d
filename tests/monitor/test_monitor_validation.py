"""Every public entry point of the monitor refuses what it cannot use with a ConfigError
that says what was wrong, shows a bounded part of the value, and never lets a raw
TypeError, KeyError, AttributeError, OverflowError or RecursionError out. Documents read
back from disk (decisions, logs, tracker state) are checked field by field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _ids import stable_id

import modelship as ms
from modelship.deploy import BlueGreen
from modelship.monitor import (
    CallableSource,
    CanaryMetric,
    Condition,
    Decision,
    DecisionLog,
    InMemorySource,
    PolicyTracker,
    PrometheusSource,
    RollbackPolicy,
    RoutedSource,
    canary_analysis,
    replay,
    run_policy,
    watch,
)
from modelship.testing import InMemoryDeployer

P95 = "p95(inference_latency_seconds) > 0.2"
URL = "http://127.0.0.1:9"


def _policy(**kwargs: Any) -> RollbackPolicy:
    return RollbackPolicy(conditions=[P95], **kwargs)


def _log() -> DecisionLog:
    src = InMemorySource(now=60.0)
    src.add("inference_latency_seconds", slot="canary", values=[0.1] * 40, timestamps=range(40))
    log = DecisionLog(_policy(), started_at=0.0)
    log.evaluate(src, slot="canary", window=60.0)
    return log


# --- the YAML reader ----------------------------------------------------------------------


def _laughs() -> str:
    lines = ["a: &a [1,1,1,1,1,1,1,1,1]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines.append("monitoring: {conditions: ['x > 1'], metrics: *g}")
    return "\n".join(lines)


def test_a_yaml_of_nested_aliases_is_refused_with_a_short_message() -> None:
    with pytest.raises(ms.ConfigError, match=r"more than 100000 values") as caught:
        RollbackPolicy.from_yaml(_laughs())
    assert len(str(caught.value)) < 500


def test_a_key_given_twice_in_the_yaml_is_refused() -> None:
    text = "monitoring:\n  conditions: ['x > 1']\n  failure_limit: 1\n  failure_limit: 5\n"
    with pytest.raises(ms.ConfigError, match=r"line 4: the key 'failure_limit' is given twice"):
        RollbackPolicy.from_yaml(text)


def test_yaml_nested_too_deeply_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match=r"not valid YAML|nested"):
        RollbackPolicy.from_yaml("[" * 10_000)


@pytest.mark.parametrize("source", [None, 5, b"monitoring: {}"])
def test_a_yaml_source_that_is_neither_text_nor_a_path_is_refused(source: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"a str \(YAML text\) or a pathlib.Path"):
        RollbackPolicy.from_yaml(source)


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match=r"nope.yaml: cannot read it"):
        RollbackPolicy.from_yaml(tmp_path / "nope.yaml")


def test_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match=r"cannot read it"):
        RollbackPolicy.from_yaml(tmp_path)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"monitoring:\n  conditions: ['x > 1']  # \xff\xfe\n")
    with pytest.raises(ms.ConfigError, match=r"not UTF-8"):
        RollbackPolicy.from_yaml(path)


def test_a_file_is_read_when_given_as_a_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("monitoring:\n  conditions: ['x > 1']\n", encoding="utf-8")
    assert RollbackPolicy.from_yaml(path).conditions == (Condition.parse("x > 1"),)


@pytest.mark.parametrize("text", ["deploy/policy.yaml", "policy.yml", "./monitoring.json"])
def test_a_str_that_looks_like_a_path_says_to_pass_a_path(text: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"a str is read as YAML text.*pathlib\.Path"):
        RollbackPolicy.from_yaml(text)


# --- the policy's own settings ----------------------------------------------------------


@pytest.mark.parametrize("conditions", [None, 5, 2.5])
def test_conditions_that_are_not_a_list_are_refused(conditions: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"conditions must be a list of conditions"):
        RollbackPolicy(conditions)


@pytest.mark.parametrize("metrics", [5, None])
def test_monitoring_metrics_that_are_not_a_list_are_refused(metrics: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"monitoring.metrics must be a list of names"):
        RollbackPolicy.from_dict({"conditions": [P95], "metrics": metrics})


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (["model_acuracy"], r"metrics\[0\]='model_acuracy' is not allowed"),
        (["model_accuracy", 1], r"metrics\[1\]=1 is not allowed"),
        (["error_rate", "error_rate"], r"metrics\[1\]='error_rate' is given twice"),
    ],
)
def test_metrics_the_deployment_spec_refuses_are_refused_too(
    metrics: list[Any], message: str
) -> None:
    with pytest.raises(ms.ConfigError, match=message):
        RollbackPolicy.from_dict({"conditions": [P95], "metrics": metrics})
    with pytest.raises(ms.ConfigError, match=message):
        _policy(metrics=metrics)


def test_a_deadline_too_large_for_a_float_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match=r"deadline"):
        RollbackPolicy.from_dict({"conditions": [P95], "deadline": 10**400})


def test_unknown_keys_of_mixed_types_are_named() -> None:
    with pytest.raises(ms.ConfigError, match=r"unknown monitoring keys"):
        RollbackPolicy.from_dict({"conditions": [P95], 1: 2, "x": 3})


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"stat": 5},
        {"stat": None},
        {"stat": "p95\n"},
        {"op": [">"]},
        {"op": {}},
        {"metric": "x\n"},
        {"threshold": 10**400},
    ],
    ids=str,
)
def test_an_invalid_condition_field_is_a_config_error(fields: dict[str, Any]) -> None:
    given = {"metric": "x", "threshold": 1.0, **fields}
    with pytest.raises(ms.ConfigError):
        Condition(**given)
    with pytest.raises(ms.ConfigError):
        Condition.from_dict(given)


@pytest.mark.parametrize("text", ["x > \u0661", "p\u0669\u0665(x) > 1", "x > 1 min_samples=\u0663"])
def test_only_ascii_digits_are_numbers_in_a_condition(text: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"in condition"):
        Condition.parse(text)


def test_a_percentile_written_in_other_digits_is_not_a_statistic() -> None:
    assert ms.monitor.quantile_of("p\u0669\u0665") is None


def test_a_long_condition_text_is_cut_in_the_message() -> None:
    with pytest.raises(ms.ConfigError) as caught:
        Condition.parse("x > " + "y" * 100_000)
    assert len(str(caught.value)) < 500


# --- one evaluation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"window": "60"}, "window"),
        ({"window": None}, "window"),
        ({"window": True}, "window"),
        ({"window": 10**400}, "window"),
        ({"slot": ["c"]}, "slot"),
        ({"at": math.nan}, "at"),
        ({"at": "100"}, "at"),
        ({"at": math.inf}, "at"),
        ({"baseline": 5}, "baseline"),
    ],
    ids=str,
)
def test_evaluate_refuses_an_invalid_argument_by_name(kwargs: dict[str, Any], name: str) -> None:
    arguments: dict[str, Any] = {"slot": "canary", "window": 60.0, **kwargs}
    with pytest.raises(ms.ConfigError, match=rf"^{name}="):
        _policy().evaluate(InMemorySource(now=100.0), **arguments)


def test_evaluate_refuses_a_source_that_is_not_one() -> None:
    with pytest.raises(ms.ConfigError, match=r"^source=None is not allowed"):
        _policy().evaluate(None, slot="canary", window=60.0)  # type: ignore[arg-type]


def test_a_clock_that_returns_something_else_than_a_time_is_a_config_error() -> None:
    src = InMemorySource(now=lambda: "soon")  # type: ignore[arg-type,return-value]
    with pytest.raises(ms.ConfigError, match=r"returned 'soon'"):
        _policy().evaluate(src, slot="canary", window=60.0)


# --- the tracker --------------------------------------------------------------------------


def _state(**changes: Any) -> dict[str, Any]:
    return {**_policy().tracker(started_at=0.0).to_dict(), **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"failures": -3},
        {"consecutive_errors": -1},
        {"evaluations": 1.5},
        {"evaluations": True},
        {"last_pass": math.inf},
        {"last_pass": "0"},
        {"rolled_back": 5},
        {"rolled_back": {"action": "explode"}},
        {"extra": 1},
        {"evaluations": 1, "failures": 2},
        {"evaluations": 2, "failures": 1, "consecutive_failures": 2},
    ],
    ids=str,
)
def test_a_tracker_state_out_of_range_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ms.ConfigError, match=r"tracker state|recorded step"):
        PolicyTracker.from_dict(_policy(), _state(**changes))


def test_negative_counters_no_longer_buy_extra_failures() -> None:
    with pytest.raises(ms.ConfigError, match=r"failures=-3 is not allowed"):
        PolicyTracker.from_dict(_policy(), _state(failures=-3, evaluations=0))


def test_an_empty_tracker_state_names_the_missing_key() -> None:
    with pytest.raises(ms.ConfigError, match=r"has no 'evaluations'"):
        PolicyTracker.from_dict(_policy(), {})


def test_a_tracker_needs_a_policy() -> None:
    with pytest.raises(ms.ConfigError, match=r"^policy=None is not allowed"):
        PolicyTracker.from_dict(None, _state())  # type: ignore[arg-type]


def test_a_tracker_updates_only_with_a_decision() -> None:
    with pytest.raises(ms.ConfigError, match=r"^decision='pass' is not allowed"):
        _policy().tracker(started_at=0.0).update("pass")  # type: ignore[arg-type]


def test_a_tracker_state_written_by_to_dict_still_resumes() -> None:
    tracker = _policy().tracker(started_at=5.0)
    tracker.update(_log().entries[0][0])
    assert PolicyTracker.from_dict(_policy(), tracker.to_dict()).to_dict() == tracker.to_dict()


# --- decisions and logs read back ---------------------------------------------------------


def _decision_dict(**changes: Any) -> dict[str, Any]:
    return {**_log().entries[0][0].to_dict(), **changes}


@pytest.mark.parametrize("text", ["", "[]", "nope", "[" * 100_000, 5])
def test_text_that_is_not_a_decision_object_is_a_config_error(text: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"decision"):
        Decision.from_json(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"window": "abc"}, "window='abc' is not allowed"),
        ({"window": -60.0}, "window=-60.0 is not allowed"),
        ({"verdict": "bogus"}, "verdict='bogus' is not allowed"),
        ({"at": None}, "at=None is not allowed"),
        ({"reasons": "x"}, "reasons='x' is not allowed"),
        ({"conditions": [5]}, r"conditions\[0\]=5 is not allowed"),
        ({"inputs": [{"outcome": "samples"}]}, "has no 'metric'"),
        ({"inputs": [{}]}, "not a recorded source outcome"),
    ],
    ids=str,
)
def test_a_decision_field_that_is_not_what_to_dict_writes_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ms.ConfigError, match=message):
        Decision.from_json(json.dumps(_decision_dict(**changes)))


def test_a_decision_without_its_time_names_the_missing_key() -> None:
    data = _decision_dict()
    del data["at"]
    with pytest.raises(ms.ConfigError, match=r"has no 'at'"):
        Decision.from_dict(data)


def test_a_recorded_condition_result_with_a_bad_value_is_refused() -> None:
    data = _decision_dict()
    data["conditions"][0]["value"] = "abc"
    with pytest.raises(ms.ConfigError, match=r"value='abc' is not allowed"):
        Decision.from_dict(data)


def test_a_recorded_sample_value_that_is_not_a_number_is_refused() -> None:
    data = _decision_dict()
    data["inputs"][0]["values"][3] = "abc"
    with pytest.raises(ms.ConfigError, match=r"values\[3\]='abc' is not allowed"):
        Decision.from_dict(data)


def _jsonl() -> list[str]:
    return _log().to_jsonl().splitlines()


def test_a_log_line_without_a_decision_names_the_line() -> None:
    head = _jsonl()[0]
    with pytest.raises(ms.ConfigError, match=r"decision log line 2 has no 'decision'"):
        DecisionLog.from_jsonl(head + "\n{}")


def test_a_log_without_its_start_time_is_refused() -> None:
    head = json.loads(_jsonl()[0])
    del head["started_at"]
    with pytest.raises(ms.ConfigError, match=r"has no 'started_at'"):
        DecisionLog.from_jsonl(json.dumps(head))


def test_a_log_step_with_an_unknown_action_is_refused() -> None:
    head, line = _jsonl()
    record = json.loads(line)
    record["step"]["action"] = "promote"
    with pytest.raises(ms.ConfigError, match=r"line 2: .*action='promote' is not allowed"):
        DecisionLog.from_jsonl(head + "\n" + json.dumps(record))


def test_a_log_that_is_not_text_is_refused() -> None:
    with pytest.raises(ms.ConfigError, match=r"JSON Lines text"):
        DecisionLog.from_jsonl(None)  # type: ignore[arg-type]


def test_replay_needs_a_decision_log() -> None:
    with pytest.raises(ms.ConfigError, match=r"^log=None is not allowed"):
        replay(None)  # type: ignore[arg-type]


def test_a_log_written_by_to_jsonl_still_replays() -> None:
    assert replay(DecisionLog.from_jsonl(_log().to_jsonl())).identical


# --- Prometheus ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["slot", "le", "__name__", "code"])
def test_a_label_the_source_sets_itself_is_refused(label: str) -> None:
    with pytest.raises(ms.ConfigError, match=rf"the source sets '{label}' itself"):
        PrometheusSource(URL, labels={label: "x"})


def test_with_another_slot_label_the_slot_label_is_refused_and_slot_is_free() -> None:
    with pytest.raises(ms.ConfigError, match=r"sets 'deployment' itself"):
        PrometheusSource(URL, slot_label="deployment", labels={"deployment": "x"})
    src = PrometheusSource(URL, slot_label="deployment", labels={"slot": "x"})
    canary = src.render("error_rate", "mean", slot="canary", window=60)
    stable = src.render("error_rate", "mean", slot="stable", window=60)
    assert canary != stable


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": {"model": 5}}, r"labels\['model'\]=5 is not allowed"),
        ({"labels": {"bad name": "x"}}, "a Prometheus label name"),
        ({"labels": ["model"]}, "labels=.* is not allowed"),
        ({"queries": {("m", "mean"): 5}}, r"queries\[\('m', 'mean'\)\]=5 is not allowed"),
        ({"queries": {"m": "up"}}, "a .metric, stat. pair"),
        ({"queries": [("m", "up")]}, "queries=.* is not allowed"),
        ({"headers": [1]}, "headers=.* is not allowed"),
        ({"headers": {"X-Org": 5}}, r"headers\['X-Org'\]=5 is not allowed"),
        ({"clock": 5}, "clock=5 is not allowed"),
        ({"basic_auth": "user:pw"}, "basic_auth='user:pw' is not allowed"),
        ({"basic_auth": ("a", "b", "c")}, "basic_auth=.* is not allowed"),
        ({"cert": ("cert.pem", 5)}, "cert=.* is not allowed"),
        ({"verify": None}, "verify=None is not allowed"),
        ({"slot_label": "le"}, "slot_label='le' is a label the queries set"),
    ],
    ids=str,
)
def test_prometheus_source_settings_are_checked_up_front(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ms.ConfigError, match=message):
        PrometheusSource(URL, **kwargs)


def test_a_prometheus_clock_returning_a_non_time_is_a_config_error() -> None:
    src = PrometheusSource(URL, clock=lambda: "now")  # type: ignore[arg-type,return-value]
    with pytest.raises(ms.ConfigError, match=r"clock\(\) returned 'now'"):
        src.now()


@pytest.mark.parametrize("window", [0, -1.0, math.inf])
def test_render_with_a_bad_window_says_so(window: float) -> None:
    src = PrometheusSource(URL)
    with pytest.raises(ms.ConfigError, match=r"^window=") as caught:
        src.render("inference_latency_seconds", "p95", slot="canary", window=window)
    assert "placeholder" not in str(caught.value)


# --- the loop, the canary analysis, watch, composed sources -------------------------------


def _run(**changes: Any) -> None:
    arguments: dict[str, Any] = {
        "slot": "canary",
        "window": 60.0,
        "interval": 60.0,
        "duration": 60.0,
        "sleep": lambda seconds: None,
        **changes,
    }
    source = arguments.pop("source", InMemorySource(now=0.0))
    policy = arguments.pop("policy", _policy())
    run_policy(source, policy, **arguments)


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"policy": None}, "policy"),
        ({"policy": [P95]}, "policy"),
        ({"source": None}, "source"),
        ({"sleep": 5}, "sleep"),
        ({"on_rollback": 5}, "on_rollback"),
        ({"on_step": "print"}, "on_step"),
        ({"log": []}, "log"),
    ],
    ids=str,
)
def test_run_policy_refuses_an_invalid_argument_by_name(changes: dict[str, Any], name: str) -> None:
    with pytest.raises(ms.ConfigError, match=rf"^{name}="):
        _run(**changes)


def test_run_policy_bounds_the_number_of_evaluations() -> None:
    with pytest.raises(ms.ConfigError, match=r"evaluations; a run makes at most 1000000"):
        _run(interval=1e-300, duration=1e308)


@pytest.mark.parametrize("metrics", [["inference_latency_seconds"], None, "latency"], ids=str)
def test_canary_analysis_needs_a_list_of_canary_metrics(metrics: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"^metrics"):
        canary_analysis(InMemorySource(now=60.0), metrics, canary="c", baseline="b", window=60.0)


def test_canary_analysis_needs_a_source() -> None:
    with pytest.raises(ms.ConfigError, match=r"^source="):
        canary_analysis(None, [CanaryMetric("m")], canary="c", baseline="b", window=60.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("rollout", [None, "rollout"])
def test_watch_needs_a_rollout(rollout: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"^rollout="):
        watch(rollout, InMemorySource(now=0.0), _policy())


def test_watch_needs_a_clock_that_is_one() -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    with pytest.raises(ms.ConfigError, match=r"^clock=5 is not allowed"):
        watch(rollout, InMemorySource(now=0.0), _policy(), clock=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("routes", "kwargs", "message"),
    [
        ({"m": 5}, {}, r"routes\['m'\]=5 is not allowed"),
        ({5: InMemorySource()}, {}, "a route's metric=5"),
        (["m"], {}, "routes=.* is not allowed"),
        ({}, {"default": 5}, "default=5 is not allowed"),
        ({"m": InMemorySource()}, {"clock": "wall"}, "clock='wall' is not allowed"),
    ],
    ids=stable_id,
)
def test_a_routed_source_checks_its_routes(
    routes: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ms.ConfigError, match=message):
        RoutedSource(routes, **kwargs)


@pytest.mark.parametrize("now", ["abc", math.nan, math.inf, True, 10**400, [1.0]], ids=str)
def test_a_fixed_clock_must_be_a_finite_time(now: Any) -> None:
    with pytest.raises(ms.ConfigError, match=r"^now="):
        InMemorySource(now=now)
    with pytest.raises(ms.ConfigError, match=r"^now="):
        CallableSource(lambda *args: ([], []), now=now)
    with pytest.raises(ms.ConfigError, match=r"^now="):
        InMemorySource().set_now(now)


def test_valid_clocks_still_work() -> None:
    assert InMemorySource(now=5).now() == 5.0
    assert InMemorySource(now=np.float64(2.5)).now() == 2.5
    assert CallableSource(lambda *args: ([], []), now=lambda: 7).now() == 7.0
