"""Bias gate="interval" does not judge what the bootstrap cannot bound (review 53): a
group's rate of exactly 0 or 1 on a small denominator, and more than 10 % of resamples
without a value."""

from __future__ import annotations

import numpy as np

from modelship.checks import Bias, Status
from modelship.checks.stats import _fairness as sf

ONLY_EOPD = {
    "equal_opportunity_difference": 0.1,
    "equalized_odds_difference": None,
    "demographic_parity_difference": None,
}


def few_positives(k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A big group (TPR about 0.97) and a group 'tiny' of 100 rows, ``k`` positives, all
    predicted right (the reviewer's t14)."""
    rng = np.random.default_rng(seed)
    n_big = 5000
    g = np.repeat(["big", "tiny"], [n_big, 100])
    y = np.r_[(rng.random(n_big) < 0.5).astype(int), np.ones(k, int), np.zeros(100 - k, int)]
    pred = y.copy()
    big_pos = np.flatnonzero((g == "big") & (y == 1))
    pred[rng.choice(big_pos, int(0.03 * len(big_pos)), replace=False)] = 0
    return y, pred, g


def test_a_rate_of_one_on_six_positives_is_not_judged_by_the_interval_gate() -> None:
    y, pred, g = few_positives(6)
    result = Bias(y_true=y, y_pred=pred, sensitive=g, gate="interval", thresholds=ONLY_EOPD).run()
    d = result.disparities["equal_opportunity_difference"]
    assert result.status is Status.ERROR
    assert d.status is Status.ERROR
    assert d.passed is None
    assert "true_positive_rate of 'tiny' is 6 of 6 positives" in d.reason
    assert "gate='estimate'" in d.reason
    assert "add rows" in d.reason
    # The figures are still reported.
    assert d.value is not None
    assert d.ci_high is not None


def test_the_estimate_gate_still_judges_a_rate_of_one_on_few_positives() -> None:
    y, pred, g = few_positives(6)
    result = Bias(y_true=y, y_pred=pred, sensitive=g, gate="estimate", thresholds=ONLY_EOPD).run()
    d = result.disparities["equal_opportunity_difference"]
    assert result.status is Status.PASS
    assert d.passed is True


def test_more_than_a_tenth_of_resamples_undefined_is_not_judged() -> None:
    y, pred, g = few_positives(1)
    result = Bias(y_true=y, y_pred=pred, sensitive=g, gate="interval", thresholds=ONLY_EOPD).run()
    d = result.disparities["equal_opportunity_difference"]
    assert d.n_undefined > 100
    assert d.status is Status.ERROR
    assert d.passed is None
    assert f"{d.n_undefined} of 1000 bootstrap resamples" in d.reason
    assert "more than 10%" in d.reason
    assert "'tiny'" in d.reason
    assert "gate='estimate'" in d.reason


def test_a_false_positive_rate_of_zero_on_few_negatives_is_not_judged() -> None:
    rng = np.random.default_rng(2)
    g = np.repeat(["big", "small"], [3000, 60])
    y = np.r_[(rng.random(3000) < 0.5).astype(int), np.ones(50, int), np.zeros(10, int)]
    pred = np.where(y == 1, rng.random(len(y)) < 0.9, rng.random(len(y)) < 0.05).astype(int)
    pred[-10:] = 0  # no false positive among the small group's 10 negatives
    thresholds = {
        "equalized_odds_difference": 0.2,
        **dict.fromkeys(("demographic_parity_difference", "equal_opportunity_difference")),
    }
    result = Bias(y_true=y, y_pred=pred, sensitive=g, gate="interval", thresholds=thresholds).run()
    d = result.disparities["equalized_odds_difference"]
    assert d.status is Status.ERROR
    assert "false_positive_rate of 'small' is 0 of 10 negatives" in d.reason


def test_the_interval_gate_rarely_passes_a_true_disparity_of_027() -> None:
    # The reviewer's t15, shortened: TPR 0.97 against 0.70 with 6 positives in 'tiny'.
    # The old gate passed 11.4 % of 1,000 runs (0.7**6 = 11.8 %: all six predicted right).
    rng = np.random.default_rng(3)
    g = np.repeat(["big", "tiny"], [5000, 100])
    tpr = np.where(g == "big", 0.97, 0.70)
    passed = 0
    for seed in range(100):
        y = np.r_[(rng.random(5000) < 0.5).astype(int), np.ones(6, int), np.zeros(94, int)]
        hit = rng.random(len(y))
        pred = np.where(y == 1, hit < tpr, hit < 0.05).astype(int)
        result = Bias(
            y_true=y,
            y_pred=pred,
            sensitive=g,
            gate="interval",
            n_resamples=400,
            seed=seed,
            thresholds=ONLY_EOPD,
        ).run()
        passed += bool(result.disparities["equal_opportunity_difference"].passed)
    assert passed <= 3


def test_an_ordinary_large_group_case_is_judged_as_before() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    g = np.repeat(["a", "b", "c"], [2000, 1500, 500])
    y = (rng.random(n) < 0.4).astype(int)
    tpr = np.where(g == "c", 0.8, 0.85)
    pred = np.where(y == 1, rng.random(n) < tpr, rng.random(n) < 0.1).astype(int)
    result = Bias(
        y_true=y,
        y_pred=pred,
        sensitive=g,
        gate="interval",
        thresholds={
            "demographic_parity_difference": 0.1,
            "equalized_odds_difference": 0.1,
            "equal_opportunity_difference": 0.1,
            "predictive_parity_difference": 0.1,
            "disparate_impact": 0.8,
        },
    ).run()
    assert result.status is Status.FAIL
    # Pinned from the code before this change.
    expected = {
        "demographic_parity_difference": ("pass", 0.045999999999999985, 0.09735000000000003),
        "disparate_impact": ("fail", 0.8904761904761905, 0.9687969306659358),
        "equal_opportunity_difference": ("fail", 0.04552469135802473, 0.10177201200942623),
        "equalized_odds_difference": ("fail", 0.04552469135802473, 0.10177201200942623),
        "predictive_parity_difference": ("pass", 0.007486631016042855, 0.06956852028280598),
    }
    for name, (status, value, high) in expected.items():
        d = result.disparities[name]
        assert (d.status.value, d.value, d.ci_high) == (status, value, high), name
        assert "not judged" not in d.reason


def test_rate_counts_names_each_rates_denominator() -> None:
    counts = sf.rate_counts([[4, 1, 2, 3]])  # TN, FP, FN, TP
    assert {rate: (int(k[0]), int(d[0])) for rate, (k, d) in counts.items()} == {
        "selection_rate": (4, 10),
        "true_positive_rate": (3, 5),
        "false_positive_rate": (1, 5),
        "precision": (3, 4),
        "accuracy": (7, 10),
    }


def test_a_clear_fail_stays_a_fail_under_the_interval_gate() -> None:
    """A disparity over its threshold however the few rows fall is a fail (exit 1), not
    "not judged" (exit 2): only a pass needs an interval that bounds the disparity."""
    rng = np.random.default_rng(7)
    big_y = np.ones(2000, dtype=int)
    big_p = (rng.random(2000) < 0.97).astype(int)
    small_y = np.array([1] * 20 + [0] * 80)
    small_p = np.zeros(100, dtype=int)  # a true positive rate of 0 of 20 positives
    groups = np.array(["big"] * 2000 + ["small"] * 100)
    y = np.concatenate([big_y, small_y])
    p = np.concatenate([big_p, small_p])
    for gate in ("estimate", "interval"):
        result = Bias(y_true=y, y_pred=p, sensitive=groups, gate=gate, thresholds=ONLY_EOPD).run()
        assert result.status is Status.FAIL, (gate, result.reason)
