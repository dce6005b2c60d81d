"""Accuracy against late ground truth: the prediction log joined with recorded outcomes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

import modelship as ms
from modelship.checks import stats
from modelship.errors import ConfigError
from modelship.monitor import (
    NoData,
    OutcomeLogError,
    OutcomeSource,
    RecordSummary,
    Samples,
)


def _rows(
    n: int,
    *,
    version: str = "2",
    outputs: Any = None,
    t0: float = 0.0,
    step: float = 1.0,
    prefix: str = "r",
) -> list[dict[str, Any]]:
    values = [i % 2 for i in range(n)] if outputs is None else list(outputs)
    return [
        {
            "request_id": f"{prefix}{i}",
            "row": 0,
            "timestamp": t0 + i * step,
            "version": version,
            "output": values[i],
        }
        for i in range(n)
    ]


def _ids(n: int, prefix: str = "r") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


# --- the join and the window -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=80),
    labelled=st.data(),
)
def test_accuracy_of_a_window_is_the_checks_accuracy_of_its_joined_pairs(
    pairs: list[tuple[int, int]], labelled: st.DataObject
) -> None:
    n = len(pairs)
    src = OutcomeSource(now=1000.0)
    src.add_predictions(_rows(n, outputs=[p for p, _ in pairs]))
    chosen = labelled.draw(st.lists(st.integers(0, n - 1), unique=True, min_size=1))
    src.record_outcomes([f"r{i}" for i in chosen], [pairs[i][1] for i in chosen])
    window = src.evaluate("accuracy", version="2", start=-1.0, end=1000.0)
    expected = stats.accuracy([pairs[i][1] for i in chosen], [pairs[i][0] for i in chosen])
    assert window.n == len(chosen)
    assert window.value == pytest.approx(expected, abs=1e-12)
    assert window.ci_low <= window.value <= window.ci_high


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_regression_metrics_equal_the_checks_metrics_on_the_window(metric: str) -> None:
    rng = np.random.default_rng(1)
    pred = rng.normal(size=300)
    truth = pred + rng.normal(scale=0.5, size=300)
    src = OutcomeSource(now=1000.0)
    src.add_predictions(_rows(300, outputs=pred.tolist()))
    src.record_outcomes(_ids(300), truth)
    window = src.evaluate(metric, version="2", start=-1.0, end=1000.0)
    assert window.value == pytest.approx(getattr(stats, metric)(truth, pred), abs=1e-12)
    assert window.ci_low < window.value < window.ci_high


def test_the_window_holds_predictions_made_in_start_exclusive_end_inclusive() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(10, outputs=[1] * 10))  # timestamps 0..9
    src.record_outcomes(_ids(10), [1] * 10)
    assert src.evaluate("accuracy", version="2", start=2.0, end=5.0).n == 3  # 3, 4, 5


def test_each_version_is_evaluated_on_its_own_predictions() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(20, version="1", outputs=[1] * 20, prefix="a"))
    src.add_predictions(_rows(20, version="2", outputs=[0] * 20, prefix="b"))
    src.record_outcomes(_ids(20, "a") + _ids(20, "b"), [1] * 40)
    assert src.evaluate("accuracy", version="1", start=-1, end=100).value == 1.0
    assert src.evaluate("accuracy", version="2", start=-1, end=100).value == 0.0


def test_predictions_added_out_of_time_order_are_windowed_by_their_timestamps() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(5, outputs=[1] * 5, t0=50.0, prefix="late"))
    src.add_predictions(_rows(5, outputs=[1] * 5, t0=0.0, prefix="early"))
    src.record_outcomes(_ids(5, "late") + _ids(5, "early"), [1] * 10)
    assert src.evaluate("accuracy", version="2", start=-1.0, end=10.0).n == 5
    assert src.evaluate("accuracy", version="2", start=10.0, end=60.0).n == 5


def test_rows_of_a_batch_request_are_joined_by_request_id_and_row() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(
        [
            {"request_id": "batch", "row": r, "timestamp": 1.0, "version": "2", "output": r % 2}
            for r in range(4)
        ]
    )
    src.record_outcomes(["batch"] * 4, [0, 1, 1, 1], rows=[0, 1, 2, 3])
    window = src.evaluate("accuracy", version="2", start=0.0, end=2.0)
    assert (window.n, window.value) == (4, 0.75)


def test_a_missing_prediction_is_left_out_and_counted_as_dropped() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(3, outputs=[1, None, 1]))
    src.record_outcomes(_ids(3), [1, 1, 0])
    window = src.evaluate("accuracy", version="2", start=-1, end=100)
    assert (window.n, window.dropped, window.value) == (2, 1, 0.5)


# --- late, unknown and duplicate outcomes -------------------------------------------------


def test_an_outcome_recorded_after_as_of_is_not_in_the_window() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(4, outputs=[1] * 4))
    src.record_outcomes(_ids(2), [1, 1], at=50.0)
    src.record_outcomes(["r2", "r3"], [0, 0], at=150.0)
    assert src.evaluate("accuracy", version="2", start=-1, end=10, as_of=100.0).n == 2
    assert src.evaluate("accuracy", version="2", start=-1, end=10, as_of=150.0).n == 4


def test_a_late_outcome_counts_in_a_later_evaluation_of_an_evaluated_window() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(4, outputs=[1] * 4))
    src.record_outcomes(_ids(2), [1, 1])
    before = src.evaluate("accuracy", version="2", start=-1, end=10)
    src.record_outcomes(["r2", "r3"], [0, 0])
    after = src.evaluate("accuracy", version="2", start=-1, end=10)
    assert (before.n, before.value, after.n, after.value) == (2, 1.0, 4, 0.5)


def test_an_outcome_for_an_unknown_request_is_kept_and_joined_when_its_prediction_arrives() -> None:
    src = OutcomeSource(now=100.0)
    summary = src.record_outcomes(["r0", "r1"], [1, 0])
    assert summary == RecordSummary(recorded=2, matched=0, unmatched=2, replaced=0)
    assert src.unmatched == 2
    src.add_predictions(_rows(2, outputs=[1, 1]))
    assert src.unmatched == 0
    assert src.evaluate("accuracy", version="2", start=-1, end=10).value == 0.5


def test_a_second_outcome_for_a_request_replaces_the_first() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(1, outputs=[1]))
    src.record_outcomes(["r0"], [0])
    summary = src.record_outcomes(["r0"], [1])
    assert summary.replaced == 1
    window = src.evaluate("accuracy", version="2", start=-1, end=10)
    assert (window.n, window.value) == (1, 1.0)


def test_the_last_of_two_outcomes_for_a_request_in_one_call_wins() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(1, outputs=[1]))
    assert src.record_outcomes(["r0", "r0"], [0, 1]).replaced == 1
    assert src.evaluate("accuracy", version="2", start=-1, end=10).value == 1.0


def test_a_prediction_logged_twice_is_joined_once() -> None:
    src = OutcomeSource(now=100.0)
    assert src.add_predictions(_rows(3)) == 3
    assert src.add_predictions(_rows(3)) == 0
    assert src.duplicate_predictions == 3
    src.record_outcomes(_ids(3), [0, 1, 0])
    assert src.evaluate("accuracy", version="2", start=-1, end=10).n == 3


def test_predictions_are_read_from_the_servers_prediction_log() -> None:
    from modelship.deploy.serve import PredictionLog

    url = "memory://outcomes-join-test"
    log = PredictionLog(url)
    for i in range(6):
        log.add(
            f"req-{i}",
            np.array([[float(i)]]),
            np.array([i % 2]),
            latency_seconds=0.001,
            model="m",
            version="7",
        )
    log.flush()
    src = OutcomeSource(now=2e10)
    assert src.load_prediction_log(url) == 6
    assert src.load_prediction_log(url) == 0
    src.record_outcomes([f"req-{i}" for i in range(6)], [1] * 6)
    window = src.evaluate("accuracy", version="7", start=0.0, end=2e10)
    assert (window.n, window.value) == (6, 0.5)


# --- tables -----------------------------------------------------------------------------


def test_outcomes_are_recorded_from_a_mapping_of_columns_with_rows() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(
        [
            {"request_id": "b", "row": r, "timestamp": 1.0, "version": "2", "output": 1}
            for r in range(2)
        ]
    )
    src.record_table(
        {"id": ["b", "b"], "label": [1, 0], "row": [0, 1]}, id_column="id", outcome_column="label"
    )
    assert src.evaluate("accuracy", version="2", start=0, end=2).value == 0.5


class _Frame:
    """A duck-typed data frame: ``.columns`` and column look-up, as pandas and polars."""

    def __init__(self, data: dict[str, list[Any]]) -> None:
        self._data = data
        self.columns = list(data)

    def __getitem__(self, name: str) -> list[Any]:
        return self._data[name]


def test_outcomes_are_recorded_from_a_duck_typed_frame() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(2, outputs=[1, 1]))
    src.record_table(_Frame({"request_id": ["r0", "r1"], "y_true": [1, 1]}))
    assert src.evaluate("accuracy", version="2", start=-1, end=10).value == 1.0


def test_a_table_without_the_outcome_column_is_refused_naming_its_columns() -> None:
    with pytest.raises(ConfigError, match=r"no column 'y_true'.*request_id"):
        OutcomeSource(now=1.0).record_table({"request_id": ["a"], "label": [1]})


def test_an_object_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ConfigError, match="mapping of columns or a data frame"):
        OutcomeSource(now=1.0).record_table([("a", 1)])


# --- bad input -------------------------------------------------------------------------


def test_ids_and_outcomes_of_different_lengths_are_refused() -> None:
    with pytest.raises(ConfigError, match="2 request ids, 1 outcomes"):
        OutcomeSource(now=1.0).record_outcomes(["a", "b"], [1])


def test_a_missing_outcome_is_refused() -> None:
    with pytest.raises(ConfigError, match="missing or infinite"):
        OutcomeSource(now=1.0).record_outcomes(["a"], [float("nan")])


def test_a_prediction_row_without_a_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs request_id, timestamp, version"):
        OutcomeSource(now=1.0).add_predictions([{"request_id": "a", "timestamp": 1.0, "output": 1}])


def test_a_non_scalar_output_is_refused() -> None:
    row = {"request_id": "a", "row": 0, "timestamp": 1.0, "version": "1", "output": [0.2, 0.8]}
    with pytest.raises(ConfigError, match="not a number"):
        OutcomeSource(now=1.0).add_predictions([row])


def test_an_unknown_metric_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="accuracy, precision"):
        OutcomeSource(now=1.0).evaluate("acuracy", version="1", start=0, end=1)


def test_a_label_metric_over_scores_is_refused_with_what_it_takes() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(4, outputs=[0.2, 0.7, 0.4, 0.9]))
    src.record_outcomes(_ids(4), [0, 1, 0, 1])
    with pytest.raises(ConfigError, match="accuracy takes labels predictions"):
        src.evaluate("accuracy", version="2", start=-1, end=10)


def test_auc_of_a_window_with_one_class_is_no_data_with_the_reason() -> None:
    src = OutcomeSource(now=100.0)
    src.add_predictions(_rows(4, outputs=[0.2, 0.7, 0.4, 0.9]))
    src.record_outcomes(_ids(4), [1, 1, 1, 1])
    out = src.fetch("roc_auc", slot="2", start=-1, end=10, stat="mean")
    assert isinstance(out, NoData)
    assert "undefined" in out.reason


# --- intervals ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(hits=st.integers(0, 200), extra=st.integers(1, 200), level=st.sampled_from([0.8, 0.95]))
def test_the_accuracy_interval_is_scipys_wilson_interval(
    hits: int, extra: int, level: float
) -> None:
    n = hits + extra
    src = OutcomeSource(now=1e6, confidence=level)
    src.add_predictions(_rows(n, outputs=[1] * n))
    src.record_outcomes(_ids(n), [1] * hits + [0] * extra)
    window = src.evaluate("accuracy", version="2", start=-1, end=1e6)
    ci = scipy_stats.binomtest(hits, n).proportion_ci(confidence_level=level, method="wilson")
    assert window.ci_low == pytest.approx(ci.low, abs=1e-9)
    assert window.ci_high == pytest.approx(ci.high, abs=1e-9)


def test_the_auc_interval_uses_delongs_variance_as_the_checks_compute_it() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=400)
    score = y * 0.6 + rng.normal(size=400)
    src = OutcomeSource(now=1e6, confidence=0.9)
    src.add_predictions(_rows(400, outputs=score.tolist()))
    src.record_outcomes(_ids(400), y)
    window = src.evaluate("roc_auc", version="2", start=-1, end=1e6)
    # Against a constant score (no variance), the paired DeLong interval is the single one.
    paired = stats.delong(y, score, np.zeros(400), confidence=0.9)
    assert window.value == pytest.approx(paired.candidate, abs=1e-12)
    assert window.ci_low == pytest.approx(paired.ci_low + 0.5, abs=1e-9)
    assert window.ci_high == pytest.approx(paired.ci_high + 0.5, abs=1e-9)


def test_the_f1_interval_is_reproducible_and_holds_the_estimate() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=300)
    pred = np.where(rng.random(300) < 0.8, y, 1 - y)

    def window() -> Any:
        src = OutcomeSource(now=1e6, seed=7)
        src.add_predictions(_rows(300, outputs=pred.tolist()))
        src.record_outcomes(_ids(300), y)
        return src.evaluate("f1", version="2", start=-1, end=1e6)

    first, second = window(), window()
    assert first == second
    assert first.ci_low < first.value < first.ci_high


@pytest.mark.parametrize(("metric", "truth"), [("accuracy", 0.8), ("rmse", 1.0)])
def test_the_95_percent_interval_covers_the_true_value_in_about_95_percent_of_windows(
    metric: str, truth: float
) -> None:
    rng = np.random.default_rng(5)
    covered = 0
    trials = 400
    for _ in range(trials):
        if metric == "accuracy":
            y = np.ones(200)
            pred = (rng.random(200) < truth).astype(float)
        else:
            pred = rng.normal(size=200)
            y = pred + rng.normal(scale=truth, size=200)
        src = OutcomeSource(now=1e6)
        src.add_predictions(_rows(200, outputs=pred.tolist()))
        src.record_outcomes(_ids(200), y)
        w = src.evaluate(metric, version="2", start=-1, end=1e6)
        covered += w.ci_low <= truth <= w.ci_high
    # 95 % nominal; a binomial(400, 0.95) count falls in [366, 394] with probability > 0.999
    assert 366 <= covered <= 394


# --- as a metric source ---------------------------------------------------------------------


def _labelled(correct: int, wrong: int, *, version: str = "2", prefix: str = "r") -> OutcomeSource:
    src = OutcomeSource(slots={"canary": "2", "stable": "1"}, now=1000.0)
    _add_labelled(src, correct, wrong, version=version, prefix=prefix)
    return src


def _add_labelled(
    src: OutcomeSource, correct: int, wrong: int, *, version: str, prefix: str
) -> None:
    n = correct + wrong
    src.add_predictions(
        _rows(n, version=version, outputs=[1] * n, t0=500.0, step=0.1, prefix=prefix)
    )
    src.record_outcomes(_ids(n, prefix), [1] * correct + [0] * wrong, at=900.0)


def test_the_source_implements_the_metric_source_protocol() -> None:
    assert isinstance(OutcomeSource(), ms.monitor.MetricSource)


def test_a_fetch_is_one_point_whose_count_is_the_windows_sample_size() -> None:
    out = _labelled(45, 5).fetch("accuracy", slot="canary", start=0, end=1000, stat="mean")
    assert isinstance(out, Samples)
    assert (out.values.tolist(), out.n, out.stat) == ([0.9], 50, "mean")


def test_a_percentile_statistic_is_the_one_sided_confidence_bound() -> None:
    src = _labelled(45, 5)
    window = src.evaluate("accuracy", version="2", start=0, end=1000)
    low = src.fetch("accuracy", slot="canary", start=0, end=1000, stat="p2.5")
    high = src.fetch("accuracy", slot="canary", start=0, end=1000, stat="p97.5")
    assert isinstance(low, Samples)
    assert isinstance(high, Samples)
    assert float(low.values[0]) == pytest.approx(window.ci_low, abs=1e-12)
    assert float(high.values[0]) == pytest.approx(window.ci_high, abs=1e-12)


def test_the_count_statistic_is_the_sample_size() -> None:
    out = _labelled(45, 5).fetch("accuracy", slot="canary", start=0, end=1000, stat="count")
    assert isinstance(out, Samples)
    assert float(out.values[0]) == 50.0


def test_a_slot_without_labelled_predictions_is_no_data_not_zero() -> None:
    out = _labelled(45, 5).fetch("accuracy", slot="stable", start=0, end=1000, stat="mean")
    assert isinstance(out, NoData)


def test_a_policy_fails_a_canary_whose_accuracy_is_below_the_threshold() -> None:
    cond = ms.monitor.Condition(metric="accuracy", op="<", threshold=0.9)
    decision = ms.monitor.RollbackPolicy(conditions=[cond]).evaluate(
        _labelled(30, 20), slot="canary", window=600.0
    )
    assert decision.verdict == "fail"


def test_a_window_below_min_samples_is_inconclusive() -> None:
    cond = ms.monitor.Condition(metric="accuracy", op="<", threshold=0.9, min_samples=100)
    decision = ms.monitor.RollbackPolicy(conditions=[cond]).evaluate(
        _labelled(30, 20), slot="canary", window=600.0
    )
    assert decision.verdict == "inconclusive"
    assert "n=50 < min_samples=100" in decision.reasons[0]


def test_a_relative_condition_compares_the_canarys_accuracy_with_the_baselines() -> None:
    src = _labelled(35, 15)  # canary 0.70
    _add_labelled(src, 45, 5, version="1", prefix="s")  # stable 0.90
    policy = ms.monitor.RollbackPolicy(conditions=["mean(accuracy) < baseline - 5%"])
    decision = policy.evaluate(src, slot="canary", baseline="stable", window=600.0)
    assert decision.verdict == "fail"
    assert "limit from stable mean = 0.9" in decision.reasons[0]


def test_a_confidence_bound_condition_holds_only_when_the_canary_is_confidently_worse() -> None:
    cond = ms.monitor.Condition(metric="accuracy", stat="p95", op="<", threshold=0.9)
    policy = ms.monitor.RollbackPolicy(conditions=[cond])
    # 0.85 on 40 rows: the upper 95 % bound is above 0.9, so the evidence is too weak.
    assert policy.evaluate(_labelled(34, 6), slot="canary", window=600.0).verdict == "pass"
    # 0.85 on 2,000 rows: the upper bound is below 0.9.
    assert policy.evaluate(_labelled(1700, 300), slot="canary", window=600.0).verdict == "fail"


# --- storage ---------------------------------------------------------------------------------


def test_outcomes_recorded_to_a_file_are_there_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    first = OutcomeSource(path, now=100.0)
    first.record_outcomes(_ids(3), [1, 0, 1], at=10.0)
    first.record_outcomes(["r1"], [1], at=20.0)
    second = OutcomeSource(path, now=100.0)
    second.add_predictions(_rows(3, outputs=[1, 1, 1]))
    window = second.evaluate("accuracy", version="2", start=-1, end=10)
    assert (window.n, window.value) == (3, 1.0)
    # As of 15, r1 held the outcome recorded at 10 (0): the correction at 20 is not seen.
    as_of = second.evaluate("accuracy", version="2", start=-1, end=10, as_of=15.0)
    assert (as_of.n, as_of.value) == (3, 2 / 3)


def test_a_torn_last_line_is_dropped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    OutcomeSource(path, now=100.0).record_outcomes(["a"], [1])
    with path.open("ab") as handle:
        handle.write(b'0123 {"v":1,"at":1')  # a crash in the middle of an append
    reopened = OutcomeSource(path, now=100.0)
    assert reopened.unmatched == 1
    assert "torn last line" in reopened.recovered[0]


def test_a_corrupted_line_before_the_last_raises_outcome_log_error(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    src = OutcomeSource(path, now=100.0)
    src.record_outcomes(["a"], [1])
    src.record_outcomes(["b"], [0])
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"a"', b'"z"')
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(OutcomeLogError, match="line 1"):
        OutcomeSource(path, now=100.0)


def test_outcomes_that_cannot_be_written_are_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    src = OutcomeSource(path, now=100.0)
    path.mkdir()  # the file's place is taken: the append fails
    with pytest.raises(OutcomeLogError, match="Is a directory"):
        src.record_outcomes(["a"], [1])
    assert src.unmatched == 0


def test_a_window_record_round_trips_through_json_with_nan() -> None:
    window = OutcomeSource(now=1.0).evaluate("accuracy", version="1", start=0, end=1)
    again = ms.monitor.WindowMetric.from_dict(window.to_dict())
    assert math.isnan(again.value)
    assert (again.n, again.reason) == (0, window.reason)


def test_a_bad_prediction_row_is_named_by_its_position() -> None:
    rows = _rows(3)
    rows[2]["timestamp"] = "soon"
    with pytest.raises(ConfigError, match="prediction 2:"):
        OutcomeSource(now=1.0).add_predictions(rows)


_operation = st.one_of(
    st.tuples(st.just("predict"), st.lists(st.integers(0, 15), max_size=6)),
    st.tuples(
        st.just("outcome"), st.lists(st.tuples(st.integers(0, 15), st.integers(0, 1)), max_size=6)
    ),
)


@settings(max_examples=150, deadline=None)
@given(operations=st.lists(_operation, max_size=12))
def test_the_join_equals_a_dict_join_whatever_the_order_of_predictions_and_outcomes(
    operations: list[tuple[str, list[Any]]],
) -> None:
    src = OutcomeSource(now=100.0)
    predicted: dict[str, tuple[float, int]] = {}  # first prediction of a key
    reused: set[str] = set()  # keys logged for two different predictions: joined to nothing
    labels: dict[str, int] = {}  # last outcome of a key wins
    for step, (kind, items) in enumerate(operations):
        if kind == "predict":
            # the output depends on the position too: a repeated key is told apart
            rows = [
                {"request_id": f"k{k}", "row": 0, "timestamp": float(k), "version": "2",
                 "output": (k + step + i) % 2}
                for i, k in enumerate(items)
            ]  # fmt: skip
            src.add_predictions(rows)
            for row in rows:
                mine = (row["timestamp"], row["output"])
                if predicted.setdefault(row["request_id"], mine) != mine:
                    reused.add(row["request_id"])
        else:
            src.record_outcomes([f"k{k}" for k, _ in items], [y for _, y in items])
            labels.update({f"k{k}": y for k, y in items})
    joined = [
        (labels[key], pred)
        for key, (_, pred) in predicted.items()
        if key in labels and key not in reused
    ]
    window = src.evaluate("accuracy", version="2", start=-1.0, end=100.0)
    assert window.n == len(joined)
    assert src.unmatched == len(set(labels) - set(predicted))
    assert src.unattributed == len(set(labels) & reused)
    if joined:
        assert window.value == stats.accuracy([y for y, _ in joined], [p for _, p in joined])
