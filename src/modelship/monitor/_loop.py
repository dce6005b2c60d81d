"""Evaluate a policy on a schedule until it rolls back or the time is up.

:func:`run_policy` is the loop a rollout's watcher runs: evaluate, record the decision
and the tracker's step in a :class:`DecisionLog`, act on a rollback, wait, again. It
knows nothing of deployers; a caller passes what to do on a rollback (for a rollout,
its ``rollback``). Time comes from the source's clock and the waiting from ``sleep``, so
a test or a replay runs it without waiting.

Examples
--------
>>> import modelship as ms
>>> clock = [0.0]
>>> src = ms.monitor.InMemorySource(now=lambda: clock[0])
>>> def sleep(seconds):                     # a minute passes; errors start after two
...     clock[0] += seconds
...     errors = 1.0 if clock[0] > 120 else 0.0
...     src.add("error_rate", slot="canary", values=[errors] * 50,
...             timestamps=[clock[0] - 30] * 50)
>>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
>>> rolled_back = []
>>> log = ms.monitor.run_policy(src, policy, slot="canary", window=60.0, interval=60.0,
...                            duration=600.0, on_rollback=rolled_back.append, sleep=sleep)
>>> [step.action for _, step in log]
['hold', 'continue', 'continue', 'rollback']
>>> rolled_back[0].at, rolled_back[0].reason
(180.0, '1 failures > failure_limit=0')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from modelship._params import validate_params
from modelship._rollback._constraints import CALLABLE, SECONDS, SLOT, TIME
from modelship._rollback._policy import (
    Decision,
    DecisionLog,
    RollbackPolicy,
    Step,
    check_baseline,
)
from modelship._rollback._sources import (
    MetricSource,
    NoData,
    Outcome,
    QuestionCheck,
    SourceError,
    source_time,
)
from modelship.errors import ConfigError

__all__ = ["MAX_EVALUATIONS", "check_run", "run_checked", "run_policy"]

#: Evaluations one run may make (``duration / interval``): every evaluation is kept in
#: the decision log in memory with its samples, so a run is bounded by what it can keep
#: (a week at one evaluation a second is 604,800). To watch longer, raise the interval;
#: a run that continues another's log (``log=``) adds to the same memory, so it is no way
#: around the bound.
MAX_EVALUATIONS = 1_000_000

#: Seconds before ``since`` a window still reaches (run_policy): a sample stamped at the
#: instant the version started belongs to it (a test clock stamps the start and the
#: first requests alike), and a window's start is exclusive. A millisecond is below the
#: agreement of any deployer's and metrics system's clocks, so no earlier version's
#: sample it lets in is one a real clock would have told apart.
START_SLACK = 1e-3

#: Seconds (at most a tenth of the interval) by which the end of a run may come after an
#: evaluation's due time and that evaluation still be the last (run_checked): a sleep
#: returns a little late or early (the scheduler, a clock slewed by NTP), and without the
#: slack a run whose duration is a multiple of its interval would make one more evaluation
#: a few milliseconds after the one at the end, judging the same window twice.
END_SLACK = 0.5


@validate_params(
    policy=RollbackPolicy,
    baseline=(None, SLOT),
    window=SECONDS,
    interval=SECONDS,
    duration=SECONDS,
    log=(None, DecisionLog),
    source=(None, MetricSource),
)
def check_run(  # noqa: PLR0913 - the keyword-only arguments of run_policy it checks
    policy: RollbackPolicy,
    *,
    baseline: str | None,
    window: float,
    interval: float,
    duration: float,
    log: DecisionLog | None = None,
    slot: str | None = None,
    source: MetricSource | None = None,
    since: float | None = None,
    probe: bool = False,
) -> int:
    """Refuse what :func:`run_policy` would refuse, before anything is done; the number of
    evaluations the run makes at most (``slot``: the watched slot, which the baseline
    must not be).

    With ``source`` (and ``slot``), a source that can tell (a
    :class:`~modelship._rollback._sources.QuestionCheck`, such as
    :class:`~modelship.monitor.PrometheusSource`) is asked about every condition of an
    enabled policy: a metric without a query template is refused here, not at the first
    evaluation (a disabled policy is never evaluated, so its conditions are not asked
    about). With ``source`` and ``since``, a ``since`` after the source's current time is
    refused: no window would hold a sample, and the deadline would roll back a version
    never looked at. With ``source``, a ``window`` too short to measure at the source's
    current time is refused (:func:`check_window`).

    With ``probe`` (and ``source`` and ``slot``), a
    :class:`~modelship.monitor.PrometheusSource` (also a route of a
    :class:`~modelship.monitor.RoutedSource`) is asked once for its clock and once for
    each condition's queries: a clock more than
    :data:`~modelship.monitor._prometheus.MAX_CLOCK_SKEW` seconds from Prometheus's, a
    query Prometheus cannot parse (``bad_data``) or one answering several series for a
    slot is refused (a Prometheus that does not answer is not: the watch counts its
    outage). :func:`run_policy` does not probe (it asks nothing before its first
    evaluation); a query Prometheus cannot parse met during a watch stops it with a
    ConfigError, while an answer with several series met then (a second pod appeared
    after the probe) is that condition's source error, counted toward ``error_limit``.

    :func:`~modelship.monitor.watch` and ``modelship monitor watch`` call it (with
    ``probe=True``) before they create a log file or record a history event, so a
    refused call leaves nothing behind.

    Raises
    ------
    ConfigError
        If an argument is not what :func:`run_policy` takes, ``duration / interval`` is
        more than :data:`MAX_EVALUATIONS`, a condition is relative and ``baseline`` is
        None, ``log`` belongs to another policy, ``source`` refuses a condition's
        question, ``since`` is after the source's current time, ``window`` is too
        short to measure at it, or (``probe``) a query is one Prometheus can never
        answer or the clocks disagree.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.monitor._loop import check_run
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> check_run(policy, baseline=None, window=60.0, interval=60.0, duration=600.0)
    11
    """
    evaluations = duration / interval
    if not evaluations <= MAX_EVALUATIONS:  # also inf: 1e308 / 1e-300
        raise ConfigError(
            f"duration={duration:g} s at interval={interval:g} s is {evaluations:.3g} "
            f"evaluations; a run makes at most {MAX_EVALUATIONS}, each kept in memory in its "
            "decision log: raise the interval or shorten the duration"
        )
    check_baseline(policy, baseline, slot=slot)
    if log is not None and log.policy != policy:
        raise ConfigError("the log was started for another policy; pass log=None or its policy")
    if source is not None:
        now = source_time(source)
        check_window(window, now)
        if since is not None:
            check_since(since, now)
    if policy.enabled and isinstance(source, QuestionCheck) and slot is not None:
        for condition in policy.conditions:
            for which in (slot, baseline) if condition.relative else (slot,):
                if which is not None:
                    source.check_question(
                        condition.metric, slot=which, stat=condition.stat, window=window
                    )
    if probe and policy.enabled and source is not None and slot is not None:
        _probe(policy, source, slot=slot, baseline=baseline, window=window)
    return math.ceil(evaluations) + 1


def _probe(
    policy: RollbackPolicy,
    source: MetricSource,
    *,
    slot: str,
    baseline: str | None,
    window: float,
) -> None:
    """Ask a :class:`~modelship.monitor.PrometheusSource` (also a route of a
    :class:`~modelship.monitor.RoutedSource`) each condition's queries once, now, and
    refuse a query it can never answer (a template that does not parse, or that answers
    several series for a slot): each evaluation would count it as a source error, and
    roll a healthy version back at ``error_limit``. A Prometheus that does not answer is
    asked nothing more (the watch counts its outage)."""
    from modelship.monitor._compose import RoutedSource
    from modelship.monitor._prometheus import PrometheusSource

    at = source_time(source)
    asked: set[tuple[str, str | None, str]] = set()
    clocks: set[int] = set()
    for condition in policy.conditions:
        # The route the loop will ask.
        target = source._route(condition.metric) if isinstance(source, RoutedSource) else source
        if not isinstance(target, PrometheusSource):
            continue
        if id(target) not in clocks:
            clocks.add(id(target))
            if not target.check_clock():
                return  # Prometheus does not answer: nothing more to ask it now
        for which in (slot, baseline) if condition.relative else (slot,):
            key = (condition.metric, condition.stat, str(which))
            if which is None or key in asked:
                continue
            asked.add(key)
            answered = target.probe_question(
                condition.metric, slot=which, stat=condition.stat, window=window, at=at
            )
            if not answered:
                return


def check_window(window: float, now: float) -> None:
    """Refuse a ``window`` too short to measure at ``now`` (the source's current time).

    A time near the epoch's present (1.8e9 s) is held to about 2.4e-7 s, so a window
    shorter than that has ``now - window == now``: its start is its end, and a source
    refuses the empty window at the first evaluation, after the watch started.

    Raises
    ------
    ConfigError
        If ``now - window`` is not before ``now``.

    Examples
    --------
    >>> from modelship.monitor._loop import check_window
    >>> check_window(1e-8, 1_800_000_000.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: window=1e-08 s is too short to measure at the source's ...
    """
    if now - window < now:
        return
    raise ConfigError(
        f"window={window:g} s is too short to measure at the source's current time "
        f"{now:.3f}: the window would start where it ends; give a window of seconds (at "
        "least the interval between the samples it should hold)"
    )


# How far a since= beyond the source's clock is read as milliseconds typed for seconds: a
# time in ms is 1000 times one in seconds; anything within a factor of 3 of that says so.
_MILLISECONDS = (1000.0 / 3.0, 1000.0 * 3.0)


def check_since(since: float, now: float) -> None:
    """Refuse a ``since`` after ``now`` (the source's current time).

    Raises
    ------
    ConfigError
        If ``since > now``, naming both (and saying when ``since`` looks like
        milliseconds, about 1000 times ``now``).

    Examples
    --------
    >>> from modelship.monitor._loop import check_since
    >>> check_since(1_700_000_000_000.0, 1_700_000_000.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: since=1700000000000.000 is after the source's current ...
    """
    if since <= now:
        return
    hint = ""
    if now > 0 and _MILLISECONDS[0] <= since / now <= _MILLISECONDS[1]:
        hint = f" (it looks like milliseconds: {since / 1000.0:g} seconds?)"
    # Both to the millisecond, and how far apart: with 6 digits (``:g``) an epoch time an
    # hour ahead read as equal to the current one.
    raise ConfigError(
        f"since={since:.3f} is after the source's current time {now:.3f} (by "
        f"{since - now:.3f} s){hint}: no evaluation would see a sample; give the version's "
        "start on the source's clock, in seconds"
    )


@validate_params(
    source=MetricSource,
    policy=RollbackPolicy,
    slot=SLOT,
    baseline=(None, SLOT),
    window=SECONDS,
    interval=SECONDS,
    duration=SECONDS,
    on_rollback=(None, CALLABLE),
    on_step=(None, CALLABLE),
    sleep=CALLABLE,
    log=(None, DecisionLog),
    since=(None, TIME),
)
def run_policy(  # noqa: PLR0913 - public loop: slot, timing and callback options, keyword-only and documented
    source: MetricSource,
    policy: RollbackPolicy,
    *,
    slot: str,
    baseline: str | None = None,
    window: float,
    interval: float,
    duration: float,
    on_rollback: Callable[[Step], object] | None = None,
    on_step: Callable[[Step], object] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    log: DecisionLog | None = None,
    since: float | None = None,
) -> DecisionLog:
    """Evaluate ``policy`` every ``interval`` seconds for ``duration`` seconds.

    Each evaluation keeps its samples (so the log replays) and is recorded with the
    tracker's step. The loop ends at the first ``rollback`` (after calling
    ``on_rollback`` once with that step, *before* ``on_step``: a step that cannot be
    recorded, on a full disk, never keeps the condemned version serving) or when the
    source's clock has passed ``duration`` since the start; it makes at most
    ``ceil(duration / interval) + 1`` evaluations whatever the clock does, and
    ``duration / interval`` may be at most :data:`MAX_EVALUATIONS`. A disabled policy
    (``enabled=False``, ``monitoring.enabled: false``) is not watched: the arguments are
    checked, and the log is returned at once without an evaluation. So is a ``log`` that
    already rolled back (:attr:`DecisionLog.rolled_back`, also once read back with
    :meth:`DecisionLog.from_jsonl`): its watch is over, and ``on_rollback`` was called when
    it rolled back; it is not called again, nor ``on_step``, nor is the source asked.

    Parameters
    ----------
    source, policy :
        What to read and what to apply.
    slot, baseline : str
        The slot under watch and the one relative conditions compare with.
    window : float
        Seconds of data each evaluation reads, at least: every evaluation after the
        first reads ``max(window, time since the previous evaluation)``, so the time an
        evaluation takes (a slow source's round trips) or a late wake-up falls in the
        next window, never between two; no window reaches back before the previous
        evaluation's time unless ``window`` does (a window longer than the interval
        overlaps the previous one). Its decision records the window read, and replays.
    interval : float
        Seconds from one evaluation's time to the next (not from its end: a slow source
        delays no later evaluation; one slower than the interval is followed by the
        next at once). A wait is never longer than what is left of ``duration``, so the
        last evaluation is at its end (or within a sleep's drift before it, at most
        :data:`END_SLACK` or a tenth of the interval), not up to an interval past it.
        That last evaluation reads a whole ``window`` ending at the end (at least the
        time since the previous evaluation), as every other does: the seconds since the
        previous evaluation alone would hold too few samples, or none. When the end
        comes less than half an interval (or half a window, when shorter) after a
        previous evaluation that counted as a failure (``fail``, or ``no_data`` /
        ``inconclusive`` counted as one), the last evaluation is not made: it would mostly
        re-read what that one judged, and one bad minute would count as two failures
        seconds apart. Later, the last evaluation is made (a regression in the last
        interval can still roll back). (A ``window`` longer than the ``interval``
        overlaps every evaluation's window with the previous one's anyway.)
    duration : float
        Seconds to watch.
    on_rollback : callable, optional
        Called once with the step that rolled back (e.g. ``lambda step: rollout.rollback()``).
    on_step : callable, optional
        Called with every step (progress, metrics export); with the rollback step after
        ``on_rollback``, and even when ``on_rollback`` raised.
    sleep : callable
        Waits between evaluations (``time.sleep``; a test passes one that moves a clock).
    log : DecisionLog, optional
        Continue this log (its tracker keeps counting); a new one starts at the source's
        current time otherwise. The log keeps every evaluation in memory: continuing one
        run after another makes it grow. A log that rolled back is returned as it is:
        chain runs while ``log.rolled_back is None``.
    since : float, optional
        A time on the source's clock before which no evaluation looks (the start of the
        version under watch): each window is ``(max(at - window, since - START_SLACK),
        at]`` (``START_SLACK`` is a millisecond, so a sample stamped at ``since``
        counts), and a slot reused after a rollback is not judged on the previous
        version's samples; a decision records the shortened window, and replays. An
        evaluation before ``since`` (a source clock behind) has nothing to look at: every
        condition is ``no_data``, without asking the source. ``None``: every window is
        ``window`` seconds long.

    Returns
    -------
    DecisionLog

    Raises
    ------
    ConfigError
        If an argument is not what is described above (``interval`` or ``duration`` not
        a positive number, ``duration / interval`` more than :data:`MAX_EVALUATIONS`, a
        callback not callable), a condition is relative and ``baseline`` is None, ``log``
        belongs to another policy, ``since`` is after the source's current time (no
        window would hold a sample, and the deadline would roll back on no data), the
        source's clock returns something else than a time, or an answer shows a
        template Prometheus cannot parse (``bad_data``,
        :func:`~modelship.monitor._prometheus.query_mistake`): the run stops there,
        without recording that evaluation or rolling back. (An answer with several
        series for a slot is that condition's source error: :func:`check_run`'s probe
        refuses a template that answers so at the start.)

    Examples
    --------
    >>> import modelship as ms
    >>> src = ms.monitor.InMemorySource(now=0.0)          # a canary without traffic
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"], deadline=None)
    >>> log = ms.monitor.run_policy(src, policy, slot="canary", window=60.0, interval=60.0,
    ...                            duration=120.0, sleep=lambda seconds: None)
    >>> [step.action for _, step in log]
    ['hold', 'hold', 'hold']
    """
    most = check_run(
        policy,
        baseline=baseline,
        window=window,
        interval=interval,
        duration=duration,
        log=log,
        slot=slot,
        source=source,
        since=since,
    )
    return run_checked(
        source,
        policy,
        most=most,
        slot=slot,
        baseline=baseline,
        window=window,
        interval=interval,
        duration=duration,
        on_rollback=on_rollback,
        on_step=on_step,
        sleep=sleep,
        log=log,
        since=since,
    )


def run_checked(  # noqa: PLR0913 - run_policy's keyword-only arguments, plus what check_run answered
    source: MetricSource,
    policy: RollbackPolicy,
    *,
    most: int,
    slot: str,
    baseline: str | None,
    window: float,
    interval: float,
    duration: float,
    on_rollback: Callable[[Step], object] | None,
    on_step: Callable[[Step], object] | None,
    sleep: Callable[[float], object],
    log: DecisionLog | None,
    since: float | None,
) -> DecisionLog:
    """:func:`run_policy` with arguments :func:`check_run` accepted already (``most`` is
    its answer), for a caller that checked them before writing anything.

    Nothing is checked again: in particular ``since`` is not held to a second reading of
    the source's clock, which may read earlier than the first (``time.time()`` is not
    monotonic) and refuse a watch whose file and start event exist. A ``since`` after an
    evaluation's time is no error: that evaluation has nothing to look at (``no_data``).
    """
    if log is not None and log.rolled_back is not None:
        # The watch this log records is over: its tracker answers "rollback" to anything
        # more, which the loop would take for a new rollback and act on again (a second
        # alias move goes back one version further). Nothing is asked of the source.
        return log
    start = source_time(source)
    if log is None:
        log = DecisionLog(policy, started_at=start)
    if not policy.enabled:
        return log
    previous, last, failed = start, False, False
    for _ in range(most):  # bounded whatever the clock does
        at = source_time(source)
        if last and (at <= previous or (failed and at - previous < min(window, interval) / 2)):
            # The last evaluation, at the end, reads a whole window like every other (a
            # window of only the seconds since the previous evaluation holds too few
            # samples, or none: no_data and inconclusive, a rollback under
            # on_no_data/on_inconclusive: fail). It is not made when there is nothing
            # new (a clock that did not move), nor when it comes less than half an
            # interval (or half a window, when shorter) after a previous evaluation that
            # counted as a failure: a last evaluation cut that short would mostly re-read
            # what that one judged, the same bad minutes counting as two failures seconds
            # apart; the watch ends on that (tolerated) failure. Later (the usual last
            # evaluation, an interval after the previous one, give or take a sleep's
            # overshoot, whatever the window) it is made as every other is: a regression
            # there must still be able to roll back.
            break
        # At least everything since the previous evaluation: the time it took (the
        # source's round trips) and a late wake-up fall in this window, not between
        # two. Bounded by that evaluation's time (or this window, when longer).
        span = max(window, at - previous)
        step = _evaluate(log, source, slot=slot, baseline=baseline, window=span, at=at, since=since)
        if step.action == "rollback":
            _roll_back(step, on_rollback, on_step)
            break
        if on_step is not None:
            on_step(step)
        if last:
            break  # the last evaluation was made
        previous, failed = at, step.counted_as == "fail"
        now = source_time(source)
        left = duration - (now - start)
        if left <= 0:
            if at - start >= duration:
                break
            # This evaluation began before the end and ended past it: the time from its
            # start to the end is judged by one more, last evaluation, at once (else a
            # slow source's last seconds would be read by none).
            last = True
            continue
        # The next evaluation is due an interval after this one's time, not after its end
        # (a slow source would push every later one back), and never past the end of the
        # duration: the last evaluation lands there, not up to an interval past it. A clock
        # read back behind ``at`` waits no longer than the interval.
        due = interval - max(0.0, now - at)
        # It is the last when the end comes before the one after it could: within the
        # slack of a sleep's drift of it too (a sleep that returns a hair early, or a
        # source clock slewed, leaves a few milliseconds to the end; an evaluation there
        # would read the same window again, at once).
        last = left < due + min(END_SLACK, interval / 10)
        wait = min(due, left)
        if wait > 0:  # an evaluation longer than the interval: the next one at once
            sleep(wait)
    return log


def _evaluate(  # noqa: PLR0913 - run_policy's evaluation options, keyword-only
    log: DecisionLog,
    source: MetricSource,
    *,
    slot: str,
    baseline: str | None,
    window: float,
    at: float,
    since: float | None,
) -> Step:
    """One evaluation at ``at`` over the last ``window`` seconds, none of them before
    ``since``.

    Raises
    ------
    ConfigError
        If a source's answer shows that the query can never be answered
        (:func:`~modelship.monitor._prometheus.query_mistake`): the evaluation is not
        recorded, and the watch stops without rolling back.
    """
    if since is not None:
        span = min(window, at - since + START_SLACK)
        if span <= 0:
            return log.evaluate(
                _NothingSince(at, since), slot=slot, baseline=baseline, window=window
            )
        window = span
    # DecisionLog.evaluate, with the answers looked at before the tracker counts them.
    decision = log.policy.evaluate(
        source, slot=slot, baseline=baseline, window=window, at=at, keep_samples=True
    )
    _refuse_mistakes(decision)
    return log.record(decision)


def _refuse_mistakes(decision: Decision) -> None:
    """Raise a ConfigError for the first answer of ``decision`` that is a query mistake
    (a template Prometheus cannot parse): asked again it fails again, and counted as a
    source error it would roll back a version nobody measured once ``error_limit`` is
    passed."""
    from modelship.monitor._prometheus import query_mistake

    for outcome in decision.inputs:
        if isinstance(outcome, SourceError):
            # Several series are refused by the start-up probe (check_run); met later,
            # they are a change of what is scraped (a second pod appeared), which the
            # tracker counts as that condition's source error like any other answer that
            # may come out otherwise next time, keeping the other conditions' verdicts.
            mistake = query_mistake(outcome, several=False)
            if mistake is not None:
                raise ConfigError(
                    f"the watch stops at {decision.at:.3f} without a decision: "
                    f"{outcome.stat or 'mean'}({outcome.metric}) on {outcome.slot} cannot be "
                    f"measured: {mistake}. This is a mistake in the query, not an outage: "
                    "nothing was rolled back; fix the query template and watch again"
                )


class _NothingSince:
    """The source of an evaluation at (or before) the watched version's start: nothing
    of it can have been measured yet, and older samples belong to another version."""

    def __init__(self, at: float, since: float) -> None:
        self._at = at
        self._since = since

    def now(self) -> float:
        return self._at

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        reason = (
            f"the watched version started at {self._since:g}; no time has passed since "
            "(older samples belong to the version before it)"
        )
        return NoData(metric, slot, start=start, end=end, stat=stat, reason=reason)


def _roll_back(
    step: Step,
    on_rollback: Callable[[Step], object] | None,
    on_step: Callable[[Step], object] | None,
) -> None:
    """Roll back, then record the step: a record that fails (a full disk, a store that is
    down) comes after the rollback and cannot prevent it; a failed rollback is recorded
    too."""
    try:
        if on_rollback is not None:
            on_rollback(step)
    finally:
        if on_step is not None:
            on_step(step)
