"""The deployment file's ``monitoring:`` section holds the rollback policy, as docs/monitor.md
shows it, and the spec and the policy read that section the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import DeploymentSpec, Monitoring
from modelship.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitor.md"
SPEC_DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy-spec.md"
CONTAINERS = '  containers: [{name: model, image: "ghcr.io/acme/fraud:1"}]\n'


def documented_section() -> str:
    """The ``deployment:`` block of docs/monitor.md, as a user copies it."""
    blocks = re.findall(r"```yaml\n(deployment:\n.*?)```", DOCS.read_text(), re.S)
    found = [block for block in blocks if "conditions:" in block]
    assert found, "docs/monitor.md no longer shows a deployment file with conditions"
    return found[0]


def spec_file(tmp_path: Path, section: str) -> Path:
    # A whole file: the documented block, with the containers a spec needs; its canary
    # steps are left to the canary's defaults by choosing blue-green.
    text = section.replace("strategy: canary", "strategy: blue-green")
    path = tmp_path / "deploy.yaml"
    path.write_text(text.replace("deployment:\n", "deployment:\n" + CONTAINERS, 1))
    return path


def test_the_documented_monitoring_section_is_a_valid_deployment_file(tmp_path: Path) -> None:
    path = spec_file(tmp_path, documented_section())
    spec = DeploymentSpec.from_file(path)
    policy = ms.monitor.RollbackPolicy.from_yaml(path)
    assert spec.monitoring.policy == policy
    assert spec.monitoring.enabled is policy.enabled is True
    assert spec.monitoring.metrics == policy.metrics
    assert len(policy.conditions) == 3
    assert policy.consecutive_failure_limit == 1


def test_a_spec_with_a_policy_round_trips(tmp_path: Path) -> None:
    spec = DeploymentSpec.from_file(spec_file(tmp_path, documented_section()))
    assert DeploymentSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict()["deployment"]["monitoring"] == spec.monitoring.policy.to_dict()


def test_conditions_without_enabled_are_watched_by_both_readers(tmp_path: Path) -> None:
    section = "deployment:\n  monitoring:\n    conditions: ['error_rate > 1%']\n"
    path = spec_file(tmp_path, section)
    spec = DeploymentSpec.from_file(path)
    assert spec.monitoring.enabled is True
    assert spec.monitoring.policy == ms.monitor.RollbackPolicy.from_yaml(path)


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ("    conditions: ['p95(latency) >> 1']\n", r"deployment\.monitoring: .*"),
        ("    failure_limit: 2\n", "monitoring needs 'conditions'"),
        ("    conditions: ['error_rate > 1%']\n    error_limit: -1\n", "error_limit"),
        ("    conditions: ['error_rate > 1%']\n    deadlne: 60\n", "unknown key"),
    ],
    ids=["bad condition", "limits without conditions", "bad limit", "misspelt key"],
)
def test_a_bad_policy_in_the_spec_is_a_config_error_naming_the_section(
    tmp_path: Path, section: str, match: str
) -> None:
    path = spec_file(tmp_path, "deployment:\n  monitoring:\n" + section)
    with pytest.raises(ConfigError, match=match):
        DeploymentSpec.from_file(path)


def test_a_section_without_conditions_is_read_as_before(tmp_path: Path) -> None:
    section = "deployment:\n  monitoring: {enabled: true, metrics: [error_rate]}\n"
    spec = DeploymentSpec.from_file(spec_file(tmp_path, section))
    assert spec.monitoring == Monitoring(enabled=True, metrics=["error_rate"])
    assert spec.monitoring.policy is None


def test_a_policy_must_agree_with_its_section() -> None:
    policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    assert Monitoring(enabled=True, policy=policy).policy is policy
    with pytest.raises(ConfigError, match="enabled and metrics must be the section's own"):
        Monitoring(enabled=False, policy=policy)
    with pytest.raises(ConfigError, match="policy"):
        Monitoring(enabled=True, policy="error_rate > 1%")  # type: ignore[arg-type]


def test_gate_factories_refuse_wrong_arguments_when_called_not_at_deploy_time() -> None:
    # Accepted before, they failed inside the gate, once per evaluation, minutes later.
    source = ms.monitor.InMemorySource(now=60.0)
    policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    with pytest.raises(ConfigError, match="policy must be an instance of RollbackPolicy"):
        ms.monitor.policy_gate(source, None, window=60)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="source must be an instance of MetricSource"):
        ms.monitor.policy_gate(None, policy, window=60)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"metrics\[0\]='lat' is not allowed"):
        ms.monitor.canary_gate(source, ["lat"], window=60)  # type: ignore[list-item]
    assert callable(ms.monitor.policy_gate(source, policy, window=60))


def test_variables_in_the_section_are_read_by_the_spec_not_by_from_yaml_as_documented(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(
        "deployment:\n" + CONTAINERS + "  monitoring:\n"
        '    conditions: ["error_rate > ${MAX_ERR:-2%}"]\n'
        "    deadline: 600\n"
    )
    spec = DeploymentSpec.from_file(path)
    assert spec.monitoring.policy == ms.monitor.RollbackPolicy.from_yaml(
        path.read_text().replace("${MAX_ERR:-2%}", "2%")
    )
    with pytest.raises(ConfigError, match=r"unexpected character '\$'"):
        ms.monitor.RollbackPolicy.from_yaml(path)
    documented = " ".join(SPEC_DOCS.read_text().split())
    assert "`from_yaml` substitutes nothing" in documented
