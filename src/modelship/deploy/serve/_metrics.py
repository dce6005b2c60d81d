"""The server's Prometheus metrics, on a registry of their own (never the global one).

Names follow Prometheus conventions: counters end in ``_total`` (prometheus_client adds
the suffix), durations are in seconds and end in ``_seconds``. Every series carries the
``model`` and ``version`` labels, so a canary's and the stable version's series can be
compared by a query; a server started for a deployment slot (``--slot canary``, which the
LocalDeployer passes) adds a ``slot`` label to every series, which the monitor's default
queries (:data:`modelship.monitor.DEFAULT_QUERIES`) select on. Only the inference
endpoints (``/predict`` and the v2 ``infer``) are timed and counted: probes and scrapes
every few seconds would otherwise drown the latency histogram.
"""

from __future__ import annotations

from typing import Any

from modelship.errors import MissingDependency

__all__ = ["ERROR_KINDS", "INFERENCE_CODES", "LATENCY_BUCKETS", "ServerMetrics"]

INFERENCE_CODES = (200, 400, 404, 413, 415, 500, 503, 504)
"""The HTTP status codes an inference endpoint answers: 200, a client's error (400 a bad
request, 404 an unknown model or version, 413 a body over the limit, 415 a compressed
body), 500 (the model or the server failed), 503 (not ready, saturated, or shutting down)
and 504 (no answer within ``--predict-timeout``). Each one's series exists at zero from
the start."""

ERROR_KINDS = ("client", "model", "not_ready", "saturated", "server", "timeout")
"""The kinds of failed inference requests ``modelship_request_errors_total`` counts."""

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)
"""Histogram buckets (seconds): the thresholds users write in SLOs (0.1, 0.2, 0.5 s) are
bucket edges, so ``histogram_quantile`` and ``le="0.2"`` ratios are exact there. Slow
models (a large language model's answer, a batch of images) get real figures up to two
minutes; a quantile above the last bucket, 120 s, is +Inf in the monitor's default
queries (:data:`modelship.monitor.DEFAULT_QUERIES`), never 120."""


class ServerMetrics:
    """The metrics one model server exposes at ``GET /metrics``.

    Label children are bound once per (endpoint, status) and cached, so the request path
    does a dict look-up and an increment, no label parsing.

    Examples
    --------
    >>> from modelship.deploy.serve._metrics import ServerMetrics
    >>> m = ServerMetrics("fraud", "3")
    >>> m.observe("predict", 200, 0.004, rows=1)
    >>> b'modelship_requests_total{code="200",endpoint="predict",model="fraud",version="3"} 1.0' \\
    ...     in m.exposition()
    True
    >>> m = ServerMetrics("fraud", "3", slot="canary")
    >>> m.observe("predict", 200, 0.004)
    >>> b'modelship_requests_total{code="200",endpoint="predict",model="fraud",slot="canary",' \\
    ...     b'version="3"} 1.0' in m.exposition()
    True
    """

    def __init__(self, model: str, version: str, *, slot: str | None = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError as exc:  # pragma: no cover - the serve extra installs it
            raise MissingDependency(
                "the model server needs prometheus_client: pip install 'modelship[serve]'"
            ) from exc
        self.model = model
        self.version = version
        self.slot = slot
        self.registry = CollectorRegistry(auto_describe=True)
        ids: tuple[str, ...] = ("model", "version")
        self._ids: tuple[str, ...] = (model, version)
        if slot is not None:
            ids, self._ids = (*ids, "slot"), (*self._ids, slot)
        self._requests = Counter(
            "modelship_requests",
            "Inference requests answered, by endpoint and HTTP status code.",
            (*ids, "endpoint", "code"),
            registry=self.registry,
        )
        self._errors = Counter(
            "modelship_request_errors",
            "Inference requests that failed: kind is client (4xx), model (the model "
            "raised), not_ready (503 before the warm-up answered or at shutdown), saturated "
            "(503: --max-queue requests were held already), server (the server failed "
            "reading the request) or timeout (504: no answer within --predict-timeout).",
            (*ids, "endpoint", "kind"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "modelship_request_duration_seconds",
            "Time from the request reaching the app to its response being ready.",
            (*ids, "endpoint"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._rows = Counter(
            "modelship_predicted_rows",
            "Rows (instances) the model predicted.",
            ids,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "modelship_requests_in_flight",
            "Inference requests being handled right now.",
            ids,
            registry=self.registry,
        ).labels(*self._ids)
        self.ready = Gauge(
            "modelship_ready",
            "1 once the model is loaded, verified and answered its warm-up, else 0.",
            ids,
            registry=self.registry,
        ).labels(*self._ids)
        self.log_dropped = Counter(
            "modelship_prediction_log_dropped_rows",
            "Predicted rows not logged: the prediction log's buffer was full, the "
            "request's answer could not be written as JSON, or the rows were not written "
            "by the end of the grace period at shutdown.",
            ids,
            registry=self.registry,
        ).labels(*self._ids)
        self.ready.set(0)
        self._rows_child = self._rows.labels(*self._ids)
        self._request_children: dict[tuple[str, int], Any] = {}
        self._error_children: dict[tuple[str, str], Any] = {}
        self._latency_children: dict[str, Any] = {}
        # The series of both inference endpoints (/predict and the v2 infer) exist at
        # zero from the start, for every code they answer and every kind of error:
        # Prometheus measures no increase for a counter whose first scraped value is
        # already 1, so a slot's first requests (or a burst of 503s while it warms up)
        # would otherwise be invisible to rate() and increase().
        for endpoint in ("predict", "infer"):
            for code in INFERENCE_CODES:
                self._request_children[(endpoint, code)] = self._requests.labels(
                    *self._ids, endpoint, str(code)
                )
            for kind in ERROR_KINDS:
                self._error_children[(endpoint, kind)] = self._errors.labels(
                    *self._ids, endpoint, kind
                )
            self._latency_children[endpoint] = self._latency.labels(*self._ids, endpoint)

    def observe(self, endpoint: str, code: int, seconds: float, rows: int = 0) -> None:
        """Count one answered inference request and time it."""
        key = (endpoint, code)
        child = self._request_children.get(key)
        if child is None:
            child = self._requests.labels(*self._ids, endpoint, str(code))
            self._request_children[key] = child
        child.inc()
        latency = self._latency_children.get(endpoint)
        if latency is None:
            latency = self._latency.labels(*self._ids, endpoint)
            self._latency_children[endpoint] = latency
        latency.observe(seconds)
        if rows:
            self._rows_child.inc(rows)

    def error(self, endpoint: str, kind: str) -> None:
        """Count one failed inference request (one of :data:`ERROR_KINDS`)."""
        key = (endpoint, kind)
        child = self._error_children.get(key)
        if child is None:
            child = self._errors.labels(*self._ids, endpoint, kind)
            self._error_children[key] = child
        child.inc()

    def exposition(self) -> bytes:
        """The text exposition format, as ``GET /metrics`` serves it."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))
