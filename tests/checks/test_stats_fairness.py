"""Group fairness statistics: hand-computed references, Fairlearn, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn import metrics as flm
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.checks.stats import _fairness as sf
from modelship.errors import CheckInputError

# Group a: TN 40, FP 10, FN 10, TP 40; group b: TN 45, FP 5, FN 30, TP 20.
TABLE = np.array([[40, 10, 10, 40], [45, 5, 30, 20]])


def rows_of(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (group, y_true, y_pred) that a count table counts."""
    groups, ys, ps = [], [], []
    for g, cells in enumerate(table):
        for cell, count in enumerate(cells):
            groups += [g] * int(count)
            ys += [cell >> 1] * int(count)
            ps += [cell & 1] * int(count)
    return np.array(groups), np.array(ys), np.array(ps)


def test_confusion_table_counts_each_group_label_and_prediction() -> None:
    groups, y, p = rows_of(TABLE)
    assert sf.confusion_table(groups, 2, y, p).tolist() == TABLE.tolist()


def test_group_rates_match_hand_computation() -> None:
    rates = sf.group_rates(TABLE)
    assert rates["selection_rate"].tolist() == [0.5, 0.25]
    assert rates["true_positive_rate"].tolist() == [0.8, 0.4]
    assert rates["false_positive_rate"].tolist() == [0.2, 0.1]
    assert rates["precision"].tolist() == [0.8, 0.8]
    assert rates["accuracy"].tolist() == [0.8, 0.65]


def test_disparities_match_hand_computation() -> None:
    d = sf.disparities(sf.group_rates(TABLE))
    assert float(d["demographic_parity_difference"]) == pytest.approx(0.25)
    assert float(d["demographic_parity_ratio"]) == pytest.approx(0.5)
    assert float(d["equalized_odds_difference"]) == pytest.approx(0.4)  # max(0.4, 0.1)
    assert float(d["equalized_odds_ratio"]) == pytest.approx(0.5)  # min(0.4/0.8, 0.1/0.2)
    assert float(d["equal_opportunity_difference"]) == pytest.approx(0.4)
    assert float(d["predictive_parity_difference"]) == pytest.approx(0.0)
    assert float(d["disparate_impact"]) == pytest.approx(0.5)


def test_disparate_impact_with_a_reference_group_divides_by_it() -> None:
    table = np.array([[50, 50, 0, 0], [75, 25, 0, 0], [90, 10, 0, 0]])  # SR 0.5, 0.25, 0.1
    d = sf.disparities(sf.group_rates(table), reference=1)
    assert float(d["disparate_impact"]) == pytest.approx(0.1 / 0.25)


FAIRLEARN = {
    "demographic_parity_difference": flm.demographic_parity_difference,
    "demographic_parity_ratio": flm.demographic_parity_ratio,
    "equalized_odds_difference": flm.equalized_odds_difference,
    "equalized_odds_ratio": flm.equalized_odds_ratio,
    "equal_opportunity_difference": flm.equal_opportunity_difference,
}

cells = st.integers(1, 30)
tables = st.lists(st.lists(cells, min_size=4, max_size=4), min_size=2, max_size=5)


@settings(max_examples=50, deadline=None)
@given(table=tables)
def test_disparities_equal_fairlearn_on_the_same_rows(table: list[list[int]]) -> None:
    groups, y, p = rows_of(np.array(table))
    ours = sf.disparities(sf.group_rates(np.array(table)))
    for name, reference in FAIRLEARN.items():
        expected = reference(y, p, sensitive_features=groups)
        assert float(ours[name]) == pytest.approx(expected, abs=1e-9), name


@settings(max_examples=50, deadline=None)
@given(table=tables)
def test_differences_lie_in_zero_one_and_ratios_too(table: list[list[int]]) -> None:
    d = sf.disparities(sf.group_rates(np.array(table)))
    for name in sf.CLASSIFICATION_DISPARITIES:
        assert 0.0 <= float(d[name]) <= 1.0 + 1e-12, name


@settings(max_examples=30, deadline=None)
@given(table=tables)
def test_relabelling_groups_leaves_disparities_unchanged(table: list[list[int]]) -> None:
    counts = np.array(table)
    d1 = sf.disparities(sf.group_rates(counts))
    d2 = sf.disparities(sf.group_rates(counts[::-1]))
    for name in sf.CLASSIFICATION_DISPARITIES:
        assert float(d1[name]) == pytest.approx(float(d2[name]))


def test_a_group_without_positives_has_no_true_positive_rate() -> None:
    rates = sf.group_rates(np.array([[10, 5, 0, 0], [10, 5, 5, 5]]))
    assert np.isnan(rates["true_positive_rate"][0])
    assert np.isnan(sf.disparities(rates)["equal_opportunity_difference"])
    assert not np.isnan(sf.disparities(rates)["demographic_parity_difference"])


def test_a_ratio_with_nobody_selected_anywhere_is_parity() -> None:
    d = sf.disparities(sf.group_rates(np.array([[10, 0, 5, 0], [8, 0, 2, 0]])))
    assert float(d["demographic_parity_ratio"]) == 1.0


def test_factorize_integer_codes_without_sorting_and_text_labels() -> None:
    codes, labels = sf.factorize(np.array([5, 3, 5, 9], dtype=np.int8))
    assert codes.tolist() == [1, 0, 1, 2]
    assert labels == ("3", "5", "9")
    codes, labels = sf.factorize(np.array(["b", "a", "b"], dtype=object))
    assert codes.tolist() == [1, 0, 1]
    assert labels == ("a", "b")


def test_factorize_refuses_missing_values() -> None:
    with pytest.raises(CheckInputError, match="missing values"):
        sf.factorize(np.array(["a", None], dtype=object))
    with pytest.raises(CheckInputError, match="missing values"):
        sf.factorize(np.array([1.0, np.nan]))


def test_intersection_table_sums_to_each_features_table() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, 500), rng.integers(0, 3, 500)
    y, p = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    joint = sf.confusion_table(sf.intersect([a, b], [2, 3]), 6, y, p).reshape(2, 3, 4)
    assert joint.sum(axis=1).tolist() == sf.confusion_table(a, 2, y, p).tolist()
    assert joint.sum(axis=0).tolist() == sf.confusion_table(b, 3, y, p).tolist()


def test_bootstrap_tables_keep_each_group_size_and_centre_on_the_counts() -> None:
    draws = sf.bootstrap_tables(TABLE, 5000, np.random.default_rng(0))
    assert (draws.sum(axis=2) == TABLE.sum(axis=1)).all()
    assert draws.mean(axis=0) == pytest.approx(TABLE, abs=0.6)


def test_count_bootstrap_matches_a_stratified_row_bootstrap_in_distribution() -> None:
    groups, y, p = rows_of(TABLE)
    fast = sf.disparities(
        sf.group_rates(sf.bootstrap_tables(TABLE, 4000, np.random.default_rng(0)))
    )
    rng = np.random.default_rng(1)
    slow = []
    members = [np.flatnonzero(groups == g) for g in range(2)]
    for _ in range(4000):
        idx = np.concatenate([rng.choice(m, len(m)) for m in members])
        table = sf.confusion_table(groups[idx], 2, y[idx], p[idx])
        slow.append(float(sf.disparities(sf.group_rates(table))["equalized_odds_difference"]))
    got = fast["equalized_odds_difference"]
    assert np.mean(got) == pytest.approx(np.mean(slow), abs=0.005)
    assert np.std(got) == pytest.approx(np.std(slow), rel=0.08)


def test_disparity_intervals_cover_the_population_value_about_as_often_as_stated() -> None:
    # Two groups with selection rates 0.5 and 0.4: the true parity difference is 0.1.
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(200):
        table = np.zeros((2, 4), dtype=np.int64)
        for g, rate in enumerate((0.5, 0.4)):
            selected = rng.binomial(300, rate)
            table[g] = [300 - selected, selected, 0, 0]
        point = sf.disparities(sf.group_rates(table))
        boot = sf.disparities(sf.group_rates(sf.bootstrap_tables(table, 500, rng)))
        est = sf.estimate_disparities(point, boot, confidence=0.9)["demographic_parity_difference"]
        covered += est.ci_low <= 0.1 <= est.ci_high
    assert 0.82 <= covered / 200 <= 0.97


def test_regression_means_and_disparities_match_hand_computation() -> None:
    codes = np.array([0, 0, 1, 1])
    table = sf.regression_table(
        codes, 2, np.array([1.0, 1.0, 2.0, 2.0]), np.array([2.0, 0.0, 5.0, 3.0])
    )
    means = sf.regression_means(table)
    assert means["mean_prediction"].tolist() == [1.0, 4.0]
    assert means["mean_error"].tolist() == [0.0, 2.0]
    d = sf.regression_disparities(means)
    assert float(d["mean_prediction_difference"]) == 3.0
    assert float(d["mean_error_difference"]) == 2.0


@settings(max_examples=40, deadline=None)
@given(
    draws=st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=1, max_size=40),
    confidence=st.floats(0.5, 0.99),
)
def test_interval_ends_are_numpys_quantiles_of_the_defined_draws(
    draws: list[float], confidence: float
) -> None:
    values = np.array(draws)
    est = sf.estimate_disparities({"x": np.float64(np.nan)}, {"x": values}, confidence=confidence)[
        "x"
    ]
    defined = values[~np.isnan(values)]
    assert est.n_undefined == len(values) - len(defined)
    if len(defined) == 0:
        assert np.isnan(est.ci_low)
        assert np.isnan(est.ci_high)
        return
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    assert est.ci_low == pytest.approx(low, abs=1e-12)
    assert est.ci_high == pytest.approx(high, abs=1e-12)


# --- the one-pass count table -------------------------------------------------------------


def naive_table(groups: np.ndarray, n_groups: int, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Count each (group, label, prediction) with a Python loop over the rows."""
    table = np.zeros((n_groups, 4), dtype=np.int64)
    for g, yi, pi in zip(groups.tolist(), y.tolist(), p.tolist(), strict=True):
        table[g, 2 * int(yi) + int(pi)] += 1
    return table


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    n_groups=st.integers(1, 40),
    chunk=st.sampled_from([7, 64, 1 << 16]),
    seed=st.integers(0, 2**16),
)
def test_confusion_table_equals_counting_row_by_row_across_chunks_and_packing(
    n: int, n_groups: int, chunk: int, seed: int
) -> None:
    # Small chunks leave remainders that no packed code can hold; 1 to 40 groups cover
    # six to one rows per bincount value.
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, n_groups, n)
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n).astype(bool)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sf, "_CHUNK_ROWS", chunk)
        table = sf.confusion_table(groups, n_groups, y, p)
    assert table.tolist() == naive_table(groups, n_groups, y, p).tolist()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    low=st.integers(0, 300),
    spread=st.integers(0, 30),
    chunk=st.sampled_from([5, 64, 1 << 16]),
    seed=st.integers(0, 2**16),
)
def test_value_table_equals_factorized_counting_whatever_the_chunks(
    n: int, low: int, spread: int, chunk: int, seed: int
) -> None:
    # Later chunks may hold larger values than earlier ones: the table widens as it goes.
    rng = np.random.default_rng(seed)
    values = np.sort(rng.integers(low, low + spread + 1, n))
    y, p = rng.integers(0, 2, n).astype(np.uint8), rng.integers(0, 2, n)
    codes, labels = sf.factorize(values, dense=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sf, "_CHUNK_ROWS", chunk)
        found = sf.value_confusion_table(values, y, p)
    assert found is not None
    table, first = found
    assert first == int(values.min())
    assert table.tolist() == naive_table(codes, len(labels), y, p).tolist()


@pytest.mark.parametrize(
    ("values", "y", "p"),
    [
        (np.array([-1, 0, 1]), np.array([0, 1, 1]), np.array([1, 0, 1])),
        (np.array([0, 1 << 14, 1]), np.array([0, 1, 1]), np.array([1, 0, 1])),
        (np.array([0, 1, 1]), np.array([0, 2, 1]), np.array([1, 0, 1])),
        (np.array([0, 1, 1]), np.array([0, 1, 1]), np.array([1, -1, 1])),
        (np.array([0, 1, 1]), np.array([0.0, 1.0, 1.0]), np.array([1, 0, 1])),
        (np.array(["a", "b", "b"]), np.array([0, 1, 1]), np.array([1, 0, 1])),
    ],
    ids=["negative", "too-large", "label-2", "prediction-minus-1", "float-labels", "text"],
)
def test_value_table_leaves_what_it_cannot_check_to_the_general_way(
    values: np.ndarray, y: np.ndarray, p: np.ndarray
) -> None:
    assert sf.value_confusion_table(values, y, p) is None


@pytest.mark.parametrize("codes", [np.array([0, 2, 1]), np.array([0, -1, 1])])
def test_confusion_table_refuses_codes_outside_the_groups(codes: np.ndarray) -> None:
    with pytest.raises(CheckInputError, match=r"group codes must lie in \[0, 2\)"):
        sf.confusion_table(codes, 2, np.array([0, 1, 1]), np.array([1, 0, 1]))
