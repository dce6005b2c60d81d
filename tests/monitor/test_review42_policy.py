"""Reading a rollback policy is bounded by the file: a condition is one short line, and
YAML aliases cannot make a small file hold gigabytes of text to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError
from modelship.monitor import Condition, RollbackPolicy

LONGEST = 1_000  # the longest condition text read, as the message says


def _condition(length: int) -> str:
    """A valid condition of ``length`` characters: a threshold of many decimals."""
    head = "x > 1."
    return head + "0" * (length - len(head))


def _policy_yaml(item: str, aliases: int) -> str:
    """A monitoring section whose conditions are ``aliases`` aliases of one ``item``."""
    return f"a: &a {item}\nmonitoring:\n  conditions: [" + ", ".join(["*a"] * aliases) + "]\n"


def _spec_file(folder: Path, item: str, aliases: int) -> Path:
    """A deployment file whose monitoring conditions are ``aliases`` aliases of ``item``."""
    path = folder / "deploy.yaml"
    path.write_text(
        "deployment:\n  containers: [{name: m, image: 'm:1'}]\n  monitoring:\n"
        f"    conditions: [&a {item}" + ", *a" * aliases + "]\n"
    )
    return path


def test_a_condition_of_the_longest_length_is_read() -> None:
    assert Condition.parse(_condition(LONGEST)).threshold == 1.0


def test_a_condition_longer_than_one_short_line_is_refused_before_it_is_read() -> None:
    with pytest.raises(ConfigError, match=r"1,001 characters long; .* at most 1,000 characters"):
        Condition.parse(_condition(LONGEST + 1))


def test_a_policy_file_with_a_long_condition_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="at most 1,000 characters"):
        RollbackPolicy.from_yaml(_policy_yaml(f"'{_condition(700_000)}'", 1))


def test_a_policy_file_whose_aliases_repeat_a_text_past_the_bound_is_refused() -> None:
    # 9,000 aliases of a 1,000-character condition: 27 KB of YAML, 9 million characters
    # of conditions to read once the aliases are expanded.
    text = _policy_yaml(f"'{_condition(LONGEST)}'", 9_000)
    with pytest.raises(ConfigError, match="more than 8388608 characters of text once its aliases"):
        RollbackPolicy.from_yaml(text)


def test_a_policy_file_whose_aliases_repeat_a_long_metric_name_is_refused() -> None:
    item = "{metric: " + "m" * 100_000 + ", threshold: 1}"
    with pytest.raises(ConfigError, match="more than 8388608 characters of text"):
        RollbackPolicy.from_yaml(_policy_yaml(item, 90))


def test_a_policy_file_with_many_aliases_of_a_short_condition_is_read() -> None:
    policy = RollbackPolicy.from_yaml(_policy_yaml("'error_rate > 1%'", 1_000))
    assert len(policy.conditions) == 1_000


def test_a_deployment_file_with_a_long_condition_text_is_refused(tmp_path: Path) -> None:
    path = _spec_file(tmp_path, f"'{_condition(700_000)}'", 0)
    with pytest.raises(ConfigError, match=r"deployment\.monitoring: .*at most 1,000 characters"):
        DeploymentSpec.from_file(path)


def test_a_deployment_file_whose_aliases_repeat_a_long_metric_name_is_refused(
    tmp_path: Path,
) -> None:
    # A condition written as a mapping is not parsed, so the length of a condition text
    # does not bound it: 90 aliases of a 100,000-character metric name are 9 million
    # characters to read.
    path = _spec_file(tmp_path, "{metric: " + "m" * 100_000 + ", threshold: 1}", 90)
    with pytest.raises(ConfigError, match="more than 8388608 characters in all"):
        DeploymentSpec.from_file(path)


def test_a_deployment_file_whose_aliases_repeat_a_condition_past_the_bound_is_refused(
    tmp_path: Path,
) -> None:
    path = _spec_file(tmp_path, f"'{_condition(LONGEST)}'", 9_000)
    with pytest.raises(ConfigError, match="more than 8388608 characters in all"):
        DeploymentSpec.from_file(path)


def test_a_deployment_file_with_aliased_short_conditions_is_read(tmp_path: Path) -> None:
    spec = DeploymentSpec.from_file(_spec_file(tmp_path, "'error_rate > 1%'", 99))
    assert spec.monitoring.policy is not None
    assert len(spec.monitoring.policy.conditions) == 100


def test_a_min_samples_of_hundreds_of_digits_within_the_length_is_refused_as_such() -> None:
    with pytest.raises(ConfigError, match=r"min_samples must be an integer of at least 1"):
        Condition.parse("x > 1 min_samples=" + "1" * 900)
