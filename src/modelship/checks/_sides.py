"""One side of a column comparison: what drift needs of a column, from data or a profile.

A :class:`NumericSide` holds a numeric column's sorted finite values, or (read from a
drift profile) its quantile summary and spread; a :class:`CategoricalSide` holds category
counts. Drift checks compare two sides; profiles build them. Both import this module, and
it imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship.checks import stats
from modelship.checks._tabular import Column, ColumnKind
from modelship.checks.stats._columns import sorted_finite_counts

__all__ = ["CategoricalSide", "NumericSide", "Side", "kind_of", "side_of"]


@attrs.frozen(eq=False)
class NumericSide:
    """What drift needs of one numeric column: its finite values (or a summary) and counts.

    ``values`` holds the sorted finite values of a column at hand; a column read from a
    profile has a ``summary`` and the standard deviation its Wasserstein distance is
    divided by instead.
    """

    n_rows: int
    n_missing: int
    n_inf: int
    values: NDArray[np.float64] | None = None
    summary: stats.QuantileSummary | None = None
    std: float | None = None

    @property
    def n_finite(self) -> int:
        return self.n_rows - self.n_missing - self.n_inf

    @property
    def extremes(self) -> tuple[float, float]:
        """The smallest and largest finite value (the column has at least one)."""
        points = self.values if self.values is not None else self.summary.quantiles  # type: ignore[union-attr]
        return float(points[0]), float(points[-1])

    @classmethod
    def of(cls, column: Column, buffer: NDArray[np.float64] | None = None) -> NumericSide:
        """The side of a numeric column; its sorted values go into ``buffer`` if given (see
        ``sorted_finite_counts``), so they last until the caller reuses it."""
        # The sort puts NaN and infinities at the ends: counted there, not by more passes.
        values, n_missing, n_inf = sorted_finite_counts(column.values, buffer)
        return cls(n_rows=len(column), n_missing=n_missing, n_inf=n_inf, values=values)


@attrs.frozen(eq=False)
class CategoricalSide:
    """What drift needs of one categorical column: category counts and missing count."""

    n_rows: int
    n_missing: int
    counts: Mapping[str, int]

    @classmethod
    def of(cls, column: Column) -> CategoricalSide:
        counts, n_missing = column.category_counts()
        return cls(n_rows=len(column), n_missing=n_missing, counts=counts)


Side = NumericSide | CategoricalSide


def side_of(column: Column) -> Side:
    """The side of a column at hand, by its kind."""
    if column.kind is ColumnKind.NUMERIC:
        return NumericSide.of(column)
    return CategoricalSide.of(column)


def kind_of(side: Side) -> ColumnKind:
    """Whether a side is numeric or categorical."""
    return ColumnKind.NUMERIC if isinstance(side, NumericSide) else ColumnKind.CATEGORICAL
