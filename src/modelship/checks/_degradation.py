"""The degradation check: is the candidate worse than the baseline on the same holdout?

Each metric's ``candidate - baseline`` gets a two-sided interval whose ends are one-sided
bounds at ``confidence`` (see :mod:`modelship.checks.stats._metrics`): DeLong for ROC AUC,
McNemar's exact test for accuracy, a paired bootstrap for the rest. The verdict compares
the interval with the allowed drop (``margin``); latency, artifact size and peak memory
are measured on the same batches and judged against budgets.
"""

from __future__ import annotations

import enum
import io
import math
import os
import pickle
import re
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from modelship._columns import (
    check_same_index,
    column_array,
    is_missing,
    named_items,
    series_name,
)
from modelship._json import jsonable, malformed
from modelship._params import (
    Constraints,
    Interval,
    MappingOf,
    Names,
    Options,
    check,
    check_parameters,
)
from modelship._shown import brief
from modelship.checks._bias import MAX_GROUPS, RESAMPLES, first_of, non_finite, positions
from modelship.checks._figures import against, amount, beside
from modelship.checks._records import (
    ROUNDING_TOLERANCE,
    finite_or_none,
    object_field,
    record_from_dict,
)
from modelship.checks._result import (
    CheckResult,
    ColumnResult,
    Severity,
    Status,
    as_status,
    read_record,
)
from modelship.checks._tabular import raw_columns
from modelship.checks.stats import _fairness as sf
from modelship.checks.stats import _metrics as sm
from modelship.errors import (
    CheckInputError,
    ColumnMismatch,
    ConfigError,
    IntegrityError,
    ModelshipError,
)

__all__ = [
    "Degradation",
    "DegradationResult",
    "MetricComparison",
    "PerformanceComparison",
    "Verdict",
]

MetricLike = str | Callable[[Any, Any], float]
Policy = Literal["fail", "warn", "pass"]


class Verdict(str, enum.Enum):
    """What the interval of ``candidate - baseline`` says, against the allowed drop.

    * ``NOT_WORSE`` (``"not worse within tolerance"``): the one-sided bound on the
      candidate's side excludes a drop larger than the margin.
    * ``WORSE`` (``"worse"``): the whole interval lies beyond the allowed drop.
    * ``INCONCLUSIVE`` (``"inconclusive: holdout too small to tell"``): the interval
      straddles the allowed drop; more rows would decide.

    Examples
    --------
    >>> from modelship.checks import Verdict
    >>> Verdict("worse") is Verdict.WORSE, Verdict.INCONCLUSIVE.value
    (True, 'inconclusive: holdout too small to tell')
    """

    WORSE = "worse"
    NOT_WORSE = "not worse within tolerance"
    INCONCLUSIVE = "inconclusive: holdout too small to tell"


_VERDICTS = Options(Verdict)


def _optional_verdict(value: Verdict | str | None) -> Verdict | None:
    # A wrong verdict is an InvalidParameter, as a wrong status is (see as_status).
    check("verdict", value, None, _VERDICTS)
    return None if value is None else Verdict(value)


@attrs.frozen(kw_only=True)
class MetricComparison:
    """One metric of the candidate against the baseline, with its interval and verdict.

    ``difference = candidate - baseline``; ``ci_low``/``ci_high`` are its two-sided
    interval at level ``2 confidence - 1``, so each end is a one-sided ``confidence``
    bound. ``margin`` is the allowed drop in the metric's units (for a metric where lower
    is better, an allowed rise). ``method`` is ``"delong"``, ``"mcnemar_exact"`` or
    ``"bootstrap"``. ``verdict`` is ``None`` and ``status`` ``error`` when the metric
    could not be computed; ``reason`` says why.

    Examples
    --------
    >>> from modelship.checks import MetricComparison
    >>> m = MetricComparison(name="roc_auc", candidate=0.91, baseline=0.90, difference=0.01,
    ...                      ci_low=-0.002, ci_high=0.022, margin=0.01, method="delong",
    ...                      verdict="not worse within tolerance", status="pass")
    >>> m.verdict.value
    'not worse within tolerance'
    """

    name: str
    candidate: float | None = attrs.field(converter=finite_or_none)
    baseline: float | None = attrs.field(converter=finite_or_none)
    difference: float | None = attrs.field(converter=finite_or_none)
    ci_low: float | None = attrs.field(converter=finite_or_none)
    ci_high: float | None = attrs.field(converter=finite_or_none)
    margin: float | None = attrs.field(converter=finite_or_none)
    method: str
    verdict: Verdict | None = attrs.field(converter=_optional_verdict)
    status: Status = attrs.field(converter=as_status)
    higher_is_better: bool = True
    p_value: float | None = attrs.field(default=None, converter=finite_or_none)
    n: int = 0
    segment: str | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class PerformanceComparison:
    """Latency percentiles (milliseconds per batch), artifact size and peak memory.

    ``candidate`` and ``baseline`` map ``p50_ms``, ``p95_ms``, ``p99_ms``, ``size_bytes``
    and ``peak_memory_bytes`` to numbers (``None`` when not measured). ``budgets`` holds
    every budget given and ``exceeded`` the ones broken, each with a sentence.

    Examples
    --------
    >>> from modelship.checks import PerformanceComparison
    >>> PerformanceComparison(candidate={"p95_ms": 2.0}, baseline={"p95_ms": 1.0}).exceeded
    {}
    """

    candidate: Mapping[str, float | None] = attrs.field(factory=dict)
    baseline: Mapping[str, float | None] = attrs.field(factory=dict)
    budgets: Mapping[str, float] = attrs.field(factory=dict)
    exceeded: Mapping[str, str] = attrs.field(factory=dict)
    batch_size: int = 0
    n_batches: int = 0


def _str_tuple(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(item) for item in value)


# repr=False keeps CheckResult's one-line repr: the generated one printed every record.
@attrs.frozen(kw_only=True, repr=False)
class DegradationResult(CheckResult):
    """A :class:`CheckResult` with ``metrics``, ``slices`` and ``performance``.

    ``metrics[name]`` is the :class:`MetricComparison` on the whole holdout;
    ``slices[segment][name]`` the same on each segment; ``worst_segments`` names the
    segments with the largest drop first; ``performance`` is ``None`` unless latency,
    size or memory were measured.

    Examples
    --------
    >>> from modelship.checks import DegradationResult
    >>> DegradationResult(name="degradation", status="pass").metrics
    {}

    Its repr is one line, as every :class:`CheckResult`'s:

    >>> DegradationResult(name="degradation", status="fail", reason="candidate is worse")
    <CheckResult 'degradation' fail: candidate is worse>
    """

    result_type: ClassVar[str] = "degradation"

    # Records, not plain dicts: to_dict reads their fields (a result built by hand from a
    # stored report with dicts in place of records is refused here, naming the entry).
    _parameter_constraints: ClassVar[Constraints] = {
        **CheckResult._parameter_constraints,
        "metrics": MappingOf(MetricComparison),
        "slices": MappingOf(MappingOf(MetricComparison)),
        "performance": (None, PerformanceComparison),
    }

    metrics: Mapping[str, MetricComparison] = attrs.field(factory=dict)
    slices: Mapping[str, Mapping[str, MetricComparison]] = attrs.field(factory=dict)
    worst_segments: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    performance: PerformanceComparison | None = None

    def to_dict(self) -> dict[str, Any]:
        """The :class:`CheckResult` dict plus ``metrics``, ``slices``, ``performance``.

        Examples
        --------
        >>> from modelship.checks import DegradationResult
        >>> "metrics" in DegradationResult(name="d", status="pass").to_dict()
        True
        """
        data = super().to_dict()
        data["metrics"] = {k: jsonable(attrs.asdict(v)) for k, v in self.metrics.items()}
        data["slices"] = {
            segment: {k: jsonable(attrs.asdict(v)) for k, v in found.items()}
            for segment, found in self.slices.items()
        }
        data["worst_segments"] = list(self.worst_segments)
        data["performance"] = (
            None if self.performance is None else jsonable(attrs.asdict(self.performance))
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DegradationResult:
        """Rebuild a result from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import DegradationResult
        >>> result = DegradationResult(name="d", status="pass")
        >>> DegradationResult.from_dict(result.to_dict()) == result
        True

        Raises
        ------
        ConfigError
            When the document is malformed: a field missing, or of the wrong type or value.
        """
        with malformed("degradation result", "write it with DegradationResult.to_dict"):
            base = CheckResult.from_dict(data)
            performance = data.get("performance")
            worst = data.get("worst_segments", [])
            if not isinstance(worst, list) or not all(isinstance(s, str) for s in worst):
                raise TypeError(f"'worst_segments' must be a list of text, got {worst!r}")
            metrics = {
                k: read_record(MetricComparison, v)
                for k, v in object_field(data, "metrics").items()
            }
            all_slices = object_field(data, "slices")
            slices = {
                segment: {
                    k: read_record(MetricComparison, v)
                    for k, v in object_field(all_slices, segment).items()
                }
                for segment in all_slices
            }
            performance_record = (
                None
                if performance is None
                else record_from_dict(PerformanceComparison, performance)
            )
        fields = {field.name: getattr(base, field.name) for field in attrs.fields(CheckResult)}
        return cls(
            **fields,
            metrics=metrics,
            slices=slices,
            worst_segments=worst,
            performance=performance_record,
        )


class _Artifact(Protocol):
    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int: ...


@runtime_checkable
class _StoredVersion(Protocol):
    """What is read of a :class:`~modelship.ModelVersion` here.

    Structural, so the checks do not import the registry's record: that module reads
    parity's documents, and parity builds on the checks.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def artifact(self) -> _Artifact: ...


@runtime_checkable
class _Registry(Protocol):
    """What is read of a registry here: an opened one, as ``ms.open_registry(url)`` gives."""

    def get(self, name: str, ref: str | int = ...) -> _StoredVersion: ...

    def load(self, name: str, ref: str | int = ...) -> Any: ...


#: Where a model predicts X as the metrics read it; a timing batch or the memory
#: measurement is named otherwise (a model failing there scored this one already).
_HOLDOUT = "X (the holdout)"


class _Predict(Protocol):
    """A model made a function ``X -> predictions``; ``on`` says which rows it predicts,
    for the message of a model that raises."""

    def __call__(self, x: Any, on: str = _HOLDOUT) -> Any: ...


@attrs.frozen
class _Model:
    """A model made callable, with what is needed to know its stored size.

    The size is computed only when asked (a budget, or ``measure_performance``):
    pickling a model copies it whole, which grew peak memory by the model's size on every
    run, budgets or not (286 MB for a 300 MB model).
    """

    predict: _Predict | None
    label: str
    stored_size: int | None = None  # a registry artifact's size, known without pickling
    source: Any = None  # the model in memory, pickled by size_bytes() only
    classifier: bool = False  # it has predict_proba: its outputs are class probabilities

    def size_bytes(self) -> int | None:
        """Bytes of the stored artifact, else of ``pickle.dumps`` of the model."""
        if self.stored_size is not None:
            return self.stored_size
        return None if self.source is None else _pickled_size(self.source)


def _resolve(model: Any, registry: _Registry | None, what: str) -> _Model:
    if model is None:
        return _Model(None, what)
    if isinstance(model, _StoredVersion):
        if registry is None:
            raise ConfigError(
                f"{what} is a ModelVersion, which does not know the registry it came from; "
                "pass registry= (the registry of reg.get(...)) so it is loaded and verified"
            )
        stored = registry.get(model.name, model.version)
        if stored.artifact.digest != model.artifact.digest:
            raise IntegrityError(
                f"{what} {model.name} {model.version}: the registry holds artifact "
                f"{stored.artifact.digest}, not {model.artifact.digest}; is this the right "
                "registry?"
            )
        loaded = registry.load(model.name, model.version)  # verified against the digest
        predict, classifier = _predictor(loaded, what)
        return _Model(
            predict,
            f"{model.name} {model.version}",
            stored_size=model.artifact.size,
            classifier=classifier,
        )
    predict, classifier = _predictor(model, what)
    return _Model(predict, what, source=model, classifier=classifier)


def _predictor(model: Any, what: str) -> tuple[_Predict, bool]:
    """The function ``X -> predictions`` of ``model``, and whether it has
    ``predict_proba``: then its predictions are the probability of label 1 (the second of
    two columns, or the only one), and it makes the task classification unless the task is
    settled as regression (given, or by regression metrics alone)."""
    if isinstance(model, type):
        # The class's predict is a function wanting self: X went in as self, and the
        # TypeError "missing 1 required positional argument" was said as a column mismatch.
        raise ConfigError(
            f"{what} is the class {model.__qualname__}, not a model: pass a fitted "
            f"instance (the object its fit returned, or {model.__qualname__}(...) once "
            f"fitted), a function X -> predictions, or {what}_scores= (its predictions)"
        )
    proba = getattr(model, "predict_proba", None)
    if callable(proba):
        classes = _class_count(model)
        guarded_proba = _guarded(proba, what, "predict_proba")

        def positive_proba(x: Any, on: str = _HOLDOUT) -> Any:
            out = np.asarray(guarded_proba(x, on))
            if out.ndim != 2:
                return out
            if out.shape[1] == 0 or out.shape[1] > 2 or (out.shape[1] == 1 and classes == 1):
                raise CheckInputError(_not_binary_proba(what, out.shape[1]))
            # One column is the model's only output: P(label 1) of a sigmoid head, or a
            # regression network's prediction (skorch's NeuralNetRegressor), read as given
            # scores of shape (n, 1) are.
            return out[:, -1]

        return positive_proba, True
    predict = getattr(model, "predict", None)
    if callable(predict):
        return _guarded(predict, what, "predict"), False
    if callable(model):
        return _guarded(model, what, "function"), False
    raise ConfigError(
        f"{what} has no predict_proba or predict and is not callable; pass a model, a "
        "function X -> predictions, a ModelVersion with registry=, or precomputed scores"
    )


#: Characters of a model's own exception message repeated in the CheckInputError.
_MODEL_MESSAGE = 500

#: What scikit-learn (and pandas) raise for X of other columns than a model was fitted
#: on: other names, another count, text where it wants numbers, one column for a table,
#: a ColumnTransformer's named column missing or X without names. Only these get the
#: advice to pass X with the fitted columns; a bug in the model gets a neutral message.
_COLUMN_MISMATCH = re.compile(
    r"feature names should match|X has \d+ features?, but .* expecting"
    r"|columns are missing|using strings is only supported for dataframes"
    r"|could not convert string to float|Expected 2D array|not in index"
    r"|are in the \[columns\]"
)


def _guarded(call: Callable[[Any], Any], what: str, method: str) -> _Predict:
    """``call`` (``what``'s ``method``), whose exceptions become a :class:`CheckInputError`
    naming the side, the call, the rows it was given (the holdout, a timing batch), the
    model's own exception and what to do, with that exception as ``__cause__``.
    scikit-learn's "The feature names should match those that were passed during fit."
    escaped as a ValueError, which a script catching ModelshipError did not catch, and did
    not say whether the candidate or the baseline failed.

    Passed unchanged: a :class:`ModelshipError` (a registry-backed model's IntegrityError
    is the caller's to catch by type), ``TimeoutError`` (a caller's watchdog, such as a
    SIGALRM handler, or a model's own deadline), ``MemoryError``, and what is not an
    ``Exception`` (``KeyboardInterrupt``, ``SystemExit``). Wrapping the rest keeps the
    check's contract: bad input or a model that cannot score ``X`` is a ModelshipError
    saying which side failed where (Python 3.10 has no ``add_note`` to say it on the
    model's own exception)."""
    called = (
        f"{what}'s {method}" if method != "function" else f"{what} (a function X -> predictions)"
    )

    def guarded(x: Any, on: str = _HOLDOUT) -> Any:
        try:
            return call(x)
        except (ModelshipError, TimeoutError, MemoryError):
            raise
        except Exception as exc:
            raise CheckInputError(_model_failed(called, what, exc, on, x)) from exc

    return guarded


def _model_failed(called: str, what: str, exc: Exception, on: str, x: Any) -> str:
    """What a model's exception on ``on`` (the holdout, a timing batch) says, and what to
    do: the columns the model was fitted on only for the errors of other columns
    (:data:`_COLUMN_MISMATCH`, a KeyError of a column name) met on the holdout."""
    try:
        text = " ".join(str(exc).split())
    except Exception:  # an exception's own __str__ may raise anything
        text = ""
    if len(text) > _MODEL_MESSAGE:
        text = text[: _MODEL_MESSAGE - 3] + "..."
    said = f"{type(exc).__name__} ({text})" if text else type(exc).__name__
    instead = f"give {what}_scores= (its predictions) instead of {what}="
    if on != _HOLDOUT:  # it scored the holdout already: not a matter of columns
        fix = (
            "make it take any number of rows (batch_size= sets the rows per timed batch)"
            if "latency" in on
            else "make each call independent of the ones before"
        )
        return (
            f"{called} raised {said} on {on}, after predicting the whole holdout: {fix}, "
            "or drop the latency and memory budgets (and measure_performance=True)"
        )
    if _columns_mismatch(exc, text, x):
        return (
            f"{called} failed on {on} with {said}; pass X with the columns (names, "
            "order and types) the model was fitted on (a scikit-learn model lists them in "
            f"feature_names_in_), or {instead}"
        )
    return (
        f"{called} raised {said} on {on}; the check could not score it: fix what "
        f"raised (the exception is this error's __cause__), or {instead}"
    )


def _columns_mismatch(exc: Exception, text: str, x: Any) -> bool:
    """Whether ``exc`` is what a model raises for X of other columns than it was fitted
    on: scikit-learn's ValueError (:data:`_COLUMN_MISMATCH`), or a KeyError of a column
    name (pandas' ``df["sex"]``, ``df[["sex"]]``) that ``x`` does not have (any name,
    when ``x`` has none: an array)."""
    if isinstance(exc, KeyError):
        key = exc.args[0] if len(exc.args) == 1 else None
        if not isinstance(key, str):
            return False
        labels = _column_labels(x)
        return _COLUMN_MISMATCH.search(key) is not None or not labels or key not in labels
    return isinstance(exc, (ValueError, TypeError)) and _COLUMN_MISMATCH.search(text) is not None


def _class_count(model: Any) -> int | None:
    """How many classes a scikit-learn style model was fitted on (``len(classes_)``), or
    None when it does not say."""
    classes = getattr(model, "classes_", None)
    try:
        return None if classes is None else len(classes)
    except TypeError:  # a scalar or an object without a length says nothing
        return None


def _not_binary_proba(what: str, columns: int) -> str:
    """Why a ``predict_proba`` of ``columns`` columns is not compared, and what to give
    instead: none, more than two (a multi-class model), or one from a model fitted on a
    single class. The last column of a multi-class model was read as the positive class's
    probability and, on labels other than 0/1, compared as a regression: a perfect 3-class
    model failed against one wrong on a third of the rows."""
    said = f"{what}'s predict_proba gives {columns} column{'s' if columns != 1 else ''}"
    if columns == 0:  # no probability to read: out[:, -1] would be an IndexError
        return (
            f"{said}; a binary classifier's gives two (the probabilities of labels 0 and 1): "
            "check what it returns, or give candidate_scores= and baseline_scores= (the "
            "probability of label 1)"
        )
    if columns > 2:
        return (
            f"{said}; the check compares binary classifiers, whose predict_proba gives two "
            "(the probabilities of labels 0 and 1), so a multi-class model is not compared "
            "this way: compare one class against the rest, giving candidate_scores= and "
            "baseline_scores= (each model's probability of that class) with y as 1 for that "
            "class and 0 otherwise; or compare predicted classes, giving candidate= and "
            "baseline= as functions X -> classes (model.predict) with a metric callable, "
            "e.g. metrics={'accuracy': lambda y, pred: float((y == pred).mean())}"
        )
    return (
        f"{said}; {what} was fitted on a single class (classes_ holds one label), so it "
        "gives that class a probability of 1 on every row: refit it on both labels, or give "
        "candidate_scores= and baseline_scores= (the probability of label 1)"
    )


def _pickled_size(model: Any) -> int | None:
    """Bytes of ``pickle.dumps(model)``: what a joblib-style artifact holds, give or take."""
    buffer = io.BytesIO()
    try:
        pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a closure or a live handle: size unknown, said in the result
        return None
    return buffer.getbuffer().nbytes


def _rows(x: Any, start: int, stop: int) -> Any:
    if hasattr(x, "iloc"):
        return x.iloc[start:stop]
    if hasattr(x, "column_names") and hasattr(x, "slice"):
        return x.slice(start, stop - start)
    if isinstance(x, Mapping):
        return {key: value[start:stop] for key, value in x.items()}
    return x[start:stop]


def _n_rows(x: Any) -> int:
    if hasattr(x, "num_rows"):
        return int(x.num_rows)
    if isinstance(x, Mapping):
        return len(next(iter(x.values())))
    if hasattr(x, "shape"):
        return int(x.shape[0])
    return len(x)


def _vector(values: Any, what: str) -> npt.NDArray[np.float64]:
    array = column_array(values, what)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise CheckInputError(_not_one_per_row(array, what))
    if array.dtype.kind not in "iufb":
        raise CheckInputError(_not_numbers(array, what))
    out = array.astype(np.float64)
    if not np.isfinite(out).all():
        missing = int(np.isnan(out).sum())
        if what == "y" and missing:  # a pandas Int64 column's NA: a row without a label
            raise CheckInputError(
                f"y has {missing} missing value{'s' if missing != 1 else ''} (NaN, NA): drop "
                "the rows without a label from y and X alike (keep = y.notna()); missing "
                f"{positions(np.isnan(out))}"
            )
        raise CheckInputError(non_finite(out, what, _unscored(what)))
    return out


def _not_one_per_row(array: npt.NDArray[Any], what: str) -> str:
    """Why ``what`` of more than one value a row is refused, and what to pass: a
    classifier's ``predict_proba`` output (two columns) is the usual mistake.

    >>> print(_not_one_per_row(np.zeros((4, 2)), "candidate_scores"))
    candidate_scores must be one value per row, got shape (4, 2): for a binary
    classifier's predict_proba output, pass the positive class's column (scores[:, 1],
    the probability of label 1)
    """
    said = f"{what} must be one value per row, got shape {array.shape}"
    if what.endswith("_scores") and array.ndim == 2 and array.shape[1] == 2:
        return (
            f"{said}: for a binary classifier's predict_proba output, pass the positive "
            "class's column (scores[:, 1], the probability of label 1)"
        )
    if what.endswith("_scores"):
        return f"{said}: give one score a row (a binary classifier's probability of label 1)"
    return said


def _unscored(what: str) -> str:
    """What to do about the rows of ``what`` (``y``, a side's given scores or its model's
    predictions) without a finite value."""
    if what == "y":
        return "drop the rows without a finite target from y and X alike"
    if what.endswith("_scores"):
        return (
            "drop those rows from y, X, both sides' scores and segments alike, or give them a score"
        )
    return (
        f"the {what.split(maxsplit=1)[0]} model returned them for those rows of X: drop "
        "the rows from X and y alike, or mend the model (impute its missing inputs)"
    )


def _not_numbers(array: npt.NDArray[Any], what: str) -> str:
    """Why ``what`` (``y`` or a side's predictions) of a dtype other than numbers is
    refused: a few of its values, and what to give instead ("y must be numbers, got dtype
    <U3" said neither which values nor how to map them). The positive label is the
    user's to name (``y == 'legit'``, the alphabetically last of fraud/legit, made the
    legitimate rows positive); labels that are numbers (an object column of 0, 1 and NaN)
    are told to be converted, the rows without one dropped."""
    seen = sorted({brief(v) for v in array[:1000].tolist()})
    shown = ", ".join(seen[:5]) + (", ..." if len(seen) > 5 else "")
    said = f"{what} must be numbers, got dtype {array.dtype} (values such as {shown})"
    if what != "y":
        return (
            f"{said}; give scores or probabilities of label 1 (a classifier's "
            "predict_proba), or a regression's predictions, as numbers"
        )
    values = array.tolist()
    missing = sum(1 for v in values if is_missing(v))
    drop = (
        f"; drop the {missing} row{'s' if missing != 1 else ''} without a label from y "
        "and X alike (keep = y.notna())"
        if missing
        else ""
    )
    if all(is_missing(v) or _is_number(v) for v in values):
        return (
            f"{said}: they are numbers held as objects; convert them with y = y.astype(float){drop}"
        )
    labels = sorted({v for v in values[:1000] if isinstance(v, str)})
    named = ", ".join(brief(v) for v in labels[:5]) + (", ..." if len(labels) > 5 else "")
    mapped = (
        f", e.g. y = (y == <your positive label>).astype(int) with one of {named}" if labels else ""
    )
    return (
        f"{said}; map the labels to 0/1 (positive = 1) first{mapped}{drop}, or give a "
        "regression's targets as numbers"
    )


def _is_number(value: Any) -> bool:
    """A real number (``1``, ``0.5``, ``np.int64(1)``), not text or a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _metric_list(value: Sequence[MetricLike] | Mapping[str, MetricLike] | None) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        # Checked here as list items are: an unchecked value (3, None, a list) surfaced
        # only in run(), as a KeyError or TypeError that named neither the metric nor a fix.
        for name, metric in value.items():
            if not isinstance(name, str):
                raise ConfigError(f"`metrics` mapping keys must be names (str), got {name!r}")
            if not isinstance(metric, str) and not callable(metric):
                raise ConfigError(
                    f"`metrics` mapping values must be metric names or callables "
                    f"metric(y_true, y_pred) -> float; {name!r} maps to {metric!r}"
                )
        return tuple(value.items())
    if isinstance(value, str):
        return ((value, value),)
    items: list[tuple[str, MetricLike]] = []
    for metric in value:
        if isinstance(metric, str):
            items.append((metric, metric))
        elif callable(metric):
            items.append((getattr(metric, "__name__", "metric"), metric))
        else:
            raise ConfigError(f"`metrics` items must be names or callables, got {metric!r}")
    return tuple(items)


def _margins(value: Mapping[str, float] | None) -> dict[str, float]:
    # Validated by _parameter_constraints before this runs.
    return {str(name): float(margin) for name, margin in (value or {}).items()}


_DEFAULT_METRICS = {
    "classification": ("roc_auc", "accuracy", "f1"),
    "regression": ("rmse", "mae", "r2"),
}


# Built-in metrics whose values lie in [0, 1]: one never changes by more than 1, and
# those where higher is better never drop by more than their whole value.
_UNIT_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "brier"})


def _default_metrics(task: str) -> tuple[tuple[str, MetricLike], ...]:
    """The metrics compared when ``metrics`` is not given, as ``(name, metric)`` pairs."""
    return tuple((name, name) for name in _DEFAULT_METRICS[task])


@attrs.frozen(kw_only=True)
class Degradation:
    """Is the candidate worse than the model in production, beyond what is allowed?

    Both models predict the same holdout ``X`` (or their scores are given). For every
    metric the check computes ``difference = candidate - baseline`` and an interval whose
    ends are one-sided ``confidence`` bounds:

    ========================  ============================================================
    metric                    interval
    ========================  ============================================================
    ``roc_auc``               DeLong's test (Sun and Xu's O(n log n) algorithm)
    ``accuracy``              McNemar's exact test on the discordant pairs
    anything else             seeded paired bootstrap (same resampled rows for both)
    ========================  ============================================================

    With ``margin`` the allowed drop (absolute, or relative to the baseline's value), the
    verdict is ``"not worse within tolerance"`` when the bound on the candidate's side
    clears ``-margin``, ``"worse"`` when the whole interval is beyond ``-margin``, and
    ``"inconclusive: holdout too small to tell"`` otherwise. For metrics where lower is
    better (log loss, Brier, RMSE, MAE) the same holds with the signs turned.

    Parameters
    ----------
    candidate, baseline
        A model with ``predict_proba`` (two columns, the last the positive class's
        probability, or one column read as given: a sigmoid head's probability of label
        1, or a regression network's prediction with ``task="regression"``; more columns,
        a multi-class model, or one column from a model whose ``classes_`` holds a single
        label, are a ``CheckInputError`` from :meth:`run` saying what to give instead) or
        ``predict``, a function ``X -> predictions``, or a
        :class:`~modelship.ModelVersion` from ``reg.get(...)`` (then pass ``registry=``:
        the record does not know its registry; the artifact is loaded through it, verified
        against its digest). ``None`` when the scores are given instead.
    X : optional
        The holdout's features, in whatever form the models take.
    y : array-like
        The holdout's labels (0/1) or targets.
    candidate_scores, baseline_scores : array-like, optional
        Precomputed predictions: scores or probabilities of the positive class (labels are
        ``score >= threshold``), or regression predictions.
    registry : Registry, optional
        Where ModelVersions are loaded from: an opened registry
        (``ms.open_registry(url)``, or any object with ``get`` and ``load``); anything
        else, a URL or path among them, is a ``ConfigError``.
    metrics : sequence or mapping, optional
        Names from ``METRICS`` (``accuracy``, ``precision``, ``recall``, ``f1``,
        ``roc_auc``, ``log_loss``, ``brier``, ``rmse``, ``mae``, ``r2``) or callables
        ``metric(y_true, y_pred) -> float`` (given scores, or regression predictions;
        named by ``__name__`` or by the mapping's key). Default: ``roc_auc``,
        ``accuracy``, ``f1`` for classification; ``rmse``, ``mae``, ``r2`` for regression.
        Every name must be distinct: two lambdas are both ``"<lambda>"``, so name
        callables with a mapping ``{name: callable}``.
    lower_is_better : collection of str
        Names of the callables where a lower value is better, as compared (the mapping's
        key, else ``__name__``). A name that is not a compared metric, or a built-in
        metric where higher is better, is a ``ConfigError``: it would leave a loss judged
        as a score.
    task : {"classification", "regression"}, optional
        Default: regression when the built-in metrics asked for are all regression
        metrics (``rmse``, ``mae``, ``r2``), even on a ``y`` of only 0 and 1; else
        classification when ``y`` holds only 0 and 1, a classification metric is asked
        for, or a model has ``predict_proba`` (labels other than 0 and 1 are then an
        error, said once the models predicted); else regression. A regression
        metric asked for beside classification metrics on a 0/1 ``y`` is an error result
        that says to pass ``task="regression"``.
    threshold : float, optional
        Scores at or above it are predicted positive (0.5 when not given). Classification
        only: given to a check whose task is regression (said or inferred), it is a
        ``ConfigError``, as nothing would read it.
    margin : float
        Allowed drop (0.01); ``margins`` overrides it per metric, by the names compared
        (a name that is not compared is a ``ConfigError``). For the metrics in [0, 1]
        (``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``brier``) a
        margin is a share below 1 (0.02 for 2 points): no change of such a metric
        exceeds 1, so a margin of 1 or more could never find the candidate worse.
    relative : bool
        Read margins as a share of the baseline's value instead of metric units; for the
        metrics in [0, 1] where higher is better, below 1 (0.05 for 5 %).
    confidence : float
        Level of each one-sided bound (0.95), in (0.5, 1).
    inconclusive : {"fail", "warn", "pass"}
        What an inconclusive verdict does to the check (``fail``: hold the deployment).
    segments : optional
        A column name (or names) of ``X``, segment labels (one per row: an array, a
        Series, or a list), or a mapping ``name -> boolean mask``: every metric is
        compared again on each segment. A single value names a column: text, or any
        other column label of a data frame or mapping (``0`` for ``pd.DataFrame(array)``);
        a plain 2-D array has no names, so its column is named by its integer position
        (``segments=0``). A list of text names columns when every value is a column name
        of ``X`` or it does not hold one value per row, and is per-row labels otherwise
        (``list(df.region)``); a list of other values names columns only when it does not
        hold one value per row. Labels are read as :class:`~modelship.checks.Bias` reads
        groups (``3.0`` reads ``"3"``); a column of more than 10,000 distinct labels (a
        continuous feature) is refused, as Bias refuses more groups. A column named
        twice is compared once. A data frame or table (``X[["region"]]``, pandas, polars
        or pyarrow) is its columns of labels, each compared as the column of ``X`` of
        that name would be (``X`` is not needed).
    segment_margin : float, optional
        Allowed drop within a segment, for every metric: when given it wins over
        ``margins``; otherwise a segment is judged with the metric's ``margins`` entry,
        else ``margin``, as the whole holdout is.
    segment_inconclusive : {"fail", "warn", "pass"}
        What an inconclusive segment does (``warn``: segments are small).
    min_segment_size : int
        Segments with fewer rows are not compared (30); ``details["skipped_segments"]``
        lists the first 20 with their sizes, ``details["n_skipped_segments"]`` counts them.
    n_resamples, seed, bootstrap_weights
        The paired bootstrap: 1000 resamples (at most 1,000,000: each is kept in
        memory), seed 0, ``"multinomial"`` or ``"poisson"``.
    latency_budget : float, optional
        The candidate's p95 batch latency may be at most this factor of the baseline's.
    latency_budget_ms : float, optional
        ... or at most this many milliseconds.
    size_budget, size_budget_bytes, memory_budget, memory_budget_bytes : float, optional
        The same for the serialized artifact's size and the peak memory traced while
        predicting ``X`` once (``tracemalloc``: Python and NumPy allocations).
    measure_performance : bool
        Measure latency, size and memory without budgets (for the report). A model in
        memory is pickled for its size only then, or when a budget is given.
    batch_size, n_batches, warmup : int
        Latency batches: rows per batch (256; all of ``X`` when it has fewer rows),
        batches timed per model (50, alternating candidate and baseline on the same
        batch; when ``X`` holds fewer batches, its batches are timed again in turn,
        wrapping around to the first, until ``n_batches`` are timed), untimed warm-up
        calls (3).
    clock : callable
        Seconds as a float, read before and after each timed batch
        (``time.perf_counter``). A simulation or a test passes its own, whose time moves
        only when its models say so, to get latencies that do not depend on the machine.
        It is read once more before timing: one that needs an argument, or returns
        anything but a finite number, is a ``ConfigError`` from :meth:`run`.
    severity, name
        As for every check.

    Raises
    ------
    ConfigError
        At construction, for a setting outside what is allowed: among them a ``registry``
        that is not an opened registry (a URL), a metric name given twice, ``margins`` or
        ``lower_is_better`` naming a metric not compared, or a margin (``margin``,
        ``margins``, ``segment_margin``) that could never find a metric in [0, 1] worse: 1
        or more, or with ``relative`` 1 or more for such a metric where higher is better
        (checked by :meth:`run` when the metrics are the defaults of a task not given).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import Degradation
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 5000)
    >>> baseline = y + rng.normal(0, 1.0, 5000)
    >>> candidate = y + rng.normal(0, 0.6, 5000)          # better
    >>> result = Degradation(y=y, candidate_scores=candidate, baseline_scores=baseline,
    ...                      metrics=["roc_auc"], threshold=0.5).run()
    >>> auc = result.metrics["roc_auc"]
    >>> result.status.value, auc.method, auc.verdict.value
    ('pass', 'delong', 'not worse within tolerance')
    >>> worse = Degradation(y=y, candidate_scores=baseline, baseline_scores=candidate,
    ...                     metrics=["roc_auc"]).run()
    >>> worse.status.value, worse.metrics["roc_auc"].verdict.value
    ('fail', 'worse')

    A loss is named by the mapping's key, and ``lower_is_better`` must use that name:

    >>> def miss_rate(y_true, score):
    ...     return float(((score >= 0.5) != y_true).mean())
    >>> Degradation(y=y, candidate_scores=candidate, baseline_scores=baseline,
    ...             metrics={"miss": miss_rate}, lower_is_better={"miss_rate"})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: `lower_is_better` names ['miss_rate'], which are not ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "task": (None, Options(("classification", "regression"))),
        "threshold": (None, Interval(float, None, None)),
        "margin": Interval(float, 0, None),
        "margins": (None, MappingOf(Interval(float, 0, None))),
        "relative": bool,
        # Each end is a one-sided bound at `confidence`: the two-sided level is
        # 2 confidence - 1, which is a level only above 0.5.
        "confidence": Interval(float, 0.5, 1, closed="neither"),
        "inconclusive": Options(("fail", "warn", "pass")),
        "segment_margin": (None, Interval(float, 0, None)),
        "segment_inconclusive": Options(("fail", "warn", "pass")),
        "min_segment_size": Interval(int, 1, None),
        "n_resamples": RESAMPLES,
        "seed": Interval(int, 0, None),
        "bootstrap_weights": Options(("multinomial", "poisson")),
        "lower_is_better": Names(),
        "name": str,
        **dict.fromkeys(
            (
                "latency_budget",
                "latency_budget_ms",
                "size_budget",
                "size_budget_bytes",
                "memory_budget",
                "memory_budget_bytes",
            ),
            (None, Interval(float, 0, None, closed="neither")),
        ),
        "measure_performance": bool,
        "batch_size": Interval(int, 1, None),
        "n_batches": Interval(int, 1, None),
        "warmup": Interval(int, 0, None),
        "severity": Options(Severity),
    }
    __attrs_pre_init__ = check_parameters

    candidate: Any = attrs.field(default=None, repr=False)
    baseline: Any = attrs.field(default=None, repr=False)
    X: Any = attrs.field(default=None, repr=False)
    y: Any = attrs.field(default=None, repr=False)
    candidate_scores: Any = attrs.field(default=None, repr=False)
    baseline_scores: Any = attrs.field(default=None, repr=False)
    registry: Any = attrs.field(default=None, repr=False)
    metrics: tuple[Any, ...] = attrs.field(default=None, converter=_metric_list)
    lower_is_better: frozenset[str] = attrs.field(default=(), converter=frozenset)
    task: Literal["classification", "regression"] | None = None
    threshold: float | None = None
    margin: float = 0.01
    margins: Mapping[str, float] = attrs.field(default=None, converter=_margins)
    relative: bool = False
    confidence: float = 0.95
    inconclusive: Policy = "fail"
    segments: Any = attrs.field(default=None, repr=False)
    segment_margin: float | None = None
    segment_inconclusive: Policy = "warn"
    min_segment_size: int = 30
    n_resamples: int = 1000
    seed: int = 0
    bootstrap_weights: sm.Weights = "multinomial"
    latency_budget: float | None = None
    latency_budget_ms: float | None = None
    size_budget: float | None = None
    size_budget_bytes: float | None = None
    memory_budget: float | None = None
    memory_budget_bytes: float | None = None
    measure_performance: bool = False
    batch_size: int = 256
    n_batches: int = 50
    warmup: int = 3
    clock: Callable[[], float] = attrs.field(default=time.perf_counter, repr=False)
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)
    name: str = "degradation"

    def __attrs_post_init__(self) -> None:
        if self.y is None:
            raise ConfigError("`y` (the holdout's labels or targets) is required")
        if not callable(self.clock):
            raise ConfigError(
                f"clock={self.clock!r} is not allowed; clock must be a callable returning "
                "seconds as a float, such as time.perf_counter"
            )
        for side in ("candidate", "baseline"):
            model, scores = getattr(self, side), getattr(self, f"{side}_scores")
            if (model is None) == (scores is None):
                raise ConfigError(f"give exactly one of `{side}` and `{side}_scores`")
            if model is not None and self.X is None:
                raise ConfigError(f"`{side}` is a model, so `X` (the holdout) is required")
        if self.registry is not None and not isinstance(self.registry, _Registry):
            # A URL or path reached registry.get(...) in run() as an AttributeError.
            opened = (
                f"ms.open_registry({brief(self.registry)})"
                if isinstance(self.registry, (str, os.PathLike))
                else "ms.open_registry(url)"
            )
            raise ConfigError(
                f"registry={brief(self.registry)} is not an opened registry (an object with "
                f"get and load); pass registry={opened}, the registry of reg.get(...)"
            )
        unknown = sorted(
            name
            for name, metric in self.metrics
            if isinstance(metric, str) and metric not in sm.METRICS
        )
        if unknown:
            raise ConfigError(f"unknown metrics {unknown}; known: {sorted(sm.METRICS)}")
        names = [name for name, _ in self.metrics]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            # The result holds one comparison per name: a repeat would replace the other.
            raise ConfigError(
                f"`metrics` names {repeated} more than once; each metric needs its own name: "
                "drop the repeat, or name callables with a mapping {name: callable} (a "
                "callable is otherwise named by its __name__, and every lambda is '<lambda>')"
            )
        # Known now when given, or when the task is; else checked by run() once it is.
        if self.metrics:
            self._check_names(self.metrics)
            self._check_margins(self.metrics)
        elif self.task is not None:
            self._check_names(_default_metrics(self.task))
            self._check_margins(_default_metrics(self.task))

    # --- running ---

    def run(self) -> DegradationResult:
        """Compare the models and judge every metric, segment and budget.

        Returns
        -------
        DegradationResult
            ``fail`` when a metric or segment is worse, a budget is broken, or an
            inconclusive verdict meets a ``"fail"`` policy; ``warn`` likewise with
            ``"warn"``; ``error`` when a metric cannot be computed (the reason says which).

        Raises
        ------
        ConfigError
            ``margins`` or ``lower_is_better`` naming a metric not among the task's
            default metrics, or a margin that could never find one of them worse (when
            ``metrics`` and ``task`` were not given; said before either model predicts
            ``X``); a ``clock`` that cannot be called
            without arguments or does not return a finite number of seconds.
        CheckInputError
            Lengths that differ, labels outside {0, 1} for classification (given, asked
            for by a classification metric, or inferred from a model's ``predict_proba``),
            a ``predict_proba`` of more than two columns (a multi-class model) or of
            one from a model fitted on a single class,
            non-finite predictions, a missing segment label or two that read alike as text
            (``1.0`` and ``"1"``); an exception from a model's own ``predict_proba`` or
            ``predict`` (the message names the side and the call, the exception is its
            ``__cause__``), such as scikit-learn's for ``X`` of other columns than it was
            fitted on.
        IntegrityError
            A ModelVersion whose artifact the registry does not hold.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.checks import Degradation
        >>> y = np.array([0, 1] * 50)
        >>> Degradation(y=y, candidate_scores=y * 0.9, baseline_scores=y * 0.8,
        ...             metrics=["accuracy"]).run().metrics["accuracy"].difference
        0.0
        """
        check_same_index(
            {
                "y": self.y,
                "X": self.X,
                "candidate_scores": self.candidate_scores,
                "baseline_scores": self.baseline_scores,
                "segments": self.segments,
            }
        )
        y = _vector(self.y, "y")
        candidate = _resolve(self.candidate, self.registry, "candidate")
        baseline = _resolve(self.baseline, self.registry, "baseline")
        classifier = next(
            (
                side
                for side, m in (("candidate", candidate), ("baseline", baseline))
                if m.classifier
            ),
            None,
        )
        # The task, and so the metrics, are settled from y and the models' attributes:
        # a mistake in `margins` or `lower_is_better` is said before either model predicts
        # the holdout (it came after two full passes over it).
        task = self._task(y, classifier)
        if task == "regression" and self.threshold is not None:
            raise ConfigError(
                f"threshold={self.threshold!r} turns scores into labels, and the task is "
                "regression (said with task=, or inferred from y or the metrics): nothing "
                "would read it; drop threshold, or pass task='classification' with 0/1 labels"
            )
        metrics = self.metrics or _default_metrics(task)
        self._check_names(metrics)
        self._check_margins(metrics)
        # Labels are checked after predicting: a predict_proba of three columns says
        # "multi-class" itself, where the labels 0, 1, 2 would only say "not 0/1".
        cand = self._scores(candidate, self.candidate_scores, "candidate")
        base = self._scores(baseline, self.baseline_scores, "baseline")
        for what, values in (("candidate predictions", cand), ("baseline predictions", base)):
            if len(values) != len(y):
                raise CheckInputError(f"{what} have {len(values)} rows but y has {len(y)}")
        self._check_labels(y, task, classifier)
        compared = {
            name: self._compare(
                name,
                metric,
                task=task,
                y=y,
                cand=cand,
                base=base,
                margin=self.margins.get(name, self.margin),
                policy=self.inconclusive,
                segment=None,
            )
            for name, metric in metrics
        }
        slices, skipped = self._slices(metrics, task, y, cand, base)
        performance = self._performance(candidate, baseline)
        return self._summarise(compared, slices, skipped, performance, len(y))

    def _check_names(self, metrics: Sequence[tuple[str, MetricLike]]) -> None:
        """Refuse ``margins`` and ``lower_is_better`` names that are not compared metrics.

        A name that matches nothing would be ignored: a misspelled margin left the default
        in force, and a loss named wrong (a typo, a lambda's ``'<lambda>'``, a function
        keyed otherwise in a mapping) was judged higher-is-better, so a loss that doubled
        passed.
        """
        names = [name for name, _ in metrics]
        compared = f"compared: {names}"
        if not self.metrics:
            compared += " (the default metrics of the task; name metrics to compare others)"
        extra = sorted(set(self.margins) - set(names))
        if extra:
            raise ConfigError(f"`margins` names metrics not compared: {extra}; {compared}")
        stray = sorted(self.lower_is_better - set(names))
        if stray:
            raise ConfigError(
                f"`lower_is_better` names {stray}, which are not compared metrics; {compared}. "
                "A callable is named by its __name__ ('<lambda>' for every lambda): to name "
                "it yourself, pass metrics as a mapping {name: callable} and use that name"
            )
        fixed = sorted(
            name
            for name, metric in metrics
            if name in self.lower_is_better
            and isinstance(metric, str)
            and sm.METRICS[metric].higher_is_better
        )
        if fixed:
            raise ConfigError(
                f"`lower_is_better` names {fixed}, built-in metrics where higher is better; "
                "a built-in metric's direction is fixed: lower_is_better is for callables"
            )

    def _check_margins(self, metrics: Sequence[tuple[str, MetricLike]]) -> None:
        """Refuse a margin that could never find a built-in metric in [0, 1] worse.

        ``worse`` needs the upper end of the interval of the candidate's gain below
        ``-allowed``. For a metric in [0, 1] that end is never below -1 (every bootstrap
        resample changes it by at least -1; DeLong's and McNemar's upper ends are at least
        the estimate), so an absolute margin of 1 or more (``2`` meant as 2 points) could
        never fail. Where higher is better, the candidate's value, never below 0, cannot
        drop by more than the baseline's whole value, so a relative margin of 1 or more
        (``5`` meant as 5 %) asks nothing of it either. Other metrics (log loss, RMSE,
        MAE, R², callables) are unbounded on that side and keep any margin.
        """
        for name, metric in metrics:
            if not isinstance(metric, str) or metric not in _UNIT_METRICS:
                continue
            source = f"`margins` {name!r}" if name in self.margins else "`margin`"
            margins = [(source, self.margins.get(name, self.margin))]
            if self.segment_margin is not None:
                margins.append(("`segment_margin`", self.segment_margin))
            for what, margin in margins:
                if margin < 1:
                    continue
                if not self.relative:
                    why = f"{metric} lies in [0, 1] and never changes by more than 1"
                    example = "0.02 for 2 points (2 %)"
                elif sm.METRICS[metric].higher_is_better:
                    why = (
                        f"{metric} is never below 0 and never drops by more than the "
                        "baseline's whole value (relative=True)"
                    )
                    example = "0.05 for 5 % of the baseline's value"
                else:
                    continue  # a relative rise of a loss in [0, 1] can exceed its value
                shown = name if name == metric else f"{name} ({metric})"
                raise ConfigError(
                    f"{what} is {margin:g} for {shown}: {why}, so the check could never "
                    f"find the candidate worse; give a share: {example}"
                )

    def _task(self, y: npt.NDArray[np.float64], classifier: str | None) -> str:
        """The task: as given, else regression when every built-in metric asked for is a
        regression metric, else classification when ``y`` holds only 0 and 1, a
        classification metric is asked for, or a model is a ``classifier`` (the side that
        has ``predict_proba``), else regression.

        Metrics that are only regression metrics settle the task even on a 0/1 ``y`` (a
        count target that is 0 or 1 in this holdout): read as classification, each would
        be an error. So do they, and ``task="regression"``, for a model with
        ``predict_proba`` (a skorch ``NeuralNetRegressor`` has one). Labels other than 0
        and 1 in a classification are refused by :meth:`_check_labels`.
        """
        kinds = {sm.METRICS[metric].kind for _, metric in self.metrics if isinstance(metric, str)}
        if self.task is None and kinds == {"regression"}:
            return "regression"
        if self.task is not None:
            return self.task
        if self._wanted() or classifier is not None or bool(np.isin(y, (0.0, 1.0)).all()):
            return "classification"
        return "regression"

    def _wanted(self) -> list[str]:
        """The names of the built-in classification metrics asked for."""
        return [
            name
            for name, metric in self.metrics
            if isinstance(metric, str) and sm.METRICS[metric].kind != "regression"
        ]

    def _check_labels(self, y: npt.NDArray[np.float64], task: str, classifier: str | None) -> None:
        """Refuse labels other than 0 and 1 in a classification, saying what made it one.

        A classification metric, or a model with ``predict_proba``, with labels other than
        0 and 1 (a stray 2, labels 1 and 2) is a :class:`CheckInputError` naming them: read
        as a regression, the check would only say that the metric is not a regression
        metric, or compare the probability of label 1 with targets 1 and 2 (a perfect
        classifier on labels 1/2 failed against one predicting 2 for everyone).
        """
        if task != "classification" or bool(np.isin(y, (0.0, 1.0)).all()):
            return
        wanted = self._wanted()
        if wanted:
            why = f"the classification metrics {wanted} need them"
        elif self.task is None and classifier is not None:
            why = (
                f"{classifier} has predict_proba, so the task is classification and its "
                "predict_proba is read as the probability of label 1"
            )
        else:
            why = "task='classification' needs them"
        try:
            sf.binary_labels(y, "y")
        except CheckInputError as exc:
            raise CheckInputError(f"{exc}: {why}") from None

    def _scores(self, model: _Model, given: Any, what: str) -> npt.NDArray[np.float64]:
        if given is not None:
            return _vector(given, f"{what}_scores")
        assert model.predict is not None
        return _vector(model.predict(self.X), f"{what} predictions")

    def _allowed(self, margin: float, baseline_value: float) -> float:
        """The allowed drop: ``margin`` in the metric's units, or a share of the baseline's
        value with ``relative``."""
        return margin * abs(baseline_value) if self.relative else margin

    def _segment_margin(self, name: str) -> float:
        """A segment's margin for metric ``name``: ``segment_margin`` when given (it wins
        over ``margins``), else the metric's ``margins`` entry, else ``margin``."""
        if self.segment_margin is not None:
            return self.segment_margin
        return self.margins.get(name, self.margin)

    def _wrong_task(self, metric: str, task: str) -> str:
        """Why built-in ``metric`` cannot be compared in ``task``, and what to do."""
        why = f"metric {metric!r} is not a {task} metric"
        if self.task is None and task == "classification":
            # Inferred from a 0/1 y and the classification metrics asked for beside it
            # (regression metrics alone infer regression): only the user can say which.
            why += (
                " (the task was inferred as classification from the 0/1 labels and the "
                "classification metrics asked for); to compare regression metrics, pass "
                "task='regression' (--task regression)"
            )
        return why

    def _compare(  # noqa: PLR0913 - keyword-only per-metric inputs (labels, both predictions, margin, policy, segment) of one comparison
        self,
        name: str,
        metric: MetricLike,
        *,
        task: str,
        y: npt.NDArray[np.float64],
        cand: npt.NDArray[np.float64],
        base: npt.NDArray[np.float64],
        margin: float,
        policy: Policy,
        segment: str | None,
    ) -> MetricComparison:
        confidence = 2 * self.confidence - 1
        higher = name not in self.lower_is_better
        try:
            if callable(metric):
                interval = sm.paired_bootstrap(
                    y,
                    cand,
                    base,
                    metric,
                    n_resamples=self.n_resamples,
                    confidence=confidence,
                    seed=self.seed,
                    weights=self.bootstrap_weights,
                )
                method = "bootstrap"
            else:
                spec = sm.METRICS[metric]
                higher = spec.higher_is_better
                if (spec.kind == "regression") != (task == "regression"):
                    raise ConfigError(self._wrong_task(metric, task))
                a: npt.NDArray[Any] = cand
                b: npt.NDArray[Any] = base
                if spec.kind == "labels":
                    cut = 0.5 if self.threshold is None else self.threshold
                    a, b = cand >= cut, base >= cut
                if metric == "roc_auc":
                    interval = sm.delong(y, a, b, confidence=confidence)
                elif metric == "accuracy":
                    interval = sm.mcnemar_exact(y, a, b, confidence=confidence)
                else:
                    interval = sm.paired_bootstrap(
                        y,
                        a,
                        b,
                        metric,
                        n_resamples=self.n_resamples,
                        confidence=confidence,
                        seed=self.seed,
                        weights=self.bootstrap_weights,
                    )
                method = interval.method
        except (CheckInputError, ConfigError, ValueError, ZeroDivisionError) as exc:
            where = f" in segment {segment!r}" if segment is not None else ""
            # A segment whose rows cannot give the metric (no positive row, or a single one,
            # for ROC AUC) is a segment too small to tell, as one under min_segment_size is:
            # inconclusive, judged by segment_inconclusive. It made the whole check an
            # error, whatever the other segments and the whole holdout said. The whole
            # holdout's own metric failing stays an error.
            small = segment is not None and isinstance(exc, CheckInputError)
            return MetricComparison(
                name=name,
                candidate=None,
                baseline=None,
                difference=None,
                ci_low=None,
                ci_high=None,
                margin=None,
                method="",
                verdict=Verdict.INCONCLUSIVE if small else None,
                status=_POLICY[policy] if small else Status.ERROR,
                higher_is_better=higher,
                n=len(y),
                segment=segment,
                reason=f"{name}{where} could not be computed: {exc}",
            )
        allowed = self._allowed(margin, interval.baseline)
        # Gain: positive when the candidate is better, whatever the metric's direction.
        low, high = (
            (interval.ci_low, interval.ci_high) if higher else (-interval.ci_high, -interval.ci_low)
        )
        # Rounding allowed as the bias gate allows it: a change of exactly the margin
        # (MAE up 0.01 on every resample, computed as 0.010000000000000009) is within it.
        figures = (low, high, allowed, interval.candidate, interval.baseline)
        slack = ROUNDING_TOLERANCE * max((abs(f) for f in figures if math.isfinite(f)), default=0.0)
        if not (math.isfinite(low) and math.isfinite(high)):
            verdict, status = Verdict.INCONCLUSIVE, _POLICY[policy]
        elif low >= -allowed - slack:
            verdict, status = Verdict.NOT_WORSE, Status.PASS
        elif high < -allowed - slack:
            verdict, status = Verdict.WORSE, Status.FAIL
        else:
            verdict, status = Verdict.INCONCLUSIVE, _POLICY[policy]
        drop = "drop" if higher else "rise"
        # The interval's ends with the digits that show on which side of the allowed
        # change they lie: the verdict is read from them. An end within rounding of the
        # allowed change is shown as that change, as the verdict took it.
        limit = -allowed if higher else allowed
        ends = [
            limit if abs(v - limit) <= slack else v for v in (interval.ci_low, interval.ci_high)
        ]
        (shown_low, shown_high), shown_allowed = beside(ends, limit, sign="+")
        reason = (
            f"{interval.candidate:.4g} vs {interval.baseline:.4g}: difference "
            f"{interval.difference:+.4g} [{shown_low}, {shown_high}] "
            f"({method}); allowed {drop} {shown_allowed.lstrip('-')}: {verdict.value}"
        )
        return MetricComparison(
            name=name,
            candidate=interval.candidate,
            baseline=interval.baseline,
            difference=interval.difference,
            ci_low=interval.ci_low,
            ci_high=interval.ci_high,
            margin=allowed,
            method=method,
            verdict=verdict,
            status=status,
            higher_is_better=higher,
            p_value=interval.p_value,
            n=interval.n,
            segment=segment,
            reason=reason,
        )

    # --- segments ---

    def _segment_rows(self, n: int) -> tuple[dict[str, npt.NDArray[Any]], dict[str, int]]:
        """The rows of every segment of at least ``min_segment_size`` rows (a boolean mask
        given by the caller, else the segment's row positions), and the size of every
        smaller one.

        Labelled segments are counted first, and only those compared get their rows: n
        positions in all, whatever the number of labels (one n-row mask per label took
        n bytes a label: 400 MB for a column of 20,000 distinct numbers).
        """
        segments = self.segments
        if segments is None:
            return {}, {}
        if isinstance(segments, Mapping):
            kept: dict[str, npt.NDArray[Any]] = {}
            small: dict[str, int] = {}
            for label, mask in segments.items():
                array = column_array(mask, f"segment {label!r}")
                if array.dtype != np.bool_ or array.shape != (n,):
                    raise CheckInputError(
                        f"segment {label!r} must be a boolean mask of {n} rows, got dtype "
                        f"{array.dtype} and shape {array.shape}"
                    )
                size = int(array.sum())
                if size < self.min_segment_size:
                    small[str(label)] = size
                else:
                    kept[str(label)] = array
            return kept, small
        columns: dict[str, npt.NDArray[Any]] | None
        if _is_frame(segments):
            columns = _frame_columns(segments, n)
        else:
            columns = self._segment_columns(segments, n)
        if columns is None:
            values = column_array(segments, "`segments`")
            if values.ndim == 2 and values.shape[1] == 1:  # X[:, [2]]: that column's labels
                values = values[:, 0]
            if values.shape != (n,):
                raise CheckInputError(
                    f"`segments` has shape {values.shape}, the holdout {n} rows: {_SEGMENTS}"
                )
            return _label_rows(values, "", self.min_segment_size)
        kept, small = {}, {}
        for name, column in columns.items():
            found, too_small = _label_rows(column, f"{name}=", self.min_segment_size)
            kept.update(found)
            small.update(too_small)
        return kept, small

    def _segment_columns(self, segments: Any, n: int) -> dict[str, npt.NDArray[Any]] | None:
        """The columns of ``X`` that ``segments`` names, by name, or ``None`` when it holds
        per-row labels.

        A single value names a column: text, or any other column label of a data frame or
        mapping (``0`` for ``pd.DataFrame(array)``); for a plain 2-D array, which has no
        names, an integer position. A list or tuple of text names columns when every
        value is a column name of ``X``, or when it does not hold one value per row; a
        list of other values (``[0, 2]``) names columns when every value is a column label
        (a position) and it does not hold one value per row. Otherwise it holds per-row
        labels (``list(df.region)``), as an array always does.
        """
        if isinstance(segments, str) or _is_key(segments):
            names, listed = [segments], False
        elif (
            isinstance(segments, Sequence)
            and not isinstance(segments, np.ndarray)
            and segments
            and all(isinstance(s, str) or _is_key(s) for s in segments)
        ):
            names, listed = list(segments), True
        else:
            return None
        text = all(isinstance(name, str) for name in names)
        per_row = listed and len(names) == n
        if per_row and not text:
            return None  # a list of numbers, one a row: labels
        hint = (
            f"; a list is read as per-row labels only when it has one per row "
            f"({n} rows, {len(names)} given)"
            if listed
            else ""
        )
        if self.X is None:
            if per_row:
                return None
            raise ConfigError(f"`segments` names columns, so `X` is required{hint}")
        items = named_items(self.X)
        if items is None:
            return self._array_columns(names, per_row=per_row, hint=hint)
        available = [name for name, _ in items]
        known = set(available)
        labels = _column_labels(self.X)
        resolved = [name if isinstance(name, str) else _label_text(labels, name) for name in names]
        absent = list(
            dict.fromkeys(
                repr(name)
                for name, found in zip(names, resolved, strict=True)
                if found is None or found not in known
            )
        )
        if not absent:
            # A name given twice is one column, compared once (as Bias reads a repeated
            # sensitive feature); X's columns must be distinct, so a repeat was refused.
            wanted = list(dict.fromkeys(str(name) for name in resolved))
            return raw_columns(self.X, what="X", columns=wanted)
        if per_row:
            return None
        # Column names, then; the messages stay short even for a list of a million labels.
        shown = ", ".join(absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        columns = f"{available[:20]}{' ...' if len(available) > 20 else ''}"
        raise ColumnMismatch(
            f"X has no column{'s' if len(absent) > 1 else ''} {shown}{more} named by "
            f"`segments`; X's columns: {columns}{hint}"
        )

    def _array_columns(
        self, names: list[Any], *, per_row: bool, hint: str
    ) -> dict[str, npt.NDArray[Any]] | None:
        """Columns of a plain array ``X`` named by position (``segments=0``)."""
        array = column_array(self.X, "X")
        width = array.shape[1] if array.ndim == 2 else 0
        positions = all(
            isinstance(name, (int, np.integer)) and not isinstance(name, (bool, np.bool_))
            for name in names
        )
        if positions and all(0 <= int(name) < width for name in names):
            return {str(int(name)): array[:, int(name)] for name in names}
        if per_row:
            return None
        shape = f"a plain array of shape {array.shape}, without column names"
        if positions:
            raise ColumnMismatch(
                f"`segments` names column positions {names[:5]} of X, {shape}: positions "
                f"0 to {width - 1} exist{hint}"
            )
        raise ConfigError(
            f"`segments` names columns {names[:5]!r}, but X is {shape}: name a column by "
            f"its position (segments=0), or pass the labels themselves (segments=X[:, 0]){hint}"
        )

    def _slices(
        self,
        metrics: Sequence[tuple[str, MetricLike]],
        task: str,
        y: npt.NDArray[np.float64],
        cand: npt.NDArray[np.float64],
        base: npt.NDArray[np.float64],
    ) -> tuple[dict[str, dict[str, MetricComparison]], dict[str, int]]:
        rows, skipped = self._segment_rows(len(y))
        slices: dict[str, dict[str, MetricComparison]] = {}
        for label, selected in rows.items():  # bounded: MAX_GROUPS labels a column
            slices[label] = {
                name: self._compare(
                    name,
                    metric,
                    task=task,
                    y=y[selected],
                    cand=cand[selected],
                    base=base[selected],
                    margin=self._segment_margin(name),
                    policy=self.segment_inconclusive,
                    segment=label,
                )
                for name, metric in metrics
            }
        return slices, skipped

    # --- latency, size, memory ---

    def _performance(self, candidate: _Model, baseline: _Model) -> PerformanceComparison | None:
        budgets = {
            key: value
            for key, value in (
                ("latency_p95_ratio", self.latency_budget),
                ("latency_p95_ms", self.latency_budget_ms),
                ("size_ratio", self.size_budget),
                ("size_bytes", self.size_budget_bytes),
                ("peak_memory_ratio", self.memory_budget),
                ("peak_memory_bytes", self.memory_budget_bytes),
            )
            if value is not None
        }
        if not budgets and not self.measure_performance:
            return None
        if candidate.predict is None or baseline.predict is None:
            raise ConfigError(
                "latency, size and memory need both models, not precomputed scores; drop the "
                "budgets or pass candidate= and baseline="
            )
        _check_clock(self.clock)
        lat_c, lat_b, batch_size = _latencies(
            candidate.predict,
            baseline.predict,
            self.X,
            batch_size=self.batch_size,
            n_batches=self.n_batches,
            warmup=self.warmup,
            clock=self.clock,
        )
        figures: dict[str, dict[str, float | None]] = {}
        for side, model, lat in (("candidate", candidate, lat_c), ("baseline", baseline, lat_b)):
            size = model.size_bytes()  # pickles an in-memory model: only here, when asked
            p50, p95, p99 = (float(v) for v in np.percentile(lat * 1000, [50, 95, 99]))
            figures[side] = {
                "p50_ms": p50,
                "p95_ms": p95,
                "p99_ms": p99,
                "size_bytes": None if size is None else float(size),
                "peak_memory_bytes": float(_peak_memory(model.predict, self.X)),  # type: ignore[arg-type]
            }
        exceeded = _exceeded(budgets, figures["candidate"], figures["baseline"])
        return PerformanceComparison(
            candidate=figures["candidate"],
            baseline=figures["baseline"],
            budgets=budgets,
            exceeded=exceeded,
            batch_size=batch_size,
            n_batches=self.n_batches,
        )

    # --- verdict ---

    def _summarise(
        self,
        compared: Mapping[str, MetricComparison],
        slices: Mapping[str, Mapping[str, MetricComparison]],
        skipped: Mapping[str, int],
        performance: PerformanceComparison | None,
        n: int,
    ) -> DegradationResult:
        everything = list(compared.values()) + [m for s in slices.values() for m in s.values()]
        worst = _worst_segments(slices)
        errors = [m for m in everything if m.status is Status.ERROR]
        failed = [m for m in everything if m.status is Status.FAIL]
        worse = [m for m in failed if m.verdict is Verdict.WORSE]
        untold = [m for m in failed if m.verdict is not Verdict.WORSE]  # inconclusive, by policy
        warned = [m for m in everything if m.status is Status.WARN]
        exceeded = list(performance.exceeded.values()) if performance is not None else []

        def label(m: MetricComparison) -> str:
            return m.name if m.segment is None else f"{m.name}[{m.segment}]"

        def verdicts(group: list[MetricComparison]) -> str:
            # The whole-set metrics first, in the order given; then segments' metrics,
            # furthest past their margin first, as worst segments are ordered.
            ordered = sorted(group, key=lambda m: (0, 0.0) if m.segment is None else (1, -_gap(m)))
            return first_of(
                [f"{label(m)}: {m.verdict.value if m.verdict else ''}" for m in ordered], 5
            )

        # What is known to be wrong first; then what could not be told either way, which
        # fails only because the inconclusive policy says "fail".
        said = []
        if worse or exceeded:
            said.append(
                "candidate is worse: " + "; ".join(filter(None, [verdicts(worse), *exceeded]))
            )
        if untold:
            said.append(
                "could not tell whether the candidate is worse (inconclusive fails by "
                f"policy): {verdicts(untold)}"
            )
        if errors:
            status = Status.ERROR
            reason = first_of([m.reason for m in errors], 3)
            # The failures too: fixing the error should not be the way to learn of them.
            if said:
                reason += "; also failing: " + "; ".join(said)
        elif said:
            status = Status.FAIL
            reason = "; ".join(said)
        elif warned:
            status = Status.WARN
            reason = verdicts(warned)
        else:
            status = Status.PASS
            reason = f"candidate not worse within tolerance on {len(compared)} metrics"
            if slices:
                reason += f" and {len(slices)} segments"
        if worst:
            more = f" and {len(worst) - 3} more" if len(worst) > 3 else ""
            reason += f"; worst segments: {', '.join(worst[:3])}{more}"
        columns = [
            ColumnResult(
                name=label(m),
                status=m.status,
                reason=m.reason,
                method=m.method or None,
                statistic=m.difference,
                p_value=m.p_value,
                threshold=None
                if m.margin is None
                else (-m.margin if m.higher_is_better else m.margin),
                details={
                    "candidate": m.candidate,
                    "baseline": m.baseline,
                    "ci_low": m.ci_low,
                    "ci_high": m.ci_high,
                    "verdict": None if m.verdict is None else m.verdict.value,
                },
            )
            for m in everything
        ]
        return DegradationResult(
            name=self.name,
            status=status,
            severity=self.severity,
            reason=reason,
            columns=columns,
            details={
                "n_rows": n,
                "confidence": self.confidence,
                "inconclusive": self.inconclusive,
                "segment_inconclusive": self.segment_inconclusive,
                # The first few (a column of distinct numbers would list thousands).
                "skipped_segments": dict(list(skipped.items())[:_SHOWN_SKIPPED]),
                "n_skipped_segments": len(skipped),
                "n_resamples": self.n_resamples,
                "seed": self.seed,
            },
            metrics=dict(compared),
            slices={k: dict(v) for k, v in slices.items()},
            worst_segments=worst,
            performance=performance,
        )


# Values that are containers, not labels: their text would not name a segment.
_NOT_A_LABEL = (list, tuple, dict, set, frozenset, np.ndarray)

_POLICY = {"fail": Status.FAIL, "warn": Status.WARN, "pass": Status.PASS}


def _is_key(value: Any) -> bool:
    """Whether ``value`` is one number or boolean, which can name a column of ``X``."""
    return isinstance(value, (int, float, np.integer, np.floating, np.bool_))


def _column_labels(x: Any) -> list[Any]:
    """The column labels of a data frame or the keys of a mapping, as they are (``0``
    for ``pd.DataFrame(array)``); empty for other inputs, whose names are text."""
    if isinstance(x, Mapping):
        return list(x)
    columns = getattr(x, "columns", None)
    if columns is None or hasattr(x, "column_names"):
        return []
    try:
        return list(columns)
    except TypeError:
        return []


def _label_text(labels: Sequence[Any], value: Any) -> str | None:
    """The name (as text) of the column label ``value`` is, or None; a boolean matches
    only a boolean (``0`` is not ``False``), and the label found names the column (``0``
    finds the column labelled ``0.0``, named ``"0.0"``)."""
    is_bool = isinstance(value, (bool, np.bool_))
    for label in labels:
        if isinstance(label, (bool, np.bool_)) == is_bool and bool(label == value):
            return str(label)
    return None


# Skipped segments listed in a result's details; the count says how many there were.
_SHOWN_SKIPPED = 20


_SEGMENTS = (
    "give a column name of X (or a list of names), one label per row (a Series, a 1-D "
    "array or a list), a data frame of label columns, or a mapping name -> boolean mask"
)


def _is_frame(segments: Any) -> bool:
    """Whether ``segments`` is a data frame or table (pandas, polars, pyarrow): named
    columns, not one named Series (whose labels are read as a plain column's)."""
    if isinstance(segments, (np.ndarray, Mapping)) or series_name(segments) is not None:
        return False
    return named_items(segments) is not None


def _frame_columns(segments: Any, n: int) -> dict[str, npt.NDArray[Any]]:
    """The label columns of a data frame or table given as ``segments``, by name, as the
    columns of ``X`` it names would be: ``X[["region"]]`` compares the segments that
    ``segments="region"`` does (it was "has shape (1500, 1)", and a pyarrow table "cannot
    be read as an array"), and needs no ``X``.

    >>> import pandas as pd
    >>> _frame_columns(pd.DataFrame({"region": ["n", "s"]}), 2)["region"].tolist()
    ['n', 's']
    """
    columns = raw_columns(segments, what="`segments`")
    for name, column in columns.items():
        if len(column) != n:
            raise CheckInputError(
                f"`segments` column {name!r} has {len(column)} rows, the holdout {n}: give "
                "the labels of the holdout's rows, in its order"
            )
    return columns


def _label_rows(
    values: npt.NDArray[Any], prefix: str, min_size: int
) -> tuple[dict[str, npt.NDArray[np.intp]], dict[str, int]]:
    """The row positions of every labelled segment of at least ``min_size`` rows, and the
    size of every smaller one; labels read as :class:`~modelship.checks.Bias` reads its
    groups (``3.0`` reads ``"3"``), and refused where it refuses them: a missing label
    (``None``, NaN) or two that read alike (``1.0`` and ``"1"``) would be a segment
    ``"nan"``, or one segment counted as two; and more than ``MAX_GROUPS`` labels, as
    Bias refuses more groups.

    Examples
    --------
    >>> import numpy as np
    >>> rows, small = _label_rows(np.array(["a", "b", "a", "c", "a"]), "region=", 2)
    >>> {k: v.tolist() for k, v in rows.items()}, small
    ({'region=a': [0, 2, 4]}, {'region=b': 1, 'region=c': 1})
    """
    what = f"segment column {prefix[:-1]!r}" if prefix else "`segments`"
    if values.dtype.kind == "O":
        odd = next((v for v in values.tolist() if isinstance(v, _NOT_A_LABEL)), None)
        if odd is not None:
            raise CheckInputError(
                f"{what} must hold one label per row (text, a number or a boolean), got a "
                f"{type(odd).__name__}"
            )
    codes, labels = sf.factorize(values, what=what)
    if len(labels) > MAX_GROUPS:
        raise CheckInputError(
            f"{what} has {len(labels):,} distinct labels, more than {MAX_GROUPS:,}: one "
            "comparison per segment would be read by nobody, and almost all segments would "
            "be too small to judge; pass a column of fewer or coarser labels (bin a number, "
            "group regions)"
        )
    codes = np.asarray(codes, dtype=np.intp)
    counts = np.bincount(codes, minlength=len(labels))
    compared = np.flatnonzero(counts >= min_size)
    kept: dict[str, npt.NDArray[np.intp]] = {}
    if len(compared):
        # Stable: each segment's rows in their order, as a mask would select them.
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(counts)
        for i in compared.tolist():  # bounded: MAX_GROUPS labels
            kept[f"{prefix}{labels[i]}"] = order[ends[i] - counts[i] : ends[i]]
    sizes = counts.tolist()
    small = {
        f"{prefix}{labels[i]}": int(sizes[i])
        for i in np.flatnonzero(counts < min_size).tolist()
        if sizes[i] > 0
    }
    return kept, small


def _gap(m: MetricComparison) -> float:
    """How far the candidate's drop is past the margin (negative: within it); -inf when
    either is unknown."""
    if m.difference is None or m.margin is None:
        return -math.inf
    gain = m.difference if m.higher_is_better else -m.difference
    return -gain - m.margin


def _worst_segments(slices: Mapping[str, Mapping[str, MetricComparison]]) -> tuple[str, ...]:
    """Segments ordered by their largest drop relative to its allowance, worst first."""
    scores = {}
    for segment, found in slices.items():
        gaps = [gap for gap in map(_gap, found.values()) if gap > -math.inf]
        if gaps:
            scores[segment] = max(gaps)
    return tuple(sorted(scores, key=lambda s: -scores[s]))


def _check_clock(clock: Callable[[], float]) -> None:
    """Read ``clock`` once before timing: a clock that needs an argument, or returns
    something other than a finite number of seconds, surfaced as a bare TypeError from
    the subtraction of two readings, naming neither the clock nor a fix."""
    fix = "clock must be a callable taking no arguments and returning seconds as a float"
    try:
        reading = clock()
    except TypeError as exc:
        raise ConfigError(f"clock={clock!r} could not be called: {exc}; {fix}") from None
    number = isinstance(reading, (int, float, np.integer, np.floating))
    if not number or isinstance(reading, (bool, np.bool_)) or not math.isfinite(reading):
        raise ConfigError(
            f"clock={clock!r} returned {reading!r}, not a finite number of seconds; {fix}, "
            "such as time.perf_counter"
        )


def _latencies(  # noqa: PLR0913 - both models plus the keyword-only batch size, batch count, warm-up and clock of the timing loop
    cand: _Predict,
    base: _Predict,
    x: Any,
    *,
    batch_size: int,
    n_batches: int,
    warmup: int,
    clock: Callable[[], float],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Seconds per batch for each model on the same batches, alternating who goes first,
    and the rows per batch.

    ``n_batches`` batches of ``min(batch_size, rows)`` rows are timed: when ``x`` holds
    fewer whole batches, they are timed again in turn (wrapping around to the first), so
    a p95 is read from ``n_batches`` timings, not from the one or two a small holdout has.
    """
    rows = _n_rows(x)
    size = min(batch_size, rows)
    distinct = max(rows // size, 1) if size else 1
    batches = [_rows(x, i * size, (i + 1) * size) for i in range(min(distinct, n_batches))]
    on = f"a batch of {size} rows of X (the latency measurement)"
    for _ in range(warmup):
        cand(batches[0], on)
        base(batches[0], on)
    timings = np.empty((2, n_batches))
    for i in range(n_batches):  # bounded by n_batches
        batch = batches[i % len(batches)]
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            model = cand if side == 0 else base
            start = clock()
            model(batch, on)
            timings[side, i] = clock() - start
    return timings[0], timings[1], size


def _peak_memory(predict: _Predict, x: Any) -> int:
    """Peak bytes traced by ``tracemalloc`` while predicting ``x`` once."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        predict(x, "X once more (the memory measurement)")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return max(peak - before, 0)


def _exceeded(
    budgets: Mapping[str, float],
    cand: Mapping[str, float | None],
    base: Mapping[str, float | None],
) -> dict[str, str]:
    """The budgets broken, each with a sentence. A budget is "at most": a figure at its
    limit, or within rounding of it (:data:`ROUNDING_TOLERANCE`, as the metric gate
    allows), keeps it: ``1.15`` x 100 bytes (the float product 114.99999999999999) holds
    115 bytes, and the limit is shown with the digits that show the ``>``.

    Examples
    --------
    >>> _exceeded({"size_ratio": 1.15}, {"size_bytes": 115.0}, {"size_bytes": 100.0})
    {}
    >>> _exceeded({"size_ratio": 1.15}, {"size_bytes": 116.0}, {"size_bytes": 100.0})
    {'size_ratio': 'artifact size 116 > 115 (1.15 x baseline 100)'}
    """
    checks = {
        "latency_p95_ratio": ("p95_ms", True, "p95 latency"),
        "latency_p95_ms": ("p95_ms", False, "p95 latency (ms)"),
        "size_ratio": ("size_bytes", True, "artifact size"),
        "size_bytes": ("size_bytes", False, "artifact size (bytes)"),
        "peak_memory_ratio": ("peak_memory_bytes", True, "peak memory"),
        "peak_memory_bytes": ("peak_memory_bytes", False, "peak memory (bytes)"),
    }
    out = {}
    for key, budget in budgets.items():
        figure, relative, what = checks[key]
        value, reference = cand.get(figure), base.get(figure)
        if value is None or (relative and reference is None):
            shown_budget = _factor(budget) if relative else amount(budget)
            out[key] = f"{what} unknown (the model cannot be pickled), budget {shown_budget}"
            continue
        limit = budget * reference if relative and reference is not None else budget
        slack = ROUNDING_TOLERANCE * max(abs(value), abs(limit))
        if value > limit + slack:
            # Bytes print exactly, other figures with the digits that show the ">".
            shown, shown_limit = against(value, limit)
            out[key] = f"{what} {shown} > {shown_limit}" + (
                f" ({_factor(budget)} x baseline {amount(reference)})"
                if relative and reference is not None
                else ""
            )
    return out


def _factor(budget: float) -> str:
    """A budget as written: its shortest decimal, without a trailing ``.0``.

    >>> _factor(1.15), _factor(2.0), _factor(1.123456789)
    ('1.15', '2', '1.123456789')
    """
    text = repr(float(budget))
    return text[:-2] if text.endswith(".0") else text
