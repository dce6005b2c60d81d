"""``fingerprint`` takes every input the checks take, under the same column names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.checks._tabular import raw_columns

COLUMNS: dict[str, Any] = {
    "age": np.array([31, 45, 27], dtype=np.int64),
    "wage": np.array([12.5, 30.0, 18.25]),
    "city": np.array(["Lyon", "Oslo", "Porto"], dtype=object),
}


@pytest.mark.parametrize(
    "container",
    [
        pytest.param(pd.DataFrame, id="pandas"),
        pytest.param(pl.DataFrame, id="polars"),
        pytest.param(pa.table, id="pyarrow-table"),
        pytest.param(pa.RecordBatch.from_pydict, id="pyarrow-batch"),
        pytest.param(lambda c: pl.DataFrame(c).lazy(), id="polars-lazy"),
    ],
)
def test_the_same_table_in_any_container_has_the_dict_fingerprint(container: Any) -> None:
    data = {k: list(v) for k, v in COLUMNS.items()}
    assert ms.fingerprint(container(data)) == ms.fingerprint(COLUMNS)


def test_a_pyarrow_table_is_fingerprinted_not_a_key_error() -> None:
    table = pa.table({"x": [1, 2]})
    assert ms.fingerprint(table).startswith("sha256:")


def test_a_named_series_is_one_column_under_its_name() -> None:
    frame = pd.DataFrame(COLUMNS)
    assert ms.fingerprint(frame["wage"]) == ms.fingerprint(frame[["wage"]])
    assert ms.fingerprint(pl.DataFrame(COLUMNS)["wage"]) == ms.fingerprint(
        {"wage": COLUMNS["wage"]}
    )


def test_a_series_fingerprint_depends_on_its_name() -> None:
    values = [1.0, 2.0]
    assert ms.fingerprint(pd.Series(values, name="y")) != ms.fingerprint(
        pd.Series(values, name="z")
    )


def test_an_unnamed_series_is_a_plain_array() -> None:
    assert ms.fingerprint(pd.Series([1.0, 2.0])) == ms.fingerprint(np.array([1.0, 2.0]))
    assert ms.fingerprint(pl.Series([1.0, 2.0])) == ms.fingerprint(np.array([1.0, 2.0]))


def test_fingerprint_names_columns_as_the_checks_do() -> None:
    # The checks' column names of each input are the names the fingerprint covers.
    series = pd.Series([1.0, 2.0], name="target")
    assert list(raw_columns(series, what="y")) == ["target"]
    assert ms.fingerprint(series) == ms.fingerprint({"target": [1.0, 2.0]})


def test_register_records_fingerprints_of_arrow_tables_and_series() -> None:
    reg = ms.open_registry("memory://fingerprint-inputs")
    table, y = pa.table({"x": [1, 2]}), pd.Series([0, 1], name="y")
    mv = reg.register(model_name="m", model=b"w", serializer="bytes", data={"train": table, "y": y})
    assert mv.lineage.data == {"train": ms.fingerprint(table), "y": ms.fingerprint(y)}


def test_an_unsupported_object_raises_config_error_naming_what_is_accepted() -> None:
    with pytest.raises(ms.ConfigError, match="pyarrow table"):
        ms.fingerprint(object())


@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=20))
def test_integer_columns_match_across_pandas_polars_and_arrow(values: list[int]) -> None:
    expected = ms.fingerprint({"v": np.array(values, dtype=np.int64)})
    for table in (
        pd.DataFrame({"v": values}),
        pl.DataFrame({"v": values}),
        pa.table({"v": values}),
    ):
        assert ms.fingerprint(table) == expected
