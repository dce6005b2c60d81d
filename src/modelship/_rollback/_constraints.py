"""What monitoring parameters allow, declared once for every public function that takes them.

A leaf beside :mod:`modelship._params`: windows and intervals in seconds, levels in
(0, 1), canary scores, slot names and the statistics a condition may read, plus
:func:`require` and :func:`read_fields`, which check a value (or a document read back
from disk) against the same constraints with a message that shows at most
:data:`SHOWN` characters of what was given.

Examples
--------
>>> from modelship._rollback._constraints import SECONDS, STAT
>>> SECONDS.is_satisfied_by(60.0), SECONDS.is_satisfied_by(0), STAT.is_satisfied_by("p95")
(True, False, True)
>>> SECONDS.is_satisfied_by(10**400)   # too large for a float: refused, not an OverflowError
False
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelship._params import Constraint, Interval, Names, Spec, Text
from modelship._rollback._conditions import STATS, quantile_of
from modelship._shown import SHOWN, brief
from modelship.errors import ConfigError

SERIES_OF_METRIC: Mapping[str, str | None] = {
    "data_drift": None,
    "error_rate": "error_rate",
    "inference_latency": "inference_latency_seconds",
    "model_accuracy": None,
    "prediction_drift": None,
    "request_rate": "request_rate",
}
"""Each of :data:`KNOWN_METRICS` (what the model server exports, as ``monitoring.metrics``
names it) and the Prometheus series a condition names for it; ``None`` where the server
exports no series (a source of the caller's own feeds it). The spec's and the policy's
messages and the monitor's PromQL templates all read this one table.

Examples
--------
>>> from modelship._rollback._constraints import SERIES_OF_METRIC
>>> SERIES_OF_METRIC["inference_latency"]
'inference_latency_seconds'
"""

METRIC_OF_SERIES: Mapping[str, str] = {
    series: name
    for name, series in SERIES_OF_METRIC.items()
    if series is not None and series != name
}
"""The series a condition names whose ``monitoring.metrics`` name differs, and that name
(``inference_latency_seconds`` -> ``inference_latency``), for messages.

Examples
--------
>>> from modelship._rollback._constraints import METRIC_OF_SERIES
>>> METRIC_OF_SERIES["inference_latency_seconds"]
'inference_latency'
"""

KNOWN_METRICS = tuple(SERIES_OF_METRIC)
"""Metric names ``monitoring.metrics`` accepts, in the deployment spec and in a rollback
policy alike; the monitor gives each a source."""

__all__ = [
    "KNOWN_METRICS",
    "SERIES_OF_METRIC",
    "METRIC_OF_SERIES",
    "CALLABLE",
    "CANARY_ANALYSIS",
    "COUNT",
    "LEVEL",
    "SCORE",
    "SECONDS",
    "SHOWN",
    "SLOT",
    "STAT",
    "TIME",
    "FiniteInterval",
    "SequenceOf",
    "brief",
    "read_fields",
    "require",
]


class FiniteInterval(Interval):
    """An :class:`~modelship._params.Interval` that refuses an int too large for a float.

    ``Interval.is_satisfied_by`` converts with ``float()``, which raises
    ``OverflowError`` for ``10**400``; here that value is simply not allowed.
    """

    def is_satisfied_by(self, value: object) -> bool:
        try:
            return super().is_satisfied_by(value)
        except OverflowError:
            return False

    def invalid_values(self) -> tuple[object, ...]:
        return (*super().invalid_values(), 10**400)


class _Callable(Constraint):
    """Something to call: a function, a bound method, a class, a callable object."""

    def is_satisfied_by(self, value: object) -> bool:
        return callable(value)

    def __str__(self) -> str:
        return "a callable"

    def invalid_values(self) -> tuple[object, ...]:
        return (5, "time.time")


class SequenceOf(Constraint):
    """A list or tuple (never a string) whose items each meet ``items``.

    An error names the first offending item (``metrics[1]='lat' is not allowed; ...``)
    and shows at most :data:`SHOWN` characters of it.

    Examples
    --------
    >>> from modelship._rollback._constraints import SequenceOf, require
    >>> require("metrics", ["a", 1], SequenceOf(str))
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: metrics[1]=1 is not allowed; metrics must be a list of ...
    """

    def __init__(
        self, items: Constraint | type, *, unique: bool = False, description: str | None = None
    ) -> None:
        self.items = items
        self.unique = unique
        self.description = description

    def _item_ok(self, item: object) -> bool:
        if isinstance(self.items, Constraint):
            return self.items.is_satisfied_by(item)
        return isinstance(item, self.items)

    def _first_bad(self, value: Sequence[object]) -> tuple[int, str] | None:
        seen: list[object] = []
        for i, item in enumerate(value):
            if not self._item_ok(item):
                return i, "bad"
            if self.unique:
                if item in seen:
                    return i, "twice"
                seen.append(item)
        return None

    def is_satisfied_by(self, value: object) -> bool:
        return (
            Names().is_satisfied_by(value)
            and isinstance(value, Sequence)
            and self._first_bad(value) is None
        )

    def __str__(self) -> str:
        if self.description is not None:
            return self.description
        what = self.items if isinstance(self.items, Constraint) else _instance(self.items)
        unique = ", each at most once" if self.unique else ""
        return f"a list of {what}{unique}"

    def invalid_values(self) -> tuple[object, ...]:
        return ("not-a-list", 12345, [object()])

    def violation(self, name: str, value: object) -> ConfigError | None:
        if not (Names().is_satisfied_by(value) and isinstance(value, Sequence)):
            return _not_allowed(name, value, str(self))
        bad = self._first_bad(value)
        if bad is None:
            return None
        index, why = bad
        if why == "twice":
            return ConfigError(f"{name}[{index}]={brief(value[index])} is given twice")
        return _not_allowed(f"{name}[{index}]", value[index], str(self), name)


def _instance(kind: type) -> str:
    return f"an instance of {kind.__name__}"


def _not_allowed(where: str, value: object, allowed: str, name: str | None = None) -> ConfigError:
    return ConfigError(f"{where}={brief(value)} is not allowed; {name or where} must be {allowed}")


def _describe(option: Constraint | type | None) -> str:
    if option is None:
        return "None"
    return str(option) if isinstance(option, Constraint) else _instance(option)


def _allows(option: Constraint | type | None, value: object) -> bool:
    if option is None:
        return value is None
    if isinstance(option, Constraint):
        return option.is_satisfied_by(value)
    return isinstance(value, option)


def require(name: str, value: object, *allowed: Constraint | type | None) -> None:
    """Raise :class:`ConfigError` unless ``value`` meets one of ``allowed``.

    Like :func:`modelship._params.check` (the same message shape), but the value is shown
    by :func:`brief`: for values that may be large (a document read back, a mapping).

    Examples
    --------
    >>> from modelship._rollback._constraints import SECONDS, require
    >>> require("window", "60", SECONDS)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: window='60' is not allowed; window must be a finite float > 0
    """
    if any(_allows(option, value) for option in allowed):
        return
    if len(allowed) == 1 and isinstance(allowed[0], SequenceOf):
        error = allowed[0].violation(name, value)  # names the offending item
        if error is not None:
            raise error
    words = [_describe(option) for option in allowed]
    raise _not_allowed(name, value, words[0] if len(words) == 1 else " or ".join(words))


def read_fields(
    data: object,
    what: str,
    required: Mapping[str, Spec],
    optional: Mapping[str, Spec] | None = None,
) -> dict[str, Any]:
    """The entries of a document read back from disk, each checked, never trusted.

    ``data`` must be a mapping with every key of ``required``, no key outside ``required``
    and ``optional``, and each value allowed by its spec (a constraint, a type, None, or a
    tuple of alternatives, as in ``_parameter_constraints``).

    Raises
    ------
    ConfigError
        Naming ``what`` and the key.

    Examples
    --------
    >>> from modelship._rollback._constraints import COUNT, read_fields
    >>> read_fields({"failures": -3}, "tracker state", {"failures": COUNT})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: tracker state.failures=-3 is not allowed; ...
    """
    optional = optional or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"the {what} must be a mapping, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ConfigError(
            f"the {what} has no {missing[0]!r}; it was not written by this version of "
            "modelship, or was edited"
        )
    unknown = [key for key in data if key not in required and key not in optional]
    if unknown:
        known = ", ".join([*required, *optional])
        raise ConfigError(f"the {what} has an unknown key {brief(unknown[0])}; known: {known}")
    for key, spec in (*required.items(), *optional.items()):
        if key in data:
            require(f"{what}.{key}", data[key], *_alternatives(spec))
    return dict(data)


def _alternatives(spec: Spec) -> Iterable[Constraint | type | None]:
    return spec if isinstance(spec, tuple) else (spec,)


#: A duration: a positive, finite number of seconds.
SECONDS = FiniteInterval(float, 0, None, closed="neither")
#: A point in time (seconds since the epoch, or a test clock's reading): any finite number.
#: Not bounded further: decision logs of schema 1 were written with any finite time (a
#: clock in milliseconds reads 1.7e12), and a log its writer wrote must stay readable.
TIME = FiniteInterval(float, None, None)
#: A significance or confidence level.
LEVEL = FiniteInterval(float, 0, 1, closed="neither")
#: A canary score, out of 100.
SCORE = FiniteInterval(float, 0, 100)
#: A count of evaluations, failures or errors.
COUNT = FiniteInterval(int, 0, None)
#: A slot name (``canary``, ``stable``, ``blue``).
SLOT = Text()
#: A function to call back (a clock, ``sleep``, ``on_rollback``).
CALLABLE = _Callable()
#: The options of a canary analysis, which canary_gate passes on.
CANARY_ANALYSIS: dict[str, Spec] = {
    "window": SECONDS,
    "step": (None, SECONDS),
    "alpha": LEVEL,
    "pass_score": SCORE,
    "marginal_score": SCORE,
}


class _Stat(Constraint):
    """A statistic a condition can read: ``mean``, ``count``, ``p95``, ``p99.9`` ..."""

    def is_satisfied_by(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        q = quantile_of(value)
        return value in STATS or (q is not None and 0.0 < q < 1.0)

    def __str__(self) -> str:
        return f"one of {', '.join(STATS)} or a percentile p<number> with 0 < number < 100"

    def invalid_values(self) -> tuple[object, ...]:
        return ("average", "p100", "", 95, "p95\n")


#: A statistic a condition can read.
STAT = _Stat()
