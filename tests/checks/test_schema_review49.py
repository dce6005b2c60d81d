"""Schema defects found in review 49: NaN in a list of text, 64-bit integers past 2**53
with a missing value, and hand-edited ranges that switched the range check off."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from modelship._columns import column_array
from modelship.checks import ColumnSchema, DataDrift, DriftProfile, Schema
from modelship.errors import CheckInputError, ConfigError

NAN = float("nan")

# -- 1. A float NaN in a list of text is a missing value, not the category 'nan' ----------


@pytest.mark.parametrize("missing", [NAN, np.nan, None])
def test_list_of_text_with_nan_reads_as_missing(missing: Any) -> None:
    array = column_array(["basic", missing, "pro"])
    assert array.dtype == object
    assert array[1] is missing


def test_list_of_text_alone_stays_a_text_array() -> None:
    assert column_array(["basic", "pro"]).dtype.kind == "U"
    assert column_array((b"a", b"b")).dtype.kind == "S"


def test_list_of_text_mostly_nan_is_the_blocking_missing_rate() -> None:
    reference = {"plan": ["basic", "pro"] * 50}
    current = {"plan": ["basic"] * 10 + [NAN] * 90}
    result = Schema.infer(reference).validate(current)
    assert result.status.value == "fail"
    assert "max_missing_rate" in result.columns["plan"].reason
    assert "new categories" not in result.columns["plan"].reason
    drift = DataDrift(reference=reference, current=current).run()
    assert "unseen categories" not in drift.columns["plan"].reason
    assert "missing or non-finite rate" in drift.columns["plan"].reason


def test_schema_inferred_from_list_with_nan_records_no_nan_category() -> None:
    schema = Schema.infer({"plan": ["basic", NAN, "pro", "basic"]})
    assert schema["plan"].categories == ("basic", "pro")
    assert schema["plan"].null_rate == 0.25


def test_list_mixing_text_and_numbers_is_refused_as_an_object_array_is() -> None:
    with pytest.raises(CheckInputError, match="mixes"):
        Schema.infer({"plan": ["basic", 3, "pro"]})


# -- 2. uint64 values near 2**64 with a missing value -------------------------------------

M = 2**64 - 1


def _uint64_frames() -> dict[str, Any]:
    frames: dict[str, Any] = {}
    pd = pytest.importorskip("pandas")
    frames["pandas"] = pd.DataFrame({"h": pd.array([M, 7, None], dtype="UInt64")})
    pa = pytest.importorskip("pyarrow")
    frames["arrow"] = pa.table({"h": pa.array([M, 7, None], type=pa.uint64())})
    pl = pytest.importorskip("polars")
    frames["polars"] = pl.DataFrame({"h": pl.Series([M, 7, None], dtype=pl.UInt64)})
    return frames


@pytest.mark.parametrize("library", ["pandas", "arrow", "polars"])
def test_uint64_max_with_a_missing_value_is_inferred_and_profiled(library: str) -> None:
    data = _uint64_frames()[library]
    schema = Schema.infer(data)
    assert (schema["h"].minimum, schema["h"].maximum) == (7, M)
    profile = DriftProfile.from_data(data)
    assert profile.schema["h"].maximum == M
    assert DriftProfile.from_json(profile.to_json()).schema == profile.schema
    assert schema.validate({"h": np.array([M, 7, 8], dtype=np.uint64)}).status.value == "pass"


def test_rounded_integer_bound_is_widened_and_kept_within_the_dtype() -> None:
    from modelship.checks._schema import _range_bound

    assert _range_bound(2.0**64, "uint64", 1) == M
    assert _range_bound(2.0**63, "int64", 1) == 2**63 - 1
    low = _range_bound(2.0**62 + 1024, "int64", -1)
    high = _range_bound(2.0**62 + 1024, "int64", 1)
    assert isinstance(low, int)
    assert isinstance(high, int)
    # Every integer that rounds to the float is inside, and the bounds round to it.
    assert low <= 2**62 + 1000
    assert high >= 2**62 + 1500
    assert float(low) == float(high) == 2.0**62 + 1024


# -- 3. Nullable 64-bit integers past 2**53: the range from the exact integers ------------

IDS = [2**62 + 1000, 2**62 + 1100, 2**62 + 1200, 2**62 + 1300]


def _nullable(values: list[Any]) -> dict[str, Any]:
    forms: dict[str, Any] = {"list": {"id": values}}
    pd = pytest.importorskip("pandas")
    forms["pandas"] = pd.DataFrame({"id": pd.array(values, dtype="Int64")})
    pa = pytest.importorskip("pyarrow")
    forms["arrow"] = pa.table({"id": pa.array(values, type=pa.int64())})
    pl = pytest.importorskip("polars")
    forms["polars"] = pl.DataFrame({"id": pl.Series(values, dtype=pl.Int64)})
    return forms


@pytest.mark.parametrize("form", ["list", "pandas", "arrow", "polars"])
def test_nullable_big_integers_record_their_exact_range(form: str) -> None:
    schema = Schema.infer(_nullable([*IDS, None])[form])
    assert schema["id"].dtype == "int64"
    assert (schema["id"].minimum, schema["id"].maximum) == (min(IDS), max(IDS))
    same = schema.validate({"id": np.array(IDS, dtype=np.int64)})
    assert same.status.value == "pass", same.columns["id"].reason


@pytest.mark.parametrize("form", ["list", "pandas", "arrow", "polars"])
def test_nullable_big_integers_are_compared_exactly(form: str) -> None:
    schema = Schema.infer({"id": np.array([2**62, 2**62 + 10])})
    shifted = _nullable([2**62 + 100, 2**62 + 500, None])[form]
    result = schema.validate(shifted, null_rate_tolerance=1.0)
    assert "outside" in result.columns["id"].reason
    assert result.columns["id"].details["out_of_range_share"] == 1.0


def test_nullable_big_integers_profile_reads_back() -> None:
    profile = DriftProfile.from_data({"id": [*IDS, None]})
    assert profile.schema["id"].maximum == max(IDS)
    assert DriftProfile.from_json(profile.to_json()) == profile


# -- 4. A hand-edited range that would switch the range check off -------------------------


def _document(**edit: Any) -> str:
    base = json.loads(Schema.infer({"age": [20, 30, 40, 50]}).to_json())
    base["columns"][0].update(edit)
    return json.dumps(base)


@pytest.mark.parametrize("bound", ["minimum", "maximum"])
def test_one_range_bound_left_out_is_refused(bound: str) -> None:
    with pytest.raises(ConfigError, match=f"{bound!r} None but not the other bound"):
        Schema.from_json(_document(**{bound: None}))
    with pytest.raises(ConfigError, match="infer the schema again"):
        ColumnSchema(
            name="x", kind="numeric", dtype="int64", nullable=False, null_rate=0.0, minimum=1
        )


def test_no_range_with_finite_values_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"no 'minimum' nor 'maximum'.*infer the schema"):
        Schema.from_json(_document(minimum=None, maximum=None))
    with pytest.raises(ConfigError, match="below 1"):
        ColumnSchema(name="x", kind="numeric", dtype="float64", nullable=True, null_rate=0.5)


def test_no_range_when_no_value_was_finite_is_accepted() -> None:
    for data in ([None, None, None], [np.inf, np.nan, np.nan], [np.inf] * 3):
        column = Schema.infer({"x": np.array(data, dtype=float)})["x"]
        assert column.minimum is None
        assert column.maximum is None
        assert ColumnSchema.from_dict(column.to_dict()) == column
    # Shares that sum to 1 only up to rounding: 1/3 missing and 2/3 infinite.
    ColumnSchema(
        name="x", kind="numeric", dtype="float64", nullable=True, null_rate=1 / 3, inf_rate=2 / 3
    )
