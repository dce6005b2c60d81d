"""Prediction drift and feature drift per window, against the profiles stored with a version.

At registration, a version stores the :class:`~modelship.checks.DriftProfile` of its
training features (``register(..., profile=...)``, read back as ``mv.profile``) and, with
:func:`prediction_profile`, the profile of its predictions on that data (role
:data:`PREDICTION_PROFILE`, read back as ``mv.attachment(PREDICTION_PROFILE,
DriftProfile)``). In production, :class:`DriftSource` keeps the logged rows of the model
server's prediction log (``inputs`` and ``output``; ``inputs="full"``) and, for a window,
runs :class:`~modelship.checks.DataDrift` and :class:`~modelship.checks.PredictionDrift`
with the stored profile as the reference: the engine of the pre-deployment checks, with
its per-column methods, multiple-testing correction and drift share.

Metrics a :class:`DriftSource` answers (one point per window; the window's row count is
the sample size, so a condition's ``min_samples`` applies). A window with fewer logged
rows than the checks' ``min_values``, or whose columns have too few values to judge
(fewer than ``min_values`` in each) while none is above ``max_missing_rate``, is
:class:`NoData`, as a window without rows is; many rows whose values are missing fail
the check, and the metric counts them as drifted:

======================================  ==================================================
``feature_drift``                       share of feature columns that drifted (0 to 1):
                                        the :class:`~modelship.checks.DataDrift`
                                        statistic, except that a column the check fails
                                        for its missing values (above
                                        ``max_missing_rate``) counts as drifted
``prediction_drift``                    share of prediction columns that drifted, the same
                                        way (0 or 1 for a single output)
``feature_drift:<column>``              the column's test statistic (KS D against a
                                        profile for a numeric column, chi-square for a
                                        categorical one); ``+inf``, beyond any threshold,
                                        for a column above ``max_missing_rate``
``prediction_drift:prediction``         the same for the prediction column
======================================  ==================================================

One server answers ``predict`` and ``predict_proba``, so its log mixes labels, numbers and
``[p0, p1]`` pairs. A prediction profile describes the answers of one method, which the
user states (``set_profiles(..., answers=...)``; by default ``"predict"`` for a profile of
one column, ``"predict_proba"`` for one of several), and a window
compares it with that method's answers only, never a mix:

* ``answers="predict"``: each row's predict answer (``output`` of a row whose ``method`` is
  ``predict``, or ``outputs["predict"]`` of a row answered by several methods);
* ``answers="predict_proba"``: ``p1`` of each ``[p0, p1]`` answer of predict_proba
  (``output`` of a row whose ``method`` is ``predict_proba``, or
  ``outputs["predict_proba"]``), or the whole lists for a profile of several columns.

A row written before the log carried ``method`` is predict_proba's when its output is a
pair, predict's otherwise. A window without answers of that method is :class:`NoData`
saying so; so is a numeric profile against labels (integers, booleans, strings), which
would drift from any probability profile. Feature drift counts each request row of a
version once, however many methods answered it.

Features are matched to the logged ``inputs`` by position: the i-th input is the i-th
column of ``feature_names``, by default the profile's own column order (the order of the
training data, which is the order the model reads). A null input or answer is a missing
value of its column (counted in its missing rate; a null prediction in ``dropped``), not
a category or a number.

Examples
--------
>>> import numpy as np
>>> import modelship as ms
>>> rng = np.random.default_rng(0)
>>> train = rng.normal(size=(2000, 2))
>>> src = ms.monitor.DriftSource(now=100.0)
>>> src.set_profiles("1", features=ms.checks.DriftProfile.from_data(train),
...                  predictions=ms.monitor.prediction_profile(train.sum(axis=1)))
>>> shifted = rng.normal(1.0, 1.0, size=(500, 2))
>>> _ = src.add_predictions([{"request_id": str(i), "row": 0, "timestamp": 50.0,
...                           "version": "1", "inputs": x.tolist(), "output": float(x.sum())}
...                          for i, x in enumerate(shifted)])
>>> src.fetch("feature_drift", slot="1", start=0.0, end=100.0, stat="mean").values.tolist()
[1.0]
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from modelship._params import (
    Constraints,
    Interval,
    MappingOf,
    Options,
    Text,
    check_parameters,
    validate_params,
)
from modelship._rollback._conditions import check_stat, quantile_of
from modelship._rollback._constraints import SECONDS, SLOT, TIME, require
from modelship._rollback._sources import NoData, Outcome, Samples, SourceError, as_clock
from modelship._shown import brief
from modelship.checks import CheckResult, DataDrift, DriftProfile, PredictionDrift, Status
from modelship.checks._drift import MIN_VALUES
from modelship.checks._tabular import epoch_seconds
from modelship.errors import CheckInputError, ConfigError, EmptyData
from modelship.monitor._outcomes import PAIR_SUM_TOLERANCE
from modelship.monitor._timeindex import TimeIndex

__all__ = [
    "DEFAULT_RETENTION",
    "DRIFT_METRICS",
    "PREDICTION_PROFILE",
    "DriftSource",
    "prediction_profile",
]

#: The attachment role under which a version's prediction profile is stored.
PREDICTION_PROFILE = "prediction_profile"

#: The drift metrics of a :class:`DriftSource` (and ``<metric>:<column>`` for one column).
DRIFT_METRICS = ("feature_drift", "prediction_drift")

#: How long a :class:`DriftSource` keeps a logged row by default: 24 hours (in seconds)
#: before its clock. Give ``retention=`` at least the longest window a policy asks for.
DEFAULT_RETENTION = 86_400.0

#: A timestamp this far (in seconds) after the source's clock, and beyond any time in
#: seconds until the year 5138 (``1e11``), is refused: it is a time in milliseconds,
#: microseconds or nanoseconds given as seconds, which no window would ever reach.
_FUTURE_SLACK = 86_400.0
_SECONDS_BEYOND = 1e11


_EPOCH_SECONDS = "the prediction log holds seconds since the epoch (time.time())"


@validate_params(
    kind=(None, Options(("numeric", "categorical"))), summary_size=Interval(int, 2, None)
)
def prediction_profile(
    predictions: npt.ArrayLike, *, kind: str | None = None, summary_size: int = 1001
) -> DriftProfile:
    """The drift profile of a model's predictions on its reference data, to store with it.

    Pass it to the registry at registration, under the role :data:`PREDICTION_PROFILE`:
    ``reg.register(..., profile=X_train, attachments={PREDICTION_PROFILE:
    prediction_profile(model.predict(X_train))})``.

    Parameters
    ----------
    predictions : array_like
        One output per reference row: scores or probabilities (numeric), or labels.
    kind : {None, "numeric", "categorical"}
        How the output is compared; ``None``: as :class:`~modelship.checks.PredictionDrift`
        decides on the predictions themselves: floating point is numeric, anything else
        classes, integers of a nullable type (pandas ``Int64``, polars, arrow) with
        missing values included. A kind given here is recorded as declared, as
        ``PredictionDrift(kind=...)`` declares it; ``PredictionDrift`` against the profile
        refuses a different ``kind=``.
    summary_size : int
        Quantiles kept for a numeric output (see :class:`~modelship.checks.DriftProfile`).

    Raises
    ------
    ConfigError
        If ``predictions`` is not one-dimensional or ``kind`` is unknown.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://prediction-profile-doc")
    >>> mv = reg.register(model_name="m", model=b"x", serializer="bytes", attachments={
    ...     ms.monitor.PREDICTION_PROFILE: ms.monitor.prediction_profile([0.1, 0.4, 0.8])})
    >>> stored = reg.get("m").attachment(ms.monitor.PREDICTION_PROFILE, ms.checks.DriftProfile)
    >>> list(stored.numeric)
    ['prediction']
    """
    # Imported here: the helper lives with PredictionDrift, whose inference it shares.
    from modelship.checks._drift import prediction_kind

    shape = np.shape(predictions)
    if len(shape) != 1:
        raise ConfigError(
            f"predictions must be one output per row (1-D), got shape {shape}; "
            "profile class probabilities with DriftProfile.from_data instead"
        )
    # The predictions as given (not np.asarray of them): a nullable integer column keeps
    # its dtype, which says it holds classes, in the inference and in the schema.
    chosen = prediction_kind(predictions).value if kind is None else kind
    profile = DriftProfile.from_data(
        {"prediction": predictions}, kinds={"prediction": chosen}, summary_size=summary_size
    )
    # An inferred kind is not a declaration (PredictionDrift without kind= warns about an
    # identifier-like output); one given is.
    return profile if kind is not None else attrs.evolve(profile, declared_kinds={})


def _missing(answers: npt.NDArray[Any]) -> int:
    """Answers the check reads as missing (a null or NaN prediction; a list holding one):
    they are no sample of the model's output, so they are not counted in ``n``."""
    if answers.dtype.kind == "f":
        absent = np.isnan(answers)
    elif answers.dtype.kind == "O":
        absent = np.frompyfunc(
            lambda v: v is None or (isinstance(v, float) and math.isnan(v)), 1, 1
        )(answers).astype(bool)
    else:
        return 0
    if absent.ndim > 1:
        absent = absent.reshape(len(absent), -1).any(axis=1)
    return int(np.count_nonzero(absent))


def _epoch_seconds(value: Any) -> float:
    """A logged row's timestamp as seconds since the epoch, as the checks read dates.

    A number is read as seconds; ``np.datetime64`` of any unit and a ``datetime`` with a
    time zone are converted to them. A truth value, a duration and a ``datetime``
    without a time zone are refused: each would be read as some other time.

    Raises
    ------
    ConfigError
        For a truth value, a duration (``np.timedelta64``, ``timedelta``), a naive
        ``datetime``, ``NaT``, or a value that is not a number (the message says which).
    TypeError, ValueError, OverflowError
        From ``float()`` for anything else that is not a number (the caller says what
        a row needs).

    Examples
    --------
    >>> import numpy as np
    >>> _epoch_seconds(np.datetime64("2024-01-01T00:00:00.5", "ms"))
    1704067200.5
    >>> _epoch_seconds(np.datetime64("2024-01-01", "ns")) == _epoch_seconds(
    ...     np.datetime64("2024-01-01", "D"))
    True
    """
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"timestamp {value!r} is a truth value, not a time; {_EPOCH_SECONDS}")
    if isinstance(value, (np.timedelta64, dt.timedelta)):
        raise ConfigError(f"timestamp {value!r} is a duration, not a time; {_EPOCH_SECONDS}")
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ConfigError(f"timestamp {value!r} is NaT, not a time; {_EPOCH_SECONDS}")
        try:  # as the checks read a column of dates: from the value's own unit
            return float(epoch_seconds(np.asarray([value]), "timestamp")[0])
        except CheckInputError as exc:  # a count of years beyond int64's days
            raise ConfigError(str(exc)) from exc
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigError(
                f"timestamp {value!r} has no time zone, so it names no instant; give "
                "tzinfo (datetime.timezone.utc) or seconds since the epoch"
            )
        return value.timestamp()
    return float(value)


def _unit_mistake(stamp: float) -> str:
    """What a timestamp far beyond the clock looks like it is in."""
    for unit, below, factor in (
        ("milliseconds", 1e14, "1e3"),
        ("microseconds", 1e17, "1e6"),
        ("nanoseconds", 1e20, "1e9"),
    ):
        if stamp < below:
            return f"it looks like {unit} since the epoch: divide by {factor}"
    return "it is no time in seconds since the epoch"


def _null(value: Any) -> bool:
    """Whether a logged value is missing: JSON null, or a NaN."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _column(values: Sequence[Any]) -> npt.NDArray[Any]:
    """One logged column (a feature, or one answer per row) as the drift engine reads it.

    The values present are read as ``np.asarray`` reads them, whether the window has a
    null or not; a null is missing whatever the column holds. Read with the others,
    ``np.asarray`` would make it the text ``'nan'`` in a column of text (an unseen
    category) and turn booleans into the numbers 1.0 and 0.0 (labels ``'1'``/``'0'``, not
    the profile's ``'True'``/``'False'``). So numbers with nulls are float64 with NaN, and
    anything else stays Python objects with None, which the engine counts as missing, as
    it does for a data frame's column of objects. A value that is not a scalar (a list)
    stays one object, for the check to refuse, rather than a second dimension.
    """
    absent = np.fromiter((_null(v) for v in values), dtype=bool, count=len(values))
    if not absent.any():
        try:
            array = np.asarray(values)
        except ValueError:  # lists of different lengths
            return np.fromiter(values, dtype=object, count=len(values))
        if array.ndim != 1:  # lists of one length
            return np.fromiter(values, dtype=object, count=len(values))
        return array
    typed = _column([v for v, null in zip(values, absent, strict=True) if not null])
    if typed.dtype.kind == "f":
        floats = np.full(len(values), math.nan)
        floats[~absent] = typed
        return floats
    objects = np.full(len(values), None, dtype=object)
    objects[~absent] = np.fromiter(typed.tolist(), dtype=object, count=len(typed))
    return objects


def _present(values: npt.NDArray[Any]) -> int:
    """The most values any column of ``values`` (one column, or one per row of 2-D
    answers) has for the check to judge: not missing, and finite for numbers."""
    if values.ndim == 2:
        return max((_present(values[:, j]) for j in range(values.shape[1])), default=0)
    if values.dtype.kind in "fc":
        return int(np.count_nonzero(np.isfinite(values)))
    if values.dtype.kind == "O":
        return sum(
            1
            for v in values.tolist()
            if not _null(v) and not (isinstance(v, float) and math.isinf(v))
        )
    return len(values)


def _answers(  # noqa: PLR0911 - one return per way the answers are read, or why they are not
    profile: DriftProfile, method: str, chosen: list[Any], logged: int
) -> tuple[npt.NDArray[Any] | None, str]:
    """The window's answers of ``method`` as the profile reads them, or None and why.

    ``chosen`` are the window's answers of ``method`` (out of ``logged`` rows): ``p1`` of
    the pairs for a one-column profile of predict_proba, the lists whole for a profile of
    several columns, the answers themselves for a one-column profile of predict.

    Raises
    ------
    ConfigError
        If the answers do not fit the profile (lists against a one-column profile of
        predict, lists of different lengths, a predict_proba answer that is not a pair
        against a one-column profile).
    """
    if not chosen:
        return None, (
            f"none of its {logged} logged rows has a {method} answer, and the prediction "
            f"profile describes {method}'s answers (set_profiles(..., answers=...))"
        )
    columns = set(profile.numeric) | set(profile.categorical)
    given = [o for o in chosen if not _null(o)]  # a null answer is missing, of any shape
    if columns != {"prediction"}:
        if not all(isinstance(o, list) for o in given):
            return _column(chosen), ""  # not lists: the check says what does not fit
        widths = sorted({len(o) for o in given})
        if len(widths) > 1:
            raise ConfigError(
                f"the logged {method} answers are lists of different lengths ({widths[:5]}); "
                "one model answers one width"
            )
        # A null answer is a row of missing values, as wide as the others.
        width = widths[0] if widths else len(columns)
        rows = [[None] * width if _null(o) else o for o in chosen]
        if width == 0 or not any(_null(v) for row in rows for v in row):
            return np.asarray(rows), ""
        return np.column_stack([_column([row[j] for row in rows]) for j in range(width)]), ""
    odd = next((o for o in given if isinstance(o, list) != (method == "predict_proba")), None)
    if odd is not None or (method == "predict_proba" and any(len(o) != 2 for o in given)):
        shown = odd if odd is not None else next(o for o in given if len(o) != 2)
        raise ConfigError(
            f"the prediction profile has one column, compared with "
            f"{'p1 of the [p0, p1] pairs' if method == 'predict_proba' else 'one value'} of "
            f"{method}'s answers, but one is {brief(shown)}; profile several columns with "
            "DriftProfile.from_data"
        )
    if method == "predict_proba":
        return np.asarray(
            [math.nan if _null(o) or o[1] is None else float(o[1]) for o in chosen],
            dtype=np.float64,
        ), ""
    if "prediction" in profile.numeric and any(_is_label(o) for o in chosen):
        return None, (
            "its predict answers are labels and the prediction profile is numeric: a "
            "profile of probabilities is compared with predict_proba's answers "
            "(set_profiles(..., answers='predict_proba')); a profile of labels is "
            "prediction_profile(model.predict(X))"
        )
    return _column(chosen), ""


def _is_label(output: Any) -> bool:
    """Whether ``output`` is a class label (integer, boolean, string), not a number."""
    return isinstance(output, (bool, int, str, np.integer, np.bool_)) and not isinstance(
        output, float
    )


def _feature_names(value: object) -> tuple[str, ...]:
    """``feature_names`` as a tuple of names, or a ConfigError saying what it must be."""
    # Any iterable of names (a list, a data frame's columns), but not one name.
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(
            f"feature_names={brief(value)} is not allowed; give a list of column names, one "
            "per logged input, in input order"
        )
    names = list(value)
    odd = next((name for name in names if not isinstance(name, str)), None)
    if odd is not None:
        raise ConfigError(
            f"feature_names holds {brief(odd)}, not a column name; give the names as strings"
        )
    return tuple(str(name) for name in names)


def _check_options(options: object) -> None:
    """``options`` is what both drift checks accept: each window runs one or the other
    with them, so an option only one of them knows would fail the other's windows."""
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise ConfigError(
            f"options={brief(options)} is not allowed; options must be a mapping of keyword "
            "arguments of DataDrift and PredictionDrift ({'alpha': 0.01})"
        )
    known = (set(attrs.fields_dict(DataDrift)) & set(attrs.fields_dict(PredictionDrift))) - {
        "reference",
        "current",
        "name",
    }
    unknown = sorted(str(name) for name in options if name not in known)
    if unknown:
        raise ConfigError(
            f"options {unknown} are not keyword arguments of both DataDrift and "
            f"PredictionDrift; give some of {sorted(known)}"
        )
    try:  # the checks' own validation, now rather than at the first window
        for check in (DataDrift, PredictionDrift):
            check(reference=None, current=None, **options)
    except ConfigError as exc:
        raise ConfigError(f"options: {exc}") from exc


class _Rows:
    """One version's logged rows by position, with a time index: the inputs (None for a
    request row already kept for another method), each method's answer (``_NONE`` when
    the row has none), and the row's key (as the source's ``_seen`` holds it, to forget
    it with the row). ``dropped_through``: rows stamped at or before it were dropped
    (retention), so a window starting before it would be judged on part of its rows."""

    def __init__(self) -> None:
        self.inputs: list[Any] = []
        self.answers: dict[str, list[Any]] = {"predict": [], "predict_proba": []}
        self.keys: list[tuple[str, int, str, str | None]] = []
        self.index = TimeIndex()
        self.dropped_through = -math.inf

    def drop_through(self, cutoff: float) -> list[tuple[str, int, str, str | None]]:
        """Drop the rows stamped at or before ``cutoff``; returns their keys."""
        keep = self.index.drop_through(cutoff, size=len(self.keys))
        if keep.all():
            return []
        kept = np.flatnonzero(keep).tolist()
        gone = [self.keys[i] for i in np.flatnonzero(~keep).tolist()]
        self.keys = [self.keys[i] for i in kept]
        self.inputs = [self.inputs[i] for i in kept]
        self.answers = {name: [column[i] for i in kept] for name, column in self.answers.items()}
        self.dropped_through = max(self.dropped_through, cutoff)
        return gone


#: A row without an answer of a method.
_NONE: Any = object()

#: The methods a prediction profile may describe.
ANSWERS = ("predict", "predict_proba")


def _is_probability_pair(output: list[Any]) -> bool:
    """Whether ``output`` is two class probabilities (null allowed: a missing one)."""
    if len(output) != 2:
        return False
    if not all(
        p is None or (isinstance(p, (int, float)) and not isinstance(p, bool)) for p in output
    ):
        return False
    shown = [float(p) for p in output if p is not None]
    if not all(0.0 <= p <= 1.0 for p in shown):
        return False
    return len(shown) < 2 or abs(sum(shown) - 1.0) <= PAIR_SUM_TOLERANCE  # OutcomeSource's


def _row_answers(output: Any, method: object, outputs: object) -> dict[str, Any]:
    """predict's and predict_proba's answers in a logged row (``_NONE`` where none).

    ``output`` is the answer of the row's ``method``; a row answered by several methods
    (a v2 request naming no outputs) has each in ``outputs``. A row without ``method``
    (written before the log carried it) is predict_proba's if its output is a pair.
    """
    found = {"predict": _NONE, "predict_proba": _NONE}
    if method is None:
        pair = isinstance(output, list) and _is_probability_pair(output)
        found["predict_proba" if pair else "predict"] = output
    elif method in found:
        found[str(method)] = output
    if isinstance(outputs, Mapping):
        for name in ANSWERS:
            if name in outputs:
                found[name] = outputs[name]  # a null is missing (see _column)
    return found


def _check_window(start: float, end: float) -> None:
    """A window ``(start, end]`` asked for: ``start`` not after ``end``."""
    if float(start) > float(end):
        raise ConfigError(
            f"start={start!r} is after end={end!r}; a window is (start, end] with start <= end"
        )


def _above_missing_rate(result: CheckResult) -> set[str]:
    """The columns ``result`` fails for their missing or non-finite values
    (``max_missing_rate``), tested or not."""
    return {
        name
        for name, column in result.columns.items()
        if column.details.get("max_missing_rate_exceeded")
    }


def _drift_share(result: CheckResult, broken: set[str]) -> float | None:
    """The share of drifted columns, a column above ``max_missing_rate`` counted as drifted.

    The check's own statistic counts only the columns its test judged drifted, so a
    feature gone mostly null (an upstream outage) read as 0 while the check failed: the
    metric counts the columns the check fails, as the check does. Without such a column
    it is the check's statistic.
    """
    if not broken:
        return result.statistic
    judged = [
        name
        for name, column in result.columns.items()
        if name in broken or getattr(column, "drifted", None) is not None
    ]
    drifted = [
        name for name in judged if name in broken or getattr(result.columns[name], "drifted", None)
    ]
    return len(drifted) / len(judged)


#: A logged row as :meth:`DriftSource.add_predictions` keeps it: its key (request id, row,
#: version, method), version, inputs and answers by method.
_Parsed = tuple[tuple[str, int, str, str | None], str, Any, dict[str, Any]]


def _parsed(rows: Iterable[Mapping[str, Any]]) -> tuple[list[_Parsed], list[float]]:
    """The rows given to :meth:`DriftSource.add_predictions`, each checked, and their
    timestamps in seconds; a ConfigError naming the first row that does not fit."""
    parsed: list[_Parsed] = []
    stamps: list[float] = []
    for number, row in enumerate(rows):  # bounded by the rows given; validate them all first
        try:
            key = (str(row["request_id"]), int(row.get("row", 0)))
            stamp = _epoch_seconds(row["timestamp"])
            version = str(row["version"])
            output = row["output"]
        except ConfigError as exc:
            raise ConfigError(f"prediction {number}: {exc}") from exc
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # 10**400
            raise ConfigError(
                f"prediction {number}: needs request_id, timestamp, version and "
                f"output (as the prediction log writes them): {exc!r}"
            ) from exc
        if not math.isfinite(stamp):
            raise ConfigError(f"prediction {number}: timestamp {stamp!r} is not finite")
        method = row.get("method")
        answers = _row_answers(output, method, row.get("outputs"))
        # One request id answered by two versions (a retried client id) or by two
        # methods is two rows: keyed by the id alone, the second would be dropped.
        seen = (*key, version, None if method is None else str(method))
        parsed.append((seen, version, row.get("inputs"), answers))
        stamps.append(stamp)
    return parsed, stamps


@attrs.frozen
class _Window:
    """A window's drift check: its result (None when there was nothing to compare, and
    ``why``), the rows it compared, the rows left out as missing (null predictions), and
    the most values any column had to judge."""

    result: CheckResult | None
    rows: int
    why: str
    missing: int = 0
    present: int = 0
    dropped: bool = False  # the window reaches rows dropped for retention (why says so)


class DriftSource:
    """Feature and prediction drift per window and version, against stored profiles.

    A :class:`~modelship.monitor.MetricSource`; see the module's table of metrics. A
    statistic other than ``count`` (the window's rows) reads the window's value; a
    percentile is refused (drift has no interval here). A prediction profile is compared
    with the answers of the method it describes (``answers=`` of :meth:`set_profiles`).

    Rows are kept for ``retention`` seconds before the source's clock: a row stamped
    earlier is not kept when it is added, and rows that grow older are dropped (with the
    keys that recognise them again) once the oldest is 10 % past it, so memory follows
    the traffic of the last ``retention`` seconds, not the whole log. A window starting
    before a dropped row's time is :class:`NoData` saying so (:meth:`check` raises
    :class:`~modelship.errors.ConfigError`), never judged on part of its rows.

    Parameters
    ----------
    slots : mapping of str to str, optional
        Slot name to the version it serves; a slot not listed is a version name.
    now : float or callable, optional
        The clock (the wall clock by default).
    options : mapping, optional
        Keyword arguments of :class:`~modelship.checks.DataDrift` and
        :class:`~modelship.checks.PredictionDrift` (``alpha``, ``drift_share``...), the
        same as the pre-deployment check uses; only those both accept.
    retention : float or None, default :data:`DEFAULT_RETENTION` (24 hours)
        Seconds before the clock for which logged rows are kept: at least the longest
        window a policy asks for (``Policy(window=...)``). ``None`` keeps every row, and
        memory grows with the log (about 700 bytes a row of 10 features).

    Raises
    ------
    ConfigError
        If ``slots`` is not a mapping of names to versions, ``options`` names a keyword
        argument one of the checks does not take or gives a value it refuses, or
        ``retention`` is not a finite number of seconds > 0 or None.

    Examples
    --------
    >>> import modelship as ms
    >>> src = ms.monitor.DriftSource(slots={"canary": "2"}, now=10.0)
    >>> type(src.fetch("feature_drift", slot="canary", start=0.0, end=10.0)).__name__
    'NoData'
    """

    _parameter_constraints: ClassVar[Constraints] = {"retention": (None, SECONDS)}

    def __init__(
        self,
        *,
        slots: Mapping[str, str] | None = None,
        now: float | Callable[[], float] | None = None,
        options: Mapping[str, Any] | None = None,
        retention: float | None = DEFAULT_RETENTION,
    ) -> None:
        require("slots", slots, None, MappingOf(SLOT, keys=SLOT))
        check_parameters(self, retention=retention)
        _check_options(options)
        self.slots = dict(slots or {})
        self.options = dict(options or {})
        self.retention = None if retention is None else float(retention)
        self._longest = 0.0  # the longest window asked for: rows are kept that long too
        self._now = as_clock(now)
        self._lock = threading.Lock()
        self._profiles: dict[str, tuple[DriftProfile | None, DriftProfile | None]] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self._answers: dict[str, str] = {}  # the method each prediction profile describes
        self._rows: dict[str, _Rows] = {}
        self._seen: set[tuple[str, int, str, str | None]] = set()
        self._inputs_seen: set[tuple[str, int, str]] = set()  # request rows, once each
        # Per prediction log (its URL): the batch files read whole. A batch is published
        # whole and never changed (PredictionLog), so it is not read again.
        self._batches_read: dict[str, set[str]] = {}

    def now(self) -> float:
        """The source's clock."""
        return float(self._now())

    # --- profiles ------------------------------------------------------------------------

    def set_profiles(
        self,
        version: str,
        *,
        features: DriftProfile | None = None,
        predictions: DriftProfile | None = None,
        feature_names: Sequence[str] | None = None,
        answers: str | None = None,
    ) -> None:
        """Use these profiles as the reference of ``version``.

        ``feature_names`` names the logged inputs by position: each of the feature
        profile's columns once, in any order, and the columns it left out (not compared)
        if the model reads them; by default the feature profile's columns in their order.
        ``answers`` is the method whose answers the prediction profile describes:
        ``"predict"`` (``prediction_profile(model.predict(X))``) or ``"predict_proba"``
        (``prediction_profile(model.predict_proba(X)[:, 1])``, compared with ``p1``; or
        the whole matrix profiled with ``DriftProfile.from_data``). By default
        ``"predict"`` for a profile of one column, ``"predict_proba"`` for a profile of
        several (class probabilities profiled whole); the logged data never decides.

        Raises
        ------
        ConfigError
            If neither profile is given, ``feature_names`` does not name each of the
            feature profile's columns exactly once (a column the profile left out may be
            named too), or ``answers`` is not a method named above.
        """
        if answers is None:
            several = predictions is not None and len(predictions.schema.columns) > 1
            answers = "predict_proba" if several else "predict"
        if answers not in ANSWERS:
            raise ConfigError(
                f"answers={brief(answers)} is not allowed; answers must be one of "
                f"{list(ANSWERS)}: the method whose answers the prediction profile describes"
            )
        if features is None and predictions is None:
            raise ConfigError(f"version {version}: give a feature or a prediction profile")
        names: tuple[str, ...] = ()
        if features is not None:
            profiled = tuple(c.name for c in features.schema.columns)
            names = profiled if feature_names is None else _feature_names(feature_names)
            # Each logged input is one column, so every profiled column must be named once
            # (a column left unnamed would make every window fail to compare, a repeated
            # name would overwrite another input); a column the profile left out may be
            # named too, as the model reads it, and is not compared.
            left_out = set(features.left_out)
            unknown = sorted(set(names) - set(profiled) - left_out)
            if unknown:
                raise ConfigError(
                    f"version {version}: feature_names {unknown} are not in the profile, "
                    f"whose columns are {list(profiled)}"
                    + (f" (and left out {sorted(left_out)})" if left_out else "")
                )
            repeated = sorted(name for name, count in Counter(names).items() if count > 1)
            if repeated:
                raise ConfigError(
                    f"version {version}: feature_names names {repeated} more than once; name "
                    "each logged input once, in input order"
                )
            named = set(names)
            unnamed = [name for name in profiled if name not in named]
            if unnamed:
                raise ConfigError(
                    f"version {version}: feature_names lacks the profile's column(s) "
                    f"{unnamed}; name every logged input, in input order: the profile's "
                    f"columns are {list(profiled)}"
                )
        self._profiles[str(version)] = (features, predictions)
        self._names[str(version)] = names
        self._answers[str(version)] = answers

    def use_version(
        self,
        mv: Any,
        *,
        feature_names: Sequence[str] | None = None,
        answers: str | None = None,
    ) -> None:
        """Use the profiles stored with a registered version (``reg.get(name, ref)``).

        The feature profile is ``mv.profile`` (``register(..., profile=...)``); the
        prediction profile the attachment :data:`PREDICTION_PROFILE`, describing the
        answers of the method ``answers`` (see :meth:`set_profiles`). Either may be
        missing, not both.

        Raises
        ------
        ConfigError
            If the version has neither profile.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://use-version-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                  profile={"age": [20.0, 35.0, 50.0]})
        >>> src = ms.monitor.DriftSource(now=0.0)
        >>> src.use_version(reg.get("m"))
        """
        stored = mv.attachments
        features = mv.attachment("profile", DriftProfile) if "profile" in stored else None
        predictions = (
            mv.attachment(PREDICTION_PROFILE, DriftProfile)
            if PREDICTION_PROFILE in stored
            else None
        )
        if features is None and predictions is None:
            raise ConfigError(
                f"{mv.name} {mv.version} has no drift profile: register it with profile=... "
                f"and attachments={{{PREDICTION_PROFILE!r}: prediction_profile(...)}}"
            )
        self.set_profiles(
            mv.version,
            features=features,
            predictions=predictions,
            feature_names=feature_names,
            answers=answers,
        )

    # --- data ---------------------------------------------------------------------------

    def add_predictions(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Keep logged rows (as :func:`~modelship.deploy.serve.read_prediction_log` returns
        them, with ``inputs``); returns how many were new and kept (a row seen before is
        ignored, and so is one stamped ``retention`` seconds or more before the clock).

        A ``timestamp`` is seconds since the epoch (a number, as the log writes it), an
        ``np.datetime64`` of any unit, or a ``datetime`` with a time zone; both are
        converted to seconds from their own unit.

        Raises
        ------
        ConfigError
            If a row lacks ``request_id``, ``timestamp``, ``version`` or ``output``, or
            its timestamp is not a finite time: a truth value, a duration, a ``datetime``
            without a time zone, or a number more than a day after the clock that is no
            time in seconds (``1.7e12``: milliseconds); then no row of the call is kept.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.monitor import DriftSource
        >>> src = DriftSource(now=1_704_067_300.0)
        >>> src.add_predictions([{"request_id": "a", "row": 0, "version": "1", "output": 0.5,
        ...                       "timestamp": np.datetime64("2024-01-01T00:00:00", "ns")}])
        1
        >>> src.add_predictions([{"request_id": "b", "row": 0, "version": "1", "output": 0.5,
        ...                       "timestamp": 1_704_067_200_000}])
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: prediction 0: timestamp 1.70407e+12 is ... days after
        the source's clock (1.70407e+09); it looks like milliseconds since the epoch: divide
        by 1e3; the prediction log holds seconds since the epoch (time.time())
        """
        parsed, stamps = _parsed(rows)
        if not parsed:
            return 0
        times = np.asarray(stamps, dtype=np.float64)
        latest = float(times.max())
        now = self.now()
        if latest >= _SECONDS_BEYOND and latest > now + _FUTURE_SLACK:
            # A time in ms, us or ns read as seconds: kept, it would be in no window ever.
            odd = (times >= _SECONDS_BEYOND) & (times > now + _FUTURE_SLACK)
            number = int(np.argmax(odd))
            stamp = stamps[number]
            raise ConfigError(
                f"prediction {number}: timestamp {stamp:g} is {(stamp - now) / 86_400:g} "
                f"days after the source's clock ({now:g}); {_unit_mistake(stamp)}; "
                f"{_EPOCH_SECONDS}"
            )
        keep = self._keep()
        cutoff = -math.inf if keep is None else now - keep
        added = 0
        with self._lock:  # rows, their keys and their time index change together
            fresh: dict[str, tuple[list[int], list[float]]] = {}
            for (seen, version, inputs, answers), stamp in zip(parsed, stamps, strict=True):
                if seen in self._seen:
                    continue
                store = self._rows.setdefault(version, _Rows())
                if stamp <= cutoff:  # past the retention: a window may no longer ask for it
                    store.dropped_through = max(store.dropped_through, stamp)
                    continue
                self._seen.add(seen)
                # A request row answered by two methods was one input: its features count
                # once in a window (the first row kept carries them).
                request_row = seen[:3]
                first = request_row not in self._inputs_seen
                self._inputs_seen.add(request_row)
                positions, times_added = fresh.setdefault(version, ([], []))
                positions.append(len(store.inputs))
                times_added.append(stamp)
                store.inputs.append(inputs if first else _NONE)
                store.keys.append(seen)
                for name, answer in answers.items():
                    store.answers[name].append(answer)
                added += 1
            for version, (positions, times_added) in fresh.items():
                self._rows[version].index.add(
                    np.asarray(positions, dtype=np.int64),
                    np.asarray(times_added, dtype=np.float64),
                )
            if keep is not None:
                self._prune(cutoff, keep)
        return added

    def _keep(self) -> float | None:
        """Seconds of rows kept before the clock: the retention, or the longest window
        asked for when longer (a policy's window is never judged on part of its rows);
        None: every row."""
        return None if self.retention is None else max(self.retention, self._longest)

    def _prune(self, cutoff: float, keep: float) -> None:
        """Drop the rows stamped at or before ``cutoff`` (with their keys and time index
        entries) once the oldest is 10 % of ``keep`` past it: each row is then moved by a
        few prunes at most, not one per call. Under the lock."""
        slack = cutoff - 0.1 * keep
        oldest = [store.index.oldest() for store in self._rows.values()]
        if not any(first is not None and first < slack for first in oldest):
            return
        for store in self._rows.values():
            for seen in store.drop_through(cutoff):
                self._seen.discard(seen)
                self._inputs_seen.discard(seen[:3])

    def load_prediction_log(
        self, url: str, *, storage_options: dict[str, Any] | None = None
    ) -> int:
        """Read a prediction log and keep what is new; returns how many rows were new.

        A batch file read whole before is not read again (the server publishes each batch
        once and never changes it), so polling the log costs the new batches, not the
        whole log. A batch that cannot be read or holds a line that is not a logged
        prediction raises :class:`~modelship.deploy.serve.PredictionLogError`, as
        :func:`~modelship.deploy.serve.read_prediction_log` does, and no row of the call
        is kept.

        Examples
        --------
        >>> from modelship.monitor import DriftSource
        >>> DriftSource(now=0.0).load_prediction_log("memory://no-drift-rows-yet")
        0
        """
        from modelship.deploy.serve._log import batch_rows, log_batches

        fs, paths = log_batches(url, storage_options)  # oldest first, as read_prediction_log
        listed = set(paths)
        # Two loads at once may both read a new batch: its rows are kept once (``_seen``).
        with self._lock:
            known = self._batches_read.get(url, set()) & listed  # forget removed batches
        rows: list[dict[str, Any]] = []
        read: set[str] = set()
        for path in paths:
            if path in known:
                continue
            batch = batch_rows(fs, path)
            if batch is not None:
                rows.extend(batch)
                read.add(path)
        added = self.add_predictions(rows)
        with self._lock:  # only once its rows are kept: a refused call reads them again
            self._batches_read[url] = (self._batches_read.get(url, set()) & listed) | read
        return added

    # --- checks ---------------------------------------------------------------------------

    @validate_params(
        kind=Options(("features", "predictions")), version=Text(), start=TIME, end=TIME
    )
    def check(self, kind: str, *, version: str, start: float, end: float) -> CheckResult | None:
        """Run the drift check of ``kind`` (``"features"`` or ``"predictions"``) on the
        window's rows against ``version``'s profile; ``None`` when the window has no row
        to compare (see :meth:`fetch` for which rows a prediction profile is compared
        with).

        Raises
        ------
        ConfigError
            If ``kind`` is not ``"features"`` or ``"predictions"``, ``version`` is not a
            non-empty string, ``start`` or ``end`` is not a finite time, ``start`` is
            after ``end``, ``version`` has no profile of that kind, the window starts
            before rows dropped for ``retention``, or the logged rows do not fit the
            profile (no inputs logged, a different number of features).

        Examples
        --------
        >>> import numpy as np
        >>> import modelship as ms
        >>> src = ms.monitor.DriftSource(now=100.0)
        >>> train = np.random.default_rng(0).normal(size=(200, 2))
        >>> src.set_profiles("1", features=ms.checks.DriftProfile.from_data(train))
        >>> src.check("features", version="1", start=0.0, end=100.0) is None   # no rows yet
        True
        """
        _check_window(start, end)
        self._note_window(start, end)
        window = self._check(kind, version=version, start=start, end=end)
        if window.dropped:
            raise ConfigError(window.why)
        return window.result

    def _note_window(self, start: float, end: float) -> None:
        """Rows are kept as long as the longest window asked for, when longer than the
        retention: a policy's window of two hours against a retention of one was judged
        until the first rows were dropped, then ``NoData`` for ever (a drifted canary held
        instead of failed)."""
        with self._lock:
            self._longest = max(self._longest, float(end) - float(start))

    def _check(self, kind: str, *, version: str, start: float, end: float) -> _Window:
        """The check of the window (see :class:`_Window`); ``kind`` is one of
        ``"features"``, ``"predictions"``. A window reaching rows dropped for the
        retention is not checked (``dropped``)."""
        profiles = self._profiles.get(str(version))
        profile = None if profiles is None else profiles[0 if kind == "features" else 1]
        if profile is None:
            raise ConfigError(
                f"version {version} has no {kind} profile; add it with set_profiles or use_version"
            )
        empty = f"no logged rows of version {version} in ({start:g}, {end:g}]"
        method = self._answers[str(version)]
        with self._lock:
            store = self._rows.get(str(version))
            if store is None:
                return _Window(None, 0, empty)
            if float(start) < store.dropped_through:
                return _Window(None, 0, self._dropped_why(version, start, end, store), dropped=True)
            positions = store.index.window(float(start), float(end)).tolist()
            if not positions:
                return _Window(None, 0, empty)
            column = store.answers[method]
            chosen = [column[i] for i in positions if column[i] is not _NONE]
            inputs = [store.inputs[i] for i in positions if store.inputs[i] is not _NONE]
        if kind == "predictions":
            answers, why = _answers(profile, method, chosen, len(positions))
            if answers is None:
                return _Window(None, 0, f"version {version}, ({start:g}, {end:g}]: {why}")
            answered = PredictionDrift(reference=profile, current=answers, **self.options)
            missing = _missing(answers)
            return _Window(answered.run(), len(answers) - missing, "", missing, _present(answers))
        current = self._features(str(version), inputs)
        if self.options.get("columns") is not None:  # options columns=...: only those are judged
            tested = {str(name) for name in self.options["columns"]}
            current = {name: values for name, values in current.items() if name in tested}
        check = DataDrift(reference=profile, current=current, **self.options)
        present = max((_present(values) for values in current.values()), default=0)
        return _Window(check.run(), len(inputs), "", 0, present)

    def _dropped_why(self, version: str, start: float, end: float, store: _Rows) -> str:
        """Why a window reaching rows dropped for the retention has no answer."""
        return (
            f"version {version}, ({start:g}, {end:g}]: rows stamped at or before "
            f"{store.dropped_through:g} were dropped (retention={self.retention:g} s before "
            f"the source's clock), so the window would be judged on part of its rows; ask "
            f"for a window starting at or after {store.dropped_through:g}, or give "
            "DriftSource(retention=...) at least the longest window asked for"
        )

    def _features(self, version: str, inputs: list[Any]) -> dict[str, npt.NDArray[Any]]:
        names = self._names[version]
        if any(row is None for row in inputs):
            raise ConfigError(
                f"version {version}: the prediction log has no inputs; run the server with "
                "--log-inputs full to monitor feature drift"
            )
        widths = {len(row) for row in inputs}
        if widths != {len(names)}:
            raise ConfigError(
                f"version {version}: logged rows have {sorted(widths)} inputs but the "
                f"profile's features are {list(names)}; pass feature_names in input order"
            )
        columns = list(zip(*inputs, strict=True))
        return {name: _column(column) for name, column in zip(names, columns, strict=True)}

    @validate_params(metric=Text(), slot=SLOT, start=TIME, end=TIME)
    def fetch(  # noqa: PLR0911 - one return per outcome: no data, quiet, error, a point
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        """The window's drift metric as one point; see :class:`DriftSource`.

        Logged values the check cannot compare (lists, mappings) are a
        :class:`SourceError` (``drift_data``); a window with fewer logged rows than
        ``min_values``, or too few values to judge any column and no column above
        ``max_missing_rate``, is :class:`NoData`. A column above ``max_missing_rate``
        counts as drifted, and reads ``+inf`` as ``<metric>:<column>``.
        A window starting before rows dropped for ``retention`` is :class:`NoData`
        saying so.

        Raises
        ------
        ConfigError
            If ``metric`` is not a drift metric, ``slot`` is not a non-empty string,
            ``start`` or ``end`` is not a finite time, ``start`` is after ``end``,
            ``stat`` is unknown or a percentile, the version has no profile of that kind,
            or the logged rows do not fit it (no inputs logged, a different number of
            inputs than ``feature_names``, answers of another shape than the prediction
            profile's).
        """
        _check_window(start, end)
        self._note_window(start, end)
        start, end = float(start), float(end)
        base, _, column = metric.partition(":")
        if base not in DRIFT_METRICS:
            raise ConfigError(
                f"a DriftSource answers {', '.join(DRIFT_METRICS)} (or <metric>:<column>); "
                f"got {metric!r}"
            )
        if stat is not None and quantile_of(check_stat(stat)) is not None:
            raise ConfigError(f"{metric}: drift has no interval to read {stat} from")
        version = self.slots.get(slot, slot)
        kind = "features" if base == "feature_drift" else "predictions"
        if str(version) not in self._profiles:
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                reason=f"no profiles for version {version}",
            )
        try:
            window = self._check(kind, version=version, start=start, end=end)
        except EmptyData as exc:
            window = _Window(None, 0, str(exc))
        except CheckInputError as exc:
            # Values of the window the check refuses (lists, mappings): the source could
            # not answer for this window, which the policy counts as an error.
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="drift_data",
                message=f"version {version}, ({start:g}, {end:g}]: {exc}",
            )
        result, rows, missing = window.result, window.rows, window.missing
        if result is None:
            return NoData(metric, slot, start=start, end=end, stat=stat, reason=window.why)
        least = int(self.options.get("min_values", MIN_VALUES))
        logged = rows + missing
        broken = _above_missing_rate(result)
        if logged < least or (window.present < least and not broken):
            # A quiet window: too few rows, or columns with too few values to judge and a
            # missing rate in line with the reference's. That is too little data, as a
            # window without rows is, not a failure of the source (repeated source errors
            # would roll back a version nobody is using). Many rows whose values are
            # missing are not quiet: the check fails them (max_missing_rate), and so does
            # the metric below.
            why = (
                f"fewer rows than min_values={least}"
                if logged < least
                else f"fewer than min_values={least} in each, none above max_missing_rate"
            )
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                reason=(
                    f"version {version}, ({start:g}, {end:g}]: too few values to judge in "
                    f"{len(result.columns)} column(s) of {logged} logged row(s) ({why}): "
                    f"{result.reason}"
                ),
            )
        if result.status is Status.ERROR:
            return SourceError(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                error_type="drift_check",
                message=result.reason,
            )
        value = _drift_share(result, broken)
        if column:
            if column not in result.columns:
                raise ConfigError(f"{metric}: no column {column!r}; have {list(result.columns)}")
            # A column the check fails for its missing values has no statistic that says
            # so (its present values may match the reference): +inf is beyond every
            # threshold of every statistic (chi-square and PSI have no upper bound), so a
            # condition on the column fires as the check fails.
            value = math.inf if column in broken else result.columns[column].statistic
        if value is None or math.isnan(value):
            return NoData(
                metric,
                slot,
                start=start,
                end=end,
                stat=stat,
                reason=f"{metric} could not be computed: {result.reason}",
            )
        point = float(rows) if stat == "count" else float(value)
        return Samples(
            metric,
            slot,
            [point],
            [end],
            start=start,
            end=end,
            stat=stat or "value",
            count=rows,
            dropped=missing,
        )
