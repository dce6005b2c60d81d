"""Review 48: ``bins`` is bounded, and never allocates per bin beyond what the data fill.

``quantile_edges(a, bins=10**12)`` raised numpy's MemoryError (7.28 TiB) and
``bins=10**8`` took 2.4 GB for 100 values, though n values give at most n - 1 distinct
edges. Now the edges are computed for at most ``len(a)`` bins (the same edges), and a
``bins`` above a million is refused like ``bins=1``.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from modelship.checks import DataDrift, stats
from modelship.errors import ConfigError, InvalidParameter


def _old_edges(a: np.ndarray, bins: int) -> np.ndarray:
    """The edges as computed before the fix: one index per bin asked for."""
    index = (np.arange(1, bins, dtype=np.int64) * (a.size - 1)) // bins
    return np.unique(a[index])


def _samples() -> list[np.ndarray]:
    rng = np.random.default_rng(48)
    samples = []
    for n in (1, 2, 3, 4, 5, 10, 11, 37, 100):
        samples.append(stats.sorted_finite(rng.normal(size=n)))
        samples.append(stats.sorted_finite(rng.integers(0, max(2, n // 3), size=n).astype(float)))
    samples.append(stats.sorted_finite(np.full(6, 2.5)))
    return samples


def test_edges_are_the_same_as_before_for_every_bins() -> None:
    for a in _samples():
        for bins in (*range(2, 3 * a.size + 4), 1_000, 100_000, 1_000_000):
            edges = stats.quantile_edges(a, bins)
            assert edges.dtype == np.float64
            np.testing.assert_array_equal(edges, _old_edges(a, bins), err_msg=f"{a.size=} {bins=}")


def test_more_bins_than_values_give_the_edges_of_as_many_bins_as_values() -> None:
    a = stats.sorted_finite([3.0, 1.0, 2.0, 2.0, 5.0])
    for bins in (5, 6, 50, 1_000_000):
        # Every value but the largest, ties removed.
        np.testing.assert_array_equal(stats.quantile_edges(a, bins), [1.0, 2.0, 3.0])
    one = stats.sorted_finite([4.0])
    np.testing.assert_array_equal(stats.quantile_edges(one, 1_000_000), [4.0])


def _peak_bytes(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_million_bins_on_100_values_allocate_no_index_per_bin() -> None:
    rng = np.random.default_rng(0)
    a = stats.sorted_finite(rng.normal(size=100))
    b = stats.sorted_finite(rng.normal(size=100))
    summary = stats.QuantileSummary.from_sorted(a)
    ref = pd.DataFrame({"x": rng.normal(size=100)})
    cur = pd.DataFrame({"x": rng.normal(size=100)})
    calls: dict[str, Callable[[], object]] = {
        "quantile_edges": lambda: stats.quantile_edges(a, bins=10**6),
        "numeric_drift": lambda: stats.numeric_drift(a, b, bins=10**6),
        "psi_from_summary": lambda: stats.psi_from_summary(summary, b, bins=10**6),
        "DataDrift": lambda: DataDrift(reference=ref, current=cur, bins=10**6, method="psi").run(),
    }
    for name, call in calls.items():
        call()  # imports and caches out of the measure
        # Before: 17 MB each (an int64 index and a float64 edge per bin asked for).
        assert _peak_bytes(call) < 2**20, name


def test_a_million_bins_give_the_figures_of_as_many_bins_as_values() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=100)})
    cur = pd.DataFrame({"x": rng.normal(size=100)})
    many = DataDrift(reference=ref, current=cur, bins=10**6, method="psi").run()
    hundred = DataDrift(reference=ref, current=cur, bins=100, method="psi").run()
    assert many.status == hundred.status
    assert many.columns["x"].statistic == hundred.columns["x"].statistic


@pytest.mark.parametrize("bins", [10**6 + 1, 10**8, 10**12])
def test_more_than_a_million_bins_are_refused_saying_the_limit(bins: int) -> None:
    a = stats.sorted_finite(np.arange(100.0))
    summary = stats.QuantileSummary.from_sorted(a)
    frame = pd.DataFrame({"x": np.arange(100.0)})
    calls: list[Callable[[], object]] = [
        lambda: stats.quantile_edges(a, bins=bins),
        lambda: stats.numeric_drift(a, a, bins=bins),
        lambda: stats.psi_from_summary(summary, a, bins=bins),
        lambda: DataDrift(reference=frame, current=frame, bins=bins, method="psi").run(),
    ]
    for call in calls:
        with pytest.raises(InvalidParameter) as caught:
            call()
        message = str(caught.value)
        allowed = "bins must be an int in [2, 1000000]"
        assert message.startswith(f"bins={bins} is not allowed; {allowed}")
        assert "more add nothing" in message
        assert isinstance(caught.value, ConfigError)


def test_a_million_bins_and_two_are_allowed() -> None:
    a = stats.sorted_finite(np.arange(10.0))
    assert stats.quantile_edges(a, bins=2).size == 1
    assert stats.quantile_edges(a, bins=1_000_000).size == 9
    with pytest.raises(InvalidParameter, match=r"^bins=1 is not allowed"):
        stats.quantile_edges(a, bins=1)


def test_the_critical_value_takes_the_bins_actually_used_however_many() -> None:
    # Counts binned at the caller's own edges (binned_counts) may use more than a million
    # bins; the critical value costs nothing per bin, so it keeps no upper bound.
    value = stats.psi_critical_value(10**9, 10**9, 2_000_000)
    assert 0.0 < value < 1.0


@pytest.mark.parametrize("bins", [1, 0, -5])
def test_too_few_bins_are_not_told_to_ask_for_fewer(bins: int) -> None:
    """The limit's text is shared by both ends: it said "ask for fewer" to bins=1."""
    a = stats.sorted_finite(np.arange(10.0))
    with pytest.raises(InvalidParameter, match="needs 2 bins at least") as caught:
        stats.quantile_edges(a, bins=bins)
    assert "fewer" not in str(caught.value)
