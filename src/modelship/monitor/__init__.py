"""Monitoring: metric sources, trigger conditions, the rollback policy, canary analysis
and A/B test statistics.

A :class:`RollbackPolicy` holds trigger conditions ("p95 latency above 200 ms", "accuracy
5 % below the baseline's"); :meth:`RollbackPolicy.evaluate` reads them from a
:class:`MetricSource` (:class:`InMemorySource`, :class:`PrometheusSource`) over a window
and answers a :class:`Decision` with one of the gate outcomes ``pass``, ``fail``,
``inconclusive``, ``no_data`` or ``error``. A :class:`PolicyTracker` turns decisions into
"continue", "hold" or "roll back" with the policy's limits; a :class:`DecisionLog` replays
offline, bit for bit.

Examples
--------
>>> import modelship as ms
>>> src = ms.monitor.InMemorySource(now=60.0)
>>> src.add("inference_latency_seconds", slot="canary", values=[0.12] * 50,
...         timestamps=range(5, 55))
>>> src.add("inference_latency_seconds", slot="stable", values=[0.11] * 50,
...         timestamps=range(5, 55))
>>> cond = ms.monitor.Condition(metric="inference_latency_seconds", stat="p95", op=">",
...                             threshold=0.2)
>>> policy = ms.monitor.RollbackPolicy(conditions=[cond])
>>> decision = policy.evaluate(src, slot="canary", baseline="stable", window=60.0)
>>> decision.verdict
'pass'
>>> decision.reasons
('pass: p95(inference_latency_seconds) > 0.2: canary p95 = 0.12 <= 0.2 (n=50)',)
"""

from __future__ import annotations

from modelship._public import publish
from modelship._rollback._conditions import (
    DEFAULT_MIN_SAMPLES,
    OPERATORS,
    STATS,
    Condition,
    check_stat,
    quantile_of,
)
from modelship._rollback._policy import (
    DECISION_SCHEMA,
    VERDICTS,
    ConditionResult,
    Decision,
    DecisionLog,
    PolicyTracker,
    ReplayResult,
    RollbackPolicy,
    Step,
    Verdict,
    replay,
    summarize,
)
from modelship._rollback._sources import (
    InMemorySource,
    MetricSource,
    NoData,
    Outcome,
    Samples,
    SourceError,
    decode_float,
    encode_float,
)
from modelship.monitor._canary import (
    MARGINAL_SCORE,
    PASS_SCORE,
    CanaryMetric,
    CanaryReport,
    MetricJudgement,
    canary_analysis,
    compare_metric,
)
from modelship.monitor._compose import CallableSource, RoutedSource
from modelship.monitor._drift_window import (
    DRIFT_METRICS,
    PREDICTION_PROFILE,
    DriftSource,
    prediction_profile,
)
from modelship.monitor._gate import canary_gate, policy_gate
from modelship.monitor._loop import run_policy
from modelship.monitor._outcomes import (
    OUTCOME_METRICS,
    OutcomeLogError,
    OutcomeSource,
    RecordSummary,
    WindowMetric,
)
from modelship.monitor._prometheus import DEFAULT_QUERIES, PrometheusSource, SeriesSource
from modelship.monitor._stats import (
    MannWhitneyResult,
    ProportionDifference,
    SampleRatioResult,
    SampleSize,
    SequentialResult,
    SequentialTest,
    WelchResult,
    always_valid_p_values,
    hodges_lehmann,
    mann_whitney,
    mann_whitney_min_p,
    mann_whitney_min_size,
    msprt,
    pairwise_difference_quantiles,
    proportion_difference,
    sample_ratio_mismatch,
    sample_size_means,
    sample_size_proportions,
    welch,
)
from modelship.monitor._watch import HISTORY_CHANGES, WatchResult, evaluation_event, watch

__all__ = [
    "DECISION_SCHEMA",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_QUERIES",
    "HISTORY_CHANGES",
    "DRIFT_METRICS",
    "MARGINAL_SCORE",
    "OPERATORS",
    "OUTCOME_METRICS",
    "PASS_SCORE",
    "PREDICTION_PROFILE",
    "STATS",
    "VERDICTS",
    "CallableSource",
    "CanaryMetric",
    "CanaryReport",
    "Condition",
    "ConditionResult",
    "Decision",
    "DecisionLog",
    "DriftSource",
    "InMemorySource",
    "MannWhitneyResult",
    "MetricJudgement",
    "MetricSource",
    "NoData",
    "Outcome",
    "OutcomeLogError",
    "OutcomeSource",
    "PolicyTracker",
    "PrometheusSource",
    "ProportionDifference",
    "RecordSummary",
    "ReplayResult",
    "RollbackPolicy",
    "RoutedSource",
    "SampleRatioResult",
    "SampleSize",
    "Samples",
    "SequentialResult",
    "SequentialTest",
    "SeriesSource",
    "SourceError",
    "Step",
    "Verdict",
    "WatchResult",
    "WelchResult",
    "WindowMetric",
    "always_valid_p_values",
    "canary_analysis",
    "canary_gate",
    "check_stat",
    "compare_metric",
    "decode_float",
    "encode_float",
    "evaluation_event",
    "hodges_lehmann",
    "mann_whitney",
    "mann_whitney_min_p",
    "mann_whitney_min_size",
    "msprt",
    "pairwise_difference_quantiles",
    "policy_gate",
    "prediction_profile",
    "proportion_difference",
    "quantile_of",
    "replay",
    "run_policy",
    "sample_ratio_mismatch",
    "sample_size_means",
    "sample_size_proportions",
    "summarize",
    "watch",
    "welch",
]

publish(globals(), __all__, __name__)
