"""Review 38: the chi-squared overflow message names the counts given, not a NaN."""

from __future__ import annotations

import warnings

import pytest

from modelship.checks import stats
from modelship.errors import CheckInputError


def test_chi2_overflow_message_names_the_largest_given_count() -> None:
    # Yates' correction (two categories) turns the overflowing cells into NaN; the message
    # used to report that NaN as "the largest count".
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the sums overflow, as they must
        with pytest.raises(CheckInputError) as caught:
            stats.chi2([1e308, 1e308], [1e308, 1.0])
    message = str(caught.value)
    assert "the largest count is 1e+308;" in message
    assert "nan" not in message
