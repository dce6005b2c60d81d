"""Environment markers as ``packaging`` evaluates them: PEP 440 wildcards and compatible
releases for version-valued variables, a refusal where no answer can be given, and a
bound on nesting."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.errors import ConfigError
from modelship.parity import EnvironmentSnapshot
from modelship.parity._cli import main
from modelship.parity._pep440 import parse_version, specifier_contains
from modelship.parity._pins import MAX_MARKER_NESTING, marker_environment, read_pins

# packaging comes with pytest: the reference every installer follows.
packaging_markers = importlib.import_module("packaging.markers")
packaging_specifiers = importlib.import_module("packaging.specifiers")

PROD = EnvironmentSnapshot(
    python_version="3.11.7",
    python_implementation="CPython",
    os="Linux",
    os_release="6.1.0",
    machine="x86_64",
    packages={"numpy": "2.1.0"},
)
HERE = marker_environment(PROD)


def applies(marker: str) -> bool:
    return bool(read_pins(f"numpy==1.26.4 ; {marker}\n", "req.txt", HERE))


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('python_version == "3.*"', True),
        ('python_version != "3.*"', False),
        ('python_version == "3.11.*"', True),
        ('python_version == "3.1.*"', False),
        ('python_version != "3.10.*"', True),
        ('python_full_version == "3.11.*"', True),
        ('python_full_version != "3.11.7.*"', False),
        ('python_version == "2.*" or python_version == "3.*"', True),
        ('python_full_version ~= "3.11"', True),
        ('python_full_version ~= "3.11.8"', False),
        ('python_full_version < "3.11.7rc1"', False),
        ('python_full_version > "3.11.7a1"', True),
        ('python_version <= "03.11"', True),
    ],
)
def test_a_version_marker_is_evaluated_as_packaging_does(marker: str, expected: bool) -> None:
    assert packaging_markers.Marker(marker).evaluate(dict(HERE)) is expected
    assert applies(marker) is expected


@pytest.mark.parametrize(
    "marker",
    [
        'python_version ~= "3"',  # ~= needs two release numbers
        'python_version ~= "3.11.*"',
        'python_version < "3.11.*"',
        'python_version > "3.11+local"',
        '"3.11" == "3.11"',  # no variable
        "python_version == python_version",
    ],
)
def test_a_marker_without_a_defined_answer_is_refused(marker: str) -> None:
    with pytest.raises(ConfigError, match="cannot evaluate the marker"):
        applies(marker)


def test_a_wildcard_marker_keeps_its_pin_in_a_check(tmp_path: Path) -> None:
    train = tmp_path / "train.json"
    train.write_text(PROD.to_json().replace('"2.1.0"', '"1.26.4"'), encoding="utf-8")
    prod = tmp_path / "prod.json"
    prod.write_text(PROD.to_json(), encoding="utf-8")
    reqs = tmp_path / "req.txt"
    reqs.write_text('numpy==1.26.4 ; python_version == "3.*"\n', encoding="utf-8")
    args = ["check", "--snapshot", str(train), "--against", str(prod)]
    assert main([*args, "--requirements", str(reqs)]) == 1  # the major change is found


def test_a_marker_nested_too_deep_exits_2(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text(PROD.to_json(), encoding="utf-8")
    reqs = tmp_path / "req.txt"
    reqs.write_text(
        "numpy==2.1.0 ; " + "(" * 2000 + 'os_name == "posix"' + ")" * 2000 + "\n",
        encoding="utf-8",
    )
    args = ["check", "--snapshot", str(snap), "--against", str(snap), "--requirements"]
    assert main([*args, str(reqs)]) == 2


def test_nesting_is_read_up_to_the_bound_and_refused_beyond() -> None:
    def nested(depth: int) -> str:
        return "(" * depth + 'os_name == "posix"' + ")" * depth

    assert applies(nested(MAX_MARKER_NESTING))
    with pytest.raises(ConfigError, match="nests parentheses"):
        applies(nested(MAX_MARKER_NESTING + 1))


releases = st.lists(st.integers(0, 12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
suffixes = st.sampled_from(
    ["", "a1", "b2", "rc1", ".post1", ".dev0", "rc1.post2", ".post1.dev3", "+local", "+cpu.1"]
)
versions = st.builds(
    lambda epoch, release, suffix: epoch + release + suffix,
    st.sampled_from(["", "", "", "1!"]),
    releases,
    suffixes,
)
operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="])
wild = st.builds(lambda release: release + ".*", releases)


@given(versions, operators, st.one_of(versions, wild))
def test_specifiers_match_packaging(candidate: str, op: str, spec: str) -> None:
    parsed = parse_version(candidate)
    assert parsed is not None
    try:
        specifier = packaging_specifiers.Specifier(op + spec)
    except packaging_specifiers.InvalidSpecifier:
        assert specifier_contains(op, spec, parsed) is None
        return
    expected = specifier.contains(candidate, prereleases=True)
    assert specifier_contains(op, spec, parsed) is expected
