"""min_samples counts the pairs a ratio metric rests on (review fixes)."""

from __future__ import annotations

import pytest

import modelship as ms
from modelship.monitor import OutcomeSource, Samples, WindowMetric


def two_frauds_missed() -> OutcomeSource:
    src = OutcomeSource(slots={"canary": "3"}, now=2000.0)
    n = 1000
    src.add_predictions(
        [{"request_id": f"q{i}", "row": 0, "timestamp": 1000.0 + i, "version": "3",
          "output": 1 if i < 5 else 0} for i in range(n)]
    )  # fmt: skip
    y = [0] * n
    y[10] = y[500] = 1
    src.record_outcomes([f"q{i}" for i in range(n)], y, at=1999.0)
    return src


@pytest.mark.parametrize("stat", ["mean", "p97.5"])
def test_a_recall_over_two_positives_is_inconclusive_under_min_samples(stat: str) -> None:
    policy = ms.monitor.RollbackPolicy(conditions=[f"{stat}(recall) < 0.5 min_samples=100"])

    decision = policy.evaluate(two_frauds_missed(), slot="canary", window=2000.0)

    assert decision.verdict == "inconclusive"
    assert "n=2 < min_samples=100" in decision.reasons[0]


@pytest.mark.parametrize(
    ("metric", "support"),
    [("recall", 2), ("precision", 5), ("f1", 7), ("roc_auc", 2), ("accuracy", 1000)],
)
def test_the_sample_size_of_a_metric_is_the_pairs_it_rests_on(metric: str, support: int) -> None:
    src = two_frauds_missed()

    window = src.evaluate(metric, version="3", start=0.0, end=2000.0)
    out = src.fetch(metric, slot="canary", start=0.0, end=2000.0, stat="mean")
    count = src.fetch(metric, slot="canary", start=0.0, end=2000.0, stat="count")

    assert (window.n, window.support) == (1000, support)
    assert isinstance(out, Samples)
    assert out.n == support
    assert isinstance(count, Samples)
    assert count.values.tolist() == [1000.0]  # count reads n, the joined pairs


def test_a_window_metric_round_trips_with_its_support_and_reads_without_it() -> None:
    window = two_frauds_missed().evaluate("recall", version="3", start=0.0, end=2000.0)

    assert WindowMetric.from_dict(window.to_dict()) == window
    older = {k: v for k, v in window.to_dict().items() if k != "support"}
    assert WindowMetric.from_dict(older).support is None
