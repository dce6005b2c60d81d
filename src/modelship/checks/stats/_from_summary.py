"""Drift statistics of a current sample against a reference known only by its quantile summary.

Each result is within a proven bound of the exact statistic on the full reference
(:attr:`QuantileSummary.cdf_error`, :attr:`QuantileSummary.wasserstein_error`), and PSI is
exact when the bins divide the stored quantiles.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from modelship._params import validate_params
from modelship.checks.stats._binned import (
    BINS,
    EPS,
    binned_counts_sorted,
    psi_counts,
    quantile_edges_sorted,
)
from modelship.checks.stats._columns import dot, sorted_column
from modelship.checks.stats._ks import ks_pvalue
from modelship.checks.stats._sketch import QuantileSummary
from modelship.checks.stats._wasserstein import overflow_error
from modelship.errors import CheckInputError

__all__ = ["ks_from_summary", "psi_from_summary", "wasserstein_from_summary"]


def _check_summary_type(summary: object) -> QuantileSummary:
    if not isinstance(summary, QuantileSummary):
        raise CheckInputError(f"expected a QuantileSummary, got {type(summary).__name__}")
    return summary


def ks_from_summary(summary: QuantileSummary, b: npt.ArrayLike) -> tuple[float, float]:
    """KS test of a current sample against a reference known only by its summary.

    The statistic is ``max_x |F(x) - F_b(x)|`` with the summary's CDF estimate ``F``, so
    it differs from ``ks(a, b)`` by at most ``summary.cdf_error`` (< 1/(2(k-1)); 0.0005
    for the default 1001 quantiles). The p-value is :func:`ks`'s, for the true sizes
    ``summary.n`` and ``len(b)``, of the smallest statistic the exact one can be
    (``max(statistic - cdf_error, 0)``; in exact mode the nearest value ``h / lcm(n, m)``
    it can take): at least the exact p-value, so a test against a profile never alarms
    more often than its level. (Of the statistic itself it did: at 1M rows the error is a
    quarter of the 5% critical value, and 11 of 40 samples of one distribution drifted.)

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.

    Returns
    -------
    statistic, pvalue : float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite.

    Examples
    --------
    >>> from modelship.checks.stats import QuantileSummary, ks
    >>> ref = [float(v) for v in range(1000)]
    >>> s = QuantileSummary.from_sorted(ref, size=101)  # 1 value in 10 kept
    >>> cur = [v * 1.1 for v in ref]
    >>> approx, _ = ks_from_summary(s, cur)
    >>> exact, _ = ks(ref, cur)
    >>> round(approx, 4), round(exact, 4), s.cdf_error
    (0.0945, 0.091, 0.0045)
    """
    summary = _check_summary_type(summary)
    b = sorted_column(b, "b")
    points = np.concatenate((summary.quantiles, b))
    gap = np.abs(summary._cdf(points) - np.searchsorted(b, points, side="right") / b.size)
    statistic = float(gap.max())
    # The exact p-value needs an attainable statistic: it uses the nearest one.
    _, p = ks_pvalue(max(statistic - summary.cdf_error, 0.0), summary.n, b.size)
    return statistic, p


def wasserstein_from_summary(
    summary: QuantileSummary, b: npt.ArrayLike, *, lower: bool = False
) -> float:
    """Wasserstein distance of a current sample to a reference known by its summary.

    The area between the summary's CDF estimate and ``F_b``; it differs from
    ``wasserstein(a, b)`` by at most ``summary.wasserstein_error``
    (<= ``cdf_error * (max - min)`` of the reference).

    With ``lower``, the smallest distance any reference with this summary can be at: the
    summary bounds ``F_a`` between two stored quantiles to a band, and only where ``F_b``
    leaves the band is area counted. It is never above the exact distance (nor below it
    by more than ``2 * wasserstein_error``). The drift check decides on it, as it decides
    on the KS p-value of the smallest statistic: a profile never makes a column drift
    that its data would not. On heavy tails the estimate is biased up (the last band
    spans the longest gap): a lognormal of sigma 2 against itself at a million rows, as a
    share of its standard deviation, estimated 0.20 (over the 0.1 effect threshold) where
    the exact distance is 0.0019 and the lower one 0.0002.

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.
    lower : bool, default False
        Return the smallest distance the summary allows instead of the estimate.

    Returns
    -------
    float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite, or the distance overflows float64.

    Examples
    --------
    >>> from modelship.checks.stats import QuantileSummary, wasserstein
    >>> ref = [float(v) for v in range(1000)]
    >>> s = QuantileSummary.from_sorted(ref, size=101)
    >>> cur = [v * 1.1 for v in ref]
    >>> approx, exact = wasserstein_from_summary(s, cur), wasserstein(ref, cur)
    >>> round(approx, 2), round(exact, 2), round(s.wasserstein_error, 3)
    (49.99, 49.95, 4.491)
    >>> round(wasserstein_from_summary(s, cur, lower=True), 2)
    45.6
    """
    summary = _check_summary_type(summary)
    b = sorted_column(b, "b")
    if not isinstance(lower, bool):
        raise CheckInputError(f"lower must be True or False, got {type(lower).__name__}")
    points = np.sort(np.concatenate((summary.quantiles, b)))
    with np.errstate(over="ignore", invalid="ignore"):
        widths = np.diff(points)
        # Both CDFs are constant on each [points_i, points_i+1).
        current = np.searchsorted(b, points[:-1], side="right") / b.size
        if lower:
            band_low, band_high = summary._cdf_band(points[:-1])
            gap = np.maximum(np.maximum(band_low - current, current - band_high), 0.0)
        else:
            gap = np.abs(summary._cdf(points[:-1]) - current)
        distance = dot(gap, widths)
    if not math.isfinite(distance):
        raise overflow_error()
    return distance


@validate_params(bins=BINS, eps=EPS)
def psi_from_summary(
    summary: QuantileSummary, b: npt.ArrayLike, bins: int = 10, eps: float = 1e-4
) -> float:
    """PSI of a current sample against a reference known by its summary.

    The bins are ``quantile_edges(summary.quantiles, bins)``. When ``bins`` divides
    ``k - 1`` (the default 1001 quantiles: any divisor of 1000, deciles included) these
    are exactly the edges ``quantile_edges(a, bins)`` of the full reference, and the
    reference counts per bin are known exactly from ``ranks``, so the result **equals**
    the exact PSI. Otherwise the edges are the stored order statistics at levels
    ``floor(j (k-1) / bins) / (k-1)``, just below the wanted ``j / bins``, and the result
    is the exact PSI of slightly shifted bins: the reference counts of those bins are
    still exact, and without ties each edge's reference CDF level is within
    ``1/(k-1) + 1/n`` of the exact edge's, so each bin's reference proportion moves by
    less than ``2/(k-1) + 2/n``.

    Parameters
    ----------
    summary : QuantileSummary
        The reference.
    b : array_like
        Current sample, sorted, finite, float64.
    bins : int, default 10
        Number of bins.
    eps : float, default 1e-4
        Proportion floor, as in :func:`psi`.

    Returns
    -------
    float

    Raises
    ------
    EmptyData
        If ``b`` is empty.
    CheckInputError
        If ``b`` is not sorted or not finite.
    ConfigError
        If ``bins`` or ``eps`` is out of range.

    Examples
    --------
    >>> from modelship.checks.stats import QuantileSummary, binned_counts, psi, quantile_edges
    >>> ref = [float(v) for v in range(1000)]
    >>> cur = [v * 1.5 for v in ref]
    >>> s = QuantileSummary.from_sorted(ref)
    >>> edges = quantile_edges(ref)
    >>> exact = psi(binned_counts(ref, edges), binned_counts(cur, edges))
    >>> psi_from_summary(s, cur) == exact
    True
    """
    summary = _check_summary_type(summary)
    b = sorted_column(b, "b")
    edges = quantile_edges_sorted(summary.quantiles, bins)
    ref_counts = summary.bin_counts(edges)
    cur_counts = binned_counts_sorted(b, edges).astype(np.float64)
    return psi_counts(ref_counts, cur_counts, eps)
