"""Trigger conditions: when one holds for the canary, the canary is worse than allowed.

A condition compares one statistic of one metric for the slot under watch with either a
fixed threshold or the same statistic of the baseline slot::

    p95(inference_latency_seconds) > 0.2           # absolute, seconds
    p95(inference_latency_seconds) > 200ms         # the same
    error_rate > 1%                                # absolute: 1% is 0.01
    mean(accuracy) < baseline - 5%                 # relative: 5 % of the baseline's value
    mean(accuracy) < baseline - 0.05               # absolute offset from the baseline
    p99(inference_latency_seconds) > baseline * 1.5 min_samples=200

Grammar (whitespace between tokens is free)::

    condition  := operand OP rhs [ "min_samples" "=" INTEGER ]
    operand    := STAT "(" METRIC ")" | METRIC            # a bare metric means mean(METRIC)
    OP         := ">" | ">=" | "<" | "<="
    rhs        := NUMBER [ "%" | "s" | "ms" ]             # a fixed threshold
                | "baseline" [ ("+" | "-") NUMBER [ "%" ] ]
                | "baseline" "*" NUMBER
    STAT       := "mean" | "median" | "min" | "max" | "sum" | "count" | "last"
                | "p" NUMBER                               # a percentile, 0 < p < 100
    METRIC     := [a-zA-Z_:][a-zA-Z0-9_:]*
    NUMBER     := a decimal in ASCII digits, optionally signed for a threshold: 0.2, 1e-3, -4

A bare metric is never named like a statistic: ``p95 > 15s`` is refused (it would be the
mean of a metric called ``p95``); write ``p95(inference_latency_seconds) > 15s``, or
``mean(p95)`` for a metric really called ``p95``. A metric of :data:`FRACTION_METRICS`
(``error_rate``) is a fraction from 0 to 1: a fixed threshold beyond 1 (``error_rate > 5``,
never reached), an absolute offset beyond 1 (``baseline + 5``) or a time unit on it is
refused; write ``error_rate > 5%`` (or ``0.05``).

``%`` after a fixed threshold is a fraction (``1%`` = 0.01); after ``baseline +/-`` it is
relative to the size of the baseline's value: ``baseline - 5%`` is ``baseline - 0.05 *
|baseline|``, always below the baseline (``baseline * 0.95`` for a positive baseline; for
an r2 of -0.2, -0.21). ``baseline * 1.5`` is the same as ``baseline + 50%`` (above the
baseline by half its size, whatever its sign). ``s`` and ``ms`` are seconds and
milliseconds.

Examples
--------
>>> from modelship.monitor import Condition
>>> cond = Condition.parse("mean(accuracy) < baseline - 5% min_samples=100")
>>> cond.baseline_delta, cond.delta_unit, cond.min_samples
(-5.0, 'percent', 100)
>>> str(cond)
'mean(accuracy) < baseline - 5% min_samples=100'
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import math
import numbers
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any, Literal

import attrs

from modelship._params import Constraint, check
from modelship._shown import brief
from modelship.errors import ConfigError

__all__ = [
    "DEFAULT_MIN_SAMPLES",
    "FRACTION_METRICS",
    "MAX_CONDITION_CHARS",
    "MAX_MIN_SAMPLES",
    "OPERATORS",
    "PERCENTILE_DECIMALS",
    "STATS",
    "TRAFFIC_METRICS",
    "Condition",
    "check_stat",
    "quantile_of",
    "reading_a_log",
    "reading_log",
]

#: The statistics a condition may use besides percentiles (``p50``, ``p95``, ``p99.9``).
STATS = ("mean", "median", "min", "max", "sum", "count", "last")

#: Comparison operators; the condition *holds* (the slot fails) when the comparison is true.
OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

#: Minimum sample size of a condition unless set: below it the condition is inconclusive.
#: 30 is the usual floor for a normal-theory summary; raise it for high percentiles (a
#: p99 from 30 values is the largest value or close to it).
DEFAULT_MIN_SAMPLES = 30

#: Metrics that measure the amount of traffic itself (requests per second): a condition
#: on one of them, like one on ``count(...)``, has no minimum sample size (see
#: :attr:`Condition.measures_traffic`).
TRAFFIC_METRICS = ("request_rate",)

#: Metrics whose value is a fraction from 0 to 1 (``error_rate``: 5xx answers among all
#: answers, ``0.05`` for 5 %). Their statistics but ``sum`` and ``count`` are fractions
#: too, so a limit beyond 1 is a percentage written without its ``%`` (``error_rate > 5``
#: would never hold, and pass a canary whose every request failed): it is refused.
FRACTION_METRICS = ("error_rate",)

#: The largest ``min_samples``: a trillion observations in one window (a million requests a
#: second for eleven days). Beyond it no window is ever conclusive, and an int of thousands
#: of digits cannot even be shown.
MAX_MIN_SAMPLES = 10**12

#: The longest condition text :meth:`Condition.parse` reads. A condition is one short line
#: (``p99(inference_latency_seconds) > baseline * 1.5 min_samples=200`` is 66 characters);
#: a longer text is refused before it is read, so that reading a file's conditions takes
#: time in proportion to the file (a 700,000-character condition took 3 ms, once for each
#: YAML alias naming it).
MAX_CONDITION_CHARS = 1_000

#: Decimals a percentile may have (``p99.9999999999``): the quantile level is kept to 12
#: decimals, so that ``p99.9`` is 0.999; more would round ``p99.9999999999999`` to 1.
PERCENTILE_DECIMALS = 10

# Matched whole (fullmatch): "$" would also match before a final newline. ASCII digits
# only: \d matches any Unicode digit, and float() reads them (ARABIC-INDIC DIGIT ONE is 1.0).
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PERCENTILE = re.compile(r"p([0-9]+(?:\.[0-9]+)?)")


def quantile_of(stat: str) -> float | None:
    """The quantile level of a percentile statistic (``"p95"`` -> 0.95), else ``None``.

    Examples
    --------
    >>> from modelship.monitor import quantile_of
    >>> quantile_of("p99.9"), quantile_of("mean")
    (0.999, None)
    """
    match = _PERCENTILE.fullmatch(stat) if isinstance(stat, str) else None
    if match is None or len(match.group(1).partition(".")[2]) > PERCENTILE_DECIMALS:
        return None
    # Rounded so that p99.9 is 0.999, not 0.9990000000000001.
    return round(float(match.group(1)) / 100, 12)


def check_stat(stat: str) -> str:
    """Return ``stat`` if it is a statistic conditions know, else raise ``ConfigError``.

    Examples
    --------
    >>> from modelship.monitor import check_stat
    >>> check_stat("p95")
    'p95'
    """
    if isinstance(stat, str) and stat in STATS:
        return stat
    q = quantile_of(stat)
    if q is not None and 0.0 < q < 1.0:
        return stat
    if isinstance(stat, str) and _PERCENTILE.fullmatch(stat):
        raise ConfigError(
            f"unknown statistic {brief(stat)}: a percentile is p<number> with 0 < number < "
            f"100 and at most {PERCENTILE_DECIMALS} decimals (p50, p95, p99.9)"
        )
    raise ConfigError(
        f"unknown statistic {brief(stat)}; use one of {', '.join(STATS)} or a percentile "
        "p<number> with 0 < number < 100 (p50, p95, p99.9)"
    )


def _metric(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not _METRIC.fullmatch(value):
        raise ConfigError(
            f"metric {brief(value)} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, e.g. "
            "inference_latency_seconds)"
        )


def _stat(_: object, __: object, value: str) -> None:
    check_stat(value)


def _op(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or value not in OPERATORS:
        raise ConfigError(f"operator {brief(value)} is not one of {', '.join(OPERATORS)}")


def _optional_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"expected a number, got {brief(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"expected a finite number, got {brief(value)}")
    return number


class _Number(Constraint):
    """A number a float holds, infinities and NaN too: a statistic, or a limit from one
    (a quantile above the histogram's last finite bucket is ``inf``)."""

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        try:
            float(value)
        except OverflowError:  # an int beyond the float range
            return False
        return True

    def __str__(self) -> str:
        return "a number (a float; inf and NaN too)"

    def invalid_values(self) -> tuple[object, ...]:
        return ("0.2", True, 10**400, [0.1, 0.2])


_NUMBER = _Number()


def _min_samples(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MIN_SAMPLES:
        raise ConfigError(
            f"min_samples must be an integer of at least 1 and at most {MAX_MIN_SAMPLES:,}, "
            f"got {brief(value)}"
        )
    return value


def _keys(keys: set[Any]) -> str:
    """Unknown keys for a message: sorted by their text (keys may be of mixed types)."""
    shown = sorted((brief(key) for key in keys), key=str)
    return "[" + ", ".join(shown[:5]) + (", ..." if len(shown) > 5 else "") + "]"


def _written(value: float) -> Fraction:
    """The decimal ``value`` was written as, exactly: the shortest that reads back as it.

    ``repr`` gives back any decimal of up to 15 significant digits as written (13.0 for
    ``13``, 0.05 for ``0.05``): a stored ``baseline_delta`` is a float, and its decimal is
    what the condition's text says.
    """
    return Fraction(repr(value))


def _nearest_limit(baseline: float, delta: float, *, percent: bool, rounded: float) -> float:
    """The double nearest to the exact limit of a finite ``baseline`` moved by ``delta``.

    ``baseline * (1 + delta / 100)`` rounds twice (the scale, then the product):
    ``baseline + 13%`` of 0.007 was 0.007909999999999999, and a canary at exactly 13 %
    above (791 errors in 100,000) failed ``error_rate > baseline + 13%``. The baseline is
    a double (a rational, exactly) and the delta the decimal written, so the exact limit
    is a rational: only its conversion rounds. An exact zero keeps the sign the float
    arithmetic gives it (``rounded``), as logs recorded it.
    """
    exact = Fraction(baseline)
    if percent:
        exact += abs(exact) * _written(delta) / 100
    else:
        exact += _written(delta)
    if exact == 0:
        return rounded
    try:
        return float(exact)
    except OverflowError:  # beyond the largest double: the nearest is infinite
        return math.inf if exact > 0 else -math.inf


#: Set while a decision log's policy is read: logs written before conditions that can
#: never hold were refused (``count(m) < 10`` with ``min_samples`` 30, ``error_rate > 5``)
#: keep reading, so their decisions replay.
_READING_LOG: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "modelship_reading_log", default=False
)


@contextlib.contextmanager
def reading_log() -> Iterator[None]:
    """While a decision log's policy is read: rules added after logs were written (a
    fraction limit beyond 1, a count that can never hold) do not refuse it.

    Examples
    --------
    >>> with reading_log():
    ...     Condition(metric="error_rate", op=">", threshold=5.0).threshold
    5.0
    """
    token = _READING_LOG.set(True)
    try:
        yield
    finally:
        _READING_LOG.reset(token)


def reading_a_log() -> bool:
    """Whether a decision log's policy is being read (:func:`reading_log`).

    Examples
    --------
    >>> with reading_log():
    ...     reading_a_log()
    True
    >>> reading_a_log()
    False
    """
    return _READING_LOG.get()


def _fraction_misread(
    metric: str, stat: str, threshold: float | None, delta: float | None, delta_unit: str
) -> str | None:
    """Why a limit on a fraction metric (:data:`FRACTION_METRICS`) cannot mean what was
    written, or ``None``: a threshold, or an absolute offset from the baseline, beyond 1.
    ``sum`` and ``count`` of a fraction are not fractions, and are never refused."""
    if metric not in FRACTION_METRICS or stat in ("sum", "count"):
        return None
    operand = f"{stat}({metric})"
    if threshold is not None and abs(threshold) > 1:
        written = _number_text(threshold)
        return (
            f"{operand} is a fraction from 0 to 1 (0.05 is 5 %), and the threshold {written} "
            f"is beyond any value it takes; for {written} percent write {written}% (or "
            f"{_number_text(_scaled(repr(threshold), -2))})"
        )
    if delta is not None and delta_unit == "absolute" and abs(delta) > 1:
        sign = "-" if delta < 0 else "+"
        size = _number_text(abs(delta))
        return (
            f"{operand} is a fraction from 0 to 1 (0.05 is 5 %), so it never moves {size} "
            f"from the baseline; write 'baseline {sign} {size}%' for {size} % of the "
            f"baseline's value, or 'baseline {sign} {_number_text(_scaled(size, -2))}' for "
            f"{size} percentage points"
        )
    return None


def _number_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


@attrs.frozen
class Condition:
    """A trigger condition on one statistic of one metric.

    The condition *holds* when ``stat(metric)`` of the watched slot compares true with
    the limit: then the slot fails. The limit is ``threshold``, or, for a condition
    relative to the baseline slot, the baseline's value of the same statistic moved by
    ``baseline_delta`` (absolute units, or percent of the size of the baseline's value:
    ``-5`` is 5 % of ``|baseline|`` below the baseline, whatever its sign).

    Parameters
    ----------
    metric : str
        Metric name as the source knows it (``inference_latency_seconds``).
    stat : str
        ``mean``, ``median``, ``min``, ``max``, ``sum``, ``count``, ``last`` or a
        percentile ``pNN`` (``p95``, ``p99.9``).
    op : {">", ">=", "<", "<="}
    threshold : float, optional
        The fixed limit. Exactly one of ``threshold`` and ``baseline_delta`` is given.
    baseline_delta : float, optional
        Offset from the baseline's value (``-5`` with ``delta_unit="percent"`` for
        ``baseline - 5%``; ``0`` for ``baseline`` itself).
    delta_unit : {"absolute", "percent"}
    min_samples : int
        Sample size below which the condition is inconclusive (for the watched slot and,
        when relative, for the baseline); default :data:`DEFAULT_MIN_SAMPLES`. It does
        not apply to a condition on the amount of traffic (:attr:`measures_traffic`).

    Raises
    ------
    ConfigError
        If a field is invalid, or both or neither of ``threshold`` and ``baseline_delta``
        are given.

    Examples
    --------
    >>> from modelship.monitor import Condition
    >>> cond = Condition(metric="inference_latency_seconds", stat="p95", op=">", threshold=0.2)
    >>> str(cond), cond.holds(0.25, cond.limit())
    ('p95(inference_latency_seconds) > 0.2', True)
    >>> rel = Condition(metric="accuracy", op="<", baseline_delta=-5, delta_unit="percent")
    >>> round(rel.limit(0.90), 3)
    0.855
    """

    metric: str = attrs.field(validator=_metric)
    stat: str = attrs.field(default="mean", validator=_stat)
    op: str = attrs.field(default=">", validator=_op)
    threshold: float | None = attrs.field(default=None, converter=_optional_number)
    baseline_delta: float | None = attrs.field(default=None, converter=_optional_number)
    delta_unit: Literal["absolute", "percent"] = "absolute"
    min_samples: int = attrs.field(default=DEFAULT_MIN_SAMPLES, converter=_min_samples)

    def __attrs_post_init__(self) -> None:
        if (self.threshold is None) == (self.baseline_delta is None):
            raise ConfigError(
                f"condition on {self.metric}: give exactly one of threshold= (a fixed limit) "
                "and baseline_delta= (relative to the baseline slot)"
            )
        if self.delta_unit not in ("absolute", "percent"):
            raise ConfigError(
                f"delta_unit must be 'absolute' or 'percent', got {brief(self.delta_unit)}"
            )
        if self.delta_unit == "percent" and self.baseline_delta is None:
            raise ConfigError("delta_unit='percent' applies to baseline_delta, not to threshold")
        misread = _fraction_misread(
            self.metric, self.stat, self.threshold, self.baseline_delta, self.delta_unit
        )
        if misread is not None and not reading_a_log():  # a log written before the rule
            raise ConfigError(f"condition '{self}': {misread}")

    @property
    def relative(self) -> bool:
        """Whether the limit comes from the baseline slot."""
        return self.baseline_delta is not None

    @property
    def measures_traffic(self) -> bool:
        """Whether the condition is on the rate of traffic: any statistic but ``count`` of
        a metric of :data:`TRAFFIC_METRICS` (``request_rate``).

        Such a condition is judged on the window, whatever number of events it counted:
        its sample size is the very traffic it measures (Prometheus's sample size of
        ``request_rate`` is the number of requests), so a minimum would make
        ``request_rate < 1`` inconclusive exactly when it holds. ``min_samples`` does not
        apply to it. A ``count(...)`` keeps its ``min_samples``: a count depends on the
        window's length, and a watch's first windows are cut short at the version's
        start, so a healthy slot's first count is small for no fault of its own; a rate is
        not.

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> Condition.parse("request_rate < 1").measures_traffic
        True
        >>> Condition.parse("count(inference_latency_seconds) < 100").measures_traffic
        False
        >>> Condition.parse("error_rate > 1%").measures_traffic
        False
        """
        return self.metric in TRAFFIC_METRICS and self.stat != "count"

    def limit(self, baseline_value: float | None = None) -> float:
        """The limit the statistic is compared with.

        Raises
        ------
        ConfigError
            If the condition is relative and no ``baseline_value`` is given, or
            ``baseline_value`` is not a number (a string, an array).

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> Condition.parse("p95(inference_latency_seconds) > baseline * 1.5").limit(2.0)
        3.0
        >>> Condition.parse("error_rate > 1%").limit("0.2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        modelship.errors.InvalidParameter: baseline_value='0.2' is not allowed; ...
        """
        check("baseline_value", baseline_value, None, _NUMBER)
        if self.threshold is not None:
            return self.threshold
        if baseline_value is None:
            raise ConfigError(f"{self} is relative to the baseline; give the baseline's value")
        baseline_value = float(baseline_value)
        delta = float(self.baseline_delta or 0.0)
        percent = self.delta_unit == "percent"
        if percent:
            # Of the baseline's size: ``baseline - 5%`` stays below a negative baseline too
            # (baseline * 0.95 would be above it, and fail a canary better than it).
            scale = 1 + delta / 100 if baseline_value >= 0 else 1 - delta / 100
            rounded = baseline_value * scale
        else:
            rounded = baseline_value + delta
        if not math.isfinite(baseline_value):
            return rounded  # inf stays inf, NaN stays NaN (judged as no data)
        return _nearest_limit(baseline_value, delta, percent=percent, rounded=rounded)

    def holds(self, value: float, limit: float) -> bool:
        """Whether ``value op limit`` is true (the condition triggers).

        Raises
        ------
        ConfigError
            If ``value`` or ``limit`` is not a number (a string, an array).

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> Condition.parse("error_rate > 1%").holds(float("inf"), 0.01)
        True
        """
        check("value", value, _NUMBER)
        check("limit", limit, _NUMBER)
        return bool(OPERATORS[self.op](float(value), float(limit)))

    def __str__(self) -> str:
        operand = f"{self.stat}({self.metric})"
        if self.threshold is not None:
            rhs = _number_text(self.threshold)
        else:
            delta = float(self.baseline_delta or 0.0)
            unit = "%" if self.delta_unit == "percent" else ""
            if delta == 0 and not unit:
                rhs = "baseline"
            else:
                sign = "-" if math.copysign(1.0, delta) < 0 else "+"
                rhs = f"baseline {sign} {_number_text(abs(delta))}{unit}"
        text = f"{operand} {self.op} {rhs}"
        if self.min_samples != DEFAULT_MIN_SAMPLES:
            text += f" min_samples={self.min_samples}"
        return text

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse a condition from its text form (grammar in the module docstring).

        Raises
        ------
        ConfigError
            With the position and what was expected there; or if ``text`` is longer than
            :data:`MAX_CONDITION_CHARS` characters.

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> Condition.parse("p95(inference_latency_seconds) > 200ms").threshold
        0.2
        >>> str(Condition.parse("error_rate >= 1%"))
        'mean(error_rate) >= 0.01'
        >>> Condition.parse("p95(latency > 0.2")
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: in condition 'p95(latency > 0.2' at position 12: expected ')'
        after the metric name, found '>'
        """
        return _parse(text)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (the field values).

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> c = Condition.parse("p99(inference_latency_seconds) > baseline * 1.5")
        >>> Condition.from_dict(c.to_dict()) == c
        True
        """
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Condition:
        """A condition from a mapping of its fields, or from its text form.

        The mapping may also use ``when: "<condition text>"`` with an optional
        ``min_samples``, as the deployment YAML does: given either in the text
        (``min_samples=500``) or as the key, not both.

        Raises
        ------
        ConfigError
            Naming an unknown key or a bad value, or ``min_samples`` given both in the
            ``when`` text and as a key.

        Examples
        --------
        >>> from modelship.monitor import Condition
        >>> Condition.from_dict({"when": "error_rate > 1%", "min_samples": 30}).min_samples
        30
        """
        if isinstance(data, str):
            return cls.parse(data)
        if not isinstance(data, Mapping):
            raise ConfigError(f"a condition is a string or a mapping, got {type(data).__name__}")
        if "when" in data:
            extra = set(data) - {"when", "min_samples"}
            if extra:
                raise ConfigError(f"condition {brief(data['when'])}: unknown keys {_keys(extra)}")
            parsed, inline_min_samples = _parse(data["when"])
            if "min_samples" in data:
                # Refused even when both agree: one place to read it, and to change it.
                if inline_min_samples:
                    raise ConfigError(
                        f"condition {brief(data['when'])}: min_samples is given twice, in the "
                        f"'when' text and as the key min_samples={brief(data['min_samples'])}; "
                        "give it once"
                    )
                parsed = attrs.evolve(parsed, min_samples=data["min_samples"])
            return parsed
        names = {field.name for field in attrs.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(
                f"unknown condition keys {_keys(unknown)}; allowed: {sorted(names)} or 'when'"
            )
        if "metric" not in data:
            raise ConfigError(f"a condition needs a metric, got keys {_keys(set(data))}")
        return cls(**dict(data))


# --- the parser ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:.]*)"
    r"|(?P<op>>=|<=|>|<)"
    r"|(?P<punct>[()+\-*%=]))"
)


def _scaled(written: str, power: int) -> float:
    """The double nearest to the decimal ``written`` times ``10**power``.

    ``float(written) / 100`` rounds twice: ``0.7%`` would be 0.006999999999999999, and
    an error rate of exactly 7 in 1000 would fail ``error_rate > 0.7%``. Shifting the
    exponent of the exact decimal is exact (the precision holds every digit written;
    the exponent range is the widest), so only the final conversion rounds.
    """
    context = decimal.Context(
        prec=len(written) + 2, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
    )
    return float(decimal.Decimal(written).scaleb(power, context))


def _percent_above(factor: str) -> float:
    """The double nearest to ``(factor - 1) * 100``: the percent ``baseline * factor`` is
    above the baseline, for the decimal ``factor`` written.

    A factor below 1e-39 is -100 % to far less than half an ulp of 100 (and its exact
    value, of an exponent of up to a billion digits, is not computed).
    """
    value = decimal.Decimal(factor)
    if value.adjusted() < -40:
        return -100.0
    return float((Fraction(value) - 1) * 100)


def _parse(text: object) -> tuple[Condition, bool]:
    """:meth:`Condition.parse` of ``text``, and whether the text gave ``min_samples=``."""
    if not isinstance(text, str):
        raise ConfigError(f"a condition must be a string, got {type(text).__name__}")
    if len(text) > MAX_CONDITION_CHARS:
        raise ConfigError(
            f"the condition {brief(text)} is {len(text):,} characters long; a condition is "
            f"one short line of at most {MAX_CONDITION_CHARS:,} characters, such as "
            "'error_rate > 1%'"
        )
    parser = _Parser(text)
    condition = parser.condition()
    return condition, parser.min_samples_given


class _Parser:
    """A recursive-descent parser over a token list; every error names its position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []  # (kind, text, position)
        position = 0
        stripped_end = len(text.rstrip())
        while position < stripped_end:  # each match consumes at least one character
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                at = position + len(text[position:]) - len(text[position:].lstrip())
                self.fail(at, f"unexpected character {text[at]!r}")
            assert match is not None
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0
        self.min_samples_given = False  # set by condition() on a ``min_samples=`` suffix

    def fail(self, position: int, message: str) -> None:
        raise ConfigError(f"in condition {brief(self.text)} at position {position}: {message}")

    def peek(self) -> tuple[str, str, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return ("end", "end of text", len(self.text))

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str, what: str) -> None:
        kind, found, position = self.take()
        if found != text or kind == "end":
            self.fail(position, f"expected {text!r} {what}, found {brief(found)}")

    def number(self, what: str, *, signed: bool = False) -> float:
        negative = False
        if signed and self.peek()[1] in ("-", "+") and self.peek()[0] == "punct":
            negative = self.take()[1] == "-"
        kind, found, position = self.take()
        if kind != "number":
            self.fail(position, f"expected a number {what}, found {brief(found)}")
        value = float(found)
        if not math.isfinite(value):
            self.fail(position, f"{brief(found)} is too large")
        return -value if negative else value

    def condition(self) -> Condition:
        if not self.tokens:
            self.fail(
                0, "the condition is empty; write e.g. 'p95(inference_latency_seconds) > 0.2'"
            )
        kind, name, position = self.take()
        if kind != "name":
            self.fail(position, f"expected a statistic or a metric name, found {brief(name)}")
        if self.peek()[1] == "(":
            self.take()
            stat = name
            try:
                check_stat(stat)
            except ConfigError as exc:
                self.fail(position, str(exc))
            kind, metric, metric_at = self.take()
            if kind != "name":
                self.fail(
                    metric_at, f"expected a metric name inside {stat}(...), found {brief(metric)}"
                )
            self.expect(")", "after the metric name")
        else:
            if name in STATS or _PERCENTILE.fullmatch(name):
                # "p95 > 15s" would be the mean of a metric called p95, never a latency.
                named = f"; for a metric called {name}, write 'mean({name})'"
                self.fail(
                    position,
                    f"{brief(name)} is a statistic, not a metric: write {name}(<metric>), e.g. "
                    f"'{name}(inference_latency_seconds)'"
                    + (named if _METRIC.fullmatch(name) else ""),
                )
            stat, metric, metric_at = "mean", name, position
        if not _METRIC.fullmatch(metric):
            self.fail(metric_at, f"{brief(metric)} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        kind, op, op_at = self.take()
        if kind != "op":
            self.fail(op_at, f"expected a comparison (>, >=, <, <=), found {brief(op)}")
        fields: dict[str, Any] = {"metric": metric, "stat": stat, "op": op}
        fields.update(self.rhs(metric, stat))
        if self.peek()[1] == "min_samples":
            self.take()
            self.expect("=", "after min_samples")
            kind, found, at = self.take()
            digits = found.lstrip("0")
            # The length first: int() of more than 4300 digits raises a ValueError.
            if (
                kind != "number"
                or not found.isdigit()
                or not 1 <= len(digits) <= len(str(MAX_MIN_SAMPLES))
                or int(digits) > MAX_MIN_SAMPLES
            ):
                self.fail(
                    at,
                    f"min_samples must be an integer of at least 1 and at most "
                    f"{MAX_MIN_SAMPLES:,}, found {brief(found)}",
                )
            fields["min_samples"] = int(digits)
            self.min_samples_given = True
        kind, found, at = self.peek()
        if kind != "end":
            self.fail(at, f"unexpected {brief(found)} after the condition")
        return Condition(**fields)

    def baseline_after(self, rhs_at: int) -> None:
        """Refuse a number followed by the baseline (``1.5 * baseline``), saying the form
        a limit relative to the baseline takes: it was "unexpected '*' after the
        condition", or a fraction metric's "never reached" for ``error_rate > 2 *
        baseline``."""
        kind, sign, sign_at = self.peek()
        following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        if kind != "punct" or sign not in ("*", "+", "-") or following is None:
            return
        if following[1] != "baseline":
            return
        message = (
            "a limit relative to the baseline starts with 'baseline', as in "
            "'baseline * 1.5', 'baseline + 10%' or 'baseline - 0.05'"
        )
        if sign != "-":  # 1.5 - baseline is not baseline - 1.5
            written = self.text[rhs_at:sign_at].strip()
            after = following[2] + len("baseline")
            limit = f"baseline {sign} {written}"
            with contextlib.suppress(ConfigError):  # a form the grammar has no place for
                _Parser(f"{self.text[:rhs_at]}{limit}{self.text[after:]}").condition()
                message += f"; write {brief(limit)}"
        self.fail(sign_at, message)

    def rhs(self, metric: str, stat: str) -> dict[str, Any]:
        """The limit's fields; a limit a fraction metric cannot cross is refused here, at
        its position."""
        rhs_at = self.peek()[2]
        fields: dict[str, Any]
        if self.peek()[1] == "baseline":
            self.take()
            fields = self.baseline_rhs()
        else:
            fields = {"threshold": self.threshold_rhs()}
            unit = self.tokens[self.index - 1][1]
            self.baseline_after(rhs_at)
            if unit in ("s", "ms") and metric in FRACTION_METRICS and stat not in ("sum", "count"):
                self.fail(
                    rhs_at,
                    f"{stat}({metric}) is a fraction from 0 to 1, not a time: drop the unit "
                    f"{unit!r} (write e.g. '{metric} > 5%')",
                )
        misread = _fraction_misread(
            metric,
            stat,
            fields.get("threshold"),
            fields.get("baseline_delta"),
            fields.get("delta_unit", "absolute"),
        )
        if misread is not None:
            self.fail(rhs_at, misread)
        return fields

    def threshold_rhs(self) -> float:
        value = self.number("or 'baseline' after the comparison", signed=True)
        written = self.tokens[self.index - 1][1]
        kind, unit, _ = self.peek()
        if unit == "%":
            self.take()
            return math.copysign(_scaled(written, -2), value)
        if kind == "name" and unit in ("s", "ms"):
            self.take()
            return math.copysign(_scaled(written, -3), value) if unit == "ms" else value
        return value

    def baseline_rhs(self) -> dict[str, Any]:
        sign_kind, sign, sign_at = self.peek()
        if sign_kind == "end" or sign == "min_samples":
            return {"baseline_delta": 0.0}
        if sign == "*":
            self.take()
            self.number("after 'baseline *'")
            # baseline * f == baseline + (f - 1) * 100 %, from the decimal written: * 0.8
            # is - 20%, not - 19.999999999999996%, and * 1.13 the limit of + 13%.
            _, written, at = self.tokens[self.index - 1]
            try:
                delta = _percent_above(written)
            except OverflowError:  # (f - 1) * 100 beyond a double, for f below 1.8e308
                self.fail(at, f"{brief(written)} is too large a factor")
            return {"baseline_delta": delta, "delta_unit": "percent"}
        if sign not in ("+", "-"):
            self.fail(sign_at, f"expected '+', '-' or '*' after 'baseline', found {brief(sign)}")
        self.take()
        value = self.number(f"after 'baseline {sign}'")
        delta = -value if sign == "-" else value
        if self.peek()[1] == "%":
            self.take()
            return {"baseline_delta": delta, "delta_unit": "percent"}
        return {"baseline_delta": delta}
