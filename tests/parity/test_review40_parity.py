"""Review 40 of parity: numpy's BLAS only, a credential in an attached snapshot, lone
surrogates in a fingerprint, diff() of a non-fingerprint, pins PEP 508 and PEP 440 read
as pip does, and a variable withheld for its credential told from an unset one."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import attrs
import numpy
import pytest

import modelship as ms
from modelship.errors import ConfigError
from modelship.parity import (
    BlasLibrary,
    EnvironmentSnapshot,
    PreprocessingFingerprint,
    Requirements,
    SnapshotError,
    compare,
    fingerprint_preprocessing,
    validate_environment_parity,
)
from modelship.parity._pins import marker_environment, read_pins

BASE = EnvironmentSnapshot(
    python_version="3.11.7", python_implementation="CPython", os="Linux", machine="x86_64"
)
NUMPY_DIR = Path(numpy.__file__).parent
SITE = NUMPY_DIR.parent
PASSWORD = "s3cretPassw0rd"


def blas_info(filepath: Path, version: str) -> dict[str, Any]:
    return {
        "user_api": "blas",
        "internal_api": "openblas",
        "prefix": "libscipy_openblas",
        "filepath": str(filepath),
        "version": version,
        "threading_layer": "pthreads",
        "architecture": "Haswell",
        "num_threads": 2,
    }


NUMPYS = blas_info(SITE / "numpy.libs" / "libscipy_openblas64_-fake.so", "0.3.31")
SCIPYS = blas_info(SITE / "scipy.libs" / "libscipy_openblas-fake.so", "0.3.30")


def loaded(monkeypatch: pytest.MonkeyPatch, *infos: dict[str, Any]) -> None:
    """Make threadpoolctl (installed or not) report exactly ``infos`` as the BLAS
    libraries loaded."""
    fake = types.ModuleType("threadpoolctl")
    fake.threadpool_info = lambda: [dict(info) for info in infos]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "threadpoolctl", fake)


def config_blas() -> tuple[BlasLibrary, ...]:
    """What numpy's build configuration says its BLAS is (numpy >= 1.25)."""
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:
        return ()
    return (BlasLibrary(name=str(blas.get("name")), version=blas.get("version")),)


# --- 1. numpy's BLAS, not every BLAS the process loaded ---------------------------------


def test_capture_records_numpys_blas_and_not_one_scipy_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, SCIPYS, NUMPYS)
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == (
        BlasLibrary(
            name="openblas",
            version="0.3.31",
            threading_layer="pthreads",
            num_threads=2,
            architecture="Haswell",
        ),
    )


def test_capture_finds_numpys_blas_in_its_macos_dylibs_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, SCIPYS, blas_info(NUMPY_DIR / ".dylibs" / "libopenblas.dylib", "0.3.9"))
    assert [lib.version for lib in EnvironmentSnapshot.capture(env_allowlist=[]).blas] == ["0.3.9"]


def test_capture_falls_back_to_numpys_build_configuration_when_none_is_numpys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, SCIPYS)
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == config_blas()


def test_importing_scipy_between_two_captures_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, NUMPYS)
    at_registration = EnvironmentSnapshot.capture(env_allowlist=[])
    loaded(monkeypatch, NUMPYS, SCIPYS)  # scipy imported since
    at_check = EnvironmentSnapshot.capture(env_allowlist=[])
    assert at_check.blas == at_registration.blas
    assert validate_environment_parity(at_registration, at_check, strict=True)


def test_an_old_snapshot_listing_scipys_blas_too_matches_one_listing_numpys() -> None:
    numpys = BlasLibrary(name="openblas", version="0.3.31")
    old = attrs.evolve(BASE, blas=[numpys, BlasLibrary(name="openblas", version="0.3.30")])
    new = attrs.evolve(BASE, blas=[numpys])
    assert not [f for f in compare(old, new).findings if f.check == "blas"]
    assert not [f for f in compare(new, old).findings if f.check == "blas"]


def test_a_blas_each_side_lacks_is_still_a_finding() -> None:
    a = BlasLibrary(name="openblas", version="0.3.31")
    b = BlasLibrary(name="openblas", version="0.3.27")
    c = BlasLibrary(name="mkl", version="2024.0")
    assert [
        f.check
        for f in compare(attrs.evolve(BASE, blas=[a]), attrs.evolve(BASE, blas=[b])).findings
    ] == ["blas"]
    old_train, old_prod = attrs.evolve(BASE, blas=[a, c]), attrs.evolve(BASE, blas=[b, c])
    assert [f.check for f in compare(old_train, old_prod).findings] == ["blas"]


# --- 2. a credential in an attached snapshot is not stored --------------------------------


def attached_text() -> str:
    document = BASE.to_dict()
    document["env"] = {"DATABASE_URL": f"postgres://app:{PASSWORD}@db/prod", "OMP_NUM_THREADS": "4"}
    return json.dumps(document)


@pytest.mark.parametrize("capture", [True, False])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_an_attached_snapshot_is_stored_without_the_credential_its_reading_drops(
    tmp_path: Path, capture: bool, as_bytes: bool
) -> None:
    reg = ms.open_registry(str(tmp_path))
    text = attached_text()
    given: str | bytes = text.encode() if as_bytes else text
    mv = reg.register(
        model_name="m",
        model={"w": [1.0]},
        attachments={"environment": given},
        capture_environment=capture,
    )
    stored = reg.attachment("m", mv.version, "environment")  # verified against its digest
    assert PASSWORD.encode() not in stored
    assert mv.attachments["environment"].digest == "sha256:" + hashlib.sha256(stored).hexdigest()
    assert not [
        p for p in tmp_path.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()
    ]
    assert mv.environment == EnvironmentSnapshot.from_json(text)
    assert mv.environment is not None
    assert mv.environment.env == {"OMP_NUM_THREADS": "4"}


# --- 3. lone surrogates in a fingerprinted configuration --------------------------------


def test_a_configuration_with_a_file_name_that_is_not_utf8_is_fingerprinted() -> None:
    name = os.fsdecode(b"/data/vocab-\xff.txt")
    fp = fingerprint_preprocessing({"vocabulary_file": name})
    assert fp != fingerprint_preprocessing({"vocabulary_file": "/data/vocab-\\xff.txt"})
    assert fp != fingerprint_preprocessing({"vocabulary_file": "/data/vocab-\ufffd.txt"})
    assert fp == fingerprint_preprocessing({"vocabulary_file": name})


def test_compare_with_a_configuration_that_is_not_utf8_reports_the_difference() -> None:
    train = fingerprint_preprocessing({"vocabulary_file": "/data/vocab.txt"})
    now = {"vocabulary_file": os.fsdecode(b"/data/vocab-\xff.txt")}
    report = compare(BASE, BASE, fingerprint=train, preprocessing=now)
    assert [f.subject for f in report.findings] == ["config.vocabulary_file"]


def test_a_fitted_vocabulary_keyed_by_a_lone_surrogate_is_fingerprinted() -> None:
    class Vectorizer:
        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {"lowercase": True}

    a, b = Vectorizer(), Vectorizer()
    a.vocabulary_ = {os.fsdecode(b"caf\xe9"): 0}  # type: ignore[attr-defined]
    b.vocabulary_ = {"café": 0}  # type: ignore[attr-defined]
    assert fingerprint_preprocessing(a).diff(fingerprint_preprocessing(b)) == (
        "fitted.vocabulary_",
    )


def test_a_key_with_a_lone_surrogate_gives_a_fingerprint_that_reads_back() -> None:
    fp = fingerprint_preprocessing({os.fsdecode(b"vocab-\xff"): 1})
    assert PreprocessingFingerprint.from_json(fp.to_json()) == fp


def test_the_fingerprint_of_ordinary_text_is_the_one_stored_before() -> None:
    config = {
        "vocabulary_file": "/data/vocab.txt",
        "lowercase": True,
        "name": "caf\u00e9 \u2013 \u6771\u4eac",
    }
    # The digest modelship wrote before lone surrogates were read: stored ones still match.
    assert fingerprint_preprocessing(config).digest == (
        "sha256:d850e2795dc81aff6fdea76dd8b836c09df4d8a9af4f6ba9b78a673fdbf1984f"
    )


# --- 4. diff() of something that is not a fingerprint -----------------------------------


@pytest.mark.parametrize("other", [None, {"scale": 2.0}, '{"schema_version": 1}'])
def test_diff_with_what_is_not_a_fingerprint_raises_config_error(other: object) -> None:
    fp = fingerprint_preprocessing({"scale": 2.0})
    with pytest.raises(ConfigError, match="PreprocessingFingerprint"):
        fp.diff(other)  # type: ignore[arg-type]


# --- 5. requirement lines as pip reads them ----------------------------------------------


@pytest.mark.parametrize("line", ["numpy[-x]==2.4.6", "numpy[x-]==2.4.6", "numpy[_x]==2.4.6"])
def test_an_extra_pep_508_does_not_allow_is_refused(line: str) -> None:
    with pytest.raises(ConfigError, match="not a name==version pin"):
        read_pins(line, "r.txt", marker_environment())


def test_an_extra_with_inner_punctuation_is_read() -> None:
    assert read_pins("numpy[a_b-c.d, x]==2.4.6", "r.txt", marker_environment()) == {
        "numpy": "2.4.6"
    }


def test_two_spellings_of_one_version_are_one_pin() -> None:
    pins = read_pins("numpy==2.4.6\nnumpy==2.4.6.0\n", "r.txt", marker_environment())
    assert pins == {"numpy": "2.4.6"}


def test_two_different_versions_are_still_a_conflict() -> None:
    with pytest.raises(ConfigError, match="keep one pin"):
        read_pins("numpy==2.4.6\nnumpy==2.4.6.1\n", "r.txt", marker_environment())


def test_a_snapshot_and_requirements_accept_two_spellings_of_one_version() -> None:
    spellings = {"numpy": "2.4.6", "NumPy": "2.4.6.0"}
    assert attrs.evolve(BASE, packages=spellings).packages.keys() == {"numpy"}
    compare(BASE, BASE, requirements=spellings)  # not refused
    assert dict(Requirements(packages=spellings)).keys() == {"numpy"}


# --- 6. a variable withheld for its credential is not "unset" ---------------------------


def test_a_variable_set_to_a_credential_in_production_is_reported_withheld() -> None:
    train = attrs.evolve(
        BASE, env={"MLFLOW_TRACKING_URI": "http://mlflow:5000"}, env_allowlist=["MLFLOW_*"]
    )
    prod = attrs.evolve(
        BASE, env={"MLFLOW_TRACKING_URI": "https://ci:hunter2@mlflow"}, env_allowlist=["MLFLOW_*"]
    )
    assert prod.env == {}
    assert prod.env_withheld == ("MLFLOW_TRACKING_URI",)
    (finding,) = compare(train, prod).findings
    assert finding.message == (
        "$MLFLOW_TRACKING_URI is 'http://mlflow:5000' in training, "
        "set, not recorded (it holds a credential) in production"
    )
    assert "hunter2" not in compare(train, prod).to_json()


def test_capture_records_the_name_never_the_value_of_a_withheld_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSHIP_R40_URL", f"postgres://app:{PASSWORD}@db/prod")
    monkeypatch.setenv("MODELSHIP_R40_DB_PASSWORD", "x")  # a credential's name: no trace
    snap = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_R40_*"])
    assert snap.env_withheld == ("MODELSHIP_R40_URL",)
    assert PASSWORD not in snap.to_json()
    assert "MODELSHIP_R40_DB_PASSWORD" not in snap.to_json()
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


def test_compare_capturing_production_looks_up_what_training_withheld(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train = attrs.evolve(
        BASE, env_withheld=["MODELSHIP_R40_URL"], env_allowlist=["MODELSHIP_R40_*"]
    )
    monkeypatch.setenv("MODELSHIP_R40_URL", "http://mlflow:5000")
    messages = [f.message for f in compare(train).findings if f.check == "env"]
    assert messages == [
        "$MODELSHIP_R40_URL is set, not recorded (it holds a credential) in training, "
        "'http://mlflow:5000' in production"
    ]


def test_a_snapshot_written_before_env_withheld_reads_as_none_withheld() -> None:
    document = BASE.to_dict()
    assert "env_withheld" not in document  # nothing withheld: written as before
    assert EnvironmentSnapshot.from_dict(document).env_withheld == ()


@pytest.mark.parametrize("value", ["DATABASE_URL", None, {"A": 1}, [1], ["not a name"], ["*"]])
def test_a_stored_env_withheld_that_is_not_a_list_of_names_is_refused(value: object) -> None:
    with pytest.raises(SnapshotError, match="env_withheld"):
        EnvironmentSnapshot.from_dict({**BASE.to_dict(), "env_withheld": value})


def test_a_name_both_recorded_and_withheld_is_recorded() -> None:
    snap = attrs.evolve(BASE, env={"A": "1"}, env_withheld=["A", "B"])
    assert (snap.env, snap.env_withheld) == ({"A": "1"}, ("B",))
