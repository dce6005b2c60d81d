"""Pre-deployment check defects found in review (stop 31): far dates, nullable classes,
DeLong on one row of a class, tiny samples, two constants, labels and segments."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from modelship.checks import Bias, DataDrift, Degradation, PredictionDrift
from modelship.checks._tabular import ColumnKind, as_table
from modelship.checks.stats import _metrics as sm
from modelship.errors import CheckInputError

# --- datetimes outside 1677-2262 --------------------------------------------------------

DATES = ["2020-01-01", "9999-12-31", "1500-01-01"]
EPOCH_SECONDS = [1_577_836_800.0, 253_402_214_400.0, -14_831_769_600.0]


def python_datetimes() -> list[datetime.datetime]:
    return [datetime.datetime.fromisoformat(day) for day in DATES]


DATE_SOURCES: dict[str, Callable[[], Any]] = {
    "numpy datetime64[D]": lambda: np.array(DATES, dtype="datetime64[D]"),
    "numpy datetime64[s]": lambda: np.array(DATES, dtype="datetime64[s]"),
    "numpy datetime64[M]": lambda: np.array(DATES, dtype="datetime64[D]").astype("M8[M]"),
    "numpy datetime64[Y]": lambda: np.array(DATES, dtype="datetime64[D]").astype("M8[Y]"),
    "pandas": lambda: pd.Series(np.array(DATES, dtype="datetime64[s]")),
    "pyarrow timestamp[us]": lambda: pa.array(python_datetimes(), type=pa.timestamp("us")),
    "polars Datetime[us]": lambda: pl.Series(python_datetimes()),
    "python datetime objects": lambda: np.array(python_datetimes(), dtype=object),
}


def time_stamps(column: Any) -> np.ndarray:
    table = as_table({"d": column}, kinds={"d": ColumnKind.NUMERIC})
    return np.asarray(table.columns["d"].values)


@pytest.mark.parametrize("source", list(DATE_SOURCES))
def test_datetimes_outside_1677_to_2262_get_their_true_seconds_since_the_epoch(
    source: str,
) -> None:
    # Through datetime64[ns], 9999-12-31 wrapped to -4,852,202,632 s and 1500-01-01 to
    # +3,614,974,474 s, silently, from every source.
    column = DATE_SOURCES[source]()
    expected = EPOCH_SECONDS
    if source.endswith("[M]"):  # months and years keep only their first day
        expected = [1_577_836_800.0, 253_399_622_400.0, -14_831_769_600.0]
    elif source.endswith("[Y]"):
        expected = [1_577_836_800.0, 253_370_764_800.0, -14_831_769_600.0]
    assert time_stamps(column).tolist() == expected


def test_nat_stays_missing_beside_far_dates() -> None:
    column = np.array(["9999-12-31", "NaT", "1500-01-01"], dtype="datetime64[D]")
    seconds = time_stamps(column)
    assert np.isnan(seconds[1])
    assert seconds[[0, 2]].tolist() == [EPOCH_SECONDS[1], EPOCH_SECONDS[2]]


def test_sub_second_times_keep_their_fractions() -> None:
    column = np.array(["2024-05-06T07:08:09.123456", "1969-12-31T23:59:59.5"], "datetime64[us]")
    seconds = time_stamps(column)
    assert seconds.tolist() == pytest.approx([1_714_979_289.123456, -0.5], abs=1e-6)
    nanoseconds = np.array(["2024-05-06T07:08:09.123456789"], dtype="datetime64[ns]")
    assert time_stamps(nanoseconds)[0] == 1_714_979_289_123_456_789 / 1e9


def test_timezone_aware_far_dates_are_counted_in_utc() -> None:
    aware = pd.Series(np.array(["9999-12-31T05:00", "2020-01-01T05:00"], dtype="M8[s]"))
    paris = aware.dt.tz_localize("Europe/Paris")
    assert time_stamps(paris).tolist() == [
        EPOCH_SECONDS[1] + 5 * 3600 - 3600,  # +01:00 in winter
        EPOCH_SECONDS[0] + 5 * 3600 - 3600,
    ]
    arrow = pa.array(python_datetimes(), type=pa.timestamp("us", tz="UTC"))
    assert time_stamps(arrow).tolist() == EPOCH_SECONDS


def test_a_date_too_far_to_count_in_days_raises_naming_the_column() -> None:
    # 10**17 years is no day count in int64: NumPy's conversion wraps without a word.
    far = np.array([10**17, 50]).astype("datetime64[Y]")
    with pytest.raises(CheckInputError, match="column 'd' holds a date of dtype datetime64"):
        time_stamps(far)


def test_a_python_datetime_that_utc_moves_past_9999_raises_naming_the_column() -> None:
    late = datetime.datetime(
        9999, 12, 31, 23, tzinfo=datetime.timezone(-datetime.timedelta(hours=5))
    )
    with pytest.raises(CheckInputError, match="column 'd' holds a date-time whose time in UTC"):
        time_stamps(np.array([late], dtype=object))


# --- integer classes of a nullable type --------------------------------------------------

CLASSES = [0, 1, 2] * 100
WITH_NULL = [0, 1, None] + [0, 1, 2] * 99

NULLABLE_INTEGERS: dict[str, Callable[[list[Any]], Any]] = {
    "pandas Int64": lambda values: pd.Series(pd.array(values, dtype="Int64")),
    "polars Int64": lambda values: pl.Series(values, dtype=pl.Int64),
    "pyarrow int64": lambda values: pa.array(values, type=pa.int64()),
    "pyarrow chunked int64": lambda values: pa.chunked_array([values], type=pa.int64()),
}


@pytest.mark.parametrize("source", list(NULLABLE_INTEGERS))
def test_integer_classes_with_a_missing_value_stay_classes(source: str) -> None:
    make = NULLABLE_INTEGERS[source]
    for reference in (CLASSES, WITH_NULL):
        result = PredictionDrift(reference=make(reference), current=make(CLASSES)).run()
        column = result.columns["prediction"]
        assert (column.kind, column.method) == ("categorical", "chi2"), reference[:3]


@pytest.mark.parametrize(
    "frame",
    [
        lambda values: pd.DataFrame({"label": pd.array(values, dtype="Int64")}),
        lambda values: pl.DataFrame({"label": pl.Series(values, dtype=pl.Int64)}),
        lambda values: pa.table({"label": pa.array(values, type=pa.int64())}),
        lambda values: {"label": pd.Series(pd.array(values, dtype="Int64"))},
    ],
    ids=["pandas", "polars", "arrow", "mapping"],
)
def test_named_integer_classes_with_a_missing_value_stay_classes(
    frame: Callable[[list[Any]], Any],
) -> None:
    result = PredictionDrift(reference=frame(WITH_NULL), current=frame(CLASSES)).run()
    assert result.columns["label"].kind == "categorical"


def test_nullable_float_scores_stay_numeric() -> None:
    scores = pd.Series(pd.array([0.25, None] + [0.5, 0.75] * 100, dtype="Float64"))
    current = pd.Series(pd.array([0.5, 0.75] * 100, dtype="Float64"))
    result = PredictionDrift(reference=scores, current=current).run()
    assert result.columns["prediction"].kind == "numeric"


def test_a_lazy_frame_gives_its_nullable_dtypes_without_running_its_query() -> None:
    from modelship.checks._tabular import nullable_dtypes  # new here: the old tree lacks it

    lazy = pl.LazyFrame({"n": [1, None], "s": ["a", "b"]}).map_batches(
        lambda frame: pytest.fail("the query ran"), schema={"n": pl.Int64, "s": pl.String}
    )
    assert nullable_dtypes(lazy) == {"n": np.dtype("int64")}


# --- DeLong with a single row of a class -------------------------------------------------


def one_positive(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.zeros(n, dtype=int)
    y[0] = 1
    base = rng.random(n) * 0.9
    base[0] = 0.99  # above every negative: AUC 1
    cand = base.copy()
    cand[0] = -1.0  # below every negative: AUC 0
    return y, cand, base


def test_delong_refuses_a_single_positive_row() -> None:
    # The variance of one row's placement was taken as 0: an interval (-1, -1), p = 0, a
    # certain "worse" decided by one row.
    y, cand, base = one_positive()
    with pytest.raises(
        CheckInputError,
        match="ROC AUC needs at least 2 positive and 2 negative rows, got 1 positive and 399",
    ):
        sm.delong(y, cand, base)


def test_delong_refuses_a_single_negative_row() -> None:
    y, cand, base = one_positive()
    with pytest.raises(CheckInputError, match="got 399 positive and 1 negative"):
        sm.delong(1 - y, -cand, -base)


def test_delong_takes_two_rows_of_each_class() -> None:
    interval = sm.delong([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], [0.1, 0.9, 0.2, 0.8])
    assert interval.ci_low < interval.difference < interval.ci_high


def test_degradation_on_a_single_positive_is_an_error_not_a_verdict() -> None:
    y, cand, base = one_positive()
    result = Degradation(
        y=y, candidate_scores=cand, baseline_scores=base, metrics=["roc_auc"]
    ).run()
    auc = result.metrics["roc_auc"]
    assert result.status.value == "error"
    assert (auc.verdict, auc.ci_low, auc.p_value) == (None, None, None)
    assert auc.reason.startswith(
        "roc_auc could not be computed: ROC AUC needs at least 2 positive and 2 negative rows"
    )


# --- the automatic test on a single value ------------------------------------------------


def test_a_single_current_value_is_tested_with_ks_as_scipy_does() -> None:
    # Cramér-von Mises needs two values a side: the automatic rule made the column an
    # error, though min_values=1 is allowed.
    reference, current = [1.0, 2, 3, 4, 5, 6, 7], [100.0]
    result = DataDrift(reference={"x": reference}, current={"x": current}, min_values=1).run()
    column = result.columns["x"]
    assert (column.status.value, column.method) == ("pass", "ks")
    expected = scipy_stats.ks_2samp(reference, current)
    assert column.statistic == pytest.approx(expected.statistic)
    assert column.details["raw_p_value"] == pytest.approx(expected.pvalue)


def test_two_current_values_are_still_tested_with_cramer_von_mises() -> None:
    result = DataDrift(
        reference={"x": [1.0, 2, 3, 4, 5, 6, 7]}, current={"x": [3.0, 100.0]}, min_values=1
    ).run()
    assert result.columns["x"].method == "cvm"


# --- two constants -----------------------------------------------------------------------


def test_two_different_constants_are_described_as_such() -> None:
    # Said before: "reference is constant (3) but current is not (from 500 to 500)".
    result = DataDrift(reference={"x": [3.0] * 50}, current={"x": [500.0] * 50}).run()
    column = result.columns["x"]
    assert column.status.value == "warn"
    assert column.reason.startswith(
        "both samples are constant, at different values (reference 3, current 500): "
        "distances scaled by the reference's spread are undefined"
    )


def test_a_constant_reference_that_the_current_data_leaves_keeps_its_reason() -> None:
    result = DataDrift(reference={"x": [3.0] * 50}, current={"x": [3.0, 4.0] * 25}).run()
    assert result.columns["x"].reason.startswith(
        "reference is constant (3) but current is not (from 3 to 4)"
    )


# --- labels and segments of Degradation --------------------------------------------------


def holdout(n: int = 400) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return {
        "y": y,
        "candidate_scores": np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1),
        "baseline_scores": np.clip(y * 0.25 + rng.random(n) * 0.75, 0, 1),
        "metrics": ["roc_auc"],
    }


def test_a_stray_label_with_a_classification_metric_is_named() -> None:
    # It made the task regression, and the reason "metric 'roc_auc' is not a regression
    # metric".
    inputs = holdout()
    inputs["y"] = np.where(np.arange(400) == 0, 2, inputs["y"])
    with pytest.raises(CheckInputError, match=r"y must hold only 0 and 1 .* such as \['2'\]"):
        Degradation(**inputs).run()


def test_labels_one_and_two_with_a_classification_metric_are_named() -> None:
    inputs = holdout()
    inputs["y"] = inputs["y"] + 1
    inputs["metrics"] = ["accuracy", "rmse"]
    with pytest.raises(CheckInputError, match=r"such as \['2'\].*metrics \['accuracy'\] need"):
        Degradation(**inputs).run()


def test_a_stray_label_under_task_classification_is_named() -> None:
    inputs = holdout()
    inputs["y"] = np.where(np.arange(400) == 0, 7, inputs["y"])
    inputs["metrics"] = None
    with pytest.raises(CheckInputError, match=r"such as \['7'\].*task='classification'"):
        Degradation(task="classification", **inputs).run()


def test_a_regression_target_with_regression_metrics_is_still_a_regression() -> None:
    inputs = holdout()
    inputs["y"] = inputs["y"] * 3.5
    inputs["metrics"] = ["mae"]
    assert Degradation(**inputs).run().metrics["mae"].status.value != "error"


BAD_SEGMENTS: dict[str, tuple[np.ndarray, str]] = {
    "None": (
        np.array([None] * 5 + ["a", "b"] * 195 + ["a"] * 5, dtype=object),
        "has 5 missing values",
    ),
    "NaN": (np.where(np.arange(400) < 5, np.nan, 1.0), "has 5 missing values"),
    "1.0 and '1'": (np.array([1.0, "1"] * 200, dtype=object), "has values that read the same"),
}


@pytest.mark.parametrize("case", list(BAD_SEGMENTS))
def test_segments_that_bias_refuses_as_groups_are_refused_alike(case: str) -> None:
    # None and NaN became segments "None" and "nan"; 1.0 and "1" two segments.
    segments, message = BAD_SEGMENTS[case]
    inputs = holdout()
    with pytest.raises(CheckInputError, match=f"`segments` {message}"):
        Degradation(segments=segments, **inputs).run()
    labels = (inputs["candidate_scores"] >= 0.5).astype(int)
    with pytest.raises(CheckInputError, match=message):
        Bias(y_true=inputs["y"], y_pred=labels, sensitive=segments).run()


def test_a_missing_value_in_a_segment_column_of_x_is_refused_naming_it() -> None:
    inputs = holdout()
    region = pd.DataFrame({"region": ["north", None, "south", "east"] * 100})
    with pytest.raises(CheckInputError, match="segment column 'region' has 100 missing values"):
        Degradation(X=region, segments="region", **inputs).run()


def test_float_segment_labels_read_as_bias_reads_groups() -> None:
    inputs = holdout()
    result = Degradation(segments=np.array([1.0, 2.0] * 200), **inputs).run()
    assert sorted(result.slices) == ["1", "2"]
