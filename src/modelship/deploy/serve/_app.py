"""The model server's ASGI app: ``/predict``, the Open Inference Protocol (v2), probes, metrics.

Invariants the app keeps:

- It reports ready (``/ready``, ``/v2/health/ready``) only after the model was loaded
  through the registry (which verifies the artifact's digest before deserialising it)
  and answered a warm-up prediction. Until then inference requests get ``503``.
- Bad input never reaches the model and never gets a 500: malformed JSON, a wrong shape,
  non-numeric or missing cells (text such as ``"12.5"``, booleans, a fraction or an
  out-of-range value for a v2 type, an integer float64 cannot hold exactly), v2 data
  nested other than its declared shape, too many features, or a body over the limit
  each get a 4xx JSON error naming the problem. (A boolean *among* numbers is read as 0
  or 1, as numpy reads it: finding it would cost a pass in Python over every cell.) The
  body limit is enforced while reading, so an oversized body is never buffered whole.
- A model that raises gets a 500 JSON answer carrying the request id, and is counted in
  ``modelship_request_errors_total{kind="model"}``. So does one whose answer is not one
  per input row (a list of one array per output, each with one answer per row, as a
  multi-output classifier's ``predict_proba`` or a Keras model's ``[out0, out1]``, is
  first stacked into one array with rows first) or holds complex numbers: an answer is
  never served with rows that may be other inputs' answers. What JSON has no type for
  is answered on ``/predict`` as a v2 ``BYTES`` tensor holds it, and logged so (bytes
  decoded as UTF-8, an integer beyond 64 bits as exact decimal text, a date, time or
  datetime, ``datetime64`` too, in ISO 8601 to the microsecond, a timedelta,
  ``timedelta64`` too, as Python writes one, an Enum as its value, a dataclass or a set
  as its text), never a 500; one nested deeper than JSON writes, or referring to itself,
  is a 500 saying so. A missing value (``None``, NaN, ``pd.NA``, ``NaT``, a masked cell)
  is ``null`` on ``/predict`` and in the log, and a 500 on v2, among text labels too.

The request path does no registry work and converts the request to numpy once: one
float64 array, whatever the v2 datatype (the model sees what the docs promise). Models
whose predictions take under ``offload_seconds`` are called inline on the event loop
(a thread hop would cost more than the prediction); slower ones run on a single worker
thread, so probes, metrics and SIGTERM handling stay responsive while they compute.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import functools
import itertools
import json
import logging
import math
import queue
import reprlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

from modelship._names import check_model_name, check_version
from modelship._request_ids import RequestIds, usable_request_id
from modelship._shown import brief, hide_credentials
from modelship.deploy.serve._config import FINAL_FLUSH_SECONDS, V2_OUTPUTS, ServeConfig
from modelship.deploy.serve._log import (
    MAX_ANSWER_DEPTH,
    LogAbandoned,
    PredictionLog,
    UnwritableAnswer,
    UnwritableBatch,
    bytes_text,
    holds_enum,
    holds_time,
    int_text,
    int_text_budget,
    json_ready,
    json_value,
    plain_text,
    time_cells,
    time_free,
)
from modelship.deploy.serve._metrics import ServerMetrics
from modelship.errors import ConfigError, MissingDependency, ModelshipError, SerializationError
from modelship.registry._import_advice import import_advice as _main_hint

try:
    import orjson
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
except ImportError as _exc:  # pragma: no cover - the serve extra installs them
    raise MissingDependency(
        f"the model server needs the 'serve' extra ({_exc.name} is missing): "
        "pip install 'modelship[serve]'"
    ) from _exc

__all__ = [
    "MAX_DRAIN_BYTES",
    "OFFLOAD_WINDOW",
    "ModelServer",
    "ServerState",
    "create_app",
    "retry_delay",
]

logger = logging.getLogger("modelship.serve")

MAX_DRAIN_BYTES = 64 * 2**20
"""After answering 413, the rest of an oversized body is read and discarded (not kept) up
to this many bytes, so an ordinary client that sends its whole body before reading the
answer gets the 413 on a live connection; beyond it the connection is closed."""

LOG_RETRY_FIRST_SECONDS = 1.0
"""After a failed prediction-log write, the first retry waits this long (or
``flush_seconds`` if shorter); each further failure doubles the wait."""

LOG_RETRY_MAX_SECONDS = 30.0
"""The longest wait between retries of a failing prediction-log store (or
``flush_seconds`` if longer): a store back up is written to within half a minute."""

LOG_ERROR_EVERY_SECONDS = 60.0
"""While the prediction-log store keeps failing, one ERROR line per minute says so."""

LONG_INLINE_CALLS = 50
"""An inline call that took this many times ``offload_seconds`` (0.5 s at the default)
moves the model to the worker thread for good: it held the event loop, and probes with
it, that long, and the next such call would again."""


def retry_delay(failures: int, flush_seconds: float) -> float:
    """Seconds to wait before retrying a prediction-log store after ``failures`` failed
    writes in a row: doubling from 1 s, at most 30 s (bounds moved to ``flush_seconds``
    when it lies outside them).

    Examples
    --------
    >>> from modelship.deploy.serve._app import retry_delay
    >>> [retry_delay(n, 5.0) for n in (1, 2, 3, 5, 6, 20)]
    [1.0, 2.0, 4.0, 16.0, 30.0, 30.0]
    >>> retry_delay(1, 0.2), retry_delay(9, 60.0)
    (0.2, 60.0)
    """
    first = min(LOG_RETRY_FIRST_SECONDS, flush_seconds)
    most = max(LOG_RETRY_MAX_SECONDS, flush_seconds)
    return float(min(most, first * 2 ** min(failures - 1, 64)))


OFFLOAD_WINDOW = 16
"""Inline calls whose median time per row decides whether the model moves to a thread."""

WARMUP_CALLS = 3
"""Timed warm-up predictions after the first (whose one-time costs are not counted); the
fastest sets the first estimate, so one call slowed by a busy machine does not count."""

_P = ParamSpec("_P")
_T = TypeVar("_T")
_JSON = "application/json"
# Datetimes and dataclasses are handed to _json_default (orjson writes them its own way
# otherwise), so that /predict, a v2 BYTES tensor and the log write them one way.
_OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
# _OPTIONS but numpy's: every numpy value is handed to the default, none written natively.
_NO_NUMPY = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_V2_TYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
_SHUTTING_DOWN = (
    "the server is shutting down: the prediction did not finish within its grace period"
)


def v2_datatype(dtype: np.dtype[Any]) -> str:
    """The Open Inference Protocol datatype name of a numpy dtype (``BYTES`` otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.deploy.serve._app import v2_datatype
    >>> v2_datatype(np.dtype("float32")), v2_datatype(np.dtype("int64")), v2_datatype(
    ...     np.dtype("<U3"))
    ('FP32', 'INT64', 'BYTES')
    """
    for name, kind in _V2_TYPES.items():
        if dtype == np.dtype(kind):
            return name
    return "BYTES"


class _ModelThread(Executor):
    """One daemon thread running the model's calls in order (load, warm-up, predictions).

    ``ThreadPoolExecutor``'s threads are joined when the interpreter exits, so a model
    call that hangs kept the process alive past its grace period; this thread is a
    daemon, and :meth:`shutdown` need not wait for it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        # When the call running now began (time.monotonic()), None between calls: written
        # by the thread, read by the event loop (one float or None, swapped whole).
        self.running_since: float | None = None

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot run a call after shutdown")
            self._queue.put((future, functools.partial(fn, *args, **kwargs)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            self.running_since = time.monotonic()
            try:
                result = call()
            except BaseException as exc:  # as ThreadPoolExecutor: the caller gets it
                self.running_since = None
                future.set_exception(exc)
            else:
                self.running_since = None
                future.set_result(result)
            del item, future, call  # a finished call's rows are not kept while it waits

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if cancel_futures:
                    with contextlib.suppress(queue.Empty):
                        while (item := self._queue.get_nowait()) is not None:
                            item[0].cancel()
                self._queue.put(None)
            thread = self._thread
        if wait and thread is not None:
            thread.join()


class ServerState(enum.Enum):
    """Where a server is on its way to serving: readiness is ``READY`` only.

    ``/ready`` answers the state's value (``"state": "loading"`` with a 503 while the model loads).

    Examples
    --------
    >>> from modelship.deploy.serve import ServerState
    >>> ServerState("ready") is ServerState.READY, [s.value for s in ServerState]
    (True, ['starting', 'loading', 'ready', 'failed'])
    """

    STARTING = "starting"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class _BadRequest(Exception):
    """A request the server refuses; becomes a 4xx JSON answer."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        close: bool = False,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        # The metric's kind: client for a 4xx, not_ready for a 503, unless given.
        self.kind = kind if kind is not None else "not_ready" if status == 503 else "client"
        self.headers = headers


class _TimedOut(Exception):
    """The model's answer was not ready within ``predict_timeout``: a 504."""


class _ModelRaised(Exception):
    """Whatever the model's own call raised (a ``GeneratorExit`` or its own
    ``CancelledError`` too), wrapped so only the cancellation of the request itself is
    read as the server shutting down: the model's are a counted JSON 500."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def _raised_by_model(fn: Callable[[Any], Any], x: Any) -> Any:
    """``fn(x)`` on the worker thread, any exception of it a :class:`_ModelRaised`."""
    try:
        return fn(x)
    except BaseException as exc:  # the model's, whatever it is
        raise _ModelRaised(exc) from exc


class _BadAnswer(ValueError):
    """What the model answered cannot be served (not one prediction per row); our own
    words, so the client is told them, unlike the model's own exceptions."""


def _json_default(value: Any) -> Any:
    # orjson serialises numeric C-contiguous arrays itself and falls back here for the
    # rest (object, bytes or text arrays, non-contiguous views, numpy scalars of other
    # kinds, what JSON has no type for), so a numeric answer pays nothing for what follows.
    # What JSON has no type for is written by the log's rule, which a v2 BYTES tensor's
    # text follows too (json_value: bytes decoded, a datetime in ISO 8601, pd.NA as
    # null, a set as its text). An array's cells are handed back to orjson as they are;
    # what it refuses among them is the retry's (_json_ready_default). One holding
    # datetimes or durations (timedelta64, a record's field, in a cell) is written cell by
    # cell: orjson would write a datetime64 itself (time_free says how).
    if isinstance(value, np.ndarray):
        if holds_time(value.dtype):
            return json_ready(value)
        cells = value.tolist()
        return cells if not value.dtype.hasobject or time_free(cells) else json_ready(value)
    return json_value(value)


def _json_ready_default(value: Any) -> Any:
    # The cells of an array of objects through json_ready: an integer beyond 64 bits (which
    # orjson refuses) as exact decimal text, a dict key that is not text (orjson refuses
    # any but str itself) as JSON writes it, a nesting deeper than JSON writes refused.
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSV":
        return json_ready(value)
    return _json_default(value)


def _dumps(content: Any) -> bytes:
    try:
        return orjson.dumps(content, option=_OPTIONS, default=_json_default)
    except orjson.JSONEncodeError:
        # What orjson refuses in an answer of objects: written again, its cells made ready
        # in Python first: json_ready took 30 ms over 10,000 rows of dicts that orjson
        # writes in 0.75 ms, so only an answer that needs it pays for it (measured).
        return orjson.dumps(content, option=_OPTIONS, default=_json_ready_default)


def _predictions(answer: NDArray[Any]) -> Any:
    """An answer (as :func:`_served` gives it) as ``/predict`` hands it to :func:`_dumps`.

    orjson writes a ``datetime64`` array, or scalar, in a cell of an object answer itself
    (``NaT`` as ``"1677-09-21T00:12:43.145224"``, a real-looking date), so an object
    answer holding one at any depth is made ready cell by cell (:func:`json_ready`), as
    the log writes it (and orjson 3.13 stops the process on ``datetime64("1969-12")``).
    Finding none costs almost nothing for cells holding no numpy value (text labels,
    dicts of Python numbers): they are written now, in C, without
    ``OPT_SERIALIZE_NUMPY`` (what it changes is numpy's values only), and that text is
    the answer's (1,000 labels: 8.4 us, 7.9 before). Cells holding numpy values are
    looked into first (:func:`~modelship.deploy.serve._log.time_free`; 1,000 dicts of a
    float64 and an array each: 0.57 ms, 0.16 ms before), then written as before."""
    if answer.dtype.kind != "O":
        return answer  # numbers natively; the rest through _json_default
    cells = answer.tolist()
    if holds_enum(cells):
        # orjson writes an Enum's value itself, never asking the default, and stops the
        # process (SIGSEGV) on one whose value leads back to itself.
        return json_ready(answer)
    # In a list: as {"predictions": [...]} counts the levels orjson refuses beyond.
    try:
        text = orjson.dumps([cells], option=_NO_NUMPY, default=_numpy_refused)
    except orjson.JSONEncodeError:
        try:
            if not time_free(cells):
                return json_ready(answer)
            text = orjson.dumps([cells], option=_OPTIONS, default=_json_default)
        except orjson.JSONEncodeError:  # what orjson refuses, as _dumps retries it
            return json_ready(answer)
    return orjson.Fragment(text[1:-1])


def _model_failed(exc: BaseException, *, writing: bool) -> str:
    """What a request's 500 says of ``exc``, raised calling the model, making its answer
    or, ``writing``, writing it as JSON: the message of a fault of the answer's that the
    server found (:class:`_BadAnswer`, :class:`UnwritableAnswer`, orjson's own reason),
    any other exception's type only (its message may name paths or data)."""
    # orjson.JSONEncodeError is TypeError itself: only one orjson raised writing the
    # answer, of no cause, has a message of its own (a type's name, an integer beyond 64
    # bits), which holds none of the model's.
    orjsons = writing and isinstance(exc, orjson.JSONEncodeError)
    cause = exc.__cause__
    if (orjsons and cause is not None) or (
        isinstance(exc, orjson.JSONEncodeError) and isinstance(cause, UnwritableAnswer)
    ):
        # Raised in _json_default writing the answer: UnwritableAnswer is ours; any other
        # is the answer's own code's (a cell's __str__, a tzinfo's utcoffset), told by
        # its type only, as v2 tells it.
        exc, orjsons = cause, False
    if isinstance(exc, _BadAnswer):  # our own words, without our private class's name
        return f"the model failed: {exc}"
    ours = isinstance(exc, UnwritableAnswer) or orjsons
    said = f": {exc}" if ours else " (the server's log has the details under this request id)"
    return f"the model failed: {type(exc).__name__}{said}"


def _start_failed(exc: BaseException) -> str:
    """What ``/ready`` and the 503s say of ``exc``, raised by the model's own code while
    the server started: its type only (its message may name paths or data).

    Examples
    --------
    >>> _start_failed(ValueError("cannot read /home/x/data.csv"))
    "ValueError (the server's log has its message and traceback)"
    """
    return f"{type(exc).__name__}{_IN_THE_LOG}"


_IN_THE_LOG = " (the server's log has its message and traceback)"


def _load_failed(exc: BaseException) -> str | None:
    """What ``/ready`` and the 503s say of a :class:`SerializationError` raised loading
    the model whose cause is not ours (the model's own unpickling code, a
    ``__setstate__``, raised it): the serializer's own words and the cause's type, without
    the cause's message, which may name paths, data or secrets. None for anything else.

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise ValueError("cannot connect to /home/x/data.csv")
    ...     except ValueError as cause:
    ...         raise SerializationError(
    ...             f"serializer 'joblib' could not read m 1: ValueError: {cause}"
    ...         ) from cause
    ... except SerializationError as exc:
    ...     print(_load_failed(exc))
    SerializationError: serializer 'joblib' could not read m 1: ValueError (the server's log ...)
    """
    cause = exc.__cause__
    if not isinstance(exc, SerializationError) or cause is None:
        return None
    if isinstance(cause, ModelshipError):
        return None
    # The registry's message ends with the cause as `Type: message` (registry/_load.py).
    text, told = str(exc), f": {type(cause).__name__}: {cause}"
    words = text[: -len(told)] if text.endswith(told) else "could not read the model"
    # A module the server lacks is named (by the import's own attribute, not its message):
    # the usual cause, and what the operator installs.
    missing = f" {cause.name!r}" if isinstance(cause, ModuleNotFoundError) and cause.name else ""
    return f"{type(exc).__name__}: {words}: {type(cause).__name__}{missing}{_IN_THE_LOG}"


def _numpy_refused(value: Any) -> Any:
    # A numpy value stops a pass over cells without OPT_SERIALIZE_NUMPY; anything else is
    # written as _dumps writes it.
    if isinstance(value, (np.ndarray, np.generic)):
        raise TypeError("a numpy value")
    return json_value(value)


def _response(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(content), status_code=status, media_type=_JSON, headers=headers)


def _model_callables(
    model: Any, read: Callable[[Any, str, Any], Any] = getattr
) -> tuple[Callable[[Any], Any], Callable[[Any], Any] | None]:
    """The model's ``predict`` and ``predict_proba`` (None if it has none), its
    attributes read by ``read`` (``getattr``); a :class:`ConfigError` if it has neither
    ``predict`` nor is callable."""
    predict = read(model, "predict", None)
    if callable(predict):
        proba = read(model, "predict_proba", None)
        return predict, proba if callable(proba) else None
    if callable(model):
        return model, None
    raise ConfigError(
        f"cannot serve a {type(model).__name__}: a model needs a predict(X) method or must "
        "be a callable taking a 2-D array"
    )


def _serve_config(config: Any) -> ServeConfig:
    """``config`` checked to be a :class:`ServeConfig` (``None``: the defaults), else a
    :class:`ConfigError` saying what to give (its contents are not shown: a dict may hold
    the log's storage credentials)."""
    if config is None:
        return ServeConfig()
    if not isinstance(config, ServeConfig):
        hint = " (ServeConfig(**options) makes one of a dict)" if isinstance(config, dict) else ""
        raise ConfigError(
            f"config must be a ServeConfig or None, got a {type(config).__name__}: give "
            f"ServeConfig(warmup=False, ...){hint}"
        )
    return config


def _n_features(model: Any) -> int | None:
    n = getattr(model, "n_features_in_", None)
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0:
        return int(n)
    return None


class ModelServer:
    """One served model: its state, its metrics, and the Starlette app answering for it.

    Most users want :func:`create_app` (an app to mount or run) or
    :func:`~modelship.deploy.serve.run` (the ``modelship serve`` process). The server is
    built around a ``load`` function returning the model, called once on a worker thread
    at startup; the app answers liveness at once and readiness after the warm-up.

    Parameters
    ----------
    load : callable
        Returns the model (anything with ``predict``, or a callable taking a 2-D array).
    name, version : str
        Reported in every answer and metric label: a model name and a version as the
        registry takes them (letters, digits, ``.``, ``_`` and ``-``; a version may be
        given as a positive int), so that the v2 routes reach them and v2 clients read
        the version as the text the protocol says it is; anything else raises
        :class:`~modelship.errors.InvalidName`.
    config : ServeConfig
        Request limits, warm-up, prediction log.
    digest : str, optional
        The artifact's digest, reported in metadata.
    on_failure : callable, optional
        Called with the exception if loading or the warm-up fails (the runner uses it to
        stop the process, so a bad version never lingers half-started).

    Examples
    --------
    >>> from modelship.deploy.serve import ModelServer
    >>> server = ModelServer(lambda: (lambda x: x.sum(axis=1)), name="adder", version="1",
    ...                      config=ServeConfig(warmup=[[1.0, 2.0]]))
    >>> server.state
    <ServerState.STARTING: 'starting'>
    """

    def __init__(  # noqa: PLR0913 - loader plus keyword-only name, version, config, digest and failure hook of the served model
        self,
        load: Callable[[], Any],
        *,
        name: str,
        version: str,
        config: ServeConfig | None = None,
        digest: str | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.name = check_model_name(name)
        self.version = check_version(version)
        self.digest = digest
        self.config = _serve_config(config)
        self.metrics = ServerMetrics(self.name, self.version, slot=self.config.slot)
        self.state = ServerState.STARTING
        self.error: str | None = None
        self._load = load
        self._on_failure = on_failure
        self._predict: Callable[[Any], Any] | None = None
        self._proba: Callable[[Any], Any] | None = None
        self._default_outputs: list[str] = ["predict"]
        self._n_features: int | None = None
        # What the model's own code raised last starting (see _model_code).
        self._raised_by_model: BaseException | None = None
        # What the metadata says of each output: the warm-up's answers, when there was one.
        self._output_dtype, self._output_shape = "FP64", [-1]
        self._proba_dtype, self._proba_shape = "FP64", [-1, -1]
        self._proba_unserved: str | None = None  # why predict_proba is not served
        self._proba_listed = True  # whether the metadata lists predict_proba (if it has one)
        self._seconds_per_row = 0.0
        self._on_thread = 0  # calls queued on or running on the worker thread (loop only)
        self._held = 0  # inference requests admitted and not yet answered (loop only)
        self._close_lock = threading.Lock()  # close() from the loop or run()'s watchdog
        self._recent: collections.deque[float] = collections.deque(maxlen=OFFLOAD_WINDOW)
        self._executor = _ModelThread("modelship-predict")
        self._ids = RequestIds()  # the rule and the made ids' format: modelship._request_ids
        self._log = self._open_log()
        self._log_wakeup: asyncio.Event | None = None
        self._flush_lock = threading.Lock()
        # How each method's list answers read when they could be told apart (per row or
        # per output): the reading of those that cannot (see _per_target).
        self._readings: dict[str, str] = {}
        # Writes run on a daemon thread of their own, not the loop's default executor,
        # whose threads are joined at exit: a store write that hangs (an unreachable
        # S3 or NFS) must not keep the process alive past its grace period.
        self._log_thread = _ModelThread("modelship-log")
        self._closed = False
        self._log_failures = 0
        self._log_error_at: float | None = None
        self.app = self._build()

    def _open_log(self) -> PredictionLog | None:
        if not self.config.prediction_log:
            return None
        return PredictionLog(
            self.config.prediction_log,
            inputs=self.config.log_inputs,
            batch_rows=self.config.log_batch_rows,
            flush_seconds=self.config.log_flush_seconds,
            max_pending_rows=max(100_000, self.config.log_batch_rows),
            max_pending_bytes=self.config.log_max_pending_bytes,
            storage_options=self.config.log_storage_options,
            fingerprint_key=self.config.fingerprint_key,
        )

    def _reopen(self) -> None:
        """Make a closed server serve again, for its app's next lifespan (an app run
        twice, a test client entered twice): new worker threads, the failure count reset,
        and a log abandoned at the last shutdown opened afresh (its rows were counted as
        lost then). The model, once loaded, stays loaded."""
        self._executor = _ModelThread("modelship-predict")
        self._log_thread = _ModelThread("modelship-log")
        if self._log is not None and self._log.abandoned:
            self._log = self._open_log()
        self._log_failures, self._log_error_at = 0, None
        self._closed = False

    # --- start-up -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True once the model is loaded, verified and answered its warm-up."""
        return self.state is ServerState.READY

    def start(self) -> None:
        """Load the model and warm it up (blocking); on failure, the state is ``FAILED``
        and :attr:`error` says why (until a later start, in another lifespan, succeeds)."""
        self.state = ServerState.LOADING
        self.error = None  # a failure of an earlier lifespan is not this load's
        self._raised_by_model = None
        loaded = False
        try:
            model = self._load()
            loaded = True
            read = functools.partial(self._model_code, getattr)
            predict, proba = _model_callables(model, read)
            self._predict, self._proba = predict, proba
            self._n_features = self._model_code(_n_features, model)
            self._default_outputs = self._v2_defaults()
            self._warm_up()
        except BaseException as exc:
            self.state = ServerState.FAILED
            detail = f"{type(exc).__name__}: {exc}{_main_hint(exc)}"
            # What the model's own code raised (its predict on the warm-up rows, its
            # attributes), a modelship error included, or, once loaded, any exception not
            # ours: its message may name paths, data or secrets, so /ready and the 503s
            # name its type only, as a 500 does. The model's unpickling code failing the
            # load: the serializer's words and the cause's type. The log has it whole,
            # with its traceback.
            models = exc is self._raised_by_model or (
                loaded and not isinstance(exc, ModelshipError)
            )
            unpickling = None if loaded else _load_failed(exc)
            shown = _start_failed(exc) if models else unpickling
            if shown is None:
                shown = detail
            elif unpickling is not None:
                shown += _main_hint(exc)
            self.error = hide_credentials(shown)
            logger.error(
                "model %s version %s failed to start: %s",
                self.name,
                self.version,
                detail,
                exc_info=exc if models or unpickling is not None else None,
            )
            if self._on_failure is not None:
                self._on_failure(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.state = ServerState.READY
        self.metrics.ready.set(1)
        logger.info("model %s version %s is ready", self.name, self.version)

    def _model_code(self, call: Callable[..., _T], *args: Any) -> _T:
        """``call(*args)``, which runs the model's own code (its predict, its attributes):
        what it raises is noted, so that a start it fails names the exception's type
        only, whatever the type (a model may raise a modelship error of its own)."""
        try:
            return call(*args)
        except BaseException as exc:
            self._raised_by_model = exc
            raise

    def _v2_defaults(self) -> list[str]:
        """The methods a v2 request naming no outputs runs (checked against the model)."""
        names = self.config.v2_default_outputs
        if names is None:  # the protocol: all outputs, as the metadata lists them
            return ["predict"] if self._proba is None else list(V2_OUTPUTS)
        if "predict_proba" in names and self._proba is None:
            raise ConfigError(
                f"v2_default_outputs names 'predict_proba', but model {self.name!r} has no "
                "predict_proba method"
            )
        return list(names)

    def _warm_up(self) -> None:
        warmup = self.config.warmup
        if warmup is False:
            return
        if warmup is None:
            if self._n_features is None:
                raise ConfigError(
                    f"cannot derive a warm-up input for model {self.name!r}: it has no "
                    "n_features_in_. Give one (--warmup '[[0.0, 1.0]]' or "
                    "ServeConfig(warmup=...)), or skip it (--no-warmup, warmup=False)"
                )
            x = np.zeros((1, self._n_features))
        else:
            x = np.asarray(warmup, dtype=np.float64)
            if self._n_features is not None and x.shape[1] != self._n_features:
                raise ConfigError(
                    f"warm-up rows have {x.shape[1]} features but the model expects "
                    f"{self._n_features}"
                )
        assert self._predict is not None
        # The first call pays one-time costs.
        out, first = self._model_code(_timed, self._predict, x)
        timings: list[float] = []
        for _ in range(WARMUP_CALLS):
            if first + sum(timings) > 1.0:
                break  # a slow model: one more call is measurement enough
            out, seconds = self._model_code(_timed, self._predict, x)
            timings.append(seconds)
        self._seconds_per_row = (min(timings) if timings else first) / len(x)
        try:
            out = _served("predict", out, len(x), self._readings)
        except _BadAnswer as exc:
            raise ConfigError(f"the warm-up's prediction cannot be served: {exc}") from None
        self._output_dtype, self._output_shape = _described("predict", out)
        if self._proba is not None:
            self._warm_up_proba(self._proba, x)

    def _warm_up_proba(self, proba_of: Callable[[Any], Any], x: NDArray[Any]) -> None:
        """Describe ``predict_proba`` by its answer to the warm-up rows ``x``, or leave it
        out of the metadata and the default outputs when it raises there or its answer
        cannot be served (:meth:`_leave_out_proba`)."""
        reading = False
        try:
            answer = self._model_code(proba_of, x)
            reading = True
            proba = _served("predict_proba", answer, len(x), self._readings)
            # Its cells' text (str()) is the model's code too.
            self._proba_dtype, self._proba_shape = _described("predict_proba", proba)
        except _BadAnswer as exc:
            self._leave_out_proba(f"its warm-up answer cannot be served ({exc})")
        except MemoryError:
            raise  # the machine's, not the method's: a restart may serve it
        except Exception as exc:  # the model's own: a BaseException still stops the start
            what = "reading its warm-up answer" if reading else "it"
            self._leave_out_proba(
                f"{what} raised {type(exc).__name__} on the warm-up input", raised=exc
            )

    def _leave_out_proba(self, reason: str, raised: BaseException | None = None) -> None:
        """Leave ``predict_proba`` out of the v2 metadata and the default outputs, so a v2
        request naming no outputs is not answered a 500 for it; ``reason`` says why. When
        ``v2_default_outputs`` names it, the start fails instead
        (:class:`~modelship.errors.ConfigError`).

        An answer that cannot be served (not one row per input row) is a property of the
        method: a request naming it gets a 500 giving ``reason``, without the model being
        called, never an answer whose rows may be other rows' (an answer of shape
        ``(targets, rows, classes)`` has one "row" per input row when they are as many).
        An exception ``raised`` may be the warm-up's rows' only (a log of a zero feature)
        or passing (a timeout), or a method it has but cannot run (scikit-learn's
        one-vs-one ``GaussianProcessClassifier``): a request naming it still calls it, as
        without a warm-up. Its message, which may name paths or data, is only logged."""
        named = self.config.v2_default_outputs
        if named is not None and "predict_proba" in named:
            if raised is not None:
                # The start fails giving the exception's type only: its message (what an
                # operator needs) is the log's.
                logger.error(
                    "model %s version %s fails to start: v2_default_outputs names "
                    "predict_proba, and %s",
                    self.name,
                    self.version,
                    reason,
                    exc_info=raised,
                )
            raise ConfigError(
                f"v2_default_outputs names 'predict_proba', but predict_proba of model "
                f"{self.name!r} cannot be served: {reason}. Leave it out "
                "(--v2-default-outputs predict)"
            ) from raised
        self._proba_listed = False
        self._default_outputs = [m for m in self._default_outputs if m != "predict_proba"]
        if raised is None:
            self._proba_unserved = f"predict_proba of model {self.name!r} is not served: {reason}"
            then = "a request for it gets a 500 saying so"
        else:
            then = "a request naming it still calls it"
        logger.warning(
            "model %s version %s: predict_proba is left out of the v2 metadata and default "
            "outputs because %s; %s",
            self.name,
            self.version,
            reason,
            then,
            exc_info=raised,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Starlette lifespan: load in the background, flush the log at the end.

        An app may live through several lifespans: each after the first serves the model
        loaded by the first (a load that failed is tried again; one still under way on
        the last lifespan's thread is left to finish there)."""
        if self._closed:
            self._reopen()
        loop = asyncio.get_running_loop()
        loading: asyncio.Future[None] | None = None
        if self.state in (ServerState.STARTING, ServerState.FAILED):
            loading = loop.run_in_executor(self._executor, self.start)
        flusher = None
        if self._log is not None:
            self._log_wakeup = asyncio.Event()
            flusher = asyncio.ensure_future(self._flush_loop())
        try:
            yield
        finally:
            # Requests had their grace period (uvicorn's, before this runs): the final
            # flush gets at most FINAL_FLUSH_SECONDS more, what a Kubernetes pod has left
            # (terminationGracePeriodSeconds is the grace period + the preStop's 5 s + 5).
            deadline = time.monotonic() + min(self.config.graceful_seconds, FINAL_FLUSH_SECONDS)
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            # A load still running past the grace period is left to its daemon thread.
            if loading is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(loading), self.config.graceful_seconds)
            self.close(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float | None = None) -> bool:
        """Flush the prediction log and stop the worker threads (idempotent): True when
        this call did it, False when another (on another thread too) had begun.

        The final flush, waiting for one under way included, takes at most ``timeout``
        seconds (default ``graceful_seconds``): rows not written by then, a write that
        hangs in the store included, are counted as dropped and logged as lost, and the
        log publishes nothing more (:meth:`PredictionLog.abandon`). Does
        not wait for a model call still running either: the server gave it its grace
        period already, and both threads are daemons, so neither a hung model nor a hung
        store can keep the process from exiting."""
        with self._close_lock:  # once, whichever thread comes first
            if self._closed:
                return False
            self._closed = True
        if timeout is None:
            timeout = self.config.graceful_seconds
        try:
            if self._log is not None and not self._final_flush(timeout):
                lost = self._log.abandon()
                self.metrics.log_dropped.inc(lost)
                logger.error(
                    "prediction log %s: %d rows could not be written before shutdown and are lost",
                    self._log.shown_url,
                    lost,
                )
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._log_thread.shutdown(wait=False)
        return True

    def _final_flush(self, timeout: float) -> bool:
        """Flush within ``timeout`` seconds: True if every pending row was written."""
        assert self._log is not None
        if not self._log.pending_rows:
            return True
        done = threading.Event()
        outcome: list[int | None] = []

        def final() -> None:
            try:
                outcome.append(self._flush(timeout))
            finally:
                done.set()

        # On a daemon thread of its own: the log thread may be the one hung in a write.
        threading.Thread(target=final, name="modelship-log-final", daemon=True).start()
        if not done.wait(timeout) or not outcome or outcome[0] is None:
            return False
        return not self._log.pending_rows

    # --- prediction log ---------------------------------------------------------------

    def flush_log(self) -> int:
        """Write pending prediction-log rows now; returns how many were written."""
        return self._flush() or 0

    def _flush(self, timeout: float | None = None) -> int | None:
        """Write pending rows: how many, or None when the store failed (rows kept) or a
        flush under way did not end within ``timeout`` seconds."""
        if self._log is None:
            return 0
        if not self._flush_lock.acquire(timeout=-1 if timeout is None else timeout):
            return None
        try:
            try:
                written = self._log.flush()
            except UnwritableBatch as exc:
                logger.error(
                    "prediction log %s: rows dropped: %s",
                    self._log.shown_url,
                    hide_credentials(str(exc)),
                )
                self.metrics.log_dropped.inc(exc.rows)
                written = exc.written
            except LogAbandoned:  # shutdown gave up on it: its rows are counted as lost
                return None
            except Exception as exc:
                self._log_failed(exc)
                return None
            if self._log_failures:
                logger.warning(
                    "prediction log %s: written again after %d failed attempts",
                    self._log.shown_url,
                    self._log_failures,
                )
                self._log_failures, self._log_error_at = 0, None
            return written
        finally:
            self._flush_lock.release()

    def _log_failed(self, exc: Exception) -> None:
        # One ERROR line per LOG_ERROR_EVERY_SECONDS while the store keeps failing: a
        # failing store must not flood the server's own log as well.
        assert self._log is not None
        self._log_failures += 1
        now = time.monotonic()
        if self._log_error_at is None or now - self._log_error_at >= LOG_ERROR_EVERY_SECONDS:
            logger.error(
                "prediction log %s: write failed (%d attempts so far; %d rows kept for "
                "the next attempt): %s",
                self._log.shown_url,
                self._log_failures,
                self._log.pending_rows,
                # The store's own words may hold the URL, credentials included.
                hide_credentials(str(exc)),
            )
            self._log_error_at = now

    async def _flush_loop(self) -> None:
        assert self._log is not None
        assert self._log_wakeup is not None
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            if failures:
                # Backing off: a full batch does not wake the loop until the delay ends.
                await asyncio.sleep(retry_delay(failures, self._log.flush_seconds))
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._log_wakeup.wait(), self._log.flush_seconds)
            self._log_wakeup.clear()
            written = await loop.run_in_executor(self._log_thread, self._flush)
            failures = failures + 1 if written is None else 0

    def _log_prediction(
        self, request_id: str, x: NDArray[Any], outputs: list[tuple[str, Any]], seconds: float
    ) -> None:
        assert self._log is not None
        # The row's "output" is predict's answer when it was asked for (what outcomes are
        # compared with), else the one method's; several methods are all in "outputs".
        # An answer is copied: the log writes it up to flush_seconds later, and a model
        # may reuse its output buffer for the next call.
        outputs = [(m, o.copy() if isinstance(o, np.ndarray) else o) for m, o in outputs]
        method, out = next(((m, o) for m, o in outputs if m == "predict"), outputs[0])
        try:
            added = self._log.add(
                request_id,
                x,
                out,
                latency_seconds=seconds,
                model=self.name,
                version=self.version,
                method=method,
                outputs_by_method=dict(outputs) if len(outputs) > 1 else None,
            )
        except Exception:
            # The answer was made and counted already: a fault queueing it for the log
            # drops its rows alone, and counts them, never the client's 200.
            logger.exception("request %s: queueing the prediction log failed", request_id)
            added = False
        if not added:
            self.metrics.log_dropped.inc(len(x))
        elif self._log.pending_rows >= self._log.batch_rows and self._log_wakeup is not None:
            self._log_wakeup.set()

    # --- the request path -------------------------------------------------------------

    def _request_id(self, scope: Any) -> str:
        return self._ids.of(scope["headers"])

    async def _body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        for key, value in request.scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise _BadRequest(400, "Content-Length is not a number") from None
                if declared > limit:
                    # A client that sent "Expect: 100-continue" waits for a 100 before
                    # sending the body, which reading it would make uvicorn send: it gets
                    # the 413 at once instead, and the connection is closed (the body it
                    # may still send is never read).
                    close = declared > limit + MAX_DRAIN_BYTES or _expects_continue(request.scope)
                    if not close:
                        await self._drain(request, declared)
                    raise _BadRequest(413, self._too_large(declared), close=close)
                break
        chunks: list[bytes] = []
        size = 0
        receive = request.receive
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _BadRequest(400, "the client disconnected before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                # Chunked body: keep nothing more, read the rest away within a bound.
                more = message.get("more_body", False)
                close = more and not await self._drain(request, MAX_DRAIN_BYTES)
                raise _BadRequest(413, self._too_large(size), close=close)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self, size: int) -> str:
        return (
            f"request body of {size} bytes or more is over the limit of "
            f"{self.config.max_body_bytes} bytes; send fewer rows per request, or raise "
            "--max-body-bytes"
        )

    async def _drain(self, request: Request, bound: int) -> bool:
        """Read and discard the rest of the body, at most ``bound`` bytes; True if all read."""
        seen = 0
        while seen <= bound:
            message = await request.receive()
            if message["type"] != "http.request":
                return False
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False

    def _matrix(self, rows: Any, body: bytes) -> NDArray[Any]:
        if not isinstance(rows, list) or not rows:
            raise _BadRequest(400, f"instances must be a non-empty list of rows, got {_kind(rows)}")
        x = _numbers(
            rows,
            np.dtype(np.float64),
            "instances",
            bools=_may_hold_bools(body),
            written=lambda: _reread(body, "instances"),
            nulls=self.config.allow_nan,
            too_deep=lambda shape: _not_rows("instances", shape),
        )
        return self._checked(x, "instances")

    def _checked(self, x: NDArray[Any], where: str) -> NDArray[Any]:
        if x.ndim != 2 or x.shape[1] == 0:
            raise _BadRequest(400, _not_rows(where, list(x.shape)))
        if self._n_features is not None and x.shape[1] != self._n_features:
            raise _BadRequest(
                400,
                f"each row must have {self._n_features} features (the model was trained on "
                f"{self._n_features}), got {x.shape[1]}",
            )
        # A null was refused as such already (_numbers) unless --allow-nan: JSON has no
        # NaN or infinity, and a value beyond a type's range was refused as such.
        return x

    async def _call(
        self, fn: Callable[[Any], Any], x: NDArray[Any], deadline: float | None = None
    ) -> Any:
        """``fn(x)``, inline or on the worker thread; on the thread, a :class:`_TimedOut`
        when the answer is not ready by ``deadline`` (``time.monotonic()``)."""
        rows = len(x)
        # While a call runs on the worker thread, later ones queue behind it there rather
        # than run inline beside it: the model is never called from two threads at once.
        if self._on_thread or self._seconds_per_row * rows > self.config.offload_seconds:
            loop = asyncio.get_running_loop()
            job: list[Any] = [fn, x]  # emptied when the request stops waiting (below)

            def run() -> Any:
                model, rows_given = job
                return _raised_by_model(model, rows_given)

            done = self._executor.submit(run)
            # Counted until the call itself ends (or, cancelled, never runs), not until
            # this request stops waiting: a request answered 504 leaves a call running.
            self._on_thread += 1
            done.add_done_callback(functools.partial(_soon, loop, self._left_thread))
            answer = asyncio.wrap_future(done, loop=loop)
            answer.add_done_callback(_retrieved)
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                out = await asyncio.wait_for(asyncio.shield(answer), wait)
            except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
                done.cancel()  # one still queued never runs; one running cannot be stopped
                job.clear()  # nor are the rows of one still queued kept until its turn
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise _TimedOut from None
        else:
            try:
                out, seconds = _timed(fn, x)
            except BaseException as exc:  # the model's, whatever it is
                raise _ModelRaised(exc) from exc
            # Only inline calls are timed: on the thread, a call's wall time includes
            # waiting for the GIL while the event loop serves other requests, which would
            # keep a fast model off the loop for good (measured: it doubled the CPU per
            # request). The median of each 16 decides, so one call stretched by the OS
            # scheduler does not flip the choice.
            recent = self._recent
            recent.append(seconds / rows)
            if seconds > LONG_INLINE_CALLS * self.config.offload_seconds:
                self._seconds_per_row = math.inf
                logger.warning(
                    "a prediction took %.2f s on the event loop; the model runs on the worker "
                    "thread from now on",
                    seconds,
                )
            elif len(recent) == OFFLOAD_WINDOW:
                self._seconds_per_row = sorted(recent)[OFFLOAD_WINDOW // 2]
                recent.clear()
        return out

    def _left_thread(self) -> None:
        self._on_thread -= 1

    def _not_ready(self) -> _BadRequest:
        if self.state is ServerState.FAILED:
            return _BadRequest(503, f"model failed to start: {self.error}")
        return _BadRequest(503, f"model {self.name!r} is not ready yet ({self.state.value})")

    def _decoded(self, body: bytes) -> Any:
        """The request's JSON; a body that is not JSON is a 400, or the 503 while the
        model is not ready."""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if self.state is not ServerState.READY:
                raise self._not_ready() from None
            literal = _non_json_number(body, exc.pos)
            if literal is not None:
                raise _BadRequest(400, self._no_nan(literal, exc.pos)) from None
            raise _BadRequest(400, f"the body is not valid JSON: {exc}") from None

    def _no_nan(self, literal: str, at: int) -> str:
        """The 400 for a ``NaN`` or ``Infinity`` literal (Python's ``json.dumps`` writes
        them): what JSON has instead, as this server reads it."""
        said = (
            f"the body is not valid JSON: it holds {literal} (at character {at}), and JSON "
            "has no NaN or Infinity (Python's json.dumps writes them by default); "
        )
        if self.config.allow_nan:
            return said + (
                "send a missing value as null, which this server reads as NaN "
                "(--allow-nan is on); an infinite value cannot be sent"
            )
        return said + (
            "this server refuses missing values: send rows without them, or start it with "
            "--allow-nan and send null, read as NaN (pandas' to_json writes null)"
        )

    def _unreadable_body(self, scope: Any) -> tuple[int, str, dict[str, str] | None] | None:
        """A request whose body the server cannot read as JSON, known from its headers
        before the body is read: Triton's binary tensor extension, a compressed body."""
        for key, value in scope["headers"]:
            if key == b"inference-header-content-length":
                return (
                    400,
                    "the request uses the binary tensor data extension "
                    "(Inference-Header-Content-Length), which this server does not "
                    "support (GET /v2 lists no extensions): send the tensors as JSON "
                    '"data"; in tritonclient, set_data_from_numpy(..., binary_data=False) '
                    "and InferRequestedOutput(..., binary_data=False)",
                    None,
                )
            if key == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                encoding = value.decode("latin-1")[:40]
                return (
                    415,
                    f"the body is sent with Content-Encoding: {encoding}, which this server "
                    "does not read: send it uncompressed (in tritonclient, no "
                    "request_compression_algorithm)",
                    {"accept-encoding": "identity"},
                )
        return None

    async def _refusal(
        self,
        request: Request,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> _BadRequest:
        """A request refused before its body is read: the body is read away as a 413's is
        (up to MAX_DRAIN_BYTES, nothing kept), so the client gets the answer on a live
        connection; a larger one, or one awaiting ``100 Continue``, closes it."""
        declared: int | None = None
        for key, value in request.scope["headers"]:
            if key == b"content-length":
                with contextlib.suppress(ValueError):
                    declared = int(value)
                break
        if _expects_continue(request.scope) or (
            declared is not None and declared > MAX_DRAIN_BYTES
        ):
            close = True
        else:
            close = not await self._drain(request, MAX_DRAIN_BYTES)
        return _BadRequest(status, message, close=close, headers=headers)

    async def _admit(self, request: Request) -> None:
        """Refuse, before its body is read, a body the server cannot read (400, 415)."""
        unreadable = self._unreadable_body(request.scope)
        if unreadable is not None:
            status, message, headers = unreadable
            raise await self._refusal(request, status, message, headers=headers)

    def _hold(self) -> None:
        """Count the request as held (:attr:`_held`) once its rows are read, or refuse it
        when ``max_queue`` requests are held already (503 with ``Retry-After``).

        Counted after the body is read, not before: a client sending its body slowly
        (or a slow uplink) then holds only its own connection, not a place in the queue
        every other request needs. The count is exact: it is read and raised on the
        event loop's one thread with no await between the check and the count, so no
        other request runs in between; the caller lowers it once, when answered."""
        if self._held >= self.config.max_queue:
            raise _BadRequest(
                503, self._saturated(), kind="saturated", headers={"retry-after": "1"}
            )
        self._held += 1

    def _saturated(self) -> str:
        said = (
            f"the server is saturated: it holds {self._held} inference requests already "
            f"(--max-queue {self.config.max_queue})"
        )
        since = self._executor.running_since
        if since is not None:
            said += f", and the model call running now began {time.monotonic() - since:.1f} s ago"
        return said + "; send the request again after Retry-After, or add replicas"

    async def _infer(  # noqa: PLR0913, PLR0915, PLR0917 - the one path both endpoints share, told each step
        self,
        request: Request,
        endpoint: str,
        parse: Callable[[Any, Request, bytes], tuple[NDArray[Any], list[str], str | None]],
        answer: Callable[[list[tuple[str, Any]], str], Any],
        identify: Callable[[Any], str | None] = lambda payload: None,
        check: Callable[[Any, Request], None] = lambda payload, request: None,
    ) -> Response:
        """The shared inference path: read, parse, predict, answer, count, time, log.

        Once the body is JSON, ``identify`` reads the client's id (a v2 request's
        ``"id"``), which names every answer from then on, a 4xx or 503 too; ``check``
        refuses what fails before readiness and the rows are looked at (a v2 request's
        target: a wrong model is a 404 while loading too)."""
        began = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight.inc()
        request_id = self._request_id(request.scope)
        admitted = False
        try:
            try:
                await self._admit(request)
                body = await self._body(request)
                payload = self._decoded(body)
                given_id = identify(payload)
                # A v2 "id" may be any text; it names the request in the header, the log
                # and errors too when it can be a header value, and is echoed either way.
                if given_id is not None and usable_request_id(given_id):
                    request_id = given_id
                echoed = request_id if given_id is None else given_id
                check(payload, request)
                if self.state is not ServerState.READY:
                    raise self._not_ready()
                x, methods, _ = parse(payload, request, body)
                # What waits for the model is its rows, not the parsed JSON (lists of
                # Python floats, about ten times the body) nor the body itself.
                del payload, body
                self._hold()  # counted in _held from here
                admitted = True
            except _BadRequest as bad:
                return self._failed(
                    endpoint,
                    began,
                    request_id,
                    bad.status,
                    bad.kind,
                    bad.message,
                    close=bad.close,
                    headers=bad.headers,
                )
            except Exception as exc:
                # A fault of the server's own reading of the request: answered, and counted
                # (an exception escaping here was a 500 no metric saw).
                logger.exception("request %s: reading the request failed", request_id)
                error = f"internal error: {type(exc).__name__}"
                return self._failed(endpoint, began, request_id, 500, "server", error)
            # A model may change its input in place (StandardScaler(copy=False) in a
            # pipeline): the log keeps, and a second method gets, the rows as received.
            # Copying one request's array costs about 0.3 us for 20 features.
            received = x.copy() if self._log is not None or len(methods) > 1 else x
            writing = False  # True while orjson writes the answer (_dumps)
            try:
                outputs = await self._outputs(x, received, methods)
                # On the event loop: the answer's long integers' text is bounded in all.
                with int_text_budget():
                    content = answer(outputs, echoed)
                    writing = True
                    response = _response(200, content, {"x-request-id": request_id})
            except asyncio.CancelledError:
                # The server cancels what is still running at the end of its grace period
                # (--graceful-seconds): the client is told so in JSON, not a bare 500.
                return self._failed(
                    endpoint, began, request_id, 503, "not_ready", _SHUTTING_DOWN, close=True
                )
            except _TimedOut:
                return self._failed(endpoint, began, request_id, 504, "timeout", self._timed_out())
            except GeneratorExit:
                raise
            except BaseException as exc:  # a model's SystemExit too: answered and counted
                # The model raised, or answered something that is not one prediction per
                # row or cannot be written as JSON: the model's fault, not the client's.
                # Its message stays in the server's log: it may name paths or data.
                if isinstance(exc, _ModelRaised):
                    exc = exc.error
                logger.error("request %s: the model failed", request_id, exc_info=exc)
                error = _model_failed(exc, writing=writing)
                return self._failed(endpoint, began, request_id, 500, "model", error)
            seconds = time.perf_counter() - began
            metrics.observe(endpoint, 200, seconds, rows=len(x))
            if self._log is not None:
                self._log_prediction(request_id, received, outputs, seconds)
            return response
        finally:
            if admitted:
                self._held -= 1
            metrics.in_flight.dec()

    def _timed_out(self) -> str:
        limit = self.config.predict_timeout
        return (
            f"the model did not answer within --predict-timeout {limit:g} s; a model call "
            "cannot be stopped: one that began runs on, and later requests wait behind it "
            "(/ready answers 503 while it runs past the deadline); send the request again "
            "later, or to another replica"
        )

    def _stalled(self) -> str | None:
        """Why the server is not ready though its model is: a model call has run longer
        than ``predict_timeout`` (None otherwise)."""
        limit = self.config.predict_timeout
        since = self._executor.running_since
        if limit is None or since is None or self.state is not ServerState.READY:
            return None
        ran = time.monotonic() - since
        if ran <= limit:
            return None
        return (
            f"a model call has run {ran:.1f} s, longer than --predict-timeout {limit:g} s; "
            "it cannot be stopped and requests wait behind it: not ready until it ends"
        )

    def _failed(  # noqa: PLR0913, PLR0917 - what one failed request's answer and count are made of
        self,
        endpoint: str,
        began: float,
        request_id: str,
        status: int,
        kind: str,
        error: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A failed inference request: counted (``kind``), timed, answered in JSON."""
        self.metrics.error(endpoint, kind)
        self.metrics.observe(endpoint, status, time.perf_counter() - began)
        sent = {**(headers or {}), "x-request-id": request_id}
        if close:
            sent["connection"] = "close"
        return _response(status, {"error": error, "request_id": request_id}, sent)

    async def _outputs(
        self, x: NDArray[Any], received: NDArray[Any], methods: list[str]
    ) -> list[tuple[str, Any]]:
        """Each method's answer (as :func:`_served` gives it); the first method is given
        ``x``, later ones a copy of the rows as received. All of them are due within
        ``predict_timeout`` of the first call (:class:`_TimedOut`)."""
        if self._proba_unserved is not None and "predict_proba" in methods:
            raise _BadAnswer(self._proba_unserved)
        limit = self.config.predict_timeout
        deadline = None if limit is None else time.monotonic() + limit
        outputs = []
        for i, method in enumerate(methods):
            fn = self._predict if method == "predict" else self._proba
            assert fn is not None
            out = await self._call(fn, x if i == 0 else received.copy(), deadline)
            outputs.append((method, _served(method, out, len(x), self._readings)))
        return outputs

    def _method(self, payload: dict[str, Any], request: Request) -> str:
        method = payload.get("method")
        if method is None and request.scope["query_string"]:
            method = request.query_params.get("method")
        if method is not None and not isinstance(method, str):
            raise _BadRequest(400, f"method must be a string, got {_kind(method)}")
        if method is None or method == "predict":
            return "predict"
        if method == "predict_proba":
            if self._proba is None:
                raise _BadRequest(400, f"model {self.name!r} has no predict_proba")
            return method
        raise _BadRequest(400, f"method must be 'predict' or 'predict_proba', got {brief(method)}")

    def _parse_predict(
        self, payload: Any, request: Request, body: bytes
    ) -> tuple[NDArray[Any], list[str], str | None]:
        if not isinstance(payload, dict) or "instances" not in payload:
            raise _BadRequest(
                400, 'the body must be a JSON object {"instances": [[...], ...]}; no "instances"'
            )
        x = self._matrix(payload["instances"], body)
        return x, [self._method(payload, request)], None

    def _answer_predict(self, outputs: list[tuple[str, Any]], request_id: str) -> Any:
        predictions = _predictions(outputs[0][1])
        return {"predictions": predictions, "model": self.name, "version": self.version}

    @staticmethod
    def _v2_id(payload: Any) -> str | None:
        """A v2 request's ``"id"`` when it is text, else ``None``."""
        given_id = payload.get("id") if isinstance(payload, dict) else None
        return given_id if isinstance(given_id, str) else None

    def _check_v2(self, payload: Any, request: Request) -> None:
        """A v2 request's target (404) and its ``"id"`` (400 if not text)."""
        self._check_v2_target(request.path_params)
        given_id = payload.get("id") if isinstance(payload, dict) else None
        if given_id is not None and not isinstance(given_id, str):
            raise _BadRequest(400, f'"id" must be a string, got {_kind(given_id)}')

    def _parse_v2(
        self, payload: Any, request: Request, body: bytes
    ) -> tuple[NDArray[Any], list[str], str | None]:
        if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
            raise _BadRequest(400, 'an inference request needs "inputs": a list of tensors')
        given_id = payload.get("id")
        _check_parameters(payload, "the request")
        inputs = payload["inputs"]
        if len(inputs) != 1:
            raise _BadRequest(400, f"this model takes exactly one input tensor, got {len(inputs)}")
        x = self._tensor(inputs[0], body)
        wanted = payload.get("outputs")
        if wanted is None:  # every output, unless the server was told otherwise
            methods = self._default_outputs
        else:
            if not isinstance(wanted, list) or not wanted:
                raise _BadRequest(400, '"outputs" must be a non-empty list of {"name": ...}')
            methods = []
            for item in wanted:
                if not isinstance(item, dict):
                    raise _BadRequest(
                        400,
                        f'each of "outputs" must be an object {{"name": ...}}, got {_kind(item)}',
                    )
                name = item.get("name")
                if not isinstance(name, str):
                    raise _BadRequest(
                        400, f'an output\'s "name" must be a string, got {_kind(name)}'
                    )
                _check_parameters(item, f"output {name!r}")
                if name not in V2_OUTPUTS or (name == "predict_proba" and self._proba is None):
                    known = [m for m in V2_OUTPUTS if m == "predict" or self._proba is not None]
                    raise _BadRequest(400, f"unknown output {brief(name)}; this model has {known}")
                if name in methods:
                    # Each entry would run the model again and answer it again: a small
                    # request could ask for gigabytes.
                    raise _BadRequest(400, f"output {name!r} is asked for more than once")
                methods.append(name)
        return x, methods, given_id

    def _tensor(self, tensor: Any, body: bytes) -> NDArray[Any]:
        if not isinstance(tensor, dict):
            raise _BadRequest(400, f"an input tensor must be an object, got {_kind(tensor)}")
        missing = [k for k in ("name", "shape", "datatype", "data") if k not in tensor]
        if missing:
            raise _BadRequest(400, f"the input tensor lacks {missing}")
        if not isinstance(tensor["name"], str):
            raise _BadRequest(
                400, f'the input tensor\'s "name" must be a string, got {_kind(tensor["name"])}'
            )
        _check_parameters(tensor, "the input tensor")
        shape, datatype, data = tensor["shape"], tensor["datatype"], tensor["data"]
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise _BadRequest(
                400,
                "the input shape must be [rows, features] of positive integers, got "
                f"{brief(shape)}",
            )
        dtype = _V2_TYPES.get(datatype) if isinstance(datatype, str) else None
        if dtype is None:
            raise _BadRequest(
                400,
                f"datatype {brief(datatype)} is not a numeric tensor type ({sorted(_V2_TYPES)})",
            )
        if not isinstance(data, list):
            raise _BadRequest(400, f'"data" must be a list, got {_kind(data)}')
        x = _numbers(
            data,
            np.dtype(dtype),
            "data",
            datatype,
            bools=_may_hold_bools(body),
            written=lambda: _reread(body, "inputs", 0, "data"),
            nulls=self.config.allow_nan,
            too_deep=lambda nested: _nested_as(nested, shape),
        )
        if x.ndim == 1:
            if x.size != shape[0] * shape[1]:
                raise _BadRequest(
                    400,
                    f"data holds {x.size} values but shape {shape} needs {shape[0] * shape[1]}",
                )
            x = x.reshape(shape)
        elif list(x.shape) != shape:
            # Nested data is the tensor's shape as the client meant it: re-cutting 3 rows
            # of 2 into 2 rows of 3 would answer for rows nobody sent.
            raise _BadRequest(400, _nested_as(list(x.shape), shape))
        return self._checked(x, "data")

    def _check_v2_target(self, params: dict[str, Any]) -> None:
        if params.get("name") != self.name:
            raise _BadRequest(
                404, f"no model {brief(params.get('name'))}; this server serves {self.name!r}"
            )
        version = params.get("version")
        if version is not None and version != self.version:
            raise _BadRequest(
                404,
                f"model {self.name!r} has no version {brief(version)} here; "
                f"it serves {self.version!r}",
            )

    def _answer_v2(self, outputs: list[tuple[str, Any]], request_id: str) -> Any:
        tensors = []
        for method, out in outputs:
            datatype, data = _v2_data(method, out)
            tensors.append(
                {"name": method, "shape": list(out.shape), "datatype": datatype, "data": data}
            )
        return {
            "model_name": self.name,
            "model_version": self.version,
            "id": request_id,
            "outputs": tensors,
        }

    # --- endpoints ----------------------------------------------------------------------

    async def predict(self, request: Request) -> Response:
        """``POST /predict``: ``{"instances": [[...]]}`` to ``{"predictions": [...], ...}``."""
        return await self._infer(request, "predict", self._parse_predict, self._answer_predict)

    async def v2_infer(self, request: Request) -> Response:
        """``POST /v2/models/{name}[/versions/{version}]/infer``."""
        return await self._infer(
            request, "infer", self._parse_v2, self._answer_v2, self._v2_id, self._check_v2
        )

    def _answer(self, request: Request, status: int, content: dict[str, Any]) -> Response:
        """A JSON answer carrying the request id: in the ``X-Request-ID`` header always,
        and in the body too when the status is an error's."""
        request_id = self._request_id(request.scope)
        if status >= 400:
            content = {**content, "request_id": request_id}
        return _response(status, content, {"x-request-id": request_id})

    async def health(self, request: Request) -> Response:
        """``GET /health`` and ``/v2/health/live``: the process answers (liveness)."""
        return self._answer(request, 200, {"live": True})

    async def readiness(self, request: Request) -> Response:
        """``GET /ready`` and ``/v2/health/ready``: 200 once warmed up, else 503 (and 503
        while a model call runs past ``predict_timeout``)."""
        stalled = self._stalled()
        ready = self.ready and stalled is None
        body: dict[str, Any] = {
            "ready": ready,
            "state": self.state.value,
            "model": self.name,
            "version": self.version,
        }
        if stalled is not None:
            body["stalled"] = True
            body["error"] = stalled
        elif self.error is not None:
            body["error"] = self.error
        return self._answer(request, 200 if ready else 503, body)

    async def v2_model_ready(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{version}]/ready``."""
        try:
            self._check_v2_target(request.path_params)
        except _BadRequest as bad:
            return self._answer(request, bad.status, {"error": bad.message})
        stalled = self._stalled()
        ready = self.ready and stalled is None
        body: dict[str, Any] = {"name": self.name, "ready": ready}
        if stalled is not None:
            body["stalled"] = True
            body["error"] = stalled
        return self._answer(request, 200 if ready else 503, body)

    async def v2_model_metadata(self, request: Request) -> Response:
        """``GET /v2/models/{name}[/versions/{version}]``: inputs, outputs, versions.

        ``503`` until the server is ready (``state`` says where it is): the outputs are
        described as the warm-up answered them, so none is described before (with
        ``--no-warmup`` the server is ready, with default outputs, once loaded)."""
        try:
            self._check_v2_target(request.path_params)
        except _BadRequest as bad:
            return self._answer(request, bad.status, {"error": bad.message})
        if not self.ready:
            return self._answer(
                request,
                503,
                {
                    "error": self._not_ready().message,
                    "name": self.name,
                    "ready": False,
                    "state": self.state.value,
                },
            )
        features = self._n_features if self._n_features is not None else -1
        outputs = [{"name": "predict", "datatype": self._output_dtype, "shape": self._output_shape}]
        if self._proba is not None and self._proba_listed:
            outputs.append(
                {"name": "predict_proba", "datatype": self._proba_dtype, "shape": self._proba_shape}
            )
        metadata: dict[str, Any] = {
            "name": self.name,
            "versions": [self.version],
            "platform": "modelship",
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, features]}],
            "outputs": outputs,
        }
        if self.digest is not None:
            metadata["parameters"] = {"digest": self.digest}
        return self._answer(request, 200, metadata)

    async def v2_server_metadata(self, request: Request) -> Response:
        """``GET /v2``: the server's name, version and protocol extensions."""
        from modelship import __version__

        return self._answer(
            request, 200, {"name": "modelship", "version": __version__, "extensions": []}
        )

    async def metrics_endpoint(self, request: Request) -> Response:
        """``GET /metrics``: Prometheus text exposition of this server's registry."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(
            self.metrics.exposition(),
            media_type=CONTENT_TYPE_LATEST,
            headers={"x-request-id": self._request_id(request.scope)},
        )

    def _build(self) -> Starlette:
        model = "/v2/models/{name}"
        versioned = "/v2/models/{name}/versions/{version}"
        routes = [
            Route("/predict", self.predict, methods=["POST"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/ready", self.readiness, methods=["GET"]),
            Route("/metrics", self.metrics_endpoint, methods=["GET"]),
            Route("/v2", self.v2_server_metadata, methods=["GET"]),
            Route("/v2/health/live", self.health, methods=["GET"]),
            Route("/v2/health/ready", self.readiness, methods=["GET"]),
            Route(model, self.v2_model_metadata, methods=["GET"]),
            Route(versioned, self.v2_model_metadata, methods=["GET"]),
            Route(f"{model}/ready", self.v2_model_ready, methods=["GET"]),
            Route(f"{versioned}/ready", self.v2_model_ready, methods=["GET"]),
            Route(f"{model}/infer", self.v2_infer, methods=["POST"]),
            Route(f"{versioned}/infer", self.v2_infer, methods=["POST"]),
        ]
        app = Starlette(
            routes=routes,
            lifespan=self.lifespan,
            exception_handlers={HTTPException: self._http_error, Exception: self._server_error},
        )
        # A path with a trailing slash gets the JSON 404 carrying the request id, not
        # Starlette's bare 307 to a Location built from the client's Host header.
        app.router.redirect_slashes = False
        app.state.server = self
        return app

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (404 unknown path, 405 wrong method) as our errors."""
        assert isinstance(exc, HTTPException)
        answer = self._answer(request, exc.status_code, {"error": exc.detail})
        for name, value in (exc.headers or {}).items():  # a 405's Allow
            answer.headers.setdefault(name, value)
        return answer

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        """An unexpected exception outside the inference path: a 500 naming its type."""
        request_id = self._request_id(request.scope)
        logger.exception("request %s: unexpected error answering %s", request_id, request.url.path)
        return _response(
            500,
            {"error": f"internal error: {type(exc).__name__}", "request_id": request_id},
            {"x-request-id": request_id},
        )


def _served(
    method: str, out: Any, rows: int, readings: dict[str, str] | None = None
) -> NDArray[Any]:
    """``method``'s answer for ``rows`` rows as the array the server answers with, or a
    :class:`_BadAnswer` saying why it cannot be served (not one answer per row, complex
    numbers).

    A list of one array per output, each with one answer per row (a multi-output
    classifier's ``predict_proba``, scikit-learn's list of ``(rows, classes)`` arrays
    per target, or a Keras model's ``[out0, out1]``), is stacked along axis 1: ``(rows,
    outputs)`` from 1-D pieces, ``(rows, targets, classes)`` from 2-D ones of as many
    classes each (:func:`_per_target`; ``readings`` keeps how each method's list was
    read when it could be told). Numbers in the other byte order are put in the
    machine's, and long double becomes float64: neither has a v2 datatype, nor a JSON
    writer. A subclass of ndarray is served as the plain array it holds (an ``np.matrix``,
    from ``scipy.sparse``'s ``todense()``, would stay 2-D where the v2 data must be
    flat), a masked array's masked cells as missing values (:func:`_unmasked`; each
    array's of a list too, which stacking would drop), and ``datetime64`` and
    ``timedelta64`` as the datetimes and timedeltas they hold (:func:`time_cells`)."""
    if type(out) is np.ndarray:
        answer: NDArray[Any] = out
    elif isinstance(out, np.ma.MaskedArray):
        answer = _unmasked(out)
    elif isinstance(out, (list, tuple)):
        pieces = [_unmasked(a) if isinstance(a, np.ma.MaskedArray) else a for a in out]
        answer = _cells(_per_target(method, pieces, rows, {} if readings is None else readings))
    else:
        answer = np.asarray(out)
    dtype = answer.dtype
    if dtype.kind in "mM":
        answer = time_cells(answer)  # in whatever unit and byte order
    elif not dtype.isnative or dtype.kind == "c" or (dtype.kind == "f" and dtype.itemsize > 8):
        answer = _plain_numbers(method, answer)
    if answer.ndim == 0:
        # Not an array of predictions at all (None, a dict, text, a number): said by its
        # type, not by a shape of [] that reads as an empty list, nor by its values.
        what = "a 0-dimensional array" if isinstance(out, np.ndarray) else _a_type(out)
        raise _BadAnswer(
            f"the model's {method} returned {what} for {rows} rows; it must return an "
            "array of one per row"
        )
    if len(answer) != rows:
        raise _BadAnswer(
            f"the model's {method} returned {list(answer.shape)} predictions for {rows} rows; "
            "it must return one per row"
        )
    return answer


def _a_type(value: Any) -> str:
    """``value``'s type's name with its article, for an error message (bounded: a
    class's name is the model's code's, of any length).

    Examples
    --------
    >>> _a_type(None), _a_type({}), _a_type(3)
    ('a NoneType', 'a dict', 'an int')
    """
    name = type(value).__name__[:60]
    return f"{'an' if name[:1].lower() in set('aeiou') else 'a'} {name}"


_INT64 = np.iinfo(np.int64)


def _cell_kind(cell: Any) -> str | None:
    """The one numpy kind a cell of a model's list keeps as is, ``None`` for any other
    cell (numpy would round a big integer, make a bool a number or a number text)."""
    if isinstance(cell, (bool, np.bool_)):
        return "b"
    if isinstance(cell, np.unsignedinteger):  # with int64 integers numpy makes floats
        return "u"
    # timedelta64 is one of numpy's integers, but a duration: a cell, as in an array.
    if isinstance(cell, (int, np.integer)) and not isinstance(cell, np.timedelta64):
        return "i" if _INT64.min <= int(cell) <= _INT64.max else None
    if isinstance(cell, (float, np.floating)):
        return "f"
    if isinstance(cell, str):
        return "U"
    return None


#: The numpy kind of a cell's exact type where numpy keeps every such cell as it is: the
#: fast path of :func:`_cells` (a list of one of these kinds is what numpy makes of it).
_KIND_OF_TYPE: dict[type, str] = {
    float: "f",
    np.float64: "f",
    np.float32: "f",
    np.float16: "f",
    bool: "b",
    np.bool_: "b",
    str: "U",
    np.str_: "U",
    int: "i",
    np.int64: "i",
    np.int32: "i",
    np.int16: "i",
    np.int8: "i",
}


def _flat(answer: Any) -> Iterable[Any]:
    """The cells of a list of cells, or of rows of cells."""
    rows: Iterable[Any] = answer
    if all(isinstance(row, list | tuple) for row in rows):
        return itertools.chain.from_iterable(rows)
    return iter(rows)


def _typed(answer: Any) -> NDArray[Any] | None:
    """``answer`` (a list of cells, or of rows of cells) as numpy types it, when every
    cell is of one kind numpy keeps as it is; else ``None``. The cells' types are read in
    C (``set(map(type, ...))``), so the common answer, floats or rows of floats, costs
    what ``np.asarray`` costs; an integer beyond int64 makes numpy choose another kind
    than ``"i"``, and is left to the walk cell by cell."""
    types = set(map(type, answer))
    if types <= {list, tuple}:  # rows of cells
        types = set(map(type, itertools.chain.from_iterable(answer)))
    kinds = {_KIND_OF_TYPE.get(t) for t in types}
    if len(kinds) != 1 or None in kinds:
        return None
    # numpy widens float16/float32 beside float (0.1 as 0.10000000149011612), and drops
    # a text's trailing NULs: those lists are served cell by cell.
    if kinds == {"f"} and len(types) > 1 and not types <= {float, np.float64}:
        return None
    if kinds == {"U"} and any(cell.endswith("\x00") for cell in _flat(answer)):
        return None
    try:
        typed = np.asarray(answer)
    except ValueError:  # rows of different lengths
        return None
    if typed.dtype.kind != kinds.pop() or typed.shape[:1] != (len(answer),):
        return None
    return typed


def _cells(answer: Any) -> NDArray[Any]:
    """A model's list (or tuple) answer as an array holding each of its cells as given.

    A list of arrays, or of rows whose every cell is of one kind (all floats, all
    integers within int64, all bools, all text), is the array numpy makes of it; any
    other becomes an object array cell by cell, rows first where the rows are of one
    length, as the same values answered in an object array are served: a mix numpy would
    coerce is not rounded, nor turned into numbers or text, and ragged rows are served.

    Examples
    --------
    >>> _cells([1.5, 2.5]).dtype, _cells([[1, 2], [3, 4]]).shape
    (dtype('float64'), (2, 2))
    >>> _cells([True, 2]).tolist(), _cells([[0, 1], [2]]).tolist()
    ([True, 2], [[0, 1], [2]])
    """
    if isinstance(answer, np.ndarray):
        return answer
    typed = _typed(answer)
    if typed is not None:
        return typed
    if all(isinstance(cell, np.ndarray) for cell in answer):
        with contextlib.suppress(ValueError):
            return np.asarray(answer)  # arrays of one shape: numpy's own typing
    try:
        cells = np.array(answer, dtype=object)
    except ValueError:  # rows of rows of different lengths
        cells = np.empty(0, dtype=object)
    if cells.shape[:1] != (len(answer),):
        cells = np.empty(len(answer), dtype=object)
        for i, cell in enumerate(answer):
            cells[i] = cell
        return cells
    kinds = {_cell_kind(cell) for cell in cells.flat}
    # Floats and texts numpy would keep were typed by _typed; here numpy would change
    # them (a float32 widened, a trailing NUL dropped): they stay cells.
    if len(kinds) == 1 and None not in kinds and not kinds & {"f", "U"}:
        return np.asarray(answer)
    return cells


def _unmasked(out: np.ma.MaskedArray[Any, Any]) -> NDArray[Any]:
    """A masked array as a plain one, each masked cell a missing value (as NaN is:
    ``null`` on ``/predict`` and in the log, a 500 on v2): NaN in a float or complex
    array (complex stays complex, which is not served), ``NaT`` in a datetime or
    timedelta one, ``None`` in an object array made of any other.

    Examples
    --------
    >>> import numpy as np
    >>> _unmasked(np.ma.array([1.5, 2.5], mask=[False, True])).tolist()
    [1.5, nan]
    >>> _unmasked(np.ma.array([1, 2], mask=[True, False])).tolist()
    [None, 2]
    """
    masked = np.ma.getmaskarray(out)
    answer = np.asarray(out.data)
    if not masked.any():
        return answer
    kind = answer.dtype.kind
    if kind in "fcmM":
        gap = answer.dtype.type("NaT" if kind in "mM" else "nan")
        return np.where(masked, gap, answer)
    answer = answer.astype(object)
    answer[masked] = None
    return answer


def _per_target(
    method: str, answers: list[Any] | tuple[Any, ...], rows: int, readings: dict[str, str]
) -> Any:
    """One array with rows first from a list of per-output arrays of one answer per row
    each: 1-D pieces become the columns of ``(rows, outputs)``, per-target ``(rows,
    classes)`` arrays one ``(rows, targets, classes)`` array (``np.asarray`` would give
    ``(outputs, rows, ...)``: row ``i`` of it is output ``i``); anything else unchanged
    (a list of rows). Pieces of different shapes cannot be one tensor: a
    :class:`_BadAnswer`.

    A list of as many arrays as rows, each with one answer per row, reads both ways: it
    is read as the method's answers were when they could be told apart (``readings``,
    kept per method: the one-row warm-up tells), else as per-target for a
    ``predict_proba`` of 2-D pieces (scikit-learn's), else it is a :class:`_BadAnswer`:
    either reading may serve a row another input's answer."""
    per_row = len(answers) == rows
    if not answers or not all(
        isinstance(a, np.ndarray) and a.ndim >= 1 and len(a) == rows for a in answers
    ):
        if per_row:
            readings[method] = "rows"
        return answers
    shapes = [a.shape[1:] for a in answers]
    if len(set(shapes)) > 1:
        if method == "predict_proba" and all(len(shape) == 1 for shape in shapes):
            classes = [shape[0] for shape in shapes]
            raise _BadAnswer(
                f"predict_proba answered {len(answers)} targets with different numbers of "
                f"classes ({classes[:10]}), which one tensor of (rows, targets, classes) "
                "cannot hold; serve one model per target, or predict only"
            )
        raise _BadAnswer(
            f"the model's {method} answered {len(answers)} outputs of different shapes "
            f"({[[rows, *shape] for shape in shapes[:10]]}), which one tensor with rows "
            "first cannot hold; serve one model per output"
        )
    if not per_row:
        readings[method] = "outputs"
    elif rows > 1:
        reading = readings.get(method)
        if reading == "rows":
            return answers
        sklearn = method == "predict_proba" and all(len(shape) == 1 for shape in shapes)
        if reading is None and not sklearn:
            raise _BadAnswer(
                f"the model's {method} answered a list of {rows} arrays of {rows} answers "
                f"each for {rows} rows: one array per row and one per output cannot be told "
                "apart; answer one array with rows first, or warm the server up (one row "
                "tells which)"
            )
    return np.stack(answers, axis=1)


def _plain_numbers(method: str, out: NDArray[Any]) -> NDArray[Any]:
    """``out`` in the machine's byte order, long double as float64; complex numbers,
    which neither a v2 tensor nor JSON carries, are a :class:`_BadAnswer`."""
    kind = out.dtype.kind
    if kind == "c":
        raise _BadAnswer(
            f"output {method!r} holds complex numbers ({out.dtype}), which neither a v2 "
            "tensor nor JSON can carry"
        )
    if kind == "f" and out.dtype.itemsize > 8:
        narrow = out.astype(np.float64)
        if not np.array_equal(np.isfinite(narrow), np.isfinite(out)):
            raise _BadAnswer(f"output {method!r} holds long doubles beyond float64's range")
        return narrow
    return out.astype(out.dtype.newbyteorder("="))


def _described(name: str, out: NDArray[Any]) -> tuple[str, list[int]]:
    """An output's metadata from one answer: its v2 datatype and shape (rows as -1)."""
    try:
        datatype = _v2_data(name, out)[0]
    except _BadAnswer:  # a NaN among the warm-up's answers: its dtype says enough
        datatype = v2_datatype(out.dtype)
    return datatype, [-1, *(int(n) for n in out.shape[1:])]


def _v2_data(name: str, out: NDArray[Any]) -> tuple[str, Any]:
    """An answer as a valid v2 tensor holding the model's values: its datatype and flat
    data. Numbers keep their type; an object array is read cell by cell
    (:func:`_object_data`); text is ``BYTES``. JSON has no NaN or infinity, so a float
    answer holding one is a :class:`_BadAnswer` (a 500 saying so), not a ``null`` no v2
    client reads as a number."""
    flat = out.reshape(-1)
    kind = flat.dtype.kind
    if kind == "O":
        return _object_data(name, flat.tolist())
    if kind in "biuf":
        return v2_datatype(flat.dtype), _finite(name, flat)
    if kind == "U":
        return "BYTES", flat.tolist()
    if kind == "S":
        return "BYTES", [bytes_text(cell) for cell in flat.tolist()]
    if holds_time(flat.dtype) and _holds_nat(flat):  # a record's datetime or duration field
        raise _BadAnswer(
            f"output {name!r} holds a missing value (NaT) in a record, which a v2 tensor "
            "cannot carry (/predict answers it as null)"
        )
    return "BYTES", [str(cell) for cell in flat.tolist()]


def _finite(name: str, flat: NDArray[Any]) -> NDArray[Any]:
    if flat.dtype.kind == "f" and not np.isfinite(flat).all():
        raise _BadAnswer(
            f"output {name!r} holds NaN or infinity, which a v2 tensor cannot carry in "
            "JSON (/predict answers it as null)"
        )
    return flat


def _object_data(name: str, cells: list[Any]) -> tuple[str, Any]:
    """An object answer's tensor, values unchanged: all booleans are ``BOOL``; all
    integers ``INT64``, or ``UINT64`` when one is beyond ``INT64`` but all fit it, or
    else ``BYTES`` (each as exact decimal text); numbers ``FP64`` when float64 holds
    each integer among them exactly, else ``BYTES``; anything else, booleans among
    numbers too, ``BYTES``, each element as text (:func:`_text`). A missing value
    (``None``, a NaN, ``pd.NA``, ``NaT``: :func:`_missing`), or an infinity, is one a v2
    tensor cannot carry: a :class:`_BadAnswer`, among text labels too (a pandas ``map``
    of an unknown class gives NaN), never the label ``"nan"``; so is numpy's ``NaT``
    inside a cell (in an array of datetimes, a list or a dict), which ``/predict`` and
    the log write as ``null`` there."""
    if not cells:
        return "FP64", cells
    # Text, integers and booleans are never missing: the types are read in C (0.17 ms for
    # 10,000 labels, where looking for None took 0.2 ms), and only an answer holding
    # others is looked at cell by cell.
    types = set(map(type, cells))
    if not types <= _NEVER_MISSING:
        gap = next((cell for cell in cells if _missing(cell)), _NONE_MISSING)
        if gap is not _NONE_MISSING:  # the cell is the missing value: its repr is short
            raise _BadAnswer(
                f"output {name!r} holds a missing value or infinity ({_SHORT.repr(gap)}), "
                "which a v2 tensor cannot carry (/predict answers it as null)"
            )
        if not time_free(cells):
            # A cell holding NaT (a list, a dict, an array) is the model's data, which the
            # answer does not echo: its place only.
            at = next((i for i, cell in enumerate(cells) if _holds_nat(cell)), None)
            if at is not None:
                raise _BadAnswer(
                    f"output {name!r} holds a missing value (NaT) inside its cell {at}, "
                    "which a v2 tensor cannot carry (/predict answers it as null)"
                )
    bools = sum(isinstance(cell, (bool, np.bool_)) for cell in cells)
    if bools == len(cells):
        return "BOOL", [bool(cell) for cell in cells]
    # numpy's timedelta64 is one of its integer types, but a duration: text, as /predict
    # and the log write it, not its count of some unit.
    numbers = not bools and np.timedelta64 not in types
    if numbers and all(isinstance(cell, (int, np.integer)) for cell in cells):
        return _integer_data([int(cell) for cell in cells])
    if numbers and all(
        isinstance(cell, (float, np.floating))
        or (isinstance(cell, (int, np.integer)) and abs(int(cell)) <= _EXACT)
        for cell in cells
    ):
        return "FP64", _finite(name, np.array(cells, dtype=np.float64))
    return "BYTES", [_text(cell) for cell in cells]


#: The types of cell :func:`_missing` need not look at.
_NEVER_MISSING = frozenset({str, int, bool})
_NONE_MISSING = object()


def _missing(cell: Any) -> bool:
    """Whether a cell of an answer is a missing value (``None``, a NaN, ``pd.NA``, pandas'
    or numpy's ``NaT``) or an infinity: what ``/predict`` and the log write as null.

    Examples
    --------
    >>> import numpy as np
    >>> [_missing(v) for v in (None, float("nan"), np.float32("inf"), np.datetime64("NaT"))]
    [True, True, True, True]
    >>> [_missing(v) for v in ("nan", 0.5, np.float32(1), [None])]
    [False, False, False, False]
    """
    if cell is None:
        return True
    if isinstance(cell, float):  # np.float64 too
        return not math.isfinite(cell)
    if isinstance(cell, (str, int, bytes, bytearray, list, tuple, dict, set)):
        return False
    return json_value(cell) is None


def _holds_nat(value: Any, depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether ``value`` holds numpy's ``NaT`` at any depth: in a ``datetime64`` or
    ``timedelta64`` array or scalar, a record's field, or the lists, tuples, dicts and
    arrays of objects it holds, each followed once and no deeper than JSON is written
    (:data:`MAX_ANSWER_DEPTH`), so one that refers to itself ends.

    Examples
    --------
    >>> import numpy as np
    >>> _holds_nat({"when": [np.array(["2026-12-06", "NaT"], dtype="M8[D]")]})
    True
    >>> _holds_nat([np.array(["2026-12-06"], dtype="M8[D]"), None, float("nan")])
    False
    """
    if isinstance(value, (np.ndarray, np.generic)):
        dtype = value.dtype
        if dtype.kind in "mM":
            return bool(np.isnat(value).any())
        if dtype.names is not None:
            records = np.asarray(value)  # np.void too
            return any(_holds_nat(records[field], depth + 1, seen) for field in dtype.names)
        if not isinstance(value, np.ndarray) or dtype.kind != "O":
            return False
        inner: Iterable[Any] = value.flat
    elif isinstance(value, dict):
        inner = value.values()
    elif isinstance(value, (list, tuple)):
        inner = value
    else:
        return False
    seen = set() if seen is None else seen
    if depth >= MAX_ANSWER_DEPTH or id(value) in seen:
        return False
    seen.add(id(value))
    return any(_holds_nat(cell, depth + 1, seen) for cell in inner)


def _text(cell: Any) -> str:
    """One cell of a ``BYTES`` answer: text as it is, a numpy number (not a
    ``timedelta64``) or array as numpy writes it, anything else as ``/predict`` and the
    log write it (:func:`json_value`: bytes decoded as UTF-8, a datetime in ISO 8601, a
    timedelta as Python writes it, an Enum's value), as text."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, (np.number, np.bool_, np.ndarray)) and not isinstance(cell, np.timedelta64):
        return plain_text(cell)  # an array of objects may hold an integer str() refuses
    if type(cell) is int:
        return int_text(cell)  # str() refuses more than 4,300 digits
    value = json_value(cell)
    if value is None:
        # A missing value (an Enum's NaT) found only here: json_value(None) is None again.
        raise _BadAnswer(
            "the answer holds a missing value, which a v2 tensor cannot carry (/predict "
            "answers it as null)"
        )
    return value if isinstance(value, str) else _text(value)


def _integer_data(ints: list[int]) -> tuple[str, list[Any]]:
    """Integers as the narrowest of ``INT64`` and ``UINT64`` holding them all, else as
    ``BYTES`` of exact decimal text."""
    low, high = min(ints), max(ints)
    if low >= -(2**63) and high < 2**63:
        return "INT64", ints
    if low >= 0 and high < 2**64:
        return "UINT64", ints
    return "BYTES", [int_text(value) for value in ints]


def _not_rows(where: str, shape: list[int]) -> str:
    return f"{where} must be a list of rows of numbers (2-D), got an array of shape {shape}"


def _nested_as(nested: list[int], shape: list[int]) -> str:
    return f"data is nested as {nested}, but the tensor's shape is {shape}"


def _check_parameters(holder: dict[str, Any], what: str) -> None:
    """A 400 when ``holder`` (a v2 request, input or output) has ``"parameters"`` that
    are not an object, as the protocol's ``$parameters`` is (``null`` is left out)."""
    parameters = holder.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise _BadRequest(400, f'"parameters" of {what} must be an object, got {_kind(parameters)}')


def _expects_continue(scope: Any) -> bool:
    """Whether the request carries ``Expect: 100-continue``."""
    return any(
        key == b"expect" and value.strip().lower() == b"100-continue"
        for key, value in scope["headers"]
    )


_NON_JSON_NUMBERS = ("NaN", "-Infinity", "Infinity", "-NaN", "+Infinity", "+NaN", "nan", "inf")


def _non_json_number(body: bytes, at: int) -> str | None:
    """The ``NaN`` or ``Infinity`` literal where JSON parsing stopped at ``at`` (a
    character's index in ``body``), or None (read on the error path only).

    Examples
    --------
    >>> _non_json_number(b'{"instances": [[NaN, 1]]}', 16), _non_json_number(b"[1, x]", 4)
    ('NaN', None)
    >>> _non_json_number(b'[[-Infinity]]', 3)
    '-Infinity'
    """
    text = body.decode("utf-8", "replace")
    for start in (at - 1, at):  # parsing may stop just after a sign
        for literal in _NON_JSON_NUMBERS:
            signed = literal[0] in "+-"
            if start >= 0 and (signed or start == at) and text.startswith(literal, start):
                return literal
    return None


def _soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None], _: Any) -> None:
    """Run ``callback`` on ``loop`` (from a model call's future, done on the worker
    thread); nothing once the loop is closed (a call that ended after shutdown)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)


def _retrieved(answer: asyncio.Future[Any]) -> None:
    """Mark the outcome of a call no request waits for any more (a 504's, a shutdown's) as
    seen: its exception, if any, was the model's, and is no event loop error."""
    if not answer.cancelled():
        answer.exception()


def _timed(fn: Callable[[Any], Any], x: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    out = fn(x)
    return out, time.perf_counter() - began


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 3, 6, 4, 60, 60


def _kind(value: Any) -> str:
    """A value's type and the start of its text, for an error message: bounded in depth
    and length, whatever the client nested (``repr`` of 1,000 nested lists recursed)."""
    text = _SHORT.repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


#: The kinds of number (``dtype.kind``) a JSON array may hold for each target kind:
#: JSON has no integer type of its own, so a float that is whole is an integer.
_ACCEPTS = {"b": "b", "i": "iuf", "u": "iuf", "f": "iuf"}

#: Integers up to this magnitude are exact in float64; beyond it, not all of them are.
_EXACT = 2**53

#: orjson parses an integer literal of this magnitude or more as a float (rounded), but
#: for one that fits UINT64: a float this large may have been an integer literal.
_ORJSON_FLOATS = 2**63


def _numbers(  # noqa: PLR0913 - the cells, their type, names for errors, and what the body says (booleans, exact integers)
    data: list[Any],
    dtype: np.dtype[Any],
    where: str,
    datatype: str = "a number",
    *,
    bools: bool = True,
    written: Callable[[], Any] | None = None,
    nulls: bool = True,
    too_deep: Callable[[list[int]], str] | None = None,
) -> NDArray[np.float64]:
    """``data`` (nested lists from JSON) checked as values of ``dtype`` and given as
    float64 (what the model sees, whatever the wire type), or a 400 naming the first cell
    that is not a number of that kind: text (``"12.5"``), a boolean where a number is
    wanted (or a number where a boolean is), a fraction for an integer type, a value out
    of the type's range (an FP16 or FP32 value that rounds to infinity in it too), or an
    integer literal that float64 cannot hold exactly (beyond 2**53, for every type, the
    float ones too: refused, never rounded). For an integer type, a float literal
    (``1.0``, ``1e3``) is read as float64 first, so one of magnitude 2**53 or more is
    refused (its exact value is lost in parsing) and a fraction below float64's precision
    (``1.0000000000000001``) reads as a whole number. ``None`` is a missing value, NaN
    in a float array when ``nulls`` allows it, else a 400 naming the first (one for
    another type always).

    NumPy reads a boolean among numbers as 0 or 1; ``bools`` says one may be there (the
    body holds ``true`` or ``false``), and the cells are then looked at one by one.
    orjson parses an integer literal beyond 64 bits as a float, rounded: ``written``
    gives the cells as the body wrote them (:func:`_reread`), for the rare request
    holding a number that may have been one. Data nested more than 2 deep (neither
    endpoint takes more) is a 400 saying so by ``too_deep`` of its shape, before any
    cell is read: numpy walks no array of more than 32 dimensions cell by cell."""
    try:
        found = np.asarray(data)
    except (ValueError, TypeError, OverflowError):
        raise _BadRequest(400, _shape_problem(data, where, datatype)) from None
    if found.ndim > 2:
        shape = list(found.shape)
        said = too_deep(shape) if too_deep is not None else None
        raise _BadRequest(400, said or f"{where} is nested as {shape}: at most rows of numbers")
    kind = found.dtype.kind
    if kind == "O":  # None among numbers, or integers beyond int64 and uint64 together
        return _objects(found, dtype, where, datatype, bools=bools, written=written, nulls=nulls)
    if kind == "f" and dtype.kind in "iu" and found.size and not (np.abs(found) < _EXACT).all():
        # An integer among floats was read as a float64, perhaps rounded: the cells as
        # JSON gave them decide (as the body wrote them, for one beyond 64 bits).
        return _object_numbers(np.asarray(data, dtype=object), dtype, where, datatype, written)
    if kind not in _ACCEPTS[dtype.kind] or (
        bools and kind != "b" and _holds_bool(data, found.ndim)
    ):
        raise _BadRequest(400, _shape_problem(data, where, datatype, strict=True))
    if found.size and dtype.kind in "iu":
        if kind == "f" and not np.array_equal(found, np.trunc(found)):
            raise _BadRequest(400, f"{where} holds a fraction, not {datatype} (a whole number)")
        info = np.iinfo(dtype)
        low, high = int(found.min()), int(found.max())
        if low < info.min or high > info.max:
            raise _BadRequest(400, f"{where} holds a value outside {datatype}'s range")
        if kind in "iu" and (low <= -_EXACT or high >= _EXACT):
            _exact_cells(data, found, where)
    elif found.size and dtype.kind == "f":
        low, high = _float_bounds(found, dtype, where, datatype)
        if written is not None and (low <= -_ORJSON_FLOATS or high >= _ORJSON_FLOATS):
            return _numbers(written(), dtype, where, datatype, bools=bools, nulls=nulls)
        if low <= -_EXACT or high >= _EXACT:
            _exact_cells(data, found, where)
    # found is np.asarray's new array, no one else's: a float64 one need not be copied.
    return found.astype(np.float64, copy=False)


def _objects(  # noqa: PLR0913 - _numbers' own arguments
    found: NDArray[Any],
    dtype: np.dtype[Any],
    where: str,
    datatype: str,
    *,
    bools: bool,
    written: Callable[[], Any] | None,
    nulls: bool,
) -> NDArray[np.float64]:
    """:func:`_numbers` of cells numpy reads only as objects: nulls among numbers are
    refused, or read as NaN, in C; other cells (integers beyond 64 bits) are read one by
    one (:func:`_object_numbers`)."""
    missing: NDArray[np.bool_] = np.equal(found, _NULL)
    if not missing.any():
        return _object_numbers(found, dtype, where, datatype, written)
    # A pass in Python over the cells (the slow path) took a body of 4 MB a second and a
    # quarter, and a request of 1,000 rows of 20 with one null 11 ms where the numbers
    # alone take 0.5 ms; this takes 1.2 ms (measured).
    if dtype.kind != "f" or not nulls:
        raise _BadRequest(400, _null_refused(missing, dtype, where, datatype))
    found[missing] = np.nan
    # The cells as numpy reads them when each null is NaN: the checks of cells without
    # one (of kind, range and exactness), with the same messages.
    return _numbers(found.tolist(), dtype, where, datatype, bools=bools, written=written)


#: A null as numpy compares it with each cell of an array of objects.
_NULL = np.array(None, dtype=object)


def _null_refused(
    missing: NDArray[np.bool_], dtype: np.dtype[Any], where: str, datatype: str
) -> str:
    """Why the first null among the cells (where ``missing`` is true) is refused."""
    cell = _cell_name(where, np.unravel_index(int(np.argmax(missing)), missing.shape))
    if dtype.kind == "f":
        return f"{cell} is missing (null); this server was started without --allow-nan"
    return f"{cell} is {_kind(None)}, not {datatype}"


def _float_bounds(
    found: NDArray[Any], dtype: np.dtype[Any], where: str, datatype: str
) -> tuple[Any, Any]:
    """``found``'s least and greatest values, NaN (a null) left out, or a 400 when one
    is beyond the range of ``dtype`` (a float type)."""
    # The ufuncs, not found.min() and found.max(), whose Python wrappers cost a one-row
    # request a microsecond more: 1.3 us for 20 cells, 4.5 us for 20,000 (measured).
    low = np.fmin.reduce(found, axis=None)
    high = np.fmax.reduce(found, axis=None)
    if dtype != np.float64 and (_rounds_to_inf(low, dtype) or _rounds_to_inf(high, dtype)):
        raise _BadRequest(400, f"{where} holds a value outside {datatype}'s range")
    return low, high


def _rounds_to_inf(value: Any, dtype: np.dtype[Any]) -> bool:
    """Whether a finite ``value`` becomes infinity in the float type ``dtype``: a value a
    little beyond its largest finite one that rounds to it (FP32's largest as float32
    writers print it, ``3.4028235e+38``) is that value, not out of range."""
    try:
        source = float(value)
    except OverflowError:  # an integer beyond float64's range
        return True
    if not math.isfinite(source):
        return False
    with np.errstate(over="ignore"):
        return bool(np.isinf(dtype.type(source)))


def _exact_cells(data: list[Any], found: NDArray[Any], where: str) -> None:
    """A 400 for the first integer literal among the cells of magnitude 2**53 or more
    that float64 cannot hold exactly. In a float array (integers among floats in the
    JSON) a cell's value is already rounded: the JSON's cell says whether it was an
    integer, and which."""
    rounded = found.dtype.kind == "f"
    for index in zip(*np.nonzero((found <= -_EXACT) | (found >= _EXACT)), strict=True):
        if rounded:
            cell: Any = data
            for i in index:
                cell = cell[i]
        else:
            cell = found[index].item()
        if type(cell) is int and float(cell) != cell:
            raise _not_exact(cell, _cell_name(where, index))


def _cell_name(where: str, index: Iterable[Any]) -> str:
    return where + "".join(f"[{int(i)}]" for i in index)


def _not_exact(value: int, where: str) -> _BadRequest:
    return _BadRequest(
        400,
        f"{where} holds {value}, which the model cannot be given exactly: requests are "
        f"converted to float64, which holds integers exactly only up to 2**53",
    )


#: Nesting the standard library's parser is given when a body must be read again: well
#: inside Python's recursion limit (1,000) whatever the stack it is called on.
_MAX_REREAD_DEPTH = 200
#: The step each byte takes the nesting: +1 for ``[`` and ``{``, -1 for ``]`` and ``}``.
_BRACKET_STEPS = np.zeros(256, dtype=np.int8)
_BRACKET_STEPS[[ord("["), ord("{")]] = 1
_BRACKET_STEPS[[ord("]"), ord("}")]] = -1
#: Bytes of the body :func:`_nesting` looks at a time: its arrays for one piece (the
#: running depth is 8 bytes a byte) take about 1 MiB, whatever the body.
_NESTING_PIECE = 2**17


def _too_deep() -> _BadRequest:
    return _BadRequest(
        400,
        "the body nests arrays or objects too deeply to be read exactly where it holds "
        "a number of magnitude 2**63 or more; nest less",
    )


def _nesting(body: bytes) -> int:
    """How deep the arrays and objects of the JSON ``body`` nest (brackets inside strings
    left out).

    Examples
    --------
    >>> _nesting(b'{"a": [[1], "[[["]}')
    3
    """
    # No regular expression: one for a JSON string keeps a backtracking point per escape
    # or per character (a body of 3.5 MB of "\n" escapes took 200 MiB), and re.sub a
    # piece per string. The escapes go first: the backslashes of a run paired from its
    # start (bytes.replace pairs them so, as a JSON reader reads them), then an escaped
    # quote; what is left of a string is its quotes and plain bytes. A byte is inside a
    # string where an odd number of quotes came before it. A copy of the body at most,
    # then arrays for one piece of it at a time.
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    code = np.frombuffer(plain, dtype=np.uint8)
    inside = False  # whether the piece begins inside a string
    depth = deepest = 0
    for start in range(0, len(code), _NESTING_PIECE):
        piece = code[start : start + _NESTING_PIECE]
        quoted = np.logical_xor.accumulate(piece == ord('"'))
        if inside:
            np.logical_not(quoted, out=quoted)
        steps = _BRACKET_STEPS[piece]
        steps[quoted] = 0
        running = np.cumsum(steps, dtype=np.int64)
        deepest = max(deepest, depth + int(running.max()))
        depth += int(running[-1])
        inside = bool(quoted[-1])
    return deepest


def _reread(body: bytes, *path: Any) -> Any:
    """What ``body`` holds at ``path``, read by the standard library's parser, which
    keeps an integer literal beyond 64 bits exact where orjson made it a float (bounded
    by the body limit; only for a request holding a number of such magnitude)."""
    # The standard library's parser recurses: how deep it gets depends on the stack it is
    # called on, so a depth near the limit was refused or not from run to run. Refused
    # beyond a fixed depth first, counted outside strings (bounded by the body limit).
    if _nesting(body) > _MAX_REREAD_DEPTH:
        raise _too_deep() from None
    try:
        value = json.loads(body)
    except RecursionError:
        # orjson parsed it (it allows deeper nesting than the standard library does).
        raise _too_deep() from None
    except ValueError as exc:
        raise _BadRequest(400, f"the body is not valid JSON: {exc}") from None
    for key in path:
        value = value[key]
    return value


def _may_hold_bools(body: bytes, looks: int = 64) -> bool:
    """Whether ``body`` may hold a JSON ``true`` or ``false``: False only when neither word
    is in it. Each ``t`` and ``f`` is found by ``bytes.find`` (memchr: microseconds for a
    megabyte, where ``b"true" in body`` takes a fifth of a millisecond); a body with more
    than ``looks`` of them is taken to hold one, so the loop is bounded."""
    for first, rest in ((b"t", b"rue"), (b"f", b"alse")):
        at = body.find(first)
        for _ in range(looks):  # bounded: looks finds a letter
            if at < 0:
                break
            if body.startswith(rest, at + 1):
                return True
            at = body.find(first, at + 1)
        else:
            return True
    return False


def _holds_bool(data: list[Any], depth: int) -> bool:
    """Whether a regular nested list ``depth`` deep holds a boolean (one pass over its
    cells, bounded by the body limit)."""
    cells: Iterable[Any] = data
    for _ in range(depth - 1):
        cells = itertools.chain.from_iterable(cells)
    return any(type(cell) is bool for cell in cells)


def _object_numbers(
    found: NDArray[Any],
    dtype: np.dtype[Any],
    where: str,
    datatype: str,
    written: Callable[[], Any] | None = None,
) -> NDArray[np.float64]:
    """The slow path of :func:`_numbers`, cell by cell in Python numbers, exactly (bounded
    by the body limit); a float orjson may have made of an integer literal beyond 64 bits
    sends it over the cells as ``written`` gives them."""
    integer = dtype.kind in "iu"
    low, high = (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)) if integer else (0, 0)
    largest = float(np.finfo(dtype).max) if dtype.kind == "f" else 0.0
    values: list[float] = []

    def name(at: int) -> str:  # a cell's name, as the fast path's errors give it: x[0][3]
        return _cell_name(where, np.unravel_index(at, found.shape))

    for at, cell in enumerate(found.flat):
        if cell is None and dtype.kind == "f":
            values.append(math.nan)
            continue
        if type(cell) is bool and dtype.kind == "b":
            values.append(float(cell))
            continue
        if dtype.kind == "b" or (type(cell) is not int and type(cell) is not float):
            if isinstance(cell, list):
                raise _BadRequest(400, _shape_problem(found.tolist(), where, datatype))
            raise _BadRequest(400, f"{name(at)} is {_kind(cell)}, not {datatype}")
        if (
            written is not None
            and type(cell) is float
            and abs(cell) >= _ORJSON_FLOATS
            and not _outside_whatever_written(cell, dtype, low, high)
        ):
            # Perhaps an integer literal beyond 64 bits, rounded (-2**63 - 1 arrives as
            # -2**63, inside INT64's range): the cells as the body wrote them decide. One
            # beyond the type's range whatever literal rounded to it is refused below as
            # out of range without that (reading a body of megabytes again took hundreds
            # of milliseconds).
            return _object_numbers(np.asarray(written(), dtype=object), dtype, where, datatype)
        if integer:
            if type(cell) is float and not cell.is_integer():
                raise _BadRequest(
                    400, f"{name(at)} holds a fraction, not {datatype} (a whole number)"
                )
            if not low <= int(cell) <= high:
                raise _BadRequest(400, f"{name(at)} holds a value outside {datatype}'s range")
            if type(cell) is float and abs(cell) >= _EXACT:
                # The JSON parser made this literal a float64 already: 9007199254740993.0
                # arrives as ...992.0, so what the client wrote cannot be known.
                raise _BadRequest(
                    400,
                    f"{name(at)} holds a float literal of magnitude 2**53 or more for "
                    f"{datatype} (parsed as {cell!r}): float64 cannot hold it exactly, so "
                    "its value is not known; send integers as integer literals "
                    "(9007199254740993, not 9007199254740993.0 or 9.007199254740993e15)",
                )
        elif abs(cell) > largest and _rounds_to_inf(cell, dtype):
            raise _BadRequest(400, f"{name(at)} holds a value outside {datatype}'s range")
        if type(cell) is int and float(cell) != cell:
            raise _not_exact(cell, name(at))
        values.append(float(cell))
    return np.array(values, dtype=np.float64).reshape(found.shape)


def _outside_whatever_written(cell: float, dtype: np.dtype[Any], low: int, high: int) -> bool:
    """Whether every number that rounds to the float64 ``cell`` is beyond the range of
    ``dtype`` (``low`` to ``high`` for an integer type): a literal is within half a unit
    in the last place of the float it is read as (2**10 from 2**63 to 2**64), so one a
    whole unit beyond the range is out of it whatever the body wrote.

    Examples
    --------
    >>> import numpy as np
    >>> int64 = np.dtype(np.int64)
    >>> _outside_whatever_written(2.0**70, int64, -(2**63), 2**63 - 1)
    True
    >>> _outside_whatever_written(-(2.0**63), int64, -(2**63), 2**63 - 1)  # -2**63 - 1?
    False
    """
    if dtype.kind in "iu":
        margin = math.ulp(cell)
        return not low - margin <= cell <= high + margin
    return _rounds_to_inf(cell, dtype)


def _shape_problem(
    rows: Any, where: str, datatype: str = "a number", *, strict: bool = False
) -> str:
    """Say which cell or row makes a nested list unusable as a numeric matrix (``strict``:
    a boolean is not a number, and for ``BOOL`` a number is not a boolean): the first
    wrong cell wherever it is (a row's by its row and column, a cell of flat v2 data by
    its own index), else rows of different lengths.

    One pass over the rows and over each row's cells, ending at the first wrong cell:
    bounded by the rows and cells of the request, so by the body limit.

    Examples
    --------
    >>> _shape_problem([[1, 2, 3]] * 20_000 + [[1, "2", 3]], "instances")
    "instances[20000][1] is str '2', not a number"
    >>> _shape_problem([[1, 2], [3]], "instances")
    'instances rows have different lengths ([1, 2]); all must match'

    A wrong cell is named before rows of different lengths, wherever each is:

    >>> _shape_problem([[1, 2], [3]] + [[1, 2]] * 1000 + [[1, "x"]], "instances")
    "instances[1002][1] is str 'x', not a number"
    """
    if not isinstance(rows, list):
        return f"{where} is not a list of rows of numbers"
    bools = datatype == "BOOL"
    if strict and bools:
        passing: set[type] = {bool}
    elif strict:
        passing = {int, float, type(None)}
    else:
        passing = {int, float, bool, type(None)}
    widths: set[int] = set()
    for i, row in enumerate(rows):
        if type(row) is not list:
            if type(row) not in passing and _wrong_cell(row, strict=strict, bools=bools):
                return f"{_cell_name(where, (i,))} is {_kind(row)}, not {datatype}"
            continue
        widths.add(len(row))
        for j, cell in enumerate(row):
            if type(cell) not in passing and _wrong_cell(cell, strict=strict, bools=bools):
                return f"{_cell_name(where, (i, j))} is {_kind(cell)}, not {datatype}"
    if len(widths) > 1:
        return f"{where} rows have different lengths ({sorted(widths)[:5]}); all must match"
    return f"{where} is not a list of rows of numbers"


def _wrong_cell(cell: Any, *, strict: bool, bools: bool) -> bool:
    """Whether ``cell`` is not a number (``strict``: a boolean is not one, and for
    ``BOOL`` (``bools``) only a boolean is one; ``None`` is one but for ``BOOL``)."""
    if strict and isinstance(cell, bool) != bools:
        return True
    return cell is not None and not isinstance(cell, (int, float))


def create_app(  # noqa: PLR0913 - public factory: in-memory model or registry reference, each keyword-only and documented
    model: Any = None,
    *,
    name: str = "model",
    version: str = "0",
    registry: Any = None,
    ref: str = "latest",
    config: ServeConfig | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Starlette:
    """An ASGI app serving one model: from memory, or one verified registry version.

    Give either ``model`` (anything with ``predict``, or a callable; served as ``name``
    and ``version``) or ``registry`` (a URL or a :class:`~modelship.Registry`) with
    ``name`` and ``ref``: the reference (``"3"``, ``"latest"``, ``"@production"``) is
    resolved to one version now, so a missing version fails here, and the artifact is
    loaded and verified on a worker thread when the app starts, then warmed up. Run the
    app with any ASGI server (``uvicorn.run(app)``); ``modelship serve`` does that.
    ``name`` and ``version`` are a model name and a version as the registry takes them
    (:class:`~modelship.errors.InvalidName` otherwise).

    Examples
    --------
    >>> import functools, numpy as np
    >>> from starlette.testclient import TestClient
    >>> from modelship.deploy.serve import ServeConfig, create_app
    >>> app = create_app(functools.partial(np.sum, axis=1), name="adder", version="1",
    ...                  config=ServeConfig(warmup=[[0.0, 0.0]]))
    >>> import time
    >>> with TestClient(app) as client:  # the app loads in the background: 503 until ready
    ...     waits = 0
    ...     while client.get("/ready").status_code != 200 and waits < 6000:
    ...         waits += 1
    ...         time.sleep(0.01)
    ...     client.post("/predict", json={"instances": [[1, 2], [3, 4]]}).json()
    {'predictions': [3.0, 7.0], 'model': 'adder', 'version': '1'}
    """
    if (model is None) == (registry is None):
        raise ConfigError("give either a model or a registry (with name and ref), not both")
    config = _serve_config(config)  # before the registry is asked for anything
    if registry is None:
        _model_callables(model)
        return ModelServer(lambda: model, name=name, version=version, config=config).app
    if isinstance(registry, str) or hasattr(registry, "__fspath__"):
        import modelship as ms

        registry = ms.open_registry(registry, **dict(storage_options or {}))
    elif storage_options:
        raise ConfigError(_already_open(None, storage_options))
    mv = registry.get(name, ref)
    return ModelServer(
        lambda: registry.load(name, mv.version),
        name=name,
        version=mv.version,
        config=config,
        digest=mv.artifact.digest,
    ).app


def _already_open(signing_key: Any, storage_options: dict[str, Any] | None) -> str:
    """The refusal of options given with a :class:`~modelship.Registry` already open: they
    cannot apply to it, and are refused, never dropped (a wrong key would serve unverified)."""
    given = [
        *(["signing_key"] if signing_key is not None else []),
        *(["storage_options"] if storage_options else []),
    ]
    return (
        f"the registry is already open: give {' and '.join(given)} to open_registry and "
        "pass the registry it opens, or pass the registry's URL; options for an open "
        "registry are refused, never dropped"
    )
