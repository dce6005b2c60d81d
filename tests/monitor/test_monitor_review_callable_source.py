"""CallableSource holds a function's own outcomes to the question (review fixes)."""

from __future__ import annotations

import pytest

import modelship as ms
from modelship.monitor import CallableSource, NoData, Samples, SourceError


def answering(outcome: object) -> CallableSource:
    return CallableSource(lambda metric, slot, start, end: outcome, now=7200.0)


def stale_samples(metric: str = "revenue", slot: str = "canary") -> Samples:
    return Samples(metric, slot, [1.0] * 50, [float(t) for t in range(1, 51)], start=0.0, end=60.0)


@pytest.mark.parametrize(
    ("metric", "slot"), [("revenue", "stable"), ("orders", "canary")], ids=["slot", "metric"]
)
def test_samples_of_another_slot_or_metric_are_a_bad_response_not_judged(
    metric: str, slot: str
) -> None:
    out = answering(stale_samples(metric, slot)).fetch(
        "revenue", slot="canary", start=7140.0, end=7200.0
    )

    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"
    assert (out.metric, out.slot, out.start, out.end) == ("revenue", "canary", 7140.0, 7200.0)
    assert f"answered {metric!r} of slot {slot!r}" in out.message


def test_samples_of_another_statistic_are_a_bad_response() -> None:
    own = Samples("revenue", "canary", [1.0], [7150.0], start=7140.0, end=7200.0, stat="p99")

    out = answering(own).fetch("revenue", slot="canary", start=7140.0, end=7200.0, stat="mean")

    assert isinstance(out, SourceError)
    assert "'p99'" in out.message


def test_samples_all_outside_the_window_are_no_data() -> None:
    out = answering(stale_samples()).fetch("revenue", slot="canary", start=7140.0, end=7200.0)

    assert isinstance(out, NoData)
    assert "outside (7140.000, 7200.000]" in out.reason


def test_values_outside_the_window_are_left_out_and_the_window_is_the_one_asked() -> None:
    own = Samples("revenue", "canary", [1.0, 2.0, 3.0], [10.0, 30.0, 70.0], start=0.0, end=100.0)

    out = answering(own).fetch("revenue", slot="canary", start=20.0, end=60.0)

    assert isinstance(out, Samples)
    assert out.values.tolist() == [2.0]
    assert (out.start, out.end) == (20.0, 60.0)


def test_a_policy_is_not_judged_on_a_stale_cached_answer() -> None:
    policy = ms.monitor.RollbackPolicy(conditions=["mean(revenue) < 5"])

    decision = policy.evaluate(answering(stale_samples("revenue", "stable")), slot="canary",
                               window=60.0)  # fmt: skip

    assert decision.verdict == "error"


def test_an_own_no_data_is_stamped_with_the_question() -> None:
    own = NoData("revenue", "canary", start=0.0, end=1.0, reason="closed")

    out = answering(own).fetch("revenue", slot="canary", start=20.0, end=60.0, stat="mean")

    assert isinstance(out, NoData)
    assert (out.start, out.end, out.stat, out.reason) == (20.0, 60.0, "mean", "closed")
