"""Where live metrics come from: the :class:`MetricSource` seam, its outcomes, and the
in-memory source used by tests and by offline replay.

A source answers one question: *what did metric M look like for slot S in the window
(start, end]?* The answer is one of three typed outcomes, never a bare number:

* :class:`Samples`: finite (or infinite) values with their timestamps. Either raw
  observations (``stat is None``: one value per request) or points of a statistic the
  source computed itself (``stat="p95"``: a PromQL ``histogram_quantile`` per step);
* :class:`NoData`: nothing was recorded in the window, or every value was NaN;
* :class:`SourceError`: the source could not answer (unreachable, timed out, refused the
  query, or sent something unreadable).

Missing values are dropped and counted, never turned into zeros: an empty metric that
reads as zero is how canaries with broken instrumentation get promoted.

Examples
--------
>>> from modelship.monitor import InMemorySource
>>> src = InMemorySource(now=100.0)
>>> src.add("inference_latency_seconds", slot="canary", values=[0.1, 0.3], timestamps=[90, 95])
>>> out = src.fetch("inference_latency_seconds", slot="canary", start=40.0, end=100.0)
>>> out.values.tolist(), out.n
([0.1, 0.3], 2)
>>> type(src.fetch("inference_latency_seconds", slot="stable", start=40.0, end=100.0)).__name__
'NoData'
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from modelship._params import Constraint, Options, Spec, Text, validate_params
from modelship._rollback._constraints import (
    COUNT,
    SLOT,
    STAT,
    TIME,
    FiniteInterval,
    SequenceOf,
    read_fields,
    require,
)
from modelship._shown import brief
from modelship.errors import ConfigError

__all__ = [
    "InMemorySource",
    "MetricSource",
    "NoData",
    "Outcome",
    "Samples",
    "SourceError",
    "decode_float",
    "encode_float",
]

FloatArray = npt.NDArray[np.float64]


def encode_float(value: float) -> float | str:
    """A float as JSON can carry it: non-finite values become Prometheus's spellings.

    Examples
    --------
    >>> from modelship.monitor import encode_float
    >>> encode_float(0.5), encode_float(float("inf")), encode_float(float("nan"))
    (0.5, '+Inf', 'NaN')

    Raises
    ------
    ConfigError
        If ``value`` is not a number a float can hold.
    """
    try:
        finite = math.isfinite(value)
    except (TypeError, OverflowError):
        raise ConfigError(
            f"encode_float takes a number a float can hold, got {brief(value)}"
        ) from None
    if finite:
        return float(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def decode_float(value: float | int | str) -> float:
    """Inverse of :func:`encode_float`; also reads Prometheus's sample strings.

    Examples
    --------
    >>> from modelship.monitor import decode_float
    >>> decode_float("0.25"), decode_float("+Inf"), decode_float(3)
    (0.25, inf, 3.0)

    Raises
    ------
    ConfigError
        If ``value`` is neither a number nor the text of one.
    """
    try:
        return float(value)  # float() reads "NaN", "+Inf", "-Inf", "1e-3" exactly
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"{brief(value)} is not a number: give a number, or its text ('0.25', 'NaN', "
            "'+Inf', '-Inf')"
        ) from None


_NON_FINITE = ("NaN", "+Inf", "-Inf")
_FINITE = FiniteInterval(float, None, None)


class _EncodedFloat(Constraint):
    """A float as :func:`encode_float` writes it: a finite number or a non-finite spelling."""

    def is_satisfied_by(self, value: object) -> bool:
        return (isinstance(value, str) and value in _NON_FINITE) or _FINITE.is_satisfied_by(value)

    def __str__(self) -> str:
        return "a finite number or one of 'NaN', '+Inf', '-Inf'"

    def invalid_values(self) -> tuple[object, ...]:
        return ("abc", True, math.nan)


#: A float in a document: what :func:`encode_float` writes.
ENCODED_FLOAT = _EncodedFloat()
_TEXTS = SequenceOf(str)
#: An outcome's statistic: none (raw observations), one a condition reads, or "value",
#: what the drift and outcome sources answer when asked for none (the metric's own value
#: over the window, which is not an observation).
_OUTCOME_STAT = (None, STAT, Options(("value",)))
_WINDOW: dict[str, Spec] = {"metric": str, "slot": str, "start": TIME, "end": TIME}


def _outcome_fields(
    data: object, kind: str, required: dict[str, Spec], optional: dict[str, Spec]
) -> dict[str, Any]:
    what = f"recorded {kind} outcome"
    fields = read_fields(data, what, {"outcome": Options((kind,)), **_WINDOW, **required}, optional)
    _check_window(fields["start"], fields["end"], what)
    return fields


def _check_outcome(outcome: Samples | NoData | SourceError, what: str) -> None:
    """The fields every outcome has, checked when it is made as a log's reader checks
    them: whatever a source answers, a log that records it can be read back."""
    require(f"{what}.metric", outcome.metric, str)
    require(f"{what}.slot", outcome.slot, str)
    require(f"{what}.stat", outcome.stat, *_OUTCOME_STAT)
    _check_window(outcome.start, outcome.end, what)


def _check_window(start: float, end: float, what: str) -> None:
    """An outcome's window, as its constructor and the reader of a log both check it."""
    require(f"{what}.start", start, TIME)
    require(f"{what}.end", end, TIME)
    if start > end:
        raise ConfigError(f"the {what} has start {start!r} after end {end!r}")


def _bound(value: object) -> float:
    """A window's bound as a float: a real number, or a ConfigError that says so (the
    window's check then requires it finite)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64
            pass
    raise ConfigError(
        f"a window's start and end are seconds since the epoch, finite numbers; got {brief(value)}"
    )


def _floats(values: npt.ArrayLike, what: str) -> FloatArray:
    """``values`` as a flat float64 array, or a ConfigError naming ``what`` (``'abc'``)."""
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{what} must be a sequence of numbers; got {brief(values)}") from None


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ConfigError(
            f"warnings={brief(values)} is not allowed; warnings must be a list of strings"
        )
    return tuple(str(v) for v in values)


def _frozen_array(values: npt.ArrayLike) -> FloatArray:
    """A read-only float64 array: a copy, unless ``values`` is one already (a source's
    window, which the source never writes to again)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"samples' values and timestamps are sequences of numbers; got {brief(values)}"
        ) from None
    if array.flags.writeable:
        array = array.copy()
        array.setflags(write=False)
    return array


@attrs.frozen(eq=False)
class Samples:
    """Values of one metric for one slot in the window ``(start, end]``.

    Attributes
    ----------
    metric, slot : str
    values : numpy.ndarray
        Read-only float64 values, never NaN: a missing value is dropped and counted in
        ``dropped`` (a NaN is refused with :class:`~modelship.errors.ConfigError`);
        ``+inf`` is kept (a latency beyond the last histogram bucket is a real, bad value).
    timestamps : numpy.ndarray
        Read-only, one per value, seconds since the epoch, ascending.
    start, end : float
        The window asked for.
    stat : str or None
        ``None`` when ``values`` are raw observations; otherwise the statistic the source
        already applied (``"p95"``...), and ``values`` are points of it; ``"value"``
        when a source asked for no statistic answers the metric's own value over the
        window (a drift statistic, an accuracy) rather than observations.
    count : int or None
        Observations behind the values when the source knows it (Prometheus's
        ``_count``); for raw observations, ``None`` and :attr:`n` is ``len(values)``.
    dropped : int
        NaN values that were dropped as missing.
    warnings : tuple of str
        Warnings the source sent with the answer.

    Examples
    --------
    >>> from modelship.monitor import Samples
    >>> s = Samples("m", "canary", [0.2, 0.4], [1.0, 2.0], start=0.0, end=2.0)
    >>> s.n, Samples.from_dict(s.to_dict()).to_dict() == s.to_dict()
    (2, True)
    """

    metric: str
    slot: str
    values: FloatArray = attrs.field(converter=_frozen_array)
    timestamps: FloatArray = attrs.field(converter=_frozen_array)
    start: float = attrs.field(kw_only=True, converter=_bound)
    end: float = attrs.field(kw_only=True, converter=_bound)
    stat: str | None = attrs.field(default=None, kw_only=True)
    count: int | None = attrs.field(default=None, kw_only=True)
    dropped: int = attrs.field(default=0, kw_only=True)
    warnings: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_strings)

    def __attrs_post_init__(self) -> None:
        # What a decision log's reader checks (from_dict), checked when made: whatever a
        # source answers, a log that records it can be read back.
        if self.values.ndim != 1 or self.values.shape != self.timestamps.shape:
            raise ConfigError(
                f"{brief(self.metric)}/{brief(self.slot)}: values {self.values.shape} and "
                f"timestamps {self.timestamps.shape} must be one-dimensional and of one length"
            )
        if self.values.size == 0:
            raise ConfigError(
                f"samples of {brief(self.metric)} for {brief(self.slot)} hold no values; a "
                "source that has none answers NoData(metric, slot, start=, end=, reason=)"
            )
        what = "samples"
        _check_outcome(self, what)
        if not np.isfinite(self.timestamps).all():
            raise ConfigError(
                f"samples of {brief(self.metric)} for {brief(self.slot)}: every timestamp must "
                "be finite seconds since the epoch"
            )
        missing = int(np.count_nonzero(np.isnan(self.values)))
        if missing:
            # A NaN kept here would be dropped by the replay's InMemorySource: the replayed
            # decision would differ from the recorded one.
            raise ConfigError(
                f"samples of {brief(self.metric)} for {brief(self.slot)} hold {missing} NaN "
                "values; drop missing values and count them in dropped=, or answer NoData "
                "when none is left"
            )
        require(f"{what}.count", self.count, None, COUNT)
        require(f"{what}.dropped", self.dropped, COUNT)

    @property
    def n(self) -> int:
        """The sample size: :attr:`count` when known, else the number of values."""
        return self.count if self.count is not None else int(self.values.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; floats round-trip exactly, non-finite ones as strings."""
        return {
            "outcome": "samples",
            "metric": self.metric,
            "slot": self.slot,
            "start": self.start,
            "end": self.end,
            "stat": self.stat,
            "count": self.count,
            "dropped": self.dropped,
            "warnings": list(self.warnings),
            "values": [encode_float(v) for v in self.values.tolist()],
            "timestamps": self.timestamps.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Samples:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If a field is missing, unknown, or not what :meth:`to_dict` writes.
        """
        data = _outcome_fields(
            data,
            "samples",
            {"values": SequenceOf(ENCODED_FLOAT), "timestamps": SequenceOf(TIME)},
            {"stat": _OUTCOME_STAT, "count": (None, COUNT), "dropped": COUNT, "warnings": _TEXTS},
        )
        return cls(
            data["metric"],
            data["slot"],
            [decode_float(v) for v in data["values"]],
            data["timestamps"],
            start=data["start"],
            end=data["end"],
            stat=data.get("stat"),
            count=data.get("count"),
            dropped=data.get("dropped", 0),
            warnings=tuple(data.get("warnings", ())),
        )


@attrs.frozen
class NoData:
    """The source had nothing for the metric and slot in the window.

    Examples
    --------
    >>> from modelship.monitor import NoData
    >>> NoData("m", "canary", start=0.0, end=60.0, reason="no samples").to_dict()["outcome"]
    'no_data'
    """

    metric: str
    slot: str
    start: float = attrs.field(kw_only=True, converter=_bound)
    end: float = attrs.field(kw_only=True, converter=_bound)
    reason: str = attrs.field(kw_only=True)
    stat: str | None = attrs.field(default=None, kw_only=True)
    warnings: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_strings)

    def __attrs_post_init__(self) -> None:
        _check_outcome(self, "no_data outcome")
        require("no_data outcome.reason", self.reason, str)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "outcome": "no_data",
            "metric": self.metric,
            "slot": self.slot,
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
            "stat": self.stat,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoData:
        """Rebuild from :meth:`to_dict` output (every field checked, as for Samples)."""
        data = _outcome_fields(
            data, "no_data", {"reason": str}, {"stat": _OUTCOME_STAT, "warnings": _TEXTS}
        )
        return cls(
            data["metric"],
            data["slot"],
            start=data["start"],
            end=data["end"],
            reason=data["reason"],
            stat=data.get("stat"),
            warnings=tuple(data.get("warnings", ())),
        )


@attrs.frozen
class SourceError:
    """The source could not answer.

    Attributes
    ----------
    error_type : str
        Prometheus's ``errorType`` (``bad_data``, ``execution``, ``timeout``...) when it
        sent one; otherwise ``"connection"``, ``"timeout"``, ``"tls"``, ``"http"`` (a status without
        a Prometheus envelope) or ``"bad_response"`` (an envelope we could not read).
    message : str
    status_code : int or None
        HTTP status, when there was a response.

    Examples
    --------
    >>> from modelship.monitor import SourceError
    >>> err = SourceError("m", "canary", start=0, end=60, error_type="timeout", message="5 s")
    >>> SourceError.from_dict(err.to_dict()) == err
    True
    """

    metric: str
    slot: str
    start: float = attrs.field(kw_only=True, converter=_bound)
    end: float = attrs.field(kw_only=True, converter=_bound)
    error_type: str = attrs.field(kw_only=True)
    message: str = attrs.field(kw_only=True)
    status_code: int | None = attrs.field(default=None, kw_only=True)
    stat: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        what = "error outcome"
        _check_outcome(self, what)
        require(f"{what}.error_type", self.error_type, str)
        require(f"{what}.message", self.message, str)
        require(f"{what}.status_code", self.status_code, None, COUNT)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "outcome": "error",
            "metric": self.metric,
            "slot": self.slot,
            "start": self.start,
            "end": self.end,
            "error_type": self.error_type,
            "message": self.message,
            "status_code": self.status_code,
            "stat": self.stat,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceError:
        """Rebuild from :meth:`to_dict` output (every field checked, as for Samples)."""
        data = _outcome_fields(
            data,
            "error",
            {"error_type": str, "message": str},
            {"status_code": (None, COUNT), "stat": _OUTCOME_STAT},
        )
        return cls(
            data["metric"],
            data["slot"],
            start=data["start"],
            end=data["end"],
            error_type=data["error_type"],
            message=data["message"],
            status_code=data.get("status_code"),
            stat=data.get("stat"),
        )


Outcome = Samples | NoData | SourceError
"""What a metric source answers for one metric, slot and window (a type alias):
``Samples`` (values), ``NoData`` (nothing in the window, with the reason) or
``SourceError`` (the source failed). ``MetricSource.fetch`` returns one, and a decision
keeps them as its inputs.

Examples
--------
>>> from modelship.monitor import InMemorySource, NoData, Outcome, Samples, SourceError
>>> src = InMemorySource(now=60.0)
>>> src.add("error_rate", slot="canary", values=[0.0, 0.01], timestamps=[10.0, 20.0])
>>> def describe(outcome: Outcome) -> str:
...     if isinstance(outcome, Samples):
...         return f"{outcome.n} values"
...     if isinstance(outcome, NoData):
...         return f"no data: {outcome.reason}"
...     return f"source failed: {outcome.message}"
>>> describe(src.fetch("error_rate", slot="canary", start=0.0, end=60.0))
'2 values'
>>> isinstance(src.fetch("error_rate", slot="stable", start=0.0, end=60.0), Outcome)
True
"""


def outcome_from_dict(data: Mapping[str, Any]) -> Outcome:
    """Rebuild any outcome from its ``to_dict`` form.

    Raises
    ------
    ConfigError
        If ``data`` is not a recorded outcome, or a field of it is wrong.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"a recorded source outcome is a mapping, got {type(data).__name__}")
    kind = data.get("outcome")
    if kind == "samples":
        return Samples.from_dict(data)
    if kind == "no_data":
        return NoData.from_dict(data)
    if kind == "error":
        return SourceError.from_dict(data)
    raise ConfigError(
        f"not a recorded source outcome: outcome={brief(kind)}; expected 'samples', "
        "'no_data' or 'error'"
    )


def answer_to(  # noqa: PLR0913 - the question an answer is held to, keyword-only
    answer: object, *, metric: str, slot: str, start: float, end: float, stat: str | None
) -> Outcome:
    """A source's ``answer`` held to the question it was asked, as a decision records it.

    What :class:`~modelship.monitor.CallableSource` does with a function's own outcome:
    an answer for another metric or slot, or :class:`Samples` of another statistic than
    the one asked for, is a :class:`SourceError` (``bad_response``: a cache or a mix-up
    must not be judged as the watched slot); values stamped outside ``(start, end]`` are
    left out with a warning (and a ``count`` with them, which no longer describes what is
    left, unless it is a statistic's count and its last point is kept), none left is
    :class:`NoData`; values are put in time order (stable), and the
    answer is stamped with the window, and a :class:`NoData` or :class:`SourceError` with
    the statistic, asked for. What is returned is what a replay of it gives back.

    Raises
    ------
    ConfigError
        If ``answer`` is not an outcome (:class:`Samples`, :class:`NoData`,
        :class:`SourceError`): a source that answers anything else is a bug to fix, not an
        outage to count.

    Examples
    --------
    >>> from modelship._rollback._sources import Samples, answer_to
    >>> stale = Samples("m", "c", [9.0, 1.0], [0.0, 30.0], start=0.0, end=60.0)
    >>> out = answer_to(stale, metric="m", slot="c", start=0.0, end=60.0, stat="mean")
    >>> out.values.tolist(), out.warnings[0][:40]
    ([1.0], '1 of 2 values of m on c lie outside the ')
    """
    if not isinstance(answer, Samples | NoData | SourceError):
        raise ConfigError(
            f"the source answered {brief(answer)} for {stat}({metric}) of slot {slot!r}; a "
            "MetricSource answers Samples, NoData or SourceError"
        )
    asked = f"{metric!r} of slot {slot!r}"
    wrong = None
    if (answer.metric, answer.slot) != (metric, slot):
        wrong = f"the source answered {answer.metric!r} of slot {answer.slot!r}, asked {asked}"
    elif isinstance(answer, Samples) and answer.stat not in (None, stat):
        wrong = f"the source answered the statistic {answer.stat!r} of {asked}, asked {stat!r}"
    if wrong is not None:
        return SourceError(
            metric,
            slot,
            start=start,
            end=end,
            stat=stat,
            error_type="bad_response",
            message=wrong,
        )
    if not isinstance(answer, Samples):
        return attrs.evolve(answer, start=start, end=end, stat=stat)
    stamps = answer.timestamps
    inside = (stamps > start) & (stamps <= end)
    if not inside.any():
        return NoData(
            metric,
            slot,
            start=start,
            end=end,
            stat=stat,
            warnings=answer.warnings,
            reason=(
                f"the source's {answer.values.size} values are all outside ({start:.3f}, {end:.3f}]"
            ),
        )
    values, count, warnings = answer.values, answer.count, answer.warnings
    if not inside.all():
        outside = int(stamps.size - np.count_nonzero(inside))
        warnings += (
            f"{outside} of {stamps.size} values of {metric} on {slot} lie outside the window "
            f"({start:.3f}, {end:.3f}] asked for and are left out",
        )
        # A statistic's count is the one behind its last point: kept while that point
        # is; a count of raw observations no longer describes what is left.
        last_kept = answer.stat is not None and bool(inside[int(np.argmax(stamps))])
        values, stamps = values[inside], stamps[inside]
        count = count if last_kept else None
    if stamps.size > 1 and not bool(np.all(stamps[1:] >= stamps[:-1])):
        # A replay puts the values back in time order (stable): so does the record.
        order = np.argsort(stamps, kind="stable")
        values, stamps = values[order], stamps[order]
    if values is answer.values and (answer.start, answer.end) == (start, end):
        return answer
    return attrs.evolve(
        answer,
        values=values,
        timestamps=stamps,
        start=start,
        end=end,
        count=count,
        warnings=warnings,
    )


@runtime_checkable
class MetricSource(Protocol):
    """Where live metrics come from.

    Two methods: the source's clock, and one fetch. :meth:`fetch` never raises for a
    failure of the metrics system; it returns :class:`SourceError`. It raises
    :class:`~modelship.errors.ConfigError` only for a question the source cannot be asked
    (e.g. a metric without a query template), which no retry would fix.

    Examples
    --------
    >>> from modelship.monitor import InMemorySource, MetricSource
    >>> isinstance(InMemorySource(), MetricSource)
    True
    """

    def now(self) -> float:
        """The source's current time, in seconds since the epoch."""
        ...

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """Values of ``metric`` for ``slot`` in ``(start, end]``.

        ``stat`` names the statistic the caller will compute (``"p95"``, ``"mean"``...).
        A source that can compute it itself returns points of it (``Samples.stat`` set);
        any source may instead return raw observations (``Samples.stat is None``).
        """
        ...


@runtime_checkable
class QuestionCheck(Protocol):
    """An optional ability of a source: refuse, before any fetch, a question it can never
    answer (a metric without a query template, a range with too many points).

    :func:`~modelship.monitor.watch` and ``modelship monitor watch`` ask it about every
    condition before they create a log file or record an event, and
    :func:`~modelship.monitor.canary_gate` when it is made, so such a mistake is refused
    at once and leaves nothing behind, rather than at the first evaluation.

    Examples
    --------
    >>> from modelship.monitor import InMemorySource, PrometheusSource
    >>> from modelship._rollback._sources import QuestionCheck
    >>> isinstance(PrometheusSource("http://127.0.0.1:9"), QuestionCheck)
    True
    >>> isinstance(InMemorySource(), QuestionCheck)   # any question; no data is NoData
    False
    """

    def check_question(
        self,
        metric: str,
        *,
        slot: str | None,
        stat: str | None,
        window: float,
        step: float | None = None,
    ) -> None:
        """Raise :class:`~modelship.errors.ConfigError` if ``fetch`` (or, with
        ``step``, ``fetch_series``) of this question would (``slot`` None: any slot,
        for a question asked before the slot is known)."""
        ...


class _Series:
    """Time-ordered values in arrays that grow by doubling: appends in time order cost
    O(batch) amortised, so a long history does not slow recording down.

    Invariants: the first ``size`` entries of a buffer are never written again (an append
    writes past them; a merge or a growth builds new buffers), so a window handed out as a
    read-only view stays what it was, without a copy. The buffers and ``size`` are
    published together as one tuple, in one assignment, after the new entries are
    written: a reader (``window``) on another thread sees the state before an ``add`` or
    after it, never a mix. Writers are serialised by a lock.
    """

    def __init__(self) -> None:
        empty = np.empty(16, dtype=np.float64)
        # (timestamps, values, counts behind a point or NaN, size)
        self._state: tuple[FloatArray, FloatArray, FloatArray, int] = (
            empty,
            empty.copy(),
            empty.copy(),
            0,
        )
        self._lock = threading.Lock()

    def add(self, t: FloatArray, v: FloatArray, c: FloatArray) -> None:
        order = np.argsort(t, kind="stable")
        t, v, c = t[order], v[order], c[order]
        with self._lock:
            buffers = list(self._state[:3])
            size = self._state[3]
            need = size + t.size
            if size and t.size and t[0] < buffers[0][size - 1]:
                # Out of order: merge into new buffers (O(history)); earlier additions first.
                at = np.searchsorted(buffers[0][:size], t, side="right")
                capacity = max(need, buffers[0].size)
                for i, new in enumerate((t, v, c)):
                    merged = np.empty(capacity, dtype=np.float64)
                    merged[:need] = np.insert(buffers[i][:size], at, new)
                    buffers[i] = merged
            else:
                if need > buffers[0].size:
                    capacity = max(need, 2 * buffers[0].size)
                    for i in range(3):
                        grown = np.empty(capacity, dtype=np.float64)
                        grown[:size] = buffers[i][:size]
                        buffers[i] = grown
                for i, new in enumerate((t, v, c)):
                    buffers[i][size:need] = new
            self._state = (buffers[0], buffers[1], buffers[2], need)

    def window(self, start: float, end: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        t_all, v_all, c_all, size = self._state  # one read: a consistent snapshot
        t = t_all[:size]
        lo = int(np.searchsorted(t, start, side="right"))
        hi = int(np.searchsorted(t, end, side="right"))
        views = (t[lo:hi], v_all[lo:hi], c_all[lo:hi])
        for view in views:
            view.flags.writeable = False
        return views


def as_clock(now: float | Callable[[], float] | None, name: str = "now") -> Callable[[], float]:
    """A clock from a fixed time, a callable, or ``None`` (the wall clock).

    A callable's every reading is checked (:func:`clock_reading`).

    Raises
    ------
    ConfigError
        If ``now`` is neither None, a callable, nor a finite time (``name`` names it).

    Examples
    --------
    >>> from modelship._rollback._sources import as_clock
    >>> as_clock(5.0)()
    5.0
    >>> as_clock("abc")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: now='abc' is not allowed; now must be None, a callable or ...
    """
    if now is None:
        return time.time
    if callable(now):
        clock = now
        return lambda: clock_reading(clock(), name)
    if not TIME.is_satisfied_by(now):
        raise ConfigError(
            f"{name}={brief(now)} is not allowed; {name} must be None, a callable or a time "
            f"({TIME})"
        )
    fixed = float(now)
    return lambda: fixed


def clock_reading(value: object, name: str = "now") -> float:
    """``value`` as a time, if a clock may return it: a finite number of seconds.

    Raises
    ------
    ConfigError
        If the clock returned anything else (a string, NaN, None).

    Examples
    --------
    >>> from modelship._rollback._sources import clock_reading
    >>> clock_reading(12)
    12.0
    >>> clock_reading(float("nan"), "source.now")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: source.now() returned nan; a clock returns a time, a finite float
    """
    if not TIME.is_satisfied_by(value):
        raise ConfigError(f"{name}() returned {brief(value)}; a clock returns a time, {TIME}")
    return float(value)  # type: ignore[arg-type]  # checked: a real number


def source_time(source: MetricSource) -> float:
    """``source.now()``, checked: a source written by a user may return anything."""
    return clock_reading(source.now(), "source.now")


def _rewindowed(answer: Outcome, *, start: float, end: float, stat: str | None) -> Outcome:
    """A recorded answer given back for the window ``(start, end]``: its values in it
    (with its count if all of them are), or :class:`NoData` when none is."""
    if not isinstance(answer, Samples):
        return attrs.evolve(answer, start=start, end=end)
    inside = (answer.timestamps > start) & (answer.timestamps <= end)
    if inside.all():
        return attrs.evolve(answer, start=start, end=end)
    if not inside.any():
        return NoData(
            answer.metric,
            answer.slot,
            start=start,
            end=end,
            stat=stat,
            reason=f"no values in ({start:g}, {end:g}]",
        )
    return attrs.evolve(
        answer,
        values=answer.values[inside],
        timestamps=answer.timestamps[inside],
        start=start,
        end=end,
        count=None,
    )


class InMemorySource:
    """A metric source held in memory: for tests, simulations and offline replay.

    Parameters
    ----------
    now : float or callable, optional
        The source's clock: a fixed time, a callable returning the time, or ``None`` for
        the wall clock. :meth:`set_now` moves a fixed clock.

    Notes
    -----
    Values recorded in time order are appended in O(batch) amortised; a fetch costs a
    binary search plus the window's values (a read-only view, no copy), whatever the
    length of the history. Values recorded out of order are merged, in O(history).
    One thread may record while others fetch (a server's traffic and a watcher): each
    ``add`` publishes its series in one assignment, so a fetch sees it whole or not at all.

    Examples
    --------
    >>> from modelship.monitor import InMemorySource
    >>> src = InMemorySource(now=60.0)
    >>> src.add("inference_latency_seconds", slot="canary", values=[0.12, float("nan")],
    ...         timestamps=[10.0, 20.0])
    >>> out = src.fetch("inference_latency_seconds", slot="canary", start=0.0, end=60.0)
    >>> out.values.tolist(), out.dropped
    ([0.12], 1)
    """

    def __init__(self, *, now: float | Callable[[], float] | None = None) -> None:
        self._now = as_clock(now)
        self._raw: dict[tuple[str, str], _Series] = {}
        self._points: dict[tuple[str, str, str], _Series] = {}
        self._errors: dict[tuple[str, str, str | None], tuple[str, str, int | None]] = {}
        self._no_data: dict[tuple[str, str, str | None], NoData] = {}
        self._warnings: dict[tuple[str, str, str | None], tuple[str, ...]] = {}
        # NaN values a replayed answer dropped: counted, never expanded into an array (a
        # log may say a billion were dropped).
        self._dropped: dict[tuple[str, str, str | None], int] = {}
        # The count of a replayed answer of raw observations, with the number of values
        # it came with: a window holding all of them is the answer, and has its count.
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        # Replayed answers given back to exactly the question they answered.
        self._answers: dict[tuple[str, str, str | None], Outcome] = {}

    def now(self) -> float:
        """The source's clock."""
        return float(self._now())

    def set_now(self, now: float | Callable[[], float] | None) -> None:
        """Set the clock (a time, a callable, or ``None`` for the wall clock)."""
        self._now = as_clock(now)

    def _arrays(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None, what: str
    ) -> tuple[FloatArray, FloatArray]:
        v = _floats(values, f"{what}: values")
        t = (
            np.full(v.size, self.now())
            if timestamps is None
            else _floats(timestamps, f"{what}: timestamps")
        )
        if t.shape != v.shape:
            raise ConfigError(
                f"{what}: {v.size} values but {t.size} timestamps; give one timestamp per value"
            )
        if not np.all(np.isfinite(t)):
            raise ConfigError(f"{what}: timestamps must be finite seconds since the epoch")
        return v, t

    @validate_params(metric=Text(), slot=SLOT)
    def add(
        self,
        metric: str,
        *,
        slot: str,
        values: npt.ArrayLike,
        timestamps: npt.ArrayLike | None = None,
    ) -> None:
        """Record raw observations (one per request) of ``metric`` for ``slot``.

        Parameters
        ----------
        metric, slot : str
        values : array_like
            Observations; NaN means missing (dropped and counted when fetched).
        timestamps : array_like, optional
            One per value, seconds since the epoch; all "now" when omitted.

        Raises
        ------
        ConfigError
            If a value or timestamp is not a number, lengths differ or a timestamp is
            not finite.
        """
        v, t = self._arrays(values, timestamps, f"{metric}/{slot}")
        self._raw.setdefault((metric, slot), _Series()).add(t, v, np.full(v.size, np.nan))

    @validate_params(metric=Text(), slot=SLOT)
    def add_points(  # noqa: PLR0913 - test double: keyword-only slot, stat and the series arrays to record
        self,
        metric: str,
        *,
        slot: str,
        stat: str,
        values: npt.ArrayLike,
        timestamps: npt.ArrayLike | None = None,
        counts: npt.ArrayLike | None = None,
    ) -> None:
        """Record points of a statistic the way a metrics system computes it.

        A fetch asking for ``stat`` gets these points (``Samples.stat == stat``) instead of
        raw observations, as from Prometheus.

        Parameters
        ----------
        metric, slot, stat : str
        values, timestamps : array_like
        counts : array_like, optional
            Observations behind each point; the fetched sample size is the last point's
            in the window (the point a condition judges). Unknown when omitted.

        Examples
        --------
        >>> from modelship.monitor import InMemorySource
        >>> src = InMemorySource(now=30.0)
        >>> src.add_points("inference_latency_seconds", slot="canary", stat="p95",
        ...                values=[0.21], timestamps=[30.0], counts=[400])
        >>> out = src.fetch("inference_latency_seconds", slot="canary", stat="p95",
        ...                 start=0.0, end=30.0)
        >>> out.stat, out.n
        ('p95', 400)

        Raises
        ------
        ConfigError
            If ``stat`` is not a statistic a condition reads, a value or timestamp is not
            a number, lengths differ, a timestamp is not finite or a count is not a whole
            finite number >= 0.
        """
        require("stat", stat, STAT)
        v, t = self._arrays(values, timestamps, f"{stat}({metric})/{slot}")
        if counts is None:
            c = np.full(v.size, np.nan)
        else:
            c = _floats(counts, f"{stat}({metric})/{slot}: counts")
            if c.shape != v.shape:
                raise ConfigError(
                    f"{stat}({metric})/{slot}: give one count per value, got {c.size} counts "
                    f"for {v.size} values"
                )
            # A count is a number of observations: whole and finite (an infinite one made
            # the fetch's int() raise OverflowError, 29.9 was judged as 29).
            bad = ~(np.isfinite(c) & (c >= 0) & (c == np.floor(c)))
            if bad.any():
                raise ConfigError(
                    f"{stat}({metric})/{slot}: a count is a whole number of observations "
                    f">= 0, got {brief(c[int(np.argmax(bad))].item())} at position "
                    f"{int(np.argmax(bad))}; give one such count per value"
                )
        self._points.setdefault((metric, slot, stat), _Series()).add(t, v, c)

    def set_error(  # noqa: PLR0913 - test double: keyword-only fields of the injected SourceError
        self,
        metric: str,
        *,
        slot: str,
        stat: str | None = None,
        error_type: str = "unavailable",
        message: str = "injected error",
        status_code: int | None = None,
    ) -> None:
        """Make fetches of ``metric`` for ``slot`` answer :class:`SourceError`.

        With ``stat``, only fetches asking for that statistic; otherwise all of them.
        """
        self._errors[(metric, slot, stat)] = (error_type, message, status_code)

    def clear_error(self, metric: str, *, slot: str, stat: str | None = None) -> None:
        """Undo :meth:`set_error`."""
        self._errors.pop((metric, slot, stat), None)

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME)
    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """Values of ``metric`` for ``slot`` in ``(start, end]``; see :class:`MetricSource`.

        Raises
        ------
        ConfigError
            If ``metric`` or ``slot`` is not a non-empty string, or ``start`` or ``end``
            is not a finite time (:class:`~modelship.errors.InvalidParameter`).
        """
        start, end = float(start), float(end)
        answer = self._answers.get((metric, slot, stat))
        if answer is not None:  # a replayed answer, to exactly its question
            return _rewindowed(answer, start=start, end=end, stat=stat)
        error = self._errors.get((metric, slot, stat)) or self._errors.get((metric, slot, None))
        if error is not None:
            error_type, message, status = error
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                error_type=error_type,
                message=message,
                status_code=status,
                stat=stat,
            )
        recorded = self._no_data.get((metric, slot, stat)) or self._no_data.get(
            (metric, slot, None)
        )
        if recorded is not None:
            return attrs.evolve(recorded, start=start, end=end)
        series: _Series | None = None
        if stat is not None:
            series = self._points.get((metric, slot, stat))
        point_stat = stat if series is not None else None
        if series is None:
            series = self._raw.get((metric, slot))
        if series is None:
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                reason=f"{metric} was never recorded for {slot}",
            )
        t, v, c = series.window(start, end)
        keep = ~np.isnan(v)
        dropped = int(v.size - np.count_nonzero(keep))
        if dropped:
            t, v, c = t[keep], v[keep], c[keep]
        if v.size == 0:
            why = f"all {dropped} values were NaN" if dropped else "no values"
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                reason=f"{why} in ({start:g}, {end:g}]",
            )
        dropped += self._dropped.get((metric, slot, point_stat), 0)
        count = None
        if point_stat is not None and not np.isnan(c[-1]):
            # A condition judges the last point: its sample size is that point's count, as
            # for Prometheus (the count at the window's end), never the sum over the points
            # (a p95 of 2 requests judged as if 2,002 stood behind it).
            count = int(c[-1])
        elif point_stat is None and (metric, slot) in self._counts:
            replayed, size = self._counts[(metric, slot)]
            if v.size == size:  # the whole replayed answer: its count describes it
                count = replayed
        return Samples(
            metric,
            slot,
            v,
            t,
            start=start,
            end=end,
            stat=point_stat,
            count=count,
            dropped=dropped,
            warnings=self._warnings.get((metric, slot, point_stat), ()),
        )

    @classmethod
    def from_outcomes(
        cls,
        outcomes: Sequence[Outcome],
        *,
        now: float,
        questions: Sequence[tuple[str, str, str | None]] | None = None,
    ) -> InMemorySource:
        """A source that answers exactly the recorded ``outcomes`` at time ``now``.

        This is how a decision log is replayed offline: each recorded answer is put back
        (raw observations through :meth:`add`, with their ``count`` when they had one;
        points through :meth:`add_points`, the count of missing values as a count, never
        as that many NaN: a log may say a billion were dropped; no-data answers and
        errors as they were, for the statistic they name, a no-data answer naming none
        for any) and the clock is set to the time of the evaluation. Raw samples of one
        metric and slot recorded twice (asked for two statistics) are added once.

        ``questions``, one ``(metric, slot, stat)`` per outcome in order, names the
        question each answered (as :func:`~modelship.monitor.replay` knows it from the
        policy): a fetch of that question then gets its own answer back whole, even
        when a source answered two statistics of one metric and slot with two different
        sets of raw observations (a reservoir sampled per question).

        Raises
        ------
        ConfigError
            If ``questions`` is not one distinct ``(metric, slot, stat)`` per outcome.

        Examples
        --------
        >>> from modelship.monitor import InMemorySource, NoData
        >>> src = InMemorySource.from_outcomes(
        ...     [NoData("m", "c", start=0, end=1, reason="no traffic")], now=1.0)
        >>> src.fetch("m", slot="c", start=0.0, end=1.0).reason
        'no traffic'
        """
        source = cls(now=now)
        if questions is not None:
            asked: list[tuple[str, str, str | None]] = []
            for question in questions:
                if not (
                    isinstance(question, tuple | list)
                    and len(question) == 3
                    and isinstance(question[0], str)
                    and isinstance(question[1], str)
                    and (question[2] is None or isinstance(question[2], str))
                ):
                    raise ConfigError(
                        f"a question is a (metric, slot, stat) tuple, got {brief(question)}"
                    )
                asked.append((question[0], question[1], question[2]))
            if len(asked) != len(outcomes) or len(set(asked)) != len(asked):
                raise ConfigError(
                    "questions must name one distinct (metric, slot, stat) per outcome: "
                    f"{len(asked)} questions ({len(set(asked))} distinct) for "
                    f"{len(outcomes)} outcomes"
                )
            source._answers.update(zip(asked, outcomes, strict=True))
        seen: set[tuple[str, str, str | None]] = set()
        for outcome in outcomes:
            if isinstance(outcome, SourceError):
                source.set_error(
                    outcome.metric,
                    slot=outcome.slot,
                    stat=outcome.stat,
                    error_type=outcome.error_type,
                    message=outcome.message,
                    status_code=outcome.status_code,
                )
            elif isinstance(outcome, NoData):
                source._no_data[(outcome.metric, outcome.slot, outcome.stat)] = outcome
            else:
                key = (outcome.metric, outcome.slot, outcome.stat)
                if key in seen:
                    continue
                seen.add(key)
                values, stamps = outcome.values, outcome.timestamps
                source._warnings[key] = outcome.warnings
                source._dropped[key] = outcome.dropped
                if outcome.stat is None:
                    source.add(outcome.metric, slot=outcome.slot, values=values, timestamps=stamps)
                    if outcome.count is not None:
                        source._counts[(outcome.metric, outcome.slot)] = (
                            outcome.count,
                            int(values.size),
                        )
                    continue
                counts = None
                if outcome.count is not None:
                    # The count on the last point, the one a condition judges and whose
                    # count a fetch answers.
                    counts = np.zeros(values.size)
                    counts[-1] = outcome.count
                source.add_points(
                    outcome.metric,
                    slot=outcome.slot,
                    stat=outcome.stat,
                    values=values,
                    timestamps=stamps,
                    counts=counts,
                )
        return source
