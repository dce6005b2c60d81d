"""Data drift and prediction drift: one per-column engine, on a model's inputs or outputs.

Each column is compared on its own (numeric columns by their sorted finite values,
categorical ones by their category counts), p-values are corrected across columns, and
the data set drifts when the share of drifted columns reaches ``drift_share``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import shlex
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from modelship._choices import (
    CATEGORICAL_METHODS,
    NUMERIC_METHODS,
    CategoricalMethod,
    NumericMethod,
)
from modelship._columns import (
    column_array,
    encoded_column,
    is_missing,
    row_labels_reason,
    split_pandas_index,
)
from modelship._params import (
    Constraints,
    Interval,
    MappingOf,
    Names,
    Options,
    check_parameters,
    declared_constraints,
)
from modelship.checks import stats
from modelship.checks._drift_result import DriftColumnResult
from modelship.checks._figures import compared, percents
from modelship.checks._profile import DriftProfile, profile_side
from modelship.checks._result import N_JOBS, CheckResult, Severity, Status, shares
from modelship.checks._schema import (
    EXCLUDED,
    MAX_MISSING_RATE,
    datetime_zones,
    holds_datetimes,
    missing_rate_finding,
    rate_increase_reaches,
    zone_clash,
)
from modelship.checks._sides import CategoricalSide, NumericSide, Side, kind_of, side_of
from modelship.checks._suspects import DATE_LIKE_SAMPLE, is_date_text, looks_like_identifier
from modelship.checks._tabular import (
    BOOLEAN_CELLS,
    KINDS,
    TEXT_DTYPES,
    Column,
    ColumnKind,
    RawColumn,
    Table,
    dtype_kind,
    make_column,
    match_flags,
    nullable_dtype,
    nullable_dtypes,
    number_dtype,
    parse_kinds,
    raw_columns,
    type_columns,
)
from modelship.checks.stats._binned import BINS, EPS, chi2_counts, chi2_critical, psi_and_js
from modelship.checks.stats._columns import sorted_finite_counts
from modelship.checks.stats._cvm import cramervonmises_sorted
from modelship.checks.stats._numeric import binned_figures, ks_and_wasserstein
from modelship.checks.stats._pvalues import P_VALUE_METHODS, PValueMethod, adjusted_list
from modelship.checks.stats._wasserstein import nonzero_std
from modelship.errors import CheckInputError, ColumnMismatch, ConfigError, EmptyData

__all__ = [
    "AUTO_SMALL_SAMPLE",
    "CATEGORICAL_METHODS",
    "DISTANCE_THRESHOLDS",
    "NUMERIC_METHODS",
    "PSI_WARN_THRESHOLD",
    "DataDrift",
    "PredictionDrift",
]

_TESTS = frozenset({"ks", "cvm", "chi2"})

DISTANCE_THRESHOLDS: Mapping[str, float] = {"wasserstein": 0.1, "psi": 0.25, "js": 0.1}
"""Default drift threshold of each distance: Wasserstein in reference standard deviations,
PSI by field convention (0.25: a significant shift), Jensen-Shannon distance in base 2."""

PSI_WARN_THRESHOLD = 0.1
"""PSI at or above this (and below its drift threshold) is a moderate shift: a warning."""

AUTO_SMALL_SAMPLE = 1000
"""The automatic rule tests a numeric column with Cramér-von Mises when either sample has
fewer finite values than this, and with Kolmogorov-Smirnov from this size on."""

CVM_MIN_VALUES = 2
"""Fewest finite values a side for which the automatic rule picks Cramér-von Mises: its
statistic needs two. With fewer (``min_values=1``) it picks Kolmogorov-Smirnov."""

MIN_VALUES = 5
"""Default ``min_values``: a column with fewer finite (numeric) or present (categorical)
values on either side is ``skip``, "too few values to judge". Below 4 values a side, no
two-sample KS test can reach p < 0.05 at all."""


def _suspect(name: str, ref: CategoricalSide) -> str | None:
    """Why a categorical column should not be compared as categories, if it should not.

    Date text first: a column of time stamps written as text is nearly all distinct too,
    and is no identifier."""
    labels = list(itertools.islice(ref.counts, DATE_LIKE_SAMPLE))
    if labels and all(is_date_text(label) for label in labels):
        return (
            f"holds date strings such as {labels[0]!r}: not tested; parse it to datetimes and "
            f"declare kinds={{{name!r}: 'numeric'}} to compare time stamps, leave it out "
            f"(exclude=[{name!r}]), or declare kinds={{{name!r}: 'categorical'}}"
        )
    present = sum(ref.counts.values())
    if looks_like_identifier(present, len(ref.counts)):
        share = len(ref.counts) / present
        return (
            f"looks like an identifier ({share:.0%} of {present} reference values are "
            f"distinct): not tested; leave it out (exclude=[{name!r}]) or declare its kind "
            f"(kinds={{{name!r}: 'categorical'}}) to test it anyway"
        )
    return None


_AUTO_EFFECT = {ColumnKind.NUMERIC: "wasserstein", ColumnKind.CATEGORICAL: "js"}
_LABELS = {
    "ks": "KS",
    "cvm": "Cramér-von Mises",
    "chi2": "chi-square",
    "wasserstein": "Wasserstein",
    "psi": "PSI",
    "js": "Jensen-Shannon",
}


# --- the rule that decides a column ------------------------------------------------------


@attrs.frozen
class _Rule:
    """How one column is judged."""

    method: str  # the test or distance that decides
    effect_method: str  # the effect size reported beside it
    threshold: float  # alpha for a test; the distance threshold for a distance
    effect_threshold: float | None  # set when the effect size gates the verdict (auto)
    warn_threshold: float | None  # PSI's moderate-shift level


@attrs.frozen
class _Partial:
    """A column's figures before p-values are corrected across columns."""

    name: str
    kind: ColumnKind
    rule: _Rule
    error: str | None = None
    skip: str | None = None  # why the column cannot be judged
    caution: str | None = None  # why a column that cannot be measured is still worth a look
    # Why the column drifted whatever its figures say: values its reference cannot hold
    # (numbers other than 0 and 1 against a boolean flag).
    refused: str | None = None
    statistic: float | None = None
    raw_p: float | None = None
    effect_size: float | None = None
    details: dict[str, Any] = attrs.Factory(dict)
    signals: tuple[tuple[str, float, float, float], ...] = ()  # (name, ref, cur, raw p)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _p(p: float) -> str:
    return f"{p:.2g}"


# The drift reasons' names for the shared helpers (see modelship.checks._figures).
_compared = compared


def _percents(share: float, threshold: float) -> tuple[str, str]:
    """``share`` and ``threshold`` as whole percents, widened until the printed ``>=``
    comparison is the true one (49.75% is not "50% < 50%")."""
    shown, shown_threshold = percents([share, threshold])
    return shown, shown_threshold


def _limit_percent(limit: float) -> str:
    """``max_missing_rate`` as a column's reason prints it (:func:`rates`): one decimal,
    more until a digit that is not 0 shows (0.04%, never "0.0%")."""
    (shown,) = percents([limit], (), decimals=1, readable=True)
    return shown


# --- column computations -----------------------------------------------------------------


def _numeric_figures(
    ref: NumericSide, cur: NumericSide, rule: _Rule, bins: int, eps: float
) -> dict[str, float]:
    """The statistics of a numeric column: ``{method: value, "<test>_p": p, ...}``.

    KS and Wasserstein always: Wasserstein raises for values that overflow it, which makes
    the column an error whatever its rule. PSI and Jensen-Shannon (and the bins they
    share) only when the rule names one of them: nothing else reads them, and on sorted
    finite samples they cannot raise, so leaving them out changes no verdict and no error
    (it saves a third of a column's statistics at 10,000 rows). Cramér-von Mises only when
    the rule names it, as ever.
    """
    assert cur.values is not None
    if ref.values is not None:
        methods = (rule.method, rule.effect_method)
        # The sides hold sorted finite values, at least min_values of them; bins and eps
        # were checked when the check was made: nothing to validate again per column.
        a, b = ref.values, cur.values
        ks, ks_p, wasserstein, wasserstein_norm = ks_and_wasserstein(a, b)
        figures = {
            "ks": ks,
            "ks_p": ks_p,
            "wasserstein": wasserstein_norm,
            "wasserstein_raw": wasserstein,
        }
        if "psi" in methods or "js" in methods:
            psi, js, psi_critical, _ = binned_figures(a, b, bins, eps)
            figures["psi"], figures["psi_critical"], figures["js"] = psi, psi_critical, js
        if "cvm" in methods:
            figures["cvm"], figures["cvm_p"] = cramervonmises_sorted(a, b)
        return figures
    return _figures_from_summary(ref, cur.values, bins, eps)


def _figures_from_summary(
    ref: NumericSide, current: NDArray[np.float64], bins: int, eps: float
) -> dict[str, float]:
    summary, std = ref.summary, ref.std
    assert summary is not None
    assert std is not None
    # A profile made before subnormal spreads were kept from rounding to 0 (from data,
    # a std of 0 with distinct extremes is never computed): as its data would be read.
    std = nonzero_std(std, float(summary.quantiles[0]), float(summary.quantiles[-1]))
    ks, ks_p = stats.ks_from_summary(summary, current)
    # The smallest distance the profile allows, as the KS p-value is of the smallest
    # statistic: a profile never makes a column drift that its data would not.
    wasserstein = stats.wasserstein_from_summary(summary, current, lower=True)
    # The bins of psi_from_summary, counted once and shared by PSI and Jensen-Shannon.
    edges = stats.quantile_edges(summary.quantiles, bins)
    ref_counts = summary.bin_counts(edges)
    cur_counts = stats.binned_counts(current, edges)
    return {
        "ks": ks,
        "ks_p": ks_p,
        # As for raw data: a reference without spread makes any distance infinitely far.
        # (A negative std, only from a forged profile, stays negative: an error, not "far".)
        "wasserstein": wasserstein / std if std != 0 else (math.inf if wasserstein > 0 else 0.0),
        "wasserstein_raw": wasserstein,
        "psi": stats.psi(ref_counts, cur_counts, eps),
        "psi_critical": stats.psi_critical_value(summary.n, len(current), len(edges) + 1),
        "js": stats.jensen_shannon(ref_counts, cur_counts),
    }


_UNSEEN_LISTED = 20
"""Unseen categories named in a column's details (the most frequent in the current data),
as the schema check names at most 20 new categories; ``n_unseen_categories`` counts all."""


def _categorical_figures(
    ref: CategoricalSide, cur: CategoricalSide, eps: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """Statistics over the reference's categories plus one bucket for unseen ones."""
    labels = list(ref.counts)
    unseen = (
        {}
        if cur.counts.keys() <= ref.counts.keys()
        else {label: count for label, count in cur.counts.items() if label not in ref.counts}
    )
    ref_counts = list(ref.counts.values())
    cur_counts = list(map(cur.counts.get, labels, itertools.repeat(0)))
    if unseen:
        ref_counts.append(0)
        cur_counts.append(sum(unseen.values()))
    details: dict[str, Any] = {"categories": len(labels)}
    if unseen:
        # The most frequent few by name (a free-text column has as many as rows), and
        # how many there are and how much of the current data they hold.
        top = heapq.nsmallest(_UNSEEN_LISTED, unseen.items(), key=lambda kv: (-kv[1], kv[0]))
        total = cur_counts[-1]
        details["unseen_categories"] = dict(top)
        details["n_unseen_categories"] = len(unseen)
        details["unseen_count"] = total
        details["unseen_share"] = total / sum(cur_counts)
    # Counts of present values, each side's at least min_values (>= 1) in all: nothing to
    # validate again, so the statistics' unchecked forms (the same arithmetic).
    a = np.asarray(ref_counts, dtype=np.float64)
    b = np.asarray(cur_counts, dtype=np.float64)
    chi2, chi2_p = chi2_counts(a, b)
    psi, js = psi_and_js(a, b, eps)
    figures = {
        "chi2": chi2,
        "chi2_p": chi2_p,
        "psi": psi,
        # One category on both sides has no degrees of freedom; 2 bins keep the formula.
        "psi_critical": chi2_critical(sum(ref_counts), sum(cur_counts), max(len(a), 2)),
        "js": js,
    }
    return figures, details


def _no_values(side: str, n_rows: int, n_missing: int, n_inf: int = 0) -> str:
    parts = [f"{n_missing} missing"] + ([f"{n_inf} infinite"] if n_inf else [])
    return f"{side} has no finite values ({', '.join(parts)} of {n_rows} rows)"


def _untestable(  # noqa: PLR0911, PLR0912 - one return per reason a column cannot be tested; the order of checks decides the reason reported
    name: str, ref: Side, cur: Side, min_values: int, declared: bool
) -> tuple[str, str] | None:
    """Why a column cannot be judged: ``("skip", reason)``, ``("caution", reason)`` for a
    constant reference that the current data leaves, or ``None`` when it can be."""
    if isinstance(ref, NumericSide) and isinstance(cur, NumericSide):
        n_ref, n_cur = ref.n_finite, cur.n_finite
        if n_ref == 0 and n_cur == 0:
            return "skip", "no finite values in either sample"
        if n_ref == 0:
            return "skip", _no_values("reference", ref.n_rows, ref.n_missing, ref.n_inf)
        if n_cur == 0:
            return "skip", _no_values("current", cur.n_rows, cur.n_missing, cur.n_inf)
    else:
        assert isinstance(ref, CategoricalSide)
        assert isinstance(cur, CategoricalSide)
        n_ref, n_cur = sum(ref.counts.values()), sum(cur.counts.values())
        if n_ref == 0 and n_cur == 0:
            return "skip", "no values in either sample"
        if n_ref == 0:
            return "skip", f"reference has no values (all {ref.n_rows} rows missing)"
        if n_cur == 0:
            return "skip", f"current has no values (all {cur.n_rows} rows missing)"
    if min(n_ref, n_cur) < min_values:
        return "skip", (
            f"too few values to judge: {n_ref} in the reference, {n_cur} in the current "
            f"data (min_values={min_values})"
        )
    if isinstance(ref, NumericSide) and isinstance(cur, NumericSide):
        low, high = ref.extremes
        if low == high:
            if cur.extremes == (low, high):
                return "skip", f"constant ({low:.6g}) in both samples"
            if cur.extremes[0] == cur.extremes[1]:
                return "caution", (
                    f"both samples are constant, at different values (reference {low:.6g}, "
                    f"current {cur.extremes[0]:.6g}): distances scaled by the reference's "
                    "spread are undefined; declare the column categorical to test it"
                )
            return "caution", (
                f"reference is constant ({low:.6g}) but current is not (from "
                f"{cur.extremes[0]:.6g} to {cur.extremes[1]:.6g}): distances scaled by the "
                "reference's spread are undefined; declare the column categorical to test it"
            )
    else:
        assert isinstance(ref, CategoricalSide)
        assert isinstance(cur, CategoricalSide)
        if len(ref.counts) == 1 and list(ref.counts) == list(cur.counts):
            return "skip", f"constant ({next(iter(ref.counts))!r}) in both samples"
        suspicion = None if declared else _suspect(name, ref)
        if suspicion is not None:
            return "caution", suspicion
    return None


def _signals(ref: Side, cur: Side) -> tuple[tuple[str, float, float, float], ...]:
    """Missing and infinite rates of both sides, with two-proportion p-values."""
    pairs = [("missing", ref.n_missing, cur.n_missing)]
    if isinstance(ref, NumericSide) and isinstance(cur, NumericSide):
        pairs.append(("infinite", ref.n_inf, cur.n_inf))
    n1, n2 = ref.n_rows, cur.n_rows
    return tuple(
        (signal, k1 / n1, k2 / n2, _two_proportion_p(k1, n1, k2, n2)) for signal, k1, k2 in pairs
    )


_LARGEST_COUNT = sys.float_info.max  # two_proportion refuses a count beyond it


def _two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """``stats.two_proportion(k1, n1, k2, n2)[1]``, answered at once in the common case of
    no events on either side (both rates 0: p is 1, as two_proportion says after checking
    counts that are plain ints and can only pass)."""
    if (
        k1 == 0 == k2
        and type(k1) is type(k2) is type(n1) is type(n2) is int
        and 0 < n1 <= _LARGEST_COUNT
        and 0 < n2 <= _LARGEST_COUNT
    ):
        return 1.0
    return stats.two_proportion(k1, n1, k2, n2)[1]


def _compute_column(  # noqa: PLR0913 - both sides of a column plus its rule and the keyword-only binning settings
    name: str,
    ref: Side,
    cur: Side,
    rule: _Rule,
    *,
    bins: int,
    eps: float,
    min_values: int,
    declared: bool = False,
) -> _Partial:
    kind = ColumnKind.NUMERIC if isinstance(ref, NumericSide) else ColumnKind.CATEGORICAL
    details: dict[str, Any] = {"n_reference": ref.n_rows, "n_current": cur.n_rows}
    known: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "rule": rule,
        "details": details,
        "signals": _signals(ref, cur),
    }
    degenerate = _untestable(name, ref, cur, min_values, declared)
    if degenerate is not None:
        what, reason = degenerate
        if what == "skip":
            return _Partial(skip=reason, **known)
        return _Partial(caution=reason, **known)
    try:
        with np.errstate(all="ignore"):
            if isinstance(ref, NumericSide) and isinstance(cur, NumericSide):
                figures = _numeric_figures(ref, cur, rule, bins, eps)
            else:
                assert isinstance(ref, CategoricalSide)
                assert isinstance(cur, CategoricalSide)
                figures, extra = _categorical_figures(ref, cur, eps)
                details.update(extra)
    except Exception as exc:  # a column that cannot be computed is an error, not a pass
        message = " ".join(str(exc).split())
        return _Partial(error=f"could not compute: {type(exc).__name__}: {message}", **known)
    is_test = rule.method in _TESTS
    needed = [rule.method, rule.effect_method] + ([f"{rule.method}_p"] if is_test else [])
    bad = [key for key in needed if not math.isfinite(figures[key])]
    if bad:
        return _Partial(error=f"{', '.join(bad)} is not a finite number", **known)
    negative = [key for key in (rule.method, rule.effect_method) if figures[key] < 0]
    if negative:
        # No statistic or distance here can be negative; one that is comes from damaged
        # input (a profile's std below zero), and reading it as "small" would pass drift.
        return _Partial(
            error=f"{', '.join(negative)} is negative ({figures[negative[0]]:.6g}), which is "
            "impossible: the reference (or its profile) is damaged",
            **known,
        )
    if "psi" in (rule.method, rule.effect_method):
        details["psi_critical"] = float(figures["psi_critical"])
    if kind is ColumnKind.NUMERIC and "wasserstein" in (rule.method, rule.effect_method):
        details["wasserstein_raw"] = float(figures["wasserstein_raw"])
    raw_p = float(figures[f"{rule.method}_p"]) if is_test else None
    if raw_p is not None:
        details["raw_p_value"] = raw_p
    return _Partial(
        statistic=float(figures[rule.method]),
        raw_p=raw_p,
        effect_size=float(figures[rule.effect_method]),
        **known,
    )


# --- verdicts ----------------------------------------------------------------------------


def _verdict(partial: _Partial, p: float | None) -> tuple[bool, Status, str]:  # noqa: PLR0911 - one return per verdict (test vs distance, significant vs large, warn threshold)
    """Decide a computed column: ``(drifted, status, reason)``."""
    rule = partial.rule
    assert partial.statistic is not None
    assert partial.effect_size is not None
    label, effect_label = _LABELS[rule.method], _LABELS[rule.effect_method]
    # Each figure printed beside a threshold with the digits that keep the printed
    # comparison true (see compared).
    if rule.method in _TESTS:
        assert p is not None
        significant = p < rule.threshold
        shown_p, (shown_alpha,) = compared(p, [rule.threshold], digits=2)
        test = f"{label} p={shown_p} {'<' if significant else '>='} {shown_alpha}"
        if rule.effect_threshold is None:
            return (
                significant,
                Status.FAIL if significant else Status.PASS,
                (
                    f"{'drifted' if significant else 'no drift'}: {test} "
                    f"({effect_label} {_fmt(partial.effect_size)})"
                ),
            )
        large = partial.effect_size >= rule.effect_threshold
        shown_effect, (shown_limit,) = compared(partial.effect_size, [rule.effect_threshold])
        effect = f"{effect_label} {shown_effect} {'>=' if large else '<'} {shown_limit}"
        if significant and large:
            return True, Status.FAIL, f"drifted: {test} and {effect}"
        if significant:
            return False, Status.PASS, f"no drift: {test} but {effect}, too small to matter"
        return False, Status.PASS, f"no drift: {test} ({effect})"
    drifted = partial.statistic >= rule.threshold
    limits = [rule.threshold] + ([rule.warn_threshold] if rule.warn_threshold is not None else [])
    shown, shown_limits = compared(partial.statistic, limits)
    distance = f"{label} {shown}"
    critical = partial.details.get("psi_critical") if rule.method == "psi" else None
    note = f" (no-drift critical value {_fmt(critical)})" if critical is not None else ""
    if drifted:
        return True, Status.FAIL, f"drifted: {distance} >= {shown_limits[0]}{note}"
    if rule.warn_threshold is not None and partial.statistic >= rule.warn_threshold:
        return (
            False,
            Status.WARN,
            (
                f"moderate shift: {distance} >= {shown_limits[1]}, below the drift "
                f"threshold {shown_limits[0]}{note}"
            ),
        )
    return False, Status.PASS, f"no drift: {distance} < {shown_limits[0]}{note}"


def _adjusted(values: list[float | None], correction: PValueMethod) -> list[float | None]:
    """Correct the non-``None`` p-values of a family together; keep ``None`` in place."""
    present = [i for i, value in enumerate(values) if value is not None]
    out: list[float | None] = [None] * len(values)
    if present:
        # In Python for a family of a few floats, as adjust_p_values would (the same
        # numbers): a run corrects three families, each a NumPy round trip otherwise.
        adjusted = adjusted_list([value for value in values if value is not None], correction)
        for i, value in zip(present, adjusted, strict=True):
            out[i] = value
    return out


# --- the check ---------------------------------------------------------------------------


def _method_map(value: Mapping[str, str | None] | None) -> dict[str, str | None]:
    return {str(name): method for name, method in (value or {}).items()}


def _threshold_map(value: Mapping[str, float] | None) -> dict[str, float]:
    return {str(name): float(threshold) for name, threshold in (value or {}).items()}


def _columns_arg(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(name) for name in value)


def _exclude_arg(value: Sequence[str] | None) -> tuple[str, ...]:
    return () if value is None else tuple(str(name) for name in value)


def _optional_kind(value: ColumnKind | str | None) -> ColumnKind | None:
    return None if value is None else ColumnKind(value)


_UNIT_OPEN = Interval(float, 0, 1, closed="neither")
_UNIT_RIGHT = Interval(float, 0, 1, closed="right")


@attrs.frozen(kw_only=True)
class _DriftCheck:
    """The fields and the engine shared by :class:`DataDrift` and :class:`PredictionDrift`."""

    _parameter_constraints: ClassVar[Constraints] = {
        "method": (None, Options(NUMERIC_METHODS)),
        "categorical_method": (None, Options(CATEGORICAL_METHODS)),
        "column_methods": (
            None,
            MappingOf(None, Options(("auto", *NUMERIC_METHODS, *CATEGORICAL_METHODS))),
        ),
        "thresholds": (None, MappingOf(Interval(float, 0, None, closed="neither"))),
        "alpha": _UNIT_OPEN,
        "correction": Options(P_VALUE_METHODS),
        "drift_share": _UNIT_RIGHT,
        "missing_threshold": _UNIT_RIGHT,
        "max_missing_rate": Interval(float, 0, 1, closed="right"),
        "min_values": Interval(int, 1, None),
        "bins": BINS,
        "eps": EPS,
        "n_jobs": N_JOBS,
        "severity": Options(Severity),
        "name": str,
    }
    __attrs_pre_init__ = check_parameters

    reference: Any = attrs.field(repr=False)
    current: Any = attrs.field(repr=False)
    method: NumericMethod | None = None
    categorical_method: CategoricalMethod | None = None
    column_methods: Mapping[str, str | None] = attrs.field(default=None, converter=_method_map)
    thresholds: Mapping[str, float] = attrs.field(default=None, converter=_threshold_map)
    alpha: float = attrs.field(default=0.05, converter=float)
    correction: PValueMethod = "bh"
    drift_share: float = attrs.field(default=0.5, converter=float)
    missing_threshold: float = attrs.field(default=0.01, converter=float)
    max_missing_rate: float = attrs.field(default=MAX_MISSING_RATE, converter=float)
    min_values: int = MIN_VALUES
    bins: int = 10
    eps: float = attrs.field(default=1e-4, converter=float)
    n_jobs: int | None = None
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)
    name: str = "drift"

    # --- what subclasses say: how inputs become columns, and their kinds ---

    def _raw(self, data: Any, what: str, skip: Sequence[str] = ()) -> dict[str, RawColumn]:
        """``data``'s columns, leaving out ``skip`` (a profile's left-out columns) unread."""
        raise NotImplementedError

    def _reference_kinds(self, raw: Mapping[str, RawColumn]) -> dict[str, ColumnKind]:
        raise NotImplementedError

    def _row_labels(self) -> dict[str, str]:
        """The columns ``_raw`` drops as pandas row labels, each with why."""
        return {}

    def _max_unique(self) -> int | None:
        return None

    def _profile_names(self, profile: DriftProfile) -> list[str]:
        return list(profile.schema.names)

    def _excluded(self) -> tuple[str, ...]:
        """Columns the user left out of both samples (``exclude=``)."""
        return ()

    def _declared(self, name: str) -> bool:
        """Whether the user declared the column's kind (no identifier or date-text warning)."""
        return False

    def _declared_or_profiled(self, name: str) -> bool:
        """Declared here, or when the reference profile was made (``kinds=``)."""
        if isinstance(self.reference, DriftProfile) and name in self.reference.declared_kinds:
            return True
        return self._declared(name)

    # --- the engine ---

    def run(self) -> CheckResult:
        """Compare the current data with the reference, column by column.

        Returns
        -------
        CheckResult
            ``fail`` on data-set drift, ``warn`` when some columns drifted or warned,
            ``error`` when a column could not be computed, else ``pass``; the statistic is
            the share of drifted columns and ``columns`` holds every column's verdict.

        Raises
        ------
        ColumnMismatch, EmptyData, CheckInputError
            When the inputs cannot be compared (the message names the column).
        ConfigError
            When a per-column setting names an unknown column or an unfit method.

        Examples
        --------
        >>> from modelship.checks import DataDrift
        >>> reference = {"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
        >>> check = DataDrift(reference=reference, current={"x": [2.0, 3.0, 4.0, 5.0, 6.0]})
        >>> check.run().status.value
        'pass'
        >>> print(DataDrift(reference=reference, current={"x": [2.0, 3.0]}).run().reason)
        no column could be tested: 'x': too few values to judge: 6 in the reference, 2 in ...
        """
        references: dict[str, Column | Side]
        # The column sets are compared once the columns drift leaves out either way are
        # dropped (exclude=, and datetimes not declared numeric), on both paths: a current
        # batch needs neither, and may hold them.
        profile = self.reference if isinstance(self.reference, DriftProfile) else None
        reference_raw: dict[str, RawColumn] = {}
        # A column the profile left out is not read from the current data either: it may
        # be one no check can read (a struct left out with exclude= when profiling), and
        # reading it would refuse data the profile was made to accept.
        skip = () if profile is None else tuple(profile.left_out)
        current_raw = self._raw(self.current, "current", skip)
        if profile is not None:
            excluded = set(self._excluded())
            left_out = {k: v for k, v in profile.left_out.items() if k not in excluded}
            current_raw = {k: v for k, v in current_raw.items() if k not in left_out}
            names = [name for name in self._profile_names(profile) if name not in excluded]
            _same_columns(names, list(current_raw))
            kinds = {name: profile.schema[name].kind for name in names}
            reference_dtypes = {name: profile.schema[name].dtype for name in names}
            references = {}
        else:
            reference_raw = self._raw(self.reference, "reference")
            table = type_columns(
                reference_raw,
                what="reference",
                kinds=self._reference_kinds(reference_raw),
                categorical_max_unique=self._max_unique(),
                date_text=self._date_text,
            )
            references, kinds, left_out = dict(table.columns), table.kinds, table.left_out
            current_raw = {k: v for k, v in current_raw.items() if k not in left_out}
            _same_columns(
                [name for name in reference_raw if name not in left_out], list(current_raw)
            )
            reference_dtypes = {name: column.dtype for name, column in table.columns.items()}
        self._refuse_zones(kinds, reference_dtypes, profile, reference_raw, current_raw)
        current, refused = self._type_current(
            current_raw, kinds, reference_dtypes, profile, references
        )
        unknown = sorted((set(self.column_methods) | set(self.thresholds)) - set(kinds))
        if unknown:
            raise ConfigError(f"column_methods or thresholds name unknown column(s) {unknown}")
        # Numbers held as float32 (or float16) on one side are compared at that precision:
        # the other side's values (or the profile's quantiles) are rounded to it.
        precisions = {
            name: _precision(reference_dtypes[name], current.columns[name].dtype)
            for name, kind in kinds.items()
            if kind is ColumnKind.NUMERIC
        }
        if profile is not None:
            for name in kinds:
                narrow = precisions.get(name)
                rounded = narrow is not None and reference_dtypes[name] != narrow.name
                references[name] = profile_side(profile, name, narrow if rounded else None)
        jobs = [
            (name, references[name], current.columns[name], precisions.get(name)) for name in kinds
        ]
        buffers = _SortBuffers(
            max((len(c) for c in references.values() if isinstance(c, Column)), default=0),
            current.n_rows,
        )
        workers = _workers(self.n_jobs, len(jobs))

        def column(
            job: tuple[str, Column | Side, Column, np.dtype[Any] | None],
        ) -> _Partial:
            partial = self._column(*job, buffers)
            why = refused.get(job[0])
            return partial if why is None else attrs.evolve(partial, refused=why)

        if workers == 1:
            # Integer codes are counted first, every column's, then the columns' statistics
            # are computed (see Column.count_codes); the tallies kept waiting are bounded.
            held = 0
            for job in jobs:
                for counted in job[1:3]:
                    if held < _TALLIES_HELD and isinstance(counted, Column):
                        held += counted.count_codes()
            partials = [column(job) for job in jobs]
        else:
            # Threads: sorting and the other numpy work release the GIL, and no column is
            # copied into another process. map keeps the columns' order, and the pool
            # is bounded by the number of columns.
            with ThreadPoolExecutor(max_workers=workers) as pool:
                partials = list(pool.map(column, jobs))
        notes = {name: why for name, why in left_out.items() if why != EXCLUDED}
        notes.update((k, v) for k, v in self._row_labels().items() if k not in notes)
        return self._result(partials, notes)

    def _type_current(
        self,
        raw: Mapping[str, RawColumn],
        kinds: Mapping[str, ColumnKind],
        reference_dtypes: Mapping[str, str],
        profile: DriftProfile | None,
        references: Mapping[str, Column | Side] | None = None,
    ) -> tuple[Table, dict[str, str]]:
        """The current columns, typed with the reference's kinds, and why each column
        that holds values its reference cannot hold drifted (see :func:`match_flags`).

        Raises
        ------
        CheckInputError
            For a compared column that typing leaves out of the current data (date-times
            where the reference holds text, as a CSV reader keeps dates): it cannot be
            compared, and must not go unchecked.
        """
        try:
            table = type_columns(raw, what="current", kinds=kinds, date_text=self._date_text)
        except EmptyData:
            # Every current column was left out, and each is a compared one (the column
            # sets are the same): the first is named; the error stands if none is.
            self._refuse_left_out(set(raw), kinds, reference_dtypes, profile)
            raise
        self._refuse_left_out(set(table.left_out), kinds, reference_dtypes, profile)
        # A flag held as booleans on one side and as numbers on the other is read as the
        # reference holds it: its categories are then the same labels on both sides.
        # Numbers other than 0 and 1 against a boolean reference are that column's own
        # verdict (it drifted), the other columns judged as usual.
        # Booleans against text spelling them ("true"/"false" from Parquet or Spark) are
        # written as the reference writes them; text mostly spelling true and false
        # against booleans is the flag, its other cells labels no flag holds.
        where = "reference profile" if profile is not None else "reference"
        columns, refused = {}, {}
        for name, column in table.columns.items():
            if name not in reference_dtypes:
                columns[name] = column
                continue
            labels: list[str] | None = None
            if (
                column.kind is ColumnKind.CATEGORICAL
                and reference_dtypes[name] in TEXT_DTYPES
                and column.dtype in ("bool", *TEXT_DTYPES)
            ):
                if profile is not None and name in profile.categorical:
                    labels = list(profile.categorical[name].counts)
                elif isinstance(reference := (references or {}).get(name), Column):
                    labels = _flag_labels(reference)
            columns[name], others = match_flags(column, reference_dtypes[name], labels)
            if others:
                numbers = number_dtype(column.dtype)
                listed = others[:5] if numbers else [repr(label) for label in others[:5]]
                shown = ", ".join(listed) + (", ..." if len(others) > 5 else "")
                if numbers:
                    held = f"{column.dtype} values other than 0 and 1"
                    advice = self._flag_advice(name, profile is not None)
                else:
                    held = "text other than true and false"
                    advice = (
                        "convert the current column to booleans, reading those cells as "
                        "missing values (pandas.read_csv(na_values=...)), or clean it"
                    )
                refused[name] = (
                    f"drifted: booleans in the {where} but {held} in the current data "
                    f"({shown}), which a flag cannot hold: {advice}"
                )
        return attrs.evolve(table, columns=columns), refused

    def _refuse_zones(
        self,
        names: Collection[str],
        reference_dtypes: Mapping[str, str],
        profile: DriftProfile | None,
        reference_raw: Mapping[str, RawColumn],
        current_raw: Mapping[str, RawColumn],
    ) -> None:
        """Refuse a column of date-times with a time zone on one side and none on the
        other: read as NumPy both are in UTC, so naive local times would be compared
        with the same events hours away, without a word (pandas refuses the comparison).
        Two zones are the same instants, compared in UTC. A profile written before zones
        were recorded does not know its columns' (no refusal).

        Raises
        ------
        CheckInputError
            Naming the column, the side with the zone, and the fix.
        """
        dated = [name for name in names if holds_datetimes(reference_dtypes[name])]
        if not dated:
            return
        if profile is not None:
            zones = {name: profile.schema[name].zone for name in dated}
            before = {name: zone for name, zone in zones.items() if zone is not None}
        else:
            before = datetime_zones(self.reference, dated, reference_raw)
        after = datetime_zones(self.current, list(before), current_raw)
        where = "reference profile" if profile is not None else "reference"
        for name in dated:
            if name in before and name in after:
                clash = zone_clash(f"column {name!r}", before[name], after[name], where)
                if clash is not None:
                    raise CheckInputError(clash)

    def _refuse_left_out(
        self,
        left_out: set[str],
        kinds: Mapping[str, ColumnKind],
        reference_dtypes: Mapping[str, str],
        profile: DriftProfile | None,
    ) -> None:
        # Typing leaves out only date-times not declared numeric (LeftOut): the
        # reference's kind of such a column is not numeric, so it held something else.
        for name in kinds:
            if name in left_out:
                raise CheckInputError(
                    f"column {name!r} holds date-times in the current data but "
                    f"{reference_dtypes[name]} values ({kinds[name].value}) in the "
                    f"{'reference profile' if profile is not None else 'reference'}, so "
                    "the two cannot be compared (a CSV reader keeps dates as text): "
                    + self._clash_advice(name, profile is not None)
                )

    def _clash_advice(self, name: str, profiled: bool) -> str:
        """What to do about a column that is date-times on one side only."""
        return (
            "give the outputs as date-times on both sides, with kind='numeric', or as "
            "text on both sides"
        )

    def _flag_advice(self, name: str, profiled: bool) -> str:
        """What to do about a column of booleans in the reference and of numbers other
        than 0 and 1 in the current data."""
        numeric = (
            "make the profile with kind='numeric' (ms.monitor.prediction_profile(predictions, "
            "kind='numeric'))"
            if profiled
            else "pass kind='numeric'"
        )
        return (
            "give the outputs as booleans on both sides, or compare them as numbers (False "
            f"and True as 0 and 1): {numeric}"
        )

    def _date_text(self, name: str) -> str:
        """What to do about date-times written as text in a column declared numeric."""
        return (
            "give the outputs as date-times (not text) to compare them as time stamps, or "
            "leave kind unset to compare them as text"
        )

    def _column(
        self,
        name: str,
        reference: Column | Side,
        current: Column,
        precision: np.dtype[Any] | None,
        buffers: _SortBuffers,
    ) -> _Partial:
        if isinstance(reference, Column):
            # Both sides' sorted values go straight to the statistics, which trust them:
            # nothing to vouch for. Against a profile, the current values are compared
            # with its summary by functions that check their input unless vouched for.
            ref = buffers.side(reference, 0, precision, vouch=False)
            cur = buffers.side(current, 1, precision, vouch=False)
        else:
            ref = reference
            cur = buffers.side(current, 1, precision)
        # The sides' sorted values live in this thread's buffers: the figures computed
        # below are plain numbers, so nothing refers to them once this returns.
        return _compute_column(
            name,
            ref,
            cur,
            self._rule(name, ref, cur),
            bins=self.bins,
            eps=self.eps,
            min_values=self.min_values,
            declared=self._declared_or_profiled(name),
        )

    def _rule(self, name: str, ref: Side, cur: Side) -> _Rule:
        kind = kind_of(ref)
        method = self.column_methods.get(name)
        if method is None:  # no entry of its own: the check-wide method of its kind
            method = self.method if kind is ColumnKind.NUMERIC else self.categorical_method
        elif method == "auto":  # the automatic choice, whatever the check-wide method
            method = None
        allowed = NUMERIC_METHODS if kind is ColumnKind.NUMERIC else CATEGORICAL_METHODS
        if method is not None and method not in allowed:
            raise ConfigError(
                f"column {name!r} is {kind.value}; its method must be one of {list(allowed)}, "
                f"got {method!r}"
            )
        from_profile = isinstance(ref, NumericSide) and ref.values is None
        if method == "cvm" and from_profile:
            raise ConfigError(
                f"column {name!r}: Cramér-von Mises needs the reference data, and a profile "
                "keeps only a quantile summary; use method='ks'"
            )
        override = self.thresholds.get(name)
        if method is None:
            effect = _AUTO_EFFECT[kind]
            test = "chi2"
            if isinstance(ref, NumericSide) and isinstance(cur, NumericSide):
                fewest = min(ref.n_finite, cur.n_finite)
                # Cramér-von Mises needs two values a side; KS takes one (as SciPy's
                # ks_2samp does), which min_values=1 lets through.
                small = CVM_MIN_VALUES <= fewest < AUTO_SMALL_SAMPLE
                test = "cvm" if small and not from_profile else "ks"
            threshold = override if override is not None else DISTANCE_THRESHOLDS[effect]
            return _Rule(test, effect, self.alpha, threshold, None)
        if method in _TESTS:
            if override is not None and not 0 < override < 1:
                raise ConfigError(
                    f"thresholds[{name!r}]={override!r} is the significance level of "
                    f"{method!r} for this column: give a number in (0, 1), as for alpha"
                )
            alpha = override if override is not None else self.alpha
            return _Rule(method, _AUTO_EFFECT[kind], alpha, None, None)
        threshold = override if override is not None else DISTANCE_THRESHOLDS[method]
        warn = PSI_WARN_THRESHOLD if method == "psi" and threshold > PSI_WARN_THRESHOLD else None
        return _Rule(method, method, threshold, threshold, warn)

    def _result(self, partials: list[_Partial], left_out: Mapping[str, str]) -> CheckResult:
        p_values = _adjusted([partial.raw_p for partial in partials], self.correction)
        signal_p = {
            signal: _adjusted(
                [
                    next((raw for s, _, _, raw in partial.signals if s == signal), None)
                    for partial in partials
                ],
                self.correction,
            )
            for signal in ("missing", "infinite")
        }
        columns = []
        for i, partial in enumerate(partials):
            details = dict(partial.details)
            notes = []
            unusable = [0.0, 0.0]  # missing or non-finite share: reference, current
            for signal, ref_rate, cur_rate, _ in partial.signals:
                p = signal_p[signal][i]
                assert p is not None
                details[f"{signal}_rate"] = [ref_rate, cur_rate]
                details[f"{signal}_p_value"] = p
                unusable = [unusable[0] + ref_rate, unusable[1] + cur_rate]
                low, high = sorted((ref_rate, cur_rate))
                if p < self.alpha and rate_increase_reaches(low, high, self.missing_threshold):
                    before, after = shares(ref_rate, cur_rate)
                    notes.append(f"{signal} rate {before} -> {after} (p={_p(p)})")
            limit = missing_rate_finding(unusable[0], unusable[1], self.max_missing_rate)
            columns.append(self._column_result(partial, p_values[i], details, notes, limit))
        for name, why in left_out.items():
            columns.append(
                DriftColumnResult(
                    name=name, status=Status.SKIP, reason=why, details={"left_out": why}
                )
            )
        return self._summarise(columns)

    def _column_result(
        self,
        partial: _Partial,
        p: float | None,
        details: dict[str, Any],
        notes: list[str],
        limit: str | None,
    ) -> DriftColumnResult:
        rule = partial.rule
        common: dict[str, Any] = {
            "name": partial.name,
            "kind": partial.kind.value,
            "method": rule.method,
            "threshold": rule.threshold,
            "effect_method": rule.effect_method,
            "effect_threshold": rule.effect_threshold,
            "details": details,
        }
        if limit is not None:
            details["max_missing_rate_exceeded"] = True
        if partial.refused is not None:
            # Drifted whatever the test says (one 2 among thousands of flags is no
            # significant shift): values the reference cannot hold are a change of the
            # data, as a category never seen is. Counted as a drifted column, not an
            # error: an error would hide the other columns' drift (a check in error, a
            # monitoring window a source error) where a drifted batch must fail.
            details["values_the_reference_cannot_hold"] = True
            if limit is not None:
                notes.insert(0, limit)
            return DriftColumnResult(
                status=Status.FAIL,
                reason="; ".join([partial.refused, *notes]),
                statistic=partial.statistic,
                p_value=p,
                effect_size=partial.effect_size,
                drifted=True,
                **common,
            )
        if partial.error is not None:
            return DriftColumnResult(
                status=Status.ERROR, reason="; ".join([partial.error, *notes]), **common
            )
        if partial.skip is not None or partial.caution is not None:
            why = partial.skip if partial.skip is not None else partial.caution
            assert why is not None
            details["not_tested"] = why
            status = Status.SKIP if partial.skip is not None else Status.WARN
            if limit is not None:
                status, notes = Status.FAIL, [limit, *notes]
            return DriftColumnResult(status=status, reason="; ".join([why, *notes]), **common)
        drifted, status, reason = _verdict(partial, p)
        if notes and status is Status.PASS:
            status = Status.WARN  # a changed missing or infinite rate is worth a look
        if limit is not None:
            status = Status.FAIL
            notes.insert(0, limit)
        unseen = details.get("unseen_categories")
        if unseen:
            shown = ", ".join(repr(label) for label in list(unseen)[:5])
            n_unseen = details.get("n_unseen_categories", len(unseen))
            more = f" and {n_unseen - 5} more" if n_unseen > 5 else ""
            notes.insert(0, f"unseen categories: {shown}{more}")
        return DriftColumnResult(
            status=status,
            reason="; ".join([reason, *notes]),
            statistic=partial.statistic,
            p_value=p,
            effect_size=partial.effect_size,
            drifted=drifted,
            **common,
        )

    def _summarise(self, columns: list[DriftColumnResult]) -> CheckResult:  # noqa: PLR0912 - one branch per overall outcome (errors, too missing, share, drifted, warned) in precedence order
        errors = [column for column in columns if column.status is Status.ERROR]
        skipped = [column for column in columns if column.status is Status.SKIP]
        # The verdict comes from the columns that could be tested; the others say why not.
        computed = [column for column in columns if column.drifted is not None]
        drifted = [column.name for column in computed if column.drifted]
        too_missing = [c.name for c in columns if c.details.get("max_missing_rate_exceeded")]
        warned = [
            column.name
            for column in columns
            if column.status is Status.WARN and column.name not in drifted
        ]
        share = len(drifted) / len(computed) if computed else None
        drift_text = f"{len(drifted)} of {len(computed)} columns drifted"
        if share is not None:
            shown_share, shown_limit = _percents(share, self.drift_share)
            drift_text += f" ({shown_share} {'>=' if share >= self.drift_share else '<'} "
            drift_text += f"{shown_limit})"
        if drifted:
            drift_text += f": {_names(drifted)}"
        if errors:
            status = Status.ERROR
            listed = "; ".join(f"{column.name!r}: {column.reason}" for column in errors[:3])
            reason = f"{len(errors)} of {len(columns)} columns could not be computed: {listed}"
            if drifted:
                reason += f"; {drift_text}"
        elif not computed and not too_missing:
            status = Status.ERROR
            listed = "; ".join(f"{column.name!r}: {column.reason}" for column in columns[:3])
            reason = f"no column could be tested: {listed}"
        elif too_missing or (share is not None and share >= self.drift_share):
            status = Status.FAIL
            parts = []
            if too_missing:
                parts.append(
                    f"{len(too_missing)} column{'s' if len(too_missing) != 1 else ''} "
                    f"above max_missing_rate {_limit_percent(self.max_missing_rate)}: "
                    f"{_names(too_missing)}"
                )
            if share is not None and share >= self.drift_share:
                parts.insert(0, f"data set drifted: {drift_text}")
            elif drifted:
                parts.append(drift_text)
            reason = "; ".join(parts)
        elif drifted:
            status = Status.WARN
            reason = drift_text
        elif warned:
            status = Status.WARN
            reason = f"no column drifted; {len(warned)} with warnings: {_names(warned)}"
        else:
            status = Status.PASS
            reason = f"no drift in {len(computed)} column{'s' if len(computed) != 1 else ''}"
        if skipped and (status is not Status.ERROR or errors):
            reason += f"; {len(skipped)} not tested: {_names([c.name for c in skipped])}"
        return CheckResult(
            name=self.name,
            status=status,
            severity=self.severity,
            reason=reason,
            statistic=share,
            threshold=self.drift_share,
            columns=columns,
            details={
                "n_columns": len(columns),
                "n_tested": len(computed),
                "n_drifted": len(drifted),
                "drifted_columns": drifted,
                "n_errors": len(errors),
                "skipped_columns": [column.name for column in skipped],
                "missing_rate_columns": too_missing,
                "alpha": self.alpha,
                "correction": self.correction,
            },
        )


class _SortBuffers:
    """Per thread, one reusable array for a reference column's sorted copy and one for a
    current column's. Sorting column after column into new arrays makes the allocator
    hand back and fault in fresh pages each time (measured at 1M x 20: 43 ms of CPU time
    beside the sort's 250 ms); the buffers are faulted in once per run. Each thread only
    ever touches its own pair, and a pair is reused only after the column sorted into it
    is done."""

    def __init__(self, reference_rows: int, current_rows: int) -> None:
        self._sizes = (reference_rows, current_rows)
        self._local = threading.local()

    def pair(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        found: tuple[NDArray[np.float64], NDArray[np.float64]] | None
        found = getattr(self._local, "pair", None)
        if found is None:
            found = (np.empty(self._sizes[0]), np.empty(self._sizes[1]))
            self._local.pair = found
        return found

    def side(
        self,
        column: Column,
        which: int,
        precision: np.dtype[Any] | None = None,
        *,
        vouch: bool = True,
    ) -> Side:
        """The side of ``column``; a numeric one is sorted into this thread's reference
        (``which=0``) or current (1) buffer, so a table without numeric columns allocates
        none. ``precision`` (float32, float16) rounds a wider column's values to it first;
        a column of that dtype already is left as it is. ``vouch=False``: the sorted values
        go to no statistic that checks its input (see ``sorted_finite_counts``)."""
        if column.kind is ColumnKind.NUMERIC:
            narrow = None if precision is None or column.dtype == precision.name else precision
            values, n_missing, n_inf = sorted_finite_counts(
                column.values, self.pair()[which], precision=narrow, vouch=vouch
            )
            return NumericSide(n_rows=len(column), n_missing=n_missing, n_inf=n_inf, values=values)
        return side_of(column)


_NARROW_FLOATS: dict[str, np.dtype[Any]] = {
    "float16": np.dtype(np.float16),
    "float32": np.dtype(np.float32),
}


def _flag_labels(reference: Column) -> list[str] | None:
    """The labels of a reference column of text that may spell a flag ("true"/"false"),
    for :func:`match_flags`; ``None`` when its first values show it does not: text columns
    are not all counted twice to find the few that do."""
    if reference.encoded is None:
        first = reference.values[:64].tolist()
        if any(not is_missing(cell) and cell not in BOOLEAN_CELLS for cell in first):
            return None
    return list(reference.category_counts()[0])


def _precision(reference: str, current: str) -> np.dtype[Any] | None:
    """The precision two numeric columns of these dtypes are compared at: the narrowest
    float dtype of the two when one is float32 or float16 and they differ, else ``None``
    (full float64). 0.1 read as float32 (a Parquet file) is 0.10000000149011612, as
    float64 (a CSV file) 0.1: rounded to float32 both are the same number.

    Examples
    --------
    >>> _precision("float32", "float64")
    dtype('float32')
    >>> _precision("float64", "float64") is None, _precision("float32", "float32") is None
    (True, True)
    """
    if reference == current:
        return None
    narrow = [_NARROW_FLOATS[dtype] for dtype in (reference, current) if dtype in _NARROW_FLOATS]
    if not narrow:
        return None
    return min(narrow, key=lambda dtype: int(dtype.itemsize))


#: Distinct codes that the counts taken ahead of the columns' statistics may hold in all
#: (16 bytes each): columns past it are counted when their turn comes.
_TALLIES_HELD = 1 << 20


def _workers(n_jobs: int | None, n_columns: int) -> int:
    """Threads for ``n_jobs`` (joblib's meaning: -1 all cores, -2 all but one, ...),
    never more than there are columns."""
    if n_jobs is None or n_columns < 2:
        return 1
    wanted = n_jobs if n_jobs > 0 else (os.cpu_count() or 1) + 1 + n_jobs
    return max(1, min(wanted, n_columns))


def _names(names: list[str], shown: int = 5) -> str:
    text = ", ".join(repr(name) for name in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _same_columns(reference: list[str], current: list[str]) -> None:
    absent = [name for name in reference if name not in current]
    extra = [name for name in current if name not in reference]
    if absent or extra:
        parts = []
        if absent:
            parts.append(f"current lacks column(s) {absent}")
        if extra:
            parts.append(f"current has column(s) {extra} that the reference does not")
        raise ColumnMismatch("; ".join(parts) + "; pass columns=[...] to compare a subset")


@attrs.frozen(kw_only=True)
class DataDrift(_DriftCheck):
    """Has the data moved away from the reference? Column by column, and as a whole.

    Each column is compared with its reference column by a method chosen per column
    (below); p-values are corrected across columns; the data set has drifted when the share
    of drifted columns reaches ``drift_share``. The result's ``columns[name]`` carry the
    method, statistic, corrected p-value, threshold, effect size and verdict of each column.

    The automatic choice (``method=None``), the default:

    ========================  ===================================  =============================
    column                    test (corrected p < ``alpha``)       AND effect size (threshold)
    ========================  ===================================  =============================
    numeric, a sample < 1000  Cramér-von Mises                     Wasserstein / ref. std (0.1)
    numeric, both >= 1000     Kolmogorov-Smirnov                   Wasserstein / ref. std (0.1)
    categorical               chi-square (unseen categories:       Jensen-Shannon distance,
                              one extra bucket)                    base 2 (0.1)
    ========================  ===================================  =============================

    Both must agree, so huge samples do not flag trivial shifts and small ones do not flag
    noise. A method given by name decides alone: a test by its corrected p-value, a distance
    by its threshold (``DISTANCE_THRESHOLDS``; PSI also warns from 0.1). Sizes count finite
    values; a profile reference always uses KS, and so does a side with a single value
    (``min_values=1``), as Cramér-von Mises needs two.

    Missing values and infinities are left out of the statistics and compared on their
    own: a change of the missing (or infinite) rate by at least ``missing_threshold`` with a
    corrected two-proportion p-value below ``alpha`` makes the column ``warn``. A column
    whose share of missing or non-finite values exceeds ``max_missing_rate`` (default
    50%) while being at least ``max_missing_rate / 2`` above the reference's (a column
    entirely ``+inf``, 90% NaN where the reference had none) ``fail`` s, and so does the
    check, whatever ``drift_share``.

    A column that cannot be judged is ``skip``, with the reason: constant (the same single
    value) in both samples, no finite values on one side, or fewer than ``min_values``
    values on either side ("too few values to judge"). A numeric reference that is
    constant while the current column is not, or is constant at another value, is a
    ``warn`` (distances scaled by its spread are undefined; declare it categorical to test
    it). The check's verdict comes from the columns that could be tested; when none could,
    it is an ``error``.

    Categorical columns that look like identifiers (at least ``ID_DISTINCT_SHARE`` of 50
    or more reference values distinct) or hold date strings are not compared as
    categories (every new batch would "drift"): they ``warn`` by name, saying how to leave
    them out (``exclude=``) or declare their kind.

    Parameters
    ----------
    reference
        The reference data (a dict of 1-D arrays, a 2-D or structured numpy array, a pandas
        or polars data frame), or a :class:`DriftProfile` of it.
    current
        The data to compare, in any of those forms, with the same columns.
    method : {None, "ks", "wasserstein", "psi", "js", "cvm"}
        Method for numeric columns; ``None`` is the automatic choice.
    categorical_method : {None, "chi2", "psi", "js"}
        Method for categorical columns; ``None`` is the automatic choice.
    column_methods : mapping, optional
        Per column, a method replacing the two above, or ``"auto"`` for the automatic
        choice whatever they say; a column without an entry (or with ``None``) takes
        ``method`` or ``categorical_method``, by its kind.
    thresholds : mapping, optional
        Per column, the threshold that replaces the default: the effect-size threshold under
        the automatic choice, ``alpha`` for a test, the drift threshold of a distance.
    alpha : float
        Significance level of the corrected p-values.
    correction : {"bh", "holm", "bonferroni", "none"}
        Correction across columns: Benjamini-Hochberg (false discovery rate), Holm or
        Bonferroni (family-wise error), or none.
    drift_share : float
        Share of drifted columns at which the data set has drifted (the check fails).
    missing_threshold : float
        Smallest change of a missing or infinite rate worth a warning.
    max_missing_rate : float
        Share of missing or non-finite values above which a column fails (when at least
        half of it above the reference's share); 1 turns the limit off.
    min_values : int
        Fewest finite (numeric) or present (categorical) values a column needs on each
        side to be judged.
    bins, eps : int, float
        ``bins``: the number of reference-quantile bins (outer edges open) of PSI and of
        binned Jensen-Shannon. ``eps``: PSI only, the floor each bin's (or category's)
        share is raised to before the logarithm (default 1e-4), so an empty one counts
        as that share; Jensen-Shannon needs none.
    columns : sequence of str, optional
        For 2-D arrays the names of the columns; otherwise the columns to compare.
    exclude : sequence of str, optional
        Columns to leave out of both samples (identifiers, free text).
    kinds : mapping, optional
        ``{column: "numeric" | "categorical"}`` overriding the kind implied by the dtype.
        A datetime column declared ``numeric`` is compared as time stamps (seconds since
        the epoch); one not declared is left out, as a ``skip`` column saying so. A
        declared kind also silences the identifier and date-text warnings below.
    categorical_max_unique : int, optional
        Numeric columns with at most this many distinct reference values are categorical.
    n_jobs : int, optional
        Threads over columns (at most one per column; -1 one per core, -2 all cores but
        one, as in joblib); ``None`` or 1 computes them one by one. Results are the same
        whatever ``n_jobs``.
    severity : Severity or str
        ``blocking`` (default) or ``advisory``.
    name : str
        The check's name in reports.

    Raises
    ------
    ConfigError
        At construction, for a setting outside what is allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import DataDrift
    >>> rng = np.random.default_rng(0)
    >>> reference = {"age": rng.normal(40, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> current = {"age": rng.normal(45, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> result = DataDrift(reference=reference, current=current).run()
    >>> result.status.value, result.statistic
    ('fail', 0.5)
    >>> age = result.columns["age"]
    >>> age.method, age.drifted, round(age.effect_size, 1), age.effect_threshold
    ('ks', True, 0.5, 0.1)
    >>> result.columns["plan"].drifted
    False
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **_DriftCheck._parameter_constraints,
        "columns": (None, Names()),
        "exclude": (None, Names()),
        "kinds": (None, KINDS),
        "categorical_max_unique": (None, Interval(int, 1, None)),
    }

    columns: tuple[str, ...] | None = attrs.field(default=None, converter=_columns_arg)
    exclude: tuple[str, ...] = attrs.field(default=None, converter=_exclude_arg)
    kinds: Mapping[str, ColumnKind] = attrs.field(default=None, converter=parse_kinds)
    categorical_max_unique: int | None = None
    name: str = "data_drift"

    def _raw(self, data: Any, what: str, skip: Sequence[str] = ()) -> dict[str, RawColumn]:
        # A left-out column asked for by name (columns=) is read, for the profile's own
        # error to name it ("the profile has no column"), not "current has no columns".
        asked = set(self.columns or ())
        exclude = (*self.exclude, *(name for name in skip if name not in asked))
        # Row labels pandas stored as a Parquet column are not data, as the CLI reads
        # them, unless asked for or recorded by the profile (one of an older version,
        # which read them as a column: dropped, they would be missing).
        data, _ = split_pandas_index(data, keep=self._labels_kept(), what=what)
        return raw_columns(data, what=what, columns=self.columns, exclude=exclude, encode=True)

    def _labels_kept(self) -> set[str]:
        """The columns named like pandas row labels kept as data: those asked for, and
        those the profile records (see :meth:`_raw`)."""
        keep = set(self.columns or ())
        if isinstance(self.reference, DriftProfile):
            keep.update(self.reference.schema.names, self.reference.left_out)
        return keep

    def _row_labels(self) -> dict[str, str]:
        # Left out in sight, as the profile's left-out columns are: a polars column is
        # known by its name alone. columns= chooses the columns: none other is reported.
        if self.columns is not None:
            return {}
        keep = self._labels_kept()
        sides = [self.current]
        if not isinstance(self.reference, DriftProfile):
            sides.insert(0, self.reference)
        dropped = [name for data in sides for name in split_pandas_index(data, keep=keep)[1]]
        return {
            name: row_labels_reason(name)
            for name in dict.fromkeys(dropped)
            if name not in self.exclude
        }

    def _declared(self, name: str) -> bool:
        return name in self.kinds

    def _clash_advice(self, name: str, profiled: bool) -> str:
        quoted = shlex.quote(name)
        reference = (
            "make the profile again from a reference read with its dates (Parquet), "
            f"declaring kinds={{{name!r}: 'numeric'}} (--numeric {quoted})"
            if profiled
            else f"read the reference's column as date-times (Parquet) and declare "
            f"kinds={{{name!r}: 'numeric'}} (--numeric {quoted})"
        )
        return (
            f"{reference}; convert the current column to text; or leave it out "
            f"(exclude=[{name!r}], --exclude {quoted})"
        )

    def _flag_advice(self, name: str, profiled: bool) -> str:
        quoted = shlex.quote(name)
        numeric = (
            "make the profile again declaring " if profiled else "declare "
        ) + f"kinds={{{name!r}: 'numeric'}} (--numeric {quoted})"
        return (
            "convert the current column to booleans; compare both sides as numbers (False "
            f"and True as 0 and 1): {numeric}; or leave it out (exclude=[{name!r}], "
            f"--exclude {quoted})"
        )

    def _date_text(self, name: str) -> str:
        return (
            "compare Parquet with Parquet (date-times are read as such there), or leave "
            f"the column out (exclude=[{name!r}], --exclude {shlex.quote(name)})"
        )

    def _excluded(self) -> tuple[str, ...]:
        return self.exclude

    def _reference_kinds(self, raw: Mapping[str, RawColumn]) -> dict[str, ColumnKind]:
        unknown = sorted(set(self.kinds) - set(raw))
        if unknown:
            raise ConfigError(f"kinds names unknown column(s) {unknown}")
        return dict(self.kinds)

    def _max_unique(self) -> int | None:
        return self.categorical_max_unique

    def _profile_names(self, profile: DriftProfile) -> list[str]:
        if self.categorical_max_unique is not None:
            raise ConfigError(
                "a profile fixed the kinds of its columns when it was made; pass kinds= and "
                "categorical_max_unique= to DriftProfile.from_data instead"
            )
        # kinds= that the profile agrees with declares them (as DriftProfile.from_data's
        # kinds= does); one it contradicts cannot be honoured.
        for name, kind in self.kinds.items():
            if name not in profile.schema.names:
                raise ConfigError(
                    f"kinds names column {name!r}, which the profile does not compare"
                    + (f" (left out: {profile.left_out[name]})" if name in profile.left_out else "")
                    + "; a profile fixed the kinds of its columns when it was made: pass "
                    "kinds= to DriftProfile.from_data instead"
                )
            recorded = profile.schema[name].kind
            if recorded is not kind:
                raise ConfigError(
                    f"a profile fixed the kinds of its columns when it was made: {name!r} is "
                    f"{recorded.value} there, not {kind.value}; pass kinds= to "
                    "DriftProfile.from_data instead"
                )
        if self.columns is None:
            return list(profile.schema.names)
        absent = [name for name in self.columns if name not in profile.schema.names]
        if absent:
            raise ColumnMismatch(f"the profile has no column {absent[0]!r} (asked for {absent})")
        return list(self.columns)


@attrs.frozen(kw_only=True)
class PredictionDrift(_DriftCheck):
    """Have the model's outputs moved away from its reference outputs?

    The engine of :class:`DataDrift` on predictions: scores or probabilities are numeric,
    predicted classes categorical. A 1-D array is one column, ``"prediction"``; a 2-D
    array of class probabilities has one numeric column per class (``"class_0"``, ... or
    the names in ``columns``); named inputs (dicts, data frames) keep their names. The data
    set drifts when the share of drifted outputs reaches ``drift_share``.

    Parameters
    ----------
    reference, current
        Predictions of the reference and current data (or a :class:`DriftProfile` of the
        reference predictions).
    kind : {None, "numeric", "categorical"}
        How to compare the outputs. ``None``: floating-point outputs are numeric, others
        (integer, boolean, string labels) are classes, as are integers of a nullable type
        (pandas ``Int64``, polars, arrow) that NumPy reads as floats for a missing value.
    columns : sequence of str, optional
        Names of a 2-D array's columns, or the columns of named inputs to compare.

    The other parameters are those of :class:`DataDrift`.

    Examples
    --------
    >>> import numpy as np
    >>> from modelship.checks import PredictionDrift
    >>> rng = np.random.default_rng(1)
    >>> reference = rng.choice(["approve", "review", "deny"], 4000, p=[0.7, 0.2, 0.1])
    >>> current = rng.choice(["approve", "review", "deny"], 4000, p=[0.4, 0.3, 0.3])
    >>> result = PredictionDrift(reference=reference, current=current).run()
    >>> column = result.columns["prediction"]
    >>> column.kind, column.method, column.drifted
    ('categorical', 'chi2', True)
    >>> scores = PredictionDrift(reference=rng.random(4000), current=rng.random(4000)).run()
    >>> scores.columns["prediction"].kind, scores.status.value
    ('numeric', 'pass')
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **_DriftCheck._parameter_constraints,
        "columns": (None, Names()),
        "kind": (None, Options(ColumnKind)),
    }

    columns: tuple[str, ...] | None = attrs.field(default=None, converter=_columns_arg)
    kind: ColumnKind | None = attrs.field(default=None, converter=_optional_kind)
    name: str = "prediction_drift"

    def _raw(self, data: Any, what: str, skip: Sequence[str] = ()) -> dict[str, RawColumn]:
        if not _named(data):
            encoded = encoded_column(data)  # text or categories: read by their codes
            if encoded is not None and (self.columns is None or len(self.columns) == 1):
                (name,) = self._unnamed_names(1, 1, what)
                return raw_columns({name: encoded}, what=f"{what} predictions", encode=True)
            array = column_array(data, f"{what} predictions")
            if array.dtype.names is None and array.ndim in (1, 2):
                width = 1 if array.ndim == 1 else array.shape[1]
                names = self._unnamed_names(width, array.ndim, what)
                return raw_columns(array, what=f"{what} predictions", columns=names, encode=True)
        return raw_columns(
            data, what=f"{what} predictions", columns=self.columns, exclude=skip, encode=True
        )

    def _unnamed_names(self, width: int, ndim: int, what: str) -> tuple[str, ...]:
        """The names of unnamed predictions (an array, a series): ``columns=``; else, for
        the current data against a profile, the profile's columns in order (one output:
        whatever the profile calls it, "prediction" or DriftProfile.from_data's "0");
        else ``"prediction"`` for one output, ``"class_0"``, ... for a 2-D array."""
        if self.columns is not None:
            return self.columns
        profile = self.reference
        if what == "current" and isinstance(profile, DriftProfile):
            names = tuple(profile.schema.names)
            if len(names) == width and not profile.left_out:
                return names
            raise ColumnMismatch(
                f"the profile compares {len(names)} column(s) {list(names)}"
                + (f" and left out {sorted(profile.left_out)}" if profile.left_out else "")
                + f", but the current predictions are unnamed with {width} column(s): make "
                "a profile of one output per row with ms.monitor.prediction_profile("
                "predictions), or name the current columns (columns=[...])"
            )
        if ndim == 1:
            return ("prediction",)
        return tuple(f"class_{j}" for j in range(width))

    def _declared(self, name: str) -> bool:
        return self.kind is not None

    def _profile_names(self, profile: DriftProfile) -> list[str]:
        names = list(profile.schema.names)
        if self.kind is not None:
            # kind= cannot change what a profile recorded: a numeric quantile summary
            # cannot be read as class counts, nor counts as a summary.
            other = [name for name in names if profile.schema[name].kind is not self.kind]
            if other:
                recorded = profile.schema[other[0]].kind.value
                raise ConfigError(
                    f"kind={self.kind.value!r} contradicts the profile, which recorded "
                    f"{other[0]!r} as {recorded}: make the profile with that kind, "
                    "ms.monitor.prediction_profile(predictions, "
                    f"kind={self.kind.value!r}), or leave kind= out"
                )
        return names

    def _reference_kinds(self, raw: Mapping[str, RawColumn]) -> dict[str, ColumnKind]:
        if self.kind is not None:
            return dict.fromkeys(raw, self.kind)
        return prediction_kinds(self.reference, raw)


def prediction_kinds(reference: Any, raw: Mapping[str, RawColumn]) -> dict[str, ColumnKind]:
    """The kinds :class:`PredictionDrift` (without ``kind=``) gives the columns ``raw`` of
    ``reference`` predictions: floating point is numeric, anything else classes. An
    object column (Python numbers with a ``None``) is typed by its present values, as
    :class:`DataDrift` types it: floats are scores, integers classes.

    Integer classes of a nullable type (pandas Int64, polars, arrow) read as float64 when
    a value is missing: their own dtype, not NumPy's, says they are classes.
    ``ms.monitor.prediction_profile`` decides by this too, so a profile of predictions
    is compared as the predictions themselves would be.
    """
    if _named(reference):
        nullable = nullable_dtypes(reference)
    else:
        found = nullable_dtype(reference)
        nullable = {} if found is None or len(raw) != 1 else dict.fromkeys(raw, found)
    kinds = {}
    for name, values in raw.items():
        kind = nullable[name].kind if name in nullable else dtype_kind(values)
        if kind == "O":
            kind = _object_kind(name, values)
        kinds[name] = ColumnKind.NUMERIC if kind == "f" else ColumnKind.CATEGORICAL
    return kinds


def _object_kind(name: str, values: RawColumn) -> str:
    """The dtype kind of an object column's present values, typed as :func:`make_column`
    types them: Python floats with a ``None`` among them are ``"f"`` (scores), as the same
    floats in an array are; integers, booleans and text keep their own kind (classes).

    A column that cannot be typed is ``"O"``: the check types it again, and says why.
    """
    try:
        dtype = make_column(name, values).dtype
    except CheckInputError:
        return "O"
    return "O" if dtype in ("str", "object") else np.dtype(dtype).kind


def prediction_kind(predictions: Any) -> ColumnKind:
    """The kind :class:`PredictionDrift` (without ``kind=``) gives one column of
    ``predictions`` (see :func:`prediction_kinds`).

    Examples
    --------
    >>> import pandas as pd
    >>> prediction_kind(pd.Series([1, None, 2], dtype="Int64")).value
    'categorical'
    >>> prediction_kind([0.25, 0.5]).value, prediction_kind([0.25, None]).value
    ('numeric', 'numeric')
    >>> prediction_kind([1, None, 2]).value
    'categorical'
    """
    raw = raw_columns({"prediction": predictions}, what="predictions", encode=True)
    return prediction_kinds(predictions, raw)["prediction"]


def _named(data: Any) -> bool:
    """Whether predictions come as named columns (a mapping, a data frame, an arrow table);
    anything else is one column of scores or classes, or a 2-D array of probabilities."""
    return isinstance(data, Mapping) or hasattr(data, "columns") or hasattr(data, "column_names")


# The checks' parameter constraints are normalised once per class, on first use: done here,
# at import, so that the first check a process makes does not pay for it (70 us of a
# DataDrift's construction, which is otherwise 20 us).
for _check_class in (DataDrift, PredictionDrift):
    declared_constraints(_check_class)
