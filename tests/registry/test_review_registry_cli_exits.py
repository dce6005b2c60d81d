"""``modelship registry ...`` exit codes and files as a CI script relies on them.

A failure found before the reader of stdout went away is still the exit code; the
``sha256sum`` line of ``download`` names any file ``sha256sum -c`` can find, and prints
whatever the terminal's encoding; ``delete``, ``restore`` and ``purge`` act on a version,
never on a reference that moves; a download path that names a folder is refused; a
downloaded file gets the usual permissions; Ctrl-C is one line and exit 130, with no
partial file left behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.registry._layout import blob_key

MODELS = [b"one", b"two", b"three"]


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone: every write raises BrokenPipeError."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    reg = ms.open_registry(str(tmp_path / "reg"))
    for model in MODELS:
        reg.register(model_name="fraud", model=model, serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    return reg


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _tamper(reg: ms.Registry, version: str) -> None:
    path = Path(reg.store.local_path(blob_key(reg.get("fraud", version).artifact.digest)))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    path.write_bytes(b"evil")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _main(argv: list[str]) -> int:
    """``main(argv)``; a KeyboardInterrupt escaping it fails the test, not the session."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main()")


# --- 1: a closed pipe never turns a failure found into a success ------------------------


def test_verify_keeps_a_failure_found_before_the_reader_closed_the_pipe(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tamper(reg, "1")  # verified first: its FAIL line goes to stderr, then stdout breaks
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["registry", "verify", reg.url, "fraud", "--all"]) == 1


def test_verify_checks_every_version_after_the_reader_closed_the_pipe(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(reg, "3")  # verified last, after the first "ok" line met the closed pipe
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["registry", "verify", reg.url, "fraud", "--all"]) == 1
    assert "FAIL fraud 3" in capsys.readouterr().err


def test_verify_all_piped_to_a_reader_that_left_exits_1_under_pipefail(
    reg: ms.Registry,
) -> None:
    _tamper(reg, "1")
    command = (
        f'set -o pipefail; "{sys.executable}" -m modelship registry verify "{reg.url}" '
        "fraud --all | true"
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "FAIL fraud 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_with_nothing_changed_still_exits_0_when_the_reader_leaves(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["registry", "verify", reg.url, "fraud", "--all"]) == 0


# --- 2: the sha256sum line of download, whatever the name and the encoding -----------------


def test_download_to_a_name_that_is_not_utf8_exits_0_with_the_raw_name_on_stdout(
    reg: ms.Registry, work: Path
) -> None:
    argv = [sys.executable, "-m", "modelship", "registry", "download", reg.url, "fraud"]
    done = subprocess.run(
        [*argv, "latest", "-o", b"\xff.bin"],
        capture_output=True,
        env={**_env(), "PYTHONIOENCODING": "utf-8"},
        cwd=work,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = work / os.fsdecode(b"\xff.bin")
    assert written.read_bytes() == MODELS[-1]
    hexdigest = hashlib.sha256(MODELS[-1]).hexdigest().encode()
    assert done.stdout == hexdigest + b"  \xff.bin\n"
    assert b"to \\udcff.bin" in done.stderr  # the message shows it escaped
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c"], input=done.stdout, cwd=work, timeout=60)
        assert check.returncode == 0


def test_download_line_escapes_a_backslash_and_a_newline_as_sha256sum_does(
    reg: ms.Registry, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "a\\b\nc.bin"
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", name]) == 0
    out = capsys.readouterr().out
    hexdigest = hashlib.sha256(MODELS[0]).hexdigest()
    assert out == f"\\{hexdigest}  a\\\\b\\nc.bin\n"
    assert (work / name).read_bytes() == MODELS[0]
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c"], input=out.encode(), cwd=work, timeout=60)
        assert check.returncode == 0


def test_download_line_names_the_expanded_home_path(
    reg: ms.Registry,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A quoted '~/model.bin' is written under the home folder; the line used to say
    # '~/model.bin', a name `sha256sum -c` looks for literally in the working folder.
    home = work / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", "~/model.bin"]) == 0
    out = capsys.readouterr().out
    hexdigest = hashlib.sha256(MODELS[0]).hexdigest()
    assert out == f"{hexdigest}  {home / 'model.bin'}\n"
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c"], input=out.encode(), cwd=work, timeout=60)
        assert check.returncode == 0


# --- 3: delete, restore and purge take a version, never a reference ------------------------


@pytest.mark.parametrize("command", ["delete", "restore", "purge"])
@pytest.mark.parametrize("ref", ["latest", "@production"])
def test_a_reference_is_refused_with_exit_2_and_nothing_changes(
    reg: ms.Registry, command: str, ref: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.delete("fraud", "2")
    before = [mv.version for mv in reg.versions("fraud", include_archived=True)]
    live = [mv.version for mv in reg.versions("fraud")]
    assert main(["registry", command, reg.url, "fraud", ref]) == 2
    err = capsys.readouterr().err
    assert f"registry {command} takes a version" in err
    assert "registry versions" in err
    assert [mv.version for mv in reg.versions("fraud", include_archived=True)] == before
    assert [mv.version for mv in reg.versions("fraud")] == live


def test_delete_latest_retried_archives_nothing(
    reg: ms.Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        assert main(["registry", "delete", reg.url, "fraud", "latest"]) == 2
    assert [mv.version for mv in reg.versions("fraud")] == ["1", "2", "3"]


def test_delete_restore_and_purge_say_which_version_they_acted_on(
    reg: ms.Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "delete", reg.url, "fraud", "3", "--reason", "bad"]) == 0
    assert capsys.readouterr().err == "archived fraud version 3\n"
    assert main(["registry", "restore", reg.url, "fraud", "3"]) == 0
    assert capsys.readouterr().err == "restored fraud version 3\n"
    assert main(["registry", "delete", reg.url, "fraud", "3"]) == 0
    assert main(["registry", "purge", reg.url, "fraud", "3"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "purged fraud version 3"


# --- 4: a download path that names a folder -------------------------------------------------


@pytest.mark.parametrize("path", ["sub2/", "sub2/.", "."])
def test_download_to_a_path_naming_a_folder_exits_2_and_writes_nothing(
    reg: ms.Registry, work: Path, path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "give the path of a file" in err
    assert list(work.iterdir()) == []


def test_library_download_refuses_a_path_ending_in_a_separator(
    reg: ms.Registry, work: Path
) -> None:
    with pytest.raises(ms.ConfigError, match="it names a folder; give the path of a file"):
        reg.download("fraud", "1", "sub2" + os.sep)
    assert list(work.iterdir()) == []


# --- 5: permissions of a downloaded file ---------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.usefixtures("umask_022")
def test_a_downloaded_file_is_0644_under_umask_022(reg: ms.Registry, work: Path) -> None:
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", "m.bin"]) == 0
    assert (work / "m.bin").stat().st_mode & 0o777 == 0o644
    reg.download("fraud", "2", work / "m.bin", overwrite=True)
    assert (work / "m.bin").stat().st_mode & 0o777 == 0o644


# --- 6: Ctrl-C --------------------------------------------------------------------------------


def test_ctrl_c_prints_one_line_and_exits_130(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(ms.Registry, "versions", interrupted)
    assert _main(["registry", "versions", reg.url, "fraud"]) == 130
    assert capsys.readouterr().err == "modelship: interrupted\n"


def test_ctrl_c_during_a_download_leaves_no_file_and_exits_130(
    reg: ms.Registry,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cut(src: Any, callback: Any, write: Any, **kwargs: Any) -> Any:
        write(b"half")  # some bytes are in the temporary file when Ctrl-C comes
        assert [p.name for p in work.iterdir() if p.name.endswith(".part")]
        raise KeyboardInterrupt

    monkeypatch.setattr("modelship.registry._download.hash_stream", cut)
    assert _main(["registry", "download", reg.url, "fraud", "1", "-o", "m.bin"]) == 130
    out, err = capsys.readouterr()
    assert (out, err) == ("", "modelship: interrupted\n")
    assert list(work.iterdir()) == []
    monkeypatch.undo()  # a retry runs to the end: nothing left in its way
    assert main(["registry", "download", reg.url, "fraud", "1", "-o", str(work / "m.bin")]) == 0
    assert (work / "m.bin").read_bytes() == MODELS[0]
