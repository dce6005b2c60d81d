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


def test_an_arrow_integer_column_with_a_null_is_int64_for_the_schema() -> None:
    # Read as numpy, the null makes it float64: a schema from a batch with one null said
    # "dtype changed: float64 -> int64" of the next batch without.
    pa = pytest.importorskip("pyarrow")
    with_null = pa.table({"age": pa.array([31, None, 40], type=pa.int64())})
    without = pa.table({"age": pa.array([31, 35, 40], type=pa.int64())})
    assert Schema.infer(with_null)["age"].dtype == "int64"
    assert Schema.infer(with_null).validate(without).status.value == "pass"
    assert DriftProfile.from_data(with_null).schema["age"].dtype == "int64"


def test_big_endian_datetimes_get_the_seconds_native_ones_get() -> None:
    # The ticks were read through an int64 view, which ignores byte order: 2024 became
    # about -9.2e18 s (np.load of big-endian data, FITS and HDF5 tables).
    import numpy as np

    native = np.array(["2024-01-01", "2024-06-01", "NaT"], dtype="datetime64[s]")
    swapped = native.astype(native.dtype.newbyteorder(">"))
    assert not swapped.dtype.isnative
    ours = DriftProfile.from_data({"t": swapped}, kinds={"t": "numeric"})
    theirs = DriftProfile.from_data({"t": native}, kinds={"t": "numeric"})
    assert ours.to_dict()["numeric"] == theirs.to_dict()["numeric"]
    assert ours.numeric["t"].summary.quantiles[0] == 1704067200.0  # type: ignore[union-attr]


def test_an_arrow_timestamp_column_keeps_its_unit_in_the_schema() -> None:
    # The schema used to record pandas' arrow timestamps at their own unit; read through
    # the numbers-only nullable reader they fell to objects and came out in microseconds,
    # so a schema saved before said "dtype changed" of the same data.
    pa = pytest.importorskip("pyarrow")
    stamps = pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC")
    frame = pd.DataFrame({"t": pd.array(stamps, dtype=pd.ArrowDtype(pa.timestamp("ns", "UTC")))})
    assert Schema.infer(frame, kinds={"t": "numeric"})["t"].dtype == "datetime64[ns]"


def test_a_segment_too_small_for_roc_auc_is_inconclusive_not_an_error() -> None:
    # One positive row in a segment made the whole check an error, whatever the other
    # segments and the whole holdout said.
    import numpy as np

    from modelship.checks import Degradation

    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.4).astype(int)
    y[200:] = 0
    y[250] = 1
    region = np.array(["north"] * 200 + ["south"] * 200, dtype=object)
    cand = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    base = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    result = Degradation(
        y=y, candidate_scores=cand, baseline_scores=base, metrics=["roc_auc"], segments=region
    ).run()
    south = result.columns["roc_auc[south]"]
    assert south.status.value == "warn"  # segment_inconclusive's default
    assert "2 positive and 2 negative rows" in south.reason
    assert result.status.value != "error"
