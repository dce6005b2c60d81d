"""Every drift statistic of one numeric column at once, each sample checked and sorted once."""

from __future__ import annotations

import math
from typing import NamedTuple

import attrs
import numpy.typing as npt

from modelship._params import validate_params
from modelship.checks.stats._binned import (
    BINS,
    EPS,
    binned_counts_float,
    chi2_critical,
    psi_and_js,
    quantile_edges_sorted,
)
from modelship.checks.stats._columns import (
    FloatArray,
    readonly_copy,
    sorted_column,
)
from modelship.checks.stats._cvm import cramervonmises_sorted
from modelship.checks.stats._ks import ks_numerator, ks_pvalue
from modelship.checks.stats._wasserstein import wasserstein_and_std

__all__ = ["NumericDrift", "numeric_drift"]


@attrs.frozen
class NumericDrift:
    """Every drift statistic of one numeric column, as :func:`numeric_drift` returns it.

    Attributes
    ----------
    ks, ks_p : float
        Kolmogorov-Smirnov statistic and p-value (see :func:`ks`).
    wasserstein : float
        Wasserstein distance in data units (see :func:`wasserstein`).
    wasserstein_norm : float
        ``wasserstein`` divided by the reference's population standard deviation; for a
        constant reference, ``inf`` if the current sample differs from it, else 0.
    cvm, cvm_p : float or None
        Cramér-von Mises statistic and p-value, or None when not asked for.
    psi : float
        Population stability index over the reference-quantile bins.
    js : float
        Jensen-Shannon distance (base 2) over the same bins.
    psi_critical : float
        :func:`psi_critical_value` at q = 0.95 for these sizes and the bins used.
    edges : numpy.ndarray
        The inner bin edges (:func:`quantile_edges`); not compared by ``==``.

    Examples
    --------
    >>> d = numeric_drift([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5], bins=2)
    >>> type(d).__name__, round(d.ks, 4), d.cvm is None
    ('NumericDrift', 0.25, True)
    """

    ks: float
    ks_p: float
    wasserstein: float
    wasserstein_norm: float
    cvm: float | None
    cvm_p: float | None
    psi: float
    js: float
    psi_critical: float
    edges: FloatArray = attrs.field(eq=False, converter=readonly_copy)


@validate_params(bins=BINS, eps=EPS)
def numeric_drift(
    a: npt.ArrayLike, b: npt.ArrayLike, *, bins: int = 10, eps: float = 1e-4, cvm: bool = False
) -> NumericDrift:
    """Compute every numeric drift statistic of a reference and a current sample at once.

    Each sample is checked once and each statistic reuses the sorted order; the result is
    the same as calling :func:`ks`, :func:`wasserstein`, :func:`quantile_edges`,
    :func:`binned_counts`, :func:`psi`, :func:`jensen_shannon` (PSI and JS share the
    reference-quantile bins) and optionally :func:`cramervonmises` one by one.

    Parameters
    ----------
    a, b : array_like
        Reference and current samples, sorted, finite, float64 (see :func:`sorted_finite`).
    bins : int, default 10
        Number of reference-quantile bins for PSI and JS.
    eps : float, default 1e-4
        Proportion floor for PSI.
    cvm : bool, default False
        Also run the Cramér-von Mises test (it needs mid-ranks, which cost several binary
        searches per value, so it is off by default).

    Returns
    -------
    NumericDrift
        All statistics. ``wasserstein_norm`` divides by the reference's population standard
        deviation; when the reference is constant it is ``inf`` if the current sample
        differs from the reference and ``0.0`` if it equals it.

    Raises
    ------
    EmptyData
        If a sample is empty.
    CheckInputError
        If a sample is not sorted or not finite, or has one value while ``cvm`` is True.
    ConfigError
        If ``bins`` or ``eps`` is out of range.

    Examples
    --------
    >>> d = numeric_drift([1.0, 2.0, 3.0, 4.0], [3.5, 5.0, 6.0], bins=2)
    >>> round(d.ks, 4), round(d.wasserstein, 4), d.edges
    (0.75, 2.3333, array([2.]))
    """
    a = sorted_column(a, "a")
    b = sorted_column(b, "b")
    figures = numeric_figures(a, b, bins, eps, cvm=cvm)
    return NumericDrift(
        ks=figures.ks,
        ks_p=figures.ks_p,
        wasserstein=figures.wasserstein,
        wasserstein_norm=figures.wasserstein_norm,
        cvm=figures.cvm,
        cvm_p=figures.cvm_p,
        psi=figures.psi,
        js=figures.js,
        psi_critical=figures.psi_critical,
        edges=figures.edges,
    )


class NumericFigures(NamedTuple):
    """:class:`NumericDrift`'s fields, as :func:`numeric_figures` computes them (a tuple,
    built without validation or copying: the drift check makes one per column)."""

    ks: float
    ks_p: float
    wasserstein: float
    wasserstein_norm: float
    cvm: float | None
    cvm_p: float | None
    psi: float
    js: float
    psi_critical: float
    edges: FloatArray


def numeric_figures(
    a: FloatArray, b: FloatArray, bins: int, eps: float, *, cvm: bool = False
) -> NumericFigures:
    """:func:`numeric_drift` of two samples already known to be sorted, finite, float64 and
    non-empty, with ``bins`` and ``eps`` already checked: nothing is validated again."""
    d, d_p, distance, normalised = ks_and_wasserstein(a, b)
    psi, js, psi_critical, edges = binned_figures(a, b, bins, eps)
    cvm_stat, cvm_p = cramervonmises_sorted(a, b) if cvm else (None, None)
    return NumericFigures(
        ks=d,
        ks_p=d_p,
        wasserstein=distance,
        wasserstein_norm=normalised,
        cvm=cvm_stat,
        cvm_p=cvm_p,
        psi=psi,
        js=js,
        psi_critical=psi_critical,
        edges=edges,
    )


def ks_and_wasserstein(a: FloatArray, b: FloatArray) -> tuple[float, float, float, float]:
    """``(ks, ks_p, wasserstein, wasserstein_norm)`` of :func:`numeric_figures`, for the
    same samples (checked already); a drift check asks for these of every numeric column.

    Raises
    ------
    CheckInputError
        When the Wasserstein distance overflows float64.
    """
    n, m = a.size, b.size
    numerator = ks_numerator(a, b)
    d, d_p = ks_pvalue(numerator / (n * m), n, m)
    distance, spread = wasserstein_and_std(a, b)
    # Python's float division is the same IEEE division as NumPy's, and it too gives inf
    # on overflow (no error, no warning to silence): the same number, without the errstate
    # and the two NumPy scalars it took per column. A constant reference has no spread.
    if spread > 0.0:
        return d, d_p, distance, distance / spread
    return d, d_p, distance, math.inf if numerator > 0 else 0.0


def binned_figures(
    a: FloatArray, b: FloatArray, bins: int, eps: float
) -> tuple[float, float, float, FloatArray]:
    """``(psi, js, psi_critical, edges)`` of :func:`numeric_figures`, for the same samples
    and settings (checked already).

    Kept apart because a drift check needs them only when PSI or Jensen-Shannon decides a
    column or is its effect size; nothing here can raise on such samples, so leaving them
    out changes no other figure and no error.
    """
    edges = quantile_edges_sorted(a, bins)
    psi, js = psi_and_js(binned_counts_float(a, edges), binned_counts_float(b, edges), eps)
    return psi, js, chi2_critical(a.size, b.size, edges.size + 1), edges
