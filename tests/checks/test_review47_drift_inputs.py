"""Review 47 of the drift checks' inputs: an arrow ``string_view`` column's nulls are
missing values, as in every other text column; different byte strings that are not UTF-8
stay different categories; a profile whose numeric ``dtype`` was edited is refused on
read; a column of date strings with a time zone is flagged without a raw warning.

These tests also run on NumPy 1.26 with pyarrow < 22 (noxfile.py NUMPY1_TESTS): arrow
is imported per test, and the string_view tests skip only where pyarrow has no such type.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema, Status
from modelship.errors import ConfigError

VALUES = ["x", None, "", "x", "y", "", None, "y", "x", "z"]


def _arrow() -> Any:
    return pytest.importorskip("pyarrow")


def _string_view(pa: Any) -> Any:
    if not hasattr(pa, "string_view"):
        pytest.skip(f"pyarrow {pa.__version__} has no string_view type (added in pyarrow 16)")
    return pa.string_view()


def _text_types(pa: Any) -> list[Any]:
    types = [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())]
    return [*types, pa.string_view()] if hasattr(pa, "string_view") else types


def _arrow_column(pa: Any, values: list[Any], arrow_type: Any) -> Any:
    if pa.types.is_dictionary(arrow_type):
        return pa.array(values, pa.string()).dictionary_encode()
    return pa.array(values, arrow_type)


# --- 1. arrow string_view: a null is a missing value, not the category "" ---------------


def test_string_view_nulls_are_missing_as_in_a_numpy_object_array() -> None:
    pa = _arrow()
    view = DriftProfile.from_data(pa.table({"a": pa.array(VALUES, _string_view(pa))}))
    plain = DriftProfile.from_data({"a": np.array(VALUES, dtype=object)})
    assert view.categorical["a"] == plain.categorical["a"]
    assert view.categorical["a"].n_missing == 2
    assert view.schema["a"].null_rate == pytest.approx(0.2)


def test_every_arrow_text_type_profiles_as_the_numpy_object_array() -> None:
    pa = _arrow()
    plain = DriftProfile.from_data({"a": np.array(VALUES, dtype=object)}).categorical["a"]
    for arrow_type in _text_types(pa):
        column = _arrow_column(pa, VALUES, arrow_type)
        chunked = pa.chunked_array([column.slice(0, 4), column.slice(4)])
        for data in (pa.table({"a": column}), pa.table({"a": chunked})):
            assert DriftProfile.from_data(data).categorical["a"] == plain, arrow_type


def test_every_arrow_binary_type_profiles_as_the_numpy_object_array() -> None:
    pa = _arrow()
    values = [b"x", None, b"", b"x", b"\xff", None]
    plain = DriftProfile.from_data({"a": np.array(values, dtype=object)}).categorical["a"]
    for arrow_type in (pa.binary(), pa.large_binary()):
        data = pa.table({"a": pa.array(values, arrow_type)})
        assert DriftProfile.from_data(data).categorical["a"] == plain, arrow_type


def test_same_values_as_string_and_string_view_do_not_drift() -> None:
    pa = _arrow()
    view = _string_view(pa)
    result = DataDrift(
        reference=pa.table({"a": pa.array(VALUES * 10, pa.string())}),
        current=pa.table({"a": pa.array(VALUES * 10, view)}),
    ).run()
    assert result.status is Status.PASS, result.columns["a"].reason


def test_schema_sees_the_nulls_of_a_mostly_null_string_view_column() -> None:
    pa = _arrow()
    view = _string_view(pa)
    schema = Schema.infer(pa.table({"plan": pa.array(["basic", "pro", ""] * 200, pa.string())}))
    values = ["basic", "pro", ""] * 20 + [None] * 540  # 90% missing
    as_string = schema.validate(pa.table({"plan": pa.array(values, pa.string())}))
    as_view = schema.validate(pa.table({"plan": pa.array(values, view)}))
    assert as_view.status is as_string.status is Status.FAIL
    assert as_view.columns["plan"].reason == as_string.columns["plan"].reason


# --- 2. bytes that are not UTF-8 stay distinct categories --------------------------------


def _byte_columns(values: list[bytes]) -> list[Any]:
    columns: list[Any] = [{"code": np.array(values)}, {"code": np.array(values, dtype=object)}]
    try:
        import pyarrow as pa
    except ImportError:
        return columns
    return [*columns, pa.table({"code": pa.array(values, pa.binary())})]


def test_different_invalid_utf8_bytes_stay_different_categories() -> None:
    for data in _byte_columns([b"\xff", b"\xfe", b"\xfe", b"\x01"]):
        counts = DriftProfile.from_data(data).categorical["code"].counts
        assert counts == {"\\xff": 1, "\\xfe": 2, "\x01": 1}, type(data)


def test_a_shift_between_two_invalid_utf8_codes_is_drift() -> None:
    reference = [b"\xff"] * 300 + [b"\x01"] * 100
    current = [b"\xfe"] * 300 + [b"\x01"] * 100
    for ref, cur in zip(_byte_columns(reference), _byte_columns(current), strict=True):
        result = DataDrift(reference=ref, current=cur).run()
        assert result.status is Status.FAIL, (type(ref), result.columns["code"].reason)


def test_valid_utf8_bytes_keep_their_text_labels_and_invalid_ones_round_trip_json() -> None:
    text = ["café", "a", "", "naïve"]
    as_bytes = DriftProfile.from_data({"c": np.array([t.encode() for t in text], dtype=object)})
    as_text = DriftProfile.from_data({"c": np.array(text, dtype=object)})
    assert as_bytes.categorical == as_text.categorical
    binary = DriftProfile.from_data({"c": np.array([b"\xff\xfe", b"ok\x80"])})
    assert DriftProfile.from_json(binary.to_json()) == binary
    assert set(binary.categorical["c"].counts) == {"\\xff\\xfe", "ok\\x80"}


# --- 3. a profile's numeric dtype must be one its summary could come from ----------------


def _edited(profile: DriftProfile, dtype: str) -> str:
    document = json.loads(profile.to_json())
    document["schema"]["columns"][0]["dtype"] = dtype
    return json.dumps(document)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_profile_with_dtype_edited_narrower_than_its_quantiles_raises_config_error(
    dtype: str,
) -> None:
    values = np.random.default_rng(3).normal(1000.0, 0.2, 500)
    profile = DriftProfile.from_data({"temp": values})
    with pytest.raises(ConfigError, match=f"column 'temp'.*'dtype' '{dtype}' cannot hold"):
        DriftProfile.from_json(_edited(profile, dtype))


def test_profile_with_a_non_numeric_dtype_on_a_numeric_column_raises_config_error() -> None:
    profile = DriftProfile.from_data({"temp": [1.0, 2.0, 3.0]})
    with pytest.raises(ConfigError, match=r"column 'temp'.*'dtype' 'banana' is not"):
        DriftProfile.from_json(_edited(profile, "banana"))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_genuine_narrow_float_profiles_load(dtype: type[np.floating[Any]]) -> None:
    values = np.random.default_rng(5).normal(100.0, 30.0, 3000).astype(dtype)
    values[::7] = np.nan
    for size in (101, 5000):  # a summary of some values, and the whole column
        profile = DriftProfile.from_data({"x": values}, summary_size=size)
        assert profile.schema["x"].dtype == np.dtype(dtype).name
        assert DriftProfile.from_json(profile.to_json()) == profile


def test_numeric_profiles_of_other_dtypes_still_load() -> None:
    data = {
        "i": np.arange(10, dtype=np.uint8),
        "b": np.array([True, False] * 5),
        "t": np.array(["1.5", "2"] * 5, dtype=object),
        "d": np.arange("2020-01-01", "2020-01-11", dtype="datetime64[D]"),
    }
    kinds = dict.fromkeys(data, "numeric")
    profile = DriftProfile.from_data(data, kinds=kinds)
    assert [column.dtype for column in profile.schema.columns] == [
        "uint8",
        "bool",
        "str",
        "datetime64[D]",
    ]
    assert DriftProfile.from_json(profile.to_json()) == profile


# --- 4. date strings with a time zone: flagged, no raw warning --------------------------


@pytest.mark.parametrize("zone", ["Z", "+0100", "-05:30"])
def test_date_strings_with_a_zone_are_flagged_without_a_warning(zone: str) -> None:
    stamps = [f"2024-01-{day:02d}T10:00:00{zone}" for day in range(1, 29)] * 3
    data = {"when": stamps, "x": np.arange(84.0)}
    before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = DataDrift(reference=data, current=data).run()
    assert result.columns["when"].status is Status.WARN
    assert "holds date strings" in result.columns["when"].reason
    assert list(warnings.filters) == before
