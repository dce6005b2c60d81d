"""Schema and tabular-input defects found in review 38, one test (or a few) per item."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from modelship.checks import ColumnSchema, DriftProfile, Schema
from modelship.errors import CheckInputError, ConfigError

# -- 1. Parquet written by pandas: the index column is not data ---------------------------


def test_parquet_pandas_index_column_is_dropped(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from modelship.checks._cli_common import read_table

    frame = pd.DataFrame({"x": np.arange(10.0), "plan": ["a", "b"] * 5})
    frame.sample(frac=1.0, random_state=0).to_parquet(tmp_path / "ref.parquet")
    frame.to_parquet(tmp_path / "cur.parquet")
    reference = read_table(tmp_path / "ref.parquet")
    current = read_table(tmp_path / "cur.parquet")
    assert reference.column_names == ["x", "plan"]
    assert Schema.infer(reference).validate(current).status.value == "pass"


def test_parquet_named_data_column_like_an_index_is_kept(tmp_path: Any) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from modelship.checks._cli_common import read_table

    # Metadata that is not pandas' (not JSON): the table is read as it is.
    table = pa.table({"x": [1.0, 2.0], "__index_level_0__": [5, 6]})
    table = table.replace_schema_metadata({b"pandas": b"not json"})
    pq.write_table(table, tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet").column_names == ["x", "__index_level_0__"]


# -- 2. validate(columns=) for a plain 2-D array -------------------------------------------


def test_validate_takes_columns_for_a_2d_array() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    schema = Schema.infer(X, columns=["a", "b"])
    result = schema.validate(X, columns=["a", "b"])
    assert result.status.value == "pass"
    assert set(result.columns) == {"a", "b"}
    assert schema.check(X, columns=["a", "b"]).run().status.value == "pass"


def test_validate_columns_is_validated() -> None:
    X = np.zeros((2, 2))
    schema = Schema.infer(X, columns=["a", "b"])
    with pytest.raises(ConfigError, match="columns"):
        schema.validate(X, columns="ab")
    with pytest.raises(CheckInputError, match="2 columns but 3 names"):
        schema.validate(X, columns=["a", "b", "c"])


# -- 3. masked arrays keep their mask -------------------------------------------------------


def test_masked_entries_are_missing_in_infer() -> None:
    reference = {"a": np.ma.masked_array([1.0, -999.0, 3.0, -999.0], mask=[0, 1, 0, 1])}
    column = Schema.infer(reference)["a"]
    assert (column.minimum, column.maximum, column.null_rate) == (1.0, 3.0, 0.5)


def test_masked_integers_are_missing_and_keep_their_dtype() -> None:
    column = Schema.infer({"n": np.ma.masked_array([1, -999, 3], mask=[0, 1, 0])})["n"]
    assert (column.dtype, column.minimum, column.maximum) == ("int64", 1, 3)
    assert column.null_rate == pytest.approx(1 / 3)


def test_masked_entries_are_missing_in_validate() -> None:
    schema = Schema.infer({"a": [1.0, 2.0, 3.0, 2.0]})
    current = {"a": np.ma.masked_array([1.0, 1e9, 3.0, 1e9], mask=[0, 1, 0, 1])}
    result = schema.validate(current)
    assert "outside" not in result.columns["a"].reason
    assert result.columns["a"].details["null_rate"] == 0.5


# -- 4. rows of mixed values are typed column by column ------------------------------------


def test_row_tuples_mixing_numbers_and_text() -> None:
    rows = [(25, "basic"), (40, "pro"), (33, "basic")]
    schema = Schema.infer(rows, columns=["age", "plan"])
    assert schema["age"].kind.value == "numeric"
    assert (schema["age"].minimum, schema["age"].maximum) == (25, 40)
    assert schema["plan"].categories == ("basic", "pro")
    as_object = Schema.infer(np.array(rows, dtype=object), columns=["age", "plan"])
    assert as_object == schema
    result = schema.validate([(250, "basic"), (-4, "pro")], columns=["age", "plan"])
    assert "outside" in result.columns["age"].reason


def test_row_lists_of_different_lengths_are_refused() -> None:
    with pytest.raises(CheckInputError, match="rows of different lengths"):
        Schema.infer([(1, "a"), (2,)])


# -- 5. exact integer bounds; longdouble at float64; bounds shown in full ------------------


def test_integer_bounds_are_exact() -> None:
    big = 2**53
    schema = Schema.infer({"a": np.array([0, big], dtype=np.int64)})
    assert schema["a"].maximum == big
    assert isinstance(schema["a"].maximum, int)
    result = schema.validate({"a": np.array([big + 1] * 10, dtype=np.int64)})
    assert result.columns["a"].details["out_of_range_share"] == 1.0
    assert f"outside [0, {big}]" in result.columns["a"].reason
    # Written and read back, the bound is still exact.
    again = Schema.from_json(schema.to_json())
    assert again["a"].maximum == big
    assert again.validate({"a": np.array([big + 1] * 10)}).status.value == "warn"


def test_integer_bounds_below() -> None:
    big = 2**53  # float(big + 1) is big: in float64, big would not be below big + 1
    schema = Schema.infer({"a": np.array([big + 1, big + 10], dtype=np.int64)})
    result = schema.validate({"a": np.array([big] * 10, dtype=np.int64)})
    assert result.columns["a"].details["out_of_range_share"] == 1.0


def test_uint64_bounds_are_exact() -> None:
    # Both round to 2**64 - 2048 in float64, 2048 apart there.
    schema = Schema.infer({"a": np.array([0, 2**64 - 2047], dtype=np.uint64)})
    result = schema.validate({"a": np.array([2**64 - 2046] * 4, dtype=np.uint64)})
    assert result.columns["a"].details["out_of_range_share"] == 1.0


def test_float_bounds_written_before_still_work_for_integers() -> None:
    document = Schema.infer({"a": np.array([1, 3])}).to_dict()
    document["columns"][0].update(minimum=1.0, maximum=3.0)  # as older versions wrote it
    schema = Schema.from_dict(document)
    assert schema.validate({"a": np.array([1, 2, 3])}).status.value == "pass"
    result = schema.validate({"a": np.array([4, 4, 4])})
    assert result.columns["a"].details["out_of_range_share"] == 1.0


def test_longdouble_matches_its_own_schema() -> None:
    if np.finfo(np.longdouble).bits <= 64:
        pytest.skip("longdouble is float64 on this platform")
    one_plus = np.nextafter(np.longdouble(1), np.longdouble(2))
    x = np.array([0, one_plus] * 5, dtype=np.longdouble)
    schema = Schema.infer({"a": x})
    assert schema.validate({"a": x}).status.value == "pass"
    assert Schema.from_json(schema.to_json()).validate({"a": x}).status.value == "pass"


def test_bounds_are_shown_with_every_digit() -> None:
    schema = Schema.infer({"a": np.array([1.0, 1.0000001])})
    result = schema.validate({"a": np.array([5.0, 5.0])})
    assert "outside [1, 1.0000001]" in result.columns["a"].reason


def test_profile_with_big_integers_reads_back() -> None:
    data = {"a": np.array([0, 2**53 + 1], dtype=np.int64)}
    profile = DriftProfile.from_data(data)
    assert DriftProfile.from_json(profile.to_json()).schema == profile.schema


# -- 6. the same data is the same kind and dtype whatever holds it -------------------------


def test_list_with_none_takes_the_unique_count_rule() -> None:
    schema = Schema.infer({"grade": [1, None, 2, 3, 1, 2]}, categorical_max_unique=5)
    assert (schema["grade"].kind.value, schema["grade"].dtype) == ("categorical", "int64")
    assert schema["grade"].categories == ("1", "2", "3")


def test_list_with_none_records_the_values_dtype() -> None:
    schema = Schema.infer({"age": [31, None, 45, 50], "vip": [True, None, False, True]})
    assert (schema["age"].dtype, schema["vip"].dtype) == ("int64", "bool")
    result = schema.validate({"age": [31, 40, 45, 50], "vip": [True, False, False, True]})
    assert result.status.value == "pass", result.reason


def test_missing_entries_alone_are_no_dtype_change() -> None:
    schema = Schema.infer({"age": [31, 40, 45, 50], "vip": [True, False, False, True]})
    result = schema.validate({"age": [31, None, 45, 50], "vip": [True, None, False, True]})
    for name in ("age", "vip"):
        assert "dtype" not in result.columns[name].reason


def test_object_dtype_schema_written_before_still_matches() -> None:
    # Older versions recorded a list of ints with None as dtype "object".
    document = Schema.infer({"age": [31, None, 45]}).to_dict()
    document["columns"][0]["dtype"] = "object"
    document["columns"][0].update(minimum=31.0, maximum=45.0)
    result = Schema.from_dict(document).validate({"age": [31, None, 45]})
    assert result.status.value == "pass", result.reason


def test_categorical_and_dictionary_integers_are_int64() -> None:
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": pd.Categorical([1, 2, None], categories=[1, 2, 3])})
    assert Schema.infer(frame)["a"].dtype == "int64"
    table = pa.table({"a": pa.array([1, None, 2]).dictionary_encode()})
    assert Schema.infer(table)["a"].dtype == "int64"


# -- 7. exclude= skips columns before they are read ----------------------------------------


def test_exclude_skips_unreadable_polars_columns() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {
            "x": [1.0, 2.0, 3.0],
            "meta": [{"k": 1}, {"k": 2}, {"k": 3}],
            "emb": pl.Series([[1, 2], [2, 3], [3, 4]], dtype=pl.Array(pl.Int64, 2)),
        }
    )
    schema = Schema.infer(frame, exclude=["meta", "emb"])
    assert schema.names == ("x",)
    assert schema.validate(frame, exclude=["meta", "emb"]).status.value == "pass"


def test_a_2d_column_is_not_blamed_on_duplicated_names() -> None:
    data = np.array([(1, [2.0, 3.0])], dtype=[("a", "i4"), ("b", "f8", (2,))])
    with pytest.raises(CheckInputError, match="one value per row") as caught:
        Schema.infer(data)
    assert "duplicated" not in str(caught.value)


# -- 8. date-times, booleans and text where numbers were change the kind -------------------


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (np.array([25, 30, 35], dtype="datetime64[s]"), "datetime"),
        (np.array([True, False, True]), "categorical (booleans)"),
        (np.array(["25", "30", "35"]), "categorical (text)"),
    ],
)
def test_numeric_column_now_of_another_nature_is_kind_changed(
    values: np.ndarray[Any, Any], found: str
) -> None:
    schema = Schema.infer({"age": np.array([20, 30, 40])})
    result = schema.validate({"age": values})
    assert result.status.value == "fail"
    assert result.columns["age"].reason == f"kind changed: numeric -> {found}"


def test_declared_numeric_of_the_same_nature_stays_numeric() -> None:
    stamps = np.array([25, 30, 35], dtype="datetime64[s]")
    schema = Schema.infer(
        {"t": stamps, "b": np.array([True, False, True])}, kinds={"t": "numeric", "b": "numeric"}
    )
    assert schema.validate({"t": stamps, "b": np.array([False, True, True])}).status.value == (
        "pass"
    )
    # An int64 column read as float64 is still only a dtype warning.
    result = Schema.infer({"a": np.array([1, 2])}).validate({"a": np.array([1.0, 2.0])})
    assert result.status.value == "warn"


# -- 9. kinds= naming an unknown column ------------------------------------------------------


def test_infer_refuses_kinds_of_unknown_columns() -> None:
    data = {"zip": np.array([1, 2, 3, 4]), "x": np.array([1.0, 2, 3, 4])}
    with pytest.raises(ConfigError, match=r"kinds names unknown column\(s\) \['Zip'\]"):
        Schema.infer(data, kinds={"Zip": "categorical"})


def test_profile_refuses_kinds_of_unknown_columns() -> None:
    data = {"zip": np.array([1, 2, 3, 4])}
    with pytest.raises(ConfigError, match="kinds names unknown column"):
        DriftProfile.from_data(data, kinds={"Zip": "categorical"})


# -- 10. typed errors from the constructors -------------------------------------------------

_NUMERIC: dict[str, Any] = {
    "name": "a",
    "kind": "numeric",
    "dtype": "int64",
    "nullable": False,
    "null_rate": 0.0,
    "minimum": 0,
    "maximum": 1,
}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": "text"}, "'kind' must be one of"),
        ({"null_rate": "abc"}, "'null_rate' must be a number"),
        ({"minimum": 5, "maximum": 1}, "'minimum' 5 is above 'maximum' 1"),
        ({"null_rate": 2.0, "nullable": True}, "'null_rate' must be a share"),
    ],
)
def test_column_schema_refuses_bad_fields(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ColumnSchema(**{**_NUMERIC, **change})


def test_schema_refuses_columns_that_are_not_column_schemas() -> None:
    with pytest.raises(ConfigError, match="must be ColumnSchema"):
        Schema([{"name": "x"}])  # type: ignore[list-item]


def test_schema_from_dict_refuses_none() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        Schema.from_dict(None)  # type: ignore[arg-type]


def test_recarray_field_named_nullable_dtypes() -> None:
    data = np.rec.array([(1, 2.0), (3, 4.0)], dtype=[("nullable_dtypes", "i8"), ("x", "f8")])
    schema = Schema.infer(data)
    assert schema.names == ("nullable_dtypes", "x")
    assert schema.validate(data).status.value == "pass"


# -- 11. schema documents are read strictly -------------------------------------------------


def _document(**change: Any) -> dict[str, Any]:
    column = {**_NUMERIC, "minimum": 0, "maximum": 1, "categories": None, "inf_rate": 0.0}
    return {"schema_version": 1, "columns": [{**column, **change}]}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"categories": ["a"]}, "numeric but has \\['categories'\\]"),
        ({"kind": "categorical"}, "categorical but has \\['minimum', 'maximum'\\]"),
        (
            {"kind": "categorical", "minimum": None, "maximum": None, "categories": ["a", "a"]},
            "more than once",
        ),
    ],
)
def test_from_dict_refuses_fields_of_the_other_kind(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Schema.from_dict(_document(**change))


@pytest.mark.parametrize("field", ["maximum", "minimum", "null_rate"])
def test_huge_numbers_name_their_field(field: str) -> None:
    text = json.dumps(_document(**{field: "HUGE"})).replace('"HUGE"', "1" + "0" * 400)
    with pytest.raises(ConfigError) as caught:
        Schema.from_json(text)
    message = str(caught.value)
    # Named by the reason, not only in the document the message quotes.
    assert f"the column schema's '{field}'" in message
    assert "OverflowError" not in message


# == Second look =============================================================================
#
# -- S1. Parquet: a named index is a data column; an old profile's unnamed one is kept ------


def _cli(*argv: Any) -> int:
    from modelship.cli import main

    return main([str(a) for a in argv])


def test_parquet_named_index_is_a_data_column(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from modelship.checks._cli_common import read_table

    frame = pd.DataFrame({"store": [3, 1, 2], "age": [30.0, 40.0, 50.0]})
    frame.set_index("store").to_parquet(tmp_path / "t.parquet")
    # polars and pyarrow read it as a column, and profiles made before name it.
    assert sorted(read_table(tmp_path / "t.parquet").column_names) == ["age", "store"]


def _sampled_parquet(tmp_path: Any) -> tuple[Any, Any]:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "plan": rng.choice(["a", "b"], 400)})
    frame.sample(frac=1.0, random_state=1).to_parquet(tmp_path / "ref.parquet")
    frame.sample(frac=0.5, random_state=2).to_parquet(tmp_path / "cur.parquet")
    return tmp_path / "ref.parquet", tmp_path / "cur.parquet"


def test_profile_naming_an_unnamed_index_keeps_reading(tmp_path: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    reference, current = _sampled_parquet(tmp_path)
    # As versions before read the file: '__index_level_0__' a column like any other.
    table = pq.read_table(reference)
    old = DriftProfile.from_data(table, columns=table.column_names)
    assert "__index_level_0__" in old.schema.names
    (tmp_path / "old.json").write_text(old.to_json())
    (tmp_path / "old_schema.json").write_text(old.schema.to_json())
    assert _cli("check", "drift", "--profile", tmp_path / "old.json", "--current", current) == 0
    schema_file = tmp_path / "old_schema.json"
    assert _cli("check", "schema", "--schema-file", schema_file, "--current", current) == 0


def test_columns_can_ask_for_an_unnamed_index(tmp_path: Any) -> None:
    reference, current = _sampled_parquet(tmp_path)
    asked = ["--columns", "__index_level_0__", "x"]
    out = tmp_path / "r.json"
    code = _cli(
        "check", "drift", "--reference", reference, "--current", current, *asked, "--json", out
    )
    assert code == 0
    assert list(json.loads(out.read_text())["results"][0]["columns"]) == asked[1:]


# -- S2. float bounds of schemas written before compare in float64, as they did -------------


def test_float_bounds_beyond_2_53_admit_the_reference() -> None:
    ids = np.array([0, 2**62 + 1, 5, 2**62 - 3], dtype=np.int64)
    document = Schema.infer({"id": ids}).to_dict()
    # As older versions wrote it: float64 bounds, 2**62 + 1 rounded down to 2**62.
    document["columns"][0].update(minimum=float(ids.min()), maximum=float(ids.max()))
    schema = Schema.from_dict(document)
    assert schema["id"].maximum < int(ids.max())
    result = schema.validate({"id": ids})
    assert result.status.value == "pass", result.reason
    assert result.columns["id"].details["out_of_range_share"] == 0.0


def test_integer_bounds_stay_exact_next_to_a_float_one() -> None:
    document = Schema.infer({"id": np.array([0, 2**53], dtype=np.int64)}).to_dict()
    document["columns"][0].update(minimum=0.0)  # a float bound beside an integer one
    result = Schema.from_dict(document).validate({"id": np.array([2**53 + 1] * 4)})
    assert result.columns["id"].details["out_of_range_share"] == 1.0


# -- S3. validate(columns=) of named data checks only those columns -------------------------


def test_validate_columns_of_named_data_checks_only_those() -> None:
    data = {"a": np.arange(10.0), "b": np.arange(10.0), "c": np.array(["x", "y"] * 5)}
    schema = Schema.infer(data)
    result = schema.validate(data, columns=["a", "b"])
    assert result.status.value == "pass", result.reason
    assert set(result.columns) == {"a", "b"}
    assert set(schema.validate(data, columns=["a", "b"], exclude=["a"]).columns) == {"b"}
    # A plain array's columns= names its columns: a schema column not among them is missing.
    X = np.column_stack([np.arange(10.0), np.arange(10.0)])
    three = Schema.infer({"a": X[:, 0], "b": X[:, 1], "c": X[:, 0]})
    missing = three.validate(X, columns=["a", "b"]).columns["c"].reason
    assert missing == "column is missing"


# -- S4. a column schema built from pandas or NumPy statistics -------------------------------


def test_column_schema_takes_numpy_scalars_and_dtypes() -> None:
    x = np.array([1.0, np.nan, 3.0])
    column = ColumnSchema(
        name=np.str_("x"),
        kind="numeric",
        dtype=x.dtype,
        nullable=np.isnan(x).any(),
        null_rate=np.isnan(x).mean(),
        minimum=np.nanmin(x),
        maximum=np.nanmax(x),
    )
    assert (column.dtype, column.nullable, type(column.nullable)) == ("float64", True, bool)
    assert type(column.name) is str
    assert ColumnSchema(**{**_NUMERIC, "dtype": np.int64}).dtype == "int64"
    assert Schema([column]).validate({"x": x}).status.value == "pass"
    assert Schema.from_json(Schema([column]).to_json()) == Schema([column])


def test_column_schema_names_numpy_types_in_its_messages() -> None:
    with pytest.raises(ConfigError, match=r"'nullable' must be bool, got numpy\.int64"):
        ColumnSchema(**{**_NUMERIC, "nullable": np.int64(1)})


# -- S5. rows and object columns read without a pass per value (results unchanged) ----------


def test_numeric_rows_are_read_as_arrays() -> None:
    from modelship.checks._tabular import _row_columns

    rows = [(1.5, 2, True, None), (2.5, 3, False, 1.0)]
    columns = _row_columns(rows, "rows")
    assert columns is not None
    assert [column.dtype.kind for column in columns] == ["f", "i", "b", "O"]
    schema = Schema.infer(rows)
    assert [c.dtype for c in schema.columns] == ["float64", "int64", "bool", "float64"]


def test_object_numbers_without_missing_values_skip_the_scan(monkeypatch: Any) -> None:
    from modelship.checks import _tabular

    calls: list[Any] = []

    def counted(value: Any) -> bool:
        calls.append(value)
        return False

    monkeypatch.setattr(_tabular, "is_missing", counted)
    values, dtype = _tabular._object_values(np.array([1, 2, 3], dtype=object))
    assert (values.tolist(), dtype, calls) == ([1, 2, 3], "int64", [])


def test_an_object_column_is_typed_once_in_validate(monkeypatch: Any) -> None:
    from modelship.checks import _schema

    data = {"a": np.array([1, 2, 3], dtype=object)}
    schema = Schema.infer(data)
    calls: list[str] = []
    typed = _schema.make_column

    def counted(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return typed(name, *args, **kwargs)

    monkeypatch.setattr(_schema, "make_column", counted)
    assert schema.validate(data).status.value == "pass"
    assert calls == ["a"]


# -- S6. check schema --columns ---------------------------------------------------------------


def test_cli_schema_columns_chooses_the_columns(tmp_path: Any) -> None:
    (tmp_path / "ref.csv").write_text("a,b,c\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n")
    (tmp_path / "cur.csv").write_text("a,b,c,extra\n1,2,x,9\n2,3,y,9\n3,4,x,9\n4,5,y,9\n")
    from modelship.checks._cli_common import read_table

    (tmp_path / "s.json").write_text(Schema.infer(read_table(tmp_path / "ref.csv")).to_json())
    out = tmp_path / "r.json"
    argv = ["--current", tmp_path / "cur.csv", "--columns", "a", "b", "--json", out, "--strict"]
    assert _cli("check", "schema", "--schema-file", tmp_path / "s.json", *argv) == 0
    assert list(json.loads(out.read_text())["results"][0]["columns"]) == ["a", "b"]


# -- S7. schemas of row lists written before rows were typed column by column ---------------


@pytest.mark.parametrize(
    ("rows", "recorded"),
    [
        ([(1.5, 2, 3.0), (2.5, 3, 2.0), (0.5, 4, 1.0)], "float64"),  # read whole: float64
        ([(True, 2), (False, 4), (True, 6)], "int64"),  # booleans among ints: int64
        ([(1.5, 2, None), (2.5, 3, 2.0), (0.5, 4, 1.0)], "object"),  # a None: all object
    ],
)
def test_row_schema_written_before_still_matches(rows: list[Any], recorded: str) -> None:
    # As older versions read the rows: np.asarray(rows), one dtype for every column.
    document = Schema.infer(np.asarray(rows, dtype=float)).to_dict()
    del document["row_lists"]  # written before: such documents have no key
    for column in document["columns"]:
        column["dtype"] = recorded
    result = Schema.from_dict(document).validate(rows)
    assert result.status.value == "pass", result.reason
