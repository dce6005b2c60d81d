"""Review 48: conditions and YAML numbers that were read, but not as written.

1. ``error_rate > 5`` was ``mean(error_rate) > 5``: error_rate is a fraction, so it never
   held, and a canary whose every request failed passed. A limit beyond 1 on a fraction
   metric is refused, with the ``5%`` it meant.
2. ``p95 > 15s`` was the mean of a metric called ``p95``: a bare metric named like a
   statistic is refused, with ``p95(<metric>)``.
3. YAML 1.1 base-60 numbers: ``replicas: 1:30`` was 90 replicas (kubectl reads a text
   and refuses it); ``1:30`` stays a text, and a numeric field refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from modelship._rollback._yaml import read_yaml, strict_load
from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError
from modelship.monitor import Condition, InMemorySource, RollbackPolicy

CONTAINERS = [{"name": "m", "image": "m:1"}]

# --- 1. a limit beyond 1 on a fraction ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("error_rate > 5", "write 5% (or 0.05)"),
        ("error_rate < 5", "write 5% (or 0.05)"),
        ("error_rate >= 1.1", "write 1.1% (or 0.011)"),
        ("p95(error_rate) > 2", "write 2% (or 0.02)"),
        ("max(error_rate) > 50", "write 50% (or 0.5)"),
        ("error_rate > baseline + 5", "'baseline + 5%'"),
        ("error_rate > baseline - 2", "'baseline - 0.02'"),
        ("error_rate > 500ms", "not a time"),
        ("error_rate > 2s", "not a time"),
    ],
)
def test_a_limit_beyond_one_on_error_rate_is_refused_with_the_percent_it_meant(
    text: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError, match="fraction from 0 to 1") as info:
        Condition.parse(text)
    assert suggestion in str(info.value)
    assert "at position" in str(info.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"metric": "error_rate", "op": ">", "threshold": 5},
        {"metric": "error_rate", "stat": "p99", "op": ">", "threshold": 5.0},
        {"metric": "error_rate", "op": ">", "baseline_delta": 3},
    ],
)
def test_the_mapping_form_refuses_a_limit_beyond_one_on_error_rate_too(
    fields: dict[str, object],
) -> None:
    with pytest.raises(ConfigError, match="fraction from 0 to 1"):
        Condition.from_dict(fields)
    with pytest.raises(ConfigError, match="fraction from 0 to 1"):
        RollbackPolicy(conditions=[fields])


def test_error_rate_5_no_longer_passes_a_canary_whose_every_request_failed() -> None:
    src = InMemorySource(now=1000.0)
    src.add("error_rate", slot="canary", values=np.ones(100), timestamps=np.linspace(950, 999, 100))
    with pytest.raises(ConfigError, match=r"write 5% \(or 0\.05\)"):
        RollbackPolicy(conditions=["error_rate > 5"])
    decision = RollbackPolicy(conditions=["error_rate > 5%"]).evaluate(
        src, slot="canary", window=60.0
    )
    assert decision.verdict == "fail"


def test_limits_a_fraction_can_cross_and_statistics_that_are_not_fractions_are_kept() -> None:
    # The refusal first (fails on the code before the fix), then what stays accepted.
    with pytest.raises(ConfigError, match="fraction"):
        Condition.parse("last(error_rate) > 3")
    kept = {
        "error_rate > 5%": "mean(error_rate) > 0.05",
        "error_rate > 0.05": "mean(error_rate) > 0.05",
        "error_rate >= 1": "mean(error_rate) >= 1",
        "sum(error_rate) > 5": "sum(error_rate) > 5",
        "count(error_rate) < 100": "count(error_rate) < 100",
        "error_rate > baseline + 5%": "mean(error_rate) > baseline + 5%",
        "error_rate > baseline + 0.05": "mean(error_rate) > baseline + 0.05",
        "error_rate > baseline * 3": "mean(error_rate) > baseline + 200%",
        "request_rate < 5": "mean(request_rate) < 5",
        "mean(accuracy) < 90": "mean(accuracy) < 90",
    }
    for text, shown in kept.items():
        assert str(Condition.parse(text)) == shown


# --- 2. a bare metric named like a statistic ------------------------------------------------


@pytest.mark.parametrize("name", ["p95", "p50", "p99.9", "mean", "count", "max", "min", "sum"])
def test_a_bare_metric_named_like_a_statistic_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="is a statistic, not a metric") as info:
        Condition.parse(f"{name} > 15s")
    assert f"'{name}(inference_latency_seconds)'" in str(info.value)
    assert "at position 0" in str(info.value)


def test_a_metric_really_named_like_a_statistic_is_written_explicitly() -> None:
    with pytest.raises(ConfigError, match=r"write 'mean\(p95\)'"):
        Condition.parse("p95 > 15")
    cond = Condition.parse("mean(p95) > 15")
    assert (cond.stat, cond.metric) == ("mean", "p95")
    assert Condition.parse(str(cond)) == cond
    latency = Condition.parse("p95(inference_latency_seconds) > 15s")
    assert (latency.stat, latency.metric, latency.threshold) == (
        "p95",
        "inference_latency_seconds",
        15.0,
    )


def test_the_deployment_spec_refuses_both_misreadings() -> None:
    for text in ["p95 > 15s", "error_rate > 5"]:
        spec = {"deployment": {"containers": CONTAINERS, "monitoring": {"conditions": [text]}}}
        with pytest.raises(ConfigError, match=r"statistic, not a metric|fraction from 0 to 1"):
            DeploymentSpec.from_dict(spec)


# --- 3. YAML base-60 numbers stay text -------------------------------------------------------


def test_base_60_numbers_stay_text_and_the_rest_of_yaml_1_1_is_unchanged() -> None:
    data = strict_load(
        yaml,
        "a: [1:30, 1:30.5, -1:30, '1:30', 10, 1_000, 010, 0x1f, 1.5, .inf, yes, off, 2024-01-02]",
        "spec.yaml",
    )
    assert data["a"][:4] == ["1:30", "1:30.5", "-1:30", "1:30"]
    assert data["a"][4:12] == [10, 1000, 8, 31, 1.5, float("inf"), True, False]
    assert str(data["a"][12]) == "2024-01-02"
    assert read_yaml("window: 1:30") == {"window": "1:30"}
    # PyYAML's own loader is not changed.
    assert yaml.safe_load("a: 1:30") == {"a": 90}


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ("  replicas: 1:30\n", "replicas"),
        ("  monitoring: {conditions: ['x > 1'], deadline: 1:30}\n", "deadline"),
    ],
)
def test_a_base_60_number_in_a_deployment_file_is_refused(
    tmp_path: Path, lines: str, field: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("deployment:\n  containers: [{name: m, image: 'm:1'}]\n" + lines)
    with pytest.raises(ConfigError, match=f"{field}='1:30'"):
        DeploymentSpec.from_file(path)


def test_a_base_60_cpu_is_refused_not_read_as_90(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "deployment:\n  containers:\n    - name: m\n      image: 'm:1'\n"
        "      resources: {limits: {cpu: 1:30}}\n"
    )
    with pytest.raises(ConfigError, match="'1:30' is not a Kubernetes quantity"):
        DeploymentSpec.from_file(path)


@pytest.mark.parametrize("text", ["\u0661\u0660m", "\U0001d7d3m", "1\u0660s"])
def test_a_duration_of_digits_other_than_ascii_is_refused(text: str) -> None:
    """Durations read "\\d", which takes Arabic-Indic and mathematical digits: Arabic-Indic
    "10m" was 600 s. The condition parser already refused them."""
    from modelship.deploy._spec import parse_duration

    with pytest.raises(ConfigError):
        parse_duration(text)


def test_a_decision_log_written_before_the_fraction_rule_still_reads() -> None:
    """``error_rate > 5`` was accepted until stop 48: a decision log recording it is an
    audit trail, and reads (as logs with an unreachable ``count(m) < N`` do)."""
    from modelship.monitor import DecisionLog, RollbackPolicy

    text = DecisionLog(RollbackPolicy(conditions=["error_rate > 0.5"]), started_at=0.0).to_jsonl()
    old = text.replace("0.5", "5")
    assert DecisionLog.from_jsonl(old).policy.conditions[0].threshold == 5
    with pytest.raises(ConfigError, match="fraction"):
        RollbackPolicy(conditions=["error_rate > 5"])  # a policy written now is refused
