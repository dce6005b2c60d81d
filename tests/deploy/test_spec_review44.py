"""Review 44: spec digest and equality, the promotion step's pause, probe seconds on
Kubernetes, and quantities too large for a float."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Container,
    DeployerCapabilities,
    DeploymentSpec,
    HealthCheck,
    Recreate,
    Resources,
    parse_quantity,
)
from modelship.deploy._strategies import spec_digest
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer


def _registry(name: str) -> Any:
    reg = ms.open_registry(f"memory://{name}")
    reg.register(model_name="fraud", model=b"w", serializer="bytes")
    return reg


def _spec(**container: Any) -> DeploymentSpec:
    return DeploymentSpec(containers=[Container(name="m", image="m:1", port=8080, **container)])


# --- 1. the order of env is part of the spec --------------------------------------------------


def test_env_reordered_is_another_spec_with_another_digest() -> None:
    before = _spec(env={"B": "$(A)/x", "A": "/data"})
    after = _spec(env={"A": "/data", "B": "$(A)/x"})
    assert before != after
    assert spec_digest(before) != spec_digest(after)
    assert list(after.containers[0].env) == ["A", "B"]  # still a mapping, in order
    assert _spec(env={"A": "1", "B": "2"}) == _spec(env={"A": "1", "B": "2"})


def test_deploy_with_env_reordered_applies_it() -> None:
    dep = InMemoryDeployer(registry=_registry("review44-env"))
    BlueGreen(dep, _spec(env={"B": "$(A)/x", "A": "/data"}), clock=dep.clock).deploy("fraud", "1")
    n = len(dep.calls)
    BlueGreen(dep, _spec(env={"A": "/data", "B": "$(A)/x"}), clock=dep.clock).deploy("fraud", "1")
    assert "apply" in [c.op for c in dep.calls[n:]]


# --- 2. specs that compare equal digest equal ---------------------------------------------------


def test_python_built_and_file_read_specs_digest_equal() -> None:
    built = DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=8080)],
        healthcheck=HealthCheck(initial_delay_seconds=30),
    )
    read = DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [{"name": "m", "image": "m:1", "port": 8080}],
                "healthcheck": {"initialDelaySeconds": 30},
            }
        }
    )
    assert built == read
    assert spec_digest(built) == spec_digest(read)
    assert built.to_dict() == read.to_dict()
    later = HealthCheck(initial_delay_seconds=31)
    assert spec_digest(built) != spec_digest(DeploymentSpec(built.containers, healthcheck=later))


@pytest.mark.parametrize("other", ["1024Mi", "1073741824", "1.0Gi"])
def test_quantities_of_one_value_digest_equal(other: str) -> None:
    gi = _spec(resources=Resources(limits={"memory": "1Gi"}))
    same = _spec(resources=Resources(limits={"memory": other}))
    assert gi == same
    assert spec_digest(gi) == spec_digest(same)
    assert spec_digest(gi) != spec_digest(_spec(resources=Resources(limits={"memory": "2Gi"})))


def test_redeploy_of_an_equal_spec_changes_nothing() -> None:
    reg = _registry("review44-digest")
    dep = InMemoryDeployer(registry=reg, capabilities=DeployerCapabilities(max_slots=1))
    built = DeploymentSpec(
        strategy="recreate",
        containers=[Container(name="m", image="m:1", port=8080)],
        healthcheck=HealthCheck(initial_delay_seconds=30),
    )
    read = DeploymentSpec.from_dict(
        {
            "deployment": {
                "strategy": "recreate",
                "containers": [{"name": "m", "image": "m:1", "port": 8080}],
                "healthcheck": {"initialDelaySeconds": 30},
            }
        }
    )
    Recreate(dep, built, clock=dep.clock).deploy("fraud", "1")
    n = len(dep.calls)
    Recreate(dep, read, clock=dep.clock).deploy("fraud", "1")
    ops = [c.op for c in dep.calls[n:]]
    assert "apply" not in ops, ops
    assert "remove" not in ops, ops


# --- 3. the weight-100 step's pause -----------------------------------------------------------


def _canary(last: dict[str, Any]) -> dict[str, Any]:
    return {
        "deployment": {
            "strategy": "canary",
            "containers": [{"name": "m", "image": "m:1"}],
            "canary": {"steps": [{"weight": 50, "pause": "5m"}, last]},
        }
    }


@pytest.mark.parametrize("pause", ["5 minutes", -7, [1], None])
def test_promotion_step_with_a_malformed_pause_is_refused(pause: Any) -> None:
    with pytest.raises(ConfigError, match=r"steps\[1\]\.pause: .* is not a duration"):
        DeploymentSpec.from_dict(_canary({"weight": 100, "pause": pause}))


@pytest.mark.parametrize("pause", ["1h", 30, "250ms"])
def test_promotion_step_with_a_pause_is_refused(pause: Any) -> None:
    with pytest.raises(ConfigError, match=r"steps\[1\]\.pause: .*promotion, which does not wait"):
        DeploymentSpec.from_dict(_canary({"weight": 100, "pause": pause}))


@pytest.mark.parametrize(
    "last", [{"weight": 100, "pause": 0}, {"weight": 100, "pause": "0s"}, {"weight": 100}]
)
def test_promotion_step_without_a_wait_is_read(last: dict[str, Any]) -> None:
    spec = DeploymentSpec.from_dict(_canary(last))
    assert [s.weight for s in spec.steps] == [50]


# --- 4. fractional probe seconds on Kubernetes ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("periodSeconds", "250ms"), ("timeoutSeconds", "1.5s"), ("initialDelaySeconds", "100ms")],
)
def test_kubernetes_refuses_fractional_probe_seconds(key: str, value: str) -> None:
    pytest.importorskip("yaml")
    from modelship.deploy.kubernetes import dry_run

    spec = DeploymentSpec.from_dict(
        {"deployment": {"containers": [{"name": "m", "image": "m:1"}], "healthcheck": {key: value}}}
    )
    assert not float(getattr(spec.healthcheck, _FIELD[key])).is_integer()  # the spec keeps it
    with pytest.raises(ConfigError, match=rf"{key}: .* whole seconds"):
        dry_run("fraud", "1", spec, registry_url="s3://b/models")


_FIELD = {
    "periodSeconds": "period_seconds",
    "timeoutSeconds": "timeout_seconds",
    "initialDelaySeconds": "initial_delay_seconds",
}


def test_kubernetes_renders_whole_probe_seconds() -> None:
    pytest.importorskip("yaml")
    from modelship.deploy.kubernetes import dry_run

    spec = DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [{"name": "m", "image": "m:1"}],
                "healthcheck": {"periodSeconds": "2s", "timeoutSeconds": 3.0},
            }
        }
    )
    text = dry_run("fraud", "1", spec, registry_url="s3://b/models")
    assert "periodSeconds: 2\n" in text
    assert "timeoutSeconds: 3\n" in text


# --- 5. a quantity too large for a float ------------------------------------------------------


def test_huge_fraction_is_a_malformed_quantity() -> None:
    huge = Fraction(10**400, 3)
    with pytest.raises(ConfigError, match="is not a Kubernetes quantity"):
        parse_quantity(huge)
    with pytest.raises(ConfigError, match=r"cpu: .* is not a Kubernetes quantity"):
        Resources(limits={"cpu": huge})


# --- second look -------------------------------------------------------------------------


#: spec_digest of the spec below as histories recorded it before stop 44 (quantities as
#: written), computed with the code of b603e72.
CANONICAL_RECORDED = "sha256:e57dd6580f86b890ccf6337a43a5f9d516a52e8f7dd9bb1831c293436f306b77"


def test_quantities_written_canonically_keep_the_digest_recorded_before() -> None:
    """A quantity in its canonical form (as Quantity prints it: 4Gi, 512Mi, 500m) digests
    as before: the value-only form is the shorter canonical one (it was the decimal one,
    so every spec with a memory limit in Gi redeployed once)."""
    limits = Resources(limits={"memory": "4Gi", "cpu": "500m"}, requests={"memory": "512Mi"})
    spec = DeploymentSpec(containers=[Container(name="m", image="m:1", resources=limits)])
    assert spec_digest(spec) == CANONICAL_RECORDED


def test_a_negative_zero_probe_time_digests_as_zero() -> None:
    zero = HealthCheck(initial_delay_seconds=0.0)
    negative = HealthCheck(initial_delay_seconds=-0.0)
    assert zero == negative

    def spec(check: HealthCheck) -> DeploymentSpec:
        return DeploymentSpec(containers=[Container(name="m", image="m:1")], healthcheck=check)

    assert spec_digest(spec(zero)) == spec_digest(spec(negative))
