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
