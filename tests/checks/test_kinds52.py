"""Column kinds of messy frames (review 52): typed text with no value, dates, pandas.cut
bands, date-times with and without a time zone, and hints for the command line."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema, _tabular
from modelship.checks._tabular import ColumnKind, as_table, make_column
from modelship.cli import main
from modelship.errors import CheckInputError

N = 200
X = np.random.default_rng(0).normal(size=N)
CODES = np.random.default_rng(1).choice(["A10", "B20"], N)

EMPTY_TEXT: dict[str, Any] = {
    "pandas str": pd.Series([None] * N, dtype="str"),
    "pandas string[pyarrow]": pd.Series(pd.array([None] * N, dtype="string[pyarrow]")),
    "pandas string[python]": pd.Series(pd.array([None] * N, dtype="string[python]")),
    "pandas categorical": pd.Series(pd.Categorical([None] * N, categories=["A10", "B20"])),
    "arrow string": pa.chunked_array([pa.array([None] * N, pa.string())]),
    "arrow dictionary": pa.chunked_array([pa.array([None] * N, pa.string()).dictionary_encode()]),
    "polars String": pl.Series([None] * N, dtype=pl.String),
    "polars Categorical": pl.Series([None] * N, dtype=pl.Categorical),
}


@pytest.mark.parametrize("source", list(EMPTY_TEXT))
def test_typed_text_with_no_value_stays_categorical(source: str) -> None:
    reference = {"coupon": EMPTY_TEXT[source], "x": X}
    current = pd.DataFrame({"coupon": CODES, "x": X})
    schema = Schema.infer(reference)
    assert (schema["coupon"].kind, schema["coupon"].dtype) == (ColumnKind.CATEGORICAL, "str")
    reason = schema.validate(current).columns["coupon"].reason
    assert "kind changed" not in reason
    # The batch that fills it is compared, not refused as text in a numeric column.
    result = DataDrift(reference=reference, current=current).run()
    assert result.columns["coupon"].status.value != "error"


def test_an_object_column_of_none_is_still_numeric() -> None:
    column = make_column("c", np.array([None] * 4, dtype=object))
    assert column.kind is ColumnKind.NUMERIC
    assert make_column("c", pd.Series([None] * 4, dtype="object")).kind is ColumnKind.NUMERIC


def test_text_against_inferred_numbers_does_not_say_declared() -> None:
    reference = {"a": X}
    current = {"a": np.array(["1", "x"] * (N // 2), dtype=object)}
    with pytest.raises(CheckInputError) as caught:
        DataDrift(reference=reference, current=current).run()
    message = str(caught.value)
    assert "declared" not in message
    assert "column 'a' is numeric as the reference holds it but holds 'x'" in message
    assert "--exclude a" in message


def test_text_in_a_declared_numeric_column_still_says_declared() -> None:
    current = {"a": np.array(["1", "x"] * (N // 2), dtype=object)}
    with pytest.raises(CheckInputError, match="column 'a' is declared numeric but holds 'x'"):
        DataDrift(reference={"a": X}, current=current, kinds={"a": "numeric"}).run()


def _dates_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(14)
    days = np.datetime64("2024-01-01") + rng.integers(0, 300, N).astype("timedelta64[D]")
    path = tmp_path / "dates.parquet"
    pq.write_table(pa.table({"day": pa.array(days.astype("datetime64[D]")), "x": X}), path)
    return path


def test_python_dates_are_read_as_arrow_reads_date32(tmp_path: Path) -> None:
    path = _dates_file(tmp_path)
    frame = pd.read_parquet(path)
    assert isinstance(frame["day"].iloc[0], datetime.date)
    result = DataDrift(reference=frame, current=frame).run()
    assert result.columns["day"].status.value == "skip"
    DriftProfile.from_data(frame)
    numeric = {"day": ColumnKind.NUMERIC}
    by_pandas = as_table(frame, kinds=numeric).columns["day"]
    by_arrow = as_table(pq.read_table(path), kinds=numeric).columns["day"]
    assert by_pandas.dtype == by_arrow.dtype == "datetime64[D]"
    np.testing.assert_array_equal(by_pandas.values, by_arrow.values)
    # Across the two readers, the same file is no drift and no schema change.
    arrow = pq.read_table(path)
    assert DataDrift(reference=frame, current=arrow, kinds=numeric).run().status.value == "pass"
    assert Schema.infer(frame, kinds=numeric).validate(arrow).status.value == "pass"


def test_dates_with_a_missing_one_and_among_datetimes() -> None:
    dates = np.array([datetime.date(2024, 1, 2), None], dtype=object)
    column = make_column("d", dates, ColumnKind.NUMERIC)
    assert column.values[0] == 86400 * 19724
    assert np.isnan(column.values[1])
    mixed = np.array([datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 12)])
    assert make_column("d", mixed, ColumnKind.NUMERIC).values.tolist() == [
        1704153600.0,
        1704196800.0,
    ]


def test_pandas_cut_bands_are_read_by_their_labels_as_bias_reads_them() -> None:
    rng = np.random.default_rng(14)
    band = pd.cut(rng.integers(18, 80, N), [0, 30, 50, 100])
    frame = pd.DataFrame({"band": band})
    schema = Schema.infer(frame)
    assert schema["band"].kind is ColumnKind.CATEGORICAL
    assert schema["band"].categories == ("(0, 30]", "(30, 50]", "(50, 100]")
    assert DataDrift(reference=frame, current=frame).run().status.value == "pass"
    DriftProfile.from_data(frame)
    # As objects (not a categorical), the same labels.
    objects = {"band": np.asarray(band.astype(object))}
    assert (
        as_table(objects).columns["band"].category_counts()
        == as_table(frame).columns["band"].category_counts()
    )


def test_a_column_mixing_aware_and_naive_datetimes_is_refused() -> None:
    aware = pd.Timestamp("2024-03-01 10:00", tz="America/New_York")
    values = np.array([aware, pd.Timestamp("2024-03-01 10:00")], dtype=object)
    with pytest.raises(CheckInputError, match=r"column 't' mixes date-times .*tz_localize"):
        make_column("t", values, ColumnKind.NUMERIC)


def test_datetime_zone_of_each_library() -> None:
    aware = pd.Series(pd.date_range("2024-01-01", periods=2, tz="America/New_York"))
    naive = pd.Series(pd.date_range("2024-01-01", periods=2))
    for column, zone in [
        (aware, "America/New_York"),
        (naive, ""),
        (pa.chunked_array([pa.array(aware)]), "America/New_York"),
        (pa.chunked_array([pa.array(naive)]), ""),
        (pl.from_pandas(aware), "America/New_York"),
        (pl.from_pandas(naive), ""),
        (pd.Series([1.0]), None),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), None),
    ]:
        assert _tabular.datetime_zone(column) == zone


def test_an_uncomparable_column_names_both_ways_to_leave_it_out(tmp_path: Path) -> None:
    from decimal import Decimal

    path = tmp_path / "dec.parquet"
    pq.write_table(pa.table({"dec": pa.array([Decimal("1.5")] * N), "x": X}), path)
    with pytest.raises(CheckInputError) as caught:
        DataDrift(reference=pq.read_table(path), current=pq.read_table(path)).run()
    assert "leave it out (exclude=['dec'], --exclude dec)" in str(caught.value)
    with pytest.raises(CheckInputError, match=r"exclude=\['-d'\], --exclude=-d\)"):
        make_column("-d", np.array([1 + 2j]))
    assert (
        main(
            ["check", "drift", "--reference", str(path), "--current", str(path), "--exclude", "dec"]
        )
        == 0
    )
