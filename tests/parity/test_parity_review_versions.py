"""Versions PEP 440 calls equal are one version for ``compare`` and ``check_installed``."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.parity import EnvironmentSnapshot, check_installed, compare, version_change
from modelship.parity._pep440 import parse_version

packaging_version = importlib.import_module("packaging.version")  # comes with pytest

EQUAL = [
    ("1.0rc1", "1.0RC1"),
    ("1.0a1", "1.0alpha1"),
    ("1.0b2", "1.0-beta.2"),
    ("1.0.post1", "1.0-1"),
    ("1.0.post1", "1.0post1"),
    ("1.0.post1", "1.0.rev1"),
    ("1.0.post1", "1.0r1"),
    ("1.0.post0", "1.0.post"),
    ("2.1.0+CPU", "2.1.0+cpu"),
    ("1.0.dev0", "1.0.dev"),
    ("1.0c1", "1.0rc1"),
    ("1.0pre1", "1.0rc1"),
    ("1.0preview1", "1.0rc1"),
    ("1.0-rc.1", "1.0rc1"),
    ("1.0+ubuntu-1", "1.0+ubuntu.1"),
    ("v1.0", "1.0"),
    ("0!1.0", "1.0"),
    ("v1!2.0", "1!2.0"),
]
DIFFERENT = [
    ("1.0", "1.0rc1", "label"),
    ("1.0", "1.0+local", "label"),
    ("1.0.post1", "1.0.post2", "label"),
    ("1!1.0", "1.0", "major"),
    ("1.4.2", "1.5.0", "minor"),
]


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_versions_pep440_calls_equal_are_not_a_change(a: str, b: str) -> None:
    assert packaging_version.Version(a) == packaging_version.Version(b)
    assert version_change(a, b) is None
    assert version_change(b, a) is None


@pytest.mark.parametrize(("a", "b", "change"), DIFFERENT)
def test_versions_pep440_calls_different_still_differ(a: str, b: str, change: str) -> None:
    assert version_change(a, b) == change


def test_compare_finds_no_difference_in_a_local_label_spelled_in_another_case() -> None:
    train = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        packages={"torch": "2.1.0+CPU"},
    )
    prod = EnvironmentSnapshot.from_dict({**train.to_dict(), "packages": {"torch": "2.1.0+cpu"}})
    assert compare(train, prod).findings == ()


def test_check_installed_accepts_another_spelling_of_the_installed_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "spelled-1.0rc1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spelled\nVersion: 1.0rc1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_installed({"spelled": "1.0RC1"}, strict=True) == ()


release = st.lists(st.integers(0, 20), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
labels = st.sampled_from(
    [
        "", "a", "A1", "alpha2", "b", "beta.3", "c1", "rc", "-RC-4", "pre5", "preview",
        ".post", "-7", "post1", "rev2", "r3", ".dev", "dev4", "+Local.1", "+a-b_c",
        "+", "-", ".", "x", "rc1rc2",
    ]
)  # fmt: skip
spellings = st.builds(
    lambda v, epoch, rel, a, b: v + epoch + rel + a + b,
    st.sampled_from(["", "v", "V"]),
    st.sampled_from(["", "1!", "0!"]),
    release,
    labels,
    labels,
)


@given(spellings, spellings)
def test_parsing_and_ordering_match_packaging(a: str, b: str) -> None:
    try:
        va = packaging_version.Version(a)
    except packaging_version.InvalidVersion:
        assert parse_version(a) is None
        return
    parsed_a = parse_version(a)
    parsed_b = parse_version(b)
    assert parsed_a is not None
    if parsed_b is None:
        return
    vb = packaging_version.Version(b)
    assert (parsed_a.key() < parsed_b.key()) == (va < vb)
    assert (parsed_a.key() == parsed_b.key()) == (va == vb)
