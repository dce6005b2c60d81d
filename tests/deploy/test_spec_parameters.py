"""The deployment records validate through the shared parameter layer.

Every declared constraint of every record is fed each value it refuses (generated from the
declaration, as tests/checks/test_parameters.py does for the checks); in Python the error
names the attribute, read from a document it names the path and the YAML key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from _ids import stable_id

from modelship._params import declared_constraints, invalid_values
from modelship.deploy import (
    CanaryStep,
    Container,
    DeploymentSpec,
    HealthCheck,
    Monitoring,
)
from modelship.errors import ConfigError, InvalidParameter

VALID: dict[type, dict[str, Any]] = {
    CanaryStep: {"weight": 10, "pause": 30.0},
    Container: {"name": "model", "image": "ai-model:3", "port": 8080},
    HealthCheck: {"path": "/health", "port": 8080, "period_seconds": 5.0},
    Monitoring: {"enabled": True},
    DeploymentSpec: {"containers": [Container(name="m", image="m:1")], "replicas": 2},
}

CASES = [
    pytest.param(kind, name, bad, id=f"{kind.__name__}-{name}-{stable_id(repr(bad))}")
    for kind in VALID
    for name, allowed in sorted(declared_constraints(kind).items())
    for bad in invalid_values(*allowed)
]


def test_every_record_of_the_spec_declares_its_constraints() -> None:
    assert all(declared_constraints(kind) for kind in VALID)


@pytest.mark.parametrize("kind", list(VALID), ids=lambda k: k.__name__)
def test_the_valid_call_of_each_record_is_accepted(kind: type) -> None:
    kind(**VALID[kind])


@pytest.mark.parametrize(("kind", "name", "bad"), CASES)
def test_a_refused_value_raises_invalid_parameter_naming_the_attribute(
    kind: type, name: str, bad: Any
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        kind(**{**VALID[kind], name: bad})
    assert caught.value.parameter == name
    assert str(caught.value).startswith(f"{name}={bad!r} is not allowed; {name} must be ")


def _document(**deployment: Any) -> dict[str, Any]:
    return {
        "deployment": {
            "containers": [{"name": "m", "image": "m:1", "port": 9000}],
            **deployment,
        }
    }


# A refused value placed where a document holds it: (document, YAML path of the field).
_YAML_PLACES = [
    (lambda bad: _document(replicas=bad), "deployment.replicas"),
    (
        lambda bad: _document(containers=[{"name": bad, "image": "m:1"}]),
        "deployment.containers[0].name",
    ),
    (
        lambda bad: _document(containers=[{"name": "m", "image": bad}]),
        "deployment.containers[0].image",
    ),
    (
        lambda bad: _document(containers=[{"name": "m", "image": "m:1", "port": bad}]),
        "deployment.containers[0].port",
    ),
    (lambda bad: _document(healthcheck={"path": bad}), "deployment.healthcheck.path"),
    (
        lambda bad: _document(healthcheck={"failureThreshold": bad}),
        "deployment.healthcheck.failureThreshold",
    ),
    (lambda bad: _document(monitoring={"enabled": bad}), "deployment.monitoring.enabled"),
]


@pytest.mark.parametrize(("place", "path"), _YAML_PLACES, ids=[p for _, p in _YAML_PLACES])
def test_read_from_a_document_the_error_names_the_path_and_the_yaml_key(
    place: Any, path: str, tmp_path: Path
) -> None:
    key = path.rsplit(".", 1)[-1]
    file = tmp_path / "d.json"
    refused = [
        bad
        for kind in VALID
        for attribute in attrs.fields(kind)
        if attribute.metadata.get("key", attribute.name) == key
        and attribute.name in declared_constraints(kind)
        for bad in invalid_values(*declared_constraints(kind)[attribute.name])
        if isinstance(bad, (str, int, float, bool))
    ]
    assert refused, f"no declared constraint for {key}"
    for bad in refused:
        file.write_text(json.dumps(place(bad)))
        with pytest.raises(ConfigError) as caught:
            DeploymentSpec.from_file(file)
        message = str(caught.value)
        assert f"{path}=" in message, message
        assert f"; {key} must be " in message, message


def test_the_named_error_keeps_what_was_given_and_what_is_allowed() -> None:
    with pytest.raises(InvalidParameter) as caught:
        HealthCheck(period_seconds=0)
    named = caught.value.named("deployment.healthcheck.periodSeconds")
    assert (named.parameter, named.value, named.allowed) == (
        "periodSeconds",
        0,
        caught.value.allowed,
    )
    assert isinstance(named, ConfigError)
