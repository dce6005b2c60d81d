"""Canary verdicts that say what they rest on (review 55c).

A 0/1 metric whose pooled z-test says worse at p < alpha is no pass while Newcombe's
interval still reaches 0; every reason names its interval and test, the level and the
sample sizes; ``CanaryMetric(require_bound=True)`` makes a pass also rule out a canary
worse beyond the tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelship as ms
from modelship.monitor import CanaryMetric, compare_metric

DOC = Path(__file__).parents[2] / "docs" / "monitor.md"


def _flags(ones: int, n: int) -> np.ndarray:
    return np.r_[np.ones(ones), np.zeros(n - ones)]


@pytest.mark.parametrize(
    ("canary", "baseline"),
    [((1, 16), (0, 61)), ((2, 40), (1, 151))],  # p = 0.0494 and 0.0498, interval low < 0
)
@pytest.mark.parametrize("direction", ["increase", "either"])
def test_rates_the_z_test_calls_worse_are_inconclusive_not_passed(
    canary: tuple[int, int], baseline: tuple[int, int], direction: str
) -> None:
    judged = compare_metric(
        _flags(*canary),
        _flags(*baseline),
        CanaryMetric("error", direction=direction),  # type: ignore[arg-type]
    )

    assert judged.proportions is not None
    assert judged.proportions.p_value < 0.05
    assert judged.proportions.ci_low <= 0
    assert judged.verdict == "inconclusive"  # before: "pass", "not worse"
    assert "the test rejects with the canary worse" in judged.reason
    assert "more values are needed" in judged.reason


def test_a_lower_rate_the_z_test_calls_worse_is_inconclusive_too() -> None:
    # 15 of 16 right against 61 of 61: accuracy, where lower is worse.
    judged = compare_metric(
        1 - _flags(1, 16), np.ones(61), CanaryMetric("accuracy", direction="decrease")
    )
    assert judged.verdict == "inconclusive"
    assert "the test rejects with the canary worse" in judged.reason
    # Better, not worse: the same data pass where higher is worse.
    better = compare_metric(1 - _flags(1, 16), np.ones(61), CanaryMetric("accuracy"))
    assert better.verdict == "pass"
    assert "Newcombe 95% interval, pooled z-test p=0.0494; n=16 vs 61" in better.reason


def test_a_rate_difference_beyond_zero_but_within_the_tolerance_still_passes() -> None:
    # 1.5 % against 1 %: the test and the interval agree the canary is worse than 0,
    # and the interval rules out more than the 2 points allowed.
    canary, baseline = _flags(150, 10_000), _flags(100, 10_000)
    judged = compare_metric(canary, baseline, CanaryMetric("error", tolerance=0.02))
    assert judged.proportions is not None
    assert judged.proportions.p_value < 0.05
    assert judged.proportions.ci_low > 0
    assert judged.verdict == "pass"
    assert judged.reason.endswith(
        "(Newcombe 95% interval, pooled z-test p=0.00146; n=10000 vs 10000)"
    )
    assert compare_metric(canary, baseline, CanaryMetric("error")).verdict == "fail"


def _latencies(shift: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.gamma(4, 0.02, n) + shift, rng.gamma(4, 0.02, n)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        ("rates-pass", "pass"),
        ("rates-fail", "fail"),
        ("rates-disagree", "inconclusive"),
        ("shift-pass", "pass"),
        ("shift-fail", "fail"),
        ("shift-collapsed", "inconclusive"),
        ("shift-bound", "inconclusive"),
    ],
)
def test_every_reason_names_its_test_its_level_and_the_sample_sizes(
    case: str, verdict: str, alpha: float
) -> None:
    metric = CanaryMetric("m", tolerance=0.01)
    if case == "rates-pass":
        c, b = np.zeros(300), _flags(3, 300)
    elif case == "rates-fail":
        c, b = _flags(90, 300), _flags(3, 300)
    elif case == "rates-disagree":
        # p just below alpha, the interval's low end below 0 (found by a scan)
        c, b = (_flags(1, 16), np.zeros(61)) if alpha == 0.05 else (_flags(2, 10), np.zeros(32))
        metric = CanaryMetric("m")
    elif case == "shift-pass":
        c, b = _latencies(0.0, 300)
    elif case == "shift-fail":
        c, b = _latencies(0.1, 300)
    elif case == "shift-collapsed":
        c, b = np.array([1.0] * 900 + [2.0] * 100), np.array([1.0] * 900 + [0.0] * 100)
        metric = CanaryMetric("retries", kind="continuous")
    else:
        c, b = _latencies(0.0, 30)
        metric = CanaryMetric("m", tolerance=0.001, require_bound=True)

    judged = compare_metric(c, b, metric, alpha=alpha)

    assert judged.verdict == verdict, judged.reason
    level = "95" if alpha == 0.05 else "99"
    test = (
        f"Newcombe {level}% interval, pooled z-test"
        if case.startswith("rates")
        else f"Hodges-Lehmann {level}% interval, Mann-Whitney U"
    )
    assert test in judged.reason
    assert f"n={c.size} vs {b.size}" in judged.reason
    assert "\n" not in judged.reason


def test_the_report_lines_carry_the_test_and_sizes() -> None:
    src = ms.monitor.InMemorySource(now=600.0)
    t = np.linspace(1, 600, 400)
    c, b = _latencies(0.0, 400)
    src.add("latency", slot="canary", values=c, timestamps=t)
    src.add("latency", slot="baseline", values=b, timestamps=t)
    report = ms.monitor.canary_analysis(
        src, [CanaryMetric("latency", tolerance=0.01)], canary="canary", baseline="baseline",
        window=600.0,
    )  # fmt: skip
    assert report.reasons[0].startswith("pass: latency: not worse beyond tolerance 0.01: shift ")
    assert "(Hodges-Lehmann 95% interval, Mann-Whitney U p=" in report.reasons[0]
    assert report.reasons[0].endswith("; n=400 vs 400)")


def test_require_bound_holds_a_pass_until_the_interval_rules_out_a_worse_canary() -> None:
    # Three error-free canary requests at 1 % weight: "not worse", yet a canary failing
    # half its requests could give them.
    default = CanaryMetric("error", tolerance=0.02)
    strict = CanaryMetric("error", tolerance=0.02, require_bound=True)
    assert default.require_bound is False
    few = compare_metric(np.zeros(3), np.zeros(297), default)
    assert few.verdict == "pass"  # Kayenta's semantics by default

    held = compare_metric(np.zeros(3), np.zeros(297), strict)
    assert held.verdict == "inconclusive"
    assert held.proportions is not None
    high = f"{held.proportions.ci_high:.4g}"
    assert f"still allows a canary worse by up to {high}, beyond tolerance 0.02" in held.reason
    assert "more values are needed" in held.reason
    assert "Newcombe 95% interval, pooled z-test p=1; n=3 vs 297" in held.reason

    enough = compare_metric(np.zeros(3000), _flags(3, 3000), strict)
    assert enough.proportions is not None
    assert enough.proportions.ci_high <= 0.02
    assert enough.verdict == "pass"


@pytest.mark.parametrize(
    ("direction", "n", "verdict"),
    [("increase", 30, "inconclusive"), ("decrease", 30, "inconclusive"),
     ("either", 30, "inconclusive"), ("increase", 3000, "pass"),
     ("decrease", 3000, "pass"), ("either", 3000, "pass")],
)  # fmt: skip
def test_require_bound_checks_the_bad_side_of_a_shift(direction: str, n: int, verdict: str) -> None:
    c, b = _latencies(0.0, n)
    loose = CanaryMetric("latency", direction=direction, tolerance=0.005)  # type: ignore[arg-type]
    strict = CanaryMetric(
        "latency",
        direction=direction,  # type: ignore[arg-type]
        tolerance=0.005,
        require_bound=True,
    )
    assert compare_metric(c, b, loose).verdict == "pass"
    judged = compare_metric(c, b, strict)
    assert judged.verdict == verdict, judged.reason
    assert judged.test is not None
    if verdict == "pass":
        assert judged.test.ci_low >= -0.005
        assert judged.test.ci_high <= 0.005
    else:
        assert "require_bound=True" in judged.reason


def test_require_bound_never_turns_a_failure_into_anything_else() -> None:
    c, b = _latencies(0.1, 300)
    judged = compare_metric(c, b, CanaryMetric("latency", tolerance=0.01, require_bound=True))
    assert judged.verdict == "fail"


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_require_bound_must_be_a_bool(value: object) -> None:
    with pytest.raises(ms.ConfigError, match="require_bound"):
        CanaryMetric("error", require_bound=value)  # type: ignore[arg-type]


def test_the_docs_give_the_false_abort_rate_and_its_remedies() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Canary analysis", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "require_bound" in section
    assert "alpha / k" in section
    assert "min_samples" in section
    doc = ms.monitor.canary_gate.__doc__
    assert doc is not None
    assert "alpha / k" in doc


@pytest.mark.parametrize("kind", ["auto", "binary", "continuous"])
def test_require_bound_with_tolerance_zero_is_refused(kind: str) -> None:
    # At 0 even an identical canary's interval reaches past the tolerance: the metric
    # would stay inconclusive ("more values are needed") however many values came.
    with pytest.raises(
        ms.ConfigError, match=r"require_bound=True needs tolerance > 0.*tolerance=0\.01"
    ):
        CanaryMetric("error", tolerance=0.0, require_bound=True, kind=kind)  # type: ignore[arg-type]
    assert CanaryMetric("error", tolerance=0.01, require_bound=True, kind=kind).require_bound  # type: ignore[arg-type]
    assert CanaryMetric("error", tolerance=0.0, kind=kind).tolerance == 0  # type: ignore[arg-type]
