"""``ServeConfig``: how the model server reads requests, warms up and logs predictions."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from modelship._shown import brief, hide_credentials
from modelship.deploy.serve._log import (
    DEFAULT_MAX_PENDING_BYTES,
    fingerprint_key_bytes,
    finite_positive,
)
from modelship.errors import ConfigError

FINAL_FLUSH_SECONDS = 5.0
"""Seconds the prediction log's final flush may take at shutdown, after the requests'
grace period (at most ``graceful_seconds`` too): the process exits within
``graceful_seconds`` + 5 s of SIGTERM, inside a Kubernetes pod's termination grace and
before the LocalDeployer's SIGKILL, which both count it."""

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_MAX_QUEUE",
    "OFFLOAD_SECONDS",
    "V2_OUTPUTS",
    "ServeConfig",
]

DEFAULT_MAX_BODY_BYTES = 4 * 2**20
"""4 MiB: about 10,000 rows of 20 features as JSON, far above one online request, small
enough that a flood of oversized bodies cannot exhaust a replica's memory."""


DEFAULT_MAX_QUEUE = 32
"""Inference requests one server holds at once (being read, waiting for the model, or
being predicted): one process predicts one request at a time, so 32 is a queue of 3.2 s
behind a 100 ms model, and at most 32 bodies of ``max_body_bytes`` (128 MiB at the
default, the LocalDeployer router's own bound) are held while the model is slow or hung.
Past it a request gets a 503 with ``Retry-After`` at once, before its body is kept."""


OFFLOAD_SECONDS = 0.01
"""10 ms: a thread hop costs tens of microseconds, under 1% of such a prediction, and a
loop held 10 ms delays a probe by as little. Far above a one-row scikit-learn prediction
(about 0.1 ms here), so it stays inline even when a loaded machine's scheduler stretches
some calls; with 2 ms, a cold first call or a profiler was enough to send such a model to
the thread."""


def _positive_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _positive_float(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not finite_positive(value):
        raise ConfigError(
            f"{attribute.name} must be a finite number > 0 (an int or a float), got {brief(value)}"
        )


def _optional_seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not finite_positive(value):
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds > 0, or None for no "
            f"deadline, got {brief(value)}"
        )


def _truth(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{attribute.name} must be True or False, got {brief(value)}")


def _warmup(value: Any) -> Any:
    """Accept None, False (skip) or a non-empty 2-D sequence of numbers (made a tuple)."""
    if value is None or value is False:
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"warmup must be a non-empty list of rows (e.g. [[0.0, 1.5]]), None or False, "
            f"got {brief(value)}"
        )
    rows = []
    for i, row in enumerate(value):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or not row:
            raise ConfigError(f"warmup[{i}] must be a non-empty list of numbers, got {brief(row)}")
        cells = []
        for j, cell in enumerate(row):
            # numbers.Real: Python's and numpy's integers and floats (np.int64(0) from an
            # array's rows), not a truth value (bool is an int; numpy's is not Real).
            if isinstance(cell, bool) or not isinstance(cell, numbers.Real):
                raise ConfigError(
                    f"warmup[{i}][{j}] must be a number (an int or a float), got {brief(cell)}"
                )
            try:
                cells.append(float(cell))
            except OverflowError:  # an integer past float64's range (about 1.8e308)
                raise ConfigError(
                    f"warmup[{i}][{j}] is {brief(cell)}, too large for a float64 (at most "
                    "about 1.8e308); give warm-up rows of numbers within that range"
                ) from None
        rows.append(tuple(cells))
    if len({len(row) for row in rows}) != 1:
        raise ConfigError("warmup rows must all have the same number of features")
    return tuple(rows)


V2_OUTPUTS = ("predict", "predict_proba")
"""The outputs a v2 request may name: each is one model method."""


def _v2_default_outputs(value: Any) -> Any:
    """Accept None (every output) or a non-empty list of distinct output names (a tuple)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"v2_default_outputs must be None or a non-empty list of output names "
            f"(e.g. ['predict']), got {value!r}"
        )
    names = tuple(value)
    for name in names:
        if name not in V2_OUTPUTS:
            raise ConfigError(
                f"v2_default_outputs: unknown output {name!r}; outputs are {list(V2_OUTPUTS)}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"v2_default_outputs names an output more than once: {list(names)}")
    return names


def _shown_url(value: Any) -> str:
    """``repr`` of the prediction log URL, its credentials shown as ``***``."""
    return repr(hide_credentials(value)) if isinstance(value, str) else repr(value)


def _masked_options(value: Any) -> str:
    """``repr`` of storage options naming each option, never its value: a key, secret or
    token may be any of them (``client_kwargs={"aws_secret_access_key": ...}``)."""
    if not isinstance(value, dict):
        return repr(value)
    return "{" + ", ".join(f"{brief(key)}: '***'" for key in value) + "}"


def _masked_key(value: Any) -> str:
    """``repr`` of the fingerprint key: whether there is one, never the key."""
    return "None" if value is None else "'***'"


def _log_inputs(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("full", "fingerprint"):
        raise ConfigError(f"log_inputs must be 'full' or 'fingerprint', got {value!r}")


@attrs.frozen
class ServeConfig:
    """How the model server reads requests, warms up, offloads slow models and logs.

    Parameters
    ----------
    max_body_bytes : int
        Largest request body accepted; a larger one gets ``413`` as soon as the limit is
        crossed while reading (before the rest is buffered). Default 4 MiB.
    warmup : list of rows, None or False
        The rows predicted once before the server reports ready. ``None`` (default)
        derives one row of zeros from the model's ``n_features_in_``; a model without it
        then fails to start, asking for ``warmup``. ``False`` skips the warm-up (the
        server is ready as soon as the model is loaded and verified).
    allow_nan : bool
        Accept ``null`` cells (read as NaN) for models that handle missing values; by
        default a request with a missing value gets ``400``.
    offload_seconds : float
        A model whose predictions take longer than this per request (judged on the
        warm-up, then on the median of each 16 calls) is called on a worker thread so
        probes and metrics keep answering; faster ones are called inline, which is the
        fastest path.
    prediction_log : str or None
        Folder path or fsspec URL to log predictions to, in batches (see
        :class:`~modelship.deploy.serve.PredictionLog`).
    log_inputs : {"full", "fingerprint"}
        Log each row's features, or only their fingerprint (see ``fingerprint_key``).
    log_storage_options : dict
        fsspec options for the prediction log's store (credentials, endpoint).
    log_batch_rows, log_flush_seconds : int, float
        A batch is written when this many rows wait, or this often.
    log_max_pending_bytes : int
        At most this many bytes of logged inputs and outputs wait to be written (64 MiB
        by default); past it, and past 100,000 rows, rows are dropped and counted.
    max_queue : int
        At most this many inference requests are held at once (read, and waiting for
        the model or being predicted; counted once the body has arrived, so a slow
        sender holds no place); past it a request gets a ``503`` with ``Retry-After: 1``
        saying the server is saturated (counted as ``kind="saturated"``). Default 32.
    predict_timeout : float or None
        Seconds a request may wait for the model's answer (queued behind other calls
        and computed) before it gets a ``504``; while one model call has run longer
        than this, ``/ready`` answers ``503`` saying so. The call itself cannot be
        stopped: it runs on until it returns. Applies to calls on the worker thread; a
        call inline on the event loop holds the loop, so nothing answers until it
        ends. ``None`` (default): no deadline.
    graceful_seconds : float
        On SIGTERM, how long in-flight requests may take to finish before they are
        cancelled (Kubernetes' default grace period is 30 s).
    v2_default_outputs : list of str or None
        The outputs a v2 inference request that names no ``outputs`` gets. ``None``
        (default) is the protocol's rule: every output the metadata lists, so a
        classifier with ``predict_proba`` runs both methods on each such request (measured:
        1.7 to 1.9 times the cost of ``predict`` alone). ``["predict"]`` answers such
        requests with ``predict`` only; a request naming its outputs gets what it names.
        A name the model has no method for fails the start-up (``ConfigError``).
    slot : str or None
        The deployment slot this server fills (``"stable"``, ``"canary"``...); when set,
        every metric series carries a ``slot`` label, which the monitor's queries select
        on. The :class:`~modelship.deploy.local.LocalDeployer` sets it for each slot.
    fingerprint_key : bytes or str, optional
        A secret of at least 16 bytes for ``log_inputs="fingerprint"``: each row is then
        logged as its HMAC-SHA-256 under the key, which no one without it can reverse.
        Without a key the fingerprint is a plain SHA-256, which anyone who reads the log
        can reverse for rows of few possible values by hashing every possible row; the
        server warns so at start. Shown as ``'***'`` in the config's ``repr``, and in no message.

    Examples
    --------
    >>> from modelship.deploy.serve import ServeConfig
    >>> ServeConfig(max_body_bytes=1024, warmup=[[0, 1.5]]).warmup
    ((0.0, 1.5),)
    >>> ServeConfig(max_body_bytes=0)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: max_body_bytes must be an integer >= 1, got 0
    >>> ServeConfig(log_inputs="fingerprint", fingerprint_key=b"k" * 32)
    ServeConfig(..., log_inputs='fingerprint', ..., fingerprint_key='***')
    """

    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive_int)
    warmup: tuple[tuple[float, ...], ...] | Literal[False] | None = attrs.field(
        default=None, converter=_warmup
    )
    allow_nan: bool = attrs.field(default=False, validator=_truth)
    offload_seconds: float = attrs.field(default=OFFLOAD_SECONDS, validator=_positive_float)
    prediction_log: str | None = attrs.field(default=None, repr=_shown_url)
    log_inputs: Literal["full", "fingerprint"] = attrs.field(default="full", validator=_log_inputs)
    log_storage_options: dict[str, Any] = attrs.field(
        factory=dict, hash=False, repr=_masked_options
    )
    log_batch_rows: int = attrs.field(default=1000, validator=_positive_int)
    log_flush_seconds: float = attrs.field(default=5.0, validator=_positive_float)
    log_max_pending_bytes: int = attrs.field(
        default=DEFAULT_MAX_PENDING_BYTES, validator=_positive_int
    )
    graceful_seconds: float = attrs.field(default=30.0, validator=_positive_float)
    max_queue: int = attrs.field(default=DEFAULT_MAX_QUEUE, validator=_positive_int)
    predict_timeout: float | None = attrs.field(default=None, validator=_optional_seconds)
    v2_default_outputs: tuple[str, ...] | None = attrs.field(
        default=None, converter=_v2_default_outputs
    )
    slot: str | None = attrs.field(default=None)
    fingerprint_key: bytes | None = attrs.field(
        default=None, converter=fingerprint_key_bytes, repr=_masked_key
    )

    @fingerprint_key.validator
    def _check_fingerprint_key(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and self.log_inputs != "fingerprint":
            raise ConfigError(
                "fingerprint_key is given but log_inputs is 'full': the rows' features are "
                "logged, not fingerprints; set log_inputs='fingerprint', or give no key"
            )

    @slot.validator
    def _check_slot(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"slot must be a non-empty string or None, got {value!r}")

    @log_storage_options.validator
    def _check_log_options(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"log_storage_options must be a dict, got {value!r}")

    @prediction_log.validator
    def _check_log(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"prediction_log must be a folder path or URL, got {value!r}")
