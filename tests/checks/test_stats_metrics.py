"""Model-quality metrics and paired comparisons, against scikit-learn, SciPy and slow references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn import metrics as skm

from modelship.checks.stats import _metrics as sm
from modelship.errors import CheckInputError, ConfigError

SK_LABEL = {
    "accuracy": skm.accuracy_score,
    "precision": lambda y, p: skm.precision_score(y, p, zero_division=0),
    "recall": lambda y, p: skm.recall_score(y, p, zero_division=0),
    "f1": lambda y, p: skm.f1_score(y, p, zero_division=0),
}
SK_PROB = {
    "log_loss": lambda y, p: skm.log_loss(y, p, labels=[0, 1]),
    "brier": skm.brier_score_loss,
}
SK_REG = {
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
}

labels = st.lists(st.integers(0, 1), min_size=1, max_size=60)


def _both_classes(y: list[int]) -> bool:
    return 0 in y and 1 in y


@settings(max_examples=60, deadline=None)
@given(data=st.data(), metric=st.sampled_from(sorted(SK_LABEL)))
def test_label_metrics_equal_scikit_learn(data: st.DataObject, metric: str) -> None:
    y = data.draw(labels)
    pred = data.draw(st.lists(st.integers(0, 1), min_size=len(y), max_size=len(y)))
    assert sm.METRICS[metric].compute(y, pred) == pytest.approx(SK_LABEL[metric](y, pred), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_roc_auc_equals_scikit_learn_with_ties(data: st.DataObject) -> None:
    y = data.draw(labels.filter(_both_classes))
    scores = data.draw(
        st.lists(
            st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, -3.0]), min_size=len(y), max_size=len(y)
        )
    )
    assert sm.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), metric=st.sampled_from(sorted(SK_PROB)))
def test_probability_metrics_equal_scikit_learn(data: st.DataObject, metric: str) -> None:
    y = data.draw(labels)
    p = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(y), max_size=len(y)))
    assert sm.METRICS[metric].compute(y, p) == pytest.approx(SK_PROB[metric](y, p), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), metric=st.sampled_from(sorted(SK_REG)))
def test_regression_metrics_equal_scikit_learn(data: st.DataObject, metric: str) -> None:
    values = st.floats(-1e3, 1e3, allow_nan=False)
    y = data.draw(st.lists(values, min_size=2, max_size=60))
    pred = data.draw(st.lists(values, min_size=len(y), max_size=len(y)))
    # r2 against the exact value: scikit-learn's own sums of squares underflow when the
    # spread is tiny (y [0, 7e-205] read as constant: 1.0 where r2 is -1).
    expected = _exact_r2(y, pred) if metric == "r2" else SK_REG[metric](y, pred)
    assert sm.METRICS[metric].compute(y, pred) == pytest.approx(expected, abs=1e-9, rel=1e-9)


def _exact_r2(y: list[float], pred: list[float]) -> float:
    """r2 in exact rational arithmetic; a constant target as scikit-learn takes it."""
    ys = [Fraction(v) for v in y]
    mean = sum(ys) / len(ys)
    ss_res = sum((a - Fraction(b)) ** 2 for a, b in zip(ys, pred, strict=True))
    ss_tot = sum((a - mean) ** 2 for a in ys)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1 - ss_res / ss_tot)


def test_r2_of_a_constant_target_follows_scikit_learn() -> None:
    assert sm.r2([2.0, 2.0], [2.0, 2.0]) == skm.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert sm.r2([2.0, 2.0], [1.0, 2.0]) == skm.r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0


def test_labels_outside_zero_one_raise_with_the_value() -> None:
    with pytest.raises(CheckInputError, match=r"only 0 and 1.*2"):
        sm.accuracy([0, 2], [0, 1])


def test_lengths_that_differ_raise() -> None:
    with pytest.raises(CheckInputError, match="has 2 rows but y_true has 3"):
        sm.f1([0, 1, 1], [0, 1])


def test_roc_auc_of_one_class_raises() -> None:
    with pytest.raises(CheckInputError, match="both classes"):
        sm.roc_auc([1, 1], [0.2, 0.3])


# --- DeLong ------------------------------------------------------------------------------


def slow_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """DeLong, DeLong and Clarke-Pearson (1988) with the O(m n) kernel matrix."""
    y = y.astype(bool)
    parts = []
    for s in (a, b):
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        parts.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    m, n = y.sum(), (~y).sum()
    s10 = np.cov(np.vstack([parts[0][0], parts[1][0]]))
    s01 = np.cov(np.vstack([parts[0][1], parts[1][1]]))
    cov = s10 / m + s01 / n
    return parts[0][2], parts[1][2], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_equals_the_quadratic_reference(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    a, b = y + rng.normal(0, 1, 300), y + rng.normal(0, 1.5, 300)
    if ties:
        a, b = np.round(a), np.round(b * 2) / 2
    result = sm.delong(y, a, b, confidence=0.9)
    auc_a, auc_b, var = slow_delong(y, a, b)
    assert result.candidate == pytest.approx(auc_a, abs=1e-12)
    assert result.baseline == pytest.approx(auc_b, abs=1e-12)
    half = (result.ci_high - result.ci_low) / 2
    assert half == pytest.approx(sps.norm.ppf(0.95) * math.sqrt(var), rel=1e-9)
    assert result.p_value == pytest.approx(
        2 * sps.norm.sf(abs(auc_a - auc_b) / math.sqrt(var)), rel=1e-9
    )


def test_delong_matches_a_hand_computed_example() -> None:
    # 3 positives, 2 negatives. Candidate ranks all positives first: AUC 1.
    # Baseline: positive 0.2 sits below negative 0.3: AUC 5/6.
    y = np.array([1, 1, 1, 0, 0])
    cand = np.array([0.9, 0.8, 0.7, 0.3, 0.1])
    base = np.array([0.9, 0.8, 0.2, 0.3, 0.1])
    result = sm.delong(y, cand, base)
    assert result.candidate == 1.0
    assert result.baseline == pytest.approx(5 / 6)
    # V10 differences by positive: 0, 0, 1/2; V01 differences by negative: 1/3, 0.
    var = np.var([0, 0, 0.5], ddof=1) / 3 + np.var([1 / 3, 0], ddof=1) / 2
    assert (result.ci_high - result.ci_low) / 2 == pytest.approx(
        sps.norm.ppf(0.95) * math.sqrt(var)
    )


def test_delong_of_a_model_against_itself_is_zero_with_no_width() -> None:
    y = np.array([0, 1, 0, 1, 1])
    s = np.array([0.1, 0.7, 0.4, 0.5, 0.9])
    result = sm.delong(y, s, s)
    assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (0, 0, 0, 1.0)


# --- McNemar -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(b=st.integers(0, 40), c=st.integers(0, 40), same=st.integers(0, 40))
def test_mcnemar_p_value_and_interval_equal_scipy_binomtest(b: int, c: int, same: int) -> None:
    # b rows only the candidate gets right, c only the baseline, `same` both right.
    y = np.ones(b + c + same + 1, dtype=int)
    cand = np.r_[np.ones(b), np.zeros(c), np.ones(same), 0].astype(int)
    base = np.r_[np.zeros(b), np.ones(c), np.ones(same), 0].astype(int)
    result = sm.mcnemar_exact(y, cand, base, confidence=0.9)
    n = len(y)
    assert result.difference == pytest.approx((b - c) / n)
    # Each share of the N rows gets Clopper-Pearson bounds at half of each 5 % tail.
    ci_b = sps.binomtest(b, n).proportion_ci(confidence_level=0.95, method="exact")
    ci_c = sps.binomtest(c, n).proportion_ci(confidence_level=0.95, method="exact")
    assert result.ci_low == pytest.approx(ci_b.low - ci_c.high, abs=1e-9)
    assert result.ci_high == pytest.approx(ci_b.high - ci_c.low, abs=1e-9)
    if b + c == 0:
        assert result.p_value == 1.0
        return
    test = sps.binomtest(b, b + c, 0.5)
    assert result.p_value == pytest.approx(test.pvalue, rel=1e-9, abs=1e-12)


# --- paired bootstrap --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_weighted_auc_equals_auc_of_the_repeated_rows(data: st.DataObject) -> None:
    y = np.array(data.draw(labels.filter(_both_classes)), dtype=bool)
    scores = np.array(
        data.draw(
            st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=len(y), max_size=len(y))
        )
    )
    w = np.array(data.draw(st.lists(st.integers(1, 3), min_size=len(y), max_size=len(y))))
    order, sorted_y, starts = sm._auc_sorted(y, scores)
    weighted = sm._weighted_auc(w[order][None, :].astype(float), sorted_y, starts)[0]
    assert weighted == pytest.approx(sm.roc_auc(np.repeat(y, w), np.repeat(scores, w)), abs=1e-12)


@pytest.mark.parametrize("metric", ["log_loss", "brier", "rmse", "mae", "r2"])
def test_weighted_row_terms_equal_the_metric_of_the_repeated_rows(metric: str) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 50) if metric in ("log_loss", "brier") else rng.normal(size=50)
    pred = rng.random(50)
    w = rng.integers(0, 4, 50).astype(float)
    terms, finish = sm._row_terms(
        metric, y if metric not in ("log_loss", "brier") else y.astype(bool), pred
    )
    expected = sm.METRICS[metric].compute(
        np.repeat(y, w.astype(int)), np.repeat(pred, w.astype(int))
    )
    assert float(finish(w @ terms)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("weights", ["multinomial", "poisson"])
def test_label_bootstrap_on_cells_matches_a_row_bootstrap_in_distribution(weights: str) -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 400)
    cand = np.where(rng.random(400) < 0.85, y, 1 - y)
    base = np.where(rng.random(400) < 0.8, y, 1 - y)
    fast = sm._label_bootstrap(
        "f1",
        y=y == 1,
        cand=cand == 1,
        base=base == 1,
        rng=np.random.default_rng(0),
        n_resamples=4000,
        weights=weights,
    )
    diffs = fast[0] - fast[1]
    slow = []
    row_rng = np.random.default_rng(1)
    for _ in range(4000):
        if weights == "poisson":
            idx = np.repeat(np.arange(400), row_rng.poisson(1.0, 400))
        else:
            idx = row_rng.integers(0, 400, 400)
        slow.append(sm.f1(y[idx], cand[idx]) - sm.f1(y[idx], base[idx]))
    # Same distribution: means and spreads agree to Monte-Carlo error (4000 draws).
    assert np.mean(diffs) == pytest.approx(np.mean(slow), abs=0.003)
    assert np.std(diffs) == pytest.approx(np.std(slow), rel=0.08)


def test_paired_bootstrap_is_reproducible_with_a_seed() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    a, b = rng.random(200), rng.random(200)
    first = sm.paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=7)
    assert first == sm.paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=7)
    assert first != sm.paired_bootstrap(y, a, b, "roc_auc", n_resamples=200, seed=8)


def test_paired_bootstrap_takes_a_callable_metric() -> None:
    y = np.array([0, 1] * 50)
    cand, base = y * 0.9, np.where(np.arange(100) % 4 == 0, 1 - y, y) * 0.9

    def hits(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean((y_pred >= 0.5) == y_true))

    result = sm.paired_bootstrap(y, cand, base, hits, n_resamples=300)
    assert result.difference == pytest.approx(0.25)
    assert result.ci_low > 0


def test_bootstrap_intervals_cover_the_true_difference_about_as_often_as_stated() -> None:
    # 200 holdouts from one population whose true F1 difference is computed on 10^6 rows.
    rng = np.random.default_rng(11)
    big_y = rng.integers(0, 2, 1_000_000)
    big_c = np.where(rng.random(1_000_000) < 0.85, big_y, 1 - big_y)
    big_b = np.where(rng.random(1_000_000) < 0.82, big_y, 1 - big_y)
    truth = sm.f1(big_y, big_c) - sm.f1(big_y, big_b)
    covered = 0
    for trial in range(200):
        idx = rng.integers(0, 1_000_000, 500)
        r = sm.paired_bootstrap(
            big_y[idx], big_c[idx], big_b[idx], "f1", n_resamples=400, confidence=0.9, seed=trial
        )
        covered += r.ci_low <= truth <= r.ci_high
    assert 0.82 <= covered / 200 <= 0.97


def test_delong_intervals_cover_the_true_difference_about_as_often_as_stated() -> None:
    rng = np.random.default_rng(12)
    truth_y = rng.integers(0, 2, 400_000)
    truth_a = truth_y + rng.normal(0, 1.0, 400_000)
    truth_b = truth_y + rng.normal(0, 1.2, 400_000)
    truth = sm.roc_auc(truth_y, truth_a) - sm.roc_auc(truth_y, truth_b)
    covered = 0
    for _ in range(200):
        idx = rng.integers(0, 400_000, 400)
        r = sm.delong(truth_y[idx], truth_a[idx], truth_b[idx], confidence=0.9)
        covered += r.ci_low <= truth <= r.ci_high
    assert 0.82 <= covered / 200 <= 0.97


def test_an_unknown_metric_name_raises_a_config_error() -> None:
    # The declared parameters (n_resamples, confidence...) are tested in test_parameters.py.
    with pytest.raises(ConfigError, match="unknown metric"):
        sm.paired_bootstrap([0, 1], [0, 1], [0, 1], "auc")


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            finite,
            st.sampled_from([0.0, -0.0, 1.0, 1.0 + 2**-52, 1.0 + 2**-40, 5e-324, -5e-324]),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_sort_order_sorts_like_argsort(values: list[float]) -> None:
    score = np.array(values)
    order, ordered = sm.sort_order(score)
    assert sorted(order.tolist()) == list(range(len(score)))
    assert np.array_equal(score[order], ordered)
    assert np.array_equal(ordered, np.sort(score))


def test_sort_order_repairs_values_that_differ_in_the_lowest_bits() -> None:
    rng = np.random.default_rng(0)
    score = 1.0 + rng.permutation(5000) * 2**-50  # all agree but in the lowest bits
    order, ordered = sm.sort_order(np.r_[score, rng.normal(size=50_000)])
    assert np.all(np.diff(ordered) >= 0)
    assert len(set(order.tolist())) == len(order)


def test_sort_order_falls_back_to_argsort_when_most_rows_need_repair() -> None:
    score = 1.0 + np.random.default_rng(1).permutation(5000) * 2**-50
    order, ordered = sm.sort_order(score)
    assert np.array_equal(ordered, np.sort(score))
    assert np.array_equal(score[order], ordered)


@pytest.mark.parametrize("seed", [0, 1])
def test_delong_with_scores_a_rounding_error_apart_equals_the_quadratic_reference(
    seed: int,
) -> None:
    # Scores within a relative 2**-40 of each other (and some exactly equal) share their
    # sort keys' leading bits: their order and ties are resolved from the scores alone.
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    a = 1.0 + rng.integers(0, 60, 400) * 2.0**-45
    b = np.where(rng.random(400) < 0.5, a, -a) + rng.integers(0, 3, 400) * 2.0**-50
    result = sm.delong(y, a, b, confidence=0.9)
    auc_a, auc_b, var = slow_delong(y, a, b)
    assert result.candidate == pytest.approx(auc_a, abs=1e-12)
    assert result.baseline == pytest.approx(auc_b, abs=1e-12)
    half = (result.ci_high - result.ci_low) / 2
    assert half == pytest.approx(sps.norm.ppf(0.95) * math.sqrt(var), rel=1e-9)


@pytest.mark.parametrize("share_tied", [0.02, 0.6])
def test_delong_with_some_or_many_tied_scores_equals_the_quadratic_reference(
    share_tied: float,
) -> None:
    # A few ties are counted among the rows whose sort keys are alike; many ties (few
    # distinct scores) by groups of equal keys.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    a, b = y + rng.normal(0, 1, 500), y + rng.normal(0, 1.5, 500)
    tied = rng.random(500) < share_tied
    a[tied] = a[rng.integers(0, 500, int(tied.sum()))]
    b[tied] = np.round(b[tied])
    result = sm.delong(y, a, b, confidence=0.9)
    auc_a, auc_b, var = slow_delong(y, a, b)
    assert result.candidate == pytest.approx(auc_a, abs=1e-12)
    assert result.baseline == pytest.approx(auc_b, abs=1e-12)
    half = (result.ci_high - result.ci_low) / 2
    assert half == pytest.approx(sps.norm.ppf(0.95) * math.sqrt(var), rel=1e-9)
