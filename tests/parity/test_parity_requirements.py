"""What a model needs: distributions behind the artifact's modules, pinned and checked."""

from __future__ import annotations

import importlib.metadata
import io
import pickle
import warnings
from fractions import Fraction

import joblib
import numpy as np
import pytest
from _estimators import FakeScaler, clip_outliers
from hypothesis import given
from hypothesis import strategies as st

from modelship.errors import ConfigError
from modelship.parity import (
    ArtifactScan,
    EnvironmentMismatch,
    EnvironmentMismatchWarning,
    Requirements,
    SnapshotError,
    capture_for_registration,
    check_installed,
    requirements_txt,
    resolve_requirements,
    scan_artifact,
    version_change,
)

NUMPY = importlib.metadata.version("numpy")


def scan_of(*modules: str) -> ArtifactScan:
    return ArtifactScan(globals=tuple((module, "x") for module in modules))


def test_modules_map_to_their_distribution_at_the_installed_version() -> None:
    reqs = resolve_requirements(
        scan_of("numpy._core.multiarray", "joblib.numpy_pickle"), dependencies=False
    )
    assert dict(reqs) == {"numpy": NUMPY, "joblib": importlib.metadata.version("joblib")}


def test_a_module_maps_to_a_distribution_of_another_name() -> None:
    reqs = resolve_requirements(scan_of("sklearn.preprocessing._data"), dependencies=False)
    assert dict(reqs) == {"scikit-learn": importlib.metadata.version("scikit-learn")}
    assert reqs.modules == ("sklearn",)


def test_standard_library_modules_are_not_requirements() -> None:
    reqs = resolve_requirements(scan_of("collections", "fractions", "_codecs", "copy_reg"))
    assert dict(reqs) == {}
    assert reqs.modules == reqs.unresolved == ()


def test_code_from_a_script_or_a_local_module_is_unresolved() -> None:
    data = pickle.dumps([clip_outliers, FakeScaler()])
    reqs = resolve_requirements(scan_artifact(data))
    assert reqs.unresolved == (FakeScaler.__module__,)
    assert resolve_requirements(scan_of("__main__")).unresolved == ("__main__",)


def test_capture_for_registration_pins_what_a_real_scikit_learn_model_needs() -> None:
    from sklearn import linear_model, pipeline, preprocessing

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = pipeline.make_pipeline(
        preprocessing.StandardScaler(), linear_model.LogisticRegression()
    ).fit(x, y)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    snapshot, reqs = capture_for_registration(buffer.getvalue())
    assert reqs["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert reqs["numpy"] == NUMPY
    assert set(reqs) <= set(snapshot.packages)
    assert all(snapshot.packages[name] == version for name, version in reqs.items())


def test_requirements_txt_pins_every_distribution_sorted_and_names_unresolved_code() -> None:
    reqs = Requirements(packages={"Scikit_Learn": "1.5.2", "numpy": "2.1.0"}, unresolved=["feat"])
    lines = requirements_txt(reqs).splitlines()
    assert lines[1:3] == ["numpy==2.1.0", "scikit-learn==1.5.2"]
    assert lines[-1].startswith("#")
    assert lines[-1].endswith("feat")


def test_requirements_txt_refuses_a_version_pip_cannot_pin() -> None:
    with pytest.raises(SnapshotError, match="not a version pip can pin"):
        requirements_txt({"numpy": "2.1.0; rm -rf /"})


def test_requirements_round_trip_through_json() -> None:
    reqs = resolve_requirements(scan_artifact(pickle.dumps([np.arange(3), Fraction(1, 2)])))
    assert Requirements.from_json(reqs.to_json()) == reqs


@pytest.mark.parametrize(
    "text",
    ["[]", "{}", '{"schema_version": 1, "packages": []}', '{"schema_version": 99}', "{"],
    ids=["list", "no-version", "packages-list", "newer", "not-json"],
)
def test_malformed_requirements_raise_snapshot_error(text: str) -> None:
    with pytest.raises(SnapshotError):
        Requirements.from_json(text)


def test_check_installed_warns_naming_package_recorded_and_installed_versions() -> None:
    with pytest.warns(EnvironmentMismatchWarning) as caught:
        found = check_installed({"numpy": "1.0.0"})
    message = str(caught[0].message)
    assert "numpy" in message
    assert "1.0.0" in message
    assert NUMPY in message
    assert [(m.package, m.recorded, m.installed) for m in found] == [("numpy", "1.0.0", NUMPY)]


def test_check_installed_reports_a_missing_distribution() -> None:
    with pytest.warns(EnvironmentMismatchWarning, match="not installed"):
        found = check_installed({"surely-not-installed-dist": "1.0"})
    assert found[0].installed is None
    assert found[0].change == "missing"


def test_check_installed_is_silent_when_everything_matches() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_installed({"numpy": NUMPY}) == ()


def test_check_installed_strict_raises_listing_every_mismatch() -> None:
    with pytest.raises(EnvironmentMismatch, match=r"numpy.*surely-absent"):
        check_installed({"numpy": "1.0.0", "surely-absent": "2.0"}, strict=True)


@pytest.mark.parametrize(
    ("recorded", "installed", "change"),
    [
        ("1.4.2", "1.4.2", None),
        ("1.4", "1.4.0", None),
        ("1.4.2", "1.4.3", "patch"),
        ("1.4.2", "1.5.0", "minor"),
        ("1.4.2", "2.0.0", "major"),
        ("2.1.0+cpu", "2.1.0+cu121", "label"),
        ("1.0rc1", "1.0", "label"),
        ("1!1.0", "1!2.0", "major"),
        ("unknown", "other", "unknown"),
    ],
)
def test_version_change_names_the_first_release_part_that_differs(
    recorded: str, installed: str, change: str | None
) -> None:
    assert version_change(recorded, installed) == change


_versions = st.lists(st.integers(0, 30), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)


@given(_versions, _versions)
def test_version_change_is_symmetric_and_none_only_for_equal_releases(a: str, b: str) -> None:
    assert version_change(a, b) == version_change(b, a)
    same = [int(p) for p in a.split(".")] + [0] * 4
    other = [int(p) for p in b.split(".")] + [0] * 4
    assert (version_change(a, b) is None) == (same[:4] == other[:4])
    if same[0] != other[0]:
        assert version_change(a, b) == "major"


@pytest.mark.parametrize(
    "options",
    [{"strict": "yes"}, {"what": 3}, {"stacklevel": 0}, {"stacklevel": "2"}],
)
def test_check_installed_refuses_options_of_the_wrong_kind(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=str(next(iter(options)))):
        check_installed({"attrs": "0.1.0"}, **options)  # type: ignore[arg-type]


def test_check_installed_warns_at_its_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_installed({"attrs": "0.1.0"}, what="fraud version 3")
    assert caught[0].filename == __file__
    assert str(caught[0].message).startswith("fraud version 3: attrs:")
