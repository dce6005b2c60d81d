"""A dependency needed only on some platforms is pinned with its marker.

``resolve_requirements`` left out every dependency whose ``Requires-Dist`` marker named a
platform or a Python version, even one that held where the model was trained
(``numpy; python_version >= "3.8"``, ``nvidia-nccl-cu12; platform_system == "Linux"``):
a serving image could carry any version of it unchecked. It is now pinned with its
marker, and every reader of the requirements applies the marker where it checks.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest
from _fake_dists import write_dist

import modelship as ms
from modelship.parity import (
    ArtifactScan,
    EnvironmentMismatch,
    EnvironmentSnapshot,
    Requirements,
    SnapshotError,
    check_installed,
    compare,
    requirements_txt,
    resolve_requirements,
)
from modelship.parity._cli import main
from modelship.parity._dependencies import dependency_closure, marked_closure
from modelship.parity._installed import installed_packages
from modelship.parity._pins import (
    NAME_PATTERN,
    marker_environment,
    marker_without_extra,
    read_pins,
    split_marker,
)

HERE = f'os_name == "{os.name}"'  # holds on this machine
ELSEWHERE = 'os_name == "elsewhere"'  # holds on no machine


def _resolve(root: str) -> Requirements:
    module = root.replace("-", "_")
    return resolve_requirements(
        ArtifactScan(globals=((module, "Model"),)), distributions={module: [root]}
    )


def test_a_marked_dependency_that_held_in_training_is_pinned_with_its_marker(
    site: Path,
) -> None:
    write_dist(
        site,
        "acme-model",
        "1.0",
        f"acme-here>=1; {HERE}",
        f"acme-elsewhere; {ELSEWHERE}",
        'acme-backport; python_version < "99"',
        "acme-base",
    )
    for name in ("acme-here", "acme-elsewhere", "acme-backport", "acme-base"):
        write_dist(site, name, "1.2")
    reqs = _resolve("acme-model")
    assert dict(reqs) == {
        "acme-model": "1.0",
        "acme-here": "1.2",
        "acme-backport": "1.2",
        "acme-base": "1.2",
    }
    assert dict(reqs.markers) == {"acme-here": HERE, "acme-backport": 'python_version < "99"'}
    # what every platform needs, as before
    assert dependency_closure(["acme-model"], installed_packages()) == {"acme-base": "1.2"}


def test_markers_combine_along_a_path_and_across_paths(site: Path) -> None:
    m1, m2, m3 = HERE, 'python_version >= "3"', 'platform_machine != "no-such"'
    write_dist(site, "acme-a", "1.0", f"acme-b; {m1}", f"acme-d; {m3}", f"acme-e; {m1}")
    write_dist(site, "acme-b", "1.0", f"acme-c; {m2}", "acme-e")  # e: (m1) twice, one kept
    write_dist(site, "acme-d", "1.0", "acme-c")
    write_dist(site, "acme-c", "1.0", "acme-leaf")
    write_dist(site, "acme-e", "1.0")
    write_dist(site, "acme-leaf", "1.0")
    closure = marked_closure(["acme-a"], installed_packages())
    through_b = f"({m2}) and ({m1})" if m2 < m1 else f"({m1}) and ({m2})"
    expected_c = " or ".join(f"({p})" for p in sorted([through_b, m3], key=_sorted_key))
    assert closure["acme-b"] == ("1.0", m1)
    assert closure["acme-d"] == ("1.0", m3)
    assert closure["acme-e"] == ("1.0", m1)
    assert closure["acme-c"] == ("1.0", expected_c)
    assert closure["acme-leaf"] == ("1.0", expected_c)
    for _, marker in closure.values():  # each reads, and holds here
        assert marker is not None
        assert read_pins(f"x==1 ; {marker}\n", "r.txt", marker_environment()) == {"x": "1"}


def _sorted_key(path: str) -> list[str]:
    """How the closure orders paths: by their sorted conditions."""
    return sorted(part.strip("()") for part in path.split(") and ("))


def test_an_unconditional_path_makes_the_dependency_needed_everywhere(site: Path) -> None:
    write_dist(site, "acme-top", "1.0", f"acme-mid; {HERE}", "acme-low")
    write_dist(site, "acme-mid", "1.0", "acme-low")
    write_dist(site, "acme-low", "1.0")
    closure = marked_closure(["acme-top"], installed_packages())
    assert closure == {"acme-mid": ("1.0", HERE), "acme-low": ("1.0", None)}


def test_the_extra_a_dependent_asked_for_is_taken_out_of_the_marker(site: Path) -> None:
    write_dist(site, "acme-app", "1.0", "acme-lib[GPU]")
    write_dist(
        site,
        "acme-lib",
        "1.0",
        f'acme-cuda; extra == "gpu" and {HERE}',
        f'acme-mixed; extra == "gpu" or {HERE}',  # not separable: not pinned, as before
        f'acme-other; extra == "cpu" and {HERE}',  # an extra not asked for
    )
    for name in ("acme-cuda", "acme-mixed", "acme-other"):
        write_dist(site, name, "1.0")
    closure = marked_closure(["acme-app"], installed_packages())
    assert closure == {"acme-lib": ("1.0", None), "acme-cuda": ("1.0", HERE)}
    assert marker_without_extra(f'(extra == "gpu") and ({HERE})', "gpu") == f"({HERE})"


def test_a_marker_past_the_length_bound_or_unreadable_is_not_pinned(site: Path) -> None:
    long_one = " and ".join([HERE] * 40)  # 40 x 18 characters: within the bound
    assert len(long_one) < 1000
    too_long = " and ".join([HERE] * 60)
    write_dist(
        site,
        "acme-root",
        "1.0",
        f"acme-long; {long_one}",
        f"acme-too-long; {too_long}",
        'acme-unknown; platform_version == "1"',  # a variable this reader does not know
        f"acme-two; {long_one}",
        f"acme-path; {long_one.replace('==', '!=').replace(os.name, 'zz')}",
    )
    write_dist(site, "acme-path", "1.0", "acme-two")  # a second 700-character path to acme-two
    for name in ("acme-long", "acme-too-long", "acme-unknown", "acme-two"):
        write_dist(site, name, "1.0")
    closure = marked_closure(["acme-root"], installed_packages())
    assert set(closure) == {"acme-long", "acme-path"}  # acme-two's marker: > 1000 chars


def test_a_semicolon_inside_a_marker_value_does_not_start_the_marker(site: Path) -> None:
    # PEP 508: a version holds no ";", a marker's quoted value may; the first one starts it.
    write_dist(site, "acme-semi", "1.0", f'acme-quoted; os_name != "a;b" and {HERE}')
    write_dist(site, "acme-quoted", "1.0")
    # Naming only extra: needed everywhere (the last ";" split it into an unreadable one).
    write_dist(site, "acme-extra-semi", "1.0", 'acme-any; extra != "a;b"')
    write_dist(site, "acme-any", "1.0")
    assert dependency_closure(["acme-extra-semi"], installed_packages()) == {"acme-any": "1.0"}
    assert marked_closure(["acme-semi"], installed_packages()) == {
        "acme-quoted": ("1.0", f'os_name != "a;b" and {HERE}')
    }
    assert split_marker('x @ https://h/p;v=1 ; os_name != "a;b"')[1] == ' os_name != "a;b"'
    assert read_pins('x==1 ; os_name != "a;b"\n', "r.txt", {"os_name": "posix"}) == {"x": "1"}


def test_the_shared_name_pattern_reads_names_and_extras_alike() -> None:
    import re

    assert re.fullmatch(NAME_PATTERN, "Socks_Proxy")
    assert not re.fullmatch(NAME_PATTERN, "a-")
    assert read_pins("a.b-c[x_y]==1\n", "r.txt", {}) == {"a-b-c": "1"}


def _marked() -> Requirements:
    return Requirements(
        packages={"numpy": "2.1.0", "pywin32": "306", "tomli": "2.0.1"},
        markers={"PyWin32": 'sys_platform == "win32"', "tomli": 'python_version < "3.11"'},
    )


def test_requirements_json_keeps_markers_and_the_old_layout_without_them() -> None:
    reqs = _marked()
    assert dict(reqs.markers) == {
        "pywin32": 'sys_platform == "win32"',
        "tomli": 'python_version < "3.11"',
    }
    document = json.loads(reqs.to_json())
    assert document["schema_version"] == 2
    assert Requirements.from_json(reqs.to_json()) == reqs
    plain = Requirements(packages={"numpy": "2.1.0"})
    assert json.loads(plain.to_json()) == {
        "schema_version": 1,
        "packages": {"numpy": "2.1.0"},
        "modules": [],
        "unresolved": [],
        "dynamic": 0,
    }
    assert Requirements.from_json(plain.to_json()) == plain
    # Markers are read only from the layout that added them; a newer one is refused.
    old_with_markers = {**json.loads(plain.to_json()), "markers": {"numpy": 'os_name == "nt"'}}
    with pytest.raises(SnapshotError, match="unknown field"):
        Requirements.from_json(json.dumps(old_with_markers))
    with pytest.raises(SnapshotError, match="upgrade modelship"):
        Requirements.from_json(json.dumps({**document, "schema_version": 3}))


@pytest.mark.parametrize(
    ("document", "match"),
    [
        (
            {"schema_version": 2, "packages": {"a": "1"}, "markers": {"b": 'os_name == "nt"'}},
            "not a pinned distribution",
        ),
        (
            {
                "schema_version": 2,
                "packages": {"a-b": "1"},
                "markers": {"A_B": 'os_name == "nt"', "a-b": 'os_name == "posix"'},
            },
            "two markers",
        ),
        (
            {
                "schema_version": 2,
                "packages": {"a": "1"},
                "markers": {"a": 'os_name == "nt"\nb==2'},
            },
            "control character",
        ),
        (
            {"schema_version": 2, "packages": {"a": "1"}, "markers": {"a": 'os_name == " -r x"'}},
            "starting with '-'",
        ),
        (
            {"schema_version": 2, "packages": {"a": "1"}, "markers": {"a": 'os == "nt"'}},
            "cannot evaluate",
        ),
        (
            {"schema_version": 2, "packages": {"a": "1"}, "markers": {"a": "x" * 1001}},
            "longer than 1000",
        ),
    ],
)
def test_a_bad_marker_document_is_refused(document: dict[str, object], match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        Requirements.from_json(json.dumps(document))


def test_requirements_txt_writes_each_marker_for_pip_to_evaluate() -> None:
    text = requirements_txt(_marked())
    assert 'pywin32==306 ; sys_platform == "win32"\n' in text
    assert 'tomli==2.0.1 ; python_version < "3.11"\n' in text
    environment = {**marker_environment(), "sys_platform": "linux", "python_version": "3.12"}
    assert read_pins(text, "r.txt", environment) == {"numpy": "2.1.0"}
    environment = {**environment, "sys_platform": "win32", "python_version": "3.10"}
    assert read_pins(text, "r.txt", environment) == dict(_marked())


def _snapshot(**fields: object) -> EnvironmentSnapshot:
    base: dict[str, object] = {
        "python_version": "3.12.1",
        "python_implementation": "CPython",
        "os": "Linux",
        "machine": "x86_64",
    }
    return EnvironmentSnapshot(**{**base, **fields})  # type: ignore[arg-type]


def test_compare_applies_each_marker_to_production() -> None:
    train = _snapshot(packages={"numpy": "2.1.0", "pywin32": "306", "tomli": "2.0.1"})
    linux = _snapshot(packages={"numpy": "2.1.0"})
    assert compare(train, linux, requirements=_marked()).findings == ()
    windows = attrs.evolve(linux, os="Windows", python_version="3.10.4")
    findings = compare(train, windows, requirements=_marked()).findings
    missing = {f.subject for f in findings if f.check.startswith("package")}
    assert missing == {"pywin32", "tomli"}


def test_compare_says_when_production_cannot_answer_a_marker() -> None:
    # PyPy's implementation_version is not in its snapshot: compared as needed, said so.
    reqs = Requirements(packages={"acme": "1.0"}, markers={"acme": 'implementation_version >= "3"'})
    prod = _snapshot(python_implementation="PyPy", packages={"acme": "0.9"})
    train = _snapshot(packages={"acme": "1.0"})
    findings = compare(train, prod, requirements=reqs).findings
    (finding,) = [f for f in findings if f.check.startswith("package")]
    assert finding.subject == "acme"
    assert "cannot be evaluated for production: compared as needed" in finding.message
    same = attrs.evolve(prod, packages={"acme": "1.0"})  # the pin is met either way
    findings = compare(train, same, requirements=reqs).findings
    assert [f for f in findings if f.check.startswith("package")] == []


def test_check_installed_applies_markers_to_this_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reqs = Requirements(
        packages={"acme-not-installed": "1.0", "acme-needed-here": "1.0"},
        markers={"acme-not-installed": ELSEWHERE, "acme-needed-here": HERE},
    )
    with pytest.raises(EnvironmentMismatch) as caught:
        check_installed(reqs, strict=True)
    assert "acme-needed-here" in str(caught.value)
    assert "acme-not-installed" not in str(caught.value)
    unknown = Requirements(
        packages={"acme-x": "1.0"}, markers={"acme-x": 'implementation_version >= "3"'}
    )
    environment = marker_environment()
    del environment["implementation_version"]
    monkeypatch.setattr("modelship.parity._requirements.marker_environment", lambda: environment)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        (mismatch,) = check_installed(unknown)
    assert "cannot be evaluated here: checked as needed" in str(mismatch)


def test_load_and_the_parity_cli_apply_the_markers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "registry")
    reg = ms.open_registry(url)
    reqs = Requirements(
        packages={"numpy": np.__version__, "acme-windows-only": "1.0"},
        markers={"acme-windows-only": ELSEWHERE},
    )
    mv = reg.register(
        model_name="m",
        model={"w": np.arange(3)},
        attachments={"requirements": reqs.to_json().encode()},
    )
    assert mv.requirements == reqs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.load("m", "latest", strict_environment=True)  # not needed here: loads
    assert mv.environment is not None
    prod = tmp_path / "prod.json"
    prod.write_text(mv.environment.to_json(), encoding="utf-8")
    assert main(["check", url, "m", "--against", str(prod)]) == 0
    req_file = tmp_path / "req.json"
    req_file.write_text(reqs.to_json(), encoding="utf-8")
    args = ["check", url, "m", "--against", str(prod), "--requirements", str(req_file)]
    assert main(args) == 0
    needed_here = attrs.evolve(reqs, markers={"acme-windows-only": HERE})
    req_file.write_text(needed_here.to_json(), encoding="utf-8")
    capsys.readouterr()
    assert main(args) == 1
    assert "acme-windows-only" in capsys.readouterr().out
