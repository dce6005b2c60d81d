"""The MetricSource conformance suite: what policies, gates and replays rely on from any
source of live metrics."""

from __future__ import annotations

import math
import time
from typing import ClassVar

import attrs
import numpy as np
import pytest

from modelship._params import Constraints, Interval, check_parameters
from modelship.errors import ConfigError
from modelship.monitor import MetricSource, NoData, Samples, SourceError

__all__ = ["MetricSourceConformance", "SourceCase"]

_YEAR = 366 * 24 * 3600.0
_DAY = 24 * 3600.0
# How far a real clock's now() may be from time.time(): as far as the Store suite lets a
# store's times be (S3 refuses requests signed 15 minutes off). Every policy window ends
# at now(), so a clock hours off (a UTC time read as local time) judges a stale window.
_SKEW = 15 * 60.0


@attrs.frozen
class SourceCase:
    """A source and a question it can answer, for :class:`MetricSourceConformance`.

    Attributes
    ----------
    source : MetricSource
    metric, slot : str
        A metric the source holds values of for ``slot`` in ``(start, end]``.
    start, end : float
        A window in the source's past (answers about it no longer change): finite
        numbers of seconds, ``start < end``
        (:class:`~modelship.errors.ConfigError` otherwise).
    stat : str or None
        The statistic to ask for (``None``: raw observations; the check that the answer
        is of the statistic asked for is then skipped).
    empty_slot : str
        A slot the source holds nothing for.
    unknown_metric : str
        A metric the source holds nothing of, for any slot.
    missing : int or None
        How many missing (NaN) values the source holds of ``metric`` for ``slot`` in the
        window: the answer must count exactly these in ``Samples.dropped``. ``None``
        skips that check (give a case with missing values if your source can hold them).
    real_clock : bool or None
        ``True``: the source's ``now()`` reads the wall clock, and must be within 15
        minutes of :func:`time.time` (a UTC time read as local time is hours off, and
        every policy window ends at ``now()``). ``False``: it keeps its own clock (a
        replay, a simulation, a fixed ``now=``), which must be at or after the window's
        ``end``. ``None`` (the
        default): at or after ``end``, and at most a day ahead of the wall clock (seconds
        since the epoch; a clock in milliseconds reads millennia ahead).

    Examples
    --------
    >>> from modelship.monitor import InMemorySource
    >>> from modelship.testing import SourceCase
    >>> src = InMemorySource(now=10.0)
    >>> src.add("m", slot="a", values=[1.0], timestamps=[5.0])
    >>> SourceCase(src, "m", "a", start=0.0, end=10.0).empty_slot
    'conformance-empty-slot'
    >>> SourceCase(src, "m", "a", start=10.0, end=0.0)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the window must have start < end, got start=10.0 and ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "start": Interval(float, None, None),
        "end": Interval(float, None, None),
        "missing": (None, Interval(int, 0, None)),
        "real_clock": (None, bool),
    }
    __attrs_pre_init__ = check_parameters

    source: MetricSource
    metric: str
    slot: str
    start: float = attrs.field(kw_only=True)
    end: float = attrs.field(kw_only=True)
    stat: str | None = attrs.field(default=None, kw_only=True)
    empty_slot: str = attrs.field(default="conformance-empty-slot", kw_only=True)
    unknown_metric: str = attrs.field(default="conformance-unknown-metric", kw_only=True)
    missing: int | None = attrs.field(default=None, kw_only=True)
    real_clock: bool | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigError(
                f"the window must have start < end, got start={self.start!r} and "
                f"end={self.end!r}; give a window (start, end] the source holds values in"
            )


class MetricSourceConformance:
    """Behaviours every :class:`~modelship.monitor.MetricSource` must show. Subclass it.

    Override ``source_case``: a :class:`SourceCase` whose source holds values of its metric
    for its slot in its window. The capability fixture ``failing_case`` gives a case whose
    source cannot answer (a server that is down, a function that raises); the default,
    ``None``, skips the failure test.

    Examples
    --------
    >>> from modelship.testing import MetricSourceConformance
    >>> sorted(name for name in dir(MetricSourceConformance) if name.startswith("test_"))[0]
    'test_a_failing_source_answers_source_error_and_does_not_raise'
    """

    @pytest.fixture
    def source_case(self) -> SourceCase:  # pragma: no cover - overridden
        raise NotImplementedError("override source_case in your subclass")

    @pytest.fixture
    def failing_case(self) -> SourceCase | None:
        return None

    def _fetch(  # noqa: PLR0913 - the case, and each part of its question to change
        self,
        case: SourceCase,
        *,
        slot: str | None = None,
        back: float = 0.0,
        metric: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> object:
        return case.source.fetch(
            case.metric if metric is None else metric,
            slot=case.slot if slot is None else slot,
            start=(case.start if start is None else start) - back,
            end=(case.end if end is None else end) - back,
            stat=case.stat,
        )

    def _samples(self, case: SourceCase) -> Samples:
        out = self._fetch(case)
        assert isinstance(out, Samples), f"expected Samples for the case's window, got {out!r}"
        return out

    # --- the protocol -------------------------------------------------------------------

    def test_source_implements_the_protocol(self, source_case: SourceCase) -> None:
        assert isinstance(source_case.source, MetricSource)

    def test_now_is_seconds_since_the_epoch(self, source_case: SourceCase) -> None:
        now, wall = source_case.source.now(), time.time()
        assert isinstance(now, float)
        assert math.isfinite(now)
        if source_case.real_clock:
            assert abs(now - wall) <= _SKEW, (
                f"now() is {now}, the wall clock {wall}: {abs(now - wall) / 3600:.2f} hours "
                "off, more than 15 minutes (a UTC time read as local time, or not seconds "
                "since the epoch?); every policy window ends at now(). Set "
                "SourceCase(real_clock=False) for a source with a clock of its own"
            )
            return
        assert now >= source_case.end, (
            f"now() is {now}, before the end of the past window {source_case.end}"
        )
        if source_case.real_clock is None:
            assert now <= wall + _DAY, (
                f"now() is {now}, the wall clock {wall}: not seconds since the epoch (or set "
                "SourceCase(real_clock=False) for a source whose clock runs ahead)"
            )

    # --- samples --------------------------------------------------------------------------

    def test_a_window_with_values_answers_samples_of_the_metric_slot_and_window(
        self, source_case: SourceCase
    ) -> None:
        out = self._samples(source_case)
        assert (out.metric, out.slot) == (source_case.metric, source_case.slot)
        assert (out.start, out.end) == (source_case.start, source_case.end)

    def test_missing_values_are_counted_in_dropped(self, source_case: SourceCase) -> None:
        if source_case.missing is None:
            pytest.skip("the case holds no known missing values (SourceCase(missing=...))")
        out = self._samples(source_case)
        assert out.dropped == source_case.missing, (
            f"the source holds {source_case.missing} missing values in the window; "
            f"the answer counts {out.dropped} dropped"
        )

    def test_timestamps_are_ascending_and_inside_the_window(self, source_case: SourceCase) -> None:
        out = self._samples(source_case)
        stamps = out.timestamps
        back = np.flatnonzero(np.diff(stamps) < 0)
        assert not back.size, (
            f"the time stamps are not ascending: {stamps[back[0]]} comes before "
            f"{stamps[back[0] + 1]} (of {stamps.size}); Samples hold values oldest first"
        )
        outside = stamps[(stamps <= out.start) | (stamps > out.end)]
        assert not outside.size, (
            f"time stamps {outside[:3].tolist()} are outside the window ({out.start}, "
            f"{out.end}]: a window holds values after its start, up to and at its end"
        )

    def test_a_window_holds_values_after_its_start_up_to_its_end(
        self, source_case: SourceCase
    ) -> None:
        stamps = self._samples(source_case).timestamps
        inner = stamps[stamps < source_case.end]
        if not inner.size:
            pytest.skip(
                "the source answers one point at the window's end (a statistic over the "
                "window): no time stamp to split the window at"
            )
        t = float(inner[inner.size // 2])
        start, end = source_case.start, source_case.end
        upto = self._fetch(source_case, end=t)
        assert isinstance(upto, Samples), f"expected Samples for (start, {t}], got {upto!r}"
        # The answer is about the window asked: a source that caches answers by their
        # start alone answers a sub-window with the whole window's values.
        assert (upto.start, upto.end) == (start, t), (
            f"asked ({start}, {t}], the answer is about ({upto.start}, {upto.end}]"
        )
        assert t in upto.timestamps, f"(start, {t}] left out the value at its end {t}"
        late = upto.timestamps[upto.timestamps > t]
        assert not late.size, f"(start, {t}] holds values after its end, at {late.tolist()}"
        after = self._fetch(source_case, start=t)
        if isinstance(after, Samples):
            assert (after.start, after.end) == (t, end), (
                f"asked ({t}, {end}], the answer is about ({after.start}, {after.end}]"
            )
            assert t not in after.timestamps, f"({t}, end] holds the value at its start {t}"
            early = after.timestamps[after.timestamps <= t]
            assert not early.size, f"({t}, end] holds values at or before {t}: {early.tolist()}"
            late = after.timestamps[after.timestamps > end]
            assert not late.size, f"({t}, {end}] holds values after its end, at {late.tolist()}"
        else:
            assert isinstance(after, NoData), f"expected Samples or NoData, got {after!r}"

    def test_a_longer_window_with_the_same_start_holds_the_values_after_the_shorter(
        self, source_case: SourceCase
    ) -> None:
        # Gates ask (start, now] again and again as a rollout goes on: a source that
        # caches its first answer by the window's start and cuts it to each later end
        # never sees a value that came after the first question. The shorter window is
        # asked first, from a start no earlier question used (the case's own start was):
        # halfway to the first value, so both windows hold it.
        whole = self._samples(source_case)
        stamps = np.unique(whole.timestamps)
        if stamps.size < 2:
            pytest.skip(
                "the source answers one point in the case's window (a statistic over the "
                "window): no value after a shorter window's end to look for"
            )
        t = (source_case.start + float(stamps[0])) / 2
        mid, end = float(stamps[-2]), source_case.end
        shorter = self._fetch(source_case, start=t, end=mid)
        assert isinstance(shorter, Samples), f"expected Samples for ({t}, {mid}], got {shorter!r}"
        longer = self._fetch(source_case, start=t)
        assert isinstance(longer, Samples), f"expected Samples for ({t}, {end}], got {longer!r}"
        assert (longer.start, longer.end) == (t, end), (
            f"asked ({t}, {end}], the answer is about ({longer.start}, {longer.end}]"
        )
        after = longer.timestamps[longer.timestamps > mid]
        expected = whole.timestamps[whole.timestamps > mid]
        assert after.size, (
            f"({t}, {end}] asked after ({t}, {mid}] holds no value after {mid}, though "
            f"(start, {end}] holds {expected.size}: the answer to the shorter window was "
            "reused (a cache keyed by the window's start?)"
        )
        if source_case.stat is None:  # raw observations: the very same ones
            missed = sorted(set(expected.tolist()) - set(after.tolist()))
            assert not missed, f"({t}, {end}] left out the values at {missed[:5]}"

    def test_a_statistic_computed_by_the_source_is_the_one_asked_for(
        self, source_case: SourceCase
    ) -> None:
        if source_case.stat is None:
            pytest.skip("the case asks for no statistic (SourceCase(stat=...))")
        out = self._samples(source_case)
        assert out.stat in (None, source_case.stat), (
            f"asked for {source_case.stat!r}, the source answered points of {out.stat!r}"
        )

    def test_the_answer_round_trips_through_its_dict(self, source_case: SourceCase) -> None:
        out = self._samples(source_case)
        assert Samples.from_dict(out.to_dict()).to_dict() == out.to_dict()

    def test_asking_twice_about_a_past_window_gives_the_same_answer(
        self, source_case: SourceCase
    ) -> None:
        first, second = self._samples(source_case), self._samples(source_case)
        assert first.to_dict() == second.to_dict()

    # --- no data ----------------------------------------------------------------------------

    def test_a_slot_without_values_is_no_data_never_zero(self, source_case: SourceCase) -> None:
        out = self._fetch(source_case, slot=source_case.empty_slot)
        assert isinstance(out, NoData), f"expected NoData for an empty slot, got {out!r}"
        assert out.reason

    def test_no_data_for_an_empty_slot_names_the_question_asked(
        self, source_case: SourceCase
    ) -> None:
        out = self._fetch(source_case, slot=source_case.empty_slot)
        assert isinstance(out, NoData), f"expected NoData for an empty slot, got {out!r}"
        asked = (source_case.metric, source_case.empty_slot, source_case.start, source_case.end)
        assert (out.metric, out.slot, out.start, out.end) == asked, (
            f"NoData answers {(out.metric, out.slot, out.start, out.end)}, asked {asked}"
        )

    def test_after_the_cases_answer_an_empty_slot_and_an_unknown_metric_are_still_no_data(
        self, source_case: SourceCase
    ) -> None:
        # Asked right after the case's own question, with the same window: a source that
        # caches answers without the slot (or the metric) in the key answers the case's
        # values for the other slot, and canary analysis compares a slot with itself.
        self._samples(source_case)
        empty = self._fetch(source_case, slot=source_case.empty_slot)
        assert isinstance(empty, NoData), (
            f"expected NoData for the empty slot {source_case.empty_slot!r} asked after "
            f"{source_case.slot!r} with the same window, got {empty!r}: is the slot left "
            "out of a cache's key?"
        )
        assert empty.slot == source_case.empty_slot
        metric = source_case.unknown_metric
        try:
            unknown = self._fetch(source_case, metric=metric)
        except ConfigError:
            return
        assert isinstance(unknown, NoData), (
            f"expected NoData for metric {metric!r} asked after {source_case.metric!r} with "
            f"the same window, got {unknown!r}: is the metric left out of a cache's key?"
        )
        assert unknown.metric == metric

    def test_a_window_before_any_value_is_no_data(self, source_case: SourceCase) -> None:
        out = self._fetch(source_case, back=_YEAR)
        assert isinstance(out, NoData), f"expected NoData a year before the data, got {out!r}"

    def test_a_metric_the_source_does_not_hold_is_no_data_or_refused(
        self, source_case: SourceCase
    ) -> None:
        # A typo in a metric's name must never read as another metric's values. The
        # protocol lets a source refuse a question it cannot be asked (ConfigError).
        metric = source_case.unknown_metric
        try:
            out = self._fetch(source_case, metric=metric)
        except ConfigError:
            return
        assert isinstance(out, NoData), f"expected NoData for metric {metric!r}, got {out!r}"
        assert out.metric == metric

    # --- failures -----------------------------------------------------------------------------

    def test_a_failing_source_answers_source_error_and_does_not_raise(
        self, failing_case: SourceCase | None
    ) -> None:
        if failing_case is None:
            pytest.skip("no failing case given (failing_case fixture)")
        out = self._fetch(failing_case)
        assert isinstance(out, SourceError), f"expected SourceError, got {out!r}"
        assert out.error_type
        assert SourceError.from_dict(out.to_dict()) == out
