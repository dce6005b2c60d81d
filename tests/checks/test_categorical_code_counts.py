"""Integer codes are counted once, every column's before any column's statistics.

Counting a column streams it through the CPU caches, and the statistics computed after
each count ran on the caches it emptied: drift counts every categorical column first
(``Column.count_codes``), then computes the columns' statistics, with the same results.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

import modelship.checks._drift as drift_module
from modelship.checks import DataDrift
from modelship.checks._tabular import Column, ColumnKind

rng = np.random.default_rng(20260601)


def _expected(values: np.ndarray[Any, Any]) -> dict[str, int]:
    """``{label: count}`` by Python's Counter, labels sorted as text."""
    counts = Counter(str(value) for value in values.tolist())
    return dict(sorted(counts.items()))


@pytest.mark.parametrize(
    ("values", "distinct"),
    [
        (rng.integers(0, 50, 5000), 50),
        (rng.integers(-20, 30, 5000), 50),  # negative codes: counted from the smallest
        (rng.integers(-100, 100, 5000).astype(np.int8), 200),
        (rng.integers(0, 300, 5000).astype(np.uint32), 300),
        (rng.integers(0, 5000, 5000) * 7, None),  # more codes than labels kept in order
        (rng.random(5000) < 0.3, 2),
        (np.array([0, 2**40, 5] * 100), 0),  # too wide a span: sorted, not counted
        (np.array([1, 2, 3] * 100, dtype=np.uint64), 0),  # bincount cannot take them
        (np.array(["b", "a", "c"] * 100), 0),  # text: not codes
    ],
)
def test_counted_ahead_gives_what_counting_on_demand_gives(
    values: np.ndarray[Any, Any], distinct: int | None
) -> None:
    ahead = Column("c", ColumnKind.CATEGORICAL, str(values.dtype), values=values)
    on_demand = Column("c", ColumnKind.CATEGORICAL, str(values.dtype), values=values)
    expected_distinct = len(np.unique(values)) if distinct is None else distinct
    assert ahead.count_codes() == expected_distinct
    assert ahead.count_codes() == 0  # counted once: the second call has nothing to do
    counts, missing = ahead.category_counts()
    assert (counts, missing) == on_demand.category_counts()
    assert list(counts.items()) == list(_expected(values).items())  # same order too
    assert missing == 0


def test_a_numeric_column_is_not_counted() -> None:
    column = Column("x", ColumnKind.NUMERIC, "int64", values=np.arange(10))
    assert column.count_codes() == 0


def _events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each np.bincount call ("count") and each column's statistics ("stats")."""
    events: list[str] = []
    bincount, figures = np.bincount, drift_module._categorical_figures

    def counting(*args: Any, **kwargs: Any) -> Any:
        events.append("count")
        return bincount(*args, **kwargs)

    def computing(*args: Any, **kwargs: Any) -> Any:
        events.append("stats")
        return figures(*args, **kwargs)

    monkeypatch.setattr(np, "bincount", counting)
    monkeypatch.setattr(drift_module, "_categorical_figures", computing)
    return events


def _data(columns: int) -> tuple[dict[str, Any], dict[str, Any]]:
    reference = {f"c{j}": rng.integers(0, 50, 3000) for j in range(columns)}
    current = {f"c{j}": rng.integers(0, 52, 3000) for j in range(columns)}
    return reference, current


def test_every_column_is_counted_before_any_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    reference, current = _data(4)
    kinds = dict.fromkeys(reference, "categorical")
    before = DataDrift(reference=reference, current=current, kinds=kinds).run().to_dict()
    events = _events(monkeypatch)
    after = DataDrift(reference=reference, current=current, kinds=kinds).run().to_dict()
    assert events == ["count"] * 8 + ["stats"] * 4
    assert after == before


def test_counts_held_ahead_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the bound, a column is counted when its turn comes, as before.
    reference, current = _data(3)
    kinds = dict.fromkeys(reference, "categorical")
    before = DataDrift(reference=reference, current=current, kinds=kinds).run().to_dict()
    monkeypatch.setattr(drift_module, "_TALLIES_HELD", 120)  # two sides of 50-52 codes
    events = _events(monkeypatch)
    after = DataDrift(reference=reference, current=current, kinds=kinds).run().to_dict()
    assert events == ["count"] * 3 + ["stats"] + ["count"] + ["stats"] + ["count"] * 2 + ["stats"]
    assert after == before
