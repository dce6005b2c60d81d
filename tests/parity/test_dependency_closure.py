"""A model's requirements pin what its distributions run on, not only what it references.

A scikit-learn model's pickle names ``sklearn`` and ``numpy``; scikit-learn runs on scipy
and threadpoolctl too. Registered requirements used to hold only the referenced
distributions, so ``modelship parity check REGISTRY MODEL --against prod.json`` passed a
production image without scipy (where scikit-learn cannot even be imported), and
``requirements_txt`` wrote a file that left scipy's version to chance.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from _fake_dists import write_dist
from packaging.requirements import Requirement
from sklearn.preprocessing import StandardScaler

import modelship as ms
from modelship.parity import (
    ArtifactScan,
    EnvironmentSnapshot,
    requirements_txt,
    resolve_requirements,
)
from modelship.parity._cli import main
from modelship.parity._dependencies import dependency_closure
from modelship.parity._installed import installed_packages, normalize_name


def _oracle(name: str, extras: frozenset[str] = frozenset()) -> dict[str, str]:
    """The closure as ``packaging`` reads the metadata: an independent reading (of the
    requirements every platform needs: no marker, or one naming only ``extra``)."""
    pinned: dict[str, str] = {}
    todo, seen = [(normalize_name(name), extras)], set()
    while todo:
        current, wanted = todo.pop()
        if (current, wanted) in seen:
            continue
        seen.add((current, wanted))
        for line in importlib.metadata.requires(current) or []:
            req = Requirement(line)
            only_extra = req.marker is None or all(
                isinstance(part, tuple) and "extra" in (str(part[0]), str(part[2]))
                for part in req.marker._markers
                if not isinstance(part, str)
            )
            applies = req.marker is None or (
                only_extra and any(req.marker.evaluate({"extra": extra}) for extra in ("", *wanted))
            )
            dependency = normalize_name(req.name)
            if applies and dependency in installed_packages():
                pinned[dependency] = installed_packages()[dependency]
                todo.append((dependency, frozenset(req.extras)))
    return pinned


def test_a_scikit_learn_model_pins_what_scikit_learn_runs_on() -> None:
    reqs = resolve_requirements(ArtifactScan(globals=(("sklearn.preprocessing._data", "X"),)))
    expected = {
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        **_oracle("scikit-learn"),
    }
    assert {"scipy", "threadpoolctl", "numpy"} <= set(expected)
    assert dict(reqs) == expected
    assert reqs.modules == ("sklearn",)
    direct = resolve_requirements(
        ArtifactScan(globals=(("sklearn.preprocessing._data", "X"),)), dependencies=False
    )
    assert dict(direct) == {"scikit-learn": expected["scikit-learn"]}


def test_dependencies_must_be_a_bool() -> None:
    with pytest.raises(ms.errors.ConfigError, match="dependencies must be True or False"):
        resolve_requirements(ArtifactScan(globals=()), dependencies="no")  # type: ignore[arg-type]


def test_markers_extras_cycles_and_missing_dependencies(site: Path) -> None:
    write_dist(
        site,
        "acme-core",
        "1.0",
        "acme-util>=0.1",
        'acme-old; python_version < "3"',  # another interpreter's
        'acme-testing; extra == "test"',  # the root's extras were not recorded
        "acme-frames[fast]",  # a dependency's extra is followed
        "acme-absent>=1",  # required, not installed: nothing to pin
        'acme-odd; weird_variable == "1"',  # unreadable: not known to apply everywhere
        'acme-tomli; python_version < "9"',  # holds here; not on every serving platform
    )
    write_dist(site, "acme-util", "0.3", "acme-core")  # a cycle back to the root
    write_dist(site, "acme-old", "9.9")
    write_dist(site, "acme-testing", "2.0")
    write_dist(
        site, "acme-frames", "4.1", 'acme-speedups; extra == "fast"', 'acme-gpu; extra == "gpu"'
    )
    write_dist(site, "acme-speedups", "0.9", "acme-leaf")
    write_dist(site, "acme-gpu", "1.1")
    write_dist(site, "acme-leaf", "0.0.1")
    write_dist(site, "acme-odd", "3")
    write_dist(site, "acme-tomli", "2.0")
    closure = dependency_closure(["acme-core"], installed_packages())
    assert closure == {
        "acme-core": "1.0",  # through the cycle: a root another one depends on
        "acme-util": "0.3",
        "acme-frames": "4.1",
        "acme-speedups": "0.9",
        "acme-leaf": "0.0.1",
    }


def test_registration_records_the_closure_and_requirements_txt_pins_it(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "registry"))
    model = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    mv = reg.register(model_name="scaler", model=model, serializer="joblib")
    assert mv.requirements is not None
    assert mv.requirements["scipy"] == importlib.metadata.version("scipy")
    assert mv.requirements["threadpoolctl"] == importlib.metadata.version("threadpoolctl")
    assert "scipy==" + importlib.metadata.version("scipy") in requirements_txt(mv.requirements)
    # And the check before loading sees them: here every version is the installed one.
    assert isinstance(reg.load("scaler", "latest"), StandardScaler)


def test_registry_parity_check_finds_a_dependency_missing_in_production(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "registry")
    model = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    mv = ms.open_registry(url).register(model_name="scaler", model=model, serializer="joblib")
    assert mv.environment is not None
    prod = json.loads(mv.environment.to_json())
    same = tmp_path / "same.json"
    same.write_text(json.dumps(prod), encoding="utf-8")
    assert main(["check", url, "scaler", "--against", str(same)]) == 0
    del prod["packages"]["scipy"]
    prod["packages"]["threadpoolctl"] = "0.1.0"
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps(prod), encoding="utf-8")
    EnvironmentSnapshot.from_json(missing.read_text(encoding="utf-8"))  # still a snapshot
    capsys.readouterr()
    assert main(["check", url, "scaler", "--against", str(missing)]) == 1
    out = capsys.readouterr().out
    assert "scipy" in out
    assert "not installed in production" in out
    assert "threadpoolctl" in out


def test_a_dependency_only_some_platforms_need_is_not_demanded_of_every_one(
    site: Path, recwarn: pytest.WarningsRecorder
) -> None:
    # Second look: the closure pinned a backport its marker asked for here
    # (python_version < "3.12"); loaded where it is not installed (Python 3.12), the model
    # warned, and strict_environment=True refused to load it.
    write_dist(site, "acme-model", "1.0", 'acme-backport>=1; python_version < "99"', "acme-base")
    write_dist(site, "acme-backport", "1.2")
    write_dist(site, "acme-base", "0.5")
    closure = dependency_closure(["acme-model"], installed_packages())
    assert closure == {"acme-base": "0.5"}


def test_extra_names_are_compared_as_pep_685_normalises_them(site: Path) -> None:
    write_dist(site, "acme-root", "1.0", "acme-lib[other, Socks_Proxy]")  # spaces after ","
    write_dist(site, "acme-lib", "1.0", 'acme-socks; extra == "socks_proxy"')
    write_dist(site, "acme-socks", "0.1")
    assert dependency_closure(["acme-root"], installed_packages()) == {
        "acme-lib": "1.0",
        "acme-socks": "0.1",
    }


def test_a_semicolon_inside_a_url_does_not_start_the_marker(site: Path) -> None:
    write_dist(
        site,
        "acme-urls",
        "1.0",
        'acme-win @ https://h.example/p;v=1/x.whl ; sys_platform == "win32"',
        "acme-plain @ https://h.example/p;v=2/y.whl",
    )
    write_dist(site, "acme-win", "1.0")
    write_dist(site, "acme-plain", "1.0")
    assert dependency_closure(["acme-urls"], installed_packages()) == {"acme-plain": "1.0"}
