"""Model quality against ground truth that arrives late: the model server's prediction log
joined with the outcomes the user records afterwards.

The join key of a prediction is its ``request_id`` and ``row`` (the row of a batch
request; 0 for a single-row request). :meth:`OutcomeSource.record_outcomes` takes the same
keys with the true values; the join is kept incrementally (a dictionary look-up per new
prediction or outcome), so evaluating a window never re-joins the history.

What the source promises (each rule is tested):

* **Window.** A window ``(start, end]`` of a version holds the predictions the version
  made in it (the log's ``timestamp``) whose outcome was recorded at or before ``as_of``
  (by default the source's clock when asked). Its sample size is the number of such
  pairs the metric rests on (:attr:`WindowMetric.support`): all of them, but for a
  proportion its denominator (recall: the positive outcomes; precision: the predicted
  positives; f1: ``tp + fp + fn``) and for roc_auc the smaller class, so that
  ``min_samples`` never lets 2 positives among 1,000 pairs judge a recall.
* **Late outcomes.** An outcome may arrive any time after its prediction: it counts in
  every evaluation made after it was recorded, including of windows already evaluated
  (a window is not frozen; each decision keeps what it saw, with its ``n``). Pass
  ``as_of`` to evaluate as things stood at a past time.
* **Unknown request ids.** An outcome whose prediction is not (yet) loaded is kept and
  joined when the prediction arrives (the log is written in batches, so labels can come
  first); :attr:`OutcomeSource.unmatched` counts them.
* **Duplicates.** A second outcome for the same key replaces the first (a correction),
  with its own recorded time; :class:`RecordSummary` counts replacements. The value it
  replaced is kept with its time, so ``as_of`` before the correction still sees the
  value known then: memory grows by one entry per correction, and only then (the same
  value recorded again keeps its first time and adds nothing). A prediction seen
  before (its key, version and method, time stamp and output all alike) is ignored and
  counted, so loading a log twice is harmless.
* **Reused request ids.** A prediction whose key, version and method were seen before
  with another time stamp or output is a client reusing its request id (a constant v2
  ``id`` or ``X-Request-ID``): both are kept, counted in
  :attr:`OutcomeSource.reused_request_ids`, and the id joins no outcome (an outcome for
  it cannot say which prediction it is of): such outcomes are counted in
  :attr:`OutcomeSource.unattributed`, the window's predictions of such ids in
  :attr:`WindowMetric.reused` and a fetch's warnings, and the source warns once
  (:class:`~modelship.errors.ModelshipWarning`) naming the first ids.
* **Missing values.** A prediction logged as ``null`` (NaN) is left out of every window
  and counted in ``dropped``; a NaN or infinite outcome is refused.
* **predict and predict_proba in one log.** One server answers both, so its log holds
  scalar outputs (``predict``) and ``[p0, p1]`` pairs (``predict_proba`` of a binary
  classifier). A row's ``method`` says which it is (its output's shape only for a row
  logged without one); :meth:`OutcomeSource.load_prediction_log` keeps a pair as ``p1``
  marked as a probability; a metric reads the rows of the method it needs: labels and regression
  metrics the scalar outputs, ``roc_auc``, ``log_loss`` and ``brier`` the probabilities
  when the version logged any (its scalar outputs otherwise, as for a model whose
  ``predict`` answers a score). A row answered by several methods (a KServe v2 request
  naming no outputs) is logged once, with each method's answer in ``outputs``: its
  ``predict`` and ``predict_proba`` answers are two predictions, read as above. A list
  that is not a pair of probabilities (a multi-class or multi-output model) is refused
  with :class:`~modelship.errors.ConfigError`, as is a list logged as a ``predict``
  answer (a multi-output model's) or a number logged as a ``predict_proba`` one.
* **Undefined metrics are never zeros.** A metric whose denominator is zero on the window
  (recall without a positive outcome, precision without a predicted positive, f1 with
  neither, r2 of constant outcomes, roc_auc of one class) has ``value`` NaN with the
  reason, and a fetch answers :class:`~modelship.monitor.NoData`, where
  :mod:`modelship.checks.stats` answers 0 as scikit-learn does. Likewise a bound that
  cannot be estimated (a standard error of one pair; DeLong's with fewer than two
  positives or negatives) is NaN, never clipped to 0, and a fetch of it is ``NoData``.

Storage and crash safety: with ``path``, each :meth:`~OutcomeSource.record_outcomes` call
is one line appended to a JSON-lines file (``<sha256 of payload> <payload>``), written
with a single ``write`` on a file opened with ``O_APPEND`` and ``fsync``-ed *before* the
outcomes are applied in memory: a call that returned is on disk. A crash during the write
leaves at most a torn last line, which reopening detects (its checksum fails or it has no
newline) and drops with a warning in :attr:`OutcomeSource.recovered`; a bad line anywhere
else is corruption and raises :class:`OutcomeLogError`. Each append holds an exclusive
``flock`` on the file until it is ``fsync``-ed; an opener takes it only to read the file
and cut a torn tail (it parses the bytes read after releasing it). An opener that gets
the lock at once copies the torn bytes to ``<name>.cut-<unix time in ns>-<pid>-<n>`` and
cuts them off the file (so the next batch starts a line of its own), and one that does
not (another process is appending) drops them in memory only; the next append, under the
lock, reads the file's last line back and, when it is torn (no newline) or fails its
checksum, moves it aside the same way before writing. POSIX only; advisory locks may not
hold on NFS (there, one process per file). A write that fails is cut off before the call raises.

Threads: one lock serialises recording (the file append and the in-memory update, as one
step) and the reading of a window, so a window sees a call's outcomes all or none.

Confidence intervals (``confidence`` two-sided; each end is the one-sided bound at
``(1 + confidence) / 2``), by metric:

==========================  =====================================================
accuracy, precision, recall  Wilson score interval of the proportion
f1                           percentile bootstrap of the 2x2 table (multinomial cell
                             counts, exactly the row bootstrap; seeded)
roc_auc                      DeLong's variance (placement values), normal, clipped to [0, 1]
                             (NaN, not clipped, with fewer than 2 positives or negatives)
log_loss, brier, mae         Student's t interval (n - 1 df) of the mean of the per-row
                             terms
rmse                         Student's t interval of ``log`` of the mean squared error
                             (delta method), exponentiated and square-rooted
r2                           Student's t interval of ``log(mean(e^2) / mean((y - mean
                             y)^2))`` (delta method), carried to ``r2 = 1 - that ratio``
==========================  =====================================================

The t-based intervals are asymptotic: by simulation (4000 windows each, 95 % asked) they
cover 0.92-0.94 at n = 20 and 0.94-0.95 at n = 200 with normal errors, less with
heavy-tailed errors (rmse 0.86 at n = 20, 0.91 at n = 200 with Student-t(5) errors);
docs/monitoring-quality.md has the table. Give a condition on them ``min_samples`` of 200
or more.

Examples
--------
>>> import modelship as ms
>>> src = ms.monitor.OutcomeSource(now=100.0)
>>> src.add_predictions([{"request_id": f"r{i}", "row": 0, "timestamp": 50.0 + i,
...                       "version": "2", "output": i % 2} for i in range(40)])
40
>>> src.record_outcomes([f"r{i}" for i in range(40)], [1] * 40).matched
40
>>> w = src.evaluate("accuracy", version="2", start=0.0, end=100.0)
>>> w.value, w.n, round(w.ci_low, 3), round(w.ci_high, 3)
(0.5, 40, 0.352, 0.648)
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import count, repeat
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import special

from modelship._params import (
    Constraints,
    Interval,
    MappingOf,
    Spec,
    Text,
    check_parameters,
    validate_params,
)
from modelship._rollback._conditions import check_stat, quantile_of
from modelship._rollback._constraints import COUNT, LEVEL, SLOT, TIME, read_fields
from modelship._rollback._sources import (
    ENCODED_FLOAT,
    NoData,
    Outcome,
    Samples,
    as_clock,
    decode_float,
)
from modelship._shown import brief
from modelship.checks import stats
from modelship.errors import (
    CheckInputError,
    ConfigError,
    EmptyData,
    ModelshipError,
    ModelshipWarning,
)
from modelship.monitor._timeindex import Column, TimeIndex

if sys.platform != "win32":
    import fcntl

__all__ = [
    "OUTCOME_METRICS",
    "OutcomeLogError",
    "OutcomeSource",
    "RecordSummary",
    "WindowMetric",
]

FloatArray = npt.NDArray[np.float64]
Key = str | tuple[str, int]
Kind = Literal["labels", "scores", "probabilities", "regression"]

#: The metrics an :class:`OutcomeSource` computes, by name, with the kind of prediction
#: each takes (as :mod:`modelship.checks.stats` defines them) and its interval method.
OUTCOME_METRICS: Mapping[str, tuple[Kind, str]] = {
    "accuracy": ("labels", "wilson"),
    "precision": ("labels", "wilson"),
    "recall": ("labels", "wilson"),
    "f1": ("labels", "bootstrap"),
    "roc_auc": ("scores", "delong"),
    "log_loss": ("probabilities", "t"),
    "brier": ("probabilities", "t"),
    "mae": ("regression", "t"),
    "rmse": ("regression", "t"),
    "r2": ("regression", "delta"),
}

_COMPUTE: Mapping[str, Callable[[npt.ArrayLike, npt.ArrayLike], float]] = {
    "accuracy": stats.accuracy,
    "precision": stats.precision,
    "recall": stats.recall,
    "f1": stats.f1,
    "roc_auc": stats.roc_auc,
    "log_loss": stats.log_loss,
    "brier": stats.brier,
    "mae": stats.mae,
    "rmse": stats.rmse,
    "r2": stats.r2,
}

# F1 bootstrap resamples: 2,000 keeps the Monte Carlo error of a 2.5 % quantile near 0.3
# of a percentile point; each resample is 4 cell counts, so the cost does not depend on n.
_F1_RESAMPLES = 2000
_LOG_VERSION = 1
# How far p0 + p1 of a logged predict_proba pair may be from 1: float32 models (LightGBM,
# XGBoost) sum to 1 within about 1e-7; a two-output regression is almost never this close.
PAIR_SUM_TOLERANCE = 1e-4
_PROBABILITY_KINDS = frozenset({"scores", "probabilities"})
_FIELDS = frozenset({"request_id", "timestamp", "version", "output"})
# The methods whose answers a logged row's "outputs" may hold: predict's (scalars), then
# predict_proba's ([p0, p1] pairs).
_METHODS = ("predict", "predict_proba")
# A prediction's link to its outcome: the outcome's position, or one of these.
_NO_OUTCOME = -1  # none recorded (yet)
_REUSED = -2  # its request id was reused for another prediction: no outcome is attributed
# Reused request ids named by the warning (the first ones seen).
_NAMED_IDS = 5


class OutcomeLogError(ModelshipError):
    """An outcomes file holds a line that is not a verified batch (other than a torn last
    line), or cannot be appended to.

    Examples
    --------
    >>> import os, tempfile
    >>> import modelship as ms
    >>> path = os.path.join(tempfile.mkdtemp(), "outcomes.log")
    >>> with open(path, "wb") as f:  # two lines no OutcomeSource wrote
    ...     _ = f.write(b"not a batch\\nnot a batch either\\n")
    >>> ms.monitor.OutcomeSource(path)
    Traceback (most recent call last):
    ...
    modelship.monitor.OutcomeLogError: ...outcomes.log, line 1: not a verified batch of outcomes ...
    """


def _unreadable(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"path={str(path)!r} cannot be read as an outcomes file ({exc.strerror or exc}); give "
        "the path of a file (a missing one is created when an outcome is recorded)"
    )


@attrs.frozen
class RecordSummary:
    """What one :meth:`OutcomeSource.record_outcomes` call did.

    Attributes
    ----------
    recorded : int
        Outcomes given (``matched + unmatched + replaced + unattributed``).
    matched : int
        New outcomes joined with a known prediction now.
    unmatched : int
        New outcomes kept until their prediction is loaded.
    replaced : int
        Outcomes given for a key recorded before (a correction, or the same value
        again, which changes nothing) or repeated within the call (the last one wins).
    unattributed : int
        New outcomes for a request id logged for several different predictions (a
        reused ``X-Request-ID``): not joined, since they cannot say which prediction they
        are of.

    Examples
    --------
    >>> from modelship.monitor import RecordSummary
    >>> RecordSummary(recorded=3, matched=2, unmatched=1, replaced=0).matched
    2
    """

    recorded: int
    matched: int
    unmatched: int
    replaced: int
    unattributed: int = 0


@attrs.frozen
class WindowMetric:
    """A model-quality metric of one version over one window, with its interval.

    Attributes
    ----------
    metric, version : str
    value : float
        The metric over the window's joined pairs; NaN when ``n == 0`` or the metric is
        undefined there (``reason`` says why).
    n : int
        Joined pairs (prediction with an outcome) in the window.
    support : int or None
        The pairs the value rests on, which a fetch answers as the sample size
        (:attr:`Samples.count`, so a condition's ``min_samples`` counts them): the
        metric's denominator for a proportion (recall: the positive outcomes,
        ``tp + fn``; precision: the predicted positives, ``tp + fp``; f1:
        ``tp + fp + fn``), the smaller class for roc_auc, ``n`` for the others.
        ``None`` (a metric from before it was recorded): ``n``. The statistic ``count``
        reads ``n``, not this.
    ci_low, ci_high : float
        Two-sided ``confidence`` interval (see the module's table of methods).
    confidence : float
    method : str
    start, end, as_of : float
    dropped : int
        Predictions with an outcome left out because the logged prediction was missing.
    reused : int
        Predictions in the window left out because their request id was reused (logged
        for several different predictions, so no outcome can be attributed to them).
    reason : str
        Why ``value`` is NaN; empty otherwise.

    Examples
    --------
    >>> from modelship.monitor import WindowMetric
    >>> w = WindowMetric("accuracy", "2", 0.9, 100, 0.83, 0.94, 0.95, "wilson",
    ...                  start=0.0, end=60.0, as_of=60.0)
    >>> WindowMetric.from_dict(w.to_dict()) == w
    True
    """

    metric: str
    version: str
    value: float
    n: int
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    start: float = attrs.field(kw_only=True)
    end: float = attrs.field(kw_only=True)
    as_of: float = attrs.field(kw_only=True)
    dropped: int = attrs.field(default=0, kw_only=True)
    reason: str = attrs.field(default="", kw_only=True)
    support: int | None = attrs.field(default=None, kw_only=True)
    reused: int = attrs.field(default=0, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (NaN as ``"NaN"``)."""
        out = attrs.asdict(self)
        for name in ("value", "ci_low", "ci_high"):
            if math.isnan(out[name]):
                out[name] = "NaN"
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowMetric:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If a field is missing, unknown, or not what :meth:`to_dict` writes.
        """
        fields = read_fields(data, "window metric", _WINDOW_FIELDS, _WINDOW_OPTIONAL)
        for name in ("value", "ci_low", "ci_high"):
            fields[name] = decode_float(fields[name])
        return cls(**fields)


_WINDOW_FIELDS: dict[str, Spec] = {
    "metric": str,
    "version": str,
    "value": ENCODED_FLOAT,
    "n": COUNT,
    "ci_low": ENCODED_FLOAT,
    "ci_high": ENCODED_FLOAT,
    "confidence": LEVEL,
    "method": str,
    "start": TIME,
    "end": TIME,
    "as_of": TIME,
}


def _unwritable(path: Path, exc: OSError) -> OutcomeLogError:
    errno = f"errno {exc.errno}: " if exc.errno is not None else ""
    return OutcomeLogError(
        f"{path}: cannot append the outcomes ({errno}{exc.strerror or exc}); nothing was "
        "recorded. Make the file and its directory writable (and the disk not full), then "
        "record them again"
    )


_WINDOW_OPTIONAL: dict[str, Spec] = {
    "dropped": COUNT,
    "reason": str,
    "support": (None, COUNT),
    "reused": COUNT,
}


def _key(request_id: Any, row: int) -> Key:
    rid = str(request_id)
    return rid if row == 0 else (rid, row)


def _first_bad(rows: list[Any]) -> int:
    """The position of the first row the columnar read choked on (error path only)."""
    for number, row in enumerate(rows):  # bounded by the rows given
        if not (isinstance(row, Mapping) and row.keys() >= _FIELDS):
            return number
        try:
            int(row.get("row", 0))
            float(row["timestamp"])
        except (TypeError, ValueError, OverflowError):
            return number
    return 0


def _outputs(outputs: list[Any], keys: list[Key]) -> FloatArray:
    """Logged outputs as float64, null as NaN; anything but a scalar number is refused."""
    try:
        array = np.asarray(outputs) if outputs else np.empty(0)
    except ValueError:  # numbers and lists mixed: found, and named, row by row below
        array = np.empty(0, dtype=object)
    if array.ndim == 1 and array.dtype.kind in "iufb":
        numbers = array.astype(np.float64)
        infinite = np.flatnonzero(np.isinf(numbers))
        if infinite.size:
            _number(
                outputs[int(infinite[0])],
                f"prediction {int(infinite[0])} ({keys[int(infinite[0])]!r})",
            )
        return numbers
    return np.array(
        [_number(o, f"prediction {i} ({keys[i]!r})") for i, o in enumerate(outputs)],
        dtype=np.float64,
    )


def _request_ids(request_ids: object) -> list[str]:
    """The ids of :meth:`OutcomeSource.record_outcomes` as text; None, one string or a
    null id is refused (``str(None)`` would be an id ``"None"`` that joins nothing)."""
    if request_ids is None or isinstance(request_ids, (str, bytes)):
        raise ConfigError(
            f"request_ids={brief(request_ids)} is not allowed; give a sequence of request "
            "ids, one per outcome (['q1', 'q2'])"
        )
    try:
        ids = np.asarray(request_ids, dtype=object).ravel().tolist()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"request_ids must be a sequence of request ids: {exc}") from exc
    for i, rid in enumerate(ids):
        if _missing(rid):
            raise ConfigError(
                f"request id {i} is missing ({brief(rid)}); record known requests only"
            )
    return [str(r) for r in ids]


# The types of pandas' missing values (pd.NA of nullable columns, pd.NaT), known by name
# so that pandas is not needed: str() of them would be an id "<NA>" that joins nothing.
_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def _missing(value: object) -> bool:
    """Whether ``value`` is a missing value: None, NaN, or pandas' NA or NaT."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return type(value).__name__ in _MISSING_TYPES


def _row_numbers(rows: object) -> npt.NDArray[np.int64]:
    """Rows within requests: whole numbers in ``[0, 2**63)`` (1.0 is row 1; 1.7, -1,
    ``"x"`` and 1e30 are refused rather than truncated, wrapped or raised raw)."""
    values = np.asarray(rows, dtype=object).ravel().tolist()
    for i, row in enumerate(values):
        whole = isinstance(row, (int, np.integer)) and not isinstance(row, (bool, np.bool_))
        if isinstance(row, (float, np.floating)) and math.isfinite(row) and row == int(row):
            whole = True
        if not whole or not 0 <= row < 2**63:
            raise ConfigError(
                f"rows[{i}]={brief(row)} is not allowed; a row is the position of a prediction "
                "within its request: a whole number >= 0"
            )
    return np.array([int(r) for r in values], dtype=np.int64)


def _beyond_float(values: object) -> str:
    """``y_true[i]=value`` of the first of ``values`` beyond the float range (error path)."""
    flat = np.asarray(values, dtype=object).ravel().tolist()
    for i, value in enumerate(flat):  # bounded by the values given
        try:
            float(value)
        except OverflowError:
            return f"y_true[{i}]={brief(value)}"
        except (TypeError, ValueError):
            continue
    return "a value of y_true"


def _number(value: Any, where: str) -> float:
    if value is None:
        return math.nan  # the log writes a NaN output as null: a missing prediction
    if isinstance(value, (bool, int, float, np.number)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float (JSON allows one)
            number = math.inf
        if math.isinf(number):
            raise ConfigError(
                f"{where}: output {value!r} is infinite; a prediction is a finite number "
                "(null for a missing one)"
            )
        return number
    raise ConfigError(
        f"{where}: output {value!r} is not a number; an OutcomeSource joins scalar "
        "predictions (a label 0/1, a score or probability, a regression value)"
    )


def _positive_probabilities(outputs: list[Any], keys: list[Key]) -> FloatArray:
    """``p1`` of logged ``[p0, p1]`` pairs (a binary predict_proba answer); null, or a pair
    holding null, is a missing prediction (NaN). Anything else is refused: no metric fits
    it."""
    for i, pair in enumerate(outputs):
        if pair is None:
            continue
        if (
            type(pair) is not list
            or len(pair) != 2
            or not all(
                p is None or (isinstance(p, (int, float)) and not isinstance(p, bool)) for p in pair
            )
        ):
            raise ConfigError(
                f"prediction {keys[i]!r}: predict_proba answer {brief(pair)} is not a "
                "predict_proba pair [p0, p1]; an OutcomeSource joins binary predictions "
                "(predict's one number per row, or the two class probabilities of "
                "predict_proba), not multi-class or multi-output answers"
            )
    # A null answer is a pair of nulls: numpy reads None as NaN in a float array.
    filled = [(None, None) if p is None else p for p in outputs]
    pairs = np.array(filled, dtype=np.float64).reshape(-1, 2)
    complete = ~np.isnan(pairs).any(axis=1)
    shown = pairs[complete]
    fits = ((shown >= 0) & (shown <= 1)).all(axis=1) & (
        np.abs(shown.sum(axis=1) - 1) <= PAIR_SUM_TOLERANCE
    )
    if not fits.all():
        bad = int(np.flatnonzero(complete)[np.flatnonzero(~fits)[0]])
        raise ConfigError(
            f"prediction {keys[bad]!r}: output {brief(outputs[bad])} is a pair but not two class "
            "probabilities (each in [0, 1], summing to 1); an OutcomeSource reads a list "
            "output as a binary predict_proba answer. Log one number per row for any "
            "other model"
        )
    return np.where(complete, pairs[:, 1], math.nan)


def _answers_by_method(
    rows: list[Any], outputs: list[Any], keys: list[Key]
) -> tuple[tuple[list[int], list[Any]], tuple[list[int], list[Any]]]:
    """The positions of the rows answered by predict and their answers, then those of
    the rows answered by predict_proba and theirs.

    A row's ``output`` is the answer of its ``method``; a row without ``method`` (written
    before the log carried it) is predict_proba's when its output is a list, predict's
    otherwise. A row answered by several methods (a KServe v2 request naming no outputs,
    logged with ``method`` predict and predict's label as ``output``) holds each method's
    answer in ``outputs``, which is read as :class:`~modelship.monitor.DriftSource` reads
    it: its ``predict`` and ``predict_proba`` entries are the row's answers of those
    methods.

    Raises
    ------
    ConfigError
        If a row's predict answer is a list (a multi-output model's) or its predict_proba
        answer is a number: the shape does not decide what a row with ``method`` is. A
        row of another method (``decision_function``) is left out, as
        :class:`~modelship.monitor.DriftSource` leaves it.
    """
    found: tuple[list[int], list[int]] = ([], [])
    answers: tuple[list[Any], list[Any]] = ([], [])
    for i, (row, output) in enumerate(zip(rows, outputs, strict=True)):
        method = row.get("method")
        if method is None:  # an old log's row: one method a row, told by the output's shape
            mine = {int(type(output) is list): output}
        elif method in _METHODS:
            pairs = _METHODS.index(method)
            if output is not None and (type(output) is list) != bool(pairs):
                raise ConfigError(_not_its_method(keys[i], str(method), output))
            mine = {pairs: output}
        else:  # another method's answer (a log a user writes): no metric reads it
            mine = {}
        by_method = row.get("outputs")  # a mapping: the log's reader refuses anything else
        if by_method is not None:
            mine.update(
                (pairs, by_method[name]) for pairs, name in enumerate(_METHODS) if name in by_method
            )
        for pairs, answer in sorted(mine.items()):
            found[pairs].append(i)
            answers[pairs].append(answer)
    return (found[0], answers[0]), (found[1], answers[1])


def _not_its_method(key: Key, method: str, output: Any) -> str:
    """Why a row's ``output`` cannot be the answer of its ``method``."""
    if method == "predict":
        return (
            f"prediction {key!r}: its predict answer {brief(output)} is a list (a multi-output "
            "model's answer); an OutcomeSource joins binary or regression predictions, one "
            "number per row, or the two class probabilities of predict_proba"
        )
    return (
        f"prediction {key!r}: its predict_proba answer {brief(output)} is not a pair "
        "[p0, p1]; an OutcomeSource reads predict_proba as the two class probabilities of "
        "a binary model"
    )


def _same(a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
    """Where two arrays of outputs are alike: equal, or both missing (NaN)."""
    alike: npt.NDArray[np.bool_] = (a == b) | (np.isnan(a) & np.isnan(b))
    return alike


def _as_member(value: float) -> float | None:
    """An output as a set member: NaN (a missing prediction) as None, which equals itself."""
    return None if math.isnan(value) else value


def _reused_warning(window: WindowMetric) -> tuple[str, ...]:
    """A fetch's warning of the window's predictions left out for a reused request id."""
    if not window.reused:
        return ()
    return (
        f"{window.reused} predictions of version {window.version} in the window have a "
        "request id logged for several different predictions (a reused v2 id or "
        "X-Request-ID) and are left out: no outcome can be attributed to them",
    )


class OutcomeSource:
    """Predictions joined with late outcomes: model quality per window and version.

    A :class:`~modelship.monitor.MetricSource` whose metric names are those of
    :data:`OUTCOME_METRICS` (``accuracy``, ``roc_auc``, ``rmse``...). A fetch answers one
    point per window: the metric's value, with :attr:`Samples.count` the window's sample
    size (:attr:`WindowMetric.support`), so a condition's ``min_samples`` makes a small
    window ``inconclusive``. The condition's statistic picks what the point is: ``mean``,
    ``median``, ``last``, ``min``, ``max`` and ``sum`` the estimate itself (every
    statistic of one value is that value); ``count`` the joined pairs ``n``; a percentile
    ``pNN`` the one-sided confidence bound at level NN % (``p5`` is the lower 95 % bound,
    ``p97.5`` the upper end of the two-sided 95 % interval), so ``p95(accuracy) < 0.9``
    fails only when the canary is *confidently* below 0.9. Without a statistic the point
    is the estimate.

    Parameters
    ----------
    path : str or path-like, optional
        An append-only JSON-lines file of outcomes, replayed when the source opens and
        appended to by every :meth:`record_outcomes` (see the module's crash-safety
        rules). In memory only when omitted.
    slots : mapping of str to str, optional
        Slot name to the version it serves (``{"canary": "3", "stable": "2"}``); a slot
        not listed is taken to be a version name.
    now : float or callable, optional
        The clock (the wall clock by default): outcomes are stamped with it, and a window
        counts outcomes recorded up to it.
    confidence : float
        Level of :attr:`WindowMetric.ci_low` and ``ci_high``; default 0.95.
    seed : int
        Seed of the F1 bootstrap, so a window's interval is reproducible.

    Raises
    ------
    ConfigError
        If ``path`` names something that cannot be read as a file (a directory, a file
        this process may not read), or a file in a directory that does not exist.
    OutcomeLogError
        If ``path`` holds a corrupted line other than a torn last one, or a torn last
        line that cannot be copied aside and cut off (a read-only file or directory,
        or every side file name tried taken).

    Examples
    --------
    >>> import modelship as ms
    >>> src = ms.monitor.OutcomeSource(slots={"canary": "3"}, now=100.0)
    >>> src.add_predictions([{"request_id": f"q{i}", "row": 0, "timestamp": 10.0 + i,
    ...                       "version": "3", "output": 1} for i in range(50)])
    50
    >>> _ = src.record_outcomes([f"q{i}" for i in range(50)], [1] * 45 + [0] * 5)
    >>> cond = ms.monitor.Condition(metric="accuracy", op="<", threshold=0.8)
    >>> ms.monitor.RollbackPolicy(conditions=[cond]).evaluate(
    ...     src, slot="canary", window=100.0).reasons
    ('pass: mean(accuracy) < 0.8: canary mean = 0.9 >= 0.8 (n=50)',)
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "slots": (None, MappingOf(Text(), keys=Text())),
        "confidence": LEVEL,
        "seed": Interval(int, 0, None),
    }

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        slots: Mapping[str, str] | None = None,
        now: float | Callable[[], float] | None = None,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> None:
        check_parameters(self, slots=slots, confidence=confidence, seed=seed)
        self.slots = dict(slots or {})
        self.confidence = confidence
        self.seed = seed
        self._now = as_clock(now)
        self._lock = threading.RLock()
        # predictions, by global position
        self._pred_index: dict[Key, int] = {}  # each key's first prediction
        self._pred_value = Column(np.float64)
        self._pred_stamp = Column(np.float64)
        # position in the outcome columns, or _NO_OUTCOME, or _REUSED
        self._pred_outcome = Column(np.int64)
        # Who answered each prediction, as a code of (version, predict_proba or not):
        # one request id answered by two versions (or methods) is two predictions.
        self._pred_tag = Column(np.int64)
        self._tags: dict[tuple[str, bool], int] = {}
        self._pred_more: dict[Key, list[int]] = {}  # a key's other predictions (rare)
        # Reused request ids: the keys, and the (time stamp, output) of every prediction
        # of each (key, tag) reused, so that a log read again is still told apart.
        self._ambiguous: set[Key] = set()
        self._reused: dict[tuple[Key, int], set[tuple[float, float | None]]] = {}
        self._unattributed = 0
        self._warned = False
        self._versions: dict[str, TimeIndex] = {}  # scalar outputs (predict)
        self._proba_versions: dict[str, TimeIndex] = {}  # p1 of predict_proba pairs
        # outcomes, by position
        self._outcome_index: dict[Key, int] = {}
        self._outcome_value = Column(np.float64)
        self._outcome_at = Column(np.float64)
        # (recorded at, value) of each outcome's values before its latest correction.
        self._earlier: dict[int, list[tuple[float, float]]] = {}
        self._matched_outcomes = 0
        self.duplicate_predictions = 0
        self.reused_request_ids = 0
        self.recovered: tuple[str, ...] = ()
        self.path = None if path is None else Path(path)
        self._appended_size = -1  # the file's size after this source's last append
        if self.path is not None:
            if "\x00" in str(self.path):
                raise ConfigError(
                    f"path={brief(str(path))}: holds a NUL character, which no file name "
                    "can; give the path of a file"
                )
            try:
                folder = self.path.parent.is_dir()
            except OSError as exc:  # a path too long, a folder that may not be searched
                raise _unreadable(self.path, exc) from exc
            if not folder:
                raise ConfigError(
                    f"path={str(path)!r}: its directory {str(self.path.parent)!r} does not "
                    "exist (or is not a directory); create it, or give the path of a file "
                    "in an existing directory"
                )
            self._replay(self.path)

    # --- MetricSource ------------------------------------------------------------------

    def now(self) -> float:
        """The source's clock."""
        return float(self._now())

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME)
    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """The window's metric as one point; see :class:`OutcomeSource` and
        :class:`~modelship.monitor.MetricSource`.

        Raises
        ------
        ConfigError
            If ``metric`` is not one of :data:`OUTCOME_METRICS`, ``stat`` is unknown,
            ``start`` or ``end`` is not a finite time, or the logged predictions are not
            of the kind the metric takes.
        """
        if stat is not None:
            check_stat(stat)
        start, end = float(start), float(end)
        window = self.evaluate(metric, version=self.slots.get(slot, slot), start=start, end=end)
        said = _reused_warning(window)
        if window.n == 0 or math.isnan(window.value):
            return NoData(
                metric, slot, start=start, end=end, stat=stat, reason=window.reason, warnings=said
            )
        # The sample size is what the value rests on: recall of 2 positives among 1,000
        # pairs is a proportion of 2, and min_samples must see 2.
        size = window.n if window.support is None else window.support
        q = None if stat is None else quantile_of(stat)
        if stat == "count":  # the joined pairs, as documented; the support is min_samples'
            value = float(window.n)
        elif q is not None:
            value = self._quantile(metric, window, q)
            if math.isnan(value):
                needs = (
                    "DeLong's variance needs two positives and two negatives"
                    if metric == "roc_auc"
                    else "its standard error needs two pairs or more"
                )
                return NoData(
                    metric,
                    slot,
                    start=start,
                    end=end,
                    stat=stat,
                    reason=f"the {stat} bound of {metric} is undefined (n={window.n}): {needs}",
                    warnings=said,
                )
        else:
            value = window.value
        return Samples(
            metric,
            slot,
            [value],
            [end],
            start=start,
            end=end,
            stat=stat or "value",
            count=size,
            dropped=window.dropped,
            warnings=said,
        )

    # --- recording ---------------------------------------------------------------------

    def add_predictions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add logged predictions (dicts as :func:`~modelship.deploy.serve.read_prediction_log`
        returns them: ``request_id``, ``row``, ``timestamp``, ``version``, ``output``).

        Returns how many were new; a prediction seen before (the same request id and
        row, answered by the same version and method, with the same time stamp and
        output: a log read again) is ignored and counted in :attr:`duplicate_predictions`.
        One request id answered by two versions (a client's ``X-Request-ID`` retried on
        the other slot) or by predict and predict_proba is two predictions, each joined
        with the request's outcome.

        A request id, row, version and method seen before with another time stamp or
        output is a reused request id (a client sending one v2 ``id`` or
        ``X-Request-ID`` with every request): the prediction is new and kept, counted in
        :attr:`reused_request_ids`, and the id joins no outcome from then on, since an
        outcome for it cannot say which of its predictions it is of (such outcomes are
        counted in :attr:`unattributed`; a window's predictions of such ids in
        :attr:`WindowMetric.reused`). The first time, a
        :class:`~modelship.errors.ModelshipWarning` names the first ids.

        Raises
        ------
        ConfigError
            If ``rows`` is not an iterable, a row lacks a field, its timestamp is not a
            finite time in seconds since the epoch (a ``numpy.datetime64`` or
            ``datetime`` is refused, not converted: give ``.timestamp()``), or its output
            is not a scalar number (or null).

        Examples
        --------
        >>> from modelship.monitor import OutcomeSource
        >>> src = OutcomeSource(now=1.0)
        >>> row = {"request_id": "a", "row": 0, "timestamp": 0.5, "version": "1", "output": 0.3}
        >>> src.add_predictions([row, row]), src.duplicate_predictions
        (1, 1)
        """
        try:
            listed = list(rows)
        except TypeError as exc:
            raise ConfigError(
                f"rows must be an iterable of logged predictions (dicts), got {brief(rows)}"
            ) from exc
        keys, stamps, versions, outputs = _prediction_columns(listed)
        values = _outputs(outputs, keys)
        with self._lock:
            return self._add_predictions(keys, stamps, values, versions, self._versions)

    def _add_predictions(
        self,
        keys: list[Key],
        stamps: FloatArray,
        values: FloatArray,
        versions: list[str],
        by_version: dict[str, TimeIndex],
    ) -> int:
        proba = by_version is self._proba_versions
        tags = self._tags
        code = {v: tags.setdefault((v, proba), len(tags)) for v in dict.fromkeys(versions)}
        codes = np.fromiter(map(code.__getitem__, versions), dtype=np.int64, count=len(versions))
        take, first, reused = self._new_predictions(keys, codes, stamps, values)
        self.duplicate_predictions += len(keys) - take.size
        if take.size == 0:
            return 0
        if take.size < len(keys):
            keys = [keys[i] for i in take.tolist()]
            versions = [versions[i] for i in take.tolist()]
            stamps, values, codes = stamps[take], values[take], codes[take]
        if reused.any():  # before this batch's first predictions are indexed
            self._reuse([keys[i] for i in np.flatnonzero(reused).tolist()])
        base = self._pred_value.size
        positions = np.arange(base, base + take.size, dtype=np.int64)
        for key, position, is_first, again in zip(
            keys, positions.tolist(), first.tolist(), reused.tolist(), strict=True
        ):
            if not (is_first or again):  # another version's (or method's) answer
                self._pred_more.setdefault(key, []).append(position)
        self._pred_index.update(
            (key, position)
            for key, position, is_first in zip(
                keys, positions.tolist(), first.tolist(), strict=True
            )
            if is_first
        )
        links = np.fromiter(
            map(self._outcome_index.get, keys, repeat(_NO_OUTCOME)),
            dtype=np.int64,
            count=len(keys),
        )
        if self._ambiguous:  # a reused request id joins no outcome
            ambiguous = self._ambiguous
            links[np.fromiter(map(ambiguous.__contains__, keys), np.bool_, len(keys))] = _REUSED
        # An outcome is matched once, by the first prediction of its key.
        self._matched_outcomes += int(np.count_nonzero((links >= 0) & first))
        self._pred_value.extend(values)
        self._pred_stamp.extend(stamps)
        self._pred_outcome.extend(links)
        self._pred_tag.extend(codes)
        version_array = np.array(versions, dtype=object)
        for version in dict.fromkeys(versions):
            mine = version_array == version
            by_version.setdefault(version, TimeIndex()).add(positions[mine], stamps[mine])
        return take.size

    def _reuse(self, keys: list[Key]) -> None:
        """Count the predictions of ``keys`` that reuse a request id, and unjoin the ids
        newly found reused: their predictions known so far and their outcome."""
        self.reused_request_ids += len(keys)
        fresh = [key for key in dict.fromkeys(keys) if key not in self._ambiguous]
        self._ambiguous.update(fresh)
        index, others, outcomes = self._pred_index, self._pred_more, self._outcome_index
        unjoined: list[int] = []  # the known predictions of the fresh keys
        for key in fresh:
            known = index.get(key)
            if key in outcomes:
                self._unattributed += 1
                if known is not None:  # joined so far by its first prediction
                    self._matched_outcomes -= 1
            if known is not None:
                unjoined.append(known)
                unjoined.extend(others.get(key, ()))
        if unjoined:
            self._pred_outcome.view()[np.array(unjoined, dtype=np.int64)] = _REUSED
        if fresh and not self._warned:
            self._warned = True
            named = ", ".join(repr(k if isinstance(k, str) else k[0]) for k in fresh[:_NAMED_IDS])
            more = f" and {len(fresh) - _NAMED_IDS} more" if len(fresh) > _NAMED_IDS else ""
            warnings.warn(
                f"request ids logged for several different predictions: {named}{more}. An "
                "outcome for such an id cannot say which prediction it is of, so their "
                "outcomes are not joined (see OutcomeSource.reused_request_ids and "
                "unattributed, and each window's reused). A client's v2 \"id\" or "
                "X-Request-ID must be unique per request; leave it out and the server "
                "makes one",
                ModelshipWarning,
                stacklevel=4,
            )

    def _new_predictions(
        self,
        keys: list[Key],
        codes: npt.NDArray[np.int64],
        stamps: FloatArray,
        values: FloatArray,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """The batch's rows not seen before, in arrival order; which of them is its key's
        first prediction; and which reuses a request id.

        A prediction is its key, who answered it (version and method), its time stamp
        and its output: one alike in all of them is a duplicate (a log read again). A new
        one whose key and answerer were seen (before, or earlier in the batch) reuses its
        request id.
        """
        n = len(keys)
        index = self._pred_index
        first_of_key = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))
        unique = len(first_of_key) == n
        known = np.fromiter(map(index.get, keys, repeat(-1)), dtype=np.int64, count=n)
        seen = known >= 0
        if unique and not seen.any():  # the common case: a batch of new requests
            return np.arange(n, dtype=np.int64), np.ones(n, np.bool_), np.zeros(n, np.bool_)
        duplicate = np.zeros(n, dtype=np.bool_)
        reused = np.zeros(n, dtype=np.bool_)
        # Rows whose key and answerer repeat within the batch: told apart in order below.
        repeated = np.zeros(n, dtype=np.bool_)
        if not unique:
            pairs = list(zip(keys, codes.tolist(), strict=True))
            first_of_pair = dict(zip(reversed(pairs), range(n - 1, -1, -1), strict=True))
            if len(first_of_pair) < n:
                again = np.ones(n, dtype=np.bool_)
                again[np.fromiter(first_of_pair.values(), np.int64, len(first_of_pair))] = False
                twice = {pairs[i] for i in np.flatnonzero(again).tolist()}
                repeated = np.fromiter(map(twice.__contains__, pairs), np.bool_, n)
        # A known key answered alike by its first prediction: a prediction loaded again
        # (vectorised: reloading a whole log is common).
        rows = np.flatnonzero(seen & ~repeated)
        at = known[rows]
        alike = (
            (self._pred_tag.view()[at] == codes[rows])
            & (self._pred_stamp.view()[at] == stamps[rows])
            & _same(self._pred_value.view()[at], values[rows])
        )
        duplicate[rows[alike]] = True
        rest = np.flatnonzero(repeated | (seen & ~duplicate))
        if rest.size:
            self._tell_apart(rest, keys, codes, stamps, values, duplicate=duplicate, reused=reused)
        take = np.flatnonzero(~duplicate)
        if unique:  # no key twice in the batch: the unknown keys are first
            return take, ~seen[take], reused[take]
        # A key's first prediction: unknown before, and its first row in this batch.
        first = np.fromiter(
            (keys[i] not in index and first_of_key[keys[i]] == i for i in take.tolist()),
            dtype=np.bool_,
            count=take.size,
        )
        return take, first, reused[take]

    def _tell_apart(  # noqa: PLR0913 - the rows, and the batch's columns to read and mark
        self,
        rows: npt.NDArray[np.int64],
        keys: list[Key],
        codes: npt.NDArray[np.int64],
        stamps: FloatArray,
        values: FloatArray,
        *,
        duplicate: npt.NDArray[np.bool_],
        reused: npt.NDArray[np.bool_],
    ) -> None:
        """Mark each of ``rows`` (in order) a duplicate of a prediction of its key and
        answerer seen before, a reuse of the request id, or neither (new).

        One pass over the rows with a set of (time stamp, output) per (key, answerer)
        (:meth:`_outputs_known`); a pair found reused keeps its set across batches.
        Bounded by the rows and the earlier predictions of their keys.
        """
        picked = rows.tolist()
        code_of = codes.tolist()
        stamp_of = stamps.tolist()
        value_of = values.tolist()
        pairs = [(keys[i], code_of[i]) for i in picked]
        seen_of = self._outputs_known(pairs)
        told = {pair for pair, known_outputs in seen_of.items() if known_outputs}
        again: set[tuple[Key, int]] = set()
        for i, pair in zip(picked, pairs, strict=True):
            value = value_of[i]
            mine = (stamp_of[i], _as_member(value))
            outputs = seen_of[pair]
            if mine in outputs:
                duplicate[i] = True
                continue
            if pair in told:
                reused[i] = True
                again.add(pair)
            else:
                told.add(pair)
            outputs.add(mine)
        for pair in again:  # its reused predictions are not indexed: keep its set
            self._reused[pair] = seen_of[pair]

    def _outputs_known(
        self, pairs: list[tuple[Key, int]]
    ) -> dict[tuple[Key, int], set[tuple[float, float | None]]]:
        """The (time stamp, output) of each known prediction of each of ``pairs`` (key,
        answerer): a reused pair's kept set, another's built from its indexed predictions
        (all of them: only reused predictions go unindexed), fetched at once."""
        seen_of: dict[tuple[Key, int], set[tuple[float, float | None]]] = {}
        owners: list[tuple[Key, int]] = []
        positions: list[int] = []
        index, more = self._pred_index, self._pred_more
        for pair in pairs:
            if pair in seen_of:
                continue
            cached = self._reused.get(pair)
            seen_of[pair] = set() if cached is None else cached
            known = index.get(pair[0]) if cached is None else None
            if known is not None:
                theirs = [known, *more.get(pair[0], ())]
                positions.extend(theirs)
                owners.extend(repeat(pair, len(theirs)))
        if positions:
            at = np.array(positions, dtype=np.int64)
            for pair, tag, stamp, value in zip(
                owners,
                self._pred_tag.view()[at].tolist(),
                self._pred_stamp.view()[at].tolist(),
                self._pred_value.view()[at].tolist(),
                strict=True,
            ):
                if tag == pair[1]:
                    seen_of[pair].add((stamp, _as_member(value)))
        return seen_of

    def load_prediction_log(
        self, url: str, *, storage_options: dict[str, Any] | None = None
    ) -> int:
        """Read a prediction log (any URL the server writes to) and add what is new.

        Returns how many predictions were new; reading the same log again adds nothing.
        The log may mix ``predict`` answers (one number per row) with ``predict_proba``
        answers (``[p0, p1]`` per row), as a server answering both writes it: a pair is
        kept as ``p1``, read by ``roc_auc``, ``log_loss`` and ``brier``; the numbers are
        read by the other metrics (see the module's rules). A row answered by several
        methods (a KServe v2 request naming no outputs) holds each answer in ``outputs``:
        its ``predict`` and ``predict_proba`` answers are two predictions.

        Raises
        ------
        ConfigError
            If a row's predict answer is neither a number nor null, or its predict_proba
            answer neither null nor the two class probabilities of a binary model (a
            multi-class or multi-output answer).
        PredictionLogError
            If a line of the log is not a logged prediction.

        Examples
        --------
        >>> from modelship.monitor import OutcomeSource
        >>> OutcomeSource(now=0.0).load_prediction_log("memory://nothing-logged-here")
        0
        """
        from modelship.deploy.serve import read_prediction_log

        rows = read_prediction_log(url, storage_options=storage_options)
        keys, stamps, versions, outputs = _prediction_columns(rows)
        parts = []
        for pairs, (take, answers) in enumerate(_answers_by_method(rows, outputs, keys)):
            if take:
                mine = [keys[i] for i in take]
                read = _positive_probabilities if pairs else _outputs
                values = read(answers, mine)
                by_version = self._proba_versions if pairs else self._versions
                parts.append((mine, stamps[take], values, [versions[i] for i in take], by_version))
        with self._lock:  # both parts or neither: a reader sees the whole log
            return sum(self._add_predictions(*part) for part in parts)

    @validate_params(at=(None, TIME))
    def record_outcomes(
        self,
        request_ids: Sequence[Any] | npt.ArrayLike,
        y_true: npt.ArrayLike,
        *,
        rows: npt.ArrayLike | None = None,
        at: float | None = None,
    ) -> RecordSummary:
        """Record the true values of earlier predictions.

        Parameters
        ----------
        request_ids : sequence
            The requests' ids, as the server answered them (``X-Request-ID``).
        y_true : array_like
            One true value per id: a label 0/1 or a regression target.
        rows : array_like of int, optional
            The row within each request (batch requests); 0 for all when omitted.
        at : float, optional
            When the outcomes became known; the source's clock by default.

        Returns
        -------
        RecordSummary

        Raises
        ------
        ConfigError
            If lengths differ, ``request_ids`` is not a sequence of ids (None, one
            string, a null id), an outcome is not a finite number, a row is not a whole
            number in ``[0, 2**63)``, or ``at`` is not a finite time
            (:class:`~modelship.errors.InvalidParameter`); nothing is recorded then.
        OutcomeLogError
            If the file cannot be appended to (the message gives the ``errno``: a
            read-only file, a full disk), or ends with a crash's torn bytes or failing
            last line (left by an opener that could not cut them) that cannot be copied
            aside and cut off; nothing is recorded then.

        Examples
        --------
        >>> from modelship.monitor import OutcomeSource
        >>> src = OutcomeSource(now=5.0)
        >>> src.record_outcomes(["late-1"], [1.0])
        RecordSummary(recorded=1, matched=0, unmatched=1, replaced=0, unattributed=0)
        >>> src.unmatched
        1
        """
        ids = _request_ids(request_ids)
        try:
            y = np.asarray(y_true, dtype=np.float64).ravel()
        except OverflowError as exc:  # an int beyond any float
            raise ConfigError(
                f"{_beyond_float(y_true)} is beyond the range of a float; an outcome "
                "is a finite number (a label 0/1 or a regression target)"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"y_true must be numbers: {exc}") from exc
        row = np.zeros(len(ids), dtype=np.int64) if rows is None else _row_numbers(rows)
        if not (y.size == len(ids) == row.size):
            raise ConfigError(
                f"{len(ids)} request ids, {y.size} outcomes and {row.size} rows: give one "
                "outcome (and row) per request id"
            )
        if not np.all(np.isfinite(y)):
            raise ConfigError(
                f"y_true has {int(np.sum(~np.isfinite(y)))} missing or infinite values; "
                "record only outcomes that are known"
            )
        stamp = self.now() if at is None else float(at)
        with self._lock:
            if self.path is not None:
                self._append(ids, row, y, stamp)
            return self._apply(ids, row, y, stamp)

    @validate_params(at=(None, TIME))
    def record_table(
        self,
        table: Any,
        *,
        id_column: str = "request_id",
        outcome_column: str = "y_true",
        row_column: str = "row",
        at: float | None = None,
    ) -> RecordSummary:
        """Record outcomes from a table: a mapping of columns, or any frame indexable by
        column name (pandas, polars, a dict of arrays). ``row_column`` is optional in the
        table.

        Raises
        ------
        ConfigError
            If the id or outcome column is missing, or a value is not what
            :meth:`record_outcomes` takes (the message names the column's row).

        Examples
        --------
        >>> from modelship.monitor import OutcomeSource
        >>> src = OutcomeSource(now=5.0)
        >>> src.record_table({"request_id": ["a", "b"], "y_true": [0, 1]}).recorded
        2
        """
        columns = _columns(table)
        for name in (id_column, outcome_column):
            if name not in columns:
                raise ConfigError(
                    f"the table has no column {name!r}; it has {sorted(columns)}. Name the "
                    "columns with id_column= and outcome_column="
                )
        rows = np.asarray(table[row_column]) if row_column in columns else None
        return self.record_outcomes(
            np.asarray(table[id_column]), np.asarray(table[outcome_column]), rows=rows, at=at
        )

    def _apply(
        self, ids: list[str], rows: npt.NDArray[np.int64], y: FloatArray, stamp: float
    ) -> RecordSummary:
        keys: list[Key] = list(ids)
        if rows.any():
            keys = [_key(rid, row) for rid, row in zip(ids, rows.tolist(), strict=True)]
        # The last outcome of a key in the batch wins; dict() keeps it (C speed).
        last = dict(zip(keys, range(len(keys)), strict=True))
        if len(last) < len(keys):
            keys = list(last)
            y = y[np.fromiter(last.values(), dtype=np.int64, count=len(keys))]
        old = np.fromiter(
            map(self._outcome_index.get, keys, repeat(-1)), dtype=np.int64, count=len(keys)
        )
        fresh = old < 0
        if not fresh.all():  # outcomes recorded before: corrections, or the same again
            again = ~fresh
            # Only a changed value is a correction: the same value recorded again (an
            # idempotent re-upload) keeps its first time and grows nothing.
            changed = again.copy()
            changed[again] = self._outcome_value.view()[old[again]] != y[again]
            # What was known before, so that as_of= before the correction still sees it.
            replaced = old[changed]
            for position, at, value in zip(
                replaced.tolist(),
                self._outcome_at.view()[replaced].tolist(),
                self._outcome_value.view()[replaced].tolist(),
                strict=True,
            ):
                self._earlier.setdefault(position, []).append((at, value))
            self._outcome_value.view()[replaced] = y[changed]
            self._outcome_at.view()[replaced] = stamp
            keys = [keys[i] for i in np.flatnonzero(fresh).tolist()]
            y = y[fresh]
        base = self._outcome_value.size
        positions = np.arange(base, base + len(keys), dtype=np.int64)
        self._outcome_index.update(zip(keys, positions.tolist(), strict=True))
        self._outcome_value.extend(y)
        self._outcome_at.extend(np.full(len(keys), stamp))
        predictions = np.fromiter(
            map(self._pred_index.get, keys, repeat(-1)), dtype=np.int64, count=len(keys)
        )
        unattributed = 0
        if self._ambiguous:  # an outcome for a reused request id is not joined
            ambiguous = self._ambiguous
            mask = np.fromiter(map(ambiguous.__contains__, keys), np.bool_, len(keys))
            unattributed = int(np.count_nonzero(mask))
            predictions[mask] = -1
            self._unattributed += unattributed
        linked = predictions >= 0
        self._pred_outcome.view()[predictions[linked]] = positions[linked]
        if self._pred_more:  # the key's answers by other versions or methods, joined too
            links = self._pred_outcome.view()
            if len(self._pred_more) < len(keys):  # loop over the fewer: relinking is harmless
                for key, others in self._pred_more.items():
                    position = self._outcome_index.get(key)
                    if position is not None and key not in self._ambiguous:
                        links[others] = position
            else:
                for key, position in zip(keys, positions.tolist(), strict=True):
                    if key not in self._ambiguous:
                        links[self._pred_more.get(key, [])] = position
        matched = int(np.count_nonzero(linked))
        self._matched_outcomes += matched
        return RecordSummary(
            recorded=len(ids),
            matched=matched,
            unmatched=len(keys) - matched - unattributed,
            replaced=len(ids) - len(keys),
            unattributed=unattributed,
        )

    @property
    def unmatched(self) -> int:
        """Outcomes whose prediction has not been loaded (yet)."""
        return self._outcome_value.size - self._matched_outcomes - self._unattributed

    @property
    def unattributed(self) -> int:
        """Outcomes not joined because their request id was logged for several different
        predictions (see :attr:`reused_request_ids`): an outcome for it cannot say which
        prediction it is of."""
        return self._unattributed

    # --- storage -----------------------------------------------------------------------

    def _append(
        self, ids: list[str], rows: npt.NDArray[np.int64], y: FloatArray, stamp: float
    ) -> None:
        assert self.path is not None
        payload = json.dumps(
            {
                "v": _LOG_VERSION,
                "at": stamp,
                "ids": ids,
                "rows": rows.tolist() if rows.any() else None,
                "y": y.tolist(),
            },
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        line = hashlib.sha256(payload).hexdigest().encode() + b" " + payload + b"\n"
        try:
            self._append_line(self.path, line)
        except OSError as exc:  # opening, locking, reading the last line back, writing
            raise _unwritable(self.path, exc) from exc

    def _append_line(self, path: Path, line: bytes) -> None:
        """Append ``line`` to the file under its lock, ``fsync``-ed; a write that fails is
        cut off before the ``OSError`` propagates."""
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # Held until the line is on disk, so no opener cuts it as torn meanwhile.
            _lock(fd, wait=True)
            size = os.fstat(fd).st_size  # the lock keeps other writers out: the line goes here
            # Under the lock a bad last line is a crash's, left by an opener that could not
            # take the lock: torn bytes (no newline), or a line with its newline that fails
            # its checksum. Appended after, it would take this line down with it (torn
            # bytes) or stop being the last line and make the file corrupted (a failing
            # line): it is moved aside first. Reading the last line back is a page cache
            # hit; no verified line is ever touched.
            # A file just as this source's last append left it ends with that append's
            # line, verified as written: not read back again.
            start, bad = (size, "") if size == self._appended_size else _bad_last_line(fd, size)
            if bad:
                self.recovered = (
                    *self.recovered,
                    f"{path}: found {bad} of {size - start} bytes before appending",
                    self._cut(path, _read_at(fd, size - start, start), start),
                )
                size = start
            try:
                written = os.write(fd, line)
                if written != len(line):  # a short write to a regular file: disk full
                    raise OSError(f"wrote {written} of {len(line)} bytes to {path}")
                os.fsync(fd)
                self._appended_size = size + written
            except OSError:
                # Undo the part written: the next call's line must start on a line of its
                # own, or it would be read as part of this torn one and lost.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)  # releases the lock

    def _replay(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        try:
            # Without the lock a writer may be appending: its line looks torn, and is only
            # dropped in memory; with it, no cooperating writer is, so a torn tail is a
            # crash's and is cut off (after copying it aside). The lock is held to read
            # and to cut only: the lines are parsed and applied after, from the bytes
            # read, so appends elsewhere wait for a read, not for a replay (3.5 s of a
            # 50 MB log).
            locked = _lock(fd, wait=False)
            try:
                with os.fdopen(os.dup(fd), "rb") as f:
                    data = f.read()
            except OSError as exc:  # a directory opens, but does not read
                raise _unreadable(path, exc) from exc
            whole, notes = _replayable(path, data)
            if whole < len(data):
                if locked:
                    notes.append(self._cut(path, data[whole:], whole))
                else:
                    notes.append(
                        f"{path}: left the last {len(data) - whole} bytes on disk (the "
                        "file's lock is held: another process may be writing them)"
                    )
        finally:
            os.close(fd)  # releases the lock
        self._replay_lines(path, data, whole)
        self.recovered = tuple(notes)

    def _replay_lines(self, path: Path, data: bytes, whole: int) -> None:
        """Apply the lines in the first ``whole`` bytes of ``data``, each verified."""
        lines = data.split(b"\n", data.count(b"\n", 0, whole))
        lines.pop()  # the bytes after them, dropped (see _replayable)
        for number, line in enumerate(lines, start=1):
            batch = _verified(line)
            if batch is None:
                raise OutcomeLogError(
                    f"{path}, line {number}: not a verified batch of outcomes (checksum or "
                    "format); the file is corrupted. Restore it from a backup, or move the "
                    "line out if you know it is garbage"
                )
            ids, rows, y, stamp = batch
            self._apply(ids, rows, y, stamp)

    @staticmethod
    def _cut(path: Path, tail: bytes, size: int) -> str:
        """Move ``tail``, the file's bytes after its first ``size``, off the file, so the
        next append starts a line; answer a note saying where they went.

        Left in place, the next batch would be appended to the torn bytes, fail its
        checksum as part of that line and be lost at the next reopen (and one batch more
        would make the file look corrupted). The caller holds the file's lock, so no
        cooperating writer is appending. The bytes cut are first copied, ``fsync``-ed, to
        a side file next to the file (:func:`_side_file`), then ``truncate`` changes the
        file's size in one step: a crash before the truncation leaves the file as it was
        (the next opener or append copies and cuts the same bytes again), a crash during
        it leaves the file as it was or cut; no verified line is touched and no byte is
        destroyed.

        Raises
        ------
        OutcomeLogError
            If the bytes cannot be copied aside (a read-only directory, every side file
            name tried taken) or the file cannot be cut (read-only): appending after the
            torn line would lose the next batch.
        """
        try:
            with path.open("r+b") as log:  # writable, before anything is copied
                side = _side_file(path, tail)
                log.truncate(size)
                log.flush()
                os.fsync(log.fileno())
        except FileExistsError as exc:
            raise OutcomeLogError(
                f"{path}: cannot cut the torn last line off: its bytes are copied to a new "
                f"side file first, and the {_SIDE_NAMES} names tried all exist (the last: "
                f"{exc.filename}); a batch appended after it would be lost. Move the side "
                f"files away, or move the bytes after the first {size} out by hand"
            ) from exc
        except OSError as exc:
            raise OutcomeLogError(
                f"{path}: cannot cut the torn last line off ({exc.strerror or exc}: "
                f"{exc.filename or path}); a batch appended after it would be lost. Make the "
                f"file and its directory writable, or move the bytes after the first {size} "
                "out by hand"
            ) from exc
        return f"{path}: moved the last {len(tail)} bytes to {side}"

    # --- evaluation --------------------------------------------------------------------

    @validate_params(
        metric=str,
        version=str,
        start=TIME,
        end=TIME,
        as_of=(None, TIME),
        confidence=(None, LEVEL),
    )
    def evaluate(  # noqa: PLR0913 - keyword-only version, window, as_of and confidence of one evaluation
        self,
        metric: str,
        *,
        version: str,
        start: float,
        end: float,
        as_of: float | None = None,
        confidence: float | None = None,
    ) -> WindowMetric:
        """The metric of ``version`` over its predictions in ``(start, end]`` with an outcome
        recorded by ``as_of`` (the source's clock by default).

        Raises
        ------
        ConfigError
            If ``metric`` is unknown, the predictions are not of the kind it takes,
            ``start`` or ``end`` is not a finite time, ``start > end``, or ``confidence``
            is not in (0, 1).

        Examples
        --------
        >>> from modelship.monitor import OutcomeSource
        >>> src = OutcomeSource(now=10.0)
        >>> src.evaluate("rmse", version="1", start=0.0, end=10.0).reason
        'no predictions of version 1 with an outcome in (0, 10]'
        """
        if metric not in OUTCOME_METRICS:
            raise ConfigError(
                f"an OutcomeSource computes {', '.join(OUTCOME_METRICS)}; got {metric!r}"
            )
        if start > end:
            raise ConfigError(
                f"start={start!r} is after end={end!r}; a window is (start, end] with start <= end"
            )
        level = self.confidence if confidence is None else float(confidence)
        as_of = self.now() if as_of is None else float(as_of)
        probabilities = self._reads_probabilities(metric, version)
        y, pred, dropped, reused = self._pairs(
            version, start, end, as_of, probabilities=probabilities
        )
        kind, method = OUTCOME_METRICS[metric]
        common: dict[str, Any] = {
            "start": float(start),
            "end": float(end),
            "as_of": as_of,
            "dropped": dropped,
            "reused": reused,
        }
        nan = math.nan

        def undefined(reason: str) -> WindowMetric:
            n = int(y.size)
            return WindowMetric(
                metric, version, nan, n, nan, nan, level, method, reason=reason, **common
            )

        if y.size == 0:
            what = "predict_proba answers" if probabilities else "predictions"
            reason = f"no {what} of version {version} with an outcome in ({start:g}, {end:g}]"
            if kind not in _PROBABILITY_KINDS and version in self._proba_versions:
                reason += (
                    f"; {metric} reads the predict answers (one number per row), not the "
                    "predict_proba pairs, which roc_auc, log_loss and brier read"
                )
            if reused:
                reason += (
                    f"; its {reused} predictions there have a reused request id (logged for "
                    "several different predictions), to which no outcome is attributed"
                )
            return undefined(reason)
        if kind == "scores" and np.unique(y).size < 2:
            return undefined(f"{metric} is undefined: the window's outcomes are of one class")
        try:
            value = float(_COMPUTE[metric](y, pred))
        except EmptyData as exc:
            return undefined(str(exc))
        except CheckInputError as exc:
            raise ConfigError(
                f"{metric} takes {kind} predictions; version {version}'s logged outputs or "
                f"the recorded outcomes are not: {exc}"
            ) from exc
        why = _zero_denominator(metric, y, pred)
        if why:
            return undefined(f"{metric} is undefined: {why}")
        window = WindowMetric(
            metric,
            version,
            value,
            int(y.size),
            nan,
            nan,
            level,
            method,
            support=_support(metric, y, pred),
            **common,
        )
        low = self._quantile(metric, window, (1 - level) / 2, y=y, pred=pred)
        high = self._quantile(metric, window, (1 + level) / 2, y=y, pred=pred)
        return attrs.evolve(window, ci_low=low, ci_high=high)

    def _reads_probabilities(self, metric: str, version: str) -> bool:
        """Whether ``metric`` of ``version`` reads the predict_proba rows (see the module's
        rules): a score or probability metric of a version that logged any."""
        return OUTCOME_METRICS[metric][0] in _PROBABILITY_KINDS and version in self._proba_versions

    def _pairs(
        self, version: str, start: float, end: float, as_of: float, *, probabilities: bool
    ) -> tuple[FloatArray, FloatArray, int, int]:
        """The window's (outcome, prediction) pairs, the predictions with an outcome left
        out as missing, and those left out for a reused request id."""
        with self._lock:
            by_version = self._proba_versions if probabilities else self._versions
            index = by_version.get(version)
            if index is None:
                empty = np.empty(0)
                return empty, empty, 0, 0
            positions = index.window(start, end)
            links = self._pred_outcome.view()[positions]
            reused = int(np.count_nonzero(links == _REUSED)) if self._ambiguous else 0
            joined = links >= 0
            positions, links = positions[joined], links[joined]
            recorded = self._outcome_at.view()[links] <= as_of
            y = self._outcome_value.view()[links]
            if self._earlier and not recorded.all():
                y = y.copy()
                recorded = recorded.copy()
                for i in np.flatnonzero(~recorded).tolist():
                    known = self._known(int(links[i]), as_of)
                    if known is not None:
                        y[i], recorded[i] = known, True
            positions, y = positions[recorded], y[recorded]
            pred = self._pred_value.view()[positions]
        present = ~np.isnan(pred)
        dropped = int(pred.size - np.count_nonzero(present))
        if dropped:
            y, pred = y[present], pred[present]
        return y, pred, dropped, reused

    def _known(self, position: int, as_of: float) -> float | None:
        """The value an outcome corrected after ``as_of`` had then (the latest recorded
        by ``as_of``), or None if it was not recorded yet."""
        best: tuple[float, float] | None = None
        for at, value in self._earlier.get(position, ()):  # in the order recorded
            if at <= as_of and (best is None or at >= best[0]):
                best = (at, value)
        return None if best is None else best[1]

    def _quantile(
        self,
        metric: str,
        window: WindowMetric,
        q: float,
        *,
        y: FloatArray | None = None,
        pred: FloatArray | None = None,
    ) -> float:
        """The one-sided confidence bound at level ``q`` of the window's metric."""
        if y is None or pred is None:
            y, pred, _, _ = self._pairs(
                window.version,
                window.start,
                window.end,
                window.as_of,
                probabilities=self._reads_probabilities(metric, window.version),
            )
        return _bound(metric, window.value, (y, pred), q, self.seed)


def _prediction_columns(
    rows: list[Any],
) -> tuple[list[Key], FloatArray, list[str], list[Any]]:
    """The keys, time stamps, versions and raw outputs of logged prediction rows."""
    try:  # column by column: one C-level pass per field
        ids = [str(row["request_id"]) for row in rows]
        numbers = [int(row.get("row", 0)) for row in rows]
        raw = [row["timestamp"] for row in rows]
        column = np.asarray(raw) if raw else np.empty(0)
        # A date-time converts to a float silently, as a count of its own unit (ns for
        # a data frame's column): never a time any window holds. Looked for only when
        # the column is not plain numbers.
        dated = None if column.dtype.kind in "iuf" else _first_date(raw)
        stamps = column.astype(np.float64, copy=False) if dated is None else np.empty(0)
        versions = [str(row["version"]) for row in rows]
        outputs = [row["output"] for row in rows]
    except OverflowError as exc:  # a JSON integer beyond any float: strict JSON allows it
        bad = _first_bad(rows)
        raise ConfigError(
            f"prediction {bad} ({brief(rows[bad].get('request_id'))}): timestamp "
            f"{brief(rows[bad]['timestamp'])} is beyond the range of a float; a timestamp is "
            "finite seconds since the epoch"
        ) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"prediction {_first_bad(rows)}: needs request_id, timestamp, version and "
            f"output (as the prediction log writes them): {exc!r}"
        ) from exc
    if dated is not None:
        raise ConfigError(
            f"prediction {dated} ({brief(ids[dated])}): timestamp {brief(raw[dated])} is a "
            "date-time, not seconds since the epoch; convert it (numpy: "
            "stamps.astype('datetime64[ns]').astype('int64') / 1e9; datetime: .timestamp())"
        )
    if not np.all(np.isfinite(stamps)):
        bad = int(np.flatnonzero(~np.isfinite(stamps))[0])
        raise ConfigError(f"prediction {bad}: timestamp {stamps[bad]!r} is not finite")
    keys: list[Key] = list(ids)
    if any(numbers):
        keys = [_key(rid, n) for rid, n in zip(ids, numbers, strict=True)]
    return keys, stamps, versions, outputs


# Time stamps refused rather than read as numbers (numpy's count their own unit).
_DATES = (np.datetime64, np.timedelta64, datetime.date, datetime.timedelta)


def _first_date(stamps: list[Any]) -> int | None:
    """The position of the first date-time (or time span) among ``stamps``, if any."""
    return next((i for i, stamp in enumerate(stamps) if isinstance(stamp, _DATES)), None)


def _columns(table: Any) -> set[str]:
    if isinstance(table, Mapping):
        return {str(k) for k in table}
    names = getattr(table, "columns", None)
    if names is None:
        raise ConfigError(
            f"a table of outcomes is a mapping of columns or a data frame with .columns; "
            f"got {type(table).__name__}"
        )
    return {str(c) for c in names}


def _lock(fd: int, *, wait: bool) -> bool:
    """Take the exclusive advisory lock of an open file; without ``wait``, answer False if
    it cannot be taken at once.

    ``flock`` (POSIX): released when the file is closed or the process dies. Elsewhere
    there is no lock and one process is assumed (True).
    """
    if sys.platform == "win32":
        return True
    if wait:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by another, or no locks here (some NFS): cut nothing
        return False
    return True


def _replayable(path: Path, data: bytes) -> tuple[int, list[str]]:
    """The size of the lines of a log's ``data`` to replay, and notes on what is dropped.

    Dropped: the bytes after the last newline (a write torn by a crash) or, when there
    are none, a last line that fails its checksum. Only the last line is checked here
    (the opener holds the file's lock meanwhile); a bad line before it is corruption,
    found by the replay.
    """
    whole = data.rfind(b"\n") + 1
    if whole < len(data):
        return whole, [f"{path}: dropped a torn last line of {len(data) - whole} bytes"]
    if whole:
        start = data.rfind(b"\n", 0, whole - 1) + 1
        if _verified(data[start : whole - 1]) is None:
            return start, [f"{path}: dropped a last line that fails its checksum"]
    return whole, []


# Bytes read at a time, backwards, to find where a torn last line starts (a batch's line
# can be megabytes; this is read only when the file does not end with a newline).
_BACKWARDS = 1 << 16


def _last_line_start(fd: int, size: int) -> int:
    """Where the last line of an open file of ``size`` bytes starts: after its last
    newline, or at 0."""
    end = size
    while end > 0:
        begin = max(0, end - _BACKWARDS)
        newline = _read_at(fd, end - begin, begin).rfind(b"\n")
        if newline >= 0:
            return begin + newline + 1
        end = begin
    return 0


def _bad_last_line(fd: int, size: int) -> tuple[int, str]:
    """Where the last line of an open file of ``size`` bytes starts, and what is wrong
    with it (empty when it is a verified batch, or the file is empty)."""
    if not size:
        return 0, ""
    if _read_at(fd, 1, size - 1) != b"\n":
        return _last_line_start(fd, size), "a torn last line"
    start = _last_line_start(fd, size - 1)
    # The checksum only, not the parse: the line's batch is read at the next replay, and
    # hashing a 46 MB batch is ~0.1 s where parsing it too took 0.9 s under the lock.
    if _checksummed(_read_at(fd, size - 1 - start, start)) is None:
        return start, "a last line that fails its checksum"
    return size, ""


def _read_at(fd: int, n: int, offset: int) -> bytes:
    """``n`` bytes of an open file from ``offset`` (fewer at its end)."""
    if sys.platform == "win32":  # no pread: the appends' O_APPEND ignores the position
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, n)
    return os.pread(fd, n, offset)


# Side file names tried before giving up; one is enough unless side files are made by
# something else under modelship's names.
_SIDE_NAMES = 8
_side_count = count()  # this process's side files (next() is atomic under the GIL)


def _side_file(path: Path, data: bytes) -> Path:
    """Write ``data`` (``fsync``-ed) to a new file next to ``path`` and answer it.

    Its name is ``<name>.cut-<unix time in ns>-<pid>-<n>``, ``n`` counting the process's
    side files: two cuts never share one, not even within one clock tick by one pid (pid
    1 of a container restarting in a loop gets the same pid every time). A name that
    exists all the same is never overwritten: the next one is tried.

    Raises
    ------
    FileExistsError
        If the :data:`_SIDE_NAMES` names tried all exist.
    OSError
        If the file cannot be written (a read-only directory, a full disk).
    """
    tried = 0
    while True:
        side = path.with_name(f"{path.name}.cut-{time.time_ns()}-{os.getpid()}-{next(_side_count)}")
        tried += 1
        try:
            f = side.open("xb")
        except FileExistsError:
            if tried == _SIDE_NAMES:
                raise
            continue
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return side


def _checksummed(line: bytes) -> bytes | None:
    """The payload of a line (``<sha256 hex> <payload>``) whose checksum holds, else None.

    Examples
    --------
    >>> import hashlib
    >>> _checksummed(hashlib.sha256(b"{}").hexdigest().encode() + b" {}")
    b'{}'
    >>> _checksummed(b"0 {}") is None
    True
    """
    digest, _, payload = line.partition(b" ")
    return payload if hashlib.sha256(payload).hexdigest().encode() == digest else None


def _verified(line: bytes) -> tuple[list[str], npt.NDArray[np.int64], FloatArray, float] | None:
    """The batch a line holds, or ``None`` when its checksum or format is wrong."""
    payload = _checksummed(line)
    if payload is None:
        return None
    try:
        batch = json.loads(payload)
        ids = [str(i) for i in batch["ids"]]
        y = np.asarray(batch["y"], dtype=np.float64)
        rows = np.asarray(
            batch["rows"] if batch["rows"] is not None else np.zeros(len(ids)), dtype=np.int64
        )
        stamp = float(batch["at"])
        ok = batch["v"] == _LOG_VERSION and y.size == len(ids) == rows.size
    except (ValueError, KeyError, TypeError):
        return None
    return (ids, rows, y, stamp) if ok else None


# --- intervals -----------------------------------------------------------------------------


def _support(metric: str, y: FloatArray, pred: FloatArray) -> int:
    """The pairs ``metric``'s value rests on (:attr:`WindowMetric.support`)."""
    truth, guess = y == 1, pred == 1
    if metric == "recall":
        return int(np.count_nonzero(truth))
    if metric == "precision":
        return int(np.count_nonzero(guess))
    if metric == "f1":
        return int(np.count_nonzero(truth | guess))
    if metric == "roc_auc":  # DeLong's variance is driven by the smaller class
        positives = int(np.count_nonzero(truth))
        return min(positives, int(y.size) - positives)
    return int(y.size)


def _zero_denominator(metric: str, y: FloatArray, pred: FloatArray) -> str:
    """Why ``metric`` is 0/0 on the window, or ``""``: the checks' convention answers 0
    there (scikit-learn's), but a monitor must not read "nothing to measure" as "all wrong"."""
    truth, guess = y == 1, pred == 1
    if metric == "precision" and not guess.any():
        return "the model predicted no positive in the window (tp + fp = 0)"
    if metric == "recall" and not truth.any():
        return "the window's outcomes hold no positive (tp + fn = 0)"
    if metric == "f1" and not (truth.any() or guess.any()):
        return "the window holds no positive, predicted or true (2tp + fp + fn = 0)"
    if metric == "r2" and not np.any(y != y[0]):
        return "the window's outcomes are constant (their variance is 0)"
    return ""


def _clip(value: float, low: float, high: float) -> float:
    """``value`` clipped to ``[low, high]``; NaN stays NaN (``max(0.0, nan)`` is 0.0)."""
    return value if math.isnan(value) else min(high, max(low, value))


def _proportion_bound(metric: str, y: FloatArray, pred: FloatArray, z: float) -> float:
    truth, guess = y == 1, pred == 1
    if metric == "accuracy":
        hits, total = int(np.count_nonzero(truth == guess)), y.size
    elif metric == "precision":
        hits, total = int(np.count_nonzero(truth & guess)), int(np.count_nonzero(guess))
    else:
        hits, total = int(np.count_nonzero(truth & guess)), int(np.count_nonzero(truth))
    return _wilson(hits, total, z) if total else math.nan


def _mean_bound(metric: str, value: float, y: FloatArray, pred: FloatArray, q: float) -> float:
    """Student's t bound (``n - 1`` df) of the mean of the per-row terms; for rmse, the t
    bound of ``log(mean squared error)`` (delta method), square-rooted: squared errors are
    right-skewed, and a bound symmetric in the MSE misses high values far more often than
    low ones (1 in 10 at n = 20 with normal errors, see the module's table)."""
    if metric == "rmse":
        # On the scale of the largest error: squares of errors near 1e-160 or 1e160
        # underflow to 0 or overflow to inf, and the bound collapsed onto the value or
        # spanned (0, inf).
        with np.errstate(all="ignore"):
            u = _unit_squares(y - pred)
        if u is not None and not u.any():  # no error at all: nothing to bound
            return value
        t = _student(q, y.size)
        if u is None or math.isnan(t):  # an error of NaN or inf, or n < 2
            return math.nan
        return value * math.sqrt(_exp(t * _se(u) / float(np.mean(u))))
    if metric == "mae":
        terms = np.abs(y - pred)
    elif metric == "brier":
        terms = (pred - y) ** 2
    else:
        # The very terms stats.log_loss averages (probabilities clipped to float64's
        # machine epsilon, as scikit-learn does): a bound built from other terms can miss
        # the value it bounds (a clip at 1e-15 put it 1.5 below a value of 36).
        eps = np.finfo(np.float64).eps
        p = np.clip(pred, eps, 1 - eps)
        terms = -np.where(y == 1, np.log(p), np.log1p(-p))
    return float(np.mean(terms)) + _student(q, terms.size) * _se(terms)


def _r2_bound(value: float, y: FloatArray, pred: FloatArray, q: float) -> float:
    """Student's t bound (``n - 1`` df) of ``log(A/B)``, ``A = mean(e^2)``, ``B = mean((y -
    mean y)^2)``, by the delta method, carried to ``r2 = 1 - A/B``: on the log scale the
    ratio's skew is mostly gone (the bound on ``r2`` itself missed low values 1 in 8 at n = 20)."""
    if y.size < 2:
        return math.nan
    # The variance of log(A/B) is that of e^2/A - d^2/B: computed on each term's own scale it
    # neither underflows (outcomes near 1e-100 gave a bound of -inf) nor overflows (1e77 gave
    # (-inf, 1.0); 1e80 raised OverflowError from evaluate).
    with np.errstate(all="ignore"):
        e2 = _unit_squares(y - pred)
        d2 = _unit_squares(y - np.mean(y))
    if e2 is None or d2 is None or not d2.any():
        return math.nan
    if not e2.any():  # a perfect fit: r2 is 1 with no spread to bound
        return value
    cov = np.cov(np.vstack([e2 / np.mean(e2), d2 / np.mean(d2)]))
    var = (cov[0, 0] - 2 * cov[0, 1] + cov[1, 1]) / y.size
    if not math.isfinite(var):
        return math.nan
    se = math.sqrt(max(0.0, float(var)))
    return 1 - (1 - value) * _exp(-_student(q, y.size) * se)


def _unit_squares(diff: FloatArray) -> FloatArray | None:
    """``(diff / max |diff|) ** 2``, squares in ``[0, 1]`` whose mean is at least ``1/n``
    (all zeros when ``diff`` is); None when ``diff`` holds NaN or inf."""
    if diff.size == 0 or not np.all(np.isfinite(diff)):
        return None
    scale = float(np.max(np.abs(diff)))
    return diff * 0.0 if scale == 0.0 else (diff / scale) ** 2


def _student(q: float, n: int) -> float:
    """The level-``q`` quantile of Student's t with ``n - 1`` df (NaN for ``n < 2``), as
    ``scipy.stats.t.ppf`` computes it (without importing scipy.stats)."""
    return float(special.stdtrit(n - 1, q)) if n > 1 else math.nan


def _exp(x: float) -> float:
    """``exp(x)``, infinite past float's range instead of raising OverflowError; NaN for
    NaN (``nan < 709.0`` is False: NaN became inf, and a bound of -inf a real sample)."""
    if math.isnan(x):
        return math.nan
    return math.exp(x) if x < 709.0 else math.inf


def _bound(
    metric: str, value: float, pairs: tuple[FloatArray, FloatArray], q: float, seed: int
) -> float:
    """The level-``q`` one-sided bound of ``metric`` (``q = 0.5``: the estimate)."""
    if q == 0.5 or math.isnan(value):
        return value
    y, pred = pairs
    z = float(special.ndtri(q))
    method = OUTCOME_METRICS[metric][1]
    if method == "wilson":
        return _proportion_bound(metric, y, pred, z)
    if method == "bootstrap":
        return _f1_bootstrap(y == 1, pred == 1, q, seed=seed)
    if method == "delong":
        return _clip(value + z * _delong_se(y == 1, pred), 0.0, 1.0)
    if method == "t":
        return _mean_bound(metric, value, y, pred, q)
    return _r2_bound(value, y, pred, q)


def _se(terms: FloatArray) -> float:
    """The standard error of the mean of ``terms``, on the scale of the largest term (the
    squared deviations of terms near 1e160 overflowed, and of terms near 1e-160 underflowed)."""
    if terms.size < 2:
        return math.nan
    scale = float(np.max(np.abs(terms)))
    if scale == 0.0 or not math.isfinite(scale):
        return 0.0 if scale == 0.0 else math.nan
    return float(np.std(terms / scale, ddof=1)) * scale / math.sqrt(terms.size)


def _wilson(hits: int, total: int, z: float) -> float:
    p = hits / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    bound = (centre + spread) / (1 + z2 / total)
    # Rounding must not put a bound on the wrong side of the estimate (p = 0 gives 5e-17).
    return min(p, max(0.0, bound)) if z < 0 else max(p, min(1.0, bound))


def _f1_bootstrap(
    truth: npt.NDArray[np.bool_], guess: npt.NDArray[np.bool_], q: float, *, seed: int
) -> float:
    tp = int(np.count_nonzero(truth & guess))
    fp = int(np.count_nonzero(~truth & guess))
    fn = int(np.count_nonzero(truth & ~guess))
    n = truth.size
    cells = np.array([tp, fp, fn, n - tp - fp - fn], dtype=np.float64) / n
    draws = np.random.default_rng(seed).multinomial(n, cells, size=_F1_RESAMPLES)
    num = 2.0 * draws[:, 0]
    den = num + draws[:, 1] + draws[:, 2]
    f1 = np.divide(num, den, out=np.zeros(_F1_RESAMPLES), where=den > 0)
    return float(np.quantile(f1, q))


def _delong_se(truth: npt.NDArray[np.bool_], score: FloatArray) -> float:
    pos, neg = np.sort(score[truth]), np.sort(score[~truth])
    m, k = pos.size, neg.size
    if m < 2 or k < 2:
        return math.nan
    # placement of each positive among negatives, and of each negative among positives
    v10 = (np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")) / (2 * k)
    v01 = 1 - (np.searchsorted(pos, neg, "left") + np.searchsorted(pos, neg, "right")) / (2 * m)
    return math.sqrt(float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / k))
