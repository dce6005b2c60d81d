"""Second look at pins with markers: what the first version let through.

- A ``Requires-Dist`` marker nested 100 parentheses deep (the evaluator's bound) became
  101-102 deep once combined along a path, and ``Requirements`` refused the marker
  ``resolve_requirements`` had built: registering any model that depended on such a
  package failed, saying to "write the pin without it", which the user cannot do.
- ``sys_platform === "linux"`` was answered, where packaging refuses ``===`` of a value
  that is not a version; ``extra in "GPU"`` was not compared as PEP 685 normalises names.
- A marker holding a lone surrogate was accepted, then could not be written.
- ``markers={"a": float("nan")}`` was called "two markers" (NaN is unequal to itself).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _fake_dists import write_dist

import modelship.parity._requirements as requirements_module
from modelship.errors import ConfigError
from modelship.parity import ArtifactScan, Requirements, resolve_requirements
from modelship.parity._dependencies import marked_closure
from modelship.parity._installed import installed_packages
from modelship.parity._pins import (
    MAX_MARKER_NESTING,
    evaluate_marker,
    marker_environment,
    marker_problem,
    read_pins,
)

HERE = f'os_name == "{os.name}"'  # holds on this machine
DEEP = "(" * MAX_MARKER_NESTING + HERE + ")" * MAX_MARKER_NESTING  # as deep as allowed


def _resolve(root: str) -> Requirements:
    module = root.replace("-", "_")
    return resolve_requirements(
        ArtifactScan(globals=((module, "Model"),)), distributions={module: [root]}
    )


# --- 1. a combined marker nested past the bound is not pinned (it was an error) -----------


def test_a_combined_marker_nested_past_the_bound_is_left_unpinned_not_an_error(
    site: Path,
) -> None:
    assert marker_problem(DEEP) is None  # the dependency's own marker is a valid one
    write_dist(site, "acme-model", "1.0", f"acme-a; {DEEP}", 'acme-b; os_name != "x"')
    write_dist(site, "acme-a", "1.0", "acme-c")
    write_dist(site, "acme-b", "1.0", 'acme-c; sys_platform != "x"')
    write_dist(site, "acme-c", "1.0")
    # acme-c is needed where (DEEP) or (os_name != "x" and sys_platform != "x"): the
    # parentheses around DEEP nest it 102 deep, which no Requirements can carry.
    reqs = _resolve("acme-model")  # raised ConfigError before
    assert dict(reqs) == {"acme-a": "1.0", "acme-b": "1.0", "acme-model": "1.0"}
    assert dict(reqs.markers) == {"acme-a": DEEP, "acme-b": 'os_name != "x"'}
    closure = marked_closure(["acme-model"], installed_packages())
    assert "acme-c" not in closure
    for _, marker in closure.values():
        assert marker is None or marker_problem(marker) is None


def test_a_marker_deep_along_a_path_is_left_unpinned(site: Path) -> None:
    write_dist(site, "acme-model", "1.0", f"acme-a; {DEEP}")
    write_dist(site, "acme-a", "1.0", 'acme-c; sys_platform != "x"')  # (DEEP) and (...): 101
    write_dist(site, "acme-c", "1.0")
    reqs = _resolve("acme-model")
    assert dict(reqs) == {"acme-a": "1.0", "acme-model": "1.0"}


def test_resolve_requirements_leaves_out_a_pin_whose_built_marker_cannot_be_carried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Should the walk ever build a marker Requirements refuses, the pin is left out (as
    # one too long is): resolve_requirements, and so register(), never raise for it.
    unwritable = "(" + DEEP + ")"
    good = 'python_version >= "3"'

    def closure(*_: object) -> dict[str, tuple[str, str | None]]:
        return {"acme-bad": ("1.0", unwritable), "acme-good": ("2.0", good)}

    monkeypatch.setattr(requirements_module, "marked_closure", closure)
    reqs = resolve_requirements(ArtifactScan(globals=(("numpy", "ndarray"),)))
    assert "acme-bad" not in reqs
    assert "acme-bad" not in reqs.markers
    assert (reqs["acme-good"], reqs.markers["acme-good"]) == ("2.0", good)


# --- 2. === of a value that is not a version is refused; extra "in" is normalised -------


@pytest.mark.parametrize(
    "marker",
    [
        'sys_platform === "linux"',
        '"posix" === os_name',
        'platform_python_implementation === "CPython"',
        'extra === "gpu"',
        'python_version === ""',  # packaging reads no specifier "==="
    ],
)
def test_arbitrary_equality_of_a_value_that_is_not_a_version_is_refused(marker: str) -> None:
    environment = {**marker_environment(), "sys_platform": "linux", "os_name": "posix"}
    with pytest.raises(ConfigError, match="cannot evaluate the marker"):
        evaluate_marker(marker, environment)
    with pytest.raises(ConfigError, match=r"r\.txt, line 1: cannot evaluate the marker"):
        read_pins(f"acme==1.0 ; {marker}", "r.txt", environment)
    assert marker_problem(marker) is not None
    with pytest.raises(ConfigError, match="cannot evaluate the marker"):
        Requirements(packages={"acme": "1.0"}, markers={"acme": marker})


def test_arbitrary_equality_is_read_for_version_variables_only() -> None:
    environment = {"python_full_version": "3.11.4", "python_version": "3.11", "os_name": "posix"}
    with pytest.raises(ConfigError, match="os_name is not version-valued"):
        evaluate_marker('os_name === "posix"', environment)
    assert evaluate_marker('python_full_version === "3.11.4"', environment) is True
    assert evaluate_marker("python_version === '3.11' ", environment) is True
    assert evaluate_marker('python_version === "3.11.0"', environment) is False


@pytest.mark.parametrize(
    ("marker", "extra", "holds"),
    [
        ('extra in "GPU"', "gpu", True),
        ('"GPU" in extra', "gpu", True),
        ('extra in "Gpu_X"', "gpu-x", True),
        ('extra not in "GPU"', "gpu", False),
        ('extra not in "Gpu_X"', "gpu-x", False),
    ],
)
def test_extra_in_compares_names_as_pep_685_normalises_them(
    marker: str, extra: str, holds: bool
) -> None:
    assert evaluate_marker(marker, {"extra": extra}) is holds
    packaging_markers = pytest.importorskip("packaging.markers")
    assert packaging_markers.Marker(marker).evaluate({"extra": extra}) is holds


# --- 3. a lone surrogate in a marker is refused when the requirements are made ------------


def test_a_marker_holding_a_lone_surrogate_is_refused() -> None:
    marker = 'os_name == "\ud800"'
    problem = marker_problem(marker)
    assert problem is not None
    assert "lone surrogate" in problem
    with pytest.raises(ConfigError, match=r"markers\['tomli'\]: .*lone surrogate"):
        Requirements(packages={"tomli": "2.0.1"}, markers={"tomli": marker})


# --- 4. a marker that is not a string is named so, before any comparison ------------------


@pytest.mark.parametrize("value", [float("nan"), None, 5, b"os_name"])
def test_a_marker_that_is_not_a_string_is_refused_as_such(value: object) -> None:
    with pytest.raises(ConfigError, match=r"markers\['a'\]: the marker .* is not a string") as info:
        Requirements(packages={"a": "1.0"}, markers={"a": value})  # type: ignore[dict-item]
    assert "two markers" not in str(info.value)
