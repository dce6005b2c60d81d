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
* a refused connection, a timeout, or a non-JSON body is a :class:`SourceError` too:
  :meth:`PrometheusSource.fetch` never raises for a failure of Prometheus.

Queries are PromQL templates (:data:`DEFAULT_QUERIES`), keyed by ``(metric, stat)``, with
``$selector`` (the slot's label matcher and any extra labels), ``$window`` (the window as
a PromQL duration) and ``$slot`` substituted. Add or replace templates with ``queries=``.

Examples
--------
>>> from modelship.monitor import PrometheusSource
>>> src = PrometheusSource("http://127.0.0.1:9090", labels={"model": "fraud"})
>>> print(src.render("inference_latency_seconds", "p95", slot="canary", window=60.0))
... # doctest: +NORMALIZE_WHITESPACE
histogram_quantile(0.95, sum by (le)
    (rate(modelship_request_duration_seconds_bucket{slot="canary",model="fraud"}[60s])))
"""

from __future__ import annotations

import math
import string
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np
import requests

from modelship._params import Constraint, Constraints, Text, check_parameters, validate_params
from modelship._rollback._constraints import CALLABLE, SECONDS, SLOT, SequenceOf, require
from modelship._rollback._sources import NoData, Outcome, Samples, SourceError, clock_reading
from modelship._shown import brief
from modelship.errors import ConfigError

__all__ = ["DEFAULT_QUERIES", "PrometheusSource", "SeriesSource"]

_LATENCY = "inference_latency_seconds"
_SERVER_LATENCY = "modelship_request_duration_seconds"
_SERVER_REQUESTS = "modelship_requests_total"
_SERVER_5XX = _SERVER_REQUESTS + '{$selector,code=~"5.."}'


def _quantile(q: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le) "
        f"(rate({_SERVER_LATENCY}_bucket{{$selector}}[$window])))"
    )


#: PromQL templates by ``(metric, stat)``. The keys are the names users write in
#: conditions (``p95(inference_latency_seconds) > 0.2``, ``error_rate > 1%``); the
#: templates read the series the model server really exposes
#: (:mod:`modelship.deploy.serve`): the ``modelship_request_duration_seconds``
#: histogram and the ``modelship_requests_total`` counter (labelled ``code``), summed
#: over endpoints and selected by the ``slot`` label that ``modelship serve --slot``
#: adds (the LocalDeployer passes it; on a platform that runs the plain server, add the
#: label at scrape time with a ``relabel_configs`` rule). A ``"count"`` template gives
#: the sample size behind the other statistics of its metric. ``error_rate`` counts
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

_LABEL_NAME = Text(r"[a-zA-Z_][a-zA-Z0-9_]*", "a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
#: Labels the queries set themselves besides the slot label: the metric name, the
#: histogram buckets the quantiles aggregate by, and the status code error_rate selects.
#: A matcher added on one of them would silently change what a query measures.
OWN_LABELS = ("__name__", "le", "code")
_QUERY_KEY = SequenceOf(Text())


def _duration(seconds: float) -> str:
    """A PromQL duration: whole seconds as ``60s``, otherwise milliseconds."""
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"a window must be a positive number of seconds, got {seconds!r}")
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{max(1, round(seconds * 1000))}ms"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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


def _check_labels(labels: object, slot_label: str) -> None:
    _check_strings("labels", labels)
    assert labels is None or isinstance(labels, Mapping)
    for name in labels or {}:
        require("a key of labels", name, _LABEL_NAME)
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
        require(f"queries[{brief(key)}]", template, Text())


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
        Extra equality matchers added to every selector (``{"model": "fraud"}``).
    timeout : float
        Seconds for connecting and for reading each response; also sent to Prometheus as
        the query's own ``timeout``.
    bearer_token : str, optional
        Sent as ``Authorization: Bearer ...``.
    basic_auth : (str, str), optional
        User and password for HTTP basic authentication.
    verify : bool or str
        TLS verification: ``True``, ``False``, or the path of a CA bundle.
    cert : str or (str, str), optional
        Client certificate (and key) for mutual TLS.
    headers : mapping, optional
        Extra headers (e.g. ``X-Scope-OrgID`` for a multi-tenant front end).
    session : requests.Session, optional
        A session to use (connection pooling, proxies); one is created otherwise.
    clock : callable, optional
        The source's clock (``time.time``).

    Raises
    ------
    ConfigError
        If both ``bearer_token`` and ``basic_auth`` are given, the URL is not http(s), a
        label name is invalid or one the source sets itself (the slot label,
        :data:`OWN_LABELS`), a label value or a template is not a string, or a header or
        the clock is not what is described above.

    Examples
    --------
    >>> from modelship.monitor import PrometheusSource
    >>> src = PrometheusSource("https://prom.example:9090", bearer_token="t0k3n",
    ...                        verify="/etc/ssl/ca.pem", timeout=2.0)
    >>> src.url
    'https://prom.example:9090'
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "url": Text(r"https?://\S+", "an http:// or https:// URL", refuses=("localhost:9090",)),
        "slot_label": Text(r"[a-zA-Z_][a-zA-Z0-9_]*", "a Prometheus label name"),
        "timeout": SECONDS,
        "bearer_token": (None, Text()),
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
        check_parameters(
            self, url=url, slot_label=slot_label, timeout=timeout, bearer_token=bearer_token
        )
        if bearer_token is not None and basic_auth is not None:
            raise ConfigError("give bearer_token or basic_auth, not both")
        if slot_label in OWN_LABELS:
            raise ConfigError(
                f"slot_label={slot_label!r} is a label the queries set themselves "
                f"({', '.join(OWN_LABELS)}); name the label that tells the slots apart"
            )
        _check_labels(labels, slot_label)
        _check_queries(queries)
        _check_strings("headers", headers)
        require("basic_auth", basic_auth, None, _PAIR)
        require("verify", verify, bool, str)
        require("cert", cert, None, str, _PAIR)
        require("session", session, None, requests.Session)
        require("clock", clock, CALLABLE)
        self.url = url.rstrip("/")
        self.queries: dict[tuple[str, str], str] = {**DEFAULT_QUERIES, **(queries or {})}
        self.slot_label = slot_label
        self.labels = dict(labels or {})
        self.timeout = float(timeout)
        self._clock = clock
        self._session = session or requests.Session()
        # Passed with every request: a session's own verify loses to REQUESTS_CA_BUNDLE.
        self._verify = verify
        self._cert = cert
        if basic_auth is not None:
            self._session.auth = basic_auth
        if bearer_token is not None:
            self._session.headers["Authorization"] = f"Bearer {bearer_token}"
        self._session.headers.update(headers or {})

    def now(self) -> float:
        """The source's clock."""
        return clock_reading(self._clock(), "clock")

    def close(self) -> None:
        """Close the HTTP session."""
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
            statistics that are), or the window is not a positive number of seconds.
        """
        template = self.queries.get((metric, stat))
        if template is None:
            known = sorted(s for m, s in self.queries if m == metric)
            hint = f"known for {metric}: {', '.join(known)}" if known else "no query at all"
            raise ConfigError(
                f"no PromQL template for {stat}({metric}) ({hint}); add one with "
                f"PrometheusSource(queries={{({metric!r}, {stat!r}): '...'}})"
            )
        matchers = {self.slot_label: slot, **self.labels}
        selector = ",".join(f"{name}={_quote(value)}" for name, value in matchers.items())
        duration = _duration(window)  # its own error, not the template's
        try:
            return string.Template(template).substitute(
                selector=selector, window=duration, slot=slot
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"the template for {stat}({metric}) has a placeholder other than $selector, "
                f"$window and $slot ({exc}); write a literal $ as $$"
            ) from exc

    # --- the API -------------------------------------------------------------------------

    def query(self, promql: str, *, at: float) -> dict[str, Any] | SourceError:
        """Run an instant query; the envelope's ``data`` (plus ``warnings``) or an error.

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

    def query_range(
        self, promql: str, *, start: float, end: float, step: float
    ) -> dict[str, Any] | SourceError:
        """Run a range query; the envelope's ``data`` (plus ``warnings``) or an error."""
        params = {
            "query": promql,
            "start": repr(float(start)),
            "end": repr(float(end)),
            "step": repr(float(step)),
        }
        return self._call("/api/v1/query_range", params, promql, start, end)

    def _call(  # noqa: PLR0911 - one return per failure kind (timeout, TLS, connection, HTTP, JSON, envelope) so each gets its own error type
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

        params = {**params, "timeout": _duration(self.timeout)}
        try:
            # POST with a form body: the API accepts it, and long queries fit.
            response = self._session.post(
                self.url + path,
                data=params,
                timeout=self.timeout,
                verify=self._verify,
                cert=self._cert,
            )
        except requests.Timeout as exc:
            return error("timeout", f"no answer from {self.url} within {self.timeout:g} s: {exc}")
        except requests.exceptions.SSLError as exc:
            return error("tls", f"TLS with {self.url} failed (check verify=/cert=): {exc}")
        except requests.ConnectionError as exc:
            return error("connection", f"cannot reach Prometheus at {self.url}: {exc}")
        except requests.RequestException as exc:
            return error("connection", f"request to {self.url} failed: {exc}")
        try:
            envelope = response.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested beyond the stack
            body = response.text[:200]
            if response.status_code >= 400:
                return error(
                    "http",
                    f"HTTP {response.status_code} without a Prometheus answer: {body!r}",
                    response.status_code,
                )
            return error("bad_response", f"not JSON: {body!r}", response.status_code)
        if not isinstance(envelope, dict) or envelope.get("status") not in ("success", "error"):
            return error(
                "bad_response",
                f"no 'status' of success or error in the answer: {str(envelope)[:200]}",
                response.status_code,
            )
        if envelope["status"] == "error":
            return error(
                str(envelope.get("errorType") or "unknown"),
                str(envelope.get("error") or "Prometheus reported an error without a message"),
                response.status_code,
            )
        data = envelope.get("data")
        if not isinstance(data, dict) or "resultType" not in data or "result" not in data:
            return error(
                "bad_response",
                f"success without data.resultType/result: {str(envelope)[:200]}",
                response.status_code,
            )
        warnings = envelope.get("warnings") or []
        if not isinstance(warnings, list):
            warnings = [str(warnings)]
        return {**data, "warnings": [str(w) for w in warnings]}

    # --- MetricSource ----------------------------------------------------------------------

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """``stat`` of ``metric`` for ``slot`` over ``(start, end]``, as one point at ``end``.

        The sample size comes from the metric's ``count`` template when it has one.
        Without ``stat`` the metric's ``mean`` template is used.

        Raises
        ------
        ConfigError
            If there is no template for ``(metric, stat)``.
        """
        stat = stat or "mean"
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

    def fetch_series(  # noqa: PLR0913 - implements the MetricSource protocol signature
        self, metric: str, *, slot: str, start: float, end: float, stat: str, step: float
    ) -> Outcome:
        """Points of ``stat`` every ``step`` seconds, each over the last ``step`` seconds."""
        promql = self.render(metric, stat, slot=slot, window=step)
        # Prometheus keeps times to the millisecond and rounds: floor them, so that no
        # point lands after ``end``.
        first, last = math.floor((start + step) * 1000) / 1000, math.floor(end * 1000) / 1000
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
                        "the template must aggregate to one (e.g. sum by (le) (...))"
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
                reason=f"{stat}({metric}) on {slot} is NaN (no traffic in the window?)",
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
