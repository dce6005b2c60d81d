"""Review 44: McNemar's accuracy interval holds its level, and booleans never merge with
numbers when group or segment labels are coded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from modelship.checks import Bias, Degradation
from modelship.checks.stats import _fairness as sf
from modelship.checks.stats import _metrics as sm


def _mcnemar(b: int, c: int, n: int) -> tuple[float, float]:
    """The 90 % interval of rows where only the candidate (b) or only the baseline (c)
    is right, out of n."""
    y = np.ones(n, dtype=int)
    cand = np.ones(n, dtype=int)
    base = np.ones(n, dtype=int)
    base[:b] = 0
    cand[b : b + c] = 0
    result = sm.mcnemar_exact(y, cand, base, confidence=0.9)
    return result.ci_low, result.ci_high


@pytest.mark.parametrize(
    ("n", "p10", "p01"), [(100, 0.02, 0.06), (200, 0.01, 0.04), (200, 0.0, 0.01)]
)
def test_mcnemar_each_end_misses_the_true_difference_at_most_five_percent(
    n: int, p10: float, p01: float
) -> None:
    # Exact enumeration: (b, c, rest) is multinomial(n; p10, p01, 1 - p10 - p01). The
    # old interval held d = b + c fixed and its low end missed 10.6 % and 14.5 % at the
    # first two cases (40 % at the third: no discordant row gave [0, 0]).
    delta = p10 - p01
    low_miss = high_miss = 0.0
    p_b = sps.binom.pmf(np.arange(n + 1), n, p10)
    for b in np.flatnonzero(p_b > 1e-12):
        rest = 1 - p10
        p_c = sps.binom.pmf(np.arange(n - b + 1), n - b, p01 / rest)
        for c in np.flatnonzero(p_b[b] * p_c > 1e-12):
            low, high = _mcnemar(int(b), int(c), n)
            low_miss += p_b[b] * p_c[c] * (low > delta + 1e-12)
            high_miss += p_b[b] * p_c[c] * (high < delta - 1e-12)
    assert low_miss <= 0.05
    assert high_miss <= 0.05


def test_mcnemar_low_end_lies_below_the_estimate_when_only_the_baseline_is_right() -> None:
    low, high = _mcnemar(0, 2, 200)
    assert low < -0.01 < high


def test_mcnemar_of_predictions_that_never_differ_is_not_a_point() -> None:
    # 200 rows that agree everywhere cannot rule out a true difference of 1 %.
    low, high = _mcnemar(0, 0, 200)
    assert low < -0.01
    assert high > 0.01


def test_degradation_does_not_pass_a_candidate_worse_by_the_margin_on_two_rows() -> None:
    y = np.tile([0, 1], 100)
    base = y.astype(float)
    cand = base.copy()
    cand[[0, 1]] = 1 - cand[[0, 1]]
    result = Degradation(
        y=y, candidate_scores=cand, baseline_scores=base, metrics=["accuracy"]
    ).run()
    comparison = result.metrics["accuracy"]
    assert comparison.ci_low is not None
    assert comparison.ci_low < -0.01
    assert comparison.verdict.value != "not worse within tolerance"


def test_factorize_keeps_booleans_apart_from_equal_numbers() -> None:
    values = np.array([True, 1, False, 0, np.True_, 1.0, "x"], dtype=object)
    codes, labels = sf.factorize(values, what="groups")
    assert labels == ("0", "1", "False", "True", "x")
    assert np.asarray(codes).tolist() == [3, 1, 2, 0, 3, 1, 4]


def test_bias_judges_true_and_one_as_two_groups() -> None:
    s = np.array([True] * 50 + [1] * 50 + [False] * 50 + [0] * 50, dtype=object)
    y = np.tile([0, 1], 100)
    p = np.r_[np.ones(50), np.zeros(50), np.ones(50), np.zeros(50)].astype(int)
    result = Bias(y_true=y, y_pred=p, sensitive=s).run()
    assert {k: g.count for k, g in result.groups.items()} == {
        "0": 50,
        "1": 50,
        "False": 50,
        "True": 50,
    }
    assert result.disparities["demographic_parity_difference"].value == 1.0


def test_degradation_segments_keep_true_and_one_apart() -> None:
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 200)
    scores = np.clip(y + rng.normal(0, 0.4, len(y)), 0, 1)
    segments = np.array([True, 1] * 200, dtype=object)
    result = Degradation(
        y=y,
        candidate_scores=scores,
        baseline_scores=scores,
        metrics=["brier"],
        segments=segments,
        min_segment_size=10,
    ).run()
    assert set(result.slices) == {"True", "1"}


@pytest.mark.parametrize(
    "values", [[1, True, 1, True], [0, False], [1.0, True], ["a", 1, True]], ids=str
)
def test_booleans_stay_apart_from_numbers_whichever_comes_first(values: list[Any]) -> None:
    """A True after a 1 folds into the 1's key: whether booleans are among the values is
    read from the values, not from the keys (third look)."""
    _, labels = sf.factorize(np.array(values, dtype=object), what="groups")
    assert len(labels) == len({(type(v) is bool, v) for v in values})
