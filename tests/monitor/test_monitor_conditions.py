"""Trigger conditions: the grammar, its errors, and the round trip through text and dicts."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.monitor import DEFAULT_MIN_SAMPLES, Condition

metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
stats = st.one_of(
    st.sampled_from(ms.monitor.STATS),
    st.integers(1, 99).map(lambda q: f"p{q}"),
    st.integers(1, 999).map(lambda q: f"p99.{q}"),
)
numbers = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
ops = st.sampled_from(list(ms.monitor.OPERATORS))


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    common = {
        "metric": draw(metric_names),
        "stat": draw(stats),
        "op": draw(ops),
        "min_samples": draw(st.integers(1, 10_000)),
    }
    if draw(st.booleans()):
        return Condition(**common, threshold=draw(numbers))
    return Condition(
        **common,
        baseline_delta=draw(numbers),
        delta_unit=draw(st.sampled_from(["absolute", "percent"])),
    )


@settings(max_examples=200)
@given(conditions())
def test_a_condition_parses_back_from_its_text(condition: Condition) -> None:
    assert Condition.parse(str(condition)) == condition


@settings(max_examples=300)
@given(conditions())
def test_a_condition_comes_back_from_its_dict(condition: Condition) -> None:
    assert Condition.from_dict(condition.to_dict()) == condition


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("p95()<>=+-*%.0123456789 abelinmsx_")), max_size=40))
def test_any_text_parses_or_raises_config_error_and_nothing_else(text: str) -> None:
    with contextlib.suppress(ms.ConfigError):
        Condition.parse(text)


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_arbitrary_unicode_parses_or_raises_config_error(text: str) -> None:
    with contextlib.suppress(ms.ConfigError):
        Condition.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "p95(inference_latency_seconds) > 0.2",
            Condition(metric="inference_latency_seconds", stat="p95", op=">", threshold=0.2),
        ),
        (
            "p95(inference_latency_seconds)>200ms",
            Condition(metric="inference_latency_seconds", stat="p95", op=">", threshold=0.2),
        ),
        ("error_rate > 1%", Condition(metric="error_rate", op=">", threshold=0.01)),
        (
            "max(queue_depth) >= 2s",
            Condition(metric="queue_depth", stat="max", op=">=", threshold=2.0),
        ),
        ("mean(x) < -4", Condition(metric="x", op="<", threshold=-4.0)),
        (
            "accuracy < baseline - 5%",
            Condition(metric="accuracy", op="<", baseline_delta=-5.0, delta_unit="percent"),
        ),
        ("accuracy < baseline - 0.05", Condition(metric="accuracy", op="<", baseline_delta=-0.05)),
        ("accuracy <= baseline", Condition(metric="accuracy", op="<=", baseline_delta=0.0)),
        (
            "p99(lat) > baseline * 1.5 min_samples=200",
            Condition(
                metric="lat",
                stat="p99",
                op=">",
                baseline_delta=50.0,
                delta_unit="percent",
                min_samples=200,
            ),
        ),
        ("p99.9(lat) > 1e-3", Condition(metric="lat", stat="p99.9", op=">", threshold=0.001)),
    ],
)
def test_documented_forms_parse_to_the_condition_they_mean(text: str, expected: Condition) -> None:
    assert Condition.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("p95(lat", "expected ')'"),
        ("p95(lat) 0.2", "expected a comparison"),
        ("p95(lat) > ", "expected a number"),
        ("p95(lat) > fast", "expected a number"),
        ("p100(lat) > 1", "unknown statistic"),
        ("avg(lat) > 1", "unknown statistic"),
        ("p95(lat) > 0.2 extra", "unexpected 'extra'"),
        ("lat > baseline / 2", "unexpected character '/'"),
        ("lat > baseline ^ 2", "unexpected character"),
        ("lat > 1 min_samples=0", "at least 1"),
        ("lat > 1 min_samples=2.5", "integer"),
        ("la.t > 1", "not a metric name"),
        ("lat > 1e999", "too large"),
    ],
)
def test_malformed_conditions_say_where_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ms.ConfigError, match="in condition") as info:
        Condition.parse(text)
    assert message in str(info.value)


def test_the_limit_of_a_relative_percent_condition_scales_the_baseline() -> None:
    condition = Condition.parse("accuracy < baseline - 5%")
    assert condition.limit(0.9) == pytest.approx(0.855)


def test_the_limit_of_a_relative_absolute_condition_offsets_the_baseline() -> None:
    assert Condition.parse("accuracy < baseline - 0.05").limit(0.9) == pytest.approx(0.85)


def test_a_relative_condition_without_a_baseline_value_is_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="baseline"):
        Condition.parse("accuracy < baseline").limit()


def test_threshold_and_baseline_together_are_refused() -> None:
    with pytest.raises(ms.ConfigError, match="exactly one"):
        Condition(metric="x", threshold=1.0, baseline_delta=0.0)


def test_neither_threshold_nor_baseline_is_refused() -> None:
    with pytest.raises(ms.ConfigError, match="exactly one"):
        Condition(metric="x")


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ms.ConfigError, match="operator"):
        Condition(metric="x", op="!=", threshold=1.0)


def test_the_default_min_samples_is_left_out_of_the_text() -> None:
    text = str(Condition(metric="x", threshold=1.0, min_samples=DEFAULT_MIN_SAMPLES))
    assert "min_samples" not in text


def test_a_yaml_style_when_mapping_parses_with_its_own_min_samples() -> None:
    condition = Condition.from_dict({"when": "p95(lat) > 0.2", "min_samples": 500})
    assert (condition.threshold, condition.min_samples) == (0.2, 500)


def test_a_mapping_with_an_unknown_key_names_it() -> None:
    with pytest.raises(ms.ConfigError, match="treshold"):
        Condition.from_dict({"metric": "x", "treshold": 1.0})
