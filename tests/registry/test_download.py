"""``Registry.download`` and ``modelship registry download``: verified, atomic, never clobbering."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import modelship as ms
from modelship import DestinationExists
from modelship.cli import main
from modelship.registry._layout import blob_key

MODEL = b"the model's bytes " * 1000


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    registry = ms.open_registry(tmp_path / "registry")
    registry.register(model_name="fraud", model=MODEL, serializer="bytes")
    return registry


def _tamper(reg: ms.Registry, digest: str, data: bytes) -> None:
    path = reg.store.local_path(blob_key(digest))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    Path(path).write_bytes(data)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_download_writes_the_artifact_whose_sha256_is_the_recorded_digest(
    reg: ms.Registry, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "model.bin"
    mv = reg.download("fraud", "latest", out)
    assert out.read_bytes() == MODEL
    assert "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest() == mv.artifact.digest
    assert _leftovers(out.parent) == []


def test_download_refuses_an_existing_file_and_leaves_it_unchanged(
    reg: ms.Registry, tmp_path: Path
) -> None:
    out = tmp_path / "model.bin"
    out.write_bytes(b"mine")
    with pytest.raises(DestinationExists, match="overwrite=True"):
        reg.download("fraud", "1", out)
    assert out.read_bytes() == b"mine"


def test_destination_exists_is_also_a_file_exists_error() -> None:
    assert issubclass(DestinationExists, FileExistsError)
    assert issubclass(DestinationExists, ms.ModelshipError)


def test_download_with_overwrite_replaces_an_existing_file(
    reg: ms.Registry, tmp_path: Path
) -> None:
    out = tmp_path / "model.bin"
    out.write_bytes(b"old")
    reg.download("fraud", "1", out, overwrite=True)
    assert out.read_bytes() == MODEL


def test_a_file_created_after_the_early_check_is_still_not_clobbered(
    reg: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hard link publishes the file and checks that the path is free in one step.
    out = tmp_path / "model.bin"
    out.write_bytes(b"written by someone else meanwhile")
    monkeypatch.setattr(os.path, "lexists", lambda path: False)
    with pytest.raises(DestinationExists):
        reg.download("fraud", "1", out)
    assert out.read_bytes() == b"written by someone else meanwhile"
    assert _leftovers(tmp_path) == []


def test_a_tampered_artifact_leaves_no_file_at_the_destination(
    reg: ms.Registry, tmp_path: Path
) -> None:
    _tamper(reg, reg.get("fraud").artifact.digest, b"X" + MODEL[1:])
    out = tmp_path / "model.bin"
    with pytest.raises(ms.IntegrityError, match="does not match its manifest"):
        reg.download("fraud", "1", out)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_a_tampered_artifact_with_overwrite_leaves_the_old_file_as_it_was(
    reg: ms.Registry, tmp_path: Path
) -> None:
    _tamper(reg, reg.get("fraud").artifact.digest, MODEL + b"appended")
    out = tmp_path / "model.bin"
    out.write_bytes(b"previous release")
    with pytest.raises(ms.IntegrityError):
        reg.download("fraud", "1", out, overwrite=True)
    assert out.read_bytes() == b"previous release"


def test_a_missing_artifact_raises_integrity_error_and_writes_nothing(
    reg: ms.Registry, tmp_path: Path
) -> None:
    reg.store.delete(blob_key(reg.get("fraud").artifact.digest))
    out = tmp_path / "model.bin"
    with pytest.raises(ms.IntegrityError, match="missing"):
        reg.download("fraud", "1", out)
    assert not out.exists()


def test_download_into_a_folder_path_is_refused(reg: ms.Registry, tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match="is a folder"):
        reg.download("fraud", "1", tmp_path)


def test_download_to_a_home_folder_that_cannot_be_expanded_raises_config_error(
    reg: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user = "nosuchuser_modelship_tests"
    with pytest.raises(ms.ConfigError, match=f"~{user} cannot be expanded.*give the full path"):
        reg.download("fraud", "1", f"~{user}/model.bin", progress=False)
    assert not (tmp_path / f"~{user}").exists()


def test_download_writes_an_attachment_by_role(reg: ms.Registry, tmp_path: Path) -> None:
    reg.register(model_name="fraud", model=b"m", serializer="bytes", attachments={"notes": "hi"})
    out = tmp_path / "notes.txt"
    reg.download("fraud", "2", out, role="notes")
    assert out.read_bytes() == b"hi"


def test_download_of_an_unknown_role_raises_missing_attachment(
    reg: ms.Registry, tmp_path: Path
) -> None:
    with pytest.raises(ms.MissingAttachment):
        reg.download("fraud", "1", tmp_path / "x", role="notes")


def test_download_refuses_an_archived_version_unless_include_archived(
    reg: ms.Registry, tmp_path: Path
) -> None:
    reg.register(model_name="fraud", model=b"two", serializer="bytes")
    reg.delete("fraud", "1")
    with pytest.raises(ms.ArchivedVersion):
        reg.download("fraud", "1", tmp_path / "a")
    reg.download("fraud", "1", tmp_path / "a", include_archived=True)
    assert (tmp_path / "a").read_bytes() == MODEL


# --- the command line ---------------------------------------------------------------------


def test_cli_download_prints_a_sha256sum_line_for_the_written_file(
    reg: ms.Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.bin"
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", str(out)]) == 0
    hexdigest, path = capsys.readouterr().out.strip().split("  ")
    assert (hexdigest, path) == (hashlib.sha256(out.read_bytes()).hexdigest(), str(out))


def test_cli_download_refuses_an_existing_file_without_force(
    reg: ms.Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.bin"
    out.write_bytes(b"mine")
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", str(out), "--force"]) == 0
    assert out.read_bytes() == MODEL


def test_cli_download_of_a_tampered_artifact_exits_non_zero_and_writes_nothing(
    reg: ms.Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(reg, reg.get("fraud").artifact.digest, b"evil")
    out = tmp_path / "model.bin"
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", str(out)]) == 1
    assert "does not match" in capsys.readouterr().err
    assert not out.exists()


def test_cli_download_takes_storage_options_as_long_option_only(
    reg: ms.Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.bin"
    argv = ["registry", "download", reg.url, "fraud", "1", "-o", str(out)]
    # A storage option the local file system takes reaches it ...
    assert main([*argv, "--option", "auto_mkdir=true"]) == 0
    assert out.read_bytes() == MODEL
    # ... and one it would ignore is refused, not dropped without a word.
    out.unlink()
    assert main([*argv, "--option", "a=1"]) == 2
    assert "do not apply to the local folder" in capsys.readouterr().err
    assert not out.exists()


def test_load_accepts_include_archived_as_the_archived_error_advises(reg: ms.Registry) -> None:
    reg.register(model_name="fraud", model=b"two", serializer="bytes")
    reg.delete("fraud", "1")
    with pytest.raises(ms.ArchivedVersion) as caught:
        reg.load("fraud", "1")
    assert "include_archived=True" in str(caught.value)
    assert "load" in str(caught.value)
    assert reg.load("fraud", "1", include_archived=True) == MODEL
