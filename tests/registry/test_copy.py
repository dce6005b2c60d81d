"""copy_registry between back ends: local to S3 and back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main


def _fill(reg: ms.Registry) -> None:
    rng = np.random.default_rng(0)
    for _ in range(3):
        # Without environment snapshots, whose bytes differ run to run: the counts below
        # are exact.
        reg.register(
            model_name="fraud",
            model=rng.normal(size=50_000),
            metrics={"auc": 0.9},
            capture_environment=False,
        )
    reg.register(
        model_name="churn",
        model=b"c",
        version="2.0.0",
        serializer="bytes",
        attachments={"notes": "baseline"},
        capture_environment=False,
    )
    reg.set_alias("fraud", "staging", "3")
    reg.set_alias("fraud", "production", "2")
    reg.set_alias("fraud", "production", "3", expected="2")
    reg.delete("fraud", "1", reason="label leak")


def _same(a: ms.Registry, b: ms.Registry) -> None:
    assert a.models() == b.models()
    for name in a.models():
        assert a.versions(name, include_archived=True) == b.versions(name, include_archived=True)
        assert a.aliases(name) == b.aliases(name)
        assert a.history(name) == b.history(name)
        for mv in a.versions(name, include_archived=True):
            assert b.verify(name, mv.version).artifact.digest == mv.artifact.digest


@pytest.mark.s3
def test_copy_local_to_s3_and_back_keeps_everything(
    tmp_path: Path, s3_bucket: dict[str, Any]
) -> None:
    local = ms.open_registry(str(tmp_path / "a"))
    _fill(local)
    s3 = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    there = ms.copy_registry(local, s3)
    assert there.versions == 4
    assert there.blobs_copied == 5  # three models' arrays, one bytes model, one attachment
    _same(local, s3)
    back = ms.open_registry(str(tmp_path / "b"))
    ms.copy_registry(s3, back)
    _same(local, back)
    np.testing.assert_array_equal(back.load("fraud", "@production"), local.load("fraud", "3"))
    assert back.get("churn", "2.0.0").attachment("notes") == b"baseline"
    again = ms.copy_registry(local, s3)
    assert (again.blobs_copied, again.bytes_copied) == (0, 0)


def test_copy_into_a_diverged_registry_raises_conflict(tmp_path: Path) -> None:
    a = ms.open_registry(str(tmp_path / "a"))
    b = ms.open_registry(str(tmp_path / "b"))
    a.register(model_name="m", model=b"from a", serializer="bytes")
    b.register(model_name="m", model=b"from b", serializer="bytes")
    with pytest.raises(ms.Conflict, match="diverged"):
        ms.copy_registry(a, b)
    assert b.load("m", "1") == b"from b"


def test_copy_only_named_models(tmp_path: Path) -> None:
    a = ms.open_registry(str(tmp_path / "a"))
    for name in ("x", "y"):
        a.register(model_name=name, model=b"1", serializer="bytes")
    b = ms.open_registry(str(tmp_path / "b"))
    ms.copy_registry(a, b, models=["y"])
    assert b.models() == ["y"]
    with pytest.raises(ms.ModelNotFound):
        ms.copy_registry(a, b, models=["nobody"])


def test_copy_command_line_between_local_registries(tmp_path: Path) -> None:
    a = ms.open_registry(str(tmp_path / "a"))
    a.register(model_name="m", model=b"1", serializer="bytes")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelship",
            "registry",
            "copy",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert ms.open_registry(str(tmp_path / "b")).load("m") == b"1"


@pytest.mark.s3
def test_copy_command_line_gives_storage_options_only_to_the_remote_side(
    tmp_path: Path, s3_bucket: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    local = ms.open_registry(str(tmp_path / "local"))
    local.register(model_name="m", model=b"1", serializer="bytes")
    options = [
        f"{key}={json.dumps(value) if isinstance(value, dict) else value}"
        for key, value in s3_bucket["options"].items()
    ]
    argv = ["registry", "copy", str(tmp_path / "local"), s3_bucket["url"]]
    assert main([*argv, *(arg for o in options for arg in ("-o", o))]) == 0, capsys.readouterr()
    s3 = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    assert s3.load("m") == b"1"
    back = ["registry", "copy", s3_bucket["url"], str(tmp_path / "back")]
    assert main([*back, *(arg for o in options for arg in ("-o", o))]) == 0, capsys.readouterr()
    assert ms.open_registry(str(tmp_path / "back")).load("m") == b"1"


def test_copy_command_line_refuses_storage_options_between_two_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ms.open_registry(str(tmp_path / "a")).register(model_name="m", model=b"1", serializer="bytes")
    argv = ["registry", "copy", str(tmp_path / "a"), str(tmp_path / "b"), "-o", "anon=false"]
    assert main(argv) == 2
    assert "both local folders" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
