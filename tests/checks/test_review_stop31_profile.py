"""A profile records a nullable integer column's dtype as Schema.infer does."""

from __future__ import annotations

import pytest

from modelship.checks import DriftProfile, Schema

pd = pytest.importorskip("pandas")


def test_a_profile_records_a_pandas_int64_column_with_a_missing_value_as_int64() -> None:
    # Its values reach numpy as float64; the profile recorded that, Schema.infer int64,
    # so a schema check against the profile saw "dtype changed" on the same data.
    frame = pd.DataFrame({"age": pd.array([31, None, 40, 35], dtype="Int64")})
    assert DriftProfile.from_data(frame).schema["age"].dtype == "int64"
    assert Schema.infer(frame)["age"].dtype == "int64"
    assert DriftProfile.from_data(frame).schema.validate(frame).status.value == "pass"


def test_an_arrow_integer_column_with_a_null_is_int64_for_the_schema() -> None:
    # Read as numpy, the null makes it float64: a schema from a batch with one null said
    # "dtype changed: float64 -> int64" of the next batch without.
    pa = pytest.importorskip("pyarrow")
    with_null = pa.table({"age": pa.array([31, None, 40], type=pa.int64())})
    without = pa.table({"age": pa.array([31, 35, 40], type=pa.int64())})
    assert Schema.infer(with_null)["age"].dtype == "int64"
    assert Schema.infer(with_null).validate(without).status.value == "pass"
    assert DriftProfile.from_data(with_null).schema["age"].dtype == "int64"
