"""Analysis gates: what a gate may answer, and the explicit policy for each answer.

A gate is any callable that looks at the rollout and answers :class:`Verdict` (or a
:class:`GateResult` carrying the inputs it judged). :class:`GateTally` turns the answers
of one analysis into a decision, with safe defaults learnt from tools that shipped broken
models through each gap:

* ``no_data`` and ``inconclusive`` hold: never promote, never count as a pass (an empty
  metric scored as a pass; an inconclusive run promoted at the end of a pause), and abort
  once :attr:`GatePolicy.deadline` has passed without a pass.
* ``error`` holds and counts towards :attr:`GatePolicy.max_consecutive_errors` (default
  4), then aborts; any other answer resets that count.
* ``fail`` aborts at once, unless a failure limit is set; a total limit counts every
  failure of the rollout (over all its canary steps), so later passes never mask
  earlier failures; a consecutive limit counts failures with no ``pass``, ``no_data`` or
  ``inconclusive`` between them. An ``error`` between two failures neither counts nor
  breaks the run: it is the gate failing to judge, which says nothing about the version,
  and a flaky metric source must not mask a version that fails every time it is judged.
* only ``pass`` promotes.

Every evaluation is bounded: the deadline aborts any analysis that never passes, and an
``interval`` longer than the time left waits only until the deadline.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from modelship._params import Constraints, Interval, Options, check, check_parameters

if TYPE_CHECKING:
    from modelship.deploy._rollout import Rollout

__all__ = ["Decision", "Gate", "GatePolicy", "GateResult", "GateTally", "Verdict"]


class Verdict(enum.Enum):
    """What one gate evaluation answered.

    Examples
    --------
    >>> Verdict("no_data")
    <Verdict.NO_DATA: 'no_data'>
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NO_DATA = "no_data"
    ERROR = "error"


# A record, not settings (see tests/checks/test_parameter_coverage.py): its fields are
# checked where they are converted rather than declared in _parameter_constraints.


def _verdict(value: Verdict | str) -> Verdict:
    check("verdict", value, Options(Verdict))
    return Verdict(value)


def _reason(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check("reason", value, str)


def _json_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    check("inputs", value, Mapping)
    return dict(value)


@attrs.frozen
class GateResult:
    """A gate's answer with its reason and the inputs it judged (kept in the history).

    ``inputs`` must be JSON-serialisable (numbers, strings, lists, dicts); a missing value
    is ``None``, never a zero.

    Examples
    --------
    >>> GateResult(Verdict.FAIL, "p99 latency 0.41 s > 0.2 s", {"p99": 0.41}).to_dict()
    {'verdict': 'fail', 'reason': 'p99 latency 0.41 s > 0.2 s', 'inputs': {'p99': 0.41}}
    >>> GateResult("passed")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: verdict='passed' is not allowed; verdict must be one of ...
    """

    verdict: Verdict = attrs.field(converter=_verdict)
    reason: str = attrs.field(default="", validator=_reason)
    inputs: Mapping[str, Any] = attrs.field(factory=dict, converter=_json_mapping)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this answer."""
        return {"verdict": self.verdict.value, "reason": self.reason, "inputs": dict(self.inputs)}


Gate = Callable[["Rollout"], GateResult | Verdict]
"""A gate: called with the rollout, answers a :class:`Verdict` or a :class:`GateResult`.

A type alias: any callable of that shape is a gate, given to a strategy as ``gate=``
(``Canary(deployer, steps=[...], gate=latency_gate)``); ``GatePolicy`` says what each
answer does.

Examples
--------
>>> from modelship.deploy import Gate, GateResult, Verdict
>>> def latency_gate(rollout) -> GateResult:
...     p99 = 0.41  # read from your metric source for rollout.slot
...     verdict = Verdict.PASS if p99 < 0.2 else Verdict.FAIL
...     return GateResult(verdict, f"p99 {p99:.2f} s", {"p99": p99, "threshold": 0.2})
>>> gate: Gate = latency_gate
>>> gate(None).verdict  # a strategy passes its Rollout
<Verdict.FAIL: 'fail'>
"""


MAX_SECONDS = 2**31 - 1
"""The longest duration a strategy or a gate policy takes, in seconds (2147483647, about 68
years, as the deployment spec's durations): longer is a slip, and one that passed the
check failed later, after traffic moved (``time.sleep`` raises ``OverflowError`` past
about 9.2e9 s; the record must hold the end of an undo window as a date)."""

POSITIVE_SECONDS = Interval(float, 0, MAX_SECONDS, closed="right")
"""A duration that must be positive: up to :data:`MAX_SECONDS` inclusive."""

_COUNT = Interval(int, 1, None)


@attrs.frozen
class GatePolicy:
    """How the answers of one analysis turn into promote, hold or abort.

    Parameters
    ----------
    interval
        Seconds between evaluations while the analysis holds (default 30); never past the
        deadline: with less time left, the next evaluation comes at the deadline.
    deadline
        Seconds an analysis may hold without a pass before it aborts (default 600).

        Both are finite and above 0, and at most 2147483647 s (about 68 years, the bound
        on every duration of a strategy and of the deployment spec): a longer one is an
        ``InvalidParameter`` (a ``ConfigError``) here, not an ``OverflowError`` from the
        clock once traffic has moved.
    max_consecutive_errors
        ``error`` answers in a row that abort (default 4).
    failure_limit
        Total ``fail`` answers that abort. With ``consecutive_failure_limit`` also None
        (the default), the first failure aborts.
    consecutive_failure_limit
        ``fail`` answers in a row that abort (None: not checked). A ``pass``, ``no_data``
        or ``inconclusive`` answer ends the run; an ``error`` does not (the gate could not
        judge, which says nothing about the version).

    Examples
    --------
    >>> policy = GatePolicy()
    >>> policy.deadline, policy.max_consecutive_errors, policy.failure_limit
    (600.0, 4, None)
    >>> GatePolicy(interval=0)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: interval=0 is not allowed; interval must be a float in ...
    >>> GatePolicy(deadline=100 * 365 * 86400)  # 100 years: a slip
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: deadline=3153600000 is not allowed; ... (0, 2147483647]
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "interval": POSITIVE_SECONDS,
        "deadline": POSITIVE_SECONDS,
        "max_consecutive_errors": _COUNT,
        "failure_limit": (None, _COUNT),
        "consecutive_failure_limit": (None, _COUNT),
    }
    __attrs_pre_init__ = check_parameters

    interval: float = 30.0
    deadline: float = 600.0
    max_consecutive_errors: int = 4
    failure_limit: int | None = None
    consecutive_failure_limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this policy (recorded in each rollout's history)."""
        return attrs.asdict(self)


class Decision(enum.Enum):
    """What an analysis decided after one answer.

    Examples
    --------
    >>> Decision.HOLD.value
    'hold'
    """

    PROMOTE = "promote"
    HOLD = "hold"
    ABORT = "abort"


@attrs.define
class GateTally:
    """The running count of one analysis' answers, and the decision after each.

    ``started`` is the monotonic time the analysis began (its deadline counts from it).

    Examples
    --------
    >>> tally = GateTally(GatePolicy(deadline=60), started=0.0)
    >>> tally.record(Verdict.NO_DATA, now=10.0)
    (<Decision.HOLD: 'hold'>, 'no_data holds: no pass yet; 50 s left before the deadline')
    >>> tally.record(Verdict.PASS, now=40.0)[0]
    <Decision.PROMOTE: 'promote'>
    >>> GateTally(GatePolicy(), started=0.0).record(Verdict.FAIL, now=1.0)[0]
    <Decision.ABORT: 'abort'>
    """

    policy: GatePolicy
    started: float
    failures: int = 0
    consecutive_failures: int = 0
    consecutive_errors: int = 0
    answers: int = 0

    def restart(self, now: float) -> None:
        """Begin the next analysis of the same rollout at ``now``: a new deadline.

        Failures keep counting across analyses, so a pass at a later step never hides a
        failure at an earlier one.
        """
        self.started = now

    def time_left(self, now: float) -> float:
        """Seconds from monotonic time ``now`` to this analysis' deadline (negative: past)."""
        return self.started + self.policy.deadline - now

    def record(self, verdict: Verdict, now: float) -> tuple[Decision, str]:  # noqa: PLR0911 - one return per gate decision; the order of the limit checks decides which reason is given
        """Count ``verdict`` (answered at monotonic time ``now``); the decision and why."""
        policy = self.policy
        self.answers += 1
        if verdict is Verdict.ERROR:
            self.consecutive_errors += 1
            if self.consecutive_errors >= policy.max_consecutive_errors:
                return Decision.ABORT, (
                    f"{self.consecutive_errors} gate errors in a row reached the limit "
                    f"max_consecutive_errors={policy.max_consecutive_errors}"
                )
        else:
            self.consecutive_errors = 0
        if verdict not in (Verdict.FAIL, Verdict.ERROR):
            # An error is the gate failing to judge: it says nothing about the version, so
            # it neither counts nor breaks a run of failures (a flaky metric source must
            # not mask a version that fails whenever it is judged).
            self.consecutive_failures = 0
        if verdict is Verdict.PASS:
            return Decision.PROMOTE, "the gate passed"
        if verdict is Verdict.FAIL:
            self.failures += 1
            self.consecutive_failures += 1
            if policy.failure_limit is None and policy.consecutive_failure_limit is None:
                return Decision.ABORT, "the gate failed (no failure limit set: one failure aborts)"
            if policy.failure_limit is not None and self.failures >= policy.failure_limit:
                return Decision.ABORT, (
                    f"{self.failures} failures reached failure_limit={policy.failure_limit}"
                )
            if (
                policy.consecutive_failure_limit is not None
                and self.consecutive_failures >= policy.consecutive_failure_limit
            ):
                return Decision.ABORT, (
                    f"{self.consecutive_failures} failures in a row reached "
                    f"consecutive_failure_limit={policy.consecutive_failure_limit}"
                )
        left = self.time_left(now)
        if left <= 0:
            return Decision.ABORT, (
                f"no pass within the analysis deadline of {policy.deadline:g} s "
                f"(last answer: {verdict.value})"
            )
        return Decision.HOLD, (
            f"{verdict.value} holds: no pass yet; {left:.0f} s left before the deadline"
        )
