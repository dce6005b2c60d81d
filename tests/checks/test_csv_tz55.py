"""The CLI's CSV reader streams the file (stop 55), and zoned pandas date-times are
converted at once, not value by value (stop 55)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks._cli_common import _read_csv
from modelship.checks._tabular import ColumnKind, _datetimes, make_column, raw_columns
from modelship.errors import ConfigError

pd = pytest.importorskip("pandas")

_ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def _stamps(zone: str, n: int = 3000, seed: int = 0) -> Any:
    """``n`` date-times in ``zone`` around the DST changes of 2024, to the nanosecond,
    some missing."""
    rng = np.random.default_rng(seed)
    starts = [
        pd.Timestamp("2024-03-31T00:00Z"),
        pd.Timestamp("2024-10-27T00:00Z"),
        pd.Timestamp("2024-03-10T06:00Z"),
        pd.Timestamp("1969-12-31T23:00Z"),
    ]
    ticks = rng.integers(-3 * 3600 * 10**9, 3 * 3600 * 10**9, n)
    base = np.array([s.value for s in starts])[rng.integers(0, len(starts), n)]
    series = pd.Series(pd.to_datetime(base + ticks, utc=True)).dt.tz_convert(zone)
    series[rng.random(n) < 0.05] = pd.NaT
    return series


@pytest.mark.parametrize("zone", _ZONES)
def test_a_zoned_pandas_column_reads_as_the_value_by_value_reading(zone: str) -> None:
    series = _stamps(zone)
    fast = raw_columns(pd.DataFrame({"t": series}), what="data")["t"]
    slow = _datetimes(np.asarray(series.to_numpy()))
    assert slow is not None
    assert fast.dtype == slow.dtype == np.dtype("datetime64[us]")
    assert np.array_equal(np.isnat(fast), np.isnat(slow))
    assert np.array_equal(fast.view(np.int64), slow.view(np.int64))


def test_a_zoned_pandas_column_of_a_coarser_unit_reads_the_same() -> None:
    if int(pd.__version__.split(".")[0]) < 2:
        pytest.skip("pandas < 2 holds nanoseconds only")
    series = _stamps("Europe/Paris").dt.as_unit("s")
    fast = raw_columns(pd.DataFrame({"t": series}), what="data")["t"]
    slow = _datetimes(np.asarray(series.to_numpy()))
    assert slow is not None
    assert np.array_equal(fast.view(np.int64), slow.view(np.int64))


def test_zoned_pandas_date_times_are_converted_at_once_not_value_by_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Value by value took 23 s per million Europe/Paris values; the vectorised conversion
    # never calls the per-value one (no timing here: benchmarks hold the figures).
    from modelship.checks import _tabular

    def per_value(*_: Any) -> Any:
        raise AssertionError("a zoned pandas column was converted value by value")

    monkeypatch.setattr(_tabular, "_utc_stamp", per_value)
    series = pd.Series(pd.date_range("2024-01-01", periods=10_000, freq="s", tz="Europe/Paris"))
    raw = raw_columns(pd.DataFrame({"t": series}), what="data")["t"]
    column = make_column("t", raw, ColumnKind.NUMERIC)
    assert column.dtype == "datetime64[us]"


def test_drift_of_zoned_pandas_date_times_is_that_of_polars() -> None:
    from modelship.checks import DataDrift

    polars = pytest.importorskip("polars")
    ref = pd.DataFrame({"t": _stamps("Europe/Paris", seed=1)})
    cur = pd.DataFrame({"t": _stamps("Europe/Paris", seed=2)})
    kinds = {"t": "numeric"}
    ours = DataDrift(reference=ref, current=cur, kinds=kinds).run()
    theirs = DataDrift(
        reference=polars.from_pandas(ref), current=polars.from_pandas(cur), kinds=kinds
    ).run()
    assert ours.columns["t"].statistic == theirs.columns["t"].statistic
    skipped = DataDrift(reference=ref.assign(x=1.0), current=cur.assign(x=1.0)).run()
    assert skipped.columns["t"].status.value == "skip"
    assert skipped.columns["t"].reason.startswith("datetime column left out")


# --- the CSV reader -------------------------------------------------------------------


def _write(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["a", "b", "c", "i", "t"])
        for k in range(rows):
            out.writerow([rng.normal(), rng.normal(), rng.normal(), k, f"lvl{k % 7}"])


def test_a_csv_file_is_read_without_a_python_string_per_cell_held(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _write(path, 300_000)
    code = (
        "import resource, sys; from modelship.checks._cli_common import read_table;"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        f"t = read_table({str(path)!r});"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)"
    )
    grown_kb = int(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    size_kb = path.stat().st_size // 1024
    # Read whole, as rows of Python strings, with a text copy of every column: 12.7x.
    assert grown_kb < 7 * size_kb, (grown_kb, size_kb)  # 12.7x before, 4.2x now


def test_the_cells_of_a_numeric_column_are_kept_as_written(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfzip,n,f,b\r\n007, 1,1.50,True\n\n,2,nan,\n1e3,3,-0.0,false\n"
    table = _read_csv("a.csv", data)
    assert table["zip"].tolist()[::2] == [7.0, 1000.0]
    assert table.text["zip"].tolist() == ["007", None, "1e3"]
    assert table.text["f"].tolist() == ["1.50", None, "-0.0"]
    assert table.text["b"].tolist() == ["True", None, "false"]
    assert table.with_text(["n"])["n"].tolist() == ["1", "2", "3"]
    assert list(table.text) == ["zip", "n", "f", "b"]


def test_a_cell_holding_the_packing_separator_is_kept(tmp_path: Path) -> None:
    table = _read_csv("a.csv", b"a,b\n1,x\x00y\n2,z\n")
    assert table["b"].tolist() == ["x\x00y", "z"]
    assert table.text["a"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b\n1,2\n3\n" + b"4,5\n" * 20000, "line 3: 1 fields"),
        (b"a,b\n" + b"4,5\n" * 20000 + b"1\n", "line 20002: 1 fields"),
        (b"a,b\n1,2\n3\n" + b"4,5\n" * 20000 + b'6,"7\n', "not valid CSV: a quote opens"),
        (b"a,a\n1,2\n" + b'6,"7\n', "not valid CSV"),
        (
            b"a,b\n1,2\n3\n\xff\n",
            "is not UTF-8 text: 'utf-8' codec can't decode byte 0xff in position 10",
        ),
        (b"\n \n", "is empty"),
    ],
)
def test_faults_found_later_in_a_streamed_file_are_reported_as_before(
    data: bytes, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _read_csv("a.csv", data)


def test_a_padded_export_is_read_as_before() -> None:
    table = _read_csv("a.csv", b'a,b\n"x"  ,1\n"y"\t,2\n')
    assert table["a"].tolist() == ["x", "y"]
    assert table["b"].tolist() == [1, 2]
