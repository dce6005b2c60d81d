"""Row labels pandas stored as a Parquet column are not data, in Python as in the CLI; and
a schema finds a numeric column's share of infinities going up (fixer 52j)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema, Severity, Status

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

INDEX = "__index_level_0__"


def _parquet_table(frame: Any) -> Any:
    """``frame`` written to Parquet by pandas and read back by pyarrow."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return pq.read_table(io.BytesIO(buffer.getvalue()))


def _sliced_log() -> tuple[Any, Any]:
    """Two filtered slices of one log with no drift at all: their row labels (0-39,999
    and 40,000 on) always drift."""
    rng = np.random.default_rng(0)
    log = pd.DataFrame({"amount": rng.lognormal(3, 1, 6000)})
    reference = _parquet_table(log.iloc[:4000].query("amount > 5"))
    current = _parquet_table(log.iloc[4000:].query("amount > 5"))
    return reference, current


# --- the helper ----------------------------------------------------------------------


def test_index_columns_are_those_the_pandas_metadata_names() -> None:
    from modelship._columns import pandas_index_columns, without_pandas_index

    frame = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0]}).iloc[[3, 0, 1]]
    assert pandas_index_columns(_parquet_table(frame)) == [INDEX]
    assert pandas_index_columns(_parquet_table(frame.reset_index(drop=True))) == []
    # A named index is a column of data.
    named = pd.DataFrame({"store": ["a", "b"], "amount": [1.0, 2.0]}).set_index("store")
    assert pandas_index_columns(_parquet_table(named)) == []
    # Metadata that is not what pandas writes: read as is.
    odd = pa.table({INDEX: [1, 2]}).replace_schema_metadata({b"pandas": b"not json"})
    assert pandas_index_columns(odd) == []
    assert without_pandas_index(odd) is odd


def test_without_pandas_index_by_library() -> None:
    from modelship._columns import without_pandas_index

    pl = pytest.importorskip("polars")
    table = _parquet_table(pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0]}).iloc[[3, 0, 1]])
    assert without_pandas_index(table).column_names == ["amount"]
    assert without_pandas_index(table, keep=[INDEX]).column_names == ["amount", INDEX]
    batch = table.to_batches()[0]
    assert without_pandas_index(batch).schema.names == ["amount"]
    frame = pl.from_arrow(table)
    assert without_pandas_index(frame).columns == ["amount"]
    lazy = without_pandas_index(frame.lazy())
    assert lazy.collect().columns == ["amount"]
    assert without_pandas_index(frame, keep=[INDEX]).columns == ["amount", INDEX]
    # Other inputs are not touched: a mapping names its columns itself.
    mapping = {INDEX: [1, 2]}
    assert without_pandas_index(mapping) is mapping


# --- drift, profiles and schemas, as the CLI reads the same file -----------------------


def test_drift_of_arrow_tables_ignores_the_row_labels() -> None:
    reference, current = _sliced_log()
    assert INDEX in reference.column_names
    result = DataDrift(reference=reference, current=current).run()
    assert _tested(result) == ["amount"]
    assert result.status is Status.PASS


def _tested(result: Any) -> list[str]:
    """The columns a drift result tested: the row labels are reported left out."""
    return [name for name, column in result.columns.items() if column.status is not Status.SKIP]


def test_drift_of_polars_frames_read_from_the_file_ignores_the_row_labels() -> None:
    pl = pytest.importorskip("polars")
    reference, current = _sliced_log()
    # polars keeps no pandas metadata: the column is known by the name pandas gave it.
    reference, current = pl.from_arrow(reference), pl.from_arrow(current)
    result = DataDrift(reference=reference, current=current).run()
    assert _tested(result) == ["amount"]
    assert result.status is Status.PASS


def test_row_labels_do_not_dilute_the_drift_share() -> None:
    rng = np.random.default_rng(1)
    pool = pd.DataFrame({"amount": rng.lognormal(3, 1, 8000), "age": rng.normal(40, 10, 8000)})
    train = pool.sample(2000, random_state=1)
    batch = pool.drop(train.index).sample(2000, random_state=2)
    batch["amount"] = batch["amount"] * 1.5
    result = DataDrift(reference=_parquet_table(train), current=_parquet_table(batch)).run()
    assert sorted(_tested(result)) == ["age", "amount"]
    assert result.status is Status.FAIL  # 1 of 2 drifted, as for the frames themselves


def test_a_column_asked_for_by_name_stays() -> None:
    reference, current = _sliced_log()
    result = DataDrift(reference=reference, current=current, columns=["amount", INDEX]).run()
    assert sorted(result.columns) == sorted(["amount", INDEX])
    schema = Schema.infer(reference, columns=["amount", INDEX])
    assert schema.names == ("amount", INDEX)
    profile = DriftProfile.from_data(reference, columns=["amount", INDEX])
    assert profile.schema.names == ("amount", INDEX)


def test_a_profile_leaves_the_row_labels_out() -> None:
    reference, current = _sliced_log()
    profile = DriftProfile.from_data(reference)
    assert profile.schema.names == ("amount",)
    assert DataDrift(reference=profile, current=current).run().status is Status.PASS


def test_a_schema_leaves_the_row_labels_out() -> None:
    reference, current = _sliced_log()
    schema = Schema.infer(reference)
    assert schema.names == ("amount",)
    assert schema.validate(current).status is Status.PASS


def test_an_older_profile_that_recorded_the_row_labels_still_checks() -> None:
    """A profile made before, which read the labels as a column: the current batch's
    labels stay to be compared with it (as the CLI keeps them), no ColumnMismatch."""
    reference, current = _sliced_log()
    recorded = DriftProfile.from_data(reference, columns=["amount", INDEX]).to_json()
    profile = DriftProfile.from_json(recorded)
    result = DataDrift(reference=profile, current=current).run()
    assert sorted(result.columns) == sorted(["amount", INDEX])
    schema = Schema.from_json(Schema.infer(reference, columns=["amount", INDEX]).to_json())
    checked = schema.validate(current)
    assert "missing" not in checked.reason
    assert sorted(checked.columns) == sorted(["amount", INDEX])


# --- infinities in a schema --------------------------------------------------------------


def _income(n: int = 1000, inf_share: float = 0.0, sign: float = 1.0) -> dict[str, Any]:
    values = np.random.default_rng(19).lognormal(10, 1, n)
    values[: round(inf_share * n)] = sign * np.inf
    return {"income": values}


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_infinities_where_the_reference_had_none_are_a_finding(sign: float) -> None:
    schema = Schema.infer(_income())
    result = schema.validate(_income(inf_share=0.4, sign=sign))
    assert result.status is Status.WARN
    column = result.columns["income"]
    assert column.reason.startswith("infinite rate 0.0% -> 40.0%")
    assert "division by zero" in column.reason
    assert [f["finding"] for f in column.details["findings"]] == ["inf_rate"]
    assert column.details["inf_rate"] == pytest.approx(0.4)
    blocking = schema.validate(
        _income(inf_share=0.4, sign=sign), severities={"inf_rate": Severity.BLOCKING}
    )
    assert blocking.status is Status.FAIL


def test_infinite_rate_uses_the_null_rate_rules() -> None:
    schema = Schema.infer(_income(inf_share=0.1))
    assert schema["income"].inf_rate == pytest.approx(0.1)
    assert schema.validate(_income(inf_share=0.15)).status is Status.PASS  # exactly 5 points
    assert schema.validate(_income(inf_share=0.12)).status is Status.PASS
    assert schema.validate(_income(inf_share=0.16)).status is Status.WARN
    wide = schema.validate(_income(inf_share=0.3), null_rate_tolerance=0.25)
    assert wide.status is Status.PASS
    # Fewer infinities than the reference had is no finding.
    assert schema.validate(_income()).status is Status.PASS


def test_a_schema_written_before_inf_rate_has_no_such_finding() -> None:
    document = json.loads(Schema.infer(_income()).to_json())
    for column in document["columns"]:
        del column["inf_rate"]
    schema = Schema.from_json(json.dumps(document))
    assert schema.validate(_income(inf_share=0.4)).status is Status.PASS
    # Still unknown once written again; a schema that recorded 0 has the finding.
    again = Schema.from_json(schema.to_json())
    assert again.validate(_income(inf_share=0.4)).status is Status.PASS
    assert "inf_rate" not in json.loads(again.to_json())["columns"][0]
    assert again == Schema.infer(_income())


# --- review 52k: the row labels left out in sight, and an empty column of an older schema ---


def _polars_pair() -> tuple[Any, Any]:
    """polars frames with a data column named as pandas names row labels, drifted by 5 sd."""
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(0)
    reference = pl.DataFrame({INDEX: rng.normal(0, 1, 500), "x": rng.normal(0, 1, 500)})
    current = pl.DataFrame({INDEX: rng.normal(5, 1, 500), "x": rng.normal(0, 1, 500)})
    return reference, current


def test_dropped_row_labels_are_reported_left_out() -> None:
    """polars keeps no pandas metadata: the column is dropped by its name alone, and the
    result says so, and how to keep it, instead of passing a real drift in silence."""
    reference, current = _polars_pair()
    result = DataDrift(reference=reference, current=current).run()
    labels = result.columns[INDEX]
    assert labels.status is Status.SKIP
    assert "row labels" in labels.reason
    assert f"columns=[..., {INDEX!r}]" in labels.reason
    assert labels.details["left_out"] == labels.reason
    for document in (Schema.infer(reference), DriftProfile.from_data(reference)):
        assert list(document.left_out) == [INDEX]
        assert "row labels" in document.left_out[INDEX]
    profile = DriftProfile.from_json(DriftProfile.from_data(reference).to_json())
    assert DataDrift(reference=profile, current=current).run().columns[INDEX].status is (
        Status.SKIP
    )
    schema = Schema.from_json(Schema.infer(reference).to_json())
    assert schema.validate(current).status is Status.PASS  # left out: neither extra nor missing
    # Asked for by name, it is data, and drifted.
    kept = DataDrift(reference=reference, current=current, columns=["x", INDEX]).run()
    assert kept.columns[INDEX].status is Status.FAIL
    # Excluded, it is the user's own choice: no note.
    excluded = DataDrift(reference=reference, current=current, exclude=[INDEX]).run()
    assert INDEX not in excluded.columns
    assert Schema.infer(reference, exclude=[INDEX]).left_out == {INDEX: "excluded"}


def test_arrow_row_labels_are_reported_left_out_too() -> None:
    reference, current = _sliced_log()
    result = DataDrift(reference=reference, current=current).run()
    assert result.columns[INDEX].status is Status.SKIP
    assert result.status is Status.PASS
    assert INDEX in Schema.infer(reference).left_out
    assert INDEX not in Schema.infer(reference, columns=["amount"]).left_out


def test_a_table_of_row_labels_only_names_them() -> None:
    frame = pd.DataFrame({"x": np.arange(5.0)}).iloc[[3, 1, 2]]
    table = _parquet_table(frame).select([INDEX])
    from modelship.errors import EmptyData

    for make in (
        lambda: Schema.infer(table),
        lambda: DriftProfile.from_data(table),
    ):
        with pytest.raises(EmptyData, match=r"row labels '__index_level_0__'.*columns=\["):
            make()
    with pytest.raises(EmptyData, match=r"row labels '__index_level_0__'"):
        DataDrift(reference=table, current=table).run()
    assert Schema.infer(table, columns=[INDEX]).names == (INDEX,)


def test_an_older_schema_of_an_empty_category_column_still_passes_it() -> None:
    """27de193 recorded a pandas category column with no value as numeric float64; the
    same column read now as categorical text contradicts no recorded kind."""
    n = 50
    frame = pd.DataFrame(
        {"s": pd.Series([None] * n, dtype="category"), "x": np.linspace(0.0, 1.0, n)}
    )
    empty = {"kind": "numeric", "dtype": "float64", "nullable": True, "null_rate": 1.0}
    document = {
        "schema_version": 1,
        "columns": [
            {"name": "s", **empty, "minimum": None, "maximum": None},
            {"name": "x", "kind": "numeric", "dtype": "float64", "nullable": False},
        ],
        "row_lists": "by_column",
    }
    document["columns"][0].update(categories=None, inf_rate=0.0)
    document["columns"][1].update(
        null_rate=0.0, minimum=0.0, maximum=1.0, categories=None, inf_rate=0.0
    )
    schema = Schema.from_json(json.dumps(document))
    result = schema.validate(frame)
    assert result.columns["s"].status is Status.PASS, result.columns["s"].reason
    assert result.status is Status.PASS
    # A value present is a change of nature still.
    frame["s"] = pd.Series(["a"] + [None] * (n - 1), dtype="category")
    assert "kind changed" in schema.validate(frame).columns["s"].reason


def test_an_empty_text_column_against_the_same_column_read_otherwise() -> None:
    """Typed text with no value and the same column as None objects or NaN floats (a CSV)
    hold the same nothing: no dtype_changed."""
    n = 50
    x = np.linspace(0.0, 1.0, n)
    schema = Schema.infer(pd.DataFrame({"s": pd.Series([None] * n, dtype="string"), "x": x}))
    for current in (pd.Series([None] * n, dtype=object), np.full(n, np.nan)):
        result = schema.validate(pd.DataFrame({"s": current, "x": x}))
        assert result.columns["s"].status is Status.PASS, result.columns["s"].reason
    # A column that had values and has none now still reports its dtype.
    full = Schema.infer(pd.DataFrame({"s": pd.Series(["a"] * n, dtype="string"), "x": x}))
    column = full.validate(pd.DataFrame({"s": np.full(n, np.nan), "x": x})).columns["s"]
    assert "dtype changed" in column.reason


def test_a_batch_of_row_labels_only_is_not_told_to_keep_them() -> None:
    # Review 52m: the advice columns=['__index_level_0__'] turned a batch that lost every
    # real column into a passing warning ("column is not in the schema").
    from modelship.errors import EmptyData

    frame = pd.DataFrame({"x": np.arange(50.0)}).sample(frac=1.0, random_state=0)
    table = _parquet_table(frame)
    labels_only = table.select([INDEX])
    reference = {"x": np.arange(50.0)}
    schema = Schema.infer(reference)
    for make in (
        lambda: schema.validate(labels_only),
        lambda: DataDrift(reference=reference, current=labels_only).run(),
    ):
        with pytest.raises(EmptyData, match="none of the columns to check") as caught:
            make()
        assert "columns=[" not in str(caught.value)
