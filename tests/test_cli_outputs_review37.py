"""Review 37, command-line outputs: a report or output over an input or over another
report is refused before anything is read or written; an empty output path is refused;
the parity commands print escaped what the console's encoding cannot hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelship.cli import main

CSV = "a,b\n1,x\n2,y\n3,x\n4,y\n5,x\n6,y\n"
# A pickle naming one global (builtins.len), as `parity requirements` scans it (never loaded).
PICKLE = b"cbuiltins\nlen\n."


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    files = {"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"}
    for path in files.values():
        path.write_text(CSV, encoding="utf-8")
    return files


def check(*args: str | Path) -> int:
    return main(["check", *map(str, args)])


# --- 1: an output over an input or another report is refused (exit 2) ------------------


@pytest.mark.parametrize("report", ["--json", "--junit", "--markdown"])
def test_a_drift_report_over_the_current_data_is_refused_and_the_data_kept(
    data: dict[str, Path], report: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check("drift", "--reference", data["a"], "--current", data["b"], report, data["b"])
    assert code == 2
    assert data["b"].read_text(encoding="utf-8") == CSV
    err = capsys.readouterr().err
    assert f"{report} {data['b']} is the same file as --current {data['b']}" in err


def test_a_report_over_an_input_spelled_otherwise_or_linked_is_refused(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(data["a"])
    spelled = str(tmp_path / "." / "a.csv")
    for target in (spelled, str(link)):
        code = check("drift", "--reference", data["a"], "--current", data["b"], "--json", target)
        assert code == 2
        assert data["a"].read_text(encoding="utf-8") == CSV
        assert "--reference" in capsys.readouterr().err


def test_the_refusal_comes_before_any_input_is_read_or_other_report_written(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.csv"
    other = tmp_path / "other.json"
    code = check("drift", "--reference", missing, "--current", data["b"],
                 "--json", other, "--junit", data["b"])  # fmt: skip
    assert code == 2
    assert not other.exists()
    captured = capsys.readouterr()
    assert "is the same file as --current" in captured.err
    assert "cannot read" not in captured.err + captured.out


def test_two_reports_to_one_file_are_refused_and_neither_written(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "r.out"
    code = check("drift", "--reference", data["a"], "--current", data["b"],
                 "--json", target, "--junit", target)  # fmt: skip
    assert code == 2
    assert not target.exists()
    err = capsys.readouterr().err
    assert "--json" in err
    assert "--junit" in err
    assert "are the same file" in err


def test_a_bias_report_over_its_data_is_refused(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = check("bias", "--data", data["a"], "--label", "a", "--prediction", "a",
                 "--sensitive", "b", "--json", data["a"])  # fmt: skip
    assert code == 2
    assert data["a"].read_text(encoding="utf-8") == CSV
    assert "is the same file as --data" in capsys.readouterr().err


def test_a_profile_over_its_reference_is_refused_and_the_data_kept(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert check("profile", "--reference", data["a"], "--output", data["a"]) == 2
    assert data["a"].read_text(encoding="utf-8") == CSV
    err = capsys.readouterr().err
    assert "--output" in err
    assert "--reference" in err


def test_a_profile_from_a_file_url_over_its_file_is_refused(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert check("profile", "--reference", f"file://{data['a']}", "--output", data["a"]) == 2
    assert data["a"].read_text(encoding="utf-8") == CSV
    capsys.readouterr()


def test_requirements_over_the_artifact_are_refused_and_the_model_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(PICKLE)
    assert main(["parity", "requirements", str(model), "-o", str(model)]) == 2
    assert model.read_bytes() == PICKLE
    err = capsys.readouterr().err
    assert f"--output {model} is the same file as the artifact {model}" in err


def test_reports_to_other_files_and_to_stdout_are_still_written(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    code = check("drift", "--reference", data["a"], "--current", data["b"],
                 "--json", report, "--junit", "-")  # fmt: skip
    assert code in (0, 1)  # a verdict: the check ran
    assert report.exists()
    assert "<testsuite" in capsys.readouterr().out


# --- 3: an empty output path is refused, never silently no output -----------------------


@pytest.mark.parametrize("report", ["--json", "--junit", "--markdown"])
def test_an_empty_report_path_is_refused(
    data: dict[str, Path], report: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check("drift", "--reference", data["a"], "--current", data["b"], report, "")
    assert code == 2
    err = capsys.readouterr().err
    assert f"{report}: an empty path; give a file, or - for standard output" in err


def test_an_empty_profile_output_is_refused(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert check("profile", "--reference", data["a"], "--output", "") == 2
    assert "--output: an empty path" in capsys.readouterr().err


def test_an_empty_requirements_output_is_refused_not_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(PICKLE)
    assert main(["parity", "requirements", str(model), "-o", ""]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--output: an empty path" in captured.err


def test_an_empty_parity_report_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "env.json"
    assert main(["parity", "capture", "-o", str(snapshot)]) == 0
    assert main(["parity", "check", "--snapshot", str(snapshot), "--json", ""]) == 2
    assert "--json: an empty path" in capsys.readouterr().err


# --- 2: parity prints escaped what the console cannot hold ------------------------------


def _run_cp1252(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PYTHONIOENCODING": "cp1252",
    }
    return subprocess.run(
        [sys.executable, "-m", "modelship", "parity", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        encoding="cp1252",
        errors="replace",
        timeout=120,
    )


def test_parity_capture_to_a_non_ascii_path_on_a_cp1252_console_exits_0(tmp_path: Path) -> None:
    done = _run_cp1252(tmp_path, "capture", "-o", "数据.json")
    assert done.returncode == 0, done.stderr
    assert "\\u6570\\u636e.json" in done.stdout
    assert (tmp_path / "数据.json").exists()


def test_parity_check_summary_naming_a_non_ascii_path_on_a_cp1252_console(
    tmp_path: Path,
) -> None:
    done = _run_cp1252(tmp_path, "check", "--snapshot", "缺失.json", "--json", "r.json")
    assert done.returncode == 2  # the comparison could not be made: the snapshot is missing
    assert "unexpected error" not in done.stderr
    assert "\\u7f3a\\u5931.json" in done.stdout
    assert (tmp_path / "r.json").exists()
