"""Review 45 of category labels: 64-bit integers of a nullable type (pandas ``Int64``,
polars, arrow) with a missing value keep their exact labels beyond 2**53, and
``longdouble`` categories are labelled at float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import DataDrift, DriftProfile, PredictionDrift, Schema
from modelship.checks._tabular import as_table

CODES = [2**62 + 1, 2**62 + 3, 2**62 + 5, 9_007_199_254_740_993]
REF = CODES * 25  # 100 rows, 25 of each
CUR = np.array(CODES * 25, dtype=np.int64)
KINDS = {"bucket": "categorical"}
EXACT = {str(code): 25 for code in CODES}


def _counts(data: Any) -> tuple[dict[str, int], int]:
    return as_table({"bucket": data}, kinds=KINDS).columns["bucket"].category_counts()


def _drift(reference: Any) -> Any:
    return DataDrift(reference={"bucket": reference}, current={"bucket": CUR}, kinds=KINDS).run()


def test_pandas_int64_with_missing_keeps_exact_category_labels() -> None:
    reference = pd.array([*REF, None], dtype="Int64")
    counts, missing = _counts(reference)
    assert (counts, missing) == (EXACT, 1)
    assert _counts(np.array([*REF, None], dtype=object)) == (EXACT, 1)
    result = _drift(pd.Series(reference))
    assert result.status.value == "pass", result.columns["bucket"].reason
    assert result.columns["bucket"].details.get("unseen_categories") in (None, {})
    # The same as an object array with None, value for value.
    as_objects = _drift(np.array([*REF, None], dtype=object))
    assert result.columns["bucket"].reason == as_objects.columns["bucket"].reason


def test_pandas_int64_classes_in_prediction_drift_are_exact() -> None:
    reference = pd.Series(pd.array([*REF, None], dtype="Int64"), name="prediction")
    result = PredictionDrift(reference=reference, current=CUR).run()
    assert result.status.value == "pass", result.columns["prediction"].reason


def test_profile_and_schema_of_pandas_int64_hold_the_exact_values() -> None:
    frame = pd.DataFrame({"bucket": pd.array([*REF, None], dtype="Int64")})
    profile = DriftProfile.from_data(frame, kinds=KINDS)
    assert profile.schema.columns[0].categories == tuple(sorted(EXACT))
    validated = Schema.infer(frame, kinds=KINDS).validate({"bucket": CUR})
    assert validated.status.value == "pass", validated.columns["bucket"].reason


def test_pandas_int64_numeric_statistics_unchanged() -> None:
    # Numeric, the same big values read as float64 (as an object array would be).
    reference = pd.Series(pd.array([*REF, None], dtype="Int64"))
    column = as_table({"a": reference}).columns["a"]
    assert column.kind.value == "numeric"
    result = DataDrift(reference={"a": reference}, current={"a": CUR}).run()
    assert result.status.value == "pass", result.columns["a"].reason


def test_small_nullable_integers_stay_float64() -> None:
    # Below 2**53 float64 is exact: the fast array is kept.
    column = as_table({"a": pd.array([1, None, 3], dtype="Int64")}, kinds={"a": "categorical"})
    values = column.columns["a"].values
    assert values.dtype == np.float64
    assert column.columns["a"].category_counts() == ({"1": 1, "3": 1}, 1)


def test_pandas_categorical_of_big_integers_with_missing_is_exact() -> None:
    reference = pd.Series(pd.Categorical([*REF, None]))
    assert _counts(reference) == (EXACT, 1)


def test_polars_int64_and_uint64_with_null_keep_exact_labels() -> None:
    pl = pytest.importorskip("polars")
    reference = pl.Series([*REF, None], dtype=pl.Int64)
    assert _counts(reference) == (EXACT, 1)
    result = _drift(reference)
    assert result.status.value == "pass", result.columns["bucket"].reason
    unsigned = pl.Series([2**64 - 1, 5, None], dtype=pl.UInt64)
    assert _counts(unsigned) == ({"18446744073709551615": 1, "5": 1}, 1)


def test_arrow_int64_with_null_keeps_exact_labels() -> None:
    pa = pytest.importorskip("pyarrow")
    assert _counts(pa.array([*REF, None], type=pa.int64())) == (EXACT, 1)
    assert _counts(pa.chunked_array([pa.array([*REF, None])])) == (EXACT, 1)
    assert _counts(pa.array([*REF, None]).dictionary_encode()) == (EXACT, 1)


def test_longdouble_categories_compare_at_float64() -> None:
    reference = np.array([0.1, 0.2] * 50, dtype=np.longdouble)
    current = np.array([0.1, 0.2] * 50)
    result = DataDrift(
        reference={"a": reference}, current={"a": current}, kinds={"a": "categorical"}
    ).run()
    assert result.status.value == "pass", result.columns["a"].reason
    profile = DriftProfile.from_data({"a": reference}, kinds={"a": "categorical"})
    assert profile.schema.columns[0].categories == ("0.1", "0.2")


def test_integral_longdouble_categories_match_integers() -> None:
    reference = np.array([3.0, 4.0] * 50, dtype=np.longdouble)
    current = np.array([3, 4] * 50)
    result = DataDrift(
        reference={"a": reference}, current={"a": current}, kinds={"a": "categorical"}
    ).run()
    assert result.status.value == "pass", result.columns["a"].reason
    # An object array of longdouble values takes the label path of one value at a time.
    objects = np.empty(3, dtype=object)
    objects[:] = [np.longdouble(3.0), np.longdouble(0.1), None]
    assert as_table({"a": objects}, kinds={"a": "categorical"}).columns["a"].category_counts() == (
        {"0.1": 1, "3": 1},
        1,
    )
