"""Review 43: a canary judged on a test that can never reject, and windows too long to count.

1. Tied values (latencies in whole milliseconds) make the Mann-Whitney test the normal
   approximation, whose smallest p-value can be far above the exact ``2 / C(n + m, n)``:
   one canary value against 200 tied baseline values reaches only p = 0.086, and the
   shift's interval at 0.95 is ``(-inf, inf)``. The "can the test reach alpha" check used
   the exact formula, so such a canary (125 times slower) passed, and a canary gate
   promoted it. A 0/1 metric judged on its rates passed a canary of one value too.
2. A window or step past ~1.8e305 s has infinite milliseconds: ``round`` of it raised a
   raw OverflowError instead of the ConfigError of a duration Prometheus cannot read.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.cli import main
from modelship.deploy import Canary, RolloutAborted
from modelship.errors import ConfigError
from modelship.monitor import (
    CanaryMetric,
    InMemorySource,
    MannWhitneyResult,
    PrometheusSource,
    RollbackPolicy,
    compare_metric,
    mann_whitney,
    mann_whitney_min_p,
)
from modelship.monitor._canary import _judge
from modelship.testing import InMemoryDeployer

LATENCY = "inference_latency_seconds"
NOBODY = "http://127.0.0.1:9"  # nothing listens: never reached


def mann_whitney_reachable_p(x: object, y: object) -> float:
    """Imported when called, so that each test fails on its own before the fix."""
    from modelship.monitor._stats import mann_whitney_reachable_p as reachable

    return reachable(x, y)  # type: ignore[arg-type]


def _tied_baseline() -> np.ndarray:
    """The reviewer's baseline: 200 latencies in whole milliseconds (many tied)."""
    return np.round(np.random.default_rng(0).gamma(4, 0.01, 200), 3)


# --- 1. the test must be able to reject, by the method it uses --------------------------


def test_one_slow_canary_value_against_a_tied_baseline_is_inconclusive() -> None:
    # Was: pass | not worse beyond tolerance 0.01: shift 4.965 [-inf, inf] (p=0.0863).
    judged = compare_metric([5.0], _tied_baseline(), CanaryMetric(LATENCY, tolerance=0.01))

    assert judged.verdict == "inconclusive"
    assert "cannot reach alpha=0.05 (smallest p 0.0863" in judged.reason
    assert "more values are needed" in judged.reason


def test_the_same_canary_against_an_untied_baseline_still_fails() -> None:
    baseline = _tied_baseline() + np.random.default_rng(1).uniform(0, 1e-4, 200)

    judged = compare_metric([5.0], baseline, CanaryMetric(LATENCY, tolerance=0.01))

    assert judged.verdict == "fail"


def test_three_canary_values_against_ten_tied_at_alpha_0_01_are_inconclusive() -> None:
    baseline = [0.041, 0.041, 0.038, 0.044, 0.040, 0.039, 0.042, 0.043, 0.037, 0.045]

    judged = compare_metric(
        [5.0, 5.2, 4.9], baseline, CanaryMetric(LATENCY, tolerance=0.01), alpha=0.01
    )

    assert judged.verdict == "inconclusive"
    assert "cannot reach alpha=0.01 (smallest p 0.0141" in judged.reason


@pytest.mark.parametrize(
    ("direction", "canary"), [("decrease", -5.0), ("either", 5.0), ("either", -5.0)]
)
def test_one_value_against_a_tied_baseline_is_inconclusive_in_every_direction(
    direction: str, canary: float
) -> None:
    metric = CanaryMetric("accuracy", direction=direction, tolerance=0.01)  # type: ignore[arg-type]

    assert compare_metric([canary], _tied_baseline(), metric).verdict == "inconclusive"


def test_untied_samples_past_eight_each_are_judged_by_the_normal_approximation() -> None:
    # 11 against 11 untied: 2 / C(22, 11) = 2.8e-6 reaches alpha = 1e-5, but the test is
    # the normal approximation there, whose smallest p is 8.2e-5: it passed on (-inf, inf).
    judged = compare_metric(
        np.arange(11.0) + 100, np.arange(11.0), CanaryMetric(LATENCY), alpha=1e-5
    )

    assert judged.verdict == "inconclusive"
    assert "smallest p 8.15e-05" in judged.reason


def test_canary_analysis_of_one_slow_request_holds() -> None:
    baseline = _tied_baseline()
    src = InMemorySource(now=600.0)
    src.add(LATENCY, slot="baseline", values=baseline, timestamps=np.linspace(1, 600, 200))
    src.add(LATENCY, slot="canary", values=[5.0], timestamps=[300.0])

    report = ms.monitor.canary_analysis(
        src, [CanaryMetric(LATENCY, tolerance=0.01)], canary="canary", baseline="baseline",
        window=600.0,
    )  # fmt: skip

    assert (report.verdict, report.gate_outcome, report.score) == (
        "inconclusive",
        "inconclusive",
        None,
    )


def test_a_canary_gate_does_not_promote_one_slow_request() -> None:
    # Was: rollout succeeded, version 2 (125 times slower) serving.
    dep = InMemoryDeployer()
    Canary(dep, clock=dep.clock).deploy("fraud", "1")
    src = InMemorySource(now=dep.clock.monotonic)
    t = dep.clock.monotonic() + 1.0
    src.add(LATENCY, slot="blue", values=_tied_baseline(), timestamps=[t] * 200)
    src.add(LATENCY, slot="green", values=[5.0], timestamps=[t])
    gate = ms.monitor.canary_gate(src, [CanaryMetric(LATENCY, tolerance=0.01)], window=3600.0)

    with pytest.raises(RolloutAborted, match="last answer: inconclusive"):
        Canary(dep, gate=gate, clock=dep.clock).deploy("fraud", "2")

    assert dep.state().serving().version == "1"


@pytest.mark.parametrize("direction", ["increase", "decrease", "either"])
def test_an_unbounded_interval_on_the_bad_side_is_never_a_pass(direction: str) -> None:
    test = MannWhitneyResult(
        statistic=200.0, p_value=0.0863, method="asymptotic", shift=4.965,
        ci_low=-math.inf, ci_high=math.inf, confidence=0.95, n_x=1, n_y=200,
    )  # fmt: skip
    metric = CanaryMetric(LATENCY, direction=direction, tolerance=0.01)  # type: ignore[arg-type]

    verdict, reason = _judge(metric, test, None, alpha=0.05)

    assert verdict == "inconclusive"
    assert "unbounded on the side that would show the canary worse" in reason


def test_an_interval_unbounded_only_on_the_good_side_is_judged() -> None:
    test = MannWhitneyResult(
        statistic=200.0, p_value=0.01, method="asymptotic", shift=4.965,
        ci_low=4.9, ci_high=math.inf, confidence=0.95, n_x=1, n_y=200,
    )  # fmt: skip

    assert _judge(CanaryMetric(LATENCY, tolerance=0.01), test, None, alpha=0.05)[0] == "fail"


@pytest.mark.parametrize(("n", "bad", "direction"), [(1, 1.0, "increase"), (3, 0.0, "decrease")])
def test_a_rate_no_canary_of_this_size_could_fail_is_inconclusive(
    n: int, bad: float, direction: str
) -> None:
    # Every canary value bad, against a baseline at 50 %: Newcombe's interval still
    # reaches 0, so no canary of n values could fail; it passed.
    baseline = [1.0] * 100 + [0.0] * 100
    metric = CanaryMetric("error", direction=direction, kind="binary")  # type: ignore[arg-type]

    judged = compare_metric([bad] * n, baseline, metric)

    assert judged.verdict == "inconclusive"
    assert f"even a canary whose every value is {int(bad)} would not be shown worse" in (
        judged.reason
    )


def test_rates_that_leave_no_room_to_be_worse_still_pass() -> None:
    # No errors anywhere (a canary could be worse: it is not), and a baseline that fails
    # every request (no canary can be worse).
    assert compare_metric([0.0] * 100, [0.0] * 100, CanaryMetric("error")).verdict == "pass"
    either = CanaryMetric("error", direction="either")
    assert compare_metric([0.0] * 100, [0.0] * 100, either).verdict == "pass"
    assert compare_metric([1.0] * 30, [1.0] * 30, CanaryMetric("error")).verdict == "pass"


def test_equal_tied_points_still_pass() -> None:
    metric = CanaryMetric(LATENCY, stat="p95")  # histogram quantiles sit on bucket bounds

    assert compare_metric([0.1] * 30, [0.1] * 30, metric).verdict == "pass"


def test_reachable_p_without_ties_and_a_small_sample_is_the_exact_minimum() -> None:
    assert mann_whitney_reachable_p([0.5], np.arange(200.0)) == mann_whitney_min_p(1, 200)


def test_reachable_p_of_tied_values_is_the_normal_approximation() -> None:
    assert mann_whitney_reachable_p([5.0], _tied_baseline()) == pytest.approx(0.08629, abs=1e-5)


_VALUES = st.lists(st.integers(0, 6).map(float), min_size=1, max_size=14)


@settings(max_examples=150, deadline=None)
@given(_VALUES, _VALUES, st.sampled_from([0.2, 0.05, 0.01, 0.001]))
def test_reachable_p_is_the_p_of_one_sample_beyond_the_other_and_bounds_the_interval(
    x: list[float], y: list[float], alpha: float
) -> None:
    reachable = mann_whitney_reachable_p(x, y)
    observed = mann_whitney(x, y, confidence=1 - alpha)
    beyond = mann_whitney(np.add(x, 10.0), y)

    if observed.method == beyond.method:
        assert beyond.p_value == pytest.approx(reachable, rel=1e-12)
        # Values tied across the samples make the observed test approximate where the
        # separated samples' is exact: the interval's ranks are then the approximation's
        # (documented; found by this test with x == y == [0, 1, 2, 3, 4] at alpha 0.01).
        if reachable <= alpha:
            assert math.isfinite(observed.ci_low)
            assert math.isfinite(observed.ci_high)


# --- 2. windows and steps whose milliseconds overflow ----------------------------------------

HUGE = 1e306  # times 1000 is inf
DURATION = r"longer than any duration Prometheus reads \(at most 9223372036\.854 s"


def test_render_refuses_a_huge_window_with_the_duration_error() -> None:
    with pytest.raises(ConfigError, match=DURATION):
        PrometheusSource(NOBODY).render("error_rate", "mean", slot="green", window=HUGE)


def test_a_policy_refuses_a_huge_window_before_asking_prometheus() -> None:
    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    src = PrometheusSource(NOBODY, timeout=0.5)

    with pytest.raises(ConfigError, match=DURATION):
        policy.evaluate(src, slot="green", window=HUGE)
    with pytest.raises(ConfigError, match=DURATION):
        ms.monitor.policy_gate(src, policy, window=HUGE)
    with pytest.raises(ConfigError, match=DURATION):
        ms.monitor.run_policy(
            src, policy, slot="green", window=HUGE, interval=1.0, duration=1.0,
            sleep=lambda s: None,
        )  # fmt: skip


def test_a_huge_step_of_a_range_query_is_the_duration_error() -> None:
    with pytest.raises(ConfigError, match=r"step of 1e\+306 s is longer than any duration"):
        PrometheusSource(NOBODY).query_range("up", start=0.0, end=1.0, step=HUGE)


@pytest.mark.parametrize("window", [HUGE, 1e300, 1e15])
def test_a_canary_gate_refuses_a_window_no_step_can_answer(window: float) -> None:
    # 1e306 raised OverflowError; 1e300 and 1e15 suggested a step (9.1e295 s, 9.1e10 s)
    # longer than Prometheus reads a duration, which was refused in turn.
    metric = CanaryMetric(LATENCY, stat="p95")

    with pytest.raises(ConfigError, match="longer than any range Prometheus answers") as refused:
        ms.monitor.canary_gate(PrometheusSource(NOBODY), [metric], window=window, step=1.0)

    assert "shorten the window" in str(refused.value)
    assert "raise the step" not in str(refused.value)


def test_a_series_over_a_huge_window_is_refused() -> None:
    with pytest.raises(ConfigError, match="longer than any range Prometheus answers"):
        PrometheusSource(NOBODY).fetch_series(
            "error_rate", slot="green", start=0.0, end=HUGE, stat="mean", step=1.0
        )


def test_the_longest_answerable_window_still_suggests_a_step_it_reads() -> None:
    with pytest.raises(ConfigError, match=r"raise the step to at least 9\.1e\+09 s"):
        PrometheusSource(NOBODY).check_question(
            "error_rate", slot="green", stat="mean", window=1e14, step=1e9
        )


def test_monitor_watch_refuses_a_huge_window_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Was: "unexpected error: OverflowError", exit 2 by the catch-all.
    code = main(
        [
            "monitor", "watch", NOBODY, "--slot", "green", "-c", "error_rate > 5%",
            "--interval", "1", "--duration", "1", "--window", "1e308", "--timeout", "0.5",
            "--log", str(tmp_path / "d.jsonl"),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()

    assert code == 2
    assert "ConfigError" in captured.err
    assert "longer than any duration Prometheus reads" in captured.err
    assert "unexpected error" not in captured.err


# --- second look -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "auto"])
def test_one_wrong_answer_of_one_canary_request_is_inconclusive_not_a_failure(kind: str) -> None:
    """One 0/1 flag against 27/30: the approximation claims p = 0.008, where no test of
    these sizes can go below 2/31 (Fisher's exact test says 0.13). The exact floor holds:
    the canary is held, not rolled back at its first request."""
    baseline = [1.0] * 27 + [0.0] * 3
    judged = compare_metric(
        [0.0], baseline, CanaryMetric("accuracy", direction="decrease", kind=kind)
    )
    assert judged.verdict == "inconclusive", judged.reason


@pytest.mark.parametrize(
    ("x", "y"),
    [([0.0], [0.0, 4.0, 3.0]), ([0.0, 1.0, 2.0], [3.0, 2.0, 0.0]), ([0.1], np.arange(8.0) / 10)],
)
def test_ties_only_across_the_samples_leave_the_extreme_arrangement_exact(
    x: list[float], y: list[float]
) -> None:
    """Once one sample lies beyond the other no value ties across them: with no tie
    within either, the test there is exact, and that is the smallest p reachable."""
    assert mann_whitney_reachable_p(x, y) == pytest.approx(mann_whitney_min_p(len(x), len(y)))


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99, 0.999])
@pytest.mark.parametrize(("k_x", "n_x", "k_y", "n_y"), [(1, 1, 0, 1), (0, 1, 7, 7), (50, 50, 0, 3)])
def test_the_interval_of_a_difference_of_rates_stays_within_minus_one_and_one(
    k_x: int, n_x: int, k_y: int, n_y: int, confidence: float
) -> None:
    """docs/ab-tests.md: unlike the Wald interval it stays within [-1, 1] (it went one
    rounding past: 1.0000000000000002)."""
    from modelship.monitor import proportion_difference

    r = proportion_difference(k_x, n_x, k_y, n_y, confidence=confidence)
    assert -1.0 <= r.ci_low <= r.difference <= r.ci_high <= 1.0
