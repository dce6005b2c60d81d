"""Watch a rollout: evaluate a rollback policy on a schedule and roll back when it says so.

:func:`watch` wraps :func:`~modelship.monitor.run_policy` around a
:class:`~modelship.deploy.Rollout`: the slot under watch is the rollout's slot, a
rollback step calls :meth:`Rollout.rollback`, and the rollout's history records what
the watch decided as ``monitor`` events: its start, each evaluation that changes the
verdict or the tracker's action (the first one, and the rollback, included; with the
tracker's counters, one reason per condition, and each condition's numbers and sample
summaries), and its end with a count of every evaluation. Every evaluation, with its
raw samples, is in the :class:`~modelship.monitor.DecisionLog`, which ``log_path=``
writes as JSON Lines one evaluation at a time, and which
:func:`~modelship.monitor.replay` re-runs offline.

The history records changes, not every evaluation, because each event rewrites the
rollout's whole record (one document per rollout, replaced whole, see
:mod:`modelship.deploy._history`): an event per evaluation made each evaluation cost
more than the one before, and a watch quadratic in its length (a day at one evaluation
a second is 86,400). What a watch writes to the history is bounded by
:data:`HISTORY_CHANGES`, whatever its length.

Examples
--------
>>> import modelship as ms
>>> from modelship.deploy import BlueGreen
>>> from modelship.testing import InMemoryDeployer
>>> dep = InMemoryDeployer()
>>> _ = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
>>> rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
>>> src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
>>> src.add("error_rate", slot=rollout.slot, values=[0.2] * 50,
...         timestamps=[dep.clock.monotonic()] * 50)
>>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
>>> result = ms.monitor.watch(rollout, src, policy, interval=60.0, duration=600.0,
...                           clock=dep.clock)
>>> result.rolled_back, rollout.status.value, dep.state().serving().version
(True, 'rolled_back', '1')
>>> result.reason
'1 failures > failure_limit=0: green mean = 0.2 > 0.01 (n=50)'
>>> for event in rollout.history:
...     if event.kind.value == "monitor":
...         print(event.message)
watching green every 60 s for 600 s
monitor green: fail -> rollback (1 failures > failure_limit=0: green mean = 0.2 > 0.01 (n=50))
monitor green: watch ended (rolled back) after 1 evaluation: 1 rollback; 1 recorded here
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import attrs

from modelship._params import Text, validate_params
from modelship._rollback._constraints import SECONDS, SLOT, TIME, require
from modelship._rollback._policy import (
    Decision,
    DecisionLog,
    RollbackPolicy,
    Step,
    log_entry_line,
    log_head_line,
)
from modelship._rollback._sources import MetricSource, source_time
from modelship.errors import ConfigError, ModelshipError
from modelship.monitor._loop import check_run, run_checked

if TYPE_CHECKING:
    from modelship.deploy._clock import Clock
    from modelship.deploy._rollout import Rollout

__all__ = ["HISTORY_CHANGES", "WatchResult", "evaluation_event", "watch"]

#: Evaluations one :func:`watch` records in the rollout's history at most, besides the
#: rollback: those that change the verdict or the action (the first one included). A
#: watch whose verdict keeps flapping records this many, then one event saying that it
#: stops, then only the rollback (if any) and the end of the watch, whose count covers
#: every evaluation; the decision log keeps them all. Each history event rewrites the
#: rollout's record, so this bounds both the record and the cost of an evaluation.
HISTORY_CHANGES = 100


@attrs.frozen
class WatchResult:
    """What :func:`watch` did.

    Attributes
    ----------
    log : DecisionLog
        Every evaluation with its inputs and step (replayable).
    rolled_back : bool
        Whether the watch called :meth:`Rollout.rollback` and it completed.
    last : Step or None
        The last step (``None`` if nothing was evaluated). Its ``reason`` is the
        tracker's (``"1 failures > failure_limit=0"``); :attr:`reason` adds the
        conditions' own.
    watched : bool
        False when the policy is disabled (``enabled=False``): nothing was evaluated.

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
    >>> ms.monitor.WatchResult(log, rolled_back=False, last=None).rolled_back
    False
    """

    log: DecisionLog
    rolled_back: bool
    last: Step | None
    watched: bool = True

    @property
    def last_decision(self) -> Decision | None:
        """The decision of the last evaluation, with each condition's verdict, reason and
        numbers (``None`` if nothing was evaluated).

        Examples
        --------
        >>> import modelship as ms
        >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
        >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
        >>> src = ms.monitor.InMemorySource(now=60.0)
        >>> src.add("error_rate", slot="green", values=[0.2] * 50, timestamps=range(1, 51))
        >>> step = log.evaluate(src, slot="green", window=60.0)
        >>> result = ms.monitor.WatchResult(log, rolled_back=False, last=step)
        >>> result.last_decision.reasons
        ('fail: mean(error_rate) > 0.01: green mean = 0.2 > 0.01 (n=50)',)
        """
        return self.log.entries[-1][0] if self.log.entries else None

    @property
    def reason(self) -> str:
        """Why the watch ended as it did: the last step's reason and, when its verdict was
        not a pass, the reasons of the conditions that gave that verdict.

        The step's own reason (:attr:`last`) names the policy's limit only; the
        conditions' reasons, with their numbers, are in the decision
        (:attr:`last_decision`). Both are kept as recorded, so a decision log replays as
        it was written: this joins them for reading.

        Examples
        --------
        >>> import modelship as ms
        >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
        >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
        >>> src = ms.monitor.InMemorySource(now=60.0)
        >>> src.add("error_rate", slot="green", values=[0.2] * 50, timestamps=range(1, 51))
        >>> step = log.evaluate(src, slot="green", window=60.0)
        >>> result = ms.monitor.WatchResult(log, rolled_back=True, last=step)
        >>> result.last.reason
        '1 failures > failure_limit=0'
        >>> result.reason
        '1 failures > failure_limit=0: green mean = 0.2 > 0.01 (n=50)'
        """
        if not self.watched:
            return "not watched: the policy is disabled (enabled: false)"
        if not self.log.entries:
            return "nothing was evaluated"
        return explained(*self.log.entries[-1])


def explained(decision: Decision, step: Step) -> str:
    """``step``'s reason followed by the reasons of ``decision``'s conditions that gave
    its verdict (none for a pass: nothing needs explaining).

    The tracker's reason is left as it is: a decision log's replay compares the steps it
    recomputes with those recorded, so a changed reason would make every old log differ.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.monitor._watch import explained
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
    >>> src = ms.monitor.InMemorySource(now=60.0)
    >>> _ = log.evaluate(src, slot="green", window=60.0)
    >>> explained(*log.entries[0])
    'no_data, held 60 s of 600 s deadline: green: error_rate was never recorded for green'
    """
    if decision.verdict == "pass":
        return step.reason
    causes = [c.reason for c in decision.conditions if c.verdict == decision.verdict]
    return f"{step.reason}: {'; '.join(causes)}" if causes else step.reason


def evaluation_event(decision: Decision, step: Step) -> tuple[str, dict[str, Any]]:
    """The message and data of the history event that records one evaluation.

    The data is JSON-safe: the verdict, the tracker's step, and the decision without its
    raw samples (each condition keeps its value, limit, sample size and a summary of what
    was fetched), so a history stays small whatever the traffic.

    Examples
    --------
    >>> import modelship as ms
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> log = ms.monitor.DecisionLog(policy, started_at=0.0)
    >>> src = ms.monitor.InMemorySource(now=60.0)
    >>> src.add("error_rate", slot="canary", values=[0.0] * 50, timestamps=range(50))
    >>> step = log.evaluate(src, slot="canary", window=60.0)
    >>> message, data = ms.monitor.evaluation_event(*log.entries[0])
    >>> message
    'monitor canary: pass -> continue (passed)'
    >>> sorted(data)
    ['action', 'decision', 'reasons', 'step', 'verdict']
    """
    # With the conditions' reasons: the tracker's alone names a limit, not what broke it.
    why = explained(decision, step)
    message = f"monitor {decision.slot}: {decision.verdict} -> {step.action} ({why})"
    data = {
        "verdict": decision.verdict,
        "action": step.action,
        "reasons": list(decision.reasons),
        "decision": attrs.evolve(decision, inputs=()).to_dict(),
        "step": step.to_dict(),
    }
    return message, data


class _JsonlWriter:
    """Appends a decision log to a file as it grows (the format of DecisionLog.to_jsonl)."""

    def __init__(self, path: Path, log: DecisionLog) -> None:
        self.path = path
        # "x": refuse to overwrite an earlier watch's log (atomic create-or-fail).
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(log_head_line(log.policy, log.started_at) + "\n")
        except FileExistsError as exc:
            raise ConfigError(
                f"{path} exists; give a new log_path (a decision log is never overwritten)"
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"cannot create the decision log {path}: {exc.strerror or exc}"
            ) from exc

    def append(self, decision: Decision, step: Step) -> None:
        """Append one evaluation as one whole line, or nothing.

        A write cut short (a full disk, a file size limit) is undone: a reader of the log
        never meets a torn line, and the next evaluation starts on a line of its own.

        Raises
        ------
        ConfigError
            If the line cannot be written; the file is as it was before.
        """
        data = (log_entry_line(decision, step) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        try:
            size = os.fstat(fd).st_size
            try:
                written = 0
                while written < len(data):  # bounded: each write adds bytes or raises
                    count = os.write(fd, data[written:])
                    if count <= 0:
                        raise OSError(f"no byte of the line was written at byte {written}")
                    written += count
            except OSError as exc:
                os.ftruncate(fd, size)
                raise self._unwritable(exc) from exc
        finally:
            os.close(fd)

    def _unwritable(self, exc: OSError) -> ConfigError:
        return ConfigError(
            f"cannot append to the decision log {self.path}: {exc.strerror or exc}; free "
            "space or give another log_path (the file holds whole lines up to the last "
            "evaluation written)"
        )


class _HistoryRecorder:
    """Records a watch's evaluations in the rollout's history: the changes, then a count.

    An evaluation is recorded (see :func:`evaluation_event`, with its index in the
    decision log as ``evaluation``) when its verdict or action differs from the one
    before (the first always does), up to :data:`HISTORY_CHANGES` of them, and always
    when it rolls back; the others are counted, and :meth:`end` records the counts. The
    rollout saves its whole record at each event, so an evaluation costs at most one
    save of a record that does not grow with the watch, and most cost none. A record
    whose last save failed (:attr:`Rollout.saved` False) is saved again at the next
    evaluation, so a change is not left out of the store until the next change.
    """

    def __init__(self, rollout: Rollout, log_path: str | Path | None) -> None:
        self.rollout = rollout
        self.log_path = None if log_path is None else str(log_path)
        self.evaluations = 0
        self.actions: dict[str, int] = {}
        self.verdicts: dict[str, int] = {}
        self.recorded = 0
        self.unrecorded_changes = 0
        self.last: Step | None = None
        self._previous: tuple[str, str] | None = None

    def step(self, index: int, decision: Decision, step: Step) -> None:
        """Count one evaluation; record it if it changes the verdict or the action."""
        from modelship.deploy._rollout import EventKind

        self.evaluations += 1
        self.actions[step.action] = self.actions.get(step.action, 0) + 1
        self.verdicts[decision.verdict] = self.verdicts.get(decision.verdict, 0) + 1
        self.last = step
        key = (decision.verdict, step.action)
        changed, self._previous = key != self._previous, key
        rollback = step.action == "rollback"
        if not rollback and not (changed and self.recorded < HISTORY_CHANGES):
            if changed:
                self.unrecorded_changes += 1
            if not self.rollout.saved:  # a change whose save failed: try it again now
                self.rollout.save()
            return
        message, data = evaluation_event(decision, step)
        self.recorded += 1
        self.rollout.event(EventKind.MONITOR, message, evaluation=index, **data)
        if self.recorded == HISTORY_CHANGES and not rollback:
            self.rollout.event(
                EventKind.MONITOR,
                f"monitor {decision.slot}: {HISTORY_CHANGES} evaluations that changed the "
                "verdict or the action are recorded; later changes are only counted here "
                "(the decision log has every evaluation), the rollback is still recorded",
                recorded=self.recorded,
                evaluation=index,
            )

    def end(self, slot: str, rolled_back: bool, error: BaseException | None) -> None:
        """Record the end of the watch with the count of every evaluation."""
        from modelship.deploy._rollout import EventKind

        if error is not None:
            how, ended = f"cut short by {type(error).__name__}", "error"
        elif rolled_back:
            how, ended = "rolled back", "rollback"
        else:
            how, ended = "duration over", "duration"
        n = self.evaluations
        counts = ", ".join(f"{count} {action}" for action, count in self.actions.items())
        self.rollout.event(
            EventKind.MONITOR,
            f"monitor {slot}: watch ended ({how}) after {n} evaluation{'' if n == 1 else 's'}"
            f"{': ' + counts if counts else ''}; {self.recorded} recorded here",
            ended=ended,
            error=None if error is None else f"{type(error).__name__}: {error}",
            rolled_back=rolled_back,
            evaluations=n,
            actions=dict(self.actions),
            verdicts=dict(self.verdicts),
            recorded=self.recorded,
            unrecorded_changes=self.unrecorded_changes,
            last=None if self.last is None else self.last.to_dict(),
            log_path=self.log_path,
        )


def _for_model(source: MetricSource, model: str) -> MetricSource:
    """``source`` reading only ``model``'s series where it can: a
    :class:`~modelship.monitor.PrometheusSource` (also as a route or the default of a
    :class:`~modelship.monitor.RoutedSource`) selecting the ``model`` label in its
    queries of the model server's series
    (:meth:`~modelship.monitor.PrometheusSource.for_model`); any other source as it is.

    Raises :class:`~modelship.ConfigError` if a PrometheusSource's labels name another
    model."""
    from modelship.monitor._compose import RoutedSource
    from modelship.monitor._prometheus import PrometheusSource

    if isinstance(source, PrometheusSource):
        return source.for_model(model)
    if isinstance(source, RoutedSource):
        parts = [*source.routes.values(), *([source.default] if source.default is not None else [])]
        scoped = {id(s): _for_model(s, model) for s in parts}
        if all(scoped[id(s)] is s for s in parts):
            return source
        clock = source._clock  # the same clock, on the scoped source
        return RoutedSource(
            {metric: scoped[id(s)] for metric, s in source.routes.items()},
            default=None if source.default is None else scoped[id(source.default)],
            clock=scoped.get(id(clock), clock),
        )
    return source


@validate_params(
    source=MetricSource,
    policy=RollbackPolicy,
    interval=SECONDS,
    duration=SECONDS,
    window=(None, SECONDS),
    baseline=(None, SLOT),
    log_path=(None, Text(), PurePath),
    since=(None, TIME),
)
def watch(  # noqa: PLR0913 - public watcher: rollout, source, policy plus documented keyword-only timing and logging options
    rollout: Rollout,
    source: MetricSource,
    policy: RollbackPolicy,
    *,
    interval: float = 60.0,
    duration: float = 600.0,
    window: float | None = None,
    baseline: str | None = None,
    clock: Clock | None = None,
    log_path: str | Path | None = None,
    since: float | None = None,
) -> WatchResult:
    """Evaluate ``policy`` on ``rollout``'s slot every ``interval`` s; roll back if it says so.

    Each evaluation reads the last ``window`` seconds of ``source`` for the rollout's
    slot (and ``baseline`` for relative conditions), and at least everything since the
    evaluation before it (a slow source's seconds fall in no gap), but nothing before
    the rollout's start (``since``): a slot reused after an earlier rollback still holds
    the previous version's samples, and the version under watch is never judged on them.
    Every evaluation is in the returned :class:`DecisionLog` (and in ``log_path``). The first
    ``rollback`` step calls :meth:`Rollout.rollback` once and ends the watch (the
    rollback comes before the step is recorded, so a failing record never keeps the
    version serving); otherwise it ends after ``duration`` seconds on the source's clock
    (at most ``ceil(duration / interval) + 1`` evaluations). No data and too few samples
    hold (by the policy's defaults) and roll back at the policy's deadline.

    The rollout's history (saved to the deployment history at each event) records what
    the watch decided, as events of kind ``monitor``: the start; each evaluation whose
    verdict or action differs from the one before (the first, and the rollback,
    included), as :func:`evaluation_event` with its index in the log as ``evaluation``,
    saved as it happens; and the end (also when an exception ends the watch), whose data
    counts every evaluation by action and verdict (``evaluations``, ``actions``,
    ``verdicts``), with the ``last`` step, how it ``ended`` and how many were
    ``recorded``. An evaluation like the one before is only counted: each event rewrites
    the rollout's whole record, so recording every evaluation would make each one cost
    more than the one before. At most :data:`HISTORY_CHANGES` changes are recorded (a
    flapping verdict), then only the rollback and the end; so what a watch writes to the
    history, and the cost of an evaluation, do not grow with its length. A record whose
    save failed is saved again at the next evaluation.

    A disabled policy (``enabled=False``; ``monitoring.enabled: false`` in the YAML) is
    not watched: once the arguments are checked, one ``monitor`` event records that the
    slot is not watched, and the result (``watched=False``, an empty log) comes back at
    once; no log file is created.

    Parameters
    ----------
    rollout : Rollout
        A succeeded rollout (only those can be rolled back); its slot is watched.
    source : MetricSource
        Where the metrics come from (its ``now()`` is the evaluations' time). A
        :class:`~modelship.monitor.PrometheusSource` (also as a route or the default of
        a :class:`~modelship.monitor.RoutedSource`) reads only the rollout's model: the
        ``model`` label the model server puts on its series is selected in the queries
        of those series (every model's slots are named alike, blue and green; another
        model's traffic in a slot of the same name would otherwise count), not in a
        template over the application's own series (no ``modelship_`` metric named,
        such as a business metric: they carry no ``model`` label), and labels naming
        another model are refused
        (:meth:`~modelship.monitor.PrometheusSource.for_model`).
    policy : RollbackPolicy
    interval, duration : float
        Seconds between evaluations, and seconds to watch.
    window : float, optional
        Seconds of data per evaluation (default: ``interval``).
    baseline : str, optional
        The slot relative conditions compare with (e.g. the stable slot of a canary).
    clock : Clock, optional
        Waits between evaluations (``SystemClock``; tests pass a ``ManualClock``).
    log_path : str or Path, optional
        A new file to write the decision log to as JSON Lines, one line per evaluation
        as it happens (``modelship monitor status|replay`` read it). A line that cannot
        be written (a full disk) is not left torn: the file keeps the evaluations before
        it, an ``error`` event says so, and the watch goes on without the file.
    since : float, optional
        The time, on the source's clock, before which no evaluation looks (see
        :func:`~modelship.monitor.run_policy`). Default: the rollout's start,
        ``source.now() - rollout.elapsed`` when the watch begins (the source's clock and
        the rollout's are assumed to tick alike; a source on another scale, such as a
        fixed test clock, needs an explicit ``since``). To read whole windows whatever
        came before, pass an early time (``since=0.0``).

    Returns
    -------
    WatchResult

    Raises
    ------
    ConfigError
        If ``rollout`` is not a :class:`~modelship.deploy.Rollout` in service
        (``succeeded``), an argument is not what is described above
        (``interval``/``duration``/``window`` not a positive number, ``clock`` not a
        :class:`~modelship.deploy.Clock`, ``duration / interval`` more than
        :data:`~modelship.monitor.MAX_EVALUATIONS`, a relative condition without
        ``baseline``, ``since`` after the source's current time, a condition the source
        refuses, such as a metric without a PromQL template; a PrometheusSource whose
        ``model`` label names another model), or ``log_path`` exists;
        nothing is written or recorded then.
    modelship.deploy.RollbackUnavailable
        If the policy rolled back but the rollout could not be (recorded as an
        ``error`` event first).

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.deploy import BlueGreen
    >>> from modelship.testing import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    >>> src = ms.monitor.InMemorySource(now=dep.clock.monotonic)   # no traffic at all
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"], deadline=None)
    >>> result = ms.monitor.watch(rollout, src, policy, interval=60.0, duration=120.0,
    ...                           clock=dep.clock)
    >>> [step.action for _, step in result.log], rollout.status.value
    (['hold', 'hold', 'hold'], 'succeeded')
    """
    from modelship.deploy._clock import Clock, SystemClock
    from modelship.deploy._rollout import EventKind, Rollout, RolloutStatus

    require("rollout", rollout, Rollout)
    require("clock", clock, None, Clock)
    if rollout.status is not RolloutStatus.SUCCEEDED:
        raise ConfigError(
            f"rollout {rollout.id} is {rollout.status.value}; watch a rollout that succeeded "
            "(during a canary, use ms.monitor.policy_gate as the Canary's gate)"
        )
    window = interval if window is None else window
    # The rollout's model only: every model's slots are named alike (blue/green).
    source = _for_model(source, rollout.model)
    # Everything run_policy would refuse, refused before the log file and the event exist
    # (a since given, against the source's clock); not re-checked after (run_checked).
    most = check_run(
        policy,
        baseline=baseline,
        window=window,
        interval=interval,
        duration=duration,
        slot=rollout.slot,
        source=source,
        since=since,
        probe=True,
    )
    wait = clock if clock is not None else SystemClock()
    now = source_time(source)
    if since is None:
        # Not after now by construction (elapsed >= 0), whatever a later reading says.
        since = now - rollout.elapsed
    log = DecisionLog(policy, started_at=now)
    if not policy.enabled:
        rollout.event(
            EventKind.MONITOR,
            f"not watching {rollout.slot}: the policy is disabled (enabled: false)",
            policy=policy.to_dict(),
            slot=rollout.slot,
        )
        return WatchResult(log, rolled_back=False, last=None, watched=False)
    writer = _JsonlWriter(Path(log_path), log) if log_path is not None else None
    rollout.event(
        EventKind.MONITOR,
        f"watching {rollout.slot} every {interval:g} s for {duration:g} s",
        policy=policy.to_dict(),
        slot=rollout.slot,
        baseline=baseline,
        interval=interval,
        duration=duration,
        window=window,
        since=since,
    )

    recorder = _HistoryRecorder(rollout, log_path)

    def on_step(step: Step) -> None:
        nonlocal writer
        decision, _ = log.entries[-1]
        if writer is not None:
            try:
                writer.append(decision, step)
            except ConfigError as exc:
                # The watch goes on (it still rolls back); the file keeps whole lines.
                writer = None
                rollout.event(
                    EventKind.ERROR,
                    f"the decision log stops before evaluation {len(log.entries) - 1}: {exc}",
                    log_path=str(log_path),
                )
        recorder.step(len(log.entries) - 1, decision, step)

    rolled_back = False

    def on_rollback(step: Step) -> None:
        nonlocal rolled_back
        try:
            rollout.rollback()
        except ModelshipError as exc:
            rollout.event(
                EventKind.ERROR, f"the monitor's rollback failed: {exc}", reason=step.reason
            )
            raise
        rolled_back = True

    try:
        # The end event comes after every evaluation, so saves until then are tried once:
        # a store outage must not delay evaluations (and a rollback) by save retries.
        with rollout.deferred_saves():
            run_checked(
                source,
                policy,
                most=most,
                slot=rollout.slot,
                baseline=baseline,
                window=window,
                interval=interval,
                duration=duration,
                on_rollback=on_rollback,
                on_step=on_step,
                sleep=wait.sleep,
                log=log,
                since=since,
            )
    except BaseException as exc:  # Ctrl-C, a failed rollback: the end is recorded, then raised
        recorder.end(rollout.slot, rolled_back, exc)
        raise
    recorder.end(rollout.slot, rolled_back, None)
    last = log.entries[-1][1] if log.entries else None
    return WatchResult(log, rolled_back, last)
