"""The in-memory source: windows, clocks, missing values, recorded answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.monitor import InMemorySource, MetricSource, NoData, Samples, SourceError


def test_the_window_is_open_at_its_start_and_closed_at_its_end() -> None:
    src = InMemorySource(now=10.0)
    src.add("m", slot="a", values=[1.0, 2.0, 3.0], timestamps=[0.0, 5.0, 10.0])
    out = src.fetch("m", slot="a", start=0.0, end=10.0)
    assert isinstance(out, Samples)
    assert out.values.tolist() == [2.0, 3.0]


@settings(max_examples=100, deadline=None)
@given(
    stamps=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=60),
    start=st.floats(0, 1000),
    length=st.floats(0.001, 1000),
    chunks=st.integers(1, 5),
)
def test_a_fetch_returns_exactly_the_values_in_the_window_however_they_were_added(
    stamps: list[float], start: float, length: float, chunks: int
) -> None:
    src = InMemorySource(now=0.0)
    values = np.arange(len(stamps), dtype=float)
    for part_v, part_t in zip(
        np.array_split(values, chunks), np.array_split(np.array(stamps), chunks), strict=True
    ):
        src.add("m", slot="a", values=part_v, timestamps=part_t)
    end = start + length
    out = src.fetch("m", slot="a", start=start, end=end)
    expected = sorted(v for v, t in zip(values, stamps, strict=True) if start < t <= end)
    if not expected:
        assert isinstance(out, NoData)
    else:
        assert isinstance(out, Samples)
        assert sorted(out.values.tolist()) == expected
        assert (np.diff(out.timestamps) >= 0).all()


def test_values_without_timestamps_are_recorded_at_the_sources_clock() -> None:
    clock = iter([5.0, 5.0, 20.0])
    src = InMemorySource(now=lambda: next(clock))
    src.add("m", slot="a", values=[1.0])
    assert isinstance(src.fetch("m", slot="a", start=0.0, end=10.0), Samples)


def test_nan_is_dropped_and_counted_and_inf_is_kept() -> None:
    src = InMemorySource(now=10.0)
    src.add("m", slot="a", values=[math.nan, math.inf, 1.0], timestamps=[1, 2, 3])
    out = src.fetch("m", slot="a", start=0.0, end=10.0)
    assert isinstance(out, Samples)
    assert (out.values.tolist(), out.dropped) == ([math.inf, 1.0], 1)


def test_fetched_values_cannot_be_changed_by_the_caller() -> None:
    src = InMemorySource(now=10.0)
    src.add("m", slot="a", values=[1.0], timestamps=[1.0])
    out = src.fetch("m", slot="a", start=0.0, end=10.0)
    assert isinstance(out, Samples)
    with pytest.raises(ValueError, match="read-only"):
        out.values[0] = 0.0


def test_points_are_answered_for_their_statistic_and_raw_values_for_others() -> None:
    src = InMemorySource(now=10.0)
    src.add("m", slot="a", values=[1.0], timestamps=[5.0])
    src.add_points("m", slot="a", stat="p95", values=[0.9], timestamps=[5.0], counts=[7])
    p95 = src.fetch("m", slot="a", start=0.0, end=10.0, stat="p95")
    mean = src.fetch("m", slot="a", start=0.0, end=10.0, stat="mean")
    assert isinstance(p95, Samples)
    assert isinstance(mean, Samples)
    assert (p95.stat, p95.n) == ("p95", 7)
    assert (mean.stat, mean.n) == (None, 1)


def test_an_injected_error_is_answered_until_cleared() -> None:
    src = InMemorySource(now=10.0)
    src.add("m", slot="a", values=[1.0], timestamps=[5.0])
    src.set_error("m", slot="a", error_type="execution", message="boom")
    assert isinstance(src.fetch("m", slot="a", start=0.0, end=10.0), SourceError)
    src.clear_error("m", slot="a")
    assert isinstance(src.fetch("m", slot="a", start=0.0, end=10.0), Samples)


def test_mismatched_lengths_are_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="3 values but 2 timestamps"):
        InMemorySource().add("m", slot="a", values=[1, 2, 3], timestamps=[1, 2])


def test_non_finite_timestamps_are_a_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="finite"):
        InMemorySource().add("m", slot="a", values=[1], timestamps=[math.nan])


def test_the_built_in_sources_satisfy_the_protocol() -> None:
    assert isinstance(InMemorySource(), MetricSource)
    assert isinstance(ms.monitor.PrometheusSource("http://127.0.0.1:9"), MetricSource)


@pytest.mark.parametrize(
    "outcome",
    [
        Samples("m", "a", [1.0, math.inf], [1.0, 2.0], start=0, end=2, dropped=3, warnings=["w"]),
        Samples("m", "a", [0.5], [2.0], start=0, end=2, stat="p95", count=12),
        NoData("m", "a", start=0, end=2, reason="quiet", stat="p95"),
        SourceError(
            "m", "a", start=0, end=2, error_type="timeout", message="slow", status_code=503
        ),
    ],
)
def test_a_recorded_answer_is_given_back_the_same_by_from_outcomes(outcome: object) -> None:
    src = InMemorySource.from_outcomes([outcome], now=2.0)  # type: ignore[list-item]
    stat = getattr(outcome, "stat", None)
    again = src.fetch("m", slot="a", start=0.0, end=2.0, stat=stat)
    assert again.to_dict() == outcome.to_dict()  # type: ignore[attr-defined]


def test_a_fetch_during_concurrent_adds_sees_whole_batches_only() -> None:
    import threading

    src = InMemorySource(now=1e9)
    done = threading.Event()

    def record() -> None:
        rng = np.random.default_rng(0)
        for batch in range(400):
            stamps = (
                np.sort(rng.uniform(0, 1000, 64))
                if batch % 7 == 0
                else (batch * 1000.0 + np.arange(64.0))
            )
            # value == timestamp, and every batch has 64 values
            src.add("m", slot="a", values=stamps, timestamps=stamps)
        done.set()

    writer = threading.Thread(target=record)
    writer.start()
    try:
        for _ in range(2000):  # bounded; usually ends when the writer does
            out = src.fetch("m", slot="a", start=-1.0, end=1e9)
            if isinstance(out, Samples):
                assert np.array_equal(out.values, out.timestamps)
                assert out.values.size % 64 == 0
                assert (np.diff(out.timestamps) >= 0).all()
            if done.is_set():
                break
    finally:
        writer.join(timeout=60)
    final = src.fetch("m", slot="a", start=-1.0, end=1e9)
    assert isinstance(final, Samples)
    assert final.values.size == 400 * 64


# --- composed sources ---------------------------------------------------------------------


def test_a_routed_source_asks_each_metric_of_its_own_source() -> None:
    latency, labels = InMemorySource(now=10.0), InMemorySource(now=10.0)
    latency.add("lat", slot="a", values=[0.2], timestamps=[5.0])
    labels.add("accuracy", slot="a", values=[1.0, 0.0], timestamps=[4.0, 5.0])
    src = ms.monitor.RoutedSource({"accuracy": labels}, default=latency)
    acc = src.fetch("accuracy", slot="a", start=0.0, end=10.0)
    lat = src.fetch("lat", slot="a", start=0.0, end=10.0)
    assert isinstance(acc, Samples)
    assert isinstance(lat, Samples)
    assert (acc.values.tolist(), lat.values.tolist()) == ([1.0, 0.0], [0.2])


def test_an_unrouted_metric_without_a_default_is_a_config_error_not_no_data() -> None:
    src = ms.monitor.RoutedSource({"accuracy": InMemorySource()})
    with pytest.raises(ms.ConfigError, match="no source for metric 'acuracy'"):
        src.fetch("acuracy", slot="a", start=0.0, end=1.0)


def test_a_callable_source_keeps_the_window_drops_nan_and_sorts_by_time() -> None:
    def fetch(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
        return [3.0, math.nan, 1.0, 9.0], [8.0, 7.0, 2.0, 50.0]

    out = ms.monitor.CallableSource(fetch, now=10.0).fetch("kpi", slot="a", start=0.0, end=10.0)
    assert isinstance(out, Samples)
    assert (out.values.tolist(), out.timestamps.tolist(), out.dropped) == (
        [1.0, 3.0],
        [2.0, 8.0],
        1,
    )


def test_a_callable_that_raises_is_a_source_error() -> None:
    def fetch(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
        raise ConnectionError("warehouse down")

    out = ms.monitor.CallableSource(fetch).fetch("kpi", slot="a", start=0.0, end=1.0)
    assert isinstance(out, SourceError)
    assert out.message == "ConnectionError: warehouse down"


def test_a_callable_returning_nothing_is_no_data() -> None:
    out = ms.monitor.CallableSource(lambda *a: ([], [])).fetch("k", slot="a", start=0.0, end=1.0)
    assert isinstance(out, NoData)


def test_a_callable_returning_garbage_is_a_bad_response() -> None:
    out = ms.monitor.CallableSource(lambda *a: 42).fetch("k", slot="a", start=0.0, end=1.0)
    assert isinstance(out, SourceError)
    assert out.error_type == "bad_response"
