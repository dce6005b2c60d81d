"""Tabular input without pandas: arrays, dicts, structured arrays, data frames by duck typing."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelship.checks import ColumnKind
from modelship.checks._tabular import as_table
from modelship.errors import CheckInputError, ColumnMismatch, EmptyData

NUMERIC = ColumnKind.NUMERIC
CATEGORICAL = ColumnKind.CATEGORICAL


def test_a_2d_array_takes_the_names_given() -> None:
    table = as_table(np.zeros((3, 2)), columns=["age", "income"])
    assert list(table.columns) == ["age", "income"]


def test_a_2d_array_without_names_is_numbered() -> None:
    assert list(as_table(np.zeros((3, 2))).columns) == ["0", "1"]


def test_a_2d_array_column_is_a_view_not_a_copy() -> None:
    data = np.arange(6.0).reshape(3, 2)
    assert np.shares_memory(as_table(data).columns["1"].values, data)


def test_wrong_number_of_names_for_a_2d_array_raises_column_mismatch() -> None:
    with pytest.raises(ColumnMismatch, match="2 columns but 3 names"):
        as_table(np.zeros((3, 2)), columns=["a", "b", "c"])


def test_a_dict_of_arrays_keeps_its_order_and_kinds() -> None:
    table = as_table({"plan": np.array(["a", "b"]), "age": np.array([1, 2])})
    assert table.kinds == {"plan": CATEGORICAL, "age": NUMERIC}


def test_a_structured_array_gives_its_fields() -> None:
    data = np.array([(1.5, b"x"), (2.5, b"y")], dtype=[("score", "f8"), ("tag", "S1")])
    table = as_table(data)
    assert table.kinds == {"score": NUMERIC, "tag": CATEGORICAL}
    assert table.columns["tag"].category_counts() == ({"x": 1, "y": 1}, 0)


def test_columns_selects_and_orders_named_input() -> None:
    table = as_table({"a": [1], "b": [2], "c": [3]}, columns=["c", "a"])
    assert list(table.columns) == ["c", "a"]


def test_selecting_an_absent_column_raises_column_mismatch_naming_it() -> None:
    with pytest.raises(ColumnMismatch, match="'zip'"):
        as_table({"a": [1]}, what="current", columns=["zip"])


class FakeSeries:
    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def to_numpy(self) -> np.ndarray[Any, Any]:
        return np.array(self._values, dtype=object)


class FakeFrame:
    """What modelship relies on in a pandas or polars frame: .columns, [name], .to_numpy()."""

    def __init__(self, data: dict[Any, list[Any]]) -> None:
        self._data = data
        self.columns = list(data)

    def __getitem__(self, name: Any) -> FakeSeries:
        return FakeSeries(self._data[name])


def test_a_frame_is_read_by_duck_typing() -> None:
    table = as_table(FakeFrame({"age": [31, None, 40], "plan": ["a", float("nan"), "b"]}))
    assert table.kinds == {"age": NUMERIC, "plan": CATEGORICAL}
    assert np.isnan(table.columns["age"].values[1])
    assert table.columns["plan"].category_counts() == ({"a": 1, "b": 1}, 1)


def test_frame_column_labels_become_strings() -> None:
    assert list(as_table(FakeFrame({0: [1.0], 1: [2.0]})).columns) == ["0", "1"]


def test_pandas_frames_work_when_pandas_is_installed() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "age": pd.array([30, None, 41], dtype="Int64"),
            "plan": pd.Categorical(["a", None, "b"]),
            "score": [0.1, 0.2, float("nan")],
            "name": pd.array(["x", None, "y"], dtype="string"),
        }
    )
    table = as_table(frame)
    assert table.kinds == {
        "age": NUMERIC,
        "plan": CATEGORICAL,
        "score": NUMERIC,
        "name": CATEGORICAL,
    }
    assert table.columns["age"].counts_of_special() == (1, 0)
    assert table.columns["plan"].category_counts() == ({"a": 1, "b": 1}, 1)
    assert table.columns["name"].category_counts() == ({"x": 1, "y": 1}, 1)


def test_pyarrow_tables_work_when_pyarrow_is_installed() -> None:
    pa = pytest.importorskip("pyarrow")
    table = as_table(pa.table({"x": [1.0, None], "c": ["a", None]}))
    assert table.kinds == {"x": NUMERIC, "c": CATEGORICAL}
    assert table.columns["c"].category_counts() == ({"a": 1}, 1)


def test_kinds_override_the_dtype() -> None:
    table = as_table({"zip": np.array([1000, 2000, 1000])}, kinds={"zip": CATEGORICAL})
    assert table.columns["zip"].category_counts() == ({"1000": 2, "2000": 1}, 0)


def test_few_distinct_values_make_a_numeric_column_categorical_when_asked() -> None:
    data = {"rooms": np.array([1, 2, 3, 2, 1]), "price": np.arange(5.0)}
    table = as_table(data, categorical_max_unique=3)
    assert table.kinds == {"rooms": CATEGORICAL, "price": NUMERIC}


def test_integral_floats_and_ints_give_the_same_category_labels() -> None:
    ints = as_table({"c": np.array([1, 2])}, kinds={"c": CATEGORICAL}).columns["c"]
    floats = as_table({"c": np.array([1.0, 2.0, np.nan])}, kinds={"c": CATEGORICAL}).columns["c"]
    assert ints.category_counts()[0] == floats.category_counts()[0] == {"1": 1, "2": 1}


def test_booleans_are_categorical() -> None:
    assert as_table({"flag": np.array([True, False])}).kinds == {"flag": CATEGORICAL}


def test_text_declared_numeric_is_parsed_when_it_holds_numbers() -> None:
    column = as_table({"x": np.array(["1.5", "2"])}, kinds={"x": NUMERIC}).columns["x"]
    assert column.values.tolist() == [1.5, 2.0]


def test_non_numeric_text_declared_numeric_raises_naming_column_and_value() -> None:
    with pytest.raises(CheckInputError, match=r"column 'x' is declared numeric but holds 'abc'"):
        as_table({"x": np.array(["1.5", "abc"], dtype=object)}, kinds={"x": NUMERIC})


def test_an_object_column_mixing_strings_and_numbers_raises_naming_the_column() -> None:
    with pytest.raises(
        CheckInputError, match=r"reference: column 'mixed' mixes real \(3\) and str"
    ):
        as_table({"mixed": np.array(["a", 3, None], dtype=object)}, what="reference")


def test_unsupported_values_raise_naming_the_column() -> None:
    with pytest.raises(CheckInputError, match="column 'when' holds values of type dict"):
        as_table({"when": np.array([{}, {}], dtype=object)})


def test_a_table_of_only_datetime_columns_not_declared_numeric_raises_naming_them() -> None:
    with pytest.raises(EmptyData, match="'day': datetime column left out; declare kinds="):
        as_table({"day": np.array(["2024-01-01"], dtype="datetime64[D]")})


def test_timedelta_columns_raise_naming_the_column() -> None:
    with pytest.raises(CheckInputError, match="column 'wait' has dtype timedelta64"):
        as_table({"wait": np.array([1, 2], dtype="timedelta64[s]")})


def test_no_rows_raises_empty_data() -> None:
    with pytest.raises(EmptyData, match="current has no rows"):
        as_table({"a": np.array([])}, what="current")


def test_no_columns_raises_empty_data() -> None:
    with pytest.raises(EmptyData, match="no columns"):
        as_table({})


def test_columns_of_different_lengths_raise_naming_the_column() -> None:
    with pytest.raises(CheckInputError, match="column 'b' of data has 1 rows"):
        as_table({"a": [1, 2], "b": [1]})


def test_a_2d_value_in_a_dict_raises_naming_the_column() -> None:
    with pytest.raises(CheckInputError, match="column 'a' of data must be 1-D"):
        as_table({"a": np.zeros((2, 2))})


def test_duplicated_names_of_a_2d_array_raise() -> None:
    with pytest.raises(CheckInputError, match=r"duplicated column names: \['a'\]"):
        as_table(np.zeros((1, 2)), columns=["a", "a"])


def test_frame_labels_equal_as_strings_raise() -> None:
    with pytest.raises(CheckInputError, match="duplicated"):
        as_table(FakeFrame({1: [1.0], "1": [2.0]}))


# --- properties --------------------------------------------------------------------------

float_columns = hnp.arrays(
    np.float64,
    st.integers(1, 30),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
)
label_columns = st.lists(st.one_of(st.none(), st.text(max_size=4)), min_size=1, max_size=30)


@given(float_columns)
def test_any_float_column_keeps_its_values_and_counts_missing_and_infinite(
    values: np.ndarray[Any, Any],
) -> None:
    column = as_table({"x": values}).columns["x"]
    assert column.kind is NUMERIC
    assert column.values is values
    assert column.counts_of_special() == (int(np.isnan(values).sum()), int(np.isinf(values).sum()))


@given(label_columns)
def test_any_text_column_counts_every_category_and_missing_value(labels: list[str | None]) -> None:
    column = as_table({"c": np.array(labels, dtype=object)}).columns["c"]
    counts, missing = column.category_counts()
    present = [label for label in labels if label is not None]
    assert missing == labels.count(None)
    assert counts == {label: present.count(label) for label in sorted(set(present))}


@given(st.data())
def test_the_same_data_as_dict_2d_array_and_structured_array_gives_the_same_table(
    data: st.DataObject,
) -> None:
    rows = data.draw(st.integers(1, 10))
    matrix = data.draw(hnp.arrays(np.float64, (rows, 3), elements=st.floats(-1e6, 1e6)))
    names = ["a", "b", "c"]
    structured = np.zeros(rows, dtype=[(n, "f8") for n in names])
    for j, name in enumerate(names):
        structured[name] = matrix[:, j]
    tables = [
        as_table(matrix, columns=names),
        as_table({n: matrix[:, j] for j, n in enumerate(names)}),
        as_table(structured),
    ]
    for table in tables[1:]:
        assert list(table.columns) == names
        for name in names:
            np.testing.assert_array_equal(
                table.columns[name].values, tables[0].columns[name].values
            )


def _datetimes_by_every_value(values: np.ndarray[Any, Any]) -> bool:
    """The rule, read from every value: some are present and every present one is a
    date-time (the check decides it at the first value that is not)."""
    from modelship._columns import is_missing as _is_missing

    present = [value for value in values.tolist() if not _is_missing(value)]
    return bool(present) and all(isinstance(value, datetime.datetime) for value in present)


@given(
    st.lists(
        st.sampled_from(
            [
                None,
                float("nan"),
                "a",
                3,
                datetime.datetime(2024, 1, 1),
                datetime.datetime(2021, 5, 6, 7),
            ]
        ),
        min_size=1,
        max_size=12,
    )
)
def test_an_object_column_is_datetimes_exactly_when_every_present_value_is_one(
    values: list[Any],
) -> None:
    import pandas as pd

    from modelship.checks._tabular import _datetimes

    for cells in (values, [pd.NaT if v is None else v for v in values]):
        array = np.empty(len(cells), dtype=object)
        array[:] = cells
        assert (_datetimes(array) is not None) == _datetimes_by_every_value(array)
