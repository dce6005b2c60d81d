"""Integer columns of every width give the groups and counts that int64 gives.

Narrow integer types wrap where int64 does not (int8 from -100 to 100 spans 200, and -1
read as unsigned 8 bits is 255), and uint64 does not mix with signed codes: every route
that codes a column by its values must get the same answer as for the same values in
int64, or refuse them the way it refuses them there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelship._columns import Encoded
from modelship.checks import Bias, DataDrift, stats
from modelship.errors import CheckInputError

rng = np.random.default_rng(11)
N = 2000
Y_TRUE = rng.integers(0, 2, N)
Y_PRED = rng.integers(0, 2, N)
A = np.repeat([0, 1], N // 2)


def groups(sensitive: Any) -> dict[str, int]:
    result = Bias(y_true=Y_TRUE, y_pred=Y_PRED, sensitive=sensitive).run()
    return {name: group.count for name, group in result.groups.items()}


@pytest.mark.parametrize(
    ("narrow", "scale"),
    [
        (lambda v: v.astype(np.int8), 1),
        (lambda v: pd.array(v, dtype="Int8"), 1),
        (lambda v: v.astype(np.int16), 300),
    ],
    ids=["int8", "pandas Int8", "int16"],
)
def test_two_features_one_narrow_and_spanning_its_range_group_as_int64_does(
    narrow: Any, scale: int
) -> None:
    # Values from -100 * scale to 100 * scale: more than half the narrow type's range.
    b = np.where((A == 1) & (rng.random(N) < 0.5), 100, -100) * scale
    assert groups({"a": A, "b": narrow(b)}) == groups({"a": A, "b": b})


def test_negative_int8_values_of_one_feature_group_as_int64_does() -> None:
    values = rng.integers(-3, 3, N)
    assert groups(values.astype(np.int8)) == groups(values)
    assert groups(pd.array(values, dtype="Int8")) == groups(values)


def test_a_uint64_feature_among_several_groups_as_int64_does() -> None:
    values = np.tile([5, 6], N // 2)
    other = np.tile(["x", "y", "z", "w"], N // 4)
    expected = groups({"a": values, "b": other})
    assert groups({"a": values.astype(np.uint64), "b": other}) == expected


def test_uint64_codes_are_counted() -> None:
    codes = np.array([0, 2, 2, 1], dtype=np.uint64)
    counts, missing = Encoded(codes, np.array(["a", "b", "c"], dtype=object), None).tally()  # type: ignore[misc]
    assert counts.tolist() == [1, 1, 2]
    assert missing == 0


def test_an_arrow_index_of_minus_one_is_damage_for_drift_as_for_bias() -> None:
    # -1 means "missing" only in pandas' categorical codes; in arrow it is out of bounds.
    indices = pa.array([0, 1, 2] * 99 + [-1, 0, 1], pa.int8())
    damaged = pa.DictionaryArray.from_arrays(indices, pa.array(["a", "b", "c"]), safe=False)
    with pytest.raises(CheckInputError, match="cannot be read as an array"):
        DataDrift(reference={"x": damaged}, current={"x": damaged}).run()
    with pytest.raises(CheckInputError, match="cannot be read as an array"):
        Bias(y_true=np.tile([0, 1], 150), y_pred=np.tile([1, 1, 0], 100), sensitive=damaged).run()


def test_a_pandas_categorical_still_counts_minus_one_as_missing() -> None:
    column = pd.Series(pd.Categorical(["a", None, "b", "a"] * 20))
    result = DataDrift(reference={"x": column}, current={"x": column}).run()
    assert result.columns["x"].details["missing_rate"] == [0.25, 0.25]


def test_an_int_beyond_float64_is_a_check_input_error() -> None:
    values = [1.0, 2.0, 10**400]
    with pytest.raises(CheckInputError, match="must be numbers: int too large"):
        stats.ks(values, [1.0, 2.0])
    with pytest.raises(CheckInputError, match="is not a float64 number"):
        DataDrift(
            reference={"x": values * 10}, current={"x": values * 10}, kinds={"x": "numeric"}
        ).run()


def test_a_message_about_a_value_that_is_not_a_number_shows_at_most_100_characters() -> None:
    with pytest.raises(CheckInputError) as caught:
        stats.ks(["1", "x" * 1_000_000], [1.0])
    assert len(str(caught.value)) < 150
