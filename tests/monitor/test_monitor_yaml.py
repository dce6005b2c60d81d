"""The monitoring YAML reader: every value PyYAML cannot build is a ConfigError naming the
line, merge keys read as ``yaml.safe_load`` reads them (keys given twice still refused,
what merges copy still bounded), and the size limit holds whatever the file claims."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import modelship as ms
from modelship._rollback._yaml import MAX_BYTES, MAX_VALUES, read_yaml
from modelship.deploy import DeploymentSpec
from modelship.monitor import RollbackPolicy

UNBUILDABLE = {
    "float": "error_limit: !!float abc",
    "date": "note: 2024-13-45",
    "int of 5000 digits": "error_limit: " + "9" * 5000,
}


@pytest.mark.parametrize("line", UNBUILDABLE.values(), ids=UNBUILDABLE.keys())
def test_a_yaml_value_pyyaml_cannot_build_is_a_config_error_naming_the_line(line: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"^YAML text, line 2: cannot read the value"):
        RollbackPolicy.from_yaml("conditions: ['x > 1']\n" + line)


def test_the_deployment_spec_reader_refuses_a_yaml_value_it_cannot_build(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("deployment:\n  note: 2024-13-45\n")
    with pytest.raises(ms.ConfigError, match=r"deploy\.yaml, line 2: cannot read the value"):
        DeploymentSpec.from_file(path)


MERGED = """
defaults: &limits
  error_limit: 2
  deadline: 900
deployment:
  monitoring:
    <<: *limits
    conditions: ["error_rate > 1%"]
"""


def test_yaml_merge_keys_are_read_as_safe_load_reads_them() -> None:
    assert read_yaml(MERGED) == yaml.safe_load(MERGED)
    assert RollbackPolicy.from_yaml(MERGED).error_limit == 2


def test_a_key_beside_a_merge_overrides_the_merged_one() -> None:
    text = "base: &b {x: 1, y: 2}\nc: {<<: *b, y: 3}"
    assert read_yaml(text)["c"] == {"x": 1, "y": 3}


def test_a_key_given_twice_beside_a_merge_is_still_refused() -> None:
    with pytest.raises(ms.ConfigError, match=r"line 5: the key 'y' is given twice"):
        read_yaml("base: &b {x: 1}\nc:\n  <<: *b\n  y: 3\n  y: 4\n")


def test_merges_that_copy_more_than_max_values_are_refused() -> None:
    keys = ", ".join(f"k{i}: 1" for i in range(1000))
    copies = MAX_VALUES // 1000 + 1
    text = f"a: &a {{{keys}}}\n" + "\n".join(f"m{i}: {{<<: *a}}" for i in range(copies))
    with pytest.raises(ms.ConfigError, match=rf"merge keys \(<<\) copy more than {MAX_VALUES}"):
        read_yaml(text)


def test_a_yaml_file_is_refused_past_the_limit_whatever_size_it_reports(
    fifo_sending: Callable[[str, bytes], Path],
) -> None:
    fifo = fifo_sending("policy.yaml", b"conditions: ['x > 1']\n#" + b"x" * (2 * MAX_BYTES) + b"\n")
    with pytest.raises(ms.ConfigError, match=r"more than 1048576 bytes"):
        read_yaml(fifo)


def test_yaml_text_is_measured_in_utf8_bytes() -> None:
    text = "conditions: ['x > 1']\n#" + "é" * (MAX_BYTES // 2 + 10)  # fewer chars than bytes
    assert len(text) < MAX_BYTES
    with pytest.raises(ms.ConfigError, match=r"more than 1048576 bytes in UTF-8"):
        read_yaml(text)
