"""The MetricSource conformance suite: what policies, gates and replays rely on from any
source of live metrics."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest

from modelship.errors import ConfigError
from modelship.monitor import MetricSource, NoData, Samples, SourceError

__all__ = ["MetricSourceConformance", "SourceCase"]

_YEAR = 366 * 24 * 3600.0


@attrs.frozen
class SourceCase:
    """A source and a question it can answer, for :class:`MetricSourceConformance`.

    Attributes
    ----------
    source : MetricSource
    metric, slot : str
        A metric the source holds values of for ``slot`` in ``(start, end]``.
    start, end : float
        A window in the source's past (answers about it no longer change).
    stat : str or None
        The statistic to ask for (``None``: raw observations).
    empty_slot : str
        A slot the source holds nothing for.
    unknown_metric : str
        A metric the source holds nothing of, for any slot.

    Examples
    --------
    >>> from modelship.monitor import InMemorySource
    >>> from modelship.testing import SourceCase
    >>> src = InMemorySource(now=10.0)
    >>> src.add("m", slot="a", values=[1.0], timestamps=[5.0])
    >>> SourceCase(src, "m", "a", start=0.0, end=10.0).empty_slot
    'conformance-empty-slot'
    """

    source: MetricSource
    metric: str
    slot: str
    start: float = attrs.field(kw_only=True)
    end: float = attrs.field(kw_only=True)
    stat: str | None = attrs.field(default=None, kw_only=True)
    empty_slot: str = attrs.field(default="conformance-empty-slot", kw_only=True)
    unknown_metric: str = attrs.field(default="conformance-unknown-metric", kw_only=True)


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

    def _fetch(
        self,
        case: SourceCase,
        *,
        slot: str | None = None,
        back: float = 0.0,
        metric: str | None = None,
    ) -> object:
        return case.source.fetch(
            case.metric if metric is None else metric,
            slot=case.slot if slot is None else slot,
            start=case.start - back,
            end=case.end - back,
            stat=case.stat,
        )

    def _samples(self, case: SourceCase) -> Samples:
        out = self._fetch(case)
        assert isinstance(out, Samples), f"expected Samples for the case's window, got {out!r}"
        return out

    # --- the protocol -------------------------------------------------------------------

    def test_source_implements_the_protocol(self, source_case: SourceCase) -> None:
        assert isinstance(source_case.source, MetricSource)

    def test_now_is_a_finite_time(self, source_case: SourceCase) -> None:
        now = source_case.source.now()
        assert isinstance(now, float)
        assert math.isfinite(now)

    # --- samples --------------------------------------------------------------------------

    def test_a_window_with_values_answers_samples_of_the_metric_slot_and_window(
        self, source_case: SourceCase
    ) -> None:
        out = self._samples(source_case)
        assert (out.metric, out.slot) == (source_case.metric, source_case.slot)
        assert (out.start, out.end) == (source_case.start, source_case.end)

    def test_values_are_read_only_float64_one_per_timestamp(self, source_case: SourceCase) -> None:
        out = self._samples(source_case)
        for array in (out.values, out.timestamps):
            assert array.dtype == np.float64
            assert array.ndim == 1
            assert not array.flags.writeable
        assert out.values.shape == out.timestamps.shape

    def test_missing_values_are_dropped_never_kept_as_nan(self, source_case: SourceCase) -> None:
        out = self._samples(source_case)
        assert not np.isnan(out.values).any()
        assert out.dropped >= 0

    def test_timestamps_are_ascending_and_inside_the_window(self, source_case: SourceCase) -> None:
        out = self._samples(source_case)
        assert np.all(np.diff(out.timestamps) >= 0)
        assert np.all(out.timestamps > out.start)
        assert np.all(out.timestamps <= out.end)

    def test_the_sample_size_is_at_least_the_number_of_values_or_the_count(
        self, source_case: SourceCase
    ) -> None:
        out = self._samples(source_case)
        assert out.values.size >= 1
        assert out.n >= 1
        if out.count is None:
            assert out.n == out.values.size

    def test_a_statistic_computed_by_the_source_is_the_one_asked_for(
        self, source_case: SourceCase
    ) -> None:
        out = self._samples(source_case)
        if source_case.stat is not None:
            assert out.stat in (None, source_case.stat)

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
