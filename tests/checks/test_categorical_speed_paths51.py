"""Boolean categories are counted by ``np.count_nonzero``, integer codes by ``np.bincount``
behind an exact range guard: each gives what counting the values one by one gives.

A boolean is True for any nonzero byte (NumPy's reading): a view of other data holding a
byte of 2 or 255 is True there, counted with the other True values, not as a second label.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelship.checks import DataDrift
from modelship.checks._tabular import Column, ColumnKind, _code_tally

rng = np.random.default_rng(20261207)


def _expected(values: np.ndarray[Any, Any]) -> dict[str, int]:
    """``{label: count}`` by Python's Counter over the values as Python reads them."""
    counts = Counter(str(value) for value in values.tolist())
    return dict(sorted(counts.items()))


def _counts(values: np.ndarray[Any, Any]) -> tuple[dict[str, int], int]:
    return Column("c", ColumnKind.CATEGORICAL, str(values.dtype), values=values).category_counts()


def _bool_view(raw: list[int]) -> np.ndarray[Any, Any]:
    return np.array(raw, dtype=np.uint8).view(np.bool_)


@pytest.mark.parametrize(
    "raw",
    [
        [0, 1, 2, 1, 0, 255],
        [2, 3, 4] * 40 + [0] * 7,
        [0, 0, 200] * 50,
    ],
)
def test_a_bool_byte_other_than_one_is_true_and_counted_with_the_others(raw: list[int]) -> None:
    values = _bool_view(raw)
    true = sum(1 for byte in raw if byte)
    counts, missing = _counts(values)
    assert counts == {"False": len(raw) - true, "True": true}
    assert missing == 0
    assert sum(counts.values()) == len(raw)


def test_drift_reads_a_bool_view_as_numpy_does() -> None:
    # 2/3 True on both sides, the reference's True bytes being 1 or 2: no drift.
    reference = _bool_view([0, 1, 2] * 200)
    current = _bool_view([0, 1, 1] * 200)
    result = DataDrift(
        reference={"b": reference}, current={"b": current}, kinds={"b": "categorical"}
    ).run()
    column = result.columns["b"]
    assert column.statistic == 0.0
    assert column.status.value == "pass"


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("size", [1, 7, 64, 1000, 70_001])
def test_bool_counts_match_counting_one_by_one(share: float, size: int) -> None:
    values = rng.random(size) < share
    ahead = Column("c", ColumnKind.CATEGORICAL, "bool", values=values)
    assert ahead.count_codes() == len(set(values.tolist()))
    assert ahead.category_counts() == (_expected(values), 0)
    strided = values[::3]
    assert _counts(strided) == (_expected(strided), 0)


@pytest.mark.parametrize(
    "dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
)
@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 50), (-30, 30), (65_500, 65_600), (0, 1 << 40), (-(1 << 40), 1 << 40)],
)
def test_integer_counts_match_counting_one_by_one(dtype: str, low: int, high: int) -> None:
    info = np.iinfo(dtype)
    low, high = max(low, int(info.min)), min(high, int(info.max))
    if low >= high:
        pytest.skip("range outside the dtype")
    values = rng.integers(low, high, 3000, dtype=dtype)
    values[0] = info.max  # the widest code the dtype holds, once
    assert _counts(values) == (_expected(values), 0)


def test_a_code_beyond_the_span_is_sorted_not_counted_into_a_huge_tally() -> None:
    # bincount would allocate max + 1 slots (here 8 TB): the guard sends such a column
    # to the sort, with the same counts.
    values = np.array([0, 1, 5, 1 << 40] * 100, dtype=np.int64)
    assert _code_tally(values) is None
    assert _counts(values) == (_expected(values), 0)
    within = np.arange(70_000, dtype=np.int64)  # the span grows with the column
    tally = _code_tally(within)
    assert tally is not None
    assert len(tally[0]) == 70_000


def test_empty_and_uint64_columns_are_not_tallied() -> None:
    assert _code_tally(np.array([], dtype=np.int64)) is None
    assert _code_tally(np.array([], dtype=np.bool_)) is None
    assert _code_tally(np.array([1, 2], dtype=np.uint64)) is None


def test_other_kinds_of_categories_keep_their_counts() -> None:
    labels = np.array(["a", "b", "c"], dtype=object)
    codes = rng.integers(0, 3, 600)
    text = labels[codes]
    assert _counts(text) == (_expected(text), 0)
    with_none = text.copy()
    with_none[::10] = None
    counts, missing = _counts(with_none)
    assert missing == 60
    assert counts == _expected(np.array([v for v in with_none if v is not None], dtype=object))
    floats = codes.astype(np.float64)
    floats[::7] = np.nan
    counts, missing = _counts(floats)
    assert missing == len(floats[::7])
    assert sum(counts.values()) == len(floats) - missing
    frame = pd.DataFrame({"c": pd.Categorical.from_codes(codes, ["x", "y", "z"])})
    result = DataDrift(reference=frame, current=frame, kinds={"c": "categorical"}).run()
    assert result.columns["c"].statistic == 0.0


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32", ">i8", ">i4", ">u4"])
@pytest.mark.parametrize(
    "codes",
    [
        [0, 1, 1, 0, 1],  # a flag: counted by count_nonzero
        [0, 0, 0],
        [1, 1],
        [0, 1, 2, 1],
        [-1, 0, 1],  # negative: counted from the smallest
        [-3, 1, 1, 5],
    ],
)
def test_wide_integer_flags_and_negative_codes_match_counting_one_by_one(
    dtype: str, codes: list[int]
) -> None:
    if np.dtype(dtype).kind == "u" and min(codes) < 0:
        pytest.skip("negative codes in an unsigned dtype")
    values = np.array(codes * 50, dtype=dtype)
    ahead = Column("c", ColumnKind.CATEGORICAL, str(values.dtype), values=values)
    assert ahead.count_codes() == len(set(codes))
    assert ahead.category_counts() == (_expected(values), 0)
    assert _counts(values[::2]) == (_expected(values[::2]), 0)


def test_negative_codes_too_wide_for_a_tally_are_sorted() -> None:
    values = np.array([-(1 << 20), 0, 1 << 20] * 10, dtype=np.int64)
    assert _code_tally(values) is None
    assert _counts(values) == (_expected(values), 0)
    within = np.array([-5, 0, 3] * 10, dtype=np.int64)
    tally = _code_tally(within)
    assert tally is not None
    assert tally[2] == -5
