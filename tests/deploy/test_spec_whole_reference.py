"""A value that is one ``${...}`` reference and nothing else is read as YAML reads its text.

Substitution makes text: before this, ``replicas: ${REPLICAS}`` with ``REPLICAS=3`` gave
``"3"``, which ``replicas`` refused, so a CI script could not set a number through a
variable. A field that refuses the text now gets its YAML reading; one that takes text
keeps it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelship.deploy import DeploymentSpec, Strategy
from modelship.errors import ConfigError, InvalidParameter

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy-spec.md"


def _spec(deployment: dict[str, Any], **variables: str) -> DeploymentSpec:
    return DeploymentSpec.from_dict({"deployment": deployment}, variables=variables)


def _containers(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "m", "image": "m:1", **fields}]


def test_numbers_of_the_deployment_come_from_whole_references() -> None:
    spec = _spec(
        {"replicas": "${N}", "containers": _containers(port="${PORT}")}, N="3", PORT="9000"
    )
    assert (spec.replicas, spec.port) == (3, 9000)
    assert type(spec.replicas) is int


def test_the_default_of_a_whole_reference_is_read_the_same_way() -> None:
    spec = _spec({"replicas": "${N:-2}", "containers": _containers(port="${PORT:-7000}")})
    assert (spec.replicas, spec.port) == (2, 7000)


def test_the_environment_fills_a_whole_reference_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHIP_TEST_REPLICAS", "4")
    spec = DeploymentSpec.from_dict(
        {"deployment": {"replicas": "${MODELSHIP_TEST_REPLICAS}", "containers": _containers()}}
    )
    assert spec.replicas == 4


def test_ports_form_health_check_canary_and_monitoring() -> None:
    spec = _spec(
        {
            "strategy": "${STRATEGY}",
            "containers": [{"name": "m", "image": "m:1", "ports": [{"containerPort": "${P}"}]}],
            "healthcheck": {
                "path": "/health",
                "port": "${P}",
                "initialDelaySeconds": "${DELAY}",
                "failureThreshold": "${FAILURES}",
            },
            "canary": {"steps": [{"weight": "${W}", "pause": "${PAUSE}"}]},
            "monitoring": {"enabled": "${MONITOR}", "metrics": ["inference_latency"]},
        },
        STRATEGY="canary",
        P="9000",
        DELAY="5",
        FAILURES="3",
        W="10",
        PAUSE="30",
        MONITOR="true",
    )
    assert spec.strategy is Strategy.CANARY
    assert spec.port == 9000
    assert (spec.healthcheck.port, spec.healthcheck.initial_delay_seconds) == (9000, 5.0)
    assert spec.healthcheck.failure_threshold == 3
    assert [(s.weight, s.pause) for s in spec.steps] == [(10, 30.0)]
    assert spec.monitoring.enabled is True


def test_the_rollback_policys_limits_come_from_whole_references() -> None:
    spec = _spec(
        {
            "containers": _containers(port=9000),
            "monitoring": {
                "enabled": "${ON}",
                "failure_limit": "${F}",
                "deadline": "${D}",
                "conditions": ["p95(inference_latency_seconds) > ${LIMIT}"],
            },
        },
        ON="false",
        F="2",
        D="900",
        LIMIT="0.2",
    )
    policy = spec.monitoring.policy
    assert policy is not None
    assert (policy.enabled, policy.failure_limit, policy.deadline) == (False, 2, 900.0)
    assert policy.conditions[0].threshold == 0.2


def test_text_fields_keep_the_text() -> None:
    spec = _spec(
        {"containers": _containers(image="${TAG}", port=9000, env={"X": "${X}"}, args=["${A}"])},
        TAG="3",
        X="1",
        A="2",
    )
    container = spec.containers[0]
    assert (container.image, container.env, container.args) == ("3", {"X": "1"}, ("2",))


def test_a_reference_inside_other_text_stays_text() -> None:
    with pytest.raises(InvalidParameter, match=r"deployment\.replicas='x3' is not allowed"):
        _spec({"replicas": "x${N}", "containers": _containers()}, N="3")


def test_an_escaped_reference_is_not_a_reference() -> None:
    with pytest.raises(InvalidParameter, match=r"deployment\.replicas='\$\{N\}' is not allowed"):
        _spec({"replicas": "$${N}", "containers": _containers()}, N="3")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("abc", "'abc'"), ("0", "'0'"), ("2.5", "'2.5'"), ("true", "'true'"), ("٣", "'٣'")],
)
def test_a_value_the_field_refuses_is_named_with_its_path(value: str, shown: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        _spec({"replicas": "${N}", "containers": _containers()}, N=value)
    message = str(caught.value)
    assert message.startswith(f"deployment.replicas={shown} is not allowed"), message
    assert "replicas must be an int" in message


def test_a_long_run_of_digits_stays_text_and_is_refused_briefly() -> None:
    with pytest.raises(InvalidParameter) as caught:
        _spec({"replicas": "${N}", "containers": _containers()}, N="9" * 5000)
    assert "is not allowed" in str(caught.value)
    assert len(str(caught.value)) < 400


def test_a_canary_weight_the_step_refuses_says_so() -> None:
    with pytest.raises(ConfigError, match=r"steps\[0\]\.weight: must be an integer"):
        _spec(
            {
                "strategy": "canary",
                "containers": _containers(),
                "canary": {"steps": [{"weight": "${W}", "pause": 0}]},
            },
            W="ten",
        )


def test_a_spec_file_reads_the_same_as_the_literal_file(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    with_variables = tmp_path / "variables.yaml"
    with_variables.write_text(
        "deployment:\n"
        "  replicas: ${REPLICAS}\n"
        "  containers:\n"
        "    - name: m\n"
        "      image: m:${TAG}\n"
        "      port: ${PORT:-8080}\n"
        "  healthcheck:\n"
        "    path: /health\n"
        "    periodSeconds: ${PERIOD}\n"
    )
    literal = tmp_path / "literal.yaml"
    literal.write_text(
        "deployment:\n"
        "  replicas: 3\n"
        "  containers:\n"
        "    - name: m\n"
        "      image: m:7\n"
        "      port: 8080\n"
        "  healthcheck:\n"
        "    path: /health\n"
        "    periodSeconds: 20\n"
    )
    filled = DeploymentSpec.from_file(
        with_variables, variables={"REPLICAS": "3", "TAG": "7", "PERIOD": "20"}, environ=False
    )
    assert filled == DeploymentSpec.from_file(literal)
    assert DeploymentSpec.from_dict(filled.to_dict()) == filled


def test_the_deploy_spec_page_example_runs() -> None:
    text = DOCS.read_text()
    block = text.split("## Variables", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, str(DOCS), "exec"), {})  # the page's own example


def test_a_whole_reference_is_read_in_decimal_as_the_page_says() -> None:
    # YAML 1.2's reading: "010" is 10 (PyYAML reads 010 written in the file as octal 8),
    # and "0x10" is no number here: it stays text, which replicas refuses.
    assert _spec({"replicas": "${N}", "containers": _containers()}, N="010").replicas == 10
    with pytest.raises(InvalidParameter, match=r"deployment\.replicas='0x10' is not allowed"):
        _spec({"replicas": "${N}", "containers": _containers()}, N="0x10")
