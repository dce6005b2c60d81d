"""Data that cannot be read as an array gets a ModelshipError at every public entry point.

Each entry point is given, in one argument, a column that NumPy or the library holding it
cannot turn into an array of values (rows of lists of different lengths, mappings, an
arrow array whose indices point past its dictionary, complex numbers where reals are
needed, ...). The answer must be a :class:`ModelshipError` subclass that names what was
wrong, never NumPy's or arrow's own exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from modelship import fingerprint
from modelship._columns import Encoded, column_array, encoded_column
from modelship.checks import (
    Bias,
    DataDrift,
    Degradation,
    DriftProfile,
    PredictionDrift,
    Schema,
    stats,
)
from modelship.errors import CheckInputError, ModelshipError

ROWS = 60
rng = np.random.default_rng(7)
GOOD = rng.normal(size=ROWS)
LABELS = (GOOD > 0).astype(np.int64)
SORTED = np.sort(GOOD)


def damaged_arrow() -> Any:
    """A dictionary array whose indices point past its dictionary (built unchecked, as a
    corrupt file can give): arrow itself raises ArrowIndexError when it is read."""
    indices = pa.array(np.array([0, 1, 2_000_000] * (ROWS // 3), dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(["a", "b", "c"]), safe=False)


BAD: dict[str, Callable[[], Any]] = {
    "ragged lists": lambda: [[1.0, 2.0], [3.0]] * (ROWS // 2),
    "mappings": lambda: [{"a": 1}] * ROWS,
    "arrays in objects": lambda: np.array([np.ones(2)] * ROWS + [None], dtype=object)[:ROWS],
    "damaged arrow": damaged_arrow,
    "arrow lists": lambda: pa.array([[1, 2]] * ROWS),
    "arrow structs": lambda: pa.array([{"a": 1}] * ROWS),
    "polars lists": lambda: pl.Series("x", [[1, 2]] * ROWS),
    "pandas periods": lambda: pd.Series(pd.period_range("2020-01", periods=ROWS, freq="M")),
    "complex": lambda: np.ones(ROWS, dtype=complex),
}

# Each entry point, with the bad column in one of its arguments; everything else is valid.
ENTRY_POINTS: dict[str, Callable[[Any], object]] = {
    "DataDrift": lambda bad: DataDrift(reference={"x": bad}, current={"x": GOOD}).run(),
    "DataDrift, current": lambda bad: DataDrift(reference={"x": GOOD}, current={"x": bad}).run(),
    "DataDrift, unnamed": lambda bad: DataDrift(reference=bad, current=GOOD).run(),
    "PredictionDrift": lambda bad: PredictionDrift(reference=bad, current=GOOD).run(),
    "Schema.infer": lambda bad: Schema.infer({"x": bad}),
    "Schema.check": lambda bad: Schema.infer({"x": GOOD}).check({"x": bad}).run(),
    "DriftProfile.from_data": lambda bad: DriftProfile.from_data({"x": bad}),
    "Bias, sensitive": lambda bad: Bias(y_true=LABELS, y_pred=LABELS, sensitive=bad).run(),
    "Bias, y_pred": lambda bad: Bias(y_true=LABELS, y_pred=bad, sensitive=LABELS).run(),
    "Bias, regression": lambda bad: Bias(
        y_true=GOOD,
        y_pred=bad,
        sensitive=LABELS,
        task="regression",
        thresholds={"mean_error_difference": 1.0},
    ).run(),
    "Degradation": lambda bad: Degradation(
        y=LABELS, candidate_scores=bad, baseline_scores=GOOD, metrics=["accuracy"]
    ).run(),
    "Degradation, segments": lambda bad: Degradation(
        y=LABELS,
        candidate_scores=GOOD,
        baseline_scores=GOOD,
        metrics=["accuracy"],
        segments=bad,
    ).run(),
    "fingerprint": lambda bad: fingerprint({"x": bad}),
    "stats.ks": lambda bad: stats.ks(bad, SORTED),
    "stats.wasserstein": lambda bad: stats.wasserstein(SORTED, bad),
    "stats.cramervonmises": lambda bad: stats.cramervonmises(bad, SORTED),
    "stats.numeric_drift": lambda bad: stats.numeric_drift(bad, SORTED),
    "stats.sorted_finite": stats.sorted_finite,
    "stats.quantile_edges": stats.quantile_edges,
    "stats.binned_counts, edges": lambda bad: stats.binned_counts(SORTED, bad),
    "stats.psi": lambda bad: stats.psi(bad, np.ones(ROWS)),
    "stats.chi2": lambda bad: stats.chi2(np.ones(ROWS), bad),
    "stats.jensen_shannon": lambda bad: stats.jensen_shannon(bad, np.ones(ROWS)),
    "stats.adjust_p_values": lambda bad: stats.adjust_p_values(bad, "bh"),
    "stats.accuracy": lambda bad: stats.accuracy(LABELS, bad),
    "stats.roc_auc": lambda bad: stats.roc_auc(LABELS, bad),
    "stats.log_loss": lambda bad: stats.log_loss(bad, np.full(ROWS, 0.5)),
    "stats.rmse": lambda bad: stats.rmse(GOOD, bad),
    "stats.r2": lambda bad: stats.r2(bad, GOOD),
    "stats.delong": lambda bad: stats.delong(LABELS, bad, GOOD),
    "stats.mcnemar_exact": lambda bad: stats.mcnemar_exact(LABELS, LABELS, bad),
    "stats.paired_bootstrap": lambda bad: stats.paired_bootstrap(
        LABELS, bad, GOOD, "rmse", n_resamples=20
    ),
    "stats.ks_from_summary": lambda bad: stats.ks_from_summary(
        DriftProfile.from_data({"x": GOOD}).numeric["x"].summary, bad
    ),
}


# Pairs where the column is valid after all: a fingerprint hashes complex numbers, and
# periods (or complex numbers) are labels that groups and segments can be named by.
VALID = {
    ("complex", "fingerprint"),
    ("complex", "Degradation, segments"),
    ("pandas periods", "Bias, sensitive"),
    ("pandas periods", "Degradation, segments"),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("bad", sorted(BAD))
def test_data_that_is_not_an_array_of_values_is_a_modelship_error(entry: str, bad: str) -> None:
    if (bad, entry) in VALID:
        ENTRY_POINTS[entry](BAD[bad]())
        return
    with pytest.raises(ModelshipError) as raised:
        ENTRY_POINTS[entry](BAD[bad]())
    # A message of our own that says what to fix, not a library's bare exception.
    assert str(raised.value)
    assert not isinstance(raised.value, (IndexError, TypeError, KeyError))


def test_rows_of_different_lengths_are_named_as_such() -> None:
    with pytest.raises(CheckInputError, match=r"column 'age' of reference cannot be read.*"):
        DataDrift(reference={"age": [[1, 2], [3]] * 20}, current={"age": GOOD}).run()
    with pytest.raises(CheckInputError, match="lists or arrays\\) of different lengths"):
        Schema.infer({"age": [[1, 2], [3]] * 20})


def test_a_damaged_arrow_column_names_the_column_and_carries_arrows_reason() -> None:
    table = pa.table({"plan": damaged_arrow()})
    with pytest.raises(CheckInputError) as raised:
        DataDrift(reference=table, current=table).run()
    message = str(raised.value)
    assert "column 'plan'" in message
    assert "ArrowIndexError" in message


def test_codes_past_the_labels_are_not_counted_into_a_huge_table() -> None:
    # A code of two billion would make np.bincount allocate 16 GB; the check before the
    # count sends the column to the array route instead (which then reports the damage).
    encoded = encoded_column(pa.chunked_array([damaged_arrow()]))
    assert encoded is not None
    assert encoded.tally() is None
    wide = Encoded(np.array([0, 1, 2**40], dtype=np.int64), np.array(["a", "b"], dtype=object), [])
    assert wide.tally() is None


def test_complex_numbers_are_refused_not_cut_to_their_real_parts() -> None:
    with pytest.raises(CheckInputError, match="must be real numbers"):
        stats.ks(np.array([1 + 1j, 2 + 0j]), SORTED)


def test_unhashable_sensitive_values_are_named() -> None:
    with pytest.raises(CheckInputError, match="cannot be groups"):
        Bias(y_true=LABELS, y_pred=LABELS, sensitive=[{"a": 1}] * ROWS).run()


def test_arrow_booleans_are_read_as_labels_and_scores() -> None:
    # Arrow's to_numpy() refuses, by default, any array it cannot hand over without a
    # copy, and booleans are bit-packed: they are valid labels all the same.
    values = pa.array([True, False, True] * 20)
    result = Bias(y_true=values, y_pred=values, sensitive=["a", "b"] * 30).run()
    assert result.status.value == "pass"
    assert stats.accuracy(values, pa.array([True] * 60)) == 40 / 60
    assert column_array(values).shape == (60,)


def test_segments_that_hold_lists_are_named() -> None:
    with pytest.raises(CheckInputError, match="`segments` must hold one label per row"):
        Degradation(
            y=LABELS,
            candidate_scores=GOOD,
            baseline_scores=GOOD,
            metrics=["accuracy"],
            segments=np.array([[1, 2]] * ROWS + [None], dtype=object)[:ROWS],
        ).run()


@pytest.mark.parametrize(
    "sensitive",
    [
        pd.Series(pd.array([True, None, False] * 20, dtype="boolean")),
        pd.Series(["a", None, "b"] * 20, dtype="string"),
        ["a", None, "b"] * 20,
        pa.array(["a", None, "b"] * 20),
    ],
    ids=["pandas boolean", "pandas string", "list with None", "arrow string"],
)
def test_a_missing_sensitive_value_is_refused_in_every_form(sensitive: Any) -> None:
    # pandas' NA was taken for a group of its own ("<NA>") where None and NaN are refused.
    with pytest.raises(CheckInputError, match="20 missing values"):
        Bias(y_true=LABELS, y_pred=LABELS, sensitive=sensitive).run()


def test_a_long_double_column_is_compared_at_float64_precision() -> None:
    values = GOOD.astype(np.longdouble)
    as_long = DataDrift(reference={"x": values}, current={"x": values[::-1]}).run()
    as_double = DataDrift(reference={"x": GOOD}, current={"x": GOOD[::-1]}).run()
    assert as_long.columns["x"].statistic == as_double.columns["x"].statistic
    assert as_long.status == as_double.status
