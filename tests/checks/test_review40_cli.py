"""Review 40 of the check commands: repeated list options, a Parquet or .npy reference
against a CSV batch, ``check profile --output /dev/stdout``, CSV files with mixed line
endings, Markdown reports within GitHub's 1 MiB, run_suite on one worker with a result
that cannot be pickled, and Parquet files that repeat a column name."""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import CheckResult, run_suite
from modelship.checks._cli import add_commands, read_table
from modelship.cli import main
from modelship.errors import ConfigError
from modelship.report import Entry, Report, Section, render_markdown

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def run(tmp_path: Path, *argv: str) -> tuple[int, list[dict[str, Any]]]:
    """``modelship check ARGV``: its exit code and the results of its JSON report."""
    out = tmp_path / "out.json"
    code = main(["check", *argv, "--json", str(out)])
    results: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["results"]
    return code, results


# --- a list option given twice -----------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="modelship")
    add_commands(parser.add_subparsers())
    return parser.parse_args(["check", *argv])


COMMANDS = {
    "drift": ["drift", "--reference", "r.csv", "--current", "c.csv"],
    "schema": ["schema", "--reference", "r.csv", "--current", "c.csv"],
    "profile": ["profile", "--reference", "r.csv", "--output", "p.json"],
}


@pytest.mark.parametrize("option", ["columns", "exclude", "categorical", "numeric"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_list_option_given_twice_keeps_the_names_of_both(command: str, option: str) -> None:
    args = parse(*COMMANDS[command], f"--{option}", "a", "b", f"--{option}", "c")
    assert getattr(args, option) == ["a", "b", "c"]


def test_a_list_option_not_given_is_none() -> None:
    args = parse(*COMMANDS["drift"])
    assert (args.columns, args.exclude, args.categorical, args.numeric) == (None,) * 4


def test_exclude_given_twice_leaves_out_the_columns_of_both(tmp_path: Path) -> None:
    # Only the last --exclude was kept: the identifier column was compared, and drifted.
    rows = range(500)
    (tmp_path / "ref.csv").write_text(
        "customer_id,batch,age\n" + "".join(f"{i},0,{20 + i % 50}\n" for i in rows)
    )
    (tmp_path / "cur.csv").write_text(
        "customer_id,batch,age\n" + "".join(f"{100000 + i},100,{20 + i % 50}\n" for i in rows)
    )
    code, results = run(
        tmp_path,
        "drift",
        "--reference",
        str(tmp_path / "ref.csv"),
        "--current",
        str(tmp_path / "cur.csv"),
        "--exclude",
        "customer_id",
        "--exclude",
        "batch",
    )
    assert code == 0, results[0]["reason"]
    assert sorted(results[0]["columns"]) == ["age"]


# --- a Parquet or .npy reference against a CSV batch -------------------------------------

ZIPS = ["007", "010", "012", "020", "031"] * 100
AGES = [18 + i % 60 for i in range(len(ZIPS))]


def zip_csv(tmp_path: Path) -> str:
    path = tmp_path / "cur.csv"
    path.write_text("zip,age\n" + "".join(f"{z},{a}\n" for z, a in zip(ZIPS, AGES, strict=True)))
    return str(path)


def zip_parquet(tmp_path: Path) -> str:
    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"zip": ZIPS, "age": AGES}), path)
    return str(path)


def zip_npy(tmp_path: Path) -> str:
    path = tmp_path / "ref.npy"
    data = np.array(list(zip(ZIPS, AGES, strict=True)), dtype=[("zip", "U3"), ("age", "i8")])
    np.save(path, data)
    return str(path)


@pytest.mark.parametrize("write", [zip_parquet, zip_npy], ids=["parquet", "npy"])
def test_drift_of_a_csv_batch_against_a_typed_reference_reads_its_digits_as_text(
    tmp_path: Path, write: Any
) -> None:
    # The batch's "007" was the number 7 against the reference's text '007': every
    # category unseen, chi-square p=1e-213, exit 1 on the very same rows.
    reference, current = write(tmp_path), zip_csv(tmp_path)
    code, results = run(tmp_path, "drift", "--reference", reference, "--current", current)
    column = results[0]["columns"]["zip"]
    assert (code, column["status"]) == (0, "pass"), column["reason"]
    assert "unseen" not in column["reason"]


def test_a_parquet_reference_and_its_profile_give_a_csv_batch_one_verdict(
    tmp_path: Path,
) -> None:
    reference, current = zip_parquet(tmp_path), zip_csv(tmp_path)
    profile = str(tmp_path / "profile.json")
    assert main(["check", "profile", "--reference", reference, "--output", profile]) == 0
    by_file = run(tmp_path, "drift", "--reference", reference, "--current", current, "--schema")
    by_profile = run(tmp_path, "drift", "--profile", profile, "--current", current, "--schema")
    assert [r["status"] for r in by_file[1]] == [r["status"] for r in by_profile[1]]
    assert (by_file[0], by_profile[0]) == (0, 0)


def test_a_text_column_declared_numeric_in_the_reference_keeps_the_batch_numbers(
    tmp_path: Path,
) -> None:
    # Declared numeric, the reference's '007' is compared as 7: so is the batch's 7.
    reference, current = zip_parquet(tmp_path), zip_csv(tmp_path)
    code, results = run(
        tmp_path, "drift", "--reference", reference, "--current", current, "--numeric", "zip"
    )
    assert code == 0, results[0]["reason"]
    assert results[0]["columns"]["zip"]["kind"] == "numeric"


# --- check profile --output /dev/stdout --------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="no /dev/stdout")
def test_profile_written_to_dev_stdout_says_so_on_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The "wrote the profile" line followed the JSON on standard output: not JSON then.
    reference = tmp_path / "ref.csv"
    reference.write_text("x\n" + "".join(f"{i}\n" for i in range(20)))
    code = main(["check", "profile", "--reference", str(reference), "--output", "/dev/stdout"])
    out, err = capfd.readouterr()
    assert code == 0
    assert json.loads(out)["schema"]
    assert "wrote the profile of 1 columns to /dev/stdout" in err


# --- CSV files with mixed line endings ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"id,code\r1,2023_01\r2,\xd9\xa1\xd9\xa2\r3,7\n4,8\n",  # header and first rows in CR
        b"id,code\r\n1,2023_01\r2,\xd9\xa1\xd9\xa2\n3,7\n4,8\n",  # CRLF header, CR, LF
    ],
    ids=["cr-then-lf", "crlf-cr-lf"],
)
def test_a_csv_with_mixed_line_endings_keeps_digit_groups_and_other_digits_as_text(
    tmp_path: Path, body: bytes
) -> None:
    # The scan for plain numbers started after the first "\n": "2023_01" and the
    # Arabic-Indic "١٢" before it were read as the numbers 202301 and 12.
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    table = read_table(path)
    assert table["code"].tolist() == ["2023_01", "١٢", "7", "8"]
    assert table["id"].tolist() == [1, 2, 3, 4]


def test_a_csv_with_cr_line_endings_only_still_reads_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(b"id,x\r1,2.5\r2,3.5\r")
    table = read_table(path)
    assert (table["id"].dtype.name, table["x"].tolist()) == ("int64", [2.5, 3.5])


# --- Markdown within GitHub's 1 MiB ------------------------------------------------------


def markdown_of(reasons: list[str], sections: int = 1) -> str:
    entries = [
        Entry(name=f"c{i}", status="fail", reason=reason) for i, reason in enumerate(reasons)
    ]
    report = Report(
        title="checks",
        passed=False,
        sections=[
            Section(
                head=Entry(name=f"drift{j}", status="fail", reason="bad"),
                entries=entries,
                headings=("status", "reason"),
                item="column",
            )
            for j in range(sections)
        ],
    )
    return render_markdown(report)


def test_a_long_markdown_cell_is_cut_at_500_characters() -> None:
    # A reason naming 20 unseen categories of serialized payloads ran to 100,000
    # characters per cell: 1.21 MiB of Markdown in 50 rows.
    row = next(line for line in markdown_of(["x" * 5000]).splitlines() if "| c0 |" in line)
    cell = row.split(" | ")[-1].removesuffix(" |")
    assert cell == "x" * 499 + "…"


def test_a_cut_markdown_cell_leaves_no_escape_split_nor_a_backtick_bare() -> None:
    row = next(line for line in markdown_of(["`|" * 400]).splitlines() if "| c0 |" in line)
    cell = row.split(" | ")[-1].removesuffix(" |")
    assert cell == "\\`\\|" * 249 + "\\`…"


def test_a_markdown_report_never_exceeds_a_million_bytes() -> None:
    # 50 rows of 500 format characters beyond the BMP (11 bytes each, escaped) in each of
    # five sections: 1.4 MB uncut.
    text = markdown_of(["\U000e0001" * 600] * 60, sections=5)
    assert len(text.encode("utf-8")) <= 1_000_000
    assert text.endswith("The JSON report holds every entry.*\n\n")
    assert text.count("<details>") == text.count("</details>") >= 1


def test_a_markdown_report_within_the_limit_is_not_cut() -> None:
    text = markdown_of(["drifted"] * 60, sections=3)
    assert "left out" not in text
    assert text.count("and 10 more") == 3


# --- run_suite on one worker -------------------------------------------------------------


class Handle:
    """A value a result may hold that cannot be pickled (it holds a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


HANDLE = Handle()


def plain() -> CheckResult:
    return CheckResult(name="plain", status="pass", reason="ok")


def holding() -> CheckResult:
    return CheckResult(name="holding", status="pass", reason="ok", details={"h": HANDLE})


def broken() -> CheckResult:
    raise RuntimeError("cannot reach the feature store")


@pytest.mark.parametrize("n_jobs", [None, 1])
def test_a_result_that_cannot_be_pickled_is_kept_on_one_worker(n_jobs: int | None) -> None:
    # It was an error about a worker that does not exist, once the suite had two checks.
    suite = run_suite([plain, holding], n_jobs=n_jobs)
    assert [(r.name, r.status.value) for r in suite.results] == [
        ("plain", "pass"),
        ("holding", "pass"),
    ]
    assert suite.results[1].details["h"] is HANDLE


def test_a_check_that_raises_on_one_worker_is_still_an_error() -> None:
    suite = run_suite([broken, holding, plain])
    assert [(r.name, r.status.value) for r in suite.results] == [
        ("broken", "error"),
        ("holding", "pass"),
        ("plain", "pass"),
    ]
    assert "cannot reach the feature store" in suite.results[0].reason


# --- a Parquet file that repeats a column name -------------------------------------------


def test_a_parquet_file_with_a_repeated_column_name_is_refused_naming_it(tmp_path: Path) -> None:
    # It was "Multiple matches for FieldRef.Name(a) ...; check that it is a complete
    # Parquet file".
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["a", "a"]), path)
    with pytest.raises(ConfigError, match=r"has duplicated column names: \['a'\]") as caught:
        read_table(path)
    assert "Parquet file" not in str(caught.value)


def test_drift_of_a_parquet_file_with_a_repeated_column_name_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["a", "a"]), path)
    code, results = run(tmp_path, "drift", "--reference", str(path), "--current", str(path))
    assert code == 2
    assert "has duplicated column names: ['a']" in results[0]["reason"]
