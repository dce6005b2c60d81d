"""``modelship parity check`` reports: ``-`` is standard output, Markdown appends, and text
from a snapshot reaches the terminal escaped.

As for ``modelship check``: a report written to ``-`` leaves standard output to that
report alone (the summary goes to standard error), ``--markdown`` adds to a job summary
unless ``--markdown-mode overwrite`` is given, and two reports cannot share ``-``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import pytest

from modelship.cli import main
from modelship.parity import EnvironmentSnapshot

TAMPERED = "1.0\x1b]0;PWNED\x07\x1b[2K\x1b[1GPASS  all good"


@pytest.fixture
def same(tmp_path: Path, snapshot: EnvironmentSnapshot) -> list[str]:
    """``parity check`` arguments comparing a snapshot with itself (a pass)."""
    path = tmp_path / "train.json"
    path.write_text(snapshot.to_json(), encoding="utf-8")
    return ["parity", "check", "--snapshot", str(path), "--against", str(path)]


def test_json_to_stdout_is_the_json_alone_and_the_summary_goes_to_stderr(
    same: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*same, "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["results"][0]["status"] == "pass"
    assert "passed (1 check: 1 pass)" in err


def test_report_to_stdout_is_the_parity_report_alone(
    same: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*same, "--report", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["passed"] is True
    assert "environment_parity" in err


def test_junit_to_stdout_writes_the_xml_there_and_no_file_named_dash(
    same: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main([*same, "--junit", "-"]) == 0
    out, err = capsys.readouterr()
    assert ET.fromstring(out).tag == "testsuites"
    assert "passed" in err
    assert list(work.iterdir()) == []


def test_two_reports_to_stdout_are_refused_before_anything_is_written(
    same: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*same, "--json", "-", "--markdown", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--json and --markdown" in err
    assert "standard output" in err


def test_markdown_appends_to_a_job_summary_by_default(same: list[str], tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert main([*same, "--markdown", str(summary)]) == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert "environment\\_parity" in text  # Markdown escapes _


def test_markdown_mode_overwrite_replaces_the_file(same: list[str], tmp_path: Path) -> None:
    summary = tmp_path / "report.md"
    summary.write_text("old report\n", encoding="utf-8")
    assert main([*same, "--markdown", str(summary), "--markdown-mode", "overwrite"]) == 0
    text = summary.read_text(encoding="utf-8")
    assert "old report" not in text
    assert "environment\\_parity" in text


def test_escapes_in_a_snapshot_reach_the_terminal_escaped(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train.json"
    document = json.loads(snapshot.to_json())
    document["packages"]["numpy"] = TAMPERED
    train.write_text(json.dumps(document), encoding="utf-8")
    prod = tmp_path / "prod.json"
    prod.write_text(snapshot.to_json(), encoding="utf-8")
    assert main(["parity", "check", "--snapshot", str(train), "--against", str(prod)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "1.0\\x1b]0;PWNED\\x07\\x1b[2K\\x1b[1GPASS  all good" in out
    # every line is the summary's or a column's: none was forged
    assert all(line.startswith(("FAIL ", "FAILED ", "  ")) for line in out.splitlines())


def test_strict_reports_give_the_verdict_of_the_strict_run(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    train, prod = tmp_path / "train.json", tmp_path / "prod.json"
    train.write_text(snapshot.to_json(), encoding="utf-8")
    prod.write_text(attrs.evolve(snapshot, os="Plan9").to_json(), encoding="utf-8")
    args = ["parity", "check", "--snapshot", str(train), "--against", str(prod), "--strict"]
    args += ["--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
    assert main([*args, "--markdown", str(tmp_path / "r.md")]) == 1
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["passed"] is False
    assert ET.parse(tmp_path / "r.xml").getroot().find(".//failure") is not None
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("### modelship checks: ❌")
    assert "FAILED" in capsys.readouterr().out
