"""The bias check: per-group metrics and disparities, each with a bootstrap interval.

One pass over the rows counts the group x label x prediction table of the intersection of
all sensitive features; every feature set's table is a sum over that table's axes, and
every bootstrap resample is a redrawn table (see :mod:`modelship.checks.stats._fairness`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt

from modelship._columns import check_same_index, column_array, encoded_column, is_missing
from modelship._json import jsonable, malformed
from modelship._params import Constraints, Interval, MappingOf, Options, check_parameters
from modelship._shown import brief
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
from modelship.checks._tabular import RawColumn, raw_columns
from modelship.checks.stats import _fairness as sf
from modelship.checks.stats._metrics import MAX_UNDEFINED_SHARE
from modelship.errors import CheckInputError, ConfigError, TooFewGroups

__all__ = [
    "DEFAULT_BIAS_THRESHOLDS",
    "FOUR_FIFTHS",
    "Bias",
    "BiasResult",
    "Disparity",
    "GroupMetrics",
]

FOUR_FIFTHS = 0.8
"""The four-fifths rule: a selection-rate ratio below 0.8 is evidence of adverse impact
(US EEOC Uniform Guidelines, 29 CFR 1607.4(D)); used for ``disparate_impact`` when
``four_fifths=True``."""

DEFAULT_BIAS_THRESHOLDS: Mapping[str, float | None] = {
    "demographic_parity_difference": 0.1,
    "demographic_parity_ratio": None,
    "equalized_odds_difference": 0.1,
    "equalized_odds_ratio": None,
    "equal_opportunity_difference": 0.1,
    "predictive_parity_difference": None,
    "disparate_impact": None,
}
"""Classification defaults: the differences Fairlearn leads with gate at 0.1; the others
are reported (``None``: not gated) until given a threshold."""

_RATIOS = frozenset({"demographic_parity_ratio", "equalized_odds_ratio", "disparate_impact"})
_GROUP_RATES = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
)


# Under gate="interval", a group's rate of exactly 0 or 1 on fewer rows of its denominator
# than this is not judged: every bootstrap resample of that group repeats the rate, so the
# interval holds none of its uncertainty. By the rule of three, d rows all of one outcome
# put the 95 % bound on the true rate about 3/d away from it: 0.1, a usual threshold, at
# d = 30.
_FEW_FOR_EXTREME_RATE = 30

# What each group rate is a share of, as reasons name it.
_DENOMINATORS = {
    "selection_rate": "rows",
    "accuracy": "rows",
    "true_positive_rate": "positives",
    "false_positive_rate": "negatives",
    "precision": "predicted positives",
}

# Groups with rows per feature set (a feature, or the intersection of several) beyond
# which the check refuses: every group is a record of the result, and with more groups
# than this a holdout of a million rows leaves fewer than 100 rows a group on average,
# most of them under min_group_size. Counting is bounded by the rows either way.
MAX_GROUPS = 10_000

# Bootstrap resamples beyond which the bias and degradation checks refuse: every
# resample's figures are kept for the interval's quantiles (the bias check peaked at 29 MB
# for 100,000 resamples, tracemalloc; the degradation label bootstrap keeps an
# (n_resamples, 8) int64 table, 64 MB at a million), so an unbounded count grew without
# end (14 GB before it was stopped). A million keeps both near 300 MB; the Monte Carlo
# error of an interval's end falls as 1/sqrt(n_resamples), so at a million it is 1/30 of
# the default 1,000's, already far below the holdout's own sampling error.
MAX_RESAMPLES = 1_000_000


class _Resamples(Interval):
    """The allowed bootstrap resamples, 1 to :data:`MAX_RESAMPLES`, with why there is a most.

    >>> str(_Resamples()).split(" (")[0]
    'an int in [1, 1000000]'
    """

    def __init__(self) -> None:
        super().__init__(int, 1, MAX_RESAMPLES)

    def __str__(self) -> str:
        return (
            f"{super().__str__()} (every resample is kept in memory for the interval's "
            f"quantiles, and more would not make it measurably more precise)"
        )


#: The constraint of ``n_resamples``, shared by the checks that bootstrap.
RESAMPLES = _Resamples()

Task = Literal["classification", "regression"]
SmallGroups = Literal["skip", "warn", "fail", "ignore"]
Gate = Literal["estimate", "interval"]


def _tuple(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class GroupMetrics:
    """One group's size and metrics; ``None`` where a metric is undefined for it.

    Classification fills ``selection_rate``, ``true_positive_rate`` (``None`` without
    positives), ``false_positive_rate`` (``None`` without negatives), ``precision``
    (``None`` when nothing is predicted positive) and ``accuracy``; regression fills
    ``mean_prediction`` and ``mean_error`` (mean of ``y_pred - y_true``). A group smaller
    than ``min_group_size`` has ``skipped=True`` and the reason.

    Examples
    --------
    >>> from modelship.checks import GroupMetrics
    >>> GroupMetrics(label="F", feature_set=("sex",), count=40, selection_rate=0.5).count
    40
    """

    label: str
    feature_set: tuple[str, ...] = attrs.field(converter=_tuple)
    count: int
    selection_rate: float | None = attrs.field(default=None, converter=finite_or_none)
    true_positive_rate: float | None = attrs.field(default=None, converter=finite_or_none)
    false_positive_rate: float | None = attrs.field(default=None, converter=finite_or_none)
    precision: float | None = attrs.field(default=None, converter=finite_or_none)
    accuracy: float | None = attrs.field(default=None, converter=finite_or_none)
    mean_prediction: float | None = attrs.field(default=None, converter=finite_or_none)
    mean_error: float | None = attrs.field(default=None, converter=finite_or_none)
    skipped: bool = False
    reason: str = ""


@attrs.frozen(kw_only=True)
class Disparity:
    """One disparity of one feature set: estimate, interval, threshold and verdict.

    Differences are 0 at parity and must stay at or below ``threshold``; ratios are 1 at
    parity and must stay at or above it, up to rounding (8 units in the last place of the
    rates' magnitude, 1.8e-15 at 1: a difference of exactly 1/10 passes 0.1). ``passed``
    is ``None`` when the disparity is not gated (no threshold) or could not be computed
    (``reason`` names the group; ``status`` is then ``error`` for a gated disparity,
    ``skip`` for one not gated, which leaves the check's verdict alone).

    Examples
    --------
    >>> from modelship.checks import Disparity
    >>> d = Disparity(name="demographic_parity_difference", metric="demographic_parity_difference",
    ...               feature_set=("sex",), value=0.04, ci_low=0.01, ci_high=0.07,
    ...               threshold=0.1, passed=True, status="pass")
    >>> d.passed, d.is_ratio
    (True, False)
    """

    name: str
    metric: str
    feature_set: tuple[str, ...] = attrs.field(converter=_tuple)
    value: float | None = attrs.field(converter=finite_or_none)
    ci_low: float | None = attrs.field(converter=finite_or_none)
    ci_high: float | None = attrs.field(converter=finite_or_none)
    threshold: float | None = attrs.field(converter=finite_or_none)
    passed: bool | None
    status: Status = attrs.field(converter=as_status)
    reason: str = ""
    lowest_group: str | None = None
    highest_group: str | None = None
    n_undefined: int = 0

    @property
    def is_ratio(self) -> bool:
        """Whether this is a ratio (1 at parity, smaller is worse)."""
        return self.metric in _RATIOS


# repr=False keeps CheckResult's one-line repr: the generated one printed every record.
@attrs.frozen(kw_only=True, repr=False)
class BiasResult(CheckResult):
    """A :class:`CheckResult` with ``disparities`` and ``groups`` by key.

    Keys of ``disparities`` are metric names (``"demographic_parity_difference"``) when
    there is one feature set. With several, each is ``"<feature set>:<metric>"`` with the
    feature set's names joined by ``&`` (``"sex:equalized_odds_difference"``,
    ``"sex&age:equalized_odds_difference"``), and the plain metric name holds the worst
    feature set's disparity: the one of worst ``status`` (error, fail, warn, skip, pass),
    among those the one furthest from parity in the quantity the gate judges (the
    estimate; with ``gate="interval"`` the upper bound of a difference, the lower bound
    of a ratio; one that cannot be computed first). So it fails whenever a feature set
    fails that metric; its ``feature_set`` says which. Keys of ``groups`` are the group's
    label (``"F"``) for one feature set, ``"sex=F"`` and ``"sex=F&age=young"`` for
    several.

    Examples
    --------
    >>> from modelship.checks import BiasResult
    >>> BiasResult(name="bias", status="pass").disparities
    {}

    Its repr is one line, as every :class:`CheckResult`'s:

    >>> BiasResult(name="bias", status="fail", reason="disparities over their thresholds")
    <CheckResult 'bias' fail: disparities over their thresholds>
    """

    result_type: ClassVar[str] = "bias"

    # Records, not plain dicts: to_dict reads their fields (a result built by hand from a
    # stored report with dicts in place of records is refused here, naming the entry).
    _parameter_constraints: ClassVar[Constraints] = {
        **CheckResult._parameter_constraints,
        "disparities": MappingOf(Disparity),
        "groups": MappingOf(GroupMetrics),
    }

    disparities: Mapping[str, Disparity] = attrs.field(factory=dict)
    groups: Mapping[str, GroupMetrics] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The :class:`CheckResult` dict plus ``disparities`` and ``groups``.

        Examples
        --------
        >>> from modelship.checks import BiasResult
        >>> sorted(BiasResult(name="bias", status="pass").to_dict())[:3]
        ['columns', 'details', 'disparities']
        """
        data = super().to_dict()
        data["disparities"] = {k: jsonable(attrs.asdict(v)) for k, v in self.disparities.items()}
        data["groups"] = {k: jsonable(attrs.asdict(v)) for k, v in self.groups.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BiasResult:
        """Rebuild a result from :meth:`to_dict` output.

        Examples
        --------
        >>> from modelship.checks import BiasResult
        >>> result = BiasResult(name="bias", status="pass")
        >>> BiasResult.from_dict(result.to_dict()) == result
        True

        Raises
        ------
        ConfigError
            When the document is malformed: a field missing, or of the wrong type or value.
        """
        with malformed("bias result", "write it with BiasResult.to_dict"):
            base = CheckResult.from_dict(data)
            disparities = {
                key: read_record(Disparity, value)
                for key, value in object_field(data, "disparities").items()
            }
            groups = {
                key: record_from_dict(GroupMetrics, value)
                for key, value in object_field(data, "groups").items()
            }
        fields = {field.name: getattr(base, field.name) for field in attrs.fields(CheckResult)}
        return cls(**fields, disparities=disparities, groups=groups)


def _thresholds(value: Mapping[str, float | None] | None) -> dict[str, float | None]:
    # Validated by _parameter_constraints before this runs.
    return {
        str(name): None if threshold is None else float(threshold)
        for name, threshold in (value or {}).items()
    }


def _features(sensitive: Any) -> dict[str, RawColumn]:
    """``{name: 1-D array}`` of an array, a table's columns, or a mapping; text from
    pandas, polars or arrow as its codes (see ``raw_columns(encode=True)``)."""
    if isinstance(sensitive, (str, bytes)):
        # Bias takes no table to look a name up in: sensitive="sex" was "a 1-D or 2-D
        # array, got 0 dimensions", which said nothing of what to pass.
        column = f"X[{brief(sensitive)}]" if isinstance(sensitive, str) else "X['sex']"
        raise CheckInputError(
            f"sensitive is the text {brief(sensitive)}, not a column: Bias has no table to "
            f"look a name up in; pass the column itself ({column}, one value per row), or "
            "several as a mapping or a data frame ({'sex': X['sex'], 'age': X['age']}, "
            "X[['sex', 'age']])"
        )
    if isinstance(sensitive, Mapping):
        return raw_columns(sensitive, what="sensitive", encode=True)
    named = isinstance(sensitive, np.ndarray) and sensitive.dtype.names is not None
    if named or hasattr(sensitive, "columns") or hasattr(sensitive, "column_names"):
        return raw_columns(sensitive, what="sensitive", encode=True)
    name = getattr(sensitive, "name", None)
    key = str(name) if isinstance(name, str) and name else "sensitive"
    encoded = encoded_column(sensitive)
    if encoded is not None:  # a pandas, polars or arrow column: one feature
        return {key: encoded}
    array = column_array(sensitive, "sensitive")
    if array.ndim == 1:
        return {key: array}
    return raw_columns(array, what="sensitive", encode=True)


def _labels(values: Any, what: str, *, check: bool) -> npt.NDArray[Any]:
    """0/1 labels: checked by :func:`~.stats._fairness.binary_labels` when ``check`` is set
    or their type is not integer or boolean (then converted), else left to the counting."""
    array = column_array(values, what)
    if not check and array.ndim == 1 and array.dtype.kind in "iub":
        return array
    try:
        return sf.binary_labels(array, what)
    except CheckInputError as exc:
        missing = _missing_labels(array, what)
        if missing is not None:
            raise CheckInputError(missing) from None
        if what == "y_pred":
            raise CheckInputError(f"{exc}; for scores, pass threshold=") from None
        raise


_BIAS_INPUTS = "y_true, y_pred and sensitive"


def _missing_labels(array: npt.NDArray[Any], what: str) -> str | None:
    """Why 0/1 labels ``what`` with missing values (a pandas ``Int64`` column's NA, NaN,
    ``None``) are refused, naming the first rows, or ``None`` when none is missing. Read
    only once the labels were refused: "got 30 other values such as ['nan']; map the
    labels to 0/1 first" sent the user to map labels that were not there.

    >>> print(_missing_labels(np.array([0.0, np.nan, 1.0]), "y_true"))
    y_true has 1 missing value (NaN, NA): drop the rows without a label from y_true,
    y_pred and sensitive alike (keep = y_true.notna()); missing at position 1 (counted
    from 0)
    >>> print(_missing_labels(np.array(["yes", None, "no"], dtype=object), "y_true"))
    y_true has 1 missing value (NaN, NA): drop the rows without a label from y_true,
    y_pred and sensitive alike (keep = y_true.notna()); missing at position 1 (counted
    from 0); and 2 other values such as ['no', 'yes']: map them to 0/1 (positive = 1)
    """
    if array.ndim != 1:
        return None
    if array.dtype.kind == "f":
        absent = np.isnan(array)
    elif array.dtype.kind == "O":
        absent = np.fromiter((is_missing(v) for v in array.tolist()), bool, len(array))
    else:
        return None
    if not absent.any():
        return None
    count = int(absent.sum())
    thing = "a label" if what == "y_true" else "a prediction"
    message = (
        f"{what} has {count} missing value{'s' if count != 1 else ''} (NaN, NA): drop the "
        f"rows without {thing} from {_BIAS_INPUTS} alike (keep = {what}.notna()); missing "
        f"{positions(absent)}"
    )
    # Said in the same message: naming the missing values alone sent the user, once they
    # had dropped them, into a second refusal ("map the labels to 0/1").
    present = array[~absent]
    if present.dtype.kind == "f":
        outside = ~((present == 0) | (present == 1))
    else:
        outside = np.fromiter((not sf.is_zero_one(v) for v in present.tolist()), bool, len(present))
    if outside.any():
        shown = sorted({sf.group_label(v) for v in present[outside][:1000].tolist()})[:5]
        message += (
            f"; and {int(outside.sum())} other value{'s' if outside.sum() != 1 else ''} "
            f"such as {shown}: map them to 0/1 (positive = 1)"
        )
    return message


def positions(rows: npt.NDArray[np.bool_], shown: int = 5) -> str:
    """Where ``rows`` is set: the first ``shown`` positions, counted from 0, and how many
    more (a message that names a count alone leaves the user to search for the rows).

    >>> positions(np.array([False, True, True]))
    'at positions 1, 2 (counted from 0)'
    >>> positions(np.arange(10) % 2 == 0, shown=2)
    'at positions 0, 2 and 3 more (counted from 0)'
    """
    found = np.flatnonzero(rows)
    named = ", ".join(str(int(i)) for i in found[:shown])
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return f"at position{'s' if len(found) != 1 else ''} {named}{more} (counted from 0)"


def non_finite(values: npt.NDArray[np.float64], what: str, fix: str) -> str:
    """Why ``values`` (``what``), numbers with a NaN, NA or infinite value, are refused:
    how many of each, the first positions, and ``fix`` (what to do about them).

    >>> print(non_finite(np.array([0.5, np.nan, np.inf]), "y_pred (scores)", "drop them"))
    y_pred (scores) has 2 non-finite values (1 missing: NaN or NA; 1 infinite) at
    positions 1, 2 (counted from 0): drop them
    """
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    missing = int(np.isnan(values).sum())
    if missing == count:
        kinds = "missing: NaN or NA"
    elif not missing:
        kinds = "infinite"
    else:
        kinds = f"{missing} missing: NaN or NA; {count - missing} infinite"
    return (
        f"{what} has {count} non-finite value{'s' if count != 1 else ''} ({kinds}) "
        f"{positions(bad)}: {fix}"
    )


def _real(values: Any, what: str) -> npt.NDArray[np.float64]:
    array = column_array(values, what)
    if array.ndim != 1 or array.dtype.kind not in "iufb":
        raise CheckInputError(f"{what} must be a 1-D array of numbers")
    result = array.astype(np.float64, copy=False)
    if not np.isfinite(result).all():
        fix = (
            f"drop the rows without a target from {_BIAS_INPUTS} alike"
            if what == "y_true"
            else f"drop the rows without a {'score' if '(scores)' in what else 'prediction'} "
            f"from {_BIAS_INPUTS} alike, or give them one"
        )
        raise CheckInputError(non_finite(result, what, fix))
    return result


@attrs.frozen
class _FeatureSet:
    names: tuple[str, ...]
    labels: tuple[str, ...]  # group keys as shown in results
    table: npt.NDArray[Any]  # (G, 4) counts or (G, 5) regression sums, empty groups dropped
    # Per name: whether its column holds numbers (not text, bools or categories), and how
    # many of its values have rows; what to do with too few large groups depends on both.
    numeric: tuple[bool, ...]
    distinct: tuple[int, ...]
    reference: str | None = None  # the reference group's key, in the feature set it is of

    @property
    def key(self) -> str:
        return "&".join(self.names)


@attrs.frozen(kw_only=True)
class Bias:
    """Does the model treat a group of people worse than the rules allow?

    Computes per-group metrics for every sensitive feature alone and, with several, for
    their intersection (``sex x age band``), then each disparity between the groups with a
    seeded, group-stratified bootstrap interval (the count table of each group is redrawn,
    1,000 times by default, in vectorised calls whose memory is bounded whatever the
    number of groups). Definitions follow Fairlearn (and AIF360 for ``disparate_impact``);
    the docs page *Bias and degradation* gives each formula.

    A disparity passes when its estimate is within its threshold (difference at or below,
    ratio at or above), or with ``gate="interval"`` when the whole interval is: the upper
    bound of a difference, the lower bound of a ratio. Both allow for rounding (8 units
    in the last place of the rates' magnitude, 1.8e-15 at 1): a difference of exactly
    1/10 passes 0.1, a ratio of exactly 4/5 passes the four-fifths rule. The check fails
    when a gated disparity fails, and is an ``error`` when a gated disparity cannot be
    computed (a group without positives has no true positive rate): the reason names the
    group. A disparity without a threshold that cannot be computed is reported (``skip``,
    with the reason) and changes nothing.

    Parameters
    ----------
    y_true : array-like
        True labels, 0 or 1 (positive = 1); real values for ``task="regression"``.
    y_pred : array-like
        Predicted labels 0/1, or scores when ``threshold`` is given (label = score >=
        threshold); real predictions for regression.
    sensitive
        One feature (a 1-D array or a named series), several (a mapping ``name -> array``,
        a pandas/polars data frame, a pyarrow table, a structured array).
    threshold : float, optional
        Turns scores in ``y_pred`` into labels.
    task : {"classification", "regression"}
    thresholds : mapping, optional
        Per metric, the threshold replacing ``DEFAULT_BIAS_THRESHOLDS`` (``None``: report
        without gating), as a share (0.1 for 10 %): a difference must be below 1 and a
        ratio's threshold in (0, 1]. Regression has no defaults: give
        ``mean_prediction_difference`` or ``mean_error_difference`` (in units of the
        target, unbounded).
    four_fifths : bool
        Gate ``disparate_impact`` at 0.8, the US employment-law rule of thumb. Off by
        default: it is a legal screen for selection procedures, not a statistical test.
        With a ``disparate_impact`` threshold in ``thresholds`` other than 0.8 (``None``
        included) it is a ``ConfigError``: give one or the other.
    reference_group : str, optional
        The group ``disparate_impact`` divides by (AIF360's privileged group); default
        the group with the highest selection rate (a min/max ratio). Name it as a group
        key ``"feature=value"`` (``"sex=F"``), used for that feature only, or by its bare
        value (``"F"``) when that is a group of exactly one sensitive feature. It must be a
        group with rows, else :meth:`run` raises ``ConfigError``, as it does for a bare
        value that is a group of several features (the message lists their keys). With a
        reference, ``disparate_impact``'s ``lowest_group`` is the group of the lowest ratio
        and its ``highest_group`` the reference: the pair the ratio reads. With
        ``task="regression"`` it is a ``ConfigError``: regression has no ratio.
    intersections : bool
        With several features, also judge their intersection (default ``True``).
    gate : {"estimate", "interval"}
        Judge the point estimate, or require the whole interval within the threshold.
        Under ``"interval"`` a gated disparity the bootstrap cannot bound is an ``error``:
        more than 10 % of resamples without a value, or a group's rate of exactly 0 or 1
        on fewer than 30 rows of its denominator (6 of 6 positives).
    confidence : float
        Two-sided confidence of the bootstrap intervals (0.95).
    n_resamples : int
        Bootstrap resamples (1000), at most 1,000,000 (each is kept in memory); ``seed``
        makes them reproducible.
    min_group_size : int
        Groups with fewer rows (30) are left out of the disparities and reported as
        skipped with the reason.
    small_groups : {"skip", "warn", "fail", "ignore"}
        What a small group does to the verdict: nothing (``skip``), ``warn``, ``fail``; or
        ``ignore`` the size rule and keep small groups in the disparities.
    severity : Severity or str
    name : str

    Raises
    ------
    ConfigError
        At construction, for a setting outside what is allowed: among them a threshold
        that could never fail (1 or more for a difference, such as 10 meant as 10 %; 0
        for a ratio) or never pass short of exact parity (above 1 for a ratio);
        ``four_fifths`` with another ``disparate_impact`` threshold; ``threshold``,
        ``four_fifths`` or ``reference_group`` with ``task="regression"``.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import Bias
    >>> rng = np.random.default_rng(0)
    >>> sex = rng.choice(["F", "M"], 4000)
    >>> y = rng.integers(0, 2, 4000)
    >>> y_pred = np.where(rng.random(4000) < 0.85, y, 1 - y)   # same quality for everyone
    >>> result = Bias(y_true=y, y_pred=y_pred, sensitive=sex).run()
    >>> result.status.value
    'pass'
    >>> d = result.disparities["demographic_parity_difference"]
    >>> d.value < d.threshold, d.ci_low <= d.value <= d.ci_high
    (True, True)
    >>> result.groups["F"].count + result.groups["M"].count
    4000
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "threshold": (None, Interval(float, None, None)),
        "task": Options(("classification", "regression")),
        "thresholds": (None, MappingOf(None, Interval(float, 0, None))),
        "four_fifths": bool,
        "intersections": bool,
        "gate": Options(("estimate", "interval")),
        "confidence": Interval(float, 0, 1, closed="neither"),
        "n_resamples": RESAMPLES,
        "seed": Interval(int, 0, None),
        "min_group_size": Interval(int, 1, None),
        "small_groups": Options(("skip", "warn", "fail", "ignore")),
        "severity": Options(Severity),
        "reference_group": (None, str),
        "name": str,
    }
    __attrs_pre_init__ = check_parameters

    y_true: Any = attrs.field(repr=False)
    y_pred: Any = attrs.field(repr=False)
    sensitive: Any = attrs.field(repr=False)
    threshold: float | None = None
    task: Task = "classification"
    thresholds: Mapping[str, float | None] = attrs.field(default=None, converter=_thresholds)
    four_fifths: bool = False
    reference_group: str | None = None
    intersections: bool = True
    gate: Gate = "estimate"
    confidence: float = 0.95
    n_resamples: int = 1000
    seed: int = 0
    min_group_size: int = 30
    small_groups: SmallGroups = "skip"
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)
    name: str = "bias"

    def __attrs_post_init__(self) -> None:
        known = (
            sf.CLASSIFICATION_DISPARITIES
            if self.task == "classification"
            else sf.REGRESSION_DISPARITIES
        )
        unknown = sorted(set(self.thresholds) - set(known))
        if unknown:
            raise ConfigError(
                f"`thresholds` names unknown {self.task} disparities {unknown}; "
                f"known: {list(known)}"
            )
        if self.task == "classification":
            for name, limit in self.thresholds.items():
                if limit is not None:
                    _check_share(name, limit)
        if self.threshold is not None and self.task == "regression":
            raise ConfigError("`threshold` turns scores into labels; regression has no labels")
        if self.four_fifths and self.task == "regression":
            raise ConfigError(
                "`four_fifths` gates disparate_impact, a ratio of selection rates; regression "
                "has no selection: gate mean_prediction_difference or mean_error_difference "
                "with `thresholds`"
            )
        given = self.thresholds.get("disparate_impact", FOUR_FIFTHS)
        if self.four_fifths and given != FOUR_FIFTHS:
            # merged.update(thresholds) let the threshold win: None or 0.5 silently turned
            # the documented 0.8 gate off. Which of the two was meant cannot be known.
            raise ConfigError(
                f"four_fifths=True (--four-fifths) gates disparate_impact at {FOUR_FIFTHS}, "
                f"and `thresholds` (--limit) gives it {given!r}: give one of them, "
                "four_fifths for the four-fifths rule or the disparate_impact threshold alone"
            )
        if self.reference_group is not None and self.task == "regression":
            # Regression's disparities are max - min of group means: no ratio divides by a
            # group, so the reference was validated in run() and then ignored.
            raise ConfigError(
                "`reference_group` (--reference-group) is the group disparate_impact, a "
                "ratio of selection rates, divides by; regression has no selection, and "
                "its disparities (max - min of the groups' means) have no reference group: "
                "drop it"
            )
        if not any(value is not None for value in self.gated_thresholds().values()):
            raise ConfigError(
                "no disparity has a threshold, so the check could never fail; give "
                "`thresholds` (regression has no defaults: e.g. {'mean_error_difference': 0.5})"
            )

    def gated_thresholds(self) -> dict[str, float | None]:
        """The threshold of every disparity after defaults, ``thresholds`` and ``four_fifths``.

        Examples
        --------
        >>> from modelship.checks import Bias
        >>> check = Bias(y_true=[0], y_pred=[0], sensitive=["a"], four_fifths=True)
        >>> check.gated_thresholds()["disparate_impact"]
        0.8
        """
        if self.task == "regression":
            merged = dict.fromkeys(sf.REGRESSION_DISPARITIES)
        else:
            merged = dict(DEFAULT_BIAS_THRESHOLDS)
            if self.four_fifths:
                merged["disparate_impact"] = FOUR_FIFTHS
        merged.update(self.thresholds)
        return merged

    # --- inputs ---

    def _inputs(self) -> tuple[Any, Any, dict[str, RawColumn]]:
        check_same_index(
            {"y_true": self.y_true, "y_pred": self.y_pred, "sensitive": self.sensitive}
        )
        features = _features(self.sensitive)
        if self.task == "regression":
            y_true: Any = _real(self.y_true, "y_true")
            y_pred: Any = _real(self.y_pred, "y_pred")
        else:
            # Integer and boolean labels are checked where they are counted (one pass over
            # the rows, see _feature_sets); others are checked and converted here.
            y_true = _labels(self.y_true, "y_true", check=False)
            if self.threshold is not None:
                y_pred = _real(self.y_pred, "y_pred (scores)") >= self.threshold
            else:
                y_pred = _labels(self.y_pred, "y_pred", check=False)
        n = len(y_true)
        lengths = {"y_pred": len(y_pred)} | {
            f"sensitive {k!r}": len(v) for k, v in features.items()
        }
        for what, length in lengths.items():
            if length != n:
                raise CheckInputError(f"{what} has {length} rows but y_true has {n}")
        if n == 0:
            raise CheckInputError("y_true has no rows")
        return y_true, y_pred, features

    def _feature_sets(
        self, y_true: Any, y_pred: Any, features: Mapping[str, Any]
    ) -> list[_FeatureSet]:
        names = list(features)
        fast = None
        only = features[names[0]]
        if self.task == "classification" and len(names) == 1 and isinstance(only, np.ndarray):
            fast = sf.value_confusion_table(only, y_true, y_pred)
        coded: list[tuple[Any, tuple[str, ...]]]
        if fast is not None:
            low = fast[1]
            coded = [(None, tuple(str(low + i) for i in range(len(fast[0]))))]
        else:
            coded = [
                sf.factorize(features[name], what=f"sensitive feature {name!r}", dense=True)
                for name in names
            ]
        sizes = [len(labels) for _, labels in coded]
        regression = self.task == "regression"
        if fast is not None:
            flat, combos = fast[0], None
        else:
            flat, combos = self._count([codes for codes, _ in coded], sizes, y_true, y_pred)
        marginals = (
            [flat]
            if combos is None
            else [sf.group_sums(combos[:, i], sizes[i], flat) for i in range(len(names))]
        )

        def rows(table: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return table[:, 0] if regression else table.sum(axis=1)

        # Labels with rows: dense integer codes also label the values between them.
        present = [
            [coded[i][1][j] for j in np.flatnonzero(rows(marginals[i])).tolist()]
            for i in range(len(names))
        ]
        reference = self._reference(names, present)
        numeric = [
            isinstance(column, np.ndarray) and column.dtype.kind in "iuf"
            for column in (features[name] for name in names)
        ]
        for name, labels in zip(names, present, strict=True):
            if len(labels) < 2:
                raise TooFewGroups(
                    f"sensitive feature {name!r} has a single group "
                    f"{labels[0]!r}: a disparity needs at least two groups"
                )
        several = len(names) > 1
        sets: list[tuple[tuple[int, ...], npt.NDArray[Any], npt.NDArray[np.intp]]] = [
            ((i,), marginals[i], np.arange(sizes[i])[:, None]) for i in range(len(names))
        ]
        if combos is not None and self.intersections:
            sets.append((tuple(range(len(names))), flat, combos))
        out = []
        # Every group key of every feature set, to the (feature, value) pairs it stands for:
        # results hold the groups by key, so two groups under one key would be one.
        seen: dict[str, list[tuple[str, str]]] = {}
        for subset, table, codes in sets:
            keep = np.flatnonzero(rows(table) > 0)
            _check_group_count(len(keep), [names[i] for i in subset])
            keys = []
            for k in keep.tolist():  # bounded: MAX_GROUPS per feature set
                pairs = [
                    (names[i], coded[i][1][j])
                    for i, j in zip(subset, codes[k].tolist(), strict=True)
                ]
                key = "&".join(f"{name}={value}" if several else value for name, value in pairs)
                if several:
                    _check_unclashed(key, pairs, seen)
                keys.append(key)
            ref_key = None
            if reference is not None and subset == (reference[0],):
                ref_key = f"{names[reference[0]]}={reference[1]}" if several else reference[1]
            out.append(
                _FeatureSet(
                    names=tuple(names[i] for i in subset),
                    labels=tuple(keys),
                    table=table[keep],
                    reference=ref_key,
                    numeric=tuple(numeric[i] for i in subset),
                    distinct=tuple(len(present[i]) for i in subset),
                )
            )
        return out

    def _reference(
        self, names: Sequence[str], present: Sequence[Sequence[str]]
    ) -> tuple[int, str] | None:
        """The feature (by index) and group that ``reference_group`` names: a group key
        ``"feature=value"``, or a bare value that is a group of exactly one feature.

        Raises
        ------
        ConfigError
            A group of no feature (the message lists the groups), or a bare value that is
            a group of several features (the message lists their ``feature=value`` keys).
        """
        wanted = self.reference_group
        if wanted is None:
            return None
        qualified = [
            (i, label)
            for i, (name, labels) in enumerate(zip(names, present, strict=True))
            for label in labels
            if wanted == f"{name}={label}"
        ]
        bare = [
            (i, label)
            for i, labels in enumerate(present)
            for label in labels
            if wanted == label and (i, label) not in qualified
        ]
        found = qualified or bare
        if len(found) == 1:
            return found[0]
        if found:
            keys = [f"{names[i]}={label}" for i, label in found]
            raise ConfigError(
                f"`reference_group` {wanted!r} is a group of several sensitive features: "
                f"{keys}; name the one meant as feature=value (reference_group={keys[0]!r})"
            )
        groups = sorted({label for labels in present for label in labels})
        shown = f"{groups[:50]}" + (f" and {len(groups) - 50:,} more" if len(groups) > 50 else "")
        raise ConfigError(
            f"`reference_group` {wanted!r} is not a group of any sensitive feature (name a "
            f"group by its value, or as feature=value with several features); groups: {shown}"
        )

    def _count(
        self, codes: list[Any], sizes: list[int], y_true: Any, y_pred: Any
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp] | None]:
        """The count (or regression) table by group and, with several features, the
        combination of feature codes of each of its rows (only those present)."""
        joint, n_joint, combos = codes[0], sizes[0], None
        if len(codes) > 1:
            joint, combos = sf.combine_codes(codes, sizes)
            n_joint = len(combos)
        if self.task == "regression":
            return sf.regression_table(joint, n_joint, y_true, y_pred), combos
        y_true = _labels(y_true, "y_true", check=True)
        y_pred = _labels(y_pred, "y_pred", check=True)
        return sf.confusion_table(joint, n_joint, y_true, y_pred), combos

    # --- the engine ---

    def run(self) -> BiasResult:
        """Compute every group's metrics and every disparity, and judge them.

        Returns
        -------
        BiasResult
            ``fail`` when a gated disparity fails (or a small group with
            ``small_groups="fail"``), ``error`` when a gated disparity cannot be computed,
            ``warn`` for small groups with ``small_groups="warn"``, else ``pass`` (a
            disparity without a threshold that cannot be computed is named in the reason
            and changes nothing).

        Raises
        ------
        CheckInputError
            Labels outside {0, 1}, lengths that differ, a missing sensitive value
            (``None``, NaN, NaT, a ``StringDType``'s NA).
        TooFewGroups
            A sensitive feature with a single group.
        ConfigError
            A ``reference_group`` that is no group with rows of any sensitive feature
            (the message lists those groups), a bare value that is a group of several
            features (name one as ``"feature=value"``), or a group with fewer than
            ``min_group_size`` rows.

        Examples
        --------
        >>> import numpy as np
        >>> from modelship.checks import Bias
        >>> group = np.repeat(["a", "b"], 100)
        >>> y = np.tile([0, 1], 100)
        >>> y_pred = np.r_[y[:100], np.ones(100, int)]     # group b: everyone selected
        >>> result = Bias(y_true=y, y_pred=y_pred, sensitive=group).run()
        >>> result.status.value, result.disparities["demographic_parity_difference"].value
        ('fail', 0.5)
        """
        y_true, y_pred, features = self._inputs()
        feature_sets = self._feature_sets(y_true, y_pred, features)
        thresholds = self.gated_thresholds()
        several = len(feature_sets) > 1
        disparities: dict[str, Disparity] = {}
        groups: dict[str, GroupMetrics] = {}
        skipped_all: list[str] = []
        for index, fs in enumerate(feature_sets):
            rng = np.random.default_rng([self.seed, index])
            found, kept_groups, skipped = self._judge(fs, thresholds, rng, several)
            disparities.update(found)
            groups.update(kept_groups)
            skipped_all += skipped
        worst = self._worst(disparities, thresholds) if several else {}
        return self._summarise(
            disparities, worst, groups, skipped_all, [fs.key for fs in feature_sets]
        )

    def _judge(  # noqa: PLR0915 - group filtering, rate collection and verdict kept together so the reported reason matches the rule applied
        self,
        fs: _FeatureSet,
        thresholds: Mapping[str, float | None],
        rng: np.random.Generator,
        several: bool,
    ) -> tuple[dict[str, Disparity], dict[str, GroupMetrics], list[str]]:
        regression = self.task == "regression"
        counts = fs.table[:, 0] if regression else fs.table.sum(axis=1)
        small = counts < self.min_group_size
        leave_out = small if self.small_groups != "ignore" else np.zeros_like(small)
        point_rates = sf.regression_means(fs.table) if regression else sf.group_rates(fs.table)
        groups: dict[str, GroupMetrics] = {}
        skipped: list[str] = []
        # Python lists: one conversion per metric, not one numpy scalar per group and metric.
        per_group = {
            key: point_rates[key].tolist()
            for key in (("mean_prediction", "mean_error") if regression else _GROUP_RATES)
        }
        sizes, is_small, is_left_out = counts.tolist(), small.tolist(), leave_out.tolist()
        for g, label in enumerate(fs.labels):  # bounded: one record per group
            reason = ""
            if is_small[g]:
                verb = "kept (small_groups='ignore')" if not is_left_out[g] else "skipped"
                reason = f"{int(sizes[g])} rows < min_group_size {self.min_group_size}: {verb}"
                if is_left_out[g]:
                    skipped.append(label)
            groups[label] = GroupMetrics(
                label=label,
                feature_set=fs.names,
                count=int(sizes[g]),
                skipped=bool(is_left_out[g]),
                reason=reason,
                **{key: values[g] for key, values in per_group.items()},
            )
        kept = np.flatnonzero(~leave_out)
        prefix = f"{fs.key}:" if several else ""
        names = sf.REGRESSION_DISPARITIES if regression else sf.CLASSIFICATION_DISPARITIES
        if len(kept) < 2:
            left_out = np.flatnonzero(leave_out)
            shown = [fs.labels[g] for g in left_out[:5].tolist()]
            more = f" and {len(left_out) - 5:,} more" if len(left_out) > 5 else ""
            reason = (
                f"feature set {fs.key!r} has {len(kept)} group(s) of at least "
                f"{self.min_group_size} rows ({len(left_out):,} skipped: {shown}{more}); "
                f"a disparity needs two: {_too_few_remedy(fs, counts)}"
            )
            return (
                {
                    prefix + name: self._error(prefix + name, name, fs, thresholds[name], reason)
                    for name in names
                },
                groups,
                skipped,
            )
        table = fs.table[kept]
        labels = [fs.labels[g] for g in kept]
        reference = None
        if fs.reference is not None and not regression:
            if fs.reference in labels:
                reference = labels.index(fs.reference)
            else:
                raise ConfigError(
                    f"`reference_group` {self.reference_group!r} has fewer than "
                    f"min_group_size={self.min_group_size} rows, so it cannot be the reference"
                )
        if regression:
            rates = sf.regression_means(table)
            point = sf.regression_disparities(rates)
            resampled = sf.bootstrap_regression_disparities(table, self.n_resamples, rng)
        else:
            rates = point_rates if len(kept) == len(fs.table) else sf.group_rates(table)
            point = sf.disparities(rates, reference=reference)
            resampled = sf.bootstrap_disparities(table, self.n_resamples, rng, reference=reference)
        estimates = sf.estimate_disparities(point, resampled, confidence=self.confidence)
        found = {}
        for name in names:
            key = prefix + name
            estimate = estimates[name]
            if not math.isfinite(estimate.value):
                undefined = {
                    rate: [labels[g] for g in np.flatnonzero(~np.isfinite(rates[rate]))]
                    for rate in sf.RATES_USED[name]
                }
                reference_label = None if reference is None else labels[reference]
                reason = _undefined_reason(name, undefined, reference_label)
                found[key] = self._error(key, name, fs, thresholds[name], reason)
                continue
            found[key] = self._disparity(
                key,
                name,
                fs=fs,
                estimate=estimate,
                threshold=thresholds[name],
                rates=rates,
                labels=labels,
                reference=reference,
                table=None if regression else table,
            )
        return found, groups, skipped

    def _error(
        self, key: str, metric: str, fs: _FeatureSet, threshold: float | None, reason: str
    ) -> Disparity:
        return Disparity(
            name=key,
            metric=metric,
            feature_set=fs.names,
            value=None,
            ci_low=None,
            ci_high=None,
            threshold=threshold,
            passed=None,
            # Not gated: reported as not judged, and the check's verdict is left alone.
            status=Status.ERROR if threshold is not None else Status.SKIP,
            reason=reason,
        )

    def _disparity(  # noqa: PLR0913 - keyword-only pieces of one disparity estimate, all computed by the caller
        self,
        key: str,
        metric: str,
        *,
        fs: _FeatureSet,
        estimate: sf.DisparityEstimate,
        threshold: float | None,
        rates: Mapping[str, Any],
        labels: Sequence[str],
        reference: int | None = None,
        table: npt.NDArray[np.int64] | None = None,
    ) -> Disparity:
        ratio = metric in _RATIOS
        rate = _driving_rate(metric, rates)
        lowest, highest = labels[int(np.argmin(rate))], labels[int(np.argmax(rate))]
        if reference is not None and metric == "disparate_impact":
            # The ratio reads the lowest of the other groups' rates over the reference's.
            others = np.delete(np.arange(len(labels)), reference)
            lowest = labels[int(others[np.argmin(rate[others])])]
            highest = labels[reference]
        interval = f"{estimate.value:.3g} [{estimate.ci_low:.3g}, {estimate.ci_high:.3g}]"
        unbounded = ""
        if threshold is None:
            passed, status, reason = None, Status.PASS, f"{interval}; not gated (no threshold)"
        else:
            if self.gate == "interval":
                judged = estimate.ci_low if ratio else estimate.ci_high
                what = "lower bound" if ratio else "upper bound"
            else:
                judged, what = estimate.value, "estimate"
            if not math.isfinite(judged):
                passed, status = None, Status.ERROR
                reason = f"{interval}: no bootstrap resample gave a value, so the {what} is unknown"
            else:
                # Rates of the kept groups: all finite, since the estimate is.
                scale = max(abs(judged), threshold, float(np.abs(rate).max(initial=0.0)))
                slack = ROUNDING_TOLERANCE * scale
                passed = judged >= threshold - slack if ratio else judged <= threshold + slack
                status = Status.PASS if passed else Status.FAIL
                sign = (">=" if passed else "<") if ratio else ("<=" if passed else ">")
                shown, limit = _shown(judged, threshold, passed=passed, ratio=ratio)
                reason = f"{interval}: {what} {shown} {sign} {limit}"
                # Only a pass needs an interval that bounds the disparity: one the bootstrap
                # cannot bound is not judged. A fail stands (the interval gate passes only
                # what the data show small; a disparity they cannot bound is not shown so).
                unbounded = self._unbounded(metric, estimate, table, labels) if passed else ""
                if unbounded:
                    passed, status = None, Status.ERROR
                    reason = f"{interval}: not judged: {unbounded}"
        if rate.size and not passed and passed is not None:
            referenced = reference is not None and metric == "disparate_impact"
            top = "reference" if referenced else "highest"
            reason += f"; lowest {lowest!r}, {top} {highest!r}"
        if estimate.n_undefined and not (unbounded and "gave no value" in unbounded):
            reason += f"; {estimate.n_undefined} resamples undefined"
        return Disparity(
            name=key,
            metric=metric,
            feature_set=fs.names,
            value=estimate.value,
            ci_low=estimate.ci_low,
            ci_high=estimate.ci_high,
            threshold=threshold,
            passed=passed,
            status=status,
            reason=reason,
            lowest_group=lowest,
            highest_group=highest,
            n_undefined=estimate.n_undefined,
        )

    def _unbounded(
        self,
        metric: str,
        estimate: sf.DisparityEstimate,
        table: npt.NDArray[np.int64] | None,
        labels: Sequence[str],
    ) -> str:
        """Why ``gate="interval"`` cannot judge this disparity, or ``""``: too many
        resamples without a value (more than Degradation's ``MAX_UNDEFINED_SHARE``), or a
        group's rate of exactly 0 or 1 on fewer than ``_FEW_FOR_EXTREME_RATE`` rows of its
        denominator. Each names the group(s) and what to do."""
        if self.gate != "interval" or table is None:
            return ""
        counts = sf.rate_counts(table)
        rows = table.sum(axis=1)
        used = [rate for rate in sf.RATES_USED[metric] if rate in counts]
        found = []
        if estimate.n_undefined > MAX_UNDEFINED_SHARE * self.n_resamples:
            # The groups most likely to draw no row of a rate's denominator in a resample.
            chance = []
            for rate in used:
                d = counts[rate][1]
                for g in np.flatnonzero((d > 0) & (d < rows)).tolist():
                    p = (1.0 - d[g] / rows[g]) ** rows[g]
                    text = f"{labels[g]!r} ({d[g]} {_DENOMINATORS[rate]} in {rows[g]} rows)"
                    chance.append((float(p), text))
            chance.sort(key=lambda c: -c[0])
            likely = [text for p, text in chance[:3] if p * self.n_resamples >= 1] or [
                text for _, text in chance[:1]
            ]
            # A ratio over a reference group is undefined when the reference draws none of
            # its rate's numerator (no row selected): no denominator names it.
            why = (
                f"a group drew none of a rate's denominator (most likely {', '.join(likely)})"
                if likely
                else "a group drew no row a rate or ratio needs (a reference group selecting "
                "few rows draws none selected)"
            )
            found.append(
                f"{estimate.n_undefined} of {self.n_resamples} bootstrap resamples "
                f"({estimate.n_undefined / self.n_resamples:.0%}, more than "
                f"{MAX_UNDEFINED_SHARE:.0%}) gave no value, as {why}, so the interval "
                "would describe only the others; add rows to that group, or use "
                "gate='estimate'"
            )
        extreme = []
        for rate in used:
            k, d = counts[rate]
            few = (d > 0) & (d < _FEW_FOR_EXTREME_RATE) & ((k == 0) | (k == d))
            extreme += [
                f"{rate} of {labels[g]!r} is {k[g]} of {d[g]} {_DENOMINATORS[rate]}"
                for g in np.flatnonzero(few).tolist()
            ]
        if extreme:
            more = f" and {len(extreme) - 3} more" if len(extreme) > 3 else ""
            found.append(
                f"{', '.join(extreme[:3])}{more}: a rate of exactly 0 or 1 on fewer than "
                f"{_FEW_FOR_EXTREME_RATE} rows of its denominator has no spread in the "
                "bootstrap, so the interval cannot bound the disparity; add rows to that "
                f"group (at least {_FEW_FOR_EXTREME_RATE} of the denominator), or use "
                "gate='estimate'"
            )
        return "; ".join(found)

    def _worst(
        self, found: Mapping[str, Disparity], thresholds: Mapping[str, float | None]
    ) -> dict[str, Disparity]:
        """The plain metric name: the worst feature set, by status (error, fail, warn,
        skip, pass), then by the quantity the gate judges (an unknown one is worst)."""

        def badness(d: Disparity) -> tuple[int, float]:
            judged = self._judged(d)
            if judged is None:
                return (d.status.rank(), math.inf)
            return (d.status.rank(), -judged if d.is_ratio else judged)

        out = {}
        for metric in thresholds:
            candidates = [d for d in found.values() if d.metric == metric]
            if not candidates:
                continue
            worst = max(candidates, key=badness)
            out[metric] = attrs.evolve(
                worst,
                name=metric,
                reason=f"worst of feature sets: {worst.reason} ({'&'.join(worst.feature_set)})",
            )
        return out

    def _judged(self, d: Disparity) -> float | None:
        """The quantity the gate judges: the estimate; with ``gate="interval"`` the upper
        bound of a difference, the lower bound of a ratio."""
        if self.gate == "estimate":
            return d.value
        return d.ci_low if d.is_ratio else d.ci_high

    def _excess(self, d: Disparity) -> float:
        """How far a disparity is past its threshold, as a share of what the threshold
        allows: the distance from parity of the quantity the gate judges (a difference
        itself, 1 minus a ratio), less the allowed distance (the threshold of a
        difference, 1 minus that of a ratio), over the allowed distance. A difference of
        0.3 against 0.1 is 2 (200% past); a ratio of 0.6 against 0.8 is 1 (the 0.4 from
        parity is twice the 0.2 allowed). One that cannot be judged, or whose allowance is
        0, is furthest."""
        judged = self._judged(d)
        if judged is None or d.threshold is None:
            return math.inf
        distance, allowed = (1 - judged, 1 - d.threshold) if d.is_ratio else (judged, d.threshold)
        return (distance - allowed) / allowed if allowed > 0 else math.inf

    def _summarise(
        self,
        per_set: Mapping[str, Disparity],
        worst: Mapping[str, Disparity],
        groups: Mapping[str, GroupMetrics],
        skipped: list[str],
        feature_sets: list[str],
    ) -> BiasResult:
        disparities = {**worst, **per_set}
        gated = [d for d in per_set.values() if d.threshold is not None]
        errors = [d for d in gated if d.status is Status.ERROR]
        failed = [d for d in gated if d.status is Status.FAIL]
        undefined = [d for d in per_set.values() if d.threshold is None and d.value is None]
        failed.sort(key=self._excess, reverse=True)
        over = "disparities over their thresholds: " + first_of(
            [f"{d.name} {d.reason}" for d in failed], 3
        )
        if errors:
            status = Status.ERROR
            reason = first_of([f"{d.name}: {d.reason}" for d in errors], 3)
            # The failures too: fixing the error should not be the way to learn of them.
            if failed:
                reason += f"; also failing: {over}"
        elif failed:
            status = Status.FAIL
            reason = over
        else:
            status = Status.PASS
            reason = f"{len(gated)} gated disparities within their thresholds"
            if undefined:
                reason += f"; undefined (not gated): {[d.name for d in undefined]}"
        if skipped:
            note = f"{len(skipped)} groups under {self.min_group_size} rows skipped: {skipped[:5]}"
            reason += f"; {note}"
            if self.small_groups == "fail" and status in (Status.PASS, Status.WARN):
                status = Status.FAIL
                reason += " (small_groups='fail')"
            elif self.small_groups == "warn" and status is Status.PASS:
                status = Status.WARN
        columns = [
            ColumnResult(
                name=d.name,
                status=d.status,
                reason=d.reason,
                method=d.metric,
                statistic=d.value,
                threshold=d.threshold,
                details={
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "feature_set": list(d.feature_set),
                    "passed": d.passed,
                },
            )
            for d in disparities.values()
        ]
        return BiasResult(
            name=self.name,
            status=status,
            severity=self.severity,
            reason=reason,
            columns=columns,
            details={
                "task": self.task,
                "feature_sets": feature_sets,
                "skipped_groups": skipped,
                "gate": self.gate,
                "confidence": self.confidence,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
                "min_group_size": self.min_group_size,
                "small_groups": self.small_groups,
            },
            disparities=dict(disparities),
            groups=dict(groups),
        )


def _check_unclashed(
    key: str, pairs: list[tuple[str, str]], seen: dict[str, list[tuple[str, str]]]
) -> None:
    """Record the group ``key`` of the (feature, value) ``pairs``, or raise when another
    group already has it: keys join ``feature=value`` with ``&``, so a value holding
    ``&`` or ``=`` may read as another group (``a="x&b=y"`` and the intersection
    ``a="x"``, ``b="y"`` are both ``a=x&b=y``). Values holding them that clash with no
    other group ("R&D") keep their keys.

    Examples
    --------
    >>> seen = {}
    >>> _check_unclashed("a=x&b=y", [("a", "x&b=y")], seen)
    >>> _check_unclashed("a=x&b=y", [("a", "x"), ("b", "y")], seen)
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: two groups read as one key 'a=x&b=y': ...
    """
    other = seen.setdefault(key, pairs)
    if other is not pairs:

        def described(group: list[tuple[str, str]]) -> str:
            return ", ".join(f"{name}={value!r}" for name, value in group)

        crossed = len(other) > 1 or len(pairs) > 1  # one is a group of the intersection
        raise CheckInputError(
            f"two groups read as one key {key!r}: ({described(other)}) and "
            f"({described(pairs)}); group keys join feature=value with '&', so rename the "
            "values (or features) holding '&' or '=' that make them alike"
            + (" (or pass intersections=False)" if crossed else "")
        )


def _shown(judged: float, threshold: float, *, passed: bool, ratio: bool) -> tuple[str, str]:
    """``judged`` and ``threshold`` as text, with 3 significant digits or as many more as
    it takes for the texts to compare as the gate decided (never "0.1 > 0.1").

    Examples
    --------
    >>> _shown(0.10000000000000003, 0.1, passed=True, ratio=False)
    ('0.1', '0.1')
    >>> _shown(0.1000004, 0.1, passed=False, ratio=False)
    ('0.1000004', '0.1')
    """
    for digits in range(3, 18):  # bounded: 17 significant digits tell any two floats apart
        shown, limit = f"{judged:.{digits}g}", f"{threshold:.{digits}g}"
        low, high = (limit, shown) if ratio else (shown, limit)
        if (float(low) <= float(high)) == passed:
            return shown, limit
    return repr(judged), repr(threshold)


def first_of(parts: Sequence[str], shown: int) -> str:
    """The first ``shown`` parts joined by "; ", saying how many more were left out
    (a one-line reason that names every part would be unreadable; one that drops some
    silently misleads).

    >>> first_of(["a", "b", "c"], 2)
    'a; b; and 1 more'
    """
    more = [f"and {len(parts) - shown} more"] if len(parts) > shown else []
    return "; ".join([*parts[:shown], *more])


def _driving_rate(metric: str, rates: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """The group rate that sets ``metric``'s value, to name its lowest and highest groups.

    Equalized odds reads two rates (TPR and FPR) and takes the larger gap (the smaller
    ratio); the groups named are those of that rate. On a tie, the first rate (TPR).
    """
    used = [np.asarray(rates[name], dtype=np.float64) for name in sf.RATES_USED[metric]]
    if len(used) == 1:
        return used[0]

    def gap(rate: npt.NDArray[np.float64]) -> float:
        low, high = float(rate.min()), float(rate.max())
        if metric in _RATIOS:
            return -(1.0 if high == 0 else low / high)
        return high - low

    return max(used, key=gap)


# The groups named where a rate has no value, of however many.
_NAMED = 5

# Why a group's rate has no value: its denominator is 0 there.
_NO_DENOMINATOR = {
    "selection_rate": "no rows",
    "true_positive_rate": "no positives",
    "false_positive_rate": "no negatives",
    "precision": "nothing predicted positive",
    "mean_prediction": "no rows",
    "mean_error": "no rows",
}


def _undefined_reason(
    metric: str, undefined: Mapping[str, Sequence[str]], reference: str | None
) -> str:
    """Why ``metric`` has no value: each of its rates with the groups where that rate has
    none (``undefined``: rate to groups), or a zero reference rate.

    Examples
    --------
    >>> print(_undefined_reason(
    ...     "equalized_odds_difference",
    ...     {"true_positive_rate": [], "false_positive_rate": ["-5"]},
    ...     None,
    ... ).split(": ")[1])
    false positive rate has no value for ['-5'] (no negatives there)
    """
    # The first groups of each rate, with how many more: one of thousands of groups per
    # rate would make the reason (and the check's, which quotes it) thousands long.
    missing = [
        f"{rate.replace('_', ' ')} has no value for {list(groups[:_NAMED])}"
        + (f" and {len(groups) - _NAMED:,} more" if len(groups) > _NAMED else "")
        + f" ({_NO_DENOMINATOR.get(rate, 'no rows')} there)"
        for rate, groups in undefined.items()
        if groups
    ]
    if missing:
        return f"{metric} is undefined: " + "; ".join(missing)
    what = " and ".join(sf.RATES_USED[metric]).replace("_", " ")
    if reference is not None:  # every rate is there: a ratio to a zero rate
        return (
            f"{metric} is undefined: the reference group {reference!r} has {what} 0 while "
            "other groups do not, so the ratio divides by zero; choose another "
            "reference_group or drop it to compare min with max"
        )
    return f"{metric} is undefined on these groups' {what}"


def _check_share(name: str, limit: float) -> None:
    """Refuse a threshold of a classification disparity that makes its gate meaningless.

    A difference of rates is in [0, 1] and passes at or below its threshold, so a
    threshold of 1 or more could never fail (``10`` meant as 10 %). A ratio of rates is in
    [0, 1] and passes at or above its threshold, so 0 could never fail, and a threshold
    above 1 fails every ratio short of exact parity (``80`` meant as 80 %).
    """
    if name in _RATIOS:
        if limit > 1:
            why = (
                "a ratio of rates is at most 1 (parity) and fails below its threshold, so "
                "it would fail every ratio short of exact parity"
            )
        elif limit == 0:
            why = "a ratio of rates is never below 0, so it could never fail"
        else:
            return
        example = "0.8 for 80 %"
    elif limit >= 1:
        why = (
            "a difference of rates is at most 1 and passes at or below its threshold, so "
            "it could never fail"
        )
        example = "0.1 for 10 %"
    else:
        return
    raise ConfigError(
        f"`thresholds` {name}={limit:g}: {why}; give a share: {example} "
        "(None reports the disparity without gating it)"
    )


#: Groups a feature set has before groups of one row (or fractional labels) are read as
#: the values of a continuous feature (income, a score) rather than a few rare categories.
_MANY_VALUES = 20


def _too_few_remedy(fs: _FeatureSet, counts: npt.NDArray[Any]) -> str:
    """What to do when ``fs`` has fewer than two groups of ``min_group_size`` rows.

    Most rows a group of their own (or labels that are fractional numbers) is not fixed
    by a smaller ``min_group_size`` or more rows, which is what the reason said for an
    income column. What is: for a numeric feature, bins (bands); for text with many rare
    values (zip codes), grouping the rare ones, not ``pandas.cut``; for an intersection,
    the feature with many values named (binned or grouped as it is numbers or text), or
    ``intersections=False`` when each feature has few values and only their product is
    many."""
    total = float(counts.sum())
    alone = float(counts[counts <= 1].sum())
    fractional = sum(1 for label in fs.labels[:1000] if _fractional(label))
    several = len(fs.names) > 1
    if len(fs.labels) < _MANY_VALUES or (
        alone * 2 <= total and fractional * 2 <= min(len(fs.labels), 1000)
    ):
        return "lower min_group_size or collect more data" + (
            ", or pass intersections=False" if several else ""
        )
    many = f"{len(fs.labels):,} {'groups' if several else 'distinct values'} in {int(total):,} rows"
    bands = "into bands first (pandas.cut, numpy.digitize)"
    rare = "group its rare values first (those under min_group_size rows as 'other')"
    if not several:
        if fs.numeric[0] or fractional:
            return f"{many}, as a continuous feature has: bin it {bands}"
        return f"{many}, most of them rare: {rare}"
    distinct = fs.distinct
    widest = max(range(len(fs.names)), key=lambda i: distinct[i])
    name = brief(fs.names[widest])
    if distinct[widest] >= _MANY_VALUES:
        fix = f"bin it {bands}" if fs.numeric[widest] else rare
        return (
            f"{many}; {name} alone has {distinct[widest]:,} values: {fix}, or pass "
            "intersections=False"
        )
    return (
        f"{many}: the intersection of {len(fs.names)} features splits the rows too finely; "
        "pass intersections=False, fewer sensitive features, or collect more data"
    )


def _fractional(label: str) -> bool:
    """Whether a group's label reads as a number that is not whole (``"18278.32"``;
    :func:`group_label` shows a whole float as an integer)."""
    try:
        value = float(label)
    except ValueError:
        return False
    return math.isfinite(value) and not value.is_integer()


def _check_group_count(count: int, names: Sequence[str]) -> None:
    if count > MAX_GROUPS:
        raise CheckInputError(
            f"feature set {'&'.join(names)!r} has {count:,} groups with rows, more than "
            f"{MAX_GROUPS:,}: one record per group would be read by nobody, and almost all "
            "would be too small to judge; pass fewer or coarser sensitive features (bin "
            "ages, group regions)" + (", or intersections=False" if len(names) > 1 else "")
        )
