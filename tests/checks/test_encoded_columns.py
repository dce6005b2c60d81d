"""Text and categories from pandas, polars and arrow are counted by their codes.

Every case compares the column made from codes with the column made from the same
data read as an array (the route every other input takes): same kind, same dtype, same
counts, same missing count, and the same drift result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship._columns import Encoded, column_array, encoded_column
from modelship.checks import DataDrift, Schema
from modelship.checks._tabular import ColumnKind, as_table, make_column, raw_columns
from modelship.errors import CheckInputError

LABELS = ["a", "b", "c", "10", "1.5", "é", ""]
# None, NaN and pd.NA are all missing values; each library keeps the ones it can hold.
cells = st.lists(st.one_of(st.sampled_from(LABELS), st.none()), min_size=1, max_size=60)


def forms(values: list[str | None]) -> dict[str, Any]:
    """The same column in every form that is read by its codes."""
    categories = sorted({v for v in values if v is not None} | {"unused"})
    half = len(values) // 2
    return {
        "pandas object": pd.Series(values, dtype=object),
        "pandas object, NaN": pd.Series(
            [math.nan if v is None else v for v in values], dtype=object
        ),
        "pandas string": pd.Series(values, dtype="string"),
        "pandas category": pd.Series(pd.Categorical(values, categories=categories)),
        "pandas Categorical": pd.Categorical(values, categories=categories),
        "arrow string": pa.array(values, type=pa.string()),
        "arrow large_string": pa.array(values, type=pa.large_string()),
        "arrow dictionary": pa.array(values, type=pa.string()).dictionary_encode(),
        # Two chunks with different dictionaries, one holding a null entry.
        "arrow chunked dictionary": pa.chunked_array(
            [
                pa.array(values[:half], type=pa.string()).dictionary_encode(),
                pa.DictionaryArray.from_arrays(
                    pa.array(list(range(len(values) - half)), type=pa.int32()),
                    pa.array(values[half:], type=pa.string()),
                ),
            ]
        ),
        # Two chunks sharing one dictionary (slices of one array), nulls included.
        "arrow chunks of one dictionary": pa.chunked_array(
            [
                pa.array(values, type=pa.string()).dictionary_encode().slice(0, half),
                pa.array(values, type=pa.string()).dictionary_encode().slice(half),
            ]
        ),
        "polars String": pl.Series("x", values, dtype=pl.String),
        "polars Categorical": pl.Series("x", values, dtype=pl.Categorical),
        "polars Enum": pl.Series("x", values, dtype=pl.Enum(categories)),
    }


def as_array_column(value: Any, kind: ColumnKind | None = None) -> Any:
    return make_column("x", column_array(value), kind)


@settings(max_examples=40, deadline=None)
@given(cells)
def test_a_column_counted_by_its_codes_matches_it_read_as_an_array(
    values: list[str | None],
) -> None:
    for form, value in forms(values).items():
        encoded = encoded_column(value)
        assert encoded is not None, form
        column = make_column("x", encoded)
        if all(v is None for v in values) and not form.startswith("pandas object"):
            # No value to read a kind from: the library's text type says categorical
            # (review 52i), where the same cells as a plain array say nothing.
            assert (column.kind, column.dtype) == (ColumnKind.CATEGORICAL, "str"), form
            assert column.category_counts() == ({}, len(values)), form
            continue
        expected = as_array_column(value)
        assert (column.kind, column.dtype) == (expected.kind, expected.dtype), form
        if expected.kind is ColumnKind.CATEGORICAL:
            assert column.encoded is encoded, form  # counted by its codes, not read
            assert column.category_counts() == expected.category_counts(), form
        assert len(column) == len(values), form


def test_counts_come_from_the_codes_and_the_values_are_read_only_when_asked() -> None:
    series = pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "zz"]))
    column = as_table({"x": series}).columns["x"]
    assert column.encoded is not None
    assert column.category_counts() == ({"a": 1, "b": 2}, 1)
    assert column._values is None  # nothing read the values yet
    assert column.values.tolist()[::2] == ["b", "a"]
    assert math.isnan(column.values[1])


@pytest.mark.parametrize("n_categories", [3, 200, 40_000])
def test_categoricals_of_every_code_width_count_alike(n_categories: int) -> None:
    rng = np.random.default_rng(n_categories)
    labels = np.array([f"c{i}" for i in range(n_categories)], dtype=object)
    codes = rng.integers(-1, n_categories, size=5_000)
    series = pd.Series(pd.Categorical.from_codes(codes, categories=labels))
    column = make_column("x", encoded_column(series))
    assert column.encoded is not None
    assert column.category_counts() == as_array_column(series).category_counts()


@pytest.mark.parametrize(
    "value",
    [
        pd.Series([1, 2, 2], dtype=object),
        pd.Series([True, False, None], dtype=object),
        pd.Series(pd.Categorical([1.5, 2.5, None])),
        pd.Series(pd.Categorical([3, 4, 4])),
        pd.Series([None, None], dtype=object),
        pa.array([None, None], type=pa.null()),
        pa.array([1, 2, 2]).dictionary_encode(),
    ],
    ids=[
        "ints",
        "bools",
        "float categories",
        "int categories",
        "all missing",
        "arrow nulls",
        "arrow ints",
    ],
)
def test_columns_of_anything_but_text_are_read_as_arrays(value: Any) -> None:
    raw = raw_columns({"x": value}, what="data", encode=True)["x"]
    column = make_column("x", raw)
    expected = as_array_column(value)
    assert column.encoded is None
    assert (column.kind, column.dtype) == (expected.kind, expected.dtype)
    if expected.kind is ColumnKind.CATEGORICAL:
        assert column.category_counts() == expected.category_counts()


def test_a_mix_of_text_and_numbers_gives_the_array_routes_error() -> None:
    value = pd.Series(["a", 3, "b"], dtype=object)
    with pytest.raises(CheckInputError) as from_codes:
        make_column("x", encoded_column(value))
    with pytest.raises(CheckInputError) as from_array:
        as_array_column(value)
    assert str(from_codes.value) == str(from_array.value)


def test_text_declared_numeric_is_converted_from_its_values() -> None:
    column = make_column("x", encoded_column(pd.Series(["1.5", None, "2"])), ColumnKind.NUMERIC)
    assert column.encoded is None
    np.testing.assert_array_equal(column.values, [1.5, np.nan, 2.0])


def test_codes_out_of_range_are_not_trusted() -> None:
    # Codes that name no label: counted from the values instead, not indexed blindly.
    bad = Encoded(np.array([0, 5, 0]), np.array(["a"], dtype=object), ["a", "b", "a"])
    column = make_column("x", bad)
    assert column.encoded is None
    assert column.category_counts() == ({"a": 2, "b": 1}, 0)
    negative = Encoded(np.array([0, -3], dtype=np.int64), np.array(["a"], dtype=object), ["a", "z"])
    assert make_column("x", negative).category_counts() == ({"a": 1, "z": 1}, 0)
    # 8-bit codes: -1 is a missing value, -2 is no code at all.
    narrow = Encoded(
        np.array([0, -1, -2], dtype=np.int8), np.array(["a"], dtype=object), ["a", None, "q"]
    )
    assert make_column("x", narrow).encoded is None
    assert make_column("x", narrow).category_counts() == ({"a": 1, "q": 1}, 1)


def test_a_library_whose_interface_differs_is_read_as_an_array() -> None:
    class Odd:
        """Looks like a pandas text column, but its factorize() fails."""

        __module__ = "pandas.core.series"
        dtype = np.dtype(object)
        ndim = 1

        def factorize(self, **_: Any) -> Any:
            raise AttributeError("not this version's API")

    assert encoded_column(Odd()) is None


def test_drift_on_frames_gives_the_result_of_the_same_data_as_arrays() -> None:
    rng = np.random.default_rng(7)
    labels = np.array(["red", "green", "blue", "grey"], dtype=object)
    ref = labels[rng.integers(0, 4, 2_000)]
    cur = labels[rng.choice(4, 2_000, p=[0.4, 0.3, 0.2, 0.1])]
    cur[::17] = None
    as_arrays = DataDrift(reference={"colour": ref}, current={"colour": cur}).run()
    frames = {
        "pandas category": (
            pd.DataFrame({"colour": pd.Categorical(ref)}),
            pd.DataFrame({"colour": pd.Categorical(cur)}),
        ),
        "pandas object": (pd.DataFrame({"colour": ref}), pd.DataFrame({"colour": cur})),
        "arrow": (pa.table({"colour": ref.tolist()}), pa.table({"colour": cur.tolist()})),
        "polars": (
            pl.DataFrame({"colour": ref.tolist()}),
            pl.DataFrame({"colour": cur.tolist()}, schema={"colour": pl.Categorical}),
        ),
    }
    for form, (reference, current) in frames.items():
        result = DataDrift(reference=reference, current=current).run()
        assert result.to_dict() == as_arrays.to_dict(), form
    assert as_arrays.columns["colour"].status.value in ("warn", "fail")


def test_a_schema_from_arrays_accepts_the_same_text_as_a_categorical() -> None:
    schema = Schema.infer({"colour": np.array(["red", "blue", None], dtype=object)})
    current = pd.DataFrame({"colour": pd.Categorical(["red", "blue", "teal"])})
    result = schema.check(current).run()
    finding = result.columns["colour"]
    assert "dtype_changed" not in str(finding.details)
    assert finding.details.get("new_categories") == ["teal"]


def test_an_arrow_chunked_dictionary_holding_a_null_entry_reads_as_an_array() -> None:
    # arrow's own ChunkedArray.to_numpy() raises "Cannot yet unify dictionaries with nulls".
    value = pa.chunked_array(
        [
            pa.array(["a"]).dictionary_encode(),
            pa.DictionaryArray.from_arrays(
                pa.array([0, 1], type=pa.int32()), pa.array([None, "b"])
            ),
        ]
    )
    assert column_array(value).tolist() == ["a", None, "b"]
    assert as_table({"x": value}).columns["x"].category_counts() == ({"a": 1, "b": 1}, 1)


def test_an_object_column_of_datetimes_is_left_out_as_an_array_would_be() -> None:
    from datetime import datetime

    stamps = pd.Series([datetime(2024, 1, 1), None, datetime(2024, 3, 1)], dtype=object)
    table = as_table({"when": stamps, "x": [1.0, 2.0, 3.0]})
    assert "when" in table.left_out
    declared = as_table({"when": stamps}, kinds={"when": ColumnKind.NUMERIC}).columns["when"]
    epoch_seconds = (datetime(2024, 1, 1) - datetime(1970, 1, 1)).total_seconds()
    assert declared.values[0] == epoch_seconds  # naive times are taken as UTC


# --- bias: sensitive features read by their codes --------------------------------------------


def _bias_data(n: int = 3_000) -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(11)
    y_true = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < np.where(y_true == 1, 0.7, 0.3)).astype(int)
    groups = np.array(["north", "south", "east"], dtype=object)[rng.integers(0, 3, n)]
    tier = np.array(["gold", "basic"], dtype=object)[rng.integers(0, 2, n)]
    return y_true, y_pred, groups, tier


def test_bias_on_frames_gives_the_result_of_the_same_data_as_arrays() -> None:
    from modelship.checks import Bias

    y_true, y_pred, groups, tier = _bias_data()
    as_arrays = Bias(y_true=y_true, y_pred=y_pred, sensitive={"region": groups, "tier": tier}).run()
    half = len(groups) // 2
    forms = {
        "pandas category": pd.DataFrame(
            {"region": pd.Categorical(groups), "tier": pd.Categorical(tier, ["gold", "basic", "x"])}
        ),
        "pandas text": pd.DataFrame({"region": groups, "tier": tier}),
        "arrow, chunks of two dictionaries": pa.table(
            {
                "region": pa.chunked_array(
                    [
                        pa.array(groups[:half].tolist()).dictionary_encode(),
                        pa.array(groups[half:].tolist()).dictionary_encode(),
                    ]
                ),
                "tier": pa.array(tier.tolist()),
            }
        ),
        "polars": pl.DataFrame(
            {"region": groups.tolist(), "tier": tier.tolist()},
            schema={"region": pl.Categorical, "tier": pl.String},
        ),
    }
    for form, sensitive in forms.items():
        result = Bias(y_true=y_true, y_pred=y_pred, sensitive=sensitive).run()
        assert result.to_dict() == as_arrays.to_dict(), form
    one = Bias(
        y_true=y_true, y_pred=y_pred, sensitive=pd.Series(pd.Categorical(groups), name="region")
    )
    alone = Bias(y_true=y_true, y_pred=y_pred, sensitive={"region": groups})
    assert one.run().to_dict() == alone.run().to_dict()


def test_bias_codes_the_groups_from_the_codes() -> None:
    from modelship.checks.stats._fairness import factorize

    _, _, groups, _ = _bias_data(50)
    codes, labels = factorize(
        encoded_column(pd.Series(pd.Categorical(groups, ["south", "north", "east", "none"])))
    )
    expected_codes, expected_labels = factorize(groups)
    assert labels == expected_labels == ("east", "north", "south")
    np.testing.assert_array_equal(codes, expected_codes)


def test_bias_with_a_missing_group_gives_the_array_routes_error() -> None:
    from modelship.checks import Bias

    y_true, y_pred, groups, _ = _bias_data(40)
    groups = groups.copy()
    groups[3] = None
    messages = []
    for sensitive in ({"region": groups}, pd.DataFrame({"region": pd.Categorical(groups)})):
        with pytest.raises(CheckInputError) as caught:
            Bias(y_true=y_true, y_pred=y_pred, sensitive=sensitive).run()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "1 missing values" in messages[0]


def test_prediction_drift_on_series_gives_the_result_of_the_same_arrays() -> None:
    from modelship.checks import PredictionDrift

    rng = np.random.default_rng(5)
    classes = np.array(["cat", "dog", "fish"], dtype=object)
    ref, cur = classes[rng.integers(0, 3, 800)], classes[rng.choice(3, 800, p=[0.5, 0.3, 0.2])]
    as_arrays = PredictionDrift(reference=ref, current=cur).run().to_dict()
    for form in (pd.Series, lambda v: pd.Series(pd.Categorical(v)), pa.array):
        series = PredictionDrift(reference=form(ref.tolist()), current=form(cur.tolist())).run()
        assert series.to_dict()["columns"]["prediction"] == as_arrays["columns"]["prediction"]
    # Categories that are numbers read as their array would: floats are scores (numeric).
    scores = [0.25, 0.5, 0.75]
    ref_scores = pd.Series(pd.Categorical(np.array(scores)[rng.integers(0, 3, 800)]))
    cur_scores = pd.Series(pd.Categorical(np.array(scores)[rng.integers(0, 3, 800)]))
    result = PredictionDrift(reference=ref_scores, current=cur_scores).run()
    assert result.columns["prediction"].kind == "numeric"
