"""Datetime columns recorded by schemas; identifier-like columns kept without values by
profiles; date text reported as such before the identifier rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema, SchemaCheck, _schema
from modelship.checks._tabular import as_table
from modelship.cli import main
from modelship.errors import ConfigError, EmptyData

N = 400


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2026-01-01", tz="UTC")
    stamps = base + pd.to_timedelta(rng.integers(0, 86400 * 30, N), unit="s")
    return pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "c": rng.choice(["a", "b", "c"], N),
            "ts": stamps.tz_convert("Europe/Paris"),
        }
    )


CHANGES = {
    "ts_dropped": (lambda d: d.drop(columns="ts"), "missing_column", "column is missing"),
    "ts_naive": (
        lambda d: d.assign(ts=d.ts.dt.tz_localize(None)),
        "zone_changed",
        "with a time zone (Europe/Paris) in the schema but without one",
    ),
    "ts_as_text": (
        lambda d: d.assign(ts=d.ts.astype(str)),
        "kind_changed",
        "kind changed: datetime -> categorical (text)",
    ),
    "ts_as_epoch": (
        lambda d: d.assign(ts=d.ts.astype("int64") // 10**6),
        "kind_changed",
        "kind changed: datetime -> numeric",
    ),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_datetime_column_changes_are_found(case: str) -> None:
    change, finding, text = CHANGES[case]
    schema = Schema.infer(_frame())
    result = schema.validate(change(_frame(1)))
    assert result.status.value == "fail", result.reason
    column = result.columns["ts"]
    assert [f["finding"] for f in column.details["findings"]] == [finding]
    assert text in column.reason
    # Through a stored document too, and in the JSON report.
    stored = Schema.from_json(schema.to_json())
    assert stored == schema
    assert stored.validate(change(_frame(1))).columns["ts"].status.value == "fail"


def test_datetime_column_other_zone_and_same_data_pass() -> None:
    schema = Schema.infer(_frame())
    same = schema.validate(_frame(1))
    assert same.status.value == "pass", same.reason
    assert same.columns["ts"].reason == "matches the schema"
    utc = schema.validate(_frame(1).assign(ts=_frame(1).ts.dt.tz_convert("UTC")))
    assert utc.status.value == "pass", utc.reason
    datetime = schema.datetimes[0]
    assert (datetime.name, datetime.zone, datetime.null_rate) == ("ts", "Europe/Paris", 0.0)


def test_datetime_column_null_rate() -> None:
    schema = Schema.infer(_frame())
    current = _frame(1)
    current.loc[: N * 3 // 4, "ts"] = pd.NaT
    column = schema.validate(current).columns["ts"]
    findings = [f["finding"] for f in column.details["findings"]]
    assert findings == ["null_rate", "missing_rate"]


def test_schema_written_before_datetimes_behaves_as_before() -> None:
    document = Schema.infer(_frame()).to_dict()
    assert [column["name"] for column in document["datetimes"]] == ["ts"]
    del document["datetimes"]  # as a schema written before this change
    old = Schema.from_dict(json.loads(json.dumps(document)))
    assert old.datetimes == ()
    result = old.validate(_frame(1).drop(columns="ts"))
    assert result.status.value == "pass"
    assert "ts" not in result.columns


def test_malformed_datetimes_entry_is_a_config_error() -> None:
    document = Schema.infer(_frame()).to_dict()
    document["datetimes"][0]["null_rate"] = 2.0
    with pytest.raises(ConfigError, match="null_rate"):
        Schema.from_dict(document)
    document["datetimes"] = "ts"
    with pytest.raises(ConfigError, match="datetimes"):
        Schema.from_dict(document)


def test_profile_schema_records_datetimes() -> None:
    profile = DriftProfile.from_data(_frame())
    stored = DriftProfile.from_json(profile.to_json())
    result = stored.schema.validate(_frame(1).drop(columns="ts"))
    assert result.columns["ts"].reason == "column is missing"


def _ids(n: int, start: int = 0) -> np.ndarray:
    return np.array([f"user{i}@example.com" for i in range(start, start + n)], dtype=object)


def test_profile_keeps_no_identifier_values() -> None:
    rng = np.random.default_rng(0)
    reference = {"amount": rng.normal(size=2000), "email": _ids(2000)}
    profile = DriftProfile.from_data(reference)
    text = profile.to_json()
    assert "user123@example.com" not in text
    assert len(text) < 40_000
    column = profile.categorical["email"]
    assert (column.counts, column.n_distinct, column.n_missing) == ({}, 2000, 0)
    assert profile.schema["email"].categories is None
    current = {"amount": rng.normal(size=500), "email": _ids(500, 5000)}
    on_data = DataDrift(reference=reference, current=current).run().columns["email"]
    stored = DriftProfile.from_json(text)
    assert stored == profile
    on_profile = DataDrift(reference=stored, current=current).run().columns["email"]
    assert on_profile.status == on_data.status
    assert on_profile.reason == on_data.reason
    assert "looks like an identifier (100% of 2000" in on_profile.reason


def test_profile_declared_identifier_keeps_categories() -> None:
    reference = {"email": _ids(200)}
    profile = DriftProfile.from_data(reference, kinds={"email": "categorical"})
    assert len(profile.categorical["email"].counts) == 200
    assert profile.categorical["email"].n_distinct is None
    undeclared = DriftProfile.from_data(reference)
    # Declared at check time against a profile that kept none: an error saying what to do.
    result = DataDrift(
        reference=undeclared, current={"email": _ids(100)}, kinds={"email": "categorical"}
    ).run()
    column = result.columns["email"]
    assert column.status.value == "error"
    assert "kept no categories of column 'email'" in column.reason
    assert "kinds={'email': 'categorical'}" in column.reason


def test_old_profile_documents_still_load() -> None:
    reference = {"email": _ids(200), "plan": np.array(["a", "b"] * 100, dtype=object)}
    document = DriftProfile.from_data(reference).to_dict()
    assert document["schema_version"] == 2
    # As written before: every category counted, version 1.
    document["schema_version"] = 1
    document["categorical"]["email"] = {
        "n_rows": 200,
        "n_missing": 0,
        "counts": dict.fromkeys(_ids(200), 1),
    }
    old = DriftProfile.from_dict(document)
    assert len(old.categorical["email"].counts) == 200
    assert old.categorical["email"].n_distinct is None
    # A profile without identifier-like columns is still written as version 1.
    assert DriftProfile.from_data({"plan": reference["plan"]}).to_dict()["schema_version"] == 1


def test_forged_identifier_marker_is_refused() -> None:
    document = DriftProfile.from_data({"email": _ids(200)}).to_dict()
    document["categorical"]["email"]["n_distinct"] = 100  # not identifier-like
    with pytest.raises(ConfigError, match="no identifier-like column"):
        DriftProfile.from_dict(document)


def test_date_text_is_reported_as_dates_not_identifier() -> None:
    stamps = pd.date_range("2024-01-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    reference = {"when": np.array(stamps, dtype=object)}
    current = {"when": np.array(stamps[:100], dtype=object)}
    column = DataDrift(reference=reference, current=current).run().columns["when"]
    assert column.reason.startswith("holds date strings such as '2024-01-01 00:00:00'")


def test_with_datetimes_reads_the_data_once_for_all_datetime_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One reading per datetime column walked every column: time grew with the square.
    base = pd.date_range("2024-01-01", periods=5, freq="min", tz="Europe/Paris")
    frame = pd.DataFrame(
        {f"t{j}": base for j in range(6)} | {"n": base.tz_localize(None), "x": np.arange(5.0)}
    )
    calls = {"raw_columns": 0, "datetime_zones": 0}
    for name in calls:
        real = getattr(_schema, name)

        def counted(*args: object, _real: object = real, _name: str = name, **kw: object) -> object:
            calls[_name] += 1
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(_schema, name, counted)
    schema = _schema.with_datetimes(_schema.Schema.of_table(as_table(frame)), frame)
    assert calls == {"raw_columns": 1, "datetime_zones": 1}
    assert [(c.name, c.zone, c.null_rate) for c in schema.datetimes] == [
        *((f"t{j}", "Europe/Paris", 0.0) for j in range(6)),
        ("n", "", 0.0),
    ]


def test_infer_records_a_frame_of_datetime_columns_alone() -> None:
    # Every column a datetime left out of the ranges: still recorded, and checked.
    frame = _frame()[["ts"]]
    schema = Schema.infer(frame)
    assert schema.names == ()
    assert [(c.name, c.zone) for c in schema.datetimes] == [("ts", "Europe/Paris")]
    assert "ts" in schema.left_out
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    assert SchemaCheck(schema=schema, current=frame).run().status.value == "pass"
    naive = frame.assign(ts=frame.ts.dt.tz_localize(None))
    result = SchemaCheck(schema=schema, current=naive).run()
    assert result.status.value == "fail"
    assert "without one" in result.columns["ts"].reason
    # An unnamed array's datetime column is not recorded: nothing would be checked.
    stamps = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[s]")
    with pytest.raises(EmptyData, match="no column checks can compare"):
        Schema.infer(stamps, columns=["t"])


def test_cli_check_schema_columns_names_a_datetime_column(tmp_path: Path) -> None:
    reference, current = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    frame = _frame()
    frame.to_parquet(reference)
    frame.assign(ts=frame.ts.dt.tz_localize(None)).to_parquet(current)
    argv = ["check", "schema", "--reference", str(reference), "--current", str(current)]
    assert main([*argv, "--columns", "ts"]) == 1  # the zone change found, not exit 2
    frame.to_parquet(current)
    assert main([*argv, "--columns", "ts"]) == 0
