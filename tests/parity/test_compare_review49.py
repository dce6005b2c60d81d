"""Review 49: label differences (not "patch"), and the BLAS kernels a computation runs."""

from __future__ import annotations

import attrs
import pytest

import modelship as ms
from modelship.parity import (
    DEFAULT_ENV_ALLOWLIST,
    BlasLibrary,
    EnvironmentSnapshot,
    PackageMismatch,
    compare,
    version_change,
)

TRAIN = EnvironmentSnapshot(
    python_version="3.11.7",
    python_implementation="CPython",
    os="Linux",
    machine="x86_64",
    packages={
        "scikit-learn": "1.5.2",
        "scipy": "1.14.1",
        "threadpoolctl": "3.5.0",
        "numpy": "2.1.0",
        "joblib": "1.4.2",
    },
)
NEEDED = {"scikit-learn": "1.5.2", "numpy": "2.1.0", "joblib": "1.4.2"}


def found(report: ms.parity.ParityReport) -> list[tuple[str, str, str | None]]:
    return [(f.check, f.severity.value, f.subject) for f in report.findings]


def test_the_requirements_pins_replace_the_snapshots_versions() -> None:
    report = compare(TRAIN, TRAIN, requirements={"NumPy": "1.26.4"})
    assert [(f.check, f.subject, f.train) for f in report.findings] == [
        ("package_major", "numpy", "1.26.4")
    ]


@pytest.mark.parametrize(
    ("recorded", "installed", "words"),
    [
        ("2.1.0+cu121", "2.1.0+cpu", "local label differs: +cu121 vs +cpu"),
        ("2.1.0+cu121", "2.1.0", "local label differs: +cu121 vs no local label"),
        ("1.6.dev0", "1.6.0", "pre-release/dev label differs"),
        ("2.0.0rc1", "2.0.0", "pre-release/dev label differs"),
        ("2.0.0", "2.0.0.post1", "post-release label differs"),
    ],
)
def test_a_label_difference_is_not_called_a_patch_difference(
    recorded: str, installed: str, words: str
) -> None:
    assert version_change(recorded, installed) == "label"
    prod = attrs.evolve(TRAIN, packages={**TRAIN.packages, "numpy": installed})
    train = attrs.evolve(TRAIN, packages={**TRAIN.packages, "numpy": recorded})
    [finding] = compare(train, prod).findings
    assert (finding.check, finding.severity.value) == ("package_patch", "advisory")
    assert finding.message.endswith(f"({words})")
    assert "patch version differs" not in finding.message
    mismatch = PackageMismatch(package="numpy", recorded=recorded, installed=installed)
    assert mismatch.change == "label"
    assert str(mismatch).endswith(f"({words})")


def test_a_patch_difference_is_still_one() -> None:
    assert version_change("1.4.2", "1.4.3") == "patch"
    assert version_change("1.4.2+cpu", "1.4.3+cpu") == "patch"


@pytest.mark.parametrize("name", ["OPENBLAS_CORETYPE", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS"])
def test_the_variables_choosing_blas_code_paths_are_recorded_by_default(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert name in DEFAULT_ENV_ALLOWLIST
    monkeypatch.setenv(name, "Haswell")
    assert EnvironmentSnapshot.capture().env[name] == "Haswell"


def kernel(architecture: str | None) -> EnvironmentSnapshot:
    return attrs.evolve(
        TRAIN,
        blas=[BlasLibrary(name="openblas", version="0.3.27", architecture=architecture)],
    )


def test_another_blas_kernel_is_an_advisory_finding() -> None:
    report = compare(kernel("SkylakeX"), kernel("Haswell"))
    assert found(report) == [("blas", "advisory", "openblas")]
    assert "SkylakeX" in report.findings[0].message
    assert "Haswell" in report.findings[0].message
    assert report.passed


def test_a_kernel_recorded_on_one_side_only_is_not_a_difference() -> None:
    assert compare(kernel("SkylakeX"), kernel(None)).findings == ()
    assert compare(kernel("Haswell"), kernel("Haswell")).findings == ()


def test_a_kernel_among_those_training_recorded_is_no_difference_whatever_the_order() -> None:
    # An earlier modelship listed every BLAS loaded: one library twice, at two kernels.
    def snapshot(*kernels: str) -> EnvironmentSnapshot:
        libs = [BlasLibrary(name="openblas", version="0.3.27", architecture=k) for k in kernels]
        return attrs.evolve(TRAIN, blas=libs)

    for order in (("SkylakeX", "Haswell"), ("Haswell", "SkylakeX")):
        report = compare(snapshot(*order), snapshot("SkylakeX"))
        assert [f.check for f in report.findings if f.check == "blas"] == [], order
    report = compare(snapshot("SkylakeX", "Haswell"), snapshot("Zen"))
    assert [f.check for f in report.findings if f.check == "blas"] == ["blas"]
