"""`modelship check ...`: data files in, reports out, exit 0 / 1 / 2."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship._cli_common import write_output
from modelship.checks._cli import add_commands, read_bytes, read_table
from modelship.cli import main
from modelship.errors import ConfigError, MissingDependency


def cli(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser(prog="modelship")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    code: int = args.func(args)
    return code


def write_csv(path: Path, columns: dict[str, Any]) -> Path:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def data(n: int, shift: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "age": np.round(rng.normal(40 + shift * 10, 10, n), 3),
        "plan": rng.choice(["basic", "pro"], n),
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "reference": write_csv(tmp_path / "reference.csv", data(2000, 0.0, 0)),
        "same": write_csv(tmp_path / "same.csv", data(1500, 0.0, 1)),
        "shifted": write_csv(tmp_path / "shifted.csv", data(1500, 1.0, 2)),
    }


def test_no_drift_exits_0_and_prints_the_summary(files: dict[str, Path], capsys: Any) -> None:
    assert cli("check", "drift", "--reference", files["reference"], "--current", files["same"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "passed (1 check: 1 pass)"


def test_drift_exits_1(files: dict[str, Path]) -> None:
    assert (
        cli("check", "drift", "--reference", files["reference"], "--current", files["shifted"]) == 1
    )


def test_reports_are_written_where_asked(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    cli(
        "check",
        "drift",
        "--reference",
        files["reference"],
        "--current",
        files["shifted"],
        "--junit",
        out / "checks.xml",
        "--markdown",
        out / "summary.md",
        "--json",
        out / "r.json",
    )
    assert ET.parse(out / "checks.xml").getroot().get("failures") == "2"
    assert (out / "summary.md").read_text().startswith("### modelship checks: ❌ failed")
    assert json.loads((out / "r.json").read_text())["results"][0]["columns"]["age"]["drifted"]


def test_an_unreadable_file_exits_2_and_the_reports_say_why(
    files: dict[str, Path], tmp_path: Path
) -> None:
    junit = tmp_path / "checks.xml"
    code = cli(
        "check",
        "drift",
        "--reference",
        files["reference"],
        "--current",
        tmp_path / "nope.csv",
        "--junit",
        junit,
    )
    assert code == 2
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert error is not None
    message = error.get("message", "")
    assert message.startswith("ConfigError: cannot read ")
    assert "nope.csv: No such file or directory" in message


def test_mismatched_columns_exit_2(files: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    other = write_csv(tmp_path / "other.csv", {"height": [1.0, 2.0]})
    assert cli("check", "drift", "--reference", files["reference"], "--current", other) == 2
    assert "ColumnMismatch" in capsys.readouterr().out


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    reference = write_csv(tmp_path / "r.csv", {f"x{i}": rng.normal(size=3000) for i in range(4)})
    current_cols = {f"x{i}": rng.normal(size=3000) for i in range(4)}
    current_cols["x0"] = current_cols["x0"] + 1.0  # 1 of 4 columns: a warning, not data-set drift
    current = write_csv(tmp_path / "c.csv", current_cols)
    assert cli("check", "drift", "--reference", reference, "--current", current) == 0
    assert cli("check", "drift", "--reference", reference, "--current", current, "--strict") == 1


def test_a_profile_replaces_the_reference(files: dict[str, Path], tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    assert cli("check", "profile", "--reference", files["reference"], "--output", profile) == 0
    assert cli("check", "drift", "--profile", profile, "--current", files["same"]) == 0
    assert cli("check", "drift", "--profile", profile, "--current", files["shifted"]) == 1


def test_drift_with_schema_runs_both_checks(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    cli(
        "check",
        "drift",
        "--reference",
        files["reference"],
        "--current",
        files["same"],
        "--schema",
        "--json",
        out,
    )
    assert [r["name"] for r in json.loads(out.read_text())["results"]] == ["data_drift", "schema"]


def test_schema_command_fails_on_a_missing_column(files: dict[str, Path], tmp_path: Path) -> None:
    current = write_csv(tmp_path / "c.csv", {"age": [30.0, 40.0]})
    assert cli("check", "schema", "--reference", files["reference"], "--current", current) == 1


def test_schema_command_without_a_reference_exits_2(files: dict[str, Path]) -> None:
    assert cli("check", "schema", "--current", files["same"]) == 2


def test_columns_and_categorical_options_are_honoured(tmp_path: Path) -> None:
    reference = write_csv(tmp_path / "r.csv", {"zip": [1, 2] * 100, "x": list(range(200))})
    current = write_csv(tmp_path / "c.csv", {"zip": [1, 2] * 100, "x": list(range(200))})
    out = tmp_path / "r.json"
    cli(
        "check",
        "drift",
        "--reference",
        reference,
        "--current",
        current,
        "--columns",
        "zip",
        "--categorical",
        "zip",
        "--json",
        out,
    )
    columns = json.loads(out.read_text())["results"][0]["columns"]
    assert list(columns) == ["zip"]
    assert columns["zip"]["kind"] == "categorical"


def test_npy_files_are_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "r.npy", rng.normal(size=(500, 2)))
    np.save(tmp_path / "c.npy", rng.normal(size=(500, 2)))
    assert (
        cli("check", "drift", "--reference", tmp_path / "r.npy", "--current", tmp_path / "c.npy")
        == 0
    )


def test_parquet_files_are_read_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"x": [1.0, 2.0, None], "c": ["a", None, "b"]}), tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet")
    assert table.column_names == ["x", "c"]


def test_parquet_without_pyarrow_raises_missing_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependency, match=r"pip install .modelship\[parquet\]."):
        read_table(tmp_path / "d.parquet")


def test_csv_cells_are_typed_by_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("i,f,s\n1,1.5,a\n2,NA,\n3,inf,c\n")
    table = read_table(path)
    assert table["i"].dtype == np.int64
    assert np.isnan(table["f"][1])
    assert np.isinf(table["f"][2])
    assert table["s"].tolist() == ["a", None, "c"]


def test_a_ragged_csv_raises_config_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ConfigError, match="line 3"):
        read_table(path)


def test_an_unknown_file_type_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.xlsx"):
        read_table(tmp_path / "d.xlsx")


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("a,a", "the header names column 'a' twice"),
        ("a,b,a", "the header names column 'a' twice"),
        ("a,,b", "column 2 of the header has no name"),
        ("a, ", "column 2 of the header has no name"),
    ],
)
def test_a_csv_header_with_a_repeated_or_empty_name_raises_config_error(
    tmp_path: Path, header: str, said: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(header + "\n" + ",".join(str(i) for i in range(header.count(",") + 1)) + "\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {said}"):
        read_table(path)


def test_profile_and_drift_refuse_a_csv_header_that_repeats_a_column(
    tmp_path: Path, capsys: Any
) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("a,a\n" + "".join(f"{i},{-i}\n" for i in range(50)))
    profile = tmp_path / "p.json"
    assert cli("check", "profile", "--reference", dup, "--output", profile) == 2
    assert not profile.exists()
    assert "the header names column 'a' twice" in capsys.readouterr().err
    junit = tmp_path / "checks.xml"
    assert cli("check", "drift", "--reference", dup, "--current", dup, "--junit", junit) == 2
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert error is not None
    assert f"{dup}: the header names column 'a' twice" in error.get("message", "")


def test_a_missing_input_file_raises_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    for read in (read_table, read_bytes):
        with pytest.raises(ConfigError, match=rf"cannot read {re.escape(str(missing))}: No such"):
            read(missing)
    with pytest.raises(ConfigError) as caught:
        read_table(f"file://{missing}")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_a_damaged_parquet_file_raises_config_error_from_the_arrow_error(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError, match=rf"cannot read {re.escape(str(path))}: .*") as caught:
        read_table(path)
    assert isinstance(caught.value.__cause__, pa.ArrowException)
    assert str(caught.value.__cause__).rstrip(".") in str(caught.value)


def test_an_empty_npy_file_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "d.npy"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match=rf"cannot read {re.escape(str(path))}: ") as caught:
        read_table(path)
    assert isinstance(caught.value.__cause__, EOFError)


def test_a_damaged_input_file_exits_2_with_a_config_error(tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("pyarrow")
    damaged = tmp_path / "d.parquet"
    damaged.write_bytes(b"not parquet at all")
    good = write_csv(tmp_path / "c.csv", {"x": list(range(50))})
    assert main(["check", "drift", "--reference", str(damaged), "--current", str(good)]) == 2
    assert f"ERROR data_drift: ConfigError: cannot read {damaged}: " in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--json", "--junit", "--markdown"])
def test_an_unwritable_report_path_exits_2_with_a_clean_message(
    files: dict[str, Path], tmp_path: Path, capsys: Any, option: str
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    target = blocker / "out" / "report"
    argv = ["check", "drift", "--reference", str(files["reference"])]
    assert main([*argv, "--current", str(files["same"]), option, str(target)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"modelship: ConfigError: cannot write {target}: {blocker} is a file, not a folder; "
        "choose a writable path\n"
    )


def test_an_unwritable_profile_output_exits_2_with_a_clean_message(
    files: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    target = blocker / "p.json"
    argv = ["check", "profile", "--reference", str(files["reference"]), "--output", str(target)]
    assert main(argv) == 2
    assert f"ConfigError: cannot write {target}: {blocker} is a file" in capsys.readouterr().err


def test_write_output_turns_an_os_error_into_config_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(ConfigError, match=rf"^cannot write {re.escape(str(folder))}: ") as caught:
        write_output(str(folder), "text")  # a folder where the file should be
    assert isinstance(caught.value.__cause__, IsADirectoryError)


def test_python_dash_m_modelship_check_exits_with_the_verdict(
    files: dict[str, Path], tmp_path: Path
) -> None:
    junit = tmp_path / "checks.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelship",
            "check",
            "drift",
            "--reference",
            str(files["reference"]),
            "--current",
            str(files["shifted"]),
            "--junit",
            str(junit),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "FAILED" in proc.stdout
    assert junit.exists()


def test_an_output_path_ending_in_a_slash_is_refused_not_written_as_the_file(
    tmp_path: Path,
) -> None:
    # Path("ok.csv/") is Path("ok.csv"): the report was appended to the data file.
    data = tmp_path / "ok.csv"
    data.write_text("a\n1\n")
    with pytest.raises(ConfigError, match="it names a folder"):
        write_output(f"{data}/", "report", append=True)
    assert data.read_text() == "a\n1\n"
