"""The rollback policy: trigger conditions evaluated over a window, and the limits that
turn a run of evaluations into "keep going", "hold" or "roll back".

One evaluation (:meth:`RollbackPolicy.evaluate`) fetches each condition's metric for the
watched slot (and the baseline slot for relative conditions) over ``(at - window, at]``
and returns a :class:`Decision` whose verdict is one of the gate outcomes every modelship
gate uses::

    pass | fail | inconclusive | no_data | error

Per condition: ``error`` if the source failed; ``no_data`` if it had nothing;
``inconclusive`` below the condition's minimum sample size (a condition on the amount of
traffic, ``request_rate`` or ``count(...)``, has none: it judges the window); ``fail`` if
the condition holds; otherwise ``pass``. Each answer is first held to its question
(metric, slot, statistic and window: another one's is a ``bad_response`` error, values
stamped outside the window are left out), so that a decision records what it judged.
Over conditions the worst wins, in the order ``fail > error > no_data > inconclusive >
pass``: a condition that is proven to hold is evidence enough, whatever the others could
not tell.

A :class:`PolicyTracker` turns a sequence of decisions into actions with O(1) state
(a few counters), whatever the length of the history; a :class:`DecisionLog` keeps the
decisions with their inputs and :func:`replay` recomputes them bit for bit.

Examples
--------
>>> import modelship as ms
>>> src = ms.monitor.InMemorySource(now=60.0)
>>> src.add("inference_latency_seconds", slot="canary", values=[0.25] * 40,
...         timestamps=range(10, 50))
>>> policy = ms.monitor.RollbackPolicy(conditions=["p95(inference_latency_seconds) > 0.2"])
>>> decision = policy.evaluate(src, slot="canary", window=60.0)
>>> decision.verdict
'fail'
>>> print(decision.reasons[0])
fail: p95(inference_latency_seconds) > 0.2: canary p95 = 0.25 > 0.2 (n=40)
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt

from modelship import _json
from modelship._params import (
    Constraints,
    Options,
    Spec,
    Text,
    check_parameters,
    validate_params,
)
from modelship._rollback._conditions import Condition, quantile_of, reading_a_log, reading_log
from modelship._rollback._constraints import (
    COUNT,
    KNOWN_METRICS,
    METRIC_OF_SERIES,
    SECONDS,
    SLOT,
    STAT,
    TIME,
    SequenceOf,
    read_fields,
    require,
)
from modelship._rollback._sources import (
    ENCODED_FLOAT,
    InMemorySource,
    MetricSource,
    NoData,
    Outcome,
    Samples,
    SourceError,
    answer_to,
    encode_float,
    outcome_from_dict,
    source_time,
)
from modelship._rollback._yaml import read_yaml
from modelship._shown import brief
from modelship.errors import ConfigError, RepairWarning

__all__ = [
    "DECISION_SCHEMA",
    "VERDICTS",
    "ConditionResult",
    "Decision",
    "DecisionLog",
    "PolicyTracker",
    "ReplayResult",
    "RollbackPolicy",
    "Step",
    "Verdict",
    "replay",
    "summarize",
]

Verdict = Literal["pass", "fail", "inconclusive", "no_data", "error"]
"""What a condition, or a whole evaluation, concludes (a type alias of the five strings):
the text form of the values of :class:`modelship.deploy.Verdict`, not that enum, so it
has no members: ``ms.monitor.Verdict.PASS`` raises AttributeError; write ``"pass"``, or
``ms.deploy.Verdict(verdict)`` for the enum member. ``Decision.verdict`` and
``ConditionResult.verdict`` are one of them; ``VERDICTS`` lists them worst first.

Examples
--------
>>> from typing import get_args
>>> import modelship as ms
>>> from modelship.monitor import VERDICTS, Verdict
>>> sorted(get_args(Verdict)) == sorted(VERDICTS) == sorted(v.value for v in ms.deploy.Verdict)
True
>>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
>>> verdict: Verdict = policy.evaluate(
...     ms.monitor.InMemorySource(now=10.0), slot="canary", window=10.0).verdict
>>> verdict, ms.deploy.Verdict(verdict)
('no_data', <Verdict.NO_DATA: 'no_data'>)
"""
#: The gate outcomes, worst first: the order in which a decision's verdict is chosen.
VERDICTS: tuple[Verdict, ...] = ("fail", "error", "no_data", "inconclusive", "pass")
Action = Literal["continue", "hold", "rollback"]
HoldPolicy = Literal["hold", "fail"]
FloatArray = npt.NDArray[np.float64]
#: Version of the JSON form of decisions and logs.
DECISION_SCHEMA = 1


def _json_number(value: float | None) -> float | str | None:
    return None if value is None else encode_float(value)


def _number(value: float | str | None) -> float | None:
    return None if value is None else float(value)


def _quantile(ordered: FloatArray, q: float) -> float:
    """NumPy's default ("linear") quantile of sorted values, infinities included.

    ``h = (n - 1) q``; between the neighbours ``a = x[floor h]`` and ``b = x[floor h + 1]``
    the value is ``a + (b - a) t`` (``b - (b - a)(1 - t)`` for ``t >= 0.5``, as NumPy
    does). With an infinite neighbour the interpolation is that infinity, or the nearer
    neighbour when they are -inf and +inf.
    """
    n = ordered.size
    h = (n - 1) * q
    lo = math.floor(h)
    t = h - lo
    a = float(ordered[lo])
    if t == 0 or lo + 1 >= n:
        return a
    b = float(ordered[lo + 1])
    if a == b:
        return a
    if math.isinf(a) or math.isinf(b):
        if a == -math.inf and b == math.inf:
            return a if t < 0.5 else b
        return a if a == -math.inf else b
    diff = b - a
    return a + diff * t if t < 0.5 else b - diff * (1 - t)


@validate_params(stat=STAT)
def summarize(
    samples: Samples, stat: str, *, ordered: FloatArray | None = None
) -> tuple[float, dict[str, Any]]:
    """The value of ``stat`` over ``samples`` and a summary of them.

    Raw observations are sorted once (``ordered`` may pass them already sorted) and every
    order statistic is read from that order: percentiles by NumPy's default linear
    interpolation (:func:`numpy.quantile`), ``last`` the most recent value. Points of a
    statistic the source computed (``samples.stat`` set): the most recent point.

    Examples
    --------
    >>> from modelship.monitor import Samples, summarize
    >>> s = Samples("m", "c", [4.0, 2.0, 3.0, 1.0], [1, 2, 3, 4], start=0, end=4)
    >>> value, summary = summarize(s, "p50")
    >>> value, summary["n"], summary["max"]
    (2.5, 4, 4.0)
    """
    values = samples.values
    summary: dict[str, Any] = {"n": samples.n, "dropped": samples.dropped}
    if samples.stat is not None:
        value = float(values[-1])
        summary.update(kind="points", stat=samples.stat, points=int(values.size), last=value)
        return value, summary
    if ordered is None:
        ordered = np.sort(values)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = float(np.mean(values))
    summary.update(
        kind="observations",
        mean=mean,
        min=float(ordered[0]),
        max=float(ordered[-1]),
        p50=_quantile(ordered, 0.5),
        p95=_quantile(ordered, 0.95),
        p99=_quantile(ordered, 0.99),
    )
    q = quantile_of(stat)
    if q is not None:
        return _quantile(ordered, q), summary
    simple = {
        "mean": mean,
        "median": summary["p50"],
        "min": summary["min"],
        "max": summary["max"],
        "count": float(samples.n),
        "last": float(values[-1]),
    }
    if stat == "sum":
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(values)), summary
    return simple[stat], summary


def _jsonable_summary(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {k: encode_float(v) if isinstance(v, float) else v for k, v in summary.items()}


_SUMMARY_FLOATS = frozenset({"mean", "min", "max", "p50", "p95", "p99", "last"})
_VERDICT = Options(VERDICTS)
_NUMBER = (None, ENCODED_FLOAT)
_SIZE = (None, COUNT)


def _summary_from_json(summary: object, what: str) -> dict[str, Any] | None:
    if summary is None:
        return None
    if not isinstance(summary, Mapping):
        raise ConfigError(f"the {what} must be a mapping or null, got {type(summary).__name__}")
    out = {}
    for key, value in summary.items():
        require(f"a key of the {what}", key, str)
        if key in _SUMMARY_FLOATS:
            require(f"{what}.{key}", value, ENCODED_FLOAT)
            out[key] = float(value)
        else:  # counts and names: plain JSON scalars
            require(f"{what}.{key}", value, None, bool, str, COUNT)
            out[key] = value
    return out


@attrs.frozen
class ConditionResult:
    """What one condition gave in one evaluation.

    Attributes
    ----------
    condition : str
        The condition's text form.
    verdict : str
        ``pass``, ``fail``, ``inconclusive``, ``no_data`` or ``error``.
    reason : str
        One line with the numbers.
    value, baseline_value, limit : float or None
        The statistic for the slot, for the baseline, and the limit compared with.
    n, baseline_n : int or None
        Sample sizes.
    summary, baseline_summary : dict or None
        Summaries of what was fetched (n, dropped, mean, min, max, p50, p95, p99).

    Examples
    --------
    >>> from modelship.monitor import ConditionResult
    >>> r = ConditionResult(condition="mean(x) > 1", verdict="pass", reason="ok", value=0.5)
    >>> ConditionResult.from_dict(r.to_dict()) == r
    True
    """

    condition: str
    verdict: Verdict
    reason: str
    value: float | None = None
    baseline_value: float | None = None
    limit: float | None = None
    n: int | None = None
    baseline_n: int | None = None
    summary: dict[str, Any] | None = None
    baseline_summary: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        # What from_dict checks, checked when made: a log that records it can be read back.
        what = "condition result"
        require(f"{what}.condition", self.condition, str)
        require(f"{what}.verdict", self.verdict, _VERDICT)
        require(f"{what}.reason", self.reason, str)
        for name in ("n", "baseline_n"):
            require(f"{what}.{name}", getattr(self, name), *_SIZE)
        for name in ("summary", "baseline_summary"):
            _summary_from_json(_jsonable_summary(getattr(self, name)), f"{what}.{name}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; non-finite numbers as ``"NaN"``/``"+Inf"``/``"-Inf"``."""
        return {
            "condition": self.condition,
            "verdict": self.verdict,
            "reason": self.reason,
            "value": _json_number(self.value),
            "baseline_value": _json_number(self.baseline_value),
            "limit": _json_number(self.limit),
            "n": self.n,
            "baseline_n": self.baseline_n,
            "summary": _jsonable_summary(self.summary),
            "baseline_summary": _jsonable_summary(self.baseline_summary),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConditionResult:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If a field is missing, unknown, or not what :meth:`to_dict` writes.
        """
        what = "recorded condition result"
        data = read_fields(
            data,
            what,
            {"condition": str, "verdict": _VERDICT, "reason": str},
            {
                "value": _NUMBER,
                "baseline_value": _NUMBER,
                "limit": _NUMBER,
                "n": _SIZE,
                "baseline_n": _SIZE,
                "summary": object,
                "baseline_summary": object,
            },
        )
        return cls(
            condition=data["condition"],
            verdict=data["verdict"],
            reason=data["reason"],
            value=_number(data.get("value")),
            baseline_value=_number(data.get("baseline_value")),
            limit=_number(data.get("limit")),
            n=data.get("n"),
            baseline_n=data.get("baseline_n"),
            summary=_summary_from_json(data.get("summary"), f"{what}.summary"),
            baseline_summary=_summary_from_json(
                data.get("baseline_summary"), f"{what}.baseline_summary"
            ),
        )


@attrs.frozen(eq=False)
class Decision:
    """The result of one evaluation of a :class:`RollbackPolicy`.

    Attributes
    ----------
    verdict : str
        ``pass``, ``fail``, ``inconclusive``, ``no_data`` or ``error``: the worst of the
        conditions' verdicts (``fail > error > no_data > inconclusive > pass``).
    reasons : tuple of str
        One line per condition, with the numbers.
    conditions : tuple of ConditionResult
    slot : str
    baseline : str or None
    window, at : float
        The window ``(at - window, at]`` on the source's clock.
    inputs : tuple
        What the source answered (:class:`Samples`, :class:`NoData`,
        :class:`SourceError`), when the evaluation kept its samples; a log of such
        decisions replays bit for bit.

    Examples
    --------
    >>> import modelship as ms
    >>> src = ms.monitor.InMemorySource(now=10.0)
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> d = policy.evaluate(src, slot="canary", window=10.0)
    >>> d.verdict, ms.monitor.Decision.from_json(d.to_json()).to_json() == d.to_json()
    ('no_data', True)
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    conditions: tuple[ConditionResult, ...]
    slot: str
    baseline: str | None
    window: float
    at: float
    inputs: tuple[Outcome, ...] = ()

    def __attrs_post_init__(self) -> None:
        # What from_dict checks, checked when made: a decision that is recorded can be
        # written (a NaN time made the whole log's to_jsonl fail) and read back.
        what = "decision"
        require(f"{what}.verdict", self.verdict, _VERDICT)
        require(f"{what}.reasons", self.reasons, SequenceOf(str))
        require(f"{what}.conditions", self.conditions, SequenceOf(ConditionResult))
        require(f"{what}.slot", self.slot, SLOT)
        require(f"{what}.baseline", self.baseline, None, SLOT)
        require(f"{what}.window", self.window, SECONDS)
        require(f"{what}.at", self.at, TIME)
        require(f"{what}.inputs", self.inputs, SequenceOf(object))
        for position, outcome in enumerate(self.inputs):  # bounded by the inputs given
            if not isinstance(outcome, Outcome):
                raise ConfigError(
                    f"{what}.inputs[{position}]={brief(outcome)} is not allowed; an input is "
                    "what a source answered: Samples, NoData or SourceError"
                )

    @property
    def start(self) -> float:
        """Start of the window (exclusive): ``at - window``."""
        return self.at - self.window

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (schema :data:`DECISION_SCHEMA`)."""
        return {
            "schema": DECISION_SCHEMA,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "conditions": [c.to_dict() for c in self.conditions],
            "slot": self.slot,
            "baseline": self.baseline,
            "window": self.window,
            "at": self.at,
            "inputs": [i.to_dict() for i in self.inputs],
        }

    def to_json(self) -> str:
        """One line of JSON (no NaN or Infinity literals: standard JSON)."""
        return _json.canonical_json(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If the schema is not the one this version of modelship reads, or a field is
            missing, unknown, or not what :meth:`to_dict` writes.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a recorded decision is a mapping, got {type(data).__name__}")
        if data.get("schema") != DECISION_SCHEMA:
            raise ConfigError(
                f"decision schema {brief(data.get('schema'))} is not {DECISION_SCHEMA}; "
                "read it with the modelship version that wrote it"
            )
        data = read_fields(
            data,
            "recorded decision",
            {
                "schema": object,
                "verdict": _VERDICT,
                "reasons": SequenceOf(str),
                "conditions": SequenceOf(Mapping),
                "slot": SLOT,
                "window": SECONDS,
                "at": TIME,
            },
            {"baseline": (None, SLOT), "inputs": SequenceOf(Mapping)},
        )
        return cls(
            verdict=data["verdict"],
            reasons=tuple(data["reasons"]),
            conditions=tuple(ConditionResult.from_dict(c) for c in data["conditions"]),
            slot=data["slot"],
            baseline=data.get("baseline"),
            window=float(data["window"]),
            at=float(data["at"]),
            inputs=tuple(outcome_from_dict(i) for i in data.get("inputs", ())),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Decision:
        """Rebuild from :meth:`to_json` output.

        Raises
        ------
        ConfigError
            If ``text`` is not a JSON object, or not a decision (see :meth:`from_dict`).
        """
        return cls.from_dict(_json_object(text, "decision"))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _json_object(text: object, what: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object, any failure a :class:`ConfigError` naming ``what``."""
    if not isinstance(text, str | bytes):
        raise ConfigError(f"a {what} is JSON text, got {type(text).__name__}")
    try:
        return _json.loads(text, what)
    except RecursionError:
        raise ConfigError(f"the {what} is nested too deeply to be one modelship wrote") from None


def _conditions(value: Iterable[Condition | str | Mapping[str, Any]]) -> tuple[Condition, ...]:
    if isinstance(value, (str, Condition, Mapping)):
        value = [value]
    if not isinstance(value, Iterable):
        raise ConfigError(
            f"conditions={brief(value)} is not allowed; conditions must be a list of "
            "conditions (strings such as 'error_rate > 1%', mappings or Condition objects)"
        )
    out = []
    for item in value:
        out.append(item if isinstance(item, Condition) else Condition.from_dict(item))
    return tuple(out)


def _refuse_unreachable_count(condition: Condition) -> None:
    """Refuse ``count(m) < N`` (or ``<=``) that no window can make hold.

    A count is its own sample size (raw observations: their number; Prometheus: the
    count answers its own ``n``), and a condition whose sample size is below its
    ``min_samples`` is inconclusive. A count under ``N <= min_samples`` is therefore
    never judged: a traffic drop written that way would hold a rollout until its deadline
    and never roll back a promoted version. A relative count, or ``>``, can hold.
    """
    if condition.stat != "count" or condition.threshold is None or condition.op not in ("<", "<="):
        return
    # The smallest count judged has a sample size of min_samples: from raw observations
    # min_samples itself, from Prometheus an extrapolated increase() rounded to it (29.5
    # judged at n=30). It must be able to compare true.
    if condition.holds(condition.min_samples - 0.5, condition.threshold):
        return
    limit = f"{condition.op} {condition.threshold:g}"
    # min_samples is at least 1: a lower one helps only if a count of 1 compares true.
    lower = (
        f", or a min_samples the count can be judged at (a count {limit} needs "
        f"min_samples {limit}: append e.g. 'min_samples=1')"
        if condition.holds(1.0, condition.threshold)
        else ""
    )
    raise ConfigError(
        f"{str(condition)!r} can never hold: a count is its own sample size, and a count "
        f"below min_samples={condition.min_samples} is inconclusive, so no count {limit} "
        "is ever judged. To catch a traffic drop, write it on the rate, which has no "
        "minimum sample size: 'request_rate < 1' (requests per second); or give a "
        f"threshold above min_samples={condition.min_samples}{lower}"
    )


_LIMIT = (None, COUNT)
_HOLD = Options(("hold", "fail"))
#: What ``metrics`` may name: the metrics the deployment spec's ``monitoring.metrics``
#: accepts, so a policy read on its own refuses what the spec refuses.
_METRICS = SequenceOf(
    Options(KNOWN_METRICS),
    unique=True,
    description=(
        f"a list of distinct metric names out of {', '.join(KNOWN_METRICS)} (what the "
        "server exports; a condition names the Prometheus series instead: "
        + ", ".join(f"{series} is {name} here" for series, name in METRIC_OF_SERIES.items())
        + ")"
    ),
)


def _monitoring_section(data: object) -> Mapping[str, Any]:
    """The ``monitoring:`` section of ``data``: ``deployment.monitoring``, ``monitoring``,
    or ``data`` itself; one of them, never two (a second one would be ignored)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"monitoring must be a mapping, got {type(data).__name__}")
    if "deployment" in data:
        deployment = data["deployment"]
        if not isinstance(deployment, Mapping):
            raise ConfigError(
                f"deployment must be a mapping holding the monitoring: section, got "
                f"{brief(deployment)}"
            )
        if "monitoring" in data:
            raise ConfigError(
                "the file has both a top-level monitoring: section and a deployment: "
                "section; keep one: monitoring: on its own, or deployment.monitoring"
            )
        data = deployment
        if "monitoring" not in data:
            raise ConfigError(
                "the deployment has no monitoring: section; add deployment.monitoring "
                "with the conditions that roll back"
            )
    if "monitoring" in data:
        data = data["monitoring"]
        if not isinstance(data, Mapping):
            raise ConfigError(f"monitoring must be a mapping, got {type(data).__name__}")
    return data


@attrs.frozen
class RollbackPolicy:
    """Trigger conditions plus the limits that decide when to roll back.

    Parameters
    ----------
    conditions : sequence of Condition, str or mapping
        Trigger conditions; strings are parsed (:meth:`Condition.parse`).
    failure_limit : int or None
        Failing evaluations tolerated in total; one more rolls back. Default 0: the
        first failure rolls back. ``None``: no total limit.
    consecutive_failure_limit : int or None
        Failing evaluations since the last pass tolerated; one more rolls back. Default
        ``None``. Only a pass resets the count: ``no_data``, ``inconclusive`` and
        ``error`` between two failures do not (fail, no_data, fail counts 2). Set
        ``failure_limit=None, consecutive_failure_limit=2`` for a flaky metric: a failure
        between passes is survived, a third without a pass between is not.
    error_limit : int
        Evaluations in a row whose source failed that are tolerated (default 4, the fifth
        rolls back). Any answer from the source resets the count.
    on_no_data, on_inconclusive : {"hold", "fail"}
        What an evaluation with no data, or too few samples, counts as. ``"hold"``
        (default): neither pass nor fail; the rollout waits, never promotes, and rolls
        back at the deadline. ``"fail"``: counts as a failure.
    deadline : float or None
        Seconds without a passing evaluation after which a hold rolls back (default
        600). ``None``: hold forever (for watching a promoted version, where a quiet
        night is no reason to roll back).
    enabled : bool
        The deployment YAML's ``monitoring.enabled``. A disabled policy is not watched:
        :func:`~modelship.monitor.run_policy` and :func:`~modelship.monitor.watch` make
        no evaluation and ``modelship monitor watch`` exits 0 at once, saying so;
        :meth:`evaluate` itself always evaluates.
    metrics : tuple of str
        The deployment YAML's ``monitoring.metrics``: what is watched and recorded.

    Raises
    ------
    ConfigError
        If a value is out of range, a condition does not parse, both failure limits
        are ``None`` (failures would never roll back), or a condition can never hold:
        ``count(m) < N`` (or ``<=``) that no count judged at ``min_samples`` (less half
        a count, as Prometheus rounds its extrapolated counts) satisfies (a count is its
        own sample size, so every count below ``min_samples`` is inconclusive; write a
        traffic drop as ``request_rate < 1``).

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(
    ...     conditions=["p95(inference_latency_seconds) > 0.2", "error_rate > 1%"],
    ...     failure_limit=None, consecutive_failure_limit=2)
    >>> [str(c) for c in policy.conditions]
    ['p95(inference_latency_seconds) > 0.2', 'mean(error_rate) > 0.01']
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "failure_limit": _LIMIT,
        "consecutive_failure_limit": _LIMIT,
        "error_limit": COUNT,
        "on_no_data": _HOLD,
        "on_inconclusive": _HOLD,
        "deadline": (None, SECONDS),
        "enabled": bool,
        "metrics": _METRICS,
    }
    __attrs_pre_init__ = check_parameters

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)
    failure_limit: int | None = 0
    consecutive_failure_limit: int | None = None
    error_limit: int = 4
    on_no_data: HoldPolicy = "hold"
    on_inconclusive: HoldPolicy = "hold"
    deadline: float | None = 600.0
    enabled: bool = True
    metrics: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not self.conditions:
            raise ConfigError("a rollback policy needs at least one condition")
        if not reading_a_log():  # a log written before the rule is still read
            for condition in self.conditions:
                _refuse_unreachable_count(condition)
        if self.failure_limit is None and self.consecutive_failure_limit is None:
            raise ConfigError(
                "failure_limit and consecutive_failure_limit are both None: failures would "
                "never roll back; set at least one"
            )

    # --- evaluation ------------------------------------------------------------------------

    @validate_params(
        source=MetricSource,
        slot=SLOT,
        baseline=(None, SLOT),
        window=SECONDS,
        at=(None, TIME),
        keep_samples=bool,
    )
    def evaluate(  # noqa: PLR0913 - public evaluation: source plus keyword-only slot, baseline, window, time and sample options
        self,
        source: MetricSource,
        *,
        slot: str,
        baseline: str | None = None,
        window: float,
        at: float | None = None,
        keep_samples: bool = False,
    ) -> Decision:
        """Evaluate every condition over ``(at - window, at]``.

        Parameters
        ----------
        source : MetricSource
        slot : str
            The slot under watch (the canary, or the new version).
        baseline : str, optional
            The slot relative conditions compare with; required when there are any.
        window : float
            Seconds.
        at : float, optional
            End of the window; the source's clock by default.
        keep_samples : bool
            Keep what the source answered in :attr:`Decision.inputs` (needed to
            :func:`replay`; a window of 100,000 latencies is about 4 MB of JSON).

        Returns
        -------
        Decision

        Raises
        ------
        ConfigError
            If a condition is relative and no baseline is given, the baseline is the
            watched slot itself, an argument is not what is
            described above (the window not a positive number of seconds, ``at`` not a
            finite time), the source's clock returns something else than a time, the
            source cannot be asked for a metric, or it answers something else than an
            outcome (:class:`Samples`, :class:`NoData`, :class:`SourceError`).

        Notes
        -----
        Each answer is held to its question before it is judged, as
        :class:`~modelship.monitor.CallableSource` holds a function's own outcome: an
        answer for another metric or slot, or :class:`Samples` of another statistic than
        the one asked for, is a :class:`SourceError` (``bad_response``); values stamped
        outside ``(at - window, at]`` are left out with a warning (and a ``count`` with
        them), none left is :class:`NoData`; values are put in time order, and the answer
        is stamped with the window (a :class:`NoData` or :class:`SourceError` also with
        the statistic) asked for. :attr:`Decision.inputs` are these checked answers, so
        :func:`replay` gives back every decision bit for bit.
        """
        check_baseline(self, baseline, slot=slot)
        end = source_time(source) if at is None else float(at)
        start = end - float(window)
        if not math.isfinite(start):
            raise ConfigError(
                f"window={float(window):g} s before {end:g} is before any time a float can "
                "hold; give a shorter window"
            )
        # Every answer is held to its question (metric, slot, statistic, window) before
        # it is judged or recorded: a log then holds what was judged, and replays.
        fetched = {
            (metric, which, stat): answer_to(
                source.fetch(metric, slot=which, start=start, end=end, stat=stat),
                metric=metric,
                slot=which,
                start=start,
                end=end,
                stat=stat,
            )
            for metric, which, stat in questions(self, slot=slot, baseline=baseline)
        }

        # Each window is sorted once, however many conditions read it: answers for two
        # statistics of one metric and slot are often views of the same values.
        sorted_windows: dict[tuple[int, int, int], FloatArray] = {}

        def ordered(samples: Samples) -> FloatArray:
            values = samples.values
            key = (values.__array_interface__["data"][0], values.size, values.strides[0])
            if key not in sorted_windows:
                sorted_windows[key] = np.sort(values)
            return sorted_windows[key]

        results = []
        for condition in self.conditions:
            canary = fetched[(condition.metric, slot, condition.stat)]
            reference = None
            if condition.relative and baseline is not None:
                reference = fetched[(condition.metric, baseline, condition.stat)]
            results.append(
                _judge(
                    condition,
                    slot=slot,
                    canary=canary,
                    baseline=baseline,
                    reference=reference,
                    ordered=ordered,
                )
            )
        verdict = next(v for v in VERDICTS if any(r.verdict == v for r in results))
        inputs: tuple[Outcome, ...] = ()
        if keep_samples:
            inputs = tuple(fetched.values())
        return Decision(
            verdict=verdict,
            reasons=tuple(f"{r.verdict}: {r.condition}: {r.reason}" for r in results),
            conditions=tuple(results),
            slot=slot,
            baseline=baseline,
            window=float(window),
            at=end,
            inputs=inputs,
        )

    def tracker(self, *, started_at: float) -> PolicyTracker:
        """A :class:`PolicyTracker` applying this policy's limits from ``started_at``."""
        return PolicyTracker(self, started_at=started_at)

    # --- configuration -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``monitoring:`` section this policy comes from (conditions as text).

        Examples
        --------
        >>> import modelship as ms
        >>> p = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"], error_limit=2)
        >>> ms.monitor.RollbackPolicy.from_dict(p.to_dict()) == p
        True
        """
        return {
            "enabled": self.enabled,
            "metrics": list(self.metrics),
            "conditions": [c.to_dict() for c in self.conditions],
            "failure_limit": self.failure_limit,
            "consecutive_failure_limit": self.consecutive_failure_limit,
            "error_limit": self.error_limit,
            "on_no_data": self.on_no_data,
            "on_inconclusive": self.on_inconclusive,
            "deadline": self.deadline,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RollbackPolicy:
        """A policy from the deployment YAML's ``monitoring:`` section (or the whole file).

        Accepts ``{deployment: {monitoring: {...}}}``, ``{monitoring: {...}}`` or the
        section itself: ``enabled``, ``metrics`` (names), ``conditions`` (strings or
        mappings), and the limits of this class by name. A file with a ``deployment:``
        section takes its policy from ``deployment.monitoring`` only, so a top-level
        ``monitoring:`` beside it is refused rather than ignored.

        Raises
        ------
        ConfigError
            Naming the key and the value that is wrong; or if ``deployment`` is not a
            mapping, or both ``deployment`` and a top-level ``monitoring`` are given.

        Examples
        --------
        >>> import modelship as ms
        >>> section = {"enabled": True, "metrics": ["inference_latency"],
        ...            "conditions": ["p95(inference_latency_seconds) > 200ms",
        ...                           {"when": "mean(accuracy) < baseline - 5%",
        ...                            "min_samples": 500}],
        ...            "failure_limit": 2}
        >>> policy = ms.monitor.RollbackPolicy.from_dict(section)
        >>> policy.conditions[1].min_samples, policy.failure_limit
        (500, 2)
        """
        data = _monitoring_section(data)
        names = {field.name for field in attrs.fields(cls)}
        unknown = [key for key in data if key not in names]
        if unknown:
            shown = ", ".join(sorted(brief(key) for key in unknown)[:5])
            raise ConfigError(f"unknown monitoring keys [{shown}]; allowed: {sorted(names)}")
        if "conditions" not in data:
            raise ConfigError("monitoring needs 'conditions': the triggers that roll back")
        conditions = data["conditions"]
        if isinstance(conditions, (str, Mapping)) or not isinstance(conditions, Sequence):
            raise ConfigError(
                f"monitoring.conditions must be a list of conditions, got {brief(conditions)}"
            )
        if "metrics" in data and not _METRICS.is_satisfied_by(data["metrics"]):
            metrics = data["metrics"]
            if isinstance(metrics, str) or not isinstance(metrics, Sequence):
                raise ConfigError(
                    f"monitoring.metrics must be a list of names, got {brief(metrics)}"
                )
            require("monitoring.metrics", metrics, _METRICS)
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"monitoring.enabled must be true or false, got {brief(enabled)}")
        fields = dict(data)
        deadline = fields.get("deadline")
        if isinstance(deadline, int) and SECONDS.is_satisfied_by(deadline):
            fields["deadline"] = float(deadline)  # YAML's 900 is the float 900.0 of to_dict
        return cls(**fields)

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> RollbackPolicy:
        """A policy from YAML text (a ``str``) or a YAML file (a :class:`pathlib.Path`).

        Needs PyYAML. A ``str`` is always read as YAML text: pass ``Path("deploy.yaml")``
        to read a file. A key given twice is refused, as the deployment spec does; the
        text is at most 1 MiB and holds at most ``MAX_VALUES`` values once YAML aliases
        are expanded.

        Raises
        ------
        MissingDependency
            If PyYAML is not installed.
        ConfigError
            If the file cannot be read, the YAML is malformed, too large, gives a key
            twice, or the section is invalid.

        Examples
        --------
        >>> import modelship as ms
        >>> policy = ms.monitor.RollbackPolicy.from_yaml('''
        ... monitoring:
        ...   enabled: true
        ...   metrics: [inference_latency, model_accuracy]
        ...   conditions:
        ...     - p95(inference_latency_seconds) > 0.2
        ...     - mean(accuracy) < baseline - 5%
        ... ''')
        >>> len(policy.conditions), policy.metrics
        (2, ('inference_latency', 'model_accuracy'))
        """
        data = read_yaml(source)
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"the YAML must be a mapping with a monitoring: section, got {type(data).__name__}"
            )
        return cls.from_dict(data)


def questions(
    policy: RollbackPolicy, *, slot: str, baseline: str | None
) -> tuple[tuple[str, str, str], ...]:
    """What :meth:`RollbackPolicy.evaluate` asks its source, in the order it asks:
    ``(metric, slot, stat)`` per condition, then the baseline's for a relative one, each
    once. A decision's ``inputs`` are the answers in this order.

    Examples
    --------
    >>> policy = RollbackPolicy(conditions=["p95(lat) > 0.2", "lat > baseline"])
    >>> questions(policy, slot="canary", baseline="stable")
    (('lat', 'canary', 'p95'), ('lat', 'canary', 'mean'), ('lat', 'stable', 'mean'))
    """
    asked: dict[tuple[str, str, str], None] = {}
    for condition in policy.conditions:
        asked[(condition.metric, slot, condition.stat)] = None
        if condition.relative and baseline is not None:
            asked[(condition.metric, baseline, condition.stat)] = None
    return tuple(asked)


def check_baseline(
    policy: RollbackPolicy, baseline: str | None, *, slot: str | None = None
) -> None:
    """Raise :class:`ConfigError` if ``policy`` has a relative condition and ``baseline`` is
    None, or ``baseline`` is the watched ``slot``: what :meth:`RollbackPolicy.evaluate`
    refuses, checked before a watch starts.

    Examples
    --------
    >>> check_baseline(RollbackPolicy(conditions=["x < baseline"]), None)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: 'mean(x) < baseline' compares with the baseline: pass ...
    >>> check_baseline(RollbackPolicy(conditions=["x > 1"]), "green", slot="green")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: baseline='green' is the watched slot itself: ...
    """
    if baseline is None and any(c.relative for c in policy.conditions):
        relative = next(str(c) for c in policy.conditions if c.relative)
        raise ConfigError(f"{relative!r} compares with the baseline: pass baseline=<slot>")
    if baseline is not None and baseline == slot:
        raise ConfigError(same_slot("baseline", baseline))


def same_slot(name: str, slot: str) -> str:
    """Why a slot compared with itself is refused (a typo, a previous slot reused)."""
    return (
        f"{name}={brief(slot)} is the watched slot itself: a slot never differs from "
        "itself, so no comparison with it can fail; pass the slot of the version it is "
        "compared with (the stable one)"
    )


def _too_few(n: int, condition: Condition) -> bool:
    # A condition on the amount of traffic judges the window, whatever it counted: its
    # sample size is what it measures (3 requests, or none, is the traffic drop itself).
    return not condition.measures_traffic and n < condition.min_samples


def _judge(  # noqa: PLR0913 - keyword-only outcomes of both slots needed to judge one condition
    condition: Condition,
    *,
    slot: str,
    canary: Outcome,
    baseline: str | None,
    reference: Outcome | None,
    ordered: Callable[[Samples], FloatArray],
) -> ConditionResult:
    text = str(condition)
    for name, outcome in ((slot, canary), (baseline, reference)):
        if isinstance(outcome, SourceError):
            return ConditionResult(
                text, "error", f"{name}: {outcome.error_type}: {outcome.message}"
            )
    for name, outcome in ((slot, canary), (baseline, reference)):
        if isinstance(outcome, NoData):
            return ConditionResult(text, "no_data", f"{name}: {outcome.reason}")
    assert isinstance(canary, Samples)
    value, summary = summarize(
        canary, condition.stat, ordered=None if canary.stat else ordered(canary)
    )
    stat = condition.stat
    base_value = base_n = base_summary = None
    if isinstance(reference, Samples):
        base_value, base_summary = summarize(
            reference, stat, ordered=None if reference.stat else ordered(reference)
        )
        base_n = reference.n
    common: dict[str, Any] = {
        "value": value,
        "n": canary.n,
        "summary": summary,
        "baseline_value": base_value,
        "baseline_n": base_n,
        "baseline_summary": base_summary,
    }
    short = [(slot, canary.n)] + ([(str(baseline), base_n)] if base_n is not None else [])
    lacking = [f"{name} has n={n}" for name, n in short if _too_few(n, condition)]
    if lacking:
        return ConditionResult(
            text,
            "inconclusive",
            f"{' and '.join(lacking)} < min_samples={condition.min_samples}",
            **common,
        )
    limit = condition.limit(base_value)
    if math.isnan(value) or math.isnan(limit):
        # Name the slot whose statistic is NaN: the baseline's, not the watched slot's,
        # when only the baseline's is (+inf and -inf in its values).
        nan = [f"{slot} {stat} is NaN"] if math.isnan(value) else []
        if base_value is not None and math.isnan(base_value):
            nan.append(f"the baseline {baseline} {stat} is NaN")
        elif math.isnan(limit):
            nan.append(f"the limit from the baseline {baseline} {stat} ({base_value}) is NaN")
        return ConditionResult(text, "no_data", " and ".join(nan), **common)
    if math.isinf(value) and value == base_value == limit:
        # The same infinity on both sides (a quantile above the histogram's last finite
        # bucket, as PrometheusSource answers it, in both slots): ">" would pass and ">="
        # fail on a difference nobody measured. Neither slot lacks data and no source
        # failed: inconclusive, held without promoting (``on_inconclusive``), as the
        # canary analysis refuses the same shift.
        where = (
            "above the histogram's last finite bucket: widen the buckets"
            if value > 0
            else "at -inf"
        )
        return ConditionResult(
            text,
            "inconclusive",
            f"{slot} {stat} = {_fmt(value)} and {baseline} {stat} = {_fmt(base_value)} "
            f"cannot be compared (n={canary.n} vs {base_n}): both slots {where}",
            limit=limit,
            **common,
        )
    holds = condition.holds(value, limit)
    shown = condition.op if holds else _NEGATED[condition.op]
    if base_value is None:
        reason = f"{slot} {stat} = {_fmt(value)} {shown} {_fmt(limit)} (n={canary.n})"
    else:
        reason = (
            f"{slot} {stat} = {_fmt(value)} {shown} {_fmt(limit)} = limit from {baseline} "
            f"{stat} = {_fmt(base_value)} (n={canary.n} vs {base_n})"
        )
    return ConditionResult(text, "fail" if holds else "pass", reason, limit=limit, **common)


_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


# --- the tracker ------------------------------------------------------------------------------


@attrs.frozen
class Step:
    """What a :class:`PolicyTracker` concluded from one decision.

    Attributes
    ----------
    action : {"continue", "hold", "rollback"}
        ``continue``: the evaluation passed. ``hold``: wait, do not promote (no data,
        inconclusive, a tolerated failure or error). ``rollback``: a limit or the
        deadline was reached.
    verdict : str
        The decision's verdict.
    counted_as : str
        The verdict after ``on_no_data``/``on_inconclusive`` (``fail`` or the verdict).
    reason : str
    at : float
    evaluations, failures, consecutive_failures, consecutive_errors : int
        Counters after this decision.
    last_pass : float
        Time of the last passing evaluation (or the start).

    Examples
    --------
    >>> from modelship.monitor import Step
    >>> s = Step("hold", "no_data", "no_data", "waiting", 10.0, 1, 0, 0, 0, 0.0)
    >>> Step.from_dict(s.to_dict()) == s
    True
    """

    action: Action
    verdict: Verdict
    counted_as: Verdict
    reason: str
    at: float
    evaluations: int
    failures: int
    consecutive_failures: int
    consecutive_errors: int
    last_pass: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If a field is missing, unknown, or not what :meth:`to_dict` writes, or the
            counters contradict each other.
        """
        fields = read_fields(data, "recorded step", _STEP_FIELDS)
        _check_counters(fields, "recorded step")
        return cls(**fields)


_ACTION = Options(("continue", "hold", "rollback"))
_COUNTERS: dict[str, Spec] = {
    "evaluations": COUNT,
    "failures": COUNT,
    "consecutive_failures": COUNT,
    "consecutive_errors": COUNT,
    "last_pass": TIME,
}
_STEP_FIELDS: dict[str, Spec] = {
    "action": _ACTION,
    "verdict": _VERDICT,
    "counted_as": _VERDICT,
    "reason": str,
    "at": TIME,
    **_COUNTERS,
}


def _check_counters(fields: Mapping[str, Any], what: str) -> None:
    """What every update keeps true: each evaluation counts once, a failure in a row is a
    failure, an error in a row is an evaluation."""
    evaluations, failures = fields["evaluations"], fields["failures"]
    if not fields["consecutive_failures"] <= failures <= evaluations:
        raise ConfigError(
            f"the {what} has consecutive_failures={fields['consecutive_failures']}, "
            f"failures={failures}, evaluations={evaluations}; a tracker never counts more "
            "failures in a row than failures, nor failures than evaluations"
        )
    if fields["consecutive_errors"] > evaluations:
        raise ConfigError(
            f"the {what} has consecutive_errors={fields['consecutive_errors']} > "
            f"evaluations={evaluations}"
        )


def _check_rolled_back(step: Step, fields: Mapping[str, Any]) -> None:
    """What a tracker's ``rolled_back`` step is: the step that rolled back (a ``continue``
    step there would answer ``rollback`` to every later pass), taken no later than the
    state it is saved with (the counters only grow after it)."""
    if step.action != "rollback":
        raise ConfigError(
            f"the tracker state's rolled_back step has action {step.action!r}; it is the "
            "step that rolled back, whose action is 'rollback' (or null if none did)"
        )
    for name in _COUNTERS:  # bounded: four counters and the last pass
        if getattr(step, name) > fields[name]:
            raise ConfigError(
                f"the tracker state's rolled_back step has {name}={getattr(step, name)!r} > "
                f"the tracker's {name}={fields[name]!r}; the step is taken before the state "
                "is saved, and the counters never go down"
            )


class PolicyTracker:
    """Applies a policy's limits to a sequence of decisions, in O(1) per decision.

    The state is five numbers (evaluations, failures, consecutive failures, consecutive
    errors, time of the last pass) and whether it rolled back; the cost of an update
    does not depend on how many came before.

    Rules, per decision (after ``on_no_data``/``on_inconclusive``):

    * ``pass``: consecutive counts reset, the deadline restarts; ``continue``.
    * ``fail``: failures and consecutive failures (failures since the last pass: only a
      pass resets them) count up; ``rollback`` when one exceeds its limit, else
      ``hold`` (a tolerated failure never promotes).
    * ``error``: consecutive errors count up; ``rollback`` past ``error_limit``, else
      ``hold``. Any other verdict resets the error count.
    * ``no_data``/``inconclusive`` held: ``hold``.
    * any ``hold`` at or past ``last_pass + deadline``: ``rollback``.
    * after a ``rollback``, every update answers ``rollback``.

    Decisions are taken in the order they come, whatever their time. A clock that steps
    back (an NTP correction, a restored VM, a source on another host) never moves
    ``last_pass`` back: a pass dated before the last one leaves it where it is, and a
    hold dated before it counts as held for 0 s. The deadline is measured on the
    decisions' clock from the latest pass: a step back never rolls back early, and while
    the clock is behind, the deadline waits for it to catch up.

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"], deadline=120)
    >>> tracker = policy.tracker(started_at=0.0)
    >>> src = ms.monitor.InMemorySource()
    >>> for at in (60.0, 120.0):
    ...     step = tracker.update(policy.evaluate(src, slot="canary", window=60.0, at=at))
    ...     print(step.action, step.reason)
    hold no_data, held 60 s of 120 s deadline
    rollback no_data for 120 s without a pass (deadline 120 s)
    """

    def __init__(self, policy: RollbackPolicy, *, started_at: float) -> None:
        require("policy", policy, RollbackPolicy)
        require("started_at", started_at, TIME)
        self.policy = policy
        self.evaluations = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.consecutive_errors = 0
        self.last_pass = float(started_at)
        self.rolled_back: Step | None = None

    def update(self, decision: Decision) -> Step:  # noqa: PLR0912 - state machine: one branch per verdict and limit; a table would hide the order of the checks
        """Count ``decision`` and return the action it leads to.

        Raises
        ------
        ConfigError
            If ``decision`` is not a :class:`Decision`.
        """
        require("decision", decision, Decision)
        policy = self.policy
        verdict: Verdict = decision.verdict
        counted: Verdict = verdict
        if (verdict == "no_data" and policy.on_no_data == "fail") or (
            verdict == "inconclusive" and policy.on_inconclusive == "fail"
        ):
            counted = "fail"
        self.evaluations += 1
        if self.rolled_back is not None:
            return self._step("rollback", verdict, counted, decision.at, "already rolled back")
        if counted != "error":
            self.consecutive_errors = 0
        action: Action = "hold"
        reason: str
        if counted == "pass":
            self.consecutive_failures = 0
            # A clock stepped back must not move the last pass back in time: after the
            # correction, the next hold would be measured from there and roll back at once.
            self.last_pass = max(self.last_pass, decision.at)
            action, reason = "continue", "passed"
        elif counted == "fail":
            self.failures += 1
            self.consecutive_failures += 1
            total, in_row = policy.failure_limit, policy.consecutive_failure_limit
            if total is not None and self.failures > total:
                action, reason = "rollback", f"{self.failures} failures > failure_limit={total}"
            elif in_row is not None and self.consecutive_failures > in_row:
                action = "rollback"
                reason = (
                    f"{self.consecutive_failures} failures since the last pass > "
                    f"consecutive_failure_limit={in_row}"
                )
            else:
                reason = (
                    f"failure tolerated ({self.failures} in total, "
                    f"{self.consecutive_failures} since the last pass)"
                )
        elif counted == "error":
            self.consecutive_errors += 1
            if self.consecutive_errors > policy.error_limit:
                action = "rollback"
                reason = (
                    f"{self.consecutive_errors} source errors in a row > "
                    f"error_limit={policy.error_limit}"
                )
            else:
                reason = f"source error {self.consecutive_errors} of {policy.error_limit} tolerated"
        else:
            reason = counted
        if action == "hold" and policy.deadline is not None:
            # Behind the last pass (a clock stepped back), nothing has been held yet: a
            # negative time would move the deadline out by the size of the step.
            held = max(0.0, decision.at - self.last_pass)
            if held >= policy.deadline:
                action = "rollback"
                reason = f"{reason} for {held:g} s without a pass (deadline {policy.deadline:g} s)"
            elif counted not in ("fail", "error"):
                reason = f"{reason}, held {held:g} s of {policy.deadline:g} s deadline"
        step = self._step(action, verdict, counted, decision.at, reason)
        if action == "rollback":
            self.rolled_back = step
        return step

    def to_dict(self) -> dict[str, Any]:
        """The counters, JSON-compatible: enough to resume after a restart.

        Examples
        --------
        >>> import modelship as ms
        >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
        >>> tracker = policy.tracker(started_at=5.0)
        >>> again = ms.monitor.PolicyTracker.from_dict(policy, tracker.to_dict())
        >>> again.to_dict() == tracker.to_dict()
        True
        """
        return {
            "evaluations": self.evaluations,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_errors": self.consecutive_errors,
            "last_pass": self.last_pass,
            "rolled_back": None if self.rolled_back is None else self.rolled_back.to_dict(),
        }

    @classmethod
    def from_dict(cls, policy: RollbackPolicy, data: Mapping[str, Any]) -> PolicyTracker:
        """A tracker for ``policy`` resumed from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If ``policy`` is not a :class:`RollbackPolicy`, or a field of ``data`` is
            missing, unknown, out of range (a negative count, a time that is not finite)
            or contradicts the others.
        """
        require("policy", policy, RollbackPolicy)
        data = read_fields(data, "tracker state", _COUNTERS, {"rolled_back": (None, Mapping)})
        _check_counters(data, "tracker state")
        tracker = cls(policy, started_at=float(data["last_pass"]))
        tracker.evaluations = int(data["evaluations"])
        tracker.failures = int(data["failures"])
        tracker.consecutive_failures = int(data["consecutive_failures"])
        tracker.consecutive_errors = int(data["consecutive_errors"])
        rolled_back = data.get("rolled_back")
        tracker.rolled_back = None if rolled_back is None else Step.from_dict(rolled_back)
        if tracker.rolled_back is not None:
            _check_rolled_back(tracker.rolled_back, data)
        return tracker

    def _step(
        self, action: Action, verdict: Verdict, counted: Verdict, at: float, reason: str
    ) -> Step:
        return Step(
            action=action,
            verdict=verdict,
            counted_as=counted,
            reason=reason,
            at=at,
            evaluations=self.evaluations,
            failures=self.failures,
            consecutive_failures=self.consecutive_failures,
            consecutive_errors=self.consecutive_errors,
            last_pass=self.last_pass,
        )


# --- the decision log and replay -----------------------------------------------------------------


class DecisionLog:
    """Decisions and the steps they led to, in order, for one policy; JSON Lines on disk.

    The first line holds the policy; each further line one decision (with its inputs
    when evaluated with ``keep_samples=True``) and its step. Appending is O(1).

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
    >>> src = ms.monitor.InMemorySource(now=60.0)
    >>> src.add("error_rate", slot="canary", values=[0.0] * 50, timestamps=range(50))
    >>> step = log.evaluate(src, slot="canary", window=60.0)
    >>> step.action, len(log)
    ('continue', 1)
    >>> ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(log.to_jsonl())).identical
    True
    """

    def __init__(self, policy: RollbackPolicy, *, started_at: float) -> None:
        require("policy", policy, RollbackPolicy)
        require("started_at", started_at, TIME)
        self.policy = policy
        self.started_at = float(started_at)
        self.entries: list[tuple[Decision, Step]] = []
        self._tracker = policy.tracker(started_at=started_at)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[tuple[Decision, Step]]:
        return iter(self.entries)

    @property
    def rolled_back(self) -> Step | None:
        """The step that rolled back (the first: every later one answers ``rollback``,
        ``already rolled back``), or None while the log has not rolled back; also for a
        log read back with :meth:`from_jsonl`.

        Examples
        --------
        >>> import modelship as ms
        >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1% min_samples=5"])
        >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
        >>> src = ms.monitor.InMemorySource(now=60.0)
        >>> log.rolled_back is None
        True
        >>> src.add("error_rate", slot="canary", values=[0.5] * 10, timestamps=range(50, 60))
        >>> log.evaluate(src, slot="canary", window=60.0).action
        'rollback'
        >>> log.rolled_back.reason
        '1 failures > failure_limit=0'
        """
        return self._tracker.rolled_back

    def record(self, decision: Decision) -> Step:
        """Add a decision evaluated elsewhere; returns the tracker's step."""
        step = self._tracker.update(decision)
        self.entries.append((decision, step))
        return step

    def evaluate(
        self,
        source: MetricSource,
        *,
        slot: str,
        baseline: str | None = None,
        window: float,
        at: float | None = None,
    ) -> Step:
        """Evaluate the policy (keeping its samples), record it, return the step."""
        decision = self.policy.evaluate(
            source, slot=slot, baseline=baseline, window=window, at=at, keep_samples=True
        )
        return self.record(decision)

    def to_jsonl(self) -> str:
        """The log as JSON Lines."""
        lines = [log_head_line(self.policy, self.started_at)]
        lines += [log_entry_line(d, s) for d, s in self.entries]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_jsonl(cls, text: str) -> DecisionLog:
        """Read a log written by :meth:`to_jsonl` (decisions as recorded, not re-run).

        The log continues where it stopped: its tracker is restored from the last step
        (its counters, and the rollback once there was one), so :meth:`evaluate` and
        ``run_policy(log=...)`` go on counting. A last line without its newline that is not
        JSON (a writer stopped mid-line) is left out with a
        :class:`~modelship.RepairWarning`.

        Raises
        ------
        ConfigError
            If a line is not JSON, the schema is unknown, a line is not what
            :meth:`to_jsonl` writes, or the steps' counters contradict each other (the
            message names the line).
        """
        if not isinstance(text, str):
            raise ConfigError(f"a decision log is JSON Lines text, got {type(text).__name__}")
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and not text.endswith(("\n", "\r")):
            try:
                _json_object(lines[-1], "decision log's last line")
            except ConfigError:
                warnings.warn(
                    f"decision log line {len(lines)} has no newline and is not JSON: a "
                    "writer stopped mid-line; that line is left out",
                    RepairWarning,
                    stacklevel=2,
                )
                lines.pop()
        if not lines:
            raise ConfigError("an empty decision log has no policy line")
        head = _json_object(lines[0], "decision log's first line")
        if head.get("schema") != DECISION_SCHEMA or "policy" not in head:
            raise ConfigError(f"not a decision log of schema {DECISION_SCHEMA}: {lines[0][:100]}")
        try:
            head = read_fields(
                head,
                "decision log's first line",
                {"schema": object, "policy": Mapping, "started_at": TIME},
            )
            log = cls(_recorded_policy(head["policy"]), started_at=head["started_at"])
        except ConfigError as exc:
            raise ConfigError(f"decision log line 1: {exc}") from None
        for number, line in enumerate(lines[1:], start=2):
            what = f"decision log line {number}"
            record = read_fields(
                _json_object(line, what), what, {"decision": Mapping, "step": Mapping}
            )
            try:
                entry = (Decision.from_dict(record["decision"]), Step.from_dict(record["step"]))
            except ConfigError as exc:
                raise ConfigError(f"{what}: {exc}") from None
            log.entries.append(entry)
        if log.entries:
            log._tracker = _resumed_tracker(log.policy, log.entries, len(lines))
        return log


def _resumed_tracker(
    policy: RollbackPolicy, entries: Sequence[tuple[Decision, Step]], last_line: int
) -> PolicyTracker:
    """The tracker as it stood after ``entries``: the last step's counters, and the first
    rollback (every later step answers ``rollback``)."""
    last = entries[-1][1]
    rolled_back = next((step for _, step in entries if step.action == "rollback"), None)
    state = {
        "evaluations": last.evaluations,
        "failures": last.failures,
        "consecutive_failures": last.consecutive_failures,
        "consecutive_errors": last.consecutive_errors,
        "last_pass": last.last_pass,
        "rolled_back": None if rolled_back is None else rolled_back.to_dict(),
    }
    try:
        return PolicyTracker.from_dict(policy, state)
    except ConfigError as exc:
        raise ConfigError(f"decision log line {last_line}: {exc}") from None


@attrs.frozen
class ReplayResult:
    """Decisions and steps recomputed from a log's inputs.

    Attributes
    ----------
    decisions : tuple of Decision
    steps : tuple of Step
    identical : bool
        Every recomputed decision and step serialises to the same JSON as the recorded one.
    first_difference : int or None
        Index of the first entry that differs.

    Examples
    --------
    >>> from modelship.monitor import ReplayResult
    >>> ReplayResult((), (), True, None).identical
    True
    """

    decisions: tuple[Decision, ...]
    steps: tuple[Step, ...]
    identical: bool
    first_difference: int | None


def replay(log: DecisionLog) -> ReplayResult:
    """Recompute every decision of ``log`` offline through an :class:`InMemorySource`.

    Each recorded decision's inputs are put back into a fresh in-memory source whose
    clock is the decision's time; the policy is evaluated again and its tracker updated.
    Bit for bit, the results serialise to the recorded JSON.

    Raises
    ------
    ConfigError
        If a decision was recorded without its inputs (``keep_samples=False``).

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(conditions=["p95(latency) > 0.2 min_samples=3"])
    >>> src = ms.monitor.InMemorySource(now=60.0)
    >>> src.add("latency", slot="canary", values=[0.1, 0.3, 0.5], timestamps=[10, 20, 30])
    >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
    >>> log.evaluate(src, slot="canary", window=60.0).action
    'rollback'
    >>> result = ms.monitor.replay(log)
    >>> result.identical, result.decisions[0].verdict
    (True, 'fail')
    """
    require("log", log, DecisionLog)
    tracker = log.policy.tracker(started_at=log.started_at)
    decisions, steps = [], []
    first: int | None = None
    for index, (recorded, recorded_step) in enumerate(log.entries):
        if not recorded.inputs:
            raise ConfigError(
                f"decision {index} was recorded without its inputs; evaluate with "
                "keep_samples=True (DecisionLog.evaluate does) to replay it"
            )
        asked = questions(log.policy, slot=recorded.slot, baseline=recorded.baseline)
        source = InMemorySource.from_outcomes(
            recorded.inputs,
            now=recorded.at,
            # Each answer back to its own question, when the log's inputs are the
            # policy's questions' answers (a log this version writes always is).
            questions=asked if _answers_questions(recorded.inputs, asked) else None,
        )
        again = log.policy.evaluate(
            source,
            slot=recorded.slot,
            baseline=recorded.baseline,
            window=recorded.window,
            at=recorded.at,
            keep_samples=True,
        )
        step = tracker.update(again)
        same = again.to_json() == recorded.to_json() and step == recorded_step
        if not same and first is None:
            first = index
        decisions.append(again)
        steps.append(step)
    return ReplayResult(tuple(decisions), tuple(steps), first is None, first)


def _answers_questions(inputs: Sequence[Outcome], asked: Sequence[tuple[str, str, str]]) -> bool:
    """Whether ``inputs`` are one answer per question of ``asked``, in order."""
    return len(inputs) == len(asked) and all(
        (i.metric, i.slot) == (metric, slot)
        for i, (metric, slot, _) in zip(inputs, asked, strict=True)
    )


#: What a log's policy may list in ``metrics``: any names. Logs of schema 1 were written
#: before ``metrics`` was limited to the spec's KNOWN_METRICS, and stay readable.
_RECORDED_METRICS = SequenceOf(Text(), description="a list of metric names")


def _recorded_policy(data: Mapping[str, Any]) -> RollbackPolicy:
    """The policy of a log's first line: as :meth:`RollbackPolicy.from_dict` reads it, but
    ``metrics`` may name any metric, as the writers of schema 1 allowed, and a count
    condition that can never hold, as writers before it was refused allowed."""
    metrics = data.get("metrics", [])
    require("monitoring.metrics", metrics, _RECORDED_METRICS)
    with reading_log():
        policy = RollbackPolicy.from_dict({**data, "metrics": []})
    # The one field the constructor would refuse; the policy is otherwise checked whole.
    object.__setattr__(policy, "metrics", tuple(metrics))
    return policy


def log_head_line(policy: RollbackPolicy, started_at: float) -> str:
    """The first line of a decision log: its schema, the policy and when it started.

    :meth:`DecisionLog.to_jsonl` and the log ``watch`` writes as it goes share it, so the
    file and the log in memory are the same text.

    Examples
    --------
    >>> import json
    >>> policy = RollbackPolicy(conditions=["error_rate > 1%"])
    >>> sorted(json.loads(log_head_line(policy, 0.0)))
    ['policy', 'schema', 'started_at']
    """
    head = {"schema": DECISION_SCHEMA, "policy": policy.to_dict(), "started_at": started_at}
    return _json.canonical_json(head).decode()


def log_entry_line(decision: Decision, step: Step) -> str:
    """One evaluation's line of a decision log (see :func:`log_head_line`)."""
    return _json.canonical_json({"decision": decision.to_dict(), "step": step.to_dict()}).decode()
