"""Monitoring as an analysis gate of the deployers' :class:`~modelship.deploy.Canary`.

A gate is called with the rollout at each analysis and answers a
:class:`~modelship.deploy.GateResult`; the strategy's :class:`~modelship.deploy.GatePolicy`
then applies the limits (failures, errors in a row, the deadline). So these adapters
evaluate once per call and leave the counting to the gate policy:

* :func:`policy_gate` evaluates a :class:`RollbackPolicy`'s conditions on the rollout's
  slot (relative conditions against the slot it replaces); the policy's
  ``on_no_data``/``on_inconclusive`` = ``"fail"`` turn those answers into failures, its
  other limits are the tracker's and do not apply here.
* :func:`canary_gate` runs :func:`canary_analysis` between the rollout's slot and the
  baseline slot; ``marginal`` holds, as ``inconclusive``.

Both record what they judged in the result's ``inputs`` (numbers and summaries, never
raw samples), which the rollout keeps in its history.

Examples
--------
>>> import modelship as ms
>>> from modelship.deploy import Canary, GatePolicy
>>> from modelship.testing import InMemoryDeployer
>>> dep = InMemoryDeployer()
>>> _ = Canary(dep, clock=dep.clock).deploy("fraud", "1")
>>> src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
>>> gate = ms.monitor.policy_gate(src, ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"]),
...                               window=60.0)
>>> try:                                  # no traffic to the canary: held, then aborted
...     Canary(dep, gate=gate, clock=dep.clock,
...            policy=GatePolicy(deadline=120.0)).deploy("fraud", "2")
... except ms.deploy.RolloutAborted as exc:
...     print(exc.rollout.status.value, dep.state().serving().version)
aborted 1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from modelship._params import validate_params
from modelship._rollback._constraints import CANARY_ANALYSIS, SECONDS, SLOT, SequenceOf
from modelship._rollback._policy import RollbackPolicy
from modelship._rollback._sources import MetricSource, QuestionCheck
from modelship.errors import ConfigError
from modelship.monitor._canary import (
    MARGINAL_SCORE,
    PASS_SCORE,
    CanaryMetric,
    canary_analysis,
)
from modelship.monitor._prometheus import SeriesSource

if TYPE_CHECKING:
    from modelship.deploy._gates import GateResult
    from modelship.deploy._rollout import Rollout

__all__ = ["canary_gate", "policy_gate"]


def _span(rollout: Rollout, window: float, since_start: bool) -> float | None:
    """The seconds to look back: ``window``, cut at the rollout's start if asked."""
    if not since_start:
        return window
    elapsed = rollout.elapsed
    return min(window, elapsed) if elapsed > 0 else None


def _no_baseline(what: str, rollout: Rollout, against: str | None) -> str:
    """Why ``what`` (``"a canary analysis needs"``, ``"the relative condition ... needs"``)
    cannot judge ``rollout``."""
    if against is None:
        why = f"no baseline slot to compare {rollout.slot} with (no previous slot)"
    else:
        why = (
            f"the baseline slot {against} is the rollout's own slot (a rollout in place, "
            "such as Recreate, replaces the version it would be compared with)"
        )
    return (
        f"{what} a baseline and cannot be judged: {why}; pass baseline= the slot of "
        "a stable version that serves alongside, or judge this strategy with fixed "
        "thresholds only"
    )


def _scoped(source: MetricSource) -> Callable[[str], MetricSource]:
    """``source`` for a rollout's model, made once per model: a
    :class:`~modelship.monitor.PrometheusSource` (also a route or the default of a
    :class:`~modelship.monitor.RoutedSource`) reads only that model's series of the model
    server (:meth:`~modelship.monitor.PrometheusSource.for_model`; every model's slots are
    named blue and green, so a slot's name alone also selects another model's traffic);
    any other source as it is. A source whose ``model`` label names another model raises
    :class:`~modelship.ConfigError` at the analysis (the gate answers ``error``)."""
    from modelship.monitor._watch import _for_model

    by_model: dict[str, MetricSource] = {}

    def scoped(model: str) -> MetricSource:
        if model not in by_model:
            by_model[model] = _for_model(source, model)
        return by_model[model]

    return scoped


@validate_params(
    source=MetricSource,
    policy=RollbackPolicy,
    window=SECONDS,
    baseline=(None, SLOT),
    since_start=bool,
)
def policy_gate(
    source: MetricSource,
    policy: RollbackPolicy,
    *,
    window: float,
    baseline: str | None = None,
    since_start: bool = True,
) -> Callable[[Rollout], GateResult]:
    """A gate that evaluates ``policy`` on the rollout's slot over the last ``window`` s.

    Parameters
    ----------
    source : MetricSource
        Read for the rollout's model only where it can tell models apart: a
        :class:`~modelship.monitor.PrometheusSource` (also in a
        :class:`~modelship.monitor.RoutedSource`) selects ``model="<rollout.model>"`` in
        its queries of the model server's series, as :func:`~modelship.monitor.watch`
        does (:meth:`~modelship.monitor.PrometheusSource.for_model`).
    policy : RollbackPolicy
        Its conditions are evaluated at each call; a condition that holds answers
        ``fail``.
    window : float
        Seconds of data per evaluation.
    baseline : str, optional
        The slot relative conditions compare with; default: the slot the rollout
        replaces (``rollout.previous_slot``). With no such slot, or when it is the
        rollout's own (a rollout in place, such as ``Recreate``), the relative
        conditions cannot be judged (the rollout's slot is not known when the gate is
        made): the fixed thresholds are, and a failure of one fails the gate at once;
        otherwise the gate answers ``inconclusive``, naming the relative conditions not
        judged (with none but relative conditions, at every analysis).
    since_start : bool
        Look back no further than the rollout's start (default), so that a slot reused
        after an aborted rollout is not judged on the aborted version's requests. With
        ``False`` the window is always ``window`` seconds long.

    Returns
    -------
    callable
        ``gate(rollout) -> GateResult`` for ``Canary(gate=...)`` (or any strategy).

    Raises
    ------
    ConfigError
        If ``window`` is not a positive number, or the source refuses a question of the
        policy's conditions (a :class:`~modelship.monitor.PrometheusSource`
        without its template): refused now, not at every analysis of a rollout.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.deploy import Canary
    >>> from modelship.testing import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> _ = Canary(dep, clock=dep.clock).deploy("fraud", "1")
    >>> src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
    >>> during = [dep.clock.monotonic() + 1.0] * 100       # samples after the rollout starts
    >>> src.add("error_rate", slot="green", values=[0.0] * 100, timestamps=during)
    >>> policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
    >>> gate = ms.monitor.policy_gate(src, policy, window=3600.0)
    >>> Canary(dep, gate=gate, clock=dep.clock).deploy("fraud", "2").status.value
    'succeeded'
    """
    from modelship.deploy._gates import GateResult, Verdict

    window = float(window)
    # The gate evaluates the policy whether or not it is enabled (evaluate always does).
    if isinstance(source, QuestionCheck):  # refused now, not at every analysis
        for condition in policy.conditions:
            # The rollout's slot is not known yet; the baseline is, when given.
            for which in dict.fromkeys((None, baseline) if condition.relative else (None,)):
                source.check_question(
                    condition.metric, slot=which, stat=condition.stat, window=window
                )

    for_model = _scoped(source)
    relative = [str(c) for c in policy.conditions if c.relative]
    fixed = [c for c in policy.conditions if not c.relative]
    # Without a baseline the fixed thresholds are still judged, with the policy's limits
    # (its metrics, what a watch records, are not evaluated, and a policy read back from
    # an old log may name metrics the constructor now refuses).
    alone = attrs.evolve(policy, conditions=fixed, metrics=()) if relative and fixed else None
    unjudged = (
        f"the relative condition {relative[0]!r} needs"
        if len(relative) == 1
        else "the relative conditions " + ", ".join(map(repr, relative)) + " need"
    )

    def gate(rollout: Rollout) -> GateResult:
        named = baseline if baseline is not None else rollout.previous_slot
        # A rollout in place (Recreate) replaces its own slot: there is no other slot to
        # compare with (the policy would refuse a slot compared with itself).
        against = None if named == rollout.slot else named
        judged = policy
        if against is None and relative:
            # A relative condition cannot be judged, and says so at every analysis rather
            # than raising (a ConfigError counted as gate errors aborted the rollout as if
            # the source were down). The fixed thresholds need no baseline: a version
            # failing one fails now, not at the deadline.
            if alone is None:
                return GateResult(Verdict.INCONCLUSIVE, _no_baseline(unjudged, rollout, named))
            judged = alone
        span = _span(rollout, window, since_start)
        if span is None:
            return GateResult(Verdict.INCONCLUSIVE, "the rollout has only just started")
        decision = judged.evaluate(
            for_model(rollout.model), slot=rollout.slot, baseline=against, window=span
        )
        verdict = decision.verdict
        if (verdict == "no_data" and policy.on_no_data == "fail") or (
            verdict == "inconclusive" and policy.on_inconclusive == "fail"
        ):
            verdict = "fail"
        reasons = list(decision.reasons)
        inputs = {"decision": attrs.evolve(decision, inputs=()).to_dict(), "window": span}
        if judged is not policy:
            # Only the fixed thresholds were judged: their pass is no pass of the policy.
            if verdict == "pass":
                verdict = "inconclusive"
            reasons.append(_no_baseline(unjudged, rollout, named))
            inputs["not_judged"] = relative
        return GateResult(Verdict(verdict), "; ".join(reasons), inputs)

    return gate


@validate_params(
    source=MetricSource,
    metrics=SequenceOf(CanaryMetric),
    baseline=(None, SLOT),
    since_start=bool,
    **CANARY_ANALYSIS,
)
def canary_gate(  # noqa: PLR0913 - public gate factory forwarding canary_analysis's documented keyword-only options
    source: MetricSource,
    metrics: Sequence[CanaryMetric],
    *,
    window: float,
    baseline: str | None = None,
    step: float | None = None,
    alpha: float = 0.05,
    pass_score: float = PASS_SCORE,
    marginal_score: float = MARGINAL_SCORE,
    since_start: bool = True,
) -> Callable[[Rollout], GateResult]:
    """A gate that runs :func:`canary_analysis` of the rollout's slot against a baseline.

    Parameters
    ----------
    source : MetricSource
        Read for the rollout's model only, as by :func:`policy_gate`.
    metrics : sequence of CanaryMetric
    window : float
        Seconds of data per analysis.
    baseline : str, optional
        The baseline slot (deploy it with the canary, at the same size); default: the
        slot the rollout replaces. With no such slot, or when it is the rollout's own (a
        rollout in place, such as ``Recreate``), every analysis answers ``inconclusive``,
        saying why.
    step, alpha, pass_score, marginal_score :
        As for :func:`canary_analysis`; ``step`` at most ``window``. Over a
        :class:`~modelship.monitor.SeriesSource` such as
        :class:`~modelship.monitor.PrometheusSource`, pass ``step``: without it a slot is
        usually one point, and every analysis is ``inconclusive``, saying so.

        ``alpha`` is per analysis, and a rollout analyses at every step (and at every
        re-evaluation of a held analysis): each fails a canary identical to its baseline
        about ``alpha / 2`` of the time, a 0/1 metric a little more (2.9-4.1 % at 0.05),
        so through ``Canary``'s three default steps 7-9 % of identical canaries were
        aborted at ``alpha=0.05`` (measured: 10 requests/s, a 600 s window). For a
        rollout of k analysed steps, ``alpha / k`` keeps its false-abort rate near
        ``alpha``; with ``CanaryMetric(min_samples=...)`` or ``require_bound=True`` a
        pass rests on enough data (docs/monitor.md, canary analysis).
    since_start : bool
        Look back no further than the rollout's start (default): a slot reused after an
        aborted rollout still holds the aborted version's samples. Until the rollout is
        ``step`` seconds old the gate answers ``inconclusive`` (the window has no step
        yet).

    Returns
    -------
    callable
        ``gate(rollout) -> GateResult``: ``pass`` promotes, ``fail`` fails, ``marginal``
        holds (as ``inconclusive``), too few samples is ``inconclusive``.

    Raises
    ------
    ConfigError
        If ``window`` is not a positive number, ``step`` is longer than ``window``,
        ``metrics`` is empty, or the source refuses a metric's question (a
        :class:`~modelship.monitor.PrometheusSource` without its template, or a
        ``window / step`` of more points than Prometheus answers).

    Examples
    --------
    >>> import numpy as np
    >>> import modelship as ms
    >>> from modelship.deploy import Canary
    >>> from modelship.testing import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> _ = Canary(dep, clock=dep.clock).deploy("fraud", "1")
    >>> rng = np.random.default_rng(0)
    >>> src = ms.monitor.InMemorySource(now=dep.clock.monotonic)
    >>> during = [dep.clock.monotonic() + 1.0] * 300       # samples after the rollout starts
    >>> src.add("inference_latency_seconds", slot="blue", values=rng.gamma(4, 0.02, 300),
    ...         timestamps=during)
    >>> src.add("inference_latency_seconds", slot="green", values=rng.gamma(4, 0.02, 300) + 0.1,
    ...         timestamps=during)
    >>> gate = ms.monitor.canary_gate(
    ...     src, [ms.monitor.CanaryMetric("inference_latency_seconds", tolerance=0.01)],
    ...     window=3600.0)
    >>> try:                                          # the canary is 0.1 s slower
    ...     Canary(dep, gate=gate, clock=dep.clock).deploy("fraud", "2")
    ... except ms.deploy.RolloutAborted as exc:
    ...     gate_events = [e for e in exc.rollout.history if e.kind.value == "gate"]
    ...     print(gate_events[-1].data["verdict"], gate_events[-1].data["decision"])
    fail abort
    """
    from modelship.deploy._gates import GateResult, Verdict

    window = float(window)
    if not metrics:
        raise ConfigError("canary_gate needs at least one CanaryMetric")
    if step is not None and step > window:
        raise ConfigError(
            f"step={step!r} is longer than window={window!r}: every analysis would have no "
            "step to compare; give a step of at most the window"
        )
    chosen = tuple(metrics)
    if isinstance(source, QuestionCheck):  # refused now, not at every analysis
        asked_step = step if isinstance(source, SeriesSource) else None
        for metric in chosen:
            source.check_question(
                metric.metric,
                slot=baseline,
                stat=metric.stat or "mean",
                window=window,
                step=asked_step,
            )
    for_model = _scoped(source)

    def gate(rollout: Rollout) -> GateResult:
        against = baseline if baseline is not None else rollout.previous_slot
        if against is None or against == rollout.slot:
            return GateResult(
                Verdict.INCONCLUSIVE, _no_baseline("a canary analysis needs", rollout, against)
            )
        span = _span(rollout, window, since_start)
        if span is None:
            return GateResult(Verdict.INCONCLUSIVE, "the rollout has only just started")
        if step is not None and span < step:
            return GateResult(
                Verdict.INCONCLUSIVE,
                f"the rollout is {span:g} s old, less than one step of {step:g} s",
                {"window": span},
            )
        report = canary_analysis(
            for_model(rollout.model),
            chosen,
            canary=rollout.slot,
            baseline=against,
            window=span,
            step=step,
            alpha=alpha,
            pass_score=pass_score,
            marginal_score=marginal_score,
        )
        return GateResult(
            Verdict(report.gate_outcome),
            f"canary analysis {report.verdict}: " + "; ".join(report.reasons),
            {"report": report.to_dict()},
        )

    return gate
