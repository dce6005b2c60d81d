"""Model-quality metrics on numpy, and paired comparisons of two models with intervals.

Pure functions over numpy arrays returning plain floats or :class:`PairedInterval`
records; nothing here knows about checks, so live monitoring windows reuse them as is.

Metrics agree with scikit-learn's functions of the same name to 1e-9 (binary
classification with positive label 1; ``zero_division=0``):

* labels: :func:`accuracy`, :func:`precision`, :func:`recall`, :func:`f1`;
* scores: :func:`roc_auc` (ties count one half, as in the trapezoidal ROC curve);
* probabilities of the positive class: :func:`log_loss`, :func:`brier`;
* regression: :func:`rmse`, :func:`mae`, :func:`r2`.

Comparisons of a candidate with a baseline on the same rows (``difference = candidate -
baseline``) and their two-sided ``confidence`` intervals, whose ends are one-sided bounds
at ``(1 + confidence) / 2``:

* :func:`delong` for ROC AUC: DeLong's variance of two correlated AUCs computed from
  placement values as in Sun and Xu (2014), one sort of each model's scores (of
  integer keys carrying the row and its label), O(n log n);
* :func:`mcnemar_exact` for accuracy: McNemar's exact p-value (conditional on the
  discordant pairs); the interval is not conditional: Clopper-Pearson bounds on the share
  only the candidate got right and on the share only the baseline got right, each at half
  of each tail, bound the difference whatever the number of discordant pairs;
* :func:`paired_bootstrap` for any metric: the same resampled rows for both models,
  multinomial (classic) or Poisson weights. Label metrics resample the 8-cell table of
  (label, candidate, baseline), which is the row bootstrap exactly; ROC AUC sorts each
  model's scores once and only reweights; other metrics reduce to weighted sums of per-row
  terms (a matrix product per chunk of resamples).

Examples
--------
>>> import numpy as np
>>> from modelship.checks.stats import _metrics as sm
>>> y = np.array([0, 0, 1, 1, 1, 0])
>>> sm.accuracy(y, np.array([0, 1, 1, 1, 0, 0])), sm.roc_auc(y, np.array([.1, .4, .35, .8, .9, .2]))
(0.6666666666666666, 0.8888888888888888)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from scipy import special

from modelship._columns import column_array
from modelship._params import Interval, Options, validate_params
from modelship.checks.stats._columns import dot
from modelship.checks.stats._fairness import binary_labels
from modelship.errors import CheckInputError, ConfigError, EmptyData

__all__ = [
    "MAX_UNDEFINED_SHARE",
    "METRICS",
    "MetricSpec",
    "PairedInterval",
    "accuracy",
    "brier",
    "delong",
    "f1",
    "log_loss",
    "mae",
    "mcnemar_exact",
    "paired_bootstrap",
    "precision",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
]

FloatArray = npt.NDArray[np.float64]
Weights = Literal["multinomial", "poisson"]

# Resamples x rows held at once by the weighted bootstrap: 4e6 float64 = 32 MB.
_CHUNK_ELEMENTS = 4_000_000


# --- input validation ---------------------------------------------------------------------


def _array(x: npt.ArrayLike, what: str) -> npt.NDArray[Any]:
    array = column_array(x, what)
    if array.ndim != 1:
        raise CheckInputError(f"{what} must be 1-D, got shape {array.shape}")
    if len(array) == 0:
        raise EmptyData(f"{what} has no rows")
    return array


def _binary(y: npt.ArrayLike, what: str) -> npt.NDArray[np.bool_]:
    """``y`` as booleans, validated by :func:`~._fairness.binary_labels` (0/1 or bool)."""
    return binary_labels(_array(y, what), what).astype(np.bool_, copy=False)


def _real(x: npt.ArrayLike, what: str) -> FloatArray:
    array = _array(x, what)
    if array.dtype.kind not in "iufb":
        raise CheckInputError(f"{what} must be numbers, got dtype {array.dtype}")
    values = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        raise CheckInputError(f"{what} has {int(np.sum(~np.isfinite(values)))} non-finite values")
    return values


def _same_length(*pairs: tuple[str, npt.NDArray[Any]]) -> None:
    n = len(pairs[0][1])
    for what, array in pairs[1:]:
        if len(array) != n:
            raise CheckInputError(f"{what} has {len(array)} rows but {pairs[0][0]} has {n}")


def _probabilities(p: npt.ArrayLike, what: str) -> FloatArray:
    values = _real(p, what)
    if np.any((values < 0) | (values > 1)):
        raise CheckInputError(f"{what} must be probabilities in [0, 1]")
    return values


# --- metrics ------------------------------------------------------------------------------


def _confusion(y: npt.NDArray[np.bool_], pred: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, tn)``."""
    counts = np.bincount(y.view(np.uint8) * 2 + pred.view(np.uint8), minlength=4)
    return int(counts[3]), int(counts[1]), int(counts[2]), int(counts[0])


def _labels(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[Any, Any]:
    y = _binary(y_true, "y_true")
    pred = _binary(y_pred, "y_pred")
    _same_length(("y_true", y), ("y_pred", pred))
    return y, pred


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Share of rows whose predicted label equals the true one.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import accuracy
    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    y, pred = _labels(y_true, y_pred)
    return float(np.count_nonzero(y == pred) / len(y))


def precision(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """``tp / (tp + fp)``; 0 when nothing is predicted positive (scikit-learn's default).

    Examples
    --------
    >>> from modelship.checks.stats._metrics import precision
    >>> precision([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    tp, fp, _, _ = _confusion(*_labels(y_true, y_pred))
    return _ratio(tp, tp + fp)


def recall(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """``tp / (tp + fn)``, the true positive rate; 0 when there is no positive.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import recall
    >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    tp, _, fn, _ = _confusion(*_labels(y_true, y_pred))
    return _ratio(tp, tp + fn)


def f1(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """``2 tp / (2 tp + fp + fn)``, the harmonic mean of precision and recall.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import f1
    >>> f1([0, 1, 1, 0], [1, 1, 1, 0])
    0.8
    """
    tp, fp, fn, _ = _confusion(*_labels(y_true, y_pred))
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _scores(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> tuple[Any, FloatArray]:
    y = _binary(y_true, "y_true")
    score = _real(y_score, "y_score")
    _same_length(("y_true", y), ("y_score", score))
    n_pos = int(np.count_nonzero(y))
    if n_pos in (0, len(y)):
        raise CheckInputError(
            "ROC AUC needs both classes in y_true, got only "
            f"{'positives' if n_pos else 'negatives'} ({len(y)} rows)"
        )
    return y, score


def _placements(pos: FloatArray, neg: FloatArray) -> tuple[FloatArray, FloatArray]:
    """DeLong's placement values of positives (V10) and negatives (V01).

    ``V10[i]`` is the share of negatives scored below positive ``i`` (ties count a half),
    ``V01[j]`` the share of positives scored above negative ``j``. Each sample is sorted
    once; counts come from binary searches of one sorted sample in the other.
    """
    pos_sorted = np.sort(pos)
    neg_sorted = np.sort(neg)
    below = np.searchsorted(neg_sorted, pos_sorted, "left")
    at_or_below = np.searchsorted(neg_sorted, pos_sorted, "right")
    v10 = (below + at_or_below) / (2.0 * len(neg))
    under = np.searchsorted(pos_sorted, neg_sorted, "left")
    at_or_under = np.searchsorted(pos_sorted, neg_sorted, "right")
    v01 = 1.0 - (under + at_or_under) / (2.0 * len(pos))
    return v10, v01


def roc_auc(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties: 1/2).

    Raises
    ------
    CheckInputError
        When ``y_true`` holds a single class.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import roc_auc
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, score = _scores(y_true, y_score)
    v10, _ = _placements(score[y], score[~y])
    return float(v10.mean())


def log_loss(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> float:
    """Mean negative log-likelihood of the positive-class probabilities.

    Probabilities are clipped to ``[eps, 1 - eps]`` with float64's machine epsilon
    whatever their dtype, as scikit-learn does for float64 (it takes a float32 input's
    epsilon: for float32 probabilities of exactly 0 or 1 the two differ; fixed here so
    that two models' losses compare whatever dtypes they answer in).

    Examples
    --------
    >>> from modelship.checks.stats._metrics import log_loss
    >>> round(log_loss([0, 1], [0.2, 0.9]), 6)
    0.164252
    """
    y = _binary(y_true, "y_true")
    p = _probabilities(y_prob, "y_prob")
    _same_length(("y_true", y), ("y_prob", p))
    return float(_log_loss_terms(y, p).mean())


def _log_loss_terms(y: npt.NDArray[np.bool_], p: FloatArray) -> FloatArray:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(p, eps, 1 - eps)
    return -np.where(y, np.log(clipped), np.log1p(-clipped))


def brier(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> float:
    """Mean squared difference between the positive-class probability and the label.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import brier
    >>> round(brier([0, 1], [0.2, 0.9]), 6)
    0.025
    """
    y = _binary(y_true, "y_true")
    p = _probabilities(y_prob, "y_prob")
    _same_length(("y_true", y), ("y_prob", p))
    return float(np.mean((p - y) ** 2))


def _regression(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = _real(y_true, "y_true")
    pred = _real(y_pred, "y_pred")
    _same_length(("y_true", y), ("y_pred", pred))
    return y, pred


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Root mean squared error.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import rmse
    >>> rmse([1.0, 2.0], [1.0, 4.0])
    1.4142135623730951
    """
    y, pred = _regression(y_true, y_pred)
    error = pred - y
    # On the scale of the largest error, so no square underflows (targets near 1e-170
    # gave 0) or overflows (near 1e160 gave inf); an infinite error stays infinite.
    largest = float(np.max(np.abs(error))) if error.size else 0.0
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    return largest * float(np.sqrt(np.mean((error / largest) ** 2)))


def mae(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Mean absolute error.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import mae
    >>> mae([1.0, 2.0], [1.0, 4.0])
    1.0
    """
    y, pred = _regression(y_true, y_pred)
    return float(np.mean(np.abs(pred - y)))


def _r2_from_sums(n: Any, s_y: Any, s_yy: Any, s_res: Any) -> Any:
    """R^2 from weighted sums of a centred ``y``; a constant ``y``: 1 for a perfect fit, else 0.

    ``s_y`` and ``s_yy`` must be sums of ``y - mean(y)`` (any fixed centre near the mean):
    with raw values of a large offset (1.7e9 for epoch seconds) ``s_yy - s_y**2 / n``
    cancels every digit of the spread. The "constant" test is relative to ``s_yy`` so it
    does not depend on the target's units.
    """
    ss_tot = s_yy - s_y * s_y / n
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1.0 - s_res / ss_tot
    tiny = ss_tot <= 1e-12 * s_yy
    return np.where(tiny, np.where(s_res <= 1e-12 * s_yy, 1.0, 0.0), value)


def r2(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot``.

    A constant ``y_true`` gives 1.0 for a perfect prediction and 0.0 otherwise, as
    scikit-learn does.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import r2
    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    y, pred = _regression(y_true, y_pred)
    residual, spread = y - pred, y - y.mean()
    # Both sums on the scale of the largest term: their ratio is the same, and no square
    # underflows (targets near 1e-170 both summed to 0: r2 1.0 for any model) or overflows.
    scale = max(float(np.max(np.abs(residual))), float(np.max(np.abs(spread))))
    if 0.0 < scale < math.inf:
        residual, spread = residual / scale, spread / scale
    ss_res = float(np.sum(residual**2))
    ss_tot = float(np.sum(spread**2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


# --- metric table -------------------------------------------------------------------------

Kind = Literal["labels", "scores", "probabilities", "regression"]


@attrs.frozen
class MetricSpec:
    """A named metric: what it takes, which direction is better, and how it is computed.

    ``kind`` is ``"labels"`` (0/1 predictions), ``"scores"`` (any real score, higher
    meaning positive), ``"probabilities"`` (of the positive class) or ``"regression"``.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import METRICS
    >>> spec = METRICS["log_loss"]
    >>> spec.kind, spec.higher_is_better
    ('probabilities', False)
    """

    name: str
    kind: Kind
    higher_is_better: bool
    compute: Callable[[npt.ArrayLike, npt.ArrayLike], float]


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", "labels", True, accuracy),
        MetricSpec("precision", "labels", True, precision),
        MetricSpec("recall", "labels", True, recall),
        MetricSpec("f1", "labels", True, f1),
        MetricSpec("roc_auc", "scores", True, roc_auc),
        MetricSpec("log_loss", "probabilities", False, log_loss),
        MetricSpec("brier", "probabilities", False, brier),
        MetricSpec("rmse", "regression", False, rmse),
        MetricSpec("mae", "regression", False, mae),
        MetricSpec("r2", "regression", True, r2),
    )
}
"""The built-in metrics by snake_case name."""


# --- paired comparisons -------------------------------------------------------------------


@attrs.frozen
class PairedInterval:
    """A candidate's metric against a baseline's on the same rows, with an interval.

    Attributes
    ----------
    candidate, baseline : float
        The metric of each model.
    difference : float
        ``candidate - baseline``.
    ci_low, ci_high : float
        Two-sided ``confidence`` interval of the difference; each end is a one-sided bound
        at level ``(1 + confidence) / 2``.
    confidence : float
    method : str
        ``"delong"``, ``"mcnemar_exact"`` or ``"bootstrap"``.
    p_value : float or None
        Two-sided p-value of "no difference" (DeLong, McNemar); ``None`` for the bootstrap.
    n : int
        Rows compared.
    n_resamples : int
        Bootstrap resamples (0 for analytic methods); ``n_undefined`` of them gave no value
        (e.g. a resample without negatives for ROC AUC) and were left out; more than 10 %
        undefined is refused. An infinite resampled difference is kept, as the most
        extreme value.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import PairedInterval
    >>> PairedInterval(0.8, 0.7, 0.1, 0.05, 0.15, 0.9, "delong", 0.01, 100).difference
    0.1
    """

    candidate: float
    baseline: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    p_value: float | None
    n: int
    n_resamples: int = 0
    n_undefined: int = 0


_CONFIDENCE = Interval(float, 0, 1, closed="neither")


def _ordered_bits(score: FloatArray) -> npt.NDArray[np.uint64]:
    """A fresh copy of ``score``'s bits as integers in the same order (-0.0 made +0.0)."""
    keys = np.add(score, 0.0).view(np.uint64)
    # Order-preserving: flip every bit of a negative number, only the sign bit of the rest.
    flip = keys >> np.uint64(63)
    np.negative(flip, out=flip)
    flip |= np.uint64(1 << 63)
    keys ^= flip
    return keys


def sort_order(score: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Return ``(order, score[order])`` with ``score[order]`` ascending (ties in any order).

    Equal to ``np.argsort`` up to the order of tied values, and faster: each finite float64
    is mapped to an order-preserving 64-bit key whose lowest ``b`` bits (``2**b >= n``) are
    replaced by the row index, and the keys are sorted by value (``np.sort`` of integers is
    vectorised; ``np.argsort`` is not: 20-25 ms instead of 35-40 ms at 1,000,000 rows on
    the machine of the benchmark). Values that agree in all but those ``b`` bits (a
    relative gap below ``2**(b - 52)``) may come out of order; they are found in one pass
    and put in order by a sort of those runs alone. More than ``n / 4`` such rows, or more
    than ``2**32`` rows, fall back to ``np.argsort``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._metrics import sort_order
    >>> order, ordered = sort_order(np.array([0.5, -1.0, 0.25, -0.0, 3.0]))
    >>> order.tolist(), ordered.tolist()
    ([1, 3, 2, 0, 4], [-1.0, -0.0, 0.25, 0.5, 3.0])
    """
    n = len(score)
    bits = max(1, (n - 1).bit_length())
    if bits > 32:
        order = np.argsort(score)
        return order, score[order]
    keys = _ordered_bits(score)
    keys >>= np.uint64(bits)
    keys <<= np.uint64(bits)
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & np.uint64((1 << bits) - 1)).view(np.intp)
    ordered = score[order]
    disordered = np.flatnonzero(ordered[1:] < ordered[:-1])
    if len(disordered) == 0:
        return order, ordered
    keys >>= np.uint64(bits)  # the truncated keys, ascending: runs of equal ones may be disordered
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    ends = np.r_[starts[1:], n]
    runs = np.unique(np.searchsorted(starts, disordered, "right") - 1)
    lengths = ends[runs] - starts[runs]
    total = int(lengths.sum())
    if total > n // 4:
        order = np.argsort(score)
        return order, score[order]
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    rows = np.repeat(starts[runs] - offsets, lengths) + np.arange(total)
    by_run = np.lexsort((ordered[rows], np.repeat(np.arange(len(runs)), lengths)))
    order[rows] = order[rows][by_run]
    ordered[rows] = ordered[rows][by_run]
    return order, ordered


def _opposite_below(y8: npt.NDArray[np.uint8], score: FloatArray) -> tuple[Any, Any, Any]:
    """Sort one model's scores once; return ``(order, labels, twice_below)`` in that order.

    ``twice_below`` is, for each row, twice the number of rows of the other class scored
    below it plus the number tied with it: ``2 n V10`` for a positive and ``2 m (1 - V01)``
    for a negative, DeLong's placement values as Sun and Xu (2014) get them from midranks.
    """
    order, ordered = sort_order(score)
    labels = y8[order]
    # int32 halves the memory traffic of these passes; twice a count of rows fits below 2**31.
    count = np.int64 if 2 * len(score) >= 2**31 else np.int32
    cum_pos = np.cumsum(labels, dtype=count)
    if not np.any(ordered[1:] == ordered[:-1]):
        # No ties: a positive at sorted position p has p + 1 - cum_pos[p] negatives below.
        twice = np.arange(2, 2 * len(score) + 1, 2, dtype=count)
        twice -= cum_pos
        twice -= cum_pos
        np.copyto(twice, cum_pos + cum_pos, where=~labels.view(np.bool_))
        return order, labels, twice
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, labels, _tied_twice_below(labels, cum_pos, starts)


def _tied_twice_below(labels: Any, cum_pos: Any, starts: npt.NDArray[np.intp]) -> Any:
    """``twice_below`` of sorted rows whose groups of equal scores begin at ``starts``."""
    sizes = np.diff(np.r_[starts, len(labels)])
    return _tie_groups_twice_below(labels, cum_pos, starts, sizes, labels)


def _tie_groups_twice_below(
    labels: Any, cum_pos: Any, start: npt.NDArray[np.intp], sizes: Any, covered: Any
) -> Any:
    """``twice_below`` of the rows of groups of equal scores, in sorted order.

    The groups begin at sorted positions ``start`` and hold ``sizes`` rows; ``covered``
    are those rows' labels. Each row counts the rows of the other class below its group
    twice and those within it once.
    """
    pos_before = cum_pos[start] - labels[start]
    pos_in = cum_pos[start + sizes - 1] - pos_before
    neg_before, neg_in = start - pos_before, sizes - pos_in
    # A negative's count, plus for a positive the difference (arithmetic: np.where is slower).
    of_neg = 2 * pos_before + pos_in
    twice = np.repeat(of_neg, sizes)
    extra = np.repeat(2 * neg_before + neg_in - of_neg, sizes)
    extra *= covered
    twice += extra
    return twice


def _twice_below_in_rows(y8: npt.NDArray[np.uint8], score: FloatArray) -> Any:
    """:func:`_opposite_below`'s ``twice_below``, put back in row order.

    The short road, taken unless scores are heavily tied: each row's key is its score's
    order-preserving bits with the lowest ``b + 1`` replaced by its row index and label,
    so one ``np.sort`` of integers gives the order and the labels in that order, and no
    score is gathered. Keys alike above those bits (equal scores, or scores within a
    relative ``2**(b - 51)``: a few hundred rows of a million) are the only places where
    the order may be wrong or scores tied; only their scores are read, to order them and
    to count their ties. With more than ``n / 4`` such rows (few distinct scores), all
    scores are read once in sorted order; alike keys holding different scores there
    send the scores the general way.
    """
    n = len(score)
    bits = max(1, (n - 1).bit_length())
    if bits + 1 > 32:
        return _in_rows(*_opposite_below(y8, score)[::2])
    shift = np.uint64(bits + 1)
    keys = _ordered_bits(score)
    keys >>= shift
    keys <<= shift
    low = np.arange(n, dtype=np.uint64)
    low += low
    low |= y8
    keys |= low
    del low
    keys.sort()
    high = keys >> shift
    alike = high[1:] == high[:-1]
    del high
    rows = np.flatnonzero(np.r_[alike, False] | np.r_[False, alike])
    labels = (keys & np.uint64(1)).astype(np.uint8)
    keys >>= np.uint64(1)
    keys &= np.uint64((1 << bits) - 1)
    order = keys.view(np.intp)
    count = np.int64 if 2 * n >= 2**31 else np.int32
    if len(rows) > n // 4:
        # Many alike keys: scores with few distinct values. If alike means equal, the
        # order is right and each run of alike keys is one group of ties.
        ordered = score[order]
        if np.any((ordered[1:] != ordered[:-1]) & alike):
            return _in_rows(*_opposite_below(y8, score)[::2])
        cum_pos = np.cumsum(labels, dtype=count)
        return _in_rows(
            order, _tied_twice_below(labels, cum_pos, np.flatnonzero(np.r_[True, ~alike]))
        )
    # Put each run of alike keys in order by its scores.
    run_starts = np.r_[True, ~alike[rows[1:] - 1]] if len(rows) else np.zeros(0, np.bool_)
    values = score[order[rows]]
    by = np.lexsort((values, np.cumsum(run_starts)))
    order[rows] = order[rows][by]
    labels[rows] = labels[rows][by]
    values = values[by]
    cum_pos = np.cumsum(labels, dtype=count)
    twice_pos = cum_pos + cum_pos
    # Untied: a positive at sorted position p has p + 1 - cum_pos[p] negatives below it, a
    # negative has cum_pos[p] positives below it. With label l, twice that is
    # 2 cum_pos + l (2 (p + 1) - 4 cum_pos): arithmetic, as a masked copy is 10x slower.
    twice = np.arange(2, 2 * n + 1, 2, dtype=count)
    twice -= twice_pos
    twice -= twice_pos
    twice *= labels
    twice += twice_pos
    if len(rows):
        # Ties are only among alike keys: each group of equal scores there is counted.
        first = np.flatnonzero(run_starts | np.r_[True, values[1:] != values[:-1]])
        sizes = np.diff(np.r_[first, len(rows)])
        twice[rows] = _tie_groups_twice_below(labels, cum_pos, rows[first], sizes, labels[rows])
    return _in_rows(order, twice)


def _in_rows(order: npt.NDArray[np.intp], sorted_values: Any) -> Any:
    """Values given in sorted order, put back in row order."""
    out = np.empty_like(sorted_values)
    out[order] = sorted_values
    return out


@validate_params(confidence=_CONFIDENCE)
def delong(
    y_true: npt.ArrayLike,
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    confidence: float = 0.9,
) -> PairedInterval:
    """Compare the ROC AUC of two scores of the same rows with DeLong's test.

    The covariance of the two AUCs is DeLong, DeLong and Clarke-Pearson (1988), computed
    as in Sun and Xu (2014) from placement values (one sort per model): with ``m``
    positives and ``n`` negatives, ``V10`` is the share of negatives below a positive and
    ``V01`` the share of positives above a negative (ties count a half), the AUC is the
    mean of ``V10``, and the difference of two AUCs is normal with variance
    ``var(V10_c - V10_b) / m + var(V01_c - V01_b) / n`` (sample variances, paired by row).

    Raises
    ------
    CheckInputError
        When ``y_true`` has fewer than two positive or two negative rows: a sample
        variance needs two values, and one row of a class would give an interval of no
        width, a certain verdict from a single row.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._metrics import delong
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000)
    >>> good, weak = y + rng.normal(0, 0.7, 2000), y + rng.normal(0, 1.5, 2000)
    >>> result = delong(y, good, weak)
    >>> result.difference > 0, result.ci_low > 0, result.p_value < 1e-6
    (True, True, True)
    """
    confidence = float(confidence)
    y, cand = _scores(y_true, candidate)
    base = _real(baseline, "baseline scores")
    _same_length(("y_true", y), ("baseline scores", base))
    y8 = y.view(np.uint8)
    m = int(np.count_nonzero(y))
    n = len(y) - m
    if min(m, n) < 2:
        raise CheckInputError(
            f"ROC AUC needs at least 2 positive and 2 negative rows, got {m} positive and "
            f"{n} negative: DeLong's variance of a class of one row is not defined"
        )
    twice_c = _twice_below_in_rows(y8, cand)
    twice_b = _twice_below_in_rows(y8, base)
    # Paired by row: d = 2 n (V10_c - V10_b) on positives and -2 m (V01_c - V01_b) on
    # negatives.
    d = twice_c.astype(np.float64)
    d -= twice_b
    pos = y8.astype(np.float64)
    sum_pos, sum_all = dot(pos, d), float(d.sum())
    sum_b_pos = dot(pos, twice_b)  # sum over positives of the baseline's 2 n V10
    d *= d
    sq_pos, sq_all = dot(pos, d), float(d.sum())
    sum_neg, sq_neg = sum_all - sum_pos, sq_all - sq_pos
    var = _sample_var(sum_pos, sq_pos, m) / (4.0 * n * n * m)
    var += _sample_var(sum_neg, sq_neg, n) / (4.0 * m * m * n)
    # AUC = mean V10; the candidate's sum over positives is the baseline's plus sum_pos.
    auc_b = sum_b_pos / (2.0 * m * n)
    auc_c = (sum_b_pos + sum_pos) / (2.0 * m * n)
    return _normal_interval(
        cand=auc_c, base=auc_b, var=max(var, 0.0), confidence=confidence, method="delong", n=len(y)
    )


def _sample_var(total: float, squares: float, count: int) -> float:
    """Sample variance (``ddof=1``) from a sum and a sum of squares of ``count >= 2``
    values (:func:`delong` refuses fewer)."""
    return max(squares - total * total / count, 0.0) / (count - 1)


def _normal_interval(  # noqa: PLR0913 - keyword-only estimates and settings of one normal-approximation interval
    *, cand: float, base: float, var: float, confidence: float, method: str, n: int
) -> PairedInterval:
    diff = cand - base
    z = float(special.ndtri((1 + confidence) / 2))
    sd = math.sqrt(var)
    # A zero variance (identical rankings) decides with certainty either way.
    p_value = float(2 * special.ndtr(-abs(diff) / sd)) if sd else float(diff == 0)
    return PairedInterval(
        cand, base, diff, diff - z * sd, diff + z * sd, confidence, method, p_value, n
    )


@validate_params(confidence=_CONFIDENCE)
def mcnemar_exact(
    y_true: npt.ArrayLike,
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    confidence: float = 0.9,
) -> PairedInterval:
    """Compare the accuracy of two label predictions with McNemar's exact test.

    With ``b`` rows only the candidate gets right and ``c`` rows only the baseline gets
    right, out of ``N``, the accuracy difference is ``(b - c) / N``. The p-value is
    McNemar's exact test: given ``d = b + c``, the two-sided binomial test of ``b`` out of
    ``d`` at ``1/2``.

    The interval does not hold ``d`` fixed: ``b / N`` and ``c / N`` each get Clopper-Pearson
    bounds at half of each tail (Bonferroni), and ``ci_low = low(b / N) - high(c / N)``,
    ``ci_high = high(b / N) - low(c / N)``. Each end is then a one-sided bound at level at
    least ``(1 + confidence) / 2`` for every true pair of shares, with few discordant rows
    too; it is conservative (wider than needed) when both ``b`` and ``c`` are large.
    Predictions that never differ still get about ``±3.7 / N`` at the default confidence:
    a holdout of ``N`` rows cannot rule out a difference smaller than that.

    Examples
    --------
    >>> from modelship.checks.stats._metrics import mcnemar_exact
    >>> y = [1] * 50 + [0] * 50
    >>> cand = [1] * 45 + [0] * 5 + [0] * 50
    >>> base = [1] * 35 + [0] * 15 + [0] * 50
    >>> result = mcnemar_exact(y, cand, base)
    >>> result.difference, round(result.p_value, 4)
    (0.1, 0.002)
    >>> round(result.ci_low, 4), round(result.ci_high, 4)
    (0.0128, 0.1762)
    """
    confidence = float(confidence)
    y = _binary(y_true, "y_true")
    cand = _binary(candidate, "candidate labels")
    base = _binary(baseline, "baseline labels")
    _same_length(("y_true", y), ("candidate labels", cand), ("baseline labels", base))
    n = len(y)
    cand_ok, base_ok = cand == y, base == y
    b = int(np.count_nonzero(cand_ok & ~base_ok))
    c = int(np.count_nonzero(~cand_ok & base_ok))
    d = b + c
    acc_c, acc_b = float(np.count_nonzero(cand_ok) / n), float(np.count_nonzero(base_ok) / n)
    diff = (b - c) / n
    # Half of each tail to each share: the low end errs only if b / N's lower bound or
    # c / N's upper bound does, each with chance at most tail / 2 (review 44: holding d
    # fixed, as before, put the low end on the estimate itself when b = 0, and a candidate
    # truly worse by the margin passed 68 % of the time at N = 200).
    tail = (1 - confidence) / 4
    b_low, b_high = _clopper_pearson(b, n, tail)
    c_low, c_high = _clopper_pearson(c, n, tail)
    return PairedInterval(
        acc_c,
        acc_b,
        diff,
        max(b_low - c_high, -1.0),
        min(b_high - c_low, 1.0),
        confidence,
        "mcnemar_exact",
        1.0 if d == 0 else _binom_two_sided_half(b, d),
        n,
    )


def _clopper_pearson(k: int, n: int, tail: float) -> tuple[float, float]:
    """Clopper-Pearson bounds of a binomial share from ``k`` successes in ``n``, each end
    missing with chance at most ``tail``."""
    low = 0.0 if k == 0 else float(special.betaincinv(k, n - k + 1, tail))
    high = 1.0 if k == n else float(special.betaincinv(k + 1, n - k, 1 - tail))
    return low, high


def _binom_two_sided_half(k: int, n: int) -> float:
    """Exact two-sided binomial p-value of ``k`` successes in ``n`` at ``p = 1/2``.

    The distribution is symmetric, so the outcomes at most as likely as ``k`` are the two
    tails beyond ``min(k, n - k)`` (scipy.stats.binomtest gives the same number).
    """
    low = min(k, n - k)
    if 2 * low == n:
        return 1.0
    return float(min(1.0, 2 * special.bdtr(low, n, 0.5)))


# --- paired bootstrap ---------------------------------------------------------------------

_LABEL_METRICS = frozenset({"accuracy", "precision", "recall", "f1"})


def _from_confusion(metric: str, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "accuracy":
            return (tp + tn) / (tp + fp + fn + tn)
        if metric == "precision":
            num, den = tp, tp + fp
        elif metric == "recall":
            num, den = tp, tp + fn
        else:
            num, den = 2 * tp, 2 * tp + fp + fn
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _cell_resamples(
    cells: npt.NDArray[np.int64], n: int, rng: np.random.Generator, size: int, weights: Weights
) -> npt.NDArray[np.float64]:
    if weights == "poisson":
        return rng.poisson(cells.astype(np.float64), size=(size, len(cells))).astype(np.float64)
    return rng.multinomial(n, cells / n, size=size).astype(np.float64)


def _label_bootstrap(  # noqa: PLR0913 - keyword-only paired arrays plus resampling settings for one label metric
    metric: str,
    *,
    y: npt.NDArray[np.bool_],
    cand: npt.NDArray[np.bool_],
    base: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    n_resamples: int,
    weights: Weights,
) -> tuple[FloatArray, FloatArray]:
    # Resampling rows is resampling the 8-cell table of (label, candidate, baseline):
    # multinomial weights on rows sum to a multinomial on cells, Poisson to Poisson.
    code = y.view(np.uint8) * 4 + cand.view(np.uint8) * 2 + base.view(np.uint8)
    cells = np.bincount(code, minlength=8)
    t = _cell_resamples(cells, len(y), rng, n_resamples, weights)

    def model(bit: int) -> Any:
        # tp, fp, fn, tn of one model from the 8 cells: index = 4 y + 2 cand + base.
        picks = {
            (yv, pv): [i for i in range(8) if (i >> 2) == yv and ((i >> bit) & 1) == pv]
            for yv in (0, 1)
            for pv in (0, 1)
        }
        tp, fp, fn, tn = (t[:, picks[key]].sum(axis=1) for key in ((1, 1), (0, 1), (1, 0), (0, 0)))
        return _from_confusion(metric, tp, fp, fn, tn)

    return model(1), model(0)


def _row_terms(metric: str, y: Any, pred: FloatArray) -> tuple[FloatArray, Callable[[Any], Any]]:
    """Per-row terms whose weighted sums give the metric, and the map from sums to metric."""
    ones = np.ones_like(pred)
    if metric == "log_loss":
        return np.column_stack([_log_loss_terms(y, pred), ones]), lambda s: s[..., 0] / s[..., 1]
    if metric == "brier":
        terms = (pred - y) ** 2
        return np.column_stack([terms, ones]), lambda s: s[..., 0] / s[..., 1]
    if metric == "mae":
        return np.column_stack([np.abs(pred - y), ones]), lambda s: s[..., 0] / s[..., 1]
    if metric == "rmse":
        return np.column_stack([(pred - y) ** 2, ones]), lambda s: np.sqrt(s[..., 0] / s[..., 1])
    if metric == "r2":
        y = np.asarray(y, dtype=np.float64)
        centred = y - y.mean()  # see _r2_from_sums: raw sums of a large offset cancel
        terms = np.column_stack([ones, centred, centred * centred, (y - pred) ** 2])
        return terms, lambda s: _r2_from_sums(s[..., 0], s[..., 1], s[..., 2], s[..., 3])
    raise ConfigError(f"no weighted form for metric {metric!r}")


def _finite_row_terms(
    metric: str, y: Any, pred: FloatArray, side: str
) -> tuple[FloatArray, Callable[[Any], Any]]:
    """:func:`_row_terms`, refused with a :class:`CheckInputError` when a row's term or a
    column's sum is not a finite float64 (squared errors of predictions near 1e155 or
    beyond): the metric then has no value, whatever the number of rows."""
    with np.errstate(over="ignore", invalid="ignore"):
        terms, finish = _row_terms(metric, y, pred)
        sums = terms.sum(axis=0)
        finite_rows = np.isfinite(terms).all(axis=1)
        if finite_rows.all() and np.isfinite(sums).all():
            return terms, finish
        gap = float(np.max(np.abs(np.asarray(pred, dtype=np.float64) - y)))
    bad = int((~finite_rows).sum())
    where = f"{bad} rows' terms" if bad else "the sum of the rows' terms"
    raise CheckInputError(
        f"{metric} of the {side} overflows float64 ({where}; the largest |prediction - "
        f"target| is {gap:.3g}): it has no value, with any number of rows; predictions "
        "this far from the targets come from a diverged model or a unit error"
    )


def _weight_chunks(n: int, rng: np.random.Generator, n_resamples: int, weights: Weights) -> Any:
    """Yield ``(chunk, n)`` row-weight matrices, ``n_resamples`` rows in all."""
    per_chunk = max(1, _CHUNK_ELEMENTS // n)
    done = 0
    while done < n_resamples:  # bounded: each step adds at least one resample
        size = min(per_chunk, n_resamples - done)
        if weights == "poisson":
            yield rng.poisson(1.0, size=(size, n)).astype(np.float64)
        else:
            yield rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        done += size


def _auc_sorted(
    y: Any, score: FloatArray
) -> tuple[npt.NDArray[np.intp], Any, npt.NDArray[np.intp]]:
    """Sort once: the row order, the labels in that order, and the starts of tie groups."""
    order, ordered = sort_order(score)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, y[order], starts


def _weighted_auc(w: FloatArray, sorted_y: Any, starts: npt.NDArray[np.intp]) -> FloatArray:
    """AUC of each row of weights ``w`` (already in score order): no sorting."""
    pos = np.add.reduceat(w * sorted_y, starts, axis=1)
    neg = np.add.reduceat(w * ~sorted_y, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc: FloatArray = np.sum(pos * (below + 0.5 * neg), axis=1) / (total_pos * total_neg)
    return auc


@validate_params(
    n_resamples=Interval(int, 1, None),
    confidence=_CONFIDENCE,
    seed=Interval(int, 0, None),
    weights=Options(("multinomial", "poisson")),
)
def paired_bootstrap(  # noqa: PLR0913 - public statistical function: the three paired arrays, the metric and documented keyword-only resampling options
    y_true: npt.ArrayLike,
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    metric: str | Callable[[npt.NDArray[Any], npt.NDArray[Any]], float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.9,
    seed: int = 0,
    weights: Weights = "multinomial",
) -> PairedInterval:
    """Percentile interval of ``metric(candidate) - metric(baseline)`` over paired resamples.

    Both models are scored on the same resampled rows. ``metric`` is a name in
    :data:`METRICS` or a callable ``metric(y_true, y_pred) -> float`` (called once per
    resample and model). ``weights="multinomial"`` is the classic bootstrap (rows drawn
    with replacement, ``n`` of them); ``"poisson"`` gives each row an independent
    Poisson(1) weight.

    Raises
    ------
    ConfigError
        For an unknown metric name, a ``metric`` neither a name nor a callable,
        ``n_resamples < 1``, or an unknown ``weights``.
    CheckInputError
        For inputs a metric cannot take; for a callable ``metric`` that raises, returns
        something other than one number, or gives a non-finite value on all rows; when
        more than 10 % of the resamples give no value (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks.stats._metrics import paired_bootstrap
    >>> rng = np.random.default_rng(1)
    >>> y = rng.integers(0, 2, 1000)
    >>> cand = np.where(rng.random(1000) < 0.9, y, 1 - y)
    >>> base = np.where(rng.random(1000) < 0.8, y, 1 - y)
    >>> result = paired_bootstrap(y, cand, base, "f1", seed=0)
    >>> result.ci_low > 0, result.n_resamples
    (True, 1000)
    """
    confidence = float(confidence)
    rng = np.random.default_rng(seed)
    if callable(metric):
        return _callable_bootstrap(
            y_true=y_true,
            candidate=candidate,
            baseline=baseline,
            metric=metric,
            n_resamples=n_resamples,
            confidence=confidence,
            rng=rng,
            weights=weights,
        )
    if not isinstance(metric, str):  # a list or a number is not a key of METRICS
        raise ConfigError(
            f"metric must be a name from METRICS or a callable metric(y_true, y_pred) -> "
            f"float, got {metric!r}; known names: {sorted(METRICS)}"
        )
    spec = METRICS.get(metric)
    if spec is None:
        raise ConfigError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
    y: Any
    if spec.kind == "labels":
        y = _binary(y_true, "y_true")
        cand: Any = _binary(candidate, "candidate labels")
        base: Any = _binary(baseline, "baseline labels")
        _same_length(("y_true", y), ("candidate labels", cand), ("baseline labels", base))
        point_c, point_b = spec.compute(y, cand), spec.compute(y, base)
        res_c, res_b = _label_bootstrap(
            metric, y=y, cand=cand, base=base, rng=rng, n_resamples=n_resamples, weights=weights
        )
    elif spec.kind == "scores":
        y, cand = _scores(y_true, candidate)
        base = _real(baseline, "baseline scores")
        _same_length(("y_true", y), ("baseline scores", base))
        point_c, point_b = roc_auc(y, cand), roc_auc(y, base)
        sorted_c, sorted_b = _auc_sorted(y, cand), _auc_sorted(y, base)
        parts_c, parts_b = [], []
        for w in _weight_chunks(len(y), rng, n_resamples, weights):
            parts_c.append(_weighted_auc(w[:, sorted_c[0]], sorted_c[1], sorted_c[2]))
            parts_b.append(_weighted_auc(w[:, sorted_b[0]], sorted_b[1], sorted_b[2]))
        res_c, res_b = np.concatenate(parts_c), np.concatenate(parts_b)
    else:
        if spec.kind == "probabilities":
            y = _binary(y_true, "y_true")
            cand = _probabilities(candidate, "candidate probabilities")
            base = _probabilities(baseline, "baseline probabilities")
        else:
            y = _real(y_true, "y_true")
            cand = _real(candidate, "candidate predictions")
            base = _real(baseline, "baseline predictions")
        _same_length(("y_true", y), ("candidate", cand), ("baseline", base))
        # Checked before anything is computed: an overflow made an infinite metric, read
        # as "inconclusive: holdout too small to tell", with numpy's RuntimeWarnings.
        terms_c, finish = _finite_row_terms(metric, y, cand, "candidate")
        terms_b, _ = _finite_row_terms(metric, y, base, "baseline")
        point_c, point_b = spec.compute(y, cand), spec.compute(y, base)
        terms = np.hstack([terms_c, terms_b])
        k = terms_c.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            chunks = _weight_chunks(len(y), rng, n_resamples, weights)
            sums = np.vstack([w @ terms for w in chunks])
        if not np.isfinite(sums).all():
            # A resample weighting a large term several times overflows, though the
            # holdout's own sums did not: the interval would reach infinity.
            side = "candidate" if not np.isfinite(sums[:, :k]).all() else "baseline"
            raise CheckInputError(
                f"{metric} of the {side} overflows float64 in the bootstrap's resamples (a "
                "row drawn several times): its terms are too large to resample; predictions "
                "this far from the targets come from a diverged model or a unit error"
            )
        res_c, res_b = finish(sums[:, :k]), finish(sums[:, k:])
    return _percentile_interval(
        point_c, point_b, np.asarray(res_c) - np.asarray(res_b), confidence, len(y)
    )


def _callable_bootstrap(  # noqa: PLR0913 - keyword-only inputs forwarded unchanged from paired_bootstrap for a callable metric
    *,
    y_true: npt.ArrayLike,
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    metric: Callable[[npt.NDArray[Any], npt.NDArray[Any]], float],
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
    weights: Weights,
) -> PairedInterval:
    y, cand, base = (
        _array(y_true, "y_true"),
        _array(candidate, "candidate"),
        _array(baseline, "baseline"),
    )
    _same_length(("y_true", y), ("candidate", cand), ("baseline", base))
    n = len(y)
    point_c = _full_value(metric, y, cand, "candidate")
    point_b = _full_value(metric, y, base, "baseline")
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):  # a user's function sees rows, so rows are drawn
        if weights == "poisson":
            idx = np.repeat(np.arange(n), rng.poisson(1.0, n))
        else:
            idx = rng.integers(0, n, n)
        try:
            diffs[i] = _metric_value(metric(y[idx], cand[idx])) - _metric_value(
                metric(y[idx], base[idx])
            )
        except Exception:
            diffs[i] = np.nan
    return _percentile_interval(point_c, point_b, diffs, confidence, n)


def _metric_value(value: Any) -> float:
    """A callable metric's return as a float; anything but one real number is refused."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CheckInputError(f"returned {type(value).__name__} {value!r}, not one number")
    return float(value)


def _full_value(
    metric: Callable[[npt.NDArray[Any], npt.NDArray[Any]], float],
    y: npt.NDArray[Any],
    pred: npt.NDArray[Any],
    side: str,
) -> float:
    """The metric of one model on all rows: a finite number, or a CheckInputError saying why not."""
    try:
        value = _metric_value(metric(y, pred))
    except CheckInputError as exc:
        raise CheckInputError(f"on the {side}'s predictions the metric {exc}") from exc
    except Exception as exc:
        raise CheckInputError(
            f"the metric raised {type(exc).__name__} on the {side}'s predictions: {exc}"
        ) from exc
    if not math.isfinite(value):
        # An infinite loss (a certain mistake) or NaN cannot be compared by a difference;
        # dropping it would let the candidate pass on the rows that remain.
        raise CheckInputError(
            f"the metric is {value} for the {side} on the whole holdout, so the models "
            "cannot be compared by a difference; make the metric finite (clip "
            "probabilities, guard zero denominators)"
        )
    return value


# More undefined (NaN) resamples than this share of all are refused: the interval would
# describe only the resamples where the metric happens to be defined. 10 % is twice the
# tail beyond each end of the default 90 % interval, so dropping them could move an end
# past where the full set of resamples would put it. Bias's interval gate uses it too.
MAX_UNDEFINED_SHARE = 0.1


def _percentile_interval(
    point_c: float, point_b: float, diffs: FloatArray, confidence: float, n: int
) -> PairedInterval:
    # NaN is a resample without a value (a class missing, a zero denominator, inf - inf);
    # +-inf is a value, the most extreme one, and stays in the ranking.
    defined = diffs[~np.isnan(diffs)]
    n_undefined = len(diffs) - len(defined)
    if n_undefined > MAX_UNDEFINED_SHARE * len(diffs):
        raise CheckInputError(
            f"{n_undefined} of {len(diffs)} bootstrap resamples gave no value (more than "
            f"{MAX_UNDEFINED_SHARE:.0%}), so the interval would describe only the others; "
            "the holdout is too small or too unbalanced for this metric: add rows, or use "
            "a metric defined on every resample"
        )
    tail = (1 - confidence) / 2
    if np.isfinite(defined).all():
        low, high = np.quantile(defined, [tail, 1 - tail])
    else:
        low, high = _quantiles_with_infinities(np.sort(defined), (tail, 1 - tail))
    return PairedInterval(
        float(point_c),
        float(point_b),
        float(point_c - point_b),
        float(low),
        float(high),
        confidence,
        "bootstrap",
        None,
        n,
        len(diffs),
        n_undefined,
    )


def _quantiles_with_infinities(ordered: FloatArray, qs: tuple[float, ...]) -> list[float]:
    """``np.quantile``'s linear interpolation where an infinite neighbour wins.

    numpy interpolates ``inf - inf`` to NaN; here a quantile between a finite value and
    an infinite one is that infinity (the limit of the interpolation), and one between
    ``-inf`` and ``+inf`` is NaN (undefined).
    """
    out = []
    last = len(ordered) - 1
    for q in qs:
        position = q * last
        below = math.floor(position)
        above = min(below + 1, last)
        t = position - below
        a, b = float(ordered[below]), float(ordered[above])
        if t == 0 or a == b:
            out.append(a)
        elif math.isinf(a) and math.isinf(b):
            out.append(math.nan)
        elif math.isinf(a) or math.isinf(b):
            out.append(a if math.isinf(a) else b)
        else:
            out.append(a + (b - a) * t)
    return out
