"""Sources built from other sources and from user code.

* :class:`RoutedSource` sends each metric to the source that has it: latency from
  Prometheus, accuracy from the prediction log joined with late labels, a business KPI
  from a function. A policy then evaluates against one source.
* :class:`CallableSource` turns a user function into a source; whatever the function
  raises becomes a :class:`SourceError` (the function is the metrics system here), and an
  empty answer is :class:`NoData`.

Examples
--------
>>> import modelship as ms
>>> def orders(metric, slot, start, end):
...     return [12.0, 15.0], [start + 1, end]
>>> kpi = ms.monitor.CallableSource(orders, now=60.0)
>>> src = ms.monitor.RoutedSource({"orders_per_minute": kpi},
...                               default=ms.monitor.InMemorySource(now=60.0))
>>> src.fetch("orders_per_minute", slot="canary", start=0.0, end=60.0).values.tolist()
[12.0, 15.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from modelship._params import Text, validate_params
from modelship._rollback._constraints import SLOT, TIME, require
from modelship._rollback._sources import (
    MetricSource,
    NoData,
    Outcome,
    QuestionCheck,
    Samples,
    SourceError,
    answer_to,
    as_clock,
    source_time,
)
from modelship._shown import brief
from modelship.errors import ConfigError, ModelshipError
from modelship.monitor._prometheus import SeriesSource

__all__ = ["CallableSource", "RoutedSource"]

Fetcher = Callable[[str, str, float, float], "tuple[npt.ArrayLike, npt.ArrayLike] | Outcome"]


class RoutedSource:
    """Each metric from the source registered for it.

    Parameters
    ----------
    routes : mapping of str to MetricSource
        Metric name to the source that answers it.
    default : MetricSource, optional
        The source for every other metric; without one, an unrouted metric is a
        :class:`~modelship.errors.ConfigError` (a typo must not read as "no data").
    clock : MetricSource, optional
        Whose clock :meth:`now` reads; ``default``, else the first route.

    Raises
    ------
    ConfigError
        If there is neither a route nor a default, or a route is not a metric name and a
        :class:`MetricSource`.

    Examples
    --------
    >>> import modelship as ms
    >>> prom = ms.monitor.PrometheusSource("http://127.0.0.1:9")
    >>> labels = ms.monitor.InMemorySource()
    >>> src = ms.monitor.RoutedSource({"accuracy": labels}, default=prom)
    >>> isinstance(src, ms.monitor.MetricSource)
    True
    """

    def __init__(
        self,
        routes: Mapping[str, MetricSource],
        *,
        default: MetricSource | None = None,
        clock: MetricSource | None = None,
    ) -> None:
        if not isinstance(routes, Mapping):
            raise ConfigError(
                f"routes={brief(routes)} is not allowed; routes must be a mapping of metric "
                "name to MetricSource"
            )
        for metric, source in routes.items():
            require("a route's metric", metric, Text())
            require(f"routes[{brief(metric)}]", source, MetricSource)
        require("default", default, None, MetricSource)
        require("clock", clock, None, MetricSource)
        if not routes and default is None:
            raise ConfigError("a RoutedSource needs at least one route or a default source")
        self.routes = dict(routes)
        self.default = default
        self._clock = clock or default or next(iter(self.routes.values()))

    def now(self) -> float:
        """The clock of ``clock`` (or the default source, or the first route)."""
        return source_time(self._clock)

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME)
    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """Fetch ``metric`` from its route; see :class:`MetricSource`.

        Raises
        ------
        ConfigError
            If the metric has no route and there is no default.
        """
        return self._route(metric).fetch(metric, slot=slot, start=start, end=end, stat=stat)

    def fetch_series(  # noqa: PLR0913 - SeriesSource protocol signature, fixed by the interface
        self, metric: str, *, slot: str, start: float, end: float, stat: str, step: float
    ) -> Outcome:
        """Points of ``stat`` every ``step`` seconds from ``metric``'s route (see
        :class:`~modelship.monitor.SeriesSource`); a route without that ability answers
        its :meth:`fetch`, as canary analysis would ask it directly.

        Raises
        ------
        ConfigError
            If the metric has no route and there is no default.

        Examples
        --------
        >>> import modelship as ms
        >>> prom = ms.monitor.PrometheusSource("http://127.0.0.1:9")
        >>> routed = ms.monitor.RoutedSource({"accuracy": ms.monitor.InMemorySource()},
        ...                                  default=prom)
        >>> isinstance(routed, ms.monitor.SeriesSource)
        True
        """
        source = self._route(metric)
        if isinstance(source, SeriesSource):
            return source.fetch_series(
                metric, slot=slot, start=start, end=end, stat=stat, step=step
            )
        return source.fetch(metric, slot=slot, start=start, end=end, stat=stat)

    def check_question(
        self,
        metric: str,
        *,
        slot: str | None,
        stat: str | None,
        window: float,
        step: float | None = None,
    ) -> None:
        """Refuse a metric without a route, and ask the route about the rest when it
        can tell (see :class:`~modelship._rollback._sources.QuestionCheck`).

        Raises
        ------
        ConfigError
            If the metric has no route and there is no default, or its route refuses
            the question.
        """
        source = self._route(metric)
        if isinstance(source, QuestionCheck):
            if step is not None and not isinstance(source, SeriesSource):
                step = None  # the route is asked with fetch
            source.check_question(metric, slot=slot, stat=stat, window=window, step=step)

    def _route(self, metric: str) -> MetricSource:
        source = self.routes.get(metric, self.default)
        if source is None:
            raise ConfigError(
                f"no source for metric {metric!r}; routed: {sorted(self.routes)}. "
                "Add a route or a default source"
            )
        return source


def _all_outside(stamps: npt.NDArray[np.float64], start: float, end: float) -> str:
    """Why a function's values, none of them in the window ``(start, end]``, are no data.

    Examples
    --------
    >>> _all_outside(np.array([1.0e12, np.nan]), 0.0, 60.0)
    'the function returned 2 values, all outside (0.000, 60.000]; 1 has a NaN timestamp'
    """
    n = stamps.size
    reason = (
        f"the function returned {n} value{'s' * (n != 1)}, all outside ({start:.3f}, {end:.3f}]"
    )
    nan = int(np.count_nonzero(np.isnan(stamps)))
    if nan:
        reason += f"; {nan} {'has' if nan == 1 else 'have'} a NaN timestamp"
    return reason


class CallableSource:
    """A metric source backed by a function.

    Parameters
    ----------
    fetch : callable
        ``fetch(metric, slot, start, end)`` returning ``(values, timestamps)`` of raw
        observations (those outside ``(start, end]`` are left out), or an outcome (:class:`Samples`,
        :class:`NoData`, :class:`SourceError`) of its own. NaN values are dropped as
        missing; no values is :class:`NoData`; an exception is :class:`SourceError`
        (``error_type="callable"``), except a :class:`~modelship.errors.ModelshipError`,
        which is a bug to see, not an outage to count. An outcome of its own is checked
        like a tuple: one of another metric or slot, or :class:`Samples` of another
        statistic than the one asked for, is a :class:`SourceError`
        (``error_type="bad_response"``: a cache or a mix-up must not be judged as the
        watched slot); values outside the window are left out (and a ``count`` with
        them, which no longer describes what is left), none left is :class:`NoData`;
        the answer is stamped with the window asked for.
    now : float or callable, optional
        The clock (the wall clock by default).

    Examples
    --------
    >>> import modelship as ms
    >>> def broken(metric, slot, start, end):
    ...     raise TimeoutError("warehouse did not answer")
    >>> out = ms.monitor.CallableSource(broken, now=10.0).fetch(
    ...     "revenue", slot="canary", start=0.0, end=10.0)
    >>> out.error_type, out.message
    ('callable', 'TimeoutError: warehouse did not answer')
    """

    def __init__(self, fetch: Fetcher, *, now: float | Callable[[], float] | None = None) -> None:
        if not callable(fetch):
            raise ConfigError(f"fetch must be callable, got {type(fetch).__name__}")
        self._fetch = fetch
        self._now = as_clock(now)

    def now(self) -> float:
        """The source's clock."""
        return float(self._now())

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME)
    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """Call the function; see :class:`MetricSource`."""
        start, end = float(start), float(end)
        try:
            answer = self._fetch(metric, slot, start, end)
        except ModelshipError:
            raise
        except Exception as exc:  # the function stands for a metrics system: any failure
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="callable",
                message=f"{type(exc).__name__}: {exc}",
            )
        if isinstance(answer, (Samples, NoData, SourceError)):
            return answer_to(answer, metric=metric, slot=slot, start=start, end=end, stat=stat)
        try:
            values_in, stamps_in = answer
            values = np.asarray(values_in, dtype=np.float64).ravel()
            stamps = np.asarray(stamps_in, dtype=np.float64).ravel()
        except (TypeError, ValueError, OverflowError) as exc:  # [10**400]: beyond a float
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="bad_response",
                message=f"the function must return (values, timestamps): {exc}",
            )
        if values.shape != stamps.shape:
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="bad_response",
                message=f"{values.size} values but {stamps.size} timestamps",
            )
        inside = (stamps > start) & (stamps <= end)  # only the window asked for
        # Values stamped in milliseconds, or for another window: say so, not "none".
        missed = _all_outside(stamps, start, end) if values.size and not inside.any() else ""
        values, stamps = values[inside], stamps[inside]
        keep = ~np.isnan(values)
        dropped = int(values.size - np.count_nonzero(keep))
        if not keep.any():
            reason = missed or (
                f"all {dropped} values were NaN" if dropped else "the function returned none"
            )
            return NoData(metric, slot, start=start, end=end, stat=stat, reason=reason)
        order = np.argsort(stamps[keep], kind="stable")
        return Samples(
            metric,
            slot,
            values[keep][order],
            stamps[keep][order],
            start=start,
            end=end,
            dropped=dropped,
        )
