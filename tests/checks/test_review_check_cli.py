"""`modelship check ...` on hostile inputs a reviewer found: URLs holding a password, a
storage layer whose errors are not ``OSError``, a terminal that cannot write a file's
name, digit groups and blank lines in CSV files, a folder given as a file, and a schema
command given two references."""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest
from fsspec.spec import AbstractFileSystem
from hypothesis import given
from hypothesis import strategies as st

from modelship.checks._cli_common import _read_csv, read_bytes, read_table
from modelship.cli import main
from modelship.errors import ConfigError

SECRET = "S3cretT0ken"
# Port 9 (discard) on the loopback interface: the connection is refused at once, offline.
REFUSED_URL = f"https://ci:{SECRET}@127.0.0.1:9/batch.csv"


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def numbers(path: Path, n: int = 200) -> str:
    rng = np.random.default_rng(0)
    rows = "".join(
        f"{x:.4f},{k}\n" for x, k in zip(rng.normal(size=n), rng.integers(0, 5, n), strict=True)
    )
    return write(path, "x,k\n" + rows)


# 1. The user information of a URL never reaches an output.


def test_a_url_password_reaches_no_summary_report_or_message(tmp_path: Path, capsys: Any) -> None:
    reference = numbers(tmp_path / "ref.csv")
    reports = {"--json": tmp_path / "r.json", "--markdown": tmp_path / "r.md"}
    reports["--junit"] = tmp_path / "r.xml"
    options = [str(part) for pair in reports.items() for part in pair]
    code = main(["check", "drift", "--reference", reference, "--current", REFUSED_URL, *options])
    out, err = capsys.readouterr()
    assert code == 2
    assert "cannot read https://***@127.0.0.1:9/batch.csv: " in out
    for shown in (out, err, *(path.read_text(encoding="utf-8") for path in reports.values())):
        assert SECRET not in shown
    reason = json.loads(reports["--json"].read_text(encoding="utf-8"))["results"][0]["reason"]
    assert reason.count("127.0.0.1:9/batch.csv") == 1, reason  # the URL is named once


def test_check_profile_hides_a_url_password_in_its_error(tmp_path: Path, capsys: Any) -> None:
    output = str(tmp_path / "p.json")
    assert main(["check", "profile", "--reference", REFUSED_URL, "--output", output]) == 2
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert err.startswith("modelship check profile: ConfigError: cannot read https://***@")


def test_a_url_password_in_a_csv_error_is_hidden_in_every_report(
    tmp_path: Path, capsys: Any
) -> None:
    # A message built from the path (a ragged row, a missing column) names the URL too.
    url = f"memory://ci:{SECRET}@review-check-cli/ragged.csv"
    with fsspec.open(url, "w") as handle:
        handle.write("y,p,s\n1,1,a\n0,1\n")
    try:
        report = tmp_path / "bias.json"
        argv = ["check", "bias", "--data", url, "--label", "y", "--prediction", "p"]
        assert main([*argv, "--sensitive", "s", "--json", str(report)]) == 2
    finally:
        fsspec.filesystem("memory").rm(url)
    out, err = capsys.readouterr()
    assert "memory://***@review-check-cli/ragged.csv, line 3: 2 fields" in out
    assert SECRET not in out + err + report.read_text(encoding="utf-8")


# 2. A storage layer's own exception is a one-line "cannot read PATH", exit 2.


class NoCredentialsError(Exception):
    """Like botocore's: raised by the storage layer, and not an OSError."""


class _NoCredentialsFileSystem(AbstractFileSystem):
    """A store that refuses every read as S3 does without credentials."""

    protocol = "review-nocreds"

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        raise NoCredentialsError("Unable to locate credentials")


@pytest.fixture
def no_credentials_store() -> Iterator[str]:
    """The protocol of a store whose reads raise ``NoCredentialsError``; unregistered after."""
    protocol = _NoCredentialsFileSystem.protocol
    fsspec.register_implementation(protocol, _NoCredentialsFileSystem, clobber=True)
    yield protocol
    # fsspec has no public unregister (and `fsspec.registry` is the read-only view).
    importlib.import_module("fsspec.registry")._registry.pop(protocol, None)


def test_a_storage_error_that_is_not_an_oserror_is_a_config_error(
    no_credentials_store: str,
) -> None:
    url = f"{no_credentials_store}://bucket/x.csv"
    with pytest.raises(ConfigError) as caught:
        read_bytes(url)
    assert str(caught.value).startswith(
        f"cannot read {url}: NoCredentialsError: Unable to locate credentials; "
    )
    assert isinstance(caught.value.__cause__, NoCredentialsError)


def test_check_profile_on_a_store_without_credentials_exits_2_with_one_line(
    no_credentials_store: str, tmp_path: Path, capsys: Any
) -> None:
    url = f"{no_credentials_store}://bucket/x.csv"
    output = str(tmp_path / "p.json")
    assert main(["check", "profile", "--reference", url, "--output", output]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"modelship check profile: ConfigError: cannot read {url}: NoCredentialsError: Unable "
        "to locate credentials; check the path (and the -o storage options for a URL)\n"
    )


def test_check_drift_on_a_store_without_credentials_names_the_file(
    no_credentials_store: str, tmp_path: Path, capsys: Any
) -> None:
    url = f"{no_credentials_store}://bucket/x.csv"
    current = numbers(tmp_path / "cur.csv")
    assert main(["check", "drift", "--reference", url, "--current", current]) == 2
    expected = f"ERROR data_drift: ConfigError: cannot read {url}: NoCredentialsError: "
    assert expected in capsys.readouterr().out


# 3. A path the terminal cannot write is escaped, not a crash after the work is done.


def test_check_profile_escapes_an_output_name_stdout_cannot_encode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252")  # strict, as a Windows console
    monkeypatch.setattr(sys, "stdout", stdout)
    output = tmp_path / "数据.json"
    reference = numbers(tmp_path / "ref.csv")
    assert main(["check", "profile", "--reference", reference, "--output", str(output)]) == 0
    assert json.loads(output.read_text(encoding="utf-8"))["schema"]["columns"]
    stdout.flush()
    shown = raw.getvalue().decode("cp1252")
    assert shown.endswith("\\u6570\\u636e.json\n")


# 4. Only plain numbers are numbers: digit groups are text, as pandas reads them.


def test_digit_group_underscores_are_text_not_numbers(tmp_path: Path) -> None:
    path = tmp_path / "periods.csv"
    write(path, "period,amount,n\n2023_01,1_000.5,1\n2023_02,2.5,2\n")
    table = read_table(path)
    assert table["period"].tolist() == ["2023_01", "2023_02"]
    assert table["amount"].tolist() == ["1_000.5", "2.5"]
    assert table["n"].dtype == np.int64


def test_digits_of_other_scripts_are_text(tmp_path: Path) -> None:
    path = tmp_path / "digits.csv"
    write(path, "arabic,fullwidth\n\u0661\u0662,\uff11\uff12\n3,4\n")
    table = read_table(path)
    assert table["arabic"].tolist() == ["\u0661\u0662", "3"]
    assert table["fullwidth"].tolist() == ["\uff11\uff12", "4"]


def test_infinity_and_spaced_numbers_stay_numbers(tmp_path: Path) -> None:
    path = tmp_path / "kept.csv"
    write(path, "f,i\ninf,  7\n-Infinity,+8\n1e3,9\n")
    table = read_table(path)
    assert table["f"].tolist() == [np.inf, -np.inf, 1000.0]
    assert table["i"].tolist() == [7, 8, 9]


@given(st.text(alphabet="0123456789_.-e", min_size=1, max_size=10).filter(lambda cell: "_" in cell))
def test_a_cell_with_an_underscore_is_never_read_as_a_number(cell: str) -> None:
    table = _read_csv("cells.csv", f"a\n{cell}\n1\n".encode())
    assert table["a"].tolist() == [cell, "1"]


# 5. Blank lines, folders, and one reference for `check schema`.


def test_a_trailing_blank_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    write(path, "a,b\n1,x\n2,y\n\n")
    table = read_table(path)
    assert table["a"].tolist() == [1, 2]


def test_blank_and_space_only_lines_are_skipped_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "blanks.csv"
    write(path, "\na,b\n1,x\n   \n\n2,y\n\t\n")
    assert read_table(path)["b"].tolist() == ["x", "y"]


def test_a_quoted_empty_cell_in_a_one_column_file_is_a_missing_value(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    write(path, 'score\n0.5\n""\n\n0.25\n')
    assert read_table(path)["score"].tolist()[::2] == [0.5, 0.25]
    assert np.isnan(read_table(path)["score"][1])


def test_a_ragged_row_after_a_blank_line_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    write(path, "a,b\n\n1\n")
    with pytest.raises(ConfigError, match=r", line 3: 1 fields, but the header has 2$"):
        read_table(path)


def test_a_folder_given_as_input_is_named_and_called_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^cannot read \.: it is a folder; "):
        read_table(".")
    folder = tmp_path / "batch.csv"
    folder.mkdir()
    output = str(tmp_path / "p.json")
    assert main(["check", "profile", "--reference", str(folder), "--output", output]) == 2
    assert f"cannot read {folder}: it is a folder; " in capsys.readouterr().err


@pytest.mark.parametrize(
    "given", [("--reference", "--schema-file"), ("--profile", "--schema-file")]
)
def test_check_schema_refuses_two_references_as_a_usage_error(
    tmp_path: Path, capsys: Any, given: tuple[str, str]
) -> None:
    data = numbers(tmp_path / "data.csv")
    argv = ["check", "schema", "--current", data]
    for option in given:
        argv += [option, data]
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_check_schema_without_a_reference_exits_2_naming_the_options(
    tmp_path: Path, capsys: Any
) -> None:
    data = numbers(tmp_path / "data.csv")
    assert main(["check", "schema", "--current", data]) == 2
    assert "give --reference, --profile or --schema-file" in capsys.readouterr().err
