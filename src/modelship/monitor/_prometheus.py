"""A metric source over Prometheus's HTTP API (``/api/v1/query``, ``/api/v1/query_range``).

Every answer is read exactly as the API documents its envelope::

    {"status": "success" | "error", "data": {"resultType": ..., "result": ...},
     "errorType": "...", "error": "...", "warnings": [...], "infos": [...]}

* ``status: "error"`` becomes :class:`SourceError` carrying ``errorType`` and ``error``
  (``bad_data`` for a query that does not parse, ``execution``, ``timeout``...);
* ``resultType`` ``vector`` (instant query), ``matrix`` (range query) and ``scalar`` are
  read; a ``string`` result, a native histogram sample, or several series where one was
  expected is a :class:`SourceError` (``bad_response``) that says what to change;
* sample values arrive as strings (``"0.25"``, ``"NaN"``, ``"+Inf"``, ``"-Inf"``): NaN
  is missing (``histogram_quantile`` over a slot without traffic is NaN, a rate of zero
  requests is 0/0), ``+Inf`` is kept (a latency above the last bucket);
* an empty result, or only NaN, is :class:`NoData`, never zero;
* points outside the window asked for (a caching front end's stale answer) are left out,
  with a warning; none left is :class:`NoData`;
* a refused connection, a timeout, a redirect, an answer larger than
  :data:`MAX_ANSWER_BYTES` or not complete within ``timeout`` seconds, or a non-JSON body
  is a :class:`SourceError` too: :meth:`PrometheusSource.fetch` never raises for a
  failure of Prometheus (only for a configuration Prometheus cannot be asked with).

Queries are PromQL templates (:data:`DEFAULT_QUERIES`), keyed by ``(metric, stat)``, with
``$selector`` (the slot's label matcher and any extra labels), ``$window`` (the window as
a PromQL duration) and ``$slot`` (the slot's name, escaped for a double-quoted PromQL
string: write ``"$slot"``) substituted. Add or replace templates with ``queries=``.

Examples
--------
>>> from modelship.monitor import PrometheusSource
>>> src = PrometheusSource("http://127.0.0.1:9090", labels={"model": "fraud"})
>>> print(src.render("inference_latency_seconds", "mean", slot="canary", window=60.0))
... # doctest: +NORMALIZE_WHITESPACE
sum(rate(modelship_request_duration_seconds_sum{slot="canary",model="fraud"}[60s])) /
    sum(rate(modelship_request_duration_seconds_count{slot="canary",model="fraud"}[60s]))

A latency quantile is +Inf when its rank is above the highest finite bucket:

>>> plain = PrometheusSource("http://127.0.0.1:9090")
>>> print(plain.render("inference_latency_seconds", "p95", slot="canary", window=60.0))
... # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
histogram_quantile(0.95, sum by (le)
    (rate(modelship_request_duration_seconds_bucket{slot="canary"}[60s])))
unless on() sum(max without (le)
    (rate(..._bucket{slot="canary",le!~"(?i)[+]?inf(inity)?"}[60s])))
    < 0.95 * sum(rate(..._bucket{slot="canary",le=~"(?i)[+]?inf(inity)?"}[60s]))
or on() (vector(+Inf) and on() sum(max without (le) ...) < 0.95 * sum(...))
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import re
import string
import time
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar, NoReturn, Protocol, runtime_checkable

import attrs
import numpy as np
import requests
import urllib3

from modelship._params import Constraint, Constraints, Text, check_parameters, validate_params
from modelship._rollback._constraints import (
    CALLABLE,
    SECONDS,
    SERIES_OF_METRIC,
    SLOT,
    STAT,
    TIME,
    FiniteInterval,
    SequenceOf,
    require,
)
from modelship._rollback._sources import NoData, Outcome, Samples, SourceError, clock_reading
from modelship._shown import ascii_digits, ascii_number, brief, hide_credentials
from modelship.errors import ConfigError, InvalidParameter

__all__ = [
    "DEFAULT_QUERIES",
    "MAX_ANSWER_BYTES",
    "MODEL_LABEL",
    "PrometheusSource",
    "SeriesSource",
    "query_mistake",
]

#: The largest answer read, in bytes after decompression. One series of a range query at
#: Prometheus's own limit of 11,000 points is about 0.4 MB of JSON, and a metric query
#: answers one series; an answer ten times that size is not a metric's, and reading
#: whatever a server sends would cost the watcher its memory.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Bytes asked of the socket per read: a read returns what has arrived, so the deadline
#: is checked between reads even when a server trickles its answer a byte at a time, and
#: each read waits at most what is left before it.
_CHUNK = 64 * 1024

_LATENCY: str = SERIES_OF_METRIC["inference_latency"] or ""

_SERVER_LATENCY = "modelship_request_duration_seconds"
_SERVER_REQUESTS = "modelship_requests_total"
_SERVER_5XX = _SERVER_REQUESTS + '{$selector,code=~"5.."}'


#: ``le`` values of the ``+Inf`` bucket: Prometheus reads ``le`` with Go's ``ParseFloat``
#: (``histogram_quantile`` does too), which takes ``+Inf``, ``inf``, ``+infinity``... in any
#: case; exporters write ``+Inf``, but a hand-written one may not.
_INF_LE = "(?i)[+]?inf(inity)?"


def _quantile(q: str) -> str:
    """The ``q`` quantile of the server's latency histogram, +Inf when it is above the
    highest finite bucket.

    ``histogram_quantile`` alone answers the highest finite bucket's upper bound when the
    quantile's rank falls in the ``+Inf`` bucket (a slot whose every request takes 30 s
    reads 10 s with buckets up to 10 s), which would pass
    ``p95(inference_latency_seconds) > 15s``. Buckets are
    cumulative, so each series' highest finite bucket counts the largest of its finite
    ones (whatever buckets it has), and the rank is above every finite bucket exactly
    when the sum of those counts is under ``q`` times the ``+Inf`` buckets': then the
    answer is +Inf. Per series, not per ``le`` value: two servers of a slot may spell a
    bound differently (``30.0`` and ``30``, which ``histogram_quantile`` reads as one) or
    have different buckets (a rollout from 10 s to 120 s), and one's top bucket is then
    no ``le`` the other has. A rank equal to the sum stays finite, and a slot without
    traffic (0 < 0 is false) stays NaN, NoData.
    """
    bucket = f"rate({_SERVER_LATENCY}_bucket{{$selector"
    quantile = f"histogram_quantile({q}, sum by (le) ({bucket}}}[$window])))"
    above = (
        f'sum(max without (le) ({bucket},le!~"{_INF_LE}"}}[$window]))) '
        f'< {q} * sum({bucket},le=~"{_INF_LE}"}}[$window]))'
    )
    return f"{quantile} unless on() {above} or on() (vector(+Inf) and on() {above})"


#: PromQL templates by ``(metric, stat)``. The keys are the names users write in
#: conditions (``p95(inference_latency_seconds) > 0.2``, ``error_rate > 1%``); the
#: templates read the series the model server really exposes
#: (:mod:`modelship.deploy.serve`): the ``modelship_request_duration_seconds``
#: histogram and the ``modelship_requests_total`` counter (labelled ``code``), summed
#: over endpoints and selected by the ``slot`` label that ``modelship serve --slot``
#: adds (the LocalDeployer passes it; on a platform that runs the plain server, add the
#: label at scrape time with a ``relabel_configs`` rule). A ``"count"`` template gives
#: the sample size behind the other statistics of its metric (for ``request_rate``, the
#: requests it measures: a condition on the amount of traffic, ``request_rate`` or
#: ``count(...)``, is judged without ``min_samples``; a slot without any series is
#: NoData for it too, not zero traffic: Prometheus cannot see the slot, which may be
#: gone, unscraped or mislabelled). A latency quantile whose rank is above the highest
#: finite bucket is +Inf, not that bucket's upper bound (``histogram_quantile`` alone
#: answers the bound: a slot whose requests all take 30 s would read 10 s with buckets up
#: to 10 s); whatever buckets each server has, however it spells ``le``. ``error_rate`` counts
#: answers with a 5xx status (the model raised, or the server was not ready) among all
#: answered inference requests; 4xx answers are the caller's mistakes. Errors use ``or
#: vector(0)``: a slot that served requests but never failed has no 5xx series yet.
DEFAULT_QUERIES: Mapping[tuple[str, str], str] = {
    (_LATENCY, "p50"): _quantile("0.5"),
    (_LATENCY, "median"): _quantile("0.5"),
    (_LATENCY, "p90"): _quantile("0.9"),
    (_LATENCY, "p95"): _quantile("0.95"),
    (_LATENCY, "p99"): _quantile("0.99"),
    (_LATENCY, "mean"): (
        f"sum(rate({_SERVER_LATENCY}_sum{{$selector}}[$window])) / "
        f"sum(rate({_SERVER_LATENCY}_count{{$selector}}[$window]))"
    ),
    (_LATENCY, "count"): f"sum(increase({_SERVER_LATENCY}_count{{$selector}}[$window]))",
    ("error_rate", "mean"): (
        f"(sum(rate({_SERVER_5XX}[$window])) or vector(0)) / "
        f"sum(rate({_SERVER_REQUESTS}{{$selector}}[$window]))"
    ),
    ("error_rate", "count"): f"sum(increase({_SERVER_REQUESTS}{{$selector}}[$window]))",
    ("request_rate", "mean"): f"sum(rate({_SERVER_REQUESTS}{{$selector}}[$window]))",
    ("request_rate", "count"): f"sum(increase({_SERVER_REQUESTS}{{$selector}}[$window]))",
}

#: The label the model server puts on its series with the model's name
#: (:class:`~modelship.deploy.serve._metrics.ServerMetrics`): a watch that knows the model
#: (``modelship monitor watch --model``, :func:`~modelship.monitor.watch` of a rollout, the
#: gates of :mod:`~modelship.monitor._gate`) selects on it in the queries of the server's
#: own series (:meth:`PrometheusSource.for_model`), since slot names (blue/green) are
#: shared by models.
MODEL_LABEL = "model"

#: A template reads the model server's own series when it names one of them: they are all
#: named ``modelship_...`` (every template of :data:`DEFAULT_QUERIES` does). Only those
#: carry :data:`MODEL_LABEL`; an application's own series (``shop_orders_total``) do not.
#: A ``$selector`` (or ``${selector}``) right after the name of a model server's series:
#: ``modelship_requests_total{$selector}``. Only these carry the ``model`` label.
_SERVER_SELECTOR = re.compile(
    r"(?<![A-Za-z0-9_:])(modelship_[A-Za-z0-9_:]*)\{\$(?:selector\b|\{selector\})"
)


def _scoped(template: str) -> str:
    """``template`` with each ``$selector`` of a model server's series (``modelship_...``)
    as ``$model_selector``, which :meth:`PrometheusSource.for_model` scopes to the model;
    an application series beside it, a label value or a comment naming ``modelship_``
    are left alone.

    Examples
    --------
    >>> _scoped("sum(rate(modelship_requests_total{$selector}[$window]))")
    'sum(rate(modelship_requests_total{$model_selector}[$window]))'
    >>> _scoped("sum(rate(shop_orders_total{$selector,job='modelship_x'}[$window]))")
    "sum(rate(shop_orders_total{$selector,job='modelship_x'}[$window]))"
    """
    return _SERVER_SELECTOR.sub(lambda m: m.group(1) + "{$model_selector", template)


_LABEL_NAME = Text(r"[a-zA-Z_][a-zA-Z0-9_]*", "a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
#: Labels the queries set themselves besides the slot label: the metric name, the
#: histogram buckets the quantiles aggregate by, and the status code error_rate selects.
#: A matcher added on one of them would silently change what a query measures.
OWN_LABELS = ("__name__", "le", "code")
_QUERY_KEY = SequenceOf(Text())
#: What an HTTP header carries (RFC 9110 field-value; latin-1 is what http.client sends):
#: visible characters and spaces inside, no line break or control character, no space at
#: either end. A token read from a file keeps its newline: refused here, it would
#: otherwise make every request fail, as if Prometheus were down.
_HEADER_VALUE = Text(
    r"[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?",
    "text an HTTP header can carry (latin-1 characters, no line break or control "
    "character, no space at either end; strip a token read from a file)",
    refuses=("s3cret\n", "t\u2026ken", "\ttoken"),
)
_HEADER_NAME = Text(
    r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+",
    "an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
    refuses=("Bad Name", "X-Team:"),
)


#: The longest duration Prometheus reads, in milliseconds (about 292 years). Its parser
#: (prometheus/common ``model.ParseDuration``) holds a duration as Go's ``time.Duration``,
#: int64 nanoseconds, and refuses a count of a unit whose nanoseconds overflow it
#: ("duration out of range"): ``9223372036854ms`` and ``9223372036s`` are read,
#: ``9223372036855ms`` and ``9223372037s`` refused (measured on Prometheus 2.42, in
#: ``[...]`` and as ``timeout``). A range query's ``step``, sent in seconds, is read up to
#: 2**63 ns: the bound is short of that by under a millisecond.
MAX_DURATION_MS = (2**63 - 1) // 1_000_000


def _check_duration(seconds: float, what: str) -> int:
    """``seconds`` in whole milliseconds (at least 1), or a ConfigError naming ``what``
    if Prometheus cannot read it as a duration: a question it refuses at every
    evaluation would read as an outage, and roll back at the error limit."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"{what} must be a positive number of seconds, got {seconds!r}")
    # Bounded before it is rounded: past ~1.8e305 s the milliseconds are inf.
    milliseconds = max(1, round(min(seconds * 1000, MAX_DURATION_MS + 1)))
    if milliseconds > MAX_DURATION_MS:
        raise ConfigError(
            f"{what} of {seconds!r} s is longer than any duration Prometheus reads (at "
            f"most {MAX_DURATION_MS / 1000:.3f} s, about 292 years: Go's time.Duration); "
            "give a shorter one"
        )
    return milliseconds


def _duration(seconds: float, what: str = "a window") -> str:
    """A PromQL duration: whole seconds as ``60s``, otherwise milliseconds.

    Raises
    ------
    ConfigError
        If ``seconds`` is not positive, or longer than :data:`MAX_DURATION_MS`.
    """
    milliseconds = _check_duration(seconds, what)
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{milliseconds}ms"


def _escape(value: str) -> str:
    """``value`` as the content of a double-quoted PromQL string.

    U+FFFD is written as ``\\ufffd``: Prometheus's lexer takes a literal one for a bad
    UTF-8 byte and refuses the whole query (``invalid UTF-8 rune``), which would read as
    an outage at every evaluation.
    """
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\ufffd", "\\ufffd")
    )


def _quote(value: str) -> str:
    return '"' + _escape(value) + '"'


def _check_utf8(name: str, value: str) -> None:
    """Refuse text that cannot be sent: the query is sent as UTF-8, and a lone surrogate
    (what ``os.fsdecode`` makes of bytes that are not UTF-8) has no UTF-8 encoding."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(
            f"{name}={brief(value)} is not allowed: {exc.object[exc.start : exc.end]!r} at "
            f"position {exc.start} has no UTF-8 encoding (bytes decoded with "
            "surrogateescape?); give text Prometheus can read"
        ) from None


def _check_window(start: float, end: float, *, allow_empty: bool = False) -> None:
    if end < start or (end == start and not allow_empty):
        raise ConfigError(f"the window ({start!r}, {end!r}] is empty: end must come after start")


#: Steps Prometheus answers at most per series of a range query: its ``query_range``
#: refuses a range whose ``(end - start) / step`` is more ("exceeded maximum resolution
#: of 11,000 points per timeseries"), which is up to 11,001 points; a question over more
#: is one it can never answer.
MAX_POINTS = 11_000


def _go_round(x: float) -> float:
    """Go's ``math.Round``: to the nearest integer, half away from zero (exact: the
    fractional part of a float is exact, so no addition of 0.5 rounds it up early)."""
    whole = math.trunc(x)
    if abs(x - whole) >= 0.5:
        whole += 1 if x > 0 else -1
    return float(whole)


def _go_time_ns(t: float) -> int:
    """``t`` as Prometheus parses a time given in seconds (``parseTime``), in nanoseconds.

    The same IEEE double operations as its Go source, so the same result bit for bit::

        s, ns := math.Modf(t)                  // whole seconds, fraction
        ns = math.Round(ns*1000) / 1000        // to the millisecond, half away from zero
        time.Unix(int64(s), int64(ns*float64(time.Second)))   // truncated to an integer
    """
    fraction, whole = math.modf(t)  # Python's modf answers (fraction, whole), Go's the reverse
    fraction = _go_round(fraction * 1000) / 1000
    return int(whole) * 1_000_000_000 + int(fraction * 1e9)


def _steps(first: float, last: float, step: float) -> int | None:
    """``(end - start) / step`` exactly as Prometheus computes it (``end.Sub(start) / step``
    of Go durations: integer nanoseconds, the step truncated, the quotient truncated);
    None for a step Prometheus reads as zero."""
    step_ns = int(step * 1e9)  # Go's time.Duration(float64): truncated
    if step_ns <= 0:
        return None
    return (_go_time_ns(last) - _go_time_ns(first)) // step_ns


def _range(start: float, end: float, step: float) -> tuple[float, float]:
    """The times :meth:`PrometheusSource.fetch_series` sends for the window.

    Prometheus keeps times to the millisecond and rounds: they are floored, so that no
    point lands after ``end``. A window of one step (``end - start`` a rounding error
    short of it) has its one point at ``last``.
    """
    last = math.floor(end * 1000) / 1000
    first = min(math.floor((start + step) * 1000) / 1000, last)
    return first, last


def _steps_any_start(window: float, step: float) -> int | None:
    """The most steps :func:`_steps` counts for a window of ``window`` seconds, whatever
    its start: the times sent are floored to the millisecond, so the span between them
    is ``window - step`` to within a millisecond either way, and at worst rounded up.
    (:func:`_check_points` refuses a window too long for any step before counting.)"""
    step_ns = int(step * 1e9)
    if step_ns <= 0:
        return None
    # round(): the float error of the subtraction must not add a millisecond of its own.
    span_ms = max(0, math.ceil(round((window - step) * 1000, 6)))
    return span_ms * 1_000_000 // step_ns


def _least_step(start: float, end: float, counted: Callable[[float], int | None]) -> float:
    """The smallest step of three significant digits whose range for the window
    Prometheus answers: the one the refusal suggests, so that following it works."""
    need = Decimal(repr((end - start) / (MAX_POINTS + 1)))
    unit = Decimal(1).scaleb(need.adjusted() - 2)  # one in the third significant digit
    candidate = (need / unit).to_integral_value(rounding=ROUND_CEILING) * unit
    for _ in range(1000):  # bounded: a few units more at most (the milliseconds sent)
        steps = counted(float(candidate))
        if steps is not None and steps <= MAX_POINTS:
            break
        candidate += unit
    return float(candidate)


def _check_points(start: float, end: float, step: float, *, any_start: bool = False) -> None:
    """Refuse a range Prometheus refuses: ``(end - start) / step`` of the times sent over
    :data:`MAX_POINTS` (``any_start``: for a window of ``end - start`` seconds starting
    anywhere, as a question checked before its times are known is). A window too long
    for even the longest step Prometheus reads (:data:`MAX_DURATION_MS`) is refused as
    such, not with a step it would refuse in turn."""

    def counted(step: float) -> int | None:
        if any_start:
            return _steps_any_start(end - start, step)
        return _steps(*_range(start, end, step), step)

    longest = MAX_DURATION_MS / 1000
    # Compared before anything is counted (past ~1.8e305 s a window's milliseconds are
    # inf): even at the longest step Prometheus reads, a longer window has too many points.
    if not end - start <= (MAX_POINTS + 2) * longest:
        _refuse_window(start, end, step)
    steps = counted(step)
    if steps is None or steps > MAX_POINTS:
        least = _least_step(start, end, counted)
        if least > longest:
            _refuse_window(start, end, step)
        shown = "a step under a nanosecond" if steps is None else f"{steps} steps"
        where = " (at the least favourable start: times are sent to the millisecond)"
        raise ConfigError(
            f"a window of {end - start:g} s at step={step:g} s is a range of {shown} per "
            f"series ((end - start) / step of the times sent, the first a step after the "
            f"window's start{where if any_start else ''}); Prometheus refuses more than "
            f"{MAX_POINTS}: raise the step to at least {least:g} s or shorten the window"
        )


def _refuse_window(start: float, end: float, step: float) -> NoReturn:
    """The ConfigError of a window too long for any step Prometheus reads."""
    raise ConfigError(
        f"a window of {end - start:g} s at step={step:g} s is longer than any range "
        f"Prometheus answers: at most {MAX_POINTS} steps of at most "
        f"{MAX_DURATION_MS / 1000:.3f} s (the longest duration it reads, about 292 years: "
        "Go's time.Duration); shorten the window"
    )


#: The end of the message of an answer with several series where a template must give one
#: (:func:`query_mistake` knows it by this).
_SEVERAL_SERIES = "the template must aggregate to one (e.g. sum by (le) (...))"

#: Seconds the source's clock may differ from Prometheus's when a watch starts
#: (:meth:`PrometheusSource.check_clock`): beyond it, windows computed on one clock and
#: read on the other miss their last seconds or judge late ones.
MAX_CLOCK_SKEW = 5.0

#: HTTP statuses after which a query is asked once more (:meth:`PrometheusSource._ask`):
#: a proxy's bad gateway, a server unavailable for a moment, a gateway's timeout. A
#: refused or reset connection is asked again too.
RETRIED = frozenset({502, 503, 504})
#: Seconds waited before asking again, at most (a tenth of ``timeout`` when shorter).
_RETRY_PAUSE = 0.1
#: The least time worth a second request (what is left of ``timeout``).
_LEAST_RETRY = 0.01

#: Kinds of failure of a request Prometheus did not answer (an outage, not a mistake).
_UNANSWERED = frozenset({"connection", "timeout", "tls", "http"})


def query_mistake(error: SourceError, *, several: bool = True) -> str | None:
    """Why ``error`` is a mistake in the query that asking again can never mend, or None
    (an outage, or an answer that may come out differently next time).

    Two are: Prometheus's ``bad_data`` (the query does not parse, or a parameter is
    refused: a custom template's typo answers so at every evaluation) and a template's
    answer with several series for one slot (it does not aggregate). Counted as source
    errors, they would roll a healthy version back after ``error_limit`` evaluations.
    With ``several=False`` an answer with several series is not one: during a watch
    whose start-up probe had one series, a second one is a change of what is scraped (a
    second pod, a replaced one), which the watch counts as that condition's source error.

    Examples
    --------
    >>> from modelship.monitor import SourceError
    >>> err = SourceError("m", "green", start=0, end=60, error_type="bad_data",
    ...                   message="parse error: unclosed left parenthesis")
    >>> query_mistake(err)
    'Prometheus cannot run the query (bad_data): parse error: unclosed left parenthesis'
    >>> query_mistake(SourceError("m", "green", start=0, end=60, error_type="timeout",
    ...                           message="5 s")) is None
    True
    """
    if error.error_type == "bad_data":
        return f"Prometheus cannot run the query (bad_data): {error.message}"
    if several and error.error_type == "bad_response" and error.message.endswith(_SEVERAL_SERIES):
        return error.message
    return None


def _too_large(size: int | str) -> str:
    return (
        f"the answer is {size} bytes or more, above MAX_ANSWER_BYTES={MAX_ANSWER_BYTES}: "
        "not one metric's; check that the query aggregates to one series"
    )


@attrs.frozen
class _Failure:
    """Why a request got no whole answer: a :class:`SourceError`'s type and message (the
    user information of any URL in it hidden: a message names the URL, and the URL may
    carry the basic-auth password requests sends, ``http://admin:pw@prom:9090``)."""

    kind: str
    message: str = attrs.field(converter=hide_credentials)
    status: int | None = None


def _counted(outcome: Samples, count: Samples | NoData, stat: str) -> Samples | SourceError:
    """``outcome`` with its sample size: the last point of ``count``, rounded (0 when there
    is none, or it is not finite). A negative count (a template built on ``delta()`` over a
    counter reset) is no sample size at all: a ``bad_response``, not a decision's input."""
    if not isinstance(count, Samples):
        return attrs.evolve(outcome, count=0)
    last = float(count.values[-1])
    if last < 0:
        return SourceError(
            outcome.metric,
            outcome.slot,
            start=outcome.start,
            end=outcome.end,
            stat=stat,
            error_type="bad_response",
            message=(
                f"the count of {outcome.metric} is {last:g}; a count is never negative "
                "(build its query on increase(), not delta())"
            ),
        )
    warnings = outcome.warnings if count is outcome else outcome.warnings + count.warnings
    n = round(last) if math.isfinite(last) else 0
    return attrs.evolve(outcome, count=n, warnings=warnings)


class _Pair(Constraint):
    """Two strings: a user name and a password, or a certificate and its key."""

    def is_satisfied_by(self, value: object) -> bool:
        return (
            isinstance(value, tuple | list)
            and len(value) == 2
            and all(isinstance(item, str) for item in value)
        )

    def __str__(self) -> str:
        return "a pair of strings"

    def invalid_values(self) -> tuple[object, ...]:
        return ("user:password", ("user",), ("user", 5))


_PAIR = _Pair()


def _check_strings(name: str, value: object) -> None:
    """``value`` is None or a mapping of non-empty strings to strings."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{name}={brief(value)} is not allowed; {name} must be a mapping of names to strings"
        )
    for key, item in value.items():
        require(f"a key of {name}", key, Text())
        require(f"{name}[{brief(key)}]", item, str)


class _NotShown:
    """Stands for a refused value that may be a credential, in an error's message."""

    def __repr__(self) -> str:
        return "<not shown: it may be a credential>"


def _check_secret_header(name: str, value: object) -> None:
    """``value`` is text an HTTP header can carry; the refusal never shows it (a token, an
    API key: the error reaches logs and CI output)."""
    if not (isinstance(value, str) and _HEADER_VALUE.is_satisfied_by(value)):
        raise InvalidParameter(name, _NotShown(), str(_HEADER_VALUE))


def _check_headers(headers: object) -> None:
    _check_strings("headers", headers)
    assert headers is None or isinstance(headers, Mapping)
    for name, value in (headers or {}).items():
        require("a key of headers", name, _HEADER_NAME)
        if value:  # an empty value is a header sent empty
            _check_secret_header(f"headers[{brief(name)}]", value)


def _check_basic_auth(basic_auth: object) -> None:
    require("basic_auth", basic_auth, None, _PAIR)
    for part in basic_auth if isinstance(basic_auth, tuple | list) else ():
        try:
            part.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigError(
                "basic_auth is not allowed: requests sends the user and the password as "
                "latin-1, and one of them (not shown) has a character outside it; use "
                "bearer_token or headers= for such credentials"
            ) from None


def _check_labels(labels: object, slot_label: str) -> None:
    _check_strings("labels", labels)
    assert labels is None or isinstance(labels, Mapping)
    for name, value in (labels or {}).items():
        require("a key of labels", name, _LABEL_NAME)
        _check_utf8(f"labels[{name!r}]", value)
        if name == slot_label or name in OWN_LABELS:
            raise ConfigError(
                f"labels={{{name!r}: ...}} is not allowed: the source sets {name!r} itself "
                f"(the slot label is {slot_label!r}; the queries set {', '.join(OWN_LABELS)}); "
                "a matcher on it would make the slots' queries the same. Pass the slot to "
                "fetch(), or choose another slot_label"
            )


def _check_queries(queries: object) -> None:
    if queries is None:
        return
    if not isinstance(queries, Mapping):
        raise ConfigError(
            f"queries={brief(queries)} is not allowed; queries must be a mapping of "
            "(metric, stat) to a PromQL template"
        )
    for key, template in queries.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ConfigError(
                f"a key of queries is {brief(key)}; each key is a (metric, stat) pair of strings"
            )
        require("a key of queries", key, _QUERY_KEY)
        require(f"the statistic of queries key {brief(key)}", key[1], STAT)
        require(f"queries[{brief(key)}]", template, Text())
        _check_utf8(f"queries[{brief(key)}]", template)


def _check_url(url: str) -> None:
    """Refuse a URL requests cannot send to, or would send elsewhere than meant: one that
    does not parse (a port out of range), without a host, or with a query or a fragment
    (the API path is appended to the URL, and would land inside them). Messages show
    the URL without its user information (a password)."""
    shown = brief(hide_credentials(url))
    try:
        parsed = urllib3.util.parse_url(url)
        requests.Request("POST", url + "/api/v1/query").prepare()
    except (ValueError, UnicodeError, requests.exceptions.RequestException) as exc:
        raise ConfigError(
            f"url={shown} is not a URL requests can send to: {hide_credentials(str(exc))}"
        ) from None
    if not parsed.host:
        raise ConfigError(f"url={shown} has no host; give http://host:port")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigError(f"url={shown} has port {parsed.port}, outside 1-65535")
    if parsed.query is not None or parsed.fragment is not None:
        raise ConfigError(
            f"url={shown} has a query or a fragment ('?' or '#'); give the base URL of "
            "Prometheus (with its path prefix, if any): the API path is appended to it"
        )


def _check_path(name: str, path: object, *, folder: bool = False) -> None:
    """A TLS file given by path: a non-empty string naming a file (or, with ``folder``,
    a folder: ``verify`` may name a folder of CA files) that exists; requests would
    otherwise fail at every request, which reads as an outage rather than a mistake,
    and an empty string would turn verification off."""
    if not isinstance(path, str) or not path:
        raise ConfigError(
            f"{name}={brief(path)} is not allowed; give the path of a file (an empty string "
            "would turn TLS verification off: pass verify=False to mean that)"
        )
    if not os.path.exists(path):
        raise ConfigError(f"{name}={brief(path)} is not allowed: no such file or directory")
    if not folder and not os.path.isfile(path):
        raise ConfigError(f"{name}={brief(path)} is not allowed: it is not a file")


def _check_tls(verify: object, cert: object) -> None:
    require("verify", verify, bool, str)
    require("cert", cert, None, str, _PAIR)
    if isinstance(verify, str):
        _check_path("verify", verify, folder=True)  # a CA bundle, or a folder of CA files
    if isinstance(cert, str):
        _check_path("cert", cert)
    elif cert is not None:
        assert isinstance(cert, tuple | list)
        _check_path("cert[0]", cert[0])
        _check_path("cert[1]", cert[1])


class _OwnAuthorization(requests.auth.AuthBase):
    """Leaves the request's ``Authorization`` header (the source's own) as it is, so that
    neither the session's ``auth`` nor a ``.netrc`` entry replaces it."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


@runtime_checkable
class SeriesSource(Protocol):
    """An optional ability: points of a statistic over a window at a fixed step.

    Canary analysis uses it to get a series to compare (one point per step) from a
    source that cannot return raw observations.

    Examples
    --------
    >>> from modelship.monitor import InMemorySource, PrometheusSource, SeriesSource
    >>> isinstance(PrometheusSource("http://127.0.0.1:9"), SeriesSource)
    True
    >>> isinstance(InMemorySource(), SeriesSource)   # answers raw observations instead
    False
    """

    def fetch_series(  # noqa: PLR0913 - MetricSource protocol signature, fixed by the interface
        self, metric: str, *, slot: str, start: float, end: float, stat: str, step: float
    ) -> Outcome:
        """Points of ``stat`` every ``step`` seconds over ``(start, end]``."""
        ...


#: A request's time limit: positive, and at most 2**31 - 1 seconds (68 years). A longer one
#: overflows the socket's time limit (``OverflowError`` from ``settimeout`` at ~9.2e9 s).
_TIMEOUT = FiniteInterval(float, 0, 2**31 - 1, closed="right")


class PrometheusSource:
    """Metrics from Prometheus's HTTP API.

    Parameters
    ----------
    url : str
        Base URL of the Prometheus server (``http://prometheus:9090``), without
        ``/api/v1``.
    queries : mapping, optional
        Templates by ``(metric, stat)`` added to (or replacing) :data:`DEFAULT_QUERIES`.
        A template may use ``$selector``, ``$window`` and ``$slot``.
    slot_label : str
        The label that tells the slots apart (``slot``).
    labels : mapping, optional
        Extra equality matchers added to every selector (``{"model": "fraud"}``), also
        those of templates over the application's own series; to select a model only in
        the model server's series, use :meth:`for_model`.
    timeout : float
        Seconds a request may take from connecting to the end of the answer (a server
        that trickles its answer is given up then): the connection and the wait for
        the answer's headers share it, and each read of the body waits on the socket
        at most what is left of it when the read begins. (A read of a chunked or
        compressed answer may wait more than once, each time up to that: a server
        that trickles the chunk sizes or the gzip header a byte at a time can stretch
        that one read.) Also sent to Prometheus as the query's own ``timeout``.
    bearer_token : str, optional
        Sent as ``Authorization: Bearer ...``; latin-1 text without a line break or a
        space at either end (strip a token read from a file).
    basic_auth : (str, str), optional
        User and password for HTTP basic authentication.
    verify : bool or str
        TLS verification: ``True``, ``False``, or the path of a CA bundle (a file or a
        directory, which must exist; an empty string is refused, not read as False).
    cert : str or (str, str), optional
        Client certificate (and key) for mutual TLS: paths of existing files.
    headers : mapping, optional
        Extra headers (e.g. ``X-Scope-OrgID`` for a multi-tenant front end).
    session : requests.Session, optional
        A session to use (connection pooling, proxies); one is created otherwise. The
        source never changes it: its token, user and password and ``headers`` are sent
        with each of its own requests only, so neither other requests made with the
        session nor other sources sharing it carry them; :meth:`close` closes only a
        session the source created.
    clock : callable, optional
        The source's clock (``time.time``).

    Raises
    ------
    ConfigError
        If both ``bearer_token`` and ``basic_auth`` are given, the URL is not http(s),
        does not parse (a port outside 1-65535), has no host or has a query or a
        fragment, ``verify`` or ``cert`` names no existing file (or is empty), a label
        name is invalid or one the source sets itself (the slot label,
        :data:`OWN_LABELS`), a label value or a template is not a string (or not UTF-8
        text), a query's statistic is not one a condition reads, the token, a header
        or the user and password cannot be sent in HTTP headers, or the clock is not
        what is described above.

    Examples
    --------
    >>> from modelship.monitor import PrometheusSource
    >>> import certifi                                  # a CA bundle that exists
    >>> src = PrometheusSource("https://prom.example:9090", bearer_token="t0k3n",
    ...                        verify=certifi.where(), timeout=2.0)
    >>> src.url
    'https://prom.example:9090'
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "url": Text(r"https?://\S+", "an http:// or https:// URL", refuses=("localhost:9090",)),
        "slot_label": Text(r"[a-zA-Z_][a-zA-Z0-9_]*", "a Prometheus label name"),
        "timeout": _TIMEOUT,
    }

    def __init__(  # noqa: PLR0913 - public constructor: keyword-only query, label, auth and TLS options of a Prometheus client
        self,
        url: str,
        *,
        queries: Mapping[tuple[str, str], str] | None = None,
        slot_label: str = "slot",
        labels: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            check_parameters(self, url=url, slot_label=slot_label, timeout=timeout)
        except InvalidParameter as exc:  # a URL's password (requests sends it) is not shown
            if exc.parameter != "url" or not isinstance(url, str):
                raise
            raise InvalidParameter("url", hide_credentials(url), exc.allowed) from None
        if bearer_token is not None:
            _check_secret_header("bearer_token", bearer_token)
        if bearer_token is not None and basic_auth is not None:
            raise ConfigError("give bearer_token or basic_auth, not both")
        if slot_label in OWN_LABELS:
            raise ConfigError(
                f"slot_label={slot_label!r} is a label the queries set themselves "
                f"({', '.join(OWN_LABELS)}); name the label that tells the slots apart"
            )
        _check_labels(labels, slot_label)
        _check_queries(queries)
        _check_headers(headers)
        _check_basic_auth(basic_auth)
        _check_tls(verify, cert)
        require("session", session, None, requests.Session)
        require("clock", clock, CALLABLE)
        _check_url(url)
        self.url = url.rstrip("/")
        self.queries: dict[tuple[str, str], str] = {**DEFAULT_QUERIES, **(queries or {})}
        self.slot_label = slot_label
        self.labels = dict(labels or {})
        #: The model whose series of the model server are read (:meth:`for_model`), or None.
        self.model: str | None = None
        self.timeout = float(timeout)
        self._clock = clock
        self._owns_session = session is None
        self._session = requests.Session() if session is None else session
        # All passed with every request, never set on the session: the caller's session
        # must not carry the source's credentials to other requests (or to another source
        # sharing it), and a session's own verify loses to REQUESTS_CA_BUNDLE.
        self._verify = verify
        self._cert = tuple(cert) if isinstance(cert, list) else cert
        self._headers: requests.structures.CaseInsensitiveDict[str] = (
            requests.structures.CaseInsensitiveDict()
        )
        if bearer_token is not None:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        self._headers.update(headers or {})
        self._auth: tuple[str, str] | requests.auth.AuthBase | None = None
        if basic_auth is not None:
            self._auth = (basic_auth[0], basic_auth[1])
        elif "Authorization" in self._headers:
            self._auth = _OwnAuthorization()

    def now(self) -> float:
        """The source's clock."""
        return clock_reading(self._clock(), "clock")

    def for_model(self, model: str) -> PrometheusSource:
        """This source reading only ``model``'s series of the model server: the matcher
        ``model="<model>"`` (:data:`MODEL_LABEL`) is added to each selector of a
        ``modelship_`` series (``modelship_requests_total{$selector}``: all of
        :data:`DEFAULT_QUERIES`), and only to those: the
        application's own series (a business metric such as ``shop_orders_total``) carry
        no ``model`` label, and the matcher would leave their selectors without a series.
        Itself when its labels give ``model`` already (they go into every selector), else
        a copy (its :attr:`model` set) that shares its session (closing the copy leaves
        the session open).

        Raises
        ------
        ConfigError
            If its labels (or an earlier :meth:`for_model`) give another model, or
            ``model`` is not UTF-8 text.

        Examples
        --------
        >>> from modelship.monitor import PrometheusSource
        >>> src = PrometheusSource("http://127.0.0.1:9", queries={
        ...     ("orders", "mean"): "sum(rate(shop_orders_total{$selector}[$window]))"})
        >>> fraud = src.for_model("fraud")
        >>> print(fraud.render("request_rate", "mean", slot="green", window=60.0))
        sum(rate(modelship_requests_total{slot="green",model="fraud"}[60s]))
        >>> print(fraud.render("orders", "mean", slot="green", window=60.0))
        sum(rate(shop_orders_total{slot="green"}[60s]))
        """
        require("model", model, Text())
        _check_utf8("model", model)
        given = self.labels.get(MODEL_LABEL, self.model)
        if given == model:
            return self
        if given is not None:
            raise ConfigError(
                f"the source's labels give {MODEL_LABEL}={given!r}, but the model watched is "
                f"{model!r}: its queries would judge another model's series; drop the "
                f"{MODEL_LABEL!r} label (the watch adds it) or watch {given!r}"
            )
        if self.slot_label == MODEL_LABEL:
            return self  # the slots are told apart by model: nothing to add
        scoped = copy.copy(self)
        scoped.model = model
        scoped._owns_session = False
        return scoped

    def close(self) -> None:
        """Close the HTTP session if the source created it (a ``session=`` given stays
        open: it is the caller's)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @validate_params(metric=Text(), stat=Text(), slot=SLOT, window=SECONDS)
    def render(self, metric: str, stat: str, *, slot: str, window: float) -> str:
        """The PromQL for ``stat`` of ``metric`` over ``window`` seconds for ``slot``.

        Raises
        ------
        ConfigError
            If no template is known for ``(metric, stat)`` (the message lists the
            statistics that are), the window is not a positive number of seconds or is
            longer than Prometheus reads a duration (:data:`MAX_DURATION_MS`), or the slot
            is not UTF-8 text.
        """
        template = self.queries.get((metric, stat))
        if template is None:
            raise ConfigError(self._no_template(metric, stat))
        _check_utf8("slot", slot)
        matchers = {self.slot_label: slot, **self.labels}
        selector = ",".join(f"{name}={_quote(value)}" for name, value in matchers.items())
        scoped = selector
        if self.model is not None:
            # Only the server's series carry the model label: each of their selectors
            # gets it, an application series' selector in the same template does not.
            template = _scoped(template)
            scoped = f"{selector},{MODEL_LABEL}={_quote(self.model)}"
        duration = _duration(window)  # its own error, not the template's
        try:
            # $slot is escaped as $selector's values are: a quote in a slot's name ends
            # no string, so it cannot add to the query.
            return string.Template(template).substitute(
                selector=selector, model_selector=scoped, window=duration, slot=_escape(slot)
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"the template for {stat}({metric}) has a placeholder other than $selector, "
                f"$window and $slot ({exc}); write a literal $ as $$"
            ) from exc

    def _no_template(self, metric: str, stat: str) -> str:
        """Why ``stat(metric)`` has no query: what has one, the nearest name (a spec's
        ``monitoring.metrics`` name, or a typo), and how to add a template."""
        by_metric: dict[str, list[str]] = {}
        for m, s in self.queries:
            by_metric.setdefault(m, []).append(s)
        known = by_metric.get(metric)
        if known:
            close = difflib.get_close_matches(stat, known, n=1)
            hint = f"known for {metric}: {', '.join(sorted(known))}"
            if close:
                hint += f"; did you mean {close[0]}({metric})?"
        elif metric in SERIES_OF_METRIC and SERIES_OF_METRIC[metric] in by_metric:
            series = SERIES_OF_METRIC[metric]
            hint = (
                f"did you mean {stat}({series})? monitoring.metrics names what the server "
                f"exports ({metric}); a condition names the Prometheus series ({series})"
            )
        elif metric in SERIES_OF_METRIC and SERIES_OF_METRIC[metric] is None:
            hint = (
                f"{metric} is a monitoring.metrics name; the model server exports no "
                "Prometheus series for it: feed it from Python with a source of your own "
                "(CallableSource, RoutedSource)"
            )
        else:
            close = difflib.get_close_matches(metric, list(by_metric), n=1)
            hint = f"did you mean {stat}({close[0]})?" if close else f"no query for {metric}"
        # The others (this metric's statistics are in the hint).
        listed = "; ".join(
            f"{m}: {', '.join(sorted(stats))}"
            for m, stats in sorted(by_metric.items())
            if m != metric
        )
        others = f"templates exist for {listed}; " if listed else ""
        return (
            f"no PromQL template for {stat}({metric}) ({hint}); {others}"
            f"from Python, add one with PrometheusSource(queries={{({metric!r}, {stat!r}): "
            "'...'})"
        )

    def check_question(
        self,
        metric: str,
        *,
        slot: str | None,
        stat: str | None,
        window: float,
        step: float | None = None,
    ) -> None:
        """Raise what :meth:`fetch` (or, with ``step``, :meth:`fetch_series`) of this
        question would raise before asking Prometheus (see
        :class:`~modelship._rollback._sources.QuestionCheck`).

        Raises
        ------
        ConfigError
            If there is no template for ``(metric, stat)`` (or the template or the slot
            is unusable), the window (or ``step``) is longer than Prometheus reads a
            duration (:data:`MAX_DURATION_MS`), or a range :meth:`fetch_series` would
            send for a window of ``window`` seconds (starting at any time: the times are
            sent to the millisecond) has ``(end - start) / step`` over
            :data:`MAX_POINTS`.

        Examples
        --------
        >>> from modelship.monitor import PrometheusSource
        >>> PrometheusSource("http://127.0.0.1:9").check_question(
        ...     "inference_latency_seconds", slot="green", stat="p75", window=60.0)
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: no PromQL template for p75(inference_latency_seconds) ...
        """
        stat = stat or "mean"
        if slot is None:  # not known yet: any name renders the template the same way
            slot = "any"
        if step is None:
            self.render(metric, stat, slot=slot, window=window)
            if stat != "count" and (metric, "count") in self.queries:
                self.render(metric, "count", slot=slot, window=window)
            return
        self.render(metric, stat, slot=slot, window=step)
        _check_points(0.0, window, step, any_start=True)

    @validate_params(most=(None, SECONDS))
    def check_clock(self, most: float | None = None) -> bool:
        """Compare the source's clock with Prometheus's, asking it ``time()`` once at its
        own time: every window is computed on the source's clock and read on
        Prometheus's, so a host clock ahead reads windows partly in Prometheus's future
        (fewer samples than the window holds: no_data, inconclusive) and one behind
        judges every window late.

        Returns whether Prometheus answered (an outage, or an answer that is not one
        number, is not refused here: the watch counts an outage as it counts any).

        Raises
        ------
        ConfigError
            If the clocks differ by more than ``most`` seconds
            (:data:`MAX_CLOCK_SKEW` by default) beyond half the request's round trip,
            naming both times (:class:`~modelship.errors.InvalidParameter`, a
            ConfigError, if ``most`` is not a positive number of seconds).

        Examples
        --------
        >>> from modelship.monitor import PrometheusSource
        >>> with PrometheusSource("http://127.0.0.1:9", timeout=0.5) as src:
        ...     src.check_clock()  # nothing listens there: an outage, not a refusal
        False
        >>> PrometheusSource("http://127.0.0.1:9").check_clock(most="5")
        Traceback (most recent call last):
        ...
        modelship.errors.InvalidParameter: most='5' is not allowed; most must be None or ...
        """
        most = MAX_CLOCK_SKEW if most is None else most
        before = self.now()
        began = time.monotonic()
        # No ``time``: Prometheus evaluates at its own current time.
        answer = self._call("/api/v1/query", {"query": "time()"}, "time()", before, before)
        trip = time.monotonic() - began
        if isinstance(answer, SourceError):
            return answer.error_type not in _UNANSWERED
        result = answer["result"]
        if answer["resultType"] != "scalar" or not isinstance(result, list) or len(result) != 2:
            return True  # not Prometheus's time() (a front end answering otherwise)
        try:
            theirs = float(result[1])
        except (TypeError, ValueError):
            return True
        ours = before + trip / 2
        if math.isfinite(theirs) and abs(theirs - ours) > most + trip / 2:
            ahead = "ahead of" if ours > theirs else "behind"
            raise ConfigError(
                f"the source's clock reads {ours:.3f} and Prometheus's {theirs:.3f} at "
                f"{hide_credentials(self.url)}: this host is {abs(theirs - ours):.1f} s "
                f"{ahead} Prometheus (more than {most:g} s); every window would be read "
                "off its time. Synchronise both clocks (NTP: chrony, systemd-timesyncd) and "
                "watch again"
            )
        return True

    def probe_question(
        self, metric: str, *, slot: str, stat: str | None, window: float, at: float
    ) -> bool:
        """Run the queries of ``stat`` of ``metric`` for ``slot`` over ``window`` seconds
        once, at ``at``, and raise for an answer that shows the query can never be
        answered (:func:`query_mistake`): before a watch starts, a template's mistake is
        refused, not counted as an outage at every evaluation. An outage (no answer, a
        timeout) is not refused here: the watch counts it as it counts any.

        Returns whether Prometheus answered (False: it did not, and probing more
        questions would only wait for it again).

        Raises
        ------
        ConfigError
            If Prometheus refuses a query (``bad_data``) or a query answers several
            series for the slot, or as :meth:`check_question`.
        """
        stat = stat or "mean"
        self.check_question(metric, slot=slot, stat=stat, window=window)
        stats = [stat] + (
            ["count"] if stat != "count" and (metric, "count") in self.queries else []
        )
        for which in stats:
            promql = self.render(metric, which, slot=slot, window=window)
            answer = self.query(promql, at=at)
            outcome = self._outcome(
                answer, metric=metric, slot=slot, start=at - window, end=at, stat=which
            )
            if not isinstance(outcome, SourceError):
                continue
            mistake = query_mistake(outcome)
            if mistake is not None:
                raise ConfigError(
                    f"{which}({metric}) on slot {slot!r} cannot be measured: {mistake}; the "
                    f"query was {promql!r}. Fix its template (queries=) before watching"
                )
            if outcome.error_type in _UNANSWERED:
                return False
        return True

    # --- the API -------------------------------------------------------------------------

    @validate_params(promql=Text(), at=TIME)
    def query(self, promql: str, *, at: float) -> dict[str, Any] | SourceError:
        """Run an instant query; the envelope's ``data`` (plus ``warnings``) or an error.

        Raises
        ------
        ConfigError
            If ``at`` is not a finite time, or ``promql`` is empty or not UTF-8 text.

        Examples
        --------
        >>> from modelship.monitor import PrometheusSource
        >>> src = PrometheusSource("http://127.0.0.1:9", timeout=0.5)   # nothing listens
        >>> src.query("up", at=0.0).error_type
        'connection'
        """
        return self._call(
            "/api/v1/query", {"query": promql, "time": repr(float(at))}, promql, at, at
        )

    @validate_params(promql=Text(), start=TIME, end=TIME, step=SECONDS)
    def query_range(
        self, promql: str, *, start: float, end: float, step: float
    ) -> dict[str, Any] | SourceError:
        """Run a range query; the envelope's ``data`` (plus ``warnings``) or an error.

        Raises
        ------
        ConfigError
            If ``start`` or ``end`` is not a finite time, ``end`` is before ``start``,
            ``step`` is not a positive number of seconds or is longer than Prometheus
            reads (:data:`MAX_DURATION_MS`), or ``promql`` is empty or not UTF-8 text.
        """
        _check_window(start, end, allow_empty=True)
        _check_duration(step, "step")
        params = {
            "query": promql,
            "start": repr(float(start)),
            "end": repr(float(end)),
            "step": repr(float(step)),
        }
        return self._call("/api/v1/query_range", params, promql, start, end)

    def _call(  # noqa: PLR0911 - one return per failure kind (HTTP, JSON, envelope) so each gets its own error type
        self, path: str, params: dict[str, str], promql: str, start: float, end: float
    ) -> dict[str, Any] | SourceError:
        def error(kind: str, message: str, status: int | None = None) -> SourceError:
            return SourceError(
                promql,
                "",
                start=start,
                end=end,
                error_type=kind,
                message=message,
                status_code=status,
            )

        _check_utf8("the query", promql)
        body = self._ask(path, params)
        if isinstance(body, _Failure):
            return error(body.kind, body.message, body.status)
        status, text = body
        try:
            envelope = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: JSON nested beyond the stack
            shown = text[:200].decode("utf-8", "replace")
            if status >= 400:
                return error(
                    "http", f"HTTP {status} without a Prometheus answer: {shown!r}", status
                )
            return error("bad_response", f"not JSON: {shown!r}", status)
        if not isinstance(envelope, dict) or envelope.get("status") not in ("success", "error"):
            return error(
                "bad_response",
                f"no 'status' of success or error in the answer: {str(envelope)[:200]}",
                status,
            )
        if envelope["status"] == "error":
            return error(
                str(envelope.get("errorType") or "unknown"),
                str(envelope.get("error") or "Prometheus reported an error without a message"),
                status,
            )
        data = envelope.get("data")
        if not isinstance(data, dict) or "resultType" not in data or "result" not in data:
            return error(
                "bad_response",
                f"success without data.resultType/result: {str(envelope)[:200]}",
                status,
            )
        warnings = envelope.get("warnings") or []
        if not isinstance(warnings, list):
            warnings = [str(warnings)]
        return {**data, "warnings": [str(w) for w in warnings]}

    def _ask(self, path: str, params: dict[str, str]) -> tuple[int, bytes] | _Failure:
        """:meth:`_exchange`, asked once more after a failure that a second request may
        not meet (:data:`RETRIED`: the connection refused or reset, a 502, 503 or 504 of
        a proxy or of Prometheus) if some of ``timeout`` is left: the two requests share
        it, so a query never takes longer than ``timeout`` in all (a request that timed
        out used all of it, and is not asked again)."""
        started = time.monotonic()
        limit = self.timeout
        body = self._exchange(path, {**params, "timeout": _duration(limit, "timeout")}, limit)
        failed = body.kind == "connection" if isinstance(body, _Failure) else False
        status = body.status if isinstance(body, _Failure) else body[0]
        if not (failed or status in RETRIED):
            return body
        time.sleep(min(_RETRY_PAUSE, limit / 10))
        left = limit - (time.monotonic() - started)
        if left < _LEAST_RETRY:
            return body
        return self._exchange(path, {**params, "timeout": _duration(left, "timeout")}, left)

    def _exchange(
        self, path: str, form: dict[str, str], timeout: float
    ) -> tuple[int, bytes] | _Failure:
        """POST ``form`` to ``path``: the status and the whole body, or what went wrong.

        The answer must be complete within ``timeout`` seconds of connecting and at most
        :data:`MAX_ANSWER_BYTES` long; a redirect is not followed (requests would repeat
        a POST as a GET without its form, and Prometheus would answer that the query is
        empty).
        """
        deadline = time.monotonic() + timeout
        try:
            # POST with a form body: the API accepts it, and long queries fit. A urllib3
            # Timeout(total=) (requests' HTTPAdapter.send takes one as it is): the wait for
            # the answer's headers gets only what the connection left of the timeout.
            response = self._session.post(
                self.url + path,
                data=form,
                headers=self._headers,
                auth=self._auth,
                timeout=urllib3.util.Timeout(total=timeout),  # type: ignore[arg-type]
                verify=self._verify,
                cert=self._cert,
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            return _Failure(
                "timeout", f"no answer from {self.url} within {self.timeout:g} s: {exc}"
            )
        except requests.exceptions.SSLError as exc:
            return _Failure("tls", f"TLS with {self.url} failed (check verify=/cert=): {exc}")
        except requests.ConnectionError as exc:
            return _Failure("connection", f"cannot reach Prometheus at {self.url}: {exc}")
        except (
            UnicodeError,
            requests.exceptions.InvalidHeader,
            requests.exceptions.InvalidURL,
        ) as exc:
            # What was configured cannot be sent: no outage, and no reason to roll back.
            raise ConfigError(
                f"the request to {self.url} cannot be sent: {exc}; check url=, headers=, "
                "bearer_token=, basic_auth= and the proxies of a session="
            ) from exc
        except requests.RequestException as exc:
            return _Failure("connection", f"request to {self.url} failed: {exc}")
        except OSError as exc:  # after RequestException, itself an OSError
            # requests' own check of verify= and cert= paths (a file removed since the
            # source was made): a configuration to mend, not an outage.
            raise ConfigError(
                f"the request to {self.url} cannot be sent: {exc}; check verify= and cert="
            ) from exc
        with response:  # returns the connection to the pool, or closes it
            status = response.status_code
            if 300 <= status < 400:  # the HTTP redirect range
                where = response.headers.get("Location", "nowhere given")
                return _Failure(
                    "http",
                    f"HTTP {status}: {self.url}{path} redirects to {where}; configure the "
                    "final URL (a redirected POST loses its query)",
                    status,
                )
            return self._read(response, deadline)

    def _read(  # noqa: PLR0911 - one return per way an answer is cut short
        self, response: requests.Response, deadline: float
    ) -> tuple[int, bytes] | _Failure:
        status = response.status_code
        # A length that is not ASCII digits ("²" is a digit to str.isdigit, not to int) is
        # taken as absent, as urllib3 takes it: the byte cap below still bounds the read.
        # More digits than the cap has is above it, without int() of them all (which
        # refuses more than 4,300).
        declared = response.headers.get("Content-Length", "")
        if ascii_digits(declared):
            size = ascii_number(declared, len(str(MAX_ANSWER_BYTES)))
            if size is None or size > MAX_ANSWER_BYTES:
                return _Failure("bad_response", _too_large(size or brief(declared)), status)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:  # bounded by the deadline and the byte cap
                left = deadline - time.monotonic()
                if left <= 0:
                    return _Failure(
                        "timeout",
                        f"the answer of {self.url} was not complete within "
                        f"{self.timeout:g} s ({size} bytes read)",
                        status,
                    )
                # This read may wait only what is left. The connection is asked for each
                # time: once the answer is whole it is back in the pool (None here), and
                # another request's socket is not ours to change.
                sock = getattr(getattr(response.raw, "connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(left)
                chunk = response.raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    return _Failure("bad_response", _too_large(size), status)
                chunks.append(chunk)
        except urllib3.exceptions.DecodeError as exc:
            return _Failure("bad_response", f"the answer cannot be decoded: {exc}", status)
        except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
            return _Failure(
                "timeout", f"no more of the answer within {self.timeout:g} s: {exc}", status
            )
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            return _Failure("connection", f"reading the answer of {self.url} failed: {exc}", status)
        return status, b"".join(chunks)

    # --- MetricSource ----------------------------------------------------------------------

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME, stat=(None, Text()))
    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """``stat`` of ``metric`` for ``slot`` over ``(start, end]``, as one point at ``end``.

        The sample size comes from the metric's ``count`` template when it has one.
        Without ``stat`` the metric's ``mean`` template is used.

        Raises
        ------
        ConfigError
            If there is no template for ``(metric, stat)``, ``start`` or ``end`` is not a
            finite time or ``end`` is not after ``start``, the window is longer than
            Prometheus reads a duration (:data:`MAX_DURATION_MS`), or the request cannot
            be sent as configured (a header, the slot).
        """
        stat = stat or "mean"
        _check_window(start, end)
        window = float(end) - float(start)
        promql = self.render(metric, stat, slot=slot, window=window)
        answer = self.query(promql, at=end)
        outcome = self._outcome(answer, metric=metric, slot=slot, start=start, end=end, stat=stat)
        if not isinstance(outcome, Samples):
            return outcome
        if stat == "count":  # the count is its own sample size
            return _counted(outcome, outcome, stat)
        if (metric, "count") not in self.queries:
            return outcome
        counted = self.query(self.render(metric, "count", slot=slot, window=window), at=end)
        count = self._outcome(counted, metric=metric, slot=slot, start=start, end=end, stat="count")
        if isinstance(count, SourceError):
            return attrs.evolve(count, stat=stat)  # the answer for the statistic asked
        return _counted(outcome, count, stat)

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME, stat=Text(), step=SECONDS)
    def fetch_series(  # noqa: PLR0913 - implements the MetricSource protocol signature
        self, metric: str, *, slot: str, start: float, end: float, stat: str, step: float
    ) -> Outcome:
        """Points of ``stat`` every ``step`` seconds, each over the last ``step`` seconds.

        Raises
        ------
        ConfigError
            As :meth:`fetch`, or if ``step`` is not a positive number of seconds, is
            longer than the window or than Prometheus reads a duration
            (:data:`MAX_DURATION_MS`).
        """
        _check_window(start, end)
        if end - start < step - 0.001:  # shorter by more than Prometheus's resolution
            raise ConfigError(
                f"the window ({start!r}, {end!r}] is shorter than step={step!r} s: it has no "
                "point; ask for a longer window or a shorter step"
            )
        _check_points(start, end, step)
        promql = self.render(metric, stat, slot=slot, window=step)
        first, last = _range(start, end, step)
        answer = self.query_range(promql, start=first, end=last, step=step)
        return self._outcome(answer, metric=metric, slot=slot, start=start, end=end, stat=stat)

    def _outcome(  # noqa: PLR0911, PLR0913 - one return per malformed-answer case; keyword-only query context for the error messages
        self,
        answer: dict[str, Any] | SourceError,
        *,
        metric: str,
        slot: str,
        start: float,
        end: float,
        stat: str,
    ) -> Outcome:
        def error(message: str) -> SourceError:
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="bad_response",
                message=message,
            )

        if isinstance(answer, SourceError):
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type=answer.error_type,
                message=answer.message,
                status_code=answer.status_code,
            )
        warnings = tuple(answer["warnings"])
        kind, result = answer["resultType"], answer["result"]
        try:
            if kind == "scalar":
                pairs = [result]
            elif kind in ("vector", "matrix"):
                if not isinstance(result, list):
                    return error(f"a {kind} result must be a list, got {type(result).__name__}")
                if len(result) > 1:
                    return error(
                        f"{stat}({metric}) returned {len(result)} series for slot {slot!r}; "
                        f"{_SEVERAL_SERIES}"
                    )
                if not result:
                    return NoData(
                        metric,
                        slot,
                        start=start,
                        end=end,
                        stat=stat,
                        warnings=warnings,
                        reason=f"Prometheus returned no series for {stat}({metric}) on {slot}",
                    )
                series = result[0]
                if "histogram" in series or "histograms" in series:
                    return error("native histogram samples are not supported; use classic buckets")
                pairs = [series["value"]] if kind == "vector" else list(series["values"])
            else:
                return error(f"resultType {kind!r} is not a number; a metric query must be numeric")
            stamps = np.array([float(p[0]) for p in pairs], dtype=np.float64)
            # Prometheus answers at whole milliseconds: a query at ``end`` may come back up
            # to 0.5 ms after it. Such a point stands for the window ending at ``end``.
            rounded = (stamps > end) & (stamps <= end + 0.001)
            stamps[rounded] = end
            values = np.array([float(p[1]) for p in pairs], dtype=np.float64)  # "NaN", "+Inf"
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return error(f"malformed {kind} result: {exc!r}")
        if not np.isfinite(stamps).all():
            return error(f"a {kind} result has a timestamp that is not a finite time")
        # A caching front end's stale answer, or a clock far off: points outside the
        # window do not measure it.
        inside = (stamps > start) & (stamps <= end)
        outside = int(stamps.size - np.count_nonzero(inside))
        if outside:
            warnings += (
                f"{outside} of {stamps.size} points of {stat}({metric}) on {slot} lie outside "
                f"the window ({start:.3f}, {end:.3f}] asked for and are left out",
            )
            stamps, values = stamps[inside], values[inside]
        keep = ~np.isnan(values)
        dropped = int(values.size - np.count_nonzero(keep))
        if not keep.any():
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                warnings=warnings,
                reason=f"{stat}({metric}) on {slot} is NaN (no traffic in the window?)"
                if values.size
                else f"Prometheus answered {stat}({metric}) on {slot} only with points outside "
                "the window asked for (a stale cache in front of it?)",
            )
        return Samples(
            metric,
            slot,
            values[keep],
            stamps[keep],
            start=start,
            end=end,
            stat=stat,
            dropped=dropped,
            warnings=warnings,
        )
