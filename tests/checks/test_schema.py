"""Schema: inferred from reference data, validated against current data, stored as JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelship.checks import FINDINGS, ColumnKind, Schema, Severity, Status, run_suite
from modelship.errors import CheckInputError, ConfigError, EmptyData


def reference() -> dict[str, Any]:
    return {
        "age": np.array([20, 30, 40, 50]),
        "income": np.array([1.0, np.nan, 3.0, 4.0]),
        "plan": np.array(["basic", "pro", "basic", "pro"], dtype=object),
    }


def findings(result: Any, column: str) -> list[str]:
    return [f["finding"] for f in result.columns[column].details["findings"]]


def test_infer_records_kinds_dtypes_nullability_ranges_and_categories() -> None:
    schema = Schema.infer(reference())
    age, income, plan = schema.columns
    assert (age.kind, age.dtype, age.nullable, age.minimum, age.maximum) == (
        ColumnKind.NUMERIC,
        "int64",
        False,
        20.0,
        50.0,
    )
    assert (income.nullable, income.null_rate) == (True, 0.25)
    assert (plan.kind, plan.dtype, plan.categories) == (
        ColumnKind.CATEGORICAL,
        "str",
        ("basic", "pro"),
    )


def test_infer_on_empty_data_raises_empty_data() -> None:
    with pytest.raises(EmptyData):
        Schema.infer({"a": np.array([])})


def test_the_reference_itself_validates_as_pass() -> None:
    result = Schema.infer(reference()).validate(reference())
    assert result.status is Status.PASS
    assert result.reason == "current data matches the schema (3 columns)"


def test_a_missing_column_is_a_blocking_failure() -> None:
    current = reference()
    del current["plan"]
    result = Schema.infer(reference()).validate(current)
    assert result.status is Status.FAIL
    assert result.columns["plan"].reason == "column is missing"
    assert result.blocks()


def test_an_extra_column_is_a_warning() -> None:
    current = reference() | {"new": np.zeros(4)}
    result = Schema.infer(reference()).validate(current)
    assert (result.status, findings(result, "new")) == (Status.WARN, ["extra_column"])


def test_text_in_a_numeric_column_is_a_kind_change() -> None:
    current = reference() | {"age": np.array(["young", "old", "old", "young"])}
    result = Schema.infer(reference()).validate(current)
    assert result.columns["age"].status is Status.FAIL
    assert findings(result, "age") == ["kind_changed"]


def test_int_becoming_float_is_an_advisory_dtype_change() -> None:
    current = reference() | {"age": np.array([20.0, 30.0, 40.0, 50.0])}
    result = Schema.infer(reference()).validate(current)
    assert result.columns["age"].status is Status.WARN
    assert result.columns["age"].reason == "dtype changed: int64 -> float64"


def test_new_categories_are_reported_by_name() -> None:
    current = reference() | {"plan": np.array(["basic", "gold", "zinc", "pro"], dtype=object)}
    result = Schema.infer(reference()).validate(current)
    assert result.columns["plan"].details["new_categories"] == ["gold", "zinc"]
    assert result.columns["plan"].reason == "new categories: 'gold', 'zinc'"


def test_out_of_range_share_above_tolerance_is_reported() -> None:
    current = reference() | {"age": np.array([20, 30, 40, 99])}
    result = Schema.infer(reference()).validate(current)
    assert result.columns["age"].details["out_of_range_share"] == 0.25
    assert findings(result, "age") == ["out_of_range"]


def test_out_of_range_share_within_tolerance_passes() -> None:
    current = reference() | {"age": np.array([20, 30, 40, 99])}
    result = Schema.infer(reference()).validate(current, range_tolerance=0.3)
    assert result.columns["age"].status is Status.PASS


def test_nulls_in_a_column_that_had_none_are_reported() -> None:
    current = reference() | {"plan": np.array(["basic", None, "pro", "pro"], dtype=object)}
    result = Schema.infer(reference()).validate(current)
    assert result.columns["plan"].reason == "null rate 0.0% -> 25.0%"


def test_a_small_null_rate_rise_in_a_nullable_column_is_tolerated() -> None:
    income = np.r_[np.full(5, np.nan), np.arange(95.0)]
    schema = Schema.infer({"income": income})
    current = {"income": np.r_[np.full(8, np.nan), np.arange(92.0)]}
    assert schema.validate(current).status is Status.PASS
    assert schema.validate(current, null_rate_tolerance=0.01).status is Status.WARN


def test_severities_can_be_changed_per_finding() -> None:
    current = reference() | {"plan": np.array(["gold"] * 4, dtype=object)}
    result = Schema.infer(reference()).validate(current, severities={"new_categories": "blocking"})
    assert result.status is Status.FAIL


def test_unknown_finding_in_severities_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'new_category'"):
        Schema.infer(reference()).validate(reference(), severities={"new_category": "advisory"})


def test_tolerance_outside_unit_interval_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="range_tolerance"):
        Schema.infer(reference()).check(reference(), range_tolerance=2)


def test_mixed_types_in_current_raise_naming_the_column() -> None:
    current = reference() | {"plan": np.array(["basic", 1, "pro", "pro"], dtype=object)}
    with pytest.raises(CheckInputError, match="'plan'"):
        Schema.infer(reference()).validate(current)


def test_every_finding_has_a_default_severity() -> None:
    assert set(FINDINGS.values()) == {Severity.BLOCKING, Severity.ADVISORY}
    assert set(FINDINGS) == {
        "missing_column",
        "extra_column",
        "kind_changed",
        "zone_changed",
        "dtype_changed",
        "new_categories",
        "out_of_range",
        "null_rate",
        "inf_rate",
        "missing_rate",
    }


def test_a_declared_categorical_numeric_column_stays_categorical() -> None:
    schema = Schema.infer({"zip": np.array([1000, 2000])}, kinds={"zip": "categorical"})
    result = schema.validate({"zip": np.array([1000, 3000])})
    assert result.columns["zip"].reason == "new categories: '3000'"


def test_too_many_categories_leave_the_set_unrecorded() -> None:
    schema = Schema.infer({"id": np.array(["a", "b", "c"])}, max_categories=2)
    assert schema["id"].categories is None
    assert schema.validate({"id": np.array(["z"])}).status is Status.PASS


def test_schema_check_runs_in_a_suite() -> None:
    schema = Schema.infer(reference())
    suite = run_suite([schema.check(reference(), name="input_schema")])
    assert (suite.results[0].name, suite.passed) == ("input_schema", True)


def test_malformed_schema_json_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="malformed column schema"):
        Schema.from_json('{"schema_version": 1, "columns": [{"name": "x"}]}')


def test_schema_json_from_a_newer_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="newer"):
        Schema.from_json('{"schema_version": 2, "columns": []}')


# --- properties --------------------------------------------------------------------------

numbers = hnp.arrays(np.float64, 12, elements=st.floats(allow_nan=True, allow_infinity=True))
integers = hnp.arrays(np.int64, 12, elements=st.integers(-(2**53), 2**53))
labels = st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=12, max_size=12).map(
    lambda values: np.array(values, dtype=object)
)


@given(st.fixed_dictionaries({"f": numbers, "i": integers, "c": labels}))
def test_any_schema_round_trips_through_json(data: dict[str, Any]) -> None:
    schema = Schema.infer(data)
    assert Schema.from_json(schema.to_json()) == schema


@given(st.fixed_dictionaries({"f": numbers, "i": integers, "c": labels}))
def test_any_data_validates_against_its_own_schema(data: dict[str, Any]) -> None:
    assert Schema.infer(data).validate(data).status is Status.PASS
