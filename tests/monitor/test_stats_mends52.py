"""Mends of review 52: t-based late-label intervals, the mSPRT's first look, Welch's edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import modelship as ms
from modelship.monitor import SequentialTest, welch
from modelship.monitor import _outcomes as outcomes

# --- late-label intervals --------------------------------------------------------------------

Y = np.array([1.0, 2.5, 0.3, 4.0, 2.2, 3.1, 0.9, 1.7])
PRED = np.array([1.2, 2.0, 0.8, 3.1, 2.6, 3.0, 1.5, 1.1])


def _interval(metric: str, y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    value = float(outcomes._COMPUTE[metric](y, pred))
    low = outcomes._bound(metric, value, (y, pred), 0.025, 0)
    high = outcomes._bound(metric, value, (y, pred), 0.975, 0)
    return low, high


def test_mae_interval_is_students_t_with_n_minus_1_df() -> None:
    terms = np.abs(Y - PRED)
    half = stats.t.ppf(0.975, Y.size - 1) * np.std(terms, ddof=1) / math.sqrt(Y.size)
    low, high = _interval("mae", Y, PRED)
    assert low == pytest.approx(terms.mean() - half, rel=1e-12)
    assert high == pytest.approx(terms.mean() + half, rel=1e-12)


def test_rmse_interval_is_t_on_the_log_of_the_mse() -> None:
    e2 = (Y - PRED) ** 2
    mse, se = e2.mean(), np.std(e2, ddof=1) / math.sqrt(Y.size)
    t = stats.t.ppf(0.975, Y.size - 1)
    low, high = _interval("rmse", Y, PRED)
    assert low == pytest.approx(math.sqrt(mse * math.exp(-t * se / mse)), rel=1e-12)
    assert high == pytest.approx(math.sqrt(mse * math.exp(t * se / mse)), rel=1e-12)


def test_r2_interval_is_t_on_the_log_of_the_error_ratio() -> None:
    e2, d2 = (Y - PRED) ** 2, (Y - Y.mean()) ** 2
    a, b = e2.mean(), d2.mean()
    c = np.cov(np.vstack([e2, d2]))
    se = math.sqrt((c[0, 0] / a**2 - 2 * c[0, 1] / (a * b) + c[1, 1] / b**2) / Y.size)
    t = stats.t.ppf(0.975, Y.size - 1)
    low, high = _interval("r2", Y, PRED)
    assert low == pytest.approx(1 - (a / b) * math.exp(t * se), rel=1e-12)
    assert high == pytest.approx(1 - (a / b) * math.exp(-t * se), rel=1e-12)


def test_rmse_interval_covers_at_n_20() -> None:
    # The z interval symmetric in the MSE covered 0.87 here (missing high 12 %); this one
    # covers about 0.92 (4000 windows). 400 windows: 0.89 is ~4 standard errors away.
    rng = np.random.default_rng(52)
    cover = 0
    for _ in range(400):
        y = rng.normal(0.0, 1.0, 20)
        low, high = _interval("rmse", y, np.zeros(20))
        cover += low <= 1.0 <= high
    assert cover / 400 > 0.89


def test_a_perfect_fit_bounds_rmse_and_r2_at_their_value() -> None:
    y = np.array([1.0, 2.0, 3.0])
    assert _interval("rmse", y, y) == (0.0, 0.0)
    assert _interval("r2", y, y) == (1.0, 1.0)


# --- mSPRT's first look ----------------------------------------------------------------------


def test_a_look_below_min_samples_decides_nothing() -> None:
    # At n = 2 the plug-in variance can be tiny: this look rejected at once.
    test = SequentialTest(tau=1.0)
    result = test.look([1.0, 1.001], [0.0, 0.001])
    assert not result.reject
    assert result.p_value == 1.0
    assert "min_samples=10" in result.reason
    assert result.difference == pytest.approx(1.0)
    later = test.look([1.0, 1.001] * 5, [0.0, 0.001] * 5)
    assert later.reject
    assert later.reason == ""


def test_a_summary_below_min_samples_decides_nothing() -> None:
    test = SequentialTest(tau=0.1, min_samples=30)
    early = test.look_summary(difference=0.5, variance=0.01, n_x=20, n_y=40)
    assert not early.reject
    assert "20 and 40" in early.reason
    assert test.look_summary(difference=0.5, variance=0.01, n_x=30, n_y=40).reject


def test_min_samples_is_validated() -> None:
    with pytest.raises(ms.InvalidParameter, match="min_samples"):
        SequentialTest(tau=0.1, min_samples=1)


def test_aa_false_positives_stay_below_alpha_from_the_first_look() -> None:
    # Looking after every observation from n = 2 rejected 15 % of A/A tests (tau 1 sd).
    rng = np.random.default_rng(7)
    rejected = 0
    for _ in range(100):
        x, y = rng.normal(0, 1, 60), rng.normal(0, 1, 60)
        test = SequentialTest(tau=1.0)
        rejected += any(test.look(x[:n], y[:n]).reject for n in range(2, 61))
    assert rejected <= 9  # about 3 expected; the old first looks gave about 14


# --- Welch's edges ---------------------------------------------------------------------------


def test_welch_answers_extreme_but_representable_spreads() -> None:
    wide = welch([1e150, -1e150], [1.0, 2.0])  # the df's square overflowed: OverflowError
    assert wide.p_value == pytest.approx(1.0)
    assert math.isfinite(wide.df)
    plain = welch([0.0, 1.0, 2.0], [0.0, 1.0])
    for scale in (1e-160, 1e-170, 1e-300):  # ZeroDivisionError; "both samples are constant"
        tiny = welch([0.0, scale, 2 * scale], [0.0, scale])
        assert tiny.p_value == pytest.approx(plain.p_value, rel=1e-9)
        assert tiny.df == pytest.approx(plain.df, rel=1e-9)


def test_welch_still_refuses_constant_samples() -> None:
    with pytest.raises(ms.CheckInputError, match="both samples are constant"):
        welch([1e-300, 1e-300], [2.0, 2.0])


def test_welch_agrees_with_scipy_on_ordinary_samples() -> None:
    rng = np.random.default_rng(52)
    for _ in range(50):
        x = rng.normal(rng.normal(), rng.uniform(0.1, 10), rng.integers(2, 40))
        y = rng.normal(rng.normal(), rng.uniform(0.1, 10), rng.integers(2, 40))
        ours, theirs = welch(x, y), stats.ttest_ind(x, y, equal_var=False)
        ci = theirs.confidence_interval()
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
        assert ours.df == pytest.approx(theirs.df, rel=1e-12)
        assert ours.ci_low == pytest.approx(ci.low, rel=1e-9)
        assert ours.ci_high == pytest.approx(ci.high, rel=1e-9)


# --- second look: r2 and rmse bounds at extreme scales, look_summary's validation -------------


def _public_r2_window(scale: float) -> ms.monitor.WindowMetric:
    rng = np.random.default_rng(0)
    y0 = rng.normal(size=30)
    p0 = y0 + rng.normal(size=30) * 0.5
    src = ms.monitor.OutcomeSource(now=100.0)
    src.add_predictions(
        [
            {"request_id": f"r{i}", "row": 0, "timestamp": 50.0 + i, "version": "2"}
            | {"output": float(p0[i] * scale)}
            for i in range(30)
        ]
    )
    src.record_outcomes([f"r{i}" for i in range(30)], [float(v * scale) for v in y0])
    return src.evaluate("r2", version="2", start=0.0, end=100.0)


@pytest.mark.parametrize("scale", [1e-100, 1e77, 1e80])
def test_r2_interval_does_not_depend_on_the_targets_units(scale: float) -> None:
    # 1e-100: (-inf, -inf) (NaN through _exp became inf); 1e77: (-inf, 1.0); 1e80: the
    # evaluate raised builtin OverflowError.
    plain = _public_r2_window(1.0)
    scaled = _public_r2_window(scale)
    assert scaled.value == pytest.approx(plain.value, rel=1e-9, abs=0)
    assert scaled.ci_low == pytest.approx(plain.ci_low, rel=1e-9, abs=0)
    assert scaled.ci_high == pytest.approx(plain.ci_high, rel=1e-9, abs=0)


@pytest.mark.parametrize("scale", [1e-150, 1e-100, 1e77, 1e100])
def test_rmse_and_mae_intervals_scale_with_the_targets(scale: float) -> None:
    # rmse collapsed onto its value at 1e-100 (squared deviations underflowed) and spanned
    # (0, inf) at 1e77; mae's standard error overflowed to inf at 1e160-size terms.
    for metric in ("rmse", "mae"):
        low, high = _interval(metric, Y, PRED)
        scaled_low, scaled_high = _interval(metric, Y * scale, PRED * scale)
        assert scaled_low == pytest.approx(low * scale, rel=1e-9, abs=0)
        assert scaled_high == pytest.approx(high * scale, rel=1e-9, abs=0)


def test_mae_interval_of_huge_errors_is_finite() -> None:
    # The squared deviations of terms near 1e160 overflowed: the interval was (-inf, inf).
    low, high = _interval("mae", Y, PRED)
    huge_low, huge_high = _interval("mae", Y * 1e160, PRED * 1e160)
    assert huge_low == pytest.approx(low * 1e160, rel=1e-9, abs=0)
    assert huge_high == pytest.approx(high * 1e160, rel=1e-9, abs=0)


def test_exp_of_nan_is_nan() -> None:
    assert math.isnan(outcomes._exp(math.nan))
    assert outcomes._exp(800.0) == math.inf
    assert outcomes._exp(0.0) == 1.0


def test_r2_and_rmse_bounds_are_nan_not_infinite_without_a_finite_spread() -> None:
    y = np.array([1.0, 2.0, 3.0, 1e308])
    pred = np.array([1.0, 2.5, 3.0, -1e308])  # an error beyond float: no spread to bound
    for metric in ("r2", "rmse"):
        assert math.isnan(outcomes._bound(metric, 0.5, (y, pred), 0.025, 0))
        assert math.isnan(outcomes._bound(metric, 0.5, (y, pred), 0.975, 0))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"difference": 0.5, "variance": 0.01, "n_x": 3.5, "n_y": 3}, "n_x"),
        ({"difference": 0.5, "variance": -1.0, "n_x": 3, "n_y": 3}, "variance"),
        ({"difference": math.nan, "variance": 0.01, "n_x": 3, "n_y": 3}, "difference"),
        ({"difference": "abc", "variance": 0.01, "n_x": 3, "n_y": 3}, "difference"),
        ({"difference": 0.5, "variance": 0.01, "n_x": "5", "n_y": 3}, "n_x"),
        ({"difference": 0.5, "variance": 0.01, "n_x": None, "n_y": 3}, "n_x"),
        ({"difference": 0.5, "variance": 0.01, "n_x": 3, "n_y": 2.0}, "n_y"),
    ],
)
def test_look_summary_validates_before_the_too_early_answer(
    kwargs: dict[str, object], name: str
) -> None:
    # Below min_samples these were answered "too early" (or raised TypeError/ValueError).
    with pytest.raises(ms.InvalidParameter, match=f"^{name}="):
        SequentialTest(tau=1.0).look_summary(**kwargs)  # type: ignore[arg-type]
