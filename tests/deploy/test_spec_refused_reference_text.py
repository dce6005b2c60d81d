"""A field that refuses both the text of a whole ``${...}`` reference and its YAML reading
shows the text the variable held, and says which reference it came from (fixer K).

Before: ``replicas: ${REPLICAS}`` with ``REPLICAS=true`` said ``replicas=True is not
allowed``: the reading the reader tried, which the user never wrote.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError, InvalidParameter


def _refused(deployment: dict[str, Any], **variables: str) -> str:
    with pytest.raises(InvalidParameter) as caught:
        DeploymentSpec.from_dict({"deployment": deployment}, variables=variables)
    return str(caught.value)


def _containers(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "m", "image": "m:1", **fields}]


@pytest.mark.parametrize("text", ["true", "FALSE", "0", "-3", "2.5", "1e3"])
def test_replicas_refused_shows_the_text_of_the_variable(text: str) -> None:
    message = _refused({"replicas": "${REPLICAS}", "containers": _containers()}, REPLICAS=text)
    # Before: deployment.replicas=True (or 0, 2.5, 1000.0) is not allowed.
    assert message.startswith(f"deployment.replicas={text!r} is not allowed; "), message
    assert "replicas must be an int" in message
    assert message.endswith("; the value came from ${REPLICAS}"), message


def test_a_reference_with_a_default_names_the_reference_as_written() -> None:
    message = _refused({"replicas": "${REPLICAS:-true}", "containers": _containers()})
    assert message.startswith("deployment.replicas='true' is not allowed; "), message
    assert message.endswith("the value came from ${REPLICAS:-true}"), message


def test_a_port_refused_shows_the_text_and_its_reference() -> None:
    message = _refused({"containers": _containers(port="${PORT}")}, PORT="70000")
    assert message.startswith("deployment.containers[0].port='70000' is not allowed; "), message
    assert message.endswith("the value came from ${PORT}"), message


def test_a_value_written_in_the_file_is_shown_as_written_with_no_reference() -> None:
    message = _refused({"replicas": True, "containers": _containers()})
    assert message.startswith("deployment.replicas=True is not allowed; "), message
    assert "came from" not in message
    message = _refused({"replicas": "x${N}", "containers": _containers()}, N="3")
    assert message.startswith("deployment.replicas='x3' is not allowed; "), message
    assert "came from" not in message


# Canary weights, durations and the monitoring limits are read by the reader itself (not
# by a record's fields): a refusal showed the YAML reading, not the text (stop 51).


def _config_refused(deployment: dict[str, Any], **variables: str) -> str:
    with pytest.raises(ConfigError) as caught:
        DeploymentSpec.from_dict({"deployment": deployment}, variables=variables)
    return str(caught.value)


def _canary(weight: Any, pause: Any) -> dict[str, Any]:
    return {
        "strategy": "canary",
        "containers": _containers(port=8080),
        "canary": {"steps": [{"weight": weight, "pause": pause}]},
    }


@pytest.mark.parametrize(("text", "was"), [("true", "True"), ("1e3", "1000.0")])
def test_a_canary_weight_refused_shows_the_text_of_the_variable(text: str, was: str) -> None:
    message = _config_refused(_canary("${W}", "1m"), W=text)
    assert f"got {text!r}; the value came from ${{W}}" in message, message
    assert was not in message


def test_a_pause_refused_shows_the_text_of_the_variable() -> None:
    message = _config_refused(_canary(10, "${D}"), D="true")
    assert message.startswith("deployment.canary.steps[0].pause: 'true' is not a duration"), message
    assert message.endswith("; the value came from ${D}"), message


def test_a_monitoring_limit_refused_names_the_text_and_its_reference() -> None:
    deployment = {
        "containers": _containers(port=8080),
        "monitoring": {
            "error_limit": "${L}",
            "conditions": [{"metric": "error_rate", "op": ">", "threshold": 0.1}],
        },
    }
    message = _config_refused(deployment, L="true")
    assert message.endswith("; error_limit came from ${L}, the text 'true'"), message


def test_values_written_in_the_file_keep_their_messages() -> None:
    message = _config_refused(_canary(True, "1m"))
    assert message.endswith("got True"), message
    message = _config_refused(_canary(10, True))
    assert "pause: True is not a duration" in message
    assert "came from" not in message


# Second look: a negative or overflowing duration lost its reason; the list form of a port
# showed the converted value at a path the file does not have; a monitoring key named in
# the policy's own message shape got no reference (stop 51).


@pytest.mark.parametrize("text", ["-5", "-1.5", "1e999"])
def test_a_refused_duration_number_keeps_its_reason_and_shows_the_text(text: str) -> None:
    message = _config_refused(_canary(10, "${P}"), P=text)
    assert f"pause: {text!r} is not a duration: seconds must be finite and >= 0" in message, message
    assert message.endswith("; the value came from ${P}"), message


def test_a_duration_whose_text_stays_text_names_its_reference() -> None:
    message = _config_refused(_canary(10, "${P}"), P="5 minutes")
    assert "'5 minutes' is not a duration: give seconds" in message, message
    assert message.endswith("; the value came from ${P}"), message


@pytest.mark.parametrize("text", ["true", "1e3", "70000"])
def test_a_port_in_the_list_form_shows_the_text_at_the_path_written(text: str) -> None:
    containers = [{"name": "m", "image": "m:1", "ports": [{"containerPort": "${P}"}]}]
    message = _refused({"containers": containers}, P=text)
    assert message.startswith(
        f"deployment.containers[0].ports[0].containerPort={text!r} is not allowed; "
    ), message
    assert message.endswith("; the value came from ${P}"), message


def test_monitoring_keys_named_by_the_policy_say_their_reference() -> None:
    conditions = ["mean(error_rate) > 0.1"]
    containers = _containers(port=8080)
    message = _config_refused(
        {"containers": containers, "monitoring": {"enabled": "${E}", "conditions": conditions}},
        E="010",
    )
    assert "enabled came from ${E}, the text '010'" in message, message
    message = _config_refused(
        {
            "containers": containers,
            "monitoring": {"failure_limit": "${F}", "conditions": conditions},
        },
        F="abc",
    )
    assert message.endswith("failure_limit came from ${F}"), message


def test_a_health_check_period_refused_by_its_record_names_the_reference() -> None:
    message = _refused(
        {"containers": _containers(port=8080), "healthcheck": {"periodSeconds": "${S}"}}, S="0"
    )
    assert message.startswith("deployment.healthcheck.periodSeconds=0.0 is not allowed"), message
    assert message.endswith("; the value came from ${S}"), message
