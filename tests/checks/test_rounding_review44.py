"""Review 44: figures printed beside a limit compare as the numbers do (no "50.0%, above
50.0%", no "1e+06 > 1e+06")."""

from __future__ import annotations

import pickle
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from modelship.checks import DataDrift, Degradation, DriftColumnResult, Schema, Verdict
from modelship.checks._figures import against, beside, percents
from modelship.checks._schema import missing_rate_finding


def _percent(text: str) -> float:
    return float(text.rstrip("%"))


def test_a_missing_rate_just_above_the_limit_prints_above_the_printed_limit() -> None:
    reason = missing_rate_finding(0.0, 0.5001, 0.5)
    assert reason == ("missing or non-finite rate 0.00% -> 50.01%, above max_missing_rate 50.00%")


def test_schema_reason_for_a_missing_rate_just_above_the_limit_shows_it_above() -> None:
    rng = np.random.default_rng(0)
    current = rng.normal(size=10_000)
    current[:5001] = np.nan
    result = Schema.infer({"x": rng.normal(size=10_000)}).validate({"x": current})
    reason = result.columns["x"].reason
    assert "null rate 0.00% -> 50.01%" in reason
    assert "missing or non-finite rate 0.00% -> 50.01%, above max_missing_rate 50.00%" in (reason)


def test_drift_reason_for_a_missing_rate_just_above_the_limit_shows_it_above() -> None:
    rng = np.random.default_rng(0)
    current = rng.normal(size=10_000)
    current[:5001] = np.nan
    result = DataDrift(reference={"x": rng.normal(size=10_000)}, current={"x": current}).run()
    assert "-> 50.01%, above max_missing_rate 50.00%" in result.columns["x"].reason


def test_the_usual_missing_rate_message_keeps_one_decimal() -> None:
    assert missing_rate_finding(0.0, 0.9, 0.5) == (
        "missing or non-finite rate 0.0% -> 90.0%, above max_missing_rate 50.0%"
    )


def test_one_value_out_of_range_with_no_tolerance_prints_a_share_above_it() -> None:
    reference = {"x": np.arange(100_000, dtype=float)}
    current = np.arange(100_000, dtype=float)
    current[0] = 1e9
    result = Schema.infer(reference).validate({"x": current}, range_tolerance=0.0)
    assert result.columns["x"].reason == ("0.001% of values outside [0, 99999] (tolerance 0.000%)")


def test_a_share_out_of_range_just_above_the_tolerance_prints_above_it() -> None:
    reference = {"x": np.arange(100_000, dtype=float)}
    current = np.arange(100_000, dtype=float)
    current[:1040] = 1e9
    result = Schema.infer(reference).validate({"x": current})
    assert result.columns["x"].reason == ("1.04% of values outside [0, 99999] (tolerance 1.00%)")


class _Padded:
    def __init__(self, pad: bytes) -> None:
        self.pad = pad

    def predict(self, x: Any) -> Any:
        return (np.asarray(x)[:, 0] > 0).astype(int)


def test_an_artifact_just_over_its_byte_budget_prints_both_sizes_exactly() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    budget = 1_000_000
    pad = b"x" * (budget - len(pickle.dumps(_Padded(b""))) + 40)
    candidate = _Padded(pad)
    size = len(pickle.dumps(candidate))
    assert size > budget
    result = Degradation(
        candidate=candidate, baseline=_Padded(b""), X=x, y=y, size_budget_bytes=budget
    ).run()
    assert f"artifact size (bytes) {size:,} > 1,000,000" in result.reason


def test_a_figure_just_over_a_fractional_limit_prints_above_it() -> None:
    assert against(12.34567, 12.345) == ("12.346", "12.345")
    assert against(1_500_002, 1_500_001.5) == ("1,500,002", "1,500,001.5")


def test_an_interval_end_just_beyond_the_allowed_drop_prints_beyond_it() -> None:
    (low, high), limit = beside([-0.0500004, 0.01], -0.05, sign="+")
    assert (low, high, limit) == ("-0.0500004", "+0.01", "-0.05")


def _holdout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    base = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.2, 2000), 0.01, 0.99)
    cand = np.clip(np.where(y == 1, 0.68, 0.32) + rng.normal(0, 0.2, 2000), 0.01, 0.99)
    return y, cand, base


def test_a_metric_interval_just_beyond_the_allowed_drop_prints_beyond_it() -> None:
    y, cand, base = _holdout()
    common: dict[str, Any] = {
        "y": y,
        "candidate_scores": cand,
        "baseline_scores": base,
        "metrics": ["roc_auc"],
    }
    low = Degradation(**common, margin=0.5).run().metrics["roc_auc"].ci_low
    # An allowed drop a hair smaller than the interval's lower end: inconclusive.
    result = Degradation(**common, margin=-low * (1 - 1e-7)).run().metrics["roc_auc"]
    assert result.verdict is Verdict.INCONCLUSIVE
    shown_low = re.search(r"\[([-+0-9.e]+),", result.reason)
    shown_allowed = re.search(r"allowed drop ([0-9.e+-]+):", result.reason)
    assert shown_low is not None, result.reason
    assert shown_allowed is not None, result.reason
    assert float(shown_low.group(1)) < -float(shown_allowed.group(1)), result.reason


def test_the_usual_interval_prints_as_before() -> None:
    assert beside([-0.012345, 0.0321], -0.02, sign="+") == (["-0.01235", "+0.0321"], "-0.02")


def _order(a: float, b: float) -> int:
    return (a > b) - (a < b)


_shares = st.floats(min_value=0, max_value=1)


@given(_shares, _shares, _shares)
def test_printed_percents_compare_as_the_shares_do(
    before: float, after: float, limit: float
) -> None:
    texts = percents([before, after, limit], [(0, 1), (1, 2)], decimals=1, strict=True)
    shown = [_percent(text) for text in texts]
    assert _order(shown[0], shown[1]) == _order(before, after)
    assert _order(shown[1], shown[2]) == _order(after, limit)


_figures = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


@given(_figures, _figures)
def test_printed_figures_compare_as_the_numbers_do(value: float, limit: float) -> None:
    shown, shown_limit = against(value, limit)
    printed = [float(re.sub(",", "", text)) for text in (shown, shown_limit)]
    assert _order(printed[0], printed[1]) == _order(value, limit)


@given(st.lists(_figures, min_size=1, max_size=3), _figures)
def test_printed_interval_ends_compare_with_the_limit_as_the_numbers_do(
    values: list[float], limit: float
) -> None:
    shown, shown_limit = beside(values, limit, sign="+")
    for text, value in zip(shown, values, strict=True):
        assert _order(float(text), float(shown_limit)) == _order(value, limit)


# --- second pass: shares below fixed decimals, drift limits, effect sizes ------------------


def test_a_share_too_small_for_fixed_decimals_is_still_a_percentage() -> None:
    shown = percents([0.0, 0.5, 1e-20], [(0, 1), (1, 2)], decimals=1, strict=True, readable=True)
    assert shown == ["0%", "50%", "1e-18%"]
    assert all(text.endswith("%") for text in percents([0.5, 1e-300], readable=True))


def test_shares_one_float_apart_beyond_fixed_decimals_print_apart_as_percentages() -> None:
    low, high = 1e-20, np.nextafter(1e-20, 1.0)
    shown = percents([low, high], strict=True, readable=True)
    assert all(text.endswith("%") for text in shown)
    assert Decimal(shown[0][:-1]) < Decimal(shown[1][:-1])


def test_schema_tolerance_of_1e_20_prints_percentages() -> None:
    reference = pd.DataFrame({"a": np.arange(100.0)})
    current = pd.DataFrame({"a": np.r_[np.arange(50.0), np.arange(50.0) + 1000]})
    result = Schema.infer(reference).check(current, range_tolerance=1e-20).run()
    assert result.columns["a"].reason == "50% of values outside [0, 99] (tolerance 1e-18%)"


def test_drift_check_reason_prints_max_missing_rate_as_its_column_does() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000)
    values[:3] = np.nan  # 0.06% missing
    result = DataDrift(
        reference=pd.DataFrame({"a": rng.normal(size=5000)}),
        current=pd.DataFrame({"a": values}),
        max_missing_rate=0.0004,
    ).run()
    assert result.reason == "1 column above max_missing_rate 0.04%: 'a'"
    assert result.columns["a"].reason.endswith("above max_missing_rate 0.04%")


def test_an_effect_size_just_under_its_threshold_prints_under_it() -> None:
    column = DriftColumnResult(
        name="age",
        status="pass",
        effect_method="wasserstein",
        effect_size=0.099996,
        effect_threshold=0.1,
    )
    assert column.to_entry().cells["effect size"] == "wasserstein 0.099996 (threshold 0.1)"
