"""Quantile summaries: a few hundred numbers that stand in for a reference sample.

A drift profile stores a :class:`QuantileSummary` of each numeric reference column instead
of the column itself. The summary knows the reference CDF to within a proven bound
(:attr:`QuantileSummary.cdf_error`), which bounds how far the statistics of
:mod:`modelship.checks.stats` computed from it (``ks_from_summary``,
``wasserstein_from_summary``, ``psi_from_summary``) can be from the exact ones.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from modelship._params import Interval, validate_params
from modelship.checks.stats._columns import (
    FloatArray,
    IntArray,
    readonly_copy,
    sorted_column,
)
from modelship.errors import CheckInputError

__all__ = ["QuantileSummary"]


def _readonly_ints(x: npt.ArrayLike) -> IntArray:
    try:
        given = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise CheckInputError(f"ranks must be an array of integers: {exc}") from None
    if given.dtype.kind not in "iu":
        # Python ints beyond int64 make an object array: no count of values is that big.
        raise CheckInputError(f"ranks must be integers within int64, got {given.dtype}")
    if given.dtype.kind == "u" and given.size and int(given.max()) > np.iinfo(np.int64).max:
        raise CheckInputError("ranks must be integers within int64")
    array = np.array(given, dtype=np.int64)
    array.flags.writeable = False
    return array


def _readonly_floats(x: npt.ArrayLike) -> FloatArray:
    try:
        return readonly_copy(x)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckInputError(f"quantiles must be numbers: {exc}") from None


def _sample_size(n: object) -> int:
    if isinstance(n, bool):
        raise CheckInputError(f"n must be an integer count of values, got {n!r}")
    try:
        return operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        raise CheckInputError(
            f"n must be an integer count of values, got {type(n).__name__} {n!r:.80}"
        ) from None


def _json_numbers(what: str, values: Any, types: tuple[type, ...]) -> None:
    """A ``TypeError`` unless ``values`` is a list of numbers of ``types`` (not bools)."""
    if not isinstance(values, list | tuple):
        raise TypeError(f"{what} must be a list of numbers, got {type(values).__name__}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, types):
            kind = "integers" if types == (int,) else "numbers"
            raise TypeError(f"{what} must hold JSON {kind}, got {value!r}")


def _array_eq(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> bool:
    return bool(np.array_equal(x, y))


def _check_summary(instance: QuantileSummary, attribute: Any, value: Any) -> None:
    q, ranks = instance.quantiles, instance.ranks
    k = q.size
    if instance.n < 1:
        raise CheckInputError(f"a quantile summary needs n >= 1, got n={instance.n}")
    if q.ndim != 1 or k < 2 or ranks.shape != q.shape:
        raise CheckInputError(
            f"a quantile summary needs k >= 2 quantiles and as many ranks, got "
            f"{q.shape} and {ranks.shape}"
        )
    expected_index = QuantileSummary.stored_indices(instance.n, k)
    if (
        not bool(np.all(np.isfinite(q)))
        or not bool(np.all(q[1:] >= q[:-1]))
        or not bool(np.all(ranks > expected_index))
        or not bool(np.all(ranks[1:] >= ranks[:-1]))
        or int(ranks[-1]) != instance.n
    ):
        raise CheckInputError(
            "quantile summary is inconsistent: quantiles must be finite and sorted, and "
            "ranks[t] (values <= quantiles[t]) must exceed the stored index and end at n"
        )
    # Ranks must also agree with the quantiles above them: the value stored at index
    # idx[t+1] is quantiles[t+1], so where it is larger than quantiles[t] at most
    # idx[t+1] values are <= quantiles[t], and where the two are equal so are the ranks.
    # (Ranks rewritten to fit another distribution passed the checks above and hid drift.)
    rising = q[1:] > q[:-1]
    if bool(np.any(rising & (ranks[:-1] > expected_index[1:]))) or bool(
        np.any(~rising & (ranks[:-1] != ranks[1:]))
    ):
        raise CheckInputError(
            "quantile summary is inconsistent: its ranks contradict its quantiles (more "
            "values at or below a quantile than the next stored quantile's index allows, or "
            "different ranks for equal quantiles)"
        )


@attrs.frozen
class QuantileSummary:
    """A compact, JSON-safe stand-in for a sorted reference sample.

    It stores ``k`` order statistics at evenly spaced probabilities ``t / (k-1)``,
    ``t = 0..k-1`` (so the minimum and the maximum), and for each the number of reference
    values at or below it. From it, ``ks_from_summary``, ``wasserstein_from_summary`` and
    ``psi_from_summary`` of :mod:`modelship.checks.stats` approximate the exact statistics
    with proven error bounds.

    **How far the reference CDF is known.** Stored point ``t`` is the order statistic
    ``a[i_t]`` with ``i_t = (t * (n-1)) // (k-1)``, and ``F_a(q_t) = ranks[t] / n``
    exactly. Between two stored values, ``q_t <= x < q_{t+1}``, ``F_a(x)`` lies in
    ``[ranks[t] / n, i_{t+1} / n]`` (``a[i_{t+1}] = q_{t+1}`` is not below ``x``). The
    summary uses the midpoint of that band, so it knows ``F_a`` everywhere to within
    :attr:`cdf_error` ``<= (ceil((n-1)/(k-1)) - 1) / (2n) < 1 / (2(k-1))``; for
    ``n <= k`` every value is stored and the CDF is exact.

    Attributes
    ----------
    n : int
        Size of the reference sample.
    quantiles : numpy.ndarray
        The ``k`` stored order statistics, float64, non-decreasing.
    ranks : numpy.ndarray
        ``ranks[t]`` = number of reference values ``<= quantiles[t]``, int64.

    Examples
    --------
    >>> s = QuantileSummary.from_sorted([float(v) for v in range(101)], size=5)
    >>> s.quantiles
    array([  0.,  25.,  50.,  75., 100.])
    >>> QuantileSummary.from_dict(s.to_dict()) == s
    True
    """

    n: int = attrs.field(converter=_sample_size)
    quantiles: FloatArray = attrs.field(
        converter=_readonly_floats, eq=attrs.cmp_using(eq=_array_eq), hash=False
    )
    ranks: IntArray = attrs.field(
        converter=_readonly_ints,
        eq=attrs.cmp_using(eq=_array_eq),
        hash=False,
        validator=_check_summary,
    )

    @staticmethod
    def stored_indices(n: int, k: int) -> IntArray:
        """Indices ``(t * (n-1)) // (k-1)`` of the order statistics a summary stores.

        Examples
        --------
        >>> QuantileSummary.stored_indices(11, 3)
        array([ 0,  5, 10])
        """
        return (np.arange(k, dtype=np.int64) * (n - 1)) // (k - 1)

    @classmethod
    @validate_params(size=Interval(int, 2, None))
    def from_sorted(cls, a: npt.ArrayLike, size: int = 1001) -> QuantileSummary:
        """Summarise a sorted, finite reference sample with ``size`` stored quantiles.

        With the default 1001 (every 0.1%), the deciles of ``stats.quantile_edges`` are
        stored exactly, so ``stats.psi_from_summary`` equals the exact PSI for ``bins`` in
        {2, 4, 5, 8, 10, 20, 25, ...} (any divisor of 1000).

        Parameters
        ----------
        a : array_like
            Reference sample, sorted, finite, float64 (see ``stats.sorted_finite``).
        size : int, default 1001
            Number of stored quantiles ``k``, >= 2.

        Returns
        -------
        QuantileSummary

        Raises
        ------
        EmptyData
            If ``a`` is empty.
        CheckInputError
            If ``a`` is not sorted or not finite.
        ConfigError
            If ``size`` < 2.

        Examples
        --------
        >>> s = QuantileSummary.from_sorted([1.0, 1.0, 2.0, 3.0], size=3)
        >>> s.quantiles, s.ranks
        (array([1., 1., 3.]), array([2, 2, 4]))
        """
        values = sorted_column(a, "a")
        quantiles = values[cls.stored_indices(values.size, size)]
        ranks = np.searchsorted(values, quantiles, side="right")
        return cls(n=values.size, quantiles=quantiles, ranks=ranks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` rebuilds an equal summary, bit for bit.

        Examples
        --------
        >>> QuantileSummary.from_sorted([0.5, 1.5], size=2).to_dict()
        {'n': 2, 'quantiles': [0.5, 1.5], 'ranks': [1, 2]}
        """
        return {"n": self.n, "quantiles": self.quantiles.tolist(), "ranks": self.ranks.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileSummary:
        """Rebuild a summary from :meth:`to_dict` output.

        Raises
        ------
        CheckInputError
            If a key is missing or the content is not a consistent summary.

        Examples
        --------
        >>> QuantileSummary.from_dict({"n": 2, "quantiles": [0.5, 1.5], "ranks": [1, 2]}).n
        2
        """
        try:
            n, quantiles, ranks = data["n"], data["quantiles"], data["ranks"]
            # JSON numbers only: "-2.9" or true would be read as a number by NumPy.
            if isinstance(n, bool) or not isinstance(n, int):
                raise TypeError(f"'n' must be a JSON integer, got {n!r}")
            _json_numbers("'quantiles'", quantiles, (int, float))
            _json_numbers("'ranks'", ranks, (int,))
            return cls(n=n, quantiles=quantiles, ranks=ranks)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise CheckInputError(f"not a quantile summary: {exc!r}") from None

    def _count_band(self) -> tuple[FloatArray, FloatArray]:
        """Bounds on ``#{a <= x}`` for ``x`` in ``[q_t, q_{t+1})`` (and ``[q_{k-1}, inf)``)."""
        upper_index = self.stored_indices(self.n, self.quantiles.size)[1:]
        low = self.ranks.astype(np.float64)
        # max(): where q_t == q_{t+1} the interval is empty and any band will do.
        high = np.append(np.maximum(upper_index, self.ranks[:-1]), self.n).astype(np.float64)
        return low, high

    def _count_estimate(self, x: FloatArray) -> FloatArray:
        """The summary's step-function estimate of ``#{a <= x}``: the middle of the band
        of the interval ``[q_t, q_{t+1})`` where ``x`` falls (0 below the minimum)."""
        low, high = self._count_band()
        middle = np.append(0.0, (low + high) / 2.0)
        return middle[np.searchsorted(self.quantiles, x, side="right")]

    def _cdf_band(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bounds on ``F_a(x)`` that every reference with this summary keeps: the band of
        the interval ``[q_t, q_{t+1})`` where ``x`` falls (0 below the minimum)."""
        low, high = self._count_band()
        where = np.searchsorted(self.quantiles, x, side="right")
        return np.append(0.0, low)[where] / self.n, np.append(0.0, high)[where] / self.n

    def _cdf(self, x: FloatArray) -> FloatArray:
        """The summary's estimate of ``F_a(x)``, within :attr:`cdf_error` of it for all x."""
        return self._count_estimate(x) / self.n

    @property
    def cdf_error(self) -> float:
        """Largest possible ``|estimated F_a(x) - F_a(x)|`` over all x, for this summary.

        At most ``(ceil((n-1)/(k-1)) - 1) / (2n)``, below ``1 / (2(k-1))``.

        Examples
        --------
        >>> QuantileSummary.from_sorted([float(v) for v in range(101)], size=11).cdf_error
        0.04455445544554455
        """
        low, high = self._count_band()
        return float(np.max(high - low)) / (2.0 * self.n)

    @property
    def wasserstein_error(self) -> float:
        """Largest possible ``|approximate - exact|`` of ``stats.wasserstein_from_summary``.

        The CDF error integrated over the stored range:
        ``sum_t half_band_t * (q_{t+1} - q_t) <= cdf_error * (max - min)``.

        Examples
        --------
        >>> s = QuantileSummary.from_sorted([float(v) for v in range(101)], size=11)
        >>> round(s.wasserstein_error, 6)
        4.455446
        """
        low, high = self._count_band()
        half = (high - low)[:-1] / (2.0 * self.n)
        with np.errstate(over="ignore", invalid="ignore"):  # inf for a range beyond 1e308
            widths = np.diff(self.quantiles)
            return float(np.sum(np.where(half > 0, half * widths, 0.0)))

    def bin_counts(self, edges: npt.ArrayLike) -> FloatArray:
        """Reference counts per ``stats.binned_counts`` bin, as the summary estimates them.

        Exact (whole numbers) when every edge is a stored quantile, as the edges of
        ``quantile_edges(summary.quantiles, bins)`` are; otherwise each count is off by
        at most ``2 * n * cdf_error``.

        Examples
        --------
        >>> from modelship.checks.stats import quantile_edges
        >>> s = QuantileSummary.from_sorted([float(v) for v in range(100)], size=11)
        >>> s.bin_counts(quantile_edges(s.quantiles, 2))
        array([50., 50.])
        """
        cuts = np.asarray(edges, dtype=np.float64)
        where = np.searchsorted(self.quantiles, cuts, side="right") - 1
        stored = (where >= 0) & (self.quantiles[np.maximum(where, 0)] == cuts)
        # At a stored quantile the count is known; between them, use the estimate.
        at_or_below = np.where(stored, self.ranks[np.maximum(where, 0)], self._count_estimate(cuts))
        return np.diff(at_or_below, prepend=0.0, append=float(self.n))
