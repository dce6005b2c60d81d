"""Review 47: public fairness statistics refuse unreadable input with a CheckInputError
naming the argument (docs/checks.md), never Python's TypeError or MemoryError."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.checks import stats
from modelship.errors import CheckInputError, InvalidParameter

RATES = stats.group_rates([[40, 10, 10, 40], [45, 5, 30, 20]])
POINT = stats.disparities(RATES)


@pytest.mark.parametrize("rates", [None, 3, "selection_rate", [0.1, 0.2]])
def test_disparities_of_a_non_mapping_raises_check_input_error_naming_rates(rates: Any) -> None:
    with pytest.raises(CheckInputError, match=r"^rates must be a mapping .*group_rates\(\)"):
        stats.disparities(rates)


@pytest.mark.parametrize("given", [None, 3, "demographic_parity_difference", [0.1]])
def test_estimate_disparities_of_a_non_mapping_point_raises_naming_point(given: Any) -> None:
    with pytest.raises(CheckInputError, match=r"^point must be a mapping .*disparities\(\)"):
        stats.estimate_disparities(given, POINT, confidence=0.9)


@pytest.mark.parametrize("given", [None, 3, [0.1]])
def test_estimate_disparities_of_a_non_mapping_resampled_raises_naming_resampled(
    given: Any,
) -> None:
    with pytest.raises(CheckInputError, match=r"^resampled must be a mapping "):
        stats.estimate_disparities(POINT, given, confidence=0.9)


def test_estimate_disparities_names_mismatched_keys_of_several_types() -> None:
    point = {1: np.array(0.1), "a": np.array(0.2)}
    with pytest.raises(CheckInputError, match=r"only in point: \['a', 1\]"):
        stats.estimate_disparities(point, {}, confidence=0.9)


def test_confusion_table_with_far_more_groups_than_rows_raises_before_allocating() -> None:
    codes = np.array([0, 1])
    with pytest.raises(CheckInputError, match=r"^n_groups=1,000,000,000,000 is more groups"):
        stats.confusion_table(codes, 10**12, [0, 1], [0, 1])


def test_confusion_table_keeps_groups_without_rows_up_to_the_allowance() -> None:
    # One row per group and 2**20 empty groups more are allowed; one more is refused.
    codes = np.array([0, 1])
    limit = len(codes) + (1 << 20)
    table = stats.confusion_table(codes, limit, [0, 1], [0, 1])
    assert table.shape == (limit, 4)
    assert table[:2].tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    assert not table[2:].any()
    with pytest.raises(CheckInputError, match="factorize"):
        stats.confusion_table(codes, limit + 1, [0, 1], [0, 1])


def test_confusion_table_with_no_group_raises_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"^n_groups=0 is not allowed.*>= 1"):
        stats.confusion_table(np.array([], dtype=np.intp), 0, [], [])
