"""Review 37 of the A/B statistics: Hodges-Lehmann on tied data in O(log) passes per
count, a sequential look without variance that carries no information instead of an
error, a log-loss bound built from the terms of its own value, a minimum Mann-Whitney
size found by bisection, typed errors for misused inputs, and a pooled z-test exact in
integers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import modelship as ms
from modelship.errors import CheckInputError, EmptyData
from modelship.monitor import (
    SequentialTest,
    _stats,
    always_valid_p_values,
    hodges_lehmann,
    mann_whitney_min_p,
    mann_whitney_min_size,
    pairwise_difference_quantiles,
    proportion_difference,
)

# --- Hodges-Lehmann / pairwise differences on tied data ---------------------------------------


class _CountingColumn(np.ndarray):
    """A column that counts its gathers (``column[indices]``): one per pass over the rows."""

    gathers = 0

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, np.ndarray):
            _CountingColumn.gathers += 1
            return np.asarray(self)[index]
        return super().__getitem__(index)


def _tied(block: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Rows at every level of a 0.1 grid against ``block`` copies of each level."""
    levels = np.round(np.arange(-1.0, 1.0001, 0.1), 1)
    return levels.copy(), np.repeat(levels, block)


def _most_passes(block: int) -> tuple[int, int]:
    x, y = _tied(block)
    yr = np.ascontiguousarray(y[::-1]).view(_CountingColumn)
    lo, hi = np.zeros(x.size, dtype=np.int64), np.full(x.size, y.size, dtype=np.int64)
    most = 0
    for difference in np.unique(np.subtract.outer(x, x)):
        for p in (difference, np.nextafter(difference, np.inf), np.nextafter(difference, -np.inf)):
            _CountingColumn.gathers = 0
            got = _stats._count_less(x, yr, lo, hi, float(p))
            plain = np.asarray(yr)
            want = [int(np.flatnonzero(np.append(xi - plain >= p, True))[0]) for xi in x]
            assert got.tolist() == want
            most = max(most, _CountingColumn.gathers)
    return most, y.size


@pytest.mark.parametrize("block", [4, 64, 1024])
def test_counting_below_a_pivot_takes_log_passes_whatever_the_tie_block(block: int) -> None:
    # One step per pass walked a whole block of tied y values: 2050 passes at 1024 ties.
    most, m = _most_passes(block)
    assert most <= 2 + math.ceil(math.log2(m + 1))


@pytest.mark.parametrize("decimals", [0, 1])
def test_hodges_lehmann_on_tied_data_equals_brute_force(decimals: int) -> None:
    rng = np.random.default_rng(37)
    x = np.sort(np.round(rng.normal(0.2, 1.0, 1100), decimals))  # 1.2M differences: selected
    y = np.sort(np.round(rng.normal(0.0, 1.0, 1030), decimals))
    every = np.sort(np.subtract.outer(x, y).ravel())
    total = every.size
    ranks = [0, 17, total // 3, total // 2 - 1, total // 2, total - 5, total - 1]
    assert pairwise_difference_quantiles(x, y, ranks) == [float(every[r]) for r in ranks]
    middle = (float(every[total // 2 - 1]) + float(every[total // 2])) / 2
    assert hodges_lehmann(x, y) == (every[total // 2] if total % 2 else middle)


# --- sequential test: a look without variance ----------------------------------------------------


def test_a_look_without_variance_returns_the_running_state() -> None:
    test = SequentialTest(tau=0.002, alpha=0.05)
    # (Two constant arms at different values reject: test_monitor_review38.)
    for x, y in (([0.0] * 200, [0.0] * 200), ([3.0] * 50, [3.0] * 50)):
        result = test.look(x, y)
        assert (result.p_value, result.reject, result.log_lr) == (1.0, False, 0.0)
        assert (result.ci_low, result.ci_high) == (-math.inf, math.inf)


def test_a_look_without_variance_keeps_an_earlier_rejection_and_interval() -> None:
    test = SequentialTest(tau=0.1)
    first = test.look_summary(difference=0.5, variance=0.01)
    again = test.look([0.0] * 20, [0.0] * 20)
    assert (again.p_value, again.reject) == (first.p_value, True)
    assert (again.ci_low, again.ci_high) == (first.ci_low, first.ci_high)


def test_the_documented_loop_runs_through_a_conversion_metric() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random(5000) < 0.002).astype(float)
    b = (rng.random(5000) < 0.002).astype(float)
    test = SequentialTest(tau=0.002, alpha=0.05)
    results = [test.look(b[:n], a[:n]) for n in range(200, 5001, 200)]
    assert results[0].variance == 0.0
    assert all(0.0 <= r.p_value <= 1.0 for r in results)


def test_a_look_whose_variance_overflows_names_no_parameter_it_was_not_given() -> None:
    with pytest.raises(CheckInputError, match="overflows") as caught:
        SequentialTest(tau=0.1).look([1e300, -1e300] * 3, [0.0] * 6)
    assert "variance=" not in str(caught.value)


# --- log loss bound ------------------------------------------------------------------------------


def _log_loss_window(outputs: list[float]) -> Any:
    source = ms.monitor.OutcomeSource(now=100.0)
    ids = [f"r{i}" for i in range(len(outputs))]
    source.add_predictions(
        [
            {"request_id": rid, "row": 0, "timestamp": 50.0 + i, "version": "2", "output": out}
            for i, (rid, out) in enumerate(zip(ids, outputs, strict=True))
        ]
    )
    source.record_outcomes(ids, [1] * len(ids))
    return source.evaluate("log_loss", version="2", start=0.0, end=100.0)


def test_the_log_loss_interval_holds_its_value_when_probabilities_are_clipped() -> None:
    window = _log_loss_window([0.0] * 40)
    # Every row the same term: the interval is that term, which is the value.
    assert window.ci_low == window.value == window.ci_high


def test_the_log_loss_interval_brackets_its_value_with_certain_misses() -> None:
    window = _log_loss_window([0.0] * 5 + [0.9] * 35)
    assert window.ci_low <= window.value <= window.ci_high


# --- minimum Mann-Whitney size by bisection -------------------------------------------------------


def _first_size_by_scan(alpha: float, other: int | None) -> int:
    """The former scan of every size (the reference)."""
    for n in range(1, int(2 / alpha) + 2):
        if mann_whitney_min_p(n, other if other is not None else n) <= alpha:
            return n
    raise AssertionError("unreachable for these alphas")


_ALPHAS = sorted({*np.geomspace(2e-4, 0.99, 25).tolist(), 0.05, 0.01, 1e-3, 2 / 39, 2 / 40})


@pytest.mark.parametrize("other", [None, 1, 2, 3, 7, 600])
def test_the_minimum_size_is_the_first_size_that_reaches_alpha(other: int | None) -> None:
    for alpha in _ALPHAS:
        assert mann_whitney_min_size(alpha, other) == _first_size_by_scan(alpha, other)


def test_the_minimum_size_evaluates_log_many_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    original = _stats.mann_whitney_min_p

    def counting(n_x: int, n_y: int) -> float:
        calls.append((n_x, n_y))
        return original(n_x, n_y)

    monkeypatch.setattr(_stats, "mann_whitney_min_p", counting)
    assert mann_whitney_min_size(1e-3, other=1) == 1999  # 2 / (n + 1) <= 1e-3
    assert len(calls) <= 2 * math.ceil(math.log2(2 / 1e-3)) + 2  # was 1999 calls


def test_the_minimum_size_for_a_tiny_alpha_is_an_answer_or_a_config_error() -> None:
    assert mann_whitney_min_size(5e-324) == 540  # was an OverflowError
    with pytest.raises(ms.errors.ConfigError, match="no sample size"):
        mann_whitney_min_size(1e-300, other=1)


# --- typed errors ---------------------------------------------------------------------------------


def test_always_valid_p_values_of_single_numbers_is_a_check_input_error() -> None:
    with pytest.raises(CheckInputError, match="sequences of looks"):
        always_valid_p_values(0.5, 0.01, tau=0.1)


def test_pairwise_difference_quantiles_takes_sorted_lists() -> None:
    assert pairwise_difference_quantiles([1.0, 2.0], [0.0], [0, 1]) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("x", "y", "ranks", "error"),
    [
        ([1.0, 2.0], [0.0], [0.5], CheckInputError),
        ([1.0, 2.0], [0.0], [True], CheckInputError),
        ([1.0, 2.0], [0.0], [2], CheckInputError),
        ([2.0, 1.0], [0.0], [0], CheckInputError),
        ([1.0, math.nan], [0.0], [0], CheckInputError),
        (["a"], [0.0], [0], CheckInputError),
        ([], [0.0], [], EmptyData),
    ],
)
def test_pairwise_difference_quantiles_refuses_bad_inputs_by_type(
    x: Any, y: Any, ranks: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        pairwise_difference_quantiles(x, y, ranks)


@pytest.mark.parametrize(("n_x", "n_y"), [(2.5, 3), (3, "4"), (True, 3)])
def test_mann_whitney_min_p_refuses_a_size_that_is_no_int(n_x: Any, n_y: Any) -> None:
    with pytest.raises(CheckInputError, match="int >= 1"):
        mann_whitney_min_p(n_x, n_y)


def test_mann_whitney_min_p_of_an_empty_sample_stays_empty_data() -> None:
    with pytest.raises(EmptyData):
        mann_whitney_min_p(0, 3)


# --- pooled z-test in exact integers --------------------------------------------------------------


def test_a_fifty_point_difference_is_significant_past_two_to_the_53() -> None:
    # (k_x, n_x, k_y, n_y): the pooled rate rounded to 1.0 and zeroed the variance.
    result = proportion_difference(10**20, 10**20 + 1, 5, 10)
    assert result.difference == 0.5
    assert result.p_value < 1e-9


def test_the_pooled_z_test_is_unchanged_on_ordinary_counts() -> None:
    result = proportion_difference(120, 1000, 100, 1000)
    pooled = 220 / 2000
    z = 0.02 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert result.statistic == pytest.approx(z, rel=1e-12)


def test_numpy_counts_do_not_wrap_around() -> None:
    n = np.int64(10**12)
    result = proportion_difference(n // 2, 2 * n, n // 2 - 10**7, n)
    assert math.isfinite(result.ci_low)
    assert result.p_value < 1e-9
    assert type(result.n_x) is int
