"""Stop 37: the KS statistic is the exact maximum, correctly rounded (the docstring said
"SciPy's exactly", which SciPy's asymptotic regime is not, by one bit)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from modelship.checks import stats


def _exact_statistic(a: np.ndarray, b: np.ndarray) -> Fraction:  # type: ignore[type-arg]
    """max |F_a - F_b| over every value of either sample, in integers."""
    n, m = a.size, b.size
    points = np.concatenate([a, b])
    at_or_below_a = np.searchsorted(a, points, "right").astype(object)
    at_or_below_b = np.searchsorted(b, points, "right").astype(object)
    k = max(abs(int(i) * m - int(c) * n) for i, c in zip(at_or_below_a, at_or_below_b, strict=True))
    return Fraction(k, n * m)


@pytest.mark.parametrize("seed", range(8))
def test_the_asymptotic_statistic_is_correctly_rounded_and_within_a_bit_of_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = np.sort(rng.normal(size=10_001)), np.sort(rng.normal(0.3, 1, size=3))
    d, _ = stats.ks(a, b)
    assert d == float(_exact_statistic(a, b))
    assert abs(d - float(sps.ks_2samp(a, b).statistic)) <= np.spacing(d)


def test_in_the_exact_regime_the_statistic_is_scipys_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(size=997)), np.sort(rng.normal(0.1, 1, size=13))
    assert stats.ks(a, b)[0] == float(sps.ks_2samp(a, b).statistic)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [([1e300, 1e300], [1e300, 1.0]), ([1e160, 2e160, 3e160], [3e160, 2e160, 1e160])],
)
def test_chi2_of_counts_whose_statistic_overflows_is_an_error_not_nan(
    ref: list[float], cur: list[float]
) -> None:
    from modelship.errors import CheckInputError

    # It answered (nan, nan): a "verdict" of no number at all.
    with pytest.raises(CheckInputError, match="not finite"):
        stats.chi2(ref, cur)


def test_chi2_of_ordinary_counts_is_still_scipys() -> None:
    from scipy.stats import chi2_contingency

    ref, cur = [30.0, 20.0, 50.0], [25.0, 35.0, 40.0]
    expected = chi2_contingency(np.vstack([ref, cur]))
    assert stats.chi2(ref, cur) == (float(expected[0]), float(expected[1]))
