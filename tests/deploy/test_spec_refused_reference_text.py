"""A field that refuses both the text of a whole ``${...}`` reference and its YAML reading
shows the text the variable held, and says which reference it came from (fixer K).

Before: ``replicas: ${REPLICAS}`` with ``REPLICAS=true`` said ``replicas=True is not
allowed``: the reading the reader tried, which the user never wrote.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelship.deploy import DeploymentSpec
from modelship.errors import InvalidParameter


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
