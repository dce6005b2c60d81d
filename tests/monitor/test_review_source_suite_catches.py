"""MetricSourceConformance fails sources that break a promise of the MetricSource protocol.

A hostile review found sources that passed the suite although they read a closed window
``[start, end]``, dropped NaN without counting it, kept a clock in milliseconds, answered
another statistic than the one asked for, or answered NoData naming another slot. Each
source here breaks one of those promises; each test runs the suite's check against it and
shows that it fails. ``Rows`` keeps every promise and passes the same checks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

from modelship.monitor import NoData, Outcome, Samples
from modelship.testing import MetricSourceConformance, SourceCase

suite = MetricSourceConformance()
POINTS = [(10.0, 0.1), (20.0, 0.2), (30.0, math.nan), (40.0, 0.4), (50.0, 0.5), (60.0, 0.6)]


class Rows:
    """kpi for slot canary at 10, 20, ... 60 s (the value at 30 s missing); a fixed clock,
    or the wall clock with ``now=None``."""

    def __init__(self, now: float | None = 100.0) -> None:
        self._now = now

    def now(self) -> float:
        return time.time() if self._now is None else self._now

    def select(self, start: float, end: float) -> list[tuple[float, float]]:
        return [(t, v) for t, v in POINTS if start < t <= end]

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        points = self.select(start, end) if (metric, slot) == ("kpi", "canary") else []
        kept = [(t, v) for t, v in points if not math.isnan(v)]
        if not kept:
            return NoData(metric, slot, start=start, end=end, stat=stat, reason="nothing stored")
        stamps, values = zip(*kept, strict=True)
        missing = len(points) - len(kept)
        return Samples(metric, slot, values, stamps, start=start, end=end, dropped=missing)


class ClosedWindow(Rows):
    """Reads ``[start, end]``: a value at a window's start is in it."""

    def select(self, start: float, end: float) -> list[tuple[float, float]]:
        return [(t, v) for t, v in POINTS if start <= t <= end]


class UncountedMissing(Rows):
    """Drops NaN values without counting them in ``dropped``."""

    def fetch(self, metric: str, **kwargs: Any) -> Outcome:
        out = super().fetch(metric, **kwargs)
        return attrs.evolve(out, dropped=0) if isinstance(out, Samples) else out


class MillisecondClock(Rows):
    """The wall clock in milliseconds."""

    def now(self) -> float:
        return time.time() * 1000.0


class WrongStatistic(Rows):
    """Answers points of the median whatever statistic it is asked for, and says so."""

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        out = super().fetch(metric, slot=slot, start=start, end=end)
        if not isinstance(out, Samples) or stat is None:
            return out
        median = [float(np.median(out.values))]
        return Samples(metric, slot, median, out.timestamps[-1:], start=start, end=end, stat="p50")


class NoDataNamesTheFallback(Rows):
    """NoData for an empty slot names the slot it fell back to, over another window."""

    def fetch(self, metric: str, **kwargs: Any) -> Outcome:
        out = super().fetch(metric, **kwargs)
        if isinstance(out, NoData):
            return NoData(metric, "canary", start=0.0, end=1.0, reason="nothing stored")
        return out


class AnotherSlotsSamples(Rows):
    """Answers an empty slot's question with canary's values, labelled canary."""

    def fetch(self, metric: str, *, slot: str, **kwargs: Any) -> Outcome:
        return super().fetch(metric, slot="canary", **kwargs)


def case(source: Any, **fields: Any) -> SourceCase:
    return SourceCase(source, "kpi", "canary", start=0.0, end=60.0, **fields)


def test_a_source_reading_a_closed_window_fails() -> None:
    with pytest.raises(AssertionError, match=r"\(40.0, end\] holds the value at its start"):
        suite.test_a_window_holds_values_after_its_start_up_to_its_end(case(ClosedWindow()))


def test_a_source_that_drops_missing_values_without_counting_them_fails() -> None:
    with pytest.raises(AssertionError, match="1 missing values in the window; the answer counts 0"):
        suite.test_missing_values_are_counted_in_dropped(case(UncountedMissing(), missing=1))


@pytest.mark.parametrize("real_clock", [True, None])
def test_a_clock_in_milliseconds_fails(real_clock: bool | None) -> None:
    with pytest.raises(AssertionError, match="not seconds since the epoch"):
        suite.test_now_is_seconds_since_the_epoch(case(MillisecondClock(), real_clock=real_clock))


def test_a_fixed_clock_declared_as_the_wall_clock_fails() -> None:
    with pytest.raises(AssertionError, match="real_clock=False"):
        suite.test_now_is_seconds_since_the_epoch(case(Rows(now=100.0), real_clock=True))


def test_a_clock_before_the_past_window_fails() -> None:
    with pytest.raises(AssertionError, match="before the end of the past window"):
        suite.test_now_is_seconds_since_the_epoch(case(Rows(now=30.0), real_clock=False))


def test_a_source_answering_another_statistic_fails() -> None:
    with pytest.raises(
        AssertionError, match="asked for 'p95', the source answered points of 'p50'"
    ):
        suite.test_a_statistic_computed_by_the_source_is_the_one_asked_for(
            case(WrongStatistic(), stat="p95")
        )


def test_without_a_statistic_the_statistic_check_skips_and_says_why() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"SourceCase\(stat=...\)"):
        suite.test_a_statistic_computed_by_the_source_is_the_one_asked_for(case(WrongStatistic()))


def test_without_known_missing_values_the_dropped_check_skips_and_says_why() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"SourceCase\(missing=...\)"):
        suite.test_missing_values_are_counted_in_dropped(case(UncountedMissing()))


def test_no_data_naming_another_slot_and_window_fails() -> None:
    with pytest.raises(AssertionError, match="NoData answers"):
        suite.test_no_data_for_an_empty_slot_names_the_question_asked(
            case(NoDataNamesTheFallback())
        )


def test_samples_of_another_slot_fail() -> None:
    with pytest.raises(AssertionError):
        suite.test_a_window_with_values_answers_samples_of_the_metric_slot_and_window(
            attrs.evolve(case(AnotherSlotsSamples()), slot="stable")
        )


CHECKS: list[Callable[[SourceCase], None]] = [
    suite.test_a_window_holds_values_after_its_start_up_to_its_end,
    suite.test_missing_values_are_counted_in_dropped,
    suite.test_now_is_seconds_since_the_epoch,
    suite.test_a_statistic_computed_by_the_source_is_the_one_asked_for,
    suite.test_no_data_for_an_empty_slot_names_the_question_asked,
    suite.test_a_window_with_values_answers_samples_of_the_metric_slot_and_window,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("now", [100.0, None], ids=["fixed-clock", "wall-clock"])
def test_the_honest_source_passes(check: Callable[[SourceCase], None], now: float | None) -> None:
    check(case(Rows(now=now), stat="p95", missing=1, real_clock=now is None))
