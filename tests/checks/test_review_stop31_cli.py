"""`modelship check ...` on CSV files whose cells a file types differently from its
reference: digit-only text against a profile or a schema, cells after ", " separators,
and integer columns with an empty cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelship.checks import Schema
from modelship.checks._cli import read_table
from modelship.cli import main

# 400 rows of zip codes, the same shares in both files; the reference also holds a word,
# so its column is text, while the current one, digits only, reads as int64.
ZIPS = ["007", "010", "012", "099"] * 100


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def zip_files(tmp_path: Path) -> tuple[str, str]:
    reference = write(tmp_path / "ref.csv", "zip\n" + "\n".join([*ZIPS, "none given"]) + "\n")
    current = write(tmp_path / "cur.csv", "zip\n" + "\n".join(ZIPS) + "\n")
    return reference, current


def profile_of(tmp_path: Path, reference: str, *options: str) -> str:
    profile = str(tmp_path / "profile.json")
    assert main(["check", "profile", "--reference", reference, "--output", profile, *options]) == 0
    return profile


def run(tmp_path: Path, *argv: str) -> tuple[int, list[dict[str, Any]]]:
    """``modelship check ARGV``: its exit code and the results of its JSON report."""
    out = tmp_path / "out.json"
    code = main(["check", *argv, "--json", str(out)])
    results: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["results"]
    return code, results


# Digit-only text against a profile or a schema recorded from text.


def test_drift_against_a_profile_reads_digit_only_cells_as_the_text_it_profiled(
    tmp_path: Path,
) -> None:
    # The profile held '007', the current file 7: every category was "unseen", p=2e-170.
    reference, current = zip_files(tmp_path)
    profile = profile_of(tmp_path, reference)
    code, results = run(tmp_path, "drift", "--profile", profile, "--current", current)
    column = results[0]["columns"]["zip"]
    assert (code, column["status"]) == (0, "pass"), column["reason"]
    assert "unseen" not in column["reason"]


def test_drift_against_a_profile_decides_as_against_its_reference_file(tmp_path: Path) -> None:
    reference, current = zip_files(tmp_path)
    profile = profile_of(tmp_path, reference)
    from_file = run(tmp_path, "drift", "--reference", reference, "--current", current)
    from_profile = run(tmp_path, "drift", "--profile", profile, "--current", current)
    assert from_file[1][0]["columns"]["zip"]["status"] == "pass"
    assert from_profile[1][0]["columns"]["zip"]["status"] == "pass"


@pytest.mark.parametrize("source", ["--profile", "--schema-file", "--reference"])
def test_schema_finds_no_new_categories_in_digit_only_cells_of_a_text_column(
    tmp_path: Path, source: str
) -> None:
    reference, current = zip_files(tmp_path)
    if source == "--profile":
        given = profile_of(tmp_path, reference)
    elif source == "--schema-file":
        schema = Schema.infer(read_table(reference)).to_json()
        given = write(tmp_path / "schema.json", schema)
    else:
        given = reference
    code, results = run(tmp_path, "schema", source, given, "--current", current)
    column = results[0]["columns"]["zip"]
    assert (code, column["reason"]) == (0, "matches the schema")
    assert column["details"]["dtype"] == "str"


def test_drift_with_schema_against_a_profile_reads_digit_only_cells_as_text(
    tmp_path: Path,
) -> None:
    reference, current = zip_files(tmp_path)
    profile = profile_of(tmp_path, reference)
    _, results = run(tmp_path, "drift", "--profile", profile, "--current", current, "--schema")
    assert results[1]["columns"]["zip"]["reason"] == "matches the schema"


def test_a_column_profiled_from_numbers_keeps_its_number_labels(tmp_path: Path) -> None:
    # Declared categorical, '007' was read as the number 7 and profiled as '7': reading
    # the current file's text would make every category new.
    reference = write(tmp_path / "ref.csv", "zip\n" + "\n".join(ZIPS) + "\n")
    current = write(tmp_path / "cur.csv", "zip\n" + "\n".join(ZIPS) + "\n")
    profile = profile_of(tmp_path, reference, "--categorical", "zip")
    code, results = run(tmp_path, "drift", "--profile", profile, "--current", current, "--schema")
    assert code == 0
    assert results[0]["columns"]["zip"]["status"] == "pass"
    assert results[1]["columns"]["zip"]["reason"] == "matches the schema"


# Cells and header names after ", " separators.


def test_cells_after_a_comma_and_space_meet_the_same_cells_typed_as_numbers(
    tmp_path: Path,
) -> None:
    # The reference's column is text (it holds a word) and kept " 007"; the current one,
    # digits only, was parsed as 7 and then read as text "007": a 100% drift.
    rows = [f"{i}, {zip_code}" for i, zip_code in enumerate(ZIPS)]
    reference = write(tmp_path / "ref.csv", "id, zip\n" + "\n".join([*rows, "400, unknown"]) + "\n")
    current = write(tmp_path / "cur.csv", "id, zip\n" + "\n".join(rows) + "\n")
    code, results = run(
        tmp_path, "drift", "--reference", reference, "--current", current, "--exclude", "id"
    )
    assert (code, results[0]["status"]) == (0, "pass"), results[0]["reason"]


def test_header_names_are_stripped_as_cells_are(tmp_path: Path) -> None:
    rows = [f"{i}, {i % 7}" for i in range(200)]
    data = write(tmp_path / "data.csv", "id, level\n" + "\n".join(rows) + "\n")
    code, results = run(
        tmp_path, "drift", "--reference", data, "--current", data, "--columns", "level"
    )
    assert code == 0
    assert list(results[0]["columns"]) == ["level"]


def test_a_header_naming_a_column_twice_with_and_without_a_space_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "data.csv", "a, a\n1, 2\n3, 4\n")
    assert main(["check", "schema", "--reference", data, "--current", data]) == 2
    assert "names column 'a' twice" in capsys.readouterr().out


# Integer columns with an empty cell.


def test_schema_of_an_integer_column_does_not_depend_on_one_empty_cell(tmp_path: Path) -> None:
    # The reference's empty cell made 'age' float64, the current file's int64: under
    # --strict the advisory dtype_changed failed the run.
    reference = write(tmp_path / "ref.csv", "age,x\n31,1.5\n,2.5\n40,3.5\n")
    current = write(tmp_path / "cur.csv", "age,x\n33,1.5\n35,2.5\n40,3.5\n")
    code, results = run(
        tmp_path, "schema", "--reference", reference, "--current", current, "--strict"
    )
    column = results[0]["columns"]["age"]
    assert (code, column["reason"]) == (0, "matches the schema")
    assert column["details"]["dtype"] == "int64"


def test_an_empty_cell_in_the_current_integer_column_is_a_null_rate_not_a_dtype_change(
    tmp_path: Path,
) -> None:
    reference = write(tmp_path / "ref.csv", "age,x\n31,1\n35,2\n40,3\n")
    current = write(tmp_path / "cur.csv", "age,x\n33,1\n,2\n40,3\n")
    _, results = run(tmp_path, "schema", "--reference", reference, "--current", current)
    findings = results[0]["columns"]["age"]["details"]["findings"]
    assert [item["finding"] for item in findings] == ["null_rate"]


def test_a_profile_records_an_integer_column_with_an_empty_cell_as_int64(tmp_path: Path) -> None:
    reference = write(tmp_path / "ref.csv", "age,x\n31,1\n,2\n40,3\n")
    current = write(tmp_path / "cur.csv", "age,x\n33,1\n35,2\n40,3\n")
    profile = profile_of(tmp_path, reference)
    code, results = run(tmp_path, "schema", "--profile", profile, "--current", current, "--strict")
    assert (code, results[0]["columns"]["age"]["reason"]) == (0, "matches the schema")


def test_a_column_of_only_empty_cells_is_not_called_int64(tmp_path: Path) -> None:
    table = read_table(write(tmp_path / "data.csv", "age,x\n,1\n,2\n"))
    assert table["age"].dtype.name == "float64"
    assert table.nullable_dtypes() == {}
