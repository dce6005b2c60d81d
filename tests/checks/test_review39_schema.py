"""Review 39: schema validation of row lists and of columns the schema left out."""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import pytest

from modelship.checks import Schema
from modelship.errors import ColumnMismatch, ConfigError

# -- 1. a row list gets the verdict of the same columns in a dict -----------------------------


def _as_dict(rows: list[tuple[Any, ...]], names: list[str]) -> dict[str, list[Any]]:
    return {name: [row[j] for row in rows] for j, name in enumerate(names)}


def _verdict(schema: Schema, data: Any, **options: Any) -> tuple[str, str]:
    result = schema.validate(data, **options)
    return result.status.value, result.reason


def test_booleans_in_a_row_list_fail_an_integer_schema_as_in_a_dict() -> None:
    schema = Schema.infer({"flag_count": np.arange(50) % 5, "amount": np.arange(100, 150)})
    rows = [(bool(i % 2), 100 + i) for i in range(50)]
    names = ["flag_count", "amount"]
    as_rows = _verdict(schema, rows, columns=names)
    assert as_rows == _verdict(schema, _as_dict(rows, names))
    assert as_rows[0] == "fail"
    assert "'flag_count': kind changed: numeric -> categorical (booleans)" in as_rows[1]


def test_booleans_in_a_row_list_fail_a_float_schema_as_in_a_dict() -> None:
    schema = Schema.infer([(0.3 + i / 100, 1.5 + i) for i in range(50)], columns=["a", "b"])
    rows = [(bool(i % 2), 1.5 + i) for i in range(50)]
    as_rows = _verdict(schema, rows, columns=["a", "b"])
    assert as_rows == _verdict(schema, _as_dict(rows, ["a", "b"]))
    assert as_rows[0] == "fail"
    assert "'a': kind changed: numeric -> categorical (booleans)" in as_rows[1]


def test_integers_in_a_row_list_of_floats_are_a_dtype_change_as_in_a_dict() -> None:
    schema = Schema.infer({"a": np.arange(50.0), "b": np.arange(50.0) + 0.5})
    rows = [(i, i + 0.5) for i in range(50)]
    as_rows = _verdict(schema, rows, columns=["a", "b"])
    assert as_rows == _verdict(schema, _as_dict(rows, ["a", "b"]))
    assert as_rows == (
        "warn",
        "1 of 2 columns differ from the schema: 'a': dtype changed: float64 -> int64",
    )


@pytest.mark.parametrize(
    "rows",
    [
        [(True, 2, 0.5), (False, 4, 1.5), (True, 6, 2.5)],
        [(1, 2.0, 3), (4, 5.0, 6), (7, 8.0, 9)],
        [(True, 1), (False, 0), (True, 1)],
        [(1.5, None, 2), (2.5, 3, 4), (0.5, 4, 5)],
    ],
)
def test_a_row_list_gets_the_verdict_of_its_columns_in_a_dict(rows: list[Any]) -> None:
    names = [f"c{j}" for j in range(len(rows[0]))]
    # Every column of the schema a float64 one: the dtype these rows read as whole.
    schema = Schema.infer({name: np.arange(3.0) for name in names})
    assert _verdict(schema, rows, columns=names) == _verdict(schema, _as_dict(rows, names))


# -- 1b. schemas written before rows were typed column by column still match ------------------


@pytest.mark.parametrize(
    ("rows", "recorded"),
    [
        ([(1.5, 2, 3.0), (2.5, 3, 2.0), (0.5, 4, 1.0)], "float64"),
        ([(True, 2), (False, 4), (True, 6)], "int64"),
        ([(1.5, 2, None), (2.5, 3, 2.0), (0.5, 4, 1.0)], "object"),
    ],
)
def test_a_schema_without_row_lists_key_matches_rows_read_whole(
    rows: list[Any], recorded: str
) -> None:
    # As those versions wrote it: every column the dtype of the rows read whole, float
    # bounds, and no "row_lists" key.
    document = Schema.infer(np.asarray(rows, dtype=float)).to_dict()
    del document["row_lists"]
    for column in document["columns"]:
        column["dtype"] = recorded
    schema = Schema.from_dict(document)
    assert schema.rows_read_whole
    result = schema.validate(rows)
    assert result.status.value == "pass", result.reason


def test_a_schema_document_says_rows_are_typed_by_column() -> None:
    schema = Schema.infer({"x": [1.0, 2.0]})
    document = schema.to_dict()
    assert document["row_lists"] == "by_column"
    assert not schema.rows_read_whole
    assert not Schema.from_json(schema.to_json()).rows_read_whole
    del document["row_lists"]
    before = Schema.from_dict(document)
    assert before.rows_read_whole
    assert "row_lists" not in before.to_dict()  # written again as it was read
    assert Schema.from_dict(before.to_dict()) == before


def test_a_schema_document_refuses_another_row_lists_value() -> None:
    document = {**Schema.infer({"x": [1.0]}).to_dict(), "row_lists": "whole"}
    with pytest.raises(ConfigError, match=r"'row_lists' must be 'by_column' or absent"):
        Schema.from_dict(document)


# -- 2. columns= naming only columns the schema left out ---------------------------------------


def _with_left_out() -> tuple[Schema, dict[str, Any]]:
    stamps = np.datetime64("2024-01-01") + np.arange(5).astype("timedelta64[h]")
    data = {"a": np.arange(5.0), "ts": stamps, "id": np.arange(5)}
    return Schema.infer(data, exclude=["id"]), data


def test_columns_naming_only_left_out_columns_raise_column_mismatch() -> None:
    schema, data = _with_left_out()
    assert set(schema.left_out) == {"ts", "id"}
    with pytest.raises(ColumnMismatch, match=r"none of the columns asked for .* left them out"):
        schema.validate(data, columns=["id"])


@pytest.mark.parametrize("asked", [["ts"], ["ts", "id"]])
def test_columns_naming_a_datetime_column_left_out_of_the_ranges_check_it(
    asked: list[str],
) -> None:
    # Left out of the range statistics, a datetime column is still recorded (stop 55:
    # presence, kind and zone), so asking for it checks it.
    schema, data = _with_left_out()
    result = schema.validate(data, columns=asked)
    assert (result.status.value, list(result.columns)) == ("pass", ["ts"])


def test_columns_naming_a_recorded_column_beside_left_out_ones_still_check_it() -> None:
    schema, data = _with_left_out()
    result = schema.validate(data, columns=["a", "ts"])
    assert (result.status.value, list(result.columns)) == ("pass", ["a", "ts"])


def test_cli_schema_columns_naming_only_left_out_columns_exits_2(
    tmp_path: Any, capsys: Any
) -> None:
    from modelship.checks._cli_common import read_table
    from modelship.cli import main

    (tmp_path / "ref.csv").write_text("a,id\n1.5,1\n2.5,2\n3.5,3\n")
    schema = Schema.infer(read_table(tmp_path / "ref.csv"), exclude=["id"])
    (tmp_path / "s.json").write_text(schema.to_json())
    out = tmp_path / "r.json"
    argv = ["--current", tmp_path / "ref.csv", "--columns", "id", "--json", out]
    code = main([str(a) for a in ["check", "schema", "--schema-file", tmp_path / "s.json", *argv]])
    assert code == 2
    assert "ColumnMismatch: none of the columns asked for" in capsys.readouterr().out
    assert json.loads(out.read_text())["results"][0]["status"] == "error"


def test_a_schema_refuses_a_rows_read_whole_that_is_not_a_boolean() -> None:
    assert Schema([], rows_read_whole=np.True_).rows_read_whole is True
    with pytest.raises(ConfigError, match=r"'rows_read_whole' must be True or False, got str"):
        Schema([], rows_read_whole="yes")  # type: ignore[arg-type]


def test_a_schema_pickled_before_rows_read_whole_unpickles_reading_rows_whole() -> None:
    # attrs pickles a slotted class as a dict of its fields: one pickled before the field
    # existed has no "rows_read_whole" (AttributeError at the first validation).
    schema = Schema.infer({"a": np.arange(5)})
    state = schema.__getstate__()
    del state["rows_read_whole"]
    old = Schema.__new__(Schema)
    old.__setstate__(state)
    assert old.rows_read_whole is True
    assert old.validate({"a": np.arange(3)}).status.value == "pass"
    again = pickle.loads(pickle.dumps(schema))
    assert again.rows_read_whole is False
    assert again == schema


def test_how_rows_are_read_is_not_part_of_a_schemas_equality() -> None:
    fresh = Schema.infer({"a": np.arange(5), "b": np.arange(5)})
    document = fresh.to_dict()
    del document["row_lists"]  # as written before
    stored = Schema.from_dict(document)
    assert stored.rows_read_whole is True
    assert stored == fresh
    assert hash(stored) == hash(fresh)


def test_a_document_without_row_lists_whose_columns_differ_in_dtype_is_read_by_column() -> None:
    # Read whole, every column got one dtype: columns of several dtypes were not.
    document = Schema.infer({"n": np.arange(5), "x": np.arange(5.0)}).to_dict()
    del document["row_lists"]
    stored = Schema.from_dict(document)
    assert stored.rows_read_whole is False
    rows = [(True, 1.5), (False, 2.5), (True, 3.5)]
    assert stored.validate(rows, columns=["n", "x"]).status.value == "fail"
