"""Pre-deployment checks: data drift, prediction drift, schema, and the engine that runs them.

The checks:

* :class:`DataDrift` and :class:`PredictionDrift`: has the data (or the model's output)
  moved away from the reference?
* :class:`Schema` / :class:`SchemaCheck`: are the columns, types and ranges still those
  expected?
* :class:`Bias`: per-group metrics and disparities across sensitive features, with
  bootstrap intervals;
* :class:`Degradation`: is the candidate model worse than the baseline on the same
  holdout (paired tests per metric and segment; latency, size and memory budgets)?

Every check returns a :class:`CheckResult`; :func:`run_suite` runs many and returns a
:class:`SuiteResult` that renders to JSON, JUnit XML and Markdown.

Examples
--------
>>> import numpy as np
>>> from modelship.checks import DataDrift, Schema, run_suite
>>> rng = np.random.default_rng(0)
>>> train = {"age": rng.normal(40, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
>>> batch = {"age": rng.normal(40, 10, 500), "plan": rng.choice(["a", "b"], 500)}
>>> suite = run_suite([DataDrift(reference=train, current=batch),
...                    Schema.infer(train).check(batch)])
>>> suite.passed, [result.status.value for result in suite.results]
(True, ['pass', 'pass'])
"""

from __future__ import annotations

from modelship._public import publish
from modelship.checks._bias import Bias, BiasResult, Disparity, GroupMetrics
from modelship.checks._degradation import (
    Degradation,
    DegradationResult,
    MetricComparison,
    PerformanceComparison,
    Verdict,
)
from modelship.checks._drift import (
    AUTO_SMALL_SAMPLE,
    CATEGORICAL_METHODS,
    DISTANCE_THRESHOLDS,
    NUMERIC_METHODS,
    PSI_WARN_THRESHOLD,
    DataDrift,
    PredictionDrift,
)
from modelship.checks._drift_result import DriftColumnResult
from modelship.checks._profile import CategoricalProfile, DriftProfile, NumericProfile
from modelship.checks._result import (
    Check,
    CheckResult,
    ColumnResult,
    Severity,
    Status,
    SuiteResult,
    run_suite,
)
from modelship.checks._schema import FINDINGS, ColumnSchema, Schema, SchemaCheck
from modelship.checks._tabular import ColumnKind

__all__ = [
    "AUTO_SMALL_SAMPLE",
    "CATEGORICAL_METHODS",
    "DISTANCE_THRESHOLDS",
    "FINDINGS",
    "NUMERIC_METHODS",
    "PSI_WARN_THRESHOLD",
    "Bias",
    "BiasResult",
    "CategoricalProfile",
    "Check",
    "CheckResult",
    "ColumnKind",
    "ColumnResult",
    "ColumnSchema",
    "DataDrift",
    "Degradation",
    "DegradationResult",
    "Disparity",
    "DriftColumnResult",
    "DriftProfile",
    "GroupMetrics",
    "MetricComparison",
    "NumericProfile",
    "PerformanceComparison",
    "PredictionDrift",
    "Schema",
    "SchemaCheck",
    "Severity",
    "Status",
    "SuiteResult",
    "Verdict",
    "run_suite",
]

publish(globals(), __all__, __name__)
