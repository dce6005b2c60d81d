"""Capture never fails on what is not text or on a broken distribution; a snapshot never
holds text that cannot be written as UTF-8."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import modelship as ms
from modelship.parity import EnvironmentSnapshot, SnapshotError

BASE = EnvironmentSnapshot(
    python_version="3.11.7", python_implementation="CPython", os="Linux", machine="x86_64"
)


@pytest.fixture
def non_utf8_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """OMP_NUM_THREADS and TZ (allow-listed by default) holding the byte 0xff."""
    if os.name != "posix":
        pytest.skip("environment bytes are a POSIX notion")
    monkeypatch.setenv("OMP_NUM_THREADS", "4\udcff")
    monkeypatch.setenv("TZ", "4\udcff")


@pytest.mark.usefixtures("non_utf8_variables")
def test_capture_escapes_bytes_that_are_not_utf8() -> None:
    snap = EnvironmentSnapshot.capture()
    assert snap.env["OMP_NUM_THREADS"] == "4\\xff"
    assert snap.timezone == "4\\xff"
    assert EnvironmentSnapshot.from_json(snap.to_json().encode("utf-8")) == snap


@pytest.mark.usefixtures("non_utf8_variables")
def test_register_records_the_environment_despite_bytes_that_are_not_utf8() -> None:
    registry = ms.open_registry("memory://review-non-utf8")
    version = registry.register("m", b"abc", serializer="bytes")
    assert version.environment is not None
    assert version.environment.env["OMP_NUM_THREADS"] == "4\\xff"


def test_from_json_refuses_a_lone_surrogate() -> None:
    text = BASE.to_json().replace('"Linux"', '"Lin\\ud800ux"')
    with pytest.raises(SnapshotError, match="surrogate"):
        EnvironmentSnapshot.from_json(text)


@pytest.mark.parametrize(
    "changes",
    [
        {"os": "Lin\ud800ux"},
        {"packages": {"numpy": "2.1.0\udc80"}},
        {"packages": {"num\udc80py": "2.1.0"}},
        {"env": {"LANG": "C.\ud800"}},
        {"timezone": "\udcff"},
    ],
)
def test_the_constructor_refuses_a_lone_surrogate(changes: dict[str, object]) -> None:
    fields = {
        "python_version": "3.11.7",
        "python_implementation": "CPython",
        "os": "Linux",
        "machine": "x86_64",
        **changes,
    }
    with pytest.raises(SnapshotError, match="surrogate"):
        EnvironmentSnapshot(**fields)  # type: ignore[arg-type]


def test_register_refuses_an_attached_snapshot_with_a_lone_surrogate() -> None:
    registry = ms.open_registry("memory://review-surrogate")
    text = BASE.to_json().replace('"Linux"', '"Lin\\ud800ux"')
    with pytest.raises(SnapshotError, match="surrogate"):
        registry.register(
            "m", b"abc", serializer="bytes", attachments={"environment": text.encode()}
        )


def add_distribution(where: Path, metadata: bytes) -> None:
    info = where / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_bytes(metadata)


def test_a_distribution_without_a_version_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_distribution(tmp_path, b"Metadata-Version: 2.1\nName: noversion\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    packages = EnvironmentSnapshot.capture().packages
    assert "noversion" not in packages
    assert "None" not in packages.values()


@pytest.mark.parametrize(
    "metadata",
    [
        b"Metadata-Version: 2.1\nName: longver\nVersion: 1." + b"0" * 300 + b"\n",
        b"Metadata-Version: 2.1\nName: " + b"n" * 300 + b"\nVersion: 1.0\n",
        b"Metadata-Version: 2.1\nName: badbytes\xff\nVersion: 1.0\xfe\n",
    ],
)
def test_one_broken_distribution_does_not_fail_capture_or_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metadata: bytes
) -> None:
    add_distribution(tmp_path, metadata)
    monkeypatch.syspath_prepend(str(tmp_path))
    snap = EnvironmentSnapshot.capture()
    assert "longver" not in snap.packages
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap
    registry = ms.open_registry(f"memory://review-broken-{abs(hash(metadata))}")
    assert registry.register("m", b"abc", serializer="bytes").environment is not None
