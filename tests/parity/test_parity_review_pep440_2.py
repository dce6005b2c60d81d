"""A second review of reading requirements as pip reads them. The exclusive comparisons
``<V`` and ``>V`` as PEP 440 words them: ``>V`` leaves out the post-releases and local
versions of V itself only (not those of V's release), ``<V`` the pre-releases of V itself
only; ``packaging`` (26) decides the same. A requirements file with a byte order mark is
read in the encoding it names (UTF-16 from PowerShell's ``pip freeze >``)."""

from __future__ import annotations

import codecs
import importlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.parity import EnvironmentSnapshot
from modelship.parity._cli import main
from modelship.parity._pep440 import parse_version, specifier_contains
from modelship.parity._pins import marker_environment, read_pins

# packaging comes with pytest. Before 26 it also left out 1.0.post1 from >1.0rc1 (it
# compared base versions): the reference is PEP 440 as packaging 26 reads it.
packaging_specifiers = importlib.import_module("packaging.specifiers")
packaging_version = importlib.import_module("packaging.version")
PACKAGING_FOLLOWS_PEP440 = packaging_version.Version(
    importlib.import_module("packaging").__version__
) >= packaging_version.Version("26")
needs_packaging_26 = pytest.mark.skipif(
    not PACKAGING_FOLLOWS_PEP440, reason="packaging < 26 reads <V and >V otherwise"
)

CASES = [
    (">", "1.0rc1", "1.0.post1", True),  # a post-release of 1.0, not of 1.0rc1
    (">", "1.0rc1", "1.0+cpu", True),  # a local version of 1.0, not of 1.0rc1
    (">", "1.0rc1", "1.0rc1.post1", False),  # a post-release of 1.0rc1
    (">", "1.0rc1", "1.0rc1+cpu", False),  # a local version of 1.0rc1
    (">", "1.0rc1", "1.0rc2", True),
    (">", "3.13.0rc1", "3.13.0+local", True),
    (">", "1.0", "1.0.post1", False),
    (">", "1.0", "1.0+cpu", False),
    (">", "1.0", "1.0.post1.dev0", False),
    (">", "1.0.post1", "1.0.post2", True),
    (">", "1.0.post1", "1.0.post1+cpu", False),
    (">", "1.0.dev1", "1.0.dev1+cpu", False),
    (">", "1.0.dev1", "1.0.dev2", True),
    ("<", "2.0.post1", "2.0rc1", True),  # a pre-release of 2.0, not of 2.0.post1
    ("<", "2.0.post1", "2.0", True),
    ("<", "2.0.post1", "2.0.post1.dev0", False),  # a pre-release of 2.0.post1
    ("<", "2.0", "2.0rc1", False),
    ("<", "2.0", "2.0.dev0", False),
    ("<", "2.0rc2", "2.0rc1", True),
    ("<", "2.0rc1", "2.0rc1.dev0", True),
]


@pytest.mark.parametrize(("op", "spec", "candidate", "expected"), CASES)
def test_an_exclusive_comparison_leaves_out_the_releases_pep440_names_only(
    op: str, spec: str, candidate: str, expected: bool
) -> None:
    parsed = parse_version(candidate)
    assert parsed is not None
    assert specifier_contains(op, spec, parsed) is expected


@needs_packaging_26
@pytest.mark.parametrize(("op", "spec", "candidate", "expected"), CASES)
def test_packaging_decides_the_exclusive_comparisons_the_same(
    op: str, spec: str, candidate: str, expected: bool
) -> None:
    specifier = packaging_specifiers.Specifier(op + spec)
    assert specifier.contains(candidate, prereleases=True) is expected


def test_an_untagged_interpreter_build_satisfies_a_marker_above_its_release_candidate() -> None:
    env = {**marker_environment(None), "python_full_version": "3.13.0+"}
    pins = read_pins('numpy==2.1.0 ; python_full_version > "3.13.0rc1"\n', "req.txt", env)
    assert pins == {"numpy": "2.1.0"}


# One release for both sides (spelled with or without a trailing zero), so that the
# candidate is as often as not in V's own family: where <V and >V make their exceptions.
suffixes = st.sampled_from(
    [
        "", "a1", "b2", "rc1", "rc2", ".post1", ".post2", ".dev0", ".dev1", "rc1.post1",
        "rc1.dev0", ".post1.dev0", "rc1.post1.dev2",
    ]
)  # fmt: skip
locals_ = st.sampled_from(["", "", "+cpu", "+1"])


@needs_packaging_26
@given(
    st.sampled_from(["1.0", "2"]),
    st.booleans(),
    st.sampled_from(["<", ">", "<=", ">="]),
    suffixes,
    suffixes,
    locals_,
)
def test_comparisons_within_one_release_match_packaging(
    release: str, padded: bool, op: str, spec_suffix: str, suffix: str, local: str
) -> None:
    spec = release + spec_suffix
    candidate = release + (".0" if padded else "") + suffix + local
    parsed = parse_version(candidate)
    assert parsed is not None
    expected = packaging_specifiers.Specifier(op + spec).contains(candidate, prereleases=True)
    assert specifier_contains(op, spec, parsed) is expected


# --- requirements files in the encoding their byte order mark names -------------------------


def check_with_requirements(tmp_path: Path, data: bytes) -> list[str]:
    """``parity check`` arguments for a training environment whose numpy is one major
    version behind production's, focused by a requirements file of ``data``."""
    prod = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        packages={"numpy": "2.1.0"},
    )
    train = EnvironmentSnapshot.from_dict({**prod.to_dict(), "packages": {"numpy": "1.26.4"}})
    (tmp_path / "train.json").write_text(train.to_json(), encoding="utf-8")
    (tmp_path / "prod.json").write_text(prod.to_json(), encoding="utf-8")
    (tmp_path / "req.txt").write_bytes(data)
    return [
        "check",
        *("--snapshot", str(tmp_path / "train.json")),
        *("--against", str(tmp_path / "prod.json")),
        *("--requirements", str(tmp_path / "req.txt")),
    ]


PINS = "# pip freeze\r\nnumpy==1.26.4\r\n"


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),  # PowerShell 5's `pip freeze > requirements.txt`
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (b"", "utf-8"),
    ],
)
def test_a_requirements_file_is_read_in_the_encoding_its_byte_order_mark_names(
    tmp_path: Path, bom: bytes, encoding: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = check_with_requirements(tmp_path, bom + PINS.encode(encoding))
    assert main(args) == 1  # the pin was read, and the major change found
    assert "numpy 1.26.4 in training, 2.1.0 in production" in capsys.readouterr().out


def test_a_requirements_file_cut_inside_a_utf16_character_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a short path: the message is printed in full
    args = check_with_requirements(Path(), codecs.BOM_UTF16_LE + PINS.encode("utf-16-le")[:-1])
    assert main(args) == 2
    # the last character's first byte, counted in the file (the mark's 2 bytes included)
    assert "req.txt is not UTF-16-LE text (truncated data at byte 58)" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["1.0\u00a0", "\u20031.0", "1.0\x85", "\u30001.0a1\u2003"])
def test_unicode_whitespace_around_a_version_is_stripped_as_packaging_strips_it(
    text: str,
) -> None:
    # A third review: ASCII-only \s made "1.0\xa0" no version at all, and version_change
    # then called 1.0 -> "1.0\xa0" a patch change.
    from modelship.parity import version_change

    parsed = parse_version(text)
    assert parsed is not None
    assert parsed == parse_version(text.strip())
    assert packaging_version.Version(text) == packaging_version.Version(text.strip())
    assert version_change(text.strip(), text) is None
    candidate = parse_version(text.strip())
    assert candidate is not None
    assert specifier_contains("==", text, candidate) is True
