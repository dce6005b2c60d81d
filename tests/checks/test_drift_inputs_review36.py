"""Review 36 of the drift inputs: CSV quotes and long cells, wide tables, huge values,
integers beyond 2**53, NumPy date-times in object columns, big-endian datetime dtypes."""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema, _tabular
from modelship.checks._cli_common import read_table
from modelship.checks.stats import population_std, sorted_finite, wasserstein
from modelship.checks.stats._wasserstein import wasserstein_and_std
from modelship.cli import main
from modelship.errors import CheckInputError, ConfigError

scipy_stats = pytest.importorskip("scipy.stats")


# 1. A stray quote in a CSV cell ---------------------------------------------------------


def _csv_with_stray_quote(path: Path, rows: int = 100, at: int = 90) -> Path:
    lines = ["age,city"]
    for i in range(rows):
        city = '"lyon' if i == at else "paris"  # one stray opening quote
        lines.append(f"{20 + i % 40},{city}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_stray_quote_is_refused_naming_the_file_and_its_line(tmp_path: Path) -> None:
    path = _csv_with_stray_quote(tmp_path / "cur.csv")
    # Data row 91 (index 90) is line 92 of the file, after the header.
    message = rf"^{re.escape(str(path))}, line 92: not valid CSV: a quote opens a cell"
    with pytest.raises(ConfigError, match=message):
        read_table(path)


def test_text_after_a_closing_quote_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,"x"\n2,"ab"c\n3,z\n')
    with pytest.raises(ConfigError, match=r"a\.csv, line 3: not valid CSV: ',' expected"):
        read_table(path)


@pytest.mark.parametrize("pad", [" ", "  ", "\t"])
def test_blanks_after_a_closing_quote_are_read_as_pandas_reads_them(
    tmp_path: Path, pad: str
) -> None:
    """A padded export (``"x" ,``): strict reading refused it, though pandas and modelship
    before read it. The blanks stay outside the structure; a stray quote is still refused."""
    path = tmp_path / "a.csv"
    path.write_text(f'"a"{pad},b\n"1"{pad},"x"{pad}\n2,y\n')
    table = read_table(path)
    assert table["b"].tolist() == ["x", "y"]
    stray = tmp_path / "stray.csv"
    stray.write_text(f'a,b\n1,"x"{pad}\n2,"lyon\n3,z\n')
    with pytest.raises(ConfigError, match=r"stray\.csv, line 3: not valid CSV: a quote opens"):
        read_table(stray)


def test_a_quoted_cell_over_several_lines_is_still_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,"two\nlines, and a ""quote"""\n2,plain\n')
    table = read_table(path)
    assert table["b"].tolist() == ['two\nlines, and a "quote"', "plain"]


@pytest.mark.parametrize("command", ["drift", "schema"])
def test_a_stray_quote_is_an_error_result_from_the_command_line(
    tmp_path: Path, capsys: Any, command: str
) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_text("age,city\n" + "".join(f"{20 + i % 40},paris\n" for i in range(100)))
    current = _csv_with_stray_quote(tmp_path / "cur.csv")
    args = ["check", command, "--reference", str(reference), "--current", str(current)]
    assert main(args) == 2
    out = capsys.readouterr().out
    assert f"ConfigError: {current}, line 92: not valid CSV" in out


def test_check_profile_refuses_a_stray_quote(tmp_path: Path, capsys: Any) -> None:
    data = _csv_with_stray_quote(tmp_path / "ref.csv")
    output = tmp_path / "profile.json"
    assert main(["check", "profile", "--reference", str(data), "--output", str(output)]) == 2
    assert f"{data}, line 92: not valid CSV" in capsys.readouterr().err
    assert not output.exists()


# 2. A cell longer than the csv module's default limit ------------------------------------


def test_a_cell_longer_than_131072_characters_is_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    long = "x" * 200_000
    path.write_text(f"id,comment\n1,short\n2,{long}\n")
    limit = csv.field_size_limit()
    table = read_table(path)
    assert table["comment"].tolist() == ["short", long]
    assert csv.field_size_limit() == limit  # the process-wide setting is put back


def test_the_field_size_limit_is_put_back_after_a_faulty_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('a,b\n1,"' + "y" * 200_000 + "\n")
    limit = csv.field_size_limit()
    with pytest.raises(ConfigError, match=r"bad\.csv, line 2: not valid CSV"):
        read_table(path)
    assert csv.field_size_limit() == limit


def test_check_profile_and_drift_read_a_long_cell(tmp_path: Path) -> None:
    rows = "".join(f"{i},short text\n" for i in range(20))
    reference = tmp_path / "ref.csv"
    reference.write_text("id,comment\n" + rows)
    current = tmp_path / "cur.csv"
    current.write_text("id,comment\n" + rows + "21," + "x" * 200_000 + "\n")
    profile = tmp_path / "p.json"
    assert main(["check", "profile", "--reference", str(current), "--output", str(profile)]) == 0
    assert profile.exists()
    drift = ["check", "drift", "--reference", str(reference), "--current", str(current)]
    assert main(drift) in (0, 1)


# 3. Column names counted once ------------------------------------------------------------


class _CountingList(list[str]):
    counts = 0

    def count(self, value: Any) -> int:
        type(self).counts += 1
        return super().count(value)


class _CountingTuple(tuple[str, ...]):
    iterations = 0

    def __iter__(self) -> Iterator[str]:
        type(self).iterations += 1
        return super().__iter__()


def test_duplicated_names_are_found_without_a_count_per_name() -> None:
    names = _CountingList(["b", "a", "c", "a", "b", "b"] + [f"x{i}" for i in range(1000)])
    with pytest.raises(CheckInputError, match=r"^data has duplicated column names: \['a', 'b'\]$"):
        _tabular._no_duplicates("data", names)
    assert _CountingList.counts == 0


def test_distinct_names_pass() -> None:
    _tabular._no_duplicates("data", [f"c{i}" for i in range(20_000)])


def test_exclude_is_read_once_not_once_per_column() -> None:
    data = {f"c{i}": np.arange(3) for i in range(200)}
    exclude = _CountingTuple(f"c{i}" for i in range(0, 200, 2))
    _CountingTuple.iterations = 0
    columns = _tabular.raw_columns(data, what="data", exclude=exclude)
    assert list(columns) == [f"c{i}" for i in range(1, 200, 2)]
    assert _CountingTuple.iterations <= 2


def test_a_wide_table_with_a_repeated_name_is_refused() -> None:
    class Frame:
        columns = [f"c{i}" for i in range(5000)] + ["c17"]

        def __getitem__(self, name: str) -> Any:
            return _Series()

    class _Series:
        def to_numpy(self) -> Any:
            return np.arange(3)

    with pytest.raises(CheckInputError, match=r"duplicated column names: \['c17'\]"):
        Schema.infer(Frame())


# 4. Equal-size samples whose gaps sum past float64 ---------------------------------------


def test_huge_equal_size_samples_match_scipy() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=300) * 1e307
    cur = rng.normal(size=300) * 1e307
    a, b = sorted_finite(ref), sorted_finite(cur)
    expected = scipy_stats.wasserstein_distance(ref, cur)
    assert wasserstein(a, b) == pytest.approx(expected, rel=1e-12)
    distance, std = wasserstein_and_std(a, b)
    assert distance == pytest.approx(expected, rel=1e-12)
    assert std == population_std(a)


def test_huge_values_are_judged_by_the_drift_check() -> None:
    rng = np.random.default_rng(0)
    ref = {"x": rng.normal(size=300) * 1e307}
    cur = {"x": rng.normal(size=300) * 1e307}
    column = DataDrift(reference=ref, current=cur).run().columns["x"]
    assert column.status.value == "pass"
    assert "1e308" not in column.reason


def test_gaps_summing_past_float64_give_their_mean() -> None:
    # Each gap is 1.7e308; their sum overflows, their mean (the distance) does not.
    a = sorted_finite([-1.7e308, 0.0])
    b = sorted_finite([1.0, 1.7e308])
    assert wasserstein(a, b) == scipy_stats.wasserstein_distance(a, b) == 1.7e308


def test_a_gap_beyond_float64_is_still_refused() -> None:
    a = sorted_finite([-1.7e308, -1.7e308])
    b = sorted_finite([1.7e308, 1.7e308])
    with pytest.raises(CheckInputError, match="overflows float64"):
        wasserstein(a, b)


@pytest.mark.parametrize("seed", range(40))
def test_ordinary_samples_still_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(k) for k in rng.integers(1, 3000, 2))
    if seed % 2:
        m = n  # the equal-size path
    scale = 10.0 ** float(rng.uniform(-200, 200))
    ref = rng.standard_t(3, size=n) * scale
    cur = (rng.standard_t(3, size=m) + float(rng.normal())) * scale
    a, b = sorted_finite(ref), sorted_finite(cur)
    expected = scipy_stats.wasserstein_distance(ref, cur)
    assert wasserstein(a, b) == pytest.approx(expected, rel=1e-11)
    distance, std = wasserstein_and_std(a, b)
    # The fused pass is bit for bit the two functions.
    assert (distance, std) == (wasserstein(a, b), population_std(a))


# 5. Integers beyond 2**53 --------------------------------------------------------------


def test_distinct_integers_that_float64_merges_are_not_called_constant() -> None:
    rng = np.random.default_rng(0)
    base = np.int64(2**62)
    ref = {"key": base + rng.integers(0, 200, 500)}
    cur = {"key": base + 300 + rng.integers(0, 200, 500)}
    with pytest.raises(CheckInputError, match=r"2\*\*53"):
        DataDrift(reference=ref, current=cur).run()
    with pytest.raises(CheckInputError, match=r"2\*\*53"):
        DriftProfile.from_data(ref)


def test_a_truly_constant_large_integer_column_is_still_constant() -> None:
    key = np.full(100, 2**62, dtype=np.int64)
    column = DataDrift(reference={"key": key}, current={"key": key.copy()}).run().columns["key"]
    assert column.status.value == "skip"
    assert column.reason.startswith("constant")


def test_large_integers_that_stay_apart_are_compared() -> None:
    # Nanosecond time stamps: beyond 2**53, but spread far wider than float64's spacing.
    rng = np.random.default_rng(1)
    start = np.int64(1_700_000_000 * 10**9)
    ref = {"t": start + rng.integers(0, 86_400 * 10**9, 500)}
    cur = {"t": start + rng.integers(0, 86_400 * 10**9, 500)}
    assert DataDrift(reference=ref, current=cur).run().columns["t"].status.value == "pass"


# 6. NumPy date-times in an object column of date-times -----------------------------------


def _hours(n: int) -> list[Any]:
    return [datetime.datetime(2020, 1, 1) + datetime.timedelta(hours=i) for i in range(n)]


def _seconds_of(values: list[Any]) -> list[float]:
    column = _tabular.make_column("t", np.array(values, dtype=object), _tabular.ColumnKind.NUMERIC)
    assert column.values is not None
    return [float(v) for v in column.values]


def test_a_numpy_nat_among_datetimes_is_a_missing_value() -> None:
    naive = _hours(10)
    with_nat = _seconds_of([*naive[:-1], np.datetime64("NaT")])
    with_none = _seconds_of([*naive[:-1], None])
    assert with_nat[:-1] == with_none[:-1]
    assert np.isnan(with_nat[-1])
    assert np.isnan(with_none[-1])


def test_a_numpy_datetime_among_datetimes_is_read_as_that_time() -> None:
    naive = _hours(10)
    mixed = _seconds_of([*naive[:-1], np.datetime64("2020-01-02T03:04:05.250")])
    plain = _seconds_of([*naive[:-1], datetime.datetime(2020, 1, 2, 3, 4, 5, 250_000)])
    assert mixed == plain


def test_the_drift_check_takes_a_numpy_nat_among_datetimes() -> None:
    naive = _hours(100)
    ref = np.array([*naive[:-1], np.datetime64("NaT")], dtype=object)
    cur = np.array(naive, dtype=object)
    result = DataDrift(reference={"t": ref}, current={"t": cur}, kinds={"t": "numeric"}).run()
    assert result.columns["t"].status.value == "pass"


def test_a_numpy_datetime_microseconds_cannot_hold_is_refused() -> None:
    values = np.array([datetime.datetime(2020, 1, 1), np.datetime64(10**15, "Y")], dtype=object)
    with pytest.raises(CheckInputError, match=r"datetime64\[us\] cannot hold"):
        _tabular.make_column("t", values, _tabular.ColumnKind.NUMERIC)


# 7. Big-endian datetime64 ----------------------------------------------------------------


def test_a_big_endian_datetime_column_records_the_dtype_name() -> None:
    t = np.datetime64("2020-01-01") + np.arange(100)
    schema = Schema.infer({"t": t.astype(">M8[D]")}, kinds={"t": "numeric"})
    assert schema["t"].dtype == "datetime64[D]"
    result = schema.validate({"t": t})
    assert result.status.value == "pass", result.reason
