"""How often DataDrift is right: false alarms under no drift, power under small and large shifts.

Seeds are fixed, so these tests are deterministic; the rates they assert are the issue's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.checks import DataDrift, Status

ALPHA = 0.05
TOLERANCE = 0.03  # about two binomial standard deviations at 200 repetitions
COLUMNS = 20


def samples(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray[Any, Any]:
    # Column-major, so every column is contiguous, as a frame's columns usually are.
    return np.asfortranarray(rng.normal(shift, 1.0, size=(n, COLUMNS)))


def mixed(rng: np.random.Generator, n: int) -> dict[str, np.ndarray[Any, Any]]:
    """15 numeric and 5 categorical columns, all from one distribution."""
    data: dict[str, np.ndarray[Any, Any]] = {f"x{j}": rng.normal(size=n) for j in range(15)}
    for j in range(5):
        data[f"c{j}"] = rng.choice(np.array(["a", "b", "c", "d"]), n, p=[0.4, 0.3, 0.2, 0.1])
    return data


def false_alarm_rate(correction: str) -> float:
    rng = np.random.default_rng(12345)
    alarms = 0
    for _ in range(200):
        result = DataDrift(
            reference=mixed(rng, 300), current=mixed(rng, 300), correction=correction
        ).run()
        any_column = any(column.drifted for column in result.columns.values())
        alarms += result.status is Status.FAIL or any_column
    return alarms / 200


def test_under_no_drift_the_default_verdict_rarely_alarms() -> None:
    assert false_alarm_rate("bh") <= ALPHA + TOLERANCE


def test_under_no_drift_without_correction_alarms_are_frequent() -> None:
    # The counterpart of the test above: it shows the correction is what keeps the rate low.
    assert false_alarm_rate("none") > 0.2


def test_a_tenth_sd_shift_at_ten_thousand_rows_is_detected_by_ks_in_nine_runs_of_ten() -> None:
    rng = np.random.default_rng(2024)
    detected = []
    for _ in range(10):
        result = DataDrift(
            reference=samples(rng, 10_000), current=samples(rng, 10_000, 0.1), method="ks"
        ).run()
        detected += [column.p_value < ALPHA for column in result.columns.values()]
    assert np.mean(detected) >= 0.9


def test_a_half_sd_shift_is_declared_drift_by_the_default_verdict() -> None:
    rng = np.random.default_rng(7)
    for n in (300, 3000):
        for _ in range(10):
            result = DataDrift(reference=samples(rng, n), current=samples(rng, n, 0.5)).run()
            assert result.status is Status.FAIL
            assert all(column.drifted for column in result.columns.values()), n
