"""Review 40 of parity, second look: a BLAS numpy links but does not ship (Debian's, conda's),
a variable withheld for its credential against an unset one, and a snapshot pickled before
``env_withheld`` existed."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_review40_parity import BASE, NUMPYS, SCIPYS, SITE, blas_info, config_blas, loaded

from modelship.parity import BlasLibrary, EnvironmentSnapshot, compare

DEBIAN = blas_info(
    Path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"), "0.3.21"
)
CONDA = blas_info(Path("/opt/conda/envs/train/lib/libopenblasp-r0.3.28.so"), "0.3.28")


def library(info: dict[str, Any]) -> BlasLibrary:
    return BlasLibrary(
        name=info["internal_api"],
        version=info["version"],
        threading_layer=info["threading_layer"],
        num_threads=info["num_threads"],
        architecture=info["architecture"],
    )


# --- 2. a BLAS numpy links but does not ship ---------------------------------------------


@pytest.mark.parametrize("system", [DEBIAN, CONDA], ids=["debian", "conda"])
def test_capture_records_a_blas_outside_every_package_when_numpy_ships_none(
    monkeypatch: pytest.MonkeyPatch, system: dict[str, Any]
) -> None:
    loaded(monkeypatch, system)
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == (library(system),)


def test_capture_leaves_out_a_blas_scipy_bundles_beside_the_system_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, SCIPYS, DEBIAN)
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == (library(DEBIAN),)


@pytest.mark.parametrize(
    "bundled",
    [
        SITE / "scipy.libs" / "libscipy_openblas-fake.so",
        SITE / "sklearn" / ".libs" / "libopenblas-fake.so",
        SITE / "sklearn" / ".dylibs" / "libopenblas-fake.dylib",
        SITE / "torch" / "lib" / "libopenblas-fake.so",
    ],
    ids=["scipy.libs", "sklearn-.libs", "sklearn-.dylibs", "torch-lib"],
)
def test_a_blas_another_wheel_bundles_is_never_taken_for_numpys(
    monkeypatch: pytest.MonkeyPatch, bundled: Path
) -> None:
    loaded(monkeypatch, blas_info(bundled, "0.3.30"))
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == config_blas()


def test_the_blas_numpys_wheel_ships_is_preferred_to_a_system_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded(monkeypatch, DEBIAN, NUMPYS)
    assert EnvironmentSnapshot.capture(env_allowlist=[]).blas == (library(NUMPYS),)


# --- 3. a variable withheld for its credential against an unset one ----------------------

CREDENTIAL = "postgres://app:s3cret@db/prod"
WITHHELD = attrs.evolve(BASE, env={"DATABASE_URL": CREDENTIAL}, env_allowlist=["DATABASE_URL"])
UNSET = attrs.evolve(BASE, env={}, env_allowlist=["DATABASE_URL"])


def env_messages(train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> list[str]:
    return [f.message for f in compare(train, prod).findings if f.check == "env"]


def test_a_credential_in_training_and_unset_in_production_is_a_finding() -> None:
    assert WITHHELD.env_withheld == ("DATABASE_URL",)
    assert env_messages(WITHHELD, UNSET) == [
        "$DATABASE_URL is set, not recorded (it holds a credential) in training, "
        "unset in production"
    ]


def test_unset_in_training_and_a_credential_in_production_is_a_finding() -> None:
    assert env_messages(UNSET, WITHHELD) == [
        "$DATABASE_URL is unset in training, "
        "set, not recorded (it holds a credential) in production"
    ]


def test_a_credential_against_a_snapshot_without_its_allowlist_may_be_unset() -> None:
    assert env_messages(WITHHELD, attrs.evolve(UNSET, env_allowlist=None)) == [
        "$DATABASE_URL is set, not recorded (it holds a credential) in training, "
        "unset or not recorded in production"
    ]


def test_a_credential_the_other_side_did_not_record_is_not_compared() -> None:
    assert env_messages(WITHHELD, attrs.evolve(UNSET, env_allowlist=["OMP_NUM_THREADS"])) == []


def test_a_variable_withheld_on_both_sides_is_not_compared() -> None:
    other = attrs.evolve(WITHHELD, env={"DATABASE_URL": "postgres://app:other@db/prod"})
    assert env_messages(WITHHELD, other) == []


def test_a_credential_against_a_plain_value_is_a_finding() -> None:
    plain = attrs.evolve(UNSET, env={"DATABASE_URL": "postgres://db/prod"})
    assert env_messages(WITHHELD, plain) == [
        "$DATABASE_URL is set, not recorded (it holds a credential) in training, "
        "'postgres://db/prod' in production"
    ]


def test_check_of_a_training_credential_finds_the_variable_unset_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    report = compare(WITHHELD)  # production captured, as `parity check` does
    assert [f.message for f in report.findings if f.check == "env"] == [
        "$DATABASE_URL is set, not recorded (it holds a credential) in training, "
        "unset in production"
    ]
    assert "s3cret" not in report.to_json()


# --- 4. a snapshot pickled before env_withheld existed ------------------------------------


def pickled_before_the_fields(snapshot: EnvironmentSnapshot, *missing: str) -> Any:
    """``snapshot`` pickled as a modelship without the fields ``missing`` did, then
    unpickled (attrs pickled a slotted class as its fields by name)."""

    def old_state(self: EnvironmentSnapshot) -> dict[str, Any]:
        state = {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}
        for name in missing:
            del state[name]
        return state

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EnvironmentSnapshot, "__getstate__", old_state)
        data = pickle.dumps(snapshot)
    return pickle.loads(data)


@pytest.mark.parametrize(
    "missing", [("env_withheld",), ("env_withheld", "env_allowlist")], ids=["a7d1653", "older"]
)
def test_a_snapshot_pickled_before_env_withheld_unpickles_compares_and_serialises(
    missing: tuple[str, ...],
) -> None:
    snapshot = attrs.evolve(BASE, env={"OMP_NUM_THREADS": "4"}, env_allowlist=["OMP_*"])
    old = pickled_before_the_fields(snapshot, *missing)
    assert old.env_withheld == ()
    expected = None if "env_allowlist" in missing else ("OMP_*",)
    assert old.env_allowlist == expected
    assert compare(old, snapshot).findings == ()
    assert compare(snapshot, old).findings == ()
    assert EnvironmentSnapshot.from_json(old.to_json()) == old


def test_a_snapshot_pickles_and_unpickles_whole() -> None:
    snapshot = attrs.evolve(WITHHELD, env={"OMP_NUM_THREADS": "4", "DATABASE_URL": CREDENTIAL})
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot
