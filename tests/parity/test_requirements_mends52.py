"""Mends 52: one reading of a pin's marker for check_installed and compare, each marker
of a stored document evaluated once, and versions that could not be written refused."""

from __future__ import annotations

import json
import warnings

import attrs
import pytest

from modelship.errors import ConfigError
from modelship.parity import (
    EnvironmentSnapshot,
    PackageMismatch,
    Requirements,
    SnapshotError,
    _requirements,
    check_installed,
    compare,
)

SURROGATE = "1.0\udc80"
LONE = "holds a lone surrogate (not Unicode text: it cannot be written as UTF-8)"


def _snapshot(**changes: object) -> EnvironmentSnapshot:
    base = EnvironmentSnapshot(
        python_version="3.12.1", python_implementation="CPython", os="Linux", machine="x86_64"
    )
    return attrs.evolve(base, **changes)


def _quiet_check(requirements: object) -> tuple[PackageMismatch, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_installed(requirements)  # type: ignore[arg-type]


def test_check_installed_reads_two_spellings_as_one_pin_in_compares_order() -> None:
    # They disagreed: check_installed reported "Attrs" and "attrs" twice, in the order of
    # the raw spellings (capitals first); compare reports one distribution once, by its
    # normalised name. One distribution is one mismatch: compare was right.
    pins = {"Zz-Acme-None": "1.0", "Attrs": "0.1", "attrs": "0.1", "aaa-acme-none": "1"}
    found = [m.package for m in _quiet_check(pins)]
    assert found == ["aaa-acme-none", "attrs", "zz-acme-none"]
    snap = EnvironmentSnapshot.capture()
    findings = compare(snap, snap, requirements=pins).findings
    assert [f.subject for f in findings if f.check.startswith("package")] == found


def test_an_unevaluated_marker_is_said_by_one_sentence_in_both() -> None:
    marker = 'implementation_version >= "3"'
    reqs = Requirements(packages={"acme": "1.0"}, markers={"acme": marker})
    prod = _snapshot(python_implementation="PyPy", packages={"acme": "0.9"})
    findings = compare(_snapshot(packages={"acme": "1.0"}), prod, requirements=reqs).findings
    (finding,) = [f for f in findings if f.check.startswith("package")]
    note = _requirements.unevaluated_marker(marker, "for production", "compared")
    said = "acme 1.0 in training, 0.9 in production (major version differs)"
    assert finding.message == said + note
    mismatch = PackageMismatch(package="acme", recorded="1.0", installed=None, marker=marker)
    assert str(mismatch) == (
        "acme: the model was saved with 1.0, it is not installed"
        + _requirements.unevaluated_marker(marker, "here", "checked")
    )
    assert list(_requirements.needed_pins(reqs, prod)) == [("acme", "1.0", marker)]
    windows = _snapshot(os="Windows")
    marked = Requirements(packages={"acme": "1.0"}, markers={"acme": 'os_name == "posix"'})
    assert list(_requirements.needed_pins(marked, windows)) == []
    assert list(_requirements.needed_pins(marked, _snapshot())) == [("acme", "1.0", None)]


def test_from_json_evaluates_each_marker_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reqs = Requirements(
        packages={"Tomli": "2.0.1", "numpy": "2.1.0", "acme": "1.0"},
        markers={"tomli": 'python_version < "3.11"', "Acme": 'os_name == "nt"'},
    )
    calls: list[str] = []
    checked = _requirements.marker_problem

    def counted(text: str) -> str | None:
        calls.append(text)
        return checked(text)

    monkeypatch.setattr(_requirements, "marker_problem", counted)
    read = Requirements.from_json(reqs.to_json())
    assert sorted(calls) == sorted(reqs.markers.values())
    assert read == reqs
    assert list(read.markers) == list(reqs.markers) == ["acme", "tomli"]


@pytest.mark.parametrize(
    ("markers", "says"),
    [
        ({"acme": 'os_name == "nt" # x'}, "holds a control character, #"),
        ({"other": 'os_name == "nt"'}, "which is not a pinned distribution"),
        ({"acme": 'os_name == "nt"', "Acme": 'os_name == "posix"'}, "two markers"),
        ({"acme": 'python_version <"'}, "cannot evaluate the marker"),
    ],
)
def test_from_json_keeps_every_marker_refusal(markers: dict[str, str], says: str) -> None:
    document = {"schema_version": 2, "packages": {"acme": "1.0"}, "markers": markers}
    with pytest.raises(SnapshotError, match=r"^requirements: markers") as caught:
        Requirements.from_json(json.dumps(document))
    assert says in str(caught.value)
    with pytest.raises(ConfigError, match=r"^Requirements: markers") as built:
        Requirements(packages={"acme": "1.0"}, markers=markers)
    assert says in str(built.value)


def test_a_version_that_cannot_be_written_is_refused_as_a_marker_is() -> None:
    with pytest.raises(ConfigError) as caught:
        Requirements(packages={"numpy": SURROGATE})
    assert not isinstance(caught.value, SnapshotError)
    assert LONE in str(caught.value)
    assert "write it from UTF-8 text" in str(caught.value)
    assert "packages['numpy']" in str(caught.value)
    with pytest.raises(ConfigError, match="lone surrogate"):
        _quiet_check({"numpy": SURROGATE})
    snap = EnvironmentSnapshot.capture()
    with pytest.raises(ConfigError, match="lone surrogate"):
        compare(snap, snap, requirements={"numpy": SURROGATE})
    # The marker's own refusal, which the version's follows.
    with pytest.raises(ConfigError, match="lone surrogate"):
        Requirements(packages={"numpy": "1.0"}, markers={"numpy": 'os_name == "\udc80"'})
    # Names: no lone surrogate is a distribution name.
    with pytest.raises(ConfigError, match="not a distribution name"):
        Requirements(packages={"num\udc80py": "1.0"})


def test_a_stored_version_that_cannot_be_written_is_refused() -> None:
    document = '{"schema_version": 1, "packages": {"numpy": "1.0\\udc80"}}'
    with pytest.raises(SnapshotError, match="lone surrogate"):
        Requirements.from_json(document)
    named = '{"schema_version": 1, "packages": {"num\\udc80py": "1.0"}}'
    with pytest.raises(SnapshotError, match="lone surrogate"):
        Requirements.from_json(named)
