"""Canary analysis: is the canary worse than a baseline deployed at the same time and size?

Per metric, the canary's values are compared with the baseline's by a Mann-Whitney U test
and the Hodges-Lehmann shift (canary minus baseline) with its confidence interval at
``1 - alpha``. A 0/1 metric (``kind="binary"``: one error flag or one correctness flag
per request) is judged on the difference of its rates instead, with Newcombe's interval
(:func:`~modelship.monitor.proportion_difference`): the Hodges-Lehmann interval of 0/1
values collapses onto 0 or 1 and cannot show a difference of rates. Under the default
``kind="auto"``, values that are all 0 or 1 are judged on their rates, and fail too when
their shift lies beyond the tolerance (they may be flags, or whole numbers of a
continuous metric). A metric is judged:

* ``inconclusive`` when the test cannot reach ``alpha`` at these sample sizes, by the
  method it uses on these values (without ties and with a sample of at most 8 values the
  smallest two-sided p-value is ``2 / C(n + m, n)``, 4 values each for alpha = 0.05; any
  tie makes it the normal approximation, whose smallest p-value can be far larger: one
  value against 200 tied ones reaches only 0.086), or a sample is below the metric's
  ``min_samples``; and whenever the interval is unbounded on the side that would show
  the canary worse: no values could fail it, so it never passes (an interval at that
  infinity alone, ``[-inf, -inf]`` where higher is worse, says the canary is better:
  a baseline above every bucket);
* for a 0/1 metric judged on its rates, ``inconclusive`` too instead of a pass when
  even a canary whose every value is bad (1 where higher is worse, 0 where lower is)
  would not be shown worse beyond the tolerance, while the baseline's rate leaves room
  for such a canary;
* ``fail`` (worse) only when the whole interval lies beyond the tolerance in the bad
  direction: ``ci_low > tolerance`` for a metric where higher is worse (latency, errors),
  ``ci_high < -tolerance`` where lower is worse (accuracy);
* ``inconclusive`` when the test rejects (``p < alpha``) in the bad direction but the
  shift interval has collapsed to ``[0, 0]``: with tied values it no longer shows the
  difference the test sees, so it cannot say "not worse" (without ties the two always
  agree; an interval with a width, such as ``[0, 1]`` for whole milliseconds, is judged
  against the tolerance as usual);
* for a 0/1 metric judged on its rates, ``inconclusive`` too when the pooled z-test
  rejects (``p < alpha``) with the canary worse while Newcombe's interval still reaches
  0 (the two methods disagree near alpha: 1 error in 16 against 0 in 61 has
  ``p = 0.049`` and ``[-0.016, 0.28]``); more values decide;
* with ``CanaryMetric(require_bound=True)``, ``inconclusive`` instead of a pass while
  the interval's bad-side bound lies beyond the tolerance (``ci_high > tolerance``
  where higher is worse, ``ci_low < -tolerance`` where lower is): by default a pass
  means only "not shown worse", which a few values always are;
* ``pass`` otherwise;
* ``no_data`` and ``error`` when the source had nothing or failed: missing values are
  never zeros, and NaN values are dropped before the test; ``error`` too when the shift
  is undefined. Infinite values (a latency quantile above the histogram's highest finite
  bucket) are ranks: ``+inf`` is worse than any finite value, two equal infinities tie
  (a 0 difference), so a canary slower than every bucket fails on an infinite shift; the
  shift is undefined when half the pairs or more compare equal infinities (both slots
  above the buckets: widen them).

The metrics' verdicts combine into a score, the share of the judged weight that passed
(Kayenta's idea), and a verdict:

1. a ``critical`` metric that fails makes the analysis ``fail``;
2. if every metric was judged: ``score >= pass_score`` (75) is ``pass``,
   ``score >= marginal_score`` (50) is ``marginal``, lower is ``fail``;
3. otherwise, ``fail`` if even counting every unjudged metric as passed the score would
   stay below ``marginal_score``; else the worst unjudged outcome (``error``, then
   ``no_data``, then ``inconclusive``): the gate holds, never passes on missing data.

As a gate, ``marginal`` counts as ``inconclusive`` (:attr:`CanaryReport.gate_outcome`).

Each reason is one line naming the interval and test, its level and the sample sizes:
``not worse beyond tolerance 0: rate 0 vs 0, difference 0 [-0.01277, 0.5615] (Newcombe
95% interval, pooled z-test p=1; n=3 vs 297)``.

Examples
--------
>>> import numpy as np
>>> from modelship.monitor import CanaryMetric, compare_metric
>>> rng = np.random.default_rng(0)
>>> judged = compare_metric(rng.normal(0.30, 0.02, 300), rng.normal(0.20, 0.02, 300),
...                         CanaryMetric("inference_latency_seconds", tolerance=0.01))
>>> judged.verdict, judged.reason.split(":")[0]
('fail', 'worse')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt

from modelship._params import (
    Constraints,
    Interval,
    Options,
    Text,
    check_parameters,
    validate_params,
)
from modelship._rollback._constraints import (
    CANARY_ANALYSIS,
    LEVEL,
    SLOT,
    STAT,
    TIME,
    SequenceOf,
)
from modelship._rollback._policy import VERDICTS, Verdict, same_slot
from modelship._rollback._sources import (
    MetricSource,
    NoData,
    Outcome,
    SourceError,
    answer_to,
    encode_float,
    source_time,
)
from modelship.errors import CheckInputError, ConfigError
from modelship.monitor._compose import RoutedSource
from modelship.monitor._prometheus import SeriesSource
from modelship.monitor._stats import (
    MannWhitneyResult,
    ProportionDifference,
    mann_whitney,
    mann_whitney_min_p,
    mann_whitney_reachable_p,
    proportion_difference,
)

__all__ = [
    "MARGINAL_SCORE",
    "PASS_SCORE",
    "CanaryMetric",
    "CanaryReport",
    "MetricJudgement",
    "canary_analysis",
    "compare_metric",
]

#: Score (0-100) at or above which a fully judged analysis passes.
PASS_SCORE = 75.0
#: Score at or above which it is marginal (held, not promoted); below, it fails.
MARGINAL_SCORE = 50.0

CanaryVerdict = Literal["pass", "marginal", "fail", "inconclusive", "no_data", "error"]


@attrs.frozen
class CanaryMetric:
    """One metric of a canary analysis.

    Parameters
    ----------
    metric : str
    direction : {"increase", "decrease", "either"}
        Which change is worse: ``increase`` for latency and errors, ``decrease`` for
        accuracy.
    tolerance : float
        Shift (in the metric's units) the canary may have in the bad direction before it
        counts as worse.
    weight : float
        Weight in the score.
    critical : bool
        A failure of this metric fails the analysis whatever the score.
    min_samples : int
        Values per slot below which the metric is inconclusive, on top of the test's own
        minimum.
    stat : str, optional
        For a source that cannot return raw observations (Prometheus), the statistic
        whose series is compared (``p95``: one point per step).
    kind : {"auto", "continuous", "binary"}
        ``binary``: every value is 0 or 1 (an error flag, a per-request correctness), and
        the metric is judged on the difference of the two rates with Newcombe's interval
        (the tolerance is then a difference of rates: 0.02 is two percentage points); a
        value other than 0 or 1 makes the metric ``error``. ``continuous``: the
        Hodges-Lehmann shift and its interval, whatever the values. ``auto`` (default):
        when every value of both slots is 0 or 1 (and no ``stat`` is given), judged on
        the rates, and failed too when the shift lies beyond the tolerance: 0/1 values
        may be flags or whole numbers of a continuous metric (latencies of 0 or 1 s),
        and a tolerance can be meant on either scale; otherwise ``continuous``. Declare
        the kind to judge one way.
    require_bound : bool
        By default (False, Kayenta's semantics) ``pass`` means only "not shown worse
        beyond the tolerance": a few canary values, whose interval is wide, pass too
        (three requests without an error pass against 297 without one). With True, a
        pass also needs the interval's bad-side bound within the tolerance (``ci_high <=
        tolerance`` for ``increase``, ``ci_low >= -tolerance`` for ``decrease``, both
        for ``either``): the canary is shown no worse than the tolerance, else the
        metric is ``inconclusive`` until there are enough values. It needs a tolerance
        > 0 (:class:`~modelship.errors.ConfigError` otherwise): at 0 the interval of a
        canary identical to the baseline reaches past it, so only a canary shown better
        than the baseline could pass.

    Examples
    --------
    >>> from modelship.monitor import CanaryMetric, compare_metric
    >>> CanaryMetric("accuracy", direction="decrease", tolerance=0.01, critical=True).weight
    1.0

    Three error-free canary requests are "not worse", but they rule out nothing:

    >>> three, many = [0.0] * 3, [0.0] * 297
    >>> compare_metric(three, many, CanaryMetric("error", tolerance=0.02)).verdict
    'pass'
    >>> strict = CanaryMetric("error", tolerance=0.02, require_bound=True)
    >>> compare_metric(three, many, strict).verdict
    'inconclusive'
    >>> compare_metric([0.0] * 3000, [0.0] * 3000, strict).verdict
    'pass'
    >>> from modelship.errors import ConfigError
    >>> try:
    ...     CanaryMetric("error", require_bound=True)  # tolerance 0
    ... except ConfigError as exc:
    ...     print(str(exc).split(": ")[1])
    require_bound=True needs tolerance > 0
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "metric": Text(),
        "direction": Options(("increase", "decrease", "either")),
        "tolerance": Interval(float, 0, None),
        "weight": Interval(float, 0, None, closed="neither"),
        "critical": bool,
        "min_samples": Interval(int, 0, None),
        "stat": (None, STAT),
        "kind": Options(("auto", "continuous", "binary")),
        "require_bound": bool,
    }
    __attrs_pre_init__ = check_parameters

    metric: str
    direction: Literal["increase", "decrease", "either"] = "increase"
    tolerance: float = attrs.field(default=0.0, converter=float)
    weight: float = attrs.field(default=1.0, converter=float)
    critical: bool = False
    min_samples: int = 0
    stat: str | None = None
    kind: Literal["auto", "continuous", "binary"] = "auto"
    require_bound: bool = False

    def __attrs_post_init__(self) -> None:
        if self.require_bound and self.tolerance == 0:
            raise ConfigError(
                f"CanaryMetric({self.metric!r}): require_bound=True needs tolerance > 0: "
                "the interval of a canary no worse than its baseline reaches past 0, so "
                "with tolerance=0 the metric would pass only a canary shown better; give "
                "the worse shift the canary may have, e.g. tolerance=0.01"
            )


@attrs.frozen
class MetricJudgement:
    """The verdict on one metric.

    Attributes
    ----------
    metric : str
    verdict : {"pass", "fail", "inconclusive", "no_data", "error"}
    reason : str
    test : MannWhitneyResult or None
    n_canary, n_baseline : int
    weight : float
    critical : bool
    proportions : ProportionDifference or None
        For a 0/1 metric, the difference of the rates (canary minus baseline) with its
        interval, on which the verdict rests; ``test`` then still holds the Mann-Whitney
        test. None for a continuous metric.

    Examples
    --------
    >>> from modelship.monitor import MetricJudgement
    >>> MetricJudgement("m", "no_data", "canary: no values", None, 0, 0, 1.0, False).judged
    False
    """

    metric: str
    verdict: Verdict
    reason: str
    test: MannWhitneyResult | None
    n_canary: int
    n_baseline: int
    weight: float
    critical: bool
    proportions: ProportionDifference | None = None

    @property
    def judged(self) -> bool:
        """Whether the metric was judged (pass or fail)."""
        return self.verdict in ("pass", "fail")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (infinite interval ends as ``"+Inf"``/``"-Inf"``)."""
        test, proportions = (
            None
            if result is None
            else {
                k: encode_float(v) if isinstance(v, float) else v
                for k, v in attrs.asdict(result).items()
            }
            for result in (self.test, self.proportions)
        )
        return {
            "metric": self.metric,
            "verdict": self.verdict,
            "reason": self.reason,
            "test": test,
            "n_canary": self.n_canary,
            "n_baseline": self.n_baseline,
            "weight": self.weight,
            "critical": self.critical,
            "proportions": proportions,
        }


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@validate_params(metric=CanaryMetric, alpha=LEVEL)
def compare_metric(
    canary: npt.ArrayLike,
    baseline: npt.ArrayLike,
    metric: CanaryMetric,
    *,
    alpha: float = 0.05,
) -> MetricJudgement:
    """Judge one metric from the canary's and the baseline's values.

    NaN values are dropped (missing). Infinite values (a latency quantile above the
    histogram's highest finite bucket) are judged by rank: ``+inf`` is worse than any
    finite latency, so a canary slower than every bucket fails on an infinite shift; the
    metric is ``error`` only where the shift is undefined, when half the pairs or more
    compare equal infinities (both slots above the buckets). A 0/1 metric
    (``metric.kind``) is judged on the difference of its rates. See the module docstring
    for the rule.

    Parameters
    ----------
    canary, baseline : array_like
        Values of the metric for each slot.
    metric : CanaryMetric
    alpha : float
        Significance level; the interval is at ``1 - alpha``.

    Returns
    -------
    MetricJudgement

    Examples
    --------
    >>> from modelship.monitor import CanaryMetric, compare_metric
    >>> compare_metric([0.2, 0.3], [0.2, 0.25], CanaryMetric("latency")).verdict
    'inconclusive'
    >>> errors = compare_metric([1.0] * 30 + [0.0] * 70, [1.0] * 2 + [0.0] * 98,
    ...                         CanaryMetric("error"))  # 30 % of requests fail, not 2 %
    >>> errors.verdict, errors.reason.split(":")[0]
    ('fail', 'worse')
    """
    try:
        c = np.asarray(canary, dtype=np.float64).ravel()
        b = np.asarray(baseline, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckInputError(
            f"the values of {metric.metric} must be numbers (NaN for missing): {exc}"
        ) from None
    c, b = c[~np.isnan(c)], b[~np.isnan(b)]

    def judgement(
        verdict: Verdict,
        reason: str,
        test: MannWhitneyResult | None = None,
        proportions: ProportionDifference | None = None,
    ) -> MetricJudgement:
        return MetricJudgement(
            metric.metric,
            verdict,
            reason,
            test,
            int(c.size),
            int(b.size),
            metric.weight,
            metric.critical,
            proportions,
        )

    if c.size == 0 or b.size == 0:
        empty = "canary" if c.size == 0 else "baseline"
        return judgement("no_data", f"{empty}: no values (NaN values are missing, never zeros)")
    undefined = _undefined_shift(c, b)
    if undefined is not None:
        return judgement("error", undefined)
    flags = bool(np.isin(c, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all())
    if metric.kind == "binary" and not flags:
        both = np.concatenate([c, b])
        other = float(both[~np.isin(both, (0.0, 1.0))][0])
        return judgement(
            "error",
            f"kind='binary' needs values 0 or 1 (one flag per request), got {_fmt(other)}",
        )
    # Points of a statistic (stat=) are never flags; under "auto", values that are all 0 or
    # 1 may be flags (errors, correct answers) or whole numbers of a continuous metric
    # (latencies of 0 or 1 s): a shift beyond the tolerance fails them too (below).
    binary = metric.kind == "binary" or (metric.kind == "auto" and flags and metric.stat is None)
    too_few = _too_few(metric, c, b, alpha=alpha)
    if too_few is not None:
        return judgement("inconclusive", too_few)
    test = _rank_test(c, b, alpha=alpha)
    if isinstance(test, str):
        return judgement("error", test)
    rates = None
    if binary:
        rates = proportion_difference(
            int(c.sum()), int(c.size), int(b.sum()), int(b.size), confidence=1 - alpha
        )
    verdict, reason = _judge(metric, test, rates, alpha=alpha)
    if rates is not None and metric.kind == "auto" and verdict != "fail":
        # Read as a shift too: whole numbers of a continuous metric whose shift lies
        # beyond the tolerance fail, whatever the rates say. (The shift reading's
        # collapsed-interval "inconclusive" is no verdict here: the rates describe
        # such data.)
        as_shift = _judge(metric, test, None, alpha=alpha)
        if as_shift[0] == "fail":
            verdict, reason = as_shift
    if rates is not None and verdict == "pass":
        blind = _rates_cannot_fail(metric, rates, int(b.sum()), alpha=alpha)
        if blind is not None:
            verdict, reason = "inconclusive", blind
    return judgement(verdict, reason, test, rates)


def _undefined_shift(c: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> str | None:
    """Why the shift of ``c`` against ``b`` is undefined, or None.

    Infinite values are ranks (:func:`~modelship.monitor.mann_whitney`): a latency
    quantile above the histogram's last finite bucket (``+inf``) is slower than any
    finite one, so a canary at ``+inf`` against a finite baseline is worse by an infinite
    shift. But two equal infinities only tie, ``inf - inf`` counts as 0 without being
    measured: once they are half the pairs or more, the shift's estimate (their median)
    is such a tie, and a canary and a baseline both slower than every bucket would pass
    as equal. That is undefined, an error to fix by widening the buckets.
    """
    tied = sum(int(np.sum(c == end)) * int(np.sum(b == end)) for end in (-math.inf, math.inf))
    if 2 * tied < c.size * b.size:
        return None
    return (
        f"the shift is undefined: {tied} of the {c.size * b.size} canary-baseline pairs "
        "compare two values beyond the same end of the histogram (inf - inf: both slots "
        "above its highest finite bucket), which only tie; widen the histogram's buckets"
    )


def _rank_test(
    c: npt.NDArray[np.float64], b: npt.NDArray[np.float64], *, alpha: float
) -> MannWhitneyResult | str:
    """The Mann-Whitney test of ``c`` against ``b`` with the shift, or why the shift is
    undefined."""
    try:
        test = mann_whitney(c, b, confidence=1 - alpha)
    except CheckInputError as exc:  # differences beyond a float: no shift to measure
        return str(exc)
    if math.isnan(test.shift):
        return (
            "the shift is undefined: its two middle differences are -inf and +inf (infinite "
            "values on both sides of the other slot's); widen the histogram's buckets"
        )
    return test


def _too_few(
    metric: CanaryMetric,
    c: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    *,
    alpha: float,
) -> str | None:
    """Why the values are too few to judge ``metric`` (below its ``min_samples``, or
    the test can never reach ``alpha``), or None."""
    if c.size < metric.min_samples or b.size < metric.min_samples:
        return f"n={c.size} vs {b.size}: below min_samples={metric.min_samples}"
    # By the method the test uses on these values: tied values (whole milliseconds) make
    # it the normal approximation, whose smallest p-value can be far above 2 / C(n + m, n).
    # Never below that exact floor, though: no test of these sizes can do better (ties
    # only make the permutation distribution coarser), and the approximation can claim
    # more at tiny sizes (one 0/1 flag against 30 reached 0.008 approximated, where
    # Fisher's exact test says 0.13, and a good canary was failed).
    reachable = max(mann_whitney_min_p(c.size, b.size), mann_whitney_reachable_p(c, b))
    if reachable > alpha:
        return (
            f"n={c.size} vs {b.size}: the test cannot reach alpha={alpha:g} (smallest p "
            f"{reachable:.3g} at these sample sizes and ties), so it can never show the "
            "canary worse; more values are needed"
        )
    return None


def _rates_cannot_fail(
    metric: CanaryMetric, rates: ProportionDifference, k_baseline: int, *, alpha: float
) -> str | None:
    """Why no canary of this size could fail ``metric`` on its rates (``k_baseline`` ones
    among the baseline's values), or None.

    The rates' interval is finite, and the test may reach alpha, yet a canary of a few
    values whose every value is bad (1 where higher is worse, 0 where lower is) may still
    not be shown worse than the baseline's rate: its pass would say nothing. A side is
    checked when the baseline's rate leaves room for a canary worse beyond the tolerance.
    """
    tol, n_c, n_b, k_b = metric.tolerance, rates.n_x, rates.n_y, k_baseline
    sides = []
    if metric.direction in ("increase", "either") and rates.rate_y + tol < 1:
        worst = proportion_difference(n_c, n_c, k_b, n_b, confidence=1 - alpha)
        sides.append((worst.ci_low > tol, 1))
    if metric.direction in ("decrease", "either") and rates.rate_y - tol > 0:
        worst = proportion_difference(0, n_c, k_b, n_b, confidence=1 - alpha)
        sides.append((worst.ci_high < -tol, 0))
    for could_fail, value in sides:
        if not could_fail:
            return (
                f"n={n_c} vs {n_b}: even a canary whose every value is {value} would not be "
                f"shown worse than the baseline's rate {_fmt(rates.rate_y)} beyond tolerance "
                f"{_fmt(tol)} at alpha={alpha:g} (Newcombe {100 * (1 - alpha):.4g}% "
                "interval), so a pass would say nothing; more values are needed"
            )
    return None


def _method(test: MannWhitneyResult, rates: ProportionDifference | None) -> str:
    """The interval and test behind a verdict, their level and the sample sizes, as a
    reason says them: ``Newcombe 95% interval, pooled z-test p=0.049; n=16 vs 61``."""
    result: MannWhitneyResult | ProportionDifference = test if rates is None else rates
    name = "Hodges-Lehmann" if rates is None else "Newcombe"
    tested = "Mann-Whitney U" if rates is None else "pooled z-test"
    return (
        f"{name} {100 * result.confidence:.4g}% interval, {tested} p={result.p_value:.3g}; "
        f"n={result.n_x} vs {result.n_y}"
    )


def _judge(
    metric: CanaryMetric,
    test: MannWhitneyResult,
    rates: ProportionDifference | None,
    *,
    alpha: float,
) -> tuple[Verdict, str]:
    """The verdict of :func:`compare_metric` once the test is made: from the difference
    of the rates for a 0/1 metric (``rates``), else from the shift interval (module
    docstring). Every reason names the interval and test, the level and the sample
    sizes."""
    tol = metric.tolerance
    up = metric.direction in ("increase", "either")
    down = metric.direction in ("decrease", "either")
    method = _method(test, rates)
    if rates is not None:
        low, high, p_value = rates.ci_low, rates.ci_high, rates.p_value
        interval = (
            f"rate {_fmt(rates.rate_x)} vs {_fmt(rates.rate_y)}, difference "
            f"{_fmt(rates.difference)} [{_fmt(low)}, {_fmt(high)}]"
        )
    else:
        low, high, p_value = test.ci_low, test.ci_high, test.p_value
        interval = f"shift {_fmt(test.shift)} [{_fmt(low)}, {_fmt(high)}]"
    worse_up = up and low > tol
    worse_down = down and high < -tol
    if worse_up or worse_down:
        bound = f"> {_fmt(tol)}" if worse_up else f"< {_fmt(-tol)}"
        return "fail", f"worse: {interval} entirely {bound} ({method})"
    if (up and low == -math.inf and high > -math.inf) or (
        down and high == math.inf and low < math.inf
    ):
        # The side a worse canary would show is unbounded: no values could fail it.
        # (compare_metric refuses such sizes first; this keeps the rule whatever the test.)
        # An interval at one infinity, [-inf, -inf] where higher is worse, is no such
        # thing: every value says the canary is better (a baseline above the buckets).
        return "inconclusive", (
            f"the interval is unbounded on the side that would show the canary worse "
            f"({interval}; {method}): at these sample sizes the test can never show it; "
            "more values are needed"
        )
    if rates is not None:
        # The pooled z-test and Newcombe's interval are two methods and can disagree
        # near alpha: the test says worse (p < alpha) while the interval still reaches 0
        # (1 error in 16 against 0 in 61: p = 0.049, [-0.016, 0.28]). Not a pass. (An
        # interval beyond 0 but within the tolerance agrees with the test: a difference
        # the tolerance allows.)
        rejects_bad = p_value < alpha and (
            (up and rates.difference > 0 and low <= 0)
            or (down and rates.difference < 0 and high >= 0)
        )
        if rejects_bad:
            return "inconclusive", (
                f"the test rejects with the canary worse, but the interval contains 0 "
                f"({interval}; {method}): the two disagree near alpha, so neither worse "
                "nor not worse is shown; more values are needed"
            )
    else:
        half = test.n_x * test.n_y / 2
        rejects_bad = p_value < alpha and (
            (up and test.statistic > half) or (down and test.statistic < half)
        )
        if rejects_bad and low == high == 0:
            # Only with tied values (heavily discrete data): the interval collapsed onto
            # the one difference 0 and no longer shows what the test sees. Not a pass. An
            # interval with a width (whole milliseconds: [0, 1]) still bounds the shift,
            # and is judged against the tolerance as any other.
            return "inconclusive", (
                f"the test rejects with the canary worse, but the interval ({interval}; "
                f"{method}) contains 0: tied values, which a shift does not describe; "
                "compare a continuous statistic (stat=), or kind='binary' for 0/1 values"
            )
    if metric.require_bound and ((up and high > tol) or (down and low < -tol)):
        # Opt-in: a pass must also rule out a canary worse beyond the tolerance.
        reach = high if up and high > tol else -low
        return "inconclusive", (
            f"not shown worse, but the interval ({interval}; {method}) still allows a "
            f"canary worse by up to {_fmt(reach)}, beyond tolerance {_fmt(tol)} "
            "(require_bound=True); more values are needed"
        )
    return "pass", f"not worse beyond tolerance {_fmt(tol)}: {interval} ({method})"


@attrs.frozen
class CanaryReport:
    """The verdict of a canary analysis.

    Attributes
    ----------
    verdict : {"pass", "marginal", "fail", "inconclusive", "no_data", "error"}
    score : float or None
        ``100 * passed weight / judged weight``; ``None`` when nothing was judged.
        Computed exactly, on the weights as written (their shortest decimal form:
        ``0.2`` is 1/5), then rounded to the nearest float; the verdict compares the
        exact score with the thresholds, so weights in the same ratios (0.2/0.7/0.3 and
        2/7/3) give the same score and verdict.
    score_low, score_high : float
        The score if every unjudged metric failed, or passed.
    metrics : tuple of MetricJudgement
    reasons : tuple of str
        One line per metric.
    pass_score, marginal_score : float

    Examples
    --------
    >>> from modelship.monitor import CanaryReport
    >>> CanaryReport("marginal", 60.0, 60.0, 60.0, (), (), 75.0, 50.0).gate_outcome
    'inconclusive'
    """

    verdict: CanaryVerdict
    score: float | None
    score_low: float
    score_high: float
    metrics: tuple[MetricJudgement, ...]
    reasons: tuple[str, ...]
    pass_score: float
    marginal_score: float

    @property
    def gate_outcome(self) -> Verdict:
        """The verdict as a gate outcome: ``marginal`` holds, as ``inconclusive``."""
        return "inconclusive" if self.verdict == "marginal" else self.verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "verdict": self.verdict,
            "gate_outcome": self.gate_outcome,
            "score": self.score,
            "score_low": self.score_low,
            "score_high": self.score_high,
            "metrics": [m.to_dict() for m in self.metrics],
            "reasons": list(self.reasons),
            "pass_score": self.pass_score,
            "marginal_score": self.marginal_score,
        }


def _exact(name: str, value: float) -> Fraction:
    """``value`` as the decimal it is written as (``repr``): ``0.2`` is exactly 1/5, so
    weights 0.2, 0.7 and 0.3 score as 2, 7 and 3 do."""
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return Fraction(repr(number))


def combine(
    judgements: Sequence[MetricJudgement],
    *,
    pass_score: float = PASS_SCORE,
    marginal_score: float = MARGINAL_SCORE,
) -> CanaryReport:
    """Combine per-metric verdicts into a :class:`CanaryReport` (rules in the module doc).

    Raises
    ------
    ConfigError
        If there are no metrics, a weight is negative or not finite, the weights sum to
        0, or the thresholds are not ``0 <= marginal <= pass <= 100``.

    Examples
    --------
    >>> from modelship.monitor import MetricJudgement
    >>> from modelship.monitor._canary import combine
    >>> ok = MetricJudgement("a", "pass", "", None, 9, 9, 3.0, False)
    >>> bad = MetricJudgement("b", "fail", "", None, 9, 9, 1.0, False)
    >>> report = combine([ok, bad])
    >>> report.verdict, report.score
    ('pass', 75.0)
    """
    if not judgements:
        raise ConfigError("a canary analysis needs at least one metric")
    if not 0 <= marginal_score <= pass_score <= 100:
        raise ConfigError(
            f"need 0 <= marginal_score <= pass_score <= 100, got {marginal_score} and {pass_score}"
        )
    weights = [_exact("a metric's weight", j.weight) for j in judgements]
    total = sum(weights, Fraction(0))
    if total == 0:
        raise ConfigError(
            f"the {len(judgements)} metrics' weights sum to 0: a score is a share of the "
            "weight, so give at least one metric a weight > 0"
        )
    pairs = list(zip(weights, judgements, strict=True))
    passed = sum((w for w, j in pairs if j.verdict == "pass"), Fraction(0))
    judged = sum((w for w, j in pairs if j.judged), Fraction(0))
    unjudged = total - judged
    # Exact: the weights as written (0.2 is 1/5), so the same ratios score the same.
    exact = 100 * passed / judged if judged else None
    exact_high = 100 * (passed + unjudged) / total
    least_pass, least_marginal = (
        _exact("pass_score", pass_score),
        _exact("marginal_score", marginal_score),
    )
    verdict: CanaryVerdict
    if any(j.critical and j.verdict == "fail" for j in judgements):
        verdict = "fail"
    elif unjudged == 0:
        assert exact is not None
        verdict = (
            "pass" if exact >= least_pass else "marginal" if exact >= least_marginal else "fail"
        )
    elif exact_high < least_marginal:
        verdict = "fail"
    else:
        verdict = next(v for v in VERDICTS[1:4] if any(j.verdict == v for j in judgements))
    return CanaryReport(
        verdict=verdict,
        score=None if exact is None else float(exact),
        score_low=float(100 * passed / total),
        score_high=float(exact_high),
        metrics=tuple(judgements),
        reasons=tuple(f"{j.verdict}: {j.metric}: {j.reason}" for j in judgements),
        pass_score=pass_score,
        marginal_score=marginal_score,
    )


def _values(outcome: Outcome) -> tuple[npt.NDArray[np.float64] | None, Verdict | None, str]:
    if isinstance(outcome, SourceError):
        return None, "error", f"{outcome.error_type}: {outcome.message}"
    if isinstance(outcome, NoData):
        return None, "no_data", outcome.reason
    return np.asarray(outcome.values), None, ""


def _answers_points(source: MetricSource, metric: str) -> bool:
    """Whether ``source`` answers ``metric`` with points it computes (a
    :class:`SeriesSource`, which cannot return raw observations) rather than the
    observations: through a :class:`RoutedSource`, the metric's route decides."""
    if isinstance(source, RoutedSource):
        route = source.routes.get(metric, source.default)
        # No route: the source's own question check refuses the metric by name.
        return route is not None and _answers_points(route, metric)
    return isinstance(source, SeriesSource)


def _one_point_hint(
    judgement: MetricJudgement, source: MetricSource, step: float | None
) -> MetricJudgement:
    """``judgement`` with its reason saying to pass ``step=`` when it is inconclusive
    because a :class:`SeriesSource` answered one point per slot for want of a step (the
    statistic over the whole window: one value against one never reaches alpha). Such a
    source may answer raw observations too (a Prometheus range selector, a source of
    your own), so this is told from the answer, not refused beforehand."""
    if (
        step is not None
        or judgement.verdict != "inconclusive"
        or (judgement.n_canary, judgement.n_baseline) != (1, 1)
        or not _answers_points(source, judgement.metric)
    ):
        return judgement
    return attrs.evolve(
        judgement,
        reason=(
            f"{judgement.reason}; the source answered one point per slot (the statistic over "
            "the whole window), which no test can judge: pass step= (e.g. step=10.0 for one "
            "point every 10 s) so that each slot gives a series to compare"
        ),
    )


@validate_params(
    source=MetricSource,
    metrics=SequenceOf(CanaryMetric),
    canary=SLOT,
    baseline=SLOT,
    at=(None, TIME),
    **CANARY_ANALYSIS,
)
def canary_analysis(  # noqa: PLR0913 - public analysis: slots, window and the keyword-only statistical thresholds, each documented
    source: MetricSource,
    metrics: Sequence[CanaryMetric],
    *,
    canary: str,
    baseline: str,
    window: float,
    at: float | None = None,
    step: float | None = None,
    alpha: float = 0.05,
    pass_score: float = PASS_SCORE,
    marginal_score: float = MARGINAL_SCORE,
) -> CanaryReport:
    """Compare the canary slot with the baseline slot over ``(at - window, at]``.

    Each metric is fetched for both slots: raw observations when the source has them;
    with ``step`` and a :class:`SeriesSource` (Prometheus), the series of the metric's
    ``stat`` at that step. Without ``step`` a :class:`SeriesSource` usually answers one
    point per slot (the statistic over the whole window), which no test can judge: that
    metric is ``inconclusive``, its reason saying to pass ``step``. Then
    :func:`compare_metric` and the combination rules of the module docstring.

    Parameters
    ----------
    source : MetricSource
    metrics : sequence of CanaryMetric
    canary, baseline : str
        Slot names; deploy them at the same time and size, so that they see the same
        traffic and the same time of day.
    window : float
        Seconds.
    at : float, optional
        End of the window (the source's clock by default).
    step : float, optional
        Step of the series asked from a :class:`SeriesSource` (through a
        :class:`RoutedSource`, the metric's route).
    alpha : float
        Significance level of each metric's test.
    pass_score, marginal_score : float
        Thresholds of the score.

    Returns
    -------
    CanaryReport

    Raises
    ------
    ConfigError
        If there are no metrics, ``metrics`` is not a list of :class:`CanaryMetric`, the
        baseline is the canary slot itself, or the window, step or thresholds are invalid;
        or if the source answers something other than
        :class:`Samples`, :class:`NoData` or :class:`SourceError` (a bug in the source, as for
        :meth:`RollbackPolicy.evaluate`). An answer about another metric, slot or
        statistic than asked is no error raised: that metric's verdict is ``error``.

    Examples
    --------
    >>> import numpy as np
    >>> import modelship as ms
    >>> rng = np.random.default_rng(2)
    >>> src = ms.monitor.InMemorySource(now=600.0)
    >>> t = np.linspace(1, 600, 500)
    >>> for slot in ("baseline", "canary"):
    ...     src.add("inference_latency_seconds", slot=slot, values=rng.gamma(4, 0.02, 500),
    ...             timestamps=t)
    >>> report = ms.monitor.canary_analysis(
    ...     src, [ms.monitor.CanaryMetric("inference_latency_seconds", tolerance=0.005)],
    ...     canary="canary", baseline="baseline", window=600.0)
    >>> report.verdict, report.score
    ('pass', 100.0)
    """
    if step is not None and step > window:
        raise ConfigError(f"step must be in (0, window], got {step!r}")
    if canary == baseline:
        raise ConfigError(same_slot("baseline", baseline))
    end = source_time(source) if at is None else float(at)
    start = end - float(window)
    judgements = []
    for metric in metrics:
        stat = metric.stat or "mean"
        outcomes = []
        for slot in (canary, baseline):
            if step is not None and isinstance(source, SeriesSource):
                answer: object = source.fetch_series(
                    metric.metric, slot=slot, start=start, end=end, stat=stat, step=step
                )
            else:
                answer = source.fetch(metric.metric, slot=slot, start=start, end=end, stat=stat)
            # Held to its question as RollbackPolicy.evaluate holds it: an answer about
            # another slot (the baseline's for the canary) or metric is an error, values
            # outside the window are left out, and a non-outcome is a ConfigError.
            outcomes.append(
                answer_to(answer, metric=metric.metric, slot=slot, start=start, end=end, stat=stat)
            )
        (c, c_bad, c_why), (b, b_bad, b_why) = (_values(o) for o in outcomes)
        if c is None or b is None:
            worst: Verdict = "error" if "error" in (c_bad, b_bad) else "no_data"
            reason = "; ".join(
                f"{name}: {why}"
                for name, why, bad in ((canary, c_why, c_bad), (baseline, b_why, b_bad))
                if bad
            )
            judgements.append(
                MetricJudgement(
                    metric.metric,
                    worst,
                    reason,
                    None,
                    0 if c is None else c.size,
                    0 if b is None else b.size,
                    metric.weight,
                    metric.critical,
                )
            )
            continue
        judgements.append(_one_point_hint(compare_metric(c, b, metric, alpha=alpha), source, step))
    return combine(judgements, pass_score=pass_score, marginal_score=marginal_score)
