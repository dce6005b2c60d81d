"""Defects found in review (stop 34): schema inputs and ranges, rate boundaries, columns a
schema left out, non-finite numbers in documents, lax result documents, stats arguments."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelship.checks import (
    CheckResult,
    ColumnResult,
    ColumnSchema,
    DataDrift,
    DriftColumnResult,
    DriftProfile,
    Schema,
    SuiteResult,
    stats,
)
from modelship.checks._cli import add_commands
from modelship.checks._schema import missing_rate_finding
from modelship.errors import CheckInputError, ConfigError, EmptyData


def cli(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser(prog="modelship")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    code: int = args.func(args)
    return code


# --- 1a. a named pandas Series is one column --------------------------------------------------

SERIES = pd.Series(np.random.default_rng(0).random(100), name="y_train")


def test_a_named_series_is_one_column_of_a_schema() -> None:
    schema = Schema.infer(SERIES)
    assert schema.names == ("y_train",)
    assert schema.validate(SERIES).status.value == "pass"


def test_a_named_series_is_one_column_of_a_profile() -> None:
    assert DriftProfile.from_data(SERIES).schema.names == ("y_train",)


def test_validating_a_named_series_against_another_schema_reports_the_columns() -> None:
    result = Schema.infer({"a": [1.0]}).validate(SERIES)
    assert result.columns["a"].reason == "column is missing"
    assert result.columns["y_train"].reason == "column is not in the schema"


def test_a_series_of_an_extension_datetime_dtype_keeps_its_unit() -> None:
    when = pd.Series(pd.array(pd.date_range("2024", periods=3, freq="D"), dtype="datetime64[ns]"))
    named = when.astype(pd.ArrowDtype(pa.timestamp("s"))).rename("when")
    schema = Schema.infer(named, kinds={"when": "numeric"})
    assert schema["when"].dtype == "datetime64[s]"


# --- 1b. an arrow table with a repeated column name -------------------------------------------

ARROW_TWICE = pa.Table.from_arrays(
    [pa.array(np.arange(10.0)), pa.array(np.arange(10.0))], names=["a", "a"]
)


@pytest.mark.parametrize(
    "read",
    [
        lambda data: DataDrift(reference=data, current=data).run(),
        Schema.infer,
        DriftProfile.from_data,
        lambda data: Schema.infer({"a": [1.0]}).validate(data),
    ],
    ids=["drift", "schema", "profile", "validate"],
)
def test_an_arrow_table_with_a_repeated_name_is_a_check_input_error(
    read: Callable[[Any], Any],
) -> None:
    with pytest.raises(CheckInputError, match=r"duplicated column names: \['a'\]"):
        read(ARROW_TWICE)


def test_an_arrow_record_batch_with_a_repeated_name_is_a_check_input_error() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["b", "b"])
    with pytest.raises(CheckInputError, match="duplicated column names"):
        Schema.infer(batch)


# --- 2. float32 ranges are the numbers written ------------------------------------------------

TENTHS = np.round(np.random.default_rng(0).integers(1, 10, 10_000) / 10, 1)


def test_a_float32_range_is_recorded_as_the_decimals_written() -> None:
    schema = Schema.infer({"rate": TENTHS.astype(np.float32)})
    assert (schema["rate"].minimum, schema["rate"].maximum) == (0.1, 0.9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_the_same_numbers_are_in_range_of_a_float32_schema_whatever_their_dtype(
    dtype: Any,
) -> None:
    schema = Schema.infer({"rate": TENTHS.astype(np.float32)})
    result = schema.validate({"rate": TENTHS.astype(dtype)}).columns["rate"]
    assert "outside" not in result.reason
    assert result.details["out_of_range_share"] == 0.0


def test_a_float16_range_is_recorded_at_float16_precision() -> None:
    schema = Schema.infer({"x": np.array([0.1, 0.3], dtype=np.float16)})
    assert (schema["x"].minimum, schema["x"].maximum) == (0.1, 0.3)


def test_a_schema_written_with_binary_float32_bounds_still_reads_float64_values_in_range() -> None:
    old = Schema(
        [
            ColumnSchema(
                name="rate",
                kind="numeric",
                dtype="float32",
                nullable=False,
                null_rate=0.0,
                minimum=float(np.float32(0.1)),
                maximum=float(np.float32(0.9)),
            )
        ]
    )
    assert old.validate({"rate": TENTHS}).columns["rate"].details["out_of_range_share"] == 0.0


def test_float64_ranges_stay_exact() -> None:
    schema = Schema.infer({"x": np.array([0.1, 0.9])})
    result = schema.validate({"x": np.array([0.1, 0.9, np.nextafter(0.9, 1.0)] * 10)})
    assert result.columns["x"].details["out_of_range_share"] == pytest.approx(1 / 3)


def test_values_far_past_a_float16_range_are_out_of_range() -> None:
    schema = Schema.infer({"x": np.array([1.0, 2.0], dtype=np.float16)})
    result = schema.validate({"x": np.array([1.0, 1e6, -1e300])})
    assert result.columns["x"].details["out_of_range_share"] == pytest.approx(2 / 3)


# --- 3. exact rate boundaries -----------------------------------------------------------------

N = 100_000


def missing(count: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=N)
    x[:count] = np.nan
    return x


@pytest.mark.parametrize(("before", "after"), [(0.3, 0.55), (0.45, 0.7), (0.25, 0.51)])
def test_the_blocking_missing_limit_holds_at_exactly_half_of_it(
    before: float, after: float
) -> None:
    assert missing_rate_finding(before, after, 0.5) is not None


def test_the_blocking_missing_limit_needs_half_of_it() -> None:
    assert missing_rate_finding(0.45, 0.69, 0.5) is None


def test_a_schema_fails_a_25_point_rise_to_70_percent_missing() -> None:
    result = Schema.infer({"x": missing(45_000)}).validate({"x": missing(70_000, 1)})
    assert result.status.value == "fail"
    assert "above max_missing_rate" in result.columns["x"].reason


def test_drift_fails_a_25_point_rise_to_70_percent_missing() -> None:
    result = DataDrift(reference={"x": missing(45_000)}, current={"x": missing(70_000, 1)}).run()
    assert result.status.value == "fail"


@pytest.mark.parametrize(("before", "after"), [(10_000, 15_000), (35_000, 40_000)])
def test_a_null_rate_up_by_exactly_the_tolerance_passes(before: int, after: int) -> None:
    result = Schema.infer({"x": missing(before)}).validate({"x": missing(after, 1)})
    assert result.columns["x"].status.value == "pass", result.columns["x"].reason


def test_a_null_rate_up_by_more_than_the_tolerance_warns() -> None:
    result = Schema.infer({"x": missing(35_000)}).validate({"x": missing(40_001, 1)})
    assert result.columns["x"].status.value == "warn"
    assert result.columns["x"].reason.startswith("null rate 35.0% -> 40.0")


# --- 4. columns a schema left out -------------------------------------------------------------

RNG = np.random.default_rng(0)
WITH_DATES = pd.DataFrame(
    {"x": RNG.normal(size=200), "when": pd.date_range("2024-01-01", periods=200, freq="h")}
)
WITH_IDS = pd.DataFrame({"x": RNG.normal(size=200), "id": [f"u{i}" for i in range(200)]})


def test_a_schema_does_not_warn_about_the_datetime_column_it_left_out() -> None:
    schema = Schema.infer(WITH_DATES)
    assert list(schema.left_out) == ["when"]
    assert schema.validate(WITH_DATES).status.value == "pass"


def test_a_schema_does_not_warn_about_the_column_it_was_told_to_exclude() -> None:
    schema = Schema.infer(WITH_IDS, exclude=["id"])
    assert schema.left_out == {"id": "excluded"}
    assert schema.validate(WITH_IDS).status.value == "pass"
    # Left out, not required: data without it is no missing column either.
    assert schema.validate(WITH_IDS[["x"]]).status.value == "pass"


def test_the_left_out_columns_survive_a_json_round_trip() -> None:
    schema = Schema.infer(WITH_IDS, exclude=["id"])
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert again.validate(WITH_IDS).status.value == "pass"


def test_a_schema_written_before_left_out_reads_with_none() -> None:
    document = json.loads(Schema.infer(WITH_IDS, exclude=["id"]).to_json())
    del document["left_out"]
    assert Schema.from_json(json.dumps(document)).left_out == {}


def test_a_schema_that_left_nothing_out_is_written_as_before() -> None:
    assert "left_out" not in Schema.infer({"x": [1.0, 2.0]}).to_dict()


@pytest.mark.parametrize("left_out", [["id"], {"id": 3}, "id"])
def test_a_malformed_left_out_is_a_config_error(left_out: Any) -> None:
    document = json.loads(Schema.infer({"x": [1.0]}).to_json())
    document["left_out"] = left_out
    with pytest.raises(ConfigError, match="left_out"):
        Schema.from_json(json.dumps(document))


def test_a_column_both_recorded_and_left_out_is_a_config_error() -> None:
    document = json.loads(Schema.infer({"x": [1.0]}).to_json())
    document["left_out"] = {"x": "excluded"}
    with pytest.raises(ConfigError, match="both records and leaves out"):
        Schema.from_json(json.dumps(document))


def test_drift_with_a_profile_and_its_schema_passes_on_the_reference_itself(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "ref.csv"
    WITH_IDS.to_csv(reference, index=False)
    profile = tmp_path / "p.json"
    assert (
        cli("check", "profile", "--reference", reference, "--exclude", "id", "--output", profile)
        == 0
    )
    code = cli(
        "check", "drift", "--profile", profile, "--current", reference, "--schema", "--strict"
    )
    assert code == 0


def test_check_schema_with_a_profile_does_not_warn_about_its_left_out_columns(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "ref.csv"
    WITH_IDS.to_csv(reference, index=False)
    profile = tmp_path / "p.json"
    assert (
        cli("check", "profile", "--reference", reference, "--exclude", "id", "--output", profile)
        == 0
    )
    assert cli("check", "schema", "--profile", profile, "--current", reference, "--strict") == 0


# --- 5. no NaN or infinity in documents -------------------------------------------------------


def test_a_nan_minimum_in_a_schema_document_is_a_config_error_naming_it() -> None:
    text = (
        Schema.infer({"x": [1.0, 2.0, 3.0]}).to_json().replace('"minimum": 1.0', '"minimum": NaN')
    )
    with pytest.raises(ConfigError, match=r"NaN at columns\[0\]\.minimum"):
        Schema.from_json(text)


def test_an_infinite_maximum_in_a_profile_document_is_a_config_error() -> None:
    text = DriftProfile.from_data({"x": [1.0, 2.0, 3.0]}).to_json()
    damaged = text.replace('"maximum": 3.0', '"maximum": Infinity')
    assert damaged != text
    with pytest.raises(ConfigError, match=r"Infinity at schema\.columns\[0\]\.maximum"):
        DriftProfile.from_json(damaged)


def test_a_negative_infinity_in_a_suite_result_is_a_config_error() -> None:
    text = SuiteResult([CheckResult(name="a", status="pass", statistic=1.5)]).to_json()
    with pytest.raises(ConfigError, match=r"-Infinity at results\[0\]\.statistic"):
        SuiteResult.from_json(text.replace('"statistic": 1.5', '"statistic": -Infinity'))


def test_nan_inside_text_is_text() -> None:
    schema = Schema.infer({"c": ["NaN", "Infinity"]})
    assert Schema.from_json(schema.to_json()) == schema


@pytest.mark.parametrize("bound", [float("nan"), float("inf"), -float("inf")])
def test_a_column_schema_refuses_a_non_finite_bound(bound: float) -> None:
    with pytest.raises(ConfigError, match="finite"):
        ColumnSchema(
            name="x", kind="numeric", dtype="float64", nullable=False, null_rate=0.0, minimum=bound
        )


def test_documents_with_non_finite_figures_still_round_trip() -> None:
    data = {"x": np.array([1.0, np.inf, np.nan, 2.0] * 50), "c": ["a", "b"] * 100}
    schema = Schema.infer(data)
    assert Schema.from_json(schema.to_json()) == schema
    profile = DriftProfile.from_data(data)
    assert DriftProfile.from_json(profile.to_json()).to_json() == profile.to_json()
    suite = SuiteResult(
        [CheckResult(name="a", status="error", statistic=float("nan"), p_value=None)]
    )
    assert SuiteResult.from_json(suite.to_json()).results[0].statistic is None


# --- 6. suite documents are typed -------------------------------------------------------------

SUITE = SuiteResult(
    [
        CheckResult(
            name="drift",
            status="warn",
            columns=[
                DriftColumnResult(
                    name="x",
                    status="pass",
                    drifted=False,
                    statistic=0.03,
                    p_value=0.4,
                    effect_method="wasserstein",
                    effect_size=0.02,
                    kind="numeric",
                )
            ],
        )
    ]
)


@pytest.mark.parametrize(
    ("where", "key", "value", "message"),
    [
        ("column", "drifted", "false", "'drifted' must be bool"),
        ("column", "p_value", "0.4", "'p_value' must be float"),
        ("column", "name", 12, "'name' must be str"),
        ("column", "statistic", True, "'statistic' must be float"),
        ("column", "details", [], "'details' must be an object"),
        ("check", "statistic", "0.5", "'statistic' must be float"),
        ("check", "name", 12, "'name' must be str"),
        ("check", "p_value", [0.5], "'p_value' must be float"),
        ("check", "reason", None, "'reason' must be str"),
    ],
)
def test_a_field_of_the_wrong_type_in_a_suite_document_is_a_config_error(
    where: str, key: str, value: Any, message: str
) -> None:
    document = json.loads(SUITE.to_json())
    target = document["results"][0]
    if where == "column":
        target = target["columns"]["x"]
    target[key] = value
    with pytest.raises(ConfigError, match=message):
        SuiteResult.from_json(json.dumps(document))


def test_an_unknown_key_of_a_column_is_ignored_not_a_change_of_class() -> None:
    document = json.loads(SUITE.to_json())
    document["results"][0]["columns"]["x"]["added_in_a_later_version"] = 1
    document["results"][0]["added_too"] = [1]
    back = SuiteResult.from_json(json.dumps(document))
    column = back.results[0].columns["x"]
    assert isinstance(column, DriftColumnResult)
    assert (column.drifted, column.effect_size, column.kind) == (False, 0.02, "numeric")
    assert back == SUITE


def test_a_column_result_read_alone_refuses_a_wrong_type() -> None:
    with pytest.raises(ConfigError, match=r"'status'|Status"):
        ColumnResult.from_dict({"name": "x", "status": 3})


def test_a_suite_written_with_null_details_still_reads() -> None:
    document = json.loads(SUITE.to_json())
    document["results"][0]["details"] = None
    document["results"][0]["columns"]["x"]["details"] = None
    assert SuiteResult.from_json(json.dumps(document)) == SUITE


# --- 7. stats arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.two_proportion("3", 10, 1, 10),
        lambda: stats.two_proportion(None, 10, 1, 10),
        lambda: stats.two_proportion(np.array([1, 2]), 10, 1, 10),
        lambda: stats.two_proportion(10**400, 10**401, 1, 10),
        lambda: stats.two_proportion(1.5, 3, 1, 3),
        lambda: stats.two_proportion(5, float("inf"), 1, 3),
        lambda: stats.two_proportion(True, 3, 1, 3),
        lambda: stats.two_proportion(-1, 3, 1, 3),
        lambda: stats.psi_critical_value("10", 10, 10),
        lambda: stats.psi_critical_value(float("nan"), 10, 10),
        lambda: stats.psi_critical_value(10, 2.5, 10),
        lambda: stats.population_std(np.array([])),
        lambda: stats.population_std([3.0, 1.0]),
        lambda: stats.population_std(["a", "b"]),
    ],
    ids=[
        "k1-text",
        "k1-none",
        "k1-array",
        "k1-huge",
        "k1-float",
        "n1-inf",
        "k1-bool",
        "k1-negative",
        "n-text",
        "n-nan",
        "m-float",
        "std-empty",
        "std-unsorted",
        "std-text",
    ],
)
def test_a_stats_function_given_a_wrong_argument_raises_check_input_error(
    call: Callable[[], Any],
) -> None:
    with pytest.raises(CheckInputError):
        call()


def test_counts_of_numpy_integers_are_counts() -> None:
    assert stats.two_proportion(np.int64(30), 100, np.uint8(45), 100) == stats.two_proportion(
        30, 100, 45, 100
    )
    assert stats.psi_critical_value(np.int32(100), 100, 10) == stats.psi_critical_value(
        100, 100, 10
    )


def test_population_std_reads_a_sorted_list() -> None:
    assert stats.population_std([1.0, 2.0, 3.0]) == pytest.approx(float(np.std([1.0, 2.0, 3.0])))


def test_population_std_of_nothing_is_empty_data() -> None:
    with pytest.raises(EmptyData):
        stats.population_std(np.array([]))


def test_a_profiles_schema_knows_what_the_profile_left_out() -> None:
    # DriftProfile.from_data(df, exclude=["id"]).schema.validate(df) warned "'id': column
    # is not in the schema"; a profile written before schemas kept left_out reads so too.
    from modelship.checks import DriftProfile

    data = {"id": np.arange(100), "x": np.linspace(0.0, 1.0, 100)}
    profile = DriftProfile.from_data(data, exclude=["id"])
    assert profile.schema.left_out == {"id": "excluded"}
    assert profile.schema.validate(data).status.value == "pass"
    older = profile.to_dict()
    del older["schema"]["left_out"]
    again = DriftProfile.from_dict(older)
    assert again.schema.left_out == {"id": "excluded"}
    assert again.schema.validate(data).status.value == "pass"


def test_a_float_holding_a_whole_number_is_a_count() -> None:
    # y.sum() of float 0/1 labels (read from a CSV) is np.float64(30.0): it was refused.
    y_ref = np.array([1.0] * 30 + [0.0] * 70)
    y_cur = np.array([1.0] * 45 + [0.0] * 55)
    assert stats.two_proportion(y_ref.sum(), y_ref.size, y_cur.sum(), y_cur.size) == (
        stats.two_proportion(30, 100, 45, 100)
    )
    assert stats.psi_critical_value(10_000.0, 10_000, 10) == stats.psi_critical_value(
        10_000, 10_000, 10
    )
    with pytest.raises(CheckInputError, match="not a count"):
        stats.two_proportion(np.float64(-2.0), 10, 1, 10)


def test_integers_against_a_narrow_schema_are_compared_with_the_values_its_bounds_stand_for() -> (
    None
):
    # float32 123456792 and float16 65504 are written as their shortest decimals
    # (123456790, 65500), which lie inside the column's range: the same numbers read as
    # integers were half "out of range".
    schema = Schema.infer(
        {
            "amount": np.array([0, 123456792], dtype=np.float32),
            "h": np.array([0, 65504], dtype=np.float16),
        }
    )
    same = schema.validate({"amount": np.array([0, 123456792]), "h": np.array([0, 65504])})
    assert same.columns["amount"].details["out_of_range_share"] == 0.0
    assert same.columns["h"].details["out_of_range_share"] == 0.0
    past = schema.validate({"amount": np.array([0, 123456793]), "h": np.array([0, 65505])})
    assert past.columns["amount"].details["out_of_range_share"] == 0.5
    assert past.columns["h"].details["out_of_range_share"] == 0.5
