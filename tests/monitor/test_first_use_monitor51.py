"""First use of monitoring conditions and YAML files: a condition naming a metric without
a PromQL template says which have one and the nearest name (a spec's ``monitoring.metrics``
name maps to the condition's series name), and every YAML error is one line, a tab in the
indentation saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import DeploymentSpec
from modelship.monitor import PrometheusSource, RollbackPolicy

TAB_YAML = 'deployment:\n  monitoring:\n\tconditions: ["error_rate > 1%"]\n'


def _refusal(metric: str, stat: str) -> str:
    source = PrometheusSource("http://127.0.0.1:9")
    with pytest.raises(ms.ConfigError) as info:
        source.render(metric, stat, slot="green", window=60.0)
    return str(info.value)


def test_a_spec_metric_name_in_a_condition_names_the_series() -> None:
    message = _refusal("inference_latency", "p95")
    assert "did you mean p95(inference_latency_seconds)?" in message
    assert "monitoring.metrics names what the server exports (inference_latency)" in message
    assert "a condition names the Prometheus series (inference_latency_seconds)" in message


def test_a_typo_gets_the_nearest_name_and_the_list_of_templates() -> None:
    message = _refusal("eror_rate", "mean")
    assert "did you mean mean(error_rate)?" in message
    assert "error_rate: count, mean" in message
    assert "inference_latency_seconds: count, mean, median, p50, p90, p95, p99" in message
    assert "request_rate: count, mean" in message
    assert "PrometheusSource(queries=" in message  # the Python way stays one option


def test_a_statistic_without_a_template_gets_the_nearest_one() -> None:
    message = _refusal("inference_latency_seconds", "p59")
    assert "known for inference_latency_seconds: count, mean, median, p50, p90" in message
    assert "did you mean p99(inference_latency_seconds)?" in message
    assert "error_rate: count, mean" in message


def test_accuracy_says_the_server_exports_no_series_for_it() -> None:
    message = _refusal("model_accuracy", "mean")
    assert "exports no Prometheus series" in message
    assert "CallableSource" in message


def test_the_spec_refusing_a_series_name_says_how_the_names_map() -> None:
    with pytest.raises(ms.ConfigError) as info:
        DeploymentSpec.from_dict(
            {
                "deployment": {
                    "containers": [{"name": "m", "image": "m:1"}],
                    "monitoring": {"metrics": ["inference_latency_seconds"]},
                }
            }
        )
    message = str(info.value)
    assert "write 'inference_latency'" in message
    assert "a condition names the Prometheus series (inference_latency_seconds)" in message


def test_a_tab_in_a_policy_file_is_one_line_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "tab.yaml"
    path.write_text(TAB_YAML)
    with pytest.raises(ms.ConfigError) as info:
        RollbackPolicy.from_yaml(path)
    message = str(info.value)
    assert "\n" not in message
    assert "indentation must use spaces, not tabs (line 3, column 1 has a tab)" in message


def test_a_tab_in_a_spec_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "tab.yaml"
    path.write_text(TAB_YAML)
    with pytest.raises(ms.ConfigError) as info:
        DeploymentSpec.from_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert "indentation must use spaces, not tabs (line 3" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1,\n", "(line 2, column 1)"),
        ("a: b: c\n", "mapping values are not allowed here (line 1, column 5)"),
        ('a: "x\n', "while scanning a quoted scalar (from line 1, column 4)"),
        ("x: \x07", "#x0007 at line 1, column 4: special characters are not allowed"),
    ],
)
def test_other_yaml_errors_are_one_line_with_the_line(text: str, expected: str) -> None:
    with pytest.raises(ms.ConfigError) as info:
        RollbackPolicy.from_yaml(text)
    message = str(info.value)
    assert "\n" not in message
    assert "<unicode string>" not in message
    assert expected in message


def test_a_policy_file_naming_a_series_in_metrics_says_how_the_names_map() -> None:
    from modelship.monitor import RollbackPolicy

    with pytest.raises(ms.ConfigError) as caught:
        RollbackPolicy.from_dict(
            {"metrics": ["inference_latency_seconds"], "conditions": ["error_rate > 0.1"]}
        )
    assert "inference_latency_seconds is inference_latency here" in str(caught.value)
