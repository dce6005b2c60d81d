"""A flag held as booleans on one side and as numbers 0/1 on the other is the same flag.

A flag saved as bool in training and read back as int (``.astype(int)``), float or a
pandas ``Int8`` in a batch once failed as 100% drifted ("unseen categories: '1', '0'")
when the reference held the booleans, and passed when the current data did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, PredictionDrift

FLAG = np.random.default_rng(51).random(400) > 0.4


def _int8_with_missing(flag: np.ndarray) -> pd.Series:
    series = pd.Series(flag.astype(int)).astype("Int8")
    series[series.index[:3]] = pd.NA
    return series


NUMBERS = {
    "int64": lambda flag: flag.astype(int),
    "uint8": lambda flag: flag.astype(np.uint8),
    "float64": lambda flag: flag.astype(float),
    "float32": lambda flag: flag.astype(np.float32),
    "Int8 with NA": _int8_with_missing,
    "float with NaN": lambda flag: np.where(np.arange(len(flag)) < 3, np.nan, flag),
}


@pytest.mark.parametrize("form", list(NUMBERS))
def test_boolean_reference_numbers_zero_one_current_do_not_drift(form: str) -> None:
    result = DataDrift(reference={"is_new": FLAG}, current={"is_new": NUMBERS[form](FLAG)}).run()
    column = result.columns["is_new"]
    assert result.status.value == "pass", column.reason
    assert column.kind == "categorical"
    assert "unseen" not in column.reason


@pytest.mark.parametrize("form", ["int64", "float64", "Int8 with NA"])
def test_boolean_profile_numbers_current_do_not_drift(form: str) -> None:
    profile = DriftProfile.from_json(DriftProfile.from_data({"is_new": FLAG}).to_json())
    result = DataDrift(reference=profile, current={"is_new": NUMBERS[form](FLAG)}).run()
    assert result.status.value == "pass", result.columns["is_new"].reason


@pytest.mark.parametrize(
    "options", [{"categorical_max_unique": 5}, {"kinds": {"f": "categorical"}}]
)
def test_numbers_compared_as_categories_against_current_booleans(options: dict) -> None:
    # The reference's labels are "0" and "1": current booleans are read as those.
    reference = {"f": FLAG.astype(int)}
    result = DataDrift(reference=reference, current={"f": FLAG}, **options).run()
    assert result.status.value == "pass", result.columns["f"].reason
    profile = DriftProfile.from_data(reference, **options)
    assert DataDrift(reference=profile, current={"f": FLAG}).run().status.value == "pass"


def test_either_side_holding_the_booleans_gives_the_same_verdict() -> None:
    # The verdict and p-value of two boolean columns, whichever form the current one has.
    shifted = np.random.default_rng(7).random(400) > 0.5
    one = DataDrift(reference={"f": FLAG}, current={"f": shifted.astype(int)}).run()
    other = DataDrift(reference={"f": FLAG}, current={"f": shifted}).run()  # both booleans
    assert one.status is other.status
    assert one.columns["f"].p_value == pytest.approx(other.columns["f"].p_value)


def test_prediction_drift_reads_a_flag_either_way() -> None:
    for reference, current in ((FLAG, FLAG.astype(int)), (FLAG.astype(int), FLAG)):
        result = PredictionDrift(reference=reference, current=current).run()
        assert result.status.value == "pass", result.reason
    profile = ms.monitor.prediction_profile(FLAG)
    assert PredictionDrift(reference=profile, current=FLAG.astype(float)).run().status.value == (
        "pass"
    )


@pytest.mark.parametrize(("value", "shown"), [(2, "(2)"), (0.5, "(0.5)")])
def test_numbers_other_than_zero_and_one_against_booleans_drift(value: float, shown: str) -> None:
    current = np.r_[FLAG[:-1].astype(float if value == 0.5 else int), value]
    result = DataDrift(reference={"is_new": FLAG}, current={"is_new": current}).run()
    column = result.columns["is_new"]
    assert (column.status.value, column.drifted) == ("fail", True)
    assert column.reason.startswith("drifted: booleans in the reference but")
    assert ("float64" if value == 0.5 else "int64") in column.reason
    assert shown in column.reason
    assert "kinds={'is_new': 'numeric'}" in column.reason
    assert "exclude=['is_new']" in column.reason
    declared = DataDrift(
        reference={"is_new": FLAG}, current={"is_new": current}, kinds={"is_new": "numeric"}
    )
    assert declared.run().columns["is_new"].kind == "numeric"


def test_drift_against_a_profile_and_for_predictions() -> None:
    current = np.r_[FLAG[:-1].astype(int), 2]
    profile = DriftProfile.from_data({"is_new": FLAG})
    column = DataDrift(reference=profile, current={"is_new": current}).run().columns["is_new"]
    assert column.drifted
    assert "reference profile" in column.reason
    assert "make the profile again" in column.reason
    prediction = PredictionDrift(reference=FLAG, current=current).run()
    assert prediction.status.value == "fail"
    assert "kind='numeric'" in prediction.columns["prediction"].reason
    assert PredictionDrift(reference=FLAG, current=current, kind="numeric").run().status.value


def test_numeric_reference_keeps_comparing_numbers() -> None:
    # A numeric reference is untouched: current booleans are its numbers 0 and 1.
    result = DataDrift(reference={"f": FLAG.astype(int)}, current={"f": FLAG}).run()
    assert result.columns["f"].kind == "numeric"
    assert result.status.value == "pass"
    # Values other than 0 and 1 in a numeric reference are no error: they are numbers.
    wide = np.r_[FLAG[:-1].astype(int), 2]
    assert DataDrift(reference={"f": wide}, current={"f": FLAG}).run().status.value == "pass"
