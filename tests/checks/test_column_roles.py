"""Columns that are not features (identifiers, time stamps) and inputs from the data stack."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, Status


def normal(n: int, loc: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def ids(n: int, start: int) -> np.ndarray:
    return np.array([f"cust-{i}" for i in range(start, start + n)])


def days(n: int, start: str) -> np.ndarray:
    return np.datetime64(start) + (np.arange(n) % 60).astype("timedelta64[D]")


# --- item 10.2: identifier-like and date-text columns warn by name -----------------------


def test_an_identifier_like_column_warns_by_name_and_does_not_count_as_drift() -> None:
    reference = {"x": normal(500), "customer": ids(500, 0)}
    current = {"x": normal(500, seed=1), "customer": ids(500, 10_000)}
    result = DataDrift(reference=reference, current=current).run()
    column = result.columns["customer"]
    assert column.status is Status.WARN
    assert column.drifted is None
    assert column.reason.startswith("looks like an identifier (100% of 500 reference values")
    assert result.status is Status.WARN
    assert result.details["drifted_columns"] == []
    assert "'customer'" in result.reason


def test_a_column_of_date_strings_warns_by_name() -> None:
    reference = {"x": normal(500), "day": days(500, "2024-01-01").astype(str)}
    current = {"x": normal(500, seed=1), "day": days(500, "2024-06-01").astype(str)}
    column = DataDrift(reference=reference, current=current).run().columns["day"]
    assert column.status is Status.WARN
    assert column.reason.startswith("holds date strings such as '2024-01-01'")


def test_declaring_the_kind_tests_an_identifier_like_column_anyway() -> None:
    reference = {"customer": ids(500, 0)}
    current = {"customer": ids(500, 10_000)}
    result = DataDrift(reference=reference, current=current, kinds={"customer": "categorical"})
    assert result.run().columns["customer"].drifted is True


def test_excluded_columns_are_left_out_of_both_samples() -> None:
    reference = {"x": normal(500), "customer": ids(500, 0)}
    current = {"x": normal(500, seed=1), "customer": ids(500, 10_000)}
    result = DataDrift(reference=reference, current=current, exclude=["customer"]).run()
    assert list(result.columns) == ["x"]
    assert result.status is Status.PASS


def test_a_profile_remembers_excluded_columns_and_drops_them_from_current_data() -> None:
    reference = {"x": normal(500), "customer": ids(500, 0)}
    profile = DriftProfile.from_json(
        DriftProfile.from_data(reference, exclude=["customer"]).to_json()
    )
    assert profile.left_out == {"customer": "excluded"}
    current = {"x": normal(500, seed=1), "customer": ids(500, 10_000)}
    result = DataDrift(reference=profile, current=current).run()
    assert list(result.columns) == ["x"]


def test_kinds_at_profile_creation_make_a_datetime_column_numeric() -> None:
    profile = DriftProfile.from_data({"when": days(500, "2024-01-01")}, kinds={"when": "numeric"})
    assert "when" in profile.numeric
    result = DataDrift(reference=profile, current={"when": days(500, "2025-01-01")}).run()
    assert result.columns["when"].drifted is True


# --- item 10.2: datetime columns -----------------------------------------------------------


def test_a_datetime_column_not_declared_is_left_out_with_a_note() -> None:
    reference = {"x": normal(500), "when": days(500, "2024-01-01")}
    current = {"x": normal(500, seed=1), "when": days(500, "2024-02-01")}
    result = DataDrift(reference=reference, current=current).run()
    column = result.columns["when"]
    assert column.status is Status.SKIP
    assert column.reason.startswith("datetime column left out; declare kinds={'when': 'numeric'}")
    assert result.status is Status.PASS


def test_a_datetime_column_declared_numeric_is_compared_as_time_stamps() -> None:
    reference = {"when": days(500, "2024-01-01")}
    current = {"when": days(500, "2025-01-01")}
    result = DataDrift(reference=reference, current=current, kinds={"when": "numeric"}).run()
    assert result.columns["when"].drifted is True
    same = DataDrift(reference=reference, current=reference, kinds={"when": "numeric"}).run()
    assert same.columns["when"].drifted is False


def test_pandas_polars_and_arrow_datetimes_read_as_the_same_time_stamps() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    stamps = days(500, "2024-01-01").astype("datetime64[us]")
    shifted = days(500, "2025-01-01").astype("datetime64[us]")
    forms = {
        "pandas": (pd.DataFrame({"when": stamps}), pd.DataFrame({"when": shifted})),
        "pandas, time zone": (
            pd.DataFrame({"when": pd.Series(stamps).dt.tz_localize("UTC")}),
            pd.DataFrame({"when": pd.Series(shifted).dt.tz_localize("UTC")}),
        ),
        "polars": (pl.DataFrame({"when": stamps}), pl.DataFrame({"when": shifted})),
        "arrow": (pa.table({"when": stamps}), pa.table({"when": shifted})),
        "datetime objects": (
            {"when": np.array([d.item() for d in stamps], dtype=object)},
            {"when": np.array([d.item() for d in shifted], dtype=object)},
        ),
    }
    expected = DataDrift(
        reference={"when": stamps}, current={"when": shifted}, kinds={"when": "numeric"}
    ).run()
    for form, (reference, current) in forms.items():
        result = DataDrift(reference=reference, current=current, kinds={"when": "numeric"}).run()
        assert result.columns["when"].statistic == expected.columns["when"].statistic, form
    assert isinstance(forms["datetime objects"][0]["when"][0], datetime.datetime)


# --- item 10.9: inputs from the data stack keep their names --------------------------------


def test_a_pandas_series_passed_as_current_keeps_its_name() -> None:
    pd = pytest.importorskip("pandas")
    reference = {"age": normal(300)}
    result = DataDrift(reference=reference, current=pd.Series(normal(300, seed=1), name="age"))
    assert list(result.run().columns) == ["age"]


def test_a_polars_series_and_lazy_frame_are_accepted() -> None:
    pl = pytest.importorskip("polars")
    reference = pl.DataFrame({"age": normal(300)}).lazy()
    current = pl.Series("age", normal(300, seed=1))
    assert list(DataDrift(reference=reference, current=current).run().columns) == ["age"]
    profile = DriftProfile.from_data(reference)
    assert profile.schema.names == ("age",)


def test_pandas_polars_and_arrow_tables_give_the_same_result() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    reference = {"age": normal(300), "plan": np.array(["a", "b", "c"] * 100)}
    current = {"age": normal(300, 0.5, seed=1), "plan": np.array(["a", "b", "b"] * 100)}
    expected = DataDrift(reference=reference, current=current).run().to_dict()
    for make in (pd.DataFrame, pl.DataFrame, pa.table, lambda d: pa.table(d).to_batches()[0]):
        result = DataDrift(reference=make(reference), current=make(current)).run()
        assert result.to_dict() == expected
